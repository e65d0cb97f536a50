/*
 * test_program.c — the program file loader (consumer/cons_program.c), without servers.
 *
 * The shipped example must load into exactly the values CONTRACT §5 gives; every bad file
 * (fixtures in programs/, plus short inline texts) must fail with the exact
 * `FILE:LINE: KEY: sentence` a person would need to fix it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cons_program.h"
#include "proc_money.h"

#ifndef PI_SOURCE_DIR_DEFAULT
#define PI_SOURCE_DIR_DEFAULT "."
#endif

#define ERR_CAP 512
#define MS_2026_10_01 1790812800000LL
#define MS_2026_11_01 1793491200000LL
#define MS_2026_12_01 1796083200000LL
#define MS_2027_01_01 1798761600000LL

static const char *source_dir(void)
{
    const char *dir = getenv("PI_SOURCE_DIR");
    return dir != NULL && dir[0] != '\0' ? dir : PI_SOURCE_DIR_DEFAULT;
}

static void fixture_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/tests/unit/consumer/programs/%s", source_dir(), name);
}

/* ---- the example ------------------------------------------------------------------- */

static void test_example_loads_exact_values(void **state)
{
    (void)state;
    char path[1024], err[ERR_CAP];
    proc_program *p = NULL;
    int n = -1;

    snprintf(path, sizeof path, "%s/deploy/programs/example.yaml", source_dir());
    int rc = cons_program_load(path, &p, &n, err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    assert_int_equal(n, 2);

    const proc_program *e = &p[0];
    assert_string_equal(e->id, "emea-resellers");
    assert_string_equal(e->currency, "EUR");
    assert_int_equal(e->period, PROC_PERIOD_QUARTER);
    assert_int_equal(e->allowed_lateness_days, 7);
    assert_int_equal(e->rebate_mode, PROC_REBATE_RETROACTIVE);
    assert_int_equal(e->n_tiers, 4);
    assert_string_equal(e->tiers[0].name, "Registered");
    assert_int_equal(e->tiers[1].min_revenue_minor, 5000000);
    assert_string_equal(e->tiers[2].name, "Gold");
    assert_int_equal(e->tiers[2].min_revenue_minor, 25000000);
    assert_int_equal(e->tiers[2].min_certifications, 1);
    assert_int_equal(e->tiers[3].min_revenue_minor, 100000000);
    assert_int_equal(e->tiers[3].min_certifications, 2);
    assert_int_equal(e->tiers[3].rebate_bp, 400);
    assert_int_equal(e->near_tier_pct, 90);
    assert_int_equal(e->n_fx, 2);
    assert_string_equal(e->fx[0].currency, "USD");
    assert_int_equal(e->fx[0].rate_e8, 92000000);
    assert_string_equal(e->fx[1].currency, "GBP");
    assert_int_equal(e->fx[1].rate_e8, 117000000);
    assert_int_equal(proc_program_fx_e8(e, "USD"), 92000000);
    assert_int_equal(e->n_spiffs, 1);
    assert_string_equal(e->spiffs[0].id, "q4-firewall");
    assert_string_equal(e->spiffs[0].sku_prefix, "FW-");
    assert_int_equal(e->spiffs[0].per_unit_minor, 5000);
    assert_int_equal(e->spiffs[0].valid_from_ms, MS_2026_10_01);
    assert_int_equal(e->spiffs[0].valid_to_ms, MS_2027_01_01);
    assert_int_equal(e->spiffs[0].min_tier, 1); /* Silver */
    assert_int_equal(e->deal_bonus_bp, 500);
    assert_int_equal(e->deal_validity_days, 90);
    assert_int_equal(e->certification_bonus_minor, 50000);
    assert_int_equal(e->mdf_bp, 100);
    assert_int_equal(e->revenue_per_point_minor, 10000);
    assert_int_equal(e->points_per_certification, 50);
    assert_int_equal(e->points_per_deal_won, 100);
    assert_int_equal(e->cap_per_period_minor, 20000000);
    assert_int_equal(e->approval_threshold_minor, 1000000);
    assert_int_equal(e->return_window_days, 90);
    assert_int_equal(e->max_sale_minor, 1000000000000LL);
    assert_int_equal(e->nps_threshold, 0);
    assert_int_equal(e->survey_min_responses, 5);
    assert_int_equal(e->pulse_threshold_e8, 250000000);

    const proc_program *na = &p[1];
    assert_string_equal(na->id, "na-distributors");
    assert_string_equal(na->currency, "USD");
    assert_int_equal(na->period, PROC_PERIOD_MONTH);
    assert_int_equal(na->rebate_mode, PROC_REBATE_MARGINAL);
    assert_int_equal(na->n_tiers, 3);
    assert_int_equal(na->tiers[1].min_revenue_minor, 2000000);
    assert_int_equal(na->tiers[1].min_certifications, 0); /* absent in a block entry */
    assert_int_equal(na->tiers[2].min_certifications, 1);
    assert_int_equal(proc_program_fx_e8(na, "EUR"), 108000000);
    assert_int_equal(proc_program_fx_e8(na, "CAD"), 73000000);
    assert_int_equal(na->n_spiffs, 2);
    assert_int_equal(na->spiffs[0].valid_from_ms, MS_2026_11_01);
    assert_int_equal(na->spiffs[0].valid_to_ms, MS_2026_12_01);
    assert_int_equal(na->spiffs[0].min_tier, 0);
    assert_int_equal(na->spiffs[1].min_tier, 1); /* Preferred */
    assert_true(na->cap_per_period_minor == INT64_MAX);
    assert_int_equal(na->approval_threshold_minor, 500000);
    assert_int_equal(na->pulse_threshold_e8, 300000000);

    cons_program_free(p);
}

static void test_minimal_keeps_defaults(void **state)
{
    (void)state;
    char path[1024], err[ERR_CAP];
    proc_program *p = NULL, want;
    int n = 0;

    fixture_path(path, sizeof path, "minimal.yaml");
    int rc = cons_program_load(path, &p, &n, err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    assert_int_equal(n, 1);
    proc_program_defaults(&want);
    snprintf(want.id, sizeof want.id, "minimal");
    snprintf(want.currency, sizeof want.currency, "CHF");
    want.n_tiers = 1;
    snprintf(want.tiers[0].name, sizeof want.tiers[0].name, "Only");
    /* Every byte equal: nothing but the three keys changed the defaults. */
    assert_memory_equal(&p[0], &want, sizeof want);
    assert_true(p[0].cap_per_period_minor == INT64_MAX);
    assert_true(p[0].approval_threshold_minor == INT64_MAX);
    cons_program_free(p);
}

static void test_missing_file(void **state)
{
    (void)state;
    char err[ERR_CAP];
    proc_program *p = (proc_program *)&err; /* must be reset to NULL */
    int n = 7;

    assert_int_equal(cons_program_load("/nonexistent/programs.yaml", &p, &n, err, sizeof err),
                     -1);
    assert_null(p);
    assert_int_equal(n, 0);
    assert_string_equal(err, "/nonexistent/programs.yaml: cannot open the program file: No "
                             "such file or directory");
}

/* ---- bad files ---------------------------------------------------------------------- */

typedef struct {
    const char *file;     /* fixture under programs/ */
    const char *expected; /* the message after "PATH:" */
} bad_file;

static const bad_file bad_files[] = {
    {"bad_unknown_key.yaml",
     "5: programs[0].rebate_modee: unknown key 'rebate_modee' (did you mean 'rebate_mode'?)"},
    {"bad_wrong_type.yaml",
     "7: programs[0].tiers[1].min_revenue_minor: expected an integer, got 'abc'"},
    {"bad_tiers_not_ascending.yaml",
     "7: programs[0].tiers[2].min_revenue_minor: tiers must ascend: 200 is not above the "
     "previous tier's 500"},
    {"bad_spiff_window.yaml",
     "11: programs[0].spiffs[0].valid_to: valid_to must be after valid_from"},
    {"bad_min_tier.yaml",
     "6: programs[0].spiffs[0].min_tier: no tier is named 'Diamond' (the tiers are: Base, "
     "Gold)"},
    {"bad_rebate_bp.yaml",
     "6: programs[0].tiers[1].rebate_bp: must be between 0 and 10000, got 10001"},
    {"bad_fx_decimals.yaml",
     "8: programs[0].fx.USD: at most 8 decimals are allowed, got '0.923456789'"},
    {"bad_duplicate_id.yaml",
     "9: programs[1].id: program id 'twice' is already used by programs[0]"},
    {"bad_missing_currency.yaml",
     "7: programs[1].currency: missing required key 'currency'"},
    {"bad_period.yaml", "4: programs[0].period: expected month or quarter, got 'week'"},
    {"bad_near_tier_pct.yaml",
     "6: programs[0].near_tier_pct: must be between 1 and 100, got 0"},
};

static void test_bad_file(void **state)
{
    const bad_file *c = *state;
    char path[1024], want[2048], err[ERR_CAP];
    proc_program *p = NULL;
    int n = 0;

    fixture_path(path, sizeof path, c->file);
    snprintf(want, sizeof want, "%s:%s", path, c->expected);
    assert_int_equal(cons_program_load(path, &p, &n, err, sizeof err), -1);
    assert_null(p);
    assert_int_equal(n, 0);
    assert_string_equal(err, want);
}

/* ---- bad texts ---------------------------------------------------------------------- */

#define HEAD "programs:\n  - id: p\n    currency: EUR\n"
#define ONE_TIER "    tiers: [ { name: Base, min_revenue_minor: 0, rebate_bp: 100 } ]\n"
#define TWO_TIERS                                                      \
    "    tiers:\n"                                                     \
    "      - { name: Base, min_revenue_minor: 0, rebate_bp: 100 }\n"    \
    "      - { name: Gold, min_revenue_minor: 1000, rebate_bp: 200 }\n"

typedef struct {
    const char *name;
    const char *text;
    const char *expected; /* the whole message, with "t.yaml" as the file name */
} bad_text;

static const bad_text bad_texts[] = {
    {"empty file", "", "t.yaml:1: programs: the file is empty; it must define 'programs:'"},
    {"top-level typo", "program: []\n",
     "t.yaml:1: program: unknown key 'program' (did you mean 'programs'?)"},
    {"no programs", "programs: []\n", "t.yaml:1: programs: the file defines no programs"},
    {"programs not a list", "programs: { id: p }\n",
     "t.yaml:1: programs: expected a list of programs, got a mapping"},
    {"program not a mapping", "programs:\n  - just-a-name\n",
     "t.yaml:2: programs[0]: expected a mapping of keys to values, got 'just-a-name'"},
    {"syntax error", "programs:\n  - { id: p\n",
     "t.yaml:3: syntax: did not find expected ',' or '}' while parsing a flow mapping "
     "(line 2)"},
    {"two documents", HEAD ONE_TIER "---\nprograms: []\n",
     "t.yaml:6: programs: the file holds more than one YAML document; put all programs in "
     "one list"},
    {"duplicate key", HEAD ONE_TIER "    currency: USD\n",
     "t.yaml:5: programs[0].currency: key 'currency' is given twice (first on line 3)"},
    {"missing tiers", HEAD, "t.yaml:2: programs[0].tiers: missing required key 'tiers'"},
    {"empty tiers", HEAD "    tiers: []\n",
     "t.yaml:4: programs[0].tiers: a program needs at least one tier"},
    {"missing tier key", HEAD "    tiers:\n      - { name: Base, rebate_bp: 1 }\n",
     "t.yaml:5: programs[0].tiers[0].min_revenue_minor: missing required key "
     "'min_revenue_minor'"},
    {"lowercase currency", "programs:\n  - id: p\n    currency: eur\n" ONE_TIER,
     "t.yaml:3: programs[0].currency: expected a current ISO 4217 currency code (e.g. EUR, "
     "JPY, KWD), got 'eur'"},
    {"unknown currency", "programs:\n  - id: p\n    currency: EUX\n" ONE_TIER,
     "t.yaml:3: programs[0].currency: expected a current ISO 4217 currency code (e.g. EUR, "
     "JPY, KWD), got 'EUX'"},
    {"currency without minor unit", "programs:\n  - id: p\n    currency: XAU\n" ONE_TIER,
     "t.yaml:3: programs[0].currency: expected a current ISO 4217 currency code (e.g. EUR, "
     "JPY, KWD), got 'XAU'"},
    {"empty id", "programs:\n  - id: \"\"\n    currency: EUR\n" ONE_TIER,
     "t.yaml:2: programs[0].id: expected a non-empty string"},
    {"null id", "programs:\n  - id:\n    currency: EUR\n" ONE_TIER,
     "t.yaml:2: programs[0].id: expected a non-empty string, got nothing"},
    {"quoted integer", HEAD ONE_TIER "    mdf_bp: \"100\"\n",
     "t.yaml:5: programs[0].mdf_bp: expected an integer, got the quoted string '100'"},
    {"leading zero", HEAD ONE_TIER "    return_window_days: 030\n",
     "t.yaml:5: programs[0].return_window_days: expected an integer, got '030' (leading "
     "zeros are not allowed)"},
    {"integer overflow", HEAD ONE_TIER "    max_sale_minor: 99999999999999999999\n",
     "t.yaml:5: programs[0].max_sale_minor: must be at least 1, got 99999999999999999999"},
    {"float for integer", HEAD ONE_TIER "    certification_bonus_minor: 500.5\n",
     "t.yaml:5: programs[0].certification_bonus_minor: expected an integer, got '500.5'"},
    {"list for integer", HEAD ONE_TIER "    mdf_bp: [1]\n",
     "t.yaml:5: programs[0].mdf_bp: expected an integer, got a list"},
    {"fx lowercase code", HEAD ONE_TIER "    fx: { usd: \"0.92\" }\n",
     "t.yaml:5: programs[0].fx.usd: expected a current ISO 4217 currency code (e.g. EUR, "
     "JPY, KWD), got 'usd'"},
    {"fx unknown code", HEAD ONE_TIER "    fx: { USD: \"0.92\", ABC: \"1\" }\n",
     "t.yaml:5: programs[0].fx.ABC: expected a current ISO 4217 currency code (e.g. EUR, "
     "JPY, KWD), got 'ABC'"},
    {"fx own currency", HEAD ONE_TIER "    fx: { EUR: \"1\" }\n",
     "t.yaml:5: programs[0].fx.EUR: EUR is the program currency; it takes no fx rate"},
    {"fx zero", HEAD ONE_TIER "    fx: { USD: \"0\" }\n",
     "t.yaml:5: programs[0].fx.USD: must be at least 0.00000001, got 0"},
    {"fx not a number", HEAD ONE_TIER "    fx: { USD: \"0,92\" }\n",
     "t.yaml:5: programs[0].fx.USD: expected a decimal number like \"2.5\", got '0,92'"},
    {"pulse above 5", HEAD ONE_TIER "    surveys: { pulse_threshold: \"5.5\" }\n",
     "t.yaml:5: programs[0].surveys.pulse_threshold: must be between 1 and 5, got 5.5"},
    {"pulse below 1", HEAD ONE_TIER "    surveys:\n      pulse_threshold: 0.99\n",
     "t.yaml:6: programs[0].surveys.pulse_threshold: must be between 1 and 5, got 0.99"},
    {"nps below -100", HEAD ONE_TIER "    surveys: { nps_threshold: -101 }\n",
     "t.yaml:5: programs[0].surveys.nps_threshold: must be between -100 and 100, got -101"},
    {"unknown nested key", HEAD ONE_TIER "    points: { per_deal: 5 }\n",
     "t.yaml:5: programs[0].points.per_deal: unknown key 'per_deal' (did you mean "
     "'per_deal_won'?)"},
    {"bad date", HEAD TWO_TIERS
     "    spiffs:\n      - { id: s, sku_prefix: X, per_unit_minor: 1,\n"
     "          valid_from: 2026-02-30, valid_to: 2026-03-01 }\n",
     "t.yaml:9: programs[0].spiffs[0].valid_from: expected a date YYYY-MM-DD, got "
     "'2026-02-30'"},
    {"duplicate SPIFF id", HEAD TWO_TIERS
     "    spiffs:\n"
     "      - { id: s, sku_prefix: A, per_unit_minor: 1, valid_from: 2026-01-01,"
     " valid_to: 2026-02-01 }\n"
     "      - { id: s, sku_prefix: B, per_unit_minor: 1, valid_from: 2026-01-01,"
     " valid_to: 2026-02-01 }\n",
     "t.yaml:9: programs[0].spiffs[1].id: SPIFF id 's' is already used by spiffs[0]"},
    {"duplicate tier name", HEAD
     "    tiers:\n"
     "      - { name: Base, min_revenue_minor: 0, rebate_bp: 100 }\n"
     "      - { name: Base, min_revenue_minor: 10, rebate_bp: 200 }\n",
     "t.yaml:6: programs[0].tiers[1].name: tier name 'Base' is used twice"},
    {"certifications fall", HEAD
     "    tiers:\n"
     "      - { name: A, min_revenue_minor: 0, min_certifications: 2, rebate_bp: 100 }\n"
     "      - { name: B, min_revenue_minor: 10, min_certifications: 1, rebate_bp: 200 }\n",
     "t.yaml:6: programs[0].tiers[1].min_certifications: min_certifications must be >= 0 "
     "and never fall from one tier to the next"},
    {"tiers not a list", HEAD "    tiers: { name: Base }\n",
     "t.yaml:4: programs[0].tiers: expected a list, got a mapping"},
};

static void test_bad_text(void **state)
{
    const bad_text *c = *state;
    char err[ERR_CAP];
    proc_program *p = NULL;
    int n = 0;

    assert_int_equal(cons_program_load_string("t.yaml", c->text, &p, &n, err, sizeof err), -1);
    assert_null(p);
    assert_string_equal(err, c->expected);
}

static void test_too_many_tiers(void **state)
{
    (void)state;
    char text[4096], err[ERR_CAP];
    proc_program *p = NULL;
    int n = 0;
    size_t len = (size_t)snprintf(text, sizeof text, HEAD "    tiers:\n");

    for (int i = 0; i <= PROC_MAX_TIERS; i++)
        len += (size_t)snprintf(text + len, sizeof text - len,
                                "      - { name: T%d, min_revenue_minor: %d, rebate_bp: 1 }\n",
                                i, i * 100);
    assert_int_equal(cons_program_load_string("t.yaml", text, &p, &n, err, sizeof err), -1);
    assert_string_equal(err, "t.yaml:21: programs[0].tiers[16]: at most 16 entries are "
                             "allowed in 'tiers'");
}

/* Anchors and aliases are plain YAML: a shared tier ladder loads into both programs. */
static void test_aliases_and_block_style(void **state)
{
    (void)state;
    static const char text[] =
        "programs:\n"
        "  - id: a\n"
        "    currency: EUR\n"
        "    tiers: &ladder\n"
        "      - name: Base\n"
        "        min_revenue_minor: 0\n"
        "        rebate_bp: 100\n"
        "      - { name: Top, min_revenue_minor: 5000000, rebate_bp: 250 }\n"
        "  - id: b\n"
        "    currency: USD\n"
        "    tiers: *ladder\n"
        "    cap_per_period_minor: 0\n"
        "    fx: {}\n";
    char err[ERR_CAP];
    proc_program *p = NULL;
    int n = 0;

    int rc = cons_program_load_string("t.yaml", text, &p, &n, err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    assert_int_equal(n, 2);
    assert_int_equal(p[1].n_tiers, 2);
    assert_string_equal(p[1].tiers[1].name, "Top");
    assert_int_equal(p[1].tiers[1].rebate_bp, 250);
    assert_int_equal(p[1].cap_per_period_minor, 0);
    assert_int_equal(p[1].n_fx, 0);
    cons_program_free(p);
}

static void test_describe_lists_every_key(void **state)
{
    (void)state;
    char *doc = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&doc, &len);

    assert_non_null(out);
    cons_program_describe(out);
    fclose(out);
    assert_non_null(strstr(doc, "| key | type | default | description |"));
    assert_non_null(strstr(doc, "| `tiers[].min_revenue_minor` | minor units, at least 0 | "
                                "required |"));
    assert_non_null(strstr(doc, "| `near_tier_pct` | percent, 1–100 | 90 |"));
    assert_non_null(strstr(doc, "| `period` | `month` \\| `quarter` | `quarter` |"));
    assert_non_null(strstr(doc, "| `surveys.pulse_threshold` | decimal (≤ 8 places), between "
                                "1 and 5 | 2.5 |"));
    assert_non_null(strstr(doc, "| `cap_per_period_minor` | minor units, at least 0 | none |"));
    assert_non_null(strstr(doc, "| `spiffs[].min_tier` | tier name | the first tier |"));
    free(doc);
}

#define N_BAD_FILES (sizeof bad_files / sizeof bad_files[0])
#define N_BAD_TEXTS (sizeof bad_texts / sizeof bad_texts[0])

int main(void)
{
    struct CMUnitTest tests[6 + N_BAD_FILES + N_BAD_TEXTS] = {
        cmocka_unit_test(test_example_loads_exact_values),
        cmocka_unit_test(test_minimal_keeps_defaults),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_too_many_tiers),
        cmocka_unit_test(test_aliases_and_block_style),
        cmocka_unit_test(test_describe_lists_every_key),
    };
    size_t n = 6;

    /* One named test per table row, so a failure says which file or text it was. */
    for (size_t i = 0; i < N_BAD_FILES; i++)
        tests[n++] = (struct CMUnitTest){bad_files[i].file, test_bad_file, NULL, NULL,
                                         (void *)&bad_files[i]};
    for (size_t i = 0; i < N_BAD_TEXTS; i++)
        tests[n++] = (struct CMUnitTest){bad_texts[i].name, test_bad_text, NULL, NULL,
                                         (void *)&bad_texts[i]};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
