/* RFC 28 (REQREP), ROUTER: routing ids (announced, generated, CONNECT_ROUTING_ID),
 * routing by the first frame, ROUTER_MANDATORY, ROUTER_HANDOVER, PROBE_ROUTER, drops
 * and their counters, reconnects, and envelopes through ROUTER-DEALER chains; each over
 * inproc, ipc and tcp (support/transports.h). */
#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>

#include "spec/routing.h"

TestSuite(spec_router, .init = tn_tran_setup, .fini = tn_tran_teardown, .timeout = 30);

static void *
dealer_named(const char *id)
{
    void *d = rt_timed(SINEW_DEALER);
    if (id != NULL)
        cr_assert_eq(sinew_setsockopt(d, SINEW_ROUTING_ID, id, strlen(id)), 0);
    return d;
}

/* RFC 28: ROUTER "SHALL prepend a message part containing the routing id of the
 * originating peer"; on send it "SHALL remove the first part ... and route the message
 * to the peer with that routing id". */
TN_TRAN_TEST(spec_router, routes_by_announced_identity)
{
    char ep[TN_EP_MAX];
    void *r = rt_timed(SINEW_ROUTER);
    tn_bind_any(r, tran, ep);
    void *a = dealer_named("alice"), *b = dealer_named("bob");
    tn_connect(a, ep);
    tn_connect(b, ep);
    rt_send(a, "from-a", "x", NULL);
    rt_expect(r, "alice", "from-a", "x", NULL);
    rt_send(b, "from-b", NULL);
    rt_expect(r, "bob", "from-b", NULL);
    rt_send(r, "bob", "to-b", "y", NULL);
    rt_send(r, "alice", "to-a", NULL);
    rt_expect(b, "to-b", "y", NULL);
    rt_expect(a, "to-a", NULL);
    tn_expect_nothing(a, 50, "alice got bob's message");
    cr_assert_eq(rt_dropped(r), 0);
}

/* libzmq: a peer without an Identity gets 5 bytes, 0 then a 32-bit counter. */
TN_TRAN_TEST(spec_router, generates_ids_for_anonymous_peers)
{
    char ep[TN_EP_MAX];
    void *r = rt_timed(SINEW_ROUTER);
    tn_bind_any(r, tran, ep);
    void *a = dealer_named(NULL), *b = dealer_named(NULL);
    tn_connect(a, ep);
    tn_connect(b, ep);
    uint8_t ida[8], idb[8];
    tn_send_str(a, "a", 0);
    cr_assert_eq(rt_recv_part(r, ida, sizeof ida), 5);
    tn_recv_str(r, "a");
    tn_send_str(b, "b", 0);
    cr_assert_eq(rt_recv_part(r, idb, sizeof idb), 5);
    tn_recv_str(r, "b");
    cr_assert_eq(ida[0], 0);
    cr_assert_eq(idb[0], 0);
    uint32_t va = (uint32_t) ida[1] << 24 | ida[2] << 16 | ida[3] << 8 | ida[4];
    uint32_t vb = (uint32_t) idb[1] << 24 | idb[2] << 16 | idb[3] << 8 | idb[4];
    cr_assert(va - vb == 1 || vb - va == 1, "ids %08x and %08x not consecutive", va, vb);
    /* The same id again for the next message, and the reply finds its way back. */
    tn_send_str(a, "again", 0);
    uint8_t id2[8];
    cr_assert_eq(rt_recv_part(r, id2, sizeof id2), 5);
    cr_assert_eq(memcmp(id2, ida, 5), 0);
    tn_recv_str(r, "again");
    cr_assert_eq(sinew_send(r, ida, 5, SINEW_SNDMORE), 5);
    tn_send_str(r, "back", 0);
    tn_recv_str(a, "back");
}

/* Without ROUTER_MANDATORY an unroutable message is dropped, and counted. */
TN_TRAN_TEST(spec_router, unroutable_dropped_and_counted)
{
    char ep[TN_EP_MAX];
    void *r = rt_timed(SINEW_ROUTER);
    tn_bind_any(r, tran, ep);
    rt_send(r, "nobody", "lost", "parts", NULL);
    cr_assert_eq(rt_dropped(r), 1);
    cr_assert_eq(rt_dropped_by(r, SINEW_DROP_UNROUTABLE), 1);
    /* A lone routing id frame is nothing to deliver: counted too. */
    tn_send_str(r, "nobody", 0);
    cr_assert_eq(rt_dropped(r), 2);
    cr_assert_eq(rt_dropped_by(r, SINEW_DROP_INVALID), 1);
    /* The socket goes on routing. */
    void *a = dealer_named("a");
    tn_connect(a, ep);
    rt_wait_route(r, "a", 1, a, 0);
}

