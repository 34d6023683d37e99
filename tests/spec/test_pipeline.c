/* RFC 30 (PIPELINE): PUSH and PULL over inproc. */
#include <criterion/criterion.h>
#include <pthread.h>

#include "support/net.h"

TestSuite(pipeline, .init = tn_setup, .fini = tn_teardown, .timeout = 20);

static char ep[64];

/* RFC 30: "SHALL NOT discard messages that it cannot queue" / messages are delivered in
 * the order sent on one connection. */
Test(pipeline, delivers_in_order)
{
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_bind(pull, tn_endpoint(ep, sizeof ep, "order"));
    tn_connect(push, ep);
    for (uint32_t i = 0; i < 500; i++)
        tn_send_u32(push, i, 0);
    for (uint32_t i = 0; i < 500; i++)
        cr_assert_eq(tn_recv_u32(pull), i);
}

Test(pipeline, empty_and_large_messages_keep_their_size)
{
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_bind(push, tn_endpoint(ep, sizeof ep, "sizes"));
    tn_connect(pull, ep);
    static unsigned char big[100000], got[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char) (i * 7);
    cr_assert_eq(sinew_send(push, "", 0, 0), 0);
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
Test(pipeline, multipart_ten_parts_arrive_together)
{
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_bind(pull, tn_endpoint(ep, sizeof ep, "multi"));
    tn_connect(push, ep);
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

Test(pipeline, multipart_from_several_pushers_never_interleaves)
{
    void *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_bind(pull, tn_endpoint(ep, sizeof ep, "multi-fq"));
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
Test(pipeline, push_round_robins_across_three_pulls)
{
    void *push = tn_sock(SINEW_PUSH);
    tn_bind(push, tn_endpoint(ep, sizeof ep, "rr"));
    void *pull[3];
    for (int i = 0; i < 3; i++) {
        pull[i] = tn_sock(SINEW_PULL);
        tn_set(pull[i], SINEW_RCVTIMEO, 5000);
        tn_connect(pull[i], ep);
    }
    /* The first message to each pull makes sure all three links are attached. */
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
Test(pipeline, pull_fair_queues_across_three_pushes)
{
    void *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_bind(pull, tn_endpoint(ep, sizeof ep, "fq"));
    void *push[3];
    for (uint32_t p = 0; p < 3; p++) {
        push[p] = tn_sock(SINEW_PUSH);
        tn_connect(push[p], ep);
    }
    for (uint32_t p = 0; p < 3; p++)
        for (uint32_t k = 0; k < 10; k++)
            tn_send_u32(push[p], p * 100 + k, 0);
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
                      "not fair-queued: three consecutive messages at %d from %u,%u,%u", i,
                      window[0], window[1], window[2]);
    }
}

/* RFC 30: "SHALL block on sending, or return a suitable error, when it has no available
 * peers" and when queues are full. */
Test(pipeline, push_without_peers_cannot_send)
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

static int
fill(void *push, int limit)
{
    int n = 0;
    while (n < limit && sinew_send(push, &n, sizeof n, SINEW_DONTWAIT) == sizeof n)
        n++;
    cr_assert_eq(errno, EAGAIN, "send failed with errno %d, not EAGAIN", errno);
    return n;
}

Test(pipeline, hwm_makes_dontwait_send_fail_with_eagain)
{
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(push, SINEW_SNDHWM, 3);
    tn_set(pull, SINEW_RCVHWM, 3);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_bind(pull, tn_endpoint(ep, sizeof ep, "hwm"));
    tn_connect(push, ep);
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

Test(pipeline, sndtimeo_fails_with_eagain_after_the_timeout)
{
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(push, SINEW_SNDHWM, 1);
    tn_set(pull, SINEW_RCVHWM, 1);
    tn_bind(pull, tn_endpoint(ep, sizeof ep, "sndtimeo"));
    tn_connect(push, ep);
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

Test(pipeline, blocked_send_resumes_when_receiver_drains)
{
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(push, SINEW_SNDHWM, 1);
    tn_set(pull, SINEW_RCVHWM, 1);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_set(push, SINEW_SNDTIMEO, 5000);
    tn_bind(pull, tn_endpoint(ep, sizeof ep, "resume"));
    tn_connect(push, ep);
    int n = fill(push, 100);
    cr_assert_gt(n, 0);
    drain_arg d = {pull, n + 50};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, drain_all, &d), 0);
    /* Blocks each time the queue is full until the other thread makes room. */
    for (int i = n; i < n + 50; i++)
        cr_assert_eq(sinew_send(push, &i, sizeof i, 0), (int) sizeof i, "send %d: errno %d",
                     i, errno);
    void *ret;
    pthread_join(t, &ret);
    cr_assert_null(ret, "receiver lost or reordered messages");
}

Test(pipeline, rcvtimeo_fails_with_eagain_after_the_timeout)
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

Test(pipeline, connect_before_bind_delivers_queued_messages)
{
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_endpoint(ep, sizeof ep, "late-bind");
    tn_connect(push, ep);
    for (uint32_t i = 0; i < 5; i++)
        tn_send_u32(push, i, 0);
    tn_bind(pull, ep);
    for (uint32_t i = 0; i < 5; i++)
        cr_assert_eq(tn_recv_u32(pull), i);
}

Test(pipeline, pull_connected_before_push_binds_receives)
{
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_set(push, SINEW_SNDTIMEO, 5000);
    tn_endpoint(ep, sizeof ep, "late-push");
    tn_connect(pull, ep);
    tn_bind(push, ep);
    tn_send_str(push, "hello", 0);
    tn_recv_str(pull, "hello");
}

Test(pipeline, incompatible_peer_refused_with_enocompatproto)
{
    void *a = tn_sock(SINEW_PUSH), *b = tn_sock(SINEW_PUSH), *c = tn_sock(SINEW_PULL);
    tn_bind(a, tn_endpoint(ep, sizeof ep, "compat"));
    errno = 0;
    cr_assert_eq(sinew_connect(b, ep), -1);
    cr_assert_eq(errno, ENOCOMPATPROTO);
    char ep2[64];
    tn_bind(c, tn_endpoint(ep2, sizeof ep2, "compat-pull"));
    void *d = tn_sock(SINEW_PULL);
    errno = 0;
    cr_assert_eq(sinew_connect(d, ep2), -1);
    cr_assert_eq(errno, ENOCOMPATPROTO);
    void *r = tn_sock(SINEW_REQ);
    errno = 0;
    cr_assert_eq(sinew_connect(r, ep2), -1);
    cr_assert_eq(errno, ENOCOMPATPROTO);
}

/* RFC 30: multipart messages are delivered whole or not at all. */
Test(pipeline, partial_multipart_discarded_when_sender_closes)
{
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL), *push2 = tn_sock(SINEW_PUSH);
    tn_set(pull, SINEW_RCVTIMEO, 2000);
    tn_bind(pull, tn_endpoint(ep, sizeof ep, "partial"));
    tn_connect(push, ep);
    tn_send_str(push, "p1", SINEW_SNDMORE);
    tn_send_str(push, "p2", SINEW_SNDMORE);
    tn_close(push);
    tn_connect(push2, ep);
    tn_send_str(push2, "whole", 0);
    tn_recv_str(pull, "whole");
    cr_assert_eq(tn_rcvmore(pull), 0);
}

/* RFC 30: a full peer is skipped while another can take the message. */
Test(pipeline, push_skips_a_full_peer)
{
    void *push = tn_sock(SINEW_PUSH), *a = tn_sock(SINEW_PULL), *b = tn_sock(SINEW_PULL);
    char ep2[64];
    tn_set(push, SINEW_SNDHWM, 1);
    tn_set(a, SINEW_RCVHWM, 1);
    tn_set(b, SINEW_RCVHWM, 1);
    tn_bind(a, tn_endpoint(ep, sizeof ep, "skip-a"));
    tn_bind(b, tn_endpoint(ep2, sizeof ep2, "skip-b"));
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
    cr_assert_eq(sinew_send(push, &n, sizeof n, SINEW_DONTWAIT), (int) sizeof n, "errno %d", errno);
    cr_assert_eq(sinew_send(push, &n, sizeof n, SINEW_DONTWAIT), (int) sizeof n, "errno %d", errno);
}

static int frees;
static void ffn(void *d, void *h) { (void) d; (void) h; frees++; }

Test(pipeline, msg_send_transfers_ownership_and_ffn_runs_after_receiver_closes)
{
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 2000);
    tn_bind(pull, tn_endpoint(ep, sizeof ep, "own"));
    tn_connect(push, ep);
    static char data[200] = "zero-copy";
    frees = 0;
    sinew_msg_t m, r;
    cr_assert_eq(sinew_msg_init_data(&m, data, sizeof data, ffn, NULL), 0);
    cr_assert_eq(sinew_msg_send(&m, push, 0), (int) sizeof data);
    cr_assert_eq(sinew_msg_size(&m), 0);
    cr_assert_eq(sinew_msg_close(&m), 0);
    cr_assert_eq(frees, 0);
    cr_assert_eq(sinew_msg_init(&r), 0);
    cr_assert_eq(sinew_msg_recv(&r, pull, 0), (int) sizeof data);
    cr_assert_eq(sinew_msg_data(&r), data, "inproc copied a zero-copy message");
    cr_assert_eq(frees, 0);
    cr_assert_eq(sinew_msg_close(&r), 0);
    cr_assert_eq(frees, 1);
}

