/*
 * cons_worker.h — the incentive worker: consume, apply the rules, commit exactly once.
 *
 * Per loop iteration (one "batch", bounded by batch.max_events and batch.max_ms):
 *   1. poll records of the owned partitions and apply each to its partner's cached state;
 *   2. per input partition with records: one atomic Redis call (fencing token, expected
 *      offsets, state writes, outbox entry, next offsets)              -> Redis is the ledger
 *   3. one Kafka transaction: the outbox records + the same input offsets -> Kafka the cursor
 *   4. trim the outboxes.
 * On assignment it takes a fencing token per partition, seeks to the ledger's offsets and
 * republishes what the ledger holds beyond Kafka's committed offsets before going on.
 */
#ifndef CONS_WORKER_H
#define CONS_WORKER_H

#include <signal.h>

#include "cons_config.h"
#include "proc_program.h"

typedef struct cons_worker cons_worker;

/* Creates the worker: settles the output schema ids (at the schema registry, if one is
 * configured), connects to Redis, checks the topics (equal partition counts), sets up the
 * transactional producer and subscribes. `programs` must outlive the worker; *stop (may
 * be NULL) ends registry retries early and is the flag later given to cons_worker_run.
 * @returns NULL with err filled on failure. */
cons_worker *cons_worker_new(const cons_config *cfg, const proc_program *programs,
                             int n_programs, const volatile sig_atomic_t *stop, char *err,
                             size_t errcap);

/* Runs until *stop becomes non-zero (then finishes the batch in progress and leaves the
 * group cleanly) or a fatal error. @returns 0 after a clean stop, -1 on a fatal error
 * (err filled): the process should exit non-zero and be restarted by its supervisor. */
int cons_worker_run(cons_worker *w, volatile sig_atomic_t *stop, char *err, size_t errcap);

void cons_worker_destroy(cons_worker *w);

#endif
