/* sinew_proxy and sinew_proxy_steerable (zmq_proxy(3), zmq_proxy_steerable(3)): whole
 * messages both ways, capture, the control commands, the high-water mark held without
 * drops or spinning, and termination with messages in flight. The proxy runs in its own
 * thread; the test thread plays the clients and servers. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <time.h>

#include "support/net.h"
#include "support/transports.h"

TestSuite(spec_proxy, .init = tn_tran_setup, .fini = tn_tran_teardown, .timeout = 30);

typedef struct proxy_run {
    void *front, *back, *capture, *control;
    pthread_t thread;
    int rc, err;
} proxy_run;

static void *
proxy_main(void *arg)
{
    proxy_run *r = arg;
    errno = 0;
    r->rc = sinew_proxy_steerable(r->front, r->back, r->capture, r->control);
    r->err = errno;
    return NULL;
}

static void
proxy_start(proxy_run *r)
{
    cr_assert_eq(pthread_create(&r->thread, NULL, proxy_main, r), 0);
}

/* Ends the proxy by shutting the context down: it must return -1 with ETERM. */
static void
proxy_stop_by_shutdown(proxy_run *r)
{
    cr_assert_eq(sinew_ctx_shutdown(tn_ctx), 0);
    pthread_join(r->thread, NULL);
    cr_assert_eq(r->rc, -1);
    cr_assert_eq(r->err, ETERM, "errno %d", r->err);
}

