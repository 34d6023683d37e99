/* The I/O thread: one epoll loop on its own thread, driving fd callbacks, one-shot timers
 * and a mailbox of tasks posted from any thread. Transports and the ZMTP engine live on
 * it; the socket core talks to them only by posting tasks.
 *
 * Readiness is level-triggered: a callback is called again on the next loop iteration
 * while the condition holds, so an engine that stops reading before EAGAIN (fairness)
 * is not stranded, and one that has nothing to write must drop EPOLLOUT with
 * sn_reactor_mod. Order within one iteration: fd callbacks, then due timers, then
 * posted tasks. */
#ifndef SINEW_IO_REACTOR_H
#define SINEW_IO_REACTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "io/clock.h"
#include "io/timers.h"

typedef struct sn_reactor sn_reactor;
typedef struct sn_io_handle sn_io_handle;

/* events: the EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP/EPOLLRDHUP bits that fired. */
typedef void(sn_io_cb)(void *arg, uint32_t events);
typedef void(sn_task_fn)(void *arg);

/* A task whose memory the poster owns (sn_reactor_post_task), so posting never
 * allocates. It may be queued once at a time; it is off the queue when fn runs, so fn may
 * post it again or free it. drop (may be NULL) runs instead of fn if the reactor is freed
 * with the task still queued. */
typedef struct sn_task {
    struct sn_task *next;
    sn_task_fn *fn;
    sn_task_fn *drop;
    void *arg;
    bool owned;
} sn_task;

/* How the thread is scheduled: policy is a SCHED_* value or -1 to inherit the creating
 * thread's; priority is the static priority (0 except for SCHED_FIFO and SCHED_RR). */
typedef struct sn_thread_sched {
    int policy;
    int priority;
} sn_thread_sched;

/* Creates the reactor and starts its thread, named thread_name (truncated to 15 bytes;
 * NULL for none) and scheduled as sched says (NULL: inherited). The thread blocks all
 * signals. 0 or -errno (EMFILE, ENOMEM, EAGAIN; EPERM or EINVAL if the scheduling
 * cannot be had). */
int sn_reactor_new(sn_reactor **out, const char *thread_name,
                   const sn_thread_sched *sched);

/* Any thread except the reactor's own; blocks until the thread has exited. Tasks posted
 * before the call, and tasks those tasks post, run first; then the loop exits without
 * waiting for pending timers or fds. Idempotent. */
void sn_reactor_stop(sn_reactor *r);

/* Stops the reactor if needed, then frees it. Handles still registered and armed timers
 * are freed without callbacks (their owners must have torn down first); a task posted
 * after sn_reactor_stop returned is freed without running. Not from the reactor thread;
 * no other thread may use r during or after the call. */
void sn_reactor_free(sn_reactor *r);

/* Any thread, never blocks (one malloc): runs fn(arg) on the reactor thread. Tasks run
 * in the order their posts returned, also across posting threads (FIFO per reactor).
 * The eventfd is written only when the loop is asleep or about to sleep, so a busy
 * loop takes no syscall per post. 0, -ENOMEM, or -ESHUTDOWN once the thread exited. */
int sn_reactor_post(sn_reactor *r, sn_task_fn *fn, void *arg);
/* The same for a caller-owned task (fn, arg and drop set): no allocation. 0 or
 * -ESHUTDOWN. */
int sn_reactor_post_task(sn_reactor *r, sn_task *t);

/* Any thread: true when called on r's thread (e.g. from a callback or task). */
bool sn_reactor_in_thread(sn_reactor *r);

/* The rest is reactor thread only (from tasks, fd callbacks and timer callbacks). */

/* Watches fd for events (EPOLLIN, EPOLLOUT, EPOLLRDHUP; EPOLLERR/EPOLLHUP are always
 * reported). The caller keeps owning fd and closes it after sn_reactor_del. *h is the
 * registration. 0 or -errno (EEXIST if fd is already registered, ENOMEM). */
int sn_reactor_add(sn_reactor *r, int fd, uint32_t events, sn_io_cb *cb, void *arg,
                   sn_io_handle **h);

/* Replaces the watched event set of h. 0 or -errno. */
int sn_reactor_mod(sn_reactor *r, sn_io_handle *h, uint32_t events);

/* Stops watching and releases h. Safe from any callback, including h's own; once it
 * returns, h's callback is not called again, even for events already collected in the
 * current iteration. Does not close the fd. */
void sn_reactor_del(sn_reactor *r, sn_io_handle *h);

/* One-shot timer calling cb(arg) on the reactor thread no earlier than delay_ms from
 * now. Timers with equal deadlines fire in the order they were added. Returns the id,
 * or 0 when out of memory. */
sn_timer_id sn_reactor_timer_add(sn_reactor *r, uint64_t delay_ms, sn_timer_cb *cb,
                                 void *arg);

/* Disarms id; safe from callbacks (including the timer's own, where it is a no-op).
 * Cancelling a fired, cancelled or unknown id does nothing. */
void sn_reactor_timer_cancel(sn_reactor *r, sn_timer_id id);

#endif
