/* Pipes: a bidirectional link between two endpoints (two sockets for inproc; a socket and
 * a connection engine for tcp/ipc), made of two SPSC queues. Each end belongs to one
 * owner, which alone reads its in-queue and writes its out-queue, under its own lock.
 *
 * Owners learn about the other end through commands posted with owner_ops->post (from
 * the peer's thread): ACTIVATE_READ (data arrived after the owner found the pipe dry),
 * ACTIVATE_WRITE (room again after the HWM), PEER_TERM (the peer let go of its end).
 * A posted command holds a reference on the link, so the memory stays valid until the
 * owner has processed it; a command for an end its owner already released is ignored. */
#ifndef SINEW_CORE_PIPE_H
#define SINEW_CORE_PIPE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/queue.h"
#include "core/stats.h"
#include "io/reactor.h"

typedef struct sn_pipe sn_pipe;
typedef struct sn_link sn_link;

/* A peer's identity and properties, immutable once made and shared by reference: its
 * socket type, its routing id (ZMTP Identity, or the inproc peer's SINEW_ROUTING_ID)
 * and its whole ZMTP property list (validated; walk it with sn_zmtp_metadata_iter). */
typedef struct sn_peer {
    atomic_int refs;
    int type;                /* SINEW_* socket type, -1 if the peer did not say */
    uint8_t rid_len;
    uint8_t rid[255];
    size_t meta_len;
    uint8_t meta[];          /* meta_len bytes */
} sn_peer;

/* NULL on ENOMEM. */
sn_peer *sn_peer_new(int type, const uint8_t *rid, size_t rid_len, const uint8_t *meta,
                     size_t meta_len);
sn_peer *sn_peer_ref(sn_peer *p);
void sn_peer_unref(sn_peer *p); /* NULL is fine */

enum sn_pipe_cmd {
    SN_CMD_ATTACH = 1,     /* a new pipe end for this owner (inproc connect to a bind) */
    SN_CMD_ACTIVATE_READ,
    SN_CMD_ACTIVATE_WRITE,
    SN_CMD_PEER_TERM,
    SN_CMD_HICCUP,         /* the peer's connection was lost and made again */
    SN_CMD_PEER_INFO,      /* the peer's identity is known (link next_peer) */
};

typedef struct sn_pipe_owner_ops {
    /* Any thread, never allocates. Queues cmd for the owner and wakes it; takes over
     * one link reference (sn_link_ref was called by the poster) if it returns true;
     * false (the owner is gone, or the command was merged into one already queued, or
     * carried out on the spot) leaves the reference to the caller to drop. */
    bool (*post)(void *owner, sn_pipe *p, int cmd);
    /* Owner's thread, from inside a read: p's peer is gone and nothing is left to read
     * (or the peer's linger ran out); the owner should detach p once the current
     * operation is over. */
    void (*drained)(void *owner, sn_pipe *p);
} sn_pipe_owner_ops;

struct sn_pipe {
    sn_queue *in;
    sn_queue *out;
    sn_pipe *peer;
    sn_link *link;
    void *owner;
    void *owner_aux;        /* set with the owner, never changed: e.g. its I/O thread */
    _Atomic(const sn_pipe_owner_ops *) owner_ops; /* NULL until an owner takes the end */
    _Atomic bool released; /* the owner let go; set once, by the owner */
    /* The owner's high-water marks, which the link's queue limits are computed from
     * (see sn_pipe_set_hwm); -1: the owner has no say (a session). Under the link's
     * hwm_lock. */
    int64_t sndhwm, rcvhwm;

    /* Owner's thread only. */
    bool peer_gone;        /* PEER_TERM seen: drain what is left, then detach */
    bool attached;         /* the pattern knows this pipe */
    bool dead;             /* queued for detach by the socket */
    bool reading_more;     /* the last part read had MORE: a message is half read */
    uint64_t drop_deadline;/* ms clock: discard input after this (peer's linger) */
    uint32_t id;           /* unique within the owning socket: routing id */
    int endpoint;          /* index of the endpoint it came through, -1 if none */
    void *pstate;          /* the pattern's per-pipe state (lb/fq/dist slots...) */
    sn_pipe *next_dead;

    /* I/O-thread owners (sessions) get their commands through this task, posted to
     * their reactor without allocating: posters set a bit per command and post the task
     * when no bit was set; it holds one link reference while queued. */
    sn_task io_task;
    _Atomic unsigned io_pending;

    /* Who is at the other end: set before the end is handed to its owner (from the
     * handshake for tcp/ipc, from the other socket for inproc), then read-only; a
     * reconnect brings a new one through the link's next_peer (sn_pipe_update_peer). */
    sn_peer *peer_info;
    /* The owner's counters (a reference), set with sn_pipe_set_stats when it takes the
     * end: messages still queued toward this end when the link is freed count there. */
    sn_stats *stats;
};

