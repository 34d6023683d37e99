/* sinew: brokerless messaging sockets.
 *
 * The API mirrors libzmq 4.3's C API signature for signature under the sinew_/SINEW_
 * prefix, with the same numeric constants and a 64-byte sinew_msg_t, so a libzmq program
 * ports by renaming. Every function returns -1 (or NULL) and sets errno on failure, with
 * libzmq's error numbers. */
#ifndef SINEW_H
#define SINEW_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SINEW_EXPORT __attribute__((visibility("default")))
#else
#define SINEW_EXPORT
#endif

#define SINEW_VERSION_MAJOR 0
#define SINEW_VERSION_MINOR 1
#define SINEW_VERSION_PATCH 0
#define SINEW_MAKE_VERSION(major, minor, patch) ((major) * 10000 + (minor) * 100 + (patch))
#define SINEW_VERSION                                                                   \
    SINEW_MAKE_VERSION(SINEW_VERSION_MAJOR, SINEW_VERSION_MINOR, SINEW_VERSION_PATCH)

/* Errors: POSIX numbers where the platform has them, libzmq's own numbers otherwise. */
#define SINEW_HAUSNUMERO 156384712
#ifndef ENOTSUP
#define ENOTSUP (SINEW_HAUSNUMERO + 1)
#endif
#ifndef EPROTONOSUPPORT
#define EPROTONOSUPPORT (SINEW_HAUSNUMERO + 2)
#endif
#ifndef ENOBUFS
#define ENOBUFS (SINEW_HAUSNUMERO + 3)
#endif
#ifndef ENETDOWN
#define ENETDOWN (SINEW_HAUSNUMERO + 4)
#endif
#ifndef EADDRINUSE
#define EADDRINUSE (SINEW_HAUSNUMERO + 5)
#endif
#ifndef EADDRNOTAVAIL
#define EADDRNOTAVAIL (SINEW_HAUSNUMERO + 6)
#endif
#ifndef ECONNREFUSED
#define ECONNREFUSED (SINEW_HAUSNUMERO + 7)
#endif
#ifndef EINPROGRESS
#define EINPROGRESS (SINEW_HAUSNUMERO + 8)
#endif
#ifndef ENOTSOCK
#define ENOTSOCK (SINEW_HAUSNUMERO + 9)
#endif
#ifndef EMSGSIZE
#define EMSGSIZE (SINEW_HAUSNUMERO + 10)
#endif
#ifndef EAFNOSUPPORT
#define EAFNOSUPPORT (SINEW_HAUSNUMERO + 11)
#endif
#ifndef ENETUNREACH
#define ENETUNREACH (SINEW_HAUSNUMERO + 12)
#endif
#ifndef ECONNABORTED
#define ECONNABORTED (SINEW_HAUSNUMERO + 13)
#endif
#ifndef ECONNRESET
#define ECONNRESET (SINEW_HAUSNUMERO + 14)
#endif
#ifndef ENOTCONN
#define ENOTCONN (SINEW_HAUSNUMERO + 15)
#endif
#ifndef ETIMEDOUT
#define ETIMEDOUT (SINEW_HAUSNUMERO + 16)
#endif
#ifndef EHOSTUNREACH
#define EHOSTUNREACH (SINEW_HAUSNUMERO + 17)
#endif
#ifndef ENETRESET
#define ENETRESET (SINEW_HAUSNUMERO + 18)
#endif
#define EFSM (SINEW_HAUSNUMERO + 51)           /* operation not valid in this state */
#define ENOCOMPATPROTO (SINEW_HAUSNUMERO + 52) /* transport not compatible */
#define ETERM (SINEW_HAUSNUMERO + 53)          /* context was terminated */
#define EMTHREAD (SINEW_HAUSNUMERO + 54)       /* no I/O thread available */

SINEW_EXPORT int sinew_errno(void);
SINEW_EXPORT const char *sinew_strerror(int errnum);
SINEW_EXPORT void sinew_version(int *major, int *minor, int *patch);

/* Context. */
#define SINEW_IO_THREADS 1
#define SINEW_MAX_SOCKETS 2
#define SINEW_SOCKET_LIMIT 3
#define SINEW_THREAD_PRIORITY 3
#define SINEW_THREAD_SCHED_POLICY 4
#define SINEW_MSG_T_SIZE 6
#define SINEW_BLOCKY 70

