/* tcp plumbing on loopback: ephemeral ports, connect/accept over IPv4, IPv6 and names,
 * interface names, address errors, and socket options reaching the kernel. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transports/tcp.h"
#include "tnet.h"

TestSuite(transport_tcp, .timeout = 20.0);

static void
parse(const char *addr, sn_endpoint *ep)
{
    cr_assert_eq(sn_endpoint_parse(addr, ep), 0, "%s", addr);
}

static int
listen_on(const char *addr, const sn_tcp_opts *o, char *resolved, size_t len)
{
    sn_endpoint ep;
    int fd = -1;
    parse(addr, &ep);
    int rc = sn_tcp_listen(&ep, o, &fd, resolved, len);
    cr_assert_eq(rc, 0, "listen %s: %s", addr, strerror(-rc));
    return fd;
}

/* Connects to addr and accepts on lfd; returns the two ends. */
static void
connect_pair(int lfd, const char *addr, const sn_tcp_opts *o, int *cfd, int *afd,
             char *peer, size_t peerlen)
{
    sn_endpoint ep;
    bool connected = false;
    parse(addr, &ep);
    int rc = sn_tcp_connect_start(&ep, o, cfd, &connected);
    cr_assert_eq(rc, 0, "connect %s: %s", addr, strerror(-rc));
    if (!connected) {
        cr_assert(tnet_wait(*cfd, POLLOUT) & POLLOUT);
        cr_assert_eq(sn_connect_finish(*cfd), 0);
    }
    cr_assert(tnet_wait(lfd, POLLIN) & POLLIN);
    cr_assert_eq(sn_tcp_accept(lfd, afd, peer, peerlen), 0);
    cr_assert_eq(sn_tcp_tune(*afd, o), 0);
}

static int
port_of(const char *resolved)
{
    const char *colon = strrchr(resolved, ':');
    cr_assert_not_null(colon);
    return atoi(colon + 1);
}

Test(transport_tcp, ephemeral_bind_reports_real_port)
{
    char resolved[128], local[128];
    int lfd = listen_on("tcp://127.0.0.1:*", NULL, resolved, sizeof resolved);
    int port = port_of(resolved);
    cr_assert_gt(port, 0);
    char want[64];
    snprintf(want, sizeof want, "tcp://127.0.0.1:%d", port);
    cr_assert_str_eq(resolved, want);
    cr_assert_gt(sn_tcp_local_endpoint(lfd, local, sizeof local), 0);
    cr_assert_str_eq(local, resolved);
    close(lfd);

    lfd = listen_on("tcp://*:0", NULL, resolved, sizeof resolved);
    cr_assert_eq(strncmp(resolved, "tcp://0.0.0.0:", 14), 0, "%s", resolved);
    cr_assert_gt(port_of(resolved), 0);
    close(lfd);
}

Test(transport_tcp, connect_accept_ipv4_loopback)
{
    char resolved[128], peer[64], local[128], remote[128];
    int lfd = listen_on("tcp://127.0.0.1:*", NULL, resolved, sizeof resolved);
    int cfd, afd;
    connect_pair(lfd, resolved, NULL, &cfd, &afd, peer, sizeof peer);
    cr_assert_str_eq(peer, "127.0.0.1");
    /* Each end sees the other's endpoint. */
    cr_assert_gt(sn_tcp_local_endpoint(cfd, local, sizeof local), 0);
    cr_assert_gt(sn_tcp_peer_endpoint(afd, remote, sizeof remote), 0);
    cr_assert_str_eq(local, remote);
    cr_assert_gt(sn_tcp_peer_endpoint(cfd, remote, sizeof remote), 0);
    cr_assert_str_eq(remote, resolved);
    tnet_exchange(cfd, afd);
    /* Nothing else pending. */
    int extra;
    cr_assert_eq(sn_tcp_accept(lfd, &extra, NULL, 0), -EAGAIN);
    close(cfd);
    close(afd);
    close(lfd);
}

