/*
 * test_rules_sale.c — the money rules of CONTRACT §6.2, 6.4–6.6, 6.8, 6.12–6.14 on the example
 * program of §5 (EUR, quarters; Registered 0/0c/100bp, Silver 5,000,000/0c/200bp,
 * Gold 25,000,000/1c/300bp, Platinum 100,000,000/2c/400bp; near 90%; SPIFF "FW-" 5,000 per
 * unit from Silver in 2026-Q4; certification bonus 50,000; MDF 100bp; cap 20,000,000;
 * approval from 1,000,000). Every expected amount is worked by hand in the comments.
 */
#include "test_fixtures.h"

#define R "Registered"
#define S "Silver"
#define G "Gold"
#define P "Platinum"
#define OK PROC_STATUS_APPROVED
#define PENDING PROC_STATUS_PENDING_APPROVAL

static void expect_tier_achieved(const proc_outputs *o, const char *from, const char *to,
                                 const char *period)
{
    const proc_alert *a = fx_alert(o, PROC_ALERT_TIER_ACHIEVED);
    assert_string_equal(fx_attr(a, "from_tier"), from);
    assert_string_equal(fx_attr(a, "to_tier"), to);
    assert_string_equal(a->period, period);
    assert_int_equal(a->severity, PROC_SEVERITY_INFO);
    assert_string_equal(a->partner_id, PARTNER);
    assert_string_equal(a->program_id, PROGRAM);
}

static void certs_first(fx_world *w, int n, int64_t at)
{
    static const char *const ids[] = {"cert-a", "cert-b"};
    for (int i = 0; i < n; i++) {
        char ev[32];
        snprintf(ev, sizeof ev, "ev-%s", ids[i]);
        proc_outputs *o = fx_cert(w, ev, at, ids[i]);
        /* revenue 0: the bonus is paid at the entry tier and no tier moves */
        assert_int_equal(o->n_payouts, 1);
        assert_int_equal(o->n_alerts, 0);
        fx_expect_payout(o, PROC_PAYOUT_CERTIFICATION_BONUS, ids[i], 50000, R, OK,
                         o->payouts[0].period);
    }
}

/* ---- §6.4 band edges: a single sale from zero in 2026-Q4 ---------------------------- */

typedef struct {
    int certs;
    int64_t amount;
    const char *tier;          /* effective tier after the sale */
    int64_t rebate, mdf;
    proc_payout_status rebate_status, mdf_status;
    const char *near;          /* NEAR_NEXT_TIER for this tier, or NULL */
} band_row;

static const band_row band_rows[] = {
    /* 4,999,999 x 1% = 49,999.99; 90% of Silver = 4,500,000 <= 4,999,999 */
    {0, 4999999, R, 50000, 50000, OK, OK, S},
    /* exactly at Silver's minimum reaches it: 5,000,000 x 2% */
    {0, 5000000, S, 100000, 50000, OK, OK, NULL},
    /* Gold's revenue without its certification stays Silver; 25M >= 22.5M: near Gold */
    {0, 25000000, S, 500000, 250000, OK, OK, G},
    /* one short of Gold: 24,999,999 x 2% = 499,999.98; x 1% = 249,999.99 */
    {1, 24999999, S, 500000, 250000, OK, OK, G},
    /* exactly Gold with the certification: 25,000,000 x 3% */
    {1, 25000000, G, 750000, 250000, OK, OK, NULL},
    /* Platinum's revenue with one certification: Gold, 3,000,000 >= approval */
    {1, 100000000, G, 3000000, 1000000, PENDING, PENDING, P},
    /* 99,999,999 x 3% = 2,999,999.97; x 1% = 999,999.99 -> 1,000,000 (pending) */
    {2, 99999999, G, 3000000, 1000000, PENDING, PENDING, P},
    /* Platinum: four tiers at once; x 4% */
    {2, 100000000, P, 4000000, 1000000, PENDING, PENDING, NULL},
};

static void test_band_edges(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof band_rows / sizeof band_rows[0]; i++) {
        const band_row *r = &band_rows[i];
        fx_reset(w);
        fx_enrol(w);
        certs_first(w, r->certs, Q4D(0));
        proc_outputs *o = fx_sale(w, "s-1", Q4D(3), r->amount, "SW-1", 1);

        print_message("row %zu: %lld with %d certifications\n", i, (long long)r->amount, r->certs);
        fx_expect_payout(o, PROC_PAYOUT_REBATE, r->tier, r->rebate, r->tier, r->rebate_status,
                         "2026-Q4");
        fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, "mdf", r->mdf, r->tier, r->mdf_status,
                         "2026-Q4");
        assert_int_equal(fx_n_payouts(o, PROC_PAYOUT_TIER_TRUE_UP), 0);  /* nothing before */
        assert_int_equal(fx_n_payouts(o, PROC_PAYOUT_SPIFF), 0);
        assert_int_equal(o->n_payouts, 2);
        if (strcmp(r->tier, R) == 0) {
            assert_int_equal(fx_n_alerts(o, PROC_ALERT_TIER_ACHIEVED), 0);
        } else {
            assert_int_equal(fx_n_alerts(o, PROC_ALERT_TIER_ACHIEVED), 1);
            expect_tier_achieved(o, R, r->tier, "2026-Q4");
        }
        int pending = (r->rebate_status == PENDING) + (r->mdf_status == PENDING);
        assert_int_equal(fx_n_alerts(o, PROC_ALERT_APPROVAL_REQUIRED), pending);
        if (r->near) {
            const proc_alert *a = fx_alert(o, PROC_ALERT_NEAR_NEXT_TIER);
            assert_string_equal(fx_attr(a, "tier"), r->near);
        } else {
            assert_int_equal(fx_n_alerts(o, PROC_ALERT_NEAR_NEXT_TIER), 0);
        }
        const proc_period_state *ps = fx_period_at(w, Q4D(3));
        assert_i64(ps->revenue_minor, r->amount);
        assert_string_equal(w->progs[0].tiers[proc_effective_tier(ps)].name, r->tier);
        assert_string_equal(w->progs[0].tiers[proc_current_tier(&w->pt)].name, r->tier);
    }
}

/* A sale jumping Silver -> Platinum mid-period: one TIER_ACHIEVED Silver->Platinum and one
 * true-up at (400 - 200) bp of the revenue before. */
static void test_jump_several_tiers_with_true_up(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    certs_first(w, 2, Q4D(0));

    proc_outputs *o = fx_sale(w, "s-1", Q4D(1), 10000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, S, 200000, S, OK, "2026-Q4");    /* 10M x 2% */
    expect_tier_achieved(o, R, S, "2026-Q4");

    o = fx_sale(w, "s-2", Q4D(2), 90000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, P, 3600000, P, PENDING, "2026-Q4");  /* 90M x 4% */
    fx_expect_payout(o, PROC_PAYOUT_TIER_TRUE_UP, P, 200000, P, OK, "2026-Q4"); /* 10M x 2% */
    fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, "mdf", 900000, P, OK, "2026-Q4");
    assert_int_equal(o->n_payouts, 3);
    assert_int_equal(fx_n_alerts(o, PROC_ALERT_TIER_ACHIEVED), 1);
    expect_tier_achieved(o, S, P, "2026-Q4");
    assert_int_equal(fx_n_alerts(o, PROC_ALERT_NEAR_NEXT_TIER), 0);   /* no tier above */
    assert_int_equal(fx_n_alerts(o, PROC_ALERT_APPROVAL_REQUIRED), 1);
    assert_int_equal(o->n_alerts, 2);
}

