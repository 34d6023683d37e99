/* PUB/SUB under threads and subscriber churn (plain C, for TSan): several threads publish
 * 3-part messages on one PUB and one XPUB (each socket shared by all of them) while
 * subscriber threads come and go over inproc, ipc and tcp as SUB or XSUB, subscribing
 * and unsubscribing as traffic flows; one thread reads the XPUB's subscription messages
 * and another calls sinew_wait_peers and sinew_socket_stats meanwhile. Checks that
 * every message arrives whole (three parts whose header and trailer agree), that a
 * subscriber gets only topics it subscribed to in its lifetime ("zz" nobody wants never
 * arrives), that each publisher's messages come in order (drops allowed: PUB never
 * blocks), that each subscriber incarnation receives something, that the XPUB reports
 * only real topics, one part each, and that the context terminates.
 * Usage: stress_pubsub [incarnations per subscriber thread] [watchdog seconds] */
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
#include "tsan/check.h"

#define PUBLISHERS 3
#define SUBSCRIBERS 4
#define NTOPICS 6

/* Published topics; subscriptions are prefixes: "news." takes two of them. */
static const char *const topics[NTOPICS] = {"news.a", "news.b", "sport", "weather", "x", "zz"};
static const char *const subs[] = {"news.", "sport", "weather"};
#define NSUBS (sizeof subs / sizeof subs[0])
static const char churn_topic[] = "x"; /* subscribed and cancelled over and over */

typedef struct header {
    uint32_t publisher; /* thread index */
    uint32_t socket;    /* 0: PUB, 1: XPUB */
    uint32_t topic;     /* index in topics */
    uint64_t seq;       /* per publisher and socket */
} header;

static void *ctx, *pubs[2];
static char eps[2][3][256]; /* [socket][inproc, ipc, tcp] */
static atomic_bool stop;
static atomic_long received;
static int incarnations = 6;

static void
set_int(void *s, int opt, int v)
{
    CHECK(sinew_setsockopt(s, opt, &v, sizeof v) == 0, "setsockopt %d", opt);
}

static void
pause_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

static void *
publisher(void *arg)
{
    uint32_t id = (uint32_t) (uintptr_t) arg;
    uint64_t seq[2] = {0, 0};
    for (uint32_t n = 0; !atomic_load(&stop); n++) {
        uint32_t which = n % 2, t = (n / 2 + id) % NTOPICS;
        header h = {id, which, t, seq[which]++};
        void *s = pubs[which];
        CHECK(sinew_send(s, topics[t], strlen(topics[t]), SINEW_SNDMORE) >= 0,
              "send topic: errno %d", errno);
        CHECK(sinew_send(s, &h, sizeof h, SINEW_SNDMORE) == sizeof h, "send header");
        CHECK(sinew_send(s, &h, sizeof h, 0) == sizeof h, "send trailer");
        if (n % 32 == 31)
            pause_us(200);
    }
    return NULL;
}

/* mine: bit i set when subs[i] is subscribed. */
static bool
wanted(const char *topic, size_t len, unsigned mine, bool churn_ever)
{
    for (size_t i = 0; i < NSUBS; i++)
        if ((mine >> i & 1) && len >= strlen(subs[i]) &&
            memcmp(topic, subs[i], strlen(subs[i])) == 0)
            return true;
    return churn_ever && len == 1 && topic[0] == churn_topic[0];
}

/* SUB takes subscriptions as options; XSUB as messages \x01topic / \x00topic. */
static void
subscribe(void *s, bool xsub, bool on, const char *topic)
{
    if (!xsub) {
        int opt = on ? SINEW_SUBSCRIBE : SINEW_UNSUBSCRIBE;
        CHECK(sinew_setsockopt(s, opt, topic, strlen(topic)) == 0, "subscribe");
        return;
    }
    char buf[32];
    size_t len = strlen(topic);
    buf[0] = on ? 1 : 0;
    memcpy(buf + 1, topic, len);
    CHECK(sinew_send(s, buf, len + 1, 0) == (int) len + 1, "xsub send: errno %d", errno);
}

