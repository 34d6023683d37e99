/* Distribution to many pipes (see dist.h), over a pipeset whose active prefix also holds
 * the chosen range. Pipes move between the ranges by swapping, so every step is O(1)
 * and a send visits the chosen pipes only. */

#include "patterns/dist.h"
#include "patterns/pattern.h"

static sn_dist_slot *
slot_of(const sn_dist *d, const sn_pipe *p)
{
    return (sn_dist_slot *) (void *) ((char *) p->pstate + d->slot);
}

void
sn_dist_init(sn_dist *d, sn_socket *s, size_t slot)
{
    *d = (sn_dist){.slot = slot, .sock = s, .seq = 1};
    sn_pipeset_init(&d->set, slot);
}

void
sn_dist_fini(sn_dist *d)
{
    sn_pipeset_fini(&d->set);
    d->matching = 0;
}

/* Out of the chosen range, if there. */
static void
unchoose(sn_dist *d, sn_pipe *p)
{
    size_t pos = sn_pipeset_pos(&d->set, p);
    if (pos < d->matching) {
        sn_pipeset_swap(&d->set, pos, d->matching - 1);
        d->matching--;
    }
}

static void
deactivate(sn_dist *d, sn_pipe *p)
{
    unchoose(d, p);
    sn_pipeset_deactivate(&d->set, p);
}

int
sn_dist_attach(sn_dist *d, sn_pipe *p)
{
    slot_of(d, p)->mark = 0;
    /* Active but not chosen: a message half sent does not reach newcomers. */
    return sn_pipeset_add(&d->set, p, true);
}

void
sn_dist_detach(sn_dist *d, sn_pipe *p)
{
    if (!sn_pipeset_contains(&d->set, p))
        return;
    unchoose(d, p);
    sn_pipeset_remove(&d->set, p);
}

void
sn_dist_writable(sn_dist *d, sn_pipe *p)
{
    sn_pipeset_activate(&d->set, p);
}

void
sn_dist_unmatch(sn_dist *d)
{
    d->matching = 0;
    d->seq++;
    d->marked = d->marked_inactive = 0;
}

void
sn_dist_match(sn_dist *d, sn_pipe *p)
{
    sn_dist_slot *sl = slot_of(d, p);
    if (sl->set.pos1 == 0 || sl->mark == d->seq)
        return;
    sl->mark = d->seq;
    d->marked++;
    size_t pos = sl->set.pos1 - 1;
    if (pos >= d->set.active) {
        d->marked_inactive++; /* it wants the message but has no room: it misses it */
        return;
    }
    sn_pipeset_swap(&d->set, pos, d->matching);
    d->matching++;
}

void
sn_dist_match_all(sn_dist *d)
{
    d->matching = d->set.active;
    d->marked = d->set.n;
    d->marked_inactive = d->set.n - d->set.active;
}

void
sn_dist_reverse(sn_dist *d)
{
    /* Move the active unchosen pipes [matching, active) to the front. */
    size_t m = d->matching, a = d->set.active;
    size_t k = m < a - m ? m : a - m;
    for (size_t i = 0; i < k; i++)
        sn_pipeset_swap(&d->set, i, a - 1 - i);
    d->matching = a - m;
    d->marked = d->set.n - d->marked;
    d->marked_inactive = (d->set.n - d->set.active) - d->marked_inactive;
}

bool
sn_dist_check_hwm(sn_dist *d)
{
    if (d->marked_inactive > 0)
        return false; /* each of those armed its wake-up when it was set aside */
    for (size_t i = 0; i < d->matching; i++)
        if (!sn_pipe_check_write(d->set.pipes[i]))
            return false;
    return true;
}

/* First part: set aside the chosen pipes that have no room, counting what is lost. */
static void
count_first_part(sn_dist *d)
{
    for (size_t i = 0; i < d->matching;) {
        sn_pipe *p = d->set.pipes[i];
        if (sn_pipe_check_write(p)) {
            i++;
            continue;
        }
        /* check_write armed ACTIVATE_WRITE: the pipe comes back when it has room. */
        sn_socket_count_drop(d->sock, p->peer_gone ? SN_DROP_CONNECTION : SN_DROP_HWM);
        deactivate(d, p);
    }
    for (size_t i = 0; i < d->marked_inactive; i++)
        sn_socket_count_drop(d->sock, SN_DROP_HWM);
    if (d->marked == 0)
        sn_socket_count_drop(d->sock, SN_DROP_NO_SUBSCRIBER);
}

int
sn_dist_send(sn_dist *d, sn_msg *msg)
{
    bool more = sn_msg_more(msg);
    if (!d->more)
        count_first_part(d);
    bool taken = false;
    for (size_t i = 0; i < d->matching;) {
        sn_pipe *p = d->set.pipes[i];
        sn_msg m;
        if (i == d->matching - 1) {
            m = *msg; /* the last one takes the message itself */
            taken = true;
        } else {
            sn_msg_init(&m);
            sn_msg_copy(&m, msg);
        }
        int rc = sn_pipe_write(p, &m);
        if (rc < 0) {
            /* No memory for this pipe's queue: it loses the whole message. */
            sn_msg_close(&m);
            sn_pipe_rollback(p);
            sn_socket_count_drop(d->sock, SN_DROP_HWM);
            unchoose(d, p);
            continue;
        }
        if (rc == 1) /* a conflating queue (SINEW_CONFLATE) let an unread message go */
            sn_socket_count_drop(d->sock, SN_DROP_HWM);
        if (!more)
            sn_pipe_flush(p);
        i++;
    }
    if (!taken)
        sn_msg_close(msg); /* no pipe took it */
    sn_msg_init(msg);
    d->more = more;
    if (!more)
        sn_dist_unmatch(d);
    return 0;
}

int
sn_dist_write_now(sn_pipe *p, sn_msg *msg)
{
    sn_msg m;
    sn_msg_init(&m);
    sn_msg_copy(&m, msg);
    int rc = sn_pipe_write(p, &m);
    if (rc < 0) {
        sn_msg_close(&m);
        return rc;
    }
    sn_pipe_flush(p);
    return 0;
}
