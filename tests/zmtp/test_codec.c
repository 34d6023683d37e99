/* Frame encoder and incremental decoder (src/zmtp/codec.c, RFC 37 "Framing") checked
 * against libzmq 4.3.4 captures: encoded headers byte-equal, libzmq's frames decoded,
 * header-before-body, maxmsgsize before buffering, zero-copy bodies, any chunking. */
#include <errno.h>
#include <stdlib.h>

#include "zmtp/codec.h"
#include "zmtp_test.h"

TestSuite(zmtp_codec, .timeout = 10.0);

typedef struct {
    int type;
    int flags;
    uint64_t size;
    uint8_t data[1024];
} zt_ev;

/* Decode everything in `in`, fed in chunks of `chunk` (0: all at once); record events. */
static size_t
decode_all(const uint8_t *in, size_t n, size_t chunk, int64_t maxmsgsize, zt_ev *evs,
           size_t max, int *rc_out)
{
    sn_zmtp_decoder d;
    sn_zmtp_decoder_config cfg = {.maxmsgsize = maxmsgsize};
    sn_zmtp_decoder_init(&d, &cfg);
    size_t nev = 0, at = 0;
    *rc_out = 0;
    while (at < n) {
        size_t c = chunk ? chunk : n - at;
        if (c > n - at)
            c = n - at;
        const uint8_t *p = in + at;
        size_t left = c;
        for (;;) {
            sn_zmtp_event ev;
            int rc = sn_zmtp_decoder_feed(&d, p, left, &ev);
            if (rc < 0) {
                *rc_out = rc;
                sn_zmtp_decoder_fini(&d);
                return nev;
            }
            p += rc;
            left -= (size_t)rc;
            if (ev.type == SN_ZMTP_EV_NONE) {
                cr_assert_eq(left, 0, "NONE means all input consumed");
                break;
            }
            cr_assert_lt(nev, max);
            evs[nev].type = ev.type;
            evs[nev].flags = ev.flags;
            evs[nev].size = ev.size;
            if (ev.type != SN_ZMTP_EV_FRAME_HEADER && ev.size <= sizeof evs[nev].data &&
                ev.size)
                memcpy(evs[nev].data, ev.data, ev.size);
            nev++;
        }
        at += c;
    }
    sn_zmtp_decoder_fini(&d);
    return nev;
}

/* libzmq's multipart [hello, "", X*300]: MORE on the first two, LONG only for 300. */
Test(zmtp_codec, encoder_matches_libzmq_multipart)
{
    sn_test_vectors v = zt_load("multipart_dealer.hex");
    uint8_t hdr[SN_ZMTP_FRAME_HEADER_MAX];
    const sn_test_segment *f1 = zt_seg(&v, "zmq", "frame 1");
    const sn_test_segment *f2 = zt_seg(&v, "zmq", "frame 2");
    const sn_test_segment *f3 = zt_seg(&v, "zmq", "frame 3");
    cr_assert_eq(sn_zmtp_frame_header(hdr, SN_ZMTP_FLAG_MORE, 5), 2);
    zt_assert_bytes(hdr, 2, f1->data, 2, "hello header");
    cr_assert_eq(sn_zmtp_frame_header(hdr, SN_ZMTP_FLAG_MORE, 0), 2);
    zt_assert_bytes(hdr, 2, f2->data, 2, "empty header");
    cr_assert_eq(sn_zmtp_frame_header(hdr, 0, 300), 9);
    zt_assert_bytes(hdr, 9, f3->data, 9, "long header");
    /* 255 is the last short size; 256 the first long one. */
    cr_assert_eq(sn_zmtp_frame_header(hdr, 0, 255), 2);
    cr_assert_eq(sn_zmtp_frame_header(hdr, 0, 256), 9);
    cr_assert_eq(hdr[0], SN_ZMTP_FLAG_LONG);
    /* Reserved and LONG bits passed in by mistake never reach the wire. */
    cr_assert_eq(sn_zmtp_frame_header(hdr, 0xfa, 1), 2);
    cr_assert_eq(hdr[0], 0);
    sn_test_vectors_free(&v);
}

/* REQ/REP envelopes from the captures encode identically. */
Test(zmtp_codec, encoder_matches_libzmq_envelopes)
{
    sn_test_vectors v = zt_load("req_envelope.hex");
    uint8_t buf[16];
    int hl = sn_zmtp_frame_header(buf, SN_ZMTP_FLAG_MORE, 0);
    zt_assert_bytes(buf, (size_t)hl, zt_seg(&v, "zmq", "empty delimiter")->data, 2, "delimiter");
    hl = sn_zmtp_frame_header(buf, 0, 3);
    memcpy(buf + hl, "req", 3);
    zt_assert_bytes(buf, (size_t)hl + 3, zt_seg(&v, "zmq", "body")->data, 5, "body");
    sn_test_vectors_free(&v);
}

