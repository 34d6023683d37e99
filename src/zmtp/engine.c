/* ZMTP connection engine (see engine.h): handshake, then frames in both directions,
 * heartbeats (RFC 37 PING/PONG) and the handshake deadline. Peer input never asserts:
 * any malformed byte ends this one connection, reported to the session. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io/reactor.h"
#include "sinew.h"
#include "zmtp/engine.h"

#define IN_BUF 65536
#define OUT_BUF 65536
#define COPY_MAX 8192    /* bodies up to this are copied into the write buffer */
#define LARGE_FRAME 16384 /* after a frame this large, buffer only the next one's start */
#define LARGE_PREFIX 64   /* that start: a frame header plus small envelope frames */
#define CMD_MAX 512      /* largest command the engine itself sends (PING/PONG) */

struct sn_engine {
    sn_reactor *r;
    int fd;
    /* The epoll registration and its mask. A borrowing application thread changes the
     * mask too, so h and events are touched under mask_lock (see sync_events). */
    pthread_mutex_t mask_lock;
    sn_io_handle *h;
    uint32_t events;
    bool in_wanted, out_wanted;
    const sn_engine_owner_ops *ops;
    void *owner;
    sn_net_config cfg;
    bool closing; /* inside close: ignore re-entry */

    sn_zmtp_handshake hs;
    bool handshaking;
    sn_timer_id hs_timer;

    sn_pipe *pipe;
    sn_zmtp_decoder dec;
    uint8_t *in;
    size_t in_off, in_len;
    sn_msg part;      /* a large frame being received straight into its buffer */
    bool have_part;
    bool in_more;     /* inside a multipart message coming from the peer */
    bool in_blocked;  /* the pipe is full: not reading */
    bool in_large;    /* the last message ended in a large frame: expect another */
    uint64_t in_delivered; /* message parts put in the pipe */

    /* Direct input (see sn_engine_input_borrow). Under the direct lock: */
    atomic_bool in_busy; /* the reactor thread is taking input; read first (acquire), so
                            no read of input state is hoisted above it */
    bool in_borrowed;  /* an application thread reads the fd (also under mask_lock) */
    bool in_kicked;    /* input left for the reactor thread: no borrowing until it ran */
    uint64_t borrow_token;
    void (*borrow_wake)(void *);
    void *borrow_arg;
    /* Whoever has the input: */
    bool in_app;       /* it is a borrowing application thread... */
    bool in_deferred;  /* ...which stopped at something only the reactor thread may do */
    int fail_event;    /* a failure that thread found, for the reactor thread to act on */
    uint32_t fail_value;

    uint8_t *out;
    size_t out_off, out_len;
    sn_msg big;       /* a large message whose body is written from its own buffer */
    size_t big_off;
    bool have_big;

    sn_timer_id hb_timer;
    _Atomic uint64_t last_rx_ms;
    uint64_t ping_sent_ms; /* first PING sent after the peer last spoke */
    uint64_t peer_ttl_ms;

    sn_link *direct;  /* registered for direct output on this link (see pipe.h) */
};

/* While registered for direct I/O, output state and the input hand-over flags are
 * shared with application threads: the reactor thread takes the link's direct lock
 * around every use of them. */
static void
direct_lock(sn_engine *e)
{
    if (e->direct != NULL)
        pthread_mutex_lock(&e->direct->direct.lock);
}

static void
direct_unlock(sn_engine *e)
{
    if (e->direct != NULL)
        pthread_mutex_unlock(&e->direct->direct.lock);
}

static void
direct_register(sn_engine *e)
{
    sn_link *l = e->pipe->link;
    pthread_mutex_lock(&l->direct.lock);
    l->direct.engine = e;
    e->direct = l;
    pthread_mutex_unlock(&l->direct.lock);
}

static void set_borrowed(sn_engine *e, bool on);

/* Before the fd closes or the engine goes: no application thread may use it after. A
 * thread waiting on the fd is woken, since closing it would not wake it. */
static void
direct_unregister(sn_engine *e)
{
    sn_link *l = e->direct;
    if (l == NULL)
        return;
    pthread_mutex_lock(&l->direct.lock);
    if (l->direct.engine == e)
        l->direct.engine = NULL;
    if (e->in_borrowed) {
        e->borrow_wake(e->borrow_arg);
        e->borrow_wake = NULL;
        e->borrow_arg = NULL;
        set_borrowed(e, false);
    }
    pthread_mutex_unlock(&l->direct.lock);
    e->direct = NULL;
}

