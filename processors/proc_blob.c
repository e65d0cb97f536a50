#include "proc_blob.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

int proc_reserve(void **arr, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return 0;
    int n = *cap ? *cap : 2;                 /* most partners hold one or two of a kind */
    while (n < need) {
        if (n > INT_MAX / 2)
            return -1;
        n *= 2;
    }
    void *p = realloc(*arr, (size_t)n * size);
    if (p == NULL)
        return -1;
    *arr = p;
    *cap = n;
    return 0;
}

void proc_blob_put_byte(proc_blob_writer *w, uint8_t b)
{
    if (w->failed)
        return;
    if (w->len == w->cap) {
        size_t n = w->cap ? w->cap * 2 : 256;
        uint8_t *p = realloc(w->buf, n);
        if (p == NULL) {
            w->failed = 1;
            return;
        }
        w->buf = p;
        w->cap = n;
    }
    w->buf[w->len++] = b;
}

void proc_blob_put_u64(proc_blob_writer *w, uint64_t v)
{
    while (v >= 0x80) {
        proc_blob_put_byte(w, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    proc_blob_put_byte(w, (uint8_t)v);
}

void proc_blob_put_i64(proc_blob_writer *w, int64_t v)
{
    proc_blob_put_u64(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void proc_blob_put_str(proc_blob_writer *w, const char *s)
{
    size_t n = strlen(s);
    proc_blob_put_u64(w, n);
    for (size_t i = 0; i < n; i++)
        proc_blob_put_byte(w, (uint8_t)s[i]);
}

uint64_t proc_blob_get_u64(proc_blob_reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->failed || r->p >= r->end) {
            r->failed = 1;
            return 0;
        }
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->failed = 1;
    return 0;
}

int64_t proc_blob_get_i64(proc_blob_reader *r)
{
    uint64_t u = proc_blob_get_u64(r);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

void proc_blob_get_str(proc_blob_reader *r, char *dst, size_t cap)
{
    uint64_t n = proc_blob_get_u64(r);
    if (r->failed || n >= cap || n > (uint64_t)(r->end - r->p)) {
        r->failed = 1;
        dst[0] = '\0';
        return;
    }
    memcpy(dst, r->p, n);
    dst[n] = '\0';
    r->p += n;
}

int proc_blob_get_count(proc_blob_reader *r, void **arr, int *cap, int have, size_t size)
{
    uint64_t n = proc_blob_get_u64(r);
    if (r->failed || n > (uint64_t)(r->end - r->p) || n > (uint64_t)(INT_MAX - have) ||
        proc_reserve(arr, cap, have + (int)n, size)) {
        r->failed = 1;
        return 0;
    }
    return (int)n;
}
