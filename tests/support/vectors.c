/* Loader for the golden ZMTP captures (tests/vectors/ (*.hex files)); a C port of load_hex() from
 * the capture README. */
#include "support/vectors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SN_VECTORS_DIR
#define SN_VECTORS_DIR "tests/vectors"
#endif

static int
vectors_nibble(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t
sn_test_hex(const char *hex, uint8_t **out)
{
    size_t cap = strlen(hex) / 2 + 1, n = 0;
    uint8_t *buf = malloc(cap);
    int hi = -1;
    for (const char *p = hex; buf && *p; p++) {
        int v = vectors_nibble((unsigned char)*p);
        if (v < 0)
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            buf[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    *out = buf;
    return n;
}

int
sn_test_vectors_load(const char *name, sn_test_vectors *v)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", SN_VECTORS_DIR, name);
    memset(v, 0, sizeof *v);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t ll;
    int have_head = 0;
    sn_test_segment cur;
    memset(&cur, 0, sizeof cur);
    while ((ll = getline(&line, &lcap, f)) >= 0) {
        while (ll > 0 && (line[ll - 1] == '\n' || line[ll - 1] == '\r'))
            line[--ll] = '\0';
        const char *suffix = " bytes)";
        size_t sl = strlen(suffix);
        if (ll > 2 && strncmp(line, "# ", 2) == 0 && (size_t)ll > sl &&
            strcmp(line + ll - sl, suffix) == 0) {
            memset(&cur, 0, sizeof cur);
            const char *p = line + 2;
            size_t dl = strcspn(p, " ");
            if (dl >= sizeof cur.dir)
                goto fail;
            memcpy(cur.dir, p, dl);
            p += dl;
            while (*p == ' ')
                p++;
            const char *open = strrchr(p, '(');
            if (open == NULL)
                goto fail;
            size_t lab = (size_t)(open - p);
            while (lab > 0 && p[lab - 1] == ' ')
                lab--;
            if (lab >= sizeof cur.label)
                lab = sizeof cur.label - 1;
            memcpy(cur.label, p, lab);
            cur.len = strtoul(open + 1, NULL, 10);
            have_head = 1;
        } else if (have_head && line[0] != '#') {
            uint8_t *data;
            size_t n = sn_test_hex(line, &data);
            if (data == NULL || n != cur.len) {
                free(data);
                goto fail;
            }
            cur.data = data;
            sn_test_segment *ns = realloc(v->seg, (v->n + 1) * sizeof *ns);
            if (ns == NULL) {
                free(data);
                goto fail;
            }
            v->seg = ns;
            v->seg[v->n++] = cur;
            have_head = 0;
        }
    }
    free(line);
    fclose(f);
    return 0;
fail:
    free(line);
    fclose(f);
    sn_test_vectors_free(v);
    return -1;
}

void
sn_test_vectors_free(sn_test_vectors *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->seg[i].data);
    free(v->seg);
    v->seg = NULL;
    v->n = 0;
}

const sn_test_segment *
sn_test_vectors_nth(const sn_test_vectors *v, const char *dir, size_t index)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->seg[i].dir, dir) == 0 && index-- == 0)
            return &v->seg[i];
    return NULL;
}

const sn_test_segment *
sn_test_vectors_find(const sn_test_vectors *v, const char *dir, const char *prefix)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->seg[i].dir, dir) == 0 &&
            strncmp(v->seg[i].label, prefix, strlen(prefix)) == 0)
            return &v->seg[i];
    return NULL;
}

size_t
sn_test_vectors_concat(const sn_test_vectors *v, const char *dir, size_t from, size_t to,
                       uint8_t **out)
{
    size_t total = 0, k = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->seg[i].dir, dir) != 0)
            continue;
        if (k >= from && k < to)
            total += v->seg[i].len;
        k++;
    }
    uint8_t *buf = malloc(total + 1);
    size_t at = 0;
    k = 0;
    for (size_t i = 0; buf && i < v->n; i++) {
        if (strcmp(v->seg[i].dir, dir) != 0)
            continue;
        if (k >= from && k < to) {
            memcpy(buf + at, v->seg[i].data, v->seg[i].len);
            at += v->seg[i].len;
        }
        k++;
    }
    *out = buf;
    return total;
}
