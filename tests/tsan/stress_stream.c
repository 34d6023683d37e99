/* STREAM under threads and connection churn (plain C, for TSan): one STREAM socket
 * served by several threads at once, receiving and echoing (each thread takes whole
 * [id, data] pairs), while plain tcp and ipc clients connect, send, check the echo and
 * close: politely, right after writing, half-way through, or with a reset. Another
 * thread flips SINEW_STREAM_NOTIFY and reads SINEW_EVENTS meanwhile. Checks that every
 * echo is whole (length and byte sum: two serving threads may reorder one connection's
 * chunks), that the server threads saw no error but EHOSTUNREACH, that the context
 * terminates, and that no descriptor is left open.
 * Usage: stress_stream [connections per client thread] [watchdog seconds] */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sinew.h"
#include "tsan/check.h"

#define SERVERS 3
#define CLIENTS 4
#define MAX_LEN 40000

static void *sock;
static char tcp_ep[256], ipc_ep[96], ipc_dir[64];
static atomic_bool stop;
static atomic_int echoed;

static int
count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL, "opendir");
    int n = 0;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* Takes [id, data] pairs and echoes data; EHOSTUNREACH: the client left already. */
static void *
server(void *arg)
{
    (void) arg;
    static _Thread_local uint8_t buf[65536];
    uint8_t id[256];
    while (!atomic_load(&stop)) {
        int idlen = sinew_recv(sock, id, sizeof id, 0);
        if (idlen < 0) {
            CHECK(errno == EAGAIN, "server recv id: errno %d", errno);
            continue;
        }
        int more = 0;
        CHECK(sinew_getsockopt_int(sock, SINEW_RCVMORE, &more) == 0 && more,
              "id without a data part");
        int n = sinew_recv(sock, buf, sizeof buf, 0);
        CHECK(n >= 0, "server recv data: errno %d", errno);
        CHECK(n <= 8192, "a data part of %d bytes", n);
        if (n == 0)
            continue; /* a notification */
        if (sinew_send(sock, id, (size_t) idlen, SINEW_SNDMORE) < 0) {
            CHECK(errno == EHOSTUNREACH, "server send id: errno %d", errno);
            continue;
        }
        CHECK(sinew_send(sock, buf, (size_t) n, 0) == n, "server send data: errno %d",
              errno);
        atomic_fetch_add(&echoed, 1);
    }
    return NULL;
}

/* Flips notifications and looks at the events while the others work. */
static void *
meddler(void *arg)
{
    (void) arg;
    int v = 0;
    while (!atomic_load(&stop)) {
        CHECK(sinew_setsockopt_int(sock, SINEW_STREAM_NOTIFY, v) == 0, "notify");
        v = !v;
        int ev;
        CHECK(sinew_getsockopt_int(sock, SINEW_EVENTS, &ev) == 0, "events");
        CHECK(ev & SINEW_POLLOUT, "STREAM without POLLOUT");
        usleep(200);
    }
    return NULL;
}

static int
client_connect(bool tcp)
{
    int fd;
    if (tcp) {
        struct sockaddr_in a = {.sin_family = AF_INET};
        a.sin_port = htons((uint16_t) atoi(strrchr(tcp_ep, ':') + 1));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(fd >= 0 && connect(fd, (struct sockaddr *) &a, sizeof a) == 0,
              "tcp connect: errno %d", errno);
    } else {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof a.sun_path, "%s", ipc_ep + 6);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        CHECK(fd >= 0 && connect(fd, (struct sockaddr *) &a, sizeof a) == 0,
              "ipc connect: errno %d", errno);
    }
    return fd;
}

static void
write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        CHECK(n > 0, "client write: errno %d", errno);
        p += n;
        len -= (size_t) n;
    }
}

typedef struct client_arg {
    int index, rounds;
} client_arg;

