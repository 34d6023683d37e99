/* The ZMTP engine on its own: one engine on a reactor, one end of a socketpair; the test
 * plays the peer with raw bytes on the other end and the socket with the pipe. Covers
 * the engine's one encode and one decode point (subscriptions in both ZMTP forms, a
 * mechanism's frame codec), control frames that never get lost behind data, and a
 * mechanism that waits for an answer from outside the connection. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/net.h"
#include "core/options.h"
#include "core/pipe.h"
#include "io/reactor.h"
#include "support/zmtp_peer.h"
#include "zmtp/engine.h"

TestSuite(zmtp_engine, .timeout = 20);

#define WAIT_MS 5000

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

/* For polling loops: a short pause, then whether the deadline passed. */
static bool
waited_out(uint64_t deadline)
{
    usleep(200);
    return now_ms() >= deadline;
}

typedef struct harness {
    sn_reactor *r;
    int fd;                /* the raw peer's end */
    sn_engine *e;
    sn_net_config cfg;
    sn_pipe *app;          /* the socket's end of the engine's pipe */
    atomic_int ready, closed;
    atomic_int closed_event;
    const void *answer;    /* for a waiting mechanism */
} harness;

/* ---- running things on the reactor thread ------------------------------------------- */

typedef struct call {
    void (*fn)(harness *);
    harness *h;
    atomic_int done;
} call;

static void
call_task(void *arg)
{
    call *c = arg;
    c->fn(c->h);
    atomic_store(&c->done, 1);
}

static void
on_reactor(harness *h, void (*fn)(harness *))
{
    call c = {.fn = fn, .h = h};
    cr_assert_eq(sn_reactor_post(h->r, call_task, &c), 0);
    uint64_t deadline = now_ms() + WAIT_MS;
    while (!atomic_load(&c.done))
        cr_assert(!waited_out(deadline), "reactor task did not run");
}

/* ---- pipe owners ------------------------------------------------------------------------ */

typedef struct engine_task {
    harness *h;
    sn_pipe *p;
    int cmd;
} engine_task;

static void
engine_task_run(void *arg)
{
    engine_task *t = arg;
    if (!atomic_load(&t->p->released) && t->h->e != NULL) {
        if (t->cmd == SN_CMD_ACTIVATE_READ)
            sn_engine_pipe_readable(t->h->e);
        else if (t->cmd == SN_CMD_ACTIVATE_WRITE)
            sn_engine_pipe_writable(t->h->e);
    }
    sn_link_unref(t->p->link);
    free(t);
}

static bool
engine_side_post(void *owner, sn_pipe *p, int cmd)
{
    engine_task *t = malloc(sizeof *t);
    if (t == NULL)
        return false;
    *t = (engine_task){.h = owner, .p = p, .cmd = cmd};
    if (sn_reactor_post(((harness *) owner)->r, engine_task_run, t) < 0) {
        free(t);
        return false;
    }
    return true;
}

static void
no_drain(void *owner, sn_pipe *p)
{
    (void) owner;
    (void) p;
}

static const sn_pipe_owner_ops engine_side_ops = {.post = engine_side_post,
                                                  .drained = no_drain};

/* The test thread polls its end: notifications are not needed. */
static bool
app_side_post(void *owner, sn_pipe *p, int cmd)
{
    (void) owner;
    (void) p;
    (void) cmd;
    return false;
}

static const sn_pipe_owner_ops app_side_ops = {.post = app_side_post, .drained = no_drain};

/* ---- the engine's owner -------------------------------------------------------------- */

static sn_pipe *
h_ready(void *owner, sn_engine *e, const sn_zmtp_handshake_result *res)
{
    (void) e;
    (void) res;
    harness *h = owner;
    sn_link *l;
    if (sn_link_new(&l, 1000, 1000) < 0)
        return NULL;
    sn_pipe_set_owner(&l->ends[1], h, &engine_side_ops);
    sn_pipe_set_owner(&l->ends[0], h, &app_side_ops);
    h->app = &l->ends[0];
    atomic_store(&h->ready, 1);
    return &l->ends[1];
}

static void
h_closed(void *owner, sn_engine *e, int event, uint32_t value, int fd)
{
    (void) e;
    (void) value;
    (void) fd;
    harness *h = owner;
    atomic_store(&h->closed_event, event);
    atomic_store(&h->closed, 1);
}

