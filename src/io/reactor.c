/* epoll reactor thread with an MPSC task mailbox and a timer heap.
 *
 * Mailbox: posters push onto a lock-free LIFO with one CAS; the loop takes the whole
 * list with one exchange and reverses it, which yields FIFO order. The eventfd is
 * written only when the loop may be sleeping, decided by a Dekker-style handshake on
 * `sleeping` and `head` (both seq_cst): the loop stores sleeping=1 then reads head, a
 * poster writes head then reads sleeping, so at least one of them sees the other. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/reactor.h"
#include "io/signaler.h"

#define SN_REACTOR_EVENTS 256

struct sn_io_handle {
    int fd;
    sn_io_cb *cb;
    void *arg;
    bool dead;                 /* deleted; skip any event collected for it */
    sn_io_handle *prev, *next; /* live list, or zombie list once dead */
};

struct sn_reactor {
    /* Shared between threads. */
    _Atomic(sn_task *) head;   /* newest posted task first */
    atomic_bool sleeping;      /* loop may be in (or entering) epoll_wait */
    atomic_bool exited;        /* loop returned: posts are refused */
    pthread_mutex_t stop_lock; /* serialises sn_reactor_stop callers */
    bool joined;               /* under stop_lock */
    sn_task stop_task;         /* preallocated so stop never fails on ENOMEM */

    /* Set at creation, read-only after. */
    int epfd;
    sn_signaler wake;
    pthread_t thread;
    char name[16];
    sn_thread_sched sched;
    sem_t started;             /* posted once the thread has applied sched */
    int start_rc;

    /* Reactor thread only. */
    bool stopping;
    bool dispatching;      /* inside the fd callback loop: defer frees */
    sn_io_handle *live;    /* registered handles, for teardown */
    sn_io_handle *zombies; /* deleted during dispatch, freed after it */
    sn_timers timers;
};

static _Thread_local sn_reactor *reactor_current;

static void
reactor_stop_task(void *arg)
{
    sn_reactor *r = arg;
    r->stopping = true;
}

/* Runs every task posted so far, oldest first. Returns how many ran. */
static size_t
reactor_run_tasks(sn_reactor *r)
{
    sn_task *list = atomic_exchange(&r->head, NULL);
    sn_task *fifo = NULL;
    while (list != NULL) {
        sn_task *next = list->next;
        list->next = fifo;
        fifo = list;
        list = next;
    }
    size_t n = 0;
    while (fifo != NULL) {
        sn_task *t = fifo;
        fifo = t->next;
        bool owned = t->owned; /* fn may free an owned task */
        t->fn(t->arg);
        if (!owned)
            free(t);
        n++;
    }
    return n;
}

static void
reactor_dispatch(sn_reactor *r, struct epoll_event *evs, int n)
{
    r->dispatching = true;
    for (int i = 0; i < n; i++) {
        sn_io_handle *h = evs[i].data.ptr;
        if (h == NULL) {
            sn_signaler_recv(&r->wake);
            continue;
        }
        if (!h->dead)
            h->cb(h->arg, evs[i].events);
    }
    r->dispatching = false;
    while (r->zombies != NULL) {
        sn_io_handle *h = r->zombies;
        r->zombies = h->next;
        free(h);
    }
}

static int
reactor_wait_ms(sn_reactor *r)
{
    int64_t t = sn_timers_timeout(&r->timers, sn_clock_ms());
    if (t > 1000 * 1000)
        return 1000 * 1000; /* re-evaluated on wake-up: keeps the int cast safe */
    return (int)t;
}

/* The thread sets its own scheduling first (glibc's thread attributes know only the
 * real-time policies) and reports the outcome, so a policy the process may not use
 * fails sn_reactor_new instead of going unnoticed. */
static int
apply_sched(const sn_thread_sched *sched)
{
    if (sched->policy < 0)
        return 0;
    struct sched_param param = {.sched_priority = sched->priority};
    return -pthread_setschedparam(pthread_self(), sched->policy, &param);
}

static void *
reactor_main(void *arg)
{
    sn_reactor *r = arg;
    struct epoll_event evs[SN_REACTOR_EVENTS];

    reactor_current = r;
    if (r->name[0] != '\0')
        pthread_setname_np(pthread_self(), r->name);
    r->start_rc = apply_sched(&r->sched);
    sem_post(&r->started);
    if (r->start_rc < 0)
        return NULL;

    for (;;) {
        reactor_run_tasks(r);
        if (r->stopping) {
            /* Tasks posted by the tasks just run (or racing posters) go first. */
            while (reactor_run_tasks(r) > 0)
                ;
            break;
        }
        int timeout = reactor_wait_ms(r);
        if (timeout != 0) {
            atomic_store(&r->sleeping, true);
            if (atomic_load(&r->head) != NULL)
                timeout = 0;
        }
        int n = epoll_wait(r->epfd, evs, SN_REACTOR_EVENTS, timeout);
        atomic_store(&r->sleeping, false);
        if (n > 0)
            reactor_dispatch(r, evs, n);
        sn_timers_run(&r->timers, sn_clock_ms());
    }
    atomic_store(&r->exited, true);
    return NULL;
}

static int
start_thread(sn_reactor *r)
{
    /* The thread inherits a full signal mask: signals go to application threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&r->thread, NULL, reactor_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -rc;
    while (sem_wait(&r->started) != 0)
        ; /* EINTR */
    if (r->start_rc < 0)
        pthread_join(r->thread, NULL);
    return r->start_rc;
}

