/*
 * schema_internal.h — internal: the registry's representation, shared by the registry,
 * decoder and encoder files. Not installed, not for other folders.
 */
#ifndef SCHEMA_INTERNAL_H
#define SCHEMA_INTERNAL_H

#include <avro.h>
#include <stdint.h>

#include "schema_plan.h"
#include "schema_registry.h"

/* The record kind of a registered schema that is none of ours. */
#define SR_KIND_OTHER SCHEMA_REC_COUNT

typedef struct {
    uint32_t id;
    int kind;                /* schema_record_kind, or SR_KIND_OTHER */
    avro_schema_t schema;    /* owned reference */
    sp_plan *plan;           /* owned; NULL for SR_KIND_OTHER */
    char fullname[128];      /* e.g. "partner_incentives.v1.SaleEvent", for messages */
    int hidden;              /* an embedded local id while ids come from a remote registry:
                                kept to compare output schemas, never found by id */
} sr_entry;

struct schema_registry {
    sr_entry *entries;           /* owned array, n used of cap */
    size_t n, cap;
    uint32_t local_id[SCHEMA_REC_COUNT];  /* the embedded id of each kind */
    uint32_t out_id[SCHEMA_REC_COUNT];    /* the id written by the encoders */
};

/* @returns the entry of id, or NULL (hidden entries are not found). */
const sr_entry *schema_registry_find(const schema_registry *reg, uint32_t id);

/* Checks that the embedded schema of `kind` agrees with its field table exactly (names,
 * order, types, enum symbols, ["null", T] unions), as the encoder writes by the table.
 * @returns 0, or -1 with err. (schema_encode.c) */
int schema_verify_embedded(schema_record_kind kind, avro_schema_t schema, char *err,
                       size_t errlen);

/* Safe snprintf into a buffer that may be NULL/0. */
void schema_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
