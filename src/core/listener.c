/* Listeners: a bound tcp or ipc endpoint on an I/O thread, accepting connections into
 * sessions it owns (see net.h). Binding happens on the caller's thread so errors and the
 * resolved address come back synchronously; accepting happens on the I/O thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/monitor.h"
#include "core/net.h"
#include "core/session.h"
#include "core/socket.h"
#include "io/reactor.h"
#include "transports/transport.h"

#define ACCEPTS_PER_WAKE 64
#define ACCEPT_PAUSE_MS 100

struct sn_listener {
    sn_reactor *r;
    sn_ctx *ctx;
    sn_monitor *mon;
    sn_socket *sock;
    uint64_t sock_gen;
    int endpoint;
    sn_stats *stats;
    sn_net_config cfg;
    const sn_transport_ops *tr;
    sn_listen_fd lfd;
    sn_io_handle *h;
    sn_timer_id pause_timer; /* accepting paused after a failure */
    char addr[SN_LAST_ENDPOINT_MAX];
    sn_session *children;
};

void
sn_listener_adopt(sn_listener *l, sn_session *ss)
{
    ss->next_child = l->children;
    l->children = ss;
}

void
sn_listener_forget(sn_listener *l, sn_session *ss)
{
    for (sn_session **pp = &l->children; *pp != NULL; pp = &(*pp)->next_child) {
        if (*pp == ss) {
            *pp = ss->next_child;
            return;
        }
    }
}

static void accept_cb(void *arg, uint32_t events);

static void
resume_cb(void *arg)
{
    sn_listener *l = arg;
    l->pause_timer = 0;
    if (sn_reactor_add(l->r, l->lfd.fd, EPOLLIN, accept_cb, l, &l->h) < 0)
        l->h = NULL;
}

static void
accept_cb(void *arg, uint32_t events)
{
    (void) events;
    sn_listener *l = arg;
    for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
        int fd;
        char peer[SN_LAST_ENDPOINT_MAX] = "";
        int rc = l->tr->accept(&l->lfd, &fd, peer, sizeof peer);
        if (rc == -EAGAIN)
            return;
        if (rc < 0) {
            /* EMFILE and friends: report, and pause accepting for a moment, since the
             * pending connection keeps the (level-triggered) listener readable. */
            sn_monitor_emit(l->mon, SINEW_EVENT_ACCEPT_FAILED, (uint32_t) -rc, l->addr);
            sn_reactor_del(l->r, l->h);
            l->h = NULL;
            l->pause_timer = sn_reactor_timer_add(l->r, ACCEPT_PAUSE_MS, resume_cb, l);
            return;
        }
        if (l->tr->tune != NULL)
            l->tr->tune(fd, &l->cfg.tcp);
        sn_monitor_emit(l->mon, SINEW_EVENT_ACCEPTED, (uint32_t) fd, l->addr);
        sn_session_accepted(l, l->ctx, l->sock, l->sock_gen, l->r, &l->cfg, l->mon,
                            l->stats, l->endpoint, fd, l->addr);
    }
}

static void
run_task(void *arg)
{
    sn_listener *l = arg;
    if (sn_reactor_add(l->r, l->lfd.fd, EPOLLIN, accept_cb, l, &l->h) < 0)
        sn_monitor_emit(l->mon, SINEW_EVENT_ACCEPT_FAILED, ENOMEM, l->addr);
}

int
sn_listener_start(sn_socket *s, const sn_endpoint *ep, int endpoint, char *resolved,
                  size_t len, sn_listener **out)
{
    sn_reactor *r = sn_ctx_io_thread(s->ctx);
    if (r == NULL)
        return -EMTHREAD;
    sn_listener *l = calloc(1, sizeof *l);
    if (l == NULL)
        return -ENOMEM;
    l->r = r;
    l->ctx = s->ctx;
    l->sock = s;
    l->sock_gen = s->gen;
    l->endpoint = endpoint;
    l->tr = ep->ops;
    l->lfd.fd = l->lfd.ipc.fd = -1;
    sn_net_config_init(&l->cfg, &s->opt);
    int rc = l->tr->listen(ep, &l->cfg.tcp, &l->lfd, resolved, len);
    if (rc < 0) {
        free(l);
        return rc;
    }
    snprintf(l->addr, sizeof l->addr, "%s", resolved);
    l->mon = sn_monitor_ref(s->monitor);
    l->stats = sn_stats_ref(s->stats);
    sn_ctx_net_add(s->ctx);
    sn_monitor_emit(l->mon, SINEW_EVENT_LISTENING, (uint32_t) l->lfd.fd, l->addr);
    if (sn_reactor_post(r, run_task, l) < 0) {
        sn_listener_stop(l);
        return -ETERM;
    }
    *out = l;
    return 0;
}

static void
stop_task(void *arg)
{
    sn_listener *l = arg;
    if (l->h != NULL)
        sn_reactor_del(l->r, l->h);
    if (l->pause_timer)
        sn_reactor_timer_cancel(l->r, l->pause_timer);
    int fd = l->lfd.fd;
    l->tr->close(&l->lfd);
    sn_monitor_emit(l->mon, SINEW_EVENT_CLOSED, (uint32_t) fd, l->addr);
    while (l->children != NULL) {
        sn_session *ss = l->children;
        l->children = ss->next_child;
        sn_session_stop_local(ss);
    }
    sn_monitor_unref(l->mon);
    sn_stats_unref(l->stats);
    sn_zmtp_security_wipe(&l->cfg.sec);
    sn_ctx *ctx = l->ctx;
    free(l);
    sn_ctx_net_done(ctx);
}

void
sn_listener_stop(sn_listener *l)
{
    /* The name goes at once, so unbind-then-check (or rebind) sees it gone; the fd
     * closes on the I/O thread, which owns it. */
    l->tr->unlink(&l->lfd);
    if (sn_reactor_post(l->r, stop_task, l) < 0)
        stop_task(l); /* the I/O thread is gone: nothing else can touch l */
}
