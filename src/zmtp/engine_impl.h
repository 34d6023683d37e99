/* The engine's insides, shared by its three files: engine.c (lifecycle, the epoll mask,
 * the handshake, heartbeats), wire.c (the one place each direction turns messages into
 * frames and frames into messages) and direct.c (application threads doing the I/O;
 * it holds the table of who owns which field when, and the lock order). Nothing outside
 * src/zmtp/engine*.c, wire.c and direct.c includes this. */
#ifndef SINEW_ZMTP_ENGINE_IMPL_H
#define SINEW_ZMTP_ENGINE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "io/reactor.h"
#include "zmtp/engine.h"

#define IN_BUF 65536
#define OUT_BUF 65536
#define COPY_MAX 8192    /* bodies up to this are copied into the write buffer */
#define LARGE_FRAME 16384 /* after a frame this large, buffer only the next one's start */
#define LARGE_PREFIX 64   /* that start: a frame header plus small envelope frames */
#define CMD_MAX 512      /* largest command the engine itself sends (PING/PONG) */

struct sn_engine {
    sn_reactor *r;
    int fd;
    /* The epoll registration and its mask. A borrowing application thread changes the
     * mask too, so h and events are touched under mask_lock (see sync_events). */
    pthread_mutex_t mask_lock;
    sn_io_handle *h;
    uint32_t events;
    bool in_wanted, out_wanted;
    const sn_engine_owner_ops *ops;
    void *owner;
    sn_net_config cfg;
    bool closing; /* inside close: ignore re-entry */

    sn_zmtp_handshake hs;
    bool handshaking;
    sn_zmtp_zap_port zap_port;
    sn_zap_client *zap; /* a ZAP request waiting for its reply */
    char peer_address[128]; /* for ZAP and Peer-Address: IP, or "localhost:uid:gid:pid" */
    sn_msg_props *props;    /* attached to every message delivered (sinew_msg_gets) */
    uint64_t props_issued;  /* how many messages got it (see sn_msg_props_retire) */
    /* The mechanism's frame codec once traffic starts (CURVE), else NULL. */
    const sn_mechanism_ops *codec;
    void *codec_state;
    sn_timer_id hs_timer;

    sn_pipe *pipe;
    sn_zmtp_decoder dec;
    uint8_t *in;
    size_t in_off, in_len;
    sn_msg part;      /* a large frame being received straight into its buffer */
    bool have_part;
    bool in_more;     /* inside a multipart message coming from the peer */
    bool in_blocked;  /* the pipe is full: not reading */
    bool in_large;    /* the last message ended in a large frame: expect another */
    uint64_t in_delivered; /* message parts put in the pipe */

    /* Direct input (see sn_engine_input_borrow). Under the direct lock: */
    atomic_bool in_busy; /* the reactor thread is taking input; read first (acquire), so
                            no read of input state is hoisted above it */
    bool in_borrowed;  /* an application thread reads the fd (also under mask_lock) */
    bool in_kicked;    /* input left for the reactor thread: no borrowing until it ran */
    uint64_t borrow_token;
    void (*borrow_wake)(void *);
    void *borrow_arg;
    /* Whoever has the input: */
    bool in_app;       /* it is a borrowing application thread... */
    bool in_deferred;  /* ...which stopped at something only the reactor thread may do */
    int fail_event;    /* a failure that thread found, for the reactor thread to act on */
    uint32_t fail_value;
    sn_msg held;       /* a command that thread unboxed (CURVE), for the reactor thread */
    int held_flags;
    bool have_held;

    uint8_t *out;
    size_t out_off, out_len;
    bool out_more;    /* the last part taken from the pipe had MORE: mid-message */
    /* Our PINGs and PONGs wait here (bodies, each behind a length byte) for a message
     * boundary; a newer one replaces what does not fit (the peer needs only the
     * latest), so none is lost to a full buffer. */
    uint8_t ctl[2 * CMD_MAX];
    size_t ctl_len;
    sn_msg big;       /* a large message whose body is written from its own buffer */
    size_t big_off;
    bool have_big;

    sn_timer_id hb_timer;
    _Atomic uint64_t last_rx_ms;
    uint64_t ping_sent_ms; /* first PING sent after the peer last spoke */
    uint64_t peer_ttl_ms;

    sn_link *direct;  /* registered for direct output on this link (see pipe.h) */
};


/* engine.c: the mask (under mask_lock), ending, writing, traffic start. */
void sn_engine_want_in(sn_engine *e, bool on);
void sn_engine_want_out(sn_engine *e, bool on);
void sn_engine_set_borrowed(sn_engine *e, bool on);
void sn_engine_unwatch(sn_engine *e);
void sn_engine_fail(sn_engine *e, int event, uint32_t value);
void sn_engine_handshake_failed(sn_engine *e);
void sn_engine_write(sn_engine *e);
bool sn_engine_start_traffic(sn_engine *e);
void sn_engine_hb_timer(void *arg);

/* wire.c: output (direct lock held for flush_output), input (input owner). */
ssize_t sn_engine_send(int fd, struct iovec *iov, int niov); /* MSG_NOSIGNAL */
void sn_engine_queue_command(sn_engine *e, const uint8_t *p, size_t n);
int sn_engine_flush_output(sn_engine *e);
void sn_engine_read(sn_engine *e);
void sn_engine_resume_input(sn_engine *e);

/* direct.c: the hand-over between the reactor thread and application threads. */
void sn_engine_direct_lock(sn_engine *e);
void sn_engine_direct_unlock(sn_engine *e);
void sn_engine_direct_register(sn_engine *e);
void sn_engine_direct_unregister(sn_engine *e);
bool sn_engine_input_begin(sn_engine *e);
void sn_engine_input_end(sn_engine *e);
void sn_engine_input_fail(sn_engine *e, int event, uint32_t value);

#endif
