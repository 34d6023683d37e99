/* libFuzzer target for the CURVE mechanism (RFC 25/26, src/security/curve.c), on both
 * sides: after a valid CURVE greeting from the peer, arbitrary bytes as the client's
 * HELLO/INITIATE (we are the server) or the server's WELCOME/READY/ERROR (we are the
 * client), then, if the handshake completed, as MESSAGE traffic through the frame
 * decoder and the codec, as src/zmtp/engine.c drives them. Randomness is fixed, so the
 * seeds (full transcripts made with the same fixed secrets) reach every state. Every
 * input must end in DONE or a clean FAILED, and decoded frames must have the right size.
 *
 * Input layout:
 *   byte 0  bit 0: 0 = we are the server, 1 = the client; bits 1-3: size of each feed
 *           (index into chunk_sizes)
 *   rest    the peer's bytes after its greeting */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "core/msg.h"
#include "fuzz.h"
#include "security/curve.h"
#include "zmtp/codec.h"
#include "zmtp/handshake.h"

#define FUZZ_TRAFFIC_MAX (1 << 20)

static const size_t chunk_sizes[8] = {0, 1, 2, 7, 64, 200, 301, 1000};
static bool fuzz_server;

/* c' = 33.., s' = 44.., K = 55.., cookie/welcome/vouch nonces 66../77../88.. (the secrets
 * of tests/vectors/curve_deterministic.hex); c = 11.., s = 22... */
static void
fuzz_random(uint8_t *buf, size_t n, sn_curve_rand_use use)
{
    static const uint8_t b[] = {0, 0x55, 0x66, 0x77, 0x88};
    memset(buf, use == SN_CURVE_RAND_TRANSIENT ? (fuzz_server ? 0x44 : 0x33) : b[use], n);
}

