/*
 * test_ctl_gen.c — the generated event stream of `incentivectl produce --generate`
 * (consumer/cons_ctl_gen.c): reproducible to the byte, phases that add up to the whole,
 * enrolments before sales, sales in time order, the promised bad records, and the shape
 * (a few partners dominate, amounts and currencies in range). For the full stream (deals,
 * returns, surveys, conflicts, scenarios): every event kind and bad record in its phase,
 * one topic per phase, and a small replay of the rules the stream's promises rest on
 * (watermarks and LATE_EVENT, returns, deal claims, survey thresholds) — including that
 * no deal changed in a phase is named there by two partners, which is what makes the
 * worker's outputs independent of how Kafka interleaves partitions.
 *
 * The programs are built in code, so the test needs no program file and no YAML.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cons_ctl_gen.h"

#define DAY_MS 86400000LL
#define T_2026_10_01 1790812800000LL   /* `date -u -d 2026-10-01 +%s` × 1000 */
#define MAX_RECORDS 8000

typedef struct {
    proc_program progs[2];
    proc_program full[2];      /* like deploy/programs/example.yaml */
    cons_ctl_record *recs;     /* MAX_RECORDS records of one run */
    int n;
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->recs = calloc(MAX_RECORDS, sizeof *w->recs);
    assert_non_null(w->recs);

    proc_program *eu = &w->progs[0], *na = &w->progs[1];
    proc_program_defaults(eu);
    snprintf(eu->id, sizeof eu->id, "emea-resellers");
    snprintf(eu->currency, sizeof eu->currency, "EUR");
    eu->n_fx = 2;
    snprintf(eu->fx[0].currency, sizeof eu->fx[0].currency, "USD");
    snprintf(eu->fx[1].currency, sizeof eu->fx[1].currency, "GBP");
    eu->n_spiffs = 1;
    snprintf(eu->spiffs[0].sku_prefix, sizeof eu->spiffs[0].sku_prefix, "FW-");

    proc_program_defaults(na);
    snprintf(na->id, sizeof na->id, "na-distributors");
    snprintf(na->currency, sizeof na->currency, "USD");
    na->n_fx = 1;
    snprintf(na->fx[0].currency, sizeof na->fx[0].currency, "CAD");
    na->n_spiffs = 1;                 /* no catalogue SKU has it: the generator adds one */
    snprintf(na->spiffs[0].sku_prefix, sizeof na->spiffs[0].sku_prefix, "ZZ-");

    /* The two programs of the example program file, as far as the generator reads them. */
    static const struct { const char *name; int64_t min; int certs; int bp; } eu_tiers[] = {
        {"Registered", 0, 0, 100}, {"Silver", 5000000, 0, 200},
        {"Gold", 25000000, 1, 300}, {"Platinum", 100000000, 2, 400}};
    static const struct { const char *name; int64_t min; int certs; int bp; } na_tiers[] = {
        {"Authorized", 0, 0, 150}, {"Preferred", 2000000, 0, 250}, {"Elite", 10000000, 1, 350}};
    eu = &w->full[0];
    *eu = w->progs[0];
    eu->n_tiers = 4;
    for (int i = 0; i < 4; i++) {
        snprintf(eu->tiers[i].name, sizeof eu->tiers[i].name, "%s", eu_tiers[i].name);
        eu->tiers[i].min_revenue_minor = eu_tiers[i].min;
        eu->tiers[i].min_certifications = eu_tiers[i].certs;
        eu->tiers[i].rebate_bp = eu_tiers[i].bp;
    }
    eu->cap_per_period_minor = 20000000;
    eu->approval_threshold_minor = 1000000;
    na = &w->full[1];
    *na = w->progs[1];
    na->period = PROC_PERIOD_MONTH;
    na->allowed_lateness_days = 3;
    na->rebate_mode = PROC_REBATE_MARGINAL;
    na->n_tiers = 3;
    for (int i = 0; i < 3; i++) {
        snprintf(na->tiers[i].name, sizeof na->tiers[i].name, "%s", na_tiers[i].name);
        na->tiers[i].min_revenue_minor = na_tiers[i].min;
        na->tiers[i].min_certifications = na_tiers[i].certs;
        na->tiers[i].rebate_bp = na_tiers[i].bp;
    }
    na->deal_validity_days = 60;
    na->approval_threshold_minor = 500000;
    na->return_window_days = 30;
    na->nps_threshold = 10;
    na->survey_min_responses = 3;
    na->pulse_threshold_e8 = 300000000;
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    free(w->recs);
    free(w);
    return 0;
}

static cons_ctl_gen_params params(world *w, uint64_t seed, int partners, int sales)
{
    cons_ctl_gen_params p = {
        .seed = seed, .n_partners = partners, .n_sales = sales, .start_ms = T_2026_10_01,
        .days = 92, .cert_pct = 0, .n_bad = -1, .phase = CONS_CTL_PHASE_ALL,
        .programs = w->progs, .n_programs = 2,
    };
    return p;
}

/* Runs a generator to its end into w->recs (appending from w->n). */
static void run(world *w, const cons_ctl_gen_params *p)
{
    char err[256];
    cons_ctl_gen *g = cons_ctl_gen_new(p, err, sizeof err);
    if (g == NULL)
        fail_msg("%s", err);
    while (w->n < MAX_RECORDS && cons_ctl_gen_next(g, &w->recs[w->n]) == 1)
        w->n++;
    assert_true(w->n < MAX_RECORDS);
    cons_ctl_gen_destroy(g);
}

