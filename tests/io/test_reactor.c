/* Reactor thread: mailbox order and counts across posting threads, fd callbacks,
 * deletion from inside callbacks, timers, and stop semantics. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/reactor.h"
#include "waiter.h"

TestSuite(io_reactor, .timeout = 20.0);

#define WAIT_MS 5000

static sn_reactor *
reactor(void)
{
    sn_reactor *r = NULL;
    cr_assert_eq(sn_reactor_new(&r, "sn-test-io", NULL), 0);
    return r;
}

/* ---- mailbox ---- */

#define POSTERS 4
#define PER_POSTER 20000

struct order {
    sn_reactor *r;
    long next[POSTERS]; /* reactor thread only */
    long total;         /* reactor thread only */
    bool bad;           /* reactor thread only */
};

struct post_arg {
    struct order *o;
    int who;
    long seq;
};

static void
order_task(void *arg)
{
    struct post_arg *p = arg;
    struct order *o = p->o;
    if (!sn_reactor_in_thread(o->r) || o->next[p->who] != p->seq)
        o->bad = true;
    o->next[p->who] = p->seq + 1;
    o->total++;
    free(p);
}

struct poster {
    struct order *o;
    int who;
};

static void *
poster_main(void *arg)
{
    struct poster *ps = arg;
    for (long i = 0; i < PER_POSTER; i++) {
        struct post_arg *p = malloc(sizeof *p);
        p->o = ps->o;
        p->who = ps->who;
        p->seq = i;
        cr_assert_eq(sn_reactor_post(ps->o->r, order_task, p), 0);
    }
    return NULL;
}

Test(io_reactor, tasks_from_many_threads_run_once_each_in_post_order)
{
    struct order o = {.r = reactor()};
    pthread_t th[POSTERS];
    struct poster ps[POSTERS];
    for (int i = 0; i < POSTERS; i++) {
        ps[i] = (struct poster){&o, i};
        pthread_create(&th[i], NULL, poster_main, &ps[i]);
    }
    for (int i = 0; i < POSTERS; i++)
        pthread_join(th[i], NULL);
    cr_assert(!sn_reactor_in_thread(o.r));
    sn_reactor_stop(o.r); /* runs everything queued, then joins: o is ours again */
    cr_assert(!o.bad);
    cr_assert_eq(o.total, (long)POSTERS * PER_POSTER);
    for (int i = 0; i < POSTERS; i++)
        cr_assert_eq(o.next[i], PER_POSTER);
    sn_reactor_free(o.r);
}

static long seq_seen[1000];
static int seq_n;

static void
seq_task(void *arg)
{
    seq_seen[seq_n++] = (long)(intptr_t)arg;
}

Test(io_reactor, single_poster_is_strict_fifo)
{
    sn_reactor *r = reactor();
    for (long i = 0; i < 1000; i++)
        cr_assert_eq(sn_reactor_post(r, seq_task, (void *)(intptr_t)i), 0);
    sn_reactor_stop(r);
    cr_assert_eq(seq_n, 1000);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(seq_seen[i], i);
    sn_reactor_free(r);
}

/* Tasks queued at stop run, and so do tasks they post while the loop winds down. */
static sn_reactor *chain_r;
static int chain_runs;

static void
chain_task(void *arg)
{
    chain_runs++;
    long left = (long)(intptr_t)arg;
    if (left > 0)
        cr_assert_eq(sn_reactor_post(chain_r, chain_task, (void *)(intptr_t)(left - 1)),
                     0);
}

Test(io_reactor, stop_runs_queued_tasks_and_their_children)
{
    chain_r = reactor();
    for (int i = 0; i < 100; i++)
        sn_reactor_post(chain_r, chain_task, (void *)(intptr_t)9);
    sn_reactor_stop(chain_r);
    cr_assert_eq(chain_runs, 100 * 10);
    cr_assert_eq(sn_reactor_post(chain_r, chain_task, NULL), -ESHUTDOWN);
    sn_reactor_stop(chain_r); /* idempotent */
    sn_reactor_free(chain_r);
}

