/* RFC 30 (PIPELINE): PUSH and PULL. The behaviour tests run over inproc, ipc and tcp
 * (support/transports.h); the tests of exact queue depths run over inproc only: there the
 * queue between two sockets is one pipe holding SNDHWM + RCVHWM messages, while ipc and
 * tcp add the kernel's socket buffers and the engines' batches between the two pipes. */
#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "support/net.h"
#include "support/transports.h"

TestSuite(spec_pipeline, .init = tn_tran_setup, .fini = tn_tran_teardown, .timeout = 20);

/* RFC 30: "SHALL NOT discard messages that it cannot queue" / messages are delivered in
 * the order sent on one connection. */
TN_TRAN_TEST(spec_pipeline, delivers_in_order)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_connect(push, tn_bind_any(pull, tran, ep));
    for (uint32_t i = 0; i < 500; i++)
        tn_send_u32(push, i, 0);
    for (uint32_t i = 0; i < 500; i++)
        cr_assert_eq(tn_recv_u32(pull), i);
}

TN_TRAN_TEST(spec_pipeline, empty_and_large_messages_keep_their_size)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_set(push, SINEW_SNDTIMEO, 5000); /* a bound PUSH waits for the PULL to attach */
    tn_connect(pull, tn_bind_any(push, tran, ep));
    static unsigned char big[100000], got[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char) (i * 7);
    cr_assert_eq(sinew_send(push, "", 0, 0), 0, "errno %d", errno);
    cr_assert_eq(sinew_send(push, big, sizeof big, 0), (int) sizeof big);
    char small[4];
    cr_assert_eq(sinew_recv(pull, small, sizeof small, 0), 0);
    cr_assert_eq(sinew_recv(pull, got, sizeof got, 0), (int) sizeof big);
    cr_assert_eq(memcmp(big, got, sizeof big), 0);
    /* recv truncates to the buffer but reports the full size, as libzmq. */
    tn_send_str(push, "truncated", 0);
    cr_assert_eq(sinew_recv(pull, small, sizeof small, 0), 9);
    cr_assert_eq(memcmp(small, "trun", 4), 0);
}

/* RFC 30: "SHALL deliver ... multipart messages atomically" (all parts or none). */
TN_TRAN_TEST(spec_pipeline, multipart_ten_parts_arrive_together)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_connect(push, tn_bind_any(pull, tran, ep));
    for (uint32_t i = 0; i < 9; i++) {
        tn_send_u32(push, i, SINEW_SNDMORE);
        /* Nothing is visible before the last part. */
        uint32_t v;
        errno = 0;
        cr_assert_eq(sinew_recv(pull, &v, sizeof v, SINEW_DONTWAIT), -1,
                     "part %u visible before the message was complete", i);
        cr_assert_eq(errno, EAGAIN);
    }
    tn_send_u32(push, 9, 0);
    for (uint32_t i = 0; i < 10; i++) {
        cr_assert_eq(tn_recv_u32(pull), i);
        cr_assert_eq(tn_rcvmore(pull), i < 9, "RCVMORE wrong on part %u", i);
    }
}

TN_TRAN_TEST(spec_pipeline, multipart_from_several_pushers_never_interleaves)
{
    char ep[TN_EP_MAX];
    void *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_bind_any(pull, tran, ep);
    void *push[3];
    for (int p = 0; p < 3; p++) {
        push[p] = tn_sock(SINEW_PUSH);
        tn_connect(push[p], ep);
    }
    /* Start all three messages before finishing any. */
    for (uint32_t part = 0; part < 5; part++)
        for (uint32_t p = 0; p < 3; p++)
            tn_send_u32(push[p], p * 100 + part, part < 4 ? SINEW_SNDMORE : 0);
    bool seen[3] = {false};
    for (int m = 0; m < 3; m++) {
        uint32_t first = tn_recv_u32(pull);
        uint32_t p = first / 100;
        cr_assert_lt(p, 3);
        cr_assert_eq(first % 100, 0, "message starts with part %u", first % 100);
        cr_assert_not(seen[p]);
        seen[p] = true;
        for (uint32_t part = 1; part < 5; part++) {
            cr_assert(tn_rcvmore(pull));
            cr_assert_eq(tn_recv_u32(pull), p * 100 + part, "parts interleaved");
        }
        cr_assert_not(tn_rcvmore(pull));
    }
}

