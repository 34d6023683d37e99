/* RFC 29 (PUB-SUB): PUB, SUB, XPUB and XSUB over inproc, ipc and tcp. Publishers filter
 * (a subscriber gets only what it subscribed to, whatever the transport); subscriptions
 * are counted and survive reconnects; a slow subscriber loses messages without holding
 * up the publisher or the other subscribers, and every loss is counted. */
#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "spec/pubsub.h"
#include "support/net.h"
#include "support/transports.h"

TestSuite(spec_pubsub, .init = tn_tran_setup, .fini = tn_tran_teardown, .timeout = 30);

/* A bound PUB and a connected SUB with RCVTIMEO 5 s. */
static void
pair_up(const char *tran, void **pub, void **sub)
{
    char ep[TN_EP_MAX];
    *pub = tn_sock(SINEW_PUB);
    *sub = tn_sock(SINEW_SUB);
    tn_set(*sub, SINEW_RCVTIMEO, 5000);
    tn_connect(*sub, tn_bind_any(*pub, tran, ep));
}

/* RFC 29: "SHALL deliver messages whose first frame begins with a subscription"
 * (prefix match), and nothing else. */
TN_TRAN_TEST(spec_pubsub, sub_gets_only_messages_its_prefixes_match)
{
    void *pub, *sub;
    pair_up(tran, &pub, &sub);
    ps_subscribe(sub, "ab");
    ps_subscribe(sub, "x");
    ps_subscribe(sub, "end");
    ps_sync(pub, sub, "end");
    ps_send(pub, "a", 1, 0);     /* shorter than the prefix */
    ps_send(pub, "abc", 2, 0);   /* longer */
    ps_send(pub, "b", 3, 0);
    ps_send(pub, "ab", 4, 0);    /* exact */
    ps_send(pub, "xy", 5, 0);
    ps_send(pub, "Ab", 6, 0);    /* bytes, not letters */
    ps_send(pub, "end", 7, 0);
    ps_expect(sub, "abc", 2);
    ps_expect(sub, "ab", 4);
    ps_expect(sub, "xy", 5);
    ps_expect(sub, "end", 7);
    tn_expect_nothing(sub, 20, "a message no subscription matches arrived");
}

/* RFC 29: an empty subscription matches every message. */
TN_TRAN_TEST(spec_pubsub, empty_subscription_matches_everything)
{
    void *pub, *sub;
    pair_up(tran, &pub, &sub);
    cr_assert_eq(sinew_setsockopt(sub, SINEW_SUBSCRIBE, NULL, 0), 0);
    ps_sync(pub, sub, "any");
    cr_assert_eq(sinew_send(pub, "", 0, 0), 0);
    ps_send(pub, "\xff\x00", 9, 0);
    char buf[8];
    cr_assert_eq(sinew_recv(sub, buf, sizeof buf, 0), 0);
    ps_expect(sub, "\xff", 9); /* the topic string stops at the zero byte */
}

/* A publisher with no matching subscriber sends nothing and counts the message. */
TN_TRAN_TEST(spec_pubsub, unmatched_messages_are_not_sent_and_are_counted)
{
    char ep[TN_EP_MAX];
    void *pub = tn_sock(SINEW_PUB), *sub = tn_sock(SINEW_SUB), *idle = tn_sock(SINEW_SUB);
    tn_set(sub, SINEW_RCVTIMEO, 5000);
    tn_bind_any(pub, tran, ep);
    tn_connect(sub, ep);
    tn_connect(idle, ep);
    ps_subscribe(sub, "A");
    ps_sync(pub, sub, "A");
    uint64_t before = ps_dropped(pub);
    for (uint32_t i = 0; i < 10; i++)
        ps_send(pub, "B", i, 0);
    cr_assert_eq(ps_dropped(pub) - before, 10, "dropped %lu",
                 (unsigned long) (ps_dropped(pub) - before));
    ps_send(pub, "A", 99, 0);
    ps_expect(sub, "A", 99);
    tn_expect_nothing(idle, 50, "a subscriber without subscriptions got a message");
    /* The subscriber filters too: nothing unsubscribed is handed to the application. */
    cr_assert_eq(ps_dropped(sub), 0);
}

