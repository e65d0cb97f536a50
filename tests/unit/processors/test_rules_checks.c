/*
 * test_rules_checks.c — what happens before any money moves (CONTRACT §6.0, 6.1, 6.2, 6.9,
 * 6.16, 6.17): validation, enrolment, not-enrolled partners, unsupported currencies,
 * duplicates, late events. A dead-lettered event must leave the partner byte-identical
 * (compared on the encoded blob) and must not be remembered.
 */
#include "test_fixtures.h"

static void expect_untouched(const proc_outputs *o, proc_dlq_reason reason)
{
    if (o->reason != reason)
        fail_msg("reason %s (%s), expected %s", proc_dlq_reason_name(o->reason), o->detail,
                 proc_dlq_reason_name(reason));
    assert_false(o->changed);
    assert_int_equal(o->n_payouts, 0);
    assert_int_equal(o->n_alerts, 0);
    assert_int_equal(o->n_rows, 0);
    if (reason != PROC_DLQ_NONE)
        assert_true(o->detail[0] != '\0');
}

/* Applies w->ev and asserts it is dead-lettered for `reason` with the partner blob
 * byte-identical before and after. */
static void expect_dead_letter(fx_world *w, proc_dlq_reason reason)
{
    fx_blob before = fx_encode(&w->pt);
    proc_outputs *o = fx_apply(w);
    fx_blob after = fx_encode(&w->pt);
    bool same = fx_blob_equal(before, after);
    free(before.buf);
    free(after.buf);
    expect_untouched(o, reason);
    assert_false(o->duplicate);
    assert_true(same);
}

/* An enrolled partner with some history: Q3 Silver, a certification, Q4 opened. */
static void history(fx_world *w)
{
    fx_enrol(w);
    fx_sale(w, "h-1", Q3D(10), 6000000, "SW-1", 1);
    fx_cert(w, "h-2", Q3D(20), "cert-a");
    fx_sale(w, "h-3", Q4D(1), 1000000, "FW-1", 2);
}

/* ---- §6.17 validation ----------------------------------------------------------------- */

typedef struct {
    const char *what;
    void (*make)(fx_world *w);
    const char *field;         /* the detail names this field */
} invalid_row;

