/* The built-in authenticator (sinew_auth_*) and certificate files (sinew_cert_*):
 * decisions by address, password file and CURVE key, over real handshakes and with
 * ZAP requests crafted by hand; czmq-format certificates written, read back and
 * refused when malformed. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "security/auth.h"
#include "security/cert.h"
#include "sinew.h"
#include "support/transports.h"

#define WAIT_MS 5000

static char dir[64];
static void *auth;

static void
auth_setup(void)
{
    tn_tran_setup();
    snprintf(dir, sizeof dir, "/tmp/sinew-auth-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    auth = NULL;
}

static void
rm_tree(const char *path)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    cr_assert_eq(system(cmd), 0);
}

static void
auth_teardown(void)
{
    if (auth != NULL)
        sinew_auth_destroy(auth);
    auth = NULL;
    tn_tran_teardown();
    rm_tree(dir);
}

TestSuite(auth, .init = auth_setup, .fini = auth_teardown, .timeout = 20.0);

static void
write_text(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *
path_of(const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* ---- crafted ZAP requests ----------------------------------------------------------- */

typedef struct reply {
    char status[8];
    char user[64];
} reply;

/* Sends one ZAP request (frames after the delimiter) to the authenticator. */
static reply
ask(const char *address, const char *mechanism, const void *c1, size_t l1, const void *c2,
    size_t l2, int ncred)
{
    void *req = tn_sock(SINEW_REQ);
    sinew_setsockopt_int(req, SINEW_RCVTIMEO, WAIT_MS);
    tn_connect(req, "inproc://zeromq.zap.01");
    const char *head[] = {"1.0", "7", "dom", address, "", mechanism};
    for (int i = 0; i < 6; i++)
        cr_assert_geq(sinew_send(req, head[i], strlen(head[i]),
                                 i < 5 || ncred > 0 ? SINEW_SNDMORE : 0), 0);
    if (ncred >= 1)
        cr_assert_geq(sinew_send(req, c1, l1, ncred > 1 ? SINEW_SNDMORE : 0), 0);
    if (ncred >= 2)
        cr_assert_geq(sinew_send(req, c2, l2, 0), 0);
    char f[6][64];
    int lens[6];
    for (int i = 0; i < 6; i++) {
        lens[i] = sinew_recv(req, f[i], sizeof f[i] - 1, 0);
        cr_assert_geq(lens[i], 0, "reply frame %d: errno %d", i, errno);
        f[i][lens[i] < 63 ? lens[i] : 63] = 0;
        cr_assert_eq(tn_rcvmore(req), i < 5, "reply frame %d more flag", i);
    }
    cr_assert_str_eq(f[0], "1.0");
    cr_assert_str_eq(f[1], "7", "the request id is echoed");
    reply r;
    snprintf(r.status, sizeof r.status, "%.7s", f[2]);
    snprintf(r.user, sizeof r.user, "%s", f[4]);
    sinew_close(req);
    return r;
}

Test(auth, decides_by_address)
{
    auth = sinew_auth_new(tn_ctx);
    cr_assert_not_null(auth);
    cr_assert_str_eq(ask("10.0.0.1", "NULL", NULL, 0, NULL, 0, 0).status, "200");
    cr_assert_eq(sinew_auth_deny(auth, "10.0.0.1"), 0);
    cr_assert_str_eq(ask("10.0.0.1", "NULL", NULL, 0, NULL, 0, 0).status, "400");
    cr_assert_str_eq(ask("10.0.0.2", "NULL", NULL, 0, NULL, 0, 0).status, "200");
    cr_assert_eq(sinew_auth_allow(auth, "10.0.0.3"), 0);
    cr_assert_str_eq(ask("10.0.0.2", "NULL", NULL, 0, NULL, 0, 0).status, "400",
                     "with an allow list, others are refused");
    cr_assert_str_eq(ask("10.0.0.3", "NULL", NULL, 0, NULL, 0, 0).status, "200");
    cr_assert_str_eq(ask("10.0.0.3", "GSSAPI", NULL, 0, NULL, 0, 0).status, "400");
    cr_assert_eq(sinew_auth_allow(auth, ""), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_auth_deny(NULL, "x"), -1);
}