Test(pipeline, failed_msg_send_leaves_message_with_caller)
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

Test(pipeline, msg_recv_releases_previous_content)
{
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 2000);
    tn_bind(pull, tn_endpoint(ep, sizeof ep, "prev"));
    tn_connect(push, ep);
    static char data[10];
    frees = 0;
    sinew_msg_t r;
    cr_assert_eq(sinew_msg_init_data(&r, data, sizeof data, ffn, NULL), 0);
    tn_send_str(push, "new", 0);
    cr_assert_eq(sinew_msg_recv(&r, pull, 0), 3);
    cr_assert_eq(frees, 1);
    cr_assert_eq(memcmp(sinew_msg_data(&r), "new", 3), 0);
    cr_assert_eq(sinew_msg_close(&r), 0);
}

Test(pipeline, send_const_round_trip)
{
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 2000);
    tn_bind(pull, tn_endpoint(ep, sizeof ep, "const"));
    tn_connect(push, ep);
    static const char big[300] = "constant";
    cr_assert_eq(sinew_send_const(push, big, sizeof big, 0), (int) sizeof big);
    sinew_msg_t r;
    cr_assert_eq(sinew_msg_init(&r), 0);
    cr_assert_eq(sinew_msg_recv(&r, pull, 0), (int) sizeof big);
    cr_assert_str_eq(sinew_msg_data(&r), "constant");
    cr_assert_eq(sinew_msg_close(&r), 0);
}

