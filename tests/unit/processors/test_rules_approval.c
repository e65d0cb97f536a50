/*
 * test_rules_approval.c — decisions on payouts held for approval (§6.13) on the example
 * program of §5 (approval from 1,000,000, cap 20,000,000, MDF 100 bp, return window 90
 * days). The held payout throughout: a sale of 60,000,000 at Silver (2 %) emits a REBATE of
 * 1,200,000 PENDING_APPROVAL and an MDF_ACCRUAL of 600,000 (APPROVED: under the threshold).
 * Payment systems pay the APPROVED records, so every test also checks what they would pay.
 */
#include "test_fixtures.h"

#define OK PROC_STATUS_APPROVED
#define PENDING PROC_STATUS_PENDING_APPROVAL
#define REJECTED PROC_STATUS_REJECTED
#define APPROVE PROC_DECISION_APPROVED
#define REJECT PROC_DECISION_REJECTED

/* Sells s-1 and @returns (in id) the held rebate's payout_id. */
static void held_sale(fx_world *w, char id[PROC_ID_CAP])
{
    fx_enrol(w);
    proc_outputs *o = fx_sale(w, "s-1", Q4D(1), 60000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, "Silver", 1200000, "Silver", PENDING, "2026-Q4");
    fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, NULL, 600000, "Silver", OK, "2026-Q4");
    assert_i64(fx_kpi(o, KEY_Q4, "approval_pending_minor"), 1200000);
    snprintf(id, PROC_ID_CAP, "%s", fx_payout(o, PROC_PAYOUT_REBATE, NULL)->payout_id);
    assert_int_equal(w->pt.n_held, 1);
    assert_int_equal(w->pt.held[0].state, PROC_HELD_PENDING);
}

/* What a payment system pays of the payouts in o: the APPROVED amounts. */
static int64_t payable(const proc_outputs *o)
{
    int64_t sum = 0;
    for (int i = 0; i < o->n_payouts; i++)
        if (o->payouts[i].status == OK)
            sum += o->payouts[i].amount_minor;
    return sum;
}

static void test_approve_releases_the_payout(void **state)
{
    fx_world *w = *state;
    char held[PROC_ID_CAP];
    held_sale(w, held);

    w->ev.u.approval.has_reason = false;
    proc_outputs *o = fx_decide(w, "d-1", Q4D(20), held, APPROVE);
    assert_int_equal(o->n_payouts, 1);
    const proc_payout *p = &o->payouts[0];
    assert_int_equal(p->kind, PROC_PAYOUT_REBATE);
    assert_i64(p->amount_minor, 1200000);
    assert_int_equal(p->status, OK);
    assert_true(p->has_decision_of);
    assert_string_equal(p->decision_of, held);
    assert_true(p->has_approver_id);
    assert_string_equal(p->approver_id, "cfo-1");
    assert_string_equal(p->period, "2026-Q4");
    assert_string_equal(p->tier, "Silver");
    assert_string_equal(p->rule_id, "Silver");
    assert_string_equal(p->source_event_id, "d-1");
    assert_i64(p->occurred_at, Q4D(20));
    assert_int_equal(strncmp(p->payout_id, "po_", 3), 0);
    assert_string_not_equal(p->payout_id, held);

    const proc_alert *a = fx_alert(o, PROC_ALERT_PAYOUT_APPROVED);
    assert_int_equal(o->n_alerts, 1);
    assert_int_equal(a->severity, PROC_SEVERITY_INFO);
    assert_string_equal(fx_attr(a, "payout_id"), held);
    assert_string_equal(fx_attr(a, "decision_payout_id"), p->payout_id);
    assert_string_equal(fx_attr(a, "released_minor"), "1200000");
    assert_string_equal(fx_attr(a, "approver_id"), "cfo-1");

    /* The held amount was counted when it was emitted: only the approval metrics move. */
    assert_i64(fx_kpi(o, KEY_Q4, "approval_pending_minor"), -1200000);
    assert_i64(fx_kpi(o, KEY_Q4, "approval_approved_minor"), 1200000);
    assert_i64(fx_kpi(o, KEY_Q4, "payouts_total_minor"), 0);
    assert_int_equal(o->n_kpi, 2);
    assert_i64(fx_period_at(w, Q4D(1))->cash_minor, 1200000);
    assert_i64(fx_period_at(w, Q4D(1))->payouts_minor, 1800000);
    assert_int_equal(w->pt.held[0].state, PROC_HELD_APPROVED);
    /* A decision is no period event: the watermark stays at the sale. */
    assert_i64(w->pt.watermark_ms, Q4D(1));
}

