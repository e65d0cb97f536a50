/*
 * proc_apply: checks common to every event (validation, duplicates, enrolment), then the
 * rule of the event's kind (proc_rules_*.c), then remembering the event id.
 */
#include "proc_engine.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proc_rules.h"

static int apply_enrolment(proc_rule_ctx *c)
{
    const proc_registration *r = &c->ev->u.reg;
    if (proc_catalog_find(c->cat, r->program_id) == NULL)
        PROC_DEAD_LETTER(c, PROC_DLQ_INVALID_EVENT, "program_id '%s' is not in the program file",
                         r->program_id);
    if (c->pt->enrolled)
        return 0;                          /* enrolling again is a no-op (§6.1) */
    c->pt->enrolled = true;
    if (proc_partner_set_strings(c->pt, c->pt->partner_id, r->program_id,
                                 r->has_region ? r->region : ""))
        return -1;
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

/* @returns the deal id whose claim the rules need for this event, or NULL: the deal of
 * DEAL_REGISTERED / DEAL_APPROVED / DEAL_REJECTED, and the deal a SALE names (for its
 * bonus). A RETURN's deal_id plays no part: the clawback follows the recorded payouts. */
static const char *deal_named(const proc_event *ev)
{
    if (ev->type == PROC_EVENT_REGISTRATION &&
        (ev->u.reg.kind == PROC_REG_DEAL_REGISTERED || ev->u.reg.kind == PROC_REG_DEAL_APPROVED ||
         ev->u.reg.kind == PROC_REG_DEAL_REJECTED))
        return ev->u.reg.deal_id;
    if (ev->type == PROC_EVENT_SALE && ev->u.sale.kind == PROC_SALE_SALE &&
        ev->u.sale.has_deal_id && ev->u.sale.deal_id[0])
        return ev->u.sale.deal_id;
    return NULL;
}

static int dispatch(proc_rule_ctx *c)
{
    const proc_event *ev = c->ev;
    switch (ev->type) {
    case PROC_EVENT_SALE:
        return proc_rule_sale_event(c);
    case PROC_EVENT_REGISTRATION:
        if (ev->u.reg.kind == PROC_REG_CERTIFICATION_COMPLETED)
            return proc_rule_certification(c);
        return proc_rule_deal(c);          /* enrolment never gets here */
    case PROC_EVENT_SURVEY:
        return proc_rule_survey(c);
    case PROC_EVENT_APPROVAL:
        return proc_rule_approval(c);
    }
    PROC_DEAD_LETTER(c, PROC_DLQ_INVALID_EVENT, "unknown event type");
}

/* The leaderboard rows the event touched, with the values it left: taken before the
 * pruning below, which may drop an older period (never the one just changed: it was open
 * to this event, so the period after it is not closed yet). */
static void fill_rows(proc_outputs *out, const proc_partner *pt, const proc_program *prog)
{
    for (int i = 0; i < out->n_rows; i++) {
        const proc_period_state *ps = proc_partner_period(pt, out->rows[i].period_key);
        if (ps != NULL) {
            out->rows[i].revenue_minor = ps->revenue_minor;
            out->rows[i].points = proc_period_points(prog, ps);
        }
    }
}

int proc_apply(const proc_catalog *cat, proc_partner *pt, const proc_event *ev, proc_deal *deal,
               proc_outputs *out)
{
    proc_rule_ctx c = {cat, NULL, pt, ev, NULL, out, NULL};
    int rc = 0;

    proc_outputs_reset(out);
    if (!proc_validate(ev, out->detail, sizeof out->detail)) {
        out->reason = PROC_DLQ_INVALID_EVENT;
        return 0;
    }
    /* The caller's side of the contract: without the claim record the bonus or the claim
     * would silently be decided against an empty deal. */
    const char *deal_id = deal_named(ev);
    if (deal_id != NULL) {
        if (deal == NULL || strcmp(deal->deal_id, deal_id) != 0) {
            errno = EINVAL;
            return -1;
        }
        c.deal = deal;
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

    fill_rows(out, pt, c.prog);
    if (proc_partner_remember(pt, h, ev->occurred_at))
        return -1;
    if (ev->occurred_at > pt->latest_seen_ms)
        pt->latest_seen_ms = ev->occurred_at;
    out->changed = true;
    /* Pruning is O(state); doing it every 64 remembered ids keeps it off the hot path. */
    if ((pt->n_seen & 63) == 0 && (c.prog || (c.prog = proc_catalog_find(cat, pt->program_id))))
        return proc_partner_prune(pt, cat->replay_horizon_ms, c.prog);
    return 0;
}
