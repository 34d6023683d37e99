/* The open log: the public API of sinew_log.h. Opening (meta file, lock file, clean
 * marker), appends and segment rolls, durability and group commit, reads, tailing waits
 * and retention. The directory of a log holds:
 *
 *   META       "SINEWLOG", u32 version, u32 CRC-32C of the first 12 bytes (16 bytes)
 *   LOCK       flock()ed by the process that has the log open
 *   CLEAN      present only between a clean close and the next open
 *   consumers  named consumer positions (offsets.c)
 *   <base>.seg <base>.idx  segments and their indexes (record.c, index.c), where base
 *              is the segment's first offset in 20 decimal digits
 *
 * Locking: append_mu serializes appenders and is held across the write of a record;
 * mu guards the segment list and the counters and is held across disk I/O only to write
 * the index of a segment that a read found damaged (rare). Readers take mu only to pick
 * a segment and a position, then read without any lock: bytes below a segment's size
 * never change. Durability is tracked as the offset below which everything has been
 * fdatasync()ed; a thread needing more runs the fdatasync itself unless one is already
 * running, so concurrent waiters share it (group commit). */
#include "log/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define META_NAME "META"
#define META_MAGIC "SINEWLOG"
#define CLEAN_NAME "CLEAN"
#define LOCK_NAME "LOCK"
#define STACK_FRAMES 16

/* A record found by a read, before the batch's buffer stops moving. */
struct slot {
    size_t at; /* position of the record in the batch's buffer */
    sn_log_rec_view v;
};

struct sinew_log_batch {
    uint8_t *buf; /* segment bytes as read by pread */
    size_t cap;
    void *map; /* or a mapping of the segment, for large reads (read_mapped) */
    size_t map_len;
    const uint8_t *data; /* buf or into map: every returned record points here */
    bool viewed;         /* recs and frames already filled (read_mapped) */
    struct slot *slots;
    size_t n, slot_cap;
    sinew_log_record *recs;
    size_t rec_cap;
    sinew_log_frame *frames;
    size_t frame_cap;
    sn_log_damage *damage; /* copy of the segment's damage list while reading */
    size_t damage_cap;
    uint64_t next;
    /* Where the record after the last one returned starts, so that a sequential reader
     * needs no index lookup. */
    const sn_log *hint_log;
    uint64_t hint_base, hint_off, hint_pos;
};

void
sn_log_message(const sn_log *log, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (log->opt.message_fn)
        log->opt.message_fn(log->opt.message_arg, buf);
    else
        fprintf(stderr, "sinew_log: %s\n", buf);
}

int64_t
sn_log_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
fail(int rc)
{
    errno = -rc;
    return -1;
}

int
sn_log_segs_push(sn_log *log, sn_log_segment *seg)
{
    if (log->nsegs == log->cap) {
        size_t cap = log->cap ? log->cap * 2 : 16;
        sn_log_segment **v = realloc(log->segs, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        log->segs = v;
        log->cap = cap;
    }
    log->segs[log->nsegs++] = seg;
    return 0;
}

void
sinew_log_options_init(sinew_log_options *o)
{
    *o = (sinew_log_options){
        .durability = SINEW_LOG_SYNC_ALWAYS,
        .sync_ms = 10,
        .segment_bytes = 64ull << 20,
        .index_interval = 4096,
        .max_record_bytes = 64u << 20,
    };
}

static bool
options_valid(const sinew_log_options *o)
{
    return (o->flags & ~SINEW_LOG_CREATE) == 0 &&
           o->durability >= SINEW_LOG_SYNC_ALWAYS && o->durability <= SINEW_LOG_SYNC_OS &&
           (o->durability != SINEW_LOG_SYNC_GROUP || o->sync_ms || o->sync_records) &&
           o->segment_bytes >= 1024 && o->segment_bytes <= UINT32_MAX &&
           o->index_interval > 0 && o->max_record_bytes >= 64 &&
           o->max_record_bytes <= SN_LOG_MAX_RECORD;
}

/* Whether the directory has no entries but perhaps a LOCK left by a failed create. */
static int
dir_empty(int dirfd)
{
    int fd = sn_log_file_dup(dirfd);
    if (fd < 0)
        return fd;
    DIR *d = fdopendir(fd);
    if (!d) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    int empty = 1;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
            strcmp(de->d_name, LOCK_NAME))
            empty = 0;
    closedir(d);
    return empty;
}

/* Checks META, or creates it when allowed. Runs with the lock held. */
static int
meta_check(sn_log *log)
{
    uint8_t *buf;
    size_t len;
    int rc = sn_log_io_read_file(log->dirfd, META_NAME, &buf, &len);
    if (rc == -ENOENT) {
        int empty = dir_empty(log->dirfd);
        if (empty < 0)
            return empty;
        if (!empty)
            return -SINEW_LOG_ENOTLOG;
        if (!(log->opt.flags & SINEW_LOG_CREATE))
            return -ENOENT;
        uint8_t meta[16];
        memcpy(meta, META_MAGIC, 8);
        sn_log_put32(meta + 8, SN_LOG_VERSION);
        sn_log_put32(meta + 12, sn_log_crc32c(0, meta, 12));
        return sn_log_io_write_atomic(log->dirfd, META_NAME, meta, sizeof meta);
    }
    if (rc < 0)
        return rc;
    rc = 0;
    if (len != 16 || memcmp(buf, META_MAGIC, 8) != 0 ||
        sn_log_crc32c(0, buf, 12) != sn_log_get32(buf + 12))
        rc = -SINEW_LOG_ENOTLOG;
    else if (sn_log_get32(buf + 8) > SN_LOG_VERSION)
        rc = -SINEW_LOG_EVERSION;
    free(buf);
    return rc;
}