/* libzmq: subscriptions are counted; each SUBSCRIBE needs its own UNSUBSCRIBE. */
TN_TRAN_TEST(spec_pubsub, subscribing_twice_needs_two_unsubscribes)
{
    void *pub, *sub;
    pair_up(tran, &pub, &sub);
    ps_subscribe(sub, "A");
    ps_subscribe(sub, "A");
    ps_unsubscribe(sub, "A");
    ps_fence(pub, sub);
    ps_send(pub, "A", 1, 0);
    ps_expect(sub, "A", 1);
    ps_unsubscribe(sub, "A");
    ps_fence(pub, sub);
    ps_send(pub, "A", 2, 0);
    ps_send(pub, "fence-", 3, 0); /* matches no fence: a prefix of theirs */
    tn_expect_nothing(sub, 50, "still subscribed after two unsubscribes");
    /* Unsubscribing what is not subscribed is fine and changes nothing. */
    ps_unsubscribe(sub, "never");
}

/* RFC 29: "SHALL deliver ... multipart messages atomically"; the first frame decides. */
TN_TRAN_TEST(spec_pubsub, multipart_messages_are_matched_on_the_first_part_and_stay_whole)
{
    void *pub, *sub;
    pair_up(tran, &pub, &sub);
    ps_subscribe(sub, "A");
    ps_sync(pub, sub, "A");
    tn_send_str(pub, "B", SINEW_SNDMORE);
    tn_send_str(pub, "A-not-first", 0);
    tn_send_str(pub, "A", SINEW_SNDMORE);
    tn_send_str(pub, "part2", SINEW_SNDMORE);
    tn_send_str(pub, "B-part3", 0);
    tn_recv_str(sub, "A");
    cr_assert(tn_rcvmore(sub));
    tn_recv_str(sub, "part2");
    cr_assert(tn_rcvmore(sub));
    tn_recv_str(sub, "B-part3");
    cr_assert_not(tn_rcvmore(sub));
    tn_expect_nothing(sub, 50, "the unmatched multipart message arrived");
}

/* Each subscriber gets the messages of its own subscriptions, from one send. */
TN_TRAN_TEST(spec_pubsub, each_subscriber_gets_what_it_subscribed_to)
{
    char ep[TN_EP_MAX];
    void *pub = tn_sock(SINEW_PUB);
    tn_bind_any(pub, tran, ep);
    const char *topics[3] = {"A", "B", ""};
    void *sub[3];
    for (int i = 0; i < 3; i++) {
        sub[i] = tn_sock(SINEW_SUB);
        tn_set(sub[i], SINEW_RCVTIMEO, 5000);
        tn_connect(sub[i], ep);
        cr_assert_eq(sinew_setsockopt(sub[i], SINEW_SUBSCRIBE, topics[i], strlen(topics[i])),
                     0);
    }
    ps_sync(pub, sub[0], "A");
    ps_sync(pub, sub[1], "B");
    ps_sync(pub, sub[2], "C"); /* skips the probes of A and B it got too */
    /* A large message: its one payload is shared by the pipes it goes to. */
    static char big[70000];
    memset(big, 'A', sizeof big);
    cr_assert_eq(sinew_send(pub, big, sizeof big, 0), (int) sizeof big);
    ps_send(pub, "B", 2, 0);
    ps_send(pub, "C", 3, 0);
    static char got[70001];
    cr_assert_eq(sinew_recv(sub[0], got, sizeof got, 0), (int) sizeof big);
    cr_assert_eq(memcmp(got, big, sizeof big), 0);
    ps_expect(sub[1], "B", 2);
    cr_assert_eq(sinew_recv(sub[2], got, sizeof got, 0), (int) sizeof big);
    ps_expect(sub[2], "B", 2);
    ps_expect(sub[2], "C", 3);
    tn_expect_nothing(sub[0], 30, "A got B or C");
    tn_expect_nothing(sub[1], 30, "B got A or C");
}

/* SINEW_INVERT_MATCHING (libzmq): the publisher sends to subscribers whose
 * subscriptions do not match, and the subscriber keeps what does not match. */
