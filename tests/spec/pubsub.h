/* Helpers for the PUB/SUB tests: knowing when a subscription has reached the publisher
 * without sleeping. Subscriptions and messages keep their order on one link, so once a
 * probe published under a topic arrives, every subscription the subscriber sent before
 * that topic's was taken in by the publisher. Header-only. */
#ifndef SINEW_TESTS_SPEC_PUBSUB_H
#define SINEW_TESTS_SPEC_PUBSUB_H

#include "support/transports.h"

/* As TN_TRAN_TEST for the network transports only (ipc, tcp): for what inproc has not,
 * such as a connection made again or a peer's ZMTP version. */
#define PS_NET_TEST(suite, name)                                                        \
    static void name##_tran(const char *tran);                                         \
    Test(suite, name##_ipc)                                                             \
    {                                                                                   \
        name##_tran("ipc");                                                             \
    }                                                                                   \
    Test(suite, name##_tcp)                                                             \
    {                                                                                   \
        name##_tran("tcp");                                                             \
    }                                                                                   \
    static void name##_tran(const char *tran)

/* A message: topic then a 32-bit number. */
static inline void
ps_send(void *pub, const char *topic, uint32_t n, int flags)
{
    char buf[128];
    size_t len = strlen(topic);
    cr_assert_lt(len + 4, sizeof buf);
    memcpy(buf, topic, len);
    memcpy(buf + len, &n, 4);
    int rc = sinew_send(pub, buf, len + 4, flags);
    cr_assert_eq(rc, (int) len + 4, "send %s: errno %d", topic, errno);
}

/* Receives (RCVTIMEO set by the caller) a message of ps_send's form; its topic into
 * topic (64 bytes) and returns its number. */
static inline uint32_t
ps_recv(void *sub, char *topic)
{
    char buf[128];
    int n = sinew_recv(sub, buf, sizeof buf, 0);
    cr_assert_geq(n, 4, "recv: rc %d errno %d", n, errno);
    cr_assert_lt(n, 64 + 4);
    memcpy(topic, buf, (size_t) n - 4);
    topic[n - 4] = 0;
    uint32_t v;
    memcpy(&v, buf + n - 4, 4);
    return v;
}

/* Publishes probes under topic (which sub's subscriptions must match) until one
 * arrives, then takes the rest of them: afterwards the publisher has every subscription
 * sub sent before topic's, and no probe is left in flight. Messages of other topics
 * that arrive meanwhile (earlier probes) are skipped. 5 s at most. */
static inline void
ps_sync(void *pub, void *sub, const char *topic)
{
    uint64_t deadline = tn_now_ms() + 5000;
    bool got_one = false;
    for (uint32_t i = 1;; i++) {
        ps_send(pub, topic, i, 0);
        for (;;) {
            sinew_pollitem_t it = {.socket = sub, .events = SINEW_POLLIN};
            int rc = sinew_poll(&it, 1, got_one ? tn_left_ms(deadline) : 10);
            cr_assert_geq(rc, 0);
            cr_assert_gt(tn_left_ms(deadline), 0, "no probe of %s reached the subscriber",
                         topic);
            if (rc == 0)
                break;
            char got[64];
            uint32_t j = ps_recv(sub, got);
            if (strcmp(got, topic) != 0)
                continue;
            got_one = true;
            if (j == i)
                return;
        }
    }
}

/* Subscribes sub to a fresh topic and waits until the publisher has it: every earlier
 * change of sub's subscriptions has then reached the publisher. */
static inline void
ps_fence(void *pub, void *sub)
{
    static int seq;
    char topic[32];
    snprintf(topic, sizeof topic, "fence-%d/", seq++);
    cr_assert_eq(sinew_setsockopt(sub, SINEW_SUBSCRIBE, topic, strlen(topic)), 0);
    ps_sync(pub, sub, topic);
}

static inline uint64_t
ps_dropped(void *s)
{
    uint64_t v = 0;
    size_t len = sizeof v;
    cr_assert_eq(sinew_getsockopt(s, SINEW_MSGS_DROPPED, &v, &len), 0);
    return v;
}

static inline void
ps_subscribe(void *sub, const char *topic)
{
    cr_assert_eq(sinew_setsockopt(sub, SINEW_SUBSCRIBE, topic, strlen(topic)), 0,
                 "subscribe %s: errno %d", topic, errno);
}

static inline void
ps_unsubscribe(void *sub, const char *topic)
{
    cr_assert_eq(sinew_setsockopt(sub, SINEW_UNSUBSCRIBE, topic, strlen(topic)), 0,
                 "unsubscribe %s: errno %d", topic, errno);
}

/* Receives one message and checks its topic and number. */
static inline void
ps_expect(void *sub, const char *topic, uint32_t n)
{
    char got[64];
    uint32_t v = ps_recv(sub, got);
    cr_assert_str_eq(got, topic);
    cr_assert_eq(v, n, "%s: number %u, expected %u", topic, v, n);
}

#endif
