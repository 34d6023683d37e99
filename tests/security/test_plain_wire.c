/* PLAIN (RFC 24) on the wire against raw peers: the bytes libzmq 4.3.4 exchanges
 * (tests/vectors/plain_*.hex), hostile and malformed handshakes (refused with the right
 * event, never a crash, and the server keeps serving), and the security options. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sinew.h"
#include "support/transports.h"
#include "support/vectors.h"
#include "support/zmtp_peer.h"

#define WAIT_MS 5000

/* A sinew ZAP handler answering 200 "alice" (X-Zap-Note "ok") to everything, or
 * `status` to everything when set. */
typedef struct handler {
    void *sock;
    pthread_t thread;
    atomic_bool stop;
    int status;
    char frame[12][256];
    size_t frame_len[12];
    int nframes;
} handler;

static handler *live;

static void *
handler_main(void *arg)
{
    handler *h = arg;
    while (!atomic_load(&h->stop)) {
        int n = 0, more = 1;
        while (more) {
            char buf[256];
            int rc = sinew_recv(h->sock, buf, sizeof buf, 0);
            if (rc < 0)
                break;
            if (n < 12) {
                memcpy(h->frame[n], buf, (size_t) (rc < 256 ? rc : 256));
                h->frame_len[n++] = (size_t) (rc < 256 ? rc : 256);
            }
            sinew_getsockopt_int(h->sock, SINEW_RCVMORE, &more);
        }
        if (n == 0)
            continue;
        h->nframes = n;
        char status[8];
        snprintf(status, sizeof status, "%d", h->status ? h->status : 200);
        static const uint8_t meta[] = {10, 'X', '-', 'Z', 'a', 'p', '-', 'N', 'o', 't', 'e',
                                       0, 0, 0, 2, 'o', 'k'};
        sinew_send(h->sock, "1.0", 3, SINEW_SNDMORE);
        sinew_send(h->sock, h->frame[1], h->frame_len[1], SINEW_SNDMORE);
        sinew_send(h->sock, status, 3, SINEW_SNDMORE);
        sinew_send(h->sock, "", 0, SINEW_SNDMORE);
        sinew_send(h->sock, "alice", 5, SINEW_SNDMORE);
        sinew_send(h->sock, meta, sizeof meta, 0);
    }
    return NULL;
}

static void
handler_start(handler *h, int status)
{
    memset(h, 0, sizeof *h);
    h->status = status;
    h->sock = sinew_socket(tn_ctx, SINEW_REP);
    cr_assert_not_null(h->sock);
    sinew_setsockopt_int(h->sock, SINEW_RCVTIMEO, 50);
    sinew_setsockopt_int(h->sock, SINEW_LINGER, 0);
    cr_assert_eq(sinew_bind(h->sock, "inproc://zeromq.zap.01"), 0);
    cr_assert_eq(pthread_create(&h->thread, NULL, handler_main, h), 0);
    live = h;
}

static void
handler_stop(handler *h)
{
    live = NULL;
    atomic_store(&h->stop, true);
    pthread_join(h->thread, NULL);
    sinew_close(h->sock);
}

static void
wire_teardown(void)
{
    if (live != NULL)
        handler_stop(live);
    tn_tran_teardown();
}

TestSuite(plain_wire, .init = tn_tran_setup, .fini = wire_teardown, .timeout = 20.0);

static void *
plain_rep(const char *tran, char *ep)
{
    void *rep = tn_sock(SINEW_REP);
    cr_assert_eq(sinew_setsockopt_int(rep, SINEW_PLAIN_SERVER, 1), 0);
    cr_assert_eq(sinew_setsockopt(rep, SINEW_ZAP_DOMAIN, "sinew-test", 10), 0);
    sinew_setsockopt_int(rep, SINEW_RCVTIMEO, WAIT_MS);
    tn_bind_any(rep, tran, ep);
    return rep;
}

