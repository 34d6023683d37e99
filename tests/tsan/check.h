/* CHECK for the plain-C stress programs (Criterion cannot start under TSan): on failure,
 * print where and why, and exit 1. */
#ifndef SINEW_TESTS_TSAN_CHECK_H
#define SINEW_TESTS_TSAN_CHECK_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define CHECK(cond, ...)                                                                \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                        \
            fprintf(stderr, __VA_ARGS__);                                               \
            fputc('\n', stderr);                                                        \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

/* A watchdog: if the program is still running after secs seconds, something hung: say
 * so and exit 2. */
static inline void
check_watchdog_fired(int sig)
{
    (void) sig;
    static const char msg[] = "FAIL: timed out (something hung)\n";
    ssize_t n = write(2, msg, sizeof msg - 1);
    (void) n;
    _exit(2);
}

static inline void
check_watchdog(unsigned secs)
{
    signal(SIGALRM, check_watchdog_fired);
    alarm(secs);
}

#endif
