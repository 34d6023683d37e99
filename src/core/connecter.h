/* The connecting side of a sinew_connect to a network endpoint: one non-blocking connect
 * attempt at a time, the retry timer and its backoff (SINEW_RECONNECT_IVL doubling up to
 * SINEW_RECONNECT_IVL_MAX). It owns only the descriptor of the attempt in progress; the
 * session that owns it (session.c) gets each connected descriptor, and decides what a
 * lost connection means for the pipe. Reactor thread only. */
#ifndef SINEW_CORE_CONNECTER_H
#define SINEW_CORE_CONNECTER_H

#include <stdbool.h>

#include "core/net.h"
#include "io/reactor.h"

typedef struct sn_connecter {
    sn_reactor *r;
    sn_endpoint ep;
    const sn_net_config *cfg; /* the owning session's */
    sn_monitor *mon;          /* events, with addr */
    const char *addr;
    /* connected: fd is the caller's now. gave_up: retrying is off
     * (SINEW_RECONNECT_IVL <= 0, as libzmq 4.3) and the attempt failed. */
    void (*connected)(void *owner, int fd);
    void (*gave_up)(void *owner);
    void *owner;

    int fd;                   /* attempt in progress, -1 if none */
    sn_io_handle *h;
    sn_timer_id retry_timer;
    int ivl;                  /* next retry interval */
} sn_connecter;

void sn_connecter_init(sn_connecter *c, sn_reactor *r, const sn_endpoint *ep,
                       const sn_net_config *cfg, sn_monitor *mon, const char *addr);
/* Connect now. */
void sn_connecter_start(sn_connecter *c);
/* After a failed attempt or a lost connection: try again after the backoff interval,
 * or report gave_up if reconnecting is off. */
void sn_connecter_retry(sn_connecter *c);
/* A handshake succeeded: the backoff starts over. */
void sn_connecter_reset_backoff(sn_connecter *c);
/* Reconnecting is on (SINEW_RECONNECT_IVL > 0). */
bool sn_connecter_retries(const sn_connecter *c);
/* Cancels the timer and closes an attempt in progress. Idempotent. */
void sn_connecter_fini(sn_connecter *c);

#endif
