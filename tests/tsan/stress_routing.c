/* Routing and proxy stress, a plain program so it also runs under ThreadSanitizer
 * (Criterion cannot start under TSan). In one context:
 *
 *   - one ROUTER and one DEALER, each bound on inproc, ipc and tcp and shared by
 *     several application threads: two threads echo what the ROUTER receives back to
 *     its sender, two send requests on the DEALER and two receive its replies;
 *   - churn threads connect short-lived peers to them over the three transports and
 *     close them: DEALER clients (with a routing id or without) that send numbered
 *     requests to the ROUTER and wait for every echo, some closing before the echoes;
 *     REP servers that answer a few of the DEALER's requests;
 *   - a thread calls sinew_socket_stats, sinew_socket_peers and sinew_wait_peers on
 *     the shared sockets all along;
 *   - then sinew_proxy_steerable between a ROUTER frontend and a DEALER backend, with
 *     clients on the three transports and echoing workers, while another thread
 *     sends STATISTICS, PAUSE and RESUME, and at the end TERMINATE.
 *
 * Checked: every message arrives whole (all its parts, each numbered and checksummed,
 * nothing between them), nothing arrives that was not sent or arrives twice; clients
 * that wait get every echo; the ROUTER never receives more than was sent to it; the
 * proxy's statistics never go down and at the end count each message once each way;
 * sinew_proxy_steerable returns 0 after TERMINATE. A watchdog bounds the run.
 * Usage: stress_routing [rounds per churn thread] [watchdog seconds]. */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sinew.h"
#include "check.h"

#define TRANS 3
#define ECHOERS 2
#define DEALER_SENDERS 2
#define DEALER_RECEIVERS 2
#define CHURNERS 2
#define CLIENT_MSGS 4
#define DEALER_MAX_SEQ 100000
#define PROXY_CLIENT_MSGS 600
#define PROXY_WINDOW 20
#define PROXY_WORKERS 2
#define PART_MAX 64
#define PARTS_MAX 6

static void *ctx;
static long rounds = 40;
static char ipc_dir[64];

/* Every message is [hdr][body][hdr]: hdr numbers it and checksums itself, the body's
 * length and bytes follow from hdr, and the repeated hdr shows no part was lost or
 * slipped in between. */
typedef struct hdr {
    uint32_t sender, seq, sum;
} hdr;

static uint32_t
hdr_sum(uint32_t sender, uint32_t seq)
{
    return (sender * 2654435761u) ^ (seq * 40503u) ^ 0x5eed5eedu;
}

static size_t
body_len(hdr h)
{
    return (h.sender + h.seq) % 50;
}

/* A received message, parts copied out. */
typedef struct message {
    int n;
    size_t len[PARTS_MAX];
    uint8_t data[PARTS_MAX][PART_MAX];
} message;

/* Receives one whole message. Returns 0, or -1 when none came (errno EAGAIN, or ETERM);
 * a message that stops midway is a failure. The more flag is the part's own
 * (sinew_msg_more): SINEW_RCVMORE belongs to the socket, which other threads receive
 * on between our parts. */
static int
recv_message(void *s, message *m)
{
    m->n = 0;
    for (;;) {
        CHECK(m->n < PARTS_MAX, "more than %d parts", PARTS_MAX);
        sinew_msg_t part;
        sinew_msg_init(&part);
        if (sinew_msg_recv(&part, s, 0) < 0) {
            int e = errno;
            sinew_msg_close(&part);
            CHECK(m->n == 0, "message cut after %d parts: errno %d", m->n, e);
            errno = e;
            return -1;
        }
        size_t len = sinew_msg_size(&part);
        CHECK(len <= PART_MAX, "part of %zu bytes", len);
        memcpy(m->data[m->n], sinew_msg_data(&part), len);
        m->len[m->n++] = len;
        bool more = sinew_msg_more(&part);
        sinew_msg_close(&part);
        if (!more)
            return 0;
    }
}

/* Sends parts [0, n) of m; false if the first part could not go (EAGAIN, EHOSTUNREACH,
 * ETERM). Once the first part went, the rest must. */
