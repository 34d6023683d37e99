/* Z85 (ZeroMQ RFC 32): 4 bytes <-> 5 printable characters, big-endian base 85. Used for
 * CURVE keys in options, certificate files and ZAP. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "sinew.h"

static const char z85_chars[86] = "0123456789abcdefghijklmnopqrstuvwxyz"
                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/* Character -> digit + 1 (0: not in the alphabet), for the printable range 32..127. */
static const uint8_t z85_digit[96] = {
     0, 69,  0, 85, 84, 83, 73,  0, 76, 77, 71, 66,  0, 64, 63, 70,
     1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 65,  0, 74, 67, 75, 72,
    82, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 78,  0, 79, 68,  0,
     0, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 80,  0, 81,  0,  0,
};

char *
sinew_z85_encode(char *dest, const uint8_t *data, size_t size)
{
    if (dest == NULL || (data == NULL && size > 0) || size % 4 != 0) {
        errno = EINVAL;
        return NULL;
    }
    char *out = dest;
    for (size_t i = 0; i < size; i += 4) {
        uint32_t v = (uint32_t) data[i] << 24 | (uint32_t) data[i + 1] << 16 |
                     (uint32_t) data[i + 2] << 8 | data[i + 3];
        for (int k = 4; k >= 0; k--) {
            out[k] = z85_chars[v % 85];
            v /= 85;
        }
        out += 5;
    }
    *out = '\0';
    return dest;
}

uint8_t *
sinew_z85_decode(uint8_t *dest, const char *string)
{
    size_t len = string != NULL ? strlen(string) : 0;
    if (dest == NULL || len == 0 || len % 5 != 0) {
        errno = EINVAL;
        return NULL;
    }
    uint8_t *out = dest;
    for (size_t i = 0; i < len; i += 5) {
        uint64_t v = 0;
        for (int k = 0; k < 5; k++) {
            unsigned char c = (unsigned char) string[i + k];
            uint8_t d = c >= 32 && c < 128 ? z85_digit[c - 32] : 0;
            if (d == 0) {
                errno = EINVAL;
                return NULL;
            }
            v = v * 85 + (d - 1);
        }
        if (v > UINT32_MAX) {
            errno = EINVAL;
            return NULL;
        }
        *out++ = (uint8_t)(v >> 24);
        *out++ = (uint8_t)(v >> 16);
        *out++ = (uint8_t)(v >> 8);
        *out++ = (uint8_t) v;
    }
    return dest;
}
