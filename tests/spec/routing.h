/* Helpers for the ROUTER, DEALER and REQ/REP spec tests (test_router.c, test_dealer.c,
 * test_reqrep.c): sockets with timeouts, multipart messages as strings, the drop
 * counter, and waiting until a ROUTER can route to a peer. Header-only. */
#ifndef SINEW_TESTS_SPEC_ROUTING_H
#define SINEW_TESTS_SPEC_ROUTING_H

#include <stdarg.h>

#include "support/net.h"
#include "support/transports.h"

/* A socket of type that gives up on a send or a receive after 5 s. */
static inline void *
rt_timed(int type)
{
    void *s = tn_sock(type);
    tn_set(s, SINEW_RCVTIMEO, 5000);
    tn_set(s, SINEW_SNDTIMEO, 5000);
    return s;
}

/* Sends the NULL-terminated list of strings as one multipart message. */
static inline void
rt_send(void *s, ...)
{
    va_list ap;
    va_start(ap, s);
    const char *part = va_arg(ap, const char *);
    while (part != NULL) {
        const char *next = va_arg(ap, const char *);
        tn_send_str(s, part, next != NULL ? SINEW_SNDMORE : 0);
        part = next;
    }
    va_end(ap);
}

/* Receives one multipart message and checks it against the NULL-terminated list. */
static inline void
rt_expect(void *s, ...)
{
    va_list ap;
    va_start(ap, s);
    const char *part = va_arg(ap, const char *);
    int i = 0;
    while (part != NULL) {
        const char *next = va_arg(ap, const char *);
        char buf[256];
        int n = sinew_recv(s, buf, sizeof buf - 1, 0);
        cr_assert_geq(n, 0, "part %d (\"%s\"): errno %d", i, part, errno);
        buf[n] = 0;
        cr_assert_str_eq(buf, part, "part %d", i);
        cr_assert_eq(tn_rcvmore(s), next != NULL, "part %d: more flag", i);
        part = next;
        i++;
    }
    va_end(ap);
}

/* Receives one part (at most cap bytes) into buf; returns its size. */
static inline int
rt_recv_part(void *s, void *buf, size_t cap)
{
    int n = sinew_recv(s, buf, cap, 0);
    cr_assert_geq(n, 0, "recv: errno %d", errno);
    return n;
}

static inline uint64_t
rt_dropped(void *s)
{
    uint64_t v = 0;
    size_t len = sizeof v;
    cr_assert_eq(sinew_getsockopt(s, SINEW_MSGS_DROPPED, &v, &len), 0, "errno %d", errno);
    return v;
}

/* Messages s discarded for one reason (SINEW_DROP_*). */
static inline uint64_t
rt_dropped_by(void *s, int reason)
{
    sinew_socket_stats_t st;
    cr_assert_eq(sinew_socket_stats(s, &st), 0, "errno %d", errno);
    return st.dropped_by[reason];
}

/* Waits, 5 s at most, until s has n peers attached. */
static inline void
rt_wait_peers(void *s, uint64_t n)
{
    uint64_t deadline = tn_now_ms() + 5000;
    for (;;) {
        sinew_socket_stats_t st;
        cr_assert_eq(sinew_socket_stats(s, &st), 0, "errno %d", errno);
        if (st.peers == n)
            return;
        cr_assert_lt(tn_now_ms(), deadline, "%llu peers, expected %llu",
                     (unsigned long long) st.peers, (unsigned long long) n);
        tn_expect_nothing(s, 5, "");
    }
}

/* Waits, 5 s at most, until router routes to the peer named id (binders learn of a
 * network peer only after its handshake): sends [id, "ping"] with ROUTER_MANDATORY until
 * it is taken, then receives the ping at peer (a DEALER). Leaves MANDATORY as mandatory. */
static inline void
rt_wait_route(void *router, const void *id, size_t len, void *peer, int mandatory)
{
    tn_set(router, SINEW_ROUTER_MANDATORY, 1);
    uint64_t deadline = tn_now_ms() + 5000;
    for (;;) {
        int rc = sinew_send(router, id, len, SINEW_SNDMORE | SINEW_DONTWAIT);
        if (rc == (int) len)
            break;
        cr_assert_eq(errno, EHOSTUNREACH, "routing to the peer: errno %d", errno);
        cr_assert_lt(tn_now_ms(), deadline, "no route to the peer after 5 s");
        sinew_pollitem_t it = {.socket = router, .events = SINEW_POLLIN};
        sinew_poll(&it, 1, 2); /* a short pause that also lets the socket take commands */
    }
    tn_send_str(router, "ping", 0);
    tn_recv_str(peer, "ping");
    tn_set(router, SINEW_ROUTER_MANDATORY, mandatory);
}

#endif
