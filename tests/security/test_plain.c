/* PLAIN (RFC 24) and ZAP (RFC 27) between sinew and libzmq, both roles, over tcp and
 * ipc: admission through a ZAP handler, and every refusal (wrong password, ZAP 300/400/
 * 500, no handler, mechanism mismatch) with the monitor event libzmq emits, no message
 * delivered, and the server still serving its other peers. */
#include "interop/interop.h"
#include "security/zap_handler.h"

#define DOMAIN "sinew-test"

static void *live_auth; /* an authenticator to destroy before the context ends */

static void
plain_teardown(void)
{
    if (live_auth != NULL)
        sinew_auth_destroy(live_auth);
    live_auth = NULL;
    zh_stop_all();
    ip_teardown();
}

TestSuite(plain, .init = ip_setup, .fini = plain_teardown, .timeout = 30.0);

typedef struct combo {
    bool zmq_server; /* libzmq is the server (and the ZAP handler's library) */
    char tran[4];
} combo;

static combo combos[] = {
    {false, "tcp"},
    {false, "ipc"},
    {true, "tcp"},
    {true, "ipc"},
};

static void
setstr(ip_sock *s, int opt, const char *v)
{
    int rc = s->zmq ? zmq_setsockopt(s->s, opt, v, strlen(v))
                    : sinew_setsockopt(s->s, opt, v, strlen(v));
    cr_assert_eq(rc, 0, "setsockopt(%d, %s): errno %d", opt, v, errno);
}

static ip_sock *
plain_server(bool zmq, int type, const char *tran, char *ep, size_t eplen)
{
    ip_sock *s = ip_socket(zmq, type);
    ip_setint(s, SINEW_PLAIN_SERVER, 1);
    setstr(s, SINEW_ZAP_DOMAIN, DOMAIN);
    ip_setint(s, SINEW_RCVTIMEO, IP_WAIT_MS);
    ip_bind(s, tran, ep, eplen);
    return s;
}

static ip_sock *
plain_client(bool zmq, int type, const char *user, const char *pass)
{
    ip_sock *c = ip_socket(zmq, type);
    setstr(c, SINEW_PLAIN_USERNAME, user);
    setstr(c, SINEW_PLAIN_PASSWORD, pass);
    ip_setint(c, SINEW_RCVTIMEO, IP_WAIT_MS);
    return c;
}

static void
roundtrip(ip_sock *req, ip_sock *rep)
{
    ip_send_str(req, "ping", 0);
    ip_recv_str(rep, "ping");
    ip_send_str(rep, "pong", 0);
    ip_recv_str(req, "pong");
}

/* Nothing arrives on s within ms. */
static void
expect_silence(ip_sock *s, int ms)
{
    char buf[16];
    int rc = s->zmq ? zmq_recv(s->s, buf, sizeof buf, ZMQ_DONTWAIT)
                    : sinew_recv(s->s, buf, sizeof buf, SINEW_DONTWAIT);
    cr_assert_eq(rc, -1, "a refused peer's message was delivered");
    if (s->zmq) {
        zmq_pollitem_t it = {.socket = s->s, .events = ZMQ_POLLIN};
        cr_assert_eq(zmq_poll(&it, 1, ms), 0, "a refused peer's message was delivered");
    } else {
        sinew_pollitem_t it = {.socket = s->s, .events = SINEW_POLLIN};
        cr_assert_eq(sinew_poll(&it, 1, ms), 0, "a refused peer's message was delivered");
    }
}

ParameterizedTestParameters(plain, admitted_by_zap)
{
    return cr_make_param_array(combo, combos, sizeof combos / sizeof combos[0]);
}

/* RFC 24: HELLO carries the credentials, the server asks ZAP (RFC 27), and on 200 the
 * handshake completes; REQ/REP traffic then flows in clear text. */
