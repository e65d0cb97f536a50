/*
 * cons_kafka.h — librdkafka clients configured the way exactly-once needs them.
 *
 * The settings that correctness depends on are forced here (read_committed, no auto
 * commit, eager range assignment, murmur2 partitioner); everything under `kafka.*` in the
 * worker config is passed through first, so users can add SASL/SSL and tune the rest.
 */
#ifndef CONS_KAFKA_H
#define CONS_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "cons_config.h"

/* A consumer in group cfg's group.id. rebalance_cb may be NULL. The opaque is passed to
 * callbacks. @returns the handle (caller destroys it) or NULL with err filled. */
rd_kafka_t *cons_kafka_consumer_new(const cons_config *cfg,
                                    void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t,
                                                         rd_kafka_topic_partition_list_t *,
                                                         void *),
                                    void *opaque, char *err, size_t errcap);

/* A producer; transactional when transactional_id is not NULL (then init_transactions
 * has been called). @returns the handle (caller destroys it) or NULL with err filled. */
rd_kafka_t *cons_kafka_producer_new(const cons_config *cfg, const char *transactional_id,
                                    char *err, size_t errcap);

/* Partition count of each topic via metadata. counts[i] = -1 when a topic is missing.
 * @returns 0 or -1 (metadata request failed). */
int cons_kafka_partition_counts(rd_kafka_t *rk, int n, const char *const *topics,
                                int32_t *counts, int timeout_ms, char *err, size_t errcap);

/* Copies an rd_kafka_error_t's description and destroys it. @returns -1. */
int cons_kafka_error(rd_kafka_error_t *e, const char *what, char *err, size_t errcap);

#endif
