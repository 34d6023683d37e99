/* libFuzzer target for the whole ZMTP 3.x connection handshake (RFC 37 "Greeting",
 * "Version Negotiation", NULL mechanism; socket-type rules of RFC 28-31), driven as the
 * engine drives it (src/zmtp/handshake.h contract), then the traffic that follows DONE
 * through the frame decoder as src/zmtp/engine.c does. Arbitrary peer bytes must end in
 * DONE or a clean FAILED, and what we send must stay well-formed ZMTP.
 *
 * Input layout:
 *   byte 0  bits 0-4 socket type (table below, a few invalid ones included), bit 5
 *           as_server, bit 6 greeting_whole, bit 7 with a routing id
 *   byte 1  bits 0-1 maxmsgsize (-1, 1 MiB, 64, 28), bits 2-3 extra properties (none,
 *           one, two, one of 300 bytes: a LONG READY), bits 4-5 how much of our output
 *           the peer takes after each read (all, per the chunk schedule, nothing until
 *           the end, one byte), bit 6 large traffic bodies go to our own buffer (the
 *           engine's set_body), bit 7 body bytes are read into the body window
 *   byte 2-3  chunk schedule: four nibbles, each an index into chunk_sizes, used in turn
 *           for the size of each read (0 = the rest)
 *   rest    the peer's bytes */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "zmtp/codec.h"
#include "zmtp/command.h"
#include "zmtp/greeting.h"
#include "zmtp/handshake.h"
#include "zmtp/metadata.h"

/* An unlimited maxmsgsize lets a peer announce a 2^62-byte frame the engine would try to
 * allocate: that is the application's policy (ZMQ_MAXMSGSIZE), not a parser bug, so the
 * traffic phase caps it. Handshake commands are capped by command_max anyway. */
#define FUZZ_TRAFFIC_MAX (1 << 20)
#define FUZZ_VSM_MAX 48 /* SN_MSG_VSM_MAX: the engine's own buffer above this */

/* Types 0-20 as themselves (init refuses 11 STREAM and 18 DGRAM), -1 and 21 (out of
 * range, refused), then the common types again. */
static const int fuzz_types[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                   11, 12, 13, 14, 15, 16, 17, 18, 19, 20, -1,
                                   21, 5,  6,  2,  1,  3,  4,  8,  7,  0};
static const int64_t fuzz_maxmsgsizes[4] = {-1, 1 << 20, 64, 28};
static const size_t chunk_sizes[16] = {0, 1,  2,  3,  4,  5,  7,  8,
                                       9, 10, 11, 12, 13, 53, 64, 100};
static const uint8_t fuzz_rid[] = "fuzz-rid";

enum { OUT_ALL, OUT_SCHEDULE, OUT_AT_END, OUT_BYTE };

typedef struct fuzz_case {
    sn_zmtp_handshake_config cfg;
    sn_zmtp_property props[2];
    uint8_t big[300];
    int out_mode;
    bool own_body, body_window;
    uint16_t schedule;
    unsigned step;
} fuzz_case;

/* Size of the next read (or write), 0 meaning "all of it", from the schedule. */
static size_t
next_chunk(fuzz_case *fc, size_t avail)
{
    size_t c = chunk_sizes[(fc->schedule >> (4 * (fc->step++ % 4))) & 0xf];
    return c == 0 || c > avail ? avail : c;
}

/* ---- the peer's view of our output ------------------------------------------------ */

/* What the peer receives must be a valid 3.1 NULL greeting (staged or whole), then our
 * READY, then at most one ERROR, and nothing else. */
typedef struct peer_view {
    sn_zmtp_greeting_reader greeting;
    bool greeting_checked;
    sn_zmtp_decoder dec;
    size_t total;       /* bytes received */
    size_t complete_at; /* end of the last whole command */
    int readys, errors;
} peer_view;

