/* Socket-core behaviour every pattern relies on, over inproc, ipc and tcp: a pipe in
 * several pattern sets at once, strict round-robin, reconnects that keep multipart
 * messages whole, pipes that end with their peer, linger on inproc connects. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <unistd.h>

#include "support/net.h"

TestSuite(core, .init = tn_setup, .fini = tn_teardown, .timeout = 30);

/* Parameters are copied into the test's process by value: names, not pointers. */
typedef struct transport {
    char name[8];
} transport;

static transport transports[] = {{"inproc"}, {"ipc"}, {"tcp"}};

/* Binds s on a fresh endpoint of transport tr; out gets the address to connect to. */
static void
bind_fresh(void *s, const char *tr, char *out, size_t len)
{
    static int counter;
    char ep[256];
    if (strcmp(tr, "inproc") == 0)
        snprintf(ep, sizeof ep, "inproc://core-%d-%d", (int) getpid(), counter++);
    else if (strcmp(tr, "ipc") == 0)
        snprintf(ep, sizeof ep, "ipc:///tmp/sinew-core-%d-%d", (int) getpid(), counter++);
    else
        snprintf(ep, sizeof ep, "tcp://127.0.0.1:*");
    tn_bind(s, ep);
    size_t n = len;
    cr_assert_eq(sinew_getsockopt(s, SINEW_LAST_ENDPOINT, out, &n), 0);
}

/* Defect: REQ keeps each peer in its load-balancing and its fair-queueing set, which
 * shared one slot in the pipe. A receive that found nothing deactivated the pipe in one
 * set through the other's index; the REP that did not get the request then closing made
 * the fair queue keep a freed pipe (ASan: heap-use-after-free under sn_fq_readable). */
Test(core, req_survives_idle_peer_leaving_after_dontwait_recv)
{
    void *rep[2], *req = tn_sock(SINEW_REQ);
    char ep[2][256];
    for (int i = 0; i < 2; i++) {
        rep[i] = tn_sock(SINEW_REP);
        tn_set(rep[i], SINEW_RCVTIMEO, 5000);
        bind_fresh(rep[i], "inproc", ep[i], sizeof ep[i]);
        tn_connect(req, ep[i]);
    }
    tn_set(req, SINEW_RCVTIMEO, 5000);
    tn_send_str(req, "q0", 0);
    char buf[8];
    cr_assert_eq(sinew_recv(req, buf, sizeof buf, SINEW_DONTWAIT), -1);
    cr_assert_eq(errno, EAGAIN);
    tn_set(rep[1], SINEW_LINGER, 0); /* round-robin: the first peer has the request */
    tn_close(rep[1]);
    /* The REQ sees that peer go before the reply comes. */
    cr_assert_eq(sinew_recv(req, buf, sizeof buf, SINEW_DONTWAIT), -1);
    cr_assert_eq(errno, EAGAIN);
    tn_recv_str(rep[0], "q0");
    tn_send_str(rep[0], "a0", 0);
    tn_recv_str(req, "a0");
    for (int i = 1; i < 5; i++) { /* the REQ goes on with the peer that is left */
        tn_send_str(req, "q", 0);
        tn_recv_str(rep[0], "q");
        tn_send_str(rep[0], "a", 0);
        tn_recv_str(req, "a");
    }
}

/* sinew_req(7), RFC 28: REQ "SHALL route outgoing messages to connected peers using a
 * round-robin strategy". With three peers the third request went to the first peer again
 * (the fair queue had overwritten the load balancer's position). */
ParameterizedTestParameters(core, req_round_robin_over_three_reps)
{
    return cr_make_param_array(transport, transports, 3);
}

ParameterizedTest(transport *tr, core, req_round_robin_over_three_reps)
{
    void *rep[3], *req = tn_sock(SINEW_REQ);
    tn_set(req, SINEW_RCVTIMEO, 5000);
    for (int i = 0; i < 3; i++) {
        char ep[256];
        rep[i] = tn_sock(SINEW_REP);
        tn_set(rep[i], SINEW_RCVTIMEO, 5000);
        bind_fresh(rep[i], tr->name, ep, sizeof ep);
        tn_connect(req, ep);
    }
    for (int i = 0; i < 9; i++) {
        char q[16];
        snprintf(q, sizeof q, "q%d", i);
        tn_send_str(req, q, 0);
        tn_recv_str(rep[i % 3], q); /* times out (fails) if it went elsewhere */
        tn_send_str(rep[i % 3], "a", 0);
        tn_recv_str(req, "a");
    }
}

