/*
 * cons_ctl_dead_letters.c — `incentivectl dead-letters replay --reason R [--dry-run]`:
 * re-produces the dead letters of one reason to their source topics, exactly once, after
 * their cause was fixed (a partner enrolled late, a currency added, a producer repaired).
 *
 * Exactly once, across crashes and reruns: the tool is a consume-transform-produce loop
 * of its own. It reads the dead-letter topic (read_committed) in the consumer group
 * `<group.id>.dead-letter-replay.<REASON>`, and every transaction of its producer
 * (transactional.id the same name) carries both the re-produced records and that
 * group's new offsets (send_offsets_to_transaction). A dead letter is therefore replayed
 * once: a rerun starts after the last committed one, a crashed run's open transaction
 * is aborted when the next run starts, and dead letters of other reasons are passed over
 * (each reason keeps its own progress). What arrives after the run started is left for
 * the next run.
 *
 * A replayed record is the original: key, value, headers and timestamp, without the
 * dead letter's dlq.* and __connect.* headers, plus `dlq.replayed_from` =
 * "<dead-letter topic>[<partition>]@<offset>"; its partition comes from its key
 * (murmur2, as the producers'). If it fails again it becomes a new dead letter, which a
 * later replay of that reason picks up.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cons_ctl.h"
#include "cons_kafka.h"

#define USAGE "dead-letters replay --reason REASON [--dry-run] [--timeout S]"
#define METADATA_TIMEOUT_MS 10000
#define TXN_TIMEOUT_MS 60000
#define TXN_RECORDS 1000           /* a transaction is committed every this many records */

typedef struct {
    const char *reason;
    bool dry_run;
    long long timeout_s;
} dlq_args;

typedef struct {
    rd_kafka_t *c, *pr;                /* pr NULL for a dry run */
    const char *topic;                 /* the dead-letter topic */
    int32_t np;
    int64_t *end;                      /* [np]: stop before (the high watermark at start) */
    int64_t *next;                     /* [np]: next offset to consume, committed with the txn */
    bool *done;
    long long replayed, others, in_txn;
    int n_sources;
    char sources[8][256];              /* per source topic: how many went there */
    long long per_source[8];
} dlq_run;

/* The value of header `name` as a NUL-terminated copy in out, or false. */
static bool header(rd_kafka_headers_t *h, const char *name, char *out, size_t cap)
{
    const void *v;
    size_t size;
    if (h == NULL || rd_kafka_header_get_last(h, name, &v, &size) != 0 || v == NULL ||
        size >= cap)
        return false;
    memcpy(out, v, size);
    out[size] = '\0';
    return true;
}

static int commit_txn(dlq_run *r, char *err, size_t errcap)
{
    if (r->pr == NULL)
        return 0;
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(r->np);
    for (int32_t p = 0; p < r->np; p++)
        if (r->next[p] >= 0)
            rd_kafka_topic_partition_list_add(offs, r->topic, p)->offset = r->next[p];
    rd_kafka_consumer_group_metadata_t *md = rd_kafka_consumer_group_metadata(r->c);
    rd_kafka_error_t *e = rd_kafka_send_offsets_to_transaction(r->pr, offs, md, TXN_TIMEOUT_MS);
    rd_kafka_consumer_group_metadata_destroy(md);
    rd_kafka_topic_partition_list_destroy(offs);
    if (e == NULL)
        e = rd_kafka_commit_transaction(r->pr, TXN_TIMEOUT_MS);
    if (e != NULL)
        return cons_kafka_error(e, "committing the replay transaction", err, errcap);
    r->in_txn = 0;
    if ((e = rd_kafka_begin_transaction(r->pr)) != NULL)
        return cons_kafka_error(e, "beginning a transaction", err, errcap);
    return 0;
}

static void count_source(dlq_run *r, const char *src)
{
    int i = 0;
    while (i < r->n_sources && strcmp(r->sources[i], src) != 0)
        i++;
    if (i == r->n_sources && r->n_sources < 8)
        snprintf(r->sources[r->n_sources++], sizeof r->sources[0], "%s", src);
    if (i < r->n_sources)
        r->per_source[i]++;
}

