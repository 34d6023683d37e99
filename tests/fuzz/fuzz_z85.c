/* libFuzzer target for Z85 (RFC 32, src/security/z85.c): any string either decodes or is
 * refused with EINVAL, and what decodes encodes back to the same string (each 5-character
 * group has one value); any bytes (cut to a multiple of 4) encode to a string that
 * decodes back to them. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "sinew.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    uint8_t *raw = malloc(size + 4);
    char *again = malloc(size * 5 / 4 + 8);
    FUZZ_CHECK(text && raw && again);
    memcpy(text, data, size);
    text[size] = '\0';
    size_t len = strlen(text);
    errno = 0;
    if (sinew_z85_decode(raw, text) != NULL) {
        FUZZ_CHECK(len > 0 && len % 5 == 0);
        FUZZ_CHECK(sinew_z85_encode(again, raw, len / 5 * 4) == again);
        FUZZ_CHECK(strcmp(again, text) == 0);
    } else {
        FUZZ_CHECK(errno == EINVAL);
    }
    size_t n = size / 4 * 4;
    FUZZ_CHECK(sinew_z85_encode(again, data, n) == again);
    FUZZ_CHECK(strlen(again) == n / 4 * 5);
    if (n > 0) {
        FUZZ_CHECK(sinew_z85_decode(raw, again) == raw);
        FUZZ_CHECK(memcmp(raw, data, n) == 0);
    }
    free(text);
    free(raw);
    free(again);
    return 0;
}
