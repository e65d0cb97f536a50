/* SALE events: conversion (§6.2), rebates (§6.5), SPIFFs (§6.6), the deal registration
 * bonus and the deal win (§6.7), MDF (§6.10); RETURNs share the first checks. */
#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include "proc_money.h"
#include "proc_currency.h"
#include "proc_rules.h"

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

static int apply_spiffs(proc_rule_ctx *c, int32_t key, int eff)
{
    const proc_sale *s = &c->ev->u.sale;
    for (int i = 0; i < c->prog->n_spiffs; i++) {
        const proc_spiff *sp = &c->prog->spiffs[i];
        if (strncmp(s->sku, sp->sku_prefix, strlen(sp->sku_prefix)) != 0 ||
            c->ev->occurred_at < sp->valid_from_ms || c->ev->occurred_at >= sp->valid_to_ms ||
            eff < sp->min_tier)
            continue;
        /* In 128 bits: the program file allows any per-unit amount and the event any
         * quantity, and a signed overflow here would be undefined. A product past
         * INT64_MAX is held there; the cap then cuts it like any other payout. */
        __int128 spiff = (__int128)sp->per_unit_minor * s->quantity;
        proc_explain ex = {.has_per_unit = true, .per_unit_minor = sp->per_unit_minor,
                           .has_quantity = true, .quantity = s->quantity};
        c->explain = &ex;
        if (proc_rule_payout(c, key, PROC_PAYOUT_SPIFF,
                             spiff > INT64_MAX ? INT64_MAX : (int64_t)spiff, sp->id, eff))
            return -1;
    }
    return 0;
}

/* True when the sale earns the deal registration bonus (§6.7): it names a deal this
 * partner holds approved, and occurred no later than validity_days after the approval.
 * A sale naming any other deal (unknown, someone else's, not approved, expired) earns
 * no bonus but is applied as a sale. */
static bool earns_deal_bonus(const proc_rule_ctx *c)
{
    const proc_deal *d = c->deal;
    if (d == NULL || d->status != PROC_DEAL_APPROVED ||
        strcmp(d->partner_id, c->pt->partner_id) != 0)
        return false;
    return (__int128)c->ev->occurred_at <=
           (__int128)d->approved_at + (int64_t)c->prog->deal_validity_days * PROC_MS_PER_DAY;
}

/* The first bonus-earning sale of a deal wins it, once for all partners and claims: the
 * win counts in the sale's period (points per_deal_won, metric deals_won). */
static int win_deal(proc_rule_ctx *c, int32_t key)
{
    if (c->deal->won)
        return 0;
    c->deal->won = true;
    c->out->deal_changed = true;
    proc_partner_period(c->pt, key)->deals_won++;
    return proc_rule_kpi(c, key, "deals_won", 1);
}

/* Keeps the sale and the payouts it just emitted (outputs from index `first` on) for its
 * returns. The true-up is not kept: a return does not reverse it (§6.11). A sale worth
 * nothing once converted (a few units of a weak currency) is not kept: there is nothing to
 * return, and a return's share is computed by dividing by the sale's amount. */
static int record_sale(proc_rule_ctx *c, int64_t amount, int first)
{
    _Static_assert(PROC_MAX_SALE_PAYOUTS == PROC_MAX_SPIFFS + 3, "rebate, SPIFFs, bonus, MDF");
    proc_sale_payout kept[PROC_MAX_SALE_PAYOUTS];
    proc_sale_record rec = {proc_hash64(c->ev->event_id), c->ev->occurred_at, amount, 0, 0};
    if (amount == 0)
        return 0;
    for (int i = first; i < c->out->n_payouts; i++) {
        const proc_payout *p = &c->out->payouts[i];
        if (p->kind == PROC_PAYOUT_TIER_TRUE_UP)
            continue;
        proc_sale_payout *k = &kept[rec.n_payouts++];
        k->kind = p->kind;
        k->amount_minor = p->amount_minor;
        snprintf(k->payout_id, sizeof k->payout_id, "%s", p->payout_id);
    }
    return proc_partner_add_sale(c->pt, &rec, kept);
}