static void
fuzz_traffic(sn_zmtp_handshake *hs, const uint8_t *in, size_t n)
{
    const sn_mechanism_ops *ops;
    void *st;
    FUZZ_CHECK(sn_zmtp_handshake_codec(hs, &ops, &st));
    /* Our side can always box a message once done. */
    sn_msg m;
    FUZZ_CHECK(sn_msg_init_buffer(&m, "out", 3) == 0);
    int flags = SN_ZMTP_FLAG_MORE;
    FUZZ_CHECK(ops->encode(st, &m, &flags) == 0 && sn_msg_size(&m) == 36 && flags == 0);
    sn_msg_close(&m);

    sn_zmtp_decoder_config dc = {.maxmsgsize = FUZZ_TRAFFIC_MAX};
    sn_zmtp_decoder d;
    sn_zmtp_decoder_init(&d, &dc);
    sn_zmtp_decoder_set_boxed(&d);
    size_t off = 0;
    while (off < n) {
        sn_zmtp_event ev;
        int used = sn_zmtp_decoder_feed(&d, in + off, n - off, &ev);
        if (used < 0)
            break;
        off += (size_t) used;
        if (ev.type == SN_ZMTP_EV_NONE)
            break;
        if (ev.type == SN_ZMTP_EV_FRAME_HEADER)
            continue;
        FUZZ_CHECK(sn_msg_init_buffer(&m, ev.data, (size_t) ev.size) == 0);
        flags = ev.flags;
        int rc = ops->decode(st, &m, &flags);
        FUZZ_CHECK(rc == 0 || rc == -EPROTO);
        if (rc == 0)
            FUZZ_CHECK(sn_msg_size(&m) + 33 == ev.size &&
                       (flags & ~(SN_ZMTP_FLAG_MORE | SN_ZMTP_FLAG_COMMAND)) == 0);
        sn_msg_close(&m);
        if (rc < 0)
            break; /* the engine ends the connection here */
    }
    sn_zmtp_decoder_fini(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || sodium_init() < 0)
        return 0;
    sn_curve_random = fuzz_random;
    fuzz_server = (data[0] & 1) == 0;
    size_t chunk = chunk_sizes[(data[0] >> 1) & 7];
    data++, size--;

    sn_zmtp_security sec = {.mechanism = &sn_zmtp_mechanism_curve, .as_server = fuzz_server};
    uint8_t c[32], s[32];
    memset(c, 0x11, 32);
    memset(s, 0x22, 32);
    memcpy(sec.curve_secret, fuzz_server ? s : c, 32);
    crypto_scalarmult_base(sec.curve_public, sec.curve_secret);
    crypto_scalarmult_base(sec.curve_server, s);
    sn_zmtp_handshake_config cfg = {.socket_type = fuzz_server ? 6 /* ROUTER */ : 5 /* DEALER */,
                                    .as_server = fuzz_server, .maxmsgsize = -1,
                                    .mechanism = &sn_zmtp_mechanism_curve,
                                    .greeting_whole = true, .security = &sec};
    sn_zmtp_handshake hs;
    FUZZ_CHECK(sn_zmtp_handshake_init(&hs, &cfg) == 0);
    uint8_t greeting[64];
    FUZZ_CHECK(sn_zmtp_greeting_build(greeting, "CURVE", !fuzz_server, 1) == 0);
    FUZZ_CHECK(sn_zmtp_handshake_feed(&hs, greeting, 64) == 64);

    size_t off = 0;
    while (off < size && sn_zmtp_handshake_state(&hs) == SN_ZMTP_HS_RUNNING) {
        size_t n = chunk == 0 || chunk > size - off ? size - off : chunk;
        int used = sn_zmtp_handshake_feed(&hs, data + off, n);
        if (used < 0) {
            FUZZ_CHECK(sn_zmtp_handshake_state(&hs) == SN_ZMTP_HS_FAILED);
            FUZZ_CHECK(sn_zmtp_handshake_error(&hs, NULL) != 0);
            break;
        }
        FUZZ_CHECK((size_t) used <= n);
        off += (size_t) used;
        if ((size_t) used < n)
            FUZZ_CHECK(sn_zmtp_handshake_state(&hs) == SN_ZMTP_HS_DONE);
        const uint8_t *p;
        size_t len;
        sn_zmtp_handshake_output(&hs, &p, &len);
        sn_zmtp_handshake_output_consumed(&hs, len);
    }
    if (sn_zmtp_handshake_state(&hs) == SN_ZMTP_HS_DONE)
        fuzz_traffic(&hs, data + off, size - off);
    sn_zmtp_handshake_fini(&hs);
    sodium_memzero(&sec, sizeof sec);
    return 0;
}

#ifdef FUZZ_CURVE_SEEDS
/* tests/fuzz/make-seeds.sh builds this file with FUZZ_CURVE_SEEDS into a program that
 * writes the seeds: a full handshake between two in-memory sides with the fixed secrets
 * above, then MESSAGEs each way; each side's bytes after its greeting, behind a header
 * byte for the other side, with several feed sizes.
 *   usage: fuzz_curve_seeds <corpus dir> */
#include <stdio.h>

static void
seeds_write(const char *dir, const char *name, uint8_t head, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL);
    fputc(head, f);
    fwrite(p, 1, n, f);
    fclose(f);
}

typedef struct seeds_side {
    sn_zmtp_security sec;
    sn_zmtp_handshake hs;
    uint8_t out[4096];
    size_t len;
} seeds_side;

static void
seeds_init(seeds_side *sd, bool server)
{
    memset(sd, 0, sizeof *sd);
    sd->sec.mechanism = &sn_zmtp_mechanism_curve;
    sd->sec.as_server = server;
    memset(sd->sec.curve_secret, server ? 0x22 : 0x11, 32);
    crypto_scalarmult_base(sd->sec.curve_public, sd->sec.curve_secret);
    uint8_t s[32];
    memset(s, 0x22, 32);
    crypto_scalarmult_base(sd->sec.curve_server, s);
    sn_zmtp_handshake_config cfg = {.socket_type = server ? 6 : 5, .as_server = server,
                                    .maxmsgsize = -1, .mechanism = &sn_zmtp_mechanism_curve,
                                    .greeting_whole = true, .security = &sd->sec};
    FUZZ_CHECK(sn_zmtp_handshake_init(&sd->hs, &cfg) == 0);
}

