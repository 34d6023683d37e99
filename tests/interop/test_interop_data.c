/* Interop data path: sinew against real libzmq, both bind directions, tcp and ipc, for
 * PAIR, PUSH/PULL and REQ/REP: empty frames, 10-part messages, sizes from 1 B to 4 MB
 * (short and long frames, the engine's copy and zero-copy paths) and long streams with
 * order checked. */
#include <pthread.h>

#include "interop.h"

typedef struct combo {
    char transport[4];
    bool sinew_binds;
    int sinew_type, zmq_type;
} combo;

#define MB4 (4u * 1024u * 1024u)
static const size_t sizes[] = {0, 1, 255, 256, 8191, 8192, 8193, 16385, 65536, MB4};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static uint8_t *
pattern(size_t len, unsigned seed)
{
    uint8_t *p = malloc(len ? len : 1);
    cr_assert_not_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t) (i * 31u + seed + (i >> 8));
    return p;
}

typedef struct part {
    uint8_t *data;
    size_t len;
} part;

/* from sends the parts as one message; to receives and checks it. */
static void
transfer(ip_sock *from, ip_sock *to, const part *parts, int n)
{
    for (int i = 0; i < n; i++)
        ip_send(from, parts[i].data, parts[i].len, i + 1 < n ? ZMQ_SNDMORE : 0);
    for (int i = 0; i < n; i++)
        ip_recv_check(to, parts[i].data, parts[i].len, i + 1 < n);
}

/* One message exchange in the pattern's legal direction(s). */
static void
exchange(const combo *c, ip_sock *s, ip_sock *z, const part *parts, int n)
{
    switch (c->sinew_type) {
    case SINEW_PAIR:
        transfer(s, z, parts, n);
        transfer(z, s, parts, n);
        break;
    case SINEW_PUSH:
        transfer(s, z, parts, n);
        break;
    case SINEW_PULL:
        transfer(z, s, parts, n);
        break;
    case SINEW_REQ:
        transfer(s, z, parts, n);
        transfer(z, s, parts, n);
        break;
    case SINEW_REP:
        transfer(z, s, parts, n);
        transfer(s, z, parts, n);
        break;
    }
}

static void
make_pair_hwm(const combo *c, ip_sock **sp, ip_sock **zp, bool unbounded_rcvhwm)
{
    cr_log_info("%s, %s binds, sinew type %d, zmq type %d", c->transport,
                c->sinew_binds ? "sinew" : "zmq", c->sinew_type, c->zmq_type);
    ip_sock *s = ip_socket(false, c->sinew_type);
    ip_sock *z = ip_socket(true, c->zmq_type);
    ip_sock *all[2] = {s, z};
    for (int i = 0; i < 2; i++) {
        ip_setint(all[i], ZMQ_RCVTIMEO, 10000);
        ip_setint(all[i], ZMQ_SNDTIMEO, 10000);
    }
    if (unbounded_rcvhwm)
        ip_setint(s, ZMQ_RCVHWM, 0);
    char ep[256];
    if (c->sinew_binds) {
        ip_bind(s, c->transport, ep, sizeof ep);
        ip_connect(z, ep);
    } else {
        ip_bind(z, c->transport, ep, sizeof ep);
        ip_connect(s, ep);
    }
    *sp = s;
    *zp = z;
}

static void
make_pair(const combo *c, ip_sock **sp, ip_sock **zp)
{
    make_pair_hwm(c, sp, zp, false);
}

static combo *
all_combos(size_t *n)
{
    static const int types[][2] = {{SINEW_PAIR, ZMQ_PAIR},
                                   {SINEW_PUSH, ZMQ_PULL},
                                   {SINEW_PULL, ZMQ_PUSH},
                                   {SINEW_REQ, ZMQ_REP},
                                   {SINEW_REP, ZMQ_REQ}};
    size_t count = 2 * 2 * 5;
    combo *cs = cr_malloc(count * sizeof *cs);
    size_t k = 0;
    for (int t = 0; t < 2; t++)
        for (int b = 0; b < 2; b++)
            for (int y = 0; y < 5; y++) {
                memset(&cs[k], 0, sizeof cs[k]);
                snprintf(cs[k].transport, sizeof cs[k].transport, "%s", t ? "ipc" : "tcp");
                cs[k].sinew_binds = b != 0;
                cs[k].sinew_type = types[y][0];
                cs[k].zmq_type = types[y][1];
                k++;
            }
    *n = count;
    return cs;
}

static void
free_combos(struct criterion_test_params *p)
{
    cr_free(p->params);
}

ParameterizedTestParameters(interop_data, payloads)
{
    size_t n;
    combo *cs = all_combos(&n);
    return cr_make_param_array(combo, cs, n, free_combos);
}

