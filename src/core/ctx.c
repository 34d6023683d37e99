/* Contexts (see ctx.h). Context objects are recycled through the handle registry like
 * sockets, so a terminated context's handle fails cleanly (EFAULT) instead of crashing. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/ctx.h"
#include "core/inproc.h"
#include "core/net.h"
#include "core/registry.h"
#include "core/socket.h"
#include "io/reactor.h"

#define GEN_MASK ((UINT64_C(1) << 40) - 1)

int
sn_ctx_create(sn_ctx **out)
{
    uint32_t index;
    sn_ctx *c = sn_registry_recycle(&sn_ctx_registry, &index);
    if (c == NULL) {
        c = calloc(1, sizeof *c);
        if (c == NULL)
            return -ENOMEM;
        pthread_mutex_init(&c->lock, NULL);
        pthread_cond_init(&c->cond, NULL);
        int rc = sn_registry_add(&sn_ctx_registry, c, &index);
        if (rc < 0) {
            pthread_cond_destroy(&c->cond);
            pthread_mutex_destroy(&c->lock);
            free(c);
            return rc;
        }
        c->index = index;
    }
    pthread_mutex_lock(&c->lock);
    c->alive = true;
    atomic_store(&c->terminating, false);
    c->io_threads = SINEW_IO_THREADS_DFLT;
    c->max_sockets = SINEW_MAX_SOCKETS_DFLT;
    c->blocky = 1;
    c->ipv6 = 0;
    c->sched_policy = SINEW_THREAD_SCHED_POLICY_DFLT;
    c->sched_priority = SINEW_THREAD_PRIORITY_DFLT;
    c->started = false;
    c->nsockets = 0;
    c->inproc = NULL;
    c->io = NULL;
    c->nio = 0;
    c->next_io = 0;
    c->nnet = 0;
    pthread_mutex_unlock(&c->lock);
    *out = c;
    return 0;
}

void *
sn_ctx_handle(sn_ctx *c)
{
    return sn_handle_make(SN_KIND_CTX, c->index, c->gen);
}

sn_ctx *
sn_ctx_lookup(void *handle)
{
    uint32_t index;
    uint64_t gen;
    if (!sn_handle_parse(handle, SN_KIND_CTX, &index, &gen))
        return NULL;
    sn_ctx *c = sn_registry_get(&sn_ctx_registry, index);
    if (c == NULL)
        return NULL;
    pthread_mutex_lock(&c->lock);
    bool ok = c->alive && c->gen == gen;
    pthread_mutex_unlock(&c->lock);
    return ok ? c : NULL;
}

/* Wakes every socket so blocked calls notice the termination. Lock held. */
static void
wake_all(sn_ctx *c)
{
    atomic_store(&c->terminating, true);
    for (int i = 0; i < c->nsockets; i++)
        sn_socket_wake(c->sockets[i]);
}