/* Creates the log directory if absent, and makes its name durable in the parent. */
static int
make_dir(const char *path)
{
    if (mkdir(path, 0777) < 0)
        return errno == EEXIST ? 0 : -errno;
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return -errno;
    int rc = sn_log_io_fsync_dir(fd);
    close(fd);
    return rc;
}

static void apply_retention(sn_log *log);
static void *flusher_main(void *arg);

static void
log_free(sn_log *log)
{
    for (size_t i = 0; i < log->nsegs; i++)
        sn_log_segment_unref(log->segs[i]);
    free(log->segs);
    if (log->lockfd >= 0)
        close(log->lockfd);
    if (log->dirfd >= 0)
        close(log->dirfd);
    pthread_mutex_destroy(&log->append_mu);
    pthread_mutex_destroy(&log->mu);
    pthread_cond_destroy(&log->data_cv);
    pthread_cond_destroy(&log->sync_cv);
    pthread_cond_destroy(&log->flush_cv);
    free(log);
}

sinew_log *
sinew_log_open(const char *path, const sinew_log_options *options)
{
    sinew_log_options defaults;
    if (!options) {
        sinew_log_options_init(&defaults);
        options = &defaults;
    }
    if (!path || !*path || !options_valid(options)) {
        errno = EINVAL;
        return NULL;
    }
    sinew_log *pub = calloc(1, sizeof *pub);
    if (!pub) {
        errno = ENOMEM;
        return NULL;
    }
    sn_log *log = &pub->l;
    log->opt = *options;
    log->dirfd = log->lockfd = -1;
    pthread_mutex_init(&log->append_mu, NULL);
    pthread_mutex_init(&log->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&log->data_cv, &ca);
    pthread_cond_init(&log->sync_cv, &ca);
    pthread_cond_init(&log->flush_cv, &ca);
    pthread_condattr_destroy(&ca);

    int rc = 0;
    bool offsets_loaded = false;
    if ((options->flags & SINEW_LOG_CREATE) && (rc = make_dir(path)) < 0)
        goto fail;
    log->dirfd = sn_log_file_openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY, 0);
    if (log->dirfd < 0) {
        rc = log->dirfd;
        goto fail;
    }
    /* Lock before looking: a log another process has open is never touched. A LOCK
     * file is only created where a log is or is about to be. */
    if ((rc = faccessat(log->dirfd, META_NAME, F_OK, 0) < 0 ? -errno : 0) == -ENOENT) {
        int empty = dir_empty(log->dirfd);
        rc = empty < 0                              ? empty
             : !empty                               ? -SINEW_LOG_ENOTLOG
             : !(options->flags & SINEW_LOG_CREATE) ? -ENOENT
                                                    : 0;
    }
    if (rc < 0)
        goto fail;
    log->lockfd = sn_log_file_openat(log->dirfd, LOCK_NAME, O_RDWR | O_CREAT, 0644);
    if (log->lockfd < 0) {
        rc = log->lockfd;
        goto fail;
    }
    if (flock(log->lockfd, LOCK_EX | LOCK_NB) < 0) {
        rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        goto fail;
    }
    if ((rc = meta_check(log)) < 0)
        goto fail;
    /* The marker goes before anything changes, so a crash from here on is seen. */
    bool clean = faccessat(log->dirfd, CLEAN_NAME, F_OK, 0) == 0;
    if (clean && (unlinkat(log->dirfd, CLEAN_NAME, 0) < 0 ||
                  (rc = sn_log_io_fsync_dir(log->dirfd)) < 0)) {
        rc = rc < 0 ? rc : -errno;
        goto fail;
    }
    if ((rc = sn_log_offsets_load(&log->offsets, log->dirfd)) < 0) {
        if (rc == -EBADMSG)
            sn_log_message(log, "consumer positions file damaged");
        goto fail;
    }
    offsets_loaded = true;
    if ((rc = sn_log_recover_open(log, clean)) < 0)
        goto fail;
    log->next = log->durable = log->segs[log->nsegs - 1]->next;
    apply_retention(log);
    if (log->opt.durability == SINEW_LOG_SYNC_GROUP) {
        if ((rc = -pthread_create(&log->flusher, NULL, flusher_main, log)) < 0)
            goto fail;
        log->has_flusher = true;
    }
    return pub;
fail:
    if (offsets_loaded)
        sn_log_offsets_free(&log->offsets);
    log_free(log);
    errno = -rc;
    return NULL;
}

/* One fdatasync of the active segment covering every record appended so far. Called
 * with mu held and no sync running; drops mu while syncing. */
static void
sync_round(sn_log *log)
{
    log->syncing = true;
    uint64_t target = log->next;
    sn_log_segment *seg = log->segs[log->nsegs - 1];
    sn_log_segment_ref(seg);
    pthread_mutex_unlock(&log->mu);
    /* Pinned: a roll may release the segment's hold on its descriptor meanwhile. */
    int fd = sn_log_file_get(seg);
    int rc = fd < 0 ? fd : fdatasync(fd) < 0 ? -errno : 0;
    if (fd >= 0)
        sn_log_file_put(seg);
    sn_log_segment_unref(seg);
    pthread_mutex_lock(&log->mu);
    log->syncing = false;
    if (rc < 0) {
        /* After a failed fsync the kernel may have dropped the dirty pages: nothing
         * appended since the last good sync can be trusted, so appends stop. */
        if (!log->failed) {
            log->failed = -rc;
            sn_log_message(log, "fdatasync failed (%s); log needs reopening",
                           strerror(-rc));
        }
    } else if (target > log->durable) {
        log->durable = target;
        log->unsynced_since = log->durable == log->next ? 0 : mono_ms();
    }
    pthread_cond_broadcast(&log->sync_cv);
    pthread_cond_broadcast(&log->flush_cv);
}

