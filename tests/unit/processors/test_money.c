/*
 * test_money.c — CONTRACT §6.2: every computed amount is rounded half-to-even once, at its
 * final division, from exact integer arithmetic; fx rates carry at most 8 decimals.
 * All expected values are worked by hand (shown in the comments).
 */
#include "test_fixtures.h"
#include "proc_currency.h"

/* ---- round_half_even(num / den) ----------------------------------------------------- */

typedef struct {
    int64_t num, den, want;
} div_row;

static const div_row div_rows[] = {
    /* ties: x.5 goes to the even neighbour, for either sign */
    {5, 2, 2},           /*  2.5 ->  2 (even below) */
    {7, 2, 4},           /*  3.5 ->  4 (even above) */
    {1, 2, 0},           /*  0.5 ->  0 */
    {3, 2, 2},           /*  1.5 ->  2 */
    {-5, 2, -2},         /* -2.5 -> -2 */
    {-7, 2, -4},         /* -3.5 -> -4 */
    {-1, 2, 0},          /* -0.5 ->  0 */
    {-3, 2, -2},         /* -1.5 -> -2 */
    {25, 10, 2},         /*  2.5 */
    {35, 10, 4},         /*  3.5 */
    {-25, 10, -2},
    {-35, 10, -4},
    {15000, 10000, 2},   /* 1.5 */
    {25000, 10000, 2},   /* 2.5 */
    {-15000, 10000, -2},
    {-25000, 10000, -2},
    /* not ties: ordinary nearest */
    {26, 10, 3},
    {24, 10, 2},
    {-26, 10, -3},
    {-24, 10, -2},
    {1, 3, 0},           /*  0.333 */
    {2, 3, 1},           /*  0.667 */
    {-1, 3, 0},
    {-2, 3, -1},
    {4999999500LL, 10000, 500000},   /* 499,999.95 */
    {4999994999LL, 10000, 499999},   /* 499,999.4999 */
    {4999999499LL, 10000, 500000},   /* 499,999.9499 */
    /* exact */
    {0, 7, 0},
    {10, 5, 2},
    {-10, 5, -2},
    {1, 1, 1},
    {-1, 1, -1},
    {INT64_MAX, 1, INT64_MAX},
    {INT64_MIN + 1, 1, INT64_MIN + 1},
};

static void test_div_half_even_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof div_rows / sizeof div_rows[0]; i++) {
        const div_row *r = &div_rows[i];
        int64_t got = proc_div_half_even(r->num, r->den);
        if (got != r->want)
            fail_msg("row %zu: round_half_even(%lld / %lld) = %lld, expected %lld", i,
                     (long long)r->num, (long long)r->den, (long long)got, (long long)r->want);
    }
}

/* Products above 2^63 must be exact before the one division (128-bit intermediate). */
static void test_div_half_even_wide(void **state)
{
    (void)state;
    const __int128 e8 = 100000000;
    const __int128 t12 = 1000000000000LL;          /* max_sale_minor of §5 */

    /* 10^12 + 0.5: a tie, 10^12 is even, stays */
    assert_i64(proc_div_half_even(t12 * e8 + 50000000, 100000000), 1000000000000LL);
    /* (10^12 + 1) + 0.5: a tie above an odd number, goes up */
    assert_i64(proc_div_half_even((t12 + 1) * e8 + 50000000, 100000000), 1000000000002LL);
    assert_i64(proc_div_half_even(-((t12 + 1) * e8 + 50000000), 100000000), -1000000000002LL);
    /* (10^12 + 1) + 0.49999999 */
    assert_i64(proc_div_half_even((t12 + 1) * e8 + 49999999, 100000000), 1000000000001LL);
    /* INT64_MAX × 10000 / 10000 */
    assert_i64(proc_div_half_even((__int128)INT64_MAX * 10000, 10000), INT64_MAX);
    /* 10^12 × 1.17 = 1,170,000,000,000 exactly */
    assert_i64(proc_div_half_even(t12 * 117000000, 100000000), 1170000000000LL);
}

/* ---- basis points -------------------------------------------------------------------- */

typedef struct {
    int64_t amount, bp, want;
} bp_row;

