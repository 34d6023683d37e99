/* CURVE (RFC 25/26) without the network: keys (sinew_curve_keypair/public, libzmq's
 * captured pair), sinew_has, the SINEW_CURVE_* options in raw and Z85 form, the
 * computed handshake in tests/vectors/curve_deterministic.hex reproduced byte for byte
 * (box layout, nonces, cookie, vouch, MESSAGE flags), libzmq's captured boxes reopened,
 * and hostile input to both sides of the handshake and to the MESSAGE decoder: each is
 * refused with libzmq's protocol error code, never a crash. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "core/msg.h"
#include "core/options.h"
#include "security/curve.h"
#include "sinew.h"
#include "support/vectors.h"
#include "zmtp/codec.h"
#include "zmtp/handshake.h"
#include "zmtp/zmtp.h"

TestSuite(curve, .timeout = 20.0);

/* ---- keys, capability, options ----------------------------------------------------- */

Test(curve, keypair_public_round_trip)
{
    char pub[41], sec[41], again[41];
    cr_assert_eq(sinew_curve_keypair(pub, sec), 0);
    cr_assert_eq(strlen(pub), 40);
    cr_assert_eq(strlen(sec), 40);
    cr_assert_eq(sinew_curve_public(again, sec), 0);
    cr_assert_str_eq(again, pub);
    char pub2[41], sec2[41];
    cr_assert_eq(sinew_curve_keypair(pub2, sec2), 0);
    cr_assert_str_neq(sec, sec2, "two keypairs alike");
}

Test(curve, public_of_libzmq_captured_secret)
{
    /* tests/vectors/curve_keypair.txt: zmq.curve_keypair() output. */
    char pub[41];
    cr_assert_eq(sinew_curve_public(pub, "7pq3iu+gPR=q:#ePRM.5Qqv1-)Hl+pDEim0zG/R8"), 0);
    cr_assert_str_eq(pub, "ND2q]e8FGqH6t{@fTP-{urw{E)[-La>TW+l^Jn#V");
}

Test(curve, public_rejects_bad_secrets)
{
    char pub[41];
    const char *bad[] = {"", "short", "7pq3iu+gPR=q:#ePRM.5Qqv1-)Hl+pDEim0zG/R87pq3i",
                         "7pq3iu+gPR=q:#ePRM.5Qqv1-)Hl+pDEim0zG/R\"", NULL};
    for (int i = 0; bad[i] != NULL; i++) {
        errno = 0;
        cr_expect_eq(sinew_curve_public(pub, bad[i]), -1, "accepted \"%s\"", bad[i]);
        cr_expect_eq(errno, EINVAL);
    }
    cr_expect_eq(sinew_curve_public(pub, NULL), -1);
    cr_expect_eq(sinew_curve_keypair(NULL, pub), -1);
}

Test(curve, has_capabilities)
{
    cr_expect_eq(sinew_has("curve"), 1);
    cr_expect_eq(sinew_has("ipc"), 1);
    cr_expect_eq(sinew_has("pgm"), 0);
    cr_expect_eq(sinew_has("CURVE"), 0);
    cr_expect_eq(sinew_has(""), 0);
    cr_expect_eq(sinew_has(NULL), 0);
}

static const char z85_key[] = "ND2q]e8FGqH6t{@fTP-{urw{E)[-La>TW+l^Jn#V";
static const uint8_t raw_key[32] = {
    0x99, 0xe3, 0x1d, 0x5e, 0x2b, 0xde, 0xcc, 0x43, 0x86, 0x05, 0xd0, 0x4a, 0x30, 0xb4, 0xdf, 0xdf,
    0x5e, 0x58, 0x31, 0x40, 0xef, 0x4f, 0xf3, 0x81, 0xe8, 0x48, 0x3a, 0xa9, 0xd2, 0x1f, 0x0f, 0x38};

