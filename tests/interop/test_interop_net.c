/* Interop connection management: monitor events and their addresses, LAST_ENDPOINT /
 * unbind / disconnect, IPv6, reconnect to a restarted libzmq peer without losing queued
 * messages, and no loss when a sender closes while the receiver is at its HWM. */
#include <pthread.h>

#include "interop.h"

static void
free_params(struct criterion_test_params *p)
{
    cr_free(p->params);
}

typedef struct tp {
    char transport[4];
} tp;

ParameterizedTestParameters(interop_net, monitor_bind)
{
    tp *ps = cr_malloc(2 * sizeof *ps);
    snprintf(ps[0].transport, 4, "tcp");
    snprintf(ps[1].transport, 4, "ipc");
    return cr_make_param_array(tp, ps, 2, free_params);
}

/* sinew binds, libzmq connects and leaves, sinew unbinds, the monitor stops. */
ParameterizedTest(tp *p, interop_net, monitor_bind, .init = ip_setup, .fini = ip_teardown,
                  .timeout = 20)
{
    ip_sock *s = ip_socket(false, SINEW_PULL);
    ip_setint(s, SINEW_RCVTIMEO, 5000);
    ip_sock *mon = ip_monitor(s, SINEW_EVENT_ALL);
    char ep[256];
    ip_bind(s, p->transport, ep, sizeof ep);
    ip_event ev;
    cr_assert(ip_next_event(mon, &ev, 2000));
    cr_assert_eq(ev.event, SINEW_EVENT_LISTENING, "event 0x%x", ev.event);
    cr_assert_str_eq(ev.addr, ep);

    ip_sock *z = ip_socket(true, ZMQ_PUSH);
    ip_connect(z, ep);
    cr_assert(ip_next_event(mon, &ev, 5000));
    cr_assert_eq(ev.event, SINEW_EVENT_ACCEPTED, "event 0x%x", ev.event);
    cr_assert_str_eq(ev.addr, ep);
    cr_assert(ip_next_event(mon, &ev, 5000));
    cr_assert_eq(ev.event, SINEW_EVENT_HANDSHAKE_SUCCEEDED, "event 0x%x", ev.event);
    cr_assert_str_eq(ev.addr, ep);
    ip_send_str(z, "m", 0);
    ip_recv_str(s, "m");

    ip_close(z);
    cr_assert(ip_next_event(mon, &ev, 5000));
    cr_assert_eq(ev.event, SINEW_EVENT_DISCONNECTED, "event 0x%x", ev.event);
    cr_assert_str_eq(ev.addr, ep);

    cr_assert_eq(sinew_unbind(s->s, ep), 0, "unbind %s: errno %d", ep, errno);
    cr_assert(ip_next_event(mon, &ev, 5000));
    cr_assert_eq(ev.event, SINEW_EVENT_CLOSED, "event 0x%x", ev.event);
    cr_assert_str_eq(ev.addr, ep);

    cr_assert_eq(sinew_socket_monitor(s->s, NULL, 0), 0);
    cr_assert(ip_next_event(mon, &ev, 5000));
    cr_assert_eq(ev.event, SINEW_EVENT_MONITOR_STOPPED, "event 0x%x", ev.event);
    cr_assert_not(ip_next_event(mon, &ev, 50));
}

/* sinew connects before libzmq listens: DELAYED/RETRIED, then CONNECTED, handshake,
 * libzmq goes away: DISCONNECTED and retries. */
ParameterizedTestParameters(interop_net, monitor_connect)
{
    tp *ps = cr_malloc(2 * sizeof *ps);
    snprintf(ps[0].transport, 4, "tcp");
    snprintf(ps[1].transport, 4, "ipc");
    return cr_make_param_array(tp, ps, 2, free_params);
}

