/* TCP plumbing for the socket core: listening, non-blocking connect, accept and socket
 * options. It produces connected non-blocking close-on-exec fds and knows nothing of
 * ZMTP. Functions never block, except sn_tcp_connect_start on a DNS name (getaddrinfo);
 * they may be called from any thread, and normally run on a reactor thread. All return
 * 0 (or a length) or -errno; fds returned belong to the caller. */
#ifndef SINEW_TRANSPORTS_TCP_H
#define SINEW_TRANSPORTS_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "transports/endpoint.h"

/* Socket options that reach the kernel, with libzmq's names and meanings. */
typedef struct sn_tcp_opts {
    bool ipv6;           /* SINEW_IPV6: allow IPv6 (literals, names, dual-stack "*") */
    int backlog;         /* SINEW_BACKLOG: listen queue length */
    int sndbuf;          /* SINEW_SNDBUF: SO_SNDBUF bytes, -1 = OS default */
    int rcvbuf;          /* SINEW_RCVBUF: SO_RCVBUF bytes, -1 = OS default */
    int keepalive;       /* SINEW_TCP_KEEPALIVE: -1 OS default, 0 off, 1 on */
    int keepalive_cnt;   /* SINEW_TCP_KEEPALIVE_CNT: TCP_KEEPCNT, -1 = OS default */
    int keepalive_idle;  /* SINEW_TCP_KEEPALIVE_IDLE: TCP_KEEPIDLE s, -1 = OS default */
    int keepalive_intvl; /* SINEW_TCP_KEEPALIVE_INTVL: TCP_KEEPINTVL s, -1 = default */
} sn_tcp_opts;

/* libzmq's defaults: IPv4 only, backlog 100, everything else left to the OS. Every
 * function below treats opts == NULL as these. */
void sn_tcp_opts_default(sn_tcp_opts *o);

/* Binds and listens on ep (kind TCP). Host: "*" (INADDR_ANY, or with o->ipv6 the
 * dual-stack in6addr_any), an IPv4 literal, a bracketed IPv6 literal (needs o->ipv6),
 * or an interface name, bound to its first IPv4 address (or IPv6 with o->ipv6). DNS
 * names are not resolved for bind, as in libzmq. SO_REUSEADDR is set, and SO_SNDBUF/
 * SO_RCVBUF so that accepted sockets inherit them. On success *fd_out is the listening
 * fd and, if resolved is not NULL, it receives the bound endpoint with the real port,
 * e.g. "tcp://127.0.0.1:41234" or "tcp://[::]:5555" (SINEW_LAST_ENDPOINT).
 * Errors: -EINVAL (IPv6 literal without ipv6; a "src;dst" endpoint), -ENODEV (no such
 * interface), -EADDRNOTAVAIL (no address of a usable family on it, or not local),
 * -EADDRINUSE, -EACCES, -ENOSPC (resolved too small), -EMFILE... */
int sn_tcp_listen(const sn_endpoint *ep, const sn_tcp_opts *o, int *fd_out,
                  char *resolved, size_t len);

/* Starts a non-blocking connect to ep: resolves the host (literal, or a DNS name via
 * getaddrinfo: may block; first result wins, IPv4 only unless o->ipv6), creates the
 * socket, applies sn_tcp_tune, connects. On 0, *fd_out is the fd and *connected says
 * whether the connection completed at once; otherwise wait for EPOLLOUT and call
 * sn_connect_finish. With SN_EP_SOURCE the socket is first bound to the source
 * (bind rules of sn_tcp_listen; "*" host or port allowed). Errors (no fd is left
 * open): -EINVAL ("*" host or port 0/"*", IPv6 without o->ipv6, unresolvable name:
 * libzmq's choice; source of the other family), -EAGAIN (DNS temporarily failed),
 * -EADDRNOTAVAIL/-EADDRINUSE/-ENODEV (source), -ECONNREFUSED, -ENETUNREACH... */
int sn_tcp_connect_start(const sn_endpoint *ep, const sn_tcp_opts *o, int *fd_out,
                         bool *connected);

/* Accepts one connection, non-blocking and close-on-exec. peer_addr (may be NULL)
 * receives the peer's numeric IP without port ("127.0.0.1", "::1"), as libzmq's
 * Peer-Address property. The caller then applies sn_tcp_tune to *fd_out. Errors:
 * -EAGAIN (nothing pending), -ECONNABORTED/-EPROTO/-EINTR (transient: try again),
 * -EMFILE/-ENFILE/-ENOBUFS/-ENOMEM (resources: back off). */
int sn_tcp_accept(int listen_fd, int *fd_out, char *peer_addr, size_t len);

/* Applies o to a connected (or connecting) fd: TCP_NODELAY always; SO_SNDBUF and
 * SO_RCVBUF when >= 0; SO_KEEPALIVE when keepalive is 0 or 1, and with 1 also
 * TCP_KEEPCNT/TCP_KEEPIDLE/TCP_KEEPINTVL when each is not -1 (as libzmq's
 * tune_tcp_keepalives). 0 or the first -errno. */
int sn_tcp_tune(int fd, const sn_tcp_opts *o);

/* Formats a tcp address as an endpoint, "tcp://1.2.3.4:5555" or "tcp://[::1]:5555".
 * Returns the length, -EAFNOSUPPORT for a non-IP family, -ENOSPC if len is short. */
int sn_tcp_format(const struct sockaddr *sa, socklen_t salen, char *buf, size_t len);

/* sn_tcp_format of the fd's local (getsockname) or remote (getpeername) address. */
int sn_tcp_local_endpoint(int fd, char *buf, size_t len);
int sn_tcp_peer_endpoint(int fd, char *buf, size_t len);

#endif
