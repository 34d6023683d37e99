/* ZAP client (RFC 27, see zap.h): one internal REQ socket per request, its reply read
 * on the asking I/O thread when the socket's SINEW_READY_FD turns readable. */
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "core/ctx.h"
#include "core/inproc.h"
#include "io/reactor.h"
#include "security/zap.h"
#include "sinew.h"
#include "zmtp/metadata.h"

#define ZAP_REPLY_FRAMES 6 /* after the delimiter */

struct sn_zap_client {
    sn_reactor *r;
    void *sock;       /* the REQ socket's handle */
    sn_io_handle *h;  /* its READY_FD in r */
    void (*done)(void *arg, const sn_zap_reply *reply);
    void *arg;
};

void
sn_zap_reply_parse(const uint8_t *const *frames, const size_t *lens, const bool *more,
                   int nframes, sn_zap_reply *out)
{
    memset(out, 0, sizeof *out);
    /* libzmq's checks, in libzmq's order, with its codes. */
    if (nframes != ZAP_REPLY_FRAMES) {
        out->error = SN_ZAP_ERR_MALFORMED_REPLY;
        return;
    }
    for (int i = 0; i < nframes; i++)
        if (more[i] != (i < nframes - 1)) {
            out->error = SN_ZAP_ERR_MALFORMED_REPLY;
            return;
        }
    if (lens[0] != 3 || memcmp(frames[0], "1.0", 3) != 0) {
        out->error = SN_ZAP_ERR_BAD_VERSION;
        return;
    }
    if (lens[1] != 1 || frames[1][0] != '1') {
        out->error = SN_ZAP_ERR_BAD_REQUEST_ID;
        return;
    }
    const uint8_t *st = frames[2];
    if (lens[2] != 3 || st[0] < '2' || st[0] > '5' || st[1] != '0' || st[2] != '0') {
        out->error = SN_ZAP_ERR_INVALID_STATUS_CODE;
        return;
    }
    int err = 0;
    if (sn_zmtp_metadata_validate(frames[5], lens[5], &err) < 0) {
        out->error = SN_ZAP_ERR_INVALID_METADATA;
        return;
    }
    out->status = (st[0] - '0') * 100;
    out->user_id = frames[4];
    out->user_id_len = lens[4];
    out->metadata = frames[5];
    out->metadata_len = lens[5];
}

static void
zap_client_free(sn_zap_client *zc)
{
    if (zc->h != NULL)
        sn_reactor_del(zc->r, zc->h);
    if (zc->sock != NULL)
        sinew_close(zc->sock);
    free(zc);
}

/* The REQ socket has the reply (or a spurious wake-up). Reactor thread. */
static void
zap_io_cb(void *arg, uint32_t events)
{
    (void) events;
    sn_zap_client *zc = arg;
    sinew_msg_t parts[ZAP_REPLY_FRAMES + 1];
    const uint8_t *frames[ZAP_REPLY_FRAMES + 1];
    size_t lens[ZAP_REPLY_FRAMES + 1];
    bool more[ZAP_REPLY_FRAMES + 1];
    int n = 0;
    bool again = true;
    while (again) {
        sinew_msg_t m;
        sinew_msg_init(&m);
        if (sinew_msg_recv(&m, zc->sock, SINEW_DONTWAIT) < 0) {
            sinew_msg_close(&m);
            if (n == 0)
                return; /* nothing yet: the descriptor was stale */
            break;      /* a message's parts arrive together: cannot happen */
        }
        again = sinew_msg_more(&m) != 0;
        if (n == ZAP_REPLY_FRAMES + 1) { /* too many: keep the count, drop the rest */
            sinew_msg_close(&m);
            continue;
        }
        parts[n] = m;
        frames[n] = sinew_msg_data(&parts[n]);
        lens[n] = sinew_msg_size(&parts[n]);
        more[n] = again;
        n++;
    }
    sn_zap_reply reply;
    sn_zap_reply_parse(frames, lens, more, n, &reply);
    sn_reactor_del(zc->r, zc->h);
    zc->h = NULL;
    zc->done(zc->arg, &reply);
    for (int i = 0; i < n; i++)
        sinew_msg_close(&parts[i]);
    zap_client_free(zc);
}

static int
send_frame(void *sock, const void *data, size_t len, bool more)
{
    int flags = SINEW_DONTWAIT | (more ? SINEW_SNDMORE : 0);
    return sinew_send(sock, data, len, flags) < 0 ? -errno : 0;
}

static int
send_request(void *sock, const sn_zap_request *req)
{
    const char *domain = req->domain ? req->domain : "";
    const char *address = req->address ? req->address : "";
    int rc;
    if ((rc = send_frame(sock, "1.0", 3, true)) < 0 || (rc = send_frame(sock, "1", 1, true)) < 0 ||
        (rc = send_frame(sock, domain, strlen(domain), true)) < 0 ||
        (rc = send_frame(sock, address, strlen(address), true)) < 0 ||
        (rc = send_frame(sock, req->identity, req->identity_len, true)) < 0 ||
        (rc = send_frame(sock, req->mechanism, strlen(req->mechanism),
                         req->ncredentials > 0)) < 0)
        return rc;
    for (int i = 0; i < req->ncredentials; i++)
        if ((rc = send_frame(sock, req->credentials[i], req->credentials_len[i],
                             i + 1 < req->ncredentials)) < 0)
            return rc;
    return 0;
}

int
sn_zap_client_start(sn_zap_client **out, sn_ctx *ctx, sn_reactor *r,
                    const sn_zap_request *req,
                    void (*done)(void *arg, const sn_zap_reply *reply), void *arg)
{
    /* As libzmq: only a REP or ROUTER bound at the address counts as a handler. */
    int type = sn_inproc_bound_type(ctx, SN_ZAP_ENDPOINT + strlen("inproc://"));
    if (type != SINEW_REP && type != SINEW_ROUTER)
        return -ECONNREFUSED;
    sn_zap_client *zc = calloc(1, sizeof *zc);
    if (zc == NULL)
        return -ENOMEM;
    zc->r = r;
    zc->done = done;
    zc->arg = arg;
    int rc;
    int zero = 0, fd = -1;
    size_t fdlen = sizeof fd;
    zc->sock = sinew_socket(sn_ctx_handle(ctx), SINEW_REQ);
    if (zc->sock == NULL) {
        rc = -errno;
        goto fail;
    }
    if (sinew_setsockopt(zc->sock, SINEW_LINGER, &zero, sizeof zero) < 0 ||
        sinew_connect(zc->sock, SN_ZAP_ENDPOINT) < 0) {
        rc = -errno;
        goto fail;
    }
    if ((rc = send_request(zc->sock, req)) < 0)
        goto fail;
    /* Asked for after the send: the look it takes then (REQ now awaits a reply) is what
     * makes the reply's arrival signal the descriptor; a send alone does not. */
    if (sinew_getsockopt(zc->sock, SINEW_READY_FD, &fd, &fdlen) < 0) {
        rc = -errno;
        goto fail;
    }
    if ((rc = sn_reactor_add(r, fd, EPOLLIN, zap_io_cb, zc, &zc->h)) < 0)
        goto fail;
    *out = zc;
    return 0;
fail:
    zap_client_free(zc);
    return rc;
}

void
sn_zap_client_cancel(sn_zap_client *zc)
{
    if (zc != NULL)
        zap_client_free(zc);
}
