/* How the I/O threads are scheduled: SINEW_THREAD_SCHED_POLICY and SINEW_THREAD_PRIORITY.
 * Each test reads the policy of the context's I/O threads back from the kernel
 * (sched_getscheduler on each "sinew/io/N" thread of this process). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "support/io_threads.h"
#include "support/net.h"

TestSuite(io_sched, .timeout = 30);

/* Policies (and priorities) of this process's I/O threads; returns how many there are. */
static int
io_policies(int *policy, int *priority, int max)
{
    pid_t tids[8];
    int n = tn_io_threads(tids, max < 8 ? max : 8);
    cr_assert_geq(n, 0, "no /proc/self/task");
    for (int i = 0; i < n; i++) {
        struct sched_param sp;
        policy[i] = sched_getscheduler(tids[i]);
        cr_assert_eq(sched_getparam(tids[i], &sp), 0);
        priority[i] = sp.sched_priority;
    }
    return n;
}

/* Starts ctx's I/O threads (its first socket) and checks they all run with want. */
static void
expect_policy(void *ctx, int io_threads, int want, int want_priority)
{
    void *s = sinew_socket(ctx, SINEW_PAIR);
    cr_assert_not_null(s, "sinew_socket: %s", sinew_strerror(sinew_errno()));
    int policy[8], priority[8];
    int n = io_policies(policy, priority, 8);
    cr_assert_eq(n, io_threads);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(policy[i], want, "I/O thread %d: policy %d, want %d", i, policy[i],
                     want);
        cr_assert_eq(priority[i], want_priority);
    }
    cr_assert_eq(sinew_close(s), 0);
}

Test(io_sched, default_is_sched_batch)
{
    void *ctx = sinew_ctx_new();
    cr_assert_eq(sinew_ctx_get(ctx, SINEW_THREAD_SCHED_POLICY), -1, "write-only");
    cr_assert_eq(sinew_errno(), EINVAL);
    cr_assert_eq(SINEW_THREAD_SCHED_POLICY_DFLT, SCHED_BATCH);
    cr_assert_eq(sinew_ctx_set(ctx, SINEW_IO_THREADS, 2), 0);
    expect_policy(ctx, 2, SCHED_BATCH, 0);
    cr_assert_eq(sinew_ctx_term(ctx), 0);
}

Test(io_sched, sched_other_on_request)
{
    void *ctx = sinew_ctx_new();
    cr_assert_eq(sinew_ctx_set(ctx, SINEW_THREAD_SCHED_POLICY, SCHED_OTHER), 0);
    expect_policy(ctx, 1, SCHED_OTHER, 0);
    cr_assert_eq(sinew_ctx_term(ctx), 0);
}

/* -1 keeps what the thread creating the first socket has: here SCHED_IDLE. */
static void *
first_socket_from_idle_thread(void *ctx)
{
    struct sched_param sp = {0};
    cr_assert_eq(sched_setscheduler(0, SCHED_IDLE, &sp), 0);
    expect_policy(ctx, 1, SCHED_IDLE, 0);
    return NULL;
}

Test(io_sched, minus_one_inherits_from_the_creating_thread)
{
    void *ctx = sinew_ctx_new();
    cr_assert_eq(sinew_ctx_set(ctx, SINEW_THREAD_SCHED_POLICY, -1), 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, first_socket_from_idle_thread, ctx), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(sinew_ctx_term(ctx), 0);
}

/* A real-time policy: granted with the priority asked for, or refused (EPERM) when the
 * process may not use it; the refusal comes from sinew_socket, not from a later abort. */
Test(io_sched, real_time_policy_granted_or_refused_with_eperm)
{
    void *ctx = sinew_ctx_new();
    cr_assert_eq(sinew_ctx_set(ctx, SINEW_THREAD_SCHED_POLICY, SCHED_FIFO), 0);
    cr_assert_eq(sinew_ctx_set(ctx, SINEW_THREAD_PRIORITY, 2), 0);
    void *s = sinew_socket(ctx, SINEW_PAIR);
    if (s == NULL) {
        cr_assert_eq(sinew_errno(), EPERM);
        int policy[8], priority[8];
        cr_assert_eq(io_policies(policy, priority, 8), 0, "no I/O thread is left behind");
    } else {
        int policy[8], priority[8];
        cr_assert_eq(io_policies(policy, priority, 8), 1);
        cr_assert_eq(policy[0], SCHED_FIFO);
        cr_assert_eq(priority[0], 2);
        cr_assert_eq(sinew_close(s), 0);
    }
    cr_assert_eq(sinew_ctx_term(ctx), 0);
}

Test(io_sched, bad_values_einval_and_late_change_ebusy)
{
    void *ctx = sinew_ctx_new();
    cr_assert_eq(sinew_ctx_set(ctx, SINEW_THREAD_SCHED_POLICY, 4), -1); /* no policy 4 */
    cr_assert_eq(sinew_errno(), EINVAL);
    cr_assert_eq(sinew_ctx_set(ctx, SINEW_THREAD_SCHED_POLICY, -2), -1);
    cr_assert_eq(sinew_errno(), EINVAL);
    cr_assert_eq(sinew_ctx_set(ctx, SINEW_THREAD_PRIORITY, 100), -1);
    cr_assert_eq(sinew_errno(), EINVAL);
    cr_assert_eq(sinew_ctx_set(ctx, SINEW_THREAD_PRIORITY, -2), -1);
    cr_assert_eq(sinew_errno(), EINVAL);
    expect_policy(ctx, 1, SCHED_BATCH, 0); /* unchanged by the refused values */
    void *s = sinew_socket(ctx, SINEW_PAIR);
    cr_assert_not_null(s);
    cr_assert_eq(sinew_ctx_set(ctx, SINEW_THREAD_SCHED_POLICY, SCHED_OTHER), -1);
    cr_assert_eq(sinew_errno(), EBUSY);
    cr_assert_eq(sinew_ctx_set(ctx, SINEW_THREAD_PRIORITY, 1), -1);
    cr_assert_eq(sinew_errno(), EBUSY);
    cr_assert_eq(sinew_close(s), 0);
    cr_assert_eq(sinew_ctx_term(ctx), 0);
}
