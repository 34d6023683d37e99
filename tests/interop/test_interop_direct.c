/* Direct input against libzmq: a receive blocked on a socket whose one pipe leads to a
 * tcp/ipc connection waits on that connection's fd and decodes what arrives itself (see
 * sn_engine_input_borrow). Heartbeat commands must still reach the I/O thread, the end
 * of a connection, sinew_close, sinew_ctx_term and RCVTIMEO must still end the wait,
 * and messages of every size and shape must arrive intact on the borrowed path.
 *
 * Whether a thread is on the borrowed path is read from /proc/self/task/<tid>/syscall:
 * a blocked receive sleeps in poll(2) only while it holds a connection's input, and on
 * a futex otherwise, so a silent fallback to the I/O thread fails these tests. */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/syscall.h>

#include "interop.h"
#include "support/deadline.h"
#include "support/io_threads.h"

static const char *const transports[] = {"tcp", "ipc"};

/* ---- which system call a thread sleeps in ----------------------------------------- */

static pid_t
dt_gettid(void)
{
    return (pid_t) syscall(SYS_gettid);
}

/* The number of the system call thread tid is blocked in, or -1 (running, gone). */
static long
dt_syscall_of(pid_t tid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int) tid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long nr = -1;
    if (fgets(line, sizeof line, f) != NULL && line[0] >= '0' && line[0] <= '9')
        nr = strtol(line, NULL, 10);
    fclose(f);
    return nr;
}

static bool
dt_is_poll(long nr)
{
#ifdef SYS_poll
    if (nr == SYS_poll)
        return true;
#endif
    return nr == SYS_ppoll;
}

/* True once thread tid is seen blocked in poll (on the borrowed path) within
 * timeout_ms. Each sighting must last: a poll that returns at once is not a wait. */
static bool
dt_wait_polling(pid_t tid, int timeout_ms)
{
    uint64_t deadline = ip_now_ms() + (uint64_t) timeout_ms;
    while (ip_now_ms() < deadline) {
        if (dt_is_poll(dt_syscall_of(tid))) {
            usleep(2000);
            if (dt_is_poll(dt_syscall_of(tid)))
                return true;
        }
        usleep(500);
    }
    return false;
}

/* True once thread tid is seen blocked in futex(2) (no longer on a connection's fd). */
static bool
dt_wait_futex(pid_t tid, int timeout_ms)
{
    uint64_t deadline = ip_now_ms() + (uint64_t) timeout_ms;
    while (ip_now_ms() < deadline) {
        if (dt_syscall_of(tid) == SYS_futex)
            return true;
        usleep(500);
    }
    return false;
}

static bool
dt_is_epoll(long nr)
{
#ifdef SYS_epoll_wait
    if (nr == SYS_epoll_wait)
        return true;
#endif
#ifdef SYS_epoll_pwait2
    if (nr == SYS_epoll_pwait2)
        return true;
#endif
    return nr == SYS_epoll_pwait;
}

/* True if every sinew I/O thread ("sinew/io/N") sleeps in epoll_wait: none is taking a
 * connection's input, which would make a receive starting now wait on its futex. */
static bool
dt_io_threads_idle(void)
{
    pid_t tids[8];
    int n = tn_io_threads(tids, 8);
    cr_assert_geq(n, 0, "no /proc/self/task");
    for (int i = 0; i < n; i++)
        if (!dt_is_epoll(dt_syscall_of(tids[i])))
            return false;
    return n > 0;
}

/* Waits (bounded) until the I/O threads are idle twice in a row, 1 ms apart. */
static void
dt_settle(void)
{
    uint64_t deadline = ip_now_ms() + 2000;
    while (ip_now_ms() < deadline) {
        if (dt_io_threads_idle()) {
            usleep(1000);
            if (dt_io_threads_idle())
                return;
        }
        usleep(500);
    }
    cr_assert_fail("sinew I/O threads never idle");
}

/* Joins th within timeout_ms; false (thread left running) if it did not end. */
static bool
dt_join(pthread_t th, int timeout_ms)
{
    struct timespec dl = tn_deadline_in_ms(timeout_ms);
    return pthread_timedjoin_np(th, NULL, &dl) == 0;
}

/* ---- a thread blocked in one sinew_recv ------------------------------------------- */

typedef struct rx {
    void *s;
    bool close_after; /* sinew_close(s) after the receive (what ETERM asks for) */
    _Atomic pid_t tid;
    int rc, err, close_rc;
    uint64_t took_ms;
    char buf[64];
    pthread_t th;
} rx;

static void *
rx_main(void *arg)
{
    rx *r = arg;
    atomic_store(&r->tid, dt_gettid());
    uint64_t t0 = ip_now_ms();
    r->rc = sinew_recv(r->s, r->buf, sizeof r->buf, 0);
    r->err = errno;
    r->took_ms = ip_now_ms() - t0;
    if (r->close_after)
        r->close_rc = sinew_close(r->s);
    return NULL;
}

/* Starts a thread receiving on s and waits until it holds the connection's input. */
#define rx_start(r, s, close_after) rx_start_at(r, s, close_after, __LINE__)

static void
rx_start_at(rx *r, void *s, bool close_after, int line)
{
    memset(r, 0, sizeof *r);
    r->s = s;
    r->close_after = close_after;
    r->rc = -2;
    dt_settle();
    cr_assert_eq(pthread_create(&r->th, NULL, rx_main, r), 0);
    uint64_t deadline = ip_now_ms() + 2000;
    while (atomic_load(&r->tid) == 0 && ip_now_ms() < deadline)
        usleep(200);
    cr_assert_neq(atomic_load(&r->tid), 0, "receiver thread did not start");
    cr_assert(dt_wait_polling(atomic_load(&r->tid), 2000),
              "line %d: blocked receive is not waiting on the connection (syscall %ld)",
              line, dt_syscall_of(atomic_load(&r->tid)));
}

