/* RFC 29 (PUB-SUB), the raw sides: XPUB hands subscriptions to the application (unique
 * ones, or all with XPUB_VERBOSE / XPUB_VERBOSER, and the unsubscriptions a departing
 * subscriber implies), XPUB_NODROP, XPUB_MANUAL, XPUB_WELCOME_MSG; XSUB sends
 * subscription messages upstream and resends them after a reconnect; the slow-joiner
 * count (the pattern's joined slot). Over inproc, ipc and tcp. */
#include <criterion/criterion.h>
#include <poll.h>
#include <unistd.h>

#include "spec/pubsub.h"
#include "support/net.h"
#include "support/transports.h"

TestSuite(spec_xpubsub, .init = tn_tran_setup, .fini = tn_tran_teardown, .timeout = 30);

/* Receives one message and checks it is the subscription message kind + topic. */
static void
expect_sub_msg(void *s, int kind, const char *topic)
{
    char buf[64];
    int n = sinew_recv(s, buf, sizeof buf, 0);
    cr_assert_eq(n, (int) strlen(topic) + 1, "expected %c%s: rc %d errno %d",
                 kind ? '+' : '-', topic, n, errno);
    cr_assert_eq(buf[0], kind, "expected %c%s, got kind %d", kind ? '+' : '-', topic,
                 buf[0]);
    cr_assert_eq(memcmp(buf + 1, topic, strlen(topic)), 0, "expected %s, got %.*s", topic,
                 n - 1, buf + 1);
}

static void *
xpub_bound(const char *tran, char *ep)
{
    void *xpub = tn_sock(SINEW_XPUB);
    tn_set(xpub, SINEW_RCVTIMEO, 5000);
    tn_bind_any(xpub, tran, ep);
    return xpub;
}

static void *
sub_to(const char *ep)
{
    void *sub = tn_sock(SINEW_SUB);
    tn_set(sub, SINEW_RCVTIMEO, 5000);
    tn_connect(sub, ep);
    return sub;
}

/* libzmq: XPUB passes on a topic's first subscription and its last unsubscription only.
 * What arrives later on a subscriber's link shows that what it sent earlier was taken
 * in: a notification that is not there would have come first. */
TN_TRAN_TEST(spec_xpubsub, xpub_hears_first_subscriptions_and_last_unsubscriptions)
{
    char ep[TN_EP_MAX];
    void *xpub = xpub_bound(tran, ep);
    void *s1 = sub_to(ep), *s2 = sub_to(ep);
    ps_subscribe(s1, "A");
    expect_sub_msg(xpub, 1, "A");
    ps_subscribe(s2, "A"); /* not new */
    ps_subscribe(s2, "B");
    expect_sub_msg(xpub, 1, "B");
    ps_unsubscribe(s1, "A"); /* s2 still wants it */
    ps_subscribe(s1, "C");
    expect_sub_msg(xpub, 1, "C");
    ps_unsubscribe(s2, "A");
    expect_sub_msg(xpub, 0, "A");
    tn_expect_nothing(xpub, 20, "more notifications than expected");
    /* Messages still follow the subscriptions. */
    ps_send(xpub, "B", 1, 0);
    ps_send(xpub, "C", 2, 0);
    ps_expect(s2, "B", 1);
    ps_expect(s1, "C", 2);
}

TN_TRAN_TEST(spec_xpubsub, xpub_verbose_hears_every_subscription)
{
    char ep[TN_EP_MAX];
    void *xpub = xpub_bound(tran, ep);
    tn_set(xpub, SINEW_XPUB_VERBOSE, 1);
    void *s1 = sub_to(ep), *s2 = sub_to(ep);
    ps_subscribe(s1, "A");
    expect_sub_msg(xpub, 1, "A");
    ps_subscribe(s2, "A");
    expect_sub_msg(xpub, 1, "A");
    ps_subscribe(s1, "A"); /* a SUB counts, but sends each subscribe */
    expect_sub_msg(xpub, 1, "A");
    ps_unsubscribe(s1, "A"); /* s1's count falls to 1: nothing is sent */
    ps_unsubscribe(s1, "A");
    ps_unsubscribe(s2, "A");
    expect_sub_msg(xpub, 0, "A"); /* VERBOSE is about subscribes: the last one only */
    tn_expect_nothing(xpub, 20, "more notifications than expected");
}