static void
expect_bytes(int fd, const sn_test_segment *seg, const char *what)
{
    cr_assert_not_null(seg, "%s: not in the vector file", what);
    uint8_t buf[512];
    cr_assert_leq(seg->len, sizeof buf);
    cr_assert_eq(zp_read_exact(fd, buf, seg->len, WAIT_MS), seg->len, "%s: short", what);
    cr_assert_eq(memcmp(buf, seg->data, seg->len), 0, "%s differs from libzmq's", what);
}

/* plain_server.hex: a raw client talks to our PLAIN server as it did to libzmq's; we
 * answer with the same WELCOME, READY and reply bytes, and ask ZAP with the same frames.
 * (Only our greeting's as-server byte differs: RFC 37 wants 1 from a PLAIN server,
 * libzmq sends 0.) */
Test(plain_wire, server_matches_libzmq_vector)
{
    sn_test_vectors v;
    cr_assert_eq(sn_test_vectors_load("plain_server.hex", &v), 0);
    handler h;
    handler_start(&h, 200);
    char ep[TN_EP_MAX];
    void *rep = plain_rep("tcp", ep);
    int fd = zp_connect(ep);
    cr_assert_geq(fd, 0);
    const sn_test_segment *pg = sn_test_vectors_find(&v, "peer", "greeting");
    cr_assert_eq(zp_send_all(fd, pg->data, pg->len), 0);
    uint8_t greet[64];
    cr_assert_eq(zp_read_exact(fd, greet, 64, WAIT_MS), 64);
    const sn_test_segment *zg = sn_test_vectors_find(&v, "zmq", "greeting");
    cr_assert_eq(memcmp(greet, zg->data, 32), 0);
    cr_assert_eq(greet[32], 1, "as-server byte of a PLAIN server");
    cr_assert_eq(memcmp(greet + 33, zg->data + 33, 31), 0);

    const sn_test_segment *hello = sn_test_vectors_find(&v, "peer", "HELLO");
    cr_assert_eq(zp_send_all(fd, hello->data, hello->len), 0);
    expect_bytes(fd, sn_test_vectors_find(&v, "zmq", "WELCOME"), "WELCOME");
    const sn_test_segment *init = sn_test_vectors_find(&v, "peer", "INITIATE");
    cr_assert_eq(zp_send_all(fd, init->data, init->len), 0);
    expect_bytes(fd, sn_test_vectors_find(&v, "zmq", "READY"), "READY");
    const sn_test_segment *req = sn_test_vectors_find(&v, "peer", "request");
    cr_assert_eq(zp_send_all(fd, req->data, req->len), 0);
    /* What the capture's REP application saw (zmq_msg_gets): User-Id and the handler's
     * metadata from ZAP, the peer's address and its own properties. */
    sinew_msg_t m;
    sinew_msg_init(&m);
    cr_assert_eq(sinew_msg_recv(&m, rep, 0), 4);
    cr_assert_eq(memcmp(sinew_msg_data(&m), "ping", 4), 0);
    cr_assert_str_eq(sinew_msg_gets(&m, "User-Id"), "alice");
    cr_assert_str_eq(sinew_msg_gets(&m, "X-Zap-Note"), "ok");
    cr_assert_str_eq(sinew_msg_gets(&m, "Peer-Address"), "127.0.0.1");
    cr_assert_str_eq(sinew_msg_gets(&m, "Socket-Type"), "REQ");
    cr_assert_str_eq(sinew_msg_gets(&m, "socket-type"), "REQ", "names are case-insensitive");
    cr_assert_null(sinew_msg_gets(&m, "X-Missing"));
    cr_assert_eq(errno, EINVAL);
    sinew_msg_t copy;
    sinew_msg_init(&copy);
    cr_assert_eq(sinew_msg_copy(&copy, &m), 0);
    sinew_msg_close(&m);
    cr_assert_str_eq(sinew_msg_gets(&copy, "User-Id"), "alice", "a copy keeps them");
    sinew_msg_close(&copy);
    cr_assert_eq(sinew_send(rep, "pong", 4, 0), 4);
    expect_bytes(fd, sn_test_vectors_find(&v, "zmq", "reply delimiter"), "delimiter");
    expect_bytes(fd, sn_test_vectors_find(&v, "zmq", "reply 'pong'"), "reply");

    /* ZAP request frames 1..8 of the capture (frame 0 is the delimiter REP strips). */
    cr_assert_eq(h.nframes, 8);
    for (int i = 0; i < 8; i++) {
        const sn_test_segment *f = sn_test_vectors_nth(&v, "frame", (size_t) i + 1);
        cr_assert_eq(h.frame_len[i], f->len, "ZAP frame %d length", i + 1);
        cr_assert_eq(memcmp(h.frame[i], f->data, f->len), 0, "ZAP frame %d", i + 1);
    }
    close(fd);
    sn_test_vectors_free(&v);
}

