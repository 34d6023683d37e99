/* Socket and context options: round trips, validation, defaults, and the libzmq 4.3
 * numbering of every public constant. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "sinew.h"
#include "support/net.h"

static void *ctx;
static void *sock;

static void
setup(void)
{
    ctx = sinew_ctx_new();
    cr_assert_not_null(ctx);
    sock = sinew_socket(ctx, SINEW_PUSH);
    cr_assert_not_null(sock);
}

static void
teardown(void)
{
    cr_assert_eq(sinew_close(sock), 0);
    cr_assert_eq(sinew_ctx_term(ctx), 0);
}

TestSuite(options, .init = setup, .fini = teardown, .timeout = 10);
TestSuite(ctx_options, .timeout = 10);
TestSuite(constants, .timeout = 10);

Test(options, defaults_match_libzmq)
{
    cr_assert_eq(tn_get(sock, SINEW_SNDHWM), 1000);
    cr_assert_eq(tn_get(sock, SINEW_RCVHWM), 1000);
    cr_assert_eq(tn_get(sock, SINEW_LINGER), -1, "blocky context: linger -1");
    cr_assert_eq(tn_get(sock, SINEW_RCVTIMEO), -1);
    cr_assert_eq(tn_get(sock, SINEW_SNDTIMEO), -1);
    cr_assert_eq(tn_get(sock, SINEW_IMMEDIATE), 0);
    cr_assert_eq(tn_get(sock, SINEW_TYPE), SINEW_PUSH);
    cr_assert_eq(tn_get(sock, SINEW_RCVMORE), 0);
    cr_assert_eq(tn_get(sock, SINEW_THREAD_SAFE), 1);
    cr_assert_eq(tn_get(sock, SINEW_SPIN_US), 50);
    char ep[64] = "garbage";
    size_t len = sizeof ep;
    cr_assert_eq(sinew_getsockopt(sock, SINEW_LAST_ENDPOINT, ep, &len), 0);
    cr_assert_eq(len, 1);
    cr_assert_str_eq(ep, "");
    uint64_t dropped = 99;
    len = sizeof dropped;
    cr_assert_eq(sinew_getsockopt(sock, SINEW_MSGS_DROPPED, &dropped, &len), 0);
    cr_assert_eq(len, sizeof(uint64_t));
    cr_assert_eq(dropped, 0);
}

Test(options, type_reports_each_socket_type)
{
    int types[] = {SINEW_PAIR, SINEW_REQ, SINEW_REP, SINEW_PULL, SINEW_PUSH};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        void *s = tn_socket(ctx, types[i]);
        cr_assert_eq(tn_get(s, SINEW_TYPE), types[i]);
        cr_assert_eq(sinew_close(s), 0);
    }
}

Test(options, int_options_round_trip)
{
    struct {
        int opt, v;
    } cases[] = {
        {SINEW_SNDHWM, 0},     {SINEW_SNDHWM, 7},       {SINEW_SNDHWM, INT_MAX},
        {SINEW_RCVHWM, 0},     {SINEW_RCVHWM, 12345},   {SINEW_LINGER, -1},
        {SINEW_LINGER, 0},     {SINEW_LINGER, 2500},    {SINEW_RCVTIMEO, -1},
        {SINEW_RCVTIMEO, 0},   {SINEW_RCVTIMEO, 333},   {SINEW_SNDTIMEO, 0},
        {SINEW_SNDTIMEO, 444}, {SINEW_SNDTIMEO, -1},    {SINEW_IMMEDIATE, 1},
        {SINEW_IMMEDIATE, 0},  {SINEW_SPIN_US, 0},      {SINEW_SPIN_US, 1000000},
        {SINEW_SPIN_US, 17},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int v = cases[i].v;
        cr_assert_eq(sinew_setsockopt(sock, cases[i].opt, &v, sizeof v), 0,
                     "set %d=%d errno %d", cases[i].opt, v, errno);
        int got = -7;
        size_t len = sizeof got;
        cr_assert_eq(sinew_getsockopt(sock, cases[i].opt, &got, &len), 0);
        cr_assert_eq(len, sizeof(int));
        cr_assert_eq(got, v, "option %d: set %d got %d", cases[i].opt, v, got);
    }
}

Test(options, routing_id_round_trip)
{
    uint8_t id[255];
    for (int i = 0; i < 255; i++)
        id[i] = (uint8_t) (i + 1);
    cr_assert_eq(sinew_setsockopt(sock, SINEW_ROUTING_ID, id, 3), 0);
    uint8_t got[255] = {0};
    size_t len = sizeof got;
    cr_assert_eq(sinew_getsockopt(sock, SINEW_ROUTING_ID, got, &len), 0);
    cr_assert_eq(len, 3);
    cr_assert_eq(memcmp(got, id, 3), 0);
    cr_assert_eq(sinew_setsockopt(sock, SINEW_IDENTITY, id, 255), 0);
    len = sizeof got;
    cr_assert_eq(sinew_getsockopt(sock, SINEW_ROUTING_ID, got, &len), 0);
    cr_assert_eq(len, 255);
    cr_assert_eq(memcmp(got, id, 255), 0);
}

static void
expect_set_einval(int opt, const void *val, size_t len)
{
    errno = 0;
    cr_assert_eq(sinew_setsockopt(sock, opt, val, len), -1, "set %d accepted", opt);
    cr_assert_eq(errno, EINVAL, "set %d: errno %d", opt, errno);
}

Test(options, routing_id_bad_values_einval)
{
    uint8_t id[256];
    memset(id, 'a', sizeof id);
    expect_set_einval(SINEW_ROUTING_ID, id, 0);
    expect_set_einval(SINEW_ROUTING_ID, id, 256);
    id[0] = 0;
    expect_set_einval(SINEW_ROUTING_ID, id, 4); /* leading zero byte is reserved */
    expect_set_einval(SINEW_ROUTING_ID, NULL, 4);
}

