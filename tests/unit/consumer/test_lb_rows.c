/*
 * test_lb_rows.c — the leaderboard rows a batch writes (cons_partners_note_rows over the
 * rows proc_apply reports), one reproduction per cause of the stale or missing sorted sets
 * found in issue #6:
 *
 *  1. A period that got events and then closed within the same batch was pruned from the
 *     partner state before the batch was written, and the writer read scores from the
 *     state, so it skipped the period: its sets never got the final score (or none).
 *  2. The periods a partner touched in one batch were capped at 8 (CONS_MAX_TOUCHED):
 *     a ninth and later period were silently not written.
 *
 * The rows now carry the values each event left, and a partner keeps any number of them.
 * Events are applied the way the worker does: proc_apply per event, then the rows are
 * merged into the partner's cache entry; the batch is written from the entry's rows.
 */
#include "../processors/test_fixtures.h"

#include "cons_partners.h"

static const proc_lb_row *row_of(const cons_partner_entry *e, int32_t key)
{
    for (int i = 0; i < e->n_rows; i++)
        if (e->rows[i].period_key == key)
            return &e->rows[i];
    return NULL;
}

static void apply_into(fx_world *w, cons_partner_entry *e)
{
    proc_outputs *o = fx_applied(w);
    assert_int_equal(cons_partners_note_rows(e, o), 0);
}

/* Cause 1: Q3 gets 70 sales, Q4 three, then Q1 sales push the watermark past Q4's end
 * plus the 7 days of lateness, so Q3 is closed and pruned — all in one batch. */
static void closed_and_pruned_in_the_same_batch(void **state)
{
    fx_world *w = *state;
    cons_partner_entry e = {0};
    char id[32];

    fx_enrol(w);
    for (int i = 0; i < 70; i++) {
        snprintf(id, sizeof id, "q3-%d", i);
        fx_sale_ev(w, id, Q3D(1 + i), 100000, "EUR", "SW-1", 1);
        apply_into(w, &e);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof id, "q4-%d", i);
        fx_sale_ev(w, id, Q4D(5 + i), 100000, "EUR", "SW-1", 1);
        apply_into(w, &e);
    }
    int i = 0;
    for (; i < 200 && proc_partner_period(&w->pt, KEY_Q3) != NULL; i++) {
        snprintf(id, sizeof id, "q1-%d", i);
        fx_sale_ev(w, id, Q1D(10), 10000, "EUR", "SW-1", 1);
        apply_into(w, &e);
    }
    /* The scenario itself: Q3 is gone from the state before the batch ends. */
    assert_null(proc_partner_period(&w->pt, KEY_Q3));

    const proc_lb_row *q3 = row_of(&e, KEY_Q3), *q4 = row_of(&e, KEY_Q4), *q1 = row_of(&e, KEY_Q1);
    assert_non_null(q3);
    assert_i64(q3->revenue_minor, 7000000);        /* 70 x 1,000.00 EUR */
    assert_i64(q3->points, 700);                   /* 7,000,000 / 10,000 per point */
    assert_non_null(q4);
    assert_i64(q4->revenue_minor, 300000);
    assert_i64(q4->points, 30);
    assert_non_null(q1);
    assert_i64(q1->revenue_minor, (int64_t)i * 10000);   /* the last event's values */
    assert_int_equal(e.n_rows, 3);
    free(e.rows);
}

/* Cause 2: a monthly program, one sale in each of twelve months, one batch. */
static void twelve_periods_in_one_batch(void **state)
{
    fx_world *w = *state;
    cons_partner_entry e = {0};
    char id[32];

    fx_enrol_ev(w, "enrol-1", "us-agents", NULL);
    apply_into(w, &e);
    for (int m = 0; m < 12; m++) {   /* mid-month instants: Jul 16 2026 .. Jun 11 2027 */
        snprintf(id, sizeof id, "m-%d", m);
        fx_sale_ev(w, id, T_2026_07_01 + (int64_t)(m * 30 + 15) * DAY_MS, (m + 1) * 100000,
                   "USD", "SW-1", 1);
        apply_into(w, &e);
    }
    assert_int_equal(e.n_rows, 12);
    for (int m = 0; m < 12; m++) {
        int32_t key = m < 6 ? 2026 * 12 + 6 + m : 2027 * 12 + (m - 6);   /* July = 6 */
        const proc_lb_row *r = row_of(&e, key);
        if (r == NULL)
            fail_msg("no leaderboard row for month %d of the batch", m);
        assert_i64(r->revenue_minor, (m + 1) * 100000);
    }
    free(e.rows);
}

/* A later event of the same period replaces the row; a dead letter adds none. */
static void later_event_replaces_the_row(void **state)
{
    fx_world *w = *state;
    cons_partner_entry e = {0};

    fx_enrol(w);
    fx_sale_ev(w, "s-1", Q3D(1), 100000, "EUR", "SW-1", 1);
    apply_into(w, &e);
    fx_cert_ev(w, "c-1", Q3D(2), "cert-a");
    apply_into(w, &e);
    fx_sale_ev(w, "late", Q3D(3), 0, "EUR", "SW-1", 1);     /* amount 0: dead letter */
    assert_int_not_equal(fx_apply(w)->reason, PROC_DLQ_NONE);
    assert_int_equal(cons_partners_note_rows(&e, &w->out), 0);
    assert_int_equal(e.n_rows, 1);
    assert_i64(e.rows[0].revenue_minor, 100000);
    assert_i64(e.rows[0].points, 10 + 50);                  /* revenue + one certification */
    free(e.rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        fx_test(closed_and_pruned_in_the_same_batch),
        fx_test(twelve_periods_in_one_batch),
        fx_test(later_event_replaces_the_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
