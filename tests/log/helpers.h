/* Shared helpers of the log engine tests: temporary log directories under /tmp, and
 * records generated from (seed, offset) so that any record read back can be checked
 * without keeping a copy of what was written. */
#ifndef SN_LOG_TEST_HELPERS_H
#define SN_LOG_TEST_HELPERS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sinew_log.h"

/* Every directory a test makes is also removed by its suite's .fini, which runs even
 * when an assertion fails half way through the test. */
static char test_dirs[256][32];
static int test_ndirs;

static inline void
make_tmp_dir(char path[64])
{
    strcpy(path, "/tmp/sinew-log-test-XXXXXX");
    cr_assert_not_null(mkdtemp(path));
    cr_assert_lt(test_ndirs, 256);
    strcpy(test_dirs[test_ndirs++], path);
}

static inline int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static inline void
rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    for (int i = 0; i < test_ndirs; i++)
        if (strcmp(test_dirs[i], path) == 0) {
            memmove(test_dirs[i], test_dirs[test_ndirs - 1], sizeof test_dirs[i]);
            test_ndirs--;
            break;
        }
}

static inline void
cleanup_dirs(void)
{
    while (test_ndirs > 0)
        rm_tree(test_dirs[test_ndirs - 1]);
}

static inline uint64_t
mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* A generated record: up to 16 frames, sizes drawn from the seed, content from mix64. */
typedef struct gen_rec {
    sinew_log_entry e;
    sinew_log_frame f[16];
    uint8_t *buf;
} gen_rec;

/* big_every: one record in big_every gets a frame of up to 4 MB (0: never). */
static inline void
gen_make(gen_rec *g, uint64_t seed, uint64_t offset, unsigned big_every, size_t small_max)
{
    uint64_t r = mix64(seed * 1000003 + offset);
    size_t nframes = 1 + r % 16, key = (r >> 8) % 3 == 0 ? 0 : (r >> 12) % 40;
    size_t sizes[16], total = key;
    for (size_t i = 0; i < nframes; i++) {
        uint64_t s = mix64(r + i);
        sizes[i] = (s % 5 == 0) ? 0 : s % (small_max + 1);
        total += sizes[i];
    }
    if (big_every && r % big_every == 0) {
        sizes[0] = (4u << 20) - (r % 1024);
        total += sizes[0];
    }
    g->buf = malloc(total ? total : 1);
    for (size_t i = 0; i < total; i++)
        g->buf[i] = (uint8_t)(mix64(r ^ (i / 8)) >> (8 * (i % 8)));
    g->e = (sinew_log_entry){.timestamp = 1000000 + (int64_t)offset * 10,
                             .key = key ? g->buf : NULL,
                             .key_size = key,
                             .frames = g->f,
                             .nframes = nframes};
    size_t at = key;
    for (size_t i = 0; i < nframes; i++) {
        g->f[i] = (sinew_log_frame){g->buf + at, sizes[i]};
        at += sizes[i];
    }
}

static inline void
gen_free(gen_rec *g)
{
    free(g->buf);
}

static inline void
gen_check(const sinew_log_record *r, uint64_t seed, uint64_t offset, unsigned big_every,
          size_t small_max)
{
    gen_rec g;
    gen_make(&g, seed, offset, big_every, small_max);
    cr_assert_eq(r->offset, offset);
    cr_assert_eq(r->timestamp, g.e.timestamp, "offset %llu", (unsigned long long)offset);
    cr_assert_eq(r->key_size, g.e.key_size);
    if (r->key_size)
        cr_assert(memcmp(r->key, g.e.key, r->key_size) == 0);
    cr_assert_eq(r->nframes, g.e.nframes, "offset %llu", (unsigned long long)offset);
    for (size_t i = 0; i < r->nframes; i++) {
        cr_assert_eq(r->frames[i].size, g.f[i].size);
        cr_assert(memcmp(r->frames[i].data, g.f[i].data, g.f[i].size) == 0,
                  "offset %llu frame %zu", (unsigned long long)offset, i);
    }
    gen_free(&g);
}

static inline uint64_t
gen_append(sinew_log *log, uint64_t seed, uint64_t expect, unsigned big_every,
           size_t small_max, int flags)
{
    gen_rec g;
    gen_make(&g, seed, expect, big_every, small_max);
    uint64_t off = UINT64_MAX;
    cr_assert_eq(sinew_log_append(log, &g.e, flags, &off), 0, "append: %s",
                 sinew_log_strerror(errno));
    cr_assert_eq(off, expect);
    gen_free(&g);
    return off;
}

/* Collects the messages a log reports. */
static atomic_int test_messages;

static inline void
count_message(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
    atomic_fetch_add(&test_messages, 1);
}

static inline sinew_log *
open_log(const char *dir, int durability, uint64_t segment_bytes)
{
    sinew_log_options o;
    sinew_log_options_init(&o);
    o.flags = SINEW_LOG_CREATE;
    o.durability = durability;
    if (segment_bytes)
        o.segment_bytes = segment_bytes;
    o.message_fn = count_message;
    sinew_log *log = sinew_log_open(dir, &o);
    cr_assert_not_null(log, "open %s: %s", dir, sinew_log_strerror(errno));
    return log;
}

/* A log of 4 KiB segments with an index entry every 512 bytes: many files from few
 * records. */
static inline sinew_log *
open_small_log(const char *dir)
{
    sinew_log_options o;
    sinew_log_options_init(&o);
    o.flags = SINEW_LOG_CREATE;
    o.durability = SINEW_LOG_SYNC_OS;
    o.segment_bytes = 4096;
    o.index_interval = 512;
    o.message_fn = count_message;
    sinew_log *log = sinew_log_open(dir, &o);
    cr_assert_not_null(log, "open: %s", sinew_log_strerror(errno));
    return log;
}

/* Sets the soft limit of resource (RLIMIT_*) to n; a test runs in its own process, so
 * the limit ends with it. */
static inline void
set_soft_limit(int resource, rlim_t n)
{
    struct rlimit rl;
    cr_assert_eq(getrlimit(resource, &rl), 0);
    rl.rlim_cur = n;
    cr_assert_eq(setrlimit(resource, &rl), 0);
}

/* Reads every record from `from` up to `until` (or the end) and checks each against
 * the generator; returns how many were read. */
static inline uint64_t
check_range(sinew_log *log, uint64_t from, uint64_t until, uint64_t seed,
            unsigned big_every, size_t small_max)
{
    sinew_log_batch *b = sinew_log_batch_new();
    uint64_t off = from, n = 0;
    while (off < until) {
        size_t max = until - off < 100 ? (size_t)(until - off) : 100;
        int rc = sinew_log_read(log, off, max, 1 << 20, b);
        cr_assert_geq(rc, 0, "read %llu: %s", (unsigned long long)off,
                      sinew_log_strerror(errno));
        if (rc == 0)
            break;
        for (int i = 0; i < rc; i++)
            gen_check(sinew_log_batch_get(b, (size_t)i), seed, off + (uint64_t)i,
                      big_every, small_max);
        off += (uint64_t)rc;
        n += (uint64_t)rc;
        cr_assert_eq(sinew_log_batch_next(b), off);
    }
    sinew_log_batch_free(b);
    return n;
}

static inline uint64_t
check_all(sinew_log *log, uint64_t from, uint64_t seed, unsigned big_every,
          size_t small_max)
{
    return check_range(log, from, UINT64_MAX, seed, big_every, small_max);
}

#endif
