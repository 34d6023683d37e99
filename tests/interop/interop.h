/* Helpers for the interop tests: sinew and real libzmq in one process, over tcp and ipc
 * on loopback / a private temp directory. Header-only; one test program per .c file.
 *
 * zmq.h and sinew.h both define libzmq's own errno numbers (EFSM, ETERM, ...) with the
 * same values but different spellings, so the zmq ones are dropped before sinew.h. */
#ifndef SINEW_TESTS_INTEROP_H
#define SINEW_TESTS_INTEROP_H

#include <zmq.h>
#undef EFSM
#undef ENOCOMPATPROTO
#undef ETERM
#undef EMTHREAD
#include "sinew.h"
#include "support/zmtp_peer.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define IP_WAIT_MS 5000 /* default receive deadline */

/* Criterion 2.4.1's runner process sometimes leaks 48 bytes of its own (calloc under
 * criterion_run_all_tests, seen only in programs mixing Test and ParameterizedTest), which
 * fails the ASan build at random. Leak checking is turned off for the runner's main
 * thread only: PRE_ALL runs in the runner, never in the test workers, so every leak in
 * test code or in sinew (which run in the workers) is still reported. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void) set;
    __lsan_disable();
}
#endif

static inline uint64_t
ip_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

/* ---- per-test fixture: one context of each library, a temp dir, tracked sockets --- */

typedef struct ip_sock {
    bool zmq; /* libzmq socket, else sinew */
    void *s;
    bool closed;
} ip_sock;

#define IP_MAX_SOCKS 64
static void *ip_sctx, *ip_zctx;
static ip_sock ip_socks[IP_MAX_SOCKS];
static int ip_nsocks;
static char ip_dir[64];
static int ip_nipc;

static inline void
ip_setup(void)
{
    ip_nsocks = 0;
    ip_nipc = 0;
    ip_sctx = sinew_ctx_new();
    ip_zctx = zmq_ctx_new();
    cr_assert_not_null(ip_sctx);
    cr_assert_not_null(ip_zctx);
    snprintf(ip_dir, sizeof ip_dir, "/tmp/sinew-interop-XXXXXX");
    cr_assert_not_null(mkdtemp(ip_dir));
}

static inline void
ip_close(ip_sock *s)
{
    if (s->closed)
        return;
    s->closed = true;
    int rc = s->zmq ? zmq_close(s->s) : sinew_close(s->s);
    cr_assert_eq(rc, 0, "close: errno %d", errno);
}

static inline void
ip_teardown(void)
{
    /* sinew first, while its libzmq peers are still up (see ip_close_all). */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < ip_nsocks; i++) {
            ip_sock *s = &ip_socks[i];
            if (s->closed || s->zmq != (pass == 1))
                continue;
            int zero = 0;
            if (s->zmq)
                zmq_setsockopt(s->s, ZMQ_LINGER, &zero, sizeof zero);
            else
                sinew_setsockopt(s->s, SINEW_LINGER, &zero, sizeof zero);
            ip_close(s);
        }
        if (pass == 0 && ip_sctx != NULL)
            cr_assert_eq(sinew_ctx_term(ip_sctx), 0);
    }
    ip_nsocks = 0;
    if (ip_zctx != NULL)
        cr_assert_eq(zmq_ctx_term(ip_zctx), 0);
    ip_sctx = ip_zctx = NULL;
    for (int i = 0; i < ip_nipc; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/s%d", ip_dir, i);
        unlink(p);
    }
    rmdir(ip_dir);
}

static inline ip_sock *
ip_socket(bool zmq, int type)
{
    cr_assert_lt(ip_nsocks, IP_MAX_SOCKS);
    ip_sock *s = &ip_socks[ip_nsocks++];
    s->zmq = zmq;
    s->closed = false;
    s->s = zmq ? zmq_socket(ip_zctx, type) : sinew_socket(ip_sctx, type);
    cr_assert_not_null(s->s, "%s socket(%d): errno %d", zmq ? "zmq" : "sinew", type, errno);
    return s;
}

static inline void
ip_setint(ip_sock *s, int opt, int v)
{
    int rc = s->zmq ? zmq_setsockopt(s->s, opt, &v, sizeof v)
                    : sinew_setsockopt(s->s, opt, &v, sizeof v);
    cr_assert_eq(rc, 0, "setsockopt(%d, %d): errno %d", opt, v, errno);
}

