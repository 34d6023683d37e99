/* Command frames (src/zmtp/command.c: RFC 37 commands, heartbeats, subscriptions) and
 * metadata (src/zmtp/metadata.c), checked against libzmq 4.3.4 captures byte for byte. */
#include <errno.h>
#include <stdlib.h>

#include "zmtp/codec.h"
#include "zmtp/command.h"
#include "zmtp/handshake.h"
#include "zmtp_test.h"

TestSuite(zmtp_command, .timeout = 10.0);

/* Strip the frame header (short or long) of a captured command frame. */
static const uint8_t *
body_of(const sn_test_segment *s, size_t *len)
{
    size_t hl = (s->data[0] & SN_ZMTP_FLAG_LONG) ? 9 : 2;
    cr_assert_geq(s->len, hl);
    *len = s->len - hl;
    return s->data + hl;
}

/* RFC 37 heartbeats; reference §8: libzmq's PING (TTL 50, no context) and its PONGs,
 * which echo the context truncated to 16 bytes. */
Test(zmtp_command, ping_pong_match_libzmq)
{
    sn_test_vectors v = zt_load("heartbeat_ping_pong.hex");
    uint8_t out[64];
    const sn_test_segment *ping = zt_seg(&v, "zmq", "PING");
    /* The capture's socket has ZMQ_HEARTBEAT_TTL 5000 ms -> 50 deciseconds. */
    cr_assert_eq(sn_zmtp_ping_ttl_from_ms(5000), 50);
    cr_assert_eq(sn_zmtp_ping_ttl_from_ms(99), 0);
    cr_assert_eq(sn_zmtp_ping_ttl_from_ms(-1), 0);
    cr_assert_eq(sn_zmtp_ping_ttl_from_ms(7000000), 65535);
    ssize_t n = sn_zmtp_command_build_ping(out, sizeof out, sn_zmtp_ping_ttl_from_ms(5000),
                                           NULL, 0);
    zt_assert_bytes(out, (size_t)n, ping->data, ping->len, "PING ttl 50");
    static const char *peer_labels[] = {"PING ttl=10 context=b'ctx", "PING ttl=10 context=b''",
                                        "PING ttl=10 context=b'0123"};
    for (size_t i = 0; i < 3; i++) {
        const sn_test_segment *p = zt_seg(&v, "peer", peer_labels[i]);
        const sn_test_segment *pong = sn_test_vectors_nth(&v, "zmq", 3 + i);
        cr_assert_not_null(pong);
        cr_assert(strncmp(pong->label, "PONG", 4) == 0, "segment order: %s", pong->label);
        size_t bl;
        const uint8_t *b = body_of(p, &bl);
        sn_zmtp_command cmd;
        int err = 0;
        cr_assert_eq(sn_zmtp_command_parse(b, bl, &cmd, &err), 0, "%s", p->label);
        cr_assert_eq(cmd.type, SN_ZMTP_CMD_PING);
        cr_assert_eq(cmd.ttl, 10);
        n = sn_zmtp_command_build_pong_for(out, sizeof out, &cmd);
        zt_assert_bytes(out, (size_t)n, pong->data, pong->len, pong->label);
        /* And our PING with that context equals the peer's bytes (<= 16 only). */
        if (cmd.data_len <= SN_ZMTP_PING_CONTEXT_MAX) {
            n = sn_zmtp_command_build_ping(out, sizeof out, 10, cmd.data, cmd.data_len);
            zt_assert_bytes(out, (size_t)n, p->data, p->len, p->label);
        } else {
            cr_assert_eq(sn_zmtp_command_build_ping(out, sizeof out, 10, cmd.data, cmd.data_len),
                         -EINVAL, "RFC 37: context is at most 16 bytes");
        }
    }
    sn_test_vectors_free(&v);
}

/* RFC 37/29 subscriptions: SUBSCRIBE/CANCEL commands to 3.1 peers, 01/00 messages to
 * 3.0 peers, exactly as libzmq SUB writes them. */
