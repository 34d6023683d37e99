/* RFC 28 (REQREP): REQ and REP over inproc. */
#include <criterion/criterion.h>

#include "support/net.h"

TestSuite(reqrep, .init = tn_setup, .fini = tn_teardown, .timeout = 20);

static char ep[64];

static void
req_rep(void **req, void **rep, const char *tag)
{
    *rep = tn_sock(SINEW_REP);
    *req = tn_sock(SINEW_REQ);
    tn_set(*rep, SINEW_RCVTIMEO, 5000);
    tn_set(*req, SINEW_RCVTIMEO, 5000);
    tn_bind(*rep, tn_endpoint(ep, sizeof ep, tag));
    tn_connect(*req, ep);
}

/* RFC 28: REP "SHALL receive a request ... and send back exactly one reply"; REQ sends a
 * request and then "SHALL accept a reply only from the peer it sent to". */
Test(reqrep, request_reply_cycles)
{
    void *req, *rep;
    req_rep(&req, &rep, "cycle");
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

Test(reqrep, multipart_request_and_reply)
{
    void *req, *rep;
    req_rep(&req, &rep, "multi");
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
Test(reqrep, req_send_twice_efsm)
{
    void *req, *rep;
    req_rep(&req, &rep, "req-twice");
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

Test(reqrep, req_recv_before_send_efsm)
{
    void *req, *rep;
    req_rep(&req, &rep, "req-recv");
    char buf[4];
    errno = 0;
    cr_assert_eq(sinew_recv(req, buf, sizeof buf, 0), -1);
    cr_assert_eq(errno, EFSM);
}

Test(reqrep, rep_send_before_recv_efsm)
{
    void *req, *rep;
    req_rep(&req, &rep, "rep-send");
    errno = 0;
    cr_assert_eq(sinew_send(rep, "x", 1, 0), -1);
    cr_assert_eq(errno, EFSM);
}

Test(reqrep, rep_recv_twice_efsm)
{
    void *req, *rep;
    req_rep(&req, &rep, "rep-twice");
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
Test(reqrep, req_round_robins_across_three_reps)
{
    void *req = tn_sock(SINEW_REQ);
    tn_set(req, SINEW_RCVTIMEO, 5000);
    void *rep[3];
    char eps[3][64];
    for (int i = 0; i < 3; i++) {
        rep[i] = tn_sock(SINEW_REP);
        tn_set(rep[i], SINEW_RCVTIMEO, 5000);
        tn_bind(rep[i], tn_endpoint(eps[i], sizeof eps[i], "rr"));
        tn_connect(req, eps[i]);
    }
    int who[9], count[3] = {0};
    for (int k = 0; k < 9; k++) {
        tn_send_u32(req, (uint32_t) k, 0);
        sinew_pollitem_t items[3];
        for (int i = 0; i < 3; i++)
            items[i] = (sinew_pollitem_t){.socket = rep[i], .events = SINEW_POLLIN};
        cr_assert_eq(sinew_poll(items, 3, 5000), 1, "exactly one REP must get request %d", k);
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
        cr_assert_eq(count[i], 3, "REP %d served %d of 9", i, count[i]);
    for (int k = 0; k + 2 < 9; k++)
        cr_assert(who[k] != who[k + 1] && who[k] != who[k + 2] && who[k + 1] != who[k + 2],
                  "requests %d..%d not round-robin", k, k + 2);
}

/* RFC 28: REP "SHALL receive incoming messages from its peers using a fair-queuing
 * strategy" and reply to the peer that asked. */
Test(reqrep, rep_replies_to_the_right_requester)
{
    void *rep = tn_sock(SINEW_REP);
    tn_set(rep, SINEW_RCVTIMEO, 5000);
    tn_bind(rep, tn_endpoint(ep, sizeof ep, "fq"));
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

Test(reqrep, incompatible_peer_enocompatproto)
{
    void *rep = tn_sock(SINEW_REP), *rep2 = tn_sock(SINEW_REP), *pull = tn_sock(SINEW_PULL);
    tn_bind(rep, tn_endpoint(ep, sizeof ep, "compat"));
    errno = 0;
    cr_assert_eq(sinew_connect(rep2, ep), -1);
    cr_assert_eq(errno, ENOCOMPATPROTO);
    errno = 0;
    cr_assert_eq(sinew_connect(pull, ep), -1);
    cr_assert_eq(errno, ENOCOMPATPROTO);
}

/* RFC 28: a reply to a requester that left is discarded; the REP keeps serving others. */
Test(reqrep, rep_survives_requester_leaving_before_reply)
{
    void *rep = tn_sock(SINEW_REP), *req = tn_sock(SINEW_REQ), *req2 = tn_sock(SINEW_REQ);
    tn_set(rep, SINEW_RCVTIMEO, 5000);
    tn_set(req2, SINEW_RCVTIMEO, 5000);
    tn_bind(rep, tn_endpoint(ep, sizeof ep, "gone"));
    tn_connect(req, ep);
    tn_send_str(req, "q", 0);
    tn_close(req);
    tn_recv_str(rep, "q");
    cr_assert_eq(sinew_send(rep, "a", 1, 0), 1, "reply to a departed REQ failed: errno %d",
                 errno);
    tn_connect(req2, ep);
    tn_send_str(req2, "q2", 0);
    tn_recv_str(rep, "q2");
    tn_send_str(rep, "a2", 0);
    tn_recv_str(req2, "a2");
}

Test(reqrep, req_awaiting_dontwait_recv_eagain)
{
    void *req = tn_sock(SINEW_REQ), *rep = tn_sock(SINEW_REP);
    tn_bind(rep, tn_endpoint(ep, sizeof ep, "await"));
    tn_connect(req, ep);
    tn_send_str(req, "q", 0);
    char b[4];
    errno = 0;
    cr_assert_eq(sinew_recv(req, b, sizeof b, SINEW_DONTWAIT), -1);
    cr_assert_eq(errno, EAGAIN);
}