/* One dead letter: replayed when its reason is ours. @returns 0 or -1 with err. */
static int one(dlq_run *r, const dlq_args *a, rd_kafka_message_t *m, char *err, size_t errcap)
{
    rd_kafka_headers_t *h = NULL;
    char reason[64], src[256], from[320];
    (void)rd_kafka_message_headers(m, &h);
    if (!header(h, "dlq.reason", reason, sizeof reason) || strcmp(reason, a->reason) != 0) {
        r->others++;
        return 0;
    }
    if (!header(h, "dlq.topic", src, sizeof src)) {
        snprintf(err, errcap, "%s [%d] offset %" PRId64 ": a %s dead letter without dlq.topic",
                 r->topic, (int)m->partition, m->offset, reason);
        return -1;
    }
    snprintf(from, sizeof from, "%s[%d]@%" PRId64, r->topic, (int)m->partition, m->offset);
    if (a->dry_run) {
        printf("would replay %s to %s (key %.*s, %zu bytes)\n", from, src,
               m->key ? (int)m->key_len : 1, m->key ? (const char *)m->key : "-", m->len);
    } else {
        rd_kafka_headers_t *out = rd_kafka_headers_new(8);
        const char *name;
        const void *v;
        size_t size;
        for (size_t i = 0; h != NULL && rd_kafka_header_get_all(h, i, &name, &v, &size) == 0; i++)
            if (strncmp(name, "dlq.", 4) != 0 && strncmp(name, "__connect.", 10) != 0)
                rd_kafka_header_add(out, name, -1, v, (ssize_t)size);
        rd_kafka_header_add(out, "dlq.replayed_from", -1, from, -1);
        rd_kafka_resp_err_t e;
        do {
            e = rd_kafka_producev(r->pr, RD_KAFKA_V_TOPIC(src), RD_KAFKA_V_KEY(m->key, m->key_len),
                                  RD_KAFKA_V_VALUE(m->payload, m->len),
                                  RD_KAFKA_V_TIMESTAMP(rd_kafka_message_timestamp(m, NULL)),
                                  RD_KAFKA_V_HEADERS(out), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(r->pr, 50);
        } while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
        if (e) {
            rd_kafka_headers_destroy(out);     /* kept by producev only on success */
            snprintf(err, errcap, "replaying %s to %s: %s", from, src, rd_kafka_err2str(e));
            return -1;
        }
        r->in_txn++;
    }
    r->replayed++;
    count_source(r, src);
    return 0;
}

/* Where the group left off (committed offsets, else the start) and where to stop (the
 * high watermarks now). Assigns the partitions that have something to read. */
static int bounds(dlq_run *r, char *err, size_t errcap)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(r->np);
    int open = 0, rc = -1;
    for (int32_t p = 0; p < r->np; p++)
        rd_kafka_topic_partition_list_add(l, r->topic, p);
    rd_kafka_resp_err_t e = rd_kafka_committed(r->c, l, METADATA_TIMEOUT_MS);
    if (e) {
        snprintf(err, errcap, "reading the replay group's offsets: %s", rd_kafka_err2str(e));
        goto done;
    }
    for (int32_t p = 0; p < r->np; p++) {
        int64_t lo, hi;
        if ((e = rd_kafka_query_watermark_offsets(r->c, r->topic, p, &lo, &hi, METADATA_TIMEOUT_MS))) {
            snprintf(err, errcap, "watermarks of %s [%d]: %s", r->topic, (int)p, rd_kafka_err2str(e));
            goto done;
        }
        /* No commit yet (a logical offset < 0), or one retention has passed: the start. */
        int64_t from = l->elems[p].offset >= lo ? l->elems[p].offset : lo;
        l->elems[p].offset = from;
        r->next[p] = from;
        r->end[p] = hi;
        r->done[p] = r->next[p] >= hi;
        open += !r->done[p];
    }
    if (open > 0 && rd_kafka_assign(r->c, l)) {
        snprintf(err, errcap, "cannot assign %s", r->topic);
        goto done;
    }
    rc = open;
done:
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

static int run(const cons_config *cfg, const dlq_args *a)
{
    dlq_run r = {.topic = cfg->topic_dead_letters};
    char err[1024], group[256];
    int rc = CONS_CTL_FAILED, open;

    snprintf(group, sizeof group, "%s.dead-letter-replay.%s", cfg->group_id, a->reason);
    if ((r.c = cons_ctl_consumer_new(cfg, group, true, err, sizeof err)) == NULL ||
        cons_kafka_partition_counts(r.c, 1, &r.topic, &r.np, METADATA_TIMEOUT_MS, err, sizeof err))
        goto fail;
    if (r.np < 0) {
        snprintf(err, sizeof err, "topic %s does not exist", r.topic);
        goto fail;
    }
    r.end = calloc((size_t)r.np, sizeof *r.end);
    r.next = calloc((size_t)r.np, sizeof *r.next);
    r.done = calloc((size_t)r.np, sizeof *r.done);
    if (r.end == NULL || r.next == NULL || r.done == NULL) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    /* The producer first: init_transactions aborts what a crashed run left open, before
     * the group's offsets are read. */
    if (!a->dry_run) {
        if ((r.pr = cons_kafka_producer_new(cfg, group, err, sizeof err)) == NULL)
            goto fail;
        rd_kafka_error_t *e = rd_kafka_begin_transaction(r.pr);
        if (e != NULL) {
            cons_kafka_error(e, "beginning a transaction", err, sizeof err);
            goto fail;
        }
    }
    if ((open = bounds(&r, err, sizeof err)) < 0)
        goto fail;
    int64_t deadline = cons_ctl_now_ms() + a->timeout_s * 1000;
    while (open > 0) {
        if (cons_ctl_now_ms() > deadline) {
            snprintf(err, sizeof err, "%s not read to its end after %lld s", r.topic, a->timeout_s);
            goto fail;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r.c, 200);
        if (r.pr != NULL)
            rd_kafka_poll(r.pr, 0);
        if (m == NULL)
            continue;
        int32_t p = m->partition;
        int bad = 0;
        if (p < 0 || p >= r.np || r.done[p]) {
            ;                                   /* nothing left to do there */
        } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF || (!m->err && m->offset >= r.end[p])) {
            r.done[p] = true;
            open--;
        } else if (m->err) {
            snprintf(err, sizeof err, "reading %s [%d]: %s", r.topic, (int)p,
                     rd_kafka_message_errstr(m));
            bad = 1;
        } else {
            bad = one(&r, a, m, err, sizeof err);
            r.next[p] = m->offset + 1;
            if (m->offset + 1 >= r.end[p]) {
                r.done[p] = true;
                open--;
            }
        }
        rd_kafka_message_destroy(m);
        if (bad || (r.in_txn >= TXN_RECORDS && commit_txn(&r, err, sizeof err)))
            goto fail;
    }
    if (commit_txn(&r, err, sizeof err))
        goto fail;
    printf("%s %lld dead letter%s with reason %s", a->dry_run ? "would replay" : "replayed",
           r.replayed, r.replayed == 1 ? "" : "s", a->reason);
    for (int i = 0; i < r.n_sources; i++)
        printf("%s %lld to %s", i ? "," : ":", r.per_source[i], r.sources[i]);
    printf("; %lld of other reasons left alone (group %s)\n", r.others, group);
    rc = CONS_CTL_OK;
    goto done;
fail:
    fprintf(stderr, "incentivectl dead-letters replay: %s\n", err);
done:
    if (r.pr != NULL)
        rd_kafka_destroy(r.pr);    /* an uncommitted transaction is aborted by the broker */
    if (r.c != NULL) {
        rd_kafka_consumer_close(r.c);
        rd_kafka_destroy(r.c);
    }
    free(r.end);
    free(r.next);
    free(r.done);
    return rc;
}

