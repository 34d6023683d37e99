/* ROUTER (RFC 28): receives fair-queued, each message preceded by a frame carrying the
 * routing id of the peer it came from; sends a message to the peer whose routing id its
 * first frame names (that frame is consumed). A peer's routing id is, as in libzmq 4.3:
 * SINEW_CONNECT_ROUTING_ID for the next connect, else the Identity the peer announced,
 * else a generated one (5 bytes: 0, then a 32-bit counter, big-endian). A peer that
 * claims an id in use is refused (as libzmq, its connection stays, unheard: what it
 * sends is discarded and counted), or with SINEW_ROUTER_HANDOVER takes it over (the old
 * connection is dropped). An unroutable message, or one for a peer at its HWM, is
 * dropped and counted, or with SINEW_ROUTER_MANDATORY fails (EHOSTUNREACH, EAGAIN).
 *
 * A pipe is identified when its peer is known: a connect's pipe exists before its
 * handshake, so new pipes wait in `anon` and each call first adopts those whose peer
 * has made itself known (before any of their messages is read). */
#include <stddef.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "patterns/fq.h"
#include "patterns/idmap.h"
#include "patterns/optbool.h"
#include "patterns/probe.h"

#define GEN_ID_LEN 5

typedef struct router_pipe {
    sn_pipeset_slot fq;
    sn_pipeset_slot anon; /* not identified yet */
    sn_idmap_slot key;
    bool preset;          /* key holds the SINEW_CONNECT_ROUTING_ID it was given */
    bool refused;         /* claimed an id in use: its input is discarded */
} router_pipe;

enum router_out { OUT_IDLE, OUT_ROUTE, OUT_DROP };

typedef struct router {
    sn_fq fq;        /* identified pipes */
    sn_pipeset anon; /* attached, waiting for their peer's identity */
    sn_idmap ids;
    sn_socket *sock;
    uint32_t next_id;
    /* Receiving: the first part of a message waits in `pre` while its id frame goes
     * out; in_pipe is the pipe of the message under way. */
    sn_msg pre;
    bool prefetched, id_given, in_more;
    sn_pipe *in_pipe;
    bool doom_in;    /* in_pipe was taken over: let it go after this message */
    /* Sending. */
    enum router_out out;
    sn_pipe *out_pipe;
    /* Options. */
    bool mandatory, handover, probe;
    uint8_t cid[SN_IDMAP_ID_MAX]; /* SINEW_CONNECT_ROUTING_ID for the next connect */
    size_t cid_len;
} router;

static router_pipe *
rpipe(sn_pipe *p)
{
    return p->pstate;
}

static int
router_init(void *st, sn_socket *s)
{
    router *r = st;
    r->sock = s;
    sn_fq_init(&r->fq, offsetof(router_pipe, fq));
    sn_pipeset_init(&r->anon, offsetof(router_pipe, anon));
    sn_idmap_init(&r->ids, offsetof(router_pipe, key));
    /* A random start, as libzmq: ids from before a restart are unlikely to be reused. */
    if (getrandom(&r->next_id, sizeof r->next_id, GRND_NONBLOCK) != sizeof r->next_id)
        r->next_id = (uint32_t) time(NULL);
    return 0;
}

static void
router_fini(void *st)
{
    router *r = st;
    if (r->prefetched)
        sn_msg_close(&r->pre);
    sn_fq_fini(&r->fq);
    sn_pipeset_fini(&r->anon);
    sn_idmap_fini(&r->ids);
}

/* Discards what p holds, counting each message (reading it dry re-arms its
 * ACTIVATE_READ). */
static void
drain(router *r, sn_pipe *p, sn_drop_reason why)
{
    sn_msg m;
    while (sn_pipe_read(p, &m) == 0) {
        if (!sn_msg_more(&m))
            sn_socket_count_drop(r->sock, why);
        sn_msg_close(&m);
    }
}

/* p claimed an id in use: no route to it, and its input is discarded as it comes. */
static void
refuse(router *r, sn_pipe *p)
{
    sn_idmap_remove(&r->ids, p);
    sn_pipeset_remove(&r->anon, p);
    sn_fq_detach(&r->fq, p);
    rpipe(p)->refused = true;
    drain(r, p, SN_DROP_INVALID);
}

/* p's id was taken over: discard what it holds and have the core let go of it. */
static void
retire(router *r, sn_pipe *p)
{
    sn_idmap_remove(&r->ids, p);
    if (p == r->in_pipe) {
        r->doom_in = true; /* the application is reading its message: after that */
        return;
    }
    drain(r, p, SN_DROP_CONNECTION);
    sn_fq_detach(&r->fq, p);
    sn_socket_drop_pipe(r->sock, p);
}

static void
generate_id(router *r, uint8_t id[GEN_ID_LEN])
{
    do {
        uint32_t v = r->next_id++;
        id[0] = 0;
        id[1] = (uint8_t) (v >> 24);
        id[2] = (uint8_t) (v >> 16);
        id[3] = (uint8_t) (v >> 8);
        id[4] = (uint8_t) v;
    } while (sn_idmap_find(&r->ids, id, GEN_ID_LEN) != NULL);
}