static void engine_fail(sn_engine *e, int event, uint32_t value);
static void engine_write(sn_engine *e);
static void engine_read(sn_engine *e);

/* Mask lock held: watch what is wanted; input not while an application thread has it. */
static void
sync_events(sn_engine *e)
{
    uint32_t ev = (e->in_wanted && !e->in_borrowed ? EPOLLIN : 0u) |
                  (e->out_wanted ? EPOLLOUT : 0u);
    if (e->h != NULL && ev != e->events) {
        e->events = ev;
        sn_reactor_mod(e->r, e->h, ev);
    }
}

/* Sets one of the flags the mask follows (out_wanted, in_wanted, in_borrowed). */
static void
set_watch(sn_engine *e, bool *flag, bool on)
{
    pthread_mutex_lock(&e->mask_lock);
    *flag = on;
    sync_events(e);
    pthread_mutex_unlock(&e->mask_lock);
}

static void
want_out(sn_engine *e, bool on)
{
    set_watch(e, &e->out_wanted, on);
}

static void
want_in(sn_engine *e, bool on)
{
    set_watch(e, &e->in_wanted, on);
}

static void
set_borrowed(sn_engine *e, bool on)
{
    set_watch(e, &e->in_borrowed, on);
}

/* Registration changes on the reactor thread (the mask follows e->h under the lock). */
static void
unwatch(sn_engine *e)
{
    pthread_mutex_lock(&e->mask_lock);
    if (e->h != NULL)
        sn_reactor_del(e->r, e->h);
    e->h = NULL;
    pthread_mutex_unlock(&e->mask_lock);
}

/* ---- heartbeats and deadlines ------------------------------------------------------- */

static void
queue_bytes(sn_engine *e, const uint8_t *p, size_t n)
{
    direct_lock(e);
    if (e->out_len + n <= OUT_BUF) {
        memcpy(e->out + e->out_len, p, n);
        e->out_len += n;
    }
    direct_unlock(e);
}

/* The peer is dead when it has said nothing for `timeout`: counted, when we send PINGs,
 * from the first PING it left unanswered (as libzmq does), so that a stall of this
 * process alone does not end a live connection. Bytes waiting unread (our pipe is full,
 * or an application thread holds the input) also count as the peer speaking. */
static bool
peer_silent(sn_engine *e, uint64_t now, uint64_t timeout)
{
    uint64_t last_rx = atomic_load_explicit(&e->last_rx_ms, memory_order_relaxed);
    uint64_t since = last_rx;
    if (e->cfg.heartbeat_ivl > 0) {
        if (e->ping_sent_ms <= last_rx)
            return false; /* nothing asked since it last spoke: the next PING asks */
        since = e->ping_sent_ms;
    }
    if (now - since <= timeout)
        return false;
    struct pollfd pfd = {.fd = e->fd, .events = POLLIN};
    if (poll(&pfd, 1, 0) == 1 && pfd.revents == POLLIN) {
        atomic_store_explicit(&e->last_rx_ms, now, memory_order_relaxed);
        return false;
    }
    return true;
}

static void
hb_timer_cb(void *arg)
{
    sn_engine *e = arg;
    e->hb_timer = 0;
    uint64_t now = sn_clock_ms();
    uint64_t timeout = e->cfg.heartbeat_timeout >= 0 ? (uint64_t) e->cfg.heartbeat_timeout
                                                     : (uint64_t) e->cfg.heartbeat_ivl;
    if (e->peer_ttl_ms > 0 && (timeout == 0 || e->peer_ttl_ms < timeout))
        timeout = e->peer_ttl_ms;
    if (timeout > 0 && peer_silent(e, now, timeout)) {
        engine_fail(e, SINEW_EVENT_DISCONNECTED, 0);
        return;
    }
    if (e->cfg.heartbeat_ivl > 0) {
        uint8_t cmd[CMD_MAX];
        ssize_t n = sn_zmtp_command_build_ping(cmd, sizeof cmd,
                                               sn_zmtp_ping_ttl_from_ms(e->cfg.heartbeat_ttl),
                                               NULL, 0);
        if (n > 0) {
            if (e->ping_sent_ms <= atomic_load_explicit(&e->last_rx_ms, memory_order_relaxed))
                e->ping_sent_ms = now; /* the first PING since the peer last spoke */
            queue_bytes(e, cmd, (size_t) n);
            engine_write(e);
        }
    }
    uint64_t next = e->cfg.heartbeat_ivl > 0 ? (uint64_t) e->cfg.heartbeat_ivl : timeout;
    e->hb_timer = sn_reactor_timer_add(e->r, next, hb_timer_cb, e);
}