Test(curve, key_options_raw_and_z85)
{
    void *ctx = sinew_ctx_new();
    void *s = sinew_socket(ctx, SINEW_PUSH);
    const int opts[] = {SINEW_CURVE_PUBLICKEY, SINEW_CURVE_SECRETKEY, SINEW_CURVE_SERVERKEY};
    for (int i = 0; i < 3; i++) {
        uint8_t raw[32];
        char text[41];
        size_t len;
        /* 40 characters, 41 with the NUL, and 32 raw bytes all set the same key. */
        size_t forms[] = {40, 41, 32};
        for (int f = 0; f < 3; f++) {
            const void *v = forms[f] == 32 ? (const void *) raw_key : (const void *) z85_key;
            cr_assert_eq(sinew_setsockopt(s, opts[i], v, forms[f]), 0, "opt %d form %zu",
                         opts[i], forms[f]);
            len = 32;
            memset(raw, 0, sizeof raw);
            cr_assert_eq(sinew_getsockopt(s, opts[i], raw, &len), 0);
            cr_assert_arr_eq(raw, raw_key, 32);
            len = 41;
            cr_assert_eq(sinew_getsockopt(s, opts[i], text, &len), 0);
            cr_assert_str_eq(text, z85_key);
        }
        len = 40;
        cr_expect_eq(sinew_getsockopt(s, opts[i], text, &len), -1);
        cr_expect_eq(errno, EINVAL);
        /* Wrong sizes, a 41st byte that is not NUL, characters outside Z85. */
        char bad41[41];
        memcpy(bad41, z85_key, 40);
        bad41[40] = 'x';
        char badchar[41];
        memcpy(badchar, z85_key, 41);
        badchar[3] = '"';
        cr_expect_eq(sinew_setsockopt(s, opts[i], z85_key, 39), -1);
        cr_expect_eq(errno, EINVAL);
        cr_expect_eq(sinew_setsockopt(s, opts[i], bad41, 41), -1);
        cr_expect_eq(sinew_setsockopt(s, opts[i], badchar, 40), -1);
        cr_expect_eq(sinew_setsockopt(s, opts[i], NULL, 32), -1);
        /* The stored key survived the failed attempts. */
        len = 32;
        cr_assert_eq(sinew_getsockopt(s, opts[i], raw, &len), 0);
        cr_assert_arr_eq(raw, raw_key, 32);
    }
    sinew_close(s);
    sinew_ctx_term(ctx);
}

Test(curve, server_option_sets_role)
{
    void *ctx = sinew_ctx_new();
    void *s = sinew_socket(ctx, SINEW_REP);
    int v = -1;
    size_t len = sizeof v;
    cr_assert_eq(sinew_getsockopt(s, SINEW_CURVE_SERVER, &v, &len), 0);
    cr_assert_eq(v, 0);
    v = 1;
    cr_assert_eq(sinew_setsockopt(s, SINEW_CURVE_SERVER, &v, sizeof v), 0);
    cr_assert_eq(sinew_getsockopt(s, SINEW_CURVE_SERVER, &v, &len), 0);
    cr_assert_eq(v, 1);
    /* The server key makes a client (libzmq). */
    cr_assert_eq(sinew_setsockopt(s, SINEW_CURVE_SERVERKEY, z85_key, 40), 0);
    cr_assert_eq(sinew_getsockopt(s, SINEW_CURVE_SERVER, &v, &len), 0);
    cr_assert_eq(v, 0);
    v = 2;
    cr_expect_eq(sinew_setsockopt(s, SINEW_CURVE_SERVER, &v, sizeof v), -1);
    cr_expect_eq(errno, EINVAL);
    sinew_close(s);
    sinew_ctx_term(ctx);
}

/* ---- driving handshakes in memory ---------------------------------------------------- */

static const uint8_t fixed_c[32] = {[0 ... 31] = 0x11}, fixed_s[32] = {[0 ... 31] = 0x22};
static int transient_draws;

/* The deterministic file's secrets: c'=33.., s'=44.., K=55.., cookie nonce 66..,
 * welcome nonce 77.., vouch nonce 88... */
static void
fixed_random(uint8_t *buf, size_t n, sn_curve_rand_use use)
{
    uint8_t b = 0;
    switch (use) {
    case SN_CURVE_RAND_TRANSIENT:
        b = transient_draws++ == 0 ? 0x33 : 0x44;
        break;
    case SN_CURVE_RAND_COOKIE_KEY:
        b = 0x55;
        break;
    case SN_CURVE_RAND_COOKIE_NONCE:
        b = 0x66;
        break;
    case SN_CURVE_RAND_WELCOME_NONCE:
        b = 0x77;
        break;
    case SN_CURVE_RAND_VOUCH_NONCE:
        b = 0x88;
        break;
    }
    memset(buf, b, n);
}

typedef struct side {
    sn_zmtp_security sec;
    sn_zmtp_handshake hs;
    uint8_t *sent; /* everything it wrote */
    size_t sent_len;
} side;

static void
side_init(side *sd, bool server, int type, const uint8_t *secret, const uint8_t *server_pub)
{
    memset(sd, 0, sizeof *sd);
    sd->sec.mechanism = &sn_zmtp_mechanism_curve;
    sd->sec.as_server = server;
    memcpy(sd->sec.curve_secret, secret, 32);
    crypto_scalarmult_base(sd->sec.curve_public, secret);
    if (server_pub)
        memcpy(sd->sec.curve_server, server_pub, 32);
    sn_zmtp_handshake_config cfg = {.socket_type = type, .as_server = server,
                                    .mechanism = &sn_zmtp_mechanism_curve, .maxmsgsize = -1,
                                    .greeting_whole = true, .security = &sd->sec};
    cr_assert_eq(sn_zmtp_handshake_init(&sd->hs, &cfg), 0);
}