struct sn_link {
    sn_pipe ends[2];
    sn_queue queues[2];
    atomic_int refs;
    pthread_mutex_t hwm_lock; /* the ends' sndhwm and rcvhwm, and the queue limits */
    _Atomic uint64_t linger_deadline[2]; /* set by end i when it lets go: when end
                                            !i must stop draining (ms clock) */
    /* A reconnect's new peer for end i, posted with HICCUP; its owner takes it. */
    _Atomic(sn_peer *) next_peer[2];
    /* Direct output (network links only): the sending application thread may write a
     * message to the connection itself when the link was idle, saving the I/O thread's
     * wake-up. `engine` is registered by the engine while it may be used this way;
     * the engine's output state is touched only under `lock` while registered. */
    struct {
        pthread_mutex_t lock;
        void *engine;
        _Atomic uint64_t last_ns; /* last notification: tells bursts from idle sends */
        uint64_t last_msgs;       /* messages sent by then (sending thread only) */
    } direct;
};

/* Creates a link with both ends unowned, refs = 2 (one per end). end 0 writes queues[0]
 * and reads queues[1]. Its owner-to-be has SNDHWM hwm0 and RCVHWM hwm1; end 1 has no
 * say until sn_pipe_set_hwm is called on it: so queues[0] holds hwm0 messages and
 * queues[1] hwm1 (0 = no limit). */
int sn_link_new(sn_link **out, uint64_t hwm0, uint64_t hwm1);
/* SINEW_CONFLATE: which of a new link's queues keep only their latest message (q0 is
 * written by end 0); before either end is handed to anyone. */
void sn_link_conflate(sn_link *l, bool q0, bool q1);
void sn_link_ref(sn_link *l);
void sn_link_unref(sn_link *l); /* frees on the last reference, closing queued messages */

/* Sets the owner of an unowned end, once, before the end is published to anyone who
 * could post to it (the owner is read by other threads without a lock). */
void sn_pipe_set_owner(sn_pipe *p, void *owner, const sn_pipe_owner_ops *ops);
/* The owner's thread, once, when it takes the end: whose counters record the messages
 * this end never read (left in its in-queue when the link is freed: a peer's linger
 * that ran out, a close or disconnect with unread input). Takes a reference. */
void sn_pipe_set_stats(sn_pipe *p, sn_stats *stats);
/* Before the end is handed over: who the peer is (takes a reference). */
void sn_pipe_set_peer(sn_pipe *p, sn_peer *peer);
/* The peer's side of p learnt who the peer is (a handshake; an inproc bind): p's owner
 * gets PEER_INFO, or HICCUP if a connection was lost and made again, and then the new
 * identity through sn_pipe_take_peer (takes a reference). */
void sn_pipe_update_peer(sn_pipe *p, sn_peer *peer, bool hiccup);
/* p's owner, on PEER_INFO or HICCUP: adopt the new identity, if one came. */
void sn_pipe_take_peer(sn_pipe *p);

/* Owner's thread. check_write arms the writer-waiting bit when false. write takes msg.
 * flush publishes and wakes the peer if it sleeps. read: -EAGAIN when dry. */
bool sn_pipe_check_write(sn_pipe *p);
int sn_pipe_write(sn_pipe *p, sn_msg *msg);
void sn_pipe_flush(sn_pipe *p);
bool sn_pipe_check_read(sn_pipe *p);
int sn_pipe_read(sn_pipe *p, sn_msg *msg);
/* A burst of reads, then read_end (see sn_queue_read_burst). */
int sn_pipe_read_burst(sn_pipe *p, sn_msg *msg);
void sn_pipe_read_end(sn_pipe *p);

/* Owner's thread, after its connection was lost mid-message (multipart messages stay
 * whole across reconnects). rollback: drops the parts of the message p was writing
 * (never published). skip_rest: drops what is left of the message p was reading. Both
 * return the number of parts dropped. */
size_t sn_pipe_rollback(sn_pipe *p);
size_t sn_pipe_skip_rest(sn_pipe *p);

/* Owner's thread (or whoever is about to make itself p's owner): p's owner now has
 * SNDHWM sndhwm and RCVHWM rcvhwm. Recomputes both queue limits of the link: the queue
 * from end A to end B holds A's SNDHWM plus B's RCVHWM messages, no limit if either is
 * 0 (libzmq's inproc rule); an end with no say adds nothing, so a network pipe's queues
 * hold the socket's SNDHWM and RCVHWM. A lower limit applies to new messages. If the
 * limit of p's in-queue rose and the peer waits for room, it gets ACTIVATE_WRITE; if
 * p's out-queue's rose, waking its writer (p's owner) is the caller's business. */
void sn_pipe_set_hwm(sn_pipe *p, int sndhwm, int rcvhwm);

/* Owner lets go of its end: the peer gets PEER_TERM and may drain queued messages until
 * linger_deadline (ms clock; 0 = discard now, UINT64_MAX = forever). Drops the owner's
 * link reference. */
void sn_pipe_release(sn_pipe *p, uint64_t linger_deadline);

/* Posts cmd about p's peer end to the peer's owner (used by the pipe layer itself and
 * by inproc attach). */
void sn_pipe_notify_peer(sn_pipe *p, int cmd);

#endif /* SINEW_CORE_PIPE_H */
