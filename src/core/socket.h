/* Sockets: the pattern-independent half. Blocking, timeouts, SINEW_DONTWAIT, ETERM,
 * thread safety, command processing and pipe bookkeeping are written once here; routing
 * is the pattern's (src/patterns/pattern.h).
 *
 * Thread safety: every operation runs under the socket's mutex; a blocked call releases
 * it while it waits, so one thread may receive while another sends. A multipart message
 * belongs to the thread that started it until its last part: other threads' sends (or
 * receives) wait, so parts of different messages never interleave. */
#ifndef SINEW_CORE_SOCKET_H
#define SINEW_CORE_SOCKET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/ctx.h"
#include "core/mailbox.h"
#include "core/msg.h"
#include "core/options.h"
#include "core/pipe.h"
#include "core/stats.h"
#include "patterns/pattern.h"
#include "sinew.h"

typedef struct sn_endpoint_rec {
    char *uri;          /* as given; for network binds, as resolved (LAST_ENDPOINT) */
    bool bound;
    void *net;          /* sn_listener (bound) or sn_session (connected), or NULL */
} sn_endpoint_rec;

/* Cache-line aligned (allocate it so): what other threads write when they post to the
 * socket (mailbox, wake-up state) stays off the lines its own thread works on. */
struct sn_socket {
    _Alignas(SN_CACHELINE) pthread_mutex_t lock;
    uint64_t gen;       /* handle generation, checked under lock */
    uint32_t index;     /* registry slot */
    bool open;          /* false once closed: handles stop resolving */
    int inside;         /* threads inside an API call on this socket */

    sn_ctx *ctx;
    const sn_pattern_ops *ops;
    void *pattern;
    sn_options opt;
    _Alignas(SN_CACHELINE) sn_mailbox mailbox;

    /* Waiting: posters bump wake_seq and futex-wake it when someone sleeps. */
    _Alignas(SN_CACHELINE) _Atomic uint32_t wake_seq;
    atomic_int sleepers;
    uint32_t spin_ns;   /* adaptive spin budget, <= opt.spin_us */
    atomic_int wake_cpu; /* CPU of the last post to the mailbox (a peer), -1 unknown */
    /* A receive waiting on its connection's fd (direct input) waits on this eventfd
     * too; posters write it when someone polls. */
    atomic_int wait_fd;
    atomic_int pollers;
    /* Threads in sinew_wait_peers: a peer's handshake wakes the socket only for them. */
    atomic_int joiners;

    /* Multipart ownership between threads. */
    _Alignas(SN_CACHELINE) bool send_busy, recv_busy;
    pthread_t send_owner, recv_owner;
    bool rcvmore;
    /* Traffic counters (sinew_socket_stats): under the lock, so plain; a message counts
     * at its last part, its bytes at every part. */
    uint64_t msgs_in, bytes_in, msgs_out, bytes_out;

    /* SINEW_FD (edge: "events may have changed") and SINEW_READY_FD (level). */
    atomic_int event_fd, ready_fd;
    atomic_bool event_signaled, ready_signaled;

    sn_pipe **pipes;    /* attached pipes */
    int npipes, pipes_cap;
    sn_pipe *dead;      /* drained pipes whose peer left: detach after this op */
    uint32_t next_pipe_id;

    sn_endpoint_rec *endpoints;
    int nendpoints;

    sn_stats *stats;
    struct sn_monitor *monitor;
};

extern const sn_pipe_owner_ops sn_socket_pipe_ops;

int sn_socket_create(sn_ctx *ctx, int type, sn_socket **out);
/* Resolves a handle and enters the socket: lock held, inside counted. */
sn_socket *sn_socket_enter(void *handle);
void sn_socket_leave(sn_socket *s);
void *sn_socket_handle(sn_socket *s);

/* All below: lock held (between enter and leave). */
int sn_socket_close(sn_socket *s);
int sn_socket_send(sn_socket *s, sn_msg *m, int flags);
int sn_socket_recv(sn_socket *s, sn_msg *m, int flags);
int sn_socket_setopt(sn_socket *s, int option, const void *val, size_t len);
int sn_socket_getopt(sn_socket *s, int option, void *val, size_t *len);
int sn_socket_bind(sn_socket *s, const char *endpoint);
int sn_socket_connect(sn_socket *s, const char *endpoint);
int sn_socket_unbind(sn_socket *s, const char *endpoint);
int sn_socket_disconnect(sn_socket *s, const char *endpoint);
int sn_socket_events(sn_socket *s); /* SINEW_POLLIN | SINEW_POLLOUT */
/* For sinew_poll: the edge fd (created on first use), with its signal consumed. */
int sn_socket_poll_fd(sn_socket *s);

/* sinew_socket_stats and sinew_socket_peers (see sinew_counters(7)); peers returns
 * how many peers the socket has, filling at most max records. */
int sn_socket_stats(sn_socket *s, sinew_socket_stats_t *st);
int sn_socket_peers(sn_socket *s, sinew_peer_stats_t *peers, int max);
/* sinew_wait_peers: waits until n peers joined (the pattern's joined slot); returns how
 * many did, -EAGAIN at the timeout (ms, -1 = none). */
int sn_socket_wait_peers(sn_socket *s, int n, int timeout_ms);

/* Adopts a pipe end (the socket's thread): attaches it to the pattern; -EBUSY if the
 * pattern refuses it (the end is released). endpoint: index in endpoints or -1. */
int sn_socket_attach(sn_socket *s, sn_pipe *p, int endpoint);

/* Any thread: something this socket may wait for changed. */
void sn_socket_wake(sn_socket *s);

/* I/O threads: hands pipe end p to socket s if s is still the socket with handle
 * generation gen (it may have been closed and its slot reused). */
bool sn_socket_offer_pipe(sn_socket *s, uint64_t gen, sn_pipe *p, int endpoint);
int sn_socket_monitor(sn_socket *s, const char *addr, int events);

#endif
