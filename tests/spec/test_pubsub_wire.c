/* PUB/SUB against raw ZMTP peers (RFC 37, RFC 29): subscriptions in both wire forms.
 * A ZMTP 3.1 peer subscribes with SUBSCRIBE/CANCEL commands, a 3.0 peer with messages
 * \x01topic / \x00topic; a sinew PUB filters for either, and a sinew SUB writes its
 * subscriptions in the form its publisher's version expects. Over ipc and tcp. */
#include <criterion/criterion.h>
#include <poll.h>

#include "spec/pubsub.h"
#include "support/net.h"
#include "support/transports.h"
#include "support/zmtp_peer.h"

TestSuite(spec_pubsub_wire, .init = tn_tran_setup, .fini = tn_tran_teardown, .timeout = 20);

/* Our greeting for ZMTP 3.minor, then a READY for type. */
static void
raw_hello(int fd, int minor, const char *type)
{
    uint8_t g[64];
    memcpy(g, zp_greeting, sizeof g);
    g[11] = (uint8_t) minor;
    cr_assert_eq(zp_send_all(fd, g, sizeof g), 0);
    uint8_t ready[64];
    size_t n = zp_ready(ready, type);
    cr_assert_eq(zp_send_all(fd, ready, n), 0);
    cr_assert(zp_read_handshake(fd, 5000), "no handshake from sinew");
}

/* Reads one short frame: its flags, and its body into body (256 bytes); returns the
 * body's size. */
static size_t
raw_frame(int fd, uint8_t *flags, uint8_t *body)
{
    uint8_t h[2];
    cr_assert_eq(zp_read_exact(fd, h, 2, 5000), 2, "no frame");
    cr_assert_eq(h[0] & 0x02, 0, "a long frame");
    cr_assert_eq(zp_read_exact(fd, body, h[1], 5000), h[1]);
    *flags = h[0];
    return h[1];
}

static void
raw_send_frame(int fd, uint8_t flags, const void *body, size_t len)
{
    uint8_t h[2] = {flags, (uint8_t) len};
    cr_assert_eq(zp_send_all(fd, h, 2), 0);
    cr_assert_eq(zp_send_all(fd, body, len), 0);
}

/* Publishes "A-probe" until the raw subscriber gets data, then "B" and "A-end": the raw
 * peer must see probes, then "A-end", never "B". */
static void
expect_filtered(void *pub, int fd)
{
    uint64_t deadline = tn_now_ms() + 5000;
    for (;;) {
        tn_send_str(pub, "A-probe", 0);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10) == 1)
            break;
        cr_assert_gt(tn_left_ms(deadline), 0, "nothing reached the raw subscriber");
    }
    tn_send_str(pub, "B", 0);
    tn_send_str(pub, "A-end", 0);
    for (;;) {
        uint8_t flags, body[256];
        size_t n = raw_frame(fd, &flags, body);
        cr_assert_eq(flags, 0);
        if (n == 7 && memcmp(body, "A-probe", 7) == 0)
            continue;
        cr_assert(n == 5 && memcmp(body, "A-end", 5) == 0, "got %.*s", (int) n, body);
        return;
    }
}

PS_NET_TEST(spec_pubsub_wire, pub_filters_for_a_zmtp30_subscriber)
{
    char ep[TN_EP_MAX];
    void *pub = tn_sock(SINEW_PUB);
    tn_bind_any(pub, tran, ep);
    int fd = zp_connect(ep);
    cr_assert_geq(fd, 0);
    raw_hello(fd, 0, "SUB");
    raw_send_frame(fd, 0, "\x01" "A", 2); /* 3.0: a message 01 + topic */
    expect_filtered(pub, fd);
    close(fd);
}

