/* REQ (RFC 28): sends a request (prefixed by an empty delimiter frame) round-robin, then
 * accepts exactly one reply, from the peer it asked. Out-of-turn calls fail with EFSM;
 * replies from other peers or without a delimiter are discarded. */
#include <stddef.h>

#include "patterns/fq.h"
#include "patterns/lb.h"
#include "patterns/pattern.h"

typedef struct req_pipe {
    sn_pipeset_slot lb, fq; /* each peer is in both sets */
} req_pipe;

typedef struct req {
    sn_lb lb;
    sn_fq fq;
    sn_socket *sock;
    sn_pipe *reply_pipe; /* the peer that has our request */
    bool sending;        /* request parts are being sent */
    bool awaiting;       /* request sent, reply not yet (fully) received */
    bool in_reply;       /* delimiter of the reply seen, body parts follow */
} req;

static int
req_init(void *st, sn_socket *s)
{
    req *r = st;
    r->sock = s;
    sn_lb_init(&r->lb, s, offsetof(req_pipe, lb));
    sn_fq_init(&r->fq, offsetof(req_pipe, fq));
    return 0;
}

static void
req_fini(void *st)
{
    req *r = st;
    sn_lb_fini(&r->lb);
    sn_fq_fini(&r->fq);
}

static int
req_attach(void *st, sn_pipe *p)
{
    req *r = st;
    int rc = sn_lb_attach(&r->lb, p);
    if (rc < 0)
        return rc;
    rc = sn_fq_attach(&r->fq, p);
    if (rc < 0)
        sn_lb_detach(&r->lb, p);
    return rc;
}

static void
req_detach(void *st, sn_pipe *p)
{
    req *r = st;
    sn_lb_detach(&r->lb, p);
    sn_fq_detach(&r->fq, p);
    if (r->reply_pipe == p)
        r->reply_pipe = NULL; /* the reply can never come: the caller's recv times out */
}

static void
req_readable(void *st, sn_pipe *p)
{
    sn_fq_readable(&((req *) st)->fq, p);
}

static void
req_writable(void *st, sn_pipe *p)
{
    sn_lb_writable(&((req *) st)->lb, p);
}

static int
req_send(void *st, sn_msg *m)
{
    req *r = st;
    if (r->awaiting)
        return -EFSM;
    sn_pipe *to;
    if (!r->sending) {
        sn_msg delim;
        sn_msg_init(&delim);
        delim.flags = SN_MSG_MORE;
        int rc = sn_lb_send(&r->lb, &delim, &to);
        if (rc < 0)
            return rc;
        r->reply_pipe = to;
        r->sending = true;
    }
    bool more = sn_msg_more(m);
    int rc = sn_lb_send(&r->lb, m, &to);
    if (rc < 0)
        return rc;
    if (!more) {
        r->sending = false;
        r->awaiting = true;
        r->in_reply = false;
    }
    return 0;
}

static void
discard_rest(req *r, sn_msg *m)
{
    while (sn_msg_more(m)) {
        sn_msg_close(m);
        if (sn_fq_recv(&r->fq, m, NULL) < 0)
            return;
    }
    sn_msg_close(m);
}

static int
req_recv(void *st, sn_msg *m)
{
    req *r = st;
    if (!r->awaiting)
        return -EFSM;
    for (;;) {
        sn_pipe *from;
        int rc = sn_fq_recv(&r->fq, m, &from);
        if (rc < 0)
            return rc;
        if (!r->in_reply) {
            bool delimiter = sn_msg_size(m) == 0 && sn_msg_more(m);
            if (from != r->reply_pipe || !delimiter) {
                sn_socket_count_drop(r->sock, SN_DROP_INVALID); /* stale or stray reply */
                discard_rest(r, m);
                continue;
            }
            sn_msg_close(m);
            r->in_reply = true;
            continue;
        }
        if (!sn_msg_more(m)) {
            r->awaiting = false;
            r->in_reply = false;
        }
        return 0;
    }
}

static bool
req_has_in(void *st)
{
    req *r = st;
    return r->awaiting && sn_fq_has_in(&r->fq);
}

static bool
req_has_out(void *st)
{
    req *r = st;
    return !r->awaiting && sn_lb_has_out(&r->lb);
}

const sn_pattern_ops sn_req_ops = {
    .type = SINEW_REQ,
    .state_size = sizeof(req),
    .pipe_state_size = sizeof(req_pipe),
    .init = req_init,
    .fini = req_fini,
    .attach = req_attach,
    .detach = req_detach,
    .readable = req_readable,
    .writable = req_writable,
    .send = req_send,
    .recv = req_recv,
    .has_in = req_has_in,
    .has_out = req_has_out,
};
