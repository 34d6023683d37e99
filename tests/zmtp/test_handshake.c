/* Handshake state machine (src/zmtp/handshake.c + null.c) replayed against libzmq 4.3.4
 * conversations (tests/vectors/null_*.hex): our bytes must equal libzmq's, at the same
 * moments, and every malformed peer input must end in FAILED with the right code. */
#include <errno.h>
#include <stdlib.h>

#include "zmtp/handshake.h"
#include "zmtp_test.h"

TestSuite(zmtp_handshake, .timeout = 10.0);

typedef struct {
    uint8_t buf[8192];
    size_t len;
} zt_acc;

/* Take everything the handshake wants to send. */
static void
drain(sn_zmtp_handshake *hs, zt_acc *acc)
{
    const uint8_t *p;
    size_t n;
    sn_zmtp_handshake_output(hs, &p, &n);
    cr_assert_leq(acc->len + n, sizeof acc->buf);
    if (n)
        memcpy(acc->buf + acc->len, p, n);
    acc->len += n;
    sn_zmtp_handshake_output_consumed(hs, n);
    sn_zmtp_handshake_output(hs, &p, &n);
    cr_assert_eq(n, 0, "output not empty after consuming it all");
}

static void
hs_start(sn_zmtp_handshake *hs, int type, const char *rid)
{
    sn_zmtp_handshake_config cfg = {
        .socket_type = type,
        .routing_id = (const uint8_t *)rid,
        .routing_id_len = rid ? strlen(rid) : 0,
        .maxmsgsize = -1,
    };
    cr_assert_eq(sn_zmtp_handshake_init(hs, &cfg), 0);
}

static bool
is_handshake_label(const char *label)
{
    return strncmp(label, "greeting", 8) == 0 || strncmp(label, "READY", 5) == 0;
}

/* We play libzmq's side (the bound socket named in the file): feed the raw peer's
 * segments in order and check that before each one we have written exactly the bytes
 * libzmq had written at that point — the staged greeting included. */
static void
replay_as_libzmq(const char *file, int type, const char *rid, int peer_type)
{
    sn_test_vectors v = zt_load(file);
    sn_zmtp_handshake hs;
    zt_acc ours = {.len = 0}, want = {.len = 0};
    hs_start(&hs, type, rid);
    for (size_t i = 0; i < v.n; i++) {
        const sn_test_segment *s = &v.seg[i];
        if (!is_handshake_label(s->label))
            continue;
        if (strcmp(s->dir, "zmq") == 0) {
            memcpy(want.buf + want.len, s->data, s->len);
            want.len += s->len;
        } else if (strcmp(s->dir, "peer") == 0) {
            drain(&hs, &ours);
            char what[256];
            snprintf(what, sizeof what, "%s: our output before peer '%s'", file, s->label);
            zt_assert_bytes(ours.buf, ours.len, want.buf, want.len, what);
            cr_assert_eq(sn_zmtp_handshake_feed(&hs, s->data, s->len), (int)s->len,
                         "%s: feeding '%s'", file, s->label);
        }
    }
    drain(&hs, &ours);
    zt_assert_bytes(ours.buf, ours.len, want.buf, want.len, file);
    const char *why = NULL;
    cr_assert_eq(sn_zmtp_handshake_state(&hs), SN_ZMTP_HS_DONE, "%s: not done (%s)", file,
                 (sn_zmtp_handshake_error(&hs, &why), why));
    const sn_zmtp_handshake_result *r = sn_zmtp_handshake_result_get(&hs);
    cr_assert_eq(r->peer_socket_type, peer_type, "%s", file);
    cr_assert_eq(r->peer_major, 3);
    cr_assert_eq(r->peer_minor, 1);
    cr_assert_eq(r->zmtp_minor, 1);
    cr_assert_str_eq(r->peer_mechanism, "NULL");
    cr_assert_eq(r->peer_routing_id_len, 0);
    sn_zmtp_handshake_fini(&hs);
    sn_test_vectors_free(&v);
}

static const struct {
    const char *file;
    int lz_type;   /* libzmq's (bound) socket */
    int peer_type; /* what the raw peer claimed */
    const char *peer_file; /* capture of a libzmq socket of peer_type, for its READY */
} conversations[] = {
    {"null_pair.hex", SN_ZMTP_PAIR, SN_ZMTP_PAIR, "null_pair.hex"},
    {"null_pub.hex", SN_ZMTP_PUB, SN_ZMTP_SUB, "null_sub.hex"},
    {"null_sub.hex", SN_ZMTP_SUB, SN_ZMTP_PUB, "null_pub.hex"},
    {"null_req.hex", SN_ZMTP_REQ, SN_ZMTP_REP, "null_rep.hex"},
    {"null_rep.hex", SN_ZMTP_REP, SN_ZMTP_REQ, "null_req.hex"},
    {"null_dealer.hex", SN_ZMTP_DEALER, SN_ZMTP_ROUTER, "null_router.hex"},
    {"null_router.hex", SN_ZMTP_ROUTER, SN_ZMTP_DEALER, "null_dealer.hex"},
    {"null_pull.hex", SN_ZMTP_PULL, SN_ZMTP_PUSH, "null_push.hex"},
    {"null_push.hex", SN_ZMTP_PUSH, SN_ZMTP_PULL, "null_pull.hex"},
    {"null_xpub.hex", SN_ZMTP_XPUB, SN_ZMTP_XSUB, "null_xsub.hex"},
    {"null_xsub.hex", SN_ZMTP_XSUB, SN_ZMTP_XPUB, "null_xpub.hex"},
};
#define NCONV (sizeof conversations / sizeof conversations[0])

