/* Recovery: validating segments by scanning them, and rebuilding the segment list when
 * a log is opened. After a crash (no CLEAN marker) every segment is scanned, which runs
 * at disk read speed; after a clean close only the active segment is scanned and the
 * sealed ones are trusted with their index files (checked, rebuilt when damaged). A read
 * that meets an inconsistency in a trusted segment makes it be scanned then. */
#include "log/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Whether a valid record with an offset in [lo, hi) starts at p. */
static bool
valid_at(const uint8_t *p, size_t avail, uint64_t lo, uint64_t hi, uint32_t max_record,
         sn_log_rec_view *v)
{
    return sn_log_record_peek(p, avail, max_record, v) == 0 && v->len <= avail &&
           v->offset >= lo && v->offset < hi && sn_log_record_check(p, v) == 0;
}

static int
add_damage(sn_log_scan *s, uint64_t first, uint64_t after, uint64_t pos, uint64_t end)
{
    sn_log_damage *d = realloc(s->damage, (s->ndamage + 1) * sizeof *d);
    if (!d)
        return -ENOMEM;
    s->damage = d;
    d[s->ndamage++] = (sn_log_damage){first, after, pos, end};
    s->damaged += after - first;
    return 0;
}

int
sn_log_recover_scan(const sn_log_segment *seg, uint64_t file_size, uint64_t limit,
                    uint32_t interval, uint32_t max_record, sn_log_scan *s)
{
    *s = (sn_log_scan){
        .valid_end = SN_LOG_FILE_HDR, .next = seg->base, .max_ts = INT64_MIN};
    if (file_size <= SN_LOG_FILE_HDR)
        goto tail;
    int fd = sn_log_file_get((sn_log_segment *)seg);
    if (fd < 0)
        return fd;
    const uint8_t *map = mmap(NULL, file_size, PROT_READ, MAP_SHARED, fd, 0);
    int err = errno;
    sn_log_file_put((sn_log_segment *)seg); /* the mapping needs no descriptor */
    if (map == MAP_FAILED)
        return -err;
    madvise((void *)map, file_size, MADV_SEQUENTIAL);
    int rc = 0;
    uint64_t pos = SN_LOG_FILE_HDR;
    /* The index keeps offsets and positions relative to the segment in 32 bits: a
     * record beyond either (a CRC-valid but crafted or misplaced one) is damage. */
    uint64_t hi = seg->base > UINT64_MAX - SN_LOG_SEG_SPAN ? UINT64_MAX
                                                           : seg->base + SN_LOG_SEG_SPAN;
    if (hi > limit)
        hi = limit;
    uint64_t end = file_size < SN_LOG_SEG_SPAN ? file_size : SN_LOG_SEG_SPAN;
    sn_log_rec_view v;
    while (pos < end) {
        if (s->next < hi &&
            valid_at(map + pos, end - pos, s->next, s->next + 1, max_record, &v)) {
            if (v.timestamp > s->max_ts)
                s->max_ts = v.timestamp;
            if (s->index.n == 0)
                s->first_ts = v.timestamp;
            if (sn_log_index_due(&s->index, pos, interval) &&
                (rc = sn_log_index_push(&s->index, (uint32_t)(v.offset - seg->base),
                                        (uint32_t)pos, s->max_ts)) < 0)
                break;
            pos += v.len;
            s->next++;
            s->valid_end = pos;
            continue;
        }
        /* Damage: a later valid record with a higher offset proves that this is not the
         * end of the log, so the bytes between are skipped and their offsets reported. */
        uint64_t q = pos + 1;
        while (q + SN_LOG_REC_FIXED <= end &&
               !valid_at(map + q, end - q, s->next, hi, max_record, &v))
            q++;
        if (q + SN_LOG_REC_FIXED > end)
            break; /* nothing valid follows: a torn tail */
        if ((rc = add_damage(s, s->next, v.offset, pos, q)) < 0)
            break;
        s->next = v.offset;
        pos = q;
    }
    munmap((void *)map, file_size);
    if (rc < 0) {
        sn_log_index_free(&s->index);
        free(s->damage);
        return rc;
    }
tail:
    /* A sealed segment ends where the next begins: offsets missing before that are lost
     * to a torn tail (only possible when it was never fsynced, e.g. after power loss). */
    if (limit != UINT64_MAX && (s->next < limit || s->valid_end < file_size)) {
        int rc2 = add_damage(s, s->next, limit, s->valid_end, file_size);
        if (rc2 < 0) {
            sn_log_index_free(&s->index);
            free(s->damage);
            return rc2;
        }
        s->next = limit;
    }
    return 0;
}

