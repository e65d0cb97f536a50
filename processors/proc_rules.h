/*
 * proc_rules.h — what the rule files of processors/ share (internal; proc_engine.h is the
 * public interface).
 *
 * Every handler first checks everything that can send the event to the dead-letter topic,
 * and only then changes state: a dead-lettered event must leave the partner and the deal
 * exactly as they were (§6.0). A handler @returns 0 (applied or dead-lettered, see
 * out->reason) or -1 when memory ran out midway.
 */
#ifndef PROC_RULES_H
#define PROC_RULES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "proc_deal.h"
#include "proc_engine.h"

typedef struct {
    const proc_catalog *cat;
    const proc_program *prog;        /* the partner's program (NULL only for enrolment) */
    proc_partner *pt;
    const proc_event *ev;
    proc_deal *deal;                 /* the claim of the deal the event names, or NULL */
    proc_outputs *out;
    /* How the next payout was computed: set by its rule right before proc_rule_payout,
     * which copies it into the payout (adding the cap's cut) and clears it. */
    const proc_explain *explain;
} proc_rule_ctx;

#define PROC_DEAD_LETTER(c, why, ...)                                             \
    do {                                                                          \
        (c)->out->reason = (why);                                                 \
        snprintf((c)->out->detail, sizeof (c)->out->detail, __VA_ARGS__);         \
        return 0;                                                                 \
    } while (0)

/* ---- handlers (one file each) ------------------------------------------------------ */

int proc_rule_sale_event(proc_rule_ctx *c);          /* SALE and RETURN: proc_rules_sale.c */
int proc_rule_return(proc_rule_ctx *c, int64_t amount);  /* proc_rules_return.c */
int proc_rule_deal(proc_rule_ctx *c);                /* DEAL_*: proc_rules_deal.c */
int proc_rule_certification(proc_rule_ctx *c);       /* proc_rules_certification.c */
int proc_rule_survey(proc_rule_ctx *c);              /* proc_rules_survey.c */
int proc_rule_approval(proc_rule_ctx *c);            /* proc_rules_approval.c */

/* ---- periods and tiers (proc_rules_period.c) ---------------------------------------- */

/*
 * The frame of every period event (sale, return, survey response, certification): what
 * the partner looked like before, so that proc_rule_period_end can raise the tier alerts
 * and move the tier metrics once the event's own changes are made.
 */
typedef struct {
    int32_t key;                     /* the event's period */
    int old_current;                 /* the partner's current tier before the event */
    int32_t latest_before;           /* its latest period before the event (INT32_MIN: none) */
    bool was_active;                 /* the period had a SALE before the event */
    int eff_old;                     /* the period's effective tier once opened */
} proc_period_event;

/* True when a period event of period `key` is LATE_EVENT (§6.9): then the dead letter
 * is set in c->out (the caller returns 0). A check: the partner is not changed. */
bool proc_rule_late(proc_rule_ctx *c, int32_t key);

/* Starts applying a period event of period `key` (the checks are done): opens the period
 * (its held tier is fixed now, §6.4) and moves the watermark. @returns the period state,
 * or NULL on ENOMEM. The pointer is valid until the partner's periods change. */
proc_period_state *proc_rule_period_begin(proc_rule_ctx *c, proc_period_event *pe, int32_t key);

/* Finishes a period event: the tier metrics of its period and the TIER_ACHIEVED /
 * TIER_DOWNGRADED alerts. @returns 0 or -1 (ENOMEM). */
int proc_rule_period_end(proc_rule_ctx *c, const proc_period_event *pe);

/* Re-evaluates the reached tier of a period; it never falls (§6.4). */
void proc_rule_reevaluate(const proc_rule_ctx *c, proc_period_state *ps);

/* TIER_TRUE_UP when the effective tier rose (retroactive mode only, §6.5). */
int proc_rule_true_up(proc_rule_ctx *c, int32_t key, int eff_old, int eff_new,
                      int64_t revenue_before);

/* NEAR_NEXT_TIER once per partner, period and tier (§6.4). */
int proc_rule_near_next_tier(proc_rule_ctx *c, int32_t key);

void proc_rule_period_name(const proc_rule_ctx *c, int32_t key, char out[PROC_PERIOD_CAP]);

/* ---- outputs (proc_rules_emit.c) ---------------------------------------------------- */

/* Appends an alert of the partner with a deterministic id from id_parts. @returns it, or
 * NULL on ENOMEM. */
proc_alert *proc_rule_alert(proc_rule_ctx *c, proc_alert_kind kind, proc_severity sev,
                            int32_t key, const char *const *id_parts, int n_parts);

/* Emits one payout in period `key` after the cap (§6.12) and approval (§6.13) rules, with
 * its metric deltas; a payout cut to zero is not emitted. Callers emit in the cap order:
 * REBATE, TIER_TRUE_UP, SPIFFs, DEAL_REGISTRATION_BONUS, CERTIFICATION_BONUS.
 * @returns 0, or -1 on ENOMEM. */
int proc_rule_payout(proc_rule_ctx *c, int32_t key, proc_payout_kind kind, int64_t amount,
                     const char *rule_id, int tier);

/* The same for a clawback of the held payout `held` (its proc_hash64) while that one is
 * still pending: emitted PENDING_APPROVAL and added to the held payout's clawed_minor, so
 * the decision settles both (§6.13). */
int proc_rule_payout_tied(proc_rule_ctx *c, int32_t key, proc_payout_kind kind, int64_t amount,
                          const char *rule_id, int tier, uint64_t held);

/* True for the kinds the cap counts (all but MDF_ACCRUAL and CLAWBACK). */
bool proc_rule_is_cash(proc_payout_kind k);

/* The program metrics of `amount` of a payout of `kind` (negative to take one back):
 * payouts_minor:KIND, payouts_total_minor, cash_and_clawbacks_minor. @returns 0 or -1. */
int proc_rule_payout_metrics(proc_rule_ctx *c, int32_t key, proc_payout_kind kind,
                             int64_t amount);

/* A metric delta of the partner's program (CONTRACT §9). @returns 0 or -1 (ENOMEM). */
int proc_rule_kpi(proc_rule_ctx *c, int32_t key, const char *field, int64_t delta);

#endif