/* RFC 37 + reference §2.2/§5.1: greeting stages, padding 00..01, READY property order and
 * Identity for REQ/DEALER/ROUTER only: all of it byte-equal to libzmq, for every type. */
Test(zmtp_handshake, reproduces_libzmq_bytes_for_every_socket_type)
{
    for (size_t i = 0; i < NCONV; i++)
        replay_as_libzmq(conversations[i].file, conversations[i].lz_type, NULL,
                         conversations[i].peer_type);
}

/* Reference §2.3: padding = routing id length + 1; READY carries Identity "client-7". */
Test(zmtp_handshake, routing_id_goes_in_padding_and_identity)
{
    replay_as_libzmq("null_dealer_routing_id.hex", SN_ZMTP_DEALER, "client-7", SN_ZMTP_ROUTER);
}

/* The other side of each conversation: we are the connecting peer, libzmq's bytes are
 * our input. Our READY must be what a libzmq socket of our type sends (its own capture),
 * and the handshake must identify libzmq's type. */
Test(zmtp_handshake, accepts_libzmq_as_peer_for_every_socket_type)
{
    for (size_t i = 0; i < NCONV; i++) {
        sn_test_vectors v = zt_load(conversations[i].file);
        sn_test_vectors pv = zt_load(conversations[i].peer_file);
        sn_zmtp_handshake hs;
        zt_acc ours = {.len = 0};
        hs_start(&hs, conversations[i].peer_type, NULL);
        uint8_t *in;
        size_t n = sn_test_vectors_concat(&v, "zmq", 0, (size_t)-1, &in);
        cr_assert_eq(sn_zmtp_handshake_feed(&hs, in, n), (int)n, "%s", conversations[i].file);
        cr_assert_eq(sn_zmtp_handshake_state(&hs), SN_ZMTP_HS_DONE, "%s",
                     conversations[i].file);
        cr_assert_eq(sn_zmtp_handshake_result_get(&hs)->peer_socket_type,
                     conversations[i].lz_type);
        drain(&hs, &ours);
        const sn_test_segment *g = zt_seg(&pv, "zmq", "greeting[0:10]");
        zt_assert_bytes(ours.buf, 10, g->data, 10, "signature");
        const sn_test_segment *ready = zt_seg(&pv, "zmq", "READY");
        cr_assert_eq(ours.len, 64 + ready->len);
        zt_assert_bytes(ours.buf + 64, ours.len - 64, ready->data, ready->len,
                        conversations[i].peer_file);
        free(in);
        sn_zmtp_handshake_fini(&hs);
        sn_test_vectors_free(&v);
        sn_test_vectors_free(&pv);
    }
}

/* libzmq DEALER connecting: it sends 10 bytes, we (listener, ROUTER) answer with our
 * whole greeting; its READY and first message may arrive in one read. The handshake must
 * stop exactly after READY so the message reaches the traffic decoder. */
Test(zmtp_handshake, stops_at_the_first_traffic_byte)
{
    sn_test_vectors v = zt_load("null_dealer_connects.hex");
    sn_zmtp_handshake hs;
    hs_start(&hs, SN_ZMTP_ROUTER, NULL);
    uint8_t *in;
    size_t n = sn_test_vectors_concat(&v, "zmq", 0, (size_t)-1, &in);
    const sn_test_segment *msg = zt_seg(&v, "zmq", "message");
    cr_assert_eq(sn_zmtp_handshake_feed(&hs, in, n), (int)(n - msg->len));
    cr_assert_eq(sn_zmtp_handshake_state(&hs), SN_ZMTP_HS_DONE);
    cr_assert_eq(sn_zmtp_handshake_feed(&hs, in + n - msg->len, msg->len), 0,
                 "a finished handshake must not eat traffic");
    sn_zmtp_decoder d;
    sn_zmtp_event ev;
    sn_zmtp_decoder_init(&d, NULL);
    const uint8_t *p = in + n - msg->len;
    size_t left = msg->len;
    int rc = sn_zmtp_decoder_feed(&d, p, left, &ev);
    cr_assert_eq(ev.type, SN_ZMTP_EV_FRAME_HEADER);
    rc += sn_zmtp_decoder_feed(&d, p + rc, left - (size_t)rc, &ev);
    cr_assert_eq(ev.type, SN_ZMTP_EV_FRAME);
    zt_assert_bytes(ev.data, ev.size, "from-connecter", 14, "first message");
    cr_assert_eq((size_t)rc, left);
    sn_zmtp_decoder_fini(&d);
    free(in);
    sn_zmtp_handshake_fini(&hs);
    sn_test_vectors_free(&v);
}