/* The raw peer's frames ([A, "", Y*256] and a non-canonical LONG "tiny") and libzmq's
 * own, decoded with every chunking: header event then frame event for each. */
Test(zmtp_codec, decodes_captured_frames_in_any_chunking)
{
    sn_test_vectors v = zt_load("multipart_dealer.hex");
    uint8_t *in;
    size_t n = sn_test_vectors_concat(&v, "peer", 2, (size_t)-1, &in);
    static zt_ev evs[16], ref[16];
    int rc;
    size_t nref = decode_all(in, n, 0, -1, ref, 16, &rc);
    cr_assert_eq(rc, 0);
    cr_assert_eq(nref, 8);
    static const struct {
        int flags;
        uint64_t size;
    } want[] = {{1, 1}, {1, 0}, {0, 256}, {0, 4}};
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(ref[2 * i].type, SN_ZMTP_EV_FRAME_HEADER, "frame %zu", i);
        cr_assert_eq(ref[2 * i + 1].type, SN_ZMTP_EV_FRAME, "frame %zu", i);
        cr_assert_eq(ref[2 * i].flags, want[i].flags, "frame %zu", i);
        cr_assert_eq(ref[2 * i + 1].flags, want[i].flags, "frame %zu", i);
        cr_assert_eq(ref[2 * i].size, want[i].size, "frame %zu", i);
        cr_assert_eq(ref[2 * i + 1].size, want[i].size, "frame %zu", i);
    }
    cr_assert_eq(ref[1].data[0], 'A');
    cr_assert_eq(ref[5].data[0], 'Y');
    cr_assert_eq(ref[5].data[255], 'Y');
    zt_assert_bytes(ref[7].data, 4, "tiny", 4, "non-canonical long frame");
    for (size_t chunk = 1; chunk < 20; chunk++) {
        size_t ne = decode_all(in, n, chunk, -1, evs, 16, &rc);
        cr_assert_eq(rc, 0);
        cr_assert_eq(ne, nref, "chunk %zu", chunk);
        for (size_t i = 0; i < ne; i++) {
            cr_assert_eq(evs[i].type, ref[i].type);
            cr_assert_eq(evs[i].flags, ref[i].flags);
            cr_assert_eq(evs[i].size, ref[i].size);
            if (evs[i].type == SN_ZMTP_EV_FRAME)
                cr_assert_eq(memcmp(evs[i].data, ref[i].data, (size_t)ref[i].size), 0);
        }
    }
    free(in);
    /* libzmq's side of the same capture, after its READY. */
    n = sn_test_vectors_concat(&v, "zmq", 2, (size_t)-1, &in);
    size_t ne = decode_all(in, n, 1, -1, evs, 16, &rc);
    cr_assert_eq(rc, 0);
    cr_assert_eq(ne, 6);
    zt_assert_bytes(evs[1].data, evs[1].size, "hello", 5, "hello");
    cr_assert_eq(evs[5].size, 300);
    cr_assert_eq(evs[5].flags, 0);
    free(in);
    sn_test_vectors_free(&v);
}

/* Commands in the traffic (PING from libzmq) come out parsed, with no header event. */
Test(zmtp_codec, decodes_commands_into_structs)
{
    sn_test_vectors v = zt_load("heartbeat_ping_pong.hex");
    const sn_test_segment *ping = zt_seg(&v, "zmq", "PING");
    sn_zmtp_decoder d;
    sn_zmtp_event ev;
    sn_zmtp_decoder_init(&d, NULL);
    for (size_t i = 0; i + 1 < ping->len; i++) {
        cr_assert_eq(sn_zmtp_decoder_feed(&d, ping->data + i, 1, &ev), 1);
        cr_assert_eq(ev.type, SN_ZMTP_EV_NONE);
    }
    cr_assert_eq(sn_zmtp_decoder_feed(&d, ping->data + ping->len - 1, 1, &ev), 1);
    cr_assert_eq(ev.type, SN_ZMTP_EV_COMMAND);
    cr_assert_eq(ev.flags, SN_ZMTP_FLAG_COMMAND);
    cr_assert_eq(ev.cmd.type, SN_ZMTP_CMD_PING);
    cr_assert_eq(ev.cmd.ttl, 50);
    cr_assert_eq(ev.cmd.data_len, 0);
    cr_assert_null(d.heap, "a small command needs no allocation");
    sn_zmtp_decoder_fini(&d);
    sn_test_vectors_free(&v);
}

