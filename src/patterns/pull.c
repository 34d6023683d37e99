/* PULL (RFC 30): receives fair-queued from connected PUSH peers; never sends. */
#include "patterns/fq.h"
#include "patterns/pattern.h"

typedef struct pull {
    sn_fq fq;
} pull;

static int
pull_init(void *st, sn_socket *s)
{
    (void) st;
    (void) s;
    return 0;
}

static void
pull_fini(void *st)
{
    sn_fq_fini(&((pull *) st)->fq);
}

static int
pull_attach(void *st, sn_pipe *p)
{
    return sn_fq_attach(&((pull *) st)->fq, p);
}

static void
pull_detach(void *st, sn_pipe *p)
{
    sn_fq_detach(&((pull *) st)->fq, p);
}

static void
pull_readable(void *st, sn_pipe *p)
{
    sn_fq_readable(&((pull *) st)->fq, p);
}

static void
pull_writable(void *st, sn_pipe *p)
{
    (void) st;
    (void) p;
}

static int
pull_recv(void *st, sn_msg *m)
{
    return sn_fq_recv(&((pull *) st)->fq, m, NULL);
}

static bool
pull_has_in(void *st)
{
    return sn_fq_has_in(&((pull *) st)->fq);
}

static bool
pull_has_out(void *st)
{
    (void) st;
    return false;
}

static const int pull_peers[] = {SINEW_PUSH, -1};

const sn_pattern_ops sn_pull_ops = {
    .type = SINEW_PULL,
    .name = "PULL",
    .peers = pull_peers,
    .state_size = sizeof(pull),
    .init = pull_init,
    .fini = pull_fini,
    .attach = pull_attach,
    .detach = pull_detach,
    .readable = pull_readable,
    .writable = pull_writable,
    .send = NULL,
    .recv = pull_recv,
    .has_in = pull_has_in,
    .has_out = pull_has_out,
};
