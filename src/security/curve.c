/* CURVE security mechanism: RFC 25 (ZMTP-CURVE) carrying RFC 26 (CurveZMQ), with
 * libzmq 4.3's choices where the RFCs leave room (reference §11). Command bodies, after
 * the name (boxes are libsodium "easy" layout: MAC(16) || ciphertext):
 *
 *   HELLO    C->S  version 01 00 | 72 zeros | C' | n(8) | Box[64 zeros](C'->S)   = 194
 *   WELCOME  S->C  nonce(16) | Box[S' | cookie(96)](S->C')                       = 160
 *            cookie = nonce(16) | SecretBox[C' | s'](K)                          (96)
 *   INITIATE C->S  cookie(96) | n(8) | Box[C | vn(16) | vouch(80) | meta](C'->S')
 *            vouch  = Box[C' | S](C->S'), nonce "VOUCH---" vn
 *   READY    S->C  n(8) | Box[meta](S'->C')
 *   MESSAGE  both  n(8) | Box[flags(1) | data](sender'->receiver')
 *
 * n is a 64-bit big-endian short nonce, per direction and strictly increasing (client 1
 * HELLO, 2 INITIATE, 3.. MESSAGE; server 1 READY, 2.. MESSAGE). Inner flags: bit 0 MORE,
 * bit 1 COMMAND (libzmq's extension). MESSAGE goes out in a plain (non-command) frame
 * as libzmq sends it; either kind is accepted. Every box after WELCOME uses the
 * precomputed C'/S' key (beforenm). MESSAGE boxes go further: XSalsa20 derives its
 * Salsa20 key from the nonce's first 16 bytes, which are the fixed "CurveZMQMESSAGE?"
 * prefix of each direction, so that key (HSalsa20) is computed once per direction and a
 * frame costs only Salsa20 + Poly1305, the same bytes as crypto_box_afternm. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "security/curve.h"
#include "sinew.h"
#include "zmtp/handshake.h"
#include "zmtp/zmtp.h"

#define KEY SN_CURVE_KEY_SIZE
#define MAC crypto_box_MACBYTES /* 16 */
#define NONCE crypto_box_NONCEBYTES /* 24 */

#define HELLO_DATA 194
#define WELCOME_DATA 160
#define COOKIE 96
#define INITIATE_MIN 248 /* 96 + 8 + MAC + 32 + 16 + 80 */
#define VOUCH 80         /* MAC + 64 */
#define READY_MIN 24
#define MESSAGE_HEAD 16  /* 07 "MESSAGE" + n(8) */
#define MESSAGE_MIN (MESSAGE_HEAD + MAC + 1)

static const uint8_t message_name[8] = {7, 'M', 'E', 'S', 'S', 'A', 'G', 'E'};

enum curve_phase {
    CURVE_HELLO,    /* server: waits for HELLO */
    CURVE_INITIATE, /* server: waits for INITIATE */
    CURVE_WELCOME,  /* client: waits for WELCOME */
    CURVE_READY,    /* client: waits for READY */
    CURVE_ZAP,      /* server: the ZAP handler has C */
    CURVE_TRAFFIC,
};

typedef struct curve_state {
    enum curve_phase phase;
    bool server;
    uint8_t tpub[KEY], tsec[KEY]; /* our transient pair (C'/c' or S'/s') */
    uint8_t peer_tpub[KEY];       /* theirs */
    uint8_t cookie_key[KEY];      /* server: K, this connection's only */
    uint8_t cookie[COOKIE];       /* client: echoed in INITIATE */
    uint8_t shared[crypto_box_BEFORENMBYTES]; /* C'/S' precomputed */
    uint64_t send_nonce;          /* last short nonce we used */
    uint64_t recv_nonce;          /* last one we accepted */
    /* MESSAGE keys: HSalsa20(shared, "CurveZMQMESSAGEC" or "...S"), per direction. */
    uint8_t send_key[crypto_stream_salsa20_KEYBYTES], recv_key[crypto_stream_salsa20_KEYBYTES];
    uint8_t client_key[KEY];      /* server: C, once INITIATE opened (ZAP credential) */
} curve_state;

static void
curve_random_default(uint8_t *buf, size_t n, sn_curve_rand_use use)
{
    (void) use;
    randombytes_buf(buf, n);
}