static void test_reject_cancels_and_frees_the_totals(void **state)
{
    fx_world *w = *state;
    char held[PROC_ID_CAP];
    held_sale(w, held);

    fx_decision_ev(w, "d-1", Q4D(20), held, REJECT);
    w->ev.u.approval.has_reason = true;
    snprintf(w->ev.u.approval.reason, sizeof w->ev.u.approval.reason, "claimed twice");
    proc_outputs *o = fx_applied(w);
    assert_int_equal(o->n_payouts, 1);
    const proc_payout *p = &o->payouts[0];
    assert_int_equal(p->kind, PROC_PAYOUT_REBATE);
    assert_i64(p->amount_minor, 0);
    assert_int_equal(p->status, REJECTED);
    assert_string_equal(p->decision_of, held);
    assert_i64(payable(o), 0);

    const proc_alert *a = fx_alert(o, PROC_ALERT_PAYOUT_REJECTED);
    assert_int_equal(a->severity, PROC_SEVERITY_WARNING);
    assert_string_equal(fx_attr(a, "reason"), "claimed twice");
    assert_string_equal(fx_attr(a, "held_minor"), "1200000");
    assert_string_equal(fx_attr(a, "released_minor"), "0");

    /* The rejected amount leaves every total it was counted in. */
    assert_i64(fx_kpi(o, KEY_Q4, "approval_pending_minor"), -1200000);
    assert_i64(fx_kpi(o, KEY_Q4, "approval_rejected_minor"), 1200000);
    assert_i64(fx_kpi(o, KEY_Q4, "payouts_minor:REBATE"), -1200000);
    assert_i64(fx_kpi(o, KEY_Q4, "payouts_total_minor"), -1200000);
    assert_i64(fx_kpi(o, KEY_Q4, "cash_and_clawbacks_minor"), -1200000);
    assert_i64(fx_period_at(w, Q4D(1))->cash_minor, 0);
    assert_i64(fx_period_at(w, Q4D(1))->payouts_minor, 600000);
    assert_int_equal(o->n_rows, 1);             /* the partner hash shows the new total */
    assert_int_equal(w->pt.held[0].state, PROC_HELD_REJECTED);
}

/* A rejected cash payout frees its cap room for the period's later payouts; what the cap
 * cut before is not paid again. */
static void test_reject_frees_cap_room(void **state)
{
    fx_world *w = *state;
    char held[PROC_ID_CAP];
    w->progs[0].cap_per_period_minor = 1500000;
    held_sale(w, held);                                         /* cash 1,200,000 */
    proc_outputs *o = fx_sale(w, "s-2", Q4D(2), 30000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, "Silver", 300000, "Silver", OK, "2026-Q4");
    fx_alert(o, PROC_ALERT_CAP_REACHED);
    o = fx_sale(w, "s-3", Q4D(3), 10000000, "SW-1", 1);        /* room 0: nothing */
    assert_int_equal(fx_n_alerts(o, PROC_ALERT_CAP_REACHED), 0);
    for (int i = 0; i < o->n_payouts; i++)
        assert_int_not_equal(o->payouts[i].kind, PROC_PAYOUT_REBATE);

    fx_decide(w, "d-1", Q4D(4), held, REJECT);
    assert_i64(fx_period_at(w, Q4D(1))->cash_minor, 300000);
    o = fx_sale(w, "s-4", Q4D(5), 10000000, "SW-1", 1);        /* 2 % of 10,000,000 */
    fx_expect_payout(o, PROC_PAYOUT_REBATE, "Silver", 200000, "Silver", OK, "2026-Q4");
}