Test(auth, decides_by_password_file)
{
    auth = sinew_auth_new(tn_ctx);
    cr_assert_not_null(auth);
    cr_assert_str_eq(ask("1.2.3.4", "PLAIN", "admin", 5, "secret", 6, 2).status, "400",
                     "no password file: nobody");
    write_text("passwords", "# users\n\nadmin=secret\r\nbob=b=ob\nempty=\n");
    cr_assert_eq(sinew_auth_plain_file(auth, path_of("passwords")), 0);
    reply r = ask("1.2.3.4", "PLAIN", "admin", 5, "secret", 6, 2);
    cr_assert_str_eq(r.status, "200");
    cr_assert_str_eq(r.user, "admin");
    cr_assert_str_eq(ask("1.2.3.4", "PLAIN", "bob", 3, "b=ob", 4, 2).status, "200");
    cr_assert_str_eq(ask("1.2.3.4", "PLAIN", "empty", 5, "", 0, 2).status, "200");
    cr_assert_str_eq(ask("1.2.3.4", "PLAIN", "admin", 5, "wrong", 5, 2).status, "400");
    cr_assert_str_eq(ask("1.2.3.4", "PLAIN", "admin", 5, "secre", 5, 2).status, "400");
    cr_assert_str_eq(ask("1.2.3.4", "PLAIN", "nobody", 6, "secret", 6, 2).status, "400");
    cr_assert_str_eq(ask("1.2.3.4", "PLAIN", "admin\0x", 7, "secret", 6, 2).status, "400");

    /* A bad file is refused whole and the old list stays. */
    const char *bad[] = {"no equals sign\n", "=nouser\n", "a=b\nbroken\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text("bad", bad[i]);
        cr_assert_eq(sinew_auth_plain_file(auth, path_of("bad")), -1, "%s", bad[i]);
        cr_assert_eq(errno, EINVAL);
    }
    cr_assert_eq(sinew_auth_plain_file(auth, path_of("missing")), -1);
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(sinew_auth_plain_file(auth, dir), -1, "a directory");
    cr_assert_str_eq(ask("1.2.3.4", "PLAIN", "admin", 5, "secret", 6, 2).status, "200");
}

Test(auth, password_parser_limits)
{
    size_t n;
    char line[600];
    memset(line, 'u', 256);
    snprintf(line + 256, sizeof line - 256, "=p\n");
    cr_assert_eq(sn_auth_parse_passwords(line, strlen(line), &n), -EINVAL, "256-byte user");
    cr_assert_eq(sn_auth_parse_passwords("a=b\0c\n", 6, &n), -EINVAL, "a NUL");
    cr_assert_eq(sn_auth_parse_passwords("a=b\nc=d", 7, &n), 0, "no final newline");
    cr_assert_eq(n, 2);
    cr_assert_eq(sn_auth_parse_passwords("", 0, &n), 0);
    cr_assert_eq(n, 0);
}

static void
keypair(char *pub, char *sec)
{
    /* Fixed keys from RFC 32 / libzmq's tests, so the test runs without libsodium. */
    static int i;
    static const char *pairs[][2] = {
        {"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID", "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"},
        {"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"},
    };
    strcpy(pub, pairs[i % 2][0]);
    strcpy(sec, pairs[i % 2][1]);
    i++;
}

