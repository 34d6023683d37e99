/* Helpers shared by sinew's perf tools. The tools follow the command lines, timing and
 * result lines of the ZeroMQ perf tools (../shared/bench/README.md), so compare.sh can
 * run them side by side with libzmq's. */
#ifndef SINEW_PERF_H
#define SINEW_PERF_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sinew.h"

static inline uint64_t
perf_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static inline __attribute__((noreturn)) void
perf_die(const char *what)
{
    fprintf(stderr, "error in %s: %s\n", what, sinew_strerror(sinew_errno()));
    exit(1);
}

static inline long
perf_arg(const char *arg, const char *what, long min)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || v < min || v > 2147483647L) {
        fprintf(stderr, "invalid %s: '%s'\n", what, arg);
        exit(1);
    }
    return v;
}

static inline void *
perf_socket(void *ctx, int type)
{
    void *s = sinew_socket(ctx, type);
    if (s == NULL)
        perf_die("sinew_socket");
    return s;
}

static inline void
perf_recv(void *s, sinew_msg_t *msg, size_t size)
{
    if (sinew_msg_recv(msg, s, 0) < 0)
        perf_die("sinew_msg_recv");
    if (sinew_msg_size(msg) != size) {
        fprintf(stderr, "message of wrong size: %zu != %zu\n", sinew_msg_size(msg), size);
        exit(1);
    }
}

static inline void
perf_send(void *s, sinew_msg_t *msg)
{
    if (sinew_msg_send(msg, s, 0) < 0)
        perf_die("sinew_msg_send");
}

static inline void
perf_print_thr(size_t size, long count, uint64_t elapsed_us)
{
    if (elapsed_us == 0)
        elapsed_us = 1;
    double rate = (double) count / (double) elapsed_us * 1e6;
    printf("mean throughput: %ld [msg/s]\n", (long) rate);
    printf("mean throughput: %.3f [Mb/s]\n", rate * (double) size * 8.0 / 1e6);
}

/* The four loops the tools share, network and inproc alike. */

/* Sends count new messages of size bytes. */
static inline void
perf_send_all(void *s, size_t size, long count)
{
    for (long i = 0; i < count; i++) {
        sinew_msg_t msg;
        if (sinew_msg_init_size(&msg, size) != 0)
            perf_die("sinew_msg_init_size");
        perf_send(s, &msg);
        sinew_msg_close(&msg);
    }
}

/* Receives count messages; returns the time from the first to the last (us). */
static inline uint64_t
perf_recv_all(void *s, size_t size, long count)
{
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
    return elapsed;
}

/* Sends back each of roundtrips messages. */
static inline void
perf_echo(void *s, size_t size, long roundtrips)
{
    sinew_msg_t msg;
    sinew_msg_init(&msg);
    for (long i = 0; i < roundtrips; i++) {
        perf_recv(s, &msg, size);
        perf_send(s, &msg);
    }
    sinew_msg_close(&msg);
}

/* Sends a message and waits for its echo, roundtrips times; prints the one-way latency. */
static inline void
perf_ping(void *s, size_t size, long roundtrips)
{
    sinew_msg_t msg;
    if (sinew_msg_init_size(&msg, size) != 0)
        perf_die("sinew_msg_init_size");
    memset(sinew_msg_data(&msg), 0, size);
    printf("message size: %zu [B]\n", size);
    printf("roundtrip count: %ld\n", roundtrips);
    uint64_t start = perf_now_us();
    for (long i = 0; i < roundtrips; i++) {
        perf_send(s, &msg);
        perf_recv(s, &msg, size);
    }
    uint64_t elapsed = perf_now_us() - start;
    sinew_msg_close(&msg);
    printf("average latency: %.3f [us]\n", (double) elapsed / ((double) roundtrips * 2.0));
}

/* Optional CURVE for the network tools (libzmq's [<enable_curve>] argument): the binding
 * side is the server, the connecting side the client. Fixed throwaway keys made with
 * sinew_curve_keypair for these tools only. */
static const char perf_server_public[] = "fkFF+.x%8wwMFenZrhDA)BPy/3b>y/+dhJ7yR@W[";
static const char perf_server_secret[] = "xwIQK@BnDD*R-!GtQ=!tN0Zf+8bX3lrGPOH.Qo((";
static const char perf_client_public[] = "x)KSH(F16f)DBn=xGdYa4?#qWIFzoQJ{QCnB}[)>";
static const char perf_client_secret[] = "ZL2(.7GuPtlg%j9GtM4[EKGy:2c/vM.O.*[B+7H{";

static inline void
perf_curve(void *s, bool server)
{
    int one = 1;
    int rc = server ? sinew_setsockopt(s, SINEW_CURVE_SERVER, &one, sizeof one) |
                          sinew_setsockopt(s, SINEW_CURVE_SECRETKEY, perf_server_secret, 40)
                    : sinew_setsockopt(s, SINEW_CURVE_SERVERKEY, perf_server_public, 40) |
                          sinew_setsockopt(s, SINEW_CURVE_PUBLICKEY, perf_client_public, 40) |
                          sinew_setsockopt(s, SINEW_CURVE_SECRETKEY, perf_client_secret, 40);
    if (rc != 0)
        perf_die("sinew_setsockopt (CURVE)");
}

/* The network tools' command line: <endpoint> <message-size> <count> [<enable_curve>]
 * (count: messages or round trips). Exits on a bad one; returns whether CURVE is on. */
static inline bool
perf_net_args(int argc, char *argv[], const char *usage, const char *count_name,
              size_t *size, long *count)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s\n", usage);
        exit(1);
    }
    *size = (size_t) perf_arg(argv[2], "message size", 0);
    *count = perf_arg(argv[3], count_name, 1);
    return argc == 5 && perf_arg(argv[4], "enable_curve", 0) != 0;
}

#endif