Test(options, wrong_length_einval)
{
    int64_t big = 5;
    expect_set_einval(SINEW_SNDHWM, &big, sizeof big);
    expect_set_einval(SINEW_LINGER, &big, 2);
    expect_set_einval(SINEW_RCVTIMEO, NULL, sizeof(int));
    int v = 0;
    size_t len = 2;
    errno = 0;
    cr_assert_eq(sinew_getsockopt(sock, SINEW_SNDHWM, &v, &len), -1);
    cr_assert_eq(errno, EINVAL);
    char ep[1];
    cr_assert_eq(sinew_bind(sock, "inproc://options-wrong-length"), 0);
    len = sizeof ep;
    errno = 0;
    cr_assert_eq(sinew_getsockopt(sock, SINEW_LAST_ENDPOINT, ep, &len), -1,
                 "endpoint string truncated silently");
    cr_assert_eq(errno, EINVAL);
    uint32_t small;
    len = sizeof small;
    errno = 0;
    cr_assert_eq(sinew_getsockopt(sock, SINEW_MSGS_DROPPED, &small, &len), -1);
    cr_assert_eq(errno, EINVAL);
}

Test(options, out_of_range_einval)
{
    int bad[][2] = {
        {SINEW_SNDHWM, -1},   {SINEW_RCVHWM, -5},        {SINEW_LINGER, -2},
        {SINEW_RCVTIMEO, -2}, {SINEW_SNDTIMEO, INT_MIN}, {SINEW_IMMEDIATE, 2},
        {SINEW_IMMEDIATE, -1}, {SINEW_SPIN_US, -1},      {SINEW_SPIN_US, 1000001},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int before = tn_get(sock, bad[i][0]);
        expect_set_einval(bad[i][0], &bad[i][1], sizeof(int));
        cr_assert_eq(tn_get(sock, bad[i][0]), before, "refused value still stored");
    }
}

