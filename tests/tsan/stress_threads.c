/* Thread-safety stress, a plain program so it also runs under ThreadSanitizer (Criterion
 * cannot start under TSan): several producers, one shared thread-safe socket, and
 * multipart messages from several threads, verified for count, order and atomicity;
 * high-water marks changed while a stream flows.
 * Exit status 0 on success; each failure prints what went wrong. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sinew.h"
#include "check.h"

#define PRODUCERS 4

static long per_producer = 250000;
static void *ctx;
static void *shared_push;

typedef struct item {
    uint32_t producer;
    uint32_t seq;
} item;

static void *
producer(void *arg)
{
    uint32_t id = (uint32_t) (uintptr_t) arg;
    void *s = sinew_socket(ctx, SINEW_PUSH);
    CHECK(s != NULL, "socket");
    CHECK(sinew_connect(s, "inproc://stress") == 0, "connect");
    for (uint32_t i = 0; i < (uint32_t) per_producer; i++) {
        item it = {id, i};
        CHECK(sinew_send(s, &it, sizeof it, 0) == sizeof it, "send");
    }
    CHECK(sinew_close(s) == 0, "close");
    return NULL;
}

/* Producers on their own sockets: every message arrives, in order per producer. */
static void
many_producers(void)
{
    void *pull = sinew_socket(ctx, SINEW_PULL);
    CHECK(sinew_bind(pull, "inproc://stress") == 0, "bind");
    pthread_t t[PRODUCERS];
    for (uintptr_t i = 0; i < PRODUCERS; i++)
        pthread_create(&t[i], NULL, producer, (void *) i);
    uint32_t next[PRODUCERS] = {0};
    int timeout = 10000;
    sinew_setsockopt(pull, SINEW_RCVTIMEO, &timeout, sizeof timeout);
    for (long n = 0; n < PRODUCERS * per_producer; n++) {
        item it;
        CHECK(sinew_recv(pull, &it, sizeof it, 0) == sizeof it, "recv %ld", n);
        CHECK(it.producer < PRODUCERS, "bad producer %u", it.producer);
        CHECK(it.seq == next[it.producer], "producer %u: got %u, want %u", it.producer,
              it.seq, next[it.producer]);
        next[it.producer]++;
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(t[i], NULL);
    sinew_close(pull);
}

/* Threads sharing one socket, sending 3-part messages: parts never interleave. */
static void *
multipart_sender(void *arg)
{
    uint32_t id = (uint32_t) (uintptr_t) arg;
    for (uint32_t i = 0; i < (uint32_t) per_producer / 10; i++) {
        for (uint32_t part = 0; part < 3; part++) {
            item it = {id, part};
            CHECK(sinew_send(shared_push, &it, sizeof it, part < 2 ? SINEW_SNDMORE : 0) ==
                      sizeof it,
                  "send");
        }
    }
    return NULL;
}

static void
shared_socket_multipart(void)
{
    void *pull = sinew_socket(ctx, SINEW_PULL);
    CHECK(sinew_bind(pull, "inproc://shared") == 0, "bind");
    shared_push = sinew_socket(ctx, SINEW_PUSH);
    CHECK(sinew_connect(shared_push, "inproc://shared") == 0, "connect");
    pthread_t t[PRODUCERS];
    for (uintptr_t i = 0; i < PRODUCERS; i++)
        pthread_create(&t[i], NULL, multipart_sender, (void *) i);
    int timeout = 10000;
    sinew_setsockopt(pull, SINEW_RCVTIMEO, &timeout, sizeof timeout);
    for (long n = 0; n < PRODUCERS * (per_producer / 10); n++) {
        item first;
        CHECK(sinew_recv(pull, &first, sizeof first, 0) == sizeof first, "recv");
        for (uint32_t part = 0; part < 3; part++) {
            item it = first;
            if (part > 0)
                CHECK(sinew_recv(pull, &it, sizeof it, 0) == sizeof it, "recv part");
            CHECK(it.producer == first.producer && it.seq == part,
                  "interleaved: part %u from %u/%u", part, it.producer, it.seq);
            int more;
            size_t len = sizeof more;
            sinew_getsockopt(pull, SINEW_RCVMORE, &more, &len);
            CHECK(more == (part < 2), "RCVMORE %d at part %u", more, part);
        }
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(t[i], NULL);
    sinew_close(shared_push);
    sinew_close(pull);
}

/* One thread sends while another receives on the same PAIR socket. */
static void *a_sock, *b_sock;

static void *
pair_receiver(void *arg)
{
    (void) arg;
    for (long i = 0; i < per_producer; i++) {
        long v;
        CHECK(sinew_recv(a_sock, &v, sizeof v, 0) == sizeof v && v == i, "pair recv %ld", i);
    }
    return NULL;
}

static void *
echo(void *arg)
{
    (void) arg;
    for (long i = 0; i < per_producer; i++) {
        long v;
        CHECK(sinew_recv(b_sock, &v, sizeof v, 0) == sizeof v, "echo recv");
        CHECK(sinew_send(b_sock, &v, sizeof v, 0) == sizeof v, "echo send");
    }
    return NULL;
}

static void
pair_send_while_receiving(void)
{
    a_sock = sinew_socket(ctx, SINEW_PAIR);
    b_sock = sinew_socket(ctx, SINEW_PAIR);
    CHECK(sinew_bind(a_sock, "inproc://pair") == 0, "bind");
    CHECK(sinew_connect(b_sock, "inproc://pair") == 0, "connect");
    pthread_t r, e;
    pthread_create(&r, NULL, pair_receiver, NULL);
    pthread_create(&e, NULL, echo, NULL);
    for (long i = 0; i < per_producer; i++)
        CHECK(sinew_send(a_sock, &i, sizeof i, 0) == sizeof i, "pair send");
    pthread_join(r, NULL);
    pthread_join(e, NULL);
    sinew_close(a_sock);
    sinew_close(b_sock);
}

/* High-water marks changed all along on both ends of a stream, inproc and tcp, while
 * one thread sends and another receives: nothing lost or reordered, no send stuck. */
static void *hwm_push, *hwm_pull;
static atomic_bool hwm_done;

static void *
hwm_sender(void *arg)
{
    long count = (long) (intptr_t) arg;
    for (long i = 0; i < count; i++)
        CHECK(sinew_send(hwm_push, &i, sizeof i, 0) == sizeof i, "hwm send %ld", i);
    return NULL;
}

static void *
hwm_changer(void *arg)
{
    (void) arg;
    static const int hwms[] = {1, 2, 5, 100, 0, 3, 1000};
    for (unsigned i = 0; !atomic_load(&hwm_done); i++) {
        int snd = hwms[i % 7], rcv = hwms[(i / 7) % 7];
        CHECK(sinew_setsockopt(hwm_push, SINEW_SNDHWM, &snd, sizeof snd) == 0, "sndhwm");
        CHECK(sinew_setsockopt(hwm_pull, SINEW_RCVHWM, &rcv, sizeof rcv) == 0, "rcvhwm");
    }
    return NULL;
}

static void
hwm_changes_while_streaming(const char *bind_ep)
{
    hwm_push = sinew_socket(ctx, SINEW_PUSH);
    hwm_pull = sinew_socket(ctx, SINEW_PULL);
    int timeout = 10000, one = 1;
    sinew_setsockopt(hwm_push, SINEW_SNDTIMEO, &timeout, sizeof timeout);
    sinew_setsockopt(hwm_pull, SINEW_RCVTIMEO, &timeout, sizeof timeout);
    sinew_setsockopt(hwm_push, SINEW_SNDHWM, &one, sizeof one);
    sinew_setsockopt(hwm_pull, SINEW_RCVHWM, &one, sizeof one);
    CHECK(sinew_bind(hwm_pull, bind_ep) == 0, "bind %s", bind_ep);
    char ep[256];
    size_t len = sizeof ep;
    CHECK(sinew_getsockopt(hwm_pull, SINEW_LAST_ENDPOINT, ep, &len) == 0, "endpoint");
    CHECK(sinew_connect(hwm_push, ep) == 0, "connect %s", ep);
    long count = per_producer / 5;
    atomic_store(&hwm_done, false);
    pthread_t sender, changer;
    pthread_create(&sender, NULL, hwm_sender, (void *) (intptr_t) count);
    pthread_create(&changer, NULL, hwm_changer, NULL);
    for (long i = 0; i < count; i++) {
        long v = -1;
        CHECK(sinew_recv(hwm_pull, &v, sizeof v, 0) == sizeof v, "hwm recv %ld", i);
        CHECK(v == i, "hwm: got %ld, want %ld", v, i);
    }
    atomic_store(&hwm_done, true);
    pthread_join(sender, NULL);
    pthread_join(changer, NULL);
    sinew_close(hwm_push);
    sinew_close(hwm_pull);
}

int
main(int argc, char **argv)
{
    if (argc > 1)
        per_producer = atol(argv[1]);
    ctx = sinew_ctx_new();
    CHECK(ctx != NULL, "ctx");
    many_producers();
    shared_socket_multipart();
    pair_send_while_receiving();
    hwm_changes_while_streaming("inproc://stress-hwm");
    hwm_changes_while_streaming("tcp://127.0.0.1:*");
    CHECK(sinew_ctx_term(ctx) == 0, "term");
    printf("ok: %d producers x %ld messages, shared-socket multipart, pair send+recv, "
           "HWM changes while streaming (inproc, tcp)\n",
           PRODUCERS, per_producer);
    return 0;
}
