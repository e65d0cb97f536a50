/*
 * test_rules_survey.c — surveys (CONTRACT §6.15) on the example program of §5 (surveys:
 * nps_threshold 0, min_responses 5, pulse_threshold "2.5"). NPS = round_half_even(100 x
 * (promoters - detractors) / responses) per period; PULSE averages are compared exactly:
 * sum x 1e8 < threshold_e8 x answers.
 */
#include <limits.h>

#include "test_fixtures.h"

static proc_outputs *enps(fx_world *w, const char *event_id, int64_t at, const char *respondent,
                          int32_t score)
{
    fx_enps_ev(w, event_id, at, "sv-1", respondent, score);
    return fx_applied(w);
}

/* ---- classification ---------------------------------------------------------------- */

typedef struct {
    int32_t score;
    const char *group;
} class_row;

static const class_row class_rows[] = {
    {0, "detractors"}, {6, "detractors"}, {7, "passives"},
    {8, "passives"},   {9, "promoters"},  {10, "promoters"},
};

/* The metric of the group, the period counters and the detractor alert. */
static void test_classification_outputs(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof class_rows / sizeof class_rows[0]; i++) {
        const class_row *r = &class_rows[i];
        fx_reset(w);
        fx_enrol(w);
        print_message("row %zu: score %d\n", i, r->score);
        proc_outputs *o = enps(w, "e-1", Q4D(3), "r-1", r->score);
        assert_int_equal(o->n_kpi, 2);
        assert_i64(fx_kpi(o, KEY_Q4, "responses"), 1);
        assert_i64(fx_kpi(o, KEY_Q4, r->group), 1);
        assert_int_equal(o->n_payouts, 0);
        assert_int_equal(o->n_rows, 0);             /* no leaderboard row changes */
        const proc_period_state *ps = fx_period_at(w, Q4D(3));
        bool det = strcmp(r->group, "detractors") == 0;
        bool pro = strcmp(r->group, "promoters") == 0;
        assert_int_equal(ps->enps_responses, 1);
        assert_int_equal(ps->enps_detractors, det);
        assert_int_equal(ps->enps_promoters, pro);
        assert_int_equal(ps->enps_passives, !det && !pro);
        assert_int_equal(proc_period_nps(ps), det ? -100 : pro ? 100 : 0);
        assert_int_equal(o->n_alerts, det);
        if (det) {
            const proc_alert *a = fx_alert(o, PROC_ALERT_DETRACTOR_RESPONSE);
            char score[8];
            snprintf(score, sizeof score, "%d", r->score);
            assert_int_equal(a->severity, PROC_SEVERITY_WARNING);
            assert_string_equal(fx_attr(a, "survey_id"), "sv-1");
            assert_string_equal(fx_attr(a, "respondent_id"), "r-1");
            assert_string_equal(fx_attr(a, "score"), score);
            assert_string_equal(a->period, "2026-Q4");
            assert_string_equal(a->source_event_id, "e-1");
        }
        /* a response is a period event: it opened Q4 and set the watermark */
        assert_i64(w->pt.watermark_ms, Q4D(3));
    }
}

/* ---- NPS --------------------------------------------------------------------------- */

typedef struct {
    int promoters, passives, detractors;
    int32_t nps;
} nps_row;

static const nps_row nps_rows[] = {
    {1, 5, 2, -12},     /* -12.5: a tie, to the even -12 */
    {0, 5, 3, -38},     /* -37.5 -> -38 */
    {1, 7, 0, 12},      /* 12.5 -> 12 */
    {3, 5, 0, 38},      /* 37.5 -> 38 */
    {5, 3, 0, 62},      /* 62.5 -> 62 */
    {1, 2, 0, 33},      /* 33.33 */
    {2, 1, 0, 67},      /* 66.67 */
    {2, 0, 2, 0},
};