Test(auth, decides_by_curve_key)
{
    char pub1[41], sec1[41], pub2[41], sec2[41];
    keypair(pub1, sec1);
    keypair(pub2, sec2);
    uint8_t k1[32], k2[32];
    cr_assert_not_null(sinew_z85_decode(k1, pub1));
    cr_assert_not_null(sinew_z85_decode(k2, pub2));
    char certs[128];
    snprintf(certs, sizeof certs, "%s/certs", dir);
    cr_assert_eq(mkdir(certs, 0700), 0);
    char p[256];
    snprintf(p, sizeof p, "%s/client1", certs);
    cr_assert_eq(sinew_cert_save(p, pub1, sec1), 0); /* writes client1_secret too */
    auth = sinew_auth_new(tn_ctx);
    cr_assert_not_null(auth);
    cr_assert_str_eq(ask("1.2.3.4", "CURVE", k1, 32, NULL, 0, 1).status, "400");
    cr_assert_eq(sinew_auth_curve_dir(auth, certs), 0);
    reply r = ask("1.2.3.4", "CURVE", k1, 32, NULL, 0, 1);
    cr_assert_str_eq(r.status, "200");
    cr_assert_str_eq(r.user, pub1, "User-Id is the key in Z85, as zauth");
    cr_assert_str_eq(ask("1.2.3.4", "CURVE", k2, 32, NULL, 0, 1).status, "400");
    cr_assert_str_eq(ask("1.2.3.4", "CURVE", k1, 31, NULL, 0, 1).status, "400");
    cr_assert_eq(sinew_auth_curve_any(auth), 0);
    cr_assert_str_eq(ask("1.2.3.4", "CURVE", k2, 32, NULL, 0, 1).status, "200");
    /* A directory holding a file that is no certificate is refused whole. */
    write_text("certs/README", "not a certificate\n");
    cr_assert_eq(sinew_auth_curve_dir(auth, certs), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_auth_curve_dir(auth, path_of("nope")), -1);
}

Test(auth, one_handler_per_context)
{
    auth = sinew_auth_new(tn_ctx);
    cr_assert_not_null(auth);
    cr_assert_null(sinew_auth_new(tn_ctx));
    cr_assert_eq(errno, EADDRINUSE);
    cr_assert_eq(sinew_auth_destroy(auth), 0);
    auth = sinew_auth_new(tn_ctx);
    cr_assert_not_null(auth, "the address is free again after destroy");
}

/* ---- over real handshakes ----------------------------------------------------------- */

/* The authenticator serves a PLAIN server: the right password gets in with User-Id the
 * user's name; a wrong one and a denied address are refused with AUTH 400. */
TN_TRAN_TEST(auth, plain_server_with_authenticator)
{
    if (!tn_tran_is_net(tran))
        return; /* inproc has no handshake and no security */
    auth = sinew_auth_new(tn_ctx);
    cr_assert_not_null(auth);
    write_text("pw", "admin=secret\n");
    cr_assert_eq(sinew_auth_plain_file(auth, path_of("pw")), 0);
    char ep[TN_EP_MAX];
    void *rep = tn_sock(SINEW_REP);
    cr_assert_eq(sinew_setsockopt_int(rep, SINEW_PLAIN_SERVER, 1), 0);
    sinew_setsockopt_int(rep, SINEW_RCVTIMEO, WAIT_MS);
    tn_bind_any(rep, tran, ep);
    void *mon = tn_monitor(rep, SINEW_EVENT_HANDSHAKE_FAILED_AUTH |
                                    SINEW_EVENT_HANDSHAKE_SUCCEEDED);

    void *bad = tn_sock(SINEW_REQ);
    sinew_setsockopt(bad, SINEW_PLAIN_USERNAME, "admin", 5);
    sinew_setsockopt(bad, SINEW_PLAIN_PASSWORD, "guess", 5);
    tn_connect(bad, ep);
    cr_assert_eq(sinew_send(bad, "no", 2, 0), 2);
    cr_assert_eq(tn_wait_event(mon, SINEW_EVENT_HANDSHAKE_FAILED_AUTH |
                                        SINEW_EVENT_HANDSHAKE_SUCCEEDED, WAIT_MS),
                 SINEW_EVENT_HANDSHAKE_FAILED_AUTH);
    sinew_setsockopt_int(bad, SINEW_LINGER, 0); /* its message can never leave */
    tn_close(bad);

    void *good = tn_sock(SINEW_REQ);
    sinew_setsockopt(good, SINEW_PLAIN_USERNAME, "admin", 5);
    sinew_setsockopt(good, SINEW_PLAIN_PASSWORD, "secret", 6);
    tn_connect(good, ep);
    cr_assert_eq(sinew_send(good, "yes", 3, 0), 3);
    sinew_msg_t m;
    sinew_msg_init(&m);
    cr_assert_eq(sinew_msg_recv(&m, rep, 0), 3);
    cr_assert_eq(memcmp(sinew_msg_data(&m), "yes", 3), 0, "only the admitted peer's message");
    cr_assert_str_eq(sinew_msg_gets(&m, "User-Id"), "admin");
    sinew_msg_close(&m);
}

