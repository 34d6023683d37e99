/* Direct I/O: an application thread does the engine's work when that saves a thread
 * wake-up (see doc/design.adoc, "Direct output" and "Direct input"). The protocol lives
 * here.
 *
 * Who owns what, when (R = the engine's reactor thread, A = an application thread):
 *
 *   field(s)                          owner
 *   --------------------------------  -----------------------------------------------
 *   out, out_off/len, out_more, ctl,  whoever holds the link's direct lock (R around
 *   big, have_big                     every use while registered; A in direct_write)
 *   in, in_off/len, dec, part,        the input owner: R between input_begin and
 *   in_more, in_blocked, in_large,    input_end; A between a successful borrow and
 *   in_delivered, fail_event          return (in_app set), or in input_resume
 *   held, held_flags, have_held       (the same)
 *   in_busy, in_borrowed, in_kicked,  the direct lock (in_busy is also read without
 *   borrow_token/wake/arg             it, acquire: "R is using the input")
 *   h, events, in_wanted, out_wanted  mask_lock (A changes the mask when it borrows)
 *   everything else (hs, timers,      R only
 *   pipe, cfg, closing, fd)           (fd is read by A under the direct lock, and
 *                                     R unregisters before closing it)
 *
 * Lock order: a socket's lock, then the link's direct lock, then the engine's
 * mask_lock. R never takes a socket's lock. A never blocks holding the direct lock
 * (the fd is non-blocking; a borrower polls with the lock released).
 *
 * A borrower takes message frames only: at a command, a protocol error or the end of
 * the stream it stops before those bytes, gives the input back and posts R a task
 * (input_kick) to go on from there, since only R may answer the peer or tell the
 * session. Under a mechanism that boxes frames (CURVE) a command shows only once
 * unboxed: the borrower then leaves it unboxed in held, and R acts on it first. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sinew.h"
#include "zmtp/engine_impl.h"

/* While registered for direct I/O, output state and the input hand-over flags are
 * shared with application threads: the reactor thread takes the link's direct lock
 * around every use of them. */
void
sn_engine_direct_lock(sn_engine *e)
{
    if (e->direct != NULL)
        pthread_mutex_lock(&e->direct->direct.lock);
}

void
sn_engine_direct_unlock(sn_engine *e)
{
    if (e->direct != NULL)
        pthread_mutex_unlock(&e->direct->direct.lock);
}

void
sn_engine_direct_register(sn_engine *e)
{
    sn_link *l = e->pipe->link;
    pthread_mutex_lock(&l->direct.lock);
    l->direct.engine = e;
    e->direct = l;
    pthread_mutex_unlock(&l->direct.lock);
}

/* Before the fd closes or the engine goes: no application thread may use it after. A
 * thread waiting on the fd is woken, since closing it would not wake it. */
void
sn_engine_direct_unregister(sn_engine *e)
{
    sn_link *l = e->direct;
    if (l == NULL)
        return;
    pthread_mutex_lock(&l->direct.lock);
    if (l->direct.engine == e)
        l->direct.engine = NULL;
    if (e->in_borrowed) {
        e->borrow_wake(e->borrow_arg);
        e->borrow_wake = NULL;
        e->borrow_arg = NULL;
        sn_engine_set_borrowed(e, false);
    }
    pthread_mutex_unlock(&l->direct.lock);
    e->direct = NULL;
}

/* ---- input ownership ------------------------------------------------------------------ */

/* Reactor thread, before taking input: false while an application thread has it. */
bool
sn_engine_input_begin(sn_engine *e)
{
    sn_engine_direct_lock(e);
    bool ok = !e->in_borrowed;
    if (ok) {
        atomic_store_explicit(&e->in_busy, true, memory_order_relaxed);
        e->in_kicked = false;
    }
    sn_engine_direct_unlock(e);
    return ok;
}

void
sn_engine_input_end(sn_engine *e)
{
    sn_engine_direct_lock(e);
    atomic_store_explicit(&e->in_busy, false, memory_order_release);
    sn_engine_direct_unlock(e);
}

/* The connection must end over its input: on the reactor thread now; on a borrowing
 * application thread, which may not touch the session, by the reactor thread later. */
