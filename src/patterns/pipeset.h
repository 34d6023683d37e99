/* A set of pipes split into an active prefix and an inactive suffix, the shared
 * bookkeeping under load-balancing (lb) and fair-queueing (fq). Owner's thread only. */
#ifndef SINEW_PATTERNS_PIPESET_H
#define SINEW_PATTERNS_PIPESET_H

#include <stddef.h>

#include "core/pipe.h"

typedef struct sn_pipeset {
    sn_pipe **pipes;
    size_t n, cap;
    size_t active; /* pipes[0..active) are active */
} sn_pipeset;

void sn_pipeset_fini(sn_pipeset *ps);
int sn_pipeset_add(sn_pipeset *ps, sn_pipe *p, bool active); /* -ENOMEM */
void sn_pipeset_remove(sn_pipeset *ps, sn_pipe *p);
void sn_pipeset_activate(sn_pipeset *ps, sn_pipe *p);
void sn_pipeset_deactivate(sn_pipeset *ps, sn_pipe *p);

static inline bool
sn_pipeset_is_active(const sn_pipeset *ps, const sn_pipe *p)
{
    return p->index >= 0 && (size_t) p->index < ps->active;
}

#endif