TN_TRAN_TEST(spec_xpubsub, xpub_verboser_hears_every_unsubscription_too)
{
    char ep[TN_EP_MAX];
    void *xpub = xpub_bound(tran, ep);
    tn_set(xpub, SINEW_XPUB_VERBOSER, 1);
    void *s1 = sub_to(ep), *s2 = sub_to(ep);
    ps_subscribe(s1, "A");
    expect_sub_msg(xpub, 1, "A");
    ps_subscribe(s2, "A");
    expect_sub_msg(xpub, 1, "A");
    ps_unsubscribe(s1, "A");
    expect_sub_msg(xpub, 0, "A");
    ps_unsubscribe(s2, "A");
    expect_sub_msg(xpub, 0, "A");
}

/* libzmq: a subscriber that goes away unsubscribes from what only it wanted. */
TN_TRAN_TEST(spec_xpubsub, departing_subscriber_unsubscribes_its_topics)
{
    char ep[TN_EP_MAX];
    void *xpub = xpub_bound(tran, ep);
    void *s1 = sub_to(ep), *s2 = sub_to(ep);
    ps_subscribe(s1, "A");
    ps_subscribe(s1, "B");
    expect_sub_msg(xpub, 1, "A");
    expect_sub_msg(xpub, 1, "B");
    ps_subscribe(s2, "B");
    ps_subscribe(s2, "Z");
    expect_sub_msg(xpub, 1, "Z");
    tn_close(s1);
    expect_sub_msg(xpub, 0, "A");
    tn_expect_nothing(xpub, 50, "B is still wanted by s2");
    ps_send(xpub, "B", 1, 0);
    ps_expect(s2, "B", 1);
}

/* XPUB_NODROP: at the HWM, send waits (EAGAIN with DONTWAIT) instead of dropping; the
 * subscriber gets every message once it reads. */
TN_TRAN_TEST(spec_xpubsub, xpub_nodrop_waits_instead_of_dropping)
{
    enum { SIZE = 1024 };
    char ep[TN_EP_MAX];
    void *xpub = tn_sock(SINEW_XPUB);
    tn_set(xpub, SINEW_XPUB_NODROP, 1);
    tn_set(xpub, SINEW_SNDHWM, 5);
    tn_set(xpub, SINEW_SNDBUF, 4096);
    tn_bind_any(xpub, tran, ep);
    void *sub = tn_sock(SINEW_SUB);
    tn_set(sub, SINEW_RCVHWM, 5);
    tn_set(sub, SINEW_RCVBUF, 4096);
    tn_set(sub, SINEW_RCVTIMEO, 5000);
    tn_connect(sub, ep);
    ps_subscribe(sub, "M");
    char note[8];
    cr_assert_eq(sinew_recv(xpub, note, sizeof note, 0), 2); /* the subscription is in */
    static char msg[SIZE] = "M";
    uint32_t sent = 0;
    for (;;) {
        memcpy(msg + 1, &sent, 4);
        int rc = sinew_send(xpub, msg, SIZE, SINEW_DONTWAIT);
        if (rc < 0) {
            cr_assert_eq(errno, EAGAIN, "errno %d", errno);
            break;
        }
        cr_assert_lt(++sent, 100000, "never reached the HWM");
    }
    cr_assert_eq(ps_dropped(xpub), 0);
    /* A blocking send goes through once the subscriber makes room. */
    tn_set(xpub, SINEW_SNDTIMEO, 5000);
    char buf[SIZE];
    cr_assert_eq(sinew_recv(sub, buf, sizeof buf, 0), SIZE);
    memcpy(msg + 1, &sent, 4);
    cr_assert_eq(sinew_send(xpub, msg, SIZE, 0), SIZE, "errno %d", errno);
    sent++;
    for (uint32_t i = 1; i < sent; i++) {
        cr_assert_eq(sinew_recv(sub, buf, sizeof buf, 0), SIZE, "message %u of %u", i, sent);
        uint32_t v;
        memcpy(&v, buf + 1, 4);
        cr_assert_eq(v, i);
    }
    cr_assert_eq(ps_dropped(xpub), 0);
}