/* CPU time the proxy thread used so far, in ms. */
static double
thread_cpu_ms(pthread_t t)
{
    clockid_t id;
    cr_assert_eq(pthread_getcpuclockid(t, &id), 0);
    struct timespec ts;
    cr_assert_eq(clock_gettime(id, &ts), 0);
    return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* The proxy thread's CPU time in the quietest of up to 10 windows of 300 ms, stopping
 * at the first quiet one: over tcp, kernel buffers may still be filling (slowly, under
 * sanitizers) when the producer first blocks. A spinning proxy has no quiet window. */
static double
quietest_window_ms(pthread_t t)
{
    double least = 1e9;
    for (int w = 0; w < 10 && least >= 30.0; w++) {
        double cpu0 = thread_cpu_ms(t);
        sleep_ms(300);
        double cpu = thread_cpu_ms(t) - cpu0;
        if (cpu < least)
            least = cpu;
    }
    return least;
}

/* A streamer: producer PUSH -> [PULL | proxy | PUSH] -> consumer PULL, over tran. */
typedef struct streamer {
    void *producer, *consumer;
    proxy_run px;
    char front_ep[TN_EP_MAX], back_ep[TN_EP_MAX];
} streamer;

static void
streamer_open(streamer *st, const char *tran, void *capture, void *control)
{
    memset(&st->px, 0, sizeof st->px);
    st->px.front = tn_sock(SINEW_PULL);
    st->px.back = tn_sock(SINEW_PUSH);
    st->px.capture = capture;
    st->px.control = control;
    st->producer = tn_sock(SINEW_PUSH);
    st->consumer = tn_sock(SINEW_PULL);
    tn_set(st->consumer, SINEW_RCVTIMEO, 5000);
    tn_set(st->producer, SINEW_SNDTIMEO, 5000);
    tn_connect(st->producer, tn_bind_any(st->px.front, tran, st->front_ep));
    tn_connect(st->consumer, tn_bind_any(st->px.back, tran, st->back_ep));
    /* Peers first (the proxy thread owns front and back from now on). */
    cr_assert_eq(sinew_wait_peers(st->px.back, 1, 5000), 1);
    cr_assert_eq(sinew_wait_peers(st->px.front, 1, 5000), 1);
    proxy_start(&st->px);
}

/* zmq_proxy: "messages ... are forwarded": in order, multipart messages whole. */
TN_TRAN_TEST(spec_proxy, streamer_forwards_in_order_and_whole)
{
    static streamer st; /* the proxy thread may outlive a failed test's frame */
    streamer_open(&st, tran, NULL, NULL);
    for (uint32_t i = 0; i < 2000; i++) {
        if (i % 100 == 0) {
            tn_send_str(st.producer, "head", SINEW_SNDMORE);
            tn_send_str(st.producer, "", SINEW_SNDMORE);
            tn_send_u32(st.producer, i, 0);
        } else {
            tn_send_u32(st.producer, i, 0);
        }
    }
    for (uint32_t i = 0; i < 2000; i++) {
        if (i % 100 == 0) {
            tn_recv_str(st.consumer, "head");
            cr_assert(tn_rcvmore(st.consumer));
            tn_recv_str(st.consumer, "");
            cr_assert(tn_rcvmore(st.consumer));
        }
        cr_assert_eq(tn_recv_u32(st.consumer), i);
        cr_assert_not(tn_rcvmore(st.consumer));
    }
    proxy_stop_by_shutdown(&st.px);
}

/* Both directions at once: PAIR client <-> [PAIR | proxy | PAIR] <-> PAIR server. */
TN_TRAN_TEST(spec_proxy, moves_both_ways)
{
    char fe[TN_EP_MAX], be[TN_EP_MAX];
    static proxy_run px; /* the proxy thread may outlive a failed test's frame */
    px.front = tn_sock(SINEW_PAIR);
    px.back = tn_sock(SINEW_PAIR);
    void *client = tn_sock(SINEW_PAIR), *server = tn_sock(SINEW_PAIR);
    tn_set(client, SINEW_RCVTIMEO, 5000);
    tn_set(server, SINEW_RCVTIMEO, 5000);
    tn_connect(client, tn_bind_any(px.front, tran, fe));
    tn_connect(server, tn_bind_any(px.back, tran, be));
    cr_assert_eq(sinew_wait_peers(px.front, 1, 5000), 1);
    cr_assert_eq(sinew_wait_peers(px.back, 1, 5000), 1);
    proxy_start(&px);
    for (int round = 0; round < 50; round++) {
        tn_send_u32(client, (uint32_t) round, SINEW_SNDMORE);
        tn_send_str(client, "request", 0);
        cr_assert_eq(tn_recv_u32(server), (uint32_t) round);
        tn_recv_str(server, "request");
        tn_send_str(server, "reply", SINEW_SNDMORE);
        tn_send_u32(server, (uint32_t) round, 0);
        tn_recv_str(client, "reply");
        cr_assert_eq(tn_recv_u32(client), (uint32_t) round);
    }
    proxy_stop_by_shutdown(&px);
}

/* zmq_proxy's shared queue: REQ clients -> [ROUTER | proxy | DEALER] -> REP workers.
 * The ROUTER's envelope takes each reply back to the client that asked. */
TN_TRAN_TEST(spec_proxy, shared_queue_routes_replies_to_their_clients)
{
    char fe[TN_EP_MAX], be[TN_EP_MAX];
    static proxy_run px; /* the proxy thread may outlive a failed test's frame */
    px.front = tn_sock(SINEW_ROUTER);
    px.back = tn_sock(SINEW_DEALER);
    tn_bind_any(px.front, tran, fe);
    tn_bind_any(px.back, tran, be);
    void *client[3], *worker[2];
    for (int i = 0; i < 3; i++) {
        client[i] = tn_sock(SINEW_REQ);
        tn_set(client[i], SINEW_RCVTIMEO, 5000);
        tn_connect(client[i], fe);
    }
    for (int i = 0; i < 2; i++) {
        worker[i] = tn_sock(SINEW_REP);
        tn_connect(worker[i], be);
    }
    cr_assert_eq(sinew_wait_peers(px.front, 3, 5000), 3);
    cr_assert_eq(sinew_wait_peers(px.back, 2, 5000), 2);
    proxy_start(&px);
    int served[2] = {0, 0};
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 3; i++) {
            char q[48];
            snprintf(q, sizeof q, "client %d round %d", i, round);
            tn_send_str(client[i], q, 0);
        }
        for (int n = 0; n < 3; n++) {
            sinew_pollitem_t it[2] = {{.socket = worker[0], .events = SINEW_POLLIN},
                                      {.socket = worker[1], .events = SINEW_POLLIN}};
            cr_assert_geq(sinew_poll(it, 2, 5000), 1, "no request reached a worker");
            int w = it[0].revents ? 0 : 1;
            char q[64], r[80];
            int len = sinew_recv(worker[w], q, sizeof q - 1, 0);
            cr_assert_gt(len, 0);
            q[len] = '\0';
            snprintf(r, sizeof r, "re: %s", q);
            tn_send_str(worker[w], r, 0);
            served[w]++;
        }
        for (int i = 0; i < 3; i++) {
            char want[48];
            snprintf(want, sizeof want, "re: client %d round %d", i, round);
            tn_recv_str(client[i], want);
        }
    }
    cr_assert_gt(served[0], 0, "the DEALER spreads requests over both workers");
    cr_assert_gt(served[1], 0, "the DEALER spreads requests over both workers");
    proxy_stop_by_shutdown(&px);
}

