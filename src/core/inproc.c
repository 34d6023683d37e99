/* inproc transport (see inproc.h). Queue limits follow libzmq: the queue from A to B
 * holds A's SNDHWM plus B's RCVHWM messages (unlimited if either is 0); the pipe layer
 * computes them from what each end's socket says (sn_pipe_set_hwm), again whenever one
 * of them changes its limits. */
#include <stdlib.h>
#include <string.h>

#include "core/inproc.h"
#include "core/socket.h"
#include "zmtp/socktype.h"

struct sn_inproc_entry {
    char *name;
    sn_socket *sock;   /* binder, or the connecter of a pending connect */
    int ep;
    int type;          /* sock's socket type */
    int sndhwm, rcvhwm;/* sock's limits when the entry was made (a binder's count
                          for a new pipe until the binder attaches it) */
    bool conflate_out, conflate_in; /* sock's SINEW_CONFLATE then */
    sn_link *link;     /* pending connect only: end 1 waits for a binder */
    sn_peer *peer;     /* sock as its peers see it (type, routing id) */
    struct sn_inproc_entry *next;
};

static void entry_free(sn_inproc_entry *e);

/* A type with no ZMTP name has no inproc peer: STREAM talks raw bytes to raw peers
 * (libzmq lets it bind and connect inproc to no purpose; we say so at once). */
static bool
inproc_capable(const sn_socket *s)
{
    return sn_zmtp_socket_type_name(s->opt.type) != NULL;
}

/* s as its inproc peers see it: its type and SINEW_ROUTING_ID. NULL on ENOMEM. */
static sn_peer *
socket_peer(sn_socket *s)
{
    return sn_peer_new(s->opt.type, s->opt.routing_id, s->opt.routing_id_len, NULL, 0);
}

static sn_inproc_entry *
entry_new(const char *name, sn_socket *s, int ep, sn_link *link)
{
    sn_inproc_entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->name = strdup(name);
    if (e->name == NULL) {
        free(e);
        return NULL;
    }
    e->sock = s;
    e->ep = ep;
    e->type = s->opt.type;
    e->sndhwm = s->opt.sndhwm;
    e->rcvhwm = s->opt.rcvhwm;
    e->conflate_out = sn_options_conflates(&s->opt, true);
    e->conflate_in = sn_options_conflates(&s->opt, false);
    e->link = link;
    e->peer = socket_peer(s);
    if (e->peer == NULL) {
        entry_free(e);
        return NULL;
    }
    return e;
}

static void
entry_free(sn_inproc_entry *e)
{
    sn_peer_unref(e->peer);
    free(e->name);
    free(e);
}