ParameterizedTest(combo *c, plain, admitted_by_zap)
{
    zap_handler zh = {.password = "secret", .refuse = 400};
    zh_start(&zh, c->zmq_server, c->zmq_server ? ip_zctx : ip_sctx);
    char ep[256];
    ip_sock *rep = plain_server(c->zmq_server, SINEW_REP, c->tran, ep, sizeof ep);
    ip_sock *mon = c->zmq_server ? NULL : ip_monitor(rep, SINEW_EVENT_ALL);
    ip_sock *req = plain_client(!c->zmq_server, SINEW_REQ, "admin", "secret");
    ip_connect(req, ep);
    roundtrip(req, rep);
    if (mon != NULL)
        ip_expect_event(mon, SINEW_EVENT_HANDSHAKE_SUCCEEDED, NULL, IP_WAIT_MS);
    /* The request, as libzmq frames it (RFC 27): version, id, domain, address,
     * identity, mechanism, credentials. */
    cr_assert_eq(atomic_load(&zh.requests), 1);
    cr_assert_eq(zh.nframes, 8); /* after the delimiter REP strips */
    cr_assert_str_eq(zh.frame[0], "1.0");
    cr_assert_str_eq(zh.frame[2], DOMAIN);
    if (strcmp(c->tran, "tcp") == 0)
        cr_assert_str_eq(zh.frame[3], "127.0.0.1");
    else
        cr_assert_eq(strncmp(zh.frame[3], "localhost:", 10), 0, "ipc address: %s",
                     zh.frame[3]); /* libzmq's form: localhost:uid:gid:pid */
    cr_assert_str_eq(zh.frame[5], "PLAIN");
    cr_assert_str_eq(zh.frame[6], "admin");
    cr_assert_str_eq(zh.frame[7], "secret");
    zh_stop(&zh);
}

ParameterizedTestParameters(plain, wrong_password_refused)
{
    return cr_make_param_array(combo, combos, sizeof combos / sizeof combos[0]);
}

/* A wrong password: ZAP says 400, the server sends ERROR "400", both sides report
 * HANDSHAKE_FAILED_AUTH 400, nothing is delivered, and a good client still gets in. */
ParameterizedTest(combo *c, plain, wrong_password_refused)
{
    zap_handler zh = {.password = "secret", .refuse = 400};
    zh_start(&zh, c->zmq_server, c->zmq_server ? ip_zctx : ip_sctx);
    char ep[256];
    ip_sock *rep = plain_server(c->zmq_server, SINEW_REP, c->tran, ep, sizeof ep);
    ip_sock *smon = c->zmq_server ? NULL : ip_monitor(rep, SINEW_EVENT_ALL);
    ip_sock *bad = plain_client(!c->zmq_server, SINEW_REQ, "admin", "wrong");
    ip_sock *cmon = c->zmq_server ? ip_monitor(bad, SINEW_EVENT_ALL) : NULL;
    ip_connect(bad, ep);
    ip_send_str(bad, "intruder", 0);
    ip_event ev;
    ip_expect_event(smon != NULL ? smon : cmon, SINEW_EVENT_HANDSHAKE_FAILED_AUTH, &ev,
                    IP_WAIT_MS);
    cr_assert_eq(ev.value, 400);
    expect_silence(rep, 200);

    ip_sock *good = plain_client(!c->zmq_server, SINEW_REQ, "admin", "secret");
    ip_connect(good, ep);
    roundtrip(good, rep);
    zh_stop(&zh);
}

typedef struct status_case {
    int status;
    bool zmq_client;
    char tran[4];
} status_case;

static status_case status_cases[] = {
    {300, false, "tcp"}, {300, true, "tcp"}, {400, true, "ipc"},
    {500, false, "tcp"}, {500, true, "ipc"},
};

ParameterizedTestParameters(plain, zap_status_refuses)
{
    return cr_make_param_array(status_case, status_cases,
                               sizeof status_cases / sizeof status_cases[0]);
}

/* RFC 27: 300 (temporary), 400 (refused) and 500 (internal error) each refuse the peer;
 * the sinew server reports HANDSHAKE_FAILED_AUTH with the status, as libzmq. */