/* The header is reported before any body byte arrives, so an oversize frame is refused
 * having read only its header (ZMQ_MAXMSGSIZE; 64-bit sizes). */
Test(zmtp_codec, maxmsgsize_rejects_from_the_header)
{
    static const uint8_t big[] = {0x02, 0, 0, 0, 0, 0, 0, 0x03, 0xe8}; /* 1000, no body */
    sn_zmtp_decoder d;
    sn_zmtp_event ev;
    sn_zmtp_decoder_config cfg = {.maxmsgsize = 999};
    sn_zmtp_decoder_init(&d, &cfg);
    cr_assert_eq(sn_zmtp_decoder_feed(&d, big, sizeof big, &ev), -EMSGSIZE);
    cr_assert_null(d.heap);
    cr_assert_eq(sn_zmtp_decoder_feed(&d, big, 1, &ev), -EMSGSIZE, "sticky");
    sn_zmtp_decoder_fini(&d);

    cfg.maxmsgsize = 1000;
    sn_zmtp_decoder_init(&d, &cfg);
    cr_assert_eq(sn_zmtp_decoder_feed(&d, big, sizeof big, &ev), 9);
    cr_assert_eq(ev.type, SN_ZMTP_EV_FRAME_HEADER);
    cr_assert_eq(ev.size, 1000);
    sn_zmtp_decoder_fini(&d);

    /* Unlimited: a 2^62-byte frame is announced (the engine decides), never allocated. */
    static const uint8_t huge[] = {0x02, 0x40, 0, 0, 0, 0, 0, 0, 0};
    sn_zmtp_decoder_init(&d, NULL);
    cr_assert_eq(sn_zmtp_decoder_feed(&d, huge, sizeof huge, &ev), 9);
    cr_assert_eq(ev.type, SN_ZMTP_EV_FRAME_HEADER);
    cr_assert_eq(ev.size, (uint64_t)1 << 62);
    cr_assert_null(d.heap);
    sn_zmtp_decoder_fini(&d);

    /* Small message limit also applies to commands, as in libzmq. */
    static const uint8_t cmd[] = {0x04, 0x07, 0x04, 'P', 'I', 'N', 'G', 0, 0};
    cfg.maxmsgsize = 6;
    sn_zmtp_decoder_init(&d, &cfg);
    cr_assert_eq(sn_zmtp_decoder_feed(&d, cmd, sizeof cmd, &ev), -EMSGSIZE);
    sn_zmtp_decoder_fini(&d);
}

/* Zero-copy: the body lands in the caller's buffer, via feed or via the body window. */
Test(zmtp_codec, caller_supplied_body_buffer)
{
    uint8_t frame[9 + 300];
    int hl = sn_zmtp_frame_header(frame, SN_ZMTP_FLAG_MORE, 300);
    for (int i = 0; i < 300; i++)
        frame[hl + i] = (uint8_t)i;
    uint8_t mine[300];
    sn_zmtp_decoder d;
    sn_zmtp_event ev;
    sn_zmtp_decoder_init(&d, NULL);
    cr_assert_eq(sn_zmtp_decoder_feed(&d, frame, sizeof frame, &ev), hl);
    cr_assert_eq(ev.type, SN_ZMTP_EV_FRAME_HEADER);
    cr_assert_eq(sn_zmtp_decoder_set_body(&d, mine), 0);
    cr_assert_eq(sn_zmtp_decoder_set_body(&d, mine), -EINVAL, "only right after the header");
    cr_assert_eq(sn_zmtp_decoder_feed(&d, frame + hl, 300, &ev), 300);
    cr_assert_eq(ev.type, SN_ZMTP_EV_FRAME);
    cr_assert_eq(ev.data, mine);
    cr_assert_eq(ev.flags, SN_ZMTP_FLAG_MORE);
    cr_assert_eq(memcmp(mine, frame + hl, 300), 0);
    cr_assert_null(d.heap);

    /* Window path: "read()" straight into the message. */
    memset(mine, 0, sizeof mine);
    cr_assert_eq(sn_zmtp_decoder_feed(&d, frame, (size_t)hl, &ev), hl);
    cr_assert_eq(ev.type, SN_ZMTP_EV_FRAME_HEADER);
    cr_assert_eq(sn_zmtp_decoder_set_body(&d, mine), 0);
    uint8_t *w;
    size_t wl;
    cr_assert_eq(sn_zmtp_decoder_body_window(&d, &w, &wl), 0);
    cr_assert_eq(w, mine);
    cr_assert_eq(wl, 300);
    memcpy(w, frame + hl, 100);
    cr_assert_eq(sn_zmtp_decoder_body_advance(&d, 100), 0);
    cr_assert_eq(sn_zmtp_decoder_body_window(&d, &w, &wl), 0);
    cr_assert_eq(w, mine + 100);
    cr_assert_eq(wl, 200);
    cr_assert_eq(sn_zmtp_decoder_body_advance(&d, 201), -EINVAL);
    memcpy(w, frame + hl + 100, 200);
    cr_assert_eq(sn_zmtp_decoder_body_advance(&d, 200), 0);
    cr_assert_eq(sn_zmtp_decoder_feed(&d, NULL, 0, &ev), 0);
    cr_assert_eq(ev.type, SN_ZMTP_EV_FRAME);
    cr_assert_eq(memcmp(mine, frame + hl, 300), 0);
    sn_zmtp_decoder_fini(&d);
}

