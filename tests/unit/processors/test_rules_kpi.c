/*
 * test_rules_kpi.c — the program metric deltas of CONTRACT §9 that proc_apply reports
 * (proc_outputs.kpi), and late events (§6.9) updating their own period, metrics included.
 * Each test asserts the complete set of deltas of an event, so a missing or stray
 * metric fails. Example program of §5; amounts worked by hand.
 */
#include "test_fixtures.h"

#define OK PROC_STATUS_APPROVED

/* ---- proc_outputs_kpi ------------------------------------------------------------- */

static void test_kpi_merge(void **state)
{
    (void)state;
    proc_outputs o = {0};
    assert_int_equal(proc_outputs_kpi(&o, 7, "revenue_minor", 100), 0);
    assert_int_equal(proc_outputs_kpi(&o, 8, "revenue_minor", 5), 0);
    assert_int_equal(proc_outputs_kpi(&o, 7, "tier:Gold", 1), 0);
    assert_int_equal(proc_outputs_kpi(&o, 7, "revenue_minor", -30), 0);
    assert_int_equal(proc_outputs_kpi(&o, 7, "deals_won", 0), 0);        /* nothing added */
    for (int i = 0; i < 20; i++)                                          /* grows */
        assert_int_equal(proc_outputs_kpi(&o, 100 + i, "responses", 1), 0);
    assert_int_equal(o.n_kpi, 23);
    assert_int_equal(o.kpi[0].period_key, 7);
    assert_string_equal(o.kpi[0].field, "revenue_minor");
    assert_i64(o.kpi[0].delta, 70);
    assert_i64(o.kpi[1].delta, 5);
    assert_string_equal(o.kpi[2].field, "tier:Gold");
    /* the longest tier name fits: "tier:" + 63 bytes */
    char field[PROC_KPI_FIELD_CAP];
    memset(field, 'x', sizeof field);
    memcpy(field, "tier:", 5);
    field[5 + PROC_NAME_CAP - 1] = '\0';
    assert_int_equal(proc_outputs_kpi(&o, 1, field, 1), 0);
    assert_string_equal(o.kpi[23].field, field);
    proc_outputs_reset(&o);
    assert_int_equal(o.n_kpi, 0);
    proc_outputs_free(&o);
}

/* ---- sales and tiers ---------------------------------------------------------------- */

/* A first sale from nothing to Silver with a SPIFF: 6,000,000 x "FW-1" x 2 -> rebate
 * 120,000, SPIFF 10,000, MDF 60,000. */
static void test_kpi_first_sale(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    proc_outputs *o = fx_sale(w, "s-1", Q4D(1), 6000000, "FW-1", 2);
    FX_EXPECT_KPIS(o,
                   {KEY_Q4, "revenue_minor", 6000000},
                   {KEY_Q4, "payouts_minor:REBATE", 120000},
                   {KEY_Q4, "payouts_minor:SPIFF", 10000},
                   {KEY_Q4, "payouts_minor:MDF_ACCRUAL", 60000},
                   {KEY_Q4, "payouts_total_minor", 190000},
                   {KEY_Q4, "cash_and_clawbacks_minor", 130000},
                   {KEY_Q4, "active_partners", 1},
                   {KEY_Q4, "tier:Silver", 1});

    /* the next sale in the same tier: revenue and payouts only (1,000,000 x 2%, 1%) */
    o = fx_sale(w, "s-2", Q4D(2), 1000000, "SW-1", 1);
    FX_EXPECT_KPIS(o,
                   {KEY_Q4, "revenue_minor", 1000000},
                   {KEY_Q4, "payouts_minor:REBATE", 20000},
                   {KEY_Q4, "payouts_minor:MDF_ACCRUAL", 10000},
                   {KEY_Q4, "payouts_total_minor", 30000},
                   {KEY_Q4, "cash_and_clawbacks_minor", 20000});

    /* a duplicate reports nothing */
    fx_sale_ev(w, "s-2", Q4D(2), 1000000, "EUR", "SW-1", 1);
    o = fx_apply(w);
    assert_true(o->duplicate);
    assert_int_equal(o->n_kpi, 0);
}

