/* Segment files: <base>.seg holds the records from offset base on (format in record.c).
 * This module creates, opens and removes them and manages their shared lifetime. */
#include "log/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

void
sn_log_segment_name(char name[32], uint64_t base)
{
    snprintf(name, 32, "%020llu.seg", (unsigned long long)base);
}

static sn_log_segment *
segment_new(int dirfd, uint64_t base, int fd, bool hold)
{
    sn_log_segment *seg = calloc(1, sizeof *seg);
    if (!seg)
        return NULL;
    seg->base = base;
    seg->dirfd = dirfd;
    seg->fd = -1;
    sn_log_file_adopt(seg, fd, hold);
    atomic_init(&seg->refs, 1);
    seg->size = SN_LOG_FILE_HDR;
    seg->next = base;
    seg->max_ts = INT64_MIN;
    return seg;
}

int
sn_log_segment_create(int dirfd, uint64_t base, bool sync, sn_log_segment **out)
{
    char name[32];
    sn_log_segment_name(name, base);
    int fd = sn_log_file_openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        return fd;
    uint8_t hdr[SN_LOG_FILE_HDR];
    sn_log_filehdr_encode(hdr, "SNLOGSEG", base);
    struct iovec iov = {hdr, sizeof hdr};
    int rc = sn_log_io_pwritev(fd, &iov, 1, 0);
    if (rc == 0 && sync && fdatasync(fd) < 0)
        rc = -errno;
    /* A new segment is about to become the active one: its descriptor stays open. */
    if (rc == 0 && !(*out = segment_new(dirfd, base, fd, true)))
        rc = -ENOMEM;
    if (rc < 0) {
        close(fd);
        unlinkat(dirfd, name, 0);
    }
    return rc;
}

int
sn_log_segment_open(int dirfd, uint64_t base, sn_log_segment **out, uint64_t *file_size,
                    bool *header_damaged)
{
    char name[32];
    sn_log_segment_name(name, base);
    int fd = sn_log_file_openat(dirfd, name, O_RDWR, 0);
    if (fd < 0)
        return fd;
    struct stat st;
    uint8_t hdr[SN_LOG_FILE_HDR];
    uint64_t got = 0;
    int rc = 0;
    int64_t n = fstat(fd, &st) < 0 ? -errno : sn_log_io_pread(fd, hdr, sizeof hdr, 0);
    if (n < 0) {
        rc = (int)n;
        goto fail;
    }
    /* A header cut short is a segment created just before a crash; rewrite it. */
    *header_damaged = n < SN_LOG_FILE_HDR;
    if (!*header_damaged) {
        int hrc = sn_log_filehdr_decode(hdr, "SNLOGSEG", &got);
        if (hrc == -SINEW_LOG_EVERSION) {
            rc = hrc;
            goto fail;
        }
        *header_damaged = hrc < 0 || got != base;
    }
    if (*header_damaged) {
        /* Best effort: on a full disk the header is repaired in memory only (the name
         * gives the base) and the rewrite is tried again at the next open. */
        sn_log_filehdr_encode(hdr, "SNLOGSEG", base);
        struct iovec iov = {hdr, sizeof hdr};
        sn_log_io_pwritev(fd, &iov, 1, 0);
        if (st.st_size < SN_LOG_FILE_HDR)
            st.st_size = SN_LOG_FILE_HDR;
    }
    if (!(*out = segment_new(dirfd, base, fd, false))) {
        rc = -ENOMEM;
        goto fail;
    }
    *file_size = (uint64_t)st.st_size;
    return 0;
fail:
    close(fd);
    return rc;
}

void
sn_log_segment_ref(sn_log_segment *seg)
{
    atomic_fetch_add_explicit(&seg->refs, 1, memory_order_relaxed);
}

void
sn_log_segment_unref(sn_log_segment *seg)
{
    if (atomic_fetch_sub_explicit(&seg->refs, 1, memory_order_acq_rel) != 1)
        return;
    sn_log_file_forget(seg);
    sn_log_index_free(&seg->index);
    free(seg->damage);
    free(seg);
}

int
sn_log_segment_remove(int dirfd, uint64_t base)
{
    char name[32];
    sn_log_index_name(name, base);
    if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
        return -errno;
    sn_log_segment_name(name, base);
    return unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
}

const sn_log_damage *
sn_log_segment_damage_at(const sn_log_segment *seg, uint64_t offset)
{
    for (size_t i = 0; i < seg->ndamage; i++)
        if (offset >= seg->damage[i].first && offset < seg->damage[i].after)
            return &seg->damage[i];
    return NULL;
}