static void
hs_timer_cb(void *arg)
{
    sn_engine *e = arg;
    e->hs_timer = 0;
    if (e->handshaking)
        engine_fail(e, SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL, ETIMEDOUT);
}

/* ---- input ownership ------------------------------------------------------------------ */

/* Reactor thread, before taking input: false while an application thread has it. */
static bool
input_begin(sn_engine *e)
{
    direct_lock(e);
    bool ok = !e->in_borrowed;
    if (ok) {
        atomic_store_explicit(&e->in_busy, true, memory_order_relaxed);
        e->in_kicked = false;
    }
    direct_unlock(e);
    return ok;
}

static void
input_end(sn_engine *e)
{
    direct_lock(e);
    atomic_store_explicit(&e->in_busy, false, memory_order_release);
    direct_unlock(e);
}

/* The connection must end over its input: on the reactor thread now; on a borrowing
 * application thread, which may not touch the session, by the reactor thread later. */
static void
input_fail(sn_engine *e, int event, uint32_t value)
{
    if (!e->in_app) {
        engine_fail(e, event, value);
        return;
    }
    if (e->fail_event == 0) {
        e->fail_event = event;
        e->fail_value = value;
    }
    e->in_deferred = true;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void
io_cb(void *arg, uint32_t ev)
{
    sn_engine *e = arg;
    if ((ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) && input_begin(e)) {
        if (e->in_blocked && (ev & (EPOLLERR | EPOLLHUP))) {
            /* The peer hung up while our pipe is full. What it sent is still in the
             * kernel buffer: stop watching (a hang-up is reported without end) and read
             * the rest once the pipe has room. Dropping it here is how libzmq loses ipc
             * messages. */
            unwatch(e);
            input_end(e);
            return;
        }
        if (e->fail_event != 0)
            engine_fail(e, e->fail_event, e->fail_value); /* found by a borrowing thread */
        else
            engine_read(e);
        input_end(e);
    }
    if (e->fd >= 0 && (ev & EPOLLOUT))
        engine_write(e);
}

int
sn_engine_new(sn_engine **out, sn_reactor *r, int fd, const sn_net_config *cfg,
              const char *peer_address, const sn_engine_owner_ops *ops, void *owner)
{
    (void) peer_address;
    sn_engine *e = calloc(1, sizeof *e);
    if (e == NULL)
        return -ENOMEM;
    e->in = malloc(IN_BUF);
    e->out = malloc(OUT_BUF);
    if (e->in == NULL || e->out == NULL)
        goto fail;
    e->r = r;
    e->fd = fd;
    pthread_mutex_init(&e->mask_lock, NULL);
    e->ops = ops;
    e->owner = owner;
    e->cfg = *cfg;
    sn_zmtp_handshake_config hc = {
        .socket_type = cfg->type,
        .routing_id = cfg->routing_id,
        .routing_id_len = cfg->routing_id_len,
        .maxmsgsize = cfg->maxmsgsize,
    };
    int rc = sn_zmtp_handshake_init(&e->hs, &hc);
    if (rc < 0)
        goto fail_rc;
    e->handshaking = true;
    sn_zmtp_decoder_config dc = {.maxmsgsize = cfg->maxmsgsize};
    sn_zmtp_decoder_init(&e->dec, &dc);
    e->events = EPOLLIN;
    e->in_wanted = true;
    rc = sn_reactor_add(r, fd, e->events, io_cb, e, &e->h);
    if (rc < 0) {
        sn_zmtp_decoder_fini(&e->dec);
        sn_zmtp_handshake_fini(&e->hs);
        goto fail_rc;
    }
    atomic_init(&e->last_rx_ms, sn_clock_ms());
    if (cfg->handshake_ivl > 0)
        e->hs_timer = sn_reactor_timer_add(r, (uint64_t) cfg->handshake_ivl, hs_timer_cb, e);
    *out = e;
    engine_write(e); /* our greeting's first bytes */
    return 0;
fail:
    rc = -ENOMEM;
fail_rc:
    pthread_mutex_destroy(&e->mask_lock);
    free(e->in);
    free(e->out);
    free(e);
    return rc;
}

void
sn_engine_free(sn_engine *e)
{
    if (e == NULL)
        return;
    if (e->h != NULL)
        sn_reactor_del(e->r, e->h);
    if (e->fd >= 0)
        close(e->fd);
    if (e->hs_timer)
        sn_reactor_timer_cancel(e->r, e->hs_timer);
    if (e->hb_timer)
        sn_reactor_timer_cancel(e->r, e->hb_timer);
    if (e->have_part)
        sn_msg_close(&e->part);
    if (e->have_big)
        sn_msg_close(&e->big);
    sn_zmtp_decoder_fini(&e->dec);
    sn_zmtp_handshake_fini(&e->hs);
    pthread_mutex_destroy(&e->mask_lock);
    free(e->in);
    free(e->out);
    free(e);
}

/* Ends the connection: stop I/O now, tell the session once. */
static void
engine_fail(sn_engine *e, int event, uint32_t value)
{
    if (e->closing)
        return;
    direct_unregister(e); /* first: application threads read `closing` under its lock */
    e->closing = true;
    unwatch(e);
    /* As libzmq: a connection lost during the handshake (not refused for a protocol
     * error) is a handshake that failed without detail. */
    if (e->handshaking && event == SINEW_EVENT_DISCONNECTED) {
        event = SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
        value = EPIPE;
    }
    int fd = e->fd;
    close(e->fd);
    e->fd = -1;
    /* Parts of a message the peer did not finish stay unpublished in the pipe and are
     * released with it. */
    e->ops->closed(e->owner, e, event, value, fd);
}

void
sn_engine_orphan(sn_engine *e)
{
    direct_unregister(e);
    if (!e->closing) {
        e->closing = true;
        unwatch(e);
        close(e->fd);
        e->fd = -1;
    }
    if (e->hs_timer) {
        sn_reactor_timer_cancel(e->r, e->hs_timer);
        e->hs_timer = 0;
    }
    if (e->hb_timer) {
        sn_reactor_timer_cancel(e->r, e->hb_timer);
        e->hb_timer = 0;
    }
    e->pipe = NULL;
}



bool
sn_engine_output_empty(sn_engine *e)
{
    direct_lock(e);
    bool empty = e->out_off == e->out_len && !e->have_big;
    direct_unlock(e);
    return empty;
}

/* ---- output ------------------------------------------------------------------------- */

/* Moves messages from the pipe into the write buffer (and at most one large message
 * to be written from its own buffer). */
static void
fill_output(sn_engine *e)
{
    if (e->handshaking || e->pipe == NULL)
        return;
    if (e->out_off == e->out_len)
        e->out_off = e->out_len = 0;
    while (!e->have_big && e->out_len + SN_ZMTP_FRAME_HEADER_MAX < OUT_BUF) {
        sn_msg m;
        if (sn_pipe_read_burst(e->pipe, &m) < 0)
            break;
        size_t size = sn_msg_size(&m);
        int flags = sn_msg_more(&m) ? SN_ZMTP_FLAG_MORE : 0;
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
    }
    sn_pipe_read_end(e->pipe);
}

/* Every write to the connection goes through here, with MSG_NOSIGNAL: a peer that reset
 * the connection must cost that connection (EPIPE), not the process (SIGPIPE). The I/O
 * threads block signals, but application threads write too (direct output), under the
 * application's signal mask. sendmsg serves tcp and ipc alike. */
static ssize_t
send_vec(int fd, struct iovec *iov, int niov)
{
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t) niov};
    return sendmsg(fd, &mh, MSG_NOSIGNAL);
}

