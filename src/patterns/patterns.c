/* The table of implemented patterns and the peer compatibility check (RFC 37 lists
 * which socket types may talk to each other). */
#include "patterns/pattern.h"

static const sn_pattern_ops *const patterns[] = {
    &sn_pair_ops, &sn_req_ops, &sn_rep_ops, &sn_pull_ops, &sn_push_ops, NULL,
};

const sn_pattern_ops *
sn_pattern_lookup(int type)
{
    for (size_t i = 0; patterns[i] != NULL; i++)
        if (patterns[i]->type == type)
            return patterns[i];
    return NULL;
}

bool
sn_pattern_compatible(const sn_pattern_ops *ops, int peer_type)
{
    for (const int *t = ops->peers; *t >= 0; t++)
        if (*t == peer_type)
            return true;
    return false;
}
