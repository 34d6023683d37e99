/* High-water marks changed on a connected socket apply to its existing pipes, as in
 * libzmq 4.3 (issue 9, defect 7): a lower limit bounds new messages (queued ones stay),
 * a higher one lets a sender stopped at the old limit go on at once, whether it waits
 * on its own socket or on the peer's reader. inproc queues are counted exactly (the
 * sender's SNDHWM plus the receiver's RCVHWM); tcp and ipc also buffer in the kernel,
 * so their bounds have some slack. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/deadline.h"
#include "support/net.h"
#include "support/thread_state.h"

static char ep[256];
static char tmpdir[64]; /* ipc tests: the endpoint's directory */

static void
teardown(void)
{
    tn_teardown();
    if (tmpdir[0] == 0)
        return;
    char p[128];
    snprintf(p, sizeof p, "%s/s", tmpdir);
    unlink(p);
    rmdir(tmpdir);
    tmpdir[0] = 0;
}

TestSuite(hwm, .init = tn_setup, .fini = teardown, .timeout = 30);

/* Sends numbered messages with DONTWAIT from *next on until one is refused; returns how
 * many went. */
static int
fill(void *push, uint32_t *next, int max)
{
    int n = 0;
    while (n < max &&
           sinew_send(push, next, sizeof *next, SINEW_DONTWAIT) == (int) sizeof *next) {
        (*next)++;
        n++;
    }
    if (n < max)
        cr_assert_eq(errno, EAGAIN, "send failed with errno %d", errno);
    return n;
}

/* Receives count messages, numbered from *next on. */
static void
drain(void *pull, uint32_t *next, int count)
{
    for (int i = 0; i < count; i++, (*next)++)
        cr_assert_eq(tn_recv_u32(pull), *next);
}

static void
inproc_pushpull(void **push, void **pull)
{
    *push = tn_sock(SINEW_PUSH);
    *pull = tn_sock(SINEW_PULL);
    tn_set(*pull, SINEW_RCVTIMEO, 5000);
    tn_bind(*pull, tn_endpoint(ep, sizeof ep, "hwm"));
    tn_connect(*push, ep);
}

/* ---- inproc: exact counts ---------------------------------------------------------- */

Test(hwm, lowered_after_connect_bounds_new_messages_inproc)
{
    void *push, *pull;
    inproc_pushpull(&push, &pull); /* 1000 + 1000 */
    uint32_t sent = 0, got = 0;
    tn_set(push, SINEW_SNDHWM, 10);
    cr_assert_eq(fill(push, &sent, 5000), 10 + 1000);
    /* Lower than what is queued: nothing is dropped, nothing new goes in. */
    tn_set(pull, SINEW_RCVHWM, 10);
    cr_assert_eq(fill(push, &sent, 5000), 0);
    drain(pull, &got, 1010);
    cr_assert_eq(fill(push, &sent, 5000), 10 + 10);
    drain(pull, &got, 20);
}

Test(hwm, zero_after_connect_lifts_the_limit_inproc)
{
    void *push, *pull;
    inproc_pushpull(&push, &pull);
    uint32_t sent = 0, got = 0;
    tn_set(pull, SINEW_RCVHWM, 0); /* no limit if either side has none */
    cr_assert_eq(fill(push, &sent, 5000), 5000);
    drain(pull, &got, 5000);
}

/* The sender found the queue full: its PUSH set the pipe aside until the reader reports
 * room. Raising the reader's RCVHWM is such a report. */
Test(hwm, raised_rcvhwm_lets_a_stopped_sender_go_on_inproc)
{
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(push, SINEW_SNDHWM, 5);
    tn_set(pull, SINEW_RCVHWM, 5);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_bind(push, tn_endpoint(ep, sizeof ep, "hwm"));
    tn_connect(pull, ep);
    uint32_t sent = 0, got = 0;
    cr_assert_eq(fill(push, &sent, 100), 10);
    tn_set(pull, SINEW_RCVHWM, 50);
    cr_assert_eq(fill(push, &sent, 100), 45);
    drain(pull, &got, 55);
}

Test(hwm, raised_sndhwm_lets_a_stopped_sender_go_on_inproc)
{
    void *push, *pull;
    inproc_pushpull(&push, &pull);
    tn_set(push, SINEW_SNDHWM, 5);
    tn_set(pull, SINEW_RCVHWM, 5);
    uint32_t sent = 0, got = 0;
    cr_assert_eq(fill(push, &sent, 100), 10);
    tn_set(push, SINEW_SNDHWM, 50);
    cr_assert_eq(fill(push, &sent, 100), 45);
    drain(pull, &got, 55);
}

