/* Content block recycling (core/msgpool.c): blocks freed by one thread come back to
 * another through the shared pool, a batch at a time, each block handed out once. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "core/msg.h"
#include "core/msgpool.h"

#define FREED 256 /* well above what one thread's cache keeps */
#define TAKEN 128

static sn_msg_content *blocks[FREED];

static void *
free_all(void *arg)
{
    (void) arg;
    for (int i = 0; i < FREED; i++)
        sn_msgpool_free(blocks[i]);
    return NULL;
}

static bool
was_freed(const sn_msg_content *c)
{
    for (int i = 0; i < FREED; i++)
        if (blocks[i] == c)
            return true;
    return false;
}

Test(msgpool, blocks_freed_by_another_thread_come_back_once_each)
{
    for (int i = 0; i < FREED; i++) {
        blocks[i] = sn_msgpool_alloc(100);
        cr_assert_not_null(blocks[i]);
    }
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, free_all, NULL), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);

    /* This thread's cache is empty: every block comes from the batches the other
     * thread handed over, and none twice. */
    sn_msg_content *taken[TAKEN];
    for (int i = 0; i < TAKEN; i++) {
        taken[i] = sn_msgpool_alloc(100);
        cr_assert_not_null(taken[i]);
        cr_assert(was_freed(taken[i]), "block %d did not come from the shared pool", i);
        for (int j = 0; j < i; j++)
            cr_assert_neq(taken[i], taken[j], "block handed out twice");
        memset(taken[i] + 1, 0xab, 100); /* the payload follows the header */
    }
    for (int i = 0; i < TAKEN; i++)
        sn_msgpool_free(taken[i]);
}

/* A producer allocates and stamps blocks, a consumer checks and frees them, through a
 * ring: a block handed out while still in use would carry another stamp. */
#define RING 512
#define ROUNDS 200000

static sn_msg_content *ring[RING];
static _Atomic uint64_t produced, consumed;

static void *
consume(void *arg)
{
    (void) arg;
    for (uint64_t n = 0; n < ROUNDS; n++) {
        while (atomic_load_explicit(&produced, memory_order_acquire) == n)
            ;
        sn_msg_content *c = ring[n % RING];
        uint64_t stamp;
        memcpy(&stamp, (uint8_t *) (c + 1), sizeof stamp);
        cr_assert_eq(stamp, n, "block reused while in use");
        sn_msgpool_free(c);
        atomic_store_explicit(&consumed, n + 1, memory_order_release);
    }
    return NULL;
}

Test(msgpool, producer_consumer_never_shares_a_live_block, .timeout = 60)
{
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, consume, NULL), 0);
    for (uint64_t n = 0; n < ROUNDS; n++) {
        while (n - atomic_load_explicit(&consumed, memory_order_acquire) >= RING)
            ;
        size_t size = 16 + (n % 7) * 200; /* several size classes */
        sn_msg_content *c = sn_msgpool_alloc(size);
        cr_assert_not_null(c);
        memcpy((uint8_t *) (c + 1), &n, sizeof n);
        ring[n % RING] = c;
        atomic_store_explicit(&produced, n + 1, memory_order_release);
    }
    cr_assert_eq(pthread_join(t, NULL), 0);
}