static void
side_fini(side *sd)
{
    sn_zmtp_handshake_fini(&sd->hs);
    free(sd->sent);
}

/* Moves a's pending output into b; returns the count, or -1 if b failed. */
static int
pump(side *a, side *b)
{
    const uint8_t *p;
    size_t len;
    sn_zmtp_handshake_output(&a->hs, &p, &len);
    if (len == 0)
        return 0;
    a->sent = realloc(a->sent, a->sent_len + len);
    memcpy(a->sent + a->sent_len, p, len);
    a->sent_len += len;
    uint8_t *copy = malloc(len);
    memcpy(copy, p, len);
    sn_zmtp_handshake_output_consumed(&a->hs, len);
    int n = sn_zmtp_handshake_feed(&b->hs, copy, len);
    free(copy);
    return n < 0 ? -1 : (int) len;
}

static void
run_handshake(side *c, side *s)
{
    for (int i = 0; i < 20; i++) {
        int a = pump(c, s), b = pump(s, c);
        cr_assert(a >= 0 && b >= 0, "handshake failed: client %d server %d",
                  sn_zmtp_handshake_error(&c->hs, NULL), sn_zmtp_handshake_error(&s->hs, NULL));
        if (a == 0 && b == 0)
            break;
    }
    cr_assert_eq(sn_zmtp_handshake_state(&c->hs), SN_ZMTP_HS_DONE);
    cr_assert_eq(sn_zmtp_handshake_state(&s->hs), SN_ZMTP_HS_DONE);
}

static void
deterministic_pair(side *c, side *s)
{
    uint8_t server_pub[32];
    crypto_scalarmult_base(server_pub, fixed_s);
    transient_draws = 0;
    sn_curve_random = fixed_random;
    side_init(c, false, SN_ZMTP_DEALER, fixed_c, server_pub);
    side_init(s, true, SN_ZMTP_ROUTER, fixed_s, NULL);
}

static const sn_test_segment *
seg(const sn_test_vectors *v, const char *dir, const char *label)
{
    const sn_test_segment *x = sn_test_vectors_find(v, dir, label);
    cr_assert_not_null(x, "segment %s %s", dir, label);
    return x;
}

/* Encodes one part through the codec; returns the whole frame (header + body). */
static size_t
encode_frame(const sn_mechanism_ops *ops, void *st, const void *data, size_t len, int flags,
             uint8_t *out)
{
    sn_msg m;
    cr_assert_eq(sn_msg_init_buffer(&m, data, len), 0);
    cr_assert_eq(ops->encode(st, &m, &flags), 0);
    size_t h = (size_t) sn_zmtp_frame_header(out, flags, sn_msg_size(&m));
    memcpy(out + h, sn_msg_data(&m), sn_msg_size(&m));
    size_t n = h + sn_msg_size(&m);
    sn_msg_close(&m);
    return n;
}

Test(curve, deterministic_vectors_byte_for_byte)
{
    sn_test_vectors v;
    cr_assert_eq(sn_test_vectors_load("curve_deterministic.hex", &v), 0);
    side c, s;
    deterministic_pair(&c, &s);
    run_handshake(&c, &s);
    sn_curve_random = NULL; /* no further draw may happen */

    const sn_test_segment *hello = seg(&v, "calc", "client HELLO"),
                          *init = seg(&v, "calc", "client INITIATE"),
                          *welcome = seg(&v, "calc", "server WELCOME"),
                          *ready = seg(&v, "calc", "server READY");
    cr_assert_eq(c.sent_len, 64 + hello->len + init->len);
    cr_assert_arr_eq(c.sent + 64, hello->data, hello->len, "HELLO differs");
    cr_assert_arr_eq(c.sent + 64 + hello->len, init->data, init->len, "INITIATE differs");
    cr_assert_eq(s.sent_len, 64 + welcome->len + ready->len);
    cr_assert_arr_eq(s.sent + 64, welcome->data, welcome->len, "WELCOME differs");
    cr_assert_arr_eq(s.sent + 64 + welcome->len, ready->data, ready->len, "READY differs");

    const sn_mechanism_ops *ops;
    void *cst, *sst;
    cr_assert(sn_zmtp_handshake_codec(&c.hs, &ops, &cst));
    cr_assert(sn_zmtp_handshake_codec(&s.hs, &ops, &sst));
    struct {
        void *st;
        const char *data;
        size_t len;
        int flags;
        const char *label;
    } msgs[] = {
        {cst, "hello", 5, SN_ZMTP_FLAG_MORE, "client MESSAGE nonce 3"},
        {cst, "world", 5, 0, "client MESSAGE nonce 4"},
        {sst, "reply", 5, 0, "server MESSAGE nonce 2"},
        {cst, "\x09SUBSCRIBEabc", 13, SN_ZMTP_FLAG_COMMAND, "client MESSAGE nonce 5"},
        {sst, "\x04PING\x00\x00", 7, SN_ZMTP_FLAG_COMMAND, "server MESSAGE nonce 3"},
    };
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        uint8_t frame[128];
        size_t n = encode_frame(ops, msgs[i].st, msgs[i].data, msgs[i].len, msgs[i].flags, frame);
        const sn_test_segment *want = seg(&v, "calc", msgs[i].label);
        cr_assert_eq(n, want->len, "%s: %zu bytes", msgs[i].label, n);
        cr_assert_arr_eq(frame, want->data, n, "%s differs", msgs[i].label);
        /* ...and the other side opens it to the same part and flags. */
        void *peer = msgs[i].st == cst ? sst : cst;
        sn_msg m;
        cr_assert_eq(sn_msg_init_buffer(&m, want->data + 2, want->len - 2), 0);
        int flags = 0;
        cr_assert_eq(ops->decode(peer, &m, &flags), 0);
        cr_assert_eq(flags, msgs[i].flags);
        cr_assert_eq(sn_msg_size(&m), msgs[i].len);
        cr_assert_arr_eq(sn_msg_data(&m), msgs[i].data, msgs[i].len);
        sn_msg_close(&m);
    }
    side_fini(&c);
    side_fini(&s);
    sn_test_vectors_free(&v);
}