ParameterizedTest(status_case *sc, plain, zap_status_refuses)
{
    zap_handler zh = {.password = NULL, .refuse = sc->status};
    zh_start(&zh, false, ip_sctx);
    char ep[256];
    ip_sock *rep = plain_server(false, SINEW_REP, sc->tran, ep, sizeof ep);
    ip_sock *mon = ip_monitor(rep, SINEW_EVENT_ALL);
    ip_sock *req = plain_client(sc->zmq_client, SINEW_REQ, "admin", "secret");
    ip_connect(req, ep);
    ip_send_str(req, "hello", 0);
    ip_event ev;
    ip_expect_event(mon, SINEW_EVENT_HANDSHAKE_FAILED_AUTH, &ev, IP_WAIT_MS);
    cr_assert_eq(ev.value, (uint32_t) sc->status);
    expect_silence(rep, 200);
    zh_stop(&zh);
}

ParameterizedTestParameters(plain, no_handler_refuses)
{
    return cr_make_param_array(combo, combos, sizeof combos / sizeof combos[0]);
}

/* libzmq 4.3: a PLAIN server with no ZAP handler bound admits no one (its HELLO check
 * fails, HANDSHAKE_FAILED_NO_DETAIL with EFAULT); sinew does the same. */
ParameterizedTest(combo *c, plain, no_handler_refuses)
{
    char ep[256];
    ip_sock *rep = plain_server(c->zmq_server, SINEW_REP, c->tran, ep, sizeof ep);
    ip_sock *mon = c->zmq_server ? NULL : ip_monitor(rep, SINEW_EVENT_ALL);
    ip_sock *req = plain_client(!c->zmq_server, SINEW_REQ, "admin", "secret");
    ip_connect(req, ep);
    ip_send_str(req, "hello", 0);
    if (mon != NULL) {
        ip_event ev;
        ip_expect_event(mon, SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL, &ev, IP_WAIT_MS);
        cr_assert_eq(ev.value, EFAULT);
    }
    expect_silence(rep, 300);
}

/* ZAP_ENFORCE_DOMAIN with a NULL server: no handler means no admission (NO_DETAIL,
 * EFAULT); without enforcement the same server admits. */
Test(plain, null_enforced_domain_without_handler)
{
    char ep[256];
    ip_sock *rep = ip_socket(false, SINEW_REP);
    setstr(rep, SINEW_ZAP_DOMAIN, DOMAIN);
    ip_setint(rep, SINEW_ZAP_ENFORCE_DOMAIN, 1);
    ip_bind(rep, "tcp", ep, sizeof ep);
    ip_sock *mon = ip_monitor(rep, SINEW_EVENT_ALL);
    ip_sock *req = ip_socket(true, ZMQ_REQ);
    ip_connect(req, ep);
    ip_send_str(req, "x", 0);
    ip_event ev;
    ip_expect_event(mon, SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL, &ev, IP_WAIT_MS);
    cr_assert_eq(ev.value, EFAULT);
    expect_silence(rep, 200);

    ip_sock *open = ip_socket(false, SINEW_REP);
    setstr(open, SINEW_ZAP_DOMAIN, DOMAIN);
    ip_setint(open, SINEW_RCVTIMEO, IP_WAIT_MS);
    ip_bind(open, "tcp", ep, sizeof ep);
    ip_sock *req2 = ip_socket(true, ZMQ_REQ);
    ip_setint(req2, ZMQ_RCVTIMEO, IP_WAIT_MS);
    ip_connect(req2, ep);
    roundtrip(req2, open);
}

/* NULL with a ZAP domain asks the handler (libzmq): 400 refuses with ERROR "400", and
 * the libzmq client's own monitor... is libzmq's; ours reports AUTH 400. */
