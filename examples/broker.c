/* broker: a request-reply broker (ROUTER and DEALER, with sinew_proxy) that spreads
 * clients' requests over workers, the ZeroMQ guide's "shared queue".
 *
 *   client (REQ) --> [ROUTER | sinew_proxy | DEALER] --> workers (REP)
 *
 * Clients and workers know only the broker's two endpoints, not each other; workers may
 * come and go. The ROUTER remembers which client each request came from (it prepends
 * the client's routing id), the DEALER hands requests to the workers in turn, and the
 * replies find their way back through the same envelope. sinew_proxy moves messages
 * both ways until the context is shut down.
 *
 * Run: ./examples/broker */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "sinew.h"

#define WORKERS 3
#define REQUESTS 9

static char backend_ep[256];

static void *
broker(void *sockets)
{
    void **s = sockets;
    sinew_proxy(s[0], s[1], NULL); /* returns -1 with ETERM at shutdown */
    sinew_close(s[0]);
    sinew_close(s[1]);
    return NULL;
}

static void *
worker(void *ctx)
{
    static int next_id;
    int id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
    void *rep = sinew_socket(ctx, SINEW_REP);
    sinew_connect(rep, backend_ep);
    for (;;) {
        char request[64], reply[96];
        int n = sinew_recv(rep, request, sizeof request - 1, 0);
        if (n < 0)
            break; /* ETERM */
        request[n < (int) sizeof request - 1 ? n : (int) sizeof request - 1] = '\0';
        int len = snprintf(reply, sizeof reply, "worker %d handled \"%s\"", id, request);
        sinew_send(rep, reply, (size_t) len, 0);
    }
    sinew_close(rep);
    return NULL;
}

int
main(void)
{
    void *ctx = sinew_ctx_new();
    void *frontend = sinew_socket(ctx, SINEW_ROUTER);
    void *backend = sinew_socket(ctx, SINEW_DEALER);
    char frontend_ep[256];
    size_t len = sizeof frontend_ep;
    sinew_bind(frontend, "tcp://127.0.0.1:*");
    sinew_getsockopt(frontend, SINEW_LAST_ENDPOINT, frontend_ep, &len);
    len = sizeof backend_ep;
    sinew_bind(backend, "tcp://127.0.0.1:*");
    sinew_getsockopt(backend, SINEW_LAST_ENDPOINT, backend_ep, &len);

    pthread_t w[WORKERS], b;
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&w[i], NULL, worker, ctx);
    /* All workers in before the first request, so that it is spread over them all. */
    if (sinew_wait_peers(backend, WORKERS, 5000) < 0) {
        fprintf(stderr, "workers did not come: %s\n", sinew_strerror(errno));
        return 1;
    }
    void *sockets[2] = {frontend, backend};
    pthread_create(&b, NULL, broker, sockets); /* the broker owns both from now on */

    void *client = sinew_socket(ctx, SINEW_REQ);
    sinew_setsockopt_int(client, SINEW_RCVTIMEO, 2000);
    sinew_connect(client, frontend_ep);
    int answered = 0, used[WORKERS] = {0};
    for (int i = 1; i <= REQUESTS; i++) {
        char request[32], reply[128];
        int n = snprintf(request, sizeof request, "request %d", i);
        sinew_send(client, request, (size_t) n, 0);
        int got = sinew_recv(client, reply, sizeof reply - 1, 0);
        if (got < 0)
            break;
        reply[got < (int) sizeof reply - 1 ? got : (int) sizeof reply - 1] = '\0';
        printf("%s\n", reply);
        answered++;
        int id;
        if (sscanf(reply, "worker %d", &id) == 1 && id >= 0 && id < WORKERS)
            used[id] = 1;
    }
    int nused = 0;
    for (int i = 0; i < WORKERS; i++)
        nused += used[i];
    printf("%d of %d requests answered, by %d workers\n", answered, REQUESTS, nused);

    sinew_close(client);
    sinew_ctx_shutdown(ctx); /* the broker and the workers see ETERM */
    pthread_join(b, NULL);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(w[i], NULL);
    sinew_ctx_term(ctx);
    return answered == REQUESTS ? 0 : 1;
}
