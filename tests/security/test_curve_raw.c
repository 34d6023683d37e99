/* A live sinew CURVE server (PULL) against raw peers over ipc and tcp: garbled and
 * truncated HELLOs, a PLAIN greeting; INITIATEs that do not open, are too short, carry
 * the cookie of another live connection or are replayed from a finished handshake, or
 * announce 1 MB of metadata; and a client that completes the handshake and then replays
 * a MESSAGE or sends one out of order. Each is refused with the monitor event
 * libzmq gives (HANDSHAKE_FAILED_PROTOCOL + the ZMTP error code, or the connection
 * dropped), nothing from it is delivered beyond what was valid, and the server goes on
 * serving a well-behaved CURVE client. Also sinew against sinew: several threads sending
 * on one CURVE socket (sends may encrypt on the sending thread or on the I/O thread;
 * the short nonces must still go out in order). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sodium.h>

#include "core/msg.h"
#include "security/curve.h"
#include "support/transports.h"
#include "support/zmtp_peer.h"
#include "zmtp/codec.h"
#include "zmtp/handshake.h"
#include "zmtp/zmtp.h"

TestSuite(curve_raw, .init = tn_tran_setup, .fini = tn_tran_teardown, .timeout = 20.0);

typedef struct server {
    void *s, *mon;
    char ep[TN_EP_MAX];
    uint8_t pub[32], sec[32];
} server;

static void
server_start(server *sv, const char *tran)
{
    crypto_box_keypair(sv->pub, sv->sec);
    sv->s = tn_sock(SINEW_PULL);
    int one = 1;
    cr_assert_eq(sinew_setsockopt(sv->s, SINEW_CURVE_SERVER, &one, sizeof one), 0);
    cr_assert_eq(sinew_setsockopt(sv->s, SINEW_CURVE_SECRETKEY, sv->sec, 32), 0);
    tn_set(sv->s, SINEW_RCVTIMEO, 5000);
    sv->mon = tn_monitor(sv->s, SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                    SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                    SINEW_EVENT_DISCONNECTED);
    tn_bind_any(sv->s, tran, sv->ep);
}

/* The next HANDSHAKE_FAILED_PROTOCOL's value (the ZMTP error), or -1 if none in 5 s. */
static int64_t
protocol_failure(void *mon)
{
    uint64_t deadline = tn_now_ms() + 5000;
    for (;;) {
        sinew_pollitem_t it = {.socket = mon, .events = SINEW_POLLIN};
        if (sinew_poll(&it, 1, tn_left_ms(deadline)) <= 0)
            return -1;
        uint8_t frame[6];
        char addr[TN_EP_MAX];
        cr_assert_eq(sinew_recv(mon, frame, sizeof frame, 0), 6);
        cr_assert_geq(sinew_recv(mon, addr, sizeof addr, 0), 0);
        uint16_t ev;
        uint32_t value;
        memcpy(&ev, frame, 2);
        memcpy(&value, frame + 2, 4);
        if (ev == SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL)
            return value;
    }
}

/* The server closed the raw connection (EOF or reset) within 5 s. */
static bool
closed_by_server(int fd)
{
    uint8_t buf[512];
    uint64_t deadline = tn_now_ms() + 5000;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, tn_left_ms(deadline)) <= 0)
            return false;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return true;
    }
}

/* A well-behaved sinew CURVE client gets a message through. */
static void
server_still_serves(server *sv)
{
    void *c = tn_sock(SINEW_PUSH);
    uint8_t cpub[32], csec[32];
    crypto_box_keypair(cpub, csec);
    cr_assert_eq(sinew_setsockopt(c, SINEW_CURVE_SERVERKEY, sv->pub, 32), 0);
    cr_assert_eq(sinew_setsockopt(c, SINEW_CURVE_PUBLICKEY, cpub, 32), 0);
    cr_assert_eq(sinew_setsockopt(c, SINEW_CURVE_SECRETKEY, csec, 32), 0);
    tn_connect(c, sv->ep);
    tn_send_str(c, "good", 0);
    tn_recv_str(sv->s, "good");
    tn_expect_nothing(sv->s, 50, "a refused peer's message arrived");
}

