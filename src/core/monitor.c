/* Monitor events (see monitor.h), in libzmq's two-frame format so tools written for
 * zmq_socket_monitor work unchanged: [uint16 event | uint32 value] then the address. */
#include <stdlib.h>
#include <string.h>

#include "core/monitor.h"
#include "sinew.h"

sn_monitor *
sn_monitor_new(void)
{
    sn_monitor *m = calloc(1, sizeof *m);
    if (m != NULL)
        atomic_init(&m->refs, 1);
    return m;
}

sn_monitor *
sn_monitor_ref(sn_monitor *m)
{
    atomic_fetch_add(&m->refs, 1);
    return m;
}

static void
stop(sn_monitor *m)
{
    void *pair = atomic_exchange(&m->pair, NULL);
    if (pair != NULL) {
        uint8_t frame[6];
        uint16_t ev = SINEW_EVENT_MONITOR_STOPPED;
        uint32_t val = 0;
        memcpy(frame, &ev, 2);
        memcpy(frame + 2, &val, 4);
        if (atomic_load(&m->events) & SINEW_EVENT_MONITOR_STOPPED &&
            sinew_send(pair, frame, sizeof frame, SINEW_DONTWAIT | SINEW_SNDMORE) == 6)
            sinew_send(pair, "", 0, SINEW_DONTWAIT);
        sinew_close(pair);
    }
}

void
sn_monitor_unref(sn_monitor *m)
{
    if (atomic_fetch_sub(&m->refs, 1) == 1)
        free(m);
}

void
sn_monitor_emit(sn_monitor *m, int event, uint32_t value, const char *addr)
{
    if (m == NULL || (atomic_load(&m->events) & event) == 0)
        return;
    void *pair = atomic_load(&m->pair);
    if (pair == NULL)
        return;
    uint8_t frame[6];
    uint16_t ev = (uint16_t) event;
    memcpy(frame, &ev, 2);
    memcpy(frame + 2, &value, 4);
    /* Two frames as one multipart message; the socket keeps parts of one sender's
     * message together even when several I/O threads emit at once. */
    if (sinew_send(pair, frame, sizeof frame, SINEW_DONTWAIT | SINEW_SNDMORE) != 6 ||
        sinew_send(pair, addr ? addr : "", addr ? strlen(addr) : 0, SINEW_DONTWAIT) < 0)
        atomic_fetch_add(&m->dropped, 1);
}

int
sn_monitor_set(sn_monitor *m, void *ctx_handle, const char *addr, int events)
{
    stop(m);
    if (addr == NULL)
        return 0;
    if (strncmp(addr, "inproc://", 9) != 0)
        return -EPROTONOSUPPORT;
    void *pair = sinew_socket(ctx_handle, SINEW_PAIR);
    if (pair == NULL)
        return -errno;
    /* Default linger: events still queued (MONITOR_STOPPED last) stay readable by the
     * application's PAIR after the monitor closes. */
    if (sinew_bind(pair, addr) != 0) {
        int e = errno;
        sinew_close(pair);
        return -e;
    }
    atomic_store(&m->events, events);
    atomic_store(&m->pair, pair);
    return 0;
}
