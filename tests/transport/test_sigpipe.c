/* No write to a connection may raise SIGPIPE (issue 9, defect 8): application threads
 * write to connections too (direct output), and only the I/O threads block signals.
 * Raw ZMTP peers connect, say what a REQ (a request) or a PULL says, and reset the
 * connection at once, thousands of times, against sinew REP and PUSH servers over tcp
 * and ipc. The test process keeps SIGPIPE's default disposition, so one unguarded write
 * to a reset connection ends it; afterwards the server still serves a well-behaved
 * peer. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "support/deadline.h"
#include "support/net.h"
#include "support/zmtp_peer.h"

#define CHURN_CONNS 2000  /* resetting peers per test */
#define CHURN_MS 4000     /* ...or until this much time has passed */
#define PEER_WAIT_MS 5000 /* for the well-behaved peer's round-trip */

static char ipc_dir[64];

static void
setup(void)
{
    tn_setup();
    snprintf(ipc_dir, sizeof ipc_dir, "/tmp/sinew-sigpipe-XXXXXX");
    cr_assert_not_null(mkdtemp(ipc_dir));
}

static void
teardown(void)
{
    tn_teardown();
    char p[128];
    snprintf(p, sizeof p, "%s/s", ipc_dir);
    unlink(p);
    rmdir(ipc_dir);
}

TestSuite(sigpipe, .init = setup, .fini = teardown, .timeout = 30);

/* The point of the test: SIGPIPE neither ignored nor blocked in this process. */
static void
assert_sigpipe_default(void)
{
    struct sigaction sa;
    cr_assert_eq(sigaction(SIGPIPE, NULL, &sa), 0);
    cr_assert(sa.sa_handler == SIG_DFL, "SIGPIPE is not at its default disposition");
    sigset_t mask;
    cr_assert_eq(pthread_sigmask(SIG_BLOCK, NULL, &mask), 0);
    cr_assert(!sigismember(&mask, SIGPIPE), "SIGPIPE is blocked in the test thread");
}

/* ---- the resetting peers (a helper thread: no Criterion asserts in it) ------------- */

typedef struct churn {
    char ep[256];
    const char *type; /* "REQ": sends a request; "PULL": handshake only */
    atomic_int made;  /* connections made and reset */
    atomic_int failed;/* connects or handshakes that failed (counted, not fatal) */
    atomic_bool over;
} churn;

static void *
churn_run(void *arg)
{
    churn *c = arg;
    uint8_t out[128];
    size_t n = 0;
    memcpy(out, zp_greeting, sizeof zp_greeting);
    n += sizeof zp_greeting;
    n += zp_ready(out + n, c->type);
    if (strcmp(c->type, "REQ") == 0) {
        static const uint8_t request[] = {0x01, 0x00, 0x00, 0x03, 'r', 'e', 'q'};
        memcpy(out + n, request, sizeof request); /* empty delimiter, then the body */
        n += sizeof request;
    }
    uint64_t deadline = tn_now_ms() + CHURN_MS;
    for (int i = 0; i < CHURN_CONNS && tn_now_ms() < deadline; i++) {
        int fd = zp_connect(c->ep);
        if (fd < 0) {
            atomic_fetch_add(&c->failed, 1);
            continue;
        }
        /* Everything at once, then the server's greeting and READY: it is past its
         * handshake, and the request (or the new PULL peer) is about to be served. */
        if (zp_send_all(fd, out, n) < 0 || !zp_read_handshake(fd, 1000))
            atomic_fetch_add(&c->failed, 1);
        zp_reset(fd);
        atomic_fetch_add(&c->made, 1);
    }
    atomic_store(&c->over, true);
    return NULL;
}

/* Binds s on transport and starts the peers against it. */
static void
churn_start(churn *c, pthread_t *t, void *s, const char *transport, const char *type)
{
    memset(c, 0, sizeof *c);
    c->type = type;
    if (strcmp(transport, "tcp") == 0) {
        tn_bind(s, "tcp://127.0.0.1:*");
        size_t len = sizeof c->ep;
        cr_assert_eq(sinew_getsockopt(s, SINEW_LAST_ENDPOINT, c->ep, &len), 0);
    } else {
        snprintf(c->ep, sizeof c->ep, "ipc://%s/s", ipc_dir);
        tn_bind(s, c->ep);
    }
    cr_assert_eq(pthread_create(t, NULL, churn_run, c), 0);
}

