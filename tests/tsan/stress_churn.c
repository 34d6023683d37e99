/* Hostile connection churn, a plain program so it also runs under ThreadSanitizer
 * (Criterion cannot start under TSan). Over tcp and ipc at once, in one context with two
 * I/O threads:
 *
 *   - sinew servers (PULL, REP, PAIR) are bound and served by several application
 *     threads each (blocking, so borrowing a connection's input when there is one
 *     peer; DONTWAIT with sinew_poll; SINEW_READY_FD); the REP and PAIR send PINGs
 *     every 10 ms;
 *   - raw clients (plain sockets) connect to them and misbehave: close or reset at once,
 *     complete the handshake and close right after it (issue 9, defect 9: the pipe
 *     reaches the socket while the I/O thread already lets go of it), send a message
 *     and reset, cut a multipart message mid-frame, send garbage, stall mid-greeting,
 *     go silent after the handshake, announce an incompatible socket type, send an
 *     oversized frame, a PING, or a message a byte at a time;
 *   - well-behaved sinew peers (PUSH, REQ, PAIR) connect, disconnect and close while
 *     traffic flows, one of them while another thread still sends on the socket;
 *   - a PULL with RCVHWM 5 and a slow reader gets bursts from raw peers that then
 *     close, and from lingering PUSH peers: its engines stop at the HWM and the reader
 *     decodes on itself as it makes room;
 *   - sinew PUSH, PULL, REQ and PAIR sockets connect (RECONNECT_IVL 2 ms) to a raw
 *     listener that resets every connection it accepts, before, during or right after
 *     the handshake, sometimes after a message or half of one;
 *   - bound sockets are closed while connections wait to be accepted;
 *   - a monitor reports on one server throughout.
 *
 * Checked: no message is corrupted, duplicated or delivered in part (every payload is
 * self-describing: well-behaved peers send numbered, checksummed messages; raw peers
 * send known constants, and the first part of a message they cut must never arrive);
 * REQ replies match their requests; the slow PULL gets every message of its peers
 * (what a peer sent before closing is not lost); the process survives (SIGPIPE at its
 * default);
 * afterwards each server still does a clean round trip, ctx_term returns and no
 * descriptor is left open. A watchdog fails the run if anything hangs.
 *
 * Usage: stress_churn [rounds [seconds [seed]]]: rounds is the number of connections
 * each hostile client makes per server (default 60, for make check); the churn stops
 * early, without failing, after `seconds` (default 60); the watchdog fires 120 s after
 * that. Exit status 0 on success; each failure prints what went wrong. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sinew.h"
#include "check.h"
#include "support/zmtp_peer.h"

#define MAXMSG 100000     /* servers' SINEW_MAXMSGSIZE: the oversized frame exceeds it */
#define BIG 70000         /* largest well-behaved message (past a 64 KiB read) */
#define STALLS 8          /* stalled connections a hostile client holds at once */
#define REQ_WAIT_MS 15000 /* a well-behaved request unanswered this long fails */
#define FINAL_WAIT_MS 10000 /* for each final round trip */

static long rounds = 60;
static int limit_s = 60;
static uint64_t seed0;
static uint64_t soft_deadline; /* ms: finite churn stops here */
static void *ctx;
static atomic_bool over; /* the finite churn is done: loops stop */
static char ipc_dir[64];

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static bool
past_deadline(void)
{
    return now_ms() >= soft_deadline;
}

/* Pacing only (never to wait for something to happen). */
static void
pause_us(long us)
{
    nanosleep(&(struct timespec){.tv_sec = us / 1000000, .tv_nsec = us % 1000000 * 1000},
              NULL);
}

static uint32_t
rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (uint32_t) (*s >> 32);
}

static uint64_t
thread_seed(const void *who)
{
    uint64_t s = seed0 ^ ((uint64_t) (uintptr_t) who * 0x9e3779b97f4a7c15u);
    return s != 0 ? s : 1;
}

static void
set(void *s, int opt, int v)
{
    CHECK(sinew_setsockopt(s, opt, &v, sizeof v) == 0, "setsockopt %d: errno %d", opt,
          errno);
}

static void
set64(void *s, int opt, int64_t v)
{
    CHECK(sinew_setsockopt(s, opt, &v, sizeof v) == 0, "setsockopt %d: errno %d", opt,
          errno);
}

static void *
sock(int type)
{
    void *s = sinew_socket(ctx, type);
    CHECK(s != NULL, "socket %d: errno %d", type, errno);
    return s;
}

/* ---- payloads ----------------------------------------------------------------------
 * Well-behaved peers send numbered messages: magic, length, id, then bytes derived from
 * the id, so a receiver can tell a whole, uncorrupted one. Ids are unique in the run:
 * every receiving server marks the ids it sees, and a second sighting is a duplicate.
 * Raw peers send known constants. */

#define TAG_MAGIC 0x4e524843u /* "CHRN" */
#define TAG_HDR 16
#define IDS (1u << 22)

static _Atomic uint64_t next_id;
static uint8_t *seen; /* IDS flags */

static size_t
tag_len(uint64_t id)
{
    if (id % 397 == 396)
        return BIG;
    if (id % 61 == 60)
        return 9000 + id % 7; /* past the engine's copy limit: written from its buffer */
    return TAG_HDR + id % 48;
}

static uint8_t
tag_byte(uint64_t id, size_t k)
{
    return (uint8_t) (id * 131 + k * 7 + (k >> 8));
}

/* A new numbered message in buf (BIG bytes): its length, or 0 when ids ran out. */
static size_t
tag_new(uint8_t *buf, uint64_t *idp)
{
    uint64_t id = atomic_fetch_add(&next_id, 1);
    if (id >= IDS)
        return 0;
    size_t len = tag_len(id);
    uint32_t magic = TAG_MAGIC, l32 = (uint32_t) len;
    memcpy(buf, &magic, 4);
    memcpy(buf + 4, &l32, 4);
    memcpy(buf + 8, &id, 8);
    for (size_t k = TAG_HDR; k < len; k++)
        buf[k] = tag_byte(id, k);
    if (idp != NULL)
        *idp = id;
    return len;
}

/* 1: a whole numbered message (id set); 0: not one; -1: one, damaged. */
static int
tag_parse(const uint8_t *d, size_t n, uint64_t *id)
{
    uint32_t magic, l32;
    if (n < TAG_HDR)
        return 0;
    memcpy(&magic, d, 4);
    if (magic != TAG_MAGIC)
        return 0;
    memcpy(&l32, d + 4, 4);
    memcpy(id, d + 8, 8);
    if (l32 != n || *id >= IDS || tag_len(*id) != n)
        return -1;
    for (size_t k = TAG_HDR; k < n; k++)
        if (d[k] != tag_byte(*id, k))
            return -1;
    return 1;
}

static bool
is(const uint8_t *d, size_t n, const char *s)
{
    return n == strlen(s) && memcmp(d, s, n) == 0;
}

/* A receiving thread's view of the message it is in the middle of. */
typedef struct rx {
    const char *who;
    const char *expect; /* the part that must come next, or NULL at a message start */
    atomic_long *tagged, *raw; /* counters */
} rx;

/* Checks one received part: a numbered message (marked seen if record), a raw peer's
 * constant, or the second part of a two-part one. Anything else fails the run. Returns
 * true at the end of a message. */