/* plain_client.hex: our PLAIN client (DEALER admin/secret) sends libzmq's HELLO and
 * INITIATE bytes to a raw server and then a clear-text message. */
Test(plain_wire, client_matches_libzmq_vector)
{
    sn_test_vectors v;
    cr_assert_eq(sn_test_vectors_load("plain_client.hex", &v), 0);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    cr_assert_eq(bind(lfd, (struct sockaddr *) &a, sizeof a), 0);
    cr_assert_eq(listen(lfd, 4), 0);
    cr_assert_eq(getsockname(lfd, (struct sockaddr *) &a, &al), 0);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", ntohs(a.sin_port));

    void *dealer = tn_sock(SINEW_DEALER);
    cr_assert_eq(sinew_setsockopt(dealer, SINEW_PLAIN_USERNAME, "admin", 5), 0);
    cr_assert_eq(sinew_setsockopt(dealer, SINEW_PLAIN_PASSWORD, "secret", 6), 0);
    tn_connect(dealer, ep);
    cr_assert_eq(sinew_send(dealer, "hi", 2, 0), 2);
    int fd = accept(lfd, NULL, NULL);
    cr_assert_geq(fd, 0);
    const sn_test_segment *pg = sn_test_vectors_find(&v, "peer", "greeting");
    cr_assert_eq(zp_send_all(fd, pg->data, pg->len), 0);
    expect_bytes(fd, sn_test_vectors_find(&v, "zmq", "greeting"), "greeting");
    expect_bytes(fd, sn_test_vectors_find(&v, "zmq", "HELLO"), "HELLO");
    const sn_test_segment *w = sn_test_vectors_find(&v, "peer", "WELCOME");
    cr_assert_eq(zp_send_all(fd, w->data, w->len), 0);
    expect_bytes(fd, sn_test_vectors_find(&v, "zmq", "INITIATE"), "INITIATE");
    const sn_test_segment *r = sn_test_vectors_find(&v, "peer", "READY");
    cr_assert_eq(zp_send_all(fd, r->data, r->len), 0);
    expect_bytes(fd, sn_test_vectors_find(&v, "zmq", "message"), "message");
    close(fd);
    close(lfd);
    sn_test_vectors_free(&v);
}

/* libzmq's PLAIN server writes ERROR as 5e "RROR" (plain_server_zap_400.hex): our
 * client takes it as the refusal it is, HANDSHAKE_FAILED_AUTH 400. */
Test(plain_wire, client_reads_libzmq_error)
{
    sn_test_vectors v;
    cr_assert_eq(sn_test_vectors_load("plain_server_zap_400.hex", &v), 0);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    cr_assert_eq(bind(lfd, (struct sockaddr *) &a, sizeof a), 0);
    cr_assert_eq(listen(lfd, 4), 0);
    cr_assert_eq(getsockname(lfd, (struct sockaddr *) &a, &al), 0);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", ntohs(a.sin_port));
    void *req = tn_sock(SINEW_REQ);
    cr_assert_eq(sinew_setsockopt(req, SINEW_PLAIN_USERNAME, "admin", 5), 0);
    cr_assert_eq(sinew_setsockopt(req, SINEW_PLAIN_PASSWORD, "secret", 6), 0);
    void *mon = tn_monitor(req, SINEW_EVENT_HANDSHAKE_FAILED_AUTH);
    tn_connect(req, ep);
    int fd = accept(lfd, NULL, NULL);
    cr_assert_geq(fd, 0);
    const sn_test_segment *zg = sn_test_vectors_find(&v, "zmq", "greeting");
    cr_assert_eq(zp_send_all(fd, zg->data, zg->len), 0);
    uint8_t buf[64 + 21];
    cr_assert_eq(zp_read_exact(fd, buf, sizeof buf, WAIT_MS), sizeof buf);
    const sn_test_segment *err = sn_test_vectors_find(&v, "zmq", "everything");
    cr_assert_eq(err->len, 11);
    cr_assert_eq(zp_send_all(fd, err->data, err->len), 0);
    cr_assert_eq(tn_wait_event(mon, SINEW_EVENT_HANDSHAKE_FAILED_AUTH, WAIT_MS),
                 SINEW_EVENT_HANDSHAKE_FAILED_AUTH);
    close(fd);
    close(lfd);
    sn_test_vectors_free(&v);
}