/* ROUTER_MANDATORY: "unroutable ... EHOSTUNREACH" and nothing is counted. */
TN_TRAN_TEST(spec_router, mandatory_unroutable_fails)
{
    char ep[TN_EP_MAX];
    void *r = rt_timed(SINEW_ROUTER);
    tn_bind_any(r, tran, ep);
    tn_set(r, SINEW_ROUTER_MANDATORY, 1);
    errno = 0;
    cr_assert_eq(sinew_send(r, "nobody", 6, SINEW_SNDMORE), -1);
    cr_assert_eq(errno, EHOSTUNREACH);
    cr_assert_eq(rt_dropped(r), 0);
    /* Nothing was started: the next message routes normally. */
    void *a = dealer_named("a");
    tn_connect(a, ep);
    rt_wait_route(r, "a", 1, a, 1);
    rt_send(r, "a", "hello", NULL);
    rt_expect(a, "hello", NULL);
    /* A peer that left is unreachable again. */
    tn_close(a);
    uint64_t deadline = tn_now_ms() + 5000;
    while (sinew_send(r, "a", 1, SINEW_SNDMORE | SINEW_DONTWAIT) == 1) {
        tn_send_str(r, "x", 0);
        cr_assert_lt(tn_now_ms(), deadline, "the departed peer stays routable");
        tn_expect_nothing(r, 5, "");
    }
    cr_assert_eq(errno, EHOSTUNREACH);
}

/* A ROUTER whose peer is at its HWM: with MANDATORY, EAGAIN (after SNDTIMEO, or at
 * once with DONTWAIT); without it the message is dropped and counted (SN_DROP_HWM). Once
 * the peer reads, sends go through again. */
TN_TRAN_TEST(spec_router, hwm_block_or_drop)
{
    char ep[TN_EP_MAX];
    void *r = rt_timed(SINEW_ROUTER);
    tn_set(r, SINEW_SNDHWM, 4);
    tn_set(r, SINEW_SNDBUF, 4096);
    tn_bind_any(r, tran, ep);
    void *a = dealer_named("a");
    tn_set(a, SINEW_RCVHWM, 4);
    tn_set(a, SINEW_RCVBUF, 4096);
    tn_connect(a, ep);
    rt_wait_route(r, "a", 1, a, 1);
    /* Fill: DONTWAIT sends until EAGAIN, then a blocking one; over ipc and tcp the I/O
     * thread makes room until the kernel buffers are full too, so go on until a blocking
     * send waits its whole SNDTIMEO. No message is counted. */
    tn_set(r, SINEW_SNDTIMEO, 100);
    char big[1024] = {0};
    int sent = 0;
    bool eagain_seen = false;
    for (;;) {
        cr_assert_lt(sent, 100000, "no HWM after %d messages", sent);
        if (sinew_send(r, "a", 1, SINEW_SNDMORE | SINEW_DONTWAIT) != 1) {
            cr_assert_eq(errno, EAGAIN, "errno %d", errno);
            eagain_seen = true;
            uint64_t t0 = tn_now_ms();
            if (sinew_send(r, "a", 1, SINEW_SNDMORE) != 1) {
                cr_assert_eq(errno, EAGAIN);
                cr_assert_geq(tn_now_ms() - t0, 90, "blocking send did not wait");
                break;
            }
        }
        cr_assert_eq(sinew_send(r, big, sizeof big, 0), (int) sizeof big);
        sent++;
    }
    cr_assert(eagain_seen);
    cr_assert_eq(rt_dropped(r), 0);
    if (!tn_tran_is_net(tran)) /* no I/O thread that could make room meanwhile */
        cr_assert_eq(tn_get(r, SINEW_EVENTS) & SINEW_POLLOUT, 0, "POLLOUT with no room");
    /* Without MANDATORY: taken, dropped, counted (sent until one is, as an I/O thread
     * may still make room for a few). */
    tn_set(r, SINEW_ROUTER_MANDATORY, 0);
    cr_assert(tn_get(r, SINEW_EVENTS) & SINEW_POLLOUT, "POLLOUT without MANDATORY");
    while (rt_dropped(r) == 0) {
        cr_assert_lt(sent, 200000, "nothing dropped after %d messages", sent);
        tn_send_str(r, "a", SINEW_SNDMORE);
        cr_assert_eq(sinew_send(r, big, sizeof big, 0), (int) sizeof big);
        sent++;
    }
    cr_assert_eq(rt_dropped(r), 1);
    cr_assert_eq(rt_dropped_by(r, SINEW_DROP_HWM), 1);
    /* The peer gets every message but the dropped one. */
    int got = 0;
    char buf[sizeof big];
    while (got < sent - 1) {
        cr_assert_eq(sinew_recv(a, buf, sizeof buf, 0), (int) sizeof big, "after %d: errno %d",
                     got, errno);
        got++;
    }
    tn_expect_nothing(a, 20, "more than was sent");
    tn_set(r, SINEW_ROUTER_MANDATORY, 1);
    tn_set(r, SINEW_SNDTIMEO, 5000);
    rt_send(r, "a", "after", NULL);
    rt_expect(a, "after", NULL);
}

