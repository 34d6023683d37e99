/* Whether another thread of this process sleeps in the kernel (a blocking call's wait),
 * read from /proc: lets a test act once a thread is really blocked, without sleeping. */
#ifndef SINEW_TESTS_SUPPORT_THREAD_STATE_H
#define SINEW_TESTS_SUPPORT_THREAD_STATE_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* True if thread tid (gettid()) of this process is in state S (interruptible sleep). */
static inline bool
tn_thread_sleeps(int tid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *end = strrchr(buf, ')'); /* "tid (comm) S ..." */
    return end != NULL && end[1] == ' ' && end[2] == 'S';
}

#endif