Test(options, unknown_option_einval)
{
    int v = 1;
    expect_set_einval(9999, &v, sizeof v);
    expect_set_einval(-1, &v, sizeof v);
    size_t len = sizeof v;
    errno = 0;
    cr_assert_eq(sinew_getsockopt(sock, 9999, &v, &len), -1);
    cr_assert_eq(errno, EINVAL);
}

Test(options, read_only_options_refuse_set)
{
    int v = 1;
    expect_set_einval(SINEW_TYPE, &v, sizeof v);
    expect_set_einval(SINEW_RCVMORE, &v, sizeof v);
    expect_set_einval(SINEW_EVENTS, &v, sizeof v);
    expect_set_einval(SINEW_LAST_ENDPOINT, "inproc://x", 11);
    expect_set_einval(SINEW_FD, &v, sizeof v);
    expect_set_einval(SINEW_THREAD_SAFE, &v, sizeof v);
    expect_set_einval(SINEW_READY_FD, &v, sizeof v);
    uint64_t d = 0;
    expect_set_einval(SINEW_MSGS_DROPPED, &d, sizeof d);
    cr_assert_eq(tn_get(sock, SINEW_TYPE), SINEW_PUSH);
}

Test(options, last_endpoint_follows_bind_and_connect)
{
    char ep[128];
    size_t len = sizeof ep;
    cr_assert_eq(sinew_bind(sock, "inproc://options-last-a"), 0);
    cr_assert_eq(sinew_getsockopt(sock, SINEW_LAST_ENDPOINT, ep, &len), 0);
    cr_assert_str_eq(ep, "inproc://options-last-a");
    cr_assert_eq(len, strlen("inproc://options-last-a") + 1);
    cr_assert_eq(sinew_connect(sock, "inproc://options-last-b"), 0);
    len = sizeof ep;
    cr_assert_eq(sinew_getsockopt(sock, SINEW_LAST_ENDPOINT, ep, &len), 0);
    cr_assert_str_eq(ep, "inproc://options-last-b");
}

Test(options, fd_options_return_descriptors)
{
    int fd = tn_get(sock, SINEW_FD);
    cr_assert_geq(fd, 0);
    cr_assert_eq(tn_get(sock, SINEW_FD), fd, "SINEW_FD changed between calls");
    int rfd = tn_get(sock, SINEW_READY_FD);
    cr_assert_geq(rfd, 0);
    cr_assert_neq(rfd, fd);
}

Test(options, events_of_idle_push_is_zero)
{
    /* No peer: a PUSH can neither send nor receive. */
    cr_assert_eq(tn_get(sock, SINEW_EVENTS), 0);
}

Test(ctx_options, defaults)
{
    void *c = sinew_ctx_new();
    cr_assert_not_null(c);
    cr_assert_eq(sinew_ctx_get(c, SINEW_IO_THREADS), 1);
    cr_assert_eq(sinew_ctx_get(c, SINEW_MAX_SOCKETS), 1023);
    cr_assert_eq(sinew_ctx_get(c, SINEW_MSG_T_SIZE), 64);
    cr_assert_eq(sinew_ctx_get(c, SINEW_BLOCKY), 1);
    cr_assert_eq(sinew_ctx_get(c, SINEW_IPV6), 0);
    cr_assert_gt(sinew_ctx_get(c, SINEW_SOCKET_LIMIT), 1023);
    cr_assert_eq(sinew_ctx_term(c), 0);
}

Test(ctx_options, set_get_round_trip)
{
    void *c = sinew_ctx_new();
    cr_assert_not_null(c);
    cr_assert_eq(sinew_ctx_set(c, SINEW_IO_THREADS, 2), 0);
    cr_assert_eq(sinew_ctx_get(c, SINEW_IO_THREADS), 2);
    cr_assert_eq(sinew_ctx_set(c, SINEW_MAX_SOCKETS, 10), 0);
    cr_assert_eq(sinew_ctx_get(c, SINEW_MAX_SOCKETS), 10);
    cr_assert_eq(sinew_ctx_set(c, SINEW_BLOCKY, 0), 0);
    cr_assert_eq(sinew_ctx_get(c, SINEW_BLOCKY), 0);
    cr_assert_eq(sinew_ctx_set(c, SINEW_IPV6, 1), 0);
    cr_assert_eq(sinew_ctx_get(c, SINEW_IPV6), 1);
    cr_assert_eq(sinew_ctx_term(c), 0);
}

