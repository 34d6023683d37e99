/* ZMTP 3.x connection handshake as a sans-I/O state machine (RFC 37 "Greeting",
 * "Version Negotiation", "Security Handshake", socket-type rules of RFC 28-31): greeting
 * exchange, then the mechanism's commands (NULL: READY both ways), then done.
 *
 * Contract for the engine (one handshake per connection, its thread only, never blocks):
 *   sn_zmtp_handshake_init(&hs, &cfg);            // queues the first greeting bytes
 *   loop:
 *     sn_zmtp_handshake_output(&hs, &p, &len);    // write p[0..len) to the fd, then
 *     sn_zmtp_handshake_output_consumed(&hs, n);  // ... report what was written
 *     n = sn_zmtp_handshake_feed(&hs, buf, len);  // bytes read from the fd
 *   until state != SN_ZMTP_HS_RUNNING.
 * DONE: flush the remaining output, then switch to traffic; feed stops consuming exactly
 * after the peer's last handshake command, so buf[n..len) is the first traffic (give it
 * to a fresh sn_zmtp_decoder). FAILED: flush the output (it may hold an ERROR command,
 * RFC 37: "SHOULD send ERROR then close"), then close; do not reconnect (as libzmq).
 *
 * Our greeting goes out in libzmq's three stages (signature; major version once the
 * peer's signature arrived; the rest once the peer's major arrived), so our bytes and
 * their timing equal libzmq's and a peer using either RFC 37 strategy is served; set
 * greeting_whole to send all 64 bytes at once instead. */
#ifndef SINEW_ZMTP_HANDSHAKE_H
#define SINEW_ZMTP_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "security/zap.h"
#include "zmtp/codec.h"
#include "zmtp/greeting.h"
#include "zmtp/mechanism.h"
#include "zmtp/metadata.h"
#include "zmtp/socktype.h"

typedef enum sn_zmtp_hs_state {
    SN_ZMTP_HS_RUNNING = 0,
    SN_ZMTP_HS_DONE,
    SN_ZMTP_HS_FAILED,
} sn_zmtp_hs_state;

/* Who answers ZAP requests for this connection (the engine: it adds the peer's address
 * and our identity, sends, and resumes the handshake with the reply). start returns 0
 * (the mechanism then returns SN_MECHANISM_WAIT and gets a const sn_zap_reply * in
 * resume), -ECONNREFUSED when no handler is bound, or another error. */
typedef struct sn_zmtp_zap_port {
    int (*start)(void *arg, sn_zap_request *req);
    void *arg;
} sn_zmtp_zap_port;

typedef struct sn_zmtp_handshake_config {
    int socket_type;                 /* ours, SN_ZMTP_* */
    bool as_server;                  /* mechanism role; NULL ignores it */
    const uint8_t *routing_id;       /* ZMQ_ROUTING_ID, 0..255 bytes, may be NULL */
    size_t routing_id_len;
    const sn_mechanism_ops *mechanism;   /* NULL = sn_zmtp_mechanism_null */
    const sn_zmtp_property *properties;  /* extra metadata (ZMQ_METADATA "X-..."); copied */
    size_t nproperties;
    int64_t maxmsgsize;              /* -1 = unlimited; applies to handshake commands */
    bool greeting_whole;             /* send 64 greeting bytes at once, not staged */
    const sn_zmtp_security *security; /* credentials, ZAP domain for the mechanism (may
                                       * be NULL); must outlive the handshake */
    const sn_zmtp_zap_port *zap;     /* NULL: no handler can be reached */
} sn_zmtp_handshake_config;

/* What we learnt about the peer. Valid once DONE (fields filled so far are readable
 * after FAILED, for diagnostics); storage belongs to the handshake. */
