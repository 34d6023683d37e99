/* Interop PUB-SUB (RFC 29): sinew against real libzmq, each library on either side,
 * each side binding, tcp and ipc, for PUB-SUB, XPUB-XSUB, PUB-XSUB and XPUB-SUB.
 * Subscriptions reach a libzmq publisher (it filters: the sinew subscriber never has to
 * drop anything) and a sinew publisher filters for a libzmq subscriber (its drop counter
 * moves for every unsubscribed message); XPUBs see the subscriptions as sent;
 * unsubscriptions take effect; multipart messages stay whole. */
#include "interop.h"

typedef struct combo {
    char transport[4];
    bool sinew_publishes; /* else libzmq publishes and sinew subscribes */
    bool publisher_binds;
    int pub_type, sub_type; /* ZMQ_PUB or ZMQ_XPUB; ZMQ_SUB or ZMQ_XSUB */
} combo;

static combo *
all_combos(size_t *n)
{
    static const char *transports[] = {"tcp", "ipc"};
    static const int types[4][2] = {{ZMQ_PUB, ZMQ_SUB},
                                    {ZMQ_XPUB, ZMQ_XSUB},
                                    {ZMQ_PUB, ZMQ_XSUB},
                                    {ZMQ_XPUB, ZMQ_SUB}};
    combo *cs = cr_malloc(32 * sizeof *cs);
    cr_assert_not_null(cs);
    size_t k = 0;
    for (int t = 0; t < 2; t++)
        for (int side = 0; side < 2; side++)
            for (int bind = 0; bind < 2; bind++)
                for (int ty = 0; ty < 4; ty++) {
                    cs[k] = (combo){.sinew_publishes = side, .publisher_binds = bind,
                                    .pub_type = types[ty][0], .sub_type = types[ty][1]};
                    strcpy(cs[k].transport, transports[t]);
                    k++;
                }
    *n = k;
    return cs;
}

static void
free_combos(struct criterion_test_params *p)
{
    cr_free(p->params);
}

static bool
poll_in(ip_sock *s, int ms)
{
    int rc;
    if (s->zmq) {
        zmq_pollitem_t it = {.socket = s->s, .events = ZMQ_POLLIN};
        rc = zmq_poll(&it, 1, ms);
    } else {
        sinew_pollitem_t it = {.socket = s->s, .events = SINEW_POLLIN};
        rc = sinew_poll(&it, 1, ms);
    }
    cr_assert_geq(rc, 0, "poll: errno %d", errno);
    return rc > 0;
}

/* SUB: the option; XSUB: the message \x01topic or \x00topic. */
static void
subscribe(ip_sock *sub, int type, bool on, const char *topic)
{
    if (type == ZMQ_SUB) {
        int opt = on ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE;
        int rc = sub->zmq ? zmq_setsockopt(sub->s, opt, topic, strlen(topic))
                          : sinew_setsockopt(sub->s, opt, topic, strlen(topic));
        cr_assert_eq(rc, 0, "subscribe: errno %d", errno);
        return;
    }
    char buf[64];
    buf[0] = on ? 1 : 0;
    memcpy(buf + 1, topic, strlen(topic));
    ip_send(sub, buf, strlen(topic) + 1, 0);
}

/* A socket takes in new peers when its application calls it (both libraries): a bound
 * subscriber sends its subscriptions to a connecting publisher only then. */
static void
poke(ip_sock *s)
{
    int ev;
    size_t len = sizeof ev;
    int rc = s->zmq ? zmq_getsockopt(s->s, ZMQ_EVENTS, &ev, &len)
                    : sinew_getsockopt(s->s, SINEW_EVENTS, &ev, &len);
    cr_assert_eq(rc, 0);
}

