/*
 * cons_ctl_produce.c — `incentivectl produce`: writes input events to the four input
 * topics, from a JSON-lines file or from the generator (cons_ctl_gen.h).
 *
 * Records are keyed by partner_id and partitioned by librdkafka's murmur2_random (the
 * Java client's default, forced by cons_kafka), so they land where the worker expects
 * them (CONTRACT §2). The producer is idempotent; every record's delivery report is checked,
 * and one failed delivery makes the command fail, so a script never goes on with a
 * stream that is missing records.
 *
 * File lines (`-` = stdin; blank lines and lines starting with '#' are skipped):
 *   {"type":"sale",...}           an event in schema_json.h's format, sent to its type's
 *                                 topic, keyed by its partner_id;
 *   {"raw_topic":"sales", "key":"p1", "hex":"0000000001ff"}
 *                                 exactly these value bytes (DECODE_ERROR and
 *                                 UNKNOWN_SCHEMA tests); "hex":"" is an empty value
 *                                 (zero bytes), "hex":null a null value (no value at
 *                                 all): Kafka tells the two apart, and so do the
 *                                 dead letters;
 *   {"raw_topic":"sales", "key":"p1", "partition":3, "event":{...}}
 *                                 an event sent to a chosen topic and partition
 *                                 (MISPARTITIONED and UNKNOWN_SCHEMA tests).
 * In raw lines "key" may be null (no key) or left out (the event's partner_id, or no key
 * for "hex"), and "partition" left out (chosen from the key) or "other": the partition
 * after the one the key hashes to (a MISPARTITIONED record; skipped, with a note, when
 * the topic has one partition). `--dry-run` prints the records in this same format, so
 * its output can be produced later with --file.
 *
 * --generate writes one phase of the generated stream (cons_ctl_gen.h) at a time: enrol,
 * sales, surveys, conflicts. Within a phase no record depends on another topic or
 * partner, so a script produces each phase and waits for the worker (`incentivectl lag
 * --wait`) before the next: then every run computes the same outputs. `--phase all`
 * writes the four at once; fine for --dry-run and quick tries, but the worker may then
 * see a sale before its partner's enrolment (another topic) and dead-letter it.
 */
#include <inttypes.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cons_ctl.h"
#include "cons_ctl_gen.h"
#include "cons_kafka.h"
#include "cons_murmur2.h"
#include "cons_program.h"
#include "proc_period.h"
#include "schema_codec.h"
#include "schema_json.h"

#define USAGE                                                                              \
    "produce (--file EVENTS.jsonl|- | --generate [--seed N] [--partners P] [--sales S]\n"  \
    "        [--start YYYY-MM-DD] [--days D] [--cert-pct PCT] [--bad N] [--deals N]\n"     \
    "        [--returns N] [--responses N] [--plain] [--program-file F]\n"                 \
    "        [--phase enrol|sales|surveys|conflicts|all]) [--dry-run]\n"                   \
    "  Produce the phases in this order, each after `incentivectl lag --wait` has seen the\n" \
    "  worker consume the previous one; --phase all (the default) sends the four at once\n"  \
    "  and is meant for --dry-run and quick tries: the worker may then see a sale before\n"  \
    "  its partner's enrolment. --plain: enrolments, certifications and sales only."

#define N_INPUT_TOPICS PROC_EVENT_TYPE_COUNT
#define FLUSH_TIMEOUT_MS 120000
#define METADATA_TIMEOUT_MS 10000

/* Logical names of the input topics in raw lines, indexed by proc_event_type. */
static const char *const topic_words[N_INPUT_TOPICS] = {"sales", "registrations", "surveys",
                                                        "approvals"};

/* ---- the JSON-lines reader --------------------------------------------------------- */