static void *
client(void *arg)
{
    client_arg *c = arg;
    static _Thread_local uint8_t out[MAX_LEN], in[MAX_LEN];
    unsigned seed = (unsigned) c->index * 7919u + 1;
    for (int r = 0; r < c->rounds; r++) {
        int fd = client_connect((r + c->index) % 2 == 0);
        size_t len = 1 + (size_t) rand_r(&seed) % MAX_LEN;
        uint32_t sum = 0;
        for (size_t i = 0; i < len; i++) {
            out[i] = (uint8_t) rand_r(&seed);
            sum += out[i];
        }
        int how = rand_r(&seed) % 8;
        if (how == 0) { /* reset at once */
            struct linger l = {1, 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
            close(fd);
            continue;
        }
        write_all(fd, out, how == 1 ? len / 2 : len);
        if (how <= 2) { /* half a request, or a whole one, and gone */
            close(fd);
            continue;
        }
        size_t got = 0;
        uint32_t back = 0;
        while (got < len) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            CHECK(poll(&p, 1, 10000) == 1, "client %d round %d: echo %zu of %zu bytes",
                  c->index, r, got, len);
            ssize_t n = read(fd, in, sizeof in);
            CHECK(n > 0, "client %d round %d: read %zd errno %d", c->index, r, n, errno);
            for (ssize_t i = 0; i < n; i++)
                back += in[i];
            got += (size_t) n;
        }
        CHECK(got == len && back == sum, "client %d round %d: echo differs", c->index, r);
        close(fd);
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 40;
    check_watchdog(argc > 2 ? (unsigned) atoi(argv[2]) : 60);
    int fds_before = count_fds();
    void *ctx = sinew_ctx_new();
    sock = sinew_socket(ctx, SINEW_STREAM);
    CHECK(sock != NULL, "socket");
    CHECK(sinew_setsockopt_int(sock, SINEW_RCVTIMEO, 50) == 0, "RCVTIMEO");
    CHECK(sinew_setsockopt_int(sock, SINEW_SNDTIMEO, 5000) == 0, "SNDTIMEO");
    CHECK(sinew_setsockopt_int(sock, SINEW_RCVHWM, 8) == 0, "RCVHWM");
    CHECK(sinew_bind(sock, "tcp://127.0.0.1:*") == 0, "bind tcp: errno %d", errno);
    size_t len = sizeof tcp_ep;
    CHECK(sinew_getsockopt(sock, SINEW_LAST_ENDPOINT, tcp_ep, &len) == 0, "endpoint");
    snprintf(ipc_dir, sizeof ipc_dir, "/tmp/sinew-stress-stream-XXXXXX");
    CHECK(mkdtemp(ipc_dir) != NULL, "mkdtemp");
    snprintf(ipc_ep, sizeof ipc_ep, "ipc://%s/s", ipc_dir);
    CHECK(sinew_bind(sock, ipc_ep) == 0, "bind ipc: errno %d", errno);

    pthread_t servers[SERVERS], clients[CLIENTS], med;
    client_arg args[CLIENTS];
    for (int i = 0; i < SERVERS; i++)
        CHECK(pthread_create(&servers[i], NULL, server, NULL) == 0, "thread");
    CHECK(pthread_create(&med, NULL, meddler, NULL) == 0, "thread");
    for (int i = 0; i < CLIENTS; i++) {
        args[i] = (client_arg){i, rounds};
        CHECK(pthread_create(&clients[i], NULL, client, &args[i]) == 0, "thread");
    }
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(clients[i], NULL);
    atomic_store(&stop, true);
    for (int i = 0; i < SERVERS; i++)
        pthread_join(servers[i], NULL);
    pthread_join(med, NULL);
    CHECK(atomic_load(&echoed) > 0, "nothing was echoed");

    CHECK(sinew_setsockopt_int(sock, SINEW_LINGER, 0) == 0, "LINGER");
    CHECK(sinew_close(sock) == 0, "close");
    CHECK(sinew_ctx_term(ctx) == 0, "ctx_term");
    char path[128];
    snprintf(path, sizeof path, "%s/s", ipc_dir);
    unlink(path);
    rmdir(ipc_dir);
    CHECK(count_fds() == fds_before, "descriptors left open: %d, %d before", count_fds(),
          fds_before);
    printf("stress_stream: %d connections, %d data parts echoed\n", CLIENTS * rounds,
           atomic_load(&echoed));
    return 0;
}