/* ---- §6.5 retroactive rebates and true-ups ----------------------------------------- */

typedef struct {
    int certs;
    int64_t sale1, sale2;
    int64_t rebate1;           /* sale 1 at Registered */
    const char *tier2;
    int64_t rebate2, true_up, mdf2;   /* 0: not emitted */
} retro_row;

static const retro_row retro_rows[] = {
    /* 3,333,335 x 1% = 33,333.35; 1,666,665 x 2% = 33,333.30; true-up 1% x 3,333,335
     * = 33,333.35; MDF 1,666,665 x 1% = 16,666.65 */
    {0, 3333335, 1666665, 33333, S, 33333, 33333, 16667},
    /* 4,999,850 x 1% = 49,998.5 (tie, even below); 150 x 2% = 3; MDF 1.5 -> 2 */
    {0, 4999850, 150, 49998, S, 3, 49998, 2},
    /* 4,999,950 x 1% = 49,999.5 (tie, even above); 50 x 2% = 1; MDF 0.5 -> 0: none */
    {0, 4999950, 50, 50000, S, 1, 50000, 0},
    /* Registered -> Gold: 21M x 3% = 630,000; true-up (300-100) bp x 4M = 80,000 */
    {1, 4000000, 21000000, 40000, G, 630000, 80000, 210000},
};

static void test_retroactive_true_up(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof retro_rows / sizeof retro_rows[0]; i++) {
        const retro_row *r = &retro_rows[i];
        fx_reset(w);
        fx_enrol(w);
        certs_first(w, r->certs, Q4D(0));
        print_message("row %zu\n", i);

        proc_outputs *o = fx_sale(w, "s-1", Q4D(1), r->sale1, "SW-1", 1);
        fx_expect_payout(o, PROC_PAYOUT_REBATE, R, r->rebate1, R, OK, "2026-Q4");
        assert_int_equal(fx_n_alerts(o, PROC_ALERT_TIER_ACHIEVED), 0);

        o = fx_sale(w, "s-2", Q4D(2), r->sale2, "SW-1", 1);
        /* cap order: REBATE, TIER_TRUE_UP, then MDF */
        assert_int_equal(o->n_payouts, r->mdf2 ? 3 : 2);
        assert_int_equal(o->payouts[0].kind, PROC_PAYOUT_REBATE);
        assert_int_equal(o->payouts[1].kind, PROC_PAYOUT_TIER_TRUE_UP);
        fx_expect_payout(o, PROC_PAYOUT_REBATE, r->tier2, r->rebate2, r->tier2, OK, "2026-Q4");
        fx_expect_payout(o, PROC_PAYOUT_TIER_TRUE_UP, r->tier2, r->true_up, r->tier2, OK, "2026-Q4");
        if (r->mdf2)
            fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, "mdf", r->mdf2, r->tier2, OK, "2026-Q4");
        else
            assert_int_equal(fx_n_payouts(o, PROC_PAYOUT_MDF_ACCRUAL), 0);
        expect_tier_achieved(o, R, r->tier2, "2026-Q4");

        /* a third sale in the same tier earns no true-up: 1,000 x rate */
        o = fx_sale(w, "s-3", Q4D(3), 1000, "SW-1", 1);
        assert_int_equal(fx_n_payouts(o, PROC_PAYOUT_TIER_TRUE_UP), 0);
        assert_i64(fx_payout(o, PROC_PAYOUT_REBATE, NULL)->amount_minor,
                   strcmp(r->tier2, G) == 0 ? 30 : 20);
    }
}

/* The payout record carries the contract's fields (§4). */
static void test_payout_fields(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    fx_sale(w, "s-1", Q4D(1), 4000000, "SW-1", 1);
    proc_outputs *o = fx_sale(w, "s-2", Q4D(2) + 12345, 1000000, "SW-1", 1);
    const proc_payout *p = fx_payout(o, PROC_PAYOUT_TIER_TRUE_UP, NULL);
    assert_string_equal(p->partner_id, PARTNER);
    assert_string_equal(p->program_id, PROGRAM);
    assert_string_equal(p->currency, "EUR");
    assert_string_equal(p->period, "2026-Q4");
    assert_string_equal(p->tier, S);
    assert_string_equal(p->rule_id, S);
    assert_string_equal(p->source_event_id, "s-2");
    assert_i64(p->occurred_at, Q4D(2) + 12345);
    assert_i64(p->amount_minor, 40000);           /* 4M x 1% */
    assert_int_equal(strncmp(p->payout_id, "po_", 3), 0);
    assert_int_equal(strlen(p->payout_id), 35);
    assert_int_equal(strspn(p->payout_id + 3, "0123456789abcdef"), 32);
    assert_int_equal(o->n_rows, 1);
    assert_int_equal(o->rows[0].period_key, 2026 * 4 + 3);
}

/* ---- §6.5 marginal rebates ----------------------------------------------------------- */

typedef struct {
    int64_t sale1, sale2;      /* sale1 0: no first sale */
    int64_t rebate1, rebate2;
    const char *tier2;
} marginal_row;

static const marginal_row marginal_rows[] = {
    /* [4M,5M) x 1% = 10,000 + [5M,6M) x 2% = 20,000 */
    {4000000, 2000000, 40000, 30000, S},
    /* 49,999.5 -> 50,000; then 50 x 1% = 0.5 + 25 x 2% = 0.5 = 1 rounded once
     * (rounding each slice would give 0; retroactive would give 75 x 2% = 1.5 -> 2) */
    {4999950, 75, 50000, 1, S},
    /* three bands: [4M,5M) 10,000 + [5M,25M) 400,000 + [25M,30M) 150,000 */
    {4000000, 26000000, 40000, 560000, S},
    /* 4,999,963 x 1% = 49,999.63; then 37 x 1% = 0.37 + 20M x 2% = 400,000 + 13 x 3% =
     * 0.39 -> 400,000.76 -> 400,001 (per-slice rounding: 400,000) */
    {4999963, 20000050, 50000, 400001, S},
    /* one sale over three bands from zero: 50,000 + 400,000 + 150,000 */
    {0, 30000000, 0, 600000, S},
    /* four bands: 50,000 + 400,000 + 2,250,000 + 1 x 4% = 0.04 */
    {0, 100000001, 0, 2700000, S},
};

static void test_marginal(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof marginal_rows / sizeof marginal_rows[0]; i++) {
        const marginal_row *r = &marginal_rows[i];
        fx_reset(w);
        w->progs[0].rebate_mode = PROC_REBATE_MARGINAL;
        w->progs[0].approval_threshold_minor = INT64_MAX;
        fx_enrol(w);
        print_message("row %zu\n", i);
        proc_outputs *o;
        if (r->sale1) {
            o = fx_sale(w, "s-1", Q4D(1), r->sale1, "SW-1", 1);
            assert_i64(fx_payout(o, PROC_PAYOUT_REBATE, NULL)->amount_minor, r->rebate1);
        }
        o = fx_sale(w, "s-2", Q4D(2), r->sale2, "SW-1", 1);
        const proc_payout *p = fx_payout(o, PROC_PAYOUT_REBATE, NULL);
        assert_i64(p->amount_minor, r->rebate2);
        assert_string_equal(p->tier, r->tier2);
        assert_int_equal(fx_n_payouts(o, PROC_PAYOUT_TIER_TRUE_UP), 0);
        expect_tier_achieved(o, R, r->tier2, "2026-Q4");
    }
}