/* With a CURVE build, a CURVE server guarded by the authenticator admits the client
 * whose certificate is in the directory and refuses another. */
Test(auth, curve_server_with_authenticator)
{
    if (!sinew_has("curve"))
        cr_skip_test("built without libsodium");
    char spub[41], ssec[41], cpub[41], csec[41], opub[41], osec[41];
    cr_assert_eq(sinew_curve_keypair(spub, ssec), 0);
    cr_assert_eq(sinew_curve_keypair(cpub, csec), 0);
    cr_assert_eq(sinew_curve_keypair(opub, osec), 0);
    char certs[128], p[256];
    snprintf(certs, sizeof certs, "%s/clients", dir);
    cr_assert_eq(mkdir(certs, 0700), 0);
    snprintf(p, sizeof p, "%s/good", certs);
    cr_assert_eq(sinew_cert_save(p, cpub, NULL), 0);
    auth = sinew_auth_new(tn_ctx);
    cr_assert_not_null(auth);
    cr_assert_eq(sinew_auth_curve_dir(auth, certs), 0);

    char ep[TN_EP_MAX];
    void *pull = tn_sock(SINEW_PULL);
    cr_assert_eq(sinew_setsockopt_int(pull, SINEW_CURVE_SERVER, 1), 0);
    cr_assert_eq(sinew_setsockopt(pull, SINEW_CURVE_SECRETKEY, ssec, 40), 0);
    sinew_setsockopt_int(pull, SINEW_RCVTIMEO, WAIT_MS);
    tn_bind_any(pull, "tcp", ep);
    void *mon = tn_monitor(pull, SINEW_EVENT_HANDSHAKE_FAILED_AUTH |
                                     SINEW_EVENT_HANDSHAKE_SUCCEEDED);
    void *other = tn_sock(SINEW_PUSH);
    sinew_setsockopt(other, SINEW_CURVE_SERVERKEY, spub, 40);
    sinew_setsockopt(other, SINEW_CURVE_PUBLICKEY, opub, 40);
    sinew_setsockopt(other, SINEW_CURVE_SECRETKEY, osec, 40);
    tn_connect(other, ep);
    cr_assert_eq(sinew_send(other, "intruder", 8, 0), 8);
    cr_assert_eq(tn_wait_event(mon, SINEW_EVENT_HANDSHAKE_FAILED_AUTH |
                                        SINEW_EVENT_HANDSHAKE_SUCCEEDED, WAIT_MS),
                 SINEW_EVENT_HANDSHAKE_FAILED_AUTH);
    sinew_setsockopt_int(other, SINEW_LINGER, 0); /* its message can never leave */
    tn_close(other);
    void *push = tn_sock(SINEW_PUSH);
    sinew_setsockopt(push, SINEW_CURVE_SERVERKEY, spub, 40);
    sinew_setsockopt(push, SINEW_CURVE_PUBLICKEY, cpub, 40);
    sinew_setsockopt(push, SINEW_CURVE_SECRETKEY, csec, 40);
    tn_connect(push, ep);
    cr_assert_eq(sinew_send(push, "friend", 6, 0), 6);
    sinew_msg_t m;
    sinew_msg_init(&m);
    cr_assert_eq(sinew_msg_recv(&m, pull, 0), 6);
    cr_assert_eq(memcmp(sinew_msg_data(&m), "friend", 6), 0);
    cr_assert_str_eq(sinew_msg_gets(&m, "User-Id"), cpub);
    sinew_msg_close(&m);
}

