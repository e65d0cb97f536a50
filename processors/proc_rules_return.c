/* RETURN events (SPEC §6.11): lower the return's own period and claw back a share of
 * every payout the returned sale emitted. */
#include <inttypes.h>
#include <string.h>

#include "proc_money.h"
#include "proc_rules.h"

/*
 * The share of a payout one return takes back, exactly as SPEC §6.11 writes it:
 * round_half_even(amount × returned / original amount), each return on its own. A sale
 * returned in several pieces can therefore claw back a cent more or less in total than
 * one full return would (a 5-cent rebate returned as 30 % + 30 % + 40 % gives 2 + 2 + 2);
 * the contract fixes the per-return formula, so the code follows it.
 */
static int64_t share(int64_t payout, int64_t returned, int64_t sale_amount)
{
    return proc_div_half_even((__int128)payout * returned, sale_amount);
}

int proc_rule_return(proc_rule_ctx *c, int64_t amount)
{
    const proc_sale *s = &c->ev->u.sale;
    proc_sale_payout *payouts;
    proc_sale_record *rec = proc_partner_sale(c->pt, proc_hash64(s->original_event_id), &payouts);
    int64_t window = (int64_t)c->prog->return_window_days * PROC_MS_PER_DAY;  /* inclusive */

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
    rec->returned_minor += amount;
    if (proc_outputs_touch(c->out, key) || proc_rule_kpi(c, key, "revenue_minor", -amount))
        return -1;

    /* One reversal per payout, in the order the sale emitted them; MDF is a fund credit,
     * so it is reversed by a negative accrual rather than a (cash) clawback. Neither is
     * capped nor frees cap room (§6.12). */
    for (int i = 0; i < rec->n_payouts; i++) {
        const proc_sale_payout *p = &payouts[i];
        int64_t back = share(p->amount_minor, amount, rec->amount_minor);
        proc_payout_kind kind =
            p->kind == PROC_PAYOUT_MDF_ACCRUAL ? PROC_PAYOUT_MDF_ACCRUAL : PROC_PAYOUT_CLAWBACK;
        if (proc_rule_payout(c, key, kind, -back, p->payout_id, eff))
            return -1;
    }
    return proc_rule_period_end(c, &pe);
}
