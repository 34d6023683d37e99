/* Content block allocation with recycling. Messages are usually allocated by a sending
 * thread and freed by a receiving one; with glibc that means every large free takes the
 * sender's arena lock while the sender allocates from it. Here blocks are recycled by
 * power-of-two size class: each thread keeps a small cache per class, and full caches
 * hand batches to a shared pool, so a producer/consumer pair touches a lock once per
 * BATCH messages. Pools are bounded; beyond the bounds blocks go back to malloc. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/msgpool.h"

#define MIN_SHIFT 7   /* 128-byte blocks: the smallest content that is not inline */
#define MAX_SHIFT 20  /* 1 MiB: larger blocks are not pooled */
#define NCLASS (MAX_SHIFT - MIN_SHIFT + 1)
#define UNPOOLED NCLASS
#define BATCH 32
#define LOCAL_MAX (2 * BATCH)
#define SHARED_MAX_BYTES (16u << 20) /* per class */

/* A free block. In the shared pool, blocks form batches of exactly BATCH chained by next
 * (the last one's next is NULL); a batch's first block links the next batch. Handing a
 * batch over therefore never walks blocks the other thread wrote last (each such read
 * is a cache miss, and it would happen under the lock). */
typedef struct block {
    struct block *next;
    struct block *next_batch;
} block;

typedef struct batch_list {
    block *head; /* first blocks of batches, chained by next_batch */
    size_t count; /* blocks */
} batch_list;

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static batch_list shared[NCLASS];

typedef struct local_cache {
    block *head[NCLASS];
    unsigned count[NCLASS];
} local_cache;

static _Thread_local local_cache cache;
static _Thread_local bool cache_registered;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void
cache_flush(void *unused)
{
    (void) unused;
    for (int c = 0; c < NCLASS; c++) {
        while (cache.head[c] != NULL) {
            block *b = cache.head[c];
            cache.head[c] = b->next;
            free(b);
        }
        cache.count[c] = 0;
    }
}

static void
cache_key_init(void)
{
    pthread_key_create(&cache_key, cache_flush);
}

/* The destructor only runs for threads that stored a non-NULL value. */
static void
cache_register(void)
{
    if (!cache_registered) {
        pthread_once(&cache_once, cache_key_init);
        pthread_setspecific(cache_key, &cache);
        cache_registered = true;
    }
}

static unsigned
class_of(size_t bytes)
{
    unsigned shift = MIN_SHIFT;
    while (shift <= MAX_SHIFT && ((size_t) 1 << shift) < bytes)
        shift++;
    return shift <= MAX_SHIFT ? shift - MIN_SHIFT : UNPOOLED;
}

sn_msg_content *
sn_msgpool_alloc(size_t size)
{
    if (size > SIZE_MAX - sizeof(sn_msg_content))
        return NULL;
    size_t bytes = sizeof(sn_msg_content) + size;
    unsigned c = class_of(bytes);
    block *b = NULL;
    if (c != UNPOOLED) {
        if (cache.head[c] == NULL) {
            cache_register(); /* blocks may now sit in this thread's cache */
            pthread_mutex_lock(&shared_lock);
            block *first = shared[c].head;
            if (first != NULL) {
                shared[c].head = first->next_batch;
                shared[c].count -= BATCH;
            }
            pthread_mutex_unlock(&shared_lock);
            cache.head[c] = first;
            cache.count[c] = first != NULL ? BATCH : 0;
        }
        b = cache.head[c];
        if (b != NULL) {
            cache.head[c] = b->next;
            cache.count[c]--;
            /* The next block was last written by another thread: fetch it now, not
             * when the next message needs it. */
            if (b->next != NULL)
                __builtin_prefetch(b->next, 1);
        }
    }
    if (b == NULL)
        b = malloc(c == UNPOOLED ? bytes : (size_t) 1 << (c + MIN_SHIFT));
    if (b == NULL)
        return NULL;
    sn_msg_content *content = (sn_msg_content *) (void *) b;
    content->pool_class = c;
    return content;
}

void
sn_msgpool_free(sn_msg_content *content)
{
    unsigned c = content->pool_class;
    block *b = (block *) (void *) content;
    if (c == UNPOOLED) {
        free(b);
        return;
    }
    cache_register();
    b->next = cache.head[c];
    cache.head[c] = b;
    if (++cache.count[c] <= LOCAL_MAX)
        return;
    /* Hand a batch to the shared pool, or back to malloc when the pool is full. */
    block *first = cache.head[c], *last = first;
    for (unsigned n = 1; n < BATCH; n++)
        last = last->next;
    cache.head[c] = last->next;
    cache.count[c] -= BATCH;
    last->next = NULL;
    size_t cap = SHARED_MAX_BYTES >> (c + MIN_SHIFT);
    pthread_mutex_lock(&shared_lock);
    bool keep = shared[c].count + BATCH <= (cap < BATCH ? BATCH : cap);
    if (keep) {
        first->next_batch = shared[c].head;
        shared[c].head = first;
        shared[c].count += BATCH;
    }
    pthread_mutex_unlock(&shared_lock);
    while (!keep && first != NULL) {
        block *next = first->next;
        free(first);
        first = next;
    }
}
