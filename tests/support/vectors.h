/* Test helper: load the golden ZMTP captures in tests/vectors/ (*.hex files) (format described in
 * the capture README: "# <dir> <label> (<n> bytes)" headers, each followed by one line of
 * lowercase hex). Test-only code; aborts the test on a malformed file. */
#ifndef SINEW_TESTS_SUPPORT_VECTORS_H
#define SINEW_TESTS_SUPPORT_VECTORS_H

#include <stddef.h>
#include <stdint.h>

typedef struct sn_test_segment {
    char dir[16];    /* "zmq", "peer", "frame", ... */
    char label[160];
    uint8_t *data;   /* malloc'd (never NULL, even for 0 bytes) */
    size_t len;
} sn_test_segment;

typedef struct sn_test_vectors {
    sn_test_segment *seg;
    size_t n;
} sn_test_vectors;

/* Load SN_VECTORS_DIR "/" name. Returns 0, or -1 if the file is missing or malformed. */
int sn_test_vectors_load(const char *name, sn_test_vectors *v);
void sn_test_vectors_free(sn_test_vectors *v);

/* The index-th segment (0-based) of direction dir, or NULL. */
const sn_test_segment *sn_test_vectors_nth(const sn_test_vectors *v, const char *dir,
                                           size_t index);
/* First segment of direction dir whose label starts with prefix, or NULL. */
const sn_test_segment *sn_test_vectors_find(const sn_test_vectors *v, const char *dir,
                                            const char *prefix);
/* Concatenation of segments [from, to) of direction dir (to = (size_t)-1: all); malloc'd
 * into *out (caller frees), length returned. */
size_t sn_test_vectors_concat(const sn_test_vectors *v, const char *dir, size_t from,
                              size_t to, uint8_t **out);

/* Parse a hex string ("0a1b..", spaces ignored) into a malloc'd buffer; length returned. */
size_t sn_test_hex(const char *hex, uint8_t **out);

#endif
