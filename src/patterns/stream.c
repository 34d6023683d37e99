/* STREAM (libzmq's ZMQ_STREAM): raw tcp and ipc peers, no ZMTP (the session runs the raw
 * engine for this type, src/zmtp/raw.c). Each connection is a pipe with a routing id:
 * SINEW_CONNECT_ROUTING_ID for the next outgoing connection, else 5 bytes, a zero then a
 * 32-bit big-endian counter from a random start, as libzmq. Receiving gives [id, bytes
 * of one read], fair-queued; an empty data frame announces a connection made or lost
 * (SINEW_STREAM_NOTIFY, default 1, hides them). Sending takes [id, bytes]: an unknown id
 * fails with EHOSTUNREACH and a full pipe waits (EAGAIN), as libzmq; MORE on the data
 * frame is ignored (the next frame is an id again); an empty data frame closes that
 * connection once what was sent before went out (within SINEW_LINGER). */
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/options.h"
#include "patterns/fq.h"
#include "patterns/idmap.h"
#include "patterns/pattern.h"

#define STREAM_ID_LEN 5 /* generated ids */

typedef struct stream_pipe {
    sn_pipeset_slot fq;
    sn_idmap_slot ids; /* the connection's routing id */
} stream_pipe;

typedef struct stream {
    sn_socket *sock;
    sn_fq fq;
    sn_idmap ids;
    uint32_t next_id;

    /* Receiving: a data frame taken to learn whether there is one to give (has_in),
     * with a copy of its id (its pipe may go before the frame is received). */
    sn_msg pre;
    bool have_pre, id_given;
    uint8_t pre_id_len;
    uint8_t pre_id[SN_ROUTING_ID_MAX];

    /* Sending: the id frame went, the data frame is due, for out_pipe (NULL: its
     * connection was lost in between). */
    bool more_out;
    sn_pipe *out_pipe;

    bool notify;                 /* SINEW_STREAM_NOTIFY */
    uint8_t connect_id[SN_ROUTING_ID_MAX]; /* SINEW_CONNECT_ROUTING_ID, for the next */
    size_t connect_id_len;                 /* connect; 0 = none */
} stream;

static stream_pipe *
sp_of(sn_pipe *p)
{
    return p->pstate;
}

static int
stream_init(void *state, sn_socket *s)
{
    stream *st = state;
    st->sock = s;
    st->notify = true;
    sn_fq_init(&st->fq, offsetof(stream_pipe, fq));
    sn_idmap_init(&st->ids, offsetof(stream_pipe, ids));
    /* A random start, as libzmq: ids of a socket made after this one closed differ. */
    if (getrandom(&st->next_id, sizeof st->next_id, GRND_NONBLOCK) != sizeof st->next_id)
        st->next_id = (uint32_t) time(NULL) ^ (uint32_t) (uintptr_t) st;
    return 0;
}

static void
stream_fini(void *state)
{
    stream *st = state;
    if (st->have_pre)
        sn_msg_close(&st->pre);
    sn_fq_fini(&st->fq);
    sn_idmap_fini(&st->ids);
}

/* A connect's pipe comes before its connection, so it has no peer yet (pattern.h):
 * that is the one SINEW_CONNECT_ROUTING_ID names, as libzmq's locally initiated pipe. */
static int
stream_attach(void *state, sn_pipe *p)
{
    stream *st = state;
    uint8_t id[SN_IDMAP_ID_MAX];
    size_t len;
    if (p->peer_info == NULL && st->connect_id_len > 0) {
        len = st->connect_id_len;
        st->connect_id_len = 0; /* one connect's */
        memcpy(id, st->connect_id, len);
        if (sn_idmap_find(&st->ids, id, len) != NULL)
            return -EINVAL; /* libzmq asserts; the connect fails instead */
    } else {
        /* Skips an id a connect took already. */
        do {
            uint32_t n = st->next_id++;
            id[0] = 0;
            id[1] = (uint8_t) (n >> 24);
            id[2] = (uint8_t) (n >> 16);
            id[3] = (uint8_t) (n >> 8);
            id[4] = (uint8_t) n;
            len = STREAM_ID_LEN;
        } while (sn_idmap_find(&st->ids, id, len) != NULL);
    }
    int rc = sn_idmap_add(&st->ids, p, id, len);
    if (rc == 0)
        rc = sn_fq_attach(&st->fq, p);
    if (rc < 0)
        sn_idmap_remove(&st->ids, p);
    return rc;
}

static void
stream_detach(void *state, sn_pipe *p)
{
    stream *st = state;
    sn_idmap_remove(&st->ids, p);
    sn_fq_detach(&st->fq, p);
    if (st->out_pipe == p)
        st->out_pipe = NULL;
}

static void
stream_readable(void *state, sn_pipe *p)
{
    sn_fq_readable(&((stream *) state)->fq, p);
}

