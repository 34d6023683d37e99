/* A socket's counters, shared by reference with the sessions and listeners that work for
 * it on I/O threads, so a message discarded anywhere on its behalf is counted even after
 * the socket itself closed. Any thread; relaxed atomics (figures, not synchronisation). */
#ifndef SINEW_CORE_STATS_H
#define SINEW_CORE_STATS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct sn_stats {
    atomic_int refs;
    _Atomic uint64_t dropped;    /* messages discarded, every cause (SINEW_MSGS_DROPPED) */
    _Atomic uint64_t reconnects; /* connections made again after one was lost */
} sn_stats;

static inline sn_stats *
sn_stats_new(void)
{
    sn_stats *st = calloc(1, sizeof *st);
    if (st != NULL)
        atomic_init(&st->refs, 1);
    return st;
}

static inline sn_stats *
sn_stats_ref(sn_stats *st)
{
    atomic_fetch_add_explicit(&st->refs, 1, memory_order_relaxed);
    return st;
}

static inline void
sn_stats_unref(sn_stats *st)
{
    if (st != NULL && atomic_fetch_sub_explicit(&st->refs, 1, memory_order_acq_rel) == 1)
        free(st);
}

static inline void
sn_stats_add(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

#endif