/* ---- §6.4 held tier and downgrades -------------------------------------------------- */

/* Reaches Gold in 2026-Q3: certification (bonus 50,000), then 25,000,000 at 3%. */
static void gold_in_q3(fx_world *w)
{
    fx_enrol(w);
    proc_outputs *o = fx_cert(w, "c-1", Q3D(1), "cert-a");
    fx_expect_payout(o, PROC_PAYOUT_CERTIFICATION_BONUS, "cert-a", 50000, R, OK, "2026-Q3");
    o = fx_sale(w, "s-q3", Q3D(2), 25000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, G, 750000, G, OK, "2026-Q3");
    expect_tier_achieved(o, R, G, "2026-Q3");
}

static void test_held_tier_next_period(void **state)
{
    fx_world *w = *state;
    gold_in_q3(w);

    /* first Q4 sale: reached Registered (1M), held Gold -> effective Gold */
    proc_outputs *o = fx_sale(w, "s-q4-1", Q4D(1), 1000000, "FW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, G, 30000, G, OK, "2026-Q4");       /* 1M x 3% */
    fx_expect_payout(o, PROC_PAYOUT_SPIFF, "q4-firewall", 5000, G, OK, "2026-Q4");
    fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, "mdf", 10000, G, OK, "2026-Q4");
    assert_int_equal(o->n_payouts, 3);
    assert_int_equal(o->n_alerts, 0);          /* current tier Gold -> Gold */
    const proc_period_state *q4 = fx_period_at(w, Q4D(1));
    assert_int_equal(q4->held_tier, 2);
    assert_int_equal(q4->reached_tier, 0);
    assert_int_equal(proc_effective_tier(q4), 2);

    /* 4,500,000 is 90% of Silver, but Silver is below the effective tier: no NEAR */
    o = fx_sale(w, "s-q4-2", Q4D(2), 3500000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, G, 105000, G, OK, "2026-Q4");      /* 3.5M x 3% */
    assert_int_equal(o->n_alerts, 0);

    /* Q4 reaches Silver on its own: effective stays Gold, no true-up, no alert */
    o = fx_sale(w, "s-q4-3", Q4D(3), 500000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, G, 15000, G, OK, "2026-Q4");       /* 0.5M x 3% */
    assert_int_equal(fx_n_payouts(o, PROC_PAYOUT_TIER_TRUE_UP), 0);
    assert_int_equal(o->n_alerts, 0);
    assert_int_equal(fx_period_at(w, Q4D(1))->reached_tier, 1);

    /* 2027-Q1 holds Q4's reached tier (Silver), not Q4's effective Gold: downgrade */
    o = fx_sale(w, "s-q1", Q1D(1), 1000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, S, 20000, S, OK, "2027-Q1");       /* 1M x 2% */
    assert_int_equal(o->n_alerts, 1);
    const proc_alert *a = fx_alert(o, PROC_ALERT_TIER_DOWNGRADED);
    assert_string_equal(fx_attr(a, "from_tier"), G);
    assert_string_equal(fx_attr(a, "to_tier"), S);
    assert_string_equal(a->period, "2027-Q1");
    assert_int_equal(a->severity, PROC_SEVERITY_WARNING);
    assert_string_equal(w->progs[0].tiers[proc_current_tier(&w->pt)].name, S);
}

typedef struct {
    bool cert;                 /* the Q1 event is a certification, else a sale */
    int64_t amount;
    const char *tier;          /* effective tier of 2027-Q1 after the event */
    int64_t payout;            /* rebate, or the certification bonus */
    bool downgraded;
} gap_row;

static const gap_row gap_rows[] = {
    {false, 1000000, R, 10000, true},      /* 1M x 1%; Gold -> Registered */
    {false, 25000000, G, 750000, false},   /* reaches Gold again at once: no alert */
    {true, 0, R, 50000, true},             /* a certification opens the period too */
};

/* Q3 Gold, nothing in Q4, first event in 2027-Q1: nothing is held across the gap. */
static void test_downgrade_after_gap(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof gap_rows / sizeof gap_rows[0]; i++) {
        const gap_row *r = &gap_rows[i];
        fx_reset(w);
        gold_in_q3(w);
        print_message("row %zu\n", i);
        proc_outputs *o = r->cert ? fx_cert(w, "c-q1", Q1D(5), "cert-b")
                                  : fx_sale(w, "s-q1", Q1D(5), r->amount, "SW-1", 1);
        fx_expect_payout(o, r->cert ? PROC_PAYOUT_CERTIFICATION_BONUS : PROC_PAYOUT_REBATE,
                         r->cert ? "cert-b" : r->tier, r->payout, r->tier, OK, "2027-Q1");
        const proc_period_state *q1 = fx_period_at(w, Q1D(5));
        assert_int_equal(q1->held_tier, 0);
        assert_int_equal(fx_n_alerts(o, PROC_ALERT_TIER_ACHIEVED), 0);
        assert_int_equal(fx_n_alerts(o, PROC_ALERT_TIER_DOWNGRADED), r->downgraded);
        if (r->downgraded) {
            const proc_alert *a = fx_alert(o, PROC_ALERT_TIER_DOWNGRADED);
            assert_string_equal(fx_attr(a, "from_tier"), G);
            assert_string_equal(fx_attr(a, "to_tier"), r->tier);
            assert_string_equal(a->period, "2027-Q1");
        }
    }
}

/* The held tier is fixed when the period opens: a later event of P-1 raising P-1's
 * reached tier does not change it. */
static void test_held_tier_fixed_at_open(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    fx_sale(w, "s-q3-1", Q3D(10), 1000000, "SW-1", 1);       /* Q3: Registered */
    fx_sale(w, "s-q4-1", Q4D(1), 1000000, "SW-1", 1);        /* Q4 opens holding Registered */

    /* 2026-09-30, accepted: Q3 ended 2026-10-01, the watermark 2026-10-02 is within 7 days */
    proc_outputs *o = fx_sale(w, "s-q3-2", T_2026_10_01 - DAY_MS, 4000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, S, 80000, S, OK, "2026-Q3");          /* 4M x 2% */
    fx_expect_payout(o, PROC_PAYOUT_TIER_TRUE_UP, S, 10000, S, OK, "2026-Q3");    /* 1M x 1% */
    assert_int_equal(fx_period_at(w, Q3D(10))->reached_tier, 1);
    /* the current tier is Q4's effective tier, still Registered: no TIER_ACHIEVED */
    assert_int_equal(fx_n_alerts(o, PROC_ALERT_TIER_ACHIEVED), 0);

    o = fx_sale(w, "s-q4-2", Q4D(3), 1000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, R, 10000, R, OK, "2026-Q4");          /* 1M x 1% */
    assert_int_equal(fx_period_at(w, Q4D(3))->held_tier, 0);
}

/* ---- §6.4 NEAR_NEXT_TIER --------------------------------------------------------------- */