static bool
have_ipv6_loopback(void)
{
    sn_endpoint ep;
    sn_tcp_opts o;
    int fd;
    sn_tcp_opts_default(&o);
    o.ipv6 = true;
    parse("tcp://[::1]:*", &ep);
    if (sn_tcp_listen(&ep, &o, &fd, NULL, 0) < 0)
        return false;
    close(fd);
    return true;
}

Test(transport_tcp, connect_accept_ipv6_loopback)
{
    if (!have_ipv6_loopback())
        cr_skip_test("no IPv6 loopback on this machine");
    sn_tcp_opts o;
    sn_tcp_opts_default(&o);
    o.ipv6 = true;
    char resolved[128], peer[64];
    int lfd = listen_on("tcp://[::1]:*", &o, resolved, sizeof resolved);
    char want[64];
    snprintf(want, sizeof want, "tcp://[::1]:%d", port_of(resolved));
    cr_assert_str_eq(resolved, want);
    int cfd, afd;
    connect_pair(lfd, resolved, &o, &cfd, &afd, peer, sizeof peer);
    cr_assert_str_eq(peer, "::1");
    tnet_exchange(cfd, afd);
    close(cfd);
    close(afd);
    close(lfd);
}

/* With ipv6 on, "*" is one dual-stack socket reachable over both families. */
Test(transport_tcp, wildcard_ipv6_bind_is_dual_stack)
{
    if (!have_ipv6_loopback())
        cr_skip_test("no IPv6 loopback on this machine");
    sn_tcp_opts o;
    sn_tcp_opts_default(&o);
    o.ipv6 = true;
    char resolved[128], addr[64], peer[64];
    int lfd = listen_on("tcp://*:*", &o, resolved, sizeof resolved);
    int port = port_of(resolved);
    snprintf(addr, sizeof addr, "tcp://[::]:%d", port);
    cr_assert_str_eq(resolved, addr);
    const char *targets[] = {"tcp://127.0.0.1:%d", "tcp://[::1]:%d"};
    for (int i = 0; i < 2; i++) {
        int cfd, afd;
        snprintf(addr, sizeof addr, targets[i], port);
        connect_pair(lfd, addr, &o, &cfd, &afd, peer, sizeof peer);
        tnet_exchange(cfd, afd);
        close(cfd);
        close(afd);
    }
    close(lfd);
}

Test(transport_tcp, connect_by_hostname_localhost)
{
    char resolved[128], addr[64];
    int lfd = listen_on("tcp://127.0.0.1:*", NULL, resolved, sizeof resolved);
    snprintf(addr, sizeof addr, "tcp://localhost:%d", port_of(resolved));
    int cfd, afd;
    connect_pair(lfd, addr, NULL, &cfd, &afd, NULL, 0);
    tnet_exchange(cfd, afd);
    close(cfd);
    close(afd);
    close(lfd);
}

Test(transport_tcp, bind_to_interface_name)
{
    char resolved[128];
    int lfd = listen_on("tcp://lo:*", NULL, resolved, sizeof resolved);
    cr_assert_eq(strncmp(resolved, "tcp://127.0.0.1:", 16), 0, "%s", resolved);
    close(lfd);

    sn_endpoint ep;
    int fd;
    parse("tcp://nosuchif9:5555", &ep);
    cr_assert_eq(sn_tcp_listen(&ep, NULL, &fd, NULL, 0), -ENODEV);
    /* Bind does not resolve DNS names (libzmq): not an interface either. */
    parse("tcp://localhost:5555", &ep);
    cr_assert_eq(sn_tcp_listen(&ep, NULL, &fd, NULL, 0), -ENODEV);
}

