/* Damage tests: the last record cut at every byte position, and bits flipped in every
 * region (record header, payload, index file, file header) of sealed and active
 * segments, after a clean close and after a crash. Each log must open, report the
 * damage, keep every record before it intact and never return damaged bytes as data. */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>

#include "log/internal.h"

TestSuite(damage, .timeout = 60, .fini = cleanup_dirs);

#define SEED 11
#define SMALL 60
#define N 40

static void
file_path(char *out, const char *dir, const char *name)
{
    snprintf(out, 300, "%s/%s", dir, name);
}

static uint8_t *
slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0, "%s", path);
    struct stat st;
    fstat(fd, &st);
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    cr_assert_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

static void
spit(const char *path, const uint8_t *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, buf, len), (ssize_t)len);
    close(fd);
}

/* Copies the flat directory src into a fresh temporary directory. */
static void
copy_dir(const char *src, char dst[64])
{
    make_tmp_dir(dst);
    DIR *d = opendir(src);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char a[300], b[300];
        file_path(a, src, de->d_name);
        file_path(b, dst, de->d_name);
        size_t len;
        uint8_t *buf = slurp(a, &len);
        spit(b, buf, len);
        free(buf);
    }
    closedir(d);
}

/* Builds the pristine log: N records over several 4 KiB segments, cleanly closed. */
static void
build(char dir[64])
{
    make_tmp_dir(dir);
    sinew_log *log = open_small_log(dir);
    for (uint64_t i = 0; i < N; i++)
        gen_append(log, SEED, i, 0, SMALL, 0);
    cr_assert_eq(sinew_log_close(log), 0);
}

static void
seg_name(char *out, uint64_t base, const char *ext)
{
    snprintf(out, 64, "%020llu.%s", (unsigned long long)base, ext);
}

/* Byte position and length of record `offset` in the segment file of base `base`. */
static void
locate(const char *dir, uint64_t base, uint64_t offset, size_t *pos, size_t *len)
{
    char name[64], path[300];
    seg_name(name, base, "seg");
    file_path(path, dir, name);
    size_t flen;
    uint8_t *buf = slurp(path, &flen);
    size_t p = 24;
    for (uint64_t o = base; o < offset; o++)
        p += buf[p + 4] | buf[p + 5] << 8 | buf[p + 6] << 16 | (size_t)buf[p + 7] << 24;
    *pos = p;
    *len = buf[p + 4] | buf[p + 5] << 8 | buf[p + 6] << 16 | (size_t)buf[p + 7] << 24;
    cr_assert_leq(p + *len, flen);
    free(buf);
}

/* Bases of the segments of the pristine log. */
static size_t
bases(const char *dir, uint64_t *out)
{
    sinew_log *log = open_small_log(dir);
    sinew_log_stat st;
    sinew_log_stat_get(log, &st);
    cr_assert_eq(sinew_log_close(log), 0);
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;
    while ((de = readdir(d)))
        if (strstr(de->d_name, ".seg"))
            out[n++] = strtoull(de->d_name, NULL, 10);
    closedir(d);
    for (size_t i = 0; i < n; i++) /* sort */
        for (size_t j = i + 1; j < n; j++)
            if (out[j] < out[i]) {
                uint64_t t = out[i];
                out[i] = out[j];
                out[j] = t;
            }
    cr_assert_eq(n, st.segments);
    return n;
}

static void
flip(const char *dir, const char *name, size_t pos, int bit)
{
    char path[300];
    file_path(path, dir, name);
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    uint8_t c;
    cr_assert_eq(pread(fd, &c, 1, (off_t)pos), 1);
    c ^= (uint8_t)(1 << bit);
    cr_assert_eq(pwrite(fd, &c, 1, (off_t)pos), 1);
    close(fd);
}

static void
crash(const char *dir)
{
    char path[300];
    file_path(path, dir, "CLEAN");
    cr_assert_eq(unlink(path), 0);
}

/* Checks a damaged copy: offset k (only) is reported damaged, everything else reads
 * back intact, and the log still takes appends. */
