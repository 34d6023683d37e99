/* ipc plumbing in a private mkdtemp directory: bind/connect/accept on paths and in the
 * abstract namespace, wildcard paths, stale-file reclaim, EADDRINUSE for live or foreign
 * files, unlink on close only of our own file, and name length limits. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "transports/ipc.h"
#include "tnet.h"

static char dir[64];

static void
make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/sinew-ipc-test-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void
remove_dir(void)
{
    char cmd[128];
    /* Tests unlink what they create; the directory must be empty by now. */
    cr_expect_eq(rmdir(dir), 0, "leftovers in %s: %s", dir, strerror(errno));
    if (errno == ENOTEMPTY) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        cr_expect_eq(system(cmd), 0);
    }
}

TestSuite(transport_ipc, .init = make_dir, .fini = remove_dir, .timeout = 20.0);

static void
path_in_dir(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "ipc://%s/%s", dir, name);
}

static void
parse(const char *addr, sn_endpoint *ep)
{
    cr_assert_eq(sn_endpoint_parse(addr, ep), 0, "%s", addr);
}

static void
listen_ok(const char *addr, sn_ipc_listener *l, char *resolved, size_t len)
{
    sn_endpoint ep;
    parse(addr, &ep);
    int rc = sn_ipc_listen(&ep, 16, l, resolved, len);
    cr_assert_eq(rc, 0, "listen %s: %s", addr, strerror(-rc));
}

static void
connect_pair(const sn_ipc_listener *l, const char *addr, int *cfd, int *afd)
{
    sn_endpoint ep;
    bool connected = false;
    char peer[128] = "junk";
    parse(addr, &ep);
    int rc = sn_ipc_connect_start(&ep, cfd, &connected);
    cr_assert_eq(rc, 0, "connect %s: %s", addr, strerror(-rc));
    if (!connected) {
        cr_assert(tnet_wait(*cfd, POLLOUT) & POLLOUT);
        cr_assert_eq(sn_connect_finish(*cfd), 0);
    }
    cr_assert(tnet_wait(l->fd, POLLIN) & POLLIN);
    cr_assert_eq(sn_ipc_accept(l->fd, afd, peer, sizeof peer), 0);
    cr_assert_str_eq(peer, ""); /* unnamed client */
    cr_assert(fcntl(*afd, F_GETFL) & O_NONBLOCK);
}

static void
assert_works(const sn_ipc_listener *l, const char *addr)
{
    int cfd, afd;
    connect_pair(l, addr, &cfd, &afd);
    tnet_exchange(cfd, afd);
    close(cfd);
    close(afd);
}

static bool
exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

Test(transport_ipc, path_bind_connect_accept_and_unlink_on_close)
{
    char addr[128], resolved[160];
    sn_ipc_listener l;
    path_in_dir(addr, sizeof addr, "a.sock");
    listen_ok(addr, &l, resolved, sizeof resolved);
    cr_assert_str_eq(resolved, addr);
    cr_assert(exists(addr + 6));
    assert_works(&l, addr);
    int extra;
    cr_assert_eq(sn_ipc_accept(l.fd, &extra, NULL, 0), -EAGAIN);
    sn_ipc_listener_close(&l);
    cr_assert(!exists(addr + 6));
    sn_ipc_listener_close(&l); /* idempotent */

    sn_endpoint ep;
    bool connected;
    int fd;
    parse(addr, &ep);
    cr_assert_eq(sn_ipc_connect_start(&ep, &fd, &connected), -ECONNREFUSED);
}

Test(transport_ipc, abstract_namespace)
{
    char addr[128], resolved[160];
    snprintf(addr, sizeof addr, "ipc://@sinew-test-%d-%s", (int)getpid(), dir + 21);
    sn_ipc_listener l, l2;
    listen_ok(addr, &l, resolved, sizeof resolved);
    cr_assert_str_eq(resolved, addr);
    cr_assert_str_eq(l.path, ""); /* no file */
    assert_works(&l, addr);

    sn_endpoint ep;
    parse(addr, &ep);
    cr_assert_eq(sn_ipc_listen(&ep, 16, &l2, NULL, 0), -EADDRINUSE);
    sn_ipc_listener_close(&l);
    /* Freed with the fd: rebinding works at once. */
    listen_ok(addr, &l2, NULL, 0);
    sn_ipc_listener_close(&l2);
}

Test(transport_ipc, wildcard_creates_and_removes_unique_path)
{
    setenv("TMPDIR", dir, 1);
    char resolved[160], resolved2[160];
    sn_ipc_listener l, l2;
    listen_ok("ipc://*", &l, resolved, sizeof resolved);
    listen_ok("ipc://*", &l2, resolved2, sizeof resolved2);
    cr_assert_str_neq(resolved, resolved2);
    char prefix[128];
    snprintf(prefix, sizeof prefix, "ipc://%s/sinew-", dir);
    cr_assert_eq(strncmp(resolved, prefix, strlen(prefix)), 0, "%s", resolved);
    size_t n = strlen(resolved);
    cr_assert_str_eq(resolved + n - 7, "/socket");
    assert_works(&l, resolved);
    assert_works(&l2, resolved2);

    char tmpdir[160];
    snprintf(tmpdir, sizeof tmpdir, "%s", resolved + 6);
    *strrchr(tmpdir, '/') = '\0';
    sn_ipc_listener_close(&l);
    sn_ipc_listener_close(&l2);
    cr_assert(!exists(resolved + 6));
    cr_assert(!exists(tmpdir));

    sn_endpoint ep;
    bool connected;
    int fd;
    parse("ipc://*", &ep);
    cr_assert_eq(sn_ipc_connect_start(&ep, &fd, &connected), -EINVAL);
}

