/* The spin policy of a waiting socket (src/core/socket.c, socket_wait) as pure functions,
 * so that unit tests can drive it without clocks or threads: how long to spin before the
 * futex sleep, and how that budget adapts from one wait to the next. The why is in
 * doc/design.adoc, "Waiting: bounded adaptive spin, then futex". */
#ifndef SINEW_CORE_SPIN_H
#define SINEW_CORE_SPIN_H

#include <stdbool.h>
#include <stdint.h>

/* Budget after a wait that could not spin because the budget was 0: one more cheap try,
 * so that a socket whose spins failed for a while can learn that they pay again. */
#define SN_SPIN_REARM_NS 1000u

/* Nanoseconds to spin in this wait (0: sleep at once). budget is the socket's adaptive
 * budget; peer_here says that the peer thread that last posted to the socket ran on the
 * CPU this thread runs on now. That thread cannot run while we spin here, so spinning
 * would only delay it; the budget is kept for when the peer is elsewhere again. */
static inline uint32_t
sn_spin_now(uint32_t budget, bool peer_here)
{
    return peer_here ? 0 : budget;
}

/* The budget for the next wait. spun: this wait spun (sn_spin_now was not 0); woke: the
 * spin saw the wake-up. A spin that paid off doubles the budget, up to max (SINEW_SPIN_US
 * in ns); one that did not halves it. A wait that did not spin changes nothing, except
 * that a budget of 0 (this wait slept at once) is re-armed. */
static inline uint32_t
sn_spin_next(uint32_t budget, uint32_t max, bool spun, bool woke)
{
    if (!spun)
        return budget == 0 && max > 0 ? (max < SN_SPIN_REARM_NS ? max : SN_SPIN_REARM_NS)
                                      : budget;
    if (woke)
        return budget > max / 2 ? max : budget * 2;
    return budget / 2;
}

#endif