Test(zmtp_command, subscriptions_match_libzmq)
{
    static const struct {
        const char *file;
        int minor;
    } files[] = {{"sub_subscribe_zmtp31.hex", 1}, {"sub_subscribe_zmtp30.hex", 0}};
    for (size_t i = 0; i < 2; i++) {
        sn_test_vectors v = zt_load(files[i].file);
        uint8_t out[64];
        const sn_test_segment *sub = zt_seg(&v, "zmq", "after setsockopt(SUBSCRIBE");
        const sn_test_segment *can = zt_seg(&v, "zmq", "after setsockopt(UNSUBSCRIBE");
        ssize_t n = sn_zmtp_subscription_build(out, sizeof out, files[i].minor, true, "abc", 3);
        zt_assert_bytes(out, (size_t)n, sub->data, sub->len, files[i].file);
        n = sn_zmtp_subscription_build(out, sizeof out, files[i].minor, false, "abc", 3);
        zt_assert_bytes(out, (size_t)n, can->data, can->len, files[i].file);
        sn_test_vectors_free(&v);
    }
    uint8_t out[64];
    ssize_t n = sn_zmtp_command_build_subscribe(out, sizeof out, "abc", 3);
    size_t bl = (size_t)n - 2;
    sn_zmtp_command cmd;
    int err;
    cr_assert_eq(sn_zmtp_command_parse(out + 2, bl, &cmd, &err), 0);
    cr_assert_eq(cmd.type, SN_ZMTP_CMD_SUBSCRIBE);
    zt_assert_bytes(cmd.data, cmd.data_len, "abc", 3, "topic");
    n = sn_zmtp_command_build_cancel(out, sizeof out, "", 0);
    cr_assert_eq(sn_zmtp_command_parse(out + 2, (size_t)n - 2, &cmd, &err), 0);
    cr_assert_eq(cmd.type, SN_ZMTP_CMD_CANCEL);
    cr_assert_eq(cmd.data_len, 0);
}

/* Reference §9: libzmq 4.3.4 writes a 250-byte-topic SUBSCRIBE as 04 + 8-byte size. We
 * choose LONG from the whole body (260 bytes): 06 + 8-byte size. Same for 3.0 messages
 * with a 255-byte topic (body 256). */
Test(zmtp_command, long_topics_use_the_long_flag)
{
    sn_test_vectors v = zt_load("sub_subscribe_long_topic_bug.hex");
    const sn_test_segment *bug = zt_seg(&v, "zmq", "after setsockopt");
    uint8_t topic[255], out[300];
    memset(topic, 't', sizeof topic);
    ssize_t n = sn_zmtp_command_build_subscribe(out, sizeof out, topic, 250);
    cr_assert_eq(n, (ssize_t)bug->len);
    cr_assert_eq(out[0], 0x06);
    cr_assert_eq(bug->data[0], 0x04, "the capture shows the bug");
    zt_assert_bytes(out + 1, (size_t)n - 1, bug->data + 1, bug->len - 1, "rest identical");
    for (size_t len = 244; len <= 255; len++) {
        n = sn_zmtp_command_build_subscribe(out, sizeof out, topic, len);
        cr_assert_eq(out[0], len + 10 > 255 ? 0x06 : 0x04, "topic %zu", len);
        n = sn_zmtp_subscription_build(out, sizeof out, 0, true, topic, len);
        cr_assert_eq(out[0], len + 1 > 255 ? 0x02 : 0x00, "3.0 topic %zu", len);
        cr_assert_eq(n, (ssize_t)(len + 1 + (len + 1 > 255 ? 9 : 2)));
    }
    sn_test_vectors_free(&v);
}

