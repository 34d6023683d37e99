/* log_bench: throughput of the durable log engine next to what the same disk does with
 * a plain write loop of the same byte count and the same fsync policy: appends of 100 B
 * and 1 KB records under each durability policy, sequential reads, and the time to open
 * (recover) a cleanly closed and a crashed log.
 *
 *   log_bench [-d dir] [-m MB per append case] [-r MB of the recovery log] [-a records
 *             for sync-always] [-t threads for group commit]
 *
 * Defaults are small enough for a quick run; `-r 1024` gives the 1 GB recovery case. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sinew_log.h"

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
    fprintf(stderr, "log_bench: %s: %s\n", what, sinew_log_strerror(errno));
    exit(1);
}

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void
rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *policy_names[] = {"always", "group", "os"};

static sinew_log *
open_log(const char *dir, int durability)
{
    sinew_log_options o;
    sinew_log_options_init(&o);
    o.flags = SINEW_LOG_CREATE;
    o.durability = durability;
    sinew_log *log = sinew_log_open(dir, &o);
    if (!log)
        die("open");
    return log;
}

/* Plain write loop: count writes of size bytes, fdatasync after each (always), every
 * 10 ms (group, the default sync_ms) or never (os), then one final fdatasync for all. */
static double
raw_write(const char *dir, int durability, size_t size, uint64_t count)
{
    char path[512];
    snprintf(path, sizeof path, "%s/raw", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("raw open");
    char *buf = calloc(1, size);
    double t0 = now_s(), last_sync = t0;
    for (uint64_t i = 0; i < count; i++) {
        if (write(fd, buf, size) != (ssize_t)size)
            die("raw write");
        if (durability == SINEW_LOG_SYNC_ALWAYS)
            fdatasync(fd);
        else if (durability == SINEW_LOG_SYNC_GROUP && (i & 63) == 0 &&
                 now_s() - last_sync >= 0.010) {
            fdatasync(fd);
            last_sync = now_s();
        }
    }
    fdatasync(fd);
    double t = now_s() - t0;
    close(fd);
    unlink(path);
    free(buf);
    return t;
}

struct appender {
    sinew_log *log;
    size_t size;
    uint64_t count;
    int flags;
};

static void *
append_main(void *arg)
{
    struct appender *a = arg;
    char *buf = calloc(1, a->size);
    sinew_log_frame f = {buf, a->size};
    sinew_log_entry e = {.timestamp = 1, .frames = &f, .nframes = 1};
    for (uint64_t i = 0; i < a->count; i++)
        if (sinew_log_append(a->log, &e, a->flags, NULL) < 0)
            die("append");
    free(buf);
    return NULL;
}

/* Appends count records of size bytes from `threads` threads, then syncs everything
 * (so that every policy ends with the same bytes on disk). Returns seconds. */
static double
log_append(const char *dir, int durability, size_t size, uint64_t count, int threads,
           int flags)
{
    sinew_log *log = open_log(dir, durability);
    struct appender a = {log, size, count / (uint64_t)threads, flags};
    pthread_t th[64];
    double t0 = now_s();
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, append_main, &a);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    if (sinew_log_sync(log) < 0)
        die("sync");
    double t = now_s() - t0;
    sinew_log_close(log);
    return t;
}

static uint64_t
dir_bytes(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "du -sb '%s' | cut -f1", dir);
    FILE *p = popen(cmd, "r");
    unsigned long long v = 0;
    if (!p || fscanf(p, "%llu", &v) != 1)
        v = 0;
    if (p)
        pclose(p);
    return v;
}

/* The disk is shared and noisy: each figure is the best of REPEAT runs, log and raw
 * runs interleaved so that both see the same conditions. */
#define REPEAT 3

static void
case_append(const char *base, int durability, size_t size, uint64_t count, int threads,
            int flags)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/append", base);
    double tl = 1e30, tr = 1e30;
    uint64_t bytes = 0;
    for (int r = 0; r < REPEAT; r++) {
        double t = log_append(dir, durability, size, count, threads, flags);
        tl = t < tl ? t : tl;
        bytes = dir_bytes(dir);
        rm_tree(dir);
        /* The raw loop writes the same bytes in as many writes; records that each wait
         * for their own fsync compare with a loop that fsyncs every write. */
        t = raw_write(base, flags ? SINEW_LOG_SYNC_ALWAYS : durability,
                      (size_t)(bytes / count), count);
        tr = t < tr ? t : tr;
    }
    double mb = (double)bytes / 1e6;
    printf(
        "append %-6s %5zu B x %-8llu thr %d%s: %9.0f rec/s %8.1f MB/s | raw %8.1f MB/s "
        "| %5.1f%%\n",
        policy_names[durability], size, (unsigned long long)count, threads,
        flags ? " wait" : "     ", (double)count / tl, mb / tl, mb / tr, 100.0 * tr / tl);
}

/* Drops the log's files from the page cache (they are clean after a close), so that
 * the next reads come from the disk. Touches only these files, unlike drop_caches. */
static void
evict(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        int fd = de->d_name[0] == '.' ? -1 : open(path, O_RDONLY);
        if (fd >= 0) {
            fdatasync(fd);
            posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
            close(fd);
        }
    }
    if (d)
        closedir(d);
}

