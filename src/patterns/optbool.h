/* The boolean pattern options (ROUTER_MANDATORY, PROBE_ROUTER, REQ_RELAXED...) as
 * libzmq takes them: an int >= 0. */
#ifndef SINEW_PATTERNS_OPTBOOL_H
#define SINEW_PATTERNS_OPTBOOL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* *out = (the int at val) != 0; -EINVAL, *out untouched, unless val is an int >= 0. */
static inline int
sn_opt_bool(const void *val, size_t len, bool *out)
{
    int v;
    if (val == NULL || len != sizeof v)
        return -EINVAL;
    memcpy(&v, val, sizeof v);
    if (v < 0)
        return -EINVAL;
    *out = v != 0;
    return 0;
}

#endif
