/* RFC 28 (REQREP): REQ and REP, each test over inproc, ipc and tcp
 * (support/transports.h). */
#include <criterion/criterion.h>

#include "spec/routing.h"

TestSuite(spec_reqrep, .init = tn_tran_setup, .fini = tn_tran_teardown, .timeout = 20);

/* A REP bound on tran and a REQ connected to it. The REQ's pipe exists once connect
 * returns, so its first request waits there for the connection. */
static void
req_rep(void **req, void **rep, const char *tran)
{
    char ep[TN_EP_MAX];
    *rep = tn_sock(SINEW_REP);
    *req = tn_sock(SINEW_REQ);
    tn_set(*rep, SINEW_RCVTIMEO, 5000);
    tn_set(*req, SINEW_RCVTIMEO, 5000);
    tn_connect(*req, tn_bind_any(*rep, tran, ep));
}

/* RFC 28: REP "SHALL receive a request ... and send back exactly one reply"; REQ sends a
 * request and then "SHALL accept a reply only from the peer it sent to". */
TN_TRAN_TEST(spec_reqrep, request_reply_cycles)
{
    void *req, *rep;
    req_rep(&req, &rep, tran);
    for (int i = 0; i < 50; i++) {
        char q[16], a[16];
        snprintf(q, sizeof q, "ask-%d", i);
        snprintf(a, sizeof a, "ans-%d", i);
        tn_send_str(req, q, 0);
        tn_recv_str(rep, q);
        cr_assert_eq(tn_rcvmore(rep), 0, "envelope leaked to the application");
        tn_send_str(rep, a, 0);
        tn_recv_str(req, a);
        cr_assert_eq(tn_rcvmore(req), 0);
    }
}

TN_TRAN_TEST(spec_reqrep, multipart_request_and_reply)
{
    void *req, *rep;
    req_rep(&req, &rep, tran);
    tn_send_str(req, "a", SINEW_SNDMORE);
    tn_send_str(req, "b", SINEW_SNDMORE);
    tn_send_str(req, "c", 0);
    tn_recv_str(rep, "a");
    cr_assert(tn_rcvmore(rep));
    tn_recv_str(rep, "b");
    cr_assert(tn_rcvmore(rep));
    tn_recv_str(rep, "c");
    cr_assert_not(tn_rcvmore(rep));
    tn_send_str(rep, "x", SINEW_SNDMORE);
    tn_send_str(rep, "y", 0);
    tn_recv_str(req, "x");
    cr_assert(tn_rcvmore(req));
    tn_recv_str(req, "y");
    cr_assert_not(tn_rcvmore(req));
}

/* RFC 28: REQ "SHALL NOT send a new request before it has received the reply". */
TN_TRAN_TEST(spec_reqrep, req_send_twice_efsm)
{
    void *req, *rep;
    req_rep(&req, &rep, tran);
    tn_send_str(req, "one", 0);
    errno = 0;
    cr_assert_eq(sinew_send(req, "two", 3, 0), -1);
    cr_assert_eq(errno, EFSM);
    /* The socket is still usable: the original cycle completes. */
    tn_recv_str(rep, "one");
    tn_send_str(rep, "r", 0);
    tn_recv_str(req, "r");
    tn_send_str(req, "three", 0);
    tn_recv_str(rep, "three");
}

TN_TRAN_TEST(spec_reqrep, req_recv_before_send_efsm)
{
    void *req, *rep;
    req_rep(&req, &rep, tran);
    char buf[4];
    errno = 0;
    cr_assert_eq(sinew_recv(req, buf, sizeof buf, 0), -1);
    cr_assert_eq(errno, EFSM);
    /* The refused call changed nothing: a cycle still completes (which also leaves no
     * connection waiting to be accepted at teardown, see spec_lifecycle's
     * close_with_connections_waiting_to_be_accepted). */
    tn_send_str(req, "q", 0);
    tn_recv_str(rep, "q");
    tn_send_str(rep, "a", 0);
    tn_recv_str(req, "a");
}

TN_TRAN_TEST(spec_reqrep, rep_send_before_recv_efsm)
{
    void *req, *rep;
    req_rep(&req, &rep, tran);
    errno = 0;
    cr_assert_eq(sinew_send(rep, "x", 1, 0), -1);
    cr_assert_eq(errno, EFSM);
    /* The refused call changed nothing: a cycle still completes. */
    tn_send_str(req, "q", 0);
    tn_recv_str(rep, "q");
    tn_send_str(rep, "a", 0);
    tn_recv_str(req, "a");
}

