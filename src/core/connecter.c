/* Connect attempts with exponential backoff (see connecter.h). */
#include <errno.h>
#include <unistd.h>

#include "core/connecter.h"
#include "core/monitor.h"
#include "sinew.h"
#include "transports/transport.h"

void
sn_connecter_init(sn_connecter *c, sn_reactor *r, const sn_endpoint *ep,
                  const sn_net_config *cfg, sn_monitor *mon, const char *addr)
{
    c->r = r;
    c->ep = *ep;
    c->cfg = cfg;
    c->mon = mon;
    c->addr = addr;
    c->fd = -1;
    c->h = NULL;
    c->retry_timer = 0;
    c->ivl = cfg->reconnect_ivl;
}

bool
sn_connecter_retries(const sn_connecter *c)
{
    return c->cfg->reconnect_ivl > 0;
}

void
sn_connecter_reset_backoff(sn_connecter *c)
{
    c->ivl = c->cfg->reconnect_ivl;
}

static void
retry_cb(void *arg)
{
    sn_connecter *c = arg;
    c->retry_timer = 0;
    sn_connecter_start(c);
}

void
sn_connecter_retry(sn_connecter *c)
{
    if (c->retry_timer != 0 || c->fd >= 0)
        return;
    if (!sn_connecter_retries(c)) {
        c->gave_up(c->owner);
        return;
    }
    int ivl = c->ivl;
    sn_monitor_emit(c->mon, SINEW_EVENT_CONNECT_RETRIED, (uint32_t) ivl, c->addr);
    c->retry_timer = sn_reactor_timer_add(c->r, (uint64_t) ivl, retry_cb, c);
    /* Exponential backoff up to RECONNECT_IVL_MAX (0: stay at RECONNECT_IVL). */
    if (c->cfg->reconnect_ivl_max > c->ivl) {
        c->ivl *= 2;
        if (c->ivl > c->cfg->reconnect_ivl_max)
            c->ivl = c->cfg->reconnect_ivl_max;
    }
}

static void
connected(sn_connecter *c, int fd)
{
    if (c->ep.ops->tune != NULL)
        c->ep.ops->tune(fd, &c->cfg->tcp);
    sn_monitor_emit(c->mon, SINEW_EVENT_CONNECTED, (uint32_t) fd, c->addr);
    c->connected(c->owner, fd);
}

static void
connect_cb(void *arg, uint32_t events)
{
    (void) events;
    sn_connecter *c = arg;
    sn_reactor_del(c->r, c->h);
    c->h = NULL;
    int fd = c->fd;
    c->fd = -1;
    if (sn_connect_finish(fd) < 0) {
        close(fd);
        sn_connecter_retry(c);
        return;
    }
    connected(c, fd);
}

void
sn_connecter_start(sn_connecter *c)
{
    int fd;
    bool done;
    if (c->ep.ops->connect(&c->ep, &c->cfg->tcp, &fd, &done) < 0) {
        sn_connecter_retry(c);
        return;
    }
    if (done) {
        connected(c, fd);
        return;
    }
    if (sn_reactor_add(c->r, fd, EPOLLOUT, connect_cb, c, &c->h) < 0) {
        close(fd);
        sn_connecter_retry(c);
        return;
    }
    c->fd = fd;
    /* As libzmq: the value is the errno of the connect now in progress. */
    sn_monitor_emit(c->mon, SINEW_EVENT_CONNECT_DELAYED, EINPROGRESS, c->addr);
}

void
sn_connecter_fini(sn_connecter *c)
{
    if (c->h != NULL)
        sn_reactor_del(c->r, c->h);
    c->h = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (c->retry_timer)
        sn_reactor_timer_cancel(c->r, c->retry_timer);
    c->retry_timer = 0;
}