/* The peer's metadata, carried inside INITIATE and READY, reached each side. */
Test(curve, metadata_travels_boxed)
{
    side c, s;
    deterministic_pair(&c, &s);
    run_handshake(&c, &s);
    cr_assert_eq(sn_zmtp_handshake_result_get(&c.hs)->peer_socket_type, SN_ZMTP_ROUTER);
    cr_assert_eq(sn_zmtp_handshake_result_get(&s.hs)->peer_socket_type, SN_ZMTP_DEALER);
    cr_assert_str_eq(sn_zmtp_handshake_result_get(&s.hs)->peer_mechanism, "CURVE");
    side_fini(&c);
    side_fini(&s);
}

/* ---- libzmq's captured boxes reopen ---------------------------------------------------- */

static uint8_t replay_s_prime[32], replay_k[32], replay_cookie_nonce[16], replay_welcome_nonce[16];

static void
replay_random(uint8_t *buf, size_t n, sn_curve_rand_use use)
{
    const uint8_t *src = use == SN_CURVE_RAND_TRANSIENT      ? replay_s_prime
                         : use == SN_CURVE_RAND_COOKIE_KEY   ? replay_k
                         : use == SN_CURVE_RAND_COOKIE_NONCE ? replay_cookie_nonce
                                                             : replay_welcome_nonce;
    memcpy(buf, src, n);
}

/* We stand in for the raw server of curve_client.hex with its secrets: our WELCOME
 * equals the one libzmq accepted, and libzmq's INITIATE and MESSAGEs decode to the
 * recorded plaintexts (MORE inside the box, outer flags 00). */
