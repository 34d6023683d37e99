/* Frames in and out of one connection (RFC 37 framing, RFC 23 for 3.0 peers): the one
 * place a message part becomes a frame (encode_part) and the one place a frame becomes
 * a message part (deliver), so a mechanism that transforms frames (CURVE boxes each)
 * plugs in there. Output runs under the link's direct lock (the reactor thread or a
 * direct writer); input on whoever owns it (see direct.c). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sinew.h"
#include "zmtp/engine_impl.h"

/* ---- output ------------------------------------------------------------------------- */

/* A command of ours (PING, PONG: frame as the command builders make it) for the peer;
 * it goes through the encode point at the next message boundary. Kept as its body with
 * a length byte in front (our commands are short frames). */
void
sn_engine_queue_command(sn_engine *e, const uint8_t *frame, size_t n)
{
    if (n < 2 || (frame[0] & SN_ZMTP_FLAG_LONG) || (size_t) frame[1] + 2 != n)
        return; /* not one of ours: the builders make short frames */
    size_t body = frame[1];
    sn_engine_direct_lock(e);
    if (e->ctl_len + 1 + body > sizeof e->ctl)
        e->ctl_len = 0; /* the newest supersedes what did not fit */
    e->ctl[e->ctl_len] = (uint8_t) body;
    memcpy(e->ctl + e->ctl_len + 1, frame + 2, body);
    e->ctl_len += 1 + body;
    sn_engine_direct_unlock(e);
}

bool
sn_engine_output_empty(sn_engine *e)
{
    sn_engine_direct_lock(e);
    bool empty = e->out_off == e->out_len && !e->have_big && e->ctl_len == 0;
    sn_engine_direct_unlock(e);
    return empty;
}

bool
sn_engine_out_partial(sn_engine *e)
{
    return e->out_more;
}


/* A subscription part (SN_MSG_SUBSCRIBE/CANCEL, the topic as its body) in the form the
 * peer's ZMTP version expects: a SUBSCRIBE/CANCEL command for 3.1, a message 01/00 +
 * topic for 3.0 (RFC 29, RFC 37). */
static int
subscription_frame(sn_engine *e, sn_msg *m, int *flags)
{
    bool subscribe = (m->flags & SN_MSG_SUBSCRIBE) != 0;
    bool v31 = sn_zmtp_handshake_result_get(&e->hs)->zmtp_minor >= 1;
    const char *name = subscribe ? "SUBSCRIBE" : "CANCEL";
    size_t prefix = v31 ? 1 + strlen(name) : 1;
    size_t topic = sn_msg_size(m);
    sn_msg f;
    if (sn_msg_init_size(&f, prefix + topic) < 0)
        return -ENOMEM;
    uint8_t *d = sn_msg_data(&f);
    if (v31) {
        d[0] = (uint8_t) strlen(name);
        memcpy(d + 1, name, strlen(name));
    } else {
        d[0] = subscribe ? 1 : 0;
    }
    memcpy(d + prefix, sn_msg_data(m), topic);
    sn_msg_close(m);
    *m = f;
    *flags = v31 ? SN_ZMTP_FLAG_COMMAND : 0;
    return 0;
}

/* The one place a message part becomes a frame: subscriptions take their wire form,
 * then the mechanism's codec (CURVE) transforms the frame, then it is framed into the
 * write buffer, or, when large, written later from its own buffer. Takes m. */
static int
encode_part(sn_engine *e, sn_msg *m)
{
    e->out_more = sn_msg_more(m);
    int flags = e->out_more ? SN_ZMTP_FLAG_MORE : 0;
    if (m->flags & SN_MSG_COMMAND)
        flags |= SN_ZMTP_FLAG_COMMAND;
    int rc = 0;
    if (m->flags & (SN_MSG_SUBSCRIBE | SN_MSG_CANCEL))
        rc = subscription_frame(e, m, &flags);
    if (rc == 0 && e->codec != NULL)
        rc = e->codec->encode(e->codec_state, m, &flags);
    if (rc < 0) {
        sn_msg_close(m);
        return rc;
    }
    size_t size = sn_msg_size(m);
    e->out_len += (size_t) sn_zmtp_frame_header(e->out + e->out_len, flags, size);
    if (size <= COPY_MAX && e->out_len + size <= OUT_BUF) {
        memcpy(e->out + e->out_len, sn_msg_data(m), size);
        e->out_len += size;
        sn_msg_close(m);
    } else {
        e->big = *m;
        e->big_off = 0;
        e->have_big = true;
    }
    return 0;
}

