/* PUB/SUB fan-out: one publisher, ten subscribers (threads of this process), one message
 * size and transport per run. Every subscriber takes every message: HWMs are unlimited
 * and the publisher keeps at most WINDOW messages ahead of the slowest subscriber, so
 * nothing is dropped, memory stays bounded and both libraries do the same work. The
 * figure is messages per second received per subscriber, from the publisher's first
 * send to that subscriber's last message, averaged over the subscribers. Wall-clock:
 * on a shared machine the figures move with its load.
 *
 * usage: pubsub_fanout inproc|ipc|tcp <size> [messages]
 * prints: fanout_<transport>_<size> <msgs/s> msg/s higher */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NAME "pubsub_fanout"
#include "pattern_bench.h"

#define SUBS 10

static void *ctx;
static char endpoint[256];
static size_t size;
static long count;
static atomic_int ready;
/* Messages each subscriber has taken, so that the publisher stays at most WINDOW
 * ahead of the slowest: nothing is dropped and memory stays bounded on both sides. */
#define WINDOW 1000
static atomic_long progress[SUBS];
static _Atomic double t0;
static double rates[SUBS];

/* A subscriber: takes probes ('P') until the first data message ('D'), then counts the
 * data messages. */
static void *
subscriber(void *arg)
{
    int id = (int) (intptr_t) arg;
    void *sub = sinew_socket(ctx, SINEW_SUB);
    if (sub == NULL)
        bench_die("socket");
    bench_set_int(sub, SINEW_RCVHWM, 0);
    bench_set_int(sub, SINEW_LINGER, 0);
    if (sinew_setsockopt(sub, SINEW_SUBSCRIBE, "", 0) != 0 || sinew_connect(sub, endpoint) != 0)
        bench_die("subscribe/connect");
    sinew_msg_t m;
    sinew_msg_init(&m);
    bool counted_ready = false;
    long got = 0;
    while (got < count) {
        if (sinew_msg_recv(&m, sub, 0) < 0)
            bench_die("recv");
        const char *d = sinew_msg_data(&m);
        if (sinew_msg_size(&m) > 0 && d[0] == 'P') {
            if (!counted_ready) {
                counted_ready = true;
                atomic_fetch_add(&ready, 1);
            }
            continue;
        }
        got++;
        if ((got & 63) == 0 || got == count)
            atomic_store_explicit(&progress[id], got, memory_order_relaxed);
    }
    rates[id] = (double) count / (bench_now_s() - atomic_load(&t0));
    sinew_msg_close(&m);
    sinew_close(sub);
    return NULL;
}

static long
slowest(void)
{
    long min = count;
    for (int i = 0; i < SUBS; i++) {
        long p = atomic_load_explicit(&progress[i], memory_order_relaxed);
        if (p < min)
            min = p;
    }
    return min;
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s inproc|ipc|tcp <size> [messages]\n", argv[0]);
        return 2;
    }
    const char *tran = argv[1];
    size = (size_t) atol(argv[2]);
    if (size == 0)
        size = 1;
    count = argc > 3 ? atol(argv[3]) : size >= 65536 ? 10000 : size >= 1024 ? 100000 : 200000;
    ctx = sinew_ctx_new();
    void *pub = sinew_socket(ctx, SINEW_PUB);
    if (pub == NULL)
        bench_die("socket");
    bench_set_int(pub, SINEW_SNDHWM, 0);
    bench_set_int(pub, SINEW_LINGER, 0);
    char dir[64] = "";
    if (strcmp(tran, "inproc") == 0) {
        snprintf(endpoint, sizeof endpoint, "inproc://fanout");
    } else if (strcmp(tran, "ipc") == 0) {
        snprintf(dir, sizeof dir, "/tmp/fanout-XXXXXX");
        if (mkdtemp(dir) == NULL)
            bench_die("mkdtemp");
        snprintf(endpoint, sizeof endpoint, "ipc://%s/s", dir);
    } else {
        snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:*");
    }
    if (sinew_bind(pub, endpoint) != 0)
        bench_die("bind");
    size_t len = sizeof endpoint;
    if (sinew_getsockopt(pub, SINEW_LAST_ENDPOINT, endpoint, &len) != 0)
        bench_die("LAST_ENDPOINT");
    pthread_t t[SUBS];
    for (int i = 0; i < SUBS; i++)
        pthread_create(&t[i], NULL, subscriber, (void *) (intptr_t) i);
    /* The slow-joiner wait, the same on both libraries: probes until all took one. */
    while (atomic_load(&ready) < SUBS) {
        if (sinew_send(pub, "P", 1, 0) != 1)
            bench_die("probe");
        usleep(1000);
    }
    char *buf = calloc(1, size);
    buf[0] = 'D';
    atomic_store(&t0, bench_now_s());
    for (long i = 0; i < count; i++) {
        sinew_msg_t m;
        if (sinew_msg_init_size(&m, size) != 0)
            bench_die("msg");
        memcpy(sinew_msg_data(&m), buf, size < 16 ? size : 16);
        if (sinew_msg_send(&m, pub, 0) < 0)
            bench_die("send");
        while ((i & 255) == 255 && slowest() < i - WINDOW)
            usleep(50);
    }
    double sum = 0;
    for (int i = 0; i < SUBS; i++) {
        pthread_join(t[i], NULL);
        sum += rates[i];
    }
    printf("fanout_%s_%zu %.0f msg/s higher\n", tran, size, sum / SUBS);
    free(buf);
    sinew_close(pub);
    sinew_ctx_term(ctx);
    if (dir[0] != 0) {
        char path[128];
        snprintf(path, sizeof path, "%s/s", dir);
        unlink(path);
        rmdir(dir);
    }
    return 0;
}
