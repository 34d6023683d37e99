/* CURVE under threads (plain C, so it also runs under TSan, where Criterion cannot):
 * a CURVE PULL server over tcp and ipc fed by CURVE PUSH clients, each on its own
 * thread, one socket shared by two threads (sends encrypt on the sending thread or on
 * the I/O thread), sizes from 0 bytes to 200 KB, and a thread that keeps connecting a
 * client, sending one message and closing it. Every message must arrive intact, each
 * sender's in order. Then direct input: one client with 5 ms heartbeats (boxed PINGs)
 * feeding a server whose two receiving threads take turns borrowing the connection:
 * every message once, intact, in order within each thread. Then the context terminates.
 * make check runs it with small counts;
 * under TSan: ./tests/security/stress_curve [rounds].
 *   usage: stress_curve [rounds] */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "sinew.h"
#include "tsan/check.h"

#define OWN_SENDERS 2
#define SHARED_SENDERS 2
#define SENDERS (OWN_SENDERS + SHARED_SENDERS)
#define CHURNS 20
#define MAX_SIZE 200000

static void *ctx;
static uint8_t server_pub[32], server_sec[32];
static char endpoint[256];
static long rounds = 300;

/* Message i of sender s: a header (s, i) and a body of a size and pattern both
 * derive from (s, i), so the receiver checks every byte. The churn thread is sender
 * SENDERS, message i on its i-th connection. */
static size_t
msg_size(uint32_t s, uint32_t i)
{
    static const size_t sizes[] = {0, 1, 40, 300, 5000, 70000, MAX_SIZE};
    size_t n = sizes[(s * 7 + i) % (sizeof sizes / sizeof sizes[0])];
    return n < 8 ? 8 : n;
}

static void
msg_fill(uint8_t *p, size_t n, uint32_t s, uint32_t i)
{
    memcpy(p, &s, 4);
    memcpy(p + 4, &i, 4);
    for (size_t k = 8; k < n; k++)
        p[k] = (uint8_t) (k * 13 + s * 3 + i);
}

/* ivl: SINEW_HEARTBEAT_IVL in ms (0: none). */
static void *
curve_client(int ivl)
{
    void *c = sinew_socket(ctx, SINEW_PUSH);
    CHECK(c != NULL, "socket: %d", errno);
    uint8_t pub[32], sec[32];
    crypto_box_keypair(pub, sec);
    CHECK(sinew_setsockopt(c, SINEW_CURVE_SERVERKEY, server_pub, 32) == 0 &&
              sinew_setsockopt(c, SINEW_CURVE_PUBLICKEY, pub, 32) == 0 &&
              sinew_setsockopt(c, SINEW_CURVE_SECRETKEY, sec, 32) == 0 &&
              sinew_setsockopt(c, SINEW_HEARTBEAT_IVL, &ivl, sizeof ivl) == 0,
          "CURVE options: %d", errno);
    CHECK(sinew_connect(c, endpoint) == 0, "connect: %d", errno);
    return c;
}

typedef struct sender {
    void *sock;
    uint32_t id;
} sender;

static void *
sender_main(void *arg)
{
    sender *sd = arg;
    uint8_t *buf = malloc(MAX_SIZE);
    CHECK(buf != NULL, "malloc");
    for (uint32_t i = 0; i < (uint32_t) rounds; i++) {
        size_t n = msg_size(sd->id, i);
        msg_fill(buf, n, sd->id, i);
        CHECK(sinew_send(sd->sock, buf, n, 0) == (int) n, "send: %d", errno);
    }
    free(buf);
    return NULL;
}

/* Connects, sends one message as sender id SENDERS, closes (linger: it is delivered). */
static void *
churn_main(void *arg)
{
    (void) arg;
    uint8_t buf[64];
    for (uint32_t i = 0; i < CHURNS; i++) {
        void *c = curve_client(0);
        msg_fill(buf, 8, SENDERS, i);
        CHECK(sinew_send(c, buf, 8, 0) == 8, "churn send: %d", errno);
        CHECK(sinew_close(c) == 0, "close: %d", errno);
    }
    return NULL;
}