ParameterizedTest(tp *p, interop_net, monitor_connect, .init = ip_setup,
                  .fini = ip_teardown, .timeout = 20)
{
    char ep[256];
    ip_free_endpoint(p->transport, ep, sizeof ep);
    ip_sock *s = ip_socket(false, SINEW_PUSH);
    ip_setint(s, SINEW_RECONNECT_IVL, 20);
    ip_setint(s, SINEW_SNDTIMEO, 5000);
    ip_sock *mon = ip_monitor(s, SINEW_EVENT_ALL);
    ip_connect(s, ep);
    ip_event ev;
    ip_expect_event(mon, SINEW_EVENT_CONNECT_RETRIED, &ev, 2000);
    cr_assert_str_eq(ev.addr, ep);
    cr_assert_geq(ev.value, 20, "retry interval %u", ev.value);

    ip_sock *z = ip_socket(true, ZMQ_PULL);
    ip_setint(z, ZMQ_RCVTIMEO, 5000);
    ip_bind_at(z, ep);
    ip_expect_event(mon, SINEW_EVENT_CONNECTED, &ev, 5000);
    cr_assert_str_eq(ev.addr, ep);
    cr_assert(ip_next_event(mon, &ev, 5000));
    cr_assert_eq(ev.event, SINEW_EVENT_HANDSHAKE_SUCCEEDED, "event 0x%x", ev.event);
    cr_assert_str_eq(ev.addr, ep);
    ip_send_str(s, "hello", 0);
    ip_recv_str(z, "hello");

    ip_close(z);
    cr_assert(ip_next_event(mon, &ev, 5000));
    cr_assert_eq(ev.event, SINEW_EVENT_DISCONNECTED, "event 0x%x", ev.event);
    cr_assert_str_eq(ev.addr, ep);
    ip_expect_event(mon, SINEW_EVENT_CONNECT_RETRIED, &ev, 2000);
    cr_assert_str_eq(ev.addr, ep);
}

/* Connecting where nobody listens: each attempt reports CONNECT_DELAYED (value
 * EINPROGRESS, the errno of the pending connect, as libzmq) then CONNECT_RETRIED, whose
 * value is the next interval, doubling from RECONNECT_IVL up to RECONNECT_IVL_MAX;
 * events outside the mask never appear. */
Test(interop_net, connect_retry_backoff, .init = ip_setup, .fini = ip_teardown,
     .timeout = 20)
{
    char ep[256];
    ip_free_endpoint("tcp", ep, sizeof ep);
    ip_sock *s = ip_socket(false, SINEW_PUSH);
    ip_setint(s, SINEW_RECONNECT_IVL, 10);
    ip_setint(s, SINEW_RECONNECT_IVL_MAX, 40);
    ip_sock *mon = ip_monitor(s, SINEW_EVENT_CONNECT_DELAYED | SINEW_EVENT_CONNECT_RETRIED);
    ip_connect(s, ep);
    static const uint32_t expect[] = {10, 20, 40, 40};
    ip_event ev;
    for (int i = 0; i < 4; i++) {
        cr_assert(ip_next_event(mon, &ev, 2000));
        if (ev.event == SINEW_EVENT_CONNECT_DELAYED) {
            cr_assert_str_eq(ev.addr, ep);
            cr_assert_eq(ev.value, EINPROGRESS, "CONNECT_DELAYED value %u", ev.value);
            cr_assert(ip_next_event(mon, &ev, 2000));
        }
        cr_assert_eq(ev.event, SINEW_EVENT_CONNECT_RETRIED, "event 0x%x", ev.event);
        cr_assert_str_eq(ev.addr, ep);
        cr_assert_eq(ev.value, expect[i], "retry %d: interval %u", i, ev.value);
    }
}

/* ---- LAST_ENDPOINT, unbind, disconnect, IPv6 ----------------------------------------- */

