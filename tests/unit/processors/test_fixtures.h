/*
 * test_fixtures.h — shared fixture of the processors/ unit tests: the example program of
 * SPEC §5, a partner, event builders and output finders.
 *
 * Expected amounts in the tests are worked out by hand from the SPEC, never with the
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

#define PARTNER "p-1"
#define PROGRAM "emea-resellers"

/* Signed 64-bit equality with a readable message (cmocka 1.1 prints unsigned hex). */
#define assert_i64(actual, expected)                                                   \
    do {                                                                               \
        long long a_ = (long long)(actual), e_ = (long long)(expected);                \
        if (a_ != e_)                                                                  \
            fail_msg("%s is %lld, expected %lld", #actual, a_, e_);                    \
    } while (0)

typedef struct {
    proc_program progs[2];           /* [0] the SPEC §5 example, [1] "us-agents" */
    proc_catalog cat;
    proc_partner pt;
    proc_outputs out;
    proc_event ev;
} fx_world;

/* The program of SPEC §5, field by field. */
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
    *state = w;
    return 0;
}

static inline int fx_teardown(void **state)
{
    fx_world *w = *state;
    proc_partner_clear(&w->pt);
    proc_outputs_free(&w->out);
    free(w);
    return 0;
}

#define fx_test(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

/* Back to a fresh, not-enrolled partner under the unchanged example programs (for tables
 * whose rows each need a clean start). */
static inline void fx_reset(fx_world *w)
{
    proc_partner_clear(&w->pt);
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

/* Applies w->ev; the call itself must succeed (rc 0). */
static inline proc_outputs *fx_apply(fx_world *w)
{
    assert_int_equal(proc_apply(&w->cat, &w->pt, &w->ev, &w->out), 0);
    return &w->out;
}

/* Applies w->ev and asserts it was applied (not dead-lettered, not a duplicate). */
static inline proc_outputs *fx_applied(fx_world *w)
{
    proc_outputs *o = fx_apply(w);
    if (o->reason != PROC_DLQ_NONE)
        fail_msg("event %s dead-lettered as %s: %s", w->ev.event_id,
                 proc_dlq_reason_name(o->reason), o->detail);
    assert_false(o->duplicate);
    assert_true(o->changed);
    return o;
}

static inline void fx_enrol(fx_world *w)
{
    fx_enrol_ev(w, "enrol-1", PROGRAM, "DACH");
    proc_outputs *o = fx_applied(w);
    assert_int_equal(o->n_payouts, 0);
    assert_int_equal(o->n_alerts, 0);
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

/* ---- state ------------------------------------------------------------------------- */

typedef struct {
    uint8_t *buf;
    size_t len;
} fx_blob;

static inline fx_blob fx_encode(const proc_partner *pt)
{
    fx_blob b = {NULL, 0};
    assert_int_equal(proc_partner_encode(pt, &b.buf, &b.len), 0);
    assert_non_null(b.buf);
    return b;
}

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
