/* XPUB (RFC 29), and the publishing half PUB shares (see xpub.h).
 *
 * Subscriptions reach us as parts flagged SN_MSG_SUBSCRIBE/CANCEL (the engine decodes
 * both ZMTP forms; an inproc XSUB or SUB writes them so) or as messages \x01topic /
 * \x00topic; they are taken in as soon as a pipe reports input, whether or not the
 * application reads, since they decide where the next message goes. The index keys
 * each topic by the pipes that want it; a pipe subscribing twice to a topic is there
 * once (its SUB counts), and when it leaves, its topics go with it.
 *
 * XPUB hands the application a notification for a topic's first subscriber and its last
 * unsubscriber (every one with XPUB_VERBOSE / XPUB_VERBOSER), and the messages an XSUB
 * sends upstream, in arrival order. */
#include <stdlib.h>
#include <string.h>

#include "core/socket.h"
#include "patterns/optbool.h"
#include "patterns/xpub.h"

static sn_xpub_pipe *
pipe_state(sn_pipe *p)
{
    return p->pstate;
}

int
sn_pubsub_get_int(void *val, size_t *len, int v)
{
    if (*len < sizeof v)
        return -EINVAL;
    memcpy(val, &v, sizeof v);
    *len = sizeof v;
    return 0;
}

int
sn_xpub_init(void *st, sn_socket *s)
{
    sn_xpub *x = st;
    x->sock = s;
    sn_dist_init(&x->dist, s, offsetof(sn_xpub_pipe, dist));
    if (sn_subtrie_init(&x->subs) < 0)
        return -ENOMEM;
    if (sn_subtrie_init(&x->manual_subs) < 0) {
        sn_subtrie_fini(&x->subs);
        return -ENOMEM;
    }
    return 0;
}

void
sn_xpub_fini(void *st)
{
    sn_xpub *x = st;
    for (size_t i = 0; i < x->qlen; i++)
        sn_msg_close(&x->q[(x->qhead + i) % x->qcap].msg);
    free(x->q);
    if (x->has_welcome)
        sn_msg_close(&x->welcome);
    sn_subtrie_fini(&x->subs);
    sn_subtrie_fini(&x->manual_subs);
    sn_dist_fini(&x->dist);
}

/* ---- messages for the application -------------------------------------------------- */

/* Takes m (closed if it cannot be queued, which counts as a drop). */
static void
pending_push(sn_xpub *x, sn_msg *m, sn_pipe *p, bool notification)
{
    if (x->qlen == x->qcap) {
        size_t cap = x->qcap ? x->qcap * 2 : 16;
        sn_xpub_pending *q = malloc(cap * sizeof *q);
        if (q == NULL) {
            sn_msg_close(m);
            sn_socket_count_drop(x->sock, SN_DROP_HWM);
            return;
        }
        for (size_t i = 0; i < x->qlen; i++)
            q[i] = x->q[(x->qhead + i) % x->qcap];
        free(x->q);
        x->q = q;
        x->qcap = cap;
        x->qhead = 0;
    }
    x->q[(x->qhead + x->qlen) % x->qcap] = (sn_xpub_pending){*m, p, notification};
    x->qlen++;
}

static void
notify(sn_xpub *x, bool subscribe, const uint8_t *topic, size_t len, sn_pipe *p)
{
    if (x->pub)
        return;
    sn_msg m;
    if (sn_msg_init_size(&m, len + 1) < 0) {
        sn_socket_count_drop(x->sock, SN_DROP_HWM);
        return;
    }
    uint8_t *d = sn_msg_data(&m);
    d[0] = subscribe ? 1 : 0;
    if (len > 0)
        memcpy(d + 1, topic, len);
    pending_push(x, &m, p, true);
}

static void
notify_unsubscribed(const uint8_t *topic, size_t len, void *arg)
{
    notify(arg, false, topic, len, NULL);
}

/* ---- subscriptions from the peers -------------------------------------------------- */

static void
mark_joined(sn_xpub *x, sn_pipe *p)
{
    if (pipe_state(p)->joined)
        return;
    pipe_state(p)->joined = true;
    x->joined++;
    sn_socket_wake(x->sock); /* a wait for N subscribers may be over */
}

