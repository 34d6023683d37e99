/* Socket monitor (sinew_socket_monitor): a refcounted record shared by a socket and its
 * network objects, naming the PAIR socket events go to. Emitting is safe from any
 * thread and never blocks: an event that does not fit is dropped and counted. */
#ifndef SINEW_CORE_MONITOR_H
#define SINEW_CORE_MONITOR_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct sn_monitor {
    atomic_int refs;
    _Atomic(void *) pair;  /* handle of the PAIR socket, NULL when not monitoring */
    atomic_int events;     /* mask of SINEW_EVENT_* */
    atomic_uint_least64_t dropped;
} sn_monitor;

sn_monitor *sn_monitor_new(void);
sn_monitor *sn_monitor_ref(sn_monitor *m);
void sn_monitor_unref(sn_monitor *m);
void sn_monitor_emit(sn_monitor *m, int event, uint32_t value, const char *addr);
/* Socket's thread: start (addr != NULL) or stop monitoring. */
int sn_monitor_set(sn_monitor *m, void *ctx_handle, const char *addr, int events);

#endif
