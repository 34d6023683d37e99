/* Bad arguments: every entry point fails cleanly with libzmq's errno. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "support/net.h"

TestSuite(bad_input, .init = tn_setup, .fini = tn_teardown, .timeout = 10);

#define EXPECT_FAIL(call, err)                                                          \
    do {                                                                                \
        errno = 0;                                                                      \
        cr_assert_eq((call), -1, #call " succeeded");                                   \
        cr_assert_eq(errno, (err), #call ": errno %d, expected %d", errno, (err));      \
    } while (0)

Test(bad_input, null_and_garbage_socket_handles_enotsock)
{
    static uint64_t garbage[8] = {0xdeadbeef, 42, 7};
    void *handles[] = {NULL, garbage, (void *) (uintptr_t) 1, tn_ctx};
    char buf[4];
    int v = 0;
    size_t len = sizeof v;
    for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++) {
        void *h = handles[i];
        EXPECT_FAIL(sinew_close(h), ENOTSOCK);
        EXPECT_FAIL(sinew_send(h, "x", 1, 0), ENOTSOCK);
        EXPECT_FAIL(sinew_recv(h, buf, sizeof buf, 0), ENOTSOCK);
        EXPECT_FAIL(sinew_bind(h, "inproc://x"), ENOTSOCK);
        EXPECT_FAIL(sinew_connect(h, "inproc://x"), ENOTSOCK);
        EXPECT_FAIL(sinew_setsockopt(h, SINEW_LINGER, &v, sizeof v), ENOTSOCK);
        EXPECT_FAIL(sinew_getsockopt(h, SINEW_LINGER, &v, &len), ENOTSOCK);
    }
}

Test(bad_input, null_and_garbage_ctx_handles_efault)
{
    static uint64_t garbage[8] = {0xdeadbeef, 42, 7};
    void *s = tn_sock(SINEW_PUSH);
    void *handles[] = {NULL, garbage, s};
    for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++) {
        void *h = handles[i];
        EXPECT_FAIL(sinew_ctx_term(h), EFAULT);
        EXPECT_FAIL(sinew_ctx_shutdown(h), EFAULT);
        EXPECT_FAIL(sinew_ctx_get(h, SINEW_IO_THREADS), EFAULT);
        EXPECT_FAIL(sinew_ctx_set(h, SINEW_IO_THREADS, 1), EFAULT);
        errno = 0;
        cr_assert_null(sinew_socket(h, SINEW_PUSH));
        cr_assert_eq(errno, EFAULT);
    }
}

Test(bad_input, unknown_socket_types_einval)
{
    /* 12 SERVER and the other draft types are not implemented. */
    int types[] = {-1, 12, 13, 99};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        errno = 0;
        cr_assert_null(sinew_socket(tn_ctx, types[i]), "type %d accepted", types[i]);
        cr_assert_eq(errno, EINVAL);
    }
}

Test(bad_input, malformed_endpoints)
{
    void *s = tn_sock(SINEW_PULL);
    EXPECT_FAIL(sinew_bind(s, "inproc://"), EINVAL);
    EXPECT_FAIL(sinew_connect(s, "inproc://"), EINVAL);
    EXPECT_FAIL(sinew_bind(s, "nope"), EINVAL);
    EXPECT_FAIL(sinew_connect(s, "nope"), EINVAL);
    EXPECT_FAIL(sinew_bind(s, "://x"), EINVAL);
    EXPECT_FAIL(sinew_bind(s, ""), EINVAL);
    EXPECT_FAIL(sinew_bind(s, NULL), EINVAL);
    EXPECT_FAIL(sinew_connect(s, NULL), EINVAL);
    EXPECT_FAIL(sinew_unbind(s, NULL), EINVAL);
    EXPECT_FAIL(sinew_disconnect(s, NULL), EINVAL);
    EXPECT_FAIL(sinew_bind(s, "foo://x"), EPROTONOSUPPORT);
    EXPECT_FAIL(sinew_connect(s, "foo://x"), EPROTONOSUPPORT);
    EXPECT_FAIL(sinew_bind(s, "tcp://127.0.0.1:99999"), EINVAL);
    EXPECT_FAIL(sinew_bind(s, "tcp://127.0.0.1"), EINVAL);
    EXPECT_FAIL(sinew_connect(s, "tcp://127.0.0.1:*"), EINVAL);
    EXPECT_FAIL(sinew_bind(s, "tcp://no-such-interface0:5555"), ENODEV);
    EXPECT_FAIL(sinew_connect(s, "ipc://*"), EINVAL);
    /* None of the failures left an endpoint behind. */
    char ep[64];
    size_t len = sizeof ep;
    cr_assert_eq(sinew_getsockopt(s, SINEW_LAST_ENDPOINT, ep, &len), 0);
    cr_assert_str_eq(ep, "");
}