/* ---- raw ZMTP peers for the reconnect tests --------------------------------------- */

#include "support/zmtp_peer.h"

static int
raw_listen(char *ep, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    cr_assert_eq(bind(fd, (struct sockaddr *) &sa, sl), 0);
    cr_assert_eq(listen(fd, 8), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *) &sa, &sl), 0);
    snprintf(ep, len, "tcp://127.0.0.1:%d", ntohs(sa.sin_port));
    return fd;
}

static void
raw_write(int fd, const void *buf, size_t len)
{
    cr_assert_eq(zp_send_all(fd, buf, len), 0, "raw write");
}

static void
raw_read(int fd, void *buf, size_t len)
{
    cr_assert_eq(zp_read_exact(fd, buf, len, 5000), len, "raw read: peer closed or slow");
}

/* One frame: returns its flags; body (up to cap bytes kept) and size. */
static int
raw_frame(int fd, uint8_t *body, size_t cap, uint64_t *size)
{
    uint8_t h[9];
    raw_read(fd, h, 2);
    uint64_t n = h[1];
    if (h[0] & 0x02) {
        raw_read(fd, h + 2, 7);
        n = 0;
        for (int i = 1; i < 9; i++)
            n = n << 8 | h[i];
    }
    *size = n;
    for (uint64_t left = n; left > 0;) {
        uint8_t sink[4096];
        size_t take = left < sizeof sink ? (size_t) left : sizeof sink;
        raw_read(fd, sink, take);
        if (n - left < cap)
            memcpy(body + (n - left), sink, take < cap - (n - left) ? take : cap - (n - left));
        left -= take;
    }
    return h[0];
}

/* Accepts the next connection and does the NULL handshake as `type`. */
static int
raw_accept(int lfd, const char *type)
{
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, 5000), 1, "nothing to accept");
    int fd = accept(lfd, NULL, NULL);
    cr_assert_geq(fd, 0);
    raw_write(fd, zp_greeting, sizeof zp_greeting);
    uint8_t ready[64];
    raw_write(fd, ready, zp_ready(ready, type));
    uint8_t g[64], body[256];
    uint64_t n;
    raw_read(fd, g, 64);
    cr_assert_eq(raw_frame(fd, body, sizeof body, &n) & 0x04, 0x04, "peer READY");
    return fd;
}

/* A socket of type `type` connected to a raw listener (*lfd), reconnecting quickly. */
static void *
reconnecting(int type, int *lfd)
{
    char ep[64];
    *lfd = raw_listen(ep, sizeof ep);
    void *s = tn_sock(type);
    tn_set(s, SINEW_RECONNECT_IVL, 20);
    tn_set(s, SINEW_RCVTIMEO, 5000);
    tn_set(s, SINEW_SNDTIMEO, 5000);
    tn_connect(s, ep);
    return s;
}

static uint64_t
dropped(void *s)
{
    uint64_t v = 0;
    size_t len = sizeof v;
    cr_assert_eq(sinew_getsockopt(s, SINEW_MSGS_DROPPED, &v, &len), 0);
    return v;
}

/* Multipart atomicity across a reconnect, incoming: the peer sent part A with MORE and
 * its connection was lost; after the reconnect it sends B. The application must get B
 * alone, never [A, B], a message nobody sent; A is counted as dropped. */
Test(core, reconnect_discards_unfinished_incoming_message)
{
    int lfd;
    void *pull = reconnecting(SINEW_PULL, &lfd);
    int fd = raw_accept(lfd, "PUSH");
    raw_write(fd, "\x01\x01" "A", 3);
    close(fd);
    fd = raw_accept(lfd, "PUSH");
    raw_write(fd, "\x00\x01" "B", 3);
    tn_recv_str(pull, "B");
    cr_assert_eq(tn_rcvmore(pull), 0, "parts of two connections spliced into one message");
    cr_assert_eq(dropped(pull), 1);
    close(fd);
    close(lfd);
}

/* Outgoing: [16 MiB part, "tail"] is being written when the connection drops. The
 * reconnected peer must not get "tail" as a message of its own; the next message
 * arrives whole. */
