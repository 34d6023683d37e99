/* sinew_poll: waits on sockets and plain descriptors together, without busy waiting.
 * A socket is represented by its edge eventfd (SINEW_FD): each round first consumes the
 * signal, then asks the socket for its events, so a change after the check signals the
 * fd again and poll(2) returns. */
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>

#include "core/socket.h"

static int
fail(int err)
{
    errno = err;
    return -1;
}

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Checks one socket item; sets *fd to its eventfd. -errno on a bad socket. */
static int
check_socket(sinew_pollitem_t *it, int *fd)
{
    sn_socket *s = sn_socket_enter(it->socket);
    if (s == NULL)
        return -ENOTSOCK;
    /* The fd's signal is consumed (by poll_fd and events) before termination is looked
     * at: a shutdown sets the flag before it signals, so one that comes after the look
     * still wakes poll(2). */
    int rc = 0;
    *fd = sn_socket_poll_fd(s);
    if (*fd < 0)
        rc = *fd;
    else
        it->revents = (short) (sn_socket_events(s) & it->events &
                               (SINEW_POLLIN | SINEW_POLLOUT));
    if (rc == 0 && atomic_load(&s->ctx->terminating))
        rc = -ETERM;
    sn_socket_leave(s);
    return rc;
}

SINEW_EXPORT int
sinew_poll(sinew_pollitem_t *items, int nitems, long timeout)
{
    if (nitems < 0 || (items == NULL && nitems > 0))
        return fail(EFAULT);
    if (nitems == 0) {
        if (timeout == 0)
            return 0;
        struct timespec ts = {.tv_sec = timeout / 1000, .tv_nsec = (timeout % 1000) * 1000000};
        if (timeout < 0)
            return fail(EFAULT); /* would sleep forever with nothing to wake it */
        nanosleep(&ts, NULL);
        return 0;
    }
    struct pollfd stackfds[SINEW_POLLITEMS_DFLT];
    struct pollfd *pfds = nitems <= SINEW_POLLITEMS_DFLT ? stackfds
                                                         : malloc((size_t) nitems * sizeof *pfds);
    if (pfds == NULL)
        return fail(ENOMEM);
    int64_t deadline = timeout < 0 ? INT64_MAX : now_ms() + timeout;
    int ready, err = 0;
    for (;;) {
        ready = 0;
        for (int i = 0; i < nitems; i++) {
            sinew_pollitem_t *it = &items[i];
            it->revents = 0;
            pfds[i].events = 0;
            pfds[i].revents = 0;
            if (it->socket != NULL) {
                int rc = check_socket(it, &pfds[i].fd);
                if (rc < 0) {
                    err = -rc;
                    goto out;
                }
                pfds[i].events = POLLIN;
            } else {
                pfds[i].fd = it->fd;
                if (it->events & SINEW_POLLIN)
                    pfds[i].events |= POLLIN;
                if (it->events & SINEW_POLLOUT)
                    pfds[i].events |= POLLOUT;
                if (it->events & SINEW_POLLPRI)
                    pfds[i].events |= POLLPRI;
            }
        }
        int64_t left = deadline == INT64_MAX ? -1 : deadline - now_ms();
        for (int i = 0; i < nitems; i++)
            if (items[i].revents != 0)
                left = 0; /* a socket is ready: only collect fd states */
        if (deadline != INT64_MAX && left < 0)
            left = 0; /* -1 would mean "forever" to poll(2) */
        int n = poll(pfds, (nfds_t) nitems, left > INT_MAX ? INT_MAX : (int) left);
        if (n < 0) {
            err = errno;
            goto out;
        }
        for (int i = 0; i < nitems; i++) {
            sinew_pollitem_t *it = &items[i];
            if (it->socket == NULL) {
                short r = 0;
                if (pfds[i].revents & POLLIN)
                    r |= SINEW_POLLIN;
                if (pfds[i].revents & POLLOUT)
                    r |= SINEW_POLLOUT;
                if (pfds[i].revents & POLLPRI)
                    r |= SINEW_POLLPRI;
                if (pfds[i].revents & (POLLERR | POLLHUP | POLLNVAL))
                    r |= SINEW_POLLERR;
                it->revents = (short) (r & (it->events | SINEW_POLLERR));
            }
            if (it->revents != 0)
                ready++;
        }
        if (ready > 0 || (deadline != INT64_MAX && now_ms() >= deadline))
            break;
        /* A socket fd fired, or a wake was spurious: look again. */
    }
out:
    if (pfds != stackfds)
        free(pfds);
    return err ? fail(err) : ready;
}