int
sn_ctx_shutdown(sn_ctx *c)
{
    pthread_mutex_lock(&c->lock);
    wake_all(c);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

int
sn_ctx_term(sn_ctx *c)
{
    pthread_mutex_lock(&c->lock);
    wake_all(c);
    /* Sockets first; then connections flushing their last messages (linger). */
    while (c->nsockets > 0 || c->nnet > 0)
        pthread_cond_wait(&c->cond, &c->lock);
    /* Every socket is closed: what is left of the inproc table are connects nobody
     * bound, and no connection is left on the I/O threads. */
    sn_inproc_fini(c);
    for (int i = 0; i < c->nio; i++) {
        sn_reactor_stop(c->io[i]);
        sn_reactor_free(c->io[i]);
    }
    free(c->io);
    c->io = NULL;
    c->nio = 0;
    free(c->sockets);
    c->sockets = NULL;
    c->cap = 0;
    c->alive = false;
    c->gen = (c->gen + 1) & GEN_MASK;
    pthread_mutex_unlock(&c->lock);
    sn_registry_release(&sn_ctx_registry, c->index);
    return 0;
}

static bool
known_policy(int policy)
{
    return policy == -1 || policy == SCHED_OTHER || policy == SCHED_BATCH ||
           policy == SCHED_IDLE || policy == SCHED_FIFO || policy == SCHED_RR;
}

/* An I/O thread setting: fixed once the threads run, with the first socket (libzmq
 * ignores a late change; we say EBUSY). Lock held. */
static int
set_io_option(sn_ctx *c, int *field, int value, bool valid)
{
    if (!valid)
        return -EINVAL;
    if (c->started)
        return -EBUSY;
    *field = value;
    return 0;
}

int
sn_ctx_set(sn_ctx *c, int option, int value)
{
    int rc = 0;
    pthread_mutex_lock(&c->lock);
    switch (option) {
    case SINEW_IO_THREADS:
        rc = set_io_option(c, &c->io_threads, value, value >= 0 && value <= 64);
        break;
    case SINEW_THREAD_SCHED_POLICY:
        rc = set_io_option(c, &c->sched_policy, value, known_policy(value));
        break;
    case SINEW_THREAD_PRIORITY:
        rc = set_io_option(c, &c->sched_priority, value, value >= -1 && value <= 99);
        break;
    case SINEW_MAX_SOCKETS:
        if (value < 1 || value > (int) SN_REGISTRY_MAX - 1)
            rc = -EINVAL;
        else
            c->max_sockets = value;
        break;
    case SINEW_BLOCKY:
        if (value != 0 && value != 1)
            rc = -EINVAL;
        else
            c->blocky = value;
        break;
    case SINEW_IPV6:
        if (value != 0 && value != 1)
            rc = -EINVAL;
        else
            c->ipv6 = value;
        break;
    default:
        rc = -EINVAL;
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int
sn_ctx_get(sn_ctx *c, int option)
{
    int rc;
    pthread_mutex_lock(&c->lock);
    switch (option) {
    case SINEW_IO_THREADS:
        rc = c->io_threads;
        break;
    case SINEW_MAX_SOCKETS:
        rc = c->max_sockets;
        break;
    case SINEW_SOCKET_LIMIT: /* same number as the write-only SINEW_THREAD_PRIORITY */
        rc = (int) SN_REGISTRY_MAX - 1;
        break;
    case SINEW_MSG_T_SIZE:
        rc = (int) sizeof(sinew_msg_t);
        break;
    case SINEW_BLOCKY:
        rc = c->blocky;
        break;
    case SINEW_IPV6:
        rc = c->ipv6;
        break;
    default:
        rc = -EINVAL;
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* The real-time policies need a priority (their lowest unless one was set); the others
 * take only 0, so SINEW_THREAD_PRIORITY is ignored for them. */
static sn_thread_sched
io_sched(const sn_ctx *c)
{
    sn_thread_sched s = {.policy = c->sched_policy, .priority = 0};
    if (s.policy == SCHED_FIFO || s.policy == SCHED_RR)
        s.priority = c->sched_priority >= 0 ? c->sched_priority
                                            : sched_get_priority_min(s.policy);
    return s;
}

/* Starts the I/O threads on first use, as libzmq does. Lock held. */
static int
start_io(sn_ctx *c)
{
    if (c->started || c->io_threads == 0)
        return 0;
    sn_thread_sched sched = io_sched(c);
    c->io = calloc((size_t) c->io_threads, sizeof *c->io);
    if (c->io == NULL)
        return -ENOMEM;
    for (int i = 0; i < c->io_threads; i++) {
        char name[24];
        snprintf(name, sizeof name, "sinew/io/%d", i);
        int rc = sn_reactor_new(&c->io[i], name, &sched);
        if (rc < 0) {
            while (c->nio > 0) {
                sn_reactor_stop(c->io[--c->nio]);
                sn_reactor_free(c->io[c->nio]);
            }
            free(c->io);
            c->io = NULL;
            return rc;
        }
        c->nio++;
    }
    return 0;
}

sn_reactor *
sn_ctx_io_thread(sn_ctx *c)
{
    pthread_mutex_lock(&c->lock);
    sn_reactor *r = c->nio > 0 ? c->io[c->next_io++ % (unsigned) c->nio] : NULL;
    pthread_mutex_unlock(&c->lock);
    return r;
}

int
sn_ctx_add_socket(sn_ctx *c, sn_socket *s)
{
    int rc = 0;
    pthread_mutex_lock(&c->lock);
    if (atomic_load(&c->terminating)) {
        rc = -ETERM;
    } else if (c->nsockets >= c->max_sockets) {
        rc = -EMFILE;
    } else if ((rc = start_io(c)) < 0) {
        /* rc set */
    } else if (c->nsockets == c->cap) {
        int cap = c->cap ? c->cap * 2 : 16;
        sn_socket **v = realloc(c->sockets, (size_t) cap * sizeof *v);
        if (v == NULL)
            rc = -ENOMEM;
        else {
            c->sockets = v;
            c->cap = cap;
        }
    }
    if (rc == 0) {
        c->sockets[c->nsockets++] = s;
        c->started = true;
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void
sn_ctx_remove_socket(sn_ctx *c, sn_socket *s)
{
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->nsockets; i++) {
        if (c->sockets[i] == s) {
            c->sockets[i] = c->sockets[--c->nsockets];
            break;
        }
    }
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

void
sn_ctx_net_add(sn_ctx *c)
{
    pthread_mutex_lock(&c->lock);
    c->nnet++;
    pthread_mutex_unlock(&c->lock);
}

void
sn_ctx_net_done(sn_ctx *c)
{
    pthread_mutex_lock(&c->lock);
    c->nnet--;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}
