/* sinew_proxy between libzmq peers (tcp and ipc): the proxy speaks ZMTP to libzmq on
 * both sides, keeps multipart messages whole both ways, and a libzmq REQ steers it. */
#include "interop/interop.h"

#include <pthread.h>

TestSuite(spec_proxy_interop, .init = ip_setup, .fini = ip_teardown, .timeout = 30);

typedef struct proxy_run {
    void *front, *back, *control;
    pthread_t thread;
    int rc, err;
} proxy_run;

static proxy_run px; /* static: the thread may outlive a failed test's frame */

static void *
proxy_main(void *arg)
{
    proxy_run *r = arg;
    r->rc = sinew_proxy_steerable(r->front, r->back, NULL, r->control);
    r->err = errno;
    return NULL;
}

/* A sinew proxy of front_type/back_type, bound on tran; zfront and zback are libzmq
 * sockets connected to it. Starts the proxy once both have joined. */
static void
proxy_between(const char *tran, int front_type, int back_type, ip_sock *zfront,
              ip_sock *zback, ip_sock *control)
{
    char fe[256], be[256];
    ip_sock *front = ip_socket(false, front_type), *back = ip_socket(false, back_type);
    ip_bind(front, tran, fe, sizeof fe);
    ip_bind(back, tran, be, sizeof be);
    ip_connect(zfront, fe);
    ip_connect(zback, be);
    cr_assert_eq(sinew_wait_peers(front->s, 1, IP_WAIT_MS), 1, "errno %d", errno);
    cr_assert_eq(sinew_wait_peers(back->s, 1, IP_WAIT_MS), 1, "errno %d", errno);
    px = (proxy_run){.front = front->s, .back = back->s,
                     .control = control != NULL ? control->s : NULL};
    cr_assert_eq(pthread_create(&px.thread, NULL, proxy_main, &px), 0);
}

static void
proxy_end_by_shutdown(void)
{
    cr_assert_eq(sinew_ctx_shutdown(ip_sctx), 0);
    pthread_join(px.thread, NULL);
    cr_assert_eq(px.rc, -1);
    cr_assert_eq(px.err, ETERM);
}

static void
streams_between_libzmq_peers(const char *tran)
{
    ip_sock *producer = ip_socket(true, ZMQ_PUSH), *consumer = ip_socket(true, ZMQ_PULL);
    ip_setint(consumer, ZMQ_RCVTIMEO, IP_WAIT_MS);
    proxy_between(tran, SINEW_PULL, SINEW_PUSH, producer, consumer, NULL);
    for (uint32_t i = 0; i < 300; i++) {
        if (i % 50 == 0)
            ip_send_str(producer, "envelope", ZMQ_SNDMORE);
        ip_send_u32(producer, i);
    }
    for (uint32_t i = 0; i < 300; i++) {
        if (i % 50 == 0)
            ip_recv_check(consumer, "envelope", 8, true);
        cr_assert_eq(ip_recv_u32(consumer), i);
    }
    proxy_end_by_shutdown();
}

Test(spec_proxy_interop, streams_between_libzmq_peers_tcp)
{
    streams_between_libzmq_peers("tcp");
}

Test(spec_proxy_interop, streams_between_libzmq_peers_ipc)
{
    streams_between_libzmq_peers("ipc");
}

static void
pairs_both_ways(const char *tran)
{
    ip_sock *client = ip_socket(true, ZMQ_PAIR), *server = ip_socket(true, ZMQ_PAIR);
    ip_setint(client, ZMQ_RCVTIMEO, IP_WAIT_MS);
    ip_setint(server, ZMQ_RCVTIMEO, IP_WAIT_MS);
    proxy_between(tran, SINEW_PAIR, SINEW_PAIR, client, server, NULL);
    for (int i = 0; i < 20; i++) {
        ip_send_str(client, "question", ZMQ_SNDMORE);
        ip_send_str(client, "", 0);
        ip_recv_check(server, "question", 8, true);
        ip_recv_check(server, "", 0, false);
        ip_send_str(server, "answer", 0);
        ip_recv_str(client, "answer");
    }
    proxy_end_by_shutdown();
}

Test(spec_proxy_interop, pairs_both_ways_tcp)
{
    pairs_both_ways("tcp");
}

Test(spec_proxy_interop, pairs_both_ways_ipc)
{
    pairs_both_ways("ipc");
}

/* libzmq's REQ asks for STATISTICS (8 uint64 frames) and TERMINATEs the proxy. */
Test(spec_proxy_interop, steered_by_a_libzmq_req)
{
    char ce[256];
    ip_sock *control = ip_socket(false, SINEW_REP), *ctl = ip_socket(true, ZMQ_REQ);
    ip_setint(ctl, ZMQ_RCVTIMEO, IP_WAIT_MS);
    ip_bind(control, "tcp", ce, sizeof ce);
    ip_connect(ctl, ce);
    ip_sock *producer = ip_socket(true, ZMQ_PUSH), *consumer = ip_socket(true, ZMQ_PULL);
    ip_setint(consumer, ZMQ_RCVTIMEO, IP_WAIT_MS);
    proxy_between("tcp", SINEW_PULL, SINEW_PUSH, producer, consumer, control);
    ip_send_str(producer, "12345", 0);
    ip_recv_str(consumer, "12345");
    ip_send_str(ctl, "STATISTICS", 0);
    const uint64_t want[8] = {1, 5, 0, 0, 0, 0, 1, 5};
    for (int i = 0; i < 8; i++)
        ip_recv_check(ctl, &want[i], sizeof want[i], i < 7);
    ip_send_str(ctl, "TERMINATE", 0);
    ip_recv_str(ctl, "");
    pthread_join(px.thread, NULL);
    cr_assert_eq(px.rc, 0, "rc %d errno %d", px.rc, px.err);
}
