/* Greeting (src/zmtp/greeting.c, RFC 37 "Greeting", "Version Negotiation"): libzmq's
 * bytes reproduced, incremental reading with milestones, early refusal of non-ZMTP. */
#include <errno.h>
#include <stdlib.h>

#include "zmtp/greeting.h"
#include "zmtp/zmtp.h"
#include "zmtp_test.h"

TestSuite(zmtp_greeting, .timeout = 10.0);

Test(zmtp_greeting, build_matches_libzmq)
{
    sn_test_vectors v = zt_load("heartbeat_ping_pong.hex");
    const sn_test_segment *g = zt_seg(&v, "zmq", "greeting");
    uint8_t out[SN_ZMTP_GREETING_SIZE];
    cr_assert_eq(sn_zmtp_greeting_build(out, "NULL", false, 1), 0);
    zt_assert_bytes(out, sizeof out, g->data, g->len, "NULL greeting");
    /* The raw peer's greeting is the RFC's zero padding. */
    const sn_test_segment *pg = zt_seg(&v, "peer", "greeting");
    cr_assert_eq(sn_zmtp_greeting_build(out, "NULL", false, 0), 0);
    zt_assert_bytes(out, sizeof out, pg->data, pg->len, "zero padding");
    sn_test_vectors_free(&v);
    cr_assert_eq(sn_zmtp_greeting_build(out, "CURVE", true, 1), 0);
    cr_assert_eq(out[32], 1);
    cr_assert_eq(memcmp(out + 12, "CURVE\0", 6), 0);
    cr_assert_eq(sn_zmtp_greeting_build(out, "", false, 1), -EINVAL);
    cr_assert_eq(sn_zmtp_greeting_build(out, "null", false, 1), -EINVAL);
    cr_assert_eq(sn_zmtp_greeting_build(out, "ABCDEFGHIJKLMNOPQRSTU", false, 1), -EINVAL);
}

/* Milestones at 1, 10, 11, 64 bytes whatever the chunk size, and the parsed result. */
Test(zmtp_greeting, reader_stops_at_milestones)
{
    uint8_t g[SN_ZMTP_GREETING_SIZE];
    sn_zmtp_greeting_build(g, "PLAIN", true, 9);
    sn_zmtp_greeting_reader r;
    int err = 0;
    sn_zmtp_greeting_reader_init(&r);
    static const size_t stops[] = {1, 10, 11, 64};
    size_t at = 0;
    for (size_t i = 0; i < 4; i++) {
        int rc = sn_zmtp_greeting_feed(&r, g + at, sizeof g - at, &err);
        cr_assert_eq(rc, (int)(stops[i] - at), "milestone %zu", stops[i]);
        at += (size_t)rc;
        cr_assert_eq(sn_zmtp_greeting_have(&r), stops[i]);
    }
    cr_assert_eq(sn_zmtp_greeting_feed(&r, g, 1, &err), 0, "complete: takes nothing more");
    sn_zmtp_greeting pg;
    cr_assert_eq(sn_zmtp_greeting_parse(r.buf, &pg, &err), 0);
    cr_assert_eq(pg.major, 3);
    cr_assert_eq(pg.minor, 1);
    cr_assert_eq(pg.effective_minor, 1);
    cr_assert_str_eq(pg.mechanism, "PLAIN");
    cr_assert(pg.as_server);
}

/* Refusals happen as soon as the deciding byte arrives (byte 0, 9 or 10). */
Test(zmtp_greeting, refuses_early)
{
    static const struct {
        size_t at;
        uint8_t byte;
        size_t fails_after;
    } cases[] = {{0, 0x00, 1}, {0, 0x47, 1}, {9, 0x7e, 10}, {10, 0x01, 11}, {10, 0x02, 11}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t g[SN_ZMTP_GREETING_SIZE];
        sn_zmtp_greeting_build(g, "NULL", false, 1);
        g[cases[i].at] = cases[i].byte;
        sn_zmtp_greeting_reader r;
        sn_zmtp_greeting_reader_init(&r);
        int err = 0, rc = 0;
        size_t fed = 0;
        while (fed < sizeof g) {
            rc = sn_zmtp_greeting_feed(&r, g + fed, 1, &err);
            fed++;
            if (rc < 0)
                break;
        }
        cr_assert_eq(rc, -EPROTO, "case %zu", i);
        cr_assert_eq(err, SN_ZMTP_ERR_UNSPECIFIED);
        cr_assert_eq(fed, cases[i].fails_after, "case %zu", i);
        sn_zmtp_greeting pg;
        cr_assert_eq(sn_zmtp_greeting_parse(g, &pg, &err), -EPROTO);
    }
    uint8_t g[SN_ZMTP_GREETING_SIZE];
    sn_zmtp_greeting pg;
    int err;
    sn_zmtp_greeting_build(g, "NULL", false, 1);
    g[13] = 'u'; /* "NuLL": invalid mechanism chars */
    cr_assert_eq(sn_zmtp_greeting_parse(g, &pg, &err), -EPROTO);
    cr_assert_eq(err, SN_ZMTP_ERR_MECHANISM_MISMATCH);
    sn_zmtp_greeting_build(g, "NULL", false, 1);
    g[31] = 'X'; /* garbage after the NUL padding */
    cr_assert_eq(sn_zmtp_greeting_parse(g, &pg, &err), -EPROTO);
    memset(g + 12, 0, 20); /* empty mechanism */
    cr_assert_eq(sn_zmtp_greeting_parse(g, &pg, &err), -EPROTO);
}

/* ZMTP 3.0 peers get effective minor 0; padding is never interpreted. */
Test(zmtp_greeting, version_and_padding)
{
    sn_test_vectors v = zt_load("sub_subscribe_zmtp30.hex");
    const sn_test_segment *g = zt_seg(&v, "peer", "greeting");
    sn_zmtp_greeting pg;
    int err;
    cr_assert_eq(sn_zmtp_greeting_parse(g->data, &pg, &err), 0);
    cr_assert_eq(pg.minor, 0);
    cr_assert_eq(pg.effective_minor, 0);
    uint8_t b[SN_ZMTP_GREETING_SIZE];
    memcpy(b, g->data, sizeof b);
    memset(b + 1, 0xab, 8);
    cr_assert_eq(sn_zmtp_greeting_parse(b, &pg, &err), 0, "padding is not validated");
    sn_test_vectors_free(&v);
}
