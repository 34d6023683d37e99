/* Network endpoints (tcp://, ipc://): listeners, sessions and their engines, which live
 * on the context's I/O threads. The socket starts and stops them and talks to them only
 * through pipes and posted tasks; they never take a socket's lock (except to emit
 * monitor events through the public-style send path).
 *
 * A session is the I/O-side owner of one pipe end. A connecting socket gets one session
 * per connect: it creates the pipe at once (unless SINEW_IMMEDIATE), so messages queue
 * while the connection is being made, and survive reconnects. A listener makes one
 * session per accepted connection, whose pipe appears when the handshake succeeds. */
#ifndef SINEW_CORE_NET_H
#define SINEW_CORE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/options.h"
#include "zmtp/mechanism.h"
#include "transports/endpoint.h"
#include "transports/tcp.h"

typedef struct sn_socket sn_socket;
typedef struct sn_ctx sn_ctx;
typedef struct sn_reactor sn_reactor;
typedef struct sn_monitor sn_monitor;
typedef struct sn_session sn_session;
typedef struct sn_listener sn_listener;
typedef struct sn_link sn_link;

/* What a connection needs from its socket's options, copied when it is set up. */
typedef struct sn_net_config {
    int type;
    uint64_t sndhwm, rcvhwm;
    bool immediate;
    bool conflate_out, conflate_in; /* SINEW_CONFLATE on the socket's queues */
    uint8_t routing_id[SN_ROUTING_ID_MAX];
    size_t routing_id_len;
    int64_t maxmsgsize;
    int handshake_ivl;
    int heartbeat_ivl, heartbeat_ttl, heartbeat_timeout;
    int reconnect_ivl, reconnect_ivl_max;
    int backlog;
    int linger;
    sn_tcp_opts tcp;
    sn_zmtp_security sec;  /* for the handshake's mechanism; wiped when freed */
    sn_ctx *ctx;           /* for ZAP requests (set by the session) */
} sn_net_config;

void sn_net_config_init(sn_net_config *c, const sn_options *o);

/* Socket's thread, socket lock held. Binds synchronously (so EADDRINUSE and the
 * resolved endpoint come back to the caller), then hands the listening fd to an I/O
 * thread. endpoint: the socket's endpoint index (for unbind). */
int sn_listener_start(sn_socket *s, const sn_endpoint *ep, int endpoint, char *resolved,
                      size_t len, sn_listener **out);
/* Any thread, once: stop accepting, end the connections it accepted, free it. */
void sn_listener_stop(sn_listener *l);

/* Socket's thread, socket lock held: starts connecting on an I/O thread. */
int sn_session_connect(sn_socket *s, const sn_endpoint *ep, const char *uri, int endpoint,
                       sn_session **out);
/* Direct input (any thread, for a receive about to block on a socket whose one pipe is
 * l): if l leads to an idle connection, take over its input and return the fd to wait
 * on; -EBUSY if the I/O thread is using that input just now, another negative value if
 * there is none to take; wake(arg) is called if the connection ends meanwhile. Then, whatever
 * woke the wait, give it back with return, which first decodes what arrived if the fd
 * was readable; it keeps the input (true: wait again) if may_keep and only part of a
 * frame came. See sn_engine_input_borrow. */
int sn_session_input_borrow(sn_link *l, void (*wake)(void *), void *arg, uint64_t *token);
bool sn_session_input_return(sn_link *l, uint64_t token, bool readable, bool may_keep);

/* Any thread, once: stop reconnecting; flush what the pipe holds within the linger
 * time if connected; free it. */
void sn_session_stop(sn_session *ss);

/* Context bookkeeping: live network objects; ctx_term waits for zero. */
void sn_ctx_net_add(sn_ctx *c);
void sn_ctx_net_done(sn_ctx *c);

#endif
