/* CRC-32C (Castagnoli polynomial, reflected 0x82F63B78), the checksum of every record
 * and file header of the log. Uses the SSE 4.2 crc32 instruction when the CPU has it
 * and a slicing-by-8 table otherwise; both give identical results.
 *
 * The crc32 instruction takes three cycles but can start one per cycle, so the hardware
 * path runs three streams over three adjacent blocks and joins them: the CRC register
 * is linear, and crc(A || B) = zeros(crc(A), |B|) ^ crc_from_0(B), where zeros()
 * advances a register over |B| zero bytes, one table lookup per byte of the register
 * for each block length used (the technique of Mark Adler's crc32c.c). Reads check a
 * CRC over every byte they return, so this sets their speed. */
#include "log/internal.h"

#include <string.h>

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

/* Block lengths of the three-stream path, longest first, and for each the table that
 * advances a register over that many zero bytes. */
#define NLEVELS 3
static const size_t level_len[NLEVELS] = {4096, 256, 32};
static uint32_t zeros_table[NLEVELS][4][256];

/* Advances crc over len zero bytes, a byte at a time: for building tables only. */
static uint32_t
zeros_slow(uint32_t crc, size_t len)
{
    while (len--)
        crc = (crc >> 8) ^ table[0][crc & 0xff];
    return crc;
}

static void
table_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
        table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++)
        for (int k = 1; k < 8; k++)
            table[k][n] = (table[k - 1][n] >> 8) ^ table[0][table[k - 1][n] & 0xff];
    for (int l = 0; l < NLEVELS; l++) {
        uint32_t bit[32]; /* each register bit advanced alone; the rest is linear */
        for (int i = 0; i < 32; i++)
            bit[i] = zeros_slow(1u << i, level_len[l]);
        for (int k = 0; k < 4; k++)
            for (uint32_t n = 0; n < 256; n++) {
                uint32_t v = 0;
                for (int i = 0; i < 8; i++)
                    if (n >> i & 1)
                        v ^= bit[8 * k + i];
                zeros_table[l][k][n] = v;
            }
    }
}

static uint32_t
zeros(int level, uint32_t crc)
{
    const uint32_t(*t)[256] = zeros_table[level];
    return t[0][crc & 0xff] ^ t[1][(crc >> 8) & 0xff] ^ t[2][(crc >> 16) & 0xff] ^
           t[3][crc >> 24];
}

static uint32_t
crc_soft(uint32_t crc, const uint8_t *p, size_t len)
{
    pthread_once(&table_once, table_init);
    while (len >= 8) {
        uint64_t w = (uint64_t)sn_log_get32(p) | (uint64_t)sn_log_get32(p + 4) << 32;
        w ^= crc;
        crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^
              table[5][(w >> 16) & 0xff] ^ table[4][(w >> 24) & 0xff] ^
              table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
              table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2"))) static uint32_t
crc_hw(uint32_t crc, const uint8_t *p, size_t len)
{
    uint64_t c = crc;
    if (len >= 3 * level_len[NLEVELS - 1])
        pthread_once(&table_once, table_init);
    for (int l = 0; l < NLEVELS; l++) {
        size_t n = level_len[l];
        while (len >= 3 * n) {
            uint64_t c1 = 0, c2 = 0;
            for (size_t i = 0; i < n; i += 8) {
                uint64_t w0, w1, w2;
                memcpy(&w0, p + i, 8);
                memcpy(&w1, p + n + i, 8);
                memcpy(&w2, p + 2 * n + i, 8);
                c = __builtin_ia32_crc32di(c, w0);
                c1 = __builtin_ia32_crc32di(c1, w1);
                c2 = __builtin_ia32_crc32di(c2, w2);
            }
            c = zeros(l, zeros(l, (uint32_t)c) ^ (uint32_t)c1) ^ (uint32_t)c2;
            p += 3 * n;
            len -= 3 * n;
        }
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        len -= 8;
    }
    crc = (uint32_t)c;
    while (len--)
        crc = __builtin_ia32_crc32qi(crc, *p++);
    return crc;
}

static bool
have_hw(void)
{
    static atomic_int have = -1; /* every thread that races here computes the same */
    int h = atomic_load_explicit(&have, memory_order_relaxed);
    if (h < 0) {
        __builtin_cpu_init();
        h = __builtin_cpu_supports("sse4.2") ? 1 : 0;
        atomic_store_explicit(&have, h, memory_order_relaxed);
    }
    return h;
}
#endif

uint32_t
sn_log_crc32c(uint32_t crc, const void *data, size_t len)
{
    crc = ~crc;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (have_hw())
        return ~crc_hw(crc, data, len);
#endif
    return ~crc_soft(crc, data, len);
}
