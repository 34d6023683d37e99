/* Internal contracts of the log engine: the modules of src/log and the shared structs.
 * Internal functions return 0 (or a count) on success and -errno on failure; only the
 * public functions of log.c set errno. Nothing here is exported from libsinew. */
#ifndef SN_LOG_INTERNAL_H
#define SN_LOG_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "sinew_log.h"

#define SN_LOG_VERSION 1
#define SN_LOG_FILE_HDR 24    /* header of segment and index files, see record.c */
#define SN_LOG_REC_FIXED 32   /* fixed part of a record header, see record.c */
#define SN_LOG_INDEX_ENTRY 20 /* one index entry on disk, see index.c */
#define SN_LOG_MAX_RECORD (1u << 30)
/* Offsets past a segment's base, and bytes, that its 32-bit index entries can hold. */
#define SN_LOG_SEG_SPAN (UINT64_C(1) << 32)

/* ---- crc32c.c: CRC-32C (Castagnoli), hardware accelerated where the CPU has it.
 * Pure; callable from any thread. Pass 0 as crc to start. */
uint32_t sn_log_crc32c(uint32_t crc, const void *data, size_t len);

/* ---- record.c: the on-disk formats of records and of file headers. Pure functions. */
typedef struct sn_log_rec_view {
    uint64_t offset;
    int64_t timestamp;
    uint32_t len; /* whole record, header included */
    uint32_t key_size;
    uint32_t nframes;
} sn_log_rec_view;

/* Bytes of the record header for nframes frames (fixed part plus frame lengths). */
size_t sn_log_record_header_size(size_t nframes);
/* Fills hdr (sn_log_record_header_size bytes) for the entry and computes the CRC over
 * header, key and frames. Returns the record's total length, or -EMSGSIZE when it would
 * exceed max_len. */
int64_t sn_log_record_encode(uint8_t *hdr, uint64_t offset, const sinew_log_entry *e,
                             uint32_t max_len);
/* Decodes the fixed header at p. -EAGAIN if avail < SN_LOG_REC_FIXED, -EBADMSG when
 * the lengths cannot belong to a record (len out of [header, max_len], no frames). */
int sn_log_record_peek(const uint8_t *p, size_t avail, uint32_t max_len,
                       sn_log_rec_view *v);
/* Checks a whole record held in memory (v->len bytes at p): frame lengths add up and the
 * CRC matches. 0 or -EBADMSG. */
int sn_log_record_check(const uint8_t *p, const sn_log_rec_view *v);
/* Points frames[0..v->nframes) and *key into the checked record at p. */
void sn_log_record_views(const uint8_t *p, const sn_log_rec_view *v,
                         sinew_log_frame *frames, const void **key);
/* File header shared by segments and index files: magic, version, base offset. */
void sn_log_filehdr_encode(uint8_t *p, const char magic[8], uint64_t base);
/* 0, -EBADMSG (wrong magic or CRC), -SINEW_LOG_EVERSION (newer intact header). */
int sn_log_filehdr_decode(const uint8_t *p, const char magic[8], uint64_t *base);
void sn_log_put32(uint8_t *p, uint32_t v);
void sn_log_put64(uint8_t *p, uint64_t v);
uint32_t sn_log_get32(const uint8_t *p);
uint64_t sn_log_get64(const uint8_t *p);

/* ---- io.c: whole-buffer file I/O that retries on EINTR and short transfers. */
/* Reads up to len bytes at off; returns the count (short only at end of file). */
int64_t sn_log_io_pread(int fd, void *buf, size_t len, uint64_t off);
/* Writes every byte of iov at off (iov is consumed). 0 or -errno. */
int sn_log_io_pwritev(int fd, struct iovec *iov, int iovcnt, uint64_t off);
int sn_log_io_fsync_dir(int dirfd);
/* Replaces name in dirfd with buf atomically and durably: a crash leaves either the
 * old or the new content (temp file, fsync, rename, fsync of the directory). */
int sn_log_io_write_atomic(int dirfd, const char *name, const void *buf, size_t len);
/* Reads a whole file into a malloc'd buffer (*buf owned by the caller). */
int sn_log_io_read_file(int dirfd, const char *name, uint8_t **buf, size_t *len);

/* ---- index.c: the sparse offset and time index of one segment. An entry is added for
 * a segment's first record and then for the first record starting at least `interval`
 * bytes after the previous entry; ts is the largest timestamp up to that record. The
 * in-memory copy is authoritative; the file is written when a segment is sealed and at
 * close, and rebuilt from the segment whenever it is missing or damaged. Callers hold
 * the log mutex when the index is shared with readers. */
typedef struct sn_log_index_entry {
    uint32_t rel; /* offset - segment base */
    uint32_t pos; /* byte position of the record in the segment file */
    int64_t ts;   /* largest timestamp of the records up to and including this one */
} sn_log_index_entry;

typedef struct sn_log_index {
    sn_log_index_entry *v;
    size_t n, cap;
} sn_log_index;