/* ---- hostile clients ------------------------------------------------------------------ */

typedef struct hostile {
    const char *name;
    uint8_t bytes[80];
    size_t len;
    bool after_welcome; /* sent after a good HELLO got WELCOME */
    uint32_t code;      /* expected HANDSHAKE_FAILED_PROTOCOL value */
} hostile;

static const uint8_t good_hello[] = {0x04, 0x13, 0x05, 'H', 'E', 'L', 'L', 'O', 0x05, 'a',
                                     'd',  'm',  'i', 'n', 0x06, 's', 'e', 'c', 'r', 'e', 't'};

static const hostile hostiles[] = {
    {"truncated HELLO", {0x04, 0x09, 0x05, 'H', 'E', 'L', 'L', 'O', 0x05, 'a', 'd'}, 11, false,
     SINEW_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO},
    {"HELLO without password", {0x04, 0x0c, 0x05, 'H', 'E', 'L', 'L', 'O', 0x05, 'a', 'd', 'm',
                                'i', 'n'}, 14, false,
     SINEW_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO},
    {"HELLO with trailing bytes", {0x04, 0x0a, 0x05, 'H', 'E', 'L', 'L', 'O', 0x00, 0x00, 'x',
                                   'y'}, 12, false,
     SINEW_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO},
    {"empty HELLO", {0x04, 0x06, 0x05, 'H', 'E', 'L', 'L', 'O'}, 8, false,
     SINEW_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO},
    {"READY instead of HELLO", {0x04, 0x06, 0x05, 'R', 'E', 'A', 'D', 'Y'}, 8, false,
     SINEW_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND},
    {"name past the end", {0x04, 0x03, 0x09, 'H', 'E'}, 5, false,
     SINEW_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED},
    {"HELLO again", {0x04, 0x08, 0x05, 'H', 'E', 'L', 'L', 'O', 0, 0}, 10, true,
     SINEW_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND},
    {"INITIATE metadata past the end", {0x04, 0x12, 0x08, 'I', 'N', 'I', 'T', 'I', 'A', 'T',
                                        'E', 0x04, 'N', 'a', 'm', 'e', 0x7f, 0xff, 0xff,
                                        0xff}, 20, true,
     SINEW_PROTOCOL_ERROR_ZMTP_INVALID_METADATA},
    {"message frame before READY", {0x00, 0x02, 'h', 'i'}, 4, true,
     SINEW_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND},
};

/* Each hostile client is refused with HANDSHAKE_FAILED_PROTOCOL and libzmq's error code,
 * nothing reaches the application, and a good client is served afterwards. */
