/*
 * cons_ctl_dump.c — `incentivectl dump --topic payouts|alerts|dead-letters [--json|--raw]`:
 * everything committed on an output topic, from the beginning to the current end, one
 * JSON object per record, in partition then offset order.
 *
 * End-to-end tests compare these lines with expected outputs, so the reader sees what a
 * downstream system sees: read_committed (aborted transactions never show), a throwaway
 * consumer group that never commits, and a stop at the end of each partition
 * (enable.partition.eof) rather than a quiet period. Partitions are read one after the
 * other, each assigned alone, so the order needs no buffering.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cons_ctl.h"
#include "cons_kafka.h"
#include "schema_codec.h"
#include "schema_json.h"

#define USAGE "dump --topic payouts|alerts|dead-letters [--json|--raw] [--timeout SECONDS]"
#define METADATA_TIMEOUT_MS 10000
#define POLL_MS 200

typedef enum { DUMP_PAYOUTS, DUMP_ALERTS, DUMP_DEAD_LETTERS } dump_kind;

typedef struct {
    dump_kind kind;
    bool json_only;              /* --json: bare JSON lines; else "partition:offset JSON" */
    bool raw;                    /* --raw: "partition key_hex value_hex", bytes as stored */
    cons_schemas *schemas;
    long long records;
    long long undecodable;
    /* cons_ctl_scan_payouts: each decoded payout goes here instead of to stdout. */
    int (*visit)(void *arg, const proc_payout *p);
    void *arg;
} dump_ctx;

/* The header's value as a JSON string (or integer when `as_int` and it is one); JSON null
 * when the header is missing. */
static json_t *header_json(rd_kafka_headers_t *hdrs, const char *name, bool as_int)
{
    const void *val = NULL;
    size_t size = 0;
    char text[64];
    long long v;

    if (hdrs == NULL || rd_kafka_header_get_last(hdrs, name, &val, &size) != 0 || val == NULL)
        return json_null();
    if (as_int && size < sizeof text) {
        memcpy(text, val, size);
        text[size] = '\0';
        if (cons_ctl_parse_int(text, INT64_MIN, INT64_MAX, &v) == 0)
            return json_integer(v);
    }
    json_t *s = json_stringn(val, size);
    return s ? s : json_null();          /* not UTF-8: never written by the worker */
}

/* {"key":..,"reason":..,"detail":..,"topic":..,"partition":..,"offset":..,"value_hex":..}
 * where topic/partition/offset name the rejected input record (the dlq.* headers) and
 * value_hex is null for a null value, "" for an empty one. */
static char *dead_letter_json(const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *hdrs = NULL;
    json_t *o = json_object(), *key = NULL;
    char *hex = cons_ctl_hex(m->payload, m->payload ? m->len : 0), *line = NULL;

    if (o == NULL || hex == NULL)
        goto done;
    rd_kafka_message_headers(m, &hdrs);
    if (m->key != NULL && (key = json_stringn(m->key, m->key_len)) == NULL) {
        char *key_hex = cons_ctl_hex(m->key, m->key_len);   /* a key that is not UTF-8 */
        if (key_hex == NULL)
            goto done;
        json_object_set_new(o, "key_hex", json_string(key_hex));
        free(key_hex);
    }
    json_object_set_new(o, "key", key ? key : json_null());
    json_object_set_new(o, "reason", header_json(hdrs, "dlq.reason", false));
    json_object_set_new(o, "detail", header_json(hdrs, "dlq.detail", false));
    json_object_set_new(o, "topic", header_json(hdrs, "dlq.topic", false));
    json_object_set_new(o, "partition", header_json(hdrs, "dlq.partition", true));
    json_object_set_new(o, "offset", header_json(hdrs, "dlq.offset", true));
    /* A null value (a tombstone) is not an empty one: show which the record was. */
    json_object_set_new(o, "value_hex", m->payload ? json_string(hex) : json_null());
    /* The input record's own headers, kept by the worker (not dlq.*, __connect.*):
     * text when it is UTF-8, else {"hex": ...}; null for a header without a value. */
    json_t *orig = json_object();
    const char *name;
    const void *v;
    size_t size;
    for (size_t i = 0; orig != NULL && hdrs != NULL &&
                       rd_kafka_header_get_all(hdrs, i, &name, &v, &size) == 0; i++) {
        if (strncmp(name, "dlq.", 4) == 0 || strncmp(name, "__connect.", 10) == 0)
            continue;
        json_t *val = v == NULL ? json_null() : json_stringn(v, size);
        if (val == NULL) {
            char *vh = cons_ctl_hex(v, size);
            val = json_pack("{s:s}", "hex", vh ? vh : "");
            free(vh);
        }
        json_object_set_new(orig, name, val);
    }
    json_object_set_new(o, "headers", orig ? orig : json_null());
    line = json_dumps(o, JSON_COMPACT);
done:
    json_decref(o);
    free(hex);
    return line;
}