static void test_second_decision_and_redelivery(void **state)
{
    fx_world *w = *state;
    char held[PROC_ID_CAP];
    held_sale(w, held);
    fx_decide(w, "d-1", Q4D(20), held, APPROVE);

    fx_decision_ev(w, "d-2", Q4D(21), held, REJECT);
    proc_outputs *o = fx_dead(w, PROC_DLQ_APPROVAL_ALREADY_DECIDED);
    assert_non_null(strstr(o->detail, "already APPROVED"));
    fx_decision_ev(w, "d-3", Q4D(21), held, APPROVE);
    fx_dead(w, PROC_DLQ_APPROVAL_ALREADY_DECIDED);

    /* The same decision again (a redelivery) is a duplicate: nothing at all. */
    fx_decision_ev(w, "d-1", Q4D(20), held, APPROVE);
    o = fx_apply(w);
    assert_true(o->duplicate);
    assert_int_equal(o->n_payouts + o->n_alerts + o->n_kpi, 0);
}

static void test_unknown_payouts(void **state)
{
    fx_world *w = *state;
    char held[PROC_ID_CAP], mdf[PROC_ID_CAP], other[PROC_ID_CAP];
    held_sale(w, held);
    /* (held_sale's outputs are gone; the MDF id is rebuilt from a second sale) */
    proc_outputs *o = fx_sale(w, "s-2", Q4D(2), 1000000, "SW-1", 1);
    snprintf(mdf, sizeof mdf, "%s", fx_payout(o, PROC_PAYOUT_MDF_ACCRUAL, NULL)->payout_id);

    fx_decision_ev(w, "d-1", Q4D(20), "po_00000000000000000000000000000000", APPROVE);
    o = fx_dead(w, PROC_DLQ_APPROVAL_UNKNOWN_PAYOUT);
    assert_non_null(strstr(o->detail, "not held for approval"));
    fx_decision_ev(w, "d-2", Q4D(20), mdf, APPROVE);          /* emitted APPROVED */
    fx_dead(w, PROC_DLQ_APPROVAL_UNKNOWN_PAYOUT);

    /* Another partner's held payout is not this partner's to decide. */
    fx_enrol_pt(w, &w->pt2);
    fx_sale_ev(w, "s-9", Q4D(1), 60000000, "EUR", "SW-1", 1);
    o = fx_applied_pt(w, &w->pt2);
    snprintf(other, sizeof other, "%s", fx_payout(o, PROC_PAYOUT_REBATE, NULL)->payout_id);
    fx_decision_ev(w, "d-3", Q4D(20), other, APPROVE);
    fx_dead(w, PROC_DLQ_APPROVAL_UNKNOWN_PAYOUT);
    /* ...and the held one is still pending for both. */
    assert_int_equal(w->pt.held[0].state, PROC_HELD_PENDING);
    assert_int_equal(w->pt2.held[0].state, PROC_HELD_PENDING);
}

static void test_invalid_decisions(void **state)
{
    fx_world *w = *state;
    char held[PROC_ID_CAP];
    held_sale(w, held);

    fx_decision_ev(w, "d-1", Q4D(1) - 1, held, APPROVE);      /* before it was earned */
    proc_outputs *o = fx_dead(w, PROC_DLQ_INVALID_EVENT);
    assert_non_null(strstr(o->detail, "before payout"));
    fx_decision_ev(w, "d-2", Q4D(20), held, APPROVE);
    w->ev.u.approval.approver_id[0] = '\0';
    fx_dead(w, PROC_DLQ_INVALID_EVENT);
    fx_decision_ev(w, "d-3", Q4D(20), "", APPROVE);
    fx_dead(w, PROC_DLQ_INVALID_EVENT);
    fx_decision_ev(w, "d-4", Q4D(20), held, (proc_decision)7);
    fx_dead(w, PROC_DLQ_INVALID_EVENT);

    /* A partner that is not enrolled has nothing held. */
    fx_decision_ev(w, "d-5", Q4D(20), held, APPROVE);
    fx_dead_pt(w, &w->pt2, PROC_DLQ_PARTNER_NOT_ENROLLED);
}

