/* inproc://: the context's name table. Binding registers a name; connecting links the
 * two sockets with a pipe directly (no I/O thread on the path). Connecting before the
 * bind works: the connecter gets its end at once and can queue messages; the binder
 * adopts the other end when it binds. Called with the calling socket's lock held; takes
 * the context lock, never another socket's lock. */
#ifndef SINEW_CORE_INPROC_H
#define SINEW_CORE_INPROC_H

#include "core/ctx.h"

typedef struct sn_socket sn_socket;

int sn_inproc_bind(sn_ctx *c, sn_socket *s, const char *name, int ep); /* -EADDRINUSE */
int sn_inproc_connect(sn_ctx *c, sn_socket *s, const char *name, int ep);
/* The type of the socket bound at name, or -1 if none (ZAP: is a handler there?). */
int sn_inproc_bound_type(sn_ctx *c, const char *name);
void sn_inproc_unbind(sn_ctx *c, sn_socket *s, const char *name);
void sn_inproc_cancel_pending(sn_ctx *c, sn_socket *s, int ep);
/* s is closing: drop its entries, except pending connects when it lingers (a later
 * binder still gets their messages). */
void sn_inproc_forget(sn_ctx *c, sn_socket *s);
/* The context ends (every socket closed): release what is left. Context lock held. */
void sn_inproc_fini(sn_ctx *c);

#endif