/* A raw client's handshake, driven over a blocking fd. */
typedef struct raw_client {
    int fd;
    sn_zmtp_security sec;
    sn_zmtp_handshake hs;
    const sn_mechanism_ops *ops;
    void *st;
} raw_client;

static void
raw_client_handshake(raw_client *rc, server *sv)
{
    memset(&rc->sec, 0, sizeof rc->sec);
    rc->sec.mechanism = &sn_zmtp_mechanism_curve;
    crypto_box_keypair(rc->sec.curve_public, rc->sec.curve_secret);
    memcpy(rc->sec.curve_server, sv->pub, 32);
    sn_zmtp_handshake_config cfg = {.socket_type = SN_ZMTP_PUSH, .maxmsgsize = -1,
                                    .mechanism = &sn_zmtp_mechanism_curve,
                                    .greeting_whole = true, .security = &rc->sec};
    cr_assert_eq(sn_zmtp_handshake_init(&rc->hs, &cfg), 0);
    rc->fd = tn_raw_connect(sv->ep);
    uint64_t deadline = tn_now_ms() + 5000;
    while (sn_zmtp_handshake_state(&rc->hs) == SN_ZMTP_HS_RUNNING) {
        const uint8_t *p;
        size_t len;
        sn_zmtp_handshake_output(&rc->hs, &p, &len);
        cr_assert_eq(zp_send_all(rc->fd, p, len), 0);
        sn_zmtp_handshake_output_consumed(&rc->hs, len);
        struct pollfd pf = {.fd = rc->fd, .events = POLLIN};
        cr_assert_eq(poll(&pf, 1, tn_left_ms(deadline)), 1, "raw handshake stalled");
        uint8_t buf[1024];
        ssize_t n = recv(rc->fd, buf, sizeof buf, 0);
        cr_assert_gt(n, 0);
        cr_assert_eq(sn_zmtp_handshake_feed(&rc->hs, buf, (size_t) n), (int) n);
    }
    cr_assert_eq(sn_zmtp_handshake_state(&rc->hs), SN_ZMTP_HS_DONE);
    const uint8_t *p;
    size_t len;
    sn_zmtp_handshake_output(&rc->hs, &p, &len);
    cr_assert_eq(zp_send_all(rc->fd, p, len), 0);
    cr_assert(sn_zmtp_handshake_codec(&rc->hs, &rc->ops, &rc->st));
}

/* A raw client run up to its INITIATE (greetings, HELLO, WELCOME), which is returned
 * in out (its length) instead of being sent. */
static size_t
raw_client_until_initiate(raw_client *rc, server *sv, uint8_t *out, size_t cap)
{
    memset(&rc->sec, 0, sizeof rc->sec);
    rc->sec.mechanism = &sn_zmtp_mechanism_curve;
    crypto_box_keypair(rc->sec.curve_public, rc->sec.curve_secret);
    memcpy(rc->sec.curve_server, sv->pub, 32);
    sn_zmtp_handshake_config cfg = {.socket_type = SN_ZMTP_PUSH, .maxmsgsize = -1,
                                    .mechanism = &sn_zmtp_mechanism_curve,
                                    .greeting_whole = true, .security = &rc->sec};
    cr_assert_eq(sn_zmtp_handshake_init(&rc->hs, &cfg), 0);
    rc->fd = tn_raw_connect(sv->ep);
    uint64_t deadline = tn_now_ms() + 5000;
    for (;;) {
        const uint8_t *p;
        size_t len;
        sn_zmtp_handshake_output(&rc->hs, &p, &len);
        if (len > 18 && p[0] == 0x06 && memcmp(p + 9, "\x08INITIATE", 9) == 0) {
            cr_assert_leq(len, cap);
            memcpy(out, p, len);
            return len;
        }
        cr_assert_eq(zp_send_all(rc->fd, p, len), 0);
        sn_zmtp_handshake_output_consumed(&rc->hs, len);
        struct pollfd pf = {.fd = rc->fd, .events = POLLIN};
        cr_assert_eq(poll(&pf, 1, tn_left_ms(deadline)), 1, "no WELCOME");
        uint8_t buf[512];
        ssize_t n = recv(rc->fd, buf, sizeof buf, 0);
        cr_assert_gt(n, 0);
        cr_assert_geq(sn_zmtp_handshake_feed(&rc->hs, buf, (size_t) n), 0);
    }
}

