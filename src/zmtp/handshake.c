/* ZMTP 3.x handshake state machine (RFC 37 "Version Negotiation", "Security Handshake",
 * socket-type table; RFC 23 for 3.0 peers): staged greeting exchange as libzmq does it,
 * then the mechanism's command exchange through the frame decoder. No I/O here. */
#include "zmtp/handshake.h"

#include <errno.h>
#include "sinew.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libzmq sends Identity only, and always, for the types that route by it. */
static bool
handshake_sends_identity(int type)
{
    return type == SN_ZMTP_REQ || type == SN_ZMTP_DEALER || type == SN_ZMTP_ROUTER;
}

int
sn_zmtp_handshake_send(sn_zmtp_handshake *hs, const uint8_t *bytes, size_t n)
{
    if (n == 0)
        return 0;
    if (hs->out_off == hs->out_len)
        hs->out_off = hs->out_len = 0;
    if (hs->out_cap - hs->out_len < n) {
        size_t cap = hs->out_cap ? hs->out_cap : 256;
        while (cap - hs->out_len < n)
            cap *= 2;
        uint8_t *p = realloc(hs->out, cap);
        if (p == NULL)
            return -ENOMEM;
        hs->out = p;
        hs->out_cap = cap;
    }
    memcpy(hs->out + hs->out_len, bytes, n);
    hs->out_len += n;
    return 0;
}

static void
handshake_set_reason(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

int
sn_zmtp_handshake_fail(sn_zmtp_handshake *hs, int error, const char *reason, bool send_error)
{
    if (hs->state == SN_ZMTP_HS_FAILED)
        return hs->rc;
    if (send_error) {
        uint8_t frame[SN_ZMTP_FRAME_HEADER_MAX + 7 + SN_ZMTP_ERROR_REASON_MAX];
        ssize_t fl = sn_zmtp_command_build_error(frame, sizeof frame, reason);
        /* Best effort: the ERROR is a courtesy, the failure stands without it. */
        if (fl > 0)
            (void)sn_zmtp_handshake_send(hs, frame, (size_t)fl);
    }
    hs->state = SN_ZMTP_HS_FAILED;
    hs->rc = -EPROTO;
    hs->error = error;
    handshake_set_reason(hs->reason, sizeof hs->reason, reason);
    return -EPROTO;
}

static int
handshake_fail_errno(sn_zmtp_handshake *hs, int rc, int error, const char *reason)
{
    sn_zmtp_handshake_fail(hs, error, reason, false);
    hs->rc = rc;
    return rc;
}

int
sn_zmtp_handshake_fail_event(sn_zmtp_handshake *hs, int event, uint32_t value,
                             const char *reason, bool send_error)
{
    if (hs->state == SN_ZMTP_HS_FAILED)
        return hs->rc;
    sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNSPECIFIED, reason, send_error);
    hs->fail_event = event;
    hs->fail_value = value;
    return hs->rc;
}

int
sn_zmtp_handshake_failure_event(const sn_zmtp_handshake *hs, uint32_t *value)
{
    if (hs->fail_event != 0) {
        *value = hs->fail_value;
        return hs->fail_event;
    }
    *value = (uint32_t) hs->error;
    return SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL;
}

int
sn_zmtp_handshake_zap(sn_zmtp_handshake *hs, sn_zap_request *req)
{
    if (hs->zap == NULL)
        return -ECONNREFUSED;
    req->domain = sn_zmtp_handshake_security(hs)->zap_domain;
    return hs->zap->start(hs->zap->arg, req);
}

/* User-Id (as libzmq: always, possibly empty) then the handler's properties. */
static int
handshake_keep_zap(sn_zmtp_handshake *hs, const sn_zap_reply *reply)
{
    sn_zmtp_property uid = {.name = "User-Id", .value = reply->user_id,
                            .value_len = reply->user_id_len};
    ssize_t n = sn_zmtp_metadata_size(&uid, 1);
    if (n < 0)
        return (int) n;
    uint8_t *p = malloc((size_t) n + reply->metadata_len);
    if (p == NULL)
        return -ENOMEM;
    sn_zmtp_metadata_build(p, (size_t) n, &uid, 1);
    if (reply->metadata_len > 0)
        memcpy(p + n, reply->metadata, reply->metadata_len);
    free(hs->zap_metadata);
    hs->zap_metadata = p;
    hs->result.zap_metadata = p;
    hs->result.zap_metadata_len = (size_t) n + reply->metadata_len;
    return 0;
}

