/* sinew_poll, SINEW_FD/SINEW_EVENTS and SINEW_READY_FD. The tests with a peer run over
 * inproc, ipc and tcp (support/transports.h), except the one about a full queue (inproc
 * only: the queue is then one pipe of SNDHWM + RCVHWM messages). A message sent over ipc
 * or tcp arrives later than send returns, so the tests wait for readiness with a
 * deadline; a wait that inproc satisfies at once is no weaker for it. */
#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "support/net.h"
#include "support/transports.h"

TestSuite(spec_poll, .init = tn_tran_setup, .fini = tn_tran_teardown, .timeout = 20);

/* A PUSH bound on tran and a PULL connected to it. The PULL connects so that it has its
 * pipe from the start: over ipc and tcp a bound PULL would be told later, at a moment the
 * test cannot see, that the connection came up, which signals SINEW_FD and sets
 * SINEW_READY_FD spuriously (as sinew_getsockopt(3) allows) between the steps of a test.
 * The PUSH's sends wait (SNDTIMEO) until the connection is attached. */
static void
push_pull(void **push, void **pull, const char *tran)
{
    char ep[TN_EP_MAX];
    *push = tn_sock(SINEW_PUSH);
    *pull = tn_sock(SINEW_PULL);
    tn_set(*pull, SINEW_RCVTIMEO, 5000);
    tn_set(*push, SINEW_SNDTIMEO, 5000);
    tn_connect(*pull, tn_bind_any(*push, tran, ep));
}

static bool
fd_readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, timeout_ms);
    cr_assert_geq(n, 0);
    return n == 1 && (p.revents & POLLIN);
}

typedef struct sender_arg {
    void *push;
    int fd; /* when >= 0: wait until this pipe is readable, then send */
} sender_arg;

static void *
send_later(void *p)
{
    sender_arg *a = p;
    if (a->fd >= 0) {
        struct pollfd pf = {.fd = a->fd, .events = POLLIN};
        if (poll(&pf, 1, 5000) != 1)
            return (void *) 1;
    }
    return sinew_send(a->push, "ping", 4, 0) == 4 ? NULL : (void *) 1;
}

TN_TRAN_TEST(spec_poll, pollin_when_message_already_queued)
{
    void *push, *pull;
    push_pull(&push, &pull, tran);
    tn_send_str(push, "m", 0);
    sinew_pollitem_t it = {.socket = pull, .events = SINEW_POLLIN};
    cr_assert_eq(sinew_poll(&it, 1, 5000), 1);
    cr_assert_eq(it.revents, SINEW_POLLIN);
    tn_recv_str(pull, "m");
    cr_assert_eq(tn_get(pull, SINEW_EVENTS) & SINEW_POLLIN, 0, "POLLIN after draining");
}

TN_TRAN_TEST(spec_poll, pollin_wakes_for_message_from_another_thread)
{
    void *push, *pull;
    push_pull(&push, &pull, tran);
    int go[2];
    cr_assert_eq(pipe(go), 0);
    sender_arg a = {push, go[0]};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, send_later, &a), 0);
    /* The sender starts right before the wait: the message arrives before or during
     * it. */
    sinew_pollitem_t it = {.socket = pull, .events = SINEW_POLLIN};
    cr_assert_eq(tn_get(pull, SINEW_EVENTS), 0);
    cr_assert_eq(write(go[1], "g", 1), 1);
    cr_assert_eq(sinew_poll(&it, 1, 5000), 1, "poll did not wake for the message");
    cr_assert_eq(it.revents & SINEW_POLLIN, SINEW_POLLIN);
    void *ret;
    pthread_join(t, &ret);
    cr_assert_null(ret);
    tn_recv_str(pull, "ping");
    close(go[0]);
    close(go[1]);
}

Test(spec_poll, pollout_below_hwm_not_when_full)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(push, SINEW_SNDHWM, 2);
    tn_set(pull, SINEW_RCVHWM, 2);
    tn_connect(push, tn_bind_any(pull, "inproc", ep));
    sinew_pollitem_t it = {.socket = push, .events = SINEW_POLLOUT | SINEW_POLLIN};
    cr_assert_eq(sinew_poll(&it, 1, 0), 1);
    cr_assert_eq(it.revents, SINEW_POLLOUT, "PUSH: POLLOUT only, got %d", it.revents);
    int n = 0;
    while (n < 100 && sinew_send(push, &n, sizeof n, SINEW_DONTWAIT) == sizeof n)
        n++;
    cr_assert_eq(errno, EAGAIN);
    cr_assert_eq(tn_get(push, SINEW_EVENTS), 0, "POLLOUT while full");
    /* Draining brings POLLOUT back; the wait is woken by the reader. */
    for (int i = 0; i < n; i++) {
        int v;
        cr_assert_eq(sinew_recv(pull, &v, sizeof v, SINEW_DONTWAIT), (int) sizeof v);
    }
    int v;
    cr_assert_eq(sinew_recv(pull, &v, sizeof v, SINEW_DONTWAIT), -1);
    cr_assert_eq(sinew_poll(&it, 1, 5000), 1, "no POLLOUT after draining");
    cr_assert_eq(it.revents, SINEW_POLLOUT);
}

