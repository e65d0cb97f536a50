/* Payouts and alerts: ids, the cap (§6.12), approval (§6.13) and their metrics (§9). */
#include <inttypes.h>
#include <string.h>

#include "proc_rules.h"
#include "proc_text.h"

proc_alert *proc_rule_alert(proc_rule_ctx *c, proc_alert_kind kind, proc_severity sev,
                            int32_t key, const char *const *id_parts, int n_parts)
{
    proc_alert *a = proc_outputs_add_alert(c->out);
    if (a == NULL)
        return NULL;
    proc_make_id(a->alert_id, "al", id_parts, n_parts);
    proc_copy(a->partner_id, sizeof a->partner_id, c->pt->partner_id);
    proc_copy(a->program_id, sizeof a->program_id, c->prog->id);
    a->kind = kind;
    a->severity = sev;
    proc_rule_period_name(c, key, a->period);
    proc_copy(a->source_event_id, sizeof a->source_event_id, c->ev->event_id);
    a->occurred_at = c->ev->occurred_at;
    return a;
}

int proc_rule_kpi(proc_rule_ctx *c, int32_t key, const char *field, int64_t delta)
{
    return proc_outputs_kpi(c->out, key, field, delta);
}

bool proc_rule_is_cash(proc_payout_kind k)
{
    return k != PROC_PAYOUT_MDF_ACCRUAL && k != PROC_PAYOUT_CLAWBACK;
}

/* The program metrics of a payout: by kind, in total, and in the payout-to-revenue
 * ratio's numerator, which counts cash and the clawbacks that take cash back (not MDF,
 * which is a fund credit, nor its reversal). */
int proc_rule_payout_metrics(proc_rule_ctx *c, int32_t key, proc_payout_kind kind,
                             int64_t amount)
{
    char field[PROC_KPI_FIELD_CAP];
    proc_concat(field, sizeof field, "payouts_minor:", proc_payout_kind_name(kind), (char *)NULL);
    if (proc_rule_kpi(c, key, field, amount) ||
        proc_rule_kpi(c, key, "payouts_total_minor", amount))
        return -1;
    if (proc_rule_is_cash(kind) || kind == PROC_PAYOUT_CLAWBACK)
        return proc_rule_kpi(c, key, "cash_and_clawbacks_minor", amount);
    return 0;
}

static int approval_alert(proc_rule_ctx *c, int32_t key, const proc_payout *p)
{
    const char *parts[] = {p->payout_id, "APPROVAL_REQUIRED"};
    const char *kind_name = proc_payout_kind_name(p->kind);
    proc_alert *a = proc_rule_alert(c, PROC_ALERT_APPROVAL_REQUIRED, PROC_SEVERITY_WARNING, key,
                                    parts, 2);
    if (a == NULL)
        return -1;
    snprintf(a->message, sizeof a->message,
             "A %s payout of %" PRId64 " %s minor units to partner %s needs senior "
             "approval before it is paid.",
             kind_name, p->amount_minor, c->prog->currency, c->pt->partner_id);
    proc_alert_attr(a, "payout_id", p->payout_id);
    proc_alert_attr(a, "payout_kind", kind_name);
    proc_alert_attr_i64(a, "amount_minor", p->amount_minor);
    proc_alert_attr_i64(a, "threshold_minor", c->prog->approval_threshold_minor);
    return 0;
}

static int cap_alert(proc_rule_ctx *c, int32_t key, const char *payout_id, proc_payout_kind kind)
{
    char period[PROC_PERIOD_CAP];
    proc_rule_period_name(c, key, period);
    const char *parts[] = {"CAP_REACHED", c->pt->partner_id, c->prog->id, period};
    proc_alert *a = proc_rule_alert(c, PROC_ALERT_CAP_REACHED, PROC_SEVERITY_WARNING, key, parts, 4);
    if (a == NULL)
        return -1;
    snprintf(a->message, sizeof a->message,
             "Partner %s reached the payout cap of %" PRId64 " %s minor units for %s; "
             "further incentives in this period are not paid.",
             c->pt->partner_id, c->prog->cap_per_period_minor, c->prog->currency, period);
    proc_alert_attr_i64(a, "cap_minor", c->prog->cap_per_period_minor);
    proc_alert_attr(a, "payout_id", payout_id);
    proc_alert_attr(a, "payout_kind", proc_payout_kind_name(kind));
    return 0;
}