static bool same_record(const cons_ctl_record *a, const cons_ctl_record *b)
{
    if (a->topic != b->topic || a->has_key != b->has_key || strcmp(a->key, b->key) != 0 ||
        a->partition != b->partition || a->is_raw != b->is_raw || a->bad != b->bad)
        return false;
    if (a->is_raw)
        return a->raw_len == b->raw_len && memcmp(a->raw, b->raw, a->raw_len) == 0;
    /* Records are zeroed before they are filled, so the bytes compare exactly. */
    return memcmp(&a->ev, &b->ev, sizeof a->ev) == 0;
}

static void test_same_seed_same_stream(void **state)
{
    world *w = *state;
    cons_ctl_gen_params p = params(w, 42, 40, 3000);
    p.cert_pct = 30;
    run(w, &p);
    int n = w->n;
    cons_ctl_record *first = malloc((size_t)n * sizeof *first);
    assert_non_null(first);
    memcpy(first, w->recs, (size_t)n * sizeof *first);

    w->n = 0;
    run(w, &p);
    assert_int_equal(w->n, n);
    for (int i = 0; i < n; i++)
        if (!same_record(&first[i], &w->recs[i]))
            fail_msg("record %d differs between two runs of seed 42", i);

    w->n = 0;
    p.seed = 43;
    run(w, &p);
    int differing = 0;
    for (int i = 0; i < n && i < w->n; i++)
        differing += !same_record(&first[i], &w->recs[i]);
    assert_true(differing > n / 2);
    free(first);
}

static void test_phases_add_up_to_all(void **state)
{
    world *w = *state;
    cons_ctl_gen_params p = params(w, 7, 25, 500);
    p.cert_pct = 50;
    run(w, &p);
    int n_all = w->n;
    cons_ctl_record *all = malloc((size_t)n_all * sizeof *all);
    assert_non_null(all);
    memcpy(all, w->recs, (size_t)n_all * sizeof *all);

    w->n = 0;
    p.phase = CONS_CTL_PHASE_ENROL;
    run(w, &p);
    int n_enrol = w->n;
    p.phase = CONS_CTL_PHASE_SALES;
    run(w, &p);
    assert_int_equal(w->n, n_all);
    for (int i = 0; i < n_all; i++)
        if (!same_record(&all[i], &w->recs[i]))
            fail_msg("record %d of enrol+sales differs from phase all", i);
    for (int i = 0; i < n_enrol; i++)
        assert_int_equal(w->recs[i].topic, PROC_EVENT_REGISTRATION);
    for (int i = n_enrol; i < n_all; i++)
        assert_int_equal(w->recs[i].topic, PROC_EVENT_SALE);
    assert_string_equal(w->recs[0].ev.event_id, "g7-0");
    assert_string_equal(w->recs[0].ev.partner_id, "g7-p00000");
    /* Without deals, returns, responses and scenarios the last two phases are empty. */
    for (int phase = CONS_CTL_PHASE_SURVEYS; phase <= CONS_CTL_PHASE_CONFLICTS; phase++) {
        w->n = 0;
        p.phase = (cons_ctl_phase)phase;
        run(w, &p);
        assert_int_equal(w->n, 0);
    }
    free(all);
}

static void test_enrolments_cover_every_partner(void **state)
{
    world *w = *state;
    cons_ctl_gen_params p = params(w, 3, 30, 0);
    p.cert_pct = 100;
    run(w, &p);

    int certs = 0;
    for (int i = 0; i < 30; i++) {
        const proc_event *ev = &w->recs[i].ev;
        char id[32];
        snprintf(id, sizeof id, "g3-p%05d", i);
        assert_int_equal(ev->type, PROC_EVENT_REGISTRATION);
        assert_int_equal(ev->u.reg.kind, PROC_REG_PARTNER_ENROLLED);
        assert_string_equal(ev->partner_id, id);
        assert_string_equal(w->recs[i].key, id);
        assert_true(ev->occurred_at < T_2026_10_01);
        /* Round-robin over the programs, regions of the program's continent. */
        assert_string_equal(ev->u.reg.program_id, w->progs[i % 2].id);
        if (i % 2 == 0)
            assert_true(strncmp(ev->u.reg.region, "EMEA-", 5) == 0 ||
                        strcmp(ev->u.reg.region, "DACH") == 0);
        else
            assert_true(strncmp(ev->u.reg.region, "NA-", 3) == 0);
    }
    for (int i = 30; i < w->n; i++) {
        assert_int_equal(w->recs[i].ev.u.reg.kind, PROC_REG_CERTIFICATION_COMPLETED);
        assert_true(w->recs[i].ev.u.reg.has_certification_id);
        assert_true(w->recs[i].ev.occurred_at >= T_2026_10_01);
        certs++;
    }
    assert_true(certs >= 30 && certs <= 60);   /* everyone certified, a third twice */
}

static void test_sales_in_time_order_and_in_range(void **state)
{
    world *w = *state;
    cons_ctl_gen_params p = params(w, 11, 100, 6000);
    p.n_bad = 0;
    p.phase = CONS_CTL_PHASE_SALES;
    run(w, &p);
    assert_int_equal(w->n, 6000);

    int64_t prev = T_2026_10_01, end = T_2026_10_01 + 92 * DAY_MS;
    int foreign = 0, spiff_zz = 0;
    for (int i = 0; i < w->n; i++) {
        const proc_event *ev = &w->recs[i].ev;
        const proc_sale *s = &ev->u.sale;
        int partner = atoi(strstr(ev->partner_id, "-p") + 2);
        const proc_program *prog = &w->progs[partner % 2];
        assert_int_equal(ev->type, PROC_EVENT_SALE);
        assert_int_equal(s->kind, PROC_SALE_SALE);
        assert_true(ev->occurred_at >= prev && ev->occurred_at < end);
        prev = ev->occurred_at;
        assert_true(s->amount_minor >= 5000 && s->amount_minor <= 21000000);
        assert_true(s->quantity >= 1 && s->quantity <= 20);
        if (strcmp(s->currency, prog->currency) != 0) {
            bool fx = false;
            for (int k = 0; k < prog->n_fx; k++)
                fx = fx || strcmp(s->currency, prog->fx[k].currency) == 0;
            assert_true(fx);
            foreign++;
        }
        spiff_zz += strncmp(s->sku, "ZZ-", 3) == 0;
    }
    assert_true(foreign > 600 && foreign < 1200);   /* about 15 % */
    assert_true(spiff_zz > 0);
}

