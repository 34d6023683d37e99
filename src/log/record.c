/* The on-disk formats of records and of the headers of segment and index files, and
 * their encoding and checking. All integers are little-endian.
 *
 * A segment file is a file header followed by records, back to back:
 *
 *   file header (24 bytes, also opens index files with their own magic)
 *     0  magic[8]     "SNLOGSEG" (segment) or "SNLOGIDX" (index)
 *     8  u32 version  SN_LOG_VERSION; a higher one is refused, never guessed at
 *    12  u32 crc      CRC-32C of bytes 0..11 and 16..23
 *    16  u64 base     offset of the file's first record (also in the file name)
 *
 *   record (len bytes)
 *     0  u32 crc         CRC-32C of bytes 4..len-1 (all of the record but this field)
 *     4  u32 len         whole record, header included
 *     8  u64 offset
 *    16  i64 timestamp   milliseconds since the Unix epoch
 *    24  u32 key_size
 *    28  u32 nframes     at least 1
 *    32  u32 frame_size[nframes]
 *        key bytes, then the bytes of every frame in order
 *
 * len covers exactly the header, key and frames; a record whose lengths disagree or
 * whose CRC fails is damaged (or torn) and is never returned as data. */
#include "log/internal.h"

#include <errno.h>
#include <string.h>

void
sn_log_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

void
sn_log_put64(uint8_t *p, uint64_t v)
{
    sn_log_put32(p, (uint32_t)v);
    sn_log_put32(p + 4, (uint32_t)(v >> 32));
}

uint32_t
sn_log_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

uint64_t
sn_log_get64(const uint8_t *p)
{
    return (uint64_t)sn_log_get32(p) | (uint64_t)sn_log_get32(p + 4) << 32;
}

size_t
sn_log_record_header_size(size_t nframes)
{
    return SN_LOG_REC_FIXED + 4 * nframes;
}

int64_t
sn_log_record_encode(uint8_t *hdr, uint64_t offset, const sinew_log_entry *e,
                     uint32_t max_len)
{
    uint64_t total = sn_log_record_header_size(e->nframes) + (uint64_t)e->key_size;
    for (size_t i = 0; i < e->nframes && total <= max_len; i++)
        total += e->frames[i].size;
    if (total > max_len || e->key_size > UINT32_MAX)
        return -EMSGSIZE;
    sn_log_put32(hdr + 4, (uint32_t)total);
    sn_log_put64(hdr + 8, offset);
    sn_log_put64(hdr + 16, (uint64_t)e->timestamp);
    sn_log_put32(hdr + 24, (uint32_t)e->key_size);
    sn_log_put32(hdr + 28, (uint32_t)e->nframes);
    for (size_t i = 0; i < e->nframes; i++)
        sn_log_put32(hdr + SN_LOG_REC_FIXED + 4 * i, (uint32_t)e->frames[i].size);
    uint32_t crc = sn_log_crc32c(0, hdr + 4, sn_log_record_header_size(e->nframes) - 4);
    if (e->key_size)
        crc = sn_log_crc32c(crc, e->key, e->key_size);
    for (size_t i = 0; i < e->nframes; i++)
        crc = sn_log_crc32c(crc, e->frames[i].data, e->frames[i].size);
    sn_log_put32(hdr, crc);
    return (int64_t)total;
}

int
sn_log_record_peek(const uint8_t *p, size_t avail, uint32_t max_len, sn_log_rec_view *v)
{
    if (avail < SN_LOG_REC_FIXED)
        return -EAGAIN;
    v->len = sn_log_get32(p + 4);
    v->offset = sn_log_get64(p + 8);
    v->timestamp = (int64_t)sn_log_get64(p + 16);
    v->key_size = sn_log_get32(p + 24);
    v->nframes = sn_log_get32(p + 28);
    if (v->nframes == 0 || v->len > max_len ||
        v->len < sn_log_record_header_size(v->nframes) + (uint64_t)v->key_size)
        return -EBADMSG;
    return 0;
}

int
sn_log_record_check(const uint8_t *p, const sn_log_rec_view *v)
{
    uint64_t sum = sn_log_record_header_size(v->nframes) + (uint64_t)v->key_size;
    for (uint32_t i = 0; i < v->nframes; i++)
        sum += sn_log_get32(p + SN_LOG_REC_FIXED + 4 * i);
    if (sum != v->len || sn_log_crc32c(0, p + 4, v->len - 4) != sn_log_get32(p))
        return -EBADMSG;
    return 0;
}

void
sn_log_record_views(const uint8_t *p, const sn_log_rec_view *v, sinew_log_frame *frames,
                    const void **key)
{
    const uint8_t *data = p + sn_log_record_header_size(v->nframes);
    *key = v->key_size ? data : NULL;
    data += v->key_size;
    for (uint32_t i = 0; i < v->nframes; i++) {
        frames[i].data = data;
        frames[i].size = sn_log_get32(p + SN_LOG_REC_FIXED + 4 * i);
        data += frames[i].size;
    }
}

static uint32_t
filehdr_crc(const uint8_t *p)
{
    return sn_log_crc32c(sn_log_crc32c(0, p, 12), p + 16, 8);
}

void
sn_log_filehdr_encode(uint8_t *p, const char magic[8], uint64_t base)
{
    memcpy(p, magic, 8);
    sn_log_put32(p + 8, SN_LOG_VERSION);
    sn_log_put64(p + 16, base);
    sn_log_put32(p + 12, filehdr_crc(p));
}

int
sn_log_filehdr_decode(const uint8_t *p, const char magic[8], uint64_t *base)
{
    if (memcmp(p, magic, 8) != 0 || filehdr_crc(p) != sn_log_get32(p + 12))
        return -EBADMSG;
    if (sn_log_get32(p + 8) > SN_LOG_VERSION)
        return -SINEW_LOG_EVERSION;
    *base = sn_log_get64(p + 16);
    return 0;
}
