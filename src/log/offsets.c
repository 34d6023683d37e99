/* Named consumer positions: one offset per consumer name, kept in the file "consumers"
 * that every commit replaces atomically (temp file, fsync, rename, directory fsync), so
 * a crash leaves either the old or the new table, never a torn one:
 *
 *     0  magic[8]   "SNLOGCP1"
 *     8  u32 count
 *    12  count times: u16 name_len, name bytes (1..255, no NUL), u64 offset
 *        u32 crc    CRC-32C of everything before it
 *
 * Rewriting the whole table is cheap for the handful of consumers a log has. */
#include "log/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FILE_NAME "consumers"

int
sn_log_offsets_load(sn_log_offsets *o, int dirfd)
{
    *o = (sn_log_offsets){.dirfd = dirfd};
    pthread_mutex_init(&o->mu, NULL);
    uint8_t *buf;
    size_t len;
    int rc = sn_log_io_read_file(dirfd, FILE_NAME, &buf, &len);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    rc = -EBADMSG;
    if (len < 16 || memcmp(buf, "SNLOGCP1", 8) != 0 ||
        sn_log_crc32c(0, buf, len - 4) != sn_log_get32(buf + len - 4))
        goto out;
    uint32_t count = sn_log_get32(buf + 8);
    size_t pos = 12;
    if (count > (len - 16) / 11)
        goto out;
    o->v = calloc(count ? count : 1, sizeof *o->v);
    if (!o->v) {
        rc = -ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < count; i++) {
        if (pos + 2 > len - 4)
            goto out;
        size_t nl = buf[pos] | (size_t)buf[pos + 1] << 8;
        pos += 2;
        if (nl == 0 || pos + nl + 8 > len - 4 || memchr(buf + pos, 0, nl))
            goto out;
        if (!(o->v[i].name = strndup((const char *)buf + pos, nl))) {
            rc = -ENOMEM;
            goto out;
        }
        o->n++;
        o->v[i].offset = sn_log_get64(buf + pos + nl);
        pos += nl + 8;
    }
    rc = pos == len - 4 ? 0 : -EBADMSG;
out:
    free(buf);
    if (rc < 0)
        sn_log_offsets_free(o);
    return rc;
}

/* Writes the whole table. Caller holds o->mu. */
static int
store(sn_log_offsets *o)
{
    size_t len = 16;
    for (size_t i = 0; i < o->n; i++)
        len += 10 + strlen(o->v[i].name);
    uint8_t *buf = malloc(len), *p = buf;
    if (!buf)
        return -ENOMEM;
    memcpy(p, "SNLOGCP1", 8);
    sn_log_put32(p + 8, (uint32_t)o->n);
    p += 12;
    for (size_t i = 0; i < o->n; i++) {
        size_t nl = strlen(o->v[i].name);
        p[0] = (uint8_t)nl;
        p[1] = (uint8_t)(nl >> 8);
        memcpy(p + 2, o->v[i].name, nl);
        sn_log_put64(p + 2 + nl, o->v[i].offset);
        p += 10 + nl;
    }
    sn_log_put32(p, sn_log_crc32c(0, buf, len - 4));
    int rc = sn_log_io_write_atomic(o->dirfd, FILE_NAME, buf, len);
    free(buf);
    return rc;
}

static sn_log_position *
find(sn_log_offsets *o, const char *name)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->v[i].name, name) == 0)
            return &o->v[i];
    return NULL;
}

int
sn_log_offsets_commit(sn_log_offsets *o, const char *name, uint64_t offset)
{
    size_t nl = strlen(name);
    if (nl == 0 || nl > 255)
        return -EINVAL;
    pthread_mutex_lock(&o->mu);
    int rc = 0;
    sn_log_position *p = find(o, name);
    if (p) {
        uint64_t old = p->offset;
        p->offset = offset;
        if ((rc = store(o)) < 0)
            p->offset = old;
        goto out;
    }
    sn_log_position *v = realloc(o->v, (o->n + 1) * sizeof *v);
    if (!v) {
        rc = -ENOMEM;
        goto out;
    }
    o->v = v;
    if (!(v[o->n].name = strdup(name))) {
        rc = -ENOMEM;
        goto out;
    }
    v[o->n++].offset = offset;
    if ((rc = store(o)) < 0)
        free(v[--o->n].name);
out:
    pthread_mutex_unlock(&o->mu);
    return rc;
}

int
sn_log_offsets_fetch(sn_log_offsets *o, const char *name, uint64_t *offset)
{
    size_t nl = strlen(name);
    if (nl == 0 || nl > 255)
        return -EINVAL;
    pthread_mutex_lock(&o->mu);
    sn_log_position *p = find(o, name);
    if (p)
        *offset = p->offset;
    pthread_mutex_unlock(&o->mu);
    return p ? 0 : -ENOENT;
}

void
sn_log_offsets_free(sn_log_offsets *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->v[i].name);
    free(o->v);
    o->v = NULL;
    o->n = 0;
    pthread_mutex_destroy(&o->mu);
}