typedef struct {
    FILE *f;
    const char *name;         /* for messages: the path or "stdin" */
    long line_no;
    char *line;               /* getline's buffer */
    size_t line_cap;
    uint8_t *raw;             /* decoded "hex" of the current raw line */
    size_t raw_cap;
} line_reader;

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes hex text into the reader's raw buffer. @returns 0 or -1 with err set. */
static int decode_hex(line_reader *lr, const char *hex, cons_ctl_record *rec, char *err,
                      size_t errcap)
{
    /* A zero-length value must still have a non-NULL pointer: librdkafka sends a NULL
     * one as a null value, which is another record (see the file comment). */
    static const uint8_t empty[1];
    size_t n = strlen(hex);

    if (n % 2 != 0) {
        snprintf(err, errcap, "hex: odd number of digits");
        return -1;
    }
    if (n / 2 > lr->raw_cap) {
        uint8_t *p = realloc(lr->raw, n / 2);
        if (p == NULL) {
            snprintf(err, errcap, "hex: out of memory");
            return -1;
        }
        lr->raw = p;
        lr->raw_cap = n / 2;
    }
    for (size_t k = 0; k < n / 2; k++) {
        int hi = hex_digit((unsigned char)hex[2 * k]), lo = hex_digit((unsigned char)hex[2 * k + 1]);
        if (hi < 0 || lo < 0) {
            snprintf(err, errcap, "hex: not a hex digit at position %zu", 2 * k + (hi >= 0));
            return -1;
        }
        lr->raw[k] = (uint8_t)(hi << 4 | lo);
    }
    rec->is_raw = true;
    rec->raw = n == 0 ? empty : lr->raw;
    rec->raw_len = n / 2;
    return 0;
}

/* Fills rec from a {"raw_topic":...} object. @returns 0 or -1 with err set. */
static int parse_raw_line(line_reader *lr, json_t *root, cons_ctl_record *rec, char *err,
                          size_t errcap)
{
    const char *k;
    json_t *v, *key = NULL, *hex = NULL, *event = NULL;
    const char *word;
    char *text = NULL;
    int rc = -1;

    json_object_foreach(root, k, v) {
        if (strcmp(k, "raw_topic") == 0) {
            continue;
        } else if (strcmp(k, "key") == 0) {
            key = v;
        } else if (strcmp(k, "hex") == 0) {
            hex = v;
        } else if (strcmp(k, "event") == 0) {
            event = v;
        } else if (strcmp(k, "partition") == 0) {
            if (json_is_string(v) && strcmp(json_string_value(v), "other") == 0) {
                rec->partition = CONS_CTL_PARTITION_OTHER;
                continue;
            }
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > INT32_MAX) {
                snprintf(err, errcap, "partition: expected an integer >= 0 or \"other\"");
                goto done;
            }
            rec->partition = (int32_t)json_integer_value(v);
        } else {
            snprintf(err, errcap, "%s: unknown key (expected raw_topic, key, partition, "
                     "hex or event)", k);
            goto done;
        }
    }
    word = json_string_value(json_object_get(root, "raw_topic"));
    rec->topic = (proc_event_type)N_INPUT_TOPICS;
    for (int t = 0; word && t < N_INPUT_TOPICS; t++)
        if (strcmp(word, topic_words[t]) == 0)
            rec->topic = (proc_event_type)t;
    if ((int)rec->topic == N_INPUT_TOPICS) {
        snprintf(err, errcap, "raw_topic: expected \"sales\", \"registrations\", \"surveys\" "
                 "or \"approvals\"");
        goto done;
    }
    if ((hex == NULL) == (event == NULL)) {
        snprintf(err, errcap, "a raw line needs exactly one of \"hex\" and \"event\"");
        goto done;
    }
    if (hex != NULL && json_is_null(hex)) {
        rec->is_raw = true;          /* a null value: raw stays NULL */
    } else if (hex != NULL) {
        if (!json_is_string(hex)) {
            snprintf(err, errcap, "hex: expected a string or null");
            goto done;
        }
        if (decode_hex(lr, json_string_value(hex), rec, err, errcap))
            goto done;
    } else {
        char why[512];
        if (!json_is_object(event) || (text = json_dumps(event, JSON_COMPACT)) == NULL) {
            snprintf(err, errcap, "event: expected an object");
            goto done;
        }
        if (schema_event_from_json(text, &rec->ev, why, sizeof why) != 0) {
            snprintf(err, errcap, "event: %s", why);
            goto done;
        }
        rec->has_key = true;
        snprintf(rec->key, sizeof rec->key, "%s", rec->ev.partner_id);
    }
    if (key != NULL) {
        if (json_is_null(key)) {
            rec->has_key = false;
        } else if (json_is_string(key) && json_string_length(key) <= PROC_STR_MAX &&
                   strlen(json_string_value(key)) == json_string_length(key)) {
            rec->has_key = true;
            snprintf(rec->key, sizeof rec->key, "%s", json_string_value(key));
        } else {
            snprintf(err, errcap, "key: expected null or a string of at most %d bytes",
                     PROC_STR_MAX);
            goto done;
        }
    }
    rc = 0;
