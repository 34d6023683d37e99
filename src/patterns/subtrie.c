/* Subscription index (see subtrie.h): a radix tree whose nodes know their parent, so
 * every walk is a loop, and whose children are found by their first byte (memchr over a
 * byte array: at most 256 to look at, in one or a few cache lines), all in the node's
 * one allocation.
 *
 * Invariant, kept by tidy(): a node other than the root has entries or at least two
 * children; it never holds a lone child it could be merged with. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "patterns/subtrie.h"

typedef struct ent {
    void *who;
    uint32_t n;
} ent;

/* One allocation per node, so that a step of a walk touches few cache lines: the header,
 * then kids[kcap], firsts[kcap] (firsts[i] == label of kids[i], first byte), then the
 * label (the edge from the parent). A node that needs room for more children moves. */
struct sn_subtrie_node {
    sn_subtrie_node *parent;
    ent *ents;
    uint32_t nents, ecap;
    uint16_t nkids, kcap;
    uint32_t len;
    sn_subtrie_node *kids[];
};

static uint8_t *
firsts_of(const sn_subtrie_node *n)
{
    return (uint8_t *) (n->kids + n->kcap);
}

static uint8_t *
label_of(const sn_subtrie_node *n)
{
    return firsts_of(n) + n->kcap;
}

static size_t
node_size(size_t kcap, size_t len)
{
    return sizeof(sn_subtrie_node) + kcap * (sizeof(sn_subtrie_node *) + 1) + len;
}

static sn_subtrie_node *
node_new(const uint8_t *label, size_t len, uint16_t kcap)
{
    if (len > UINT32_MAX)
        return NULL;
    sn_subtrie_node *n = malloc(node_size(kcap, len));
    if (n == NULL)
        return NULL;
    *n = (sn_subtrie_node){.kcap = kcap, .len = (uint32_t) len};
    if (len > 0)
        memcpy(label_of(n), label, len);
    return n;
}

static void
node_free(sn_subtrie_node *n)
{
    free(n->ents);
    free(n);
}

static uint32_t
kid_index(const sn_subtrie_node *n, uint8_t b)
{
    const uint8_t *f = n->nkids > 0 ? memchr(firsts_of(n), b, n->nkids) : NULL;
    return f == NULL ? UINT32_MAX : (uint32_t) (f - firsts_of(n));
}

/* n moved to m: its parent (or the root pointer) and its children follow. */
static void
moved(sn_subtrie *t, const sn_subtrie_node *n, sn_subtrie_node *m)
{
    if (m->parent == NULL)
        t->root = m;
    else
        m->parent->kids[kid_index(m->parent, label_of(n)[0])] = m;
    for (uint16_t i = 0; i < m->nkids; i++)
        m->kids[i]->parent = m;
}

/* Adds c under p, which may move: returns where p is now, or NULL on ENOMEM (p
 * unchanged). */
static sn_subtrie_node *
kid_add(sn_subtrie *t, sn_subtrie_node *p, sn_subtrie_node *c)
{
    if (p->nkids == p->kcap) {
        uint16_t cap = p->kcap ? (uint16_t) (p->kcap * 2) : 2;
        if (cap > 256)
            cap = 256; /* one child per first byte */
        sn_subtrie_node *m = malloc(node_size(cap, p->len));
        if (m == NULL)
            return NULL;
        *m = *p;
        m->kcap = cap;
        memcpy(m->kids, p->kids, p->nkids * sizeof *m->kids);
        memcpy(firsts_of(m), firsts_of(p), p->nkids);
        memcpy(label_of(m), label_of(p), p->len);
        moved(t, p, m);
        free(p);
        p = m;
    }
    p->kids[p->nkids] = c;
    firsts_of(p)[p->nkids] = label_of(c)[0];
    p->nkids++;
    c->parent = p;
    return p;
}

static void
kid_remove(sn_subtrie_node *p, uint32_t i)
{
    p->nkids--;
    p->kids[i] = p->kids[p->nkids];
    firsts_of(p)[i] = firsts_of(p)[p->nkids];
}