static int cmp_desc(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x < y) - (x > y);
}

static void test_few_partners_make_most_revenue(void **state)
{
    world *w = *state;
    cons_ctl_gen_params p = params(w, 5, 100, 6000);
    p.n_bad = 0;
    p.phase = CONS_CTL_PHASE_SALES;
    run(w, &p);

    long long revenue[100] = {0}, total = 0, top10 = 0;
    for (int i = 0; i < w->n; i++) {
        int partner = atoi(strstr(w->recs[i].ev.partner_id, "-p") + 2);
        revenue[partner] += w->recs[i].ev.u.sale.amount_minor;
        total += w->recs[i].ev.u.sale.amount_minor;
    }
    qsort(revenue, 100, sizeof revenue[0], cmp_desc);
    for (int i = 0; i < 10; i++)
        top10 += revenue[i];
    /* Zipf(1) over 100 partners: the top 10 % make about half of the revenue. */
    assert_true(top10 * 100 / total >= 40);
    assert_true(revenue[99] * 20 < revenue[0]);
}

static void test_bad_records(void **state)
{
    world *w = *state;
    cons_ctl_gen_params p = params(w, 9, 20, 1000);
    run(w, &p);

    int seen[CONS_CTL_BAD_COUNT] = {0};
    const cons_ctl_record *prev_sale = NULL;
    for (int i = 0; i < w->n; i++) {
        const cons_ctl_record *r = &w->recs[i];
        seen[r->bad]++;
        switch (r->bad) {
        case CONS_CTL_BAD_INVALID_EVENT:
            assert_int_equal(r->ev.u.sale.amount_minor, 0);
            break;
        case CONS_CTL_BAD_UNSUPPORTED_CURRENCY:
            assert_string_equal(r->ev.u.sale.currency, "XXX");
            break;
        case CONS_CTL_BAD_NOT_ENROLLED:
            assert_non_null(strstr(r->ev.partner_id, "-ghost"));
            assert_string_equal(r->key, r->ev.partner_id);
            break;
        case CONS_CTL_BAD_DUPLICATE:
            assert_non_null(prev_sale);
            assert_true(memcmp(&r->ev, &prev_sale->ev, sizeof r->ev) == 0);
            break;
        case CONS_CTL_BAD_DECODE_ERROR:
            assert_true(r->is_raw);
            assert_true(r->raw_len > 5);
            assert_int_equal(r->raw[0], 0);
            assert_int_equal(r->raw[4], 1);   /* framed as a SaleEvent, body truncated */
            break;
        default:
            if (r->topic == PROC_EVENT_SALE)
                prev_sale = r;
            break;
        }
        if (r->bad != CONS_CTL_BAD_NONE)
            assert_int_equal(r->topic, PROC_EVENT_SALE);
    }
    /* 1000 sales: the default is 5 bad records, one of each kind; the plain stream has
     * none of the scripted kinds. */
    assert_int_equal(cons_ctl_gen_default_bad(1000), 5);
    for (int b = 1; b < CONS_CTL_BAD_COUNT; b++)
        assert_int_equal(seen[b], b <= CONS_CTL_BAD_CYCLE ? 1 : 0);
    assert_int_equal(w->n, 20 + 1000 + 5);

    /* Event ids are unique except for the resent duplicate. */
    int dup_ids = 0;
    for (int i = 0; i < w->n; i++)
        for (int j = i + 1; !w->recs[i].is_raw && j < w->n; j++)
            dup_ids += !w->recs[j].is_raw &&
                       strcmp(w->recs[i].ev.event_id, w->recs[j].ev.event_id) == 0;
    assert_int_equal(dup_ids, 1);
}

static void test_default_bad_counts_and_limits(void **state)
{
    world *w = *state;
    char err[256];
    assert_int_equal(cons_ctl_gen_default_bad(0), 0);
    assert_int_equal(cons_ctl_gen_default_bad(49), 0);
    assert_int_equal(cons_ctl_gen_default_bad(50), 5);
    assert_int_equal(cons_ctl_gen_default_bad(100000), 500);

    cons_ctl_gen_params p = params(w, 1, 0, 10);
    assert_null(cons_ctl_gen_new(&p, err, sizeof err));
    assert_non_null(strstr(err, "partners"));
    p = params(w, 1, 10, 10);
    p.days = 0;
    assert_null(cons_ctl_gen_new(&p, err, sizeof err));
    assert_non_null(strstr(err, "days"));
    p = params(w, 1, 10, 10);
    p.n_programs = 0;
    assert_null(cons_ctl_gen_new(&p, err, sizeof err));

    /* More bad records asked for than sales: capped, each still follows a sale. */
    p = params(w, 1, 3, 4);
    p.n_bad = 100;
    p.phase = CONS_CTL_PHASE_SALES;
    run(w, &p);
    assert_int_equal(w->n, 8);
    assert_int_equal(w->recs[0].bad, CONS_CTL_BAD_NONE);
}

/* ---- the full stream ------------------------------------------------------------- */

static cons_ctl_gen_params full_params(world *w, uint64_t seed, int partners, int sales)
{
    cons_ctl_gen_params p = params(w, seed, partners, sales);
    p.programs = w->full;
    p.cert_pct = 30;
    p.n_deals = -1;
    p.n_returns = -1;
    p.n_responses = -1;
    p.scenarios = true;
    return p;
}