static bool
check_part(rx *r, sinew_msg_t *m, bool record)
{
    const uint8_t *d = sinew_msg_data(m);
    size_t n = sinew_msg_size(m);
    bool more = sinew_msg_more(m);
    if (r->expect != NULL) {
        CHECK(
            is(d, n, r->expect) && !more,
            "%s: a two-part message came apart: %zu bytes (more %d) after its first part",
            r->who, n, more);
        r->expect = NULL;
        atomic_fetch_add(r->raw, 1);
        return true;
    }
    uint64_t id;
    int t = tag_parse(d, n, &id);
    CHECK(t >= 0, "%s: numbered message %llu corrupted (%zu bytes)", r->who,
          (unsigned long long) id, n);
    if (t == 1) {
        CHECK(!more, "%s: message %llu arrived with MORE set", r->who,
              (unsigned long long) id);
        if (record)
            CHECK(__atomic_exchange_n(&seen[id], 1, __ATOMIC_RELAXED) == 0,
                  "%s: message %llu delivered twice", r->who, (unsigned long long) id);
        atomic_fetch_add(r->tagged, 1);
        return true;
    }
    CHECK(!is(d, n, "raw-cut") && !is(d, n, "rl-cut"),
          "%s: the first part of a message cut by a reset was delivered", r->who);
    CHECK(!is(d, n, "raw-b") && !is(d, n, "rl-b"),
          "%s: the second part of a two-part message arrived alone", r->who);
    if (more && (is(d, n, "raw-a") || is(d, n, "rl-a"))) {
        r->expect = d[1] == 'a' ? "raw-b" : "rl-b";
        return false;
    }
    CHECK(!more && (is(d, n, "raw-msg") || is(d, n, "rl-msg") || is(d, n, "rl-rep")),
          "%s: unknown or corrupted message: %zu bytes, more %d, starting %02x %02x %02x",
          r->who, n, more, n > 0 ? d[0] : 0, n > 1 ? d[1] : 0, n > 2 ? d[2] : 0);
    atomic_fetch_add(r->raw, 1);
    return true;
}

/* Receives one part from s and checks it (check_part); nothing to receive within the
 * timeout is fine (EAGAIN), any other failure fails the run. True if a part came. */
static bool
recv_checked(rx *r, void *s, int flags, bool record)
{
    sinew_msg_t m;
    sinew_msg_init(&m);
    bool got = sinew_msg_recv(&m, s, flags) >= 0;
    if (got)
        check_part(r, &m, record);
    else
        CHECK(errno == EAGAIN, "%s: recv: errno %d", r->who, errno);
    sinew_msg_close(&m);
    return got;
}

/* ---- one transport's arena -------------------------------------------------------- */

enum {
    C_HOSTILE,     /* raw connections made */
    C_HOSTILE_ERR, /* raw connects that failed (backlog full...) */
    C_TAGGED,      /* numbered messages received by servers */
    C_RAW,         /* raw peers' messages received by servers */
    C_SENT,        /* numbered messages sent by well-behaved PUSH peers */
    C_ROUNDTRIPS,  /* REQ round trips of well-behaved peers */
    C_PAIR_RX,     /* messages received by well-behaved PAIR peers */
    C_RL_ACCEPTED, /* connections the resetting listener accepted */
    C_RL_HANDSHAKES,
    C_CONN_RX,   /* messages the connecting sockets received from it */
    C_CONN_REQS, /* REQ sockets made against it */
    C_BINDERS,   /* bound sockets closed with connections waiting */
    C_EVENTS,    /* monitor events */
    C_SLOW_RAW, C_SLOW_TAGGED,           /* messages the slow PULL received... */
    C_SLOW_WANT_RAW, C_SLOW_WANT_TAGGED, /* ...and must receive */
    C_SLOW_UNSURE, /* raw messages that may or may not come (handshake not seen) */
    C_COUNT
};

typedef struct arena arena;

typedef struct server_thread {
    arena *a;
    void *s;
    int type, mode;
    char who[48];
} server_thread;

typedef struct hostile {
    arena *a;
    const char *ep;
    const char *peer_type; /* a type the server accepts */
    bool envelope;         /* REP server: messages start with an empty delimiter */
} hostile;

struct arena {
    const char *tr; /* "tcp" or "ipc" */
    char pull_ep[128], rep_ep[128], pair_ep[128], slow_ep[128], reset_ep[128], mon_ep[64];
    void *pull, *rep, *pair, *slow;
    int reset_lfd;
    atomic_bool servers_closed;
    bool stopped_seen; /* the monitor's MONITOR_STOPPED arrived */
    atomic_long c[C_COUNT];
    pthread_t finite[16], loops[16], monitor;
    int nfinite, nloops;
    server_thread servers[8];
    int nservers;
    hostile hostiles[3];
};

static void
start(arena *a, bool finite, void *(*fn)(void *), void *arg)
{
    CHECK(a->nfinite < 16 && a->nloops < 16, "too many threads");
    pthread_t *t = finite ? &a->finite[a->nfinite++] : &a->loops[a->nloops++];
    CHECK(pthread_create(t, NULL, fn, arg) == 0, "pthread_create");
}

static void
bind_at(arena *a, void *s, const char *name, char *ep, size_t len)
{
    if (strcmp(a->tr, "tcp") == 0) {
        CHECK(sinew_bind(s, "tcp://127.0.0.1:*") == 0, "bind tcp: errno %d", errno);
        CHECK(sinew_getsockopt(s, SINEW_LAST_ENDPOINT, ep, &len) == 0, "last endpoint");
    } else {
        snprintf(ep, len, "ipc://%s/%s", ipc_dir, name);
        CHECK(sinew_bind(s, ep) == 0, "bind %s: errno %d", ep, errno);
    }
}

/* ---- raw sockets ------------------------------------------------------------------ */

static bool
raw_addr(const char *ep, struct sockaddr_storage *ss, socklen_t *sl)
{
    memset(ss, 0, sizeof *ss);
    if (strncmp(ep, "tcp://", 6) == 0) {
        struct sockaddr_in *sa = (struct sockaddr_in *) ss;
        const char *colon = strrchr(ep, ':');
        sa->sin_family = AF_INET;
        sa->sin_port = htons((uint16_t) atoi(colon + 1));
        sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *sl = sizeof *sa;
        return true;
    }
    struct sockaddr_un *sa = (struct sockaddr_un *) ss;
    sa->sun_family = AF_UNIX;
    snprintf(sa->sun_path, sizeof sa->sun_path, "%s", ep + 6);
    *sl = sizeof *sa;
    return true;
}