int sn_log_index_push(sn_log_index *ix, uint32_t rel, uint32_t pos, int64_t ts);
/* Whether a record at pos, after the last entry, gets an entry of its own. */
bool sn_log_index_due(const sn_log_index *ix, uint64_t pos, uint32_t interval);
/* Entry to start a forward walk for offset base+rel, or for the first record with a
 * timestamp >= ts; NULL means from the start of the segment. */
const sn_log_index_entry *sn_log_index_floor(const sn_log_index *ix, uint32_t rel);
const sn_log_index_entry *sn_log_index_time_floor(const sn_log_index *ix, int64_t ts);
int sn_log_index_store(int dirfd, uint64_t base, const sn_log_index *ix);
/* Loads and validates the index file of a segment holding `size` bytes of records.
 * -ENOENT if absent, -EBADMSG if damaged or inconsistent (caller rebuilds). */
int sn_log_index_load(int dirfd, uint64_t base, uint64_t size, sn_log_index *ix);
void sn_log_index_free(sn_log_index *ix);
void sn_log_index_name(char name[32], uint64_t base);

/* ---- segment.c: one segment file and what is known about it. Fields marked (mu) are
 * guarded by the log mutex; the file content below `size` is immutable. A segment is
 * shared by reference count: the list holds one reference, every reader one more while
 * it reads, so retention may unlink the file under a reader. */
typedef struct sn_log_damage {
    uint64_t first, after; /* damaged offsets [first, after); may be empty (junk) */
    uint64_t pos, end;     /* damaged bytes [pos, end) of the segment file */
} sn_log_damage;

typedef struct sn_log_segment {
    uint64_t base;
    int dirfd; /* the log's directory, to reopen the file (borrowed) */
    atomic_int refs;
    /* (files.c) the descriptor cache's: see there */
    int fd; /* -1 while closed; use sn_log_file_get, or directly while held */
    int pins;
    bool held, in_lru;
    struct sn_log_segment *lru_prev, *lru_next;
    uint64_t size;         /* (mu) bytes of valid records plus the file header */
    uint64_t next;         /* (mu) offset after the last record; base when empty */
    int64_t first_ts;      /* (mu) timestamp of the first valid record */
    int64_t max_ts;        /* (mu) largest timestamp; INT64_MIN while there is none */
    sn_log_index index;    /* (mu) */
    sn_log_damage *damage; /* (mu) sorted by offset */
    size_t ndamage;        /* (mu) */
    bool scanned;          /* (mu) fully validated since the log was opened */
    bool index_dirty;      /* (mu) the index file is behind the in-memory index */
} sn_log_segment;

void sn_log_segment_name(char name[32], uint64_t base);
/* Creates a new empty segment file (exclusive) with its header; fsyncs it if sync. */
int sn_log_segment_create(int dirfd, uint64_t base, bool sync, sn_log_segment **out);
/* Opens an existing segment; *file_size gets its length. A damaged header is repaired
 * only in memory (the name gives the base); a newer version is -SINEW_LOG_EVERSION. */
int sn_log_segment_open(int dirfd, uint64_t base, sn_log_segment **out,
                        uint64_t *file_size, bool *header_damaged);
void sn_log_segment_ref(sn_log_segment *seg);
void sn_log_segment_unref(sn_log_segment *seg);
/* Unlinks the segment's files (open descriptors stay readable). */
int sn_log_segment_remove(int dirfd, uint64_t base);
/* The damage range holding offset, or NULL. Caller holds the log mutex. */
const sn_log_damage *sn_log_segment_damage_at(const sn_log_segment *seg, uint64_t offset);

/* ---- files.c: the process-wide cache of open segment descriptors (bounded, least
 * recently used closed first). Any thread; a short global mutex, never held across I/O
 * other than close(). */
/* Gives seg its freshly opened fd; hold: the segment keeps it open (active segment). */
void sn_log_file_adopt(sn_log_segment *seg, int fd, bool hold);
/* seg's descriptor, opened if needed and pinned open until sn_log_file_put. */
int sn_log_file_get(sn_log_segment *seg);
void sn_log_file_put(sn_log_segment *seg);
/* Keeps seg's descriptor open (opening it if needed) until hold(false) or the last
 * reference goes: for the active segment, and for a segment retention unlinks while a
 * reader may still need it. */
int sn_log_file_hold(sn_log_segment *seg, bool hold);
/* Closes seg's descriptor for good; called when its last reference goes. */
void sn_log_file_forget(sn_log_segment *seg);
/* Closes the least recently used idle descriptor; false if there was none. */
bool sn_log_file_shed(void);
/* openat (O_CLOEXEC added) and dup that shed idle descriptors on EMFILE or ENFILE and
 * retry. Return the descriptor or -errno. */
int sn_log_file_openat(int dirfd, const char *name, int flags, mode_t mode);
int sn_log_file_dup(int fd);
/* Sets how many idle descriptors the cache keeps (> 0); idle descriptors now. */
int sn_log_file_limit(size_t max);
size_t sn_log_file_idle(void);

