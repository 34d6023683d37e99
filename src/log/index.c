/* The sparse offset and time index of a segment, in memory and in its file
 * <base>.idx, which is only a cache of what a scan of the segment would rebuild:
 *
 *   file header (24 bytes, magic "SNLOGIDX", see record.c)
 *   entries, 20 bytes each, in record order:
 *     0  u32 rel   offset - base of the indexed record
 *     4  u32 pos   its byte position in the segment file
 *     8  i64 ts    largest timestamp of the segment's records up to this one
 *    16  u32 crc   CRC-32C of bytes 0..15 of the entry
 *
 * The file is replaced atomically when a segment is sealed and at close; any entry that
 * fails its CRC or breaks the ordering makes the whole file be rebuilt. */
#include "log/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
sn_log_index_name(char name[32], uint64_t base)
{
    snprintf(name, 32, "%020llu.idx", (unsigned long long)base);
}

int
sn_log_index_push(sn_log_index *ix, uint32_t rel, uint32_t pos, int64_t ts)
{
    if (ix->n == ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 64;
        sn_log_index_entry *v = realloc(ix->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        ix->v = v;
        ix->cap = cap;
    }
    ix->v[ix->n++] = (sn_log_index_entry){rel, pos, ts};
    return 0;
}

bool
sn_log_index_due(const sn_log_index *ix, uint64_t pos, uint32_t interval)
{
    return ix->n == 0 || pos - ix->v[ix->n - 1].pos >= interval;
}

const sn_log_index_entry *
sn_log_index_floor(const sn_log_index *ix, uint32_t rel)
{
    size_t lo = 0, hi = ix->n; /* find the first entry with rel > target */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->v[mid].rel <= rel)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? &ix->v[lo - 1] : NULL;
}

const sn_log_index_entry *
sn_log_index_time_floor(const sn_log_index *ix, int64_t ts)
{
    size_t lo = 0, hi = ix->n; /* first entry whose running max reaches ts */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->v[mid].ts < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? &ix->v[lo - 1] : NULL;
}

int
sn_log_index_store(int dirfd, uint64_t base, const sn_log_index *ix)
{
    size_t len = SN_LOG_FILE_HDR + ix->n * SN_LOG_INDEX_ENTRY;
    uint8_t *buf = malloc(len);
    if (!buf)
        return -ENOMEM;
    sn_log_filehdr_encode(buf, "SNLOGIDX", base);
    for (size_t i = 0; i < ix->n; i++) {
        uint8_t *p = buf + SN_LOG_FILE_HDR + i * SN_LOG_INDEX_ENTRY;
        sn_log_put32(p, ix->v[i].rel);
        sn_log_put32(p + 4, ix->v[i].pos);
        sn_log_put64(p + 8, (uint64_t)ix->v[i].ts);
        sn_log_put32(p + 16, sn_log_crc32c(0, p, 16));
    }
    char name[32];
    sn_log_index_name(name, base);
    int rc = sn_log_io_write_atomic(dirfd, name, buf, len);
    free(buf);
    return rc;
}

int
sn_log_index_load(int dirfd, uint64_t base, uint64_t size, sn_log_index *ix)
{
    char name[32];
    sn_log_index_name(name, base);
    uint8_t *buf;
    size_t len;
    int rc = sn_log_io_read_file(dirfd, name, &buf, &len);
    if (rc < 0)
        return rc;
    uint64_t got;
    rc = -EBADMSG;
    if (len < SN_LOG_FILE_HDR || (len - SN_LOG_FILE_HDR) % SN_LOG_INDEX_ENTRY)
        goto out;
    int hrc = sn_log_filehdr_decode(buf, "SNLOGIDX", &got);
    if (hrc < 0 || got != base) {
        rc = hrc == -SINEW_LOG_EVERSION ? hrc : -EBADMSG;
        goto out;
    }
    size_t n = (len - SN_LOG_FILE_HDR) / SN_LOG_INDEX_ENTRY;
    /* An empty segment has no entries; a non-empty one indexes its first record. */
    if ((n == 0) != (size <= SN_LOG_FILE_HDR))
        goto out;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = buf + SN_LOG_FILE_HDR + i * SN_LOG_INDEX_ENTRY;
        sn_log_index_entry e = {sn_log_get32(p), sn_log_get32(p + 4),
                                (int64_t)sn_log_get64(p + 8)};
        bool ordered = i == 0 ? e.rel == 0 && e.pos == SN_LOG_FILE_HDR
                              : e.rel > ix->v[ix->n - 1].rel &&
                                    e.pos > ix->v[ix->n - 1].pos &&
                                    e.ts >= ix->v[ix->n - 1].ts;
        if (sn_log_crc32c(0, p, 16) != sn_log_get32(p + 16) || !ordered || e.pos >= size)
            goto fail;
        if ((rc = sn_log_index_push(ix, e.rel, e.pos, e.ts)) < 0)
            goto fail;
        rc = -EBADMSG;
    }
    rc = 0;
    goto out;
fail:
    sn_log_index_free(ix);
out:
    free(buf);
    return rc;
}

void
sn_log_index_free(sn_log_index *ix)
{
    free(ix->v);
    *ix = (sn_log_index){0};
}
