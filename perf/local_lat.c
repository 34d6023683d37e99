/* local_lat <bind-to> <message-size> <roundtrip-count>: REP binds and echoes. */
#include "perf.h"

int
main(int argc, char *argv[])
{
    if (argc != 4) {
        fprintf(stderr, "usage: local_lat <bind-to> <message-size> <roundtrip-count>\n");
        return 1;
    }
    size_t size = (size_t) perf_arg(argv[2], "message size", 0);
    long roundtrips = perf_arg(argv[3], "roundtrip count", 1);
    void *ctx = sinew_ctx_new();
    void *s = perf_socket(ctx, SINEW_REP);
    if (sinew_bind(s, argv[1]) != 0)
        perf_die("sinew_bind");
    perf_echo(s, size, roundtrips);
    if (sinew_close(s) != 0 || sinew_ctx_term(ctx) != 0)
        perf_die("close");
    return 0;
}
