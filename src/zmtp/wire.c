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

/* A command of ours (PING, PONG) for the peer; written at the next message boundary. */
void
sn_engine_queue_command(sn_engine *e, const uint8_t *p, size_t n)
{
    sn_engine_direct_lock(e);
    if (e->ctl_len + n > sizeof e->ctl)
        e->ctl_len = 0;
    memcpy(e->ctl + e->ctl_len, p, n);
    e->ctl_len += n;
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

/* Our pending commands go out between messages, never inside a multipart one. */
static void
put_commands(sn_engine *e)
{
    if (e->ctl_len > 0 && !e->out_more && !e->have_big &&
        e->out_len + e->ctl_len <= OUT_BUF) {
        memcpy(e->out + e->out_len, e->ctl, e->ctl_len);
        e->out_len += e->ctl_len;
        e->ctl_len = 0;
    }
}

/* Moves messages from the pipe into the write buffer (and at most one large message
 * to be written from its own buffer). */
static void
fill_output(sn_engine *e)
{
    if (e->handshaking || e->pipe == NULL)
        return;
    if (e->out_off == e->out_len)
        e->out_off = e->out_len = 0;
    put_commands(e);
    while (!e->have_big && e->out_len + SN_ZMTP_FRAME_HEADER_MAX < OUT_BUF) {
        sn_msg m;
        if (sn_pipe_read_burst(e->pipe, &m) < 0)
            break;
        size_t size = sn_msg_size(&m);
        e->out_more = sn_msg_more(&m);
        int flags = e->out_more ? SN_ZMTP_FLAG_MORE : 0;
        if (m.flags & SN_MSG_COMMAND)
            flags |= SN_ZMTP_FLAG_COMMAND;
        e->out_len += (size_t) sn_zmtp_frame_header(e->out + e->out_len, flags, size);
        if (size <= COPY_MAX && e->out_len + size <= OUT_BUF) {
            memcpy(e->out + e->out_len, sn_msg_data(&m), size);
            e->out_len += size;
            sn_msg_close(&m);
        } else {
            e->big = m;
            e->big_off = 0;
            e->have_big = true;
        }
        put_commands(e);
    }
    sn_pipe_read_end(e->pipe);
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
        if (e->out_off == e->out_len && !e->have_big)
            fill_output(e);
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

static void
handle_command(sn_engine *e, const sn_zmtp_command *cmd)
{
    switch (cmd->type) {
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
        break;
    }
    case SN_ZMTP_CMD_ERROR:
        sn_engine_fail(e, SINEW_EVENT_DISCONNECTED, 0);
        break;
    default:
        break; /* PONG refreshes last_rx; others are not ours to act on (RFC 37) */
    }
}

static int
deliver(sn_engine *e, sn_msg *m, int flags)
{
    if (flags & SN_ZMTP_FLAG_MORE)
        m->flags |= SN_MSG_MORE;
    e->in_more = (flags & SN_ZMTP_FLAG_MORE) != 0;
    e->in_delivered++;
    int rc = sn_pipe_write(e->pipe, m);
    if (rc < 0)
        sn_msg_close(m);
    return rc;
}

/* Decodes in[in_off..in_len). Returns false if the engine stopped (closed or blocked). */
static bool
process_input(sn_engine *e)
{
    for (;;) {
        if (e->handshaking) {
            if (e->in_off == e->in_len)
                return true;
            int n = sn_zmtp_handshake_feed(&e->hs, e->in + e->in_off, e->in_len - e->in_off);
            if (n < 0) {
                sn_engine_write(e); /* an ERROR command may be waiting */
                if (e->fd >= 0)
                    sn_engine_fail(e, SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                                (uint32_t) sn_zmtp_handshake_error(&e->hs, NULL));
                return false;
            }
            e->in_off += (size_t) n;
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
        size_t sn = sn_zmtp_decoder_short_frame(&e->dec, e->in + e->in_off,
                                                e->in_len - e->in_off, &sflags, &sbody, &ssize);
        if (sn > 0) {
            e->in_off += sn;
            if (!(sflags & SN_ZMTP_FLAG_MORE)) /* envelope parts before a large body */
                e->in_large = false;
            sn_msg m;
            if (sn_msg_init_buffer(&m, sbody, ssize) < 0 || deliver(e, &m, sflags) < 0) {
                sn_engine_input_fail(e, SINEW_EVENT_DISCONNECTED, 0);
                return false;
            }
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
            sn_engine_input_fail(e, SINEW_EVENT_DISCONNECTED, (uint32_t) sn_zmtp_decoder_error(&e->dec));
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
                    sn_engine_input_fail(e, SINEW_EVENT_DISCONNECTED, 0);
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
            if (deliver(e, &m, ev.flags) < 0) {
                sn_engine_input_fail(e, SINEW_EVENT_DISCONNECTED, 0);
                return false;
            }
            break;
        }
        case SN_ZMTP_EV_COMMAND:
            handle_command(e, &ev.cmd);
            if (e->fd < 0)
                return false;
            break;
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