/* An active partner's effective tier changes: it moves between the tier counts. */
static void test_kpi_tier_change(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    proc_outputs *o = fx_sale(w, "s-1", Q4D(1), 1000000, "SW-1", 1);
    FX_EXPECT_KPIS(o,
                   {KEY_Q4, "revenue_minor", 1000000},
                   {KEY_Q4, "payouts_minor:REBATE", 10000},
                   {KEY_Q4, "payouts_minor:MDF_ACCRUAL", 10000},
                   {KEY_Q4, "payouts_total_minor", 20000},
                   {KEY_Q4, "cash_and_clawbacks_minor", 10000},
                   {KEY_Q4, "active_partners", 1},
                   {KEY_Q4, "tier:Registered", 1});
    /* 4,000,000 more: Silver; rebate 80,000, true-up 1% x 1,000,000, MDF 40,000 */
    o = fx_sale(w, "s-2", Q4D(2), 4000000, "SW-1", 1);
    FX_EXPECT_KPIS(o,
                   {KEY_Q4, "revenue_minor", 4000000},
                   {KEY_Q4, "payouts_minor:REBATE", 80000},
                   {KEY_Q4, "payouts_minor:TIER_TRUE_UP", 10000},
                   {KEY_Q4, "payouts_minor:MDF_ACCRUAL", 40000},
                   {KEY_Q4, "payouts_total_minor", 130000},
                   {KEY_Q4, "cash_and_clawbacks_minor", 90000},
                   {KEY_Q4, "tier:Registered", -1},
                   {KEY_Q4, "tier:Silver", 1});
}

/* A certification: its metric always; tier moves only when the period is active. */
static void test_kpi_certification(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    /* no sale yet in Q4: bonus 50,000, no tier metric */
    proc_outputs *o = fx_cert(w, "c-1", Q4D(0), "cert-a");
    FX_EXPECT_KPIS(o,
                   {KEY_Q4, "certifications", 1},
                   {KEY_Q4, "payouts_minor:CERTIFICATION_BONUS", 50000},
                   {KEY_Q4, "payouts_total_minor", 50000},
                   {KEY_Q4, "cash_and_clawbacks_minor", 50000});
    /* a sale to Silver makes the partner active at its effective tier */
    o = fx_sale(w, "s-1", Q4D(1), 24000000, "SW-1", 1);
    assert_i64(fx_kpi(o, KEY_Q4, "active_partners"), 1);
    assert_i64(fx_kpi(o, KEY_Q4, "tier:Silver"), 1);
    assert_i64(fx_kpi(o, KEY_Q4, "tier:Registered"), 0);
    /* 1,000,000 more reaches Gold (25M and 1 certification): a tier sale, then a second
     * certification in the active period does not move it (Platinum needs 100M) */
    o = fx_sale(w, "s-2", Q4D(2), 1000000, "SW-1", 1);
    assert_i64(fx_kpi(o, KEY_Q4, "tier:Silver"), -1);
    assert_i64(fx_kpi(o, KEY_Q4, "tier:Gold"), 1);
    o = fx_cert(w, "c-2", Q4D(3), "cert-b");
    FX_EXPECT_KPIS(o,
                   {KEY_Q4, "certifications", 1},
                   {KEY_Q4, "payouts_minor:CERTIFICATION_BONUS", 50000},
                   {KEY_Q4, "payouts_total_minor", 50000},
                   {KEY_Q4, "cash_and_clawbacks_minor", 50000});
    /* a repeated certification: nothing */
    o = fx_cert(w, "c-3", Q4D(4), "cert-b");
    assert_int_equal(o->n_kpi, 0);
}

/* A tier reached by a certification in an active period: true-up, bonus, tier move. */
static void test_kpi_tier_by_certification(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    fx_sale(w, "s-1", Q4D(1), 30000000, "SW-1", 1);        /* Silver; Gold needs a cert */
    proc_outputs *o = fx_cert(w, "c-1", Q4D(2), "cert-a");
    /* true-up (300 - 200) bp x 30,000,000 = 300,000 */
    FX_EXPECT_KPIS(o,
                   {KEY_Q4, "certifications", 1},
                   {KEY_Q4, "payouts_minor:TIER_TRUE_UP", 300000},
                   {KEY_Q4, "payouts_minor:CERTIFICATION_BONUS", 50000},
                   {KEY_Q4, "payouts_total_minor", 350000},
                   {KEY_Q4, "cash_and_clawbacks_minor", 350000},
                   {KEY_Q4, "tier:Silver", -1},
                   {KEY_Q4, "tier:Gold", 1});
}

/* The first sale of a period holding Gold counts the partner as Gold, although it reaches
 * only Registered on its own. */
static void test_kpi_held_tier(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    fx_cert(w, "c-1", Q3D(1), "cert-a");
    fx_sale(w, "s-q3", Q3D(2), 25000000, "SW-1", 1);
    proc_outputs *o = fx_sale(w, "s-q4", Q4D(1), 1000000, "SW-1", 1);   /* 1M x 3% */
    FX_EXPECT_KPIS(o,
                   {KEY_Q4, "revenue_minor", 1000000},
                   {KEY_Q4, "payouts_minor:REBATE", 30000},
                   {KEY_Q4, "payouts_minor:MDF_ACCRUAL", 10000},
                   {KEY_Q4, "payouts_total_minor", 40000},
                   {KEY_Q4, "cash_and_clawbacks_minor", 30000},
                   {KEY_Q4, "active_partners", 1},
                   {KEY_Q4, "tier:Gold", 1});
}

