/* Thread-safety stress, a plain program so it also runs under ThreadSanitizer (Criterion
 * cannot start under TSan): several producers, one shared thread-safe socket, and
 * multipart messages from several threads, verified for count, order and atomicity.
 * Exit status 0 on success; each failure prints what went wrong. */
#include <pthread.h>
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
    CHECK(sinew_ctx_term(ctx) == 0, "term");
    printf("ok: %d producers x %ld messages, shared-socket multipart, pair send+recv\n",
           PRODUCERS, per_producer);
    return 0;
}