done:
    free(text);
    return rc;
}

/* Reads the next record. @returns 1 with *rec filled, 0 at the end, or -1 with
 * "FILE:LINE: sentence" in err. */
static int read_record(line_reader *lr, cons_ctl_record *rec, char *err, size_t errcap)
{
    for (;;) {
        char why[512];
        json_error_t jerr;
        json_t *root = NULL;
        ssize_t n = getline(&lr->line, &lr->line_cap, lr->f);
        int rc;

        if (n < 0) {
            if (ferror(lr->f)) {
                snprintf(err, errcap, "%s: read error", lr->name);
                return -1;
            }
            return 0;
        }
        lr->line_no++;
        while (n > 0 && (lr->line[n - 1] == '\n' || lr->line[n - 1] == '\r'))
            lr->line[--n] = '\0';
        size_t lead = strspn(lr->line, " \t");
        if (lr->line[lead] == '\0' || lr->line[lead] == '#')
            continue;

        memset(rec, 0, sizeof *rec);
        rec->partition = CONS_CTL_PARTITION_KEY;
        root = json_loads(lr->line, JSON_REJECT_DUPLICATES, &jerr);
        if (root == NULL || !json_is_object(root)) {
            snprintf(err, errcap, "%s:%ld: not a JSON object: %s", lr->name, lr->line_no,
                     root ? "another JSON value" : jerr.text);
            json_decref(root);
            return -1;
        }
        if (json_object_get(root, "raw_topic") != NULL) {
            rc = parse_raw_line(lr, root, rec, why, sizeof why);
        } else {
            rc = schema_event_from_json(lr->line, &rec->ev, why, sizeof why);
            rec->topic = rec->ev.type;
            rec->has_key = true;
            snprintf(rec->key, sizeof rec->key, "%s", rec->ev.partner_id);
        }
        json_decref(root);
        if (rc != 0) {
            snprintf(err, errcap, "%s:%ld: %s", lr->name, lr->line_no, why);
            return -1;
        }
        return 1;
    }
}

/* ---- sinks: Kafka, or stdout for --dry-run ----------------------------------------- */

typedef struct {
    const schema_registry *reg;
    bool dry_run;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt[N_INPUT_TOPICS];
    const char *topic_names[N_INPUT_TOPICS];
    int32_t partitions[N_INPUT_TOPICS];   /* -1: the topic does not exist */
    long long per_topic[N_INPUT_TOPICS];
    long long raw;
    long long skipped;                    /* "other" partition records with one partition */
    long long bad[CONS_CTL_BAD_COUNT];
    long long failed;                     /* failed deliveries */
    char first_failure[512];
} sink;

/* Delivery reports, served by rd_kafka_poll/flush on this thread. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    sink *s = opaque;
    (void)rk;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    if (s->failed++ == 0)
        snprintf(s->first_failure, sizeof s->first_failure, "%s [%" PRId32 "]: %s",
                 rd_kafka_topic_name(m->rkt), m->partition, rd_kafka_err2str(m->err));
}

/* An idempotent murmur2 producer with our delivery report callback. cons_kafka builds
 * the configuration the worker uses (pass-through kafka.*, forced partitioner and
 * idempotence) but takes no callbacks, so its configuration is copied from a first handle
 * and completed here: one source of truth for the settings. */
static int sink_open_kafka(sink *s, const cons_config *cfg, char *err, size_t errcap)
{
    rd_kafka_t *probe = cons_kafka_producer_new(cfg, NULL, err, errcap);
    rd_kafka_conf_t *conf = NULL;
    char why[512];
    int rc = -1;

    if (probe == NULL)
        goto done;
    conf = rd_kafka_conf_dup(rd_kafka_conf(probe));
    rd_kafka_destroy(probe);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, s);
    s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    if (s->rk == NULL) {
        snprintf(err, errcap, "cannot create Kafka producer: %s", why);
        goto done;
    }
    conf = NULL;                 /* now owned by s->rk */
    if (cons_kafka_partition_counts(s->rk, N_INPUT_TOPICS, s->topic_names, s->partitions,
                                    METADATA_TIMEOUT_MS, err, errcap))
        goto done;
    for (int t = 0; t < N_INPUT_TOPICS; t++)
        if ((s->rkt[t] = rd_kafka_topic_new(s->rk, s->topic_names[t], NULL)) == NULL) {
            snprintf(err, errcap, "%s: %s", s->topic_names[t],
                     rd_kafka_err2str(rd_kafka_last_error()));
            goto done;
        }
    rc = 0;