void (*sn_curve_random)(uint8_t *buf, size_t n, sn_curve_rand_use use) = curve_random_default;

int
sn_curve_init(void)
{
    return sodium_init() < 0 ? -ENOMEM : 0;
}

int
sn_curve_key_from_option(uint8_t key[KEY], const void *val, size_t len)
{
    if (val == NULL)
        return -EINVAL;
    if (len == KEY) {
        memcpy(key, val, KEY);
        return 0;
    }
    char z85[SN_CURVE_Z85_SIZE + 1];
    if (len == SN_CURVE_Z85_SIZE + 1 && ((const char *) val)[SN_CURVE_Z85_SIZE] != '\0')
        return -EINVAL;
    if (len != SN_CURVE_Z85_SIZE && len != SN_CURVE_Z85_SIZE + 1)
        return -EINVAL;
    memcpy(z85, val, SN_CURVE_Z85_SIZE);
    z85[SN_CURVE_Z85_SIZE] = '\0';
    uint8_t raw[KEY];
    int rc = sinew_z85_decode(raw, z85) != NULL ? 0 : -EINVAL;
    if (rc == 0)
        memcpy(key, raw, KEY);
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(z85, sizeof z85);
    return rc;
}

int
sn_curve_key_to_option(const uint8_t key[KEY], void *val, size_t len)
{
    if (len == KEY) {
        memcpy(val, key, KEY);
        return 0;
    }
    if (len == SN_CURVE_Z85_SIZE + 1) {
        sinew_z85_encode(val, key, KEY);
        return 0;
    }
    return -EINVAL;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t) v;
}

static uint64_t
get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* nonce = 16-byte prefix + short nonce, or 8-byte prefix + 16 long-nonce bytes. */
static void
nonce_short(uint8_t nonce[NONCE], const char *prefix, uint64_t n)
{
    memcpy(nonce, prefix, 16);
    put_be64(nonce + 16, n);
}

static void
nonce_long(uint8_t nonce[NONCE], const char *prefix, const uint8_t *tail)
{
    memcpy(nonce, prefix, 8);
    memcpy(nonce + 8, tail, 16);
}

/* Queue one handshake command: name + the assembled data. */
static int
curve_send(sn_zmtp_handshake *hs, const char *name, const uint8_t *data, size_t len)
{
    uint8_t prefix[SN_ZMTP_FRAME_HEADER_MAX + 10];
    ssize_t pl = sn_zmtp_command_build_prefix(prefix, sizeof prefix, name, len);
    if (pl < 0 || sn_zmtp_handshake_send(hs, prefix, (size_t) pl) < 0 ||
        sn_zmtp_handshake_send(hs, data, len) < 0)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNSPECIFIED, "out of memory", false);
    return 0;
}

static int
curve_transient(curve_state *cs)
{
    sn_curve_random(cs->tsec, KEY, SN_CURVE_RAND_TRANSIENT);
    return crypto_scalarmult_base(cs->tpub, cs->tsec) == 0 ? 0 : -EINVAL;
}

/* The C'/S' key and the MESSAGE keys, once both transient keys are known. */
static int
curve_precompute(curve_state *cs)
{
    if (crypto_box_beforenm(cs->shared, cs->peer_tpub, cs->tsec) != 0)
        return -EPROTO; /* a low-order peer key: no shared secret */
    static const uint8_t from_client[16] = "CurveZMQMESSAGEC", from_server[16] = "CurveZMQMESSAGES";
    crypto_core_hsalsa20(cs->send_key, cs->server ? from_server : from_client, cs->shared, NULL);
    crypto_core_hsalsa20(cs->recv_key, cs->server ? from_client : from_server, cs->shared, NULL);
    return 0;
}

/* Handshake over: only the MESSAGE keys and the nonces stay. */
static void
curve_wipe_handshake(curve_state *cs)
{
    sodium_memzero(cs->tsec, sizeof cs->tsec);
    sodium_memzero(cs->shared, sizeof cs->shared);
    sodium_memzero(cs->cookie_key, sizeof cs->cookie_key);
}

/* Handshake buffers that held box contents are wiped before they are freed. */
static void
curve_free(uint8_t *p, size_t n)
{
    sodium_memzero(p, n);
    free(p);
}

/* ---- client ------------------------------------------------------------------------- */

