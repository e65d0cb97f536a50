/*
 * test_rules_return.c — returns and clawbacks (CONTRACT §6.11, with §6.12 caps and §6.13
 * approval) on the example program of §5 (return_window_days 90, MDF 100 bp, cap
 * 20,000,000, approval from 1,000,000). Every clawback is worked by hand: a return of R
 * of a sale of A claws back round(P x returned_after / A) - round(P x returned_before / A)
 * of each payout P the sale emitted.
 */
#include "test_fixtures.h"

#define OK PROC_STATUS_APPROVED
#define PENDING PROC_STATUS_PENDING_APPROVAL

/* @returns the payout_id the sale emitted for this kind (and rule). */
static void id_of(const proc_outputs *o, proc_payout_kind kind, const char *rule, char out[PROC_ID_CAP])
{
    snprintf(out, PROC_ID_CAP, "%s", fx_payout(o, kind, rule)->payout_id);
}

/* A full return: one reversal per payout of the sale, same order, rule_id = the reversed
 * payout's id; MDF by a negative MDF_ACCRUAL. The true-up is not reversed. */
static void test_full_return(void **state)
{
    fx_world *w = *state;
    char rebate[PROC_ID_CAP], spiff[PROC_ID_CAP], mdf[PROC_ID_CAP];
    fx_enrol(w);
    /* 1,000,000 at Registered, then 5,000,000 x "FW-1" x 2 -> Silver: rebate 100,000,
     * true-up 1% x 1,000,000 = 10,000, SPIFF 10,000, MDF 50,000 */
    fx_sale(w, "s-0", Q4D(1), 1000000, "SW-1", 1);
    proc_outputs *o = fx_sale(w, "s-1", Q4D(2), 5000000, "FW-1", 2);
    assert_int_equal(o->n_payouts, 4);
    id_of(o, PROC_PAYOUT_REBATE, NULL, rebate);
    id_of(o, PROC_PAYOUT_SPIFF, NULL, spiff);
    id_of(o, PROC_PAYOUT_MDF_ACCRUAL, NULL, mdf);

    o = fx_return(w, "r-1", Q4D(10) + 777, 5000000, "s-1");
    assert_int_equal(o->n_payouts, 3);
    assert_int_equal(o->n_alerts, 0);
    assert_int_equal(o->payouts[0].kind, PROC_PAYOUT_CLAWBACK);
    assert_string_equal(o->payouts[0].rule_id, rebate);
    assert_int_equal(o->payouts[1].kind, PROC_PAYOUT_CLAWBACK);
    assert_string_equal(o->payouts[1].rule_id, spiff);
    assert_int_equal(o->payouts[2].kind, PROC_PAYOUT_MDF_ACCRUAL);
    assert_string_equal(o->payouts[2].rule_id, mdf);
    fx_expect_payout(o, PROC_PAYOUT_CLAWBACK, rebate, -100000, "Silver", OK, "2026-Q4");
    fx_expect_payout(o, PROC_PAYOUT_CLAWBACK, spiff, -10000, "Silver", OK, "2026-Q4");
    fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, mdf, -50000, "Silver", OK, "2026-Q4");
    for (int i = 0; i < o->n_payouts; i++) {
        const proc_payout *p = &o->payouts[i];
        assert_string_equal(p->source_event_id, "r-1");
        assert_i64(p->occurred_at, Q4D(10) + 777);
        assert_string_equal(p->currency, "EUR");
        assert_int_equal(strncmp(p->payout_id, "po_", 3), 0);
        assert_string_not_equal(p->payout_id, p->rule_id);
    }
    const proc_period_state *q4 = fx_period_at(w, Q4D(2));
    assert_i64(q4->revenue_minor, 1000000);
    assert_int_equal(q4->reached_tier, 1);                /* Silver stays */
    assert_i64(q4->cash_minor, 130000);                   /* 10,000 + 120,000: not freed */
    /* 10,000 + 10,000 MDF + 170,000 - 160,000 */
    assert_i64(q4->payouts_minor, 30000);
    assert_int_equal(o->n_rows, 1);
    assert_int_equal(o->rows[0].period_key, KEY_Q4);

    /* nothing is left to return */
    fx_return_ev(w, "r-2", Q4D(11), 1, "EUR", "s-1");
    proc_outputs *d = fx_dead(w, PROC_DLQ_RETURN_INVALID);
    assert_non_null(strstr(d->detail, "s-1"));
}

