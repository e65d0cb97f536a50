/*
 * cons_ctl_lag.c — offsets of the topics: `lag` (how far the workers' consumer group is
 * behind on the input topics; `--wait` blocks until it has caught up) and `stats` (how
 * much each topic holds).
 *
 * `lag --wait` is how scripts and tests wait for the worker without sleeping: the group's
 * offsets are committed in the same Kafka transaction as the outputs (CONTRACT §7), so lag 0
 * means every input produced so far has its outputs committed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cons_ctl.h"
#include "cons_kafka.h"

#define LAG_USAGE "lag [--wait [--until N]] [--timeout SECONDS]"
#define STATS_USAGE "stats"
#define N_INPUT_TOPICS 4
#define N_ALL_TOPICS 7
#define REQUEST_TIMEOUT_MS 10000
#define WAIT_POLL_MS 100

typedef struct {
    const char *topic;
    int32_t partitions;          /* -1: the topic does not exist */
    int64_t committed;           /* Σ committed offsets (partitions without one count 0) */
    int64_t uncommitted;         /* partitions without a committed offset */
    int64_t low, high;           /* Σ low / high watermarks */
    int64_t lag;
} topic_row;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Fills the partition count of each row. @returns 0, or -1 with err set (a missing topic
 * is an error: its lag cannot be known). */
static int read_partition_counts(rd_kafka_t *rk, topic_row *rows, int n, char *err,
                                 size_t errcap)
{
    const char *names[N_ALL_TOPICS];
    int32_t counts[N_ALL_TOPICS];

    for (int t = 0; t < n; t++)
        names[t] = rows[t].topic;
    if (cons_kafka_partition_counts(rk, n, names, counts, REQUEST_TIMEOUT_MS, err, errcap))
        return -1;
    for (int t = 0; t < n; t++) {
        if (counts[t] < 0) {
            snprintf(err, errcap, "topic %s does not exist", rows[t].topic);
            return -1;
        }
        rows[t].partitions = counts[t];
    }
    return 0;
}

/* Sums the watermarks of each row's partitions. @returns 0 or -1 with err set. */
static int read_watermarks(rd_kafka_t *rk, topic_row *rows, int n, char *err, size_t errcap)
{
    for (int t = 0; t < n; t++) {
        rows[t].low = rows[t].high = 0;
        for (int32_t p = 0; p < rows[t].partitions; p++) {
            int64_t lo = 0, hi = 0;
            rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, rows[t].topic, p, &lo,
                                                                     &hi, REQUEST_TIMEOUT_MS);
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
                snprintf(err, errcap, "watermarks of %s [%" PRId32 "]: %s", rows[t].topic, p,
                         rd_kafka_err2str(e));
                return -1;
            }
            rows[t].low += lo;
            rows[t].high += hi;
        }
    }
    return 0;
}

/* Measures the group's lag on each row's topic: per partition, end − committed offset;
 * a partition without a committed offset counts everything it still holds (high − low
 * watermark, the whole partition unless retention deleted its start), so an empty one
 * counts 0. @returns 0 or -1 with err set. */
static int measure_lag(rd_kafka_t *rk, topic_row *rows, int n, char *err, size_t errcap)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(64);
    rd_kafka_resp_err_t e;
    int rc = -1, k = 0;

    for (int t = 0; t < n; t++)
        for (int32_t p = 0; p < rows[t].partitions; p++)
            rd_kafka_topic_partition_list_add(list, rows[t].topic, p);
    if ((e = rd_kafka_committed(rk, list, REQUEST_TIMEOUT_MS)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errcap, "committed offsets of the group: %s", rd_kafka_err2str(e));
        goto done;
    }
    for (int t = 0; t < n; t++) {
        rows[t].committed = rows[t].uncommitted = rows[t].lag = 0;
        rows[t].low = rows[t].high = 0;
        for (int32_t p = 0; p < rows[t].partitions; p++, k++) {
            const rd_kafka_topic_partition_t *tp = &list->elems[k];
            int64_t lo = 0, hi = 0;
            if (tp->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                snprintf(err, errcap, "committed offset of %s [%" PRId32 "]: %s",
                         rows[t].topic, p, rd_kafka_err2str(tp->err));
                goto done;
            }
            e = rd_kafka_query_watermark_offsets(rk, rows[t].topic, p, &lo, &hi,
                                                 REQUEST_TIMEOUT_MS);
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
                snprintf(err, errcap, "watermarks of %s [%" PRId32 "]: %s", rows[t].topic, p,
                         rd_kafka_err2str(e));
                goto done;
            }
            rows[t].low += lo;
            rows[t].high += hi;
            if (tp->offset >= 0) {
                rows[t].committed += tp->offset;
                rows[t].lag += hi > tp->offset ? hi - tp->offset : 0;
            } else {
                rows[t].uncommitted++;
                rows[t].lag += hi - lo;
            }
        }
    }
    rc = 0;