static void test_nps_rounding(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof nps_rows / sizeof nps_rows[0]; i++) {
        const nps_row *r = &nps_rows[i];
        fx_reset(w);
        w->progs[0].nps_threshold = -100;       /* no PARTNER_NPS_LOW in this table */
        fx_enrol(w);
        print_message("row %zu: %d/%d/%d\n", i, r->promoters, r->passives, r->detractors);
        int n = 0;
        char id[16], who[16];
        for (int k = 0; k < r->promoters + r->passives + r->detractors; k++, n++) {
            int32_t score = k < r->promoters ? 10 : k < r->promoters + r->passives ? 7 : 6;
            snprintf(id, sizeof id, "e-%d", k);
            snprintf(who, sizeof who, "r-%d", k);
            enps(w, id, Q4D(3), who, score);
        }
        const proc_period_state *ps = fx_period_at(w, Q4D(3));
        assert_int_equal(ps->enps_responses, n);
        assert_int_equal(proc_period_nps(ps), r->nps);
    }
    proc_period_state none;
    memset(&none, 0, sizeof none);
    assert_int_equal(proc_period_nps(&none), INT32_MIN);
}

typedef struct {
    const char *what;
    int32_t threshold, min_responses;
    int n;
    int32_t scores[8];
    int alert_at;              /* index of the response that raises PARTNER_NPS_LOW, -1: none */
    const char *nps;           /* its attribute */
} nps_low_row;

static const nps_low_row nps_low_rows[] = {
    /* -20 after the 5th; not again after the 6th (-33) */
    {"at min_responses", 0, 5, 6, {3, 3, 3, 10, 10, 3}, 4, "-20"},
    /* below the threshold from the start, but only 4 responses until the 5th */
    {"min_responses waits", 0, 5, 5, {0, 0, 0, 0, 10}, 4, "-60"},
    /* 0 is not below 0; the 6th makes it -16.67 -> -17 */
    {"at the threshold", 0, 5, 6, {3, 10, 7, 7, 7, 3}, 5, "-17"},
    /* 0, 16.67, 0, then -12.5, which rounds to -12: not below -12 (unrounded it would be) */
    {"rounded before comparing", -12, 5, 8, {7, 7, 7, 7, 7, 10, 3, 3}, -1, NULL},
    /* the same responses against -11: -12 is below */
    {"rounded, then below", -11, 5, 8, {7, 7, 7, 7, 7, 10, 3, 3}, 7, "-12"},
    {"never low", 0, 5, 6, {9, 9, 9, 9, 9, 0}, -1, NULL},
};

static void test_nps_low(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof nps_low_rows / sizeof nps_low_rows[0]; i++) {
        const nps_low_row *r = &nps_low_rows[i];
        fx_reset(w);
        w->progs[0].nps_threshold = r->threshold;
        w->progs[0].survey_min_responses = r->min_responses;
        fx_enrol(w);
        print_message("row %zu: %s\n", i, r->what);
        for (int k = 0; k < r->n; k++) {
            char id[16], who[16];
            snprintf(id, sizeof id, "e-%d", k);
            snprintf(who, sizeof who, "r-%d", k);
            proc_outputs *o = enps(w, id, Q4D(3), who, r->scores[k]);
            int low = fx_n_alerts(o, PROC_ALERT_PARTNER_NPS_LOW);
            if (low != (k == r->alert_at))
                fail_msg("response %d: %d PARTNER_NPS_LOW", k, low);
            if (!low)
                continue;
            const proc_alert *a = fx_alert(o, PROC_ALERT_PARTNER_NPS_LOW);
            char threshold[8], responses[8];
            snprintf(threshold, sizeof threshold, "%d", r->threshold);
            snprintf(responses, sizeof responses, "%d", k + 1);
            assert_int_equal(a->severity, PROC_SEVERITY_CRITICAL);
            assert_string_equal(fx_attr(a, "nps"), r->nps);
            assert_string_equal(fx_attr(a, "threshold"), threshold);
            assert_string_equal(fx_attr(a, "responses"), responses);
            assert_string_equal(a->period, "2026-Q4");
        }
    }
}

