/* libFuzzer target for the log's recovery path (src/log/recover.c, index.c, offsets.c,
 * segment.c): the files of a log directory are written from the input, then the log is
 * opened, read from end to end, appended to, closed and opened again. Whatever the
 * files hold, open either fails with a documented error for a directory that is no
 * log (SINEW_LOG_ENOTLOG, SINEW_LOG_EVERSION, EBADMSG for overlapping segments, ENOENT
 * for an empty one) or
 * gives a log whose reads return dense, consistent offsets, which takes an append that
 * reads back intact and survives a close and reopen.
 *
 * Input: byte 0 = options: bit 0 leaves a CLEAN marker (trusted open), bits 1-2 pick
 * index_interval (64 << n), bit 3 writes no META, bit 4 makes every read map the
 * segment (the path of large reads) instead of using pread. Then chunks, each
 *   u8 kind, u8 base selector, u16 length (little-endian), length bytes
 * kind & 7 says what the bytes become (base = selector * 8, or 2^32 * selector when
 * kind & 0x80; a file written twice keeps the last):
 *   0  <base>.seg: a valid file header, then the bytes as they are
 *   1  <base>.seg: a valid file header, then records built from the bytes, each
 *      u8 flags, u8 payload length, payload: flags & 1 breaks the CRC, flags & 2 adds
 *      1 + the next u32 (or flags >> 2) to the offset, flags & 0x80 adds a second frame
 *   2  <base>.idx: a valid file header, then the bytes as they are
 *   3  <base>.idx: a valid file header, then entries from 16-byte groups (rel, pos, ts)
 *      with valid CRCs
 *   4  consumers: the bytes, then their CRC-32C (valid unless the selector is odd)
 *   5  <base>.seg with the bytes as they are, header included
 *   6  META: the bytes as they are
 *   7  <base>.idx with the bytes as they are
 * The files go to a directory under a per-process temporary directory, removed after
 * each input: in /tmp, or in $SINEW_FUZZ_LOG_TMP (a tmpfs makes the log's fsyncs free:
 * run-fuzz.sh uses /dev/shm when it exists). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "log/internal.h"
#include "sinew_log.h"

#define MAX_READS 4096

static char top[64];
static char dir[96];

static void
remove_all(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char path[400];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static void
cleanup(void)
{
    remove_all();
    rmdir(top);
}

static void
put_file(const char *name, const void *a, size_t alen, const void *b, size_t blen)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(alen == 0 || write(fd, a, alen) == (ssize_t)alen);
    FUZZ_CHECK(blen == 0 || write(fd, b, blen) == (ssize_t)blen);
    close(fd);
}

/* Records built from spec (kind 1), with the offsets and CRCs it asks for. */
static size_t
build_records(uint64_t base, const uint8_t *p, size_t n, uint8_t *out, size_t cap)
{
    size_t at = 0, i = 0;
    uint64_t off = base;
    while (i + 2 <= n) {
        uint8_t flags = p[i], len = p[i + 1];
        i += 2;
        if (flags & 2) {
            uint64_t jump = flags >> 2;
            if (i + 4 <= n && (flags & 0x40)) {
                jump = sn_log_get32(p + i);
                i += 4;
            }
            off += 1 + jump;
        }
        if (len > n - i)
            len = (uint8_t)(n - i);
        sinew_log_frame f[2] = {{p + i, len}, {p + i, (flags & 0x80) ? len / 2 : 0}};
        sinew_log_entry e = {.timestamp = (int64_t)off * 3,
                             .frames = f,
                             .nframes = (flags & 0x80) ? 2 : 1};
        size_t total = sn_log_record_header_size(e.nframes) + len + f[1].size;
        if (at + total > cap)
            break;
        int64_t rl = sn_log_record_encode(out + at, off, &e, 1u << 20);
        FUZZ_CHECK(rl == (int64_t)total);
        size_t h = sn_log_record_header_size(e.nframes);
        memcpy(out + at + h, p + i, len);
        memcpy(out + at + h + len, p + i, f[1].size);
        if (flags & 1)
            out[at] ^= 0x55;
        at += total;
        i += len;
        off++;
    }
    return at;
}

/* Index entries with valid CRCs from 16-byte groups (kind 3). */
static size_t
build_index(const uint8_t *p, size_t n, uint8_t *out, size_t cap)
{
    size_t at = 0;
    for (size_t i = 0; i + 16 <= n && at + SN_LOG_INDEX_ENTRY <= cap; i += 16) {
        memcpy(out + at, p + i, 16);
        sn_log_put32(out + at + 16, sn_log_crc32c(0, out + at, 16));
        at += SN_LOG_INDEX_ENTRY;
    }
    return at;
}