/* x (not the root, no entries) has one child: x and its child become one node. On
 * ENOMEM they stay two, which only costs a step in later walks. */
static void
merge_with_kid(sn_subtrie *t, sn_subtrie_node *x)
{
    sn_subtrie_node *c = x->kids[0];
    if ((size_t) x->len + c->len > UINT32_MAX)
        return;
    sn_subtrie_node *m = realloc(c, node_size(c->kcap, (size_t) x->len + c->len));
    if (m == NULL)
        return;
    memmove(label_of(m) + x->len, label_of(m), m->len);
    memcpy(label_of(m), label_of(x), x->len);
    m->len += x->len;
    m->parent = x->parent;
    moved(t, x, m); /* x's place in its parent, keyed by the same first byte */
    x->nkids = 0;
    node_free(x);
}

/* Restores the invariant upward from n after it lost entries or a child. */
static void
tidy(sn_subtrie *t, sn_subtrie_node *n)
{
    while (n->parent != NULL && n->nents == 0 && n->nkids <= 1) {
        if (n->nkids == 1) {
            merge_with_kid(t, n);
            return;
        }
        sn_subtrie_node *p = n->parent;
        kid_remove(p, kid_index(p, label_of(n)[0]));
        node_free(n);
        n = p;
    }
}

int
sn_subtrie_init(sn_subtrie *t)
{
    t->topics = 0;
    t->root = node_new(NULL, 0, 0);
    return t->root == NULL ? -ENOMEM : 0;
}

/* The next node of a depth-first walk after n whose children from index i on are still
 * to visit; adds (or removes) the label bytes to *depth. NULL when done. */
static sn_subtrie_node *
walk_next(sn_subtrie_node *n, uint32_t *i, size_t *depth)
{
    while (*i >= n->nkids) {
        sn_subtrie_node *p = n->parent;
        if (p == NULL)
            return NULL;
        *i = kid_index(p, label_of(n)[0]) + 1;
        *depth -= n->len;
        n = p;
    }
    n = n->kids[*i];
    *i = 0;
    *depth += n->len;
    return n;
}

void
sn_subtrie_fini(sn_subtrie *t)
{
    /* Free leaves first: detaching each from its parent makes the parent a leaf. */
    sn_subtrie_node *n = t->root;
    while (n != NULL) {
        if (n->nkids > 0) {
            n = n->kids[n->nkids - 1];
            continue;
        }
        sn_subtrie_node *p = n->parent;
        if (p != NULL)
            p->nkids--;
        node_free(n);
        n = p;
    }
    t->root = NULL;
    t->topics = 0;
}

/* The node spelling topic exactly, made if missing (NULL on ENOMEM). */
static sn_subtrie_node *
find_or_make(sn_subtrie *t, const uint8_t *topic, size_t len)
{
    sn_subtrie_node *cur = t->root;
    size_t i = 0;
    while (i < len) {
        uint32_t k = kid_index(cur, topic[i]);
        if (k == UINT32_MAX) {
            sn_subtrie_node *leaf = node_new(topic + i, len - i, 0);
            sn_subtrie_node *p = leaf == NULL ? NULL : kid_add(t, cur, leaf);
            if (p == NULL) {
                free(leaf);
                tidy(t, cur);
                return NULL;
            }
            return leaf;
        }
        sn_subtrie_node *c = cur->kids[k];
        size_t m = 1; /* the first byte matched by kid_index */
        const uint8_t *cl = label_of(c);
        while (m < c->len && i + m < len && cl[m] == topic[i + m])
            m++;
        if (m < c->len) {
            /* The topic leaves (or ends inside) c's edge: split the edge at m. */
            sn_subtrie_node *mid = node_new(cl, m, 2);
            if (mid == NULL)
                return NULL;
            memmove(label_of(c), label_of(c) + m, c->len - m);
            c->len -= (uint32_t) m;
            kid_add(t, mid, c); /* room for two: it does not move */
            cur->kids[k] = mid;
            mid->parent = cur;
            c = mid;
        }
        cur = c;
        i += m;
    }
    return cur;
}

