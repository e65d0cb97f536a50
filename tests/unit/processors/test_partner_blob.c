/*
 * test_partner_blob.c — the partner state the worker stores in Redis (a core blob and one
 * hash entry per remembered id, survey answer and open sale): store/load round trips
 * (field by field and byte for byte), the exact wire bytes of small partners in version
 * 3 and in version 2 (the whole-partner blob of earlier releases, still read so Redis
 * migrates), the journal of changed entries, and rejection of corrupt or truncated blobs
 * and entries without leaks or crashes.
 */
#include "test_fixtures.h"

/* Field by field; the hash sets are compared in hash order (settled first). */
static void expect_same_partner(proc_partner *a, proc_partner *b)
{
    proc_partner_settle(a);
    proc_partner_settle(b);
    assert_int_equal(a->enrolled, b->enrolled);
    assert_string_equal(a->partner_id, b->partner_id);
    assert_string_equal(a->program_id, b->program_id);
    assert_string_equal(a->region, b->region);
    assert_i64(a->watermark_ms, b->watermark_ms);
    assert_i64(a->latest_seen_ms, b->latest_seen_ms);
    assert_int_equal(a->certifications_total, b->certifications_total);
    assert_int_equal(a->n_periods, b->n_periods);
    for (int i = 0; i < a->n_periods; i++) {
        const proc_period_state *x = &a->periods[i], *y = &b->periods[i];
        assert_int_equal(x->key, y->key);
        assert_int_equal(x->reached_tier, y->reached_tier);
        assert_int_equal(x->held_tier, y->held_tier);
        assert_int_equal(x->flags, y->flags);
        assert_int_equal(x->near_alerted, y->near_alerted);
        assert_i64(x->revenue_minor, y->revenue_minor);
        assert_int_equal(x->certifications, y->certifications);
        assert_int_equal(x->deals_won, y->deals_won);
        assert_i64(x->cash_minor, y->cash_minor);
        assert_i64(x->payouts_minor, y->payouts_minor);
        assert_int_equal(x->enps_responses, y->enps_responses);
        assert_int_equal(x->enps_promoters, y->enps_promoters);
        assert_int_equal(x->enps_passives, y->enps_passives);
        assert_int_equal(x->enps_detractors, y->enps_detractors);
    }
    assert_int_equal(a->n_seen, b->n_seen);
    for (int i = 0; i < a->n_seen; i++) {
        assert_true(a->seen[i].hash == b->seen[i].hash);
        assert_i64(a->seen[i].occurred_at, b->seen[i].occurred_at);
    }
    assert_int_equal(a->n_certs, b->n_certs);
    for (int i = 0; i < a->n_certs; i++)
        assert_true(a->certs[i] == b->certs[i]);
    assert_int_equal(a->n_open, b->n_open);
    for (int i = 0; i < a->n_open; i++) {
        assert_true(a->open[i].hash == b->open[i].hash);
        assert_i64(a->open[i].occurred_at, b->open[i].occurred_at);
    }
    assert_int_equal(a->n_sales, b->n_sales);
    for (int i = 0; i < a->n_sales; i++) {
        const proc_sale_record *x = &a->sales[i], *y = &b->sales[i];
        assert_true(x->hash == y->hash);
        assert_i64(x->occurred_at, y->occurred_at);
        assert_i64(x->amount_minor, y->amount_minor);
        assert_i64(x->returned_minor, y->returned_minor);
        assert_int_equal(x->n_payouts, y->n_payouts);
    }
    assert_int_equal(a->n_sale_payouts, b->n_sale_payouts);
    for (int i = 0; i < a->n_sale_payouts; i++) {
        const proc_sale_payout *x = &a->sale_payouts[i], *y = &b->sale_payouts[i];
        assert_int_equal(x->kind, y->kind);
        assert_i64(x->amount_minor, y->amount_minor);
        assert_string_equal(x->payout_id, y->payout_id);
    }
    assert_int_equal(a->n_responses, b->n_responses);
    for (int i = 0; i < a->n_responses; i++) {
        assert_true(a->responses[i].hash == b->responses[i].hash);
        assert_i64(a->responses[i].occurred_at, b->responses[i].occurred_at);
    }
    assert_int_equal(a->n_pulse, b->n_pulse);
    for (int i = 0; i < a->n_pulse; i++) {
        const proc_pulse_stat *x = &a->pulse[i], *y = &b->pulse[i];
        assert_int_equal(x->period_key, y->period_key);
        assert_int_equal(x->alerted, y->alerted);
        assert_true(x->question == y->question);
        assert_i64(x->sum, y->sum);
        assert_i64(x->count, y->count);
    }
}

static void expect_empty(const proc_partner *pt)
{
    assert_false(pt->enrolled);
    assert_string_equal(pt->partner_id, PARTNER);       /* the id is not in the blob */
    assert_string_equal(pt->program_id, "");
    assert_int_equal(pt->n_periods, 0);
    assert_int_equal(pt->n_seen, 0);
    assert_int_equal(pt->n_certs, 0);
    assert_int_equal(pt->certifications_total, 0);
    assert_int_equal(pt->n_sales, 0);
    assert_int_equal(pt->n_sale_payouts, 0);
    assert_int_equal(pt->n_responses, 0);
    assert_int_equal(pt->n_pulse, 0);
}

/* A partner with a bit of everything, built by the rules themselves: periods, ids,
 * certifications, sale records with payouts (one partly returned), survey answers and
 * PULSE statistics. */
