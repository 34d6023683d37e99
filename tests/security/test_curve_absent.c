/* Built without libsodium (./configure --without-libsodium): CURVE is absent, as in a
 * libzmq built without it. The options fail with ENOTSUP, the key functions too, and
 * sinew_has("curve") says 0; the socket is otherwise untouched (still NULL security). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "sinew.h"

Test(curve_absent, options_and_keys_fail_with_enotsup)
{
    cr_expect_eq(sinew_has("curve"), 0);
    cr_expect_eq(sinew_has("ipc"), 1);
    char pub[41], sec[41];
    errno = 0;
    cr_expect_eq(sinew_curve_keypair(pub, sec), -1);
    cr_expect_eq(errno, ENOTSUP);
    errno = 0;
    cr_expect_eq(sinew_curve_public(pub, "7pq3iu+gPR=q:#ePRM.5Qqv1-)Hl+pDEim0zG/R8"), -1);
    cr_expect_eq(errno, ENOTSUP);

    void *ctx = sinew_ctx_new();
    void *s = sinew_socket(ctx, SINEW_PUSH);
    int one = 1;
    errno = 0;
    cr_expect_eq(sinew_setsockopt(s, SINEW_CURVE_SERVER, &one, sizeof one), -1);
    cr_expect_eq(errno, ENOTSUP);
    const int keys[] = {SINEW_CURVE_PUBLICKEY, SINEW_CURVE_SECRETKEY, SINEW_CURVE_SERVERKEY};
    uint8_t key[32] = {1};
    for (int i = 0; i < 3; i++) {
        errno = 0;
        cr_expect_eq(sinew_setsockopt(s, keys[i], key, sizeof key), -1);
        cr_expect_eq(errno, ENOTSUP);
        size_t len = sizeof key;
        errno = 0;
        cr_expect_eq(sinew_getsockopt(s, keys[i], key, &len), -1);
        cr_expect_eq(errno, ENOTSUP);
    }
    sinew_close(s);
    sinew_ctx_term(ctx);
}
