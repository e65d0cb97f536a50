/*
 * test_period.c — CONTRACT §5/§6.3: calendar periods (UTC, by occurred_at), month or quarter,
 * named "2026-11" / "2026-Q4". Instants come from `date -u -d ... +%s`; keys are
 * year*12 + month-1 and year*4 + quarter-1 as proc_period.h documents, worked by hand.
 */
#include "test_fixtures.h"

typedef struct {
    const char *what;
    int64_t ms;
    int32_t month_key;
    const char *month;
    int32_t quarter_key;
    const char *quarter;
} key_row;

static const key_row key_rows[] = {
    {"2026-12-31T23:59:59.999Z", 1798761599999LL, 2026 * 12 + 11, "2026-12", 2026 * 4 + 3, "2026-Q4"},
    {"2027-01-01T00:00:00.000Z", 1798761600000LL, 2027 * 12 + 0, "2027-01", 2027 * 4 + 0, "2027-Q1"},
    {"2026-09-30T23:59:59.999Z", 1790812799999LL, 2026 * 12 + 8, "2026-09", 2026 * 4 + 2, "2026-Q3"},
    {"2026-10-01T00:00:00.000Z", 1790812800000LL, 2026 * 12 + 9, "2026-10", 2026 * 4 + 3, "2026-Q4"},
    {"2026-11-30T00:00:00.000Z", 1795996800000LL, 2026 * 12 + 10, "2026-11", 2026 * 4 + 3, "2026-Q4"},
    {"2026-07-01T00:00:00.000Z", 1782864000000LL, 2026 * 12 + 6, "2026-07", 2026 * 4 + 2, "2026-Q3"},
    {"2026-06-30T23:59:59.999Z", 1782863999999LL, 2026 * 12 + 5, "2026-06", 2026 * 4 + 1, "2026-Q2"},
    {"1970-01-01T00:00:00.000Z", 0, 1970 * 12, "1970-01", 1970 * 4, "1970-Q1"},
    {"1969-12-31T23:59:59.999Z", -1, 1969 * 12 + 11, "1969-12", 1969 * 4 + 3, "1969-Q4"},
    {"1969-12-31T00:00:00.000Z", -86400000LL, 1969 * 12 + 11, "1969-12", 1969 * 4 + 3, "1969-Q4"},
    {"1969-12-01T00:00:00.000Z", -2678400000LL, 1969 * 12 + 11, "1969-12", 1969 * 4 + 3, "1969-Q4"},
    {"1969-11-30T23:59:59.999Z", -2678400001LL, 1969 * 12 + 10, "1969-11", 1969 * 4 + 3, "1969-Q4"},
    {"1969-10-01T00:00:00.000Z", -7948800000LL, 1969 * 12 + 9, "1969-10", 1969 * 4 + 3, "1969-Q4"},
    {"1969-09-30T23:59:59.999Z", -7948800001LL, 1969 * 12 + 8, "1969-09", 1969 * 4 + 2, "1969-Q3"},
    {"1969-07-01T00:00:00.000Z", -15897600000LL, 1969 * 12 + 6, "1969-07", 1969 * 4 + 2, "1969-Q3"},
    {"1900-01-01T00:00:00.000Z", -2208988800000LL, 1900 * 12, "1900-01", 1900 * 4, "1900-Q1"},
    {"1899-12-31T23:59:59.999Z", -2208988800001LL, 1899 * 12 + 11, "1899-12", 1899 * 4 + 3, "1899-Q4"},
    {"1900-03-01T00:00:00.000Z", -2203891200000LL, 1900 * 12 + 2, "1900-03", 1900 * 4, "1900-Q1"},
    {"1900-02-28T23:59:59.999Z", -2203891200001LL, 1900 * 12 + 1, "1900-02", 1900 * 4, "1900-Q1"},
    {"2024-02-29T00:00:00.000Z", 1709164800000LL, 2024 * 12 + 1, "2024-02", 2024 * 4, "2024-Q1"},
    {"2024-02-29T23:59:59.999Z", 1709251199999LL, 2024 * 12 + 1, "2024-02", 2024 * 4, "2024-Q1"},
    {"2024-03-01T00:00:00.000Z", 1709251200000LL, 2024 * 12 + 2, "2024-03", 2024 * 4, "2024-Q1"},
    {"2100-03-01T00:00:00.000Z", 4107542400000LL, 2100 * 12 + 2, "2100-03", 2100 * 4, "2100-Q1"},
    {"2100-02-28T23:59:59.999Z", 4107542399999LL, 2100 * 12 + 1, "2100-02", 2100 * 4, "2100-Q1"},
};

static void test_period_keys_and_names(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof key_rows / sizeof key_rows[0]; i++) {
        const key_row *r = &key_rows[i];
        char name[PROC_PERIOD_CAP];
        int32_t mk = proc_period_key(PROC_PERIOD_MONTH, r->ms);
        int32_t qk = proc_period_key(PROC_PERIOD_QUARTER, r->ms);
        if (mk != r->month_key || qk != r->quarter_key)
            fail_msg("%s: keys %d/%d, expected %d/%d", r->what, mk, qk, r->month_key,
                     r->quarter_key);
        proc_period_name(PROC_PERIOD_MONTH, mk, name, sizeof name);
        if (strcmp(name, r->month) != 0)
            fail_msg("%s: month '%s', expected '%s'", r->what, name, r->month);
        proc_period_name(PROC_PERIOD_QUARTER, qk, name, sizeof name);
        if (strcmp(name, r->quarter) != 0)
            fail_msg("%s: quarter '%s', expected '%s'", r->what, name, r->quarter);
    }
}