static void
take_subscription(sn_xpub *x, sn_pipe *p, bool subscribe, const uint8_t *topic, size_t len)
{
    if (subscribe)
        mark_joined(x, p);
    if (x->manual) {
        /* The application decides (SINEW_SUBSCRIBE on this socket after receiving the
         * notification), and hears of every request; what the peer asked for is kept,
         * to undo when it leaves. */
        if (subscribe)
            sn_subtrie_add(&x->manual_subs, topic, len, p, false);
        else
            sn_subtrie_remove(&x->manual_subs, topic, len, p, false);
        notify(x, subscribe, topic, len, p);
        return;
    }
    bool tell;
    if (subscribe) {
        int rc = sn_subtrie_add(&x->subs, topic, len, p, false);
        tell = rc == 1 || (rc == 0 && x->verbose_subs);
    } else {
        /* As libzmq: an unknown topic's cancel is passed on too. */
        sn_subtrie_rm r = sn_subtrie_remove(&x->subs, topic, len, p, false);
        tell = r != SN_SUBTRIE_REMAIN || x->verbose_unsubs;
    }
    if (tell)
        notify(x, subscribe, topic, len, NULL);
}

/* A subscription in either form: the flagged part, or a message \x01topic / \x00topic. */
static bool
as_subscription(sn_msg *m, bool *subscribe, const uint8_t **topic, size_t *len)
{
    const uint8_t *d = sn_msg_data(m);
    size_t n = sn_msg_size(m);
    if (m->flags & (SN_MSG_SUBSCRIBE | SN_MSG_CANCEL)) {
        *subscribe = (m->flags & SN_MSG_SUBSCRIBE) != 0;
        *topic = d;
        *len = n;
        return true;
    }
    if (n == 0 || d[0] > 1)
        return false;
    *subscribe = d[0] == 1;
    *topic = d + 1;
    *len = n - 1;
    return true;
}

/* Everything p holds, now. Messages arrive whole, so a message's parts are all here. */
static void
take_in(sn_xpub *x, sn_pipe *p)
{
    sn_msg m;
    bool first = true, subs = false, discard = false;
    while (sn_pipe_read(p, &m) == 0) {
        bool more = sn_msg_more(&m), subscribe;
        const uint8_t *topic;
        size_t len;
        if (first)
            subs = as_subscription(&m, &subscribe, &topic, &len);
        if (subs) {
            /* Later parts of a subscription message are subscriptions too (libzmq). */
            if (first || as_subscription(&m, &subscribe, &topic, &len))
                take_subscription(x, p, subscribe, topic, len);
            else
                discard = true;
            sn_msg_close(&m);
        } else if (x->pub) {
            sn_msg_close(&m); /* PUB takes no messages from its peers */
            discard = true;
        } else {
            pending_push(x, &m, p, false);
        }
        if (!more && discard)
            sn_socket_count_drop(x->sock, SN_DROP_INVALID);
        if (!more)
            discard = false;
        first = !more;
    }
}

/* ---- pattern slots ----------------------------------------------------------------- */

int
sn_xpub_attach(void *st, sn_pipe *p)
{
    sn_xpub *x = st;
    int rc = sn_dist_attach(&x->dist, p);
    if (rc < 0)
        return rc;
    if (x->has_welcome && sn_dist_write_now(p, &x->welcome) < 0)
        sn_socket_count_drop(x->sock, SN_DROP_HWM);
    take_in(x, p);
    return 0;
}

void
sn_xpub_detach(void *st, sn_pipe *p)
{
    sn_xpub *x = st;
    sn_dist_detach(&x->dist, p);
    if (pipe_state(p)->joined)
        x->joined--;
    /* Its topics go, and XPUB hears of those nobody else wants (all of them with
     * XPUB_VERBOSER; in manual mode, all that the peer had asked for). */
    if (x->manual) {
        sn_subtrie_remove_all(&x->manual_subs, p, false, notify_unsubscribed, x);
        sn_subtrie_remove_all(&x->subs, p, false, NULL, NULL);
    } else {
        sn_subtrie_remove_all(&x->subs, p, !x->verbose_unsubs, notify_unsubscribed, x);
    }
    for (size_t i = 0; i < x->qlen; i++) {
        sn_xpub_pending *e = &x->q[(x->qhead + i) % x->qcap];
        if (e->pipe == p)
            e->pipe = NULL;
    }
    if (x->last_pipe == p)
        x->last_pipe = NULL;
}

void
sn_xpub_readable(void *st, sn_pipe *p)
{
    take_in(st, p);
}

void
sn_xpub_writable(void *st, sn_pipe *p)
{
    sn_xpub *x = st;
    sn_dist_writable(&x->dist, p);
}

static void
match_cb(void *who, void *arg)
{
    sn_dist_match(arg, who);
}

