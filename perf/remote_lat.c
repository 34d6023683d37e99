/* remote_lat <connect-to> <message-size> <roundtrip-count> [<enable_curve>]: REQ
 * connects (as the CURVE client when enabled), sends and waits for the echo; the clock
 * starts right after connect, so connection set-up (and the CURVE handshake) falls inside
 * the first round trip. latency = elapsed / (2 * roundtrips). */
#include "perf.h"

int
main(int argc, char *argv[])
{
    size_t size;
    long count;
    bool curve = perf_net_args(argc, argv,
                               "remote_lat <connect-to> <message-size> <roundtrip-count> [<enable_curve>]",
                               "roundtrip count", &size, &count);
    void *ctx = sinew_ctx_new();
    void *s = perf_socket(ctx, SINEW_REQ);
    if (curve)
        perf_curve(s, false);
    if (sinew_connect(s, argv[1]) != 0)
        perf_die("sinew_connect");
    perf_ping(s, size, count);
    if (sinew_close(s) != 0 || sinew_ctx_term(ctx) != 0)
        perf_die("close");
    return 0;
}