int
sn_zmtp_handshake_zap_reply(sn_zmtp_handshake *hs, const sn_zap_reply *reply)
{
    if (reply->error != 0)
        return sn_zmtp_handshake_fail_event(hs, SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                                            (uint32_t) reply->error,
                                            "malformed ZAP reply", false);
    if (reply->status == 200) {
        if (handshake_keep_zap(hs, reply) < 0)
            return handshake_fail_errno(hs, -ENOMEM, SN_ZMTP_ERR_UNSPECIFIED,
                                        "out of memory");
        return 0;
    }
    /* 300 is "try later": libzmq says nothing to the peer; 400 and 500 get ERROR with
     * the status as reason, which a libzmq or sinew client reports as AUTH too. */
    char status[4];
    snprintf(status, sizeof status, "%d", reply->status);
    return sn_zmtp_handshake_fail_event(hs, SINEW_EVENT_HANDSHAKE_FAILED_AUTH,
                                        (uint32_t) reply->status, status,
                                        reply->status != 300);
}

int
sn_zmtp_handshake_peer_error(sn_zmtp_handshake *hs, const uint8_t *reason, size_t len)
{
    if (len > SN_ZMTP_ERROR_REASON_MAX)
        len = SN_ZMTP_ERROR_REASON_MAX;
    memcpy(hs->peer_error_reason, reason, len);
    hs->peer_error_reason[len] = '\0';
    hs->peer_sent_error = true;
    char why[sizeof hs->reason];
    int shown = (int) (sizeof why - sizeof "peer sent ERROR: "); /* the rest is cut */
    if ((size_t) shown > len)
        shown = (int) len;
    snprintf(why, sizeof why, "peer sent ERROR: %.*s", shown, (const char *) reason);
    if (len == 3 && reason[0] >= '3' && reason[0] <= '5' && reason[1] == '0' &&
        reason[2] == '0')
        return sn_zmtp_handshake_fail_event(hs, SINEW_EVENT_HANDSHAKE_FAILED_AUTH,
                                            (uint32_t) (reason[0] - '0') * 100, why, false);
    return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNSPECIFIED, why, false);
}

void
sn_zmtp_handshake_metadata(const sn_zmtp_handshake *hs, const uint8_t **meta, size_t *len)
{
    *meta = hs->metadata;
    *len = hs->metadata_len;
}

int
sn_zmtp_handshake_send_ready(sn_zmtp_handshake *hs)
{
    uint8_t prefix[SN_ZMTP_FRAME_HEADER_MAX + 6];
    ssize_t pl = sn_zmtp_command_build_prefix(prefix, sizeof prefix, "READY", hs->metadata_len);
    if (pl < 0 || sn_zmtp_handshake_send(hs, prefix, (size_t)pl) < 0 ||
        sn_zmtp_handshake_send(hs, hs->metadata, hs->metadata_len) < 0)
        return handshake_fail_errno(hs, -ENOMEM, SN_ZMTP_ERR_UNSPECIFIED, "out of memory");
    return 0;
}

int
sn_zmtp_handshake_accept_metadata(sn_zmtp_handshake *hs, const uint8_t *meta, size_t len)
{
    int err = 0;
    sn_zmtp_property p;
    sn_zmtp_handshake_result *r = &hs->result;
    if (sn_zmtp_metadata_validate(meta, len, &err) < 0)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_INVALID_METADATA, "malformed metadata",
                                      true);
    r->peer_socket_type = -1;
    /* RFC 37: property names are case-insensitive (libzmq matches case-sensitively, so
     * a lower-case "socket-type" escapes its check; it does not escape ours). */
    if (sn_zmtp_metadata_find(meta, len, "Socket-Type", &p)) {
        int t = sn_zmtp_socket_type_from_name(p.value, p.value_len);
        if (t < 0 || !sn_zmtp_socket_type_compatible(hs->socket_type, t))
            return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_INVALID_METADATA,
                                          "invalid socket type", true);
        r->peer_socket_type = t;
    }
    if (sn_zmtp_metadata_find(meta, len, "Identity", &p) && p.value_len > 0) {
        /* RFC 37: 0..255 bytes, first byte not 00 (ids starting with 00 are the ones a
         * ROUTER generates; a peer claiming one could hijack another's route). */
        if (p.value_len > SN_ZMTP_ROUTING_ID_MAX || p.value[0] == 0)
            return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_INVALID_METADATA,
                                          "invalid identity", true);
        memcpy(r->peer_routing_id, p.value, p.value_len);
        r->peer_routing_id_len = p.value_len;
    }
    free(hs->peer_metadata_copy);
    hs->peer_metadata_copy = malloc(len ? len : 1);
    if (hs->peer_metadata_copy == NULL)
        return handshake_fail_errno(hs, -ENOMEM, SN_ZMTP_ERR_UNSPECIFIED, "out of memory");
    if (len)
        memcpy(hs->peer_metadata_copy, meta, len);
    r->peer_metadata = hs->peer_metadata_copy;
    r->peer_metadata_len = len;
    return 0;
}

