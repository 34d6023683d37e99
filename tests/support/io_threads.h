/* The sinew I/O threads of this process ("sinew/io/N"), found in /proc/self/task. */
#ifndef SINEW_TESTS_SUPPORT_IO_THREADS_H
#define SINEW_TESTS_SUPPORT_IO_THREADS_H

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* Stores up to max I/O thread ids in tids; returns how many, or -1 without /proc. */
static inline int
tn_io_threads(pid_t *tids, int max)
{
    DIR *d = opendir("/proc/self/task");
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *de;
    while (n < max && (de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        char path[300], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", de->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue; /* the thread just exited */
        bool io = fgets(comm, sizeof comm, f) != NULL;
        io = io && strncmp(comm, "sinew/io/", 9) == 0;
        fclose(f);
        if (io)
            tids[n++] = (pid_t) atoi(de->d_name);
    }
    closedir(d);
    return n;
}

#endif