done:
    if (conf != NULL)
        rd_kafka_conf_destroy(conf);
    return rc;
}

static void sink_close(sink *s)
{
    for (int t = 0; t < N_INPUT_TOPICS; t++)
        if (s->rkt[t] != NULL)
            rd_kafka_topic_destroy(s->rkt[t]);
    if (s->rk != NULL)
        rd_kafka_destroy(s->rk);
}

/* Prints a record as one JSON line that --file reads back to the same record. */
static int print_record(const cons_ctl_record *rec, char *err, size_t errcap)
{
    char *ev_json = NULL, *hex = NULL, *line = NULL;
    json_t *o = NULL;
    int rc = -1;

    if (!rec->is_raw && (ev_json = schema_event_to_json(&rec->ev)) == NULL) {
        snprintf(err, errcap, "event %s cannot be written as JSON", rec->ev.event_id);
        goto done;
    }
    if (!rec->is_raw && rec->partition == CONS_CTL_PARTITION_KEY && rec->has_key &&
        strcmp(rec->key, rec->ev.partner_id) == 0 && rec->topic == rec->ev.type) {
        puts(ev_json);           /* the common case: a plain event line */
        rc = 0;
        goto done;
    }
    o = json_object();
    json_object_set_new(o, "raw_topic", json_string(topic_words[rec->topic]));
    json_object_set_new(o, "key", rec->has_key ? json_string(rec->key) : json_null());
    if (rec->partition >= 0)
        json_object_set_new(o, "partition", json_integer(rec->partition));
    else if (rec->partition == CONS_CTL_PARTITION_OTHER)
        json_object_set_new(o, "partition", json_string("other"));
    if (rec->is_raw && rec->raw == NULL) {
        json_object_set_new(o, "hex", json_null());
    } else if (rec->is_raw) {
        if ((hex = cons_ctl_hex(rec->raw, rec->raw_len)) == NULL)
            goto oom;
        json_object_set_new(o, "hex", json_string(hex));
    } else {
        json_object_set_new(o, "event", json_loads(ev_json, 0, NULL));
    }
    if ((line = json_dumps(o, JSON_COMPACT)) == NULL)
        goto oom;
    puts(line);
    rc = 0;
    goto done;
oom:
    snprintf(err, errcap, "out of memory");
done:
    free(line);
    free(hex);
    free(ev_json);
    json_decref(o);
    return rc;
}

static int sink_send(sink *s, const cons_ctl_record *rec, char *err, size_t errcap)
{
    uint8_t buf[SCHEMA_ENCODE_MAX];
    const void *value = rec->raw;
    size_t len = rec->raw_len;
    int t = (int)rec->topic;
    int32_t partition = rec->partition >= 0 ? rec->partition : RD_KAFKA_PARTITION_UA;

    if (!rec->is_raw) {
        if (schema_encode_event(s->reg, &rec->ev, buf, sizeof buf, &len) != 0) {
            snprintf(err, errcap, "event %s cannot be encoded (invalid field)", rec->ev.event_id);
            return -1;
        }
        value = buf;
    }
    if (s->dry_run) {
        if (print_record(rec, err, errcap))
            return -1;
    } else {
        if (s->partitions[t] < 0) {
            snprintf(err, errcap, "topic %s does not exist (create it first, e.g. with "
                     "deploy/topics-create.sh)", s->topic_names[t]);
            return -1;
        }
        if (rec->partition == CONS_CTL_PARTITION_OTHER) {
            /* The partition after the key's: the record must not be where it belongs. */
            if (s->partitions[t] < 2 || !rec->has_key) {
                s->skipped++;
                return 0;
            }
            partition = (cons_murmur2_partition(rec->key, strlen(rec->key), s->partitions[t]) +
                         1) % s->partitions[t];
        }
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                s->rk, RD_KAFKA_V_RKT(s->rkt[t]),
                RD_KAFKA_V_PARTITION(partition),
                RD_KAFKA_V_KEY(rec->has_key ? rec->key : NULL,
                               rec->has_key ? strlen(rec->key) : 0),
                RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(s->rk, 100);   /* serve delivery reports to make room */
                continue;
            }
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
                snprintf(err, errcap, "cannot produce to %s: %s", s->topic_names[t],
                         rd_kafka_err2str(e));
                return -1;
            }
            break;
        }
        rd_kafka_poll(s->rk, 0);
    }
    s->per_topic[t]++;
    s->raw += rec->is_raw;
    s->bad[rec->bad]++;
    return 0;
}

