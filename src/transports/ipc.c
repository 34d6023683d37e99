/* ipc:// over AF_UNIX stream sockets. Unlike libzmq, which unlinks whatever sits at the
 * path before binding, a path is reclaimed only when it is a socket nobody accepts on,
 * so binding twice reports EADDRINUSE instead of silently stealing the address. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transports/transport.h"

/* Abstract names start with a NUL and are not NUL-terminated: the length says where
 * they end, so "@a" and "@a\0" are different names (we always use the former). */
static socklen_t
ipc_sockaddr(const char *name, bool abstract, struct sockaddr_un *sa)
{
    size_t n = strlen(name);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (abstract) {
        memcpy(sa->sun_path + 1, name, n);
        return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    }
    memcpy(sa->sun_path, name, n + 1);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

/* EADDRINUSE on a path: is it a dead socket file? 0 if we removed it, -EADDRINUSE if
 * something accepts there or it is not a socket. */
static int
ipc_reclaim(const char *path, const struct sockaddr_un *sa, socklen_t salen)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -EADDRINUSE; /* vanished meanwhile: retry bind */
    if (!S_ISSOCK(st.st_mode))
        return -EADDRINUSE;
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return -errno;
    int rc = connect(probe, (const struct sockaddr *)sa, salen);
    int err = errno;
    close(probe);
    if (rc == 0 || err != ECONNREFUSED)
        return -EADDRINUSE; /* accepted, or EAGAIN: a full backlog is still alive */
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

static int
ipc_wildcard(sn_ipc_listener *l)
{
    const char *tmp = secure_getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    int n = snprintf(l->tmpdir, sizeof l->tmpdir, "%s/sinew-XXXXXX", tmp);
    if (n < 0 || (size_t)n >= sizeof l->tmpdir) {
        l->tmpdir[0] = '\0';
        return -ENAMETOOLONG;
    }
    n = snprintf(l->path, sizeof l->path, "%s/socket", l->tmpdir);
    if (n < 0 || (size_t)n >= sizeof l->path) {
        l->tmpdir[0] = l->path[0] = '\0';
        return -ENAMETOOLONG;
    }
    if (mkdtemp(l->tmpdir) == NULL) {
        int rc = -errno;
        l->tmpdir[0] = l->path[0] = '\0';
        return rc;
    }
    /* mkdtemp filled in the X's of tmpdir; path still holds the template. */
    memcpy(l->path, l->tmpdir, strlen(l->tmpdir));
    return 0;
}

int
sn_ipc_listen(const sn_endpoint *ep, int backlog, sn_ipc_listener *l, char *resolved,
              size_t len)
{
    int rc;
    struct sockaddr_un sa;
    socklen_t salen;
    bool abstract = (ep->flags & SN_EP_ABSTRACT) != 0;

    memset(l, 0, sizeof *l);
    l->fd = -1;
    if (ep->kind != SN_TRANSPORT_IPC)
        return -EINVAL;
    if (ep->flags & SN_EP_WILDCARD) {
        rc = ipc_wildcard(l);
        if (rc < 0)
            return rc;
    } else if (!abstract) {
        size_t n = strlen(ep->host);
        if (n >= sizeof l->path)
            return -ENAMETOOLONG; /* parse checked it; a hand-made ep may not be */
        memcpy(l->path, ep->host, n + 1);
    }
    salen = ipc_sockaddr(abstract ? ep->host : l->path, abstract, &sa);

    l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0) {
        rc = -errno;
        goto fail;
    }
    rc = bind(l->fd, (struct sockaddr *)&sa, salen) < 0 ? -errno : 0;
    if (rc == -EADDRINUSE && !abstract) {
        rc = ipc_reclaim(l->path, &sa, salen);
        if (rc == 0)
            rc = bind(l->fd, (struct sockaddr *)&sa, salen) < 0 ? -errno : 0;
    }
    if (rc < 0) {
        l->path[0] = '\0'; /* not ours: close must not unlink it */
        goto fail;
    }
    if (!abstract) {
        struct stat st;
        if (stat(l->path, &st) < 0) {
            rc = -errno;
            goto fail;
        }
        l->dev = st.st_dev;
        l->ino = st.st_ino;
    }
    if (listen(l->fd, backlog) < 0) {
        rc = -errno;
        goto fail;
    }
    if (resolved != NULL) {
        int n = snprintf(resolved, len, "ipc://%s%s", abstract ? "@" : "",
                         abstract ? ep->host : l->path);
        if (n < 0 || (size_t)n >= len) {
            rc = -ENOSPC;
            goto fail;
        }
    }
    return 0;

fail:
    sn_ipc_listener_close(l);
    return rc;
}