static void history(fx_world *w)
{
    fx_enrol(w);
    fx_sale(w, "h-1", Q3D(10), 6000000, "SW-1", 1);
    fx_cert(w, "h-2", Q3D(20), "cert-a");
    fx_sale(w, "h-3", Q4D(1), 25000000, "FW-1", 2);
    fx_cert(w, "h-4", Q4D(2), "cert-b");
    fx_return(w, "h-4r", Q4D(3), 1000000, "h-3");
    fx_enps_ev(w, "h-4s", Q4D(4), "sv-1", "r-1", 3);
    fx_applied(w);
    fx_sale(w, "h-5", Q1D(3), 4600000, "SW-1", 1);
    fx_survey_ev(w, "h-6", Q1D(4), PROC_SURVEY_PULSE, "pulse-1", "r-1");
    fx_pulse_answer(w, "q-1", 2);
    fx_pulse_answer(w, "q-2", 5);
    fx_applied(w);
}

static void test_round_trip_engine_state(void **state)
{
    fx_world *w = *state;
    history(w);
    assert_int_equal(w->pt.n_periods, 3);
    assert_int_equal(w->pt.n_seen, 9);
    assert_int_equal(w->pt.n_certs, 2);
    assert_int_equal(w->pt.n_sales, 3);
    /* h-1: rebate, MDF; h-3: rebate, SPIFF, MDF; h-5: rebate, MDF (true-ups not kept) */
    assert_int_equal(w->pt.n_sale_payouts, 7);
    assert_i64(w->pt.sales[1].returned_minor, 1000000);
    assert_int_equal(w->pt.n_responses, 2);
    assert_int_equal(w->pt.n_pulse, 2);

    fx_blob a = fx_encode(&w->pt);
    proc_partner copy;
    proc_partner_init(&copy, PARTNER);
    assert_int_equal(fx_store_load(&w->pt, &copy), 0);
    expect_same_partner(&w->pt, &copy);
    fx_blob b = fx_encode(&copy);
    bool same = fx_blob_equal(a, b);

    /* the decoded state behaves exactly like the original: apply the same event to both */
    proc_outputs o2 = {0};
    fx_sale_ev(w, "next", Q1D(4), 500000, "EUR", "FW-2", 1);
    assert_int_equal(proc_apply(&w->cat, &copy, &w->ev, NULL, &o2), 0);
    proc_outputs *o1 = fx_applied(w);
    assert_int_equal(o1->n_payouts, o2.n_payouts);
    assert_int_equal(o1->n_alerts, o2.n_alerts);
    assert_true(o1->n_payouts > 0);
    for (int i = 0; i < o1->n_payouts; i++) {
        assert_string_equal(o1->payouts[i].payout_id, o2.payouts[i].payout_id);
        assert_i64(o1->payouts[i].amount_minor, o2.payouts[i].amount_minor);
    }
    for (int i = 0; i < o1->n_alerts; i++)
        assert_string_equal(o1->alerts[i].alert_id, o2.alerts[i].alert_id);
    fx_blob c = fx_encode(&w->pt), d = fx_encode(&copy);
    bool same_after = fx_blob_equal(c, d);

    free(a.buf);
    free(b.buf);
    free(c.buf);
    free(d.buf);
    proc_outputs_free(&o2);
    proc_partner_clear(&copy);
    assert_true(same);
    assert_true(same_after);
}

/* Extreme values survive: negative instants and money, full 64-bit hashes and flags,
 * a 256-byte program id. */