ParameterizedTest(combo *c, interop_data, payloads, .init = ip_setup, .fini = ip_teardown,
                  .timeout = 30)
{
    ip_sock *s, *z;
    make_pair(c, &s, &z);

    /* Ten parts, empty ones and a long frame among them. */
    part ten[10];
    for (int i = 0; i < 10; i++) {
        size_t len = i == 4 ? 0 : i == 7 ? 300 : (size_t) i * 3;
        ten[i] = (part){pattern(len, (unsigned) i), len};
    }
    exchange(c, s, z, ten, 10);

    /* Every size, followed by a one-byte part (lone frames: see lone_frames). */
    for (size_t i = 0; i < NSIZES; i++) {
        part p[2] = {{pattern(sizes[i], (unsigned) i + 7), sizes[i]}, {(uint8_t *) "!", 1}};
        exchange(c, s, z, p, 2);
        free(p[0].data);
    }

    /* A multipart mixing small, copied and zero-copy bodies. */
    part mix[5] = {{ten[1].data, ten[1].len}, {pattern(MB4, 3), MB4}, {ten[4].data, 0},
                   {pattern(70000, 5), 70000}, {ten[7].data, ten[7].len}};
    exchange(c, s, z, mix, 5);
    free(mix[1].data);
    free(mix[3].data);

    /* Large bodies behind 0 to 3 envelope parts of 30 bytes (more than the start of a
     * message the engine buffers after a large one), then a small message, then a large
     * part followed by a small one. */
    part env = {pattern(30, 9), 30};
    part big = {pattern(65536, 11), 65536};
    for (int k = 0; k <= 3; k++) {
        part msg[4];
        for (int i = 0; i < k; i++)
            msg[i] = env;
        msg[k] = big;
        exchange(c, s, z, msg, k + 1);
    }
    exchange(c, s, z, &ten[3], 1);
    part tail[2] = {big, env};
    exchange(c, s, z, tail, 2);
    exchange(c, s, z, &big, 1);
    free(env.data);
    free(big.data);
    for (int i = 0; i < 10; i++)
        free(ten[i].data);
}

/* Every size as a lone single-frame message, nothing sent after it: the frame must be
 * delivered though its last byte is the last byte read (an empty frame, whose header
 * ends the input; a large body completed by a direct read). */
ParameterizedTestParameters(interop_data, lone_frames)
{
    size_t n;
    combo *cs = all_combos(&n);
    return cr_make_param_array(combo, cs, n, free_combos);
}

ParameterizedTest(combo *c, interop_data, lone_frames, .init = ip_setup,
                  .fini = ip_teardown, .timeout = 30)
{
    ip_sock *s, *z;
    make_pair(c, &s, &z);
    for (size_t i = 0; i < NSIZES; i++) {
        part p = {pattern(sizes[i], (unsigned) i + 7), sizes[i]};
        exchange(c, s, z, &p, 1);
        free(p.data);
    }
}

/* ---- streams ------------------------------------------------------------------------ */

typedef struct sender {
    ip_sock *s;
    uint32_t n;
    uint32_t sent;
    int err;
} sender;

static void *
send_thread(void *arg)
{
    sender *t = arg;
    for (uint32_t i = 0; i < t->n; i++) {
        int rc = ip_send_raw(t->s, &i, sizeof i, 0);
        if (rc != (int) sizeof i) {
            t->err = errno;
            break;
        }
        t->sent++;
    }
    return NULL;
}

/* from sends n numbered messages on a thread while to receives and checks the order. */
static void
stream(ip_sock *from, ip_sock *to, uint32_t n)
{
    sender t = {.s = from, .n = n};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, send_thread, &t), 0);
    uint32_t i;
    int rc = 0, err = 0;
    uint32_t v = 0;
    for (i = 0; i < n; i++) {
        rc = ip_recv_raw(to, &v, sizeof v, 0);
        if (rc != (int) sizeof v || v != i) {
            err = errno;
            break;
        }
    }
    pthread_join(th, NULL);
    cr_assert_eq(t.err, 0, "sender stopped after %u: errno %d", t.sent, t.err);
    cr_assert_eq(i, n, "message %u: rc %d errno %d value %u", i, rc, err, v);
}

static void
roundtrips(ip_sock *req, ip_sock *rep, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        ip_send_u32(req, i);
        cr_assert_eq(ip_recv_u32(rep), i);
        ip_send_u32(rep, i ^ 0xa5a5a5a5u);
        cr_assert_eq(ip_recv_u32(req), i ^ 0xa5a5a5a5u);
    }
}

static void
run_streams(combo *c, bool unbounded_rcvhwm)
{
    ip_sock *s, *z;
    make_pair_hwm(c, &s, &z, unbounded_rcvhwm);
    const uint32_t n = 100000;
    switch (c->sinew_type) {
    case SINEW_PAIR:
        stream(s, z, n);
        stream(z, s, n);
        break;
    case SINEW_PUSH:
        stream(s, z, n);
        break;
    case SINEW_PULL:
        stream(z, s, n);
        break;
    case SINEW_REQ:
        roundtrips(s, z, 2000);
        break;
    case SINEW_REP:
        roundtrips(z, s, 2000);
        break;
    }
}

ParameterizedTestParameters(interop_data, streams)
{
    size_t n;
    combo *cs = all_combos(&n);
    return cr_make_param_array(combo, cs, n, free_combos);
}

/* sinew's RCVHWM unbounded: see streams_at_hwm. */
ParameterizedTest(combo *c, interop_data, streams, .init = ip_setup, .fini = ip_teardown,
                  .timeout = 40)
{
    run_streams(c, true);
}

ParameterizedTestParameters(interop_data, streams_at_hwm)
{
    size_t n;
    combo *cs = all_combos(&n);
    return cr_make_param_array(combo, cs, n, free_combos);
}

/* Regression: a sinew receiver whose pipe reaches RCVHWM must resume reading its
 * connection when the application drains it (it once stopped after exactly RCVHWM,
 * 2*RCVHWM, ... messages), with libzmq or sinew as the sender, tcp and ipc. */
ParameterizedTest(combo *c, interop_data, streams_at_hwm, .init = ip_setup,
                  .fini = ip_teardown, .timeout = 40)
{
    run_streams(c, false);
}