/* RFC 30: "SHALL route outgoing messages to available peers using a round-robin
 * strategy." */
TN_TRAN_TEST(spec_pipeline, push_round_robins_across_three_pulls)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH);
    tn_bind_any(push, tran, ep);
    void *pull[3];
    for (int i = 0; i < 3; i++) {
        pull[i] = tn_sock(SINEW_PULL);
        tn_set(pull[i], SINEW_RCVTIMEO, 5000);
        tn_connect(pull[i], ep);
    }
    /* All three links attached to the bound PUSH before counting. */
    tn_wait_routes(push, pull, 3);
    for (uint32_t i = 0; i < 12; i++)
        tn_send_u32(push, i, 0);
    int owner[12];
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < 4; k++) {
            uint32_t v = tn_recv_u32(pull[i]);
            cr_assert_lt(v, 12);
            owner[v] = i;
        }
        uint32_t v;
        errno = 0;
        cr_assert_eq(sinew_recv(pull[i], &v, sizeof v, SINEW_DONTWAIT), -1,
                     "pull %d got more than its share", i);
        cr_assert_eq(errno, EAGAIN);
    }
    /* Round robin: every window of three consecutive messages hits all three pulls. */
    for (int i = 0; i + 2 < 12; i++)
        cr_assert(owner[i] != owner[i + 1] && owner[i] != owner[i + 2] &&
                      owner[i + 1] != owner[i + 2],
                  "messages %d..%d not spread round-robin", i, i + 2);
}

/* RFC 30: "SHALL receive incoming messages from its peers using a fair-queuing
 * strategy." */
TN_TRAN_TEST(spec_pipeline, pull_fair_queues_across_three_pushes)
{
    char ep[TN_EP_MAX];
    void *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    void *mon = tn_monitor(pull, SINEW_EVENT_DISCONNECTED);
    tn_bind_any(pull, tran, ep);
    for (uint32_t p = 0; p < 3; p++) {
        void *push = tn_sock(SINEW_PUSH);
        tn_connect(push, ep);
        for (uint32_t k = 0; k < 10; k++)
            tn_send_u32(push, p * 100 + k, 0);
        tn_close(push); /* linger -1: the ten are delivered */
    }
    /* Fair queuing shows only while every pusher has messages waiting at the PULL. Over
     * inproc they are there once send returns. Over ipc and tcp they arrive later; a
     * connection's DISCONNECTED comes after its engine read everything its peer sent
     * before closing. */
    if (tn_tran_is_net(tran))
        for (int p = 0; p < 3; p++)
            cr_assert_eq(tn_wait_event(mon, SINEW_EVENT_DISCONNECTED, 5000),
                         SINEW_EVENT_DISCONNECTED, "%d of 3 pushers' connections ended",
                         p);
    uint32_t next[3] = {0, 0, 0};
    uint32_t window[3];
    for (int i = 0; i < 30; i++) {
        uint32_t v = tn_recv_u32(pull);
        uint32_t p = v / 100;
        cr_assert_lt(p, 3);
        cr_assert_eq(v % 100, next[p]++, "pusher %u out of order", p);
        window[i % 3] = p;
        if (i % 3 == 2)
            cr_assert(window[0] != window[1] && window[0] != window[2] &&
                          window[1] != window[2],
                      "not fair-queued: three consecutive messages at %d from %u,%u,%u",
                      i, window[0], window[1], window[2]);
    }
}

/* RFC 30: "SHALL block on sending, or return a suitable error, when it has no available
 * peers" and when queues are full. */
Test(spec_pipeline, push_without_peers_cannot_send)
{
    void *push = tn_sock(SINEW_PUSH);
    errno = 0;
    cr_assert_eq(sinew_send(push, "x", 1, SINEW_DONTWAIT), -1);
    cr_assert_eq(errno, EAGAIN);
    tn_set(push, SINEW_SNDTIMEO, 50);
    errno = 0;
    cr_assert_eq(sinew_send(push, "x", 1, 0), -1);
    cr_assert_eq(errno, EAGAIN);
}

