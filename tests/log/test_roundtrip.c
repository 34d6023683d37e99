/* Round trips through the public API: random records across segment rolls and
 * reopens, reads from arbitrary offsets and timestamps, read limits, retention
 * boundaries, age rolls and consumer positions. */
#include "helpers.h"

#include <errno.h>

TestSuite(roundtrip, .timeout = 60, .fini = cleanup_dirs);

#define SEED 7

Test(roundtrip, random_records_across_rolls_and_reopen)
{
    char dir[64];
    make_tmp_dir(dir);
    /* 256 KiB segments with 4 MB records now and then: rolls of every kind, including
     * records larger than a segment. */
    sinew_log *log = open_log(dir, SINEW_LOG_SYNC_OS, 256 << 10);
    const uint64_t n = 600;
    for (uint64_t i = 0; i < n; i++)
        gen_append(log, SEED, i, 97, 3000, 0);
    sinew_log_stat st;
    cr_assert_eq(sinew_log_stat_get(log, &st), 0);
    cr_assert_gt(st.segments, 10);
    cr_assert_eq(st.next, n);
    cr_assert_eq(check_all(log, 0, SEED, 97, 3000), n);
    cr_assert_eq(sinew_log_close(log), 0);

    log = open_log(dir, SINEW_LOG_SYNC_OS, 256 << 10);
    cr_assert_eq(sinew_log_next(log), n);
    cr_assert_eq(sinew_log_earliest(log), 0);
    /* Reads from arbitrary offsets, each batch checked record by record. */
    sinew_log_batch *b = sinew_log_batch_new();
    for (int k = 0; k < 300; k++) {
        uint64_t from = mix64((uint64_t)k) % n;
        size_t max = 1 + mix64((uint64_t)k + 99) % 20;
        int rc = sinew_log_read(log, from, max, 64 << 10, b);
        cr_assert_gt(rc, 0);
        cr_assert_leq((size_t)rc, max);
        for (int i = 0; i < rc; i++)
            gen_check(sinew_log_batch_get(b, (size_t)i), SEED, from + (uint64_t)i, 97,
                      3000);
        cr_assert_eq(sinew_log_batch_next(b), from + (uint64_t)rc);
    }
    /* Appends continue after the reopen, in the same segment sequence. */
    for (uint64_t i = n; i < n + 50; i++)
        gen_append(log, SEED, i, 97, 3000, 0);
    cr_assert_eq(check_all(log, n - 10, SEED, 97, 3000), 60);
    sinew_log_batch_free(b);
    cr_assert_eq(sinew_log_close(log), 0);
    rm_tree(dir);
}

Test(roundtrip, read_limits_and_end)
{
    char dir[64];
    make_tmp_dir(dir);
    sinew_log *log = open_log(dir, SINEW_LOG_SYNC_OS, 0);
    sinew_log_batch *b = sinew_log_batch_new();
    cr_assert_eq(sinew_log_read(log, 0, 10, 1000, b), 0); /* empty log */
    cr_assert_eq(sinew_log_batch_next(b), 0);
    char payload[1000] = {0};
    for (int i = 0; i < 10; i++) {
        sinew_log_frame f = {payload, sizeof payload};
        sinew_log_entry e = {.frames = &f, .nframes = 1};
        cr_assert_eq(sinew_log_append(log, &e, 0, NULL), 0);
    }
    /* Byte limit: whole records only, but always at least one. */
    cr_assert_eq(sinew_log_read(log, 0, 10, 2500, b), 2);
    cr_assert_eq(sinew_log_read(log, 0, 10, 10, b), 1);
    cr_assert_eq(sinew_log_read(log, 0, 3, 1 << 20, b), 3);
    cr_assert_eq(sinew_log_read(log, 8, 10, 1 << 20, b), 2);
    cr_assert_eq(sinew_log_batch_next(b), 10);
    cr_assert_eq(sinew_log_read(log, 10, 10, 1 << 20, b), 0);
    cr_assert_eq(sinew_log_read(log, 11, 10, 1 << 20, b), -1);
    cr_assert_eq(errno, ERANGE);
    /* A zero timestamp means now. */
    cr_assert_eq(sinew_log_read(log, 0, 1, 1 << 20, b), 1);
    int64_t ts = sinew_log_batch_get(b, 0)->timestamp;
    cr_assert(ts > 1600000000000 && ts < 4000000000000);
    sinew_log_batch_free(b);
    cr_assert_eq(sinew_log_close(log), 0);
    rm_tree(dir);
}