TN_TRAN_TEST(spec_poll, mixed_sockets_and_plain_fd)
{
    void *push, *pull;
    push_pull(&push, &pull, tran);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    sinew_pollitem_t items[3] = {
        {.socket = pull, .events = SINEW_POLLIN},
        {.socket = NULL, .fd = p[0], .events = SINEW_POLLIN},
        {.socket = NULL, .fd = p[1], .events = SINEW_POLLOUT},
    };
    cr_assert_eq(sinew_poll(items, 3, 0), 1, "only the writable pipe end is ready");
    cr_assert_eq(items[0].revents, 0);
    cr_assert_eq(items[1].revents, 0);
    cr_assert_eq(items[2].revents, SINEW_POLLOUT);
    cr_assert_eq(write(p[1], "x", 1), 1);
    cr_assert_eq(sinew_poll(items, 3, 5000), 2);
    cr_assert_eq(items[0].revents, 0);
    cr_assert_eq(items[1].revents, SINEW_POLLIN);
    tn_send_str(push, "m", 0);
    /* The ready pipe ends make a poll of all three return at once: wait for the message
     * on its own first. */
    cr_assert_eq(sinew_poll(items, 1, 5000), 1, "message not readable after 5 s");
    cr_assert_eq(sinew_poll(items, 3, 0), 3);
    cr_assert_eq(items[0].revents, SINEW_POLLIN);
    close(p[0]);
    close(p[1]);
}

Test(spec_poll, zero_items_sleeps_for_timeout)
{
    uint64_t t0 = tn_now_ms();
    cr_assert_eq(sinew_poll(NULL, 0, 50), 0);
    cr_assert_geq(tn_now_ms() - t0, 45);
    errno = 0;
    cr_assert_eq(sinew_poll(NULL, 0, -1), -1, "infinite wait on nothing accepted");
    cr_assert_eq(errno, EFAULT);
    errno = 0;
    cr_assert_eq(sinew_poll(NULL, 1, 0), -1);
    cr_assert_eq(errno, EFAULT);
}

Test(spec_poll, closed_socket_item_enotsock)
{
    void *s = tn_sock(SINEW_PULL);
    tn_close(s);
    sinew_pollitem_t it = {.socket = s, .events = SINEW_POLLIN};
    errno = 0;
    cr_assert_eq(sinew_poll(&it, 1, 0), -1);
    cr_assert_eq(errno, ENOTSOCK);
}

TN_TRAN_TEST(spec_poll, fd_and_events_edge_semantics)
{
    void *push, *pull;
    push_pull(&push, &pull, tran);
    int fd = tn_get(pull, SINEW_FD);
    cr_assert(fd_readable(fd, 0), "first look at SINEW_FD must be due");
    cr_assert_eq(tn_get(pull, SINEW_EVENTS), 0);
    /* sinew_poll consumes the signal (a ready pipe in the set makes it return at
     * once). */
    int p[2];
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(write(p[1], "x", 1), 1);
    sinew_pollitem_t it[2] = {{.socket = pull, .events = SINEW_POLLIN},
                              {.socket = NULL, .fd = p[0], .events = SINEW_POLLIN}};
    cr_assert_eq(sinew_poll(it, 2, 1000), 1);
    cr_assert_eq(it[0].revents, 0);
    cr_assert_not(fd_readable(fd, 0), "signal not consumed by sinew_poll");
    close(p[0]);
    close(p[1]);
    /* A message from the peer signals the descriptor; EVENTS then reports POLLIN. */
    tn_send_str(push, "m", 0);
    cr_assert(fd_readable(fd, 5000), "SINEW_FD not signalled by an arriving message");
    cr_assert_eq(tn_get(pull, SINEW_EVENTS) & SINEW_POLLIN, SINEW_POLLIN);
    tn_recv_str(pull, "m");
    cr_assert_eq(tn_get(pull, SINEW_EVENTS), 0);
    cr_assert_eq(tn_get(push, SINEW_EVENTS), SINEW_POLLOUT);
}

