/* The connection engine: runs ZMTP (RFC 37) on one connected, non-blocking fd on an I/O
 * thread. It moves bytes between the fd and its session's pipe: batched encoding (many
 * small messages per write), a vectored send with the payload for large messages, a
 * 64 KiB read buffer, and large frame bodies read straight into the message buffer.
 *
 * Reactor thread only. The session creates it, tells it about pipe activity, and gets
 * told (through sn_engine_owner) when the handshake is done and when the connection
 * ends; after `closed` is reported the session frees it with sn_engine_free. */
#ifndef SINEW_ZMTP_ENGINE_H
#define SINEW_ZMTP_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/msg.h"
#include "core/net.h"
#include "core/pipe.h"
#include "zmtp/handshake.h"

typedef struct sn_engine sn_engine;

typedef struct sn_engine_owner_ops {
    /* Handshake succeeded; returns the pipe end the engine reads and writes from now
     * on (NULL: the session refuses the peer and the engine closes). */
    sn_pipe *(*ready)(void *owner, sn_engine *e, const sn_zmtp_handshake_result *peer);
    /* The connection is over; fd (the number it had) is closed. event: what ended it,
     * SINEW_EVENT_DISCONNECTED for an established connection, else one of the
     * HANDSHAKE_FAILED_* events (value: the ZMTP error code for _PROTOCOL; ETIMEDOUT
     * or EPIPE for _NO_DETAIL). As in libzmq, a failed handshake is to be reported
     * followed by DISCONNECTED too.
     * For DISCONNECTED, value 0 means the connection simply ended (the peer closed or
     * reset it, an ERROR command, heartbeat silence; libzmq reports the fd then);
     * anything else means the engine dropped it for what the peer sent, and says why:
     * EMSGSIZE (a frame over SINEW_MAXMSGSIZE), ENOMEM (a frame or queue entry this
     * process could not allocate) or a ZMTP protocol error code (>= 0x10000000, a
     * malformed frame). The owner counts those. */
    void (*closed)(void *owner, sn_engine *e, int event, uint32_t value, int fd);
} sn_engine_owner_ops;

int sn_engine_new(sn_engine **out, sn_reactor *r, int fd, const sn_net_config *cfg,
                  const char *peer_address, const sn_engine_owner_ops *ops, void *owner);
void sn_engine_free(sn_engine *e);

/* Any thread, with p->link->direct.lock held and the engine registered there: write
 * what the pipe holds straight to the connection. True if everything went out (nothing
 * for the I/O thread to do); false leaves the rest to the I/O thread. */
bool sn_engine_direct_write(sn_engine *e);

/* The mechanism waited (SN_MECHANISM_WAIT) for an answer from outside the connection,
 * e.g. a ZAP reply, and here it is: the handshake goes on from where it stopped. The
 * answer's meaning is the mechanism's. Reactor thread. */
void sn_engine_handshake_resume(sn_engine *e, const void *answer);

/* The peer's address as ZAP and Peer-Address give it (may be empty). */
const char *sn_engine_peer_address(const sn_engine *e);
/* The connection's properties, referenced by each message it delivers from now on (the
 * engine takes the reference). In the owner's `ready`. */
void sn_engine_set_props(sn_engine *e, sn_msg_props *props);

/* The pipe has messages again (ACTIVATE_READ): write what it can. */
void sn_engine_pipe_readable(sn_engine *e);
/* The pipe has room again (ACTIVATE_WRITE): resume reading from the fd. */
void sn_engine_pipe_writable(sn_engine *e);

/* Direct input, called by an application thread under the link's direct lock while the
 * engine is registered (see pipe.h). borrow: if the connection is idle and ready, hands
 * its input to the caller, who waits for the returned fd to be readable; -EBUSY while
 * the reactor thread is using it (try again soon), another negative value if not. The
 * reactor stops watching input meanwhile. If the connection ends first, wake(arg) is
 * called (the fd is about to close). return: decodes what arrived (if readable) into
 * the pipe and gives the input back, or, if may_keep and nothing was delivered (part of
 * a frame came), keeps it and returns true: wait on the fd again. A no-op returning
 * false once the token is stale. */
int sn_engine_input_borrow(sn_engine *e, void (*wake)(void *), void *arg, uint64_t *token);
bool sn_engine_input_return(sn_engine *e, uint64_t token, bool readable, bool may_keep);
/* Same conditions: the engine stopped reading because the pipe was full, and its reader
 * (the caller) made room. Instead of waking the reactor thread, decode what is buffered
 * and read on from the fd here, as a borrower would. False if that cannot be done now. */
bool sn_engine_input_resume(sn_engine *e);
/* Nothing the engine took from its pipe is still waiting to be written. */
bool sn_engine_output_empty(sn_engine *e);
/* After `closed`: the connection ended in the middle of a message the engine was
 * sending (the rest of it is still in the pipe). */
bool sn_engine_out_partial(sn_engine *e);
/* The owner is going away: close the connection and never call the owner again.
 * The engine itself is freed later with sn_engine_free. */
void sn_engine_orphan(sn_engine *e);

/* What a session runs on a connection: this engine (ZMTP), or the raw one of STREAM
 * sockets (zmtp/raw.h). The session picks one by socket type and calls it only through
 * these slots, which keep the contracts of the functions above. free is posted as a
 * reactor task, so it takes the engine as its void * argument. */
typedef struct sn_engine_class {
    int (*create)(sn_engine **out, sn_reactor *r, int fd, const sn_net_config *cfg,
                  const char *peer_address, const sn_engine_owner_ops *ops, void *owner);
    void (*free)(void *e);
    void (*orphan)(sn_engine *e);
    void (*pipe_readable)(sn_engine *e);
    void (*pipe_writable)(sn_engine *e);
    bool (*output_empty)(sn_engine *e);
    bool (*out_partial)(sn_engine *e);
} sn_engine_class;

#endif