/* XSUB/PUB captures: 3.0-form subscription messages recognised on any version. */
Test(zmtp_command, subscription_messages_recognised)
{
    sn_test_vectors v = zt_load("xsub_send_subscribe_zmtp31.hex");
    bool sub;
    const uint8_t *t;
    size_t tl;
    const sn_test_segment *s1 = sn_test_vectors_nth(&v, "zmq", 2);
    const sn_test_segment *s0 = sn_test_vectors_nth(&v, "zmq", 3);
    const sn_test_segment *hello = sn_test_vectors_nth(&v, "zmq", 4);
    cr_assert_eq(sn_zmtp_subscription_from_message(s1->data + 2, s1->len - 2, &sub, &t, &tl), 1);
    cr_assert(sub);
    zt_assert_bytes(t, tl, "abc", 3, "subscribe topic");
    cr_assert_eq(sn_zmtp_subscription_from_message(s0->data + 2, s0->len - 2, &sub, &t, &tl), 1);
    cr_assert(!sub);
    cr_assert_eq(sn_zmtp_subscription_from_message(hello->data + 2, hello->len - 2, &sub, &t,
                                                   &tl), 0);
    cr_assert_eq(sn_zmtp_subscription_from_message(NULL, 0, &sub, &t, &tl), 0);
    sn_test_vectors_free(&v);
    v = zt_load("pub_filtering.hex");
    const sn_test_segment *cmd = zt_seg(&v, "peer", "SUBSCRIBE");
    size_t bl;
    const uint8_t *b = body_of(cmd, &bl);
    sn_zmtp_command c;
    int err;
    cr_assert_eq(sn_zmtp_command_parse(b, bl, &c, &err), 0);
    cr_assert_eq(c.type, SN_ZMTP_CMD_SUBSCRIBE);
    zt_assert_bytes(c.data, c.data_len, "ab", 2, "topic");
    sn_test_vectors_free(&v);
}

/* READY for every socket type: our builder + the handshake's property list equal
 * libzmq's READY (property order, Identity only for REQ/DEALER/ROUTER). */
Test(zmtp_command, ready_matches_libzmq_for_every_type)
{
    static const struct {
        const char *file;
        int type;
    } f[] = {
        {"null_pair.hex", SN_ZMTP_PAIR},     {"null_pub.hex", SN_ZMTP_PUB},
        {"null_sub.hex", SN_ZMTP_SUB},       {"null_req.hex", SN_ZMTP_REQ},
        {"null_rep.hex", SN_ZMTP_REP},       {"null_dealer.hex", SN_ZMTP_DEALER},
        {"null_router.hex", SN_ZMTP_ROUTER}, {"null_pull.hex", SN_ZMTP_PULL},
        {"null_push.hex", SN_ZMTP_PUSH},     {"null_xpub.hex", SN_ZMTP_XPUB},
        {"null_xsub.hex", SN_ZMTP_XSUB},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        sn_test_vectors v = zt_load(f[i].file);
        const sn_test_segment *ready = zt_seg(&v, "zmq", "READY");
        const char *name = sn_zmtp_socket_type_name(f[i].type);
        sn_zmtp_property props[2] = {
            {.name = "Socket-Type", .value = (const uint8_t *)name, .value_len = strlen(name)},
            {.name = "Identity", .value = NULL, .value_len = 0},
        };
        size_t np = (f[i].type == SN_ZMTP_REQ || f[i].type == SN_ZMTP_DEALER ||
                     f[i].type == SN_ZMTP_ROUTER) ? 2 : 1;
        uint8_t out[128];
        ssize_t n = sn_zmtp_command_build_ready(out, sizeof out, props, np);
        zt_assert_bytes(out, (size_t)n, ready->data, ready->len, f[i].file);
        cr_assert_eq(sn_zmtp_command_build_ready(out, (size_t)n - 1, props, np), -ENOBUFS);
        /* Parsed back: READY with the type's name. */
        sn_zmtp_command cmd;
        int err;
        cr_assert_eq(sn_zmtp_command_parse(ready->data + 2, ready->len - 2, &cmd, &err), 0);
        cr_assert_eq(cmd.type, SN_ZMTP_CMD_READY);
        sn_zmtp_property p;
        cr_assert_eq(sn_zmtp_metadata_find(cmd.data, cmd.data_len, "socket-type", &p), 1);
        cr_assert_eq(sn_zmtp_socket_type_from_name(p.value, p.value_len), f[i].type);
        sn_test_vectors_free(&v);
    }
}

