/* Periods, the watermark and tiers (CONTRACT §6.3, 6.4, 6.5 true-ups, 6.9, 6.14 points). */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "proc_money.h"
#include "proc_rules.h"

int proc_effective_tier(const proc_period_state *ps)
{
    return ps->reached_tier > ps->held_tier ? ps->reached_tier : ps->held_tier;
}

int proc_current_tier(const proc_partner *pt)
{
    const proc_period_state *latest = proc_partner_latest(pt);
    return latest ? proc_effective_tier(latest) : 0;
}

int64_t proc_period_points(const proc_program *prog, const proc_period_state *ps)
{
    int64_t revenue = ps->revenue_minor > 0 ? ps->revenue_minor : 0;
    return revenue / prog->revenue_per_point_minor +
           (int64_t)prog->points_per_certification * ps->certifications +
           (int64_t)prog->points_per_deal_won * ps->deals_won;
}

/* The highest tier whose revenue and certification minimums are both met. */
static int tier_for(const proc_program *prog, int64_t revenue, int32_t certifications)
{
    for (int i = prog->n_tiers - 1; i > 0; i--)
        if (prog->tiers[i].min_revenue_minor <= revenue &&
            prog->tiers[i].min_certifications <= certifications)
            return i;
    return 0;
}

void proc_rule_reevaluate(const proc_rule_ctx *c, proc_period_state *ps)
{
    int t = tier_for(c->prog, ps->revenue_minor, c->pt->certifications_total);
    if (t > ps->reached_tier)
        ps->reached_tier = t;
}

void proc_rule_period_name(const proc_rule_ctx *c, int32_t key, char out[PROC_PERIOD_CAP])
{
    proc_period_name(c->prog->period, key, out, PROC_PERIOD_CAP);
}

static int32_t latest_key(const proc_partner *pt)
{
    const proc_period_state *l = proc_partner_latest(pt);
    return l ? l->key : INT32_MIN;
}

/* The watermark is the highest occurred_at of the partner's applied period events (§6.9).
 * Before the first one (the partner has no period yet) there is no watermark, so nothing
 * is late, whatever its date: watermark_ms = 0 is not an instant to compare with. */
bool proc_rule_late(proc_rule_ctx *c, int32_t key)
{
    if (c->pt->n_periods == 0)
        return false;
    int64_t lateness = (int64_t)c->prog->allowed_lateness_days * PROC_MS_PER_DAY;
    if (proc_period_end_ms(c->prog->period, key) + lateness >= c->pt->watermark_ms)
        return false;
    c->out->reason = PROC_DLQ_LATE_EVENT;
    snprintf(c->out->detail, sizeof c->out->detail, "period ended more than %d days before "
             "the partner's latest event", (int)c->prog->allowed_lateness_days);
    return true;
}

/* Opens the period `key` at the partner's first event in it: the held tier is the tier
 * reached in the previous period at this moment, fixed from now on (§6.4). A late event
 * may open a period older than every stored one (they are pruned, or it never had
 * events): it is inserted in key order like any other. */
static proc_period_state *open_period(proc_rule_ctx *c, int32_t key)
{
    proc_period_state *ps = proc_partner_period(c->pt, key);
    if (ps != NULL)
        return ps;
    const proc_period_state *prev = proc_partner_period(c->pt, key - 1);
    int held = prev ? prev->reached_tier : 0;
    ps = proc_partner_add_period(c->pt, key);
    if (ps == NULL)
        return NULL;
    ps->held_tier = held;
    ps->reached_tier = tier_for(c->prog, 0, c->pt->certifications_total);
    return ps;
}

proc_period_state *proc_rule_period_begin(proc_rule_ctx *c, proc_period_event *pe, int32_t key)
{
    bool first = c->pt->n_periods == 0;
    pe->key = key;
    pe->old_current = proc_current_tier(c->pt);
    pe->latest_before = latest_key(c->pt);
    proc_period_state *ps = open_period(c, key);
    if (ps == NULL)
        return NULL;
    pe->was_active = (ps->flags & PROC_PERIOD_HAS_SALE) != 0;
    pe->eff_old = proc_effective_tier(ps);
    if (first || c->ev->occurred_at > c->pt->watermark_ms)
        c->pt->watermark_ms = c->ev->occurred_at;
    return ps;
}

static int tier_kpi(proc_rule_ctx *c, int32_t key, int tier, int64_t delta)
{
    char field[PROC_KPI_FIELD_CAP];
    snprintf(field, sizeof field, "tier:%s", c->prog->tiers[tier].name);
    return proc_rule_kpi(c, key, field, delta);
}

/* Partners per tier count active partners (a SALE in the period) by effective tier: a
 * partner enters the count at its first sale of the period, with the tier it has after
 * that sale, and moves between tiers when its period's effective tier changes. Only the
 * event's own period can change: held tiers are fixed and reached tiers never fall. */
static int tier_metrics(proc_rule_ctx *c, const proc_period_event *pe)
{
    const proc_period_state *ps = proc_partner_period(c->pt, pe->key);
    int eff = proc_effective_tier(ps);
    if (!(ps->flags & PROC_PERIOD_HAS_SALE))
        return 0;
    if (!pe->was_active)
        return proc_rule_kpi(c, pe->key, "active_partners", 1) || tier_kpi(c, pe->key, eff, 1);
    if (eff != pe->eff_old)
        return tier_kpi(c, pe->key, pe->eff_old, -1) || tier_kpi(c, pe->key, eff, 1);
    return 0;
}