TN_TRAN_TEST(spec_pubsub, invert_matching_delivers_what_does_not_match)
{
    char ep[TN_EP_MAX];
    void *pub = tn_sock(SINEW_PUB), *sub = tn_sock(SINEW_SUB);
    tn_set(pub, SINEW_INVERT_MATCHING, 1);
    tn_set(sub, SINEW_INVERT_MATCHING, 1);
    cr_assert_eq(tn_get(sub, SINEW_INVERT_MATCHING), 1);
    tn_set(sub, SINEW_RCVTIMEO, 5000);
    tn_connect(sub, tn_bind_any(pub, tran, ep));
    ps_subscribe(sub, "A");
    /* Until the subscription arrives, the publisher sends "A" too, which the subscriber
     * drops (and counts); once it is in, the publisher sends "A" to nobody. */
    uint64_t deadline = tn_now_ms() + 5000;
    for (uint32_t i = 0;; i++) {
        cr_assert_gt(tn_left_ms(deadline), 0, "the publisher still sends A");
        uint64_t sub_dropped = ps_dropped(sub);
        ps_send(pub, "A", i, 0);
        ps_send(pub, "B", i, 0);
        /* B i, after the B of earlier rounds (a network peer attaches late). */
        sinew_pollitem_t it = {.socket = sub, .events = SINEW_POLLIN};
        char got[64];
        uint32_t v = UINT32_MAX;
        while (v != i && sinew_poll(&it, 1, 50) == 1) {
            v = ps_recv(sub, got);
            cr_assert_str_eq(got, "B");
        }
        if (v == i && ps_dropped(sub) == sub_dropped)
            break; /* B i came without an A i before it */
    }
    uint64_t pub_dropped = ps_dropped(pub);
    ps_send(pub, "A", 100, 0);
    cr_assert_eq(ps_dropped(pub), pub_dropped + 1, "A not counted as unsubscribed");
    ps_send(pub, "Z", 101, 0);
    ps_expect(sub, "Z", 101);
}

/* A subscriber that does not keep up misses messages at its HWM (counted on the
 * publisher, one per message it missed); the publisher never blocks and the other
 * subscriber, which reads, gets every message. */
TN_TRAN_TEST(spec_pubsub, slow_subscriber_is_dropped_while_the_other_gets_everything)
{
    enum { N = 4000, BATCH = 100, SIZE = 1000 };
    char ep[TN_EP_MAX];
    void *pub = tn_sock(SINEW_PUB), *slow = tn_sock(SINEW_SUB), *fast = tn_sock(SINEW_SUB);
    tn_set(pub, SINEW_SNDHWM, 2 * BATCH);
    tn_set(pub, SINEW_SNDBUF, 4096); /* kernel buffers would hide the slow one's lag */
    tn_set(slow, SINEW_RCVHWM, 10);
    tn_set(slow, SINEW_RCVBUF, 4096);
    tn_set(slow, SINEW_RCVTIMEO, 5000);
    tn_set(fast, SINEW_RCVTIMEO, 5000);
    tn_bind_any(pub, tran, ep);
    tn_connect(slow, ep);
    tn_connect(fast, ep);
    ps_subscribe(slow, "M");
    ps_subscribe(fast, "M");
    ps_subscribe(slow, "S");
    ps_subscribe(fast, "F");
    ps_sync(pub, slow, "S");
    ps_sync(pub, fast, "F");
    uint64_t before = ps_dropped(pub);
    static char msg[SIZE];
    memcpy(msg, "M", 1);
    for (uint32_t i = 0; i < N; i += BATCH) {
        for (uint32_t k = i; k < i + BATCH; k++) {
            memcpy(msg + 1, &k, 4);
            cr_assert_eq(sinew_send(pub, msg, SIZE, SINEW_DONTWAIT), SIZE,
                         "the publisher blocked: errno %d", errno);
        }
        for (uint32_t k = i; k < i + BATCH; k++) {
            char buf[SIZE];
            cr_assert_eq(sinew_recv(fast, buf, sizeof buf, 0), SIZE, "fast lost %u", k);
            uint32_t v;
            memcpy(&v, buf + 1, 4);
            cr_assert_eq(v, k, "fast: message %u, expected %u", v, k);
        }
    }
    uint64_t dropped = ps_dropped(pub) - before;
    cr_assert_gt(dropped, 0, "the slow subscriber lost nothing");
    cr_assert_lt(dropped, N);
    /* What the slow one gets is in order, and it gets exactly what was not dropped. */
    uint32_t last = 0, n = 0;
    while (n < N - dropped) {
        char buf[SIZE];
        cr_assert_eq(sinew_recv(slow, buf, sizeof buf, 0), SIZE, "slow: %u of %lu", n,
                     (unsigned long) (N - dropped));
        uint32_t v;
        memcpy(&v, buf + 1, 4);
        cr_assert(n == 0 || v > last, "slow: %u after %u", v, last);
        last = v;
        n++;
    }
    tn_expect_nothing(slow, 50, "the slow subscriber got more than was not dropped");
}

