/* Messages: the internal layout of sinew_msg_t. Payloads up to SN_MSG_VSM_MAX bytes live
 * inside the 64-byte struct; larger ones in a reference-counted content block that copies
 * share. A message is owned by one thread at a time; only the refcount is shared. */
#ifndef SINEW_CORE_MSG_H
#define SINEW_CORE_MSG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sinew.h"

#define SN_MSG_VSM_MAX 48

enum sn_msg_type {
    SN_MSG_CLOSED = 0, /* after close, or never initialised by us: every use fails */
    SN_MSG_VSM = 1,    /* payload inline */
    SN_MSG_LMSG = 2,   /* payload in a refcounted content block */
    SN_MSG_CMSG = 3,   /* constant payload owned by the application (send_const) */
};

enum sn_msg_flags {
    SN_MSG_MORE = 1,    /* more parts follow */
    SN_MSG_COMMAND = 2, /* ZMTP command frame, never seen by applications */
    SN_MSG_SHARED = 4,  /* CMSG that has been copied */
    /* A subscription on its way between SUB/XSUB and PUB/XPUB, the topic as its body:
     * patterns and the engine's encode and decode points use this one form (the wire
     * has two, src/zmtp/wire.c); applications never see the flags. */
    SN_MSG_SUBSCRIBE = 8,
    SN_MSG_CANCEL = 16,
};

typedef struct sn_msg_content {
    void *data;
    size_t size;
    sinew_free_fn *ffn; /* NULL: data is inline after this header */
    void *hint;
    atomic_uint refs;
    unsigned pool_class; /* msgpool bookkeeping */
} sn_msg_content;

typedef struct sn_msg {
    union {
        uint8_t vsm[SN_MSG_VSM_MAX];
        struct {
            void *data;
            size_t size;
            sn_msg_content *content; /* NULL for CMSG */
        } ext;
    } u;
    struct sn_msg_props *meta; /* properties of the connection it came from (a
                                * reference), NULL for messages made here or inproc */
    uint32_t routing_id; /* pipe that delivered it, for routing patterns */
    uint8_t vsm_size;
    uint8_t type;
    uint8_t flags;
    uint8_t reserved;
} sn_msg;

_Static_assert(sizeof(sn_msg) == sizeof(sinew_msg_t), "sn_msg must be 64 bytes");
_Static_assert(_Alignof(sn_msg) <= _Alignof(sinew_msg_t), "sn_msg alignment");

static inline sn_msg *
sn_msg_of(sinew_msg_t *m)
{
    return (sn_msg *) (void *) m;
}

static inline bool
sn_msg_valid(const sn_msg *m)
{
    return m->type >= SN_MSG_VSM && m->type <= SN_MSG_CMSG;
}

static inline void
sn_msg_init(sn_msg *m)
{
    m->type = SN_MSG_VSM;
    m->vsm_size = 0;
    m->flags = 0;
    m->meta = NULL;
    m->routing_id = 0;
}

static inline void *
sn_msg_data(sn_msg *m)
{
    return m->type == SN_MSG_VSM ? (void *) m->u.vsm : m->u.ext.data;
}

static inline size_t
sn_msg_size(const sn_msg *m)
{
    return m->type == SN_MSG_VSM ? m->vsm_size : m->u.ext.size;
}

static inline bool
sn_msg_more(const sn_msg *m)
{
    return (m->flags & SN_MSG_MORE) != 0;
}

/* Connection properties for sinew_msg_gets: an immutable table of NUL-terminated
 * name/value strings shared by every message from one connection.
 *
 * Counted so that delivering a message costs no write to a shared cache line: the one
 * owner (the connection's engine) hands the table out by plain pointer and counts the
 * messages in a field of its own; holders release (and copies add) on the table's
 * counter; the owner tells its total when it lets go (retire), and the release that
 * brings the count to that total frees it. */
typedef struct sn_msg_prop {
    const char *name;
    size_t name_len;
    const uint8_t *value;
    size_t value_len;
} sn_msg_prop;

typedef struct sn_msg_props sn_msg_props;

/* Copies n properties; NULL on ENOMEM. The caller is the owner. */
sn_msg_props *sn_msg_props_new(const sn_msg_prop *p, size_t n);
/* Owner: done, after handing it to `issued` messages (which still hold it). */
void sn_msg_props_retire(sn_msg_props *props, uint64_t issued);
/* A message holding it is closed (any thread). */
void sn_msg_props_release(sn_msg_props *props);
/* The value of name (case-insensitive, RFC 37), or NULL. */
const char *sn_msg_props_get(const sn_msg_props *props, const char *name);

/* All return 0 or -errno; none blocks. */
int sn_msg_init_size(sn_msg *m, size_t size);
int sn_msg_init_data(sn_msg *m, void *data, size_t size, sinew_free_fn *ffn, void *hint);
int sn_msg_init_buffer(sn_msg *m, const void *buf, size_t size); /* copies buf */
void sn_msg_init_const(sn_msg *m, const void *data, size_t size);
void sn_msg_close(sn_msg *m); /* releases the payload; m becomes SN_MSG_CLOSED */
void sn_msg_move(sn_msg *dst, sn_msg *src); /* dst closed first; src becomes empty */
void sn_msg_copy(sn_msg *dst, sn_msg *src); /* dst closed first; shares the payload */
bool sn_msg_shared(const sn_msg *m);

#endif /* SINEW_CORE_MSG_H */