static void test_round_trip_extremes(void **state)
{
    (void)state;
    proc_partner pt, back;
    proc_partner_init(&pt, PARTNER);
    proc_partner_init(&back, PARTNER);
    pt.enrolled = true;
    char longest[PROC_STR_CAP + 8];
    memset(longest, 'p', sizeof longest - 1);      /* longer than allowed: cut at 256 */
    longest[sizeof longest - 1] = '\0';
    assert_int_equal(proc_partner_set_strings(&pt, pt.partner_id, longest, "EMEA / DACH"), 0);
    assert_int_equal(strlen(pt.program_id), PROC_STR_MAX);
    pt.watermark_ms = -2208988800000LL;
    pt.latest_seen_ms = INT64_MAX;
    pt.certifications_total = INT32_MAX;

    proc_period_state *p = proc_partner_add_period(&pt, 1899 * 4 + 3);
    assert_non_null(p);
    p->reached_tier = 15;
    p->held_tier = 3;
    p->flags = 0xFFFFFFFFu;
    p->near_alerted = 0x80000001u;
    p->revenue_minor = INT64_MIN;
    p->cash_minor = INT64_MAX;
    p->payouts_minor = -1;
    p->certifications = INT32_MIN;
    p->deals_won = 7;
    p->enps_responses = 5;
    p->enps_promoters = 2;
    p->enps_passives = 1;
    p->enps_detractors = 2;
    assert_non_null(proc_partner_add_period(&pt, -5));
    assert_int_equal(pt.periods[0].key, -5);          /* kept sorted by key */
    assert_int_equal(proc_partner_remember(&pt, UINT64_MAX, INT64_MIN), 0);
    assert_int_equal(proc_partner_remember(&pt, 0, 0), 0);
    assert_int_equal(proc_partner_remember(&pt, 0x8000000000000000ULL, -1), 0);
    assert_int_equal(proc_partner_add_cert(&pt, UINT64_MAX), 0);
    assert_int_equal(proc_partner_add_cert(&pt, 0), 0);
    proc_sale_payout sp[2] = {{PROC_PAYOUT_CLAWBACK, INT64_MIN, ""},
                              {PROC_PAYOUT_MDF_ACCRUAL, INT64_MAX, ""}};
    memset(sp[0].payout_id, 'x', PROC_ID_CAP - 1);
    sp[0].payout_id[PROC_ID_CAP - 1] = '\0';
    proc_sale_record rec = {UINT64_MAX, INT64_MIN, INT64_MAX, INT64_MAX, 2};
    assert_int_equal(proc_partner_add_sale(&pt, &rec, sp), 0);
    proc_sale_record none = {0, 0, 1, 0, 0};
    assert_int_equal(proc_partner_add_sale(&pt, &none, NULL), 0);
    assert_int_equal(proc_partner_add_response(&pt, UINT64_MAX, INT64_MAX), 0);
    assert_int_equal(proc_partner_add_response(&pt, 1, -1), 0);
    proc_pulse_stat *ps = proc_partner_add_pulse(&pt, -5, UINT64_MAX);
    assert_non_null(ps);
    ps->sum = INT64_MAX;
    ps->count = INT64_MAX;
    ps->alerted = true;

    fx_blob a = fx_encode(&pt);
    int rc = fx_store_load(&pt, &back);
    fx_blob b = fx_encode(&back);
    bool same = fx_blob_equal(a, b);
    free(a.buf);
    free(b.buf);
    assert_int_equal(rc, 0);
    expect_same_partner(&pt, &back);
    assert_true(same);
    assert_true(proc_partner_seen(&back, UINT64_MAX));
    assert_true(proc_partner_seen(&back, 0));
    assert_false(proc_partner_seen(&back, 1));
    assert_true(proc_partner_has_cert(&back, UINT64_MAX));
    proc_sale_payout *pp;
    assert_non_null(proc_partner_sale(&back, UINT64_MAX, &pp));
    assert_int_equal(strlen(pp[0].payout_id), PROC_ID_CAP - 1);
    assert_i64(pp[1].amount_minor, INT64_MAX);
    assert_non_null(proc_partner_sale(&back, 0, &pp));
    assert_true(proc_partner_responded(&back, UINT64_MAX));
    assert_false(proc_partner_responded(&back, 0));
    assert_non_null(proc_partner_pulse(&back, -5, UINT64_MAX));
    proc_partner_clear(&pt);
    proc_partner_clear(&back);
}

/* The exact bytes: magic 'P', version 3, then varints (zigzag for signed values); the
 * entries' fields and values; and a version-2 blob of the same partner (what releases
 * before the split stored) still reads, with `rewrite` set so the worker migrates it. */
