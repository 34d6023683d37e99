/* ZMTP metadata encoding (RFC 37 "Connection Metadata", grammar "metadata"):
 *
 *   property = name-length(1) name(1..255)  value-length(4, BE, < 2^31) value
 *   metadata = *property            (no count, no terminator: runs to end of body)
 */
#include "zmtp/metadata.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "zmtp/zmtp.h"

bool
sn_zmtp_metadata_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > SN_ZMTP_PROPERTY_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '+';
        if (!ok)
            return false;
    }
    return true;
}

void
sn_zmtp_metadata_iter_init(sn_zmtp_metadata_iter *it, const uint8_t *buf, size_t len)
{
    it->p = buf;
    it->end = buf + len;
}

int
sn_zmtp_metadata_next(sn_zmtp_metadata_iter *it, sn_zmtp_property *prop, int *err)
{
    /* Every length is checked against what is left before it is used: a peer's lengths
     * are never trusted to stay inside the body. */
    size_t left = (size_t)(it->end - it->p);
    if (left == 0)
        return 0;
    size_t name_len = it->p[0];
    if (left < 1 + name_len + 4)
        goto truncated;
    const char *name = (const char *)it->p + 1;
    if (!sn_zmtp_metadata_name_valid(name, name_len))
        goto fail;
    const uint8_t *vl = it->p + 1 + name_len;
    uint32_t value_len = (uint32_t)vl[0] << 24 | (uint32_t)vl[1] << 16 |
                         (uint32_t)vl[2] << 8 | vl[3];
    if (value_len > SN_ZMTP_PROPERTY_VALUE_MAX)
        goto fail;
    left -= 1 + name_len + 4;
    if (value_len > left)
        goto truncated;
    prop->name = name;
    prop->name_len = name_len;
    prop->value = vl + 4;
    prop->value_len = value_len;
    it->p = vl + 4 + value_len;
    return 1;
fail:
    *err = SN_ZMTP_ERR_INVALID_METADATA;
    return -EPROTO;
truncated:
    *err = SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED;
    return -EPROTO;
}

int
sn_zmtp_metadata_validate(const uint8_t *buf, size_t len, int *err)
{
    sn_zmtp_metadata_iter it;
    sn_zmtp_property p;
    int rc;
    sn_zmtp_metadata_iter_init(&it, buf, len);
    while ((rc = sn_zmtp_metadata_next(&it, &p, err)) > 0)
        ;
    return rc;
}

int
sn_zmtp_metadata_find(const uint8_t *buf, size_t len, const char *name,
                      sn_zmtp_property *prop)
{
    sn_zmtp_metadata_iter it;
    sn_zmtp_property p;
    int err;
    size_t want = strlen(name);
    sn_zmtp_metadata_iter_init(&it, buf, len);
    while (sn_zmtp_metadata_next(&it, &p, &err) > 0) {
        if (p.name_len == want && strncasecmp(p.name, name, want) == 0) {
            *prop = p;
            return 1;
        }
    }
    return 0;
}

static size_t
metadata_name_len(const sn_zmtp_property *p)
{
    return p->name_len ? p->name_len : (p->name ? strlen(p->name) : 0);
}

ssize_t
sn_zmtp_metadata_size(const sn_zmtp_property *props, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t nl = metadata_name_len(&props[i]);
        if (!props[i].name || !sn_zmtp_metadata_name_valid(props[i].name, nl))
            return -EINVAL;
        if (props[i].value_len > SN_ZMTP_PROPERTY_VALUE_MAX ||
            (props[i].value_len > 0 && props[i].value == NULL))
            return -EINVAL;
        size_t one = 1 + nl + 4 + props[i].value_len;
        if (total > (size_t)SSIZE_MAX - one)
            return -EINVAL;
        total += one;
    }
    return (ssize_t)total;
}

ssize_t
sn_zmtp_metadata_build(uint8_t *out, size_t cap, const sn_zmtp_property *props, size_t n)
{
    ssize_t need = sn_zmtp_metadata_size(props, n);
    if (need < 0)
        return need;
    if ((size_t)need > cap)
        return -ENOBUFS;
    uint8_t *p = out;
    for (size_t i = 0; i < n; i++) {
        size_t nl = metadata_name_len(&props[i]);
        size_t vl = props[i].value_len;
        *p++ = (uint8_t)nl;
        memcpy(p, props[i].name, nl);
        p += nl;
        *p++ = (uint8_t)(vl >> 24);
        *p++ = (uint8_t)(vl >> 16);
        *p++ = (uint8_t)(vl >> 8);
        *p++ = (uint8_t)vl;
        if (vl)
            memcpy(p, props[i].value, vl);
        p += vl;
    }
    return need;
}
