/* Endpoint parsing and the transport table. Syntax follows libzmq 4.3 (zmq_tcp(7),
 * zmq_ipc(7), zmq_inproc(7)); rejected forms are listed in endpoint.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "transports/endpoint.h"

/* Longest tcp host: a DNS name is at most 253 bytes. */
#define SN_TCP_HOST_MAX 255

static int
copy_host(char *dst, const char *s, size_t len)
{
    if (len > SN_ENDPOINT_MAX)
        return -EINVAL;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

/* "*", or 0..65535 in plain decimal ("0" means ephemeral too, as in libzmq). */
static int
tcp_parse_port(const char *s, size_t n, uint16_t *port, unsigned *flags)
{
    if (n == 1 && s[0] == '*') {
        *flags |= SN_EP_ANY_PORT;
        *port = 0;
        return 0;
    }
    if (n == 0 || n > 5)
        return -EINVAL;
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > 65535)
        return -EINVAL;
    *port = (uint16_t)v;
    if (v == 0)
        *flags |= SN_EP_ANY_PORT;
    return 0;
}

/* Bracketed IPv6 literal, optionally with a "%scope" suffix (interface or index). */
static int
tcp_check_ipv6(const char *host)
{
    char addr[INET6_ADDRSTRLEN];
    const char *pct = strchr(host, '%');
    size_t len = pct != NULL ? (size_t)(pct - host) : strlen(host);
    if (len == 0 || len >= sizeof addr || (pct != NULL && pct[1] == '\0'))
        return -EINVAL;
    memcpy(addr, host, len);
    addr[len] = '\0';
    struct in6_addr a;
    return inet_pton(AF_INET6, addr, &a) == 1 ? 0 : -EINVAL;
}

/* Unbracketed host: "*", an IPv4 literal, an interface or DNS name. Colons belong in
 * brackets; "/", ";" and spaces are never part of a host. */
static int
tcp_check_name(const char *host, size_t len)
{
    if (len == 0 || len > SN_TCP_HOST_MAX)
        return -EINVAL;
    if (len == 1 && host[0] == '*')
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c <= ' ' || c >= 0x7f || strchr(":/;[]*@", c) != NULL)
            return -EINVAL;
    }
    return 0;
}

/* One "host:port" of n bytes at s (not NUL-terminated: it may end at the ";"). */
static int
tcp_parse_hostport(const char *s, size_t n, char *host, uint16_t *port, unsigned *flags)
{
    int rc;
    const char *end = s + n, *colon;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL || close + 1 == end || close[1] != ':')
            return -EINVAL;
        rc = copy_host(host, s + 1, (size_t)(close - s - 1));
        if (rc < 0)
            return rc;
        rc = tcp_check_ipv6(host);
        if (rc < 0)
            return rc;
        *flags |= SN_EP_IPV6;
        colon = close + 1;
    } else {
        colon = memrchr(s, ':', n);
        if (colon == NULL)
            return -EINVAL;
        rc = tcp_check_name(s, (size_t)(colon - s));
        if (rc < 0)
            return rc;
        rc = copy_host(host, s, (size_t)(colon - s));
        if (rc < 0)
            return rc;
        if (strcmp(host, "*") == 0)
            *flags |= SN_EP_ANY_HOST;
    }
    return tcp_parse_port(colon + 1, (size_t)(end - colon - 1), port, flags);
}

static int
tcp_parse(const char *rest, sn_endpoint *ep)
{
    const char *semi = strchr(rest, ';');
    if (semi == NULL)
        return tcp_parse_hostport(rest, strlen(rest), ep->host, &ep->port, &ep->flags);
    if (strchr(semi + 1, ';') != NULL)
        return -EINVAL;
    ep->flags |= SN_EP_SOURCE;
    int rc = tcp_parse_hostport(rest, (size_t)(semi - rest), ep->src.host, &ep->src.port,
                                &ep->src.flags);
    if (rc < 0)
        return rc;
    return tcp_parse_hostport(semi + 1, strlen(semi + 1), ep->host, &ep->port,
                              &ep->flags);
}

/* The path must fit sun_path with its NUL; an abstract name takes the NUL's place at
 * the front instead, so both limits are the same (libzmq reports ENAMETOOLONG). */
static int
ipc_parse(const char *rest, sn_endpoint *ep)
{
    size_t len = strlen(rest);
    if (strcmp(rest, "*") == 0) {
        ep->flags |= SN_EP_WILDCARD;
        return 0;
    }
    if (len >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return -ENAMETOOLONG;
    if (rest[0] == '@') {
        if (len == 1)
            return -EINVAL;
        ep->flags |= SN_EP_ABSTRACT;
        return copy_host(ep->host, rest + 1, len - 1);
    }
    return copy_host(ep->host, rest, len);
}

static int
inproc_parse(const char *rest, sn_endpoint *ep)
{
    return copy_host(ep->host, rest, strlen(rest));
}

static const sn_transport_ops tcp_ops = {
    .scheme = "tcp",
    .kind = SN_TRANSPORT_TCP,
    .parse = tcp_parse,
};

static const sn_transport_ops ipc_ops = {
    .scheme = "ipc",
    .kind = SN_TRANSPORT_IPC,
    .parse = ipc_parse,
};

/* Connected by the socket core (pipes joined directly); only the name is parsed here. */
static const sn_transport_ops inproc_ops = {
    .scheme = "inproc",
    .kind = SN_TRANSPORT_INPROC,
    .parse = inproc_parse,
};

static const sn_transport_ops *const sn_transports[] = {
    &tcp_ops,
    &ipc_ops,
    &inproc_ops,
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