/* Writes buffered output; 1 done (all out), 0 the kernel is full (EAGAIN), -1 the
 * connection failed. Output lock held. */
static int
flush_output(sn_engine *e)
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
        ssize_t n = send_vec(e->fd, iov, niov);
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

bool
sn_engine_direct_write(sn_engine *e)
{
    if (e->fd < 0 || e->handshaking || e->pipe == NULL || e->out_off != e->out_len ||
        e->have_big)
        return false; /* not connected, or the I/O thread has output in hand */
    return flush_output(e) == 1;
}

static void
engine_write(sn_engine *e)
{
    if (e->fd < 0)
        return;
    if (!e->handshaking) {
        direct_lock(e);
        int rc = flush_output(e);
        direct_unlock(e);
        if (rc < 0)
            engine_fail(e, SINEW_EVENT_DISCONNECTED, 0);
        else
            want_out(e, rc == 0);
        return;
    }
    for (int rounds = 0; rounds < 64; rounds++) {
        const uint8_t *p;
        size_t len;
        sn_zmtp_handshake_output(&e->hs, &p, &len);
        if (len == 0) {
            want_out(e, false);
            return;
        }
        struct iovec iov = {(void *) p, len};
        ssize_t n = send_vec(e->fd, &iov, 1);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                want_out(e, true);
                return;
            }
            engine_fail(e, SINEW_EVENT_DISCONNECTED, 0);
            return;
        }
        sn_zmtp_handshake_output_consumed(&e->hs, (size_t) n);
    }
    want_out(e, true);
}