Test(interop_net, last_endpoint_unbind_disconnect, .init = ip_setup, .fini = ip_teardown,
     .timeout = 20)
{
    const char *wild[] = {"tcp://127.0.0.1:*", "ipc://*"};
    for (int i = 0; i < 2; i++) {
        ip_sock *s = ip_socket(false, SINEW_PULL);
        ip_setint(s, SINEW_RCVTIMEO, 5000);
        ip_sock *mon = ip_monitor(s, SINEW_EVENT_CLOSED);
        ip_bind_at(s, wild[i]);
        char ep[256];
        ip_last_endpoint(s, ep, sizeof ep);
        cr_assert_neq(strcmp(ep, wild[i]), 0, "LAST_ENDPOINT not resolved: %s", ep);
        cr_assert_null(strchr(ep, '*'), "LAST_ENDPOINT %s", ep);
        ip_sock *z = ip_socket(true, ZMQ_PUSH);
        ip_connect(z, ep);
        ip_send_str(z, "via last endpoint", 0);
        ip_recv_str(s, "via last endpoint");
        cr_assert_eq(sinew_unbind(s->s, ep), 0, "unbind %s: errno %d", ep, errno);
        cr_assert_eq(sinew_unbind(s->s, ep), -1);
        cr_assert_eq(errno, ENOENT);
        /* The listener closes on its I/O thread: once CLOSED is reported, nobody
         * listens there any more. */
        ip_event ev;
        ip_expect_event(mon, SINEW_EVENT_CLOSED, &ev, 5000);
        cr_assert_str_eq(ev.addr, ep);
        if (i == 0) {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            struct sockaddr_in sa = {.sin_family = AF_INET,
                                     .sin_port = htons((uint16_t) atoi(strrchr(ep, ':') + 1))};
            inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
            cr_assert_eq(connect(fd, (struct sockaddr *) &sa, sizeof sa), -1);
            cr_assert_eq(errno, ECONNREFUSED);
            close(fd);
        } else {
            struct stat st;
            cr_assert_eq(stat(ep + 6, &st), -1, "ipc path %s left behind", ep + 6);
        }
        ip_close(z);
        ip_close(s);
    }

    /* disconnect: sinew PUSH leaves a libzmq PULL, whose monitor sees it go. */
    ip_sock *z = ip_socket(true, ZMQ_PULL);
    ip_setint(z, ZMQ_RCVTIMEO, 5000);
    char ep[256];
    ip_bind(z, "tcp", ep, sizeof ep);
    cr_assert_eq(zmq_socket_monitor(z->s, "inproc://zmon-disc", ZMQ_EVENT_DISCONNECTED), 0);
    ip_sock *zmon = ip_socket(true, ZMQ_PAIR);
    ip_setint(zmon, ZMQ_RCVTIMEO, 5000);
    ip_connect(zmon, "inproc://zmon-disc");
    ip_sock *s = ip_socket(false, SINEW_PUSH);
    ip_connect(s, ep);
    ip_send_str(s, "before", 0);
    ip_recv_str(z, "before");
    cr_assert_eq(sinew_disconnect(s->s, ep), 0, "disconnect: errno %d", errno);
    uint8_t frame[6];
    cr_assert_eq(zmq_recv(zmon->s, frame, sizeof frame, 0), 6, "libzmq saw no disconnect");
    uint16_t e;
    memcpy(&e, frame, 2);
    cr_assert_eq(e, ZMQ_EVENT_DISCONNECTED);
    cr_assert_eq(sinew_disconnect(s->s, ep), -1);
    cr_assert_eq(errno, ENOENT);
    ip_setint(s, SINEW_SNDTIMEO, 0);
    cr_assert_eq(ip_send_raw(s, "after", 5, 0), -1, "sent with no peer");
    cr_assert_eq(errno, EAGAIN);
    zmq_socket_monitor(z->s, NULL, 0);
}