/* "tcp://SRC;DST": the connection leaves from SRC (127.0.0.2 is loopback too). */
Test(transport_tcp, connect_from_source_address)
{
    char resolved[128], addr[160], peer[64], local[128];
    int lfd = listen_on("tcp://127.0.0.1:*", NULL, resolved, sizeof resolved);
    snprintf(addr, sizeof addr, "tcp://127.0.0.2:*;%s", resolved + 6);
    int cfd, afd;
    connect_pair(lfd, addr, NULL, &cfd, &afd, peer, sizeof peer);
    cr_assert_str_eq(peer, "127.0.0.2");
    tnet_exchange(cfd, afd);
    close(cfd);
    close(afd);

    /* A fixed source port, and "*" source host. */
    int probe = listen_on("tcp://127.0.0.1:*", NULL, local, sizeof local);
    close(probe); /* a port that was free a moment ago */
    snprintf(addr, sizeof addr, "tcp://*:%d;%s", port_of(local), resolved + 6);
    connect_pair(lfd, addr, NULL, &cfd, &afd, NULL, 0);
    cr_assert_gt(sn_tcp_local_endpoint(cfd, local, sizeof local), 0);
    char want[64];
    snprintf(want, sizeof want, "tcp://127.0.0.1:%d", port_of(local));
    cr_assert_str_eq(local, want);
    close(cfd);
    close(afd);

    sn_endpoint ep;
    int fd;
    bool connected;
    snprintf(addr, sizeof addr, "tcp://203.0.113.1:*;%s", resolved + 6);
    parse(addr, &ep);
    cr_assert_eq(sn_tcp_connect_start(&ep, NULL, &fd, &connected), -EADDRNOTAVAIL);
    snprintf(addr, sizeof addr, "tcp://nosuchif9:*;%s", resolved + 6);
    parse(addr, &ep);
    cr_assert_eq(sn_tcp_connect_start(&ep, NULL, &fd, &connected), -ENODEV);
    /* Source only makes sense for connect. */
    cr_assert_eq(sn_tcp_listen(&ep, NULL, &fd, NULL, 0), -EINVAL);
    close(lfd);
}

Test(transport_tcp, address_errors)
{
    sn_endpoint ep;
    int fd;
    bool connected;
    char resolved[128], small[8];

    /* Same port twice: SO_REUSEADDR does not allow two listeners. */
    int lfd = listen_on("tcp://127.0.0.1:*", NULL, resolved, sizeof resolved);
    parse(resolved, &ep);
    cr_assert_eq(sn_tcp_listen(&ep, NULL, &fd, NULL, 0), -EADDRINUSE);
    close(lfd);

    parse("tcp://203.0.113.1:*", &ep); /* TEST-NET-3: not a local address */
    cr_assert_eq(sn_tcp_listen(&ep, NULL, &fd, NULL, 0), -EADDRNOTAVAIL);

    parse("tcp://127.0.0.1:*", &ep);
    cr_assert_eq(sn_tcp_listen(&ep, NULL, &fd, small, sizeof small), -ENOSPC);

    /* IPv6 literals need the ipv6 option, as libzmq's ZMQ_IPV6. */
    parse("tcp://[::1]:*", &ep);
    cr_assert_eq(sn_tcp_listen(&ep, NULL, &fd, NULL, 0), -EINVAL);
    parse("tcp://[::1]:5555", &ep);
    cr_assert_eq(sn_tcp_connect_start(&ep, NULL, &fd, &connected), -EINVAL);

    /* Wildcards mean nothing to connect. */
    parse("tcp://*:5555", &ep);
    cr_assert_eq(sn_tcp_connect_start(&ep, NULL, &fd, &connected), -EINVAL);
    parse("tcp://127.0.0.1:*", &ep);
    cr_assert_eq(sn_tcp_connect_start(&ep, NULL, &fd, &connected), -EINVAL);
    parse("tcp://127.0.0.1:0", &ep);
    cr_assert_eq(sn_tcp_connect_start(&ep, NULL, &fd, &connected), -EINVAL);

    /* Not a tcp endpoint. */
    parse("ipc:///tmp/x", &ep);
    cr_assert_eq(sn_tcp_listen(&ep, NULL, &fd, NULL, 0), -EINVAL);
}

