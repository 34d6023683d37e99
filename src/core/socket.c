/* The socket core: lifecycle, command processing, blocking send/recv with timeouts and
 * adaptive spinning, multipart ownership between threads, and the event descriptors. */
#include <linux/futex.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/inproc.h"
#include "core/monitor.h"
#include "core/net.h"
#include "core/registry.h"
#include "core/socket.h"
#include "core/spin.h"
#include "io/clock.h"
#include "transports/transport.h"

#define GEN_MASK ((UINT64_C(1) << 40) - 1)

static bool socket_post(void *owner, sn_pipe *p, int cmd);
static void socket_drained(void *owner, sn_pipe *p);

const sn_pipe_owner_ops sn_socket_pipe_ops = {
    .post = socket_post,
    .drained = socket_drained,
};

/* ---- lifecycle -------------------------------------------------------------------- */

static sn_socket *
socket_obtain(void)
{
    uint32_t index;
    sn_socket *s = sn_registry_recycle(&sn_socket_registry, &index);
    if (s != NULL) {
        sn_mailbox_reopen(&s->mailbox);
        return s;
    }
    s = aligned_alloc(SN_CACHELINE, sizeof *s);
    if (s == NULL)
        return NULL;
    memset(s, 0, sizeof *s);
    if (sn_mailbox_init(&s->mailbox) < 0) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    atomic_init(&s->wake_seq, 0);
    atomic_init(&s->sleepers, 0);
    atomic_init(&s->wake_cpu, -1);
    if (sn_registry_add(&sn_socket_registry, s, &index) < 0) {
        sn_mailbox_fini(&s->mailbox);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
    }
    s->index = index;
    return s;
}

static void
pattern_fini(sn_socket *s)
{
    if (s->ops->fini != NULL)
        s->ops->fini(s->pattern);
}

int
sn_socket_create(sn_ctx *ctx, int type, sn_socket **out)
{
    const sn_pattern_ops *ops = sn_pattern_lookup(type);
    if (ops == NULL)
        return -EINVAL;
    sn_socket *s = socket_obtain();
    if (s == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&s->lock);
    s->ops = ops;
    s->pattern = calloc(1, ops->state_size ? ops->state_size : 1);
    int rc = s->pattern == NULL ? -ENOMEM : ops->init ? ops->init(s->pattern, s) : 0;
    if (rc < 0)
        goto fail;
    s->ctx = ctx;
    pthread_mutex_lock(&ctx->lock); /* the context's defaults for new sockets */
    sn_options_defaults(&s->opt, type, ctx->blocky ? -1 : 0, ctx->ipv6);
    pthread_mutex_unlock(&ctx->lock);
    s->spin_ns = (uint32_t) s->opt.spin_us * 1000u;
    s->send_busy = s->recv_busy = s->rcvmore = false;
    atomic_init(&s->event_fd, -1);
    atomic_init(&s->ready_fd, -1);
    atomic_init(&s->wait_fd, -1);
    atomic_init(&s->pollers, 0);
    atomic_init(&s->joiners, 0);
    s->msgs_in = s->bytes_in = s->msgs_out = s->bytes_out = 0;
    atomic_init(&s->event_signaled, false);
    atomic_init(&s->ready_signaled, false);
    s->npipes = 0;
    s->dead = NULL;
    s->next_pipe_id = 1;
    s->nendpoints = 0;
    s->inside = 0;
    s->monitor = sn_monitor_new();
    s->stats = sn_stats_new();
    rc = s->monitor == NULL || s->stats == NULL ? -ENOMEM : sn_ctx_add_socket(ctx, s);
    if (rc < 0)
        goto fail_objects;
    s->open = true;
    pthread_mutex_unlock(&s->lock);
    *out = s;
    return 0;
fail_objects:
    pattern_fini(s);
    if (s->monitor != NULL)
        sn_monitor_unref(s->monitor);
    sn_stats_unref(s->stats);
fail:
    free(s->pattern);
    s->pattern = NULL;
    s->gen = (s->gen + 1) & GEN_MASK;
    sn_mailbox_close(&s->mailbox);
    pthread_mutex_unlock(&s->lock);
    sn_registry_release(&sn_socket_registry, s->index);
    return rc;
}

void *
sn_socket_handle(sn_socket *s)
{
    return sn_handle_make(SN_KIND_SOCKET, s->index, s->gen);
}

sn_socket *
sn_socket_enter(void *handle)
{
    uint32_t index;
    uint64_t gen;
    if (!sn_handle_parse(handle, SN_KIND_SOCKET, &index, &gen))
        return NULL;
    sn_socket *s = sn_registry_get(&sn_socket_registry, index);
    if (s == NULL)
        return NULL;
    pthread_mutex_lock(&s->lock);
    if (!s->open || s->gen != gen) {
        pthread_mutex_unlock(&s->lock);
        return NULL;
    }
    s->inside++;
    return s;
}

static void
close_fd(atomic_int *fd)
{
    int f = atomic_exchange(fd, -1);
    if (f >= 0)
        close(f);
}