/* Run a handshake of type `type` over `in`, fed in chunks of `chunk` bytes (0 = all at
 * once), collecting output. Returns the last feed result. */
static int
run(sn_zmtp_handshake *hs, int type, const uint8_t *in, size_t n, size_t chunk, zt_acc *out)
{
    hs_start(hs, type, NULL);
    int rc = 0;
    size_t at = 0;
    drain(hs, out);
    while (at < n) {
        size_t c = chunk ? chunk : n - at;
        if (c > n - at)
            c = n - at;
        rc = sn_zmtp_handshake_feed(hs, in + at, c);
        drain(hs, out);
        if (rc < 0 || sn_zmtp_handshake_state(hs) != SN_ZMTP_HS_RUNNING) {
            if (rc >= 0)
                at += (size_t)rc;
            break;
        }
        cr_assert_eq((size_t)rc, c, "a running handshake consumes every byte");
        at += c;
    }
    return rc;
}

/* A valid peer stream: 3.1 greeting + READY(Socket-Type=ROUTER, Identity="peer-A",
 * X-Hello="world"), what a ROUTER with a routing id would send to our DEALER. */
static const char peer_greeting_hex[] =
    "ff00000000000000077f03014e554c4c00000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000";
static const char peer_ready_hex[] =
    "0440" "05" "5245414459"                        /* READY */
    "0b" "536f636b65742d54797065" "00000006" "524f55544552"  /* Socket-Type ROUTER */
    "08" "4964656e74697479" "00000006" "706565722d41"         /* Identity peer-A */
    "07" "582d48656c6c6f" "00000005" "776f726c64";            /* X-Hello world */

static size_t
peer_stream(uint8_t **out)
{
    uint8_t *g, *r;
    size_t gl = sn_test_hex(peer_greeting_hex, &g), rl = sn_test_hex(peer_ready_hex, &r);
    cr_assert_eq(gl, 64);
    cr_assert_eq(r[1], rl - 2, "test vector READY size byte");
    *out = malloc(gl + rl);
    memcpy(*out, g, gl);
    memcpy(*out + gl, r, rl);
    free(g);
    free(r);
    return gl + rl;
}

/* Sans-I/O: the bytes produced and the result cannot depend on how input is chunked. */
Test(zmtp_handshake, byte_at_a_time_equals_bulk)
{
    uint8_t *in;
    size_t n = peer_stream(&in);
    static const size_t chunks[] = {0, 1, 2, 3, 7, 10, 11, 53, 64, 65};
    zt_acc ref = {.len = 0};
    sn_zmtp_handshake hs;
    cr_assert_eq(run(&hs, SN_ZMTP_DEALER, in, n, 0, &ref), (int)n);
    cr_assert_eq(sn_zmtp_handshake_state(&hs), SN_ZMTP_HS_DONE);
    const sn_zmtp_handshake_result *r = sn_zmtp_handshake_result_get(&hs);
    cr_assert_eq(r->peer_socket_type, SN_ZMTP_ROUTER);
    zt_assert_bytes(r->peer_routing_id, r->peer_routing_id_len, "peer-A", 6, "routing id");
    sn_zmtp_property p;
    cr_assert_eq(sn_zmtp_metadata_find(r->peer_metadata, r->peer_metadata_len, "x-hello", &p), 1,
                 "application property kept, found case-insensitively");
    zt_assert_bytes(p.value, p.value_len, "world", 5, "X-Hello");
    sn_zmtp_handshake_fini(&hs);
    for (size_t i = 1; i < sizeof chunks / sizeof chunks[0]; i++) {
        zt_acc out = {.len = 0};
        run(&hs, SN_ZMTP_DEALER, in, n, chunks[i], &out);
        cr_assert_eq(sn_zmtp_handshake_state(&hs), SN_ZMTP_HS_DONE, "chunk %zu", chunks[i]);
        zt_assert_bytes(out.buf, out.len, ref.buf, ref.len, "output vs bulk");
        r = sn_zmtp_handshake_result_get(&hs);
        zt_assert_bytes(r->peer_routing_id, r->peer_routing_id_len, "peer-A", 6, "routing id");
        sn_zmtp_handshake_fini(&hs);
    }
    free(in);
}

/* RFC 37 "Version Negotiation": a 3.0 peer is spoken to as 3.0 (its subscriptions are
 * messages); 3.2 and 4.0 are accepted as 3.1 (as libzmq does). */
