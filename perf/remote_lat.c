/* remote_lat <connect-to> <message-size> <roundtrip-count>: REQ connects, sends and
 * waits for the echo; the clock starts right after connect, so connection set-up falls
 * inside the first round trip. latency = elapsed / (2 * roundtrips). */
#include "perf.h"

int
main(int argc, char *argv[])
{
    if (argc != 4) {
        fprintf(stderr, "usage: remote_lat <connect-to> <message-size> <roundtrip-count>\n");
        return 1;
    }
    size_t size = (size_t) perf_arg(argv[2], "message size", 0);
    long roundtrips = perf_arg(argv[3], "roundtrip count", 1);
    void *ctx = sinew_ctx_new();
    void *s = perf_socket(ctx, SINEW_REQ);
    if (sinew_connect(s, argv[1]) != 0)
        perf_die("sinew_connect");
    perf_ping(s, size, roundtrips);
    if (sinew_close(s) != 0 || sinew_ctx_term(ctx) != 0)
        perf_die("close");
    return 0;
}