void
sn_engine_pipe_readable(sn_engine *e)
{
    if (e->fd >= 0 && !e->handshaking && !e->out_wanted)
        engine_write(e);
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
            queue_bytes(e, pong, (size_t) n);
        if (cmd->ttl > 0)
            e->peer_ttl_ms = (uint64_t) cmd->ttl * 100u;
        if (e->peer_ttl_ms > 0 && e->hb_timer == 0)
            e->hb_timer = sn_reactor_timer_add(e->r, e->peer_ttl_ms, hb_timer_cb, e);
        engine_write(e);
        break;
    }
    case SN_ZMTP_CMD_ERROR:
        engine_fail(e, SINEW_EVENT_DISCONNECTED, 0);
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

/* Handshake done: get the pipe from the session, then start traffic. */
static bool
start_traffic(sn_engine *e)
{
    e->handshaking = false;
    if (e->hs_timer) {
        sn_reactor_timer_cancel(e->r, e->hs_timer);
        e->hs_timer = 0;
    }
    /* Flush what the handshake still has to say (e.g. our READY) first. */
    const uint8_t *p;
    size_t len;
    sn_zmtp_handshake_output(&e->hs, &p, &len);
    if (len > 0) {
        queue_bytes(e, p, len);
        sn_zmtp_handshake_output_consumed(&e->hs, len);
    }
    e->pipe = e->ops->ready(e->owner, e, sn_zmtp_handshake_result_get(&e->hs));
    if (e->pipe == NULL) {
        engine_fail(e, SINEW_EVENT_DISCONNECTED, 0);
        return false;
    }
    direct_register(e);
    if (e->cfg.heartbeat_ivl > 0)
        e->hb_timer = sn_reactor_timer_add(e->r, (uint64_t) e->cfg.heartbeat_ivl,
                                           hb_timer_cb, e);
    engine_write(e);
    return e->fd >= 0;
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
                engine_write(e); /* an ERROR command may be waiting */
                if (e->fd >= 0)
                    engine_fail(e, SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                                (uint32_t) sn_zmtp_handshake_error(&e->hs, NULL));
                return false;
            }
            e->in_off += (size_t) n;
            if (sn_zmtp_handshake_state(&e->hs) == SN_ZMTP_HS_DONE) {
                if (!start_traffic(e))
                    return false;
            } else {
                engine_write(e);
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
            want_in(e, false);
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
                input_fail(e, SINEW_EVENT_DISCONNECTED, ENOMEM);
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
            /* A malformed frame: the ZMTP code; a frame over SINEW_MAXMSGSIZE (or too
             * large for a size_t): EMSGSIZE; a body the decoder could not allocate:
             * ENOMEM. */
            input_fail(e, SINEW_EVENT_DISCONNECTED,
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
                    input_fail(e, SINEW_EVENT_DISCONNECTED, ENOMEM);
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
                input_fail(e, SINEW_EVENT_DISCONNECTED, ENOMEM);
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

static void
engine_read(sn_engine *e)
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
                input_fail(e, SINEW_EVENT_DISCONNECTED, 0);
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
static void
resume_input(sn_engine *e)
{
    if (e->fail_event != 0) {
        engine_fail(e, e->fail_event, e->fail_value);
        return;
    }
    process_input(e);
    /* Publish what was decoded, even if the pipe filled up again. */
    if (e->fd >= 0 && e->pipe != NULL && !e->in_more)
        sn_pipe_flush(e->pipe);
    if (e->fd >= 0 && !e->in_blocked)
        engine_read(e);
}

void
sn_engine_pipe_writable(sn_engine *e)
{
    if (e->fd < 0 || !input_begin(e))
        return;
    if (e->in_blocked) {
        e->in_blocked = false;
        pthread_mutex_lock(&e->mask_lock);
        int rc = 0;
        if (e->h == NULL) {
            e->events = EPOLLIN | (e->out_wanted ? EPOLLOUT : 0u);
            rc = sn_reactor_add(e->r, e->fd, e->events, io_cb, e, &e->h);
        }
        pthread_mutex_unlock(&e->mask_lock);
        if (rc < 0)
            engine_fail(e, SINEW_EVENT_DISCONNECTED, 0);
        else {
            want_in(e, true);
            resume_input(e);
        }
    }
    input_end(e);
}

/* ---- direct input ---------------------------------------------------------------------
 * An application thread blocked in a receive on this connection's socket may wait on
 * the fd itself and decode what arrives straight into the pipe: the message then costs
 * one thread wake-up instead of two (the reactor's, then the application's). The
 * reactor stops watching input meanwhile. The borrowing thread takes message frames
 * only; at a command, a failure or the end of the stream it hands the input back and
 * the reactor thread goes on from there (kick). */

static void
input_kick(void *arg)
{
    sn_engine *e = arg; /* still alive: posted before the engine could be orphaned */
    if (e->closing || e->fd < 0 || !input_begin(e))
        return;
    if (!e->in_blocked)
        resume_input(e);
    input_end(e);
}

/* Returns input taken on an application thread: the reactor watches again, and goes on
 * from where that thread stopped if it had to. */
static void
app_input_done(sn_engine *e)
{
    e->in_app = false;
    if (e->in_deferred) {
        e->in_deferred = false;
        e->in_kicked = sn_reactor_post(e->r, input_kick, e) == 0;
    }
}

/* Direct lock held: true if an application thread may not take the input now. The
 * reactor thread's flag is read first: input state is only looked at once it is not
 * using it. */
static bool
input_taken(sn_engine *e)
{
    return atomic_load_explicit(&e->in_busy, memory_order_acquire) || e->in_borrowed ||
           e->in_kicked || e->closing || e->fd < 0 || e->pipe == NULL ||
           e->fail_event != 0 || e->h == NULL;
}

bool
sn_engine_input_resume(sn_engine *e)
{
    if (input_taken(e) || !e->in_blocked)
        return false;
    e->in_blocked = false;
    e->in_app = true;
    resume_input(e); /* engine_read stops at once if a command deferred the rest */
    if (!e->in_blocked)
        want_in(e, true);
    app_input_done(e);
    return true;
}

int
sn_engine_input_borrow(sn_engine *e, void (*wake)(void *), void *arg, uint64_t *token)
{
    static _Atomic uint64_t next_token = 1;
    if (atomic_load_explicit(&e->in_busy, memory_order_acquire) || e->in_kicked)
        return -EBUSY; /* the reactor thread has it for now */
    if (input_taken(e) || e->handshaking || e->in_blocked || e->in_off != e->in_len)
        return -1;
    e->borrow_wake = wake;
    e->borrow_arg = arg;
    e->borrow_token = atomic_fetch_add_explicit(&next_token, 1, memory_order_relaxed);
    *token = e->borrow_token;
    set_borrowed(e, true);
    return e->fd;
}

bool
sn_engine_input_return(sn_engine *e, uint64_t token, bool readable, bool may_keep)
{
    if (!e->in_borrowed || e->borrow_token != token)
        return false; /* taken back already: the connection ended */
    uint64_t delivered = e->in_delivered;
    if (readable) {
        e->in_app = true;
        engine_read(e);
    }
    /* Only part of a frame came (a large body arrives in pieces): wait for the rest. */
    if (may_keep && e->in_delivered == delivered && !e->in_deferred && !e->in_blocked &&
        e->fd >= 0 && e->in_off == e->in_len)
        return true;
    e->borrow_wake = NULL;
    e->borrow_arg = NULL;
    set_borrowed(e, false);
    app_input_done(e);
    return false;
}
