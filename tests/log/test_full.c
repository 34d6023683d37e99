/* A full disk or a file size limit never makes a log unreadable: after an unclean close
 * open rebuilds the indexes it cannot write in memory, every record reads back, appends
 * fail while there is no room and work again once there is. The full-disk case mounts a
 * small tmpfs (root only, skipped otherwise); RLIMIT_FSIZE gives the same failures
 * (EFBIG) to anyone. */
#include "helpers.h"

#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>

static char mount_dir[64];

static void
full_fini(void)
{
    if (mount_dir[0]) {
        umount2(mount_dir, MNT_DETACH);
        rmdir(mount_dir);
    }
    cleanup_dirs();
}

TestSuite(full, .timeout = 60, .fini = full_fini);

#define SEED 31
#define SMALL 60

/* As after a crash that lost every index: open has to rebuild and write them all. */
static void
crash_without_indexes(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *de;
    int nidx = 0;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, "CLEAN") && !strstr(de->d_name, ".idx"))
            continue;
        char path[300];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        cr_assert_eq(unlink(path), 0);
        nidx += strstr(de->d_name, ".idx") != NULL;
    }
    closedir(d);
    cr_assert_geq(nidx, 3);
}

/* Closes log cleanly and opens it again: the close wrote the indexes, so there is
 * nothing to rebuild or report, and all n records read back. */
static void
close_and_reopen(sinew_log *log, const char *dir, uint64_t n)
{
    cr_assert_eq(sinew_log_close(log), 0, "close: %s", sinew_log_strerror(errno));
    atomic_store(&test_messages, 0);
    log = open_small_log(dir);
    cr_assert_eq(atomic_load(&test_messages), 0);
    cr_assert_eq(check_all(log, 0, SEED, 0, SMALL), n);
    cr_assert_eq(sinew_log_close(log), 0);
}

static int
try_append(sinew_log *log, uint64_t seed, uint64_t offset)
{
    gen_rec g;
    gen_make(&g, seed, offset, 0, SMALL);
    uint64_t off;
    int rc = sinew_log_append(log, &g.e, 0, &off);
    gen_free(&g);
    cr_assert(rc < 0 || off == offset);
    return rc;
}

Test(full, file_size_limit_keeps_log_readable)
{
    signal(SIGXFSZ, SIG_IGN); /* writes past the limit fail with EFBIG instead */
    char dir[64];
    make_tmp_dir(dir);
    sinew_log *log = open_small_log(dir);
    uint64_t n = 80;
    for (uint64_t i = 0; i < n; i++)
        gen_append(log, SEED, i, 0, SMALL, 0);
    cr_assert_eq(sinew_log_close(log), 0);
    crash_without_indexes(dir);
    set_soft_limit(RLIMIT_FSIZE, 16); /* below any index file and any segment */
    atomic_store(&test_messages, 0);
    log = open_small_log(dir);
    cr_assert_geq(atomic_load(&test_messages), 3, "unwritten indexes reported");
    cr_assert_eq(check_all(log, 0, SEED, 0, SMALL), n);
    uint64_t off;
    cr_assert_eq(sinew_log_seek_time(log, 1000000 + 10 * 7, &off), 0);
    cr_assert_eq(off, 7);
    cr_assert_eq(try_append(log, SEED, n), -1);
    cr_assert_eq(errno, EFBIG);
    set_soft_limit(RLIMIT_FSIZE, RLIM_INFINITY);
    gen_append(log, SEED, n++, 0, SMALL, 0);
    close_and_reopen(log, dir, n);
    rm_tree(dir);
}

Test(full, full_disk_keeps_log_readable)
{
    if (geteuid() != 0)
        cr_skip_test("mounting a small tmpfs needs root; the RLIMIT_FSIZE case runs");
    strcpy(mount_dir, "/tmp/sinew-log-full-XXXXXX");
    cr_assert_not_null(mkdtemp(mount_dir));
    if (mount("tmpfs", mount_dir, "tmpfs", 0, "size=256k") < 0) {
        int err = errno;
        rmdir(mount_dir);
        mount_dir[0] = 0;
        cr_skip_test("cannot mount a tmpfs: %s", strerror(err));
    }
    /* Held back until "space returns", with room for every index file again. */
    char reserve[320];
    snprintf(reserve, sizeof reserve, "%s/reserve", mount_dir);
    int fd = open(reserve, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0);
    static const char page[4096];
    for (int i = 0; i < 24; i++)
        cr_assert_eq(write(fd, page, sizeof page), (ssize_t)sizeof page);
    close(fd);
    char dir[300];
    snprintf(dir, sizeof dir, "%s/log", mount_dir);
    sinew_log *log = open_small_log(dir);
    /* Fill the disk: every append acknowledged before ENOSPC must survive. */
    uint64_t n = 0;
    int rc;
    while ((rc = try_append(log, SEED, n)) == 0)
        n++;
    cr_assert_eq(errno, ENOSPC, "%s", sinew_log_strerror(errno));
    cr_assert_gt(n, 20);
    cr_assert_eq(check_all(log, 0, SEED, 0, SMALL), n);
    sinew_log_close(log); /* may fail: no room for the index or the marker */
    crash_without_indexes(dir);
    /* Whatever room the removed indexes freed is taken again. */
    char filler[320];
    snprintf(filler, sizeof filler, "%s/filler", mount_dir);
    fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0);
    while (write(fd, page, sizeof page) > 0)
        ;
    close(fd);

    atomic_store(&test_messages, 0);
    log = open_small_log(dir);
    cr_assert_geq(atomic_load(&test_messages), 3, "unwritten indexes reported");
    cr_assert_eq(check_all(log, 0, SEED, 0, SMALL), n);
    cr_assert_eq(try_append(log, SEED, n), -1);
    cr_assert_eq(errno, ENOSPC);
    cr_assert_eq(check_all(log, 0, SEED, 0, SMALL), n);
    cr_assert_eq(unlink(filler), 0); /* space returns */
    cr_assert_eq(unlink(reserve), 0);
    gen_append(log, SEED, n++, 0, SMALL, 0);
    close_and_reopen(log, dir, n);
    cr_assert_eq(umount2(mount_dir, 0), 0);
    cr_assert_eq(rmdir(mount_dir), 0);
    mount_dir[0] = 0;
}
