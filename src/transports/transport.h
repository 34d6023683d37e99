/* The transport table's entries (see endpoint.c for the table). A network transport
 * produces connected, non-blocking descriptors for the one ZMTP engine and knows nothing
 * of ZMTP; the listener and the connecter (src/core) drive it through these slots only,
 * so a new transport is one file and one table line. inproc is linked by the socket core
 * itself: only its parse slot is set.
 *
 * Slots other than parse run on an I/O thread, except listen, which runs on the binding
 * application thread so that EADDRINUSE and the resolved address come back to it. None
 * blocks (tcp connect may resolve a DNS name). Results are 0 or -errno. */
#ifndef SINEW_TRANSPORTS_TRANSPORT_H
#define SINEW_TRANSPORTS_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "transports/endpoint.h"
#include "transports/ipc.h"
#include "transports/tcp.h"

/* A listening descriptor and what closing it must undo (an ipc socket file). */
typedef struct sn_listen_fd {
    int fd;
    sn_ipc_listener ipc; /* ipc only */
} sn_listen_fd;

struct sn_transport_ops {
    const char *scheme;
    sn_transport_kind kind;
    /* The text after "scheme://" into ep (ops and kind already set): 0, -EINVAL for bad
     * syntax, -ENAMETOOLONG for a too long path. No I/O. */
    int (*parse)(const char *rest, sn_endpoint *ep);
    /* Bind and listen (o carries the kernel options, backlog included); resolved gets
     * the endpoint as bound (port 0 and "*" resolved). */
    int (*listen)(const sn_endpoint *ep, const sn_tcp_opts *o, sn_listen_fd *l,
                  char *resolved, size_t len);
    /* One pending connection: -EAGAIN if none; peer gets its address (Peer-Address). */
    int (*accept)(sn_listen_fd *l, int *fd, char *peer, size_t len);
    /* Give the name up now (unbind; an ipc file goes), the descriptor stays. */
    void (*unlink)(sn_listen_fd *l);
    void (*close)(sn_listen_fd *l); /* idempotent */
    /* Start a non-blocking connect: *connected when done at once, else wait for
     * EPOLLOUT and call sn_connect_finish. */
    int (*connect)(const sn_endpoint *ep, const sn_tcp_opts *o, int *fd, bool *connected);
    /* Kernel options for an accepted or connected descriptor; NULL: none apply. The
     * result is not acted on: a connection works without them. */
    int (*tune)(int fd, const sn_tcp_opts *o);
};

extern const sn_transport_ops sn_tcp_transport, sn_ipc_transport, sn_inproc_transport;

/* Linked by the socket core rather than through an I/O thread (inproc). */
static inline bool
sn_transport_is_local(const sn_transport_ops *ops)
{
    return ops->connect == NULL;
}

#endif
