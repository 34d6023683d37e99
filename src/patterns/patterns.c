/* The table of implemented patterns. Adding a socket type: one file with its
 * sn_pattern_ops, one line here (names and peer rules are in src/zmtp/socktype.c). */
#include "patterns/pattern.h"

static const sn_pattern_ops *const patterns[] = {
    &sn_pair_ops, &sn_req_ops, &sn_rep_ops, &sn_pull_ops, &sn_push_ops,
    &sn_dealer_ops, &sn_router_ops, &sn_stream_ops,
    &sn_pub_ops, &sn_sub_ops, &sn_xpub_ops, &sn_xsub_ops, NULL,
};

const sn_pattern_ops *
sn_pattern_lookup(int type)
{
    for (size_t i = 0; patterns[i] != NULL; i++)
        if (patterns[i]->type == type)
            return patterns[i];
    return NULL;
}