static void expect_near(const proc_outputs *o, const char *tier, const char *threshold,
                        const char *revenue, const char *missing, const char *period)
{
    assert_int_equal(fx_n_alerts(o, PROC_ALERT_NEAR_NEXT_TIER), 1);
    const proc_alert *a = fx_alert(o, PROC_ALERT_NEAR_NEXT_TIER);
    assert_string_equal(fx_attr(a, "tier"), tier);
    assert_string_equal(fx_attr(a, "threshold_minor"), threshold);
    assert_string_equal(fx_attr(a, "revenue_minor"), revenue);
    assert_string_equal(fx_attr(a, "missing_minor"), missing);
    assert_string_equal(a->period, period);
    assert_int_equal(a->severity, PROC_SEVERITY_INFO);
}

static void test_near_next_tier_once(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    proc_outputs *o = fx_sale(w, "s-1", Q4D(1), 4499999, "SW-1", 1);   /* 89.99998% */
    assert_int_equal(fx_n_alerts(o, PROC_ALERT_NEAR_NEXT_TIER), 0);
    o = fx_sale(w, "s-2", Q4D(2), 1, "SW-1", 1);                        /* 4,500,000: 90% */
    expect_near(o, S, "5000000", "4500000", "500000", "2026-Q4");
    char q4_silver[PROC_ID_CAP];
    snprintf(q4_silver, sizeof q4_silver, "%s", fx_alert(o, PROC_ALERT_NEAR_NEXT_TIER)->alert_id);
    o = fx_sale(w, "s-3", Q4D(3), 1, "SW-1", 1);
    assert_int_equal(fx_n_alerts(o, PROC_ALERT_NEAR_NEXT_TIER), 0);     /* once per tier */
    o = fx_sale(w, "s-4", Q4D(4), 499999, "SW-1", 1);                   /* 5,000,000: Silver */
    assert_int_equal(fx_n_alerts(o, PROC_ALERT_NEAR_NEXT_TIER), 0);     /* 5M < 22.5M */
    o = fx_sale(w, "s-5", Q4D(5), 17500000, "SW-1", 1);                 /* 22,500,000 */
    expect_near(o, G, "25000000", "22500000", "2500000", "2026-Q4");
    char q4_gold[PROC_ID_CAP];
    snprintf(q4_gold, sizeof q4_gold, "%s", fx_alert(o, PROC_ALERT_NEAR_NEXT_TIER)->alert_id);
    o = fx_sale(w, "s-6", Q4D(6), 3000000, "SW-1", 1);                  /* 25.5M, no cert */
    assert_int_equal(fx_n_alerts(o, PROC_ALERT_NEAR_NEXT_TIER), 0);

    /* a new period: held Silver, near Gold again, with its own id */
    o = fx_sale(w, "s-7", Q1D(1), 22500000, "SW-1", 1);
    expect_near(o, G, "25000000", "22500000", "2500000", "2027-Q1");
    const char *q1_gold = fx_alert(o, PROC_ALERT_NEAR_NEXT_TIER)->alert_id;
    assert_string_not_equal(q1_gold, q4_gold);
    assert_string_not_equal(q4_silver, q4_gold);
}

/* Exact percentage arithmetic: revenue x 100 >= pct x threshold. */
typedef struct {
    int32_t pct;
    int64_t silver_min, revenue;
    bool near;
} pct_row;

static const pct_row pct_rows[] = {
    {90, 5000000, 4500000, true},     /* exactly 90% */
    {90, 5000000, 4499999, false},
    {90, 5000001, 4500000, false},    /* 90% = 4,500,000.9 */
    {90, 5000001, 4500001, true},
    {100, 5000000, 4999999, false},
    {1, 5000000, 50000, true},
    {1, 5000000, 49999, false},
};

/* The revenue for Gold is there but its certification is not: the alert says what is
 * missing instead of "0 to go". 22,500,000 is 90 % of Gold; 25,000,000 is all of it. */
static void test_near_next_tier_names_missing_certifications(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    proc_outputs *o = fx_sale(w, "s-1", Q4D(1), 22500000, "SW-1", 1);
    const proc_alert *a = fx_alert(o, PROC_ALERT_NEAR_NEXT_TIER);
    assert_string_equal(fx_attr(a, "tier"), "Gold");
    assert_string_equal(fx_attr(a, "missing_minor"), "2500000");
    assert_string_equal(fx_attr(a, "missing_certifications"), "1");
    assert_non_null(strstr(a->message, "2500000 EUR minor units of revenue and 1 more "
                                       "certification to go."));

    fx_reset(w);
    fx_enrol(w);
    o = fx_sale(w, "s-2", Q4D(1), 25000000, "SW-1", 1);
    a = fx_alert(o, PROC_ALERT_NEAR_NEXT_TIER);
    assert_string_equal(fx_attr(a, "missing_minor"), "0");
    assert_string_equal(fx_attr(a, "missing_certifications"), "1");
    assert_non_null(strstr(a->message, "has the revenue for tier Gold in 2026-Q4 and needs 1 "
                                       "more certification to reach it."));
}

static void test_near_next_tier_percent(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof pct_rows / sizeof pct_rows[0]; i++) {
        const pct_row *r = &pct_rows[i];
        fx_reset(w);
        w->progs[0].near_tier_pct = r->pct;
        w->progs[0].tiers[1].min_revenue_minor = r->silver_min;
        fx_enrol(w);
        proc_outputs *o = fx_sale(w, "s-1", Q4D(1), r->revenue, "SW-1", 1);
        if (fx_n_alerts(o, PROC_ALERT_NEAR_NEXT_TIER) != (int)r->near)
            fail_msg("row %zu: %d%% of %lld at %lld: near %d, expected %d", i, r->pct,
                     (long long)r->silver_min, (long long)r->revenue,
                     fx_n_alerts(o, PROC_ALERT_NEAR_NEXT_TIER), r->near);
    }
}

/* ---- §6.8 certifications ---------------------------------------------------------------- */

static void test_certification_completes_tier_after_sale(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    proc_outputs *o = fx_sale(w, "s-1", Q4D(1), 30000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, S, 600000, S, OK, "2026-Q4");      /* 30M x 2% */
    expect_tier_achieved(o, R, S, "2026-Q4");
    expect_near(o, G, "25000000", "30000000", "0", "2026-Q4");  /* revenue there, cert missing */

    o = fx_cert(w, "c-1", Q4D(2), "cert-a");
    assert_int_equal(o->n_payouts, 2);
    assert_int_equal(o->payouts[0].kind, PROC_PAYOUT_TIER_TRUE_UP);           /* cap order */
    fx_expect_payout(o, PROC_PAYOUT_TIER_TRUE_UP, G, 300000, G, OK, "2026-Q4"); /* 30M x 1% */
    fx_expect_payout(o, PROC_PAYOUT_CERTIFICATION_BONUS, "cert-a", 50000, G, OK, "2026-Q4");
    assert_int_equal(o->n_alerts, 1);
    expect_tier_achieved(o, S, G, "2026-Q4");
    assert_string_equal(fx_payout(o, PROC_PAYOUT_TIER_TRUE_UP, NULL)->source_event_id, "c-1");

    /* the same certification again (another event): a no-op */
    o = fx_cert(w, "c-2", Q4D(3), "cert-a");
    assert_int_equal(o->n_payouts, 0);
    assert_int_equal(o->n_alerts, 0);
    assert_int_equal(w->pt.certifications_total, 1);
    const proc_period_state *q4 = fx_period_at(w, Q4D(1));
    assert_int_equal(q4->certifications, 1);
    assert_i64(q4->cash_minor, 950000);          /* 600,000 + 300,000 + 50,000 */
    assert_i64(q4->payouts_minor, 1250000);      /* + MDF 300,000 */
    /* points: floor(30,000,000 / 10,000) + 50 x 1 */
    assert_i64(proc_period_points(&w->progs[0], q4), 3050);
}

