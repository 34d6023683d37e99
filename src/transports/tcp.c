/* TCP listen/connect/accept over non-blocking sockets, with libzmq's address rules:
 * bind takes "*", literals or interface names; connect takes literals or DNS names. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "transports/transport.h"

void
sn_tcp_opts_default(sn_tcp_opts *o)
{
    *o = (sn_tcp_opts){
        .ipv6 = false,
        .backlog = 100,
        .sndbuf = -1,
        .rcvbuf = -1,
        .keepalive = -1,
        .keepalive_cnt = -1,
        .keepalive_idle = -1,
        .keepalive_intvl = -1,
    };
}

static const sn_tcp_opts *
tcp_opts(const sn_tcp_opts *o, sn_tcp_opts *fallback)
{
    if (o != NULL)
        return o;
    sn_tcp_opts_default(fallback);
    return fallback;
}

static void
tcp_set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static socklen_t
tcp_salen(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                    : sizeof(struct sockaddr_in6);
}

static int
tcp_setint(int fd, int level, int name, int value)
{
    if (setsockopt(fd, level, name, &value, sizeof value) < 0)
        return -errno;
    return 0;
}

/* Numeric host only ("%scope" allowed for IPv6), in the given family. */
static int
tcp_numeric(const char *host, int family, struct sockaddr_storage *ss)
{
    struct addrinfo hints = {
        .ai_family = family, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
    struct addrinfo *res;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return -EINVAL;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

static int
tcp_interface(const char *name, bool ipv6, struct sockaddr_storage *ss)
{
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) < 0)
        return -errno;
    bool found = false;
    const struct sockaddr *v4 = NULL, *v6 = NULL;
    for (struct ifaddrs *i = ifs; i != NULL; i = i->ifa_next) {
        if (strcmp(i->ifa_name, name) != 0)
            continue;
        found = true;
        if (i->ifa_addr == NULL)
            continue;
        if (i->ifa_addr->sa_family == AF_INET && v4 == NULL)
            v4 = i->ifa_addr;
        else if (i->ifa_addr->sa_family == AF_INET6 && v6 == NULL)
            v6 = i->ifa_addr;
    }
    int rc = found ? -EADDRNOTAVAIL : -ENODEV;
    if (v4 != NULL) {
        memcpy(ss, v4, sizeof(struct sockaddr_in));
        rc = 0;
    } else if (v6 != NULL && ipv6) {
        memcpy(ss, v6, sizeof(struct sockaddr_in6));
        rc = 0;
    }
    freeifaddrs(ifs);
    return rc;
}

