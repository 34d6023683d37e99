/* SUB (RFC 29): receives, fair-queued, the messages whose first frame begins with one of
 * its subscriptions (SINEW_SUBSCRIBE / SINEW_UNSUBSCRIBE, counted); never sends. An XSUB
 * whose subscriptions are options (xsub.c). */
#include "patterns/xsub.h"

static int
sub_setopt(void *st, int option, const void *val, size_t len)
{
    if (option != SINEW_SUBSCRIBE && option != SINEW_UNSUBSCRIBE)
        return sn_xsub_setopt(st, option, val, len);
    if (len > 0 && val == NULL)
        return -EINVAL;
    return sn_xsub_subscribe(st, option == SINEW_SUBSCRIBE, val, len);
}

const sn_pattern_ops sn_sub_ops = {
    .type = SINEW_SUB,
    .state_size = sizeof(sn_xsub),
    .pipe_state_size = sizeof(sn_xsub_pipe),
    .init = sn_xsub_init,
    .fini = sn_xsub_fini,
    .attach = sn_xsub_attach,
    .detach = sn_xsub_detach,
    .readable = sn_xsub_readable,
    .writable = sn_xsub_writable,
    .hiccup = sn_xsub_hiccup,
    .recv = sn_xsub_recv,
    .has_in = sn_xsub_has_in,
    .setopt = sub_setopt,
    .getopt = sn_xsub_getopt,
};
