/* STREAM (libzmq's ZMQ_STREAM, zmq_socket(3)): raw tcp and ipc peers, no ZMTP. Every
 * behaviour runs over ipc and tcp against plain socket(2) peers; inproc is refused. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "support/net.h"
#include "support/transports.h"

TestSuite(spec_stream, .init = tn_tran_setup, .fini = tn_tran_teardown, .timeout = 20);

/* One test body over ipc and tcp, named <name>_ipc and <name>_tcp. */
#define STREAM_TEST(name)                                                               \
    static void name##_net(const char *tran);                                          \
    Test(spec_stream, name##_ipc)                                                      \
    {                                                                                   \
        name##_net("ipc");                                                              \
    }                                                                                   \
    Test(spec_stream, name##_tcp)                                                      \
    {                                                                                   \
        name##_net("tcp");                                                              \
    }                                                                                   \
    static void name##_net(const char *tran)

#define WAIT_MS 5000

typedef struct rid {
    uint8_t b[256];
    size_t len;
} rid;

static bool
rid_eq(const rid *a, const rid *b)
{
    return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

static void *
stream_sock(void)
{
    void *s = tn_sock(SINEW_STREAM);
    tn_set(s, SINEW_RCVTIMEO, WAIT_MS);
    tn_set(s, SINEW_SNDTIMEO, WAIT_MS);
    return s;
}

/* Receives [id, data]: the id into *id, the data into buf (returns its size). */
static int
recv_pair(void *s, rid *id, void *buf, size_t cap)
{
    int n = sinew_recv(s, id->b, sizeof id->b, 0);
    cr_assert_geq(n, 1, "routing id frame: errno %d", errno);
    id->len = (size_t) n;
    cr_assert(tn_rcvmore(s), "routing id frame without MORE");
    n = sinew_recv(s, buf, cap, 0);
    cr_assert_geq(n, 0, "data frame: errno %d", errno);
    cr_assert(!tn_rcvmore(s), "data frame with MORE");
    return n;
}

/* A notification: [id, empty]. */
static rid
expect_notify(void *s)
{
    rid id;
    char buf[64];
    int n = recv_pair(s, &id, buf, sizeof buf);
    cr_assert_eq(n, 0, "expected a notification, got %d bytes", n);
    return id;
}

/* Receives data frames from id until `len` bytes came (the peer's writes may be cut
 * or joined anywhere: a stream has no message boundaries). */
static void
expect_bytes(void *s, const rid *id, const void *want, size_t len)
{
    char got[65536];
    cr_assert_leq(len, sizeof got);
    size_t have = 0;
    while (have < len) {
        rid from;
        int n = recv_pair(s, &from, got + have, sizeof got - have);
        cr_assert(rid_eq(&from, id), "data from another connection");
        cr_assert_gt(n, 0, "a notification in the middle of the data");
        have += (size_t) n;
    }
    cr_assert_eq(have, len);
    cr_assert_eq(memcmp(got, want, len), 0);
}

static void
send_pair(void *s, const rid *id, const void *data, size_t len)
{
    cr_assert_eq(sinew_send(s, id->b, id->len, SINEW_SNDMORE), (int) id->len,
                 "send id: errno %d", errno);
    cr_assert_eq(sinew_send(s, data, len, 0), (int) len, "send data: errno %d", errno);
}

/* Reads exactly len bytes from a plain socket within WAIT_MS. */
static void
raw_expect(int fd, const void *want, size_t len)
{
    char got[65536];
    cr_assert_leq(len, sizeof got);
    size_t have = 0;
    uint64_t deadline = tn_now_ms() + WAIT_MS;
    while (have < len) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        cr_assert_eq(poll(&pfd, 1, tn_left_ms(deadline)), 1, "raw peer: %zu of %zu bytes",
                     have, len);
        ssize_t n = read(fd, got + have, len - have);
        cr_assert_gt(n, 0, "raw peer read: %zd errno %d", n, errno);
        have += (size_t) n;
    }
    cr_assert_eq(memcmp(got, want, len), 0);
}

/* The plain peer sees the end of the stream within WAIT_MS. */
static void
raw_expect_eof(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    cr_assert_eq(poll(&pfd, 1, WAIT_MS), 1, "no end of stream");
    char c;
    cr_assert_eq(read(fd, &c, 1), 0, "data instead of the end of stream");
}

static void
raw_write(int fd, const void *data, size_t len)
{
    cr_assert_eq(write(fd, data, len), (ssize_t) len, "raw write: errno %d", errno);
}

/* A plain listening socket on a fresh endpoint of tran, written to ep. */
static int
raw_listen(const char *tran, char *ep)
{
    int fd;
    if (strcmp(tran, "tcp") == 0) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        cr_assert_eq(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
        socklen_t len = sizeof a;
        cr_assert_eq(getsockname(fd, (struct sockaddr *) &a, &len), 0);
        snprintf(ep, TN_EP_MAX, "tcp://127.0.0.1:%d", ntohs(a.sin_port));
    } else {
        tn_tran_endpoint(tran, ep);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof a.sun_path, "%s", ep + 6);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        cr_assert_eq(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
    }
    cr_assert_eq(listen(fd, 16), 0);
    return fd;
}

static int
raw_accept(int lfd)
{
    struct pollfd pfd = {.fd = lfd, .events = POLLIN};
    cr_assert_eq(poll(&pfd, 1, WAIT_MS), 1, "nobody connected");
    int fd = accept(lfd, NULL, NULL);
    cr_assert_geq(fd, 0, "accept: errno %d", errno);
    return fd;
}

/* Sending to id fails with EHOSTUNREACH within WAIT_MS (once the socket took in that
 * the connection is gone). */
static void
expect_unreachable(void *s, const rid *id)
{
    uint64_t deadline = tn_now_ms() + WAIT_MS;
    for (;;) {
        int rc = sinew_send(s, id->b, id->len, SINEW_SNDMORE | SINEW_DONTWAIT);
        if (rc < 0) {
            cr_assert_eq(errno, EHOSTUNREACH, "errno %d", errno);
            return;
        }
        cr_assert_eq(sinew_send(s, "x", 1, SINEW_DONTWAIT), 1);
        cr_assert_lt(tn_now_ms(), deadline, "the connection is still routable");
        usleep(1000); /* polling for the socket to notice, bounded by the deadline */
    }
}

/* ---- receiving and sending ---------------------------------------------------------- */

/* zmq_socket(3), ZMQ_STREAM: "When receiving TCP data, a ZMQ_STREAM socket shall prepend
 * a message part containing the routing id of the originating peer"; "When sending TCP
 * data, ... the first frame shall be the routing id of the peer". An echo server. */
STREAM_TEST(echo_server_with_a_plain_client)
{
    char ep[TN_EP_MAX];
    void *s = stream_sock();
    int fd = tn_raw_connect(tn_bind_any(s, tran, ep));
    rid id = expect_notify(s);
    cr_assert_eq(id.len, 5, "generated ids are 5 bytes");
    cr_assert_eq(id.b[0], 0, "generated ids start with a zero byte");
    for (int i = 0; i < 3; i++) {
        char msg[32];
        int len = snprintf(msg, sizeof msg, "hello %d", i);
        raw_write(fd, msg, (size_t) len);
        expect_bytes(s, &id, msg, (size_t) len);
        send_pair(s, &id, msg, (size_t) len);
        raw_expect(fd, msg, (size_t) len);
    }
    close(fd);
}

/* A STREAM socket connects out to a plain server: it announces the connection with the
 * id it gave it, and talks both ways. */
STREAM_TEST(connects_out_to_a_plain_listener)
{
    char ep[TN_EP_MAX];
    int lfd = raw_listen(tran, ep);
    void *s = stream_sock();
    tn_connect(s, ep);
    int fd = raw_accept(lfd);
    rid id = expect_notify(s);
    send_pair(s, &id, "ping", 4);
    raw_expect(fd, "ping", 4);
    raw_write(fd, "pong", 4);
    expect_bytes(s, &id, "pong", 4);
    close(fd);
    close(lfd);
}

/* SINEW_CONNECT_ROUTING_ID names the next outgoing connection; what is sent to it before
 * the connection is made waits for it. */
STREAM_TEST(connect_routing_id_names_the_connection)
{
    char ep[TN_EP_MAX];
    int lfd = raw_listen(tran, ep);
    void *s = stream_sock();
    cr_assert_eq(sinew_setsockopt(s, SINEW_CONNECT_ROUTING_ID, "conn-1", 6), 0);
    tn_connect(s, ep);
    rid id = {.b = "conn-1", .len = 6};
    send_pair(s, &id, "early", 5);
    int fd = raw_accept(lfd);
    raw_expect(fd, "early", 5);
    rid got = expect_notify(s);
    cr_assert(rid_eq(&got, &id), "notification under another id");
    /* Used once: the next connect gets a generated id. Taking a used one fails. */
    tn_connect(s, ep);
    int fd2 = raw_accept(lfd);
    got = expect_notify(s);
    cr_assert_eq(got.len, 5);
    cr_assert_eq(sinew_setsockopt(s, SINEW_CONNECT_ROUTING_ID, "conn-1", 6), 0);
    errno = 0;
    cr_assert_eq(sinew_connect(s, ep), -1, "a second connection named conn-1");
    cr_assert_eq(errno, EINVAL);
    close(fd);
    close(fd2);
    close(lfd);
}

/* Many plain clients at once: each its own id, each gets its own answers. */
STREAM_TEST(concurrent_clients_have_distinct_ids)
{
    enum { N = 8 };
    char ep[TN_EP_MAX];
    void *s = stream_sock();
    tn_bind_any(s, tran, ep);
    int fds[N];
    rid ids[N];
    for (int i = 0; i < N; i++) {
        fds[i] = tn_raw_connect(ep);
        char hello = (char) ('a' + i);
        raw_write(fds[i], &hello, 1);
    }
    /* Each client's notification, then its byte; connections interleave. */
    bool known[N] = {false};
    for (int got = 0; got < N;) {
        rid id;
        char c;
        int n = recv_pair(s, &id, &c, 1);
        if (n == 0)
            continue;
        cr_assert_eq(n, 1);
        int i = c - 'a';
        cr_assert(i >= 0 && i < N && !known[i], "unexpected byte %d", c);
        known[i] = true;
        ids[i] = id;
        got++;
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < i; j++)
            cr_assert(!rid_eq(&ids[i], &ids[j]), "clients %d and %d share an id", i, j);
    for (int i = 0; i < N; i++) {
        char reply[16];
        int len = snprintf(reply, sizeof reply, "you are %d", i);
        send_pair(s, &ids[i], reply, (size_t) len);
    }
    for (int i = 0; i < N; i++) {
        char reply[16];
        int len = snprintf(reply, sizeof reply, "you are %d", i);
        raw_expect(fds[i], reply, (size_t) len);
        close(fds[i]);
    }
}

/* An HTTP-like exchange: the request may come in pieces, the server answers and closes
 * the connection with an empty frame, and the client reads the answer to its end. */
STREAM_TEST(http_like_request_and_response)
{
    char ep[TN_EP_MAX];
    void *s = stream_sock();
    int fd = tn_raw_connect(tn_bind_any(s, tran, ep));
    rid id = expect_notify(s);
    const char *req = "GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n";
    raw_write(fd, req, 10);
    raw_write(fd, req + 10, strlen(req) - 10);
    char got[512];
    size_t have = 0;
    while (have < 4 || memcmp(got + have - 4, "\r\n\r\n", 4) != 0) {
        rid from;
        int n = recv_pair(s, &from, got + have, sizeof got - have);
        cr_assert(rid_eq(&from, &id));
        cr_assert_gt(n, 0);
        have += (size_t) n;
    }
    cr_assert_eq(have, strlen(req));
    cr_assert_eq(memcmp(got, req, have), 0);
    const char *resp = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nHello, World!";
    send_pair(s, &id, resp, strlen(resp));
    send_pair(s, &id, "", 0);
    raw_expect(fd, resp, strlen(resp));
    raw_expect_eof(fd);
    close(fd);
}

/* ---- notifications and closing ------------------------------------------------------ */

/* ZMQ_STREAM_NOTIFY (default 1): "connect and disconnect notifications", each an empty
 * data frame under the connection's id. */
STREAM_TEST(notifies_connect_and_peer_close)
{
    char ep[TN_EP_MAX];
    void *s = stream_sock();
    cr_assert_eq(tn_get(s, SINEW_STREAM_NOTIFY), 1);
    int fd = tn_raw_connect(tn_bind_any(s, tran, ep));
    rid id = expect_notify(s);
    raw_write(fd, "last words", 10);
    close(fd);
    expect_bytes(s, &id, "last words", 10);
    rid gone = expect_notify(s);
    cr_assert(rid_eq(&gone, &id), "disconnect under another id");
    expect_unreachable(s, &id);
}

/* With notifications off nothing but data arrives, and a peer's close says nothing. */
STREAM_TEST(notify_off_gives_data_only)
{
    char ep[TN_EP_MAX];
    void *s = stream_sock();
    tn_set(s, SINEW_STREAM_NOTIFY, 0);
    cr_assert_eq(tn_get(s, SINEW_STREAM_NOTIFY), 0);
    int fd = tn_raw_connect(tn_bind_any(s, tran, ep));
    raw_write(fd, "data", 4);
    rid id;
    char buf[16];
    cr_assert_eq(recv_pair(s, &id, buf, sizeof buf), 4, "the data first, no notification");
    cr_assert_eq(memcmp(buf, "data", 4), 0);
    close(fd);
    tn_expect_nothing(s, 300, "a notification with STREAM_NOTIFY 0");
    cr_assert_eq(tn_get(s, SINEW_EVENTS) & SINEW_POLLIN, 0, "POLLIN for a hidden notification");
    expect_unreachable(s, &id);
}

/* "To close a specific connection, send the routing id frame followed by a zero-length
 * message": what was sent before still arrives, the peer sees the end of the stream, the
 * id is forgotten at once, and no notification follows our own close. */
STREAM_TEST(empty_frame_closes_the_connection)
{
    char ep[TN_EP_MAX];
    void *s = stream_sock();
    int fd = tn_raw_connect(tn_bind_any(s, tran, ep));
    int fd2 = tn_raw_connect(ep);
    rid id = expect_notify(s), id2 = expect_notify(s);
    static char big[200000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char) (i * 13);
    send_pair(s, &id, "bye", 3);
    send_pair(s, &id, big, sizeof big);
    send_pair(s, &id, "", 0);
    errno = 0;
    cr_assert_eq(sinew_send(s, id.b, id.len, SINEW_SNDMORE), -1, "the id is still known");
    cr_assert_eq(errno, EHOSTUNREACH);
    raw_expect(fd, "bye", 3);
    for (size_t off = 0; off < sizeof big; off += 50000)
        raw_expect(fd, big + off, 50000);
    raw_expect_eof(fd);
    tn_expect_nothing(s, 300, "a notification for our own close");
    /* The other connection is untouched. */
    send_pair(s, &id2, "still here", 10);
    raw_expect(fd2, "still here", 10);
    close(fd);
    close(fd2);
}

/* A connect's connection lost and made again keeps its id (libzmq: the pipe outlives
 * the connection) and is announced again. */
STREAM_TEST(reconnect_is_announced_under_the_same_id)
{
    char ep[TN_EP_MAX];
    int lfd = raw_listen(tran, ep);
    void *s = stream_sock();
    tn_set(s, SINEW_RECONNECT_IVL, 10);
    tn_connect(s, ep);
    int fd = raw_accept(lfd);
    rid id = expect_notify(s);
    close(fd);
    rid gone = expect_notify(s);
    cr_assert(rid_eq(&gone, &id));
    fd = raw_accept(lfd);
    rid again = expect_notify(s);
    cr_assert(rid_eq(&again, &id), "the reconnection has another id");
    send_pair(s, &id, "again", 5);
    raw_expect(fd, "again", 5);
    close(fd);
    close(lfd);
}

/* ---- errors ------------------------------------------------------------------------- */

/* libzmq 4.3 stream.cpp: an unknown id fails the send with EHOSTUNREACH. An id frame
 * without a data frame after it is dropped (libzmq ignores it) and counted. */
STREAM_TEST(unknown_id_and_lone_id_frame)
{
    char ep[TN_EP_MAX];
    void *s = stream_sock();
    int fd = tn_raw_connect(tn_bind_any(s, tran, ep));
    rid id = expect_notify(s);
    errno = 0;
    cr_assert_eq(sinew_send(s, "nobody", 6, SINEW_SNDMORE), -1);
    cr_assert_eq(errno, EHOSTUNREACH);
    cr_assert_eq(sinew_send(s, id.b, id.len, 0), (int) id.len);
    uint64_t dropped = 0;
    size_t len = sizeof dropped;
    cr_assert_eq(sinew_getsockopt(s, SINEW_MSGS_DROPPED, &dropped, &len), 0);
    cr_assert_eq(dropped, 1, "the lone id frame is not counted");
    /* The socket expects an id again: the next pair goes through. */
    send_pair(s, &id, "ok", 2);
    raw_expect(fd, "ok", 2);
    /* A data frame's MORE is ignored: the frame after it is an id again. */
    cr_assert_eq(sinew_send(s, id.b, id.len, SINEW_SNDMORE), (int) id.len);
    cr_assert_eq(sinew_send(s, "a", 1, SINEW_SNDMORE), 1);
    cr_assert_eq(sinew_send(s, id.b, id.len, SINEW_SNDMORE), (int) id.len);
    cr_assert_eq(sinew_send(s, "b", 1, 0), 1);
    raw_expect(fd, "ab", 2);
    close(fd);
}

Test(spec_stream, options_are_checked)
{
    void *s = stream_sock();
    int two = 2;
    errno = 0;
    cr_assert_eq(sinew_setsockopt(s, SINEW_STREAM_NOTIFY, &two, sizeof two), -1);
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_eq(sinew_setsockopt(s, SINEW_CONNECT_ROUTING_ID, "", 0), -1);
    cr_assert_eq(errno, EINVAL);
    /* Options of STREAM only. */
    void *pair = tn_sock(SINEW_PAIR);
    errno = 0;
    cr_assert_eq(sinew_setsockopt(pair, SINEW_STREAM_NOTIFY, &two, sizeof two), -1);
    cr_assert_eq(errno, EINVAL);
}

/* Raw bytes have no inproc peer: bind and connect refuse at once. */
Test(spec_stream, inproc_is_refused)
{
    char ep[TN_EP_MAX];
    void *s = stream_sock();
    errno = 0;
    cr_assert_eq(sinew_bind(s, tn_endpoint(ep, sizeof ep, "stream")), -1);
    cr_assert_eq(errno, ENOCOMPATPROTO);
    errno = 0;
    cr_assert_eq(sinew_connect(s, ep), -1);
    cr_assert_eq(errno, ENOCOMPATPROTO);
}

/* ---- flow control ------------------------------------------------------------------- */

/* A peer that floods a socket nobody reads meets the receive HWM: the engine stops
 * reading and TCP pushes back, so the peer's writes stop being taken; then everything
 * arrives, in order. */
STREAM_TEST(flooding_peer_meets_backpressure)
{
    char ep[TN_EP_MAX];
    void *s = stream_sock();
    tn_set(s, SINEW_RCVHWM, 4);
    tn_set(s, SINEW_RCVBUF, 16384);
    tn_set(s, SINEW_STREAM_NOTIFY, 0);
    int fd = tn_raw_connect(tn_bind_any(s, tran, ep));
    int small = 16384;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    enum { LIMIT = 64 << 20 };
    uint8_t chunk[4096];
    size_t sent = 0;
    uint64_t deadline = tn_now_ms() + WAIT_MS;
    for (;;) {
        for (size_t i = 0; i < sizeof chunk; i++)
            chunk[i] = (uint8_t) ((sent + i) % 251);
        ssize_t n = write(fd, chunk, sizeof chunk);
        if (n < 0) {
            cr_assert_eq(errno, EAGAIN, "errno %d", errno);
            /* Full: wait a little for room that must not come. */
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            if (poll(&pfd, 1, 200) == 0)
                break;
            cr_assert_lt(tn_now_ms(), deadline, "the peer's writes never stop");
            continue;
        }
        sent += (size_t) n;
        cr_assert_lt(sent, (size_t) LIMIT, "%zu bytes taken without backpressure", sent);
    }
    /* Everything that was taken arrives, in order. */
    size_t got = 0;
    while (got < sent) {
        rid id;
        static uint8_t buf[65536];
        int n = recv_pair(s, &id, buf, sizeof buf);
        cr_assert_gt(n, 0);
        cr_assert_leq(n, 8192, "one read is at most 8 KiB");
        for (int i = 0; i < n; i++)
            cr_assert_eq(buf[i], (uint8_t) ((got + (size_t) i) % 251), "byte %zu",
                         got + (size_t) i);
        got += (size_t) n;
    }
    cr_assert_eq(got, sent);
    close(fd);
}

/* A raw peer of s (RCVHWM 2) writes data, more than the pipe holds, and hangs up; returns
 * its id once s has input. data is filled here. */
static rid
flood_and_hang_up(void *s, const char *tran, uint8_t *data, size_t len)
{
    char ep[TN_EP_MAX];
    tn_set(s, SINEW_RCVHWM, 2);
    int fd = tn_raw_connect(tn_bind_any(s, tran, ep));
    rid id = expect_notify(s);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t) (i % 253);
    raw_write(fd, data, len);
    close(fd);
    sinew_pollitem_t it = {.socket = s, .events = SINEW_POLLIN};
    cr_assert_eq(sinew_poll(&it, 1, WAIT_MS), 1);
    return id;
}

/* A peer that writes more than the pipe holds and hangs up: the rest waits in the
 * kernel while the pipe is full, and all of it arrives before the disconnect. */
STREAM_TEST(peer_closing_behind_a_full_pipe_loses_nothing)
{
    void *s = stream_sock();
    static uint8_t data[60000];
    rid id = flood_and_hang_up(s, tran, data, sizeof data);
    usleep(100000); /* let the hang-up reach the engine while its pipe is full */
    expect_bytes(s, &id, data, sizeof data);
    rid gone = expect_notify(s);
    cr_assert(rid_eq(&gone, &id));
}

/* Writing to a peer that hung up fails (EPIPE, or a reset): what the peer sent before
 * is still delivered, though the pipe was full when the write failed, then the
 * disconnect. */
STREAM_TEST(write_to_a_gone_peer_keeps_what_it_sent)
{
    void *s = stream_sock();
    static uint8_t data[60000];
    rid id = flood_and_hang_up(s, tran, data, sizeof data);
    /* Paced sends: the first may still be taken by the kernel, and the peer's reset
     * needs a moment to come back (each wait is bounded; nothing is assumed of it). */
    usleep(50000);
    uint64_t sent = 0;
    for (int i = 0; i < 5; i++) {
        if (sinew_send(s, id.b, id.len, SINEW_SNDMORE) < 0) {
            cr_assert_eq(errno, EHOSTUNREACH);
            break;
        }
        cr_assert_eq(sinew_send(s, "x", 1, 0), 1);
        sent++;
        usleep(20000);
    }
    expect_bytes(s, &id, data, sizeof data);
    rid gone = expect_notify(s);
    cr_assert(rid_eq(&gone, &id));
    /* What could not be written counts: over ipc every send (a write to a closed peer
     * fails at once), over tcp all but what the kernel took before the peer's reset. */
    uint64_t dropped = 0;
    size_t len = sizeof dropped;
    cr_assert_eq(sinew_getsockopt(s, SINEW_MSGS_DROPPED, &dropped, &len), 0);
    cr_assert_gt(sent, 0, "no send went through");
    if (strcmp(tran, "ipc") == 0)
        cr_assert_eq(dropped, sent, "%llu of %llu sends counted", (unsigned long long) dropped,
                     (unsigned long long) sent);
    else
        cr_assert_leq(dropped, sent);
}

/* Reads from a plain socket until len bytes came (or WAIT_MS passed); keeps the last 4. */
typedef struct drain_arg {
    int fd;
    size_t len, got;
    uint8_t tail[4];
} drain_arg;

static void *
drain(void *arg)
{
    drain_arg *d = arg;
    static uint8_t buf[65536];
    uint64_t deadline = tn_now_ms() + WAIT_MS;
    while (d->got < d->len) {
        struct pollfd pfd = {.fd = d->fd, .events = POLLIN};
        if (poll(&pfd, 1, tn_left_ms(deadline)) != 1)
            break;
        ssize_t n = read(d->fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            if (d->got + (size_t) i >= d->len - 4 && d->got + (size_t) i < d->len)
                d->tail[d->got + (size_t) i - (d->len - 4)] = buf[i];
        d->got += (size_t) n;
    }
    return NULL;
}

/* libzmq 4.3: a full pipe to a peer makes the send wait (EAGAIN with DONTWAIT), nothing
 * is dropped. */
STREAM_TEST(send_to_a_slow_peer_waits_at_the_hwm)
{
    char ep[TN_EP_MAX];
    void *s = stream_sock();
    tn_set(s, SINEW_SNDHWM, 4);
    tn_set(s, SINEW_SNDBUF, 16384);
    int fd = tn_raw_connect(tn_bind_any(s, tran, ep));
    int small = 16384;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    rid id = expect_notify(s);
    static uint8_t chunk[16384];
    size_t sent = 0;
    uint64_t deadline = tn_now_ms() + WAIT_MS;
    for (;;) {
        int rc = sinew_send(s, id.b, id.len, SINEW_SNDMORE | SINEW_DONTWAIT);
        if (rc < 0) {
            cr_assert_eq(errno, EAGAIN, "errno %d", errno);
            break;
        }
        cr_assert_eq(sinew_send(s, chunk, sizeof chunk, 0), (int) sizeof chunk);
        sent += sizeof chunk;
        cr_assert_lt(tn_now_ms(), deadline, "sends never wait");
    }
    uint64_t dropped = 1;
    size_t len = sizeof dropped;
    cr_assert_eq(sinew_getsockopt(s, SINEW_MSGS_DROPPED, &dropped, &len), 0);
    cr_assert_eq(dropped, 0);
    cr_assert_eq(tn_get(s, SINEW_EVENTS) & SINEW_POLLOUT, SINEW_POLLOUT,
                 "STREAM is always writable in general, as libzmq");
    /* A blocking send waits for room, and goes once the peer reads. */
    drain_arg d = {.fd = fd, .len = sent + 4};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, drain, &d), 0);
    send_pair(s, &id, "more", 4);
    pthread_join(t, NULL);
    cr_assert_eq(d.got, sent + 4, "%zu of %zu bytes", d.got, sent + 4);
    cr_assert_eq(memcmp(d.tail, "more", 4), 0, "the last bytes are not the last send");
    close(fd);
}

