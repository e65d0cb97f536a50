/* RETURN events (CONTRACT §6.11): lower the return's own period and claw back a share of
 * every payout the returned sale emitted. */
#include <inttypes.h>
#include <string.h>

#include "proc_money.h"
#include "proc_rules.h"

/*
 * What one return claws back of one payout: the running share (issue #6). With R_k the
 * converted amount returned so far including this return, the k-th return takes
 *     round_half_even(payout × R_k / original) − round_half_even(payout × R_{k−1} / original)
 * so the clawbacks of a sale always sum to exactly what one return of the same total
 * would take, and a fully returned sale gives back its payouts to the cent (a 5-cent
 * rebate returned 30 % + 30 % + 40 % claws back 2 + 1 + 2, not 2 + 2 + 2). The same rule
 * gives the negative MDF accruals.
 */
static int64_t share(int64_t payout, int64_t returned, int64_t sale_amount)
{
    return proc_div_half_even((__int128)payout * returned, sale_amount);
}

static int64_t running_share(int64_t payout, int64_t before, int64_t after, int64_t sale_amount)
{
    return share(payout, after, sale_amount) - share(payout, before, sale_amount);
}

int proc_rule_return(proc_rule_ctx *c, int64_t amount)
{
    const proc_sale *s = &c->ev->u.sale;
    proc_sale_payout *payouts;
    proc_sale_record *rec = proc_partner_sale(c->pt, proc_hash64(s->original_event_id), &payouts);
    int64_t window = (int64_t)c->prog->return_window_days * PROC_MS_PER_DAY;  /* inclusive */

    if (rec == NULL && proc_partner_sale_open(c->pt, proc_hash64(s->original_event_id)))
        return -1;                  /* the caller did not load it: an error, not a verdict */
    if (rec == NULL)
        PROC_DEAD_LETTER(c, PROC_DLQ_RETURN_INVALID, "original_event_id %s is not a sale of "
                         "partner %s open to returns (unknown, another partner's, not a SALE, "
                         "or past its return window)", s->original_event_id, c->pt->partner_id);
    if (c->ev->occurred_at < rec->occurred_at)
        PROC_DEAD_LETTER(c, PROC_DLQ_RETURN_INVALID, "the return occurred before sale %s",
                         s->original_event_id);
    if ((__int128)c->ev->occurred_at > (__int128)rec->occurred_at + window)
        PROC_DEAD_LETTER(c, PROC_DLQ_RETURN_INVALID, "the return occurred more than "
                         "return_window_days (%d) after sale %s",
                         (int)c->prog->return_window_days, s->original_event_id);
    if (amount > rec->amount_minor - rec->returned_minor)
        PROC_DEAD_LETTER(c, PROC_DLQ_RETURN_INVALID, "the return of %" PRId64 " (converted) is "
                         "more than the %" PRId64 " left of sale %s", amount,
                         rec->amount_minor - rec->returned_minor, s->original_event_id);
    int32_t key = proc_period_key(c->prog->period, c->ev->occurred_at);
    if (proc_rule_late(c, key))
        return 0;

    /* Checks done: from here on the event is applied. The revenue of the return's own
     * period falls (it may go below zero); its reached tier does not (§6.4). */
    proc_period_event pe;
    proc_period_state *ps = proc_rule_period_begin(c, &pe, key);
    if (ps == NULL)
        return -1;
    ps->revenue_minor -= amount;
    int eff = proc_effective_tier(ps);
    int64_t returned_before = rec->returned_minor;
    rec->returned_minor += amount;
    if (proc_partner_sale_changed(c->pt, rec->hash))
        return -1;
    if (proc_outputs_touch(c->out, key) || proc_rule_kpi(c, key, "revenue_minor", -amount))
        return -1;

    /* One reversal per payout, in the order the sale emitted them; MDF is a fund credit,
     * so it is reversed by a negative accrual rather than a (cash) clawback. Neither is
     * capped nor frees cap room (§6.12). */
    for (int i = 0; i < rec->n_payouts; i++) {
        const proc_sale_payout *p = &payouts[i];
        int64_t back = running_share(p->amount_minor, returned_before, rec->returned_minor,
                                     rec->amount_minor);
        proc_payout_kind kind =
            p->kind == PROC_PAYOUT_MDF_ACCRUAL ? PROC_PAYOUT_MDF_ACCRUAL : PROC_PAYOUT_CLAWBACK;
        /* A payout held for approval (§6.13): a rejected one was never paid, so nothing
         * comes back; a pending one's clawback is held with it. */
        uint64_t h = proc_hash64(p->payout_id);
        const proc_held_payout *held = proc_partner_held(c->pt, h);
        if (held != NULL && held->state == PROC_HELD_REJECTED)
            continue;
        proc_explain ex = {.has_basis = true, .basis_minor = p->amount_minor,
                           .has_sale = true, .sale_minor = rec->amount_minor,
                           .has_returned_before = true, .returned_before_minor = returned_before,
                           .has_returned_after = true, .returned_after_minor = rec->returned_minor};
        c->explain = &ex;
        if (held != NULL && held->state == PROC_HELD_PENDING
                ? proc_rule_payout_tied(c, key, kind, -back, p->payout_id, eff, h)
                : proc_rule_payout(c, key, kind, -back, p->payout_id, eff))
            return -1;
    }
    return proc_rule_period_end(c, &pe);
}
