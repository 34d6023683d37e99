/* Sessions: the I/O-thread owner of one network pipe end and of the engine of its
 * current connection (see net.h). A connecting session keeps its pipe across reconnects
 * (its connecter, connecter.c, makes the connections); an accepted session lives as
 * long as its connection. Either one lingers after its socket let go, flushing the pipe
 * until the linger deadline. Reactor thread only, except sn_session_connect (socket's
 * thread), sn_session_stop (any thread) and the pipe notifications (session_post). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/monitor.h"
#include "core/net.h"
#include "core/session.h"
#include "core/socket.h"
#include "io/reactor.h"
#include "zmtp/engine.h"
#include "zmtp/raw.h"

#define LINGER_POLL_MS 5

static void session_check_done(sn_session *ss);
static const sn_engine_class *engine_class(const sn_session *ss);

void
sn_net_config_init(sn_net_config *c, const sn_options *o)
{
    memset(c, 0, sizeof *c);
    c->type = o->type;
    c->sndhwm = (uint64_t) o->sndhwm;
    c->rcvhwm = (uint64_t) o->rcvhwm;
    c->immediate = o->immediate != 0;
    c->conflate_out = sn_options_conflates(o, true);
    c->conflate_in = sn_options_conflates(o, false);
    memcpy(c->routing_id, o->routing_id, o->routing_id_len);
    c->routing_id_len = o->routing_id_len;
    c->maxmsgsize = o->maxmsgsize;
    c->handshake_ivl = o->handshake_ivl;
    c->heartbeat_ivl = o->heartbeat_ivl;
    c->heartbeat_ttl = o->heartbeat_ttl;
    c->heartbeat_timeout = o->heartbeat_timeout;
    c->reconnect_ivl = o->reconnect_ivl;
    c->reconnect_ivl_max = o->reconnect_ivl_max;
    c->backlog = o->backlog;
    c->linger = o->linger;
    sn_tcp_opts_default(&c->tcp);
    c->tcp.ipv6 = o->ipv6 != 0;
    c->tcp.sndbuf = o->sndbuf;
    c->tcp.rcvbuf = o->rcvbuf;
    c->tcp.backlog = o->backlog;
    c->tcp.keepalive = o->tcp_keepalive;
    c->tcp.keepalive_cnt = o->tcp_keepalive_cnt;
    c->tcp.keepalive_idle = o->tcp_keepalive_idle;
    c->tcp.keepalive_intvl = o->tcp_keepalive_intvl;
    c->sec = o->sec;
}

/* ---- pipe notifications, posted from other threads ------------------------------- */

#define CMD_BIT(c) (1u << (c))

/* Runs what was posted to p since the task was queued: reads and writes before the
 * peer's departure. Holds the link reference the first poster took. */
static void
session_task_run(void *arg)
{
    sn_pipe *p = arg;
    unsigned cmds = atomic_exchange(&p->io_pending, 0);
    if (!atomic_load(&p->released)) {
        sn_session *ss = p->owner;
        if ((cmds & CMD_BIT(SN_CMD_ACTIVATE_READ)) && ss->engine != NULL)
            engine_class(ss)->pipe_readable(ss->engine);
        if ((cmds & CMD_BIT(SN_CMD_ACTIVATE_WRITE)) && ss->engine != NULL)
            engine_class(ss)->pipe_writable(ss->engine);
        if (cmds & CMD_BIT(SN_CMD_PEER_TERM)) {
            /* The socket let go: flush what it left us until its linger deadline. */
            sn_link *l = p->link;
            p->peer_gone = true;
            p->drop_deadline = atomic_load(&l->linger_deadline[p->peer - l->ends]);
            ss->stopping = true;
            if (ss->engine != NULL)
                engine_class(ss)->pipe_readable(ss->engine);
            session_check_done(ss);
        }
    }
    sn_link_unref(p->link);
}

/* The reactor went away with the task queued (the context is ending). */
static void
session_task_drop(void *arg)
{
    sn_link_unref(((sn_pipe *) arg)->link);
}