Test(plain_wire, hostile_handshakes_refused)
{
    handler h;
    handler_start(&h, 200);
    char ep[TN_EP_MAX];
    void *rep = plain_rep("tcp", ep);
    void *mon = tn_monitor(rep, SINEW_EVENT_ALL);
    uint8_t greet[64];
    memcpy(greet, zp_greeting, 64);
    memcpy(greet + 12, "PLAIN", 5);
    for (size_t i = 0; i < sizeof hostiles / sizeof hostiles[0]; i++) {
        const hostile *x = &hostiles[i];
        int fd = zp_connect(ep);
        cr_assert_geq(fd, 0);
        cr_assert_eq(zp_send_all(fd, greet, 64), 0);
        if (x->after_welcome) {
            cr_assert_eq(zp_send_all(fd, good_hello, sizeof good_hello), 0);
            uint8_t buf[64 + 10];
            cr_assert_eq(zp_read_exact(fd, buf, sizeof buf, WAIT_MS), sizeof buf, "%s",
                         x->name);
        }
        cr_assert_eq(zp_send_all(fd, x->bytes, x->len), 0);
        int ev;
        uint8_t frame[6];
        char addr[TN_EP_MAX];
        /* The next handshake event must be this failure, with its code. */
        for (;;) {
            sinew_setsockopt_int(mon, SINEW_RCVTIMEO, WAIT_MS);
            cr_assert_eq(sinew_recv(mon, frame, 6, 0), 6, "%s: no event", x->name);
            cr_assert_geq(sinew_recv(mon, addr, sizeof addr, 0), 0);
            uint16_t e;
            memcpy(&e, frame, 2);
            ev = e;
            if (ev & (SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL | SINEW_EVENT_HANDSHAKE_SUCCEEDED |
                      SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL | SINEW_EVENT_HANDSHAKE_FAILED_AUTH))
                break;
        }
        uint32_t value;
        memcpy(&value, frame + 2, 4);
        cr_assert_eq(ev, SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL, "%s: event 0x%x", x->name, ev);
        cr_assert_eq(value, x->code, "%s: code 0x%x", x->name, value);
        close(fd);
    }
    tn_expect_nothing(rep, 100, "a hostile client's message was delivered");
    void *req = tn_sock(SINEW_REQ);
    cr_assert_eq(sinew_setsockopt(req, SINEW_PLAIN_USERNAME, "admin", 5), 0);
    cr_assert_eq(sinew_setsockopt(req, SINEW_PLAIN_PASSWORD, "secret", 6), 0);
    sinew_setsockopt_int(req, SINEW_RCVTIMEO, WAIT_MS);
    tn_connect(req, ep);
    cr_assert_eq(sinew_send(req, "ok", 2, 0), 2);
    tn_recv_str(rep, "ok");
}

/* An oversized HELLO (a 1 MiB command) is refused without the server buffering it. */
Test(plain_wire, oversized_hello_refused)
{
    handler h;
    handler_start(&h, 200);
    char ep[TN_EP_MAX];
    void *rep = plain_rep("ipc", ep);
    void *mon = tn_monitor(rep, SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL);
    uint8_t greet[64];
    memcpy(greet, zp_greeting, 64);
    memcpy(greet + 12, "PLAIN", 5);
    int fd = zp_connect(ep);
    cr_assert_geq(fd, 0);
    cr_assert_eq(zp_send_all(fd, greet, 64), 0);
    uint8_t hdr[9] = {0x06, 0, 0, 0, 0, 0, 0x10, 0, 0}; /* 1 MiB command */
    cr_assert_eq(zp_send_all(fd, hdr, sizeof hdr), 0);
    cr_assert_eq(tn_wait_event(mon, SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL, WAIT_MS),
                 SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL);
    close(fd);
    (void) rep;
}

/* ---- options ------------------------------------------------------------------------ */

static int
get_int(void *s, int opt)
{
    int v = -1;
    cr_assert_eq(sinew_getsockopt_int(s, opt, &v), 0, "getsockopt(%d): errno %d", opt, errno);
    return v;
}

/* As libzmq: PLAIN_SERVER makes a PLAIN server, a username or password a PLAIN client,
 * an empty username (NULL, 0) NULL again; MECHANISM reads the result back. */