/* Prints one record. A payout or alert that does not decode is reported on stderr and
 * counted (the command then fails): the worker should never write one. */
static int print_record(dump_ctx *d, const rd_kafka_message_t *m)
{
    char detail[512], *line = NULL;

    if (d->raw && d->visit == NULL) {
        /* The bytes as the worker wrote them, for byte-for-byte comparisons (a replay
         * with the live program, CONTRACT §10.1); a null key or value prints "-". */
        char *k = m->key ? cons_ctl_hex(m->key, m->key_len) : NULL;
        char *v = m->payload ? cons_ctl_hex(m->payload, m->len) : NULL;
        if ((m->key && k == NULL) || (m->payload && v == NULL)) {
            free(k);
            free(v);
            return -1;
        }
        printf("%" PRId32 " %s %s\n", m->partition, k ? k : "-", v ? v : "-");
        free(k);
        free(v);
        d->records++;
        return 0;
    }
    if (d->kind != DUMP_DEAD_LETTERS &&
        cons_schemas_prepare(d->schemas, m->payload, m->len, detail, sizeof detail) != 0) {
        fprintf(stderr, "incentivectl: %s\n", detail);
        return -1;
    }
    const schema_registry *reg = cons_schemas_registry(d->schemas);
    if (d->kind == DUMP_DEAD_LETTERS) {
        line = dead_letter_json(m);
    } else if (d->kind == DUMP_PAYOUTS) {
        proc_payout p;
        schema_status st = schema_decode_payout(reg, m->payload, m->len, &p, detail,
                                                sizeof detail);
        if (st != SCHEMA_OK)
            goto undecodable;
        if (d->visit != NULL) {
            d->records++;
            return d->visit(d->arg, &p);
        }
        line = schema_payout_to_json(&p);
    } else {
        proc_alert a;
        schema_status st = schema_decode_alert(reg, m->payload, m->len, &a, detail,
                                               sizeof detail);
        if (st != SCHEMA_OK)
            goto undecodable;
        line = schema_alert_to_json(&a);
    }
    if (line == NULL) {
        snprintf(detail, sizeof detail, "cannot be written as JSON");
        goto undecodable;
    }
    if (d->json_only)
        printf("%s\n", line);
    else
        printf("%" PRId32 ":%" PRId64 " %s\n", m->partition, m->offset, line);
    free(line);
    d->records++;
    return 0;
undecodable:
    fprintf(stderr, "incentivectl dump: %s [%" PRId32 "] offset %" PRId64 ": %s\n",
            rd_kafka_topic_name(m->rkt), m->partition, m->offset, detail);
    d->undecodable++;
    return 0;
}

/* Reads one partition from its beginning to its end. @returns 0, or -1 with err set. */
static int dump_partition(dump_ctx *d, rd_kafka_t *rk, const char *topic, int32_t partition,
                          int64_t deadline_ms, char *err, size_t errcap)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t e;
    int rc = -1;

    rd_kafka_topic_partition_list_add(list, topic, partition)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    if ((e = rd_kafka_assign(rk, list)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errcap, "cannot assign %s [%" PRId32 "]: %s", topic, partition,
                 rd_kafka_err2str(e));
        goto done;
    }
    for (;;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, POLL_MS);
        if (m == NULL) {
            if (cons_ctl_now_ms() > deadline_ms) {
                snprintf(err, errcap, "timed out reading %s [%" PRId32 "]", topic, partition);
                goto done;
            }
            continue;
        }
        if (m->partition != partition || strcmp(rd_kafka_topic_name(m->rkt), topic) != 0) {
            rd_kafka_message_destroy(m);     /* left over from a previous assignment */
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            break;
        }
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, errcap, "%s [%" PRId32 "]: %s", topic, partition,
                     rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            goto done;
        }
        int visited = print_record(d, m);
        rd_kafka_message_destroy(m);
        if (visited != 0) {
            snprintf(err, errcap, "out of memory");
            goto done;
        }
    }
    rc = 0;
done:
    rd_kafka_topic_partition_list_destroy(list);
    return rc;
}

