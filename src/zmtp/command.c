/* ZMTP command frames (RFC 37 "Commands", "Connection Heartbeating"; RFC 23/37 NULL
 * READY and ERROR; RFC 29 and RFC 37 SUBSCRIBE/CANCEL). Body layouts, drawn once here:
 *
 *   command   = name-length(1) name(1..255) data
 *   READY     = 05 "READY"     metadata
 *   ERROR     = 05 "ERROR"     reason-length(1) reason(0..255)
 *   PING      = 04 "PING"      ttl(2, BE, deciseconds) context(0..16)
 *   PONG      = 04 "PONG"      context(0..16)
 *   SUBSCRIBE = 09 "SUBSCRIBE" topic            CANCEL = 06 "CANCEL" topic
 */
#include "zmtp/command.h"

#include <errno.h>
#include <string.h>

#include "zmtp/codec.h"
#include "zmtp/zmtp.h"

static const struct {
    const char *name;
    sn_zmtp_command_type type;
} command_names[] = {
    {"READY", SN_ZMTP_CMD_READY},       {"ERROR", SN_ZMTP_CMD_ERROR},
    {"PING", SN_ZMTP_CMD_PING},         {"PONG", SN_ZMTP_CMD_PONG},
    {"SUBSCRIBE", SN_ZMTP_CMD_SUBSCRIBE}, {"CANCEL", SN_ZMTP_CMD_CANCEL},
    {"HELLO", SN_ZMTP_CMD_HELLO},       {"WELCOME", SN_ZMTP_CMD_WELCOME},
    {"INITIATE", SN_ZMTP_CMD_INITIATE}, {"MESSAGE", SN_ZMTP_CMD_MESSAGE},
};

/* libzmq 4.3.4's PLAIN ERROR prefix: "\x05ERROR" was written as a C literal, which
 * compiles to 5e "RROR" (reference §10). */
static const uint8_t command_lz_plain_error[] = {0x5e, 'R', 'R', 'O', 'R'};

static int
command_parse(const uint8_t *body, size_t len, sn_zmtp_command *cmd, int *err, bool boxed);

int
sn_zmtp_command_parse(const uint8_t *body, size_t len, sn_zmtp_command *cmd, int *err)
{
    return command_parse(body, len, cmd, err, false);
}

int
sn_zmtp_command_parse_boxed(const uint8_t *body, size_t len, sn_zmtp_command *cmd, int *err)
{
    return command_parse(body, len, cmd, err, true);
}

static int
command_parse(const uint8_t *body, size_t len, sn_zmtp_command *cmd, int *err, bool boxed)
{
    memset(cmd, 0, sizeof *cmd);
    if (len >= sizeof command_lz_plain_error &&
        memcmp(body, command_lz_plain_error, sizeof command_lz_plain_error) == 0) {
        cmd->type = SN_ZMTP_CMD_ERROR;
        cmd->name = body + 1;
        cmd->name_len = 4;
        cmd->data = body + 5;
        cmd->data_len = len - 5;
        goto error_reason;
    }
    if (len < 1 || body[0] == 0 || (size_t)body[0] > len - 1) {
        *err = SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED;
        return -EPROTO;
    }
    cmd->name = body + 1;
    cmd->name_len = body[0];
    cmd->data = body + 1 + cmd->name_len;
    cmd->data_len = len - 1 - cmd->name_len;
    cmd->type = SN_ZMTP_CMD_UNKNOWN;
    /* Names are matched exactly: RFC 37 spells them in upper case and so does libzmq. */
    for (size_t i = 0; i < sizeof command_names / sizeof command_names[0]; i++) {
        if (strlen(command_names[i].name) == cmd->name_len &&
            memcmp(command_names[i].name, cmd->name, cmd->name_len) == 0) {
            cmd->type = command_names[i].type;
            break;
        }
    }
    if (boxed && cmd->type != SN_ZMTP_CMD_ERROR)
        return 0;
    switch (cmd->type) {
    case SN_ZMTP_CMD_READY:
        if (sn_zmtp_metadata_validate(cmd->data, cmd->data_len, err) < 0) {
            if (*err != SN_ZMTP_ERR_INVALID_METADATA)
                *err = SN_ZMTP_ERR_MALFORMED_COMMAND_READY;
            return -EPROTO;
        }
        return 0;
    case SN_ZMTP_CMD_ERROR:
        goto error_reason;
    case SN_ZMTP_CMD_PING:
        if (cmd->data_len < 2) {
            *err = SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED;
            return -EPROTO;
        }
        cmd->ttl = (uint16_t)(cmd->data[0] << 8 | cmd->data[1]);
        cmd->data += 2;
        cmd->data_len -= 2;
        return 0;
    default:
        return 0;
    }
error_reason:
    /* The reason-length byte must describe exactly what remains (RFC 37 grammar). */
    if (cmd->data_len < 1 || (size_t)cmd->data[0] != cmd->data_len - 1) {
        *err = SN_ZMTP_ERR_MALFORMED_COMMAND_ERROR;
        return -EPROTO;
    }
    cmd->data += 1;
    cmd->data_len -= 1;
    return 0;
}

ssize_t
sn_zmtp_command_build_prefix(uint8_t *out, size_t cap, const char *name, uint64_t data_len)
{
    size_t nl = name ? strlen(name) : 0;
    if (nl == 0 || nl > 255 || data_len > (uint64_t)INT64_MAX - 1 - nl)
        return -EINVAL;
    uint8_t hdr[SN_ZMTP_FRAME_HEADER_MAX];
    int hl = sn_zmtp_frame_header(hdr, SN_ZMTP_FLAG_COMMAND, 1 + nl + data_len);
    if (cap < (size_t)hl + 1 + nl)
        return -ENOBUFS;
    memcpy(out, hdr, (size_t)hl);
    out[hl] = (uint8_t)nl;
    memcpy(out + hl + 1, name, nl);
    return (ssize_t)((size_t)hl + 1 + nl);
}

