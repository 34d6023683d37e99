/* Routing-id table for ROUTER (RFC 28) and STREAM: maps a peer's routing id (1..255
 * bytes) to its pipe. Intrusive: each pipe keeps its key and chain link in a slot of its
 * per-pipe pattern state (as pipeset.h does), so insertion never allocates except to
 * grow the bucket array. Owner's thread only. */
#ifndef SINEW_PATTERNS_IDMAP_H
#define SINEW_PATTERNS_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/pipe.h"

#define SN_IDMAP_ID_MAX 255

/* A pipe's slot: its routing id, and its place in the table while in it. */
typedef struct sn_idmap_slot {
    sn_pipe *next; /* bucket chain */
    uint32_t hash;
    bool in;       /* in the table */
    uint8_t len;
    uint8_t id[SN_IDMAP_ID_MAX];
} sn_idmap_slot;

typedef struct sn_idmap {
    sn_pipe **buckets;
    size_t nbuckets; /* a power of two, or 0 */
    size_t n;
    size_t slot;     /* offset of the sn_idmap_slot in p->pstate */
} sn_idmap;

void sn_idmap_init(sn_idmap *m, size_t slot_offset);
void sn_idmap_fini(sn_idmap *m);
/* The pipe with this id, or NULL. */
sn_pipe *sn_idmap_find(const sn_idmap *m, const void *id, size_t len);
/* Sets p's id (1..255 bytes) and adds it; the id must be free (sn_idmap_find). -ENOMEM
 * leaves p out of the table with its id set. */
int sn_idmap_add(sn_idmap *m, sn_pipe *p, const void *id, size_t len);
void sn_idmap_remove(sn_idmap *m, sn_pipe *p); /* no-op if p is not in */

static inline sn_idmap_slot *
sn_idmap_slot_of(const sn_idmap *m, const sn_pipe *p)
{
    return (sn_idmap_slot *) (void *) ((char *) p->pstate + m->slot);
}

#endif