#define SINEW_IO_THREADS_DFLT 1
#define SINEW_MAX_SOCKETS_DFLT 1023
#define SINEW_THREAD_PRIORITY_DFLT -1
#define SINEW_THREAD_SCHED_POLICY_DFLT 3 /* SCHED_BATCH; libzmq: -1, inherited */

SINEW_EXPORT void *sinew_ctx_new(void);
SINEW_EXPORT int sinew_ctx_term(void *context);
SINEW_EXPORT int sinew_ctx_shutdown(void *context);
SINEW_EXPORT int sinew_ctx_set(void *context, int option, int optval);
SINEW_EXPORT int sinew_ctx_get(void *context, int option);

/* Messages. 64 bytes, pointer aligned, opaque: same size and alignment as zmq_msg_t. */
typedef struct sinew_msg_t {
    unsigned char _[64] __attribute__((aligned(sizeof(void *))));
} sinew_msg_t;

typedef void(sinew_free_fn)(void *data, void *hint);

SINEW_EXPORT int sinew_msg_init(sinew_msg_t *msg);
SINEW_EXPORT int sinew_msg_init_size(sinew_msg_t *msg, size_t size);
SINEW_EXPORT int sinew_msg_init_data(sinew_msg_t *msg, void *data, size_t size,
                                     sinew_free_fn *ffn, void *hint);
SINEW_EXPORT int sinew_msg_send(sinew_msg_t *msg, void *socket, int flags);
SINEW_EXPORT int sinew_msg_recv(sinew_msg_t *msg, void *socket, int flags);
SINEW_EXPORT int sinew_msg_close(sinew_msg_t *msg);
SINEW_EXPORT int sinew_msg_move(sinew_msg_t *dest, sinew_msg_t *src);
SINEW_EXPORT int sinew_msg_copy(sinew_msg_t *dest, sinew_msg_t *src);
SINEW_EXPORT void *sinew_msg_data(sinew_msg_t *msg);
SINEW_EXPORT size_t sinew_msg_size(const sinew_msg_t *msg);
SINEW_EXPORT int sinew_msg_more(const sinew_msg_t *msg);
SINEW_EXPORT int sinew_msg_get(const sinew_msg_t *msg, int property);
SINEW_EXPORT int sinew_msg_set(sinew_msg_t *msg, int property, int optval);

/* Message properties for sinew_msg_get. */
#define SINEW_MORE 1
#define SINEW_SHARED 3

/* Socket types, with libzmq's numbers. */
#define SINEW_PAIR 0
#define SINEW_PUB 1
#define SINEW_SUB 2
#define SINEW_REQ 3
#define SINEW_REP 4
#define SINEW_DEALER 5
#define SINEW_ROUTER 6
#define SINEW_PULL 7
#define SINEW_PUSH 8
#define SINEW_XPUB 9
#define SINEW_XSUB 10
#define SINEW_STREAM 11

/* Socket options, with libzmq's numbers. */
#define SINEW_ROUTING_ID 5
#define SINEW_SUBSCRIBE 6
#define SINEW_UNSUBSCRIBE 7
#define SINEW_SNDBUF 11
#define SINEW_RCVBUF 12
#define SINEW_RCVMORE 13
#define SINEW_FD 14
#define SINEW_EVENTS 15
#define SINEW_TYPE 16
#define SINEW_LINGER 17
#define SINEW_RECONNECT_IVL 18
#define SINEW_BACKLOG 19
#define SINEW_RECONNECT_IVL_MAX 21
#define SINEW_MAXMSGSIZE 22
#define SINEW_SNDHWM 23
#define SINEW_RCVHWM 24
#define SINEW_RCVTIMEO 27
#define SINEW_SNDTIMEO 28
#define SINEW_LAST_ENDPOINT 32
#define SINEW_ROUTER_MANDATORY 33
#define SINEW_TCP_KEEPALIVE 34
#define SINEW_TCP_KEEPALIVE_CNT 35
#define SINEW_TCP_KEEPALIVE_IDLE 36
#define SINEW_TCP_KEEPALIVE_INTVL 37
#define SINEW_IMMEDIATE 39
#define SINEW_XPUB_VERBOSE 40
#define SINEW_ROUTER_RAW 41
#define SINEW_IPV6 42
#define SINEW_MECHANISM 43
#define SINEW_PLAIN_SERVER 44
#define SINEW_PLAIN_USERNAME 45
#define SINEW_PLAIN_PASSWORD 46
#define SINEW_CURVE_SERVER 47
#define SINEW_CURVE_PUBLICKEY 48
#define SINEW_CURVE_SECRETKEY 49
#define SINEW_CURVE_SERVERKEY 50
#define SINEW_PROBE_ROUTER 51
#define SINEW_REQ_CORRELATE 52
#define SINEW_REQ_RELAXED 53
#define SINEW_CONFLATE 54
#define SINEW_ZAP_DOMAIN 55
#define SINEW_ROUTER_HANDOVER 56
#define SINEW_CONNECT_ROUTING_ID 61
#define SINEW_HANDSHAKE_IVL 66
#define SINEW_XPUB_NODROP 69
#define SINEW_XPUB_MANUAL 71
#define SINEW_XPUB_WELCOME_MSG 72
#define SINEW_STREAM_NOTIFY 73
#define SINEW_INVERT_MATCHING 74
#define SINEW_HEARTBEAT_IVL 75
#define SINEW_HEARTBEAT_TTL 76
#define SINEW_HEARTBEAT_TIMEOUT 77
#define SINEW_XPUB_VERBOSER 78
#define SINEW_THREAD_SAFE 81
#define SINEW_ZAP_ENFORCE_DOMAIN 93
#define SINEW_IDENTITY SINEW_ROUTING_ID