TN_TRAN_TEST(spec_reqrep, rep_recv_twice_efsm)
{
    void *req, *rep;
    req_rep(&req, &rep, tran);
    tn_send_str(req, "q", 0);
    tn_recv_str(rep, "q");
    char buf[4];
    errno = 0;
    cr_assert_eq(sinew_recv(rep, buf, sizeof buf, 0), -1);
    cr_assert_eq(errno, EFSM);
    tn_send_str(rep, "a", 0);
    tn_recv_str(req, "a");
}

/* RFC 28: REQ "SHALL route outgoing messages to connected peers using a round-robin
 * strategy". */
TN_TRAN_TEST(spec_reqrep, req_round_robins_across_three_reps)
{
    void *req = tn_sock(SINEW_REQ);
    tn_set(req, SINEW_RCVTIMEO, 5000);
    void *rep[3];
    char eps[3][TN_EP_MAX];
    for (int i = 0; i < 3; i++) {
        rep[i] = tn_sock(SINEW_REP);
        tn_set(rep[i], SINEW_RCVTIMEO, 5000);
        tn_connect(req, tn_bind_any(rep[i], tran, eps[i]));
    }
    int who[9], count[3] = {0};
    for (int k = 0; k < 9; k++) {
        tn_send_u32(req, (uint32_t) k, 0);
        sinew_pollitem_t items[3];
        for (int i = 0; i < 3; i++)
            items[i] = (sinew_pollitem_t){.socket = rep[i], .events = SINEW_POLLIN};
        cr_assert_eq(sinew_poll(items, 3, 5000), 1, "exactly one REP must get request %d",
                     k);
        who[k] = -1;
        for (int i = 0; i < 3; i++)
            if (items[i].revents & SINEW_POLLIN)
                who[k] = i;
        cr_assert_geq(who[k], 0);
        cr_assert_eq(tn_recv_u32(rep[who[k]]), (uint32_t) k);
        count[who[k]]++;
        tn_send_u32(rep[who[k]], (uint32_t) (100 + k), 0);
        cr_assert_eq(tn_recv_u32(req), (uint32_t) (100 + k));
    }
    for (int i = 0; i < 3; i++)
        cr_assert_eq(count[i], 3,
                     "REP %d served %d of 9 (REPs in order: %d%d%d%d%d%d%d%d%d)", i,
                     count[i], who[0], who[1], who[2], who[3], who[4], who[5], who[6],
                     who[7], who[8]);
    for (int k = 0; k + 2 < 9; k++)
        cr_assert(who[k] != who[k + 1] && who[k] != who[k + 2] &&
                      who[k + 1] != who[k + 2],
                  "requests %d..%d not round-robin", k, k + 2);
}

/* RFC 28: REP "SHALL receive incoming messages from its peers using a fair-queuing
 * strategy" and reply to the peer that asked. */
TN_TRAN_TEST(spec_reqrep, rep_replies_to_the_right_requester)
{
    char ep[TN_EP_MAX];
    void *rep = tn_sock(SINEW_REP);
    tn_set(rep, SINEW_RCVTIMEO, 5000);
    tn_bind_any(rep, tran, ep);
    void *req[3];
    for (uint32_t i = 0; i < 3; i++) {
        req[i] = tn_sock(SINEW_REQ);
        tn_set(req[i], SINEW_RCVTIMEO, 5000);
        tn_connect(req[i], ep);
        tn_send_u32(req[i], i, 0);
    }
    bool seen[3] = {false};
    for (int k = 0; k < 3; k++) {
        uint32_t i = tn_recv_u32(rep);
        cr_assert_lt(i, 3);
        cr_assert_not(seen[i]);
        seen[i] = true;
        tn_send_u32(rep, 1000 + i, 0);
    }
    for (uint32_t i = 0; i < 3; i++)
        cr_assert_eq(tn_recv_u32(req[i]), 1000 + i, "reply went to the wrong REQ");
}

