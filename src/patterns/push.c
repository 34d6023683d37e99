/* PUSH (RFC 30): sends round-robin to connected PULL peers; never receives. */
#include "patterns/lb.h"
#include "patterns/pattern.h"

typedef struct push {
    sn_lb lb;
} push;

static int
push_init(void *st, sn_socket *s)
{
    ((push *) st)->lb.sock = s;
    return 0;
}

static void
push_fini(void *st)
{
    sn_lb_fini(&((push *) st)->lb);
}

static int
push_attach(void *st, sn_pipe *p)
{
    return sn_lb_attach(&((push *) st)->lb, p);
}

static void
push_detach(void *st, sn_pipe *p)
{
    sn_lb_detach(&((push *) st)->lb, p);
}

static void
push_readable(void *st, sn_pipe *p)
{
    (void) st;
    (void) p; /* PULL peers send nothing */
}

static void
push_writable(void *st, sn_pipe *p)
{
    sn_lb_writable(&((push *) st)->lb, p);
}

static int
push_send(void *st, sn_msg *m)
{
    sn_pipe *to;
    return sn_lb_send(&((push *) st)->lb, m, &to);
}

static bool
push_has_in(void *st)
{
    (void) st;
    return false;
}

static bool
push_has_out(void *st)
{
    return sn_lb_has_out(&((push *) st)->lb);
}

static const int push_peers[] = {SINEW_PULL, -1};

const sn_pattern_ops sn_push_ops = {
    .type = SINEW_PUSH,
    .name = "PUSH",
    .peers = push_peers,
    .state_size = sizeof(push),
    .init = push_init,
    .fini = push_fini,
    .attach = push_attach,
    .detach = push_detach,
    .readable = push_readable,
    .writable = push_writable,
    .send = push_send,
    .recv = NULL,
    .has_in = push_has_in,
    .has_out = push_has_out,
};
