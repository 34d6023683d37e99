/* Socket-core behaviour every pattern relies on, over inproc, ipc and tcp: a pipe in
 * several pattern sets at once, strict round-robin, reconnects that keep multipart
 * messages whole, pipes that end with their peer, linger on inproc connects. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <unistd.h>

#include "support/net.h"

TestSuite(core, .init = tn_setup, .fini = tn_teardown, .timeout = 30);

/* Parameters are copied into the test's process by value: names, not pointers. */
typedef struct transport {
    char name[8];
} transport;

static transport transports[] = {{"inproc"}, {"ipc"}, {"tcp"}};

/* Binds s on a fresh endpoint of transport tr; out gets the address to connect to. */
static void
bind_fresh(void *s, const char *tr, char *out, size_t len)
{
    static int counter;
    char ep[256];
    if (strcmp(tr, "inproc") == 0)
        snprintf(ep, sizeof ep, "inproc://core-%d-%d", (int) getpid(), counter++);
    else if (strcmp(tr, "ipc") == 0)
        snprintf(ep, sizeof ep, "ipc:///tmp/sinew-core-%d-%d", (int) getpid(), counter++);
    else
        snprintf(ep, sizeof ep, "tcp://127.0.0.1:*");
    tn_bind(s, ep);
    size_t n = len;
    cr_assert_eq(sinew_getsockopt(s, SINEW_LAST_ENDPOINT, out, &n), 0);
}

/* Defect: REQ keeps each peer in its load-balancing and its fair-queueing set, which
 * shared one slot in the pipe. A receive that found nothing deactivated the pipe in one
 * set through the other's index; the REP that did not get the request then closing made
 * the fair queue keep a freed pipe (ASan: heap-use-after-free under sn_fq_readable). */
Test(core, req_survives_idle_peer_leaving_after_dontwait_recv)
{
    void *rep[2], *req = tn_sock(SINEW_REQ);
    char ep[2][256];
    for (int i = 0; i < 2; i++) {
        rep[i] = tn_sock(SINEW_REP);
        tn_set(rep[i], SINEW_RCVTIMEO, 5000);
        bind_fresh(rep[i], "inproc", ep[i], sizeof ep[i]);
        tn_connect(req, ep[i]);
    }
    tn_set(req, SINEW_RCVTIMEO, 5000);
    tn_send_str(req, "q0", 0);
    char buf[8];
    cr_assert_eq(sinew_recv(req, buf, sizeof buf, SINEW_DONTWAIT), -1);
    cr_assert_eq(errno, EAGAIN);
    tn_set(rep[1], SINEW_LINGER, 0); /* round-robin: the first peer has the request */
    tn_close(rep[1]);
    /* The REQ sees that peer go before the reply comes. */
    cr_assert_eq(sinew_recv(req, buf, sizeof buf, SINEW_DONTWAIT), -1);
    cr_assert_eq(errno, EAGAIN);
    tn_recv_str(rep[0], "q0");
    tn_send_str(rep[0], "a0", 0);
    tn_recv_str(req, "a0");
    for (int i = 1; i < 5; i++) { /* the REQ goes on with the peer that is left */
        tn_send_str(req, "q", 0);
        tn_recv_str(rep[0], "q");
        tn_send_str(rep[0], "a", 0);
        tn_recv_str(req, "a");
    }
}

/* sinew_req(7), RFC 28: REQ "SHALL route outgoing messages to connected peers using a
 * round-robin strategy". With three peers the third request went to the first peer again
 * (the fair queue had overwritten the load balancer's position). */
ParameterizedTestParameters(core, req_round_robin_over_three_reps)
{
    return cr_make_param_array(transport, transports, 3);
}

ParameterizedTest(transport *tr, core, req_round_robin_over_three_reps)
{
    void *rep[3], *req = tn_sock(SINEW_REQ);
    tn_set(req, SINEW_RCVTIMEO, 5000);
    for (int i = 0; i < 3; i++) {
        char ep[256];
        rep[i] = tn_sock(SINEW_REP);
        tn_set(rep[i], SINEW_RCVTIMEO, 5000);
        bind_fresh(rep[i], tr->name, ep, sizeof ep);
        tn_connect(req, ep);
    }
    for (int i = 0; i < 9; i++) {
        char q[16];
        snprintf(q, sizeof q, "q%d", i);
        tn_send_str(req, q, 0);
        tn_recv_str(rep[i % 3], q); /* times out (fails) if it went elsewhere */
        tn_send_str(rep[i % 3], "a", 0);
        tn_recv_str(req, "a");
    }
}