static const sn_subtrie_node *
find(const sn_subtrie *t, const uint8_t *topic, size_t len)
{
    const sn_subtrie_node *cur = t->root;
    size_t i = 0;
    while (i < len) {
        uint32_t k = kid_index(cur, topic[i]);
        if (k == UINT32_MAX)
            return NULL;
        const sn_subtrie_node *c = cur->kids[k];
        if (c->len > len - i || memcmp(label_of(c), topic + i, c->len) != 0)
            return NULL;
        i += c->len;
        cur = c;
    }
    return cur;
}

int
sn_subtrie_add(sn_subtrie *t, const uint8_t *topic, size_t len, void *who, bool counted)
{
    sn_subtrie_node *n = find_or_make(t, topic, len);
    if (n == NULL)
        return -ENOMEM;
    for (uint32_t i = 0; i < n->nents; i++) {
        if (n->ents[i].who == who) {
            if (counted && n->ents[i].n < UINT32_MAX)
                n->ents[i].n++;
            return 0;
        }
    }
    if (n->nents == n->ecap) {
        uint32_t cap = n->ecap ? n->ecap * 2 : 1;
        ent *e = realloc(n->ents, cap * sizeof *e);
        if (e == NULL) {
            tidy(t, n);
            return -ENOMEM;
        }
        n->ents = e;
        n->ecap = cap;
    }
    n->ents[n->nents++] = (ent){.who = who, .n = 1};
    if (n->nents > 1)
        return 0;
    t->topics++;
    return 1;
}

sn_subtrie_rm
sn_subtrie_remove(sn_subtrie *t, const uint8_t *topic, size_t len, void *who, bool counted)
{
    sn_subtrie_node *n = (sn_subtrie_node *) find(t, topic, len);
    if (n == NULL)
        return SN_SUBTRIE_NOT_FOUND;
    for (uint32_t i = 0; i < n->nents; i++) {
        if (n->ents[i].who != who)
            continue;
        if (counted && n->ents[i].n > 1) {
            n->ents[i].n--;
            return SN_SUBTRIE_REMAIN;
        }
        n->ents[i] = n->ents[--n->nents];
        if (n->nents > 0)
            return SN_SUBTRIE_REMAIN;
        t->topics--;
        free(n->ents);
        n->ents = NULL;
        n->ecap = 0;
        tidy(t, n);
        return SN_SUBTRIE_LAST;
    }
    return SN_SUBTRIE_NOT_FOUND;
}

static bool
has_who(const sn_subtrie_node *n, const void *who)
{
    for (uint32_t i = 0; i < n->nents; i++)
        if (n->ents[i].who == who)
            return true;
    return false;
}

/* A growable buffer of topics, each as its length then its bytes. */
typedef struct topics {
    uint8_t *buf;
    size_t len, cap;
} topics;

static int
topics_put(topics *ts, const uint8_t *b, size_t n)
{
    size_t need = ts->len + sizeof n + n;
    if (need > ts->cap) {
        size_t cap = ts->cap ? ts->cap : 256;
        while (cap < need)
            cap *= 2;
        uint8_t *buf = realloc(ts->buf, cap);
        if (buf == NULL)
            return -ENOMEM;
        ts->buf = buf;
        ts->cap = cap;
    }
    memcpy(ts->buf + ts->len, &n, sizeof n);
    if (n > 0)
        memcpy(ts->buf + ts->len + sizeof n, b, n);
    ts->len = need;
    return 0;
}

