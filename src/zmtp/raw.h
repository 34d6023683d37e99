/* The raw engine of STREAM sockets: bytes on one connected tcp or ipc descriptor, no
 * ZMTP. Each read becomes a one-part message in the session's pipe, and each message
 * from the pipe is written as its bytes alone. An empty message in the pipe marks the
 * connection's start and its end (libzmq's raw notifications); the STREAM pattern
 * decides whether the application sees them (SINEW_STREAM_NOTIFY).
 *
 * Reactor thread only, like the ZMTP engine, with the same owner contract (engine.h):
 * `ready` once the connection is usable (no handshake: the peer is of unknown type,
 * with no routing id or properties), `closed` when it ends (always DISCONNECTED, value
 * 0). A raw engine travels as an sn_engine pointer, looked through only by its class. */
#ifndef SINEW_ZMTP_RAW_H
#define SINEW_ZMTP_RAW_H

#include "zmtp/engine.h"

extern const sn_engine_class sn_raw_engine_class;

#endif