/* A local address: the bind side of an endpoint, or the source of a connect. */
static int
tcp_local_addr(const char *host, uint16_t port, unsigned flags, const sn_tcp_opts *o,
               struct sockaddr_storage *ss)
{
    int rc;
    memset(ss, 0, sizeof *ss);
    if (flags & SN_EP_ANY_HOST) {
        if (o->ipv6) {
            ss->ss_family = AF_INET6;
            ((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_any;
        } else {
            ss->ss_family = AF_INET;
            ((struct sockaddr_in *)ss)->sin_addr.s_addr = htonl(INADDR_ANY);
        }
    } else if (flags & SN_EP_IPV6) {
        if (!o->ipv6)
            return -EINVAL;
        rc = tcp_numeric(host, AF_INET6, ss);
        if (rc < 0)
            return rc;
    } else if (tcp_numeric(host, AF_INET, ss) < 0) {
        rc = tcp_interface(host, o->ipv6, ss);
        if (rc < 0)
            return rc;
    }
    tcp_set_port(ss, port);
    return 0;
}

/* Binds a connecting socket to the endpoint's source address. A "*" source host takes
 * the wildcard of the destination's family; a literal of the other family is -EINVAL. */
static int
tcp_bind_source(int fd, const sn_endpoint *ep, const sn_tcp_opts *o, int family)
{
    struct sockaddr_storage src;
    int rc = tcp_local_addr(ep->src.host, ep->src.port, ep->src.flags, o, &src);
    if (rc < 0)
        return rc;
    if (src.ss_family != family) {
        if (!(ep->src.flags & SN_EP_ANY_HOST))
            return -EINVAL;
        memset(&src, 0, sizeof src);
        src.ss_family = (sa_family_t)family;
        tcp_set_port(&src, ep->src.port);
    }
    if (ep->src.port != 0) {
        /* A fixed source port is reused across reconnects while in TIME_WAIT. */
        rc = tcp_setint(fd, SOL_SOCKET, SO_REUSEADDR, 1);
        if (rc < 0)
            return rc;
    }
    if (bind(fd, (struct sockaddr *)&src, tcp_salen(&src)) < 0)
        return -errno;
    return 0;
}

static int
tcp_connect_addr(const sn_endpoint *ep, const sn_tcp_opts *o, struct sockaddr_storage *ss)
{
    if (ep->flags & (SN_EP_ANY_HOST | SN_EP_ANY_PORT))
        return -EINVAL;
    if ((ep->flags & SN_EP_IPV6) && !o->ipv6)
        return -EINVAL;
    struct addrinfo hints = {.ai_family = o->ipv6 ? AF_UNSPEC : AF_INET,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    int rc = getaddrinfo(ep->host, NULL, &hints, &res);
    switch (rc) {
    case 0:
        break;
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_SYSTEM:
        return -errno;
    default:
        return -EINVAL;
    }
    memset(ss, 0, sizeof *ss);
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    tcp_set_port(ss, ep->port);
    return 0;
}

static int
tcp_set_buffers(int fd, const sn_tcp_opts *o)
{
    int rc = 0;
    if (o->sndbuf >= 0)
        rc = tcp_setint(fd, SOL_SOCKET, SO_SNDBUF, o->sndbuf);
    if (rc == 0 && o->rcvbuf >= 0)
        rc = tcp_setint(fd, SOL_SOCKET, SO_RCVBUF, o->rcvbuf);
    return rc;
}

int
sn_tcp_tune(int fd, const sn_tcp_opts *o)
{
    sn_tcp_opts def;
    o = tcp_opts(o, &def);
    int rc = tcp_setint(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    if (rc == 0)
        rc = tcp_set_buffers(fd, o);
    if (rc == 0 && o->keepalive != -1)
        rc = tcp_setint(fd, SOL_SOCKET, SO_KEEPALIVE, o->keepalive != 0);
    if (o->keepalive == 1) {
        if (rc == 0 && o->keepalive_cnt != -1)
            rc = tcp_setint(fd, IPPROTO_TCP, TCP_KEEPCNT, o->keepalive_cnt);
        if (rc == 0 && o->keepalive_idle != -1)
            rc = tcp_setint(fd, IPPROTO_TCP, TCP_KEEPIDLE, o->keepalive_idle);
        if (rc == 0 && o->keepalive_intvl != -1)
            rc = tcp_setint(fd, IPPROTO_TCP, TCP_KEEPINTVL, o->keepalive_intvl);
    }
    return rc;
}

int
sn_tcp_format(const struct sockaddr *sa, socklen_t salen, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    char port[8];
    if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
        return -EAFNOSUPPORT;
    if (getnameinfo(sa, salen, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return -EINVAL;
    bool v6 = sa->sa_family == AF_INET6;
    int n =
        snprintf(buf, len, "tcp://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
    if (n < 0 || (size_t)n >= len)
        return -ENOSPC;
    return n;
}

int
sn_tcp_local_endpoint(int fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
        return -errno;
    return sn_tcp_format((struct sockaddr *)&ss, sl, buf, len);
}

int
sn_tcp_peer_endpoint(int fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
        return -errno;
    return sn_tcp_format((struct sockaddr *)&ss, sl, buf, len);
}

int
sn_tcp_listen(const sn_endpoint *ep, const sn_tcp_opts *o, int *fd_out, char *resolved,
              size_t len)
{
    sn_tcp_opts def;
    struct sockaddr_storage ss;
    o = tcp_opts(o, &def);
    if (ep->kind != SN_TRANSPORT_TCP || (ep->flags & SN_EP_SOURCE))
        return -EINVAL;
    int rc = tcp_local_addr(ep->host, ep->port, ep->flags, o, &ss);
    if (rc < 0)
        return rc;

    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 && errno == EAFNOSUPPORT && (ep->flags & SN_EP_ANY_HOST) &&
        ss.ss_family == AF_INET6) {
        /* IPv6 asked for but absent from this kernel: "*" still means every IPv4
         * interface, as libzmq does. */
        memset(&ss, 0, sizeof ss);
        ss.ss_family = AF_INET;
        tcp_set_port(&ss, ep->port);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    }
    if (fd < 0)
        return -errno;
    if (ss.ss_family == AF_INET6 && (ep->flags & SN_EP_ANY_HOST)) {
        rc = tcp_setint(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
        if (rc < 0)
            goto fail;
    }
    rc = tcp_setint(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (rc == 0)
        rc = tcp_set_buffers(fd, o);
    if (rc < 0)
        goto fail;
    if (bind(fd, (struct sockaddr *)&ss, tcp_salen(&ss)) < 0 ||
        listen(fd, o->backlog) < 0) {
        rc = -errno;
        goto fail;
    }
    if (resolved != NULL) {
        rc = sn_tcp_local_endpoint(fd, resolved, len);
        if (rc < 0)
            goto fail;
    }
    *fd_out = fd;
    return 0;

fail:
    close(fd);
    return rc;
}

int
sn_tcp_connect_start(const sn_endpoint *ep, const sn_tcp_opts *o, int *fd_out,
                     bool *connected)
{
    sn_tcp_opts def;
    struct sockaddr_storage ss;
    o = tcp_opts(o, &def);
    if (ep->kind != SN_TRANSPORT_TCP)
        return -EINVAL;
    int rc = tcp_connect_addr(ep, o, &ss);
    if (rc < 0)
        return rc;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* Before connect: the receive buffer size fixes the window scale in the SYN. */
    rc = sn_tcp_tune(fd, o);
    if (rc == 0 && (ep->flags & SN_EP_SOURCE))
        rc = tcp_bind_source(fd, ep, o, ss.ss_family);
    if (rc < 0)
        goto fail;
    if (connect(fd, (struct sockaddr *)&ss, tcp_salen(&ss)) == 0) {
        *connected = true;
    } else if (errno == EINPROGRESS || errno == EINTR) {
        /* EINTR on a non-blocking connect: it carries on asynchronously. */
        *connected = false;
    } else {
        rc = -errno;
        goto fail;
    }
    *fd_out = fd;
    return 0;

fail:
    close(fd);
    return rc;
}

int
sn_tcp_accept(int listen_fd, int *fd_out, char *peer_addr, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd =
        accept4(listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if (peer_addr != NULL && len > 0 &&
        getnameinfo((struct sockaddr *)&ss, sl, peer_addr, len, NULL, 0,
                    NI_NUMERICHOST) != 0)
        peer_addr[0] = '\0';
    *fd_out = fd;
    return 0;
}

/* ---- the transport table's entry ------------------------------------------------- */

/* Longest tcp host: a DNS name is at most 253 bytes. */
#define SN_TCP_HOST_MAX 255


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
        rc = sn_endpoint_copy_host(host, s + 1, (size_t)(close - s - 1));
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
        rc = sn_endpoint_copy_host(host, s, (size_t)(colon - s));
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

static int
tcp_listen(const sn_endpoint *ep, const sn_tcp_opts *o, sn_listen_fd *l, char *resolved,
           size_t len)
{
    return sn_tcp_listen(ep, o, &l->fd, resolved, len);
}

static int
tcp_accept(sn_listen_fd *l, int *fd, char *peer, size_t len)
{
    return sn_tcp_accept(l->fd, fd, peer, len);
}

static void
tcp_unlink(sn_listen_fd *l)
{
    (void) l; /* a port is given up when the descriptor closes */
}

static void
tcp_close(sn_listen_fd *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

const sn_transport_ops sn_tcp_transport = {
    .scheme = "tcp",
    .kind = SN_TRANSPORT_TCP,
    .parse = tcp_parse,
    .listen = tcp_listen,
    .accept = tcp_accept,
    .unlink = tcp_unlink,
    .close = tcp_close,
    .connect = sn_tcp_connect_start,
    .tune = sn_tcp_tune,
};
