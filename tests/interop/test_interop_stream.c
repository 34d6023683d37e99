/* STREAM interop: a sinew STREAM socket and a libzmq ZMQ_STREAM socket talking to each
 * other over tcp and ipc, each side binding in turn; and one script of raw-socket
 * exchanges run against both libraries' STREAM sockets, so every expectation in it is
 * checked against libzmq too. */
#include "interop.h"

typedef struct combo {
    char transport[4];
    bool sinew_binds; /* stream_to_stream: who binds; raw_script: run on sinew, else zmq */
} combo;

static void
free_combos(struct criterion_test_params *p)
{
    cr_free(p->params);
}

static combo *
all_combos(size_t *n)
{
    combo *cs = cr_malloc(4 * sizeof *cs);
    for (int k = 0; k < 4; k++) {
        memset(&cs[k], 0, sizeof cs[k]);
        snprintf(cs[k].transport, sizeof cs[k].transport, "%s", k & 1 ? "ipc" : "tcp");
        cs[k].sinew_binds = (k & 2) != 0;
    }
    *n = 4;
    return cs;
}

/* The four combos as parameters of test name. */
#define COMBO_PARAMS(name)                                                              \
    ParameterizedTestParameters(interop_stream, name)                                   \
    {                                                                                   \
        size_t n;                                                                       \
        combo *cs = all_combos(&n);                                                     \
        return cr_make_param_array(combo, cs, n, free_combos);                          \
    }

typedef struct rid {
    uint8_t b[256];
    size_t len;
} rid;

static bool
rid_eq(const rid *a, const rid *b)
{
    return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

static const char *
lib(const ip_sock *s)
{
    return s->zmq ? "zmq" : "sinew";
}

static ip_sock *
stream_socket(bool zmq)
{
    ip_sock *s = ip_socket(zmq, zmq ? ZMQ_STREAM : SINEW_STREAM);
    ip_setint(s, zmq ? ZMQ_RCVTIMEO : SINEW_RCVTIMEO, IP_WAIT_MS);
    ip_setint(s, zmq ? ZMQ_SNDTIMEO : SINEW_SNDTIMEO, IP_WAIT_MS);
    return s;
}

static bool
rcvmore(ip_sock *s)
{
    int more = 0;
    size_t len = sizeof more;
    int rc = s->zmq ? zmq_getsockopt(s->s, ZMQ_RCVMORE, &more, &len)
                    : sinew_getsockopt(s->s, SINEW_RCVMORE, &more, &len);
    cr_assert_eq(rc, 0);
    return more != 0;
}

/* [id, data]: the id into *id, the data into buf; returns the data's size. */
static int
recv_pair(ip_sock *s, rid *id, void *buf, size_t cap)
{
    int n = ip_recv_raw(s, id->b, sizeof id->b, 0);
    cr_assert_geq(n, 1, "%s: routing id frame: errno %d", lib(s), errno);
    id->len = (size_t) n;
    cr_assert(rcvmore(s), "%s: routing id frame without MORE", lib(s));
    n = ip_recv_raw(s, buf, cap, 0);
    cr_assert_geq(n, 0, "%s: data frame: errno %d", lib(s), errno);
    cr_assert(!rcvmore(s), "%s: data frame with MORE", lib(s));
    return n;
}

static rid
expect_notify(ip_sock *s)
{
    rid id;
    char buf[64];
    int n = recv_pair(s, &id, buf, sizeof buf);
    cr_assert_eq(n, 0, "%s: expected a notification, got %d bytes", lib(s), n);
    return id;
}

/* libzmq generates 5-byte ids: a zero, then a counter. */
static void
expect_generated(const rid *id, const ip_sock *s)
{
    cr_assert_eq(id->len, 5, "%s: id of %zu bytes", lib(s), id->len);
    cr_assert_eq(id->b[0], 0, "%s: id starts with %d", lib(s), id->b[0]);
}

/* Data from id until len bytes came (a stream may cut or join writes anywhere). */
static void
expect_bytes(ip_sock *s, const rid *id, const void *want, size_t len)
{
    static uint8_t got[1 << 20];
    cr_assert_leq(len, sizeof got);
    size_t have = 0;
    while (have < len) {
        rid from;
        int n = recv_pair(s, &from, got + have, sizeof got - have);
        cr_assert(rid_eq(&from, id), "%s: data from another connection", lib(s));
        cr_assert_gt(n, 0, "%s: a notification amid the data (%zu of %zu bytes)", lib(s),
                     have, len);
        have += (size_t) n;
    }
    cr_assert_eq(have, len);
    cr_assert_eq(memcmp(got, want, len), 0, "%s: bytes differ", lib(s));
}

static void
send_pair(ip_sock *s, const rid *id, const void *data, size_t len)
{
    ip_send(s, id->b, id->len, ZMQ_SNDMORE);
    ip_send(s, data, len, 0);
}

/* libzmq ends a connection closed with an empty frame only once its application calls
 * into the socket again (the pipe's termination handshake needs the socket's thread;
 * sinew's does not): while waiting for the effect, the closing side is kept called. */
static void
pump(ip_sock *s)
{
    if (s->zmq) {
        int ev;
        size_t len = sizeof ev;
        zmq_getsockopt(s->s, ZMQ_EVENTS, &ev, &len);
    }
}

/* The disconnect notification on s after closer closed the connection. */
static rid
expect_close_notify(ip_sock *s, ip_sock *closer)
{
    uint64_t deadline = ip_now_ms() + IP_WAIT_MS;
    for (;;) {
        pump(closer);
        int ready;
        if (s->zmq) {
            zmq_pollitem_t it = {.socket = s->s, .events = ZMQ_POLLIN};
            ready = zmq_poll(&it, 1, 10);
        } else {
            sinew_pollitem_t it = {.socket = s->s, .events = SINEW_POLLIN};
            ready = sinew_poll(&it, 1, 10);
        }
        if (ready == 1)
            return expect_notify(s);
        cr_assert_lt(ip_now_ms(), deadline, "%s: no disconnect notification", lib(s));
    }
}

/* The plain peer fd sees the end of the stream after s closed it. */
static void
expect_raw_closed(int fd, ip_sock *s)
{
    uint64_t deadline = ip_now_ms() + IP_WAIT_MS;
    for (;;) {
        pump(s);
        if (ip_raw_closed(fd, 10))
            return;
        cr_assert_lt(ip_now_ms(), deadline, "%s: the connection stays open", lib(s));
    }
}

static uint8_t *
pattern(size_t len, unsigned seed)
{
    uint8_t *p = malloc(len);
    cr_assert_not_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t) (i * 7u + seed + (i >> 9));
    return p;
}