Test(plain, null_domain_asks_zap)
{
    zap_handler zh = {.password = NULL, .refuse = 400};
    zh_start(&zh, false, ip_sctx);
    char ep[256];
    ip_sock *rep = ip_socket(false, SINEW_REP);
    setstr(rep, SINEW_ZAP_DOMAIN, DOMAIN);
    ip_bind(rep, "ipc", ep, sizeof ep);
    ip_sock *mon = ip_monitor(rep, SINEW_EVENT_ALL);
    ip_sock *req = ip_socket(true, ZMQ_REQ);
    ip_connect(req, ep);
    ip_send_str(req, "x", 0);
    ip_event ev;
    ip_expect_event(mon, SINEW_EVENT_HANDSHAKE_FAILED_AUTH, &ev, IP_WAIT_MS);
    cr_assert_eq(ev.value, 400);
    cr_assert_str_eq(zh.frame[5], "NULL");
    cr_assert_eq(zh.nframes, 6);
    expect_silence(rep, 200);
    zh_stop(&zh);
}

/* RFC 37: mechanisms must match; a NULL client and a PLAIN server part with
 * HANDSHAKE_FAILED_PROTOCOL, MECHANISM_MISMATCH, on both libraries' terms. */
Test(plain, mechanism_mismatch)
{
    zap_handler zh = {.password = NULL, .refuse = 200};
    zh_start(&zh, false, ip_sctx);
    char ep[100]; /* fits a unix socket path: zp_connect copies it there */
    ip_sock *rep = plain_server(false, SINEW_REP, "tcp", ep, sizeof ep);
    ip_sock *mon = ip_monitor(rep, SINEW_EVENT_ALL);
    /* A raw NULL greeting that stays connected: we see the mismatch ourselves. */
    int fd = zp_connect(ep);
    cr_assert_geq(fd, 0);
    cr_assert_eq(zp_send_all(fd, zp_greeting, sizeof zp_greeting), 0);
    ip_event ev;
    ip_expect_event(mon, SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL, &ev, IP_WAIT_MS);
    cr_assert_eq(ev.value, SINEW_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH);
    close(fd);
    /* A libzmq NULL client: whichever side sees the mismatch first closes (libzmq may
     * close before its greeting is whole: then ours is NO_DETAIL); nothing gets in. */
    ip_sock *req = ip_socket(true, ZMQ_REQ);
    ip_connect(req, ep);
    ip_send_str(req, "x", 0);
    ip_expect_event(mon, SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL, &ev, IP_WAIT_MS);
    expect_silence(rep, 200);
    /* A PLAIN client gets in meanwhile. */
    ip_sock *good = plain_client(true, ZMQ_REQ, "admin", "secret");
    ip_connect(good, ep);
    roundtrip(good, rep);
    zh_stop(&zh);
}

/* PAIR and PUSH/PULL over PLAIN, sinew client to libzmq server and back. */
Test(plain, pair_and_pipeline)
{
    zap_handler zz = {.password = "secret", .refuse = 400};
    zh_start(&zz, true, ip_zctx);
    zap_handler zs = {.password = "secret", .refuse = 400};
    zh_start(&zs, false, ip_sctx);
    char ep[256], ep2[256];
    ip_sock *zpair = plain_server(true, ZMQ_PAIR, "tcp", ep, sizeof ep);
    ip_sock *spair = plain_client(false, SINEW_PAIR, "admin", "secret");
    ip_connect(spair, ep);
    ip_send_str(spair, "to-zmq", 0);
    ip_recv_str(zpair, "to-zmq");
    ip_send_str(zpair, "to-sinew", 0);
    ip_recv_str(spair, "to-sinew");

    ip_sock *pull = plain_server(false, SINEW_PULL, "ipc", ep2, sizeof ep2);
    ip_sock *push = plain_client(true, ZMQ_PUSH, "admin", "secret");
    ip_connect(push, ep2);
    ip_send_str(push, "pushed", 0);
    ip_recv_str(pull, "pushed");
    zh_stop(&zz);
    zh_stop(&zs);
}

/* Malformed ZAP replies fail the handshake with libzmq's ZAP protocol error codes. */
typedef struct bad_reply {
    const char *frames[6];
    int n;
    uint32_t code;
} bad_reply;

