/* CHECK for the plain-C stress programs (Criterion cannot start under TSan): on failure,
 * print where and why, and exit 1. */
#ifndef SINEW_TESTS_TSAN_CHECK_H
#define SINEW_TESTS_TSAN_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond, ...)                                                                \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                        \
            fprintf(stderr, __VA_ARGS__);                                               \
            fputc('\n', stderr);                                                        \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

#endif