/* ---- a sender blocked in sinew_send ------------------------------------------------ */

typedef struct blocked {
    void *push;
    atomic_int tid;
    int rc, err;
} blocked;

static void *
blocked_send(void *arg)
{
    blocked *b = arg;
    uint32_t v = 0xb10c;
    atomic_store(&b->tid, (int) gettid());
    b->rc = sinew_send(b->push, &v, sizeof v, 0);
    b->err = errno;
    return NULL;
}

/* Starts a thread whose send blocks on push's full queue and waits until it sleeps. */
static void
start_blocked_sender(blocked *b, pthread_t *t, void *push)
{
    b->push = push;
    atomic_init(&b->tid, 0);
    b->rc = -2;
    tn_set(push, SINEW_SPIN_US, 0);       /* straight to sleep */
    tn_set(push, SINEW_SNDTIMEO, 10000);  /* far beyond the wait below */
    cr_assert_eq(pthread_create(t, NULL, blocked_send, b), 0);
    uint64_t deadline = tn_now_ms() + 5000;
    while (atomic_load(&b->tid) == 0 || !tn_thread_sleeps(atomic_load(&b->tid)))
        cr_assert_lt(tn_now_ms(), deadline, "the sender never blocked");
}

static void
expect_sender_done(blocked *b, pthread_t t)
{
    struct timespec dl = tn_deadline_in_ms(2000);
    cr_assert_eq(pthread_timedjoin_np(t, NULL, &dl), 0,
                 "the blocked send did not resume after the HWM was raised");
    cr_assert_eq(b->rc, 4, "blocked send: rc %d errno %d", b->rc, b->err);
}

/* A sender blocked in sinew_send at HWM 1 + 1 goes on once one side raises its limit:
 * raise_pull, the reader's RCVHWM (another socket); else the blocked socket's own SNDHWM,
 * from another thread. */
static void
raised_limit_wakes_blocked_sender(bool raise_pull)
{
    void *push, *pull;
    inproc_pushpull(&push, &pull);
    tn_set(push, SINEW_SNDHWM, 1);
    tn_set(pull, SINEW_RCVHWM, 1);
    uint32_t sent = 0, got = 0;
    cr_assert_eq(fill(push, &sent, 100), 2);
    blocked b;
    pthread_t t;
    start_blocked_sender(&b, &t, push);
    if (raise_pull)
        tn_set(pull, SINEW_RCVHWM, 10);
    else
        tn_set(push, SINEW_SNDHWM, 10);
    expect_sender_done(&b, t);
    drain(pull, &got, 2);
    cr_assert_eq(tn_recv_u32(pull), 0xb10c);
}

Test(hwm, raised_rcvhwm_wakes_a_blocked_sender_inproc)
{
    raised_limit_wakes_blocked_sender(true);
}

Test(hwm, raised_sndhwm_wakes_a_blocked_sender_inproc)
{
    raised_limit_wakes_blocked_sender(false);
}

/* A connect made before the bind: the binder's limits join the connecter's when it
 * adopts the pipe, and a connecter stopped at its own SNDHWM goes on. */
Test(hwm, bind_after_connect_wakes_a_stopped_connecter_inproc)
{
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(push, SINEW_SNDHWM, 5);
    tn_set(pull, SINEW_RCVHWM, 5);
    tn_set(pull, SINEW_RCVTIMEO, 5000);
    tn_endpoint(ep, sizeof ep, "hwm");
    tn_connect(push, ep);
    uint32_t sent = 0, got = 0;
    cr_assert_eq(fill(push, &sent, 100), 5);
    tn_bind(pull, ep);
    cr_assert_eq(fill(push, &sent, 100), 5);
    drain(pull, &got, 10);
}

/* ---- tcp and ipc: the kernel buffers some more ------------------------------------- */

#define NET_MSG 32768  /* large messages: few fit in the kernel's buffers */
#define NET_SLACK 16   /* messages in socket buffers and in the engines' hands */
#define NET_FULL_MS 500 /* "full": a send waited this long in vain */

/* The least a sending PUSH and a receiving PULL hold once nothing moves: the receiver's
 * RCVHWM, and more than half the sender's SNDHWM. (A sender that found its queue full
 * is woken when its reader has taken it down to half, the low-water mark; if the
 * connection stalls before, it waits with the queue between the two.) */
static int
net_least(int sndhwm, int rcvhwm)
{
    return sndhwm / 2 + 1 + rcvhwm;
}

