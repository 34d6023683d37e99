/* remote_thr <connect-to> <message-size> <message-count> [<enable_curve>]: PUSH connects
 * and sends; closing with the default linger (-1) delivers everything before exit. */
#include "perf.h"

int
main(int argc, char *argv[])
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: remote_thr <connect-to> <message-size> <message-count> "
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
    void *s = perf_socket(ctx, SINEW_PUSH);
    if (sinew_connect(s, argv[1]) != 0)
        perf_die("sinew_connect");
    for (long i = 0; i < count; i++) {
        sinew_msg_t msg;
        if (sinew_msg_init_size(&msg, size) != 0)
            perf_die("sinew_msg_init_size");
        perf_send(s, &msg);
        sinew_msg_close(&msg);
    }
    if (sinew_close(s) != 0 || sinew_ctx_term(ctx) != 0)
        perf_die("close");
    return 0;
}