/* Sends that come after a quiet spell this long per message sent since the last one
 * (the sending thread is slower than this) are written by the sending thread itself
 * (see pipe.h, direct output); closer ones are left to the I/O thread, which batches
 * them into fewer, larger writes. */
#define DIRECT_GAP_NS 20000u

/* Runs fn on l's engine on this application thread, if it is registered there and
 * nobody else holds it just now (see pipe.h, direct I/O). */
static bool
try_engine(sn_link *l, bool (*fn)(sn_engine *))
{
    if (pthread_mutex_trylock(&l->direct.lock) != 0)
        return false;
    bool done = l->direct.engine != NULL && fn(l->direct.engine);
    pthread_mutex_unlock(&l->direct.lock);
    return done;
}

static bool
try_direct(sn_pipe *p)
{
    sn_link *l = p->link;
    uint64_t now = sn_clock_ns();
    uint64_t last = atomic_exchange_explicit(&l->direct.last_ns, now, memory_order_relaxed);
    /* Messages sent since the last notification (p->in is the sender's queue, and this
     * runs on the sending thread): a stream notifies rarely but sends many. */
    uint64_t sent = p->in->wmsgs - l->direct.last_msgs;
    l->direct.last_msgs = p->in->wmsgs;
    return now - last >= DIRECT_GAP_NS * (sent > 0 ? sent : 1) &&
           try_engine(l, sn_engine_direct_write);
}

int
sn_session_input_borrow(sn_link *l, void (*wake)(void *), void *arg, uint64_t *token)
{
    pthread_mutex_lock(&l->direct.lock);
    sn_engine *e = l->direct.engine;
    int fd = e != NULL ? sn_engine_input_borrow(e, wake, arg, token) : -ENOENT;
    pthread_mutex_unlock(&l->direct.lock);
    return fd;
}

bool
sn_session_input_return(sn_link *l, uint64_t token, bool readable, bool may_keep)
{
    pthread_mutex_lock(&l->direct.lock);
    bool kept = l->direct.engine != NULL &&
                sn_engine_input_return(l->direct.engine, token, readable, may_keep);
    pthread_mutex_unlock(&l->direct.lock);
    return kept;
}

static bool
session_post(void *owner, sn_pipe *p, int cmd)
{
    (void) owner; /* may be gone already: only owner_aux (the reactor) is safe here */
    if (cmd == SN_CMD_ACTIVATE_READ && try_direct(p))
        return false; /* written already: nothing for the I/O thread (drops our ref) */
    /* The reading thread made room in a pipe whose engine stopped reading: it decodes
     * on itself (sn_engine_input_resume), saving the I/O thread's wake-up. */
    if (cmd == SN_CMD_ACTIVATE_WRITE && try_engine(p->link, sn_engine_input_resume))
        return false;
    /* Without allocating: a bit per command, and the pipe's own task posted by whoever
     * set the first bit. A later command rides on the task already queued. */
    if (atomic_fetch_or(&p->io_pending, CMD_BIT(cmd)) != 0)
        return false;
    return sn_reactor_post_task(p->owner_aux, &p->io_task) == 0;
}

static void
session_drained(void *owner, sn_pipe *p)
{
    (void) owner;
    (void) p; /* the linger check notices a dry pipe by itself */
}

static const sn_pipe_owner_ops session_pipe_ops = {
    .post = session_post,
    .drained = session_drained,
};

/* Sessions always let go with no deadline: what the peer sent us is already in the
 * socket's queue and stays readable (the linger deadline is for a writer's own data). */
static void
take_pipe_end(sn_session *ss, sn_pipe *p)
{
    p->owner_aux = ss->r;
    p->io_task = (sn_task){.fn = session_task_run, .drop = session_task_drop, .arg = p};
    sn_pipe_set_owner(p, ss, &session_pipe_ops);
    sn_pipe_set_stats(p, ss->stats);
    ss->pipe = p;
}