/* Without a caller buffer: short frames use the inline buffer (no heap at all), larger
 * ones a heap buffer the caller may adopt. */
Test(zmtp_codec, default_buffers)
{
    uint8_t frame[9 + 1000];
    sn_zmtp_decoder d;
    sn_zmtp_event ev;
    sn_zmtp_decoder_init(&d, NULL);
    int hl = sn_zmtp_frame_header(frame, 0, 255);
    memset(frame + hl, 'x', 255);
    int rc = sn_zmtp_decoder_feed(&d, frame, (size_t)hl + 255, &ev);
    rc += sn_zmtp_decoder_feed(&d, frame + rc, (size_t)hl + 255 - (size_t)rc, &ev);
    cr_assert_eq(ev.type, SN_ZMTP_EV_FRAME);
    cr_assert_eq(ev.data, d.inline_buf);
    cr_assert_null(d.heap);
    cr_assert_null(sn_zmtp_decoder_take_body(&d), "inline bodies cannot be adopted");

    hl = sn_zmtp_frame_header(frame, 0, 1000);
    memset(frame + hl, 'y', 1000);
    rc = sn_zmtp_decoder_feed(&d, frame, (size_t)hl + 1000, &ev);
    rc += sn_zmtp_decoder_feed(&d, frame + rc, (size_t)hl + 1000 - (size_t)rc, &ev);
    cr_assert_eq(ev.type, SN_ZMTP_EV_FRAME);
    cr_assert_eq(ev.size, 1000);
    uint8_t *body = sn_zmtp_decoder_take_body(&d);
    cr_assert_eq(body, ev.data);
    cr_assert_eq(body[999], 'y');
    free(body);
    sn_zmtp_decoder_fini(&d);
}

/* Framing errors (RFC 37): reserved bits, MORE on a command, sizes >= 2^63, oversize
 * commands, malformed command bodies; and libzmq 4.3.4's long-topic SUBSCRIBE bug
 * (command flag without LONG + 8-byte size), which a correct parser must reject. */
Test(zmtp_codec, malformed_frames)
{
    static const struct {
        const char *name, *hex;
        int rc, err;
    } cases[] = {
        {"reserved bit 3", "0800", -EPROTO, SN_ZMTP_ERR_UNSPECIFIED},
        {"reserved bit 7", "8000", -EPROTO, SN_ZMTP_ERR_UNSPECIFIED},
        {"command + MORE", "0500", -EPROTO, SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED},
        {"long command + MORE", "07", -EPROTO, SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED},
        {"size 2^63", "028000000000000000", -EPROTO, SN_ZMTP_ERR_UNSPECIFIED},
        {"size 2^64-1", "02ffffffffffffffff", -EPROTO, SN_ZMTP_ERR_UNSPECIFIED},
        {"command over cap", "060000000001000001", -EMSGSIZE,
         SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED},
        {"empty command", "0400", -EPROTO, SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED},
        {"PING without TTL", "04050450494e47", -EPROTO,
         SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED},
        {"PING with 1 TTL byte", "04060450494e4700", -EPROTO,
         SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED},
        {"READY bad metadata", "0407055245414459ff", -EPROTO,
         SN_ZMTP_ERR_MALFORMED_COMMAND_READY},
        {"ERROR without reason length", "0406054552524f52", -EPROTO,
         SN_ZMTP_ERR_MALFORMED_COMMAND_ERROR},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *in;
        size_t n = sn_test_hex(cases[i].hex, &in);
        for (size_t chunk = 1; chunk <= n; chunk += n - 1 ? n - 1 : 1) {
            static zt_ev evs[8];
            int rc;
            decode_all(in, n, chunk, -1, evs, 8, &rc);
            cr_assert_eq(rc, cases[i].rc, "%s (chunk %zu): rc %d", cases[i].name, chunk, rc);
            sn_zmtp_decoder d;
            sn_zmtp_event ev;
            sn_zmtp_decoder_init(&d, NULL);
            cr_assert_eq(sn_zmtp_decoder_feed(&d, in, n, &ev), cases[i].rc);
            cr_assert_eq(sn_zmtp_decoder_error(&d), cases[i].err, "%s: %#x", cases[i].name,
                         sn_zmtp_decoder_error(&d));
            sn_zmtp_decoder_fini(&d);
            if (n == 1)
                break;
        }
        free(in);
    }
    sn_test_vectors v = zt_load("sub_subscribe_long_topic_bug.hex");
    const sn_test_segment *s = zt_seg(&v, "zmq", "after setsockopt");
    sn_zmtp_decoder d;
    sn_zmtp_event ev;
    sn_zmtp_decoder_init(&d, NULL);
    cr_assert_eq(sn_zmtp_decoder_feed(&d, s->data, s->len, &ev), -EPROTO);
    cr_assert_eq(sn_zmtp_decoder_error(&d), SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED);
    sn_zmtp_decoder_fini(&d);
    sn_test_vectors_free(&v);
}

