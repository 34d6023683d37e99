/* CURVE (RFC 25/26) against real libzmq 4.3: sinew as server with a libzmq client and
 * the reverse, over tcp and ipc, for REQ/REP and PUSH/PULL; messages from 0 bytes to
 * 4 MB and multipart ones, so every frame size goes through the MESSAGE box both ways;
 * refusals (wrong server key, mechanism mismatch) deliver nothing and leave the server
 * serving others. */
#include "interop/interop.h"

#include <criterion/parameterized.h>

#define MB4 (4u * 1024u * 1024u)
static const size_t sizes[] = {0, 1, 17, 48, 49, 255, 256, 8191, 8192, 65536, 300000, MB4};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* Fixed test keys (any 32 bytes are a Curve25519 secret). */
typedef struct keys {
    char server_pub[41], server_sec[41], client_pub[41], client_sec[41];
} keys;

static keys
make_keys(void)
{
    keys k;
    cr_assert_eq(sinew_curve_keypair(k.server_pub, k.server_sec), 0);
    cr_assert_eq(zmq_curve_keypair(k.client_pub, k.client_sec), 0);
    return k;
}

static void
setkey(ip_sock *s, int opt, const char *z85)
{
    int rc = s->zmq ? zmq_setsockopt(s->s, opt, z85, 40) : sinew_setsockopt(s->s, opt, z85, 40);
    cr_assert_eq(rc, 0, "set key %d: errno %d", opt, errno);
}

static void
curve_server(ip_sock *s, const keys *k)
{
    ip_setint(s, ZMQ_CURVE_SERVER, 1);
    setkey(s, ZMQ_CURVE_SECRETKEY, k->server_sec);
}

static void
curve_client(ip_sock *s, const keys *k, const char *server_pub)
{
    setkey(s, ZMQ_CURVE_SERVERKEY, server_pub);
    setkey(s, ZMQ_CURVE_PUBLICKEY, k->client_pub);
    setkey(s, ZMQ_CURVE_SECRETKEY, k->client_sec);
}

typedef struct combo {
    char transport[4];
    bool sinew_server;
    int server_type, client_type; /* the server binds */
} combo;

ParameterizedTestParameters(curve_interop, roundtrip)
{
    static combo c[16];
    int n = 0;
    const char *tr[] = {"tcp", "ipc"};
    const int types[][2] = {{ZMQ_REP, ZMQ_REQ}, {ZMQ_PULL, ZMQ_PUSH}};
    for (int t = 0; t < 2; t++)
        for (int side = 0; side < 2; side++)
            for (int p = 0; p < 2; p++) {
                combo x = {.sinew_server = side == 0, .server_type = types[p][0],
                           .client_type = types[p][1]};
                snprintf(x.transport, sizeof x.transport, "%s", tr[t]);
                c[n++] = x;
            }
    return cr_make_param_array(combo, c, (size_t) n);
}

static uint8_t *
pattern(size_t len, unsigned seed)
{
    uint8_t *p = malloc(len ? len : 1);
    cr_assert_not_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t) (i * 31u + seed + (i >> 8));
    return p;
}

static void
send_one(ip_sock *from, ip_sock *to, const uint8_t *d, size_t len, int parts)
{
    for (int i = 0; i < parts; i++)
        ip_send(from, d, len, i + 1 < parts ? ZMQ_SNDMORE : 0);
    for (int i = 0; i < parts; i++)
        ip_recv_check(to, d, len, i + 1 < parts);
}

ParameterizedTest(combo *c, curve_interop, roundtrip, .init = ip_setup, .fini = ip_teardown,
                  .timeout = 60.0)
{
    keys k = make_keys();
    ip_sock *srv = ip_socket(!c->sinew_server, c->server_type);
    ip_sock *cli = ip_socket(c->sinew_server, c->client_type);
    ip_sock *all[2] = {srv, cli};
    for (int i = 0; i < 2; i++) {
        ip_setint(all[i], ZMQ_RCVTIMEO, 10000);
        ip_setint(all[i], ZMQ_SNDTIMEO, 10000);
    }
    curve_server(srv, &k);
    curve_client(cli, &k, k.server_pub);
    char ep[256];
    ip_bind(srv, c->transport, ep, sizeof ep);
    ip_connect(cli, ep);
    bool reqrep = c->server_type == ZMQ_REP;
    for (size_t i = 0; i < NSIZES; i++) {
        uint8_t *d = pattern(sizes[i], (unsigned) i);
        int parts = sizes[i] <= 256 ? 3 : 1;
        send_one(cli, srv, d, sizes[i], parts);
        if (reqrep)
            send_one(srv, cli, d, sizes[i], parts);
        free(d);
    }
    /* A stream, to run the short nonces well past the handshake's. */
    for (uint32_t i = 0; i < 2000; i++) {
        ip_send_u32(cli, i);
        cr_assert_eq(ip_recv_u32(srv), i);
        if (reqrep) {
            ip_send_u32(srv, i);
            cr_assert_eq(ip_recv_u32(cli), i);
        }
    }
}