static int
client_hello(curve_state *cs, sn_zmtp_handshake *hs)
{
    const sn_zmtp_security *sec = sn_zmtp_handshake_security(hs);
    uint8_t d[HELLO_DATA] = {1, 0}; /* version 1.0, then 72 zeros */
    uint8_t zeros[64] = {0}, nonce[NONCE];
    if (curve_transient(cs) < 0)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_KEY_EXCHANGE, "bad transient key",
                                      false);
    memcpy(d + 74, cs->tpub, KEY);
    cs->send_nonce = 1;
    put_be64(d + 106, cs->send_nonce);
    nonce_short(nonce, "CurveZMQHELLO---", cs->send_nonce);
    if (crypto_box_easy(d + 114, zeros, sizeof zeros, nonce, sec->curve_server, cs->tsec) != 0)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_CRYPTOGRAPHIC, "bad server key", false);
    cs->phase = CURVE_WELCOME;
    return curve_send(hs, "HELLO", d, sizeof d);
}

static int
client_welcome(curve_state *cs, sn_zmtp_handshake *hs, const sn_zmtp_command *cmd)
{
    const sn_zmtp_security *sec = sn_zmtp_handshake_security(hs);
    if (cmd->data_len != WELCOME_DATA)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_MALFORMED_COMMAND_WELCOME,
                                      "malformed WELCOME", false);
    uint8_t nonce[NONCE], plain[KEY + COOKIE];
    nonce_long(nonce, "WELCOME-", cmd->data);
    if (crypto_box_open_easy(plain, cmd->data + 16, WELCOME_DATA - 16, nonce,
                             sec->curve_server, cs->tsec) != 0)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_CRYPTOGRAPHIC, "WELCOME does not open",
                                      false);
    memcpy(cs->peer_tpub, plain, KEY);
    memcpy(cs->cookie, plain + KEY, COOKIE);
    sodium_memzero(plain, sizeof plain);
    if (curve_precompute(cs) < 0)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_KEY_EXCHANGE, "bad server transient key",
                                      false);

    /* INITIATE: cookie | n | Box[C | vn | vouch | metadata](C'->S'). */
    const uint8_t *meta;
    size_t mlen;
    sn_zmtp_handshake_metadata(hs, &meta, &mlen);
    size_t inner = KEY + 16 + VOUCH + mlen;
    size_t len = COOKIE + 8 + MAC + inner;
    uint8_t *d = malloc(len + inner);
    if (d == NULL)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNSPECIFIED, "out of memory", false);
    uint8_t *box_plain = d + len;
    memcpy(box_plain, sec->curve_public, KEY);
    sn_curve_random(box_plain + KEY, 16, SN_CURVE_RAND_VOUCH_NONCE);
    uint8_t vouch_plain[2 * KEY];
    memcpy(vouch_plain, cs->tpub, KEY);
    memcpy(vouch_plain + KEY, sec->curve_server, KEY);
    nonce_long(nonce, "VOUCH---", box_plain + KEY);
    int rc = crypto_box_easy(box_plain + KEY + 16, vouch_plain, sizeof vouch_plain, nonce,
                             cs->peer_tpub, sec->curve_secret);
    memcpy(box_plain + KEY + 16 + VOUCH, meta, mlen);
    memcpy(d, cs->cookie, COOKIE);
    cs->send_nonce++;
    put_be64(d + COOKIE, cs->send_nonce);
    nonce_short(nonce, "CurveZMQINITIATE", cs->send_nonce);
    if (rc == 0)
        rc = crypto_box_easy_afternm(d + COOKIE + 8, box_plain, inner, nonce, cs->shared);
    if (rc == 0)
        rc = curve_send(hs, "INITIATE", d, len);
    else
        rc = sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_CRYPTOGRAPHIC, "vouch", false);
    curve_free(d, len + inner);
    sodium_memzero(cs->cookie, sizeof cs->cookie);
    cs->phase = CURVE_READY;
    return rc;
}