/* An XPUB hears the subscription as sent (its subscriber poked meanwhile). */
static void
expect_notification(ip_sock *xpub, ip_sock *sub, bool on, const char *topic)
{
    uint64_t deadline = ip_now_ms() + IP_WAIT_MS;
    while (!poll_in(xpub, 10)) {
        cr_assert_lt(ip_now_ms(), deadline, "no notification for %s", topic);
        poke(sub);
    }
    char want[64];
    want[0] = on ? 1 : 0;
    memcpy(want + 1, topic, strlen(topic));
    ip_recv_check(xpub, want, strlen(topic) + 1, false);
}

/* Probes under topic until one arrives; then the rest of them (see spec/pubsub.h). */
static void
sync_topic(ip_sock *pub, ip_sock *sub, const char *topic)
{
    uint64_t deadline = ip_now_ms() + IP_WAIT_MS;
    size_t len = strlen(topic);
    for (uint32_t i = 1;; i++) {
        char buf[64];
        memcpy(buf, topic, len);
        memcpy(buf + len, &i, 4);
        ip_send(pub, buf, len + 4, 0);
        while (poll_in(sub, 10)) {
            char got[64];
            int n = ip_recv_raw(sub, got, sizeof got, 0);
            cr_assert_eq(n, (int) len + 4, "probe: rc %d", n);
            cr_assert_eq(memcmp(got, topic, len), 0, "not a probe of %s", topic);
            uint32_t j;
            memcpy(&j, got + len, 4);
            if (j == i)
                return;
        }
        cr_assert_lt(ip_now_ms(), deadline, "no probe of %s arrived", topic);
    }
}

static uint64_t
sinew_dropped(ip_sock *s, int why)
{
    sinew_socket_stats_t st;
    cr_assert_eq(sinew_socket_stats(s->s, &st), 0);
    return st.dropped_by[why];
}

ParameterizedTestParameters(interop_pubsub, filter_and_subscriptions)
{
    size_t n;
    combo *cs = all_combos(&n);
    return cr_make_param_array(combo, cs, n, free_combos);
}

ParameterizedTest(combo *c, interop_pubsub, filter_and_subscriptions, .init = ip_setup,
                  .fini = ip_teardown, .timeout = 30)
{
    cr_log_info("%s, %s %s %s, %s binds", c->transport, c->sinew_publishes ? "sinew" : "zmq",
                c->pub_type == ZMQ_PUB ? "PUB" : "XPUB", c->sub_type == ZMQ_SUB ? "SUB" : "XSUB",
                c->publisher_binds ? "publisher" : "subscriber");
    ip_sock *pub = ip_socket(!c->sinew_publishes, c->pub_type);
    ip_sock *sub = ip_socket(c->sinew_publishes, c->sub_type);
    ip_setint(pub, ZMQ_RCVTIMEO, IP_WAIT_MS);
    ip_setint(sub, ZMQ_RCVTIMEO, IP_WAIT_MS);
    char ep[256];
    if (c->publisher_binds) {
        ip_bind(pub, c->transport, ep, sizeof ep);
        ip_connect(sub, ep);
    } else {
        ip_bind(sub, c->transport, ep, sizeof ep);
        ip_connect(pub, ep);
    }
    bool xpub = c->pub_type == ZMQ_XPUB;
    subscribe(sub, c->sub_type, true, "A");
    subscribe(sub, c->sub_type, true, "B");
    if (xpub) {
        expect_notification(pub, sub, true, "A");
        expect_notification(pub, sub, true, "B");
    }
    sync_topic(pub, sub, "B");

    uint64_t pub_dropped = c->sinew_publishes ? sinew_dropped(pub, SINEW_DROP_NO_SUBSCRIBER) : 0;
    ip_send_str(pub, "C1", 0);
    ip_send_str(pub, "A1", 0);
    ip_send_str(pub, "B1", 0);
    ip_send_str(pub, "A", ZMQ_SNDMORE);
    ip_send_str(pub, "C-part", 0);
    ip_send_str(pub, "C2", ZMQ_SNDMORE);
    ip_send_str(pub, "A-part", 0);
    ip_send_str(pub, "B2", 0);
    ip_recv_check(sub, "A1", 2, false);
    ip_recv_check(sub, "B1", 2, false);
    ip_recv_check(sub, "A", 1, true);
    ip_recv_check(sub, "C-part", 6, false);
    ip_recv_check(sub, "B2", 2, false);
    if (c->sinew_publishes)
        cr_assert_eq(sinew_dropped(pub, SINEW_DROP_NO_SUBSCRIBER) - pub_dropped, 2,
                     "the sinew publisher did not filter");
    else
        cr_assert_eq(sinew_dropped(sub, SINEW_DROP_NO_SUBSCRIBER), 0,
                     "the libzmq publisher did not filter: the sinew subscriber had to");

    /* Unsubscribing: once a later subscription shows, the earlier cancel took effect. */
    subscribe(sub, c->sub_type, false, "A");
    if (xpub)
        expect_notification(pub, sub, false, "A");
    subscribe(sub, c->sub_type, true, "F");
    if (xpub)
        expect_notification(pub, sub, true, "F");
    sync_topic(pub, sub, "F");
    cr_log_info("after the unsubscription");
    ip_send_str(pub, "A2", 0);
    ip_send_str(pub, "B3", 0);
    ip_recv_check(sub, "B3", 2, false);
    cr_assert_not(poll_in(sub, 20), "A arrived after its unsubscription");
    if (!c->sinew_publishes)
        cr_assert_eq(sinew_dropped(sub, SINEW_DROP_NO_SUBSCRIBER), 0);

    /* An XSUB's own messages reach an XPUB. */
    if (xpub && c->sub_type == ZMQ_XSUB) {
        ip_send_str(sub, "upstream", ZMQ_SNDMORE);
        ip_send_str(sub, "", 0);
        ip_recv_check(pub, "upstream", 8, true);
        ip_recv_check(pub, "", 0, false);
    }
}