static void test_certification_first_then_sales(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    proc_outputs *o = fx_cert(w, "c-1", Q4D(0), "cert-a");
    fx_expect_payout(o, PROC_PAYOUT_CERTIFICATION_BONUS, "cert-a", 50000, R, OK, "2026-Q4");
    assert_int_equal(o->n_alerts, 0);

    o = fx_sale(w, "s-1", Q4D(1), 10000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, S, 200000, S, OK, "2026-Q4");
    assert_int_equal(fx_n_payouts(o, PROC_PAYOUT_TIER_TRUE_UP), 0);            /* nothing before */
    expect_tier_achieved(o, R, S, "2026-Q4");

    o = fx_sale(w, "s-2", Q4D(2), 20000000, "SW-1", 1);                        /* 30M: Gold */
    fx_expect_payout(o, PROC_PAYOUT_REBATE, G, 600000, G, OK, "2026-Q4");      /* 20M x 3% */
    fx_expect_payout(o, PROC_PAYOUT_TIER_TRUE_UP, G, 100000, G, OK, "2026-Q4"); /* 10M x 1% */
    fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, "mdf", 200000, G, OK, "2026-Q4");
    expect_tier_achieved(o, S, G, "2026-Q4");
    assert_int_equal(fx_n_alerts(o, PROC_ALERT_NEAR_NEXT_TIER), 0);            /* 30M < 90M */
}

/* A certification of an earlier period counts toward later tiers; points count it only in
 * its own period. */
static void test_certification_counts_from_then_on(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    fx_cert(w, "c-1", Q3D(5), "cert-a");
    proc_outputs *o = fx_sale(w, "s-1", Q4D(1), 25000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, G, 750000, G, OK, "2026-Q4");
    assert_i64(proc_period_points(&w->progs[0], fx_period_at(w, Q3D(5))), 50);
    assert_i64(proc_period_points(&w->progs[0], fx_period_at(w, Q4D(1))), 2500);
}

/* The second certification lifts Gold to Platinum: the true-up is large enough to need
 * approval. */
static void test_certification_true_up_needs_approval(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    fx_cert(w, "c-1", Q4D(0), "cert-a");
    proc_outputs *o = fx_sale(w, "s-1", Q4D(1), 100000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, G, 3000000, G, PENDING, "2026-Q4");
    o = fx_cert(w, "c-2", Q4D(2), "cert-b");
    /* (400 - 300) bp x 100,000,000 = 1,000,000: exactly the threshold */
    fx_expect_payout(o, PROC_PAYOUT_TIER_TRUE_UP, P, 1000000, P, PENDING, "2026-Q4");
    fx_expect_payout(o, PROC_PAYOUT_CERTIFICATION_BONUS, "cert-b", 50000, P, OK, "2026-Q4");
    expect_tier_achieved(o, G, P, "2026-Q4");
    const proc_alert *a = fx_alert(o, PROC_ALERT_APPROVAL_REQUIRED);
    assert_string_equal(fx_attr(a, "payout_id"), fx_payout(o, PROC_PAYOUT_TIER_TRUE_UP, NULL)->payout_id);
    assert_string_equal(fx_attr(a, "payout_kind"), "TIER_TRUE_UP");
}

/* ---- §6.6 SPIFFs ---------------------------------------------------------------------- */

typedef struct {
    int64_t at, amount;
    const char *sku;
    int32_t qty;
    int64_t spiff;             /* 0: none */
} spiff_row;

static const spiff_row spiff_rows[] = {
    {T_2026_10_01, 5000000, "FW-100", 3, 15000},          /* valid_from, Silver by this sale */
    {T_2026_10_01 - 1, 5000000, "FW-100", 3, 0},          /* a millisecond before */
    {T_2027_01_01 - 1, 5000000, "FW-100", 3, 15000},      /* last millisecond */
    {T_2027_01_01, 5000000, "FW-100", 3, 0},              /* valid_to is exclusive */
    {T_2026_11_30, 4999999, "FW-100", 3, 0},              /* Registered < min_tier Silver */
    {T_2026_11_30, 5000000, "FW-", 1, 5000},              /* the prefix itself */
    {T_2026_11_30, 5000000, "FW", 1, 0},
    {T_2026_11_30, 5000000, "fw-100", 1, 0},              /* case matters */
    {T_2026_11_30, 5000000, "XFW-100", 1, 0},
    {T_2026_11_30, 5000000, "FW-9", 200, 1000000},        /* pending approval */
};

static void test_spiffs(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof spiff_rows / sizeof spiff_rows[0]; i++) {
        const spiff_row *r = &spiff_rows[i];
        fx_reset(w);
        fx_enrol(w);
        print_message("row %zu: %s x %d\n", i, r->sku, r->qty);
        proc_outputs *o = fx_sale(w, "s-1", r->at, r->amount, r->sku, r->qty);
        if (r->spiff == 0) {
            assert_int_equal(fx_n_payouts(o, PROC_PAYOUT_SPIFF), 0);
            continue;
        }
        const proc_payout *p = fx_payout(o, PROC_PAYOUT_SPIFF, "q4-firewall");
        assert_i64(p->amount_minor, r->spiff);
        assert_string_equal(p->tier, S);
        assert_int_equal(p->status, r->spiff >= 1000000 ? PENDING : OK);
        assert_int_equal(o->payouts[1].kind, PROC_PAYOUT_SPIFF);  /* after the rebate */
    }
}

/* A per-unit amount times a quantity past INT64_MAX is held at INT64_MAX, and the cap
 * cuts it: 5,000,000 x "FW-1" at Silver pays the rebate 100,000, then the SPIFF gets the
 * cap room left, 20,000,000 - 100,000 (no wrap to a negative amount). */
static void test_spiff_overflow_is_capped(void **state)
{
    fx_world *w = *state;
    w->progs[0].spiffs[0].per_unit_minor = INT64_MAX / 2;
    w->progs[0].approval_threshold_minor = INT64_MAX;
    fx_enrol(w);
    proc_outputs *o = fx_sale(w, "s-1", Q4D(1), 5000000, "FW-1", 3);
    assert_i64(fx_payout(o, PROC_PAYOUT_SPIFF, "q4-firewall")->amount_minor, 19900000);
    fx_alert(o, PROC_ALERT_CAP_REACHED);
}

/* ---- §6.12 caps --------------------------------------------------------------------- */

/* Two SPIFFs; file order is not name order. */
static void cap_program(proc_program *p, int64_t cap)
{
    p->cap_per_period_minor = cap;
    p->approval_threshold_minor = INT64_MAX;
    p->n_spiffs = 2;
    p->spiffs[0] = p->spiffs[1] = p->spiffs[0];
    snprintf(p->spiffs[0].id, sizeof p->spiffs[0].id, "z-first");   /* FW-, 5,000, Silver */
    snprintf(p->spiffs[1].id, sizeof p->spiffs[1].id, "a-second");
    snprintf(p->spiffs[1].sku_prefix, sizeof p->spiffs[1].sku_prefix, "FW-9");
    p->spiffs[1].per_unit_minor = 7000;
    p->spiffs[1].min_tier = 0;
}

