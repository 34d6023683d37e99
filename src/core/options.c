/* Shared socket options (see options.h). One table row per option: its number, type,
 * bounds and where it lives, so set and get are written once. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "core/options.h"
#include "security/curve.h"
#include "security/plain.h"
#include "sinew.h"

enum opt_kind { OPT_INT, OPT_INT64, OPT_BLOB, OPT_STRING };

typedef struct opt_row {
    int option;
    enum opt_kind kind;
    bool writable;
    int min, max;        /* OPT_INT bounds; OPT_BLOB length bounds */
    size_t offset;       /* of the int or byte array in sn_options */
    size_t len_offset;   /* OPT_BLOB: of its size_t length */
} opt_row;

#define AT(field) offsetof(sn_options, field)

static const opt_row rows[] = {
    {SINEW_TYPE, OPT_INT, false, 0, 0, AT(type), 0},
    {SINEW_SNDHWM, OPT_INT, true, 0, INT_MAX, AT(sndhwm), 0},
    {SINEW_RCVHWM, OPT_INT, true, 0, INT_MAX, AT(rcvhwm), 0},
    {SINEW_LINGER, OPT_INT, true, -1, INT_MAX, AT(linger), 0},
    {SINEW_RCVTIMEO, OPT_INT, true, -1, INT_MAX, AT(rcvtimeo), 0},
    {SINEW_SNDTIMEO, OPT_INT, true, -1, INT_MAX, AT(sndtimeo), 0},
    {SINEW_IMMEDIATE, OPT_INT, true, 0, 1, AT(immediate), 0},
    {SINEW_CONFLATE, OPT_INT, true, 0, 1, AT(conflate), 0},
    {SINEW_SPIN_US, OPT_INT, true, 0, 1000000, AT(spin_us), 0},
    {SINEW_SNDBUF, OPT_INT, true, -1, INT_MAX, AT(sndbuf), 0},
    {SINEW_RCVBUF, OPT_INT, true, -1, INT_MAX, AT(rcvbuf), 0},
    {SINEW_RECONNECT_IVL, OPT_INT, true, -1, INT_MAX, AT(reconnect_ivl), 0},
    {SINEW_RECONNECT_IVL_MAX, OPT_INT, true, 0, INT_MAX, AT(reconnect_ivl_max), 0},
    {SINEW_BACKLOG, OPT_INT, true, 0, INT_MAX, AT(backlog), 0},
    {SINEW_MAXMSGSIZE, OPT_INT64, true, -1, 0, AT(maxmsgsize), 0},
    {SINEW_TCP_KEEPALIVE, OPT_INT, true, -1, 1, AT(tcp_keepalive), 0},
    {SINEW_TCP_KEEPALIVE_CNT, OPT_INT, true, -1, INT_MAX, AT(tcp_keepalive_cnt), 0},
    {SINEW_TCP_KEEPALIVE_IDLE, OPT_INT, true, -1, INT_MAX, AT(tcp_keepalive_idle), 0},
    {SINEW_TCP_KEEPALIVE_INTVL, OPT_INT, true, -1, INT_MAX, AT(tcp_keepalive_intvl), 0},
    {SINEW_IPV6, OPT_INT, true, 0, 1, AT(ipv6), 0},
    {SINEW_HANDSHAKE_IVL, OPT_INT, true, 0, INT_MAX, AT(handshake_ivl), 0},
    {SINEW_HEARTBEAT_IVL, OPT_INT, true, 0, INT_MAX, AT(heartbeat_ivl), 0},
    {SINEW_HEARTBEAT_TTL, OPT_INT, true, 0, 6553599, AT(heartbeat_ttl), 0},
    {SINEW_HEARTBEAT_TIMEOUT, OPT_INT, true, -1, INT_MAX, AT(heartbeat_timeout), 0},
    {SINEW_ROUTING_ID, OPT_BLOB, true, 1, SN_ROUTING_ID_MAX, AT(routing_id),
     AT(routing_id_len)},
    {SINEW_LAST_ENDPOINT, OPT_STRING, false, 0, 0, AT(last_endpoint), 0},
};

/* Security options, kept together (they set the mechanism and its credentials rather
 * than one field each). CURVE, as libzmq 4.3: CURVE_SERVER 1 makes a CURVE server, 0 a
 * NULL socket; any key makes the socket CURVE, and the server key makes it a client.
 * Without libsodium they fail with ENOTSUP. Returns -ENOENT for the others. */
static bool
options_is_curve(int option)
{
    return option == SINEW_CURVE_SERVER || option == SINEW_CURVE_PUBLICKEY ||
           option == SINEW_CURVE_SECRETKEY || option == SINEW_CURVE_SERVERKEY;
}