static void sale_base(fx_world *w) { fx_sale_ev(w, "x-1", Q4D(5), 1000, "EUR", "SW-1", 1); }
static void amount_zero(fx_world *w) { sale_base(w); w->ev.u.sale.amount_minor = 0; }
static void amount_negative(fx_world *w) { sale_base(w); w->ev.u.sale.amount_minor = -1; }
static void amount_over_max(fx_world *w) { sale_base(w); w->ev.u.sale.amount_minor = 1000000000001LL; }
static void quantity_zero(fx_world *w) { sale_base(w); w->ev.u.sale.quantity = 0; }
static void quantity_negative(fx_world *w) { sale_base(w); w->ev.u.sale.quantity = -3; }
static void currency_short(fx_world *w) { sale_base(w); snprintf(w->ev.u.sale.currency, PROC_CURRENCY_CAP, "EU"); }
static void currency_long(fx_world *w) { sale_base(w); snprintf(w->ev.u.sale.currency, PROC_CURRENCY_CAP, "EURO"); }
static void currency_empty(fx_world *w) { sale_base(w); w->ev.u.sale.currency[0] = '\0'; }
static void sku_empty(fx_world *w) { sale_base(w); w->ev.u.sale.sku[0] = '\0'; }
static void return_without_original(fx_world *w) { sale_base(w); w->ev.u.sale.kind = PROC_SALE_RETURN; }
static void return_empty_original(fx_world *w)
{
    sale_base(w);
    w->ev.u.sale.kind = PROC_SALE_RETURN;
    w->ev.u.sale.has_original_event_id = true;
}
static void event_id_empty(fx_world *w) { sale_base(w); w->ev.event_id[0] = '\0'; }
static void partner_id_empty(fx_world *w) { sale_base(w); w->ev.partner_id[0] = '\0'; }
static void enrol_without_program(fx_world *w)
{
    fx_enrol_ev(w, "x-1", PROGRAM, "DACH");
    w->ev.u.reg.has_program_id = false;
    w->ev.u.reg.program_id[0] = '\0';
}
static void enrol_empty_program(fx_world *w) { fx_enrol_ev(w, "x-1", "", "DACH"); }
static void cert_without_id(fx_world *w)
{
    fx_cert_ev(w, "x-1", Q4D(5), "c");
    w->ev.u.reg.has_certification_id = false;
    w->ev.u.reg.certification_id[0] = '\0';
}
static void deal_without_id(fx_world *w) { fx_reg_ev(w, "x-1", Q4D(5), PROC_REG_DEAL_REGISTERED); }
static void deal_negative_value(fx_world *w)
{
    fx_reg_ev(w, "x-1", Q4D(5), PROC_REG_DEAL_REGISTERED);
    w->ev.u.reg.has_deal_id = true;
    snprintf(w->ev.u.reg.deal_id, PROC_STR_CAP, "d-1");
    w->ev.u.reg.has_deal_value_minor = true;
    w->ev.u.reg.deal_value_minor = -1;
}
static void survey_base(fx_world *w, proc_survey_kind kind)
{
    proc_event *ev = &w->ev;
    memset(ev, 0, sizeof *ev);
    ev->type = PROC_EVENT_SURVEY;
    snprintf(ev->event_id, sizeof ev->event_id, "x-1");
    snprintf(ev->partner_id, sizeof ev->partner_id, "%s", PARTNER);
    ev->occurred_at = Q4D(5);
    ev->u.survey.kind = kind;
    snprintf(ev->u.survey.survey_id, PROC_STR_CAP, "sv-1");
    snprintf(ev->u.survey.respondent_id, PROC_STR_CAP, "r-1");
    if (kind == PROC_SURVEY_ENPS) {
        ev->u.survey.has_score = true;
        ev->u.survey.score = 9;
    } else {
        ev->u.survey.n_answers = 1;
        snprintf(ev->u.survey.answers[0].question_id, PROC_STR_CAP, "q-1");
        ev->u.survey.answers[0].score = 3;
    }
}
static void enps_without_score(fx_world *w) { survey_base(w, PROC_SURVEY_ENPS); w->ev.u.survey.has_score = false; }
static void enps_score_11(fx_world *w) { survey_base(w, PROC_SURVEY_ENPS); w->ev.u.survey.score = 11; }
static void enps_score_minus(fx_world *w) { survey_base(w, PROC_SURVEY_ENPS); w->ev.u.survey.score = -1; }
static void survey_id_empty(fx_world *w) { survey_base(w, PROC_SURVEY_ENPS); w->ev.u.survey.survey_id[0] = '\0'; }
static void respondent_empty(fx_world *w) { survey_base(w, PROC_SURVEY_ENPS); w->ev.u.survey.respondent_id[0] = '\0'; }
static void pulse_no_answers(fx_world *w) { survey_base(w, PROC_SURVEY_PULSE); w->ev.u.survey.n_answers = 0; }
static void pulse_11_answers(fx_world *w) { survey_base(w, PROC_SURVEY_PULSE); w->ev.u.survey.n_answers = 11; }
static void pulse_score_0(fx_world *w) { survey_base(w, PROC_SURVEY_PULSE); w->ev.u.survey.answers[0].score = 0; }
static void pulse_score_6(fx_world *w) { survey_base(w, PROC_SURVEY_PULSE); w->ev.u.survey.answers[0].score = 6; }
static void pulse_question_empty(fx_world *w)
{
    survey_base(w, PROC_SURVEY_PULSE);
    w->ev.u.survey.answers[0].question_id[0] = '\0';
}

