/* Socket command mailbox (see mailbox.h). Commands are rare next to messages (they only
 * flow when a reader or writer went idle), so a plain mutex is the simple, cheap choice. */
#include <errno.h>
#include <stdlib.h>

#include "core/mailbox.h"

int
sn_mailbox_init(sn_mailbox *mb)
{
    mb->cap = 64;
    mb->ring = malloc(mb->cap * sizeof *mb->ring);
    if (mb->ring == NULL)
        return -ENOMEM;
    mb->head = mb->count = 0;
    mb->closed = false;
    atomic_init(&mb->pending, false);
    pthread_mutex_init(&mb->lock, NULL);
    return 0;
}

void
sn_mailbox_fini(sn_mailbox *mb)
{
    pthread_mutex_destroy(&mb->lock);
    free(mb->ring);
    mb->ring = NULL;
}

static int
grow(sn_mailbox *mb)
{
    size_t cap = mb->cap * 2;
    sn_cmd *ring = malloc(cap * sizeof *ring);
    if (ring == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < mb->count; i++)
        ring[i] = mb->ring[(mb->head + i) % mb->cap];
    free(mb->ring);
    mb->ring = ring;
    mb->cap = cap;
    mb->head = 0;
    return 0;
}

int
sn_mailbox_post(sn_mailbox *mb, sn_cmd cmd)
{
    int rc = 0;
    pthread_mutex_lock(&mb->lock);
    if (mb->closed) {
        rc = -EPIPE;
    } else if (mb->count == mb->cap && (rc = grow(mb)) < 0) {
        /* rc set */
    } else {
        mb->ring[(mb->head + mb->count) % mb->cap] = cmd;
        mb->count++;
        atomic_store_explicit(&mb->pending, true, memory_order_release);
    }
    pthread_mutex_unlock(&mb->lock);
    return rc;
}

size_t
sn_mailbox_take(sn_mailbox *mb, sn_cmd *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&mb->lock);
    while (n < max && mb->count > 0) {
        out[n++] = mb->ring[mb->head];
        mb->head = (mb->head + 1) % mb->cap;
        mb->count--;
    }
    atomic_store_explicit(&mb->pending, mb->count > 0, memory_order_release);
    pthread_mutex_unlock(&mb->lock);
    return n;
}

void
sn_mailbox_close(sn_mailbox *mb)
{
    pthread_mutex_lock(&mb->lock);
    mb->closed = true;
    pthread_mutex_unlock(&mb->lock);
}

void
sn_mailbox_reopen(sn_mailbox *mb)
{
    pthread_mutex_lock(&mb->lock);
    mb->closed = false;
    pthread_mutex_unlock(&mb->lock);
}
