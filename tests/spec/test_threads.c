/* Thread safety and stress: several threads on separate and on shared sockets, each
 * test over inproc, ipc and tcp (support/transports.h). */
#include <criterion/criterion.h>
#include <pthread.h>

#include "support/net.h"
#include "support/transports.h"

TestSuite(spec_threads, .init = tn_tran_setup, .fini = tn_tran_teardown, .timeout = 60);

typedef struct rec {
    uint32_t producer, seq;
} rec;

typedef struct producer_arg {
    void *sock;
    uint32_t id, count;
    int parts; /* 1: single-part records; 3: [id][seq][id^seq] multipart */
    int err;
} producer_arg;

static void *
produce(void *p)
{
    producer_arg *a = p;
    for (uint32_t i = 0; i < a->count; i++) {
        rec r = {a->id, i};
        if (a->parts == 1) {
            if (sinew_send(a->sock, &r, sizeof r, 0) != (int) sizeof r) {
                a->err = errno;
                return NULL;
            }
            continue;
        }
        uint32_t v[3] = {a->id, i, a->id ^ i};
        for (int k = 0; k < 3; k++)
            if (sinew_send(a->sock, &v[k], sizeof v[k], k < 2 ? SINEW_SNDMORE : 0) !=
                (int) sizeof v[k]) {
                a->err = errno;
                return NULL;
            }
    }
    return NULL;
}

static void
consume_records(void *pull, int producers, uint32_t per_producer)
{
    uint32_t next[8] = {0};
    uint64_t total = (uint64_t) producers * per_producer;
    for (uint64_t n = 0; n < total; n++) {
        rec r;
        int rc = sinew_recv(pull, &r, sizeof r, 0);
        cr_assert_eq(rc, (int) sizeof r, "recv %llu of %llu: rc %d errno %d",
                     (unsigned long long) n, (unsigned long long) total, rc, errno);
        cr_assert_lt(r.producer, (uint32_t) producers, "bad producer id %u", r.producer);
        cr_assert_eq(r.seq, next[r.producer], "producer %u: got seq %u, expected %u",
                     r.producer, r.seq, next[r.producer]);
        next[r.producer]++;
    }
    for (int p = 0; p < producers; p++)
        cr_assert_eq(next[p], per_producer, "producer %d delivered %u", p, next[p]);
    rec r;
    cr_assert_eq(sinew_recv(pull, &r, sizeof r, SINEW_DONTWAIT), -1, "extra message");
}

/* 4 producers x 250000 messages, one PUSH socket each, into one PULL. */
TN_TRAN_TEST(spec_threads, four_producers_million_messages_in_order)
{
    char ep[TN_EP_MAX];
    enum { P = 4, N = 250000 };
    void *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 20000);
    tn_bind_any(pull, tran, ep);
    producer_arg a[P];
    pthread_t t[P];
    for (uint32_t p = 0; p < P; p++) {
        a[p] = (producer_arg){
            .sock = tn_sock(SINEW_PUSH), .id = p, .count = N, .parts = 1};
        tn_set(a[p].sock, SINEW_SNDTIMEO, 20000);
        tn_connect(a[p].sock, ep);
    }
    for (int p = 0; p < P; p++)
        cr_assert_eq(pthread_create(&t[p], NULL, produce, &a[p]), 0);
    consume_records(pull, P, N);
    for (int p = 0; p < P; p++) {
        pthread_join(t[p], NULL);
        cr_assert_eq(a[p].err, 0, "producer %d failed: errno %d", p, a[p].err);
    }
}

/* 4 threads share one thread-safe PUSH socket. */
TN_TRAN_TEST(spec_threads, four_threads_share_one_push_socket)
{
    char ep[TN_EP_MAX];
    enum { P = 4, N = 50000 };
    void *pull = tn_sock(SINEW_PULL), *push = tn_sock(SINEW_PUSH);
    cr_assert_eq(tn_get(push, SINEW_THREAD_SAFE), 1);
    tn_set(pull, SINEW_RCVTIMEO, 20000);
    tn_set(push, SINEW_SNDTIMEO, 20000);
    tn_set(push, SINEW_SNDHWM, 100); /* make the producers block and contend */
    tn_bind_any(pull, tran, ep);
    tn_connect(push, ep);
    producer_arg a[P];
    pthread_t t[P];
    for (uint32_t p = 0; p < P; p++) {
        a[p] = (producer_arg){.sock = push, .id = p, .count = N, .parts = 1};
        cr_assert_eq(pthread_create(&t[p], NULL, produce, &a[p]), 0);
    }
    consume_records(pull, P, N);
    for (int p = 0; p < P; p++) {
        pthread_join(t[p], NULL);
        cr_assert_eq(a[p].err, 0, "producer %d failed: errno %d", p, a[p].err);
    }
}