/* zmq_proxy's forwarder: PUB -> [XSUB | proxy | XPUB] -> SUB. Subscriptions travel
 * upstream through the proxy (backend to frontend), messages downstream, filtered. */
TN_TRAN_TEST(spec_proxy, forwarder_carries_subscriptions_upstream)
{
    char pe[TN_EP_MAX], be[TN_EP_MAX];
    static proxy_run px; /* the proxy thread may outlive a failed test's frame */
    void *pub = tn_sock(SINEW_PUB), *sub = tn_sock(SINEW_SUB);
    px.front = tn_sock(SINEW_XSUB);
    px.back = tn_sock(SINEW_XPUB);
    tn_set(sub, SINEW_RCVTIMEO, 5000);
    tn_connect(px.front, tn_bind_any(pub, tran, pe));
    tn_connect(sub, tn_bind_any(px.back, tran, be));
    /* (An XPUB's peers join by subscribing, which the SUB does below.) */
    cr_assert_eq(sinew_wait_peers(px.front, 1, 5000), 1);
    proxy_start(&px);
    cr_assert_eq(sinew_setsockopt(sub, SINEW_SUBSCRIBE, "weather", 7), 0);
    /* The subscription crossed the proxy when the publisher counts a subscriber. */
    cr_assert_eq(sinew_wait_peers(pub, 1, 5000), 1, "errno %d", errno);
    tn_send_str(pub, "sports 1", 0);
    tn_send_str(pub, "weather 1", SINEW_SNDMORE);
    tn_send_str(pub, "sunny", 0);
    tn_recv_str(sub, "weather 1");
    cr_assert(tn_rcvmore(sub));
    tn_recv_str(sub, "sunny");
    tn_expect_nothing(sub, 100, "a message nobody subscribed to came through");
    proxy_stop_by_shutdown(&px);
}

/* Frontend and backend the same socket: what comes in goes back out of it. */
Test(spec_proxy, one_socket_as_both_ends_echoes)
{
    char ep[TN_EP_MAX];
    static proxy_run px; /* the proxy thread may outlive a failed test's frame */
    px.front = px.back = tn_sock(SINEW_PAIR);
    void *client = tn_sock(SINEW_PAIR);
    tn_set(client, SINEW_RCVTIMEO, 5000);
    tn_bind(px.front, tn_endpoint(ep, sizeof ep, "echo"));
    tn_connect(client, ep);
    proxy_start(&px);
    tn_send_str(client, "ping", SINEW_SNDMORE);
    tn_send_str(client, "pong", 0);
    tn_recv_str(client, "ping");
    cr_assert(tn_rcvmore(client));
    tn_recv_str(client, "pong");
    proxy_stop_by_shutdown(&px);
}

/* zmq_proxy: "If the capture socket is not NULL, the proxy shall send all messages,
 * received on both frontend and backend, to the capture socket." Part by part, with
 * the MORE flag of the original. */
TN_TRAN_TEST(spec_proxy, capture_gets_every_part)
{
    char cep[TN_EP_MAX];
    void *capture = tn_sock(SINEW_PUSH), *tap = tn_sock(SINEW_PULL);
    tn_set(tap, SINEW_RCVTIMEO, 5000);
    tn_connect(capture, tn_bind_any(tap, tran, cep));
    cr_assert_eq(sinew_wait_peers(capture, 1, 5000), 1);
    static streamer st; /* the proxy thread may outlive a failed test's frame */
    streamer_open(&st, tran, capture, NULL);
    for (int i = 0; i < 20; i++) {
        tn_send_str(st.producer, "part one", SINEW_SNDMORE);
        tn_send_str(st.producer, "part two", 0);
    }
    for (int i = 0; i < 20; i++) {
        tn_recv_str(st.consumer, "part one");
        tn_recv_str(st.consumer, "part two");
        tn_recv_str(tap, "part one");
        cr_assert(tn_rcvmore(tap));
        tn_recv_str(tap, "part two");
        cr_assert_not(tn_rcvmore(tap));
    }
    proxy_stop_by_shutdown(&st.px);
}

/* Receives the 8-frame STATISTICS reply. */
static void
recv_stats(void *s, uint64_t v[8])
{
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(sinew_recv(s, &v[i], sizeof v[i], 0), (int) sizeof v[i], "frame %d", i);
        cr_assert_eq(tn_rcvmore(s), i < 7, "frame %d", i);
    }
}

