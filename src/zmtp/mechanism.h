/* Security mechanism plug-in seam for the ZMTP handshake (RFC 37 "Security Mechanisms";
 * NULL in RFC 23/37, PLAIN RFC 24, CURVE RFC 25/26). The handshake owns the greeting and
 * the framing; a mechanism only sees handshake commands and produces its own. */
#ifndef SINEW_ZMTP_MECHANISM_H
#define SINEW_ZMTP_MECHANISM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zmtp/command.h"

typedef struct sn_zmtp_handshake sn_zmtp_handshake;

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
     * if this side speaks first. 0, or < 0 after sn_zmtp_handshake_fail. */
    int (*start)(void *st, sn_zmtp_handshake *hs);

    /* One command frame arrived during the handshake, already parsed (cmd points into
     * the decoder's buffer: copy what must outlive the call). Returns 0 to continue,
     * 1 when the handshake is complete on this side (our last command queued, the peer's
     * metadata accepted), < 0 after sn_zmtp_handshake_fail. */
    int (*command)(void *st, sn_zmtp_handshake *hs, const sn_zmtp_command *cmd);

    void (*fini)(void *st);

    /* Traffic phase (CURVE boxes every frame, RFC 25 MESSAGE). NULL for NULL and PLAIN:
     * frames go through unchanged. Slots reserved, contract fixed when CURVE lands:
     * encode wraps one frame body (flags as on the wire) into out; decode unwraps. */
    int (*encode)(void *st, int flags, const uint8_t *body, size_t len, uint8_t *out,
                  size_t cap);
    int (*decode)(void *st, const uint8_t *in, size_t len, int *flags, uint8_t *out,
                  size_t cap);
} sn_mechanism_ops;

/* The NULL mechanism (src/zmtp/null.c). */
extern const sn_mechanism_ops sn_zmtp_mechanism_null;

#endif