Test(io_reactor, free_without_stop_and_idle_reactor)
{
    sn_reactor *r = reactor();
    sn_reactor_free(r);
    cr_assert_eq(sn_reactor_new(&r, NULL, NULL), 0);
    sn_reactor_free(r);
}

/* ---- fd callbacks ---- */

struct fdctx {
    sn_reactor *r;
    int fd;
    sn_io_handle *h;
    waiter w;
    atomic_long calls;
    uint64_t bytes;
    bool del_in_cb;
};

static void
fd_read_cb(void *arg, uint32_t ev)
{
    struct fdctx *c = arg;
    cr_assert(ev & EPOLLIN);
    char buf[64];
    ssize_t n;
    while ((n = read(c->fd, buf, sizeof buf)) > 0)
        c->bytes += (uint64_t)n;
    atomic_fetch_add(&c->calls, 1);
    waiter_bump(&c->w);
}

static void
fd_add_task(void *arg)
{
    struct fdctx *c = arg;
    cr_assert_eq(sn_reactor_add(c->r, c->fd, EPOLLIN, fd_read_cb, c, &c->h), 0);
    waiter_bump(&c->w);
}

static void
fd_del_task(void *arg)
{
    struct fdctx *c = arg;
    sn_reactor_del(c->r, c->h);
    waiter_bump(&c->w);
}

Test(io_reactor, pipe_readable_calls_back_on_reactor_thread)
{
    int p[2];
    cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    struct fdctx c = {.r = reactor(), .fd = p[0]};
    waiter_init(&c.w);
    sn_reactor_post(c.r, fd_add_task, &c);
    cr_assert(waiter_wait(&c.w, 1, WAIT_MS));
    long want = 1;
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(write(p[1], "hello", 5), 5);
        /* Each write is read fully before the next, so each one is a callback. */
        cr_assert(waiter_wait(&c.w, ++want, WAIT_MS));
    }
    sn_reactor_post(c.r, fd_del_task, &c);
    cr_assert(waiter_wait(&c.w, want + 1, WAIT_MS));
    sn_reactor_stop(c.r);
    cr_assert_eq(c.bytes, 25);
    cr_assert_eq(atomic_load(&c.calls), 5);
    sn_reactor_free(c.r);
    close(p[0]);
    close(p[1]);
    waiter_fini(&c.w);
}

/* An eventfd that is never drained stays readable: level-triggered, it would fire on
 * every iteration unless deleted. */
static void
del_self_cb(void *arg, uint32_t ev)
{
    (void)ev;
    struct fdctx *c = arg;
    atomic_fetch_add(&c->calls, 1);
    sn_reactor_del(c->r, c->h);
}

static void
del_self_add(void *arg)
{
    struct fdctx *c = arg;
    cr_assert_eq(sn_reactor_add(c->r, c->fd, EPOLLIN, del_self_cb, c, &c->h), 0);
}

/* Re-posts itself: every hop is a full loop iteration (epoll_wait included). */
static void
spin_task(void *arg)
{
    struct fdctx *c = arg;
    if (++c->bytes < 50)
        sn_reactor_post(c->r, spin_task, c);
    else
        waiter_bump(&c->w);
}

Test(io_reactor, del_from_own_callback_stops_callbacks)
{
    struct fdctx c = {.r = reactor(), .fd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC)};
    waiter_init(&c.w);
    sn_reactor_post(c.r, del_self_add, &c);
    sn_reactor_post(c.r, spin_task, &c);
    cr_assert(waiter_wait(&c.w, 1, WAIT_MS));
    sn_reactor_stop(c.r);
    cr_assert_eq(atomic_load(&c.calls), 1);
    sn_reactor_free(c.r);
    close(c.fd);
    waiter_fini(&c.w);
}

/* Two fds ready in the same batch; whichever runs first deletes both. The other's
 * event is already collected and must be dropped (ASan catches a use after free). */