static inline void
ip_setint64(ip_sock *s, int opt, int64_t v)
{
    int rc = s->zmq ? zmq_setsockopt(s->s, opt, &v, sizeof v)
                    : sinew_setsockopt(s->s, opt, &v, sizeof v);
    cr_assert_eq(rc, 0, "setsockopt(%d, %lld): errno %d", opt, (long long) v, errno);
}

static inline void
ip_last_endpoint(ip_sock *s, char *out, size_t len)
{
    size_t n = len;
    int rc = s->zmq ? zmq_getsockopt(s->s, ZMQ_LAST_ENDPOINT, out, &n)
                    : sinew_getsockopt(s->s, SINEW_LAST_ENDPOINT, out, &n);
    cr_assert_eq(rc, 0, "LAST_ENDPOINT: errno %d", errno);
}

/* A fresh endpoint for transport "tcp" or "ipc"; for tcp the port is "*" (resolve it
 * with ip_last_endpoint after binding). */
static inline void
ip_endpoint(const char *transport, char *out, size_t len)
{
    if (strcmp(transport, "tcp") == 0)
        snprintf(out, len, "tcp://127.0.0.1:*");
    else
        snprintf(out, len, "ipc://%s/s%d", ip_dir, ip_nipc++);
}

/* A connectable endpoint nobody listens on yet, with a fixed address (so it can be
 * connected to before anyone binds, and bound again after a restart). */
static inline void
ip_free_endpoint(const char *transport, char *out, size_t len)
{
    if (strcmp(transport, "ipc") == 0) {
        ip_endpoint("ipc", out, len);
        return;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    cr_assert_eq(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *) &sa, &sl), 0);
    close(fd);
    snprintf(out, len, "tcp://127.0.0.1:%u", ntohs(sa.sin_port));
}

/* Binds s to a fresh endpoint and returns the connectable address in out. */
static inline void
ip_bind(ip_sock *s, const char *transport, char *out, size_t len)
{
    char ep[256];
    ip_endpoint(transport, ep, sizeof ep);
    int rc = s->zmq ? zmq_bind(s->s, ep) : sinew_bind(s->s, ep);
    cr_assert_eq(rc, 0, "%s bind %s: errno %d", s->zmq ? "zmq" : "sinew", ep, errno);
    ip_last_endpoint(s, out, len);
}

static inline void
ip_bind_at(ip_sock *s, const char *ep)
{
    int rc = s->zmq ? zmq_bind(s->s, ep) : sinew_bind(s->s, ep);
    cr_assert_eq(rc, 0, "%s bind %s: errno %d", s->zmq ? "zmq" : "sinew", ep, errno);
}

static inline void
ip_connect(ip_sock *s, const char *ep)
{
    int rc = s->zmq ? zmq_connect(s->s, ep) : sinew_connect(s->s, ep);
    cr_assert_eq(rc, 0, "%s connect %s: errno %d", s->zmq ? "zmq" : "sinew", ep, errno);
}

static inline int
ip_send_raw(ip_sock *s, const void *buf, size_t len, int flags)
{
    return s->zmq ? zmq_send(s->s, buf, len, flags) : sinew_send(s->s, buf, len, flags);
}

static inline void
ip_send(ip_sock *s, const void *buf, size_t len, int flags)
{
    int n = ip_send_raw(s, buf, len, flags);
    cr_assert_eq(n, (int) len, "%s send %zu bytes: rc %d errno %d", s->zmq ? "zmq" : "sinew",
                 len, n, errno);
}

static inline void
ip_send_str(ip_sock *s, const char *str, int flags)
{
    ip_send(s, str, strlen(str), flags);
}

/* Receives one part into a message; checks size, content and the more flag. */
static inline void
ip_recv_check(ip_sock *s, const void *expect, size_t len, bool more)
{
    if (s->zmq) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        int n = zmq_msg_recv(&m, s->s, 0);
        cr_assert_eq(n, (int) len, "zmq recv expecting %zu bytes: rc %d errno %d", len, n,
                     errno);
        cr_assert(len == 0 || memcmp(zmq_msg_data(&m), expect, len) == 0,
                  "zmq recv: content differs (%zu bytes)", len);
        cr_assert_eq(zmq_msg_more(&m) != 0, more, "zmq recv: more flag");
        zmq_msg_close(&m);
    } else {
        sinew_msg_t m;
        sinew_msg_init(&m);
        int n = sinew_msg_recv(&m, s->s, 0);
        cr_assert_eq(n, (int) len, "sinew recv expecting %zu bytes: rc %d errno %d", len, n,
                     errno);
        cr_assert(len == 0 || memcmp(sinew_msg_data(&m), expect, len) == 0,
                  "sinew recv: content differs (%zu bytes)", len);
        cr_assert_eq(sinew_msg_more(&m) != 0, more, "sinew recv: more flag");
        sinew_msg_close(&m);
    }
}