Test(curve, libzmq_client_capture_replays)
{
    sn_test_vectors v;
    cr_assert_eq(sn_test_vectors_load("curve_client.hex", &v), 0);
    const sn_test_segment *s_sec = seg(&v, "key", "server permanent S/s secret"),
                          *sp_sec = seg(&v, "key", "server transient S'/s' secret"),
                          *k = seg(&v, "key", "cookie key K"),
                          *hello = seg(&v, "zmq", "HELLO"),
                          *welcome = seg(&v, "peer", "WELCOME");
    /* The cookie nonce is inside the WELCOME box: open it with s and libzmq's C'. */
    uint8_t nonce[24], plain[128];
    memcpy(nonce, "WELCOME-", 8);
    memcpy(nonce + 8, welcome->data + 10, 16);
    cr_assert_eq(crypto_box_open_easy(plain, welcome->data + 26, 144, nonce,
                                      hello->data + 2 + 6 + 74, s_sec->data),
                 0);
    memcpy(replay_s_prime, sp_sec->data, 32);
    memcpy(replay_k, k->data, 32);
    memcpy(replay_welcome_nonce, welcome->data + 10, 16);
    memcpy(replay_cookie_nonce, plain + 32, 16);
    sn_curve_random = replay_random;

    side s;
    side_init(&s, true, SN_ZMTP_ROUTER, s_sec->data, NULL);
    uint8_t *zmq_all;
    size_t zlen = sn_test_vectors_concat(&v, "zmq", 0, (size_t) -1, &zmq_all);
    /* libzmq's greeting, HELLO and INITIATE: the handshake takes exactly those, then
     * the rest is traffic. */
    int used = sn_zmtp_handshake_feed(&s.hs, zmq_all, zlen);
    cr_assert_geq(used, 0, "server failed: 0x%x", sn_zmtp_handshake_error(&s.hs, NULL));
    cr_assert_eq(sn_zmtp_handshake_state(&s.hs), SN_ZMTP_HS_DONE,
                 "handshake not done (error 0x%x)", sn_zmtp_handshake_error(&s.hs, NULL));
    const uint8_t *out;
    size_t olen;
    sn_zmtp_handshake_output(&s.hs, &out, &olen);
    cr_assert(memmem(out, olen, welcome->data, welcome->len) != NULL,
              "our WELCOME differs from the one libzmq accepted");

    /* The MESSAGEs after it. */
    const sn_mechanism_ops *ops;
    void *st;
    cr_assert(sn_zmtp_handshake_codec(&s.hs, &ops, &st));
    sn_zmtp_decoder d;
    sn_zmtp_decoder_init(&d, NULL);
    sn_zmtp_decoder_set_boxed(&d);
    const char *want[] = {"hi", "there"};
    int wflags[] = {SN_ZMTP_FLAG_MORE, 0};
    size_t off = (size_t) used;
    for (int i = 0; i < 2; i++) {
        sn_zmtp_event ev;
        do { /* a message frame's header first, then the frame */
            int n = sn_zmtp_decoder_feed(&d, zmq_all + off, zlen - off, &ev);
            cr_assert_geq(n, 0);
            off += (size_t) n;
        } while (ev.type == SN_ZMTP_EV_FRAME_HEADER);
        cr_assert_eq(ev.type, SN_ZMTP_EV_FRAME, "MESSAGE %d not in a plain frame", i);
        sn_msg m;
        cr_assert_eq(sn_msg_init_buffer(&m, ev.data, (size_t) ev.size), 0);
        int flags = ev.flags;
        cr_assert_eq(ops->decode(st, &m, &flags), 0, "MESSAGE %d does not open", i);
        cr_assert_eq(flags, wflags[i]);
        cr_assert_eq(sn_msg_size(&m), strlen(want[i]));
        cr_assert_arr_eq(sn_msg_data(&m), want[i], strlen(want[i]));
        sn_msg_close(&m);
    }
    sn_zmtp_decoder_fini(&d);
    free(zmq_all);
    side_fini(&s);
    sn_test_vectors_free(&v);
}

/* ---- hostile handshakes ----------------------------------------------------------------- */

/* A server that has taken a good greeting, and the client's transcript up to HELLO and
 * (after a WELCOME from that server) INITIATE. */
typedef struct transcript {
    uint8_t hello[202], initiate[512];
    size_t initiate_len;
} transcript;

static void
record(transcript *t, side *c, side *s)
{
    sn_curve_random = fixed_random;
    transient_draws = 0;
    pump(c, s); /* client greeting (+ HELLO once the server's greeting arrives) */
    pump(s, c);
    size_t before = c->sent_len;
    pump(c, s); /* HELLO */
    cr_assert_eq(c->sent_len - before, 202);
    memcpy(t->hello, c->sent + before, 202);
    pump(s, c); /* WELCOME */
    before = c->sent_len;
    pump(c, s); /* INITIATE */
    t->initiate_len = c->sent_len - before;
    cr_assert_leq(t->initiate_len, sizeof t->initiate);
    memcpy(t->initiate, c->sent + before, t->initiate_len);
}

/* A fresh server past the greetings, fed bytes: its error (0 if it did not fail). */
static int
server_takes(const uint8_t *bytes, size_t len, side *keep)
{
    side s, *sp = keep ? keep : &s;
    uint8_t greeting[64];
    if (keep == NULL)
        side_init(&s, true, SN_ZMTP_ROUTER, fixed_s, NULL);
    sn_zmtp_greeting_build(greeting, "CURVE", false, 1);
    cr_assert_eq(sn_zmtp_handshake_feed(&sp->hs, greeting, 64), 64);
    int rc = sn_zmtp_handshake_feed(&sp->hs, bytes, len);
    int err = rc < 0 ? sn_zmtp_handshake_error(&sp->hs, NULL) : 0;
    if (keep == NULL)
        side_fini(&s);
    return err;
}

static void
good_transcript(transcript *t)
{
    side c, s;
    deterministic_pair(&c, &s);
    record(t, &c, &s);
    cr_assert_eq(sn_zmtp_handshake_state(&s.hs), SN_ZMTP_HS_DONE);
    side_fini(&c);
    side_fini(&s);
}