/* Binds ep again once its previous listener has let go of it (that happens on an I/O
 * thread, after unbind or close return). */
static void
rebind(void *s, const char *ep)
{
    uint64_t deadline = tn_now_ms() + 5000;
    while (sinew_bind(s, ep) != 0) {
        cr_assert_eq(errno, EADDRINUSE, "bind %s: errno %d", ep, errno);
        cr_assert_gt(tn_left_ms(deadline), 0, "%s still in use", ep);
        poll(NULL, 0, 5);
    }
}

/* Subscriptions are sent again when a connection is made again: a subscriber whose
 * publisher went away and came back (unbind, bind) still gets only its topics. */
PS_NET_TEST(spec_pubsub, subscriptions_survive_a_reconnect)
{
    char ep[TN_EP_MAX];
    void *pub = tn_sock(SINEW_PUB), *sub = tn_sock(SINEW_SUB);
    tn_set(sub, SINEW_RCVTIMEO, 5000);
    tn_set(sub, SINEW_RECONNECT_IVL, 10);
    tn_bind_any(pub, tran, ep);
    tn_connect(sub, ep);
    ps_subscribe(sub, "A");
    ps_subscribe(sub, "C");
    ps_sync(pub, sub, "A");
    cr_assert_eq(sinew_unbind(pub, ep), 0, "unbind: errno %d", errno);
    rebind(pub, ep);
    ps_sync(pub, sub, "A"); /* both subscriptions were sent again, in order: A, C */
    ps_sync(pub, sub, "C");
    ps_send(pub, "B", 1, 0);
    ps_send(pub, "C", 2, 0);
    ps_expect(sub, "C", 2);
    /* A new publisher in the old one's place learns them too. */
    tn_close(pub);
    pub = tn_sock(SINEW_PUB);
    rebind(pub, ep);
    ps_sync(pub, sub, "C");
    ps_send(pub, "B", 3, 0);
    ps_send(pub, "A", 4, 0);
    ps_expect(sub, "A", 4);
}

/* The other direction: a PUB that connects to bound SUBs. */
TN_TRAN_TEST(spec_pubsub, connecting_publisher_filters_for_bound_subscribers)
{
    char ep[TN_EP_MAX];
    void *pub = tn_sock(SINEW_PUB), *sub = tn_sock(SINEW_SUB);
    tn_set(sub, SINEW_RCVTIMEO, 5000);
    ps_subscribe(sub, "A"); /* before any peer: sent when the peer attaches */
    tn_connect(pub, tn_bind_any(sub, tran, ep));
    ps_sync(pub, sub, "A");
    ps_send(pub, "B", 1, 0);
    ps_send(pub, "A", 2, 0);
    ps_expect(sub, "A", 2);
}

/* Publisher thread for the live-change test: A, B and F messages in turn. */
typedef struct flow {
    void *pub;
    atomic_bool stop;
} flow;

static void *
flow_publish(void *arg)
{
    flow *f = arg;
    for (uint32_t i = 0; !atomic_load(&f->stop); i++) {
        for (int k = 0; k < 3; k++) {
            char m[5] = {"ABF"[k]};
            memcpy(m + 1, &i, 4);
            sinew_send(f->pub, m, sizeof m, 0); /* no assertions off the main thread */
        }
        if (i % 64 == 0)
            usleep(100); /* pacing, so the subscriber keeps up: not synchronisation */
    }
    return NULL;
}

/* Subscriptions that change while messages flow take effect in order: after the
 * subscriber's later subscription shows, its earlier unsubscription has too. */