static inline void
ip_recv_str(ip_sock *s, const char *expect)
{
    ip_recv_check(s, expect, strlen(expect), false);
}

/* Receives up to len bytes; returns rc (-1 with errno on failure/timeout). */
static inline int
ip_recv_raw(ip_sock *s, void *buf, size_t len, int flags)
{
    return s->zmq ? zmq_recv(s->s, buf, len, flags) : sinew_recv(s->s, buf, len, flags);
}

static inline void
ip_send_u32(ip_sock *s, uint32_t v)
{
    ip_send(s, &v, sizeof v, 0);
}

static inline uint32_t
ip_recv_u32(ip_sock *s)
{
    uint32_t v = 0;
    int n = ip_recv_raw(s, &v, sizeof v, 0);
    cr_assert_eq(n, (int) sizeof v, "%s recv u32: rc %d errno %d", s->zmq ? "zmq" : "sinew",
                 n, errno);
    return v;
}

/* ---- monitor ------------------------------------------------------------------------ */

typedef struct ip_event {
    int event;
    uint32_t value;
    char addr[256];
} ip_event;

/* Starts monitoring sinew socket s and returns the PAIR reading the events. */
static inline ip_sock *
ip_monitor(ip_sock *s, int events)
{
    static atomic_int counter;
    char name[64];
    snprintf(name, sizeof name, "inproc://interop-mon-%d", atomic_fetch_add(&counter, 1));
    cr_assert_eq(sinew_socket_monitor(s->s, name, events), 0, "monitor: errno %d", errno);
    ip_sock *m = ip_socket(false, SINEW_PAIR);
    ip_setint(m, SINEW_RCVTIMEO, 100);
    ip_connect(m, name);
    return m;
}

/* Next event within timeout_ms: true and *ev, or false. */
static inline bool
ip_next_event(ip_sock *mon, ip_event *ev, int timeout_ms)
{
    uint64_t deadline = ip_now_ms() + (uint64_t) timeout_ms;
    uint8_t frame[6];
    int n;
    for (;;) {
        n = sinew_recv(mon->s, frame, sizeof frame, 0);
        if (n >= 0)
            break;
        cr_assert_eq(errno, EAGAIN, "monitor recv: errno %d", errno);
        if (ip_now_ms() >= deadline)
            return false;
    }
    cr_assert_eq(n, 6, "monitor frame 1 is %d bytes", n);
    int more = 0;
    cr_assert_eq(sinew_getsockopt_int(mon->s, SINEW_RCVMORE, &more), 0);
    cr_assert(more, "monitor event without address frame");
    uint16_t e;
    memcpy(&e, frame, 2);
    memcpy(&ev->value, frame + 2, 4);
    ev->event = e;
    n = sinew_recv(mon->s, ev->addr, sizeof ev->addr - 1, 0);
    cr_assert_geq(n, 0, "monitor address frame: errno %d", errno);
    ev->addr[n < (int) sizeof ev->addr - 1 ? n : (int) sizeof ev->addr - 1] = 0;
    return true;
}

/* Skips events until one of mask arrives (true, *ev) or timeout_ms passes (false). */
static inline bool
ip_wait_event(ip_sock *mon, int mask, ip_event *ev, int timeout_ms)
{
    uint64_t deadline = ip_now_ms() + (uint64_t) timeout_ms;
    for (;;) {
        uint64_t now = ip_now_ms();
        if (now >= deadline)
            return false;
        if (!ip_next_event(mon, ev, (int) (deadline - now)))
            return false;
        if (ev->event & mask)
            return true;
    }
}

static inline void
ip_expect_event(ip_sock *mon, int event, ip_event *ev, int timeout_ms)
{
    ip_event tmp;
    if (ev == NULL)
        ev = &tmp;
    cr_assert(ip_wait_event(mon, event, ev, timeout_ms), "no monitor event 0x%x within %d ms",
              event, timeout_ms);
}