static void
write_files(const uint8_t *data, size_t size)
{
    static uint8_t buf[1 << 17];
    uint8_t hdr[SN_LOG_FILE_HDR];
    char name[32];
    size_t i = 1;
    while (i + 4 <= size) {
        uint8_t kind = data[i], sel = data[i + 1];
        size_t len = data[i + 2] | (size_t)data[i + 3] << 8;
        i += 4;
        if (len > size - i)
            len = size - i;
        const uint8_t *p = data + i;
        i += len;
        uint64_t base = (kind & 0x80) ? (uint64_t)sel << 32 : (uint64_t)sel * 8;
        switch (kind & 7) {
        case 0:
        case 1:
            sn_log_filehdr_encode(hdr, "SNLOGSEG", base);
            sn_log_segment_name(name, base);
            if ((kind & 7) == 0) {
                put_file(name, hdr, sizeof hdr, p, len);
            } else {
                size_t n = build_records(base, p, len, buf, sizeof buf);
                put_file(name, hdr, sizeof hdr, buf, n);
            }
            break;
        case 2:
        case 3:
            sn_log_filehdr_encode(hdr, "SNLOGIDX", base);
            sn_log_index_name(name, base);
            if ((kind & 7) == 2) {
                put_file(name, hdr, sizeof hdr, p, len);
            } else {
                size_t n = build_index(p, len, buf, sizeof buf);
                put_file(name, hdr, sizeof hdr, buf, n);
            }
            break;
        case 4: {
            uint8_t crc[4];
            sn_log_put32(crc, sn_log_crc32c(0, p, len) ^ (sel & 1));
            memcpy(buf, p, len);
            memcpy(buf + len, crc, 4);
            put_file("consumers", buf, len + 4, NULL, 0);
            break;
        }
        case 5:
            sn_log_segment_name(name, base);
            put_file(name, p, len, NULL, 0);
            break;
        case 6:
            put_file("META", p, len, NULL, 0);
            break;
        case 7:
            sn_log_index_name(name, base);
            put_file(name, p, len, NULL, 0);
            break;
        }
    }
}

static void
quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static sinew_log *
open_log(const sinew_log_options *o)
{
    sinew_log *log = sinew_log_open(dir, o);
    if (!log)
        FUZZ_CHECK(errno == SINEW_LOG_ENOTLOG || errno == SINEW_LOG_EVERSION ||
                   errno == EBADMSG || errno == ENOENT);
    return log;
}

/* Reads every offset from earliest to next; returns how many records were returned. */
static uint64_t
read_all(sinew_log *log, sinew_log_batch *b)
{
    uint64_t off = sinew_log_earliest(log), end = sinew_log_next(log), got = 0;
    FUZZ_CHECK(off <= end);
    for (int r = 0; r < MAX_READS && off < end; r++) {
        int rc = sinew_log_read(log, off, 1 + (size_t)(r % 7), 1 << 16, b);
        uint64_t next = sinew_log_batch_next(b);
        if (rc < 0) {
            FUZZ_CHECK(errno == EBADMSG); /* damaged offsets, skipped */
            FUZZ_CHECK(next > off && next <= end);
            off = next;
            continue;
        }
        FUZZ_CHECK(rc > 0);
        for (int k = 0; k < rc; k++) {
            const sinew_log_record *rec = sinew_log_batch_get(b, (size_t)k);
            FUZZ_CHECK(rec && rec->offset == off + (uint64_t)k && rec->nframes >= 1);
        }
        off += (uint64_t)rc;
        got += (uint64_t)rc;
        FUZZ_CHECK(next == off);
    }
    return got;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!top[0]) {
        const char *tmp = getenv("SINEW_FUZZ_LOG_TMP");
        snprintf(top, sizeof top, "%s/sinew-fuzz-log-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        FUZZ_CHECK(mkdtemp(top) != NULL);
        snprintf(dir, sizeof dir, "%s/log", top);
        atexit(cleanup);
    }
    if (size < 1)
        return 0;
    FUZZ_CHECK(mkdir(dir, 0755) == 0);
    uint8_t opt = data[0];
    if (!(opt & 8)) {
        uint8_t meta[16];
        memcpy(meta, "SINEWLOG", 8);
        sn_log_put32(meta + 8, SN_LOG_VERSION);
        sn_log_put32(meta + 12, sn_log_crc32c(0, meta, 12));
        put_file("META", meta, sizeof meta, NULL, 0);
    }
    write_files(data, size);
    if (opt & 1)
        put_file("CLEAN", NULL, 0, NULL, 0);

    sn_log_read_map_min = (opt & 16) ? 0 : 256u << 10;
    sinew_log_options o;
    sinew_log_options_init(&o);
    o.durability = SINEW_LOG_SYNC_OS;
    o.segment_bytes = 1024;
    o.index_interval = 64u << ((opt >> 1) & 3);
    o.max_record_bytes = 1u << 20;
    o.message_fn = quiet;
    sinew_log *log = open_log(&o);
    if (log) {
        sinew_log_batch *b = sinew_log_batch_new();
        FUZZ_CHECK(b != NULL);
        read_all(log, b);
        uint64_t ts_off;
        FUZZ_CHECK(sinew_log_seek_time(log, 30, &ts_off) == 0 || errno == EBADMSG);
        uint64_t pos;
        sinew_log_fetch(log, "c", &pos);
        /* The log takes an append at its end and gives it back intact. */
        static const char msg[] = "fuzz";
        sinew_log_frame f = {msg, sizeof msg};
        sinew_log_entry e = {.timestamp = 5, .frames = &f, .nframes = 1};
        uint64_t off, next = sinew_log_next(log);
        FUZZ_CHECK(sinew_log_append(log, &e, 0, &off) == 0);
        FUZZ_CHECK(off == next && sinew_log_next(log) == next + 1);
        FUZZ_CHECK(sinew_log_read(log, off, 1, 1 << 16, b) == 1);
        const sinew_log_record *r = sinew_log_batch_get(b, 0);
        FUZZ_CHECK(r->nframes == 1 && r->frames[0].size == sizeof msg &&
                   memcmp(r->frames[0].data, msg, sizeof msg) == 0);
        FUZZ_CHECK(sinew_log_close(log) == 0);
        /* A clean reopen finds the same end and the appended record. */
        log = sinew_log_open(dir, &o);
        FUZZ_CHECK(log != NULL);
        FUZZ_CHECK(sinew_log_next(log) == next + 1);
        FUZZ_CHECK(sinew_log_read(log, off, 1, 1 << 16, b) == 1);
        read_all(log, b);
        FUZZ_CHECK(sinew_log_close(log) == 0);
        sinew_log_batch_free(b);
    }
    remove_all();
    return 0;
}