static void
release_pipe(sn_session *ss)
{
    if (ss->pipe != NULL) {
        sn_pipe_release(ss->pipe, UINT64_MAX);
        ss->pipe = NULL;
    }
}

/* ---- lifecycle ------------------------------------------------------------------- */

static void
engine_free_task(void *arg)
{
    sn_engine_free(arg);
}

static const sn_engine_class zmtp_engine_class = {
    .create = sn_engine_new,
    .free = engine_free_task,
    .orphan = sn_engine_orphan,
    .pipe_readable = sn_engine_pipe_readable,
    .pipe_writable = sn_engine_pipe_writable,
    .output_empty = sn_engine_output_empty,
    .out_partial = sn_engine_out_partial,
};

/* STREAM sockets talk raw bytes; every other type ZMTP. (Only a ZMTP engine registers
 * for direct I/O, so the direct paths above never meet a raw one.) */
static const sn_engine_class *
engine_class(const sn_session *ss)
{
    return ss->cfg.type == SINEW_STREAM ? &sn_raw_engine_class : &zmtp_engine_class;
}

static void
drop_engine(sn_session *ss)
{
    if (ss->engine != NULL) {
        /* Deferred: we may be inside one of the engine's own callbacks. */
        sn_engine *e = ss->engine;
        ss->engine = NULL;
        engine_class(ss)->orphan(e);
        if (sn_reactor_post(ss->r, engine_class(ss)->free, e) < 0)
            engine_class(ss)->free(e);
    }
}

static void
session_free(sn_session *ss)
{
    drop_engine(ss);
    if (ss->conn != NULL) {
        sn_connecter_fini(ss->conn);
        free(ss->conn);
    }
    if (ss->linger_timer)
        sn_reactor_timer_cancel(ss->r, ss->linger_timer);
    release_pipe(ss);
    if (ss->parent != NULL)
        sn_listener_forget(ss->parent, ss);
    sn_monitor_unref(ss->mon);
    sn_stats_unref(ss->stats);
    sn_zmtp_security_wipe(&ss->cfg.sec);
    sn_ctx *ctx = ss->ctx;
    free(ss);
    sn_ctx_net_done(ctx);
}

static void
linger_cb(void *arg)
{
    sn_session *ss = arg;
    ss->linger_timer = 0;
    session_check_done(ss);
}

/* A stopping session ends once its pipe is flushed to the peer or the linger deadline
 * passed; until then a connecting session keeps (re)connecting, as libzmq does, so
 * messages sent just before close still leave. A connecting session also waits for its
 * socket's stop, since the socket holds a pointer to it until then. */
static void
session_check_done(sn_session *ss)
{
    if (!ss->stopping)
        return;
    /* Flushed: nothing queued in the pipe and nothing the engine took still unsent. */
    bool flushed = ss->pipe == NULL;
    if (!flushed) {
        /* The pipe's reading side may be in an application thread's hands (direct
         * output): look at it under the same lock. */
        pthread_mutex_lock(&ss->pipe->link->direct.lock);
        flushed = !sn_pipe_check_read(ss->pipe);
        pthread_mutex_unlock(&ss->pipe->link->direct.lock);
        flushed = flushed &&
                  (ss->engine == NULL || engine_class(ss)->output_empty(ss->engine));
    }
    bool expired = ss->pipe != NULL && ss->pipe->peer_gone &&
                   ss->pipe->drop_deadline != UINT64_MAX &&
                   sn_clock_ms() >= ss->pipe->drop_deadline;
    if (!flushed && !expired) {
        if (ss->linger_timer == 0)
            ss->linger_timer = sn_reactor_timer_add(ss->r, LINGER_POLL_MS, linger_cb, ss);
        return;
    }
    if (ss->parent == NULL && !ss->stop_requested) {
        /* Connecter whose socket dropped the pipe: idle until the socket stops us. */
        drop_engine(ss);
        release_pipe(ss);
        return;
    }
    session_free(ss);
}