static void
rx_join(rx *r, int timeout_ms)
{
    cr_assert(dt_join(r->th, timeout_ms), "blocked receive still blocked after %d ms",
              timeout_ms);
}

/* A message exchanged end to end: the connection is up and idle afterwards. */
static void
dt_connected(ip_sock *z, ip_sock *s)
{
    ip_send_str(z, "hello", 0);
    ip_recv_str(s, "hello");
}

/* ---- 1. heartbeats while the input is borrowed ------------------------------------ */

/* With a 200 ms heartbeat timeout, a stall of the whole process (an overloaded machine)
 * drops the link legitimately, and libzmq's PAIR then refuses the reconnection while the
 * old one is still closing (libzmq PR #3170). A watchdog thread measures how late its
 * own 5 ms sleeps wake up; a round that failed after such a stall is run again, any
 * other failure fails the test. */
#define STALL_MS 100

static atomic_bool stall_stop;
static _Atomic uint64_t stall_max_ms;

static void *
stall_watch(void *arg)
{
    (void) arg;
    while (!atomic_load(&stall_stop)) {
        uint64_t t0 = ip_now_ms();
        usleep(5000);
        uint64_t late = ip_now_ms() - t0;
        late = late > 5 ? late - 5 : 0;
        if (late > atomic_load(&stall_max_ms))
            atomic_store(&stall_max_ms, late);
    }
    return NULL;
}

typedef bool (*hb_round)(const char *transport, char *why, size_t len);

/* Runs round for each transport, again (up to HB_ATTEMPTS times) after a stall. */
#define HB_ATTEMPTS 5
static void
hb_run(hb_round round)
{
    pthread_t w;
    atomic_store(&stall_stop, false);
    cr_assert_eq(pthread_create(&w, NULL, stall_watch, NULL), 0);
    for (int t = 0; t < 2; t++) {
        for (int attempt = 1;; attempt++) {
            char why[256] = "";
            atomic_store(&stall_max_ms, 0);
            if (round(transports[t], why, sizeof why))
                break;
            uint64_t stall = atomic_load(&stall_max_ms);
            if (stall < STALL_MS || attempt == HB_ATTEMPTS) {
                atomic_store(&stall_stop, true);
                pthread_join(w, NULL);
                cr_assert_fail("%s: %s (longest stall of this process: %llu ms)",
                               transports[t], why, (unsigned long long) stall);
            }
            /* Not cr_log_warn: Criterion fails the run on any warning. */
            fprintf(stderr, "note: %s: %s after a %llu ms stall of this process: again\n",
                    transports[t], why, (unsigned long long) stall);
        }
    }
    atomic_store(&stall_stop, true);
    pthread_join(w, NULL);
}

#define HB_CHECK(cond, ...)                                                              \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            snprintf(why, len, __VA_ARGS__);                                             \
            return false;                                                                \
        }                                                                                \
    } while (0)

typedef struct hb_link {
    ip_sock *s, *z, *smon, *zmon;
} hb_link;

/* sinew PAIR connected to a libzmq PAIR, both heartbeating every 50 ms with a 200 ms
 * timeout, both monitored; one message exchanged. */
static bool
hb_connect(const char *transport, hb_link *k, char *why, size_t len)
{
    static atomic_int counter;
    k->s = ip_socket(false, SINEW_PAIR);
    k->z = ip_socket(true, ZMQ_PAIR);
    ip_setint(k->z, ZMQ_HEARTBEAT_IVL, 50);
    ip_setint(k->z, ZMQ_HEARTBEAT_TIMEOUT, 200);
    ip_setint(k->z, ZMQ_SNDTIMEO, 5000);
    ip_setint(k->z, ZMQ_RCVTIMEO, 5000);
    ip_setint(k->z, ZMQ_LINGER, 0);
    ip_setint(k->s, SINEW_HEARTBEAT_IVL, 50);
    ip_setint(k->s, SINEW_HEARTBEAT_TIMEOUT, 200);
    ip_setint(k->s, SINEW_RCVTIMEO, 5000);
    char name[64];
    snprintf(name, sizeof name, "inproc://direct-zmon-%d", atomic_fetch_add(&counter, 1));
    int zev = ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
    cr_assert_eq(zmq_socket_monitor(k->z->s, name, zev), 0, "zmq monitor: errno %d",
                 errno);
    k->zmon = ip_socket(true, ZMQ_PAIR);
    ip_setint(k->zmon, ZMQ_RCVTIMEO, 100);
    ip_connect(k->zmon, name);
    int sev = SINEW_EVENT_DISCONNECTED | SINEW_EVENT_HANDSHAKE_SUCCEEDED;
    k->smon = ip_monitor(k->s, sev);
    char ep[256];
    ip_bind(k->z, transport, ep, sizeof ep);
    ip_connect(k->s, ep);
    ip_expect_event(k->smon, SINEW_EVENT_HANDSHAKE_SUCCEEDED, NULL, 5000);
    HB_CHECK(zmq_send(k->z->s, "hello", 5, 0) == 5, "libzmq send hello: errno %d", errno);
    char buf[16];
    HB_CHECK(sinew_recv(k->s->s, buf, sizeof buf, 0) == 5, "sinew recv hello: errno %d",
             errno);
    return true;
}

