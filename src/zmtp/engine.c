/* ZMTP connection engine (see engine.h): lifecycle, the epoll mask, the handshake and
 * its deadline, heartbeats (RFC 37 PING/PONG). Frames are made and taken apart in
 * wire.c; application threads doing the I/O follow direct.c. Peer input never
 * asserts: any malformed byte ends this one connection, reported to the session. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>

#include "sinew.h"
#include "zmtp/engine_impl.h"

/* ---- the epoll mask ----------------------------------------------------------------- */

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

void
sn_engine_want_out(sn_engine *e, bool on)
{
    set_watch(e, &e->out_wanted, on);
}

void
sn_engine_want_in(sn_engine *e, bool on)
{
    set_watch(e, &e->in_wanted, on);
}

void
sn_engine_set_borrowed(sn_engine *e, bool on)
{
    set_watch(e, &e->in_borrowed, on);
}

/* Registration changes on the reactor thread (the mask follows e->h under the lock). */
void
sn_engine_unwatch(sn_engine *e)
{
    pthread_mutex_lock(&e->mask_lock);
    if (e->h != NULL)
        sn_reactor_del(e->r, e->h);
    e->h = NULL;
    pthread_mutex_unlock(&e->mask_lock);
}

/* The peer is dead when it has said nothing for `timeout`: counted, when we send PINGs,
 * from the first PING it left unanswered (as libzmq does), so that a stall of this
 * process alone does not end a live connection. Bytes waiting unread (our pipe is full,
 * or an application thread holds the input) also count as the peer speaking. */
/* ---- heartbeats and deadlines ------------------------------------------------------- */

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

void
sn_engine_hb_timer(void *arg)
{
    sn_engine *e = arg;
    e->hb_timer = 0;
    uint64_t now = sn_clock_ms();
    uint64_t timeout = e->cfg.heartbeat_timeout >= 0 ? (uint64_t) e->cfg.heartbeat_timeout
                                                     : (uint64_t) e->cfg.heartbeat_ivl;
    if (e->peer_ttl_ms > 0 && (timeout == 0 || e->peer_ttl_ms < timeout))
        timeout = e->peer_ttl_ms;
    if (timeout > 0 && peer_silent(e, now, timeout)) {
        sn_engine_fail(e, SINEW_EVENT_DISCONNECTED, 0);
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
            sn_engine_queue_command(e, cmd, (size_t) n);
            sn_engine_write(e);
        }
    }
    uint64_t next = e->cfg.heartbeat_ivl > 0 ? (uint64_t) e->cfg.heartbeat_ivl : timeout;
    e->hb_timer = sn_reactor_timer_add(e->r, next, sn_engine_hb_timer, e);
}

static void
hs_timer_cb(void *arg)
{
    sn_engine *e = arg;
    e->hs_timer = 0;
    if (e->handshaking)
        sn_engine_fail(e, SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL, ETIMEDOUT);
}

/* ---- ZAP (RFC 27) ------------------------------------------------------------------- */

static void
zap_done(void *arg, const sn_zap_reply *reply)
{
    sn_engine *e = arg;
    e->zap = NULL; /* the client frees itself after this */
    sn_engine_handshake_resume(e, reply);
}

/* As libzmq: the address is the peer's, the identity our own routing id. */
static int
zap_start(void *arg, sn_zap_request *req)
{
    sn_engine *e = arg;
    if (e->cfg.ctx == NULL)
        return -ECONNREFUSED;
    req->address = e->peer_address;
    req->identity = e->cfg.routing_id;
    req->identity_len = e->cfg.routing_id_len;
    return sn_zap_client_start(&e->zap, e->cfg.ctx, e->r, req, zap_done, e);
}

static void
zap_cancel(sn_engine *e)
{
    sn_zap_client_cancel(e->zap);
    e->zap = NULL;
}