/* The names are written by hand for years 0..9999 and by snprintf elsewhere: both must
 * give what snprintf gives, across the edges of the hand-written range. */
static void test_period_names_equal_snprintf(void **state)
{
    (void)state;
    static const int64_t years[] = {-10000, -1, 0, 9, 99, 999, 1969, 9999, 10000, 123456};
    for (size_t i = 0; i < sizeof years / sizeof years[0]; i++)
        for (int n = 0; n < 12; n++) {
            char got[PROC_PERIOD_CAP], want[PROC_PERIOD_CAP];
            proc_period_name(PROC_PERIOD_MONTH, (int32_t)(years[i] * 12 + n), got, sizeof got);
            snprintf(want, sizeof want, "%04lld-%02d", (long long)years[i], n + 1);
            assert_string_equal(got, want);
            if (n >= 4)
                continue;
            proc_period_name(PROC_PERIOD_QUARTER, (int32_t)(years[i] * 4 + n), got, sizeof got);
            snprintf(want, sizeof want, "%04lld-Q%d", (long long)years[i], n + 1);
            assert_string_equal(got, want);
        }
}

typedef struct {
    proc_period_kind kind;
    int32_t key;
    int64_t start, end;
} bound_row;

static const bound_row bound_rows[] = {
    {PROC_PERIOD_QUARTER, 2026 * 4 + 3, 1790812800000LL, 1798761600000LL},  /* 2026-Q4 */
    {PROC_PERIOD_QUARTER, 2026 * 4 + 2, 1782864000000LL, 1790812800000LL},  /* 2026-Q3 */
    {PROC_PERIOD_QUARTER, 2027 * 4 + 0, 1798761600000LL, 1806537600000LL},  /* 2027-Q1 */
    {PROC_PERIOD_QUARTER, 1969 * 4 + 3, -7948800000LL, 0},                  /* 1969-Q4 */
    {PROC_PERIOD_QUARTER, 1899 * 4 + 3, -2216937600000LL, -2208988800000LL},/* 1899-Q4 */
    {PROC_PERIOD_MONTH, 2027 * 12 + 0, 1798761600000LL, 1801440000000LL},   /* 2027-01 */
    {PROC_PERIOD_MONTH, 2026 * 12 + 11, 1796083200000LL, 1798761600000LL},  /* 2026-12 */
    {PROC_PERIOD_MONTH, 2024 * 12 + 1, 1706745600000LL, 1709251200000LL},   /* 2024-02, leap */
    {PROC_PERIOD_MONTH, 1969 * 12 + 11, -2678400000LL, 0},                  /* 1969-12 */
    {PROC_PERIOD_MONTH, 1900 * 12 + 1, -2206310400000LL, -2203891200000LL}, /* 1900-02, 28 days */
};

static void test_period_bounds(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bound_rows / sizeof bound_rows[0]; i++) {
        const bound_row *r = &bound_rows[i];
        int64_t s = proc_period_start_ms(r->kind, r->key);
        int64_t e = proc_period_end_ms(r->kind, r->key);
        if (s != r->start || e != r->end)
            fail_msg("row %zu: [%lld, %lld), expected [%lld, %lld)", i, (long long)s,
                     (long long)e, (long long)r->start, (long long)r->end);
    }
}

/* Every period's first and last millisecond map back to it, and consecutive periods
 * touch: 1890..2110, both kinds. */
static void test_period_round_trip(void **state)
{
    (void)state;
    for (int kind = PROC_PERIOD_MONTH; kind <= PROC_PERIOD_QUARTER; kind++) {
        int per_year = kind == PROC_PERIOD_MONTH ? 12 : 4;
        for (int32_t key = 1890 * per_year; key < 2110 * per_year; key++) {
            int64_t s = proc_period_start_ms((proc_period_kind)kind, key);
            int64_t e = proc_period_end_ms((proc_period_kind)kind, key);
            assert_true(s % DAY_MS == 0);
            assert_true(e > s);
            assert_int_equal(proc_period_key((proc_period_kind)kind, s), key);
            assert_int_equal(proc_period_key((proc_period_kind)kind, e - 1), key);
            assert_int_equal(proc_period_key((proc_period_kind)kind, e), key + 1);
            assert_i64(proc_period_start_ms((proc_period_kind)kind, key + 1), e);
            int64_t days = (e - s) / DAY_MS;
            if (kind == PROC_PERIOD_MONTH)
                assert_true(days >= 28 && days <= 31);
            else
                assert_true(days >= 90 && days <= 92);
        }
    }
}

typedef struct {
    int64_t y;
    unsigned m, d;
    int64_t days;
} civil_row;

static const civil_row civil_rows[] = {
    {1970, 1, 1, 0},
    {1969, 12, 31, -1},
    {2026, 10, 1, 20727},
    {2026, 12, 1, 20788},
    {2000, 2, 29, 11016},
    {2000, 3, 1, 11017},
    {1900, 2, 28, -25509},
    {1900, 3, 1, -25508},
    {1600, 1, 1, -135140},
    {2100, 2, 28, 47540},
    {2100, 3, 1, 47541},
};

static void test_days_from_civil(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof civil_rows / sizeof civil_rows[0]; i++) {
        const civil_row *r = &civil_rows[i];
        int64_t got = proc_days_from_civil(r->y, r->m, r->d);
        if (got != r->days)
            fail_msg("%04lld-%02u-%02u: %lld days, expected %lld", (long long)r->y, r->m, r->d,
                     (long long)got, (long long)r->days);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_period_keys_and_names),
        cmocka_unit_test(test_period_names_equal_snprintf),
        cmocka_unit_test(test_period_bounds),
        cmocka_unit_test(test_period_round_trip),
        cmocka_unit_test(test_days_from_civil),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