struct pair {
    sn_reactor *r;
    int fd[2];
    sn_io_handle *h[2];
    int calls;
    waiter w;
};

static void
pair_cb(void *arg, uint32_t ev)
{
    (void)ev;
    struct pair *p = arg;
    p->calls++;
    sn_reactor_del(p->r, p->h[0]);
    sn_reactor_del(p->r, p->h[1]);
}

static void
pair_add(void *arg)
{
    struct pair *p = arg;
    cr_assert_eq(sn_reactor_add(p->r, p->fd[0], EPOLLIN, pair_cb, p, &p->h[0]), 0);
    cr_assert_eq(sn_reactor_add(p->r, p->fd[1], EPOLLIN, pair_cb, p, &p->h[1]), 0);
}

static void
pair_done(void *arg)
{
    waiter_bump(&((struct pair *)arg)->w);
}

Test(io_reactor, del_of_other_handle_in_same_batch_suppresses_its_event)
{
    struct pair p = {.r = reactor()};
    waiter_init(&p.w);
    p.fd[0] = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
    p.fd[1] = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
    sn_reactor_post(p.r, pair_add, &p);
    sn_reactor_post(p.r, pair_done, &p); /* runs before the first epoll_wait */
    cr_assert(waiter_wait(&p.w, 1, WAIT_MS));
    sn_reactor_stop(p.r);
    cr_assert_eq(p.calls, 1);
    sn_reactor_free(p.r);
    close(p.fd[0]);
    close(p.fd[1]);
    waiter_fini(&p.w);
}

static void
ignore_cb(void *arg, uint32_t ev)
{
    (void)arg;
    (void)ev;
}

static void
eexist_task(void *arg)
{
    struct fdctx *c = arg;
    sn_io_handle *h2;
    cr_assert_eq(sn_reactor_add(c->r, c->fd, EPOLLIN, ignore_cb, c, &c->h), 0);
    cr_assert_eq(sn_reactor_add(c->r, c->fd, EPOLLIN, ignore_cb, c, &h2), -EEXIST);
    cr_assert_eq(sn_reactor_add(c->r, -1, EPOLLIN, ignore_cb, c, &h2), -EBADF);
    cr_assert_eq(sn_reactor_mod(c->r, c->h, EPOLLIN | EPOLLOUT), 0);
    waiter_bump(&c->w);
}

/* Handles left registered are freed by sn_reactor_free (leak check under ASan). */
Test(io_reactor, add_errors_and_teardown_with_live_handles)
{
    struct fdctx c = {.r = reactor(), .fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    waiter_init(&c.w);
    sn_reactor_post(c.r, eexist_task, &c);
    cr_assert(waiter_wait(&c.w, 1, WAIT_MS));
    sn_reactor_free(c.r);
    close(c.fd);
    waiter_fini(&c.w);
}

/* mod switches the watched set: write interest on, then off once seen; read and
 * peer-close readiness arrive as EPOLLIN and EPOLLRDHUP. */
struct modctx {
    sn_reactor *r;
    int fd;
    sn_io_handle *h;
    uint32_t seen[8];
    int n;
    waiter w;
};

static void
mod_cb(void *arg, uint32_t ev)
{
    struct modctx *m = arg;
    m->seen[m->n++] = ev;
    if (ev & EPOLLOUT) {
        cr_assert_eq(sn_reactor_mod(m->r, m->h, EPOLLIN | EPOLLRDHUP), 0);
    } else {
        char buf[16];
        while (read(m->fd, buf, sizeof buf) > 0)
            ;
        if (ev & EPOLLRDHUP)
            sn_reactor_del(m->r, m->h);
    }
    waiter_bump(&m->w);
}

static void
mod_add(void *arg)
{
    struct modctx *m = arg;
    cr_assert_eq(sn_reactor_add(m->r, m->fd, 0, mod_cb, m, &m->h), 0);
    cr_assert_eq(sn_reactor_mod(m->r, m->h, EPOLLOUT), 0);
}

Test(io_reactor, mod_changes_interest_and_reports_peer_close)
{
    int sp[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp),
                 0);
    struct modctx m = {.r = reactor(), .fd = sp[0]};
    waiter_init(&m.w);
    sn_reactor_post(m.r, mod_add, &m);
    cr_assert(waiter_wait(&m.w, 1, WAIT_MS));
    cr_assert_eq(write(sp[1], "x", 1), 1);
    cr_assert(waiter_wait(&m.w, 2, WAIT_MS));
    close(sp[1]);
    cr_assert(waiter_wait(&m.w, 3, WAIT_MS));
    sn_reactor_stop(m.r);
    cr_assert_eq(m.n, 3);
    cr_assert_eq(m.seen[0], EPOLLOUT);
    cr_assert_eq(m.seen[1], EPOLLIN);
    cr_assert(m.seen[2] & EPOLLRDHUP);
    sn_reactor_free(m.r);
    close(sp[0]);
    waiter_fini(&m.w);
}