/* Blocks until every offset below `until` is durable. Called with mu held. */
static int
wait_durable_locked(sn_log *log, uint64_t until)
{
    while (log->durable < until) {
        if (log->failed)
            return -log->failed;
        if (!log->syncing)
            sync_round(log);
        else
            pthread_cond_wait(&log->sync_cv, &log->mu);
    }
    return 0;
}

/* The group commit flusher: fsyncs once sync_records records wait or the oldest
 * unsynced append is sync_ms old. */
static void *
flusher_main(void *arg)
{
    sn_log *log = arg;
    pthread_mutex_lock(&log->mu);
    while (!log->stopping) {
        uint64_t pending = log->next - log->durable;
        int64_t deadline = -1;
        if (pending && !log->syncing && !log->failed) {
            int64_t now = mono_ms();
            if ((log->opt.sync_records && pending >= log->opt.sync_records) ||
                (log->opt.sync_ms && now - log->unsynced_since >= log->opt.sync_ms)) {
                sync_round(log);
                continue;
            }
            if (log->opt.sync_ms)
                deadline = log->unsynced_since + log->opt.sync_ms;
        }
        if (deadline < 0) {
            pthread_cond_wait(&log->flush_cv, &log->mu);
        } else {
            struct timespec ts = {deadline / 1000, (deadline % 1000) * 1000000};
            pthread_cond_timedwait(&log->flush_cv, &log->mu, &ts);
        }
    }
    pthread_mutex_unlock(&log->mu);
    return NULL;
}

static void
apply_retention(sn_log *log)
{
    if (!log->opt.retention_bytes && !log->opt.retention_ms)
        return;
    pthread_mutex_lock(&log->mu);
    size_t k = sn_log_retention_pick(log->segs, log->nsegs, log->opt.retention_bytes,
                                     log->opt.retention_ms, sn_log_now_ms());
    sn_log_segment *gone[64];
    if (k > 64)
        k = 64; /* the rest goes next time; keeps this lock hold short */
    memcpy(gone, log->segs, k * sizeof *gone);
    memmove(log->segs, log->segs + k, (log->nsegs - k) * sizeof *log->segs);
    log->nsegs -= k;
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < gone[i]->ndamage; j++)
            log->damaged -= gone[i]->damage[j].after - gone[i]->damage[j].first;
    pthread_mutex_unlock(&log->mu);
    /* Readers holding a reference keep reading the unlinked files: the descriptor of
     * a segment being read is held open first, as its name is about to go. */
    for (size_t i = 0; i < k; i++) {
        if (atomic_load(&gone[i]->refs) > 1)
            sn_log_file_hold(gone[i], true);
        int rc = sn_log_segment_remove(log->dirfd, gone[i]->base);
        if (rc < 0)
            sn_log_message(log, "retention: cannot remove segment %llu: %s",
                           (unsigned long long)gone[i]->base, strerror(-rc));
        sn_log_segment_unref(gone[i]);
    }
}

/* Seals the active segment and starts a new one at offset base. Holds append_mu.
 * The sealed segment and its index are made durable first, whatever the policy, so
 * that only the active segment can ever hold a torn tail. */
static int
roll(sn_log *log, uint64_t base, sn_log_segment **active)
{
    sn_log_segment *old = *active, *seg;
    int rc;
    if (fdatasync(old->fd) < 0) {
        rc = -errno;
        pthread_mutex_lock(&log->mu);
        if (!log->failed)
            log->failed = -rc;
        pthread_mutex_unlock(&log->mu);
        return rc;
    }
    if ((rc = sn_log_index_store(log->dirfd, old->base, &old->index)) < 0 ||
        (rc = sn_log_segment_create(log->dirfd, base, true, &seg)) < 0)
        return rc;
    if ((rc = sn_log_io_fsync_dir(log->dirfd)) < 0) {
        sn_log_segment_unref(seg);
        sn_log_segment_remove(log->dirfd, base);
        return rc;
    }
    pthread_mutex_lock(&log->mu);
    rc = sn_log_segs_push(log, seg);
    pthread_mutex_unlock(&log->mu);
    if (rc < 0) {
        sn_log_segment_unref(seg);
        sn_log_segment_remove(log->dirfd, base);
        return rc;
    }
    sn_log_file_hold(old, false); /* sealed: its descriptor joins the cache */
    *active = seg;
    apply_retention(log);
    return 0;
}

static bool
entry_valid(const sinew_log_entry *e)
{
    if (!e || !e->frames || e->nframes == 0 || e->nframes > UINT32_MAX ||
        (e->key_size && !e->key))
        return false;
    for (size_t i = 0; i < e->nframes; i++)
        if (e->frames[i].size && !e->frames[i].data)
            return false;
    return true;
}