/* The topics of the nodes pick(n, who) chooses, in a depth-first walk. */
static int
collect(const sn_subtrie *t, const void *who, bool any, topics *ts)
{
    topics key = {0};
    *ts = (topics){0};
    sn_subtrie_node *n = t->root;
    size_t depth = 0;
    uint32_t i = 0;
    int rc = 0;
    while (n != NULL && rc == 0) {
        if (i == 0 && n->nents > 0 && (any || has_who(n, who))) {
            /* Rebuild the key from the parent chain into key.buf, back to front. */
            if (key.cap < depth) {
                uint8_t *buf = realloc(key.buf, depth);
                if (buf == NULL) {
                    rc = -ENOMEM;
                    break;
                }
                key.buf = buf;
                key.cap = depth;
            }
            size_t at = depth;
            for (const sn_subtrie_node *m = n; m->parent != NULL; m = m->parent) {
                at -= m->len;
                memcpy(key.buf + at, label_of(m), m->len);
            }
            rc = topics_put(ts, key.buf, depth);
        }
        n = walk_next(n, &i, &depth);
    }
    free(key.buf);
    if (rc < 0) {
        free(ts->buf);
        *ts = (topics){0};
    }
    return rc;
}

/* Without memory for the topics, who's entries still go (the caller is forgetting who:
 * nothing may point to it afterwards); nobody is told, and emptied nodes stay until a
 * later removal tidies them, which only costs a step in walks. */
static void
remove_in_place(sn_subtrie *t, const void *who)
{
    sn_subtrie_node *n = t->root;
    size_t depth = 0;
    uint32_t i = 0;
    while (n != NULL) {
        for (uint32_t e = 0; e < n->nents; e++) {
            if (n->ents[e].who == who) {
                n->ents[e] = n->ents[--n->nents];
                if (n->nents == 0)
                    t->topics--;
                break;
            }
        }
        n = walk_next(n, &i, &depth);
    }
}

int
sn_subtrie_remove_all(sn_subtrie *t, void *who, bool only_last, sn_subtrie_topic_fn *fn,
                      void *arg)
{
    /* The topics first, then the removals: removing reshapes the tree under a walk. */
    topics ts;
    int rc = collect(t, who, false, &ts);
    if (rc < 0) {
        remove_in_place(t, who);
        return rc;
    }
    for (size_t off = 0; off < ts.len;) {
        size_t n;
        memcpy(&n, ts.buf + off, sizeof n);
        const uint8_t *topic = ts.buf + off + sizeof n;
        off += sizeof n + n;
        sn_subtrie_rm r = sn_subtrie_remove(t, topic, n, who, false);
        if (fn != NULL && (r == SN_SUBTRIE_LAST || (r == SN_SUBTRIE_REMAIN && !only_last)))
            fn(topic, n, arg);
    }
    free(ts.buf);
    return 0;
}

void
sn_subtrie_match(const sn_subtrie *t, const uint8_t *data, size_t size,
                 sn_subtrie_match_fn *fn, void *arg)
{
    const sn_subtrie_node *cur = t->root;
    size_t i = 0;
    for (;;) {
        for (uint32_t e = 0; e < cur->nents; e++)
            fn(cur->ents[e].who, arg);
        if (i == size)
            return;
        uint32_t k = kid_index(cur, data[i]);
        if (k == UINT32_MAX)
            return;
        const sn_subtrie_node *c = cur->kids[k];
        if (c->len > size - i || memcmp(label_of(c), data + i, c->len) != 0)
            return;
        i += c->len;
        cur = c;
    }
}

bool
sn_subtrie_check(const sn_subtrie *t, const uint8_t *data, size_t size)
{
    const sn_subtrie_node *cur = t->root;
    size_t i = 0;
    for (;;) {
        if (cur->nents > 0)
            return true;
        if (i == size)
            return false;
        uint32_t k = kid_index(cur, data[i]);
        if (k == UINT32_MAX)
            return false;
        const sn_subtrie_node *c = cur->kids[k];
        if (c->len > size - i || memcmp(label_of(c), data + i, c->len) != 0)
            return false;
        i += c->len;
        cur = c;
    }
}

int
sn_subtrie_each(const sn_subtrie *t, sn_subtrie_topic_fn *fn, void *arg)
{
    topics ts;
    int rc = collect(t, NULL, true, &ts);
    if (rc < 0)
        return rc;
    for (size_t off = 0; off < ts.len;) {
        size_t n;
        memcpy(&n, ts.buf + off, sizeof n);
        fn(ts.buf + off + sizeof n, n, arg);
        off += sizeof n + n;
    }
    free(ts.buf);
    return 0;
}
