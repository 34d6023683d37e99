/* CURVE security mechanism (RFC 25 ZMTP-CURVE over RFC 26 CurveZMQ) on libsodium, and
 * the key helpers behind SINEW_CURVE_* options. Only built with libsodium
 * (SN_HAVE_LIBSODIUM); without it the options answer ENOTSUP and nothing here exists. */
#ifndef SINEW_SECURITY_CURVE_H
#define SINEW_SECURITY_CURVE_H

#include <stddef.h>
#include <stdint.h>

#include "zmtp/mechanism.h"

#define SN_CURVE_KEY_SIZE 32
#define SN_CURVE_Z85_SIZE 40

/* Registered in the socket's sn_zmtp_security by the SINEW_CURVE_* options. */
extern const sn_mechanism_ops sn_zmtp_mechanism_curve;

/* What each random draw is for. Tests replace sn_curve_random to replay
 * tests/vectors/curve_deterministic.hex byte for byte; everything else leaves it alone
 * (the default is libsodium's randombytes_buf). */
typedef enum sn_curve_rand_use {
    SN_CURVE_RAND_TRANSIENT,     /* our per-connection secret key (c' or s') */
    SN_CURVE_RAND_COOKIE_KEY,    /* K, the server's per-connection cookie key */
    SN_CURVE_RAND_COOKIE_NONCE,  /* 16 bytes after "COOKIE--" */
    SN_CURVE_RAND_WELCOME_NONCE, /* 16 bytes after "WELCOME-" */
    SN_CURVE_RAND_VOUCH_NONCE,   /* 16 bytes after "VOUCH---" */
} sn_curve_rand_use;

extern void (*sn_curve_random)(uint8_t *buf, size_t n, sn_curve_rand_use use);

/* libsodium's one-time setup; safe from any thread, any number of times. 0 or -ENOMEM. */
int sn_curve_init(void);

/* A SINEW_CURVE_*KEY option value into 32 raw bytes: 32 raw bytes, 40 Z85 characters,
 * or 41 with a final NUL (libzmq accepts the three). 0 or -EINVAL; key untouched then. */
int sn_curve_key_from_option(uint8_t key[SN_CURVE_KEY_SIZE], const void *val, size_t len);
/* Into a getsockopt buffer: 32 bytes raw, 41 as Z85 + NUL; other sizes -EINVAL. */
int sn_curve_key_to_option(const uint8_t key[SN_CURVE_KEY_SIZE], void *val, size_t len);

#endif