/* RFC 28: REP talks to REQ (and DEALER) only. */
TN_TRAN_TEST(spec_reqrep, incompatible_peer_refused)
{
    char ep[TN_EP_MAX];
    void *rep = tn_sock(SINEW_REP), *rep2 = tn_sock(SINEW_REP);
    void *pull = tn_sock(SINEW_PULL);
    tn_bind_any(rep, tran, ep);
    tn_expect_incompatible(rep2, ep, tran);
    tn_expect_incompatible(pull, ep, tran);
}

/* RFC 28: a reply to a requester that left is discarded; the REP keeps serving others. */
TN_TRAN_TEST(spec_reqrep, rep_survives_requester_leaving_before_reply)
{
    void *rep = tn_sock(SINEW_REP), *req = tn_sock(SINEW_REQ), *req2 = tn_sock(SINEW_REQ);
    tn_set(rep, SINEW_RCVTIMEO, 5000);
    tn_set(req2, SINEW_RCVTIMEO, 5000);
    char ep[TN_EP_MAX];
    tn_connect(req, tn_bind_any(rep, tran, ep));
    tn_send_str(req, "q", 0);
    tn_close(req);
    tn_recv_str(rep, "q");
    cr_assert_eq(sinew_send(rep, "a", 1, 0), 1,
                 "reply to a departed REQ failed: errno %d", errno);
    tn_connect(req2, ep);
    tn_send_str(req2, "q2", 0);
    tn_recv_str(rep, "q2");
    tn_send_str(rep, "a2", 0);
    tn_recv_str(req2, "a2");
}

TN_TRAN_TEST(spec_reqrep, req_awaiting_dontwait_recv_eagain)
{
    void *req, *rep;
    req_rep(&req, &rep, tran);
    tn_send_str(req, "q", 0);
    char b[4];
    errno = 0;
    cr_assert_eq(sinew_recv(req, b, sizeof b, SINEW_DONTWAIT), -1);
    cr_assert_eq(errno, EAGAIN);
    /* Still awaiting: the reply, when it comes, is received. */
    tn_recv_str(rep, "q");
    tn_send_str(rep, "a", 0);
    tn_recv_str(req, "a");
}

/* ---- recovery: REQ_RELAXED, REQ_CORRELATE, lost requests (libzmq 4.3) ------------ */

/* Waits, 5 s at most, until s has counted n drops (a stale reply travels first). */
static void
wait_dropped(void *s, uint64_t n)
{
    uint64_t deadline = tn_now_ms() + 5000;
    while (rt_dropped(s) < n) {
        cr_assert_lt(tn_now_ms(), deadline, "%llu drops, expected %llu",
                     (unsigned long long) rt_dropped(s), (unsigned long long) n);
        tn_expect_nothing(s, 5, "a stale reply was delivered");
    }
    cr_assert_eq(rt_dropped(s), n);
}

/* A REP to stand in for one that closed: bound at the same address over ipc and tcp
 * (retrying, 5 s at most, while the old one's address is still in use; the REQ
 * reconnects), at a new name over inproc, where req is connected to it (an inproc
 * connection does not come back). */
static void *
rep_replacing(void *req, const char *tran, char *ep)
{
    void *rep = tn_sock(SINEW_REP);
    tn_set(rep, SINEW_RCVTIMEO, 5000);
    if (!tn_tran_is_net(tran)) {
        tn_connect(req, tn_bind_any(rep, tran, ep));
        return rep;
    }
    uint64_t deadline = tn_now_ms() + 5000;
    while (sinew_bind(rep, ep) != 0) {
        cr_assert_eq(errno, EADDRINUSE, "bind: errno %d", errno);
        cr_assert_lt(tn_now_ms(), deadline, "%s still in use", ep);
        tn_expect_nothing(rep, 5, "");
    }
    return rep;
}

/* REQ_RELAXED: a new request may go while a reply is awaited; it goes to the next peer,
 * and the late reply to the old one, from the other peer, is discarded and counted. */
