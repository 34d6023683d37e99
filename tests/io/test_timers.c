/* Timer heap on a simulated clock: deadline order, stable order for ties, cancel by id
 * (including stale ids), and no starvation by callbacks re-arming at delay 0. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "io/timers.h"

TestSuite(io_timers, .timeout = 10.0);

#define N 2000

static int fired[N + 16];
static int nfired;

static void
record(void *arg)
{
    fired[nfired++] = (int)(intptr_t)arg;
}

Test(io_timers, fire_in_deadline_then_insertion_order)
{
    sn_timers t;
    sn_timers_init(&t);
    uint64_t deadlines[] = {30, 10, 20, 0, 10};
    for (int i = 0; i < 5; i++)
        cr_assert_neq(sn_timers_add(&t, 100 + deadlines[i], record, (void *)(intptr_t)i),
                      0);
    cr_assert_eq(sn_timers_timeout(&t, 50), 50);
    cr_assert_eq(sn_timers_run(&t, 99), 0);
    cr_assert_eq(sn_timers_run(&t, 115), 3);
    cr_assert_eq(sn_timers_timeout(&t, 115), 5);
    cr_assert_eq(sn_timers_run(&t, 1000), 2);
    int want[] = {3, 1, 4, 2, 0};
    cr_assert_eq(nfired, 5);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(fired[i], want[i], "position %d", i);
    cr_assert_eq(sn_timers_timeout(&t, 1000), -1);
    sn_timers_fini(&t);
}

Test(io_timers, cancel_removes_and_stale_ids_are_rejected)
{
    sn_timers t;
    sn_timers_init(&t);
    sn_timer_id a = sn_timers_add(&t, 10, record, (void *)1);
    sn_timer_id b = sn_timers_add(&t, 20, record, (void *)2);
    cr_assert_eq(sn_timers_cancel(&t, a), 0);
    cr_assert_eq(sn_timers_cancel(&t, a), -ENOENT);
    cr_assert_eq(sn_timers_cancel(&t, 0), -ENOENT);
    cr_assert_eq(sn_timers_cancel(&t, 0xdead00000077ull), -ENOENT);
    /* The freed slot is reused; the old id must not cancel the new timer. */
    sn_timer_id c = sn_timers_add(&t, 30, record, (void *)3);
    cr_assert_neq(c, a);
    cr_assert_eq(sn_timers_cancel(&t, a), -ENOENT);
    cr_assert_eq(sn_timers_run(&t, 100), 2);
    cr_assert_eq(sn_timers_cancel(&t, b), -ENOENT);
    cr_assert_eq(nfired, 2);
    cr_assert_eq(fired[0], 2);
    cr_assert_eq(fired[1], 3);
    sn_timers_fini(&t);
}

/* Against a reference model: random adds and cancels, then the heap must fire exactly
 * the survivors, ordered by (deadline, insertion). */
Test(io_timers, random_adds_and_cancels_match_model)
{
    static sn_timer_id ids[N];
    static uint64_t dl[N];
    static bool alive[N];
    sn_timers t;
    sn_timers_init(&t);
    srand(12345);
    for (int i = 0; i < N; i++) {
        dl[i] = (uint64_t)(rand() % 500);
        ids[i] = sn_timers_add(&t, dl[i], record, (void *)(intptr_t)i);
        cr_assert_neq(ids[i], 0);
        alive[i] = true;
        if (i > 0 && rand() % 3 == 0) {
            int v = rand() % i;
            cr_assert_eq(sn_timers_cancel(&t, ids[v]), alive[v] ? 0 : -ENOENT);
            alive[v] = false;
        }
    }
    size_t live = 0;
    for (int i = 0; i < N; i++)
        live += alive[i];
    cr_assert_eq(sn_timers_count(&t), live);
    for (uint64_t now = 0; now < 600; now += 7)
        sn_timers_run(&t, now);
    cr_assert_eq((size_t)nfired, live);
    for (int k = 0; k < nfired; k++) {
        cr_assert(alive[fired[k]]);
        if (k > 0) {
            int p = fired[k - 1], q = fired[k];
            /* Runs batch by 7 ms, so order is checked within and across batches. */
            cr_assert(dl[p] < dl[q] || (dl[p] == dl[q] && p < q), "order at %d", k);
        }
    }
    sn_timers_fini(&t);
}

static sn_timers *rearm_t;
static int rearm_calls;

static void
rearm(void *arg)
{
    (void)arg;
    rearm_calls++;
    cr_assert_neq(sn_timers_add(rearm_t, 5, rearm, NULL), 0);
}

Test(io_timers, callback_rearming_due_timer_waits_for_next_run)
{
    sn_timers t;
    sn_timers_init(&t);
    rearm_t = &t;
    sn_timers_add(&t, 5, rearm, NULL);
    cr_assert_eq(sn_timers_run(&t, 10), 1);
    cr_assert_eq(sn_timers_run(&t, 10), 1);
    cr_assert_eq(rearm_calls, 2);
    cr_assert_eq(sn_timers_count(&t), 1);
    sn_timers_fini(&t);
}