/* PUSH to PULL over transport, small kernel buffers, one message through. */
static void
net_pushpull(const char *transport, int hwm, void **push, void **pull)
{
    *push = tn_sock(SINEW_PUSH);
    *pull = tn_sock(SINEW_PULL);
    tn_set(*pull, SINEW_RCVTIMEO, 5000);
    tn_set(*push, SINEW_SNDTIMEO, NET_FULL_MS);
    tn_set(*push, SINEW_SNDBUF, NET_MSG);
    tn_set(*pull, SINEW_RCVBUF, NET_MSG);
    tn_set(*push, SINEW_SNDHWM, hwm);
    tn_set(*pull, SINEW_RCVHWM, hwm);
    if (strcmp(transport, "tcp") == 0) {
        tn_bind(*pull, "tcp://127.0.0.1:*");
        size_t len = sizeof ep;
        cr_assert_eq(sinew_getsockopt(*pull, SINEW_LAST_ENDPOINT, ep, &len), 0);
    } else {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/sinew-hwm-XXXXXX");
        cr_assert_not_null(mkdtemp(tmpdir));
        snprintf(ep, sizeof ep, "ipc://%s/s", tmpdir);
        tn_bind(*pull, ep);
    }
    tn_connect(*push, ep);
    tn_send_str(*push, "up", 0);
    tn_recv_str(*pull, "up"); /* both ends attached */
}

/* Sends NET_MSG-byte messages numbered from *next on until one waits SNDTIMEO in vain. */
static int
net_fill(void *push, uint32_t *next)
{
    static uint8_t buf[NET_MSG];
    int n = 0;
    for (; n < 5000; n++, (*next)++) {
        memcpy(buf, next, sizeof *next);
        if (sinew_send(push, buf, sizeof buf, 0) != (int) sizeof buf)
            break;
    }
    cr_assert_eq(errno, EAGAIN, "send failed with errno %d", errno);
    return n;
}

static void
net_drain(void *pull, uint32_t *next, int count)
{
    static uint8_t buf[NET_MSG];
    for (int i = 0; i < count; i++, (*next)++) {
        cr_assert_eq(sinew_recv(pull, buf, sizeof buf, 0), NET_MSG, "recv %d: errno %d",
                     i, errno);
        uint32_t v;
        memcpy(&v, buf, sizeof v);
        cr_assert_eq(v, *next);
    }
}

static void
lowered_net(const char *transport)
{
    void *push, *pull;
    net_pushpull(transport, 1000, &push, &pull);
    tn_set(push, SINEW_SNDHWM, 10);
    tn_set(pull, SINEW_RCVHWM, 10);
    uint32_t sent = 0, got = 0;
    int n = net_fill(push, &sent);
    cr_log_info("%s: %d messages of %d bytes queued with HWM 10 + 10", transport, n,
                NET_MSG);
    cr_assert_geq(n, net_least(10, 10), "%d messages queued", n);
    cr_assert_leq(n, 10 + 10 + NET_SLACK, "%d messages queued", n);
    net_drain(pull, &got, n);
}

static void
raised_net(const char *transport)
{
    void *push, *pull;
    net_pushpull(transport, 10, &push, &pull);
    uint32_t sent = 0, got = 0;
    int n = net_fill(push, &sent);
    cr_assert_geq(n, net_least(10, 10), "%d messages queued", n);
    cr_assert_leq(n, 10 + 10 + NET_SLACK, "%d messages queued", n);
    /* The sender waits on its full queue, the receiving engine on the full pipe. */
    tn_set(pull, SINEW_RCVHWM, 100);
    tn_set(push, SINEW_SNDHWM, 100);
    int m = net_fill(push, &sent);
    cr_log_info("%s: %d, then %d more messages of %d bytes queued", transport, n, m,
                NET_MSG);
    cr_assert_geq(n + m, net_least(100, 100), "%d messages queued in all", n + m);
    cr_assert_leq(n + m, 100 + 100 + NET_SLACK, "%d messages queued in all", n + m);
    net_drain(pull, &got, n + m);
}

Test(hwm, lowered_after_connect_bounds_new_messages_tcp)
{
    lowered_net("tcp");
}

Test(hwm, lowered_after_connect_bounds_new_messages_ipc)
{
    lowered_net("ipc");
}

Test(hwm, raised_after_connect_lets_more_in_tcp)
{
    raised_net("tcp");
}

Test(hwm, raised_after_connect_lets_more_in_ipc)
{
    raised_net("ipc");
}