static const invalid_row invalid_rows[] = {
    {"amount 0", amount_zero, "amount_minor"},
    {"amount -1", amount_negative, "amount_minor"},
    {"amount over max_sale_minor", amount_over_max, "max_sale_minor"},
    {"quantity 0", quantity_zero, "quantity"},
    {"quantity -3", quantity_negative, "quantity"},
    {"currency EU", currency_short, "currency"},
    {"currency EURO", currency_long, "currency"},
    {"currency empty", currency_empty, "currency"},
    {"sku empty", sku_empty, "sku"},
    {"RETURN without original_event_id", return_without_original, "original_event_id"},
    {"RETURN with empty original_event_id", return_empty_original, "original_event_id"},
    {"event_id empty", event_id_empty, "event_id"},
    {"partner_id empty", partner_id_empty, "partner_id"},
    {"PARTNER_ENROLLED without program_id", enrol_without_program, "program_id"},
    {"PARTNER_ENROLLED with empty program_id", enrol_empty_program, "program_id"},
    {"CERTIFICATION_COMPLETED without certification_id", cert_without_id, "certification_id"},
    {"DEAL_REGISTERED without deal_id", deal_without_id, "deal_id"},
    {"deal_value_minor < 0", deal_negative_value, "deal_value_minor"},
    {"ENPS without score", enps_without_score, "score"},
    {"ENPS score 11", enps_score_11, "score"},
    {"ENPS score -1", enps_score_minus, "score"},
    {"survey_id empty", survey_id_empty, "survey_id"},
    {"respondent_id empty", respondent_empty, "respondent_id"},
    {"PULSE with 0 answers", pulse_no_answers, "answers"},
    {"PULSE with 11 answers", pulse_11_answers, "answers"},
    {"PULSE score 0", pulse_score_0, "score"},
    {"PULSE score 6", pulse_score_6, "score"},
    {"PULSE empty question_id", pulse_question_empty, "question_id"},
};

static void test_validation(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof invalid_rows / sizeof invalid_rows[0]; i++) {
        const invalid_row *r = &invalid_rows[i];
        fx_reset(w);
        history(w);
        print_message("row %zu: %s\n", i, r->what);
        r->make(w);
        expect_dead_letter(w, PROC_DLQ_INVALID_EVENT);
        if (strstr(w->out.detail, r->field) == NULL)
            fail_msg("%s: detail '%s' does not name %s", r->what, w->out.detail, r->field);
    }
}

/* Validation comes first: even a not-enrolled partner's bad event is INVALID_EVENT, and an
 * invalid event is not remembered (the corrected event with the same id is applied). */
static void test_validation_first_and_forgotten(void **state)
{
    fx_world *w = *state;
    amount_zero(w);
    expect_dead_letter(w, PROC_DLQ_INVALID_EVENT);      /* not PARTNER_NOT_ENROLLED */

    fx_enrol(w);
    fx_sale(w, "s-1", Q4D(1), 2000000, "SW-1", 1);
    fx_sale_ev(w, "s-1", Q4D(1), 0, "EUR", "SW-1", 1);   /* an applied id, but invalid */
    expect_dead_letter(w, PROC_DLQ_INVALID_EVENT);      /* not a duplicate */

    fx_sale_ev(w, "s-2", Q4D(2), 3000, "EUR", "SW-1", 0);
    expect_dead_letter(w, PROC_DLQ_INVALID_EVENT);
    proc_outputs *o = fx_sale(w, "s-2", Q4D(2), 3000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, "Registered", 30, "Registered",
                     PROC_STATUS_APPROVED, "2026-Q4");  /* 3,000 x 1% */
}

typedef struct {
    int64_t amount;
    int32_t quantity;
    int64_t rebate;
} edge_row;

/* The extremes that are still valid. */
static void test_validation_edges_accepted(void **state)
{
    fx_world *w = *state;
    static const edge_row rows[] = {
        {1, 1, 0},                                  /* 0.01 -> no rebate */
        {1000000000000LL, 1, 20000000},             /* max_sale_minor: Silver, 2% = 2*10^10,
                                                       cut to the cap of 20,000,000 */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        fx_reset(w);
        fx_enrol(w);
        proc_outputs *o = fx_sale(w, "s-1", Q4D(1), rows[i].amount, "SW-1", rows[i].quantity);
        if (rows[i].rebate == 0)
            assert_int_equal(fx_n_payouts(o, PROC_PAYOUT_REBATE), 0);
        else
            assert_i64(fx_payout(o, PROC_PAYOUT_REBATE, NULL)->amount_minor, rows[i].rebate);
        assert_i64(fx_period_at(w, Q4D(1))->revenue_minor, rows[i].amount);
    }
}

/* ---- §6.1 enrolment ---------------------------------------------------------------------- */