static void test_full_same_seed_same_stream(void **state)
{
    world *w = *state;
    cons_ctl_gen_params p = full_params(w, 42, 40, 2500);
    run(w, &p);
    int n = w->n;
    cons_ctl_record *first = malloc((size_t)n * sizeof *first);
    assert_non_null(first);
    memcpy(first, w->recs, (size_t)n * sizeof *first);

    w->n = 0;
    run(w, &p);
    assert_int_equal(w->n, n);
    for (int i = 0; i < n; i++)
        if (!same_record(&first[i], &w->recs[i]))
            fail_msg("record %d differs between two runs of seed 42", i);
    free(first);
}

/* The four phases, produced one after the other, are the "all" stream; each phase is on
 * one topic, and records say which phase they belong to. */
static void test_full_phases_partition_all(void **state)
{
    world *w = *state;
    static const proc_event_type topic_of[] = {
        [CONS_CTL_PHASE_ENROL] = PROC_EVENT_REGISTRATION, [CONS_CTL_PHASE_SALES] = PROC_EVENT_SALE,
        [CONS_CTL_PHASE_SURVEYS] = PROC_EVENT_SURVEY,
        [CONS_CTL_PHASE_CONFLICTS] = PROC_EVENT_REGISTRATION,
    };
    cons_ctl_gen_params p = full_params(w, 7, 30, 2000);
    run(w, &p);
    int n_all = w->n;
    cons_ctl_record *all = malloc((size_t)n_all * sizeof *all);
    assert_non_null(all);
    memcpy(all, w->recs, (size_t)n_all * sizeof *all);

    w->n = 0;
    int start[CONS_CTL_PHASE_CONFLICTS + 2];
    for (int phase = CONS_CTL_PHASE_ENROL; phase <= CONS_CTL_PHASE_CONFLICTS; phase++) {
        start[phase] = w->n;
        p.phase = (cons_ctl_phase)phase;
        run(w, &p);
        assert_true(w->n > start[phase]);        /* no phase is empty */
        for (int i = start[phase]; i < w->n; i++) {
            assert_int_equal(w->recs[i].phase, phase);
            assert_int_equal(w->recs[i].topic, topic_of[phase]);
        }
    }
    assert_int_equal(w->n, n_all);
    for (int i = 0; i < n_all; i++)
        if (!same_record(&all[i], &w->recs[i]))
            fail_msg("record %d of the four phases differs from phase all", i);
    free(all);
}

/* -- a small replay of the rules the stream's promises rest on -- */

#define T_MAX_PARTNERS 128
#define T_MAX_DEALS 64
#define T_MAX_STATS 1024

typedef struct {
    char id[64];
    int prog;                  /* index into w->full */
    int64_t watermark;         /* 0: no period event yet */
    char certs[4][64];
    int n_certs;
} t_partner;

typedef struct {
    char event_id[64];
    int partner;
    int64_t amount, returned, t;
    char currency[8];
    int returns;
    bool deal_bonus;
} t_sale;

typedef struct {
    char id[64];
    int status;                /* 0 none, 1 registered, 2 approved, 3 rejected */
    int holder;
    int64_t approved_at;
    bool won;
    int phase_changed;         /* the last phase that changed it */
    int phase_holder_changed;  /* the last phase that gave it a new holder */
    int phase_foreign_sale;    /* the last phase with a sale of another partner naming it */
    int phase_partner[CONS_CTL_PHASE_CONFLICTS + 1];   /* who named it there (-1: nobody) */
    bool phase_many[CONS_CTL_PHASE_CONFLICTS + 1];     /* two partners named it there */
} t_deal;

typedef struct {
    int partner;
    int32_t key;
    char what[64];             /* survey_id + respondent, or a question */
    int64_t a, b, c;           /* promoters/detractors/responses, or sum/count */
    bool alerted;
} t_stat;

typedef struct {
    const proc_program *progs;
    t_partner partners[T_MAX_PARTNERS];
    int n_partners;
    t_sale *sales;
    int n_sales;
    t_deal deals[T_MAX_DEALS];
    int n_deals;
    t_stat answered[T_MAX_STATS], nps[T_MAX_STATS], pulse[T_MAX_STATS];
    int n_answered, n_nps, n_pulse;
} t_world;

static int t_partner_find(t_world *t, const char *id)
{
    for (int i = 0; i < t->n_partners; i++)
        if (strcmp(t->partners[i].id, id) == 0)
            return i;
    return -1;
}

static t_deal *t_deal_get(t_world *t, const char *id)
{
    for (int i = 0; i < t->n_deals; i++)
        if (strcmp(t->deals[i].id, id) == 0)
            return &t->deals[i];
    assert_true(t->n_deals < T_MAX_DEALS);
    t_deal *d = &t->deals[t->n_deals++];
    memset(d, 0, sizeof *d);
    snprintf(d->id, sizeof d->id, "%s", id);
    d->holder = -1;
    for (int ph = 0; ph <= CONS_CTL_PHASE_CONFLICTS; ph++)
        d->phase_partner[ph] = -1;
    return d;
}

/* Who named the deal in which phase: a deal that changes in a phase must be named there
 * by one partner only (otherwise the outcome depends on the partitions' interleaving). */
static void t_deal_named(t_deal *d, int phase, int partner)
{
    if (d->phase_partner[phase] < 0)
        d->phase_partner[phase] = partner;
    else if (d->phase_partner[phase] != partner)
        d->phase_many[phase] = true;
}

