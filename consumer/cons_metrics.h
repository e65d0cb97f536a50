/*
 * cons_metrics.h — the worker's HTTP endpoints: GET /metrics (Prometheus text format),
 * /healthz (the loop is turning) and /readyz (partitions assigned, nothing to reconcile).
 *
 * Deliberately tiny: one non-blocking listening socket served from the worker's own loop
 * (cons_metrics_serve between batches), so no thread ever reads the worker's counters
 * while it writes them. A scrape waits at most one batch (batch.max_ms). Nothing in it
 * ever waits on a client: connections are non-blocking, at most 64 are kept (the oldest
 * goes first), a request line over 1 KB gets 400, and a client silent for 2 s is dropped,
 * so garbage, huge requests and idle connections cost the loop a few syscalls per turn.
 */
#ifndef CONS_METRICS_H
#define CONS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The numbers the worker exposes; it owns and updates them. */
typedef struct {
    uint64_t events;                 /* input records handled */
    uint64_t dead_letters;
    uint64_t duplicates;
    uint64_t payouts;
    uint64_t alerts;
    uint64_t batches;                /* Kafka transactions committed */
    uint64_t reconciled_entries;     /* outbox entries republished after a takeover */
    int owned_partitions;
    bool reconcile_pending;
    size_t cached_partners;
    uint64_t evicted_partners;       /* dropped from the cache by cache.max_partners */
    uint64_t sales_loaded;           /* sale records read from Redis for a return */
    double last_batch_ms;            /* ledger + transaction time of the last batch */
} cons_metrics;

typedef struct cons_metrics_server cons_metrics_server;

/* Listens on 0.0.0.0:port. @returns NULL with err filled when the port cannot be bound. */
cons_metrics_server *cons_metrics_server_new(int port, char *err, size_t errcap);
void cons_metrics_server_destroy(cons_metrics_server *s);

/* Accepts new connections and answers every complete request line; never blocks. */
void cons_metrics_serve(cons_metrics_server *s, const cons_metrics *m, const char *worker_id);

/* Writes the Prometheus text exposition of m into buf. @returns its length. */
size_t cons_metrics_format(const cons_metrics *m, const char *worker_id, char *buf, size_t cap);

#endif
