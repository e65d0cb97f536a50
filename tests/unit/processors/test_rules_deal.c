/*
 * test_rules_deal.c — deal registration (CONTRACT §6.7) on the example program of §5
 * (deal_registration: bonus 500 bp, validity 90 days; points per_deal_won 100). Two
 * partners of the program share one deal store (fx_world.deals, kept encoded like the
 * caller keeps it), so claims and conflicts are seen across partners.
 *
 * 2026-10-02 (Q4D(1)) + 90 days = 2026-12-31 (Q4D(91)): the last instant of an approval
 * at Q4D(1) that is still open.
 */
#include <errno.h>

#include "test_fixtures.h"

#define DEAL "d-1"
#define OK PROC_STATUS_APPROVED

static void both_enrolled(fx_world *w)
{
    fx_enrol_pt(w, &w->pt);
    fx_enrol_pt(w, &w->pt2);
}

static proc_outputs *deal_event(fx_world *w, proc_partner *pt, const char *event_id, int64_t at,
                                proc_reg_kind kind)
{
    fx_deal_ev(w, event_id, at, kind, DEAL);
    return fx_applied_pt(w, pt);
}

static void expect_claim(fx_world *w, proc_deal_status status, const char *holder,
                         int64_t registered_at, int64_t approved_at)
{
    proc_deal d = fx_deal(w, DEAL);
    assert_int_equal(d.status, status);
    assert_string_equal(d.partner_id, holder);
    assert_i64(d.registered_at, registered_at);
    assert_i64(d.approved_at, approved_at);
}

/* A claim: no money, no period opened, one metric in the registration's period. */
static void test_claim(void **state)
{
    fx_world *w = *state;
    both_enrolled(w);
    fx_deal_ev(w, "r-1", Q4D(0), PROC_REG_DEAL_REGISTERED, DEAL);
    w->ev.u.reg.has_deal_value_minor = true;
    w->ev.u.reg.deal_value_minor = 7500000;
    proc_outputs *o = fx_applied(w);
    assert_true(o->deal_changed);
    assert_int_equal(o->n_payouts + o->n_alerts + o->n_rows, 0);
    FX_EXPECT_KPIS(o, {KEY_Q4, "deals_registered", 1});
    expect_claim(w, PROC_DEAL_REGISTERED, PARTNER, Q4D(0), 0);
    proc_deal d = fx_deal(w, DEAL);
    assert_true(d.has_value);
    assert_i64(d.deal_value_minor, 7500000);
    assert_false(d.won);
    /* a registration is not a period event: no period, no watermark */
    assert_int_equal(w->pt.n_periods, 0);
    assert_i64(w->pt.watermark_ms, 0);
    /* the second partner's state is untouched */
    assert_int_equal(w->pt2.n_seen, 1);
}

/* ---- who may claim ------------------------------------------------------------------ */

typedef enum { PRIOR_NONE, PRIOR_REGISTERED, PRIOR_APPROVED, PRIOR_REJECTED } prior_kind;
typedef enum { CLAIMED, CONFLICT, NOOP } claim_outcome;

typedef struct {
    const char *what;
    prior_kind prior;              /* what p-1 did first: register Q4D(0), settle Q4D(1) */
    bool second;                   /* the registrant is p-2, else p-1 again */
    int64_t at;
    claim_outcome outcome;
} claim_row;

static const claim_row claim_rows[] = {
    {"nobody holds it", PRIOR_NONE, true, Q4D(5), CLAIMED},
    {"another's registered claim", PRIOR_REGISTERED, true, Q4D(5), CONFLICT},
    {"another's registered claim, much later (never expires)", PRIOR_REGISTERED, true,
     Q1D(80), CONFLICT},
    {"another's approved claim, exactly validity_days later", PRIOR_APPROVED, true,
     Q4D(1) + 90 * DAY_MS, CONFLICT},
    {"another's approved claim, 1 ms past validity", PRIOR_APPROVED, true,
     Q4D(1) + 90 * DAY_MS + 1, CLAIMED},
    {"another's rejected claim", PRIOR_REJECTED, true, Q4D(5), CLAIMED},
    {"one's own registered claim", PRIOR_REGISTERED, false, Q4D(5), NOOP},
    {"one's own approved claim", PRIOR_APPROVED, false, Q4D(5), NOOP},
    {"one's own rejected claim", PRIOR_REJECTED, false, Q4D(5), CLAIMED},
    {"one's own expired claim", PRIOR_APPROVED, false, Q4D(1) + 90 * DAY_MS + 1, CLAIMED},
};

