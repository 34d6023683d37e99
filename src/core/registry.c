/* Handle registry (see registry.h): slot tables grow by fixed-size chunks that are
 * published with release stores, so lookups take no lock. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/registry.h"

#define CHUNK_SLOTS 1024u
#define MAX_CHUNKS (SN_REGISTRY_MAX / CHUNK_SLOTS)

struct sn_registry {
    pthread_mutex_t lock;
    _Atomic(void **) chunks[MAX_CHUNKS];
    uint32_t used;   /* slots handed out so far */
    uint32_t *free;  /* released slot indexes, a stack */
    uint32_t nfree, free_cap;
};

sn_registry sn_ctx_registry = {.lock = PTHREAD_MUTEX_INITIALIZER};
sn_registry sn_socket_registry = {.lock = PTHREAD_MUTEX_INITIALIZER};

void *
sn_registry_recycle(sn_registry *r, uint32_t *index)
{
    void *obj = NULL;
    pthread_mutex_lock(&r->lock);
    if (r->nfree > 0) {
        *index = r->free[--r->nfree];
        obj = sn_registry_get(r, *index);
    }
    pthread_mutex_unlock(&r->lock);
    return obj;
}

int
sn_registry_add(sn_registry *r, void *obj, uint32_t *index)
{
    int rc = 0;
    pthread_mutex_lock(&r->lock);
    uint32_t i = r->used;
    if (i >= SN_REGISTRY_MAX) {
        rc = -EMFILE;
        goto out;
    }
    /* Reserve room in the free stack now, so release never needs to allocate. */
    if (r->free_cap < i + 1) {
        uint32_t cap = r->free_cap ? r->free_cap * 2 : 64;
        uint32_t *f = realloc(r->free, cap * sizeof *f);
        if (f == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        r->free = f;
        r->free_cap = cap;
    }
    void **chunk = atomic_load_explicit(&r->chunks[i / CHUNK_SLOTS], memory_order_relaxed);
    if (chunk == NULL) {
        chunk = calloc(CHUNK_SLOTS, sizeof *chunk);
        if (chunk == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        atomic_store_explicit(&r->chunks[i / CHUNK_SLOTS], chunk, memory_order_release);
    }
    chunk[i % CHUNK_SLOTS] = obj;
    r->used = i + 1;
    *index = i;
out:
    pthread_mutex_unlock(&r->lock);
    return rc;
}

void
sn_registry_release(sn_registry *r, uint32_t index)
{
    pthread_mutex_lock(&r->lock);
    r->free[r->nfree++] = index;
    pthread_mutex_unlock(&r->lock);
}

void *
sn_registry_get(sn_registry *r, uint32_t index)
{
    if (index >= SN_REGISTRY_MAX)
        return NULL;
    void **chunk = atomic_load_explicit(&r->chunks[index / CHUNK_SLOTS], memory_order_acquire);
    if (chunk == NULL)
        return NULL;
    /* A slot is written before its index is ever handed out in a handle. */
    return chunk[index % CHUNK_SLOTS];
}

/* Layout: bit 0 set (never a valid aligned pointer), bits 1-3 kind, bits 4-23 index,
 * bits 24 and up generation. */
void *
sn_handle_make(int kind, uint32_t index, uint64_t gen)
{
    uintptr_t v = ((uintptr_t) gen << 24) | ((uintptr_t) index << 4) |
                  ((uintptr_t) kind << 1) | 1u;
    return (void *) v;
}

bool
sn_handle_parse(const void *h, int kind, uint32_t *index, uint64_t *gen)
{
    uintptr_t v = (uintptr_t) h;
    if ((v & 1u) == 0 || (int) ((v >> 1) & 7u) != kind)
        return false;
    *index = (uint32_t) ((v >> 4) & (SN_REGISTRY_MAX - 1));
    *gen = (uint64_t) (v >> 24);
    return true;
}