/* XPUB_MANUAL: subscriptions are the application's to make, with SINEW_SUBSCRIBE on the
 * XPUB, for the subscriber whose notification it received last. */
TN_TRAN_TEST(spec_xpubsub, xpub_manual_lets_the_application_subscribe)
{
    char ep[TN_EP_MAX];
    void *xpub = xpub_bound(tran, ep);
    tn_set(xpub, SINEW_XPUB_MANUAL, 1);
    void *sub = sub_to(ep);
    ps_subscribe(sub, "A");
    expect_sub_msg(xpub, 1, "A");
    ps_send(xpub, "A", 1, 0); /* not subscribed by the application yet */
    cr_assert_eq(ps_dropped(xpub), 1);
    cr_assert_eq(sinew_setsockopt(xpub, SINEW_SUBSCRIBE, "A", 1), 0);
    ps_send(xpub, "A", 2, 0);
    ps_expect(sub, "A", 2);
    /* The subscriber's duplicate reaches the application too in manual mode. */
    ps_subscribe(sub, "A");
    expect_sub_msg(xpub, 1, "A");
    ps_unsubscribe(sub, "A");
    ps_unsubscribe(sub, "A");
    expect_sub_msg(xpub, 0, "A");
    cr_assert_eq(sinew_setsockopt(xpub, SINEW_UNSUBSCRIBE, "A", 1), 0);
    uint64_t d = ps_dropped(xpub);
    ps_send(xpub, "A", 3, 0);
    cr_assert_eq(ps_dropped(xpub), d + 1);
    /* When it leaves, the application hears of what it had asked for. */
    ps_subscribe(sub, "Q");
    expect_sub_msg(xpub, 1, "Q");
    tn_close(sub);
    expect_sub_msg(xpub, 0, "Q");
    /* Its pipe is gone: subscribing for it now does nothing (and does not fail). */
    cr_assert_eq(sinew_setsockopt(xpub, SINEW_SUBSCRIBE, "Q", 1), 0);
}

/* XPUB_WELCOME_MSG: each new subscriber gets it first. */
TN_TRAN_TEST(spec_xpubsub, xpub_welcome_message_reaches_each_new_subscriber)
{
    char ep[TN_EP_MAX];
    void *xpub = tn_sock(SINEW_XPUB);
    cr_assert_eq(sinew_setsockopt(xpub, SINEW_XPUB_WELCOME_MSG, "Wlcm", 4), 0);
    tn_bind_any(xpub, tran, ep);
    for (int i = 0; i < 2; i++) {
        void *sub = tn_sock(SINEW_SUB);
        tn_set(sub, SINEW_RCVTIMEO, 5000);
        ps_subscribe(sub, "W"); /* a SUB filters what it receives, welcome included */
        tn_connect(sub, ep);
        /* The XPUB takes its peers in when the application calls it (libzmq too). */
        cr_assert_eq(sinew_wait_peers(xpub, i + 1, 5000), i + 1);
        tn_recv_str(sub, "Wlcm");
    }
    cr_assert_eq(sinew_setsockopt(xpub, SINEW_XPUB_WELCOME_MSG, NULL, 0), 0);
    void *sub = tn_sock(SINEW_SUB);
    tn_set(sub, SINEW_RCVTIMEO, 5000);
    ps_subscribe(sub, "");
    tn_connect(sub, ep);
    ps_sync(xpub, sub, "W-probe"); /* the first thing it gets is a probe */
}

/* XSUB: subscription messages written by the application go upstream and filter there;
 * XPUB sees them as sent, and XSUB's other messages too. */