static void test_claims(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof claim_rows / sizeof claim_rows[0]; i++) {
        const claim_row *r = &claim_rows[i];
        fx_reset(w);
        both_enrolled(w);
        print_message("row %zu: %s\n", i, r->what);
        proc_deal_status status = PROC_DEAL_NONE;
        int64_t approved_at = 0;
        if (r->prior != PRIOR_NONE) {
            deal_event(w, &w->pt, "r-1", Q4D(0), PROC_REG_DEAL_REGISTERED);
            status = PROC_DEAL_REGISTERED;
        }
        if (r->prior == PRIOR_APPROVED) {
            deal_event(w, &w->pt, "a-1", Q4D(1), PROC_REG_DEAL_APPROVED);
            status = PROC_DEAL_APPROVED;
            approved_at = Q4D(1);
        } else if (r->prior == PRIOR_REJECTED) {
            deal_event(w, &w->pt, "x-1", Q4D(1), PROC_REG_DEAL_REJECTED);
            status = PROC_DEAL_REJECTED;
        }

        proc_partner *who = r->second ? &w->pt2 : &w->pt;
        proc_outputs *o = deal_event(w, who, "r-2", r->at, PROC_REG_DEAL_REGISTERED);
        assert_int_equal(o->n_payouts, 0);
        int32_t key = proc_period_key(PROC_PERIOD_QUARTER, r->at);
        switch (r->outcome) {
        case CLAIMED:
            assert_true(o->deal_changed);
            assert_int_equal(o->n_alerts, 0);
            break;
        case CONFLICT: {
            assert_false(o->deal_changed);
            assert_int_equal(o->n_alerts, 1);
            const proc_alert *a = fx_alert(o, PROC_ALERT_DEAL_CONFLICT);
            assert_int_equal(a->severity, PROC_SEVERITY_WARNING);
            assert_string_equal(a->partner_id, PARTNER2);
            assert_string_equal(fx_attr(a, "deal_id"), DEAL);
            assert_string_equal(fx_attr(a, "held_by"), PARTNER);
            assert_string_equal(a->source_event_id, "r-2");
            assert_int_equal(strncmp(a->alert_id, "al_", 3), 0);
            assert_int_equal(o->n_kpi, 0);
            break;
        }
        case NOOP:
            assert_false(o->deal_changed);
            assert_int_equal(o->n_alerts, 0);
            assert_int_equal(o->n_kpi, 0);
            break;
        }
        if (r->outcome == CLAIMED) {
            assert_int_equal(o->n_kpi, 1);
            assert_i64(fx_kpi(o, key, "deals_registered"), 1);
            expect_claim(w, PROC_DEAL_REGISTERED, who->partner_id, r->at, 0);
        } else {
            expect_claim(w, status, PARTNER, Q4D(0), approved_at);
        }
        /* refused or not, the event was applied: it is remembered */
        fx_deal_ev(w, "r-2", r->at, PROC_REG_DEAL_REGISTERED, DEAL);
        assert_true(fx_apply_pt(w, who)->duplicate);
    }
}

/* ---- approve and reject ------------------------------------------------------------- */

typedef struct {
    const char *what;
    prior_kind prior;              /* p-1's claim before the settling event */
    bool second;                   /* p-2 sends the settling event, else p-1 */
    proc_reg_kind kind;
    bool invalid;
    proc_deal_status after;
} settle_row;

static const settle_row settle_rows[] = {
    {"holder approves", PRIOR_REGISTERED, false, PROC_REG_DEAL_APPROVED, false, PROC_DEAL_APPROVED},
    {"holder rejects", PRIOR_REGISTERED, false, PROC_REG_DEAL_REJECTED, false, PROC_DEAL_REJECTED},
    {"non-holder approves", PRIOR_REGISTERED, true, PROC_REG_DEAL_APPROVED, true, PROC_DEAL_REGISTERED},
    {"non-holder rejects", PRIOR_REGISTERED, true, PROC_REG_DEAL_REJECTED, true, PROC_DEAL_REGISTERED},
    {"approval of an unregistered deal", PRIOR_NONE, false, PROC_REG_DEAL_APPROVED, true, PROC_DEAL_NONE},
    {"rejection of an unregistered deal", PRIOR_NONE, false, PROC_REG_DEAL_REJECTED, true, PROC_DEAL_NONE},
    {"approved again", PRIOR_APPROVED, false, PROC_REG_DEAL_APPROVED, false, PROC_DEAL_APPROVED},
    {"approved, then rejected", PRIOR_APPROVED, false, PROC_REG_DEAL_REJECTED, false, PROC_DEAL_APPROVED},
    {"rejected, then approved", PRIOR_REJECTED, false, PROC_REG_DEAL_APPROVED, false, PROC_DEAL_REJECTED},
    {"another's rejected claim approved", PRIOR_REJECTED, true, PROC_REG_DEAL_APPROVED, true, PROC_DEAL_REJECTED},
};

