/* demo: messages flowing through sinew sockets between threads over inproc://.
 * Three workers PUSH numbered messages to one PULL (fair-queued); a PAIR echoes a
 * multipart message. Prints what arrives. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "sinew.h"

#define WORKERS 3
#define PER_WORKER 4

static void *
worker(void *ctx)
{
    static int next_id;
    int id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
    void *push = sinew_socket(ctx, SINEW_PUSH);
    sinew_connect(push, "inproc://demo");
    for (int i = 0; i < PER_WORKER; i++) {
        char buf[64];
        int n = snprintf(buf, sizeof buf, "worker %d, message %d", id, i);
        sinew_send(push, buf, (size_t) n, 0);
    }
    sinew_close(push);
    return NULL;
}

int
main(void)
{
    int major, minor, patch;
    sinew_version(&major, &minor, &patch);
    printf("sinew %d.%d.%d demo\n", major, minor, patch);

    void *ctx = sinew_ctx_new();
    void *pull = sinew_socket(ctx, SINEW_PULL);
    if (sinew_bind(pull, "inproc://demo") != 0) {
        fprintf(stderr, "bind: %s\n", sinew_strerror(sinew_errno()));
        return 1;
    }
    pthread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&t[i], NULL, worker, ctx);
    for (int i = 0; i < WORKERS * PER_WORKER; i++) {
        char buf[64];
        int n = sinew_recv(pull, buf, sizeof buf - 1, 0);
        if (n < 0)
            return 1;
        buf[n] = '\0';
        printf("PULL got: %s\n", buf);
    }
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);

    void *a = sinew_socket(ctx, SINEW_PAIR), *b = sinew_socket(ctx, SINEW_PAIR);
    sinew_connect(b, "inproc://pair"); /* connect before bind works */
    sinew_bind(a, "inproc://pair");
    sinew_send(b, "hello", 5, SINEW_SNDMORE);
    sinew_send(b, "world", 5, 0);
    int more = 1;
    while (more) {
        char buf[16];
        int n = sinew_recv(a, buf, sizeof buf - 1, 0);
        buf[n < 0 ? 0 : n] = '\0';
        size_t len = sizeof more;
        sinew_getsockopt(a, SINEW_RCVMORE, &more, &len);
        printf("PAIR got part: %s%s\n", buf, more ? " (more)" : "");
    }
    sinew_close(a);
    sinew_close(b);
    sinew_close(pull);
    sinew_ctx_term(ctx);
    printf("done\n");
    return 0;
}