/* sinew's own options, numbered far above libzmq's range.
 * SINEW_READY_FD (int, read-only): a descriptor that is readable while the socket has
 *   a message to receive (level-triggered), for epoll/libuv loops. See sinew_socket(3).
 * SINEW_SPIN_US (int, default 50): how long, in microseconds, a blocked send or recv
 *   spins before it sleeps; 0 turns spinning off. The spin shortens itself when it keeps
 *   failing, so an idle socket costs no CPU.
 * SINEW_MSGS_DROPPED (uint64, read-only): messages this socket discarded (never silent). */
#define SINEW_READY_FD 1001
#define SINEW_SPIN_US 1002
#define SINEW_MSGS_DROPPED 1003

/* Counters beyond libzmq (sinew_counters(7)): what a socket carried and discarded, and
 * how full each peer's queues are. Why a message was discarded, as indexes of
 * dropped_by: */
#define SINEW_DROP_HWM 0           /* the peer's queue was full and the type drops */
#define SINEW_DROP_UNROUTABLE 1    /* no peer for it (routing id, the requester left) */
#define SINEW_DROP_NO_SUBSCRIBER 2 /* published with no matching subscriber */
#define SINEW_DROP_CONNECTION 3    /* lost with a connection, or left unread in one */
#define SINEW_DROP_INVALID 4       /* not acceptable here (stale reply, bad envelope...) */
#define SINEW_DROP_REASONS_MAX 8   /* room for more reasons */

typedef struct sinew_socket_stats_t {
    uint64_t msgs_in, bytes_in;   /* received by the application (a message counts once) */
    uint64_t msgs_out, bytes_out; /* accepted by sinew_send and the like */
    uint64_t dropped;             /* discarded, every reason (SINEW_MSGS_DROPPED) */
    uint64_t dropped_by[SINEW_DROP_REASONS_MAX]; /* by SINEW_DROP_* */
    uint64_t reconnects;          /* connections made again after one was lost */
    uint64_t monitor_dropped;     /* monitor events that did not fit the monitor's queue */
    uint64_t peers;               /* peers attached now (sinew_socket_peers) */
    uint64_t queued_in, queued_out; /* messages queued from and to them, all peers */
} sinew_socket_stats_t;

typedef struct sinew_peer_stats_t {
    uint32_t id;             /* unique within the socket while the peer is attached */
    int type;                /* the peer's socket type; -1 before its handshake */
    uint64_t queued_in;      /* messages from it not yet received by the application */
    uint64_t queued_out;     /* messages to it not yet taken by the peer (or the wire) */
    uint8_t routing_id_len;
    uint8_t routing_id[255]; /* the peer's routing id (ZMTP Identity), if it has one */
    char endpoint[256];      /* the bind or connect it came through, "" if none */
} sinew_peer_stats_t;

SINEW_EXPORT int sinew_socket_stats(void *socket, sinew_socket_stats_t *stats);
SINEW_EXPORT int sinew_socket_peers(void *socket, sinew_peer_stats_t *peers, int max);

/* The slow-joiner remedy, beyond libzmq (sinew_wait_peers(3)): waits until n peers have
 * joined (handshake done; for PUB and XPUB: sent a subscription), at most timeout_ms
 * (-1: no limit). Returns how many have joined, or -1 with EAGAIN on timeout. */
