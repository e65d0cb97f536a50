/*
 * test_text.c — proc_text's copies and number formatting write exactly what the snprintf
 * calls they replaced wrote: every power of ten and its neighbours, both int64 ends,
 * hex of every nibble position, and cuts at the capacity.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proc_text.h"

static void expect_i64(int64_t v)
{
    char want[32], got[PROC_I64_CAP + 1];
    memset(got, 'x', sizeof got);
    int n = snprintf(want, sizeof want, "%" PRId64, v);
    assert_int_equal(proc_fmt_i64(got, v), n);
    assert_string_equal(got, want);
}

static void test_fmt_i64(void **state)
{
    (void)state;
    expect_i64(0);
    expect_i64(INT64_MAX);
    expect_i64(INT64_MIN);
    expect_i64(INT64_MIN + 1);
    for (int64_t p = 1; p <= INT64_MAX / 10; p *= 10)
        for (int64_t d = -1; d <= 1; d++) {
            expect_i64(p + d);
            expect_i64(-(p + d));
        }
}

static void test_fmt_hex16(void **state)
{
    (void)state;
    for (int shift = 0; shift < 64; shift += 4)
        for (uint64_t nib = 0; nib < 16; nib++) {
            uint64_t v = nib << shift | (shift ? 1 : 0);
            char want[32], got[17];
            snprintf(want, sizeof want, "%016" PRIx64, v);
            proc_fmt_hex16(got, v);
            got[16] = '\0';
            assert_string_equal(got, want);
        }
}

static void test_copy(void **state)
{
    (void)state;
    char dst[8];
    assert_int_equal(proc_copy(dst, sizeof dst, "abc"), 3);
    assert_string_equal(dst, "abc");
    assert_int_equal(proc_copy(dst, sizeof dst, "abcdefgh"), 7);   /* cut, as snprintf */
    assert_string_equal(dst, "abcdefg");
    assert_int_equal(proc_copy(dst, sizeof dst, ""), 0);
    assert_string_equal(dst, "");
    assert_int_equal(proc_copy(dst, 1, "abc"), 0);
    assert_string_equal(dst, "");
}

static void test_concat(void **state)
{
    (void)state;
    char dst[8];
    assert_int_equal(proc_concat(dst, sizeof dst, "ab", ":", "cd", (char *)NULL), 5);
    assert_string_equal(dst, "ab:cd");
    assert_int_equal(proc_concat(dst, sizeof dst, "abcd", "efgh", "ij", (char *)NULL), 7);
    assert_string_equal(dst, "abcdefg");                            /* cut, as snprintf */
    assert_int_equal(proc_concat(dst, sizeof dst, (char *)NULL), 0);
    assert_string_equal(dst, "");
    assert_int_equal(proc_concat(dst, 1, "abc", "d", (char *)NULL), 0);
    assert_string_equal(dst, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt_i64),
        cmocka_unit_test(test_fmt_hex16),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_concat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