/* One part as the whole MESSAGE frame the client would send. */
static size_t
raw_client_box(raw_client *rc, const char *text, uint8_t *out)
{
    sn_msg m;
    cr_assert_eq(sn_msg_init_buffer(&m, text, strlen(text)), 0);
    int flags = 0;
    cr_assert_eq(rc->ops->encode(rc->st, &m, &flags), 0);
    size_t h = (size_t) sn_zmtp_frame_header(out, flags, sn_msg_size(&m));
    memcpy(out + h, sn_msg_data(&m), sn_msg_size(&m));
    size_t n = h + sn_msg_size(&m);
    sn_msg_close(&m);
    return n;
}

static void
raw_client_close(raw_client *rc)
{
    close(rc->fd);
    sn_zmtp_handshake_fini(&rc->hs);
}

static void
garbled_hello(const char *tran, int kind, uint32_t want)
{
    server sv;
    server_start(&sv, tran);
    int fd = tn_raw_connect(sv.ep);
    uint8_t g[64];
    sn_zmtp_greeting_build(g, kind == 3 ? "PLAIN" : "CURVE", false, 1);
    cr_assert_eq(zp_send_all(fd, g, 64), 0);
    uint8_t hello[202] = {0x04, 200, 5, 'H', 'E', 'L', 'L', 'O', 1, 0};
    randombytes_buf(hello + 82, 120); /* C', nonce, box: nothing that opens */
    size_t len = 202;
    if (kind == 1) { /* one byte short */
        hello[1] = 199;
        len = 201;
    } else if (kind == 2) { /* a WELCOME to the server */
        memcpy(hello + 2, "\x07WELCOME", 8);
    }
    if (kind != 3)
        cr_assert_eq(zp_send_all(fd, hello, len), 0);
    cr_assert_eq(protocol_failure(sv.mon), (int64_t) want, "kind %d", kind);
    cr_assert(closed_by_server(fd));
    close(fd);
    server_still_serves(&sv);
}