/* Seconds to open the log at dir: cold (from disk) and warm (from the page cache). */
static void
time_open(const char *dir, bool crashed, double *cold, double *warm)
{
    char path[600];
    snprintf(path, sizeof path, "%s/CLEAN", dir);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0)
            evict(dir);
        /* As if the process had crashed: every segment gets scanned. */
        if (crashed)
            unlink(path);
        double t0 = now_s();
        sinew_log *log = open_log(dir, SINEW_LOG_SYNC_OS);
        *(pass == 0 ? cold : warm) = now_s() - t0;
        sinew_log_close(log);
    }
}

/* CPU seconds (user + system) of this process, or of its waited-for children. */
static double
cpu_s(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double
time_cat(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cat '%s'/*.seg > /dev/null", dir);
    double t0 = now_s();
    if (system(cmd) != 0)
        die("cat");
    return now_s() - t0;
}

static void
case_read_and_recover(const char *base, uint64_t mbytes)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/recover", base);
    sinew_log *log = open_log(dir, SINEW_LOG_SYNC_OS);
    struct appender a = {log, 1000, mbytes * 1000000 / 1050, 0};
    append_main(&a);
    sinew_log_close(log);
    double mb = (double)dir_bytes(dir) / 1e6;

    /* Sequential reads from the page cache, against cat of the same files: best of
     * REPEAT passes each, interleaved, as the machine is noisy. */
    log = open_log(dir, SINEW_LOG_SYNC_OS);
    sinew_log_batch *b = sinew_log_batch_new();
    uint64_t n = 0;
    double t_read = 1e30, t_cat_warm = 1e30, c_read = 1e30, c_cat = 1e30;
    for (int r = 0; r < REPEAT; r++) {
        uint64_t off = 0;
        double c0 = cpu_s(RUSAGE_SELF), t0 = now_s();
        int rc;
        n = 0;
        while ((rc = sinew_log_read(log, off, 4096, 4 << 20, b)) > 0) {
            off += (uint64_t)rc;
            n += (uint64_t)rc;
        }
        if (rc < 0)
            die("read");
        double t = now_s() - t0, c = cpu_s(RUSAGE_SELF) - c0;
        t_read = t < t_read ? t : t_read;
        c_read = c < c_read ? c : c_read;
        c0 = cpu_s(RUSAGE_CHILDREN);
        t = time_cat(dir);
        c = cpu_s(RUSAGE_CHILDREN) - c0; /* cat and its shell */
        t_cat_warm = t < t_cat_warm ? t : t_cat_warm;
        c_cat = c < c_cat ? c : c_cat;
    }
    sinew_log_batch_free(b);
    sinew_log_close(log);
    evict(dir);
    double t_cat_cold = time_cat(dir);

    double clean_cold, clean_warm, crash_cold, crash_warm;
    time_open(dir, false, &clean_cold, &clean_warm);
    time_open(dir, true, &crash_cold, &crash_warm);
    rm_tree(dir);
    /* CPU time as well: on a busy machine it says more than the wall clock. */
    printf("read   sequential %llu records, cached: %8.1f MB/s | raw read %8.1f MB/s | "
           "%5.1f%% (CPU time: %5.1f%%)\n",
           (unsigned long long)n, mb / t_read, mb / t_cat_warm,
           100.0 * t_cat_warm / t_read, 100.0 * c_cat / c_read);
    printf("open   %.0f MB log, clean  : cold %7.3f s, cached %7.3f s\n", mb, clean_cold,
           clean_warm);
    printf("open   %.0f MB log, crashed: cold %7.3f s (%.0f MB/s), cached %7.3f s "
           "(%.0f MB/s) | raw read cold %7.3f s (%.0f MB/s), cached %7.3f s\n",
           mb, crash_cold, mb / crash_cold, crash_warm, mb / crash_warm, t_cat_cold,
           mb / t_cat_cold, t_cat_warm);
}

int
main(int argc, char **argv)
{
    const char *parent = "/tmp";
    uint64_t mb = 64, rmb = 256, always = 2000;
    int threads = 4, c;
    while ((c = getopt(argc, argv, "d:m:r:a:t:")) != -1) {
        switch (c) {
        case 'd':
            parent = optarg;
            break;
        case 'm':
            mb = strtoull(optarg, NULL, 10);
            break;
        case 'r':
            rmb = strtoull(optarg, NULL, 10);
            break;
        case 'a':
            always = strtoull(optarg, NULL, 10);
            break;
        case 't':
            threads = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: log_bench [-d dir] [-m MB] [-r MB] [-a records] "
                            "[-t threads]\n");
            return 2;
        }
    }
    if (threads < 1 || threads > 64 || !mb || !rmb || !always)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0); /* show each figure as it comes, also in a file */
    char base[256];
    if (snprintf(base, sizeof base, "%s/sinew-log-bench-XXXXXX", parent) >=
        (int)sizeof base)
        return 2;
    if (!mkdtemp(base))
        die("mkdtemp");
    printf("log_bench in %s (raw = plain write loop, same bytes and fsync policy; %% = "
           "log/raw)\n",
           base);
    size_t sizes[2] = {100, 1000};
    for (int s = 0; s < 2; s++) {
        uint64_t count = mb * 1000000 / sizes[s];
        case_append(base, SINEW_LOG_SYNC_OS, sizes[s], count, 1, 0);
        case_append(base, SINEW_LOG_SYNC_GROUP, sizes[s], count, 1, 0);
        case_append(base, SINEW_LOG_SYNC_ALWAYS, sizes[s], always, 1, 0);
        case_append(base, SINEW_LOG_SYNC_GROUP, sizes[s], always * (uint64_t)threads,
                    threads, SINEW_LOG_WAIT_DURABLE);
    }
    case_read_and_recover(base, rmb);
    rm_tree(base);
    return 0;
}