/* Sends with DONTWAIT until EAGAIN (at most limit messages); returns how many went. */
static int
fill(void *push, int limit)
{
    int n = 0;
    while (n < limit && sinew_send(push, &n, sizeof n, SINEW_DONTWAIT) == sizeof n)
        n++;
    cr_assert_lt(n, limit, "%d sends without reaching the HWM", n);
    cr_assert_eq(errno, EAGAIN, "send failed with errno %d, not EAGAIN", errno);
    return n;
}

/* Exact queue depth: inproc only (see the top of the file). */
Test(spec_pipeline, hwm_makes_dontwait_send_fail_with_eagain)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(push, SINEW_SNDHWM, 3);
    tn_set(pull, SINEW_RCVHWM, 3);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_connect(push, tn_bind_any(pull, "inproc", ep));
    int n = fill(push, 100);
    cr_assert_geq(n, 3, "only %d messages queued below the HWM", n);
    cr_assert_leq(n, 6, "%d messages queued, over SNDHWM+RCVHWM", n);
    /* Draining makes room again, and nothing was lost. */
    for (int i = 0; i < n; i++) {
        int v = -1;
        cr_assert_eq(sinew_recv(pull, &v, sizeof v, 0), (int) sizeof v);
        cr_assert_eq(v, i);
    }
    int v;
    errno = 0;
    cr_assert_eq(sinew_recv(pull, &v, sizeof v, SINEW_DONTWAIT), -1, "extra message");
    cr_assert_eq(errno, EAGAIN);
    /* Once the reader has found the queue empty, the full capacity is back. */
    int m = fill(push, 100);
    cr_assert_eq(m, n, "capacity after draining %d, before %d", m, n);
}

/* Inproc only: the queue must stay full for the whole timeout, which over ipc and tcp
 * takes filling the kernel's buffers too. */
Test(spec_pipeline, sndtimeo_fails_with_eagain_after_the_timeout)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(push, SINEW_SNDHWM, 1);
    tn_set(pull, SINEW_RCVHWM, 1);
    tn_connect(push, tn_bind_any(pull, "inproc", ep));
    cr_assert_gt(fill(push, 100), 0);
    tn_set(push, SINEW_SNDTIMEO, 200);
    uint64_t t0 = tn_now_ms();
    errno = 0;
    cr_assert_eq(sinew_send(push, "x", 1, 0), -1);
    uint64_t dt = tn_now_ms() - t0;
    cr_assert_eq(errno, EAGAIN);
    cr_assert_geq(dt, 190, "gave up after %llu ms", (unsigned long long) dt);
    cr_assert_lt(dt, 2000, "took %llu ms", (unsigned long long) dt);
}

typedef struct drain_arg {
    void *pull;
    int count;
} drain_arg;

static void *
drain_all(void *arg)
{
    drain_arg *d = arg;
    /* Starts while the sender is (about to be) blocked at the HWM. */
    for (int i = 0; i < d->count; i++) {
        int v;
        if (sinew_recv(d->pull, &v, sizeof v, 0) != (int) sizeof v || v != i)
            return (void *) 1;
    }
    return NULL;
}

/* Over ipc and tcp the first EAGAIN may come before the kernel's buffers are full (the
 * I/O thread had not yet taken the message off the pipe); either way the sender then
 * blocks until there is room, and the receiver gets every message in order. */
TN_TRAN_TEST(spec_pipeline, blocked_send_resumes_when_receiver_drains)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(push, SINEW_SNDHWM, 1);
    tn_set(pull, SINEW_RCVHWM, 1);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_set(push, SINEW_SNDTIMEO, 5000);
    tn_connect(push, tn_bind_any(pull, tran, ep));
    int n = fill(push, 1 << 22);
    cr_assert_gt(n, 0);
    drain_arg d = {pull, n + 50};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, drain_all, &d), 0);
    /* Blocks each time the queue is full until the other thread makes room. */
    for (int i = n; i < n + 50; i++)
        cr_assert_eq(sinew_send(push, &i, sizeof i, 0), (int) sizeof i,
                     "send %d: errno %d", i, errno);
    void *ret;
    pthread_join(t, &ret);
    cr_assert_null(ret, "receiver lost or reordered messages");
}

