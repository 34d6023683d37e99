/* PULL (RFC 30): receives fair-queued from connected PUSH peers; never sends. */
#include "patterns/fq.h"
#include "patterns/pattern.h"

static int
pull_init(void *st, sn_socket *s)
{
    (void) s;
    sn_fq_init(st, 0);
    return 0;
}

static void
pull_fini(void *st)
{
    sn_fq_fini(st);
}

static int
pull_attach(void *st, sn_pipe *p)
{
    return sn_fq_attach(st, p);
}

static void
pull_detach(void *st, sn_pipe *p)
{
    sn_fq_detach(st, p);
}

static void
pull_readable(void *st, sn_pipe *p)
{
    sn_fq_readable(st, p);
}

static int
pull_recv(void *st, sn_msg *m)
{
    return sn_fq_recv(st, m, NULL);
}

static bool
pull_has_in(void *st)
{
    return sn_fq_has_in(st);
}

const sn_pattern_ops sn_pull_ops = {
    .type = SINEW_PULL,
    .state_size = sizeof(sn_fq),
    .pipe_state_size = sizeof(sn_pipeset_slot),
    .init = pull_init,
    .fini = pull_fini,
    .attach = pull_attach,
    .detach = pull_detach,
    .readable = pull_readable,
    .recv = pull_recv,
    .has_in = pull_has_in,
};
