/* Lifecycle: linger, context termination, closed handles, endpoints, socket limits. The
 * tests that involve a transport run over inproc, ipc and tcp (support/transports.h). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <unistd.h>

#include "support/deadline.h"
#include "support/net.h"
#include "support/transports.h"

TestSuite(spec_lifecycle, .init = tn_tran_setup, .fini = tn_tran_teardown, .timeout = 30);

typedef struct term_arg {
    void *ctx;
    atomic_int done;
    int rc;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} term_arg;

static void *
term_thread(void *p)
{
    term_arg *a = p;
    a->rc = sinew_ctx_term(a->ctx);
    pthread_mutex_lock(&a->lock);
    atomic_store(&a->done, 1);
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

/* Waits up to ms for the term thread; true if it finished. */
static bool
wait_done(term_arg *a, int ms)
{
    struct timespec ts = tn_deadline_in_ms(ms);
    pthread_mutex_lock(&a->lock);
    while (!atomic_load(&a->done))
        if (pthread_cond_timedwait(&a->cond, &a->lock, &ts) != 0)
            break;
    bool d = atomic_load(&a->done);
    pthread_mutex_unlock(&a->lock);
    return d;
}

TN_TRAN_TEST(spec_lifecycle, ctx_term_waits_for_open_sockets_then_returns)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_connect(push, tn_bind_any(pull, tran, ep));
    /* With the connection up. */
    tn_send_str(push, "up", 0);
    tn_recv_str(pull, "up");
    term_arg a = {.ctx = tn_ctx, .lock = PTHREAD_MUTEX_INITIALIZER,
                  .cond = PTHREAD_COND_INITIALIZER};
    atomic_init(&a.done, 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, term_thread, &a), 0);
    cr_assert_not(wait_done(&a, 100), "ctx_term returned while sockets were open");
    /* Sockets of a terminating context fail with ETERM, and can still be closed. */
    errno = 0;
    cr_assert_eq(sinew_send(push, "x", 1, 0), -1);
    cr_assert_eq(errno, ETERM);
    errno = 0;
    char buf[4];
    cr_assert_eq(sinew_recv(pull, buf, sizeof buf, 0), -1);
    cr_assert_eq(errno, ETERM);
    tn_close(push);
    cr_assert_not(wait_done(&a, 20), "ctx_term returned with one socket still open");
    tn_close(pull);
    cr_assert(wait_done(&a, 10000), "ctx_term did not return after every socket closed");
    pthread_join(t, NULL);
    cr_assert_eq(a.rc, 0);
    tn_ctx = NULL; /* terminated */
}

typedef struct blocked_arg {
    void *sock;
    int rc, err;
} blocked_arg;

static void *
blocked_recv(void *p)
{
    blocked_arg *b = p;
    char buf[8];
    b->rc = sinew_recv(b->sock, buf, sizeof buf, 0); /* RCVTIMEO -1: blocks */
    b->err = errno;
    sinew_close(b->sock);
    return NULL;
}

TN_TRAN_TEST(spec_lifecycle, blocked_recv_gets_eterm_on_ctx_term)
{
    char ep[TN_EP_MAX];
    void *pull = tn_sock(SINEW_PULL);
    tn_bind_any(pull, tran, ep);
    blocked_arg b = {pull, 0, 0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, blocked_recv, &b), 0);
    /* Returns once the thread closed its socket. */
    cr_assert_eq(sinew_ctx_term(tn_ctx), 0);
    tn_ctx = NULL;
    pthread_join(t, NULL);
    cr_assert_eq(b.rc, -1);
    cr_assert_eq(b.err, ETERM);
}

Test(spec_lifecycle, blocked_recv_gets_eterm_on_ctx_shutdown)
{
    void *pull = tn_sock(SINEW_PULL);
    blocked_arg b = {pull, 0, 0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, blocked_recv, &b), 0);
    cr_assert_eq(sinew_ctx_shutdown(tn_ctx), 0);
    pthread_join(t, NULL);
    cr_assert_eq(b.rc, -1);
    cr_assert_eq(b.err, ETERM);
    /* A shut-down context refuses new sockets but can still be terminated. */
    errno = 0;
    cr_assert_null(sinew_socket(tn_ctx, SINEW_PUSH));
    cr_assert_eq(errno, ETERM);
}

