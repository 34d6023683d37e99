/* Concurrency tests: appenders on several threads under group commit (each waiting for
 * its own record to be durable) with readers tailing the log, the group commit flusher,
 * explicit syncs, tailing waits, and retention deleting segments under readers. */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>

TestSuite(concurrency, .timeout = 60, .fini = cleanup_dirs);

#define WRITERS 4
#define PER_WRITER 400
#define READERS 2

struct shared {
    sinew_log *log;
    int id;
    atomic_int errors;
};

struct payload {
    uint32_t writer, seq;
    uint8_t fill[100];
};

static void *
writer_main(void *arg)
{
    struct shared *s = arg;
    for (uint32_t i = 0; i < PER_WRITER; i++) {
        struct payload p = {(uint32_t)s->id, i, {0}};
        memset(p.fill, (int)(i & 0xff), sizeof p.fill);
        sinew_log_frame f[2] = {{&p, sizeof p}, {"tail", 4}};
        sinew_log_entry e = {.frames = f, .nframes = 2};
        int flags = i % 2 ? SINEW_LOG_WAIT_DURABLE : 0;
        uint64_t off;
        if (sinew_log_append(s->log, &e, flags, &off) < 0) {
            atomic_fetch_add(&s->errors, 1);
            continue;
        }
        sinew_log_stat st;
        sinew_log_stat_get(s->log, &st);
        if (flags && st.durable <= off) /* its own record must be durable by now */
            atomic_fetch_add(&s->errors, 1);
    }
    return NULL;
}

static void *
reader_main(void *arg)
{
    struct shared *s = arg;
    sinew_log_batch *b = sinew_log_batch_new();
    uint32_t last_seq[WRITERS];
    memset(last_seq, 0xff, sizeof last_seq);
    uint64_t off = 0;
    while (off < WRITERS * PER_WRITER) {
        if (sinew_log_wait(s->log, off, 10000) < 0) {
            atomic_fetch_add(&s->errors, 1000); /* a stall: appends stopped showing */
            break;
        }
        int rc = sinew_log_read(s->log, off, 50, 64 << 10, b);
        if (rc <= 0) {
            atomic_fetch_add(&s->errors, 1);
            break;
        }
        for (int i = 0; i < rc; i++) {
            const sinew_log_record *r = sinew_log_batch_get(b, (size_t)i);
            struct payload p;
            if (r->offset != off + (uint64_t)i || r->nframes != 2 ||
                r->frames[0].size != sizeof p || r->frames[1].size != 4) {
                atomic_fetch_add(&s->errors, 1);
                continue;
            }
            memcpy(&p, r->frames[0].data, sizeof p);
            /* Each writer's records appear in its own order, none lost or repeated. */
            if (p.writer >= WRITERS || p.seq != (uint32_t)(last_seq[p.writer] + 1) ||
                p.fill[99] != (p.seq & 0xff))
                atomic_fetch_add(&s->errors, 1);
            else
                last_seq[p.writer] = p.seq;
        }
        off += (uint64_t)rc;
    }
    sinew_log_batch_free(b);
    return NULL;
}

static void
run_writers_and_readers(int durability)
{
    char dir[64];
    make_tmp_dir(dir);
    sinew_log *log = open_log(dir, durability, 32 << 10);
    struct shared s[WRITERS + READERS];
    pthread_t t[WRITERS + READERS];
    for (int i = 0; i < WRITERS + READERS; i++) {
        s[i] = (struct shared){.log = log, .id = i < WRITERS ? i : i - WRITERS};
        atomic_init(&s[i].errors, 0);
        cr_assert_eq(
            pthread_create(&t[i], NULL, i < WRITERS ? writer_main : reader_main, &s[i]),
            0);
    }
    for (int i = 0; i < WRITERS + READERS; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(atomic_load(&s[i].errors), 0, "thread %d", i);
    }
    cr_assert_eq(sinew_log_next(log), WRITERS * PER_WRITER);
    cr_assert_eq(sinew_log_sync(log), 0);
    sinew_log_stat st;
    sinew_log_stat_get(log, &st);
    cr_assert_eq(st.durable, WRITERS * PER_WRITER);
    cr_assert_gt(st.segments, 3);
    cr_assert_eq(sinew_log_close(log), 0);
    rm_tree(dir);
}

Test(concurrency, group_commit_appenders_and_tailing_readers)
{
    run_writers_and_readers(SINEW_LOG_SYNC_GROUP);
}

Test(concurrency, sync_always_appenders_and_tailing_readers)
{
    run_writers_and_readers(SINEW_LOG_SYNC_ALWAYS);
}

static uint64_t
durable_of(sinew_log *log)
{
    sinew_log_stat st;
    sinew_log_stat_get(log, &st);
    return st.durable;
}

/* Waits, bounded, for the flusher to make everything durable on its own. */
static bool
flushed_within(sinew_log *log, int ms)
{
    for (int i = 0; i < ms && durable_of(log) < sinew_log_next(log); i++)
        usleep(1000);
    return durable_of(log) == sinew_log_next(log);
}