static void
check_ready(const fuzz_case *fc, const sn_zmtp_command *cmd)
{
    const sn_zmtp_handshake_config *cfg = &fc->cfg;
    sn_zmtp_property p;
    const char *tname = sn_zmtp_socket_type_name(cfg->socket_type);
    FUZZ_CHECK(sn_zmtp_metadata_find(cmd->data, cmd->data_len, "Socket-Type", &p) == 1);
    FUZZ_CHECK(p.value_len == strlen(tname) && memcmp(p.value, tname, p.value_len) == 0);
    bool identity = cfg->socket_type == SN_ZMTP_REQ ||
                    cfg->socket_type == SN_ZMTP_DEALER ||
                    cfg->socket_type == SN_ZMTP_ROUTER;
    size_t want = 1 + (identity ? 1 : 0) + cfg->nproperties;
    FUZZ_CHECK(sn_zmtp_metadata_find(cmd->data, cmd->data_len, "Identity", &p) ==
               identity);
    if (identity)
        FUZZ_CHECK(
            p.value_len == cfg->routing_id_len &&
            (p.value_len == 0 || memcmp(p.value, cfg->routing_id, p.value_len) == 0));
    for (size_t i = 0; i < cfg->nproperties; i++) {
        FUZZ_CHECK(sn_zmtp_metadata_find(cmd->data, cmd->data_len,
                                         cfg->properties[i].name, &p) == 1);
        FUZZ_CHECK(p.value_len == cfg->properties[i].value_len &&
                   (p.value_len == 0 ||
                    memcmp(p.value, cfg->properties[i].value, p.value_len) == 0));
    }
    sn_zmtp_metadata_iter it;
    int err;
    size_t count = 0;
    sn_zmtp_metadata_iter_init(&it, cmd->data, cmd->data_len);
    while (sn_zmtp_metadata_next(&it, &p, &err) > 0)
        count++;
    FUZZ_CHECK(count == want);
}

static void
peer_view_receive(peer_view *pv, const fuzz_case *fc, const uint8_t *p, size_t n)
{
    int err = 0;
    pv->total += n;
    while (n > 0 && sn_zmtp_greeting_have(&pv->greeting) < SN_ZMTP_GREETING_SIZE) {
        int rc = sn_zmtp_greeting_feed(&pv->greeting, p, n, &err);
        FUZZ_CHECK(rc > 0);
        p += rc;
        n -= (size_t)rc;
    }
    if (!pv->greeting_checked &&
        sn_zmtp_greeting_have(&pv->greeting) == SN_ZMTP_GREETING_SIZE) {
        sn_zmtp_greeting g;
        const uint8_t *b = pv->greeting.buf;
        FUZZ_CHECK(sn_zmtp_greeting_parse(b, &g, &err) == 0);
        FUZZ_CHECK(g.major == 3 && g.minor == 1 && strcmp(g.mechanism, "NULL") == 0);
        FUZZ_CHECK(!g.as_server); /* RFC 37: always 0 for NULL */
        uint64_t padding = 0;
        for (int i = 1; i <= 8; i++)
            padding = padding << 8 | b[i];
        FUZZ_CHECK(padding == fc->cfg.routing_id_len + 1); /* as libzmq */
        pv->greeting_checked = true;
        pv->complete_at = SN_ZMTP_GREETING_SIZE;
    }
    while (n > 0) {
        sn_zmtp_event ev;
        int rc = sn_zmtp_decoder_feed(&pv->dec, p, n, &ev);
        FUZZ_CHECK(rc >= 0);
        p += rc;
        n -= (size_t)rc;
        if (ev.type == SN_ZMTP_EV_NONE)
            break;
        FUZZ_CHECK(ev.type == SN_ZMTP_EV_COMMAND);
        pv->complete_at = pv->total - n;
        if (ev.cmd.type == SN_ZMTP_CMD_READY) {
            FUZZ_CHECK(pv->readys == 0 && pv->errors == 0);
            check_ready(fc, &ev.cmd);
            pv->readys++;
        } else {
            /* NULL only refuses metadata with ERROR, after its own READY. */
            FUZZ_CHECK(ev.cmd.type == SN_ZMTP_CMD_ERROR);
            FUZZ_CHECK(pv->readys == 1 && pv->errors == 0);
            pv->errors++;
        }
    }
}

/* The peer takes up to `want` bytes of our pending output. */
static void
peer_take(sn_zmtp_handshake *hs, peer_view *pv, const fuzz_case *fc, size_t want)
{
    const uint8_t *p;
    size_t len;
    sn_zmtp_handshake_output(hs, &p, &len);
    if (want > len)
        want = len;
    if (want == 0)
        return;
    FUZZ_CHECK(p != NULL);
    peer_view_receive(pv, fc, p, want);
    sn_zmtp_handshake_output_consumed(hs, want);
}

static size_t
pending_output(sn_zmtp_handshake *hs)
{
    const uint8_t *p;
    size_t len;
    sn_zmtp_handshake_output(hs, &p, &len);
    return len;
}