Test(zmtp_handshake, version_negotiation)
{
    static const struct {
        uint8_t major, minor, expect_minor;
    } cases[] = {{3, 0, 0}, {3, 1, 1}, {3, 2, 1}, {4, 0, 1}, {255, 255, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *in;
        size_t n = peer_stream(&in);
        in[10] = cases[i].major;
        in[11] = cases[i].minor;
        sn_zmtp_handshake hs;
        zt_acc out = {.len = 0};
        cr_assert_eq(run(&hs, SN_ZMTP_DEALER, in, n, 0, &out), (int)n);
        cr_assert_eq(sn_zmtp_handshake_state(&hs), SN_ZMTP_HS_DONE);
        const sn_zmtp_handshake_result *r = sn_zmtp_handshake_result_get(&hs);
        cr_assert_eq(r->zmtp_minor, cases[i].expect_minor, "%d.%d", cases[i].major,
                     cases[i].minor);
        cr_assert_eq(r->peer_major, cases[i].major);
        cr_assert_eq(out.buf[11], 1, "we always announce 3.1");
        sn_zmtp_handshake_fini(&hs);
        free(in);
    }
}

/* The ZMTP 3.0 capture: peer greets 3.0, handshake completes, zmtp_minor 0. */
Test(zmtp_handshake, zmtp30_peer_from_capture)
{
    sn_test_vectors v = zt_load("sub_subscribe_zmtp30.hex");
    sn_zmtp_handshake hs;
    zt_acc out = {.len = 0};
    uint8_t *in;
    size_t n = sn_test_vectors_concat(&v, "peer", 0, (size_t)-1, &in);
    cr_assert_eq(run(&hs, SN_ZMTP_SUB, in, n, 0, &out), (int)n);
    cr_assert_eq(sn_zmtp_handshake_state(&hs), SN_ZMTP_HS_DONE);
    cr_assert_eq(sn_zmtp_handshake_result_get(&hs)->zmtp_minor, 0);
    cr_assert_eq(sn_zmtp_handshake_result_get(&hs)->peer_socket_type, SN_ZMTP_PUB);
    const sn_test_segment *ready = zt_seg(&v, "zmq", "READY");
    zt_assert_bytes(out.buf + 64, out.len - 64, ready->data, ready->len, "SUB READY");
    free(in);
    sn_zmtp_handshake_fini(&hs);
    sn_test_vectors_free(&v);
}

/* A ZMTP 2.0 peer (capture compat_zmtp20_peer.hex): refused cleanly, no crash, and we
 * never sent more than signature + major. */
Test(zmtp_handshake, refuses_zmtp20_peer)
{
    sn_test_vectors v = zt_load("compat_zmtp20_peer.hex");
    const sn_test_segment *g = zt_seg(&v, "peer", "ZMTP/2.0");
    sn_zmtp_handshake hs;
    zt_acc out = {.len = 0};
    cr_assert_eq(run(&hs, SN_ZMTP_DEALER, g->data, g->len, 1, &out), -EPROTO);
    cr_assert_eq(sn_zmtp_handshake_state(&hs), SN_ZMTP_HS_FAILED);
    cr_assert_eq(sn_zmtp_handshake_error(&hs, NULL), SN_ZMTP_ERR_UNSPECIFIED);
    cr_assert_eq(out.len, 11);
    cr_assert_eq(sn_zmtp_handshake_feed(&hs, g->data, 1), -EPROTO, "errors are sticky");
    sn_zmtp_handshake_fini(&hs);
    sn_test_vectors_free(&v);
}

/* Malformed or refused peer input, as a table: each case patches the valid stream (or
 * replaces what follows the greeting) and must fail with the listed code, never crash. */
typedef struct {
    const char *name;
    int at;              /* offset to patch, -1: none */
    uint8_t byte;        /* value to put there */
    const char *after;   /* hex replacing everything after the greeting, NULL: keep */
    int64_t maxmsgsize;
    int rc;              /* expected feed result */
    int error;           /* expected SN_ZMTP_ERR_* */
    const char *error_sent; /* reason of the ERROR we must send, NULL: none */
} bad_case;

static const bad_case bad_cases[] = {
    {"signature byte 0 not ff", 0, 0x00, NULL, -1, -EPROTO, SN_ZMTP_ERR_UNSPECIFIED, NULL},
    {"http request", 0, 'G', NULL, -1, -EPROTO, SN_ZMTP_ERR_UNSPECIFIED, NULL},
    {"signature byte 9 lsb 0 (ZMTP 1.0)", 9, 0x7e, NULL, -1, -EPROTO, SN_ZMTP_ERR_UNSPECIFIED,
     NULL},
    {"version 2", 10, 0x02, NULL, -1, -EPROTO, SN_ZMTP_ERR_UNSPECIFIED, NULL},
    {"version 0", 10, 0x00, NULL, -1, -EPROTO, SN_ZMTP_ERR_UNSPECIFIED, NULL},
    {"mechanism PLAIN", 12, 'X', NULL, -1, -EPROTO, SN_ZMTP_ERR_MECHANISM_MISMATCH, NULL},
    {"mechanism with trailing garbage", 20, 0x01, NULL, -1, -EPROTO,
     SN_ZMTP_ERR_MECHANISM_MISMATCH, NULL},
    {"mechanism lower case", 12, 'n', NULL, -1, -EPROTO, SN_ZMTP_ERR_MECHANISM_MISMATCH, NULL},
    {"reserved flag bit", -1, 0, "0805aabbccddee", -1, -EPROTO, SN_ZMTP_ERR_UNSPECIFIED, NULL},
    {"command with MORE", -1, 0, "05060552454144590000", -1, -EPROTO,
     SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED, NULL},
    {"empty command", -1, 0, "0400", -1, -EPROTO, SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED,
     NULL},
    {"name longer than body", -1, 0, "04030952454144", -1, -EPROTO,
     SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED, NULL},
    {"zero-length name", -1, 0, "0402000a", -1, -EPROTO,
     SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED, NULL},
    {"unknown command", -1, 0, "0404034641540a", -1, -EPROTO, SN_ZMTP_ERR_UNEXPECTED_COMMAND,
     NULL},
    {"PING during handshake", -1, 0, "04070450494e470032", -1, -EPROTO,
     SN_ZMTP_ERR_UNEXPECTED_COMMAND, NULL},
    {"message before READY", -1, 0, "000568656c6c6f", -1, -EPROTO,
     SN_ZMTP_ERR_UNEXPECTED_COMMAND, NULL},
    {"READY stray trailing byte", -1, 0,
     "041d0552454144590b536f636b65742d5479706500000006524f55544552ff", -1, -EPROTO,
     SN_ZMTP_ERR_MALFORMED_COMMAND_READY, NULL},
    {"READY value length past end", -1, 0,
     "04190552454144590b536f636b65742d5479706500000906524f555445", -1, -EPROTO,
     SN_ZMTP_ERR_MALFORMED_COMMAND_READY, NULL},
    {"READY value length >= 2^31", -1, 0,
     "04190552454144590b536f636b65742d5479706580000006524f555445", -1, -EPROTO,
     SN_ZMTP_ERR_INVALID_METADATA, NULL},
    {"READY garbage property name", -1, 0,
     "04190552454144590b536f636b6574205479706500000006524f555445", -1, -EPROTO,
     SN_ZMTP_ERR_INVALID_METADATA, NULL},
    {"READY wrong socket type", -1, 0,
     "04190552454144590b536f636b65742d5479706500000003505542", -1, -EPROTO,
     SN_ZMTP_ERR_INVALID_METADATA, "invalid socket type"},
    {"READY unknown socket type", -1, 0,
     "04190552454144590b536f636b65742d5479706500000003464f4f", -1, -EPROTO,
     SN_ZMTP_ERR_INVALID_METADATA, "invalid socket type"},
    {"READY lower-case name does not bypass the type check", -1, 0,
     "04190552454144590b736f636b65742d7479706500000003505542", -1, -EPROTO,
     SN_ZMTP_ERR_INVALID_METADATA, "invalid socket type"},
    {"READY identity starting with 00", -1, 0,
     "042b0552454144590b536f636b65742d5479706500000006524f55544552"
     "084964656e7469747900000002" "00ff", -1, -EPROTO, SN_ZMTP_ERR_INVALID_METADATA,
     "invalid identity"},
    {"ERROR from peer", -1, 0, "040a054552524f5203343030", -1, -EPROTO,
     SN_ZMTP_ERR_UNSPECIFIED, NULL},
    {"ERROR with bad reason length", -1, 0, "040a054552524f5209343030", -1, -EPROTO,
     SN_ZMTP_ERR_MALFORMED_COMMAND_ERROR, NULL},
    {"command over maxmsgsize", -1, 0,
     "041e0552454144590b536f636b65742d5479706500000006524f55544552", 20, -EMSGSIZE,
     SN_ZMTP_ERR_UNSPECIFIED, NULL},
    {"frame size >= 2^63", -1, 0, "068000000000000000", -1, -EPROTO, SN_ZMTP_ERR_UNSPECIFIED,
     NULL},
    {"command over the command cap", -1, 0, "060000000000100000", -1, -EMSGSIZE,
     SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED, NULL},
};

/* Find an ERROR command (reason) in our output after the greeting. */
static bool
output_has_error(const zt_acc *out, const char *reason)
{
    uint8_t want[300];
    ssize_t wl = sn_zmtp_command_build_error(want, sizeof want, reason);
    if (out->len < 64 + (size_t)wl)
        return false;
    return memcmp(out->buf + out->len - wl, want, (size_t)wl) == 0;
}

static void
check_bad_case(const bad_case *c, size_t chunk)
{
    uint8_t *in;
    size_t n = peer_stream(&in);
    if (c->after) {
        uint8_t *a;
        size_t al = sn_test_hex(c->after, &a);
        in = realloc(in, 64 + al);
        memcpy(in + 64, a, al);
        n = 64 + al;
        free(a);
    }
    if (c->at >= 0)
        in[c->at] = c->byte;
    sn_zmtp_handshake hs;
    sn_zmtp_handshake_config cfg = {.socket_type = SN_ZMTP_DEALER, .maxmsgsize = c->maxmsgsize};
    cr_assert_eq(sn_zmtp_handshake_init(&hs, &cfg), 0);
    zt_acc out = {.len = 0};
    int rc = 0;
    for (size_t at = 0; at < n; at += chunk) {
        size_t k = chunk < n - at ? chunk : n - at;
        rc = sn_zmtp_handshake_feed(&hs, in + at, k);
        drain(&hs, &out);
        if (rc < 0)
            break;
    }
    const char *why = NULL;
    cr_assert_eq(rc, c->rc, "%s (chunk %zu): rc %d", c->name, chunk, rc);
    cr_assert_eq(sn_zmtp_handshake_state(&hs), SN_ZMTP_HS_FAILED, "%s", c->name);
    cr_assert_eq(sn_zmtp_handshake_error(&hs, &why), c->error, "%s: error %#x (%s)", c->name,
                 sn_zmtp_handshake_error(&hs, NULL), why);
    cr_assert(why && why[0], "%s: a human-readable reason", c->name);
    if (c->error_sent)
        cr_assert(output_has_error(&out, c->error_sent), "%s: ERROR '%s' sent", c->name,
                  c->error_sent);
    else
        cr_assert_leq(out.len, 64 + 43, "%s: no ERROR expected (greeting + READY only)",
                      c->name);
    cr_assert_eq(sn_zmtp_handshake_feed(&hs, in, 1), c->rc, "%s: sticky", c->name);
    sn_zmtp_handshake_fini(&hs);
    free(in);
}

Test(zmtp_handshake, malformed_input_fails_cleanly)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        check_bad_case(&bad_cases[i], 4096);
        check_bad_case(&bad_cases[i], 1);
    }
}