typedef struct {
    int64_t cap;
    int64_t rebate1;                          /* sale 1: 4,000,000 at Registered */
    int64_t rebate2, true_up, z, a;           /* sale 2: 1,000,000 x "FW-9X" x 2 -> Silver */
    int alert_sale;                           /* which sale raises CAP_REACHED (0: none) */
    proc_payout_kind cut_kind;
    const char *cut_rule;
} cap_row;

/* Uncapped: 40,000 | 20,000 (1M x 2%) + 40,000 (4M x 1%) + 10,000 (2 x 5,000) +
 * 14,000 (2 x 7,000) = 124,000 in all. A third sale of 1,000 x "FW-9" would add
 * 20 + 5,000 + 7,000 = 12,020. */
static const cap_row cap_rows[] = {
    {200000, 40000, 20000, 40000, 10000, 14000, 0, 0, NULL},
    /* lands exactly on the cap: nothing is cut yet, so CAP_REACHED waits for sale 3 */
    {124000, 40000, 20000, 40000, 10000, 14000, 3, PROC_PAYOUT_REBATE, S},
    {123999, 40000, 20000, 40000, 10000, 13999, 2, PROC_PAYOUT_SPIFF, "a-second"},
    {115000, 40000, 20000, 40000, 10000, 5000, 2, PROC_PAYOUT_SPIFF, "a-second"},
    {105000, 40000, 20000, 40000, 5000, 0, 2, PROC_PAYOUT_SPIFF, "z-first"},
    {100000, 40000, 20000, 40000, 0, 0, 2, PROC_PAYOUT_SPIFF, "z-first"},
    {90000, 40000, 20000, 30000, 0, 0, 2, PROC_PAYOUT_TIER_TRUE_UP, S},
    {60000, 40000, 20000, 0, 0, 0, 2, PROC_PAYOUT_TIER_TRUE_UP, S},
    {50000, 40000, 10000, 0, 0, 0, 2, PROC_PAYOUT_REBATE, S},
    {40000, 40000, 0, 0, 0, 0, 2, PROC_PAYOUT_REBATE, S},
    {30000, 30000, 0, 0, 0, 0, 1, PROC_PAYOUT_REBATE, R},
};

static void expect_amount(const proc_outputs *o, proc_payout_kind kind, const char *rule,
                          int64_t amount)
{
    if (amount == 0) {
        for (int i = 0; i < o->n_payouts; i++)
            if (o->payouts[i].kind == kind && strcmp(o->payouts[i].rule_id, rule) == 0)
                fail_msg("a zero %s payout was emitted", proc_payout_kind_name(kind));
        return;
    }
    assert_i64(fx_payout(o, kind, rule)->amount_minor, amount);
}

/* CAP_REACHED names the payout that was cut: emitted when something was left of it. */
static void expect_cap_alert(const proc_outputs *o, const cap_row *r)
{
    char cap[32];
    snprintf(cap, sizeof cap, "%lld", (long long)r->cap);
    const proc_alert *a = fx_alert(o, PROC_ALERT_CAP_REACHED);
    assert_string_equal(fx_attr(a, "payout_kind"), proc_payout_kind_name(r->cut_kind));
    assert_string_equal(fx_attr(a, "cap_minor"), cap);
    assert_int_equal(a->severity, PROC_SEVERITY_WARNING);
    assert_string_equal(a->period, "2026-Q4");
    int emitted = 0;
    for (int i = 0; i < o->n_payouts; i++)
        if (o->payouts[i].kind == r->cut_kind && strcmp(o->payouts[i].rule_id, r->cut_rule) == 0) {
            assert_string_equal(o->payouts[i].payout_id, fx_attr(a, "payout_id"));
            emitted = 1;
        }
    if (!emitted)   /* cut to zero: the alert names a payout id nobody will see */
        assert_int_equal(strncmp(fx_attr(a, "payout_id"), "po_", 3), 0);
}

static void test_cap_order(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof cap_rows / sizeof cap_rows[0]; i++) {
        const cap_row *r = &cap_rows[i];
        fx_reset(w);
        cap_program(&w->progs[0], r->cap);
        fx_enrol(w);
        print_message("row %zu: cap %lld\n", i, (long long)r->cap);

        proc_outputs *o = fx_sale(w, "s-1", Q4D(1), 4000000, "SW-1", 1);
        expect_amount(o, PROC_PAYOUT_REBATE, R, r->rebate1);
        fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, "mdf", 40000, R, OK, "2026-Q4");
        assert_int_equal(fx_n_alerts(o, PROC_ALERT_CAP_REACHED), r->alert_sale == 1);
        if (r->alert_sale == 1)
            expect_cap_alert(o, r);

        o = fx_sale(w, "s-2", Q4D(2), 1000000, "FW-9X", 2);
        expect_amount(o, PROC_PAYOUT_REBATE, S, r->rebate2);
        expect_amount(o, PROC_PAYOUT_TIER_TRUE_UP, S, r->true_up);
        expect_amount(o, PROC_PAYOUT_SPIFF, "z-first", r->z);
        expect_amount(o, PROC_PAYOUT_SPIFF, "a-second", r->a);
        fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, "mdf", 10000, S, OK, "2026-Q4");  /* no cap */
        /* emitted in cap order: REBATE, TIER_TRUE_UP, SPIFFs in file order, then MDF */
        for (int k = 1; k < o->n_payouts; k++)
            assert_true(o->payouts[k - 1].kind <= o->payouts[k].kind);
        if (r->z && r->a)
            assert_string_equal(fx_payout(o, PROC_PAYOUT_SPIFF, "z-first")[1].rule_id, "a-second");
        assert_int_equal(fx_n_alerts(o, PROC_ALERT_CAP_REACHED), r->alert_sale == 2);
        if (r->alert_sale == 2)
            expect_cap_alert(o, r);
        int64_t total = r->rebate1 + r->rebate2 + r->true_up + r->z + r->a;
        assert_i64(total, r->cap < 124000 ? r->cap : 124000);
        assert_i64(fx_period_at(w, Q4D(1))->cash_minor, total);

        /* a capped period stays capped: no cash, one CAP_REACHED in all; MDF accrues */
        o = fx_sale(w, "s-3", Q4D(3), 1000, "FW-9", 1);
        assert_int_equal(fx_n_alerts(o, PROC_ALERT_CAP_REACHED), r->alert_sale == 3);
        if (r->alert_sale == 3)
            expect_cap_alert(o, r);
        assert_i64(fx_cash(o), r->alert_sale ? 0 : 12020);
        fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, "mdf", 10, S, OK, "2026-Q4");

        /* the next period has its own cap: held Silver, 1M x 2% */
        o = fx_sale(w, "s-4", Q1D(1), 1000000, "SW-1", 1);
        fx_expect_payout(o, PROC_PAYOUT_REBATE, S, 20000, S, OK, "2027-Q1");
    }
}

