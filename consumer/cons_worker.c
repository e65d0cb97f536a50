/*
 * The worker loop. Read cons_worker.h first for the protocol; this file is organised as
 * its verbs: on_rebalance, reconcile, process_record, commit_batch, run.
 */
#include "cons_worker.h"
#include "cons_merge.h"

#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cons_deals.h"
#include "cons_kafka.h"
#include "cons_layout.h"
#include "cons_leave.h"
#include "cons_ledger.h"
#include "cons_log.h"
#include "cons_metrics.h"
#include "cons_notify.h"
#include "cons_murmur2.h"
#include "cons_outbox.h"
#include "cons_partners.h"
#include "proc_engine.h"
#include "schema_codec.h"
#include "cons_schemas.h"
#include "schema_registry.h"

enum { IN_SALES, IN_REGISTRATIONS, IN_SURVEYS, IN_APPROVALS, N_IN };
enum { OUT_PAYOUTS, OUT_ALERTS, OUT_DLQ, N_OUT };

#define ENCODE_CAP (64 * 1024)
#define TXN_TIMEOUT_MS 60000
#define LEAVE_TIMEOUT_MS 5000      /* FindCoordinator + LeaveGroup after close */

/* What the worker holds for one owned input partition (partition p of all three topics). */
typedef struct {
    bool owned;
    bool reconcile;                  /* outbox gap must be published before new commits */
    int64_t token;                   /* fencing token taken at assignment */
    int64_t seq;                     /* outbox entries the ledger holds ever appended */
    int64_t next[N_IN];              /* ledger's next offsets as last committed; -1 none */
    int64_t published[N_IN];         /* offsets seen committed in Kafka (-1 none): the next
                                      * ledger call trims the outbox entries they cover */
    int64_t batch_first[N_IN];       /* first offset taken into this batch; -1 none */
    int64_t batch_next[N_IN];        /* next offsets after the records of this batch */
    int n_in;                        /* input records in this batch */
    int64_t *ts;                     /* [cap_ts]: record timestamps of this batch (ms, -1
                                      * none), for pi_record_commit_latency_seconds */
    int n_ts, cap_ts;
    uint64_t rewinds;                /* batches redone after a STALE deal claim */
    cons_kpis kpis;                  /* program counters of this batch */
    cons_outbox_entry *entry;        /* output records of this batch */
    int n_dirty, cap_dirty;
    cons_partner_entry **dirty;      /* partners changed in this batch */
    cons_ledger_batch *lbatch;       /* this batch's ledger call */
} part_state;

struct cons_worker {
    const cons_config *cfg;
    proc_catalog catalog;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    cons_ledger *ledger;
    /* The ledger calls of one batch, sent together (cons_ledger_commit_many): */
    cons_ledger_batch **calls;       /* [n_partitions] */
    int32_t *call_partition;
    cons_ledger_status *call_status;
    int64_t *call_seq;
    cons_schemas *schemas;       /* ids: embedded, or a remote registry's */
    cons_partners *partners;
    int32_t n_partitions;
    int32_t out_partitions[N_OUT];
    const char *in_topics[N_IN];
    const char *out_topics[N_OUT];
    part_state *parts;
    cons_deals deals;                /* deal claims read by this batch */
    cons_merge *merge;               /* consume.timestamp_order: records held back, else NULL */
    bool (*paused)[N_IN];            /* [n_partitions]: topic-partitions paused by the merge */
    proc_event ev;
    proc_outputs out;
    uint8_t *buf;
    uint64_t ledger_commits;         /* for fault.exit_after_ledger_commits */
    uint64_t batch_attempts;         /* for fault.stop_before_batch_commit */
    bool failed;                     /* a callback hit a fatal error: see fatal */
    char fatal[512];
    cons_metrics stats;              /* exposed on metrics.port */
    cons_metrics_lag *lag;           /* [n_partitions * N_IN], stats.lag points here */
    cons_metrics_server *metrics;
};

static const proc_event_type in_types[N_IN] = {PROC_EVENT_SALE, PROC_EVENT_REGISTRATION,
                                               PROC_EVENT_SURVEY, PROC_EVENT_APPROVAL};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Records the first fatal error; the loop stops at its next check and run() returns it.
 * @returns -1, so callers can `return fail(...)`. */
static int fail(cons_worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(cons_worker *w, const char *fmt, ...)
{
    va_list ap;
    if (!w->failed) {
        va_start(ap, fmt);
        vsnprintf(w->fatal, sizeof w->fatal, fmt, ap);
        va_end(ap);
    }
    w->failed = true;
    return -1;
}

static int in_topic_index(const cons_worker *w, const char *name)
{
    for (int t = 0; t < N_IN; t++)
        if (strcmp(w->in_topics[t], name) == 0)
            return t;
    return -1;
}

/* ---- batch state ------------------------------------------------------------------ */

/* Forgets the batch in progress. Partners it changed are dropped from the cache: their
 * cached state is ahead of the ledger and must be reloaded. */
static void discard_batch(cons_worker *w, int32_t p)
{
    part_state *ps = &w->parts[p];
    for (int i = 0; i < ps->n_dirty; i++)
        cons_partners_drop(w->partners, ps->dirty[i]->state.partner_id);
    ps->n_dirty = 0;
    ps->n_in = 0;
    ps->n_ts = 0;
    memcpy(ps->batch_next, ps->next, sizeof ps->next);
    for (int t = 0; t < N_IN; t++)
        ps->batch_first[t] = -1;
    ps->kpis.n = 0;
    cons_deals_drop(&w->deals, p);
    cons_outbox_entry_reset(ps->entry);
}

/* ---- consume.timestamp_order (cons_merge.h) -------------------------------------- */

/* A topic-partition holding more than this many records waits (paused) until the merge
 * has released half of them: memory stays bounded while another topic catches up. */
#define MERGE_HOLD_MAX 20000

/* The order of topics whose records carry the same timestamp: an enrolment before the
 * sale it enables, a decision after the payout it decides. */
static const int merge_rank[N_IN] = {[IN_REGISTRATIONS] = 0, [IN_SALES] = 1,
                                     [IN_SURVEYS] = 2, [IN_APPROVALS] = 3};

static void drop_message(void *rkm)
{
    rd_kafka_message_destroy(rkm);
}

static void set_paused(cons_worker *w, int32_t p, int t, bool pause)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, w->in_topics[t], p);
    rd_kafka_resp_err_t e = pause ? rd_kafka_pause_partitions(w->consumer, l)
                                  : rd_kafka_resume_partitions(w->consumer, l);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
        w->paused[p][t] = pause;
    rd_kafka_topic_partition_list_destroy(l);
}

/* One merge over every input topic-partition this worker owns, stream p × N_IN + t:
 * deal claims are shared between partitions, so a replay must order them across
 * partitions too, not only within one. Streams of partitions not owned are marked ended,
 * so they hold no one back. */
static cons_merge *merge_new(int32_t n_partitions)
{
    int n = n_partitions * N_IN, *rank = malloc((size_t)n * sizeof *rank);
    cons_merge *m = NULL;
    if (rank == NULL)
        return NULL;
    for (int i = 0; i < n; i++)
        rank[i] = merge_rank[i % N_IN];
    if ((m = cons_merge_new(1, n, rank)) != NULL)
        for (int i = 0; i < n; i++)
            cons_merge_reset_topic(m, 0, i, NULL, true);
    free(rank);
    return m;
}

/* Forgets what the merge holds of topic t of partition p and resumes it if paused. ended:
 * the stream holds no one back (not owned); else it waits for its records or its end
 * (about to be fetched from an offset, which brings an end-of-partition again). */
static void merge_forget(cons_worker *w, int32_t p, int t, bool ended)
{
    if (w->merge == NULL)
        return;
    cons_merge_reset_topic(w->merge, 0, p * N_IN + t, drop_message, ended);
    if (w->paused[p][t])
        set_paused(w, p, t, false);
}

/* Takes one record into its partition's batch: the batch now ends after it. Every record
 * is taken exactly once, as a dead letter or applied. */