static int
client_ready(curve_state *cs, sn_zmtp_handshake *hs, const sn_zmtp_command *cmd)
{
    if (cmd->data_len < READY_MIN)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_MALFORMED_COMMAND_READY,
                                      "malformed READY", false);
    uint64_t n = get_be64(cmd->data);
    size_t mlen = cmd->data_len - READY_MIN;
    uint8_t nonce[NONCE];
    uint8_t *meta = malloc(mlen ? mlen : 1);
    if (meta == NULL)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNSPECIFIED, "out of memory", false);
    nonce_short(nonce, "CurveZMQREADY---", n);
    int rc;
    if (crypto_box_open_easy_afternm(meta, cmd->data + 8, cmd->data_len - 8, nonce,
                                     cs->shared) != 0)
        rc = sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_CRYPTOGRAPHIC, "READY does not open",
                                    false);
    else
        rc = sn_zmtp_handshake_accept_metadata(hs, meta, mlen);
    curve_free(meta, mlen);
    if (rc < 0)
        return rc;
    cs->recv_nonce = n;
    cs->phase = CURVE_TRAFFIC;
    curve_wipe_handshake(cs);
    return 1;
}

/* ---- server ------------------------------------------------------------------------- */

static int
server_hello(curve_state *cs, sn_zmtp_handshake *hs, const sn_zmtp_command *cmd)
{
    const sn_zmtp_security *sec = sn_zmtp_handshake_security(hs);
    if (cmd->data_len != HELLO_DATA || cmd->data[0] != 1 || cmd->data[1] != 0)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_MALFORMED_COMMAND_HELLO,
                                      "malformed HELLO", false);
    uint8_t nonce[NONCE], zeros[64];
    memcpy(cs->peer_tpub, cmd->data + 74, KEY);
    uint64_t n = get_be64(cmd->data + 106);
    nonce_short(nonce, "CurveZMQHELLO---", n);
    if (crypto_box_open_easy(zeros, cmd->data + 114, 80, nonce, cs->peer_tpub,
                             sec->curve_secret) != 0 ||
        !sodium_is_zero(zeros, sizeof zeros))
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_CRYPTOGRAPHIC, "HELLO does not open",
                                      false);
    cs->recv_nonce = n;

    /* WELCOME: a fresh S'/s' and K for this connection; the cookie carries C' and s'
     * back to us (K never leaves this state, and is wiped after INITIATE). */
    if (curve_transient(cs) < 0)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_KEY_EXCHANGE, "bad transient key",
                                      false);
    sn_curve_random(cs->cookie_key, KEY, SN_CURVE_RAND_COOKIE_KEY);
    uint8_t plain[KEY + COOKIE], cookie_plain[2 * KEY], d[WELCOME_DATA];
    uint8_t *cookie = plain + KEY;
    memcpy(plain, cs->tpub, KEY);
    sn_curve_random(cookie, 16, SN_CURVE_RAND_COOKIE_NONCE);
    memcpy(cookie_plain, cs->peer_tpub, KEY);
    memcpy(cookie_plain + KEY, cs->tsec, KEY);
    nonce_long(nonce, "COOKIE--", cookie);
    crypto_secretbox_easy(cookie + 16, cookie_plain, sizeof cookie_plain, nonce,
                          cs->cookie_key);
    sodium_memzero(cookie_plain, sizeof cookie_plain);
    sn_curve_random(d, 16, SN_CURVE_RAND_WELCOME_NONCE);
    nonce_long(nonce, "WELCOME-", d);
    int rc = crypto_box_easy(d + 16, plain, sizeof plain, nonce, cs->peer_tpub,
                             sec->curve_secret);
    sodium_memzero(plain, sizeof plain);
    if (rc != 0)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_KEY_EXCHANGE, "bad client transient key",
                                      false);
    cs->phase = CURVE_INITIATE;
    return curve_send(hs, "WELCOME", d, sizeof d);
}

/* The cookie must be ours (K) and name this connection's C' and s'. */
static int
server_cookie(curve_state *cs, sn_zmtp_handshake *hs, const uint8_t *cookie)
{
    uint8_t nonce[NONCE], plain[2 * KEY];
    nonce_long(nonce, "COOKIE--", cookie);
    int ok = crypto_secretbox_open_easy(plain, cookie + 16, COOKIE - 16, nonce,
                                        cs->cookie_key) == 0 &&
             sodium_memcmp(plain, cs->peer_tpub, KEY) == 0 &&
             sodium_memcmp(plain + KEY, cs->tsec, KEY) == 0;
    sodium_memzero(plain, sizeof plain);
    sodium_memzero(cs->cookie_key, sizeof cs->cookie_key); /* one INITIATE per cookie */
    return ok ? 0
              : sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_CRYPTOGRAPHIC, "bad cookie", false);
}