Test(curve, hello_truncated_or_garbled_refused)
{
    transcript t;
    good_transcript(&t);
    sn_curve_random = fixed_random;
    uint8_t h[202];
    /* One byte short (a 199-byte body in a well-formed frame). */
    memcpy(h, t.hello, 201);
    h[1] = 199;
    cr_expect_eq(server_takes(h, 201, NULL), SN_ZMTP_ERR_MALFORMED_COMMAND_HELLO);
    /* Wrong version. */
    memcpy(h, t.hello, 202);
    h[8] = 2;
    cr_expect_eq(server_takes(h, 202, NULL), SN_ZMTP_ERR_MALFORMED_COMMAND_HELLO);
    /* A flipped bit in the box, in C', in the nonce. */
    size_t at[] = {201, 150, 90, 120};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        memcpy(h, t.hello, 202);
        h[at[i]] ^= 0x40;
        cr_expect_eq(server_takes(h, 202, NULL), SN_ZMTP_ERR_CRYPTOGRAPHIC, "byte %zu", at[i]);
    }
    /* INITIATE or READY before HELLO. */
    cr_expect_eq(server_takes(t.initiate, t.initiate_len, NULL), SN_ZMTP_ERR_UNEXPECTED_COMMAND);
    uint8_t ready[64];
    size_t rl = (size_t) sn_zmtp_command_build_ready(ready, sizeof ready, NULL, 0);
    cr_expect_eq(server_takes(ready, rl, NULL), SN_ZMTP_ERR_UNEXPECTED_COMMAND);
    /* A truncated frame just waits for more: no failure, no crash. */
    cr_expect_eq(server_takes(t.hello, 100, NULL), 0);
}

/* A server that took the HELLO, then the given INITIATE bytes: its error. */
static int
server_after_hello(const uint8_t *hello, const uint8_t *init, size_t len)
{
    side s;
    side_init(&s, true, SN_ZMTP_ROUTER, fixed_s, NULL);
    cr_assert_eq(server_takes(hello, 202, &s), 0);
    int rc = sn_zmtp_handshake_feed(&s.hs, init, len);
    int err = rc < 0 ? sn_zmtp_handshake_error(&s.hs, NULL) : 0;
    side_fini(&s);
    return err;
}

Test(curve, initiate_truncated_garbled_replayed_refused)
{
    transcript t;
    good_transcript(&t);
    /* Same secrets as the recording: the server then mints the same cookie, and the
     * recorded INITIATE is accepted, which proves the checks below are the refusals. */
    sn_curve_random = fixed_random;
    transient_draws = 1;
    cr_assert_eq(server_after_hello(t.hello, t.initiate, t.initiate_len), 0);

    /* Garbled: the cookie, the short nonce, the box, the last byte. */
    size_t hdr = 9 + 9; /* long frame header + 08 "INITIATE" */
    size_t at[] = {hdr + 20, hdr + 96 + 7, hdr + 96 + 8 + 30, t.initiate_len - 1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        uint8_t bad[512];
        memcpy(bad, t.initiate, t.initiate_len);
        bad[at[i]] ^= 0x01;
        transient_draws = 1;
        cr_expect_eq(server_after_hello(t.hello, bad, t.initiate_len), SN_ZMTP_ERR_CRYPTOGRAPHIC,
                     "byte %zu", at[i]);
    }
    /* Truncated below the minimum (a 200-byte body). */
    uint8_t small[256];
    small[0] = 0x04;
    small[1] = 200;
    memcpy(small + 2, t.initiate + 9, 200);
    transient_draws = 1;
    cr_expect_eq(server_after_hello(t.hello, small, 202), SN_ZMTP_ERR_MALFORMED_COMMAND_INITIATE);

    /* Replayed on a new connection (a server with its own fresh secrets, as always in
     * real use): the cookie was made under another connection's K. */
    side s;
    transient_draws = 0; /* the server draws 33.. as s' now: another S', another cookie */
    side_init(&s, true, SN_ZMTP_ROUTER, fixed_s, NULL);
    cr_assert_eq(server_takes(t.hello, 202, &s), 0);
    cr_assert_lt(sn_zmtp_handshake_feed(&s.hs, t.initiate, t.initiate_len), 0);
    cr_expect_eq(sn_zmtp_handshake_error(&s.hs, NULL), SN_ZMTP_ERR_CRYPTOGRAPHIC);
    side_fini(&s);
}

/* Two live connections to one server key: INITIATE with the first one's cookie sent on
 * the second is refused. */