TN_TRAN_TEST(spec_lifecycle, blocked_send_gets_eterm_on_ctx_shutdown)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH); /* no peer: send blocks */
    cr_assert_eq(sinew_ctx_shutdown(tn_ctx), 0);
    errno = 0;
    cr_assert_eq(sinew_send(push, "x", 1, 0), -1);
    cr_assert_eq(errno, ETERM);
    errno = 0;
    cr_assert_eq(sinew_connect(push, tn_tran_endpoint(tran, ep)), -1);
    cr_assert_eq(errno, ETERM);
    errno = 0;
    cr_assert_eq(sinew_bind(push, tn_tran_endpoint(tran, ep)), -1);
    cr_assert_eq(errno, ETERM);
}

Test(spec_lifecycle, closed_socket_handle_enotsock)
{
    void *s = tn_sock(SINEW_PUSH);
    tn_close(s);
    char buf[4];
    int v = 1;
    errno = 0;
    cr_assert_eq(sinew_send(s, "x", 1, 0), -1);
    cr_assert_eq(errno, ENOTSOCK);
    errno = 0;
    cr_assert_eq(sinew_recv(s, buf, sizeof buf, 0), -1);
    cr_assert_eq(errno, ENOTSOCK);
    errno = 0;
    cr_assert_eq(sinew_setsockopt(s, SINEW_LINGER, &v, sizeof v), -1);
    cr_assert_eq(errno, ENOTSOCK);
    errno = 0;
    cr_assert_eq(sinew_bind(s, "inproc://closed"), -1);
    cr_assert_eq(errno, ENOTSOCK);
    errno = 0;
    cr_assert_eq(sinew_close(s), -1);
    cr_assert_eq(errno, ENOTSOCK);
    /* A new socket reusing the slot does not revive the old handle. */
    void *s2 = tn_sock(SINEW_PULL);
    errno = 0;
    cr_assert_eq(sinew_close(s), -1);
    cr_assert_eq(errno, ENOTSOCK);
    cr_assert_eq(tn_get(s2, SINEW_TYPE), SINEW_PULL);
}

Test(spec_lifecycle, terminated_ctx_handle_efault)
{
    void *c = sinew_ctx_new();
    cr_assert_not_null(c);
    cr_assert_eq(sinew_ctx_term(c), 0);
    errno = 0;
    cr_assert_eq(sinew_ctx_term(c), -1);
    cr_assert_eq(errno, EFAULT);
    errno = 0;
    cr_assert_eq(sinew_ctx_shutdown(c), -1);
    cr_assert_eq(errno, EFAULT);
    errno = 0;
    cr_assert_eq(sinew_ctx_get(c, SINEW_IO_THREADS), -1);
    cr_assert_eq(errno, EFAULT);
    errno = 0;
    cr_assert_eq(sinew_ctx_set(c, SINEW_IO_THREADS, 1), -1);
    cr_assert_eq(errno, EFAULT);
    errno = 0;
    cr_assert_null(sinew_socket(c, SINEW_PUSH));
    cr_assert_eq(errno, EFAULT);
    /* A new context reusing the slot does not revive the old handle. */
    void *c2 = sinew_ctx_new();
    cr_assert_not_null(c2);
    errno = 0;
    cr_assert_eq(sinew_ctx_get(c, SINEW_IO_THREADS), -1);
    cr_assert_eq(errno, EFAULT);
    cr_assert_eq(sinew_ctx_term(c2), 0);
}