/* ROUTER_HANDOVER off (libzmq's default): a second peer claiming an id in use is
 * refused; its messages are dropped and counted, and the id still routes to the first. */
TN_TRAN_TEST(spec_router, duplicate_identity_refused)
{
    char ep[TN_EP_MAX];
    void *r = rt_timed(SINEW_ROUTER);
    tn_bind_any(r, tran, ep);
    void *a1 = dealer_named("same");
    tn_connect(a1, ep);
    rt_wait_route(r, "same", 4, a1, 0);
    void *a2 = dealer_named("same");
    tn_connect(a2, ep);
    tn_send_str(a2, "impostor", 0);
    tn_send_str(a1, "genuine", 0);
    rt_expect(r, "same", "genuine", NULL);
    uint64_t deadline = tn_now_ms() + 5000;
    while (rt_dropped(r) == 0) {
        cr_assert_lt(tn_now_ms(), deadline, "the impostor's message was not counted");
        tn_expect_nothing(r, 5, "a refused peer's message was delivered");
    }
    cr_assert_eq(rt_dropped_by(r, SINEW_DROP_INVALID), 1);
    rt_send(r, "same", "to-first", NULL);
    rt_expect(a1, "to-first", NULL);
}

/* A message to a peer that leaves while it is being sent is discarded and counted once,
 * whether some of its parts were written (the core rolls them back) or none. */
TN_TRAN_TEST(spec_router, message_cut_by_departing_peer_counted_once)
{
    char ep[TN_EP_MAX];
    void *r = rt_timed(SINEW_ROUTER);
    tn_set(r, SINEW_ROUTER_MANDATORY, 1);
    tn_bind_any(r, tran, ep);
    for (int written = 0; written < 2; written++) {
        void *a = dealer_named("a");
        tn_connect(a, ep);
        rt_wait_route(r, "a", 1, a, 1);
        uint64_t before = rt_dropped(r);
        tn_send_str(r, "a", SINEW_SNDMORE);
        if (written)
            tn_send_str(r, "part", SINEW_SNDMORE);
        tn_close(a);
        rt_wait_peers(r, 0);
        tn_send_str(r, "more", SINEW_SNDMORE);
        tn_send_str(r, "last", 0);
        cr_assert_eq(rt_dropped(r), before + 1, "%d parts written: %llu drops", written,
                     (unsigned long long) (rt_dropped(r) - before));
        cr_assert_eq(rt_dropped_by(r, SINEW_DROP_CONNECTION), (uint64_t) written + 1);
    }
}

/* Gives r a second at most to see a peer leave (inproc: its pipe goes at once; ipc and
 * tcp: a connection's pipe stays until what it delivered is read, so r may keep it). */
static void
leave_time(void *r)
{
    uint64_t deadline = tn_now_ms() + 1000;
    sinew_socket_stats_t st;
    do {
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
        cr_assert_eq(sinew_socket_stats(r, &st), 0, "errno %d", errno);
    } while (st.peers > 1 && tn_now_ms() < deadline);
}

/* A peer that leaves (LINGER 0) while the application reads one of its messages: the
 * rest of that message still comes, whole, and the next message is another peer's, with
 * its routing id first (not spliced onto the cut one). */