TN_TRAN_TEST(spec_poll, ready_fd_is_level_triggered)
{
    void *push, *pull;
    push_pull(&push, &pull, tran);
    int fd = tn_get(pull, SINEW_READY_FD);
    cr_assert_not(fd_readable(fd, 0), "readable with nothing to receive");
    tn_send_str(push, "a", 0);
    tn_send_str(push, "b", 0);
    cr_assert(fd_readable(fd, 5000), "not readable with two messages pending");
    cr_assert(fd_readable(fd, 0), "level-triggered descriptor cleared by poll(2)");
    tn_recv_str(pull, "a");
    /* Over ipc and tcp "b" may still be on its way. */
    cr_assert(fd_readable(fd, 5000), "cleared while a message is still pending");
    tn_recv_str(pull, "b");
    cr_assert_not(fd_readable(fd, 0), "readable after draining");
}

/* A REQ waiting on its READY_FD after each request: the request opens the way to the
 * reply, and the descriptor must turn readable when the reply comes, without another
 * call into the socket, on every round (the reply pipe was not being watched after the
 * first reply had been read). */
TN_TRAN_TEST(spec_poll, ready_fd_sees_the_reply_to_a_request)
{
    char ep[TN_EP_MAX];
    void *rep = tn_sock(SINEW_REP), *req = tn_sock(SINEW_REQ);
    tn_set(rep, SINEW_RCVTIMEO, 5000);
    tn_set(req, SINEW_SNDTIMEO, 5000);
    tn_connect(req, tn_bind_any(rep, tran, ep));
    int fd = tn_get(req, SINEW_READY_FD);
    for (int round = 0; round < 3; round++) {
        cr_assert_not(fd_readable(fd, 0), "round %d: readable before the request", round);
        tn_send_str(req, "question", 0);
        tn_recv_str(rep, "question");
        tn_send_str(rep, "answer", 0);
        cr_assert(fd_readable(fd, 5000), "round %d: the reply came, READY_FD never said so",
                  round);
        tn_recv_str(req, "answer");
    }
}

TN_TRAN_TEST(spec_poll, ready_fd_multipart_stays_readable_until_last_part)
{
    void *push, *pull;
    push_pull(&push, &pull, tran);
    int fd = tn_get(pull, SINEW_READY_FD);
    tn_send_str(push, "1", SINEW_SNDMORE);
    tn_send_str(push, "2", 0);
    cr_assert(fd_readable(fd, 5000));
    tn_recv_str(pull, "1");
    cr_assert(fd_readable(fd, 0), "cleared between parts");
    tn_recv_str(pull, "2");
    cr_assert_not(fd_readable(fd, 0));
}

TN_TRAN_TEST(spec_poll, ready_fd_set_by_message_from_another_thread)
{
    void *push, *pull;
    push_pull(&push, &pull, tran);
    int fd = tn_get(pull, SINEW_READY_FD);
    cr_assert_not(fd_readable(fd, 0));
    sender_arg a = {push, -1};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, send_later, &a), 0);
    cr_assert(fd_readable(fd, 5000), "message from another thread did not set READY_FD");
    void *ret;
    pthread_join(t, &ret);
    cr_assert_null(ret);
    char buf[8];
    cr_assert_eq(sinew_recv(pull, buf, sizeof buf, SINEW_DONTWAIT), 4);
    cr_assert_not(fd_readable(fd, 0));
    cr_assert_eq(sinew_recv(pull, buf, sizeof buf, SINEW_DONTWAIT), -1);
    cr_assert_eq(errno, EAGAIN);
}

/* sinew_getsockopt(3): "wait until readable, then receive with SINEW_DONTWAIT until
 * EAGAIN" never loses a message. The PULL is bound here, so over ipc and tcp peers attach
 * while it waits, which may set the descriptor spuriously (a receive then fails with
 * EAGAIN); the loop must still end with every message. */