done:
    rd_kafka_topic_partition_list_destroy(list);
    return rc;
}

static int64_t total_lag(const topic_row *rows, int n)
{
    int64_t sum = 0;
    for (int t = 0; t < n; t++)
        sum += rows[t].lag;
    return sum;
}

static int topic_width(const topic_row *rows, int n)
{
    int w = (int)strlen("TOPIC");
    for (int t = 0; t < n; t++)
        if ((int)strlen(rows[t].topic) > w)
            w = (int)strlen(rows[t].topic);
    return w;
}

static void print_lag(const char *group, const topic_row *rows, int n)
{
    int w = topic_width(rows, n);
    printf("consumer group %s\n", group);
    printf("%-*s  %10s  %12s  %12s  %12s\n", w, "TOPIC", "PARTITIONS", "COMMITTED", "END",
           "LAG");
    for (int t = 0; t < n; t++) {
        printf("%-*s  %10" PRId32 "  %12" PRId64 "  %12" PRId64 "  %12" PRId64, w, rows[t].topic,
               rows[t].partitions, rows[t].committed, rows[t].high, rows[t].lag);
        if (rows[t].uncommitted > 0)
            printf("  (%" PRId64 " partition%s without a committed offset)", rows[t].uncommitted,
                   rows[t].uncommitted == 1 ? "" : "s");
        printf("\n");
    }
    printf("total lag: %" PRId64 "\n", total_lag(rows, n));
}

int cons_ctl_wait_caught_up(const cons_config *cfg, long long timeout_s, char *err,
                            size_t errcap)
{
    topic_row rows[N_INPUT_TOPICS] = {
        {.topic = cfg->topic_sales},
        {.topic = cfg->topic_registrations},
        {.topic = cfg->topic_surveys},
        {.topic = cfg->topic_approvals},
    };
    rd_kafka_t *rk = cons_ctl_consumer_new(cfg, NULL, false, err, errcap);
    int rc = -1;
    int64_t deadline = cons_ctl_now_ms() + timeout_s * 1000;

    if (rk == NULL || read_partition_counts(rk, rows, N_INPUT_TOPICS, err, errcap))
        goto done;
    for (;;) {
        /* A failed measurement is retried: the coordinator may still be loading. */
        if (measure_lag(rk, rows, N_INPUT_TOPICS, err, errcap) == 0 &&
            total_lag(rows, N_INPUT_TOPICS) == 0) {
            rc = 0;
            goto done;
        }
        if (cons_ctl_now_ms() >= deadline) {
            snprintf(err, errcap, "group %s still behind after %lld s", cfg->group_id,
                     timeout_s);
            goto done;
        }
        sleep_ms(WAIT_POLL_MS);
    }
done:
    if (rk != NULL) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    return rc;
}