TN_TRAN_TEST(spec_router, message_being_read_survives_departing_peer)
{
    char ep[TN_EP_MAX];
    void *r = rt_timed(SINEW_ROUTER);
    tn_bind_any(r, tran, ep);
    void *a = dealer_named("a"), *b = dealer_named("b");
    tn_connect(a, ep);
    tn_connect(b, ep);
    rt_wait_route(r, "a", 1, a, 0);
    rt_wait_route(r, "b", 1, b, 0);
    for (int read_body = 0; read_body < 2; read_body++) {
        rt_send(a, "a1", "a2", "a3", NULL);
        tn_recv_str(r, "a");
        if (read_body)
            tn_recv_str(r, "a1");
        tn_set(a, SINEW_LINGER, 0);
        tn_close(a);
        leave_time(r);
        rt_send(b, "b1", "b2", NULL);
        if (!read_body)
            tn_recv_str(r, "a1");
        rt_expect(r, "a2", "a3", NULL);
        rt_expect(r, "b", "b1", "b2", NULL);
        a = dealer_named("a");
        tn_connect(a, ep);
        rt_wait_route(r, "a", 1, a, 0);
    }
}

/* ROUTER_HANDOVER: the newcomer takes the id over; the old connection is let go. */
TN_TRAN_TEST(spec_router, handover_moves_identity)
{
    char ep[TN_EP_MAX];
    void *r = rt_timed(SINEW_ROUTER);
    tn_set(r, SINEW_ROUTER_HANDOVER, 1);
    tn_bind_any(r, tran, ep);
    void *a1 = dealer_named("same");
    /* Its connection is closed when it is replaced: it must not come back (and take
     * the id back, as it would) while the test looks. */
    tn_set(a1, SINEW_RECONNECT_IVL, 60000);
    tn_connect(a1, ep);
    rt_wait_route(r, "same", 4, a1, 0);
    void *a2 = dealer_named("same");
    tn_connect(a2, ep);
    tn_send_str(a2, "newcomer", 0);
    rt_expect(r, "same", "newcomer", NULL);
    rt_send(r, "same", "to-new", NULL);
    rt_expect(a2, "to-new", NULL);
    tn_expect_nothing(a1, 50, "the replaced peer still gets messages");
}

/* CONNECT_ROUTING_ID names the peer of the next connect (ROUTER to ROUTER: neither
 * needs to say anything first). */
TN_TRAN_TEST(spec_router, connect_routing_id_names_the_peer)
{
    char ep1[TN_EP_MAX], ep2[TN_EP_MAX];
    void *srv1 = rt_timed(SINEW_ROUTER), *srv2 = rt_timed(SINEW_ROUTER);
    tn_bind_any(srv1, tran, ep1);
    tn_bind_any(srv2, tran, ep2);
    void *cli = rt_timed(SINEW_ROUTER);
    cr_assert_eq(sinew_setsockopt(cli, SINEW_ROUTING_ID, "cli", 3), 0);
    cr_assert_eq(sinew_setsockopt(cli, SINEW_CONNECT_ROUTING_ID, "one", 3), 0);
    tn_connect(cli, ep1);
    cr_assert_eq(sinew_setsockopt(cli, SINEW_CONNECT_ROUTING_ID, "two", 3), 0);
    tn_connect(cli, ep2);
    tn_set(cli, SINEW_ROUTER_MANDATORY, 1);
    /* Named locally: routable at once, the messages wait for their connections. */
    rt_send(cli, "two", "for-two", NULL);
    rt_send(cli, "one", "for-one", NULL);
    rt_expect(srv1, "cli", "for-one", NULL);
    rt_expect(srv2, "cli", "for-two", NULL);
    rt_send(srv1, "cli", "reply", NULL);
    rt_expect(cli, "one", "reply", NULL);
    /* Bad values. */
    errno = 0;
    cr_assert_eq(sinew_setsockopt(cli, SINEW_CONNECT_ROUTING_ID, "", 0), -1);
    cr_assert_eq(errno, EINVAL);
}

/* PROBE_ROUTER: each new connection starts with an empty message, so the ROUTER on the
 * other side learns the peer's id without it sending anything. */