/* READY: n | Box[metadata](S'->C'): the server is done. */
static int
server_ready(curve_state *cs, sn_zmtp_handshake *hs)
{
    uint8_t nonce[NONCE];
    const uint8_t *meta;
    size_t mlen;
    sn_zmtp_handshake_metadata(hs, &meta, &mlen);
    size_t len = 8 + MAC + mlen;
    uint8_t *d = sodium_malloc(len);
    if (d == NULL)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNSPECIFIED, "out of memory", false);
    cs->send_nonce = 1;
    put_be64(d, cs->send_nonce);
    nonce_short(nonce, "CurveZMQREADY---", cs->send_nonce);
    crypto_box_easy_afternm(d + 8, meta, mlen, nonce, cs->shared);
    int rc = curve_send(hs, "READY", d, len);
    sodium_free(d);
    if (rc == 0) {
        rc = 1;
        cs->phase = CURVE_TRAFFIC;
        curve_wipe_handshake(cs);
    }
    return rc;
}

static int
server_initiate(curve_state *cs, sn_zmtp_handshake *hs, const sn_zmtp_command *cmd)
{
    const sn_zmtp_security *sec = sn_zmtp_handshake_security(hs);
    if (cmd->data_len < INITIATE_MIN)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_MALFORMED_COMMAND_INITIATE,
                                      "malformed INITIATE", false);
    if (server_cookie(cs, hs, cmd->data) < 0)
        return -EPROTO;
    if (curve_precompute(cs) < 0)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_KEY_EXCHANGE, "bad client transient key",
                                      false);
    uint64_t n = get_be64(cmd->data + COOKIE);
    if (n <= cs->recv_nonce)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_CRYPTOGRAPHIC, "INITIATE nonce reused",
                                      false);
    size_t blen = cmd->data_len - COOKIE - 8, plen = blen - MAC;
    uint8_t nonce[NONCE], vouch[2 * KEY];
    uint8_t *plain = malloc(plen);
    if (plain == NULL)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNSPECIFIED, "out of memory", false);
    int rc = 0;
    nonce_short(nonce, "CurveZMQINITIATE", n);
    if (crypto_box_open_easy_afternm(plain, cmd->data + COOKIE + 8, blen, nonce,
                                     cs->shared) != 0) {
        rc = sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_CRYPTOGRAPHIC, "INITIATE does not open",
                                    false);
        goto done;
    }
    /* The vouch: the client's permanent key C stands behind C' for this server. */
    nonce_long(nonce, "VOUCH---", plain + KEY);
    if (crypto_box_open_easy(vouch, plain + KEY + 16, VOUCH, nonce, plain, cs->tsec) != 0) {
        rc = sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_CRYPTOGRAPHIC, "vouch does not open",
                                    false);
        goto done;
    }
    /* RFC 26: the vouch names this connection's C' and this server's S (libzmq checks
     * only C'; S is derived from our secret, so a missing CURVE_PUBLICKEY is no bar). */
    uint8_t server_pub[KEY];
    if (crypto_scalarmult_base(server_pub, sec->curve_secret) != 0 ||
        sodium_memcmp(vouch, cs->peer_tpub, KEY) != 0 ||
        sodium_memcmp(vouch + KEY, server_pub, KEY) != 0) {
        rc = sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_KEY_EXCHANGE, "vouch mismatch", false);
        goto done;
    }
    memcpy(cs->client_key, plain, KEY);
    cs->recv_nonce = n;
    rc = sn_zmtp_handshake_accept_metadata(hs, plain + KEY + 16 + VOUCH, plen - KEY - 16 - VOUCH);
    if (rc < 0)
        goto done;

    /* As libzmq 4.3: ask ZAP when a domain is set or enforcement is off; without a
     * handler, admit (encryption without authentication) unless told to enforce. */
    if (sec->zap_domain[0] != '\0' || !sec->zap_enforce_domain) {
        sn_zap_request req = {.mechanism = "CURVE",
                              .credentials = {cs->client_key},
                              .credentials_len = {KEY},
                              .ncredentials = 1};
        int zrc = sn_zmtp_handshake_zap(hs, &req);
        if (zrc == 0) {
            cs->phase = CURVE_ZAP;
            rc = SN_MECHANISM_WAIT;
            goto done;
        }
        if (zrc != -ECONNREFUSED || sec->zap_enforce_domain) {
            rc = sn_zmtp_handshake_fail_event(hs, SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                                              zrc == -ECONNREFUSED ? EFAULT : (uint32_t) -zrc,
                                              "no ZAP handler", false);
            goto done;
        }
    }
    rc = server_ready(cs, hs);
