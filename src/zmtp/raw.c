/* The raw engine of STREAM sockets (see raw.h): no greeting, no framing. Input: each
 * read (at most RAW_READ bytes) is one message; a full pipe stops the reading, so a
 * flooding peer meets the receive HWM and TCP backpressure, never unbounded memory.
 * Output: the pipe's messages are written back to back, straight from their buffers.
 * An empty message is put in the pipe when the connection starts and when it ends,
 * which is when its input ends: after a failed write what the peer sent before is
 * still read and delivered, however full the pipe was. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sinew.h"
#include "io/reactor.h"
#include "zmtp/raw.h"

#define RAW_READ 8192          /* bytes per read, so per message: libzmq's in_batch_size */
#define RAW_READS_PER_WAKE 16  /* then the thread's other connections get their turn */
#define RAW_WRITES_PER_WAKE 16
#define RAW_IOV 64             /* messages per write */

typedef struct raw {
    sn_reactor *r;
    int fd;
    sn_io_handle *h;        /* NULL while unwatched (a hang-up while the pipe is full) */
    uint32_t events;
    const sn_engine_owner_ops *ops;
    void *owner;
    bool started;           /* `ready` was called */
    bool closing;
    sn_pipe *pipe;          /* from `ready`; NULL before, and once orphaned */
    bool in_blocked;        /* the pipe is full: not reading until it has room */
    bool out_wanted;        /* bytes wait for room in the kernel's buffer */
    bool out_broken;        /* a write failed: output is discarded, and the connection
                               ends with its input, once what the peer sent before is
                               delivered (the pipe may be full just now) */
    sn_msg out[RAW_IOV];    /* taken from the pipe and not yet written whole */
    size_t nout;
    size_t out_off;         /* bytes of out[0] already written */
    uint8_t in[RAW_READ];
} raw;

static raw *
raw_of(sn_engine *e)
{
    return (raw *) (void *) e;
}

static sn_engine *
engine_of(raw *e)
{
    return (sn_engine *) (void *) e;
}

/* A connection is writable as soon as it exists: the first callback starts it. Until
 * then, and while the pipe is full, input is not watched. */
static uint32_t
wanted_events(const raw *e)
{
    return (e->started && !e->in_blocked ? EPOLLIN : 0u) |
           (!e->started || e->out_wanted ? EPOLLOUT : 0u);
}

static void
raw_watch(raw *e)
{
    uint32_t ev = wanted_events(e);
    if (e->h != NULL && ev != e->events) {
        e->events = ev;
        sn_reactor_mod(e->r, e->h, ev);
    }
}

static void
raw_unwatch(raw *e)
{
    if (e->h != NULL)
        sn_reactor_del(e->r, e->h);
    e->h = NULL;
}

/* The start or the end of the connection, after everything read before it. Written
 * past the HWM (one message more is bounded); lost only if memory is. */
static void
raw_mark(raw *e)
{
    sn_msg m;
    sn_msg_init(&m);
    if (sn_pipe_write(e->pipe, &m) == 0)
        sn_pipe_flush(e->pipe);
}

/* Messages taken from the pipe that will not be written: lost with the connection,
 * counted on the socket (the pipe end's counters are its). */
static void
raw_drop_taken(raw *e)
{
    if (e->nout > 0 && e->pipe != NULL && e->pipe->stats != NULL)
        sn_stats_drop(e->pipe->stats, SN_DROP_CONNECTION, e->nout);
    for (size_t i = 0; i < e->nout; i++)
        sn_msg_close(&e->out[i]);
    e->nout = e->out_off = 0;
}

/* The connection is over: the end marker, then the session is told (value as in
 * engine.h: 0 for a connection that simply ended, ENOMEM for input we could not keep). */
static void
raw_fail(raw *e, uint32_t value)
{
    if (e->closing)
        return;
    e->closing = true;
    raw_unwatch(e);
    if (e->pipe != NULL)
        raw_mark(e);
    raw_drop_taken(e);
    int fd = e->fd;
    close(fd);
    e->fd = -1;
    e->ops->closed(e->owner, engine_of(e), SINEW_EVENT_DISCONNECTED, value, fd);
}

