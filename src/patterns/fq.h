/* Fair queueing (round-robin over peers with messages), shared by PULL, REP, DEALER and
 * ROUTER. RFC 30: messages are taken from peers in turn; the parts of one message come
 * from one peer. Owner's thread only. */
#ifndef SINEW_PATTERNS_FQ_H
#define SINEW_PATTERNS_FQ_H

#include "patterns/pipeset.h"

typedef struct sn_fq {
    sn_pipeset set;
    size_t cur;
    sn_pipe *more_pipe; /* mid-message: the next part comes from this pipe */
} sn_fq;

/* slot: offset of this set's sn_pipeset_slot in the pattern's per-pipe state. */
void sn_fq_init(sn_fq *fq, size_t slot);
void sn_fq_fini(sn_fq *fq);
int sn_fq_attach(sn_fq *fq, sn_pipe *p);
void sn_fq_detach(sn_fq *fq, sn_pipe *p);
void sn_fq_readable(sn_fq *fq, sn_pipe *p);
/* 0 with msg filled (*from = its pipe if from != NULL) or -EAGAIN. */
int sn_fq_recv(sn_fq *fq, sn_msg *msg, sn_pipe **from);
bool sn_fq_has_in(sn_fq *fq);

#endif
