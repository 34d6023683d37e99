/* The contract between the socket core and a messaging pattern (RFC 28-31 semantics).
 *
 * Called only by src/core/socket.c with the socket lock held, never concurrently for one
 * socket; no slot blocks. send/recv return 0 when done, -EAGAIN when the core should wait
 * (for room or for a message) and retry, or another -errno (EFSM, ENOTSUP...). On send
 * success the pattern has taken msg (it is left empty); on failure msg is untouched.
 * A NULL send or recv means ENOTSUP. */
#ifndef SINEW_PATTERNS_PATTERN_H
#define SINEW_PATTERNS_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/msg.h"
#include "core/pipe.h"

typedef struct sn_socket sn_socket;

typedef struct sn_pattern_ops {
    int type;          /* SINEW_PUSH..., same value as ZMQ_PUSH */
    const char *name;  /* "PUSH": the ZMTP Socket-Type property */
    const int *peers;  /* compatible peer types, -1 terminated */
    size_t state_size; /* the core allocates and zeroes this much */
    int (*init)(void *st, sn_socket *s);
    void (*fini)(void *st);
    int (*attach)(void *st, sn_pipe *p);     /* -EBUSY: refused (PAIR has a peer) */
    void (*detach)(void *st, sn_pipe *p);    /* forget p: it is being released */
    void (*readable)(void *st, sn_pipe *p);  /* ACTIVATE_READ */
    void (*writable)(void *st, sn_pipe *p);  /* ACTIVATE_WRITE */
    int (*send)(void *st, sn_msg *m);
    int (*recv)(void *st, sn_msg *m);
    bool (*has_in)(void *st);
    bool (*has_out)(void *st);
} sn_pattern_ops;

extern const sn_pattern_ops sn_pair_ops, sn_push_ops, sn_pull_ops, sn_req_ops, sn_rep_ops;

/* NULL for an unknown or unimplemented type. */
const sn_pattern_ops *sn_pattern_lookup(int type);
bool sn_pattern_compatible(const sn_pattern_ops *ops, int peer_type);

/* Core services for patterns. */
void sn_socket_count_drop(sn_socket *s); /* a message was discarded by the pattern */

#endif
