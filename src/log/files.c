/* The descriptor cache: one bounded pool of open segment files shared by every log of
 * the process, so that a log of thousands of segments, or many logs at once, fit under
 * RLIMIT_NOFILE. A segment's descriptor is opened when a reader or recovery needs it and
 * stays open afterwards, idle, in a least-recently-used list; past the limit (or when an
 * open anywhere in the log engine meets EMFILE) the least recently used idle one is
 * closed. A pinned descriptor (being read) or a held one (the active segment of a log,
 * or a segment unlinked by retention while a reader may still want it) is never closed
 * here. Descriptor budget per process: 3 per open log (directory, LOCK, active
 * segment), up to the limit of idle sealed segments, one per concurrent reader, and one
 * or two briefly while a log opens, rolls or closes. */
#include "log/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#define DEFAULT_MAX 128

/* The LRU list runs from head (least recently used) to tail; every field a segment
 * keeps for the cache (fd, pins, held, lru_prev, lru_next, in_lru) is guarded by mu. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static sn_log_segment *head, *tail;
static size_t nidle, max_idle = DEFAULT_MAX;

static void
lru_remove(sn_log_segment *seg)
{
    if (!seg->in_lru)
        return;
    if (seg->lru_prev)
        seg->lru_prev->lru_next = seg->lru_next;
    else
        head = seg->lru_next;
    if (seg->lru_next)
        seg->lru_next->lru_prev = seg->lru_prev;
    else
        tail = seg->lru_prev;
    seg->lru_prev = seg->lru_next = NULL;
    seg->in_lru = false;
    nidle--;
}

/* Closes the least recently used idle descriptor. Holds mu. */
static bool
shed_locked(void)
{
    sn_log_segment *victim = head;
    if (!victim)
        return false;
    lru_remove(victim);
    close(victim->fd);
    victim->fd = -1;
    return true;
}

/* Makes seg's open descriptor idle (most recently used) if nobody uses it. Holds mu. */
static void
settle_locked(sn_log_segment *seg)
{
    if (seg->fd < 0 || seg->pins > 0 || seg->held || seg->in_lru)
        return;
    seg->lru_prev = tail;
    seg->lru_next = NULL;
    if (tail)
        tail->lru_next = seg;
    else
        head = seg;
    tail = seg;
    seg->in_lru = true;
    nidle++;
    while (nidle > max_idle)
        shed_locked();
}

bool
sn_log_file_shed(void)
{
    pthread_mutex_lock(&mu);
    bool done = shed_locked();
    pthread_mutex_unlock(&mu);
    return done;
}

int
sn_log_file_openat(int dirfd, const char *name, int flags, mode_t mode)
{
    int fd;
    while ((fd = openat(dirfd, name, flags | O_CLOEXEC, mode)) < 0) {
        if (errno == EINTR)
            continue;
        int err = errno;
        if ((err != EMFILE && err != ENFILE) || !sn_log_file_shed())
            return -err;
    }
    return fd;
}

int
sn_log_file_dup(int fd)
{
    int d;
    while ((d = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        int err = errno;
        if ((err != EMFILE && err != ENFILE) || !sn_log_file_shed())
            return -err;
    }
    return d;
}

void
sn_log_file_adopt(sn_log_segment *seg, int fd, bool hold)
{
    pthread_mutex_lock(&mu);
    seg->fd = fd;
    seg->held = hold;
    seg->pins = hold ? 1 : 0;
    settle_locked(seg);
    pthread_mutex_unlock(&mu);
}

int
sn_log_file_get(sn_log_segment *seg)
{
    pthread_mutex_lock(&mu);
    if (seg->fd >= 0) {
        lru_remove(seg);
        seg->pins++;
        int fd = seg->fd;
        pthread_mutex_unlock(&mu);
        return fd;
    }
    pthread_mutex_unlock(&mu);
    /* Opened outside mu: an open may block on a slow disk. Two threads that race here
     * both open; the loser closes its copy. */
    char name[32];
    sn_log_segment_name(name, seg->base);
    int fd = sn_log_file_openat(seg->dirfd, name, O_RDWR, 0);
    if (fd < 0)
        return fd;
    pthread_mutex_lock(&mu);
    if (seg->fd >= 0) {
        close(fd);
        lru_remove(seg);
    } else {
        seg->fd = fd;
    }
    seg->pins++;
    fd = seg->fd;
    pthread_mutex_unlock(&mu);
    return fd;
}

void
sn_log_file_put(sn_log_segment *seg)
{
    pthread_mutex_lock(&mu);
    seg->pins--;
    settle_locked(seg);
    pthread_mutex_unlock(&mu);
}

int
sn_log_file_hold(sn_log_segment *seg, bool hold)
{
    if (hold) {
        int fd = sn_log_file_get(seg);
        if (fd < 0)
            return fd;
    }
    pthread_mutex_lock(&mu);
    if (seg->held)
        seg->pins--; /* the hold's pin: released, or replaced by the one just taken */
    seg->held = hold;
    settle_locked(seg);
    pthread_mutex_unlock(&mu);
    return 0;
}

void
sn_log_file_forget(sn_log_segment *seg)
{
    pthread_mutex_lock(&mu);
    lru_remove(seg);
    if (seg->fd >= 0)
        close(seg->fd);
    seg->fd = -1;
    pthread_mutex_unlock(&mu);
}

int
sn_log_file_limit(size_t max)
{
    if (max == 0)
        return -EINVAL;
    pthread_mutex_lock(&mu);
    max_idle = max;
    while (nidle > max_idle)
        shed_locked();
    pthread_mutex_unlock(&mu);
    return 0;
}

size_t
sn_log_file_idle(void)
{
    pthread_mutex_lock(&mu);
    size_t n = nidle;
    pthread_mutex_unlock(&mu);
    return n;
}

int
sinew_log_set_max_files(size_t max)
{
    int rc = sn_log_file_limit(max);
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return 0;
}