static void
expect_one_damaged(const char *dir, uint64_t k)
{
    atomic_store(&test_messages, 0);
    sinew_log *log = open_small_log(dir);
    cr_assert_eq(sinew_log_next(log), N);
    sinew_log_batch *b = sinew_log_batch_new();
    uint64_t off = 0;
    while (off < N) {
        int rc = sinew_log_read(log, off, 7, 1 << 20, b);
        if (off == k) {
            cr_assert_eq(rc, -1, "damaged record %llu returned", (unsigned long long)k);
            cr_assert_eq(errno, EBADMSG);
            cr_assert_eq(sinew_log_batch_next(b), k + 1);
            off = k + 1;
            continue;
        }
        cr_assert_gt(rc, 0, "read %llu: %s", (unsigned long long)off,
                     sinew_log_strerror(errno));
        for (int i = 0; i < rc; i++) {
            cr_assert_neq(off + (uint64_t)i, k);
            gen_check(sinew_log_batch_get(b, (size_t)i), SEED, off + (uint64_t)i, 0,
                      SMALL);
        }
        off += (uint64_t)rc;
    }
    sinew_log_stat st;
    sinew_log_stat_get(log, &st);
    cr_assert_eq(st.damaged_records, 1);
    cr_assert_geq(atomic_load(&test_messages), 1, "damage not reported");
    gen_append(log, SEED, N, 0, SMALL, 0);
    sinew_log_batch_free(b);
    cr_assert_eq(sinew_log_close(log), 0);
}

Test(damage, last_record_cut_at_every_byte)
{
    char pristine[64];
    build(pristine);
    uint64_t bs[64];
    size_t nb = bases(pristine, bs);
    size_t pos, len;
    locate(pristine, bs[nb - 1], N - 1, &pos, &len);
    char name[64], path[300];
    seg_name(name, bs[nb - 1], "seg");
    for (size_t cut = 0; cut < len; cut++) {
        char dir[64];
        copy_dir(pristine, dir);
        file_path(path, dir, name);
        cr_assert_eq(truncate(path, (off_t)(pos + cut)), 0);
        if (cut % 2)
            crash(dir);
        sinew_log *log = open_small_log(dir);
        sinew_log_stat st;
        sinew_log_stat_get(log, &st);
        cr_assert_eq(st.next, N - 1, "cut at %zu", cut);
        cr_assert_eq(st.truncated_bytes, cut);
        cr_assert_eq(st.damaged_records, 0);
        cr_assert_eq(check_all(log, 0, SEED, 0, SMALL), N - 1);
        gen_append(log, SEED, N - 1, 0, SMALL, 0); /* the tail is writable again */
        cr_assert_eq(sinew_log_close(log), 0);
        log = open_small_log(dir);
        cr_assert_eq(check_all(log, 0, SEED, 0, SMALL), N);
        cr_assert_eq(sinew_log_close(log), 0);
        rm_tree(dir);
    }
    rm_tree(pristine);
}

/* Flips one bit in every byte of the record header of a middle record and in samples
 * of its payload, in the active segment and in a sealed one, clean and crashed. */
Test(damage, bit_flips_in_records)
{
    char pristine[64];
    build(pristine);
    uint64_t bs[64];
    size_t nb = bases(pristine, bs);
    cr_assert_geq(nb, 3);
    struct {
        uint64_t base, k;
    } where[2] = {{bs[1], bs[1] + 2}, {bs[nb - 1], bs[nb - 1] + 1}};
    cr_assert_lt(where[1].k, N - 1); /* not the last record: that one is a torn tail */
    for (int w = 0; w < 2; w++) {
        size_t pos, len;
        locate(pristine, where[w].base, where[w].k, &pos, &len);
        char name[64];
        seg_name(name, where[w].base, "seg");
        for (size_t at = 0; at < len; at += at < 32 + 64 ? 1 : 37) {
            for (int crashed = 0; crashed < 2; crashed++) {
                /* Both read paths: pread, and the mapping large reads use. */
                sn_log_read_map_min = (at + (size_t)crashed) % 2 ? 0 : 256u << 10;
                char dir[64];
                copy_dir(pristine, dir);
                flip(dir, name, pos + at, (int)(at % 8));
                if (crashed)
                    crash(dir);
                expect_one_damaged(dir, where[w].k);
                rm_tree(dir);
            }
        }
    }
    rm_tree(pristine);
}