Test(core, reconnect_drops_cut_outgoing_message_whole)
{
    int lfd;
    void *push = reconnecting(SINEW_PUSH, &lfd);
    int fd = raw_accept(lfd, "PULL");
    size_t big = 16u << 20;
    sinew_msg_t m;
    cr_assert_eq(sinew_msg_init_size(&m, big), 0);
    memset(sinew_msg_data(&m), 'x', big);
    cr_assert_eq(sinew_msg_send(&m, push, SINEW_SNDMORE), (int) big);
    tn_send_str(push, "tail", 0);
    uint8_t head[4096];
    raw_read(fd, head, sizeof head); /* the big part is on its way */
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd); /* reset mid-part */
    fd = raw_accept(lfd, "PULL");
    tn_send_str(push, "next", 0);
    uint8_t body[16] = {0};
    uint64_t n;
    int flags = raw_frame(fd, body, sizeof body, &n);
    cr_assert_eq(flags & 0x01, 0, "a lone part of a cut message");
    cr_assert_eq(n, 4);
    cr_assert_eq(memcmp(body, "next", 4), 0, "got %.4s", body);
    cr_assert_eq(dropped(push), 1);
    close(fd);
    close(lfd);
}

/* Waits for event on the monitor PAIR mon. */
static void
wait_event(void *mon, int event)
{
    uint64_t deadline = tn_now_ms() + 5000;
    for (;;) {
        cr_assert_lt(tn_now_ms(), deadline, "no event 0x%x", event);
        uint8_t ev[6];
        char addr[256];
        if (sinew_recv(mon, ev, sizeof ev, 0) != 6)
            continue;
        cr_assert_geq(sinew_recv(mon, addr, sizeof addr, 0), 0);
        uint16_t e;
        memcpy(&e, ev, 2);
        if (e == event)
            return;
    }
}

static void *
monitor(void *s, int events)
{
    static int n;
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://core-mon-%d", n++);
    cr_assert_eq(sinew_socket_monitor(s, ep, events), 0);
    void *mon = tn_sock(SINEW_PAIR);
    tn_set(mon, SINEW_RCVTIMEO, 1000);
    tn_connect(mon, ep);
    return mon;
}

static transport net_transports[] = {{"ipc"}, {"tcp"}};

/* With SINEW_RECONNECT_IVL -1 a lost connection is not made again: its pipe goes, so
 * a PAIR may connect to another peer (libzmq tears the session down too). */
ParameterizedTestParameters(core, pair_without_reconnect_takes_a_new_peer)
{
    return cr_make_param_array(transport, net_transports, 2);
}

ParameterizedTest(transport *tr, core, pair_without_reconnect_takes_a_new_peer)
{
    char ep1[256], ep2[256];
    void *a = tn_sock(SINEW_PAIR), *c = tn_sock(SINEW_PAIR), *b = tn_sock(SINEW_PAIR);
    bind_fresh(a, tr->name, ep1, sizeof ep1);
    bind_fresh(c, tr->name, ep2, sizeof ep2);
    tn_set(b, SINEW_RECONNECT_IVL, -1);
    tn_set(a, SINEW_RCVTIMEO, 5000);
    tn_set(c, SINEW_RCVTIMEO, 5000);
    void *mon = monitor(b, SINEW_EVENT_DISCONNECTED);
    tn_connect(b, ep1);
    tn_send_str(b, "one", 0);
    tn_recv_str(a, "one");
    tn_set(a, SINEW_LINGER, 0);
    tn_close(a);
    wait_event(mon, SINEW_EVENT_DISCONNECTED);
    cr_assert_eq(sinew_connect(b, ep2), 0, "the gone peer still holds the PAIR: errno %d",
                 errno);
    tn_send_str(b, "two", 0);
    tn_recv_str(c, "two");
}

/* ...and a PUSH stops routing to the peer that is gone. */
ParameterizedTestParameters(core, push_without_reconnect_stops_routing_to_gone_peer)
{
    return cr_make_param_array(transport, net_transports, 2);
}

