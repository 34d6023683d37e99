/* Endpoint strings ("scheme://rest") and the table of transports that parse them.
 * Parsing does no I/O and no name resolution: it only checks syntax and splits the
 * address, so sinew_bind/sinew_connect can return EINVAL before touching the network.
 * Called by the socket core on the caller's thread; never blocks. */
#ifndef SINEW_TRANSPORTS_ENDPOINT_H
#define SINEW_TRANSPORTS_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

/* Longest accepted host, path or inproc name, in bytes (excluding the NUL). */
#define SN_ENDPOINT_MAX 256

typedef enum sn_transport_kind {
    SN_TRANSPORT_TCP,
    SN_TRANSPORT_IPC,
    SN_TRANSPORT_INPROC,
} sn_transport_kind;

/* sn_endpoint.flags (and sn_endpoint.src.flags for the first three) */
#define SN_EP_ANY_HOST 0x01u /* tcp "*" host: every interface (bind only) */
#define SN_EP_ANY_PORT 0x02u /* tcp "*" or "0" port: ephemeral (bind only) */
#define SN_EP_IPV6 0x04u     /* tcp host was a bracketed IPv6 literal "[...]" */
#define SN_EP_ABSTRACT 0x08u /* ipc "@name": Linux abstract namespace */
#define SN_EP_WILDCARD 0x10u /* ipc "*": bind picks a fresh path in a temp dir */
#define SN_EP_SOURCE 0x20u   /* tcp "src;dst": connect from src (fields in .src) */

typedef struct sn_transport_ops sn_transport_ops;

typedef struct sn_endpoint {
    const sn_transport_ops *ops;
    sn_transport_kind kind;
    /* tcp: host without brackets ("*", "127.0.0.1", "::1", "eth0", "localhost");
     * ipc: file system path, or for SN_EP_ABSTRACT the non-empty name after "@", or
     * empty for SN_EP_WILDCARD; inproc: the name. */
    char host[SN_ENDPOINT_MAX + 1];
    uint16_t port; /* tcp only; 0 with SN_EP_ANY_PORT */
    unsigned flags;
    struct {
        char host[SN_ENDPOINT_MAX + 1]; /* same forms as a bind host */
        uint16_t port;
        unsigned flags; /* SN_EP_ANY_HOST, SN_EP_ANY_PORT, SN_EP_IPV6 */
    } src;              /* tcp with SN_EP_SOURCE only */
} sn_endpoint;

/* Finds the transport for scheme (len bytes, not NUL-terminated); NULL if unknown. */
const sn_transport_ops *sn_transport_find(const char *scheme, size_t len);

/* Parses addr into *ep. 0; -EINVAL when malformed (no "://", empty parts, bad port,
 * junk); -EPROTONOSUPPORT for an unknown scheme; -ENAMETOOLONG for an ipc path that
 * does not fit sockaddr_un. Any thread, no I/O.
 *
 * tcp://HOST:PORT, HOST = "*" | IPv4 literal | "[" IPv6 literal "]" | interface name
 * | DNS name; PORT = "*" | 0..65535 (decimal digits only). Which HOST forms work for
 * bind and connect is decided by src/transports/tcp.h. "tcp://SRC;DST" (libzmq's
 * source address, connect only) gives SRC = HOST:PORT to bind before connecting to
 * DST; at most one ";", both sides non-empty.
 * ipc://PATH | ipc://@NAME | "ipc://" "*" (wildcard: a fresh path chosen at bind).
 * inproc://NAME, 1..256 bytes, any characters. */
int sn_endpoint_parse(const char *addr, sn_endpoint *ep);

/* Writes ep back as a string ("tcp://[::1]:5555", "ipc://@name") into buf; returns
 * its length, or -ENOSPC if len is too small. For bound endpoints use the resolved
 * string the transport returns instead: this echoes "*" as given. */
int sn_endpoint_format(const sn_endpoint *ep, char *buf, size_t len);

/* For transports' parse functions: copies len bytes of s into dst (a host, path or
 * name buffer of SN_ENDPOINT_MAX + 1 bytes) with a NUL; -EINVAL if it does not fit. */
int sn_endpoint_copy_host(char *dst, const char *s, size_t len);

/* After EPOLLOUT (or EPOLLERR/EPOLLHUP) on a connecting tcp or ipc fd: 0 if connected,
 * else the connect error (-ECONNREFUSED, -ETIMEDOUT, ...). The caller closes fd on
 * failure. */
int sn_connect_finish(int fd);

#endif