/* ---- traffic after DONE, as the engine decodes it -------------------------------- */

static void
check_pong(const sn_zmtp_command *ping)
{
    uint8_t pong[512];
    ssize_t n = sn_zmtp_command_build_pong_for(pong, sizeof pong, ping);
    size_t ctx = ping->data_len < SN_ZMTP_PING_CONTEXT_MAX ? ping->data_len
                                                           : SN_ZMTP_PING_CONTEXT_MAX;
    FUZZ_CHECK(n == (ssize_t)(2 + 5 + ctx) && pong[0] == SN_ZMTP_FLAG_COMMAND &&
               pong[1] == 5 + ctx);
    sn_zmtp_command back;
    int err;
    FUZZ_CHECK(sn_zmtp_command_parse(pong + 2, (size_t)n - 2, &back, &err) == 0);
    FUZZ_CHECK(back.type == SN_ZMTP_CMD_PONG && back.data_len == ctx &&
               (ctx == 0 || memcmp(back.data, ping->data, ctx) == 0));
}

static void
traffic(fuzz_case *fc, const uint8_t *in, size_t n)
{
    int64_t max = fc->cfg.maxmsgsize;
    sn_zmtp_decoder_config dc = {.maxmsgsize = max < 0 ? FUZZ_TRAFFIC_MAX : max};
    sn_zmtp_decoder d;
    uint8_t *own = NULL;
    uint64_t header_size = 0;
    bool pub = fc->cfg.socket_type == SN_ZMTP_PUB || fc->cfg.socket_type == SN_ZMTP_XPUB;
    sn_zmtp_decoder_init(&d, &dc);
    size_t at = 0;
    while (at < n) {
        size_t c = next_chunk(fc, n - at);
        const uint8_t *p = in + at;
        size_t left = c;
        at += c;
        for (;;) {
            int flags;
            const uint8_t *body;
            size_t size;
            size_t sn = sn_zmtp_decoder_short_frame(&d, p, left, &flags, &body, &size);
            if (sn > 0) {
                FUZZ_CHECK(sn == 2 + size && size <= 255 && sn <= left && body == p + 2);
                FUZZ_CHECK((flags & ~SN_ZMTP_FLAG_MORE) == 0);
                p += sn;
                left -= sn;
                continue;
            }
            /* An application thread borrowing the engine stops before a command. */
            bool command_next = sn_zmtp_decoder_command_next(&d, p, left);
            sn_zmtp_event ev;
            int rc = sn_zmtp_decoder_feed(&d, p, left, &ev);
            if (rc < 0)
                goto out; /* the engine closes the connection */
            FUZZ_CHECK((size_t)rc <= left);
            FUZZ_CHECK(ev.type == SN_ZMTP_EV_NONE ||
                       command_next == (ev.type == SN_ZMTP_EV_COMMAND));
            p += rc;
            left -= (size_t)rc;
            if (ev.type == SN_ZMTP_EV_NONE) {
                FUZZ_CHECK(left == 0);
                break;
            }
            switch (ev.type) {
            case SN_ZMTP_EV_FRAME_HEADER:
                FUZZ_CHECK(ev.size <= (uint64_t)dc.maxmsgsize);
                header_size = ev.size;
                if (fc->own_body && ev.size > FUZZ_VSM_MAX) {
                    own = malloc((size_t)ev.size);
                    if (own == NULL)
                        goto out;
                    FUZZ_CHECK(sn_zmtp_decoder_set_body(&d, own) == 0);
                }
                if (fc->body_window) {
                    uint8_t *w;
                    size_t wl;
                    if (sn_zmtp_decoder_body_window(&d, &w, &wl) < 0)
                        goto out;
                    FUZZ_CHECK(wl == ev.size);
                    size_t k = wl < left ? wl : left;
                    if (k > 0) {
                        memcpy(w, p, k);
                        FUZZ_CHECK(sn_zmtp_decoder_body_advance(&d, k) == 0);
                        p += k;
                        left -= k;
                    }
                }
                break;
            case SN_ZMTP_EV_FRAME: {
                FUZZ_CHECK(ev.size == header_size);
                FUZZ_CHECK(own == NULL || ev.data == own);
                volatile uint8_t sink = ev.size ? ev.data[0] ^ ev.data[ev.size - 1] : 0;
                (void)sink;
                bool sub;
                const uint8_t *topic;
                size_t tl;
                if (pub && sn_zmtp_subscription_from_message(ev.data, (size_t)ev.size,
                                                             &sub, &topic, &tl) == 1)
                    FUZZ_CHECK(topic == ev.data + 1 && tl == ev.size - 1);
                if (own != NULL) {
                    FUZZ_CHECK(sn_zmtp_decoder_take_body(&d) == NULL);
                    free(own);
                    own = NULL;
                } else if (ev.size & 1) {
                    /* Zero-copy hand-over of a heap body, for odd sizes only: even ones
                     * are left to the decoder, which frees them at the next frame. */
                    void *b = sn_zmtp_decoder_take_body(&d);
                    FUZZ_CHECK(b == NULL ? ev.size <= SN_ZMTP_DECODER_INLINE
                                         : b == ev.data);
                    free(b);
                }
                break;
            }
            case SN_ZMTP_EV_COMMAND:
                if (ev.cmd.type == SN_ZMTP_CMD_PING)
                    check_pong(&ev.cmd);
                else if (ev.cmd.type == SN_ZMTP_CMD_ERROR)
                    goto out; /* the engine disconnects */
                break;
            default:
                FUZZ_CHECK(0);
            }
        }
    }
out:
    free(own);
    sn_zmtp_decoder_fini(&d);
}