static int apply_sale(proc_rule_ctx *c, int64_t amount)
{
    int32_t key = proc_period_key(c->prog->period, c->ev->occurred_at);
    if (proc_rule_late(c, key))
        return 0;

    /* Checks done: from here on the event is applied. */
    proc_period_event pe;
    proc_period_state *ps = proc_rule_period_begin(c, &pe, key);
    if (ps == NULL)
        return -1;
    int64_t revenue_before = ps->revenue_minor;
    ps->revenue_minor += amount;
    ps->flags |= PROC_PERIOD_HAS_SALE;
    proc_rule_reevaluate(c, ps);
    int eff = proc_effective_tier(ps);
    bool deal_bonus = earns_deal_bonus(c);
    int first = c->out->n_payouts;
    if (proc_outputs_touch(c->out, key))
        return -1;

    bool retroactive = c->prog->rebate_mode == PROC_REBATE_RETROACTIVE;
    int64_t rebate = retroactive
                         ? proc_apply_bp(amount, c->prog->tiers[eff].rebate_bp)
                         : marginal_rebate(c->prog, revenue_before > 0 ? revenue_before : 0, amount);
    proc_explain rebate_ex = {.has_basis = true, .basis_minor = amount,
                              .has_rate_bp = retroactive, .rate_bp = c->prog->tiers[eff].rebate_bp};
    proc_explain bonus_ex = {.has_basis = true, .basis_minor = amount,
                             .has_rate_bp = true, .rate_bp = c->prog->deal_bonus_bp};
    proc_explain mdf_ex = {.has_basis = true, .basis_minor = amount,
                           .has_rate_bp = true, .rate_bp = c->prog->mdf_bp};
    c->explain = &rebate_ex;
    if (proc_rule_kpi(c, key, "revenue_minor", amount) ||
        proc_rule_payout(c, key, PROC_PAYOUT_REBATE, rebate, c->prog->tiers[eff].name, eff) ||
        proc_rule_true_up(c, key, pe.eff_old, eff, revenue_before) ||
        apply_spiffs(c, key, eff))
        return -1;
    c->explain = deal_bonus ? &bonus_ex : NULL;
    if (deal_bonus &&
        (proc_rule_payout(c, key, PROC_PAYOUT_DEAL_REGISTRATION_BONUS,
                          proc_apply_bp(amount, c->prog->deal_bonus_bp), c->deal->deal_id, eff) ||
         win_deal(c, key)))
        return -1;
    c->explain = &mdf_ex;
    if (proc_rule_payout(c, key, PROC_PAYOUT_MDF_ACCRUAL, proc_apply_bp(amount, c->prog->mdf_bp),
                         "mdf", eff) ||
        record_sale(c, amount, first) || proc_rule_period_end(c, &pe) ||
        proc_rule_near_next_tier(c, key))
        return -1;
    return 0;
}

int proc_rule_sale_event(proc_rule_ctx *c)
{
    const proc_sale *s = &c->ev->u.sale;
    if (s->amount_minor > c->prog->max_sale_minor)
        PROC_DEAD_LETTER(c, PROC_DLQ_INVALID_EVENT, "amount_minor %" PRId64 " is over "
                         "max_sale_minor %" PRId64 " of program %s", s->amount_minor,
                         c->prog->max_sale_minor, c->prog->id);
    int64_t rate = proc_program_fx_e8(c->prog, s->currency);
    int e_src = proc_currency_exponent(s->currency), e_prog = proc_currency_exponent(c->prog->currency);
    if (rate == 0 || e_src < 0 || e_prog < 0)
        PROC_DEAD_LETTER(c, PROC_DLQ_UNSUPPORTED_CURRENCY, "currency %s has no fx rate in "
                         "program %s", s->currency, c->prog->id);
    int64_t amount = proc_convert_minor(s->amount_minor, rate, e_src, e_prog);
    if (s->kind == PROC_SALE_RETURN)
        return proc_rule_return(c, amount);
    return apply_sale(c, amount);
}
