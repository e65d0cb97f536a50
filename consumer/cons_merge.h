/*
 * cons_merge.h — the co-partitioned input topics of one partition merged into one order
 * by record timestamp (setting consume.order=timestamp; CONTRACT §7.3).
 *
 * librdkafka fetches every topic-partition on its own, so by default the worker applies
 * records in the order they happen to arrive, which differs between two runs over the
 * same history. A replay (incentivectl replay) must apply them in one order that does not
 * depend on fetch timing: per partition, the record with the smallest (timestamp, topic
 * rank, offset) first, and only once every other topic of that partition has either a
 * buffered record or has reported its end (PARTITION_EOF) — otherwise an earlier record
 * could still be on its way. This is the merge Kafka Streams does across a task's
 * partitions.
 *
 * Pure bookkeeping: no Kafka, no I/O. Items are opaque to the merge (the worker stores
 * rd_kafka_message_t pointers); the caller owns them — pop hands one back, reset and
 * free give every buffered one to the drop callback.
 */
#ifndef CONS_MERGE_H
#define CONS_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cons_merge cons_merge;

/* rank[t] orders topics whose heads have the same timestamp (lower first, then the lower
 * topic index); n_topics <= 65536.
 * @returns the merge, or NULL when memory ran out. */
cons_merge *cons_merge_new(int32_t n_partitions, int n_topics, const int *rank);

/* Gives every buffered item to drop (may be NULL) and frees the merge (NULL: no-op). */
void cons_merge_free(cons_merge *m, void (*drop)(void *item));

/* A record of topic t, partition p, arrived (in offset order within (p, t)). Clears that
 * topic's end mark. @returns 0, or -1 when memory ran out (nothing was taken). */
int cons_merge_push(cons_merge *m, int32_t p, int t, int64_t timestamp, int64_t offset,
                    void *item);

/* Topic t of partition p has no more records for now (PARTITION_EOF). */
void cons_merge_eof(cons_merge *m, int32_t p, int t);

/* @returns partition p's next item in merged order when it can be released, else NULL;
 *          *offset (may be NULL) receives its offset, *topic its topic. */
void *cons_merge_pop(cons_merge *m, int32_t p, int *topic, int64_t *offset);

/* Records of (p, t) held back now. */
size_t cons_merge_buffered(const cons_merge *m, int32_t p, int t);

/* The offset of the first record of (p, t) held back, or -1 when none is. */
int64_t cons_merge_first_offset(const cons_merge *m, int32_t p, int t);

/* Forgets partition p: every buffered item goes to drop and the end marks are cleared. */
void cons_merge_reset(cons_merge *m, int32_t p, void (*drop)(void *item));

/* Forgets one topic of partition p: its buffered items go to drop; ended = true marks it
 * as having nothing more (it then blocks no one, e.g. a topic-partition not owned),
 * false as still to be heard from (e.g. about to be fetched again from an offset). */
void cons_merge_reset_topic(cons_merge *m, int32_t p, int t, void (*drop)(void *item),
                            bool ended);

#endif