/* ---- sinew STREAM <-> libzmq ZMQ_STREAM -------------------------------------------- */

/* A binding STREAM and a connecting one (sinew binds or libzmq does, as c says), with
 * the id each announced the other under. */
static void
stream_connected(const combo *c, ip_sock **b, rid *bid, ip_sock **k, rid *kid)
{
    *b = stream_socket(!c->sinew_binds);
    *k = stream_socket(c->sinew_binds);
    char ep[256];
    ip_bind(*b, c->transport, ep, sizeof ep);
    ip_connect(*k, ep);
    *kid = expect_notify(*k);
    *bid = expect_notify(*b);
}

COMBO_PARAMS(stream_to_stream)

/* Both sides announce the connection, bytes flow both ways (a large block arrives cut
 * in pieces, whole and in order), and the connecting side's close (an empty frame)
 * reaches the binder as a disconnect notification. */
ParameterizedTest(combo *c, interop_stream, stream_to_stream, .init = ip_setup,
                  .fini = ip_teardown, .timeout = 30)
{
    ip_sock *b, *k;
    rid bid, kid;
    stream_connected(c, &b, &bid, &k, &kid);
    expect_generated(&kid, k);
    expect_generated(&bid, b);

    send_pair(k, &kid, "hello", 5);
    expect_bytes(b, &bid, "hello", 5);
    enum { BIG = 300000 };
    uint8_t *big = pattern(BIG, 1);
    send_pair(b, &bid, big, BIG);
    expect_bytes(k, &kid, big, BIG);
    uint8_t *back = pattern(BIG, 2);
    send_pair(k, &kid, back, BIG);
    expect_bytes(b, &bid, back, BIG);
    free(big);
    free(back);

    send_pair(k, &kid, "", 0);
    rid gone = expect_close_notify(b, k);
    cr_assert(rid_eq(&gone, &bid), "disconnect under another id");
}

COMBO_PARAMS(binder_closes)

/* The binding side closes: the connecting side gets what came before, then the
 * disconnect notification. */
ParameterizedTest(combo *c, interop_stream, binder_closes, .init = ip_setup,
                  .fini = ip_teardown, .timeout = 30)
{
    ip_sock *b, *k;
    rid bid, kid;
    stream_connected(c, &b, &bid, &k, &kid);
    send_pair(b, &bid, "bye", 3);
    expect_bytes(k, &kid, "bye", 3);
    send_pair(b, &bid, "", 0);
    rid gone = expect_close_notify(k, b);
    cr_assert(rid_eq(&gone, &kid), "disconnect under another id");
}

/* ---- one raw-socket script, run on both libraries --------------------------------- */

COMBO_PARAMS(raw_script)

/* A STREAM server and plain clients: the notifications, ids counting up from a random
 * start, an HTTP-like exchange closed by the server, EHOSTUNREACH for an unknown id, a
 * client's close announced; with STREAM_NOTIFY 0 (set before bind) data only. */
