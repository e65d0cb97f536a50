/*
 * cons_log.h — one JSON object per line on stderr: {"ts":..,"level":..,"event":..,"msg":..}.
 *
 * `event` is a stable machine-readable name ("assigned", "batch_committed"); `msg` is a
 * sentence for people. Never pass secrets: nothing here masks them.
 */
#ifndef CONS_LOG_H
#define CONS_LOG_H

typedef enum { CONS_LOG_DEBUG = 0, CONS_LOG_INFO, CONS_LOG_WARN, CONS_LOG_ERROR } cons_log_level;

/* @returns 0 and sets the threshold from "debug|info|warn|error", or -1 for other text. */
int cons_log_set_level_name(const char *name);
void cons_log_set_level(cons_log_level level);
int cons_log_enabled(cons_log_level level);

void cons_log(cons_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
