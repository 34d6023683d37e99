/* broker_thr: asynchronous request throughput through a broker (RFC 28's extended
 * request-reply): CLIENTS DEALER clients -> ROUTER frontend | a broker loop polling both
 * sockets and forwarding whole messages | DEALER backend -> WORKERS DEALER workers that
 * echo each request (its routing envelope included) back. Each client keeps WINDOW
 * requests in flight, so no queue reaches its HWM and nothing is dropped or blocked for
 * long; the figure is requests answered per second, for each transport and size.
 *
 * Built twice (bench_api.h): on sinew and, with -DBENCH_LIBZMQ, on libzmq.
 * Usage: broker_thr [requests per run, default 100000] [transport [size]] (all of
 * inproc, ipc and tcp at 64 B and 1 KB by default). Prints per transport and size:
 *   broker_<transport>_<size>B <requests/s> msg/s higher */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_api.h"

#define CLIENTS 2
#define WORKERS 2
#define WINDOW 100

static void *ctx;
static char front_ep[256], back_ep[256];
static size_t msg_size;
static long per_client;

static void
die(const char *what)
{
    fprintf(stderr, "broker_thr (%s): %s: %s\n", BENCH_LIB, what, sinew_strerror(errno));
    exit(1);
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void *
sock(int type)
{
    void *s = sinew_socket(ctx, type);
    int zero = 0;
    if (s == NULL)
        die("socket");
    /* In-flight messages are bounded by the clients' windows: no HWM is needed. */
    sinew_setsockopt(s, SINEW_SNDHWM, &zero, sizeof zero);
    sinew_setsockopt(s, SINEW_RCVHWM, &zero, sizeof zero);
    sinew_setsockopt(s, SINEW_LINGER, &zero, sizeof zero);
    return s;
}

/* Moves one whole message (all its parts) from one socket to the other: 0, or -1 with
 * errno (EAGAIN: nothing waiting, with DONTWAIT; ETERM: the context ends). */
static int
forward(void *from, void *to, sinew_msg_t *m, int flags)
{
    for (;;) {
        if (sinew_msg_recv(m, from, flags) < 0)
            return -1;
        int more = sinew_msg_more(m);
        if (sinew_msg_send(m, to, more ? SINEW_SNDMORE : 0) < 0)
            return -1;
        if (!more)
            return 0;
        flags = 0; /* the other parts are there already */
    }
}

/* A worker echoes every request back, envelope and all. */
static void *
worker(void *arg)
{
    (void) arg;
    void *s = sock(SINEW_DEALER);
    if (sinew_connect(s, back_ep) < 0)
        die("worker connect");
    sinew_msg_t m;
    sinew_msg_init(&m);
    for (;;) {
        if (forward(s, s, &m, 0) < 0)
            break; /* the context ends */
    }
    sinew_msg_close(&m);
    sinew_close(s);
    return NULL;
}

static pthread_barrier_t start;

static void *
client(void *arg)
{
    (void) arg;
    void *s = sock(SINEW_DEALER);
    if (sinew_connect(s, front_ep) < 0)
        die("client connect");
    char *buf = calloc(1, msg_size ? msg_size : 1);
    /* One round trip first: the path is up before the clock starts. */
    if (sinew_send(s, buf, msg_size, 0) < 0 || sinew_recv(s, buf, msg_size, 0) < 0)
        die("client warm-up");
    pthread_barrier_wait(&start);
    long sent = 0, got = 0;
    while (got < per_client) {
        while (sent < per_client && sent - got < WINDOW) {
            if (sinew_send(s, buf, msg_size, 0) < 0)
                die("client send");
            sent++;
        }
        if (sinew_recv(s, buf, msg_size, 0) < 0)
            die("client recv");
        got++;
    }
    free(buf);
    sinew_close(s);
    return NULL;
}

/* One run: the requests per second, the broker loop on this thread. */
static double
run(const char *transport, size_t size, long requests)
{
    msg_size = size;
    per_client = requests / CLIENTS;
    ctx = sinew_ctx_new();
    void *front = sock(SINEW_ROUTER), *back = sock(SINEW_DEALER);
    static int seq;
    char dir[64] = "";
    if (strcmp(transport, "inproc") == 0) {
        snprintf(front_ep, sizeof front_ep, "inproc://front-%d", seq);
        snprintf(back_ep, sizeof back_ep, "inproc://back-%d", seq++);
    } else if (strcmp(transport, "ipc") == 0) {
        snprintf(dir, sizeof dir, "/tmp/broker_thr-XXXXXX");
        if (mkdtemp(dir) == NULL)
            die("mkdtemp");
        snprintf(front_ep, sizeof front_ep, "ipc://%s/front", dir);
        snprintf(back_ep, sizeof back_ep, "ipc://%s/back", dir);
    } else {
        snprintf(front_ep, sizeof front_ep, "tcp://127.0.0.1:*");
        snprintf(back_ep, sizeof back_ep, "tcp://127.0.0.1:*");
    }
    if (sinew_bind(front, front_ep) < 0 || sinew_bind(back, back_ep) < 0)
        die("bind");
    size_t len = sizeof front_ep;
    sinew_getsockopt(front, SINEW_LAST_ENDPOINT, front_ep, &len);
    len = sizeof back_ep;
    sinew_getsockopt(back, SINEW_LAST_ENDPOINT, back_ep, &len);

    pthread_t w[WORKERS], c[CLIENTS];
    pthread_barrier_init(&start, NULL, CLIENTS + 1);
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&w[i], NULL, worker, NULL);
    for (int i = 0; i < CLIENTS; i++)
        pthread_create(&c[i], NULL, client, NULL);

    /* The broker: forward whatever either side has, until every reply went out. */
    sinew_pollitem_t items[2] = {{.socket = front, .events = SINEW_POLLIN},
                                 {.socket = back, .events = SINEW_POLLIN}};
    sinew_msg_t m;
    sinew_msg_init(&m);
    long total = per_client * CLIENTS + CLIENTS; /* with the warm-up round trips */
    long replies = 0;
    double t0 = 0;
    bool started = false;
    while (replies < total) {
        if (!started && replies == CLIENTS) {
            pthread_barrier_wait(&start);
            t0 = now_s();
            started = true;
        }
        if (sinew_poll(items, 2, -1) < 0)
            die("poll");
        if (items[0].revents & SINEW_POLLIN) {
            while (forward(front, back, &m, SINEW_DONTWAIT) == 0)
                ;
            if (errno != EAGAIN)
                die("forward a request");
        }
        if (items[1].revents & SINEW_POLLIN) {
            while (replies < total && forward(back, front, &m, SINEW_DONTWAIT) == 0)
                replies++;
            if (replies < total && errno != EAGAIN)
                die("forward a reply");
        }
    }
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(c[i], NULL);
    double secs = now_s() - t0;
    sinew_msg_close(&m);
    sinew_close(front);
    sinew_close(back);
    sinew_ctx_term(ctx); /* the workers' recv fails with ETERM: they close and leave */
    for (int i = 0; i < WORKERS; i++)
        pthread_join(w[i], NULL);
    pthread_barrier_destroy(&start);
    if (dir[0] != 0) {
        char path[128];
        snprintf(path, sizeof path, "%s/front", dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/back", dir);
        unlink(path);
        rmdir(dir);
    }
    return (double) (per_client * CLIENTS) / secs;
}

int
main(int argc, char **argv)
{
    long requests = argc > 1 ? atol(argv[1]) : 100000;
    if (requests < CLIENTS) {
        fprintf(stderr, "usage: broker_thr [requests per run] [transport [size]]\n");
        return 2;
    }
    const char *transports[] = {"inproc", "ipc", "tcp"};
    size_t sizes[] = {64, 1024};
    size_t nt = 3, nz = 2;
    if (argc > 2) {
        transports[0] = argv[2];
        nt = 1;
    }
    if (argc > 3) {
        sizes[0] = (size_t) atol(argv[3]);
        nz = 1;
    }
    for (size_t t = 0; t < nt; t++)
        for (size_t z = 0; z < nz; z++)
            printf("broker_%s_%zuB %.0f msg/s higher\n", transports[t], sizes[z],
                   run(transports[t], sizes[z], requests));
    return 0;
}