/* libzmq's form: the IP without port for tcp; for ipc "localhost" (what getnameinfo
 * names a unix socket) then ":uid:gid:pid" of the peer. */
static void
peer_address_of(int fd, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    out[0] = '\0';
    if (getpeername(fd, (struct sockaddr *) &ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *) &ss)->sin_addr, out, (socklen_t) cap);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &ss)->sin6_addr, out, (socklen_t) cap);
    else if (ss.ss_family == AF_UNIX) {
        struct ucred cred;
        socklen_t cl = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
            snprintf(out, cap, "localhost:%u:%u:%d", (unsigned) cred.uid, (unsigned) cred.gid,
                     (int) cred.pid);
    }
}

const char *
sn_engine_peer_address(const sn_engine *e)
{
    return e->peer_address;
}

void
sn_engine_set_props(sn_engine *e, sn_msg_props *props)
{
    if (e->props != NULL)
        sn_msg_props_retire(e->props, e->props_issued);
    e->props = props;
    e->props_issued = 0;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void
io_cb(void *arg, uint32_t ev)
{
    sn_engine *e = arg;
    if ((ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) && sn_engine_input_begin(e)) {
        if (e->in_blocked && (ev & (EPOLLERR | EPOLLHUP))) {
            /* The peer hung up while our pipe is full. What it sent is still in the
             * kernel buffer: stop watching (a hang-up is reported without end) and read
             * the rest once the pipe has room. Dropping it here is how libzmq loses ipc
             * messages. */
            sn_engine_unwatch(e);
            sn_engine_input_end(e);
            return;
        }
        if (e->fail_event != 0)
            sn_engine_fail(e, e->fail_event, e->fail_value); /* found by a borrowing thread */
        else
            sn_engine_read(e);
        sn_engine_input_end(e);
    }
    if (e->fd >= 0 && (ev & EPOLLOUT))
        sn_engine_write(e);
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
    peer_address_of(fd, e->peer_address, sizeof e->peer_address);
    e->zap_port = (sn_zmtp_zap_port){.start = zap_start, .arg = e};
    sn_zmtp_handshake_config hc = {
        .zap = &e->zap_port,
        .socket_type = cfg->type,
        .routing_id = cfg->routing_id,
        .routing_id_len = cfg->routing_id_len,
        .maxmsgsize = cfg->maxmsgsize,
        .mechanism = cfg->sec.mechanism,
        .as_server = cfg->sec.as_server,
        .security = &e->cfg.sec,
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
    sn_engine_write(e); /* our greeting's first bytes */
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
    zap_cancel(e);
    if (e->props != NULL)
        sn_msg_props_retire(e->props, e->props_issued);
    if (e->have_part)
        sn_msg_close(&e->part);
    if (e->have_held)
        sn_msg_close(&e->held);
    if (e->have_big)
        sn_msg_close(&e->big);
    sn_zmtp_decoder_fini(&e->dec);
    sn_zmtp_handshake_fini(&e->hs);
    sn_zmtp_security_wipe(&e->cfg.sec);
    pthread_mutex_destroy(&e->mask_lock);
    free(e->in);
    free(e->out);
    free(e);
}

/* The handshake failed: say so to the peer if the mechanism has an ERROR for it, then
 * end with the event the mechanism chose. */
void
sn_engine_handshake_failed(sn_engine *e)
{
    sn_engine_write(e);
    uint32_t value;
    int event = sn_zmtp_handshake_failure_event(&e->hs, &value);
    if (e->fd >= 0)
        sn_engine_fail(e, event, value);
}

/* Ends the connection: stop I/O now, tell the session once. */
void
sn_engine_fail(sn_engine *e, int event, uint32_t value)
{
    if (e->closing)
        return;
    sn_engine_direct_unregister(e); /* first: application threads read `closing` under its lock */
    e->closing = true;
    sn_engine_unwatch(e);
    zap_cancel(e);
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
    sn_engine_direct_unregister(e);
    if (!e->closing) {
        e->closing = true;
        sn_engine_unwatch(e);
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
    zap_cancel(e);
    e->pipe = NULL;
}

void
sn_engine_write(sn_engine *e)
{
    if (e->fd < 0)
        return;
    if (!e->handshaking) {
        sn_engine_direct_lock(e);
        int rc = sn_engine_flush_output(e);
        sn_engine_direct_unlock(e);
        if (rc < 0)
            sn_engine_fail(e, SINEW_EVENT_DISCONNECTED, 0);
        else
            sn_engine_want_out(e, rc == 0);
        return;
    }
    for (int rounds = 0; rounds < 64; rounds++) {
        const uint8_t *p;
        size_t len;
        sn_zmtp_handshake_output(&e->hs, &p, &len);
        if (len == 0) {
            sn_engine_want_out(e, false);
            return;
        }
        struct iovec iov = {(void *) p, len};
        ssize_t n = sn_engine_send(e->fd, &iov, 1);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                sn_engine_want_out(e, true);
                return;
            }
            sn_engine_fail(e, SINEW_EVENT_DISCONNECTED, 0);
            return;
        }
        sn_zmtp_handshake_output_consumed(&e->hs, (size_t) n);
    }
    sn_engine_want_out(e, true);
}

void
sn_engine_pipe_readable(sn_engine *e)
{
    if (e->fd >= 0 && !e->handshaking && !e->out_wanted)
        sn_engine_write(e);
}

/* Handshake done: get the pipe from the session, then start traffic. */
bool
sn_engine_start_traffic(sn_engine *e)
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
    if (len > OUT_BUF) {
        sn_engine_fail(e, SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL, ENOBUFS);
        return false;
    }
    if (len > 0) { /* no pipe yet: the buffer is the handshake's */
        memcpy(e->out, p, len);
        e->out_off = 0;
        e->out_len = len;
        sn_zmtp_handshake_output_consumed(&e->hs, len);
    }
    /* A mechanism that boxes frames (CURVE) sends messages as commands: those may then
     * be as large as maxmsgsize lets any frame be. */
    if (sn_zmtp_handshake_codec(&e->hs, &e->codec, &e->codec_state))
        sn_zmtp_decoder_set_boxed(&e->dec);
    e->pipe = e->ops->ready(e->owner, e, sn_zmtp_handshake_result_get(&e->hs));
    if (e->pipe == NULL) {
        sn_engine_fail(e, SINEW_EVENT_DISCONNECTED, 0);
        return false;
    }
    sn_engine_direct_register(e);
    if (e->cfg.heartbeat_ivl > 0)
        e->hb_timer = sn_reactor_timer_add(e->r, (uint64_t) e->cfg.heartbeat_ivl,
                                           sn_engine_hb_timer, e);
    sn_engine_write(e);
    return e->fd >= 0;
}

void
sn_engine_handshake_resume(sn_engine *e, const void *answer)
{
    if (e->fd < 0 || !e->handshaking || !sn_zmtp_handshake_waiting(&e->hs))
        return;
    if (sn_zmtp_handshake_resume(&e->hs, answer) < 0) {
        sn_engine_handshake_failed(e);
        return;
    }
    if (!sn_engine_input_begin(e))
        return;
    if (!sn_zmtp_handshake_waiting(&e->hs)) {
        sn_engine_want_in(e, true);
        sn_engine_resume_input(e); /* what the peer sent meanwhile, then the fd */
    }
    sn_engine_input_end(e);
    if (e->fd >= 0 && e->handshaking)
        sn_engine_write(e);
}

void
sn_engine_pipe_writable(sn_engine *e)
{
    if (e->fd < 0 || !sn_engine_input_begin(e))
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
            sn_engine_fail(e, SINEW_EVENT_DISCONNECTED, 0);
        else {
            sn_engine_want_in(e, true);
            sn_engine_resume_input(e);
        }
    }
    sn_engine_input_end(e);
}