/* Replaces what is known about seg by the result of a scan. Caller holds the log mutex
 * if the segment is shared. */
static void
install(sn_log *log, sn_log_segment *seg, sn_log_scan *s)
{
    sn_log_index_free(&seg->index);
    free(seg->damage);
    seg->index = s->index;
    seg->damage = s->damage;
    seg->ndamage = s->ndamage;
    seg->size = s->valid_end;
    seg->next = s->next;
    seg->first_ts = s->first_ts;
    seg->max_ts = s->max_ts;
    seg->scanned = true;
    log->damaged += s->damaged;
}

static void
report(const sn_log *log, const sn_log_segment *seg)
{
    for (size_t i = 0; i < seg->ndamage; i++) {
        const sn_log_damage *d = &seg->damage[i];
        if (d->after > d->first)
            sn_log_message(log,
                           "segment %llu: records %llu..%llu damaged (bytes %llu..%llu), "
                           "never returned",
                           (unsigned long long)seg->base, (unsigned long long)d->first,
                           (unsigned long long)d->after - 1, (unsigned long long)d->pos,
                           (unsigned long long)d->end);
        else
            sn_log_message(log, "segment %llu: %llu bytes of junk at %llu skipped",
                           (unsigned long long)seg->base,
                           (unsigned long long)(d->end - d->pos),
                           (unsigned long long)d->pos);
    }
}

/* Writes a rebuilt index. Failing (a full disk, a file size limit) is no reason to keep
 * the records unreadable: the index stays in memory and close tries again. Caller holds
 * mu if the segment is shared. */
static void
store_index(sn_log *log, sn_log_segment *seg)
{
    int rc = sn_log_index_store(log->dirfd, seg->base, &seg->index);
    seg->index_dirty = rc < 0;
    if (rc < 0)
        sn_log_message(log, "segment %llu: rebuilt index kept in memory, not written: %s",
                       (unsigned long long)seg->base, strerror(-rc));
}

int
sn_log_recover_segment(sn_log *log, sn_log_segment *seg, uint64_t limit)
{
    pthread_mutex_lock(&log->mu);
    uint64_t size = seg->size;
    bool done = seg->scanned;
    pthread_mutex_unlock(&log->mu);
    if (done)
        return 0;
    sn_log_scan s;
    int rc = sn_log_recover_scan(seg, size, limit, log->opt.index_interval,
                                 log->opt.max_record_bytes, &s);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&log->mu);
    if (!seg->scanned) {
        install(log, seg, &s);
        report(log, seg);
        store_index(log, seg);
    } else {
        sn_log_index_free(&s.index);
        free(s.damage);
    }
    pthread_mutex_unlock(&log->mu);
    return 0;
}

/* Trusts a cleanly closed sealed segment: loads its index and walks the record headers
 * after the last entry to learn its largest timestamp, checking that they end exactly
 * at the end of the file with the offset the next segment starts at. */
static int
trust(sn_log *log, sn_log_segment *seg, uint64_t file_size, uint64_t limit)
{
    int rc = sn_log_index_load(log->dirfd, seg->base, file_size, &seg->index);
    if (rc < 0)
        return rc;
    rc = -EBADMSG;
    if (seg->index.n == 0) {
        if (limit != seg->base)
            goto fail;
        return 0;
    }
    int fd = sn_log_file_get(seg);
    if (fd < 0) {
        rc = fd;
        goto fail;
    }
    rc = -EBADMSG;
    const sn_log_index_entry *last = &seg->index.v[seg->index.n - 1];
    uint64_t pos = last->pos, off = seg->base + last->rel;
    int64_t max_ts = last->ts;
    while (pos < file_size) {
        uint8_t hdr[SN_LOG_REC_FIXED];
        sn_log_rec_view v;
        if (sn_log_io_pread(fd, hdr, sizeof hdr, pos) != (int64_t)sizeof hdr ||
            sn_log_record_peek(hdr, sizeof hdr, log->opt.max_record_bytes, &v) < 0 ||
            v.offset != off || pos + v.len > file_size)
            goto put;
        if (v.timestamp > max_ts)
            max_ts = v.timestamp;
        pos += v.len;
        off++;
    }
    if (off != limit)
        goto put;
    uint8_t hdr[SN_LOG_REC_FIXED];
    sn_log_rec_view v;
    if (sn_log_io_pread(fd, hdr, sizeof hdr, SN_LOG_FILE_HDR) != (int64_t)sizeof hdr ||
        sn_log_record_peek(hdr, sizeof hdr, log->opt.max_record_bytes, &v) < 0)
        goto put;
    sn_log_file_put(seg);
    seg->first_ts = v.timestamp;
    seg->max_ts = max_ts;
    seg->size = file_size;
    seg->next = limit;
    return 0;
put:
    sn_log_file_put(seg);
fail:
    sn_log_index_free(&seg->index);
    return rc;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Lists the bases of the segment files, sorted, and removes leftover temp files. */
static int
list_segments(int dirfd, uint64_t **bases, size_t *n)
{
    *bases = NULL;
    *n = 0;
    int fd = sn_log_file_dup(dirfd);
    if (fd < 0)
        return fd;
    DIR *d = fdopendir(fd);
    if (!d) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0) {
            unlinkat(dirfd, de->d_name, 0);
            continue;
        }
        unsigned long long base;
        int used = 0;
        if (len != 24 || sscanf(de->d_name, "%20llu.seg%n", &base, &used) != 1 ||
            used != 24)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *v = realloc(*bases, cap * sizeof *v);
            if (!v) {
                rc = -ENOMEM;
                break;
            }
            *bases = v;
        }
        (*bases)[(*n)++] = base;
    }
    closedir(d);
    if (rc == 0 && *n > 1)
        qsort(*bases, *n, sizeof **bases, cmp_u64);
    return rc;
}