/* A multipart message belongs to the thread that started it until its last part. */
TN_TRAN_TEST(spec_threads, multipart_from_two_threads_on_one_socket_never_interleaves)
{
    char ep[TN_EP_MAX];
    enum { P = 2, N = 30000 };
    void *pull = tn_sock(SINEW_PULL), *push = tn_sock(SINEW_PUSH);
    tn_set(pull, SINEW_RCVTIMEO, 20000);
    tn_set(push, SINEW_SNDTIMEO, 20000);
    tn_set(push, SINEW_SNDHWM, 50);
    tn_bind_any(pull, tran, ep);
    tn_connect(push, ep);
    producer_arg a[P];
    pthread_t t[P];
    for (uint32_t p = 0; p < P; p++) {
        a[p] = (producer_arg){.sock = push, .id = p, .count = N, .parts = 3};
        cr_assert_eq(pthread_create(&t[p], NULL, produce, &a[p]), 0);
    }
    uint32_t next[P] = {0};
    for (int n = 0; n < P * N; n++) {
        uint32_t v[3];
        for (int k = 0; k < 3; k++) {
            cr_assert_eq(sinew_recv(pull, &v[k], sizeof v[k], 0), (int) sizeof v[k],
                         "errno %d", errno);
            cr_assert_eq(tn_rcvmore(pull), k < 2, "message %d part %d: wrong RCVMORE", n,
                         k);
        }
        cr_assert_lt(v[0], (uint32_t) P);
        cr_assert_eq(v[1], next[v[0]], "producer %u: seq %u, expected %u (interleaved?)",
                     v[0], v[1], next[v[0]]);
        cr_assert_eq(v[2], v[0] ^ v[1], "parts of different messages interleaved");
        next[v[0]]++;
    }
    for (int p = 0; p < P; p++) {
        pthread_join(t[p], NULL);
        cr_assert_eq(a[p].err, 0);
        cr_assert_eq(next[p], N);
    }
}

typedef struct recv_arg {
    void *sock;
    uint32_t count;
    uint32_t got;
    int err;
} recv_arg;

static void *
receive_seq(void *p)
{
    recv_arg *a = p;
    for (; a->got < a->count; a->got++) {
        uint32_t v;
        if (sinew_recv(a->sock, &v, sizeof v, 0) != (int) sizeof v) {
            a->err = errno;
            return NULL;
        }
        if (v != a->got) {
            a->err = -1;
            return NULL;
        }
    }
    return NULL;
}

/* One thread sends while another receives on the same PAIR socket. */
TN_TRAN_TEST(spec_threads, pair_send_and_recv_from_two_threads_on_one_socket)
{
    char ep[TN_EP_MAX];
    enum { N = 100000 };
    void *a = tn_sock(SINEW_PAIR), *b = tn_sock(SINEW_PAIR);
    tn_set(a, SINEW_RCVTIMEO, 20000);
    tn_set(a, SINEW_SNDTIMEO, 20000);
    tn_set(b, SINEW_RCVTIMEO, 20000);
    tn_set(b, SINEW_SNDTIMEO, 20000);
    tn_bind_any(a, tran, ep);
    tn_connect(b, ep);
    recv_arg r = {a, N, 0, 0};
    pthread_t tr, ts;
    cr_assert_eq(pthread_create(&tr, NULL, receive_seq, &r), 0);
    /* a -> b: records {0, seq} from a sending thread; b -> a: plain seq numbers. */
    producer_arg pa = {.sock = a, .id = 0, .count = N, .parts = 1};
    cr_assert_eq(pthread_create(&ts, NULL, produce, &pa), 0);
    for (uint32_t i = 0; i < N; i++)
        tn_send_u32(b, i, 0);
    for (uint32_t i = 0; i < N; i++) {
        rec v;
        cr_assert_eq(sinew_recv(b, &v, sizeof v, 0), (int) sizeof v, "errno %d", errno);
        cr_assert_eq(v.seq, i);
    }
    pthread_join(ts, NULL);
    pthread_join(tr, NULL);
    cr_assert_eq(pa.err, 0);
    cr_assert_eq(r.err, 0, "receiver thread: err %d after %u", r.err, r.got);
    cr_assert_eq(r.got, N);
}