/* Last thread out of a closed socket: free what is left and recycle the slot. */
static void
socket_finalize(sn_socket *s)
{
    sn_zmtp_security_wipe(&s->opt.sec);
    pattern_fini(s);
    free(s->pattern);
    s->pattern = NULL;
    free(s->pipes);
    s->pipes = NULL;
    s->pipes_cap = 0;
    for (int i = 0; i < s->nendpoints; i++)
        free(s->endpoints[i].uri);
    free(s->endpoints);
    s->endpoints = NULL;
    s->nendpoints = 0;
    close_fd(&s->event_fd);
    close_fd(&s->ready_fd);
    close_fd(&s->wait_fd);
    sn_monitor_unref(s->monitor);
    s->monitor = NULL;
    sn_stats_unref(s->stats);
    s->stats = NULL;
    sn_ctx *ctx = s->ctx;
    s->ctx = NULL;
    pthread_mutex_unlock(&s->lock);
    sn_ctx_remove_socket(ctx, s);
    sn_registry_release(&sn_socket_registry, s->index);
}

void
sn_socket_leave(sn_socket *s)
{
    s->inside--;
    if (!s->open && s->inside == 0)
        socket_finalize(s);
    else
        pthread_mutex_unlock(&s->lock);
}

/* ---- waking and waiting ----------------------------------------------------------- */

static void
fd_signal(atomic_int *fd, atomic_bool *signaled)
{
    int f = atomic_load_explicit(fd, memory_order_acquire);
    if (f >= 0 && !atomic_exchange(signaled, true)) {
        uint64_t one = 1;
        ssize_t n = write(f, &one, sizeof one);
        (void) n; /* an eventfd write of 1 cannot fail short of overflow */
    }
}

static void
fd_clear(atomic_int *fd, atomic_bool *signaled)
{
    int f = atomic_load_explicit(fd, memory_order_acquire);
    if (f >= 0 && atomic_exchange(signaled, false)) {
        uint64_t v;
        ssize_t n = read(f, &v, sizeof v);
        (void) n; /* EAGAIN is fine: already clear */
    }
}

void
sn_socket_wake(sn_socket *s)
{
    atomic_fetch_add(&s->wake_seq, 1);
    if (atomic_load(&s->sleepers) > 0)
        syscall(SYS_futex, &s->wake_seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    if (atomic_load(&s->pollers) > 0) {
        uint64_t one = 1;
        ssize_t n = write(atomic_load(&s->wait_fd), &one, sizeof one);
        (void) n; /* an eventfd write of 1 cannot fail short of overflow */
    }
    fd_signal(&s->event_fd, &s->event_signaled);
}

static void
wake_cb(void *arg)
{
    sn_socket_wake(arg);
}

static bool
socket_post(void *owner, sn_pipe *p, int cmd)
{
    sn_socket *s = owner;
    if (sn_mailbox_post(&s->mailbox, (sn_cmd){.type = cmd, .pipe = p}) < 0)
        return false;
    /* Where the peer runs, for our next spin (socket_wait). Not in sn_socket_wake: our
     * own threads wake the socket too (turns, close), and are no peer to wait for.
     * Stored only when it changed: a waiter spins on this cache line, and a store on
     * every post made each inproc hop 0.1 us slower on an idle machine. */
    int cpu = sched_getcpu();
    if (atomic_load_explicit(&s->wake_cpu, memory_order_relaxed) != cpu)
        atomic_store_explicit(&s->wake_cpu, cpu, memory_order_relaxed);
    if (cmd == SN_CMD_ACTIVATE_READ || cmd == SN_CMD_ATTACH)
        fd_signal(&s->ready_fd, &s->ready_signaled);
    /* Who the peer is changes nothing the application waits for (it is taken in at the
     * next call, before any message from that peer is looked at), unless it waits for
     * peers to join (sinew_wait_peers). */
    if (cmd != SN_CMD_PEER_INFO || atomic_load_explicit(&s->joiners, memory_order_acquire) > 0)
        sn_socket_wake(s);
    return true;
}

static int lazy_eventfd(atomic_int *fd);

/* p came through a tcp or ipc endpoint that is still there (inproc pipes never lead to
 * a connection to borrow). Lock held. */
static bool
pipe_is_net(sn_socket *s, sn_pipe *p)
{
    return p->endpoint >= 0 && p->endpoint < s->nendpoints &&
           s->endpoints[p->endpoint].net != NULL;
}

#define BORROW_RETRY_NS 1000000u /* input busy in the I/O thread: look again this soon */

/* Direct input (see net.h): waits on the connection's fd and our wait_fd instead of
 * the futex, so that what arrives wakes this thread only. Returns 0 after such a wait,
 * or why l's connection could not be borrowed (-EBUSY: only for now). Lock not held. */
static int
direct_wait(sn_socket *s, sn_link *l, int wfd, uint32_t seq, uint64_t deadline)
{
    uint64_t token;
    int fd = sn_session_input_borrow(l, wake_cb, s, &token);
    if (fd < 0)
        return fd;
    struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN}, {.fd = wfd, .events = POLLIN}};
    bool again;
    do {
        pfd[0].revents = pfd[1].revents = 0;
        atomic_fetch_add(&s->pollers, 1);
        int ms = -1;
        if (deadline != UINT64_MAX) {
            uint64_t now = sn_clock_ns();
            ms = now >= deadline ? 0 : (int) ((deadline - now + 999999u) / 1000000u);
        }
        bool woken = atomic_load(&s->wake_seq) != seq; /* e.g. a post before pollers rose */
        if (!woken && poll(pfd, 2, ms) < 0)
            pfd[0].revents = pfd[1].revents = 0; /* EINTR: look again */
        atomic_fetch_sub(&s->pollers, 1); /* before return, whose delivery posts to us */
        if (pfd[1].revents & POLLIN) {
            uint64_t v;
            ssize_t n = read(wfd, &v, sizeof v);
            (void) n; /* EAGAIN: a concurrent waiter took it, fine */
            woken = true;
        }
        bool may_keep = !woken && pfd[0].revents != 0 &&
                        (deadline == UINT64_MAX || sn_clock_ns() < deadline);
        again = sn_session_input_return(l, token, pfd[0].revents != 0, may_keep);
    } while (again);
    return 0;
}