/* Once per partner and period: the next period alerts again, with its own id. */
static void test_nps_low_per_period(void **state)
{
    fx_world *w = *state;
    char ids[2][PROC_ID_CAP];
    fx_enrol(w);
    for (int q = 0; q < 2; q++) {
        for (int k = 0; k < 6; k++) {
            char id[16], who[16];
            snprintf(id, sizeof id, "e-%d-%d", q, k);
            snprintf(who, sizeof who, "r-%d", k);
            fx_enps_ev(w, id, q ? Q1D(3) : Q4D(3), q ? "sv-2" : "sv-1", who, 0);
            proc_outputs *o = fx_applied(w);
            assert_int_equal(fx_n_alerts(o, PROC_ALERT_PARTNER_NPS_LOW), k == 4);
            assert_int_equal(fx_n_alerts(o, PROC_ALERT_DETRACTOR_RESPONSE), 1);
            if (k == 4)
                snprintf(ids[q], PROC_ID_CAP, "%s", fx_alert(o, PROC_ALERT_PARTNER_NPS_LOW)->alert_id);
        }
    }
    assert_string_not_equal(ids[0], ids[1]);
}

/* ---- one response per (survey, respondent) ------------------------------------------ */

static void test_duplicate_response(void **state)
{
    fx_world *w = *state;
    fx_enps_ev(w, "e-9", Q4D(3), "sv-1", "r-1", 3);
    fx_dead(w, PROC_DLQ_PARTNER_NOT_ENROLLED);
    fx_enrol(w);
    enps(w, "e-1", Q4D(3), "r-1", 3);

    /* another event, the same survey and respondent: ENPS or PULSE */
    fx_enps_ev(w, "e-2", Q4D(4), "sv-1", "r-1", 10);
    proc_outputs *o = fx_dead(w, PROC_DLQ_DUPLICATE_RESPONSE);
    assert_non_null(strstr(o->detail, "r-1"));
    fx_survey_ev(w, "e-2", Q4D(4), PROC_SURVEY_PULSE, "sv-1", "r-1");
    fx_pulse_answer(w, "q-1", 1);
    fx_dead(w, PROC_DLQ_DUPLICATE_RESPONSE);

    /* other surveys and respondents count; the parts cannot run together */
    enps(w, "e-3", Q4D(4), "r-2", 10);
    fx_enps_ev(w, "e-4", Q4D(4), "sv-2", "r-1", 10);
    fx_applied(w);
    fx_enps_ev(w, "e-5", Q4D(4), "sv", "-1r-1", 10);
    fx_applied(w);
    fx_enps_ev(w, "e-6", Q4D(4), "sv-1r", "-1", 10);
    fx_applied(w);
    assert_int_equal(fx_period_at(w, Q4D(3))->enps_responses, 5);

    /* §6.0 order: DUPLICATE_RESPONSE before LATE_EVENT */
    fx_sale(w, "s-1", Q1D(40), 1000, "SW-1", 1);            /* Q4 closes */
    fx_enps_ev(w, "e-7", Q4D(5), "sv-1", "r-1", 10);
    fx_dead(w, PROC_DLQ_DUPLICATE_RESPONSE);
    fx_enps_ev(w, "e-7", Q4D(5), "sv-1", "r-7", 10);
    fx_dead(w, PROC_DLQ_LATE_EVENT);
    enps(w, "e-7", Q1D(41), "r-7", 10);                      /* not remembered: applies */
}

/* Answers are remembered like event ids: until older than the replay horizon and their
 * period is closed to late events. */
static void test_answers_pruned(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    enps(w, "e-1", Q4D(3), "r-1", 3);
    fx_survey_ev(w, "e-2", Q4D(3), PROC_SURVEY_PULSE, "pulse-1", "r-1");
    fx_pulse_answer(w, "q-1", 1);
    fx_applied(w);
    fx_sale(w, "s-1", Q1D(7), 1000, "SW-1", 1);             /* Q4 still open */
    proc_partner_prune(&w->pt, w->cat.replay_horizon_ms, &w->progs[0]);
    assert_int_equal(w->pt.n_responses, 2);
    assert_int_equal(w->pt.n_pulse, 1);
    fx_sale(w, "s-2", Q1D(7) + 1, 1000, "SW-1", 1);         /* Q4 closed */
    proc_partner_prune(&w->pt, w->cat.replay_horizon_ms, &w->progs[0]);
    assert_int_equal(w->pt.n_responses, 0);
    /* Q4 itself stays (its successor Q1 is open), and its PULSE statistics with it */
    assert_int_equal(w->pt.n_pulse, 1);
    fx_sale(w, "s-3", T_2027_04_01 + 8 * DAY_MS, 1000, "SW-1", 1);   /* Q1 closed too */
    proc_partner_prune(&w->pt, w->cat.replay_horizon_ms, &w->progs[0]);
    assert_int_equal(w->pt.n_pulse, 0);
}