/* ---- engine callbacks ------------------------------------------------------------ */

/* What sinew_msg_gets finds on this connection's messages, first match winning as in
 * libzmq: Peer-Address, then ZAP's User-Id and metadata, then the peer's properties. */
static sn_msg_props *
connection_props(sn_engine *e, const sn_zmtp_handshake_result *res)
{
    const uint8_t *lists[2] = {res->zap_metadata, res->peer_metadata};
    size_t lens[2] = {res->zap_metadata_len, res->peer_metadata_len};
    size_t n = 1;
    for (int l = 0; l < 2; l++) {
        sn_zmtp_metadata_iter it;
        sn_zmtp_property p;
        int err;
        sn_zmtp_metadata_iter_init(&it, lists[l], lens[l]);
        while (sn_zmtp_metadata_next(&it, &p, &err) > 0)
            n++;
    }
    sn_msg_prop *props = calloc(n, sizeof *props);
    if (props == NULL)
        return NULL;
    const char *addr = sn_engine_peer_address(e);
    props[0] = (sn_msg_prop){"Peer-Address", 12, (const uint8_t *) addr, strlen(addr)};
    size_t i = 1;
    for (int l = 0; l < 2; l++) {
        sn_zmtp_metadata_iter it;
        sn_zmtp_property p;
        int err;
        sn_zmtp_metadata_iter_init(&it, lists[l], lens[l]);
        while (i < n && sn_zmtp_metadata_next(&it, &p, &err) > 0)
            props[i++] = (sn_msg_prop){p.name, p.name_len, p.value, p.value_len};
    }
    sn_msg_props *mp = sn_msg_props_new(props, i);
    free(props);
    return mp;
}

static sn_pipe *
engine_ready(void *owner, sn_engine *e, const sn_zmtp_handshake_result *res)
{
    /* The handshake already refused incompatible socket types. */
    sn_session *ss = owner;
    if (engine_class(ss) == &zmtp_engine_class) { /* raw connections have no handshake */
        sn_msg_props *props = connection_props(e, res);
        if (props == NULL)
            return NULL;
        sn_engine_set_props(e, props);
        sn_monitor_emit(ss->mon, SINEW_EVENT_HANDSHAKE_SUCCEEDED, 0, ss->addr);
    }
    if (ss->conn != NULL)
        sn_connecter_reset_backoff(ss->conn);
    sn_peer *peer = sn_peer_new(res->peer_socket_type, res->peer_routing_id,
                                res->peer_routing_id_len, res->peer_metadata,
                                res->peer_metadata_len);
    if (peer == NULL)
        return NULL;
    bool again = ss->connected_before;
    ss->connected_before = true;
    if (ss->pipe != NULL) {
        /* The pipe outlives connections: the socket learns who answered, and whether
         * this is a reconnect (its pattern then renews per-peer state). */
        sn_pipe_update_peer(ss->pipe, peer, again);
        sn_peer_unref(peer);
        return ss->pipe;
    }
    sn_link *l;
    if (ss->stopping || sn_link_new(&l, ss->cfg.sndhwm, ss->cfg.rcvhwm) < 0) {
        sn_peer_unref(peer);
        return NULL;
    }
    sn_link_conflate(l, ss->cfg.conflate_out, ss->cfg.conflate_in); /* end 0: socket's */
    sn_pipe_set_peer(&l->ends[0], peer);
    sn_peer_unref(peer);
    take_pipe_end(ss, &l->ends[1]);
    if (!sn_socket_offer_pipe(ss->sock, ss->sock_gen, &l->ends[0], ss->endpoint)) {
        sn_pipe_release(&l->ends[0], 0);
        release_pipe(ss);
        return NULL;
    }
    return ss->pipe;
}