TN_TRAN_TEST(spec_reqrep, relaxed_resend_discards_late_reply)
{
    char ep1[TN_EP_MAX], ep2[TN_EP_MAX];
    void *rep1 = tn_sock(SINEW_REP), *rep2 = tn_sock(SINEW_REP);
    tn_set(rep1, SINEW_RCVTIMEO, 5000);
    tn_set(rep2, SINEW_RCVTIMEO, 5000);
    tn_bind_any(rep1, tran, ep1);
    tn_bind_any(rep2, tran, ep2);
    void *req = tn_sock(SINEW_REQ);
    tn_set(req, SINEW_RCVTIMEO, 5000);
    tn_set(req, SINEW_REQ_RELAXED, 1);
    tn_connect(req, ep1);
    tn_connect(req, ep2);
    tn_send_str(req, "first", 0);
    tn_recv_str(rep1, "first");
    tn_send_str(req, "second", 0); /* strict REQ: EFSM */
    tn_recv_str(rep2, "second");
    tn_send_str(rep1, "late", 0);
    tn_send_str(rep2, "fresh", 0);
    tn_recv_str(req, "fresh");
    wait_dropped(req, 1);
    /* The REQ is in step again: the next cycle is normal. */
    tn_send_str(req, "third", 0);
    tn_recv_str(rep1, "third");
    tn_send_str(rep1, "ok", 0);
    tn_recv_str(req, "ok");
}

/* REQ_CORRELATE: each request carries a 4-byte id (one more each time) before the
 * delimiter, and a reply is accepted only with the current id (here, both replies
 * come from the same peer: only the id tells the stale one). */
TN_TRAN_TEST(spec_reqrep, correlate_accepts_only_current_reply)
{
    char ep[TN_EP_MAX];
    void *router = tn_sock(SINEW_ROUTER);
    tn_set(router, SINEW_RCVTIMEO, 5000);
    tn_bind_any(router, tran, ep);
    void *req = tn_sock(SINEW_REQ);
    tn_set(req, SINEW_RCVTIMEO, 5000);
    tn_set(req, SINEW_REQ_RELAXED, 1);
    tn_set(req, SINEW_REQ_CORRELATE, 1);
    cr_assert_eq(sinew_setsockopt(req, SINEW_ROUTING_ID, "c", 1), 0);
    tn_connect(req, ep);
    uint32_t ids[2];
    for (int i = 0; i < 2; i++) {
        tn_send_str(req, i == 0 ? "q0" : "q1", 0);
        tn_recv_str(router, "c");
        cr_assert_eq(sinew_recv(router, &ids[i], sizeof ids[i], 0), 4, "request id frame");
        cr_assert(tn_rcvmore(router));
        cr_assert_eq(sinew_recv(router, NULL, 0, 0), 0, "delimiter");
        tn_recv_str(router, i == 0 ? "q0" : "q1");
        cr_assert_not(tn_rcvmore(router));
    }
    cr_assert_eq(ids[1], ids[0] + 1, "request ids %u, %u", ids[0], ids[1]);
    /* The stale reply first, then one with no id at all, then the right one. */
    for (int i = 0; i < 3; i++) {
        tn_send_str(router, "c", SINEW_SNDMORE);
        if (i != 1)
            cr_assert_eq(sinew_send(router, &ids[i == 0 ? 0 : 1], 4, SINEW_SNDMORE), 4);
        cr_assert_eq(sinew_send(router, NULL, 0, SINEW_SNDMORE), 0);
        tn_send_str(router, i == 0 ? "stale" : i == 1 ? "no-id" : "current", 0);
    }
    tn_recv_str(req, "current");
    cr_assert_eq(rt_dropped(req), 2);
    sinew_socket_stats_t st;
    cr_assert_eq(sinew_socket_stats(req, &st), 0);
    cr_assert_eq(st.dropped_by[SINEW_DROP_INVALID], 2, "stale replies count as invalid");
}

/* The lazy pirate (zguide ch. 4) without closing the socket: the server vanishes with
 * the request; after a timeout the client sends again (REQ_RELAXED), a new server
 * answers, and a late reply could never be mistaken for it (REQ_CORRELATE). */
TN_TRAN_TEST(spec_reqrep, lazy_pirate_survives_vanished_server)
{
    char ep[TN_EP_MAX];
    void *srv = tn_sock(SINEW_REP);
    tn_set(srv, SINEW_RCVTIMEO, 5000);
    tn_bind_any(srv, tran, ep);
    void *req = tn_sock(SINEW_REQ);
    tn_set(req, SINEW_RCVTIMEO, 100);
    tn_set(req, SINEW_REQ_RELAXED, 1);
    tn_set(req, SINEW_REQ_CORRELATE, 1);
    tn_set(req, SINEW_RECONNECT_IVL, 20);
    tn_connect(req, ep);
    tn_send_str(req, "request", 0);
    tn_recv_str(srv, "request");
    tn_close(srv); /* gone without a reply */
    char buf[16];
    errno = 0;
    cr_assert_eq(sinew_recv(req, buf, sizeof buf, 0), -1);
    cr_assert_eq(errno, EAGAIN);
    void *srv2 = rep_replacing(req, tran, ep);
    tn_send_str(req, "retry", 0); /* no EFSM */
    tn_recv_str(srv2, "retry");
    tn_send_str(srv2, "answer", 0);
    tn_set(req, SINEW_RCVTIMEO, 5000);
    tn_recv_str(req, "answer");
}

