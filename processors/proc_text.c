#include "proc_text.h"

#include <stdarg.h>
#include <string.h>

size_t proc_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
    return n;
}

size_t proc_concat(char *dst, size_t cap, ...)
{
    va_list ap;
    size_t len = 0;
    va_start(ap, cap);
    for (const char *s = va_arg(ap, const char *); s != NULL; s = va_arg(ap, const char *))
        len += proc_copy(dst + len, cap - len, s);
    va_end(ap);
    dst[len] = '\0';
    return len;
}

size_t proc_fmt_i64(char *buf, int64_t v)
{
    char tmp[PROC_I64_CAP];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;   /* INT64_MIN included */
    size_t n = 0, len = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    buf[len] = '\0';
    return len;
}

void proc_fmt_hex16(char *buf, uint64_t v)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, v >>= 4)
        buf[i] = hex[v & 0xf];
}
