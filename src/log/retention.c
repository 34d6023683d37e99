/* Retention: which whole segments to delete so that the log stays under its size limit
 * and keeps no segment whose newest record is older than its age limit. Deleting from
 * the front only keeps offsets dense; the active segment always stays. */
#include "log/internal.h"

size_t
sn_log_retention_pick(sn_log_segment *const *segs, size_t nsegs, uint64_t retention_bytes,
                      uint64_t retention_ms, int64_t now_ms)
{
    uint64_t total = 0;
    for (size_t i = 0; i < nsegs; i++)
        total += segs[i]->size;
    size_t k = 0;
    for (; k + 1 < nsegs; k++) {
        bool too_big = retention_bytes && total > retention_bytes;
        /* A segment without any valid record (all damaged) counts as expired. */
        bool too_old = retention_ms && (segs[k]->max_ts == INT64_MIN ||
                                        segs[k]->max_ts < now_ms - (int64_t)retention_ms);
        if (!too_big && !too_old)
            break;
        total -= segs[k]->size;
    }
    return k;
}
