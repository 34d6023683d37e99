/* Helpers for transport tests: bounded waits on fds and byte exchange over a pair of
 * connected fds. Waits poll with a deadline; nothing sleeps. */
#ifndef SINEW_TESTS_TRANSPORT_TNET_H
#define SINEW_TESTS_TRANSPORT_TNET_H

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#define TNET_WAIT_MS 5000

/* revents of fd for events, or 0 after TNET_WAIT_MS. */
static inline short
tnet_wait(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    int n = poll(&p, 1, TNET_WAIT_MS);
    return n == 1 ? p.revents : 0;
}

/* Sends a short message each way between two connected non-blocking fds. */
static inline void
tnet_exchange(int a, int b)
{
    char buf[16];
    cr_assert_eq(write(a, "ping", 4), 4);
    cr_assert(tnet_wait(b, POLLIN) & POLLIN);
    cr_assert_eq(read(b, buf, sizeof buf), 4);
    cr_assert_eq(memcmp(buf, "ping", 4), 0);
    cr_assert_eq(write(b, "pong", 4), 4);
    cr_assert(tnet_wait(a, POLLIN) & POLLIN);
    cr_assert_eq(read(a, buf, sizeof buf), 4);
    cr_assert_eq(memcmp(buf, "pong", 4), 0);
}

#endif