static void test_settle(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof settle_rows / sizeof settle_rows[0]; i++) {
        const settle_row *r = &settle_rows[i];
        fx_reset(w);
        both_enrolled(w);
        print_message("row %zu: %s\n", i, r->what);
        int64_t approved_at = 0;
        if (r->prior != PRIOR_NONE)
            deal_event(w, &w->pt, "r-1", Q4D(0), PROC_REG_DEAL_REGISTERED);
        if (r->prior == PRIOR_APPROVED) {
            deal_event(w, &w->pt, "a-1", Q4D(1), PROC_REG_DEAL_APPROVED);
            approved_at = Q4D(1);
        } else if (r->prior == PRIOR_REJECTED) {
            deal_event(w, &w->pt, "x-1", Q4D(1), PROC_REG_DEAL_REJECTED);
        }

        proc_partner *who = r->second ? &w->pt2 : &w->pt;
        fx_deal_ev(w, "s-2", Q4D(3), r->kind, DEAL);
        if (r->invalid) {
            proc_outputs *o = fx_dead_pt(w, who, PROC_DLQ_INVALID_EVENT);
            assert_non_null(strstr(o->detail, DEAL));
        } else {
            proc_outputs *o = fx_applied_pt(w, who);
            bool settles = r->prior == PRIOR_REGISTERED;
            assert_int_equal(o->deal_changed, settles);
            assert_int_equal(o->n_payouts + o->n_alerts + o->n_rows, 0);
            bool approves = settles && r->kind == PROC_REG_DEAL_APPROVED;
            assert_int_equal(o->n_kpi, approves);
            if (approves) {
                assert_i64(fx_kpi(o, KEY_Q4, "deals_approved"), 1);
                approved_at = Q4D(3);
            }
        }
        proc_deal d = fx_deal(w, DEAL);
        assert_int_equal(d.status, r->after);
        assert_i64(d.approved_at, approved_at);
        if (r->after != PROC_DEAL_NONE)
            assert_string_equal(d.partner_id, PARTNER);
    }
}

/* A dead-lettered approval is not remembered: once the partner holds the deal, the same
 * event applies. Enrolment is checked before the claim. */
static void test_invalid_approval_resent(void **state)
{
    fx_world *w = *state;
    fx_deal_ev(w, "a-2", Q4D(3), PROC_REG_DEAL_APPROVED, DEAL);
    fx_dead_pt(w, &w->pt2, PROC_DLQ_PARTNER_NOT_ENROLLED);
    both_enrolled(w);
    deal_event(w, &w->pt, "r-1", Q4D(0), PROC_REG_DEAL_REGISTERED);
    fx_deal_ev(w, "a-2", Q4D(3), PROC_REG_DEAL_APPROVED, DEAL);
    fx_dead_pt(w, &w->pt2, PROC_DLQ_INVALID_EVENT);
    deal_event(w, &w->pt, "x-1", Q4D(1), PROC_REG_DEAL_REJECTED);
    deal_event(w, &w->pt2, "r-2", Q4D(2), PROC_REG_DEAL_REGISTERED);
    proc_outputs *o = deal_event(w, &w->pt2, "a-2", Q4D(3), PROC_REG_DEAL_APPROVED);
    assert_true(o->deal_changed);
    expect_claim(w, PROC_DEAL_APPROVED, PARTNER2, Q4D(2), Q4D(3));
}

/* ---- the bonus ---------------------------------------------------------------------- */

static void approved_by_p1(fx_world *w)
{
    both_enrolled(w);
    deal_event(w, &w->pt, "r-1", Q4D(0), PROC_REG_DEAL_REGISTERED);
    deal_event(w, &w->pt, "a-1", Q4D(1), PROC_REG_DEAL_APPROVED);
}

