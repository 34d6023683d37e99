/* STREAM benchmark: an echo server on a STREAM socket (tcp loopback) and a plain TCP
 * client: round-trip latency of small writes, and echo throughput of a stream of large
 * writes. Built on sinew and, with BENCH_LIBZMQ, on libzmq (bench_api.h).
 * Usage: bench_stream [roundtrips] [megabytes] */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NAME "bench_stream"
#include "pattern_bench.h"

#define SMALL 64
#define CHUNK 65536

/* Echoes every data frame to its connection until a connection ends. */
static void *
server(void *sock)
{
    static uint8_t buf[CHUNK];
    uint8_t id[256];
    for (;;) {
        int idlen = sinew_recv(sock, id, sizeof id, 0);
        int n = sinew_recv(sock, buf, sizeof buf, 0);
        if (idlen < 0 || n < 0)
            bench_die("server recv");
        if (n == 0) {
            static int notifications;
            if (++notifications == 2)
                return NULL; /* the client's close */
            continue;
        }
        if (sinew_send(sock, id, (size_t) idlen, SINEW_SNDMORE) < 0 ||
            sinew_send(sock, buf, (size_t) n, 0) < 0)
            bench_die("server send");
    }
}

static void
read_full(int fd, uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = read(fd, buf, len);
        if (n <= 0)
            bench_die("client read");
        buf += n;
        len -= (size_t) n;
    }
}

/* Writes mb megabytes in CHUNK writes and reads the echo back, both at once. */
static double
throughput(int fd, size_t mb)
{
    static uint8_t out[CHUNK], in[CHUNK];
    size_t total = mb << 20, sent = 0, got = 0;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    double t0 = bench_now_s();
    while (got < total) {
        struct pollfd p = {.fd = fd, .events = POLLIN | (sent < total ? POLLOUT : 0)};
        if (poll(&p, 1, 10000) != 1)
            bench_die("client poll");
        if ((p.revents & POLLOUT) && sent < total) {
            size_t want = total - sent < CHUNK ? total - sent : CHUNK;
            ssize_t n = write(fd, out, want);
            if (n > 0)
                sent += (size_t) n;
            else if (errno != EAGAIN)
                bench_die("client write");
        }
        if (p.revents & POLLIN) {
            ssize_t n = read(fd, in, sizeof in);
            if (n > 0)
                got += (size_t) n;
            else if (n == 0 || errno != EAGAIN)
                bench_die("client read");
        }
    }
    return (double) total / (1 << 20) / (bench_now_s() - t0);
}

int
main(int argc, char **argv)
{
    int roundtrips = argc > 1 ? atoi(argv[1]) : 20000;
    size_t mb = argc > 2 ? (size_t) atoi(argv[2]) : 256;
    void *ctx = sinew_ctx_new();
    void *sock = sinew_socket(ctx, SINEW_STREAM);
    if (sock == NULL || sinew_bind(sock, "tcp://127.0.0.1:*") < 0)
        bench_die("bind");
    char ep[256];
    size_t len = sizeof ep;
    if (sinew_getsockopt(sock, SINEW_LAST_ENDPOINT, ep, &len) < 0)
        bench_die("LAST_ENDPOINT");
    pthread_t t;
    if (pthread_create(&t, NULL, server, sock) != 0)
        bench_die("pthread_create");

    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_port = htons((uint16_t) atoi(strrchr(ep, ':') + 1));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *) &a, sizeof a) < 0)
        bench_die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    uint8_t msg[SMALL] = {0}, back[SMALL];
    for (int i = 0; i < 100; i++) { /* warm-up */
        if (write(fd, msg, SMALL) != SMALL)
            bench_die("client write");
        read_full(fd, back, SMALL);
    }
    double t0 = bench_now_s();
    for (int i = 0; i < roundtrips; i++) {
        if (write(fd, msg, SMALL) != SMALL)
            bench_die("client write");
        read_full(fd, back, SMALL);
    }
    double rtt_us = (bench_now_s() - t0) * 1e6 / roundtrips;
    double mbps = throughput(fd, mb);
    close(fd);
    pthread_join(t, NULL);
    sinew_close(sock);
    sinew_ctx_term(ctx);
    printf("echo_rtt_64B %.2f us lower\n", rtt_us);
    printf("echo_thr_64KiB_writes %.1f MB/s higher\n", mbps);
    return 0;
}