int
sn_reactor_new(sn_reactor **out, const char *thread_name, const sn_thread_sched *sched)
{
    int rc;
    sn_reactor *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -ENOMEM;
    atomic_init(&r->head, NULL);
    atomic_init(&r->sleeping, false);
    atomic_init(&r->exited, false);
    r->stop_task.fn = reactor_stop_task;
    r->stop_task.arg = r;
    r->stop_task.owned = true;
    if (thread_name != NULL)
        snprintf(r->name, sizeof r->name, "%s", thread_name);
    sn_timers_init(&r->timers);

    rc = pthread_mutex_init(&r->stop_lock, NULL);
    if (rc != 0) {
        rc = -rc;
        goto fail_mutex;
    }
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (r->epfd < 0) {
        rc = -errno;
        goto fail_epoll;
    }
    rc = sn_signaler_init(&r->wake);
    if (rc < 0)
        goto fail_signaler;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, sn_signaler_fd(&r->wake), &ev) < 0) {
        rc = -errno;
        goto fail_thread;
    }

    r->sched = sched != NULL ? *sched : (sn_thread_sched){.policy = -1};
    sem_init(&r->started, 0, 0);
    rc = start_thread(r);
    sem_destroy(&r->started);
    if (rc < 0)
        goto fail_thread;
    *out = r;
    return 0;

fail_thread:
    sn_signaler_close(&r->wake);
fail_signaler:
    close(r->epfd);
fail_epoll:
    pthread_mutex_destroy(&r->stop_lock);
fail_mutex:
    free(r);
    return rc;
}

static void
reactor_push(sn_reactor *r, sn_task *t)
{
    t->next = atomic_load(&r->head);
    while (!atomic_compare_exchange_weak(&r->head, &t->next, t))
        ;
    if (atomic_load(&r->sleeping) && atomic_exchange(&r->sleeping, false))
        sn_signaler_send(&r->wake);
}

int
sn_reactor_post(sn_reactor *r, sn_task_fn *fn, void *arg)
{
    if (atomic_load(&r->exited))
        return -ESHUTDOWN;
    sn_task *t = malloc(sizeof *t);
    if (t == NULL)
        return -ENOMEM;
    *t = (sn_task){.fn = fn, .arg = arg};
    reactor_push(r, t);
    return 0;
}

int
sn_reactor_post_task(sn_reactor *r, sn_task *t)
{
    if (atomic_load(&r->exited))
        return -ESHUTDOWN;
    t->owned = true;
    reactor_push(r, t);
    return 0;
}

bool
sn_reactor_in_thread(sn_reactor *r)
{
    return reactor_current == r;
}

void
sn_reactor_stop(sn_reactor *r)
{
    pthread_mutex_lock(&r->stop_lock);
    if (!r->joined) {
        reactor_push(r, &r->stop_task);
        pthread_join(r->thread, NULL);
        r->joined = true;
    }
    pthread_mutex_unlock(&r->stop_lock);
}

void
sn_reactor_free(sn_reactor *r)
{
    sn_reactor_stop(r);
    sn_task *t = atomic_exchange(&r->head, NULL);
    while (t != NULL) {
        sn_task *next = t->next;
        if (!t->owned)
            free(t);
        else if (t->drop != NULL)
            t->drop(t->arg);
        t = next;
    }
    while (r->live != NULL) {
        sn_io_handle *h = r->live;
        r->live = h->next;
        free(h);
    }
    sn_timers_fini(&r->timers);
    sn_signaler_close(&r->wake);
    close(r->epfd);
    pthread_mutex_destroy(&r->stop_lock);
    free(r);
}

int
sn_reactor_add(sn_reactor *r, int fd, uint32_t events, sn_io_cb *cb, void *arg,
               sn_io_handle **out)
{
    sn_io_handle *h = calloc(1, sizeof *h);
    if (h == NULL)
        return -ENOMEM;
    h->fd = fd;
    h->cb = cb;
    h->arg = arg;
    struct epoll_event ev = {.events = events, .data.ptr = h};
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int rc = -errno;
        free(h);
        return rc;
    }
    h->next = r->live;
    if (r->live != NULL)
        r->live->prev = h;
    r->live = h;
    *out = h;
    return 0;
}

int
sn_reactor_mod(sn_reactor *r, sn_io_handle *h, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = h};
    if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, h->fd, &ev) < 0)
        return -errno;
    return 0;
}

void
sn_reactor_del(sn_reactor *r, sn_io_handle *h)
{
    /* Fails harmlessly (EBADF/ENOENT) if the owner closed the fd first: the kernel
     * dropped the registration with the last reference to the file. */
    epoll_ctl(r->epfd, EPOLL_CTL_DEL, h->fd, NULL);
    if (h->prev != NULL)
        h->prev->next = h->next;
    else
        r->live = h->next;
    if (h->next != NULL)
        h->next->prev = h->prev;
    h->dead = true;
    if (r->dispatching) {
        h->next = r->zombies;
        r->zombies = h;
    } else {
        free(h);
    }
}

sn_timer_id
sn_reactor_timer_add(sn_reactor *r, uint64_t delay_ms, sn_timer_cb *cb, void *arg)
{
    uint64_t now = sn_clock_ms();
    uint64_t deadline = delay_ms > UINT64_MAX - now ? UINT64_MAX : now + delay_ms;
    return sn_timers_add(&r->timers, deadline, cb, arg);
}

void
sn_reactor_timer_cancel(sn_reactor *r, sn_timer_id id)
{
    sn_timers_cancel(&r->timers, id);
}
