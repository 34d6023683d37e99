/* RFC 28 (REQREP), DEALER: round-robin out to peers with room, fair-queued in, no
 * envelope handling, blocking (never dropping) at the HWM, PROBE_ROUTER; each over
 * inproc, ipc and tcp (support/transports.h). */
#include <criterion/criterion.h>

#include "spec/routing.h"

TestSuite(spec_dealer, .init = tn_tran_setup, .fini = tn_tran_teardown, .timeout = 30);

/* RFC 28: DEALER "SHALL route outgoing messages to available peers using a round-robin
 * strategy" and "SHALL receive incoming messages from its peers using a fair-queuing
 * strategy"; multipart messages stay whole. */
TN_TRAN_TEST(spec_dealer, round_robin_out_fair_queue_in)
{
    char ep[TN_EP_MAX];
    void *d = rt_timed(SINEW_DEALER);
    tn_bind_any(d, tran, ep);
    void *peers[3];
    for (int i = 0; i < 3; i++) {
        peers[i] = rt_timed(SINEW_DEALER);
        tn_connect(peers[i], ep);
    }
    tn_wait_routes(d, peers, 3);
    for (int i = 0; i < 6; i++)
        rt_send(d, "m", "tail", NULL);
    for (int i = 0; i < 3; i++) {
        rt_expect(peers[i], "m", "tail", NULL);
        rt_expect(peers[i], "m", "tail", NULL);
        tn_expect_nothing(peers[i], 20, "more than its share");
    }
    /* Each peer queues two messages; they come in turns, not one peer's all first. */
    for (int i = 0; i < 3; i++) {
        char a[24], b[24];
        snprintf(a, sizeof a, "p%d-0", i);
        snprintf(b, sizeof b, "p%d-1", i);
        rt_send(peers[i], a, "x", NULL);
        rt_send(peers[i], b, "x", NULL);
    }
    /* Over the network the three may arrive at different times: wait for all six. */
    for (int i = 0; i < 3; i++) {
        sinew_pollitem_t it = {.socket = d, .events = SINEW_POLLIN};
        cr_assert_eq(sinew_poll(&it, 1, 5000), 1);
    }
    int seen[3] = {0};
    for (int k = 0; k < 6; k++) {
        char buf[8] = {0};
        cr_assert_eq(rt_recv_part(d, buf, sizeof buf - 1), 4);
        cr_assert(tn_rcvmore(d));
        tn_recv_str(d, "x");
        int p = buf[1] - '0', n = buf[3] - '0';
        cr_assert(p >= 0 && p < 3);
        cr_assert_eq(n, seen[p], "peer %d's messages out of order", p);
        seen[p]++;
    }
}

/* RFC 28: DEALER to REP: the application writes the empty delimiter itself. */
TN_TRAN_TEST(spec_dealer, talks_to_rep_with_explicit_delimiter)
{
    char ep[TN_EP_MAX];
    void *rep = rt_timed(SINEW_REP);
    tn_bind_any(rep, tran, ep);
    void *d = rt_timed(SINEW_DEALER);
    tn_connect(d, ep);
    for (int i = 0; i < 3; i++) {
        rt_send(d, "", "question", NULL);
        rt_expect(rep, "question", NULL);
        rt_send(rep, "answer", "two", NULL);
        rt_expect(d, "", "answer", "two", NULL);
    }
}

/* RFC 28: "SHALL block on sending, or return a suitable error, when it has no available
 * peers" / at the HWM: a DEALER never drops. */
