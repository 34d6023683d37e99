/* Shared helpers for the src/zmtp unit tests: byte comparison with a readable hex dump. */
#ifndef SINEW_TESTS_ZMTP_ZMTP_TEST_H
#define SINEW_TESTS_ZMTP_ZMTP_TEST_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "support/vectors.h"

static inline void
zt_hex(char *dst, size_t cap, const uint8_t *p, size_t n)
{
    size_t at = 0;
    dst[0] = '\0';
    for (size_t i = 0; i < n && at + 4 < cap; i++)
        at += (size_t)snprintf(dst + at, cap - at, "%02x", p[i]);
}

#define zt_assert_bytes(got, glen, want, wlen, what)                                        \
    do {                                                                                    \
        char zt_g_[1200], zt_w_[1200];                                                      \
        zt_hex(zt_g_, sizeof zt_g_, (const uint8_t *)(got), (glen));                        \
        zt_hex(zt_w_, sizeof zt_w_, (const uint8_t *)(want), (wlen));                       \
        cr_assert((size_t)(glen) == (size_t)(wlen) &&                                       \
                      ((wlen) == 0 || memcmp((got), (want), (wlen)) == 0),                  \
                  "%s:\n got  %s (%zu)\n want %s (%zu)", (what), zt_g_, (size_t)(glen),     \
                  zt_w_, (size_t)(wlen));                                                   \
    } while (0)

static inline sn_test_vectors
zt_load(const char *name)
{
    sn_test_vectors v;
    cr_assert_eq(sn_test_vectors_load(name, &v), 0, "cannot load vector file %s", name);
    cr_assert_gt(v.n, 0, "%s has no segments", name);
    return v;
}

static inline const sn_test_segment *
zt_seg(const sn_test_vectors *v, const char *dir, const char *prefix)
{
    const sn_test_segment *s = sn_test_vectors_find(v, dir, prefix);
    cr_assert_not_null(s, "no %s segment labelled '%s...'", dir, prefix);
    return s;
}

#endif