/* ---- recover.c: validation of segments by a full scan, and the open-time recovery. */
typedef struct sn_log_scan {
    sn_log_index index;
    sn_log_damage *damage;
    size_t ndamage;
    uint64_t valid_end; /* byte after the last valid record (or the header) */
    uint64_t next;      /* offset after the last valid record */
    uint64_t damaged;   /* damaged offsets */
    int64_t first_ts, max_ts;
} sn_log_scan;

/* Reads and checks every record of seg's file up to file_size. Records must carry
 * dense offsets from seg->base; when one fails, the scan looks further on for a valid
 * record with a higher offset and, if it finds one, records the offsets between as
 * damage. When none follows, the bytes from the failure on are a torn tail: valid_end
 * stops there, and for a sealed segment (limit = next segment's base) the offsets up to
 * limit are recorded as damage. Blocks on disk reads; needs no lock if nobody writes
 * the scanned range. */
int sn_log_recover_scan(const sn_log_segment *seg, uint64_t file_size, uint64_t limit,
                        uint32_t interval, uint32_t max_record, sn_log_scan *out);

struct sn_log;
/* Validates a sealed segment that was trusted at open but turned out inconsistent when
 * read: scans it and installs the rebuilt index and damage list. Takes the log mutex
 * itself (call without it); blocks on disk reads. */
int sn_log_recover_segment(struct sn_log *log, sn_log_segment *seg, uint64_t limit);

/* Builds log->segs from the directory: loads or rebuilds indexes, validates every
 * segment when the log was not closed cleanly, truncates a torn tail of the last one.
 * Called once from open, before any other thread can see the log. */
int sn_log_recover_open(struct sn_log *log, bool clean);

/* ---- retention.c: which segments retention deletes. Pure. Returns how many segments
 * from the front of segs go (never the last, active, one). */
size_t sn_log_retention_pick(sn_log_segment *const *segs, size_t nsegs,
                             uint64_t retention_bytes, uint64_t retention_ms,
                             int64_t now_ms);

/* ---- offsets.c: durable named consumer positions, in one file replaced atomically.
 * Has its own mutex; commit blocks on fsync. */
typedef struct sn_log_position {
    char *name;
    uint64_t offset;
} sn_log_position;

typedef struct sn_log_offsets {
    pthread_mutex_t mu;
    int dirfd;
    sn_log_position *v;
    size_t n;
} sn_log_offsets;

int sn_log_offsets_load(sn_log_offsets *o, int dirfd);
int sn_log_offsets_commit(sn_log_offsets *o, const char *name, uint64_t offset);
int sn_log_offsets_fetch(sn_log_offsets *o, const char *name, uint64_t *offset);
void sn_log_offsets_free(sn_log_offsets *o);

/* ---- log.c: the open log. `mu` guards the segment list and every (mu) field;
 * `append_mu` serializes appenders and is held across their writes (taken before mu).
 * Only appenders (and retention, which runs under append_mu) change `next` and the
 * segment list, always holding both locks, so under append_mu alone they are stable. */
typedef struct sn_log {
    int dirfd;
    int lockfd;
    sinew_log_options opt;
    pthread_mutex_t append_mu;
    pthread_mutex_t mu;
    pthread_cond_t data_cv;  /* (mu) records appended */
    pthread_cond_t sync_cv;  /* (mu) durable advanced or a sync ended */
    pthread_cond_t flush_cv; /* (mu) wakes the group commit flusher */
    sn_log_segment **segs;   /* (mu) by base offset; the last one is active */
    size_t nsegs, cap;       /* (mu) */
    uint64_t next;           /* (mu) offset of the next append */
    uint64_t durable;        /* (mu) offsets below are on stable storage */
    uint64_t damaged;        /* (mu) damaged offsets found so far */
    uint64_t truncated;      /* bytes of torn tail cut at open */
    int64_t unsynced_since;  /* (mu) monotonic ms of the oldest unsynced append, or 0 */
    bool syncing;            /* (mu) a thread is in fdatasync for the log */
    bool stopping;           /* (mu) close asked the flusher to end */
    atomic_int failed;       /* errno of a failed fsync or rollback; appends stop */
    uint8_t small[4096];     /* (append_mu) a small record assembled for one write */
    pthread_t flusher;
    bool has_flusher;
    sn_log_offsets offsets;
} sn_log;

struct sinew_log {
    sn_log l;
};

/* Appends seg to the segment list (takes over the caller's reference). Caller holds mu
 * or is the only thread that knows the log. */
int sn_log_segs_push(sn_log *log, sn_log_segment *seg);
/* Reads of at least this many bytes map the segment instead of copying (256 KiB;
 * tests lower it to reach that path with small files). */
extern size_t sn_log_read_map_min;
/* Reports damage or repair through the message callback (or stderr). Any thread. */
void sn_log_message(const sn_log *log, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int64_t sn_log_now_ms(void);

#endif
