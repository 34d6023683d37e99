/* ZMTP metadata property lists (RFC 37 "Connection Metadata", RFC 23 NULL READY): the
 * name/value pairs carried by READY and by PLAIN/CURVE INITIATE and READY. Parsing is
 * zero-copy over the caller's bytes; building writes into the caller's buffer. */
#ifndef SINEW_ZMTP_METADATA_H
#define SINEW_ZMTP_METADATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SN_ZMTP_PROPERTY_NAME_MAX 255
#define SN_ZMTP_PROPERTY_VALUE_MAX 0x7fffffffu /* RFC 37: 31-bit value length */

/* One property. On parse, name and value point into the parsed buffer (not NUL
 * terminated). On build, name is a C string when name_len is 0 (convenience). */
typedef struct sn_zmtp_property {
    const char *name;
    size_t name_len;
    const uint8_t *value;
    size_t value_len;
} sn_zmtp_property;

/* Iterator over an encoded list; holds pointers into the caller's buffer. */
typedef struct sn_zmtp_metadata_iter {
    const uint8_t *p, *end;
} sn_zmtp_metadata_iter;

/* True when name is 1..255 chars of ALPHA DIGIT - _ . + (RFC 37 grammar). */
bool sn_zmtp_metadata_name_valid(const char *name, size_t len);

void sn_zmtp_metadata_iter_init(sn_zmtp_metadata_iter *it, const uint8_t *buf, size_t len);

/* Next property. Returns 1 with *prop filled, 0 at the end, or -EPROTO when the rest of
 * the buffer is not a whole, valid property: *err = SN_ZMTP_ERR_INVALID_METADATA for a
 * bad name (empty, chars outside the RFC set) or a value length >= 2^31,
 * SN_ZMTP_ERR_MALFORMED_COMMAND_UNSPECIFIED for a property running past the end (the
 * command carrying it is malformed; READY reports that as MALFORMED_COMMAND_READY). */
int sn_zmtp_metadata_next(sn_zmtp_metadata_iter *it, sn_zmtp_property *prop, int *err);

/* Walk the whole list: 0 if every property is well formed, else -EPROTO, *err set. */
int sn_zmtp_metadata_validate(const uint8_t *buf, size_t len, int *err);

/* Find a property by name, case-insensitively (RFC 37: names are case-insensitive).
 * The list must have been validated. Returns 1 and fills *prop, or 0. */
int sn_zmtp_metadata_find(const uint8_t *buf, size_t len, const char *name,
                          sn_zmtp_property *prop);

/* Encoded size of props[0..n), or -EINVAL if a name or value is out of range. */
ssize_t sn_zmtp_metadata_size(const sn_zmtp_property *props, size_t n);

/* Encode props[0..n) into out (in order). Returns bytes written, -EINVAL on a bad
 * property, -ENOBUFS if cap is too small (nothing useful is written then). */
ssize_t sn_zmtp_metadata_build(uint8_t *out, size_t cap, const sn_zmtp_property *props,
                               size_t n);

#endif