TN_TRAN_TEST(spec_pubsub, subscriptions_change_while_messages_flow)
{
    void *pub, *sub;
    pair_up(tran, &pub, &sub);
    tn_set(sub, SINEW_RCVHWM, 0);
    ps_subscribe(sub, "A");
    flow f = {.pub = pub};
    atomic_init(&f.stop, false);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, flow_publish, &f), 0);
    char got[64];
    uint32_t last[3] = {0};
    int seen_a = 0;
    while (seen_a < 50) {
        uint32_t v = ps_recv(sub, got);
        cr_assert_str_eq(got, "A", "only A is subscribed");
        cr_assert(seen_a == 0 || v > last[0]);
        last[0] = v;
        seen_a++;
    }
    ps_subscribe(sub, "B");
    ps_unsubscribe(sub, "A");
    ps_subscribe(sub, "F");
    bool f_seen = false;
    int after_f = 0;
    while (after_f < 200) {
        uint32_t v = ps_recv(sub, got);
        int k = got[0] == 'A' ? 0 : got[0] == 'B' ? 1 : 2;
        cr_assert(got[1] == 0 && k < 3, "topic %s", got);
        cr_assert(!(f_seen && k == 0), "A arrived after F: the unsubscription lagged");
        cr_assert(last[k] == 0 || v > last[k], "%s: %u after %u", got, v, last[k]);
        last[k] = v;
        if (k == 2)
            f_seen = true;
        if (f_seen)
            after_f++;
    }
    atomic_store(&f.stop, true);
    pthread_join(t, NULL);
}

/* ---- events ------------------------------------------------------------------------ */

/* SINEW_EVENTS: a SUB is readable only for a message it will hand over; a PUB is always
 * writable and never readable; READY_FD follows. */
TN_TRAN_TEST(spec_pubsub, events_reflect_filtered_input)
{
    char ep[TN_EP_MAX];
    void *pub = tn_sock(SINEW_PUB);
    tn_bind_any(pub, tran, ep);
    cr_assert_eq(tn_get(pub, SINEW_EVENTS), SINEW_POLLOUT);
    /* A manual XPUB sends the SUB everything, so that the SUB's own filter is seen. */
    void *xpub = tn_sock(SINEW_XPUB), *sub = tn_sock(SINEW_SUB);
    tn_set(xpub, SINEW_XPUB_MANUAL, 1);
    tn_set(xpub, SINEW_RCVTIMEO, 5000);
    tn_set(sub, SINEW_RCVTIMEO, 5000);
    tn_connect(sub, tn_bind_any(xpub, tran, ep));
    ps_subscribe(sub, "A");
    char buf[8];
    cr_assert_eq(sinew_recv(xpub, buf, sizeof buf, 0), 2);
    cr_assert_eq(memcmp(buf, "\x01" "A", 2), 0);
    cr_assert_eq(sinew_setsockopt(xpub, SINEW_SUBSCRIBE, "", 0), 0);
    cr_assert_eq(tn_get(sub, SINEW_EVENTS), 0);
    int fd = tn_get(sub, SINEW_READY_FD);
    ps_send(xpub, "B", 1, 0); /* reaches the SUB, which drops it */
    ps_send(xpub, "A", 2, 0);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, 5000), 1, "READY_FD not readable");
    uint64_t deadline = tn_now_ms() + 5000;
    while (!(tn_get(sub, SINEW_EVENTS) & SINEW_POLLIN))
        cr_assert_gt(tn_left_ms(deadline), 0);
    cr_assert_eq(ps_dropped(sub), 1, "B was not dropped by the SUB");
    ps_expect(sub, "A", 2);
    cr_assert_eq(tn_get(sub, SINEW_EVENTS), 0);
    cr_assert_eq(poll(&p, 1, 0), 0, "READY_FD readable with nothing to read");
    errno = 0;
    cr_assert_eq(sinew_send(sub, "x", 1, 0), -1);
    cr_assert_eq(errno, ENOTSUP);
    errno = 0;
    char c;
    cr_assert_eq(sinew_recv(pub, &c, 1, SINEW_DONTWAIT), -1);
    cr_assert_eq(errno, ENOTSUP);
}

/* ---- options ----------------------------------------------------------------------- */