Test(ctx_options, bad_values_einval)
{
    void *c = sinew_ctx_new();
    cr_assert_not_null(c);
    int bad[][2] = {
        {SINEW_IO_THREADS, -1}, {SINEW_MAX_SOCKETS, 0}, {SINEW_MAX_SOCKETS, -3},
        {SINEW_BLOCKY, 2},      {SINEW_MSG_T_SIZE, 64}, {SINEW_IPV6, 2}, {SINEW_IPV6, -1},
        {SINEW_SOCKET_LIMIT, 100}, /* 3 is also SINEW_THREAD_PRIORITY: 0 to 99, or -1 */
        {SINEW_THREAD_SCHED_POLICY, 7}, {4242, 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        cr_assert_eq(sinew_ctx_set(c, bad[i][0], bad[i][1]), -1, "ctx_set(%d,%d) accepted",
                     bad[i][0], bad[i][1]);
        cr_assert_eq(errno, EINVAL);
    }
    errno = 0;
    cr_assert_eq(sinew_ctx_get(c, 4242), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_ctx_get(c, SINEW_MAX_SOCKETS), 1023, "refused value stored");
    cr_assert_eq(sinew_ctx_term(c), 0);
}

Test(ctx_options, non_blocky_context_defaults_linger_zero)
{
    void *c = sinew_ctx_new();
    cr_assert_not_null(c);
    cr_assert_eq(sinew_ctx_set(c, SINEW_BLOCKY, 0), 0);
    void *s = tn_socket(c, SINEW_PULL);
    cr_assert_eq(tn_get(s, SINEW_LINGER), 0);
    cr_assert_eq(sinew_close(s), 0);
    cr_assert_eq(sinew_ctx_term(c), 0);
}

/* libzmq's ZMQ_IPV6 context option: the SINEW_IPV6 default of sockets created after
 * it is set; sockets that exist keep theirs. */
Test(ctx_options, ipv6_is_the_default_of_new_sockets)
{
    void *c = sinew_ctx_new();
    cr_assert_not_null(c);
    void *before = tn_socket(c, SINEW_PUSH);
    cr_assert_eq(sinew_connect(before, "tcp://[::1]:5555"), -1, "IPv6 without IPV6");
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_ctx_set(c, SINEW_IPV6, 1), 0);
    void *after = tn_socket(c, SINEW_PUSH);
    cr_assert_eq(tn_get(before, SINEW_IPV6), 0);
    cr_assert_eq(tn_get(after, SINEW_IPV6), 1);
    cr_assert_eq(sinew_connect(after, "tcp://[::1]:5555"), 0, "connect: errno %d", errno);
    tn_set(after, SINEW_IPV6, 0); /* still a socket option of its own */
    cr_assert_eq(tn_get(after, SINEW_IPV6), 0);
    cr_assert_eq(sinew_ctx_set(c, SINEW_IPV6, 0), 0);
    void *last = tn_socket(c, SINEW_PUSH);
    cr_assert_eq(tn_get(last, SINEW_IPV6), 0);
    tn_set(before, SINEW_LINGER, 0);
    tn_set(after, SINEW_LINGER, 0);
    cr_assert_eq(sinew_close(before), 0);
    cr_assert_eq(sinew_close(after), 0);
    cr_assert_eq(sinew_close(last), 0);
    cr_assert_eq(sinew_ctx_term(c), 0);
}

