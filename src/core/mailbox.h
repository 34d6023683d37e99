/* A socket's command mailbox: any thread posts, the socket's current lock holder takes.
 * A mutex-protected ring; `pending` lets the owner test for work without the lock. */
#ifndef SINEW_CORE_MAILBOX_H
#define SINEW_CORE_MAILBOX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct sn_pipe sn_pipe;

typedef struct sn_cmd {
    int type;
    sn_pipe *pipe;
} sn_cmd;

typedef struct sn_mailbox {
    pthread_mutex_t lock;
    sn_cmd *ring;
    size_t head, count, cap;
    bool closed;
    atomic_bool pending;
} sn_mailbox;

int sn_mailbox_init(sn_mailbox *mb); /* -ENOMEM */
void sn_mailbox_fini(sn_mailbox *mb);
/* 0, -EPIPE if closed (the command was not queued), -ENOMEM. */
int sn_mailbox_post(sn_mailbox *mb, sn_cmd cmd);
/* Takes up to max commands, oldest first; returns how many. */
size_t sn_mailbox_take(sn_mailbox *mb, sn_cmd *out, size_t max);
/* Refuses further posts; returns nothing queued (caller drains first). */
void sn_mailbox_close(sn_mailbox *mb);
void sn_mailbox_reopen(sn_mailbox *mb);

static inline bool
sn_mailbox_pending(sn_mailbox *mb)
{
    return atomic_load_explicit(&mb->pending, memory_order_acquire);
}

#endif
