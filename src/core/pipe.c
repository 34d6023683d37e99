/* Pipe ends and links: queue pairs plus the notifications between their two owners. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/pipe.h"
#include "io/clock.h"

int
sn_link_new(sn_link **out, uint64_t hwm0, uint64_t hwm1)
{
    sn_link *l = aligned_alloc(SN_CACHELINE, sizeof *l); /* see sn_queue */
    if (l == NULL)
        return -ENOMEM;
    memset(l, 0, sizeof *l);
    int rc = sn_queue_init(&l->queues[0], hwm0);
    if (rc < 0)
        goto fail;
    rc = sn_queue_init(&l->queues[1], hwm1);
    if (rc < 0)
        goto fail_q0;
    for (int i = 0; i < 2; i++) {
        sn_pipe *p = &l->ends[i];
        p->sndhwm = i == 0 ? (int64_t) hwm0 : -1;
        p->rcvhwm = i == 0 ? (int64_t) hwm1 : -1;
        p->out = &l->queues[i];
        p->in = &l->queues[!i];
        p->peer = &l->ends[!i];
        p->link = l;
        p->endpoint = -1;
        atomic_init(&p->released, false);
        atomic_init(&p->owner_ops, NULL);
        atomic_init(&l->linger_deadline[i], UINT64_MAX);
        atomic_init(&l->next_peer[i], NULL);
        atomic_init(&p->io_pending, 0);
    }
    atomic_init(&l->refs, 2);
    pthread_mutex_init(&l->hwm_lock, NULL);
    pthread_mutex_init(&l->direct.lock, NULL);
    atomic_init(&l->direct.last_ns, 0);
    *out = l;
    return 0;
fail_q0:
    sn_queue_fini(&l->queues[0]);
fail:
    free(l);
    return rc;
}

void
sn_link_conflate(sn_link *l, bool q0, bool q1)
{
    if (q0)
        sn_queue_conflate(&l->queues[0]);
    if (q1)
        sn_queue_conflate(&l->queues[1]);
}

void
sn_link_ref(sn_link *l)
{
    atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
}

