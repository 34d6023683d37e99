/* Monotonic millisecond clock shared by the reactor's timers and the socket core's
 * timeouts. CLOCK_MONOTONIC never jumps with wall-clock changes, so deadlines computed
 * from it stay valid across NTP adjustments. */
#ifndef SINEW_IO_CLOCK_H
#define SINEW_IO_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Any thread, never blocks. Nanoseconds since an arbitrary fixed point. */
static inline uint64_t
sn_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Any thread, never blocks. Milliseconds since the same point. */
static inline uint64_t
sn_clock_ms(void)
{
    return sn_clock_ns() / 1000000u;
}

#endif
