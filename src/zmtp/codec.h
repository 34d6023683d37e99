/* ZMTP 3.x framing (RFC 37 "Framing"): a header encoder that writes into caller buffers
 * and an incremental, allocation-aware frame decoder. Sans-I/O: the engine owns the
 * file descriptor and the message buffers; this code only moves bytes.
 *
 * Decoder contract, for the engine (single-threaded per connection, nothing blocks):
 *
 *   for (;;) {
 *       int n = sn_zmtp_decoder_feed(d, in, len, &ev);    // < 0: close the connection
 *       in += n; len -= n;
 *       if (ev.type == SN_ZMTP_EV_NONE) break;           // all of `in` consumed
 *       if (ev.type == SN_ZMTP_EV_FRAME_HEADER) {          // message frame, body not read
 *           // ev.size <= maxmsgsize already checked. Optionally point the body at our
 *           // own buffer (zero-copy), else the decoder uses its inline buffer (<= 255
 *           // bytes: no allocation) or mallocs one:
 *           sn_zmtp_decoder_set_body(d, msg_data(ev.size));
 *       }
 *       if (ev.type == SN_ZMTP_EV_FRAME) deliver(ev.data, ev.size, ev.flags & MORE);
 *       if (ev.type == SN_ZMTP_EV_COMMAND) handle(&ev.cmd);
 *   }
 *
 * Feed may be given any chunking, down to one byte per call. Between a FRAME_HEADER and
 * its FRAME the engine may also read() straight into sn_zmtp_decoder_body_window() and
 * call sn_zmtp_decoder_body_advance(). Event pointers stay valid until the next call on
 * the decoder. Errors are sticky: once feed fails, it keeps failing the same way. */
#ifndef SINEW_ZMTP_CODEC_H
#define SINEW_ZMTP_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zmtp/command.h"
#include "zmtp/zmtp.h"

#define SN_ZMTP_FRAME_HEADER_MAX 9
/* Bodies up to this size use the decoder's inline buffer: all short frames, and commands
 * as large as READY with a 255-byte Identity and a few application properties. */
#define SN_ZMTP_DECODER_INLINE 512

/* Write the header of a frame of `size` body bytes. flags: SN_ZMTP_FLAG_MORE and/or
 * SN_ZMTP_FLAG_COMMAND; LONG is added when size > 255 (canonical form, as libzmq), any
 * other bit is ignored. Returns the header length, 2 or 9. */
int sn_zmtp_frame_header(uint8_t out[SN_ZMTP_FRAME_HEADER_MAX], int flags, uint64_t size);

typedef enum sn_zmtp_event_type {
    SN_ZMTP_EV_NONE = 0,     /* need more input; every byte given was consumed */
    SN_ZMTP_EV_FRAME_HEADER, /* message frame header: flags, size; body follows */
    SN_ZMTP_EV_FRAME,        /* message frame complete: data, size, flags */
    SN_ZMTP_EV_COMMAND,      /* command frame complete and parsed: cmd (+ data, size) */
} sn_zmtp_event_type;

typedef struct sn_zmtp_event {
    sn_zmtp_event_type type;
    int flags;           /* SN_ZMTP_FLAG_MORE / _COMMAND as received (LONG stripped) */
    uint64_t size;       /* body size */
    const uint8_t *data; /* FRAME / COMMAND: the body */
    sn_zmtp_command cmd; /* COMMAND: parsed body (pointers into data) */
} sn_zmtp_event;

typedef struct sn_zmtp_decoder_config {
    int64_t maxmsgsize;  /* largest frame body accepted, -1 = unlimited (ZMQ_MAXMSGSIZE) */
    size_t command_max;  /* largest command body buffered; 0 = default */
} sn_zmtp_decoder_config;

