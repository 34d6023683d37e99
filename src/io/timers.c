/* Timer heap. Each armed timer lives in a pool slot that records its heap position, so
 * cancel finds it from the id and removes it with one sift. Ids are (generation << 32 |
 * slot + 1); the generation bumps on every release, which retires old ids. */
#include <errno.h>
#include <stdlib.h>

#include "io/timers.h"

#define SN_TIMER_NONE UINT32_MAX

struct sn_timer_slot {
    uint64_t deadline;
    uint64_t seq;
    sn_timer_cb *cb;
    void *arg;
    uint32_t gen;
    uint32_t pos; /* heap index when armed; next free slot when free */
    int armed;
};

void
sn_timers_init(sn_timers *t)
{
    t->slots = NULL;
    t->nslots = 0;
    t->cap = 0;
    t->free_head = SN_TIMER_NONE;
    t->heap = NULL;
    t->heap_len = 0;
    t->next_seq = 0;
}

void
sn_timers_fini(sn_timers *t)
{
    free(t->slots);
    free(t->heap);
    sn_timers_init(t);
}

static int
timers_less(const sn_timers *t, uint32_t a, uint32_t b)
{
    const struct sn_timer_slot *x = &t->slots[a], *y = &t->slots[b];
    if (x->deadline != y->deadline)
        return x->deadline < y->deadline;
    return x->seq < y->seq;
}

static void
timers_place(sn_timers *t, uint32_t pos, uint32_t slot)
{
    t->heap[pos] = slot;
    t->slots[slot].pos = pos;
}

static void
timers_sift_up(sn_timers *t, uint32_t pos)
{
    uint32_t slot = t->heap[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (!timers_less(t, slot, t->heap[parent]))
            break;
        timers_place(t, pos, t->heap[parent]);
        pos = parent;
    }
    timers_place(t, pos, slot);
}

static void
timers_sift_down(sn_timers *t, uint32_t pos)
{
    uint32_t slot = t->heap[pos];
    for (;;) {
        uint32_t child = 2 * pos + 1;
        if (child >= t->heap_len)
            break;
        if (child + 1 < t->heap_len && timers_less(t, t->heap[child + 1], t->heap[child]))
            child++;
        if (!timers_less(t, t->heap[child], slot))
            break;
        timers_place(t, pos, t->heap[child]);
        pos = child;
    }
    timers_place(t, pos, slot);
}

/* Takes the slot at heap position pos out of the heap and returns it to the pool. */
static void
timers_remove_at(sn_timers *t, uint32_t pos)
{
    uint32_t slot = t->heap[pos];
    uint32_t last = t->heap[--t->heap_len];
    if (pos < t->heap_len) {
        timers_place(t, pos, last);
        if (pos > 0 && timers_less(t, last, t->heap[(pos - 1) / 2]))
            timers_sift_up(t, pos);
        else
            timers_sift_down(t, pos);
    }
    struct sn_timer_slot *s = &t->slots[slot];
    s->armed = 0;
    s->gen++;
    s->pos = t->free_head;
    t->free_head = slot;
}

static int
timers_grow(sn_timers *t)
{
    uint32_t cap = t->cap ? t->cap * 2 : 16;
    if (cap <= t->cap)
        return -ENOMEM;
    struct sn_timer_slot *slots = realloc(t->slots, (size_t)cap * sizeof *slots);
    if (slots == NULL)
        return -ENOMEM;
    t->slots = slots;
    uint32_t *heap = realloc(t->heap, (size_t)cap * sizeof *heap);
    if (heap == NULL)
        return -ENOMEM; /* slots grew, cap did not: harmless, retried next time */
    t->heap = heap;
    t->cap = cap;
    return 0;
}

sn_timer_id
sn_timers_add(sn_timers *t, uint64_t deadline, sn_timer_cb *cb, void *arg)
{
    uint32_t slot;
    if (t->free_head != SN_TIMER_NONE) {
        slot = t->free_head;
        t->free_head = t->slots[slot].pos;
    } else {
        if (t->nslots == t->cap && timers_grow(t) < 0)
            return 0;
        slot = t->nslots++;
        t->slots[slot].gen = 1;
    }
    struct sn_timer_slot *s = &t->slots[slot];
    s->deadline = deadline;
    s->seq = t->next_seq++;
    s->cb = cb;
    s->arg = arg;
    s->armed = 1;
    t->heap_len++;
    timers_place(t, t->heap_len - 1, slot);
    timers_sift_up(t, t->heap_len - 1);
    return ((sn_timer_id)s->gen << 32) | (slot + 1u);
}

int
sn_timers_cancel(sn_timers *t, sn_timer_id id)
{
    uint32_t low = (uint32_t)id;
    if (low == 0 || low > t->nslots)
        return -ENOENT;
    struct sn_timer_slot *s = &t->slots[low - 1];
    if (!s->armed || s->gen != (uint32_t)(id >> 32))
        return -ENOENT;
    timers_remove_at(t, s->pos);
    return 0;
}

int64_t
sn_timers_timeout(const sn_timers *t, uint64_t now)
{
    if (t->heap_len == 0)
        return -1;
    uint64_t deadline = t->slots[t->heap[0]].deadline;
    return deadline <= now ? 0 : (int64_t)(deadline - now);
}

size_t
sn_timers_run(sn_timers *t, uint64_t now)
{
    /* A timer armed during this call has seq >= limit and a deadline >= now, so it
     * sorts after every older due timer: meeting one at the top means we are done. */
    uint64_t limit = t->next_seq;
    size_t fired = 0;
    while (t->heap_len > 0) {
        struct sn_timer_slot *top = &t->slots[t->heap[0]];
        if (top->deadline > now || top->seq >= limit)
            break;
        sn_timer_cb *cb = top->cb;
        void *arg = top->arg;
        timers_remove_at(t, 0);
        cb(arg); /* may add or cancel: slots may move, top is stale after this */
        fired++;
    }
    return fired;
}

size_t
sn_timers_count(const sn_timers *t)
{
    return t->heap_len;
}
