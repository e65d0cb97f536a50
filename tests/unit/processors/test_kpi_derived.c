/* The derived program metrics (CONTRACT §9), worked by hand: half-even at the division. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proc_kpi.h"

typedef struct {
    int64_t a, b, want;
} row;

static void test_payout_ratio(void **state)
{
    (void)state;
    static const row rows[] = {
        {50000, 1000000, 500},      /* 5 % */
        {1, 20000, 0},              /* 0.5 bp -> 0 (even) */
        {3, 20000, 2},              /* 1.5 bp -> 2 (even) */
        {-250, 1000000, -2},        /* clawbacks exceed payouts: -2.5 bp -> -2 */
        {100, 0, 0},                /* no revenue: 0 by definition */
        {100, -5, 0},               /* negative revenue: 0 as well */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_int_equal(proc_kpi_payout_ratio_bp(rows[i].a, rows[i].b), rows[i].want);
}

static void test_conversion(void **state)
{
    (void)state;
    static const row rows[] = {
        {1, 3, 3333},   /* 3333.33 */
        {2, 3, 6667},   /* 6666.67 */
        {1, 8, 1250},
        {0, 0, 0},      /* nothing registered */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_int_equal(proc_kpi_conversion_bp(rows[i].a, rows[i].b), rows[i].want);
}

static void test_nps(void **state)
{
    (void)state;
    int64_t nps = 99;
    assert_false(proc_kpi_nps(0, 0, 0, &nps));
    assert_int_equal(nps, 99);
    assert_true(proc_kpi_nps(1, 2, 8, &nps));   /* -12.5 -> -12 */
    assert_int_equal(nps, -12);
    assert_true(proc_kpi_nps(3, 0, 8, &nps));   /* 37.5 -> 38 */
    assert_int_equal(nps, 38);
    assert_true(proc_kpi_nps(5, 0, 5, &nps));
    assert_int_equal(nps, 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payout_ratio),
        cmocka_unit_test(test_conversion),
        cmocka_unit_test(test_nps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