/* Our pending commands go out between messages, never inside a multipart one, through
 * the encode point like any frame. */
static int
put_commands(sn_engine *e)
{
    if (e->ctl_len == 0)
        return 0; /* the usual case, after every message */
    size_t off = 0;
    while (off < e->ctl_len && !e->out_more && !e->have_big &&
           e->out_len + SN_ZMTP_FRAME_HEADER_MAX + 256 < OUT_BUF) {
        size_t body = e->ctl[off];
        sn_msg m;
        if (sn_msg_init_buffer(&m, e->ctl + off + 1, body) < 0)
            return -ENOMEM;
        m.flags |= SN_MSG_COMMAND;
        off += 1 + body;
        int rc = encode_part(e, &m);
        if (rc < 0)
            return rc;
    }
    memmove(e->ctl, e->ctl + off, e->ctl_len - off);
    e->ctl_len -= off;
    return 0;
}

/* Moves messages from the pipe into the write buffer (and at most one large message
 * to be written from its own buffer). 0, or < 0 if a part could not be encoded. */
static int
fill_output(sn_engine *e)
{
    if (e->handshaking || e->pipe == NULL)
        return 0;
    if (e->out_off == e->out_len)
        e->out_off = e->out_len = 0;
    int rc = put_commands(e);
    while (rc == 0 && !e->have_big && e->out_len + SN_ZMTP_FRAME_HEADER_MAX < OUT_BUF) {
        sn_msg m;
        if (sn_pipe_read_burst(e->pipe, &m) < 0)
            break;
        rc = encode_part(e, &m);
        if (rc == 0)
            rc = put_commands(e);
    }
    sn_pipe_read_end(e->pipe);
    return rc;
}

/* Every write to the connection goes through here, with MSG_NOSIGNAL: a peer that reset
 * the connection must cost that connection (EPIPE), not the process (SIGPIPE). The I/O
 * threads block signals, but application threads write too (direct output), under the
 * application's signal mask. sendmsg serves tcp and ipc alike. */
ssize_t
sn_engine_send(int fd, struct iovec *iov, int niov)
{
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t) niov};
    return sendmsg(fd, &mh, MSG_NOSIGNAL);
}

/* Writes buffered output; 1 done (all out), 0 the kernel is full (EAGAIN), -1 the
 * connection failed. Output lock held. */
int
sn_engine_flush_output(sn_engine *e)
{
    for (int rounds = 0; rounds < 64; rounds++) {
        if (e->out_off == e->out_len && !e->have_big && fill_output(e) < 0)
            return -1;
        struct iovec iov[2];
        int niov = 0;
        if (e->out_off < e->out_len)
            iov[niov++] = (struct iovec){e->out + e->out_off, e->out_len - e->out_off};
        if (e->have_big)
            iov[niov++] = (struct iovec){(uint8_t *) sn_msg_data(&e->big) + e->big_off,
                                         sn_msg_size(&e->big) - e->big_off};
        if (niov == 0)
            return 1;
        ssize_t n = sn_engine_send(e->fd, iov, niov);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        size_t left = (size_t) n;
        size_t head = e->out_len - e->out_off;
        size_t take = left < head ? left : head;
        e->out_off += take;
        left -= take;
        if (e->have_big) {
            e->big_off += left;
            if (e->big_off == sn_msg_size(&e->big)) {
                sn_msg_close(&e->big);
                e->have_big = false;
            }
        }
        if (e->out_off == e->out_len)
            e->out_off = e->out_len = 0;
    }
    return 0; /* more to do: come back on the next loop iteration */
}

/* ---- input -------------------------------------------------------------------------- */

static int deliver(sn_engine *e, sn_msg *m, int flags);
static bool act_frame(sn_engine *e, sn_msg *m, int flags, int rc);

/* PUB and XPUB are told what their peers subscribe to; other types ignore it. */
static bool
takes_subscriptions(const sn_engine *e)
{
    return e->cfg.type == SN_ZMTP_PUB || e->cfg.type == SN_ZMTP_XPUB;
}