/* Receives one whole message and checks it; false on timeout. */
static bool
take(void *s, unsigned mine, bool churn_ever, uint64_t next[2][PUBLISHERS])
{
    char topic[32];
    int len = sinew_recv(s, topic, sizeof topic, 0);
    if (len < 0) {
        CHECK(errno == EAGAIN, "recv topic: errno %d", errno);
        return false;
    }
    CHECK(len < (int) sizeof topic, "topic of %d bytes", len);
    CHECK(wanted(topic, (size_t) len, mine, churn_ever), "unsubscribed topic '%.*s'", len, topic);
    header h, tr;
    int more;
    size_t ml = sizeof more;
    CHECK(sinew_getsockopt(s, SINEW_RCVMORE, &more, &ml) == 0 && more, "topic alone");
    CHECK(sinew_recv(s, &h, sizeof h, 0) == sizeof h, "header: errno %d", errno);
    CHECK(sinew_getsockopt(s, SINEW_RCVMORE, &more, &ml) == 0 && more, "no trailer");
    CHECK(sinew_recv(s, &tr, sizeof tr, 0) == sizeof tr, "trailer: errno %d", errno);
    CHECK(sinew_getsockopt(s, SINEW_RCVMORE, &more, &ml) == 0 && !more, "fourth part");
    CHECK(memcmp(&h, &tr, sizeof h) == 0, "header and trailer differ");
    CHECK(h.publisher < PUBLISHERS && h.socket < 2 && h.topic < NTOPICS, "invented header");
    CHECK(strlen(topics[h.topic]) == (size_t) len &&
              memcmp(topics[h.topic], topic, (size_t) len) == 0,
          "topic '%.*s' under header of '%s'", len, topic, topics[h.topic]);
    CHECK(h.seq >= next[h.socket][h.publisher], "publisher %u: seq %llu after %llu",
          h.publisher, (unsigned long long) h.seq,
          (unsigned long long) next[h.socket][h.publisher]);
    next[h.socket][h.publisher] = h.seq + 1;
    atomic_fetch_add(&received, 1);
    return true;
}

/* One incarnation: connect, subscribe, read while flipping the churn topic, close. */
static void
incarnation(uint32_t id, int round)
{
    bool xsub = (id + (uint32_t) round) % 2;
    uint32_t which = (id / 2 + (uint32_t) round) % 2, tran = (id + (uint32_t) round) % 3;
    void *s = sinew_socket(ctx, xsub ? SINEW_XSUB : SINEW_SUB);
    CHECK(s != NULL, "socket");
    set_int(s, SINEW_RCVTIMEO, 100);
    set_int(s, SINEW_LINGER, 0);
    CHECK(sinew_connect(s, eps[which][tran]) == 0, "connect %s", eps[which][tran]);
    unsigned mine = 0;
    for (size_t i = 0; i < NSUBS; i++)
        if ((id + i) % 2 == 0 || i == id % NSUBS) { /* at least one per subscriber */
            subscribe(s, xsub, true, subs[i]);
            mine |= 1u << i;
        }
    uint64_t next[2][PUBLISHERS] = {{0}};
    bool churn_ever = false;
    int got = 0, idle = 0;
    for (int step = 0; got < 300 && idle < 50; step++) {
        if (step % 20 == 10) {
            bool on = (step / 20) % 2 == 0;
            churn_ever |= on;
            subscribe(s, xsub, on, churn_topic);
        }
        if (take(s, mine, churn_ever, next))
            got++;
        else
            idle++;
    }
    CHECK(got > 0, "subscriber %u round %d (%s over %s) got nothing", id, round,
          xsub ? "XSUB" : "SUB", eps[which][tran]);
    CHECK(sinew_close(s) == 0, "close");
}

static void *
subscriber(void *arg)
{
    uint32_t id = (uint32_t) (uintptr_t) arg;
    for (int round = 0; round < incarnations; round++)
        incarnation(id, round);
    return NULL;
}

