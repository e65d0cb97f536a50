/*
 * cons_log.h — one JSON object per line on stderr:
 *   {"ts":..,"level":..,"event":..,"msg":..[,"topic":..,"partition":..,"offset":..,
 *    "partner_id":..][,"worker":..]}
 *
 * `event` is a stable machine-readable name ("assigned", "dead_letter"); `msg` is a
 * sentence for people. Where a line is about a record or a partition, its topic,
 * partition, offset and partner id are fields of their own (cons_log_at), so a log
 * pipeline can filter on them without parsing `msg`. Text that is not valid UTF-8 is
 * written with U+FFFD in place of each bad byte, so every line is valid JSON. Never pass
 * secrets: nothing here masks them.
 */
#ifndef CONS_LOG_H
#define CONS_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { CONS_LOG_DEBUG = 0, CONS_LOG_INFO, CONS_LOG_WARN, CONS_LOG_ERROR } cons_log_level;

/* What a line is about; unset parts are left out of the line. */
typedef struct {
    const char *topic;        /* NULL: none */
    int32_t partition;        /* < 0: none */
    int64_t offset;           /* < 0: none */
    const char *partner_id;   /* NULL: none */
} cons_log_ctx;

#define CONS_LOG_NO_CTX ((cons_log_ctx){NULL, -1, -1, NULL})

/* @returns 0 and sets the threshold from "debug|info|warn|error", or -1 for other text. */
int cons_log_set_level_name(const char *name);
void cons_log_set_level(cons_log_level level);
int cons_log_enabled(cons_log_level level);

/* Adds "worker": id to every later line (copied; NULL removes it). */
void cons_log_set_worker(const char *id);

void cons_log(cons_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* cons_log with the record or partition the line is about. */
void cons_log_at(cons_log_level level, const cons_log_ctx *ctx, const char *event,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Writes the len bytes of s as the inside of a JSON string: escapes, and U+FFFD for each
 * byte that does not start a valid UTF-8 sequence (overlong forms, surrogates and code
 * points above U+10FFFF included). For tests. */
void cons_log_json_string(FILE *f, const char *s, size_t len);

#endif