static bool
ipv6_loopback_works(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool ok = bind(fd, (struct sockaddr *) &sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

Test(interop_net, ipv6, .init = ip_setup, .fini = ip_teardown, .timeout = 20)
{
    if (!ipv6_loopback_works())
        cr_skip_test("::1 unavailable");
    for (int dir = 0; dir < 2; dir++) {
        ip_sock *s = ip_socket(false, SINEW_PAIR);
        ip_sock *z = ip_socket(true, ZMQ_PAIR);
        ip_setint(s, SINEW_IPV6, 1);
        ip_setint(z, ZMQ_IPV6, 1);
        ip_setint(s, SINEW_RCVTIMEO, 5000);
        ip_setint(z, ZMQ_RCVTIMEO, 5000);
        char ep[256];
        ip_sock *b = dir ? z : s, *c = dir ? s : z;
        ip_bind_at(b, "tcp://[::1]:*");
        ip_last_endpoint(b, ep, sizeof ep);
        cr_assert_eq(strncmp(ep, "tcp://[::1]:", 12), 0, "LAST_ENDPOINT %s", ep);
        ip_connect(c, ep);
        ip_send_str(c, "six", 0);
        ip_recv_str(b, "six");
        ip_send_str(b, "back", 0);
        ip_recv_str(c, "back");
    }
}

/* ---- reconnect to a restarted peer ---------------------------------------------------- */

ParameterizedTestParameters(interop_net, peer_restart)
{
    tp *ps = cr_malloc(2 * sizeof *ps);
    snprintf(ps[0].transport, 4, "tcp");
    snprintf(ps[1].transport, 4, "ipc");
    return cr_make_param_array(tp, ps, 2, free_params);
}

ParameterizedTest(tp *p, interop_net, peer_restart, .init = ip_setup, .fini = ip_teardown,
                  .timeout = 30)
{
    ip_sock *z = ip_socket(true, ZMQ_PULL);
    ip_setint(z, ZMQ_RCVTIMEO, 5000);
    char ep[256];
    ip_bind(z, p->transport, ep, sizeof ep);
    ip_sock *s = ip_socket(false, SINEW_PUSH);
    ip_setint(s, SINEW_RECONNECT_IVL, 20);
    ip_setint(s, SINEW_IMMEDIATE, 0);
    ip_setint(s, SINEW_SNDTIMEO, 5000);
    ip_sock *mon = ip_monitor(s, SINEW_EVENT_ALL);
    ip_connect(s, ep);
    ip_send_str(s, "gen0", 0);
    ip_recv_str(z, "gen0");

    for (int gen = 1; gen <= 3; gen++) {
        ip_event ev;
        ip_close(z);
        ip_expect_event(mon, SINEW_EVENT_DISCONNECTED, &ev, 5000);
        /* Queued while nobody listens: must all arrive after the restart. */
        for (int i = 0; i < 50; i++) {
            char m[32];
            snprintf(m, sizeof m, "gen%d-%d", gen, i);
            ip_send_str(s, m, 0);
        }
        if (gen == 3) {
            /* Restart with a whole new libzmq context too. */
            cr_assert_eq(zmq_ctx_term(ip_zctx), 0);
            ip_zctx = zmq_ctx_new();
        }
        z = ip_socket(true, ZMQ_PULL);
        ip_setint(z, ZMQ_RCVTIMEO, 5000);
        ip_bind_at(z, ep);
        for (int i = 0; i < 50; i++) {
            char m[32];
            snprintf(m, sizeof m, "gen%d-%d", gen, i);
            ip_recv_str(z, m);
        }
        ip_expect_event(mon, SINEW_EVENT_HANDSHAKE_SUCCEEDED, &ev, 5000);
        cr_assert_str_eq(ev.addr, ep);
    }
}

/* ---- no loss when the sender closes while the receiver is at its HWM ------------------ */

#define NOLOSS_N 20000

typedef struct noloss {
    bool zmq;
    char ep[256];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool closed;
    int err;
} noloss;

static void *
noloss_sender(void *arg)
{
    noloss *t = arg;
    void *ctx = t->zmq ? zmq_ctx_new() : sinew_ctx_new();
    void *s = t->zmq ? zmq_socket(ctx, ZMQ_PUSH) : sinew_socket(ctx, SINEW_PUSH);
    int zero = 0, minus1 = 10000; /* "forever", bounded so a failure cannot hang */
    if (t->zmq) {
        zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero);
        zmq_setsockopt(s, ZMQ_LINGER, &minus1, sizeof minus1);
        if (zmq_connect(s, t->ep) != 0)
            t->err = errno;
    } else {
        sinew_setsockopt(s, SINEW_SNDHWM, &zero, sizeof zero);
        sinew_setsockopt(s, SINEW_LINGER, &minus1, sizeof minus1);
        if (sinew_connect(s, t->ep) != 0)
            t->err = errno;
    }
    for (uint32_t i = 0; i < NOLOSS_N && t->err == 0; i++) {
        int rc = t->zmq ? zmq_send(s, &i, sizeof i, 0) : sinew_send(s, &i, sizeof i, 0);
        if (rc != (int) sizeof i)
            t->err = errno;
    }
    if (t->zmq)
        zmq_close(s);
    else
        sinew_close(s);
    pthread_mutex_lock(&t->lock);
    t->closed = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    if (t->zmq)
        zmq_ctx_term(ctx);
    else
        sinew_ctx_term(ctx);
    return NULL;
}

static void
noloss_run(bool zmq_sender, int rcvhwm)
{
    ip_sock *r = ip_socket(false, SINEW_PULL);
    ip_setint(r, SINEW_RCVHWM, rcvhwm);
    ip_setint(r, SINEW_RCVTIMEO, 5000);
    noloss t = {.zmq = zmq_sender};
    pthread_mutex_init(&t.lock, NULL);
    pthread_cond_init(&t.cond, NULL);
    ip_bind(r, "ipc", t.ep, sizeof t.ep);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, noloss_sender, &t), 0);
    /* Wait (bounded) until the sender has closed its socket, then drain. */
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&t.lock);
    int rc = 0;
    while (!t.closed && rc == 0)
        rc = pthread_cond_timedwait(&t.cond, &t.lock, &dl);
    pthread_mutex_unlock(&t.lock);
    uint32_t i;
    int n = 0;
    uint32_t v = 0;
    for (i = 0; i < NOLOSS_N; i++) {
        n = ip_recv_raw(r, &v, sizeof v, 0);
        if (n != (int) sizeof v || v != i)
            break;
    }
    int err = errno;
    pthread_join(th, NULL);
    pthread_cond_destroy(&t.cond);
    pthread_mutex_destroy(&t.lock);
    cr_assert(t.closed, "sender did not close within 10 s");
    cr_assert_eq(t.err, 0, "sender: errno %d", t.err);
    cr_assert_eq(i, NOLOSS_N, "message %u of %u: rc %d errno %d value %u", i, NOLOSS_N, n, err,
                 v);
}

