/* Shared by the libFuzzer targets (built by run-fuzz.sh): the entry point and the check
 * that turns a broken invariant into a crash libFuzzer reports. */
#ifndef SINEW_TESTS_FUZZ_FUZZ_H
#define SINEW_TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

#endif