/* zmq_proxy_steerable: PAUSE suspends, RESUME goes on, STATISTICS replies with 8 frames
 * (frontend then backend: messages in, bytes in, messages out, bytes out), TERMINATE
 * ends the proxy, which then returns 0. Control over REP: every command is answered. */
TN_TRAN_TEST(spec_proxy, steered_through_a_rep_control_socket)
{
    char ep[TN_EP_MAX];
    void *control = tn_sock(SINEW_REP), *ctl = tn_sock(SINEW_REQ);
    tn_set(ctl, SINEW_RCVTIMEO, 5000);
    tn_connect(ctl, tn_bind_any(control, tran, ep));
    static streamer st; /* the proxy thread may outlive a failed test's frame */
    streamer_open(&st, tran, NULL, control);

    tn_send_str(st.producer, "a", SINEW_SNDMORE);
    tn_send_str(st.producer, "bc", 0);
    tn_send_str(st.producer, "def", 0);
    tn_recv_str(st.consumer, "a");
    tn_recv_str(st.consumer, "bc");
    tn_recv_str(st.consumer, "def");

    tn_send_str(ctl, "STATISTICS", 0);
    uint64_t v[8];
    recv_stats(ctl, v);
    const uint64_t want[8] = {2, 6, 0, 0, 0, 0, 2, 6};
    for (int i = 0; i < 8; i++)
        cr_assert_eq(v[i], want[i], "statistic %d: %llu", i, (unsigned long long) v[i]);

    tn_send_str(ctl, "PAUSE", 0);
    tn_recv_str(ctl, "");
    tn_send_str(st.producer, "held", 0);
    tn_expect_nothing(st.consumer, 200, "a paused proxy forwarded");
    tn_send_str(ctl, "RESUME", 0);
    tn_recv_str(ctl, "");
    tn_recv_str(st.consumer, "held");

    tn_send_str(ctl, "NONSENSE", 0); /* ignored, still answered */
    tn_recv_str(ctl, "");
    tn_send_str(ctl, "TERMINATE", 0);
    tn_recv_str(ctl, "");
    pthread_join(st.px.thread, NULL);
    cr_assert_eq(st.px.rc, 0, "TERMINATE: rc %d errno %d", st.px.rc, st.px.err);
}

/* Over a PAIR only STATISTICS is answered (libzmq 4.3.4's behaviour). */
Test(spec_proxy, steered_through_a_pair_control_socket)
{
    char ep[TN_EP_MAX];
    void *control = tn_sock(SINEW_PAIR), *ctl = tn_sock(SINEW_PAIR);
    tn_set(ctl, SINEW_RCVTIMEO, 5000);
    tn_bind(control, tn_endpoint(ep, sizeof ep, "control"));
    tn_connect(ctl, ep);
    static streamer st; /* the proxy thread may outlive a failed test's frame */
    streamer_open(&st, "inproc", NULL, control);
    tn_send_str(ctl, "PAUSE", 0);
    tn_send_str(ctl, "STATISTICS", 0); /* after PAUSE: the proxy took it in */
    uint64_t v[8];
    recv_stats(ctl, v);
    tn_send_str(st.producer, "held", 0);
    tn_expect_nothing(st.consumer, 200, "a paused proxy forwarded");
    tn_expect_nothing(ctl, 0, "PAUSE was answered over a PAIR");
    tn_send_str(ctl, "RESUME", 0);
    tn_recv_str(st.consumer, "held");
    tn_send_str(ctl, "TERMINATE", 0);
    pthread_join(st.px.thread, NULL);
    cr_assert_eq(st.px.rc, 0);
}

/* A full backend holds messages back (no drop): the proxy sleeps meanwhile (no spin),
 * and everything arrives, in order, once the consumer reads. */