static void take(cons_worker *w, part_state *ps, int t, const rd_kafka_message_t *rkm)
{
    if (ps->batch_first[t] < 0)
        ps->batch_first[t] = rkm->offset;
    ps->batch_next[t] = rkm->offset + 1;
    ps->n_in++;
    w->stats.events++;
    if (ps->n_ts == ps->cap_ts) {      /* a metric only: without memory it is not kept */
        int cap = ps->cap_ts ? 2 * ps->cap_ts : 256;
        int64_t *grown = realloc(ps->ts, (size_t)cap * sizeof *grown);
        if (grown == NULL)
            return;
        ps->ts = grown;
        ps->cap_ts = cap;
    }
    ps->ts[ps->n_ts++] = rd_kafka_message_timestamp(rkm, NULL);
}

/* Wall-clock milliseconds, to compare with record timestamps. */
static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Times one Redis round trip into pi_redis_call_duration_seconds{call}. */
static void redis_timed(cons_worker *w, cons_redis_call call, const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cons_histogram_observe(&w->stats.redis[call], (double)(t1.tv_sec - t0->tv_sec) +
                                                      (double)(t1.tv_nsec - t0->tv_nsec) / 1e9);
}

static int mark_dirty(part_state *ps, cons_partner_entry *e, const proc_outputs *out)
{
    if (cons_partners_note_rows(e, out))
        return -1;
    if (e->dirty)
        return 0;
    if (ps->n_dirty == ps->cap_dirty) {
        int n = ps->cap_dirty ? ps->cap_dirty * 2 : 64;
        cons_partner_entry **d = realloc(ps->dirty, (size_t)n * sizeof *d);
        if (d == NULL)
            return -1;
        ps->dirty = d;
        ps->cap_dirty = n;
    }
    e->dirty = true;
    ps->dirty[ps->n_dirty++] = e;
    return 0;
}

/* ---- publishing ------------------------------------------------------------------- */

/* Produces every record of one outbox entry into the open transaction. Records keyed by
 * partner go to murmur2(key) like any Java producer would send them; keyless dead letters
 * stay on the input partition number, so output placement is deterministic too. */
static int produce_entry(cons_worker *w, int32_t p, const uint8_t *bytes, size_t len)
{
    cons_outbox_reader rd;
    cons_outbox_record rec;
    int rc;

    if (cons_outbox_reader_init(&rd, bytes, len) != 0) {
        fail(w, "outbox entry of partition %d is corrupt", (int)p);
        return -1;
    }
    while ((rc = cons_outbox_reader_next(&rd, &rec)) > 0) {
        if (rec.topic < 0 || rec.topic >= N_OUT)
            return fail(w, "outbox entry of partition %d names output topic %d", (int)p, rec.topic);
        int32_t n = w->out_partitions[rec.topic];
        int32_t part = rec.key ? cons_murmur2_partition(rec.key, rec.key_len, n) : p % n;
        rd_kafka_headers_t *hdrs = NULL;
        if (rec.n_headers > 0) {
            hdrs = rd_kafka_headers_new((size_t)rec.n_headers);
            for (int i = 0; i < rec.n_headers; i++)
                rd_kafka_header_add(hdrs, rec.headers[i].name, (ssize_t)rec.headers[i].name_len,
                                    rec.headers[i].value,
                                    (ssize_t)rec.headers[i].value_len);
        }
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                w->producer, RD_KAFKA_V_TOPIC(w->out_topics[rec.topic]), RD_KAFKA_V_PARTITION(part),
                RD_KAFKA_V_KEY((void *)rec.key, rec.key_len),
                RD_KAFKA_V_VALUE((void *)rec.value, rec.value_len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
                RD_KAFKA_V_TIMESTAMP(rec.timestamp >= 0 ? rec.timestamp : 0), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
                break;                              /* hdrs now owned by the message */
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(w->producer, 10);     /* wait for delivery room, then retry */
                continue;
            }
            rd_kafka_headers_destroy(hdrs);
            fail(w, "produce failed: %s", rd_kafka_err2str(e));
            return -1;
        }
    }
    if (rc < 0) {
        fail(w, "outbox entry of partition %d is corrupt", (int)p);
        return -1;
    }
    return 0;
}

/* Adds (topic, p, offset) for every input topic whose offset is known. */
static void add_offsets(const cons_worker *w, rd_kafka_topic_partition_list_t *l, int32_t p,
                        const int64_t *next)
{
    for (int t = 0; t < N_IN; t++)
        if (next[t] >= 0)
            rd_kafka_topic_partition_list_add(l, w->in_topics[t], p)->offset = next[t];
}

/*
 * Commits the open transaction with the given input offsets. Retriable errors retry the
 * same call; an abortable error aborts and @returns 1 (the ledger still holds the outputs:
 * the caller marks the partitions for reconciliation); fatal @returns -1.
 */
