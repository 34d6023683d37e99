/* Every public entry point: argument checks, handle lookup, and the one place errno is
 * set (internal code returns -errno; here it becomes -1 with errno, libzmq's way). */
#include <limits.h>
#include <string.h>

#include "core/ctx.h"
#include "core/msg.h"
#include "core/socket.h"

static int
fail(int err)
{
    errno = err;
    return -1;
}

static int
result(int rc)
{
    return rc < 0 ? fail(-rc) : rc;
}

/* ---- context ---- */

SINEW_EXPORT void *
sinew_ctx_new(void)
{
    sn_ctx *c;
    int rc = sn_ctx_create(&c);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    return sn_ctx_handle(c);
}

SINEW_EXPORT int
sinew_ctx_term(void *context)
{
    sn_ctx *c = sn_ctx_lookup(context);
    return c == NULL ? fail(EFAULT) : result(sn_ctx_term(c));
}

SINEW_EXPORT int
sinew_ctx_shutdown(void *context)
{
    sn_ctx *c = sn_ctx_lookup(context);
    return c == NULL ? fail(EFAULT) : result(sn_ctx_shutdown(c));
}

SINEW_EXPORT int
sinew_ctx_set(void *context, int option, int optval)
{
    sn_ctx *c = sn_ctx_lookup(context);
    return c == NULL ? fail(EFAULT) : result(sn_ctx_set(c, option, optval));
}

SINEW_EXPORT int
sinew_ctx_get(void *context, int option)
{
    sn_ctx *c = sn_ctx_lookup(context);
    return c == NULL ? fail(EFAULT) : result(sn_ctx_get(c, option));
}

/* ---- sockets ---- */

SINEW_EXPORT void *
sinew_socket(void *context, int type)
{
    sn_ctx *c = sn_ctx_lookup(context);
    if (c == NULL) {
        errno = EFAULT;
        return NULL;
    }
    sn_socket *s;
    int rc = sn_socket_create(c, type, &s);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    return sn_socket_handle(s);
}

#define ENTER(s, handle)                                                                \
    sn_socket *s = sn_socket_enter(handle);                                             \
    if (s == NULL)                                                                      \
        return fail(ENOTSOCK);

SINEW_EXPORT int
sinew_close(void *socket)
{
    ENTER(s, socket);
    int rc = sn_socket_close(s);
    sn_socket_leave(s);
    return result(rc);
}

SINEW_EXPORT int
sinew_setsockopt(void *socket, int option, const void *optval, size_t optvallen)
{
    ENTER(s, socket);
    int rc = sn_socket_setopt(s, option, optval, optvallen);
    sn_socket_leave(s);
    return result(rc);
}

SINEW_EXPORT int
sinew_getsockopt(void *socket, int option, void *optval, size_t *optvallen)
{
    ENTER(s, socket);
    int rc = sn_socket_getopt(s, option, optval, optvallen);
    sn_socket_leave(s);
    return result(rc);
}

SINEW_EXPORT int
sinew_setsockopt_int(void *socket, int option, int value)
{
    return sinew_setsockopt(socket, option, &value, sizeof value);
}

SINEW_EXPORT int
sinew_getsockopt_int(void *socket, int option, int *value)
{
    if (value == NULL)
        return fail(EFAULT);
    int v;
    size_t len = sizeof v;
    if (sinew_getsockopt(socket, option, &v, &len) != 0)
        return -1;
    if (len != sizeof v)
        return fail(EINVAL); /* not an int-valued option */
    *value = v;
    return 0;
}

typedef int (*endpoint_fn)(sn_socket *, const char *);

static int
endpoint_call(void *socket, const char *endpoint, endpoint_fn fn)
{
    ENTER(s, socket);
    int rc;
    if (endpoint == NULL)
        rc = -EINVAL;
    else if (atomic_load(&s->ctx->terminating))
        rc = -ETERM;
    else
        rc = fn(s, endpoint);
    sn_socket_leave(s);
    return result(rc);
}

SINEW_EXPORT int
sinew_bind(void *socket, const char *endpoint)
{
    return endpoint_call(socket, endpoint, sn_socket_bind);
}