/* ---- returns, deals, surveys ------------------------------------------------------- */

/* A return in the next period: its own period's revenue and the reversals; clawbacks
 * count in the ratio's numerator, the MDF reversal does not. No activity or tier metric:
 * a return is not a sale. */
static void test_kpi_return(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    fx_sale(w, "s-1", Q4D(60), 6000000, "FW-1", 2);   /* rebate 120,000, SPIFF 10,000, MDF 60,000 */
    proc_outputs *o = fx_return(w, "r-1", Q1D(5), 3000000, "s-1");
    FX_EXPECT_KPIS(o,
                   {KEY_Q1, "revenue_minor", -3000000},
                   {KEY_Q1, "payouts_minor:CLAWBACK", -65000},     /* 60,000 + 5,000 */
                   {KEY_Q1, "payouts_minor:MDF_ACCRUAL", -30000},
                   {KEY_Q1, "payouts_total_minor", -95000},
                   {KEY_Q1, "cash_and_clawbacks_minor", -65000});
}

/* Registrations count in their own period; the win in the sale's. */
static void test_kpi_deal(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    fx_deal_ev(w, "r-1", Q3D(80), PROC_REG_DEAL_REGISTERED, "d-1");
    FX_EXPECT_KPIS(fx_applied(w), {KEY_Q3, "deals_registered", 1});
    fx_deal_ev(w, "a-1", Q4D(1), PROC_REG_DEAL_APPROVED, "d-1");
    FX_EXPECT_KPIS(fx_applied(w), {KEY_Q4, "deals_approved", 1});
    /* 1,000,000: rebate 10,000, bonus 50,000, MDF 10,000 */
    fx_deal_sale_ev(w, "s-1", Q4D(2), 1000000, "d-1");
    FX_EXPECT_KPIS(fx_applied(w),
                   {KEY_Q4, "revenue_minor", 1000000},
                   {KEY_Q4, "payouts_minor:REBATE", 10000},
                   {KEY_Q4, "payouts_minor:DEAL_REGISTRATION_BONUS", 50000},
                   {KEY_Q4, "payouts_minor:MDF_ACCRUAL", 10000},
                   {KEY_Q4, "payouts_total_minor", 70000},
                   {KEY_Q4, "cash_and_clawbacks_minor", 60000},
                   {KEY_Q4, "active_partners", 1},
                   {KEY_Q4, "tier:Registered", 1},
                   {KEY_Q4, "deals_won", 1});
    /* a return claws the bonus back; the deal stays won (no negative deals_won) */
    proc_outputs *o = fx_return(w, "r-2", Q4D(3), 1000000, "s-1");
    FX_EXPECT_KPIS(o,
                   {KEY_Q4, "revenue_minor", -1000000},
                   {KEY_Q4, "payouts_minor:CLAWBACK", -60000},
                   {KEY_Q4, "payouts_minor:MDF_ACCRUAL", -10000},
                   {KEY_Q4, "payouts_total_minor", -70000},
                   {KEY_Q4, "cash_and_clawbacks_minor", -60000});
    assert_int_equal(fx_period_at(w, Q4D(2))->deals_won, 1);
}

static void test_kpi_survey(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    fx_enps_ev(w, "e-1", Q4D(3), "sv-1", "r-1", 4);
    FX_EXPECT_KPIS(fx_applied(w), {KEY_Q4, "responses", 1}, {KEY_Q4, "detractors", 1});
    fx_enps_ev(w, "e-2", Q1D(3), "sv-1", "r-2", 9);
    FX_EXPECT_KPIS(fx_applied(w), {KEY_Q1, "responses", 1}, {KEY_Q1, "promoters", 1});
}

/* ---- §6.9 late events update their own period -------------------------------------- */

/* Q3 1,000,000; Q4 opens (holding Registered); a late Q3 sale of 4,000,000 lifts Q3 to
 * Silver: rebate 80,000, true-up 1% x 1,000,000 = 10,000, MDF 40,000, all in 2026-Q3;
 * the Q3 leaderboard row and Q3's metrics change; the current tier (Q4's) does not. */