/* A return while the rebate is pending: its clawback is held with it (PENDING_APPROVAL,
 * no alert of its own), and the approval releases what is left. The returns then claw
 * back by the running share as usual, so what is paid sums to the unreturned share. */
static void test_return_while_pending_then_approve(void **state)
{
    fx_world *w = *state;
    char held[PROC_ID_CAP];
    held_sale(w, held);

    proc_outputs *o = fx_return(w, "r-1", Q4D(2), 18000000, "s-1");   /* 30 % */
    const proc_payout *cb = fx_payout(o, PROC_PAYOUT_CLAWBACK, held);
    assert_i64(cb->amount_minor, -360000);
    assert_int_equal(cb->status, PENDING);
    assert_int_equal(fx_n_alerts(o, PROC_ALERT_APPROVAL_REQUIRED), 0);
    fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, NULL, -180000, "Silver", OK, "2026-Q4");
    assert_i64(fx_kpi(o, KEY_Q4, "approval_pending_minor"), -360000);
    assert_i64(w->pt.held[0].clawed_minor, -360000);

    o = fx_decide(w, "d-1", Q4D(3), held, APPROVE);
    assert_i64(o->payouts[0].amount_minor, 840000);
    assert_i64(payable(o), 840000);
    assert_i64(fx_kpi(o, KEY_Q4, "approval_pending_minor"), -840000);
    assert_i64(fx_kpi(o, KEY_Q4, "approval_approved_minor"), 840000);

    o = fx_return(w, "r-2", Q4D(4), 42000000, "s-1");                 /* the rest */
    cb = fx_payout(o, PROC_PAYOUT_CLAWBACK, held);
    assert_i64(cb->amount_minor, -840000);         /* 1,200,000 - 360,000 */
    assert_int_equal(cb->status, OK);              /* under the threshold */
    assert_i64(payable(o), -840000 - 420000);      /* the rebate's and the MDF's */
}

/* Rejected with a held clawback: the clawback goes with it, and later returns claw
 * nothing more back of the rebate (it was never paid); the MDF reverses as usual. */
static void test_return_while_pending_then_reject(void **state)
{
    fx_world *w = *state;
    char held[PROC_ID_CAP];
    held_sale(w, held);
    fx_return(w, "r-1", Q4D(2), 18000000, "s-1");

    proc_outputs *o = fx_decide(w, "d-1", Q4D(3), held, REJECT);
    assert_i64(o->payouts[0].amount_minor, 0);
    assert_i64(fx_kpi(o, KEY_Q4, "approval_pending_minor"), -840000);
    assert_i64(fx_kpi(o, KEY_Q4, "approval_rejected_minor"), 840000);
    assert_i64(fx_kpi(o, KEY_Q4, "payouts_minor:REBATE"), -1200000);
    assert_i64(fx_kpi(o, KEY_Q4, "payouts_minor:CLAWBACK"), 360000);
    assert_i64(fx_kpi(o, KEY_Q4, "payouts_total_minor"), -840000);
    assert_i64(fx_kpi(o, KEY_Q4, "cash_and_clawbacks_minor"), -840000);
    assert_i64(fx_period_at(w, Q4D(1))->cash_minor, 0);
    assert_i64(fx_period_at(w, Q4D(1))->payouts_minor, 600000 - 180000);

    o = fx_return(w, "r-2", Q4D(4), 42000000, "s-1");
    assert_int_equal(o->n_payouts, 1);
    fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, NULL, -420000, "Silver", OK, "2026-Q4");
}

/* A held payout is state like any other: stored as its own entry, loaded back, decided
 * after the reload exactly as before it. */