/* The connection ended with a message cut in the middle: multipart messages stay whole
 * across reconnects. What the peer sent of an unfinished message is discarded (never
 * published), and so is the rest of one we were sending (its first parts are gone with
 * the connection). bad_frame: the connection was dropped for a frame the peer sent
 * (unallocatable, oversized, malformed), whose message is lost too. Each lost message
 * counts once. */
static void
cut_partial_messages(sn_session *ss, sn_engine *e, bool bad_frame)
{
    uint64_t cut = 0;
    if (ss->pipe != NULL) {
        if (sn_pipe_rollback(ss->pipe) > 0 && !bad_frame)
            cut = 1; /* an unfinished message (with a bad frame: the bad frame's own) */
        sn_pipe_flush(ss->pipe); /* the complete messages before it are delivered */
        if (engine_class(ss)->out_partial(e)) {
            sn_pipe_skip_rest(ss->pipe);
            cut++;
        }
    }
    if (bad_frame)
        sn_stats_drop(ss->stats, SN_DROP_INVALID, 1);
    if (cut > 0)
        sn_stats_drop(ss->stats, SN_DROP_CONNECTION, cut);
}

static void
engine_closed(void *owner, sn_engine *e, int event, uint32_t value, int fd)
{
    sn_session *ss = owner;
    /* A connection dropped for what the peer sent says why (see engine.h); one that
     * simply ended reports the descriptor it had, as libzmq. */
    bool bad_frame = event == SINEW_EVENT_DISCONNECTED && value != 0;
    cut_partial_messages(ss, e, bad_frame);
    drop_engine(ss);
    /* Messages queued toward a peer that connected to us go with it (libzmq), and so
     * does the pipe of a connect that will not be made again: the socket sees the pipe
     * end before the monitor reports why. */
    if (ss->parent != NULL || ss->cfg.immediate || !sn_connecter_retries(ss->conn))
        release_pipe(ss);
    if (event == SINEW_EVENT_DISCONNECTED && !bad_frame)
        value = (uint32_t) fd;
    sn_monitor_emit(ss->mon, event, value, ss->addr);
    if (event != SINEW_EVENT_DISCONNECTED) /* every connection's end, as libzmq */
        sn_monitor_emit(ss->mon, SINEW_EVENT_DISCONNECTED, (uint32_t) fd, ss->addr);
    if (ss->parent != NULL) {
        session_free(ss);
        return;
    }
    /* Reconnect after any failure, handshake failures included, as libzmq does: the
     * peer may be restarted with the right configuration; backoff keeps it cheap. */
    sn_connecter_retry(ss->conn);
    session_check_done(ss);
}

static const sn_engine_owner_ops engine_ops = {
    .ready = engine_ready,
    .closed = engine_closed,
};

static void
start_engine(sn_session *ss, int fd)
{
    int rc = engine_class(ss)->create(&ss->engine, ss->r, fd, &ss->cfg, ss->addr, &engine_ops,
                                      ss);
    if (rc < 0) {
        close(fd);
        ss->engine = NULL;
        if (ss->parent != NULL)
            session_free(ss);
        else
            sn_connecter_retry(ss->conn);
    }
}

/* ---- connecting ------------------------------------------------------------------ */

static void
session_connected(void *owner, int fd)
{
    start_engine(owner, fd);
}

/* SINEW_RECONNECT_IVL <= 0 and the connection is lost or cannot be made: the peer will
 * not come back through this connect, so the socket gets its pipe's end (a PAIR may
 * connect elsewhere, a PUSH stops routing to it). Idle until the socket stops us. */
static void
session_gave_up(void *owner)
{
    sn_session *ss = owner;
    release_pipe(ss);
    session_check_done(ss);
}

static void
start_task(void *arg)
{
    sn_session *ss = arg;
    sn_connecter_start(ss->conn);
}

