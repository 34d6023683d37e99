/* Test helper: a counter threads bump and a test waits on with a deadline, so tests
 * synchronise on events instead of sleeping. */
#ifndef SINEW_TESTS_IO_WAITER_H
#define SINEW_TESTS_IO_WAITER_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "support/deadline.h"

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long count;
} waiter;

static inline void
waiter_init(waiter *w)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->count = 0;
}

static inline void
waiter_fini(waiter *w)
{
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

static inline void
waiter_bump(waiter *w)
{
    pthread_mutex_lock(&w->mu);
    w->count++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* True once count >= n; false after timeout_ms. */
static inline bool
waiter_wait(waiter *w, long n, int timeout_ms)
{
    struct timespec dl = tn_deadline_in_ms(timeout_ms);
    pthread_mutex_lock(&w->mu);
    int rc = 0;
    while (w->count < n && rc == 0)
        rc = pthread_cond_timedwait(&w->cv, &w->mu, &dl);
    bool ok = w->count >= n;
    pthread_mutex_unlock(&w->mu);
    return ok;
}

#endif