TN_TRAN_TEST(spec_router, probe_router_announces_peers)
{
    char ep[TN_EP_MAX];
    void *srv = rt_timed(SINEW_ROUTER);
    tn_bind_any(srv, tran, ep);
    void *cr = rt_timed(SINEW_ROUTER);
    cr_assert_eq(sinew_setsockopt(cr, SINEW_ROUTING_ID, "r1", 2), 0);
    tn_set(cr, SINEW_PROBE_ROUTER, 1);
    tn_connect(cr, ep);
    void *cd = dealer_named("d1");
    tn_set(cd, SINEW_PROBE_ROUTER, 1);
    tn_connect(cd, ep);
    const char *first = NULL;
    for (int i = 0; i < 2; i++) {
        char id[8];
        int n = rt_recv_part(srv, id, sizeof id);
        id[n] = 0;
        cr_assert(tn_rcvmore(srv));
        cr_assert_eq(rt_recv_part(srv, id + 4, 4), 0, "probe not empty");
        cr_assert_not(tn_rcvmore(srv));
        cr_assert(strcmp(id, "r1") == 0 || strcmp(id, "d1") == 0, "probe from %s", id);
        if (first != NULL)
            cr_assert_str_neq(id, first);
        first = strcmp(id, "r1") == 0 ? "r1" : "d1";
    }
    rt_send(srv, "d1", "hi", NULL);
    rt_expect(cd, "hi", NULL);
}

/* An inproc connect made before the bind: the peer's identity comes later, before its
 * first message is delivered. */
Test(spec_router, inproc_connect_before_bind_learns_identity)
{
    char ep[TN_EP_MAX];
    tn_tran_endpoint("inproc", ep);
    void *r = rt_timed(SINEW_ROUTER);
    tn_connect(r, ep);
    void *d = dealer_named("late");
    tn_bind(d, ep);
    tn_send_str(d, "hello", 0);
    rt_expect(r, "late", "hello", NULL);
    rt_send(r, "late", "back", NULL);
    rt_expect(d, "back", NULL);
}

/* A connecting ROUTER whose peer comes back with another identity (a restart): the
 * route follows the new identity; the old one is unroutable. */
TN_TRAN_TEST_OFF(spec_router, reconnect_updates_route, TN_INPROC)
{
    char ep[TN_EP_MAX];
    tn_tran_endpoint(tran, ep);
    void *d1 = dealer_named("first");
    tn_bind(d1, ep);
    void *r = rt_timed(SINEW_ROUTER);
    tn_set(r, SINEW_RECONNECT_IVL, 20);
    tn_connect(r, ep);
    rt_wait_route(r, "first", 5, d1, 0);
    tn_close(d1);
    void *d2 = dealer_named("second");
    /* The closed socket's listener goes away on its I/O thread: bind when it is gone. */
    uint64_t deadline = tn_now_ms() + 5000;
    while (sinew_bind(d2, ep) != 0) {
        cr_assert_eq(errno, EADDRINUSE, "bind: errno %d", errno);
        cr_assert_lt(tn_now_ms(), deadline, "%s still in use after 5 s", ep);
        tn_expect_nothing(d2, 5, "");
    }
    rt_wait_route(r, "second", 6, d2, 1);
    errno = 0;
    cr_assert_eq(sinew_send(r, "first", 5, SINEW_SNDMORE), -1);
    cr_assert_eq(errno, EHOSTUNREACH);
    tn_send_str(d2, "up", 0);
    rt_expect(r, "second", "up", NULL);
}

/* RFC 28: a broker (ROUTER frontend, DEALER backend) passes envelopes through: each
 * REQ gets its own reply from the REP behind it, and two brokers in a row (two routing
 * frames, REP keeps the whole envelope) work the same. */
static void
forward_one(void *from, void *to)
{
    for (;;) {
        sinew_msg_t m;
        sinew_msg_init(&m);
        cr_assert_geq(sinew_msg_recv(&m, from, 0), 0, "broker recv: errno %d", errno);
        int more = sinew_msg_more(&m);
        cr_assert_geq(sinew_msg_send(&m, to, more ? SINEW_SNDMORE : 0), 0);
        if (!more)
            break;
    }
}