void
sn_link_unref(sn_link *l)
{
    if (atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* Messages nobody read are lost: they count on the socket that would have read
     * them, or, for an end no owner ever took, on the one that sent them. */
    for (int i = 0; i < 2; i++) {
        uint64_t lost = sn_queue_fini(&l->queues[i]);
        sn_stats *st = l->ends[!i].stats != NULL ? l->ends[!i].stats : l->ends[i].stats;
        if (lost > 0 && st != NULL)
            sn_stats_drop(st, SN_DROP_CONNECTION, lost);
    }
    for (int i = 0; i < 2; i++) {
        sn_stats_unref(l->ends[i].stats);
        sn_peer_unref(l->ends[i].peer_info);
        sn_peer_unref(atomic_load(&l->next_peer[i]));
    }
    pthread_mutex_destroy(&l->hwm_lock);
    pthread_mutex_destroy(&l->direct.lock);
    free(l);
}

sn_peer *
sn_peer_new(int type, const uint8_t *rid, size_t rid_len, const uint8_t *meta,
            size_t meta_len)
{
    if (rid_len > sizeof ((sn_peer *) 0)->rid)
        rid_len = sizeof ((sn_peer *) 0)->rid;
    sn_peer *p = malloc(sizeof *p + meta_len);
    if (p == NULL)
        return NULL;
    atomic_init(&p->refs, 1);
    p->type = type;
    p->rid_len = (uint8_t) rid_len;
    if (rid_len > 0)
        memcpy(p->rid, rid, rid_len);
    p->meta_len = meta_len;
    if (meta_len > 0)
        memcpy(p->meta, meta, meta_len);
    return p;
}

sn_peer *
sn_peer_ref(sn_peer *p)
{
    if (p != NULL)
        atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    return p;
}

void
sn_peer_unref(sn_peer *p)
{
    if (p != NULL && atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
        free(p);
}

void
sn_pipe_set_stats(sn_pipe *p, sn_stats *stats)
{
    sn_stats_unref(p->stats);
    p->stats = sn_stats_ref(stats);
}

void
sn_pipe_set_peer(sn_pipe *p, sn_peer *peer)
{
    sn_peer_unref(p->peer_info);
    p->peer_info = sn_peer_ref(peer);
}

void
sn_pipe_update_peer(sn_pipe *p, sn_peer *peer, bool hiccup)
{
    sn_link *l = p->link;
    int other = (int) (p->peer - l->ends);
    sn_peer_unref(atomic_exchange(&l->next_peer[other], sn_peer_ref(peer)));
    sn_pipe_notify_peer(p, hiccup ? SN_CMD_HICCUP : SN_CMD_PEER_INFO);
}

void
sn_pipe_take_peer(sn_pipe *p)
{
    sn_link *l = p->link;
    sn_peer *next = atomic_exchange(&l->next_peer[p - l->ends], NULL);
    if (next != NULL) {
        sn_peer_unref(p->peer_info);
        p->peer_info = next;
    }
}

void
sn_pipe_set_owner(sn_pipe *p, void *owner, const sn_pipe_owner_ops *ops)
{
    p->owner = owner;
    atomic_store_explicit(&p->owner_ops, ops, memory_order_release);
}

void
sn_pipe_notify_peer(sn_pipe *p, int cmd)
{
    sn_pipe *peer = p->peer;
    const sn_pipe_owner_ops *ops = atomic_load_explicit(&peer->owner_ops, memory_order_acquire);
    if (ops == NULL || atomic_load_explicit(&peer->released, memory_order_acquire))
        return;
    sn_link_ref(p->link);
    if (!ops->post(peer->owner, peer, cmd))
        sn_link_unref(p->link);
}

bool
sn_pipe_check_write(sn_pipe *p)
{
    return !p->peer_gone && sn_queue_check_write(p->out);
}

int
sn_pipe_write(sn_pipe *p, sn_msg *msg)
{
    return sn_queue_write(p->out, msg);
}

void
sn_pipe_flush(sn_pipe *p)
{
    if (sn_queue_flush(p->out))
        sn_pipe_notify_peer(p, SN_CMD_ACTIVATE_READ);
}

static void
owe_writer(sn_pipe *p)
{
    if (p->in->rwake) {
        p->in->rwake = false;
        sn_pipe_notify_peer(p, SN_CMD_ACTIVATE_WRITE);
    }
}

/* The limit of the queue from an end whose owner has SNDHWM snd to one whose owner has
 * RCVHWM rcv (see sn_pipe_set_hwm; -1: no say, 0: no limit). */
static uint64_t
queue_limit(int64_t snd, int64_t rcv)
{
    if (snd < 0 || rcv < 0)
        return snd >= 0 ? (uint64_t) snd : rcv >= 0 ? (uint64_t) rcv : 0;
    return snd == 0 || rcv == 0 ? 0 : (uint64_t) snd + (uint64_t) rcv;
}

static bool
limit_rose(uint64_t from, uint64_t to)
{
    return from != 0 && (to == 0 || to > from);
}

void
sn_pipe_set_hwm(sn_pipe *p, int sndhwm, int rcvhwm)
{
    sn_link *l = p->link;
    pthread_mutex_lock(&l->hwm_lock);
    p->sndhwm = sndhwm;
    p->rcvhwm = rcvhwm;
    uint64_t in_was = atomic_load_explicit(&p->in->hwm, memory_order_relaxed);
    uint64_t in = queue_limit(p->peer->sndhwm, p->rcvhwm);
    sn_queue_set_hwm(p->out, queue_limit(p->sndhwm, p->peer->rcvhwm));
    sn_queue_set_hwm(p->in, in);
    pthread_mutex_unlock(&l->hwm_lock);
    /* We read p->in: a writer stopped at the old limit waits for ACTIVATE_WRITE, which
     * would otherwise come only once we drained to the low-water mark. */
    if (limit_rose(in_was, in) && sn_queue_writer_release(p->in))
        sn_pipe_notify_peer(p, SN_CMD_ACTIVATE_WRITE);
}

/* After the peer let go, input is drained until its linger deadline, then dropped; but
 * never in the middle of a message the owner is reading: its parts were all published
 * together, and stopping there would splice the next message onto it. */
static bool
peer_expired(sn_pipe *p)
{
    if (!p->peer_gone || p->reading_more)
        return false;
    if (p->drop_deadline != UINT64_MAX && sn_clock_ms() >= p->drop_deadline) {
        p->owner_ops->drained(p->owner, p);
        return true;
    }
    return false;
}

bool
sn_pipe_check_read(sn_pipe *p)
{
    if (peer_expired(p))
        return false;
    bool ok = sn_queue_check_read(p->in);
    owe_writer(p);
    if (!ok && p->peer_gone)
        p->owner_ops->drained(p->owner, p);
    return ok;
}

static int
pipe_read(sn_pipe *p, sn_msg *msg, bool burst)
{
    if (peer_expired(p))
        return -EAGAIN;
    int rc = burst ? sn_queue_read_burst(p->in, msg) : sn_queue_read(p->in, msg);
    if (rc == 0 && !(p->reading_more = sn_msg_more(msg)))
        peer_expired(p); /* the message it held back for is over: let go now */
    owe_writer(p);
    if (rc < 0 && p->peer_gone)
        p->owner_ops->drained(p->owner, p);
    return rc;
}

int
sn_pipe_read(sn_pipe *p, sn_msg *msg)
{
    return pipe_read(p, msg, false);
}

int
sn_pipe_read_burst(sn_pipe *p, sn_msg *msg)
{
    return pipe_read(p, msg, true);
}

void
sn_pipe_read_end(sn_pipe *p)
{
    sn_queue_read_end(p->in);
    owe_writer(p);
}

size_t
sn_pipe_rollback(sn_pipe *p)
{
    return sn_queue_rollback(p->out);
}

size_t
sn_pipe_skip_rest(sn_pipe *p)
{
    size_t n = 0;
    sn_msg m;
    while (sn_queue_read(p->in, &m) == 0) {
        bool more = sn_msg_more(&m);
        sn_msg_close(&m);
        n++;
        if (!more)
            break;
    }
    owe_writer(p);
    return n;
}

void
sn_pipe_release(sn_pipe *p, uint64_t linger_deadline)
{
    sn_link *l = p->link;
    int self = (int) (p - l->ends);
    atomic_store_explicit(&l->linger_deadline[self], linger_deadline, memory_order_release);
    atomic_store_explicit(&p->released, true, memory_order_release);
    sn_pipe_notify_peer(p, SN_CMD_PEER_TERM);
    sn_link_unref(l);
}
