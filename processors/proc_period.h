/*
 * proc_period.h — calendar periods (UTC) of a program: months or quarters.
 *
 * A period is identified by a small integer key: months since year 0 (year*12 + month-1)
 * or quarters since year 0 (year*4 + quarter-1). Consecutive periods have consecutive keys,
 * so "the previous period" is key - 1.
 */
#ifndef PROC_PERIOD_H
#define PROC_PERIOD_H

#include <stddef.h>
#include <stdint.h>

typedef enum { PROC_PERIOD_MONTH = 0, PROC_PERIOD_QUARTER } proc_period_kind;

#define PROC_MS_PER_DAY 86400000LL

/* @returns the key of the period that contains the instant `epoch_ms`. */
int32_t proc_period_key(proc_period_kind kind, int64_t epoch_ms);

/* @returns the first instant (epoch ms) of the period `key`. */
int64_t proc_period_start_ms(proc_period_kind kind, int32_t key);

/* @returns the first instant after the period `key` (= start of key + 1). */
int64_t proc_period_end_ms(proc_period_kind kind, int32_t key);

/* Writes "2026-11" or "2026-Q4" into out (at least 8 bytes). */
void proc_period_name(proc_period_kind kind, int32_t key, char *out, size_t cap);

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). Exposed for the program
 * file parser, which turns "2026-10-01" into a UTC midnight. */
int64_t proc_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