/* ---- partial and repeated returns: each return rounded on its own (CONTRACT §6.11) ------- */

/* s-0 5,000,000 (Silver), then s-1 1,000,000 x "FW-1": rebate 20,000, SPIFF 5,000,
 * MDF 10,000. The k-th return claws back the running share (issue #6):
 * round_half_even(payout x R_k / 1,000,000) - round_half_even(payout x R_(k-1) / 1,000,000)
 * with R_k the amount returned so far: rebate R/50, SPIFF R/200, MDF R/100. A sale
 * returned in full therefore gives back exactly its payouts, however it is split. */
typedef struct {
    const char *what;
    int n;
    int64_t pieces[3];
    int64_t rebate[3], spiff[3], mdf[3];  /* clawed back by each return (0: none emitted) */
} pieces_row;

static const pieces_row pieces_rows[] = {
    /* so far 25, 75, 1,000,000. rebate 0.5 -> 0 (tie, even), 1.5 -> 2 (tie, even),
     * 20,000: 0, 2, 19,998; SPIFF 0.125 -> 0, 0.375 -> 0, 5,000: 0, 0, 5,000;
     * MDF 0.25 -> 0, 0.75 -> 1, 10,000: 0, 1, 9,999 */
    {"25 + 50 + 999,925", 3, {25, 50, 999925}, {0, 2, 19998}, {0, 0, 5000}, {0, 1, 9999}},
    /* 999,975 first: rebate 19,999.5 -> 20,000 (tie, even above), MDF 9,999.75 -> 10,000,
     * SPIFF 4,999.875 -> 5,000; the last 25 leaves nothing to claw back */
    {"999,975 + 25", 2, {999975, 25}, {20000, 0}, {5000, 0}, {10000, 0}},
    /* halves: 10,000 / 2,500 / 5,000 each */
    {"500,000 + 500,000", 2, {500000, 500000}, {10000, 10000}, {2500, 2500}, {5000, 5000}},
    /* so far 333,333, 666,666, 1,000,000. rebate 6,666.66 -> 6,667, 13,333.32 -> 13,333,
     * 20,000: 6,667, 6,666, 6,667; SPIFF 1,666.665 -> 1,667, 3,333.33 -> 3,333, 5,000:
     * 1,667, 1,666, 1,667; MDF 3,333.33 -> 3,333, 6,666.66 -> 6,667, 10,000: 3,333,
     * 3,334, 3,333 (each rounded on its own they gave 20,001 / 5,001 / 9,999) */
    {"thirds", 3, {333333, 333333, 333334}, {6667, 6666, 6667}, {1667, 1666, 1667},
     {3333, 3334, 3333}},
    /* so far 300,000, 600,000, 1,000,000: rebate 6,000, 12,000, 20,000; SPIFF 1,500,
     * 3,000, 5,000; MDF 3,000, 6,000, 10,000 */
    {"30 % + 30 % + 40 %", 3, {300000, 300000, 400000}, {6000, 6000, 8000},
     {1500, 1500, 2000}, {3000, 3000, 4000}},
};

static void expect_reversal(const proc_outputs *o, proc_payout_kind kind, const char *rule,
                            int64_t amount)
{
    if (amount == 0) {
        for (int i = 0; i < o->n_payouts; i++)
            if (strcmp(o->payouts[i].rule_id, rule) == 0)
                fail_msg("a zero reversal of %s was emitted", rule);
        return;
    }
    fx_expect_payout(o, kind, rule, -amount, "Silver", OK, "2026-Q4");
}