/* Sleeps until wake_seq moves from seq or deadline (ns, UINT64_MAX = never) passes.
 * Lock not held. */
static void
futex_sleep(sn_socket *s, uint32_t seq, uint64_t deadline)
{
    uint64_t now = sn_clock_ns();
    if (now >= deadline)
        return;
    struct timespec ts, *tsp = NULL;
    if (deadline != UINT64_MAX) {
        uint64_t left = deadline - now;
        ts.tv_sec = (time_t) (left / 1000000000u);
        ts.tv_nsec = (long) (left % 1000000000u);
        tsp = &ts;
    }
    atomic_fetch_add(&s->sleepers, 1);
    syscall(SYS_futex, &s->wake_seq, FUTEX_WAIT_PRIVATE, seq, tsp, NULL, 0);
    atomic_fetch_sub(&s->sleepers, 1);
}

/* Waits until something may have changed or deadline (ns, UINT64_MAX = never) passes.
 * Lock held on entry and exit. Spins first, for a budget that doubles when spinning
 * paid off and halves when it did not, so idle sockets soon stop burning CPU; and not at
 * all while the peer that last posted to us ran on our CPU (src/core/spin.h). A receive
 * (input) may wait on its peer's connection instead (direct_wait). */
static void
socket_wait(sn_socket *s, uint64_t deadline, bool input)
{
    uint32_t seq = atomic_load(&s->wake_seq);
    if (sn_mailbox_pending(&s->mailbox))
        return;
    uint32_t budget = s->spin_ns;
    uint32_t max = (uint32_t) s->opt.spin_us * 1000u;
    /* A receive on a socket with one peer may wait on that peer's connection. */
    sn_link *dl = NULL;
    int wfd = -1;
    if (input && s->npipes == 1 && pipe_is_net(s, s->pipes[0]) &&
        (wfd = lazy_eventfd(&s->wait_fd)) >= 0) {
        dl = s->pipes[0]->link;
        sn_link_ref(dl);
    }
    pthread_mutex_unlock(&s->lock);

    if (dl != NULL) {
        int rc = direct_wait(s, dl, wfd, seq, deadline);
        sn_link_unref(dl);
        if (rc == 0) {
            pthread_mutex_lock(&s->lock);
            return;
        }
        /* The I/O thread is using the input (e.g. answering a PING): sleep a little
         * only, then try to take the connection again. */
        uint64_t now = sn_clock_ns();
        if (rc == -EBUSY && deadline > now + BORROW_RETRY_NS)
            deadline = now + BORROW_RETRY_NS;
    }
    /* A peer that last posted from this CPU is preempted or asleep: spinning would only
     * hold it off (with a busy loop per core, such spins almost never saw a wake-up). */
    int cpu = sched_getcpu();
    bool peer_here =
        cpu >= 0 && cpu == atomic_load_explicit(&s->wake_cpu, memory_order_relaxed);
    uint32_t spin = sn_spin_now(budget, peer_here);
    bool woke = false;
    if (spin > 0) {
        uint64_t start = sn_clock_ns(), end = start + spin;
        if (end > deadline)
            end = deadline;
        for (;;) {
            for (int i = 0; i < 64 && !woke; i++) {
                woke = atomic_load_explicit(&s->wake_seq, memory_order_acquire) != seq;
                __builtin_ia32_pause();
            }
            if (woke || sn_clock_ns() >= end)
                break;
        }
    }
    budget = sn_spin_next(budget, max, spin > 0, woke);
    if (!woke)
        futex_sleep(s, seq, deadline);
    pthread_mutex_lock(&s->lock);
    s->spin_ns = budget;
}

/* ---- pipes and commands ----------------------------------------------------------- */

static void
socket_drained(void *owner, sn_pipe *p)
{
    sn_socket *s = owner;
    if (!p->dead && p->attached) {
        p->dead = true;
        p->next_dead = s->dead;
        s->dead = p;
    }
}

static void peer_left(sn_socket *s, sn_pipe *p);