static void
run(const char *bind_to)
{
    void *srv = sinew_socket(ctx, SINEW_PULL);
    int one = 1, timeout = 20000;
    CHECK(sinew_setsockopt(srv, SINEW_CURVE_SERVER, &one, sizeof one) == 0 &&
              sinew_setsockopt(srv, SINEW_CURVE_SECRETKEY, server_sec, 32) == 0 &&
              sinew_setsockopt(srv, SINEW_RCVTIMEO, &timeout, sizeof timeout) == 0,
          "server options: %d", errno);
    CHECK(sinew_bind(srv, bind_to) == 0, "bind %s: %d", bind_to, errno);
    size_t len = sizeof endpoint;
    CHECK(sinew_getsockopt(srv, SINEW_LAST_ENDPOINT, endpoint, &len) == 0, "endpoint");

    void *shared = curve_client(0);
    void *own[OWN_SENDERS];
    sender sd[SENDERS];
    pthread_t th[SENDERS + 1];
    for (uint32_t s = 0; s < SENDERS; s++) {
        void *sock = shared;
        if (s < OWN_SENDERS)
            sock = own[s] = curve_client(0);
        sd[s] = (sender){sock, s};
        CHECK(pthread_create(&th[s], NULL, sender_main, &sd[s]) == 0, "thread");
    }
    CHECK(pthread_create(&th[SENDERS], NULL, churn_main, NULL) == 0, "thread");

    uint32_t next[SENDERS] = {0}, churned = 0;
    long total = SENDERS * rounds + CHURNS;
    sinew_msg_t m;
    sinew_msg_init(&m);
    uint8_t *want = malloc(MAX_SIZE);
    CHECK(want != NULL, "malloc");
    for (long k = 0; k < total; k++) {
        CHECK(sinew_msg_recv(&m, srv, 0) >= 8, "recv %ld of %ld: %d", k, total, errno);
        uint32_t s, i;
        memcpy(&s, sinew_msg_data(&m), 4);
        memcpy(&i, (uint8_t *) sinew_msg_data(&m) + 4, 4);
        CHECK(s <= SENDERS, "sender %u", s);
        if (s < SENDERS) {
            CHECK(i == next[s], "sender %u: message %u, expected %u", s, i, next[s]);
            next[s]++;
        } else { /* each churn message has its own connection: any order, once each */
            CHECK(i < CHURNS && !(churned & (1u << i)), "churn message %u", i);
            churned |= 1u << i;
        }
        size_t n = s == SENDERS ? 8 : msg_size(s, i);
        CHECK(sinew_msg_size(&m) == n, "sender %u message %u: %zu bytes", s, i,
              sinew_msg_size(&m));
        msg_fill(want, n, s, i);
        CHECK(memcmp(sinew_msg_data(&m), want, n) == 0, "sender %u message %u differs", s, i);
    }
    sinew_msg_close(&m);
    free(want);
    for (int t = 0; t <= SENDERS; t++)
        pthread_join(th[t], NULL);
    for (int s = 0; s < OWN_SENDERS; s++)
        CHECK(sinew_close(own[s]) == 0, "close");
    CHECK(sinew_close(shared) == 0 && sinew_close(srv) == 0, "close");
}

typedef struct direct_rx {
    void *srv;
    long got;
    uint8_t *seen; /* rounds flags, shared: each index is set by one thread only */
} direct_rx;

