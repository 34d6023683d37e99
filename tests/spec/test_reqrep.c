/* RFC 28 (REQREP): REQ and REP, each test over inproc, ipc and tcp
 * (support/transports.h). */
#include <criterion/criterion.h>

#include "support/net.h"
#include "support/transports.h"

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