/* Writes one record at the end of the active segment. Holds append_mu. */
static int
append_locked(sn_log *log, const sinew_log_entry *e, uint8_t *hdr, struct iovec *iov,
              uint64_t *offset)
{
    if (atomic_load(&log->failed))
        return -EIO;
    uint64_t off = log->next;
    sn_log_segment *seg = log->segs[log->nsegs - 1];
    int64_t len = sn_log_record_encode(hdr, off, e, log->opt.max_record_bytes);
    if (len < 0)
        return (int)len;
    /* seg->size, next and first_ts change only under append_mu, which we hold. */
    /* Also full when the offset would not fit its 32-bit index entry (only after
     * recovery kept a record far past a damaged range). */
    bool full = seg->size + (uint64_t)len > log->opt.segment_bytes ||
                off - seg->base >= SN_LOG_SEG_SPAN;
    bool old = log->opt.segment_ms && seg->next > seg->base &&
               sn_log_now_ms() - seg->first_ts >= (int64_t)log->opt.segment_ms;
    int rc;
    if (seg->next > seg->base && (full || old) && (rc = roll(log, off, &seg)) < 0)
        return rc;
    int iovcnt = 0;
    iov[iovcnt++] = (struct iovec){hdr, sn_log_record_header_size(e->nframes)};
    if (e->key_size)
        iov[iovcnt++] = (struct iovec){(void *)e->key, e->key_size};
    for (size_t i = 0; i < e->nframes; i++)
        if (e->frames[i].size)
            iov[iovcnt++] = (struct iovec){(void *)e->frames[i].data, e->frames[i].size};
    /* A small record is gathered into one buffer: a plain write costs the kernel less
     * than importing an iovec, which matters for records of a few hundred bytes. */
    if (iovcnt > 1 && (size_t)len <= sizeof log->small) {
        size_t at = 0;
        for (int i = 0; i < iovcnt; i++) {
            memcpy(log->small + at, iov[i].iov_base, iov[i].iov_len);
            at += iov[i].iov_len;
        }
        iov[0] = (struct iovec){log->small, at};
        iovcnt = 1;
    }
    if ((rc = sn_log_io_pwritev(seg->fd, iov, iovcnt, seg->size)) < 0) {
        /* Cut off what reached the file, so that nothing but whole records ever sits
         * below the end; if even that fails the log stops taking appends. */
        if (ftruncate(seg->fd, (off_t)seg->size) < 0) {
            pthread_mutex_lock(&log->mu);
            if (!log->failed)
                log->failed = EIO;
            pthread_mutex_unlock(&log->mu);
        }
        return rc;
    }
    pthread_mutex_lock(&log->mu);
    if (seg->next == seg->base)
        seg->first_ts = e->timestamp;
    if (e->timestamp > seg->max_ts)
        seg->max_ts = e->timestamp;
    /* A failed push only leaves the index sparser, which costs reads a longer walk. */
    if (sn_log_index_due(&seg->index, seg->size, log->opt.index_interval))
        sn_log_index_push(&seg->index, (uint32_t)(off - seg->base), (uint32_t)seg->size,
                          seg->max_ts);
    seg->size += (uint64_t)len;
    seg->next = off + 1;
    bool first_unsynced = log->durable == log->next;
    if (first_unsynced)
        log->unsynced_since = mono_ms();
    log->next = off + 1;
    pthread_cond_broadcast(&log->data_cv);
    /* The flusher sleeps without a deadline while nothing is pending. */
    if (log->has_flusher &&
        (first_unsynced ||
         (log->opt.sync_records && log->next - log->durable >= log->opt.sync_records)))
        pthread_cond_signal(&log->flush_cv);
    pthread_mutex_unlock(&log->mu);
    *offset = off;
    return 0;
}

int
sinew_log_append(sinew_log *pub, const sinew_log_entry *entry, int flags,
                 uint64_t *offset)
{
    if (!pub || !entry_valid(entry) || (flags & ~SINEW_LOG_WAIT_DURABLE))
        return fail(-EINVAL);
    sn_log *log = &pub->l;
    sinew_log_entry e = *entry;
    if (!e.timestamp)
        e.timestamp = sn_log_now_ms();
    uint8_t hdr_stack[SN_LOG_REC_FIXED + 4 * STACK_FRAMES];
    struct iovec iov_stack[2 + STACK_FRAMES];
    uint8_t *hdr = hdr_stack;
    struct iovec *iov = iov_stack;
    if (e.nframes > STACK_FRAMES) {
        hdr = malloc(sn_log_record_header_size(e.nframes));
        iov = malloc((2 + e.nframes) * sizeof *iov);
        if (!hdr || !iov) {
            free(hdr);
            free(iov);
            return fail(-ENOMEM);
        }
    }
    uint64_t off = 0;
    pthread_mutex_lock(&log->append_mu);
    int rc = append_locked(log, &e, hdr, iov, &off);
    pthread_mutex_unlock(&log->append_mu);
    if (hdr != hdr_stack) {
        free(hdr);
        free(iov);
    }
    if (rc == 0 && (log->opt.durability == SINEW_LOG_SYNC_ALWAYS ||
                    (flags & SINEW_LOG_WAIT_DURABLE))) {
        pthread_mutex_lock(&log->mu);
        rc = wait_durable_locked(log, off + 1);
        pthread_mutex_unlock(&log->mu);
    }
    if (rc < 0)
        return fail(rc);
    if (offset)
        *offset = off;
    return 0;
}

int
sinew_log_wait_durable(sinew_log *pub, uint64_t offset)
{
    if (!pub)
        return fail(-EINVAL);
    sn_log *log = &pub->l;
    pthread_mutex_lock(&log->mu);
    int rc = offset < log->next ? wait_durable_locked(log, offset + 1) : -ERANGE;
    pthread_mutex_unlock(&log->mu);
    return rc < 0 ? fail(rc) : 0;
}

int
sinew_log_sync(sinew_log *pub)
{
    if (!pub)
        return fail(-EINVAL);
    sn_log *log = &pub->l;
    pthread_mutex_lock(&log->mu);
    int rc = wait_durable_locked(log, log->next);
    pthread_mutex_unlock(&log->mu);
    return rc < 0 ? fail(rc) : 0;
}