TN_TRAN_TEST(spec_proxy, full_backend_blocks_without_drops_or_spinning)
{
    static streamer st; /* the proxy thread may outlive a failed test's frame */
    memset(&st, 0, sizeof st);
    st.px.front = tn_sock(SINEW_PULL);
    st.px.back = tn_sock(SINEW_PUSH);
    st.producer = tn_sock(SINEW_PUSH);
    st.consumer = tn_sock(SINEW_PULL);
    tn_set(st.px.back, SINEW_SNDHWM, 10);
    tn_set(st.px.front, SINEW_RCVHWM, 10);
    tn_set(st.producer, SINEW_SNDHWM, 10);
    tn_set(st.consumer, SINEW_RCVHWM, 10);
    tn_set(st.consumer, SINEW_RCVTIMEO, 5000);
    tn_connect(st.producer, tn_bind_any(st.px.front, tran, st.front_ep));
    tn_connect(st.consumer, tn_bind_any(st.px.back, tran, st.back_ep));
    cr_assert_eq(sinew_wait_peers(st.px.back, 1, 5000), 1);
    cr_assert_eq(sinew_wait_peers(st.px.front, 1, 5000), 1);
    proxy_start(&st.px);
    /* Fill everything up to the producer's own queue. */
    uint32_t sent = 0;
    uint64_t deadline = tn_now_ms() + 5000;
    while (tn_now_ms() < deadline) {
        uint8_t b[4];
        memcpy(b, &sent, 4);
        if (sinew_send(st.producer, b, 4, SINEW_DONTWAIT) == 4) {
            sent++;
            continue;
        }
        cr_assert_eq(errno, EAGAIN);
        /* Full for 100 ms in a row: the whole chain is at its marks. */
        sinew_pollitem_t it = {.socket = st.producer, .events = SINEW_POLLOUT};
        if (sinew_poll(&it, 1, 100) == 0)
            break;
    }
    cr_assert_gt(sent, 20, "sent %u", sent);
    double cpu = quietest_window_ms(st.px.thread);
    cr_assert_lt(cpu, 30.0, "a blocked proxy used %.1f ms of CPU in 300 ms", cpu);
    for (uint32_t i = 0; i < sent; i++)
        cr_assert_eq(tn_recv_u32(st.consumer), i);
    sinew_socket_stats_t s;
    cr_assert_eq(sinew_socket_stats(st.px.back, &s), 0);
    cr_assert_eq(s.dropped, 0);
    cr_assert_eq(s.msgs_out, sent);
    proxy_stop_by_shutdown(&st.px);
}

/* An idle proxy sleeps. */
Test(spec_proxy, idle_proxy_does_not_spin)
{
    static streamer st; /* the proxy thread may outlive a failed test's frame */
    streamer_open(&st, "tcp", NULL, NULL);
    double cpu = quietest_window_ms(st.px.thread);
    cr_assert_lt(cpu, 30.0, "an idle proxy used %.1f ms of CPU in 300 ms", cpu);
    proxy_stop_by_shutdown(&st.px);
}

/* Termination under load: producers keep sending, the consumer reads a little, the
 * context shuts down mid-stream. The proxy returns ETERM, nothing hangs, and the
 * teardown (ASan: nothing leaks) frees what was in flight. */
static void *
produce(void *producer)
{
    uint8_t b[64] = {0};
    while (sinew_send(producer, b, sizeof b, 0) == (int) sizeof b)
        ;
    return (void *) (intptr_t) errno;
}

TN_TRAN_TEST(spec_proxy, terminates_with_messages_in_flight)
{
    char cep[TN_EP_MAX];
    void *capture = tn_sock(SINEW_PUSH), *tap = tn_sock(SINEW_PULL);
    tn_connect(capture, tn_bind_any(tap, tran, cep));
    cr_assert_eq(sinew_wait_peers(capture, 1, 5000), 1);
    static streamer st; /* the proxy thread may outlive a failed test's frame */
    streamer_open(&st, tran, capture, NULL);
    tn_set(st.producer, SINEW_SNDTIMEO, -1);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, produce, st.producer), 0);
    for (int i = 0; i < 500; i++) {
        char buf[64];
        cr_assert_eq(sinew_recv(st.consumer, buf, sizeof buf, 0), 64, "errno %d", errno);
    }
    uint64_t start = tn_now_ms();
    proxy_stop_by_shutdown(&st.px);
    void *err;
    pthread_join(t, &err);
    cr_assert_eq((intptr_t) err, ETERM);
    cr_assert_lt(tn_now_ms() - start, 3000, "termination took too long");
}

Test(spec_proxy, bad_sockets_fail_cleanly)
{
    void *s = tn_sock(SINEW_PAIR);
    cr_assert_eq(sinew_proxy(NULL, s, NULL), -1);
    cr_assert_eq(errno, EFAULT);
    cr_assert_eq(sinew_proxy_steerable(s, NULL, NULL, NULL), -1);
    cr_assert_eq(errno, EFAULT);
    void *closed = tn_socket(tn_ctx, SINEW_PAIR);
    tn_close(closed);
    cr_assert_eq(sinew_proxy(s, closed, NULL), -1);
    cr_assert_eq(errno, ENOTSOCK);
    cr_assert_eq(sinew_proxy_steerable(s, s, NULL, closed), -1);
    cr_assert_eq(errno, ENOTSOCK);
}
