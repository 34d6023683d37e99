/* eventfd signaler: sends coalesce, recv drains, wait honours its timeout. */
#include <criterion/criterion.h>
#include <errno.h>

#include "io/signaler.h"

TestSuite(io_signaler, .timeout = 10.0);

Test(io_signaler, sends_coalesce_and_recv_drains)
{
    sn_signaler s;
    cr_assert_eq(sn_signaler_init(&s), 0);
    cr_assert_geq(sn_signaler_fd(&s), 0);
    cr_assert_eq(sn_signaler_recv(&s), 0);
    cr_assert_eq(sn_signaler_wait(&s, 0), -EAGAIN);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(sn_signaler_send(&s), 0);
    cr_assert_eq(sn_signaler_wait(&s, 1000), 0);
    cr_assert_eq(sn_signaler_recv(&s), 1);
    cr_assert_eq(sn_signaler_recv(&s), 0);
    sn_signaler_close(&s);
    cr_assert_eq(sn_signaler_fd(&s), -1);
    sn_signaler_close(&s);
}