Test(spec_pipeline, rcvtimeo_fails_with_eagain_after_the_timeout)
{
    void *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 150);
    char buf[4];
    uint64_t t0 = tn_now_ms();
    errno = 0;
    cr_assert_eq(sinew_recv(pull, buf, sizeof buf, 0), -1);
    uint64_t dt = tn_now_ms() - t0;
    cr_assert_eq(errno, EAGAIN);
    cr_assert_geq(dt, 140, "gave up after %llu ms", (unsigned long long) dt);
    cr_assert_lt(dt, 2000);
    tn_set(pull, SINEW_RCVTIMEO, 0);
    errno = 0;
    cr_assert_eq(sinew_recv(pull, buf, sizeof buf, 0), -1);
    cr_assert_eq(errno, EAGAIN);
}

/* Over ipc and tcp the connecter retries until the endpoint is bound. */
TN_TRAN_TEST(spec_pipeline, connect_before_bind_delivers_queued_messages)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_connect(push, tn_tran_endpoint(tran, ep));
    for (uint32_t i = 0; i < 5; i++)
        tn_send_u32(push, i, 0);
    tn_bind(pull, ep);
    for (uint32_t i = 0; i < 5; i++)
        cr_assert_eq(tn_recv_u32(pull), i);
}

TN_TRAN_TEST(spec_pipeline, pull_connected_before_push_binds_receives)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_set(push, SINEW_SNDTIMEO, 5000);
    tn_connect(pull, tn_tran_endpoint(tran, ep));
    tn_bind(push, ep);
    tn_send_str(push, "hello", 0);
    tn_recv_str(pull, "hello");
}

/* RFC 30: PUSH talks to PULL only, and PULL to PUSH only. */
TN_TRAN_TEST(spec_pipeline, incompatible_peer_refused)
{
    char ep[TN_EP_MAX], ep2[TN_EP_MAX];
    void *a = tn_sock(SINEW_PUSH), *b = tn_sock(SINEW_PUSH), *c = tn_sock(SINEW_PULL);
    tn_bind_any(a, tran, ep);
    tn_expect_incompatible(b, ep, tran);
    tn_bind_any(c, tran, ep2);
    void *d = tn_sock(SINEW_PULL);
    tn_expect_incompatible(d, ep2, tran);
    void *r = tn_sock(SINEW_REQ);
    tn_expect_incompatible(r, ep2, tran);
    /* Whatever the REQ queued never reaches the PULL. */
    sinew_send(r, "q", 1, SINEW_DONTWAIT);
    tn_expect_nothing(c, 200, "PULL received from a REQ");
}

/* RFC 30: multipart messages are delivered whole or not at all. */
TN_TRAN_TEST(spec_pipeline, partial_multipart_discarded_when_sender_closes)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    void *push2 = tn_sock(SINEW_PUSH);
    tn_set(pull, SINEW_RCVTIMEO, 2000);
    tn_connect(push, tn_bind_any(pull, tran, ep));
    tn_send_str(push, "p1", SINEW_SNDMORE);
    tn_send_str(push, "p2", SINEW_SNDMORE);
    tn_close(push);
    tn_connect(push2, ep);
    tn_send_str(push2, "whole", 0);
    tn_recv_str(pull, "whole");
    cr_assert_eq(tn_rcvmore(pull), 0);
}

/* RFC 30: a full peer is skipped while another can take the message. Exact queue depths:
 * inproc only (see the top of the file). */
