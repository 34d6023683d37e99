/* What the pattern benchmarks (pubsub_fanout, sub_match, bench_stream) all need, on
 * sinew and, through bench_api.h, on libzmq: a clock, a fatal error, an int option.
 * Define BENCH_NAME (the program's name, for error lines) before including. */
#ifndef SINEW_PERF_PATTERN_BENCH_H
#define SINEW_PERF_PATTERN_BENCH_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_api.h"

static inline double
bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static inline __attribute__((noreturn)) void
bench_die(const char *what)
{
    fprintf(stderr, BENCH_NAME ": %s: %s\n", what, strerror(errno));
    exit(1);
}

static inline void
bench_set_int(void *s, int opt, int v)
{
    if (sinew_setsockopt(s, opt, &v, sizeof v) != 0)
        bench_die("setsockopt");
}

#endif
