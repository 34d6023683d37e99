/* inproc_thr <message-size> <message-count>: PULL binds inproc:// in the main thread,
 * PUSH connects from a second thread and sends; the receiver times from the first
 * message to the last. Default options (HWM 1000, one I/O thread). */
#include <pthread.h>

#include "perf.h"

static size_t size;
static long count;

static void *
sender(void *ctx)
{
    void *s = perf_socket(ctx, SINEW_PUSH);
    if (sinew_connect(s, "inproc://thr_test") != 0)
        perf_die("sinew_connect");
    perf_send_all(s, size, count);
    if (sinew_close(s) != 0)
        perf_die("sinew_close");
    return NULL;
}

int
main(int argc, char *argv[])
{
    if (argc != 3) {
        fprintf(stderr, "usage: inproc_thr <message-size> <message-count>\n");
        return 1;
    }
    size = (size_t) perf_arg(argv[1], "message size", 0);
    count = perf_arg(argv[2], "message count", 1);
    void *ctx = sinew_ctx_new();
    if (ctx == NULL)
        perf_die("sinew_ctx_new");
    void *s = perf_socket(ctx, SINEW_PULL);
    if (sinew_bind(s, "inproc://thr_test") != 0)
        perf_die("sinew_bind");
    pthread_t t;
    if (pthread_create(&t, NULL, sender, ctx) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
    }
    uint64_t elapsed = perf_recv_all(s, size, count);
    pthread_join(t, NULL);
    if (sinew_close(s) != 0 || sinew_ctx_term(ctx) != 0)
        perf_die("close");
    perf_print_thr(size, count, elapsed);
    return 0;
}