TN_TRAN_TEST(spec_xpubsub, xsub_subscription_messages_reach_the_publisher)
{
    char ep[TN_EP_MAX];
    void *xpub = xpub_bound(tran, ep);
    void *xsub = tn_sock(SINEW_XSUB);
    tn_set(xsub, SINEW_RCVTIMEO, 5000);
    tn_connect(xsub, ep);
    cr_assert_eq(sinew_send(xsub, "\x01" "A", 2, 0), 2);
    expect_sub_msg(xpub, 1, "A");
    cr_assert_eq(sinew_send(xsub, "\x01" "A", 2, 0), 2); /* counted: nothing new */
    tn_send_str(xsub, "upstream", 0);
    tn_recv_str(xpub, "upstream");
    ps_send(xpub, "B", 1, 0);
    ps_send(xpub, "A", 2, 0);
    ps_expect(xsub, "A", 2);
    cr_assert_eq(sinew_send(xsub, "\x00" "A", 2, 0), 2); /* one of two: not sent on */
    tn_send_str(xsub, "mark", 0);
    tn_recv_str(xpub, "mark");
    cr_assert_eq(sinew_send(xsub, "\x00" "A", 2, 0), 2);
    expect_sub_msg(xpub, 0, "A");
    ps_send(xpub, "A", 3, 0);
    tn_expect_nothing(xsub, 30, "A after its unsubscription");
    cr_assert_eq(tn_get(xsub, SINEW_EVENTS) & SINEW_POLLOUT, SINEW_POLLOUT);
}

/* One of a socket's drop counters (SINEW_MSGS_DROPPED is their sum). */
static uint64_t
dropped_by(void *s, int why)
{
    sinew_socket_stats_t st;
    cr_assert_eq(sinew_socket_stats(s, &st), 0, "errno %d", errno);
    return st.dropped_by[why];
}

/* XSUB against a PUB; and a message for the publishers with none is counted. */
TN_TRAN_TEST(spec_xpubsub, xsub_filters_through_a_pub)
{
    char ep[TN_EP_MAX];
    void *xsub = tn_sock(SINEW_XSUB);
    tn_set(xsub, SINEW_RCVTIMEO, 5000);
    tn_send_str(xsub, "nobody", 0);
    cr_assert_eq(dropped_by(xsub, SINEW_DROP_NO_SUBSCRIBER), 1);
    void *pub = tn_sock(SINEW_PUB);
    tn_bind_any(pub, tran, ep);
    cr_assert_eq(sinew_send(xsub, "\x01" "A", 2, 0), 2); /* before connecting */
    tn_connect(xsub, ep);
    ps_sync(pub, xsub, "A");
    tn_send_str(xsub, "to a PUB", 0); /* PUB discards messages from its peers, counted */
    cr_assert_eq(sinew_send(xsub, "\x01" "C", 2, 0), 2);
    ps_sync(pub, xsub, "C");
    tn_get(pub, SINEW_EVENTS); /* takes in what came */
    cr_assert_eq(dropped_by(pub, SINEW_DROP_INVALID), 1);
    ps_send(pub, "B", 1, 0);
    ps_send(pub, "C", 2, 0);
    ps_expect(xsub, "C", 2);
}

/* XSUB resends its subscriptions to a publisher that comes back. */
PS_NET_TEST(spec_xpubsub, xsub_resends_subscriptions_after_a_reconnect)
{
    char ep[TN_EP_MAX];
    void *xpub = xpub_bound(tran, ep);
    void *xsub = tn_sock(SINEW_XSUB);
    tn_set(xsub, SINEW_RECONNECT_IVL, 10);
    tn_connect(xsub, ep);
    cr_assert_eq(sinew_send(xsub, "\x01" "A", 2, 0), 2);
    cr_assert_eq(sinew_send(xsub, "\x01" "B", 2, 0), 2);
    expect_sub_msg(xpub, 1, "A");
    expect_sub_msg(xpub, 1, "B");
    cr_assert_eq(sinew_unbind(xpub, ep), 0);
    expect_sub_msg(xpub, 0, "A"); /* its connection went with the endpoint */
    expect_sub_msg(xpub, 0, "B");
    uint64_t deadline = tn_now_ms() + 5000;
    while (sinew_bind(xpub, ep) != 0) {
        cr_assert_eq(errno, EADDRINUSE);
        cr_assert_gt(tn_left_ms(deadline), 0);
        poll(NULL, 0, 5);
    }
    /* The XSUB learns of the new connection when its application calls it, as a
     * receiving XSUB does (libzmq too). */
    sinew_pollitem_t it = {.socket = xpub, .events = SINEW_POLLIN};
    while (sinew_poll(&it, 1, 10) == 0) {
        cr_assert_gt(tn_left_ms(deadline), 0, "no subscription after the reconnect");
        tn_get(xsub, SINEW_EVENTS);
    }
    expect_sub_msg(xpub, 1, "A");
    expect_sub_msg(xpub, 1, "B");
}

