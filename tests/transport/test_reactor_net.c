/* The two layers together, as the ZMTP engine will use them: a listener and its
 * accepted connections served by reactor callbacks, clients connecting asynchronously
 * (EPOLLOUT, then connect_finish), over tcp and ipc. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../io/waiter.h"
#include "io/reactor.h"
#include "transports/ipc.h"
#include "transports/tcp.h"

TestSuite(transport_reactor, .timeout = 30.0);

#define CLIENTS 20
#define WAIT_MS 10000

struct net;

struct conn {
    struct net *n;
    int fd;
    sn_io_handle *h;
    bool connecting;
};

struct net {
    sn_reactor *r;
    sn_transport_kind kind;
    sn_endpoint ep; /* where clients connect */
    int lfd;
    sn_io_handle *lh;
    struct conn server[CLIENTS], client[CLIENTS];
    int accepted; /* reactor thread only */
    int echoed;   /* reactor thread only */
    bool bad;     /* reactor thread only */
    waiter w;     /* bumped once per client that got its echo back */
};

static int
net_accept(struct net *n, int *fd)
{
    return n->kind == SN_TRANSPORT_TCP ? sn_tcp_accept(n->lfd, fd, NULL, 0)
                                       : sn_ipc_accept(n->lfd, fd, NULL, 0);
}

/* Server side: echo whatever arrives; close on EOF. */
static void
server_cb(void *arg, uint32_t ev)
{
    struct conn *c = arg;
    char buf[256];
    ssize_t got;
    (void)ev;
    while ((got = read(c->fd, buf, sizeof buf)) > 0)
        if (write(c->fd, buf, (size_t)got) != got)
            c->n->bad = true;
    if (got == 0 || (got < 0 && errno != EAGAIN)) {
        sn_reactor_del(c->n->r, c->h);
        close(c->fd);
        c->fd = -1;
    }
}

static void
listen_cb(void *arg, uint32_t ev)
{
    struct net *n = arg;
    int fd, rc;
    (void)ev;
    while ((rc = net_accept(n, &fd)) == 0) {
        if (n->accepted == CLIENTS) {
            n->bad = true;
            close(fd);
            continue;
        }
        struct conn *c = &n->server[n->accepted++];
        *c = (struct conn){.n = n, .fd = fd};
        if (n->kind == SN_TRANSPORT_TCP && sn_tcp_tune(fd, NULL) < 0)
            n->bad = true;
        if (sn_reactor_add(n->r, fd, EPOLLIN | EPOLLRDHUP, server_cb, c, &c->h) < 0)
            n->bad = true;
    }
    if (rc != -EAGAIN)
        n->bad = true;
}

static void
client_ready(struct conn *c)
{
    c->connecting = false;
    if (write(c->fd, "hello", 5) != 5 || sn_reactor_mod(c->n->r, c->h, EPOLLIN) < 0)
        c->n->bad = true;
}

/* Client side: EPOLLOUT while connecting, then EPOLLIN for the echo. */
static void
client_cb(void *arg, uint32_t ev)
{
    struct conn *c = arg;
    struct net *n = c->n;
    if (c->connecting) {
        int rc = sn_connect_finish(c->fd);
        if (rc < 0) {
            n->bad = true;
            return;
        }
        client_ready(c);
        return;
    }
    char buf[16];
    ssize_t got = read(c->fd, buf, sizeof buf);
    if (got == 5 && memcmp(buf, "hello", 5) == 0) {
        n->echoed++;
        sn_reactor_del(n->r, c->h);
        close(c->fd);
        c->fd = -1;
        waiter_bump(&n->w);
    } else if (got >= 0 || errno != EAGAIN || (ev & (EPOLLERR | EPOLLHUP))) {
        n->bad = true;
    }
}

static void
start_clients(void *arg)
{
    struct net *n = arg;
    for (int i = 0; i < CLIENTS; i++) {
        struct conn *c = &n->client[i];
        bool connected;
        int rc = n->kind == SN_TRANSPORT_TCP
                     ? sn_tcp_connect_start(&n->ep, NULL, &c->fd, &connected)
                     : sn_ipc_connect_start(&n->ep, &c->fd, &connected);
        cr_assert_eq(rc, 0);
        *c = (struct conn){.n = n, .fd = c->fd, .connecting = !connected};
        cr_assert_eq(sn_reactor_add(n->r, c->fd, EPOLLOUT, client_cb, c, &c->h), 0);
        if (connected)
            client_ready(c);
    }
}

static void
start_listener(void *arg)
{
    struct net *n = arg;
    cr_assert_eq(sn_reactor_add(n->r, n->lfd, EPOLLIN, listen_cb, n, &n->lh), 0);
}

static void
stop_listener(void *arg)
{
    struct net *n = arg;
    sn_reactor_del(n->r, n->lh);
}

static void
run(struct net *n)
{
    waiter_init(&n->w);
    cr_assert_eq(sn_reactor_new(&n->r, "sn-test-net", NULL), 0);
    sn_reactor_post(n->r, start_listener, n);
    sn_reactor_post(n->r, start_clients, n);
    cr_assert(waiter_wait(&n->w, CLIENTS, WAIT_MS));
    sn_reactor_post(n->r, stop_listener, n);
    sn_reactor_stop(n->r);
    cr_assert(!n->bad);
    cr_assert_eq(n->accepted, CLIENTS);
    cr_assert_eq(n->echoed, CLIENTS);
    sn_reactor_free(n->r); /* frees the server handles still registered */
    for (int i = 0; i < CLIENTS; i++)
        if (n->server[i].fd >= 0)
            close(n->server[i].fd);
    waiter_fini(&n->w);
}

Test(transport_reactor, tcp_accept_connect_echo)
{
    static struct net n = {.kind = SN_TRANSPORT_TCP};
    char resolved[128];
    sn_endpoint ep;
    cr_assert_eq(sn_endpoint_parse("tcp://127.0.0.1:*", &ep), 0);
    cr_assert_eq(sn_tcp_listen(&ep, NULL, &n.lfd, resolved, sizeof resolved), 0);
    cr_assert_eq(sn_endpoint_parse(resolved, &n.ep), 0);
    run(&n);
    close(n.lfd);
}

Test(transport_reactor, ipc_accept_connect_echo)
{
    static struct net n = {.kind = SN_TRANSPORT_IPC};
    char resolved[160];
    sn_endpoint ep;
    sn_ipc_listener l;
    cr_assert_eq(sn_endpoint_parse("ipc://*", &ep), 0);
    cr_assert_eq(sn_ipc_listen(&ep, 64, &l, resolved, sizeof resolved), 0);
    n.lfd = l.fd;
    cr_assert_eq(sn_endpoint_parse(resolved, &n.ep), 0);
    run(&n);
    sn_ipc_listener_close(&l);
}