/* Holds a payout just emitted PENDING_APPROVAL until its decision (§6.13). */
static int hold(proc_rule_ctx *c, int32_t key, const proc_payout *p)
{
    proc_held_payout h;
    memset(&h, 0, sizeof h);
    h.hash = proc_hash64(p->payout_id);
    h.occurred_at = p->occurred_at;
    h.period_key = key;
    h.state = PROC_HELD_PENDING;
    h.kind = p->kind;
    h.amount_minor = p->amount_minor;
    proc_copy(h.payout_id, sizeof h.payout_id, p->payout_id);
    proc_copy(h.tier, sizeof h.tier, p->tier);
    proc_copy(h.rule_id, sizeof h.rule_id, p->rule_id);
    return proc_partner_add_held(c->pt, &h);
}

/* The payout itself once the cap is applied; `tied` (or 0) names the held payout a
 * clawback reverses while that one is still pending. */
static int emit(proc_rule_ctx *c, int32_t key, proc_payout_kind kind, int64_t amount,
                const char *rule_id, int tier, uint64_t tied)
{
    proc_period_state *ps = proc_partner_period(c->pt, key);
    const char *id_parts[] = {c->ev->event_id, proc_payout_kind_name(kind), rule_id};
    char payout_id[PROC_ID_CAP];
    bool cut = false;

    proc_explain ex = {0};
    if (c->explain != NULL)
        ex = *c->explain;
    c->explain = NULL;                       /* one explanation, one payout */

    proc_make_id(payout_id, "po", id_parts, 3);
    /* Only cash counts toward the cap, and only cash is cut: a clawback neither uses nor
     * frees cap room (§6.12), so cash_minor never goes down. */
    if (proc_rule_is_cash(kind)) {
        int64_t room = c->prog->cap_per_period_minor - ps->cash_minor;
        if (room < 0)
            room = 0;
        if (amount > room) {
            ex.has_cut = true;
            ex.cut_minor = amount - room;
            amount = room;
            cut = true;
        }
    }
    if (amount != 0) {
        proc_payout *p = proc_outputs_add_payout(c->out);
        if (p == NULL)
            return -1;
        proc_copy(p->payout_id, sizeof p->payout_id, payout_id);
        proc_copy(p->partner_id, sizeof p->partner_id, c->pt->partner_id);
        proc_copy(p->program_id, sizeof p->program_id, c->prog->id);
        p->kind = kind;
        p->amount_minor = amount;
        proc_copy(p->currency, sizeof p->currency, c->prog->currency);
        proc_rule_period_name(c, key, p->period);
        proc_copy(p->tier, sizeof p->tier, c->prog->tiers[tier].name);
        proc_copy(p->rule_id, sizeof p->rule_id, rule_id);
        proc_copy(p->source_event_id, sizeof p->source_event_id, c->ev->event_id);
        p->occurred_at = c->ev->occurred_at;
        p->explain = ex;
        if (proc_rule_is_cash(kind))
            ps->cash_minor += amount;
        ps->payouts_minor += amount;
        if (proc_rule_payout_metrics(c, key, kind, amount))
            return -1;

        /* By magnitude: a large clawback needs the same sign-off as a large payment. A
         * clawback of a payout still pending is held with it instead: its decision
         * settles both (the release pays what is left after the clawbacks). */
        int64_t magnitude = amount < 0 ? -amount : amount;
        proc_held_payout *of = tied ? proc_partner_held(c->pt, tied) : NULL;
        if (of != NULL) {
            p->status = PROC_STATUS_PENDING_APPROVAL;
            of->clawed_minor += amount;
            /* The approval metrics stay with the held payout's period, where its
             * decision settles them. */
            if (proc_partner_held_changed(c->pt, of->hash) ||
                proc_rule_kpi(c, of->period_key, "approval_pending_minor", amount))
                return -1;
        } else if (magnitude >= c->prog->approval_threshold_minor) {
            p->status = PROC_STATUS_PENDING_APPROVAL;
            if (hold(c, key, p) || proc_rule_kpi(c, key, "approval_pending_minor", amount) ||
                approval_alert(c, key, p))
                return -1;
        }
    }
    if (cut && !(ps->flags & PROC_PERIOD_CAP_ALERTED)) {
        ps->flags |= PROC_PERIOD_CAP_ALERTED;
        if (cap_alert(c, key, payout_id, kind))
            return -1;
    }
    return 0;
}

int proc_rule_payout(proc_rule_ctx *c, int32_t key, proc_payout_kind kind, int64_t amount,
                     const char *rule_id, int tier)
{
    return emit(c, key, kind, amount, rule_id, tier, 0);
}

int proc_rule_payout_tied(proc_rule_ctx *c, int32_t key, proc_payout_kind kind, int64_t amount,
                          const char *rule_id, int tier, uint64_t held)
{
    return emit(c, key, kind, amount, rule_id, tier, held);
}
