/*
 * proc_outputs.h — what applying one event produced: payouts, alerts, the periods whose
 * leaderboard rows changed, the program metric deltas (CONTRACT §9), or the reason the event
 * goes to the dead-letter topic.
 *
 * Ownership: the struct owns its arrays. Reuse one proc_outputs for many events
 * (proc_apply resets it) and free it once with proc_outputs_free().
 */
#ifndef PROC_OUTPUTS_H
#define PROC_OUTPUTS_H

#include <stdbool.h>
#include <stdint.h>

#include "proc_event.h"

#define PROC_DETAIL_CAP 256
/* "tier:" + a tier name (at most 63 bytes, PROC_NAME_CAP) + NUL fits. */
#define PROC_KPI_FIELD_CAP 72

/*
 * One change of a program metric (CONTRACT §9) for the partner's program in one period: the
 * caller HINCRBYs `delta` into field `field` of {ns}:kpi:{program}:{period}. Counters
 * only; nps, the payout-to-revenue ratio and the deal conversion are derived by the
 * reader. Fields:
 *   revenue_minor                 net revenue (sales - returns), signed
 *   payouts_minor:<KIND>          payouts of one kind (REBATE, CLAWBACK, ...), signed
 *   payouts_total_minor           payouts of all kinds, signed
 *   cash_and_clawbacks_minor      cash payouts + clawbacks (the ratio's numerator)
 *   active_partners               +1 at a partner's first SALE in the period
 *   tier:<TierName>               active partners by effective tier: +1 when the partner
 *                                 becomes active, then -1 old / +1 new when its period's
 *                                 effective tier changes
 *   deals_registered, deals_approved, deals_won, certifications,
 *   responses, promoters, passives, detractors (ENPS only)
 */
typedef struct {
    int32_t period_key;              /* proc_period_key() under the partner's program */
    char field[PROC_KPI_FIELD_CAP];
    int64_t delta;
} proc_kpi_delta;

/*
 * A leaderboard row as this event left it: the period's revenue and points right after
 * the event (before any pruning). The worker writes the last row of every period a batch
 * touched from these values, not from the state at the end of the batch, because a
 * period can close and be pruned later in the same batch and must still get its final
 * score (CONTRACT §8: the sets of closed periods stay readable).
 */
typedef struct {
    int32_t period_key;
    int64_t revenue_minor;
    int64_t points;
} proc_lb_row;

typedef struct {
    proc_dlq_reason reason;          /* PROC_DLQ_NONE when the event was applied */
    char detail[PROC_DETAIL_CAP];    /* one sentence for dlq.detail */
    bool duplicate;                  /* event_id already applied: ignored, nothing changed */
    bool changed;                    /* partner state changed: write it back */
    bool deal_changed;               /* the proc_deal passed in changed: write it back */

    int n_payouts, cap_payouts;
    proc_payout *payouts;
    int n_alerts, cap_alerts;
    proc_alert *alerts;

    int n_rows, cap_rows;            /* periods whose totals changed, one row each */
    proc_lb_row *rows;

    int n_kpi, cap_kpi;              /* one entry per (period, field), in first-use order */
    proc_kpi_delta *kpi;
} proc_outputs;

void proc_outputs_reset(proc_outputs *o);
void proc_outputs_free(proc_outputs *o);

/* Appends a zeroed record and @returns it, or NULL on ENOMEM. */
proc_payout *proc_outputs_add_payout(proc_outputs *o);
proc_alert *proc_outputs_add_alert(proc_outputs *o);
/* Notes that the totals of period_key changed (once per period); proc_apply fills in the
 * row's values when the event is done. @returns 0 or -1 (ENOMEM). */
int proc_outputs_touch(proc_outputs *o, int32_t period_key);

/* Adds `delta` to the metric `field` of period `period_key`, merging with an earlier delta
 * of the same period and field; a zero delta adds nothing. @returns 0 or -1 (ENOMEM). */
int proc_outputs_kpi(proc_outputs *o, int32_t period_key, const char *field, int64_t delta);

/* Deterministic ids: prefix ("po" or "al") + "_" + 32 hex digits of a 128-bit hash of the
 * parts, which are joined with a separator byte that cannot occur in them. */
void proc_make_id(char out[PROC_ID_CAP], const char *prefix, const char *const *parts, int n);

/* Appends a key/value attribute to an alert (silently ignores a ninth). */
void proc_alert_attr(proc_alert *a, const char *key, const char *value);
void proc_alert_attr_i64(proc_alert *a, const char *key, int64_t value);

#endif
