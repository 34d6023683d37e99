/* ZMTP 3.x greeting: build ours and read the peer's incrementally (RFC 37 "Greeting",
 * "Version Negotiation"; RFC 23 for 3.0). Layout, drawn once here:
 *
 *   0     1..8       9    10     11     12..31        32         33..63
 *   ff    padding    7f   major  minor  mechanism     as-server  filler (00)
 *         (any)           (03)   (01)   NUL-padded    (00/01)
 */
#include "zmtp/greeting.h"

#include <errno.h>
#include <string.h>

#include "zmtp/zmtp.h"

static bool
greeting_mech_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '+';
}

int
sn_zmtp_greeting_build(uint8_t out[SN_ZMTP_GREETING_SIZE], const char *mechanism,
                       bool as_server, uint64_t padding_len)
{
    size_t len = mechanism ? strlen(mechanism) : 0;
    if (len == 0 || len > SN_ZMTP_MECHANISM_SIZE)
        return -EINVAL;
    for (size_t i = 0; i < len; i++)
        if (!greeting_mech_char((uint8_t)mechanism[i]))
            return -EINVAL;
    memset(out, 0, SN_ZMTP_GREETING_SIZE);
    out[0] = 0xff;
    for (int i = 0; i < 8; i++)
        out[1 + i] = (uint8_t)(padding_len >> (56 - 8 * i));
    out[9] = 0x7f;
    out[10] = SN_ZMTP_VERSION_MAJOR;
    out[11] = SN_ZMTP_VERSION_MINOR;
    memcpy(out + 12, mechanism, len);
    out[32] = as_server ? 1 : 0;
    return 0;
}

void
sn_zmtp_greeting_reader_init(sn_zmtp_greeting_reader *r)
{
    memset(r, 0, sizeof *r);
}

size_t
sn_zmtp_greeting_have(const sn_zmtp_greeting_reader *r)
{
    return r->have;
}

/* Validate what a reader holding `have` bytes can already judge. Rejecting at byte 0 means
 * a HTTP client or a ZMTP 1.0 peer is dropped before we wait for 63 more bytes. */
static int
greeting_check_prefix(const uint8_t *b, size_t have, int *err)
{
    if (have >= 1 && b[0] != 0xff)
        goto fail;
    /* LSB 0 in byte 9 is ZMTP 1.0 with a long identity length (RFC 37 "Version
     * Negotiation"): not a versioned peer. */
    if (have >= 10 && (b[9] & 1) == 0)
        goto fail;
    if (have >= 11 && b[10] < SN_ZMTP_VERSION_MAJOR)
        goto fail;
    return 0;
fail:
    *err = SN_ZMTP_ERR_UNSPECIFIED;
    return -EPROTO;
}

int
sn_zmtp_greeting_feed(sn_zmtp_greeting_reader *r, const uint8_t *in, size_t n, int *err)
{
    static const size_t milestones[] = {1, SN_ZMTP_SIGNATURE_SIZE, 11, SN_ZMTP_GREETING_SIZE};
    if (r->have >= SN_ZMTP_GREETING_SIZE || n == 0)
        return 0;
    size_t next = SN_ZMTP_GREETING_SIZE;
    for (size_t i = 0; i < sizeof milestones / sizeof milestones[0]; i++) {
        if (milestones[i] > r->have) {
            next = milestones[i];
            break;
        }
    }
    size_t take = next - r->have;
    if (take > n)
        take = n;
    memcpy(r->buf + r->have, in, take);
    r->have += take;
    int rc = greeting_check_prefix(r->buf, r->have, err);
    if (rc < 0)
        return rc;
    return (int)take;
}

int
sn_zmtp_greeting_parse(const uint8_t in[SN_ZMTP_GREETING_SIZE], sn_zmtp_greeting *g,
                       int *err)
{
    int rc = greeting_check_prefix(in, SN_ZMTP_GREETING_SIZE, err);
    if (rc < 0)
        return rc;
    memset(g, 0, sizeof *g);
    g->major = in[10];
    g->minor = in[11];
    /* 3.0 only when the peer says exactly 3.0; 3.1+, 4.x: speak 3.1 (RFC 37). */
    g->effective_minor = (g->major == 3 && g->minor == 0) ? 0 : 1;
    size_t len = 0;
    while (len < SN_ZMTP_MECHANISM_SIZE && in[12 + len] != 0) {
        if (!greeting_mech_char(in[12 + len]))
            goto bad_mech;
        len++;
    }
    if (len == 0)
        goto bad_mech;
    for (size_t i = len; i < SN_ZMTP_MECHANISM_SIZE; i++)
        if (in[12 + i] != 0)
            goto bad_mech;
    memcpy(g->mechanism, in + 12, len);
    g->mechanism[len] = '\0';
    g->as_server = in[32] != 0;
    return 0;
bad_mech:
    *err = SN_ZMTP_ERR_MECHANISM_MISMATCH;
    return -EPROTO;
}