static const sn_engine_owner_ops h_ops = {.ready = h_ready, .closed = h_closed};

static int engine_fd;

static void
start(harness *h)
{
    cr_assert_eq(sn_engine_new(&h->e, h->r, engine_fd, &h->cfg, "test", &h_ops, h), 0);
}

/* An engine of socket type `type`, with mechanism mech (NULL: the NULL mechanism). */
static void
h_init(harness *h, int type, const sn_mechanism_ops *mech)
{
    memset(h, 0, sizeof *h);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    /* Engines take non-blocking descriptors, as the transports make them. */
    cr_assert_eq(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK), 0);
    cr_assert_eq(sn_reactor_new(&h->r, "test-io", NULL), 0);
    sn_options o;
    sn_options_defaults(&o, type, 0, 0);
    o.sec.mechanism = mech;
    sn_net_config_init(&h->cfg, &o);
    h->fd = sv[1];
    engine_fd = sv[0];
    on_reactor(h, start);
}

static void
stop(harness *h)
{
    if (h->e != NULL) {
        sn_engine_orphan(h->e);
        sn_engine_free(h->e);
        h->e = NULL;
    }
}

static void
h_fini(harness *h)
{
    on_reactor(h, stop);
    sn_reactor_free(h->r);
    if (h->app != NULL) {
        sn_pipe_release(h->app->peer, 0);
        sn_pipe_release(h->app, 0);
    }
    close(h->fd);
}

/* ---- the raw peer ----------------------------------------------------------------------- */

static void
raw_write(harness *h, const void *buf, size_t len)
{
    cr_assert_eq(write(h->fd, buf, len), (ssize_t) len);
}

