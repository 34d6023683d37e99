/* inproc_lat <message-size> <roundtrip-count>: REQ binds inproc:// in the main thread, a
 * second thread connects REP and echoes. The clock starts right after the echo thread is
 * created; latency = elapsed / (2 * roundtrips). */
#include <pthread.h>

#include "perf.h"

static size_t size;
static long roundtrips;

static void *
echo(void *ctx)
{
    void *s = perf_socket(ctx, SINEW_REP);
    if (sinew_connect(s, "inproc://lat_test") != 0)
        perf_die("sinew_connect");
    perf_echo(s, size, roundtrips);
    if (sinew_close(s) != 0)
        perf_die("sinew_close");
    return NULL;
}

int
main(int argc, char *argv[])
{
    if (argc != 3) {
        fprintf(stderr, "usage: inproc_lat <message-size> <roundtrip-count>\n");
        return 1;
    }
    size = (size_t) perf_arg(argv[1], "message size", 0);
    roundtrips = perf_arg(argv[2], "roundtrip count", 1);
    void *ctx = sinew_ctx_new();
    if (ctx == NULL)
        perf_die("sinew_ctx_new");
    void *s = perf_socket(ctx, SINEW_REQ);
    if (sinew_bind(s, "inproc://lat_test") != 0)
        perf_die("sinew_bind");
    pthread_t t;
    if (pthread_create(&t, NULL, echo, ctx) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
    }
    perf_ping(s, size, roundtrips);
    pthread_join(t, NULL);
    if (sinew_close(s) != 0 || sinew_ctx_term(ctx) != 0)
        perf_die("close");
    return 0;
}
