/* Routing-id table (see idmap.h): chained hashing (FNV-1a), doubling at load 1. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "patterns/idmap.h"

void
sn_idmap_init(sn_idmap *m, size_t slot_offset)
{
    *m = (sn_idmap){.slot = slot_offset};
}

void
sn_idmap_fini(sn_idmap *m)
{
    free(m->buckets);
    *m = (sn_idmap){.slot = m->slot};
}

static uint32_t
idmap_hash(const uint8_t *id, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ id[i]) * 16777619u;
    return h;
}

sn_pipe *
sn_idmap_find(const sn_idmap *m, const void *id, size_t len)
{
    if (m->n == 0 || len == 0 || len > SN_IDMAP_ID_MAX)
        return NULL;
    uint32_t h = idmap_hash(id, len);
    for (sn_pipe *p = m->buckets[h & (m->nbuckets - 1)]; p != NULL;) {
        sn_idmap_slot *s = sn_idmap_slot_of(m, p);
        if (s->hash == h && s->len == len && memcmp(s->id, id, len) == 0)
            return p;
        p = s->next;
    }
    return NULL;
}

static void
idmap_link(sn_idmap *m, sn_pipe *p)
{
    sn_idmap_slot *s = sn_idmap_slot_of(m, p);
    sn_pipe **b = &m->buckets[s->hash & (m->nbuckets - 1)];
    s->next = *b;
    *b = p;
}

static int
idmap_grow(sn_idmap *m)
{
    size_t nb = m->nbuckets ? m->nbuckets * 2 : 16;
    sn_pipe **old = m->buckets;
    size_t oldn = m->nbuckets;
    m->buckets = calloc(nb, sizeof *m->buckets);
    if (m->buckets == NULL) {
        m->buckets = old;
        return -ENOMEM;
    }
    m->nbuckets = nb;
    for (size_t i = 0; i < oldn; i++) {
        for (sn_pipe *p = old[i]; p != NULL;) {
            sn_pipe *next = sn_idmap_slot_of(m, p)->next;
            idmap_link(m, p);
            p = next;
        }
    }
    free(old);
    return 0;
}

int
sn_idmap_add(sn_idmap *m, sn_pipe *p, const void *id, size_t len)
{
    sn_idmap_slot *s = sn_idmap_slot_of(m, p);
    sn_idmap_remove(m, p);
    s->len = (uint8_t) len;
    memcpy(s->id, id, len);
    s->hash = idmap_hash(s->id, len);
    if (m->n >= m->nbuckets && idmap_grow(m) < 0 && m->nbuckets == 0)
        return -ENOMEM; /* a full table still takes it: chains just grow longer */
    idmap_link(m, p);
    s->in = true;
    m->n++;
    return 0;
}

void
sn_idmap_remove(sn_idmap *m, sn_pipe *p)
{
    sn_idmap_slot *s = sn_idmap_slot_of(m, p);
    if (!s->in)
        return;
    for (sn_pipe **pp = &m->buckets[s->hash & (m->nbuckets - 1)]; *pp != NULL;
         pp = &sn_idmap_slot_of(m, *pp)->next) {
        if (*pp == p) {
            *pp = s->next;
            break;
        }
    }
    s->next = NULL;
    s->in = false;
    m->n--;
}