static int commit_transaction(cons_worker *w, rd_kafka_topic_partition_list_t *offsets)
{
    rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(w->consumer);
    rd_kafka_error_t *e = NULL;
    int rc = 0;

    if (offsets->cnt > 0) {
        while ((e = rd_kafka_send_offsets_to_transaction(w->producer, offsets, cgmd,
                                                         TXN_TIMEOUT_MS)) &&
               rd_kafka_error_is_retriable(e))
            rd_kafka_error_destroy(e);
    }
    if (e == NULL) {
        while ((e = rd_kafka_commit_transaction(w->producer, TXN_TIMEOUT_MS)) &&
               rd_kafka_error_is_retriable(e))
            rd_kafka_error_destroy(e);
    }
    if (e != NULL) {
        if (rd_kafka_error_txn_requires_abort(e)) {
            cons_log(CONS_LOG_WARN, "txn_aborted", "transaction aborted, will republish from the "
                     "ledger: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            e = rd_kafka_abort_transaction(w->producer, TXN_TIMEOUT_MS);
            rc = 1;
        }
        if (e != NULL) {
            fail(w, "Kafka transaction failed: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            rc = -1;
        }
    }
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    return rc;
}

static int begin_transaction(cons_worker *w)
{
    rd_kafka_error_t *e = rd_kafka_begin_transaction(w->producer);
    if (e) {
        fail(w, "begin_transaction: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return -1;
    }
    return 0;
}

/* ---- reconciliation on assignment -------------------------------------------------- */

/*
 * Publishes what the ledger holds beyond Kafka's committed offsets for partition p (the
 * previous owner committed to Redis and died before its Kafka transaction committed), then
 * trims the outbox. Must complete before p commits anything new.
 */
static int reconcile(cons_worker *w, int32_t p)
{
    part_state *ps = &w->parts[p];
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(N_IN);
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(N_IN);
    cons_ledger_outbox *ob = NULL;
    int64_t kafka[N_IN];
    int n_gap = 0, rc = -1, trimmed = 0;

    for (int t = 0; t < N_IN; t++)
        rd_kafka_topic_partition_list_add(l, w->in_topics[t], p);
    rd_kafka_resp_err_t e = rd_kafka_committed(w->consumer, l, 30000);
    if (e) {
        fail(w, "cannot read committed offsets: %s", rd_kafka_err2str(e));
        goto done;
    }
    for (int t = 0; t < N_IN; t++) {
        int64_t o = l->elems[t].offset;
        kafka[t] = o >= 0 ? o : -1;
        if (kafka[t] > ps->next[t])
            cons_log(CONS_LOG_ERROR, "ledger_behind",
                     "%s[%d]: Kafka committed %" PRId64 " but the ledger held %" PRId64
                     " when this worker took the partition: either Redis lost writes (is "
                     "appendfsync always?) or this worker was paused and another owner moved "
                     "on (its next Kafka commit is then fenced); reprocessing from the ledger",
                     w->in_topics[t], (int)p, kafka[t], ps->next[t]);
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cons_ledger_status st = cons_ledger_outbox_read(w->ledger, p, &ob);
    redis_timed(w, CONS_REDIS_OUTBOX, &t0);
    if (st != CONS_LEDGER_OK) {
        fail(w, "cannot read the outbox of partition %d: %s", (int)p,
             cons_ledger_last_error(w->ledger));
        goto done;
    }
    const int64_t *gap_end = NULL;
    for (int i = 0; i < ob->n; i++) {
        const cons_ledger_outbox_entry *en = &ob->entries[i];
        bool beyond = false;
        for (int t = 0; t < N_IN; t++)
            beyond |= en->end_offsets[t] > kafka[t];
        if (!beyond)
            continue;
        if (n_gap == 0 && begin_transaction(w))
            goto done;
        if (produce_entry(w, p, en->bytes, en->len))
            goto done;
        gap_end = en->end_offsets;
        n_gap++;
        w->stats.reconciled_entries++;
    }
    if (n_gap > 0) {
        add_offsets(w, offs, p, gap_end);
        int r = commit_transaction(w, offs);
        if (r != 0) {
            if (r > 0)
                fail(w, "republishing the outbox of partition %d was aborted", (int)p);
            goto done;
        }
        cons_log_at(CONS_LOG_INFO, &(cons_log_ctx){NULL, p, -1, NULL}, "reconciled", "partition %d: republished %d outbox entries the "
                 "previous owner had not published", (int)p, n_gap);
    }
    if (cons_ledger_trim(w->ledger, p, ps->token, ps->next, &trimmed) == CONS_LEDGER_FENCED) {
        fail(w, "partition %d was taken over during reconciliation", (int)p);
        goto done;
    }
    memcpy(ps->published, ps->next, sizeof ps->published);
    ps->reconcile = false;
    rc = 0;
done:
    cons_ledger_outbox_free(ob);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_topic_partition_list_destroy(offs);
    return rc;
}

/* ---- rebalance -------------------------------------------------------------------- */

/* The service manager's status line (systemctl status): what this worker owns. */
static void notify_ownership(cons_worker *w)
{
    char status[128];
    int owned = 0;
    for (int32_t p = 0; p < w->n_partitions; p++)
        owned += w->parts[p].owned;
    if (owned > 0)
        snprintf(status, sizeof status, "in group %s: owns %d of %d partitions",
                 w->cfg->group_id, owned, (int)w->n_partitions);
    else
        snprintf(status, sizeof status, "in group %s: idle by design (no partition)",
                 w->cfg->group_id);
    cons_notify_status(status);
}

static void assign(cons_worker *w, rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;
        part_state *ps = &w->parts[p];
        if (p < 0 || p >= w->n_partitions)
            continue;
        if (!ps->owned) {
            struct timespec t0;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            cons_ledger_status st = cons_ledger_acquire(w->ledger, p, &ps->token, ps->next, &ps->seq);
            redis_timed(w, CONS_REDIS_ACQUIRE, &t0);
            if (st != CONS_LEDGER_OK) {
                fail(w, "cannot take the fencing token of partition %d: %s", (int)p,
                     cons_ledger_last_error(w->ledger));
                break;
            }
            ps->owned = true;
            ps->reconcile = true;
            for (int t = 0; t < N_IN; t++)
                ps->published[t] = -1;
            discard_batch(w, p);
            for (int t = 0; t < N_IN; t++)
                merge_forget(w, p, t, false);
            cons_log_at(CONS_LOG_INFO, &(cons_log_ctx){NULL, p, -1, NULL}, "assigned", "partition %d: token %" PRId64
                     ", ledger offsets %" PRId64 "/%" PRId64 "/%" PRId64 "/%" PRId64, (int)p,
                     ps->token, ps->next[IN_SALES], ps->next[IN_REGISTRATIONS],
                     ps->next[IN_SURVEYS], ps->next[IN_APPROVALS]);
        }
        int t = in_topic_index(w, parts->elems[i].topic);
        /* Resume where the ledger says; without a ledger entry, Kafka's committed offset
         * (or auto.offset.reset) decides. */
        parts->elems[i].offset = t >= 0 && ps->next[t] >= 0 ? ps->next[t] : RD_KAFKA_OFFSET_INVALID;
    }
    rd_kafka_assign(w->consumer, parts);
    w->stats.in_group = true;             /* even with no partition: idle by design */
    notify_ownership(w);
}

static void revoke(cons_worker *w, rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;
        if (p < 0 || p >= w->n_partitions || !w->parts[p].owned)
            continue;
        discard_batch(w, p);
        for (int t = 0; t < N_IN; t++)
            merge_forget(w, p, t, true);
        w->parts[p].owned = false;
        w->parts[p].reconcile = false;
        cons_partners_drop_partition(w->partners, p);
        cons_log_at(CONS_LOG_INFO, &(cons_log_ctx){NULL, p, -1, NULL}, "revoked", "partition %d", (int)p);
    }
    rd_kafka_assign(w->consumer, NULL);
    w->stats.in_group = false;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    cons_worker *w = opaque;
    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
        assign(w, parts);
    else
        revoke(w, parts);
}

/* ---- one record ------------------------------------------------------------------- */

static int add_output(cons_worker *w, part_state *ps, int topic, const char *key,
                      size_t len)
{
    if (cons_outbox_entry_add_record(ps->entry, topic, key, strlen(key), w->buf, len, NULL, 0)) {
        fail(w, "out of memory adding an output");
        return -1;
    }
    return 0;
}

/* The headers a dead letter adds after the input record's own: ours and Kafka Connect's
 * (so Connect-style DLQ tooling reads them). */
#define DLQ_OWN_HEADERS 10

/* Sends the original record to the dead-letter topic, unchanged (key, value, headers,
 * timestamp), with the reason and source in added headers (CONTRACT §2.2). */
static int dead_letter(cons_worker *w, part_state *ps, const rd_kafka_message_t *rkm,
                       proc_dlq_reason reason, const char *detail)
{
    static cons_outbox_header h[CONS_OUTBOX_MAX_HEADERS];   /* one thread: the worker's */
    char partition[16], offset[24];
    snprintf(partition, sizeof partition, "%d", (int)rkm->partition);
    snprintf(offset, sizeof offset, "%" PRId64, rkm->offset);
    const char *topic = rd_kafka_topic_name(rkm->rkt);
    const char *reason_name = proc_dlq_reason_name(reason);
    int n = 0;

    /* rd_kafka_message_headers needs a non-const message; it only parses them once. */
    rd_kafka_headers_t *in = NULL;
    if (rd_kafka_message_headers((rd_kafka_message_t *)rkm, &in) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *name;
        const void *val;
        size_t size;
        for (size_t i = 0; n < CONS_OUTBOX_MAX_HEADERS - DLQ_OWN_HEADERS &&
                           rd_kafka_header_get_all(in, i, &name, &val, &size) == 0; i++)
            h[n++] = (cons_outbox_header){name, strlen(name), val, size};
    }
    const cons_outbox_header own[DLQ_OWN_HEADERS] = {
        {"dlq.reason", 10, reason_name, strlen(reason_name)},
        {"dlq.detail", 10, detail, strlen(detail)},
        {"dlq.topic", 9, topic, strlen(topic)},
        {"dlq.partition", 13, partition, strlen(partition)},
        {"dlq.offset", 10, offset, strlen(offset)},
        {"__connect.errors.topic", 22, topic, strlen(topic)},
        {"__connect.errors.partition", 26, partition, strlen(partition)},
        {"__connect.errors.offset", 23, offset, strlen(offset)},
        {"__connect.errors.exception.class.name", 37, reason_name, strlen(reason_name)},
        {"__connect.errors.exception.message", 34, detail, strlen(detail)},
    };
    memcpy(h + n, own, sizeof own);
    n += DLQ_OWN_HEADERS;
    w->stats.dead_letters[reason]++;
    char partner[129] = "";
    if (rkm->key != NULL)   /* the key is the partner_id by contract; shown as it came */
        snprintf(partner, sizeof partner, "%.*s", (int)(rkm->key_len < 128 ? rkm->key_len : 128),
                 (const char *)rkm->key);
    cons_log_ctx at = {topic, rkm->partition, rkm->offset, rkm->key ? partner : NULL};
    cons_log_at(CONS_LOG_DEBUG, &at, "dead_letter", "%s: %s", reason_name, detail);
    int64_t ts = rd_kafka_message_timestamp(rkm, NULL);
    if (cons_outbox_entry_add_record_ts(ps->entry, OUT_DLQ, ts >= 0 ? ts : -1, rkm->key,
                                        rkm->key_len, rkm->payload, rkm->len, h, n)) {
        fail(w, "out of memory adding a dead letter");
        return -1;
    }
    return 0;
}

/* Takes a record that fails before the rules see it straight to the dead letters. */
static int reject(cons_worker *w, part_state *ps, int t, const rd_kafka_message_t *rkm,
                  proc_dlq_reason reason, const char *detail)
{
    take(w, ps, t, rkm);
    return dead_letter(w, ps, rkm, reason, detail);
}

/* Decodes a partner's state hash: the core field first, then every entry. @returns 0, or
 * -1 with the failure reported. */
static int load_state_hash(cons_worker *w, proc_partner *pt, const cons_ledger_hash *h)
{
    int core = -1;
    for (int i = 0; i < h->n && core < 0; i++)
        if (strcmp((const char *)h->fields[i].data, CONS_LAYOUT_CORE_FIELD) == 0)
            core = i;
    if (core < 0 || proc_partner_decode(pt, h->values[core].data, h->values[core].len) != 0 ||
        pt->rewrite) {
        fail(w, "stored state of partner %s is corrupt (or of a newer release)", pt->partner_id);
        return -1;
    }
    for (int i = 0; i < h->n; i++)
        if (i != core && proc_partner_load_entry(pt, (const char *)h->fields[i].data,
                                                 h->fields[i].len, h->values[i].data,
                                                 h->values[i].len)) {
            fail(w, "stored entry %s of partner %s is corrupt", (const char *)h->fields[i].data,
                 pt->partner_id);
            return -1;
        }
    if (proc_partner_load_done(pt)) {
        fail(w, "stored entries of partner %s repeat", pt->partner_id);
        return -1;
    }
    return 0;
}

/* @returns the cached partner, loading its state from the ledger on first sight: the state
 * hash, or the version-2 blob of an earlier release (a string at the same key), which the
 * next commit of this partner migrates. */
static cons_partner_entry *partner(cons_worker *w, const char *id, int32_t p)
{
    cons_partner_entry *e = cons_partners_get(w->partners, id);
    char key[CONS_KEY_CAP];
    cons_ledger_hash h = {0, NULL, NULL, false};
    cons_ledger_blob blob = {0};

    if (e != NULL)
        return e;
    cons_layout_state_key(key, sizeof key, w->cfg->redis_namespace, id);
    const char *keys[1] = {key};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool loaded = cons_ledger_get_hash(w->ledger, key, &h) == CONS_LEDGER_OK &&
                  (!h.not_hash || cons_ledger_get_blobs(w->ledger, 1, keys, &blob) == CONS_LEDGER_OK);
    redis_timed(w, CONS_REDIS_LOAD_PARTNER, &t0);
    if (!loaded) {
        fail(w, "cannot load the state of partner %s: %s", id, cons_ledger_last_error(w->ledger));
        goto done;
    }
    e = cons_partners_add(w->partners, id, p);
    if (e == NULL)
        fail(w, "out of memory caching a partner");
    else if (h.n > 0)
        load_state_hash(w, &e->state, &h);
    else if (blob.data && (proc_partner_decode(&e->state, blob.data, blob.len) != 0 ||
                           !e->state.rewrite))             /* a string holds version 2 only */
        fail(w, "stored state of partner %s is corrupt (or of a newer release)", id);
done:
    cons_ledger_hash_free(&h);
    free(blob.data);
    if (w->failed && e != NULL)
        cons_partners_drop(w->partners, id);
    return w->failed ? NULL : e;
}

/* A return names a sale whose record is in Redis only (open sales are not held in memory):
 * loads it so the rules can apply the return. @returns 0, or -1 with the failure
 * reported. */
static int load_returned_sale(cons_worker *w, cons_partner_entry *e, const proc_event *ev)
{
    char key[CONS_KEY_CAP], field[PROC_FIELD_CAP];
    cons_ledger_blob val = {0};
    proc_sale_payout *payouts;
    if (ev->type != PROC_EVENT_SALE || ev->u.sale.kind != PROC_SALE_RETURN ||
        !ev->u.sale.has_original_event_id)
        return 0;
    uint64_t h = proc_hash64(ev->u.sale.original_event_id);
    if (!proc_partner_sale_open(&e->state, h) || proc_partner_sale(&e->state, h, &payouts))
        return 0;
    cons_layout_state_key(key, sizeof key, w->cfg->redis_namespace, e->state.partner_id);
    proc_partner_field(PROC_SET_SALES, h, field);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cons_ledger_status st = cons_ledger_get_field(w->ledger, key, field, &val);
    redis_timed(w, CONS_REDIS_LOAD_SALE, &t0);
    if (st != CONS_LEDGER_OK) {
        fail(w, "cannot load sale %s of partner %s: %s", ev->u.sale.original_event_id,
             e->state.partner_id, cons_ledger_last_error(w->ledger));
        return -1;
    }
    w->stats.sales_loaded++;
    int rc = 0;
    if (val.data == NULL || proc_partner_load_sale(&e->state, h, val.data, val.len)) {
        fail(w, "stored sale %s of partner %s is %s", field, e->state.partner_id,
             val.data ? "corrupt" : "missing");
        rc = -1;
    }
    free(val.data);
    return rc;
}

/* @returns the deal id an event needs the claim record of, or NULL (CONTRACT §6.7). */
static const char *event_deal_id(const proc_event *ev)
{
    if (ev->type == PROC_EVENT_REGISTRATION &&
        (ev->u.reg.kind == PROC_REG_DEAL_REGISTERED || ev->u.reg.kind == PROC_REG_DEAL_APPROVED ||
         ev->u.reg.kind == PROC_REG_DEAL_REJECTED) && ev->u.reg.has_deal_id)
        return ev->u.reg.deal_id;
    if (ev->type == PROC_EVENT_SALE && ev->u.sale.kind == PROC_SALE_SALE &&
        ev->u.sale.has_deal_id && ev->u.sale.deal_id[0])
        return ev->u.sale.deal_id;
    return NULL;
}

static int commit_batch(cons_worker *w);

/*
 * Finds or reads the claim record of a deal for partition p's batch. A claim is read by
 * one partition per batch, so that each ledger call's EXPECT covers exactly the claims
 * its own records saw: when another partition's batch holds it, the batch is committed
 * first. @returns 0 with *out set, 1 when that commit rewound p (a STALE claim: the
 * current record will be fetched again), -1 on a fatal error.
 */
static int deal_for(cons_worker *w, const char *deal_id, int32_t p, cons_deal_entry **out)
{
    cons_deal_entry *de = cons_deals_find(&w->deals, deal_id);
    char key[CONS_KEY_CAP];
    cons_ledger_blob blob = {0};

    if (de != NULL && de->partition != p) {
        uint64_t rewinds = w->parts[p].rewinds;
        if (commit_batch(w) != 0)
            return -1;
        if (w->parts[p].rewinds != rewinds || !w->parts[p].owned)
            return 1;
        de = NULL;                               /* the commit forgot every claim it read */
    }
    if (de == NULL) {
        cons_layout_deal_key(key, sizeof key, w->cfg->redis_namespace, deal_id);
        const char *keys[1] = {key};
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        cons_ledger_status st = cons_ledger_get_blobs(w->ledger, 1, keys, &blob);
        redis_timed(w, CONS_REDIS_LOAD_DEAL, &t0);
        if (st != CONS_LEDGER_OK)
            return fail(w, "cannot load deal %s: %s", deal_id, cons_ledger_last_error(w->ledger));
        if ((de = cons_deals_add(&w->deals, deal_id, p, blob.data, blob.len)) == NULL)
            return fail(w, "stored claim of deal %s is corrupt (or out of memory)", deal_id);
    }
    *out = de;
    return 0;
}

/* Redoes partition p's batch: a deal claim it read was changed by another worker before
 * its ledger call. Nothing of the batch was written; forget it and fetch its records
 * again from where it started, so they are applied to the current claim. */
static int rewind_partition(cons_worker *w, int32_t p)
{
    part_state *ps = &w->parts[p];
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(N_IN);
    int rc = 0;

    for (int t = 0; t < N_IN; t++) {
        /* With the merge, records fetched but held back go too: fetch them again. */
        int64_t from = ps->batch_first[t];
        if (from < 0 && w->merge != NULL)
            from = cons_merge_first_offset(w->merge, 0, p * N_IN + t);
        if (from >= 0) {
            rd_kafka_topic_partition_list_add(l, w->in_topics[t], p)->offset = from;
            merge_forget(w, p, t, false);   /* only what is fetched again: the others
                                             * keep their records and end marks */
        }
    }
    discard_batch(w, p);
    ps->rewinds++;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(w->consumer, l, 10000);
    if (e != NULL)
        rc = fail(w, "cannot rewind partition %d: %s", (int)p, rd_kafka_error_string(e));
    for (int i = 0; rc == 0 && i < l->cnt; i++)
        if (l->elems[i].err)
            rc = fail(w, "cannot rewind %s[%d]: %s", l->elems[i].topic, (int)p,
                      rd_kafka_err2str(l->elems[i].err));
    if (e != NULL)
        rd_kafka_error_destroy(e);
    rd_kafka_topic_partition_list_destroy(l);
    cons_log_at(CONS_LOG_INFO, &(cons_log_ctx){NULL, p, -1, NULL}, "rewound", "partition %d: a deal claim changed under the batch; "
             "redoing it", (int)p);
    return rc;
}

static int process_record(cons_worker *w, const rd_kafka_message_t *rkm)
{
    int t = in_topic_index(w, rd_kafka_topic_name(rkm->rkt));
    int32_t p = rkm->partition;
    char detail[PROC_DETAIL_CAP];

    if (t < 0 || p < 0 || p >= w->n_partitions || !w->parts[p].owned)
        return 0;                                   /* stale record from before a rebalance */
    part_state *ps = &w->parts[p];
    if (ps->reconcile && reconcile(w, p))
        return -1;
    if (w->cfg->check_mispartitioned) {
        int32_t want = rkm->key ? cons_murmur2_partition(rkm->key, rkm->key_len, w->n_partitions) : -1;
        if (want != p) {
            if (rkm->key)
                snprintf(detail, sizeof detail, "key hashes to partition %d, not %d", (int)want,
                         (int)p);
            else
                snprintf(detail, sizeof detail, "record has no key (partner_id expected)");
            return reject(w, ps, t, rkm, PROC_DLQ_MISPARTITIONED, detail);
        }
    }
    if (cons_schemas_prepare(w->schemas, rkm->payload, rkm->len, detail, sizeof detail) != 0)
        return fail(w, "schema registry: %s", detail);   /* no dead letter on a guess */
    switch (schema_decode_event(cons_schemas_registry(w->schemas), in_types[t], rkm->payload, rkm->len, &w->ev, detail,
                                sizeof detail)) {
    case SCHEMA_OK:
        break;
    case SCHEMA_UNKNOWN_SCHEMA:
        return reject(w, ps, t, rkm, PROC_DLQ_UNKNOWN_SCHEMA, detail);
    case SCHEMA_INVALID_EVENT:
        return reject(w, ps, t, rkm, PROC_DLQ_INVALID_EVENT, detail);
    default:
        return reject(w, ps, t, rkm, PROC_DLQ_DECODE_ERROR, detail);
    }
    if (rkm->key && (rkm->key_len != strlen(w->ev.partner_id) ||
                     memcmp(rkm->key, w->ev.partner_id, rkm->key_len) != 0)) {
        snprintf(detail, sizeof detail, "record key is not the partner_id '%s'", w->ev.partner_id);
        return reject(w, ps, t, rkm, PROC_DLQ_INVALID_EVENT, detail);
    }

    cons_deal_entry *de = NULL;
    const char *deal_id = event_deal_id(&w->ev);
    if (deal_id != NULL) {
        /* If deal_for's early commit rewinds p, this record must be fetched again: its
         * topic has to be among the ones the rewind seeks back. */
        if (ps->batch_first[t] < 0)
            ps->batch_first[t] = rkm->offset;
        int r = deal_for(w, deal_id, p, &de);
        if (r != 0)
            return r < 0 ? -1 : 0;                  /* > 0: p was rewound, this comes again */
    }
    cons_partner_entry *e = partner(w, w->ev.partner_id, p);
    if (e == NULL)
        return -1;
    if (load_returned_sale(w, e, &w->ev))
        return -1;
    take(w, ps, t, rkm);
    if (proc_apply(&w->catalog, &e->state, &w->ev, de ? &de->deal : NULL, &w->out) != 0) {
        /* The partner may be half changed: forget the whole batch (which drops it and every
         * partner the batch changed) so nothing stale is committed or freed twice. */
        discard_batch(w, p);
        cons_partners_drop(w->partners, w->ev.partner_id);
        return fail(w, "out of memory applying event %s", w->ev.event_id);
    }
    if (w->out.reason != PROC_DLQ_NONE)
        return dead_letter(w, ps, rkm, w->out.reason, w->out.detail);
    if (w->out.duplicate) {
        w->stats.duplicates++;
        return 0;
    }
    for (int i = 0; i < w->out.n_payouts; i++) {
        size_t len = 0;
        if (schema_encode_payout(cons_schemas_registry(w->schemas), &w->out.payouts[i], w->buf, ENCODE_CAP, &len) ||
            add_output(w, ps, OUT_PAYOUTS, w->out.payouts[i].partner_id, len))
            return fail(w, "cannot encode a payout of event %s", w->ev.event_id);
    }
    for (int i = 0; i < w->out.n_alerts; i++) {
        size_t len = 0;
        if (schema_encode_alert(cons_schemas_registry(w->schemas), &w->out.alerts[i], w->buf, ENCODE_CAP, &len) ||
            add_output(w, ps, OUT_ALERTS, w->out.alerts[i].partner_id, len))
            return fail(w, "cannot encode an alert of event %s", w->ev.event_id);
    }
    for (int i = 0; i < w->out.n_payouts; i++)
        w->stats.payouts[w->out.payouts[i].kind]++;
    for (int i = 0; i < w->out.n_alerts; i++)
        w->stats.alerts[w->out.alerts[i].kind]++;
    if (w->out.changed && mark_dirty(ps, e, &w->out))
        return fail(w, "out of memory marking a partner changed");
    if (w->out.deal_changed)
        de->dirty = true;
    const proc_program *prog = w->out.n_kpi ? proc_catalog_find(&w->catalog, e->state.program_id) : NULL;
    for (int i = 0; prog && i < w->out.n_kpi; i++)
        if (cons_kpis_add(&ps->kpis, prog, &w->out.kpi[i]))
            return fail(w, "out of memory collecting KPIs");
    return 0;
}

/* ---- commit ----------------------------------------------------------------------- */

/* Builds partition p's batch into its ledger call (one atomic pi_commit). @returns 0 or
 * -1 (failed). */
static int build_ledger_call(cons_worker *w, int32_t p)
{
    part_state *ps = &w->parts[p];
    const char *ns = w->cfg->redis_namespace;
    const proc_program *noticed[8];
    int n_noticed = 0;

    if (cons_ledger_batch_reset(ps->lbatch, p, ps->token, ps->next, ps->batch_next) ||
        cons_ledger_batch_published(ps->lbatch, ps->published))
        return fail(w, "bad offsets for the ledger batch of partition %d", (int)p);
    for (int i = 0; i < ps->n_dirty; i++) {
        cons_partner_entry *e = ps->dirty[i];
        const proc_program *prog = e->state.enrolled
                                       ? proc_catalog_find(&w->catalog, e->state.program_id) : NULL;
        if (cons_layout_partner(ps->lbatch, ns, prog, e))
            return fail(w, "out of memory building a ledger batch");
        bool seen = prog == NULL;
        for (int j = 0; j < n_noticed && !seen; j++)
            seen = noticed[j] == prog;
        if (!seen && n_noticed < 8)
            noticed[n_noticed++] = prog;
    }
    if (cons_layout_leaderboards(ps->lbatch, ns, &w->catalog, ps->dirty, ps->n_dirty))
        return fail(w, "out of memory building a ledger batch");
    for (int j = 0; j < n_noticed; j++)
        if (cons_layout_notice(ps->lbatch, ns, noticed[j]->id, ps->n_dirty))
            return fail(w, "out of memory building a ledger batch");
    for (int i = 0; i < w->deals.n; i++)
        if (w->deals.e[i]->partition == p && cons_layout_deal(ps->lbatch, ns, w->deals.e[i]))
            return fail(w, "out of memory building a ledger batch");
    if (cons_layout_kpis(ps->lbatch, ns, &ps->kpis))
        return fail(w, "out of memory building a ledger batch");
    const uint8_t *bytes = NULL;
    size_t len = 0;
    if (cons_outbox_entry_count(ps->entry) > 0) {
        if (cons_outbox_entry_finish(ps->entry, ps->seq + 1, ps->batch_next, N_IN, &bytes, &len) ||
            cons_ledger_batch_outbox(ps->lbatch, bytes, len))
            return fail(w, "out of memory building an outbox entry");
    }
    return 0;
}

/* Takes in the ledger's answer to partition p's call. @returns 0 committed, 1 rewound
 * (STALE: its n_in is 0 now), -1 failed. */
static int ledger_answered(cons_worker *w, int32_t p, cons_ledger_status st, int64_t seq,
                           const char *err)
{
    part_state *ps = &w->parts[p];
    switch (st) {
    case CONS_LEDGER_OK:
        break;
    case CONS_LEDGER_FENCED:
        return fail(w, "another worker took over partition %d (fenced): %s", (int)p, err);
    case CONS_LEDGER_CONFLICT:
        return fail(w, "ledger offsets of partition %d moved under this worker: %s", (int)p, err);
    case CONS_LEDGER_STALE:
        return rewind_partition(w, p) == 0 ? 1 : -1;
    default:
        return fail(w, "ledger commit of partition %d failed: %s", (int)p, err);
    }
    memcpy(ps->next, ps->batch_next, sizeof ps->next);
    ps->seq = seq;
    /* The crash the protocol exists for: the ledger has the batch, Kafka does not. The
     * next owner must publish it from the outbox (tests/e2e/test_crash.sh). */
    if (w->cfg->fault_exit_after_ledger_commits > 0 &&
        ++w->ledger_commits == (uint64_t)w->cfg->fault_exit_after_ledger_commits) {
        cons_log(CONS_LOG_WARN, "fault_injected", "exiting after ledger commit %" PRIu64
                 " as configured (fault.exit_after_ledger_commits)", w->ledger_commits);
        raise(SIGKILL);              /* as abrupt as kill -9: no cleanup, no flush */
    }
    for (int i = 0; i < ps->n_dirty; i++) {
        ps->dirty[i]->dirty = false;
        ps->dirty[i]->n_rows = 0;
        free(ps->dirty[i]->rows);                            /* idle partners hold none */
        ps->dirty[i]->rows = NULL;
        ps->dirty[i]->cap_rows = 0;
        proc_partner_journal_reset(&ps->dirty[i]->state);   /* Redis has the entries, */
        proc_partner_forget_sales(&ps->dirty[i]->state);    /* and the sale records */
    }
    ps->n_dirty = 0;
    ps->kpis.n = 0;
    for (int t = 0; t < N_IN; t++)
        ps->batch_first[t] = -1;
    return 0;
}

/* Whether partition p has anything to commit: records, or offsets moved past
 * transaction markers (skip_markers). */
static bool has_work(const part_state *ps)
{
    return ps->owned && (ps->n_in > 0 || memcmp(ps->batch_next, ps->next, sizeof ps->next) != 0);
}

/* Input written by a transactional producer ends each transaction with a commit marker,
 * an offset no record is delivered for; committing last record + 1 would leave the lag
 * at 1 for ever (and `incentivectl lag --wait` waiting). librdkafka moves the
 * application position past markers, so where it is ahead of the batch, everything in
 * between was markers (or aborted records): the batch's offsets move up to it, and an
 * otherwise empty batch commits just that. Only called between batches, when every
 * record delivered has been taken; not with the timestamp merge, whose held records
 * are delivered but not yet taken. */
static void skip_markers(cons_worker *w)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(N_IN * 4);
    for (int32_t p = 0; p < w->n_partitions; p++)
        for (int t = 0; w->parts[p].owned && t < N_IN; t++)
            rd_kafka_topic_partition_list_add(l, w->in_topics[t], p);
    if (l->cnt > 0 && rd_kafka_position(w->consumer, l) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < l->cnt; i++) {
            int t = in_topic_index(w, l->elems[i].topic);
            part_state *ps = &w->parts[l->elems[i].partition];
            if (t >= 0 && !l->elems[i].err && l->elems[i].offset > ps->batch_next[t])
                ps->batch_next[t] = l->elems[i].offset;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static int commit_batch(cons_worker *w)
{
    int64_t started = now_ms();
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(N_IN * 4);
    bool txn_open = false;
    int rc = -1;

    /* A zombie in the making: paused with its batch applied in memory and its tokens
     * taken; a test resumes it after another worker fenced it (tests/e2e/test_zombie.sh). */
    bool any = false;
    for (int32_t p = 0; p < w->n_partitions; p++)
        any |= w->parts[p].owned && w->parts[p].n_in > 0;
    if (any && w->cfg->fault_stop_before_batch_commit > 0 &&
        ++w->batch_attempts == (uint64_t)w->cfg->fault_stop_before_batch_commit) {
        cons_log(CONS_LOG_WARN, "fault_injected", "stopping before the ledger calls of batch %"
                 PRIu64 " as configured (fault.stop_before_batch_commit)", w->batch_attempts);
        raise(SIGSTOP);
    }
    /* A partition whose last transaction aborted (possibly inside deal_for's early commit)
     * must publish that outbox gap before its new batch reaches the ledger, or the new
     * offsets would cover it and the trim would drop it unpublished. */
    for (int32_t p = 0; p < w->n_partitions; p++) {
        part_state *ps = &w->parts[p];
        if (ps->owned && ps->reconcile && reconcile(w, p))
            goto done;
    }
    /* Every ledger call first, in one pipelined round trip, then one short transaction:
     * librdkafka works hard while a transaction is open, so it should not stay open
     * across Redis round trips. */
    int n_calls = 0;
    for (int32_t p = 0; p < w->n_partitions; p++) {
        part_state *ps = &w->parts[p];
        if (!has_work(ps))
            continue;
        if (build_ledger_call(w, p))
            goto done;
        w->calls[n_calls] = ps->lbatch;
        w->call_partition[n_calls++] = p;
    }
    if (n_calls > 0) {
        char err[256];
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        cons_ledger_commit_many(w->ledger, n_calls, w->calls, w->call_status, w->call_seq,
                                err, sizeof err);
        redis_timed(w, CONS_REDIS_COMMIT, &t0);
        for (int i = 0; i < n_calls; i++)
            if (ledger_answered(w, w->call_partition[i], w->call_status[i], w->call_seq[i],
                                err) < 0)
                goto done;                 /* > 0: rewound, its n_in is 0 now */
    }
    for (int32_t p = 0; p < w->n_partitions; p++) {
        part_state *ps = &w->parts[p];
        if (!has_work(ps))
            continue;
        if (!txn_open && begin_transaction(w))
            goto done;
        txn_open = true;
        const uint8_t *bytes;
        size_t len;
        if (cons_outbox_entry_count(ps->entry) > 0 &&
            (cons_outbox_entry_bytes(ps->entry, &bytes, &len) || produce_entry(w, p, bytes, len)))
            goto done;
        add_offsets(w, offs, p, ps->next);
    }
    if (!txn_open) {                       /* nothing taken, or every batch rewound */
        rc = 0;
        goto done;
    }
    int r = commit_transaction(w, offs);
    if (r < 0)
        goto done;
    int64_t wall = wall_ms();
    for (int32_t p = 0; p < w->n_partitions; p++) {
        part_state *ps = &w->parts[p];
        if (!has_work(ps))
            continue;
        if (r > 0)
            ps->reconcile = true;          /* the ledger has it; publish it from there */
        else                               /* the next ledger call trims it: no round trip */
            memcpy(ps->published, ps->next, sizeof ps->published);
        for (int i = 0; i < ps->n_ts; i++)
            if (ps->ts[i] >= 0)
                cons_histogram_observe(&w->stats.record_latency, (double)(wall - ps->ts[i]) / 1e3);
        ps->n_ts = 0;
        ps->n_in = 0;
        cons_outbox_entry_reset(ps->entry);
    }
    w->stats.batches++;
    cons_histogram_observe(&w->stats.batch_commit, (double)(now_ms() - started) / 1e3);
    rc = 0;
done:
    if (rc == 0)
        cons_deals_drop(&w->deals, -1);    /* claims are re-read by the next batch */
    rd_kafka_topic_partition_list_destroy(offs);
    return rc;
}

/* ---- lifecycle -------------------------------------------------------------------- */

static int check_topics(cons_worker *w, char *err, size_t errcap)
{
    const char *all[N_IN + N_OUT];
    int32_t counts[N_IN + N_OUT];
    for (int t = 0; t < N_IN; t++)
        all[t] = w->in_topics[t];
    for (int t = 0; t < N_OUT; t++)
        all[N_IN + t] = w->out_topics[t];
    if (cons_kafka_partition_counts(w->consumer, N_IN + N_OUT, all, counts, 30000, err, errcap))
        return -1;
    for (int t = 0; t < N_IN + N_OUT; t++)
        if (counts[t] < 1) {
            snprintf(err, errcap, "topic %s does not exist (run deploy/topics-create.sh)", all[t]);
            return -1;
        }
    for (int t = 1; t < N_IN; t++)
        if (counts[t] != counts[0]) {
            snprintf(err, errcap, "input topics are not co-partitioned: %s has %d partitions but "
                     "%s has %d; one worker must own all events of a partner, so the four input "
                     "topics need the same partition count", all[0], (int)counts[0], all[t],
                     (int)counts[t]);
            return -1;
        }
    w->n_partitions = counts[0];
    for (int t = 0; t < N_OUT; t++)
        w->out_partitions[t] = counts[N_IN + t];
    return 0;
}

cons_worker *cons_worker_new(const cons_config *cfg, const proc_program *programs,
                             int n_programs, const volatile sig_atomic_t *stop, char *err,
                             size_t errcap)
{
    cons_worker *w = calloc(1, sizeof *w);
    char txn_id[512];

    if (w == NULL) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    w->cfg = cfg;
    w->catalog.n_programs = n_programs;
    w->catalog.programs = programs;
    w->catalog.replay_horizon_ms = (int64_t)cfg->replay_horizon_days * PROC_MS_PER_DAY;
    w->in_topics[IN_SALES] = cfg->topic_sales;
    w->in_topics[IN_REGISTRATIONS] = cfg->topic_registrations;
    w->in_topics[IN_SURVEYS] = cfg->topic_surveys;
    w->in_topics[IN_APPROVALS] = cfg->topic_approvals;
    w->out_topics[OUT_PAYOUTS] = cfg->topic_payouts;
    w->out_topics[OUT_ALERTS] = cfg->topic_alerts;
    w->out_topics[OUT_DLQ] = cfg->topic_dead_letters;

    w->buf = malloc(ENCODE_CAP);
    w->partners = cons_partners_new();
    if (!w->buf || !w->partners) {
        snprintf(err, errcap, "out of memory");
        goto fail;
    }
    const cons_schemas_output writes[] = {{SCHEMA_REC_PAYOUT, cfg->topic_payouts},
                                          {SCHEMA_REC_ALERT, cfg->topic_alerts}};
    if ((w->schemas = cons_schemas_open(cfg, writes, 2, stop, err, errcap)) == NULL)
        goto fail;
    w->ledger = cons_ledger_new(cfg->redis_host, cfg->redis_port,
                                cfg->redis_user[0] ? cfg->redis_user : NULL,
                                cfg->redis_password[0] ? cfg->redis_password : NULL,
                                cfg->redis_namespace, N_IN, w->in_topics, err, errcap);
    if (w->ledger == NULL)
        goto fail;
    w->consumer = cons_kafka_consumer_new(cfg, on_rebalance, w, err, errcap);
    if (w->consumer == NULL || check_topics(w, err, errcap))
        goto fail;
    size_t np = (size_t)w->n_partitions;
    w->parts = calloc(np, sizeof *w->parts);
    w->calls = calloc(np, sizeof *w->calls);
    w->call_partition = calloc(np, sizeof *w->call_partition);
    w->call_status = calloc(np, sizeof *w->call_status);
    w->call_seq = calloc(np, sizeof *w->call_seq);
    w->paused = calloc(np, sizeof *w->paused);
    w->lag = calloc(np * N_IN, sizeof *w->lag);
    if (cfg->consume_timestamp_order && w->paused != NULL)
        w->merge = merge_new(w->n_partitions);
    if (w->parts == NULL || w->calls == NULL || w->call_partition == NULL || w->lag == NULL ||
        w->call_status == NULL || w->call_seq == NULL || w->paused == NULL ||
        (cfg->consume_timestamp_order && w->merge == NULL)) {
        snprintf(err, errcap, "out of memory");
        goto fail;
    }
    for (int32_t p = 0; p < w->n_partitions; p++) {
        if ((w->parts[p].entry = cons_outbox_entry_new()) == NULL ||
            (w->parts[p].lbatch = cons_ledger_batch_new(w->ledger)) == NULL) {
            snprintf(err, errcap, "out of memory");
            goto fail;
        }
        for (int t = 0; t < N_IN; t++)
            w->parts[p].next[t] = w->parts[p].batch_next[t] = w->parts[p].batch_first[t] =
                w->parts[p].published[t] = -1;
    }
    /* A stable transactional.id per worker: a restarted worker fences its predecessor's
     * open transaction at once instead of waiting for transaction.timeout.ms. */
    snprintf(txn_id, sizeof txn_id, "%s-%s", cfg->group_id, cfg->worker_id);
    w->producer = cons_kafka_producer_new(cfg, txn_id, err, errcap);
    if (w->producer == NULL)
        goto fail;

    if (cfg->metrics_port > 0 &&
        (w->metrics = cons_metrics_server_new(cfg->metrics_port, err, errcap)) == NULL)
        goto fail;

    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(N_IN);
    for (int t = 0; t < N_IN; t++)
        rd_kafka_topic_partition_list_add(sub, w->in_topics[t], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(w->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        snprintf(err, errcap, "subscribe failed: %s", rd_kafka_err2str(e));
        goto fail;
    }
    cons_log(CONS_LOG_INFO, "started", "worker %s: %d programs, %d partitions per topic, "
             "transactional.id %s", cfg->worker_id, n_programs, (int)w->n_partitions, txn_id);
    return w;
fail:
    cons_worker_destroy(w);
    return NULL;
}

static void serve_metrics(cons_worker *w)
{
    w->stats.owned_partitions = 0;
    w->stats.reconcile_pending = false;
    for (int32_t p = 0; p < w->n_partitions; p++) {
        w->stats.owned_partitions += w->parts[p].owned;
        w->stats.reconcile_pending |= w->parts[p].owned && w->parts[p].reconcile;
    }
    w->stats.cached_partners = cons_partners_count(w->partners);
    w->stats.schemas_fetched = cons_schemas_fetched(w->schemas);
    /* Lag against the committed position: librdkafka's cached high watermarks (from its
     * fetches; no broker request) minus the ledger's next offsets. */
    int n = 0;
    for (int32_t p = 0; p < w->n_partitions; p++) {
        if (!w->parts[p].owned)
            continue;
        for (int t = 0; t < N_IN; t++) {
            int64_t lo = -1, hi = -1, next = w->parts[p].next[t];
            rd_kafka_get_watermark_offsets(w->consumer, w->in_topics[t], p, &lo, &hi);
            w->lag[n++] = (cons_metrics_lag){w->in_topics[t], p,
                                             hi < 0 ? -1 : hi - (next > lo ? next : lo)};
        }
    }
    w->stats.lag = w->lag;
    w->stats.n_lag = n;
    cons_metrics_serve(w->metrics, &w->stats, w->cfg->worker_id, PI_VERSION);
}

static uint64_t sum(const uint64_t *v, int n)
{
    uint64_t total = 0;
    for (int i = 0; i < n; i++)
        total += v[i];
    return total;
}

static void log_stats(cons_worker *w)
{
    cons_log(CONS_LOG_INFO, "stats", "events %" PRIu64 ", dead letters %" PRIu64
             ", duplicates %" PRIu64 ", payouts %" PRIu64 ", alerts %" PRIu64 ", batches %" PRIu64
             ", cached partners %zu", w->stats.events,
             sum(w->stats.dead_letters, PROC_DLQ_REASON_COUNT), w->stats.duplicates,
             sum(w->stats.payouts, PROC_PAYOUT_KIND_COUNT),
             sum(w->stats.alerts, PROC_ALERT_KIND_COUNT), w->stats.batches,
             cons_partners_count(w->partners));
}

/* The value of a kafka.* setting, or `fallback` when it is not set. */
static const char *kafka_setting(const cons_config *cfg, const char *name, const char *fallback)
{
    for (int i = 0; i < cfg->n_kafka; i++)
        if (strcmp(cfg->kafka[i].name, name) == 0)
            return cfg->kafka[i].value;
    return fallback;
}

/* After close: removes this static member from the group so its partitions are
 * reassigned now rather than after session.timeout.ms (cons_leave.h says why librdkafka
 * does not). A failure costs only that wait, so it is logged, not fatal. */
static void leave_group(const cons_config *cfg, int64_t closing)
{
    const char *protocol = kafka_setting(cfg, "security.protocol", "plaintext");
    const char *instance = kafka_setting(cfg, "group.instance.id", cfg->worker_id);
    char why[256];

    if (strcasecmp(protocol, "plaintext") != 0) {
        cons_log(CONS_LOG_INFO, "left_group", "security.protocol %s: not removing static "
                 "member %s; its partitions move after kafka.session.timeout.ms", protocol,
                 instance);
        return;
    }
    if (cons_leave_group(kafka_setting(cfg, "bootstrap.servers", ""),
                         kafka_setting(cfg, "client.id", "incentive-worker"), cfg->group_id,
                         instance, LEAVE_TIMEOUT_MS, why, sizeof why) != 0) {
        cons_log(CONS_LOG_WARN, "left_group", "could not remove static member %s (%s); its "
                 "partitions move after kafka.session.timeout.ms", instance, why);
        return;
    }
    cons_log(CONS_LOG_INFO, "left_group", "static member %s removed from group %s %" PRId64
             " ms after close began: its partitions are reassigned now", instance,
             cfg->group_id, now_ms() - closing);
}

/* Applies the records the merge can release now, while the batch has room; resumes a
 * paused topic-partition once half its backlog is gone. */
static void release_held(cons_worker *w, int *n, int64_t *deadline)
{
    rd_kafka_message_t *rkm;
    int s = -1;
    while (*n < w->cfg->batch_max_events && !w->failed &&
           (rkm = cons_merge_pop(w->merge, 0, &s, NULL)) != NULL) {
        int32_t p = s / N_IN;
        int t = s % N_IN;
        if ((*n)++ == 0)
            *deadline = now_ms() + w->cfg->batch_max_ms;
        process_record(w, rkm);
        rd_kafka_message_destroy(rkm);
        if (w->paused[p][t] && cons_merge_buffered(w->merge, 0, s) < MERGE_HOLD_MAX / 2)
            set_paused(w, p, t, false);
    }
}

/* consume.timestamp_order: a record joins the merge (an end of partition is noted), then
 * whatever that lets go is applied. Takes rkm. */
static void hold(cons_worker *w, rd_kafka_message_t *rkm, int *n, int64_t *deadline)
{
    int t = rkm->rkt ? in_topic_index(w, rd_kafka_topic_name(rkm->rkt)) : -1;
    int32_t p = rkm->partition;

    if (rkm->err && rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        cons_log_at(CONS_LOG_WARN, &(cons_log_ctx){rkm->rkt ? rd_kafka_topic_name(rkm->rkt) : NULL, rkm->partition, rkm->offset, NULL}, "consume_error", "%s", rd_kafka_message_errstr(rkm));
    if (t < 0 || p < 0 || p >= w->n_partitions || !w->parts[p].owned ||
        (rkm->err && rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)) {
        rd_kafka_message_destroy(rkm);   /* an error, or stale from before a rebalance */
        return;
    }
    int s = p * N_IN + t;
    if (rkm->err) {
        cons_merge_eof(w->merge, 0, s);
        rd_kafka_message_destroy(rkm);
    } else {
        int64_t ts = rd_kafka_message_timestamp(rkm, NULL);
        if (cons_merge_push(w->merge, 0, s, ts, rkm->offset, rkm) != 0) {
            rd_kafka_message_destroy(rkm);
            fail(w, "out of memory holding records for the timestamp merge");
            return;
        }
        if (!w->paused[p][t] && cons_merge_buffered(w->merge, 0, s) > MERGE_HOLD_MAX)
            set_paused(w, p, t, true);
    }
    release_held(w, n, deadline);
}

int cons_worker_run(cons_worker *w, volatile sig_atomic_t *stop, char *err, size_t errcap)
{
    int64_t next_stats = now_ms() + 10000;

    while (!*stop && !w->failed) {
        cons_notify_watchdog();
        for (int32_t p = 0; p < w->n_partitions && !w->failed; p++)
            if (w->parts[p].owned && w->parts[p].reconcile)
                reconcile(w, p);
        int n = 0;
        int64_t deadline = 0;
        /* What the merge released beyond the last batch's size comes first. */
        if (w->merge != NULL && !w->failed)
            release_held(w, &n, &deadline);
        while (n < w->cfg->batch_max_events && !w->failed && !*stop) {
            int timeout = 100;
            if (n > 0) {
                int64_t left = deadline - now_ms();
                if (left <= 0)
                    break;
                timeout = (int)left;
            }
            rd_kafka_message_t *rkm = rd_kafka_consumer_poll(w->consumer, timeout);
            if (rkm == NULL) {
                if (n == 0)
                    break;              /* idle: go round to check stop and reconciliation */
                continue;
            }
            if (w->merge != NULL) {
                hold(w, rkm, &n, &deadline);    /* takes rkm */
                continue;
            }
            if (rkm->err) {
                if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    cons_log_at(CONS_LOG_WARN, &(cons_log_ctx){rkm->rkt ? rd_kafka_topic_name(rkm->rkt) : NULL, rkm->partition, rkm->offset, NULL}, "consume_error", "%s", rd_kafka_message_errstr(rkm));
            } else {
                if (n++ == 0)
                    deadline = now_ms() + w->cfg->batch_max_ms;
                process_record(w, rkm);
            }
            rd_kafka_message_destroy(rkm);
        }
        if (!w->failed && w->merge == NULL)
            skip_markers(w);
        if (!w->failed)
            commit_batch(w);
        /* Between batches no entry pointer is held and every entry equals its blob in
         * Redis: the cold ones can go. Down to 90 % of the bound, so the sort is rare. */
        if (!w->failed && w->cfg->cache_max_partners > 0) {
            size_t max = (size_t)w->cfg->cache_max_partners;
            size_t gone = cons_partners_evict(w->partners, max, max - max / 10);
            w->stats.evicted_partners += gone;
            /* glibc keeps freed memory in the heap; hand it back, so RSS follows the bound
             * (rare: eviction runs once per 10 % of the bound). */
            if (gone > 0)
                malloc_trim(0);
        }
        if (w->metrics)
            serve_metrics(w);
        if (now_ms() >= next_stats) {
            log_stats(w);
            next_stats = now_ms() + 10000;
        }
    }
    log_stats(w);
    if (w->failed) {
        snprintf(err, errcap, "%s", w->fatal);
        return -1;
    }
    /* Held records are the consumer's messages: they must be gone before it closes. */
    cons_merge_free(w->merge, drop_message);
    w->merge = NULL;
    cons_log(CONS_LOG_INFO, "stopping", "leaving the consumer group");
    cons_notify_stopping();
    int64_t closing = now_ms();
    rd_kafka_consumer_close(w->consumer);
    if (w->cfg->leave_group_on_stop)
        leave_group(w->cfg, closing);
    return 0;
}

void cons_worker_destroy(cons_worker *w)
{
    if (w == NULL)
        return;
    cons_merge_free(w->merge, drop_message);
    free(w->paused);
    free(w->lag);
    if (w->consumer)
        rd_kafka_destroy(w->consumer);
    if (w->producer)
        rd_kafka_destroy(w->producer);
    for (int32_t p = 0; w->parts && p < w->n_partitions; p++) {
        cons_outbox_entry_destroy(w->parts[p].entry);
        cons_kpis_free(&w->parts[p].kpis);
        free(w->parts[p].dirty);
        free(w->parts[p].ts);
        cons_ledger_batch_destroy(w->parts[p].lbatch);
    }
    free(w->parts);
    free(w->calls);
    free(w->call_partition);
    free(w->call_status);
    free(w->call_seq);
    cons_ledger_destroy(w->ledger);
    cons_schemas_destroy(w->schemas);
    cons_partners_destroy(w->partners);
    cons_metrics_server_destroy(w->metrics);
    cons_deals_free(&w->deals);
    proc_outputs_free(&w->out);
    free(w->buf);
    free(w);
}
