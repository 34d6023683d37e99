/* Active/inactive pipe sets: O(1) add, remove, activate and deactivate by swapping. */
#include <errno.h>
#include <stdlib.h>

#include "patterns/pipeset.h"

void
sn_pipeset_init(sn_pipeset *ps, size_t slot_offset)
{
    *ps = (sn_pipeset){.slot = slot_offset};
}

void
sn_pipeset_fini(sn_pipeset *ps)
{
    free(ps->pipes);
    ps->pipes = NULL;
    ps->n = ps->cap = ps->active = 0;
}

static void
place(sn_pipeset *ps, size_t at, sn_pipe *p)
{
    ps->pipes[at] = p;
    sn_pipeset_slot_of(ps, p)->pos1 = at + 1;
}

void
sn_pipeset_swap(sn_pipeset *ps, size_t a, size_t b)
{
    sn_pipe *t = ps->pipes[a];
    place(ps, a, ps->pipes[b]);
    place(ps, b, t);
}

int
sn_pipeset_add(sn_pipeset *ps, sn_pipe *p, bool active)
{
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 4;
        sn_pipe **pipes = realloc(ps->pipes, cap * sizeof *pipes);
        if (pipes == NULL)
            return -ENOMEM;
        ps->pipes = pipes;
        ps->cap = cap;
    }
    place(ps, ps->n++, p);
    if (active)
        sn_pipeset_activate(ps, p);
    return 0;
}

void
sn_pipeset_activate(sn_pipeset *ps, sn_pipe *p)
{
    if (!sn_pipeset_contains(ps, p) || sn_pipeset_is_active(ps, p))
        return;
    sn_pipeset_swap(ps, sn_pipeset_pos(ps, p), ps->active);
    ps->active++;
}

void
sn_pipeset_deactivate(sn_pipeset *ps, sn_pipe *p)
{
    if (!sn_pipeset_is_active(ps, p))
        return;
    ps->active--;
    sn_pipeset_swap(ps, sn_pipeset_pos(ps, p), ps->active);
}

void
sn_pipeset_remove(sn_pipeset *ps, sn_pipe *p)
{
    if (!sn_pipeset_contains(ps, p))
        return;
    sn_pipeset_deactivate(ps, p);
    sn_pipeset_swap(ps, sn_pipeset_pos(ps, p), ps->n - 1);
    ps->n--;
    sn_pipeset_slot_of(ps, p)->pos1 = 0;
}