/* Gives p its routing id if its peer is known; p must not be in the table. */
static void
identify(router *r, sn_pipe *p)
{
    router_pipe *rp = rpipe(p);
    uint8_t id[SN_IDMAP_ID_MAX];
    size_t len;
    if (rp->preset) {
        len = rp->key.len;
        memcpy(id, rp->key.id, len);
    } else {
        if (p->peer_info == NULL)
            sn_pipe_take_peer(p); /* its PEER_INFO may still be on its way */
        if (p->peer_info == NULL) {
            /* Not yet. Its first message comes after its identity: ask to be told of it
             * (ACTIVATE_READ wakes a waiting receive and sets SINEW_READY_FD). */
            sn_pipe_check_read(p);
            return;
        }
        len = p->peer_info->rid_len;
        if (len > 0)
            memcpy(id, p->peer_info->rid, len);
    }
    if (len == 0) {
        generate_id(r, id);
        len = GEN_ID_LEN;
    }
    sn_pipe *old = sn_idmap_find(&r->ids, id, len);
    if (old != NULL) {
        if (!r->handover) {
            refuse(r, p);
            return;
        }
        retire(r, old);
    }
    if (sn_idmap_add(&r->ids, p, id, len) < 0 ||
        (!sn_pipeset_contains(&r->fq.set, p) && sn_fq_attach(&r->fq, p) < 0)) {
        refuse(r, p); /* out of memory: cannot route to it */
        return;
    }
    sn_pipeset_remove(&r->anon, p);
}

/* Identifies the waiting pipes whose peer is known by now. */
static void
adopt(router *r)
{
    for (size_t i = r->anon.n; i-- > 0;)
        if (i < r->anon.n)
            identify(r, r->anon.pipes[i]);
}

static int
router_attach(void *st, sn_pipe *p)
{
    router *r = st;
    router_pipe *rp = rpipe(p);
    int rc = sn_pipeset_add(&r->anon, p, false);
    if (rc < 0)
        return rc;
    if (r->cid_len > 0 && sn_socket_pipe_outgoing(r->sock, p)) {
        rp->preset = true;
        rp->key.len = (uint8_t) r->cid_len;
        memcpy(rp->key.id, r->cid, r->cid_len);
        r->cid_len = 0; /* for one connect only */
    }
    if (r->probe)
        sn_probe_send(p);
    return 0;
}

static void
router_detach(void *st, sn_pipe *p)
{
    router *r = st;
    sn_idmap_remove(&r->ids, p);
    sn_pipeset_remove(&r->anon, p);
    sn_fq_detach(&r->fq, p);
    if (r->in_pipe == p) {
        /* Gone mid-message (a disconnect). Parts still queued count as the link goes;
         * a held last part counts here. */
        if (r->prefetched) {
            if (!sn_msg_more(&r->pre))
                sn_socket_count_drop(r->sock, SN_DROP_CONNECTION);
            sn_msg_close(&r->pre);
            r->prefetched = false;
        }
        r->in_pipe = NULL;
        r->in_more = r->doom_in = false;
    }
    if (r->out_pipe == p) {
        /* The rest of the message has nowhere to go: counted here, once (the core
         * only rolls back the parts written already). */
        sn_socket_count_drop(r->sock, SN_DROP_CONNECTION);
        r->out_pipe = NULL;
        r->out = OUT_DROP;
    }
}

static void
router_readable(void *st, sn_pipe *p)
{
    router *r = st;
    if (rpipe(p)->refused)
        drain(r, p, SN_DROP_INVALID);
    else
        sn_fq_readable(&r->fq, p);
}

/* The peer behind p connected again, maybe with another identity: renew the route. */
static void
router_hiccup(void *st, sn_pipe *p)
{
    router *r = st;
    router_pipe *rp = rpipe(p);
    if (r->probe)
        sn_probe_send(p);
    if (rp->refused) {
        /* Maybe under another identity now: try again. */
        if (sn_pipeset_add(&r->anon, p, false) == 0)
            rp->refused = false;
        return;
    }
    if (!rp->key.in || rp->preset)
        return; /* waiting in anon, refused, or named by us: nothing to renew */
    const sn_peer *peer = p->peer_info;
    size_t len = peer != NULL ? peer->rid_len : 0;
    if (len > 0 ? len == rp->key.len && memcmp(peer->rid, rp->key.id, len) == 0
                : rp->key.id[0] == 0)
        return; /* the same id, or a generated one for a peer that still has none */
    if (r->in_pipe == p)
        return; /* mid-message: keep the id it was announced with */
    sn_idmap_remove(&r->ids, p);
    identify(r, p);
}