/* No handshake: the session gets a peer of unknown type, with no routing id. */
static bool
raw_start(raw *e)
{
    e->started = true;
    sn_zmtp_handshake_result res;
    memset(&res, 0, sizeof res);
    res.peer_socket_type = -1;
    res.peer_metadata = (const uint8_t *) "";
    e->pipe = e->ops->ready(e->owner, engine_of(e), &res);
    if (e->pipe == NULL) {
        raw_fail(e, 0);
        return false;
    }
    raw_mark(e);
    raw_watch(e);
    return true;
}

static void
raw_read(raw *e)
{
    bool got = false;
    for (int i = 0; i < RAW_READS_PER_WAKE; i++) {
        if (!sn_pipe_check_write(e->pipe)) {
            e->in_blocked = true; /* until pipe_writable: the reader made room */
            raw_watch(e);
            break;
        }
        ssize_t n = read(e->fd, e->in, sizeof e->in);
        if (n > 0) {
            sn_msg m;
            if (sn_msg_init_buffer(&m, e->in, (size_t) n) < 0) {
                raw_fail(e, ENOMEM);
                return;
            }
            if (sn_pipe_write(e->pipe, &m) < 0) {
                sn_msg_close(&m);
                raw_fail(e, ENOMEM);
                return;
            }
            got = true;
            if ((size_t) n < sizeof e->in)
                break; /* most likely all there was; level-triggered epoll says if not */
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        raw_fail(e, 0); /* end of stream or a reset: what came before is delivered */
        return;
    }
    if (got)
        sn_pipe_flush(e->pipe);
}

/* n bytes went out: whole messages are done with, the first unfinished one advances. */
static void
raw_consume(raw *e, size_t n)
{
    size_t done = 0;
    while (done < e->nout) {
        size_t rest = sn_msg_size(&e->out[done]) - e->out_off;
        if (n < rest) {
            e->out_off += n;
            break;
        }
        n -= rest;
        e->out_off = 0;
        sn_msg_close(&e->out[done++]);
    }
    memmove(e->out, e->out + done, (e->nout - done) * sizeof e->out[0]);
    e->nout -= done;
}

/* Output to a connection that failed: what was taken and what comes is discarded. */
static void
raw_discard_output(raw *e)
{
    raw_drop_taken(e);
    sn_msg m;
    while (sn_pipe_read(e->pipe, &m) == 0) {
        if (sn_msg_size(&m) > 0 && e->pipe->stats != NULL)
            sn_stats_drop(e->pipe->stats, SN_DROP_CONNECTION, 1);
        sn_msg_close(&m);
    }
}

static void
raw_write(raw *e)
{
    if (e->out_broken) {
        raw_discard_output(e);
        return;
    }
    for (int round = 0; round < RAW_WRITES_PER_WAKE; round++) {
        while (e->nout < RAW_IOV && sn_pipe_read(e->pipe, &e->out[e->nout]) == 0) {
            if (sn_msg_size(&e->out[e->nout]) == 0)
                sn_msg_close(&e->out[e->nout]); /* nothing to write */
            else
                e->nout++;
        }
        if (e->nout == 0) {
            e->out_wanted = false;
            raw_watch(e);
            return;
        }
        struct iovec iov[RAW_IOV];
        for (size_t i = 0; i < e->nout; i++)
            iov[i] = (struct iovec){sn_msg_data(&e->out[i]), sn_msg_size(&e->out[i])};
        iov[0].iov_base = (uint8_t *) iov[0].iov_base + e->out_off;
        iov[0].iov_len -= e->out_off;
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = e->nout};
        ssize_t n = sendmsg(e->fd, &mh, MSG_NOSIGNAL); /* a reset peer is no SIGPIPE */
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0) {
            /* Not the end yet: the input may still hold what the peer sent before it
             * went, and reading it to its end (or error) ends the connection. */
            e->out_broken = true;
            e->out_wanted = false;
            raw_watch(e);
            raw_discard_output(e);
            return;
        }
        raw_consume(e, (size_t) n);
    }
    /* The kernel's buffer is full, or this connection had its share of the thread:
     * EPOLLOUT brings us back. */
    e->out_wanted = true;
    raw_watch(e);
}