/* TIER_ACHIEVED / TIER_DOWNGRADED after an event (§6.4). */
static int tier_alerts(proc_rule_ctx *c, const proc_period_event *pe)
{
    int now = proc_current_tier(c->pt);
    int32_t latest = latest_key(c->pt);
    const char *from = c->prog->tiers[pe->old_current].name;
    const char *to = c->prog->tiers[now].name;
    char period[PROC_PERIOD_CAP];
    proc_rule_period_name(c, latest, period);

    if (now > pe->old_current) {
        const char *parts[] = {c->ev->event_id, "TIER_ACHIEVED", to};
        proc_alert *a = proc_rule_alert(c, PROC_ALERT_TIER_ACHIEVED, PROC_SEVERITY_INFO, latest,
                                        parts, 3);
        if (a == NULL)
            return -1;
        snprintf(a->message, sizeof a->message, "Partner %s reached tier %s (from %s) in %s.",
                 c->pt->partner_id, to, from, period);
        proc_alert_attr(a, "from_tier", from);
        proc_alert_attr(a, "to_tier", to);
    } else if (now < pe->old_current && latest > pe->latest_before) {
        const char *parts[] = {c->ev->event_id, "TIER_DOWNGRADED", to};
        proc_alert *a = proc_rule_alert(c, PROC_ALERT_TIER_DOWNGRADED, PROC_SEVERITY_WARNING,
                                        latest, parts, 3);
        if (a == NULL)
            return -1;
        snprintf(a->message, sizeof a->message,
                 "Partner %s starts %s at tier %s, down from %s.", c->pt->partner_id, period, to,
                 from);
        proc_alert_attr(a, "from_tier", from);
        proc_alert_attr(a, "to_tier", to);
    }
    return 0;
}

int proc_rule_period_end(proc_rule_ctx *c, const proc_period_event *pe)
{
    return tier_metrics(c, pe) || tier_alerts(c, pe) ? -1 : 0;
}

int proc_rule_near_next_tier(proc_rule_ctx *c, int32_t key)
{
    proc_period_state *ps = proc_partner_period(c->pt, key);
    int next = proc_effective_tier(ps) + 1;
    if (next >= c->prog->n_tiers || (ps->near_alerted & (1u << next)))
        return 0;
    int64_t threshold = c->prog->tiers[next].min_revenue_minor;
    if ((__int128)ps->revenue_minor * 100 < (__int128)c->prog->near_tier_pct * threshold)
        return 0;
    ps->near_alerted |= 1u << next;

    char period[PROC_PERIOD_CAP];
    proc_rule_period_name(c, key, period);
    const char *tier = c->prog->tiers[next].name;
    const char *parts[] = {"NEAR_NEXT_TIER", c->pt->partner_id, c->prog->id, period, tier};
    proc_alert *a = proc_rule_alert(c, PROC_ALERT_NEAR_NEXT_TIER, PROC_SEVERITY_INFO, key,
                                    parts, 5);
    if (a == NULL)
        return -1;
    int64_t missing = threshold - ps->revenue_minor;
    if (missing < 0)
        missing = 0;
    /* The tier may also need certifications: say so, or a partner whose revenue is
     * already there reads "0 to go" and wonders why the tier does not come. */
    int32_t certs = c->prog->tiers[next].min_certifications - c->pt->certifications_total;
    if (certs < 0)
        certs = 0;
    if (certs == 0)
        snprintf(a->message, sizeof a->message, "Partner %s is close to tier %s in %s: %" PRId64
                 " %s minor units of revenue to go.", c->pt->partner_id, tier, period, missing,
                 c->prog->currency);
    else if (missing > 0)
        snprintf(a->message, sizeof a->message, "Partner %s is close to tier %s in %s: %" PRId64
                 " %s minor units of revenue and %d more certification%s to go.",
                 c->pt->partner_id, tier, period, missing, c->prog->currency, (int)certs,
                 certs == 1 ? "" : "s");
    else
        snprintf(a->message, sizeof a->message, "Partner %s has the revenue for tier %s in %s "
                 "and needs %d more certification%s to reach it.", c->pt->partner_id, tier,
                 period, (int)certs, certs == 1 ? "" : "s");
    proc_alert_attr(a, "tier", tier);
    proc_alert_attr_i64(a, "threshold_minor", threshold);
    proc_alert_attr_i64(a, "revenue_minor", ps->revenue_minor);
    proc_alert_attr_i64(a, "missing_minor", missing);
    proc_alert_attr_i64(a, "missing_certifications", certs);
    return 0;
}

int proc_rule_true_up(proc_rule_ctx *c, int32_t key, int eff_old, int eff_new,
                      int64_t revenue_before)
{
    if (c->prog->rebate_mode != PROC_REBATE_RETROACTIVE || eff_new <= eff_old)
        return 0;
    int64_t base = revenue_before > 0 ? revenue_before : 0;
    int64_t bp = c->prog->tiers[eff_new].rebate_bp - c->prog->tiers[eff_old].rebate_bp;
    proc_explain ex = {.has_basis = true, .basis_minor = base,
                       .has_rate_bp = true, .rate_bp = c->prog->tiers[eff_new].rebate_bp,
                       .has_old_rate_bp = true, .old_rate_bp = c->prog->tiers[eff_old].rebate_bp};
    c->explain = &ex;
    return proc_rule_payout(c, key, PROC_PAYOUT_TIER_TRUE_UP, proc_apply_bp(base, bp),
                            c->prog->tiers[eff_new].name, eff_new);
}