/* RFC 37: an ERROR received is fatal; its reason is kept for the monitor. */
Test(zmtp_handshake, peer_error_reason_is_reported)
{
    uint8_t *in;
    size_t n = peer_stream(&in);
    uint8_t *e;
    size_t el = sn_test_hex("040a054552524f5203343030", &e);
    memcpy(in + 64, e, el);
    sn_zmtp_handshake hs;
    zt_acc out = {.len = 0};
    cr_assert_eq(run(&hs, SN_ZMTP_DEALER, in, 64 + el, 0, &out), -EPROTO);
    cr_assert(hs.peer_sent_error);
    cr_assert_str_eq(hs.peer_error_reason, "400");
    sn_zmtp_handshake_fini(&hs);
    free(in);
    free(e);
    (void)n;
}

/* A READY without Socket-Type is accepted (libzmq does; reference §6). */
Test(zmtp_handshake, missing_socket_type_is_accepted)
{
    uint8_t *in;
    peer_stream(&in);
    static const uint8_t ready[] = {0x04, 0x06, 0x05, 'R', 'E', 'A', 'D', 'Y'};
    memcpy(in + 64, ready, sizeof ready);
    sn_zmtp_handshake hs;
    zt_acc out = {.len = 0};
    cr_assert_eq(run(&hs, SN_ZMTP_DEALER, in, 64 + sizeof ready, 0, &out), 72);
    cr_assert_eq(sn_zmtp_handshake_state(&hs), SN_ZMTP_HS_DONE);
    cr_assert_eq(sn_zmtp_handshake_result_get(&hs)->peer_socket_type, -1);
    sn_zmtp_handshake_fini(&hs);
    free(in);
}