/* Neither side dropped the other: no DISCONNECTED, and libzmq saw one handshake only (a
 * dropped and re-established connection would show a second); a message each way. Ends
 * the libzmq monitor (as the other interop suites do, so no event is left in flight at
 * teardown). */
static bool
hb_link_ok(hb_link *k, char *why, size_t len)
{
    int disc = 0, hs = 0;
    uint8_t frame[6];
    while (zmq_recv(k->zmon->s, frame, sizeof frame, 0) == 6) {
        uint16_t e;
        memcpy(&e, frame, 2);
        char addr[256];
        zmq_recv(k->zmon->s, addr, sizeof addr, 0);
        disc += e == ZMQ_EVENT_DISCONNECTED;
        hs += e == ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
    }
    zmq_socket_monitor(k->z->s, NULL, 0);
    while (zmq_recv(k->zmon->s, frame, sizeof frame, 0) >= 0)
        ;
    ip_event ev;
    HB_CHECK(!ip_wait_event(k->smon, SINEW_EVENT_DISCONNECTED, &ev, 10),
             "sinew dropped libzmq while its input was borrowed");
    HB_CHECK(disc == 0, "libzmq saw %d disconnects (PINGs went unanswered)", disc);
    HB_CHECK(hs == 1, "libzmq saw %d handshakes", hs);
    HB_CHECK(sinew_send(k->s->s, "both ways", 9, 0) == 9, "sinew send: errno %d", errno);
    char buf[16];
    HB_CHECK(zmq_recv(k->z->s, buf, sizeof buf, 0) == 9, "libzmq recv: errno %d", errno);
    return true;
}

/* A receive blocked for 1 s (20 heartbeat intervals, 5 timeouts) while both sides PING:
 * times out with EAGAIN, then many 30 ms receives each borrow the input afresh and meet
 * PINGs and PONGs mid-wait; the link survives and a message sent next arrives. */
static bool
idle_round(const char *transport, char *why, size_t len)
{
    hb_link k;
    if (!hb_connect(transport, &k, why, len))
        return false;
    ip_setint(k.s, SINEW_RCVTIMEO, 1000);
    char buf[32];
    uint64_t t0 = ip_now_ms();
    int rc = sinew_recv(k.s->s, buf, sizeof buf, 0);
    int err = errno;
    uint64_t took = ip_now_ms() - t0;
    cr_assert_eq(rc, -1, "%s: received %d bytes from an idle peer", transport, rc);
    cr_assert_eq(err, EAGAIN, "%s: errno %d", transport, err);
    cr_assert_geq(took, 950, "%s: timed out after %llu ms", transport,
                  (unsigned long long) took);
    HB_CHECK(took <= 3000, "timed out after %llu ms", (unsigned long long) took);
    ip_setint(k.s, SINEW_RCVTIMEO, 30);
    uint64_t end = ip_now_ms() + 1000;
    while (ip_now_ms() < end) {
        rc = sinew_recv(k.s->s, buf, sizeof buf, 0);
        cr_assert_eq(rc, -1, "%s: received %d bytes from an idle peer", transport, rc);
        cr_assert_eq(errno, EAGAIN, "%s: errno %d", transport, errno);
    }
    ip_setint(k.s, SINEW_RCVTIMEO, 5000);
    HB_CHECK(zmq_send(k.z->s, "after the wait", 14, 0) == 14, "libzmq send: errno %d",
             errno);
    rc = sinew_recv(k.s->s, buf, sizeof buf, 0);
    HB_CHECK(rc == 14 && memcmp(buf, "after the wait", 14) == 0,
             "message after the wait: rc %d errno %d", rc, errno);
    return hb_link_ok(&k, why, len);
}

Test(interop_direct, heartbeats_answered_while_blocked, .init = ip_setup,
     .fini = ip_teardown, .timeout = 60)
{
    hb_run(idle_round);
}

/* ---- 1a. a stall of the whole process ------------------------------------------------ */

/* Stops this process for stop_ms, from a child. */
static pid_t
stop_me_for(int stop_ms)
{
    pid_t parent = getpid();
    pid_t child = fork();
    cr_assert_geq(child, 0, "fork: errno %d", errno);
    if (child == 0) {
        usleep(100000); /* let the parent block in its receive first */
        kill(parent, SIGSTOP);
        usleep((useconds_t) stop_ms * 1000);
        kill(parent, SIGCONT);
        _exit(0);
    }
    return child;
}

/* The process is stopped for 600 ms (three heartbeat timeouts) while a receive holds the
 * connection. Nothing was asked and left unanswered meanwhile, so neither side may call
 * the other dead: sinew counts silence from its first unanswered PING, as libzmq does,
 * not from the last byte received. (libzmq itself drops the link if the stop falls
 * between one of its PINGs and our PONG: hence attempts. The window is well under 1% on
 * an idle machine; on a saturated one a woken I/O thread, SCHED_BATCH by default, waits
 * for a core, and it widens to a few milliseconds per 50 ms heartbeat.) */
static bool
stall_round(const char *transport, char *why, size_t len)
{
    hb_link k;
    if (!hb_connect(transport, &k, why, len))
        return false;
    ip_setint(k.s, SINEW_RCVTIMEO, 1500);
    pid_t child = stop_me_for(600);
    char buf[32];
    int rc = sinew_recv(k.s->s, buf, sizeof buf, 0);
    int st;
    cr_assert_eq(waitpid(child, &st, 0), child);
    cr_assert_eq(rc, -1, "%s: received %d bytes from an idle peer", transport, rc);
    ip_setint(k.s, SINEW_RCVTIMEO, 5000);
    HB_CHECK(zmq_send(k.z->s, "after the stall", 15, 0) == 15, "libzmq send: errno %d",
             errno);
    rc = sinew_recv(k.s->s, buf, sizeof buf, 0);
    HB_CHECK(rc == 15 && memcmp(buf, "after the stall", 15) == 0,
             "message after the stall: rc %d errno %d", rc, errno);
    return hb_link_ok(&k, why, len);
}