typedef struct sn_zmtp_decoder {
    int state;
    int flags;                /* flags byte of the current frame */
    uint8_t hdr[8];           /* size field being collected */
    size_t hdr_have, hdr_need;
    uint64_t size;            /* body size of the current frame */
    uint64_t body_have;
    uint8_t *body;            /* where the body goes: user, inline or heap */
    uint8_t *heap;            /* decoder-owned allocation, freed on the next frame */
    int64_t maxmsgsize;
    size_t command_max;
    bool boxed;               /* commands are not parsed (see set_boxed) */
    int rc;                   /* sticky failure (-EPROTO, -EMSGSIZE, -ENOMEM) */
    int error;                /* SN_ZMTP_ERR_* for the sticky failure */
    uint8_t inline_buf[SN_ZMTP_DECODER_INLINE];
} sn_zmtp_decoder;

/* cfg may be NULL: unlimited maxmsgsize, default command_max. */
void sn_zmtp_decoder_init(sn_zmtp_decoder *d, const sn_zmtp_decoder_config *cfg);
/* Frees a heap body the decoder still owns. */
void sn_zmtp_decoder_fini(sn_zmtp_decoder *d);

/* Consume bytes until one event or the end of input; see the contract above (at most
 * INT_MAX bytes are looked at per call; EV_NONE means all of those). Returns the count
 * consumed, or -EPROTO (d->error: reserved flag bits, command with MORE, a size
 * >= 2^63, malformed command), -EMSGSIZE (frame > maxmsgsize or command > command_max,
 * detected from the header, before any body byte is stored), -ENOMEM. */
int sn_zmtp_decoder_feed(sn_zmtp_decoder *d, const uint8_t *in, size_t n, sn_zmtp_event *ev);

/* Fast path for the common case, a complete short message frame: if the decoder is
 * between frames and in[0..n) starts with a whole message frame of at most 255 body
 * bytes (no COMMAND, LONG or reserved flag, within maxmsgsize), returns its length
 * (2 + size) with *flags, *body and *size describing it, and the decoder stays between
 * frames. Returns 0 otherwise: use sn_zmtp_decoder_feed, which applies every rule. */
size_t sn_zmtp_decoder_short_frame(const sn_zmtp_decoder *d, const uint8_t *in, size_t n,
                                   int *flags, const uint8_t **body, size_t *size);

/* Right after FRAME_HEADER only: receive the body into buf (>= ev.size bytes, owned by
 * the caller). Returns 0, or -EINVAL when no message body is pending. */
int sn_zmtp_decoder_set_body(sn_zmtp_decoder *d, void *buf);

/* While a message body is pending: where the next body bytes go and how many are still
 * missing (picks the inline/heap buffer if set_body was not called). For reading from
 * the fd straight into the message. Returns 0, -EINVAL (no body pending) or -ENOMEM. */
int sn_zmtp_decoder_body_window(sn_zmtp_decoder *d, uint8_t **ptr, size_t *len);
/* Record n bytes written into the window (n <= window length, else -EINVAL). */
int sn_zmtp_decoder_body_advance(sn_zmtp_decoder *d, size_t n);

/* After a FRAME whose body the decoder malloc'd: take ownership (caller free()s it) to
 * avoid a copy. Returns NULL if the body was inline or the caller's own. */
void *sn_zmtp_decoder_take_body(sn_zmtp_decoder *d);

/* True when the next bytes fed (in[0..n)) would start or continue a command frame, or
 * the decoder has failed: lets a caller that may only take message frames stop first. */
bool sn_zmtp_decoder_command_next(const sn_zmtp_decoder *d, const uint8_t *in, size_t n);

/* Once a mechanism boxes every frame (CURVE's MESSAGE commands): command frames are
 * opaque and may be as large as maxmsgsize allows; COMMAND events then carry the raw
 * body only (ev.cmd is not parsed: the caller unboxes, then parses). */
void sn_zmtp_decoder_set_boxed(sn_zmtp_decoder *d);

/* Protocol error code of the last failure (SN_ZMTP_ERR_*), 0 if none. */
int sn_zmtp_decoder_error(const sn_zmtp_decoder *d);

#endif
