/*
 * bench-floor — the floor the worker is measured against (README "Benchmarks"): what
 * exactly-once Kafka alone costs on this machine, without the incentive rules and without
 * Redis.
 *
 *     bench-floor [--key=value ...] --mode=copy|avro --expect=N --out-topic=T
 *                 [--timeout=S]
 *
 * The --key=value options and the PI_* environment are the worker's settings, loaded as
 * incentive-worker loads them (cons_config.h): bootstrap servers, the sales topic, the
 * group id, batch.max_ms and batch.max_events, kafka.* pass-through. The clients come from
 * cons_kafka.h, so they are configured exactly like the worker's (read_committed, no auto
 * commit, the same producer settings).
 *
 * It consumes the sales topic from the beginning in its own group ("<group>-floor-<mode>")
 * and runs the worker's transaction loop: a batch closes after batch.max_events records or
 * batch.max_ms; each batch is one Kafka transaction that produces to T and sends the
 * consumed offsets with send_offsets_to_transaction. Per record:
 *   copy  the record is produced unchanged (key and value);
 *   avro  the sale is decoded with the project's Avro decoder and a small REBATE payout
 *         (1 % of the amount) is encoded with its Avro-C encoder and produced; a record
 *         that does not decode is produced unchanged, as the worker dead-letters it.
 * After N records are committed it prints one line
 *     floor mode=M records=N batches=B undecodable=D cpu_s=C us_per_event=U wall_s=W
 * where cpu_s is this process's user + system time (all threads, getrusage) from the
 * first record received to the last commit.
 *
 * Exit codes: 0 measured, 1 failure (or fewer than N records within --timeout seconds,
 * default 600), 2 bad arguments.
 */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cons_config.h"
#include "cons_kafka.h"
#include "proc_event.h"
#include "schema_codec.h"
#include "schema_registry.h"

extern char **environ;

#define USAGE                                                                              \
    "usage: bench-floor [--key=value ...] --mode=copy|avro --expect=N --out-topic=T\n"     \
    "                   [--timeout=S]\n"

#define TXN_TIMEOUT_MS 30000
#define POLL_MS 5

typedef enum { MODE_COPY, MODE_AVRO } floor_mode;

typedef struct {
    floor_mode mode;
    long long expect;
    long long timeout_s;
    const char *out_topic;
} floor_args;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Takes our options out of argv; the rest is left for cons_config_load. @returns 0 or -1. */
static int parse_own_args(int *argc, char **argv, floor_args *a)
{
    int out = 1;
    bool have_mode = false;
    memset(a, 0, sizeof *a);
    a->timeout_s = 600;
    for (int i = 1; i < *argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--mode=copy") == 0 || strcmp(arg, "--mode=avro") == 0) {
            a->mode = arg[7] == 'c' ? MODE_COPY : MODE_AVRO;
            have_mode = true;
        } else if (strncmp(arg, "--expect=", 9) == 0) {
            a->expect = strtoll(arg + 9, NULL, 10);
        } else if (strncmp(arg, "--timeout=", 10) == 0) {
            a->timeout_s = strtoll(arg + 10, NULL, 10);
        } else if (strncmp(arg, "--out-topic=", 12) == 0) {
            a->out_topic = arg + 12;
        } else {
            argv[out++] = argv[i];      /* a worker setting */
        }
    }
    argv[out] = NULL;
    *argc = out;
    if (!have_mode || a->expect < 1 || a->timeout_s < 1 || a->out_topic == NULL ||
        !a->out_topic[0]) {
        fputs("bench-floor: --mode, --expect (≥ 1) and --out-topic are required\n" USAGE,
              stderr);
        return -1;
    }
    return 0;
}

/* The avro variant's work per record: decode the sale, encode a payout for it.
 * @returns 0 and *len, 1 when the record does not decode as a sale (the generated stream
 * holds a few bad records on purpose), or -1 with err filled. */