/* Takes the next data frame to give, if any: 0 or -EAGAIN. Unwanted notifications
 * (SINEW_STREAM_NOTIFY off) are skipped here, so has_in never promises one. */
static int
prefetch(stream *st)
{
    if (st->have_pre)
        return 0;
    for (;;) {
        sn_pipe *from;
        int rc = sn_fq_recv(&st->fq, &st->pre, &from);
        if (rc < 0)
            return rc;
        if (sn_msg_size(&st->pre) == 0 && !st->notify) {
            sn_msg_close(&st->pre);
            continue;
        }
        st->pre.flags = 0;
        st->pre_id_len = sp_of(from)->ids.len;
        memcpy(st->pre_id, sp_of(from)->ids.id, st->pre_id_len);
        st->have_pre = true;
        st->id_given = false;
        return 0;
    }
}

static int
stream_recv(void *state, sn_msg *m)
{
    stream *st = state;
    int rc = prefetch(st);
    if (rc < 0)
        return rc;
    if (!st->id_given) {
        rc = sn_msg_init_buffer(m, st->pre_id, st->pre_id_len);
        if (rc < 0)
            return rc;
        m->flags = SN_MSG_MORE;
        st->id_given = true;
        return 0;
    }
    *m = st->pre;
    st->have_pre = false;
    return 0;
}

static bool
stream_has_in(void *state)
{
    return prefetch(state) == 0;
}

/* As libzmq: sending is always possible in general; whether it is to a given peer is
 * known only from its id. */
static bool
stream_has_out(void *state)
{
    (void) state;
    return true;
}

static int
send_id(stream *st, sn_msg *m)
{
    if (!sn_msg_more(m)) {
        /* An id with nothing after it: nothing to send (libzmq ignores it too). */
        sn_msg_close(m);
        sn_msg_init(m);
        sn_socket_count_drop(st->sock, SN_DROP_INVALID);
        return 0;
    }
    sn_pipe *p = sn_idmap_find(&st->ids, sn_msg_data(m), sn_msg_size(m));
    if (p == NULL || p->peer_gone)
        return -EHOSTUNREACH; /* gone: its pipe is only waiting to be drained */
    if (!sn_pipe_check_write(p))
        return -EAGAIN; /* the core waits for room, as libzmq */
    st->more_out = true;
    st->out_pipe = p;
    sn_msg_close(m);
    sn_msg_init(m);
    return 0;
}

static int
stream_send(void *state, sn_msg *m)
{
    stream *st = state;
    if (!st->more_out)
        return send_id(st, m);
    sn_pipe *p = st->out_pipe;
    if (p == NULL) {
        /* The connection went between the id and the data. */
        if (sn_msg_size(m) > 0)
            sn_socket_count_drop(st->sock, SN_DROP_UNROUTABLE);
    } else if (sn_msg_size(m) == 0) {
        sn_socket_pipe_close_lingering(st->sock, p); /* detaches p at once */
    } else {
        m->flags &= (uint8_t) ~SN_MSG_MORE; /* one frame per write: MORE means nothing */
        int rc = sn_pipe_write(p, m);
        if (rc < 0)
            return rc;
        sn_pipe_flush(p);
    }
    st->more_out = false;
    st->out_pipe = NULL;
    sn_msg_close(m);
    sn_msg_init(m);
    return 0;
}

static int
stream_setopt(void *state, int option, const void *val, size_t len)
{
    stream *st = state;
    switch (option) {
    case SINEW_STREAM_NOTIFY: {
        int v;
        if (val == NULL || len != sizeof v)
            return -EINVAL;
        memcpy(&v, val, sizeof v);
        if (v != 0 && v != 1)
            return -EINVAL; /* libzmq takes 0 or 1 only */
        st->notify = v == 1;
        return 0;
    }
    case SINEW_CONNECT_ROUTING_ID:
        if (val == NULL || len == 0 || len > SN_ROUTING_ID_MAX)
            return -EINVAL;
        memcpy(st->connect_id, val, len);
        st->connect_id_len = len;
        return 0;
    default:
        return -ENOENT;
    }
}

static int
stream_getopt(void *state, int option, void *val, size_t *len)
{
    stream *st = state;
    if (option != SINEW_STREAM_NOTIFY)
        return -ENOENT;
    int v = st->notify;
    if (*len < sizeof v)
        return -EINVAL;
    memcpy(val, &v, sizeof v);
    *len = sizeof v;
    return 0;
}

const sn_pattern_ops sn_stream_ops = {
    .type = SINEW_STREAM,
    .state_size = sizeof(stream),
    .pipe_state_size = sizeof(stream_pipe),
    .init = stream_init,
    .fini = stream_fini,
    .attach = stream_attach,
    .detach = stream_detach,
    .readable = stream_readable,
    .send = stream_send,
    .recv = stream_recv,
    .has_in = stream_has_in,
    .has_out = stream_has_out,
    .setopt = stream_setopt,
    .getopt = stream_getopt,
};
