/* eventfd-backed signaler: the counter is the signal, reading it resets it to zero, so
 * any number of sends between two receives cost one wake-up. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "io/signaler.h"

int
sn_signaler_init(sn_signaler *s)
{
    s->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->fd < 0)
        return -errno;
    return 0;
}

void
sn_signaler_close(sn_signaler *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

int
sn_signaler_send(sn_signaler *s)
{
    uint64_t one = 1;
    for (;;) {
        ssize_t n = write(s->fd, &one, sizeof one);
        if (n == (ssize_t)sizeof one)
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        /* EAGAIN: the counter is saturated, so the fd is readable already. */
        if (n < 0 && errno == EAGAIN)
            return 0;
        return n < 0 ? -errno : -EIO;
    }
}

int
sn_signaler_recv(sn_signaler *s)
{
    uint64_t count;
    for (;;) {
        ssize_t n = read(s->fd, &count, sizeof count);
        if (n == (ssize_t)sizeof count)
            return 1;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        return n < 0 ? -errno : -EIO;
    }
}

int
sn_signaler_wait(sn_signaler *s, int timeout_ms)
{
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    int n = poll(&p, 1, timeout_ms);
    if (n < 0)
        return -errno;
    return n == 0 ? -EAGAIN : 0;
}

int
sn_signaler_fd(const sn_signaler *s)
{
    return s->fd;
}
