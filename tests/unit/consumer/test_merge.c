/*
 * test_merge.c — consume.order=timestamp: per partition, the input topics merged by
 * (record timestamp, topic rank), a record released only when no topic of its partition
 * can still deliver an earlier one (cons_merge.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cons_merge.h"

enum { SALES, REGS, SURVEYS, N_T };
static const int rank[N_T] = {1, 0, 2};   /* registrations before sales at equal times */

static int dropped;
static void drop(void *item)
{
    (void)item;
    dropped++;
}

/* Items are small positive integers cast to pointers (NULL means "none"): the merge
 * never looks inside. */
#define ITEM(n) ((void *)(intptr_t)(n))
#define NUM(p) ((int)(intptr_t)(p))

static int pop_num(cons_merge *m, int32_t p)
{
    void *it = cons_merge_pop(m, p, NULL, NULL);
    return it == NULL ? -1 : NUM(it);
}

/* An empty topic that has not reported its end blocks its partition: a sale must not go
 * ahead of the enrolment that may still be on its way. */
static void empty_topic_blocks_until_its_end(void **state)
{
    (void)state;
    cons_merge *m = cons_merge_new(2, N_T, rank);
    assert_non_null(m);
    assert_int_equal(cons_merge_push(m, 0, SALES, 100, 0, ITEM(1)), 0);
    assert_int_equal(pop_num(m, 0), -1);
    cons_merge_eof(m, 0, SURVEYS);
    assert_int_equal(pop_num(m, 0), -1);                 /* registrations still open */
    assert_int_equal(cons_merge_push(m, 0, REGS, 50, 0, ITEM(2)), 0);
    assert_int_equal(pop_num(m, 0), 2);                   /* the older record first */
    assert_int_equal(pop_num(m, 0), -1);                  /* registrations open again */
    cons_merge_eof(m, 0, REGS);
    assert_int_equal(pop_num(m, 0), 1);
    assert_int_equal(pop_num(m, 0), -1);
    /* Partition 1 is independent of partition 0. */
    assert_int_equal(pop_num(m, 1), -1);
    cons_merge_free(m, drop);
}

/* Heads compare by timestamp, then by rank; within a topic, offset order is kept even
 * when timestamps go backwards (a producer's clock is not ours to correct). */
static void timestamp_then_rank_then_offset(void **state)
{
    (void)state;
    cons_merge *m = cons_merge_new(1, N_T, rank);
    int topic = -1;
    int64_t offset = -1;
    assert_non_null(m);
    assert_int_equal(cons_merge_push(m, 0, SALES, 10, 7, ITEM(1)), 0);
    assert_int_equal(cons_merge_push(m, 0, SALES, 5, 8, ITEM(2)), 0);
    assert_int_equal(cons_merge_push(m, 0, REGS, 10, 3, ITEM(3)), 0);
    assert_int_equal(cons_merge_push(m, 0, SURVEYS, 12, 0, ITEM(4)), 0);
    cons_merge_eof(m, 0, SALES);
    cons_merge_eof(m, 0, REGS);
    cons_merge_eof(m, 0, SURVEYS);
    assert_int_equal(NUM(cons_merge_pop(m, 0, &topic, &offset)), 3);  /* 10, rank 0 */
    assert_int_equal(topic, REGS);
    assert_int_equal(offset, 3);
    assert_int_equal(pop_num(m, 0), 1);                   /* 10, rank 1 */
    assert_int_equal(pop_num(m, 0), 2);                   /* 5, but after offset 7 */
    assert_int_equal(pop_num(m, 0), 4);
    assert_int_equal(pop_num(m, 0), -1);
    cons_merge_free(m, drop);
}