static sn_inproc_entry *
find_bound(sn_ctx *c, const char *name)
{
    for (sn_inproc_entry *e = c->inproc; e != NULL; e = e->next)
        if (e->link == NULL && strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

int
sn_inproc_bind(sn_ctx *c, sn_socket *s, const char *name, int ep)
{
    if (!inproc_capable(s))
        return -ENOCOMPATPROTO;
    sn_inproc_entry *e = entry_new(name, s, ep, NULL);
    if (e == NULL)
        return -ENOMEM;
    sn_inproc_entry *pending = NULL;
    pthread_mutex_lock(&c->lock);
    if (find_bound(c, name) != NULL) {
        pthread_mutex_unlock(&c->lock);
        entry_free(e);
        return -EADDRINUSE;
    }
    for (sn_inproc_entry **pp = &c->inproc; *pp != NULL;) {
        sn_inproc_entry *x = *pp;
        if (x->link != NULL && strcmp(x->name, name) == 0) {
            *pp = x->next;
            x->next = pending;
            pending = x;
        } else {
            pp = &x->next;
        }
    }
    e->next = c->inproc;
    c->inproc = e;
    pthread_mutex_unlock(&c->lock);

    /* Adopt the ends that connecters left waiting for us. */
    while (pending != NULL) {
        sn_inproc_entry *x = pending;
        pending = x->next;
        sn_link *l = x->link;
        if (!sn_zmtp_socket_type_compatible(s->opt.type, x->type)) {
            sn_socket_count_drop(s, SN_DROP_INVALID); /* refused peer */
            sn_pipe_release(&l->ends[1], 0);
        } else {
            /* Our limits join the connecter's; the connecter learns who we are. */
            if (sn_socket_attach(s, &l->ends[1], ep) == 0)
                sn_pipe_update_peer(&l->ends[1], e->peer, false);
        }
        entry_free(x);
    }
    return 0;
}

int
sn_inproc_bound_type(sn_ctx *c, const char *name)
{
    pthread_mutex_lock(&c->lock);
    sn_inproc_entry *b = find_bound(c, name);
    int type = b != NULL ? b->type : -1;
    pthread_mutex_unlock(&c->lock);
    return type;
}

int
sn_inproc_connect(sn_ctx *c, sn_socket *s, const char *name, int ep)
{
    if (!inproc_capable(s))
        return -ENOCOMPATPROTO;
    sn_peer *me = socket_peer(s);
    if (me == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&c->lock);
    sn_inproc_entry *b = find_bound(c, name);
    if (b != NULL && !sn_zmtp_socket_type_compatible(s->opt.type, b->type)) {
        pthread_mutex_unlock(&c->lock);
        sn_peer_unref(me);
        return -ENOCOMPATPROTO;
    }
    sn_link *l;
    int rc = sn_link_new(&l, (uint64_t) s->opt.sndhwm, (uint64_t) s->opt.rcvhwm);
    if (rc < 0)
        goto out;
    /* A queue conflates if its writer conflates what it sends or its reader what it
     * receives (a binder that comes later has no say). */
    sn_link_conflate(l, sn_options_conflates(&s->opt, true) || (b != NULL && b->conflate_in),
                     sn_options_conflates(&s->opt, false) || (b != NULL && b->conflate_out));
    /* Each end knows its peer, and the binder's limits, before anyone owns it. */
    sn_pipe_set_peer(&l->ends[1], me);
    if (b != NULL) {
        sn_pipe_set_peer(&l->ends[0], b->peer);
        sn_pipe_set_hwm(&l->ends[1], b->sndhwm, b->rcvhwm);
    }
    /* Our end first, so anything the other side does later reaches us. */
    rc = sn_socket_attach(s, &l->ends[0], ep);
    if (rc < 0) {
        sn_pipe_release(&l->ends[1], 0);
        goto out;
    }
    if (b == NULL) {
        sn_inproc_entry *e = entry_new(name, s, ep, l);
        if (e == NULL) {
            sn_pipe_release(&l->ends[1], 0); /* our end sees the peer leave */
            rc = -ENOMEM;
            goto out;
        }
        e->next = c->inproc;
        c->inproc = e;
    } else {
        /* Hand end 1 to the binder through its mailbox. If the binder is closing, the
         * post is refused and the end released: we see a departed peer. */
        sn_socket *binder = b->sock;
        sn_pipe_set_owner(&l->ends[1], binder, &sn_socket_pipe_ops);
        l->ends[1].endpoint = b->ep;
        sn_link_ref(l);
        if (!sn_socket_pipe_ops.post(binder, &l->ends[1], SN_CMD_ATTACH)) {
            sn_link_unref(l);
            sn_pipe_release(&l->ends[1], 0);
        }
    }
out:
    pthread_mutex_unlock(&c->lock);
    sn_peer_unref(me);
    return rc;
}

void
sn_inproc_unbind(sn_ctx *c, sn_socket *s, const char *name)
{
    pthread_mutex_lock(&c->lock);
    for (sn_inproc_entry **pp = &c->inproc; *pp != NULL; pp = &(*pp)->next) {
        sn_inproc_entry *e = *pp;
        if (e->link == NULL && e->sock == s && strcmp(e->name, name) == 0) {
            *pp = e->next;
            entry_free(e);
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
}

/* closing: s is closing with a linger: its pending connects stay in the table, owned by
 * nobody, so that a later binder still gets what was sent (as libzmq, and as
 * sinew_inproc(7) promises); the end s let go of carries its linger deadline. */
static void
remove_matching(sn_ctx *c, sn_socket *s, int ep, bool any_ep, bool closing)
{
    sn_inproc_entry *gone = NULL;
    pthread_mutex_lock(&c->lock);
    for (sn_inproc_entry **pp = &c->inproc; *pp != NULL;) {
        sn_inproc_entry *e = *pp;
        if (closing && e->sock == s && e->link != NULL && s->opt.linger != 0) {
            e->sock = NULL;
            e->ep = -1;
            pp = &e->next;
        } else if (e->sock == s && (any_ep || (e->link != NULL && e->ep == ep))) {
            *pp = e->next;
            e->next = gone;
            gone = e;
        } else {
            pp = &e->next;
        }
    }
    pthread_mutex_unlock(&c->lock);
    while (gone != NULL) {
        sn_inproc_entry *e = gone;
        gone = e->next;
        if (e->link != NULL)
            sn_pipe_release(&e->link->ends[1], 0);
        entry_free(e);
    }
}

void
sn_inproc_cancel_pending(sn_ctx *c, sn_socket *s, int ep)
{
    remove_matching(c, s, ep, false, false);
}

void
sn_inproc_forget(sn_ctx *c, sn_socket *s)
{
    remove_matching(c, s, -1, true, true);
}

void
sn_inproc_fini(sn_ctx *c)
{
    while (c->inproc != NULL) {
        sn_inproc_entry *e = c->inproc;
        c->inproc = e->next;
        if (e->link != NULL)
            sn_pipe_release(&e->link->ends[1], 0); /* never bound: nobody will read it */
        entry_free(e);
    }
}
