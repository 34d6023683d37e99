/* Unit tests of the pure parts of the log engine: CRC-32C, the record and file header
 * formats, the sparse index searches and the retention choice. */
#include "helpers.h"

#include <errno.h>

#include "log/internal.h"

TestSuite(record, .timeout = 10, .fini = cleanup_dirs);

/* Bit at a time, straight from the definition. */
static uint32_t
crc_reference(const uint8_t *p, size_t len)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}

/* The three-stream path joins blocks of 32, 256 and 4096 bytes: every length around
 * and between those, at every alignment, and split anywhere. */
Test(record, crc32c_matches_reference_at_all_lengths)
{
    size_t cap = 3 * 4096 * 2 + 64;
    uint8_t *buf = malloc(cap);
    for (size_t i = 0; i < cap; i++)
        buf[i] = (uint8_t)(i * 131 + (i >> 7) * 7 + 3);
    for (size_t len = 0; len + 8 <= cap; len += len < 1200 ? 1 : 97)
        for (size_t a = 0; a < 8; a += 3) {
            uint32_t want = crc_reference(buf + a, len);
            cr_assert_eq(sn_log_crc32c(0, buf + a, len), want, "len %zu at %zu", len, a);
            size_t k = len / 3;
            cr_assert_eq(
                sn_log_crc32c(sn_log_crc32c(0, buf + a, k), buf + a + k, len - k), want,
                "len %zu split %zu", len, k);
        }
    free(buf);
}

Test(record, crc32c_known_vectors)
{
    cr_assert_eq(sn_log_crc32c(0, "123456789", 9), 0xE3069283u);
    cr_assert_eq(sn_log_crc32c(0, "", 0), 0u);
    uint8_t zeros[32] = {0};
    cr_assert_eq(sn_log_crc32c(0, zeros, 32), 0x8A9136AAu);
    /* Incremental computation equals one pass, at every split point. */
    const char *s = "The quick brown fox jumps over the lazy dog";
    uint32_t whole = sn_log_crc32c(0, s, strlen(s));
    for (size_t k = 0; k <= strlen(s); k++)
        cr_assert_eq(sn_log_crc32c(sn_log_crc32c(0, s, k), s + k, strlen(s) - k), whole);
}

static size_t
encode(uint8_t *out, const sinew_log_entry *e, uint64_t offset)
{
    size_t h = sn_log_record_header_size(e->nframes);
    int64_t len = sn_log_record_encode(out, offset, e, 1 << 20);
    cr_assert_gt(len, 0);
    memcpy(out + h, e->key, e->key_size);
    size_t at = h + e->key_size;
    for (size_t i = 0; i < e->nframes; i++) {
        memcpy(out + at, e->frames[i].data, e->frames[i].size);
        at += e->frames[i].size;
    }
    cr_assert_eq(at, (size_t)len);
    return at;
}

Test(record, encode_peek_check_views)
{
    sinew_log_frame f[3] = {{"ab", 2}, {"", 0}, {"cdefg", 5}};
    sinew_log_entry e = {
        .timestamp = -42, .key = "k1", .key_size = 2, .frames = f, .nframes = 3};
    uint8_t buf[256];
    size_t len = encode(buf, &e, 77);
    cr_assert_eq(len, 32 + 12 + 2 + 7);
    sn_log_rec_view v;
    cr_assert_eq(sn_log_record_peek(buf, 31, 1 << 20, &v), -EAGAIN);
    cr_assert_eq(sn_log_record_peek(buf, len, 1 << 20, &v), 0);
    cr_assert_eq(v.offset, 77);
    cr_assert_eq(v.timestamp, -42);
    cr_assert_eq(v.len, len);
    cr_assert_eq(sn_log_record_check(buf, &v), 0);
    sinew_log_frame out[3];
    const void *key;
    sn_log_record_views(buf, &v, out, &key);
    cr_assert(memcmp(key, "k1", 2) == 0);
    cr_assert(out[0].size == 2 && memcmp(out[0].data, "ab", 2) == 0);
    cr_assert(out[1].size == 0);
    cr_assert(out[2].size == 5 && memcmp(out[2].data, "cdefg", 5) == 0);
    /* Every single bit flip is caught by peek or check. */
    for (size_t bit = 0; bit < len * 8; bit++) {
        buf[bit / 8] ^= (uint8_t)(1 << (bit % 8));
        bool bad = sn_log_record_peek(buf, len, 1 << 20, &v) < 0 || v.len > len ||
                   sn_log_record_check(buf, &v) < 0 || v.offset != 77;
        cr_assert(bad, "bit %zu not detected", bit);
        buf[bit / 8] ^= (uint8_t)(1 << (bit % 8));
    }
    cr_assert_eq(sn_log_record_encode(buf, 1, &e, 50), -EMSGSIZE);
}

