/*
 * The rules of SPEC §6. Every handler first checks everything that can send the event to
 * the dead-letter topic, and only then changes state: a dead-lettered event must leave the
 * partner exactly as it was (§6.0).
 */
#include "proc_engine.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "proc_money.h"

typedef struct {
    const proc_catalog *cat;
    const proc_program *prog;
    proc_partner *pt;
    const proc_event *ev;
    proc_outputs *out;
} rule_ctx;

#define DEAD_LETTER(c, why, ...)                                                  \
    do {                                                                          \
        (c)->out->reason = (why);                                                 \
        snprintf((c)->out->detail, sizeof (c)->out->detail, __VA_ARGS__);         \
        return 0;                                                                 \
    } while (0)

/* ---- tiers ------------------------------------------------------------------------ */

int proc_effective_tier(const proc_period_state *ps)
{
    return ps->reached_tier > ps->held_tier ? ps->reached_tier : ps->held_tier;
}

int proc_current_tier(const proc_partner *pt)
{
    const proc_period_state *latest = proc_partner_latest(pt);
    return latest ? proc_effective_tier(latest) : 0;
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

/* Re-evaluates the reached tier of a period; it never falls (§6.4). */
static void reevaluate(const proc_program *prog, const proc_partner *pt, proc_period_state *ps)
{
    int t = tier_for(prog, ps->revenue_minor, pt->certifications_total);
    if (t > ps->reached_tier)
        ps->reached_tier = t;
}

int64_t proc_period_points(const proc_program *prog, const proc_period_state *ps)
{
    int64_t revenue = ps->revenue_minor > 0 ? ps->revenue_minor : 0;
    return revenue / prog->revenue_per_point_minor +
           (int64_t)prog->points_per_certification * ps->certifications +
           (int64_t)prog->points_per_deal_won * ps->deals_won;
}

int32_t proc_period_nps(const proc_period_state *ps)
{
    if (ps->enps_responses == 0)
        return INT32_MIN;
    return (int32_t)proc_div_half_even(
        (__int128)100 * (ps->enps_promoters - ps->enps_detractors), ps->enps_responses);
}

/* Opens the period `key` at the partner's first event in it: the held tier is the tier
 * reached in the previous period at this moment, fixed from now on (§6.4). */
static proc_period_state *open_period(rule_ctx *c, int32_t key)
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

static int32_t latest_key(const proc_partner *pt)
{
    const proc_period_state *l = proc_partner_latest(pt);
    return l ? l->key : INT32_MIN;
}

static void period_name(const rule_ctx *c, int32_t key, char out[PROC_PERIOD_CAP])
{
    proc_period_name(c->prog->period, key, out, PROC_PERIOD_CAP);
}

/* ---- outputs ---------------------------------------------------------------------- */

static proc_alert *new_alert(rule_ctx *c, proc_alert_kind kind, proc_severity sev,
                             int32_t key, const char *const *id_parts, int n_parts)
{
    proc_alert *a = proc_outputs_add_alert(c->out);
    if (a == NULL)
        return NULL;
    proc_make_id(a->alert_id, "al", id_parts, n_parts);
    snprintf(a->partner_id, sizeof a->partner_id, "%s", c->pt->partner_id);
    snprintf(a->program_id, sizeof a->program_id, "%s", c->prog->id);
    a->kind = kind;
    a->severity = sev;
    period_name(c, key, a->period);
    snprintf(a->source_event_id, sizeof a->source_event_id, "%s", c->ev->event_id);
    a->occurred_at = c->ev->occurred_at;
    return a;
}

static bool is_cash(proc_payout_kind k)
{
    return k != PROC_PAYOUT_MDF_ACCRUAL && k != PROC_PAYOUT_CLAWBACK;
}

/*
 * Emits one payout in period `key` after the cap (§6.12) and approval (§6.13) rules.
 * Callers emit in the cap order: REBATE, TIER_TRUE_UP, SPIFFs, DEAL_REGISTRATION_BONUS,
 * CERTIFICATION_BONUS. @returns 0, or -1 on ENOMEM.
 */
static int emit_payout(rule_ctx *c, int32_t key, proc_payout_kind kind, int64_t amount,
                       const char *rule_id, int tier)
{
    proc_period_state *ps = proc_partner_period(c->pt, key);
    const char *kind_name = proc_payout_kind_name(kind);
    const char *id_parts[] = {c->ev->event_id, kind_name, rule_id};
    char payout_id[PROC_ID_CAP];
    bool cut = false;

    proc_make_id(payout_id, "po", id_parts, 3);
    if (is_cash(kind)) {
        int64_t room = c->prog->cap_per_period_minor - ps->cash_minor;
        if (room < 0)
            room = 0;
        if (amount > room) {
            amount = room;
            cut = true;
        }
    }
    if (amount != 0) {
        proc_payout *p = proc_outputs_add_payout(c->out);
        if (p == NULL)
            return -1;
        snprintf(p->payout_id, sizeof p->payout_id, "%s", payout_id);
        snprintf(p->partner_id, sizeof p->partner_id, "%s", c->pt->partner_id);
        snprintf(p->program_id, sizeof p->program_id, "%s", c->prog->id);
        p->kind = kind;
        p->amount_minor = amount;
        snprintf(p->currency, sizeof p->currency, "%s", c->prog->currency);
        period_name(c, key, p->period);
        snprintf(p->tier, sizeof p->tier, "%s", c->prog->tiers[tier].name);
        snprintf(p->rule_id, sizeof p->rule_id, "%s", rule_id);
        snprintf(p->source_event_id, sizeof p->source_event_id, "%s", c->ev->event_id);
        p->occurred_at = c->ev->occurred_at;
        if (is_cash(kind))
            ps->cash_minor += amount;
        ps->payouts_minor += amount;

        int64_t magnitude = amount < 0 ? -amount : amount;
        if (magnitude >= c->prog->approval_threshold_minor) {
            p->status = PROC_STATUS_PENDING_APPROVAL;
            const char *parts[] = {payout_id, "APPROVAL_REQUIRED"};
            proc_alert *a = new_alert(c, PROC_ALERT_APPROVAL_REQUIRED, PROC_SEVERITY_WARNING,
                                      key, parts, 2);
            if (a == NULL)
                return -1;
            snprintf(a->message, sizeof a->message,
                     "A %s payout of %" PRId64 " %s minor units to partner %s needs senior "
                     "approval before it is paid.",
                     kind_name, amount, c->prog->currency, c->pt->partner_id);
            proc_alert_attr(a, "payout_id", payout_id);
            proc_alert_attr(a, "payout_kind", kind_name);
            proc_alert_attr_i64(a, "amount_minor", amount);
            proc_alert_attr_i64(a, "threshold_minor", c->prog->approval_threshold_minor);
        }
    }
    if (cut && !(ps->flags & PROC_PERIOD_CAP_ALERTED)) {
        char period[PROC_PERIOD_CAP];
        period_name(c, key, period);
        ps->flags |= PROC_PERIOD_CAP_ALERTED;
        const char *parts[] = {"CAP_REACHED", c->pt->partner_id, c->prog->id, period};
        proc_alert *a = new_alert(c, PROC_ALERT_CAP_REACHED, PROC_SEVERITY_WARNING, key, parts, 4);
        if (a == NULL)
            return -1;
        snprintf(a->message, sizeof a->message,
                 "Partner %s reached the payout cap of %" PRId64 " %s minor units for %s; "
                 "further incentives in this period are not paid.",
                 c->pt->partner_id, c->prog->cap_per_period_minor, c->prog->currency, period);
        proc_alert_attr_i64(a, "cap_minor", c->prog->cap_per_period_minor);
        proc_alert_attr(a, "payout_id", payout_id);
        proc_alert_attr(a, "payout_kind", kind_name);
    }
    return 0;
}

/* TIER_ACHIEVED / TIER_DOWNGRADED after an event (§6.4). */
static int tier_alerts(rule_ctx *c, int old_current, int32_t latest_before)
{
    int now = proc_current_tier(c->pt);
    int32_t latest = latest_key(c->pt);
    const char *from = c->prog->tiers[old_current].name;
    const char *to = c->prog->tiers[now].name;
    char period[PROC_PERIOD_CAP];
    period_name(c, latest, period);

    if (now > old_current) {
        const char *parts[] = {c->ev->event_id, "TIER_ACHIEVED", to};
        proc_alert *a = new_alert(c, PROC_ALERT_TIER_ACHIEVED, PROC_SEVERITY_INFO, latest, parts, 3);
        if (a == NULL)
            return -1;
        snprintf(a->message, sizeof a->message, "Partner %s reached tier %s (from %s) in %s.",
                 c->pt->partner_id, to, from, period);
        proc_alert_attr(a, "from_tier", from);
        proc_alert_attr(a, "to_tier", to);
    } else if (now < old_current && latest > latest_before) {
        const char *parts[] = {c->ev->event_id, "TIER_DOWNGRADED", to};
        proc_alert *a = new_alert(c, PROC_ALERT_TIER_DOWNGRADED, PROC_SEVERITY_WARNING, latest,
                                  parts, 3);
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

/* NEAR_NEXT_TIER once per partner, period and tier (§6.4). */
static int near_next_tier(rule_ctx *c, int32_t key)
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
    period_name(c, key, period);
    const char *tier = c->prog->tiers[next].name;
    const char *parts[] = {"NEAR_NEXT_TIER", c->pt->partner_id, c->prog->id, period, tier};
    proc_alert *a = new_alert(c, PROC_ALERT_NEAR_NEXT_TIER, PROC_SEVERITY_INFO, key, parts, 5);
    if (a == NULL)
        return -1;
    int64_t missing = threshold - ps->revenue_minor;
    if (missing < 0)
        missing = 0;
    snprintf(a->message, sizeof a->message,
             "Partner %s is close to tier %s in %s: %" PRId64 " %s minor units of revenue to go.",
             c->pt->partner_id, tier, period, missing, c->prog->currency);
    proc_alert_attr(a, "tier", tier);
    proc_alert_attr_i64(a, "threshold_minor", threshold);
    proc_alert_attr_i64(a, "revenue_minor", ps->revenue_minor);
    proc_alert_attr_i64(a, "missing_minor", missing);
    return 0;
}

/* ---- rebates ---------------------------------------------------------------------- */

/* Marginal mode: each slice of [from, from + amount) earns the rate of its revenue band;
 * the products are summed exactly and rounded once (§6.5). */
static int64_t marginal_rebate(const proc_program *prog, int64_t from, int64_t amount)
{
    __int128 sum = 0;
    int64_t to = from + amount;
    for (int i = 0; i < prog->n_tiers; i++) {
        int64_t lo = prog->tiers[i].min_revenue_minor;
        int64_t hi = i + 1 < prog->n_tiers ? prog->tiers[i + 1].min_revenue_minor : INT64_MAX;
        int64_t a = from > lo ? from : lo;
        int64_t b = to < hi ? to : hi;
        if (b > a)
            sum += (__int128)(b - a) * prog->tiers[i].rebate_bp;
    }
    return proc_div_half_even(sum, PROC_BP_DEN);
}

static int true_up(rule_ctx *c, int32_t key, int eff_old, int eff_new, int64_t revenue_before)
{
    if (c->prog->rebate_mode != PROC_REBATE_RETROACTIVE || eff_new <= eff_old)
        return 0;
    int64_t base = revenue_before > 0 ? revenue_before : 0;
    int64_t bp = c->prog->tiers[eff_new].rebate_bp - c->prog->tiers[eff_old].rebate_bp;
    return emit_payout(c, key, PROC_PAYOUT_TIER_TRUE_UP, proc_apply_bp(base, bp),
                       c->prog->tiers[eff_new].name, eff_new);
}

/* ---- handlers --------------------------------------------------------------------- */

/* The watermark is the highest occurred_at of the partner's applied period events (§6.9).
 * Before the first one (the partner has no period yet) there is no watermark, so nothing
 * is late, whatever its date: watermark_ms = 0 is not an instant to compare with. */
static bool is_late(const rule_ctx *c, int32_t key)
{
    if (c->pt->n_periods == 0)
        return false;
    int64_t lateness = (int64_t)c->prog->allowed_lateness_days * PROC_MS_PER_DAY;
    return proc_period_end_ms(c->prog->period, key) + lateness < c->pt->watermark_ms;
}

static void advance_watermark(proc_partner *pt, bool first, int64_t occurred_at)
{
    if (first || occurred_at > pt->watermark_ms)
        pt->watermark_ms = occurred_at;
}

static int apply_spiffs(rule_ctx *c, int32_t key, int eff)
{
    const proc_sale *s = &c->ev->u.sale;
    for (int i = 0; i < c->prog->n_spiffs; i++) {
        const proc_spiff *sp = &c->prog->spiffs[i];
        if (strncmp(s->sku, sp->sku_prefix, strlen(sp->sku_prefix)) != 0 ||
            c->ev->occurred_at < sp->valid_from_ms || c->ev->occurred_at >= sp->valid_to_ms ||
            eff < sp->min_tier)
            continue;
        if (emit_payout(c, key, PROC_PAYOUT_SPIFF, sp->per_unit_minor * s->quantity, sp->id, eff))
            return -1;
    }
    return 0;
}

static int apply_sale(rule_ctx *c)
{
    const proc_sale *s = &c->ev->u.sale;
    if (s->amount_minor > c->prog->max_sale_minor)
        DEAD_LETTER(c, PROC_DLQ_INVALID_EVENT, "amount_minor %" PRId64 " is over max_sale_minor %"
                    PRId64 " of program %s", s->amount_minor, c->prog->max_sale_minor, c->prog->id);
    int64_t rate = proc_program_fx_e8(c->prog, s->currency);
    if (rate == 0)
        DEAD_LETTER(c, PROC_DLQ_UNSUPPORTED_CURRENCY, "currency %s has no fx rate in program %s",
                    s->currency, c->prog->id);
    if (s->kind == PROC_SALE_RETURN)
        DEAD_LETTER(c, PROC_DLQ_RETURN_INVALID, "returns are not supported by this worker yet");
    int64_t amount = proc_div_half_even((__int128)s->amount_minor * rate, PROC_RATE_DEN);
    int32_t key = proc_period_key(c->prog->period, c->ev->occurred_at);
    if (is_late(c, key))
        DEAD_LETTER(c, PROC_DLQ_LATE_EVENT, "period ended more than %d days before the "
                    "partner's latest event", (int)c->prog->allowed_lateness_days);

    /* Checks done: from here on the event is applied. */
    int old_current = proc_current_tier(c->pt);
    int32_t latest_before = latest_key(c->pt);
    bool first = c->pt->n_periods == 0;
    proc_period_state *ps = open_period(c, key);
    if (ps == NULL)
        return -1;
    int eff_old = proc_effective_tier(ps);
    int64_t revenue_before = ps->revenue_minor;
    ps->revenue_minor += amount;
    ps->flags |= PROC_PERIOD_HAS_SALE;
    reevaluate(c->prog, c->pt, ps);
    int eff_new = proc_effective_tier(ps);
    advance_watermark(c->pt, first, c->ev->occurred_at);
    proc_outputs_touch(c->out, key);

    int64_t rebate = c->prog->rebate_mode == PROC_REBATE_RETROACTIVE
                         ? proc_apply_bp(amount, c->prog->tiers[eff_new].rebate_bp)
                         : marginal_rebate(c->prog, revenue_before > 0 ? revenue_before : 0, amount);
    if (emit_payout(c, key, PROC_PAYOUT_REBATE, rebate, c->prog->tiers[eff_new].name, eff_new) ||
        true_up(c, key, eff_old, eff_new, revenue_before) || apply_spiffs(c, key, eff_new) ||
        emit_payout(c, key, PROC_PAYOUT_MDF_ACCRUAL, proc_apply_bp(amount, c->prog->mdf_bp), "mdf",
                    eff_new) ||
        tier_alerts(c, old_current, latest_before) || near_next_tier(c, key))
        return -1;
    return 0;
}

static int apply_certification(rule_ctx *c)
{
    const proc_registration *r = &c->ev->u.reg;
    uint64_t h = proc_hash64(r->certification_id);
    if (proc_partner_has_cert(c->pt, h))
        return 0;                          /* repeats are no-ops (§6.8) */

    int32_t key = proc_period_key(c->prog->period, c->ev->occurred_at);
    int old_current = proc_current_tier(c->pt);
    int32_t latest_before = latest_key(c->pt);
    bool first = c->pt->n_periods == 0;
    proc_period_state *ps = open_period(c, key);
    if (ps == NULL || proc_partner_add_cert(c->pt, h))
        return -1;
    int eff_old = proc_effective_tier(ps);
    c->pt->certifications_total++;
    ps->certifications++;
    reevaluate(c->prog, c->pt, ps);
    int eff_new = proc_effective_tier(ps);
    advance_watermark(c->pt, first, c->ev->occurred_at);
    proc_outputs_touch(c->out, key);

    if (true_up(c, key, eff_old, eff_new, ps->revenue_minor) ||
        emit_payout(c, key, PROC_PAYOUT_CERTIFICATION_BONUS, c->prog->certification_bonus_minor,
                    r->certification_id, eff_new) ||
        tier_alerts(c, old_current, latest_before))
        return -1;
    return 0;
}

static int apply_enrolment(rule_ctx *c)
{
    const proc_registration *r = &c->ev->u.reg;
    const proc_program *prog = proc_catalog_find(c->cat, r->program_id);
    if (prog == NULL) {
        c->out->reason = PROC_DLQ_INVALID_EVENT;
        snprintf(c->out->detail, sizeof c->out->detail, "program_id '%s' is not in the program file",
                 r->program_id);
        return 0;
    }
    if (c->pt->enrolled)
        return 0;                          /* enrolling again is a no-op (§6.1) */
    c->pt->enrolled = true;
    snprintf(c->pt->program_id, sizeof c->pt->program_id, "%s", r->program_id);
    snprintf(c->pt->region, sizeof c->pt->region, "%s", r->has_region ? r->region : "");
    return 0;
}

/* A program file edited to have fewer tiers leaves stored tier indexes past the end:
 * the partner keeps the highest tier that still exists. */
static void clamp_tiers(proc_partner *pt, const proc_program *prog)
{
    for (int i = 0; i < pt->n_periods; i++) {
        proc_period_state *ps = &pt->periods[i];
        if (ps->reached_tier >= prog->n_tiers)
            ps->reached_tier = prog->n_tiers - 1;
        if (ps->held_tier >= prog->n_tiers)
            ps->held_tier = prog->n_tiers - 1;
    }
}

static int dispatch(rule_ctx *c)
{
    const proc_event *ev = c->ev;
    switch (ev->type) {
    case PROC_EVENT_SALE:
        return apply_sale(c);
    case PROC_EVENT_REGISTRATION:
        if (ev->u.reg.kind == PROC_REG_CERTIFICATION_COMPLETED)
            return apply_certification(c);
        DEAD_LETTER(c, PROC_DLQ_INVALID_EVENT, "deal registration is not supported by this worker yet");
    case PROC_EVENT_SURVEY:
        DEAD_LETTER(c, PROC_DLQ_INVALID_EVENT, "surveys are not supported by this worker yet");
    }
    DEAD_LETTER(c, PROC_DLQ_INVALID_EVENT, "unknown event type");
}

int proc_apply(const proc_catalog *cat, proc_partner *pt, const proc_event *ev,
               proc_outputs *out)
{
    rule_ctx c = {cat, NULL, pt, ev, out};
    int rc = 0;

    proc_outputs_reset(out);
    if (!proc_validate(ev, out->detail, sizeof out->detail)) {
        out->reason = PROC_DLQ_INVALID_EVENT;
        return 0;
    }
    uint64_t h = proc_hash64(ev->event_id);
    if (proc_partner_seen(pt, h)) {
        out->duplicate = true;
        return 0;
    }
    if (ev->type == PROC_EVENT_REGISTRATION && ev->u.reg.kind == PROC_REG_PARTNER_ENROLLED) {
        rc = apply_enrolment(&c);
    } else if (!pt->enrolled) {
        out->reason = PROC_DLQ_PARTNER_NOT_ENROLLED;
        snprintf(out->detail, sizeof out->detail, "partner %s is not enrolled in any program",
                 pt->partner_id);
    } else if ((c.prog = proc_catalog_find(cat, pt->program_id)) == NULL) {
        out->reason = PROC_DLQ_PARTNER_NOT_ENROLLED;
        snprintf(out->detail, sizeof out->detail,
                 "partner %s is enrolled in program %s, which the program file no longer has",
                 pt->partner_id, pt->program_id);
    } else {
        clamp_tiers(pt, c.prog);
        rc = dispatch(&c);
    }
    if (rc != 0 || out->reason != PROC_DLQ_NONE)
        return rc;

    if (proc_partner_remember(pt, h, ev->occurred_at))
        return -1;
    if (ev->occurred_at > pt->latest_seen_ms)
        pt->latest_seen_ms = ev->occurred_at;
    out->changed = true;
    /* Pruning is O(state); doing it every 64 remembered ids keeps it off the hot path. */
    if ((pt->n_seen & 63) == 0 && (c.prog || (c.prog = proc_catalog_find(cat, pt->program_id))))
        proc_partner_prune(pt, cat->replay_horizon_ms, c.prog);
    return 0;
}