static void
raw_read(harness *h, void *buf, size_t len)
{
    uint64_t deadline = now_ms() + WAIT_MS;
    size_t got = 0;
    while (got < len) {
        cr_assert(!waited_out(deadline), "peer read timed out (%zu/%zu)", got, len);
        struct pollfd p = {.fd = h->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t n = read(h->fd, (uint8_t *) buf + got, len - got);
        cr_assert_gt(n, 0, "engine closed the connection");
        got += (size_t) n;
    }
}

/* Reads one frame: returns flags; body in buf (size <= cap asserted). */
static int
raw_frame(harness *h, uint8_t *buf, size_t cap, size_t *size)
{
    uint8_t hdr[9];
    raw_read(h, hdr, 2);
    uint64_t n = hdr[1];
    if (hdr[0] & 0x02) {
        raw_read(h, hdr + 2, 7);
        n = 0;
        for (int i = 1; i < 9; i++)
            n = n << 8 | hdr[i];
    }
    cr_assert_leq(n, cap, "frame of %llu bytes", (unsigned long long) n);
    raw_read(h, buf, (size_t) n);
    *size = (size_t) n;
    return hdr[0];
}

/* Greeting (mechanism name, ZMTP minor version) and READY as `type`; reads and checks
 * the engine's greeting and READY. */
static void
raw_handshake(harness *h, const char *mech, int minor, const char *type)
{
    uint8_t g[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, (uint8_t) minor};
    memcpy(g + 12, mech, strlen(mech));
    raw_write(h, g, sizeof g);
    uint8_t ready[64];
    raw_write(h, ready, zp_ready(ready, type));
    uint8_t peer[64];
    raw_read(h, peer, 64);
    cr_assert_eq(memcmp(peer + 12, mech, strlen(mech)), 0, "engine's mechanism");
    uint8_t body[256];
    size_t n;
    cr_assert_eq(raw_frame(h, body, sizeof body, &n) & 0x04, 0x04);
    cr_assert_eq(memcmp(body, "\5READY", 6), 0);
    uint64_t deadline = now_ms() + WAIT_MS;
    while (!atomic_load(&h->ready))
        cr_assert(!waited_out(deadline), "engine never reported ready");
}

/* ---- the socket's side of the pipe ------------------------------------------------------- */

static void
app_send(harness *h, const void *data, size_t len, uint8_t flags)
{
    sn_msg m;
    cr_assert_eq(sn_msg_init_buffer(&m, data, len), 0);
    m.flags |= flags;
    cr_assert_eq(sn_pipe_write(h->app, &m), 0);
    if (!(flags & SN_MSG_MORE))
        sn_pipe_flush(h->app);
}

static void
app_recv(harness *h, sn_msg *m)
{
    uint64_t deadline = now_ms() + WAIT_MS;
    while (sn_pipe_read(h->app, m) < 0)
        cr_assert(!waited_out(deadline), "nothing reached the pipe");
}

/* The next frame the peer reads is exactly flags + body. */
static void
expect_frame(harness *h, int flags, const void *body, size_t len)
{
    uint8_t got[256];
    size_t n;
    cr_assert_eq(raw_frame(h, got, sizeof got, &n), flags);
    cr_assert_eq(n, len);
    cr_assert_eq(memcmp(got, body, len), 0);
}

/* ---- subscriptions --------------------------------------------------------------------- */

/* RFC 29 / RFC 37: to a 3.1 peer a subscription is a SUBSCRIBE (CANCEL) command. */
Test(zmtp_engine, subscription_goes_out_as_a_command_to_zmtp31)
{
    harness h;
    h_init(&h, SN_ZMTP_SUB, NULL);
    raw_handshake(&h, "NULL", 1, "PUB");
    app_send(&h, "news", 4, SN_MSG_SUBSCRIBE);
    app_send(&h, "news", 4, SN_MSG_CANCEL);
    expect_frame(&h, 0x04, "\x09SUBSCRIBEnews", 14);
    expect_frame(&h, 0x04, "\x06" "CANCELnews", 11);
    h_fini(&h);
}

/* RFC 29 for ZMTP 3.0 peers: a message whose first byte is 1 (subscribe) or 0. */
Test(zmtp_engine, subscription_goes_out_as_a_message_to_zmtp30)
{
    harness h;
    h_init(&h, SN_ZMTP_SUB, NULL);
    raw_handshake(&h, "NULL", 0, "PUB");
    app_send(&h, "ab", 2, SN_MSG_SUBSCRIBE);
    app_send(&h, "", 0, SN_MSG_CANCEL);
    expect_frame(&h, 0x00, "\x01" "ab", 3);
    expect_frame(&h, 0x00, "\x00", 1);
    h_fini(&h);
}

/* A PUB or XPUB gets its peers' subscriptions in one form, whichever form the wire had:
 * a 3.1 command or a 3.0 message (libzmq accepts the latter on any version). */
Test(zmtp_engine, subscriptions_come_in_flagged_from_both_forms)
{
    harness h;
    h_init(&h, SN_ZMTP_XPUB, NULL);
    raw_handshake(&h, "NULL", 1, "SUB");
    raw_write(&h, "\x04\x0c\x09SUBSCRIBEab", 14);
    raw_write(&h, "\x00\x03\x00xy", 5);
    raw_write(&h, "\x04\x07\x06" "CANCEL", 9);
    sn_msg m;
    app_recv(&h, &m);
    cr_assert(m.flags & SN_MSG_SUBSCRIBE);
    cr_assert_eq(sn_msg_size(&m), 2);
    cr_assert_eq(memcmp(sn_msg_data(&m), "ab", 2), 0);
    sn_msg_close(&m);
    app_recv(&h, &m);
    cr_assert(m.flags & SN_MSG_CANCEL);
    cr_assert_eq(sn_msg_size(&m), 2);
    cr_assert_eq(memcmp(sn_msg_data(&m), "xy", 2), 0);
    sn_msg_close(&m);
    app_recv(&h, &m);
    cr_assert(m.flags & SN_MSG_CANCEL);
    cr_assert_eq(sn_msg_size(&m), 0);
    sn_msg_close(&m);
    h_fini(&h);
}

/* Types that take no subscriptions see a 01-prefixed message as data. */
Test(zmtp_engine, other_types_take_01_messages_as_data)
{
    harness h;
    h_init(&h, SINEW_PULL, NULL);
    raw_handshake(&h, "NULL", 1, "PUSH");
    raw_write(&h, "\x00\x02\x01z", 4);
    sn_msg m;
    app_recv(&h, &m);
    cr_assert_eq(m.flags & (SN_MSG_SUBSCRIBE | SN_MSG_CANCEL), 0);
    cr_assert_eq(sn_msg_size(&m), 2);
    sn_msg_close(&m);
    h_fini(&h);
}

/* ---- a mechanism's frame codec ----------------------------------------------------------- */

/* NULL's handshake under another name, with every frame's body XORed on the wire, as a
 * stand-in for CURVE's boxes: the engine must run it at its one encode and decode point,
 * for frames of any size and for the commands it sends itself. */
static int
xor_frame(void *st, sn_msg *m, int *flags)
{
    (void) st;
    (void) flags;
    sn_msg x;
    if (sn_msg_init_size(&x, sn_msg_size(m)) < 0)
        return -ENOMEM;
    const uint8_t *src = sn_msg_data(m);
    uint8_t *dst = sn_msg_data(&x);
    for (size_t i = 0; i < sn_msg_size(m); i++)
        dst[i] = src[i] ^ 0x5a;
    x.flags = m->flags;
    sn_msg_close(m);
    *m = x;
    return 0;
}

static sn_mechanism_ops xor_mechanism;

static const sn_mechanism_ops *
xor_ops(void)
{
    xor_mechanism = sn_zmtp_mechanism_null;
    xor_mechanism.name = "XOR";
    xor_mechanism.encode = xor_frame;
    xor_mechanism.decode = xor_frame;
    return &xor_mechanism;
}

static void
xor_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] ^= 0x5a;
}

