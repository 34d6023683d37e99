/* The built-in authenticator's parts that tests and fuzzing reach (see auth.c). */
#ifndef SINEW_SECURITY_AUTH_H
#define SINEW_SECURITY_AUTH_H

#include <stddef.h>

/* Checks a password file's text as sinew_auth_plain_file does: 0 with the number of
 * users, -EINVAL for a malformed file, -ENOMEM. */
int sn_auth_parse_passwords(const char *text, size_t len, size_t *count);

#endif
