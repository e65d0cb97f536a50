/*
 * proc_outputs.h — what applying one event produced: payouts, alerts, the periods whose
 * leaderboard rows changed, or the reason the event goes to the dead-letter topic.
 *
 * Ownership: the struct owns its arrays. Reuse one proc_outputs for many events
 * (proc_apply resets it) and free it once with proc_outputs_free().
 */
#ifndef PROC_OUTPUTS_H
#define PROC_OUTPUTS_H

#include <stdbool.h>
#include <stdint.h>

#include "proc_event.h"

#define PROC_MAX_TOUCHED 4
#define PROC_DETAIL_CAP 256

typedef struct {
    proc_dlq_reason reason;          /* PROC_DLQ_NONE when the event was applied */
    char detail[PROC_DETAIL_CAP];    /* one sentence for dlq.detail */
    bool duplicate;                  /* event_id already applied: ignored, nothing changed */
    bool changed;                    /* partner state changed: write it back */

    int n_payouts, cap_payouts;
    proc_payout *payouts;
    int n_alerts, cap_alerts;
    proc_alert *alerts;

    int n_touched;                   /* periods whose totals changed (leaderboards) */
    int32_t touched[PROC_MAX_TOUCHED];
} proc_outputs;

void proc_outputs_reset(proc_outputs *o);
void proc_outputs_free(proc_outputs *o);

/* Appends a zeroed record and @returns it, or NULL on ENOMEM. */
proc_payout *proc_outputs_add_payout(proc_outputs *o);
proc_alert *proc_outputs_add_alert(proc_outputs *o);
void proc_outputs_touch(proc_outputs *o, int32_t period_key);

/* Deterministic ids: prefix ("po" or "al") + "_" + 32 hex digits of a 128-bit hash of the
 * parts, which are joined with a separator byte that cannot occur in them. */
void proc_make_id(char out[PROC_ID_CAP], const char *prefix, const char *const *parts, int n);

/* Appends a key/value attribute to an alert (silently ignores a ninth). */
void proc_alert_attr(proc_alert *a, const char *key, const char *value);
void proc_alert_attr_i64(proc_alert *a, const char *key, int64_t value);

#endif