/* ---- certificates --------------------------------------------------------------------- */

Test(auth, cert_round_trip)
{
    char pub[41], sec[41], p2[41], s2[41];
    keypair(pub, sec);
    cr_assert_eq(sinew_cert_save(path_of("me"), pub, sec), 0);
    cr_assert_eq(sinew_cert_load(path_of("me"), p2, NULL), 0, "the public file");
    cr_assert_str_eq(p2, pub);
    cr_assert_eq(sinew_cert_load(path_of("me"), p2, s2), -1, "no secret in the public file");
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_cert_load(path_of("me_secret"), p2, s2), 0);
    cr_assert_str_eq(p2, pub);
    cr_assert_str_eq(s2, sec);
    struct stat st;
    cr_assert_eq(stat(path_of("me_secret"), &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "the secret file is the owner's alone");
    /* czmq's own layout (zcert_save_public), with its comments and metadata. */
    write_text("czmq", "#   ****  Generated on 2024-01-01 by CZMQ  ****\n"
                       "#   ZeroMQ CURVE Public Certificate\n\n"
                       "metadata\n    name = \"server\"\n    email = 'a@b'\n"
                       "curve\n    public-key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n");
    cr_assert_eq(sinew_cert_load(path_of("czmq"), p2, NULL), 0);
    cr_assert_str_eq(p2, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    cr_assert_eq(sinew_cert_save(path_of("x"), "short", NULL), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_cert_save(path_of("x"), pub, "not-a-key"), -1);
    cr_assert_eq(sinew_cert_load(NULL, p2, NULL), -1);
}

Test(auth, cert_parser_refuses_bad_files)
{
    static const char *bad[] = {
        "",                                                   /* nothing */
        "metadata\n",                                         /* no curve section */
        "curve\n    public-key = \"short\"\n",                /* not 40 chars */
        "curve\n    public-key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\x01\"\n", /* bad char */
        "curve\n    public-key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n", /* open quote */
        "curve\n   public-key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n", /* 3 spaces */
        "curve\n    = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n",           /* no name */
        "curve = 1\n",                                        /* a section with a value */
        "curve\n    public-key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n"
        "    public-key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n", /* twice */
        "metadata\n    public-key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n", /* wrong section */
    };
    char pub[41];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(sn_cert_parse(bad[i], strlen(bad[i]), pub, NULL), -EINVAL, "case %zu", i);
    const char nul[] = "curve\n    public-key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\0\n";
    cr_assert_eq(sn_cert_parse(nul, sizeof nul - 1, pub, NULL), -EINVAL, "a NUL byte");
    char *big = malloc(SN_CERT_FILE_MAX + 2);
    memset(big, '#', SN_CERT_FILE_MAX + 1);
    big[SN_CERT_FILE_MAX + 1] = 0;
    write_text("big", big);
    free(big);
    char p2[41];
    cr_assert_eq(sinew_cert_load(path_of("big"), p2, NULL), -1);
    cr_assert_eq(errno, EINVAL);
}

/* A context ended before its authenticator: the authenticator lets go of its socket so
 * sinew_ctx_term returns, and destroy afterwards still frees it. */
Test(auth, context_ends_first)
{
    void *ctx = sinew_ctx_new();
    void *a = sinew_auth_new(ctx);
    cr_assert_not_null(a);
    cr_assert_eq(sinew_ctx_term(ctx), 0);
    cr_assert_eq(sinew_auth_destroy(a), 0);
}