SINEW_EXPORT int
sinew_connect(void *socket, const char *endpoint)
{
    return endpoint_call(socket, endpoint, sn_socket_connect);
}

SINEW_EXPORT int
sinew_unbind(void *socket, const char *endpoint)
{
    return endpoint_call(socket, endpoint, sn_socket_unbind);
}

SINEW_EXPORT int
sinew_disconnect(void *socket, const char *endpoint)
{
    return endpoint_call(socket, endpoint, sn_socket_disconnect);
}

SINEW_EXPORT int
sinew_socket_monitor(void *socket, const char *addr, int events)
{
    ENTER(s, socket);
    int rc = sn_socket_monitor(s, addr, events);
    sn_socket_leave(s);
    return result(rc);
}

/* ---- send and receive ---- */

static int
send_msg(void *socket, sn_msg *m, int flags)
{
    ENTER(s, socket);
    size_t size = sn_msg_size(m);
    int rc = sn_socket_send(s, m, flags);
    sn_socket_leave(s);
    if (rc < 0)
        return fail(-rc);
    return size > INT_MAX ? INT_MAX : (int) size;
}

SINEW_EXPORT int
sinew_send(void *socket, const void *buf, size_t len, int flags)
{
    if (buf == NULL && len > 0)
        return fail(EFAULT);
    sn_msg m;
    int rc = sn_msg_init_buffer(&m, buf, len);
    if (rc < 0)
        return fail(-rc);
    rc = send_msg(socket, &m, flags);
    if (rc < 0) {
        int e = errno;
        sn_msg_close(&m);
        errno = e;
    }
    return rc;
}

SINEW_EXPORT int
sinew_send_const(void *socket, const void *buf, size_t len, int flags)
{
    if (buf == NULL && len > 0)
        return fail(EFAULT);
    sn_msg m;
    sn_msg_init_const(&m, buf, len);
    return send_msg(socket, &m, flags);
}

SINEW_EXPORT int
sinew_recv(void *socket, void *buf, size_t len, int flags)
{
    if (buf == NULL && len > 0)
        return fail(EFAULT);
    ENTER(s, socket);
    sn_msg m;
    sn_msg_init(&m);
    int rc = sn_socket_recv(s, &m, flags);
    sn_socket_leave(s);
    if (rc < 0)
        return fail(-rc);
    size_t size = sn_msg_size(&m);
    if (len > 0) /* buf may be NULL then (a frame only counted, as libzmq allows) */
        memcpy(buf, sn_msg_data(&m), size < len ? size : len);
    sn_msg_close(&m);
    return size > INT_MAX ? INT_MAX : (int) size; /* the full size, as libzmq */
}

/* ---- messages ---- */

#define MSG(m, msg)                                                                     \
    if ((msg) == NULL)                                                                  \
        return fail(EFAULT);                                                            \
    sn_msg *m = sn_msg_of(msg);

#define VALID_MSG(m, msg)                                                               \
    MSG(m, msg);                                                                        \
    if (!sn_msg_valid(m))                                                               \
        return fail(EFAULT);

SINEW_EXPORT int
sinew_msg_init(sinew_msg_t *msg)
{
    MSG(m, msg);
    sn_msg_init(m);
    return 0;
}

SINEW_EXPORT int
sinew_msg_init_size(sinew_msg_t *msg, size_t size)
{
    MSG(m, msg);
    return result(sn_msg_init_size(m, size));
}

SINEW_EXPORT int
sinew_msg_init_data(sinew_msg_t *msg, void *data, size_t size, sinew_free_fn *ffn,
                    void *hint)
{
    MSG(m, msg);
    if (data == NULL && size > 0)
        return fail(EFAULT);
    return result(sn_msg_init_data(m, data, size, ffn, hint));
}

SINEW_EXPORT int
sinew_msg_send(sinew_msg_t *msg, void *socket, int flags)
{
    VALID_MSG(m, msg);
    return send_msg(socket, m, flags);
}