Test(zmtp_engine, mechanism_codec_transforms_every_frame_both_ways)
{
    harness h;
    h_init(&h, SINEW_PAIR, xor_ops());
    raw_handshake(&h, "XOR", 1, "PAIR");
    /* Out: a small and a large part. */
    static uint8_t big[100000];
    memset(big, 'b', sizeof big);
    app_send(&h, "hi", 2, SN_MSG_MORE);
    app_send(&h, big, sizeof big, 0);
    static uint8_t body[sizeof big];
    size_t n;
    cr_assert_eq(raw_frame(&h, body, sizeof body, &n), 0x01);
    cr_assert_eq(n, 2);
    xor_bytes(body, n);
    cr_assert_eq(memcmp(body, "hi", 2), 0);
    cr_assert_eq(raw_frame(&h, body, sizeof body, &n), 0x02);
    cr_assert_eq(n, sizeof big);
    xor_bytes(body, n);
    cr_assert_eq(memcmp(body, big, n), 0);
    /* In: a boxed message, then a boxed PING, which must be answered with a boxed PONG. */
    uint8_t in[] = {0x00, 3, 'y' ^ 0x5a, 'o' ^ 0x5a, '!' ^ 0x5a};
    raw_write(&h, in, sizeof in);
    uint8_t ping[] = {0x04, 7, 4 ^ 0x5a, 'P' ^ 0x5a, 'I' ^ 0x5a, 'N' ^ 0x5a, 'G' ^ 0x5a,
                      0 ^ 0x5a, 0 ^ 0x5a};
    raw_write(&h, ping, sizeof ping);
    sn_msg m;
    app_recv(&h, &m);
    cr_assert_eq(sn_msg_size(&m), 3);
    cr_assert_eq(memcmp(sn_msg_data(&m), "yo!", 3), 0);
    sn_msg_close(&m);
    cr_assert_eq(raw_frame(&h, body, sizeof body, &n), 0x04);
    xor_bytes(body, n);
    cr_assert_eq(memcmp(body, "\4PONG", 5), 0, "PONG not boxed");
    h_fini(&h);
}

/* ---- control frames behind data ---------------------------------------------------------- */

/* A PING that arrives while our output is full of data is answered once the data
 * drains, at a message boundary (it used to be dropped when the buffer was full). */
