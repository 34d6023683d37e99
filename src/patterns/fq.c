/* Fair-queueing receiver (see fq.h). A dry pipe leaves the active set (and is armed by
 * the read that found it dry) until its writer reports data (ACTIVATE_READ). */
#include "patterns/fq.h"

void
sn_fq_init(sn_fq *fq, size_t slot)
{
    *fq = (sn_fq){0};
    sn_pipeset_init(&fq->set, slot);
}

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
    if (fq->more_pipe == p)
        fq->more_pipe = NULL; /* the rest of that message went with its pipe */
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
    /* Later parts of a message come from its pipe: they were published with the first. */
    if (fq->more_pipe != NULL) {
        sn_pipe *p = fq->more_pipe;
        if (sn_pipe_read(p, msg) < 0) {
            fq->more_pipe = NULL;
            return -EAGAIN;
        }
        if (!sn_msg_more(msg))
            fq->more_pipe = NULL;
        if (from != NULL)
            *from = p;
        return 0;
    }
    while (fq->set.active > 0) {
        if (fq->cur >= fq->set.active)
            fq->cur = 0;
        sn_pipe *p = fq->set.pipes[fq->cur];
        if (sn_pipe_read(p, msg) == 0) {
            if (sn_msg_more(msg))
                fq->more_pipe = p;
            fq->cur++; /* the next message comes from the next pipe */
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
    if (fq->more_pipe != NULL)
        return true;
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