int
sn_socket_attach(sn_socket *s, sn_pipe *p, int endpoint)
{
    if (s->npipes == s->pipes_cap) {
        int cap = s->pipes_cap ? s->pipes_cap * 2 : 4;
        sn_pipe **pipes = realloc(s->pipes, (size_t) cap * sizeof *pipes);
        if (pipes == NULL) {
            sn_pipe_release(p, 0);
            return -ENOMEM;
        }
        s->pipes = pipes;
        s->pipes_cap = cap;
    }
    /* An end handed over by another thread (ATTACH) has its owner set already, and
     * that thread may be reading it: set it only on ends we made ourselves. */
    if (atomic_load_explicit(&p->owner_ops, memory_order_acquire) == NULL)
        sn_pipe_set_owner(p, s, &sn_socket_pipe_ops);
    sn_pipe_set_stats(p, s->stats);
    p->id = s->next_pipe_id++;
    p->endpoint = endpoint;
    if (s->ops->pipe_state_size > 0) {
        p->pstate = calloc(1, s->ops->pipe_state_size);
        if (p->pstate == NULL) {
            sn_pipe_release(p, 0);
            return -ENOMEM;
        }
    }
    sn_pipe_set_hwm(p, s->opt.sndhwm, s->opt.rcvhwm); /* today's, not the bind's */
    int rc = s->ops->attach(s->pattern, p);
    if (rc < 0) {
        free(p->pstate);
        p->pstate = NULL;
        sn_pipe_release(p, 0);
        return rc;
    }
    p->attached = true;
    s->pipes[s->npipes++] = p;
    /* An end its peer let go of before we owned it (an inproc connect whose socket
     * closed before anyone bound): its PEER_TERM went nowhere. */
    if (atomic_load_explicit(&p->peer->released, memory_order_acquire))
        peer_left(s, p);
    return 0;
}

static uint64_t
linger_deadline(sn_socket *s)
{
    if (s->opt.linger < 0)
        return UINT64_MAX;
    return s->opt.linger == 0 ? 0 : sn_clock_ms() + (uint64_t) s->opt.linger;
}

static void
detach(sn_socket *s, sn_pipe *p, uint64_t deadline)
{
    s->ops->detach(s->pattern, p);
    /* A message we were writing to p, unfinished, never reaches anyone. The pattern
     * counted it (it knows, and discards the parts still to come); its parts already
     * written go now, so that the link's end does not count them a second time. */
    sn_pipe_rollback(p);
    free(p->pstate);
    p->pstate = NULL;
    p->attached = false;
    for (int i = 0; i < s->npipes; i++) {
        if (s->pipes[i] == p) {
            s->pipes[i] = s->pipes[--s->npipes];
            break;
        }
    }
    sn_pipe_release(p, deadline);
}

static void
reap_dead(sn_socket *s)
{
    while (s->dead != NULL) {
        sn_pipe *p = s->dead;
        s->dead = p->next_dead;
        if (p->attached)
            detach(s, p, 0);
    }
}

static void
pattern_readable(sn_socket *s, sn_pipe *p)
{
    if (s->ops->readable != NULL)
        s->ops->readable(s->pattern, p);
}

static void
pattern_writable(sn_socket *s, sn_pipe *p)
{
    if (s->ops->writable != NULL)
        s->ops->writable(s->pattern, p);
}

/* p's peer let go: drain what it left until its linger deadline, then detach (a message
 * being read is finished first, see peer_expired). */
static void
peer_left(sn_socket *s, sn_pipe *p)
{
    sn_link *l = p->link;
    p->peer_gone = true;
    p->drop_deadline = atomic_load(&l->linger_deadline[p->peer - l->ends]);
    if ((p->drop_deadline == 0 && !p->reading_more) || !sn_pipe_check_read(p))
        socket_drained(s, p);
    else
        pattern_readable(s, p);
}

static void
handle_cmd(sn_socket *s, sn_cmd c)
{
    sn_pipe *p = c.pipe;
    if (c.type == SN_CMD_ATTACH) {
        sn_socket_attach(s, p, p->endpoint);
        return;
    }
    if (!p->attached)
        return; /* stale: we already let go of this end */
    switch (c.type) {
    case SN_CMD_ACTIVATE_READ:
        pattern_readable(s, p);
        break;
    case SN_CMD_ACTIVATE_WRITE:
        pattern_writable(s, p);
        break;
    case SN_CMD_PEER_INFO:
        sn_pipe_take_peer(p);
        break;
    case SN_CMD_HICCUP:
        sn_pipe_take_peer(p);
        sn_stats_add(&s->stats->reconnects, 1);
        if (s->ops->hiccup != NULL)
            s->ops->hiccup(s->pattern, p);
        break;
    case SN_CMD_PEER_TERM:
        peer_left(s, p);
        break;
    }
}

static void
process_commands(sn_socket *s)
{
    while (sn_mailbox_pending(&s->mailbox)) {
        sn_cmd cmds[32];
        size_t n = sn_mailbox_take(&s->mailbox, cmds, 32);
        for (size_t i = 0; i < n; i++) {
            handle_cmd(s, cmds[i]);
            sn_link_unref(cmds[i].pipe->link); /* the reference the poster took */
        }
    }
    reap_dead(s);
}

/* ---- close ------------------------------------------------------------------------ */

static void
stop_net(sn_endpoint_rec *rec)
{
    if (rec->net == NULL)
        return;
    if (rec->bound)
        sn_listener_stop(rec->net);
    else
        sn_session_stop(rec->net);
    rec->net = NULL;
}