static void test_not_enrolled(void **state)
{
    fx_world *w = *state;
    fx_sale_ev(w, "s-1", Q4D(1), 2000000, "EUR", "SW-1", 1);
    expect_dead_letter(w, PROC_DLQ_PARTNER_NOT_ENROLLED);
    fx_cert_ev(w, "c-1", Q4D(1), "cert-a");
    expect_dead_letter(w, PROC_DLQ_PARTNER_NOT_ENROLLED);
    assert_false(w->pt.enrolled);                          /* never auto-created */
    assert_int_equal(w->pt.n_periods, 0);

    /* once enrolled, the same events are applied: they were not remembered */
    fx_enrol(w);
    proc_outputs *o = fx_sale(w, "s-1", Q4D(1), 2000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, "Registered", 20000, "Registered",
                     PROC_STATUS_APPROVED, "2026-Q4");
    o = fx_cert(w, "c-1", Q4D(2), "cert-a");
    fx_expect_payout(o, PROC_PAYOUT_CERTIFICATION_BONUS, "cert-a", 50000, "Registered",
                     PROC_STATUS_APPROVED, "2026-Q4");
    fx_sale_ev(w, "s-1", Q4D(1), 2000000, "EUR", "SW-1", 1);
    o = fx_apply(w);
    assert_true(o->duplicate);
}

static void test_enrol_unknown_program(void **state)
{
    fx_world *w = *state;
    fx_enrol_ev(w, "e-1", "no-such-program", "DACH");
    expect_dead_letter(w, PROC_DLQ_INVALID_EVENT);
    assert_false(w->pt.enrolled);
    fx_sale_ev(w, "s-1", Q4D(1), 1000, "EUR", "SW-1", 1);
    expect_dead_letter(w, PROC_DLQ_PARTNER_NOT_ENROLLED);

    /* fix the cause (the program file gains the program): the same event applies */
    snprintf(w->progs[1].id, sizeof w->progs[1].id, "no-such-program");
    fx_enrol_ev(w, "e-1", "no-such-program", "DACH");
    fx_applied(w);
    assert_true(w->pt.enrolled);
    assert_string_equal(w->pt.program_id, "no-such-program");
}

static void test_enrol_twice_is_noop(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    assert_true(w->pt.enrolled);
    assert_string_equal(w->pt.program_id, PROGRAM);
    assert_string_equal(w->pt.region, "DACH");
    fx_sale(w, "s-1", Q4D(1), 6000000, "SW-1", 1);

    /* another enrolment (another program and region): applied, changes nothing */
    fx_blob before = fx_encode(&w->pt);
    fx_enrol_ev(w, "enrol-2", "us-agents", "US");
    proc_outputs *o = fx_applied(w);
    fx_blob after = fx_encode(&w->pt);
    assert_int_equal(o->n_payouts, 0);
    assert_int_equal(o->n_alerts, 0);
    assert_string_equal(w->pt.program_id, PROGRAM);
    assert_string_equal(w->pt.region, "DACH");
    assert_int_equal(w->pt.n_periods, 1);
    assert_i64(w->pt.periods[0].revenue_minor, 6000000);
    assert_int_equal(w->pt.n_seen, 3);      /* only the new event id was remembered */
    assert_true(after.len > before.len);
    free(before.buf);
    free(after.buf);

    /* the first enrolment's event again: a duplicate */
    fx_enrol_ev(w, "enrol-1", PROGRAM, "DACH");
    o = fx_apply(w);
    assert_true(o->duplicate);
    assert_false(o->changed);

    /* sales still follow the first program (EUR, 2% at Silver) */
    o = fx_sale(w, "s-2", Q4D(2), 1000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, "Silver", 20000, "Silver", PROC_STATUS_APPROVED,
                     "2026-Q4");
}

/* ---- §6.2 currency -------------------------------------------------------------------------- */

