/* Endpoint parsing: libzmq's accepted forms, and the exact error for each bad one. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transports/transport.h"

TestSuite(transport_endpoint, .timeout = 10.0);

struct good {
    const char *addr;
    sn_transport_kind kind;
    const char *host;
    unsigned port;
    unsigned flags;
};

static const struct good goods[] = {
    {"tcp://127.0.0.1:5555", SN_TRANSPORT_TCP, "127.0.0.1", 5555, 0},
    {"tcp://*:5555", SN_TRANSPORT_TCP, "*", 5555, SN_EP_ANY_HOST},
    {"tcp://*:*", SN_TRANSPORT_TCP, "*", 0, SN_EP_ANY_HOST | SN_EP_ANY_PORT},
    {"tcp://127.0.0.1:*", SN_TRANSPORT_TCP, "127.0.0.1", 0, SN_EP_ANY_PORT},
    {"tcp://127.0.0.1:0", SN_TRANSPORT_TCP, "127.0.0.1", 0, SN_EP_ANY_PORT},
    {"tcp://[::1]:5555", SN_TRANSPORT_TCP, "::1", 5555, SN_EP_IPV6},
    {"tcp://[::]:*", SN_TRANSPORT_TCP, "::", 0, SN_EP_IPV6 | SN_EP_ANY_PORT},
    {"tcp://[fe80::1%lo]:1", SN_TRANSPORT_TCP, "fe80::1%lo", 1, SN_EP_IPV6},
    {"tcp://[::ffff:127.0.0.1]:7", SN_TRANSPORT_TCP, "::ffff:127.0.0.1", 7, SN_EP_IPV6},
    {"tcp://eth0:5555", SN_TRANSPORT_TCP, "eth0", 5555, 0},
    {"tcp://localhost:65535", SN_TRANSPORT_TCP, "localhost", 65535, 0},
    {"tcp://my-host.example.com:00080", SN_TRANSPORT_TCP, "my-host.example.com", 80, 0},
    {"ipc:///tmp/sinew.sock", SN_TRANSPORT_IPC, "/tmp/sinew.sock", 0, 0},
    {"ipc://relative/path", SN_TRANSPORT_IPC, "relative/path", 0, 0},
    {"ipc://@abstract-name", SN_TRANSPORT_IPC, "abstract-name", 0, SN_EP_ABSTRACT},
    {"ipc://*", SN_TRANSPORT_IPC, "", 0, SN_EP_WILDCARD},
    {"inproc://a", SN_TRANSPORT_INPROC, "a", 0, 0},
    {"inproc://any:thing //goes*", SN_TRANSPORT_INPROC, "any:thing //goes*", 0, 0},
};

Test(transport_endpoint, accepts_libzmq_forms)
{
    for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++) {
        const struct good *g = &goods[i];
        sn_endpoint ep;
        cr_assert_eq(sn_endpoint_parse(g->addr, &ep), 0, "%s", g->addr);
        cr_assert_eq(ep.kind, g->kind, "%s", g->addr);
        cr_assert_not_null(ep.ops, "%s", g->addr);
        cr_assert_eq(ep.ops->kind, g->kind, "%s", g->addr);
        cr_assert_str_eq(ep.host, g->host, "%s", g->addr);
        cr_assert_eq(ep.port, g->port, "%s", g->addr);
        cr_assert_eq(ep.flags, g->flags, "%s", g->addr);
    }
}

struct bad {
    const char *addr;
    int rc;
};

static const struct bad bads[] = {
    {"", -EINVAL},
    {"tcp", -EINVAL},
    {"tcp:/127.0.0.1:5555", -EINVAL},
    {"tcp//127.0.0.1:5555", -EINVAL},
    {"://127.0.0.1:5555", -EINVAL},
    {"tcp://", -EINVAL},
    {"ipc://", -EINVAL},
    {"inproc://", -EINVAL},
    {"foo://bar", -EPROTONOSUPPORT},
    {"TCP://127.0.0.1:5555", -EPROTONOSUPPORT},
    {"pgm://eth0;239.192.1.1:5555", -EPROTONOSUPPORT},
    {"udp://127.0.0.1:5555", -EPROTONOSUPPORT},
    {"tcp://127.0.0.1", -EINVAL},
    {"tcp://127.0.0.1:", -EINVAL},
    {"tcp://:5555", -EINVAL},
    {"tcp://127.0.0.1:65536", -EINVAL},
    {"tcp://127.0.0.1:99999", -EINVAL},
    {"tcp://127.0.0.1:123456", -EINVAL},
    {"tcp://127.0.0.1:-1", -EINVAL},
    {"tcp://127.0.0.1:+80", -EINVAL},
    {"tcp://127.0.0.1:55a", -EINVAL},
    {"tcp://127.0.0.1: 55", -EINVAL},
    {"tcp://127.0.0.1:**", -EINVAL},
    {"tcp://127.0.0.1:0x10", -EINVAL},
    {"tcp://[::1:5555", -EINVAL},
    {"tcp://[::1]5555", -EINVAL},
    {"tcp://[::1]:", -EINVAL},
    {"tcp://[]:5555", -EINVAL},
    {"tcp://[zz::1]:5555", -EINVAL},
    {"tcp://[127.0.0.1]:5555", -EINVAL},
    {"tcp://[::1%]:5555", -EINVAL},
    {"tcp://::1:5555", -EINVAL},
    {"tcp://*x:5555", -EINVAL},
    {"tcp://ho st:5555", -EINVAL},
    {"tcp://host/x:5555", -EINVAL},
    {"tcp://127.0.0.1;127.0.0.1:5555", -EINVAL},
    {"tcp://;127.0.0.1:5555", -EINVAL},
    {"tcp://127.0.0.1:1;", -EINVAL},
    {"tcp://127.0.0.1:1;127.0.0.1", -EINVAL},
    {"tcp://a:1;b:2;c:3", -EINVAL},
    {"tcp://[::1;]:1;b:2", -EINVAL},
    {"tcp://1.2.3.4:65536;b:2", -EINVAL},
    {"ipc://@", -EINVAL},
};

Test(transport_endpoint, rejects_malformed_with_exact_error)
{
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        sn_endpoint ep;
        int rc = sn_endpoint_parse(bads[i].addr, &ep);
        cr_assert_eq(rc, bads[i].rc, "\"%s\": got %d want %d", bads[i].addr, rc,
                     bads[i].rc);
    }
    sn_endpoint ep;
    cr_assert_eq(sn_endpoint_parse(NULL, &ep), -EINVAL);
}

/* Long names: sun_path holds 108 bytes including the NUL (or the abstract leading NUL),
 * inproc names are capped at 256 bytes, tcp hosts at 255. */
