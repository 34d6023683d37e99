/* DEALER (RFC 28): sends round-robin to peers with room (lb) and receives fair-queued
 * (fq), touching no envelope; a send blocks while no peer has room. SINEW_PROBE_ROUTER
 * greets each new peer with an empty message. */
#include <stddef.h>

#include "patterns/fq.h"
#include "patterns/lb.h"
#include "patterns/optbool.h"
#include "patterns/probe.h"

typedef struct dealer_pipe {
    sn_pipeset_slot lb, fq;
} dealer_pipe;

typedef struct dealer {
    sn_lb lb;
    sn_fq fq;
    bool probe;
} dealer;

static int
dealer_init(void *st, sn_socket *s)
{
    dealer *d = st;
    sn_lb_init(&d->lb, s, offsetof(dealer_pipe, lb));
    sn_fq_init(&d->fq, offsetof(dealer_pipe, fq));
    return 0;
}

static void
dealer_fini(void *st)
{
    dealer *d = st;
    sn_lb_fini(&d->lb);
    sn_fq_fini(&d->fq);
}

static int
dealer_attach(void *st, sn_pipe *p)
{
    dealer *d = st;
    int rc = sn_lb_attach(&d->lb, p);
    if (rc < 0)
        return rc;
    rc = sn_fq_attach(&d->fq, p);
    if (rc < 0) {
        sn_lb_detach(&d->lb, p);
        return rc;
    }
    if (d->probe)
        sn_probe_send(p);
    return 0;
}

static void
dealer_detach(void *st, sn_pipe *p)
{
    dealer *d = st;
    sn_lb_detach(&d->lb, p);
    sn_fq_detach(&d->fq, p);
}

static void
dealer_readable(void *st, sn_pipe *p)
{
    sn_fq_readable(&((dealer *) st)->fq, p);
}

static void
dealer_writable(void *st, sn_pipe *p)
{
    sn_lb_writable(&((dealer *) st)->lb, p);
}

/* A new connection behind p: the ROUTER there knows nothing of us yet. */
static void
dealer_hiccup(void *st, sn_pipe *p)
{
    if (((dealer *) st)->probe)
        sn_probe_send(p);
}

static int
dealer_send(void *st, sn_msg *m)
{
    sn_pipe *to;
    return sn_lb_send(&((dealer *) st)->lb, m, &to);
}

static int
dealer_recv(void *st, sn_msg *m)
{
    return sn_fq_recv(&((dealer *) st)->fq, m, NULL);
}

static bool
dealer_has_in(void *st)
{
    return sn_fq_has_in(&((dealer *) st)->fq);
}

static bool
dealer_has_out(void *st)
{
    return sn_lb_has_out(&((dealer *) st)->lb);
}

static int
dealer_setopt(void *st, int option, const void *val, size_t len)
{
    if (option != SINEW_PROBE_ROUTER)
        return -ENOENT;
    return sn_opt_bool(val, len, &((dealer *) st)->probe);
}

const sn_pattern_ops sn_dealer_ops = {
    .type = SINEW_DEALER,
    .state_size = sizeof(dealer),
    .pipe_state_size = sizeof(dealer_pipe),
    .init = dealer_init,
    .fini = dealer_fini,
    .attach = dealer_attach,
    .detach = dealer_detach,
    .readable = dealer_readable,
    .writable = dealer_writable,
    .hiccup = dealer_hiccup,
    .send = dealer_send,
    .recv = dealer_recv,
    .has_in = dealer_has_in,
    .has_out = dealer_has_out,
    .setopt = dealer_setopt,
};
