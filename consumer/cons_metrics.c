/*
 * cons_metrics.c — histograms and the Prometheus text exposition of the worker's numbers
 * (see cons_metrics.h). No I/O but the stream it is given.
 */
#include "cons_metrics.h"

#include <inttypes.h>
#include <string.h>

/* 1 ms to 30 s: a batch commit takes milliseconds, a record's latency up to seconds
 * when a backlog is worked off. */
const double cons_metrics_bucket_bounds[CONS_METRICS_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

void cons_histogram_observe(cons_histogram *h, double seconds)
{
    int b = 0;
    if (seconds < 0)
        seconds = 0;
    while (b < CONS_METRICS_BUCKETS && seconds > cons_metrics_bucket_bounds[b])
        b++;
    h->counts[b]++;
    h->count++;
    h->sum += seconds;
}

const char *cons_redis_call_name(cons_redis_call c)
{
    static const char *const names[CONS_REDIS_CALL_COUNT] = {
        "commit", "acquire", "load_partner", "load_sale", "load_deal", "outbox"};
    return (unsigned)c < CONS_REDIS_CALL_COUNT ? names[c] : "?";
}

bool cons_metrics_ready(const cons_metrics *m, const char **why)
{
    if (!m->in_group) {
        *why = "not ready: not in the consumer group yet";
        return false;
    }
    if (m->reconcile_pending) {
        *why = "not ready: reconciling";
        return false;
    }
    *why = m->owned_partitions > 0 ? "ready" : "ready: idle by design (no partition assigned)";
    return true;
}

static void head(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(FILE *out, const char *name, const char *help, const char *w, uint64_t v)
{
    head(out, name, "counter", help);
    fprintf(out, "%s{%s} %" PRIu64 "\n", name, w, v);
}

static void gauge(FILE *out, const char *name, const char *help, const char *w, double v)
{
    head(out, name, "gauge", help);
    fprintf(out, "%s{%s} %.17g\n", name, w, v);
}

/* One series per value of a label, every value listed (0 included), so a dashboard's
 * rate() has a series from the first scrape on. */
static void labelled(FILE *out, const char *name, const char *help, const char *w,
                     const char *label, const uint64_t *v, int n, const char *(*value)(int))
{
    head(out, name, "counter", help);
    for (int i = 0; i < n; i++)
        fprintf(out, "%s{%s,%s=\"%s\"} %" PRIu64 "\n", name, w, label, value(i), v[i]);
}

static void histogram_series(FILE *out, const char *name, const char *labels,
                             const cons_histogram *h)
{
    uint64_t cum = 0;
    for (int b = 0; b < CONS_METRICS_BUCKETS; b++) {
        cum += h->counts[b];
        fprintf(out, "%s_bucket{%s,le=\"%g\"} %" PRIu64 "\n", name, labels,
                cons_metrics_bucket_bounds[b], cum);
    }
    fprintf(out, "%s_bucket{%s,le=\"+Inf\"} %" PRIu64 "\n", name, labels, h->count);
    fprintf(out, "%s_sum{%s} %.9g\n%s_count{%s} %" PRIu64 "\n", name, labels, h->sum, name,
            labels, h->count);
}

static const char *reason_label(int i) { return proc_dlq_reason_name((proc_dlq_reason)(i + 1)); }
static const char *payout_label(int i) { return proc_payout_kind_name((proc_payout_kind)i); }
static const char *alert_label(int i) { return proc_alert_kind_name((proc_alert_kind)i); }

int cons_metrics_write(FILE *out, const cons_metrics *m, const char *worker_id,
                       const char *version)
{
    char w[192], l[320];
    snprintf(w, sizeof w, "worker=\"%s\"", worker_id);

    head(out, "pi_build_info", "gauge", "Version of the running worker (value always 1).");
    fprintf(out, "pi_build_info{%s,version=\"%s\"} 1\n", w, version);
    counter(out, "pi_events_total", "Input records handled.", w, m->events);
    /* Reason 0 is "none", not a dead letter: the series start at 1. */
    labelled(out, "pi_dead_letters_total", "Input records sent to the dead-letter topic, by reason.",
             w, "reason", m->dead_letters + 1, PROC_DLQ_REASON_COUNT - 1, reason_label);
    counter(out, "pi_duplicates_total", "Input records ignored as already applied.", w,
            m->duplicates);
    labelled(out, "pi_payouts_total", "Payout events produced, by kind.", w, "kind", m->payouts,
             PROC_PAYOUT_KIND_COUNT, payout_label);
    labelled(out, "pi_alerts_total", "Alert events produced, by kind.", w, "kind", m->alerts,
             PROC_ALERT_KIND_COUNT, alert_label);
    counter(out, "pi_batches_total", "Batches committed (ledger calls + Kafka transaction).", w,
            m->batches);
    counter(out, "pi_reconciled_entries_total", "Outbox entries republished after a takeover.",
            w, m->reconciled_entries);
    counter(out, "pi_evicted_partners_total", "Partners dropped from the cache (cache.max_partners).",
            w, m->evicted_partners);
    counter(out, "pi_sales_loaded_total", "Sale records read from Redis for a return.", w,
            m->sales_loaded);
    counter(out, "pi_schemas_fetched_total", "Schemas fetched from the schema registry.", w,
            m->schemas_fetched);
    gauge(out, "pi_owned_partitions", "Input partitions this worker owns.", w,
          m->owned_partitions);
    gauge(out, "pi_in_group", "1 while an assignment of the consumer group is in force.", w,
          m->in_group);
    gauge(out, "pi_cached_partners", "Partners whose state is cached in memory.", w,
          (double)m->cached_partners);

    head(out, "pi_consumer_lag_records", "gauge",
         "Records of an owned input topic-partition not yet consumed (high watermark - next "
         "offset; transaction markers count as records).");
    for (int i = 0; i < m->n_lag; i++)
        if (m->lag[i].lag >= 0)
            fprintf(out, "pi_consumer_lag_records{%s,topic=\"%s\",partition=\"%d\"} %" PRId64 "\n",
                    w, m->lag[i].topic, (int)m->lag[i].partition, m->lag[i].lag);

    head(out, "pi_batch_commit_duration_seconds", "histogram",
         "Ledger calls plus Kafka transaction of a batch.");
    histogram_series(out, "pi_batch_commit_duration_seconds", w, &m->batch_commit);
    head(out, "pi_record_commit_latency_seconds", "histogram",
         "From an input record's timestamp (its producer's clock) to its batch's Kafka commit.");
    histogram_series(out, "pi_record_commit_latency_seconds", w, &m->record_latency);
    head(out, "pi_redis_call_duration_seconds", "histogram",
         "Redis round trips of the worker, by call.");
    for (int c = 0; c < CONS_REDIS_CALL_COUNT; c++) {
        snprintf(l, sizeof l, "%s,call=\"%s\"", w, cons_redis_call_name((cons_redis_call)c));
        histogram_series(out, "pi_redis_call_duration_seconds", l, &m->redis[c]);
    }
    cons_metrics_write_process(out, w);
    return ferror(out) ? -1 : 0;
}
