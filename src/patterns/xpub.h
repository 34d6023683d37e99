/* XPUB and PUB (RFC 29; libzmq's PUB is an XPUB that never hands subscriptions to the
 * application): the publishing side, filtering on the publisher for every transport.
 * pub.c and xpub.c each define their sn_pattern_ops over these slots. */
#ifndef SINEW_PATTERNS_XPUB_H
#define SINEW_PATTERNS_XPUB_H

#include "patterns/dist.h"
#include "patterns/pattern.h"
#include "patterns/subtrie.h"

typedef struct sn_xpub_pipe {
    sn_dist_slot dist;
    bool joined; /* has sent a subscription: counts for the slow-joiner wait */
} sn_xpub_pipe;

/* A message for XPUB's application: a subscription notification (\x01topic, \x00topic)
 * with the pipe it came from (for XPUB_MANUAL; NULL once that pipe left), or a message
 * an XSUB sent upstream. */
typedef struct sn_xpub_pending {
    sn_msg msg;
    sn_pipe *pipe;
    bool notification;
} sn_xpub_pending;

typedef struct sn_xpub {
    sn_socket *sock;
    sn_dist dist;
    sn_subtrie subs;        /* topic -> pipes: what each message is matched against */
    sn_subtrie manual_subs; /* XPUB_MANUAL: what each peer asked for */
    bool pub;               /* a PUB: no receiving */
    bool verbose_subs, verbose_unsubs, nodrop, manual, invert;
    bool more_send;
    sn_msg welcome;         /* XPUB_WELCOME_MSG, valid when has_welcome */
    bool has_welcome;
    sn_xpub_pending *q;     /* ring of pending messages for recv */
    size_t qhead, qlen, qcap;
    sn_pipe *last_pipe;     /* XPUB_MANUAL: the pipe of the last notification received */
    int joined;
} sn_xpub;

int sn_xpub_init(void *st, sn_socket *s);
void sn_xpub_fini(void *st);
int sn_xpub_attach(void *st, sn_pipe *p);
void sn_xpub_detach(void *st, sn_pipe *p);
void sn_xpub_readable(void *st, sn_pipe *p);
void sn_xpub_writable(void *st, sn_pipe *p);
int sn_xpub_send(void *st, sn_msg *m);
bool sn_xpub_has_out(void *st);
int sn_xpub_setopt(void *st, int option, const void *val, size_t len);
int sn_xpub_getopt(void *st, int option, void *val, size_t *len);
int sn_xpub_joined(void *st);

/* An int option's value for getsockopt: -EINVAL if *len is too small. */
int sn_pubsub_get_int(void *val, size_t *len, int v);

#endif
