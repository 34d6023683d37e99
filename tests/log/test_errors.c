/* Error tests: bad arguments, directories that are not logs, newer format versions,
 * a second writer, permissions, oversized records, and a write that fails half way
 * (the file size limit, standing in for a full disk): each gives a clear error and
 * leaves everything already committed intact and the log usable. */
#include "helpers.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "log/internal.h"

TestSuite(errors, .timeout = 30, .fini = cleanup_dirs);

static void
put_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static bool
exists(const char *dir, const char *name)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

Test(errors, bad_arguments)
{
    char dir[64];
    make_tmp_dir(dir);
    sinew_log_options o;
    sinew_log_options_init(&o);
    o.flags = SINEW_LOG_CREATE;
    errno = 0;
    cr_assert_null(sinew_log_open(NULL, &o));
    cr_assert_eq(errno, EINVAL);
    o.durability = 7;
    cr_assert_null(sinew_log_open(dir, &o));
    cr_assert_eq(errno, EINVAL);
    o.durability = SINEW_LOG_SYNC_GROUP;
    o.sync_ms = o.sync_records = 0;
    cr_assert_null(sinew_log_open(dir, &o));
    cr_assert_eq(errno, EINVAL);
    sinew_log_options_init(&o);
    o.flags = SINEW_LOG_CREATE;
    o.segment_bytes = 10;
    cr_assert_null(sinew_log_open(dir, &o));
    cr_assert_eq(errno, EINVAL);
    o.segment_bytes = 1 << 20;
    o.max_record_bytes = SN_LOG_MAX_RECORD + 1;
    cr_assert_null(sinew_log_open(dir, &o));
    cr_assert_eq(errno, EINVAL);
    o.max_record_bytes = 1000;
    sinew_log *log = sinew_log_open(dir, &o);
    cr_assert_not_null(log);

    sinew_log_frame f = {"abc", 3};
    sinew_log_entry ok = {.frames = &f, .nframes = 1};
    sinew_log_entry e = ok;
    cr_assert_eq(sinew_log_append(NULL, &e, 0, NULL), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_log_append(log, NULL, 0, NULL), -1);
    e.nframes = 0;
    cr_assert_eq(sinew_log_append(log, &e, 0, NULL), -1);
    cr_assert_eq(errno, EINVAL);
    e = ok;
    e.frames = NULL;
    cr_assert_eq(sinew_log_append(log, &e, 0, NULL), -1);
    e = ok;
    e.key_size = 4;
    cr_assert_eq(sinew_log_append(log, &e, 0, NULL), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_log_append(log, &ok, 0x100, NULL), -1);
    cr_assert_eq(errno, EINVAL);
    sinew_log_frame nodata = {NULL, 5};
    e = ok;
    e.frames = &nodata;
    cr_assert_eq(sinew_log_append(log, &e, 0, NULL), -1);
    cr_assert_eq(errno, EINVAL);
    /* Too big for max_record_bytes: refused, nothing written, log goes on. */
    static char big[2000];
    sinew_log_frame bf = {big, sizeof big};
    e = ok;
    e.frames = &bf;
    cr_assert_eq(sinew_log_append(log, &e, 0, NULL), -1);
    cr_assert_eq(errno, EMSGSIZE);
    cr_assert_eq(sinew_log_next(log), 0);
    uint64_t off;
    cr_assert_eq(sinew_log_append(log, &ok, 0, &off), 0);
    cr_assert_eq(off, 0);

    sinew_log_batch *b = sinew_log_batch_new();
    cr_assert_eq(sinew_log_read(log, 0, 0, 100, b), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_log_read(log, 0, 1, 100, NULL), -1);
    cr_assert_eq(sinew_log_read(log, 0, 1, 100, b), 1);
    cr_assert_not_null(sinew_log_batch_get(b, 0));
    cr_assert_null(sinew_log_batch_get(b, 1));
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_log_commit(log, NULL, 1), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(sinew_log_fetch(log, "x", NULL), -1);
    cr_assert_eq(sinew_log_seek_time(log, 0, NULL), -1);
    cr_assert_eq(sinew_log_stat_get(log, NULL), -1);
    cr_assert_eq(sinew_log_close(NULL), -1);
    cr_assert_eq(errno, EINVAL);
    sinew_log_batch_free(b);
    cr_assert_eq(sinew_log_close(log), 0);
    rm_tree(dir);
}