/* A server refusing a client must deliver nothing from it and still serve a good one. */
static void
refused_then_served(bool sinew_server, const char *transport, int bad_kind)
{
    keys k = make_keys();
    ip_sock *srv = ip_socket(!sinew_server, ZMQ_PULL);
    ip_setint(srv, ZMQ_RCVTIMEO, 300);
    curve_server(srv, &k);
    char ep[256];
    ip_bind(srv, transport, ep, sizeof ep);
    ip_sock *mon = NULL;
    if (sinew_server)
        mon = ip_monitor(srv, SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                  SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                  SINEW_EVENT_HANDSHAKE_SUCCEEDED);

    ip_sock *bad = ip_socket(sinew_server, ZMQ_PUSH);
    ip_setint(bad, ZMQ_SNDTIMEO, 0);
    if (bad_kind == 0) { /* CURVE, but the wrong server key */
        char other_pub[41], other_sec[41];
        cr_assert_eq(sinew_curve_keypair(other_pub, other_sec), 0);
        curve_client(bad, &k, other_pub);
    } /* else NULL mechanism against a CURVE server */
    ip_connect(bad, ep);
    ip_send_raw(bad, "bad", 3, 0); /* queued; must never arrive */
    if (mon != NULL) {
        /* A NULL client sees the mismatch too and may hang up while our greeting is
         * still going out: the handshake then ends as lost (NO_DETAIL), not refused. */
        ip_event ev;
        int mask = SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                   (bad_kind == 1 ? SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL : 0);
        ip_expect_event(mon, mask, &ev, 5000);
        if (ev.event == SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL)
            cr_expect_eq(ev.value,
                         bad_kind == 0 ? (uint32_t) ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC
                                       : (uint32_t) ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH,
                         "protocol error 0x%x", ev.value);
    }
    char buf[16];
    cr_assert_eq(ip_recv_raw(srv, buf, sizeof buf, 0), -1, "a refused client's message arrived");

    ip_sock *good = ip_socket(sinew_server, ZMQ_PUSH);
    ip_setint(good, ZMQ_SNDTIMEO, 5000);
    curve_client(good, &k, k.server_pub);
    ip_connect(good, ep);
    ip_send_str(good, "good", 0);
    ip_setint(srv, ZMQ_RCVTIMEO, 5000);
    ip_recv_str(srv, "good");
    cr_assert_eq(ip_recv_raw(srv, buf, sizeof buf, ZMQ_DONTWAIT), -1);
}

Test(curve_interop, wrong_server_key_refused_sinew_server, .init = ip_setup, .fini = ip_teardown,
     .timeout = 20.0)
{
    refused_then_served(true, "tcp", 0);
}

Test(curve_interop, wrong_server_key_refused_libzmq_server, .init = ip_setup,
     .fini = ip_teardown, .timeout = 20.0)
{
    refused_then_served(false, "ipc", 0);
}

Test(curve_interop, null_client_refused_sinew_server, .init = ip_setup, .fini = ip_teardown,
     .timeout = 20.0)
{
    refused_then_served(true, "ipc", 1);
}

Test(curve_interop, null_client_refused_libzmq_server, .init = ip_setup, .fini = ip_teardown,
     .timeout = 20.0)
{
    refused_then_served(false, "tcp", 1);
}

/* DEALER/ROUTER under CURVE, the ROUTER as server: the ROUTER sees each DEALER message
 * behind the DEALER's routing id and answers through it. */
typedef struct rd_combo {
    char transport[4];
    bool sinew_router;
} rd_combo;

ParameterizedTestParameters(curve_interop, dealer_router)
{
    static rd_combo c[] = {{"tcp", true}, {"tcp", false}, {"ipc", true}, {"ipc", false}};
    return cr_make_param_array(rd_combo, c, sizeof c / sizeof c[0]);
}