TN_TRAN_TEST(spec_router, envelopes_through_broker_chain)
{
    enum { HOPS = 2, CLIENTS = 2 };
    char ep[TN_EP_MAX];
    void *front[HOPS], *back[HOPS];
    for (int h = 0; h < HOPS; h++) {
        front[h] = rt_timed(SINEW_ROUTER);
        back[h] = rt_timed(SINEW_DEALER);
    }
    void *rep = rt_timed(SINEW_REP);
    tn_bind_any(rep, tran, ep);
    tn_connect(back[HOPS - 1], ep);
    for (int h = HOPS - 1; h > 0; h--) {
        tn_bind_any(front[h], tran, ep);
        tn_connect(back[h - 1], ep);
    }
    tn_bind_any(front[0], tran, ep);
    void *req[CLIENTS];
    for (int c = 0; c < CLIENTS; c++) {
        req[c] = rt_timed(SINEW_REQ);
        tn_connect(req[c], ep);
    }
    for (int round = 0; round < 3; round++) {
        for (int c = 0; c < CLIENTS; c++) {
            char q[32];
            snprintf(q, sizeof q, "q%d-%d", c, round);
            rt_send(req[c], q, "tail", NULL);
        }
        for (int c = 0; c < CLIENTS; c++) {
            for (int h = 0; h < HOPS; h++)
                forward_one(front[h], back[h]);
            char q[32];
            int n = rt_recv_part(rep, q, sizeof q - 1);
            q[n] = 0;
            cr_assert(tn_rcvmore(rep));
            tn_recv_str(rep, "tail");
            cr_assert_not(tn_rcvmore(rep));
            char a[40];
            snprintf(a, sizeof a, "re:%s", q);
            rt_send(rep, a, "end", NULL);
            for (int h = HOPS - 1; h >= 0; h--)
                forward_one(back[h], front[h]);
        }
        for (int c = 0; c < CLIENTS; c++) {
            char a[40];
            snprintf(a, sizeof a, "re:q%d-%d", c, round);
            rt_expect(req[c], a, "end", NULL);
        }
    }
}

/* SINEW_EVENTS and sinew_poll: POLLIN once a message waits (and through all its parts,
 * the routing id first), POLLOUT always without MANDATORY. */
TN_TRAN_TEST(spec_router, events_report_in_and_out)
{
    char ep[TN_EP_MAX];
    void *r = rt_timed(SINEW_ROUTER);
    tn_bind_any(r, tran, ep);
    cr_assert_eq(tn_get(r, SINEW_EVENTS), SINEW_POLLOUT);
    void *a = dealer_named("a");
    tn_connect(a, ep);
    tn_send_str(a, "m", 0);
    sinew_pollitem_t it = {.socket = r, .events = SINEW_POLLIN};
    cr_assert_eq(sinew_poll(&it, 1, 5000), 1);
    cr_assert(tn_get(r, SINEW_EVENTS) & SINEW_POLLIN);
    char id[4];
    cr_assert_eq(rt_recv_part(r, id, sizeof id), 1);
    cr_assert(tn_get(r, SINEW_EVENTS) & SINEW_POLLIN, "the body is still to read");
    tn_recv_str(r, "m");
    cr_assert_eq(tn_get(r, SINEW_EVENTS), SINEW_POLLOUT);
}

static bool
fd_readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, timeout_ms);
    cr_assert_geq(n, 0);
    return n == 1 && (p.revents & POLLIN);
}

/* SINEW_READY_FD: readable while a message waits (its peer's identity learnt on the way,
 * for a connect), through all its parts, cleared once it is read. The ROUTER connects,
 * so that its pipe exists from the start (see test_poll.c). */
TN_TRAN_TEST(spec_router, ready_fd_follows_messages)
{
    char ep[TN_EP_MAX];
    void *d = dealer_named("d");
    tn_bind_any(d, tran, ep);
    void *r = rt_timed(SINEW_ROUTER);
    tn_connect(r, ep);
    int fd = tn_get(r, SINEW_READY_FD);
    cr_assert_not(fd_readable(fd, 0), "readable with nothing to receive");
    tn_send_str(d, "m", 0);
    cr_assert(fd_readable(fd, 5000), "not readable with a message waiting");
    tn_recv_str(r, "d");
    cr_assert(fd_readable(fd, 0), "cleared between the routing id and the body");
    tn_recv_str(r, "m");
    cr_assert_not(fd_readable(fd, 0), "readable after the message was read");
}

/* A receive that waits on a connecting ROUTER wakes for the first message of a peer it
 * has not identified yet (the peer's identity and then its message come while it
 * waits: the delay before the send only makes that order likely, the test holds either
 * way). */
