/* A set of pipes split into an active prefix and an inactive suffix, the shared
 * bookkeeping under load-balancing (lb), fair-queueing (fq) and distribution (dist).
 *
 * A pipe may be in several sets at once (REQ keeps each peer in an lb and an fq set), so
 * a set never writes a field of sn_pipe: it keeps its position in a slot of the pipe's
 * per-pipe pattern state (p->pstate, sized by the pattern's pipe_state_size), at the
 * offset the set was initialised with. Owner's thread only. */
#ifndef SINEW_PATTERNS_PIPESET_H
#define SINEW_PATTERNS_PIPESET_H

#include <stdbool.h>
#include <stddef.h>

#include "core/pipe.h"

/* A set's slot in a pipe's pattern state: position + 1, 0 while not in the set (so a
 * zeroed state means "in no set"). */
typedef struct sn_pipeset_slot {
    size_t pos1;
} sn_pipeset_slot;

typedef struct sn_pipeset {
    sn_pipe **pipes;
    size_t n, cap;
    size_t active; /* pipes[0..active) are active */
    size_t slot;   /* offset of this set's sn_pipeset_slot in p->pstate */
} sn_pipeset;

void sn_pipeset_init(sn_pipeset *ps, size_t slot_offset);
void sn_pipeset_fini(sn_pipeset *ps);
int sn_pipeset_add(sn_pipeset *ps, sn_pipe *p, bool active); /* -ENOMEM */
void sn_pipeset_remove(sn_pipeset *ps, sn_pipe *p);
void sn_pipeset_activate(sn_pipeset *ps, sn_pipe *p);
void sn_pipeset_deactivate(sn_pipeset *ps, sn_pipe *p);
/* Exchanges the pipes at positions a and b, for users keeping ranges of their own inside
 * the active prefix (dist's chosen pipes). */
void sn_pipeset_swap(sn_pipeset *ps, size_t a, size_t b);

static inline sn_pipeset_slot *
sn_pipeset_slot_of(const sn_pipeset *ps, const sn_pipe *p)
{
    return (sn_pipeset_slot *) (void *) ((char *) p->pstate + ps->slot);
}

static inline bool
sn_pipeset_contains(const sn_pipeset *ps, const sn_pipe *p)
{
    return sn_pipeset_slot_of(ps, p)->pos1 != 0;
}

/* p's position; only for a pipe in the set. */
static inline size_t
sn_pipeset_pos(const sn_pipeset *ps, const sn_pipe *p)
{
    return sn_pipeset_slot_of(ps, p)->pos1 - 1;
}

static inline bool
sn_pipeset_is_active(const sn_pipeset *ps, const sn_pipe *p)
{
    size_t pos1 = sn_pipeset_slot_of(ps, p)->pos1;
    return pos1 != 0 && pos1 - 1 < ps->active;
}

#endif