Test(damage, bit_flip_in_last_record_truncates_it)
{
    char pristine[64];
    build(pristine);
    uint64_t bs[64];
    size_t nb = bases(pristine, bs);
    size_t pos, len;
    locate(pristine, bs[nb - 1], N - 1, &pos, &len);
    char name[64];
    seg_name(name, bs[nb - 1], "seg");
    for (size_t at = 0; at < len; at += 13) {
        char dir[64];
        copy_dir(pristine, dir);
        flip(dir, name, pos + at, 3);
        atomic_store(&test_messages, 0);
        sinew_log *log = open_small_log(dir);
        cr_assert_eq(sinew_log_next(log), N - 1);
        cr_assert_geq(atomic_load(&test_messages), 1);
        cr_assert_eq(check_all(log, 0, SEED, 0, SMALL), N - 1);
        cr_assert_eq(sinew_log_close(log), 0);
        rm_tree(dir);
    }
    rm_tree(pristine);
}

Test(damage, index_files_damaged_or_missing)
{
    char pristine[64];
    build(pristine);
    uint64_t bs[64];
    size_t nb = bases(pristine, bs);
    char name[64], path[300];
    seg_name(name, bs[0], "idx");
    file_path(path, pristine, name);
    size_t ilen;
    free(slurp(path, &ilen));
    cr_assert_gt(ilen, 24 + 20); /* header and several entries */
    /* Every byte of the index of the first segment, one bit each. */
    for (size_t at = 0; at <= ilen; at++) {
        char dir[64];
        copy_dir(pristine, dir);
        file_path(path, dir, name);
        if (at == ilen)
            cr_assert_eq(unlink(path), 0);
        else
            flip(dir, name, at, (int)(at % 8));
        atomic_store(&test_messages, 0);
        sinew_log *log = open_small_log(dir);
        cr_assert_eq(atomic_load(&test_messages), 1, "index damage at %zu not seen", at);
        cr_assert_eq(check_all(log, 0, SEED, 0, SMALL), N);
        uint64_t off;
        cr_assert_eq(sinew_log_seek_time(log, 1000000 + 10 * 5, &off), 0);
        cr_assert_eq(off, 5);
        cr_assert_eq(sinew_log_close(log), 0);
        /* The rebuilt index is written back: the next open finds nothing wrong. */
        atomic_store(&test_messages, 0);
        log = open_small_log(dir);
        cr_assert_eq(atomic_load(&test_messages), 0);
        cr_assert_eq(sinew_log_close(log), 0);
        rm_tree(dir);
    }
    /* Segment file headers: repaired from the file name, records intact. */
    for (size_t s = 0; s < nb; s++) {
        char dir[64];
        copy_dir(pristine, dir);
        seg_name(name, bs[s], "seg");
        flip(dir, name, 5 + s, 1);
        atomic_store(&test_messages, 0);
        sinew_log *log = open_small_log(dir);
        cr_assert_geq(atomic_load(&test_messages), 1);
        cr_assert_eq(check_all(log, 0, SEED, 0, SMALL), N);
        cr_assert_eq(sinew_log_close(log), 0);
        rm_tree(dir);
    }
    rm_tree(pristine);
}

/* A run of zeroed bytes in the middle of the active segment, like pages the kernel never
 * wrote back before a power loss: the records it covers are reported as one damaged
 * range, and the records after it are kept with their offsets. */