Test(record, file_header_versions)
{
    uint8_t h[SN_LOG_FILE_HDR];
    uint64_t base;
    sn_log_filehdr_encode(h, "SNLOGSEG", 1234);
    cr_assert_eq(sn_log_filehdr_decode(h, "SNLOGSEG", &base), 0);
    cr_assert_eq(base, 1234);
    cr_assert_eq(sn_log_filehdr_decode(h, "SNLOGIDX", &base), -EBADMSG);
    h[20] ^= 1;
    cr_assert_eq(sn_log_filehdr_decode(h, "SNLOGSEG", &base), -EBADMSG);
    h[20] ^= 1;
    /* An intact header of a newer version is refused, not treated as damage. */
    sn_log_put32(h + 8, SN_LOG_VERSION + 1);
    uint32_t crc = sn_log_crc32c(sn_log_crc32c(0, h, 12), h + 16, 8);
    sn_log_put32(h + 12, crc);
    cr_assert_eq(sn_log_filehdr_decode(h, "SNLOGSEG", &base), -SINEW_LOG_EVERSION);
}

Test(record, index_floor_and_time_floor)
{
    sn_log_index ix = {0};
    cr_assert_null(sn_log_index_floor(&ix, 5));
    cr_assert(sn_log_index_due(&ix, 24, 4096));
    for (uint32_t i = 0; i < 100; i++)
        cr_assert_eq(sn_log_index_push(&ix, i * 10, 24 + i * 5000, 100 + i * 3), 0);
    cr_assert(!sn_log_index_due(&ix, 24 + 99 * 5000 + 4095, 4096));
    cr_assert(sn_log_index_due(&ix, 24 + 99 * 5000 + 4096, 4096));
    cr_assert_eq(sn_log_index_floor(&ix, 0)->rel, 0);
    cr_assert_eq(sn_log_index_floor(&ix, 9)->rel, 0);
    cr_assert_eq(sn_log_index_floor(&ix, 10)->rel, 10);
    cr_assert_eq(sn_log_index_floor(&ix, 999999)->rel, 990);
    cr_assert_null(sn_log_index_time_floor(&ix, 100));
    cr_assert_eq(sn_log_index_time_floor(&ix, 101)->ts, 100);
    cr_assert_eq(sn_log_index_time_floor(&ix, 103)->ts, 100);
    cr_assert_eq(sn_log_index_time_floor(&ix, 104)->ts, 103);
    cr_assert_eq(sn_log_index_time_floor(&ix, 1 << 30)->ts, 100 + 99 * 3);
    sn_log_index_free(&ix);
}

Test(record, retention_pick)
{
    sn_log_segment s[4] = {0};
    sn_log_segment *v[4] = {&s[0], &s[1], &s[2], &s[3]};
    for (int i = 0; i < 4; i++) {
        s[i].size = 100;
        s[i].max_ts = 1000 + i * 100;
    }
    cr_assert_eq(sn_log_retention_pick(v, 4, 0, 0, 5000), 0);
    cr_assert_eq(sn_log_retention_pick(v, 4, 400, 0, 5000), 0);
    cr_assert_eq(sn_log_retention_pick(v, 4, 399, 0, 5000), 1);
    cr_assert_eq(sn_log_retention_pick(v, 4, 150, 0, 5000), 3);
    cr_assert_eq(sn_log_retention_pick(v, 4, 1, 0, 5000), 3);    /* active one stays */
    cr_assert_eq(sn_log_retention_pick(v, 4, 0, 3900, 5000), 1); /* older than 1100 */
    cr_assert_eq(sn_log_retention_pick(v, 4, 0, 3801, 5000), 2);
    cr_assert_eq(sn_log_retention_pick(v, 4, 0, 1, 5000), 3);
    s[0].max_ts = INT64_MIN; /* nothing valid in it: expired */
    cr_assert_eq(sn_log_retention_pick(v, 4, 0, 100000, 5000), 1);
}