static void test_unsupported_currency(void **state)
{
    fx_world *w = *state;
    static const char *const bad[] = {"JPY", "usd", "eur", "XXX"};
    history(w);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fx_sale_ev(w, "s-x", Q4D(2), 1000, bad[i], "SW-1", 1);
        expect_dead_letter(w, PROC_DLQ_UNSUPPORTED_CURRENCY);
    }
    /* the fix (an fx rate for JPY) makes the same event apply: JPY 1,000 (yen: 0 decimals)
     * x 0.0061 = EUR 6.10 = 610 cents (issue #6: not 6, which read yen as JPY cents) */
    w->progs[0].fx[w->progs[0].n_fx++] = (proc_fx){"JPY", 610000};
    fx_sale_ev(w, "s-x", Q4D(2), 1000, "JPY", "SW-1", 1);
    fx_applied(w);
    assert_i64(fx_period_at(w, Q4D(2))->revenue_minor, 1000000 + 610);
    /* KWD 1.234 (1,234 fils: 3 decimals) x 3.0 = EUR 3.702 -> 370 cents (0.2 down) */
    w->progs[0].fx[w->progs[0].n_fx++] = (proc_fx){"KWD", 300000000};
    fx_sale_ev(w, "s-kwd", Q4D(2), 1234, "KWD", "SW-1", 1);
    fx_applied(w);
    assert_i64(fx_period_at(w, Q4D(2))->revenue_minor, 1000000 + 610 + 370);
}

/* §6.0 order: PARTNER_NOT_ENROLLED, UNSUPPORTED_CURRENCY, RETURN_INVALID, LATE_EVENT. */
static void test_check_order(void **state)
{
    fx_world *w = *state;
    fx_sale_ev(w, "s-x", Q4D(2), 1000, "JPY", "SW-1", 1);
    expect_dead_letter(w, PROC_DLQ_PARTNER_NOT_ENROLLED);    /* before the currency */

    history(w);
    fx_sale(w, "s-late", Q1D(30), 1000, "SW-1", 1);         /* watermark 2027-01-31 */
    fx_sale_ev(w, "s-x", Q3D(5), 1000, "JPY", "SW-1", 1);   /* Q3 is long closed */
    expect_dead_letter(w, PROC_DLQ_UNSUPPORTED_CURRENCY);    /* before LATE_EVENT */

    fx_sale_ev(w, "s-x", Q4D(2), 1000, "JPY", "SW-1", 1);
    w->ev.u.sale.kind = PROC_SALE_RETURN;
    w->ev.u.sale.has_original_event_id = true;
    snprintf(w->ev.u.sale.original_event_id, PROC_STR_CAP, "h-3");
    expect_dead_letter(w, PROC_DLQ_UNSUPPORTED_CURRENCY);    /* before RETURN_INVALID */

    fx_sale_ev(w, "s-x", Q3D(5), 1000, "EUR", "SW-1", 1);
    expect_dead_letter(w, PROC_DLQ_LATE_EVENT);
}

/* ---- §6.16 duplicates ------------------------------------------------------------------- */

static void expect_duplicate(fx_world *w)
{
    fx_blob before = fx_encode(&w->pt);
    proc_outputs *o = fx_apply(w);
    fx_blob after = fx_encode(&w->pt);
    bool same = fx_blob_equal(before, after);
    free(before.buf);
    free(after.buf);
    assert_true(o->duplicate);
    expect_untouched(o, PROC_DLQ_NONE);
    assert_true(same);
}

static void test_dedupe(void **state)
{
    fx_world *w = *state;
    history(w);
    proc_outputs *o = fx_sale(w, "s-1", Q4D(2), 5000000, "FW-1", 1);
    assert_true(o->n_payouts > 0);

    fx_sale_ev(w, "s-1", Q4D(2), 5000000, "EUR", "FW-1", 1);     /* byte-for-byte again */
    expect_duplicate(w);
    fx_sale_ev(w, "s-1", Q4D(3), 7777777, "EUR", "SW-2", 3);     /* same id, other content */
    expect_duplicate(w);
    fx_sale_ev(w, "s-1", Q4D(2), 5000000, "JPY", "FW-1", 1);     /* before the currency check */
    expect_duplicate(w);
    fx_cert_ev(w, "h-2", Q4D(4), "cert-z");                       /* a certification's id */
    expect_duplicate(w);
    fx_enrol_ev(w, "enrol-1", "no-such-program", "X");            /* an enrolment's id */
    expect_duplicate(w);

    /* a duplicate is not LATE_EVENT even once its period has closed */
    fx_sale(w, "s-2", Q1D(40), 1000, "SW-1", 1);
    fx_sale_ev(w, "h-1", Q3D(10), 6000000, "EUR", "SW-1", 1);
    expect_duplicate(w);
}