Test(roundtrip, seek_by_timestamp)
{
    char dir[64];
    make_tmp_dir(dir);
    sinew_log *log = open_log(dir, SINEW_LOG_SYNC_OS, 16 << 10);
    /* Timestamps 1000000 + 10 * offset, over many segments. */
    for (uint64_t i = 0; i < 500; i++)
        gen_append(log, SEED, i, 0, 300, 0);
    for (int pass = 0; pass < 2; pass++) {
        uint64_t off;
        cr_assert_eq(sinew_log_seek_time(log, 0, &off), 0);
        cr_assert_eq(off, 0);
        for (uint64_t i = 0; i < 500; i += 7) {
            cr_assert_eq(sinew_log_seek_time(log, 1000000 + (int64_t)i * 10, &off), 0);
            cr_assert_eq(off, i);
            cr_assert_eq(sinew_log_seek_time(log, 1000000 + (int64_t)i * 10 - 3, &off),
                         0);
            cr_assert_eq(off, i);
        }
        cr_assert_eq(sinew_log_seek_time(log, 1000000 + 5000, &off), 0);
        cr_assert_eq(off, 500); /* past the newest record: the end */
        cr_assert_eq(sinew_log_close(log), 0);
        log = open_log(dir, SINEW_LOG_SYNC_OS, 16 << 10); /* the same from indexes */
    }
    cr_assert_eq(sinew_log_close(log), 0);
    rm_tree(dir);
}

Test(roundtrip, retention_by_size_moves_earliest)
{
    char dir[64];
    make_tmp_dir(dir);
    sinew_log_options o;
    sinew_log_options_init(&o);
    o.flags = SINEW_LOG_CREATE;
    o.durability = SINEW_LOG_SYNC_OS;
    o.segment_bytes = 8 << 10;
    o.retention_bytes = 40 << 10;
    sinew_log *log = sinew_log_open(dir, &o);
    cr_assert_not_null(log);
    for (uint64_t i = 0; i < 400; i++)
        gen_append(log, SEED, i, 0, 200, 0);
    /* Enforced at each roll, so the active segment may carry the log over the limit
     * by up to one segment until the next roll or sinew_log_retain. */
    sinew_log_stat st;
    sinew_log_stat_get(log, &st);
    cr_assert_leq(st.bytes, 48 << 10);
    cr_assert_eq(sinew_log_retain(log), 0);
    sinew_log_stat_get(log, &st);
    cr_assert_leq(st.bytes, 40 << 10);
    cr_assert_gt(st.bytes, 24 << 10); /* whole segments only, not more than needed */
    uint64_t earliest = sinew_log_earliest(log);
    cr_assert_gt(earliest, 0);
    cr_assert_eq(st.earliest, earliest);
    sinew_log_batch *b = sinew_log_batch_new();
    /* Just below the boundary: the distinct error, naming the earliest offset. */
    cr_assert_eq(sinew_log_read(log, earliest - 1, 10, 1 << 20, b), -1);
    cr_assert_eq(errno, SINEW_LOG_EGONE);
    cr_assert_eq(sinew_log_batch_next(b), earliest);
    cr_assert_eq(sinew_log_read(log, 0, 10, 1 << 20, b), -1);
    cr_assert_eq(errno, SINEW_LOG_EGONE);
    cr_assert_str_eq(sinew_log_strerror(SINEW_LOG_EGONE),
                     "Offset deleted by retention (read from sinew_log_earliest)");
    /* At the boundary: data, intact. */
    cr_assert_eq(check_all(log, earliest, SEED, 0, 200), 400 - earliest);
    sinew_log_batch_free(b);
    cr_assert_eq(sinew_log_close(log), 0);
    /* The deletion is on disk: a reopen sees the same earliest offset. */
    log = sinew_log_open(dir, &o);
    cr_assert_eq(sinew_log_earliest(log), earliest);
    cr_assert_eq(sinew_log_close(log), 0);
    rm_tree(dir);
}