int
sn_log_recover_open(sn_log *log, bool clean)
{
    uint64_t *bases;
    size_t n;
    int rc = list_segments(log->dirfd, &bases, &n);
    if (rc < 0)
        return rc;
    if (n == 0) {
        sn_log_segment *seg;
        if ((rc = sn_log_segment_create(log->dirfd, 0, true, &seg)) == 0 &&
            (rc = sn_log_io_fsync_dir(log->dirfd)) == 0)
            rc = sn_log_segs_push(log, seg);
        if (rc < 0 && log->nsegs == 0)
            sn_log_segment_unref(seg);
        free(bases);
        return rc;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        bool last = i == n - 1, damaged_hdr;
        uint64_t limit = last ? UINT64_MAX : bases[i + 1], file_size;
        sn_log_segment *seg;
        if ((rc = sn_log_segment_open(log->dirfd, bases[i], &seg, &file_size,
                                      &damaged_hdr)) < 0)
            break;
        if (damaged_hdr)
            sn_log_message(log, "segment %llu: damaged file header rewritten",
                           (unsigned long long)bases[i]);
        int trc = -EBADMSG;
        if (!last && clean && !damaged_hdr) {
            trc = trust(log, seg, file_size, limit);
            if (trc == -SINEW_LOG_EVERSION) {
                sn_log_segment_unref(seg);
                rc = trc;
                break;
            }
            if (trc == -EMFILE || trc == -ENFILE || trc == -ENOMEM) {
                /* Out of resources, not damage: a rebuild would fail the same way. */
                sn_log_segment_unref(seg);
                rc = trc;
                break;
            }
            if (trc < 0)
                sn_log_message(log, "segment %llu: index %s, rebuilding",
                               (unsigned long long)bases[i],
                               trc == -ENOENT    ? "missing"
                               : trc == -EBADMSG ? "damaged"
                                                 : strerror(-trc));
        }
        if (trc < 0) {
            sn_log_scan s;
            if ((rc = sn_log_recover_scan(seg, file_size, limit, log->opt.index_interval,
                                          log->opt.max_record_bytes, &s)) < 0) {
                sn_log_segment_unref(seg);
                break;
            }
            install(log, seg, &s);
            report(log, seg);
            if (last && seg->size < file_size) {
                log->truncated = file_size - seg->size;
                sn_log_message(log,
                               "segment %llu: torn tail of %llu bytes after offset "
                               "%llu truncated",
                               (unsigned long long)seg->base,
                               (unsigned long long)log->truncated,
                               (unsigned long long)seg->next);
            }
            /* Whatever the crash left in the page cache is made durable now, so that
             * everything the log shows from here on is on disk. */
            if (last && (rc = sn_log_file_hold(seg, true)) == 0 &&
                ((seg->size < file_size && ftruncate(seg->fd, (off_t)seg->size) < 0) ||
                 fdatasync(seg->fd) < 0))
                rc = -errno;
            if (rc == 0 && !last)
                store_index(log, seg);
        }
        if (rc == 0 && i > 0 && log->segs[i - 1]->next != seg->base)
            rc = -EBADMSG; /* segments overlap: not something a crash produces */
        if (rc == 0)
            rc = sn_log_segs_push(log, seg);
        if (rc < 0)
            sn_log_segment_unref(seg);
    }
    free(bases);
    return rc;
}
