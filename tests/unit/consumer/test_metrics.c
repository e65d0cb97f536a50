/*
 * test_metrics.c — the Prometheus exposition of the worker's numbers: histogram buckets
 * (edges inclusive, cumulative in the text, +Inf = count), one series per label value,
 * base units, readiness including "idle by design".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cons_metrics.h"

/* The exposition of m as a malloc'd string. */
static char *expose(const cons_metrics *m)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(cons_metrics_write(f, m, "w1", "1.2.3"), 0);
    fclose(f);
    return text;
}

static void has_line(const char *text, const char *line)
{
    char *want = malloc(strlen(line) + 3);
    sprintf(want, "\n%s\n", line);
    if (strstr(text, want) == NULL)
        fail_msg("missing line: %s", line);
    free(want);
}

static void test_histogram_buckets(void **state)
{
    (void)state;
    cons_histogram h = {0};
    cons_histogram_observe(&h, 0.001);   /* on an edge: counted in that bucket (le) */
    cons_histogram_observe(&h, 0.0011);
    cons_histogram_observe(&h, -1);      /* a clock step back counts as 0 */
    cons_histogram_observe(&h, 100);     /* beyond the last bound: +Inf only */
    assert_int_equal(h.counts[0], 2);
    assert_int_equal(h.counts[1], 1);
    assert_int_equal(h.counts[CONS_METRICS_BUCKETS], 1);
    assert_int_equal(h.count, 4);
    assert_true(h.sum > 100.002 && h.sum < 100.0022);

    cons_metrics m = {0};
    m.batch_commit = h;
    char *t = expose(&m);
    has_line(t, "pi_batch_commit_duration_seconds_bucket{worker=\"w1\",le=\"0.001\"} 2");
    has_line(t, "pi_batch_commit_duration_seconds_bucket{worker=\"w1\",le=\"0.0025\"} 3");
    has_line(t, "pi_batch_commit_duration_seconds_bucket{worker=\"w1\",le=\"30\"} 3");
    has_line(t, "pi_batch_commit_duration_seconds_bucket{worker=\"w1\",le=\"+Inf\"} 4");
    has_line(t, "pi_batch_commit_duration_seconds_count{worker=\"w1\"} 4");
    has_line(t, "# TYPE pi_batch_commit_duration_seconds histogram");
    free(t);
}

static void test_labels(void **state)
{
    (void)state;
    cons_metrics m = {0};
    m.events = 92;
    m.dead_letters[PROC_DLQ_LATE_EVENT] = 3;
    m.payouts[PROC_PAYOUT_CLAWBACK] = 2;
    m.alerts[PROC_ALERT_DEAL_CONFLICT] = 1;
    cons_histogram_observe(&m.redis[CONS_REDIS_LOAD_SALE], 0.002);
    cons_metrics_lag lag[2] = {{"partner.sales", 3, 17}, {"partner.surveys", 3, -1}};
    m.lag = lag;
    m.n_lag = 2;
    char *t = expose(&m);
    has_line(t, "pi_build_info{worker=\"w1\",version=\"1.2.3\"} 1");
    has_line(t, "pi_events_total{worker=\"w1\"} 92");
    has_line(t, "pi_dead_letters_total{worker=\"w1\",reason=\"LATE_EVENT\"} 3");
    has_line(t, "pi_dead_letters_total{worker=\"w1\",reason=\"DECODE_ERROR\"} 0");
    assert_null(strstr(t, "reason=\"NONE\""));           /* not a dead letter */
    has_line(t, "pi_payouts_total{worker=\"w1\",kind=\"CLAWBACK\"} 2");
    has_line(t, "pi_payouts_total{worker=\"w1\",kind=\"REBATE\"} 0");
    has_line(t, "pi_alerts_total{worker=\"w1\",kind=\"DEAL_CONFLICT\"} 1");
    has_line(t, "pi_redis_call_duration_seconds_count{worker=\"w1\",call=\"load_sale\"} 1");
    has_line(t, "pi_redis_call_duration_seconds_bucket{worker=\"w1\",call=\"load_sale\",le=\"0.0025\"} 1");
    has_line(t, "pi_consumer_lag_records{worker=\"w1\",topic=\"partner.sales\",partition=\"3\"} 17");
    assert_null(strstr(t, "partner.surveys"));           /* unknown lag: no series */
    assert_non_null(strstr(t, "\nprocess_open_fds{worker=\"w1\"} "));
    assert_non_null(strstr(t, "\nprocess_resident_memory_bytes{worker=\"w1\"} "));
    free(t);
}

static void test_no_milliseconds(void **state)
{
    (void)state;
    cons_metrics m = {0};
    char *t = expose(&m);
    assert_null(strstr(t, "_ms{"));
    assert_null(strstr(t, "_ms "));
    free(t);
}

static void test_ready(void **state)
{
    (void)state;
    cons_metrics m = {0};
    const char *why = NULL;
    assert_false(cons_metrics_ready(&m, &why));
    assert_string_equal(why, "not ready: not in the consumer group yet");
    m.in_group = true;
    assert_true(cons_metrics_ready(&m, &why));
    assert_string_equal(why, "ready: idle by design (no partition assigned)");
    m.owned_partitions = 2;
    m.reconcile_pending = true;
    assert_false(cons_metrics_ready(&m, &why));
    assert_string_equal(why, "not ready: reconciling");
    m.reconcile_pending = false;
    assert_true(cons_metrics_ready(&m, &why));
    assert_string_equal(why, "ready");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram_buckets),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_no_milliseconds),
        cmocka_unit_test(test_ready),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