static sn_session *
session_alloc(sn_ctx *ctx, sn_socket *s, uint64_t gen, sn_reactor *r,
              const sn_net_config *cfg, sn_monitor *mon, sn_stats *stats, int endpoint,
              const char *addr)
{
    sn_session *ss = calloc(1, sizeof *ss);
    if (ss == NULL)
        return NULL;
    ss->r = r;
    ss->ctx = ctx;
    ss->mon = sn_monitor_ref(mon);
    ss->stats = sn_stats_ref(stats);
    ss->sock = s;
    ss->sock_gen = gen;
    ss->endpoint = endpoint;
    ss->cfg = *cfg;
    ss->cfg.ctx = ctx;
    snprintf(ss->addr, sizeof ss->addr, "%s", addr);
    sn_ctx_net_add(ctx);
    return ss;
}

int
sn_session_connect(sn_socket *s, const sn_endpoint *ep, const char *uri, int endpoint,
                   sn_session **out)
{
    sn_reactor *r = sn_ctx_io_thread(s->ctx);
    if (r == NULL)
        return -EMTHREAD;
    sn_net_config cfg;
    sn_net_config_init(&cfg, &s->opt);
    sn_session *ss =
        session_alloc(s->ctx, s, s->gen, r, &cfg, s->monitor, s->stats, endpoint, uri);
    sn_zmtp_security_wipe(&cfg.sec);
    if (ss == NULL)
        return -ENOMEM;
    ss->stopping = ss->stop_requested = true; /* session_free on failure below */
    int rc = -ENOMEM;
    ss->conn = calloc(1, sizeof *ss->conn);
    if (ss->conn == NULL)
        goto fail;
    sn_connecter_init(ss->conn, r, ep, &ss->cfg, ss->mon, ss->addr);
    ss->conn->connected = session_connected;
    ss->conn->gave_up = session_gave_up;
    ss->conn->owner = ss;
    if (!ss->cfg.immediate) {
        /* The pipe exists from now on: messages queue before the connection is up. */
        sn_link *l;
        rc = sn_link_new(&l, ss->cfg.sndhwm, ss->cfg.rcvhwm);
        if (rc < 0)
            goto fail;
        sn_link_conflate(l, ss->cfg.conflate_out, ss->cfg.conflate_in);
        /* The socket's end first: a refusal (a PAIR that has its peer, a STREAM id in
         * use) releases it while ours has no owner yet, so no PEER_TERM reaches the
         * reactor for a session freed right here (it freed it a second time). */
        rc = sn_socket_attach(s, &l->ends[0], endpoint);
        if (rc < 0) {
            sn_pipe_release(&l->ends[1], 0);
            goto fail;
        }
        take_pipe_end(ss, &l->ends[1]);
    }
    ss->stopping = ss->stop_requested = false;
    if (sn_reactor_post(r, start_task, ss) < 0) {
        ss->stopping = ss->stop_requested = true;
        session_free(ss); /* reactor gone: only possible while the context ends */
        return -ETERM;
    }
    *out = ss;
    return 0;
fail:
    session_free(ss);
    return rc;
}

static void
stop_task(void *arg)
{
    sn_session *ss = arg;
    ss->stopping = true;
    ss->stop_requested = true;
    session_check_done(ss);
}

void
sn_session_stop(sn_session *ss)
{
    sn_reactor_post(ss->r, stop_task, ss);
}

/* ---- accepted connections (called by the listener, reactor thread) --------------- */

void
sn_session_accepted(sn_listener *parent, sn_ctx *ctx, sn_socket *s, uint64_t gen,
                    sn_reactor *r, const sn_net_config *cfg, sn_monitor *mon,
                    sn_stats *stats, int endpoint, int fd, const char *addr)
{
    /* ctx is the listener's, not s->ctx: s may be closed and finalized already. */
    sn_session *ss = session_alloc(ctx, s, gen, r, cfg, mon, stats, endpoint, addr);
    if (ss == NULL) {
        close(fd);
        return;
    }
    ss->parent = parent;
    sn_listener_adopt(parent, ss);
    start_engine(ss, fd);
}

void
sn_session_stop_local(sn_session *ss)
{
    ss->parent = NULL;
    stop_task(ss);
}