static void test_held_payout_survives_store_and_load(void **state)
{
    fx_world *w = *state;
    char held[PROC_ID_CAP];
    held_sale(w, held);
    fx_return(w, "r-1", Q4D(2), 18000000, "s-1");

    bool journaled = false;
    for (int i = 0; i < w->pt.n_changes; i++)
        journaled |= w->pt.changes[i].set == PROC_SET_HELD;
    assert_true(journaled);
    uint8_t val[PROC_ENTRY_MAX];
    char field[PROC_FIELD_CAP];
    proc_partner_field(PROC_SET_HELD, proc_hash64(held), field);
    assert_int_equal(field[0], 'a');
    assert_true(proc_partner_entry(&w->pt, PROC_SET_HELD, proc_hash64(held), val, sizeof val) > 0);

    proc_partner copy;
    proc_partner_init(&copy, PARTNER);
    assert_int_equal(fx_store_load(&w->pt, &copy), 0);
    assert_int_equal(copy.n_held, 1);
    assert_memory_equal(&copy.held[0], &w->pt.held[0], sizeof copy.held[0]);
    proc_partner_clear(&w->pt);
    w->pt = copy;

    proc_outputs *o = fx_decide(w, "d-1", Q4D(3), held, APPROVE);
    assert_i64(o->payouts[0].amount_minor, 840000);

    /* A corrupt value is refused: a wrong payout_id for the field's hash. */
    proc_partner other;
    proc_partner_init(&other, PARTNER);
    size_t n = proc_partner_entry(&w->pt, PROC_SET_HELD, proc_hash64(held), val, sizeof val);
    proc_partner_field(PROC_SET_HELD, proc_hash64("po_other"), field);
    assert_int_equal(proc_partner_load_entry(&other, field, strlen(field), val, n), -1);
    proc_partner_field(PROC_SET_HELD, proc_hash64(held), field);
    assert_int_equal(proc_partner_load_entry(&other, field, strlen(field), val, n - 1), -1);
    assert_int_equal(proc_partner_load_entry(&other, field, strlen(field), val, n), 0);
    proc_partner_clear(&other);
}

/* Pruning: a decided held payout goes with its sale's return window; a pending one stays
 * however old it is. */
static void test_pruning(void **state)
{
    fx_world *w = *state;
    char held[PROC_ID_CAP], held2[PROC_ID_CAP];
    held_sale(w, held);
    proc_outputs *o = fx_sale(w, "s-2", Q4D(2), 60000000, "SW-1", 1);
    snprintf(held2, sizeof held2, "%s", fx_payout(o, PROC_PAYOUT_REBATE, NULL)->payout_id);
    fx_decide(w, "d-1", Q4D(3), held, APPROVE);
    assert_int_equal(w->pt.n_held, 2);

    /* A year later: Q4's return windows (90 days) are long closed to late events. */
    fx_sale(w, "s-3", Q4D(400), 1000, "SW-1", 1);
    assert_int_equal(proc_partner_prune(&w->pt, w->cat.replay_horizon_ms, &w->progs[0]), 0);
    assert_int_equal(w->pt.n_held, 1);
    assert_string_equal(w->pt.held[0].payout_id, held2);
    o = fx_decide(w, "d-2", Q4D(401), held2, APPROVE);
    assert_i64(o->payouts[0].amount_minor, 1200000);
    assert_string_equal(o->payouts[0].period, "2026-Q4");
    assert_i64(fx_kpi(o, KEY_Q4, "approval_approved_minor"), 1200000);
    /* ...and the forgotten one is unknown now, which changes nothing either. */
    fx_decision_ev(w, "d-3", Q4D(402), held, REJECT);
    fx_dead(w, PROC_DLQ_APPROVAL_UNKNOWN_PAYOUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        fx_test(test_approve_releases_the_payout),
        fx_test(test_reject_cancels_and_frees_the_totals),
        fx_test(test_reject_frees_cap_room),
        fx_test(test_second_decision_and_redelivery),
        fx_test(test_unknown_payouts),
        fx_test(test_invalid_decisions),
        fx_test(test_return_while_pending_then_approve),
        fx_test(test_return_while_pending_then_reject),
        fx_test(test_held_payout_survives_store_and_load),
        fx_test(test_pruning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
