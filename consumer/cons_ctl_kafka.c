/*
 * cons_ctl_kafka.c — the Kafka consumers of incentivectl's read-only commands (dump, lag,
 * stats), built on cons_kafka so they share the worker's settings (kafka.* pass-through,
 * read_committed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cons_ctl.h"
#include "cons_kafka.h"

rd_kafka_t *cons_ctl_consumer_new(const cons_config *cfg, const char *group_id,
                                  bool partition_eof, char *err, size_t errcap)
{
    /* A shallow copy: only group_id and the kafka.* array differ, and both point at
     * storage that outlives the call; cons_kafka copies what it keeps. */
    cons_config copy = *cfg;
    cons_kv *kafka = NULL;
    rd_kafka_t *rk = NULL;

    if (group_id != NULL)
        copy.group_id = (char *)group_id;
    if (partition_eof) {
        kafka = calloc((size_t)cfg->n_kafka + 1, sizeof *kafka);
        if (kafka == NULL) {
            snprintf(err, errcap, "out of memory");
            return NULL;
        }
        for (int i = 0; i < cfg->n_kafka; i++)
            kafka[i] = cfg->kafka[i];
        kafka[cfg->n_kafka].name = "enable.partition.eof";
        kafka[cfg->n_kafka].value = "true";
        copy.kafka = kafka;
        copy.n_kafka = cfg->n_kafka + 1;
    }
    rk = cons_kafka_consumer_new(&copy, NULL, NULL, err, errcap);
    free(kafka);
    return rk;
}

void cons_ctl_throwaway_group(const char *name, char *out, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, cap, "incentivectl-%s-%ld-%lld%09ld", name, (long)getpid(),
             (long long)ts.tv_sec, ts.tv_nsec);
}
