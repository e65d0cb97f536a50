/*
 * test_fixtures.h — shared fixture of the processors/ unit tests: the example program of
 * CONTRACT §5, a partner, event builders and output finders.
 *
 * Expected amounts in the tests are worked out by hand from the contract (CONTRACT.md), never with the
 * library's own helpers. The instants below come from `date -u -d DATE +%s` (× 1000), not
 * from proc_period.c, so the calendar code is checked against an independent source.
 *
 * Every test gets a fresh fx_world through fx_setup/fx_teardown (cmocka group state), so
 * a failing assertion leaks nothing and tests cannot see each other's state.
 */
#ifndef TEST_FIXTURES_H
#define TEST_FIXTURES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proc_engine.h"
#include "proc_money.h"

#define DAY_MS 86400000LL
#define T_1970_01_01 0LL
#define T_2026_07_01 1782864000000LL   /* 2026-Q3 starts */
#define T_2026_10_01 1790812800000LL   /* 2026-Q4 starts; the SPIFF's valid_from */
#define T_2026_11_30 1795996800000LL
#define T_2027_01_01 1798761600000LL   /* 2027-Q1 starts; the SPIFF's valid_to */
#define T_2027_04_01 1806537600000LL   /* 2027-Q2 starts */

/* Day d (0-based) of a quarter. */
#define Q3D(d) (T_2026_07_01 + (int64_t)(d) * DAY_MS)
#define Q4D(d) (T_2026_10_01 + (int64_t)(d) * DAY_MS)
#define Q1D(d) (T_2027_01_01 + (int64_t)(d) * DAY_MS)

/* Period keys (quarters since year 0: year*4 + quarter-1), worked by hand. */
#define KEY_Q3 (2026 * 4 + 2)
#define KEY_Q4 (2026 * 4 + 3)
#define KEY_Q1 (2027 * 4 + 0)

#define PARTNER "p-1"
#define PARTNER2 "p-2"
#define PROGRAM "emea-resellers"

