/* libFuzzer target for the certificate parser (czmq's ZPL format, src/security/cert.c):
 * any text must parse to two valid 40-character Z85 keys or be refused with -EINVAL,
 * reading nothing past the input. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "security/cert.h"
#include "sinew.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char pub[SN_CERT_KEY_Z85 + 1], sec[SN_CERT_KEY_Z85 + 1];
    uint8_t raw[32];
    int rc = sn_cert_parse((const char *) data, size, pub, NULL);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL);
    if (rc == 0)
        FUZZ_CHECK(strlen(pub) == SN_CERT_KEY_Z85 && sinew_z85_decode(raw, pub) != NULL);
    int rc2 = sn_cert_parse((const char *) data, size, pub, sec);
    FUZZ_CHECK(rc2 == 0 || rc2 == -EINVAL);
    FUZZ_CHECK(rc2 != 0 || rc == 0); /* a secret file is a public one too */
    if (rc2 == 0)
        FUZZ_CHECK(strlen(sec) == SN_CERT_KEY_Z85 && sinew_z85_decode(raw, sec) != NULL);
    return 0;
}
