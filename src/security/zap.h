/* ZAP client (RFC 27): a handshake asks the handler bound at inproc://zeromq.zap.01
 * whether to admit a peer. The request goes out through an internal REQ socket made per
 * request (ZAP is rare: once per connection), and the reply is picked up on the I/O
 * thread that asked, through the REQ socket's SINEW_READY_FD registered in its reactor,
 * so no thread ever waits for a handler.
 *
 * Request, as libzmq frames it (REQ adds the empty delimiter):
 *   "1.0" | request id "1" | domain | peer address | identity | mechanism | credentials...
 * Reply (after the delimiter REQ strips):
 *   "1.0" | request id | status "200"/"300"/"400"/"500" | status text | user id | metadata
 * Anything else is a ZAP protocol error (SN_ZAP_ERR_*, libzmq's numbers). */
#ifndef SINEW_SECURITY_ZAP_H
#define SINEW_SECURITY_ZAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SN_ZAP_ENDPOINT "inproc://zeromq.zap.01"

#define SN_ZAP_ERR_UNSPECIFIED 0x20000000
#define SN_ZAP_ERR_MALFORMED_REPLY 0x20000001
#define SN_ZAP_ERR_BAD_REQUEST_ID 0x20000002
#define SN_ZAP_ERR_BAD_VERSION 0x20000003
#define SN_ZAP_ERR_INVALID_STATUS_CODE 0x20000004
#define SN_ZAP_ERR_INVALID_METADATA 0x20000005

#define SN_ZAP_CREDENTIALS_MAX 2

/* What a mechanism asks; the engine adds the address and identity. Pointers are only
 * read during sn_zap_client_start. */
typedef struct sn_zap_request {
    const char *domain;
    const char *address;        /* the peer's IP, or "localhost:uid:gid:pid" (ipc) */
    const uint8_t *identity;    /* the asking socket's own routing id, as libzmq */
    size_t identity_len;
    const char *mechanism;      /* "NULL", "PLAIN", "CURVE" */
    const uint8_t *credentials[SN_ZAP_CREDENTIALS_MAX];
    size_t credentials_len[SN_ZAP_CREDENTIALS_MAX];
    int ncredentials;
} sn_zap_request;

/* The handler's answer, as handed to the mechanism's resume slot. Valid during the call. */
typedef struct sn_zap_reply {
    int status;        /* 200, 300, 400, 500; 0 when error is set */
    int error;         /* SN_ZAP_ERR_* for a reply that breaks RFC 27, else 0 */
    const uint8_t *user_id;
    size_t user_id_len;
    const uint8_t *metadata; /* ZMTP property list (validated when status is set) */
    size_t metadata_len;
} sn_zap_reply;

/* Checks the reply's frames (nframes of them, after the delimiter) as libzmq does and
 * fills *out (pointers into the frames). Always returns with out->status or out->error
 * set. */
void sn_zap_reply_parse(const uint8_t *const *frames, const size_t *lens, const bool *more,
                        int nframes, sn_zap_reply *out);

typedef struct sn_ctx sn_ctx;
typedef struct sn_reactor sn_reactor;
typedef struct sn_zap_client sn_zap_client;

/* Reactor thread r. Sends req to the handler of ctx; done(arg, reply) runs later on r
 * (never inside this call), once, unless cancelled first; the client frees itself after
 * done returns. Returns 0, -ECONNREFUSED when no REP or ROUTER handler is bound, -ENOMEM
 * or another error (nothing was sent). */
int sn_zap_client_start(sn_zap_client **out, sn_ctx *ctx, sn_reactor *r,
                        const sn_zap_request *req,
                        void (*done)(void *arg, const sn_zap_reply *reply), void *arg);
/* Reactor thread: the asker is going away; done will not run. */
void sn_zap_client_cancel(sn_zap_client *zc);

#endif
