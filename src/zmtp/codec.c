/* ZMTP 3.x frame encoder and incremental decoder (RFC 37 "Framing"; RFC 23 is the same
 * for 3.0). Frame layout, drawn once here:
 *
 *   short:  flags(1)            size(1)          body(size)    size 0..255
 *   long:   flags(1) [LONG set] size(8, BE)      body(size)    size 0..2^63-1
 *   flags:  bit0 MORE  bit1 LONG  bit2 COMMAND  bits3-7 reserved, MUST be 0
 *
 * The decoder reports a message frame's header before its body so the engine can check
 * the size and pick the destination buffer before any payload byte is stored. */
#include "zmtp/codec.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum {
    CODEC_FLAGS = 0, /* waiting for the flags byte */
    CODEC_SIZE,      /* collecting the 1- or 8-byte size */
    CODEC_BODY_WAIT, /* header reported; body destination not chosen yet */
    CODEC_BODY,      /* copying the body */
};

int
sn_zmtp_frame_header(uint8_t out[SN_ZMTP_FRAME_HEADER_MAX], int flags, uint64_t size)
{
    uint8_t f = (uint8_t)(flags & (SN_ZMTP_FLAG_MORE | SN_ZMTP_FLAG_COMMAND));
    if (size <= 255) {
        out[0] = f;
        out[1] = (uint8_t)size;
        return 2;
    }
    out[0] = f | SN_ZMTP_FLAG_LONG;
    for (int i = 0; i < 8; i++)
        out[1 + i] = (uint8_t)(size >> (56 - 8 * i));
    return 9;
}

void
sn_zmtp_decoder_init(sn_zmtp_decoder *d, const sn_zmtp_decoder_config *cfg)
{
    memset(d, 0, sizeof *d);
    d->state = CODEC_FLAGS;
    d->maxmsgsize = cfg ? cfg->maxmsgsize : -1;
    d->command_max = (cfg && cfg->command_max) ? cfg->command_max : SN_ZMTP_COMMAND_MAX_DEFAULT;
}

void
sn_zmtp_decoder_fini(sn_zmtp_decoder *d)
{
    free(d->heap);
    d->heap = NULL;
    d->body = NULL;
}

int
sn_zmtp_decoder_error(const sn_zmtp_decoder *d)
{
    return d->error;
}

static int
codec_fail(sn_zmtp_decoder *d, int rc, int error)
{
    d->rc = rc;
    d->error = error;
    return rc;
}

/* Choose the decoder's own buffer for the current body: inline when it fits, so small
 * frames never touch the heap. */
static int
codec_default_body(sn_zmtp_decoder *d)
{
    if (d->size <= SN_ZMTP_DECODER_INLINE) {
        d->body = d->inline_buf;
        return 0;
    }
    d->heap = malloc((size_t)d->size);
    if (d->heap == NULL)
        return codec_fail(d, -ENOMEM, 0);
    d->body = d->heap;
    return 0;
}

size_t
sn_zmtp_decoder_short_frame(const sn_zmtp_decoder *d, const uint8_t *in, size_t n,
                            int *flags, const uint8_t **body, size_t *size)
{
    if (d->state != CODEC_FLAGS || d->rc < 0 || d->heap != NULL || n < 2)
        return 0;
    uint8_t f = in[0];
    if (f & (SN_ZMTP_FLAG_RESERVED | SN_ZMTP_FLAG_COMMAND | SN_ZMTP_FLAG_LONG))
        return 0;
    size_t len = in[1];
    if (n - 2 < len || (d->maxmsgsize >= 0 && len > (uint64_t) d->maxmsgsize))
        return 0;
    *flags = f & SN_ZMTP_FLAG_MORE;
    *body = in + 2;
    *size = len;
    return 2 + len;
}