Test(curve, cookie_from_another_connection_refused)
{
    sn_curve_random = fixed_random;
    uint8_t server_pub[32];
    crypto_scalarmult_base(server_pub, fixed_s);
    side c1, s1, c2, s2;
    transient_draws = 0;
    side_init(&c1, false, SN_ZMTP_DEALER, fixed_c, server_pub);
    side_init(&s1, true, SN_ZMTP_ROUTER, fixed_s, NULL);
    side_init(&c2, false, SN_ZMTP_DEALER, fixed_c, server_pub);
    side_init(&s2, true, SN_ZMTP_ROUTER, fixed_s, NULL);
    transcript t1;
    record(&t1, &c1, &s1);
    transient_draws = 1; /* every transient from here on is 44..: c2 and s2 differ anyway */
    /* Connection 2 up to WELCOME, then connection 1's INITIATE in its place. */
    pump(&c2, &s2);
    pump(&s2, &c2);
    pump(&c2, &s2); /* HELLO */
    cr_assert_eq(sn_zmtp_handshake_state(&s2.hs), SN_ZMTP_HS_RUNNING);
    cr_assert_lt(sn_zmtp_handshake_feed(&s2.hs, t1.initiate, t1.initiate_len), 0);
    cr_expect_eq(sn_zmtp_handshake_error(&s2.hs, NULL), SN_ZMTP_ERR_CRYPTOGRAPHIC);
    side_fini(&c1);
    side_fini(&s1);
    side_fini(&c2);
    side_fini(&s2);
}

Test(curve, oversized_initiate_metadata_refused)
{
    transcript t;
    good_transcript(&t);
    sn_curve_random = fixed_random;
    transient_draws = 1;
    /* A 100 KB INITIATE: past the handshake's command limit, refused before any
     * allocation of that size is kept. */
    size_t body = 100000;
    uint8_t *big = calloc(1, 9 + body);
    big[0] = 0x06;
    for (int i = 0; i < 8; i++)
        big[1 + i] = (uint8_t) (body >> (56 - 8 * i));
    big[9] = 8;
    memcpy(big + 10, "INITIATE", 8);
    side s;
    side_init(&s, true, SN_ZMTP_ROUTER, fixed_s, NULL);
    cr_assert_eq(server_takes(t.hello, 202, &s), 0);
    cr_assert_lt(sn_zmtp_handshake_feed(&s.hs, big, 9 + body), 0);
    cr_expect_eq(sn_zmtp_handshake_state(&s.hs), SN_ZMTP_HS_FAILED);
    side_fini(&s);
    free(big);
}

/* The client side: a WELCOME of the wrong size or that does not open, an ERROR. */
Test(curve, client_refuses_bad_welcome_and_reports_error)
{
    uint8_t server_pub[32];
    crypto_scalarmult_base(server_pub, fixed_s);
    struct {
        int kind;
        int want;
    } cases[] = {{0, SN_ZMTP_ERR_MALFORMED_COMMAND_WELCOME},
                 {1, SN_ZMTP_ERR_CRYPTOGRAPHIC},
                 {2, SN_ZMTP_ERR_UNSPECIFIED},
                 {3, SN_ZMTP_ERR_UNEXPECTED_COMMAND}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        side c, s;
        sn_curve_random = fixed_random;
        transient_draws = 0;
        side_init(&c, false, SN_ZMTP_DEALER, fixed_c, server_pub);
        side_init(&s, true, SN_ZMTP_ROUTER, fixed_s, NULL);
        pump(&c, &s);
        pump(&s, &c);
        pump(&c, &s); /* HELLO in */
        const uint8_t *p;
        size_t len;
        sn_zmtp_handshake_output(&s.hs, &p, &len);
        uint8_t w[170];
        cr_assert_eq(len, 170);
        memcpy(w, p, 170);
        uint8_t bad[256];
        size_t bl = 170;
        memcpy(bad, w, 170);
        if (cases[i].kind == 0) {
            bad[1] = 167;
            bl = 169;
        } else if (cases[i].kind == 1) {
            bad[100] ^= 1;
        } else if (cases[i].kind == 2) {
            bl = (size_t) sn_zmtp_command_build_error(bad, sizeof bad, "400");
        } else {
            memcpy(bad, "\x04\x0a\x05HELLO", 8); /* a HELLO to the client */
            bl = 12;
        }
        int rc = sn_zmtp_handshake_feed(&c.hs, bad, bl);
        cr_expect_lt(rc, 0, "case %d accepted", cases[i].kind);
        cr_expect_eq(sn_zmtp_handshake_error(&c.hs, NULL), cases[i].want, "case %d: 0x%x",
                     cases[i].kind, sn_zmtp_handshake_error(&c.hs, NULL));
        if (cases[i].kind == 2)
            cr_expect_str_eq(c.hs.peer_error_reason, "400");
        side_fini(&c);
        side_fini(&s);
    }
}

