/* REP (RFC 28): receives requests fair-queued, strips and keeps their envelope (the
 * frames up to and including the empty delimiter), and sends the one reply back through
 * the same peer with that envelope restored. Out-of-turn calls fail with EFSM; a request
 * without a delimiter is discarded, and so is a reply whose peer is gone or full (each
 * counted in SINEW_MSGS_DROPPED). Envelopes may be any depth (one routing frame per
 * ROUTER on the way, RFC 28), bounded only by memory. */
#include <stdlib.h>

#include "patterns/fq.h"
#include "patterns/pattern.h"

typedef struct rep {
    sn_fq fq;
    sn_socket *sock;
    sn_pipe *reply_pipe;
    sn_msg *env;    /* the request's envelope, delimiter included */
    size_t nenv, envcap;
    bool in_body;   /* envelope read, request body parts are being received */
    bool replying;  /* request fully received: a reply is due */
    bool started;   /* reply envelope written */
    bool dropping;  /* the reply cannot be delivered: discard its parts */
} rep;

static int
rep_init(void *st, sn_socket *s)
{
    rep *r = st;
    r->sock = s;
    sn_fq_init(&r->fq, 0);
    return 0;
}

static void
clear_env(rep *r)
{
    for (size_t i = 0; i < r->nenv; i++)
        sn_msg_close(&r->env[i]);
    r->nenv = 0;
}

static void
rep_fini(void *st)
{
    rep *r = st;
    clear_env(r);
    free(r->env);
    sn_fq_fini(&r->fq);
}

static int
rep_attach(void *st, sn_pipe *p)
{
    return sn_fq_attach(&((rep *) st)->fq, p);
}

static void
rep_detach(void *st, sn_pipe *p)
{
    rep *r = st;
    sn_fq_detach(&r->fq, p);
    if (r->reply_pipe == p) {
        if (r->started && !r->dropping)
            sn_socket_count_drop(r->sock, SN_DROP_CONNECTION); /* a reply cut mid-way */
        r->reply_pipe = NULL;
    }
}

static void
rep_readable(void *st, sn_pipe *p)
{
    sn_fq_readable(&((rep *) st)->fq, p);
}

/* Reads the next well-formed request's envelope (malformed requests are discarded):
 * 0, or -EAGAIN if no request is waiting. */
static int
read_envelope(rep *r)
{
    for (;;) {
        sn_msg part;
        sn_pipe *from;
        int rc = sn_fq_recv(&r->fq, &part, &from);
        if (rc < 0)
            return rc;
        if (r->nenv == 0)
            r->reply_pipe = from;
        if (r->nenv == r->envcap && sn_msg_more(&part)) {
            size_t cap = r->envcap ? r->envcap * 2 : 4;
            sn_msg *env = realloc(r->env, cap * sizeof *env);
            if (env != NULL) {
                r->env = env;
                r->envcap = cap;
            }
        }
        if (!sn_msg_more(&part) || r->nenv == r->envcap) {
            /* No delimiter (or no memory to keep the envelope): not a request we can
             * answer. Drop it whole and look at the next one. */
            while (sn_msg_more(&part)) {
                sn_msg_close(&part);
                if (sn_fq_recv(&r->fq, &part, NULL) < 0)
                    break;
            }
            sn_msg_close(&part);
            clear_env(r);
            sn_socket_count_drop(r->sock, SN_DROP_INVALID);
            continue;
        }
        bool delimiter = sn_msg_size(&part) == 0;
        r->env[r->nenv++] = part;
        if (delimiter)
            return 0;
    }
}

static int
rep_recv(void *st, sn_msg *m)
{
    rep *r = st;
    if (r->replying)
        return -EFSM;
    if (!r->in_body) {
        int rc = read_envelope(r);
        if (rc < 0)
            return rc;
        r->in_body = true;
    }
    int rc = sn_fq_recv(&r->fq, m, NULL);
    if (rc < 0)
        return rc;
    if (!sn_msg_more(m)) {
        r->in_body = false;
        r->replying = true;
    }
    return 0;
}

static int
rep_send(void *st, sn_msg *m)
{
    rep *r = st;
    if (!r->replying)
        return -EFSM;
    if (!r->started) {
        r->started = true;
        r->dropping = r->reply_pipe == NULL || !sn_pipe_check_write(r->reply_pipe);
        for (size_t i = 0; i < r->nenv && !r->dropping; i++) {
            if (sn_pipe_write(r->reply_pipe, &r->env[i]) < 0)
                r->dropping = true;
        }
        clear_env(r);
        if (r->dropping)
            sn_socket_count_drop(r->sock, r->reply_pipe == NULL ? SN_DROP_UNROUTABLE
                                                                : SN_DROP_HWM);
    }
    bool more = sn_msg_more(m);
    if (r->dropping || r->reply_pipe == NULL || sn_pipe_write(r->reply_pipe, m) < 0) {
        sn_msg_close(m);
        sn_msg_init(m);
    }
    if (!more) {
        if (!r->dropping && r->reply_pipe != NULL)
            sn_pipe_flush(r->reply_pipe);
        r->replying = false;
        r->started = false;
        r->dropping = false;
    }
    return 0;
}

static bool
rep_has_in(void *st)
{
    rep *r = st;
    return !r->replying && sn_fq_has_in(&r->fq);
}

static bool
rep_has_out(void *st)
{
    return ((rep *) st)->replying;
}

const sn_pattern_ops sn_rep_ops = {
    .type = SINEW_REP,
    .state_size = sizeof(rep),
    .pipe_state_size = sizeof(sn_pipeset_slot),
    .init = rep_init,
    .fini = rep_fini,
    .attach = rep_attach,
    .detach = rep_detach,
    .readable = rep_readable,
    .send = rep_send,
    .recv = rep_recv,
    .has_in = rep_has_in,
    .has_out = rep_has_out,
};