/* ---- timers ---- */

struct tctx {
    sn_reactor *r;
    int order[16];
    int n;
    sn_timer_id ids[16];
    uint64_t start;
    uint64_t at[16];
    waiter w;
};

struct tref {
    struct tctx *t;
    int idx;
};

static struct tref trefs[16];

static void
timer_cb(void *arg)
{
    struct tref *ref = arg;
    struct tctx *t = ref->t;
    cr_assert(sn_reactor_in_thread(t->r));
    t->at[ref->idx] = sn_clock_ms();
    t->order[t->n++] = ref->idx;
    waiter_bump(&t->w);
}

/* Timer 5 (5 ms) cancels timer 6 (40 ms) and cancels itself (already fired: no-op). */
static void
canceller_cb(void *arg)
{
    struct tref *ref = arg;
    struct tctx *t = ref->t;
    sn_reactor_timer_cancel(t->r, t->ids[6]);
    sn_reactor_timer_cancel(t->r, t->ids[5]);
    sn_reactor_timer_cancel(t->r, 0x1234567ull);
    timer_cb(arg);
}

static void
timers_arm(void *arg)
{
    struct tctx *t = arg;
    uint64_t delay[] = {60, 20, 40, 0, 20};
    t->start = sn_clock_ms();
    for (int i = 0; i < 5; i++) {
        trefs[i] = (struct tref){t, i};
        t->ids[i] = sn_reactor_timer_add(t->r, delay[i], timer_cb, &trefs[i]);
        cr_assert_neq(t->ids[i], 0);
    }
    trefs[5] = (struct tref){t, 5};
    t->ids[5] = sn_reactor_timer_add(t->r, 5, canceller_cb, &trefs[5]);
    trefs[6] = (struct tref){t, 6};
    t->ids[6] = sn_reactor_timer_add(t->r, 40, timer_cb, &trefs[6]);
    trefs[7] = (struct tref){t, 7};
    t->ids[7] = sn_reactor_timer_add(t->r, 30, timer_cb, &trefs[7]);
    sn_reactor_timer_cancel(t->r, t->ids[7]);
}

Test(io_reactor, timers_fire_in_deadline_order_and_cancel_works)
{
    struct tctx t = {.r = reactor()};
    waiter_init(&t.w);
    sn_reactor_post(t.r, timers_arm, &t);
    cr_assert(waiter_wait(&t.w, 6, WAIT_MS));
    sn_reactor_stop(t.r);
    int want[] = {3, 5, 1, 4, 2, 0};
    cr_assert_eq(t.n, 6);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(t.order[i], want[i], "position %d", i);
    uint64_t delay[] = {60, 20, 40, 0, 20, 5};
    for (int i = 0; i < 6; i++)
        cr_assert_geq(t.at[i] - t.start, delay[i], "timer %d early", i);
    sn_reactor_free(t.r);
    waiter_fini(&t.w);
}