static const bp_row bp_rows[] = {
    {4999999, 100, 50000},         /* 49,999.99 */
    {3333335, 100, 33333},         /* 33,333.35 */
    {1666665, 200, 33333},         /* 33,333.30 */
    {1666665, 100, 16667},         /* 16,666.65 */
    {49999975, 200, 1000000},      /* 999,999.5 -> even above */
    {49999925, 200, 999998},       /* 999,998.5 -> even below */
    {50, 100, 0},                  /* 0.5 */
    {150, 100, 2},                 /* 1.5 */
    {250, 100, 2},                 /* 2.5 */
    {350, 100, 4},                 /* 3.5 */
    {-50, 100, 0},                 /* -0.5 */
    {-150, 100, -2},               /* -1.5 */
    {-250, 100, -2},               /* -2.5 */
    {-350, 100, -4},               /* -3.5 */
    {1, 200, 0},                   /* 0.02 */
    {75, 200, 2},                  /* 1.5 */
    {125, 200, 2},                 /* 2.5 */
    {12345, 0, 0},
    {0, 400, 0},
    {1000000000000LL, 10000, 1000000000000LL},
    {1000000000000LL, 1, 100000000},
    {25000000, 300, 750000},
};

static void test_apply_bp_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bp_rows / sizeof bp_rows[0]; i++) {
        const bp_row *r = &bp_rows[i];
        int64_t got = proc_apply_bp(r->amount, r->bp);
        if (got != r->want)
            fail_msg("row %zu: %lld x %lld bp = %lld, expected %lld", i, (long long)r->amount,
                     (long long)r->bp, (long long)got, (long long)r->want);
    }
}

/* ---- fx rates -------------------------------------------------------------------------- */

typedef struct {
    const char *text;
    bool ok;
    int64_t e8;
} dec_row;

static const dec_row dec_rows[] = {
    {"0.92", true, 92000000},
    {"1.17", true, 117000000},
    {"1", true, 100000000},
    {"0", true, 0},               /* syntactically fine; proc_program_check refuses rate 0 */
    {"12.5", true, 1250000000},
    {"0.00000001", true, 1},
    {"0.12345678", true, 12345678},
    {"007.10", true, 710000000},
    {"9999999999.99999999", true, 999999999999999999LL},
    {"0.123456789", false, 0},    /* 9 decimals */
    {"10000000000", false, 0},    /* 11 integer digits */
    {"", false, 0},
    {".5", false, 0},
    {"1.", false, 0},
    {"-1", false, 0},
    {"+1", false, 0},
    {"1e2", false, 0},
    {"1.2.3", false, 0},
    {" 1", false, 0},
    {"1 ", false, 0},
    {"1,5", false, 0},
    {"abc", false, 0},
};

static void test_parse_decimal_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof dec_rows / sizeof dec_rows[0]; i++) {
        const dec_row *r = &dec_rows[i];
        int64_t e8 = -7;
        bool ok = proc_parse_decimal_e8(r->text, &e8);
        if (ok != r->ok)
            fail_msg("'%s': parse returned %d, expected %d", r->text, ok, r->ok);
        if (ok && e8 != r->e8)
            fail_msg("'%s' = %lld e-8, expected %lld", r->text, (long long)e8, (long long)r->e8);
        if (!ok && e8 != -7)
            fail_msg("'%s': a refused text must not write the output", r->text);
    }
    int64_t e8 = 0;
    assert_false(proc_parse_decimal_e8(NULL, &e8));
}

/* §6.2 conversion with ISO 4217 exponents (issue #6):
 * round_half_even(amount × rate × 10^(e_prog − e_src)), rate with 8 decimals. Worked by
 * hand; rows with 2 → 2 are the equal-exponent case (USD, GBP into EUR). */
typedef struct {
    int64_t amount, rate_e8;
    int e_src, e_prog;
    int64_t want;
} fx_row;