Test(interop_direct, process_stall_keeps_heartbeating_link, .init = ip_setup,
     .fini = ip_teardown, .timeout = 60)
{
    hb_run(stall_round); /* the watchdog sees the stall we cause: several attempts */
}

/* ---- 1c. back on the connection after each PING ------------------------------------ */

/* While a receive holds the connection, each PING is handed to the I/O thread; the
 * receive then takes the connection again (it does not stay on its futex for the rest
 * of the call), so the message that finally comes still wakes it directly. */
static bool
ping_return_round(const char *transport, char *why, size_t len)
{
    hb_link k;
    if (!hb_connect(transport, &k, why, len))
        return false;
    rx r;
    rx_start(&r, k.s->s, false);
    pid_t tid = atomic_load(&r.tid);
    for (int i = 0; i < 6; i++) {
        usleep(120000); /* two or three PINGs each way */
        HB_CHECK(dt_wait_polling(tid, 200),
                 "check %d: the receive stays off the connection after PINGs (syscall %ld)",
                 i, dt_syscall_of(tid));
    }
    HB_CHECK(zmq_send(k.z->s, "at last", 7, 0) == 7, "libzmq send: errno %d", errno);
    rx_join(&r, 5000);
    HB_CHECK(r.rc == 7 && memcmp(r.buf, "at last", 7) == 0, "receive: rc %d errno %d",
             r.rc, r.err);
    return hb_link_ok(&k, why, len);
}

Test(interop_direct, back_on_connection_after_each_ping, .init = ip_setup,
     .fini = ip_teardown, .timeout = 60)
{
    hb_run(ping_return_round);
}

/* ---- 1b. a long stream interleaved with heartbeats -------------------------------- */

#define STREAM_N 2000

typedef struct sender {
    void *z;
    int n;
    int err;    /* errno of a failed send */
    int failed; /* index of a failed send, else -1 */
} sender;

/* Message i: its index, then (i % 7) * 50 bytes of a pattern from i. */
static size_t
stream_msg(uint32_t i, uint8_t *out)
{
    size_t len = 4 + (size_t) (i % 7) * 50;
    memcpy(out, &i, 4);
    for (size_t k = 4; k < len; k++)
        out[k] = (uint8_t) (i * 13 + k);
    return len;
}

static void *
stream_sender(void *arg)
{
    sender *sd = arg;
    sd->failed = -1;
    for (int i = 0; i < sd->n; i++) {
        uint8_t m[512];
        size_t len = stream_msg((uint32_t) i, m);
        if (zmq_send(sd->z, m, len, 0) != (int) len) {
            sd->err = errno;
            sd->failed = i;
            break;
        }
        usleep(500); /* let the receiver block again: most messages meet a borrowed fd */
    }
    return NULL;
}

/* 2000 messages sent with small pauses, so most meet a receive blocked on the borrowed
 * fd, interleaved with PINGs and PONGs both ways: all arrive, intact and in order. */
static bool
stream_round(const char *transport, char *why, size_t len)
{
    hb_link k;
    if (!hb_connect(transport, &k, why, len))
        return false;
    sender sd = {.z = k.z->s, .n = STREAM_N};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, stream_sender, &sd), 0);
    uint64_t t0 = ip_now_ms();
    uint32_t i;
    int n = 0, err = 0;
    bool sized = true;
    for (i = 0; i < STREAM_N; i++) {
        uint8_t got[512], want[512];
        n = sinew_recv(k.s->s, got, sizeof got, 0);
        err = errno;
        size_t wl = stream_msg(i, want);
        if (n != (int) wl || memcmp(got, want, wl) != 0) {
            sized = n == (int) wl;
            break;
        }
    }
    uint64_t took = ip_now_ms() - t0;
    cr_assert(dt_join(th, 10000), "%s: sender stuck", transport);
    HB_CHECK(i == STREAM_N || n < 0, "message %u: rc %d%s", i, n,
             sized ? " (content or order differs)" : " (size differs)");
    HB_CHECK(sd.failed == -1, "libzmq send %d failed: errno %d", sd.failed, sd.err);
    HB_CHECK(i == STREAM_N, "message %u: rc %d errno %d", i, n, err);
    cr_log_info("%s: %d messages in %llu ms", transport, STREAM_N,
                (unsigned long long) took);
    return hb_link_ok(&k, why, len);
}

Test(interop_direct, stream_in_order_with_heartbeats, .init = ip_setup,
     .fini = ip_teardown, .timeout = 90)
{
    hb_run(stream_round);
}

/* ---- 2. the peer restarts while a receive is blocked ------------------------------ */