Test(spec_pipeline, push_skips_a_full_peer)
{
    char ep[TN_EP_MAX], ep2[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *a = tn_sock(SINEW_PULL), *b = tn_sock(SINEW_PULL);
    tn_set(push, SINEW_SNDHWM, 1);
    tn_set(a, SINEW_RCVHWM, 1);
    tn_set(b, SINEW_RCVHWM, 1);
    tn_bind_any(a, "inproc", ep);
    tn_bind_any(b, "inproc", ep2);
    tn_connect(push, ep);
    tn_connect(push, ep2);
    int n = 0;
    while (n < 100 && sinew_send(push, &n, sizeof n, SINEW_DONTWAIT) == sizeof n) n++;
    cr_assert_eq(n, 4, "n=%d", n);
    /* drain a completely (until EAGAIN) */
    int v, got = 0;
    while (sinew_recv(a, &v, sizeof v, SINEW_DONTWAIT) == sizeof v) got++;
    cr_assert_eq(got, 2);
    /* b still full: push must route to a */
    for (int k = 0; k < 2; k++)
        cr_assert_eq(sinew_send(push, &n, sizeof n, SINEW_DONTWAIT), (int) sizeof n,
                     "errno %d", errno);
}

/* The free function runs on whichever thread lets go of the data last (an I/O thread
 * over ipc and tcp), so the count is atomic and each call is also written to a pipe the
 * test can wait on. */
static atomic_int frees;
static int frees_fd = -1;

static void
ffn(void *d, void *h)
{
    (void) d;
    (void) h;
    atomic_fetch_add(&frees, 1);
    if (frees_fd >= 0 && write(frees_fd, "f", 1) != 1)
        abort();
}

/* Inproc hands the sender's buffer itself to the receiver, so the free function runs when
 * the receiver closes it. Over ipc and tcp the receiver gets a copy; the sender's buffer
 * is freed once its engine has written it out, and closing the copy frees nothing of
 * the sender's. */
TN_TRAN_TEST(spec_pipeline, msg_send_transfers_ownership_and_ffn_runs_once)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 2000);
    tn_connect(push, tn_bind_any(pull, tran, ep));
    static char data[200] = "zero-copy";
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    frees_fd = fds[1];
    atomic_store(&frees, 0);
    sinew_msg_t m, r;
    cr_assert_eq(sinew_msg_init_data(&m, data, sizeof data, ffn, NULL), 0);
    cr_assert_eq(sinew_msg_send(&m, push, 0), (int) sizeof data);
    cr_assert_eq(sinew_msg_size(&m), 0);
    cr_assert_eq(sinew_msg_close(&m), 0);
    if (!tn_tran_is_net(tran))
        cr_assert_eq(atomic_load(&frees), 0);
    cr_assert_eq(sinew_msg_init(&r), 0);
    cr_assert_eq(sinew_msg_recv(&r, pull, 0), (int) sizeof data);
    cr_assert_eq(memcmp(sinew_msg_data(&r), data, sizeof data), 0);
    if (tn_tran_is_net(tran)) {
        cr_assert_neq(sinew_msg_data(&r), data);
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        cr_assert_eq(poll(&p, 1, 5000), 1, "sender's buffer not freed after 5 s");
        cr_assert_eq(sinew_msg_close(&r), 0);
    } else {
        cr_assert_eq(sinew_msg_data(&r), data, "inproc copied a zero-copy message");
        cr_assert_eq(atomic_load(&frees), 0);
        cr_assert_eq(sinew_msg_close(&r), 0);
    }
    cr_assert_eq(atomic_load(&frees), 1);
    frees_fd = -1;
    close(fds[0]);
    close(fds[1]);
}

Test(spec_pipeline, failed_msg_send_leaves_message_with_caller)
{
    void *push = tn_sock(SINEW_PUSH);
    sinew_msg_t m;
    cr_assert_eq(sinew_msg_init_size(&m, 100), 0);
    memset(sinew_msg_data(&m), 3, 100);
    errno = 0;
    cr_assert_eq(sinew_msg_send(&m, push, SINEW_DONTWAIT), -1);
    cr_assert_eq(errno, EAGAIN);
    cr_assert_eq(sinew_msg_size(&m), 100);
    cr_assert_eq(((unsigned char *) sinew_msg_data(&m))[99], 3);
    cr_assert_eq(sinew_msg_more(&m), 0);
    cr_assert_eq(sinew_msg_close(&m), 0);
}

TN_TRAN_TEST(spec_pipeline, msg_recv_releases_previous_content)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 2000);
    tn_connect(push, tn_bind_any(pull, tran, ep));
    static char data[10];
    atomic_store(&frees, 0);
    sinew_msg_t r;
    cr_assert_eq(sinew_msg_init_data(&r, data, sizeof data, ffn, NULL), 0);
    tn_send_str(push, "new", 0);
    cr_assert_eq(sinew_msg_recv(&r, pull, 0), 3);
    cr_assert_eq(atomic_load(&frees), 1);
    cr_assert_eq(memcmp(sinew_msg_data(&r), "new", 3), 0);
    cr_assert_eq(sinew_msg_close(&r), 0);
}