Test(transport_ipc, wildcard_in_too_long_tmpdir_is_enametoolong)
{
    char deep[256];
    memset(deep, 'd', sizeof deep);
    int n = snprintf(deep, sizeof deep, "%s/", dir);
    memset(deep + n, 'd', 100);
    deep[n + 100] = '\0';
    setenv("TMPDIR", deep, 1); /* never created: the length check comes first */
    sn_endpoint ep;
    sn_ipc_listener l;
    parse("ipc://*", &ep);
    cr_assert_eq(sn_ipc_listen(&ep, 16, &l, NULL, 0), -ENAMETOOLONG);
}

/* A socket file left by a process that died without unlinking it. */
static void
leave_stale_socket(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
    cr_assert(exists(path));
}

Test(transport_ipc, stale_socket_file_is_reclaimed)
{
    char addr[128];
    sn_ipc_listener l;
    path_in_dir(addr, sizeof addr, "stale.sock");
    leave_stale_socket(addr + 6);
    listen_ok(addr, &l, NULL, 0);
    assert_works(&l, addr);
    sn_ipc_listener_close(&l);
    cr_assert(!exists(addr + 6));
}

Test(transport_ipc, live_path_is_eaddrinuse_and_not_stolen)
{
    char addr[128];
    sn_ipc_listener l, l2;
    path_in_dir(addr, sizeof addr, "live.sock");
    listen_ok(addr, &l, NULL, 0);
    sn_endpoint ep;
    parse(addr, &ep);
    cr_assert_eq(sn_ipc_listen(&ep, 16, &l2, NULL, 0), -EADDRINUSE);
    sn_ipc_listener_close(&l2); /* a failed listen leaves nothing to undo */
    cr_assert(exists(addr + 6));
    /* The failed attempt's probe connection shows up at the live listener: drain it. */
    cr_assert(tnet_wait(l.fd, POLLIN) & POLLIN);
    int probe;
    cr_assert_eq(sn_ipc_accept(l.fd, &probe, NULL, 0), 0);
    close(probe);
    assert_works(&l, addr);
    sn_ipc_listener_close(&l);
}

Test(transport_ipc, non_socket_file_is_eaddrinuse_and_kept)
{
    char addr[128];
    path_in_dir(addr, sizeof addr, "regular");
    int fd = open(addr + 6, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    cr_assert_geq(fd, 0);
    close(fd);
    sn_endpoint ep;
    sn_ipc_listener l;
    parse(addr, &ep);
    cr_assert_eq(sn_ipc_listen(&ep, 16, &l, NULL, 0), -EADDRINUSE);
    cr_assert(exists(addr + 6));
    cr_assert_eq(unlink(addr + 6), 0);
}

/* Someone unlinked our file and bound their own there: close must leave theirs. */
Test(transport_ipc, close_keeps_a_file_that_is_no_longer_ours)
{
    char addr[128];
    sn_ipc_listener l;
    path_in_dir(addr, sizeof addr, "replaced.sock");
    listen_ok(addr, &l, NULL, 0);
    cr_assert_eq(unlink(addr + 6), 0);
    leave_stale_socket(addr + 6);
    sn_ipc_listener_close(&l);
    cr_assert(exists(addr + 6));
    cr_assert_eq(unlink(addr + 6), 0);
}

Test(transport_ipc, errors_for_missing_directory_and_long_paths)
{
    char addr[300];
    sn_endpoint ep;
    sn_ipc_listener l;
    snprintf(addr, sizeof addr, "ipc://%s/no/such/dir.sock", dir);
    parse(addr, &ep);
    cr_assert_eq(sn_ipc_listen(&ep, 16, &l, NULL, 0), -ENOENT);

    char name[200];
    memset(name, 'x', sizeof name);
    name[sizeof name - 1] = '\0';
    snprintf(addr, sizeof addr, "ipc://%s/%s", dir, name);
    cr_assert_eq(sn_endpoint_parse(addr, &ep), -ENAMETOOLONG);

    char resolved[8];
    path_in_dir(addr, sizeof addr, "small.sock");
    parse(addr, &ep);
    cr_assert_eq(sn_ipc_listen(&ep, 16, &l, resolved, sizeof resolved), -ENOSPC);
    cr_assert(!exists(addr + 6));

    parse("tcp://127.0.0.1:1", &ep);
    cr_assert_eq(sn_ipc_listen(&ep, 16, &l, NULL, 0), -EINVAL);
}
