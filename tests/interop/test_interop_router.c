/* Interop of the routing types (RFC 28) with real libzmq, both bind directions, tcp and
 * ipc: REQ-ROUTER (with REQ_CORRELATE's request id frame), DEALER-REP, DEALER-ROUTER
 * (announced and generated routing ids), ROUTER-ROUTER (CONNECT_ROUTING_ID), each way
 * round; and multi-frame envelopes through a broker of one library between clients and
 * servers of the other. */
#include "interop.h"

typedef struct combo {
    char transport[4];
    bool sinew_binds;
    bool named;          /* the client announces a routing id */
    int sinew_type, zmq_type;
} combo;

static const int pairs[][2] = {
    {SINEW_REQ, ZMQ_ROUTER},    {SINEW_ROUTER, ZMQ_REQ},    {SINEW_DEALER, ZMQ_REP},
    {SINEW_REP, ZMQ_DEALER},    {SINEW_DEALER, ZMQ_ROUTER}, {SINEW_ROUTER, ZMQ_DEALER},
    {SINEW_ROUTER, ZMQ_ROUTER},
};
#define NPAIRS (sizeof pairs / sizeof pairs[0])

ParameterizedTestParameters(interop_router, exchange)
{
    static combo c[NPAIRS * 2 * 2 * 2];
    size_t n = 0;
    for (int t = 0; t < 2; t++)
        for (int b = 0; b < 2; b++)
            for (size_t i = 0; i < NPAIRS; i++)
                for (int named = 0; named < 2; named++) {
                    c[n] = (combo){.sinew_binds = b, .named = named,
                                   .sinew_type = pairs[i][0], .zmq_type = pairs[i][1]};
                    snprintf(c[n].transport, sizeof c[n].transport, "%s", t ? "ipc" : "tcp");
                    n++;
                }
    return cr_make_param_array(combo, c, n);
}

static void
set_id(ip_sock *s, int opt, const char *id)
{
    int rc = s->zmq ? zmq_setsockopt(s->s, opt, id, strlen(id))
                    : sinew_setsockopt(s->s, opt, id, strlen(id));
    cr_assert_eq(rc, 0, "routing id option %d: errno %d", opt, errno);
}

/* Receives one part into buf (at most cap bytes); returns its size, *more its flag. */
static int
recv_part(ip_sock *s, void *buf, size_t cap, bool *more)
{
    int n = ip_recv_raw(s, buf, cap, 0);
    cr_assert_geq(n, 0, "%s recv: errno %d", s->zmq ? "zmq" : "sinew", errno);
    int m = 0;
    size_t len = sizeof m;
    if (s->zmq)
        zmq_getsockopt(s->s, ZMQ_RCVMORE, &m, &len);
    else
        sinew_getsockopt(s->s, SINEW_RCVMORE, &m, &len);
    *more = m != 0;
    return n;
}

/* An envelope as a ROUTER saw it: the frames up to the body, sent back as they came. */
typedef struct envelope {
    uint8_t frames[4][256];
    int len[4];
    int n;
} envelope;

/* The server side of one request: reads [envelope...] "a" "b" (the envelope is whatever
 * the type prepends: a ROUTER's routing id, a REQ's request id and delimiter...), checks
 * the body and answers "x" "y" with the same envelope. */
static void
serve(ip_sock *srv, int type, bool client_is_req, const char *client_id, int id_len)
{
    envelope env = {0};
    bool more = true;
    if (type == ZMQ_ROUTER) {
        int n = recv_part(srv, env.frames[0], 256, &more);
        cr_assert(more);
        if (client_id != NULL) {
            cr_assert_eq(n, id_len);
            cr_assert_eq(memcmp(env.frames[0], client_id, (size_t) n), 0, "routing id");
        } else {
            cr_assert_eq(n, 5, "generated id of %d bytes", n);
            cr_assert_eq(env.frames[0][0], 0, "generated id starts with 0");
        }
        env.len[0] = n;
        env.n = 1;
        if (client_is_req) {
            /* REQ_CORRELATE's request id, then the delimiter. */
            env.len[1] = recv_part(srv, env.frames[1], 256, &more);
            cr_assert_eq(env.len[1], 4, "request id frame");
            env.len[2] = recv_part(srv, env.frames[2], 256, &more);
            cr_assert_eq(env.len[2], 0, "delimiter");
            env.n = 3;
        }
    }
    ip_recv_check(srv, "a", 1, true);
    ip_recv_check(srv, "b", 1, false);
    for (int i = 0; i < env.n; i++)
        ip_send(srv, env.frames[i], (size_t) env.len[i], ZMQ_SNDMORE);
    ip_send_str(srv, "x", ZMQ_SNDMORE);
    ip_send_str(srv, "y", 0);
}