int
sinew_log_close(sinew_log *pub)
{
    if (!pub)
        return fail(-EINVAL);
    sn_log *log = &pub->l;
    pthread_mutex_lock(&log->mu);
    log->stopping = true;
    pthread_cond_broadcast(&log->flush_cv);
    pthread_cond_broadcast(&log->data_cv);
    pthread_mutex_unlock(&log->mu);
    if (log->has_flusher)
        pthread_join(log->flusher, NULL);
    /* A clean close leaves everything synced and every index current, which lets the
     * next open trust the sealed segments instead of scanning them. */
    pthread_mutex_lock(&log->mu);
    int rc = wait_durable_locked(log, log->next);
    pthread_mutex_unlock(&log->mu);
    /* Indexes rebuilt when they could not be written (a full disk) get another try;
     * without them the next open must scan. */
    for (size_t i = 0; rc == 0 && i + 1 < log->nsegs; i++)
        if (log->segs[i]->index_dirty &&
            (rc = sn_log_index_store(log->dirfd, log->segs[i]->base,
                                     &log->segs[i]->index)) == 0)
            log->segs[i]->index_dirty = false;
    sn_log_segment *active = log->segs[log->nsegs - 1];
    if (rc == 0)
        rc = sn_log_index_store(log->dirfd, active->base, &active->index);
    if (rc == 0)
        rc = sn_log_io_write_atomic(log->dirfd, CLEAN_NAME, "", 0);
    sn_log_offsets_free(&log->offsets);
    log_free(log);
    return rc < 0 ? fail(rc) : 0;
}

sinew_log_batch *
sinew_log_batch_new(void)
{
    sinew_log_batch *b = calloc(1, sizeof *b);
    if (!b)
        errno = ENOMEM;
    return b;
}

/* Releases the mapping of the previous large read. */
static void
batch_unmap(sinew_log_batch *b)
{
    if (b->map)
        munmap(b->map, b->map_len);
    b->map = NULL;
    b->map_len = 0;
    b->viewed = false;
}

void
sinew_log_batch_free(sinew_log_batch *b)
{
    if (!b)
        return;
    batch_unmap(b);
    free(b->buf);
    free(b->slots);
    free(b->recs);
    free(b->frames);
    free(b->damage);
    free(b);
}

const sinew_log_record *
sinew_log_batch_get(const sinew_log_batch *b, size_t i)
{
    if (!b || i >= b->n) {
        errno = EINVAL;
        return NULL;
    }
    return &b->recs[i];
}

uint64_t
sinew_log_batch_next(const sinew_log_batch *b)
{
    return b ? b->next : 0;
}

static int
grow(void **p, size_t *cap, size_t want, size_t size)
{
    if (want <= *cap)
        return 0;
    size_t cap2 = *cap ? *cap : 16;
    while (cap2 < want)
        cap2 *= 2;
    void *q = realloc(*p, cap2 * size);
    if (!q)
        return -ENOMEM;
    *p = q;
    *cap = cap2;
    return 0;
}

/* What a read needs to know about its segment, copied under mu. */
struct read_plan {
    sn_log_segment *seg;
    uint64_t end;      /* bytes of whole records */
    uint64_t pos, off; /* where the walk starts and the offset found there */
    size_t ndamage;
    bool scanned;
    bool hinted;    /* pos comes from the batch's hint, not from the index */
    uint64_t limit; /* next segment's base, UINT64_MAX for the active one */
};

/* Below this many bytes a pread costs less than a mapping. A variable for tests. */
size_t sn_log_read_map_min = 256u << 10;

/* How many bytes a read from pos looks at: enough for max_bytes of records after an
 * index entry's walk, capped at 16 MiB and at the end of the records. */
static size_t
read_span(const sn_log *log, const struct read_plan *rp, uint64_t pos, size_t max_bytes)
{
    size_t want = max_bytes > (16u << 20) ? (16u << 20) : max_bytes;
    want += log->opt.index_interval + 4096;
    return want > rp->end - pos ? (size_t)(rp->end - pos) : want;
}

/* What a read does with a whole record v (its bytes at p, its offset off): skips it
 * (before from), stops (the batch is full, or the record is bad after others were
 * taken: the next read reports it), takes it, or -EAGAIN (bad, and nothing taken). Both
 * read paths, mapped and copied, decide the same way. */
enum { REC_TAKE, REC_SKIP, REC_STOP };

static int
batch_admit(const sinew_log_batch *b, const uint8_t *p, const sn_log_rec_view *v,
            uint64_t off, uint64_t from, size_t bytes, size_t max_bytes)
{
    if (off < from)
        return REC_SKIP;
    if (b->n > 0 && bytes + v->len > max_bytes)
        return REC_STOP;
    if (sn_log_record_check(p, v) < 0)
        return b->n > 0 ? REC_STOP : -EAGAIN;
    return REC_TAKE;
}

/* A large read: maps the segment's bytes and returns the records in place, which
 * spares copying them (the page cache is read once, by the CRC check). Bytes below
 * the segment's size never change or shrink, so the mapping stays valid. Returns 1
 * when it cannot serve the read (a record crossing the mapped span, damage at the
 * start, a failed mmap): the caller then reads with pread. */