/* A push after the end mark clears it; a topic with records held never blocks. */
static void push_clears_the_end_mark(void **state)
{
    (void)state;
    cons_merge *m = cons_merge_new(1, N_T, rank);
    assert_non_null(m);
    cons_merge_eof(m, 0, SALES);
    cons_merge_eof(m, 0, REGS);
    cons_merge_eof(m, 0, SURVEYS);
    assert_int_equal(cons_merge_push(m, 0, SALES, 1, 0, ITEM(1)), 0);
    assert_int_equal(pop_num(m, 0), 1);
    assert_int_equal(pop_num(m, 0), -1);                  /* sales open again */
    assert_int_equal(cons_merge_push(m, 0, REGS, 9, 0, ITEM(2)), 0);
    assert_int_equal(pop_num(m, 0), -1);                  /* a sale before 9 may come */
    assert_int_equal(cons_merge_push(m, 0, SALES, 3, 1, ITEM(3)), 0);
    assert_int_equal(pop_num(m, 0), 3);
    cons_merge_eof(m, 0, SALES);
    assert_int_equal(pop_num(m, 0), 2);
    cons_merge_free(m, drop);
}

/* Growth past the first array and the slide back: 10,000 records in, the same out in
 * order; reset and free hand every held item to drop. */
static void grows_slides_resets(void **state)
{
    (void)state;
    cons_merge *m = cons_merge_new(1, N_T, rank);
    assert_non_null(m);
    cons_merge_eof(m, 0, REGS);
    cons_merge_eof(m, 0, SURVEYS);
    int next_in = 0, next_out = 0;
    for (int round = 0; round < 100; round++) {
        for (int k = 0; k < 100; k++, next_in++)
            assert_int_equal(cons_merge_push(m, 0, SALES, next_in, next_in, ITEM(next_in + 1)), 0);
        for (int k = 0; k < 60; k++)
            assert_int_equal(pop_num(m, 0), 1 + next_out++);
    }
    assert_int_equal(cons_merge_buffered(m, 0, SALES), (size_t)(next_in - next_out));
    assert_int_equal(cons_merge_first_offset(m, 0, SALES), next_out);
    assert_int_equal(cons_merge_first_offset(m, 0, REGS), -1);
    dropped = 0;
    cons_merge_reset(m, 0, drop);
    assert_int_equal(dropped, next_in - next_out);
    assert_int_equal(cons_merge_buffered(m, 0, SALES), 0);
    assert_int_equal(pop_num(m, 0), -1);                  /* end marks went with it */
    assert_int_equal(cons_merge_push(m, 0, SURVEYS, 1, 0, ITEM(5)), 0);
    dropped = 0;
    cons_merge_free(m, drop);
    assert_int_equal(dropped, 1);
}

/* One topic forgotten: ended, it blocks no one (a partition not owned); not ended, it
 * waits for its records again (fetched anew from an offset). The others keep theirs. */
static void reset_one_topic(void **state)
{
    (void)state;
    cons_merge *m = cons_merge_new(1, N_T, rank);
    assert_non_null(m);
    cons_merge_eof(m, 0, SURVEYS);
    assert_int_equal(cons_merge_push(m, 0, SALES, 5, 0, ITEM(1)), 0);
    assert_int_equal(cons_merge_push(m, 0, REGS, 7, 0, ITEM(2)), 0);
    dropped = 0;
    cons_merge_reset_topic(m, 0, REGS, drop, false);
    assert_int_equal(dropped, 1);
    assert_int_equal(pop_num(m, 0), -1);                  /* registrations to be heard */
    cons_merge_reset_topic(m, 0, REGS, drop, true);
    assert_int_equal(pop_num(m, 0), 1);                   /* sales kept its record */
    assert_int_equal(cons_merge_buffered(m, 0, SALES), 0);
    cons_merge_free(m, drop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_topic_blocks_until_its_end),
        cmocka_unit_test(timestamp_then_rank_then_offset),
        cmocka_unit_test(push_clears_the_end_mark),
        cmocka_unit_test(grows_slides_resets),
        cmocka_unit_test(reset_one_topic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
