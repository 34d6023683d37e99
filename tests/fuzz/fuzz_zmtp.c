/* libFuzzer target for the ZMTP 3.x parsers (src/zmtp: greeting, frame decoder, command
 * and metadata parsers, NULL handshake; RFC 37). Peer bytes must never crash, assert or
 * over-read: every input ends in a clean result or a clean error.
 *
 * Input layout: byte 0 = mode (bits 0-1) and chunk size (bits 2-7, 0 = all at once),
 * byte 1 = socket type / options, rest = the peer's bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zmtp/codec.h"
#include "zmtp/command.h"
#include "zmtp/greeting.h"
#include "zmtp/handshake.h"
#include "zmtp/metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fuzzing must not chase multi-gigabyte announced sizes: that is the engine's policy
 * (maxmsgsize), not a parser bug. */
#define FUZZ_MAXMSGSIZE (1 << 20)

static void
fuzz_decoder(const uint8_t *in, size_t n, size_t chunk, uint8_t opt)
{
    sn_zmtp_decoder d;
    sn_zmtp_decoder_config cfg = {.maxmsgsize = (opt & 1) ? 300 : FUZZ_MAXMSGSIZE,
                                  .command_max = (opt & 2) ? 64 : 0};
    static uint8_t own[FUZZ_MAXMSGSIZE];
    sn_zmtp_decoder_init(&d, &cfg);
    size_t at = 0;
    while (at < n) {
        size_t c = chunk ? chunk : n - at;
        if (c > n - at)
            c = n - at;
        const uint8_t *p = in + at;
        size_t left = c;
        for (;;) {
            sn_zmtp_event ev;
            int rc = sn_zmtp_decoder_feed(&d, p, left, &ev);
            if (rc < 0)
                goto out;
            p += rc;
            left -= (size_t)rc;
            if (ev.type == SN_ZMTP_EV_NONE)
                break;
            if (ev.type == SN_ZMTP_EV_FRAME_HEADER) {
                if ((opt & 4) && ev.size <= sizeof own)
                    sn_zmtp_decoder_set_body(&d, own);
                if (opt & 8) {
                    uint8_t *w;
                    size_t wl;
                    if (sn_zmtp_decoder_body_window(&d, &w, &wl) == 0 && wl > 0 && left > 0) {
                        size_t k = wl < left ? wl : left;
                        memcpy(w, p, k);
                        sn_zmtp_decoder_body_advance(&d, k);
                        p += k;
                        left -= k;
                    }
                }
            } else if (ev.type == SN_ZMTP_EV_FRAME) {
                volatile uint8_t sink = ev.size ? ev.data[0] ^ ev.data[ev.size - 1] : 0;
                (void)sink;
                if (opt & 16)
                    free(sn_zmtp_decoder_take_body(&d));
            } else if (ev.type == SN_ZMTP_EV_COMMAND && ev.cmd.type == SN_ZMTP_CMD_PING) {
                uint8_t pong[64];
                sn_zmtp_command_build_pong_for(pong, sizeof pong, &ev.cmd);
            }
        }
        at += c;
    }
out:
    sn_zmtp_decoder_fini(&d);
}

static void
fuzz_handshake(const uint8_t *in, size_t n, size_t chunk, uint8_t opt)
{
    static const uint8_t rid[] = "fuzz-id";
    sn_zmtp_handshake hs;
    sn_zmtp_handshake_config cfg = {
        .socket_type = (opt & 0x0f) % 11,
        .routing_id = (opt & 0x10) ? rid : NULL,
        .routing_id_len = (opt & 0x10) ? sizeof rid - 1 : 0,
        .maxmsgsize = (opt & 0x20) ? 64 : FUZZ_MAXMSGSIZE,
        .greeting_whole = (opt & 0x40) != 0,
    };
    if (sn_zmtp_handshake_init(&hs, &cfg) < 0)
        return;
    size_t at = 0;
    while (at < n && sn_zmtp_handshake_state(&hs) == SN_ZMTP_HS_RUNNING) {
        size_t c = chunk ? chunk : n - at;
        if (c > n - at)
            c = n - at;
        int rc = sn_zmtp_handshake_feed(&hs, in + at, c);
        const uint8_t *o;
        size_t ol;
        sn_zmtp_handshake_output(&hs, &o, &ol);
        sn_zmtp_handshake_output_consumed(&hs, ol / 2 + 1);
        if (rc < 0)
            break;
        at += (size_t)rc;
    }
    if (sn_zmtp_handshake_state(&hs) == SN_ZMTP_HS_DONE) {
        const sn_zmtp_handshake_result *r = sn_zmtp_handshake_result_get(&hs);
        sn_zmtp_metadata_iter it;
        sn_zmtp_property p;
        int err;
        sn_zmtp_metadata_iter_init(&it, r->peer_metadata, r->peer_metadata_len);
        while (sn_zmtp_metadata_next(&it, &p, &err) > 0)
            ;
        fuzz_decoder(in + at, n - at, chunk, opt);
    } else {
        const char *why;
        sn_zmtp_handshake_error(&hs, &why);
    }
    sn_zmtp_handshake_fini(&hs);
}

static void
fuzz_parsers(const uint8_t *in, size_t n)
{
    sn_zmtp_command cmd;
    int err;
    if (sn_zmtp_command_parse(in, n, &cmd, &err) == 0 && cmd.type == SN_ZMTP_CMD_READY) {
        sn_zmtp_property p;
        sn_zmtp_metadata_find(cmd.data, cmd.data_len, "Socket-Type", &p);
    }
    sn_zmtp_metadata_validate(in, n, &err);
    if (n >= SN_ZMTP_GREETING_SIZE) {
        sn_zmtp_greeting g;
        sn_zmtp_greeting_parse(in, &g, &err);
    }
    bool sub;
    const uint8_t *t;
    size_t tl;
    sn_zmtp_subscription_from_message(in, n, &sub, &t, &tl);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int mode = data[0] & 3;
    size_t chunk = data[0] >> 2;
    uint8_t opt = data[1];
    const uint8_t *in = data + 2;
    size_t n = size - 2;
    switch (mode) {
    case 0:
    case 1:
        fuzz_handshake(in, n, chunk, opt);
        break;
    case 2:
        fuzz_decoder(in, n, chunk, opt);
        break;
    default:
        fuzz_parsers(in, n);
        break;
    }
    return 0;
}
