#include "cons_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static cons_log_level threshold = CONS_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

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

/* Writes s as the inside of a JSON string. */
static void put_json_string(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
}

void cons_log(cons_log_level level, const char *event, const char *fmt, ...)
{
    char msg[1024];
    char ts[40];
    struct timespec now;
    struct tm tm;
    va_list ap;

    if (level < threshold)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);

    /* One fprintf-sequence under the stream lock so concurrent lines never interleave. */
    flockfile(stderr);
    fprintf(stderr, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"event\":\"", ts,
            now.tv_nsec / 1000000, level_names[level]);
    put_json_string(stderr, event);
    fputs("\",\"msg\":\"", stderr);
    put_json_string(stderr, msg);
    fputs("\"}\n", stderr);
    funlockfile(stderr);
}