static void test_late_sale_updates_its_period(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    fx_sale(w, "s-q3", Q3D(10), 1000000, "SW-1", 1);
    fx_sale(w, "s-q4", Q4D(1), 1000000, "SW-1", 1);
    proc_outputs *o = fx_sale(w, "s-late", T_2026_10_01 - DAY_MS, 4000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, "Silver", 80000, "Silver", OK, "2026-Q3");
    fx_expect_payout(o, PROC_PAYOUT_TIER_TRUE_UP, "Silver", 10000, "Silver", OK, "2026-Q3");
    fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, "mdf", 40000, "Silver", OK, "2026-Q3");
    assert_int_equal(o->n_alerts, 0);
    assert_int_equal(o->n_rows, 1);
    assert_int_equal(o->rows[0].period_key, KEY_Q3);
    FX_EXPECT_KPIS(o,
                   {KEY_Q3, "revenue_minor", 4000000},
                   {KEY_Q3, "payouts_minor:REBATE", 80000},
                   {KEY_Q3, "payouts_minor:TIER_TRUE_UP", 10000},
                   {KEY_Q3, "payouts_minor:MDF_ACCRUAL", 40000},
                   {KEY_Q3, "payouts_total_minor", 130000},
                   {KEY_Q3, "cash_and_clawbacks_minor", 90000},
                   {KEY_Q3, "tier:Registered", -1},
                   {KEY_Q3, "tier:Silver", 1});
    const proc_period_state *q3 = fx_period_at(w, Q3D(10));
    assert_i64(q3->revenue_minor, 5000000);
    assert_int_equal(q3->reached_tier, 1);
    assert_i64(proc_period_points(&w->progs[0], q3), 500);
    assert_i64(w->pt.watermark_ms, Q4D(1));
    assert_int_equal(proc_current_tier(&w->pt), 0);
}

/* A late sale into a period older than every stored one (the partner's history starts in
 * Q4): the period is created in key order, holding nothing. */
static void test_late_sale_before_every_period(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    fx_sale(w, "s-q4", Q4D(1), 1000000, "SW-1", 1);
    proc_outputs *o = fx_sale(w, "s-late", T_2026_10_01 - 1, 5000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, "Silver", 100000, "Silver", OK, "2026-Q3");
    assert_int_equal(o->n_alerts, 0);                /* the current tier is Q4's */
    FX_EXPECT_KPIS(o,
                   {KEY_Q3, "revenue_minor", 5000000},
                   {KEY_Q3, "payouts_minor:REBATE", 100000},
                   {KEY_Q3, "payouts_minor:MDF_ACCRUAL", 50000},
                   {KEY_Q3, "payouts_total_minor", 150000},
                   {KEY_Q3, "cash_and_clawbacks_minor", 100000},
                   {KEY_Q3, "active_partners", 1},
                   {KEY_Q3, "tier:Silver", 1});
    assert_int_equal(w->pt.n_periods, 2);
    assert_int_equal(w->pt.periods[0].key, KEY_Q3);
    assert_int_equal(w->pt.periods[1].key, KEY_Q4);
    assert_int_equal(w->pt.periods[1].held_tier, 0);       /* fixed when Q4 opened */
    /* Q4 is still the latest: its next sale is at its own Registered rate */
    o = fx_sale(w, "s-q4-2", Q4D(2), 1000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, "Registered", 10000, "Registered", OK, "2026-Q4");

    /* after pruning: a 2027-Q2 sale (2027-04-04) closes Q4 to late events, so Q3 is
     * dropped; Q4 stays while 2027-Q1, which would hold its tier, is open. A late Q1 sale
     * is accepted into a period created between the stored ones. */
    fx_sale(w, "s-q2", T_2027_04_01 + 3 * DAY_MS, 1000, "SW-1", 1);
    proc_partner_prune(&w->pt, w->cat.replay_horizon_ms, &w->progs[0]);
    assert_int_equal(w->pt.n_periods, 2);
    assert_int_equal(w->pt.periods[0].key, KEY_Q4);
    assert_int_equal(w->pt.periods[1].key, KEY_Q1 + 1);
    o = fx_sale(w, "s-q1", T_2027_04_01 - DAY_MS, 5000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, "Silver", 100000, "Silver", OK, "2027-Q1");
    assert_int_equal(w->pt.n_periods, 3);
    assert_int_equal(w->pt.periods[1].key, KEY_Q1);
    assert_i64(fx_kpi(o, KEY_Q1, "active_partners"), 1);
    assert_i64(fx_kpi(o, KEY_Q1, "tier:Silver"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kpi_merge),
        fx_test(test_kpi_first_sale),
        fx_test(test_kpi_tier_change),
        fx_test(test_kpi_certification),
        fx_test(test_kpi_tier_by_certification),
        fx_test(test_kpi_held_tier),
        fx_test(test_kpi_return),
        fx_test(test_kpi_deal),
        fx_test(test_kpi_survey),
        fx_test(test_late_sale_updates_its_period),
        fx_test(test_late_sale_before_every_period),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
