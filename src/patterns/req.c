/* REQ (RFC 28): sends a request (prefixed by an empty delimiter frame) round-robin, then
 * accepts exactly one reply, from the peer it asked. Out-of-turn calls fail with EFSM;
 * replies from other peers or without a delimiter are discarded (and counted).
 *
 * Recovery, as libzmq 4.3: SINEW_REQ_RELAXED lets a new request go while a reply is
 * awaited (the old one is abandoned: its reply is discarded if it still comes), and
 * SINEW_REQ_CORRELATE puts a 4-byte request id before the delimiter and accepts only the
 * reply that carries the current one. When the peer that has our request leaves or
 * reconnects, the request is lost with its connection: the next send is then allowed,
 * as if relaxed.
 *
 *   request: [request id (CORRELATE)] [empty] body...   reply: the same envelope, body */
#include <stddef.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "patterns/fq.h"
#include "patterns/lb.h"
#include "patterns/optbool.h"
#include "patterns/pattern.h"

typedef struct req_pipe {
    sn_pipeset_slot lb, fq; /* each peer is in both sets */
} req_pipe;

typedef struct req {
    sn_lb lb;
    sn_fq fq;
    sn_socket *sock;
    sn_pipe *reply_pipe; /* the peer that has our request */
    uint32_t request_id; /* the current request's (CORRELATE), host order as libzmq */
    bool begun;          /* CORRELATE: the request id is out, the delimiter not yet */
    bool sending;        /* request parts are being sent */
    bool awaiting;       /* request sent, reply not yet (fully) received */
    bool id_seen;        /* CORRELATE: the reply carried our request id */
    bool in_reply;       /* delimiter of the reply seen, body parts follow */
    bool lost;           /* the peer with our request left or reconnected */
    bool relaxed, correlate;
} req;

static int
req_init(void *st, sn_socket *s)
{
    req *r = st;
    r->sock = s;
    /* A random start, as libzmq: a restarted client does not reuse recent ids. */
    if (getrandom(&r->request_id, sizeof r->request_id, GRND_NONBLOCK) !=
        sizeof r->request_id)
        r->request_id = (uint32_t) time(NULL);
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
    if (r->reply_pipe == p) {
        r->reply_pipe = NULL;
        r->lost = r->awaiting; /* the reply can never come */
    }
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

/* The peer with our request connected again: the request went with the old
 * connection (its REP answers a connection that is gone), so no reply will come. */
static void
req_hiccup(void *st, sn_pipe *p)
{
    req *r = st;
    if (r->awaiting && p == r->reply_pipe)
        r->lost = true;
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

/* Replies already waiting answer an older request: discarded, each counted. */
static void
discard_waiting(req *r)
{
    sn_msg m;
    while (sn_fq_recv(&r->fq, &m, NULL) == 0) {
        if (!sn_msg_more(&m))
            sn_socket_count_drop(r->sock, SN_DROP_INVALID);
        sn_msg_close(&m);
    }
}

/* Sends the request's envelope: [request id,] empty delimiter. */
static int
send_envelope(req *r)
{
    sn_pipe *to;
    if (r->correlate && !r->begun) {
        uint32_t id = r->request_id + 1;
        sn_msg m;
        int rc = sn_msg_init_buffer(&m, &id, sizeof id);
        if (rc < 0)
            return rc;
        m.flags = SN_MSG_MORE;
        rc = sn_lb_send(&r->lb, &m, &to);
        if (rc < 0) {
            sn_msg_close(&m);
            return rc;
        }
        r->request_id = id;
        r->reply_pipe = to;
        r->begun = true;
    }
    sn_msg delim;
    sn_msg_init(&delim);
    delim.flags = SN_MSG_MORE;
    int rc = sn_lb_send(&r->lb, &delim, &to);
    if (rc < 0)
        return rc;
    if (!r->begun)
        r->reply_pipe = to;
    r->begun = false;
    return 0;
}

static int
req_send(void *st, sn_msg *m)
{
    req *r = st;
    if (r->awaiting) {
        if (!r->relaxed && !r->lost)
            return -EFSM;
        r->awaiting = false; /* the old request is abandoned */
    }
    if (!r->sending) {
        discard_waiting(r);
        int rc = send_envelope(r);
        if (rc < 0)
            return rc;
        r->sending = true;
        r->lost = false;
    }
    bool more = sn_msg_more(m);
    sn_pipe *to;
    int rc = sn_lb_send(&r->lb, m, &to);
    if (rc < 0)
        return rc;
    if (!more) {
        r->sending = false;
        r->awaiting = true;
        r->in_reply = r->id_seen = false;
    }
    return 0;
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
        if (r->in_reply) {
            if (!sn_msg_more(m)) {
                r->awaiting = false;
                r->in_reply = false;
            }
            return 0;
        }
        /* The envelope: from the peer we asked (from any once it left, as libzmq: then
         * only CORRELATE tells a stale reply), [our request id,] the delimiter. */
        bool ok = (from == r->reply_pipe || r->reply_pipe == NULL) && sn_msg_more(m);
        if (ok && r->correlate && !r->id_seen) {
            if (sn_msg_size(m) == sizeof r->request_id &&
                memcmp(sn_msg_data(m), &r->request_id, sizeof r->request_id) == 0) {
                sn_msg_close(m);
                r->id_seen = true;
                continue;
            }
        } else if (ok && sn_msg_size(m) == 0) {
            sn_msg_close(m);
            r->in_reply = true;
            continue;
        }
        sn_socket_count_drop(r->sock, SN_DROP_INVALID); /* stale or stray reply */
        discard_rest(r, m);
        r->id_seen = false;
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
    return (!r->awaiting || r->relaxed || r->lost) && sn_lb_has_out(&r->lb);
}

static int
req_setopt(void *st, int option, const void *val, size_t len)
{
    req *r = st;
    switch (option) {
    case SINEW_REQ_RELAXED:
        return sn_opt_bool(val, len, &r->relaxed);
    case SINEW_REQ_CORRELATE:
        return sn_opt_bool(val, len, &r->correlate);
    default:
        return -ENOENT;
    }
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
    .hiccup = req_hiccup,
    .send = req_send,
    .recv = req_recv,
    .has_in = req_has_in,
    .has_out = req_has_out,
    .setopt = req_setopt,
};