Test(damage, zeroed_gap_keeps_later_records)
{
    char dir[64];
    build(dir);
    uint64_t bs[64];
    size_t nb = bases(dir, bs);
    uint64_t first = bs[nb - 1] + 1, last = N - 2; /* keep one record on each side */
    cr_assert_lt(first, last);
    size_t pos, len, end_pos, end_len;
    locate(dir, bs[nb - 1], first, &pos, &len);
    locate(dir, bs[nb - 1], last, &end_pos, &end_len);
    char name[64], path[300];
    seg_name(name, bs[nb - 1], "seg");
    file_path(path, dir, name);
    int fd = open(path, O_WRONLY);
    static const uint8_t zeros[8192];
    cr_assert_eq(pwrite(fd, zeros, end_pos - pos, (off_t)pos), (ssize_t)(end_pos - pos));
    close(fd);
    crash(dir);
    atomic_store(&test_messages, 0);
    sinew_log *log = open_small_log(dir);
    cr_assert_eq(sinew_log_next(log), N);
    sinew_log_stat st;
    sinew_log_stat_get(log, &st);
    cr_assert_eq(st.damaged_records, last - first);
    cr_assert_eq(st.truncated_bytes, 0);
    cr_assert_eq(atomic_load(&test_messages), 1);
    sinew_log_batch *b = sinew_log_batch_new();
    cr_assert_eq(check_range(log, 0, first, SEED, 0, SMALL), first); /* up to the gap */
    for (uint64_t k = first; k < last; k++) {
        cr_assert_eq(sinew_log_read(log, k, 10, 1 << 20, b), -1);
        cr_assert_eq(errno, EBADMSG);
        cr_assert_eq(sinew_log_batch_next(b), last);
    }
    cr_assert_eq(check_all(log, last, SEED, 0, SMALL), N - last);
    sinew_log_batch_free(b);
    cr_assert_eq(sinew_log_close(log), 0);
    rm_tree(dir);
}

/* Appends to a segment file a record with the given offset, its CRC valid or not. */
static void
forge_record(const char *dir, uint64_t base, uint64_t offset, bool good_crc)
{
    uint8_t payload[40];
    memset(payload, 0x5a, sizeof payload);
    sinew_log_frame f = {payload, sizeof payload};
    sinew_log_entry e = {.timestamp = 7, .frames = &f, .nframes = 1};
    uint8_t rec[SN_LOG_REC_FIXED + 4 + sizeof payload];
    cr_assert_eq(sn_log_record_encode(rec, offset, &e, 1 << 20), (int64_t)sizeof rec);
    memcpy(rec + SN_LOG_REC_FIXED + 4, payload, sizeof payload);
    if (!good_crc)
        rec[0] ^= 1;
    char name[64], path[300];
    seg_name(name, base, "seg");
    file_path(path, dir, name);
    int fd = open(path, O_WRONLY | O_APPEND);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, rec, sizeof rec), (ssize_t)sizeof rec);
    close(fd);
}

/* A CRC-valid record whose offset jumps 2^32 or more past the segment's base (after a
 * damaged one, so that recovery looks for a resumption point) cannot be indexed: it is
 * damage like a CRC failure, here a torn tail, and every read stays consistent. */
Test(damage, offset_jump_past_32_bits_is_damage)
{
    static const uint64_t jumps[] = {UINT64_C(1) << 32, (UINT64_C(1) << 32) + 3,
                                     UINT64_C(1) << 40, UINT64_MAX - 1};
    for (size_t j = 0; j < sizeof jumps / sizeof jumps[0]; j++) {
        for (int crashed = 0; crashed < 2; crashed++) {
            char dir[64];
            build(dir);
            uint64_t bs[64];
            size_t nb = bases(dir, bs);
            uint64_t base = bs[nb - 1];
            forge_record(dir, base, N, false);
            uint64_t far = jumps[j] > UINT64_MAX - base ? jumps[j] : base + jumps[j];
            forge_record(dir, base, far, true);
            if (far < UINT64_MAX)
                forge_record(dir, base, far + 1, true);
            if (crashed)
                crash(dir);
            atomic_store(&test_messages, 0);
            sinew_log *log = open_small_log(dir);
            sinew_log_stat st;
            sinew_log_stat_get(log, &st);
            cr_assert_eq(st.next, N, "jump %zu: next %llu", j,
                         (unsigned long long)st.next);
            cr_assert_gt(st.truncated_bytes, 0);
            cr_assert_geq(atomic_load(&test_messages), 1);
            cr_assert_eq(check_all(log, 0, SEED, 0, SMALL), N);
            gen_append(log, SEED, N, 0, SMALL, 0);
            cr_assert_eq(sinew_log_close(log), 0);
            log = open_small_log(dir);
            cr_assert_eq(check_all(log, 0, SEED, 0, SMALL), N + 1);
            cr_assert_eq(sinew_log_close(log), 0);
            rm_tree(dir);
        }
    }
}