Test(bad_input, bind_same_name_twice_eaddrinuse)
{
    char ep[64];
    void *a = tn_sock(SINEW_PULL), *b = tn_sock(SINEW_PULL);
    tn_bind(a, tn_endpoint(ep, sizeof ep, "twice"));
    EXPECT_FAIL(sinew_bind(b, ep), EADDRINUSE);
    EXPECT_FAIL(sinew_bind(a, ep), EADDRINUSE);
}

Test(bad_input, unbind_and_disconnect_unknown_enoent)
{
    void *s = tn_sock(SINEW_PULL);
    EXPECT_FAIL(sinew_unbind(s, "inproc://never-bound"), ENOENT);
    EXPECT_FAIL(sinew_disconnect(s, "inproc://never-connected"), ENOENT);
    tn_bind(s, "inproc://bad-input-bound-only");
    /* Bound, not connected: disconnect does not match it. */
    EXPECT_FAIL(sinew_disconnect(s, "inproc://bad-input-bound-only"), ENOENT);
}

Test(bad_input, wrong_direction_enotsup)
{
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    char buf[4];
    EXPECT_FAIL(sinew_send(pull, "x", 1, SINEW_DONTWAIT), ENOTSUP);
    EXPECT_FAIL(sinew_recv(push, buf, sizeof buf, SINEW_DONTWAIT), ENOTSUP);
    sinew_msg_t m;
    cr_assert_eq(sinew_msg_init(&m), 0);
    EXPECT_FAIL(sinew_msg_recv(&m, push, SINEW_DONTWAIT), ENOTSUP);
    EXPECT_FAIL(sinew_msg_send(&m, pull, SINEW_DONTWAIT), ENOTSUP);
    cr_assert_eq(sinew_msg_close(&m), 0);
}

Test(bad_input, bad_flags_einval)
{
    void *pair = tn_sock(SINEW_PAIR);
    char buf[4];
    EXPECT_FAIL(sinew_send(pair, "x", 1, 0x40), EINVAL);
    EXPECT_FAIL(sinew_recv(pair, buf, sizeof buf, SINEW_SNDMORE), EINVAL);
    EXPECT_FAIL(sinew_recv(pair, buf, sizeof buf, 0x100), EINVAL);
}

Test(bad_input, null_buffers_and_closed_messages)
{
    void *pair = tn_sock(SINEW_PAIR);
    EXPECT_FAIL(sinew_send(pair, NULL, 5, SINEW_DONTWAIT), EFAULT);
    EXPECT_FAIL(sinew_recv(pair, NULL, 5, SINEW_DONTWAIT), EFAULT);
    sinew_msg_t m;
    cr_assert_eq(sinew_msg_init(&m), 0);
    cr_assert_eq(sinew_msg_close(&m), 0);
    EXPECT_FAIL(sinew_msg_send(&m, pair, SINEW_DONTWAIT), EFAULT);
    EXPECT_FAIL(sinew_msg_recv(&m, pair, SINEW_DONTWAIT), EFAULT);
    EXPECT_FAIL(sinew_msg_send(NULL, pair, SINEW_DONTWAIT), EFAULT);
    EXPECT_FAIL(sinew_getsockopt_int(pair, SINEW_LINGER, NULL), EFAULT);
    size_t len = 4;
    EXPECT_FAIL(sinew_getsockopt(pair, SINEW_LINGER, NULL, &len), EFAULT);
}

Test(bad_input, strerror_knows_sinew_errors)
{
    int errs[] = {EFSM, ETERM, ENOCOMPATPROTO, EMTHREAD, EINVAL, EAGAIN};
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        const char *s = sinew_strerror(errs[i]);
        cr_assert_not_null(s);
        cr_assert_gt(strlen(s), 0);
    }
    cr_assert_str_neq(sinew_strerror(EFSM), sinew_strerror(ETERM));
    errno = ETERM;
    cr_assert_eq(sinew_errno(), ETERM);
}
