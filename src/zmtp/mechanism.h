/* Security mechanism plug-in seam for the ZMTP handshake (RFC 37 "Security Mechanisms";
 * NULL in RFC 23/37, PLAIN RFC 24, CURVE RFC 25/26). The handshake owns the greeting and
 * the framing; a mechanism only sees handshake commands and produces its own. */
#ifndef SINEW_ZMTP_MECHANISM_H
#define SINEW_ZMTP_MECHANISM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/msg.h"
#include "zmtp/command.h"

typedef struct sn_zmtp_handshake sn_zmtp_handshake;

/* command's (and resume's) answer when the mechanism waits for something outside the
 * connection (a ZAP reply): the handshake stops taking input until
 * sn_zmtp_handshake_resume. */
#define SN_MECHANISM_WAIT 2

/* What the socket's options say about security, handed to the mechanism through the
 * handshake (the options themselves are SINEW_PLAIN_*, SINEW_CURVE_*, SINEW_ZAP_DOMAIN).
 * Secrets are wiped by whoever frees a copy (sn_zmtp_security_wipe). */
typedef struct sn_zmtp_security {
    const struct sn_mechanism_ops *mechanism; /* NULL: the NULL mechanism */
    bool as_server;
    char zap_domain[256];
    bool zap_enforce_domain;       /* SINEW_ZAP_ENFORCE_DOMAIN */
    uint8_t username[256], password[256];
    size_t username_len, password_len;
    uint8_t curve_public[32], curve_secret[32], curve_server[32];
} sn_zmtp_security;

/* Zeroes a copy of the settings so no secret lingers in freed memory. */
void sn_zmtp_security_wipe(sn_zmtp_security *sec);
/* SINEW_NULL, SINEW_PLAIN or SINEW_CURVE (SINEW_MECHANISM), from the mechanism's name. */
int sn_zmtp_security_mechanism(const sn_zmtp_security *sec);

/* A mechanism. Slots are called only by src/zmtp/handshake.c, on the connection's thread,
 * never concurrently for one handshake; none blocks (a ZAP round-trip, when added, must
 * be an asynchronous continuation, not a wait). The handshake allocates and zeroes
 * state_size bytes before start and calls fini after the handshake ends either way.
 *
 * Helpers a mechanism may call on hs (see handshake.h): sn_zmtp_handshake_send (queue
 * raw bytes), sn_zmtp_handshake_metadata (our Socket-Type/Identity/app properties, to
 * put in READY or INITIATE), sn_zmtp_handshake_accept_metadata (validate and record the
 * peer's, socket-type check included), sn_zmtp_handshake_fail. */
typedef struct sn_mechanism_ops {
    const char *name;        /* greeting mechanism field: "NULL", "PLAIN", "CURVE" */
    bool greeting_as_server; /* false: as-server byte is always 0 (RFC 37 for NULL);
                              * true: it carries the configured role (PLAIN, CURVE) */
    size_t state_size;

    /* Both greetings are through (peer mechanism matched). Queue the first command(s)
     * if this side speaks first. 0, SN_MECHANISM_WAIT (a ZAP request went out before
     * anything is sent: NULL with a ZAP domain), or < 0 after sn_zmtp_handshake_fail. */
    int (*start)(void *st, sn_zmtp_handshake *hs);

    /* One command frame arrived during the handshake, already parsed (cmd points into
     * the decoder's buffer: copy what must outlive the call). Returns 0 to continue,
     * 1 when the handshake is complete on this side (our last command queued, the peer's
     * metadata accepted), < 0 after sn_zmtp_handshake_fail. */
    int (*command)(void *st, sn_zmtp_handshake *hs, const sn_zmtp_command *cmd);

    void (*fini)(void *st);

    /* An answer from elsewhere arrived (a ZAP reply, ...) for a command that returned
     * SN_MECHANISM_WAIT: go on as command would (0, 1 or < 0). NULL for mechanisms that
     * never wait. answer is the mechanism's own business (passed through the engine). */
    int (*resume)(void *st, sn_zmtp_handshake *hs, const void *answer);

    /* Traffic phase: a mechanism that transforms frames (CURVE boxes each one in a
     * MESSAGE command, RFC 26) sets both; NULL and PLAIN leave them NULL, and frames go
     * through unchanged. They run at the engine's one encode and one decode point, for
     * every frame of any size, on whoever owns that direction (see src/zmtp/direct.c):
     * encode replaces *part (a message part; *flags as it would go on the wire: MORE,
     * COMMAND) with the frame to send in its place and its flags; decode replaces *frame
     * (as received, with its flags) with the plain frame. Both return 0 or -errno (the
     * connection then ends: -EPROTO for a frame that does not decode). */
    int (*encode)(void *st, sn_msg *part, int *flags);
    int (*decode)(void *st, sn_msg *frame, int *flags);
} sn_mechanism_ops;

/* The NULL mechanism (src/zmtp/null.c). */
extern const sn_mechanism_ops sn_zmtp_mechanism_null;

#endif