/* REQ/REP ping-pong between two threads, each socket used by its own thread. */
typedef struct echo_arg {
    void *rep;
    int n, err;
} echo_arg;

static void *
echo(void *p)
{
    echo_arg *e = p;
    for (int i = 0; i < e->n; i++) {
        char buf[16];
        int n = sinew_recv(e->rep, buf, sizeof buf, 0);
        if (n < 0 || sinew_send(e->rep, buf, (size_t) n, 0) != n) {
            e->err = errno;
            return NULL;
        }
    }
    return NULL;
}

TN_TRAN_TEST(spec_threads, req_rep_ping_pong_across_threads)
{
    char ep[TN_EP_MAX];
    enum { N = 20000 };
    void *req = tn_sock(SINEW_REQ), *rep = tn_sock(SINEW_REP);
    tn_set(req, SINEW_RCVTIMEO, 20000);
    tn_set(rep, SINEW_RCVTIMEO, 20000);
    tn_bind_any(rep, tran, ep);
    tn_connect(req, ep);
    echo_arg e = {rep, N, 0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, echo, &e), 0);
    for (uint32_t i = 0; i < N; i++) {
        tn_send_u32(req, i, 0);
        cr_assert_eq(tn_recv_u32(req), i);
    }
    pthread_join(t, NULL);
    cr_assert_eq(e.err, 0);
}

/* Receiving side: a multipart message belongs to the receiving thread that took its first
 * part, so two threads receiving on one PULL each get whole messages. */
typedef struct rx_arg {
    void *sock;
    int n, bad, err;
} rx_arg;

static void *
receive_whole(void *p)
{
    rx_arg *a = p;
    for (;;) {
        uint32_t v[3];
        for (int k = 0; k < 3; k++) {
            if (sinew_recv(a->sock, &v[k], sizeof v[k], 0) != (int) sizeof v[k]) {
                a->err = errno;
                return NULL;
            }
        }
        if (v[0] == UINT32_MAX)
            return NULL; /* one end marker per receiver */
        if (v[1] != v[0] + 1 || v[2] != v[0] + 2)
            a->bad++;
        a->n++;
    }
}

TN_TRAN_TEST(spec_threads, two_receivers_on_one_pull_get_whole_messages)
{
    char ep[TN_EP_MAX];
    enum { N = 20000 };
    void *push = tn_sock(SINEW_PUSH), *pull = tn_sock(SINEW_PULL);
    tn_set(pull, SINEW_RCVTIMEO, 20000);
    tn_set(push, SINEW_SNDTIMEO, 20000);
    tn_bind_any(pull, tran, ep);
    tn_connect(push, ep);
    rx_arg a = {pull, 0, 0, 0}, b = {pull, 0, 0, 0};
    pthread_t t1, t2;
    cr_assert_eq(pthread_create(&t1, NULL, receive_whole, &a), 0);
    cr_assert_eq(pthread_create(&t2, NULL, receive_whole, &b), 0);
    for (uint32_t m = 0; m < N; m++)
        for (uint32_t k = 0; k < 3; k++)
            tn_send_u32(push, m * 3 + k, k < 2 ? SINEW_SNDMORE : 0);
    for (int e = 0; e < 2; e++)
        for (uint32_t k = 0; k < 3; k++)
            tn_send_u32(push, UINT32_MAX, k < 2 ? SINEW_SNDMORE : 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    cr_assert_eq(a.err + b.err, 0, "receiver failed: errno %d / %d", a.err, b.err);
    cr_assert_eq(a.bad + b.bad, 0, "interleaved parts: %d + %d messages", a.bad, b.bad);
    cr_assert_eq(a.n + b.n, N, "received %d + %d of %d", a.n, b.n, N);
}