Test(plain, malformed_zap_replies)
{
    static const bad_reply cases[] = {
        {{"2.0", "1", "200", "", "", ""}, 6, SINEW_PROTOCOL_ERROR_ZAP_BAD_VERSION},
        {{"1.0", "7", "200", "", "", ""}, 6, SINEW_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID},
        {{"1.0", "1", "201", "", "", ""}, 6, SINEW_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE},
        {{"1.0", "1", "200", "", "", "\x05X"}, 6, SINEW_PROTOCOL_ERROR_ZAP_INVALID_METADATA},
        {{"1.0", "1", "200", ""}, 4, SINEW_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zap_handler zh = {.noverride = cases[i].n};
        for (int f = 0; f < cases[i].n; f++)
            zh.reply_override[f] = cases[i].frames[f];
        zh_start(&zh, false, ip_sctx);
        char ep[256];
        ip_sock *rep = plain_server(false, SINEW_REP, "tcp", ep, sizeof ep);
        ip_sock *mon = ip_monitor(rep, SINEW_EVENT_ALL);
        ip_sock *req = plain_client(true, ZMQ_REQ, "admin", "secret");
        ip_connect(req, ep);
        ip_event ev;
        ip_expect_event(mon, SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL, &ev, IP_WAIT_MS);
        cr_assert_eq(ev.value, cases[i].code, "case %zu: 0x%x", i, ev.value);
        ip_close(req);
        ip_close(rep);
        ip_close(mon);
        zh_stop(&zh);
    }
}

ParameterizedTestParameters(plain, dealer_router)
{
    return cr_make_param_array(combo, combos, sizeof combos / sizeof combos[0]);
}

/* DEALER/ROUTER over PLAIN in both roles: the ROUTER sees the DEALER's routing id and
 * answers through it; a sinew ROUTER also sees the ZAP User-Id on the message. */
ParameterizedTest(combo *c, plain, dealer_router)
{
    zap_handler zh = {.password = "secret", .refuse = 400};
    zh_start(&zh, c->zmq_server, c->zmq_server ? ip_zctx : ip_sctx);
    char ep[256];
    ip_sock *router = plain_server(c->zmq_server, SINEW_ROUTER, c->tran, ep, sizeof ep);
    ip_sock *dealer = plain_client(!c->zmq_server, SINEW_DEALER, "admin", "secret");
    setstr(dealer, SINEW_ROUTING_ID, "d1");
    ip_connect(dealer, ep);
    ip_send_str(dealer, "hello", 0);
    ip_recv_check(router, "d1", 2, true);
    if (!router->zmq) {
        sinew_msg_t m;
        sinew_msg_init(&m);
        cr_assert_eq(sinew_msg_recv(&m, router->s, 0), 5);
        cr_assert_str_eq(sinew_msg_gets(&m, "User-Id"), "alice");
        cr_assert_str_eq(sinew_msg_gets(&m, "Socket-Type"), "DEALER");
        sinew_msg_close(&m);
    } else {
        ip_recv_str(router, "hello");
    }
    ip_send(router, "d1", 2, SINEW_SNDMORE);
    ip_send_str(router, "world", 0);
    ip_recv_str(dealer, "world");
    zh_stop(&zh);
}

/* CURVE with ZAP across libraries: a libzmq CURVE client whose key the sinew
 * authenticator knows gets in (User-Id = its key); one it does not know is refused
 * with AUTH 400 on our side. */
Test(plain, curve_client_admitted_by_authenticator)
{
    if (!sinew_has("curve"))
        cr_skip_test("built without libsodium");
    char spub[41], ssec[41], cpub[41], csec[41], opub[41], osec[41];
    cr_assert_eq(zmq_curve_keypair(spub, ssec), 0);
    cr_assert_eq(zmq_curve_keypair(cpub, csec), 0);
    cr_assert_eq(zmq_curve_keypair(opub, osec), 0);
    char certs[128], path[192];
    snprintf(certs, sizeof certs, "%s/certs", ip_dir);
    cr_assert_eq(mkdir(certs, 0700), 0);
    snprintf(path, sizeof path, "%s/client", certs);
    cr_assert_eq(sinew_cert_save(path, cpub, NULL), 0);
    void *auth = live_auth = sinew_auth_new(ip_sctx);
    cr_assert_not_null(auth);
    cr_assert_eq(sinew_auth_curve_dir(auth, certs), 0);
    unlink(path); /* read: the directory can go at once */
    rmdir(certs);

    char ep[256];
    ip_sock *pull = ip_socket(false, SINEW_PULL);
    ip_setint(pull, SINEW_CURVE_SERVER, 1);
    setstr(pull, SINEW_CURVE_SECRETKEY, ssec);
    ip_setint(pull, SINEW_RCVTIMEO, IP_WAIT_MS);
    ip_bind(pull, "tcp", ep, sizeof ep);
    ip_sock *mon = ip_monitor(pull, SINEW_EVENT_ALL);

    ip_sock *other = ip_socket(true, ZMQ_PUSH);
    setstr(other, ZMQ_CURVE_SERVERKEY, spub);
    setstr(other, ZMQ_CURVE_PUBLICKEY, opub);
    setstr(other, ZMQ_CURVE_SECRETKEY, osec);
    ip_connect(other, ep);
    ip_send_str(other, "intruder", 0);
    ip_event ev;
    ip_expect_event(mon, SINEW_EVENT_HANDSHAKE_FAILED_AUTH, &ev, IP_WAIT_MS);
    cr_assert_eq(ev.value, 400);

    ip_sock *push = ip_socket(true, ZMQ_PUSH);
    setstr(push, ZMQ_CURVE_SERVERKEY, spub);
    setstr(push, ZMQ_CURVE_PUBLICKEY, cpub);
    setstr(push, ZMQ_CURVE_SECRETKEY, csec);
    ip_connect(push, ep);
    ip_send_str(push, "friend", 0);
    sinew_msg_t m;
    sinew_msg_init(&m);
    cr_assert_eq(sinew_msg_recv(&m, pull->s, 0), 6);
    cr_assert_eq(memcmp(sinew_msg_data(&m), "friend", 6), 0, "only the admitted client's");
    cr_assert_str_eq(sinew_msg_gets(&m, "User-Id"), cpub);
    sinew_msg_close(&m);
}

ParameterizedTestParameters(plain, pub_sub)
{
    return cr_make_param_array(combo, combos, sizeof combos / sizeof combos[0]);
}

/* PUB/SUB over PLAIN in both roles: the subscription crosses the secured connection
 * and only matching messages arrive; a SUB with the wrong password gets nothing. */
ParameterizedTest(combo *c, plain, pub_sub)
{
    zap_handler zh = {.password = "secret", .refuse = 400};
    zh_start(&zh, c->zmq_server, c->zmq_server ? ip_zctx : ip_sctx);
    char ep[256];
    ip_sock *pub = plain_server(c->zmq_server, SINEW_PUB, c->tran, ep, sizeof ep);
    ip_sock *sub = plain_client(!c->zmq_server, SINEW_SUB, "admin", "secret");
    ip_sock *bad = plain_client(!c->zmq_server, SINEW_SUB, "admin", "guess");
    setstr(sub, SINEW_SUBSCRIBE, "news");
    setstr(bad, SINEW_SUBSCRIBE, "");
    ip_connect(sub, ep);
    ip_connect(bad, ep);
    /* Publish until the subscription has arrived (slow joiner), bounded. */
    uint64_t deadline = ip_now_ms() + IP_WAIT_MS;
    char buf[32];
    int n = -1;
    while (n < 0 && ip_now_ms() < deadline) {
        ip_send_str(pub, "weather", 0);
        ip_send_str(pub, "news: ok", 0);
        n = sub->zmq ? zmq_recv(sub->s, buf, sizeof buf, ZMQ_DONTWAIT)
                     : sinew_recv(sub->s, buf, sizeof buf, SINEW_DONTWAIT);
        if (n < 0)
            usleep(10000);
    }
    cr_assert_eq(n, 8, "no message within %d ms", IP_WAIT_MS);
    cr_assert_eq(memcmp(buf, "news: ok", 8), 0, "only the subscribed topic");
    expect_silence(bad, 100);
    zh_stop(&zh);
}
