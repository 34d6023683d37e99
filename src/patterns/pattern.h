/* The contract between the socket core and a messaging pattern (RFC 28-31 semantics).
 *
 * Called only by src/core/socket.c with the socket lock held, never concurrently for one
 * socket; no slot blocks. The core allocates and zeroes the pattern's per-socket state
 * (state_size) and, for every pipe it attaches, per-pipe state (pipe_state_size, at
 * p->pstate, zeroed; freed after detach), so helper sets (lb, fq, dist) keep their own
 * slots there and never share a field of sn_pipe.
 *
 * send/recv return 0 when done, -EAGAIN when the core should wait (for room or for a
 * message) and retry, or another -errno (EFSM, EHOSTUNREACH...). On send success the
 * pattern has taken msg (it is left empty); on failure msg is untouched.
 *
 * Every slot but type, attach and detach is optional: a NULL send or recv means the
 * type never sends (receives): ENOTSUP; NULL has_in/has_out mean never ready; NULL
 * readable/writable/hiccup mean nothing to do; NULL setopt/getopt mean the type has no
 * options of its own. */
#ifndef SINEW_PATTERNS_PATTERN_H
#define SINEW_PATTERNS_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/msg.h"
#include "core/pipe.h"
#include "core/stats.h"

typedef struct sn_socket sn_socket;

typedef struct sn_pattern_ops {
    int type;               /* SINEW_PUSH..., same value as ZMQ_PUSH; its name and its
                               compatible peers come from the one table (socktype.h) */
    size_t state_size;      /* per socket */
    size_t pipe_state_size; /* per pipe (p->pstate) */
    /* The core hands the socket over: keep it for sn_socket_count_drop and the like. */
    int (*init)(void *st, sn_socket *s);
    void (*fini)(void *st);
    /* A new pipe. Its peer's identity (p->peer_info: type, routing id, properties) is
     * there for accepted and inproc pipes; a connect's pipe exists before its connection,
     * so it may be NULL until the handshake (the core takes it in before the peer's first
     * message is looked at). -EBUSY: refused (PAIR has its peer); the core releases it. */
    int (*attach)(void *st, sn_pipe *p);
    void (*detach)(void *st, sn_pipe *p);   /* forget p: it is being released */
    void (*readable)(void *st, sn_pipe *p); /* p went from empty to non-empty */
    void (*writable)(void *st, sn_pipe *p); /* p has room again */
    /* p's connection was lost and made again (libzmq's hiccup): what p held in flight
     * is gone (an unfinished message either way was discarded whole); a type that keeps
     * per-peer state (subscriptions, an outstanding request) renews it. */
    void (*hiccup)(void *st, sn_pipe *p);
    int (*send)(void *st, sn_msg *m);
    int (*recv)(void *st, sn_msg *m);
    bool (*has_in)(void *st);
    bool (*has_out)(void *st);
    /* The type's own options (SUBSCRIBE, ROUTER_MANDATORY...): -ENOENT for an option
     * that is not the type's (the core then reports EINVAL), -EINVAL for a bad value. */
    int (*setopt)(void *st, int option, const void *val, size_t len);
    int (*getopt)(void *st, int option, void *val, size_t *len);
    /* The slow-joiner remedy: how many peers have joined, for a wait on N of them. NULL:
     * every pipe whose peer finished its handshake (p->peer_info set). PUB and XPUB count
     * the peers that have sent at least one subscription. */
    int (*joined)(void *st);
} sn_pattern_ops;

extern const sn_pattern_ops sn_pair_ops, sn_push_ops, sn_pull_ops, sn_req_ops, sn_rep_ops;
extern const sn_pattern_ops sn_dealer_ops, sn_router_ops;
extern const sn_pattern_ops sn_stream_ops;
extern const sn_pattern_ops sn_pub_ops, sn_sub_ops, sn_xpub_ops, sn_xsub_ops;

/* NULL for an unknown or unimplemented type. */
const sn_pattern_ops *sn_pattern_lookup(int type);

/* Core services for patterns. */
/* A message was discarded by the pattern, for why (see core/stats.h). */
void sn_socket_count_drop(sn_socket *s, sn_drop_reason why);
/* p came through one of our connects (not a bind): for SINEW_CONNECT_ROUTING_ID. */
bool sn_socket_pipe_outgoing(sn_socket *s, const sn_pipe *p);
/* The pattern lets go of an attached p (a ROUTER peer refused or taken over): the core
 * detaches and releases it once the current call is over (detach is called then), and
 * what p still holds is discarded. Safe while the pattern walks its pipes. */
void sn_socket_drop_pipe(sn_socket *s, sn_pipe *p);
/* The pattern ends p (STREAM closing a connection): unlike sn_socket_drop_pipe, detach
 * is called at once, within this call, and the peer still gets what was written to p
 * within the socket's SINEW_LINGER. */
void sn_socket_pipe_close_lingering(sn_socket *s, sn_pipe *p);

#endif