typedef struct sn_zmtp_handshake_result {
    uint8_t peer_major, peer_minor; /* as announced in the greeting */
    uint8_t zmtp_minor;             /* 0: treat as ZMTP 3.0 (subscriptions as messages,
                                     * no PING), 1: ZMTP 3.1 */
    char peer_mechanism[SN_ZMTP_MECHANISM_SIZE + 1];
    bool peer_as_server;
    int peer_socket_type;           /* -1 if the peer sent no Socket-Type */
    uint8_t peer_routing_id[SN_ZMTP_ROUTING_ID_MAX];
    size_t peer_routing_id_len;     /* 0 = none announced */
    const uint8_t *peer_metadata;   /* the peer's whole property list, validated; walk */
    size_t peer_metadata_len;       /* it with sn_zmtp_metadata_iter / _find */
    const uint8_t *zap_metadata;    /* what ZAP said (User-Id, then the handler's */
    size_t zap_metadata_len;        /* metadata), a property list; empty without ZAP */
} sn_zmtp_handshake_result;

struct sn_zmtp_handshake {
    sn_zmtp_hs_state state;
    int rc;                          /* feed's sticky failure */
    int error;                       /* SN_ZMTP_ERR_* when FAILED */
    char reason[128];                /* human-readable, NUL terminated */
    int fail_event;                  /* the monitor event of the failure, 0: the engine's
                                      * default (HANDSHAKE_FAILED_PROTOCOL, error) */
    uint32_t fail_value;
    bool peer_sent_error;            /* the peer refused us with ERROR */
    char peer_error_reason[SN_ZMTP_ERROR_REASON_MAX + 1];

    int socket_type;
    const sn_mechanism_ops *mech;
    void *mech_state;
    bool mech_started;
    uint8_t greeting[SN_ZMTP_GREETING_SIZE];   /* ours */
    int greeting_stage;              /* 0: signature queued, 1: + major, 2: all */
    sn_zmtp_greeting_reader peer_greeting;
    bool in_commands;                /* greeting done, decoder in use */
    bool waiting;                    /* the mechanism waits for an outside answer */
    const sn_zmtp_security *security;
    const sn_zmtp_zap_port *zap;
    uint8_t *zap_metadata;           /* result.zap_metadata's storage */
    sn_zmtp_decoder decoder;

    uint8_t *metadata;               /* our encoded properties (for READY/INITIATE) */
    size_t metadata_len;
    uint8_t *peer_metadata_copy;

    uint8_t *out;                    /* pending output: out[out_off..out_len) */
    size_t out_len, out_off, out_cap;

    sn_zmtp_handshake_result result;
};

/* Set up and queue the first greeting bytes. Returns 0, -EINVAL (unknown socket type,
 * routing id > 255 bytes, bad property, bad mechanism name) or -ENOMEM. On success call
 * sn_zmtp_handshake_fini eventually; on failure nothing needs freeing. */
int sn_zmtp_handshake_init(sn_zmtp_handshake *hs, const sn_zmtp_handshake_config *cfg);
void sn_zmtp_handshake_fini(sn_zmtp_handshake *hs);

/* Feed bytes from the peer. Returns the count consumed (less than n only once DONE: the
 * rest is traffic; or when n > INT_MAX), or a negative errno when the handshake failed (-EPROTO protocol
 * error, -EMSGSIZE over maxmsgsize, -ENOMEM); then state is FAILED and error/reason say
 * why. Calling feed again after DONE consumes nothing; after FAILED returns the error. */
int sn_zmtp_handshake_feed(sn_zmtp_handshake *hs, const uint8_t *in, size_t n);

/* Bytes to send now (possibly none). The pointer is valid until the next call. */
void sn_zmtp_handshake_output(sn_zmtp_handshake *hs, const uint8_t **ptr, size_t *len);
/* n of them were written (n <= len). */
void sn_zmtp_handshake_output_consumed(sn_zmtp_handshake *hs, size_t n);

sn_zmtp_hs_state sn_zmtp_handshake_state(const sn_zmtp_handshake *hs);

/* The mechanism is waiting for an answer from outside the connection (SN_MECHANISM_WAIT:
 * a ZAP reply): feed takes nothing meanwhile (keep the bytes), and the caller delivers
 * the answer with resume, then writes the output and feeds the kept bytes again. resume
 * returns 0 (the state says where the handshake is now) or the failure; -EINVAL if the
 * handshake was not waiting. */
bool sn_zmtp_handshake_waiting(const sn_zmtp_handshake *hs);
int sn_zmtp_handshake_resume(sn_zmtp_handshake *hs, const void *answer);

/* For the traffic phase: the mechanism's frame codec, if it has one (CURVE); false for
 * NULL and PLAIN. *state lives as long as the handshake. */
