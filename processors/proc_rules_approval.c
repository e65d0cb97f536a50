/*
 * Decisions on payouts held for approval (§6.13): an ApprovalEvent APPROVED releases a
 * payout emitted PENDING_APPROVAL, REJECTED cancels it. Either way the decision is one
 * PayoutEvent naming the held payout in decision_of, so a payment system acts on records
 * alone: it pays the APPROVED ones, and a PENDING_APPROVAL record is never payable.
 *
 *   APPROVED  amount = the held amount + the clawbacks held with it (returns of its sale
 *             while it was pending), so the release pays what is still owed.
 *   REJECTED  amount 0, status REJECTED. The held amount and its held clawbacks leave the
 *             period's totals and metrics, and a cash payout's cap room is freed for the
 *             period's later payouts. Returns of its sale claw nothing more back.
 *
 * A decision is not a period event: it opens no period and moves no watermark, and it is
 * applied however late it comes (an approval may take weeks). Its metrics go to the held
 * payout's period.
 */
#include <inttypes.h>
#include <string.h>

#include "proc_rules.h"
#include "proc_text.h"

static const char *state_name(int32_t state)
{
    return state == PROC_HELD_APPROVED ? "APPROVED" : "REJECTED";
}

/* The PayoutEvent that states the decision. */
static int decision_payout(proc_rule_ctx *c, const proc_held_payout *h, bool approved,
                           int64_t net, char id[PROC_ID_CAP])
{
    const proc_approval *a = &c->ev->u.approval;
    const char *parts[] = {c->ev->event_id, "DECISION", h->payout_id};
    proc_payout *p = proc_outputs_add_payout(c->out);
    if (p == NULL)
        return -1;
    proc_make_id(p->payout_id, "po", parts, 3);
    proc_copy(id, PROC_ID_CAP, p->payout_id);
    proc_copy(p->partner_id, sizeof p->partner_id, c->pt->partner_id);
    proc_copy(p->program_id, sizeof p->program_id, c->prog->id);
    p->kind = h->kind;
    p->amount_minor = approved ? net : 0;
    proc_copy(p->currency, sizeof p->currency, c->prog->currency);
    proc_rule_period_name(c, h->period_key, p->period);
    proc_copy(p->tier, sizeof p->tier, h->tier);
    p->status = approved ? PROC_STATUS_APPROVED : PROC_STATUS_REJECTED;
    proc_copy(p->rule_id, sizeof p->rule_id, h->rule_id);
    proc_copy(p->source_event_id, sizeof p->source_event_id, c->ev->event_id);
    p->occurred_at = c->ev->occurred_at;
    p->has_decision_of = true;
    proc_copy(p->decision_of, sizeof p->decision_of, h->payout_id);
    p->has_approver_id = true;
    proc_copy(p->approver_id, sizeof p->approver_id, a->approver_id);
    return 0;
}

static int decision_alert(proc_rule_ctx *c, const proc_held_payout *h, bool approved,
                          int64_t net, const char *decision_id)
{
    const proc_approval *a = &c->ev->u.approval;
    proc_alert_kind kind = approved ? PROC_ALERT_PAYOUT_APPROVED : PROC_ALERT_PAYOUT_REJECTED;
    const char *parts[] = {decision_id, proc_alert_kind_name(kind)};
    proc_alert *al = proc_rule_alert(c, kind, approved ? PROC_SEVERITY_INFO : PROC_SEVERITY_WARNING,
                                     h->period_key, parts, 2);
    if (al == NULL)
        return -1;
    if (approved)
        snprintf(al->message, sizeof al->message,
                 "The %s payout %s to partner %s was approved by %s; %" PRId64 " %s minor "
                 "units are released for payment.",
                 proc_payout_kind_name(h->kind), h->payout_id, c->pt->partner_id,
                 a->approver_id, net, c->prog->currency);
    else
        snprintf(al->message, sizeof al->message,
                 "The %s payout %s to partner %s was rejected by %s and will not be paid.",
                 proc_payout_kind_name(h->kind), h->payout_id, c->pt->partner_id,
                 a->approver_id);
    proc_alert_attr(al, "payout_id", h->payout_id);
    proc_alert_attr(al, "decision_payout_id", decision_id);
    proc_alert_attr(al, "payout_kind", proc_payout_kind_name(h->kind));
    proc_alert_attr_i64(al, "held_minor", h->amount_minor);
    proc_alert_attr_i64(al, "released_minor", approved ? net : 0);
    proc_alert_attr(al, "approver_id", a->approver_id);
    if (a->has_reason && a->reason[0])
        proc_alert_attr(al, "reason", a->reason);
    return 0;
}

/* A rejection takes the held payout and its held clawbacks out of the period: its
 * totals (if the period is still kept), its cap room, and the program metrics. */
static int take_back(proc_rule_ctx *c, const proc_held_payout *h)
{
    proc_payout_kind back_kind =
        h->kind == PROC_PAYOUT_MDF_ACCRUAL ? PROC_PAYOUT_MDF_ACCRUAL : PROC_PAYOUT_CLAWBACK;
    proc_period_state *ps = proc_partner_period(c->pt, h->period_key);
    if (ps != NULL) {
        if (proc_rule_is_cash(h->kind))
            ps->cash_minor -= h->amount_minor;
        ps->payouts_minor -= h->amount_minor + h->clawed_minor;
        if (proc_outputs_touch(c->out, h->period_key))
            return -1;
    }
    if (proc_rule_payout_metrics(c, h->period_key, h->kind, -h->amount_minor))
        return -1;
    if (h->clawed_minor != 0 &&
        proc_rule_payout_metrics(c, h->period_key, back_kind, -h->clawed_minor))
        return -1;
    return 0;
}

int proc_rule_approval(proc_rule_ctx *c)
{
    const proc_approval *a = &c->ev->u.approval;
    uint64_t hash = proc_hash64(a->payout_id);
    proc_held_payout *h = proc_partner_held(c->pt, hash);

    if (h == NULL || strcmp(h->payout_id, a->payout_id) != 0)
        PROC_DEAD_LETTER(c, PROC_DLQ_APPROVAL_UNKNOWN_PAYOUT,
                         "payout %s is not held for approval for partner %s (unknown, another "
                         "partner's, emitted APPROVED, a clawback held with its payout, or "
                         "decided long enough ago to be forgotten)",
                         a->payout_id, c->pt->partner_id);
    if (h->state != PROC_HELD_PENDING)
        PROC_DEAD_LETTER(c, PROC_DLQ_APPROVAL_ALREADY_DECIDED, "payout %s was already %s",
                         h->payout_id, state_name(h->state));
    if (c->ev->occurred_at < h->occurred_at)
        PROC_DEAD_LETTER(c, PROC_DLQ_INVALID_EVENT,
                         "the decision occurred before payout %s was earned", h->payout_id);

    /* Checks done: from here on the decision is applied. */
    bool approved = a->decision == PROC_DECISION_APPROVED;
    int64_t net = h->amount_minor + h->clawed_minor;
    char decision_id[PROC_ID_CAP];
    if (decision_payout(c, h, approved, net, decision_id) ||
        proc_rule_kpi(c, h->period_key, "approval_pending_minor", -net) ||
        proc_rule_kpi(c, h->period_key,
                      approved ? "approval_approved_minor" : "approval_rejected_minor", net) ||
        (!approved && take_back(c, h)))
        return -1;
    h->state = approved ? PROC_HELD_APPROVED : PROC_HELD_REJECTED;
    if (proc_partner_held_changed(c->pt, hash))
        return -1;
    return decision_alert(c, h, approved, net, decision_id);
}
