/* Z85 (RFC 32): the RFC's example, and every vector checked against libzmq 4.3.4
 * (tests/vectors/z85_vectors.txt), both directions, and the inputs libzmq rejects. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sinew.h"

static size_t
unhex(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t) v;
    }
    return n;
}

Test(z85, rfc32_example)
{
    const uint8_t hello[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
    char text[11];
    cr_assert_not_null(sinew_z85_encode(text, hello, sizeof hello));
    cr_assert_str_eq(text, "HelloWorld");
    uint8_t back[8];
    cr_assert_not_null(sinew_z85_decode(back, "HelloWorld"));
    cr_assert_arr_eq(back, hello, 8);
}

Test(z85, libzmq_vectors)
{
    FILE *f = fopen(SN_SHARED_VECTORS "/z85_vectors.txt", "r");
    cr_assert_not_null(f);
    char line[512];
    int valid = 0, invalid = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char a[256], b[256];
        if (strncmp(line, "INVALID ", 8) == 0) {
            cr_assert_eq(sscanf(line + 8, "%255s", a), 1);
            char text[128] = "";
            if (strcmp(a, "-") != 0) {
                uint8_t raw[128];
                size_t n = unhex(a, raw);
                memcpy(text, raw, n);
                text[n] = '\0';
            }
            uint8_t out[128];
            errno = 0;
            cr_expect_null(sinew_z85_decode(out, text), "accepted \"%s\"", text);
            cr_expect_eq(errno, EINVAL);
            invalid++;
            continue;
        }
        cr_assert_eq(sscanf(line, "%255s %255s", a, b), 2);
        uint8_t raw[128], out[128];
        size_t n = unhex(a, raw);
        char text[256];
        cr_assert_not_null(sinew_z85_encode(text, raw, n));
        cr_expect_str_eq(text, b);
        cr_assert_not_null(sinew_z85_decode(out, b));
        cr_expect_arr_eq(out, raw, n, "decoding %s", b);
        valid++;
    }
    fclose(f);
    cr_expect_geq(valid, 8);
    cr_expect_geq(invalid, 6);
}

Test(z85, encode_rejects_bad_length)
{
    char text[16];
    const uint8_t three[3] = {1, 2, 3};
    errno = 0;
    cr_expect_null(sinew_z85_encode(text, three, 3));
    cr_expect_eq(errno, EINVAL);
    cr_expect_null(sinew_z85_encode(NULL, three, 0));
}

Test(z85, decode_rejects_non_ascii)
{
    uint8_t out[8];
    cr_expect_null(sinew_z85_decode(out, "Hell\xc3"));
    cr_expect_null(sinew_z85_decode(out, NULL));
}