/* Pruning remembered ids must never let a redelivered event be paid twice: an id is
 * forgotten only once its period is closed to late events, so the redelivery is then
 * LATE_EVENT. 62 later sales trigger the every-64-ids prune in between. */
static void test_pruned_id_is_late_not_paid_twice(void **state)
{
    fx_world *w = *state;
    char id[32];
    fx_enrol(w);
    fx_sale(w, "old", Q4D(31), 100000, "SW-1", 1);               /* 2026-11-01 */
    for (int i = 0; i < 62; i++) {                               /* 2026-12-15: same period */
        snprintf(id, sizeof id, "s-%d", i);
        fx_sale(w, id, Q4D(75), 1000, "SW-1", 1);
    }
    fx_sale_ev(w, "old", Q4D(31), 100000, "EUR", "SW-1", 1);
    expect_duplicate(w);                                         /* still open: remembered */

    for (int i = 62; i < 200; i++) {                             /* 2027-02-20: Q4 closed */
        snprintf(id, sizeof id, "s-%d", i);
        fx_sale(w, id, Q1D(50), 1000, "SW-1", 1);
    }
    fx_sale_ev(w, "old", Q4D(31), 100000, "EUR", "SW-1", 1);
    proc_outputs *o = fx_apply(w);
    assert_int_equal(o->reason, PROC_DLQ_LATE_EVENT);
    assert_int_equal(o->n_payouts, 0);
}

/* A program whose higher tier pays a lower rate is refused: its true-ups would be
 * negative payouts (CONTRACT §4 allows negatives only for clawbacks). */
static void test_program_rates_must_not_fall(void **state)
{
    fx_world *w = *state;
    char key[96], msg[256];
    assert_true(proc_program_check(&w->progs[0], key, sizeof key, msg, sizeof msg));
    w->progs[0].tiers[2].rebate_bp = 150;
    assert_false(proc_program_check(&w->progs[0], key, sizeof key, msg, sizeof msg));
    assert_string_equal(key, "tiers[2].rebate_bp");
}

/* ---- §6.9 late events ------------------------------------------------------------------ */

typedef struct {
    const char *what;
    int32_t lateness_days;
    bool by_cert;              /* the watermark is set by a certification, not a sale */
    int64_t watermark;
    bool late;
} late_row;

static const late_row late_rows[] = {
    /* Q3 ended 2026-10-01T00:00Z; +7 days = 2026-10-08T00:00Z */
    {"exactly 7 days after", 7, false, T_2026_10_01 + 7 * DAY_MS, false},
    {"7 days and 1 ms after", 7, false, T_2026_10_01 + 7 * DAY_MS + 1, true},
    {"a certification moves the watermark", 7, true, T_2026_10_01 + 7 * DAY_MS + 1, true},
    {"lateness 0, at the period end", 0, false, T_2026_10_01, false},
    {"lateness 0, 1 ms after", 0, false, T_2026_10_01 + 1, true},
    {"lateness 30", 30, false, T_2026_10_01 + 30 * DAY_MS, false},
    {"lateness 30, 1 ms after", 30, false, T_2026_10_01 + 30 * DAY_MS + 1, true},
};

static void test_late_events(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof late_rows / sizeof late_rows[0]; i++) {
        const late_row *r = &late_rows[i];
        fx_reset(w);
        w->progs[0].allowed_lateness_days = r->lateness_days;
        fx_enrol(w);
        print_message("row %zu: %s\n", i, r->what);
        fx_sale(w, "s-q3", Q3D(1), 1000000, "SW-1", 1);
        if (r->by_cert)
            fx_cert(w, "wm", r->watermark, "cert-a");
        else
            fx_sale(w, "wm", r->watermark, 1000, "SW-1", 1);
        assert_i64(w->pt.watermark_ms, r->watermark);
        fx_sale_ev(w, "s-late", Q3D(80), 4000000, "EUR", "SW-1", 1);
        if (r->late) {
            expect_dead_letter(w, PROC_DLQ_LATE_EVENT);
        } else {
            /* accepted: updates Q3 (5,000,000: Silver; 4M x 2% and a 1% true-up of 1M) */
            proc_outputs *o = fx_applied(w);
            fx_expect_payout(o, PROC_PAYOUT_REBATE, "Silver", 80000, "Silver",
                             PROC_STATUS_APPROVED, "2026-Q3");
            fx_expect_payout(o, PROC_PAYOUT_TIER_TRUE_UP, "Silver", 10000, "Silver",
                             PROC_STATUS_APPROVED, "2026-Q3");
            assert_i64(w->pt.watermark_ms, r->watermark);     /* it never goes back */
        }
    }
}