/* Reads every partition of `topic` into d. @returns 0, or -1 with err set. */
static int read_topic(dump_ctx *d, const cons_config *cfg, const char *topic,
                      long long timeout_s, char *err, size_t errcap)
{
    rd_kafka_t *rk = NULL;
    int32_t n_partitions = -1;
    int rc = -1;
    char group[128];

    cons_ctl_throwaway_group("dump", group, sizeof group);
    if ((rk = cons_ctl_consumer_new(cfg, group, true, err, errcap)) == NULL)
        goto done;
    if (cons_kafka_partition_counts(rk, 1, &topic, &n_partitions, METADATA_TIMEOUT_MS, err,
                                    errcap))
        goto done;
    if (n_partitions < 0) {
        snprintf(err, errcap, "topic %s does not exist", topic);
        goto done;
    }
    int64_t deadline = cons_ctl_now_ms() + timeout_s * 1000;
    for (int32_t p = 0; p < n_partitions; p++)
        if (dump_partition(d, rk, topic, p, deadline, err, errcap))
            goto done;
    if (d->undecodable > 0) {
        snprintf(err, errcap, "%lld of %lld records of %s did not decode", d->undecodable,
                 d->undecodable + d->records, topic);
        goto done;
    }
    rc = 0;
done:
    if (rk != NULL) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    return rc;
}

int cons_ctl_keep_payout(proc_payout **arr, int *n, int *cap, const proc_payout *p)
{
    if (*n == *cap) {
        int grown_cap = *cap ? 2 * *cap : 16;
        proc_payout *grown = realloc(*arr, (size_t)grown_cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        *arr = grown;
        *cap = grown_cap;
    }
    (*arr)[(*n)++] = *p;
    return 0;
}

int cons_ctl_scan_payouts(const cons_config *cfg, int (*visit)(void *arg, const proc_payout *p),
                          void *arg, char *err, size_t errcap)
{
    dump_ctx d;
    int rc;

    memset(&d, 0, sizeof d);
    d.kind = DUMP_PAYOUTS;
    d.visit = visit;
    d.arg = arg;
    if ((d.schemas = cons_ctl_schemas_open(cfg, NULL, 0, err, errcap)) == NULL)
        return -1;
    rc = read_topic(&d, cfg, cfg->topic_payouts, 120, err, errcap);
    cons_schemas_destroy(d.schemas);
    return rc;
}

int cons_ctl_dump(const cons_config *cfg, int argc, char **argv)
{
    dump_ctx d;
    const char *which = NULL, *topic = NULL;
    long long timeout_s = 120;
    cons_schemas *schemas = NULL;
    int rc = CONS_CTL_FAILED;
    char err[1024];

    memset(&d, 0, sizeof d);
    for (int i = 1; i < argc; i++) {
        const char *val = NULL;
        int m;
        if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "--raw") == 0) {
            if (argv[i][2] == 'j')
                d.json_only = true;
            else
                d.raw = true;
            continue;
        }
        if ((m = cons_ctl_opt(argc, argv, &i, "--topic", &val)) > 0) {
            which = val;
        } else if ((m = cons_ctl_opt(argc, argv, &i, "--timeout", &val)) > 0) {
            if (cons_ctl_parse_int(val, 1, 86400, &timeout_s))
                return cons_ctl_usage(USAGE);
        } else {
            return cons_ctl_usage(USAGE);
        }
    }
    if (which == NULL || (d.json_only && d.raw)) {
        return cons_ctl_usage(USAGE);
    } else if (strcmp(which, "payouts") == 0) {
        d.kind = DUMP_PAYOUTS;
        topic = cfg->topic_payouts;
    } else if (strcmp(which, "alerts") == 0) {
        d.kind = DUMP_ALERTS;
        topic = cfg->topic_alerts;
    } else if (strcmp(which, "dead-letters") == 0 || strcmp(which, "dead_letters") == 0) {
        d.kind = DUMP_DEAD_LETTERS;
        topic = cfg->topic_dead_letters;
    } else {
        return cons_ctl_usage(USAGE);
    }

    if ((schemas = cons_ctl_schemas_open(cfg, NULL, 0, err, sizeof err)) == NULL)
        goto fail;
    d.schemas = schemas;
    int failed = read_topic(&d, cfg, topic, timeout_s, err, sizeof err);
    fflush(stdout);
    if (failed)
        goto fail;
    rc = CONS_CTL_OK;
    goto done;
fail:
    fprintf(stderr, "incentivectl dump: %s\n", err);
done:
    cons_schemas_destroy(schemas);
    return rc;
}