/* ERROR (RFC 37 NULL): correct form, as libzmq's NULL/CURVE servers send it, and the
 * malformed `5e "RROR"` of libzmq's PLAIN server (reference §10) read as ERROR too. */
Test(zmtp_command, error_command)
{
    uint8_t out[300];
    uint8_t *want;
    size_t wl = sn_test_hex("040a054552524f5203343030", &want);
    ssize_t n = sn_zmtp_command_build_error(out, sizeof out, "400");
    zt_assert_bytes(out, (size_t)n, want, wl, "ERROR 400");
    free(want);
    sn_zmtp_command cmd;
    int err;
    cr_assert_eq(sn_zmtp_command_parse(out + 2, (size_t)n - 2, &cmd, &err), 0);
    cr_assert_eq(cmd.type, SN_ZMTP_CMD_ERROR);
    zt_assert_bytes(cmd.data, cmd.data_len, "400", 3, "reason");
    sn_test_vectors v = zt_load("plain_server_zap_400.hex");
    const sn_test_segment *lz = zt_seg(&v, "zmq", "everything until close");
    cr_assert_eq(sn_zmtp_command_parse(lz->data + 2, lz->len - 2, &cmd, &err), 0);
    cr_assert_eq(cmd.type, SN_ZMTP_CMD_ERROR);
    zt_assert_bytes(cmd.data, cmd.data_len, "400", 3, "libzmq PLAIN reason");
    sn_test_vectors_free(&v);
    /* Over-long reasons are cut at 255 so the length byte stays truthful. */
    char longr[400];
    memset(longr, 'r', sizeof longr - 1);
    longr[sizeof longr - 1] = '\0';
    n = sn_zmtp_command_build_error(out, sizeof out, longr);
    cr_assert_eq(n, 9 + 1 + 5 + 1 + 255);
    cr_assert_eq(sn_zmtp_command_parse(out + 9, (size_t)n - 9, &cmd, &err), 0);
    cr_assert_eq(cmd.data_len, 255);
}

/* Unknown names parse (type UNKNOWN, RFC 37 says ignore them after the handshake);
 * mechanism names are recognised with raw data. */
Test(zmtp_command, unknown_and_mechanism_commands)
{
    static const uint8_t foo[] = {3, 'F', 'O', 'O', 1, 2};
    static const uint8_t hello[] = {5, 'H', 'E', 'L', 'L', 'O', 0, 0};
    sn_zmtp_command cmd;
    int err;
    cr_assert_eq(sn_zmtp_command_parse(foo, sizeof foo, &cmd, &err), 0);
    cr_assert_eq(cmd.type, SN_ZMTP_CMD_UNKNOWN);
    cr_assert_eq(cmd.name_len, 3);
    cr_assert_eq(cmd.data_len, 2);
    cr_assert_eq(sn_zmtp_command_parse(hello, sizeof hello, &cmd, &err), 0);
    cr_assert_eq(cmd.type, SN_ZMTP_CMD_HELLO);
    cr_assert_eq(cmd.data_len, 2);
    /* "ping" in lower case is not PING. */
    static const uint8_t ping[] = {4, 'p', 'i', 'n', 'g'};
    cr_assert_eq(sn_zmtp_command_parse(ping, sizeof ping, &cmd, &err), 0);
    cr_assert_eq(cmd.type, SN_ZMTP_CMD_UNKNOWN);
}