/* RFC 30: round-robin routes whole messages: all parts of one message go to one peer. */
Test(pipeline, push_multipart_goes_whole_to_one_pull)
{
    void *push = tn_sock(SINEW_PUSH), *a = tn_sock(SINEW_PULL), *b = tn_sock(SINEW_PULL);
    tn_bind(push, tn_endpoint(ep, sizeof ep, "mp-rr"));
    tn_connect(a, ep); tn_connect(b, ep);
    tn_set(a, SINEW_RCVTIMEO, 2000); tn_set(b, SINEW_RCVTIMEO, 2000);
    for (uint32_t m = 0; m < 4; m++)
        for (uint32_t k = 0; k < 3; k++)
            tn_send_u32(push, m * 10 + k, k < 2 ? SINEW_SNDMORE : 0);
    void *s[2] = {a, b};
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

/* An HWM of 0 means no limit. */
Test(pipeline, hwm_zero_is_unlimited)
{
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(push, SINEW_SNDHWM, 0); tn_set(pull, SINEW_RCVHWM, 0);
    tn_bind(pull, tn_endpoint(ep, sizeof ep, "unl"));
    tn_connect(push, ep);
    for (int i = 0; i < 5000; i++)
        cr_assert_eq(sinew_send(push, &i, sizeof i, SINEW_DONTWAIT), (int) sizeof i, "i=%d errno %d", i, errno);
    for (int i = 0; i < 5000; i++) { int v; cr_assert_eq(sinew_recv(pull, &v, sizeof v, SINEW_DONTWAIT), 4); cr_assert_eq(v, i); }
}

/* The HWM is the real queue depth: a writer is never refused because the reader's
 * progress was not yet reported. */
Test(pipeline, send_accepted_after_reader_consumed_below_hwm)
{
    char ep[64];
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(push, SINEW_SNDHWM, 1);
    tn_set(pull, SINEW_RCVHWM, 1);
    tn_set(pull, SINEW_RCVTIMEO, 1000);
    tn_bind(pull, tn_endpoint(ep, sizeof ep, "lazyack"));
    tn_connect(push, ep);
    tn_send_u32(push, 0, SINEW_DONTWAIT);
    tn_send_u32(push, 1, SINEW_DONTWAIT); /* queue holds 2 = SNDHWM + RCVHWM */
    cr_assert_eq(tn_recv_u32(pull), 0);   /* queue now holds 1 */
    tn_set(push, SINEW_SNDTIMEO, 500);
    uint32_t v = 2;
    cr_assert_eq(sinew_send(push, &v, sizeof v, 0), (int) sizeof v,
                 "send refused with 1 message queued, HWM 2: errno %d", errno);
}