static int
read_mapped(sn_log *log, sinew_log_batch *b, const struct read_plan *rp, int fd,
            uint64_t from, size_t max_records, size_t max_bytes)
{
    uint64_t pos = rp->pos, off = rp->off;
    size_t n = read_span(log, rp, pos, max_bytes);
    uint64_t start = pos & ~(uint64_t)(sysconf(_SC_PAGESIZE) - 1);
    size_t len = n + (size_t)(pos - start);
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, (off_t)start);
    if (m == MAP_FAILED)
        return 1;
    b->map = m;
    b->map_len = len;
    b->data = (const uint8_t *)m + (pos - start);
    size_t at = 0, bytes = 0, nframes = 0;
    while (b->n < max_records && at < n) {
        const sn_log_damage *d = NULL;
        for (size_t i = 0; i < rp->ndamage; i++)
            if (b->damage[i].pos == pos + at)
                d = &b->damage[i];
        if (d && b->n > 0)
            break; /* the caller's next read reports it */
        if (d) {
            at += (size_t)(d->end - d->pos);
            off = d->after;
            if (at >= n)
                goto fallback;
            continue;
        }
        sn_log_rec_view v;
        int rc = sn_log_record_peek(b->data + at, n - at, log->opt.max_record_bytes, &v);
        if ((rc == 0 && v.offset != off) || rc == -EBADMSG ||
            (rc == 0 && pos + at + v.len > rp->end))
            return -EAGAIN;
        if (rc == -EAGAIN || at + v.len > n) {
            if (b->n > 0)
                break;
            goto fallback;
        }
        int admit = batch_admit(b, b->data + at, &v, off, from, bytes, max_bytes);
        if (admit < 0)
            return admit;
        if (admit == REC_STOP)
            break;
        if (admit == REC_SKIP) {
            at += v.len;
            off++;
            continue;
        }
        /* The record is in the cache now, after its CRC: take its views at once rather
         * than in finish_batch, when a large batch has pushed it out. The mapping does
         * not move, unlike a pread buffer. */
        if (grow((void **)&b->frames, &b->frame_cap, nframes + v.nframes,
                 sizeof *b->frames) < 0 ||
            grow((void **)&b->recs, &b->rec_cap, b->n + 1, sizeof *b->recs) < 0)
            return -ENOMEM;
        sinew_log_record *r = &b->recs[b->n++];
        sn_log_record_views(b->data + at, &v, b->frames + nframes, &r->key);
        *r = (sinew_log_record){.offset = v.offset,
                                .timestamp = v.timestamp,
                                .key = r->key,
                                .key_size = v.key_size,
                                .nframes = v.nframes};
        nframes += v.nframes;
        bytes += v.len;
        at += v.len;
        off++;
    }
    sinew_log_frame *f = b->frames; /* frames may have moved while growing */
    for (size_t i = 0; i < b->n; i++) {
        b->recs[i].frames = f;
        f += b->recs[i].nframes;
    }
    b->viewed = true;
    b->next = off;
    b->hint_log = log;
    b->hint_base = rp->seg->base;
    b->hint_off = off;
    b->hint_pos = pos + at;
    return 0;
fallback:
    b->n = 0;
    batch_unmap(b);
    return 1;
}

/* Reads whole records [from, ...) of one segment into the batch with one pread (a
 * second one only for a record larger than the first read). -EAGAIN when the bytes do
 * not match what the index promised: the caller then validates the segment. */
static int
read_segment(sn_log *log, sinew_log_batch *b, const struct read_plan *rp, int fd,
             uint64_t from, size_t max_records, size_t max_bytes)
{
    uint64_t pos = rp->pos, off = rp->off;
    size_t want = read_span(log, rp, pos, max_bytes);
    if (want >= sn_log_read_map_min) {
        int rc = read_mapped(log, b, rp, fd, from, max_records, max_bytes);
        if (rc <= 0)
            return rc;
    }
    if (grow((void **)&b->buf, &b->cap, want, 1) < 0)
        return -ENOMEM;
    int64_t got = sn_log_io_pread(fd, b->buf, want, pos);
    if (got < 0)
        return (int)got;
    size_t n = (size_t)got, at = 0, bytes = 0;
    while (b->n < max_records && pos + at < rp->end) {
        const sn_log_damage *d = NULL;
        for (size_t i = 0; i < rp->ndamage; i++)
            if (b->damage[i].pos == pos + at)
                d = &b->damage[i];
        if (d) {
            if (b->n > 0)
                break; /* the caller's next read reports it */
            at += (size_t)(d->end - d->pos);
            off = d->after;
            if (at > n) { /* continue past the damage with a fresh read */
                pos += at;
                at = n = 0;
                if (pos >= rp->end)
                    break;
                if (rp->end - pos < want)
                    want = (size_t)(rp->end - pos);
                if ((got = sn_log_io_pread(fd, b->buf, want, pos)) < 0)
                    return (int)got;
                n = (size_t)got;
            }
            continue;
        }
        sn_log_rec_view v;
        int rc = sn_log_record_peek(b->buf + at, n - at, log->opt.max_record_bytes, &v);
        if (rc == 0 && v.offset != off)
            return -EAGAIN;
        if (rc == -EBADMSG || (rc == 0 && pos + at + v.len > rp->end))
            return -EAGAIN;
        if (rc == -EAGAIN || at + v.len > n) {
            if (b->n > 0)
                break;
            /* Move the partial record to the front and read the rest of it. */
            memmove(b->buf, b->buf + at, n - at);
            pos += at;
            n -= at;
            at = 0;
            size_t need = rc == 0 ? v.len : SN_LOG_REC_FIXED;
            if (need < want)
                need = want;
            if (need > rp->end - pos)
                need = (size_t)(rp->end - pos);
            if (need <= n || grow((void **)&b->buf, &b->cap, need, 1) < 0)
                return need <= n ? -EAGAIN : -ENOMEM;
            if ((got = sn_log_io_pread(fd, b->buf + n, need - n, pos + n)) < 0)
                return (int)got;
            if (got == 0)
                return -EAGAIN;
            n += (size_t)got;
            continue;
        }
        int admit = batch_admit(b, b->buf + at, &v, off, from, bytes, max_bytes);
        if (admit < 0)
            return admit;
        if (admit == REC_STOP)
            break;
        if (admit == REC_SKIP) {
            at += v.len;
            off++;
            continue;
        }
        if (grow((void **)&b->slots, &b->slot_cap, b->n + 1, sizeof *b->slots) < 0)
            return -ENOMEM;
        b->slots[b->n++] = (struct slot){at, v};
        bytes += v.len;
        at += v.len;
        off++;
    }
    b->data = b->buf; /* where it ended up: a large record may have moved it */
    b->next = off;
    b->hint_log = log;
    b->hint_base = rp->seg->base;
    b->hint_off = off;
    b->hint_pos = pos + at;
    return 0;
}