/* ---- PULSE -------------------------------------------------------------------------- */

typedef struct {
    const char *what;
    int64_t threshold_e8;
    int32_t min_responses;
    int n;
    int32_t scores[8];         /* one answer to q-1 per response */
    int alert_at;              /* -1: none */
    const char *average, *threshold;
} pulse_row;

static const pulse_row pulse_rows[] = {
    /* 12 / 5 = 2.4 < 2.5 at the 5th answer */
    {"below at min_responses", 250000000, 5, 5, {2, 3, 2, 3, 2}, 4, "2.40", "2.5"},
    /* 13 / 5 = 2.6 */
    {"above", 250000000, 5, 5, {2, 3, 2, 3, 3}, -1, NULL, NULL},
    /* 1.0 after 4 answers: too few; 9 / 5 = 1.8 after 5 */
    {"min_responses waits", 250000000, 5, 5, {1, 1, 1, 1, 5}, 4, "1.80", "2.5"},
    /* 13/5 = 2.6, then 15/6 = 2.5 exactly (not below), then 16/7 = 2.2857 -> "2.29" */
    {"exactly at, then below", 250000000, 5, 8, {3, 3, 2, 2, 3, 2, 1, 1}, 6, "2.29", "2.5"},
    /* 7/3 = 2.333333333...: below 2.33333334, not below 2.33333333 */
    {"8 decimals, below", 233333334, 3, 3, {2, 2, 3}, 2, "2.33", "2.33333334"},
    {"8 decimals, not below", 233333333, 3, 3, {2, 2, 3}, -1, NULL, NULL},
    /* a whole-number threshold prints without decimals; 2/1 < 3 at min_responses 1 */
    {"threshold 3", 300000000, 1, 2, {2, 1}, 0, "2.00", "3"},
};

static void test_pulse_low(void **state)
{
    fx_world *w = *state;
    for (size_t i = 0; i < sizeof pulse_rows / sizeof pulse_rows[0]; i++) {
        const pulse_row *r = &pulse_rows[i];
        fx_reset(w);
        w->progs[0].pulse_threshold_e8 = r->threshold_e8;
        w->progs[0].survey_min_responses = r->min_responses;
        fx_enrol(w);
        print_message("row %zu: %s\n", i, r->what);
        for (int k = 0; k < r->n; k++) {
            char id[16], who[16];
            snprintf(id, sizeof id, "p-%d", k);
            snprintf(who, sizeof who, "r-%d", k);
            fx_survey_ev(w, id, Q4D(3), PROC_SURVEY_PULSE, "pulse-1", who);
            fx_pulse_answer(w, "q-1", r->scores[k]);
            proc_outputs *o = fx_applied(w);
            assert_int_equal(o->n_kpi, 0);                 /* PULSE has no program metric */
            int low = fx_n_alerts(o, PROC_ALERT_PULSE_LOW);
            if (low != (k == r->alert_at))
                fail_msg("answer %d: %d PULSE_LOW", k, low);
            if (!low)
                continue;
            const proc_alert *a = fx_alert(o, PROC_ALERT_PULSE_LOW);
            char answers[8];
            snprintf(answers, sizeof answers, "%d", k + 1);
            assert_int_equal(a->severity, PROC_SEVERITY_WARNING);
            assert_string_equal(fx_attr(a, "question_id"), "q-1");
            assert_string_equal(fx_attr(a, "average"), r->average);
            assert_string_equal(fx_attr(a, "threshold"), r->threshold);
            assert_string_equal(fx_attr(a, "answers"), answers);
            assert_string_equal(a->period, "2026-Q4");
        }
    }
}