#define BOTH(name)                                                                          \
    static void name##_tran(const char *tran);                                              \
    Test(curve_raw, name##_ipc) { name##_tran("ipc"); }                                     \
    Test(curve_raw, name##_tcp) { name##_tran("tcp"); }                                     \
    static void name##_tran(const char *tran)

BOTH(hello_that_does_not_open)
{
    garbled_hello(tran, 0, SN_ZMTP_ERR_CRYPTOGRAPHIC);
}

BOTH(hello_one_byte_short)
{
    garbled_hello(tran, 1, SN_ZMTP_ERR_MALFORMED_COMMAND_HELLO);
}

BOTH(welcome_sent_to_server)
{
    garbled_hello(tran, 2, SN_ZMTP_ERR_UNEXPECTED_COMMAND);
}

BOTH(plain_greeting_to_curve_server)
{
    garbled_hello(tran, 3, SN_ZMTP_ERR_MECHANISM_MISMATCH);
}

/* A peer that stops in the middle of HELLO and goes away costs only its connection. */
BOTH(truncated_hello_then_close)
{
    server sv;
    server_start(&sv, tran);
    int fd = tn_raw_connect(sv.ep);
    uint8_t g[64];
    sn_zmtp_greeting_build(g, "CURVE", false, 1);
    uint8_t part[66 + 50] = {0};
    memcpy(part, g, 64);
    part[64] = 0x04;
    part[65] = 200;
    cr_assert_eq(zp_send_all(fd, part, sizeof part), 0);
    zp_reset(fd);
    cr_assert_neq(tn_wait_event(sv.mon, SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL, 5000), 0);
    server_still_serves(&sv);
}

/* RFC 26: a MESSAGE whose nonce is not above the last one is rejected; the valid one
 * before it was delivered, the replay and whatever follows are not. */
static void
message_replay(const char *tran, bool reorder)
{
    server sv;
    server_start(&sv, tran);
    raw_client rc;
    raw_client_handshake(&rc, &sv);
    uint8_t f1[64], f2[64], f3[64];
    size_t l1 = raw_client_box(&rc, "one", f1);
    size_t l2 = raw_client_box(&rc, "two", f2);
    size_t l3 = raw_client_box(&rc, "three", f3);
    if (reorder) { /* two (nonce n+1) first, then one (nonce n) */
        cr_assert_eq(zp_send_all(rc.fd, f2, l2), 0);
        tn_recv_str(sv.s, "two");
        cr_assert_eq(zp_send_all(rc.fd, f1, l1), 0);
    } else { /* one, then one again */
        cr_assert_eq(zp_send_all(rc.fd, f1, l1), 0);
        tn_recv_str(sv.s, "one");
        cr_assert_eq(zp_send_all(rc.fd, f1, l1), 0);
    }
    (void) zp_send_all(rc.fd, f3, l3); /* may meet a closed connection */
    cr_assert(closed_by_server(rc.fd), "connection kept after a bad nonce");
    tn_expect_nothing(sv.s, 100, "a message after the bad nonce arrived");
    raw_client_close(&rc);
    server_still_serves(&sv);
}

BOTH(message_nonce_replayed)
{
    message_replay(tran, false);
}

BOTH(message_nonce_out_of_order)
{
    message_replay(tran, true);
}

/* A MESSAGE in a command frame (flags 04) is accepted as well (reference §11.7). */
BOTH(message_in_command_frame_accepted)
{
    server sv;
    server_start(&sv, tran);
    raw_client rc;
    raw_client_handshake(&rc, &sv);
    uint8_t f[64];
    size_t l = raw_client_box(&rc, "cmd-framed", f);
    f[0] |= SN_ZMTP_FLAG_COMMAND;
    cr_assert_eq(zp_send_all(rc.fd, f, l), 0);
    tn_recv_str(sv.s, "cmd-framed");
    raw_client_close(&rc);
}

typedef struct sender {
    void *s;
    int id;
} sender;

#define SENDERS 4
#define PER_SENDER 5000

static void *
sender_main(void *arg)
{
    sender *sd = arg;
    for (uint32_t i = 0; i < PER_SENDER; i++) {
        uint32_t v[2] = {(uint32_t) sd->id, i};
        if (sinew_send(sd->s, v, sizeof v, 0) != (int) sizeof v)
            return (void *) 1;
    }
    return NULL;
}

BOTH(threads_share_a_curve_socket)
{
    server sv;
    server_start(&sv, tran);
    void *c = tn_sock(SINEW_PUSH);
    uint8_t cpub[32], csec[32];
    crypto_box_keypair(cpub, csec);
    cr_assert_eq(sinew_setsockopt(c, SINEW_CURVE_SERVERKEY, sv.pub, 32), 0);
    cr_assert_eq(sinew_setsockopt(c, SINEW_CURVE_PUBLICKEY, cpub, 32), 0);
    cr_assert_eq(sinew_setsockopt(c, SINEW_CURVE_SECRETKEY, csec, 32), 0);
    tn_connect(c, sv.ep);
    pthread_t th[SENDERS];
    sender sd[SENDERS];
    for (int i = 0; i < SENDERS; i++) {
        sd[i] = (sender){c, i};
        cr_assert_eq(pthread_create(&th[i], NULL, sender_main, &sd[i]), 0);
    }
    uint32_t next[SENDERS] = {0};
    for (int n = 0; n < SENDERS * PER_SENDER; n++) {
        uint32_t v[2];
        cr_assert_eq(sinew_recv(sv.s, v, sizeof v, 0), (int) sizeof v, "message %d: errno %d",
                     n, errno);
        cr_assert_lt(v[0], SENDERS);
        cr_assert_eq(v[1], next[v[0]], "sender %u out of order", v[0]);
        next[v[0]]++;
    }
    for (int i = 0; i < SENDERS; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        cr_assert_null(rc);
    }
    /* One connection throughout: no nonce was refused. */
    cr_assert_eq(tn_wait_event(sv.mon, SINEW_EVENT_DISCONNECTED |
                                           SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL, 0), 0);
}

/* RFC 26: INITIATE is refused when its box or the vouch inside does not open, when it
 * is too short to hold them, and when it carries a cookie the server did not make for
 * this connection: one from another live connection, or one replayed from a finished
 * handshake. */
static void
bad_initiate(const char *tran, int kind, uint32_t want)
{
    server sv;
    server_start(&sv, tran);
    raw_client a, b;
    uint8_t ia[1024], ib[1024];
    size_t la = raw_client_until_initiate(&a, &sv, ia, sizeof ia);
    if (kind == 2) { /* a replayed INITIATE: the first connection completes first */
        cr_assert_eq(zp_send_all(a.fd, ia, la), 0);
        sn_zmtp_handshake_output_consumed(&a.hs, la);
        uint64_t deadline = tn_now_ms() + 5000;
        while (sn_zmtp_handshake_state(&a.hs) == SN_ZMTP_HS_RUNNING) {
            struct pollfd pf = {.fd = a.fd, .events = POLLIN};
            cr_assert_eq(poll(&pf, 1, tn_left_ms(deadline)), 1, "no READY");
            uint8_t buf[512];
            ssize_t n = recv(a.fd, buf, sizeof buf, 0);
            cr_assert_gt(n, 0);
            cr_assert_geq(sn_zmtp_handshake_feed(&a.hs, buf, (size_t) n), 0);
        }
        cr_assert_eq(sn_zmtp_handshake_state(&a.hs), SN_ZMTP_HS_DONE);
    }
    size_t lb = raw_client_until_initiate(&b, &sv, ib, sizeof ib);
    uint8_t *send = ib;
    size_t len = lb;
    if (kind == 0) {
        ib[lb - 20] ^= 0x01; /* inside the box */
    } else if (kind == 1 || kind == 2) {
        send = ia; /* connection a's INITIATE on connection b */
        len = la;
    } else if (kind == 3) { /* a 200-byte body: shorter than any INITIATE */
        ib[0] = 0x04;
        ib[1] = 200;
        memmove(ib + 2, ib + 9, 200);
        len = 202;
    }
    cr_assert_eq(zp_send_all(b.fd, send, len), 0);
    cr_assert_eq(protocol_failure(sv.mon), (int64_t) want, "kind %d", kind);
    cr_assert(closed_by_server(b.fd));
    raw_client_close(&a);
    raw_client_close(&b);
    server_still_serves(&sv);
}

BOTH(initiate_that_does_not_open)
{
    bad_initiate(tran, 0, SN_ZMTP_ERR_CRYPTOGRAPHIC);
}

BOTH(initiate_with_cookie_of_another_connection)
{
    bad_initiate(tran, 1, SN_ZMTP_ERR_CRYPTOGRAPHIC);
}

BOTH(initiate_replayed_on_a_new_connection)
{
    bad_initiate(tran, 2, SN_ZMTP_ERR_CRYPTOGRAPHIC);
}

BOTH(initiate_too_short)
{
    bad_initiate(tran, 3, SN_ZMTP_ERR_MALFORMED_COMMAND_INITIATE);
}

/* Metadata beyond what a handshake command may hold (64 KB): the connection ends before
 * the server buffers it, and the server goes on. */
BOTH(initiate_with_oversized_metadata)
{
    server sv;
    server_start(&sv, tran);
    raw_client a;
    uint8_t ia[1024];
    raw_client_until_initiate(&a, &sv, ia, sizeof ia);
    size_t body = 1u << 20;
    uint8_t hdr[18] = {0x06};
    for (int i = 0; i < 8; i++)
        hdr[1 + i] = (uint8_t) (body >> (56 - 8 * i));
    memcpy(hdr + 9, "\x08INITIATE", 9);
    cr_assert_eq(zp_send_all(a.fd, hdr, sizeof hdr), 0);
    uint8_t *junk = calloc(1, 100000);
    (void) zp_send_all(a.fd, junk, 100000); /* the server may close before all of it */
    free(junk);
    cr_assert(closed_by_server(a.fd), "oversized INITIATE kept the connection");
    raw_client_close(&a);
    server_still_serves(&sv);
}

/* ---- direct input under CURVE ---------------------------------------------------------
 * A thread blocked in a receive unboxes MESSAGE frames itself; a command it unboxes (a
 * PING travels boxed, flagged COMMAND inside) is the I/O thread's to answer. */

#define DI_COUNT 60

static size_t
di_size(int i)
{
    static const size_t sizes[] = {9, 100000, 3, 70000, 300, 20000};
    return sizes[i % 6];
}

typedef struct di_sender {
    void *s;
    int sent;
} di_sender;

/* Messages with a gap after each, so the client's PINGs (every 10 ms) reach the server
 * while its receiving thread waits on the connection. */
static void *
di_send_main(void *arg)
{
    di_sender *ds = arg;
    static uint8_t buf[100000];
    for (int i = 0; i < DI_COUNT; i++) {
        size_t n = di_size(i);
        memset(buf, 'a' + i % 26, n);
        buf[0] = (uint8_t) i;
        if (sinew_send(ds->s, buf, n, 0) != (int) n)
            break;
        ds->sent++;
        usleep(10000);
    }
    return NULL;
}

static void
direct_input_answers_boxed_pings(const char *tran)
{
    /* No monitor on the server: a receive borrows the connection of a socket with one
     * pipe only. */
    server sv;
    crypto_box_keypair(sv.pub, sv.sec);
    sv.s = tn_sock(SINEW_PULL);
    int one = 1;
    cr_assert_eq(sinew_setsockopt(sv.s, SINEW_CURVE_SERVER, &one, sizeof one), 0);
    cr_assert_eq(sinew_setsockopt(sv.s, SINEW_CURVE_SECRETKEY, sv.sec, 32), 0);
    tn_set(sv.s, SINEW_RCVTIMEO, 5000);
    tn_bind_any(sv.s, tran, sv.ep);
    void *c = tn_sock(SINEW_PUSH);
    uint8_t cpub[32], csec[32];
    crypto_box_keypair(cpub, csec);
    cr_assert_eq(sinew_setsockopt(c, SINEW_CURVE_SERVERKEY, sv.pub, 32), 0);
    cr_assert_eq(sinew_setsockopt(c, SINEW_CURVE_PUBLICKEY, cpub, 32), 0);
    cr_assert_eq(sinew_setsockopt(c, SINEW_CURVE_SECRETKEY, csec, 32), 0);
    /* Unanswered PINGs would cost the client its connection within 80 ms. */
    tn_set(c, SINEW_HEARTBEAT_IVL, 10);
    tn_set(c, SINEW_HEARTBEAT_TIMEOUT, 80);
    void *cmon = tn_monitor(c, SINEW_EVENT_DISCONNECTED);
    tn_connect(c, sv.ep);
    di_sender ds = {.s = c};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, di_send_main, &ds), 0);
    int got = 0;
    for (; got < DI_COUNT; got++) {
        sinew_msg_t m;
        sinew_msg_init(&m);
        if (sinew_msg_recv(&m, sv.s, 0) < 0)
            break;
        size_t n = di_size(got);
        const uint8_t *d = sinew_msg_data(&m);
        bool whole = sinew_msg_size(&m) == n && d[0] == (uint8_t) got;
        for (size_t k = 1; whole && k < n; k++)
            whole = d[k] == 'a' + got % 26;
        sinew_msg_close(&m);
        cr_assert(whole, "message %d: wrong size, order or content", got);
    }
    pthread_join(th, NULL);
    cr_assert_eq(ds.sent, DI_COUNT);
    cr_assert_eq(got, DI_COUNT, "%d of %d messages arrived", got, DI_COUNT);
    cr_assert_eq(tn_wait_event(cmon, SINEW_EVENT_DISCONNECTED, 0), 0,
                 "the client's PINGs went unanswered");
}

Test(curve_raw, direct_input_answers_boxed_pings_tcp)
{
    direct_input_answers_boxed_pings("tcp");
}

Test(curve_raw, direct_input_answers_boxed_pings_ipc)
{
    direct_input_answers_boxed_pings("ipc");
}