Test(interop_net, ipc_noloss_sinew_sender_unbounded_rcvhwm, .init = ip_setup,
     .fini = ip_teardown, .timeout = 30)
{
    noloss_run(false, 0);
}

Test(interop_net, ipc_noloss_zmq_sender_unbounded_rcvhwm, .init = ip_setup,
     .fini = ip_teardown, .timeout = 30)
{
    noloss_run(true, 0);
}

/* With RCVHWM 100 the receiving engine stops reading at the HWM and must resume as the
 * application drains (the case where libzmq drops the tail of the stream over ipc). */
Test(interop_net, ipc_noloss_sinew_sender_hwm100, .init = ip_setup, .fini = ip_teardown,
     .timeout = 30)
{
    noloss_run(false, 100);
}

Test(interop_net, ipc_noloss_zmq_sender_hwm100, .init = ip_setup, .fini = ip_teardown,
     .timeout = 30)
{
    noloss_run(true, 100);
}

/* Closing a monitored socket ends its monitor with MONITOR_STOPPED, after the events
 * of the connections it tore down. */
Test(interop_net, monitor_stopped_on_close, .init = ip_setup, .fini = ip_teardown,
     .timeout = 20)
{
    ip_sock *s = ip_socket(false, SINEW_PULL);
    ip_sock *mon = ip_monitor(s, SINEW_EVENT_ALL);
    char ep[256];
    ip_bind(s, "tcp", ep, sizeof ep);
    ip_sock *z = ip_socket(true, ZMQ_PUSH);
    ip_connect(z, ep);
    ip_expect_event(mon, SINEW_EVENT_HANDSHAKE_SUCCEEDED, NULL, 5000);
    ip_setint(s, SINEW_LINGER, 0);
    ip_close(s);
    ip_event ev;
    ip_expect_event(mon, SINEW_EVENT_MONITOR_STOPPED, &ev, 5000);
    cr_assert_not(ip_next_event(mon, &ev, 50), "event 0x%x after MONITOR_STOPPED", ev.event);
}