Test(errors, not_a_log)
{
    char dir[64], sub[128];
    make_tmp_dir(dir);
    sinew_log_options o;
    sinew_log_options_init(&o);
    /* Missing, and empty without CREATE. */
    snprintf(sub, sizeof sub, "%s/missing", dir);
    cr_assert_null(sinew_log_open(sub, &o));
    cr_assert_eq(errno, ENOENT);
    cr_assert_null(sinew_log_open(dir, &o));
    cr_assert_eq(errno, ENOENT);
    cr_assert(!exists(dir, "LOCK"));
    /* Some other directory: refused even with CREATE, and left untouched. */
    put_file(dir, "notes.txt", "hello", 5);
    o.flags = SINEW_LOG_CREATE;
    cr_assert_null(sinew_log_open(dir, &o));
    cr_assert_eq(errno, SINEW_LOG_ENOTLOG);
    cr_assert(!exists(dir, "LOCK") && !exists(dir, "META"));
    cr_assert_str_eq(sinew_log_strerror(SINEW_LOG_ENOTLOG),
                     "Directory is not a sinew log");
    /* A file. */
    snprintf(sub, sizeof sub, "%s/notes.txt", dir);
    cr_assert_null(sinew_log_open(sub, &o));
    cr_assert_eq(errno, ENOTDIR);
    /* A damaged META. */
    snprintf(sub, sizeof sub, "%s/log", dir);
    sinew_log_close(sinew_log_open(sub, &o));
    put_file(sub, "META", "SINEWLOG\1\0\0\0\0\0\0\0", 16);
    cr_assert_null(sinew_log_open(sub, &o));
    cr_assert_eq(errno, SINEW_LOG_ENOTLOG);
    rm_tree(dir);
}

Test(errors, newer_format_version)
{
    char dir[64];
    make_tmp_dir(dir);
    sinew_log_options o;
    sinew_log_options_init(&o);
    o.flags = SINEW_LOG_CREATE;
    sinew_log *log = sinew_log_open(dir, &o);
    gen_append(log, 1, 0, 0, 10, 0);
    cr_assert_eq(sinew_log_close(log), 0);
    uint8_t meta[16];
    memcpy(meta, "SINEWLOG", 8);
    sn_log_put32(meta + 8, SN_LOG_VERSION + 1);
    sn_log_put32(meta + 12, sn_log_crc32c(0, meta, 12));
    char path[300];
    snprintf(path, sizeof path, "%s/META", dir);
    uint8_t old[16];
    int fd = open(path, O_RDONLY);
    cr_assert_eq(read(fd, old, 16), 16);
    close(fd);
    put_file(dir, "META", meta, 16);
    cr_assert_null(sinew_log_open(dir, &o));
    cr_assert_eq(errno, SINEW_LOG_EVERSION);
    put_file(dir, "META", old, 16);
    /* A segment written by a newer version is refused, not "repaired". */
    uint8_t hdr[SN_LOG_FILE_HDR];
    sn_log_filehdr_encode(hdr, "SNLOGSEG", 0);
    sn_log_put32(hdr + 8, SN_LOG_VERSION + 1);
    sn_log_put32(hdr + 12, sn_log_crc32c(sn_log_crc32c(0, hdr, 12), hdr + 16, 8));
    snprintf(path, sizeof path, "%s/%020d.seg", dir, 0);
    fd = open(path, O_WRONLY);
    cr_assert_eq(pwrite(fd, hdr, sizeof hdr, 0), (ssize_t)sizeof hdr);
    close(fd);
    cr_assert_null(sinew_log_open(dir, &o));
    cr_assert_eq(errno, SINEW_LOG_EVERSION);
    rm_tree(dir);
}