SINEW_EXPORT int sinew_wait_peers(void *socket, int n, int timeout_ms);

/* Security mechanisms (SINEW_MECHANISM). */
#define SINEW_NULL 0
#define SINEW_PLAIN 1
#define SINEW_CURVE 2

/* Send/recv flags. */
#define SINEW_DONTWAIT 1
#define SINEW_SNDMORE 2

SINEW_EXPORT void *sinew_socket(void *context, int type);
SINEW_EXPORT int sinew_close(void *socket);
SINEW_EXPORT int sinew_setsockopt(void *socket, int option, const void *optval,
                                  size_t optvallen);
SINEW_EXPORT int sinew_getsockopt(void *socket, int option, void *optval,
                                  size_t *optvallen);
SINEW_EXPORT int sinew_bind(void *socket, const char *endpoint);
SINEW_EXPORT int sinew_connect(void *socket, const char *endpoint);
SINEW_EXPORT int sinew_unbind(void *socket, const char *endpoint);
SINEW_EXPORT int sinew_disconnect(void *socket, const char *endpoint);
SINEW_EXPORT int sinew_send(void *socket, const void *buf, size_t len, int flags);
SINEW_EXPORT int sinew_send_const(void *socket, const void *buf, size_t len, int flags);
SINEW_EXPORT int sinew_recv(void *socket, void *buf, size_t len, int flags);

/* Typed helpers beyond libzmq: int-valued options without the pointer dance. */
SINEW_EXPORT int sinew_setsockopt_int(void *socket, int option, int value);
SINEW_EXPORT int sinew_getsockopt_int(void *socket, int option, int *value);

/* Socket monitoring: events are sent to a PAIR socket bound at addr (inproc://), each
 * as two frames: 6 bytes (uint16 event, uint32 value, native byte order), then the
 * endpoint address. Numbers as libzmq's ZMQ_EVENT_*. */
#define SINEW_EVENT_CONNECTED 0x0001
#define SINEW_EVENT_CONNECT_DELAYED 0x0002
#define SINEW_EVENT_CONNECT_RETRIED 0x0004
#define SINEW_EVENT_LISTENING 0x0008
#define SINEW_EVENT_BIND_FAILED 0x0010
#define SINEW_EVENT_ACCEPTED 0x0020
#define SINEW_EVENT_ACCEPT_FAILED 0x0040
#define SINEW_EVENT_CLOSED 0x0080
#define SINEW_EVENT_CLOSE_FAILED 0x0100
#define SINEW_EVENT_DISCONNECTED 0x0200
#define SINEW_EVENT_MONITOR_STOPPED 0x0400
#define SINEW_EVENT_ALL 0xFFFF
#define SINEW_EVENT_HANDSHAKE_FAILED_NO_DETAIL 0x0800
#define SINEW_EVENT_HANDSHAKE_SUCCEEDED 0x1000
#define SINEW_EVENT_HANDSHAKE_FAILED_PROTOCOL 0x2000
#define SINEW_EVENT_HANDSHAKE_FAILED_AUTH 0x4000

SINEW_EXPORT int sinew_socket_monitor(void *socket, const char *addr, int events);

/* Values of HANDSHAKE_FAILED_PROTOCOL events: libzmq's ZMQ_PROTOCOL_ERROR_* numbers. */
#define SINEW_PROTOCOL_ERROR_ZMTP_UNSPECIFIED 0x10000000
#define SINEW_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND 0x10000001
#define SINEW_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE 0x10000002
#define SINEW_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE 0x10000003
#define SINEW_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED 0x10000011
#define SINEW_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE 0x10000012
#define SINEW_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO 0x10000013
#define SINEW_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE 0x10000014
#define SINEW_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR 0x10000015
#define SINEW_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY 0x10000016
#define SINEW_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME 0x10000017
#define SINEW_PROTOCOL_ERROR_ZMTP_INVALID_METADATA 0x10000018
#define SINEW_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC 0x11000001
#define SINEW_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH 0x11000002
#define SINEW_PROTOCOL_ERROR_ZAP_UNSPECIFIED 0x20000000
#define SINEW_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY 0x20000001
#define SINEW_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID 0x20000002
#define SINEW_PROTOCOL_ERROR_ZAP_BAD_VERSION 0x20000003
#define SINEW_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE 0x20000004
#define SINEW_PROTOCOL_ERROR_ZAP_INVALID_METADATA 0x20000005
#define SINEW_PROTOCOL_ERROR_WS_UNSPECIFIED 0x30000000