/* A sinew SUB that reconnects to a restarted libzmq PUB subscribes again; and a libzmq
 * SUB that reconnects to a restarted sinew PUB is filtered for again. */
ParameterizedTestParameters(interop_pubsub, resubscribe_after_restart)
{
    size_t n;
    combo *cs = all_combos(&n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (cs[i].pub_type == ZMQ_PUB && cs[i].sub_type == ZMQ_SUB && cs[i].publisher_binds)
            cs[k++] = cs[i];
    return cr_make_param_array(combo, cs, k, free_combos);
}

ParameterizedTest(combo *c, interop_pubsub, resubscribe_after_restart, .init = ip_setup,
                  .fini = ip_teardown, .timeout = 30)
{
    char ep[256];
    ip_free_endpoint(c->transport, ep, sizeof ep);
    ip_sock *sub = ip_socket(c->sinew_publishes, ZMQ_SUB);
    ip_setint(sub, ZMQ_RCVTIMEO, IP_WAIT_MS);
    ip_setint(sub, ZMQ_RECONNECT_IVL, 10);
    subscribe(sub, ZMQ_SUB, true, "A");
    ip_connect(sub, ep);
    for (int round = 0; round < 2; round++) {
        ip_sock *pub = ip_socket(!c->sinew_publishes, ZMQ_PUB);
        uint64_t deadline = ip_now_ms() + IP_WAIT_MS;
        while ((pub->zmq ? zmq_bind(pub->s, ep) : sinew_bind(pub->s, ep)) != 0) {
            cr_assert_eq(errno, EADDRINUSE, "bind: errno %d", errno);
            cr_assert_lt(ip_now_ms(), deadline);
            poll(NULL, 0, 5);
        }
        sync_topic(pub, sub, "A");
        ip_send_str(pub, "B", 0);
        ip_send_str(pub, "A!", 0);
        ip_recv_check(sub, "A!", 2, false);
        int zero = 0;
        if (pub->zmq)
            zmq_setsockopt(pub->s, ZMQ_LINGER, &zero, sizeof zero);
        else
            sinew_setsockopt(pub->s, SINEW_LINGER, &zero, sizeof zero);
        ip_close(pub);
    }
}