/* Linger -1 (default): "messages sent before close are delivered". */
TN_TRAN_TEST(spec_lifecycle, push_close_with_infinite_linger_delivers_everything)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_connect(push, tn_bind_any(pull, tran, ep));
    cr_assert_eq(tn_get(push, SINEW_LINGER), -1);
    for (uint32_t i = 0; i < 1000; i++)
        tn_send_u32(push, i, 0);
    tn_close(push);
    for (uint32_t i = 0; i < 1000; i++)
        cr_assert_eq(tn_recv_u32(pull), i, "message %u lost on close", i);
    uint32_t v;
    tn_set(pull, SINEW_RCVTIMEO, 0);
    errno = 0;
    cr_assert_eq(sinew_recv(pull, &v, sizeof v, 0), -1);
    cr_assert_eq(errno, EAGAIN);
}

TN_TRAN_TEST(spec_lifecycle, bound_push_close_delivers_to_connected_pull)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_set(push, SINEW_SNDTIMEO, 5000); /* until the PULL's connection is attached */
    tn_connect(pull, tn_bind_any(push, tran, ep));
    tn_send_str(push, "a", 0);
    tn_send_str(push, "b", 0);
    tn_close(push);
    tn_recv_str(pull, "a");
    tn_recv_str(pull, "b");
}

/* sinew_unbind(3): over tcp the name is the resolved address (SINEW_LAST_ENDPOINT), and
 * over ipc and tcp the listening socket is closed on its I/O thread, which a monitor sees
 * as SINEW_EVENT_CLOSED: the name is free once that came. Over inproc it is free when
 * unbind returns. */
TN_TRAN_TEST(spec_lifecycle, unbind_frees_the_name)
{
    char ep[TN_EP_MAX];
    void *a = tn_sock(SINEW_PULL), *b = tn_sock(SINEW_PULL);
    void *mon = tn_monitor(a, SINEW_EVENT_CLOSED);
    tn_bind_any(a, tran, ep);
    errno = 0;
    cr_assert_eq(sinew_bind(b, ep), -1);
    cr_assert_eq(errno, EADDRINUSE);
    cr_assert_eq(sinew_unbind(a, ep), 0);
    errno = 0;
    cr_assert_eq(sinew_unbind(a, ep), -1, "second unbind succeeded");
    cr_assert_eq(errno, ENOENT);
    if (tn_tran_is_net(tran))
        cr_assert_eq(tn_wait_event(mon, SINEW_EVENT_CLOSED, 5000), SINEW_EVENT_CLOSED,
                     "listener not closed 5 s after unbind");
    tn_bind(b, ep);
    /* New connections go to the new binder. */
    void *push = tn_sock(SINEW_PUSH);
    tn_set(b, SINEW_RCVTIMEO, 5000);
    tn_connect(push, ep);
    tn_send_str(push, "to-b", 0);
    tn_recv_str(b, "to-b");
    char buf[8];
    errno = 0;
    cr_assert_eq(sinew_recv(a, buf, sizeof buf, SINEW_DONTWAIT), -1);
    cr_assert_eq(errno, EAGAIN);
}

/* Disconnects a live connection: over ipc and tcp both are up (each PULL got a message)
 * before the disconnect. */
TN_TRAN_TEST(spec_lifecycle, disconnect_stops_routing_to_that_peer)
{
    char ep[TN_EP_MAX], ep2[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH);
    void *p1 = tn_sock(SINEW_PULL), *p2 = tn_sock(SINEW_PULL);
    tn_set(p1, SINEW_RCVTIMEO, 5000);
    tn_set(p2, SINEW_RCVTIMEO, 5000);
    tn_connect(push, tn_bind_any(p1, tran, ep));
    tn_connect(push, tn_bind_any(p2, tran, ep2));
    void *pulls[2] = {p1, p2};
    tn_wait_routes(push, pulls, 2);
    cr_assert_eq(sinew_disconnect(push, ep), 0);
    errno = 0;
    cr_assert_eq(sinew_disconnect(push, ep), -1);
    cr_assert_eq(errno, ENOENT);
    for (uint32_t i = 0; i < 6; i++)
        tn_send_u32(push, i, 0);
    for (uint32_t i = 0; i < 6; i++)
        cr_assert_eq(tn_recv_u32(p2), i);
    uint32_t v;
    errno = 0;
    cr_assert_eq(sinew_recv(p1, &v, sizeof v, SINEW_DONTWAIT), -1,
                 "disconnected peer still receives");
    cr_assert_eq(errno, EAGAIN);
}

