/* Subscription matching on the publisher: how much a publisher's send costs with many
 * subscribed topics against one. A SUB (inproc) subscribes to K topics "topic.<n>/";
 * the PUB then publishes messages "topic.<n>|..." that follow a topic's whole path and
 * miss at its last byte, so nothing is delivered and the send is the match alone (with
 * one topic the walk ends sooner: the ratio of the two runs is the cost of the count).
 * A last run delivers: messages that match one of the K topics, taken by the SUB.
 *
 * Times are this thread's CPU time (see cpu_s), so that a busy machine does not decide.
 *
 * usage: sub_match <topics> [messages]
 * prints: match_miss_<K>topics <msgs/s> msg/s higher
 *         match_hit_<K>topics <msgs/s> msg/s higher
 *         subscribe_<K>topics <s> s lower   (K >= 1000: K subscriptions taken in) */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NAME "sub_match"
#include "pattern_bench.h"

/* This thread's CPU time: the machine may be shared, and everything measured here runs
 * in this one thread (inproc, both sockets), so rates are per CPU-second. */
static double
cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Publishes "sync" probes until one arrives: the PUB then has every earlier
 * subscription. */
static void
sync_sub(void *pub, void *sub)
{
    double deadline = bench_now_s() + 60;
    for (;;) {
        if (bench_now_s() > deadline)
            bench_die("no sync after 60 s");
        if (sinew_send(pub, "sync", 4, 0) != 4)
            bench_die("probe");
        sinew_pollitem_t it = {.socket = sub, .events = SINEW_POLLIN};
        if (sinew_poll(&it, 1, 1) == 1)
            break;
    }
    char buf[16];
    while (sinew_recv(sub, buf, sizeof buf, SINEW_DONTWAIT) >= 0)
        ;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s <topics> [messages]\n", argv[0]);
        return 2;
    }
    long k = atol(argv[1]);
    long n = argc > 2 ? atol(argv[2]) : 1000000;
    if (k < 1 || k > 1000000)
        bench_die("topics");
    void *ctx = sinew_ctx_new();
    void *pub = sinew_socket(ctx, SINEW_PUB), *sub = sinew_socket(ctx, SINEW_SUB);
    if (pub == NULL || sub == NULL)
        bench_die("socket");
    /* No limits either way: libzmq drops subscriptions at the SUB's SNDHWM. */
    bench_set_int(pub, SINEW_SNDHWM, 0);
    bench_set_int(pub, SINEW_RCVHWM, 0);
    bench_set_int(sub, SINEW_SNDHWM, 0);
    bench_set_int(sub, SINEW_RCVHWM, 0);
    bench_set_int(pub, SINEW_LINGER, 0);
    bench_set_int(sub, SINEW_LINGER, 0);
    if (sinew_bind(pub, "inproc://match") != 0 || sinew_connect(sub, "inproc://match") != 0)
        bench_die("bind/connect");
    double t = cpu_s();
    char topic[32];
    for (long i = 0; i < k; i++) {
        int len = snprintf(topic, sizeof topic, "topic.%06ld/", i);
        if (sinew_setsockopt(sub, SINEW_SUBSCRIBE, topic, (size_t) len) != 0)
            bench_die("subscribe");
    }
    if (sinew_setsockopt(sub, SINEW_SUBSCRIBE, "sync", 4) != 0)
        bench_die("subscribe");
    sync_sub(pub, sub);
    if (k >= 1000) /* fewer take no measurable time */
        printf("subscribe_%ldtopics %.4f s lower\n", k, cpu_s() - t);

    char msg[32];
    t = cpu_s();
    for (long i = 0; i < n; i++) {
        int len = snprintf(msg, sizeof msg, "topic.%06ld|payload", (i * 7919) % k);
        if (sinew_send(pub, msg, (size_t) len, 0) != len)
            bench_die("send");
    }
    printf("match_miss_%ldtopics %.0f msg/s higher\n", k, (double) n / (cpu_s() - t));

    /* Delivered: the SUB reads what it gets, in batches, from this thread. */
    long hits = n / 4;
    t = cpu_s();
    for (long i = 0; i < hits; i++) {
        int len = snprintf(msg, sizeof msg, "topic.%06ld/payload", (i * 7919) % k);
        if (sinew_send(pub, msg, (size_t) len, 0) != len)
            bench_die("send");
        if (i % 256 == 255 || i == hits - 1) {
            char buf[32];
            for (long j = (i / 256) * 256; j <= i; j++)
                if (sinew_recv(sub, buf, sizeof buf, 0) < 0)
                    bench_die("recv");
        }
    }
    printf("match_hit_%ldtopics %.0f msg/s higher\n", k, (double) hits / (cpu_s() - t));
    sinew_close(sub);
    sinew_close(pub);
    sinew_ctx_term(ctx);
    return 0;
}