Test(transport_endpoint, length_limits)
{
    char addr[1024], name[600];
    sn_endpoint ep;

    memset(name, 'a', sizeof name);
    name[107] = '\0';
    snprintf(addr, sizeof addr, "ipc:///%s", name + 1); /* "/" + 106 = 107 bytes */
    cr_assert_eq(sn_endpoint_parse(addr, &ep), 0);
    cr_assert_eq(strlen(ep.host), 107);
    snprintf(addr, sizeof addr, "ipc:///%s", name); /* 108 bytes */
    cr_assert_eq(sn_endpoint_parse(addr, &ep), -ENAMETOOLONG);
    snprintf(addr, sizeof addr, "ipc://@%s", name + 1); /* "@" + 106 */
    cr_assert_eq(sn_endpoint_parse(addr, &ep), 0);
    cr_assert_eq(ep.flags, SN_EP_ABSTRACT);
    snprintf(addr, sizeof addr, "ipc://@%s", name);
    cr_assert_eq(sn_endpoint_parse(addr, &ep), -ENAMETOOLONG);
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(addr, sizeof addr, "ipc:///%s", name);
    cr_assert_eq(sn_endpoint_parse(addr, &ep), -ENAMETOOLONG);

    name[256] = '\0';
    snprintf(addr, sizeof addr, "inproc://%s", name);
    cr_assert_eq(sn_endpoint_parse(addr, &ep), 0);
    cr_assert_eq(strlen(ep.host), 256);
    name[256] = 'a';
    name[257] = '\0';
    snprintf(addr, sizeof addr, "inproc://%s", name);
    cr_assert_eq(sn_endpoint_parse(addr, &ep), -EINVAL);

    name[255] = '\0';
    snprintf(addr, sizeof addr, "tcp://%s:1", name);
    cr_assert_eq(sn_endpoint_parse(addr, &ep), 0);
    name[255] = 'a';
    name[256] = '\0';
    snprintf(addr, sizeof addr, "tcp://%s:1", name);
    cr_assert_eq(sn_endpoint_parse(addr, &ep), -EINVAL);
}