int cons_ctl_lag(const cons_config *cfg, int argc, char **argv)
{
    topic_row rows[N_INPUT_TOPICS] = {
        {.topic = cfg->topic_sales},
        {.topic = cfg->topic_registrations},
        {.topic = cfg->topic_surveys},
        {.topic = cfg->topic_approvals},
    };
    bool wait = false;
    long long timeout_s = 120;
    long long until = 0;             /* --wait returns once the total lag is <= this */
    rd_kafka_t *rk = NULL;
    int rc = CONS_CTL_FAILED;
    char err[1024];

    for (int i = 1; i < argc; i++) {
        const char *val = NULL;
        if (strcmp(argv[i], "--wait") == 0)
            wait = true;
        else if (cons_ctl_opt(argc, argv, &i, "--timeout", &val) > 0 &&
                 cons_ctl_parse_int(val, 0, 86400 * 7, &timeout_s) == 0)
            continue;
        else if (cons_ctl_opt(argc, argv, &i, "--until", &val) > 0 &&
                 cons_ctl_parse_int(val, 0, INT64_MAX, &until) == 0)
            continue;
        else
            return cons_ctl_usage(LAG_USAGE);
    }
    /* The workers' own group.id: only asked for its committed offsets, never joined. */
    if ((rk = cons_ctl_consumer_new(cfg, NULL, false, err, sizeof err)) == NULL)
        goto fail;
    if (read_partition_counts(rk, rows, N_INPUT_TOPICS, err, sizeof err))
        goto fail;
    if (!wait) {
        if (measure_lag(rk, rows, N_INPUT_TOPICS, err, sizeof err))
            goto fail;
        print_lag(cfg->group_id, rows, N_INPUT_TOPICS);
        rc = CONS_CTL_OK;
        goto done;
    }
    /* --wait: a failed measurement is retried until the deadline (the group coordinator
     * may be loading, a transaction may hold the offsets unstable for a moment). */
    int64_t deadline = cons_ctl_now_ms() + timeout_s * 1000;
    bool measured = false;
    err[0] = '\0';
    for (;;) {
        if (measure_lag(rk, rows, N_INPUT_TOPICS, err, sizeof err) == 0) {
            measured = true;
            err[0] = '\0';
            if (total_lag(rows, N_INPUT_TOPICS) <= until) {
                print_lag(cfg->group_id, rows, N_INPUT_TOPICS);
                rc = CONS_CTL_OK;
                goto done;
            }
        }
        if (cons_ctl_now_ms() >= deadline)
            break;
        sleep_ms(WAIT_POLL_MS);
    }
    if (measured)
        print_lag(cfg->group_id, rows, N_INPUT_TOPICS);
    fprintf(stderr, "incentivectl lag: still behind after %lld s%s%s\n", timeout_s,
            err[0] ? ": " : "", err);
    rc = CONS_CTL_TIMEOUT;
    goto done;
fail:
    fprintf(stderr, "incentivectl lag: %s\n", err);
done:
    if (rk != NULL) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    return rc;
}

int cons_ctl_stats(const cons_config *cfg, int argc, char **argv)
{
    topic_row rows[N_ALL_TOPICS] = {
        {.topic = cfg->topic_sales},   {.topic = cfg->topic_registrations},
        {.topic = cfg->topic_surveys}, {.topic = cfg->topic_approvals},
        {.topic = cfg->topic_payouts},
        {.topic = cfg->topic_alerts},  {.topic = cfg->topic_dead_letters},
    };
    rd_kafka_t *rk = NULL;
    int rc = CONS_CTL_FAILED, w;
    char err[1024], group[128];

    (void)argv;
    if (argc != 1)
        return cons_ctl_usage(STATS_USAGE);
    cons_ctl_throwaway_group("stats", group, sizeof group);
    if ((rk = cons_ctl_consumer_new(cfg, group, false, err, sizeof err)) == NULL)
        goto fail;
    if (read_partition_counts(rk, rows, N_ALL_TOPICS, err, sizeof err) ||
        read_watermarks(rk, rows, N_ALL_TOPICS, err, sizeof err))
        goto fail;
    w = topic_width(rows, N_ALL_TOPICS);
    printf("%-*s  %10s  %12s  %12s\n", w, "TOPIC", "PARTITIONS", "OFFSETS", "END");
    for (int t = 0; t < N_ALL_TOPICS; t++)
        printf("%-*s  %10" PRId32 "  %12" PRId64 "  %12" PRId64 "\n", w, rows[t].topic,
               rows[t].partitions, rows[t].high - rows[t].low, rows[t].high);
    printf("(OFFSETS = end − start offsets: on the transactional output topics they also "
           "count one commit marker per partition and transaction)\n");
    rc = CONS_CTL_OK;
    goto done;
fail:
    fprintf(stderr, "incentivectl stats: %s\n", err);
done:
    if (rk != NULL) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    return rc;
}