TN_TRAN_TEST(spec_pipeline, send_const_round_trip)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 2000);
    tn_connect(push, tn_bind_any(pull, tran, ep));
    static const char big[300] = "constant";
    cr_assert_eq(sinew_send_const(push, big, sizeof big, 0), (int) sizeof big);
    sinew_msg_t r;
    cr_assert_eq(sinew_msg_init(&r), 0);
    cr_assert_eq(sinew_msg_recv(&r, pull, 0), (int) sizeof big);
    cr_assert_str_eq(sinew_msg_data(&r), "constant");
    cr_assert_eq(sinew_msg_close(&r), 0);
}

/* RFC 30: round-robin routes whole messages: all parts of one message go to one peer. */
TN_TRAN_TEST(spec_pipeline, push_multipart_goes_whole_to_one_pull)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *a = tn_sock(SINEW_PULL), *b = tn_sock(SINEW_PULL);
    tn_bind_any(push, tran, ep);
    tn_connect(a, ep); tn_connect(b, ep);
    tn_set(a, SINEW_RCVTIMEO, 2000); tn_set(b, SINEW_RCVTIMEO, 2000);
    void *s[2] = {a, b};
    tn_wait_routes(push, s, 2);
    for (uint32_t m = 0; m < 4; m++)
        for (uint32_t k = 0; k < 3; k++)
            tn_send_u32(push, m * 10 + k, k < 2 ? SINEW_SNDMORE : 0);
    for (int i = 0; i < 2; i++)
        for (int m = 0; m < 2; m++) {
            uint32_t first = tn_recv_u32(s[i]);
            cr_assert_eq(first % 10, 0);
            cr_assert(tn_rcvmore(s[i]));
            cr_assert_eq(tn_recv_u32(s[i]), first + 1);
            cr_assert(tn_rcvmore(s[i]));
            cr_assert_eq(tn_recv_u32(s[i]), first + 2);
            cr_assert_not(tn_rcvmore(s[i]));
        }
}

/* An HWM of 0 means no limit. Over inproc the 5000 messages are queued when the sends
 * return; over ipc and tcp the receiver waits for them. */
TN_TRAN_TEST(spec_pipeline, hwm_zero_is_unlimited)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(push, SINEW_SNDHWM, 0); tn_set(pull, SINEW_RCVHWM, 0);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_connect(push, tn_bind_any(pull, tran, ep));
    int rflags = tn_tran_is_net(tran) ? 0 : SINEW_DONTWAIT;
    for (int i = 0; i < 5000; i++)
        cr_assert_eq(sinew_send(push, &i, sizeof i, SINEW_DONTWAIT), (int) sizeof i,
                     "i=%d errno %d", i, errno);
    for (int i = 0; i < 5000; i++) {
        int v;
        cr_assert_eq(sinew_recv(pull, &v, sizeof v, rflags), 4, "i=%d: errno %d", i,
                     errno);
        cr_assert_eq(v, i);
    }
}

/* The HWM is the real queue depth: a writer is never refused because the reader's
 * progress was not yet reported. Exact queue depths: inproc only. */
Test(spec_pipeline, send_accepted_after_reader_consumed_below_hwm)
{
    char ep[TN_EP_MAX];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(push, SINEW_SNDHWM, 1);
    tn_set(pull, SINEW_RCVHWM, 1);
    tn_set(pull, SINEW_RCVTIMEO, 1000);
    tn_connect(push, tn_bind_any(pull, "inproc", ep));
    tn_send_u32(push, 0, SINEW_DONTWAIT);
    tn_send_u32(push, 1, SINEW_DONTWAIT); /* queue holds 2 = SNDHWM + RCVHWM */
    cr_assert_eq(tn_recv_u32(pull), 0);   /* queue now holds 1 */
    tn_set(push, SINEW_SNDTIMEO, 500);
    uint32_t v = 2;
    cr_assert_eq(sinew_send(push, &v, sizeof v, 0), (int) sizeof v,
                 "send refused with 1 message queued, HWM 2: errno %d", errno);
}