Test(interop_direct, peer_restart_while_blocked, .init = ip_setup, .fini = ip_teardown,
     .timeout = 40)
{
    for (int t = 0; t < 2; t++) {
        char ep[256];
        ip_free_endpoint(transports[t], ep, sizeof ep);
        ip_sock *z = ip_socket(true, ZMQ_PAIR);
        ip_setint(z, ZMQ_LINGER, 0);
        ip_bind_at(z, ep);
        ip_sock *s = ip_socket(false, SINEW_PAIR);
        ip_setint(s, SINEW_RECONNECT_IVL, 50);
        ip_setint(s, SINEW_RCVTIMEO, 5000);
        ip_connect(s, ep);
        dt_connected(z, s);

        rx r;
        rx_start(&r, s->s, false);
        ip_close(z); /* the end of stream reaches the borrowing thread */
        usleep(200 * 1000);
        ip_sock *z2 = ip_socket(true, ZMQ_PAIR);
        ip_setint(z2, ZMQ_SNDTIMEO, 4000);
        ip_bind_at(z2, ep);
        ip_send_str(z2, "again", 0);
        rx_join(&r, 6000);
        cr_assert_eq(r.rc, 5, "%s: blocked receive: rc %d errno %d after %llu ms",
                     transports[t], r.rc, r.err, (unsigned long long) r.took_ms);
        cr_assert_eq(memcmp(r.buf, "again", 5), 0, "%s: got \"%.5s\"", transports[t],
                     r.buf);
        cr_assert_lt(r.took_ms, 4000, "%s: took %llu ms", transports[t],
                     (unsigned long long) r.took_ms);
        /* And the new connection carries on, on the borrowed path again. */
        rx_start(&r, s->s, false);
        ip_send_str(z2, "and on", 0);
        rx_join(&r, 5000);
        cr_assert_eq(r.rc, 6, "%s: rc %d errno %d", transports[t], r.rc, r.err);
        cr_assert_eq(memcmp(r.buf, "and on", 6), 0);
        ip_close(s);
        ip_close(z2);
    }
}

/* ---- 3, 4. close and termination end a borrowed wait ------------------------------- */

/* sinew_close(3): "any later call with it, from any thread, fails with ENOTSOCK", and
 * a call blocked in it returns the same. */
Test(interop_direct, close_from_another_thread, .init = ip_setup, .fini = ip_teardown,
     .timeout = 30)
{
    static const int types[][2] = {{SINEW_PULL, ZMQ_PUSH}, {SINEW_PAIR, ZMQ_PAIR}};
    for (int t = 0; t < 2; t++) {
        for (int k = 0; k < 2; k++) {
            ip_sock *s = ip_socket(false, types[k][0]);
            ip_sock *z = ip_socket(true, types[k][1]);
            char ep[256];
            ip_bind(z, transports[t], ep, sizeof ep);
            ip_setint(s, SINEW_RCVTIMEO, 5000);
            ip_connect(s, ep);
            dt_connected(z, s);
            ip_setint(s, SINEW_RCVTIMEO, -1);
            ip_setint(s, SINEW_LINGER, 0);
            rx r;
            rx_start(&r, s->s, false);
            usleep(100 * 1000);
            uint64_t t0 = ip_now_ms();
            ip_close(s);
            rx_join(&r, 2000);
            uint64_t took = ip_now_ms() - t0;
            cr_assert_eq(r.rc, -1, "%s/%d: blocked receive returned %d", transports[t], k,
                         r.rc);
            cr_assert_eq(r.err, ENOTSOCK, "%s/%d: errno %d", transports[t], k, r.err);
            cr_assert_lt(took, 2000, "%s/%d: %llu ms", transports[t], k,
                         (unsigned long long) took);
            ip_close(z);
        }
    }
}

static void *
term_main(void *ctx)
{
    sinew_ctx_term(ctx);
    return NULL;
}

/* sinew_ctx_term(3): blocked calls return ETERM; term returns once they closed. */
Test(interop_direct, ctx_term_while_blocked, .init = ip_setup, .fini = ip_teardown,
     .timeout = 30)
{
    for (int t = 0; t < 2; t++) {
        if (ip_sctx == NULL)
            ip_sctx = sinew_ctx_new();
        cr_assert_not_null(ip_sctx);
        ip_sock *s = ip_socket(false, t ? SINEW_PULL : SINEW_PAIR);
        ip_sock *z = ip_socket(true, t ? ZMQ_PUSH : ZMQ_PAIR);
        char ep[256];
        ip_bind(z, transports[t], ep, sizeof ep);
        ip_setint(s, SINEW_RCVTIMEO, 5000);
        ip_setint(s, SINEW_LINGER, 0);
        ip_connect(s, ep);
        dt_connected(z, s);
        ip_setint(s, SINEW_RCVTIMEO, -1);
        rx r;
        rx_start(&r, s->s, true);
        usleep(100 * 1000);
        pthread_t term;
        void *ctx = ip_sctx;
        uint64_t t0 = ip_now_ms();
        cr_assert_eq(pthread_create(&term, NULL, term_main, ctx), 0);
        rx_join(&r, 2000);
        s->closed = true; /* closed by the receiving thread */
        cr_assert_eq(r.rc, -1, "%s: blocked receive returned %d", transports[t], r.rc);
        cr_assert_eq(r.err, ETERM, "%s: errno %d", transports[t], r.err);
        cr_assert_eq(r.close_rc, 0, "%s: close after ETERM failed", transports[t]);
        cr_assert(dt_join(term, 5000), "%s: sinew_ctx_term did not return",
                  transports[t]);
        ip_sctx = NULL;
        cr_log_info("%s: ETERM and term in %llu ms", transports[t],
                    (unsigned long long) (ip_now_ms() - t0));
        ip_close(z);
    }
}

/* ---- 5. every size and a multipart message on the borrowed path ------------------- */

typedef struct shapes {
    void *z;
    pid_t receiver;
    int not_borrowed; /* sends made while the receiver was not polling */
    int failed, err;
} shapes;