static void *
send_after_delay(void *d)
{
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return sinew_send(d, "first", 5, 0) == 5 ? NULL : (void *) 1;
}

TN_TRAN_TEST(spec_router, waiting_recv_wakes_for_new_peer)
{
    char ep[TN_EP_MAX];
    void *d = dealer_named("d");
    tn_bind_any(d, tran, ep);
    void *r = rt_timed(SINEW_ROUTER);
    tn_connect(r, ep);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, send_after_delay, d), 0);
    uint64_t t0 = tn_now_ms();
    tn_recv_str(r, "d");
    cr_assert_lt(tn_now_ms() - t0, 2500, "the receive slept through the message");
    tn_recv_str(r, "first");
    void *rc;
    pthread_join(th, &rc);
    cr_assert_null(rc);
}

/* Option values: ints >= 0 only. */
Test(spec_router, option_values_checked)
{
    void *r = tn_sock(SINEW_ROUTER);
    int opts[] = {SINEW_ROUTER_MANDATORY, SINEW_ROUTER_HANDOVER, SINEW_PROBE_ROUTER};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        errno = 0;
        cr_assert_eq(sinew_setsockopt_int(r, opts[i], -1), -1);
        cr_assert_eq(errno, EINVAL);
        uint8_t shortv = 1;
        cr_assert_eq(sinew_setsockopt(r, opts[i], &shortv, 1), -1);
        cr_assert_eq(errno, EINVAL);
        cr_assert_eq(sinew_setsockopt_int(r, opts[i], 1), 0);
    }
    uint8_t longid[256] = {1};
    cr_assert_eq(sinew_setsockopt(r, SINEW_CONNECT_ROUTING_ID, longid, 256), -1);
    cr_assert_eq(errno, EINVAL);
    /* Not a DEALER option. */
    void *d = tn_sock(SINEW_DEALER);
    cr_assert_eq(sinew_setsockopt_int(d, SINEW_ROUTER_MANDATORY, 1), -1);
    cr_assert_eq(errno, EINVAL);
}

/* Thread-safe like every sinew socket: threads sharing one ROUTER each send whole
 * multipart messages to their own peer; nothing is interleaved, lost or reordered. */
typedef struct sender_arg {
    void *router;
    char id[16];
    int n;
} sender_arg;

static void *
sender(void *arg)
{
    sender_arg *a = arg;
    for (int i = 0; i < a->n; i++) {
        char body[32];
        snprintf(body, sizeof body, "%s-%d", a->id, i);
        if (sinew_send(a->router, a->id, strlen(a->id), SINEW_SNDMORE) < 0 ||
            sinew_send(a->router, "head", 4, SINEW_SNDMORE) < 0 ||
            sinew_send(a->router, body, strlen(body), 0) < 0)
            return (void *) 1;
    }
    return NULL;
}

TN_TRAN_TEST(spec_router, threads_share_a_router)
{
    enum { THREADS = 3, N = 300 };
    char ep[TN_EP_MAX];
    void *r = rt_timed(SINEW_ROUTER);
    tn_set(r, SINEW_ROUTER_MANDATORY, 1); /* nothing may be dropped: block instead */
    tn_bind_any(r, tran, ep);
    void *peers[THREADS];
    sender_arg args[THREADS];
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        snprintf(args[t].id, sizeof args[t].id, "p%d", t);
        peers[t] = dealer_named(args[t].id);
        tn_connect(peers[t], ep);
        rt_wait_route(r, args[t].id, strlen(args[t].id), peers[t], 1);
        args[t].router = r;
        args[t].n = N;
    }
    for (int t = 0; t < THREADS; t++)
        cr_assert_eq(pthread_create(&th[t], NULL, sender, &args[t]), 0);
    for (int i = 0; i < N; i++) {
        for (int t = 0; t < THREADS; t++) {
            char body[32];
            snprintf(body, sizeof body, "%s-%d", args[t].id, i);
            rt_expect(peers[t], "head", body, NULL);
        }
    }
    for (int t = 0; t < THREADS; t++) {
        void *rc;
        pthread_join(th[t], &rc);
        cr_assert_null(rc, "sender %d failed: errno %d", t, errno);
    }
    cr_assert_eq(rt_dropped(r), 0);
}
