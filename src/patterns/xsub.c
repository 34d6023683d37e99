/* XSUB (RFC 29), and the subscribing half SUB shares (see xsub.h).
 *
 * Subscriptions are counted per topic: each subscribe goes upstream (an XPUB may want to
 * see every one), an unsubscribe only when the topic's count falls to zero. They travel
 * as parts flagged SN_MSG_SUBSCRIBE/CANCEL, which the engine writes in the form the
 * peer's ZMTP version expects; they bypass the HWM, and every publisher gets them all
 * again when it attaches or its connection is made again. Messages received are
 * fair-queued and filtered here too (a publisher may send what was published before an
 * unsubscribe reached it). */
#include <stdlib.h>
#include <string.h>

#include "patterns/optbool.h"
#include "patterns/xpub.h"
#include "patterns/xsub.h"

int
sn_xsub_init(void *st, sn_socket *s)
{
    sn_xsub *x = st;
    x->sock = s;
    sn_fq_init(&x->fq, offsetof(sn_xsub_pipe, fq));
    sn_dist_init(&x->dist, s, offsetof(sn_xsub_pipe, dist));
    return sn_subtrie_init(&x->subs);
}

void
sn_xsub_fini(void *st)
{
    sn_xsub *x = st;
    if (x->has_msg)
        sn_msg_close(&x->msg);
    sn_subtrie_fini(&x->subs);
    sn_dist_fini(&x->dist);
    sn_fq_fini(&x->fq);
}

/* ---- upstream ---------------------------------------------------------------------- */

static int
subscription_msg(sn_msg *m, bool subscribe, const uint8_t *topic, size_t len)
{
    int rc = sn_msg_init_buffer(m, topic, len);
    if (rc == 0)
        m->flags |= subscribe ? SN_MSG_SUBSCRIBE : SN_MSG_CANCEL;
    return rc;
}

static void
send_to_all(sn_xsub *x, bool subscribe, const uint8_t *topic, size_t len)
{
    sn_msg m;
    if (subscription_msg(&m, subscribe, topic, len) < 0)
        return;
    for (size_t i = 0; i < x->dist.set.n; i++)
        sn_dist_write_now(x->dist.set.pipes[i], &m);
    sn_msg_close(&m);
}

int
sn_xsub_subscribe(sn_xsub *x, bool subscribe, const uint8_t *topic, size_t len)
{
    if (subscribe) {
        if (sn_subtrie_add(&x->subs, topic, len, NULL, true) < 0)
            return -ENOMEM;
    } else if (sn_subtrie_remove(&x->subs, topic, len, NULL, true) != SN_SUBTRIE_LAST) {
        return 0; /* still wanted (or never was): the publishers need not hear of it */
    }
    send_to_all(x, subscribe, topic, len);
    return 0;
}

static void
resend_one(const uint8_t *topic, size_t len, void *arg)
{
    sn_msg m;
    if (subscription_msg(&m, true, topic, len) < 0)
        return;
    sn_dist_write_now(arg, &m);
    sn_msg_close(&m);
}

/* All our topics to p, once each. */
static void
resend(sn_xsub *x, sn_pipe *p)
{
    sn_subtrie_each(&x->subs, resend_one, p);
}

static int
xsub_send(void *st, sn_msg *m)
{
    sn_xsub *x = st;
    const uint8_t *d = sn_msg_data(m);
    size_t n = sn_msg_size(m);
    bool is_sub = n > 0 && d[0] <= 1;
    /* The first part decides: a subscription message (\x01topic, \x00topic), or a
     * message for the publishers, sent to all of them. */
    if (!x->more_send) {
        x->send_is_sub = is_sub;
        if (!is_sub) {
            sn_dist_unmatch(&x->dist);
            sn_dist_match_all(&x->dist);
        }
    }
    bool more = sn_msg_more(m);
    if (x->send_is_sub) {
        if (is_sub) {
            int rc = sn_xsub_subscribe(x, d[0] == 1, d + 1, n - 1);
            if (rc < 0)
                return rc;
        } else if (!more) {
            sn_socket_count_drop(x->sock, SN_DROP_INVALID); /* a part that is none */
        }
        sn_msg_close(m);
        sn_msg_init(m);
    } else {
        sn_dist_send(&x->dist, m);
    }
    x->more_send = more;
    if (!more && x->resend_owed) {
        x->resend_owed = false;
        for (size_t i = 0; i < x->dist.set.n; i++) {
            sn_xsub_pipe *ps = x->dist.set.pipes[i]->pstate;
            if (ps->resend) {
                ps->resend = false;
                resend(x, x->dist.set.pipes[i]);
            }
        }
    }
    return 0;
}