static int avro_payout(const schema_registry *reg, const rd_kafka_message_t *m,
                       proc_event *ev, proc_payout *p, uint8_t *buf, size_t *len,
                       char *err, size_t errcap)
{
    char detail[256];
    schema_status st = schema_decode_event(reg, PROC_EVENT_SALE, m->payload, m->len, ev,
                                           detail, sizeof detail);
    if (st != SCHEMA_OK)
        return 1;                      /* the caller passes it on, as a dead letter would be */
    memset(p, 0, sizeof *p);
    snprintf(p->payout_id, sizeof p->payout_id, "%s:REBATE", ev->event_id);
    snprintf(p->partner_id, sizeof p->partner_id, "%s", ev->partner_id);
    snprintf(p->program_id, sizeof p->program_id, "floor");
    p->kind = PROC_PAYOUT_REBATE;
    p->amount_minor = ev->u.sale.amount_minor / 100;
    snprintf(p->currency, sizeof p->currency, "%s", ev->u.sale.currency);
    snprintf(p->period, sizeof p->period, "2026-Q4");
    snprintf(p->tier, sizeof p->tier, "Registered");
    snprintf(p->rule_id, sizeof p->rule_id, "Registered");
    snprintf(p->source_event_id, sizeof p->source_event_id, "%s", ev->event_id);
    p->occurred_at = ev->occurred_at;
    if (schema_encode_payout(reg, p, buf, SCHEMA_ENCODE_MAX, len)) {
        snprintf(err, errcap, "offset %" PRId64 ": cannot encode the payout", m->offset);
        return -1;
    }
    return 0;
}

/* Sends the batch's offsets and commits. @returns 0 or -1 with err filled. */
static int commit(rd_kafka_t *producer, rd_kafka_t *consumer,
                  rd_kafka_topic_partition_list_t *offsets, char *err, size_t errcap)
{
    rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(consumer);
    rd_kafka_error_t *e = rd_kafka_send_offsets_to_transaction(producer, offsets, cgmd,
                                                               TXN_TIMEOUT_MS);
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    if (e == NULL)
        e = rd_kafka_commit_transaction(producer, TXN_TIMEOUT_MS);
    if (e != NULL)
        return cons_kafka_error(e, "commit", err, errcap);
    return 0;
}

