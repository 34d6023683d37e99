/* Unit tests of the spin policy (src/core/spin.h): the budget arithmetic only. Whether
 * spinning pays is measured by the benchmarks (perf/), never timed here. */
#include <criterion/criterion.h>

#include "core/spin.h"

TestSuite(spin, .timeout = 10);

#define MAX 50000u /* SINEW_SPIN_US = 50 */

Test(spin, spins_its_budget_when_the_waker_ran_elsewhere)
{
    cr_assert_eq(sn_spin_now(MAX, false), MAX);
    cr_assert_eq(sn_spin_now(1000, false), 1000);
    cr_assert_eq(sn_spin_now(0, false), 0);
}

Test(spin, does_not_spin_when_the_waker_ran_on_this_cpu)
{
    cr_assert_eq(sn_spin_now(MAX, true), 0);
    cr_assert_eq(sn_spin_now(1000, true), 0);
}

Test(spin, a_spin_that_paid_doubles_the_budget_up_to_the_maximum)
{
    cr_assert_eq(sn_spin_next(1000, MAX, true, true), 2000);
    cr_assert_eq(sn_spin_next(MAX / 2, MAX, true, true), MAX);
    cr_assert_eq(sn_spin_next(MAX / 2 + 1, MAX, true, true), MAX);
    cr_assert_eq(sn_spin_next(MAX, MAX, true, true), MAX);
    /* The largest SINEW_SPIN_US (1 s) does not overflow. */
    cr_assert_eq(sn_spin_next(1000000000u, 1000000000u, true, true), 1000000000u);
}

Test(spin, a_spin_in_vain_halves_the_budget_down_to_zero)
{
    uint32_t b = MAX;
    int waits = 0;
    while (b > 0) {
        b = sn_spin_next(b, MAX, true, false);
        waits++;
    }
    cr_assert_eq(waits, 16, "50 us halves to nothing in 16 fruitless spins");
}

Test(spin, a_wait_at_budget_zero_re_arms_a_short_spin)
{
    cr_assert_eq(sn_spin_next(0, MAX, false, false), SN_SPIN_REARM_NS);
    cr_assert_eq(sn_spin_next(0, MAX, false, true), SN_SPIN_REARM_NS);
}

Test(spin, a_wait_that_did_not_spin_keeps_the_budget)
{
    /* e.g. the waker was on this CPU: the budget is kept for when it is elsewhere */
    cr_assert_eq(sn_spin_next(MAX, MAX, false, true), MAX);
    cr_assert_eq(sn_spin_next(3000, MAX, false, false), 3000);
}

Test(spin, spinning_turned_off_stays_off)
{
    cr_assert_eq(sn_spin_now(0, false), 0);
    cr_assert_eq(sn_spin_next(0, 0, false, false), 0);
}