/* A subscription for the pattern: the topic as a part flagged SUBSCRIBE or CANCEL. */
static int
deliver_subscription(sn_engine *e, bool subscribe, const uint8_t *topic, size_t len)
{
    sn_msg m;
    if (sn_msg_init_buffer(&m, topic, len) < 0)
        return -ENOMEM;
    m.flags |= subscribe ? SN_MSG_SUBSCRIBE : SN_MSG_CANCEL;
    return deliver(e, &m, 0);
}

/* 0, or < 0 if the connection must end. */
static int
handle_command(sn_engine *e, const sn_zmtp_command *cmd)
{
    switch (cmd->type) {
    case SN_ZMTP_CMD_SUBSCRIBE:
    case SN_ZMTP_CMD_CANCEL:
        if (!takes_subscriptions(e))
            return 0;
        return deliver_subscription(e, cmd->type == SN_ZMTP_CMD_SUBSCRIBE, cmd->data,
                                    cmd->data_len);
    case SN_ZMTP_CMD_PING: {
        uint8_t pong[CMD_MAX];
        ssize_t n = sn_zmtp_command_build_pong_for(pong, sizeof pong, cmd);
        if (n > 0)
            sn_engine_queue_command(e, pong, (size_t) n);
        if (cmd->ttl > 0)
            e->peer_ttl_ms = (uint64_t) cmd->ttl * 100u;
        if (e->peer_ttl_ms > 0 && e->hb_timer == 0)
            e->hb_timer = sn_reactor_timer_add(e->r, e->peer_ttl_ms, sn_engine_hb_timer, e);
        sn_engine_write(e);
        return 0;
    }
    case SN_ZMTP_CMD_ERROR:
        sn_engine_fail(e, SINEW_EVENT_DISCONNECTED, 0);
        return 0;
    default:
        return 0; /* PONG refreshes last_rx; others are not ours to act on (RFC 37) */
    }
}

static int
deliver(sn_engine *e, sn_msg *m, int flags)
{
    if (flags & SN_ZMTP_FLAG_MORE)
        m->flags |= SN_MSG_MORE;
    e->in_more = (flags & SN_ZMTP_FLAG_MORE) != 0;
    e->in_delivered++;
    if (e->props != NULL) {
        m->meta = e->props; /* counted in our own field: no shared write per message */
        e->props_issued++;
    }
    int rc = sn_pipe_write(e->pipe, m);
    if (rc < 0)
        sn_msg_close(m);
    return rc < 0 ? rc : 0; /* 1: a conflating queue let an unread message go */
}

/* The one place a frame from the peer becomes a message part or a command, taken whole:
 * the mechanism's codec (CURVE) unboxes it first; then a command is acted on, and a part
 * goes to the pipe. A subscription becomes a part flagged SUBSCRIBE/CANCEL whichever
 * ZMTP form it came in (3.1 command, or 3.0 message 01/00 + topic to a PUB or XPUB, which
 * libzmq accepts on any version), so patterns see one form. Takes m. Returns false if the
 * connection ended. */
static bool
take_frame(sn_engine *e, sn_msg *m, int flags)
{
    int rc = 0;
    if (e->codec != NULL)
        rc = e->codec->decode(e->codec_state, m, &flags);
    if (rc == 0 && (flags & SN_ZMTP_FLAG_COMMAND) && e->in_app) {
        /* Unboxed on a borrowing thread, but a command is the reactor thread's: it
         * finds it here before any later input (process_input). */
        e->held = *m;
        e->held_flags = flags;
        e->have_held = true;
        e->in_deferred = true;
        return false;
    }
    return act_frame(e, m, flags, rc);
}

/* take_frame's second half, on a frame already unboxed (rc: the decode's result). */
static bool
act_frame(sn_engine *e, sn_msg *m, int flags, int rc)
{
    if (rc < 0) {
        sn_msg_close(m);
    } else if (flags & SN_ZMTP_FLAG_COMMAND) {
        sn_zmtp_command cmd;
        int err = 0;
        rc = sn_zmtp_command_parse(sn_msg_data(m), sn_msg_size(m), &cmd, &err);
        if (rc == 0)
            rc = handle_command(e, &cmd);
        sn_msg_close(m);
    } else {
        bool sub;
        const uint8_t *topic;
        size_t len;
        if (takes_subscriptions(e) && !e->in_more && !(flags & SN_ZMTP_FLAG_MORE) &&
            sn_zmtp_subscription_from_message(sn_msg_data(m), sn_msg_size(m), &sub, &topic,
                                              &len)) {
            rc = deliver_subscription(e, sub, topic, len);
            sn_msg_close(m);
        } else {
            rc = deliver(e, m, flags);
        }
    }
    if (rc < 0 && e->fd >= 0)
        sn_engine_input_fail(e, SINEW_EVENT_DISCONNECTED, rc == -EPROTO ? EPROTO : ENOMEM);
    return rc == 0 && e->fd >= 0 && !e->in_deferred;
}