/* greeting_whole: all 64 bytes go out at once, and are the same bytes. */
Test(zmtp_handshake, whole_greeting_option)
{
    sn_test_vectors v = zt_load("null_dealer.hex");
    uint8_t *want;
    size_t wl = sn_test_vectors_concat(&v, "zmq", 0, 3, &want);
    sn_zmtp_handshake hs;
    sn_zmtp_handshake_config cfg = {.socket_type = SN_ZMTP_DEALER, .maxmsgsize = -1,
                                    .greeting_whole = true};
    cr_assert_eq(sn_zmtp_handshake_init(&hs, &cfg), 0);
    zt_acc out = {.len = 0};
    drain(&hs, &out);
    zt_assert_bytes(out.buf, out.len, want, wl, "whole greeting");
    sn_zmtp_handshake_fini(&hs);
    free(want);
    sn_test_vectors_free(&v);
}

/* Configuration errors are reported, not asserted. */
Test(zmtp_handshake, bad_config_is_einval)
{
    sn_zmtp_handshake hs;
    uint8_t rid[256] = {1};
    sn_zmtp_handshake_config cfg = {.socket_type = 99, .maxmsgsize = -1};
    cr_assert_eq(sn_zmtp_handshake_init(&hs, &cfg), -EINVAL);
    cfg.socket_type = SN_ZMTP_STREAM;
    cr_assert_eq(sn_zmtp_handshake_init(&hs, &cfg), -EINVAL);
    cfg.socket_type = SN_ZMTP_DEALER;
    cfg.routing_id = rid;
    cfg.routing_id_len = sizeof rid;
    cr_assert_eq(sn_zmtp_handshake_init(&hs, &cfg), -EINVAL);
    sn_zmtp_property bad = {.name = "bad name", .value = rid, .value_len = 1};
    cfg.routing_id_len = 0;
    cfg.properties = &bad;
    cfg.nproperties = 1;
    cr_assert_eq(sn_zmtp_handshake_init(&hs, &cfg), -EINVAL);
}