done:
    sodium_memzero(vouch, sizeof vouch);
    curve_free(plain, plen);
    return rc;
}

/* ---- mechanism slots ---------------------------------------------------------------- */

static int
curve_start(void *st, sn_zmtp_handshake *hs)
{
    curve_state *cs = st;
    if (sn_curve_init() < 0)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNSPECIFIED, "libsodium", false);
    cs->server = sn_zmtp_handshake_security(hs)->as_server;
    if (cs->server) {
        cs->phase = CURVE_HELLO;
        return 0;
    }
    return client_hello(cs, hs);
}

static int
curve_command(void *st, sn_zmtp_handshake *hs, const sn_zmtp_command *cmd)
{
    curve_state *cs = st;
    /* RFC 26: only the server sends ERROR (instead of WELCOME or READY). */
    if (cmd->type == SN_ZMTP_CMD_ERROR && !cs->server)
        return sn_zmtp_handshake_peer_error(hs, cmd->data, cmd->data_len);
    sn_zmtp_command_type want = cs->phase == CURVE_HELLO      ? SN_ZMTP_CMD_HELLO
                                : cs->phase == CURVE_INITIATE ? SN_ZMTP_CMD_INITIATE
                                : cs->phase == CURVE_WELCOME  ? SN_ZMTP_CMD_WELCOME
                                : cs->phase == CURVE_READY    ? SN_ZMTP_CMD_READY
                                                              : SN_ZMTP_CMD_UNKNOWN;
    if (cmd->type != want || want == SN_ZMTP_CMD_UNKNOWN)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNEXPECTED_COMMAND,
                                      "unexpected command during CURVE handshake", false);
    switch (cs->phase) {
    case CURVE_HELLO:
        return server_hello(cs, hs, cmd);
    case CURVE_INITIATE:
        return server_initiate(cs, hs, cmd);
    case CURVE_WELCOME:
        return client_welcome(cs, hs, cmd);
    default:
        return client_ready(cs, hs, cmd);
    }
}

static int
curve_resume(void *st, sn_zmtp_handshake *hs, const void *answer)
{
    curve_state *cs = st;
    if (cs->phase != CURVE_ZAP)
        return sn_zmtp_handshake_fail(hs, SN_ZMTP_ERR_UNSPECIFIED, "unexpected answer", false);
    if (sn_zmtp_handshake_zap_reply(hs, answer) < 0)
        return -EPROTO;
    return server_ready(cs, hs);
}

static void
curve_fini(void *st)
{
    sodium_memzero(st, sizeof(curve_state));
}

/* XSalsa20-Poly1305 with the Salsa20 key already derived (what crypto_secretbox_detached
 * does after its HSalsa20 step), for the plaintext flags byte + data[0..n): the stream's
 * first 32 bytes key Poly1305, the next 32 cover the flags and data[0..31), and
 * data[31..) is encrypted from the caller's buffer straight into out from stream block 1
 * on: no copy of the part. out gets 1 + n bytes; n8 is the nonce's last
 * 8 bytes. */
static void
box_seal(uint8_t *out, uint8_t flags, const uint8_t *data, size_t n, uint8_t mac[MAC],
         const uint8_t n8[8], const uint8_t *key)
{
    uint8_t block0[64];
    size_t n0 = n < 31 ? n : 31;
    crypto_stream_salsa20(block0, sizeof block0, n8, key);
    out[0] = flags ^ block0[32];
    for (size_t i = 0; i < n0; i++)
        out[1 + i] = data[i] ^ block0[33 + i];
    if (n > n0)
        crypto_stream_salsa20_xor_ic(out + 1 + n0, data + n0, n - n0, n8, 1, key);
    crypto_onetimeauth_poly1305_state st;
    crypto_onetimeauth_poly1305_init(&st, block0);
    crypto_onetimeauth_poly1305_update(&st, out, 1 + n);
    crypto_onetimeauth_poly1305_final(&st, mac);
    sodium_memzero(block0, sizeof block0);
    sodium_memzero(&st, sizeof st);
}