/* Misuse of the body API is an error, not a crash. */
Test(zmtp_codec, body_api_outside_a_body)
{
    sn_zmtp_decoder d;
    uint8_t *w;
    size_t wl;
    uint8_t buf[4];
    sn_zmtp_decoder_init(&d, NULL);
    cr_assert_eq(sn_zmtp_decoder_set_body(&d, buf), -EINVAL);
    cr_assert_eq(sn_zmtp_decoder_body_window(&d, &w, &wl), -EINVAL);
    cr_assert_eq(sn_zmtp_decoder_body_advance(&d, 1), -EINVAL);
    cr_assert_null(sn_zmtp_decoder_take_body(&d));
    sn_zmtp_decoder_fini(&d);
}

/* The engine's fast path takes only whole short message frames; everything else is
 * left to the full decoder, which applies every rule. */
Test(zmtp_codec, short_frame_fast_path_only_for_whole_plain_frames)
{
    sn_zmtp_decoder d;
    sn_zmtp_decoder_config cfg = {.maxmsgsize = 4, .command_max = 0};
    sn_zmtp_decoder_init(&d, &cfg);
    int flags;
    const uint8_t *body;
    size_t size;
    const uint8_t whole[] = {0x01, 0x03, 'a', 'b', 'c', 0x00};
    cr_assert_eq(sn_zmtp_decoder_short_frame(&d, whole, sizeof whole, &flags, &body, &size), 5);
    cr_assert_eq(flags, SN_ZMTP_FLAG_MORE);
    cr_assert_eq(size, 3);
    cr_assert_eq(body, whole + 2);
    /* Truncated body, LONG, COMMAND, reserved bits, over maxmsgsize: not taken. */
    cr_assert_eq(sn_zmtp_decoder_short_frame(&d, whole, 4, &flags, &body, &size), 0);
    const uint8_t lng[] = {0x02, 0, 0, 0, 0, 0, 0, 0, 1, 'x'};
    cr_assert_eq(sn_zmtp_decoder_short_frame(&d, lng, sizeof lng, &flags, &body, &size), 0);
    const uint8_t cmd[] = {0x04, 0x01, 'x'};
    cr_assert_eq(sn_zmtp_decoder_short_frame(&d, cmd, sizeof cmd, &flags, &body, &size), 0);
    const uint8_t rsv[] = {0x10, 0x01, 'x'};
    cr_assert_eq(sn_zmtp_decoder_short_frame(&d, rsv, sizeof rsv, &flags, &body, &size), 0);
    const uint8_t big[] = {0x00, 0x05, '1', '2', '3', '4', '5'};
    cr_assert_eq(sn_zmtp_decoder_short_frame(&d, big, sizeof big, &flags, &body, &size), 0);
    /* Mid-frame (after a header went through the full decoder): not taken either. */
    sn_zmtp_event ev;
    cr_assert_eq(sn_zmtp_decoder_feed(&d, whole, 2, &ev), 2);
    cr_assert_eq(sn_zmtp_decoder_short_frame(&d, whole, sizeof whole, &flags, &body, &size), 0);
    sn_zmtp_decoder_fini(&d);
}