bool sn_zmtp_handshake_codec(const sn_zmtp_handshake *hs, const sn_mechanism_ops **ops,
                             void **state);
/* For mechanisms: the socket's security settings (never NULL: empty ones if none). */
const sn_zmtp_security *sn_zmtp_handshake_security(const sn_zmtp_handshake *hs);
/* SN_ZMTP_ERR_* of a FAILED handshake (0 otherwise); *reason (may be NULL) gets text. */
int sn_zmtp_handshake_error(const sn_zmtp_handshake *hs, const char **reason);
const sn_zmtp_handshake_result *sn_zmtp_handshake_result_get(const sn_zmtp_handshake *hs);
/* The monitor event a FAILED handshake is to be reported with (SINEW_EVENT_HANDSHAKE_
 * FAILED_*), and its value: PROTOCOL with the error code unless the mechanism said
 * otherwise (AUTH with a ZAP status, NO_DETAIL with an errno). */
int sn_zmtp_handshake_failure_event(const sn_zmtp_handshake *hs, uint32_t *value);

/* For mechanisms (see mechanism.h). */
/* Queue raw bytes for the peer. 0 or -ENOMEM. */
int sn_zmtp_handshake_send(sn_zmtp_handshake *hs, const uint8_t *bytes, size_t n);
/* Our encoded property list: Socket-Type, then Identity for REQ/DEALER/ROUTER (always,
 * possibly empty, exactly as libzmq, whose READY bytes we reproduce), then the
 * configured extra properties. */
void sn_zmtp_handshake_metadata(const sn_zmtp_handshake *hs, const uint8_t **meta,
                                size_t *len);
/* Queue READY carrying our metadata. 0 or -ENOMEM (handshake failed). */
int sn_zmtp_handshake_send_ready(sn_zmtp_handshake *hs);
/* Check and record the peer's metadata: a Socket-Type we cannot talk to, or an Identity
 * over 255 bytes or starting with 00 (RFC 37 reserves those), queues ERROR with a reason
 * and fails with SN_ZMTP_ERR_INVALID_METADATA. A missing Socket-Type is accepted
 * (peer_socket_type -1), as libzmq does. Returns 0, -EPROTO or -ENOMEM. */
int sn_zmtp_handshake_accept_metadata(sn_zmtp_handshake *hs, const uint8_t *meta,
                                      size_t len);
/* Fail with a protocol error code and reason; with send_error, queue ERROR(reason) first.
 * Returns -EPROTO (for `return sn_zmtp_handshake_fail(...)`). */
int sn_zmtp_handshake_fail(sn_zmtp_handshake *hs, int error, const char *reason,
                           bool send_error);
/* Fail, to be reported as event (SINEW_EVENT_HANDSHAKE_FAILED_*) with value. Returns
 * -EPROTO. */
int sn_zmtp_handshake_fail_event(sn_zmtp_handshake *hs, int event, uint32_t value,
                                 const char *reason, bool send_error);
/* Ask ZAP (RFC 27) with the socket's domain: fills the request's domain and sends it.
 * 0: sent, return SN_MECHANISM_WAIT; -ECONNREFUSED: no handler; other < 0: failed. */
int sn_zmtp_handshake_zap(sn_zmtp_handshake *hs, sn_zap_request *req);
/* In resume: take the ZAP reply as libzmq does. 200: records User-Id and the metadata
 * and returns 0; 300: fails without ERROR; 400/500: queues ERROR with the status as
 * reason and fails (both reported as HANDSHAKE_FAILED_AUTH with the status); a reply
 * breaking RFC 27 fails as HANDSHAKE_FAILED_PROTOCOL with its SN_ZAP_ERR_* code. */
int sn_zmtp_handshake_zap_reply(sn_zmtp_handshake *hs, const sn_zap_reply *reply);
/* The peer sent ERROR(reason): record it and fail. A reason that is a ZAP status
 * ("300", "400", "500") is reported as HANDSHAKE_FAILED_AUTH with it, as libzmq does.
 * Returns -EPROTO. */
int sn_zmtp_handshake_peer_error(sn_zmtp_handshake *hs, const uint8_t *reason, size_t len);

#endif