static int
options_security_set(sn_options *o, int option, const void *val, size_t len)
{
    if (!options_is_curve(option))
        return -ENOENT;
#ifdef SN_HAVE_LIBSODIUM
    sn_zmtp_security *sec = &o->sec;
    int rc = 0;
    if (option == SINEW_CURVE_SERVER) {
        int v;
        if (val == NULL || len != sizeof v)
            return -EINVAL;
        memcpy(&v, val, sizeof v);
        if (v != 0 && v != 1)
            return -EINVAL;
        sec->as_server = v == 1;
        sec->mechanism = v ? &sn_zmtp_mechanism_curve : NULL;
        return 0;
    }
    if (option == SINEW_CURVE_PUBLICKEY)
        rc = sn_curve_key_from_option(sec->curve_public, val, len);
    else if (option == SINEW_CURVE_SECRETKEY)
        rc = sn_curve_key_from_option(sec->curve_secret, val, len);
    else
        rc = sn_curve_key_from_option(sec->curve_server, val, len);
    if (rc < 0)
        return rc;
    sec->mechanism = &sn_zmtp_mechanism_curve;
    if (option == SINEW_CURVE_SERVERKEY)
        sec->as_server = false;
    return 0;
#else
    (void) o, (void) val, (void) len;
    return -ENOTSUP;
#endif
}

static int
options_security_get(const sn_options *o, int option, void *val, size_t *len)
{
    if (!options_is_curve(option))
        return -ENOENT;
#ifdef SN_HAVE_LIBSODIUM
    const sn_zmtp_security *sec = &o->sec;
    if (option == SINEW_CURVE_SERVER) {
        if (*len < sizeof(int))
            return -EINVAL;
        int v = sec->as_server && sec->mechanism == &sn_zmtp_mechanism_curve;
        memcpy(val, &v, sizeof v);
        *len = sizeof v;
        return 0;
    }
    const uint8_t *key = option == SINEW_CURVE_PUBLICKEY   ? sec->curve_public
                         : option == SINEW_CURVE_SECRETKEY ? sec->curve_secret
                                                           : sec->curve_server;
    return sn_curve_key_to_option(key, val, *len);
#else
    (void) o, (void) val, (void) len;
    return -ENOTSUP;
#endif
}

static const opt_row *
find(int option)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].option == option)
            return &rows[i];
    return NULL;
}

void
sn_options_defaults(sn_options *o, int type, int linger, int ipv6)
{
    memset(o, 0, sizeof *o);
    o->type = type;
    o->sndhwm = o->rcvhwm = 1000;
    o->linger = linger;
    o->rcvtimeo = o->sndtimeo = -1;
    o->spin_us = 50;
    o->sndbuf = o->rcvbuf = -1;
    o->reconnect_ivl = 100;
    o->reconnect_ivl_max = 0;
    o->backlog = 100;
    o->maxmsgsize = -1;
    o->tcp_keepalive = o->tcp_keepalive_cnt = o->tcp_keepalive_idle = -1;
    o->tcp_keepalive_intvl = -1;
    o->handshake_ivl = 30000;
    o->heartbeat_timeout = -1;
    o->ipv6 = ipv6;
}

/* ---- security options: they set the mechanism and role too, as in libzmq ---------- */

static bool
int_arg(const void *val, size_t len, int *v)
{
    if (val == NULL || len != sizeof *v)
        return false;
    memcpy(v, val, sizeof *v);
    return true;
}

/* PLAIN_USERNAME/PASSWORD: 1..255 bytes make a PLAIN client; (NULL, 0) goes back to
 * NULL security. */
static int
set_plain_credential(sn_zmtp_security *sec, uint8_t *dst, size_t *dst_len, const void *val,
                     size_t len)
{
    if (val == NULL && len == 0) {
        sec->mechanism = NULL;
        return 0;
    }
    if (val == NULL || len == 0 || len > 255)
        return -EINVAL;
    memcpy(dst, val, len);
    *dst_len = len;
    sec->as_server = false;
    sec->mechanism = &sn_security_plain;
    return 0;
}

/* 1: handled (*rc set), 0: not a security option. */
static int
set_security(sn_options *o, int option, const void *val, size_t len, int *rc)
{
    sn_zmtp_security *sec = &o->sec;
    int v;
    *rc = 0;
    switch (option) {
    case SINEW_PLAIN_SERVER:
        if (!int_arg(val, len, &v) || v < 0 || v > 1)
            *rc = -EINVAL;
        else {
            sec->as_server = v == 1;
            sec->mechanism = &sn_security_plain;
        }
        return 1;
    case SINEW_PLAIN_USERNAME:
        *rc = set_plain_credential(sec, sec->username, &sec->username_len, val, len);
        return 1;
    case SINEW_PLAIN_PASSWORD:
        *rc = set_plain_credential(sec, sec->password, &sec->password_len, val, len);
        return 1;
    case SINEW_ZAP_DOMAIN:
        if ((val == NULL && len > 0) || len >= sizeof sec->zap_domain)
            *rc = -EINVAL;
        else {
            if (len > 0)
                memcpy(sec->zap_domain, val, len);
            sec->zap_domain[len] = '\0';
        }
        return 1;
    case SINEW_ZAP_ENFORCE_DOMAIN:
        if (!int_arg(val, len, &v) || v < 0 || v > 1)
            *rc = -EINVAL;
        else
            sec->zap_enforce_domain = v == 1;
        return 1;
    default:
        return 0;
    }
}

