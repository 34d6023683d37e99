/* local_lat <bind-to> <message-size> <roundtrip-count> [<enable_curve>]: REP binds (as
 * the CURVE server when enabled) and echoes. */
#include "perf.h"

int
main(int argc, char *argv[])
{
    size_t size;
    long count;
    bool curve = perf_net_args(argc, argv,
                               "local_lat <bind-to> <message-size> <roundtrip-count> [<enable_curve>]",
                               "roundtrip count", &size, &count);
    void *ctx = sinew_ctx_new();
    void *s = perf_socket(ctx, SINEW_REP);
    if (curve)
        perf_curve(s, true);
    if (sinew_bind(s, argv[1]) != 0)
        perf_die("sinew_bind");
    perf_echo(s, size, count);
    if (sinew_close(s) != 0 || sinew_ctx_term(ctx) != 0)
        perf_die("close");
    return 0;
}
