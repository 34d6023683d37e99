/* AF_UNIX stream plumbing for the ipc:// transport: listen (with stale-file reclaim,
 * wildcard paths and the Linux abstract namespace), non-blocking connect and accept.
 * Same shape as tcp.h: fds are non-blocking and close-on-exec, results are 0 or -errno,
 * nothing blocks, any thread may call (normally a reactor thread). */
#ifndef SINEW_TRANSPORTS_IPC_H
#define SINEW_TRANSPORTS_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>

#include "transports/endpoint.h"

#define SN_IPC_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

/* A bound listener and what must be undone when it closes. Owned by the caller. */
typedef struct sn_ipc_listener {
    int fd;                       /* listening fd, -1 once closed */
    char path[SN_IPC_PATH_MAX];   /* socket file we created; "" for abstract */
    char tmpdir[SN_IPC_PATH_MAX]; /* wildcard: directory we created; else "" */
    dev_t dev;                    /* identity of our socket file, so close never */
    ino_t ino;                    /* unlinks a file someone else bound since */
} sn_ipc_listener;

/* Binds and listens on ep (kind IPC).
 * - ipc:///path: if the file exists and nobody accepts on it (connect is refused) and
 *   it is a socket, it is a leftover of a dead process: unlinked and bound again. If
 *   something listens there, or it is not a socket, -EADDRINUSE.
 * - ipc://@name: abstract namespace, no file; -EADDRINUSE if taken.
 * - "ipc://" "*" (wildcard): creates a fresh directory with mkdtemp under $TMPDIR (else
 * /tmp) and binds "socket" inside it; both are removed by sn_ipc_listener_close. resolved
 * (may be NULL) receives "ipc:///path" or "ipc://@name". Errors: -EADDRINUSE,
 * -ENOENT/-EACCES (directory), -ENAMETOOLONG (wildcard path too long), -ENOSPC
 * (resolved too small), -EINVAL... */
int sn_ipc_listen(const sn_endpoint *ep, int backlog, sn_ipc_listener *l, char *resolved,
                  size_t len);

/* Unlinks the socket file only if it is still the one we bound (same st_dev/st_ino),
 * and removes the wildcard directory; the fd stays open. Idempotent. */
void sn_ipc_listener_unlink(sn_ipc_listener *l);
/* Closes the fd, then sn_ipc_listener_unlink. Idempotent. */
void sn_ipc_listener_close(sn_ipc_listener *l);

/* Starts a non-blocking connect; as sn_tcp_connect_start. Errors: -EINVAL (wildcard),
 * -ECONNREFUSED (nobody listening, or no such file yet: retry later), -EAGAIN (the
 * listener's backlog is full: retry later), -EMFILE... */
int sn_ipc_connect_start(const sn_endpoint *ep, int *fd_out, bool *connected);


/* Accepts one connection; as sn_tcp_accept. peer_addr (may be NULL) receives the
 * peer's bound path if it has one, else "" (clients are normally unnamed). */
int sn_ipc_accept(int listen_fd, int *fd_out, char *peer_addr, size_t len);

#endif
