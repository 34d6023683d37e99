/* Absolute CLOCK_REALTIME deadlines, as pthread_cond_timedwait and
 * pthread_timedjoin_np take them. */
#ifndef SINEW_TESTS_SUPPORT_DEADLINE_H
#define SINEW_TESTS_SUPPORT_DEADLINE_H

#include <time.h>

/* Now plus ms milliseconds. */
static inline struct timespec
tn_deadline_in_ms(int ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (long) (ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    return dl;
}

#endif