/* ---- the handshake ---------------------------------------------------------------- */

static void
check_result(const sn_zmtp_handshake *hs, const fuzz_case *fc)
{
    const sn_zmtp_handshake_result *r = sn_zmtp_handshake_result_get(hs);
    FUZZ_CHECK(r->peer_major >= 3);
    FUZZ_CHECK(r->zmtp_minor == ((r->peer_major == 3 && r->peer_minor == 0) ? 0 : 1));
    FUZZ_CHECK(strcmp(r->peer_mechanism, "NULL") == 0);
    FUZZ_CHECK(r->peer_socket_type == -1 ||
               sn_zmtp_socket_type_compatible(fc->cfg.socket_type, r->peer_socket_type));
    FUZZ_CHECK(r->peer_routing_id_len <= SN_ZMTP_ROUTING_ID_MAX);
    FUZZ_CHECK(r->peer_routing_id_len == 0 || r->peer_routing_id[0] != 0);
    int err;
    FUZZ_CHECK(r->peer_metadata != NULL);
    FUZZ_CHECK(sn_zmtp_metadata_validate(r->peer_metadata, r->peer_metadata_len, &err) ==
               0);
}

static void
fuzz_case_init(fuzz_case *fc, const uint8_t *h)
{
    memset(fc, 0, sizeof *fc);
    fc->cfg.socket_type = fuzz_types[h[0] & 0x1f];
    fc->cfg.as_server = (h[0] & 0x20) != 0;
    fc->cfg.greeting_whole = (h[0] & 0x40) != 0;
    if (h[0] & 0x80) {
        fc->cfg.routing_id = fuzz_rid;
        fc->cfg.routing_id_len = sizeof fuzz_rid - 1;
    }
    fc->cfg.maxmsgsize = fuzz_maxmsgsizes[h[1] & 3];
    memset(fc->big, 'b', sizeof fc->big);
    switch ((h[1] >> 2) & 3) {
    case 3:
        fc->props[0] = (sn_zmtp_property){
            .name = "X-Big", .value = fc->big, .value_len = sizeof fc->big};
        fc->cfg.nproperties = 1;
        break;
    case 2:
        fc->props[1] =
            (sn_zmtp_property){.name = "X-Empty", .value = NULL, .value_len = 0};
        fc->cfg.nproperties = 1;
        /* fall through */
    case 1:
        fc->props[0] = (sn_zmtp_property){
            .name = "X-Fuzz", .value = (const uint8_t *)"1", .value_len = 1};
        fc->cfg.nproperties++;
        break;
    default:
        break;
    }
    fc->cfg.properties = fc->cfg.nproperties ? fc->props : NULL;
    fc->out_mode = (h[1] >> 4) & 3;
    fc->own_body = (h[1] & 0x40) != 0;
    fc->body_window = (h[1] & 0x80) != 0;
    fc->schedule = (uint16_t)(h[2] | h[3] << 8);
}

/* Bytes we must have queued in all once `fed` peer bytes were consumed and the handshake
 * still runs: libzmq's stages (10, 11, 64), or 64 at once; + READY after the greeting. */
