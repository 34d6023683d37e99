/* One test body over every transport (inproc, ipc, tcp), as nng's
 * NUTS_DECLARE_TRAN_TESTS: TN_TRAN_TEST declares one Criterion test per transport, named
 * <name>_inproc, <name>_ipc and <name>_tcp, and an endpoint factory gives each a fresh
 * endpoint. Header-only; the suite uses .init = tn_tran_setup, .fini = tn_tran_teardown.
 *
 * Network transports are asynchronous: a connect returns before the connection is up, a
 * binder sees a connecting peer only after its ZMTP handshake, and bytes arrive later
 * than send returns. Tests wait for those with deadlines (tn_wait_routes, monitor events,
 * RCVTIMEO, poll), never with sleeps. */
#ifndef SINEW_TESTS_SUPPORT_TRANSPORTS_H
#define SINEW_TESTS_SUPPORT_TRANSPORTS_H

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "support/net.h"

#define TN_INPROC 1
#define TN_IPC 2
#define TN_TCP 4

/* Room for any endpoint the factory makes (a tcp:// address, an ipc:// path). */
#define TN_EP_MAX 256

/* TN_TRAN_TEST(suite, name) { ...body using `tran`... } declares suite::name_inproc,
 * suite::name_ipc and suite::name_tcp, each running the body with tran set to "inproc",
 * "ipc" or "tcp". */
#define TN_TRAN_TEST(suite, name) TN_TRAN_TEST_OFF(suite, name, 0)

/* As TN_TRAN_TEST, with the transports in the mask off (TN_INPROC | TN_IPC | TN_TCP)
 * declared .disabled: Criterion lists them as skipped. Each use carries a FIXME comment
 * naming the defect that fails the disabled instances. */