int cons_ctl_dead_letters(const cons_config *cfg, int argc, char **argv)
{
    dlq_args a = {.timeout_s = 120};

    if (argc < 2 || strcmp(argv[1], "replay") != 0)
        return cons_ctl_usage(USAGE);
    for (int i = 2; i < argc; i++) {
        const char *val = NULL;
        int m;
        if (strcmp(argv[i], "--dry-run") == 0) {
            a.dry_run = true;
        } else if ((m = cons_ctl_opt(argc, argv, &i, "--reason", &val)) > 0) {
            a.reason = val;
        } else if ((m = cons_ctl_opt(argc, argv, &i, "--timeout", &val)) > 0) {
            if (cons_ctl_parse_int(val, 1, 86400, &a.timeout_s))
                return cons_ctl_usage(USAGE);
        } else {
            return cons_ctl_usage(USAGE);
        }
    }
    if (a.reason == NULL)
        return cons_ctl_usage(USAGE);
    bool known = false;
    for (int r = 1; r < PROC_DLQ_REASON_COUNT; r++)
        known |= strcmp(a.reason, proc_dlq_reason_name((proc_dlq_reason)r)) == 0;
    if (!known) {
        fprintf(stderr, "incentivectl dead-letters replay: %s is not a dead-letter reason "
                        "(CONTRACT §6.18)\n", a.reason);
        return CONS_CTL_USAGE;
    }
    return run(cfg, &a);
}