/* Decodes in[in_off..in_len). Returns false if the engine stopped (closed or blocked). */
static bool
process_input(sn_engine *e)
{
    for (;;) {
        if (e->handshaking) {
            if (sn_zmtp_handshake_state(&e->hs) != SN_ZMTP_HS_DONE) {
                if (e->in_off == e->in_len)
                    return true;
                int n = sn_zmtp_handshake_feed(&e->hs, e->in + e->in_off,
                                               e->in_len - e->in_off);
                if (n < 0) {
                    sn_engine_handshake_failed(e);
                    return false;
                }
                e->in_off += (size_t) n;
                if (sn_zmtp_handshake_waiting(&e->hs)) {
                    /* An answer from outside is due (sn_engine_handshake_resume): the
                     * rest of the input stays buffered, the fd unwatched until then. */
                    sn_engine_write(e);
                    sn_engine_want_in(e, false);
                    return false;
                }
            }
            if (sn_zmtp_handshake_state(&e->hs) == SN_ZMTP_HS_DONE) {
                if (!sn_engine_start_traffic(e))
                    return false;
            } else {
                sn_engine_write(e);
                if (e->fd < 0)
                    return false;
            }
            continue;
        }
        /* A command a borrowing thread unboxed comes before anything after it. */
        if (e->have_held) {
            if (e->in_app) {
                e->in_deferred = true;
                return false;
            }
            sn_msg m = e->held;
            e->have_held = false;
            if (!act_frame(e, &m, e->held_flags, 0))
                return false;
            continue;
        }
        /* Room for a new message? (A frame is decoded whole once started; the feed
         * below also runs with no input left, to collect an event for a frame whose
         * header was the last thing read, e.g. an empty frame.) */
        if (e->in_off < e->in_len && !e->in_more && !e->have_part &&
            !sn_pipe_check_write(e->pipe)) {
            e->in_blocked = true; /* resumes on ACTIVATE_WRITE */
            sn_engine_want_in(e, false);
            return false;
        }
        /* Most frames are short and arrive whole: take them without the full decoder. */
        int sflags;
        const uint8_t *sbody;
        size_t ssize;
        size_t sn = e->codec != NULL ? 0
                                      : sn_zmtp_decoder_short_frame(&e->dec, e->in + e->in_off,
                                                                    e->in_len - e->in_off,
                                                                    &sflags, &sbody, &ssize);
        if (sn > 0) {
            e->in_off += sn;
            if (!(sflags & SN_ZMTP_FLAG_MORE)) /* envelope parts before a large body */
                e->in_large = false;
            sn_msg m;
            if (sn_msg_init_buffer(&m, sbody, ssize) < 0) {
                sn_engine_input_fail(e, SINEW_EVENT_DISCONNECTED, ENOMEM);
                return false;
            }
            if (!take_frame(e, &m, sflags))
                return false;
            continue;
        }
        /* Commands are the reactor thread's: a borrowing thread stops before one. */
        if (e->in_app && sn_zmtp_decoder_command_next(&e->dec, e->in + e->in_off,
                                                      e->in_len - e->in_off)) {
            e->in_deferred = true;
            return false;
        }
        sn_zmtp_event ev;
        int n = sn_zmtp_decoder_feed(&e->dec, e->in + e->in_off, e->in_len - e->in_off, &ev);
        if (n < 0) {
            /* A malformed frame: the ZMTP code; a frame over SINEW_MAXMSGSIZE (or too
             * large for a size_t): EMSGSIZE; a body the decoder could not allocate:
             * ENOMEM. */
            sn_engine_input_fail(e, SINEW_EVENT_DISCONNECTED,
                                 n == -EPROTO ? (uint32_t) sn_zmtp_decoder_error(&e->dec)
                                              : (uint32_t) -n);
            return false;
        }
        e->in_off += (size_t) n;
        switch (ev.type) {
        case SN_ZMTP_EV_NONE:
            return true; /* every byte consumed */
        case SN_ZMTP_EV_FRAME_HEADER:
            if (ev.size >= LARGE_FRAME)
                e->in_large = true;
            else if (!(ev.flags & SN_ZMTP_FLAG_MORE))
                e->in_large = false;
            if (ev.size > SN_MSG_VSM_MAX) {
                if (sn_msg_init_size(&e->part, (size_t) ev.size) < 0) {
                    /* Without SINEW_MAXMSGSIZE the peer chooses the size: one it
                     * announces and we cannot allocate costs it the connection. */
                    sn_engine_input_fail(e, SINEW_EVENT_DISCONNECTED, ENOMEM);
                    return false;
                }
                e->have_part = true;
                sn_zmtp_decoder_set_body(&e->dec, sn_msg_data(&e->part));
            }
            break;
        case SN_ZMTP_EV_FRAME: {
            sn_msg m;
            if (e->have_part) {
                m = e->part;
                e->have_part = false;
            } else {
                sn_msg_init_buffer(&m, ev.data, (size_t) ev.size);
            }
            if (!take_frame(e, &m, ev.flags))
                return false;
            break;
        }
        case SN_ZMTP_EV_COMMAND: {
            sn_msg m;
            if (sn_msg_init_buffer(&m, ev.data, (size_t) ev.size) < 0) {
                sn_engine_input_fail(e, SINEW_EVENT_DISCONNECTED, ENOMEM);
                return false;
            }
            if (!take_frame(e, &m, ev.flags))
                return false;
            break;
        }
        }
    }
}