/* Ends a received part: the message is over when it has no MORE. */
static void
received(router *r, const sn_msg *m)
{
    r->in_more = sn_msg_more(m);
    if (r->in_more)
        return;
    sn_pipe *p = r->in_pipe;
    r->in_pipe = NULL;
    if (r->doom_in) {
        r->doom_in = false;
        retire(r, p);
    }
}

static int
router_recv(void *st, sn_msg *m)
{
    router *r = st;
    adopt(r);
    if (!r->prefetched && !r->in_more) {
        int rc = sn_fq_recv(&r->fq, &r->pre, &r->in_pipe);
        if (rc < 0)
            return rc;
        r->prefetched = true;
        r->id_given = false;
    }
    if (r->prefetched && !r->id_given) {
        sn_idmap_slot *k = &rpipe(r->in_pipe)->key;
        int rc = sn_msg_init_buffer(m, k->id, k->len);
        if (rc < 0)
            return rc; /* the message stays prefetched */
        m->flags |= SN_MSG_MORE;
        r->id_given = true;
        return 0;
    }
    if (r->prefetched) {
        *m = r->pre;
        r->prefetched = false;
    } else {
        int rc = sn_fq_recv(&r->fq, m, NULL);
        if (rc < 0)
            return rc;
    }
    received(r, m);
    return 0;
}

static void
discard(sn_msg *m)
{
    sn_msg_close(m);
    sn_msg_init(m);
}

/* The first frame: pick the peer. */
static int
route(router *r, sn_msg *m)
{
    sn_pipe *p = sn_idmap_find(&r->ids, sn_msg_data(m), sn_msg_size(m));
    if (!sn_msg_more(m)) {
        /* A routing id with no message after it: nothing to deliver. */
        sn_socket_count_drop(r->sock, SN_DROP_INVALID);
    } else if (p == NULL || p->peer_gone) {
        if (r->mandatory)
            return -EHOSTUNREACH;
        sn_socket_count_drop(r->sock, SN_DROP_UNROUTABLE);
        r->out = OUT_DROP;
    } else if (!sn_pipe_check_write(p)) {
        if (r->mandatory)
            return -EAGAIN; /* a blocking send waits for room */
        sn_socket_count_drop(r->sock, SN_DROP_HWM);
        r->out = OUT_DROP;
    } else {
        r->out = OUT_ROUTE;
        r->out_pipe = p;
    }
    discard(m);
    return 0;
}

static int
router_send(void *st, sn_msg *m)
{
    router *r = st;
    adopt(r);
    bool more = sn_msg_more(m);
    switch (r->out) {
    case OUT_IDLE:
        return route(r, m);
    case OUT_ROUTE: {
        /* Later parts skip the HWM check: a started message always completes. */
        int rc = sn_pipe_write(r->out_pipe, m);
        if (rc < 0)
            return rc;
        if (!more) {
            sn_pipe_flush(r->out_pipe);
            r->out_pipe = NULL;
            r->out = OUT_IDLE;
        }
        return 0;
    }
    case OUT_DROP:
        discard(m); /* counted when the message was refused */
        if (!more)
            r->out = OUT_IDLE;
        return 0;
    }
    return -EINVAL;
}

static bool
router_has_in(void *st)
{
    router *r = st;
    adopt(r);
    return r->prefetched || r->in_more || sn_fq_has_in(&r->fq);
}

/* Always, as libzmq: where a message goes is known only from its first frame. With
 * ROUTER_MANDATORY, when some peer has room. */
static bool
router_has_out(void *st)
{
    router *r = st;
    if (!r->mandatory || r->out != OUT_IDLE)
        return true;
    adopt(r);
    for (size_t i = 0; i < r->fq.set.n; i++)
        if (sn_pipe_check_write(r->fq.set.pipes[i]))
            return true;
    return false;
}

static int
router_setopt(void *st, int option, const void *val, size_t len)
{
    router *r = st;
    switch (option) {
    case SINEW_ROUTER_MANDATORY:
        return sn_opt_bool(val, len, &r->mandatory);
    case SINEW_ROUTER_HANDOVER:
        return sn_opt_bool(val, len, &r->handover);
    case SINEW_PROBE_ROUTER:
        return sn_opt_bool(val, len, &r->probe);
    case SINEW_CONNECT_ROUTING_ID:
        if (val == NULL || len == 0 || len > SN_IDMAP_ID_MAX)
            return -EINVAL;
        memcpy(r->cid, val, len);
        r->cid_len = len;
        return 0;
    default:
        return -ENOENT;
    }
}

const sn_pattern_ops sn_router_ops = {
    .type = SINEW_ROUTER,
    .state_size = sizeof(router),
    .pipe_state_size = sizeof(router_pipe),
    .init = router_init,
    .fini = router_fini,
    .attach = router_attach,
    .detach = router_detach,
    .readable = router_readable,
    .hiccup = router_hiccup,
    .send = router_send,
    .recv = router_recv,
    .has_in = router_has_in,
    .has_out = router_has_out,
    .setopt = router_setopt,
};