ParameterizedTest(rd_combo *c, curve_interop, dealer_router, .init = ip_setup,
                  .fini = ip_teardown, .timeout = 30.0)
{
    keys k = make_keys();
    ip_sock *router = ip_socket(!c->sinew_router, ZMQ_ROUTER);
    ip_sock *dealer = ip_socket(c->sinew_router, ZMQ_DEALER);
    ip_sock *all[2] = {router, dealer};
    for (int i = 0; i < 2; i++) {
        ip_setint(all[i], ZMQ_RCVTIMEO, 10000);
        ip_setint(all[i], ZMQ_SNDTIMEO, 10000);
    }
    int rc = dealer->zmq ? zmq_setsockopt(dealer->s, ZMQ_ROUTING_ID, "dlr", 3)
                         : sinew_setsockopt(dealer->s, SINEW_ROUTING_ID, "dlr", 3);
    cr_assert_eq(rc, 0);
    curve_server(router, &k);
    curve_client(dealer, &k, k.server_pub);
    char ep[256];
    ip_bind(router, c->transport, ep, sizeof ep);
    ip_connect(dealer, ep);
    const size_t rd_sizes[] = {0, 5, 300, 70000, 1u << 20};
    for (size_t i = 0; i < sizeof rd_sizes / sizeof rd_sizes[0]; i++) {
        uint8_t *d = pattern(rd_sizes[i], (unsigned) i + 7);
        ip_send(dealer, "head", 4, ZMQ_SNDMORE);
        ip_send(dealer, d, rd_sizes[i], 0);
        ip_recv_check(router, "dlr", 3, true);
        ip_recv_check(router, "head", 4, true);
        ip_recv_check(router, d, rd_sizes[i], false);
        ip_send(router, "dlr", 3, ZMQ_SNDMORE);
        ip_send(router, d, rd_sizes[i], 0);
        ip_recv_check(dealer, d, rd_sizes[i], false);
        free(d);
    }
}

/* PUB/SUB over CURVE, each library as the publisher (the CURVE server, binding) and the
 * other as the subscriber: the subscription crosses the boxed connection to the
 * publisher, which filters (a topic nobody subscribed to never arrives). */
ParameterizedTestParameters(curve_interop, pubsub)
{
    static combo c[4];
    int n = 0;
    const char *tr[] = {"tcp", "ipc"};
    for (int t = 0; t < 2; t++)
        for (int side = 0; side < 2; side++) {
            combo x = {.sinew_server = side == 0, .server_type = ZMQ_PUB,
                       .client_type = ZMQ_SUB};
            snprintf(x.transport, sizeof x.transport, "%s", tr[t]);
            c[n++] = x;
        }
    return cr_make_param_array(combo, c, (size_t) n);
}

ParameterizedTest(combo *c, curve_interop, pubsub, .init = ip_setup, .fini = ip_teardown,
                  .timeout = 60.0)
{
    keys k = make_keys();
    ip_sock *pub = ip_socket(!c->sinew_server, ZMQ_PUB);
    ip_sock *sub = ip_socket(c->sinew_server, ZMQ_SUB);
    ip_setint(sub, ZMQ_RCVTIMEO, 100);
    curve_server(pub, &k);
    curve_client(sub, &k, k.server_pub);
    int rc = sub->zmq ? zmq_setsockopt(sub->s, ZMQ_SUBSCRIBE, "news", 4)
                      : sinew_setsockopt(sub->s, ZMQ_SUBSCRIBE, "news", 4);
    cr_assert_eq(rc, 0);
    char ep[256];
    ip_bind(pub, c->transport, ep, sizeof ep);
    ip_connect(sub, ep);
    /* Until the subscription has reached the publisher, what it sends is not for us. */
    char buf[64];
    int n = -1;
    for (uint64_t deadline = ip_now_ms() + 10000; n < 0 && ip_now_ms() < deadline;) {
        ip_send_str(pub, "other: not subscribed", 0);
        ip_send_str(pub, "news: first", 0);
        n = ip_recv_raw(sub, buf, sizeof buf, 0);
    }
    cr_assert_eq(n, 11, "no subscribed message came through in 10 s");
    cr_assert_eq(memcmp(buf, "news: first", 11), 0);
    /* From now on every message goes through, filtered, in order. */
    for (int i = 0; i < 200; i++) {
        ip_send_str(pub, "other: not subscribed", 0);
        char m[32];
        snprintf(m, sizeof m, "news %d", i);
        ip_send_str(pub, m, 0);
    }
    ip_setint(sub, ZMQ_RCVTIMEO, 5000);
    int seen = 0;
    while (seen < 200) {
        n = ip_recv_raw(sub, buf, sizeof buf - 1, 0);
        cr_assert_gt(n, 0, "after %d messages: errno %d", seen, errno);
        buf[n] = '\0';
        cr_assert_eq(strncmp(buf, "news", 4), 0, "unsubscribed message '%s'", buf);
        if (strcmp(buf, "news: first") == 0)
            continue; /* more of the joining loop's copies */
        char m[32];
        snprintf(m, sizeof m, "news %d", seen);
        cr_assert_str_eq(buf, m);
        seen++;
    }
}
