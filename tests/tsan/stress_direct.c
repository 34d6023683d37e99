/* Direct input stress, a plain program so it also runs under ThreadSanitizer (Criterion
 * cannot start under TSan): two PAIR sockets over tcp in one process, one thread
 * ping-pongs numbered messages, another echoes them. Both receives block on a socket
 * with one network peer, so each borrows its connection's input (see
 * sn_engine_input_borrow), while 10 ms heartbeats on both sides keep sending PINGs and
 * PONGs that the borrowing threads must hand back to the I/O threads (kicks). Every
 * payload is checked; a dropped connection is reported. Then several threads share one
 * receiving socket (see shared_receivers). Usage: stress_direct [round
 * trips, default 20000]. Exit status 0 on success; each failure prints what went
 * wrong. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sinew.h"
#include "check.h"

#define BIG 70000 /* larger than a read: decoded over several borrowed reads */

static long round_trips = 20000;
static void *ctx, *pinger_sock, *echo_sock;

/* Message i: the counter, then bytes derived from it; every 97th is BIG. */
static size_t
payload(uint64_t i, uint8_t *out)
{
    size_t len = i % 97 == 96 ? BIG : 8 + (size_t) (i % 57);
    memcpy(out, &i, sizeof i);
    for (size_t k = sizeof i; k < len; k++)
        out[k] = (uint8_t) (i * 29 + k * 7);
    return len;
}

static void *
pinger(void *arg)
{
    (void) arg;
    uint8_t *want = malloc(BIG), *got = malloc(BIG);
    CHECK(want != NULL && got != NULL, "malloc");
    for (uint64_t i = 0; i < (uint64_t) round_trips; i++) {
        size_t len = payload(i, want);
        CHECK(sinew_send(pinger_sock, want, len, 0) == (int) len, "send %llu: errno %d",
              (unsigned long long) i, errno);
        int n = sinew_recv(pinger_sock, got, BIG, 0);
        CHECK(n == (int) len, "round trip %llu: received %d bytes, want %zu (errno %d)",
              (unsigned long long) i, n, len, errno);
        uint64_t c;
        memcpy(&c, got, sizeof c);
        CHECK(memcmp(got, want, len) == 0, "round trip %llu: got counter %llu%s",
              (unsigned long long) i, (unsigned long long) c,
              c == i ? " with a corrupt body" : "");
    }
    free(want);
    free(got);
    return NULL;
}

static void *
echo(void *arg)
{
    (void) arg;
    for (long i = 0; i < round_trips; i++) {
        sinew_msg_t m;
        sinew_msg_init(&m);
        CHECK(sinew_msg_recv(&m, echo_sock, 0) >= 0, "echo recv %ld: errno %d", i, errno);
        CHECK(sinew_msg_send(&m, echo_sock, 0) >= 0, "echo send %ld: errno %d", i, errno);
    }
    return NULL;
}

static void
set(void *s, int opt, int v)
{
    CHECK(sinew_setsockopt(s, opt, &v, sizeof v) == 0, "setsockopt %d: errno %d", opt,
          errno);
}

static void *
monitor(void *s, const char *name)
{
    CHECK(sinew_socket_monitor(s, name, SINEW_EVENT_DISCONNECTED) == 0,
          "monitor: errno %d", errno);
    void *m = sinew_socket(ctx, SINEW_PAIR);
    CHECK(m != NULL && sinew_connect(m, name) == 0, "monitor connect: errno %d", errno);
    return m;
}

/* Fails if the monitor reported a DISCONNECTED: heartbeats dropped a live link. */
static void
no_disconnect(void *m, const char *who)
{
    uint8_t ev[6];
    int n = sinew_recv(m, ev, sizeof ev, SINEW_DONTWAIT);
    CHECK(n < 0, "%s: connection dropped during the run (heartbeat or kick lost)", who);
}

/* Phase two: three threads receive from one PULL socket fed over tcp, so they take turns
 * borrowing its connection and decoding on after the HWM (sn_engine_input_resume). Every
 * message must arrive exactly once. */
#define RECEIVERS 3

static void *shared_pull;
static uint8_t *seen;
static long shared_total;

static void *
shared_receiver(void *arg)
{
    long *count = arg;
    for (;;) {
        uint64_t v;
        int n = sinew_recv(shared_pull, &v, sizeof v, 0);
        if (n < 0 && errno == EAGAIN)
            return NULL; /* quiet for RCVTIMEO: the sender is done */
        CHECK(n == (int) sizeof v, "shared receive: rc %d errno %d", n, errno);
        CHECK(v < (uint64_t) shared_total, "shared receive: bad value %llu",
              (unsigned long long) v);
        /* Each value is sent once: a second sighting is a duplicate delivery. */
        CHECK(__atomic_exchange_n(&seen[v], 1, __ATOMIC_RELAXED) == 0,
              "message %llu delivered twice", (unsigned long long) v);
        (*count)++;
    }
}