#define TN_TRAN_TEST_OFF(suite, name, off)                                              \
    static void name##_tran(const char *tran);                                         \
    Test(suite, name##_inproc, .disabled = ((off) & TN_INPROC) != 0)                   \
    {                                                                                   \
        name##_tran("inproc");                                                          \
    }                                                                                   \
    Test(suite, name##_ipc, .disabled = ((off) & TN_IPC) != 0)                         \
    {                                                                                   \
        name##_tran("ipc");                                                             \
    }                                                                                   \
    Test(suite, name##_tcp, .disabled = ((off) & TN_TCP) != 0)                         \
    {                                                                                   \
        name##_tran("tcp");                                                             \
    }                                                                                   \
    static void name##_tran(const char *tran)

/* Whether tran connects through the kernel (ipc, tcp): asynchronous connects, and
 * socket buffers between the two pipes. */
static inline bool
tn_tran_is_net(const char *tran)
{
    return strcmp(tran, "inproc") != 0;
}

/* This test's directory for ipc socket files: made on first use, emptied and removed by
 * tn_tran_teardown. Each Criterion test runs in its own process, so it is per test. */
static char tn_ipc_dir[64];
static int tn_ipc_seq;

static inline void
tn_tran_setup(void)
{
    tn_ipc_dir[0] = 0;
    tn_ipc_seq = 0;
    tn_setup();
}

static inline void
tn_tran_teardown(void)
{
    /* The files go first, so that a failing context termination still leaves no
     * directory behind; the listeners already hold their sockets. */
    if (tn_ipc_dir[0] != 0) {
        DIR *d = opendir(tn_ipc_dir);
        if (d != NULL) {
            struct dirent *de;
            char path[sizeof tn_ipc_dir + 300];
            while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                    continue;
                snprintf(path, sizeof path, "%s/%s", tn_ipc_dir, de->d_name);
                unlink(path);
            }
            closedir(d);
        }
        rmdir(tn_ipc_dir);
        tn_ipc_dir[0] = 0;
    }
    tn_teardown();
}

/* A free loopback port: the kernel picks it for a socket that is closed at once. Another
 * process may take it before the test binds it; the ephemeral range makes that rare. */
static inline int
tn_free_tcp_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0, "socket: errno %d", errno);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    cr_assert_eq(bind(fd, (struct sockaddr *) &a, sizeof a), 0, "bind: errno %d", errno);
    cr_assert_eq(getsockname(fd, (struct sockaddr *) &a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* A fresh endpoint of tran that nothing is bound to, written to ep (TN_EP_MAX bytes) and
 * returned: for tests that connect before they bind, or bind a known name twice. */
static inline const char *
tn_tran_endpoint(const char *tran, char *ep)
{
    if (strcmp(tran, "inproc") == 0)
        return tn_endpoint(ep, TN_EP_MAX, "tran");
    if (strcmp(tran, "ipc") == 0) {
        if (tn_ipc_dir[0] == 0) {
            snprintf(tn_ipc_dir, sizeof tn_ipc_dir, "/tmp/sinew-spec-XXXXXX");
            cr_assert_not_null(mkdtemp(tn_ipc_dir), "mkdtemp: errno %d", errno);
        }
        snprintf(ep, TN_EP_MAX, "ipc://%s/%d", tn_ipc_dir, tn_ipc_seq++);
        return ep;
    }
    cr_assert_str_eq(tran, "tcp", "unknown transport");
    snprintf(ep, TN_EP_MAX, "tcp://127.0.0.1:%d", tn_free_tcp_port());
    return ep;
}

/* Binds s to a fresh endpoint of tran and writes to ep (TN_EP_MAX bytes), and returns,
 * the endpoint a peer connects to: a unique inproc name, a socket file in this test's
 * directory, or the port the kernel chose for tcp://127.0.0.1:* (SINEW_LAST_ENDPOINT). */
static inline const char *
tn_bind_any(void *s, const char *tran, char *ep)
{
    if (strcmp(tran, "tcp") != 0) {
        tn_bind(s, tn_tran_endpoint(tran, ep));
        return ep;
    }
    tn_bind(s, "tcp://127.0.0.1:*");
    size_t len = TN_EP_MAX;
    cr_assert_eq(sinew_getsockopt(s, SINEW_LAST_ENDPOINT, ep, &len), 0,
                 "LAST_ENDPOINT: errno %d", errno);
    cr_assert_eq(strncmp(ep, "tcp://127.0.0.1:", 16), 0, "LAST_ENDPOINT %s", ep);
    cr_assert_null(strchr(ep, '*'), "LAST_ENDPOINT %s not resolved", ep);
    return ep;
}

/* A plain stream socket connected to a tcp:// or ipc:// endpoint (no ZMTP: it says
 * nothing). connect(2) returns once the kernel queued the connection for the listener's
 * accept, so the sinew socket has not necessarily seen it yet. */
static inline int
tn_raw_connect(const char *ep)
{
    int fd;
    if (strncmp(ep, "tcp://", 6) == 0) {
        const char *port = strrchr(ep, ':');
        cr_assert_not_null(port, "%s", ep);
        struct sockaddr_in a = {.sin_family = AF_INET};
        a.sin_port = htons((uint16_t) atoi(port + 1));
        cr_assert_eq(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        cr_assert_geq(fd, 0, "socket: errno %d", errno);
        cr_assert_eq(connect(fd, (struct sockaddr *) &a, sizeof a), 0,
                     "connect %s: errno %d", ep, errno);
        return fd;
    }
    cr_assert_eq(strncmp(ep, "ipc://", 6), 0, "no raw connection to %s", ep);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    cr_assert_lt(strlen(ep + 6), sizeof a.sun_path, "%s", ep);
    strcpy(a.sun_path, ep + 6);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0, "socket: errno %d", errno);
    cr_assert_eq(connect(fd, (struct sockaddr *) &a, sizeof a), 0, "connect %s: errno %d",
                 ep, errno);
    return fd;
}

/* Milliseconds left until deadline (a tn_now_ms value), 0 once it passed. */
static inline int
tn_left_ms(uint64_t deadline)
{
    uint64_t now = tn_now_ms();
    return now >= deadline ? 0 : (int) (deadline - now);
}

/* Waits, 5 s at most, until the load-balancing sender (a bound PUSH) routes to each of
 * the n peers: sends a probe, receives it at whichever peer it reached, and repeats until
 * every peer had one. Over inproc the links exist once connect returns; over ipc and tcp
 * the binder attaches a peer only after its handshake. No probe is left in flight. */
static inline void
tn_wait_routes(void *sender, void **peers, int n)
{
    enum { MAX_PEERS = 8 };
    cr_assert_leq(n, MAX_PEERS);
    bool seen[MAX_PEERS] = {false};
    int nseen = 0;
    uint64_t deadline = tn_now_ms() + 5000;
    while (nseen < n) {
        sinew_pollitem_t out = {.socket = sender, .events = SINEW_POLLOUT};
        cr_assert_eq(sinew_poll(&out, 1, tn_left_ms(deadline)), 1,
                     "sender reaches %d of %d peers after 5 s", nseen, n);
        cr_assert_eq(sinew_send(sender, "probe", 5, SINEW_DONTWAIT), 5, "probe: errno %d",
                     errno);
        sinew_pollitem_t in[MAX_PEERS];
        for (int i = 0; i < n; i++)
            in[i] = (sinew_pollitem_t){.socket = peers[i], .events = SINEW_POLLIN};
        int ready = sinew_poll(in, n, tn_left_ms(deadline));
        cr_assert_eq(ready, 1, "probe reached %d peers", ready);
        for (int i = 0; i < n; i++) {
            if (!(in[i].revents & SINEW_POLLIN))
                continue;
            char buf[8];
            cr_assert_eq(sinew_recv(peers[i], buf, sizeof buf, SINEW_DONTWAIT), 5);
            cr_assert_eq(memcmp(buf, "probe", 5), 0, "peer %d: not the probe", i);
            if (!seen[i]) {
                seen[i] = true;
                nseen++;
            }
        }
    }
}

/* ---- monitor events -------------------------------------------------------------- */

/* Starts monitoring s for the events in mask and returns the PAIR that reads them
 * (tracked: closed by the teardown). */
static inline void *
tn_monitor(void *s, int mask)
{
    static atomic_int counter;
    char name[64];
    snprintf(name, sizeof name, "inproc://tn-monitor-%d", atomic_fetch_add(&counter, 1));
    cr_assert_eq(sinew_socket_monitor(s, name, mask), 0, "monitor: errno %d", errno);
    void *mon = tn_sock(SINEW_PAIR);
    tn_connect(mon, name);
    return mon;
}

/* Skips events until one in mask arrives (returns it) or timeout_ms pass (returns 0). */
static inline int
tn_wait_event(void *mon, int mask, int timeout_ms)
{
    uint64_t deadline = tn_now_ms() + (uint64_t) timeout_ms;
    for (;;) {
        sinew_pollitem_t it = {.socket = mon, .events = SINEW_POLLIN};
        int rc = sinew_poll(&it, 1, tn_left_ms(deadline));
        cr_assert_geq(rc, 0, "poll on the monitor: errno %d", errno);
        if (rc == 0)
            return 0;
        uint8_t frame[6];
        char addr[TN_EP_MAX];
        cr_assert_eq(sinew_recv(mon, frame, sizeof frame, SINEW_DONTWAIT), 6,
                     "monitor frame 1: errno %d", errno);
        cr_assert(tn_rcvmore(mon), "monitor event without its address frame");
        cr_assert_geq(sinew_recv(mon, addr, sizeof addr, SINEW_DONTWAIT), 0);
        uint16_t event;
        memcpy(&event, frame, sizeof event);
        if (event & mask)
            return event;
    }
}

/* Connects s to ep, whose binder has a socket type s may not talk to, and checks the
 * refusal. Inproc refuses in connect itself (ENOCOMPATPROTO, as libzmq). Over ipc and tcp
 * the peer's type is known only from its ZMTP greeting (RFC 37: a peer with an invalid
 * socket type is an error), so connect succeeds and the handshake fails. */
static inline void
tn_expect_incompatible(void *s, const char *ep, const char *tran)
{
    if (!tn_tran_is_net(tran)) {
        errno = 0;
        cr_assert_eq(sinew_connect(s, ep), -1, "connect to %s succeeded", ep);
        cr_assert_eq(errno, ENOCOMPATPROTO);
        return;
    }
    void *mon = tn_monitor(s, SINEW_EVENT_HANDSHAKE_SUCCEEDED |
                                  SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL);
    tn_connect(s, ep);
    int ev = tn_wait_event(mon, SINEW_EVENT_HANDSHAKE_SUCCEEDED |
                                    SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL, 5000);
    cr_assert_eq(ev, SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                 "handshake with an incompatible peer: event 0x%x", ev);
}

/* Checks that nothing arrives on s within ms: a bounded look for a message that must not
 * come, not a wait for something to happen. */
static inline void
tn_expect_nothing(void *s, int ms, const char *what)
{
    sinew_pollitem_t it = {.socket = s, .events = SINEW_POLLIN};
    int rc = sinew_poll(&it, 1, ms);
    cr_assert_eq(rc, 0, "%s", what);
}

#endif