/* The XPUB's subscription messages: one part, \x01 or \x00 then a topic someone uses. */
static void *
xpub_reader(void *arg)
{
    (void) arg;
    while (!atomic_load(&stop)) {
        char buf[32];
        int len = sinew_recv(pubs[1], buf, sizeof buf, 0);
        if (len < 0) {
            CHECK(errno == EAGAIN, "xpub recv: errno %d", errno);
            continue;
        }
        CHECK(len >= 1 && len < (int) sizeof buf && (buf[0] == 0 || buf[0] == 1),
              "xpub: bad subscription message of %d bytes", len);
        bool known = len - 1 == 1 && buf[1] == churn_topic[0];
        for (size_t i = 0; i < NSUBS; i++)
            known |= (size_t) len - 1 == strlen(subs[i]) &&
                     memcmp(buf + 1, subs[i], (size_t) len - 1) == 0;
        CHECK(known, "xpub: invented topic '%.*s'", len - 1, buf + 1);
        int more;
        size_t ml = sizeof more;
        CHECK(sinew_getsockopt(pubs[1], SINEW_RCVMORE, &more, &ml) == 0 && !more,
              "xpub: multipart subscription");
    }
    return NULL;
}

static void *
watcher(void *arg)
{
    (void) arg;
    uint64_t last_out[2] = {0, 0};
    while (!atomic_load(&stop)) {
        for (int i = 0; i < 2; i++) {
            sinew_socket_stats_t st;
            CHECK(sinew_socket_stats(pubs[i], &st) == 0, "stats");
            CHECK(st.msgs_out >= last_out[i], "msgs_out went back");
            last_out[i] = st.msgs_out;
            int rc = sinew_wait_peers(pubs[i], 1, 5);
            CHECK(rc >= 1 || (rc == -1 && errno == EAGAIN), "wait_peers: %d errno %d", rc,
                  errno);
        }
        pause_us(1000);
    }
    return NULL;
}

static void
bind_all(int which, int type)
{
    void *s = pubs[which] = sinew_socket(ctx, type);
    CHECK(s != NULL, "socket");
    set_int(s, SINEW_LINGER, 0);
    if (type == SINEW_XPUB)
        set_int(s, SINEW_RCVTIMEO, 100);
    snprintf(eps[which][0], sizeof eps[which][0], "inproc://stress-pubsub-%d", which);
    snprintf(eps[which][1], sizeof eps[which][1], "ipc:///tmp/sinew-stress-pubsub-%d-%d",
             (int) getpid(), which);
    for (int t = 0; t < 3; t++) {
        const char *ep = t == 2 ? "tcp://127.0.0.1:*" : eps[which][t];
        CHECK(sinew_bind(s, ep) == 0, "bind %s: errno %d", ep, errno);
    }
    size_t len = sizeof eps[which][2];
    CHECK(sinew_getsockopt(s, SINEW_LAST_ENDPOINT, eps[which][2], &len) == 0, "endpoint");
}

int
main(int argc, char **argv)
{
    if (argc > 1)
        incarnations = atoi(argv[1]);
    check_watchdog(argc > 2 ? (unsigned) atoi(argv[2]) : 60);
    ctx = sinew_ctx_new();
    CHECK(ctx != NULL, "ctx");
    bind_all(0, SINEW_PUB);
    bind_all(1, SINEW_XPUB);
    pthread_t pt[PUBLISHERS], st[SUBSCRIBERS], xr, w;
    for (uintptr_t i = 0; i < PUBLISHERS; i++)
        pthread_create(&pt[i], NULL, publisher, (void *) i);
    pthread_create(&xr, NULL, xpub_reader, NULL);
    pthread_create(&w, NULL, watcher, NULL);
    for (uintptr_t i = 0; i < SUBSCRIBERS; i++)
        pthread_create(&st[i], NULL, subscriber, (void *) i);
    for (int i = 0; i < SUBSCRIBERS; i++)
        pthread_join(st[i], NULL);
    atomic_store(&stop, true);
    for (int i = 0; i < PUBLISHERS; i++)
        pthread_join(pt[i], NULL);
    pthread_join(xr, NULL);
    pthread_join(w, NULL);
    for (int i = 0; i < 2; i++)
        CHECK(sinew_close(pubs[i]) == 0, "close");
    CHECK(sinew_ctx_term(ctx) == 0, "term");
    for (int i = 0; i < 2; i++)
        unlink(eps[i][1] + strlen("ipc://"));
    printf("ok: %d publishers on PUB and XPUB, %d subscriber threads x %d incarnations "
           "(SUB/XSUB over inproc, ipc, tcp), %ld messages checked\n",
           PUBLISHERS, SUBSCRIBERS, incarnations, atomic_load(&received));
    return 0;
}