int
sn_zmtp_decoder_feed(sn_zmtp_decoder *d, const uint8_t *in, size_t n, sn_zmtp_event *ev)
{
    size_t used = 0;
    ev->type = SN_ZMTP_EV_NONE;
    if (d->rc < 0)
        return d->rc;
    if (n > INT_MAX) /* the count must fit the return value */
        n = INT_MAX;
    for (;;) {
        switch (d->state) {
        case CODEC_FLAGS: {
            if (d->heap) { /* previous frame's body, not taken: its event has expired */
                free(d->heap);
                d->heap = NULL;
            }
            d->body = NULL;
            if (used == n)
                return (int)used;
            uint8_t f = in[used++];
            /* RFC 37: reserved bits MUST be zero. libzmq ignores them, but it never sets
             * them either, so a peer that does is not speaking ZMTP 3.x. */
            if (f & SN_ZMTP_FLAG_RESERVED)
                return codec_fail(d, -EPROTO, SN_ZMTP_ERR_UNSPECIFIED);
            /* Commands are single frames (RFC 37 grammar). */
            if ((f & SN_ZMTP_FLAG_COMMAND) && (f & SN_ZMTP_FLAG_MORE))
                return codec_fail(d, -EPROTO, SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED);
            d->flags = f;
            d->hdr_have = 0;
            d->hdr_need = (f & SN_ZMTP_FLAG_LONG) ? 8 : 1;
            d->state = CODEC_SIZE;
            break;
        }
        case CODEC_SIZE: {
            size_t take = d->hdr_need - d->hdr_have;
            if (take > n - used)
                take = n - used;
            if (take)
                memcpy(d->hdr + d->hdr_have, in + used, take);
            d->hdr_have += take;
            used += take;
            if (d->hdr_have < d->hdr_need)
                return (int)used;
            uint64_t size = 0;
            for (size_t i = 0; i < d->hdr_need; i++)
                size = size << 8 | d->hdr[i];
            /* RFC 37: 63-bit sizes. Anything above cannot be a valid frame. */
            if (size > (uint64_t)INT64_MAX)
                return codec_fail(d, -EPROTO, SN_ZMTP_ERR_UNSPECIFIED);
            if (size > (uint64_t)SIZE_MAX)
                return codec_fail(d, -EMSGSIZE, SN_ZMTP_ERR_UNSPECIFIED);
            /* Like libzmq, maxmsgsize applies to every frame, commands included. */
            if (d->maxmsgsize >= 0 && size > (uint64_t)d->maxmsgsize)
                return codec_fail(d, -EMSGSIZE, SN_ZMTP_ERR_UNSPECIFIED);
            d->size = size;
            d->body_have = 0;
            if (d->flags & SN_ZMTP_FLAG_COMMAND) {
                if (size > d->command_max)
                    return codec_fail(d, -EMSGSIZE, SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED);
                int rc = codec_default_body(d);
                if (rc < 0)
                    return rc;
                d->state = CODEC_BODY;
                break;
            }
            d->state = CODEC_BODY_WAIT;
            ev->type = SN_ZMTP_EV_FRAME_HEADER;
            ev->flags = d->flags & ~SN_ZMTP_FLAG_LONG;
            ev->size = size;
            ev->data = NULL;
            return (int)used;
        }
        case CODEC_BODY_WAIT: {
            int rc = codec_default_body(d);
            if (rc < 0)
                return rc;
            d->state = CODEC_BODY;
            break;
        }
        case CODEC_BODY: {
            uint64_t missing = d->size - d->body_have;
            size_t take = n - used;
            if ((uint64_t)take > missing)
                take = (size_t)missing;
            if (take) {
                memcpy(d->body + d->body_have, in + used, take);
                d->body_have += take;
                used += take;
            }
            if (d->body_have < d->size)
                return (int)used;
            d->state = CODEC_FLAGS;
            ev->flags = d->flags & ~SN_ZMTP_FLAG_LONG;
            ev->size = d->size;
            ev->data = d->body;
            if (d->flags & SN_ZMTP_FLAG_COMMAND) {
                int err = 0;
                if (d->boxed)
                    memset(&ev->cmd, 0, sizeof ev->cmd);
                else if (sn_zmtp_command_parse(d->body, (size_t)d->size, &ev->cmd, &err) < 0)
                    return codec_fail(d, -EPROTO, err);
                ev->type = SN_ZMTP_EV_COMMAND;
            } else {
                ev->type = SN_ZMTP_EV_FRAME;
            }
            return (int)used;
        }
        default:
            return codec_fail(d, -EPROTO, SN_ZMTP_ERR_UNSPECIFIED);
        }
    }
}

void
sn_zmtp_decoder_set_boxed(sn_zmtp_decoder *d)
{
    d->command_max = SIZE_MAX;
    d->boxed = true;
}

int
sn_zmtp_decoder_set_body(sn_zmtp_decoder *d, void *buf)
{
    if (d->rc < 0 || d->state != CODEC_BODY_WAIT || (buf == NULL && d->size > 0))
        return -EINVAL;
    d->body = buf;
    d->state = CODEC_BODY;
    return 0;
}

int
sn_zmtp_decoder_body_window(sn_zmtp_decoder *d, uint8_t **ptr, size_t *len)
{
    if (d->rc < 0)
        return d->rc;
    if (d->state == CODEC_BODY_WAIT) {
        int rc = codec_default_body(d);
        if (rc < 0)
            return rc;
        d->state = CODEC_BODY;
    }
    if (d->state != CODEC_BODY || (d->flags & SN_ZMTP_FLAG_COMMAND))
        return -EINVAL;
    *ptr = d->body ? d->body + d->body_have : NULL;
    *len = (size_t)(d->size - d->body_have);
    return 0;
}

int
sn_zmtp_decoder_body_advance(sn_zmtp_decoder *d, size_t n)
{
    if (d->rc < 0)
        return d->rc;
    if (d->state != CODEC_BODY || (d->flags & SN_ZMTP_FLAG_COMMAND) ||
        (uint64_t)n > d->size - d->body_have)
        return -EINVAL;
    d->body_have += n;
    return 0;
}

void *
sn_zmtp_decoder_take_body(sn_zmtp_decoder *d)
{
    /* Only between a FRAME event and the next feed: state is back at FLAGS then. */
    if (d->state != CODEC_FLAGS || d->heap == NULL || d->body != d->heap)
        return NULL;
    void *p = d->heap;
    d->heap = NULL;
    return p;
}

bool
sn_zmtp_decoder_command_next(const sn_zmtp_decoder *d, const uint8_t *in, size_t n)
{
    if (d->rc < 0)
        return true;
    if (d->state == CODEC_FLAGS)
        return n > 0 && (in[0] & SN_ZMTP_FLAG_COMMAND);
    return (d->flags & SN_ZMTP_FLAG_COMMAND) != 0;
}