Test(spec_pubsub, options_are_checked)
{
    void *pub = tn_sock(SINEW_PUB), *sub = tn_sock(SINEW_SUB), *push = tn_sock(SINEW_PUSH);
    errno = 0;
    cr_assert_eq(sinew_setsockopt(pub, SINEW_SUBSCRIBE, "A", 1), -1);
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_eq(sinew_setsockopt(push, SINEW_SUBSCRIBE, "A", 1), -1);
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_eq(sinew_setsockopt(sub, SINEW_SUBSCRIBE, NULL, 3), -1);
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_eq(sinew_setsockopt_int(sub, SINEW_INVERT_MATCHING, -1), -1);
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_eq(sinew_setsockopt(sub, SINEW_INVERT_MATCHING, "ab", 2), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_setsockopt(sub, SINEW_SUBSCRIBE, "", 0), 0);
    cr_assert_eq(tn_get(pub, SINEW_INVERT_MATCHING), 0);
    errno = 0;
    cr_assert_eq(sinew_setsockopt_int(sub, SINEW_XPUB_VERBOSE, 1), -1);
    cr_assert_eq(errno, EINVAL);
}

/* ---- SINEW_CONFLATE ---------------------------------------------------------------- */

/* Receives values in increasing order until last; returns how many arrived. */
static uint32_t
recv_in_order_up_to(void *sub, uint32_t last)
{
    uint32_t v = 0, got = 0;
    while (v != last) {
        char topic[64];
        uint32_t w = ps_recv(sub, topic);
        cr_assert_gt(w, v, "%u after %u", w, v);
        v = w;
        got++;
    }
    return got;
}

/* libzmq: "keep only one message in its inbound/outbound queue, this message being the
 * last message received/the last message to be sent". A conflating SUB that did not
 * read gets the latest message only; inproc writes are synchronous, so exactly that. */
TN_TRAN_TEST(spec_pubsub, conflating_sub_keeps_only_the_latest_message)
{
    enum { N = 1000 };
    char ep[TN_EP_MAX];
    void *pub = tn_sock(SINEW_PUB), *sub = tn_sock(SINEW_SUB);
    tn_set(sub, SINEW_CONFLATE, 1);
    cr_assert_eq(tn_get(sub, SINEW_CONFLATE), 1);
    tn_set(sub, SINEW_RCVTIMEO, 5000);
    tn_connect(sub, tn_bind_any(pub, tran, ep));
    ps_subscribe(sub, "M");
    ps_sync(pub, sub, "M");
    for (uint32_t i = 1; i <= N; i++)
        ps_send(pub, "M", i, 0);
    /* What arrives is in order and ends with the last; over inproc it is the last only
     * (and each replaced message was counted by the publisher that wrote it). */
    uint32_t got = recv_in_order_up_to(sub, N);
    if (!tn_tran_is_net(tran)) {
        cr_assert_eq(got, 1, "%u messages kept", got);
        cr_assert_geq(ps_dropped(pub), N - 1);
    } else {
        cr_assert_lt(got, N / 2, "%u of %u messages arrived: nothing was conflated", got, N);
    }
    tn_expect_nothing(sub, 20, "more after the latest");
}

/* A conflating PUB keeps one message per subscriber queue: every message is either
 * delivered or counted as dropped, and the last is always delivered. */
TN_TRAN_TEST(spec_pubsub, conflating_pub_keeps_the_latest_per_subscriber)
{
    enum { N = 1000 };
    char ep[TN_EP_MAX];
    void *pub = tn_sock(SINEW_PUB), *sub = tn_sock(SINEW_SUB);
    tn_set(pub, SINEW_CONFLATE, 1);
    tn_set(sub, SINEW_RCVTIMEO, 5000);
    tn_set(sub, SINEW_RCVHWM, 0);
    tn_connect(sub, tn_bind_any(pub, tran, ep));
    ps_subscribe(sub, "M");
    ps_sync(pub, sub, "M");
    uint64_t before = ps_dropped(pub);
    for (uint32_t i = 1; i <= N; i++)
        ps_send(pub, "M", i, 0);
    uint64_t dropped = ps_dropped(pub) - before;
    uint32_t got = recv_in_order_up_to(sub, N);
    cr_assert_eq(got + dropped, N, "%u received, %lu dropped", got, (unsigned long) dropped);
    if (!tn_tran_is_net(tran))
        cr_assert_eq(got, 1);
    tn_expect_nothing(sub, 20, "more after the latest");
}

