/* NULL security mechanism (RFC 23 and RFC 37 "The NULL Security Mechanism"): each side
 * sends READY with its metadata, optionally answers a refusal with ERROR, and is done
 * when it has sent its READY and accepted the peer's. With a ZAP domain set, as libzmq,
 * ZAP (RFC 27) is asked first, on either side: a refusal sends ERROR instead of READY. */
#include <errno.h>

#include "sinew.h"

#include "zmtp/handshake.h"
#include "zmtp/mechanism.h"

typedef struct null_state {
    bool got_ready;
} null_state;

/* RFC 37 (3.1) lets the client speak first and the server answer, RFC 23 (3.0) has both
 * send at once; libzmq sends READY immediately on both sides. Sending at once works with
 * every one of them and never waits on the peer. */
static int
null_start(void *st, sn_zmtp_handshake *hs)
{
    (void)st;
    const sn_zmtp_security *sec = sn_zmtp_handshake_security(hs);
    if (sec->zap_domain[0] != '\0') {
        sn_zap_request req = {.mechanism = "NULL"};
        int rc = sn_zmtp_handshake_zap(hs, &req);
        if (rc == 0)
            return SN_MECHANISM_WAIT;
        /* No handler: libzmq goes on unauthenticated unless told to enforce. */
        if (rc != -ECONNREFUSED || sec->zap_enforce_domain)
            return sn_zmtp_handshake_fail_event(hs, SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                                                rc == -ECONNREFUSED ? EFAULT : (uint32_t)-rc,
                                                "no ZAP handler", false);
    }
    return sn_zmtp_handshake_send_ready(hs);
}

static int
null_resume(void *st, sn_zmtp_handshake *hs, const void *answer)
{
    (void)st;
    if (sn_zmtp_handshake_zap_reply(hs, answer) < 0)
        return -EPROTO;
    return sn_zmtp_handshake_send_ready(hs);
}

static int
null_command(void *st, sn_zmtp_handshake *hs, const sn_zmtp_command *cmd)
{
    null_state *ns = st;
    switch (cmd->type) {
    case SN_ZMTP_CMD_READY:
        if (ns->got_ready)
            return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_INVALID_SEQUENCE, "duplicate READY",
                                          false);
        ns->got_ready = true;
        if (sn_zmtp_handshake_accept_metadata(hs, cmd->data, cmd->data_len) < 0)
            return -EPROTO;
        return 1;
    case SN_ZMTP_CMD_ERROR:
        return sn_zmtp_handshake_peer_error(hs, cmd->data, cmd->data_len);
    default:
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNEXPECTED_COMMAND,
                                      "unexpected command during NULL handshake", false);
    }
}

static void
null_fini(void *st)
{
    (void)st;
}

const sn_mechanism_ops sn_zmtp_mechanism_null = {
    .name = "NULL",
    .greeting_as_server = false,
    .state_size = sizeof(null_state),
    .start = null_start,
    .command = null_command,
    .fini = null_fini,
    .resume = null_resume,
    .encode = NULL,
    .decode = NULL,
};