static void
raw_io(void *arg, uint32_t ev)
{
    raw *e = arg;
    if (!e->started && !raw_start(e))
        return;
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        if (!e->in_blocked) {
            raw_read(e);
            if (e->fd < 0)
                return;
        } else if (ev & (EPOLLERR | EPOLLHUP)) {
            /* Hung up while the pipe is full. What it sent is still in the kernel's
             * buffer, and a hang-up is reported until the end: stop watching, and read
             * the rest once the pipe has room. Nothing can be written any more: what
             * the socket sends meanwhile is discarded, never left to fill its pipe. */
            raw_unwatch(e);
            e->out_broken = true;
            e->out_wanted = false;
            raw_discard_output(e);
            return;
        }
    }
    if (ev & EPOLLOUT)
        raw_write(e);
}

/* ---- the class -------------------------------------------------------------------- */

static int
raw_create(sn_engine **out, sn_reactor *r, int fd, const sn_net_config *cfg,
           const char *peer_address, const sn_engine_owner_ops *ops, void *owner)
{
    (void) cfg;
    (void) peer_address;
    raw *e = calloc(1, sizeof *e);
    if (e == NULL)
        return -ENOMEM;
    e->r = r;
    e->fd = fd;
    e->ops = ops;
    e->owner = owner;
    e->events = wanted_events(e);
    int rc = sn_reactor_add(r, fd, e->events, raw_io, e, &e->h);
    if (rc < 0) {
        free(e);
        return rc;
    }
    *out = engine_of(e);
    return 0;
}

static void
raw_free(void *arg)
{
    raw *e = arg;
    if (e == NULL)
        return;
    raw_unwatch(e);
    if (e->fd >= 0)
        close(e->fd);
    for (size_t i = 0; i < e->nout; i++)
        sn_msg_close(&e->out[i]);
    free(e);
}

static void
raw_orphan(sn_engine *x)
{
    raw *e = raw_of(x);
    raw_drop_taken(e); /* e.g. the linger ran out with output still unwritten */
    if (!e->closing) {
        e->closing = true;
        raw_unwatch(e);
        close(e->fd);
        e->fd = -1;
    }
    e->pipe = NULL;
}

static void
raw_pipe_readable(sn_engine *x)
{
    raw *e = raw_of(x);
    if (e->fd >= 0 && e->pipe != NULL && !e->out_wanted)
        raw_write(e);
}

static void
raw_pipe_writable(sn_engine *x)
{
    raw *e = raw_of(x);
    if (e->fd < 0 || e->pipe == NULL || !e->in_blocked)
        return;
    e->in_blocked = false;
    if (e->h == NULL) {
        e->events = wanted_events(e);
        if (sn_reactor_add(e->r, e->fd, e->events, raw_io, e, &e->h) < 0) {
            e->h = NULL;
            raw_fail(e, 0);
            return;
        }
    }
    raw_watch(e);
    raw_read(e); /* what waited in the kernel's buffer, now */
}

static bool
raw_output_empty(sn_engine *x)
{
    return raw_of(x)->nout == 0;
}

/* Messages are one part: the connection never ends in the middle of one. */
static bool
raw_out_partial(sn_engine *x)
{
    (void) x;
    return false;
}

const sn_engine_class sn_raw_engine_class = {
    .create = raw_create,
    .free = raw_free,
    .orphan = raw_orphan,
    .pipe_readable = raw_pipe_readable,
    .pipe_writable = raw_pipe_writable,
    .output_empty = raw_output_empty,
    .out_partial = raw_out_partial,
};