/* A certification bonus is last in the cap order and is cut too; one CAP_REACHED. */
static void test_cap_cuts_certification_bonus(void **state)
{
    fx_world *w = *state;
    w->progs[0].cap_per_period_minor = 60000;
    fx_enrol(w);
    proc_outputs *o = fx_sale(w, "s-1", Q4D(1), 3000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, R, 30000, R, OK, "2026-Q4");
    o = fx_cert(w, "c-1", Q4D(2), "cert-a");
    fx_expect_payout(o, PROC_PAYOUT_CERTIFICATION_BONUS, "cert-a", 30000, R, OK, "2026-Q4");
    const proc_alert *a = fx_alert(o, PROC_ALERT_CAP_REACHED);
    assert_string_equal(fx_attr(a, "payout_kind"), "CERTIFICATION_BONUS");
    assert_string_equal(fx_attr(a, "cap_minor"), "60000");
    assert_string_equal(fx_attr(a, "payout_id"), o->payouts[0].payout_id);
    o = fx_cert(w, "c-2", Q4D(3), "cert-b");
    assert_int_equal(o->n_payouts, 0);
    assert_int_equal(o->n_alerts, 0);
    assert_i64(fx_period_at(w, Q4D(1))->cash_minor, 60000);
}

/* ---- §6.13 approval -------------------------------------------------------------------- */

typedef struct {
    int64_t amount;            /* one sale from zero, 0 certifications: Silver */
    int64_t rebate, mdf;
} approval_row;

static const approval_row approval_rows[] = {
    {49999975, 1000000, 500000},    /* 999,999.5 -> 1,000,000 (= threshold); 499,999.75 */
    {49999925, 999998, 499999},     /* 999,998.5 -> 999,998; 499,999.25 */
    {49999950, 999999, 500000},     /* 999,999.0; 499,999.5 -> 500,000 (tie, even above) */
    {50000000, 1000000, 500000},
    {100000000, 2000000, 1000000},  /* both pending */
};

static void test_approval_threshold(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof approval_rows / sizeof approval_rows[0]; i++) {
        const approval_row *r = &approval_rows[i];
        fx_reset(w);
        fx_enrol(w);
        print_message("row %zu: %lld\n", i, (long long)r->amount);
        proc_outputs *o = fx_sale(w, "s-1", Q4D(1), r->amount, "SW-1", 1);
        int pending = 0;
        for (int k = 0; k < o->n_payouts; k++) {
            const proc_payout *p = &o->payouts[k];
            int64_t want = p->kind == PROC_PAYOUT_REBATE ? r->rebate : r->mdf;
            assert_i64(p->amount_minor, want);
            if (want >= 1000000) {
                assert_int_equal(p->status, PENDING);
                pending++;
                /* an APPROVAL_REQUIRED alert names exactly this payout */
                int named = 0;
                for (int j = 0; j < o->n_alerts; j++) {
                    const proc_alert *a = &o->alerts[j];
                    if (a->kind != PROC_ALERT_APPROVAL_REQUIRED ||
                        strcmp(fx_attr(a, "payout_id"), p->payout_id) != 0)
                        continue;
                    named++;
                    assert_string_equal(fx_attr(a, "payout_kind"), proc_payout_kind_name(p->kind));
                    assert_string_equal(fx_attr(a, "threshold_minor"), "1000000");
                    assert_int_equal(a->severity, PROC_SEVERITY_WARNING);
                    assert_string_equal(a->period, "2026-Q4");
                    assert_string_equal(a->source_event_id, "s-1");
                }
                assert_int_equal(named, 1);
            } else {
                assert_int_equal(p->status, OK);
            }
        }
        assert_int_equal(o->n_payouts, 2);
        assert_int_equal(fx_n_alerts(o, PROC_ALERT_APPROVAL_REQUIRED), pending);
    }
}

/* ---- §6.2 conversion feeds every later computation -------------------------------------- */

static void test_fx_sales(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    /* USD 1,000,001 x 0.92 = 920,000.92 -> 920,001; rebate 9,200.01 -> 9,200 */
    fx_sale_ev(w, "s-usd", Q4D(1), 1000001, "USD", "SW-1", 1);
    proc_outputs *o = fx_applied(w);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, R, 9200, R, OK, "2026-Q4");
    fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, "mdf", 9200, R, OK, "2026-Q4");
    assert_string_equal(o->payouts[0].currency, "EUR");
    assert_i64(fx_period_at(w, Q4D(1))->revenue_minor, 920001);

    /* GBP 150 x 1.17 = 175.5 -> 176 (tie, even above); rebate 1.76 -> 2 */
    fx_sale_ev(w, "s-gbp", Q4D(2), 150, "GBP", "SW-1", 1);
    o = fx_applied(w);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, R, 2, R, OK, "2026-Q4");
    assert_i64(fx_period_at(w, Q4D(1))->revenue_minor, 920177);

    /* EUR 4,079,823 brings 5,000,000: Silver; rebate 81,596.46; true-up 1% x 920,177 */
    o = fx_sale(w, "s-eur", Q4D(3), 4079823, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, S, 81596, S, OK, "2026-Q4");
    fx_expect_payout(o, PROC_PAYOUT_TIER_TRUE_UP, S, 9202, S, OK, "2026-Q4");
    expect_tier_achieved(o, R, S, "2026-Q4");
}

/* Tiers see the converted amount: USD 5,434,782 -> 4,999,999.44; 5,434,783 -> 5,000,000.36. */
static void test_fx_band_edge(void **state)
{
    fx_world *w = *state;
    static const struct {
        int64_t usd, eur, rebate;
        const char *tier;
    } rows[] = {
        {5434782, 4999999, 50000, R},     /* 4,999,999 x 1% = 49,999.99 */
        {5434783, 5000000, 100000, S},    /* 5,000,000 x 2% */
        {50, 46, 0, R},                   /* 46.0; 0.46 -> 0: no rebate emitted */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        fx_reset(w);
        fx_enrol(w);
        fx_sale_ev(w, "s-1", Q4D(1), rows[i].usd, "USD", "SW-1", 1);
        proc_outputs *o = fx_applied(w);
        assert_i64(fx_period_at(w, Q4D(1))->revenue_minor, rows[i].eur);
        if (rows[i].rebate)
            fx_expect_payout(o, PROC_PAYOUT_REBATE, rows[i].tier, rows[i].rebate, rows[i].tier,
                             OK, "2026-Q4");
        else
            assert_int_equal(o->n_payouts, 0);
    }
}

/* ---- §6.14 points -------------------------------------------------------------------------- */

typedef struct {
    int64_t revenue;
    int32_t certs, deals;
    int64_t points;
} points_row;

static const points_row points_rows[] = {
    {0, 0, 0, 0},
    {9999, 0, 0, 0},                 /* floor(0.9999) */
    {10000, 0, 0, 1},
    {12345678, 1, 0, 1284},          /* 1,234 + 50 */
    {19999, 0, 3, 301},              /* 1 + 300 */
    {-5000000, 2, 1, 200},           /* max(0, revenue): 0 + 100 + 100 */
    {1000000000000LL, 0, 0, 100000000},
};

static void test_points(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof points_rows / sizeof points_rows[0]; i++) {
        const points_row *r = &points_rows[i];
        proc_period_state ps;
        memset(&ps, 0, sizeof ps);
        ps.revenue_minor = r->revenue;
        ps.certifications = r->certs;
        ps.deals_won = r->deals;
        int64_t got = proc_period_points(&w->progs[0], &ps);
        if (got != r->points)
            fail_msg("row %zu: %lld points, expected %lld", i, (long long)got, (long long)r->points);
    }
}

