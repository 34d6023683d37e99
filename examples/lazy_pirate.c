/* lazy_pirate: a client that survives its server being killed (the ZeroMQ guide's
 * "lazy pirate" reliable request-reply, with SINEW_REQ_RELAXED).
 *
 * The client sends numbered requests and waits at most TIMEOUT_MS for each reply. When
 * none comes it sends the request again: SINEW_REQ_RELAXED lets a REQ send a new
 * request before the previous one was answered (the guide's version closes and reopens
 * its socket instead), and SINEW_REQ_CORRELATE makes it ignore a late answer to an
 * abandoned request. The connection is re-made by sinew in the background.
 *
 * To show it, this program is both: it starts the server as a separate process (itself,
 * run as "lazy_pirate server ENDPOINT"), kills it with SIGKILL after a few replies, and
 * starts a new one when the client notices.
 *
 * Run: ./examples/lazy_pirate */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sinew.h"

#define REQUESTS 8
#define KILL_AFTER 3   /* replies before the server is killed */
#define TIMEOUT_MS 500 /* per attempt */
#define RETRIES 6      /* attempts per request before giving up */

/* The server: echoes each request, forever (until it is killed). */
static int
serve(const char *endpoint)
{
    void *ctx = sinew_ctx_new();
    void *rep = sinew_socket(ctx, SINEW_REP);
    if (sinew_bind(rep, endpoint) != 0) {
        fprintf(stderr, "server: bind %s: %s\n", endpoint, sinew_strerror(errno));
        return 1;
    }
    for (;;) {
        char buf[64];
        int n = sinew_recv(rep, buf, sizeof buf, 0);
        if (n < 0)
            break;
        sinew_send(rep, buf, (size_t) (n < (int) sizeof buf ? n : (int) sizeof buf), 0);
    }
    sinew_close(rep);
    sinew_ctx_term(ctx);
    return 0;
}

/* Starts "this program server endpoint" as a child process. */
static pid_t
start_server(const char *self, const char *endpoint)
{
    pid_t pid = fork();
    if (pid == 0) {
        /* A forked copy of a process with threads may only exec: start afresh. */
        execl(self, self, "server", endpoint, (char *) NULL);
        _exit(127);
    }
    printf("client: started server (pid %d)\n", (int) pid);
    return pid;
}

int
main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "server") == 0)
        return serve(argv[2]);

    char endpoint[128];
    snprintf(endpoint, sizeof endpoint, "ipc:///tmp/sinew-lazy-pirate-%d.ipc", (int) getpid());
    pid_t server = start_server("/proc/self/exe", endpoint);

    void *ctx = sinew_ctx_new();
    void *req = sinew_socket(ctx, SINEW_REQ);
    sinew_setsockopt_int(req, SINEW_REQ_RELAXED, 1);
    sinew_setsockopt_int(req, SINEW_REQ_CORRELATE, 1);
    sinew_setsockopt_int(req, SINEW_RECONNECT_IVL, 50); /* try again soon after a loss */
    sinew_setsockopt_int(req, SINEW_LINGER, 0);
    sinew_connect(req, endpoint); /* the server may not be up yet: sinew retries */

    int answered = 0, restarts = 0, replies = 0;
    for (int seq = 1; seq <= REQUESTS; seq++) {
        char request[32];
        int len = snprintf(request, sizeof request, "request %d", seq);
        int attempt;
        for (attempt = 1; attempt <= RETRIES; attempt++) {
            sinew_send(req, request, (size_t) len, 0);
            sinew_pollitem_t item = {.socket = req, .events = SINEW_POLLIN};
            if (sinew_poll(&item, 1, TIMEOUT_MS) == 1) {
                char reply[32];
                int n = sinew_recv(req, reply, sizeof reply, 0);
                if (n == len && memcmp(reply, request, (size_t) len) == 0) {
                    printf("client: \"%s\" answered%s\n", request,
                           attempt > 1 ? " after a retry" : "");
                    answered++;
                    break;
                }
            }
            printf("client: no reply to \"%s\", retrying\n", request);
            if (server == 0) { /* a real client would not do this: it is the demo */
                server = start_server("/proc/self/exe", endpoint);
                restarts++;
            }
        }
        if (attempt > RETRIES) {
            printf("client: server seems to be offline, abandoning\n");
            break;
        }
        if (++replies == KILL_AFTER && server > 0) {
            kill(server, SIGKILL);
            waitpid(server, NULL, 0);
            printf("client: killed the server (pid %d)\n", (int) server);
            server = 0;
        }
    }

    sinew_socket_stats_t st;
    if (sinew_socket_stats(req, &st) == 0)
        printf("client: %llu late replies discarded\n",
               (unsigned long long) st.dropped_by[SINEW_DROP_INVALID]);
    printf("client: %d of %d requests answered, server restarted %d time(s)\n", answered,
           REQUESTS, restarts);
    sinew_close(req);
    sinew_ctx_term(ctx);
    if (server > 0) {
        kill(server, SIGTERM);
        waitpid(server, NULL, 0);
    }
    unlink(endpoint + strlen("ipc://"));
    return answered == REQUESTS ? 0 : 1;
}
