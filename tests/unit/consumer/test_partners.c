/*
 * test_partners.c — the worker's partner cache (consumer/cons_partners.h): lookup, and
 * the bounded cache's eviction of the least recently used clean entries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "cons_partners.h"

static void add_n(cons_partners *c, int n)
{
    char id[16];
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "p%d", i);
        assert_non_null(cons_partners_add(c, id, i % 3));
    }
}

static bool cached(cons_partners *c, const char *id)
{
    return cons_partners_get(c, id) != NULL;
}

static void test_get_and_drop(void **state)
{
    (void)state;
    cons_partners *c = cons_partners_new();
    assert_non_null(c);
    add_n(c, 5000);                               /* several grows */
    assert_int_equal(cons_partners_count(c), 5000);
    assert_true(cached(c, "p4999"));
    assert_false(cached(c, "p5000"));
    cons_partners_drop(c, "p7");
    assert_false(cached(c, "p7"));
    cons_partners_drop_partition(c, 1);
    assert_false(cached(c, "p1"));
    assert_true(cached(c, "p3"));
    assert_int_equal(cons_partners_count(c), 5000 - 1667);     /* p1, p4, .., p4999 (p7 too) */
    cons_partners_destroy(c);
}

/* Ten entries p0..p9 used in that order, then p0 and p1 again; p2 is dirty. Evicting
 * from a bound of 8 down to 5 drops the five least recently used clean ones: p3..p7. */
static void test_evict_least_recently_used_clean(void **state)
{
    (void)state;
    cons_partners *c = cons_partners_new();
    assert_non_null(c);
    add_n(c, 10);
    cons_partners_get(c, "p0");
    cons_partners_get(c, "p1");
    cons_partners_get(c, "p2")->dirty = true;
    assert_int_equal(cons_partners_evict(c, 10, 5), 0);      /* within the bound */
    assert_int_equal(cons_partners_evict(c, 8, 5), 5);
    assert_int_equal(cons_partners_count(c), 5);
    const char *kept[] = {"p0", "p1", "p2", "p8", "p9"};
    for (size_t i = 0; i < 5; i++)
        assert_true(cached(c, kept[i]));
    for (int i = 3; i <= 7; i++) {
        char id[8];
        snprintf(id, sizeof id, "p%d", i);
        assert_false(cached(c, id));
    }
    /* Dirty entries are never dropped, even when nothing else is left to drop. */
    cons_partners_get(c, "p0")->dirty = true;
    cons_partners_get(c, "p1")->dirty = true;
    cons_partners_get(c, "p8")->dirty = true;
    cons_partners_get(c, "p9")->dirty = true;
    assert_int_equal(cons_partners_evict(c, 2, 0), 0);
    assert_int_equal(cons_partners_count(c), 5);
    /* A dropped partner can be added again (reloaded) and found. */
    assert_non_null(cons_partners_add(c, "p3", 0));
    assert_true(cached(c, "p3"));
    cons_partners_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_and_drop),
        cmocka_unit_test(test_evict_least_recently_used_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