/* ---- §7 deterministic ids ------------------------------------------------------------------ */

#define MAX_IDS 32

typedef struct {
    int n;
    char ids[MAX_IDS][PROC_ID_CAP];
} id_list;

static void collect(id_list *l, const proc_outputs *o)
{
    for (int i = 0; i < o->n_payouts && l->n < MAX_IDS; i++)
        snprintf(l->ids[l->n++], PROC_ID_CAP, "%s", o->payouts[i].payout_id);
    for (int i = 0; i < o->n_alerts && l->n < MAX_IDS; i++)
        snprintf(l->ids[l->n++], PROC_ID_CAP, "%s", o->alerts[i].alert_id);
}

/* Cap 1,100,000. c-1: bonus 50,000 | s-1 4.5M: rebate 45,000, MDF 45,000, NEAR Silver |
 * s-2 25M x "FW-1" x 2: Gold, rebate 750,000, true-up 200 bp x 4.5M = 90,000, SPIFF 10,000,
 * MDF 250,000, TIER_ACHIEVED (cash 945,000) | last 100M: rebate 3,000,000 cut to 155,000,
 * CAP_REACHED, MDF 1,000,000 pending + APPROVAL_REQUIRED, NEAR Platinum (129.5M >= 90M). */
static void scenario(fx_world *w, id_list *l, const char *last_sale_id)
{
    fx_reset(w);
    w->progs[0].cap_per_period_minor = 1100000;
    fx_enrol(w);
    collect(l, fx_cert(w, "c-1", Q4D(0), "cert-a"));
    collect(l, fx_sale(w, "s-1", Q4D(1), 4500000, "FW-1", 1));
    collect(l, fx_sale(w, "s-2", Q4D(2), 25000000, "FW-1", 2));
    assert_i64(fx_payout(&w->out, PROC_PAYOUT_TIER_TRUE_UP, NULL)->amount_minor, 90000);
    proc_outputs *o = fx_sale(w, last_sale_id, Q4D(3), 100000000, "SW-1", 1);
    collect(l, o);
    assert_int_equal(o->n_payouts, 2);
    assert_i64(o->payouts[0].amount_minor, 155000);
    assert_int_equal(o->payouts[1].status, PENDING);
    assert_int_equal(o->n_alerts, 3);
    assert_int_equal(o->alerts[0].kind, PROC_ALERT_CAP_REACHED);
    assert_int_equal(o->alerts[1].kind, PROC_ALERT_APPROVAL_REQUIRED);
    assert_int_equal(o->alerts[2].kind, PROC_ALERT_NEAR_NEXT_TIER);
}

static void test_deterministic_ids(void **state)
{
    fx_world *w = *state;
    static id_list a, b, c;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    scenario(w, &a, "s-3");
    scenario(w, &b, "s-3");           /* the same input in a fresh state */
    scenario(w, &c, "s-3-other");     /* the last sale under another event_id */

    assert_int_equal(a.n, 14);        /* 1 + 3 + 5 + 5 */
    assert_int_equal(b.n, 14);
    assert_int_equal(c.n, 14);
    for (int i = 0; i < a.n; i++) {
        assert_string_equal(a.ids[i], b.ids[i]);
        assert_true(strncmp(a.ids[i], "po_", 3) == 0 || strncmp(a.ids[i], "al_", 3) == 0);
        assert_int_equal(strlen(a.ids[i]), 35);
        assert_int_equal(strspn(a.ids[i] + 3, "0123456789abcdef"), 32);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(a.ids[i], a.ids[j]);
    }
    for (int i = 0; i < 9; i++)       /* the events before the last are the same */
        assert_string_equal(a.ids[i], c.ids[i]);
    assert_string_not_equal(a.ids[9], c.ids[9]);    /* rebate payout */
    assert_string_not_equal(a.ids[10], c.ids[10]);  /* MDF payout */
    assert_string_equal(a.ids[11], c.ids[11]);      /* CAP_REACHED: per partner and period */
    assert_string_not_equal(a.ids[12], c.ids[12]);  /* APPROVAL_REQUIRED: per payout */
    assert_string_equal(a.ids[13], c.ids[13]);      /* NEAR_NEXT_TIER: per period and tier */
}

/* Per-event alerts (TIER_ACHIEVED, TIER_DOWNGRADED) take their id from the source event:
 * the same event in a fresh state gives the same id, another event another id. */
static void test_deterministic_tier_alert_ids(void **state)
{
    fx_world *w = *state;
    static const char *const events[] = {"x-1", "x-2", "x-1"};
    char achieved[3][PROC_ID_CAP], downgraded[3][PROC_ID_CAP], rebate[3][PROC_ID_CAP];
    for (int i = 0; i < 3; i++) {
        fx_reset(w);
        fx_enrol(w);
        fx_sale_ev(w, events[i], Q4D(1), 5000000, "EUR", "SW-1", 1);
        proc_outputs *o = fx_applied(w);
        snprintf(achieved[i], PROC_ID_CAP, "%s", fx_alert(o, PROC_ALERT_TIER_ACHIEVED)->alert_id);
        snprintf(rebate[i], PROC_ID_CAP, "%s", fx_payout(o, PROC_PAYOUT_REBATE, NULL)->payout_id);
        char id[16];
        snprintf(id, sizeof id, "%s-q2", events[i]);
        fx_sale_ev(w, id, T_2027_04_01, 1000, "EUR", "SW-1", 1);   /* gap: Silver -> Registered */
        o = fx_applied(w);
        snprintf(downgraded[i], PROC_ID_CAP, "%s", fx_alert(o, PROC_ALERT_TIER_DOWNGRADED)->alert_id);
    }
    assert_string_equal(achieved[0], achieved[2]);
    assert_string_equal(downgraded[0], downgraded[2]);
    assert_string_equal(rebate[0], rebate[2]);
    assert_string_not_equal(achieved[0], achieved[1]);
    assert_string_not_equal(downgraded[0], downgraded[1]);
    assert_string_not_equal(rebate[0], rebate[1]);
    assert_string_not_equal(achieved[0], downgraded[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        fx_test(test_band_edges),
        fx_test(test_jump_several_tiers_with_true_up),
        fx_test(test_retroactive_true_up),
        fx_test(test_payout_fields),
        fx_test(test_marginal),
        fx_test(test_held_tier_next_period),
        fx_test(test_downgrade_after_gap),
        fx_test(test_held_tier_fixed_at_open),
        fx_test(test_near_next_tier_once),
        fx_test(test_near_next_tier_percent),
        fx_test(test_near_next_tier_names_missing_certifications),
        fx_test(test_certification_completes_tier_after_sale),
        fx_test(test_certification_first_then_sales),
        fx_test(test_certification_counts_from_then_on),
        fx_test(test_certification_true_up_needs_approval),
        fx_test(test_spiffs),
        fx_test(test_spiff_overflow_is_capped),
        fx_test(test_cap_order),
        fx_test(test_cap_cuts_certification_bonus),
        fx_test(test_approval_threshold),
        fx_test(test_fx_sales),
        fx_test(test_fx_band_edge),
        fx_test(test_points),
        fx_test(test_deterministic_ids),
        fx_test(test_deterministic_tier_alert_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