Test(plain_wire, options)
{
    void *s = tn_sock(SINEW_REP);
    cr_assert_eq(get_int(s, SINEW_MECHANISM), SINEW_NULL);
    cr_assert_eq(sinew_setsockopt_int(s, SINEW_PLAIN_SERVER, 1), 0);
    cr_assert_eq(get_int(s, SINEW_MECHANISM), SINEW_PLAIN);
    cr_assert_eq(get_int(s, SINEW_PLAIN_SERVER), 1);
    cr_assert_eq(sinew_setsockopt(s, SINEW_PLAIN_USERNAME, "bob", 3), 0);
    cr_assert_eq(get_int(s, SINEW_PLAIN_SERVER), 0, "a username makes a client");
    char buf[300];
    size_t len = sizeof buf;
    cr_assert_eq(sinew_getsockopt(s, SINEW_PLAIN_USERNAME, buf, &len), 0);
    cr_assert_eq(len, 4);
    cr_assert_str_eq(buf, "bob");
    cr_assert_eq(sinew_setsockopt(s, SINEW_PLAIN_PASSWORD, "pw", 2), 0);
    len = sizeof buf;
    cr_assert_eq(sinew_getsockopt(s, SINEW_PLAIN_PASSWORD, buf, &len), 0);
    cr_assert_str_eq(buf, "pw");
    len = 2; /* too small for "pw" and its NUL */
    cr_assert_eq(sinew_getsockopt(s, SINEW_PLAIN_PASSWORD, buf, &len), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_setsockopt(s, SINEW_PLAIN_USERNAME, NULL, 0), 0);
    cr_assert_eq(get_int(s, SINEW_MECHANISM), SINEW_NULL);

    char big[256];
    memset(big, 'x', sizeof big);
    cr_assert_eq(sinew_setsockopt(s, SINEW_PLAIN_USERNAME, big, 256), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_setsockopt(s, SINEW_PLAIN_USERNAME, big, 255), 0);
    cr_assert_eq(sinew_setsockopt(s, SINEW_PLAIN_USERNAME, NULL, 3), -1);
    cr_assert_eq(sinew_setsockopt_int(s, SINEW_PLAIN_SERVER, 2), -1);
    cr_assert_eq(sinew_setsockopt(s, SINEW_PLAIN_SERVER, big, 1), -1);
    cr_assert_eq(sinew_setsockopt(s, SINEW_MECHANISM, big, 4), -1, "read-only");

    cr_assert_eq(sinew_setsockopt(s, SINEW_ZAP_DOMAIN, "global", 6), 0);
    len = sizeof buf;
    cr_assert_eq(sinew_getsockopt(s, SINEW_ZAP_DOMAIN, buf, &len), 0);
    cr_assert_str_eq(buf, "global");
    cr_assert_eq(len, 7);
    cr_assert_eq(sinew_setsockopt(s, SINEW_ZAP_DOMAIN, big, 256), -1);
    cr_assert_eq(sinew_setsockopt(s, SINEW_ZAP_DOMAIN, "", 0), 0);
    len = sizeof buf;
    cr_assert_eq(sinew_getsockopt(s, SINEW_ZAP_DOMAIN, buf, &len), 0);
    cr_assert_eq(len, 1);
    cr_assert_eq(get_int(s, SINEW_ZAP_ENFORCE_DOMAIN), 0);
    cr_assert_eq(sinew_setsockopt_int(s, SINEW_ZAP_ENFORCE_DOMAIN, 1), 0);
    cr_assert_eq(get_int(s, SINEW_ZAP_ENFORCE_DOMAIN), 1);
    cr_assert_eq(sinew_setsockopt_int(s, SINEW_ZAP_ENFORCE_DOMAIN, 5), -1);
}

/* Messages made by the application, or that came over inproc, have no connection
 * properties (as libzmq): gets says EINVAL. */
Test(plain_wire, gets_without_connection)
{
    sinew_msg_t m;
    sinew_msg_init_size(&m, 3);
    errno = 0;
    cr_assert_null(sinew_msg_gets(&m, "Socket-Type"));
    cr_assert_eq(errno, EINVAL);
    cr_assert_null(sinew_msg_gets(NULL, "Socket-Type"));
    cr_assert_eq(errno, EFAULT);
    cr_assert_null(sinew_msg_gets(&m, NULL));
    sinew_msg_close(&m);

    void *a = tn_sock(SINEW_PAIR), *b = tn_sock(SINEW_PAIR);
    tn_bind(a, "inproc://gets");
    tn_connect(b, "inproc://gets");
    cr_assert_eq(sinew_send(b, "x", 1, 0), 1);
    sinew_msg_init(&m);
    cr_assert_eq(sinew_msg_recv(&m, a, 0), 1);
    cr_assert_null(sinew_msg_gets(&m, "Socket-Type"));
    sinew_msg_close(&m);
}

