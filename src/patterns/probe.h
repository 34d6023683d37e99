/* SINEW_PROBE_ROUTER, shared by DEALER and ROUTER: an empty message sent to each new
 * peer, so that a ROUTER on the other side learns of us (and our routing id) before we
 * have anything to say. */
#ifndef SINEW_PATTERNS_PROBE_H
#define SINEW_PATTERNS_PROBE_H

#include "patterns/pattern.h"

/* Queued past the HWM (a probe is never refused), published at once. */
static inline void
sn_probe_send(sn_pipe *p)
{
    sn_msg m;
    sn_msg_init(&m);
    if (sn_pipe_write(p, &m) == 0)
        sn_pipe_flush(p);
}

#endif