int
sn_zmtp_handshake_init(sn_zmtp_handshake *hs, const sn_zmtp_handshake_config *cfg)
{
    int rc;
    memset(hs, 0, sizeof *hs);
    hs->result.peer_socket_type = -1;
    const char *tname = sn_zmtp_socket_type_name(cfg->socket_type);
    if (tname == NULL || cfg->routing_id_len > SN_ZMTP_ROUTING_ID_MAX ||
        (cfg->routing_id_len > 0 && cfg->routing_id == NULL) ||
        (cfg->nproperties > 0 && cfg->properties == NULL))
        return -EINVAL;
    hs->socket_type = cfg->socket_type;
    hs->mech = cfg->mechanism ? cfg->mechanism : &sn_zmtp_mechanism_null;
    hs->security = cfg->security;
    hs->zap = cfg->zap;
    if (hs->mech->start == NULL || hs->mech->command == NULL)
        return -EINVAL;

    /* Our properties, in libzmq's order: Socket-Type, Identity, application ones. */
    size_t n = 0, cap = 2 + cfg->nproperties;
    sn_zmtp_property *props = calloc(cap, sizeof *props);
    if (props == NULL)
        return -ENOMEM;
    props[n++] = (sn_zmtp_property){.name = "Socket-Type",
                                    .value = (const uint8_t *)tname,
                                    .value_len = strlen(tname)};
    if (handshake_sends_identity(cfg->socket_type))
        props[n++] = (sn_zmtp_property){.name = "Identity",
                                        .value = cfg->routing_id,
                                        .value_len = cfg->routing_id_len};
    for (size_t i = 0; i < cfg->nproperties; i++)
        props[n++] = cfg->properties[i];
    ssize_t ml = sn_zmtp_metadata_size(props, n);
    if (ml < 0) {
        rc = (int)ml;
        goto fail_props;
    }
    hs->metadata = malloc(ml ? (size_t)ml : 1);
    if (hs->metadata == NULL) {
        rc = -ENOMEM;
        goto fail_props;
    }
    hs->metadata_len = (size_t)sn_zmtp_metadata_build(hs->metadata, (size_t)ml, props, n);
    free(props);
    props = NULL;

    /* Padding = routing id length + 1, exactly as libzmq (a ZMTP 1.0 identity-frame
     * length; meaningless to 3.x peers, and it makes our greeting byte-equal). */
    rc = sn_zmtp_greeting_build(hs->greeting, hs->mech->name,
                                hs->mech->greeting_as_server && cfg->as_server,
                                (uint64_t)cfg->routing_id_len + 1);
    if (rc < 0)
        goto fail_meta;
    if (hs->mech->state_size) {
        hs->mech_state = calloc(1, hs->mech->state_size);
        if (hs->mech_state == NULL) {
            rc = -ENOMEM;
            goto fail_meta;
        }
    }
    sn_zmtp_decoder_config dc = {.maxmsgsize = cfg->maxmsgsize, .command_max = 0};
    sn_zmtp_decoder_init(&hs->decoder, &dc);
    /* A boxing mechanism's commands (CURVE READY) hold boxes, not clear metadata: the
     * decoder hands them over raw and they are parsed here with parse_boxed. */
    hs->decoder.boxed = hs->mech->decode != NULL;
    sn_zmtp_greeting_reader_init(&hs->peer_greeting);
    hs->greeting_stage = cfg->greeting_whole ? 2 : 0;
    rc = sn_zmtp_handshake_send(hs, hs->greeting,
                                cfg->greeting_whole ? SN_ZMTP_GREETING_SIZE
                                                    : SN_ZMTP_SIGNATURE_SIZE);
    if (rc < 0)
        goto fail_state;
    hs->state = SN_ZMTP_HS_RUNNING;
    return 0;

fail_state:
    free(hs->mech_state);
    free(hs->out);
fail_meta:
    free(hs->metadata);
fail_props:
    free(props);
    memset(hs, 0, sizeof *hs);
    return rc;
}