int main(int argc, char **argv)
{
    floor_args a;
    cons_config cfg;
    schema_registry *reg = NULL;
    rd_kafka_t *producer = NULL, *consumer = NULL;
    rd_kafka_topic_partition_list_t *offsets = NULL, *topics = NULL;
    proc_event *ev = NULL;
    proc_payout *payout = NULL;
    uint8_t *buf = NULL;
    char err[1024] = "", group[200], txid[220];
    int rc = 1;
    bool cfg_loaded = false;

    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(USAGE, stdout);
            return 0;
        }
    if (parse_own_args(&argc, argv, &a))
        return 2;
    if (cons_config_load(&cfg, argc, argv, environ, err, sizeof err, NULL) != 0) {
        fprintf(stderr, "bench-floor: %s\n%s", err, USAGE);
        return 2;
    }
    cfg_loaded = true;
    snprintf(group, sizeof group, "%s-floor-%s", cfg.group_id,
             a.mode == MODE_COPY ? "copy" : "avro");
    snprintf(txid, sizeof txid, "%s-tx", group);
    if (cons_config_set(&cfg, "group.id", group, err, sizeof err))
        goto done;
    if ((reg = schema_registry_new(err, sizeof err)) == NULL)
        goto done;
    if (cfg.schema_map[0] && schema_registry_load_map(reg, cfg.schema_map, err, sizeof err))
        goto done;
    ev = malloc(sizeof *ev);
    payout = malloc(sizeof *payout);
    buf = malloc(SCHEMA_ENCODE_MAX);
    offsets = rd_kafka_topic_partition_list_new(64);
    topics = rd_kafka_topic_partition_list_new(1);
    if (ev == NULL || payout == NULL || buf == NULL || offsets == NULL || topics == NULL) {
        snprintf(err, sizeof err, "out of memory");
        goto done;
    }
    if ((consumer = cons_kafka_consumer_new(&cfg, NULL, NULL, err, sizeof err)) == NULL ||
        (producer = cons_kafka_producer_new(&cfg, txid, err, sizeof err)) == NULL)
        goto done;
    rd_kafka_topic_partition_list_add(topics, cfg.topic_sales, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t se = rd_kafka_subscribe(consumer, topics);
    if (se) {
        snprintf(err, sizeof err, "subscribe %s: %s", cfg.topic_sales, rd_kafka_err2str(se));
        goto done;
    }

    long long done_n = 0, in_batch = 0, batches = 0, undecodable = 0;
    double t_first = 0, cpu_first = 0, batch_opened = 0;
    double deadline = now_s() + (double)a.timeout_s;
    while (done_n < a.expect) {
        if (now_s() > deadline) {
            snprintf(err, sizeof err, "only %lld of %lld records within %lld s", done_n,
                     a.expect, a.timeout_s);
            goto done;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, POLL_MS);
        if (m != NULL && m->err) {
            bool fatal = m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF;
            if (fatal)
                snprintf(err, sizeof err, "consume: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            if (fatal)
                goto done;
            m = NULL;
        }
        if (m != NULL) {
            if (t_first == 0) {
                t_first = now_s();
                cpu_first = cpu_s();
            }
            if (in_batch == 0) {
                rd_kafka_error_t *e = rd_kafka_begin_transaction(producer);
                if (e != NULL) {
                    cons_kafka_error(e, "begin_transaction", err, sizeof err);
                    rd_kafka_message_destroy(m);
                    goto done;
                }
                batch_opened = now_s();
            }
            const void *out = m->payload;
            size_t out_len = m->len;
            if (a.mode == MODE_AVRO) {
                int r = avro_payout(reg, m, ev, payout, buf, &out_len, err, sizeof err);
                if (r < 0) {
                    rd_kafka_message_destroy(m);
                    goto done;
                }
                if (r == 0)
                    out = buf;
                else
                    undecodable++;
            }
            rd_kafka_resp_err_t pe;
            while ((pe = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(a.out_topic),
                                           RD_KAFKA_V_KEY(m->key, m->key_len),
                                           RD_KAFKA_V_VALUE((void *)out, out_len),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                           RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(producer, 10);
            if (pe) {
                snprintf(err, sizeof err, "produce: %s", rd_kafka_err2str(pe));
                rd_kafka_message_destroy(m);
                goto done;
            }
            rd_kafka_topic_partition_t *o = rd_kafka_topic_partition_list_find(
                offsets, rd_kafka_topic_name(m->rkt), m->partition);
            if (o == NULL)
                o = rd_kafka_topic_partition_list_add(offsets, rd_kafka_topic_name(m->rkt),
                                                      m->partition);
            o->offset = m->offset + 1;
            in_batch++;
            rd_kafka_message_destroy(m);
        }
        bool full = in_batch >= cfg.batch_max_events;
        bool old = in_batch > 0 && (now_s() - batch_opened) * 1000 >= cfg.batch_max_ms;
        if (full || old || (in_batch > 0 && done_n + in_batch >= a.expect)) {
            if (commit(producer, consumer, offsets, err, sizeof err))
                goto done;
            done_n += in_batch;
            in_batch = 0;
            batches++;
            rd_kafka_topic_partition_list_destroy(offsets);
            if ((offsets = rd_kafka_topic_partition_list_new(64)) == NULL) {
                snprintf(err, sizeof err, "out of memory");
                goto done;
            }
        }
    }
    double cpu = cpu_s() - cpu_first, wall = now_s() - t_first;
    printf("floor mode=%s records=%lld batches=%lld undecodable=%lld cpu_s=%.3f "
           "us_per_event=%.2f wall_s=%.3f\n", a.mode == MODE_COPY ? "copy" : "avro", done_n,
           batches, undecodable, cpu, cpu * 1e6 / (double)done_n, wall);
    rc = 0;

done:
    if (rc != 0)
        fprintf(stderr, "bench-floor: %s\n", err);
    if (consumer != NULL) {
        rd_kafka_consumer_close(consumer);
        rd_kafka_destroy(consumer);
    }
    if (producer != NULL)
        rd_kafka_destroy(producer);
    if (offsets != NULL)
        rd_kafka_topic_partition_list_destroy(offsets);
    if (topics != NULL)
        rd_kafka_topic_partition_list_destroy(topics);
    schema_registry_destroy(reg);
    free(ev);
    free(payout);
    free(buf);
    if (cfg_loaded)
        cons_config_free(&cfg);
    return rc;
}
