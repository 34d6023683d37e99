/* Thread stress of the log engine for ThreadSanitizer (Criterion cannot start under
 * TSan): appenders under group commit, some waiting for durability, tailing readers,
 * a syncing thread and retention deleting segments under the readers, with a descriptor
 * cache of two files so that descriptors are closed and reopened under them all the
 * time. Checks what it reads; exits non-zero on any error.
 * Usage: tsan_log_stress [records per writer [map]]: "map" makes every read map its
 * segment (the path of large reads) instead of using pread. */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/internal.h"
#include "sinew_log.h"

#define WRITERS 4
#define READERS 3

static sinew_log *log_;
static uint64_t per_writer = 2000;
static atomic_int errors, writers_done;

static void
fail(const char *what)
{
    fprintf(stderr, "tsan_log_stress: %s: %s\n", what, sinew_log_strerror(errno));
    atomic_fetch_add(&errors, 1);
}

static void *
writer(void *arg)
{
    uint32_t id = (uint32_t)(uintptr_t)arg;
    for (uint32_t i = 0; i < per_writer; i++) {
        uint32_t body[2] = {id, i};
        sinew_log_frame f[2] = {{body, sizeof body}, {"x", i % 2}};
        sinew_log_entry e = {
            .key = &id, .key_size = sizeof id, .frames = f, .nframes = 2};
        if (sinew_log_append(log_, &e, i % 8 == 0 ? SINEW_LOG_WAIT_DURABLE : 0, NULL) < 0)
            fail("append");
    }
    atomic_fetch_add(&writers_done, 1);
    return NULL;
}

/* Tails the log from the earliest offset, checking each writer's sequence; records
 * deleted by retention under it are skipped, so sequences may jump, never go back. */
static void *
reader(void *arg)
{
    (void)arg;
    sinew_log_batch *b = sinew_log_batch_new();
    int64_t last[WRITERS];
    memset(last, 0xff, sizeof last);
    uint64_t off = 0, total = WRITERS * per_writer;
    while (off < total) {
        if (sinew_log_wait(log_, off, 10000) < 0) {
            fail("wait");
            break;
        }
        int n = sinew_log_read(log_, off, 64, 1 << 16, b);
        if (n < 0 && errno == SINEW_LOG_EGONE) {
            off = sinew_log_batch_next(b);
            continue;
        }
        if (n <= 0) {
            fail("read");
            break;
        }
        for (int i = 0; i < n; i++) {
            const sinew_log_record *r = sinew_log_batch_get(b, (size_t)i);
            uint32_t body[2];
            if (r->nframes != 2 || r->frames[0].size != sizeof body) {
                fail("record shape");
                continue;
            }
            memcpy(body, r->frames[0].data, sizeof body);
            if (body[0] >= WRITERS || (int64_t)body[1] <= last[body[0]])
                fail("record order");
            else
                last[body[0]] = body[1];
        }
        off = sinew_log_batch_next(b);
    }
    sinew_log_batch_free(b);
    return NULL;
}

static void *
syncer(void *arg)
{
    (void)arg;
    while (atomic_load(&writers_done) < WRITERS)
        if (sinew_log_sync(log_) < 0 || sinew_log_retain(log_) < 0) {
            fail("sync");
            break;
        }
    return NULL;
}

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

int
main(int argc, char **argv)
{
    if (argc > 1)
        per_writer = strtoull(argv[1], NULL, 10);
    if (argc > 2 && strcmp(argv[2], "map") == 0)
        sn_log_read_map_min = 0;
    sinew_log_set_max_files(2);
    char dir[] = "/tmp/sinew-log-tsan-XXXXXX";
    if (!mkdtemp(dir))
        return 2;
    sinew_log_options o;
    sinew_log_options_init(&o);
    o.flags = SINEW_LOG_CREATE;
    o.durability = SINEW_LOG_SYNC_GROUP;
    o.sync_ms = 2;
    o.segment_bytes = 16 << 10;
    o.retention_bytes = 256 << 10;
    log_ = sinew_log_open(dir, &o);
    if (!log_)
        return 2;
    pthread_t t[WRITERS + READERS + 1];
    for (uintptr_t i = 0; i < WRITERS; i++)
        pthread_create(&t[i], NULL, writer, (void *)i);
    for (int i = 0; i < READERS; i++)
        pthread_create(&t[WRITERS + i], NULL, reader, NULL);
    pthread_create(&t[WRITERS + READERS], NULL, syncer, NULL);
    for (int i = 0; i < WRITERS + READERS + 1; i++)
        pthread_join(t[i], NULL);
    if (sinew_log_next(log_) != WRITERS * per_writer)
        fail("count");
    if (sinew_log_close(log_) < 0)
        fail("close");
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    int e = atomic_load(&errors);
    printf("tsan_log_stress: %s\n", e ? "FAILED" : "ok");
    return e ? 1 : 0;
}
