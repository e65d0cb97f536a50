/*
 * proc_blob.h — the varint wire helpers shared by the state blobs (partner and deal).
 * Internal to processors/: the formats themselves are documented with their encoders.
 *
 * Unsigned values are LEB128 varints, signed values zigzag varints, strings a varint
 * length and the bytes (no NUL). A writer or reader that fails stays failed, so callers
 * check once at the end instead of after every field.
 */
#ifndef PROC_BLOB_H
#define PROC_BLOB_H

#include <stddef.h>
#include <stdint.h>

/* Grows *arr to hold at least `need` items of `size` bytes (doubling).
 * @returns 0, or -1 on ENOMEM with *arr and *cap unchanged. */
int proc_reserve(void **arr, int *cap, int need, size_t size);

typedef struct {
    uint8_t *buf;                    /* malloc'd; the caller frees it */
    size_t len, cap;
    int failed;                      /* ENOMEM happened */
} proc_blob_writer;

void proc_blob_put_byte(proc_blob_writer *w, uint8_t b);
void proc_blob_put_u64(proc_blob_writer *w, uint64_t v);
void proc_blob_put_i64(proc_blob_writer *w, int64_t v);
void proc_blob_put_str(proc_blob_writer *w, const char *s);

typedef struct {
    const uint8_t *p, *end;
    int failed;                      /* truncated or malformed input */
} proc_blob_reader;

uint64_t proc_blob_get_u64(proc_blob_reader *r);
int64_t proc_blob_get_i64(proc_blob_reader *r);
/* Reads a string into dst; one that does not fit in cap (with its NUL) fails. */
void proc_blob_get_str(proc_blob_reader *r, char *dst, size_t cap);
/* Reads an item count and makes room for `have` + count items in *arr. Fails on counts
 * larger than the rest of the input could hold (every item takes at least one byte), so a
 * corrupt count cannot make it allocate gigabytes. @returns the count (0 when failed). */
int proc_blob_get_count(proc_blob_reader *r, void **arr, int *cap, int have, size_t size);

#endif