static const size_t shape_sizes[] = {0, 1, 255, 256, 8192, 65536, 1024 * 1024};
#define NSIZES (sizeof shape_sizes / sizeof shape_sizes[0])
#define NPARTS 5
static const size_t part_sizes[NPARTS] = {3, 0, 300, 70000, 1};

static void
shape_fill(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t k = 0; k < len; k++)
        p[k] = (uint8_t) (k * 31 + seed * 7 + (k >> 8));
}

static void *
shapes_sender(void *arg)
{
    shapes *sh = arg;
    sh->failed = -1;
    uint8_t *buf = malloc(1024 * 1024);
    for (unsigned i = 0; i < NSIZES + 1 && buf != NULL; i++) {
        /* The receiver is blocked on the connection before each message is sent. */
        if (!dt_wait_polling(sh->receiver, 2000))
            sh->not_borrowed++;
        if (i < NSIZES) {
            shape_fill(buf, shape_sizes[i], i);
            if (zmq_send(sh->z, buf, shape_sizes[i], 0) != (int) shape_sizes[i]) {
                sh->failed = (int) i;
                sh->err = errno;
                break;
            }
            continue;
        }
        for (unsigned k = 0; k < NPARTS; k++) {
            shape_fill(buf, part_sizes[k], 100 + k);
            if (zmq_send(sh->z, buf, part_sizes[k], k + 1 < NPARTS ? ZMQ_SNDMORE : 0) !=
                (int) part_sizes[k]) {
                sh->failed = (int) (i + k);
                sh->err = errno;
                break;
            }
        }
    }
    free(buf);
    return NULL;
}

Test(interop_direct, sizes_and_multipart_borrowed, .init = ip_setup, .fini = ip_teardown,
     .timeout = 40)
{
    uint8_t *want = malloc(1024 * 1024);
    cr_assert_not_null(want);
    for (int t = 0; t < 2; t++) {
        ip_sock *s = ip_socket(false, SINEW_PAIR);
        ip_sock *z = ip_socket(true, ZMQ_PAIR);
        ip_setint(z, ZMQ_SNDTIMEO, 5000);
        ip_setint(s, SINEW_RCVTIMEO, 5000);
        char ep[256];
        ip_bind(z, transports[t], ep, sizeof ep);
        ip_connect(s, ep);
        dt_connected(z, s);
        shapes sh = {.z = z->s, .receiver = dt_gettid()};
        dt_settle();
        pthread_t th;
        cr_assert_eq(pthread_create(&th, NULL, shapes_sender, &sh), 0);
        for (unsigned i = 0; i < NSIZES; i++) {
            shape_fill(want, shape_sizes[i], i);
            ip_recv_check(s, want, shape_sizes[i], false);
        }
        for (unsigned k = 0; k < NPARTS; k++) {
            shape_fill(want, part_sizes[k], 100 + k);
            ip_recv_check(s, want, part_sizes[k], k + 1 < NPARTS);
            int more = -1;
            cr_assert_eq(sinew_getsockopt_int(s->s, SINEW_RCVMORE, &more), 0);
            cr_assert_eq(more, k + 1 < NPARTS, "%s: RCVMORE %d at part %u", transports[t],
                         more, k);
        }
        cr_assert(dt_join(th, 10000), "%s: sender stuck", transports[t]);
        cr_assert_eq(sh.failed, -1, "%s: libzmq send %d failed: errno %d", transports[t],
                     sh.failed, sh.err);
        cr_assert_eq(sh.not_borrowed, 0,
                     "%s: %d messages sent while the receiver was not on the connection",
                     transports[t], sh.not_borrowed);
        /* Nothing left over: the stream ended where it should. */
        ip_setint(s, SINEW_RCVTIMEO, 50);
        char extra[8];
        cr_assert_eq(sinew_recv(s->s, extra, sizeof extra, 0), -1);
        cr_assert_eq(errno, EAGAIN);
        ip_close(s);
        ip_close(z);
    }
    free(want);
}

/* ---- 6. RCVTIMEO on the borrowed path --------------------------------------------- */

Test(interop_direct, rcvtimeo_honoured_while_borrowed, .init = ip_setup,
     .fini = ip_teardown, .timeout = 30)
{
    for (int t = 0; t < 2; t++) {
        ip_sock *s = ip_socket(false, SINEW_PULL);
        ip_sock *z = ip_socket(true, ZMQ_PUSH);
        char ep[256];
        ip_bind(z, transports[t], ep, sizeof ep);
        ip_setint(s, SINEW_RCVTIMEO, 5000);
        ip_connect(s, ep);
        dt_connected(z, s);
        ip_setint(s, SINEW_RCVTIMEO, 300);
        for (int i = 0; i < 3; i++) {
            rx r;
            rx_start(&r, s->s, false);
            rx_join(&r, 3000);
            cr_assert_eq(r.rc, -1, "%s: received %d bytes from an idle peer",
                         transports[t], r.rc);
            cr_assert_eq(r.err, EAGAIN, "%s: errno %d", transports[t], r.err);
            cr_assert_geq(r.took_ms, 250, "%s: timed out after %llu ms", transports[t],
                          (unsigned long long) r.took_ms);
            cr_assert_leq(r.took_ms, 1500, "%s: timed out after %llu ms", transports[t],
                          (unsigned long long) r.took_ms);
        }
        /* Still connected and served after the timeouts. */
        ip_setint(s, SINEW_RCVTIMEO, 5000);
        ip_send_str(z, "late", 0);
        ip_recv_str(s, "late");
    }
}

/* ---- 7. the connection ends on the I/O thread while borrowed ---------------------- */