static bool
send_message(void *s, const message *m, int from)
{
    for (int i = from; i < m->n; i++) {
        int rc = sinew_send(s, m->data[i], m->len[i], i + 1 < m->n ? SINEW_SNDMORE : 0);
        if (rc < 0) {
            CHECK(i == from, "send stopped at part %d: errno %d", i, errno);
            return false;
        }
    }
    return true;
}

/* Appends [hdr][body][hdr] for (sender, seq) to m. */
static void
make_payload(message *m, uint32_t sender, uint32_t seq)
{
    hdr h = {sender, seq, hdr_sum(sender, seq)};
    size_t blen = body_len(h);
    memcpy(m->data[m->n], &h, sizeof h);
    m->len[m->n++] = sizeof h;
    memset(m->data[m->n], (int) (uint8_t) (sender + seq), blen);
    m->len[m->n++] = blen;
    memcpy(m->data[m->n], &h, sizeof h);
    m->len[m->n++] = sizeof h;
}

/* Checks that parts [at, at + 3) of m, and nothing after, are a payload; returns its hdr. */
static hdr
check_payload(const message *m, int at)
{
    CHECK(m->n == at + 3, "%d parts, want %d", m->n, at + 3);
    hdr h, t;
    CHECK(m->len[at] == sizeof h && m->len[at + 2] == sizeof h, "header sizes %zu, %zu",
          m->len[at], m->len[at + 2]);
    memcpy(&h, m->data[at], sizeof h);
    memcpy(&t, m->data[at + 2], sizeof t);
    CHECK(h.sum == hdr_sum(h.sender, h.seq), "invented header %u/%u", h.sender, h.seq);
    CHECK(memcmp(&h, &t, sizeof h) == 0, "parts of two messages mixed: %u/%u, %u/%u",
          h.sender, h.seq, t.sender, t.seq);
    CHECK(m->len[at + 1] == body_len(h), "%u/%u: body of %zu bytes", h.sender, h.seq,
          m->len[at + 1]);
    for (size_t i = 0; i < m->len[at + 1]; i++)
        CHECK(m->data[at + 1][i] == (uint8_t) (h.sender + h.seq), "%u/%u: body byte %zu",
              h.sender, h.seq, i);
    return h;
}

static void
set_int(void *s, int opt, int v)
{
    CHECK(sinew_setsockopt(s, opt, &v, sizeof v) == 0, "setsockopt %d: errno %d", opt,
          errno);
}

/* LINGER 0: a peer that closes while the shared socket is midway through one of its
 * messages must not cut that message (the pipe lets go after its last part). */
static void *
socket_new(int type, int rcvtimeo, int sndtimeo)
{
    void *s = sinew_socket(ctx, type);
    CHECK(s != NULL, "socket %d: errno %d", type, errno);
    set_int(s, SINEW_RCVTIMEO, rcvtimeo);
    set_int(s, SINEW_SNDTIMEO, sndtimeo);
    set_int(s, SINEW_LINGER, 0);
    return s;
}