#define MANY 5000

struct many {
    sn_reactor *r;
    uint64_t lo[MANY], hi[MANY]; /* bounds of each deadline: the clock may tick mid-add */
    uint64_t last_lo;
    int fired;
    bool out_of_order;
    bool early;
    waiter w;
};

struct many_ref {
    struct many *m;
    int i;
};

static struct many_ref many_refs[MANY];

static void
many_cb(void *arg)
{
    struct many_ref *ref = arg;
    struct many *m = ref->m;
    /* Fired after a timer whose deadline is surely later: out of order. */
    if (m->hi[ref->i] < m->last_lo)
        m->out_of_order = true;
    if (sn_clock_ms() < m->lo[ref->i])
        m->early = true;
    if (m->lo[ref->i] > m->last_lo)
        m->last_lo = m->lo[ref->i];
    if (++m->fired == MANY)
        waiter_bump(&m->w);
}

static void
many_arm(void *arg)
{
    struct many *m = arg;
    srand(7);
    for (int i = 0; i < MANY; i++) {
        uint64_t delay = (uint64_t)(rand() % 100);
        many_refs[i] = (struct many_ref){m, i};
        m->lo[i] = sn_clock_ms() + delay;
        cr_assert_neq(sn_reactor_timer_add(m->r, delay, many_cb, &many_refs[i]), 0);
        m->hi[i] = sn_clock_ms() + delay;
    }
}

Test(io_reactor, many_timers_all_fire_in_order)
{
    static struct many m;
    m.r = reactor();
    waiter_init(&m.w);
    sn_reactor_post(m.r, many_arm, &m);
    cr_assert(waiter_wait(&m.w, 1, WAIT_MS));
    sn_reactor_stop(m.r);
    cr_assert_eq(m.fired, MANY);
    cr_assert(!m.out_of_order);
    cr_assert(!m.early);
    sn_reactor_free(m.r);
    waiter_fini(&m.w);
}

/* Armed timers at free time are dropped without callbacks, memory released. */
static void
far_timer_cb(void *arg)
{
    (void)arg;
    cr_assert_fail("far timer fired");
}

static void
far_arm(void *arg)
{
    sn_reactor *r = arg;
    for (int i = 0; i < 100; i++)
        sn_reactor_timer_add(r, 3600 * 1000, far_timer_cb, NULL);
}

Test(io_reactor, stop_does_not_wait_for_timers)
{
    sn_reactor *r = reactor();
    sn_reactor_post(r, far_arm, r);
    sn_reactor_stop(r);
    sn_reactor_free(r);
}

/* ---- caller-owned tasks ---- */

struct owned {
    sn_task task;
    atomic_int runs, drops;
    sn_reactor *r;
    int again; /* times to post itself again from its own run */
};

static void
owned_run(void *arg)
{
    struct owned *o = arg;
    atomic_fetch_add(&o->runs, 1);
    if (o->again-- > 0) /* off the queue while it runs: it may go back on */
        cr_assert_eq(sn_reactor_post_task(o->r, &o->task), 0);
}

static void
owned_drop(void *arg)
{
    atomic_fetch_add(&((struct owned *) arg)->drops, 1);
}

/* Posting a task the caller owns allocates nothing and the reactor never frees it; it
 * may be posted again from its own run. */
Test(io_reactor, owned_task_runs_and_reposts_without_allocation)
{
    static struct owned o;
    o.r = reactor();
    o.again = 3;
    o.task = (sn_task){.fn = owned_run, .drop = owned_drop, .arg = &o};
    cr_assert_eq(sn_reactor_post_task(o.r, &o.task), 0);
    sn_reactor_stop(o.r);
    cr_assert_eq(atomic_load(&o.runs), 4);
    cr_assert_eq(atomic_load(&o.drops), 0);
    cr_assert_eq(sn_reactor_post_task(o.r, &o.task), -ESHUTDOWN);
    sn_reactor_free(o.r);
}