static void test_wire_bytes(void **state)
{
    (void)state;
    proc_partner pt;
    proc_partner_init(&pt, PARTNER);

    static const uint8_t empty[] = {0x50, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    uint8_t *eb = NULL;
    size_t elen = 0;
    assert_int_equal(proc_partner_encode(&pt, &eb, &elen), 0);
    fx_blob e = {eb, elen};
    bool empty_ok = e.len == sizeof empty && memcmp(e.buf, empty, sizeof empty) == 0;
    free(e.buf);
    assert_true(empty_ok);

    pt.enrolled = true;
    assert_int_equal(proc_partner_set_strings(&pt, pt.partner_id, "ab", "c"), 0);
    pt.watermark_ms = 1;                  /* zigzag 2 */
    pt.latest_seen_ms = -1;               /* zigzag 1 */
    pt.certifications_total = 2;          /* zigzag 4 */
    proc_period_state *p = proc_partner_add_period(&pt, 3);
    assert_non_null(p);
    p->reached_tier = 1;
    p->flags = 3;                         /* unsigned */
    p->near_alerted = 4;
    p->revenue_minor = 150;               /* zigzag 300 = 0xAC 0x02 */
    p->certifications = 1;
    p->cash_minor = -1;
    p->payouts_minor = 64;                /* zigzag 128 = 0x80 0x01 */
    assert_int_equal(proc_partner_remember(&pt, 0x80, -2), 0);
    assert_int_equal(proc_partner_add_cert(&pt, 1), 0);
    proc_sale_payout sp = {PROC_PAYOUT_SPIFF, -3, "po_x"};
    proc_sale_record rec = {0x81, 5, 100, 64, 1};
    assert_int_equal(proc_partner_add_sale(&pt, &rec, &sp), 0);
    assert_int_equal(proc_partner_add_response(&pt, 7, 1), 0);
    proc_pulse_stat *st = proc_partner_add_pulse(&pt, -1, 2);
    assert_non_null(st);
    st->alerted = true;
    st->sum = 9;
    st->count = 3;

    static const uint8_t core[] = {
        0x50, 0x03,                       /* magic, version */
        0x01,                             /* enrolled */
        0x02, 'a', 'b',                   /* program_id */
        0x01, 'c',                        /* region */
        0x02, 0x01, 0x04,                 /* watermark, latest seen, certifications */
        0x01,                             /* one period: */
        0x06, 0x02, 0x00, 0x03, 0x04,     /*   key 3, reached 1, held 0, flags, near */
        0xAC, 0x02, 0x02, 0x00,           /*   revenue 150, certifications 1, deals 0 */
        0x01, 0x80, 0x01,                 /*   cash -1, payouts 64 */
        0x00, 0x00, 0x00, 0x00,           /*   eNPS counts */
        0x01, 0x01,                       /* one certification hash: 1 */
        0x01,                             /* one PULSE statistic: */
        0x01, 0x01, 0x02, 0x12, 0x06,     /*   period -1, alerted, question 2, sum 9, count 3 */
    };
    uint8_t *cb = NULL;
    size_t clen = 0;
    assert_int_equal(proc_partner_encode(&pt, &cb, &clen), 0);
    bool core_ok = clen == sizeof core && memcmp(cb, core, sizeof core) == 0;
    free(cb);
    assert_true(core_ok);
    char field[PROC_FIELD_CAP];
    uint8_t val[PROC_ENTRY_MAX];
    proc_partner_field(PROC_SET_SEEN, 0x80, field);
    assert_string_equal(field, "e0000000000000080");
    assert_int_equal(proc_partner_entry(&pt, PROC_SET_SEEN, 0x80, val, sizeof val), 2);
    assert_memory_equal(val, "-2", 2);
    proc_partner_field(PROC_SET_RESPONSES, 7, field);
    assert_string_equal(field, "r0000000000000007");
    assert_int_equal(proc_partner_entry(&pt, PROC_SET_RESPONSES, 7, val, sizeof val), 1);
    assert_memory_equal(val, "1", 1);
    proc_partner_field(PROC_SET_SALES, 0xfedcba9876543210ULL, field);
    assert_string_equal(field, "sfedcba9876543210");
    static const uint8_t sale[] = {0x0A, 0xC8, 0x01, 0x80, 0x01, 0x01, /* at 5, 100, 64, 1 */
                                   0x02, 0x05, 0x04, 'p', 'o', '_', 'x'};
    assert_int_equal(proc_partner_entry(&pt, PROC_SET_SALES, 0x81, val, sizeof val), sizeof sale);
    assert_memory_equal(val, sale, sizeof sale);
    assert_int_equal(proc_partner_entry(&pt, PROC_SET_SALES, 0x82, val, sizeof val), 0);
    /* a present entry that cannot be written is an error, never "delete" */
    assert_int_equal(proc_partner_entry(&pt, PROC_SET_SALES, 0x81, val, 4), PROC_ENTRY_FAILED);
    assert_int_equal(proc_partner_entry(&pt, PROC_SET_SEEN, 0x80, val, 4), PROC_ENTRY_FAILED);
    assert_int_equal(proc_partner_entry(&pt, PROC_SET_SEEN, 0x81, val, sizeof val), 0);

    static const uint8_t small[] = {
        0x50, 0x02,                       /* magic, version 2 (whole partner) */
        0x01,                             /* enrolled */
        0x02, 'a', 'b',                   /* program_id */
        0x01, 'c',                        /* region */
        0x02, 0x01, 0x04,                 /* watermark, latest seen, certifications */
        0x01,                             /* one period: */
        0x06, 0x02, 0x00, 0x03, 0x04,     /*   key 3, reached 1, held 0, flags, near */
        0xAC, 0x02, 0x02, 0x00,           /*   revenue 150, certifications 1, deals 0 */
        0x01, 0x80, 0x01,                 /*   cash -1, payouts 64 */
        0x00, 0x00, 0x00, 0x00,           /*   eNPS counts */
        0x01, 0x80, 0x01, 0x03,           /* one seen id: hash 0x80, at -2 */
        0x01, 0x01,                       /* one certification hash: 1 */
        0x01,                             /* one sale record: */
        0x81, 0x01, 0x0A, 0xC8, 0x01,     /*   hash 0x81, at 5, amount 100 */
        0x80, 0x01, 0x01,                 /*   returned 64, one payout: */
        0x02, 0x05, 0x04, 'p', 'o', '_', 'x', /* SPIFF, -3, "po_x" */
        0x01, 0x07, 0x02,                 /* one survey answer: hash 7, at 1 */
        0x01,                             /* one PULSE statistic: */
        0x01, 0x01, 0x02, 0x12, 0x06,     /*   period -1, alerted, question 2, sum 9, count 3 */
    };
    proc_partner_clear(&pt);

    proc_partner back;
    proc_partner_init(&back, PARTNER);
    assert_int_equal(proc_partner_decode(&back, small, sizeof small), 0);
    assert_true(back.rewrite);            /* the next write adds the entries */
    assert_string_equal(back.program_id, "ab");
    assert_i64(back.latest_seen_ms, -1);
    assert_i64(back.periods[0].revenue_minor, 150);
    assert_i64(back.periods[0].cash_minor, -1);
    assert_i64(back.seen[0].occurred_at, -2);
    assert_int_equal(back.n_sales, 1);
    assert_i64(back.sales[0].returned_minor, 64);
    assert_int_equal(back.sale_payouts[0].kind, PROC_PAYOUT_SPIFF);
    assert_i64(back.sale_payouts[0].amount_minor, -3);
    assert_string_equal(back.sale_payouts[0].payout_id, "po_x");
    assert_true(back.responses[0].hash == 7);
    assert_int_equal(back.pulse[0].period_key, -1);
    assert_i64(back.pulse[0].count, 3);
    proc_partner_clear(&back);
}

/* ---- corrupt blobs ----------------------------------------------------------------------- */

static int decode(proc_partner *pt, const uint8_t *buf, size_t len)
{
    return proc_partner_decode(pt, buf, len);
}

/* The core blob alone (what proc_partner_decode reads). */
static fx_blob core_of(const proc_partner *pt)
{
    fx_blob b = {NULL, 0};
    assert_int_equal(proc_partner_encode(pt, &b.buf, &b.len), 0);
    return b;
}

static void test_truncated_rejected(void **state)
{
    fx_world *w = *state;
    history(w);
    fx_blob a = core_of(&w->pt);
    proc_partner pt;
    proc_partner_init(&pt, PARTNER);
    for (size_t len = 0; len < a.len; len++) {
        /* a copy of exactly `len` bytes, so valgrind sees any read past the end */
        uint8_t *cut = malloc(len ? len : 1);
        assert_non_null(cut);
        memcpy(cut, a.buf, len);
        int rc = decode(&pt, cut, len);
        free(cut);
        if (rc != -1) {
            free(a.buf);
            fail_msg("a blob cut to %zu of %zu bytes was accepted", len, a.len);
        }
        expect_empty(&pt);
    }
    free(a.buf);
    proc_partner_clear(&pt);
}

typedef struct {
    const char *what;
    uint8_t bytes[48];
    size_t len;
} bad_row;

/* The valid empty blob is 50 02 and 12 zero bytes. */
#define E12 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
/* An enrolled partner with no periods, ids or certifications, then the new sections:
 * 50 02 | 00 00 00 00 00 00 | 00 00 00 | sales, answers, PULSE. */
#define HEAD 0x50, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0
static const bad_row bad_rows[] = {
    {"wrong magic", {0x51, 0x02, E12}, 14},
    {"version 0", {0x50, 0x00, E12}, 14},
    {"version 1 (before sales and surveys)", {0x50, 0x01, E12}, 14},
    {"version 1 with its own length", {0x50, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 11},
    {"version 4", {0x50, 0x04, E12}, 14},
    {"version 3 with the version-2 sections", {0x50, 0x03, E12}, 14},
    {"a trailing byte", {0x50, 0x02, E12, 0}, 15},
    {"2^40 periods", {0x50, 0x02, 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0, 0, 0, 0, 0}, 19},
    {"5 periods, no data", {0x50, 0x02, 0, 0, 0, 0, 0, 0, 0x05, 0, 0, 0, 0, 0}, 14},
    {"2^35 seen ids", {0x50, 0x02, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0, 0, 0}, 19},
    {"program_id longer than the blob", {0x50, 0x02, 0, 0x7F, 'a', 'b'}, 6},
    {"varint of 11 bytes", {0x50, 0x02, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                            0xFF, 0xFF, 0x01, 0, 0, 0, 0, 0, 0, 0, 0}, 24},
    {"varint running off the end", {0x50, 0x02, E12, 0x80}, 15},
    {"one byte", {0x50}, 1},
    {"nothing", {0}, 0},
    /* sale records: hash 1, at 0, amount 2, returned r, n payouts */
    {"sale amount 0", {HEAD, 1, 1, 0, 0, 0, 0, 0, 0}, 19},
    {"sale returned more than sold", {HEAD, 1, 1, 0, 4, 6, 0, 0, 0}, 19},
    {"sale returned < 0", {HEAD, 1, 1, 0, 4, 1, 0, 0, 0}, 19},
    {"sale payouts missing", {HEAD, 1, 1, 0, 4, 0, 2, 0, 0}, 19},
    {"payout kind 7", {HEAD, 1, 1, 0, 4, 0, 1, 7, 2, 0, 0, 0}, 22},
    {"payout id of 36 bytes", {HEAD, 1, 1, 0, 4, 0, 1, 0, 2, 36, 'p'}, 21},
    /* survey answers must be sorted; PULSE counts not negative */
    {"answers out of order", {HEAD, 0, 2, 5, 0, 3, 0, 0}, 18},
    {"the same answer twice", {HEAD, 0, 2, 5, 0, 5, 0, 0}, 18},
    {"PULSE count < 0", {HEAD, 0, 0, 1, 0, 0, 1, 2, 1}, 19},
};

static void test_bad_blobs_rejected(void **state)
{
    (void)state;
    proc_partner pt;
    proc_partner_init(&pt, PARTNER);
    for (size_t i = 0; i < sizeof bad_rows / sizeof bad_rows[0]; i++) {
        const bad_row *r = &bad_rows[i];
        if (decode(&pt, r->bytes, r->len) != -1)
            fail_msg("%s: accepted", r->what);
        expect_empty(&pt);
    }
    static const uint8_t good[] = {0x50, 0x02, E12};
    assert_int_equal(decode(&pt, good, sizeof good), 0);
    /* the new sections decode when well-formed: one sale of 2 with one REBATE of 1 ("p"),
     * answers 3 and 5, one PULSE statistic */
    static const uint8_t sections[] = {HEAD, 1, 1, 0, 4, 2, 1, 0, 2, 1, 'p',
                                       2, 3, 0, 5, 0, 1, 0, 0, 2, 4, 2};
    assert_int_equal(decode(&pt, sections, sizeof sections), 0);
    assert_int_equal(pt.n_sales, 1);
    assert_i64(pt.sales[0].returned_minor, 1);
    assert_string_equal(pt.sale_payouts[0].payout_id, "p");
    assert_int_equal(pt.n_responses, 2);
    assert_i64(pt.pulse[0].sum, 2);
    proc_partner_clear(&pt);
}

/* program_id holds at most 256 bytes: 256 decode, 257 are refused. */
static void test_string_limit(void **state)
{
    (void)state;
    uint8_t buf[2 + 1 + 2 + 257 + 10];
    for (int n = 256; n <= 257; n++) {
        size_t len = 0;
        buf[len++] = 0x50;
        buf[len++] = 0x02;
        buf[len++] = 0x01;                         /* enrolled */
        buf[len++] = (uint8_t)(0x80 | (n & 0x7F)); /* varint n (256 = 80 02, 257 = 81 02) */
        buf[len++] = (uint8_t)(n >> 7);
        memset(buf + len, 'x', (size_t)n);
        len += (size_t)n;
        for (int k = 0; k < 10; k++)               /* region, 3 numbers, 6 counts */
            buf[len++] = 0;
        proc_partner pt;
        proc_partner_init(&pt, PARTNER);
        int rc = decode(&pt, buf, len);
        size_t got = strlen(pt.program_id);
        proc_partner_clear(&pt);
        if (n == 256) {
            assert_int_equal(rc, 0);
            assert_int_equal(got, 256);
        } else {
            assert_int_equal(rc, -1);
        }
    }
}

/* Every single-byte corruption of a real blob decodes or is refused, never crashes or
 * leaks (run under valgrind); an accepted one re-encodes to the bytes it came from unless
 * the corruption hit a non-canonical spot. */
static void test_byte_flips(void **state)
{
    fx_world *w = *state;
    history(w);
    fx_blob a = core_of(&w->pt);
    static const uint8_t values[] = {0x00, 0x01, 0x7F, 0x80, 0xFF};
    proc_partner pt;
    proc_partner_init(&pt, PARTNER);
    int accepted = 0, refused = 0;
    for (size_t i = 0; i < a.len; i++) {
        for (size_t v = 0; v < sizeof values; v++) {
            uint8_t *c = malloc(a.len);
            assert_non_null(c);
            memcpy(c, a.buf, a.len);
            c[i] = values[v];
            if (decode(&pt, c, a.len) == 0) {
                accepted++;
                fx_blob again = fx_encode(&pt);
                free(again.buf);
            } else {
                refused++;
                expect_empty(&pt);
            }
            free(c);
        }
    }
    free(a.buf);
    proc_partner_clear(&pt);
    assert_true(accepted > 0);
    assert_true(refused > 0);
}

/* Entries: every proper prefix of a sale value, bad fields and bad times are refused;
 * a repeated entry is refused by load_done; an entry loads into the right set. */
static void test_bad_entries_rejected(void **state)
{
    fx_world *w = *state;
    history(w);
    uint8_t val[PROC_ENTRY_MAX];
    char field[PROC_FIELD_CAP];
    const proc_sale_record *rec = &w->pt.sales[1];
    size_t n = proc_partner_entry(&w->pt, PROC_SET_SALES, rec->hash, val, sizeof val);
    assert_true(n > 10);
    proc_partner_field(PROC_SET_SALES, rec->hash, field);
    proc_partner pt;
    proc_partner_init(&pt, PARTNER);
    for (size_t len = 0; len < n; len++) {
        uint8_t *cut = malloc(len ? len : 1);
        assert_non_null(cut);
        memcpy(cut, val, len);
        int rc = proc_partner_load_entry(&pt, field, strlen(field), cut, len);
        free(cut);
        if (rc != -1)
            fail_msg("a sale entry cut to %zu of %zu bytes was accepted", len, n);
        assert_int_equal(pt.n_open, 0);
    }
    /* A loaded entry opens the sale; its record stays in Redis until a return needs it. */
    proc_sale_payout *pp;
    assert_int_equal(proc_partner_load_entry(&pt, field, strlen(field), val, n), 0);
    assert_int_equal(proc_partner_load_done(&pt), 0);
    assert_int_equal(pt.n_open, 1);
    assert_int_equal(pt.n_sales, 0);
    assert_true(proc_partner_sale_open(&pt, rec->hash));
    assert_null(proc_partner_sale(&pt, rec->hash, &pp));
    assert_int_equal(proc_partner_entry(&pt, PROC_SET_SALES, rec->hash, val, sizeof val),
                     PROC_ENTRY_NOT_LOADED);
    assert_int_equal(pt.cap_sales, 0);                  /* checking them kept nothing */
    n = proc_partner_entry(&w->pt, PROC_SET_SALES, rec->hash, val, sizeof val);
    for (size_t len = 0; len < n; len++)
        assert_int_equal(proc_partner_load_sale(&pt, rec->hash, val, len), -1);
    assert_int_equal(proc_partner_load_sale(&pt, rec->hash + 1, val, n), -1);   /* not open */
    uint8_t other[PROC_ENTRY_MAX];                  /* another sale's record: its instant differs */
    size_t on = proc_partner_entry(&w->pt, PROC_SET_SALES, w->pt.sales[0].hash, other, sizeof other);
    assert_int_equal(proc_partner_load_sale(&pt, rec->hash, other, on), -1);
    assert_int_equal(pt.n_sales, 0);
    assert_int_equal(proc_partner_load_sale(&pt, rec->hash, val, n), 0);
    assert_int_equal(proc_partner_load_sale(&pt, rec->hash, val, n), 0);        /* kept */
    assert_int_equal(pt.n_sales, 1);
    assert_non_null(proc_partner_sale(&pt, rec->hash, &pp));
    assert_i64(pt.sales[0].returned_minor, 1000000);
    proc_partner_forget_sales(&pt);
    assert_int_equal(pt.n_sales, 0);
    assert_int_equal(pt.n_sale_payouts, 0);
    assert_true(proc_partner_sale_open(&pt, rec->hash));

    static const struct { const char *field, *value; } bad[] = {
        {"e000000000000000", "1"},            /* 15 hex digits */
        {"e00000000000000000", "1"},          /* 17 */
        {"x0000000000000001", "1"},           /* unknown set */
        {"e000000000000000G", "1"},
        {"e000000000000000A", "1"},           /* upper case is not what we write */
        {"e0000000000000001", ""},
        {"e0000000000000001", "1x"},
        {"e0000000000000001", "-"},
        {"e0000000000000001", "9223372036854775808"},
        {"r0000000000000001", "+1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (proc_partner_load_entry(&pt, bad[i].field, strlen(bad[i].field),
                                    (const uint8_t *)bad[i].value, strlen(bad[i].value)) != -1)
            fail_msg("entry %s = '%s' accepted", bad[i].field, bad[i].value);
    assert_int_equal(pt.n_seen, 0);
    assert_int_equal(pt.n_responses, 0);
    const char *ok[] = {"-9223372036854775808", "9223372036854775807", "0"};
    assert_int_equal(proc_partner_load_entry(&pt, "e0000000000000002", 17,
                                             (const uint8_t *)ok[0], strlen(ok[0])), 0);
    assert_int_equal(proc_partner_load_entry(&pt, "e0000000000000001", 17,
                                             (const uint8_t *)ok[1], strlen(ok[1])), 0);
    assert_int_equal(proc_partner_load_entry(&pt, "rffffffffffffffff", 17,
                                             (const uint8_t *)ok[2], 1), 0);
    assert_int_equal(proc_partner_load_done(&pt), 0);
    assert_true(pt.seen[0].hash == 1 && pt.seen[1].hash == 2);     /* sorted */
    assert_i64(pt.seen[1].occurred_at, INT64_MIN);
    assert_true(proc_partner_responded(&pt, UINT64_MAX));
    assert_int_equal(proc_partner_load_entry(&pt, "e0000000000000001", 17,
                                             (const uint8_t *)"5", 1), 0);
    assert_int_equal(proc_partner_load_done(&pt), -1);              /* e..01 twice */
    proc_partner_clear(&pt);
}

/* The journal names every entry a change touched: added ids, answers and sales, a
 * return's sale, and what pruning dropped; a partner read from a version-2 blob is marked
 * for a whole rewrite instead; reset empties it. */
static void test_journal(void **state)
{
    fx_world *w = *state;
    history(w);
    proc_partner *pt = &w->pt;
    /* 9 event ids, 2 answers, 3 sales, 1 return of h-3 */
    int seen = 0, resp = 0, sales = 0;
    for (int i = 0; i < pt->n_changes; i++) {
        seen += pt->changes[i].set == PROC_SET_SEEN;
        resp += pt->changes[i].set == PROC_SET_RESPONSES;
        sales += pt->changes[i].set == PROC_SET_SALES;
    }
    assert_int_equal(seen, 9);
    assert_int_equal(resp, 2);
    assert_int_equal(sales, 4);
    assert_false(pt->rewrite);
    proc_partner_journal_reset(pt);
    assert_int_equal(pt->n_changes, 0);

    /* a redelivered id changes nothing, so it journals nothing */
    assert_int_equal(proc_partner_remember(pt, pt->seen[0].hash, 0), 0);
    assert_int_equal(pt->n_changes, 0);

    /* pruning far in the future drops old ids and sales and journals each */
    int n_seen = pt->n_seen, n_sales = pt->n_sales;
    pt->watermark_ms += 3 * 365 * PROC_MS_PER_DAY;
    pt->latest_seen_ms = pt->watermark_ms;
    proc_partner_prune(pt, 0, proc_catalog_find(&w->cat, pt->program_id));
    assert_true(pt->n_seen < n_seen);
    assert_true(pt->n_sales < n_sales);
    assert_int_equal(pt->n_changes, (n_seen - pt->n_seen) + (n_sales - pt->n_sales) + 2);
    uint8_t val[PROC_ENTRY_MAX];
    for (int i = 0; i < pt->n_changes; i++)       /* dropped: nothing to write, delete */
        assert_int_equal(proc_partner_entry(pt, (proc_entry_set)pt->changes[i].set,
                                            pt->changes[i].hash, val, sizeof val), 0);

    /* a copy carries the journal (the worker may redo a batch from a copy) */
    proc_partner copy;
    proc_partner_init(&copy, PARTNER);
    assert_int_equal(proc_partner_copy(&copy, pt), 0);
    assert_int_equal(copy.n_changes, pt->n_changes);
    proc_partner_clear(&copy);
}

/* A return of an open sale whose record is not loaded is an error the caller made (the
 * worker loads it first), never a dead letter; once loaded, the return claws back what
 * it claws back from a partner that never left memory, and the journal names the sale. */
static void test_return_needs_loaded_sale(void **state)
{
    fx_world *w = *state;
    history(w);
    proc_partner copy;
    proc_partner_init(&copy, PARTNER);
    assert_int_equal(fx_store_load(&w->pt, &copy), 0);
    proc_partner_forget_sales(&copy);
    uint64_t h = proc_hash64("h-3");
    uint8_t val[PROC_ENTRY_MAX];
    size_t n = proc_partner_entry(&w->pt, PROC_SET_SALES, h, val, sizeof val);

    proc_outputs o = {0};
    fx_return_ev(w, "h-3r2", Q4D(20), 2000000, "EUR", "h-3");
    assert_int_equal(proc_apply(&w->cat, &copy, &w->ev, NULL, &o), -1);
    assert_int_equal(proc_partner_load_sale(&copy, h, val, n), 0);
    proc_partner_journal_reset(&copy);
    assert_int_equal(proc_apply(&w->cat, &copy, &w->ev, NULL, &o), 0);
    proc_outputs *want = fx_applied(w);
    assert_int_equal(o.reason, PROC_DLQ_NONE);
    assert_int_equal(o.n_payouts, want->n_payouts);
    assert_true(o.n_payouts >= 2);                 /* the REBATE's and SPIFF's clawbacks */
    for (int i = 0; i < o.n_payouts; i++) {
        assert_string_equal(o.payouts[i].payout_id, want->payouts[i].payout_id);
        assert_i64(o.payouts[i].amount_minor, want->payouts[i].amount_minor);
    }
    bool journaled = false;
    for (int i = 0; i < copy.n_changes; i++)
        journaled |= copy.changes[i].set == PROC_SET_SALES && copy.changes[i].hash == h;
    assert_true(journaled);
    proc_outputs_free(&o);
    proc_partner_clear(&copy);
}

/* The hash sets stay exact past many tail merges: 5,000 ids in random order, each
 * found, absent ones not, a repeat neither added nor journaled; after a prune that
 * drops every other instant the survivors are still found and the dropped ones not. */
static void test_set_tail_merges(void **state)
{
    fx_world *w = *state;
    enum { N = 5000 };
    proc_partner *pt = &w->pt;
    fx_enrol(w);
    proc_partner_journal_reset(pt);
    int base = pt->n_seen;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    static uint64_t h[N];
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;       /* xorshift: distinct, unordered */
        h[i] = x;
        assert_int_equal(proc_partner_remember(pt, h[i], i), 0);
        assert_true(proc_partner_seen(pt, h[i]));
        assert_true(proc_partner_seen(pt, h[i / 2]));
    }
    assert_int_equal(pt->n_seen, base + N);
    assert_true(pt->sorted_seen > base + N - 64);
    for (int i = 1; i < pt->sorted_seen; i++)
        assert_true(pt->seen[i - 1].hash < pt->seen[i].hash);
    assert_int_equal(pt->n_changes, N);
    assert_int_equal(proc_partner_remember(pt, h[17], 17), 0);    /* a repeat */
    assert_int_equal(pt->n_seen, base + N);
    assert_int_equal(pt->n_changes, N);
    for (int i = 0; i < N; i++)
        assert_false(proc_partner_seen(pt, h[i] + 2));

    /* A prune with no horizon, everything closed: only instants >= latest_seen survive,
     * and each is still found after the filter moved the prefix and the tail. */
    pt->latest_seen_ms = N / 2;
    pt->watermark_ms = 100LL * 365 * PROC_MS_PER_DAY;
    assert_int_equal(proc_partner_prune(pt, 0, proc_catalog_find(&w->cat, pt->program_id)), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(proc_partner_seen(pt, h[i]), i >= N / 2);
    for (int i = 1; i < pt->sorted_seen; i++)
        assert_true(pt->seen[i - 1].hash < pt->seen[i].hash);
}

/* Decoding replaces what the partner held, and a failed decode leaves it empty. */
static void test_decode_replaces_state(void **state)
{
    fx_world *w = *state;
    history(w);
    fx_blob a = core_of(&w->pt);

    static const uint8_t empty[] = {0x50, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    proc_partner other;
    proc_partner_init(&other, PARTNER);
    assert_int_equal(proc_partner_decode(&other, a.buf, a.len), 0);
    assert_int_equal(proc_partner_decode(&other, empty, sizeof empty), 0);
    expect_empty(&other);
    assert_int_equal(proc_partner_decode(&other, a.buf, a.len), 0);
    assert_int_equal(proc_partner_decode(&other, a.buf, a.len - 1), -1);
    expect_empty(&other);
    proc_partner_clear(&other);
    free(a.buf);
}

/* proc_partner_copy is deep: the copy encodes the same, and changing it leaves the
 * original alone. */
static void test_copy(void **state)
{
    fx_world *w = *state;
    history(w);
    proc_partner copy;
    proc_partner_init(&copy, "someone-else");
    assert_int_equal(proc_partner_copy(&copy, &w->pt), 0);
    expect_same_partner(&w->pt, &copy);
    fx_blob a = fx_encode(&w->pt);
    copy.periods[0].revenue_minor += 1;
    assert_int_equal(proc_partner_remember(&copy, 42, 0), 0);
    fx_blob b = fx_encode(&w->pt);
    bool same = fx_blob_equal(a, b);
    free(a.buf);
    free(b.buf);
    proc_partner_clear(&copy);
    assert_true(same);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        fx_test(test_round_trip_engine_state),
        cmocka_unit_test(test_round_trip_extremes),
        cmocka_unit_test(test_wire_bytes),
        fx_test(test_truncated_rejected),
        cmocka_unit_test(test_bad_blobs_rejected),
        cmocka_unit_test(test_string_limit),
        fx_test(test_byte_flips),
        fx_test(test_decode_replaces_state),
        fx_test(test_bad_entries_rejected),
        fx_test(test_journal),
        fx_test(test_return_needs_loaded_sale),
        fx_test(test_set_tail_merges),
        fx_test(test_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