/* Waits for every delivery report. @returns 0 when all records were delivered. */
static int sink_finish(sink *s, char *err, size_t errcap)
{
    char why[512];

    if (s->dry_run)
        return 0;
    if (rd_kafka_flush(s->rk, FLUSH_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errcap, "%d records still undelivered after %d s",
                 rd_kafka_outq_len(s->rk), FLUSH_TIMEOUT_MS / 1000);
        return -1;
    }
    if (rd_kafka_fatal_error(s->rk, why, sizeof why) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errcap, "fatal producer error: %s", why);
        return -1;
    }
    if (s->failed > 0) {
        snprintf(err, errcap, "%lld records failed delivery, the first: %s", s->failed,
                 s->first_failure);
        return -1;
    }
    return 0;
}

static void print_summary(const sink *s)
{
    long long total = 0, bad = 0;

    for (int t = 0; t < N_INPUT_TOPICS; t++)
        total += s->per_topic[t];
    for (int b = 1; b < CONS_CTL_BAD_COUNT; b++)
        bad += s->bad[b];
    fprintf(stderr, "%s %lld records:", s->dry_run ? "would produce" : "produced", total);
    for (int t = 0; t < N_INPUT_TOPICS; t++)
        fprintf(stderr, "%s %lld to %s", t ? "," : "", s->per_topic[t], s->topic_names[t]);
    if (s->raw > 0)
        fprintf(stderr, "; %lld with raw value bytes", s->raw);
    if (s->skipped > 0)
        fprintf(stderr, "; %lld not sent (partition \"other\" needs a topic with two "
                "partitions or more)", s->skipped);
    if (bad > 0) {
        fprintf(stderr, "; bad records: %lld (", bad);
        for (int b = 1, first = 1; b < CONS_CTL_BAD_COUNT; b++)
            if (s->bad[b] > 0) {
                fprintf(stderr, "%s%s %lld", first ? "" : ", ",
                        cons_ctl_bad_name((cons_ctl_bad)b), s->bad[b]);
                first = 0;
            }
        fprintf(stderr, ")");
    }
    fprintf(stderr, "\n");
}

/* ---- the command ------------------------------------------------------------------- */

typedef struct {
    const char *file;
    bool generate;
    bool dry_run;
    const char *program_file;
    cons_ctl_gen_params gen;
} produce_args;