/* Like zp_connect, but gives up after a second instead of blocking on a full backlog. */
static int
raw_connect(const char *ep)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    raw_addr(ep, &ss, &sl);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *) &ss, sl) < 0) {
        int err = errno;
        if (err != EINPROGRESS) {
            close(fd);
            return -err;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        socklen_t el = sizeof err;
        if (poll(&p, 1, 1000) != 1 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) {
            close(fd);
            return -ETIMEDOUT;
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

static int
raw_listen(arena *a)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (strcmp(a->tr, "tcp") == 0) {
        raw_addr("tcp://127.0.0.1:0", &ss, &sl);
    } else {
        snprintf(a->reset_ep, sizeof a->reset_ep, "ipc://%s/reset", ipc_dir);
        raw_addr(a->reset_ep, &ss, &sl);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0, "socket: errno %d", errno);
    CHECK(bind(fd, (struct sockaddr *) &ss, sl) == 0, "raw bind: errno %d", errno);
    CHECK(listen(fd, 128) == 0, "listen: errno %d", errno);
    if (strcmp(a->tr, "tcp") == 0) {
        struct sockaddr_in sa;
        socklen_t len = sizeof sa;
        CHECK(getsockname(fd, (struct sockaddr *) &sa, &len) == 0, "getsockname");
        snprintf(a->reset_ep, sizeof a->reset_ep, "tcp://127.0.0.1:%d",
                 ntohs(sa.sin_port));
    }
    return fd;
}

/* A short frame (body < 256 bytes). */
static size_t
frame(uint8_t *out, bool more, const char *body)
{
    size_t n = strlen(body);
    out[0] = more ? 0x01 : 0x00;
    out[1] = (uint8_t) n;
    memcpy(out + 2, body, n);
    return 2 + n;
}

/* Greeting and READY announcing `type`. */
static size_t
hello(uint8_t *out, const char *type)
{
    memcpy(out, zp_greeting, sizeof zp_greeting);
    return sizeof zp_greeting + zp_ready(out + sizeof zp_greeting, type);
}

/* ---- servers ----------------------------------------------------------------------- */

enum { M_BLOCK, M_POLL, M_READY_FD };

static void *
server_run(void *arg)
{
    server_thread *t = arg;
    arena *a = t->a;
    rx r = {.who = t->who, .tagged = &a->c[C_TAGGED], .raw = &a->c[C_RAW]};
    uint64_t seed = thread_seed(t);
    uint8_t *buf = t->type == SINEW_PAIR && t->mode == M_POLL ? malloc(BIG) : NULL;
    int ready_fd = -1;
    if (t->mode == M_READY_FD) {
        size_t len = sizeof ready_fd;
        CHECK(sinew_getsockopt(t->s, SINEW_READY_FD, &ready_fd, &len) == 0, "READY_FD");
    }
    /* A message in progress is finished even after the end was called: a server left
     * mid-message would hand its rest to the final round trip. */
    while (!atomic_load(&over) || r.expect != NULL) {
        int flags = 0;
        if (t->mode == M_POLL) {
            sinew_pollitem_t it = {.socket = t->s, .events = SINEW_POLLIN};
            CHECK(sinew_poll(&it, 1, 20) >= 0, "%s: poll: errno %d", t->who, errno);
            flags = SINEW_DONTWAIT;
        } else if (t->mode == M_READY_FD) {
            struct pollfd p = {.fd = ready_fd, .events = POLLIN};
            poll(&p, 1, 20);
            flags = SINEW_DONTWAIT;
        }
        if (buf != NULL && rnd(&seed) % 4 == 0) {
            /* The PAIR server also talks first, to whoever is attached. */
            size_t len = tag_new(buf, NULL);
            if (len > 0)
                sinew_send(t->s, buf, len, SINEW_DONTWAIT);
        }
        sinew_msg_t m;
        sinew_msg_init(&m);
        if (sinew_msg_recv(&m, t->s, r.expect != NULL ? 0 : flags) < 0) {
            int e = errno;
            sinew_msg_close(&m);
            CHECK(e == EAGAIN || e == EFSM, "%s: recv: errno %d", t->who, e);
            if (e == EFSM)
                sched_yield(); /* another thread owes the reply */
            continue;
        }
        bool whole = r.expect == NULL; /* a first part: if it is the end, a whole one */
        bool end = check_part(&r, &m, true);
        if (end && t->type == SINEW_REP) {
            /* Echo the last part: a well-behaved REQ checks it is its own request. */
            CHECK(sinew_msg_send(&m, t->s, 0) >= 0, "%s: reply: errno %d", t->who, errno);
        } else if (end && whole && t->type == SINEW_PAIR) {
            if (sinew_msg_send(&m, t->s, SINEW_DONTWAIT) < 0)
                sinew_msg_close(&m); /* the peer left or is full: fine */
        } else {
            sinew_msg_close(&m);
        }
    }
    free(buf);
    return NULL;
}

static void
serve(arena *a, void *s, int type, int mode, const char *name)
{
    CHECK(a->nservers < 8, "too many server threads");
    server_thread *t = &a->servers[a->nservers++];
    *t = (server_thread){.a = a, .s = s, .type = type, .mode = mode};
    snprintf(t->who, sizeof t->who, "%s %s server", a->tr, name);
    start(a, false, server_run, t);
}

static void *
server(arena *a, int type, const char *name, char *ep, size_t len)
{
    void *s = sock(type);
    set(s, SINEW_LINGER, 0);
    set(s, SINEW_RCVTIMEO, 50);
    set(s, SINEW_SNDTIMEO, 50);
    /* Stalled peers are dropped by the server too; but not on a slow machine (TSan) the
     * peers whose every message is checked: a REQ's request is lost with a connection
     * that drops after the REQ's side of the handshake, and so are the slow PULL's. */
    bool checked = type == SINEW_REP || strcmp(name, "slow") == 0;
    set(s, SINEW_HANDSHAKE_IVL, checked ? 5000 : 250);
    if (type != SINEW_PULL) {
        /* PINGs every 10 ms while threads borrow the input and peers reset. The PAIR
         * drops peers that stop answering; the REP must not drop a slow REQ. */
        set(s, SINEW_HEARTBEAT_IVL, 10);
        set(s, SINEW_HEARTBEAT_TIMEOUT, type == SINEW_PAIR ? 1000 : 5000);
    }
    set64(s, SINEW_MAXMSGSIZE, MAXMSG);
    bind_at(a, s, name, ep, len);
    return s;
}

/* ---- hostile raw clients ----------------------------------------------------------- */

enum {
    H_CLOSE,           /* connect, close */
    H_RESET,           /* connect, reset */
    H_HANDSHAKE_CLOSE, /* handshake both ways, close right after it (defect 9) */
    H_HANDSHAKE_DROP,  /* greeting + READY, close without waiting */
    H_MESSAGE_RESET,   /* handshake and a message, reset at once */
    H_MESSAGE_WAIT,    /* handshake and a message, read the answer, reset */
    H_CUT,             /* handshake, half a multipart message, reset */
    H_GARBAGE,         /* bytes that are not ZMTP */
    H_BAD_FRAME,       /* handshake, then a frame with reserved flag bits */
    H_STALL,           /* part of a greeting, then silence */
    H_WRONG_TYPE,      /* READY with a socket type the server refuses */
    H_OVERSIZE,        /* handshake, then a frame larger than MAXMSGSIZE */
    H_TRICKLE,         /* handshake, then a message a byte at a time, then close */
    H_PING,            /* handshake, a PING, a message, read (PONG...), reset */
    H_SILENT,          /* handshake, then silence (no PONG to the server's PINGs) */
    H_COUNT
};

/* Keeps fd open a while (a stalled or silent peer), letting an older one go. */
static void
hold(int *held, int *nheld, int fd, uint64_t *seed)
{
    if (*nheld == STALLS) {
        int k = (int) (rnd(seed) % STALLS);
        if (rnd(seed) % 2)
            close(held[k]);
        else
            zp_reset(held[k]);
        held[k] = held[--*nheld];
    }
    held[(*nheld)++] = fd;
}

static void *
hostile_run(void *arg)
{
    hostile *h = arg;
    arena *a = h->a;
    uint64_t seed = thread_seed(h);
    int stalled[STALLS]; /* stalled and silent peers */
    int nstalled = 0;
    uint8_t out[1024];
    for (long i = 0; i < rounds && !past_deadline(); i++) {
        int kind = (int) (rnd(&seed) % H_COUNT);
        int fd = raw_connect(h->ep);
        if (fd < 0) {
            atomic_fetch_add(&a->c[C_HOSTILE_ERR], 1);
            continue;
        }
        atomic_fetch_add(&a->c[C_HOSTILE], 1);
        size_t n = 0;
        if (kind != H_CLOSE && kind != H_RESET && kind != H_GARBAGE && kind != H_STALL)
            n = hello(out, kind == H_WRONG_TYPE ? "PUB" : h->peer_type);
        size_t hello_len = n;
        if (kind == H_PING) {
            static const uint8_t ping[] = {0x04, 10,  4,  'P', 'I', 'N',
                                           'G',  0,   10, 'c', 't', 'x'};
            memcpy(out + n, ping, sizeof ping);
            n += sizeof ping;
        }
        if (kind == H_MESSAGE_RESET || kind == H_MESSAGE_WAIT || kind == H_CUT ||
            kind == H_TRICKLE || kind == H_PING) {
            if (h->envelope)
                n += frame(out + n, true, "");
            if (kind == H_CUT) {
                n += frame(out + n, true, "raw-cut");
                out[n++] = 0x00;
                out[n++] = 200; /* a 200-byte last part, of which 10 bytes come */
                memset(out + n, 'x', 10);
                n += 10;
            } else if (rnd(&seed) % 2) {
                n += frame(out + n, false, "raw-msg");
            } else {
                n += frame(out + n, true, "raw-a");
                n += frame(out + n, false, "raw-b");
            }
        }
        switch (kind) {
        case H_CLOSE:
            close(fd);
            break;
        case H_RESET:
            zp_reset(fd);
            break;
        case H_HANDSHAKE_CLOSE:
            zp_send_all(fd, out, n);
            zp_read_handshake(fd, 1000);
            close(fd);
            break;
        case H_HANDSHAKE_DROP:
            zp_send_all(fd, out, n);
            if (rnd(&seed) % 2)
                close(fd);
            else
                zp_reset(fd);
            break;
        case H_MESSAGE_RESET:
        case H_CUT:
            zp_send_all(fd, out, n);
            if (rnd(&seed) % 2)
                zp_read_handshake(fd, 1000); /* the server is past its handshake */
            zp_reset(fd);
            break;
        case H_MESSAGE_WAIT: {
            zp_send_all(fd, out, n);
            zp_read_handshake(fd, 1000);
            uint8_t in[64];
            zp_read_exact(fd, in, sizeof in, 20); /* a REP's answer, a PAIR's echo... */
            zp_reset(fd);
            break;
        }
        case H_GARBAGE: {
            size_t len = 1 + rnd(&seed) % 300;
            for (size_t k = 0; k < len; k++)
                out[k] = (uint8_t) rnd(&seed);
            if (rnd(&seed) % 2)
                out[0] = 0xff; /* past the first signature byte, at least */
            zp_send_all(fd, out, len);
            if (rnd(&seed) % 2)
                zp_read_exact(fd, out, 64, 20);
            close(fd);
            break;
        }
        case H_BAD_FRAME:
            out[n++] = 0x40 | (uint8_t) (rnd(&seed) % 2); /* a reserved bit set */
            out[n++] = 3;
            memcpy(out + n, "bad", 3);
            n += 3;
            zp_send_all(fd, out, n);
            zp_read_exact(fd, out, sizeof out, 50); /* the server ends it */
            close(fd);
            break;
        case H_STALL:
            zp_send_all(fd, zp_greeting, 1 + rnd(&seed) % 63);
            hold(stalled, &nstalled, fd, &seed);
            break;
        case H_SILENT:
            zp_send_all(fd, out, n);
            zp_read_handshake(fd, 1000);
            hold(stalled, &nstalled, fd, &seed);
            break;
        case H_TRICKLE: {
            /* A receiving thread that borrowed the connection's input gets the frame
             * in pieces (and keeps the input until it is whole). */
            bool ok = zp_send_all(fd, out, hello_len) == 0;
            for (size_t k = hello_len; ok && k < n; k++) {
                ok = zp_send_all(fd, out + k, 1) == 0;
                pause_us(200);
            }
            if (rnd(&seed) % 2)
                close(fd);
            else
                zp_reset(fd);
            break;
        }
        case H_PING:
            zp_send_all(fd, out, n);
            zp_read_exact(fd, out, sizeof out, 30); /* handshake, PONG, perhaps more */
            zp_reset(fd);
            break;
        case H_WRONG_TYPE:
            zp_send_all(fd, out, n);
            zp_read_exact(fd, out, sizeof out, 50); /* greeting, ERROR, then the end */
            close(fd);
            break;
        case H_OVERSIZE:
            out[n++] = 0x02; /* long frame */
            for (int k = 7; k >= 0; k--)
                out[n++] = (uint8_t) (((uint64_t) MAXMSG * 10) >> (8 * k));
            memset(out + n, 'o', 100);
            n += 100;
            zp_send_all(fd, out, n);
            zp_read_exact(fd, out, sizeof out, 50);
            zp_reset(fd);
            break;
        }
    }
    for (int k = 0; k < nstalled; k++)
        close(stalled[k]);
    return NULL;
}

/* ---- well-behaved peers ------------------------------------------------------------ */

static long
sessions(void)
{
    return rounds / 4 > 4 ? rounds / 4 : 4;
}

typedef struct cosend {
    arena *a;
    void *s;
} cosend;

/* Sends on a socket another thread is about to close, until the handle is refused. */
static void *
cosend_run(void *arg)
{
    cosend *c = arg;
    uint8_t *buf = malloc(BIG);
    CHECK(buf != NULL, "malloc");
    uint64_t seed = thread_seed(c);
    for (int i = 0; i < 100000; i++) {
        size_t len = tag_new(buf, NULL);
        if (len == 0)
            break;
        int rc = sinew_send(c->s, buf, len, rnd(&seed) % 2 ? SINEW_DONTWAIT : 0);
        if (rc < 0 && errno == ENOTSOCK)
            break;
        CHECK(rc == (int) len || errno == EAGAIN, "co-sender: errno %d", errno);
        if (rc == (int) len)
            atomic_fetch_add(&c->a->c[C_SENT], 1);
        pause_us(50);
    }
    free(buf);
    return NULL;
}

static void *
push_peer_run(void *arg)
{
    arena *a = arg;
    uint64_t seed = thread_seed(&a->pull);
    uint8_t *buf = malloc(BIG);
    CHECK(buf != NULL, "malloc");
    for (long i = 0; i < sessions() && !past_deadline(); i++) {
        void *s = sock(SINEW_PUSH);
        set(s, SINEW_LINGER, i % 3 == 0 ? 0 : 200);
        set(s, SINEW_SNDTIMEO, 200);
        CHECK(sinew_connect(s, a->pull_ep) == 0, "connect: errno %d", errno);
        pthread_t co;
        cosend cs = {a, s};
        bool with_co = i % 4 == 1;
        if (with_co)
            CHECK(pthread_create(&co, NULL, cosend_run, &cs) == 0, "pthread_create");
        int n = 1 + (int) (rnd(&seed) % 30);
        for (int j = 0; j < n; j++) {
            size_t len = tag_new(buf, NULL);
            if (len == 0)
                break;
            int rc = sinew_send(s, buf, len, j % 2 ? SINEW_DONTWAIT : 0);
            CHECK(rc == (int) len || errno == EAGAIN, "PUSH peer: errno %d", errno);
            if (rc == (int) len)
                atomic_fetch_add(&a->c[C_SENT], 1);
            if (i % 3 == 2 && j == n / 2) {
                /* Disconnect and connect again while messages flow. */
                CHECK(sinew_disconnect(s, a->pull_ep) == 0, "disconnect: errno %d",
                      errno);
                CHECK(sinew_connect(s, a->pull_ep) == 0, "connect: errno %d", errno);
            }
        }
        if (with_co)
            pause_us(rnd(&seed) % 2000);
        /* The co-sender may be inside the socket just now. */
        CHECK(sinew_close(s) == 0, "close: errno %d", errno);
        if (with_co)
            pthread_join(co, NULL);
    }
    free(buf);
    return NULL;
}

static void *
req_peer_run(void *arg)
{
    arena *a = arg;
    uint64_t seed = thread_seed(&a->rep);
    uint8_t *buf = malloc(BIG);
    CHECK(buf != NULL, "malloc");
    for (long i = 0; i < sessions() && !past_deadline(); i++) {
        void *s = sock(SINEW_REQ);
        set(s, SINEW_LINGER, 0);
        set(s, SINEW_RCVTIMEO, REQ_WAIT_MS);
        set(s, SINEW_SNDTIMEO, REQ_WAIT_MS);
        set(s, SINEW_HEARTBEAT_IVL, 10);
        set(s, SINEW_HEARTBEAT_TIMEOUT, 5000);
        CHECK(sinew_connect(s, a->rep_ep) == 0, "connect: errno %d", errno);
        int n = 1 + (int) (rnd(&seed) % 8);
        for (int j = 0; j < n; j++) {
            uint64_t id;
            size_t len = tag_new(buf, &id);
            if (len == 0)
                break;
            CHECK(sinew_send(s, buf, len, 0) == (int) len, "%s REQ: send: errno %d",
                  a->tr, errno);
            sinew_msg_t m;
            sinew_msg_init(&m);
            if (sinew_msg_recv(&m, s, 0) < 0) {
                /* Lost, unless the connection dropped after taking it (the REP server
                 * waits long for handshakes so that it does not drop it). */
                int e = errno;
                uint64_t dropped = 0;
                size_t dl = sizeof dropped;
                sinew_getsockopt(a->rep, SINEW_MSGS_DROPPED, &dropped, &dl);
                CHECK(false,
                      "%s REQ: request %llu (%zu bytes, session %ld, round trip %d%s) "
                      "unanswered for %d ms (errno %d); the REP %s it; REP drops so "
                      "far: %llu",
                      a->tr, (unsigned long long) id, len, i, j,
                      i % 4 == 3 && j > n / 2 ? ", after a reconnect" : "", REQ_WAIT_MS,
                      e,
                      __atomic_load_n(&seen[id], __ATOMIC_RELAXED) ? "answered"
                                                                   : "never got",
                      (unsigned long long) dropped);
            }
            CHECK(sinew_msg_size(&m) == len &&
                      memcmp(sinew_msg_data(&m), buf, len) == 0 && !sinew_msg_more(&m),
                  "%s REQ: the reply to %llu is not its request (%zu bytes)", a->tr,
                  (unsigned long long) id, sinew_msg_size(&m));
            sinew_msg_close(&m);
            atomic_fetch_add(&a->c[C_ROUNDTRIPS], 1);
            if (i % 4 == 3 && j == n / 2) {
                CHECK(sinew_disconnect(s, a->rep_ep) == 0, "disconnect: errno %d", errno);
                CHECK(sinew_connect(s, a->rep_ep) == 0, "connect: errno %d", errno);
            }
        }
        CHECK(sinew_close(s) == 0, "close: errno %d", errno);
    }
    free(buf);
    return NULL;
}

static void *
pair_peer_run(void *arg)
{
    arena *a = arg;
    uint64_t seed = thread_seed(&a->pair);
    uint8_t *buf = malloc(BIG);
    CHECK(buf != NULL, "malloc");
    char who[48];
    snprintf(who, sizeof who, "%s PAIR peer", a->tr);
    atomic_long ignored;
    atomic_init(&ignored, 0);
    rx r = {.who = who, .tagged = &a->c[C_PAIR_RX], .raw = &ignored};
    for (long i = 0; i < sessions() && !past_deadline(); i++) {
        void *s = sock(SINEW_PAIR);
        set(s, SINEW_LINGER, 0);
        set(s, SINEW_RCVTIMEO, (int) (rnd(&seed) % 50));
        set(s, SINEW_HEARTBEAT_IVL, 10);
        CHECK(sinew_connect(s, a->pair_ep) == 0, "connect: errno %d", errno);
        size_t len = tag_new(buf, NULL);
        if (len > 0)
            sinew_send(s, buf, len, SINEW_DONTWAIT); /* lost if another is attached */
        for (int k = 0; k < 4; k++) {
            int flags = r.expect != NULL || k == 0 ? 0 : SINEW_DONTWAIT;
            if (!recv_checked(&r, s, flags, false))
                break;
        }
        CHECK(sinew_close(s) == 0, "close: errno %d", errno);
    }
    free(buf);
    return NULL;
}

/* ---- bound sockets closed under connections --------------------------------------- */

static void *
binder_run(void *arg)
{
    arena *a = arg;
    uint64_t seed = thread_seed(&a->c[C_BINDERS]);
    uint8_t *buf = malloc(BIG);
    CHECK(buf != NULL, "malloc");
    char who[48];
    snprintf(who, sizeof who, "%s closing binder", a->tr);
    rx r = {.who = who, .tagged = &a->c[C_TAGGED], .raw = &a->c[C_RAW]};
    uint8_t out[256];
    size_t n = hello(out, "PUSH");
    n += frame(out + n, false, "raw-msg");
    for (long i = 0; i < rounds / 4 + 1 && !past_deadline(); i++) {
        void *b = sock(SINEW_PULL);
        set(b, SINEW_LINGER, 0);
        set64(b, SINEW_MAXMSGSIZE, MAXMSG);
        char ep[128], name[32];
        snprintf(name, sizeof name, "b%ld", i);
        bind_at(a, b, name, ep, sizeof ep);
        int fds[3];
        for (int k = 0; k < 3; k++) {
            fds[k] = raw_connect(ep);
            if (fds[k] >= 0)
                send(fds[k], out, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        void *c = sock(SINEW_PUSH);
        set(c, SINEW_LINGER, 0);
        CHECK(sinew_connect(c, ep) == 0, "connect: errno %d", errno);
        size_t len = tag_new(buf, NULL);
        if (len > 0)
            sinew_send(c, buf, len, SINEW_DONTWAIT);
        pause_us(rnd(&seed) % 3000); /* some get accepted, some wait */
        sinew_msg_t m;
        sinew_msg_init(&m);
        while (sinew_msg_recv(&m, b, r.expect != NULL ? 0 : SINEW_DONTWAIT) >= 0)
            check_part(&r, &m, true);
        sinew_msg_close(&m);
        CHECK(sinew_close(b) == 0, "close: errno %d", errno);
        for (int k = 0; k < 3; k++) {
            if (fds[k] >= 0 && k % 2)
                zp_reset(fds[k]);
            else if (fds[k] >= 0)
                close(fds[k]);
        }
        CHECK(sinew_close(c) == 0, "close: errno %d", errno);
        atomic_fetch_add(&a->c[C_BINDERS], 1);
    }
    free(buf);
    return NULL;
}

/* ---- a PULL whose pipes are full ---------------------------------------------------
 * RCVHWM 5 and one thread taking a message at a time, paced: the engines stop reading
 * at the HWM, and the receiving thread decodes on itself as it makes room
 * (sn_engine_input_resume). Raw peers send a burst and close (a FIN, after reading the
 * server's handshake so that nothing unread turns it into a reset); well-behaved PUSH
 * peers send a burst and close lingering. Every message of both must arrive: what a
 * peer sent before hanging up is read once there is room, never dropped. */

static bool
slow_done(arena *a)
{
    return atomic_load(&a->c[C_SLOW_RAW]) >= atomic_load(&a->c[C_SLOW_WANT_RAW]) &&
           atomic_load(&a->c[C_SLOW_TAGGED]) >= atomic_load(&a->c[C_SLOW_WANT_TAGGED]);
}

static void *
slow_consumer_run(void *arg)
{
    arena *a = arg;
    char who[48];
    snprintf(who, sizeof who, "%s slow PULL", a->tr);
    rx r = {.who = who, .tagged = &a->c[C_SLOW_TAGGED], .raw = &a->c[C_SLOW_RAW]};
    uint64_t drain_deadline = 0;
    for (;;) {
        if (atomic_load(&over) && r.expect == NULL) {
            /* The feeders are done: take what they sent, not much longer. */
            if (drain_deadline == 0)
                drain_deadline = now_ms() + FINAL_WAIT_MS;
            if (slow_done(a) || now_ms() >= drain_deadline)
                break;
        }
        if (!recv_checked(&r, a->slow, 0, true))
            continue;
        if (!atomic_load(&over))
            pause_us(300);
    }
    return NULL;
}

static void *
slow_feeder_run(void *arg)
{
    arena *a = arg;
    uint64_t seed = thread_seed(&a->slow);
    uint8_t *buf = malloc(BIG);
    CHECK(buf != NULL, "malloc");
    uint8_t out[128 + 100 * 16];
    for (long i = 0; i < rounds / 10 + 2 && !past_deadline(); i++) {
        int k = 10 + (int) (rnd(&seed) % 90);
        if (i % 2 == 0) {
            int fd = raw_connect(a->slow_ep);
            if (fd < 0)
                continue;
            size_t n = hello(out, "PUSH");
            for (int j = 0; j < k; j++) {
                if (rnd(&seed) % 4 == 0) {
                    n += frame(out + n, true, "raw-a");
                    n += frame(out + n, false, "raw-b");
                } else {
                    n += frame(out + n, false, "raw-msg");
                }
            }
            if (zp_send_all(fd, out, n) == 0) {
                bool sure = zp_read_handshake(fd, 5000);
                atomic_fetch_add(&a->c[sure ? C_SLOW_WANT_RAW : C_SLOW_UNSURE], k);
            }
            close(fd);
        } else {
            void *s = sock(SINEW_PUSH);
            set(s, SINEW_LINGER, FINAL_WAIT_MS);
            set(s, SINEW_SNDTIMEO, FINAL_WAIT_MS);
            CHECK(sinew_connect(s, a->slow_ep) == 0, "connect: errno %d", errno);
            for (int j = 0; j < k; j++) {
                size_t len = tag_new(buf, NULL);
                if (len == 0)
                    break;
                CHECK(sinew_send(s, buf, len, 0) == (int) len, "%s slow PUSH: errno %d",
                      a->tr, errno);
                atomic_fetch_add(&a->c[C_SLOW_WANT_TAGGED], 1);
            }
            CHECK(sinew_close(s) == 0, "close: errno %d", errno);
        }
        pause_us(rnd(&seed) % 5000);
    }
    free(buf);
    return NULL;
}

/* ---- the resetting listener and the sockets that connect to it --------------------- */

/* Reads the peer's greeting and READY; returns its Socket-Type ("" if none came). */
static void
peer_type(int fd, char *type, size_t len)
{
    uint8_t b[320];
    type[0] = 0;
    if (zp_read_exact(fd, b, 66, 200) != 66 || b[64] != 0x04 ||
        zp_read_exact(fd, b + 66, b[65], 200) != b[65])
        return;
    const uint8_t *p = b + 66, *end = p + b[65];
    if (end - p < 6 || p[0] != 5 || memcmp(p + 1, "READY", 5) != 0)
        return;
    p += 6;
    while (end - p >= 5) {
        size_t nl = p[0];
        if ((size_t) (end - p) < 1 + nl + 4)
            return;
        const uint8_t *name = p + 1;
        p += 1 + nl;
        size_t vl = (size_t) p[0] << 24 | (size_t) p[1] << 16 | (size_t) p[2] << 8 | p[3];
        p += 4;
        if ((size_t) (end - p) < vl)
            return;
        if (nl == 11 && memcmp(name, "Socket-Type", 11) == 0 && vl < len) {
            memcpy(type, p, vl);
            type[vl] = 0;
            return;
        }
        p += vl;
    }
}

static void
listener_serve(arena *a, int fd, uint64_t *seed)
{
    uint8_t out[512];
    switch (rnd(seed) % 6) {
    case 0:
        zp_reset(fd);
        return;
    case 1:
        close(fd);
        return;
    case 2: /* mid-handshake */
        zp_send_all(fd, zp_greeting, sizeof zp_greeting);
        zp_read_exact(fd, out, 64, 50);
        zp_reset(fd);
        return;
    }
    /* The whole handshake, as whatever the connecting socket accepts. */
    zp_send_all(fd, zp_greeting, sizeof zp_greeting);
    char type[16];
    peer_type(fd, type, sizeof type);
    const char *as = strcmp(type, "PUSH") == 0   ? "PULL"
                     : strcmp(type, "PULL") == 0 ? "PUSH"
                     : strcmp(type, "REQ") == 0  ? "REP"
                     : strcmp(type, "PAIR") == 0 ? "PAIR"
                                                 : NULL;
    if (as == NULL) {
        zp_reset(fd);
        return;
    }
    atomic_fetch_add(&a->c[C_RL_HANDSHAKES], 1);
    size_t n = zp_ready(out, as);
    if (strcmp(as, "PUSH") == 0 || strcmp(as, "PAIR") == 0) {
        switch (rnd(seed) % 4) {
        case 0:
            n += frame(out + n, false, "rl-msg");
            break;
        case 1:
            n += frame(out + n, true, "rl-a");
            n += frame(out + n, false, "rl-b");
            break;
        case 2:
            n += frame(out + n, true, "rl-cut");
            out[n++] = 0x00;
            out[n++] = 100;
            memset(out + n, 'y', 20);
            n += 20;
            break;
        default:
            break; /* nothing: close right after the handshake */
        }
        zp_send_all(fd, out, n);
    } else if (strcmp(as, "REP") == 0) {
        zp_send_all(fd, out, n);
        uint8_t in[64];
        if (zp_read_exact(fd, in, 2 + 2 + 6, 50) == 10 && rnd(seed) % 2) {
            n = frame(out, true, "");
            n += frame(out + n, false, "rl-rep");
            zp_send_all(fd, out, n);
        }
    } else {
        zp_send_all(fd, out, n);
        if (rnd(seed) % 2)
            zp_read_exact(fd, out, sizeof out, 10); /* take some of what the PUSH sends */
    }
    if (rnd(seed) % 2)
        close(fd);
    else
        zp_reset(fd);
}

static void *
listener_run(void *arg)
{
    arena *a = arg;
    uint64_t seed = thread_seed(&a->reset_lfd);
    long served = 0;
    while (served < rounds * 4 && !past_deadline()) {
        struct pollfd p = {.fd = a->reset_lfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept4(a->reset_lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        served++;
        atomic_fetch_add(&a->c[C_RL_ACCEPTED], 1);
        listener_serve(a, fd, &seed);
    }
    /* Gone: the connecting sockets now retry against nothing until the end. */
    close(a->reset_lfd);
    if (strcmp(a->tr, "ipc") == 0)
        unlink(a->reset_ep + 6);
    return NULL;
}

static void *
connecting(arena *a, int type, bool immediate)
{
    void *s = sock(type);
    set(s, SINEW_LINGER, 0);
    set(s, SINEW_RECONNECT_IVL, 2);
    set(s, SINEW_RECONNECT_IVL_MAX, 20);
    set(s, SINEW_HANDSHAKE_IVL, 200);
    set(s, SINEW_SNDHWM, 50);
    set(s, SINEW_SNDTIMEO, 20);
    set(s, SINEW_IMMEDIATE, immediate);
    set64(s, SINEW_MAXMSGSIZE, MAXMSG);
    if (type == SINEW_PULL || type == SINEW_PAIR)
        set(s, SINEW_HEARTBEAT_IVL, 5); /* the listener never answers */
    CHECK(sinew_connect(s, a->reset_ep) == 0, "connect %s: errno %d", a->reset_ep, errno);
    return s;
}

/* A PUSH that queues before connecting, and one with IMMEDIATE (its pipe comes with each
 * handshake, and goes with the reset that follows). */
static void *
conn_push_run(void *arg)
{
    arena *a = arg;
    void *p = connecting(a, SINEW_PUSH, false), *q = connecting(a, SINEW_PUSH, true);
    for (long i = 0; !atomic_load(&over); i++) {
        int rc = sinew_send_const(p, "rc-push", 7, SINEW_DONTWAIT);
        CHECK(rc == 7 || errno == EAGAIN, "%s connecting PUSH: errno %d", a->tr, errno);
        rc = sinew_send_const(q, "rc-push", 7, i % 2 ? SINEW_DONTWAIT : 0);
        CHECK(rc == 7 || errno == EAGAIN, "%s connecting PUSH: errno %d", a->tr, errno);
        if (i % 64 == 63) {
            CHECK(sinew_disconnect(p, a->reset_ep) == 0, "disconnect: errno %d", errno);
            CHECK(sinew_connect(p, a->reset_ep) == 0, "connect: errno %d", errno);
        }
        pause_us(200);
    }
    CHECK(sinew_close(p) == 0 && sinew_close(q) == 0, "close: errno %d", errno);
    return NULL;
}

/* Blocking receives on a socket whose one pipe leads to the resetting connection: the
 * receiving thread borrows the connection's input when it can. */
static void *
conn_pull_run(void *arg)
{
    arena *a = arg;
    char who[48];
    snprintf(who, sizeof who, "%s connecting PULL", a->tr);
    atomic_long ignored;
    atomic_init(&ignored, 0);
    rx r = {.who = who, .tagged = &ignored, .raw = &a->c[C_CONN_RX]};
    void *s = connecting(a, SINEW_PULL, false);
    set(s, SINEW_RCVTIMEO, 20);
    while (!atomic_load(&over) || r.expect != NULL)
        recv_checked(&r, s, 0, false);
    CHECK(atomic_load(&ignored) == 0, "%s: a numbered message from nowhere", who);
    CHECK(sinew_close(s) == 0, "close: errno %d", errno);
    return NULL;
}

/* REQ sockets made and closed one after another, each sending one request. */
static void *
conn_req_run(void *arg)
{
    arena *a = arg;
    char who[48];
    snprintf(who, sizeof who, "%s connecting REQ", a->tr);
    atomic_long ignored;
    atomic_init(&ignored, 0);
    rx r = {.who = who, .tagged = &ignored, .raw = &a->c[C_CONN_RX]};
    for (long i = 0; !atomic_load(&over); i++) {
        void *s = connecting(a, SINEW_REQ, i % 3 == 0);
        set(s, SINEW_RCVTIMEO, 30);
        atomic_fetch_add(&a->c[C_CONN_REQS], 1);
        if (sinew_send_const(s, "rc-req", 6, SINEW_DONTWAIT) == 6) {
            sinew_msg_t m;
            sinew_msg_init(&m);
            if (sinew_msg_recv(&m, s, 0) >= 0) {
                check_part(&r, &m, false);
                CHECK(is(sinew_msg_data(&m), sinew_msg_size(&m), "rl-rep"),
                      "%s: a reply that is not the listener's", who);
            } else {
                CHECK(errno == EAGAIN, "%s: errno %d", who, errno);
            }
            sinew_msg_close(&m);
        } else {
            CHECK(errno == EAGAIN, "%s: errno %d", who, errno);
            pause_us(1000);
        }
        CHECK(sinew_close(s) == 0, "close: errno %d", errno);
    }
    return NULL;
}

static void *
conn_pair_run(void *arg)
{
    arena *a = arg;
    char who[48];
    snprintf(who, sizeof who, "%s connecting PAIR", a->tr);
    atomic_long ignored;
    atomic_init(&ignored, 0);
    rx r = {.who = who, .tagged = &ignored, .raw = &a->c[C_CONN_RX]};
    void *s = connecting(a, SINEW_PAIR, false);
    set(s, SINEW_RCVTIMEO, 10);
    while (!atomic_load(&over) || r.expect != NULL) {
        int rc = sinew_send_const(s, "rc-pair", 7, SINEW_DONTWAIT);
        CHECK(rc == 7 || errno == EAGAIN, "%s: errno %d", who, errno);
        recv_checked(&r, s, 0, false);
    }
    CHECK(atomic_load(&ignored) == 0, "%s: a numbered message from nowhere", who);
    CHECK(sinew_close(s) == 0, "close: errno %d", errno);
    return NULL;
}

/* ---- the monitor ------------------------------------------------------------------- */

static void *
monitor_run(void *arg)
{
    arena *a = arg;
    void *m = sock(SINEW_PAIR);
    set(m, SINEW_RCVTIMEO, 50);
    CHECK(sinew_connect(m, a->mon_ep) == 0, "monitor connect: errno %d", errno);
    for (;;) {
        uint8_t ev[8];
        int n = sinew_recv(m, ev, sizeof ev, 0);
        if (n < 0) {
            CHECK(errno == EAGAIN, "monitor: errno %d", errno);
            if (atomic_load(&a->servers_closed))
                break; /* MONITOR_STOPPED is dropped if the queue was full */
            continue;
        }
        int more;
        size_t len = sizeof more;
        CHECK(sinew_getsockopt(m, SINEW_RCVMORE, &more, &len) == 0 && more && n == 6,
              "%s monitor: event frame of %d bytes (more %d)", a->tr, n, more);
        uint16_t e;
        memcpy(&e, ev, 2);
        CHECK(e != 0 && (e & (e - 1)) == 0, "%s monitor: event %#x", a->tr, e);
        char addr[256];
        n = sinew_recv(m, addr, sizeof addr, 0);
        CHECK(n >= 0, "%s monitor: no address frame (errno %d)", a->tr, errno);
        CHECK(sinew_getsockopt(m, SINEW_RCVMORE, &more, &len) == 0 && !more,
              "%s monitor: address frame with MORE", a->tr);
        atomic_fetch_add(&a->c[C_EVENTS], 1);
        if (e == SINEW_EVENT_MONITOR_STOPPED) {
            a->stopped_seen = true;
            break;
        }
    }
    CHECK(sinew_close(m) == 0, "close");
    return NULL;
}

/* ---- setup, the end, the final round trips ----------------------------------------- */

static void
arena_start(arena *a, const char *tr)
{
    a->tr = tr;
    for (int i = 0; i < C_COUNT; i++)
        atomic_init(&a->c[i], 0);
    atomic_init(&a->servers_closed, false);
    a->pull = server(a, SINEW_PULL, "pull", a->pull_ep, sizeof a->pull_ep);
    a->rep = server(a, SINEW_REP, "rep", a->rep_ep, sizeof a->rep_ep);
    a->pair = server(a, SINEW_PAIR, "pair", a->pair_ep, sizeof a->pair_ep);
    a->slow = server(a, SINEW_PULL, "slow", a->slow_ep, sizeof a->slow_ep);
    set(a->slow, SINEW_RCVHWM, 5);
    snprintf(a->mon_ep, sizeof a->mon_ep, "inproc://monitor-%s", tr);
    CHECK(sinew_socket_monitor(a->rep, a->mon_ep, SINEW_EVENT_ALL) == 0,
          "monitor: errno %d", errno);
    a->reset_lfd = raw_listen(a);

    CHECK(pthread_create(&a->monitor, NULL, monitor_run, a) == 0, "pthread_create");
    serve(a, a->pull, SINEW_PULL, M_BLOCK, "PULL");
    serve(a, a->pull, SINEW_PULL, M_POLL, "PULL");
    serve(a, a->pull, SINEW_PULL, M_READY_FD, "PULL");
    serve(a, a->rep, SINEW_REP, M_BLOCK, "REP");
    serve(a, a->rep, SINEW_REP, M_BLOCK, "REP");
    serve(a, a->rep, SINEW_REP, M_POLL, "REP");
    serve(a, a->pair, SINEW_PAIR, M_BLOCK, "PAIR");
    serve(a, a->pair, SINEW_PAIR, M_POLL, "PAIR");

    static const struct {
        size_t ep;
        const char *type;
        bool envelope;
    } targets[] = {
        {offsetof(arena, pull_ep), "PUSH", false},
        {offsetof(arena, rep_ep), "REQ", true},
        {offsetof(arena, pair_ep), "PAIR", false},
    };
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        hostile *h = &a->hostiles[i];
        *h = (hostile){a, (const char *) a + targets[i].ep, targets[i].type,
                       targets[i].envelope};
        start(a, true, hostile_run, h);
    }
    start(a, true, push_peer_run, a);
    start(a, true, req_peer_run, a);
    start(a, true, pair_peer_run, a);
    start(a, true, binder_run, a);
    start(a, true, listener_run, a);
    start(a, true, slow_feeder_run, a);
    start(a, false, slow_consumer_run, a);
    start(a, false, conn_push_run, a);
    start(a, false, conn_pull_run, a);
    start(a, false, conn_req_run, a);
    start(a, false, conn_pair_run, a);
}

/* Receives on server s until the numbered message `want` comes (leftovers from the churn
 * are checked on the way, and answered if s is a REP). */
static void
await_id(arena *a, void *s, int type, uint64_t want, const char *what)
{
    char who[64];
    snprintf(who, sizeof who, "%s final %s", a->tr, what);
    rx r = {.who = who, .tagged = &a->c[C_TAGGED], .raw = &a->c[C_RAW]};
    uint64_t deadline = now_ms() + FINAL_WAIT_MS;
    for (;;) {
        CHECK(now_ms() < deadline, "%s: message %llu never arrived", who,
              (unsigned long long) want);
        sinew_msg_t m;
        sinew_msg_init(&m);
        if (sinew_msg_recv(&m, s, 0) < 0) {
            CHECK(errno == EAGAIN, "%s: errno %d", who, errno);
            sinew_msg_close(&m);
            continue;
        }
        uint64_t id = UINT64_MAX;
        int t = tag_parse(sinew_msg_data(&m), sinew_msg_size(&m), &id);
        bool end = check_part(&r, &m, true);
        if (type == SINEW_REP && end && !(t == 1 && id == want))
            CHECK(sinew_msg_send(&m, s, 0) >= 0, "%s: reply: errno %d", who, errno);
        sinew_msg_close(&m);
        if (t == 1 && id == want)
            return;
    }
}

static void
final_round_trips(arena *a)
{
    uint8_t *buf = malloc(BIG);
    CHECK(buf != NULL, "malloc");
    uint64_t id;
    size_t len;

    /* REQ -> REP -> REQ. */
    void *q = sock(SINEW_REQ);
    set(q, SINEW_LINGER, 0);
    set(q, SINEW_RCVTIMEO, FINAL_WAIT_MS);
    CHECK(sinew_connect(q, a->rep_ep) == 0, "connect: errno %d", errno);
    len = tag_new(buf, &id);
    CHECK(len > 0 && sinew_send(q, buf, len, 0) == (int) len, "final request: errno %d",
          errno);
    await_id(a, a->rep, SINEW_REP, id, "REQ/REP");
    CHECK(sinew_send(a->rep, "final", 5, 0) == 5, "final reply: errno %d", errno);
    char ans[8];
    CHECK(sinew_recv(q, ans, sizeof ans, 0) == 5 && memcmp(ans, "final", 5) == 0,
          "%s: no final reply (errno %d)", a->tr, errno);
    CHECK(sinew_close(q) == 0, "close");

    /* PUSH -> PULL. */
    void *p = sock(SINEW_PUSH);
    set(p, SINEW_LINGER, 0);
    CHECK(sinew_connect(p, a->pull_ep) == 0, "connect: errno %d", errno);
    len = tag_new(buf, &id);
    CHECK(len > 0 && sinew_send(p, buf, len, 0) == (int) len, "final push: errno %d",
          errno);
    await_id(a, a->pull, SINEW_PULL, id, "PUSH/PULL");
    CHECK(sinew_close(p) == 0, "close");

    /* PAIR <-> PAIR: the server may refuse the new peer while it lets go of an old
     * one, and what is sent meanwhile is lost, so send until something arrives. */
    void *c = sock(SINEW_PAIR);
    set(c, SINEW_LINGER, 0);
    set(c, SINEW_RCVTIMEO, FINAL_WAIT_MS);
    CHECK(sinew_connect(c, a->pair_ep) == 0, "connect: errno %d", errno);
    set(a->pair, SINEW_RCVTIMEO, 20);
    char who[48];
    snprintf(who, sizeof who, "%s final PAIR", a->tr);
    rx r = {.who = who, .tagged = &a->c[C_TAGGED], .raw = &a->c[C_RAW]};
    uint64_t first = UINT64_MAX, deadline = now_ms() + FINAL_WAIT_MS;
    for (bool got = false; !got;) {
        CHECK(now_ms() < deadline, "%s: the final PAIR peer was never accepted", a->tr);
        len = tag_new(buf, &id);
        CHECK(len > 0, "ids ran out");
        if (first == UINT64_MAX)
            first = id;
        sinew_send(c, buf, len, SINEW_DONTWAIT);
        sinew_msg_t m;
        sinew_msg_init(&m);
        while (sinew_msg_recv(&m, a->pair, 0) >= 0) {
            /* Ours, or what an earlier peer left (still readable after it went). */
            uint64_t rid;
            int t = tag_parse(sinew_msg_data(&m), sinew_msg_size(&m), &rid);
            check_part(&r, &m, true);
            got = got || (t == 1 && rid >= first && rid <= id);
        }
        sinew_msg_close(&m);
    }
    set(a->pair, SINEW_SNDTIMEO, FINAL_WAIT_MS);
    CHECK(sinew_send(a->pair, "final", 5, 0) == 5, "final PAIR send: errno %d", errno);
    CHECK(sinew_recv(c, ans, sizeof ans, 0) == 5 && memcmp(ans, "final", 5) == 0,
          "%s: no final PAIR answer (errno %d)", a->tr, errno);
    CHECK(sinew_close(c) == 0, "close");
    free(buf);
}

static int
count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL, "opendir /proc/self/fd");
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* A failed run leaves no ipc socket files behind (a passing run checks for none). */
static void
remove_ipc_dir(void)
{
    if (ipc_dir[0] == 0)
        return;
    DIR *d = opendir(ipc_dir);
    if (d != NULL) {
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            char path[sizeof ipc_dir + 256];
            snprintf(path, sizeof path, "%s/%s", ipc_dir, e->d_name);
            if (e->d_name[0] != '.')
                unlink(path);
        }
        closedir(d);
    }
    rmdir(ipc_dir);
}

int
main(int argc, char **argv)
{
    if (argc > 1)
        rounds = atol(argv[1]);
    if (argc > 2)
        limit_s = atoi(argv[2]);
    seed0 = argc > 3 ? strtoull(argv[3], NULL, 0)
                     : (uint64_t) time(NULL) ^ (uint64_t) getpid();
    CHECK(rounds > 0 && limit_s > 0, "usage: stress_churn [rounds [seconds [seed]]]");
    check_watchdog((unsigned) limit_s + 120);
    /* SIGPIPE stays at its default: one unguarded write to a reset connection ends us. */
    int fds_before = count_fds();
    snprintf(ipc_dir, sizeof ipc_dir, "/tmp/sinew-churn-XXXXXX");
    CHECK(mkdtemp(ipc_dir) != NULL, "mkdtemp: errno %d", errno);
    atexit(remove_ipc_dir);
    seen = calloc(IDS, 1);
    CHECK(seen != NULL, "calloc");
    uint64_t t0 = now_ms();
    soft_deadline = t0 + (uint64_t) limit_s * 1000;

    ctx = sinew_ctx_new();
    CHECK(ctx != NULL, "ctx");
    CHECK(sinew_ctx_set(ctx, SINEW_IO_THREADS, 2) == 0, "IO_THREADS: errno %d", errno);
    static arena arenas[2];
    arena_start(&arenas[0], "tcp");
    arena_start(&arenas[1], "ipc");
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < arenas[i].nfinite; k++)
            pthread_join(arenas[i].finite[k], NULL);
    bool cut_short = past_deadline();
    atomic_store(&over, true);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < arenas[i].nloops; k++)
            pthread_join(arenas[i].loops[k], NULL);
    uint64_t t1 = now_ms();

    for (int i = 0; i < 2; i++) {
        arena *a = &arenas[i];
        final_round_trips(a);
        long raw = atomic_load(&a->c[C_SLOW_RAW]);
        long tagged = atomic_load(&a->c[C_SLOW_TAGGED]);
        long want_raw = atomic_load(&a->c[C_SLOW_WANT_RAW]);
        long want_tagged = atomic_load(&a->c[C_SLOW_WANT_TAGGED]);
        CHECK(raw >= want_raw && raw <= want_raw + atomic_load(&a->c[C_SLOW_UNSURE]) &&
                  tagged == want_tagged,
              "%s slow PULL: %ld of %ld messages from raw peers that sent and closed, "
              "%ld of %ld from lingering PUSH peers",
              a->tr, raw, want_raw, tagged, want_tagged);
        CHECK(sinew_close(a->pull) == 0 && sinew_close(a->rep) == 0 &&
                  sinew_close(a->pair) == 0 && sinew_close(a->slow) == 0,
              "close: errno %d", errno);
        atomic_store(&a->servers_closed, true);
    }
    /* The monitor threads end with their server. */
    for (int i = 0; i < 2; i++)
        pthread_join(arenas[i].monitor, NULL);
    CHECK(sinew_ctx_term(ctx) == 0, "ctx_term: errno %d", errno);
    uint64_t t2 = now_ms();
    CHECK(rmdir(ipc_dir) == 0, "rmdir %s: errno %d (a socket file left behind?)", ipc_dir,
          errno);
    ipc_dir[0] = 0;
    int fds_after = count_fds();
    CHECK(fds_after == fds_before, "%d descriptors open after ctx_term, %d before",
          fds_after, fds_before);

    for (int i = 0; i < 2; i++) {
        arena *a = &arenas[i];
        printf(
            "%s: %ld hostile connections (%ld refused); servers got %ld numbered and "
            "%ld raw messages; %ld sent by PUSH peers, %ld REQ round trips, %ld "
            "received by PAIR peers; resetting listener: %ld accepted, %ld handshakes, "
            "%ld messages to the connecting sockets, %ld REQ sockets; %ld binders "
            "closed under connections; %ld monitor events%s; the slow PULL got %ld "
            "messages from raw peers and %ld from PUSH peers\n",
            a->tr, atomic_load(&a->c[C_HOSTILE]), atomic_load(&a->c[C_HOSTILE_ERR]),
            atomic_load(&a->c[C_TAGGED]), atomic_load(&a->c[C_RAW]),
            atomic_load(&a->c[C_SENT]), atomic_load(&a->c[C_ROUNDTRIPS]),
            atomic_load(&a->c[C_PAIR_RX]), atomic_load(&a->c[C_RL_ACCEPTED]),
            atomic_load(&a->c[C_RL_HANDSHAKES]), atomic_load(&a->c[C_CONN_RX]),
            atomic_load(&a->c[C_CONN_REQS]), atomic_load(&a->c[C_BINDERS]),
            atomic_load(&a->c[C_EVENTS]),
            a->stopped_seen ? " (MONITOR_STOPPED seen)" : "",
            atomic_load(&a->c[C_SLOW_RAW]), atomic_load(&a->c[C_SLOW_TAGGED]));
        /* The run tested something. */
        CHECK(atomic_load(&a->c[C_HOSTILE]) > 0 && atomic_load(&a->c[C_ROUNDTRIPS]) > 0 &&
                  atomic_load(&a->c[C_TAGGED]) > 0 &&
                  atomic_load(&a->c[C_RL_ACCEPTED]) > 0,
              "%s: the churn did not get going", a->tr);
    }
    printf("ok: %ld rounds, seed %#llx, churn %.1f s%s, end and ctx_term %.1f s\n",
           rounds, (unsigned long long) seed0, (double) (t1 - t0) / 1000,
           cut_short ? " (cut short by the time limit)" : "", (double) (t2 - t1) / 1000);
    free(seen);
    return 0;
}
