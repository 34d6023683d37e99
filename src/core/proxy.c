/* sinew_proxy and sinew_proxy_steerable: libzmq 4.3's built-in proxy (zmq_proxy(3),
 * zmq_proxy_steerable(3)). Messages move both ways between frontend and backend, whole
 * (every part of a multipart message, in order), each part copied to capture if given;
 * a control socket may PAUSE, RESUME, TERMINATE it or ask for STATISTICS.
 *
 * Written on the public API only, as an application would. It never spins and never
 * drops: a direction moves only when its source has a message and its destination has
 * room (SINEW_POLLOUT), and otherwise the proxy sleeps in sinew_poll on exactly what
 * would let a direction move again: input where there is none, room where input waits.
 * A destination at its high-water mark therefore holds its messages back in the source
 * (blocking, as libzmq does for types that do not drop). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sinew.h"

/* Messages moved in one direction before the other direction and the control socket
 * get a look (libzmq moves up to 1000 too). */
#define PROXY_BURST 1000

/* One socket's figures, as STATISTICS reports them; a multipart message counts once. */
typedef struct proxy_side {
    uint64_t msgs_in, bytes_in, msgs_out, bytes_out;
} proxy_side;

typedef struct proxy {
    void *front, *back, *capture, *control;
    proxy_side fs, bs;
    bool paused, terminated;
} proxy;

static int
events_of(void *s, int *ev)
{
    return sinew_getsockopt_int(s, SINEW_EVENTS, ev);
}

/* Sends a copy of part to capture, flagged like the original. */
static int
capture_part(void *capture, sinew_msg_t *part, bool more)
{
    sinew_msg_t copy;
    sinew_msg_init(&copy);
    if (sinew_msg_copy(&copy, part) < 0 ||
        sinew_msg_send(&copy, capture, more ? SINEW_SNDMORE : 0) < 0) {
        int e = errno;
        sinew_msg_close(&copy);
        errno = e;
        return -1;
    }
    return 0;
}

/* Moves one whole message from -> to. 1 when moved, 0 when from had nothing after all,
 * -1 with errno on failure (ETERM when the context ends). */
static int
forward_one(proxy *px, void *from, proxy_side *fst, void *to, proxy_side *tst)
{
    sinew_msg_t part;
    sinew_msg_init(&part);
    uint64_t bytes = 0;
    bool first = true, more;
    do {
        /* The parts of a message arrive together: only the first may be missing. */
        if (sinew_msg_recv(&part, from, SINEW_DONTWAIT) < 0) {
            if (first && errno == EAGAIN) {
                sinew_msg_close(&part);
                return 0;
            }
            goto fail;
        }
        first = false;
        bytes += sinew_msg_size(&part);
        more = sinew_msg_more(&part);
        if (px->capture != NULL && capture_part(px->capture, &part, more) < 0)
            goto fail;
        /* Blocking: the destination had room for this message (POLLOUT), and a
         * multipart message's later parts always follow its first. */
        if (sinew_msg_send(&part, to, more ? SINEW_SNDMORE : 0) < 0)
            goto fail;
    } while (more);
    sinew_msg_close(&part);
    fst->msgs_in++;
    fst->bytes_in += bytes;
    tst->msgs_out++;
    tst->bytes_out += bytes;
    return 1;
fail:;
    int e = errno;
    sinew_msg_close(&part);
    errno = e;
    return -1;
}

/* A burst in one direction, while the source has messages and the destination room.
 * Returns how many moved, or -1. */
static int
forward_burst(proxy *px, void *from, proxy_side *fst, void *to, proxy_side *tst)
{
    int moved = 0;
    while (moved < PROXY_BURST) {
        int ev;
        if (moved > 0 && (events_of(to, &ev) < 0 || !(ev & SINEW_POLLOUT)))
            break; /* no room for another: wait for it (an error shows up in poll) */
        int rc = forward_one(px, from, fst, to, tst);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
        moved++;
    }
    return moved;
}

/* The STATISTICS reply: 8 frames of uint64 (native byte order), frontend then backend,
 * each received messages, received bytes, sent messages, sent bytes. */
static int
reply_stats(proxy *px)
{
    const uint64_t v[8] = {px->fs.msgs_in, px->fs.bytes_in, px->fs.msgs_out, px->fs.bytes_out,
                           px->bs.msgs_in, px->bs.bytes_in, px->bs.msgs_out, px->bs.bytes_out};
    for (int i = 0; i < 8; i++)
        if (sinew_send(px->control, &v[i], sizeof v[i], i < 7 ? SINEW_SNDMORE : 0) < 0)
            return -1;
    return 0;
}

static bool
is_command(const uint8_t *data, size_t size, const char *cmd)
{
    return size == strlen(cmd) && memcmp(data, cmd, size) == 0;
}

