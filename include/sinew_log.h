/* sinew_log: an embeddable, crash-safe, segmented, append-only log with offsets.
 *
 * A log lives in one directory. Every record gets the next dense 64-bit offset and holds
 * a timestamp, an optional key and one or more frames, protected by a CRC-32C. The log
 * is usable on its own, without any socket. See sinew_log(7) for the model and for what
 * each durability policy promises after a process crash and after a power loss.
 *
 * Errors: every function returns -1 (or NULL) and sets errno; besides POSIX numbers the
 * log uses the three SINEW_LOG_E* numbers below. Thread safety: one sinew_log may be used
 * by any number of threads at once (appends are serialized inside); a sinew_log_batch
 * belongs to one thread at a time. */
#ifndef SINEW_LOG_H
#define SINEW_LOG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef SINEW_EXPORT
#if defined(__GNUC__) || defined(__clang__)
#define SINEW_EXPORT __attribute__((visibility("default")))
#else
#define SINEW_EXPORT
#endif
#endif

/* Error numbers of the log beyond POSIX, in libzmq's private range (156384712 + n). */
#define SINEW_LOG_ENOTLOG (156384712 + 300)  /* directory holds files but no log */
#define SINEW_LOG_EVERSION (156384712 + 301) /* written by a newer format version */
#define SINEW_LOG_EGONE (156384712 + 302)    /* offset deleted by retention */

/* Durability policies (sinew_log_options.durability). */
#define SINEW_LOG_SYNC_ALWAYS 0 /* append returns once its record is on disk */
#define SINEW_LOG_SYNC_GROUP 1  /* fsync every sync_records records or sync_ms ms */
#define SINEW_LOG_SYNC_OS 2     /* the kernel writes back when it likes */

/* sinew_log_options.flags */
#define SINEW_LOG_CREATE 1 /* create the directory and the log if absent */

/* sinew_log_append flags */
#define SINEW_LOG_WAIT_DURABLE 1 /* return only once the record is durable */

typedef struct sinew_log sinew_log;
typedef struct sinew_log_batch sinew_log_batch;

/* Messages about damage found and repaired, e.g. for a log file or syslog. */
typedef void(sinew_log_message_fn)(void *arg, const char *message);

typedef struct sinew_log_options {
    int flags;                 /* SINEW_LOG_CREATE */
    int durability;            /* SINEW_LOG_SYNC_*, default ALWAYS */
    uint32_t sync_records;     /* GROUP: fsync after this many records; 0 = off */
    uint32_t sync_ms;          /* GROUP: fsync this long after an append; default 10 */
    uint64_t segment_bytes;    /* roll the active segment past this size; 64 MiB */
    uint64_t segment_ms;       /* roll a segment this old (first record); 0 = never */
    uint64_t retention_bytes;  /* keep the log under this size; 0 = no limit */
    uint64_t retention_ms;     /* delete segments whose newest record is older; 0 = no */
    uint32_t index_interval;   /* bytes of records between index entries; 4096 */
    uint32_t max_record_bytes; /* largest encoded record accepted; 64 MiB, <= 1 GiB */
    sinew_log_message_fn *message_fn; /* NULL: messages go to stderr */
    void *message_arg;
} sinew_log_options;

/* One frame of a record, as given to append and as returned by reads. */
typedef struct sinew_log_frame {
    const void *data;
    size_t size;
} sinew_log_frame;

/* A record to append. timestamp is in milliseconds since the Unix epoch; 0 means now. */
typedef struct sinew_log_entry {
    int64_t timestamp;
    const void *key; /* may be NULL when key_size is 0 */
    size_t key_size;
    const sinew_log_frame *frames; /* at least one frame; frames may be empty */
    size_t nframes;
} sinew_log_entry;

/* A record read back. Its pointers stay valid until the batch is reused or freed. */
typedef struct sinew_log_record {
    uint64_t offset;
    int64_t timestamp;
    const void *key;
    size_t key_size;
    const sinew_log_frame *frames;
    size_t nframes;
} sinew_log_record;

typedef struct sinew_log_stat {
    uint64_t earliest;        /* first offset still stored */
    uint64_t next;            /* offset the next append gets */
    uint64_t durable;         /* every offset below this one is on stable storage */
    uint64_t segments;        /* segment files */
    uint64_t bytes;           /* bytes of all segment files */
    uint64_t damaged_records; /* offsets found damaged (never returned as data) */
    uint64_t truncated_bytes; /* torn tail bytes cut away when the log was opened */
} sinew_log_stat;

SINEW_EXPORT void sinew_log_options_init(sinew_log_options *options);
SINEW_EXPORT sinew_log *sinew_log_open(const char *path,
                                       const sinew_log_options *options);
SINEW_EXPORT int sinew_log_close(sinew_log *log);

SINEW_EXPORT int sinew_log_append(sinew_log *log, const sinew_log_entry *entry, int flags,
                                  uint64_t *offset);
SINEW_EXPORT int sinew_log_sync(sinew_log *log);
SINEW_EXPORT int sinew_log_wait_durable(sinew_log *log, uint64_t offset);

SINEW_EXPORT sinew_log_batch *sinew_log_batch_new(void);
SINEW_EXPORT void sinew_log_batch_free(sinew_log_batch *batch);
SINEW_EXPORT const sinew_log_record *sinew_log_batch_get(const sinew_log_batch *batch,
                                                         size_t index);
SINEW_EXPORT uint64_t sinew_log_batch_next(const sinew_log_batch *batch);
SINEW_EXPORT int sinew_log_read(sinew_log *log, uint64_t offset, size_t max_records,
                                size_t max_bytes, sinew_log_batch *batch);
SINEW_EXPORT int sinew_log_wait(sinew_log *log, uint64_t offset, int timeout_ms);
SINEW_EXPORT int sinew_log_seek_time(sinew_log *log, int64_t timestamp, uint64_t *offset);

SINEW_EXPORT uint64_t sinew_log_earliest(sinew_log *log);
SINEW_EXPORT uint64_t sinew_log_next(sinew_log *log);
SINEW_EXPORT int sinew_log_stat_get(sinew_log *log, sinew_log_stat *stat);
SINEW_EXPORT int sinew_log_retain(sinew_log *log);

SINEW_EXPORT int sinew_log_commit(sinew_log *log, const char *consumer, uint64_t offset);
SINEW_EXPORT int sinew_log_fetch(sinew_log *log, const char *consumer, uint64_t *offset);

SINEW_EXPORT const char *sinew_log_strerror(int errnum);

/* Process-wide: how many idle segment files every log of the process keeps open
 * between reads, together (default 128; the least recently used is closed first). The
 * descriptor budget is described in sinew_log(7). 0 or -1 with errno EINVAL. */
SINEW_EXPORT int sinew_log_set_max_files(size_t max_files);

#ifdef __cplusplus
}
#endif

#endif