Test(zmtp_engine, pong_waits_for_room_and_is_never_lost)
{
    harness h;
    h_init(&h, SINEW_PAIR, NULL);
    int small = 4096;
    setsockopt(engine_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    raw_handshake(&h, "NULL", 1, "PAIR");
    /* Fill the kernel and the engine's buffer with multipart messages. */
    static uint8_t chunk[1000];
    memset(chunk, 'd', sizeof chunk);
    int sent = 0;
    for (; sent < 900; sent++) {
        app_send(&h, chunk, sizeof chunk, SN_MSG_MORE);
        app_send(&h, chunk, 10, 0);
    }
    usleep(100000); /* let the engine fill everything it can: pacing, not synchronising */
    raw_write(&h, "\x04\x07\x04PING\x00\x00", 9);
    usleep(50000);
    /* Drain: every data frame in order, the PONG between two messages. */
    uint8_t body[1100];
    size_t n;
    int parts = 0, pongs = 0;
    bool mid = false;
    uint64_t deadline = now_ms() + WAIT_MS;
    while (parts < 2 * sent || pongs == 0) {
        cr_assert(!waited_out(deadline), "parts %d pongs %d", parts, pongs);
        int flags = raw_frame(&h, body, sizeof body, &n);
        if (flags & 0x04) {
            cr_assert_eq(memcmp(body, "\4PONG", 5), 0);
            cr_assert_not(mid, "PONG inside a multipart message");
            pongs++;
            continue;
        }
        mid = (flags & 0x01) != 0;
        parts++;
    }
    cr_assert_eq(pongs, 1);
    h_fini(&h);
}

/* ---- a mechanism that waits for an outside answer --------------------------------------- */

/* NULL, except that the peer's READY is only accepted once an answer came (a stand-in
 * for a ZAP round-trip): the I/O thread is never blocked meanwhile. */
static const char *wait_answer_seen;

static int
wait_command(void *st, sn_zmtp_handshake *hs, const sn_zmtp_command *cmd)
{
    (void) st;
    if (cmd->type != SN_ZMTP_CMD_READY)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNEXPECTED_COMMAND, "not READY", true);
    if (sn_zmtp_handshake_accept_metadata(hs, cmd->data, cmd->data_len) < 0)
        return -EPROTO;
    return SN_MECHANISM_WAIT;
}

static int
wait_resume(void *st, sn_zmtp_handshake *hs, const void *answer)
{
    (void) st;
    wait_answer_seen = answer;
    if (strcmp(answer, "200") != 0)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNSPECIFIED, "refused", true);
    return 1;
}

static sn_mechanism_ops wait_mechanism;

/* An engine with the waiting mechanism, and a peer that sent its greeting and READY. */
static void
wait_setup(harness *h)
{
    wait_mechanism = sn_zmtp_mechanism_null;
    wait_mechanism.command = wait_command;
    wait_mechanism.resume = wait_resume;
    h_init(h, SINEW_PAIR, &wait_mechanism);
    raw_write(h, zp_greeting, sizeof zp_greeting);
    uint8_t ready[64];
    raw_write(h, ready, zp_ready(ready, "PAIR"));
}

static void
resume_now(harness *h)
{
    sn_engine_handshake_resume(h->e, h->answer);
}

Test(zmtp_engine, handshake_waits_for_an_outside_answer_then_goes_on)
{
    harness h;
    wait_setup(&h);
    raw_write(&h, "\x00\x02ok", 4); /* traffic right behind READY, kept meanwhile */
    usleep(100000);
    cr_assert_eq(atomic_load(&h.ready), 0, "traffic started before the answer");
    h.answer = "200";
    on_reactor(&h, resume_now);
    cr_assert_str_eq(wait_answer_seen, "200");
    uint64_t deadline = now_ms() + WAIT_MS;
    while (!atomic_load(&h.ready))
        cr_assert(!waited_out(deadline));
    sn_msg m;
    app_recv(&h, &m);
    cr_assert_eq(sn_msg_size(&m), 2);
    cr_assert_eq(memcmp(sn_msg_data(&m), "ok", 2), 0);
    sn_msg_close(&m);
    h_fini(&h);
}

Test(zmtp_engine, refusing_answer_fails_the_handshake)
{
    harness h;
    wait_setup(&h);
    usleep(50000);
    h.answer = "400";
    on_reactor(&h, resume_now);
    uint64_t deadline = now_ms() + WAIT_MS;
    while (!atomic_load(&h.closed))
        cr_assert(!waited_out(deadline), "handshake not failed");
    cr_assert_eq(atomic_load(&h.closed_event), SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL);
    cr_assert_eq(atomic_load(&h.ready), 0);
    h_fini(&h);
}
