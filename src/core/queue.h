/* A single-producer/single-consumer message queue with a high-water mark.
 *
 * One thread writes, one thread reads, no lock. Messages are stored in linked chunks;
 * the writer batches writes and publishes them with one atomic exchange, and each side
 * learns that the other went to sleep from a bit packed into the same word it updates,
 * so a wake-up is requested only when the other side really sleeps:
 *
 *   pub = (parts published << 1) | reader_asleep   written by the writer (xchg), armed
 *                                                    by the reader (CAS) when it runs dry
 *   ack = (messages consumed << 1) | writer_waiting  written by the reader, armed by the
 *                                                    writer when it hits the HWM
 *
 * The HWM counts whole messages (a multipart message is one). Parts of a multipart
 * message are published together, so a reader never sees half a message. */
#ifndef SINEW_CORE_QUEUE_H
#define SINEW_CORE_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/msg.h"

#define SN_QUEUE_CHUNK 127
#define SN_CACHELINE 64

/* Chunks and the queue itself are cache-line aligned (allocate them so): a message then
 * spans one line, and the two sides' fields never share one. */
typedef struct sn_queue_chunk {
    sn_msg msgs[SN_QUEUE_CHUNK];
    _Alignas(SN_CACHELINE) struct sn_queue_chunk *next;
} sn_queue_chunk;

typedef struct sn_queue {
    /* Writer thread only. */
    _Alignas(SN_CACHELINE) sn_queue_chunk *wchunk;
    unsigned wpos;
    uint64_t wparts;      /* parts written */
    uint64_t wpublished;  /* parts published */
    uint64_t wmsgs;       /* complete messages written */
    uint64_t wacked;      /* last consumed count seen in ack */
    sn_queue_chunk *wmsg_chunk; /* where the message being written began (rollback) */
    unsigned wmsg_pos;
    uint64_t wmsg_parts;

    _Alignas(SN_CACHELINE) _Atomic uint64_t pub;
    _Alignas(SN_CACHELINE) _Atomic uint64_t ack;

    /* Reader thread only. */
    _Alignas(SN_CACHELINE) sn_queue_chunk *rchunk;
    unsigned rpos;
    uint64_t rparts;  /* parts consumed */
    uint64_t ravail;  /* parts known published */
    uint64_t rmsgs;   /* complete messages consumed */
    uint64_t racked;  /* rmsgs value last stored in ack */
    bool rwake;       /* the writer waits for room: the pipe layer owes it a wake-up */

    /* Shared: spare is written once per chunk, hwm almost never. */
    _Alignas(SN_CACHELINE) _Atomic(sn_queue_chunk *) spare; /* one recycled chunk */
    _Alignas(SN_CACHELINE) _Atomic uint64_t hwm; /* messages; 0 = no limit. Changed by
                                                    sn_queue_set_hwm, from either side. */

    /* SINEW_CONFLATE (sn_queue_conflate, before either side uses the queue): the queue
     * holds one message, the latest written, boxed in `latest` and swapped atomically;
     * no HWM. Multipart messages are not supported (libzmq neither): a part replaces
     * the one before, so the last part is what stays. */
    bool conflate;
    _Alignas(SN_CACHELINE) _Atomic(sn_msg *) latest;
    atomic_bool reader_asleep;
} sn_queue;

int sn_queue_init(sn_queue *q, uint64_t hwm);   /* -ENOMEM */
/* Makes q a conflating queue (see conflate above); before anyone uses it. */
void sn_queue_conflate(sn_queue *q);
/* Closes every message still queued; returns how many application messages that was
 * (an unfinished one counts; subscription and command parts do not): lost messages. */
uint64_t sn_queue_fini(sn_queue *q);

/* Writer side. check_write: true if a new message may be started; when false it has
 * armed writer_waiting, so the reader will report the queue falling to the low-water
 * mark. write: takes msg (msg becomes empty); -ENOMEM if no chunk could be allocated;
 * 1 if a conflating queue discarded an unread message for it (the writer counts it).
 * flush: publishes; true if the reader was asleep and must be woken. */
bool sn_queue_check_write(sn_queue *q);
int sn_queue_write(sn_queue *q, sn_msg *msg);
bool sn_queue_flush(sn_queue *q);
/* Writer side: discards the parts of an unfinished message (written with MORE and no
 * last part yet), which were never published. Returns how many parts went. */
size_t sn_queue_rollback(sn_queue *q);

/* Either side: a new limit (0 = none), for new messages; queued ones stay. A writer
 * that waits for room under the old limit is not told: see writer_release. */
void sn_queue_set_hwm(sn_queue *q, uint64_t hwm);
/* Reader side, after set_hwm raised the limit: disarms writer_waiting; true if it was
 * armed, and then the caller wakes the writer (which re-arms if still full). Race-free
 * against a writer arming at the same time: it looks at the limit again after arming. */
bool sn_queue_writer_release(sn_queue *q);

/* Reader side. check_read: true if a message is available; when false it has armed
 * reader_asleep, so the next flush reports it. read: -EAGAIN (and armed) if empty, else
 * 0 with the part in msg. After either, rwake set means the writer waited for room and
 * has it now: the caller clears rwake and wakes the writer. */
bool sn_queue_check_read(sn_queue *q);
int sn_queue_read(sn_queue *q, sn_msg *msg);
/* Like read, but the consumed count is published only by read_end (or when the queue
 * runs dry): a reader taking many messages at once then touches the line the writer
 * watches once, not once per message. Call read_end after the burst. */
int sn_queue_read_burst(sn_queue *q, sn_msg *msg);
void sn_queue_read_end(sn_queue *q);

/* Depth, for the counters (not synchronisation). depth_out, writer side: messages
 * written and not yet consumed, as far as the reader has reported. depth_in, reader
 * side: published messages not yet read; it walks them, so it costs their number. */
uint64_t sn_queue_depth_out(sn_queue *q);
uint64_t sn_queue_depth_in(sn_queue *q);

#endif /* SINEW_CORE_QUEUE_H */
