/* local_thr <bind-to> <message-size> <message-count> [<enable_curve>]: PULL binds and
 * receives (as the CURVE server when enabled); timed from the first message to the
 * last. */
#include "perf.h"

int
main(int argc, char *argv[])
{
    size_t size;
    long count;
    bool curve = perf_net_args(argc, argv,
                               "local_thr <bind-to> <message-size> <message-count> [<enable_curve>]",
                               "message count", &size, &count);
    void *ctx = sinew_ctx_new();
    void *s = perf_socket(ctx, SINEW_PULL);
    if (curve)
        perf_curve(s, true);
    if (sinew_bind(s, argv[1]) != 0)
        perf_die("sinew_bind");
    uint64_t elapsed = perf_recv_all(s, size, count);
    perf_print_thr(size, count, elapsed);
    if (sinew_close(s) != 0 || sinew_ctx_term(ctx) != 0)
        perf_die("close");
    return 0;
}
