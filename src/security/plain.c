/* PLAIN mechanism (RFC 24), both roles, with libzmq 4.3's decisions:
 *
 *   client                          server
 *   HELLO  ulen user plen pass  ->  (asks ZAP; no handler bound: refused, as libzmq)
 *                               <-  WELCOME          or ERROR "400"/"500", or silence (300)
 *   INITIATE metadata           ->
 *                               <-  READY metadata
 *
 * Commands arrive parsed (name checked) from the handshake; the bodies are checked here.
 * A malformed command fails without ERROR, as libzmq; a refusal by ZAP sends ERROR. */
#include <errno.h>
#include <string.h>

#include "security/plain.h"
#include "sinew.h"
#include "zmtp/handshake.h"

enum plain_step {
    PLAIN_WAIT_HELLO,    /* server */
    PLAIN_WAIT_ZAP,      /* server: the handler has the credentials */
    PLAIN_WAIT_INITIATE, /* server */
    PLAIN_WAIT_WELCOME,  /* client */
    PLAIN_WAIT_READY,    /* client */
};

typedef struct plain_state {
    enum plain_step step;
} plain_state;

static int
plain_send(sn_zmtp_handshake *hs, const char *name, const void *data, size_t len)
{
    uint8_t frame[SN_ZMTP_FRAME_HEADER_MAX + 1 + 8 + 2 + 2 * 255];
    ssize_t n = sn_zmtp_command_build(frame, sizeof frame, name, data, len);
    if (n < 0 || sn_zmtp_handshake_send(hs, frame, (size_t) n) < 0)
        return sn_zmtp_handshake_fail_event(hs, SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                                            ENOMEM, "out of memory", false);
    return 0;
}

/* Command name and metadata go out in two pieces: metadata may be long. */
static int
plain_send_metadata(sn_zmtp_handshake *hs, const char *name)
{
    const uint8_t *meta;
    size_t len;
    uint8_t prefix[SN_ZMTP_FRAME_HEADER_MAX + 1 + 8];
    sn_zmtp_handshake_metadata(hs, &meta, &len);
    ssize_t n = sn_zmtp_command_build_prefix(prefix, sizeof prefix, name, len);
    if (n < 0 || sn_zmtp_handshake_send(hs, prefix, (size_t) n) < 0 ||
        sn_zmtp_handshake_send(hs, meta, len) < 0)
        return sn_zmtp_handshake_fail_event(hs, SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                                            ENOMEM, "out of memory", false);
    return 0;
}

static int
plain_start(void *st, sn_zmtp_handshake *hs)
{
    plain_state *ps = st;
    const sn_zmtp_security *sec = sn_zmtp_handshake_security(hs);
    if (sec->as_server) {
        ps->step = PLAIN_WAIT_HELLO;
        return 0;
    }
    uint8_t body[2 + 2 * 255];
    size_t n = 0;
    body[n++] = (uint8_t) sec->username_len;
    memcpy(body + n, sec->username, sec->username_len);
    n += sec->username_len;
    body[n++] = (uint8_t) sec->password_len;
    memcpy(body + n, sec->password, sec->password_len);
    n += sec->password_len;
    int rc = plain_send(hs, "HELLO", body, n);
    memset(body, 0, sizeof body);
    ps->step = PLAIN_WAIT_WELCOME;
    return rc;
}

static int
plain_hello(plain_state *ps, sn_zmtp_handshake *hs, const sn_zmtp_command *cmd)
{
    const uint8_t *p = cmd->data;
    size_t left = cmd->data_len;
    /* RFC 24: HELLO = username-len username password-len password, nothing after. */
    if (left < 1 || left - 1 < p[0] || left - 1 - p[0] < 1 || left - 2 - p[0] != p[1 + p[0]])
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_MALFORMED_COMMAND_HELLO,
                                      "malformed HELLO", false);
    sn_zap_request req = {
        .mechanism = "PLAIN",
        .credentials = {p + 1, p + 2 + p[0]},
        .credentials_len = {p[0], p[1 + p[0]]},
        .ncredentials = 2,
    };
    int rc = sn_zmtp_handshake_zap(hs, &req);
    if (rc == -ECONNREFUSED)
        /* libzmq 4.3: a PLAIN server without a handler admits no one (EFAULT). */
        return sn_zmtp_handshake_fail_event(hs, SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                                            EFAULT, "no ZAP handler", false);
    if (rc < 0)
        return sn_zmtp_handshake_fail_event(hs, SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                                            (uint32_t) -rc, "ZAP request failed", false);
    ps->step = PLAIN_WAIT_ZAP;
    return SN_MECHANISM_WAIT;
}

static int
plain_command(void *st, sn_zmtp_handshake *hs, const sn_zmtp_command *cmd)
{
    plain_state *ps = st;
    switch (ps->step) {
    case PLAIN_WAIT_HELLO:
        if (cmd->type != SN_ZMTP_CMD_HELLO)
            return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNEXPECTED_COMMAND,
                                          "expected HELLO", false);
        return plain_hello(ps, hs, cmd);
    case PLAIN_WAIT_INITIATE:
        if (cmd->type != SN_ZMTP_CMD_INITIATE)
            return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNEXPECTED_COMMAND,
                                          "expected INITIATE", false);
        if (sn_zmtp_handshake_accept_metadata(hs, cmd->data, cmd->data_len) < 0 ||
            plain_send_metadata(hs, "READY") < 0)
            return -EPROTO;
        return 1;
    case PLAIN_WAIT_WELCOME:
        if (cmd->type == SN_ZMTP_CMD_ERROR)
            return sn_zmtp_handshake_peer_error(hs, cmd->data, cmd->data_len);
        if (cmd->type != SN_ZMTP_CMD_WELCOME)
            return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNEXPECTED_COMMAND,
                                          "expected WELCOME", false);
        if (cmd->data_len != 0)
            return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_MALFORMED_COMMAND_WELCOME,
                                          "malformed WELCOME", false);
        ps->step = PLAIN_WAIT_READY;
        return plain_send_metadata(hs, "INITIATE");
    case PLAIN_WAIT_READY:
        if (cmd->type == SN_ZMTP_CMD_ERROR)
            return sn_zmtp_handshake_peer_error(hs, cmd->data, cmd->data_len);
        if (cmd->type != SN_ZMTP_CMD_READY)
            return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNEXPECTED_COMMAND,
                                          "expected READY", false);
        if (sn_zmtp_handshake_accept_metadata(hs, cmd->data, cmd->data_len) < 0)
            return -EPROTO;
        return 1;
    default:
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNSPECIFIED, "unexpected command",
                                      false);
    }
}

static int
plain_resume(void *st, sn_zmtp_handshake *hs, const void *answer)
{
    plain_state *ps = st;
    if (ps->step != PLAIN_WAIT_ZAP)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNSPECIFIED, "unexpected answer",
                                      false);
    if (sn_zmtp_handshake_zap_reply(hs, answer) < 0)
        return -EPROTO;
    ps->step = PLAIN_WAIT_INITIATE;
    return plain_send(hs, "WELCOME", NULL, 0);
}

static void
plain_fini(void *st)
{
    (void) st;
}

const sn_mechanism_ops sn_security_plain = {
    .name = "PLAIN",
    .greeting_as_server = true,
    .state_size = sizeof(plain_state),
    .start = plain_start,
    .command = plain_command,
    .resume = plain_resume,
    .fini = plain_fini,
};