void
sn_engine_read(sn_engine *e)
{
    bool got = false;
    uint64_t delivered = e->in_delivered;
    for (int rounds = 0; rounds < 16 && e->fd >= 0 && !e->in_blocked && !e->in_deferred;
         rounds++) {
        /* A borrowing thread has a whole message for its caller: no read to EAGAIN. */
        if (e->in_app && e->in_delivered != delivered && !e->in_more && e->in_off == e->in_len)
            break;
        if (e->in_off == e->in_len) {
            e->in_off = e->in_len = 0;
            /* A large body still missing bytes is read straight into place, what follows
             * it into the buffer. After a message that ended in a large frame only the
             * next message's start (its envelope and the header of its large part) is
             * buffered, so that the next large body is not read into the buffer, then
             * copied. */
            struct iovec iov[2];
            int niov = 0;
            uint8_t *win;
            size_t wlen = 0;
            if (e->have_part && sn_zmtp_decoder_body_window(&e->dec, &win, &wlen) == 0 &&
                wlen > 0)
                iov[niov++] = (struct iovec){win, wlen};
            iov[niov++] = (struct iovec){e->in, e->in_large ? LARGE_PREFIX : IN_BUF};
            ssize_t n = readv(e->fd, iov, niov);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                /* Deliver what was complete before the peer went away. */
                if (got && e->pipe != NULL && !e->in_more)
                    sn_pipe_flush(e->pipe);
                sn_engine_input_fail(e, SINEW_EVENT_DISCONNECTED, 0);
                return;
            }
            if (n < 0)
                break;
            atomic_store_explicit(&e->last_rx_ms, sn_clock_ms(), memory_order_relaxed);
            if (niov == 2) {
                size_t take = (size_t) n < wlen ? (size_t) n : wlen;
                sn_zmtp_decoder_body_advance(&e->dec, take);
                n -= (ssize_t) take;
            }
            e->in_len = (size_t) n;
        }
        got = true;
        if (!process_input(e))
            break;
    }
    if (e->fd >= 0 && got && e->pipe != NULL && !e->in_more)
        sn_pipe_flush(e->pipe);
}

/* Input taken (by the reactor thread, or by an application thread with in_app set, for
 * which a failure found earlier cannot be pending): decode what is buffered, then read
 * on. */
void
sn_engine_resume_input(sn_engine *e)
{
    if (e->fail_event != 0) {
        sn_engine_fail(e, e->fail_event, e->fail_value);
        return;
    }
    process_input(e);
    /* Publish what was decoded, even if the pipe filled up again. */
    if (e->fd >= 0 && e->pipe != NULL && !e->in_more)
        sn_pipe_flush(e->pipe);
    if (e->fd >= 0 && !e->in_blocked)
        sn_engine_read(e);
}