SINEW_EXPORT int
sinew_msg_recv(sinew_msg_t *msg, void *socket, int flags)
{
    VALID_MSG(m, msg);
    ENTER(s, socket);
    int rc = sn_socket_recv(s, m, flags);
    sn_socket_leave(s);
    if (rc < 0)
        return fail(-rc);
    size_t size = sn_msg_size(m);
    return size > INT_MAX ? INT_MAX : (int) size;
}

SINEW_EXPORT int
sinew_msg_close(sinew_msg_t *msg)
{
    VALID_MSG(m, msg);
    sn_msg_close(m);
    return 0;
}

SINEW_EXPORT int
sinew_msg_move(sinew_msg_t *dest, sinew_msg_t *src)
{
    VALID_MSG(d, dest);
    VALID_MSG(s, src);
    sn_msg_move(d, s);
    return 0;
}

SINEW_EXPORT int
sinew_msg_copy(sinew_msg_t *dest, sinew_msg_t *src)
{
    VALID_MSG(d, dest);
    VALID_MSG(s, src);
    sn_msg_copy(d, s);
    return 0;
}

SINEW_EXPORT void *
sinew_msg_data(sinew_msg_t *msg)
{
    if (msg == NULL || !sn_msg_valid(sn_msg_of(msg))) {
        errno = EFAULT;
        return NULL;
    }
    return sn_msg_data(sn_msg_of(msg));
}

SINEW_EXPORT size_t
sinew_msg_size(const sinew_msg_t *msg)
{
    const sn_msg *m = (const sn_msg *) (const void *) msg;
    if (m == NULL || !sn_msg_valid(m)) {
        errno = EFAULT;
        return 0;
    }
    return sn_msg_size(m);
}

SINEW_EXPORT int
sinew_msg_more(const sinew_msg_t *msg)
{
    const sn_msg *m = (const sn_msg *) (const void *) msg;
    if (m == NULL || !sn_msg_valid(m))
        return 0;
    return sn_msg_more(m);
}

SINEW_EXPORT const char *
sinew_msg_gets(const sinew_msg_t *msg, const char *property)
{
    const sn_msg *m = (const sn_msg *) (const void *) msg;
    if (m == NULL || property == NULL || !sn_msg_valid(m)) {
        errno = EFAULT;
        return NULL;
    }
    const char *v = sn_msg_props_get(m->meta, property);
    if (v == NULL)
        errno = EINVAL;
    return v;
}

SINEW_EXPORT int
sinew_msg_get(const sinew_msg_t *msg, int property)
{
    const sn_msg *m = (const sn_msg *) (const void *) msg;
    if (m == NULL || !sn_msg_valid(m))
        return fail(EFAULT);
    switch (property) {
    case SINEW_MORE:
        return sn_msg_more(m);
    case SINEW_SHARED:
        return sn_msg_shared(m);
    default:
        return fail(EINVAL);
    }
}

SINEW_EXPORT int
sinew_msg_set(sinew_msg_t *msg, int property, int optval)
{
    (void) property;
    (void) optval;
    VALID_MSG(m, msg);
    (void) m;
    return fail(EINVAL); /* no settable properties, as libzmq */
}

/* ---- counters and joining (beyond libzmq) ---- */

SINEW_EXPORT int
sinew_socket_stats(void *socket, sinew_socket_stats_t *stats)
{
    if (stats == NULL)
        return fail(EFAULT);
    ENTER(s, socket);
    int rc = sn_socket_stats(s, stats);
    sn_socket_leave(s);
    return result(rc);
}

SINEW_EXPORT int
sinew_socket_peers(void *socket, sinew_peer_stats_t *peers, int max)
{
    if (max < 0 || (peers == NULL && max > 0))
        return fail(EINVAL);
    ENTER(s, socket);
    int rc = sn_socket_peers(s, peers, max);
    sn_socket_leave(s);
    return result(rc);
}

SINEW_EXPORT int
sinew_wait_peers(void *socket, int n, int timeout_ms)
{
    ENTER(s, socket);
    int rc = sn_socket_wait_peers(s, n, timeout_ms);
    sn_socket_leave(s);
    return result(rc);
}