/* An enrolment is not a period event: it does not move the watermark. */
static void test_enrolment_does_not_move_watermark(void **state)
{
    fx_world *w = *state;
    fx_enrol_ev(w, "enrol-1", PROGRAM, "DACH");
    w->ev.occurred_at = T_2027_04_01;
    fx_applied(w);
    proc_outputs *o = fx_sale(w, "s-q3", Q3D(1), 1000000, "SW-1", 1);
    fx_expect_payout(o, PROC_PAYOUT_REBATE, "Registered", 10000, "Registered",
                     PROC_STATUS_APPROVED, "2026-Q3");
}

/* With no period event applied yet there is no watermark: a partner's first sale is never
 * late, whatever its date (here 1969-06-15, before the epoch). */
static void test_first_event_never_late(void **state)
{
    fx_world *w = *state;
    static const int64_t dates[] = {
        -15897600000LL - 16 * DAY_MS,      /* 1969-06-15 */
        -2208988800000LL,                  /* 1900-01-01 */
        T_1970_01_01 - 8 * DAY_MS,         /* 1969-12-24: 1969-Q4 ends at 0 */
    };
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        fx_reset(w);
        fx_enrol(w);
        print_message("row %zu\n", i);
        proc_outputs *o = fx_sale(w, "s-1", dates[i], 1000000, "SW-1", 1);
        assert_i64(fx_payout(o, PROC_PAYOUT_REBATE, NULL)->amount_minor, 10000);
        assert_i64(w->pt.watermark_ms, dates[i]);
        /* from then on the watermark is that sale: a period that closed more than 7 days
         * before it is late */
        fx_sale_ev(w, "s-2", dates[i] - 400 * DAY_MS, 1000, "EUR", "SW-1", 1);
        expect_dead_letter(w, PROC_DLQ_LATE_EVENT);
    }
}

/* A certification is a period event like the others: dated in a period closed to late
 * events it is LATE_EVENT and changes nothing. Booked there, it reopened a period already
 * pruned from the state with zero revenue, so that period's leaderboard scores fell to the
 * certification's points and its bonus escaped the period's cap. */
static void test_late_certification(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    fx_sale(w, "s-q3", Q3D(1), 1000000, "SW-1", 1);
    fx_sale(w, "wm", Q1D(50), 1000, "SW-1", 1);        /* 2027-02-20: Q3 and Q4 closed */

    fx_cert_ev(w, "c-late", Q3D(20), "cert-a");         /* Q3 still in the state */
    expect_dead_letter(w, PROC_DLQ_LATE_EVENT);

    proc_partner_prune(&w->pt, w->cat.replay_horizon_ms, &w->progs[0]);
    assert_null(proc_partner_period(&w->pt, KEY_Q3));   /* and once it is pruned */
    fx_cert_ev(w, "c-late", Q3D(20), "cert-a");
    expect_dead_letter(w, PROC_DLQ_LATE_EVENT);
    fx_cert_ev(w, "c-q4", Q4D(80), "cert-a");           /* Q4 ended 50 days before */
    expect_dead_letter(w, PROC_DLQ_LATE_EVENT);

    /* the same certification dated in an open period counts, once */
    proc_outputs *o = fx_cert(w, "c-late", Q1D(10), "cert-a");
    fx_expect_payout(o, PROC_PAYOUT_CERTIFICATION_BONUS, "cert-a", 50000, "Registered",
                     PROC_STATUS_APPROVED, "2027-Q1");
    assert_int_equal(w->pt.certifications_total, 1);
}

