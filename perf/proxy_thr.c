/* proxy_thr: throughput through the built-in proxy (a streamer: PUSH -> [PULL | proxy |
 * PUSH] -> PULL), the libzmq zmq_proxy benchmark's shape. The producer runs in a thread,
 * the proxy in another, the consumer in main; the clock runs from the first message
 * received to the last. Built on sinew and, with BENCH_LIBZMQ, on libzmq (bench_api.h).
 *
 * Usage: proxy_thr [inproc|tcp] [size] [count]
 * Prints: proxy_thr_<transport>_<size>B <messages per second> msg/s higher */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_api.h"

static size_t size;
static long count;

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void *
produce(void *push)
{
    char *buf = calloc(1, size > 0 ? size : 1);
    for (long i = 0; i < count; i++)
        if (sinew_send(push, buf, size, 0) < 0)
            break;
    free(buf);
    return NULL;
}

static void *
run_proxy(void *sockets)
{
    void **s = sockets;
    sinew_proxy(s[0], s[1], NULL); /* until the context shuts down */
    return NULL;
}

static void
bind_any(void *s, const char *tran, const char *name, char *ep, size_t len)
{
    if (strcmp(tran, "inproc") == 0)
        snprintf(ep, len, "inproc://proxy-thr-%s", name);
    else
        snprintf(ep, len, "tcp://127.0.0.1:*");
    if (sinew_bind(s, ep) != 0) {
        fprintf(stderr, "bind %s: %s\n", ep, sinew_strerror(errno));
        exit(1);
    }
    sinew_getsockopt(s, SINEW_LAST_ENDPOINT, ep, &len);
}

int
main(int argc, char **argv)
{
    const char *tran = argc > 1 ? argv[1] : "inproc";
    size = argc > 2 ? (size_t) atol(argv[2]) : 64;
    count = argc > 3 ? atol(argv[3]) : 1000000;
    void *ctx = sinew_ctx_new();
    void *front = sinew_socket(ctx, SINEW_PULL), *back = sinew_socket(ctx, SINEW_PUSH);
    void *producer = sinew_socket(ctx, SINEW_PUSH), *consumer = sinew_socket(ctx, SINEW_PULL);
    char fe[256], be[256];
    bind_any(front, tran, "front", fe, sizeof fe);
    bind_any(back, tran, "back", be, sizeof be);
    sinew_connect(producer, fe);
    sinew_connect(consumer, be);

    void *sockets[2] = {front, back};
    pthread_t proxy, prod;
    pthread_create(&proxy, NULL, run_proxy, sockets);
    pthread_create(&prod, NULL, produce, producer);

    char *buf = malloc(size > 0 ? size : 1);
    double start = 0;
    long got = 0;
    for (; got < count; got++) {
        if (sinew_recv(consumer, buf, size, 0) < 0)
            break;
        if (got == 0)
            start = now_s();
    }
    double secs = now_s() - start;
    free(buf);
    pthread_join(prod, NULL);
    if (got == count && count > 1 && secs > 0)
        printf("proxy_thr_%s_%zuB %.0f msg/s higher\n", tran, size, (double) (count - 1) / secs);
    int linger = 0;
    sinew_setsockopt(producer, SINEW_LINGER, &linger, sizeof linger);
    sinew_close(producer);
    sinew_close(consumer);
    sinew_ctx_shutdown(ctx);
    pthread_join(proxy, NULL);
    sinew_close(front);
    sinew_close(back);
    sinew_ctx_term(ctx);
    return got == count ? 0 : 1;
}