bool
sn_socket_offer_pipe(sn_socket *s, uint64_t gen, sn_pipe *p, int endpoint)
{
    pthread_mutex_lock(&s->lock);
    bool ok = s->open && s->gen == gen;
    if (ok) {
        sn_pipe_set_owner(p, s, &sn_socket_pipe_ops);
        p->endpoint = endpoint;
        sn_link_ref(p->link);
        ok = socket_post(s, p, SN_CMD_ATTACH);
        if (!ok)
            sn_link_unref(p->link);
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

int
sn_socket_monitor(sn_socket *s, const char *addr, int events)
{
    return sn_monitor_set(s->monitor, sn_ctx_handle(s->ctx), addr, events);
}

int
sn_socket_close(sn_socket *s)
{
    s->open = false;
    s->gen = (s->gen + 1) & GEN_MASK;
    sn_inproc_forget(s->ctx, s);
    process_commands(s);
    uint64_t deadline = linger_deadline(s);
    while (s->npipes > 0)
        detach(s, s->pipes[s->npipes - 1], deadline);
    /* After the pipes: each session gets PEER_TERM (with our linger) before its stop. */
    for (int i = 0; i < s->nendpoints; i++)
        stop_net(&s->endpoints[i]);
    sn_monitor_set(s->monitor, NULL, NULL, 0);
    /* Refuse new posts, then drop what raced in before the door closed. */
    sn_mailbox_close(&s->mailbox);
    sn_cmd c;
    while (sn_mailbox_take(&s->mailbox, &c, 1) == 1) {
        if (c.type == SN_CMD_ATTACH)
            sn_pipe_release(c.pipe, 0); /* a connect that raced with this close */
        sn_link_unref(c.pipe->link);
    }
    sn_socket_wake(s); /* threads blocked in this socket see it closed */
    return 0;
}

/* ---- send and receive ------------------------------------------------------------- */

static uint64_t
deadline_of(int timeout_ms, int flags)
{
    if (flags & SINEW_DONTWAIT || timeout_ms == 0)
        return 0;
    if (timeout_ms < 0)
        return UINT64_MAX;
    return sn_clock_ns() + (uint64_t) timeout_ms * 1000000u;
}

/* After a wait: the reason to stop waiting, or 0 to try again. */
static int
wait_outcome(sn_socket *s, uint64_t deadline)
{
    if (!s->open)
        return -ENOTSOCK;
    if (atomic_load_explicit(&s->ctx->terminating, memory_order_relaxed))
        return -ETERM;
    if (deadline != UINT64_MAX && sn_clock_ns() >= deadline)
        return -EAGAIN;
    return 0;
}

static bool
pattern_has_in(sn_socket *s)
{
    return s->ops->has_in != NULL && s->ops->has_in(s->pattern);
}

static bool
pattern_has_out(sn_socket *s)
{
    return s->ops->has_out != NULL && s->ops->has_out(s->pattern);
}

static void
update_ready_fd(sn_socket *s)
{
    if (atomic_load_explicit(&s->ready_fd, memory_order_relaxed) < 0)
        return;
    if (s->rcvmore || pattern_has_in(s)) {
        /* Readable. Usually a post already set it, but pipes this socket attached
         * itself (its own connects) never posted: set it, idempotently. */
        fd_signal(&s->ready_fd, &s->ready_signaled);
        return;
    }
    /* Clear first, then look again: a message that arrives after the clear re-sets it. */
    fd_clear(&s->ready_fd, &s->ready_signaled);
    process_commands(s);
    if (pattern_has_in(s))
        fd_signal(&s->ready_fd, &s->ready_signaled);
}


/* One direction's multipart turn-taking between threads (see socket.h). */
typedef struct turn {
    bool *busy;
    pthread_t *owner;
} turn;

/* Runs op until it is done, fails for good, or the wait ends (deadline, DONTWAIT,
 * close, termination). Waits while another thread is mid-message in this direction.
 * Lock held. */
static int
run_op(sn_socket *s, int (*op)(void *st, sn_msg *m), sn_msg *m, turn t, uint64_t deadline,
       bool input)
{
    pthread_t self = pthread_self();
    for (;;) {
        /* Also while another thread has the turn: socket_wait returns at once while
         * commands are pending, so leaving them would spin here, lock held, and keep
         * that thread from finishing its message until our deadline. */
        process_commands(s);
        if (!*t.busy || pthread_equal(*t.owner, self)) {
            int rc = op(s->pattern, m);
            reap_dead(s);
            if (rc != -EAGAIN)
                return rc;
        }
        if (deadline == 0)
            return -EAGAIN;
        socket_wait(s, deadline, input);
        int rc = wait_outcome(s, deadline);
        if (rc < 0)
            return rc;
    }
}

/* After a part went through: keep the turn until the last part, then pass it on. */
static void
take_turn(sn_socket *s, turn t, bool more)
{
    if (more) {
        *t.busy = true;
        *t.owner = pthread_self();
    } else if (*t.busy) {
        *t.busy = false;
        sn_socket_wake(s); /* another thread may wait for its turn */
    }
}

int
sn_socket_send(sn_socket *s, sn_msg *m, int flags)
{
    if (s->ops->send == NULL)
        return -ENOTSUP;
    if (atomic_load_explicit(&s->ctx->terminating, memory_order_relaxed))
        return -ETERM;
    if (flags & ~(SINEW_DONTWAIT | SINEW_SNDMORE))
        return -EINVAL;
    uint8_t saved = m->flags;
    m->flags = (uint8_t) ((m->flags & ~SN_MSG_MORE) | (flags & SINEW_SNDMORE ? SN_MSG_MORE : 0));
    size_t size = sn_msg_size(m); /* the pattern takes m */
    turn t = {&s->send_busy, &s->send_owner};
    int rc = run_op(s, s->ops->send, m, t, deadline_of(s->opt.sndtimeo, flags), false);
    if (rc < 0) {
        m->flags = saved;
        return rc;
    }
    s->bytes_out += size;
    s->msgs_out += (flags & SINEW_SNDMORE) == 0;
    take_turn(s, t, (flags & SINEW_SNDMORE) != 0);
    /* A message sent may open the way to one received (REQ's reply): READY_FD must then
     * be armed to see it come, as after a recv. */
    if ((flags & SINEW_SNDMORE) == 0)
        update_ready_fd(s);
    return 0;
}

int
sn_socket_recv(sn_socket *s, sn_msg *m, int flags)
{
    if (s->ops->recv == NULL)
        return -ENOTSUP;
    if (atomic_load_explicit(&s->ctx->terminating, memory_order_relaxed))
        return -ETERM;
    if (flags & ~SINEW_DONTWAIT)
        return -EINVAL;
    turn t = {&s->recv_busy, &s->recv_owner};
    sn_msg in;
    int rc = run_op(s, s->ops->recv, &in, t, deadline_of(s->opt.rcvtimeo, flags), true);
    if (rc == 0) {
        sn_msg_close(m);
        *m = in;
        s->rcvmore = sn_msg_more(m);
        s->bytes_in += sn_msg_size(m);
        s->msgs_in += !s->rcvmore;
        take_turn(s, t, s->rcvmore);
    }
    update_ready_fd(s);
    return rc;
}

int
sn_socket_events(sn_socket *s)
{
    /* As libzmq: reading the events re-arms SINEW_FD (clear first, then look, so a
     * change after the look signals again). */
    fd_clear(&s->event_fd, &s->event_signaled);
    process_commands(s);
    int ev = 0;
    if (s->rcvmore || (s->ops->recv != NULL && pattern_has_in(s)))
        ev |= SINEW_POLLIN;
    if (s->send_busy || (s->ops->send != NULL && pattern_has_out(s)))
        ev |= SINEW_POLLOUT;
    reap_dead(s);
    update_ready_fd(s);
    return ev;
}

/* ---- options ---------------------------------------------------------------------- */

static int
lazy_eventfd(atomic_int *fd)
{
    int f = atomic_load(fd);
    if (f >= 0)
        return f;
    f = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (f < 0)
        return -errno;
    atomic_store(fd, f);
    return f;
}

int
sn_socket_poll_fd(sn_socket *s)
{
    int f = lazy_eventfd(&s->event_fd);
    if (f >= 0)
        fd_clear(&s->event_fd, &s->event_signaled);
    return f;
}

static int
get_int(void *val, size_t *len, int v)
{
    if (val == NULL || len == NULL || *len < sizeof v)
        return -EINVAL;
    memcpy(val, &v, sizeof v);
    *len = sizeof v;
    return 0;
}

int
sn_socket_getopt(sn_socket *s, int option, void *val, size_t *len)
{
    if (val == NULL || len == NULL)
        return -EFAULT;
    int rc = sn_options_get(&s->opt, option, val, len);
    if (rc != -ENOENT)
        return rc;
    if (s->ops->getopt != NULL && (rc = s->ops->getopt(s->pattern, option, val, len)) != -ENOENT)
        return rc;
    switch (option) {
    case SINEW_RCVMORE:
        return get_int(val, len, s->rcvmore);
    case SINEW_EVENTS:
        return get_int(val, len, sn_socket_events(s));
    case SINEW_THREAD_SAFE:
        return get_int(val, len, 1);
    case SINEW_FD: {
        /* Edge-triggered as in libzmq: readable when events may have changed; read
         * SINEW_EVENTS after each wake-up. */
        int f = lazy_eventfd(&s->event_fd);
        if (f < 0)
            return f;
        fd_signal(&s->event_fd, &s->event_signaled); /* first look is always due */
        return get_int(val, len, f);
    }
    case SINEW_READY_FD: {
        int f = lazy_eventfd(&s->ready_fd);
        if (f < 0)
            return f;
        int rc2 = get_int(val, len, f);
        if (rc2 == 0) {
            process_commands(s);
            if (pattern_has_in(s))
                fd_signal(&s->ready_fd, &s->ready_signaled);
        }
        return rc2;
    }
    case SINEW_MSGS_DROPPED: {
        uint64_t v = atomic_load(&s->stats->dropped);
        if (*len < sizeof v)
            return -EINVAL;
        memcpy(val, &v, sizeof v);
        *len = sizeof v;
        return 0;
    }
    default:
        return -EINVAL;
    }
}

int
sn_socket_setopt(sn_socket *s, int option, const void *val, size_t len)
{
    if (s->ops->setopt != NULL) {
        int rc = s->ops->setopt(s->pattern, option, val, len);
        if (rc != -ENOENT)
            return rc;
    }
    int rc = sn_options_set(&s->opt, option, val, len);
    if (rc == 0 && option == SINEW_SPIN_US)
        s->spin_ns = (uint32_t) s->opt.spin_us * 1000u;
    if (rc == 0 && (option == SINEW_SNDHWM || option == SINEW_RCVHWM)) {
        /* As libzmq 4.3: existing pipes take the new limits (pipes still in the mailbox
         * too: adopted now, they take them in sn_socket_attach). A writer stopped at the
         * old limit resumes: ours (the pattern set the pipe aside until ACTIVATE_WRITE,
         * and a blocked send waits for a wake-up), and the peer's (sn_pipe_set_hwm). */
        process_commands(s);
        for (int i = 0; i < s->npipes; i++) {
            sn_pipe_set_hwm(s->pipes[i], s->opt.sndhwm, s->opt.rcvhwm);
            pattern_writable(s, s->pipes[i]);
        }
        sn_socket_wake(s);
    }
    return rc;
}

void
sn_socket_count_drop(sn_socket *s, sn_drop_reason why)
{
    sn_stats_drop(s->stats, why, 1);
}

/* ---- counters and joining --------------------------------------------------------- */

_Static_assert(SN_DROP_HWM == SINEW_DROP_HWM && SN_DROP_UNROUTABLE == SINEW_DROP_UNROUTABLE &&
                   SN_DROP_NO_SUBSCRIBER == SINEW_DROP_NO_SUBSCRIBER &&
                   SN_DROP_CONNECTION == SINEW_DROP_CONNECTION &&
                   SN_DROP_INVALID == SINEW_DROP_INVALID &&
                   SN_DROP_REASONS <= SINEW_DROP_REASONS_MAX,
               "public drop reasons are the internal ones");

int
sn_socket_stats(sn_socket *s, sinew_socket_stats_t *st)
{
    process_commands(s); /* peers that came or went are counted as they are now */
    memset(st, 0, sizeof *st);
    st->msgs_in = s->msgs_in;
    st->bytes_in = s->bytes_in;
    st->msgs_out = s->msgs_out;
    st->bytes_out = s->bytes_out;
    st->dropped = atomic_load_explicit(&s->stats->dropped, memory_order_relaxed);
    for (int i = 0; i < SN_DROP_REASONS; i++)
        st->dropped_by[i] = atomic_load_explicit(&s->stats->dropped_by[i], memory_order_relaxed);
    st->reconnects = atomic_load_explicit(&s->stats->reconnects, memory_order_relaxed);
    st->monitor_dropped = atomic_load_explicit(&s->monitor->dropped, memory_order_relaxed);
    st->peers = (uint64_t) s->npipes;
    for (int i = 0; i < s->npipes; i++) {
        st->queued_in += sn_queue_depth_in(s->pipes[i]->in);
        st->queued_out += sn_queue_depth_out(s->pipes[i]->out);
    }
    return 0;
}

static void
peer_record(sn_socket *s, sn_pipe *p, sinew_peer_stats_t *r)
{
    memset(r, 0, sizeof *r);
    r->id = p->id;
    r->type = p->peer_info != NULL ? p->peer_info->type : -1;
    r->queued_in = sn_queue_depth_in(p->in);
    r->queued_out = sn_queue_depth_out(p->out);
    if (p->peer_info != NULL) {
        r->routing_id_len = p->peer_info->rid_len;
        memcpy(r->routing_id, p->peer_info->rid, p->peer_info->rid_len);
    }
    if (p->endpoint >= 0 && p->endpoint < s->nendpoints && s->endpoints[p->endpoint].uri)
        snprintf(r->endpoint, sizeof r->endpoint, "%s", s->endpoints[p->endpoint].uri);
}

int
sn_socket_peers(sn_socket *s, sinew_peer_stats_t *peers, int max)
{
    if (max < 0 || (peers == NULL && max > 0))
        return -EINVAL;
    process_commands(s);
    for (int i = 0; i < s->npipes && i < max; i++)
        peer_record(s, s->pipes[i], &peers[i]);
    return s->npipes;
}

/* Peers whose handshake is done (the pattern may count otherwise: PUB, subscribers). */
static int
joined_count(sn_socket *s)
{
    if (s->ops->joined != NULL)
        return s->ops->joined(s->pattern);
    int n = 0;
    for (int i = 0; i < s->npipes; i++)
        n += s->pipes[i]->peer_info != NULL && !s->pipes[i]->peer_gone;
    return n;
}

int
sn_socket_wait_peers(sn_socket *s, int n, int timeout_ms)
{
    if (n < 0)
        return -EINVAL;
    if (atomic_load_explicit(&s->ctx->terminating, memory_order_relaxed))
        return -ETERM;
    uint64_t deadline = deadline_of(timeout_ms, 0);
    atomic_fetch_add(&s->joiners, 1);
    int rc;
    for (;;) {
        /* The wake sequence first: a post after it is never slept through. */
        uint32_t seq = atomic_load(&s->wake_seq);
        process_commands(s);
        rc = joined_count(s);
        if (rc >= n || (rc = wait_outcome(s, deadline)) < 0)
            break;
        /* No spinning: joins take milliseconds, a spin would only burn the CPU. */
        if (!sn_mailbox_pending(&s->mailbox)) {
            pthread_mutex_unlock(&s->lock);
            futex_sleep(s, seq, deadline);
            pthread_mutex_lock(&s->lock);
        }
    }
    atomic_fetch_sub(&s->joiners, 1);
    return rc;
}

bool
sn_socket_pipe_outgoing(sn_socket *s, const sn_pipe *p)
{
    return p->endpoint >= 0 && p->endpoint < s->nendpoints && !s->endpoints[p->endpoint].bound;
}

void
sn_socket_drop_pipe(sn_socket *s, sn_pipe *p)
{
    socket_drained(s, p);
}

void
sn_socket_pipe_close_lingering(sn_socket *s, sn_pipe *p)
{
    detach(s, p, linger_deadline(s));
}

/* ---- endpoints -------------------------------------------------------------------- */

static void stop_net(sn_endpoint_rec *rec);

static int
add_endpoint(sn_socket *s, const char *uri, bool bound)
{
    sn_endpoint_rec *eps = realloc(s->endpoints, (size_t) (s->nendpoints + 1) * sizeof *eps);
    if (eps == NULL)
        return -ENOMEM;
    s->endpoints = eps;
    char *copy = strdup(uri);
    if (copy == NULL)
        return -ENOMEM;
    eps[s->nendpoints] = (sn_endpoint_rec){.uri = copy, .bound = bound, .net = NULL};
    return s->nendpoints++;
}

static int
find_endpoint(sn_socket *s, const char *uri, bool bound)
{
    for (int i = 0; i < s->nendpoints; i++)
        if (s->endpoints[i].uri != NULL && s->endpoints[i].bound == bound &&
            strcmp(s->endpoints[i].uri, uri) == 0)
            return i;
    return -1;
}

static void
remove_endpoint(sn_socket *s, int ep)
{
    free(s->endpoints[ep].uri);
    s->endpoints[ep].uri = NULL; /* indexes stay stable: pipes refer to them */
    for (int i = s->npipes - 1; i >= 0; i--)
        if (s->pipes[i]->endpoint == ep)
            detach(s, s->pipes[i], linger_deadline(s));
    stop_net(&s->endpoints[ep]); /* after the pipes: PEER_TERM reaches it first */
}

static void
drop_last_endpoint(sn_socket *s)
{
    free(s->endpoints[--s->nendpoints].uri);
}

int
sn_socket_bind(sn_socket *s, const char *uri)
{
    sn_endpoint ep;
    int rc = sn_endpoint_parse(uri, &ep);
    if (rc < 0)
        return rc;
    int idx = add_endpoint(s, uri, true);
    if (idx < 0)
        return idx;
    if (sn_transport_is_local(ep.ops)) {
        rc = sn_inproc_bind(s->ctx, s, ep.host, idx);
        if (rc < 0) {
            drop_last_endpoint(s);
            return rc;
        }
        snprintf(s->opt.last_endpoint, sizeof s->opt.last_endpoint, "%s", uri);
        return 0;
    }
    char resolved[SN_LAST_ENDPOINT_MAX];
    sn_listener *l;
    rc = sn_listener_start(s, &ep, idx, resolved, sizeof resolved, &l);
    if (rc < 0) {
        sn_monitor_emit(s->monitor, SINEW_EVENT_BIND_FAILED, (uint32_t) -rc, uri);
        drop_last_endpoint(s);
        return rc;
    }
    /* Unbind takes the resolved address, as libzmq (e.g. after binding port "*"). */
    char *copy = strdup(resolved);
    if (copy != NULL) {
        free(s->endpoints[idx].uri);
        s->endpoints[idx].uri = copy;
    }
    s->endpoints[idx].net = l;
    snprintf(s->opt.last_endpoint, sizeof s->opt.last_endpoint, "%s", resolved);
    return 0;
}

int
sn_socket_connect(sn_socket *s, const char *uri)
{
    sn_endpoint ep;
    int rc = sn_endpoint_parse(uri, &ep);
    if (rc < 0)
        return rc;
    if (!sn_transport_is_local(ep.ops) && (ep.flags & (SN_EP_ANY_HOST | SN_EP_ANY_PORT |
                                                       SN_EP_WILDCARD)))
        return -EINVAL; /* nothing to connect to */
    if ((ep.flags & SN_EP_IPV6) && !s->opt.ipv6)
        return -EINVAL; /* an IPv6 literal needs SINEW_IPV6, as in libzmq */
    process_commands(s); /* a peer that left is gone before a new one is attached */
    int idx = add_endpoint(s, uri, false);
    if (idx < 0)
        return idx;
    if (sn_transport_is_local(ep.ops)) {
        rc = sn_inproc_connect(s->ctx, s, ep.host, idx);
    } else {
        sn_session *ss;
        rc = sn_session_connect(s, &ep, uri, idx, &ss);
        if (rc == 0)
            s->endpoints[idx].net = ss;
    }
    if (rc < 0) {
        drop_last_endpoint(s);
        return rc;
    }
    snprintf(s->opt.last_endpoint, sizeof s->opt.last_endpoint, "%s", uri);
    return 0;
}

/* unbind (bound) or disconnect: forget the endpoint and the pipes that came through it. */
static int
leave_endpoint(sn_socket *s, const char *uri, bool bound)
{
    sn_endpoint ep;
    int rc = sn_endpoint_parse(uri, &ep);
    if (rc < 0)
        return rc;
    process_commands(s); /* pipes that arrived through this endpoint go with it */
    int idx = find_endpoint(s, uri, bound);
    if (idx < 0)
        return -ENOENT;
    if (sn_transport_is_local(ep.ops)) {
        if (bound)
            sn_inproc_unbind(s->ctx, s, ep.host);
        else
            sn_inproc_cancel_pending(s->ctx, s, idx);
    }
    remove_endpoint(s, idx);
    return 0;
}

int
sn_socket_unbind(sn_socket *s, const char *uri)
{
    return leave_endpoint(s, uri, true);
}

int
sn_socket_disconnect(sn_socket *s, const char *uri)
{
    return leave_endpoint(s, uri, false);
}