/* Values of zmq.h (libzmq 4.3). */
Test(constants, equal_libzmq_numbers)
{
    const long H = 156384712;
    struct {
        const char *name;
        long ours, zmq;
    } t[] = {
        {"HAUSNUMERO", SINEW_HAUSNUMERO, H},
        {"EFSM", EFSM, H + 51},
        {"ENOCOMPATPROTO", ENOCOMPATPROTO, H + 52},
        {"ETERM", ETERM, H + 53},
        {"EMTHREAD", EMTHREAD, H + 54},
        {"IO_THREADS", SINEW_IO_THREADS, 1},
        {"MAX_SOCKETS", SINEW_MAX_SOCKETS, 2},
        {"SOCKET_LIMIT", SINEW_SOCKET_LIMIT, 3},
        {"MSG_T_SIZE", SINEW_MSG_T_SIZE, 6},
        {"BLOCKY", SINEW_BLOCKY, 70},
        {"IO_THREADS_DFLT", SINEW_IO_THREADS_DFLT, 1},
        {"MAX_SOCKETS_DFLT", SINEW_MAX_SOCKETS_DFLT, 1023},
        {"PAIR", SINEW_PAIR, 0},
        {"REQ", SINEW_REQ, 3},
        {"REP", SINEW_REP, 4},
        {"PULL", SINEW_PULL, 7},
        {"PUSH", SINEW_PUSH, 8},
        {"ROUTING_ID", SINEW_ROUTING_ID, 5},
        {"IDENTITY", SINEW_IDENTITY, 5},
        {"RCVMORE", SINEW_RCVMORE, 13},
        {"FD", SINEW_FD, 14},
        {"EVENTS", SINEW_EVENTS, 15},
        {"TYPE", SINEW_TYPE, 16},
        {"LINGER", SINEW_LINGER, 17},
        {"SNDHWM", SINEW_SNDHWM, 23},
        {"RCVHWM", SINEW_RCVHWM, 24},
        {"RCVTIMEO", SINEW_RCVTIMEO, 27},
        {"SNDTIMEO", SINEW_SNDTIMEO, 28},
        {"LAST_ENDPOINT", SINEW_LAST_ENDPOINT, 32},
        {"IMMEDIATE", SINEW_IMMEDIATE, 39},
        {"THREAD_SAFE", SINEW_THREAD_SAFE, 81},
        {"MORE", SINEW_MORE, 1},
        {"SHARED", SINEW_SHARED, 3},
        {"DONTWAIT", SINEW_DONTWAIT, 1},
        {"SNDMORE", SINEW_SNDMORE, 2},
        {"POLLIN", SINEW_POLLIN, 1},
        {"POLLOUT", SINEW_POLLOUT, 2},
        {"POLLERR", SINEW_POLLERR, 4},
        {"POLLPRI", SINEW_POLLPRI, 8},
        {"POLLITEMS_DFLT", SINEW_POLLITEMS_DFLT, 16},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        cr_expect_eq(t[i].ours, t[i].zmq, "SINEW_%s = %ld, zmq.h says %ld", t[i].name,
                     t[i].ours, t[i].zmq);
}

Test(constants, own_options_outside_libzmq_range)
{
    /* libzmq 4.3 uses option numbers below 200 (draft options included). */
    cr_assert_gt(SINEW_READY_FD, 200);
    cr_assert_gt(SINEW_SPIN_US, 200);
    cr_assert_gt(SINEW_MSGS_DROPPED, 200);
}

Test(constants, pollitem_layout_matches_zmq)
{
    cr_assert_eq(sizeof(sinew_pollitem_t), sizeof(void *) + sizeof(int) + 2 * sizeof(short));
    cr_assert_eq(offsetof(sinew_pollitem_t, socket), 0);
    cr_assert_eq(offsetof(sinew_pollitem_t, fd), sizeof(void *));
}

Test(constants, version_reports_header_values)
{
    int a = -1, b = -1, c = -1;
    sinew_version(&a, &b, &c);
    cr_assert_eq(a, SINEW_VERSION_MAJOR);
    cr_assert_eq(b, SINEW_VERSION_MINOR);
    cr_assert_eq(c, SINEW_VERSION_PATCH);
}
