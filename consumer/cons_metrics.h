/*
 * cons_metrics.h — the worker's numbers and their Prometheus text exposition, plus its
 * HTTP endpoints: GET /metrics, /healthz (the loop is turning) and /readyz.
 *
 * Conventions (https://prometheus.io/docs/practices/naming/): base units (seconds,
 * bytes), `_total` counters, histograms for durations, labels for the dimensions a
 * dashboard splits by (`reason` of a dead letter, `kind` of a payout or alert, `call` of
 * a Redis call, `topic` and `partition` of consumer lag), every series also labelled
 * `worker` (worker.id), `pi_build_info{version}` and the standard `process_*` set.
 *
 * Deliberately tiny: one non-blocking listening socket served from the worker's own loop
 * (cons_metrics_serve between batches), so no thread ever reads the worker's counters
 * while it writes them. A scrape waits at most one batch (batch.max_ms). Nothing in it
 * ever waits on a client: connections are non-blocking, at most 64 are kept (the oldest
 * goes first), a request line over 1 KB gets 400, and a client silent or not reading for
 * 2 s is dropped, so garbage, huge requests and idle connections cost the loop a few
 * syscalls per turn. (cons_metrics_http.c; formatting in cons_metrics.c.)
 */
#ifndef CONS_METRICS_H
#define CONS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proc_event.h"

/* Upper bounds of the duration histograms' buckets, in seconds (then +Inf). */
#define CONS_METRICS_BUCKETS 14
extern const double cons_metrics_bucket_bounds[CONS_METRICS_BUCKETS];

typedef struct {
    uint64_t counts[CONS_METRICS_BUCKETS + 1];  /* per bucket, not cumulative; last: +Inf */
    uint64_t count;
    double sum;                                  /* seconds */
} cons_histogram;

/* Adds one observation of `seconds` (negative counts as 0). */
void cons_histogram_observe(cons_histogram *h, double seconds);

/* The Redis calls the worker times (label `call`). */
typedef enum {
    CONS_REDIS_COMMIT = 0,   /* the batch's pipelined pi_commit calls */
    CONS_REDIS_ACQUIRE,      /* pi_acquire at assignment */
    CONS_REDIS_LOAD_PARTNER, /* a partner's state hash, on first sight or after eviction */
    CONS_REDIS_LOAD_SALE,    /* one sale record, for a return */
    CONS_REDIS_LOAD_DEAL,    /* a deal claim */
    CONS_REDIS_OUTBOX,       /* reading the outbox to reconcile */
    CONS_REDIS_CALL_COUNT
} cons_redis_call;

/* Consumer lag of one input topic-partition this worker owns. */
typedef struct {
    const char *topic;       /* borrowed from the config */
    int32_t partition;
    int64_t lag;             /* high watermark - next offset; -1 unknown (not fetched yet) */
} cons_metrics_lag;

/* The numbers the worker exposes; it owns and updates them. */
typedef struct {
    uint64_t events;                                   /* input records handled */
    uint64_t dead_letters[PROC_DLQ_REASON_COUNT];      /* by reason */
    uint64_t duplicates;
    uint64_t payouts[PROC_PAYOUT_KIND_COUNT];          /* by kind */
    uint64_t alerts[PROC_ALERT_KIND_COUNT];            /* by kind */
    uint64_t batches;                                  /* Kafka transactions committed */
    uint64_t reconciled_entries;     /* outbox entries republished after a takeover */
    uint64_t evicted_partners;       /* dropped from the cache by cache.max_partners */
    uint64_t sales_loaded;           /* sale records read from Redis for a return */
    uint64_t schemas_fetched;        /* schemas fetched from the schema registry */
    bool in_group;                   /* an assignment (maybe empty) is in force */
    int owned_partitions;
    bool reconcile_pending;
    size_t cached_partners;
    cons_histogram batch_commit;     /* ledger calls + Kafka transaction of a batch */
    cons_histogram record_latency;   /* a record's timestamp → its batch committed */
    cons_histogram redis[CONS_REDIS_CALL_COUNT];
    const cons_metrics_lag *lag;     /* n_lag entries, refreshed before each serve */
    int n_lag;
} cons_metrics;

/* @returns the `call` label of c ("commit", "acquire", ...). */
const char *cons_redis_call_name(cons_redis_call c);

/* @returns whether /readyz answers 200: in the group and reconciled, or in the group and
 *          idle by design (an assignment with no partition: more workers than partitions).
 *          *why is a short reason for the body. */
bool cons_metrics_ready(const cons_metrics *m, const char **why);

/* Writes the Prometheus text exposition (version 0.0.4) of m, the build info and the
 * process metrics to out. @returns 0, or -1 on a write error. */
int cons_metrics_write(FILE *out, const cons_metrics *m, const char *worker_id,
                       const char *version);

/* Writes the process_* metrics of this process (CPU, RSS, virtual memory, fds, start
 * time; from /proc/self) with the given label text (e.g. `worker="w1"`).
 * (cons_metrics_process.c) */
void cons_metrics_write_process(FILE *out, const char *labels);

typedef struct cons_metrics_server cons_metrics_server;

/* Listens on 0.0.0.0:port. @returns NULL with err filled when the port cannot be bound. */
cons_metrics_server *cons_metrics_server_new(int port, char *err, size_t errcap);
void cons_metrics_server_destroy(cons_metrics_server *s);

/* Accepts new connections, answers every complete request line and goes on sending
 * answers not yet written; never blocks. */
void cons_metrics_serve(cons_metrics_server *s, const cons_metrics *m, const char *worker_id,
                        const char *version);

#endif