/* The reverse, in place on p[0..n) (flags byte + data): checks the MAC first and
 * decrypts only if it holds. Stream block 0 is made once (libsodium's open makes it
 * twice: once for the Poly1305 key, once to decrypt). 0 or -1. */
static int
box_open(uint8_t *p, size_t n, const uint8_t mac[MAC], const uint8_t n8[8], const uint8_t *key)
{
    uint8_t block0[64];
    crypto_stream_salsa20(block0, sizeof block0, n8, key);
    int rc = crypto_onetimeauth_poly1305_verify(mac, p, n, block0);
    if (rc == 0) {
        size_t n0 = n < 32 ? n : 32;
        for (size_t i = 0; i < n0; i++)
            p[i] ^= block0[32 + i];
        if (n > n0)
            crypto_stream_salsa20_xor_ic(p + n0, p + n0, n - n0, n8, 1, key);
    }
    sodium_memzero(block0, sizeof block0);
    return rc == 0 ? 0 : -1;
}

/* One frame into one MESSAGE: a single allocation, the data encrypted straight into
 * it behind the header. */
static int
curve_encode(void *st, sn_msg *part, int *flags)
{
    curve_state *cs = st;
    if (cs->send_nonce == UINT64_MAX)
        return -EPROTO; /* never reuse a nonce: the connection ends first */
    size_t n = sn_msg_size(part);
    sn_msg box;
    if (sn_msg_init_size(&box, MESSAGE_MIN + n) < 0)
        return -ENOMEM;
    uint8_t *d = sn_msg_data(&box);
    memcpy(d, message_name, sizeof message_name);
    put_be64(d + 8, ++cs->send_nonce);
    uint8_t inner = (uint8_t) (((*flags & SN_ZMTP_FLAG_MORE) ? 1 : 0) |
                               ((*flags & SN_ZMTP_FLAG_COMMAND) ? 2 : 0));
    box_seal(d + MESSAGE_HEAD + MAC, inner, sn_msg_data(part), n, d + MESSAGE_HEAD, d + 8,
             cs->send_key);
    sn_msg_close(part);
    *part = box;
    *flags = 0; /* libzmq's outer flags; MORE and COMMAND travel inside the box */
    return 0;
}

/* One MESSAGE into its frame, decrypted in place: the message then starts past the
 * header (a view into the same buffer; inline ones are moved down). */
static int
curve_decode(void *st, sn_msg *frame, int *flags)
{
    curve_state *cs = st;
    size_t size = sn_msg_size(frame);
    uint8_t *d = sn_msg_data(frame);
    if (size < MESSAGE_MIN || memcmp(d, message_name, sizeof message_name) != 0)
        return -EPROTO;
    uint64_t n = get_be64(d + 8);
    if (n <= cs->recv_nonce)
        return -EPROTO; /* replayed or reordered */
    size_t plen = size - MESSAGE_HEAD - MAC; /* flags + data */
    if (frame->type == SN_MSG_CMSG || sn_msg_shared(frame)) {
        /* Not ours to write into: decrypt into a copy. */
        sn_msg copy;
        if (sn_msg_init_buffer(&copy, d, size) < 0)
            return -ENOMEM;
        sn_msg_close(frame);
        *frame = copy;
        d = sn_msg_data(frame);
    }
    if (box_open(d + MESSAGE_HEAD + MAC, plen, d + MESSAGE_HEAD, d + 8, cs->recv_key) < 0)
        return -EPROTO;
    cs->recv_nonce = n;
    uint8_t inner = d[MESSAGE_MIN - 1];
    *flags = ((inner & 1) ? SN_ZMTP_FLAG_MORE : 0) | ((inner & 2) ? SN_ZMTP_FLAG_COMMAND : 0);
    size_t body = plen - 1;
    if (frame->type == SN_MSG_VSM) {
        memmove(frame->u.vsm, d + MESSAGE_MIN, body);
        frame->vsm_size = (uint8_t) body;
    } else {
        frame->u.ext.data = d + MESSAGE_MIN;
        frame->u.ext.size = body;
    }
    return 0;
}

const sn_mechanism_ops sn_zmtp_mechanism_curve = {
    .name = "CURVE",
    .greeting_as_server = true,
    .state_size = sizeof(curve_state),
    .start = curve_start,
    .command = curve_command,
    .fini = curve_fini,
    .resume = curve_resume,
    .encode = curve_encode,
    .decode = curve_decode,
};