void
sn_zmtp_handshake_fini(sn_zmtp_handshake *hs)
{
    if (hs->mech_state && hs->mech && hs->mech->fini)
        hs->mech->fini(hs->mech_state);
    free(hs->mech_state);
    hs->mech_state = NULL;
    sn_zmtp_decoder_fini(&hs->decoder);
    free(hs->metadata);
    free(hs->peer_metadata_copy);
    free(hs->zap_metadata);
    free(hs->out);
    hs->metadata = hs->peer_metadata_copy = hs->out = hs->zap_metadata = NULL;
    hs->result.peer_metadata = hs->result.zap_metadata = NULL;
}

/* The peer's greeting is complete: check it and hand over to the mechanism. */
static int
handshake_greeting_done(sn_zmtp_handshake *hs)
{
    sn_zmtp_greeting g;
    int err = 0;
    if (sn_zmtp_greeting_parse(hs->peer_greeting.buf, &g, &err) < 0)
        return sn_zmtp_handshake_fail(hs, err, "invalid greeting", false);
    sn_zmtp_handshake_result *r = &hs->result;
    r->peer_major = g.major;
    r->peer_minor = g.minor;
    r->zmtp_minor = g.effective_minor;
    memcpy(r->peer_mechanism, g.mechanism, sizeof r->peer_mechanism);
    r->peer_as_server = g.as_server;
    /* RFC 37: mechanisms must match exactly; there is no common framing to send ERROR
     * in yet at the security layer's level, and libzmq just closes too. The as-server
     * byte is not checked: libzmq always sends 0 (reference §2.5). */
    if (strcmp(g.mechanism, hs->mech->name) != 0)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_MECHANISM_MISMATCH,
                                      "security mechanism mismatch", false);
    hs->in_commands = true;
    hs->mech_started = true;
    int rc = hs->mech->start(hs->mech_state, hs);
    if (rc < 0 || hs->state == SN_ZMTP_HS_FAILED)
        return hs->state == SN_ZMTP_HS_FAILED ? hs->rc : rc;
    if (rc == SN_MECHANISM_WAIT)
        hs->waiting = true;
    return 0;
}

int
sn_zmtp_handshake_feed(sn_zmtp_handshake *hs, const uint8_t *in, size_t n)
{
    size_t used = 0;
    if (hs->state == SN_ZMTP_HS_FAILED)
        return hs->rc;
    if (hs->state == SN_ZMTP_HS_DONE || hs->waiting)
        return 0;
    if (n > INT_MAX) /* the count must fit the return value */
        n = INT_MAX;
    while (!hs->in_commands) {
        int err = 0;
        int rc = sn_zmtp_greeting_feed(&hs->peer_greeting, in + used, n - used, &err);
        if (rc < 0)
            return sn_zmtp_handshake_fail(hs, err, "invalid greeting (not ZMTP 3.x)", false);
        used += (size_t)rc;
        size_t have = sn_zmtp_greeting_have(&hs->peer_greeting);
        /* libzmq's staging: it sends its major only after hearing a signature, and the
         * rest only after hearing a major it can speak; we do the same so that, fed the
         * same bytes, we write the same bytes at the same moments. */
        if (have >= SN_ZMTP_SIGNATURE_SIZE && hs->greeting_stage == 0) {
            hs->greeting_stage = 1;
            if (sn_zmtp_handshake_send(hs, hs->greeting + 10, 1) < 0)
                return handshake_fail_errno(hs, -ENOMEM, SN_ZMTP_ERR_UNSPECIFIED, "out of memory");
        }
        if (have >= 11 && hs->greeting_stage == 1) {
            hs->greeting_stage = 2;
            if (sn_zmtp_handshake_send(hs, hs->greeting + 11, SN_ZMTP_GREETING_SIZE - 11) < 0)
                return handshake_fail_errno(hs, -ENOMEM, SN_ZMTP_ERR_UNSPECIFIED, "out of memory");
        }
        if (have == SN_ZMTP_GREETING_SIZE) {
            if (handshake_greeting_done(hs) < 0)
                return hs->rc;
            if (hs->waiting)
                return (int)used;
            break;
        }
        if (used == n)
            return (int)used;
    }
    for (;;) {
        sn_zmtp_event ev;
        int rc = sn_zmtp_decoder_feed(&hs->decoder, in + used, n - used, &ev);
        if (rc < 0) {
            int err = sn_zmtp_decoder_error(&hs->decoder);
            if (rc == -EMSGSIZE)
                return handshake_fail_errno(hs, rc, err, "frame larger than maxmsgsize");
            if (rc == -ENOMEM)
                return handshake_fail_errno(hs, rc, err, "out of memory");
            return sn_zmtp_handshake_fail(hs, err ? err : SN_ZMTP_ERR_UNSPECIFIED,
                                          "malformed frame during handshake", false);
        }
        used += (size_t)rc;
        switch (ev.type) {
        case SN_ZMTP_EV_NONE:
            return (int)used;
        case SN_ZMTP_EV_FRAME_HEADER:
        case SN_ZMTP_EV_FRAME:
            /* Messages only flow once the security handshake is over (RFC 37). */
            return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNEXPECTED_COMMAND,
                                          "message frame during handshake", false);
        case SN_ZMTP_EV_COMMAND: {
            if (hs->decoder.boxed) {
                int err = 0;
                if (sn_zmtp_command_parse_boxed(ev.data, (size_t) ev.size, &ev.cmd, &err) < 0)
                    return sn_zmtp_handshake_fail(hs, err, "malformed command", false);
            }
            int mrc = hs->mech->command(hs->mech_state, hs, &ev.cmd);
            if (mrc < 0 || hs->state == SN_ZMTP_HS_FAILED)
                return hs->state == SN_ZMTP_HS_FAILED ? hs->rc : mrc;
            if (mrc == SN_MECHANISM_WAIT) {
                hs->waiting = true; /* the rest waits for sn_zmtp_handshake_resume */
                return (int)used;
            }
            if (mrc > 0) {
                hs->state = SN_ZMTP_HS_DONE;
                return (int)used;
            }
            break;
        }
        }
    }
}