Test(roundtrip, retention_by_age_and_roll_by_age)
{
    char dir[64];
    make_tmp_dir(dir);
    sinew_log_options o;
    sinew_log_options_init(&o);
    o.flags = SINEW_LOG_CREATE;
    o.durability = SINEW_LOG_SYNC_OS;
    o.segment_ms = 60000;
    sinew_log *log = sinew_log_open(dir, &o);
    cr_assert_not_null(log);
    int64_t now;
    sinew_log_frame f = {"x", 1};
    /* Records stamped two hours ago, one hour ago and now: the segment of the first
     * is older than segment_ms when the next arrives, so each starts a segment. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    now = (int64_t)ts.tv_sec * 1000;
    int64_t stamps[3] = {now - 7200000, now - 3600000, now};
    for (int i = 0; i < 3; i++) {
        sinew_log_entry e = {.timestamp = stamps[i], .frames = &f, .nframes = 1};
        cr_assert_eq(sinew_log_append(log, &e, 0, NULL), 0);
    }
    sinew_log_stat st;
    sinew_log_stat_get(log, &st);
    cr_assert_eq(st.segments, 3);
    cr_assert_eq(sinew_log_close(log), 0);
    /* Keep 90 minutes: only the first segment goes, at open. */
    o.retention_ms = 90 * 60000;
    log = sinew_log_open(dir, &o);
    cr_assert_eq(sinew_log_earliest(log), 1);
    cr_assert_eq(sinew_log_close(log), 0);
    /* Keep 30 minutes: the second goes too; the active one always stays. */
    o.retention_ms = 30 * 60000;
    o.segment_ms = 0;
    log = sinew_log_open(dir, &o);
    cr_assert_eq(sinew_log_earliest(log), 2);
    cr_assert_eq(sinew_log_retain(log), 0);
    cr_assert_eq(sinew_log_earliest(log), 2);
    sinew_log_batch *b = sinew_log_batch_new();
    cr_assert_eq(sinew_log_read(log, 2, 10, 1 << 20, b), 1);
    cr_assert_eq(sinew_log_batch_get(b, 0)->timestamp, now);
    sinew_log_batch_free(b);
    cr_assert_eq(sinew_log_close(log), 0);
    rm_tree(dir);
}

Test(roundtrip, consumer_positions)
{
    char dir[64];
    make_tmp_dir(dir);
    sinew_log *log = open_log(dir, SINEW_LOG_SYNC_OS, 0);
    uint64_t off;
    cr_assert_eq(sinew_log_fetch(log, "alpha", &off), -1);
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(sinew_log_commit(log, "alpha", 5), 0);
    cr_assert_eq(sinew_log_commit(log, "beta", 7), 0);
    cr_assert_eq(sinew_log_commit(log, "alpha", 9), 0);
    char longname[300];
    memset(longname, 'n', sizeof longname);
    longname[255] = 0;
    cr_assert_eq(sinew_log_commit(log, longname, 1ull << 40), 0);
    longname[255] = 'n';
    longname[256] = 0;
    cr_assert_eq(sinew_log_commit(log, longname, 1), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_log_commit(log, "", 1), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_log_close(log), 0);
    /* A commit cut short by a crash leaves only its temp file: the old table stands. */
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s/consumers.tmp", dir);
    int tfd = open(tmp, O_WRONLY | O_CREAT, 0644);
    cr_assert_eq(write(tfd, "SNLOGCP1\1\0", 10), 10);
    close(tfd);
    log = open_log(dir, SINEW_LOG_SYNC_OS, 0);
    cr_assert_eq(access(tmp, F_OK), -1); /* and is swept away */
    cr_assert_eq(sinew_log_fetch(log, "alpha", &off), 0);
    cr_assert_eq(off, 9);
    cr_assert_eq(sinew_log_fetch(log, "beta", &off), 0);
    cr_assert_eq(off, 7);
    longname[255] = 0;
    cr_assert_eq(sinew_log_fetch(log, longname, &off), 0);
    cr_assert_eq(off, 1ull << 40);
    cr_assert_eq(sinew_log_close(log), 0);
    /* A damaged positions file is refused loudly rather than read as zeros. */
    char path[128];
    snprintf(path, sizeof path, "%s/consumers", dir);
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, "X", 1, 14), 1);
    close(fd);
    sinew_log_options o;
    sinew_log_options_init(&o);
    o.message_fn = count_message;
    cr_assert_null(sinew_log_open(dir, &o));
    cr_assert_eq(errno, EBADMSG);
    rm_tree(dir);
}

