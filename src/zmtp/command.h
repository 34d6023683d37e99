/* ZMTP 3.1 command frames (RFC 37 "Commands", "Connection Heartbeating", RFC 29
 * subscriptions; RFC 23 NULL READY/ERROR): parse a command body into a struct and build
 * complete command frames into caller buffers. */
#ifndef SINEW_ZMTP_COMMAND_H
#define SINEW_ZMTP_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "zmtp/metadata.h"

/* Names we recognise. HELLO..MESSAGE belong to PLAIN/CURVE: the parser only checks the
 * name, and hands data/data_len to the mechanism. */
typedef enum sn_zmtp_command_type {
    SN_ZMTP_CMD_UNKNOWN = 0,
    SN_ZMTP_CMD_READY,
    SN_ZMTP_CMD_ERROR,
    SN_ZMTP_CMD_PING,
    SN_ZMTP_CMD_PONG,
    SN_ZMTP_CMD_SUBSCRIBE,
    SN_ZMTP_CMD_CANCEL,
    SN_ZMTP_CMD_HELLO,
    SN_ZMTP_CMD_WELCOME,
    SN_ZMTP_CMD_INITIATE,
    SN_ZMTP_CMD_MESSAGE,
} sn_zmtp_command_type;

#define SN_ZMTP_PING_CONTEXT_MAX 16 /* RFC 37: context is 0..16 octets */
#define SN_ZMTP_ERROR_REASON_MAX 255

/* A parsed command; every pointer aims into the parsed body (valid as long as it is). */
typedef struct sn_zmtp_command {
    sn_zmtp_command_type type;
    const uint8_t *name; /* not NUL terminated */
    size_t name_len;
    /* Payload after the name, already unwrapped per type:
     *   READY:            metadata (validated)
     *   ERROR:            reason (length byte removed)
     *   PING:             context (TTL removed, see ttl); may exceed 16 bytes, a PONG
     *                     built by sn_zmtp_command_build_pong echoes only the first 16
     *   PONG:             context
     *   SUBSCRIBE/CANCEL: topic
     *   others:           raw data after the name */
    const uint8_t *data;
    size_t data_len;
    uint16_t ttl; /* PING only: deciseconds, 0 = none */
} sn_zmtp_command;

/* Parse a command body (frame body without the frame header). Returns 0, or -EPROTO with
 * *err = SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED (empty body, name length 0 or past the
 * end, PING without its 2 TTL bytes), _MALFORMED_COMMAND_ERROR (reason length past the
 * end), _MALFORMED_COMMAND_READY / _INVALID_METADATA (bad READY metadata). An unknown but
 * well-formed name is not an error (type UNKNOWN): RFC 37 peers ignore unknown commands
 * after the handshake. libzmq 4.3.4's PLAIN server sends ERROR as `5e "RROR" ...` (a C
 * escape bug, reference §10); that exact prefix is accepted as ERROR. */
int sn_zmtp_command_parse(const uint8_t *body, size_t len, sn_zmtp_command *cmd, int *err);
/* For a mechanism that boxes its commands' data (CURVE's READY holds a box, not
 * metadata): name and data only, except ERROR (clear text) whose reason is unwrapped. */
int sn_zmtp_command_parse_boxed(const uint8_t *body, size_t len, sn_zmtp_command *cmd,
                                int *err);

/* Builders. Each writes one complete command frame (header + body) into out and returns
 * its length, -ENOBUFS if cap is too small, -EINVAL if an argument is out of range. The
 * LONG flag is chosen from the full body size (libzmq 4.3.4 gets this wrong for 246..255
 * byte topics; reference §9). */

/* Frame header + name-length + name for a command whose data (data_len bytes) the caller
 * sends separately (e.g. writev of a large SUBSCRIBE topic). out needs 9 + 1 + name. */
ssize_t sn_zmtp_command_build_prefix(uint8_t *out, size_t cap, const char *name,
                                     uint64_t data_len);
/* Any command: name + raw data. */
ssize_t sn_zmtp_command_build(uint8_t *out, size_t cap, const char *name, const void *data,
                              size_t data_len);
ssize_t sn_zmtp_command_build_ready(uint8_t *out, size_t cap, const sn_zmtp_property *props,
                                    size_t n);
/* reason: 0..255 bytes (longer is truncated: a reason is advisory). */
ssize_t sn_zmtp_command_build_error(uint8_t *out, size_t cap, const char *reason);
/* ZMQ_HEARTBEAT_TTL (milliseconds) to the PING TTL field (deciseconds, rounded down as
 * libzmq does, clamped to 65535; negative = 0 = no TTL). */
uint16_t sn_zmtp_ping_ttl_from_ms(int ms);
/* ttl in deciseconds; ctx 0..16 bytes (-EINVAL beyond). */
ssize_t sn_zmtp_command_build_ping(uint8_t *out, size_t cap, uint16_t ttl, const void *ctx,
                                   size_t ctx_len);
/* ctx longer than 16 is truncated to 16, as libzmq does. */
ssize_t sn_zmtp_command_build_pong(uint8_t *out, size_t cap, const void *ctx, size_t ctx_len);
/* PONG answering a parsed PING (echoes its context, first 16 bytes). */
ssize_t sn_zmtp_command_build_pong_for(uint8_t *out, size_t cap, const sn_zmtp_command *ping);
ssize_t sn_zmtp_command_build_subscribe(uint8_t *out, size_t cap, const void *topic,
                                        size_t len);
ssize_t sn_zmtp_command_build_cancel(uint8_t *out, size_t cap, const void *topic, size_t len);

/* Subscription in the form the peer's version wants (RFC 29/37, reference §9): a
 * SUBSCRIBE/CANCEL command for 3.1 peers (peer_minor >= 1), a message frame `01`/`00` +
 * topic for 3.0 peers (peer_minor 0). */
ssize_t sn_zmtp_subscription_build(uint8_t *out, size_t cap, int peer_minor, bool subscribe,
                                   const void *topic, size_t len);

/* Recognise a 3.0-form subscription message frame (first byte 01 = subscribe, 00 =
 * cancel). Returns 1 with *subscribe, *topic and *topic_len set, 0 if it is not one. PUB/XPUB
 * accept this form on any connection version, as libzmq does. */
int sn_zmtp_subscription_from_message(const uint8_t *data, size_t len, bool *subscribe,
                                      const uint8_t **topic, size_t *topic_len);

#endif