/* a's output to b (b's role set for its random draws); a's bytes are recorded. */
static void
seeds_pump(seeds_side *a, seeds_side *b, bool b_server)
{
    const uint8_t *p;
    size_t n;
    sn_zmtp_handshake_output(&a->hs, &p, &n);
    FUZZ_CHECK(a->len + n <= sizeof a->out);
    memcpy(a->out + a->len, p, n);
    a->len += n;
    uint8_t copy[4096];
    memcpy(copy, p, n);
    sn_zmtp_handshake_output_consumed(&a->hs, n);
    fuzz_server = b_server;
    FUZZ_CHECK(sn_zmtp_handshake_feed(&b->hs, copy, n) >= 0);
}

static void
seeds_message(seeds_side *sd, const char *text, int flags)
{
    const sn_mechanism_ops *ops;
    void *st;
    FUZZ_CHECK(sn_zmtp_handshake_codec(&sd->hs, &ops, &st));
    sn_msg m;
    FUZZ_CHECK(sn_msg_init_buffer(&m, text, strlen(text)) == 0);
    FUZZ_CHECK(ops->encode(st, &m, &flags) == 0);
    sd->len += (size_t) sn_zmtp_frame_header(sd->out + sd->len, flags, sn_msg_size(&m));
    memcpy(sd->out + sd->len, sn_msg_data(&m), sn_msg_size(&m));
    sd->len += sn_msg_size(&m);
    sn_msg_close(&m);
}

int
main(int argc, char **argv)
{
    FUZZ_CHECK(argc == 2 && sodium_init() >= 0);
    sn_curve_random = fuzz_random;
    seeds_side c, s;
    seeds_init(&c, false);
    seeds_init(&s, true);
    for (int i = 0; i < 4; i++) {
        seeds_pump(&c, &s, true);
        seeds_pump(&s, &c, false);
    }
    FUZZ_CHECK(sn_zmtp_handshake_state(&c.hs) == SN_ZMTP_HS_DONE &&
               sn_zmtp_handshake_state(&s.hs) == SN_ZMTP_HS_DONE);
    seeds_message(&c, "hello", SN_ZMTP_FLAG_MORE);
    seeds_message(&c, "world", 0);
    seeds_message(&c, "\x09SUBSCRIBEabc", SN_ZMTP_FLAG_COMMAND);
    seeds_message(&s, "reply", 0);
    seeds_message(&s, "\x04PING\x00\x00", SN_ZMTP_FLAG_COMMAND);
    /* Without the greetings (the target supplies the peer's). */
    static const uint8_t heads[] = {0, 2, 8, 12};
    for (size_t i = 0; i < sizeof heads; i++) {
        char name[64];
        snprintf(name, sizeof name, "server-takes-client-%u", heads[i]);
        seeds_write(argv[1], name, heads[i], c.out + 64, c.len - 64);
        snprintf(name, sizeof name, "client-takes-server-%u", heads[i] | 1);
        seeds_write(argv[1], name, (uint8_t) (heads[i] | 1), s.out + 64, s.len - 64);
    }
    /* The first command alone on each side, and an ERROR for the client. */
    seeds_write(argv[1], "server-takes-hello", 0, c.out + 64, 202);
    seeds_write(argv[1], "client-takes-welcome", 1, s.out + 64, 170);
    seeds_write(argv[1], "client-takes-error", 1,
                (const uint8_t *) "\x04\x0a\x05" "ERROR\x03" "400", 12);
    sn_zmtp_handshake_fini(&c.hs);
    sn_zmtp_handshake_fini(&s.hs);
    return 0;
}
#endif
