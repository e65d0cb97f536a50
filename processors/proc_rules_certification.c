/* CERTIFICATION_COMPLETED (CONTRACT §6.8): a bonus, and a step toward tiers that need it.
 * Like every period event it is LATE_EVENT in a period closed to late events: a closed
 * period's books (revenue, cap, leaderboard scores) are final, and once pruned from the
 * state they could not even be read to book it correctly. */
#include "proc_rules.h"

int proc_rule_certification(proc_rule_ctx *c)
{
    const proc_registration *r = &c->ev->u.reg;
    int32_t key = proc_period_key(c->prog->period, c->ev->occurred_at);
    if (proc_rule_late(c, key))
        return 0;
    uint64_t h = proc_hash64(r->certification_id);
    if (proc_partner_has_cert(c->pt, h))
        return 0;                          /* repeats are no-ops (§6.8) */

    proc_period_event pe;
    proc_period_state *ps = proc_rule_period_begin(c, &pe, key);
    if (ps == NULL || proc_partner_add_cert(c->pt, h))
        return -1;
    c->pt->certifications_total++;
    ps->certifications++;
    proc_rule_reevaluate(c, ps);
    int eff = proc_effective_tier(ps);
    if (proc_outputs_touch(c->out, key) ||
        proc_rule_kpi(c, key, "certifications", 1) ||
        proc_rule_true_up(c, key, pe.eff_old, eff, ps->revenue_minor) ||
        proc_rule_payout(c, key, PROC_PAYOUT_CERTIFICATION_BONUS,
                         c->prog->certification_bonus_minor, r->certification_id, eff) ||
        proc_rule_period_end(c, &pe))
        return -1;
    return 0;
}