/* A property of the connection a received message came from (as zmq_msg_gets):
 * "Socket-Type", "Identity", "User-Id" and "Peer-Address", the peer's application
 * properties and the ZAP handler's metadata. NULL with EINVAL if there is none. The
 * string lives as long as the message. */
SINEW_EXPORT const char *sinew_msg_gets(const sinew_msg_t *msg, const char *property);

/* Built-in ZAP handler (beyond libzmq; czmq's zauth is the model). sinew_auth_new binds
 * inproc://zeromq.zap.01 in ctx and answers ZAP requests on its own thread, by these
 * rules: a denied address is refused; with an allow list, an address not on it is
 * refused; then NULL passes, PLAIN needs a user=password line of the password file and
 * CURVE a client key from the certificate directory (or any key after curve_any).
 * Every call is safe from any thread; each returns 0 or -1 and errno (NULL for new). */
SINEW_EXPORT void *sinew_auth_new(void *context);
SINEW_EXPORT int sinew_auth_allow(void *auth, const char *address);
SINEW_EXPORT int sinew_auth_deny(void *auth, const char *address);
SINEW_EXPORT int sinew_auth_plain_file(void *auth, const char *path);
SINEW_EXPORT int sinew_auth_curve_dir(void *auth, const char *path);
SINEW_EXPORT int sinew_auth_curve_any(void *auth);
SINEW_EXPORT int sinew_auth_destroy(void *auth);

/* Certificates in czmq's text format (zcert). save writes the public key to path and,
 * if secret_z85 is not NULL, both keys to path + "_secret" (mode 0600). load reads the
 * file at path: its public key, and its secret key too when secret_z85 is not NULL
 * (then the file must have one). Keys are 40 Z85 characters; outputs take 41 bytes. */
SINEW_EXPORT int sinew_cert_save(const char *path, const char *public_z85,
                                 const char *secret_z85);
SINEW_EXPORT int sinew_cert_load(const char *path, char *public_z85, char *secret_z85);

/* Z85 (RFC 32): encodes size bytes (a multiple of 4) into dest (size * 5 / 4 + 1
 * characters with the terminating NUL); decodes a string whose length is a multiple of 5
 * into dest (strlen * 4 / 5 bytes). NULL and EINVAL for a bad length or character. */
SINEW_EXPORT char *sinew_z85_encode(char *dest, const uint8_t *data, size_t size);
SINEW_EXPORT uint8_t *sinew_z85_decode(uint8_t *dest, const char *string);

/* Built-in proxy, as libzmq's: moves messages both ways between frontend and backend,
 * copying each part to capture if not NULL. sinew_proxy returns only on failure (-1,
 * ETERM when the context ends); sinew_proxy_steerable also takes PAUSE, RESUME,
 * TERMINATE (then returns 0) and STATISTICS on control. */
SINEW_EXPORT int sinew_proxy(void *frontend, void *backend, void *capture);
SINEW_EXPORT int sinew_proxy_steerable(void *frontend, void *backend, void *capture,
                                       void *control);

/* CURVE keys as Z85 text (41 bytes each with the NUL): a new keypair, and the public key
 * of a secret one. -1 with errno ENOTSUP when built without libsodium, EINVAL for a bad
 * secret. sinew_has: 1 if the library supports the capability ("ipc", "plain",
 * "curve"), else 0, as zmq_has. */
SINEW_EXPORT int sinew_curve_keypair(char *z85_public, char *z85_secret);
SINEW_EXPORT int sinew_curve_public(char *z85_public, const char *z85_secret);
SINEW_EXPORT int sinew_has(const char *capability);

/* Polling. */
#define SINEW_POLLIN 1
#define SINEW_POLLOUT 2
#define SINEW_POLLERR 4
#define SINEW_POLLPRI 8

typedef int sinew_fd_t;

typedef struct sinew_pollitem_t {
    void *socket;
    sinew_fd_t fd;
    short events;
    short revents;
} sinew_pollitem_t;

#define SINEW_POLLITEMS_DFLT 16

SINEW_EXPORT int sinew_poll(sinew_pollitem_t *items, int nitems, long timeout);

#ifdef __cplusplus
}
#endif
#endif /* SINEW_H */
