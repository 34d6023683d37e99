/* PUB (RFC 29): sends each message to the subscribers whose subscriptions match it (an
 * XPUB that never receives: xpub.c); a subscriber at its HWM misses messages, the
 * publisher never blocks. */
#include "patterns/xpub.h"

static int
pub_init(void *st, sn_socket *s)
{
    sn_xpub *x = st;
    x->pub = true;
    return sn_xpub_init(st, s);
}

const sn_pattern_ops sn_pub_ops = {
    .type = SINEW_PUB,
    .state_size = sizeof(sn_xpub),
    .pipe_state_size = sizeof(sn_xpub_pipe),
    .init = pub_init,
    .fini = sn_xpub_fini,
    .attach = sn_xpub_attach,
    .detach = sn_xpub_detach,
    .readable = sn_xpub_readable,
    .writable = sn_xpub_writable,
    .send = sn_xpub_send,
    .has_out = sn_xpub_has_out,
    .setopt = sn_xpub_setopt,
    .getopt = sn_xpub_getopt,
    .joined = sn_xpub_joined,
};
