/*
 * cons_schemas.h — the schema ids a worker or tool reads and writes (CONTRACT §2): the
 * embedded local ids, or, with `schema.registry.url`, a Confluent-compatible registry's.
 *
 * Without a registry this is schemas/'s registry with its embedded ids 1–8 (plus
 * `schema.map`), and nothing here does I/O. With one:
 *   - the embedded ids are hidden (schema_registry_hide_local_ids): every id is the
 *     registry's, so a registry id 4 is never read with our local schema 4;
 *   - cons_schemas_open looks up (or, with schema.registry.auto_register, registers) the
 *     embedded schema of every record kind the caller writes, under the subject of
 *     schema.registry.subject_strategy, and writes the ids the registry gave;
 *   - cons_schemas_prepare, called before decoding a framed value, fetches its id once if
 *     it is not known yet (GET /schemas/ids/{id}) and caches the schema for the process.
 *     An id the registry does not have is remembered too, so a stream of bad records
 *     costs one request per id; such records then decode as SCHEMA_UNKNOWN_SCHEMA.
 * A registry that is down is retried until schema.registry.retry_deadline_ms (at open and
 * in prepare); ids already cached need no request, so they keep decoding meanwhile.
 *
 * Threads: one thread at a time.
 */
#ifndef CONS_SCHEMAS_H
#define CONS_SCHEMAS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "cons_config.h"
#include "schema_registry.h"

typedef struct cons_schemas cons_schemas;

/* A record kind the caller writes, and the topic it writes it to (for the subject). */
typedef struct {
    schema_record_kind kind;
    const char *topic;
} cons_schemas_output;

/*
 * Opens the ids of cfg. outputs[0..n_outputs) are the kinds the caller writes (a worker:
 * payouts and alerts; `incentivectl produce`: the inputs); their ids are settled now.
 * stop (optional) ends registry retries early.
 * @returns the schemas, owned by the caller (cons_schemas_destroy), or NULL with one
 *          sentence in err (bad map file, registry unreachable past the deadline, a
 *          subject lacking the schema with auto-registration off, ...).
 */
cons_schemas *cons_schemas_open(const cons_config *cfg, const cons_schemas_output *outputs,
                                size_t n_outputs, const volatile sig_atomic_t *stop,
                                char *err, size_t errcap);

/* Frees everything. NULL is a no-op. */
void cons_schemas_destroy(cons_schemas *s);

/* @returns the id → schema map for decoding and encoding (owned by s). */
schema_registry *cons_schemas_registry(const cons_schemas *s);

/*
 * Makes the schema id of a framed value known before it is decoded: without a registry,
 * or for an unframed value or a known id, nothing happens.
 * @returns 0 (the decoder may run; an id the registry lacks decodes as UNKNOWN_SCHEMA),
 *          or -1 with a sentence in err when the registry stayed unavailable past the
 *          deadline: the caller must not decide about the record (no dead letter).
 */
int cons_schemas_prepare(cons_schemas *s, const void *value, size_t len, char *err,
                         size_t errcap);

/* @returns how many schemas were fetched from the registry so far (metrics, tests). */
uint64_t cons_schemas_fetched(const cons_schemas *s);

#endif