static void test_partial_returns_running_share(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof pieces_rows / sizeof pieces_rows[0]; i++) {
        const pieces_row *r = &pieces_rows[i];
        char rebate[PROC_ID_CAP], spiff[PROC_ID_CAP], mdf[PROC_ID_CAP];
        fx_reset(w);
        fx_enrol(w);
        print_message("row %zu: %s\n", i, r->what);
        fx_sale(w, "s-0", Q4D(1), 5000000, "SW-1", 1);
        proc_outputs *o = fx_sale(w, "s-1", Q4D(2), 1000000, "FW-1", 1);
        fx_expect_payout(o, PROC_PAYOUT_REBATE, "Silver", 20000, "Silver", OK, "2026-Q4");
        fx_expect_payout(o, PROC_PAYOUT_SPIFF, "q4-firewall", 5000, "Silver", OK, "2026-Q4");
        fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, "mdf", 10000, "Silver", OK, "2026-Q4");
        id_of(o, PROC_PAYOUT_REBATE, NULL, rebate);
        id_of(o, PROC_PAYOUT_SPIFF, NULL, spiff);
        id_of(o, PROC_PAYOUT_MDF_ACCRUAL, NULL, mdf);

        int64_t returned = 0, sum_rebate = 0, sum_spiff = 0, sum_mdf = 0;
        for (int k = 0; k < r->n; k++) {
            char id[16];
            snprintf(id, sizeof id, "r-%d", k);
            o = fx_return(w, id, Q4D(10 + k), r->pieces[k], "s-1");
            expect_reversal(o, PROC_PAYOUT_CLAWBACK, rebate, r->rebate[k]);
            expect_reversal(o, PROC_PAYOUT_CLAWBACK, spiff, r->spiff[k]);
            expect_reversal(o, PROC_PAYOUT_MDF_ACCRUAL, mdf, r->mdf[k]);
            assert_int_equal(o->n_payouts, (r->rebate[k] != 0) + (r->spiff[k] != 0) + (r->mdf[k] != 0));
            returned += r->pieces[k];
            sum_rebate += r->rebate[k];
            sum_spiff += r->spiff[k];
            sum_mdf += r->mdf[k];
            assert_i64(fx_period_at(w, Q4D(2))->revenue_minor, 6000000 - returned);
        }
        assert_i64(returned, 1000000);
        /* returned in full: exactly the payouts back */
        assert_i64(sum_rebate, 20000);
        assert_i64(sum_spiff, 5000);
        assert_i64(sum_mdf, 10000);
        fx_return_ev(w, "r-more", Q4D(20), 1, "EUR", "s-1");
        fx_dead(w, PROC_DLQ_RETURN_INVALID);
    }
}

/* A sale of 1.00 EUR at Registered (1 %): a 1-cent rebate and a 1-cent MDF accrual. The
 * running share gives the cent back at the return that crosses half of the sale, and in
 * total exactly once; rounding each return on its own gave 0 + 0 + 0 for 30/30/40. */
static void test_one_cent_payouts_split(void **state)
{
    fx_world *w = *state;
    static const struct {
        const char *what;
        int n;
        int64_t pieces[4];
        int64_t back[4];                 /* of the rebate and of the MDF, each return */
    } rows[] = {
        {"30 + 30 + 40", 3, {30, 30, 40}, {0, 1, 0}},       /* 0.3 -> 0, 0.6 -> 1, 1 */
        {"50 + 50", 2, {50, 50}, {0, 1}},                   /* 0.5 -> 0 (tie, even), 1 */
        {"51 + 49", 2, {51, 49}, {1, 0}},                   /* 0.51 -> 1, 1 */
        {"25 x 4", 4, {25, 25, 25, 25}, {0, 0, 1, 0}},     /* 0.25, 0.5 -> 0, 0.75 -> 1 */
        {"100", 1, {100}, {1}},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char rebate[PROC_ID_CAP], mdf[PROC_ID_CAP];
        fx_reset(w);
        fx_enrol(w);
        print_message("row %zu: %s\n", i, rows[i].what);
        proc_outputs *o = fx_sale(w, "s-1", Q4D(2), 100, "SW-1", 1);
        fx_expect_payout(o, PROC_PAYOUT_REBATE, "Registered", 1, "Registered", OK, "2026-Q4");
        fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, "mdf", 1, "Registered", OK, "2026-Q4");
        id_of(o, PROC_PAYOUT_REBATE, NULL, rebate);
        id_of(o, PROC_PAYOUT_MDF_ACCRUAL, NULL, mdf);
        int64_t total = 0;
        for (int k = 0; k < rows[i].n; k++) {
            char id[16];
            snprintf(id, sizeof id, "r-%d", k);
            o = fx_return(w, id, Q4D(10 + k), rows[i].pieces[k], "s-1");
            int64_t back = rows[i].back[k];
            if (back == 0) {
                assert_int_equal(o->n_payouts, 0);
            } else {
                fx_expect_payout(o, PROC_PAYOUT_CLAWBACK, rebate, -back, "Registered", OK,
                                 "2026-Q4");
                fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, mdf, -back, "Registered", OK,
                                 "2026-Q4");
            }
            total += back;
        }
        assert_i64(total, 1);
    }
}

