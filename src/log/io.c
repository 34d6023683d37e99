/* Whole-buffer file I/O for the log: reads and writes that retry on EINTR and on short
 * transfers, directory fsync, and the atomic replacement of small files (temp file,
 * fsync, rename, fsync of the directory) used by the meta and consumer files. */
#include "log/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int64_t
sn_log_io_pread(int fd, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (int64_t)done;
}

int
sn_log_io_pwritev(int fd, struct iovec *iov, int iovcnt, uint64_t off)
{
    while (iovcnt > 0) {
        /* pwrite for a single buffer spares the kernel importing an iovec. */
        ssize_t n = iovcnt == 1 ? pwrite(fd, iov->iov_base, iov->iov_len, (off_t)off)
                                : pwritev(fd, iov, iovcnt < IOV_MAX ? iovcnt : IOV_MAX,
                                          (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        off += (uint64_t)n;
        /* Drop what was written: whole entries, then the head of a partial one. */
        while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

int
sn_log_io_fsync_dir(int dirfd)
{
    return fsync(dirfd) < 0 ? -errno : 0;
}

int
sn_log_io_write_atomic(int dirfd, const char *name, const void *buf, size_t len)
{
    char tmp[300];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", name) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int fd = sn_log_file_openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return fd;
    struct iovec iov = {(void *)buf, len};
    int rc = sn_log_io_pwritev(fd, &iov, 1, 0);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
        rc = -errno;
    if (rc < 0) {
        unlinkat(dirfd, tmp, 0);
        return rc;
    }
    return sn_log_io_fsync_dir(dirfd);
}

int
sn_log_io_read_file(int dirfd, const char *name, uint8_t **buf, size_t *len)
{
    int fd = sn_log_file_openat(dirfd, name, O_RDONLY, 0);
    if (fd < 0)
        return fd;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out;
    }
    *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    if (!*buf) {
        rc = -ENOMEM;
        goto out;
    }
    int64_t n = sn_log_io_pread(fd, *buf, (size_t)st.st_size, 0);
    if (n < 0) {
        free(*buf);
        *buf = NULL;
        rc = (int)n;
        goto out;
    }
    *len = (size_t)n;
out:
    close(fd);
    return rc;
}