ParameterizedTest(transport *tr, core, push_without_reconnect_stops_routing_to_gone_peer)
{
    char ep[2][256];
    void *pull[2], *push = tn_sock(SINEW_PUSH);
    tn_set(push, SINEW_RECONNECT_IVL, -1);
    void *mon = monitor(push, SINEW_EVENT_DISCONNECTED);
    for (int i = 0; i < 2; i++) {
        pull[i] = tn_sock(SINEW_PULL);
        tn_set(pull[i], SINEW_RCVTIMEO, 5000);
        bind_fresh(pull[i], tr->name, ep[i], sizeof ep[i]);
        tn_connect(push, ep[i]);
    }
    tn_send_str(push, "a", 0);
    tn_send_str(push, "b", 0);
    tn_recv_str(pull[0], "a"); /* both connected */
    tn_recv_str(pull[1], "b");
    tn_set(pull[1], SINEW_LINGER, 0);
    tn_close(pull[1]);
    wait_event(mon, SINEW_EVENT_DISCONNECTED);
    for (int i = 0; i < 10; i++)
        tn_send_str(push, "m", 0);
    for (int i = 0; i < 10; i++)
        tn_recv_str(pull[0], "m");
}

/* sinew_inproc(7): a message sent through a connect nobody has bound yet stays, with
 * the default linger, after the sender closed, for the socket that binds later. */
Test(core, inproc_connect_before_bind_keeps_messages_after_close)
{
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://core-late-%d", (int) getpid());
    void *push = tn_sock(SINEW_PUSH);
    tn_connect(push, ep);
    tn_send_str(push, "early", 0);
    tn_close(push);
    void *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 2000);
    tn_bind(pull, ep);
    tn_recv_str(pull, "early");
}

/* ---- peer identity on the pipe (white-box: the core's own view of its pipes) ------- */

#include "core/socket.h"

/* The REP's pipe knows its peer: the socket type and the routing id the REQ set, from
 * the ZMTP handshake (Socket-Type and Identity) or from the other socket (inproc); the
 * REQ's pipe learns the REP's type once the connection is made. */
ParameterizedTestParameters(core, pipes_know_their_peer)
{
    return cr_make_param_array(transport, transports, 3);
}

ParameterizedTest(transport *tr, core, pipes_know_their_peer)
{
    char ep[256];
    void *rep = tn_sock(SINEW_REP), *req = tn_sock(SINEW_REQ);
    tn_set(rep, SINEW_RCVTIMEO, 5000);
    tn_set(req, SINEW_RCVTIMEO, 5000);
    cr_assert_eq(sinew_setsockopt(req, SINEW_ROUTING_ID, "abc", 3), 0);
    bind_fresh(rep, tr->name, ep, sizeof ep);
    tn_connect(req, ep);
    tn_send_str(req, "q", 0);
    tn_recv_str(rep, "q");
    tn_send_str(rep, "a", 0);
    tn_recv_str(req, "a");
    sn_socket *s = sn_socket_enter(rep);
    cr_assert_not_null(s);
    cr_assert_eq(s->npipes, 1);
    sn_peer *peer = s->pipes[0]->peer_info;
    cr_assert_not_null(peer, "no peer identity on the REP's pipe");
    cr_assert_eq(peer->type, SINEW_REQ);
    cr_assert_eq(peer->rid_len, 3);
    cr_assert_eq(memcmp(peer->rid, "abc", 3), 0);
    sn_socket_leave(s);
    s = sn_socket_enter(req);
    cr_assert_not_null(s);
    cr_assert_eq(s->npipes, 1);
    peer = s->pipes[0]->peer_info;
    cr_assert_not_null(peer, "no peer identity on the REQ's pipe");
    cr_assert_eq(peer->type, SINEW_REP);
    sn_socket_leave(s);
}

/* A connection lost and made again reaches the socket as a hiccup (its pattern renews
 * per-peer state; the socket counts it), with the new peer's identity. */
Test(core, reconnect_is_a_hiccup_with_the_new_peer)
{
    int lfd;
    void *pull = reconnecting(SINEW_PULL, &lfd);
    int fd = raw_accept(lfd, "PUSH");
    raw_write(fd, "\x00\x01" "1", 3);
    tn_recv_str(pull, "1");
    close(fd);
    fd = raw_accept(lfd, "PUSH");
    raw_write(fd, "\x00\x01" "2", 3);
    tn_recv_str(pull, "2");
    sn_socket *s = sn_socket_enter(pull);
    cr_assert_not_null(s);
    cr_assert_eq(atomic_load(&s->stats->reconnects), 1);
    cr_assert_eq(s->npipes, 1, "the pipe outlives the connection");
    cr_assert_not_null(s->pipes[0]->peer_info);
    cr_assert_eq(s->pipes[0]->peer_info->type, SINEW_PUSH);
    sn_socket_leave(s);
    close(fd);
    close(lfd);
}