/* ---- RETURN_INVALID --------------------------------------------------------------- */

typedef struct {
    const char *what;
    const char *original;
    int64_t at;
    int64_t amount;
    const char *currency;
    bool valid;
    const char *detail;            /* a word the detail must contain */
} invalid_return_row;

/* s-1: 1,000,000 EUR at Q4D(1) = 2026-10-02; 600,000 already returned (r-0). The window
 * closes at 2026-10-02 + 90 days = 2026-12-31 (Q4D(91)), inclusive. */
static const invalid_return_row invalid_return_rows[] = {
    {"the 400,000 left", "s-1", Q4D(5), 400000, "EUR", true, NULL},
    {"1 more than is left", "s-1", Q4D(5), 400001, "EUR", false, "400000"},
    /* USD 434,783 x 0.92 = 400,000.36 -> 400,000: exactly what is left */
    {"what is left, in USD", "s-1", Q4D(5), 434783, "USD", true, NULL},
    /* USD 434,784 -> 400,001.28 -> 400,001 */
    {"1 cent more, in USD", "s-1", Q4D(5), 434784, "USD", false, "400001"},
    {"at the last instant of the window", "s-1", Q4D(1) + 90 * DAY_MS, 1, "EUR", true, NULL},
    {"1 ms after the window", "s-1", Q4D(1) + 90 * DAY_MS + 1, 1, "EUR", false, "return_window_days"},
    {"at the sale's own instant", "s-1", Q4D(1), 1, "EUR", true, NULL},
    {"1 ms before the sale", "s-1", Q4D(1) - 1, 1, "EUR", false, "before"},
    {"an unknown sale", "s-404", Q4D(5), 1, "EUR", false, "s-404"},
    {"the other partner's sale", "s-p2", Q4D(5), 1, "EUR", false, "s-p2"},
    {"a return, not a sale", "r-0", Q4D(5), 1, "EUR", false, "r-0"},
    {"a certification's event id", "c-1", Q4D(5), 1, "EUR", false, "c-1"},
};

static void test_return_invalid(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof invalid_return_rows / sizeof invalid_return_rows[0]; i++) {
        const invalid_return_row *r = &invalid_return_rows[i];
        fx_reset(w);
        fx_enrol(w);
        fx_enrol_pt(w, &w->pt2);
        fx_sale_ev(w, "s-p2", Q4D(1), 1000000, "EUR", "SW-1", 1);
        fx_applied_pt(w, &w->pt2);
        fx_sale(w, "s-1", Q4D(1), 1000000, "SW-1", 1);
        fx_cert(w, "c-1", Q4D(1), "cert-a");
        fx_return(w, "r-0", Q4D(2), 600000, "s-1");
        print_message("row %zu: %s\n", i, r->what);

        fx_return_ev(w, "r-x", r->at, r->amount, r->currency, r->original);
        if (r->valid) {
            fx_applied(w);
            continue;
        }
        proc_outputs *o = fx_dead(w, PROC_DLQ_RETURN_INVALID);
        if (strstr(o->detail, r->detail) == NULL)
            fail_msg("detail '%s' does not say '%s'", o->detail, r->detail);
        /* not remembered: the same id with a valid return is applied */
        fx_return_ev(w, "r-x", Q4D(5), 1000, "EUR", "s-1");
        fx_applied(w);
    }
}