/* Signed 64-bit equality with a readable message (cmocka 1.1 prints unsigned hex). */
#define assert_i64(actual, expected)                                                   \
    do {                                                                               \
        long long a_ = (long long)(actual), e_ = (long long)(expected);                \
        if (a_ != e_)                                                                  \
            fail_msg("%s is %lld, expected %lld", #actual, a_, e_);                    \
    } while (0)

#define FX_MAX_DEALS 4

/* A stored deal claim, kept encoded like the caller keeps it in Redis: every apply
 * decodes it, and writes it back only when the rules say it changed. */
typedef struct {
    char id[PROC_STR_CAP];
    uint8_t *blob;                   /* NULL: nothing stored (a claim of status NONE) */
    size_t len;
} fx_stored_deal;

typedef struct {
    proc_program progs[2];           /* [0] the CONTRACT §5 example, [1] "us-agents" */
    proc_catalog cat;
    proc_partner pt;
    proc_partner pt2;                /* a second partner of the same program, PARTNER2 */
    proc_outputs out;
    proc_event ev;
    int n_deals;
    fx_stored_deal deals[FX_MAX_DEALS];
} fx_world;

/* The program of CONTRACT §5, field by field. */
static inline void fx_example_program(proc_program *p)
{
    proc_program_defaults(p);
    snprintf(p->id, sizeof p->id, "%s", PROGRAM);
    snprintf(p->currency, sizeof p->currency, "EUR");
    p->period = PROC_PERIOD_QUARTER;
    p->allowed_lateness_days = 7;
    p->rebate_mode = PROC_REBATE_RETROACTIVE;
    p->n_tiers = 4;
    p->tiers[0] = (proc_tier){"Registered", 0, 0, 100};
    p->tiers[1] = (proc_tier){"Silver", 5000000, 0, 200};
    p->tiers[2] = (proc_tier){"Gold", 25000000, 1, 300};
    p->tiers[3] = (proc_tier){"Platinum", 100000000, 2, 400};
    p->near_tier_pct = 90;
    p->n_fx = 2;
    p->fx[0] = (proc_fx){"USD", 92000000};     /* "0.92" */
    p->fx[1] = (proc_fx){"GBP", 117000000};    /* "1.17" */
    p->n_spiffs = 1;
    snprintf(p->spiffs[0].id, sizeof p->spiffs[0].id, "q4-firewall");
    snprintf(p->spiffs[0].sku_prefix, sizeof p->spiffs[0].sku_prefix, "FW-");
    p->spiffs[0].per_unit_minor = 5000;
    p->spiffs[0].valid_from_ms = T_2026_10_01;
    p->spiffs[0].valid_to_ms = T_2027_01_01;
    p->spiffs[0].min_tier = 1;                 /* Silver */
    p->deal_bonus_bp = 500;
    p->deal_validity_days = 90;
    p->certification_bonus_minor = 50000;
    p->mdf_bp = 100;
    p->revenue_per_point_minor = 10000;
    p->points_per_certification = 50;
    p->points_per_deal_won = 100;
    p->cap_per_period_minor = 20000000;
    p->approval_threshold_minor = 1000000;
    p->return_window_days = 90;
    p->max_sale_minor = 1000000000000LL;
    p->nps_threshold = 0;
    p->survey_min_responses = 5;
    p->pulse_threshold_e8 = 250000000;
}

/* A second, plain program: USD, monthly, one tier, no caps. */
static inline void fx_other_program(proc_program *p)
{
    proc_program_defaults(p);
    snprintf(p->id, sizeof p->id, "us-agents");
    snprintf(p->currency, sizeof p->currency, "USD");
    p->period = PROC_PERIOD_MONTH;
    p->n_tiers = 1;
    p->tiers[0] = (proc_tier){"Agent", 0, 0, 150};
}

static inline int fx_setup(void **state)
{
    fx_world *w = calloc(1, sizeof *w);
    if (w == NULL)
        return -1;
    fx_example_program(&w->progs[0]);
    fx_other_program(&w->progs[1]);
    w->cat.n_programs = 2;
    w->cat.programs = w->progs;
    w->cat.replay_horizon_ms = 7 * DAY_MS;
    proc_partner_init(&w->pt, PARTNER);
    proc_partner_init(&w->pt2, PARTNER2);
    *state = w;
    return 0;
}

static inline void fx_forget_deals(fx_world *w)
{
    for (int i = 0; i < w->n_deals; i++)
        free(w->deals[i].blob);
    w->n_deals = 0;
}

static inline int fx_teardown(void **state)
{
    fx_world *w = *state;
    proc_partner_clear(&w->pt);
    proc_partner_clear(&w->pt2);
    proc_outputs_free(&w->out);
    fx_forget_deals(w);
    free(w);
    return 0;
}

#define fx_test(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

/* Back to a fresh, not-enrolled partner under the unchanged example programs (for tables
 * whose rows each need a clean start). */
static inline void fx_reset(fx_world *w)
{
    proc_partner_reset(&w->pt);
    proc_partner_reset(&w->pt2);
    fx_forget_deals(w);
    fx_example_program(&w->progs[0]);
    fx_other_program(&w->progs[1]);
    proc_outputs_reset(&w->out);
}

/* ---- events ------------------------------------------------------------------------ */

static inline proc_event *fx_sale_ev(fx_world *w, const char *event_id, int64_t at,
                                     int64_t amount, const char *currency, const char *sku,
                                     int32_t quantity)
{
    proc_event *ev = &w->ev;
    memset(ev, 0, sizeof *ev);
    ev->type = PROC_EVENT_SALE;
    snprintf(ev->event_id, sizeof ev->event_id, "%s", event_id);
    snprintf(ev->partner_id, sizeof ev->partner_id, "%s", PARTNER);
    ev->occurred_at = at;
    ev->u.sale.kind = PROC_SALE_SALE;
    ev->u.sale.amount_minor = amount;
    snprintf(ev->u.sale.currency, sizeof ev->u.sale.currency, "%s", currency);
    snprintf(ev->u.sale.sku, sizeof ev->u.sale.sku, "%s", sku);
    ev->u.sale.quantity = quantity;
    return ev;
}

static inline proc_event *fx_reg_ev(fx_world *w, const char *event_id, int64_t at,
                                    proc_reg_kind kind)
{
    proc_event *ev = &w->ev;
    memset(ev, 0, sizeof *ev);
    ev->type = PROC_EVENT_REGISTRATION;
    snprintf(ev->event_id, sizeof ev->event_id, "%s", event_id);
    snprintf(ev->partner_id, sizeof ev->partner_id, "%s", PARTNER);
    ev->occurred_at = at;
    ev->u.reg.kind = kind;
    return ev;
}

static inline proc_event *fx_enrol_ev(fx_world *w, const char *event_id, const char *program,
                                      const char *region)
{
    proc_event *ev = fx_reg_ev(w, event_id, T_2026_07_01 - DAY_MS, PROC_REG_PARTNER_ENROLLED);
    ev->u.reg.has_program_id = true;
    snprintf(ev->u.reg.program_id, sizeof ev->u.reg.program_id, "%s", program);
    ev->u.reg.has_region = region != NULL;
    snprintf(ev->u.reg.region, sizeof ev->u.reg.region, "%s", region ? region : "");
    return ev;
}

static inline proc_event *fx_cert_ev(fx_world *w, const char *event_id, int64_t at,
                                     const char *cert_id)
{
    proc_event *ev = fx_reg_ev(w, event_id, at, PROC_REG_CERTIFICATION_COMPLETED);
    ev->u.reg.has_certification_id = true;
    snprintf(ev->u.reg.certification_id, sizeof ev->u.reg.certification_id, "%s", cert_id);
    return ev;
}

/* The deal id the caller must load a claim for (written independently of the library). */
static inline const char *fx_deal_named(const proc_event *ev)
{
    if (ev->type == PROC_EVENT_REGISTRATION && ev->u.reg.kind >= PROC_REG_DEAL_REGISTERED &&
        ev->u.reg.kind <= PROC_REG_DEAL_REJECTED)
        return ev->u.reg.deal_id;
    if (ev->type == PROC_EVENT_SALE && ev->u.sale.has_deal_id && ev->u.sale.deal_id[0])
        return ev->u.sale.deal_id;
    return NULL;
}

static inline fx_stored_deal *fx_deal_slot(fx_world *w, const char *deal_id)
{
    for (int i = 0; i < w->n_deals; i++)
        if (strcmp(w->deals[i].id, deal_id) == 0)
            return &w->deals[i];
    assert_true(w->n_deals < FX_MAX_DEALS);
    fx_stored_deal *d = &w->deals[w->n_deals++];
    snprintf(d->id, sizeof d->id, "%s", deal_id);
    d->blob = NULL;
    d->len = 0;
    return d;
}

/* The stored claim of a deal, decoded (status NONE when nothing is stored). */
static inline proc_deal fx_deal(fx_world *w, const char *deal_id)
{
    fx_stored_deal *s = fx_deal_slot(w, deal_id);
    proc_deal d;
    proc_deal_init(&d, deal_id);
    if (s->blob)
        assert_int_equal(proc_deal_decode(&d, s->blob, s->len), 0);
    return d;
}

/* Applies w->ev to partner `pt` (w->pt or w->pt2) the way the worker does: load the claim of the deal the
 * event names, apply, store the claim back when deal_changed. Also checks the contract:
 * the claim changes only with deal_changed, and never for a dead letter or a duplicate.
 * The call itself must succeed (rc 0). */
static inline proc_outputs *fx_apply_pt(fx_world *w, proc_partner *pt)
{
    if (pt == &w->pt2)      /* the builders address PARTNER; redirect the event to PARTNER2 */
        snprintf(w->ev.partner_id, sizeof w->ev.partner_id, "%s", PARTNER2);
    const char *deal_id = fx_deal_named(&w->ev);
    proc_deal deal;
    fx_stored_deal *slot = NULL;
    if (deal_id) {
        slot = fx_deal_slot(w, deal_id);
        deal = fx_deal(w, deal_id);
    }
    assert_int_equal(proc_apply(&w->cat, pt, &w->ev, deal_id ? &deal : NULL, &w->out), 0);
    if (!deal_id) {
        assert_false(w->out.deal_changed);
        return &w->out;
    }
    uint8_t *blob = NULL;
    size_t len = 0;
    assert_int_equal(proc_deal_encode(&deal, &blob, &len), 0);
    bool same = slot->blob ? len == slot->len && memcmp(blob, slot->blob, len) == 0
                           : deal.status == PROC_DEAL_NONE && !deal.won;
    if (w->out.deal_changed) {
        free(slot->blob);
        slot->blob = blob;
        slot->len = len;
    } else {
        free(blob);
    }
    if (!same && !w->out.deal_changed)
        fail_msg("deal %s changed without deal_changed", deal_id);
    if (w->out.reason != PROC_DLQ_NONE || w->out.duplicate)
        assert_false(w->out.deal_changed);
    assert_string_equal(deal.deal_id, deal_id);
    return &w->out;
}

static inline proc_outputs *fx_apply(fx_world *w)
{
    return fx_apply_pt(w, &w->pt);
}

/* Applies w->ev to `pt` and asserts it was applied (not dead-lettered, not a duplicate). */
static inline proc_outputs *fx_applied_pt(fx_world *w, proc_partner *pt)
{
    proc_outputs *o = fx_apply_pt(w, pt);
    if (o->reason != PROC_DLQ_NONE)
        fail_msg("event %s dead-lettered as %s: %s", w->ev.event_id,
                 proc_dlq_reason_name(o->reason), o->detail);
    assert_false(o->duplicate);
    assert_true(o->changed);
    return o;
}

static inline proc_outputs *fx_applied(fx_world *w)
{
    return fx_applied_pt(w, &w->pt);
}

/* ---- state ------------------------------------------------------------------------- */

typedef struct {
    uint8_t *buf;
    size_t len;
} fx_blob;

static inline void fx_blob_add(fx_blob *b, const void *p, size_t n)
{
    uint8_t *g = realloc(b->buf, b->len + n + 1);
    assert_non_null(g);
    b->buf = g;
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

static inline void fx_add_entries(fx_blob *b, const proc_partner *pt, proc_entry_set set,
                                  int n, uint64_t (*hash_of)(const proc_partner *, int))
{
    static uint8_t val[PROC_ENTRY_MAX];
    char field[PROC_FIELD_CAP];
    for (int i = 0; i < n; i++) {
        uint64_t h = hash_of(pt, i);
        size_t len = proc_partner_entry(pt, set, h, val, sizeof val);
        assert_true(len > 0);
        proc_partner_field(set, h, field);
        uint8_t l2[2] = {(uint8_t)(len >> 8), (uint8_t)len};
        fx_blob_add(b, field, PROC_FIELD_CAP - 1);
        fx_blob_add(b, l2, 2);
        fx_blob_add(b, val, len);
    }
}
static inline uint64_t fx_seen_hash(const proc_partner *pt, int i) { return pt->seen[i].hash; }
static inline uint64_t fx_resp_hash(const proc_partner *pt, int i) { return pt->responses[i].hash; }
static inline uint64_t fx_sale_hash(const proc_partner *pt, int i) { return pt->open[i].hash; }
static inline uint64_t fx_held_hash(const proc_partner *pt, int i) { return pt->held[i].hash; }

/* The whole stored state of a partner as one byte string, for comparisons: the core blob
 * and then every entry (field, 2-byte length, value) as the worker writes them, in hash
 * order (the partner's sets are settled first: that changes their order only). */
static inline fx_blob fx_encode(proc_partner *pt)
{
    proc_partner_settle(pt);
    fx_blob b = {NULL, 0};
    uint8_t *core = NULL;
    size_t len = 0;
    assert_int_equal(proc_partner_encode(pt, &core, &len), 0);
    fx_blob_add(&b, core, len);
    free(core);
    fx_add_entries(&b, pt, PROC_SET_SEEN, pt->n_seen, fx_seen_hash);
    fx_add_entries(&b, pt, PROC_SET_RESPONSES, pt->n_responses, fx_resp_hash);
    fx_add_entries(&b, pt, PROC_SET_SALES, pt->n_open, fx_sale_hash);
    fx_add_entries(&b, pt, PROC_SET_HELD, pt->n_held, fx_held_hash);
    return b;
}

/* Stores `src` as the worker would (core blob, every entry) and loads it into `dst` as
 * the worker would (decode, load_entry each, load_done), then loads the records of the
 * sales `src` has loaded, in its order, as the worker does before a return.
 * @returns 0 or -1. */
static inline int fx_store_load(const proc_partner *src, proc_partner *dst)
{
    static uint8_t val[PROC_ENTRY_MAX];
    char field[PROC_FIELD_CAP];
    uint8_t *core = NULL;
    size_t len = 0;
    assert_int_equal(proc_partner_encode(src, &core, &len), 0);
    int rc = proc_partner_decode(dst, core, len);
    free(core);
    struct { proc_entry_set set; int n; uint64_t (*hash_of)(const proc_partner *, int); } sets[] = {
        {PROC_SET_SEEN, src->n_seen, fx_seen_hash},
        {PROC_SET_RESPONSES, src->n_responses, fx_resp_hash},
        {PROC_SET_SALES, src->n_open, fx_sale_hash},
        {PROC_SET_HELD, src->n_held, fx_held_hash}};
    for (int s = 0; s < 4 && rc == 0; s++)
        for (int i = 0; i < sets[s].n && rc == 0; i++) {
            uint64_t h = sets[s].hash_of(src, i);
            size_t n = proc_partner_entry(src, sets[s].set, h, val, sizeof val);
            proc_partner_field(sets[s].set, h, field);
            rc = proc_partner_load_entry(dst, field, strlen(field), val, n);
        }
    rc = rc ? rc : proc_partner_load_done(dst);
    for (int i = 0; i < src->n_sales && rc == 0; i++) {
        size_t n = proc_partner_entry(src, PROC_SET_SALES, src->sales[i].hash, val, sizeof val);
        rc = proc_partner_load_sale(dst, src->sales[i].hash, val, n);
    }
    return rc;
}

/* Applies w->ev to `pt` and asserts it is dead-lettered for `reason`, with nothing
 * produced, the partner blob byte-identical and the event id not remembered. (The deal's
 * side is checked by fx_apply_pt.) */
static inline proc_outputs *fx_dead_pt(fx_world *w, proc_partner *pt, proc_dlq_reason reason)
{
    fx_blob before = fx_encode(pt);
    proc_outputs *o = fx_apply_pt(w, pt);
    fx_blob after = fx_encode(pt);
    bool same = before.len == after.len && memcmp(before.buf, after.buf, before.len) == 0;
    free(before.buf);
    free(after.buf);
    if (o->reason != reason)
        fail_msg("event %s: reason %s (%s), expected %s", w->ev.event_id,
                 proc_dlq_reason_name(o->reason), o->detail, proc_dlq_reason_name(reason));
    assert_true(same);
    assert_false(o->changed);
    assert_false(o->duplicate);
    assert_true(o->detail[0] != '\0');
    assert_int_equal(o->n_payouts + o->n_alerts + o->n_kpi + o->n_rows, 0);
    return o;
}

static inline proc_outputs *fx_dead(fx_world *w, proc_dlq_reason reason)
{
    return fx_dead_pt(w, &w->pt, reason);
}

static inline void fx_enrol_pt(fx_world *w, proc_partner *pt)
{
    fx_enrol_ev(w, "enrol-1", PROGRAM, "DACH");
    proc_outputs *o = fx_applied_pt(w, pt);
    assert_int_equal(o->n_payouts, 0);
    assert_int_equal(o->n_alerts, 0);
    assert_int_equal(o->n_kpi, 0);
}

static inline void fx_enrol(fx_world *w)
{
    fx_enrol_pt(w, &w->pt);
}

static inline proc_outputs *fx_sale(fx_world *w, const char *event_id, int64_t at,
                                    int64_t amount, const char *sku, int32_t quantity)
{
    fx_sale_ev(w, event_id, at, amount, "EUR", sku, quantity);
    return fx_applied(w);
}

static inline proc_outputs *fx_cert(fx_world *w, const char *event_id, int64_t at,
                                    const char *cert_id)
{
    fx_cert_ev(w, event_id, at, cert_id);
    return fx_applied(w);
}

/* A SALE naming a deal. */
static inline proc_event *fx_deal_sale_ev(fx_world *w, const char *event_id, int64_t at,
                                          int64_t amount, const char *deal_id)
{
    proc_event *ev = fx_sale_ev(w, event_id, at, amount, "EUR", "SW-1", 1);
    ev->u.sale.has_deal_id = true;
    snprintf(ev->u.sale.deal_id, sizeof ev->u.sale.deal_id, "%s", deal_id);
    return ev;
}

static inline proc_event *fx_return_ev(fx_world *w, const char *event_id, int64_t at,
                                       int64_t amount, const char *currency,
                                       const char *original)
{
    proc_event *ev = fx_sale_ev(w, event_id, at, amount, currency, "SW-1", 1);
    ev->u.sale.kind = PROC_SALE_RETURN;
    ev->u.sale.has_original_event_id = true;
    snprintf(ev->u.sale.original_event_id, sizeof ev->u.sale.original_event_id, "%s", original);
    return ev;
}

static inline proc_outputs *fx_return(fx_world *w, const char *event_id, int64_t at,
                                      int64_t amount, const char *original)
{
    fx_return_ev(w, event_id, at, amount, "EUR", original);
    return fx_applied(w);
}

/* A decision on the held payout `payout_id` of PARTNER, by "cfo-1". */
static inline proc_event *fx_decision_ev(fx_world *w, const char *event_id, int64_t at,
                                         const char *payout_id, proc_decision decision)
{
    proc_event *ev = &w->ev;
    memset(ev, 0, sizeof *ev);
    ev->type = PROC_EVENT_APPROVAL;
    snprintf(ev->event_id, sizeof ev->event_id, "%s", event_id);
    snprintf(ev->partner_id, sizeof ev->partner_id, "%s", PARTNER);
    ev->occurred_at = at;
    snprintf(ev->u.approval.payout_id, sizeof ev->u.approval.payout_id, "%s", payout_id);
    ev->u.approval.decision = decision;
    snprintf(ev->u.approval.approver_id, sizeof ev->u.approval.approver_id, "cfo-1");
    return ev;
}

static inline proc_outputs *fx_decide(fx_world *w, const char *event_id, int64_t at,
                                      const char *payout_id, proc_decision decision)
{
    fx_decision_ev(w, event_id, at, payout_id, decision);
    return fx_applied(w);
}

/* DEAL_REGISTERED / DEAL_APPROVED / DEAL_REJECTED. */
static inline proc_event *fx_deal_ev(fx_world *w, const char *event_id, int64_t at,
                                     proc_reg_kind kind, const char *deal_id)
{
    proc_event *ev = fx_reg_ev(w, event_id, at, kind);
    ev->u.reg.has_deal_id = true;
    snprintf(ev->u.reg.deal_id, sizeof ev->u.reg.deal_id, "%s", deal_id);
    return ev;
}

static inline proc_event *fx_survey_ev(fx_world *w, const char *event_id, int64_t at,
                                       proc_survey_kind kind, const char *survey_id,
                                       const char *respondent_id)
{
    proc_event *ev = &w->ev;
    memset(ev, 0, sizeof *ev);
    ev->type = PROC_EVENT_SURVEY;
    snprintf(ev->event_id, sizeof ev->event_id, "%s", event_id);
    snprintf(ev->partner_id, sizeof ev->partner_id, "%s", PARTNER);
    ev->occurred_at = at;
    ev->u.survey.kind = kind;
    snprintf(ev->u.survey.survey_id, sizeof ev->u.survey.survey_id, "%s", survey_id);
    snprintf(ev->u.survey.respondent_id, sizeof ev->u.survey.respondent_id, "%s", respondent_id);
    return ev;
}

static inline proc_event *fx_enps_ev(fx_world *w, const char *event_id, int64_t at,
                                     const char *survey_id, const char *respondent_id,
                                     int32_t score)
{
    proc_event *ev = fx_survey_ev(w, event_id, at, PROC_SURVEY_ENPS, survey_id, respondent_id);
    ev->u.survey.has_score = true;
    ev->u.survey.score = score;
    return ev;
}

/* Appends a PULSE answer to w->ev. */
static inline void fx_pulse_answer(fx_world *w, const char *question_id, int32_t score)
{
    proc_survey *s = &w->ev.u.survey;
    assert_true(s->n_answers < PROC_PULSE_MAX_ANSWERS);
    snprintf(s->answers[s->n_answers].question_id, PROC_STR_CAP, "%s", question_id);
    s->answers[s->n_answers++].score = score;
}

/* ---- outputs ----------------------------------------------------------------------- */

static inline int fx_n_payouts(const proc_outputs *o, proc_payout_kind kind)
{
    int n = 0;
    for (int i = 0; i < o->n_payouts; i++)
        n += o->payouts[i].kind == kind;
    return n;
}

static inline int fx_n_alerts(const proc_outputs *o, proc_alert_kind kind)
{
    int n = 0;
    for (int i = 0; i < o->n_alerts; i++)
        n += o->alerts[i].kind == kind;
    return n;
}

/* @returns the only payout of this kind (and rule_id, unless NULL); fails if there is
 * not exactly one. */
static inline const proc_payout *fx_payout(const proc_outputs *o, proc_payout_kind kind,
                                           const char *rule_id)
{
    const proc_payout *found = NULL;
    for (int i = 0; i < o->n_payouts; i++) {
        const proc_payout *p = &o->payouts[i];
        if (p->kind != kind || (rule_id && strcmp(p->rule_id, rule_id) != 0))
            continue;
        if (found)
            fail_msg("two %s payouts", proc_payout_kind_name(kind));
        found = p;
    }
    if (!found)
        fail_msg("no %s payout (rule %s)", proc_payout_kind_name(kind), rule_id ? rule_id : "*");
    return found;
}

static inline const proc_alert *fx_alert(const proc_outputs *o, proc_alert_kind kind)
{
    const proc_alert *found = NULL;
    for (int i = 0; i < o->n_alerts; i++) {
        if (o->alerts[i].kind != kind)
            continue;
        if (found)
            fail_msg("two %s alerts", proc_alert_kind_name(kind));
        found = &o->alerts[i];
    }
    if (!found)
        fail_msg("no %s alert", proc_alert_kind_name(kind));
    return found;
}

/* @returns the attribute's value, or "" when the alert has none of that name. */
static inline const char *fx_attr(const proc_alert *a, const char *key)
{
    for (int i = 0; i < a->n_attrs; i++)
        if (strcmp(a->attrs[i].key, key) == 0)
            return a->attrs[i].value;
    return "";
}

/* Asserts the one payout of `kind` (and rule) has these values. */
static inline void fx_expect_payout(const proc_outputs *o, proc_payout_kind kind,
                                    const char *rule_id, int64_t amount, const char *tier,
                                    proc_payout_status status, const char *period)
{
    const proc_payout *p = fx_payout(o, kind, rule_id);
    assert_i64(p->amount_minor, amount);
    assert_string_equal(p->tier, tier);
    assert_int_equal(p->status, status);
    assert_string_equal(p->period, period);
}

/* Sum of the cash payouts (cap kinds) in o. */
static inline int64_t fx_cash(const proc_outputs *o)
{
    int64_t sum = 0;
    for (int i = 0; i < o->n_payouts; i++)
        if (o->payouts[i].kind != PROC_PAYOUT_MDF_ACCRUAL && o->payouts[i].kind != PROC_PAYOUT_CLAWBACK)
            sum += o->payouts[i].amount_minor;
    return sum;
}

/* The metric delta of (period, field) in o; 0 when there is none. Fails when the same
 * (period, field) appears twice (deltas must be merged). */
static inline int64_t fx_kpi(const proc_outputs *o, int32_t period_key, const char *field)
{
    int64_t v = 0;
    int seen = 0;
    for (int i = 0; i < o->n_kpi; i++)
        if (o->kpi[i].period_key == period_key && strcmp(o->kpi[i].field, field) == 0) {
            v = o->kpi[i].delta;
            seen++;
        }
    if (seen > 1)
        fail_msg("metric %s of period %d appears %d times", field, (int)period_key, seen);
    return v;
}

typedef struct {
    int32_t key;
    const char *field;
    int64_t delta;
} fx_kpi_row;

/* Asserts o holds exactly these metric deltas (any order), no more. */
static inline void fx_expect_kpis(const proc_outputs *o, const fx_kpi_row *rows, int n)
{
    for (int i = 0; i < n; i++) {
        int64_t got = fx_kpi(o, rows[i].key, rows[i].field);
        if (got != rows[i].delta)
            fail_msg("metric %s of period %d is %lld, expected %lld", rows[i].field,
                     (int)rows[i].key, (long long)got, (long long)rows[i].delta);
    }
    for (int i = 0; i < o->n_kpi; i++) {
        bool expected = false;
        for (int k = 0; k < n; k++)
            expected |= o->kpi[i].period_key == rows[k].key &&
                        strcmp(o->kpi[i].field, rows[k].field) == 0;
        if (!expected)
            fail_msg("unexpected metric %s of period %d: %lld", o->kpi[i].field,
                     (int)o->kpi[i].period_key, (long long)o->kpi[i].delta);
    }
}

#define FX_EXPECT_KPIS(o, ...)                                                         \
    do {                                                                               \
        static const fx_kpi_row rows_[] = {__VA_ARGS__};                               \
        fx_expect_kpis((o), rows_, (int)(sizeof rows_ / sizeof rows_[0]));            \
    } while (0)


static inline bool fx_blob_equal(fx_blob a, fx_blob b)
{
    return a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0;
}

/* Period state of the period containing `at` in the example program (quarters). */
static inline const proc_period_state *fx_period_at(const fx_world *w, int64_t at)
{
    const proc_period_state *ps =
        proc_partner_period(&w->pt, proc_period_key(w->progs[0].period, at));
    assert_non_null(ps);
    return ps;
}

#endif