static const fx_row fx_rows[] = {
    {1000001, 92000000, 2, 2, 920001},    /* USD 0.92: 920,000.92 */
    {1000000, 92000000, 2, 2, 920000},
    {1, 92000000, 2, 2, 1},               /* 0.92 */
    {333333, 117000000, 2, 2, 390000},    /* GBP 1.17: 389,999.61 */
    {50, 117000000, 2, 2, 58},            /* 58.5 tie -> 58 */
    {150, 117000000, 2, 2, 176},          /* 175.5 tie -> 176 */
    {1, 50000000, 2, 2, 0},               /* 0.5 tie -> 0 */
    {3, 50000000, 2, 2, 2},               /* 1.5 tie -> 2 */
    {5, 50000000, 2, 2, 2},               /* 2.5 tie -> 2 */
    {7, 12345678, 2, 2, 1},               /* 0.86419746 */
    {1000000000000LL, 92000000, 2, 2, 920000000000LL},
    /* JPY (0 decimals) into EUR at 0.0061: yen × 0.0061 × 100 cents */
    {1000, 610000, 0, 2, 610},          /* JPY 1,000 = EUR 6.10 (not 6: the old bug) */
    {82, 610000, 0, 2, 50},             /* 50.02 */
    {1, 610000, 0, 2, 1},               /* 0.61 */
    {1, 500000, 0, 2, 0},               /* 0.5 tie -> 0 */
    {3, 500000, 2, 2, 0},               /* 1.5 tie -> 2 */
    /* KWD (3 decimals: fils) into EUR at 3.0: fils × 3 / 10 */
    {1234, 300000000, 3, 2, 370},       /* 370.2 (not 3,702: the old bug) */
    {1235, 300000000, 3, 2, 370},       /* 370.5 tie -> 370 */
    {1245, 300000000, 3, 2, 374},       /* 373.5 tie -> 374 */
    /* CLF (4 decimals) into EUR at 40.0: 1/10,000 CLF × 40 / 100 */
    {10000, 4000000000LL, 4, 2, 4000},  /* CLF 1 = EUR 40.00 */
    {12345, 4000000000LL, 4, 2, 4938},  /* 4,938.0 */
    {1, 4000000000LL, 4, 2, 0},         /* 0.4 */
    {10000, 600000000000LL, 4, 0, 6000}, /* CLF 1 into JPY at 6,000 */
    /* the other way: EUR cents into JPY (0) and KWD (3) */
    {12345, 16350000000LL, 2, 0, 20184}, /* EUR 123.45 × 163.5 = JPY 20,184.075 */
    {100, 33300000, 2, 3, 333},         /* EUR 1.00 × 0.333 = KWD 0.333 */
    {1000000000000LL, 610000, 0, 4, 61000000000000LL}, /* the widest step: 10^4 */
};

static void test_fx_conversion_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof fx_rows / sizeof fx_rows[0]; i++) {
        const fx_row *r = &fx_rows[i];
        int64_t got = proc_convert_minor(r->amount, r->rate_e8, r->e_src, r->e_prog);
        if (got != r->want)
            fail_msg("row %zu: %lld x %lld e-8 (%d -> %d decimals) = %lld, expected %lld", i,
                     (long long)r->amount, (long long)r->rate_e8, r->e_src, r->e_prog,
                     (long long)got, (long long)r->want);
    }
}

/* The ISO 4217 table: exponents of each kind, and what is not a currency with minor units. */
static void test_currency_exponents(void **state)
{
    (void)state;
    static const struct {
        const char *code;
        int want;
    } rows[] = {
        {"EUR", 2}, {"USD", 2}, {"GBP", 2}, {"CHF", 2}, {"HUF", 2}, {"ZWG", 2}, {"AED", 2},
        {"JPY", 0}, {"KRW", 0}, {"ISK", 0}, {"CLP", 0}, {"VND", 0}, {"XOF", 0}, {"XPF", 0},
        {"KWD", 3}, {"BHD", 3}, {"JOD", 3}, {"OMR", 3}, {"TND", 3}, {"IQD", 3}, {"LYD", 3},
        {"CLF", 4}, {"UYW", 4},
        {"XAU", -1}, {"XDR", -1}, {"XXX", -1}, {"XTS", -1},   /* no minor unit */
        {"eur", -1}, {"EU", -1}, {"EURO", -1}, {"", -1}, {"ABC", -1}, {"DEM", -1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (proc_currency_exponent(rows[i].code) != rows[i].want)
            fail_msg("%s: exponent %d, expected %d", rows[i].code,
                     proc_currency_exponent(rows[i].code), rows[i].want);
    assert_int_equal(proc_currency_exponent(NULL), -1);
    assert_int_equal(proc_currency_count(), 169);
}

/* The program's fx lookup: own currency is 1, unknown is 0 (§6.2). */
static void test_program_fx_lookup(void **state)
{
    fx_world *w = *state;
    assert_i64(proc_program_fx_e8(&w->progs[0], "EUR"), 100000000);
    assert_i64(proc_program_fx_e8(&w->progs[0], "USD"), 92000000);
    assert_i64(proc_program_fx_e8(&w->progs[0], "GBP"), 117000000);
    assert_i64(proc_program_fx_e8(&w->progs[0], "JPY"), 0);
    assert_i64(proc_program_fx_e8(&w->progs[0], "usd"), 0);
    assert_i64(proc_program_fx_e8(&w->progs[0], ""), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_div_half_even_table),
        cmocka_unit_test(test_div_half_even_wide),
        cmocka_unit_test(test_apply_bp_table),
        cmocka_unit_test(test_parse_decimal_table),
        cmocka_unit_test(test_fx_conversion_table),
        cmocka_unit_test(test_currency_exponents),
        fx_test(test_program_fx_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