/* ---- raw ZMTP peers ----------------------------------------------------------------- */

/* Connects a blocking raw socket to a tcp:// or ipc:// endpoint. */
static inline int
ip_raw_connect(const char *ep)
{
    int fd;
    if (strncmp(ep, "tcp://", 6) == 0) {
        const char *colon = strrchr(ep, ':');
        cr_assert_not_null(colon);
        char host[64];
        size_t hl = (size_t) (colon - (ep + 6));
        cr_assert_lt(hl, sizeof host);
        memcpy(host, ep + 6, hl);
        host[hl] = 0;
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t) atoi(colon + 1))};
        cr_assert_eq(inet_pton(AF_INET, host, &sa.sin_addr), 1, "host %s", host);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert_geq(fd, 0);
        cr_assert_eq(connect(fd, (struct sockaddr *) &sa, sizeof sa), 0, "raw connect: %d", errno);
    } else {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        cr_assert_eq(strncmp(ep, "ipc://", 6), 0);
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", ep + 6);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert_geq(fd, 0);
        cr_assert_eq(connect(fd, (struct sockaddr *) &sa, sizeof sa), 0, "raw connect: %d", errno);
    }
    return fd;
}

static inline void
ip_raw_write(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        cr_assert_gt(n, 0, "raw write: errno %d", errno);
        p += n;
        len -= (size_t) n;
    }
}

/* Reads exactly len bytes within timeout_ms; returns bytes read (short on EOF/timeout). */
static inline size_t
ip_raw_read(int fd, void *buf, size_t len, int timeout_ms)
{
    uint64_t deadline = ip_now_ms() + (uint64_t) timeout_ms;
    size_t got = 0;
    while (got < len) {
        uint64_t now = ip_now_ms();
        if (now >= deadline)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int) (deadline - now)) <= 0)
            continue;
        ssize_t n = recv(fd, (uint8_t *) buf + got, len - got, 0);
        if (n <= 0)
            break;
        got += (size_t) n;
    }
    return got;
}

/* True if the peer closed fd (EOF or reset) within timeout_ms; input is discarded. */
static inline bool
ip_raw_closed(int fd, int timeout_ms)
{
    uint64_t deadline = ip_now_ms() + (uint64_t) timeout_ms;
    uint8_t buf[4096];
    for (;;) {
        uint64_t now = ip_now_ms();
        if (now >= deadline)
            return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int) (deadline - now)) <= 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return true;
    }
}

/* Raw peer: full NULL handshake as socket type `type`; reads and checks the peer's
 * greeting and skips its READY. Returns the fd, ready for traffic. */
static inline int
ip_raw_handshake(const char *ep, const char *type)
{
    int fd = ip_raw_connect(ep);
    ip_raw_write(fd, zp_greeting, sizeof zp_greeting);
    uint8_t ready[64];
    size_t rl = zp_ready(ready, type);
    ip_raw_write(fd, ready, rl);
    uint8_t g[64];
    cr_assert_eq(ip_raw_read(fd, g, 64, IP_WAIT_MS), 64, "peer greeting");
    cr_assert_eq(g[0], 0xff);
    cr_assert_eq(g[9], 0x7f);
    cr_assert_eq(g[10], 3);
    uint8_t h[2];
    cr_assert_eq(ip_raw_read(fd, h, 2, IP_WAIT_MS), 2, "peer READY header");
    cr_assert_eq(h[0], 0x04, "peer READY flags 0x%x", h[0]);
    uint8_t body[256];
    cr_assert_eq(ip_raw_read(fd, body, h[1], IP_WAIT_MS), h[1], "peer READY body");
    cr_assert_eq(memcmp(body, "\x05READY", 6), 0);
    return fd;
}

/* Accepts one connection on listening lfd and plays a raw PAIR peer's side of the
 * handshake (greeting, READY) on it; returns the connection's fd. */
static inline int
ip_raw_accept_pair(int lfd)
{
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, 5000), 1, "nothing to accept");
    int fd = accept(lfd, NULL, NULL);
    cr_assert_geq(fd, 0);
    ip_raw_write(fd, zp_greeting, sizeof zp_greeting);
    uint8_t ready[64];
    ip_raw_write(fd, ready, zp_ready(ready, "PAIR"));
    return fd;
}

#endif
