/* Load balancing (round-robin over peers with room), shared by PUSH, REQ and DEALER.
 * RFC 30: a message goes to the next peer that can take it; all parts of a multipart
 * message go to the same peer. Owner's thread only. */
#ifndef SINEW_PATTERNS_LB_H
#define SINEW_PATTERNS_LB_H

#include "patterns/pipeset.h"

typedef struct sn_socket sn_socket;

typedef struct sn_lb {
    sn_pipeset set;
    size_t cur;
    sn_pipe *more_pipe; /* multipart in progress to this pipe */
    bool dropping;      /* its pipe went away mid-message: discard the remaining parts */
    sn_socket *sock;    /* for the drop counter */
} sn_lb;

/* slot: offset of this set's sn_pipeset_slot in the pattern's per-pipe state. */
void sn_lb_init(sn_lb *lb, sn_socket *s, size_t slot);
void sn_lb_fini(sn_lb *lb);
int sn_lb_attach(sn_lb *lb, sn_pipe *p);
void sn_lb_detach(sn_lb *lb, sn_pipe *p);
void sn_lb_writable(sn_lb *lb, sn_pipe *p);
/* 0 (msg taken; *to = the pipe, may be NULL if dropped), -EAGAIN, -ENOMEM. */
int sn_lb_send(sn_lb *lb, sn_msg *msg, sn_pipe **to);
bool sn_lb_has_out(sn_lb *lb);

#endif
