/*
 * proc_text.h — string copies and number formatting for the per-event path. snprintf
 * was a sixth of the worker's CPU in the bench's profile, mostly for "%s" copies and
 * decimal numbers; these do the same work without parsing a format.
 */
#ifndef PROC_TEXT_H
#define PROC_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Copies src into dst (cap > 0 bytes), cut to cap - 1 bytes and NUL-terminated, like
 * snprintf(dst, cap, "%s", src). @returns the length written. */
size_t proc_copy(char *dst, size_t cap, const char *src);

/* Concatenates the strings after cap, up to a NULL, into dst (cap > 0 bytes), cut to
 * cap - 1 bytes and NUL-terminated, like snprintf(dst, cap, "%s%s...", ...). @returns
 * the length written. */
size_t proc_concat(char *dst, size_t cap, ...) __attribute__((sentinel));

/* Writes v in decimal ("%" PRId64) and a NUL into buf, which holds PROC_I64_CAP bytes.
 * @returns the length (without the NUL). */
#define PROC_I64_CAP 21
size_t proc_fmt_i64(char *buf, int64_t v);

/* Writes v as 16 lowercase hex digits ("%016" PRIx64), without a NUL. */
void proc_fmt_hex16(char *buf, uint64_t v);

#endif