ssize_t
sn_zmtp_command_build(uint8_t *out, size_t cap, const char *name, const void *data,
                      size_t data_len)
{
    if (data_len > 0 && data == NULL)
        return -EINVAL;
    ssize_t pl = sn_zmtp_command_build_prefix(out, cap, name, data_len);
    if (pl < 0)
        return pl;
    if (cap - (size_t)pl < data_len)
        return -ENOBUFS;
    if (data_len)
        memcpy(out + pl, data, data_len);
    return pl + (ssize_t)data_len;
}

ssize_t
sn_zmtp_command_build_ready(uint8_t *out, size_t cap, const sn_zmtp_property *props,
                            size_t n)
{
    ssize_t ml = sn_zmtp_metadata_size(props, n);
    if (ml < 0)
        return ml;
    ssize_t pl = sn_zmtp_command_build_prefix(out, cap, "READY", (uint64_t)ml);
    if (pl < 0)
        return pl;
    ssize_t w = sn_zmtp_metadata_build(out + pl, cap - (size_t)pl, props, n);
    if (w < 0)
        return w;
    return pl + w;
}

ssize_t
sn_zmtp_command_build_error(uint8_t *out, size_t cap, const char *reason)
{
    uint8_t data[1 + SN_ZMTP_ERROR_REASON_MAX];
    size_t rl = reason ? strlen(reason) : 0;
    if (rl > SN_ZMTP_ERROR_REASON_MAX)
        rl = SN_ZMTP_ERROR_REASON_MAX;
    data[0] = (uint8_t)rl;
    if (rl)
        memcpy(data + 1, reason, rl);
    return sn_zmtp_command_build(out, cap, "ERROR", data, 1 + rl);
}

uint16_t
sn_zmtp_ping_ttl_from_ms(int ms)
{
    if (ms <= 0)
        return 0;
    return ms / 100 > 65535 ? 65535 : (uint16_t)(ms / 100);
}

ssize_t
sn_zmtp_command_build_ping(uint8_t *out, size_t cap, uint16_t ttl, const void *ctx,
                           size_t ctx_len)
{
    uint8_t data[2 + SN_ZMTP_PING_CONTEXT_MAX];
    if (ctx_len > SN_ZMTP_PING_CONTEXT_MAX || (ctx_len && ctx == NULL))
        return -EINVAL;
    data[0] = (uint8_t)(ttl >> 8);
    data[1] = (uint8_t)ttl;
    if (ctx_len)
        memcpy(data + 2, ctx, ctx_len);
    return sn_zmtp_command_build(out, cap, "PING", data, 2 + ctx_len);
}

ssize_t
sn_zmtp_command_build_pong(uint8_t *out, size_t cap, const void *ctx, size_t ctx_len)
{
    if (ctx_len > SN_ZMTP_PING_CONTEXT_MAX)
        ctx_len = SN_ZMTP_PING_CONTEXT_MAX;
    return sn_zmtp_command_build(out, cap, "PONG", ctx, ctx_len);
}

ssize_t
sn_zmtp_command_build_pong_for(uint8_t *out, size_t cap, const sn_zmtp_command *ping)
{
    if (ping == NULL || ping->type != SN_ZMTP_CMD_PING)
        return -EINVAL;
    return sn_zmtp_command_build_pong(out, cap, ping->data, ping->data_len);
}

ssize_t
sn_zmtp_command_build_subscribe(uint8_t *out, size_t cap, const void *topic, size_t len)
{
    return sn_zmtp_command_build(out, cap, "SUBSCRIBE", topic, len);
}

ssize_t
sn_zmtp_command_build_cancel(uint8_t *out, size_t cap, const void *topic, size_t len)
{
    return sn_zmtp_command_build(out, cap, "CANCEL", topic, len);
}

ssize_t
sn_zmtp_subscription_build(uint8_t *out, size_t cap, int peer_minor, bool subscribe,
                           const void *topic, size_t len)
{
    if (peer_minor >= 1)
        return subscribe ? sn_zmtp_command_build_subscribe(out, cap, topic, len)
                         : sn_zmtp_command_build_cancel(out, cap, topic, len);
    if ((len > 0 && topic == NULL) || len > (size_t)INT64_MAX - 1)
        return -EINVAL;
    uint8_t hdr[SN_ZMTP_FRAME_HEADER_MAX];
    /* 3.0 form: a message frame whose body is 01/00 + topic; the LONG flag follows the
     * whole body, which libzmq gets wrong for a 255-byte topic (reference §9). */
    int hl = sn_zmtp_frame_header(hdr, 0, (uint64_t)len + 1);
    if (cap < (size_t)hl + 1 || cap - (size_t)hl - 1 < len)
        return -ENOBUFS;
    memcpy(out, hdr, (size_t)hl);
    out[hl] = subscribe ? 1 : 0;
    if (len)
        memcpy(out + hl + 1, topic, len);
    return (ssize_t)((size_t)hl + 1 + len);
}

int
sn_zmtp_subscription_from_message(const uint8_t *data, size_t len, bool *subscribe,
                                  const uint8_t **topic, size_t *topic_len)
{
    if (len < 1 || data[0] > 1)
        return 0;
    *subscribe = data[0] == 1;
    *topic = data + 1;
    *topic_len = len - 1;
    return 1;
}