int
sn_xpub_send(void *st, sn_msg *m)
{
    sn_xpub *x = st;
    /* The first part decides who gets the whole message. */
    if (!x->more_send) {
        sn_dist_unmatch(&x->dist);
        sn_subtrie_match(&x->subs, sn_msg_data(m), sn_msg_size(m), match_cb, &x->dist);
        if (x->invert)
            sn_dist_reverse(&x->dist);
        if (x->nodrop && !sn_dist_check_hwm(&x->dist))
            return -EAGAIN;
    }
    bool more = sn_msg_more(m);
    sn_dist_send(&x->dist, m);
    x->more_send = more;
    return 0;
}

static int
xpub_recv(void *st, sn_msg *m)
{
    sn_xpub *x = st;
    if (x->qlen == 0)
        return -EAGAIN;
    sn_xpub_pending *e = &x->q[x->qhead];
    if (e->notification && x->manual)
        x->last_pipe = e->pipe; /* SINEW_SUBSCRIBE now applies to this peer */
    *m = e->msg;
    x->qhead = (x->qhead + 1) % x->qcap;
    x->qlen--;
    return 0;
}

static bool
xpub_has_in(void *st)
{
    sn_xpub *x = st;
    return x->qlen > 0;
}

bool
sn_xpub_has_out(void *st)
{
    (void) st;
    return true; /* a publisher never waits (XPUB_NODROP's sends wait in send) */
}

int
sn_xpub_setopt(void *st, int option, const void *val, size_t len)
{
    sn_xpub *x = st;
    bool v;
    int rc;
    switch (option) {
    case SINEW_XPUB_VERBOSE:
    case SINEW_XPUB_VERBOSER:
    case SINEW_XPUB_NODROP:
    case SINEW_XPUB_MANUAL:
    case SINEW_INVERT_MATCHING:
        if ((rc = sn_opt_bool(val, len, &v)) < 0)
            return rc;
        if (option == SINEW_XPUB_VERBOSE) {
            x->verbose_subs = v;
            x->verbose_unsubs = false;
        } else if (option == SINEW_XPUB_VERBOSER) {
            x->verbose_subs = x->verbose_unsubs = v;
        } else if (option == SINEW_XPUB_NODROP) {
            x->nodrop = v;
        } else if (option == SINEW_XPUB_MANUAL) {
            x->manual = v;
        } else {
            x->invert = v;
        }
        return 0;
    case SINEW_XPUB_WELCOME_MSG: {
        if (len > 0 && val == NULL)
            return -EINVAL;
        sn_msg w;
        if (len > 0 && sn_msg_init_buffer(&w, val, len) < 0)
            return -ENOMEM;
        if (x->has_welcome)
            sn_msg_close(&x->welcome);
        x->has_welcome = len > 0;
        if (x->has_welcome)
            x->welcome = w;
        return 0;
    }
    case SINEW_SUBSCRIBE:
    case SINEW_UNSUBSCRIBE:
        /* XPUB_MANUAL: the application subscribes the peer of the last notification. */
        if (!x->manual)
            return -ENOENT;
        if (len > 0 && val == NULL)
            return -EINVAL;
        if (x->last_pipe == NULL)
            return 0; /* that peer left: nothing to subscribe (libzmq) */
        if (option == SINEW_SUBSCRIBE)
            return sn_subtrie_add(&x->subs, val, len, x->last_pipe, false) < 0 ? -ENOMEM : 0;
        sn_subtrie_remove(&x->subs, val, len, x->last_pipe, false);
        return 0;
    default:
        return -ENOENT;
    }
}

int
sn_xpub_getopt(void *st, int option, void *val, size_t *len)
{
    sn_xpub *x = st;
    if (option == SINEW_INVERT_MATCHING)
        return sn_pubsub_get_int(val, len, x->invert);
    return -ENOENT;
}

int
sn_xpub_joined(void *st)
{
    sn_xpub *x = st;
    return x->joined;
}

const sn_pattern_ops sn_xpub_ops = {
    .type = SINEW_XPUB,
    .state_size = sizeof(sn_xpub),
    .pipe_state_size = sizeof(sn_xpub_pipe),
    .init = sn_xpub_init,
    .fini = sn_xpub_fini,
    .attach = sn_xpub_attach,
    .detach = sn_xpub_detach,
    .readable = sn_xpub_readable,
    .writable = sn_xpub_writable,
    .send = sn_xpub_send,
    .recv = xpub_recv,
    .has_in = xpub_has_in,
    .has_out = sn_xpub_has_out,
    .setopt = sn_xpub_setopt,
    .getopt = sn_xpub_getopt,
    .joined = sn_xpub_joined,
};