void
sn_engine_input_fail(sn_engine *e, int event, uint32_t value)
{
    if (!e->in_app) {
        sn_engine_fail(e, event, value);
        return;
    }
    if (e->fail_event == 0) {
        e->fail_event = event;
        e->fail_value = value;
    }
    e->in_deferred = true;
}

bool
sn_engine_direct_write(sn_engine *e)
{
    if (e->fd < 0 || e->handshaking || e->pipe == NULL || e->out_off != e->out_len ||
        e->have_big)
        return false; /* not connected, or the I/O thread has output in hand */
    return sn_engine_flush_output(e) == 1;
}

/* ---- direct input ---------------------------------------------------------------------
 * An application thread blocked in a receive on this connection's socket may wait on
 * the fd itself and decode what arrives straight into the pipe: the message then costs
 * one thread wake-up instead of two (the reactor's, then the application's). The
 * reactor stops watching input meanwhile. The borrowing thread takes message frames
 * only; at a command, a failure or the end of the stream it hands the input back and
 * the reactor thread goes on from there (kick). */

static void
input_kick(void *arg)
{
    sn_engine *e = arg; /* still alive: posted before the engine could be orphaned */
    if (e->closing || e->fd < 0 || !sn_engine_input_begin(e))
        return;
    if (!e->in_blocked)
        sn_engine_resume_input(e);
    sn_engine_input_end(e);
}

/* Returns input taken on an application thread: the reactor watches again, and goes on
 * from where that thread stopped if it had to. */
static void
app_input_done(sn_engine *e)
{
    e->in_app = false;
    if (e->in_deferred) {
        e->in_deferred = false;
        e->in_kicked = sn_reactor_post(e->r, input_kick, e) == 0;
    }
}

/* Direct lock held: true if an application thread may not take the input now. The
 * reactor thread's flag is read first: input state is only looked at once it is not
 * using it. */
static bool
input_taken(sn_engine *e)
{
    return atomic_load_explicit(&e->in_busy, memory_order_acquire) || e->in_borrowed ||
           e->in_kicked || e->closing || e->fd < 0 || e->pipe == NULL ||
           e->fail_event != 0 || e->h == NULL;
}

bool
sn_engine_input_resume(sn_engine *e)
{
    if (input_taken(e) || !e->in_blocked)
        return false;
    e->in_blocked = false;
    e->in_app = true;
    sn_engine_resume_input(e); /* sn_engine_read stops at once if a command deferred the rest */
    if (!e->in_blocked)
        sn_engine_want_in(e, true);
    app_input_done(e);
    return true;
}

int
sn_engine_input_borrow(sn_engine *e, void (*wake)(void *), void *arg, uint64_t *token)
{
    static _Atomic uint64_t next_token = 1;
    if (atomic_load_explicit(&e->in_busy, memory_order_acquire) || e->in_kicked)
        return -EBUSY; /* the reactor thread has it for now */
    if (input_taken(e) || e->handshaking || e->in_blocked || e->in_off != e->in_len ||
        e->have_held)
        return -1;
    e->borrow_wake = wake;
    e->borrow_arg = arg;
    e->borrow_token = atomic_fetch_add_explicit(&next_token, 1, memory_order_relaxed);
    *token = e->borrow_token;
    sn_engine_set_borrowed(e, true);
    return e->fd;
}

bool
sn_engine_input_return(sn_engine *e, uint64_t token, bool readable, bool may_keep)
{
    if (!e->in_borrowed || e->borrow_token != token)
        return false; /* taken back already: the connection ended */
    uint64_t delivered = e->in_delivered;
    if (readable) {
        e->in_app = true;
        sn_engine_read(e);
    }
    /* Only part of a frame came (a large body arrives in pieces): wait for the rest. */
    if (may_keep && e->in_delivered == delivered && !e->in_deferred && !e->in_blocked &&
        e->fd >= 0 && e->in_off == e->in_len)
        return true;
    e->borrow_wake = NULL;
    e->borrow_arg = NULL;
    sn_engine_set_borrowed(e, false);
    app_input_done(e);
    return false;
}