/* Over tcp without security: Socket-Type, Identity and Peer-Address, no User-Id. */
Test(plain_wire, gets_over_tcp)
{
    char ep[TN_EP_MAX];
    void *pull = tn_sock(SINEW_ROUTER), *push = tn_sock(SINEW_DEALER);
    sinew_setsockopt(push, SINEW_ROUTING_ID, "me", 2);
    sinew_setsockopt_int(pull, SINEW_RCVTIMEO, WAIT_MS);
    tn_bind_any(pull, "tcp", ep);
    tn_connect(push, ep);
    cr_assert_eq(sinew_send(push, "x", 1, 0), 1);
    sinew_msg_t m;
    sinew_msg_init(&m);
    cr_assert_eq(sinew_msg_recv(&m, pull, 0), 2); /* the routing id frame */
    sinew_msg_close(&m);
    sinew_msg_init(&m);
    cr_assert_eq(sinew_msg_recv(&m, pull, 0), 1);
    cr_assert_str_eq(sinew_msg_gets(&m, "Socket-Type"), "DEALER");
    cr_assert_str_eq(sinew_msg_gets(&m, "Identity"), "me");
    cr_assert_str_eq(sinew_msg_gets(&m, "Peer-Address"), "127.0.0.1");
    cr_assert_null(sinew_msg_gets(&m, "User-Id"));
    sinew_msg_close(&m);
}

/* A handler that never answers holds up only the handshake that asked: the I/O thread
 * goes on serving other connections meanwhile, and SINEW_HANDSHAKE_IVL ends the wait
 * (HANDSHAKE_FAILED_NO_DETAIL, ETIMEDOUT), dropping the pending request. */
Test(plain_wire, silent_handler_blocks_nothing_else)
{
    void *silent = tn_sock(SINEW_REP);
    tn_bind(silent, "inproc://zeromq.zap.01"); /* receives, never replies */
    char ep[TN_EP_MAX], ep2[TN_EP_MAX];
    void *rep = tn_sock(SINEW_REP);
    cr_assert_eq(sinew_setsockopt_int(rep, SINEW_PLAIN_SERVER, 1), 0);
    cr_assert_eq(sinew_setsockopt_int(rep, SINEW_HANDSHAKE_IVL, 500), 0);
    tn_bind_any(rep, "tcp", ep);
    void *mon = tn_monitor(rep, SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
    void *req = tn_sock(SINEW_REQ);
    sinew_setsockopt(req, SINEW_PLAIN_USERNAME, "admin", 5);
    sinew_setsockopt(req, SINEW_PLAIN_PASSWORD, "secret", 6);
    sinew_setsockopt_int(req, SINEW_RECONNECT_IVL, -1);
    tn_connect(req, ep);
    cr_assert_eq(sinew_send(req, "waiting", 7, 0), 7);
    sinew_setsockopt_int(silent, SINEW_RCVTIMEO, WAIT_MS);
    char buf[64];
    cr_assert_eq(sinew_recv(silent, buf, sizeof buf, 0), 3, "the request's version");

    /* Meanwhile, on the same context (one I/O thread): plain traffic flows. */
    void *pull = tn_sock(SINEW_PULL), *push = tn_sock(SINEW_PUSH);
    sinew_setsockopt_int(pull, SINEW_RCVTIMEO, WAIT_MS);
    tn_bind_any(pull, "ipc", ep2);
    tn_connect(push, ep2);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(sinew_send(push, "x", 1, 0), 1);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(sinew_recv(pull, buf, sizeof buf, 0), 1);

    cr_assert_eq(tn_wait_event(mon, SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL, WAIT_MS),
                 SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
    tn_expect_nothing(rep, 100, "the unanswered client's message was delivered");
}