TN_TRAN_TEST(spec_lifecycle, five_hundred_push_pull_pairs)
{
    enum { N = 500 };
    static void *push[N], *pull[N];
    for (int i = 0; i < N; i++) {
        char e[TN_EP_MAX];
        push[i] = tn_sock(SINEW_PUSH);
        pull[i] = tn_sock(SINEW_PULL);
        tn_set(pull[i], SINEW_RCVTIMEO, 5000);
        tn_connect(push[i], tn_bind_any(pull[i], tran, e));
    }
    for (uint32_t i = 0; i < N; i++)
        tn_send_u32(push[i], i, 0);
    for (uint32_t i = 0; i < N; i++)
        cr_assert_eq(tn_recv_u32(pull[i]), i);
    for (int i = 0; i < N; i++) {
        tn_close(push[i]);
        tn_close(pull[i]);
    }
}

Test(spec_lifecycle, max_sockets_limit_emfile)
{
    void *c = sinew_ctx_new();
    cr_assert_not_null(c);
    cr_assert_eq(sinew_ctx_set(c, SINEW_MAX_SOCKETS, 5), 0);
    void *s[5];
    for (int i = 0; i < 5; i++) {
        s[i] = sinew_socket(c, SINEW_PAIR);
        cr_assert_not_null(s[i], "socket %d refused: errno %d", i, errno);
    }
    errno = 0;
    cr_assert_null(sinew_socket(c, SINEW_PAIR));
    cr_assert_eq(errno, EMFILE);
    cr_assert_eq(sinew_close(s[0]), 0);
    s[0] = sinew_socket(c, SINEW_PAIR);
    cr_assert_not_null(s[0], "slot not freed by close");
    for (int i = 0; i < 5; i++)
        cr_assert_eq(sinew_close(s[i]), 0);
    cr_assert_eq(sinew_ctx_term(c), 0);
}

Test(spec_lifecycle, default_max_sockets_is_enforced)
{
    /* 1023 sockets fit in a default context, the 1024th fails with EMFILE. */
    int n = 0;
    for (; n < 1100; n++) {
        void *s = sinew_socket(tn_ctx, SINEW_PULL);
        if (s == NULL)
            break;
        cr_assert_lt(tn_nsocks, TN_MAX_SOCKS);
        tn_socks[tn_nsocks++] = s;
    }
    cr_assert_eq(errno, EMFILE);
    cr_assert_eq(n, 1023);
}

/* sinew_close(3): with SINEW_LINGER 0 the peer does not receive unread messages. Inproc
 * only: over ipc and tcp the message may be on the wire before close runs; see
 * linger_zero_close_before_bind_discards_queued for them. */
Test(spec_lifecycle, linger_zero_discards_unread_messages)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(push, SINEW_LINGER, 0);
    tn_connect(push, tn_bind_any(pull, "inproc", ep));
    tn_send_str(push, "x", 0);
    tn_close(push);
    char b[4];
    errno = 0;
    cr_assert_eq(sinew_recv(pull, b, sizeof b, SINEW_DONTWAIT), -1,
                 "message delivered after a linger-0 close");
    cr_assert_eq(errno, EAGAIN);
}

/* sinew_close(3): with SINEW_LINGER 0 messages not yet sent are discarded. The PUSH
 * connects before anything is bound, so nothing can have left when it closes; the PULL
 * then binds and must get nothing, over 300 ms (three of the connecter's default 100 ms
 * reconnect intervals, had its session survived the close). */
TN_TRAN_TEST(spec_lifecycle, linger_zero_close_before_bind_discards_queued)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(push, SINEW_LINGER, 0);
    tn_connect(push, tn_tran_endpoint(tran, ep));
    tn_send_str(push, "x", 0);
    tn_close(push);
    tn_bind(pull, ep);
    tn_expect_nothing(pull, 300, "message delivered after a linger-0 close");
}

