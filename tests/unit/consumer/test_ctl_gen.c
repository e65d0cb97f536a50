/*
 * test_ctl_gen.c — the generated event stream of `incentivectl produce --generate`
 * (consumer/cons_ctl_gen.c): reproducible to the byte, phases that add up to the whole,
 * enrolments before sales, sales in time order, the promised bad records, and the shape
 * (a few partners dominate, amounts and currencies in range).
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
    /* 1000 sales: the default is 5 bad records, one of each kind. */
    assert_int_equal(cons_ctl_gen_default_bad(1000), 5);
    for (int b = 1; b < CONS_CTL_BAD_COUNT; b++)
        assert_int_equal(seen[b], 1);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