ParameterizedTest(combo *c, interop_router, exchange, .init = ip_setup, .fini = ip_teardown,
                  .timeout = 20)
{
    ip_sock *s = ip_socket(false, c->sinew_type);
    ip_sock *z = ip_socket(true, c->zmq_type);
    ip_setint(s, SINEW_RCVTIMEO, IP_WAIT_MS);
    ip_setint(z, ZMQ_RCVTIMEO, IP_WAIT_MS);
    ip_setint(s, SINEW_SNDTIMEO, IP_WAIT_MS);
    ip_setint(z, ZMQ_SNDTIMEO, IP_WAIT_MS);
    bool rr = c->sinew_type == SINEW_ROUTER && c->zmq_type == ZMQ_ROUTER;
    /* Who asks: REQ or DEALER; between two ROUTERs, the one that connects. */
    ip_sock *binder = c->sinew_binds ? s : z, *connecter = c->sinew_binds ? z : s;
    ip_sock *cli, *srv;
    if (rr) {
        cli = connecter;
        srv = binder;
    } else {
        bool s_asks = c->sinew_type == SINEW_REQ || c->sinew_type == SINEW_DEALER;
        cli = s_asks ? s : z;
        srv = s_asks ? z : s;
    }
    int cli_type = cli == s ? c->sinew_type : c->zmq_type;
    int srv_type = srv == s ? c->sinew_type : c->zmq_type;
    /* A client without a routing id gets a generated one (REQ and DEALER only). */
    bool named = c->named || rr;
    if (named)
        set_id(cli, ZMQ_ROUTING_ID, "client-id");
    if (cli_type == ZMQ_REQ)
        ip_setint(cli, ZMQ_REQ_CORRELATE, 1);
    if (rr) {
        set_id(srv, ZMQ_ROUTING_ID, "server-id"); /* not needed: named by the connecter */
        set_id(cli, ZMQ_CONNECT_ROUTING_ID, "srv");
    }
    char ep[256];
    ip_bind(binder, c->transport, ep, sizeof ep);
    ip_connect(connecter, ep);
    for (int round = 0; round < 3; round++) {
        if (rr)
            ip_send_str(cli, "srv", ZMQ_SNDMORE);
        if (cli_type == ZMQ_DEALER && srv_type == ZMQ_REP)
            ip_send(cli, "", 0, ZMQ_SNDMORE);
        ip_send_str(cli, "a", ZMQ_SNDMORE);
        ip_send_str(cli, "b", 0);
        serve(srv, srv_type, cli_type == ZMQ_REQ, named ? "client-id" : NULL,
              named ? 9 : 0);
        if (rr)
            ip_recv_check(cli, "srv", 3, true);
        if (cli_type == ZMQ_DEALER && srv_type == ZMQ_REP)
            ip_recv_check(cli, "", 0, true);
        ip_recv_check(cli, "x", 1, true);
        ip_recv_check(cli, "y", 1, false);
    }
}

/* ---- envelopes through a broker of the other library ------------------------------ */

typedef struct chain {
    char transport[4];
    bool sinew_broker; /* else the clients and servers are sinew's */
} chain;

ParameterizedTestParameters(interop_router, broker_chain)
{
    static chain c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (chain){.sinew_broker = i & 1};
        snprintf(c[i].transport, sizeof c[i].transport, "%s", i & 2 ? "ipc" : "tcp");
    }
    return cr_make_param_array(chain, c, 4);
}

/* Moves one whole message from one socket to another. */
static void
forward(ip_sock *from, ip_sock *to)
{
    uint8_t buf[256];
    bool more = true;
    while (more) {
        int n = recv_part(from, buf, sizeof buf, &more);
        ip_send(to, buf, (size_t) n, more ? ZMQ_SNDMORE : 0);
    }
}

/* Two REQ clients (one named, one not), a ROUTER-DEALER broker, two REP servers: every
 * reply reaches the client that asked, over the other library's envelope handling. */