/* One command from the control socket, if one is there. A REP control socket gets an
 * answer to every command (an empty one but to STATISTICS), as libzmq 4.3.5 does, so
 * that it can take the next; other types get only the STATISTICS reply. Anything else
 * (an unknown command, a multipart message) is ignored, where libzmq asserts. */
static int
handle_control(proxy *px)
{
    sinew_msg_t cmd;
    sinew_msg_init(&cmd);
    if (sinew_msg_recv(&cmd, px->control, SINEW_DONTWAIT) < 0) {
        int e = errno;
        sinew_msg_close(&cmd);
        errno = e;
        return e == EAGAIN ? 0 : -1;
    }
    bool valid = !sinew_msg_more(&cmd);
    while (sinew_msg_more(&cmd) && sinew_msg_recv(&cmd, px->control, SINEW_DONTWAIT) >= 0)
        ; /* the rest of a multipart message: not a command */
    const uint8_t *d = sinew_msg_data(&cmd);
    size_t n = sinew_msg_size(&cmd);
    bool stats = false;
    if (!valid)
        ;
    else if (is_command(d, n, "PAUSE"))
        px->paused = true;
    else if (is_command(d, n, "RESUME"))
        px->paused = false;
    else if (is_command(d, n, "TERMINATE"))
        px->terminated = true;
    else if (is_command(d, n, "STATISTICS"))
        stats = true;
    sinew_msg_close(&cmd);
    int type, rc = 0;
    if (stats)
        rc = reply_stats(px);
    else if (sinew_getsockopt_int(px->control, SINEW_TYPE, &type) == 0 && type == SINEW_REP)
        rc = sinew_send(px->control, "", 0, 0);
    /* A control socket that cannot answer (a SUB) does not stop the proxy. */
    return rc < 0 && errno != ENOTSUP ? -1 : 0;
}

/* What to wait for in one direction that could not move: input at its source if it has
 * none, else room at its destination. */
static void
want(short *src_events, short *dst_events, int src_ev)
{
    if (!(src_ev & SINEW_POLLIN))
        *src_events |= SINEW_POLLIN;
    else
        *dst_events |= SINEW_POLLOUT;
}

static int
proxy_run(proxy *px)
{
    bool same = px->front == px->back;
    for (;;) {
        int evc = 0;
        if (px->control != NULL) {
            if (events_of(px->control, &evc) < 0)
                return -1;
            if (evc & SINEW_POLLIN) {
                if (handle_control(px) < 0)
                    return -1;
                if (px->terminated)
                    return 0;
                continue; /* the next command first, or the new state's traffic */
            }
        }
        int evf, evb;
        if (events_of(px->front, &evf) < 0 || (!same && events_of(px->back, &evb) < 0))
            return -1;
        if (same)
            evb = evf;
        int moved = 0;
        if (!px->paused) {
            /* A socket proxied to itself sends back where it received (a ROUTER
             * echo): only that one direction, and no room check, as libzmq. */
            if ((evf & SINEW_POLLIN) && (same || (evb & SINEW_POLLOUT))) {
                int rc = forward_burst(px, px->front, &px->fs, px->back, &px->bs);
                if (rc < 0)
                    return -1;
                moved += rc;
            }
            if (!same && (evb & SINEW_POLLIN) && (evf & SINEW_POLLOUT)) {
                int rc = forward_burst(px, px->back, &px->bs, px->front, &px->fs);
                if (rc < 0)
                    return -1;
                moved += rc;
            }
        }
        if (moved > 0)
            continue;
        /* Nothing could move: sleep until something that would let it changes. */
        sinew_pollitem_t items[3];
        int n = 0;
        short fe = 0, be = 0;
        if (same && !px->paused) {
            fe = SINEW_POLLIN; /* moves without a room check: input is all it waits for */
        } else if (!px->paused) {
            want(&fe, &be, evf);
            want(&be, &fe, evb);
        }
        if (fe != 0)
            items[n++] = (sinew_pollitem_t){.socket = px->front, .events = fe};
        if (be != 0)
            items[n++] = (sinew_pollitem_t){.socket = px->back, .events = be};
        if (px->control != NULL)
            items[n++] = (sinew_pollitem_t){.socket = px->control, .events = SINEW_POLLIN};
        /* n > 0: running, a direction always wants something; paused, only a control
         * socket can have paused it. */
        if (sinew_poll(items, n, -1) < 0)
            return -1;
    }
}

SINEW_EXPORT int
sinew_proxy_steerable(void *frontend, void *backend, void *capture, void *control)
{
    if (frontend == NULL || backend == NULL) {
        errno = EFAULT;
        return -1;
    }
    proxy px = {.front = frontend, .back = backend, .capture = capture, .control = control};
    return proxy_run(&px);
}

SINEW_EXPORT int
sinew_proxy(void *frontend, void *backend, void *capture)
{
    /* Without a control socket nothing ends the proxy but an error: -1, as libzmq. */
    return sinew_proxy_steerable(frontend, backend, capture, NULL);
}