/* ---- §6.0 dead letters change nothing and are not remembered ------------------------- */

typedef struct {
    const char *what;
    void (*make)(fx_world *w);
    proc_dlq_reason reason;
    void (*fix)(fx_world *w);
} dlq_row;

static void dl_over_max(fx_world *w) { fx_sale_ev(w, "d-1", Q4D(5), 1000000000001LL, "EUR", "SW-1", 1); }
static void fix_over_max(fx_world *w) { w->progs[0].max_sale_minor = 2000000000000LL; }
static void dl_currency(fx_world *w) { fx_sale_ev(w, "d-1", Q4D(5), 1000, "CHF", "SW-1", 1); }
static void fix_currency(fx_world *w) { w->progs[0].fx[w->progs[0].n_fx++] = (proc_fx){"CHF", 105000000}; }
static void dl_late(fx_world *w) { fx_sale_ev(w, "d-1", Q3D(5), 1000, "EUR", "SW-1", 1); }
static void fix_late(fx_world *w) { w->progs[0].allowed_lateness_days = 365; }
static void dl_invalid(fx_world *w) { fx_sale_ev(w, "d-1", Q4D(5), 1000, "EUR", "SW-1", 0); }
static void fix_invalid(fx_world *w) { w->ev.u.sale.quantity = 1; }
static void dl_enrol(fx_world *w) { fx_enrol_ev(w, "d-1", "nope", "X"); }
static void dl_return(fx_world *w) { fx_return_ev(w, "d-1", Q4D(25), 1000, "EUR", "s-late"); }
static void fix_return(fx_world *w)      /* the sale it returns arrives after all */
{
    proc_event ret = w->ev;
    fx_sale(w, "s-late", Q4D(24), 5000, "SW-1", 1);
    w->ev = ret;
}
static void fix_enrol(fx_world *w) { snprintf(w->progs[1].id, sizeof w->progs[1].id, "nope"); }

static const dlq_row dlq_rows[] = {
    {"amount over max_sale_minor", dl_over_max, PROC_DLQ_INVALID_EVENT, fix_over_max},
    {"quantity 0", dl_invalid, PROC_DLQ_INVALID_EVENT, fix_invalid},
    {"unsupported currency", dl_currency, PROC_DLQ_UNSUPPORTED_CURRENCY, fix_currency},
    {"late", dl_late, PROC_DLQ_LATE_EVENT, fix_late},
    {"enrolment in an unknown program", dl_enrol, PROC_DLQ_INVALID_EVENT, fix_enrol},
    {"return of a sale not yet seen", dl_return, PROC_DLQ_RETURN_INVALID, fix_return},
};

static void test_dead_letters_change_nothing(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof dlq_rows / sizeof dlq_rows[0]; i++) {
        const dlq_row *r = &dlq_rows[i];
        fx_reset(w);
        history(w);
        fx_sale(w, "h-4", Q4D(20), 1000, "SW-1", 1);     /* watermark 2026-10-21: Q3 closed */
        print_message("row %zu: %s\n", i, r->what);
        r->make(w);
        expect_dead_letter(w, r->reason);
        expect_dead_letter(w, r->reason);                 /* again: still not a duplicate */

        /* once the cause is fixed, the very same event is applied */
        r->make(w);
        r->fix(w);
        fx_applied(w);
        assert_true(fx_apply(w)->duplicate);        /* and now it is remembered */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        fx_test(test_validation),
        fx_test(test_validation_first_and_forgotten),
        fx_test(test_validation_edges_accepted),
        fx_test(test_not_enrolled),
        fx_test(test_enrol_unknown_program),
        fx_test(test_enrol_twice_is_noop),
        fx_test(test_unsupported_currency),
        fx_test(test_check_order),
        fx_test(test_dedupe),
        fx_test(test_pruned_id_is_late_not_paid_twice),
        fx_test(test_program_rates_must_not_fall),
        fx_test(test_late_events),
        fx_test(test_enrolment_does_not_move_watermark),
        fx_test(test_first_event_never_late),
        fx_test(test_late_certification),
        fx_test(test_dead_letters_change_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