/* Once per partner, question and period; questions are independent; all answers of a
 * response count before the check (also a question answered twice). */
static void test_pulse_low_once_per_question(void **state)
{
    fx_world *w = *state;
    char q4_a[PROC_ID_CAP];
    fx_enrol(w);
    for (int k = 0; k < 7; k++) {
        char id[16], who[16];
        snprintf(id, sizeof id, "p-%d", k);
        snprintf(who, sizeof who, "r-%d", k);
        fx_survey_ev(w, id, Q4D(3), PROC_SURVEY_PULSE, "pulse-1", who);
        fx_pulse_answer(w, "q-a", 1);                 /* low from the 5th answer */
        fx_pulse_answer(w, "q-b", k < 5 ? 5 : 1);     /* 27/7 = 3.86: never low */
        if (k == 0)
            fx_pulse_answer(w, "q-c", 2);
        if (k == 1) {                                  /* q-c four times more */
            fx_pulse_answer(w, "q-c", 2);
            fx_pulse_answer(w, "q-c", 2);
            fx_pulse_answer(w, "q-c", 2);
            fx_pulse_answer(w, "q-c", 3);
        }
        proc_outputs *o = fx_applied(w);
        /* q-c: 5 answers by the 2nd response, 11 / 5 = 2.2, one alert although answered
         * four times in it; q-a: 5 answers at the 5th response */
        int expect = (k == 4) + (k == 1);
        assert_int_equal(fx_n_alerts(o, PROC_ALERT_PULSE_LOW), expect);
        if (k == 1)
            assert_string_equal(fx_attr(fx_alert(o, PROC_ALERT_PULSE_LOW), "question_id"), "q-c");
        if (k == 4) {
            const proc_alert *a = fx_alert(o, PROC_ALERT_PULSE_LOW);
            assert_string_equal(fx_attr(a, "question_id"), "q-a");
            assert_string_equal(fx_attr(a, "average"), "1.00");
            snprintf(q4_a, sizeof q4_a, "%s", a->alert_id);
        }
    }
    /* the next period starts over */
    for (int k = 0; k < 5; k++) {
        char id[16], who[16];
        snprintf(id, sizeof id, "p1-%d", k);
        snprintf(who, sizeof who, "r-%d", k);
        fx_survey_ev(w, id, Q1D(3), PROC_SURVEY_PULSE, "pulse-2", who);
        fx_pulse_answer(w, "q-a", 1);
        proc_outputs *o = fx_applied(w);
        assert_int_equal(fx_n_alerts(o, PROC_ALERT_PULSE_LOW), k == 4);
        if (k == 4) {
            assert_string_equal(fx_alert(o, PROC_ALERT_PULSE_LOW)->period, "2027-Q1");
            assert_string_not_equal(fx_alert(o, PROC_ALERT_PULSE_LOW)->alert_id, q4_a);
        }
    }
}

/* A response opening a later period can downgrade the current tier, like any period
 * event. */
static void test_response_opens_period(void **state)
{
    fx_world *w = *state;
    fx_enrol(w);
    fx_sale(w, "s-1", Q3D(3), 5000000, "SW-1", 1);          /* Q3 Silver */
    proc_outputs *o = enps(w, "e-1", Q1D(3), "r-1", 10);     /* Q4 skipped: nothing held */
    const proc_alert *a = fx_alert(o, PROC_ALERT_TIER_DOWNGRADED);
    assert_string_equal(fx_attr(a, "from_tier"), "Silver");
    assert_string_equal(fx_attr(a, "to_tier"), "Registered");
    assert_int_equal(fx_period_at(w, Q1D(3))->held_tier, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        fx_test(test_classification_outputs),
        fx_test(test_nps_rounding),
        fx_test(test_nps_low),
        fx_test(test_nps_low_per_period),
        fx_test(test_duplicate_response),
        fx_test(test_answers_pruned),
        fx_test(test_pulse_low),
        fx_test(test_pulse_low_once_per_question),
        fx_test(test_response_opens_period),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