/* sinew's heartbeat timeout drops a silent raw peer on the I/O thread while a receive
 * waits on the connection's fd: closing an fd does not wake a poll(2) on it, so the
 * engine must wake the waiter (direct_unregister), which then waits elsewhere. */
Test(interop_direct, waiter_leaves_fd_of_dropped_connection, .init = ip_setup,
     .fini = ip_teardown, .timeout = 30)
{
    for (int t = 0; t < 2; t++) {
        int lfd;
        char ep[256];
        if (t == 0) {
            lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            struct sockaddr_in sa = {.sin_family = AF_INET,
                                     .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
            socklen_t sl = sizeof sa;
            cr_assert_eq(bind(lfd, (struct sockaddr *) &sa, sizeof sa), 0);
            cr_assert_eq(getsockname(lfd, (struct sockaddr *) &sa, &sl), 0);
            snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", ntohs(sa.sin_port));
        } else {
            lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            struct sockaddr_un sa = {.sun_family = AF_UNIX};
            ip_endpoint("ipc", ep, sizeof ep);
            cr_assert_lt(strlen(ep + 6), sizeof sa.sun_path);
            memcpy(sa.sun_path, ep + 6, strlen(ep + 6) + 1);
            cr_assert_eq(bind(lfd, (struct sockaddr *) &sa, sizeof sa), 0);
        }
        cr_assert_geq(lfd, 0);
        cr_assert_eq(listen(lfd, 4), 0);

        ip_sock *s = ip_socket(false, SINEW_PAIR);
        ip_setint(s, SINEW_HEARTBEAT_IVL, 50);
        ip_setint(s, SINEW_HEARTBEAT_TIMEOUT, 300);
        ip_setint(s, SINEW_RECONNECT_IVL, 10000); /* no reconnect within the test */
        ip_setint(s, SINEW_RCVTIMEO, 5000);
        ip_sock *mon = ip_monitor(s, SINEW_EVENT_ALL);
        ip_connect(s, ep);
        int fd = ip_raw_accept_pair(lfd);
        ip_expect_event(mon, SINEW_EVENT_HANDSHAKE_SUCCEEDED, NULL, 5000);
        /* One message so the pipe is attached and the engine idle. */
        static const uint8_t msg[] = {0x00, 0x02, 'h', 'i'};
        ip_raw_write(fd, msg, sizeof msg);
        ip_recv_str(s, "hi");
        ip_setint(s, SINEW_RCVTIMEO, 2000);

        rx r;
        rx_start(&r, s->s, false);
        uint64_t t0 = ip_now_ms();
        ip_expect_event(mon, SINEW_EVENT_DISCONNECTED, NULL, 3000);
        cr_assert(dt_wait_futex(atomic_load(&r.tid), 1000),
                  "%s: receive still waits on the dropped connection's fd (syscall %ld)",
                  transports[t], dt_syscall_of(atomic_load(&r.tid)));
        uint64_t left = ip_now_ms() - t0;
        rx_join(&r, 5000);
        cr_assert_eq(r.rc, -1, "%s: rc %d", transports[t], r.rc);
        cr_assert_eq(r.err, EAGAIN, "%s: errno %d", transports[t], r.err);
        cr_log_info("%s: left the fd %llu ms after borrowing", transports[t],
                    (unsigned long long) left);
        ip_close(s);
        close(fd);
        close(lfd);
    }
}

/* ---- 8. commands in the borrowed input go to the I/O thread ----------------------- */

/* A raw ZMTP peer puts a PING next to message frames in one write, so the borrowing
 * thread reads the command together with messages: it must deliver the messages before
 * the PING, stop there and hand the rest to the I/O thread (kick), which answers PONG
 * and delivers what follows. Also with the PING split across two writes, so that input
 * is borrowed again in the middle of a command. */
static const uint8_t ping_cmd[] = {0x04, 0x07, 0x04, 'P', 'I', 'N', 'G', 0x00, 0x00};

static size_t
raw_msg(uint8_t *out, const char *s)
{
    size_t n = strlen(s);
    out[0] = 0x00;
    out[1] = (uint8_t) n;
    memcpy(out + 2, s, n);
    return 2 + n;
}

static bool
raw_pong_within(int fd, int timeout_ms)
{
    uint8_t buf[256];
    size_t got = 0;
    uint64_t deadline = ip_now_ms() + (uint64_t) timeout_ms;
    while (ip_now_ms() < deadline && got < sizeof buf) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0)
            continue;
        ssize_t n = recv(fd, buf + got, sizeof buf - got, MSG_DONTWAIT);
        if (n <= 0)
            break;
        got += (size_t) n;
        for (size_t i = 0; i + 5 <= got; i++)
            if (memcmp(buf + i, "\x04PONG", 5) == 0)
                return true;
    }
    return false;
}

/* The blocked receive returns want (as one message) within 1 s. */
static void
rx_expect(rx *r, const char *transport, const char *want)
{
    rx_join(r, 1000);
    size_t n = strlen(want);
    cr_assert_eq(r->rc, (int) n, "%s: expected \"%s\": rc %d errno %d", transport, want,
                 r->rc, r->err);
    cr_assert_eq(memcmp(r->buf, want, n), 0, "%s: got \"%.*s\", expected \"%s\"",
                 transport, r->rc, r->buf, want);
}