/* sinew_close(3): with a linger the messages queued before close are still delivered,
 * here to a peer that binds only after the close. The linger is finite (5 s), so that a
 * defect fails the test instead of hanging ctx_term. */
TN_TRAN_TEST(spec_lifecycle, linger_close_before_bind_delivers_after_bind)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(push, SINEW_LINGER, 5000);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_connect(push, tn_tran_endpoint(tran, ep));
    tn_send_str(push, "a", 0);
    tn_send_str(push, "b", 0);
    tn_close(push);
    tn_bind(pull, ep);
    tn_recv_str(pull, "a");
    tn_recv_str(pull, "b");
}

/* Closing a bound socket while peers are still connecting to it: over ipc and tcp the
 * connections wait in the listener's accept queue (plain connect(2): the kernel queues
 * them before the sinew listener accepts), over inproc PUSH sockets are attached. Close
 * and ctx_term must neither crash nor hang. Rounds widen the window of the race between
 * the close and the I/O thread's accepts. */
TN_TRAN_TEST(spec_lifecycle, close_with_connections_waiting_to_be_accepted)
{
    enum { ROUNDS = 40, CONNS = 50 };
    for (int round = 0; round < ROUNDS; round++) {
        char ep[TN_EP_MAX];
        void *ctx = sinew_ctx_new();
        cr_assert_not_null(ctx);
        void *pull = tn_socket(ctx, SINEW_PULL);
        tn_bind_any(pull, tran, ep);
        int fds[CONNS];
        void *push[CONNS];
        for (int i = 0; i < CONNS; i++) {
            fds[i] = -1;
            push[i] = NULL;
            if (tn_tran_is_net(tran)) {
                fds[i] = tn_raw_connect(ep);
            } else {
                push[i] = tn_socket(ctx, SINEW_PUSH);
                tn_connect(push[i], ep);
            }
        }
        tn_set(pull, SINEW_LINGER, 0);
        tn_close(pull);
        for (int i = 0; i < CONNS; i++) {
            if (push[i] != NULL) {
                tn_set(push[i], SINEW_LINGER, 0);
                tn_close(push[i]);
            }
        }
        cr_assert_eq(sinew_ctx_term(ctx), 0);
        for (int i = 0; i < CONNS; i++)
            if (fds[i] >= 0)
                close(fds[i]);
    }
}

static void *
blocked_recv_no_close(void *p)
{
    blocked_arg *b = p;
    char buf[8];
    b->rc = sinew_recv(b->sock, buf, sizeof buf, 0);
    b->err = errno;
    return NULL;
}

/* sinew_close(3): "Threads that were blocked in a call on the socket wake up and fail
 * with ENOTSOCK." */
Test(spec_lifecycle, close_wakes_blocked_recv_with_enotsock)
{
    void *pull = tn_sock(SINEW_PULL);
    blocked_arg b = {pull, 0, 0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, blocked_recv_no_close, &b), 0);
    /* Whether the thread is already blocked or not, its recv must fail with ENOTSOCK
     * (never hang, never succeed). */
    tn_close(pull);
    pthread_join(t, NULL);
    cr_assert_eq(b.rc, -1);
    cr_assert_eq(b.err, ENOTSOCK);
}

static void *
blocked_send(void *p)
{
    blocked_arg *a = p;
    a->rc = sinew_send(a->sock, "x", 1, 0); /* no peer, SNDTIMEO -1: blocks */
    a->err = errno;
    sinew_close(a->sock);
    return NULL;
}

Test(spec_lifecycle, blocked_send_gets_eterm_on_ctx_term)
{
    void *push = tn_sock(SINEW_PUSH);
    blocked_arg a = {push, 0, 0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, blocked_send, &a), 0);
    cr_assert_eq(sinew_ctx_term(tn_ctx), 0);
    tn_ctx = NULL;
    pthread_join(t, NULL);
    cr_assert_eq(a.rc, -1);
    cr_assert_eq(a.err, ETERM);
}