/* Two threads sending to their own connections at once: each [id, data] pair stays
 * whole (a thread's id part is never followed by another thread's data part). The plain
 * peers read while the senders run: 2000 separate 8-byte writes need not fit a unix
 * socket's buffer, which counts each write's overhead. */
typedef struct sender_arg {
    void *s;
    rid id;
    uint32_t tag;
    int err; /* errno of a failed send */
} sender_arg;

enum { SENDS = 2000 };

static void *
sender(void *arg)
{
    sender_arg *a = arg;
    for (uint32_t i = 0; i < SENDS; i++) {
        uint32_t v[2] = {a->tag, i};
        if (sinew_send(a->s, a->id.b, a->id.len, SINEW_SNDMORE) != (int) a->id.len ||
            sinew_send(a->s, v, sizeof v, 0) != (int) sizeof v) {
            a->err = errno;
            return (void *) 1;
        }
    }
    return NULL;
}

/* Reads what one sender's connection carries, len bytes at most, within WAIT_MS. */
typedef struct reader_arg {
    int fd;
    uint8_t buf[SENDS * 8];
    size_t got;
} reader_arg;

static void *
reader(void *arg)
{
    reader_arg *r = arg;
    uint64_t deadline = tn_now_ms() + WAIT_MS;
    while (r->got < sizeof r->buf) {
        struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
        if (poll(&pfd, 1, tn_left_ms(deadline)) != 1)
            break;
        ssize_t n = read(r->fd, r->buf + r->got, sizeof r->buf - r->got);
        if (n <= 0)
            break;
        r->got += (size_t) n;
    }
    return NULL;
}

