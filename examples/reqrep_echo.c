/* reqrep_echo: request-reply in its simplest form (REQ and REP).
 *
 * A server thread binds a REP socket and answers each request with the same text; the
 * client (main) connects a REQ socket, asks five times and prints the answers. REQ and
 * REP take turns: a REQ must receive the reply before it sends again, a REP must reply
 * before it receives again.
 *
 * Run: ./examples/reqrep_echo            (over tcp on the loopback, a free port)
 *      ./examples/reqrep_echo ipc:///tmp/echo.ipc   (or any endpoint you like) */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "sinew.h"

#define REQUESTS 5

static void *
server(void *rep)
{
    for (;;) {
        char buf[256];
        int n = sinew_recv(rep, buf, sizeof buf, 0);
        if (n < 0)
            break; /* ETERM: main shut the context down, time to go */
        if (n > (int) sizeof buf)
            n = sizeof buf; /* recv reports the full size; only buf's worth was kept */
        sinew_send(rep, buf, (size_t) n, 0); /* echo it back */
    }
    sinew_close(rep);
    return NULL;
}

int
main(int argc, char **argv)
{
    void *ctx = sinew_ctx_new();

    /* The server's socket is made and bound here, so the endpoint is known (port "*"
     * lets the system pick a free one) before the client connects. */
    void *rep = sinew_socket(ctx, SINEW_REP);
    if (sinew_bind(rep, argc > 1 ? argv[1] : "tcp://127.0.0.1:*") != 0) {
        fprintf(stderr, "bind: %s\n", sinew_strerror(errno));
        return 1;
    }
    char endpoint[256];
    size_t len = sizeof endpoint;
    sinew_getsockopt(rep, SINEW_LAST_ENDPOINT, endpoint, &len);
    printf("server listening on %s\n", endpoint);
    pthread_t t;
    pthread_create(&t, NULL, server, rep); /* from now on the socket is the server's */

    void *req = sinew_socket(ctx, SINEW_REQ);
    sinew_setsockopt_int(req, SINEW_RCVTIMEO, 2000); /* never wait forever */
    sinew_connect(req, endpoint);
    int ok = 0;
    for (int i = 1; i <= REQUESTS; i++) {
        char request[64], reply[64];
        int n = snprintf(request, sizeof request, "hello %d", i);
        sinew_send(req, request, (size_t) n, 0);
        int got = sinew_recv(req, reply, sizeof reply - 1, 0);
        if (got < 0) {
            fprintf(stderr, "no reply: %s\n", sinew_strerror(errno));
            break;
        }
        reply[got < (int) sizeof reply - 1 ? got : (int) sizeof reply - 1] = '\0';
        printf("sent \"%s\", got \"%s\"\n", request, reply);
        ok += strcmp(request, reply) == 0;
    }

    /* Clean shutdown: close our socket, wake the server out of its recv (ETERM), wait
     * for it to close its own, then end the context. */
    sinew_close(req);
    sinew_ctx_shutdown(ctx);
    pthread_join(t, NULL);
    sinew_ctx_term(ctx);
    printf("%d of %d echoed\n", ok, REQUESTS);
    return ok == REQUESTS ? 0 : 1;
}
