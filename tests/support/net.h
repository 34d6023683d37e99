/* Helpers for the socket-core Criterion tests (tests/unit, tests/spec). Header-only. */
#ifndef SINEW_TESTS_SUPPORT_NET_H
#define SINEW_TESTS_SUPPORT_NET_H

#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sinew.h"

static inline uint64_t
tn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

/* A unique inproc endpoint name per call, so tests never collide. */
static inline const char *
tn_endpoint(char *buf, size_t n, const char *tag)
{
    static atomic_int counter;
    snprintf(buf, n, "inproc://%s-%d", tag, atomic_fetch_add(&counter, 1));
    return buf;
}

static inline void *
tn_socket(void *ctx, int type)
{
    void *s = sinew_socket(ctx, type);
    cr_assert_not_null(s, "sinew_socket(%d): errno %d", type, errno);
    return s;
}

static inline void
tn_set(void *s, int opt, int v)
{
    cr_assert_eq(sinew_setsockopt_int(s, opt, v), 0, "setsockopt(%d,%d): errno %d", opt, v,
                 errno);
}

static inline int
tn_get(void *s, int opt)
{
    int v = -12345;
    cr_assert_eq(sinew_getsockopt_int(s, opt, &v), 0, "getsockopt(%d): errno %d", opt, errno);
    return v;
}

static inline void
tn_send_str(void *s, const char *str, int flags)
{
    int n = sinew_send(s, str, strlen(str), flags);
    cr_assert_eq(n, (int) strlen(str), "send \"%s\": rc %d errno %d", str, n, errno);
}

/* Receives one part and checks its content (a RCVTIMEO should be set by the caller). */
static inline void
tn_recv_str(void *s, const char *expect)
{
    char buf[256];
    int n = sinew_recv(s, buf, sizeof buf - 1, 0);
    cr_assert_geq(n, 0, "recv expecting \"%s\": errno %d", expect, errno);
    buf[n < (int) sizeof buf - 1 ? n : (int) sizeof buf - 1] = 0;
    cr_assert_str_eq(buf, expect);
}

static inline int
tn_rcvmore(void *s)
{
    return tn_get(s, SINEW_RCVMORE);
}

/* A per-test context with every socket it opened tracked, so a failing test's teardown
 * still closes them (linger 0) and terminates without hanging. */
#define TN_MAX_SOCKS 1200
static void *tn_ctx;
static void *tn_socks[TN_MAX_SOCKS];
static int tn_nsocks;

static inline void
tn_setup(void)
{
    tn_nsocks = 0;
    tn_ctx = sinew_ctx_new();
    cr_assert_not_null(tn_ctx);
}

static inline void *
tn_sock(int type)
{
    void *s = tn_socket(tn_ctx, type);
    cr_assert_lt(tn_nsocks, TN_MAX_SOCKS);
    tn_socks[tn_nsocks++] = s;
    return s;
}

static inline void
tn_teardown(void)
{
    for (int i = 0; i < tn_nsocks; i++) {
        sinew_setsockopt_int(tn_socks[i], SINEW_LINGER, 0); /* ENOTSOCK if closed */
        sinew_close(tn_socks[i]);
    }
    tn_nsocks = 0;
    if (tn_ctx != NULL)
        cr_assert_eq(sinew_ctx_term(tn_ctx), 0);
    tn_ctx = NULL;
}

static inline void
tn_close(void *s)
{
    cr_assert_eq(sinew_close(s), 0, "close: errno %d", errno);
}

static inline void
tn_bind(void *s, const char *ep)
{
    cr_assert_eq(sinew_bind(s, ep), 0, "bind %s: errno %d", ep, errno);
}

static inline void
tn_connect(void *s, const char *ep)
{
    cr_assert_eq(sinew_connect(s, ep), 0, "connect %s: errno %d", ep, errno);
}

static inline void
tn_send_u32(void *s, uint32_t v, int flags)
{
    cr_assert_eq(sinew_send(s, &v, sizeof v, flags), (int) sizeof v, "send: errno %d", errno);
}

static inline uint32_t
tn_recv_u32(void *s)
{
    uint32_t v = 0;
    int n = sinew_recv(s, &v, sizeof v, 0);
    cr_assert_eq(n, (int) sizeof v, "recv: rc %d errno %d", n, errno);
    return v;
}

#endif
