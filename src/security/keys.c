/* Key and capability entry points (libzmq's zmq_curve_keypair, zmq_curve_public,
 * zmq_has). Keys travel as Z85 text (RFC 32): 40 characters + NUL for 32 bytes. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "sinew.h"

#ifdef SN_HAVE_LIBSODIUM
#include <sodium.h>

#include "security/curve.h"

SINEW_EXPORT int
sinew_curve_keypair(char *z85_public, char *z85_secret)
{
    if (z85_public == NULL || z85_secret == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (sn_curve_init() < 0) {
        errno = ENOMEM;
        return -1;
    }
    uint8_t pub[SN_CURVE_KEY_SIZE], sec[SN_CURVE_KEY_SIZE];
    crypto_box_keypair(pub, sec);
    sinew_z85_encode(z85_public, pub, sizeof pub);
    sinew_z85_encode(z85_secret, sec, sizeof sec);
    sodium_memzero(sec, sizeof sec);
    return 0;
}

SINEW_EXPORT int
sinew_curve_public(char *z85_public, const char *z85_secret)
{
    /* The length check first: a longer string would decode past the 32-byte key. */
    if (z85_public == NULL || z85_secret == NULL ||
        strnlen(z85_secret, SN_CURVE_Z85_SIZE + 1) != SN_CURVE_Z85_SIZE) {
        errno = EINVAL;
        return -1;
    }
    if (sn_curve_init() < 0) {
        errno = ENOMEM;
        return -1;
    }
    uint8_t pub[SN_CURVE_KEY_SIZE], sec[SN_CURVE_KEY_SIZE];
    if (sinew_z85_decode(sec, z85_secret) == NULL)
        return -1; /* errno EINVAL */
    int rc = crypto_scalarmult_base(pub, sec);
    sodium_memzero(sec, sizeof sec);
    if (rc != 0) {
        errno = EINVAL;
        return -1;
    }
    sinew_z85_encode(z85_public, pub, sizeof pub);
    return 0;
}

#else /* without libsodium, as libzmq built without CURVE */

SINEW_EXPORT int
sinew_curve_keypair(char *z85_public, char *z85_secret)
{
    (void) z85_public;
    (void) z85_secret;
    errno = ENOTSUP;
    return -1;
}

SINEW_EXPORT int
sinew_curve_public(char *z85_public, const char *z85_secret)
{
    (void) z85_public;
    (void) z85_secret;
    errno = ENOTSUP;
    return -1;
}

#endif

SINEW_EXPORT int
sinew_has(const char *capability)
{
    static const char *const have[] = {
        "ipc", "plain",
#ifdef SN_HAVE_LIBSODIUM
        "curve",
#endif
    };
    if (capability == NULL)
        return 0;
    for (size_t i = 0; i < sizeof have / sizeof have[0]; i++)
        if (strcmp(capability, have[i]) == 0)
            return 1;
    return 0;
}