/* §6.0 order: UNSUPPORTED_CURRENCY before RETURN_INVALID before LATE_EVENT; a return is
 * checked against the late rule like any period event. */
static void test_return_check_order(void **state)
{
    fx_world *w = *state;
    fx_return_ev(w, "r-1", Q4D(5), 1000, "JPY", "nope");
    fx_dead(w, PROC_DLQ_PARTNER_NOT_ENROLLED);
    fx_enrol(w);
    fx_sale(w, "s-1", Q4D(80), 1000000, "SW-1", 1);               /* 2026-12-20 */
    fx_sale(w, "s-2", Q1D(40), 1000, "SW-1", 1);                  /* watermark 2027-02-10 */
    fx_return_ev(w, "r-1", Q4D(85), 1000, "JPY", "nope");
    fx_dead(w, PROC_DLQ_UNSUPPORTED_CURRENCY);
    fx_return_ev(w, "r-1", Q4D(85), 1000, "EUR", "nope");
    fx_dead(w, PROC_DLQ_RETURN_INVALID);
    fx_return_ev(w, "r-1", Q4D(85), 1000, "EUR", "s-1");          /* Q4 is closed */
    fx_dead(w, PROC_DLQ_LATE_EVENT);
    proc_outputs *o = fx_return(w, "r-1", Q1D(41), 1000, "s-1");   /* into its own period */
    fx_expect_payout(o, PROC_PAYOUT_CLAWBACK, NULL, -10, "Registered", OK, "2027-Q1");
}

/* ---- caps and approval ------------------------------------------------------------- */

/* Cap 100,000: the sale's rebate of 120,000 was cut to 100,000 and its SPIFF to nothing.
 * A return claws back what was paid, and frees no cap room. */
static void test_return_of_capped_sale(void **state)
{
    fx_world *w = *state;
    char rebate[PROC_ID_CAP];
    w->progs[0].cap_per_period_minor = 100000;
    fx_enrol(w);
    proc_outputs *o = fx_sale(w, "s-1", Q4D(1), 6000000, "FW-1", 2);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, "Silver", 100000, "Silver", OK, "2026-Q4");
    assert_int_equal(fx_n_payouts(o, PROC_PAYOUT_SPIFF), 0);
    assert_int_equal(fx_n_alerts(o, PROC_ALERT_CAP_REACHED), 1);
    id_of(o, PROC_PAYOUT_REBATE, NULL, rebate);

    /* half: 100,000 x 1/2 and 60,000 x 1/2 */
    o = fx_return(w, "r-1", Q4D(2), 3000000, "s-1");
    assert_int_equal(o->n_payouts, 2);
    fx_expect_payout(o, PROC_PAYOUT_CLAWBACK, rebate, -50000, "Silver", OK, "2026-Q4");
    fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, NULL, -30000, "Silver", OK, "2026-Q4");
    assert_int_equal(o->n_alerts, 0);                    /* no second CAP_REACHED */
    assert_i64(fx_period_at(w, Q4D(1))->cash_minor, 100000);

    /* the cap is still reached: a new sale's rebate (1,000,000 x 2% = 20,000) is cut to
     * nothing; its MDF accrues */
    o = fx_sale(w, "s-2", Q4D(3), 1000000, "SW-1", 1);
    assert_i64(fx_cash(o), 0);
    assert_int_equal(o->n_payouts, 1);
    fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, "mdf", 10000, "Silver", OK, "2026-Q4");
    assert_int_equal(o->n_alerts, 0);

    o = fx_return(w, "r-2", Q4D(4), 3000000, "s-1");
    fx_expect_payout(o, PROC_PAYOUT_CLAWBACK, rebate, -50000, "Silver", OK, "2026-Q4");
    assert_i64(fx_period_at(w, Q4D(1))->cash_minor, 100000);
}

