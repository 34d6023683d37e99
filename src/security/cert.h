/* CURVE certificates in czmq's text format (ZPL, czmq zcert): see cert.c. */
#ifndef SINEW_SECURITY_CERT_H
#define SINEW_SECURITY_CERT_H

#include <stddef.h>

#define SN_CERT_KEY_Z85 40      /* a 32-byte key in Z85 */
#define SN_CERT_FILE_MAX 65536  /* larger files are refused, not read */

/* Parses a certificate's text (len bytes, need not be NUL terminated): the curve
 * section's public-key (required) into pub, and its secret-key into sec if sec is not
 * NULL (then required too); both as 40 Z85 characters plus NUL. 0 or -EINVAL for
 * anything that is not a well-formed certificate (never reads past len). */
int sn_cert_parse(const char *text, size_t len, char *pub, char *sec);

/* Reads a whole file of at most SN_CERT_FILE_MAX bytes into a malloc'd, NUL-terminated
 * buffer. 0, -errno from the system, -EINVAL if it is too large or not a regular file. */
int sn_cert_read_file(const char *path, char **text, size_t *len);

#endif