static void
shared_receivers(long total)
{
    shared_total = total;
    seen = calloc((size_t) total, 1);
    CHECK(seen != NULL, "calloc");
    shared_pull = sinew_socket(ctx, SINEW_PULL);
    void *push = sinew_socket(ctx, SINEW_PUSH);
    CHECK(shared_pull != NULL && push != NULL, "socket");
    set(shared_pull, SINEW_RCVTIMEO, 2000);
    set(shared_pull, SINEW_RCVHWM, 100); /* reach the HWM often: resumes race too */
    set(push, SINEW_LINGER, -1);
    CHECK(sinew_bind(shared_pull, "tcp://127.0.0.1:*") == 0, "bind: errno %d", errno);
    char ep[256];
    size_t len = sizeof ep;
    CHECK(sinew_getsockopt(shared_pull, SINEW_LAST_ENDPOINT, ep, &len) == 0, "endpoint");
    CHECK(sinew_connect(push, ep) == 0, "connect %s: errno %d", ep, errno);
    pthread_t th[RECEIVERS];
    long counts[RECEIVERS] = {0};
    for (int i = 0; i < RECEIVERS; i++)
        CHECK(pthread_create(&th[i], NULL, shared_receiver, &counts[i]) == 0, "thread");
    for (uint64_t v = 0; v < (uint64_t) total; v++) {
        CHECK(sinew_send(push, &v, sizeof v, 0) == (int) sizeof v, "send: errno %d", errno);
        if (v % 500 == 0)
            usleep(200); /* let the receivers run dry and borrow the connection */
    }
    long got = 0;
    for (int i = 0; i < RECEIVERS; i++) {
        pthread_join(th[i], NULL);
        got += counts[i];
    }
    CHECK(got == total, "shared receivers got %ld of %ld messages", got, total);
    sinew_close(push);
    sinew_close(shared_pull);
    free(seen);
}

int
main(int argc, char **argv)
{
    if (argc > 1)
        round_trips = atol(argv[1]);
    check_watchdog(300);
    ctx = sinew_ctx_new();
    CHECK(ctx != NULL, "ctx");
    pinger_sock = sinew_socket(ctx, SINEW_PAIR);
    echo_sock = sinew_socket(ctx, SINEW_PAIR);
    CHECK(pinger_sock != NULL && echo_sock != NULL, "socket");
    void *sockets[2] = {pinger_sock, echo_sock};
    for (int i = 0; i < 2; i++) {
        set(sockets[i], SINEW_HEARTBEAT_IVL, 10);
        set(sockets[i], SINEW_HEARTBEAT_TIMEOUT, 5000); /* TSan may stall a thread */
        set(sockets[i], SINEW_RCVTIMEO, 20000);
        set(sockets[i], SINEW_SNDTIMEO, 20000);
        set(sockets[i], SINEW_LINGER, 0);
    }
    void *mon_p = monitor(pinger_sock, "inproc://stress-direct-mon-p");
    void *mon_e = monitor(echo_sock, "inproc://stress-direct-mon-e");
    CHECK(sinew_bind(echo_sock, "tcp://127.0.0.1:*") == 0, "bind: errno %d", errno);
    char ep[256];
    size_t len = sizeof ep;
    CHECK(sinew_getsockopt(echo_sock, SINEW_LAST_ENDPOINT, ep, &len) == 0, "endpoint");
    CHECK(sinew_connect(pinger_sock, ep) == 0, "connect %s: errno %d", ep, errno);

    pthread_t p, e;
    CHECK(pthread_create(&e, NULL, echo, NULL) == 0, "thread");
    CHECK(pthread_create(&p, NULL, pinger, NULL) == 0, "thread");
    pthread_join(p, NULL);
    pthread_join(e, NULL);
    no_disconnect(mon_p, "pinger");
    no_disconnect(mon_e, "echo");
    shared_receivers(round_trips * 5);

    sinew_close(pinger_sock);
    sinew_close(echo_sock);
    sinew_close(mon_p);
    sinew_close(mon_e);
    CHECK(sinew_ctx_term(ctx) == 0, "term");
    printf("ok: %ld round trips over tcp, heartbeats every 10 ms on both sides; %ld "
           "messages to %d receivers sharing one connection\n",
           round_trips, round_trips * 5, RECEIVERS);
    return 0;
}