/* A strict REQ whose peer left with the request (inproc: the pipe goes; ipc and tcp:
 * the connection comes back, a hiccup) may send again: the reply can never come. */
TN_TRAN_TEST(spec_reqrep, strict_req_resends_after_peer_lost)
{
    char ep[TN_EP_MAX];
    void *srv = tn_sock(SINEW_REP);
    tn_set(srv, SINEW_RCVTIMEO, 5000);
    tn_bind_any(srv, tran, ep);
    void *req = tn_sock(SINEW_REQ);
    tn_set(req, SINEW_RCVTIMEO, 5000);
    tn_set(req, SINEW_RECONNECT_IVL, 20);
    tn_connect(req, ep);
    tn_send_str(req, "request", 0);
    tn_recv_str(srv, "request");
    tn_close(srv);
    void *srv2 = rep_replacing(req, tran, ep);
    uint64_t deadline = tn_now_ms() + 5000;
    /* EFSM until the REQ learns the request is lost (the reconnect, over ipc and tcp). */
    while (sinew_send(req, "again", 5, 0) != 5) {
        cr_assert_eq(errno, EFSM, "send: errno %d", errno);
        cr_assert_lt(tn_now_ms(), deadline, "still EFSM after 5 s");
        tn_expect_nothing(req, 5, "a reply from nowhere");
    }
    tn_recv_str(srv2, "again");
    tn_send_str(srv2, "answer", 0);
    tn_recv_str(req, "answer");
}

Test(spec_reqrep, recovery_option_values_checked)
{
    void *req = tn_sock(SINEW_REQ);
    int opts[] = {SINEW_REQ_RELAXED, SINEW_REQ_CORRELATE};
    for (int i = 0; i < 2; i++) {
        errno = 0;
        cr_assert_eq(sinew_setsockopt_int(req, opts[i], -1), -1);
        cr_assert_eq(errno, EINVAL);
        cr_assert_eq(sinew_setsockopt_int(req, opts[i], 1), 0);
    }
    void *rep = tn_sock(SINEW_REP);
    cr_assert_eq(sinew_setsockopt_int(rep, SINEW_REQ_RELAXED, 1), -1);
    cr_assert_eq(errno, EINVAL);
}

/* RFC 28: REP keeps the whole envelope, whatever its depth (here 40 routing frames, as
 * from 40 ROUTERs in a row), and puts it back on the reply. */
TN_TRAN_TEST(spec_reqrep, rep_returns_deep_envelopes)
{
    enum { DEPTH = 40 };
    char ep[TN_EP_MAX];
    void *rep = tn_sock(SINEW_REP);
    tn_set(rep, SINEW_RCVTIMEO, 5000);
    tn_bind_any(rep, tran, ep);
    void *d = tn_sock(SINEW_DEALER);
    tn_set(d, SINEW_RCVTIMEO, 5000);
    tn_connect(d, ep);
    for (int i = 0; i < DEPTH; i++) {
        char hop[16];
        snprintf(hop, sizeof hop, "hop%d", i);
        tn_send_str(d, hop, SINEW_SNDMORE);
    }
    cr_assert_eq(sinew_send(d, NULL, 0, SINEW_SNDMORE), 0);
    tn_send_str(d, "body", 0);
    tn_recv_str(rep, "body");
    cr_assert_not(tn_rcvmore(rep));
    tn_send_str(rep, "reply", 0);
    for (int i = 0; i < DEPTH; i++) {
        char hop[16];
        snprintf(hop, sizeof hop, "hop%d", i);
        tn_recv_str(d, hop);
        cr_assert(tn_rcvmore(d));
    }
    cr_assert_eq(sinew_recv(d, NULL, 0, 0), 0);
    cr_assert(tn_rcvmore(d));
    tn_recv_str(d, "reply");
    cr_assert_not(tn_rcvmore(d));
}