/* ---- the slow-joiner count ------------------------------------------------------- */

/* PUB and XPUB count the peers that have subscribed, not those merely connected:
 * sinew_wait_peers (the pattern's joined slot) waits for subscriptions. */
TN_TRAN_TEST(spec_xpubsub, publishers_count_peers_that_subscribed)
{
    int types[2] = {SINEW_PUB, SINEW_XPUB};
    for (int k = 0; k < 2; k++) {
        char ep[TN_EP_MAX];
        void *pub = tn_sock(types[k]);
        tn_bind_any(pub, tran, ep);
        void *s1 = sub_to(ep), *s2 = sub_to(ep);
        errno = 0;
        cr_assert_eq(sinew_wait_peers(pub, 1, 50), -1, "joined without subscribing");
        cr_assert_eq(errno, EAGAIN);
        ps_subscribe(s1, "A");
        cr_assert_eq(sinew_wait_peers(pub, 1, 5000), 1, "errno %d", errno);
        /* Once it returns, what s1 subscribed to before is in: no probing needed. */
        ps_send(pub, "A", 1, 0);
        ps_expect(s1, "A", 1);
        ps_subscribe(s2, "B");
        cr_assert_eq(sinew_wait_peers(pub, 2, 5000), 2, "errno %d", errno);
        ps_send(pub, "B", 2, 0);
        ps_expect(s2, "B", 2);
        tn_close(s1);
        uint64_t deadline = tn_now_ms() + 5000;
        while (sinew_wait_peers(pub, 2, 0) != -1)
            cr_assert_gt(tn_left_ms(deadline), 0, "s1 still counted after it left");
        cr_assert_eq(sinew_wait_peers(pub, 1, 0), 1);
    }
}

/* SINEW_FD (edge: "look at SINEW_EVENTS again") and SINEW_READY_FD (level) on an XPUB:
 * a subscription arriving makes it readable; once received, it is not. */
TN_TRAN_TEST(spec_xpubsub, xpub_fd_and_events_report_subscriptions)
{
    char ep[TN_EP_MAX];
    void *xpub = xpub_bound(tran, ep);
    int fd = tn_get(xpub, SINEW_FD), rfd = tn_get(xpub, SINEW_READY_FD);
    void *sub = sub_to(ep);
    cr_assert_eq(tn_get(xpub, SINEW_EVENTS), SINEW_POLLOUT);
    ps_subscribe(sub, "A");
    uint64_t deadline = tn_now_ms() + 5000;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        cr_assert_eq(poll(&p, 1, tn_left_ms(deadline)), 1, "SINEW_FD never signalled");
        if (tn_get(xpub, SINEW_EVENTS) & SINEW_POLLIN)
            break;
    }
    struct pollfd r = {.fd = rfd, .events = POLLIN};
    cr_assert_eq(poll(&r, 1, 0), 1, "READY_FD not readable with a subscription waiting");
    expect_sub_msg(xpub, 1, "A");
    cr_assert_eq(tn_get(xpub, SINEW_EVENTS), SINEW_POLLOUT);
    cr_assert_eq(poll(&r, 1, 0), 0, "READY_FD readable with nothing to receive");
}
