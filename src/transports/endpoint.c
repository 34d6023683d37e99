/* Endpoint parsing and the transport table. Syntax follows libzmq 4.3 (zmq_tcp(7),
 * zmq_ipc(7), zmq_inproc(7)); rejected forms are listed in endpoint.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "transports/transport.h"

/* Copies len bytes of s as a NUL-terminated host, path or name; -EINVAL if it does
 * not fit. */
int
sn_endpoint_copy_host(char *dst, const char *s, size_t len)
{
    if (len > SN_ENDPOINT_MAX)
        return -EINVAL;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

static int
inproc_parse(const char *rest, sn_endpoint *ep)
{
    return sn_endpoint_copy_host(ep->host, rest, strlen(rest));
}

/* Linked by the socket core (pipes joined directly, src/core/inproc.c): only the name
 * is parsed here, and the network slots stay NULL. */
const sn_transport_ops sn_inproc_transport = {
    .scheme = "inproc",
    .kind = SN_TRANSPORT_INPROC,
    .parse = inproc_parse,
};

/* The transport table: a new transport is one file with its sn_transport_ops and one
 * line here. */
static const sn_transport_ops *const sn_transports[] = {
    &sn_tcp_transport,
    &sn_ipc_transport,
    &sn_inproc_transport,
    NULL,
};

const sn_transport_ops *
sn_transport_find(const char *scheme, size_t len)
{
    for (size_t i = 0; sn_transports[i] != NULL; i++) {
        const char *s = sn_transports[i]->scheme;
        if (strlen(s) == len && memcmp(s, scheme, len) == 0)
            return sn_transports[i];
    }
    return NULL;
}

int
sn_endpoint_parse(const char *addr, sn_endpoint *ep)
{
    memset(ep, 0, sizeof *ep);
    if (addr == NULL)
        return -EINVAL;
    const char *sep = strstr(addr, "://");
    if (sep == NULL || sep == addr || sep[3] == '\0')
        return -EINVAL;
    const sn_transport_ops *ops = sn_transport_find(addr, (size_t)(sep - addr));
    if (ops == NULL)
        return -EPROTONOSUPPORT;
    ep->ops = ops;
    ep->kind = ops->kind;
    int rc = ops->parse(sep + 3, ep);
    if (rc < 0) {
        memset(ep, 0, sizeof *ep);
        return rc;
    }
    return 0;
}

/* Fits: host is at most SN_ENDPOINT_MAX bytes, brackets and port at most 8 more. */
static void
format_hostport(char *buf, size_t len, const char *host, uint16_t port, unsigned flags)
{
    bool brackets = strchr(host, ':') != NULL;
    if (flags & SN_EP_ANY_PORT)
        snprintf(buf, len, "%s%s%s:*", brackets ? "[" : "", host, brackets ? "]" : "");
    else
        snprintf(buf, len, "%s%s%s:%u", brackets ? "[" : "", host, brackets ? "]" : "",
                 (unsigned)port);
}

int
sn_endpoint_format(const sn_endpoint *ep, char *buf, size_t len)
{
    int n;
    switch (ep->kind) {
    case SN_TRANSPORT_TCP: {
        char src[SN_ENDPOINT_MAX + 16] = "", dst[SN_ENDPOINT_MAX + 16];
        if (ep->flags & SN_EP_SOURCE) {
            format_hostport(src, sizeof src, ep->src.host, ep->src.port, ep->src.flags);
            strcat(src, ";");
        }
        format_hostport(dst, sizeof dst, ep->host, ep->port, ep->flags);
        n = snprintf(buf, len, "tcp://%s%s", src, dst);
        break;
    }
    case SN_TRANSPORT_IPC:
        if (ep->flags & SN_EP_WILDCARD)
            n = snprintf(buf, len, "ipc://*");
        else
            n = snprintf(buf, len, "ipc://%s%s", (ep->flags & SN_EP_ABSTRACT) ? "@" : "",
                         ep->host);
        break;
    default:
        n = snprintf(buf, len, "inproc://%s", ep->host);
        break;
    }
    if (n < 0 || (size_t)n >= len)
        return -ENOSPC;
    return n;
}

int
sn_connect_finish(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    return -err;
}