TN_TRAN_TEST(spec_poll, ready_fd_wait_then_drain_never_loses_a_message)
{
    enum { PUSHERS = 3, EACH = 200 };
    char ep[TN_EP_MAX];
    void *pull = tn_sock(SINEW_PULL);
    tn_bind_any(pull, tran, ep);
    int fd = tn_get(pull, SINEW_READY_FD);
    for (uint32_t p = 0; p < PUSHERS; p++) {
        void *push = tn_sock(SINEW_PUSH);
        tn_connect(push, ep);
        for (uint32_t k = 0; k < EACH; k++)
            tn_send_u32(push, p * 1000 + k, 0);
    }
    uint32_t next[PUSHERS] = {0};
    int got = 0;
    uint64_t deadline = tn_now_ms() + 5000;
    while (got < PUSHERS * EACH) {
        cr_assert(fd_readable(fd, tn_left_ms(deadline)),
                  "READY_FD not readable with %d of %d messages received", got,
                  PUSHERS * EACH);
        uint32_t v;
        while (sinew_recv(pull, &v, sizeof v, SINEW_DONTWAIT) == (int) sizeof v) {
            cr_assert_lt(v / 1000, PUSHERS);
            cr_assert_eq(v % 1000, next[v / 1000]++, "pusher %u out of order", v / 1000);
            got++;
        }
        cr_assert_eq(errno, EAGAIN);
    }
    cr_assert_not(fd_readable(fd, 0), "readable after everything was received");
}

/* sinew_getsockopt(3): REQ reports POLLOUT only while no request is pending, REP POLLOUT
 * only while a reply is due. */
TN_TRAN_TEST(spec_poll, req_rep_events_follow_state)
{
    void *rep = tn_sock(SINEW_REP), *req = tn_sock(SINEW_REQ);
    tn_set(rep, SINEW_RCVTIMEO, 2000); tn_set(req, SINEW_RCVTIMEO, 2000);
    char ep[TN_EP_MAX];
    tn_connect(req, tn_bind_any(rep, tran, ep));
    cr_assert_eq(tn_get(req, SINEW_EVENTS), SINEW_POLLOUT);
    cr_assert_eq(tn_get(rep, SINEW_EVENTS), 0);
    tn_send_str(req, "q", 0);
    cr_assert_eq(tn_get(req, SINEW_EVENTS), 0);
    sinew_pollitem_t it = {.socket = rep, .events = SINEW_POLLIN | SINEW_POLLOUT};
    cr_assert_eq(sinew_poll(&it, 1, 2000), 1);
    cr_assert_eq(it.revents, SINEW_POLLIN);
    tn_recv_str(rep, "q");
    cr_assert_eq(tn_get(rep, SINEW_EVENTS), SINEW_POLLOUT);
    tn_send_str(rep, "a", 0);
    cr_assert_eq(tn_get(rep, SINEW_EVENTS), 0);
    it = (sinew_pollitem_t){.socket = req, .events = SINEW_POLLIN | SINEW_POLLOUT};
    cr_assert_eq(sinew_poll(&it, 1, 2000), 1);
    cr_assert_eq(it.revents, SINEW_POLLIN);
    tn_recv_str(req, "a");
    cr_assert_eq(tn_get(req, SINEW_EVENTS), SINEW_POLLOUT);
}


Test(spec_poll, poll_on_terminating_ctx_eterm)
{
    void *pull = tn_sock(SINEW_PULL);
    cr_assert_eq(sinew_ctx_shutdown(tn_ctx), 0);
    sinew_pollitem_t it = {.socket = pull, .events = SINEW_POLLIN};
    errno = 0;
    cr_assert_eq(sinew_poll(&it, 1, 1000), -1);
    cr_assert_eq(errno, ETERM);
}

Test(spec_poll, timeout_zero_returns_at_once_with_nothing_ready)
{
    void *push, *pull;
    push_pull(&push, &pull, "inproc");
    sinew_pollitem_t it = {.socket = pull, .events = SINEW_POLLIN};
    uint64_t t0 = tn_now_ms();
    cr_assert_eq(sinew_poll(&it, 1, 0), 0);
    cr_assert_lt(tn_now_ms() - t0, 100);
    cr_assert_eq(it.revents, 0);
}

/* Regression: a finite timeout must never turn into poll(2)'s "forever" when the clock
 * ticks past the deadline between the check and the call. */
Test(spec_poll, many_zero_timeouts_never_block)
{
    void *push, *pull;
    push_pull(&push, &pull, "inproc");
    sinew_pollitem_t it = {.socket = pull, .events = SINEW_POLLIN};
    for (int i = 0; i < 200000; i++)
        cr_assert_eq(sinew_poll(&it, 1, 0), 0);
}

Test(spec_poll, timeout_expires_after_deadline)
{
    void *push, *pull;
    push_pull(&push, &pull, "inproc");
    sinew_pollitem_t it = {.socket = pull, .events = SINEW_POLLIN};
    uint64_t t0 = tn_now_ms();
    cr_assert_eq(sinew_poll(&it, 1, 150), 0);
    uint64_t dt = tn_now_ms() - t0;
    cr_assert_geq(dt, 140, "returned after %llu ms", (unsigned long long) dt);
    cr_assert_lt(dt, 2000);
    cr_assert_eq(it.revents, 0);
}