static int
get_bytes(const void *src, size_t n, void *val, size_t *len)
{
    if (*len < n + 1)
        return -EINVAL;
    if (n > 0)
        memcpy(val, src, n);
    ((char *) val)[n] = '\0';
    *len = n + 1;
    return 0;
}

static int
get_int(int v, void *val, size_t *len)
{
    if (*len < sizeof v)
        return -EINVAL;
    memcpy(val, &v, sizeof v);
    *len = sizeof v;
    return 0;
}

/* 1: handled (*rc set), 0: not a security option. */
static int
get_security(const sn_options *o, int option, void *val, size_t *len, int *rc)
{
    const sn_zmtp_security *sec = &o->sec;
    bool plain = sec->mechanism == &sn_security_plain;
    switch (option) {
    case SINEW_MECHANISM:
        *rc = get_int(sn_zmtp_security_mechanism(sec), val, len);
        return 1;
    case SINEW_PLAIN_SERVER:
        *rc = get_int(plain && sec->as_server, val, len);
        return 1;
    case SINEW_PLAIN_USERNAME:
        *rc = get_bytes(sec->username, sec->username_len, val, len);
        return 1;
    case SINEW_PLAIN_PASSWORD:
        *rc = get_bytes(sec->password, sec->password_len, val, len);
        return 1;
    case SINEW_ZAP_DOMAIN:
        *rc = get_bytes(sec->zap_domain, strlen(sec->zap_domain), val, len);
        return 1;
    case SINEW_ZAP_ENFORCE_DOMAIN:
        *rc = get_int(sec->zap_enforce_domain, val, len);
        return 1;
    default:
        return 0;
    }
}

int
sn_options_set(sn_options *o, int option, const void *val, size_t len)
{
    int rc;
    if (set_security(o, option, val, len, &rc))
        return rc;
    int src = options_security_set(o, option, val, len);
    if (src != -ENOENT)
        return src;
    const opt_row *r = find(option);
    if (r == NULL || !r->writable)
        return -EINVAL;
    char *base = (char *) o;
    if (r->kind == OPT_INT) {
        int v;
        if (val == NULL || len != sizeof v)
            return -EINVAL;
        memcpy(&v, val, sizeof v);
        if (v < r->min || v > r->max)
            return -EINVAL;
        memcpy(base + r->offset, &v, sizeof v);
        return 0;
    }
    if (r->kind == OPT_INT64) {
        int64_t v;
        if (val == NULL || len != sizeof v)
            return -EINVAL;
        memcpy(&v, val, sizeof v);
        if (v < r->min)
            return -EINVAL;
        memcpy(base + r->offset, &v, sizeof v);
        return 0;
    }
    /* OPT_BLOB: libzmq refuses empty routing ids and ids starting with a zero byte
     * (those are reserved for generated ids). */
    if (val == NULL || len < (size_t) r->min || len > (size_t) r->max)
        return -EINVAL;
    if (option == SINEW_ROUTING_ID && ((const uint8_t *) val)[0] == 0)
        return -EINVAL;
    memcpy(base + r->offset, val, len);
    memcpy(base + r->len_offset, &len, sizeof len);
    return 0;
}

int
sn_options_get(const sn_options *o, int option, void *val, size_t *len)
{
    int rc;
    if (get_security(o, option, val, len, &rc))
        return rc;
    int src = options_security_get(o, option, val, len);
    if (src != -ENOENT)
        return src;
    const opt_row *r = find(option);
    if (r == NULL)
        return -ENOENT;
    const char *base = (const char *) o;
    if (r->kind == OPT_INT) {
        if (*len < sizeof(int))
            return -EINVAL;
        memcpy(val, base + r->offset, sizeof(int));
        *len = sizeof(int);
        return 0;
    }
    if (r->kind == OPT_INT64) {
        if (*len < sizeof(int64_t))
            return -EINVAL;
        memcpy(val, base + r->offset, sizeof(int64_t));
        *len = sizeof(int64_t);
        return 0;
    }
    size_t n;
    if (r->kind == OPT_STRING)
        n = strlen(base + r->offset) + 1;
    else
        memcpy(&n, base + r->len_offset, sizeof n);
    if (*len < n)
        return -EINVAL;
    memcpy(val, base + r->offset, n);
    *len = n;
    return 0;
}

bool
sn_options_conflates(const sn_options *o, bool out)
{
    if (!o->conflate)
        return false;
    switch (o->type) {
    case SINEW_DEALER:
        return true;
    case SINEW_SUB:
    case SINEW_PULL:
        return !out;
    case SINEW_PUB:
    case SINEW_PUSH:
        return out;
    default:
        return false;
    }
}