Test(roundtrip, thousands_of_frames_and_keys)
{
    char dir[64];
    make_tmp_dir(dir);
    sinew_log *log = open_log(dir, SINEW_LOG_SYNC_OS, 0);
    /* More frames than one pwritev takes (IOV_MAX), some empty, and a key. */
    enum { NF = 2500 };
    static sinew_log_frame f[NF];
    static uint32_t vals[NF];
    for (uint32_t i = 0; i < NF; i++) {
        vals[i] = i * 2654435761u;
        f[i] = (sinew_log_frame){&vals[i], i % 3 ? sizeof vals[i] : 0};
    }
    sinew_log_entry e = {.key = "the-key", .key_size = 7, .frames = f, .nframes = NF};
    uint64_t off;
    cr_assert_eq(sinew_log_append(log, &e, 0, &off), 0);
    cr_assert_eq(sinew_log_close(log), 0);
    log = open_log(dir, SINEW_LOG_SYNC_OS, 0);
    sinew_log_batch *b = sinew_log_batch_new();
    cr_assert_eq(sinew_log_read(log, off, 10, 1 << 20, b), 1);
    const sinew_log_record *r = sinew_log_batch_get(b, 0);
    cr_assert_eq(r->key_size, 7);
    cr_assert(memcmp(r->key, "the-key", 7) == 0);
    cr_assert_eq(r->nframes, NF);
    for (uint32_t i = 0; i < NF; i++) {
        cr_assert_eq(r->frames[i].size, f[i].size);
        if (f[i].size)
            cr_assert(memcmp(r->frames[i].data, &vals[i], 4) == 0);
    }
    /* A batch kept across a reopen still reads correctly from its hint. */
    cr_assert_eq(sinew_log_close(log), 0);
    log = open_log(dir, SINEW_LOG_SYNC_OS, 0);
    gen_append(log, 1, 1, 0, 100, 0);
    cr_assert_eq(sinew_log_read(log, 1, 10, 1 << 20, b), 1);
    gen_check(sinew_log_batch_get(b, 0), 1, 1, 0, 100);
    sinew_log_batch_free(b);
    cr_assert_eq(sinew_log_close(log), 0);
    rm_tree(dir);
}

Test(roundtrip, seek_with_timestamps_out_of_order)
{
    char dir[64];
    make_tmp_dir(dir);
    sinew_log *log = open_log(dir, SINEW_LOG_SYNC_OS, 0);
    int64_t ts[6] = {50, 10, 70, 30, 70, 20};
    sinew_log_frame f = {"v", 1};
    for (int i = 0; i < 6; i++) {
        sinew_log_entry e = {.timestamp = ts[i], .frames = &f, .nframes = 1};
        cr_assert_eq(sinew_log_append(log, &e, 0, NULL), 0);
    }
    /* The first record in offset order whose timestamp reaches the target. */
    int64_t want[][2] = {{5, 0}, {40, 0}, {50, 0}, {51, 2}, {70, 2}, {71, 6}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        uint64_t off;
        cr_assert_eq(sinew_log_seek_time(log, want[i][0], &off), 0);
        cr_assert_eq(off, (uint64_t)want[i][1], "seek %lld", (long long)want[i][0]);
    }
    cr_assert_eq(sinew_log_close(log), 0);
    rm_tree(dir);
}