typedef struct {
    int64_t amount;
    const char *currency;
    const char *sku;
    int32_t qty;
    int64_t bonus;                 /* 0: none emitted */
    const char *tier;
    int n_payouts;
} bonus_row;

static const bonus_row bonus_rows[] = {
    /* 1,000,000 x 5% */
    {1000000, "EUR", "SW-1", 1, 50000, "Registered", 3},
    /* 10,010 x 5% = 500.5: tie, even below */
    {10010, "EUR", "SW-1", 1, 500, "Registered", 3},
    /* 10,030 x 5% = 501.5: tie, even above */
    {10030, "EUR", "SW-1", 1, 502, "Registered", 3},
    /* 9 x 5% = 0.45 -> 0: nothing emitted (rebate 0.09 and MDF 0.09 neither) */
    {9, "EUR", "SW-1", 1, 0, "Registered", 0},
    /* USD 1,000,001 -> 920,001 EUR (920,000.92); 46,000.05 -> 46,000 */
    {1000001, "USD", "SW-1", 1, 46000, "Registered", 3},
    /* Silver with a SPIFF: rebate 100,000, SPIFF 5,000, bonus 250,000, MDF 50,000 */
    {5000000, "EUR", "FW-1", 1, 250000, "Silver", 4},
};

static void test_bonus_amounts(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof bonus_rows / sizeof bonus_rows[0]; i++) {
        const bonus_row *r = &bonus_rows[i];
        fx_reset(w);
        approved_by_p1(w);
        print_message("row %zu: %lld %s\n", i, (long long)r->amount, r->currency);
        fx_deal_sale_ev(w, "s-1", Q4D(2), r->amount, DEAL);
        snprintf(w->ev.u.sale.currency, sizeof w->ev.u.sale.currency, "%s", r->currency);
        snprintf(w->ev.u.sale.sku, sizeof w->ev.u.sale.sku, "%s", r->sku);
        proc_outputs *o = fx_applied(w);
        assert_int_equal(o->n_payouts, r->n_payouts);
        if (r->bonus) {
            fx_expect_payout(o, PROC_PAYOUT_DEAL_REGISTRATION_BONUS, DEAL, r->bonus, r->tier, OK,
                             "2026-Q4");
            /* cap order: after the rebate and SPIFFs, before the MDF accrual */
            assert_int_equal(o->payouts[o->n_payouts - 2].kind, PROC_PAYOUT_DEAL_REGISTRATION_BONUS);
            assert_int_equal(o->payouts[o->n_payouts - 1].kind, PROC_PAYOUT_MDF_ACCRUAL);
            assert_int_equal(o->payouts[0].kind, PROC_PAYOUT_REBATE);
        } else {
            assert_int_equal(fx_n_payouts(o, PROC_PAYOUT_DEAL_REGISTRATION_BONUS), 0);
        }
        /* the first such sale wins the deal, whatever the bonus came to */
        assert_true(o->deal_changed);
        assert_true(fx_deal(w, DEAL).won);
        assert_i64(fx_kpi(o, KEY_Q4, "deals_won"), 1);
    }
}

/* The bonus is capped like any cash payout, in its place in the cap order. */
static void test_bonus_is_capped(void **state)
{
    fx_world *w = *state;
    w->progs[0].cap_per_period_minor = 120000;
    approved_by_p1(w);
    /* 5,000,000: rebate 100,000; bonus 250,000 cut to 20,000; MDF 50,000 (not capped) */
    fx_deal_sale_ev(w, "s-1", Q4D(2), 5000000, DEAL);
    proc_outputs *o = fx_applied(w);
    fx_expect_payout(o, PROC_PAYOUT_DEAL_REGISTRATION_BONUS, DEAL, 20000, "Silver", OK, "2026-Q4");
    const proc_alert *a = fx_alert(o, PROC_ALERT_CAP_REACHED);
    assert_string_equal(fx_attr(a, "payout_kind"), "DEAL_REGISTRATION_BONUS");
    fx_expect_payout(o, PROC_PAYOUT_MDF_ACCRUAL, "mdf", 50000, "Silver", OK, "2026-Q4");
}

typedef struct {
    const char *what;
    int64_t at;
    bool bonus;
} validity_row;