static t_stat *t_stat_get(t_stat *arr, int *n, int partner, int32_t key, const char *what)
{
    for (int i = 0; i < *n; i++)
        if (arr[i].partner == partner && arr[i].key == key && strcmp(arr[i].what, what) == 0)
            return &arr[i];
    assert_true(*n < T_MAX_STATS);
    t_stat *st = &arr[(*n)++];
    memset(st, 0, sizeof *st);
    st->partner = partner;
    st->key = key;
    snprintf(st->what, sizeof st->what, "%s", what);
    return st;
}

static bool t_late(const proc_program *prog, int64_t watermark, int64_t t)
{
    int64_t end = proc_period_end_ms(prog->period, proc_period_key(prog->period, t));
    return watermark != 0 && end + (int64_t)prog->allowed_lateness_days * DAY_MS < watermark;
}

static int32_t t_bp_min(const proc_program *prog)
{
    int32_t bp = INT32_MAX;
    for (int i = 0; i < prog->n_tiers; i++)
        if (prog->tiers[i].rebate_bp < bp)
            bp = prog->tiers[i].rebate_bp;
    return bp;
}

/* Replays the stream of p (run into w->recs) and checks what it promises. */
static void check_promises(world *w, const cons_ctl_gen_params *p)
{
    w->n = 0;
    run(w, p);

    t_world *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->progs = w->full;
    t->sales = calloc(MAX_RECORDS, sizeof *t->sales);
    assert_non_null(t->sales);

    enum {
        K_ENROL, K_CERT, K_CERT_REPEAT, K_DEAL_REG, K_DEAL_OWN_AGAIN, K_DEAL_OK, K_DEAL_NO,
        K_SALE, K_SALE_BONUS, K_SALE_DEAL_NO_BONUS, K_SALE_DEAL_EXPIRED, K_SALE_DEAL_FOREIGN,
        K_RETURN_FULL, K_RETURN_PARTIAL, K_RETURN_TWICE, K_RETURN_OF_BONUS, K_ACCEPTED_LATE,
        K_WHALE, K_CAP_WHALE, K_ENPS, K_PULSE, K_DETRACTOR, K_NPS_LOW, K_PULSE_LOW,
        K_CONFLICT, K_REREGISTERED, K_TIER_BY_CERT, K_DOWNGRADE, K_COUNT
    };
    static const char *const k_names[K_COUNT] = {
        "ENROL", "CERT", "CERT_REPEAT", "DEAL_REG", "DEAL_OWN_AGAIN", "DEAL_OK", "DEAL_NO",
        "SALE", "SALE_BONUS", "SALE_DEAL_NO_BONUS", "SALE_DEAL_EXPIRED", "SALE_DEAL_FOREIGN",
        "RETURN_FULL", "RETURN_PARTIAL", "RETURN_TWICE", "RETURN_OF_BONUS", "ACCEPTED_LATE",
        "WHALE", "CAP_WHALE", "ENPS", "PULSE", "DETRACTOR", "NPS_LOW", "PULSE_LOW",
        "CONFLICT", "REREGISTERED", "TIER_BY_CERT", "DOWNGRADE"};
    /* the phase each kind must show up in */
    static const int k_phase[K_COUNT] = {
        1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 2};
    int seen[K_COUNT][CONS_CTL_PHASE_CONFLICTS + 1];
    int bad_seen[CONS_CTL_BAD_COUNT][CONS_CTL_PHASE_CONFLICTS + 1];
    memset(seen, 0, sizeof seen);
    memset(bad_seen, 0, sizeof bad_seen);
    int prev_phase = CONS_CTL_PHASE_ENROL;

    for (int i = 0; i < w->n; i++) {
        const cons_ctl_record *r = &w->recs[i];
        const proc_event *ev = &r->ev;
        int ph = r->phase;
        assert_true(ph >= prev_phase);
        prev_phase = ph;
        bad_seen[r->bad][ph]++;
        assert_int_equal(r->partition, r->bad == CONS_CTL_BAD_MISPARTITIONED
                                           ? CONS_CTL_PARTITION_OTHER : CONS_CTL_PARTITION_KEY);
        if (r->is_raw || r->bad == CONS_CTL_BAD_DUPLICATE || r->bad == CONS_CTL_BAD_NOT_ENROLLED ||
            r->bad == CONS_CTL_BAD_MISPARTITIONED)
            continue;                            /* never applied: no state to follow */
        int pi = t_partner_find(t, ev->partner_id);
        t_partner *pt = pi >= 0 ? &t->partners[pi] : NULL;
        const proc_program *prog = pt ? &t->progs[pt->prog] : NULL;

        if (ev->type == PROC_EVENT_REGISTRATION) {
            const proc_registration *g = &ev->u.reg;
            if (g->kind == PROC_REG_PARTNER_ENROLLED) {
                if (pt) {
                    seen[K_ENROL][ph]++;         /* again: a no-op */
                    continue;
                }
                assert_true(t->n_partners < T_MAX_PARTNERS);
                pt = &t->partners[t->n_partners++];
                snprintf(pt->id, sizeof pt->id, "%s", ev->partner_id);
                pt->prog = strcmp(g->program_id, w->full[0].id) == 0 ? 0 : 1;
                assert_string_equal(g->program_id, w->full[pt->prog].id);
                seen[K_ENROL][ph]++;
                continue;
            }
            assert_non_null(pt);                 /* every other registration is enrolled */
            if (g->kind == PROC_REG_CERTIFICATION_COMPLETED) {
                bool repeat = false;
                for (int k = 0; k < pt->n_certs; k++)
                    repeat = repeat || strcmp(pt->certs[k], g->certification_id) == 0;
                if (repeat) {
                    seen[K_CERT_REPEAT][ph]++;
                    continue;
                }
                snprintf(pt->certs[pt->n_certs++], sizeof pt->certs[0], "%s", g->certification_id);
                if (pt->watermark == 0 || ev->occurred_at > pt->watermark)
                    pt->watermark = ev->occurred_at;
                seen[K_CERT][ph]++;
                if (strstr(pt->id, "-certify"))  /* the certification completes the tier */
                    for (int k = 1; k < prog->n_tiers; k++)
                        if (prog->tiers[k].min_certifications == pt->n_certs &&
                            ph == CONS_CTL_PHASE_CONFLICTS)
                            seen[K_TIER_BY_CERT][ph]++;
                continue;
            }
            t_deal *d = t_deal_get(t, g->deal_id);
            t_deal_named(d, ph, pi);
            if (g->kind == PROC_REG_DEAL_REGISTERED) {
                bool open = d->status == 1 ||
                            (d->status == 2 && ev->occurred_at <= d->approved_at +
                                                   (int64_t)prog->deal_validity_days * DAY_MS);
                if (open && d->holder == pi) {
                    seen[K_DEAL_OWN_AGAIN][ph]++;
                } else if (open) {
                    seen[K_CONFLICT][ph]++;      /* refused: DEAL_CONFLICT */
                } else {
                    if (d->status != 0)
                        seen[K_REREGISTERED][ph]++;
                    else
                        seen[K_DEAL_REG][ph]++;
                    d->status = 1;
                    d->holder = pi;
                    d->phase_changed = ph;
                    d->phase_holder_changed = ph;
                }
                continue;
            }
            if (d->holder != pi) {               /* INVALID_EVENT, and meant to be */
                assert_true(r->bad == CONS_CTL_BAD_UNKNOWN_DEAL ||
                            r->bad == CONS_CTL_BAD_DEAL_NOT_HELD);
                assert_true((r->bad == CONS_CTL_BAD_UNKNOWN_DEAL) == (d->status == 0));
                continue;
            }
            assert_int_equal(r->bad, CONS_CTL_BAD_NONE);
            if (d->status == 1) {
                d->status = g->kind == PROC_REG_DEAL_APPROVED ? 2 : 3;
                d->approved_at = ev->occurred_at;
                d->phase_changed = ph;
                seen[g->kind == PROC_REG_DEAL_APPROVED ? K_DEAL_OK : K_DEAL_NO][ph]++;
            }
            continue;
        }

        assert_non_null(pt);
        if (ev->type == PROC_EVENT_SALE) {
            const proc_sale *s = &ev->u.sale;
            bool late = t_late(prog, pt->watermark, ev->occurred_at);
            if (r->bad == CONS_CTL_BAD_INVALID_EVENT || r->bad == CONS_CTL_BAD_UNSUPPORTED_CURRENCY)
                continue;
            /* Every sale and return is late exactly when it is meant to be. */
            if (late != (r->bad == CONS_CTL_BAD_LATE_EVENT))
                fail_msg("%s of %s at %lld: late %d, meant as %s", ev->event_id, pt->id,
                         (long long)ev->occurred_at, late, cons_ctl_bad_name(r->bad));
            if (late)
                continue;
            if (s->kind == PROC_SALE_RETURN) {
                t_sale *orig = NULL;
                for (int k = 0; k < t->n_sales && !orig; k++)
                    if (strcmp(t->sales[k].event_id, s->original_event_id) == 0)
                        orig = &t->sales[k];
                assert_non_null(orig);          /* returns name a sale made before */
                if (r->bad == CONS_CTL_BAD_FOREIGN_RETURN) {
                    assert_true(orig->partner != pi);
                    continue;
                }
                assert_int_equal(orig->partner, pi);
                assert_string_equal(orig->currency, s->currency);
                if (r->bad == CONS_CTL_BAD_OVER_RETURN) {
                    assert_true(s->amount_minor > orig->amount - orig->returned);
                    continue;
                }
                assert_int_equal(r->bad, CONS_CTL_BAD_NONE);
                assert_true(s->amount_minor <= orig->amount - orig->returned);
                assert_true(ev->occurred_at >= orig->t &&
                            ev->occurred_at - orig->t <= (int64_t)prog->return_window_days * DAY_MS);
                orig->returned += s->amount_minor;
                seen[orig->returned == orig->amount ? K_RETURN_FULL : K_RETURN_PARTIAL][ph]++;
                if (++orig->returns == 2)
                    seen[K_RETURN_TWICE][ph]++;
                if (orig->deal_bonus)
                    seen[K_RETURN_OF_BONUS][ph]++;
            } else {
                assert_int_equal(r->bad, CONS_CTL_BAD_NONE);
                assert_true(t->n_sales < MAX_RECORDS);
                t_sale *sa = &t->sales[t->n_sales++];
                snprintf(sa->event_id, sizeof sa->event_id, "%s", ev->event_id);
                snprintf(sa->currency, sizeof sa->currency, "%s", s->currency);
                sa->partner = pi;
                sa->amount = s->amount_minor;
                sa->t = ev->occurred_at;
                seen[K_SALE][ph]++;
                if (pt->watermark != 0 && proc_period_key(prog->period, ev->occurred_at) <
                                              proc_period_key(prog->period, pt->watermark))
                    seen[K_ACCEPTED_LATE][ph]++;
                if (strstr(pt->id, "-downgrade") &&
                    proc_period_key(prog->period, ev->occurred_at) ==
                        proc_period_key(prog->period, p->start_ms) &&
                    pt->watermark != 0 &&
                    proc_period_key(prog->period, pt->watermark) ==
                        proc_period_key(prog->period, p->start_ms) - 2)
                    seen[K_DOWNGRADE][ph]++;
                if (strcmp(s->currency, prog->currency) == 0) {
                    int64_t bp = t_bp_min(prog);
                    if ((__int128)s->amount_minor * bp >= (__int128)prog->approval_threshold_minor * 10000)
                        seen[K_WHALE][ph]++;
                    if ((__int128)s->amount_minor * bp >= (__int128)prog->cap_per_period_minor * 10000)
                        seen[K_CAP_WHALE][ph]++;
                }
                if (s->has_deal_id) {
                    t_deal *d = t_deal_get(t, s->deal_id);
                    int64_t until = d->approved_at + (int64_t)prog->deal_validity_days * DAY_MS;
                    if (d->holder != pi) {
                        /* No bonus, whatever else happens to the deal in the phase, as
                         * long as the seller cannot become its holder there. */
                        d->phase_foreign_sale = ph;
                        seen[K_SALE_DEAL_FOREIGN][ph]++;
                        goto sale_done;
                    }
                    t_deal_named(d, ph, pi);
                    if (d->status == 2 && ev->occurred_at <= until) {
                        seen[K_SALE_BONUS][ph]++;
                        sa->deal_bonus = true;
                        if (!d->won) {
                            d->won = true;
                            d->phase_changed = ph;
                        }
                    } else {
                        seen[d->status == 2 ? K_SALE_DEAL_EXPIRED : K_SALE_DEAL_NO_BONUS][ph]++;
                    }
                }
            }
sale_done:
            if (ev->occurred_at > pt->watermark)
                pt->watermark = ev->occurred_at;
            continue;
        }

        /* surveys */
        const proc_survey *s = &ev->u.survey;
        if (r->bad == CONS_CTL_BAD_INVALID_SURVEY) {
            bool out_of_range = s->n_answers < 1 || s->n_answers > 10;
            for (int k = 0; k < s->n_answers; k++)
                out_of_range = out_of_range || s->answers[k].score < 1 || s->answers[k].score > 5;
            assert_true(out_of_range && s->kind == PROC_SURVEY_PULSE);
            continue;
        }
        char who[PROC_STR_CAP * 2 + 2];
        snprintf(who, sizeof who, "%s/%s", s->survey_id, s->respondent_id);
        int n_before = t->n_answered;
        t_stat_get(t->answered, &t->n_answered, pi, 0, who);
        assert_int_equal(t->n_answered == n_before, r->bad == CONS_CTL_BAD_DUPLICATE_RESPONSE);
        if (r->bad == CONS_CTL_BAD_DUPLICATE_RESPONSE)
            continue;
        assert_int_equal(r->bad, CONS_CTL_BAD_NONE);
        if (t_late(prog, pt->watermark, ev->occurred_at))
            fail_msg("survey response %s of %s is late", ev->event_id, pt->id);
        if (ev->occurred_at > pt->watermark)
            pt->watermark = ev->occurred_at;
        int32_t key = proc_period_key(prog->period, ev->occurred_at);
        if (s->kind == PROC_SURVEY_ENPS) {
            t_stat *st = t_stat_get(t->nps, &t->n_nps, pi, key, "nps");
            assert_true(s->has_score && s->score >= 0 && s->score <= 10);
            st->a += s->score >= 9;
            st->b += s->score <= 6;
            st->c++;
            seen[K_ENPS][ph]++;
            seen[K_DETRACTOR][ph] += s->score <= 6;
            /* NPS < threshold  <=>  100 (p - d) / n < threshold, rounding aside */
            if (!st->alerted && st->c >= prog->survey_min_responses &&
                100 * (st->a - st->b) < (int64_t)(prog->nps_threshold - 1) * st->c) {
                st->alerted = true;
                seen[K_NPS_LOW][ph]++;
            }
        } else {
            assert_true(s->n_answers >= 1 && s->n_answers <= 10);
            seen[K_PULSE][ph]++;
            for (int k = 0; k < s->n_answers; k++) {
                assert_true(s->answers[k].score >= 1 && s->answers[k].score <= 5);
                t_stat *st = t_stat_get(t->pulse, &t->n_pulse, pi, key, s->answers[k].question_id);
                st->a += s->answers[k].score;
                st->b++;
                if (!st->alerted && st->b >= prog->survey_min_responses &&
                    (__int128)st->a * 100000000 < (__int128)prog->pulse_threshold_e8 * st->b) {
                    st->alerted = true;
                    seen[K_PULSE_LOW][ph]++;
                }
            }
        }
    }

    for (int k = 0; k < K_COUNT; k++)
        if (seen[k][k_phase[k]] == 0)
            fail_msg("no %s in phase %s", k_names[k], cons_ctl_phase_name(k_phase[k]));
    assert_int_equal(seen[K_CONFLICT][CONS_CTL_PHASE_ENROL], 0);   /* conflicts wait */
    assert_true(seen[K_REREGISTERED][CONS_CTL_PHASE_CONFLICTS] >= 2);   /* rejected, expired */
    assert_true(seen[K_DOWNGRADE][CONS_CTL_PHASE_SALES] >= 2);           /* both programs */
    assert_true(seen[K_TIER_BY_CERT][CONS_CTL_PHASE_CONFLICTS] >= 2);
    assert_true(seen[K_NPS_LOW][CONS_CTL_PHASE_SURVEYS] >= 2);
    assert_true(seen[K_PULSE_LOW][CONS_CTL_PHASE_SURVEYS] >= 2);

    /* Every bad record kind, in its phase. */
    static const int bad_phase[CONS_CTL_BAD_COUNT] = {
        [CONS_CTL_BAD_INVALID_EVENT] = 2, [CONS_CTL_BAD_UNSUPPORTED_CURRENCY] = 2,
        [CONS_CTL_BAD_NOT_ENROLLED] = 2, [CONS_CTL_BAD_DUPLICATE] = 2,
        [CONS_CTL_BAD_DECODE_ERROR] = 2, [CONS_CTL_BAD_UNKNOWN_SCHEMA] = 2,
        [CONS_CTL_BAD_MISPARTITIONED] = 2, [CONS_CTL_BAD_LATE_EVENT] = 2,
        [CONS_CTL_BAD_OVER_RETURN] = 2, [CONS_CTL_BAD_FOREIGN_RETURN] = 2,
        [CONS_CTL_BAD_UNKNOWN_DEAL] = 1, [CONS_CTL_BAD_DEAL_NOT_HELD] = 4,
        [CONS_CTL_BAD_DUPLICATE_RESPONSE] = 3, [CONS_CTL_BAD_INVALID_SURVEY] = 3,
    };
    for (int b = 1; b < CONS_CTL_BAD_COUNT; b++) {
        int total = 0;
        for (int ph = 0; ph <= CONS_CTL_PHASE_CONFLICTS; ph++)
            total += bad_seen[b][ph];
        if (bad_seen[b][bad_phase[b]] == 0 || total != bad_seen[b][bad_phase[b]])
            fail_msg("bad record %s: not (only) in phase %s", cons_ctl_bad_name((cons_ctl_bad)b),
                     cons_ctl_phase_name((cons_ctl_phase)bad_phase[b]));
        assert_true((cons_ctl_bad_reason((cons_ctl_bad)b) == NULL) == (b == CONS_CTL_BAD_DUPLICATE));
    }
    assert_true(bad_seen[CONS_CTL_BAD_LATE_EVENT][CONS_CTL_PHASE_SALES] >= 2);

    /* No deal changed in a phase is named there by two partners. */
    for (int k = 0; k < t->n_deals; k++) {
        const t_deal *d = &t->deals[k];
        for (int ph = 1; ph <= CONS_CTL_PHASE_CONFLICTS; ph++)
            if ((d->phase_many[ph] && d->phase_changed == ph) ||
                (d->phase_foreign_sale == ph && d->phase_holder_changed == ph))
                fail_msg("deal %s changes in phase %s, where two partners name it", d->id,
                         cons_ctl_phase_name((cons_ctl_phase)ph));
    }
    free(t->sales);
    free(t);
}