Test(concurrency, group_commit_flusher_by_count_and_by_time)
{
    char dir[64];
    make_tmp_dir(dir);
    sinew_log_options o;
    sinew_log_options_init(&o);
    o.flags = SINEW_LOG_CREATE;
    o.durability = SINEW_LOG_SYNC_GROUP;
    o.sync_ms = 0;
    o.sync_records = 10;
    sinew_log *log = sinew_log_open(dir, &o);
    cr_assert_not_null(log);
    for (uint64_t i = 0; i < 10; i++)
        gen_append(log, 3, i, 0, 100, 0);
    cr_assert(flushed_within(log, 5000), "10 records did not trigger a sync");
    cr_assert_eq(sinew_log_close(log), 0);
    o.sync_ms = 20;
    o.sync_records = 0;
    log = sinew_log_open(dir, &o);
    gen_append(log, 3, 10, 0, 100, 0);
    cr_assert(flushed_within(log, 5000), "the timer did not trigger a sync");
    cr_assert_eq(sinew_log_close(log), 0);
    rm_tree(dir);
}

Test(concurrency, explicit_sync_and_waits)
{
    char dir[64];
    make_tmp_dir(dir);
    sinew_log *log = open_log(dir, SINEW_LOG_SYNC_OS, 0);
    cr_assert_eq(sinew_log_wait(log, 0, 0), -1);
    cr_assert_eq(errno, EAGAIN);
    cr_assert_eq(sinew_log_wait(log, 0, 30), -1);
    cr_assert_eq(errno, EAGAIN);
    for (uint64_t i = 0; i < 5; i++)
        gen_append(log, 1, i, 0, 100, 0);
    cr_assert_eq(sinew_log_wait(log, 4, 0), 0);
    cr_assert_eq(sinew_log_wait(log, 0, -1), 0);
    cr_assert_eq(durable_of(log), 0); /* the OS policy syncs only when asked */
    cr_assert_eq(sinew_log_wait_durable(log, 2), 0);
    cr_assert_geq(durable_of(log), 3);
    cr_assert_eq(sinew_log_wait_durable(log, 5), -1);
    cr_assert_eq(errno, ERANGE);
    gen_append(log, 1, 5, 0, 100, SINEW_LOG_WAIT_DURABLE);
    cr_assert_eq(durable_of(log), 6);
    gen_append(log, 1, 6, 0, 100, 0);
    cr_assert_eq(sinew_log_sync(log), 0);
    cr_assert_eq(durable_of(log), 7);
    cr_assert_eq(sinew_log_close(log), 0);
    rm_tree(dir);
}

struct tail_arg {
    sinew_log *log;
    uint64_t target;
    atomic_int woke;
};

static void *
tail_main(void *arg)
{
    struct tail_arg *a = arg;
    if (sinew_log_wait(a->log, a->target, 20000) == 0)
        atomic_store(&a->woke, 1);
    return NULL;
}

Test(concurrency, wait_wakes_on_append)
{
    char dir[64];
    make_tmp_dir(dir);
    sinew_log *log = open_log(dir, SINEW_LOG_SYNC_OS, 0);
    struct tail_arg a = {.log = log, .target = 0};
    atomic_init(&a.woke, 0);
    pthread_t t;
    pthread_create(&t, NULL, tail_main, &a);
    gen_append(log, 1, 0, 0, 100, 0);
    pthread_join(t, NULL); /* returns early only if the append woke it */
    cr_assert_eq(atomic_load(&a.woke), 1);
    cr_assert_eq(sinew_log_close(log), 0);
    rm_tree(dir);
}

struct ret_arg {
    sinew_log *log;
    atomic_int stop, errors, gone;
};

static void *
retention_reader(void *arg)
{
    struct ret_arg *a = arg;
    sinew_log_batch *b = sinew_log_batch_new();
    uint64_t off = 0;
    for (int i = 0; i < 200000 && !atomic_load(&a->stop); i++) {
        int rc = sinew_log_read(a->log, off, 20, 1 << 20, b);
        if (rc < 0 && errno == SINEW_LOG_EGONE) {
            atomic_fetch_add(&a->gone, 1);
            off = sinew_log_batch_next(b);
            continue;
        }
        if (rc < 0) {
            atomic_fetch_add(&a->errors, 1);
            break;
        }
        for (int k = 0; k < rc; k++)
            gen_check(sinew_log_batch_get(b, (size_t)k), 5, off + (uint64_t)k, 0, 300);
        off = rc ? off + (uint64_t)rc : 0; /* at the end, start over from the front */
    }
    sinew_log_batch_free(b);
    return NULL;
}

Test(concurrency, retention_under_readers)
{
    char dir[64];
    make_tmp_dir(dir);
    sinew_log_options o;
    sinew_log_options_init(&o);
    o.flags = SINEW_LOG_CREATE;
    o.durability = SINEW_LOG_SYNC_OS;
    o.segment_bytes = 4096;
    o.retention_bytes = 16 << 10;
    sinew_log *log = sinew_log_open(dir, &o);
    cr_assert_not_null(log);
    struct ret_arg a = {.log = log};
    atomic_init(&a.stop, 0);
    atomic_init(&a.errors, 0);
    atomic_init(&a.gone, 0);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, retention_reader, &a);
    for (uint64_t i = 0; i < 1200; i++)
        gen_append(log, 5, i, 0, 300, 0);
    atomic_store(&a.stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(atomic_load(&a.errors), 0);
    cr_assert_gt(sinew_log_earliest(log), 700);
    cr_assert_eq(sinew_log_close(log), 0);
    rm_tree(dir);
}