/* Turns the slots of a filled batch into records; the buffer no longer moves. */
static int
finish_batch(sinew_log_batch *b)
{
    if (b->viewed)
        return 0;
    size_t nframes = 0;
    for (size_t i = 0; i < b->n; i++)
        nframes += b->slots[i].v.nframes;
    if (grow((void **)&b->frames, &b->frame_cap, nframes, sizeof *b->frames) < 0)
        return -ENOMEM;
    if (grow((void **)&b->recs, &b->rec_cap, b->n, sizeof *b->recs) < 0)
        return -ENOMEM;
    sinew_log_frame *f = b->frames;
    for (size_t i = 0; i < b->n; i++) {
        const struct slot *s = &b->slots[i];
        sinew_log_record *r = &b->recs[i];
        sn_log_record_views(b->data + s->at, &s->v, f, &r->key);
        r->offset = s->v.offset;
        r->timestamp = s->v.timestamp;
        r->key_size = s->v.key_size;
        r->frames = f;
        r->nframes = s->v.nframes;
        f += s->v.nframes;
    }
    return 0;
}

/* Plans a read of offset `from`: finds its segment and start position. Holds mu.
 * Returns 1 with a referenced segment, 0 at the end of the log, or -errno. */
static int
plan_read(sn_log *log, sinew_log_batch *b, uint64_t from, struct read_plan *rp)
{
    uint64_t earliest = log->segs[0]->base;
    if (from < earliest) {
        b->next = earliest;
        return -SINEW_LOG_EGONE;
    }
    if (from >= log->next) {
        b->next = log->next;
        return from == log->next ? 0 : -ERANGE;
    }
    size_t lo = 0, hi = log->nsegs; /* last segment with base <= from */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (log->segs[mid]->base <= from)
            lo = mid;
        else
            hi = mid;
    }
    sn_log_segment *seg = log->segs[lo];
    const sn_log_damage *d = sn_log_segment_damage_at(seg, from);
    if (d) {
        b->next = d->after;
        return -EBADMSG;
    }
    if (grow((void **)&b->damage, &b->damage_cap, seg->ndamage, sizeof *b->damage) < 0)
        return -ENOMEM;
    if (seg->ndamage)
        memcpy(b->damage, seg->damage, seg->ndamage * sizeof *b->damage);
    *rp = (struct read_plan){.seg = seg,
                             .end = seg->size,
                             .ndamage = seg->ndamage,
                             .scanned = seg->scanned,
                             .limit = lo + 1 < log->nsegs ? log->segs[lo + 1]->base
                                                          : UINT64_MAX};
    rp->hinted = b->hint_log == log && b->hint_base == seg->base && b->hint_off == from;
    if (rp->hinted) {
        rp->pos = b->hint_pos;
        rp->off = from;
    } else {
        const sn_log_index_entry *e =
            sn_log_index_floor(&seg->index, (uint32_t)(from - seg->base));
        rp->pos = e ? e->pos : SN_LOG_FILE_HDR;
        rp->off = e ? seg->base + e->rel : seg->base;
    }
    sn_log_segment_ref(seg);
    return 1;
}

int
sinew_log_read(sinew_log *pub, uint64_t offset, size_t max_records, size_t max_bytes,
               sinew_log_batch *b)
{
    if (!pub || !b || max_records == 0)
        return fail(-EINVAL);
    sn_log *log = &pub->l;
    b->n = 0;
    bool rescanned = false;
    for (;;) {
        struct read_plan rp;
        batch_unmap(b); /* the previous read's records are gone */
        pthread_mutex_lock(&log->mu);
        int rc = plan_read(log, b, offset, &rp);
        pthread_mutex_unlock(&log->mu);
        if (rc <= 0)
            return rc < 0 ? fail(rc) : 0;
        int fd = sn_log_file_get(rp.seg);
        if (fd < 0) {
            sn_log_segment_unref(rp.seg);
            return fail(fd);
        }
        rc = read_segment(log, b, &rp, fd, offset, max_records, max_bytes);
        sn_log_file_put(rp.seg);
        if (rc == -EAGAIN && rp.hinted) {
            /* A stale hint (e.g. a batch kept across a reopen): retry from the index. */
            b->n = 0;
            b->hint_log = NULL;
            sn_log_segment_unref(rp.seg);
            continue;
        }
        if (rc == -EAGAIN && !rp.scanned && !rescanned) {
            /* The segment was trusted from its index: validate it, then retry. */
            b->n = 0;
            b->hint_log = NULL;
            rescanned = true;
            rc = sn_log_recover_segment(log, rp.seg, rp.limit);
            sn_log_segment_unref(rp.seg);
            if (rc < 0)
                return fail(rc);
            continue;
        }
        if (rc == -EAGAIN) {
            sn_log_message(log, "segment %llu changed under a read",
                           (unsigned long long)rp.seg->base);
            rc = -EIO;
        }
        sn_log_segment_unref(rp.seg);
        if (rc == 0)
            rc = finish_batch(b);
        if (rc < 0) {
            b->n = 0;
            return fail(rc);
        }
        return (int)b->n;
    }
}

