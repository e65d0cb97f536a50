/*
 * schema_registry.h — schema ids → Avro writer schemas (CONTRACT §2).
 *
 * A registry maps the 4-byte schema id of the Confluent wire format to a writer schema.
 * It starts with the local mapping shipped in schemas/registry.map (ids 1–8), embedded
 * into the library at build time, so the worker needs no files at run time. More writer
 * schemas are added at run time with schema_registry_add() (e.g. fetched from a
 * Confluent-compatible registry, or a producer's evolved schema) or from a map file.
 *
 * Each registered schema is compiled once into a decode plan: its fields are matched BY
 * NAME to the proc_event / proc_payout / proc_alert fields, so a writer with extra fields
 * or without optional ones still decodes (CONTRACT §3, schema evolution).
 *
 * Threads: decoding and encoding only read the registry, so they may run concurrently;
 * schema_registry_add / _load_map / _set_output_id change it and must not run at the
 * same time as anything else on the same registry.
 */
#ifndef SCHEMA_REGISTRY_H
#define SCHEMA_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

/* The six record types of the contract. The four inputs come first and equal
 * proc_event_type. */
typedef enum {
    SCHEMA_REC_SALE = 0,
    SCHEMA_REC_REGISTRATION,
    SCHEMA_REC_SURVEY,
    SCHEMA_REC_APPROVAL,
    SCHEMA_REC_PAYOUT,
    SCHEMA_REC_ALERT,
    SCHEMA_REC_COUNT
} schema_record_kind;

#define SCHEMA_REC_LAST_INPUT SCHEMA_REC_APPROVAL

#define SCHEMA_NAMESPACE "partner_incentives.v1"

typedef struct schema_registry schema_registry;

/*
 * Creates a registry holding the embedded local schemas (ids 1–8) and encoders for them.
 * @returns the registry, owned by the caller (free with schema_registry_destroy), or NULL
 *          with a sentence in err (only on out-of-memory or a broken build).
 */
schema_registry *schema_registry_new(char *err, size_t errlen);

/* Frees the registry and everything it holds. NULL is a no-op. */
void schema_registry_destroy(schema_registry *reg);

/*
 * Registers the writer schema json_text (an .avsc text; copied, the caller keeps it)
 * under id. Registering the same schema again under the same id is a no-op; a different
 * schema under a taken id is an error (Confluent ids are immutable).
 * A schema that is not one of the six records in SCHEMA_NAMESPACE is accepted but
 * decodes as SCHEMA_UNKNOWN_SCHEMA.
 * @returns 0, or -1 with one sentence in err naming the id.
 */
int schema_registry_add(schema_registry *reg, uint32_t id, const char *json_text,
                        char *err, size_t errlen);

/*
 * Loads a mapping file of "ID FILE" lines (blank lines and '#' comments allowed; FILE
 * relative to the map file's folder unless absolute) and registers each schema.
 * Stops at the first error.
 * @returns 0, or -1 with "PATH:LINE: sentence" in err.
 */
int schema_registry_load_map(schema_registry *reg, const char *path, char *err,
                             size_t errlen);

/* @returns 1 if id is registered (whatever its record), else 0. The worker calls it to
 *          decide whether to fetch an unknown id from a Confluent registry first. */
int schema_registry_has(const schema_registry *reg, uint32_t id);

/*
 * Sets the id written in front of encoded records of `kind` (default: the embedded
 * local id, 1–5). The id must be registered with a schema equal to the embedded one
 * (e.g. the id a Confluent registry gave schema_embedded_avsc(kind)), because the bytes
 * are always written with the embedded schema.
 * @returns 0, or -1 with a sentence in err.
 */
int schema_registry_set_output_id(schema_registry *reg, schema_record_kind kind,
                                  uint32_t id, char *err, size_t errlen);

/*
 * For ids that come from a Confluent-compatible registry: the embedded local ids (1–8)
 * stop being found when decoding (the remote registry's id 4 is not our id 4), ids added
 * before by schema_registry_add or a map file are hidden too, and every output id is
 * unset, so an encoder refuses to write (returns -1) until schema_registry_set_output_id
 * names the registry's id for that record. Call once, right after schema_registry_new.
 */
void schema_registry_hide_local_ids(schema_registry *reg);

/* @returns the id currently written in front of records of `kind` (0: none yet, after
 *          schema_registry_hide_local_ids). */
uint32_t schema_registry_output_id(const schema_registry *reg, schema_record_kind kind);

/* @returns the embedded .avsc text of `kind` exactly as in schemas/ (static storage;
 *          register this text, not a re-serialisation: avro-c drops logicalType and
 *          defaults), or NULL for an invalid kind. */
const char *schema_embedded_avsc(schema_record_kind kind);

/* @returns the record name, e.g. "SaleEvent" (static storage), or "?" . */
const char *schema_record_kind_name(schema_record_kind kind);

/*
 * Reads the schema id from a Confluent-framed value without decoding it.
 * @returns 0 and *id, or -1 if buf is shorter than 5 bytes or byte 0 is not 0.
 */
int schema_wire_id(const void *buf, size_t len, uint32_t *id);

#endif