Test(transport_tcp, connect_to_closed_port_is_refused)
{
    char resolved[128];
    int lfd = listen_on("tcp://127.0.0.1:*", NULL, resolved, sizeof resolved);
    close(lfd); /* the port is now (almost certainly) free and closed */
    sn_endpoint ep;
    int fd;
    bool connected = false;
    parse(resolved, &ep);
    int rc = sn_tcp_connect_start(&ep, NULL, &fd, &connected);
    if (rc == 0) {
        cr_assert(!connected);
        cr_assert(tnet_wait(fd, POLLOUT));
        cr_assert_eq(sn_connect_finish(fd), -ECONNREFUSED);
        close(fd);
    } else {
        cr_assert_eq(rc, -ECONNREFUSED);
    }
}

static int
getint(int fd, int level, int name)
{
    int v = -12345;
    socklen_t len = sizeof v;
    cr_assert_eq(getsockopt(fd, level, name, &v, &len), 0);
    return v;
}

Test(transport_tcp, tune_sets_nodelay_buffers_and_keepalives)
{
    sn_tcp_opts o;
    sn_tcp_opts_default(&o);
    o.sndbuf = 65536;
    o.rcvbuf = 131072;
    o.keepalive = 1;
    o.keepalive_cnt = 3;
    o.keepalive_idle = 30;
    o.keepalive_intvl = 5;
    char resolved[128];
    int lfd = listen_on("tcp://127.0.0.1:*", &o, resolved, sizeof resolved);
    int cfd, afd;
    connect_pair(lfd, resolved, &o, &cfd, &afd, NULL, 0);
    int fds[] = {cfd, afd};
    for (int i = 0; i < 2; i++) {
        int fd = fds[i];
        cr_assert_eq(getint(fd, IPPROTO_TCP, TCP_NODELAY), 1);
        /* Linux doubles the value for bookkeeping; at least what we asked. */
        cr_assert_geq(getint(fd, SOL_SOCKET, SO_SNDBUF), 65536);
        cr_assert_geq(getint(fd, SOL_SOCKET, SO_RCVBUF), 131072);
        cr_assert_eq(getint(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
        cr_assert_eq(getint(fd, IPPROTO_TCP, TCP_KEEPCNT), 3);
        cr_assert_eq(getint(fd, IPPROTO_TCP, TCP_KEEPIDLE), 30);
        cr_assert_eq(getint(fd, IPPROTO_TCP, TCP_KEEPINTVL), 5);
    }
    /* keepalive 0 turns it off; -1 leaves the OS default alone. */
    o.keepalive = 0;
    cr_assert_eq(sn_tcp_tune(cfd, &o), 0);
    cr_assert_eq(getint(cfd, SOL_SOCKET, SO_KEEPALIVE), 0);
    o.keepalive = -1;
    cr_assert_eq(sn_tcp_tune(cfd, &o), 0);
    cr_assert_eq(getint(cfd, SOL_SOCKET, SO_KEEPALIVE), 0);
    cr_assert_eq(sn_tcp_tune(afd, NULL), 0);
    cr_assert_eq(getint(afd, SOL_SOCKET, SO_KEEPALIVE), 1);
    /* Options that the kernel rejects come back as -errno. */
    o.keepalive = 1;
    o.keepalive_cnt = 0;
    cr_assert_eq(sn_tcp_tune(cfd, &o), -EINVAL);
    close(cfd);
    close(afd);
    close(lfd);
}

Test(transport_tcp, format_rejects_other_families)
{
    struct sockaddr sa = {.sa_family = AF_UNIX};
    char buf[64];
    cr_assert_eq(sn_tcp_format(&sa, sizeof sa, buf, sizeof buf), -EAFNOSUPPORT);
}
