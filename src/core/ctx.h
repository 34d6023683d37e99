/* Contexts: own sockets, the inproc endpoint namespace and the I/O threads; implement
 * termination as libzmq does (blocking calls return ETERM; term returns once every
 * socket is closed). */
#ifndef SINEW_CORE_CTX_H
#define SINEW_CORE_CTX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct sn_socket sn_socket;
typedef struct sn_inproc_entry sn_inproc_entry;
typedef struct sn_reactor sn_reactor;

typedef struct sn_ctx {
    pthread_mutex_t lock; /* everything below that is not atomic */
    pthread_cond_t cond;  /* signalled when a socket is finalized */
    uint64_t gen;
    uint32_t index;
    bool alive;
    atomic_bool terminating;

    int io_threads;
    int max_sockets;
    int blocky;
    int ipv6;             /* SINEW_IPV6: the default of sockets created from now on */
    int sched_policy;     /* SINEW_THREAD_SCHED_POLICY, -1: inherited */
    int sched_priority;   /* SINEW_THREAD_PRIORITY, -1: the policy's lowest */
    bool started;         /* first socket created: the I/O thread settings are fixed */
    sn_reactor **io;      /* io_threads reactors, started with the first socket */
    int nio;
    unsigned next_io;     /* round-robin choice for new connections */

    sn_socket **sockets;  /* open sockets */
    int nsockets, cap;

    sn_inproc_entry *inproc; /* bound names and pending connects */
    int nnet;             /* live listeners and sessions on the I/O threads */
} sn_ctx;

/* API edge helpers: all return 0 or -errno. */
int sn_ctx_create(sn_ctx **out);
sn_ctx *sn_ctx_lookup(void *handle); /* NULL if not a live context */
void *sn_ctx_handle(sn_ctx *c);
int sn_ctx_term(sn_ctx *c);
int sn_ctx_shutdown(sn_ctx *c);
int sn_ctx_set(sn_ctx *c, int option, int value);
int sn_ctx_get(sn_ctx *c, int option);

/* Socket bookkeeping, called by socket.c. */
int sn_ctx_add_socket(sn_ctx *c, sn_socket *s); /* -ETERM, -EMFILE */
void sn_ctx_remove_socket(sn_ctx *c, sn_socket *s);
/* An I/O thread for a new connection (round-robin), or NULL if there are none
 * (SINEW_IO_THREADS = 0): network transports then fail with EMTHREAD. */
sn_reactor *sn_ctx_io_thread(sn_ctx *c);

#endif
