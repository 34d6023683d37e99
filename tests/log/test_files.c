/* Descriptor budget: logs with more segments than RLIMIT_NOFILE allows descriptors, and
 * several such logs at once, open, read every record back, take appends and close,
 * because segment descriptors live in one bounded cache (src/log/files.c). Each test
 * runs in its own process, so the lowered limit ends with it. */
#include "helpers.h"

#include <dirent.h>
#include <sys/resource.h>

TestSuite(files, .timeout = 60, .fini = cleanup_dirs);

#define SEED 23
#define SMALL 60
#define FD_LIMIT 64

static int
open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    int n = -3; /* ".", ".." and the DIR's own descriptor */
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static sinew_log *
open_tiny(const char *dir)
{
    /* 1 KiB segments: one to three generated records each. */
    return open_log(dir, SINEW_LOG_SYNC_OS, 1024);
}

static uint64_t
segments(sinew_log *log)
{
    sinew_log_stat st;
    cr_assert_eq(sinew_log_stat_get(log, &st), 0);
    return st.segments;
}

static void
crash(const char *dir)
{
    char path[300];
    snprintf(path, sizeof path, "%s/CLEAN", dir);
    cr_assert_eq(unlink(path), 0);
}

Test(files, more_segments_than_descriptors)
{
    set_soft_limit(RLIMIT_NOFILE, FD_LIMIT);
    char dir[64];
    make_tmp_dir(dir);
    sinew_log *log = open_tiny(dir);
    uint64_t n = 0;
    while (segments(log) < 3 * FD_LIMIT)
        gen_append(log, SEED, n++, 0, SMALL, 0);
    cr_assert_eq(check_all(log, 0, SEED, 0, SMALL), n);
    cr_assert_eq(sinew_log_close(log), 0, "close: %s", sinew_log_strerror(errno));
    /* Clean open (indexes trusted), then one after a crash (every segment scanned). */
    for (int crashed = 0; crashed < 2; crashed++) {
        if (crashed)
            crash(dir);
        atomic_store(&test_messages, 0);
        log = open_tiny(dir);
        cr_assert_eq(atomic_load(&test_messages), 0, "no damage to report");
        cr_assert_eq(check_all(log, 0, SEED, 0, SMALL), n);
        gen_append(log, SEED, n, 0, SMALL, 0);
        n++;
        cr_assert_eq(sinew_log_close(log), 0, "close: %s", sinew_log_strerror(errno));
    }
    log = open_tiny(dir);
    cr_assert_eq(check_all(log, 0, SEED, 0, SMALL), n);
    cr_assert_eq(sinew_log_close(log), 0);
    rm_tree(dir);
}

Test(files, logs_share_the_budget)
{
    set_soft_limit(RLIMIT_NOFILE, FD_LIMIT);
    cr_assert_eq(sinew_log_set_max_files(0), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_log_set_max_files(8), 0);
    int base_fds = open_fds();
    enum { LOGS = 4 };
    char dir[LOGS][64];
    sinew_log *log[LOGS];
    uint64_t n[LOGS] = {0};
    for (int i = 0; i < LOGS; i++) {
        make_tmp_dir(dir[i]);
        log[i] = open_tiny(dir[i]);
    }
    /* Interleaved: every log rolls while the others hold segments open. */
    for (int round = 0; round < 40; round++)
        for (int i = 0; i < LOGS; i++)
            for (int k = 0; k < 3; k++) {
                gen_append(log[i], SEED + (uint64_t)i, n[i], 0, SMALL, 0);
                n[i]++;
            }
    for (int i = 0; i < LOGS; i++) {
        cr_assert_gt(segments(log[i]), FD_LIMIT / 2);
        cr_assert_eq(check_all(log[i], 0, SEED + (uint64_t)i, 0, SMALL), n[i]);
    }
    /* Directory, LOCK and active segment per log, and at most 8 idle segment files. */
    cr_assert_leq(open_fds(), base_fds + 3 * LOGS + 8, "%d descriptors", open_fds());
    for (int i = 0; i < LOGS; i++) {
        cr_assert_eq(sinew_log_close(log[i]), 0);
        crash(dir[i]);
    }
    cr_assert_eq(open_fds(), base_fds, "every descriptor closed with its log");
    for (int i = 0; i < LOGS; i++)
        log[i] = open_tiny(dir[i]);
    for (int i = 0; i < LOGS; i++) {
        cr_assert_eq(check_all(log[i], 0, SEED + (uint64_t)i, 0, SMALL), n[i]);
        gen_append(log[i], SEED + (uint64_t)i, n[i], 0, SMALL, 0);
    }
    cr_assert_leq(open_fds(), base_fds + 3 * LOGS + 8);
    for (int i = 0; i < LOGS; i++) {
        cr_assert_eq(sinew_log_close(log[i]), 0);
        rm_tree(dir[i]);
    }
}

/* Out of descriptors altogether: open fails with EMFILE, reported as such, and not as
 * damage to repair. Four free descriptors are enough for a log of any size: directory,
 * LOCK, active segment and one more, which every other file takes in turn. */
Test(files, emfile_is_reported_as_emfile)
{
    char dir[64];
    make_tmp_dir(dir);
    sinew_log *log = open_tiny(dir);
    uint64_t n = 0;
    while (segments(log) < 5)
        gen_append(log, SEED, n++, 0, SMALL, 0);
    cr_assert_eq(sinew_log_close(log), 0);
    set_soft_limit(RLIMIT_NOFILE, FD_LIMIT);
    int spare[FD_LIMIT], nspare = 0;
    while (nspare < FD_LIMIT && (spare[nspare] = dup(0)) >= 0)
        nspare++;
    cr_assert_eq(errno, EMFILE);
    /* Room for the directory and LOCK only. */
    close(spare[--nspare]);
    close(spare[--nspare]);
    atomic_store(&test_messages, 0);
    sinew_log_options o;
    sinew_log_options_init(&o);
    o.message_fn = count_message;
    cr_assert_null(sinew_log_open(dir, &o));
    cr_assert_eq(errno, EMFILE, "%s", sinew_log_strerror(errno));
    cr_assert_eq(atomic_load(&test_messages), 0, "EMFILE reported as damage");
    close(spare[--nspare]);
    close(spare[--nspare]);
    for (int crashed = 0; crashed < 2; crashed++) {
        if (crashed)
            crash(dir);
        log = open_tiny(dir);
        cr_assert_eq(atomic_load(&test_messages), 0);
        cr_assert_eq(check_all(log, 0, SEED, 0, SMALL), n);
        gen_append(log, SEED, n, 0, SMALL, 0);
        n++;
        cr_assert_eq(sinew_log_close(log), 0, "close: %s", sinew_log_strerror(errno));
    }
    while (nspare > 0)
        close(spare[--nspare]);
    rm_tree(dir);
}