/* Takes messages until the last index arrived (to either thread). */
static void *
direct_rx_main(void *arg)
{
    direct_rx *rx = arg;
    sinew_msg_t m;
    sinew_msg_init(&m);
    uint8_t *want = malloc(MAX_SIZE);
    CHECK(want != NULL, "malloc");
    long last = -1;
    while (sinew_msg_recv(&m, rx->srv, 0) >= 8) {
        uint32_t s, i;
        memcpy(&s, sinew_msg_data(&m), 4);
        memcpy(&i, (uint8_t *) sinew_msg_data(&m) + 4, 4);
        CHECK(s == 0 && i < (uint32_t) rounds && (long) i > last, "direct: %u/%u after %ld",
              s, i, last);
        size_t n = msg_size(0, i);
        msg_fill(want, n, 0, i);
        CHECK(sinew_msg_size(&m) == n && memcmp(sinew_msg_data(&m), want, n) == 0,
              "direct: message %u differs", i);
        rx->seen[i] = 1;
        rx->got++;
        last = i;
        if (i == (uint32_t) rounds - 1)
            break;
    }
    sinew_msg_close(&m);
    free(want);
    return NULL;
}

static void
run_direct(const char *bind_to)
{
    void *srv = sinew_socket(ctx, SINEW_PULL);
    int one = 1, timeout = 1000, ivl = 5;
    CHECK(sinew_setsockopt(srv, SINEW_CURVE_SERVER, &one, sizeof one) == 0 &&
              sinew_setsockopt(srv, SINEW_CURVE_SECRETKEY, server_sec, 32) == 0 &&
              sinew_setsockopt(srv, SINEW_RCVTIMEO, &timeout, sizeof timeout) == 0,
          "server options: %d", errno);
    CHECK(sinew_bind(srv, bind_to) == 0, "bind %s: %d", bind_to, errno);
    size_t len = sizeof endpoint;
    CHECK(sinew_getsockopt(srv, SINEW_LAST_ENDPOINT, endpoint, &len) == 0, "endpoint");
    void *c = curve_client(ivl);
    uint8_t *seen = calloc((size_t) rounds, 1);
    CHECK(seen != NULL, "calloc");
    direct_rx rx[2] = {{srv, 0, seen}, {srv, 0, seen}};
    pthread_t th[2];
    for (int t = 0; t < 2; t++)
        CHECK(pthread_create(&th[t], NULL, direct_rx_main, &rx[t]) == 0, "thread");
    uint8_t *buf = malloc(MAX_SIZE);
    CHECK(buf != NULL, "malloc");
    for (uint32_t i = 0; i < (uint32_t) rounds; i++) {
        size_t n = msg_size(0, i);
        msg_fill(buf, n, 0, i);
        CHECK(sinew_send(c, buf, n, 0) == (int) n, "send: %d", errno);
        if (i % 8 == 7)
            usleep(2000); /* the receivers drain the pipe and wait on the connection */
    }
    free(buf);
    for (int t = 0; t < 2; t++)
        pthread_join(th[t], NULL);
    long missing = 0;
    for (long i = 0; i < rounds; i++)
        missing += !seen[i];
    CHECK(missing == 0 && rx[0].got + rx[1].got == rounds, "direct: %ld missing, %ld + %ld",
          missing, rx[0].got, rx[1].got);
    free(seen);
    CHECK(sinew_close(c) == 0 && sinew_close(srv) == 0, "close");
}

int
main(int argc, char **argv)
{
    if (argc > 1)
        rounds = atol(argv[1]);
    CHECK(rounds > 0, "usage: stress_curve [rounds]");
    check_watchdog(120);
    CHECK(sodium_init() >= 0, "sodium_init");
    crypto_box_keypair(server_pub, server_sec);
    ctx = sinew_ctx_new();
    CHECK(ctx != NULL, "ctx");
    run("tcp://127.0.0.1:*");
    run("ipc://*");
    run_direct("tcp://127.0.0.1:*");
    run_direct("ipc://*");
    CHECK(sinew_ctx_term(ctx) == 0, "ctx_term: %d", errno);
    printf("stress_curve: %ld rounds per sender, ok\n", rounds);
    return 0;
}
