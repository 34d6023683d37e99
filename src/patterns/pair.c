/* PAIR (RFC 31): exactly one peer at a time; a second connection is refused. Sends block
 * at the HWM; nothing is routed. */
#include "patterns/pattern.h"

typedef struct pair {
    sn_pipe *pipe;
    bool more_out; /* multipart send in progress: later parts skip the HWM check */
} pair;

static int
pair_attach(void *st, sn_pipe *p)
{
    pair *pr = st;
    if (pr->pipe != NULL)
        return -EBUSY;
    pr->pipe = p;
    return 0;
}

static void
pair_detach(void *st, sn_pipe *p)
{
    pair *pr = st;
    if (pr->pipe == p) {
        pr->pipe = NULL;
        pr->more_out = false;
    }
}

static int
pair_send(void *st, sn_msg *m)
{
    pair *pr = st;
    if (pr->pipe == NULL || (!pr->more_out && !sn_pipe_check_write(pr->pipe)))
        return -EAGAIN;
    bool more = sn_msg_more(m); /* read before the write empties m */
    int rc = sn_pipe_write(pr->pipe, m);
    if (rc < 0)
        return rc;
    pr->more_out = more;
    if (!pr->more_out)
        sn_pipe_flush(pr->pipe);
    return 0;
}

static int
pair_recv(void *st, sn_msg *m)
{
    pair *pr = st;
    if (pr->pipe == NULL)
        return -EAGAIN;
    return sn_pipe_read(pr->pipe, m);
}

static bool
pair_has_in(void *st)
{
    pair *pr = st;
    return pr->pipe != NULL && sn_pipe_check_read(pr->pipe);
}

static bool
pair_has_out(void *st)
{
    pair *pr = st;
    return pr->pipe != NULL && (pr->more_out || sn_pipe_check_write(pr->pipe));
}

const sn_pattern_ops sn_pair_ops = {
    .type = SINEW_PAIR,
    .state_size = sizeof(pair),
    .attach = pair_attach,
    .detach = pair_detach,
    .send = pair_send,
    .recv = pair_recv,
    .has_in = pair_has_in,
    .has_out = pair_has_out,
};
