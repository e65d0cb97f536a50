/*
 * schema_fields.h — internal: one table per record saying, for each .avsc field in
 * order, where it lives in the C struct. The decoder, encoder and JSON code are all
 * driven by these tables, so a field is described once. schema_registry_new() checks at
 * start that the embedded .avsc files agree with them (names, order, enum symbols).
 */
#ifndef SCHEMA_FIELDS_H
#define SCHEMA_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

#include "schema_registry.h"

typedef enum {
    SF_STRING,   /* char[cap] */
    SF_LONG,     /* int64_t */
    SF_INT,      /* int32_t */
    SF_ENUM,     /* a C enum (int-sized) whose values are the symbol indexes */
    SF_ANSWERS,  /* proc_pulse_answer[cap] + int32_t count at count_off */
    SF_ATTRS     /* proc_attr[cap] + int count at count_off */
} sf_type;

typedef struct {
    const char *const *names;
    int n;
} sf_symbols;

struct sf_record;

typedef struct {
    const char *name;               /* the Avro field name */
    sf_type type;
    bool optional;                  /* ["null", T] default null; flag at has_off */
    size_t off;                     /* value offset in the struct */
    size_t has_off;                 /* bool has_x (optional) */
    size_t count_off;               /* element count (SF_ANSWERS, SF_ATTRS) */
    size_t cap;                     /* string buffer size incl. NUL, or max elements */
    const sf_symbols *sym;          /* SF_ENUM */
    const struct sf_record *item;   /* SF_ANSWERS: the element record */
} sf_field;

typedef struct sf_record {
    const char *name;               /* record name without namespace, e.g. "SaleEvent" */
    const sf_field *fields;
    int n_fields;
} sf_record;

/* Indexed by schema_record_kind. */
extern const sf_record schema_fields_records[SCHEMA_REC_COUNT];
extern const sf_record schema_fields_pulse_answer;

/* proc_attr key/value buffer sizes. */
#define SF_ATTR_KEY_CAP 32
#define SF_ATTR_VALUE_CAP 257

/* @returns the index of name in sym, or -1. */
int schema_fields_symbol_index(const sf_symbols *sym, const char *name);

/* @returns the event "type" word ("sale", …) of an input record kind, or NULL. */
const char *schema_fields_type_word(schema_record_kind kind);

/* Accessors for a field inside a struct at base. */
#define SF_AT(base, off, T) ((T *)(void *)((char *)(base) + (off)))
#define SF_CAT(base, off, T) ((const T *)(const void *)((const char *)(base) + (off)))

/* @returns true if s[0..n) is valid UTF-8 without NUL bytes. */
bool schema_valid_utf8(const unsigned char *s, size_t n);

#endif
