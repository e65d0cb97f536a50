/*
 * test_rules_explain.c — every payout states how it was computed (CONTRACT §4, issue #8
 * part 2), on the example program of §5 (tiers Registered 100 bp, Silver 200 bp from
 * 5,000,000; MDF 100 bp; SPIFF q4-firewall 5,000 per "FW-" unit from Silver; cap
 * 20,000,000). Each explanation is checked against the amount it explains.
 */
#include "test_fixtures.h"

static void expect_none(const proc_explain *e)
{
    assert_false(e->has_basis || e->has_rate_bp || e->has_old_rate_bp || e->has_per_unit ||
                 e->has_quantity || e->has_sale || e->has_returned_before ||
                 e->has_returned_after || e->has_cut);
}

/* s-0 1,000,000 at Registered, then s-1 5,000,000 x "FW-1" x 2 -> Silver. */
static void test_sale_payouts(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    fx_sale(w, "s-0", Q4D(1), 1000000, "SW-1", 1);
    proc_outputs *o = fx_sale(w, "s-1", Q4D(2), 5000000, "FW-1", 2);

    const proc_explain *e = &fx_payout(o, PROC_PAYOUT_REBATE, NULL)->explain;
    assert_true(e->has_basis && e->has_rate_bp);
    assert_i64(e->basis_minor, 5000000);
    assert_int_equal(e->rate_bp, 200);                  /* 5,000,000 x 2 % = 100,000 */
    assert_i64(fx_payout(o, PROC_PAYOUT_REBATE, NULL)->amount_minor, 100000);
    assert_false(e->has_cut || e->has_old_rate_bp || e->has_sale);

    e = &fx_payout(o, PROC_PAYOUT_TIER_TRUE_UP, NULL)->explain;
    assert_true(e->has_basis && e->has_rate_bp && e->has_old_rate_bp);
    assert_i64(e->basis_minor, 1000000);                /* revenue before the sale */
    assert_int_equal(e->rate_bp, 200);
    assert_int_equal(e->old_rate_bp, 100);              /* 1,000,000 x 1 % = 10,000 */
    assert_i64(fx_payout(o, PROC_PAYOUT_TIER_TRUE_UP, NULL)->amount_minor, 10000);

    e = &fx_payout(o, PROC_PAYOUT_SPIFF, NULL)->explain;
    assert_true(e->has_per_unit && e->has_quantity);
    assert_false(e->has_basis || e->has_rate_bp);
    assert_i64(e->per_unit_minor, 5000);
    assert_int_equal(e->quantity, 2);                   /* 2 x 5,000 = 10,000 */

    e = &fx_payout(o, PROC_PAYOUT_MDF_ACCRUAL, NULL)->explain;
    assert_i64(e->basis_minor, 5000000);
    assert_int_equal(e->rate_bp, 100);                  /* 50,000 */
}

/* Two returns of half each: the running share, stated. */
static void test_clawbacks(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    fx_sale(w, "s-1", Q4D(1), 5000001, "SW-1", 1);     /* rebate 100,000 (100,000.02) */
    proc_outputs *o = fx_return(w, "r-1", Q4D(2), 2500000, "s-1");
    const proc_payout *cb = fx_payout(o, PROC_PAYOUT_CLAWBACK, NULL);
    const proc_explain *e = &cb->explain;
    assert_true(e->has_basis && e->has_sale && e->has_returned_before && e->has_returned_after);
    assert_i64(e->basis_minor, 100000);
    assert_i64(e->sale_minor, 5000001);
    assert_i64(e->returned_before_minor, 0);
    assert_i64(e->returned_after_minor, 2500000);
    /* -(round(100,000 x 2,500,000 / 5,000,001) - 0) = -49,999.99 -> -50,000 */
    assert_i64(cb->amount_minor, -50000);
    const proc_explain *m = &fx_payout(o, PROC_PAYOUT_MDF_ACCRUAL, NULL)->explain;
    assert_i64(m->basis_minor, 50000);                  /* the reversed MDF accrual */
    assert_i64(m->returned_after_minor, 2500000);

    o = fx_return(w, "r-2", Q4D(3), 2500001, "s-1");
    e = &fx_payout(o, PROC_PAYOUT_CLAWBACK, NULL)->explain;
    assert_i64(e->returned_before_minor, 2500000);
    assert_i64(e->returned_after_minor, 5000001);
    assert_i64(fx_payout(o, PROC_PAYOUT_CLAWBACK, NULL)->amount_minor, -50000);
}

/* The cap's cut is stated; a fixed bonus has nothing to explain but the cut. */
static void test_cap_cut_and_fixed_bonus(void **state)
{
    fx_world *w = *state;
    w->progs[0].cap_per_period_minor = 130000;
    w->progs[0].approval_threshold_minor = INT64_MAX;
    fx_enrol(w);
    proc_outputs *o = fx_sale(w, "s-1", Q4D(1), 6000000, "SW-1", 1);   /* rebate 120,000 */
    assert_false(fx_payout(o, PROC_PAYOUT_REBATE, NULL)->explain.has_cut);
    o = fx_cert(w, "c-1", Q4D(2), "cert-1");            /* bonus 50,000, room 10,000 */
    const proc_payout *b = fx_payout(o, PROC_PAYOUT_CERTIFICATION_BONUS, NULL);
    assert_i64(b->amount_minor, 10000);
    assert_true(b->explain.has_cut);
    assert_i64(b->explain.cut_minor, 40000);
    assert_false(b->explain.has_basis || b->explain.has_rate_bp);

    w->progs[0].cap_per_period_minor = 20000000;
    fx_reset(w);
    fx_enrol(w);
    o = fx_cert(w, "c-1", Q4D(2), "cert-1");
    expect_none(&fx_payout(o, PROC_PAYOUT_CERTIFICATION_BONUS, NULL)->explain);
}

/* Marginal mode: the bands decide, so no single rate is stated. */
static void test_marginal_rebate_has_no_rate(void **state)
{
    fx_world *w = *state;
    w->progs[0].rebate_mode = PROC_REBATE_MARGINAL;
    fx_enrol(w);
    proc_outputs *o = fx_sale(w, "s-1", Q4D(1), 6000000, "SW-1", 1);
    const proc_explain *e = &fx_payout(o, PROC_PAYOUT_REBATE, NULL)->explain;
    assert_true(e->has_basis);
    assert_i64(e->basis_minor, 6000000);
    assert_false(e->has_rate_bp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        fx_test(test_sale_payouts),
        fx_test(test_clawbacks),
        fx_test(test_cap_cut_and_fixed_bonus),
        fx_test(test_marginal_rebate_has_no_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
