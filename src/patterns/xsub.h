/* XSUB and SUB (RFC 29; libzmq's SUB is an XSUB whose subscriptions are options): the
 * subscribing side. sub.c and xsub.c each define their sn_pattern_ops over these slots. */
#ifndef SINEW_PATTERNS_XSUB_H
#define SINEW_PATTERNS_XSUB_H

#include "patterns/dist.h"
#include "patterns/fq.h"
#include "patterns/pattern.h"
#include "patterns/subtrie.h"

typedef struct sn_xsub_pipe {
    sn_pipeset_slot fq;
    sn_dist_slot dist;
    bool resend; /* reconnected while a message was half sent upstream: resend after */
} sn_xsub_pipe;

typedef struct sn_xsub {
    sn_socket *sock;
    sn_fq fq;
    sn_dist dist;      /* upstream: subscriptions and XSUB's own messages */
    sn_subtrie subs;   /* counted topics, who = NULL */
    bool invert;
    bool more_send;    /* mid-message upstream */
    bool send_is_sub;  /* the message being sent upstream is a subscription message */
    bool resend_owed;  /* some pipe has resend set */
    bool more_recv;    /* mid-message downstream: later parts pass unfiltered */
    bool has_msg;      /* msg holds a matching first part, found by has_in */
    sn_msg msg;
} sn_xsub;

int sn_xsub_init(void *st, sn_socket *s);
void sn_xsub_fini(void *st);
int sn_xsub_attach(void *st, sn_pipe *p);
void sn_xsub_detach(void *st, sn_pipe *p);
void sn_xsub_readable(void *st, sn_pipe *p);
void sn_xsub_writable(void *st, sn_pipe *p);
void sn_xsub_hiccup(void *st, sn_pipe *p);
int sn_xsub_recv(void *st, sn_msg *m);
bool sn_xsub_has_in(void *st);
/* A subscription (subscribe) or unsubscription of topic, counted, sent upstream. */
int sn_xsub_subscribe(sn_xsub *x, bool subscribe, const uint8_t *topic, size_t len);
int sn_xsub_setopt(void *st, int option, const void *val, size_t len);
int sn_xsub_getopt(void *st, int option, void *val, size_t *len);

#endif
