/* Fair-queueing receiver (see fq.h). A dry pipe leaves the active set (and is armed by
 * the read that found it dry) until its writer reports data (ACTIVATE_READ). */
#include "patterns/fq.h"

void
sn_fq_fini(sn_fq *fq)
{
    sn_pipeset_fini(&fq->set);
}

int
sn_fq_attach(sn_fq *fq, sn_pipe *p)
{
    return sn_pipeset_add(&fq->set, p, true);
}

void
sn_fq_detach(sn_fq *fq, sn_pipe *p)
{
    if (fq->more && p->index >= 0 && (size_t) p->index == fq->cur)
        fq->more = false;
    sn_pipeset_remove(&fq->set, p);
}

void
sn_fq_readable(sn_fq *fq, sn_pipe *p)
{
    sn_pipeset_activate(&fq->set, p);
}

int
sn_fq_recv(sn_fq *fq, sn_msg *msg, sn_pipe **from)
{
    while (fq->set.active > 0) {
        if (fq->cur >= fq->set.active)
            fq->cur = 0;
        sn_pipe *p = fq->set.pipes[fq->cur];
        if (sn_pipe_read(p, msg) == 0) {
            fq->more = sn_msg_more(msg);
            if (!fq->more)
                fq->cur++;
            if (from != NULL)
                *from = p;
            return 0;
        }
        sn_pipeset_deactivate(&fq->set, p);
    }
    return -EAGAIN;
}

bool
sn_fq_has_in(sn_fq *fq)
{
    while (fq->set.active > 0) {
        if (fq->cur >= fq->set.active)
            fq->cur = 0;
        sn_pipe *p = fq->set.pipes[fq->cur];
        if (sn_pipe_check_read(p))
            return true;
        sn_pipeset_deactivate(&fq->set, p);
    }
    return false;
}
