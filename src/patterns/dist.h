/* Distribution (one message to many peers), shared by PUB, XPUB and XSUB. RFC 29: a
 * publisher sends each message to the subscribers that want it and never blocks on a
 * slow one: a subscriber at its high-water mark misses the message (counted), the
 * others get it. A message reaches N pipes as N references to one payload (messages
 * over SN_MSG_VSM_MAX bytes share their content block), not N copies.
 *
 * Pipes live in one array in three ranges: [0, matching) are chosen for the message
 * being sent, [0, active) had room at their last look, [active, n) are at their HWM and
 * wait for ACTIVATE_WRITE. All parts of a message go to the pipes chosen at its first
 * part. Owner's thread only. */
#ifndef SINEW_PATTERNS_DIST_H
#define SINEW_PATTERNS_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/msg.h"
#include "core/pipe.h"
#include "patterns/pipeset.h"

typedef struct sn_socket sn_socket;

/* A dist's slot in a pipe's pattern state (zeroed: in no dist). */
typedef struct sn_dist_slot {
    sn_pipeset_slot set; /* first: the pipeset's slot is the dist's */
    uint64_t mark;       /* seq of the last message that matched the pipe */
} sn_dist_slot;

/* set.pipes[0, set.active) had room at their last look; the chosen ones come first. */
typedef struct sn_dist {
    sn_pipeset set;
    size_t matching;
    size_t slot;          /* offset of the sn_dist_slot in p->pstate */
    uint64_t seq;         /* message being matched (marks) */
    size_t marked;          /* pipes that want this message */
    size_t marked_inactive; /* of them, pipes at their HWM: they miss it */
    bool more;              /* a multipart message is half sent */
    sn_socket *sock;      /* for the drop counters */
} sn_dist;

void sn_dist_init(sn_dist *d, sn_socket *s, size_t slot);
void sn_dist_fini(sn_dist *d);
int sn_dist_attach(sn_dist *d, sn_pipe *p); /* -ENOMEM */
void sn_dist_detach(sn_dist *d, sn_pipe *p);
void sn_dist_writable(sn_dist *d, sn_pipe *p);

/* Choosing the pipes of a message, before its first part: unmatch, then match each
 * wanted pipe (more than once is fine), then optionally reverse (INVERT_MATCHING). */
void sn_dist_unmatch(sn_dist *d);
void sn_dist_match(sn_dist *d, sn_pipe *p);
void sn_dist_match_all(sn_dist *d);
void sn_dist_reverse(sn_dist *d);
/* Whether every chosen pipe has room (XPUB_NODROP); a pipe without arms its wake-up. */
bool sn_dist_check_hwm(sn_dist *d);

/* Sends a part to the chosen pipes, taking msg (left empty). At the first part, a chosen
 * pipe without room misses the whole message (SN_DROP_HWM, one per pipe), and a message
 * no pipe wanted is counted SN_DROP_NO_SUBSCRIBER. Always 0: a pipe whose queue cannot
 * grow (ENOMEM) loses the message like one at its HWM. */
int sn_dist_send(sn_dist *d, sn_msg *msg);

/* Writes a copy of msg (kept by the caller) to p now, HWM or not, and flushes: for
 * subscriptions and welcome messages, which must not be lost. 0 or -ENOMEM. */
int sn_dist_write_now(sn_pipe *p, sn_msg *msg);

#endif
