/* A socket's counters, shared by reference with the sessions and listeners that work for
 * it on I/O threads, so a message discarded anywhere on its behalf is counted even after
 * the socket itself closed. Any thread; relaxed atomics (figures, not synchronisation). */
#ifndef SINEW_CORE_STATS_H
#define SINEW_CORE_STATS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

/* Why a message was discarded. Every discard names one, so no message is lost without a
 * counter moving. */
typedef enum sn_drop_reason {
    SN_DROP_HWM,           /* its peer's queue was full and the type drops (PUB, ROUTER) */
    SN_DROP_UNROUTABLE,    /* no peer for its routing id, or the peer it answers left */
    SN_DROP_NO_SUBSCRIBER, /* published with no subscriber matching its topic */
    SN_DROP_CONNECTION,    /* cut by a lost connection (whole message, either direction) */
    SN_DROP_INVALID,       /* not acceptable here: a stale reply, a broken envelope, a
                              refused peer's traffic, a frame over SINEW_MAXMSGSIZE */
    SN_DROP_REASONS
} sn_drop_reason;

typedef struct sn_stats {
    atomic_int refs;
    _Atomic uint64_t dropped;    /* messages discarded, every cause (SINEW_MSGS_DROPPED) */
    _Atomic uint64_t dropped_by[SN_DROP_REASONS];
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

/* n messages discarded for why: the total and the reason move together. */
static inline void
sn_stats_drop(sn_stats *st, sn_drop_reason why, uint64_t n)
{
    sn_stats_add(&st->dropped, n);
    sn_stats_add(&st->dropped_by[why], n);
}

#endif
