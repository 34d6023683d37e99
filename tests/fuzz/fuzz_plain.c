/* libFuzzer target for the PLAIN handshake (RFC 24) with its ZAP wait (RFC 27), as
 * server and as client, driven through the handshake API as the engine drives it: the
 * peer's bytes in chunks, our output drained, and, when the server waits for ZAP, an
 * answer chosen by the input (admit, 300/400/500, a malformed reply, no handler). Any
 * input must end in DONE, a clean FAILED or a wait for more bytes, with consistent
 * results; never a crash, leak or read past the input.
 *
 * Input layout:
 *   byte 0  bit 0 server role, bits 1-3 ZAP answer (0: 200, 1: 300, 2: 400, 3: 500,
 *           4: no handler, 5: a reply with a bad version, 6: one with metadata that
 *           does not parse, 7: the request cannot be sent), bit 4 a ZAP domain is set
 *   byte 1  read size (0: all at once)
 *   rest    the peer's bytes */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "security/plain.h"
#include "security/zap.h"
#include "zmtp/handshake.h"

typedef struct zap_script {
    int mode;
    int requests;
} zap_script;

static int
zap_start(void *arg, sn_zap_request *req)
{
    zap_script *z = arg;
    FUZZ_CHECK(strcmp(req->mechanism, "PLAIN") == 0 && req->ncredentials == 2);
    FUZZ_CHECK(req->credentials_len[0] <= 255 && req->credentials_len[1] <= 255);
    z->requests++;
    if (z->mode == 4)
        return -ECONNREFUSED;
    if (z->mode == 7)
        return -ENOMEM;
    return 0;
}

static void
answer(sn_zmtp_handshake *hs, int mode)
{
    static const uint8_t good_meta[] = {4, 'N', 'o', 't', 'e', 0, 0, 0, 1, 'x'};
    sn_zap_reply r = {0};
    static const int status[] = {200, 300, 400, 500};
    if (mode <= 3) {
        r.status = status[mode];
        r.user_id = (const uint8_t *) "alice";
        r.user_id_len = 5;
        r.metadata = good_meta;
        r.metadata_len = sizeof good_meta;
    } else if (mode == 5) {
        r.error = SN_ZAP_ERR_BAD_VERSION;
    } else {
        r.error = SN_ZAP_ERR_INVALID_METADATA; /* zap.c's verdict on bad metadata */
    }
    FUZZ_CHECK(sn_zmtp_handshake_resume(hs, &r) <= 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    bool server = data[0] & 1;
    zap_script z = {.mode = (data[0] >> 1) & 7};
    size_t chunk = data[1];
    data += 2;
    size -= 2;

    sn_zmtp_security sec;
    memset(&sec, 0, sizeof sec);
    sec.mechanism = &sn_security_plain;
    sec.as_server = server;
    if (data[-2] & 0x10)
        strcpy(sec.zap_domain, "fuzz");
    memcpy(sec.username, "admin", 5);
    sec.username_len = 5;
    memcpy(sec.password, "secret", 6);
    sec.password_len = 6;
    sn_zmtp_zap_port port = {.start = zap_start, .arg = &z};
    sn_zmtp_handshake_config cfg = {
        .socket_type = server ? SN_ZMTP_REP : SN_ZMTP_REQ,
        .as_server = server,
        .mechanism = &sn_security_plain,
        .maxmsgsize = -1,
        .security = &sec,
        .zap = &port,
    };
    sn_zmtp_handshake hs;
    if (sn_zmtp_handshake_init(&hs, &cfg) < 0)
        return 0;
    size_t off = 0;
    int answered = 0;
    for (int rounds = 0; rounds < 4096; rounds++) {
        const uint8_t *out;
        size_t olen;
        sn_zmtp_handshake_output(&hs, &out, &olen);
        sn_zmtp_handshake_output_consumed(&hs, olen);
        if (sn_zmtp_handshake_state(&hs) != SN_ZMTP_HS_RUNNING)
            break;
        if (sn_zmtp_handshake_waiting(&hs)) {
            FUZZ_CHECK(server && z.requests == answered + 1);
            FUZZ_CHECK(sn_zmtp_handshake_feed(&hs, data + off, size - off) == 0);
            answered++;
            answer(&hs, z.mode);
            continue;
        }
        if (off == size)
            break;
        size_t n = chunk == 0 || chunk > size - off ? size - off : chunk;
        int rc = sn_zmtp_handshake_feed(&hs, data + off, n);
        if (rc < 0) {
            FUZZ_CHECK(sn_zmtp_handshake_state(&hs) == SN_ZMTP_HS_FAILED);
            FUZZ_CHECK(sn_zmtp_handshake_feed(&hs, data, size) == rc);
            uint32_t value;
            int ev = sn_zmtp_handshake_failure_event(&hs, &value);
            FUZZ_CHECK(ev != 0);
            break;
        }
        FUZZ_CHECK((size_t) rc <= n);
        off += (size_t) rc;
        if (rc == 0 && !sn_zmtp_handshake_waiting(&hs) &&
            sn_zmtp_handshake_state(&hs) == SN_ZMTP_HS_RUNNING && n == size - off)
            break; /* wants more than there is */
    }
    if (sn_zmtp_handshake_state(&hs) == SN_ZMTP_HS_DONE) {
        /* Only an admitted client gets here on the server side. */
        FUZZ_CHECK(!server || (z.mode == 0 && answered == 1));
        const sn_zmtp_handshake_result *r = sn_zmtp_handshake_result_get(&hs);
        FUZZ_CHECK(!server || r->zap_metadata_len > 0);
    }
    sn_zmtp_handshake_fini(&hs);
    return 0;
}
