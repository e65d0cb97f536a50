/*
 * cons_murmur2.h — Kafka's default partitioner (the Java client's murmur2), used to check
 * that a record arrived on the partition its key hashes to (CONTRACT §2, MISPARTITIONED).
 */
#ifndef CONS_MURMUR2_H
#define CONS_MURMUR2_H

#include <stddef.h>
#include <stdint.h>

/* The 32-bit murmur2 hash with Kafka's seed 0x9747b28c. */
uint32_t cons_murmur2(const void *key, size_t len);

/* The partition Kafka's default partitioner picks: (murmur2(key) & 0x7fffffff) % n. */
int32_t cons_murmur2_partition(const void *key, size_t len, int32_t n_partitions);

#endif