static const validity_row validity_rows[] = {
    {"the day after the approval", Q4D(2), true},
    {"exactly validity_days after the approval", Q4D(1) + 90 * DAY_MS, true},
    {"1 ms later", Q4D(1) + 90 * DAY_MS + 1, false},
    /* the contract bounds the sale from above only: an earlier sale, sent after the approval */
    {"a sale dated before the approval", Q4D(0), true},
};

static void test_bonus_validity(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof validity_rows / sizeof validity_rows[0]; i++) {
        const validity_row *r = &validity_rows[i];
        fx_reset(w);
        approved_by_p1(w);
        print_message("row %zu: %s\n", i, r->what);
        fx_deal_sale_ev(w, "s-1", r->at, 1000000, DEAL);
        proc_outputs *o = fx_applied(w);
        assert_int_equal(fx_n_payouts(o, PROC_PAYOUT_DEAL_REGISTRATION_BONUS), r->bonus);
        assert_int_equal(o->deal_changed, r->bonus);
        assert_int_equal(fx_deal(w, DEAL).won, r->bonus);
        assert_int_equal(fx_period_at(w, r->at)->deals_won, r->bonus);
    }
}

/* A sale naming a deal it does not hold approved is an ordinary sale: no bonus, not a
 * dead letter, the claim untouched. */
typedef struct {
    const char *what;
    prior_kind prior;              /* the claim before the sale; NONE: never registered */
    bool other_holds;              /* p-2 holds it, else p-1 (the seller) */
} no_bonus_row;

static const no_bonus_row no_bonus_rows[] = {
    {"unknown deal", PRIOR_NONE, false},
    {"registered, not approved", PRIOR_REGISTERED, false},
    {"rejected", PRIOR_REJECTED, false},
    {"approved for the other partner", PRIOR_APPROVED, true},
};

static void test_no_bonus_without_approved_claim(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof no_bonus_rows / sizeof no_bonus_rows[0]; i++) {
        const no_bonus_row *r = &no_bonus_rows[i];
        fx_reset(w);
        both_enrolled(w);
        print_message("row %zu: %s\n", i, r->what);
        proc_partner *holder = r->other_holds ? &w->pt2 : &w->pt;
        if (r->prior != PRIOR_NONE)
            deal_event(w, holder, "r-1", Q4D(0), PROC_REG_DEAL_REGISTERED);
        if (r->prior == PRIOR_APPROVED)
            deal_event(w, holder, "a-1", Q4D(1), PROC_REG_DEAL_APPROVED);
        if (r->prior == PRIOR_REJECTED)
            deal_event(w, holder, "x-1", Q4D(1), PROC_REG_DEAL_REJECTED);
        fx_deal_sale_ev(w, "s-1", Q4D(2), 1000000, DEAL);
        proc_outputs *o = fx_applied(w);
        assert_int_equal(fx_n_payouts(o, PROC_PAYOUT_DEAL_REGISTRATION_BONUS), 0);
        fx_expect_payout(o, PROC_PAYOUT_REBATE, "Registered", 10000, "Registered", OK, "2026-Q4");
        assert_false(o->deal_changed);
        assert_false(fx_deal(w, DEAL).won);
        assert_int_equal(fx_period_at(w, Q4D(2))->deals_won, 0);
        assert_i64(fx_kpi(o, KEY_Q4, "deals_won"), 0);
    }
}

/* The first bonus-earning sale wins the deal, once: points +per_deal_won and the metric in
 * the sale's period. A later claim on the same deal (after expiry) keeps it won. */