/* Binds s on inproc, ipc and tcp (names from tag); the endpoints to connect to go to eps. */
static void
bind_all(void *s, const char *tag, char eps[TRANS][256])
{
    char want[TRANS][256];
    snprintf(want[0], sizeof want[0], "inproc://stress-routing-%s", tag);
    snprintf(want[1], sizeof want[1], "ipc://%s/%s", ipc_dir, tag);
    snprintf(want[2], sizeof want[2], "tcp://127.0.0.1:*");
    for (int i = 0; i < TRANS; i++) {
        CHECK(sinew_bind(s, want[i]) == 0, "bind %s: errno %d", want[i], errno);
        size_t len = sizeof eps[i];
        CHECK(sinew_getsockopt(s, SINEW_LAST_ENDPOINT, eps[i], &len) == 0, "endpoint");
    }
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- shared ROUTER and DEALER with peer churn ------------------------------------- */

static void *router, *dealer;
static char router_eps[TRANS][256], dealer_eps[TRANS][256];
static atomic_bool churn_done;
static atomic_long router_received, client_sent;
static atomic_long dealer_attempted[DEALER_SENDERS];
static atomic_flag dealer_replied[DEALER_SENDERS][DEALER_MAX_SEQ];

/* Echoes each [id][payload] back to its sender (dropped if it has gone). */
static void *
router_echo(void *arg)
{
    (void) arg;
    message m;
    while (!atomic_load(&churn_done) || atomic_load(&router_received) < atomic_load(&client_sent)) {
        if (recv_message(router, &m) < 0) {
            CHECK(errno == EAGAIN, "router recv: errno %d", errno);
            if (atomic_load(&churn_done))
                break; /* what is missing went with clients that closed early */
            continue;
        }
        CHECK(m.len[0] > 0, "empty routing id");
        check_payload(&m, 1);
        atomic_fetch_add(&router_received, 1);
        send_message(router, &m, 0);
    }
    return NULL;
}

static void *
dealer_send(void *arg)
{
    uint32_t me = (uint32_t) (uintptr_t) arg;
    for (uint32_t seq = 0; seq < DEALER_MAX_SEQ && !atomic_load(&churn_done); seq++) {
        message m = {.n = 1, .len = {0}};
        make_payload(&m, me, seq);
        atomic_store(&dealer_attempted[me], (long) seq + 1);
        if (!send_message(dealer, &m, 0))
            CHECK(errno == EAGAIN, "dealer send: errno %d", errno);
    }
    return NULL;
}

static void *
dealer_recv(void *arg)
{
    (void) arg;
    message m;
    while (!atomic_load(&churn_done)) {
        if (recv_message(dealer, &m) < 0) {
            CHECK(errno == EAGAIN, "dealer recv: errno %d", errno);
            continue;
        }
        CHECK(m.len[0] == 0, "no empty delimiter before the reply");
        hdr h = check_payload(&m, 1);
        CHECK(h.sender < DEALER_SENDERS, "reply to an unknown sender %u", h.sender);
        CHECK((long) h.seq < atomic_load(&dealer_attempted[h.sender]),
              "reply to %u/%u, never sent", h.sender, h.seq);
        CHECK(!atomic_flag_test_and_set(&dealer_replied[h.sender][h.seq]),
              "reply to %u/%u twice", h.sender, h.seq);
    }
    return NULL;
}

/* A DEALER client of the shared ROUTER: sends CLIENT_MSGS requests and, unless it
 * leaves early, takes every echo. */
static void
churn_client(uint32_t me, long round)
{
    void *c = socket_new(SINEW_DEALER, 10000, 10000);
    if (round % 2 == 0) {
        char id[32];
        int n = snprintf(id, sizeof id, "client-%u", me);
        CHECK(sinew_setsockopt(c, SINEW_ROUTING_ID, id, (size_t) n) == 0, "routing id");
    }
    CHECK(sinew_connect(c, router_eps[round % TRANS]) == 0, "connect: errno %d", errno);
    for (uint32_t i = 0; i < CLIENT_MSGS; i++) {
        message m = {.n = 0};
        make_payload(&m, me, i);
        atomic_fetch_add(&client_sent, 1);
        CHECK(send_message(c, &m, 0), "client send: errno %d", errno);
    }
    if (round % 5 != 4) {
        bool seen[CLIENT_MSGS] = {false};
        for (int i = 0; i < CLIENT_MSGS; i++) {
            message m;
            CHECK(recv_message(c, &m) == 0, "client %u: echo %d of %d: errno %d", me, i,
                  CLIENT_MSGS, errno);
            hdr h = check_payload(&m, 0);
            CHECK(h.sender == me && h.seq < CLIENT_MSGS && !seen[h.seq],
                  "client %u got %u/%u", me, h.sender, h.seq);
            seen[h.seq] = true;
        }
    }
    CHECK(sinew_close(c) == 0, "close");
}

/* A REP server for the shared DEALER: answers what comes in a few tens of ms. */
static void
churn_server(long round)
{
    void *r = socket_new(SINEW_REP, 20, 1000);
    CHECK(sinew_connect(r, dealer_eps[round % TRANS]) == 0, "connect: errno %d", errno);
    for (int i = 0; i < 3; i++) {
        message m;
        if (recv_message(r, &m) < 0) {
            CHECK(errno == EAGAIN, "server recv: errno %d", errno);
            continue;
        }
        check_payload(&m, 0);
        CHECK(send_message(r, &m, 0), "server send: errno %d", errno);
    }
    CHECK(sinew_close(r) == 0, "close");
}

static void *
churn(void *arg)
{
    uint32_t id = (uint32_t) (uintptr_t) arg;
    for (long round = 0; round < rounds; round++) {
        churn_client(1000 + id * 100000 + (uint32_t) round, round + id);
        churn_server(round + id);
    }
    return NULL;
}

/* Stats, peer lists and waits for peers on s, from another thread than its users. */
static void
observe(void *s)
{
    sinew_socket_stats_t st;
    CHECK(sinew_socket_stats(s, &st) == 0, "stats: errno %d", errno);
    CHECK(st.peers < 1000, "%llu peers", (unsigned long long) st.peers);
    sinew_peer_stats_t peers[8];
    int n = sinew_socket_peers(s, peers, 8);
    CHECK(n >= 0, "peers: errno %d", errno);
    for (int i = 0; i < n && i < 8; i++) {
        CHECK(peers[i].routing_id_len <= sizeof peers[i].routing_id, "routing id length");
        CHECK(memchr(peers[i].endpoint, 0, sizeof peers[i].endpoint) != NULL,
              "endpoint not terminated");
    }
    int rc = sinew_wait_peers(s, 1, 2);
    CHECK(rc >= 1 || (rc == -1 && errno == EAGAIN), "wait_peers: %d, errno %d", rc, errno);
}

static atomic_bool observe_done;

static void *
observer(void *arg)
{
    void **socks = arg;
    while (!atomic_load(&observe_done))
        for (int i = 0; socks[i] != NULL; i++)
            observe(socks[i]);
    return NULL;
}

static void
shared_sockets_with_churn(void)
{
    router = socket_new(SINEW_ROUTER, 100, 1000);
    dealer = socket_new(SINEW_DEALER, 100, 20);
    bind_all(router, "router", router_eps);
    bind_all(dealer, "dealer", dealer_eps);
    pthread_t echoers[ECHOERS], senders[DEALER_SENDERS], receivers[DEALER_RECEIVERS];
    pthread_t churners[CHURNERS], obs;
    void *observed[] = {router, dealer, NULL};
    for (uintptr_t i = 0; i < ECHOERS; i++)
        pthread_create(&echoers[i], NULL, router_echo, NULL);
    for (uintptr_t i = 0; i < DEALER_SENDERS; i++)
        pthread_create(&senders[i], NULL, dealer_send, (void *) i);
    for (uintptr_t i = 0; i < DEALER_RECEIVERS; i++)
        pthread_create(&receivers[i], NULL, dealer_recv, NULL);
    pthread_create(&obs, NULL, observer, observed);
    for (uintptr_t i = 0; i < CHURNERS; i++)
        pthread_create(&churners[i], NULL, churn, (void *) i);
    for (int i = 0; i < CHURNERS; i++)
        pthread_join(churners[i], NULL);
    atomic_store(&churn_done, true);
    for (int i = 0; i < ECHOERS; i++)
        pthread_join(echoers[i], NULL);
    for (int i = 0; i < DEALER_SENDERS; i++)
        pthread_join(senders[i], NULL);
    for (int i = 0; i < DEALER_RECEIVERS; i++)
        pthread_join(receivers[i], NULL);
    atomic_store(&observe_done, true);
    pthread_join(obs, NULL);
    CHECK(atomic_load(&router_received) <= atomic_load(&client_sent),
          "the ROUTER received %ld messages of %ld sent", atomic_load(&router_received),
          atomic_load(&client_sent));
    CHECK(sinew_close(router) == 0 && sinew_close(dealer) == 0, "close");
}

/* ---- sinew_proxy_steerable --------------------------------------------------------- */

typedef struct proxy_run {
    void *front, *back, *control;
    int rc, err;
} proxy_run;

static char front_eps[TRANS][256], back_eps[TRANS][256];
static atomic_bool proxy_clients_done;

static void *
proxy_main(void *arg)
{
    proxy_run *r = arg;
    r->rc = sinew_proxy_steerable(r->front, r->back, NULL, r->control);
    r->err = errno;
    return NULL;
}

/* A backend worker: echoes [client id][payload]. */
static void *
proxy_worker(void *arg)
{
    uintptr_t i = (uintptr_t) arg;
    void *w = socket_new(SINEW_DEALER, 50, 10000);
    CHECK(sinew_connect(w, back_eps[i % TRANS]) == 0, "connect: errno %d", errno);
    message m;
    while (!atomic_load(&proxy_clients_done)) {
        if (recv_message(w, &m) < 0) {
            CHECK(errno == EAGAIN, "worker recv: errno %d", errno);
            continue;
        }
        CHECK(m.len[0] > 0, "no client id");
        check_payload(&m, 1);
        CHECK(send_message(w, &m, 0), "worker send: errno %d", errno);
    }
    CHECK(sinew_close(w) == 0, "close");
    return NULL;
}

/* A client on one transport: PROXY_CLIENT_MSGS requests, PROXY_WINDOW at a time,
 * every echo expected once. */
static void *
proxy_client(void *arg)
{
    uint32_t me = (uint32_t) (uintptr_t) arg;
    void *c = socket_new(SINEW_DEALER, 10000, 10000);
    CHECK(sinew_connect(c, front_eps[me % TRANS]) == 0, "connect: errno %d", errno);
    static_assert(PROXY_CLIENT_MSGS % PROXY_WINDOW == 0, "whole windows");
    bool seen[PROXY_CLIENT_MSGS] = {false};
    for (uint32_t at = 0; at < PROXY_CLIENT_MSGS; at += PROXY_WINDOW) {
        for (uint32_t i = at; i < at + PROXY_WINDOW; i++) {
            message m = {.n = 0};
            make_payload(&m, me, i);
            CHECK(send_message(c, &m, 0), "client send: errno %d", errno);
        }
        for (uint32_t i = at; i < at + PROXY_WINDOW; i++) {
            message m;
            CHECK(recv_message(c, &m) == 0, "proxy client %u: echo %u: errno %d", me, i, errno);
            hdr h = check_payload(&m, 0);
            CHECK(h.sender == me && h.seq >= at && h.seq < at + PROXY_WINDOW && !seen[h.seq],
                  "proxy client %u got %u/%u", me, h.sender, h.seq);
            seen[h.seq] = true;
        }
    }
    CHECK(sinew_close(c) == 0, "close");
    return NULL;
}

/* STATISTICS: the 8 counters, which never go down. */
static void
proxy_stats(void *ctl, uint64_t v[8])
{
    CHECK(sinew_send(ctl, "STATISTICS", 10, 0) == 10, "STATISTICS: errno %d", errno);
    for (int i = 0; i < 8; i++) {
        uint64_t x;
        CHECK(sinew_recv(ctl, &x, sizeof x, 0) == sizeof x, "statistics frame %d: errno %d",
              i, errno);
        int more;
        size_t len = sizeof more;
        CHECK(sinew_getsockopt(ctl, SINEW_RCVMORE, &more, &len) == 0 && more == (i < 7),
              "statistics frame %d: more %d", i, more);
        CHECK(x >= v[i], "statistic %d went down: %llu, then %llu", i,
              (unsigned long long) v[i], (unsigned long long) x);
        v[i] = x;
    }
}

static void *
proxy_controller(void *ctl)
{
    uint64_t v[8] = {0};
    for (unsigned i = 0; !atomic_load(&proxy_clients_done); i++) {
        proxy_stats(ctl, v);
        if (i % 8 == 7) {
            CHECK(sinew_send(ctl, "PAUSE", 5, 0) == 5, "PAUSE");
            sleep_ms(1);
            CHECK(sinew_send(ctl, "RESUME", 6, 0) == 6, "RESUME");
        }
    }
    return NULL;
}

static void
steerable_proxy(void)
{
    enum { CLIENTS = 3 };
    proxy_run r = {0};
    r.front = socket_new(SINEW_ROUTER, 1000, 1000);
    r.back = socket_new(SINEW_DEALER, 1000, 1000);
    r.control = socket_new(SINEW_PAIR, 1000, 1000);
    void *ctl = socket_new(SINEW_PAIR, 10000, 10000);
    bind_all(r.front, "front", front_eps);
    bind_all(r.back, "back", back_eps);
    CHECK(sinew_bind(r.control, "inproc://stress-routing-control") == 0, "bind control");
    CHECK(sinew_connect(ctl, "inproc://stress-routing-control") == 0, "connect control");
    pthread_t px, controller, obs, workers[PROXY_WORKERS], clients[CLIENTS];
    pthread_create(&px, NULL, proxy_main, &r);
    for (uintptr_t i = 0; i < PROXY_WORKERS; i++)
        pthread_create(&workers[i], NULL, proxy_worker, (void *) i);
    for (uintptr_t i = 0; i < CLIENTS; i++)
        pthread_create(&clients[i], NULL, proxy_client, (void *) i);
    pthread_create(&controller, NULL, proxy_controller, ctl);
    void *observed[] = {r.front, r.back, NULL};
    atomic_store(&observe_done, false);
    pthread_create(&obs, NULL, observer, observed);
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(clients[i], NULL);
    atomic_store(&proxy_clients_done, true);
    pthread_join(controller, NULL);
    atomic_store(&observe_done, true);
    pthread_join(obs, NULL);
    for (int i = 0; i < PROXY_WORKERS; i++)
        pthread_join(workers[i], NULL);
    /* Each message once each way: in at the frontend, out at the backend, and back. */
    uint64_t v[8] = {0};
    proxy_stats(ctl, v);
    const uint64_t total = (uint64_t) CLIENTS * PROXY_CLIENT_MSGS;
    CHECK(v[0] == total && v[2] == total && v[4] == total && v[6] == total,
          "statistics: frontend in %llu out %llu, backend in %llu out %llu, want %llu",
          (unsigned long long) v[0], (unsigned long long) v[2], (unsigned long long) v[4],
          (unsigned long long) v[6], (unsigned long long) total);
    CHECK(sinew_send(ctl, "TERMINATE", 9, 0) == 9, "TERMINATE");
    pthread_join(px, NULL);
    CHECK(r.rc == 0, "proxy returned %d, errno %d", r.rc, r.err);
    CHECK(sinew_close(r.front) == 0 && sinew_close(r.back) == 0, "close");
    CHECK(sinew_close(r.control) == 0 && sinew_close(ctl) == 0, "close");
}

int
main(int argc, char **argv)
{
    unsigned limit_s = 120;
    if (argc > 1)
        rounds = atol(argv[1]);
    if (argc > 2)
        limit_s = (unsigned) atoi(argv[2]);
    check_watchdog(limit_s);
    snprintf(ipc_dir, sizeof ipc_dir, "/tmp/sinew-stress-routing-XXXXXX");
    CHECK(mkdtemp(ipc_dir) != NULL, "mkdtemp: errno %d", errno);
    ctx = sinew_ctx_new();
    CHECK(ctx != NULL, "ctx");
    shared_sockets_with_churn();
    steerable_proxy();
    CHECK(sinew_ctx_term(ctx) == 0, "term");
    char path[128];
    const char *names[] = {"router", "dealer", "front", "back"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", ipc_dir, names[i]);
        unlink(path);
    }
    rmdir(ipc_dir);
    printf("ok: %ld churn rounds x %d threads against a shared ROUTER and DEALER "
           "(%ld requests echoed), steerable proxy %d x %d round trips\n",
           rounds, CHURNERS, atomic_load(&router_received), 3, PROXY_CLIENT_MSGS);
    return 0;
}
