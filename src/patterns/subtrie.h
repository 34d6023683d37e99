/* The subscription index of PUB, XPUB, SUB and XSUB (RFC 29: a subscription is a topic
 * prefix; a message matches it when its first frame begins with the topic).
 *
 * A radix tree over topic bytes: each node holds the bytes of its edge and, if some
 * subscriber asked for exactly the topic spelt by its path, entries {who, n}. Publishers
 * key entries by pipe (a set: adding twice is one entry, as libzmq's mtrie), subscribers
 * by NULL with a count (subscribing twice needs two unsubscribes). Matching a message
 * walks one path, so its cost grows with the topic's length, not the number of topics.
 * Owner's thread only; no recursion (topics may be long and nest deeply). */
#ifndef SINEW_PATTERNS_SUBTRIE_H
#define SINEW_PATTERNS_SUBTRIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sn_subtrie_node sn_subtrie_node;

typedef struct sn_subtrie {
    sn_subtrie_node *root;
    size_t topics; /* distinct topics with at least one entry */
} sn_subtrie;

typedef enum sn_subtrie_rm {
    SN_SUBTRIE_NOT_FOUND, /* who had no entry for the topic */
    SN_SUBTRIE_LAST,      /* the topic has no entry left: nobody wants it any more */
    SN_SUBTRIE_REMAIN,    /* the topic still has entries (another who, or a count) */
} sn_subtrie_rm;

/* Called for each matching entry; who as given to add. */
typedef void sn_subtrie_match_fn(void *who, void *arg);
/* Called with a topic (len bytes, valid during the call only). */
typedef void sn_subtrie_topic_fn(const uint8_t *topic, size_t len, void *arg);

int sn_subtrie_init(sn_subtrie *t); /* -ENOMEM */
void sn_subtrie_fini(sn_subtrie *t);

/* counted: a second add of who counts (n++); otherwise it is a no-op. Returns 1 if the
 * topic had no entry before (a first subscriber), 0 if it had, -ENOMEM (nothing
 * changed). */
int sn_subtrie_add(sn_subtrie *t, const uint8_t *topic, size_t len, void *who,
                   bool counted);
/* counted: takes one from who's count, removing the entry at zero; otherwise removes it. */
sn_subtrie_rm sn_subtrie_remove(sn_subtrie *t, const uint8_t *topic, size_t len, void *who,
                                bool counted);
/* Removes every entry of who. fn (if not NULL) is told each topic removed, or only those
 * that no one else wants any more if only_last. -ENOMEM: the entries went all the same
 * (nothing refers to who afterwards), but fn was not called. */
int sn_subtrie_remove_all(sn_subtrie *t, void *who, bool only_last, sn_subtrie_topic_fn *fn,
                          void *arg);

/* Calls fn for each entry whose topic is a prefix of data (each who once per topic: a
 * who subscribed to "a" and "ab" is reported twice for "abc"). */
void sn_subtrie_match(const sn_subtrie *t, const uint8_t *data, size_t size,
                      sn_subtrie_match_fn *fn, void *arg);
/* Whether some topic is a prefix of data. */
bool sn_subtrie_check(const sn_subtrie *t, const uint8_t *data, size_t size);
/* Calls fn for each topic that has an entry (any who), once. -ENOMEM: the walk could not
 * be made. */
int sn_subtrie_each(const sn_subtrie *t, sn_subtrie_topic_fn *fn, void *arg);

#endif
