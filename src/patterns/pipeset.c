/* Active/inactive pipe sets: O(1) add, remove, activate and deactivate by swapping. */
#include <errno.h>
#include <stdlib.h>

#include "patterns/pipeset.h"

void
sn_pipeset_fini(sn_pipeset *ps)
{
    free(ps->pipes);
    ps->pipes = NULL;
    ps->n = ps->cap = ps->active = 0;
}

static void
swap(sn_pipeset *ps, size_t a, size_t b)
{
    sn_pipe *t = ps->pipes[a];
    ps->pipes[a] = ps->pipes[b];
    ps->pipes[b] = t;
    ps->pipes[a]->index = (int) a;
    ps->pipes[b]->index = (int) b;
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
    p->index = (int) ps->n;
    ps->pipes[ps->n++] = p;
    if (active)
        sn_pipeset_activate(ps, p);
    return 0;
}

void
sn_pipeset_activate(sn_pipeset *ps, sn_pipe *p)
{
    if (p->index < 0 || (size_t) p->index < ps->active)
        return;
    swap(ps, (size_t) p->index, ps->active);
    ps->active++;
}

void
sn_pipeset_deactivate(sn_pipeset *ps, sn_pipe *p)
{
    if (!sn_pipeset_is_active(ps, p))
        return;
    ps->active--;
    swap(ps, (size_t) p->index, ps->active);
}

void
sn_pipeset_remove(sn_pipeset *ps, sn_pipe *p)
{
    if (p->index < 0)
        return;
    sn_pipeset_deactivate(ps, p);
    swap(ps, (size_t) p->index, ps->n - 1);
    ps->n--;
    p->index = -1;
}