/* Subscriptions do not go through the conflating direction: a conflating SUB's many
 * subscriptions all reach the publisher. */
TN_TRAN_TEST(spec_pubsub, conflating_sub_sends_every_subscription)
{
    void *pub, *sub;
    pair_up(tran, &pub, &sub);
    tn_set(sub, SINEW_CONFLATE, 1);
    char topic[16];
    for (int i = 0; i < 50; i++) {
        snprintf(topic, sizeof topic, "T%02d", i);
        ps_subscribe(sub, topic);
    }
    for (int i = 0; i < 50; i++) {
        snprintf(topic, sizeof topic, "T%02d", i);
        ps_sync(pub, sub, topic);
    }
}

/* libzmq applies CONFLATE to PUSH, PULL and DEALER too (not to XPUB, XSUB and the
 * others, which accept it and ignore it). */
TN_TRAN_TEST(spec_pubsub, conflate_applies_to_push_and_pull)
{
    for (int side = 0; side < 2; side++) {
        char ep[TN_EP_MAX];
        void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
        tn_set(side == 0 ? push : pull, SINEW_CONFLATE, 1);
        tn_set(pull, SINEW_RCVTIMEO, 5000);
        tn_set(push, SINEW_SNDTIMEO, 5000);
        tn_connect(push, tn_bind_any(pull, tran, ep));
        uint64_t before = ps_dropped(push);
        for (uint32_t i = 1; i <= 100; i++)
            tn_send_u32(push, i, 0); /* never blocks: no HWM on a conflating queue */
        uint32_t v = 0, got = 0;
        while (v != 100) {
            uint32_t w = tn_recv_u32(pull);
            cr_assert_gt(w, v);
            v = w;
            got++;
        }
        /* What the sender's queue let go is counted by the sender (a receiving
         * engine's own replacements, tcp/ipc into a conflating PULL, are not). */
        if (side == 0 || !tn_tran_is_net(tran))
            cr_assert_eq(got + (ps_dropped(push) - before), 100, "%u received", got);
    }
    void *xpub = tn_sock(SINEW_XPUB);
    tn_set(xpub, SINEW_CONFLATE, 1);
}

/* ---- threads ------------------------------------------------------------------------- */

typedef struct shared_pub {
    void *pub;
    uint32_t id;
} shared_pub;

static void *
publish_parts(void *arg)
{
    shared_pub *sp = arg;
    for (uint32_t i = 0; i < 2000; i++) {
        uint32_t v[2] = {sp->id, i};
        sinew_send(sp->pub, "M", 1, SINEW_SNDMORE); /* no assertions off the main thread */
        sinew_send(sp->pub, v, sizeof v, 0);
    }
    return NULL;
}

/* Sockets are thread-safe: four threads publishing two-part messages on one PUB; every
 * message arrives whole, each thread's in order. */
TN_TRAN_TEST(spec_pubsub, threads_share_one_publisher)
{
    void *pub, *sub;
    pair_up(tran, &pub, &sub);
    tn_set(pub, SINEW_SNDHWM, 0);
    tn_set(sub, SINEW_RCVHWM, 0);
    ps_subscribe(sub, "M");
    ps_sync(pub, sub, "M");
    shared_pub sp[4];
    pthread_t t[4];
    for (uint32_t k = 0; k < 4; k++) {
        sp[k] = (shared_pub){pub, k};
        cr_assert_eq(pthread_create(&t[k], NULL, publish_parts, &sp[k]), 0);
    }
    uint32_t next[4] = {0};
    for (int n = 0; n < 4 * 2000; n++) {
        tn_recv_str(sub, "M");
        cr_assert(tn_rcvmore(sub), "a message lost its second part");
        uint32_t v[2];
        cr_assert_eq(sinew_recv(sub, v, sizeof v, 0), (int) sizeof v);
        cr_assert_lt(v[0], 4);
        cr_assert_eq(v[1], next[v[0]], "thread %u: %u, expected %u", v[0], v[1], next[v[0]]);
        next[v[0]]++;
    }
    for (int k = 0; k < 4; k++)
        pthread_join(t[k], NULL);
}
