/*
 * cons_log.c — JSON lines on stderr (see cons_log.h).
 */
#include "cons_log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static cons_log_level threshold = CONS_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};
static char worker[128];

int cons_log_set_level_name(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0) {
            threshold = (cons_log_level)i;
            return 0;
        }
    return -1;
}

void cons_log_set_level(cons_log_level level) { threshold = level; }

int cons_log_enabled(cons_log_level level) { return level >= threshold; }

void cons_log_set_worker(const char *id)
{
    snprintf(worker, sizeof worker, "%s", id ? id : "");
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2;
        cp = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3;
        cp = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

void cons_log_json_string(FILE *f, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned char ch = p[i];
        size_t n = utf8_len(p + i, len - i);
        if (n == 0) {
            fputs("\xEF\xBF\xBD", f);   /* U+FFFD for the bad byte; go on after it */
            i++;
        } else if (ch == '"' || ch == '\\') {
            fprintf(f, "\\%c", ch);
            i++;
        } else if (ch < 0x20 || ch == 0x7F) {
            fprintf(f, "\\u%04x", ch);
            i++;
        } else {
            fwrite(p + i, 1, n, f);
            i += n;
        }
    }
}

static void field(FILE *f, const char *name, const char *value)
{
    fprintf(f, ",\"%s\":\"", name);
    cons_log_json_string(f, value, strlen(value));
    fputc('"', f);
}

static void vlog(cons_log_level level, const cons_log_ctx *ctx, const char *event,
                 const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static void vlog(cons_log_level level, const cons_log_ctx *ctx, const char *event,
                 const char *fmt, va_list ap)
{
    char msg[1024], ts[40];
    struct timespec now;
    struct tm tm;

    vsnprintf(msg, sizeof msg, fmt, ap);
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);

    /* One fprintf-sequence under the stream lock so concurrent lines never interleave. */
    flockfile(stderr);
    fprintf(stderr, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\"", ts, now.tv_nsec / 1000000,
            level_names[level]);
    field(stderr, "event", event);
    field(stderr, "msg", msg);
    if (ctx != NULL) {
        if (ctx->topic != NULL)
            field(stderr, "topic", ctx->topic);
        if (ctx->partition >= 0)
            fprintf(stderr, ",\"partition\":%" PRId32, ctx->partition);
        if (ctx->offset >= 0)
            fprintf(stderr, ",\"offset\":%" PRId64, ctx->offset);
        if (ctx->partner_id != NULL)
            field(stderr, "partner_id", ctx->partner_id);
    }
    if (worker[0] != '\0')
        field(stderr, "worker", worker);
    fputs("}\n", stderr);
    funlockfile(stderr);
}

void cons_log(cons_log_level level, const char *event, const char *fmt, ...)
{
    va_list ap;
    if (level < threshold)
        return;
    va_start(ap, fmt);
    vlog(level, NULL, event, fmt, ap);
    va_end(ap);
}

void cons_log_at(cons_log_level level, const cons_log_ctx *ctx, const char *event,
                 const char *fmt, ...)
{
    va_list ap;
    if (level < threshold)
        return;
    va_start(ap, fmt);
    vlog(level, ctx, event, fmt, ap);
    va_end(ap);
}