Test(zmtp_command, builders_check_arguments)
{
    uint8_t out[16];
    cr_assert_eq(sn_zmtp_command_build(out, sizeof out, "", NULL, 0), -EINVAL);
    cr_assert_eq(sn_zmtp_command_build(out, sizeof out, "X", NULL, 3), -EINVAL);
    cr_assert_eq(sn_zmtp_command_build(out, 3, "PING", NULL, 0), -ENOBUFS);
    cr_assert_eq(sn_zmtp_command_build_subscribe(out, sizeof out, "0123456789", 10), -ENOBUFS);
    cr_assert_eq(sn_zmtp_command_build_pong_for(out, sizeof out, NULL), -EINVAL);
    cr_assert_eq(sn_zmtp_subscription_build(out, 2, 0, true, "a", 1), -ENOBUFS);
    char name[300];
    memset(name, 'A', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    cr_assert_eq(sn_zmtp_command_build_prefix(out, sizeof out, name, 0), -EINVAL);
}

/* Metadata (RFC 37 grammar): round trip, case-insensitive lookup, strict names, and
 * every truncation of a valid list is an error rather than an over-read. */
Test(zmtp_command, metadata_parse_and_build)
{
    sn_zmtp_property props[] = {
        {.name = "Socket-Type", .value = (const uint8_t *)"DEALER", .value_len = 6},
        {.name = "Identity", .value = NULL, .value_len = 0},
        {.name = "X-Custom.v1+ok_", .value = (const uint8_t *)"\0\1\2", .value_len = 3},
    };
    uint8_t buf[128];
    ssize_t n = sn_zmtp_metadata_build(buf, sizeof buf, props, 3);
    cr_assert_eq(n, sn_zmtp_metadata_size(props, 3));
    cr_assert_eq(n, (1 + 11 + 4 + 6) + (1 + 8 + 4) + (1 + 15 + 4 + 3));
    int err = 0;
    cr_assert_eq(sn_zmtp_metadata_validate(buf, (size_t)n, &err), 0);
    sn_zmtp_metadata_iter it;
    sn_zmtp_property p;
    sn_zmtp_metadata_iter_init(&it, buf, (size_t)n);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(sn_zmtp_metadata_next(&it, &p, &err), 1);
        cr_assert_eq(p.name_len, strlen(props[i].name));
        cr_assert_eq(memcmp(p.name, props[i].name, p.name_len), 0);
        cr_assert_eq(p.value_len, props[i].value_len);
    }
    cr_assert_eq(sn_zmtp_metadata_next(&it, &p, &err), 0);
    cr_assert_eq(sn_zmtp_metadata_find(buf, (size_t)n, "IDENTITY", &p), 1);
    cr_assert_eq(sn_zmtp_metadata_find(buf, (size_t)n, "Resource", &p), 0);
    for (ssize_t cut = 1; cut < n; cut++) {
        int rc = sn_zmtp_metadata_validate(buf, (size_t)cut, &err);
        bool boundary = cut == 22 || cut == 35;
        cr_assert_eq(rc, boundary ? 0 : -EPROTO, "cut at %zd", cut);
    }
    cr_assert_eq(sn_zmtp_metadata_build(buf, (size_t)n - 1, props, 3), -ENOBUFS);
    cr_assert_eq(sn_zmtp_metadata_validate(buf, 0, &err), 0, "empty list is valid");
    static const char *bad_names[] = {"", "with space", "colon:", "nul\x01", "\xff"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        sn_zmtp_property b = {.name = bad_names[i], .value = NULL, .value_len = 0};
        cr_assert_eq(sn_zmtp_metadata_size(&b, 1), -EINVAL, "'%s'", bad_names[i]);
        uint8_t enc[16] = {(uint8_t)strlen(bad_names[i])};
        memcpy(enc + 1, bad_names[i], strlen(bad_names[i]));
        cr_assert_eq(sn_zmtp_metadata_validate(enc, 1 + strlen(bad_names[i]) + 4, &err), -EPROTO);
        cr_assert_eq(err, SN_ZMTP_ERR_INVALID_METADATA);
    }
    static const uint8_t big_value[] = {1, 'A', 0x80, 0, 0, 0};
    cr_assert_eq(sn_zmtp_metadata_validate(big_value, sizeof big_value, &err), -EPROTO);
    cr_assert_eq(err, SN_ZMTP_ERR_INVALID_METADATA);
    sn_zmtp_property huge = {.name = "X-Big", .value = buf, .value_len = 0x80000000u};
    cr_assert_eq(sn_zmtp_metadata_size(&huge, 1), -EINVAL);
}
