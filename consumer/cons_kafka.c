#include "cons_kafka.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cons_log.h"

static int set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
               size_t errcap)
{
    char why[512];
    if (rd_kafka_conf_set(conf, name, value, why, sizeof why) != RD_KAFKA_CONF_OK) {
        /* The value is left out of the message on purpose: it may be a secret. */
        snprintf(err, errcap, "kafka.%s: %s", name, why);
        return -1;
    }
    return 0;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    cons_log(level <= 3 ? CONS_LOG_ERROR : level <= 4 ? CONS_LOG_WARN : CONS_LOG_DEBUG,
             "librdkafka", "%s: %s", fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    cons_log(err == RD_KAFKA_RESP_ERR__FATAL ? CONS_LOG_ERROR : CONS_LOG_WARN, "kafka_error",
             "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* Base settings, then the user's kafka.* pass-through, then the settings correctness
 * depends on, which the user cannot override. */
static rd_kafka_conf_t *base_conf(const cons_config *cfg, const char *const *defaults,
                                  const char *const *forced, char *err, size_t errcap)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    for (int i = 0; defaults[i]; i += 2)
        if (set(conf, defaults[i], defaults[i + 1], err, errcap))
            goto fail;
    for (int i = 0; i < cfg->n_kafka; i++)
        if (set(conf, cfg->kafka[i].name, cfg->kafka[i].value, err, errcap))
            goto fail;
    for (int i = 0; forced[i]; i += 2)
        if (set(conf, forced[i], forced[i + 1], err, errcap))
            goto fail;
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

rd_kafka_t *cons_kafka_consumer_new(const cons_config *cfg,
                                    void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t,
                                                         rd_kafka_topic_partition_list_t *,
                                                         void *),
                                    void *opaque, char *err, size_t errcap)
{
    static const char *const defaults[] = {
        "socket.nagle.disable", "true",         /* Nagle is on in 2.0.2 and adds latency */
        /* The 64 MB default prefetch dominates RSS; 2 MB per fetch keeps the loop fed
         * (measured: no throughput loss, ~40 MB less RSS while draining a backlog). */
        "queued.max.messages.kbytes", "2048",
        "fetch.max.bytes", "2097152",
        "max.partition.fetch.bytes", "262144",
        "auto.offset.reset", "earliest",
        "fetch.wait.max.ms", "10",
        NULL};
    static const char *const forced[] = {
        "enable.auto.commit", "false",          /* offsets go through the transaction only */
        "enable.auto.offset.store", "false",
        "isolation.level", "read_committed",
        "partition.assignment.strategy", "range", /* eager: keeps co-partitions together */
        NULL};
    rd_kafka_conf_t *conf = base_conf(cfg, defaults, forced, err, errcap);
    rd_kafka_t *rk = NULL;
    char why[512];

    if (conf == NULL)
        return NULL;
    /* The timestamp merge must know when a topic-partition has nothing more to give. */
    if (set(conf, "group.id", cfg->group_id, err, errcap) ||
        (cfg->consume_timestamp_order &&
         set(conf, "enable.partition.eof", "true", err, errcap))) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (rebalance_cb) {
        /* A group member (the worker): static membership under its worker.id, so a
         * restarted worker takes its partitions back at once instead of waiting for the
         * dead member's session to time out. Users may override it via kafka.*. */
        bool user_set = false;
        for (int i = 0; i < cfg->n_kafka; i++)
            user_set |= strcmp(cfg->kafka[i].name, "group.instance.id") == 0;
        if (!user_set && set(conf, "group.instance.id", cfg->worker_id, err, errcap)) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
        rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    }
    rd_kafka_conf_set_opaque(conf, opaque);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
    if (rk == NULL) {
        snprintf(err, errcap, "cannot create Kafka consumer: %s", why);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    /* conf is now owned by rk */
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* Delivery results matter only through commit_transaction (which fails if any record
 * failed), but without a delivery callback librdkafka 2.0.2's commit flush waits in 10 ms
 * poll steps: an empty callback makes the commit return as soon as the broker acked. */
static void ignore_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)m;
    (void)opaque;
}

rd_kafka_t *cons_kafka_producer_new(const cons_config *cfg, const char *transactional_id,
                                    char *err, size_t errcap)
{
    static const char *const defaults[] = {
        "socket.nagle.disable", "true",
        "linger.ms", "2",
        "retry.backoff.ms", "20",                /* 100 ms default slows back-to-back txns */
        "transaction.timeout.ms", "30000",
        /* A dead letter is the rejected input record, bytes unchanged, plus its dlq.*
         * headers, so it is larger than the largest input record. Input topics accept
         * records up to 2 MiB (deploy/topics-create.sh): with the 1,000,000-byte default
         * a 1 MB record's dead letter failed the transaction, and the worker died on it
         * again after every restart. 64 KiB covers the headers (the detail and topic
         * name are bounded far below that) and the record batch overhead; the
         * dead-letter topic's max.message.bytes matches. incentivectl produce uses these
         * settings too, so it can write records as large as the input topics take. */
        "message.max.bytes", "2162688",           /* 2 MiB + 64 KiB */
        NULL};
    static const char *const forced[] = {
        "partitioner", "murmur2_random",         /* same partitions as Java producers */
        "enable.idempotence", "true",
        NULL};
    rd_kafka_conf_t *conf = base_conf(cfg, defaults, forced, err, errcap);
    rd_kafka_t *rk = NULL;
    char why[512];

    if (conf == NULL)
        return NULL;
    if (transactional_id && set(conf, "transactional.id", transactional_id, err, errcap)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (transactional_id)
        rd_kafka_conf_set_dr_msg_cb(conf, ignore_delivery);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    if (rk == NULL) {
        snprintf(err, errcap, "cannot create Kafka producer: %s", why);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    /* conf is now owned by rk */
    if (transactional_id) {
        rd_kafka_error_t *e = rd_kafka_init_transactions(rk, 60000);
        if (e) {
            cons_kafka_error(e, "init_transactions", err, errcap);
            rd_kafka_destroy(rk);
            return NULL;
        }
    }
    return rk;
}

int cons_kafka_partition_counts(rd_kafka_t *rk, int n, const char *const *topics,
                                int32_t *counts, int timeout_ms, char *err, size_t errcap)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (e) {
        snprintf(err, errcap, "cannot read Kafka metadata: %s", rd_kafka_err2str(e));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        counts[i] = -1;
        for (int j = 0; j < md->topic_cnt; j++)
            if (strcmp(md->topics[j].topic, topics[i]) == 0 && md->topics[j].err == 0)
                counts[i] = md->topics[j].partition_cnt;
    }
    rd_kafka_metadata_destroy(md);
    return 0;
}

int cons_kafka_error(rd_kafka_error_t *e, const char *what, char *err, size_t errcap)
{
    snprintf(err, errcap, "%s: %s", what, rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    return -1;
}
