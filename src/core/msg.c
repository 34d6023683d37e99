/* Message payload management: inline small payloads, refcounted content blocks for large
 * ones (one allocation holds header and data), zero-copy application buffers. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/msg.h"
#include "core/msgpool.h"

static void props_copied(sn_msg_props *props);

int
sn_msg_init_size(sn_msg *m, size_t size)
{
    sn_msg_init(m);
    if (size <= SN_MSG_VSM_MAX) {
        m->vsm_size = (uint8_t) size;
        return 0;
    }
    sn_msg_content *c = sn_msgpool_alloc(size);
    if (c == NULL)
        return -ENOMEM;
    c->data = c + 1;
    c->size = size;
    c->ffn = NULL;
    c->hint = NULL;
    atomic_init(&c->refs, 1);
    m->type = SN_MSG_LMSG;
    m->u.ext.data = c->data;
    m->u.ext.size = size;
    m->u.ext.content = c;
    return 0;
}

int
sn_msg_init_buffer(sn_msg *m, const void *buf, size_t size)
{
    int rc = sn_msg_init_size(m, size);
    if (rc == 0 && size > 0)
        memcpy(sn_msg_data(m), buf, size);
    return rc;
}

void
sn_msg_init_const(sn_msg *m, const void *data, size_t size)
{
    sn_msg_init(m);
    m->type = SN_MSG_CMSG;
    m->u.ext.data = (void *) data;
    m->u.ext.size = size;
    m->u.ext.content = NULL;
}

int
sn_msg_init_data(sn_msg *m, void *data, size_t size, sinew_free_fn *ffn, void *hint)
{
    if (ffn == NULL) {
        /* libzmq treats a NULL free function as "the application keeps it". */
        sn_msg_init_const(m, data, size);
        return 0;
    }
    sn_msg_init(m);
    sn_msg_content *c = malloc(sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    c->data = data;
    c->size = size;
    c->ffn = ffn;
    c->hint = hint;
    atomic_init(&c->refs, 1);
    m->type = SN_MSG_LMSG;
    m->u.ext.data = data;
    m->u.ext.size = size;
    m->u.ext.content = c;
    return 0;
}

static void
content_release(sn_msg_content *c)
{
    /* A sole owner needs no atomic decrement: nobody else can take a reference. */
    if (atomic_load_explicit(&c->refs, memory_order_acquire) != 1 &&
        atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (c->ffn != NULL) {
        c->ffn(c->data, c->hint);
        free(c);
    } else {
        sn_msgpool_free(c);
    }
}

void
sn_msg_close(sn_msg *m)
{
    if (m->type == SN_MSG_LMSG)
        content_release(m->u.ext.content);
    if (m->meta != NULL && m->type != SN_MSG_CLOSED)
        sn_msg_props_release(m->meta);
    m->meta = NULL;
    m->type = SN_MSG_CLOSED;
}

void
sn_msg_move(sn_msg *dst, sn_msg *src)
{
    if (dst == src)
        return;
    sn_msg_close(dst);
    *dst = *src;
    sn_msg_init(src);
}

void
sn_msg_copy(sn_msg *dst, sn_msg *src)
{
    if (dst == src)
        return;
    sn_msg_close(dst);
    if (src->type == SN_MSG_LMSG)
        atomic_fetch_add_explicit(&src->u.ext.content->refs, 1, memory_order_relaxed);
    else if (src->type == SN_MSG_CMSG)
        src->flags |= SN_MSG_SHARED;
    if (src->meta != NULL)
        props_copied(src->meta);
    *dst = *src;
}

/* ---- connection properties ------------------------------------------------------- */

/* Stands for the owner's references while their number is unknown: far above any count
 * of copies and releases, so refs cannot reach zero before the owner retires. */
#define PROPS_OWNED (UINT64_C(1) << 63)

struct sn_msg_props {
    /* PROPS_OWNED + copies - releases (modulo 2^64) until the owner retires, then the
     * references outstanding; only holders write it before that, not the owner. */
    _Atomic uint64_t refs;
    size_t n;
    struct {
        const char *name, *value;
    } e[];
    /* then the strings, each NUL terminated */
};

sn_msg_props *
sn_msg_props_new(const sn_msg_prop *p, size_t n)
{
    size_t strings = 0;
    for (size_t i = 0; i < n; i++)
        strings += p[i].name_len + 1 + p[i].value_len + 1;
    sn_msg_props *props = malloc(sizeof *props + n * sizeof props->e[0] + strings);
    if (props == NULL)
        return NULL;
    atomic_init(&props->refs, PROPS_OWNED);
    props->n = n;
    char *at = (char *) &props->e[n];
    for (size_t i = 0; i < n; i++) {
        props->e[i].name = at;
        memcpy(at, p[i].name, p[i].name_len);
        at += p[i].name_len;
        *at++ = '\0';
        props->e[i].value = at;
        if (p[i].value_len > 0)
            memcpy(at, p[i].value, p[i].value_len);
        at += p[i].value_len;
        *at++ = '\0';
    }
    return props;
}

/* Whoever takes refs to zero frees, deciding on the result of its own atomic step
 * alone: after that step another thread may free at any moment. */
void
sn_msg_props_release(sn_msg_props *props)
{
    if (atomic_fetch_sub(&props->refs, 1) == 1)
        free(props);
}

/* One more holder; it holds a reference, so refs is not zero. */
static void
props_copied(sn_msg_props *props)
{
    atomic_fetch_add(&props->refs, 1);
}

void
sn_msg_props_retire(sn_msg_props *props, uint64_t issued)
{
    /* PROPS_OWNED becomes the number of references handed out. */
    if (atomic_fetch_add(&props->refs, issued - PROPS_OWNED) == PROPS_OWNED - issued)
        free(props);
}

const char *
sn_msg_props_get(const sn_msg_props *props, const char *name)
{
    for (size_t i = 0; props != NULL && i < props->n; i++)
        if (strcasecmp(props->e[i].name, name) == 0)
            return props->e[i].value;
    return NULL;
}

bool
sn_msg_shared(const sn_msg *m)
{
    if (m->type == SN_MSG_LMSG)
        return atomic_load_explicit(&m->u.ext.content->refs, memory_order_relaxed) > 1;
    return (m->flags & SN_MSG_SHARED) != 0;
}