STREAM_TEST(concurrent_senders_keep_pairs_whole)
{
    char ep[TN_EP_MAX];
    void *s = stream_sock();
    tn_bind_any(s, tran, ep);
    static reader_arg readers[2];
    memset(readers, 0, sizeof readers);
    readers[0].fd = tn_raw_connect(ep);
    rid first = expect_notify(s);
    readers[1].fd = tn_raw_connect(ep);
    rid second = expect_notify(s);
    sender_arg args[2] = {{s, first, 0, 0}, {s, second, 1, 0}};
    pthread_t t[2], rt[2];
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(pthread_create(&rt[i], NULL, reader, &readers[i]), 0);
        cr_assert_eq(pthread_create(&t[i], NULL, sender, &args[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        void *rc;
        pthread_join(t[i], &rc);
        cr_assert_null(rc, "sender %d failed: errno %d", i, args[i].err);
    }
    for (uint32_t c = 0; c < 2; c++) {
        pthread_join(rt[c], NULL);
        static uint32_t want[SENDS][2];
        for (uint32_t i = 0; i < SENDS; i++) {
            want[i][0] = c;
            want[i][1] = i;
        }
        cr_assert_eq(readers[c].got, sizeof want, "connection %u: %zu of %zu bytes", c,
                     readers[c].got, sizeof want);
        cr_assert_eq(memcmp(readers[c].buf, want, sizeof want), 0,
                     "connection %u: a pair was split or reordered", c);
        close(readers[c].fd);
    }
}

/* A thread waiting for another's send turn while commands are pending (here: a new
 * connection's attach) must not hold the socket's lock: the turn's owner finishes its
 * [id, data] pair at once, not when the waiter's SNDTIMEO runs out. */
typedef struct waiter_arg {
    void *s;
    rid id;
    int rc, err;
} waiter_arg;

static void *
turn_waiter(void *arg)
{
    waiter_arg *w = arg;
    w->rc = sinew_send(w->s, w->id.b, w->id.len, SINEW_SNDMORE);
    w->err = errno;
    if (w->rc >= 0)
        w->rc = sinew_send(w->s, "w", 1, 0);
    return NULL;
}

STREAM_TEST(a_thread_waiting_for_the_send_turn_holds_nobody_up)
{
    char ep[TN_EP_MAX];
    void *s = stream_sock();
    tn_set(s, SINEW_SNDTIMEO, 3000);
    int rfd = tn_get(s, SINEW_READY_FD);
    int fd = tn_raw_connect(tn_bind_any(s, tran, ep));
    rid id = expect_notify(s);
    cr_assert_eq(sinew_send(s, id.b, id.len, SINEW_SNDMORE), (int) id.len); /* our turn */
    int fd2 = tn_raw_connect(ep);
    struct pollfd pfd = {.fd = rfd, .events = POLLIN};
    cr_assert_eq(poll(&pfd, 1, WAIT_MS), 1, "the second connection's attach not posted");
    waiter_arg w = {.s = s, .id = id};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, turn_waiter, &w), 0);
    usleep(100000); /* the waiter is in its wait now (a chance for the defect, no more) */
    uint64_t t0 = tn_now_ms();
    cr_assert_eq(sinew_send(s, "m", 1, 0), 1);
    uint64_t took = tn_now_ms() - t0;
    cr_assert_lt(took, 1000, "the last part waited %llu ms for the waiting thread",
                 (unsigned long long) took);
    pthread_join(t, NULL);
    cr_assert_eq(w.rc, 1, "the waiter's send: errno %d", w.err);
    raw_expect(fd, "mw", 2);
    close(fd);
    close(fd2);
}