void
sn_zmtp_handshake_output(sn_zmtp_handshake *hs, const uint8_t **ptr, size_t *len)
{
    *ptr = hs->out ? hs->out + hs->out_off : NULL;
    *len = hs->out_len - hs->out_off;
}

void
sn_zmtp_handshake_output_consumed(sn_zmtp_handshake *hs, size_t n)
{
    size_t pending = hs->out_len - hs->out_off;
    hs->out_off += n > pending ? pending : n;
    if (hs->out_off == hs->out_len)
        hs->out_off = hs->out_len = 0;
}

bool
sn_zmtp_handshake_waiting(const sn_zmtp_handshake *hs)
{
    return hs->waiting;
}

int
sn_zmtp_handshake_resume(sn_zmtp_handshake *hs, const void *answer)
{
    if (!hs->waiting || hs->state != SN_ZMTP_HS_RUNNING || hs->mech->resume == NULL)
        return -EINVAL;
    hs->waiting = false;
    int rc = hs->mech->resume(hs->mech_state, hs, answer);
    if (rc < 0 || hs->state == SN_ZMTP_HS_FAILED)
        return hs->state == SN_ZMTP_HS_FAILED ? hs->rc : rc;
    if (rc == SN_MECHANISM_WAIT)
        hs->waiting = true;
    else if (rc > 0)
        hs->state = SN_ZMTP_HS_DONE;
    return 0;
}

bool
sn_zmtp_handshake_codec(const sn_zmtp_handshake *hs, const sn_mechanism_ops **ops,
                        void **state)
{
    if (hs->mech == NULL || hs->mech->encode == NULL || hs->mech->decode == NULL)
        return false;
    *ops = hs->mech;
    *state = hs->mech_state;
    return true;
}

const sn_zmtp_security *
sn_zmtp_handshake_security(const sn_zmtp_handshake *hs)
{
    static const sn_zmtp_security none;
    return hs->security != NULL ? hs->security : &none;
}

int
sn_zmtp_security_mechanism(const sn_zmtp_security *sec)
{
    if (sec->mechanism == NULL || strcmp(sec->mechanism->name, "NULL") == 0)
        return SINEW_NULL;
    return strcmp(sec->mechanism->name, "PLAIN") == 0 ? SINEW_PLAIN : SINEW_CURVE;
}

void
sn_zmtp_security_wipe(sn_zmtp_security *sec)
{
    volatile uint8_t *p = (volatile uint8_t *)sec;
    for (size_t i = 0; i < sizeof *sec; i++)
        p[i] = 0;
}

sn_zmtp_hs_state
sn_zmtp_handshake_state(const sn_zmtp_handshake *hs)
{
    return hs->state;
}

int
sn_zmtp_handshake_error(const sn_zmtp_handshake *hs, const char **reason)
{
    if (reason)
        *reason = hs->state == SN_ZMTP_HS_FAILED ? hs->reason : "";
    return hs->state == SN_ZMTP_HS_FAILED ? hs->error : 0;
}

const sn_zmtp_handshake_result *
sn_zmtp_handshake_result_get(const sn_zmtp_handshake *hs)
{
    return &hs->result;
}