void
sn_ipc_listener_close(sn_ipc_listener *l)
{
    if (l->fd >= 0) {
        close(l->fd);
        l->fd = -1;
    }
    sn_ipc_listener_unlink(l);
}

void
sn_ipc_listener_unlink(sn_ipc_listener *l)
{
    if (l->path[0] != '\0') {
        struct stat st;
        if (stat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
            unlink(l->path);
        l->path[0] = '\0';
    }
    if (l->tmpdir[0] != '\0') {
        rmdir(l->tmpdir);
        l->tmpdir[0] = '\0';
    }
}

int
sn_ipc_connect_start(const sn_endpoint *ep, int *fd_out, bool *connected)
{
    struct sockaddr_un sa;
    if (ep->kind != SN_TRANSPORT_IPC || (ep->flags & SN_EP_WILDCARD))
        return -EINVAL;
    socklen_t salen = ipc_sockaddr(ep->host, (ep->flags & SN_EP_ABSTRACT) != 0, &sa);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (connect(fd, (struct sockaddr *)&sa, salen) == 0) {
        *connected = true;
    } else if (errno == EINPROGRESS || errno == EINTR) {
        *connected = false;
    } else {
        rc = errno == ENOENT ? -ECONNREFUSED : -errno;
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

int
sn_ipc_accept(int listen_fd, int *fd_out, char *peer_addr, size_t len)
{
    struct sockaddr_un sa;
    socklen_t sl = sizeof sa;
    int fd =
        accept4(listen_fd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if (peer_addr != NULL && len > 0) {
        size_t off = offsetof(struct sockaddr_un, sun_path);
        size_t n = sl > off ? sl - off : 0;
        /* Named peers only: unnamed have no path, abstract ones start with NUL. */
        if (n > 0 && sa.sun_path[0] != '\0')
            snprintf(peer_addr, len, "%.*s", (int)n, sa.sun_path);
        else
            peer_addr[0] = '\0';
    }
    *fd_out = fd;
    return 0;
}

/* ---- the transport table's entry ------------------------------------------------- */

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
        return sn_endpoint_copy_host(ep->host, rest + 1, len - 1);
    }
    return sn_endpoint_copy_host(ep->host, rest, len);
}

static int
ipc_listen(const sn_endpoint *ep, const sn_tcp_opts *o, sn_listen_fd *l, char *resolved,
           size_t len)
{
    int rc = sn_ipc_listen(ep, o->backlog, &l->ipc, resolved, len);
    l->fd = rc == 0 ? l->ipc.fd : -1;
    return rc;
}

static int
ipc_accept(sn_listen_fd *l, int *fd, char *peer, size_t len)
{
    return sn_ipc_accept(l->fd, fd, peer, len);
}

static void
ipc_unlink(sn_listen_fd *l)
{
    sn_ipc_listener_unlink(&l->ipc);
}

static void
ipc_close(sn_listen_fd *l)
{
    sn_ipc_listener_close(&l->ipc);
    l->fd = -1;
}

static int
ipc_connect(const sn_endpoint *ep, const sn_tcp_opts *o, int *fd, bool *connected)
{
    (void) o; /* no kernel options apply to AF_UNIX streams here */
    return sn_ipc_connect_start(ep, fd, connected);
}

const sn_transport_ops sn_ipc_transport = {
    .scheme = "ipc",
    .kind = SN_TRANSPORT_IPC,
    .parse = ipc_parse,
    .listen = ipc_listen,
    .accept = ipc_accept,
    .unlink = ipc_unlink,
    .close = ipc_close,
    .connect = ipc_connect,
};