TN_TRAN_TEST(spec_dealer, blocks_at_hwm_never_drops)
{
    char ep[TN_EP_MAX];
    void *peer = rt_timed(SINEW_DEALER);
    tn_set(peer, SINEW_RCVHWM, 4);
    tn_set(peer, SINEW_RCVBUF, 4096);
    tn_bind_any(peer, tran, ep);
    void *d = rt_timed(SINEW_DEALER);
    tn_set(d, SINEW_SNDHWM, 4);
    tn_set(d, SINEW_SNDBUF, 4096);
    /* No peer yet (ipc, tcp: not connected; inproc: nothing) blocks too. */
    tn_set(d, SINEW_SNDTIMEO, 50);
    errno = 0;
    cr_assert_eq(sinew_send(d, "x", 1, 0), -1);
    cr_assert_eq(errno, EAGAIN);
    tn_connect(d, ep);
    void *peers[1] = {peer};
    tn_wait_routes(d, peers, 1);
    /* Fill: DONTWAIT sends until EAGAIN, then a blocking one; over ipc and tcp the I/O
     * thread makes room until the kernel buffers are full too, so go on until a blocking
     * send waits its whole SNDTIMEO. */
    char big[1024] = {0};
    int sent = 0;
    bool eagain_seen = false;
    for (;;) {
        cr_assert_lt(sent, 100000, "no HWM after %d messages", sent);
        if (sinew_send(d, big, sizeof big, SINEW_DONTWAIT) != (int) sizeof big) {
            cr_assert_eq(errno, EAGAIN, "errno %d", errno);
            eagain_seen = true;
            uint64_t t0 = tn_now_ms();
            if (sinew_send(d, big, sizeof big, 0) != (int) sizeof big) {
                cr_assert_eq(errno, EAGAIN);
                cr_assert_geq(tn_now_ms() - t0, 40, "blocking send did not wait");
                break;
            }
        }
        sent++;
    }
    cr_assert(eagain_seen);
    if (!tn_tran_is_net(tran)) /* no I/O thread that could make room meanwhile */
        cr_assert_eq(tn_get(d, SINEW_EVENTS) & SINEW_POLLOUT, 0);
    cr_assert_eq(rt_dropped(d), 0);
    int got = 0;
    char buf[sizeof big];
    while (got < sent) {
        cr_assert_eq(sinew_recv(peer, buf, sizeof buf, 0), (int) sizeof big, "after %d: errno %d",
                     got, errno);
        got++;
    }
    tn_expect_nothing(peer, 20, "more than was sent");
    sinew_pollitem_t it = {.socket = d, .events = SINEW_POLLOUT};
    cr_assert_eq(sinew_poll(&it, 1, 5000), 1, "no room after the peer read");
}

/* PROBE_ROUTER on a DEALER: its first message to a ROUTER is an empty one. */
TN_TRAN_TEST(spec_dealer, probe_router_sends_empty_message)
{
    char ep[TN_EP_MAX];
    void *r = rt_timed(SINEW_ROUTER);
    tn_bind_any(r, tran, ep);
    void *d = rt_timed(SINEW_DEALER);
    cr_assert_eq(sinew_setsockopt(d, SINEW_ROUTING_ID, "dd", 2), 0);
    tn_set(d, SINEW_PROBE_ROUTER, 1);
    tn_connect(d, ep);
    rt_expect(r, "dd", "", NULL);
    rt_send(r, "dd", "welcome", NULL);
    rt_expect(d, "welcome", NULL);
    errno = 0;
    cr_assert_eq(sinew_setsockopt_int(d, SINEW_PROBE_ROUTER, -1), -1);
    cr_assert_eq(errno, EINVAL);
}

/* SINEW_EVENTS: POLLOUT with a peer that has room, POLLIN with a message waiting. */
TN_TRAN_TEST(spec_dealer, events_report_in_and_out)
{
    char ep[TN_EP_MAX];
    void *d = rt_timed(SINEW_DEALER);
    cr_assert_eq(tn_get(d, SINEW_EVENTS), 0, "ready with no peer");
    void *peer = rt_timed(SINEW_DEALER);
    tn_bind_any(peer, tran, ep);
    tn_connect(d, ep);
    sinew_pollitem_t out = {.socket = d, .events = SINEW_POLLOUT};
    cr_assert_eq(sinew_poll(&out, 1, 5000), 1);
    tn_send_str(peer, "m", 0);
    sinew_pollitem_t in = {.socket = d, .events = SINEW_POLLIN};
    cr_assert_eq(sinew_poll(&in, 1, 5000), 1);
    cr_assert_eq(tn_get(d, SINEW_EVENTS), SINEW_POLLIN | SINEW_POLLOUT);
    tn_recv_str(d, "m");
    cr_assert_eq(tn_get(d, SINEW_EVENTS), SINEW_POLLOUT);
}
