/* Session and listener internals shared by session.c and listener.c (see net.h for the
 * socket-facing API). Reactor thread only. */
#ifndef SINEW_CORE_SESSION_H
#define SINEW_CORE_SESSION_H

#include "core/net.h"
#include "core/options.h"
#include "core/connecter.h"
#include "core/pipe.h"
#include "core/stats.h"
#include "io/timers.h"

typedef struct sn_engine sn_engine;
typedef struct sn_io_handle sn_io_handle;

struct sn_session {
    sn_reactor *r;
    sn_ctx *ctx;
    sn_monitor *mon;
    sn_stats *stats;     /* the socket's counters */
    sn_socket *sock;     /* recycled memory is safe; sock_gen tells if it is still ours */
    uint64_t sock_gen;
    int endpoint;
    sn_net_config cfg;
    char addr[SN_LAST_ENDPOINT_MAX];
    sn_listener *parent; /* accepted sessions: the listener that owns them */
    sn_session *next_child;
    sn_connecter *conn;  /* connecting sessions: attempts, retries, backoff */

    sn_pipe *pipe;       /* our end, or NULL */
    sn_engine *engine;   /* the connection, or NULL between connections */
    bool connected_before; /* a handshake succeeded already: the next is a reconnect */
    sn_timer_id linger_timer;
    bool stopping;       /* flush and end */
    bool stop_requested; /* the socket (or listener) is done with us */
};

/* A connection the listener accepted. s is only an identity here (with gen): it may be
 * closed and finalized already, its fields are not to be read. */
void sn_session_accepted(sn_listener *parent, sn_ctx *ctx, sn_socket *s, uint64_t gen,
                         sn_reactor *r, const sn_net_config *cfg, sn_monitor *mon,
                         sn_stats *stats, int endpoint, int fd, const char *addr);
/* The listener is going away: end this session as if its socket stopped it. */
void sn_session_stop_local(sn_session *ss);
void sn_listener_adopt(sn_listener *l, sn_session *ss);
void sn_listener_forget(sn_listener *l, sn_session *ss);

#endif