static void
check_staging(const fuzz_case *fc, size_t fed, size_t sent, size_t pending)
{
    size_t out = sent + pending;
    if (fed >= SN_ZMTP_GREETING_SIZE)
        FUZZ_CHECK(out > SN_ZMTP_GREETING_SIZE); /* + our READY */
    else if (fc->cfg.greeting_whole || fed >= 11)
        FUZZ_CHECK(out == SN_ZMTP_GREETING_SIZE);
    else
        FUZZ_CHECK(out == (fed < SN_ZMTP_SIGNATURE_SIZE ? 10u : 11u));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    fuzz_case fc;
    fuzz_case_init(&fc, data);
    const uint8_t *in = data + 4;
    size_t n = size - 4;

    sn_zmtp_handshake hs;
    int rc = sn_zmtp_handshake_init(&hs, &fc.cfg);
    if (sn_zmtp_socket_type_name(fc.cfg.socket_type) == NULL) {
        FUZZ_CHECK(rc == -EINVAL);
        return 0;
    }
    FUZZ_CHECK(rc == 0 && sn_zmtp_handshake_state(&hs) == SN_ZMTP_HS_RUNNING);

    peer_view pv;
    memset(&pv, 0, sizeof pv);
    sn_zmtp_greeting_reader_init(&pv.greeting);
    sn_zmtp_decoder_init(&pv.dec, NULL);

    size_t at = 0, fed = 0;
    rc = 0;
    while (at < n && sn_zmtp_handshake_state(&hs) == SN_ZMTP_HS_RUNNING) {
        size_t c = next_chunk(&fc, n - at);
        rc = sn_zmtp_handshake_feed(&hs, in + at, c);
        if (rc < 0) {
            FUZZ_CHECK(sn_zmtp_handshake_state(&hs) == SN_ZMTP_HS_FAILED);
            break;
        }
        FUZZ_CHECK((size_t)rc <= c);
        at += (size_t)rc;
        fed += (size_t)rc;
        if (sn_zmtp_handshake_state(&hs) != SN_ZMTP_HS_RUNNING) {
            FUZZ_CHECK(sn_zmtp_handshake_state(&hs) == SN_ZMTP_HS_DONE);
            break;
        }
        /* A running handshake takes every byte: progress is guaranteed. */
        FUZZ_CHECK((size_t)rc == c);
        check_staging(&fc, fed, pv.total, pending_output(&hs));
        switch (fc.out_mode) {
        case OUT_ALL:
            peer_take(&hs, &pv, &fc, SIZE_MAX);
            break;
        case OUT_SCHEDULE:
            peer_take(&hs, &pv, &fc, next_chunk(&fc, pending_output(&hs)));
            break;
        case OUT_BYTE:
            peer_take(&hs, &pv, &fc, 1);
            break;
        default:
            break;
        }
    }
    /* DONE or FAILED: flush what is left, as the engine does; out of input: the peer
     * reads what we wrote. */
    peer_take(&hs, &pv, &fc, SIZE_MAX);
    FUZZ_CHECK(pending_output(&hs) == 0);
    if (pv.greeting_checked)
        FUZZ_CHECK(pv.complete_at == pv.total); /* never a partial command */

    switch (sn_zmtp_handshake_state(&hs)) {
    case SN_ZMTP_HS_DONE:
        check_result(&hs, &fc);
        FUZZ_CHECK(pv.readys == 1 && pv.errors == 0);
        FUZZ_CHECK(at >= SN_ZMTP_GREETING_SIZE);
        /* The rest is traffic: a finished handshake takes none of it. */
        if (at < n)
            FUZZ_CHECK(sn_zmtp_handshake_feed(&hs, in + at, n - at) == 0);
        traffic(&fc, in + at, n - at);
        break;
    case SN_ZMTP_HS_FAILED: {
        const char *why = NULL;
        FUZZ_CHECK(rc < 0);
        sn_zmtp_handshake_error(&hs, &why);
        FUZZ_CHECK(why != NULL && strlen(why) < sizeof hs.reason);
        /* Errors are sticky and say nothing more. */
        FUZZ_CHECK(sn_zmtp_handshake_feed(&hs, in, n) == rc);
        FUZZ_CHECK(pending_output(&hs) == 0);
        break;
    }
    default:
        FUZZ_CHECK(at == n); /* input ran out mid-handshake */
        break;
    }
    sn_zmtp_decoder_fini(&pv.dec);
    sn_zmtp_handshake_fini(&hs);
    return 0;
}