/* ---- downstream -------------------------------------------------------------------- */

static bool
wanted(sn_xsub *x, sn_msg *m)
{
    return sn_subtrie_check(&x->subs, sn_msg_data(m), sn_msg_size(m)) != x->invert;
}

/* m is the first part of a message nobody here wants: it goes, whole. */
static void
discard(sn_xsub *x, sn_msg *m)
{
    while (sn_msg_more(m)) {
        sn_msg_close(m);
        if (sn_fq_recv(&x->fq, m, NULL) < 0)
            return; /* its pipe went away with the rest */
    }
    sn_msg_close(m);
    sn_socket_count_drop(x->sock, SN_DROP_NO_SUBSCRIBER);
}

int
sn_xsub_recv(void *st, sn_msg *m)
{
    sn_xsub *x = st;
    if (x->has_msg) {
        *m = x->msg;
        x->has_msg = false;
        x->more_recv = sn_msg_more(m);
        return 0;
    }
    for (;;) {
        int rc = sn_fq_recv(&x->fq, m, NULL);
        if (rc < 0)
            return rc;
        if (x->more_recv || wanted(x, m)) {
            x->more_recv = sn_msg_more(m);
            return 0;
        }
        discard(x, m);
    }
}

bool
sn_xsub_has_in(void *st)
{
    sn_xsub *x = st;
    if (x->more_recv || x->has_msg)
        return true;
    for (;;) {
        if (sn_fq_recv(&x->fq, &x->msg, NULL) < 0)
            return false;
        if (wanted(x, &x->msg)) {
            x->has_msg = true;
            return true;
        }
        discard(x, &x->msg);
    }
}

/* ---- pattern slots ----------------------------------------------------------------- */

int
sn_xsub_attach(void *st, sn_pipe *p)
{
    sn_xsub *x = st;
    int rc = sn_fq_attach(&x->fq, p);
    if (rc < 0)
        return rc;
    rc = sn_dist_attach(&x->dist, p);
    if (rc < 0) {
        sn_fq_detach(&x->fq, p);
        return rc;
    }
    resend(x, p); /* a newcomer is in no message being sent */
    return 0;
}

void
sn_xsub_detach(void *st, sn_pipe *p)
{
    sn_xsub *x = st;
    sn_fq_detach(&x->fq, p);
    sn_dist_detach(&x->dist, p);
}

void
sn_xsub_readable(void *st, sn_pipe *p)
{
    sn_xsub *x = st;
    sn_fq_readable(&x->fq, p);
}

void
sn_xsub_writable(void *st, sn_pipe *p)
{
    sn_xsub *x = st;
    sn_dist_writable(&x->dist, p);
}

void
sn_xsub_hiccup(void *st, sn_pipe *p)
{
    sn_xsub *x = st;
    /* The new connection's publisher knows nothing of us. Subscriptions still queued
     * from before may go out twice: a publisher keeps a topic once per peer. */
    if (x->more_send && !x->send_is_sub) {
        ((sn_xsub_pipe *) p->pstate)->resend = true; /* not inside that message */
        x->resend_owed = true;
        return;
    }
    resend(x, p);
}

int
sn_xsub_setopt(void *st, int option, const void *val, size_t len)
{
    sn_xsub *x = st;
    if (option != SINEW_INVERT_MATCHING)
        return -ENOENT;
    return sn_opt_bool(val, len, &x->invert);
}

int
sn_xsub_getopt(void *st, int option, void *val, size_t *len)
{
    sn_xsub *x = st;
    if (option == SINEW_INVERT_MATCHING)
        return sn_pubsub_get_int(val, len, x->invert);
    return -ENOENT;
}

static bool
xsub_has_out(void *st)
{
    (void) st;
    return true; /* subscriptions may be sent at any time; messages are never held */
}

const sn_pattern_ops sn_xsub_ops = {
    .type = SINEW_XSUB,
    .state_size = sizeof(sn_xsub),
    .pipe_state_size = sizeof(sn_xsub_pipe),
    .init = sn_xsub_init,
    .fini = sn_xsub_fini,
    .attach = sn_xsub_attach,
    .detach = sn_xsub_detach,
    .readable = sn_xsub_readable,
    .writable = sn_xsub_writable,
    .hiccup = sn_xsub_hiccup,
    .send = xsub_send,
    .recv = sn_xsub_recv,
    .has_in = sn_xsub_has_in,
    .has_out = xsub_has_out,
    .setopt = sn_xsub_setopt,
    .getopt = sn_xsub_getopt,
};