typedef struct {
    int64_t returned;
    int64_t clawback, mdf;
    proc_payout_status status;
} approval_row;

/* s-1: 60,000,000 at Silver (no certification): rebate 1,200,000 (pending, then approved:
 * a clawback of a payout still pending is held with it, test_rules_approval.c), MDF
 * 600,000. A return of R claws back R / 50 of the rebate and R / 100 of the MDF. Approval
 * goes by the magnitude |amount| >= 1,000,000. */
static const approval_row approval_rows[] = {
    {60000000, 1200000, 600000, PENDING},
    {50000000, 1000000, 500000, PENDING},    /* exactly the threshold */
    /* 49,999,975 / 50 = 999,999.5: tie, even above -> 1,000,000; MDF 499,999.75 */
    {49999975, 1000000, 500000, PENDING},
    /* 49,999,950 / 50 = 999,999: one cent under; MDF 499,999.5: tie, even above */
    {49999950, 999999, 500000, OK},
};

static void test_clawback_approval(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof approval_rows / sizeof approval_rows[0]; i++) {
        const approval_row *r = &approval_rows[i];
        fx_reset(w);
        fx_enrol(w);
        print_message("row %zu: %lld\n", i, (long long)r->returned);
        proc_outputs *o = fx_sale(w, "s-1", Q4D(1), 60000000, "SW-1", 1);
        fx_expect_payout(o, PROC_PAYOUT_REBATE, "Silver", 1200000, "Silver", PENDING, "2026-Q4");
        char rebate_id[PROC_ID_CAP];
        id_of(o, PROC_PAYOUT_REBATE, NULL, rebate_id);
        fx_decide(w, "d-1", Q4D(1) + 1, rebate_id, PROC_DECISION_APPROVED);
        o = fx_return(w, "r-1", Q4D(2), r->returned, "s-1");
        const proc_payout *p = fx_payout(o, PROC_PAYOUT_CLAWBACK, NULL);
        assert_i64(p->amount_minor, -r->clawback);
        assert_int_equal(p->status, r->status);
        fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, NULL, -r->mdf, "Silver", OK, "2026-Q4");
        assert_int_equal(o->n_alerts, r->status == PENDING);
        if (r->status == PENDING) {
            const proc_alert *a = fx_alert(o, PROC_ALERT_APPROVAL_REQUIRED);
            assert_string_equal(fx_attr(a, "payout_id"), p->payout_id);
            assert_string_equal(fx_attr(a, "payout_kind"), "CLAWBACK");
            char amount[32];
            snprintf(amount, sizeof amount, "%lld", (long long)-r->clawback);
            assert_string_equal(fx_attr(a, "amount_minor"), amount);
        }
    }
}

/* ---- periods and tiers ------------------------------------------------------------- */

/* A return lowers its own period, not the sale's: here the next quarter, which it opens
 * (holding Q4's Silver) and takes below zero; points floor at 0. */
static void test_return_lowers_its_own_period(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    fx_sale(w, "s-1", Q4D(60), 6000000, "SW-1", 1);            /* 2026-11-30: Silver */
    proc_outputs *o = fx_return(w, "r-1", Q1D(5), 6000000, "s-1");   /* 2027-01-06 */
    fx_expect_payout(o, PROC_PAYOUT_CLAWBACK, NULL, -120000, "Silver", OK, "2027-Q1");
    fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, NULL, -60000, "Silver", OK, "2027-Q1");
    assert_int_equal(o->n_alerts, 0);        /* Q1 opens at Silver: no downgrade */
    assert_int_equal(o->n_rows, 1);
    assert_int_equal(o->rows[0].period_key, KEY_Q1);
    const proc_period_state *q4 = fx_period_at(w, Q4D(60));
    const proc_period_state *q1 = fx_period_at(w, Q1D(5));
    assert_i64(q4->revenue_minor, 6000000);
    assert_i64(q1->revenue_minor, -6000000);
    assert_int_equal(q1->held_tier, 1);
    assert_i64(proc_period_points(&w->progs[0], q1), 0);
    assert_i64(proc_period_points(&w->progs[0], q4), 600);
    assert_i64(q1->payouts_minor, -180000);
    assert_i64(q1->cash_minor, 0);
    assert_i64(w->pt.watermark_ms, Q1D(5));

    /* Q1 climbs back from -6,000,000: 11,000,000 leaves 5,000,000, Silver reached */
    o = fx_sale(w, "s-2", Q1D(6), 11000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, "Silver", 220000, "Silver", OK, "2027-Q1");
    assert_int_equal(fx_n_payouts(o, PROC_PAYOUT_TIER_TRUE_UP), 0);
    assert_int_equal(fx_period_at(w, Q1D(5))->reached_tier, 1);
}