int
sinew_log_wait(sinew_log *pub, uint64_t offset, int timeout_ms)
{
    if (!pub)
        return fail(-EINVAL);
    sn_log *log = &pub->l;
    int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    struct timespec ts = {deadline / 1000, (deadline % 1000) * 1000000};
    pthread_mutex_lock(&log->mu);
    int rc = 0;
    while (log->next <= offset && !log->stopping && rc != ETIMEDOUT && timeout_ms != 0)
        rc = timeout_ms < 0 ? pthread_cond_wait(&log->data_cv, &log->mu)
                            : pthread_cond_timedwait(&log->data_cv, &log->mu, &ts);
    bool ready = log->next > offset;
    pthread_mutex_unlock(&log->mu);
    return ready ? 0 : fail(-EAGAIN);
}

int
sinew_log_seek_time(sinew_log *pub, int64_t timestamp, uint64_t *offset)
{
    if (!pub || !offset)
        return fail(-EINVAL);
    sn_log *log = &pub->l;
    uint64_t from = UINT64_MAX;
    pthread_mutex_lock(&log->mu);
    /* The first segment whose newest timestamp reaches the target holds the answer;
     * its time index says where to start walking. */
    for (size_t i = 0; i < log->nsegs && from == UINT64_MAX; i++) {
        const sn_log_segment *seg = log->segs[i];
        if (seg->max_ts >= timestamp) {
            const sn_log_index_entry *e = sn_log_index_time_floor(&seg->index, timestamp);
            from = e ? seg->base + e->rel : seg->base;
        }
    }
    uint64_t end = log->next;
    pthread_mutex_unlock(&log->mu);
    if (from == UINT64_MAX) {
        *offset = end;
        return 0;
    }
    sinew_log_batch *b = sinew_log_batch_new();
    if (!b)
        return -1;
    int rc;
    /* Each round moves forward by at least one offset, so this ends. */
    while ((rc = sinew_log_read(pub, from, 256, 1u << 20, b)) != 0) {
        if (rc < 0 && errno != EBADMSG)
            break;
        for (int i = 0; i < rc; i++)
            if (b->recs[i].timestamp >= timestamp) {
                *offset = b->recs[i].offset;
                sinew_log_batch_free(b);
                return 0;
            }
        from = b->next;
    }
    if (rc == 0)
        *offset = b->next;
    int err = errno;
    sinew_log_batch_free(b);
    errno = err;
    return rc == 0 ? 0 : -1;
}

uint64_t
sinew_log_earliest(sinew_log *pub)
{
    if (!pub)
        return 0;
    pthread_mutex_lock(&pub->l.mu);
    uint64_t v = pub->l.segs[0]->base;
    pthread_mutex_unlock(&pub->l.mu);
    return v;
}

uint64_t
sinew_log_next(sinew_log *pub)
{
    if (!pub)
        return 0;
    pthread_mutex_lock(&pub->l.mu);
    uint64_t v = pub->l.next;
    pthread_mutex_unlock(&pub->l.mu);
    return v;
}

int
sinew_log_stat_get(sinew_log *pub, sinew_log_stat *st)
{
    if (!pub || !st)
        return fail(-EINVAL);
    sn_log *log = &pub->l;
    pthread_mutex_lock(&log->mu);
    *st = (sinew_log_stat){.earliest = log->segs[0]->base,
                           .next = log->next,
                           .durable = log->durable,
                           .segments = log->nsegs,
                           .damaged_records = log->damaged,
                           .truncated_bytes = log->truncated};
    for (size_t i = 0; i < log->nsegs; i++)
        st->bytes += log->segs[i]->size;
    pthread_mutex_unlock(&log->mu);
    return 0;
}

int
sinew_log_retain(sinew_log *pub)
{
    if (!pub)
        return fail(-EINVAL);
    /* append_mu keeps a roll from changing the segment list under the deletion. */
    pthread_mutex_lock(&pub->l.append_mu);
    apply_retention(&pub->l);
    pthread_mutex_unlock(&pub->l.append_mu);
    return 0;
}

int
sinew_log_commit(sinew_log *pub, const char *consumer, uint64_t offset)
{
    if (!pub || !consumer)
        return fail(-EINVAL);
    int rc = sn_log_offsets_commit(&pub->l.offsets, consumer, offset);
    return rc < 0 ? fail(rc) : 0;
}

int
sinew_log_fetch(sinew_log *pub, const char *consumer, uint64_t *offset)
{
    if (!pub || !consumer || !offset)
        return fail(-EINVAL);
    int rc = sn_log_offsets_fetch(&pub->l.offsets, consumer, offset);
    return rc < 0 ? fail(rc) : 0;
}

const char *
sinew_log_strerror(int errnum)
{
    switch (errnum) {
    case SINEW_LOG_ENOTLOG:
        return "Directory is not a sinew log";
    case SINEW_LOG_EVERSION:
        return "Log written by a newer format version";
    case SINEW_LOG_EGONE:
        return "Offset deleted by retention (read from sinew_log_earliest)";
    default:
        return strerror(errnum);
    }
}