static void test_full_stream_keeps_its_promises(void **state)
{
    world *w = *state;
    /* Q4 2026 exactly; then half a month from mid-October; then across a year end. */
    cons_ctl_gen_params p = full_params(w, 11, 60, 4000);
    check_promises(w, &p);
    p = full_params(w, 5, 25, 1500);
    p.start_ms = T_2026_10_01 + 14 * DAY_MS;
    p.days = 30;
    check_promises(w, &p);
    p = full_params(w, 99, 90, 3000);
    p.start_ms = T_2026_10_01 + 61 * DAY_MS;     /* 2026-12-01 */
    p.days = 45;
    p.cert_pct = 10;
    check_promises(w, &p);
}

/* Fewer of each part, and no scenarios: still a valid stream, and no scripted records. */
static void test_full_stream_options(void **state)
{
    world *w = *state;
    cons_ctl_gen_params p = full_params(w, 3, 10, 300);
    p.n_deals = 2;
    p.n_returns = 1;
    p.n_responses = 4;
    p.scenarios = false;
    run(w, &p);
    int deals = 0, returns = 0, responses = 0;
    for (int i = 0; i < w->n; i++) {
        const cons_ctl_record *r = &w->recs[i];
        assert_null(strstr(r->key, "-s0-"));
        assert_true(r->bad <= CONS_CTL_BAD_CYCLE || r->bad == CONS_CTL_BAD_UNKNOWN_DEAL ||
                    r->bad == CONS_CTL_BAD_DEAL_NOT_HELD ||
                    r->bad == CONS_CTL_BAD_DUPLICATE_RESPONSE ||
                    r->bad == CONS_CTL_BAD_INVALID_SURVEY);
        if (r->is_raw)
            continue;
        deals += r->ev.type == PROC_EVENT_REGISTRATION &&
                 r->ev.u.reg.kind == PROC_REG_DEAL_APPROVED && r->phase == CONS_CTL_PHASE_ENROL &&
                 r->bad == CONS_CTL_BAD_NONE;
        returns += r->ev.type == PROC_EVENT_SALE && r->ev.u.sale.kind == PROC_SALE_RETURN;
        responses += r->ev.type == PROC_EVENT_SURVEY && r->bad == CONS_CTL_BAD_NONE;
    }
    assert_int_equal(deals, 2);      /* deal 0 (expired) and deal 1 are approved */
    assert_int_equal(returns, 1 + 1);    /* + half of the first approved deal's sale */
    assert_int_equal(responses, 4);

    /* The defaults. */
    assert_int_equal(cons_ctl_gen_default_deals(200), 20);
    assert_int_equal(cons_ctl_gen_default_deals(3), 6);
    assert_int_equal(cons_ctl_gen_default_returns(20000), 200);
    assert_int_equal(cons_ctl_gen_default_returns(49), 0);
    assert_int_equal(cons_ctl_gen_default_returns(50), 10);
    assert_int_equal(cons_ctl_gen_default_responses(200), 600);

    /* One partner: nobody to conflict with, and still no crash. */
    w->n = 0;
    p = full_params(w, 5, 1, 200);
    run(w, &p);
    for (int i = 0; i < w->n; i++)
        if (w->recs[i].phase == CONS_CTL_PHASE_CONFLICTS)
            assert_int_equal(w->recs[i].ev.u.reg.kind, PROC_REG_CERTIFICATION_COMPLETED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_seed_same_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_phases_add_up_to_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enrolments_cover_every_partner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sales_in_time_order_and_in_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_few_partners_make_most_revenue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_bad_counts_and_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_same_seed_same_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_phases_partition_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_stream_keeps_its_promises, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_stream_options, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