/* RFC 37/28-31 compatibility table, both directions and a few refusals. */
Test(zmtp_handshake, socket_type_table)
{
    static const int ok[][2] = {
        {SN_ZMTP_PAIR, SN_ZMTP_PAIR},     {SN_ZMTP_PUB, SN_ZMTP_SUB},
        {SN_ZMTP_PUB, SN_ZMTP_XSUB},      {SN_ZMTP_XPUB, SN_ZMTP_SUB},
        {SN_ZMTP_XPUB, SN_ZMTP_XSUB},     {SN_ZMTP_REQ, SN_ZMTP_REP},
        {SN_ZMTP_REQ, SN_ZMTP_ROUTER},    {SN_ZMTP_REP, SN_ZMTP_DEALER},
        {SN_ZMTP_DEALER, SN_ZMTP_DEALER}, {SN_ZMTP_ROUTER, SN_ZMTP_ROUTER},
        {SN_ZMTP_PUSH, SN_ZMTP_PULL},     {SN_ZMTP_CLIENT, SN_ZMTP_SERVER},
        {SN_ZMTP_RADIO, SN_ZMTP_DISH},    {SN_ZMTP_SCATTER, SN_ZMTP_GATHER},
        {SN_ZMTP_PEER, SN_ZMTP_PEER},     {SN_ZMTP_CHANNEL, SN_ZMTP_CHANNEL},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        cr_assert(sn_zmtp_socket_type_compatible(ok[i][0], ok[i][1]), "%d-%d", ok[i][0], ok[i][1]);
        cr_assert(sn_zmtp_socket_type_compatible(ok[i][1], ok[i][0]), "%d-%d", ok[i][1], ok[i][0]);
    }
    static const int bad[][2] = {
        {SN_ZMTP_PAIR, SN_ZMTP_PUSH}, {SN_ZMTP_PUB, SN_ZMTP_PUB},   {SN_ZMTP_SUB, SN_ZMTP_SUB},
        {SN_ZMTP_REQ, SN_ZMTP_REQ},   {SN_ZMTP_REQ, SN_ZMTP_DEALER}, {SN_ZMTP_REP, SN_ZMTP_ROUTER},
        {SN_ZMTP_REP, SN_ZMTP_REP},   {SN_ZMTP_PUSH, SN_ZMTP_PUSH},  {SN_ZMTP_PULL, SN_ZMTP_PULL},
        {SN_ZMTP_PUB, SN_ZMTP_PULL},  {SN_ZMTP_STREAM, SN_ZMTP_STREAM}, {-1, 0}, {0, 99},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert(!sn_zmtp_socket_type_compatible(bad[i][0], bad[i][1]), "%d-%d", bad[i][0],
                  bad[i][1]);
    for (int t = 0; t <= SN_ZMTP_CHANNEL; t++) {
        const char *nm = sn_zmtp_socket_type_name(t);
        if (nm)
            cr_assert_eq(sn_zmtp_socket_type_from_name((const uint8_t *)nm, strlen(nm)), t);
    }
    cr_assert_eq(sn_zmtp_socket_type_from_name((const uint8_t *)"dealer", 6), -1);
}

/* Big metadata both ways: our READY becomes a LONG command frame; the peer's READY is
 * larger than the decoder's inline buffer. Partial writes keep the byte order. */
Test(zmtp_handshake, large_ready_and_partial_writes)
{
    static uint8_t big[3000];
    memset(big, 'b', sizeof big);
    sn_zmtp_property xp = {.name = "X-Big", .value = big, .value_len = sizeof big};
    sn_zmtp_handshake hs;
    sn_zmtp_handshake_config cfg = {.socket_type = SN_ZMTP_PUSH, .maxmsgsize = -1,
                                    .properties = &xp, .nproperties = 1,
                                    .greeting_whole = true};
    cr_assert_eq(sn_zmtp_handshake_init(&hs, &cfg), 0);

    /* Peer (PULL) greeting + READY(Socket-Type PULL, X-Big 3000 bytes), built by hand. */
    static uint8_t in[64 + 9 + 6 + 20 + 10 + sizeof big];
    uint8_t *g;
    sn_test_hex(peer_greeting_hex, &g);
    memcpy(in, g, 64);
    free(g);
    size_t body = 6 + (1 + 11 + 4 + 4) + (1 + 5 + 4 + sizeof big);
    uint8_t *p = in + 64;
    p += sn_zmtp_frame_header(p, SN_ZMTP_FLAG_COMMAND, body);
    memcpy(p, "\x05READY\x0bSocket-Type\0\0\0\x04PULL\x05X-Big\0\0\x0b\xb8", 6 + 20 + 10);
    p += 6 + 20 + 10;
    memcpy(p, big, sizeof big);
    p += sizeof big;
    size_t n = (size_t)(p - in);

    /* Write out our output 7 bytes at a time while feeding. */
    static uint8_t sent[8192];
    size_t sl = 0;
    cr_assert_eq(sn_zmtp_handshake_feed(&hs, in, n), (int)n);
    cr_assert_eq(sn_zmtp_handshake_state(&hs), SN_ZMTP_HS_DONE);
    for (;;) {
        const uint8_t *o;
        size_t ol;
        sn_zmtp_handshake_output(&hs, &o, &ol);
        if (ol == 0)
            break;
        size_t k = ol < 7 ? ol : 7;
        memcpy(sent + sl, o, k);
        sl += k;
        sn_zmtp_handshake_output_consumed(&hs, k);
    }
    size_t our_body = 6 + (1 + 11 + 4 + 4) + (1 + 5 + 4 + sizeof big);
    cr_assert_eq(sl, 64 + 9 + our_body);
    cr_assert_eq(sent[64], SN_ZMTP_FLAG_COMMAND | SN_ZMTP_FLAG_LONG, "READY > 255 is LONG");
    cr_assert_eq(sent[64 + 7], (uint8_t)(our_body >> 8));
    cr_assert_eq(sent[64 + 8], (uint8_t)our_body);
    cr_assert_eq(memcmp(sent + sl - sizeof big, big, sizeof big), 0);

    const sn_zmtp_handshake_result *r = sn_zmtp_handshake_result_get(&hs);
    cr_assert_eq(r->peer_socket_type, SN_ZMTP_PULL);
    sn_zmtp_property got;
    cr_assert_eq(sn_zmtp_metadata_find(r->peer_metadata, r->peer_metadata_len, "X-Big", &got), 1);
    cr_assert_eq(got.value_len, sizeof big);
    sn_zmtp_handshake_fini(&hs);
}

/* Two sinew handshakes wired back to back, every type pair from the table, staged and
 * whole greetings mixed: no deadlock (each side sends its next piece on what it hears),
 * both DONE, each learns the other's type and routing id. */
Test(zmtp_handshake, sinew_to_sinew)
{
    static const int pairs[][2] = {
        {SN_ZMTP_PAIR, SN_ZMTP_PAIR},   {SN_ZMTP_PUB, SN_ZMTP_SUB},
        {SN_ZMTP_XPUB, SN_ZMTP_XSUB},   {SN_ZMTP_REQ, SN_ZMTP_ROUTER},
        {SN_ZMTP_DEALER, SN_ZMTP_REP},  {SN_ZMTP_ROUTER, SN_ZMTP_ROUTER},
        {SN_ZMTP_PUSH, SN_ZMTP_PULL},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        for (int whole = 0; whole < 4; whole++) {
            sn_zmtp_handshake hs[2];
            for (int s = 0; s < 2; s++) {
                sn_zmtp_handshake_config cfg = {
                    .socket_type = pairs[i][s],
                    .routing_id = (const uint8_t *)(s ? "side-1" : "side-0"),
                    .routing_id_len = 6,
                    .maxmsgsize = -1,
                    .greeting_whole = (whole >> s) & 1,
                };
                cr_assert_eq(sn_zmtp_handshake_init(&hs[s], &cfg), 0);
            }
            for (int round = 0; round < 16; round++) {
                for (int s = 0; s < 2; s++) {
                    const uint8_t *o;
                    size_t ol;
                    sn_zmtp_handshake_output(&hs[s], &o, &ol);
                    if (ol == 0 || sn_zmtp_handshake_state(&hs[!s]) != SN_ZMTP_HS_RUNNING)
                        continue;
                    cr_assert_eq(sn_zmtp_handshake_feed(&hs[!s], o, ol), (int)ol);
                    sn_zmtp_handshake_output_consumed(&hs[s], ol);
                }
            }
            for (int s = 0; s < 2; s++) {
                const char *why = NULL;
                cr_assert_eq(sn_zmtp_handshake_state(&hs[s]), SN_ZMTP_HS_DONE,
                             "pair %zu side %d whole %d: %s", i, s, whole,
                             (sn_zmtp_handshake_error(&hs[s], &why), why));
                const sn_zmtp_handshake_result *r = sn_zmtp_handshake_result_get(&hs[s]);
                cr_assert_eq(r->peer_socket_type, pairs[i][!s]);
                int t = pairs[i][!s];
                bool has_id = t == SN_ZMTP_REQ || t == SN_ZMTP_DEALER || t == SN_ZMTP_ROUTER;
                cr_assert_eq(r->peer_routing_id_len, has_id ? 6u : 0u);
                sn_zmtp_handshake_fini(&hs[s]);
            }
        }
    }
}
