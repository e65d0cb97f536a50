/*
 * schema_plan.h — internal: a writer schema compiled for one record table.
 *
 * Compiling matches the writer's fields to ours BY NAME once per schema id, so decoding
 * walks the writer's fields in order and knows for each one, without any name lookup,
 * whether to store it (and how) or skip it. Mismatches found here do not fail the
 * compile: they are reported per record as INVALID_EVENT, after the bytes have been
 * checked to be well-formed (CONTRACT §6.0 order of checks).
 */
#ifndef SCHEMA_PLAN_H
#define SCHEMA_PLAN_H

#include <avro.h>
#include <stdint.h>

#include "schema_fields.h"

typedef enum {
    SP_NULL,        /* writer value is null */
    SP_STR,         /* string or bytes → char[] */
    SP_LONG,        /* long → int64_t */
    SP_INT_TO_LONG, /* int → int64_t (Avro promotion) */
    SP_INT,         /* int → int32_t */
    SP_ENUM,        /* enum → C enum through map */
    SP_ANSWERS,     /* array<record> → proc_pulse_answer[] */
    SP_ATTRS,       /* map<string> → proc_attr[] */
    SP_MISMATCH     /* a type we cannot read as ours: skip, then INVALID_EVENT */
} sp_op;

struct sp_plan;

/* How to read one non-union writer value into our field. */
typedef struct {
    sp_op op;
    avro_schema_t ws;        /* writer schema of the value (borrowed; for skipping) */
    int n_enum;              /* SP_ENUM: writer symbol count */
    int8_t *enum_map;        /* SP_ENUM: writer symbol index → our index, -1 unknown */
    avro_schema_t items;     /* SP_ANSWERS: element schema, for skipping surplus ones */
    struct sp_plan *item;    /* SP_ANSWERS: plan of the element record */
} sp_read;

/* One writer field, in writer order. */
typedef struct {
    const sf_field *f;       /* our field, or NULL: not ours, skip it with ws */
    const char *name;        /* the writer's field name (borrowed), for messages */
    avro_schema_t ws;        /* writer field schema (links resolved) */
    int n_branches;          /* 0: not a union, use `one` */
    sp_read one;
    sp_read *branches;       /* n_branches entries */
} sp_step;

typedef struct sp_plan {
    const sf_record *rec;
    int n_steps;
    sp_step *steps;
    /* Non-empty when a required field of ours is absent from the writer schema: every
     * record of this schema is then INVALID_EVENT with this sentence. */
    char missing[160];
} sp_plan;

/* Follows named-type references to the schema they name. */
avro_schema_t schema_plan_deref(avro_schema_t s);

/* @returns a plan (free with schema_plan_free) or NULL when out of memory.
 *          `writer` must be a record and must outlive the plan. */
sp_plan *schema_plan_compile(const sf_record *rec, avro_schema_t writer);
void schema_plan_free(sp_plan *p);

/* @returns a short name of an Avro type for messages, e.g. "string". */
const char *schema_plan_type_name(avro_schema_t s);

#endif