Test(curve, client_refuses_garbled_ready)
{
    uint8_t server_pub[32];
    crypto_scalarmult_base(server_pub, fixed_s);
    for (int kind = 0; kind < 2; kind++) {
        side c, s;
        sn_curve_random = fixed_random;
        transient_draws = 0;
        side_init(&c, false, SN_ZMTP_DEALER, fixed_c, server_pub);
        side_init(&s, true, SN_ZMTP_ROUTER, fixed_s, NULL);
        for (int i = 0; i < 3; i++) {
            pump(&c, &s);
            if (i < 2)
                pump(&s, &c);
        }
        cr_assert_eq(sn_zmtp_handshake_state(&s.hs), SN_ZMTP_HS_DONE);
        const uint8_t *p;
        size_t len;
        sn_zmtp_handshake_output(&s.hs, &p, &len);
        cr_assert_eq(len, 67);
        uint8_t r[67];
        memcpy(r, p, 67);
        size_t rl = 67;
        if (kind == 0) {
            r[40] ^= 0x10;
        } else {
            r[1] = 20; /* a 20-byte body: below the 30 READY needs */
            rl = 22;
        }
        cr_expect_lt(sn_zmtp_handshake_feed(&c.hs, r, rl), 0);
        cr_expect_eq(sn_zmtp_handshake_error(&c.hs, NULL),
                     kind == 0 ? SN_ZMTP_ERR_CRYPTOGRAPHIC : SN_ZMTP_ERR_MALFORMED_COMMAND_READY);
        side_fini(&c);
        side_fini(&s);
    }
}

/* ---- MESSAGE decoding: nonces and boxes --------------------------------------------- */

static int
decode_body(const sn_mechanism_ops *ops, void *st, const uint8_t *frame, size_t len)
{
    sn_msg m;
    cr_assert_eq(sn_msg_init_buffer(&m, frame + 2, len - 2), 0);
    int flags = 0;
    int rc = ops->decode(st, &m, &flags);
    sn_msg_close(&m);
    return rc;
}

Test(curve, message_nonce_reuse_and_reorder_rejected)
{
    side c, s;
    deterministic_pair(&c, &s);
    run_handshake(&c, &s);
    const sn_mechanism_ops *ops;
    void *cst, *sst;
    cr_assert(sn_zmtp_handshake_codec(&c.hs, &ops, &cst));
    cr_assert(sn_zmtp_handshake_codec(&s.hs, &ops, &sst));
    uint8_t f3[64], f4[64], f5[64];
    size_t l3 = encode_frame(ops, cst, "a", 1, 0, f3);
    size_t l4 = encode_frame(ops, cst, "b", 1, 0, f4);
    size_t l5 = encode_frame(ops, cst, "c", 1, 0, f5);
    cr_assert_eq(decode_body(ops, sst, f4, l4), 0);      /* a gap is allowed */
    cr_assert_eq(decode_body(ops, sst, f4, l4), -EPROTO); /* reused */
    cr_assert_eq(decode_body(ops, sst, f3, l3), -EPROTO); /* older */
    uint8_t bad[64];
    memcpy(bad, f5, l5);
    bad[l5 - 1] ^= 1;
    cr_assert_eq(decode_body(ops, sst, bad, l5), -EPROTO); /* garbled box */
    memcpy(bad, f5, l5);
    bad[3] = 'X';
    cr_assert_eq(decode_body(ops, sst, bad, l5), -EPROTO); /* not a MESSAGE */
    cr_assert_eq(decode_body(ops, sst, f5, 20), -EPROTO);  /* too short */
    cr_assert_eq(decode_body(ops, sst, f5, l5), 0);      /* the real one still opens */
    side_fini(&c);
    side_fini(&s);
}

/* Large parts are encoded and decoded in place, whatever their size. */
Test(curve, large_frame_round_trip)
{
    side c, s;
    deterministic_pair(&c, &s);
    run_handshake(&c, &s);
    const sn_mechanism_ops *ops;
    void *cst, *sst;
    cr_assert(sn_zmtp_handshake_codec(&c.hs, &ops, &cst));
    cr_assert(sn_zmtp_handshake_codec(&s.hs, &ops, &sst));
    size_t sizes[] = {0, 15, 16, 47, 48, 100, 70000, 3u << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        uint8_t *d = malloc(n + 1);
        for (size_t j = 0; j < n; j++)
            d[j] = (uint8_t) (j * 7 + i);
        sn_msg m;
        cr_assert_eq(sn_msg_init_buffer(&m, d, n), 0);
        int flags = SN_ZMTP_FLAG_MORE;
        cr_assert_eq(ops->encode(cst, &m, &flags), 0);
        cr_assert_eq(flags, 0);
        cr_assert_eq(sn_msg_size(&m), n + 33);
        cr_assert_eq(ops->decode(sst, &m, &flags), 0);
        cr_assert_eq(flags, SN_ZMTP_FLAG_MORE);
        cr_assert_eq(sn_msg_size(&m), n);
        cr_assert(n == 0 || memcmp(sn_msg_data(&m), d, n) == 0, "size %zu differs", n);
        sn_msg_close(&m);
        free(d);
    }
    side_fini(&c);
    side_fini(&s);
}