/* libzmq's source address: "tcp://SRC;DST", SRC with bind rules. */
Test(transport_endpoint, tcp_source_address)
{
    sn_endpoint ep;
    cr_assert_eq(sn_endpoint_parse("tcp://127.0.0.2:*;localhost:5555", &ep), 0);
    cr_assert_eq(ep.flags, SN_EP_SOURCE);
    cr_assert_str_eq(ep.host, "localhost");
    cr_assert_eq(ep.port, 5555);
    cr_assert_str_eq(ep.src.host, "127.0.0.2");
    cr_assert_eq(ep.src.port, 0);
    cr_assert_eq(ep.src.flags, SN_EP_ANY_PORT);

    cr_assert_eq(sn_endpoint_parse("tcp://[::1]:7000;[::2]:80", &ep), 0);
    cr_assert_eq(ep.flags, SN_EP_SOURCE | SN_EP_IPV6);
    cr_assert_str_eq(ep.src.host, "::1");
    cr_assert_eq(ep.src.port, 7000);
    cr_assert_eq(ep.src.flags, SN_EP_IPV6);
    cr_assert_str_eq(ep.host, "::2");

    cr_assert_eq(sn_endpoint_parse("tcp://*:*;eth0:1", &ep), 0);
    cr_assert_eq(ep.src.flags, SN_EP_ANY_HOST | SN_EP_ANY_PORT);
    cr_assert_eq(ep.flags, SN_EP_SOURCE);
}

Test(transport_endpoint, table_lookup_by_scheme)
{
    cr_assert_eq(sn_transport_find("tcp", 3)->kind, SN_TRANSPORT_TCP);
    cr_assert_eq(sn_transport_find("ipc", 3)->kind, SN_TRANSPORT_IPC);
    cr_assert_eq(sn_transport_find("inproc", 6)->kind, SN_TRANSPORT_INPROC);
    cr_assert_null(sn_transport_find("inproc", 3));
    cr_assert_null(sn_transport_find("tcpx", 4));
    cr_assert_null(sn_transport_find("", 0));
}

Test(transport_endpoint, format_round_trips)
{
    const char *addrs[] = {
        "tcp://127.0.0.1:5555", "tcp://*:*",  "tcp://[::1]:80", "tcp://eth0:1",
        "ipc:///tmp/x",         "ipc://@abs", "ipc://*",        "inproc://name"};
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        sn_endpoint ep;
        char buf[300];
        cr_assert_eq(sn_endpoint_parse(addrs[i], &ep), 0);
        cr_assert_eq(sn_endpoint_format(&ep, buf, sizeof buf), (int)strlen(addrs[i]));
        cr_assert_str_eq(buf, addrs[i]);
        cr_assert_eq(sn_endpoint_format(&ep, buf, 5), -ENOSPC);
    }
}

/* Random strings over the characters the grammar cares about: parse never crashes,
 * returns one of its documented errors, and what it accepts formats and parses back
 * to the same endpoint. */
Test(transport_endpoint, random_strings_parse_safely_and_round_trip)
{
    static const char *const pieces[] = {
        "tcp://", "ipc://", "inproc://", "[",       "]",    ":",         "*",
        "@",      ";",      "%",         "/",       "::1",  "127.0.0.1", "0",
        "65535",  "65536",  "99",        "lo",      "eth0", "a",         "-",
        " ",      "\x7f",   "\xc3\xa9",  "fe80::1",
    };
    const size_t npieces = sizeof pieces / sizeof pieces[0];
    srand(4242);
    for (int iter = 0; iter < 200000; iter++) {
        char addr[400] = "";
        size_t len = 0;
        int parts = 1 + rand() % 8;
        for (int k = 0; k < parts; k++) {
            const char *p = pieces[(size_t)rand() % npieces];
            size_t pl = strlen(p);
            if (len + pl >= sizeof addr)
                break;
            memcpy(addr + len, p, pl + 1);
            len += pl;
        }
        sn_endpoint ep, again;
        int rc = sn_endpoint_parse(addr, &ep);
        cr_assert(rc == 0 || rc == -EINVAL || rc == -EPROTONOSUPPORT ||
                      rc == -ENAMETOOLONG,
                  "\"%s\": %d", addr, rc);
        if (rc != 0)
            continue;
        char buf[300];
        cr_assert_gt(sn_endpoint_format(&ep, buf, sizeof buf), 0, "%s", addr);
        cr_assert_eq(sn_endpoint_parse(buf, &again), 0, "%s -> %s", addr, buf);
        cr_assert_eq(again.kind, ep.kind, "%s -> %s", addr, buf);
        cr_assert_str_eq(again.host, ep.host, "%s -> %s", addr, buf);
        cr_assert_eq(again.port, ep.port, "%s -> %s", addr, buf);
        cr_assert_eq(again.flags, ep.flags, "%s -> %s", addr, buf);
        cr_assert_str_eq(again.src.host, ep.src.host, "%s -> %s", addr, buf);
        cr_assert_eq(again.src.port, ep.src.port, "%s -> %s", addr, buf);
        cr_assert_eq(again.src.flags, ep.src.flags, "%s -> %s", addr, buf);
    }
}