ParameterizedTest(combo *c, interop_stream, raw_script, .init = ip_setup,
                  .fini = ip_teardown, .timeout = 30)
{
    bool zmq = !c->sinew_binds;
    ip_sock *s = stream_socket(zmq);
    char ep[256];
    ip_bind(s, c->transport, ep, sizeof ep);

    int fd1 = ip_raw_connect(ep);
    rid id1 = expect_notify(s);
    expect_generated(&id1, s);
    const char *req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    ip_raw_write(fd1, req, strlen(req));
    expect_bytes(s, &id1, req, strlen(req));
    errno = 0;
    cr_assert_eq(ip_send_raw(s, "\0\0\0\0\0", 5, ZMQ_SNDMORE), -1, "%s: unknown id sent",
                 lib(s));
    cr_assert_eq(errno, EHOSTUNREACH, "%s: errno %d", lib(s), errno);
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    send_pair(s, &id1, resp, strlen(resp));
    send_pair(s, &id1, "", 0);
    char got[128];
    cr_assert_eq(ip_raw_read(fd1, got, strlen(resp), IP_WAIT_MS), strlen(resp));
    cr_assert_eq(memcmp(got, resp, strlen(resp)), 0);
    expect_raw_closed(fd1, s);
    close(fd1);

    int fd2 = ip_raw_connect(ep);
    rid id2 = expect_notify(s);
    expect_generated(&id2, s);
    uint32_t n1, n2;
    memcpy(&n1, id1.b + 1, 4);
    memcpy(&n2, id2.b + 1, 4);
    cr_assert_eq(ntohl(n2), ntohl(n1) + 1, "%s: ids do not count up", lib(s));
    close(fd2);
    rid gone = expect_notify(s);
    cr_assert(rid_eq(&gone, &id2), "%s: disconnect under another id", lib(s));

    ip_sock *quiet = stream_socket(zmq);
    ip_setint(quiet, zmq ? ZMQ_STREAM_NOTIFY : SINEW_STREAM_NOTIFY, 0);
    ip_bind(quiet, c->transport, ep, sizeof ep);
    int fd3 = ip_raw_connect(ep);
    ip_raw_write(fd3, "data", 4);
    rid id3;
    cr_assert_eq(recv_pair(quiet, &id3, got, sizeof got), 4, "%s: not the data first",
                 lib(s));
    send_pair(quiet, &id3, "back", 4);
    cr_assert_eq(ip_raw_read(fd3, got, 4, IP_WAIT_MS), 4);
    cr_assert_eq(memcmp(got, "back", 4), 0);
    close(fd3);
}

COMBO_PARAMS(raw_listener)

/* A STREAM socket connecting out to a plain server, on both libraries: announced under
 * SINEW_CONNECT_ROUTING_ID, data both ways, the server's close announced. */
ParameterizedTest(combo *c, interop_stream, raw_listener, .init = ip_setup,
                  .fini = ip_teardown, .timeout = 30)
{
    bool zmq = !c->sinew_binds;
    char ep[256];
    int lfd;
    if (strcmp(c->transport, "tcp") == 0) {
        ip_free_endpoint("tcp", ep, sizeof ep);
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t) atoi(strrchr(ep, ':') + 1))};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        cr_assert_eq(bind(lfd, (struct sockaddr *) &sa, sizeof sa), 0, "errno %d", errno);
    } else {
        ip_endpoint("ipc", ep, sizeof ep);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        cr_assert_lt(strlen(ep + 6), sizeof sa.sun_path);
        memcpy(sa.sun_path, ep + 6, strlen(ep + 6) + 1);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert_eq(bind(lfd, (struct sockaddr *) &sa, sizeof sa), 0, "errno %d", errno);
    }
    cr_assert_eq(listen(lfd, 4), 0);

    ip_sock *s = stream_socket(zmq);
    int rc = zmq ? zmq_setsockopt(s->s, ZMQ_CONNECT_ROUTING_ID, "srv", 3)
                 : sinew_setsockopt(s->s, SINEW_CONNECT_ROUTING_ID, "srv", 3);
    cr_assert_eq(rc, 0);
    ip_connect(s, ep);
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, IP_WAIT_MS), 1, "%s: no connection", lib(s));
    int fd = accept(lfd, NULL, NULL);
    cr_assert_geq(fd, 0);
    rid id = expect_notify(s);
    rid want = {.b = "srv", .len = 3};
    cr_assert(rid_eq(&id, &want), "%s: announced under another id", lib(s));
    send_pair(s, &id, "ping", 4);
    char got[8];
    cr_assert_eq(ip_raw_read(fd, got, 4, IP_WAIT_MS), 4);
    cr_assert_eq(memcmp(got, "ping", 4), 0);
    ip_raw_write(fd, "pong", 4);
    expect_bytes(s, &id, "pong", 4);
    close(fd);
    rid gone = expect_notify(s);
    cr_assert(rid_eq(&gone, &id), "%s: disconnect under another id", lib(s));
    close(lfd);
}
