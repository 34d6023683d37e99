/* pipeline: a parallel pipeline (PUSH and PULL), the ZeroMQ guide's "divide and
 * conquer".
 *
 *   ventilator (PUSH) --> workers (PULL ... PUSH) --> sink (PULL)
 *
 * The ventilator hands out tasks, each a number of milliseconds of "work"; PUSH spreads
 * them round-robin over the workers. Each worker does the work (sleeps) and sends a
 * result to the sink, which collects one per task (PULL queues fairly from all workers)
 * and reports who did what. With 4 workers the batch takes about a quarter of the
 * total work.
 *
 * sinew_wait_peers makes the ventilator wait until all workers are connected: without
 * it, the first worker to connect would get the first tasks all to itself (the "slow
 * joiner" problem; the guide's version sleeps a second instead).
 *
 * Run: ./examples/pipeline */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sinew.h"

#define WORKERS 4
#define TASKS 40

static char vent_ep[256], sink_ep[256];

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static long
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *
worker(void *ctx)
{
    static int next_id;
    int id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
    void *tasks = sinew_socket(ctx, SINEW_PULL);
    void *results = sinew_socket(ctx, SINEW_PUSH);
    sinew_connect(tasks, vent_ep);
    sinew_connect(results, sink_ep);
    for (;;) {
        int ms;
        if (sinew_recv(tasks, &ms, sizeof ms, 0) < 0)
            break; /* ETERM: the batch is done and main shut the context down */
        sleep_ms(ms);                                   /* the "work" */
        sinew_send(results, &id, sizeof id, 0);         /* "done", signed by who */
    }
    sinew_close(tasks);
    sinew_close(results);
    return NULL;
}

int
main(void)
{
    void *ctx = sinew_ctx_new();
    void *vent = sinew_socket(ctx, SINEW_PUSH);
    void *sink = sinew_socket(ctx, SINEW_PULL);
    size_t len = sizeof vent_ep;
    sinew_bind(vent, "tcp://127.0.0.1:*");
    sinew_getsockopt(vent, SINEW_LAST_ENDPOINT, vent_ep, &len);
    len = sizeof sink_ep;
    sinew_bind(sink, "tcp://127.0.0.1:*");
    sinew_getsockopt(sink, SINEW_LAST_ENDPOINT, sink_ep, &len);

    pthread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&t[i], NULL, worker, ctx);

    /* Wait (asleep, 5 s at most) until every worker is connected. */
    if (sinew_wait_peers(vent, WORKERS, 5000) < 0) {
        fprintf(stderr, "workers did not come: %s\n", sinew_strerror(errno));
        return 1;
    }
    long start = now_ms();
    int total_ms = 0;
    for (int i = 0; i < TASKS; i++) {
        int ms = 5 + (i * 7) % 20; /* 5 to 24 ms of "work" */
        total_ms += ms;
        sinew_send(vent, &ms, sizeof ms, 0);
    }
    printf("ventilator: %d tasks, %d ms of work in total\n", TASKS, total_ms);

    int done_by[WORKERS] = {0};
    sinew_setsockopt_int(sink, SINEW_RCVTIMEO, 5000);
    int results = 0;
    for (; results < TASKS; results++) {
        int id;
        if (sinew_recv(sink, &id, sizeof id, 0) < 0)
            break;
        if (id >= 0 && id < WORKERS)
            done_by[id]++;
    }
    long took = now_ms() - start;
    for (int i = 0; i < WORKERS; i++)
        printf("worker %d did %d tasks\n", i, done_by[i]);
    printf("sink: %d results in %ld ms (%d workers)\n", results, took, WORKERS);

    sinew_close(vent);
    sinew_close(sink);
    sinew_ctx_shutdown(ctx); /* workers' recv returns ETERM */
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    sinew_ctx_term(ctx);
    return results == TASKS ? 0 : 1;
}