/* ---- readiness ---------------------------------------------------------------------- */

/* SINEW_EVENTS, sinew_poll, SINEW_FD and SINEW_READY_FD follow what there is to
 * receive. */
STREAM_TEST(events_poll_and_ready_fd)
{
    char ep[TN_EP_MAX];
    void *s = stream_sock();
    int rfd = tn_get(s, SINEW_READY_FD);
    int efd = tn_get(s, SINEW_FD);
    tn_bind_any(s, tran, ep);
    cr_assert_eq(tn_get(s, SINEW_EVENTS) & SINEW_POLLIN, 0); /* also re-arms SINEW_FD */
    int fd = tn_raw_connect(ep);
    struct pollfd efp = {.fd = efd, .events = POLLIN};
    cr_assert_eq(poll(&efp, 1, WAIT_MS), 1, "SINEW_FD not signalled for a connection");
    struct pollfd pfd = {.fd = rfd, .events = POLLIN};
    cr_assert_eq(poll(&pfd, 1, WAIT_MS), 1, "READY_FD not readable for a notification");
    sinew_pollitem_t it = {.socket = s, .events = SINEW_POLLIN};
    cr_assert_eq(sinew_poll(&it, 1, WAIT_MS), 1);
    cr_assert_neq(tn_get(s, SINEW_EVENTS) & SINEW_POLLIN, 0);
    rid id = expect_notify(s);
    cr_assert_eq(tn_get(s, SINEW_EVENTS) & SINEW_POLLIN, 0);
    cr_assert_eq(poll(&pfd, 1, 0), 0, "READY_FD readable with nothing to receive");
    raw_write(fd, "x", 1);
    cr_assert_eq(poll(&pfd, 1, WAIT_MS), 1, "READY_FD not readable for data");
    expect_bytes(s, &id, "x", 1);
    close(fd);
}
