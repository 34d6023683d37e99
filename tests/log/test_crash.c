/* Crash tests: a child process appends and reports every offset it was told is durable
 * (or, under the OS policy, appended) through a pipe; the parent SIGKILLs it at a random
 * moment and reopens the log: every reported record must be there and intact, and
 * nothing after the tail may be garbage. Repeated a bounded number of times per policy,
 * each round continuing the same log. */
#include "helpers.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

TestSuite(crash, .timeout = 60, .fini = cleanup_dirs);

#define SEED 23
#define SMALL 2000
#define ROUNDS 8

static void
child(const char *dir, int durability, int flags, int fd)
{
    sinew_log_options o;
    sinew_log_options_init(&o);
    o.durability = durability;
    o.segment_bytes = 64 << 10; /* rolls happen during the kills too */
    o.message_fn = count_message;
    sinew_log *log = sinew_log_open(dir, &o);
    if (!log)
        _exit(2);
    for (uint64_t i = sinew_log_next(log);; i++) {
        gen_rec g;
        gen_make(&g, SEED, i, 0, SMALL);
        uint64_t off;
        if (sinew_log_append(log, &g.e, flags, &off) < 0 || off != i)
            _exit(3);
        gen_free(&g);
        if (write(fd, &off, sizeof off) != sizeof off)
            _exit(4);
    }
}

static void
kill_loop(int durability, int flags)
{
    char dir[64];
    make_tmp_dir(dir);
    sinew_log_close(open_log(dir, durability, 64 << 10));
    uint64_t reported = 0; /* one past the highest reported offset */
    for (int round = 0; round < ROUNDS; round++) {
        int p[2];
        cr_assert_eq(pipe(p), 0);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
            close(p[0]);
            child(dir, durability, flags, p[1]);
        }
        close(p[1]);
        /* Let it report a random number of records, then kill it mid-flight. */
        uint64_t want = 5 + mix64((uint64_t)round * 7 + (uint64_t)durability) % 150,
                 got = 0;
        bool dead = false;
        for (;;) {
            if (got == want && !dead) {
                kill(pid, SIGKILL);
                dead = true;
            }
            struct pollfd pfd = {p[0], POLLIN, 0};
            cr_assert_eq(poll(&pfd, 1, 20000), 1, "child stalled");
            uint64_t off;
            ssize_t n = read(p[0], &off, sizeof off);
            if (n == 0)
                break; /* the child is gone and everything it reported is read */
            cr_assert_eq(n, (ssize_t)sizeof off);
            cr_assert_eq(off, reported, "offsets must be dense");
            reported = off + 1;
            got++;
        }
        close(p[0]);
        int status;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFSIGNALED(status), "child exited with %d", WEXITSTATUS(status));
        /* Everything reported is there and intact; whatever follows it too. */
        sinew_log *log = open_log(dir, durability, 64 << 10);
        uint64_t next = sinew_log_next(log);
        cr_assert_geq(next, reported, "round %d lost acknowledged records", round);
        cr_assert_leq(next, reported + 1); /* at most the one in flight */
        cr_assert_eq(check_all(log, 0, SEED, 0, SMALL), next);
        sinew_log_stat st;
        sinew_log_stat_get(log, &st);
        cr_assert_eq(st.damaged_records, 0);
        cr_assert_eq(st.durable, next);
        reported = next;
        cr_assert_eq(sinew_log_close(log), 0);
    }
    cr_assert_gt(reported, ROUNDS * 5);
    rm_tree(dir);
}

Test(crash, sync_always)
{
    kill_loop(SINEW_LOG_SYNC_ALWAYS, 0);
}

Test(crash, group_commit_wait_durable)
{
    kill_loop(SINEW_LOG_SYNC_GROUP, SINEW_LOG_WAIT_DURABLE);
}

/* Under the OS policy a process crash (unlike a power loss) loses nothing appended. */
Test(crash, os_policy_process_crash)
{
    kill_loop(SINEW_LOG_SYNC_OS, 0);
}