/* Reached tiers do not fall: Silver reached at 5,000,000 stays after a return. */
static void test_reached_tier_does_not_fall(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    fx_sale(w, "s-1", Q4D(1), 5000000, "SW-1", 1);
    proc_outputs *o = fx_return(w, "r-1", Q4D(2), 2000000, "s-1");
    assert_int_equal(o->n_alerts, 0);
    const proc_period_state *q4 = fx_period_at(w, Q4D(1));
    assert_i64(q4->revenue_minor, 3000000);
    assert_int_equal(q4->reached_tier, 1);
    o = fx_sale(w, "s-2", Q4D(3), 1000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, "Silver", 20000, "Silver", OK, "2026-Q4");
    assert_int_equal(o->n_alerts, 0);
}

/* A sale record is kept while a return of it can still be applied, also a late one, and
 * dropped once every such return would be LATE_EVENT. s-1 at 2026-10-02: the last return
 * instant is 2026-12-31 (Q4), which closes to late events after 2027-01-08. */
static void test_sale_records_pruned_by_event_time(void **state)
{
    fx_world *w = *state;
    static const struct {
        int64_t watermark;
        bool kept;
    } rows[] = {
        {Q1D(4), true},                  /* past occurred_at + 90 days, Q4 still open */
        {Q1D(7), true},                  /* 2027-01-08: the last instant Q4 is open */
        {Q1D(7) + 1, false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        fx_reset(w);
        fx_enrol(w);
        print_message("row %zu\n", i);
        fx_sale(w, "s-1", Q4D(1), 1000000, "SW-1", 1);
        fx_sale(w, "s-2", rows[i].watermark, 1000, "SW-1", 1);
        proc_partner_prune(&w->pt, w->cat.replay_horizon_ms, &w->progs[0]);
        proc_sale_payout *p;
        assert_int_equal(proc_partner_sale(&w->pt, proc_hash64("s-1"), &p) != NULL, rows[i].kept);
        assert_non_null(proc_partner_sale(&w->pt, proc_hash64("s-2"), &p));
        assert_int_equal(w->pt.n_sales, 1 + rows[i].kept);
        assert_int_equal(w->pt.n_sale_payouts, 2 + 2 * rows[i].kept);
        assert_i64(p[0].amount_minor, 10);               /* s-2's rebate kept in place */
        /* a late return on the window's last day */
        fx_return_ev(w, "r-1", Q4D(91), 1000000, "EUR", "s-1");
        if (rows[i].kept)
            fx_expect_payout(fx_applied(w), PROC_PAYOUT_CLAWBACK, NULL, -10000, "Registered",
                             OK, "2026-Q4");
        else
            fx_dead(w, PROC_DLQ_RETURN_INVALID);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        fx_test(test_full_return),
        fx_test(test_partial_returns_running_share),
        fx_test(test_one_cent_payouts_split),
        fx_test(test_return_invalid),
        fx_test(test_return_check_order),
        fx_test(test_return_of_capped_sale),
        fx_test(test_clawback_approval),
        fx_test(test_return_lowers_its_own_period),
        fx_test(test_reached_tier_does_not_fall),
        fx_test(test_sale_records_pruned_by_event_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