Test(interop_direct, commands_in_borrowed_input_go_to_io_thread, .init = ip_setup,
     .fini = ip_teardown, .timeout = 30)
{
    for (int t = 0; t < 2; t++) {
        ip_sock *s = ip_socket(false, SINEW_PAIR);
        ip_setint(s, SINEW_RCVTIMEO, 5000);
        char ep[112]; /* fits a sockaddr_un path once "ipc://" is off */
        ip_bind(s, transports[t], ep, sizeof ep);
        int fd = ip_raw_handshake(ep, "PAIR");
        uint8_t w[256];
        size_t n = raw_msg(w, "hello");
        ip_raw_write(fd, w, n);
        ip_recv_str(s, "hello");

        /* PING then a message, one write: the message comes through the kick. */
        rx r;
        rx_start(&r, s->s, false);
        memcpy(w, ping_cmd, sizeof ping_cmd);
        n = sizeof ping_cmd + raw_msg(w + sizeof ping_cmd, "after ping");
        ip_raw_write(fd, w, n);
        rx_expect(&r, transports[t], "after ping");
        cr_assert(raw_pong_within(fd, 1000), "%s: no PONG", transports[t]);

        /* A message, a PING, a message: the first straight away, the second after. */
        rx_start(&r, s->s, false);
        n = raw_msg(w, "before");
        memcpy(w + n, ping_cmd, sizeof ping_cmd);
        n += sizeof ping_cmd;
        n += raw_msg(w + n, "behind");
        ip_raw_write(fd, w, n);
        rx_expect(&r, transports[t], "before");
        ip_recv_str(s, "behind");
        cr_assert(raw_pong_within(fd, 1000), "%s: no PONG", transports[t]);

        /* A message and half a PING, then the rest of it and a message. */
        rx_start(&r, s->s, false);
        n = raw_msg(w, "first");
        memcpy(w + n, ping_cmd, 4);
        n += 4;
        ip_raw_write(fd, w, n);
        rx_expect(&r, transports[t], "first");
        rx_start(&r, s->s, false);
        memcpy(w, ping_cmd + 4, sizeof ping_cmd - 4);
        n = sizeof ping_cmd - 4;
        n += raw_msg(w + n, "second");
        ip_raw_write(fd, w, n);
        rx_expect(&r, transports[t], "second");
        cr_assert(raw_pong_within(fd, 1000), "%s: no PONG", transports[t]);
        close(fd);
        ip_close(s);
    }
}

/* ---- direct output ------------------------------------------------------------------ */

/* Write system calls made so far by thread tid (task I/O accounting), or -1. */
static long
dt_syscw(pid_t tid)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/self/task/%d/io", (int) tid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long v = -1;
    while (v < 0 && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "syscw: %ld", &v) != 1)
            v = -1;
    fclose(f);
    return v;
}

/* The thread id of the context's (only) I/O thread. */
static pid_t
dt_io_tid(void)
{
    pid_t tid;
    cr_assert_eq(tn_io_threads(&tid, 1), 1, "no sinew I/O thread");
    return tid;
}

typedef struct drain {
    void *z;
    int n, got;
} drain;

static void *
drain_main(void *arg)
{
    drain *d = arg;
    char buf[16];
    while (d->got < d->n && zmq_recv(d->z, buf, sizeof buf, 0) >= 0)
        d->got++;
    return NULL;
}

/* Sends that find the connection idle are written by the sending thread itself (the I/O
 * thread makes no write for them); a stream is left to the I/O thread, which batches it
 * (the sending thread writes only now and then). */
Test(interop_direct, idle_sends_written_directly_streams_batched, .init = ip_setup,
     .fini = ip_teardown, .timeout = 60)
{
    for (int t = 0; t < 2; t++) {
        ip_sock *z = ip_socket(true, ZMQ_PULL);
        ip_setint(z, ZMQ_RCVTIMEO, 5000);
        ip_sock *s = ip_socket(false, SINEW_PUSH);
        char ep[256];
        ip_bind(z, transports[t], ep, sizeof ep);
        ip_connect(s, ep);
        ip_send_str(s, "hello", 0);
        ip_recv_str(z, "hello");
        pid_t io = dt_io_tid(), self = dt_gettid();

        enum { IDLE = 100, STREAM = 20000 };
        long io0 = dt_syscw(io);
        if (io0 < 0)
            cr_skip_test("this kernel keeps no per-thread I/O accounting");
        for (int i = 0; i < IDLE; i++) {
            usleep(2000);
            ip_send_str(s, "idle", 0);
            ip_recv_str(z, "idle");
        }
        long io_writes = dt_syscw(io) - io0;
        cr_assert_leq(io_writes, IDLE / 10,
                      "%s: the I/O thread made %ld writes for %d sends to an idle "
                      "connection (direct output not used)", transports[t], io_writes, IDLE);

        drain d = {.z = z->s, .n = STREAM};
        pthread_t th;
        cr_assert_eq(pthread_create(&th, NULL, drain_main, &d), 0);
        long self0 = dt_syscw(self);
        for (int i = 0; i < STREAM; i++)
            cr_assert_eq(sinew_send(s->s, "stream", 6, 0), 6, "send: errno %d", errno);
        long self_writes = dt_syscw(self) - self0;
        cr_assert(dt_join(th, 10000), "%s: libzmq receiver stuck", transports[t]);
        cr_assert_eq(d.got, STREAM, "%s: %d of %d streamed messages arrived", transports[t],
                     d.got, STREAM);
        cr_assert_leq(self_writes, STREAM / 10,
                      "%s: the sending thread made %ld writes for a %d-message stream "
                      "(not batched by the I/O thread)", transports[t], self_writes, STREAM);
        cr_log_info("%s: I/O thread writes for %d idle sends: %ld; sending thread writes for "
                    "a %d-message stream: %ld", transports[t], IDLE, io_writes, STREAM,
                    self_writes);
    }
}