PS_NET_TEST(spec_pubsub_wire, pub_filters_for_a_zmtp31_subscriber)
{
    char ep[TN_EP_MAX];
    void *pub = tn_sock(SINEW_PUB);
    tn_bind_any(pub, tran, ep);
    int fd = zp_connect(ep);
    cr_assert_geq(fd, 0);
    raw_hello(fd, 1, "SUB");
    raw_send_frame(fd, 0x04, "\x09SUBSCRIBE" "A", 11); /* 3.1: the command */
    expect_filtered(pub, fd);
    /* CANCEL: after it, nothing; a later subscription shows that it was taken in. */
    raw_send_frame(fd, 0x04, "\x06" "CANCEL" "A", 8);
    raw_send_frame(fd, 0x04, "\x09SUBSCRIBE" "Z", 11);
    uint64_t deadline = tn_now_ms() + 5000;
    bool z = false;
    while (!z) {
        /* The publisher takes CANCEL in before SUBSCRIBE Z: A-late may come only
         * before the first Z. */
        tn_send_str(pub, "A-late", 0);
        tn_send_str(pub, "Z", 0);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        while (!z && poll(&p, 1, 10) == 1) {
            uint8_t flags, body[256];
            size_t n = raw_frame(fd, &flags, body);
            z = n == 1 && body[0] == 'Z';
            cr_assert(z || (n == 6 && memcmp(body, "A-late", 6) == 0));
        }
        cr_assert_gt(tn_left_ms(deadline), 0, "SUBSCRIBE Z never took effect");
    }
    tn_send_str(pub, "A-after", 0);
    tn_send_str(pub, "Z-end", 0);
    for (;;) {
        uint8_t flags, body[256];
        size_t n = raw_frame(fd, &flags, body);
        if (n == 1 && body[0] == 'Z')
            continue; /* Zs of the rounds above */
        cr_assert(n == 5 && memcmp(body, "Z-end", 5) == 0, "A after its CANCEL");
        break;
    }
    close(fd);
}

/* A raw publisher: listens on a fresh endpoint of tran (ep), returns the fd. */
static int
raw_listen(const char *tran, char *ep)
{
    int fd;
    if (strcmp(tran, "tcp") == 0) {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        cr_assert_eq(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
        cr_assert_eq(getsockname(fd, (struct sockaddr *) &a, &len), 0);
        snprintf(ep, TN_EP_MAX, "tcp://127.0.0.1:%d", ntohs(a.sin_port));
    } else {
        tn_tran_endpoint(tran, ep);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        cr_assert_lt(strlen(ep + 6), sizeof a.sun_path);
        memcpy(a.sun_path, ep + 6, strlen(ep + 6) + 1);
        cr_assert_eq(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
    }
    cr_assert_eq(listen(fd, 4), 0);
    return fd;
}

/* A sinew SUB writes subscriptions as its publisher's ZMTP version expects. */
static void
sub_writes(const char *tran, int minor)
{
    char ep[TN_EP_MAX];
    int lfd = raw_listen(tran, ep);
    void *sub = tn_sock(SINEW_SUB);
    ps_subscribe(sub, "A");
    tn_connect(sub, ep);
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, 5000), 1, "sinew did not connect");
    int fd = accept(lfd, NULL, NULL);
    cr_assert_geq(fd, 0);
    raw_hello(fd, minor, "PUB");
    uint8_t flags, body[256];
    size_t n = raw_frame(fd, &flags, body);
    if (minor == 0) {
        cr_assert_eq(flags, 0, "3.0: a message");
        cr_assert(n == 2 && memcmp(body, "\x01" "A", 2) == 0);
    } else {
        cr_assert_eq(flags, 0x04, "3.1: a command");
        cr_assert(n == 11 && memcmp(body, "\x09SUBSCRIBE" "A", 11) == 0);
    }
    /* And the filtering on the SUB side: "B" is dropped, "A1" delivered. */
    raw_send_frame(fd, 0, "B", 1);
    raw_send_frame(fd, 0, "A1", 2);
    tn_set(sub, SINEW_RCVTIMEO, 5000);
    tn_recv_str(sub, "A1");
    ps_unsubscribe(sub, "A");
    n = raw_frame(fd, &flags, body);
    if (minor == 0)
        cr_assert(flags == 0 && n == 2 && memcmp(body, "\x00" "A", 2) == 0);
    else
        cr_assert(flags == 0x04 && n == 8 && memcmp(body, "\x06" "CANCEL" "A", 8) == 0);
    close(fd);
    close(lfd);
}

PS_NET_TEST(spec_pubsub_wire, sub_subscribes_a_zmtp30_publisher_with_messages)
{
    sub_writes(tran, 0);
}

PS_NET_TEST(spec_pubsub_wire, sub_subscribes_a_zmtp31_publisher_with_commands)
{
    sub_writes(tran, 1);
}
