/* remote_thr <connect-to> <message-size> <message-count> [<enable_curve>]: PUSH connects
 * (as the CURVE client when enabled) and sends; closing with the default linger (-1)
 * delivers everything before exit. */
#include "perf.h"

int
main(int argc, char *argv[])
{
    size_t size;
    long count;
    bool curve = perf_net_args(argc, argv,
                               "remote_thr <connect-to> <message-size> <message-count> [<enable_curve>]",
                               "message count", &size, &count);
    void *ctx = sinew_ctx_new();
    void *s = perf_socket(ctx, SINEW_PUSH);
    if (curve)
        perf_curve(s, false);
    if (sinew_connect(s, argv[1]) != 0)
        perf_die("sinew_connect");
    perf_send_all(s, size, count);
    if (sinew_close(s) != 0 || sinew_ctx_term(ctx) != 0)
        perf_die("close");
    return 0;
}