static void
churn_join(churn *c, pthread_t t)
{
    struct timespec dl = tn_deadline_in_ms(CHURN_MS + 5000);
    cr_assert_eq(pthread_timedjoin_np(t, NULL, &dl), 0, "resetting peers did not finish");
    cr_log_info("%s: %d connections reset, %d failed", c->ep, atomic_load(&c->made),
                atomic_load(&c->failed));
    cr_assert_gt(atomic_load(&c->made), CHURN_CONNS / 4, "too few connections made");
}

/* ---- servers ----------------------------------------------------------------------- */

/* REP answers every request it gets while the REQ peers reset; each answer is written to
 * a connection that is, or is about to be, reset. */
static void
rep_survives(const char *transport)
{
    assert_sigpipe_default();
    void *rep = tn_sock(SINEW_REP);
    tn_set(rep, SINEW_RCVTIMEO, 10);
    tn_set(rep, SINEW_SNDTIMEO, 10);
    churn c;
    pthread_t t;
    churn_start(&c, &t, rep, transport, "REQ");
    int answered = 0;
    while (!atomic_load(&c.over)) {
        char buf[16];
        if (sinew_recv(rep, buf, sizeof buf, 0) < 0)
            continue;
        sinew_send(rep, "rep", 3, 0); /* to a peer that is gone: dropped, as in libzmq */
        answered++;
    }
    churn_join(&c, t);
    cr_log_info("%d requests answered", answered);
    cr_assert_gt(answered, 0, "no request reached REP: the test tested nothing");

    /* A well-behaved REQ still gets its answer (requests of reset peers still queued are
     * answered on the way). */
    void *req = tn_sock(SINEW_REQ);
    tn_set(req, SINEW_RCVTIMEO, PEER_WAIT_MS);
    tn_connect(req, c.ep);
    tn_send_str(req, "last", 0);
    uint64_t deadline = tn_now_ms() + PEER_WAIT_MS;
    for (;;) {
        cr_assert_lt(tn_now_ms(), deadline, "REP never got the well-behaved request");
        char buf[16];
        int n = sinew_recv(rep, buf, sizeof buf, 0);
        if (n < 0)
            continue;
        bool last = n == 4 && memcmp(buf, "last", 4) == 0;
        sinew_send(rep, last ? "done" : "rep", 4, 0);
        if (last)
            break;
    }
    tn_recv_str(req, "done");
}

/* PUSH sends all along; the PULL peers it round-robins over reset as soon as they are
 * attached. */
static void
push_survives(const char *transport)
{
    assert_sigpipe_default();
    void *push = tn_sock(SINEW_PUSH);
    tn_set(push, SINEW_SNDTIMEO, 10);
    churn c;
    pthread_t t;
    churn_start(&c, &t, push, transport, "PULL");
    /* Paced, not flat out: a send after a quiet spell is written by this thread itself
     * (direct output), a burst is left to the I/O thread. */
    int sent = 0;
    while (!atomic_load(&c.over)) {
        if (sinew_send(push, "m", 1, 0) == 1)
            sent++;
        nanosleep(&(struct timespec){.tv_nsec = 50000}, NULL);
    }
    churn_join(&c, t);
    cr_log_info("%d messages sent", sent);
    cr_assert_gt(sent, 0, "PUSH never had a peer: the test tested nothing");

    /* A well-behaved PULL gets messages (pipes of reset peers may take some first). */
    void *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 10);
    tn_connect(pull, c.ep);
    uint64_t deadline = tn_now_ms() + PEER_WAIT_MS;
    char buf[4];
    for (;;) {
        cr_assert_lt(tn_now_ms(), deadline, "the well-behaved PULL got nothing");
        sinew_send(push, "m", 1, 0);
        if (sinew_recv(pull, buf, sizeof buf, 0) == 1)
            break;
    }
}

Test(sigpipe, rep_server_survives_resetting_req_peers_tcp)
{
    rep_survives("tcp");
}

Test(sigpipe, rep_server_survives_resetting_req_peers_ipc)
{
    rep_survives("ipc");
}

Test(sigpipe, push_server_survives_resetting_pull_peers_tcp)
{
    push_survives("tcp");
}

Test(sigpipe, push_server_survives_resetting_pull_peers_ipc)
{
    push_survives("ipc");
}
