/* One-shot timers for the reactor: a binary min-heap ordered by (deadline, creation
 * order), over a slot pool so that cancel by id is O(log n) without a hash table. Not
 * thread-safe: the reactor thread owns its sn_timers. */
#ifndef SINEW_IO_TIMERS_H
#define SINEW_IO_TIMERS_H

#include <stddef.h>
#include <stdint.h>

typedef void(sn_timer_cb)(void *arg);

/* Identifies one armed timer. 0 is never a valid id. An id encodes a pool slot and the
 * slot's generation, so a stale id (fired or cancelled) never matches a reused slot. */
typedef uint64_t sn_timer_id;

struct sn_timer_slot;

typedef struct sn_timers {
    struct sn_timer_slot *slots; /* pool; a slot is armed or on the free list */
    uint32_t nslots, cap;
    uint32_t free_head; /* first free slot index, UINT32_MAX if none */
    uint32_t *heap;     /* slot indices, min-heap on (deadline, seq) */
    uint32_t heap_len;  /* heap capacity is cap */
    uint64_t next_seq;  /* creation counter: equal deadlines fire in add order */
} sn_timers;

void sn_timers_init(sn_timers *t);

/* Frees everything; armed timers are dropped without running. */
void sn_timers_fini(sn_timers *t);

/* Arms a timer firing at absolute deadline (sn_clock_ms time). Returns its id, or 0 if
 * memory ran out. */
sn_timer_id sn_timers_add(sn_timers *t, uint64_t deadline, sn_timer_cb *cb, void *arg);

/* Disarms id. 0 if it was armed, -ENOENT if it fired, was cancelled or never existed. */
int sn_timers_cancel(sn_timers *t, sn_timer_id id);

/* Milliseconds from now until the earliest deadline: 0 if one is due, -1 if none. */
int64_t sn_timers_timeout(const sn_timers *t, uint64_t now);

/* Fires, in deadline order, every timer due at now that was armed before this call.
 * Callbacks may add and cancel timers; timers they add wait for the next call even if
 * already due, so a callback re-arming itself with delay 0 cannot starve the caller.
 * Returns the number fired. */
size_t sn_timers_run(sn_timers *t, uint64_t now);

/* Number of armed timers. */
size_t sn_timers_count(const sn_timers *t);

#endif
