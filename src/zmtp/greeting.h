/* ZMTP 3.x greeting (RFC 37 "Greeting" and "Version Negotiation"): the 64-byte block each
 * peer sends first. Building is a pure function; parsing is incremental so the handshake
 * can react at the points where libzmq stages its own greeting (after 1, 10, 11 bytes). */
#ifndef SINEW_ZMTP_GREETING_H
#define SINEW_ZMTP_GREETING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SN_ZMTP_GREETING_SIZE 64
#define SN_ZMTP_SIGNATURE_SIZE 10 /* ff, 8 padding bytes, 7f */
#define SN_ZMTP_MECHANISM_SIZE 20 /* mechanism name field, NUL padded */
#define SN_ZMTP_VERSION_MAJOR 3
#define SN_ZMTP_VERSION_MINOR 1

/* Write our greeting into out. mechanism: 1..20 chars of A-Z 0-9 - _ . + ("NULL").
 * padding_len is written big-endian into bytes 1..8: libzmq puts routing_id_size + 1 there
 * (ZMTP 1.0 identity-frame length) and we copy it so our bytes equal libzmq's; pass 1
 * without a routing id. Returns 0, or -EINVAL for a bad mechanism name. */
int sn_zmtp_greeting_build(uint8_t out[SN_ZMTP_GREETING_SIZE], const char *mechanism,
                           bool as_server, uint64_t padding_len);

/* Incremental reader of the peer's greeting. Zero-initialise (or call _init). */
typedef struct sn_zmtp_greeting_reader {
    uint8_t buf[SN_ZMTP_GREETING_SIZE];
    size_t have;
} sn_zmtp_greeting_reader;

/* What the complete greeting said. */
typedef struct sn_zmtp_greeting {
    uint8_t major, minor;                     /* as sent by the peer */
    uint8_t effective_minor;                  /* 0 = speak 3.0 to it, 1 = 3.1 */
    char mechanism[SN_ZMTP_MECHANISM_SIZE + 1];   /* NUL terminated */
    bool as_server;
} sn_zmtp_greeting;

void sn_zmtp_greeting_reader_init(sn_zmtp_greeting_reader *r);

/* Feed peer bytes. Consumes at most up to the next milestone (1, 10, 11 or 64 bytes held)
 * and validates what it has at each one, so a caller sees every milestone and can send
 * the next piece of its own greeting. Returns bytes consumed (0 only if n == 0 or the
 * greeting is complete), or -EPROTO with *err = SN_ZMTP_ERR_UNSPECIFIED when byte 0 is
 * not ff, byte 9 has LSB 0 (ZMTP 1.0 peer) or the major version is below 3 (ZMTP 1.0 and
 * 2.0 are not implemented, which RFC 37 allows). */
int sn_zmtp_greeting_feed(sn_zmtp_greeting_reader *r, const uint8_t *in, size_t n,
                          int *err);

/* Bytes held so far (0..64). */
size_t sn_zmtp_greeting_have(const sn_zmtp_greeting_reader *r);

/* Decode a complete greeting (reader at 64 bytes, or any 64-byte buffer). Returns 0, or
 * -EPROTO with *err set if the signature or version is unacceptable or the mechanism
 * field is not a valid NUL-padded name. Peers announcing 3.2 or 4.x are treated as 3.1
 * (RFC 37: accept any version >= ours and speak ours). */
int sn_zmtp_greeting_parse(const uint8_t in[SN_ZMTP_GREETING_SIZE], sn_zmtp_greeting *g,
                           int *err);

#endif