static void test_first_sale_wins_once(void **state)
{
    fx_world *w = *state;
    approved_by_p1(w);
    fx_deal_sale_ev(w, "s-1", Q4D(2), 1000000, DEAL);
    proc_outputs *o = fx_applied(w);
    fx_expect_payout(o, PROC_PAYOUT_DEAL_REGISTRATION_BONUS, DEAL, 50000, "Registered", OK, "2026-Q4");
    assert_true(o->deal_changed);
    assert_i64(fx_kpi(o, KEY_Q4, "deals_won"), 1);
    const proc_period_state *q4 = fx_period_at(w, Q4D(2));
    assert_int_equal(q4->deals_won, 1);
    /* floor(1,000,000 / 10,000) + 100 x 1 */
    assert_i64(proc_period_points(&w->progs[0], q4), 200);

    fx_deal_sale_ev(w, "s-2", Q4D(3), 2000000, DEAL);
    o = fx_applied(w);
    fx_expect_payout(o, PROC_PAYOUT_DEAL_REGISTRATION_BONUS, DEAL, 100000, "Registered", OK, "2026-Q4");
    assert_false(o->deal_changed);
    assert_i64(fx_kpi(o, KEY_Q4, "deals_won"), 0);
    q4 = fx_period_at(w, Q4D(2));
    assert_int_equal(q4->deals_won, 1);
    assert_i64(proc_period_points(&w->progs[0], q4), 400);    /* 300 + 100 */

    /* the approval of 2026-10-02 expires after 2026-12-31: p-2 claims it in 2027-01-11 */
    deal_event(w, &w->pt2, "r-2", Q1D(10), PROC_REG_DEAL_REGISTERED);
    deal_event(w, &w->pt2, "a-2", Q1D(10), PROC_REG_DEAL_APPROVED);
    expect_claim(w, PROC_DEAL_APPROVED, PARTNER2, Q1D(10), Q1D(10));
    assert_true(fx_deal(w, DEAL).won);
    fx_deal_sale_ev(w, "s-3", Q1D(11), 1000000, DEAL);
    o = fx_applied_pt(w, &w->pt2);
    fx_expect_payout(o, PROC_PAYOUT_DEAL_REGISTRATION_BONUS, DEAL, 50000, "Registered", OK, "2027-Q1");
    assert_false(o->deal_changed);
    assert_i64(fx_kpi(o, KEY_Q1, "deals_won"), 0);
    assert_int_equal(proc_partner_period(&w->pt2, KEY_Q1)->deals_won, 0);

    /* p-1's own sales no longer earn the bonus: the claim is p-2's now */
    fx_deal_sale_ev(w, "s-4", Q1D(12), 1000000, DEAL);
    o = fx_applied(w);
    assert_int_equal(fx_n_payouts(o, PROC_PAYOUT_DEAL_REGISTRATION_BONUS), 0);
}

/* ---- the caller's side of the contract ---------------------------------------------- */

static void test_deal_argument_contract(void **state)
{
    fx_world *w = *state;
    approved_by_p1(w);
    fx_blob before = fx_encode(&w->pt);
    proc_deal other;
    proc_deal_init(&other, "d-other");

    /* an event naming a deal needs that deal's claim */
    fx_deal_ev(w, "r-9", Q4D(3), PROC_REG_DEAL_REGISTERED, DEAL);
    errno = 0;
    assert_int_equal(proc_apply(&w->cat, &w->pt, &w->ev, NULL, &w->out), -1);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(proc_apply(&w->cat, &w->pt, &w->ev, &other, &w->out), -1);
    assert_int_equal(errno, EINVAL);
    fx_deal_sale_ev(w, "s-9", Q4D(3), 1000, DEAL);
    assert_int_equal(proc_apply(&w->cat, &w->pt, &w->ev, NULL, &w->out), -1);
    fx_blob after = fx_encode(&w->pt);
    bool same = fx_blob_equal(before, after);
    free(before.buf);
    free(after.buf);
    assert_true(same);
    assert_int_equal(other.status, PROC_DEAL_NONE);

    /* events naming no deal ignore the argument; a RETURN's deal_id plays no part */
    fx_sale_ev(w, "s-10", Q4D(3), 1000, "EUR", "SW-1", 1);
    assert_int_equal(proc_apply(&w->cat, &w->pt, &w->ev, &other, &w->out), 0);
    assert_false(w->out.deal_changed);
    fx_return_ev(w, "r-10", Q4D(4), 1000, "EUR", "s-10");
    w->ev.u.sale.has_deal_id = true;
    snprintf(w->ev.u.sale.deal_id, PROC_STR_CAP, "%s", DEAL);
    assert_int_equal(proc_apply(&w->cat, &w->pt, &w->ev, NULL, &w->out), 0);
    assert_int_equal(w->out.reason, PROC_DLQ_NONE);
    assert_int_equal(other.status, PROC_DEAL_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        fx_test(test_claim),
        fx_test(test_claims),
        fx_test(test_settle),
        fx_test(test_invalid_approval_resent),
        fx_test(test_bonus_amounts),
        fx_test(test_bonus_is_capped),
        fx_test(test_bonus_validity),
        fx_test(test_no_bonus_without_approved_claim),
        fx_test(test_first_sale_wins_once),
        fx_test(test_deal_argument_contract),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
