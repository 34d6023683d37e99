/* local_thr <bind-to> <message-size> <message-count> [<enable_curve>]: PULL binds and
 * receives; timed from the first message to the last. CURVE is not implemented yet. */
#include "perf.h"

int
main(int argc, char *argv[])
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: local_thr <bind-to> <message-size> <message-count> "
                        "[<enable_curve>]\n");
        return 1;
    }
    size_t size = (size_t) perf_arg(argv[2], "message size", 0);
    long count = perf_arg(argv[3], "message count", 1);
    if (argc == 5 && perf_arg(argv[4], "enable_curve", 0) != 0) {
        fprintf(stderr, "CURVE is not supported yet\n");
        return 1;
    }
    void *ctx = sinew_ctx_new();
    void *s = perf_socket(ctx, SINEW_PULL);
    if (sinew_bind(s, argv[1]) != 0)
        perf_die("sinew_bind");
    sinew_msg_t msg;
    sinew_msg_init(&msg);
    printf("message size: %zu [B]\n", size);
    printf("message count: %ld\n", count);
    perf_recv(s, &msg, size);
    uint64_t start = perf_now_us();
    for (long i = 1; i < count; i++)
        perf_recv(s, &msg, size);
    uint64_t elapsed = perf_now_us() - start;
    sinew_msg_close(&msg);
    perf_print_thr(size, count, elapsed);
    if (sinew_close(s) != 0 || sinew_ctx_term(ctx) != 0)
        perf_die("close");
    return 0;
}