ParameterizedTest(chain *c, interop_router, broker_chain, .init = ip_setup,
                  .fini = ip_teardown, .timeout = 20)
{
    bool zb = !c->sinew_broker; /* the broker's library: zmq if true */
    ip_sock *front = ip_socket(zb, ZMQ_ROUTER), *back = ip_socket(zb, ZMQ_DEALER);
    ip_sock *cli[2], *srv[2];
    for (int i = 0; i < 2; i++) {
        cli[i] = ip_socket(!zb, ZMQ_REQ);
        srv[i] = ip_socket(!zb, ZMQ_REP);
        ip_setint(cli[i], ZMQ_RCVTIMEO, IP_WAIT_MS);
        ip_setint(srv[i], ZMQ_RCVTIMEO, IP_WAIT_MS);
    }
    ip_setint(front, ZMQ_RCVTIMEO, IP_WAIT_MS);
    ip_setint(back, ZMQ_RCVTIMEO, IP_WAIT_MS);
    set_id(cli[0], ZMQ_ROUTING_ID, "named-client");
    char fep[256], bep[256];
    ip_bind(front, c->transport, fep, sizeof fep);
    ip_bind(back, c->transport, bep, sizeof bep);
    for (int i = 0; i < 2; i++) {
        ip_connect(cli[i], fep);
        ip_connect(srv[i], bep);
    }
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 2; i++) {
            char q[16];
            snprintf(q, sizeof q, "q%d-%d", i, round);
            ip_send_str(cli[i], q, ZMQ_SNDMORE);
            ip_send_str(cli[i], "tail", 0);
        }
        /* Each request through the broker to whichever server it reaches, and back. */
        for (int k = 0; k < 2; k++) {
            forward(front, back);
            int who = -1;
            uint64_t deadline = ip_now_ms() + IP_WAIT_MS;
            while (who < 0) {
                for (int i = 0; i < 2 && who < 0; i++) {
                    char q[16];
                    int n = ip_recv_raw(srv[i], q, sizeof q - 1, ZMQ_DONTWAIT);
                    if (n < 0)
                        continue;
                    q[n] = 0;
                    ip_recv_str(srv[i], "tail");
                    char a[24];
                    snprintf(a, sizeof a, "re:%s", q);
                    ip_send_str(srv[i], a, ZMQ_SNDMORE);
                    ip_send_str(srv[i], "end", 0);
                    who = i;
                }
                cr_assert_lt(ip_now_ms(), deadline, "no server got the request");
            }
            forward(back, front);
        }
        for (int i = 0; i < 2; i++) {
            char a[24];
            snprintf(a, sizeof a, "re:q%d-%d", i, round);
            ip_recv_check(cli[i], a, strlen(a), true);
            ip_recv_str(cli[i], "end");
        }
    }
}

/* ---- PROBE_ROUTER and ROUTER_HANDOVER across the libraries ------------------------ */

typedef struct tp {
    char transport[4];
} tp;

ParameterizedTestParameters(interop_router, probe_and_handover)
{
    static tp t[] = {{"tcp"}, {"ipc"}};
    return cr_make_param_array(tp, t, 2);
}

/* libzmq's probes reach a sinew ROUTER (whose HANDOVER lets a second libzmq DEALER with
 * the same routing id take it over), and sinew's probes reach a libzmq ROUTER. */
ParameterizedTest(tp *t, interop_router, probe_and_handover, .init = ip_setup,
                  .fini = ip_teardown, .timeout = 20)
{
    char ep[256];
    ip_sock *sr = ip_socket(false, SINEW_ROUTER);
    ip_setint(sr, SINEW_RCVTIMEO, IP_WAIT_MS);
    ip_setint(sr, SINEW_ROUTER_HANDOVER, 1);
    ip_bind(sr, t->transport, ep, sizeof ep);
    ip_sock *z[2];
    for (int i = 0; i < 2; i++) {
        z[i] = ip_socket(true, ZMQ_DEALER);
        ip_setint(z[i], ZMQ_RCVTIMEO, IP_WAIT_MS);
        set_id(z[i], ZMQ_ROUTING_ID, "dup");
        ip_setint(z[i], ZMQ_PROBE_ROUTER, 1);
        /* The replaced peer's connection is closed: it must not come back (and take the
         * id back) while the test looks. */
        ip_setint(z[i], ZMQ_RECONNECT_IVL, 60000);
        ip_connect(z[i], ep);
        ip_recv_check(sr, "dup", 3, true); /* each one's probe, under the id */
        ip_recv_check(sr, "", 0, false);
    }
    ip_send_str(sr, "dup", ZMQ_SNDMORE);
    ip_send_str(sr, "to-newest", 0);
    ip_recv_str(z[1], "to-newest");
    cr_assert_lt(zmq_recv(z[0]->s, ep, sizeof ep, ZMQ_DONTWAIT), 0, "the old peer got it");

    ip_sock *zr = ip_socket(true, ZMQ_ROUTER);
    ip_setint(zr, ZMQ_RCVTIMEO, IP_WAIT_MS);
    ip_bind(zr, t->transport, ep, sizeof ep);
    ip_sock *sd = ip_socket(false, SINEW_DEALER), *sr2 = ip_socket(false, SINEW_ROUTER);
    set_id(sd, SINEW_ROUTING_ID, "sd");
    set_id(sr2, SINEW_ROUTING_ID, "sr");
    ip_setint(sd, SINEW_PROBE_ROUTER, 1);
    ip_setint(sr2, SINEW_PROBE_ROUTER, 1);
    ip_connect(sd, ep);
    ip_recv_check(zr, "sd", 2, true);
    ip_recv_check(zr, "", 0, false);
    ip_connect(sr2, ep);
    ip_recv_check(zr, "sr", 2, true);
    ip_recv_check(zr, "", 0, false);
}