Test(errors, second_writer_refused)
{
    char dir[64];
    make_tmp_dir(dir);
    sinew_log *log = open_log(dir, SINEW_LOG_SYNC_OS, 0);
    gen_append(log, 1, 0, 0, 10, 0);
    sinew_log_options o;
    sinew_log_options_init(&o);
    cr_assert_null(sinew_log_open(dir, &o));
    cr_assert_eq(errno, EBUSY);
    pid_t pid = fork();
    if (pid == 0) {
        sinew_log *other = sinew_log_open(dir, &o);
        _exit(other == NULL && errno == EBUSY ? 0 : 1);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "other process not refused");
    gen_append(log, 1, 1, 0, 10, 0); /* the owner is unaffected */
    cr_assert_eq(sinew_log_close(log), 0);
    log = sinew_log_open(dir, &o); /* and the lock goes with the close */
    cr_assert_not_null(log);
    cr_assert_eq(check_all(log, 0, 1, 0, 10), 2);
    cr_assert_eq(sinew_log_close(log), 0);
    rm_tree(dir);
}

Test(errors, permission_denied)
{
    char dir[64];
    make_tmp_dir(dir);
    sinew_log_close(open_log(dir, SINEW_LOG_SYNC_OS, 0));
    cr_assert_eq(chmod(dir, 0), 0);
    /* In a child, which drops root (root ignores file modes) to an unprivileged user. */
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
            _exit(10);
        sinew_log_options o;
        sinew_log_options_init(&o);
        sinew_log *log = sinew_log_open(dir, &o);
        _exit(log == NULL && errno == EACCES ? 0 : 1);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    cr_assert_eq(chmod(dir, 0700), 0);
    sinew_log *log = open_log(dir, SINEW_LOG_SYNC_OS, 0); /* untouched by the attempt */
    cr_assert_eq(sinew_log_close(log), 0);
    rm_tree(dir);
}

/* In a child with a file size limit just above the current segment: appends fail with
 * EFBIG after writing part of a record, which must be rolled back. */
static int
limited_child(const char *dir, uint64_t n)
{
    signal(SIGXFSZ, SIG_IGN);
    sinew_log_options o;
    sinew_log_options_init(&o);
    o.message_fn = count_message;
    sinew_log *log = sinew_log_open(dir, &o);
    if (!log)
        return 10;
    sinew_log_stat st;
    sinew_log_stat_get(log, &st);
    struct rlimit rl = {st.bytes + 3000, st.bytes + 3000};
    if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
        return 11;
    static char big[8000];
    sinew_log_frame f = {big, sizeof big};
    sinew_log_entry e = {.frames = &f, .nframes = 1};
    if (sinew_log_append(log, &e, 0, NULL) == 0 || errno != EFBIG)
        return 12;
    if (sinew_log_next(log) != n)
        return 13;
    /* The log is still usable: what fits goes in, reads see every record intact. */
    gen_rec g;
    gen_make(&g, 1, n, 0, 100);
    uint64_t off;
    int rc = sinew_log_append(log, &g.e, 0, &off);
    gen_free(&g);
    if (rc < 0 || off != n)
        return 14;
    sinew_log_stat_get(log, &st);
    if (st.bytes > rl.rlim_cur)
        return 15;
    sinew_log_close(log);
    return 0;
}

Test(errors, failed_write_leaves_committed_data_intact)
{
    char dir[64];
    make_tmp_dir(dir);
    sinew_log *log = open_log(dir, SINEW_LOG_SYNC_ALWAYS, 0);
    const uint64_t n = 30;
    for (uint64_t i = 0; i < n; i++)
        gen_append(log, 1, i, 0, 100, 0);
    cr_assert_eq(sinew_log_close(log), 0);
    pid_t pid = fork();
    if (pid == 0)
        _exit(limited_child(dir, n));
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "child killed by signal %d", WTERMSIG(status));
    cr_assert_eq(WEXITSTATUS(status), 0, "child step %d failed", WEXITSTATUS(status));
    atomic_store(&test_messages, 0);
    log = open_log(dir, SINEW_LOG_SYNC_ALWAYS, 0);
    sinew_log_stat st;
    sinew_log_stat_get(log, &st);
    cr_assert_eq(st.truncated_bytes, 0); /* the half-written record was already gone */
    cr_assert_eq(check_all(log, 0, 1, 0, 100), n + 1);
    cr_assert_eq(sinew_log_close(log), 0);
    rm_tree(dir);
}
