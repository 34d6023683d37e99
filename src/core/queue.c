/* SPSC queue: see queue.h for the protocol. Memory ordering: the writer's xchg on pub
 * releases the slots it publishes; the reader's acquire load (or failed CAS) of pub makes
 * them visible. The same holds for ack in the other direction (release of consumed
 * slots is not needed: the writer never reuses a slot, chunks come back via spare). */
#include <stdlib.h>
#include <string.h>

#include "core/queue.h"

static sn_queue_chunk *
chunk_new(sn_queue *q)
{
    sn_queue_chunk *c = atomic_exchange_explicit(&q->spare, NULL, memory_order_acquire);
    if (c == NULL)
        c = aligned_alloc(SN_CACHELINE, sizeof *c);
    if (c != NULL)
        c->next = NULL;
    return c;
}

int
sn_queue_init(sn_queue *q, uint64_t hwm)
{
    memset(q, 0, sizeof *q);
    sn_queue_chunk *c = aligned_alloc(SN_CACHELINE, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    c->next = NULL;
    q->wchunk = q->rchunk = q->wmsg_chunk = c;
    atomic_init(&q->pub, 0);
    atomic_init(&q->ack, 0);
    atomic_init(&q->spare, NULL);
    atomic_init(&q->hwm, hwm);
    atomic_init(&q->latest, NULL);
    atomic_init(&q->reader_asleep, false);
    return 0;
}

/* An application message's last part (or an unfinished message's latest): subscriptions
 * and commands travel as parts too, but are no message to count as lost. */
static bool
counts_as_message(const sn_msg *m, bool last)
{
    return (!sn_msg_more(m) || last) &&
           (m->flags & (SN_MSG_COMMAND | SN_MSG_SUBSCRIBE | SN_MSG_CANCEL)) == 0;
}

void
sn_queue_conflate(sn_queue *q)
{
    q->conflate = true;
}

/* ---- conflating queues: one boxed message, swapped; the reader sleeps on a flag ---- */

static int
conflate_write(sn_queue *q, sn_msg *msg)
{
    sn_msg *box = malloc(sizeof *box);
    if (box == NULL)
        return -ENOMEM;
    *box = *msg;
    box->flags &= (uint8_t) ~SN_MSG_MORE;
    sn_msg_init(msg);
    q->wparts++;
    sn_msg *old = atomic_exchange_explicit(&q->latest, box, memory_order_acq_rel);
    if (old == NULL)
        return 0;
    sn_msg_close(old);
    free(old);
    return 1;
}

static bool
conflate_flush(sn_queue *q)
{
    if (q->wpublished == q->wparts)
        return false;
    q->wpublished = q->wparts;
    return atomic_exchange_explicit(&q->reader_asleep, false, memory_order_seq_cst);
}

/* Arms reader_asleep when empty; seq_cst against conflate_flush: either the writer sees
 * the flag or we see its message. */
static bool
conflate_check_read(sn_queue *q)
{
    if (atomic_load_explicit(&q->latest, memory_order_acquire) != NULL)
        return true;
    atomic_store_explicit(&q->reader_asleep, true, memory_order_seq_cst);
    return atomic_load_explicit(&q->latest, memory_order_seq_cst) != NULL;
}

static int
conflate_read(sn_queue *q, sn_msg *msg)
{
    sn_msg *box = atomic_exchange_explicit(&q->latest, NULL, memory_order_acq_rel);
    if (box == NULL) {
        if (!conflate_check_read(q))
            return -EAGAIN;
        box = atomic_exchange_explicit(&q->latest, NULL, memory_order_acq_rel);
        if (box == NULL)
            return -EAGAIN; /* cannot happen: only we take it */
    }
    *msg = *box;
    free(box);
    q->rparts++;
    q->rmsgs++;
    return 0;
}

uint64_t
sn_queue_fini(sn_queue *q)
{
    /* Every part ever written, published or not, is closed exactly once. */
    uint64_t lost = 0;
    sn_msg *box = atomic_load(&q->latest);
    if (box != NULL) {
        lost += counts_as_message(box, true);
        sn_msg_close(box);
        free(box);
    }
    sn_queue_chunk *c = q->rchunk;
    unsigned pos = q->rpos;
    for (uint64_t n = q->rparts; !q->conflate && n < q->wparts; n++) {
        if (pos == SN_QUEUE_CHUNK) {
            c = c->next;
            pos = 0;
        }
        lost += counts_as_message(&c->msgs[pos], n + 1 == q->wparts);
        sn_msg_close(&c->msgs[pos++]);
    }
    while (q->rchunk != NULL) {
        sn_queue_chunk *next = q->rchunk->next;
        free(q->rchunk);
        q->rchunk = next;
    }
    free(atomic_load(&q->spare));
    return lost;
}

static uint64_t
lwm_of(uint64_t hwm)
{
    return hwm / 2;
}

bool
sn_queue_check_write(sn_queue *q)
{
    if (q->conflate)
        return true;
    uint64_t hwm = atomic_load_explicit(&q->hwm, memory_order_relaxed);
    if (hwm == 0 || q->wmsgs - q->wacked < hwm)
        return true;
    uint64_t a = atomic_load_explicit(&q->ack, memory_order_acquire);
    for (;;) {
        q->wacked = a >> 1;
        if (q->wmsgs - q->wacked < hwm)
            return true;
        if (a & 1)
            break;
        if (atomic_compare_exchange_weak_explicit(&q->ack, &a, a | 1,
                                                  memory_order_seq_cst,
                                                  memory_order_acquire))
            break;
    }
    /* Waiting (the bit is armed). The limit may have been raised meanwhile: look again,
     * after arming. Either the reader's side sees the bit (sn_queue_writer_release, after
     * its store of the new limit) and wakes us, or we see the new limit here. */
    hwm = atomic_load_explicit(&q->hwm, memory_order_seq_cst);
    return hwm == 0 || q->wmsgs - q->wacked < hwm;
}

void
sn_queue_set_hwm(sn_queue *q, uint64_t hwm)
{
    atomic_store_explicit(&q->hwm, hwm, memory_order_seq_cst);
}

bool
sn_queue_writer_release(sn_queue *q)
{
    uint64_t a = atomic_fetch_and_explicit(&q->ack, ~(uint64_t) 1, memory_order_seq_cst);
    return (a & 1) != 0;
}

int
sn_queue_write(sn_queue *q, sn_msg *msg)
{
    if (q->conflate)
        return conflate_write(q, msg);
    if (q->wpos == SN_QUEUE_CHUNK) {
        sn_queue_chunk *c = chunk_new(q);
        if (c == NULL)
            return -ENOMEM;
        q->wchunk->next = c;
        q->wchunk = c;
        q->wpos = 0;
    }
    q->wchunk->msgs[q->wpos++] = *msg;
    q->wparts++;
    if (!sn_msg_more(msg)) {
        q->wmsgs++;
        q->wmsg_chunk = q->wchunk;
        q->wmsg_pos = q->wpos;
        q->wmsg_parts = q->wparts;
    }
    sn_msg_init(msg);
    return 0;
}

size_t
sn_queue_rollback(sn_queue *q)
{
    if (q->conflate)
        return 0; /* parts are never held back */
    size_t n = (size_t) (q->wparts - q->wmsg_parts);
    /* Unpublished: the reader never looks past the published parts, so the parts and
     * any chunk added for them are the writer's alone. */
    sn_queue_chunk *c = q->wmsg_chunk;
    unsigned pos = q->wmsg_pos;
    for (size_t i = 0; i < n; i++) {
        if (pos == SN_QUEUE_CHUNK) {
            c = c->next;
            pos = 0;
        }
        sn_msg_close(&c->msgs[pos++]);
    }
    for (c = q->wmsg_chunk->next; c != NULL;) {
        sn_queue_chunk *next = c->next;
        free(c);
        c = next;
    }
    q->wmsg_chunk->next = NULL;
    q->wchunk = q->wmsg_chunk;
    q->wpos = q->wmsg_pos;
    q->wparts = q->wmsg_parts;
    return n;
}

bool
sn_queue_flush(sn_queue *q)
{
    if (q->conflate)
        return conflate_flush(q);
    if (q->wpublished == q->wparts)
        return false;
    q->wpublished = q->wparts;
    uint64_t old = atomic_exchange_explicit(&q->pub, q->wparts << 1, memory_order_acq_rel);
    return (old & 1) != 0;
}

/* Publish the consumed count after every complete message (and when the queue runs
 * dry), so a writer at its limit never waits on a stale count. The exchange also tells
 * us whether the writer armed its waiting bit meanwhile. A waiting writer keeps its bit
 * until the queue falls to the low-water mark, so it is woken once per refill, not once
 * per message. */
static void
ack_update(sn_queue *q, bool drained)
{
    uint64_t a = atomic_load_explicit(&q->ack, memory_order_relaxed);
    if ((a & 1) == 0) {
        if (q->rmsgs == q->racked)
            return;
        q->racked = q->rmsgs;
        a = atomic_exchange_explicit(&q->ack, q->rmsgs << 1, memory_order_acq_rel);
        if (a & 1)
            q->rwake = true; /* it armed just now: let it look again */
        return;
    }
    uint64_t lwm = lwm_of(atomic_load_explicit(&q->hwm, memory_order_relaxed));
    /* The writer waits for the low-water mark. What this side knows was published may
     * be old (it looks again only when it runs out): look now before calling the queue
     * low, or a writer that refilled it would be woken again for every message read. */
    if (!drained && q->ravail - q->rparts <= lwm)
        q->ravail = atomic_load_explicit(&q->pub, memory_order_acquire) >> 1;
    bool keep;
    for (;;) {
        keep = (a & 1) && !drained && q->ravail - q->rparts > lwm;
        if (atomic_compare_exchange_weak_explicit(&q->ack, &a, (q->rmsgs << 1) | keep,
                                                  memory_order_acq_rel,
                                                  memory_order_relaxed))
            break;
    }
    q->racked = q->rmsgs;
    if ((a & 1) && !keep)
        q->rwake = true;
}

bool
sn_queue_check_read(sn_queue *q)
{
    if (q->conflate)
        return conflate_check_read(q);
    if (q->rparts < q->ravail)
        return true;
    uint64_t p = atomic_load_explicit(&q->pub, memory_order_acquire);
    q->ravail = p >> 1;
    if (q->rparts < q->ravail)
        return true;
    ack_update(q, true);
    if (p & 1)
        return false;
    if (atomic_compare_exchange_strong_explicit(&q->pub, &p, p | 1, memory_order_acq_rel,
                                                memory_order_acquire))
        return false;
    q->ravail = p >> 1; /* the writer published meanwhile */
    return q->rparts < q->ravail;
}

static int
read_one(sn_queue *q, sn_msg *msg, bool ack)
{
    if (q->conflate)
        return conflate_read(q, msg);
    if (!sn_queue_check_read(q))
        return -EAGAIN;
    if (q->rpos == SN_QUEUE_CHUNK) {
        sn_queue_chunk *old = q->rchunk;
        q->rchunk = old->next;
        q->rpos = 0;
        free(atomic_exchange_explicit(&q->spare, old, memory_order_acq_rel));
    }
    *msg = q->rchunk->msgs[q->rpos++];
    q->rparts++;
    if (!sn_msg_more(msg)) {
        q->rmsgs++;
        if (ack)
            ack_update(q, false);
    }
    return 0;
}

int
sn_queue_read(sn_queue *q, sn_msg *msg)
{
    return read_one(q, msg, true);
}

int
sn_queue_read_burst(sn_queue *q, sn_msg *msg)
{
    return read_one(q, msg, false);
}

void
sn_queue_read_end(sn_queue *q)
{
    if (q->conflate)
        return;
    ack_update(q, false);
}

uint64_t
sn_queue_depth_out(sn_queue *q)
{
    if (q->conflate)
        return atomic_load(&q->latest) != NULL;
    return q->wmsgs - (atomic_load_explicit(&q->ack, memory_order_acquire) >> 1);
}

uint64_t
sn_queue_depth_in(sn_queue *q)
{
    if (q->conflate)
        return atomic_load(&q->latest) != NULL;
    uint64_t avail = atomic_load_explicit(&q->pub, memory_order_acquire) >> 1;
    uint64_t n = 0;
    sn_queue_chunk *c = q->rchunk;
    unsigned pos = q->rpos;
    for (uint64_t i = q->rparts; i < avail; i++) {
        if (pos == SN_QUEUE_CHUNK) {
            c = c->next;
            pos = 0;
        }
        n += !sn_msg_more(&c->msgs[pos++]); /* published parts end on a message boundary */
    }
    return n;
}
