/*
 * Deal registration events (CONTRACT §6.7): DEAL_REGISTERED, DEAL_APPROVED, DEAL_REJECTED.
 *
 * They are registrations, not period events: they open no period and do not move the
 * watermark (a deal is registered long before it is sold). Their metrics go to the
 * period of their occurred_at under the partner's program.
 */
#include <inttypes.h>
#include <string.h>

#include "proc_rules.h"

static int64_t validity_ms(const proc_rule_ctx *c)
{
    return (int64_t)c->prog->deal_validity_days * PROC_MS_PER_DAY;
}

/* A claim is open when registered, or approved no more than validity_days before `at`;
 * a rejected or expired claim is closed and the deal may be registered anew. */
static bool claim_open(const proc_rule_ctx *c, const proc_deal *d, int64_t at)
{
    if (d->status == PROC_DEAL_REGISTERED)
        return true;
    return d->status == PROC_DEAL_APPROVED &&
           (__int128)at <= (__int128)d->approved_at + validity_ms(c);
}

static bool held_by_partner(const proc_rule_ctx *c, const proc_deal *d)
{
    return d->status != PROC_DEAL_NONE && strcmp(d->partner_id, c->pt->partner_id) == 0;
}

static int conflict_alert(proc_rule_ctx *c, int32_t key)
{
    const proc_deal *d = c->deal;
    const char *parts[] = {c->ev->event_id, "DEAL_CONFLICT", d->deal_id};
    proc_alert *a = proc_rule_alert(c, PROC_ALERT_DEAL_CONFLICT, PROC_SEVERITY_WARNING, key,
                                    parts, 3);
    if (a == NULL)
        return -1;
    snprintf(a->message, sizeof a->message,
             "Partner %s tried to register deal %s, which partner %s already holds; the "
             "registration was refused.", c->pt->partner_id, d->deal_id, d->partner_id);
    proc_alert_attr(a, "deal_id", d->deal_id);
    proc_alert_attr(a, "held_by", d->partner_id);
    return 0;
}

static int register_deal(proc_rule_ctx *c, int32_t key)
{
    const proc_registration *r = &c->ev->u.reg;
    proc_deal *d = c->deal;

    if (claim_open(c, d, c->ev->occurred_at)) {
        if (held_by_partner(c, d))
            return 0;                      /* one's own open deal again: a no-op */
        return conflict_alert(c, key);     /* refused: the deal stays as it is */
    }
    /* A new claim. `won` survives it: a deal is won once, whoever holds it later, so the
     * deals_won metric and the points can never count it twice. */
    d->status = PROC_DEAL_REGISTERED;
    snprintf(d->partner_id, sizeof d->partner_id, "%s", c->pt->partner_id);
    d->registered_at = c->ev->occurred_at;
    d->approved_at = 0;
    d->has_value = r->has_deal_value_minor;
    d->deal_value_minor = r->has_deal_value_minor ? r->deal_value_minor : 0;
    c->out->deal_changed = true;
    return proc_rule_kpi(c, key, "deals_registered", 1);
}

int proc_rule_deal(proc_rule_ctx *c)
{
    const proc_registration *r = &c->ev->u.reg;
    proc_deal *d = c->deal;
    int32_t key = proc_period_key(c->prog->period, c->ev->occurred_at);

    if (r->kind == PROC_REG_DEAL_REGISTERED)
        return register_deal(c, key);
    if (!held_by_partner(c, d))
        PROC_DEAD_LETTER(c, PROC_DLQ_INVALID_EVENT, "partner %s does not hold deal %s%s%s",
                         c->pt->partner_id, d->deal_id,
                         d->status == PROC_DEAL_NONE ? " (nobody registered it)" : "; it is held by ",
                         d->status == PROC_DEAL_NONE ? "" : d->partner_id);
    if (d->status != PROC_DEAL_REGISTERED)
        return 0;                          /* already settled: a no-op */
    c->out->deal_changed = true;
    if (r->kind == PROC_REG_DEAL_REJECTED) {
        d->status = PROC_DEAL_REJECTED;
        return 0;
    }
    d->status = PROC_DEAL_APPROVED;
    d->approved_at = c->ev->occurred_at;
    return proc_rule_kpi(c, key, "deals_approved", 1);
}