/* "2026-10-01" → epoch ms of that UTC midnight. @returns 0 or -1. */
static int parse_date(const char *text, int64_t *ms)
{
    unsigned y, m, d;
    char tail;

    if (sscanf(text, "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3 || strlen(text) != 10 ||
        m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    *ms = proc_days_from_civil((int64_t)y, m, d) * PROC_MS_PER_DAY;
    return 0;
}

/* @returns 0, or CONS_CTL_USAGE after printing the usage. */
static int parse_args(int argc, char **argv, produce_args *a)
{
    long long v;
    bool plain = false;

    a->gen.seed = 1;
    a->gen.n_partners = 100;
    a->gen.n_sales = 1000;
    a->gen.days = 30;
    a->gen.n_bad = -1;
    a->gen.n_deals = -1;
    a->gen.n_returns = -1;
    a->gen.n_responses = -1;
    a->gen.scenarios = true;
    a->gen.phase = CONS_CTL_PHASE_ALL;
    if (parse_date("2026-10-01", &a->gen.start_ms))
        return cons_ctl_usage(USAGE);
    for (int i = 1; i < argc; i++) {
        const char *val = NULL;
        int m;
        if (strcmp(argv[i], "--generate") == 0) {
            a->generate = true;
        } else if (strcmp(argv[i], "--dry-run") == 0) {
            a->dry_run = true;
        } else if (strcmp(argv[i], "--plain") == 0) {
            plain = true;
        } else if ((m = cons_ctl_opt(argc, argv, &i, "--file", &val)) != 0) {
            if (m < 0)
                return cons_ctl_usage(USAGE);
            a->file = val;
        } else if ((m = cons_ctl_opt(argc, argv, &i, "--program-file", &val)) != 0) {
            if (m < 0)
                return cons_ctl_usage(USAGE);
            a->program_file = val;
        } else if ((m = cons_ctl_opt(argc, argv, &i, "--seed", &val)) != 0) {
            if (m < 0 || cons_ctl_parse_int(val, 0, INT64_MAX, &v))
                return cons_ctl_usage(USAGE);
            a->gen.seed = (uint64_t)v;
        } else if ((m = cons_ctl_opt(argc, argv, &i, "--partners", &val)) != 0) {
            if (m < 0 || cons_ctl_parse_int(val, 1, CONS_CTL_GEN_MAX_PARTNERS, &v))
                return cons_ctl_usage(USAGE);
            a->gen.n_partners = (int)v;
        } else if ((m = cons_ctl_opt(argc, argv, &i, "--sales", &val)) != 0) {
            if (m < 0 || cons_ctl_parse_int(val, 0, CONS_CTL_GEN_MAX_SALES, &v))
                return cons_ctl_usage(USAGE);
            a->gen.n_sales = (int)v;
        } else if ((m = cons_ctl_opt(argc, argv, &i, "--days", &val)) != 0) {
            if (m < 0 || cons_ctl_parse_int(val, 1, CONS_CTL_GEN_MAX_DAYS, &v))
                return cons_ctl_usage(USAGE);
            a->gen.days = (int)v;
        } else if ((m = cons_ctl_opt(argc, argv, &i, "--cert-pct", &val)) != 0) {
            if (m < 0 || cons_ctl_parse_int(val, 0, 100, &v))
                return cons_ctl_usage(USAGE);
            a->gen.cert_pct = (int)v;
        } else if ((m = cons_ctl_opt(argc, argv, &i, "--bad", &val)) != 0) {
            if (m < 0 || cons_ctl_parse_int(val, 0, CONS_CTL_GEN_MAX_SALES, &v))
                return cons_ctl_usage(USAGE);
            a->gen.n_bad = (int)v;
        } else if ((m = cons_ctl_opt(argc, argv, &i, "--deals", &val)) != 0) {
            if (m < 0 || cons_ctl_parse_int(val, 0, CONS_CTL_GEN_MAX_DEALS, &v))
                return cons_ctl_usage(USAGE);
            a->gen.n_deals = (int)v;
        } else if ((m = cons_ctl_opt(argc, argv, &i, "--returns", &val)) != 0) {
            if (m < 0 || cons_ctl_parse_int(val, 0, CONS_CTL_GEN_MAX_SALES, &v))
                return cons_ctl_usage(USAGE);
            a->gen.n_returns = (int)v;
        } else if ((m = cons_ctl_opt(argc, argv, &i, "--responses", &val)) != 0) {
            if (m < 0 || cons_ctl_parse_int(val, 0, CONS_CTL_GEN_MAX_RESPONSES, &v))
                return cons_ctl_usage(USAGE);
            a->gen.n_responses = (int)v;
        } else if ((m = cons_ctl_opt(argc, argv, &i, "--start", &val)) != 0) {
            if (m < 0 || parse_date(val, &a->gen.start_ms))
                return cons_ctl_usage(USAGE);
        } else if ((m = cons_ctl_opt(argc, argv, &i, "--phase", &val)) != 0) {
            if (m < 0)
                return cons_ctl_usage(USAGE);
            if (strcmp(val, "all") == 0)
                a->gen.phase = CONS_CTL_PHASE_ALL;
            else if (strcmp(val, "enrol") == 0 || strcmp(val, "enroll") == 0)
                a->gen.phase = CONS_CTL_PHASE_ENROL;
            else if (strcmp(val, "sales") == 0)
                a->gen.phase = CONS_CTL_PHASE_SALES;
            else if (strcmp(val, "surveys") == 0)
                a->gen.phase = CONS_CTL_PHASE_SURVEYS;
            else if (strcmp(val, "conflicts") == 0)
                a->gen.phase = CONS_CTL_PHASE_CONFLICTS;
            else
                return cons_ctl_usage(USAGE);
        } else {
            return cons_ctl_usage(USAGE);
        }
    }
    if (a->generate == (a->file != NULL))    /* exactly one source */
        return cons_ctl_usage(USAGE);
    if (plain) {                             /* what an explicit count says still counts */
        a->gen.scenarios = false;
        a->gen.n_deals = a->gen.n_deals < 0 ? 0 : a->gen.n_deals;
        a->gen.n_returns = a->gen.n_returns < 0 ? 0 : a->gen.n_returns;
        a->gen.n_responses = a->gen.n_responses < 0 ? 0 : a->gen.n_responses;
    }
    return 0;
}

int cons_ctl_produce(const cons_config *cfg, int argc, char **argv)
{
    produce_args a;
    sink s;
    line_reader lr;
    cons_ctl_record *rec = NULL;         /* ~4 KB: kept off the stack */
    cons_ctl_gen *gen = NULL;
    proc_program *programs = NULL;
    cons_schemas *schemas = NULL;
    int n_programs = 0, rc = CONS_CTL_FAILED, more;
    char err[1024];

    memset(&a, 0, sizeof a);
    memset(&s, 0, sizeof s);
    memset(&lr, 0, sizeof lr);
    if (parse_args(argc, argv, &a) != 0)
        return CONS_CTL_USAGE;

    s.dry_run = a.dry_run;
    s.topic_names[PROC_EVENT_SALE] = cfg->topic_sales;
    s.topic_names[PROC_EVENT_REGISTRATION] = cfg->topic_registrations;
    s.topic_names[PROC_EVENT_SURVEY] = cfg->topic_surveys;
    s.topic_names[PROC_EVENT_APPROVAL] = cfg->topic_approvals;
    if ((rec = calloc(1, sizeof *rec)) == NULL) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    /* With a schema registry, the inputs are written with the registry's ids, as any
     * producer using it would. */
    const cons_schemas_output writes[] = {
        {SCHEMA_REC_SALE, cfg->topic_sales},
        {SCHEMA_REC_REGISTRATION, cfg->topic_registrations},
        {SCHEMA_REC_SURVEY, cfg->topic_surveys},
        {SCHEMA_REC_APPROVAL, cfg->topic_approvals},
    };
    if ((schemas = cons_ctl_schemas_open(cfg, writes, 4, err, sizeof err)) == NULL)
        goto fail;
    s.reg = cons_schemas_registry(schemas);
    if (a.generate) {
        const char *path = a.program_file ? a.program_file : cfg->program_file;
        if (cons_program_load(path, &programs, &n_programs, err, sizeof err) != 0)
            goto fail;
        a.gen.programs = programs;
        a.gen.n_programs = n_programs;
        if ((gen = cons_ctl_gen_new(&a.gen, err, sizeof err)) == NULL)
            goto fail;
    } else if (strcmp(a.file, "-") == 0) {
        lr.f = stdin;
        lr.name = "stdin";
    } else if ((lr.f = fopen(a.file, "r")) == NULL) {
        snprintf(err, sizeof err, "%s: cannot open", a.file);
        goto fail;
    } else {
        lr.name = a.file;
    }
    if (!s.dry_run && sink_open_kafka(&s, cfg, err, sizeof err))
        goto fail;

    for (;;) {
        more = gen ? cons_ctl_gen_next(gen, rec) : read_record(&lr, rec, err, sizeof err);
        if (more < 0)
            goto fail;
        if (more == 0)
            break;
        if (sink_send(&s, rec, err, sizeof err))
            goto fail;
    }
    if (sink_finish(&s, err, sizeof err))
        goto fail;
    print_summary(&s);
    rc = CONS_CTL_OK;
    goto done;
fail:
    fprintf(stderr, "incentivectl produce: %s\n", err);
done:
    if (s.dry_run)
        fflush(stdout);
    sink_close(&s);
    if (lr.f != NULL && lr.f != stdin)
        fclose(lr.f);
    free(lr.line);
    free(lr.raw);
    cons_ctl_gen_destroy(gen);
    cons_program_free(programs);
    cons_schemas_destroy(schemas);
    free(rec);
    return rc;
}
