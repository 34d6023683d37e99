/* PUSH (RFC 30): sends round-robin to connected PULL peers; never receives. */
#include "patterns/lb.h"
#include "patterns/pattern.h"

static int
push_init(void *st, sn_socket *s)
{
    sn_lb_init(st, s, 0);
    return 0;
}

static void
push_fini(void *st)
{
    sn_lb_fini(st);
}

static int
push_attach(void *st, sn_pipe *p)
{
    return sn_lb_attach(st, p);
}

static void
push_detach(void *st, sn_pipe *p)
{
    sn_lb_detach(st, p);
}

static void
push_writable(void *st, sn_pipe *p)
{
    sn_lb_writable(st, p);
}

static int
push_send(void *st, sn_msg *m)
{
    sn_pipe *to;
    return sn_lb_send(st, m, &to);
}

static bool
push_has_out(void *st)
{
    return sn_lb_has_out(st);
}

const sn_pattern_ops sn_push_ops = {
    .type = SINEW_PUSH,
    .state_size = sizeof(sn_lb),
    .pipe_state_size = sizeof(sn_pipeset_slot),
    .init = push_init,
    .fini = push_fini,
    .attach = push_attach,
    .detach = push_detach,
    .writable = push_writable,
    .send = push_send,
    .has_out = push_has_out,
};
