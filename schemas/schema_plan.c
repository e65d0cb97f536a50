/*
 * schema_plan.c — compiles a writer record schema against one of our field tables.
 */
#include "schema_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

avro_schema_t schema_plan_deref(avro_schema_t s)
{
    /* A link is a reference to a named type defined earlier; its target may itself
     * be a link only in odd hand-built schemas, so follow the chain (bounded). */
    for (int i = 0; i < 16 && s && is_avro_link(s); i++)
        s = avro_schema_link_target(s);
    return s;
}

const char *schema_plan_type_name(avro_schema_t s)
{
    s = schema_plan_deref(s);
    if (!s)
        return "?";
    switch (avro_typeof(s)) {
    case AVRO_STRING: return "string";
    case AVRO_BYTES: return "bytes";
    case AVRO_INT32: return "int";
    case AVRO_INT64: return "long";
    case AVRO_FLOAT: return "float";
    case AVRO_DOUBLE: return "double";
    case AVRO_BOOLEAN: return "boolean";
    case AVRO_NULL: return "null";
    case AVRO_RECORD: return "record";
    case AVRO_ENUM: return "enum";
    case AVRO_FIXED: return "fixed";
    case AVRO_MAP: return "map";
    case AVRO_ARRAY: return "array";
    case AVRO_UNION: return "union";
    default: return "?";
    }
}

static void read_free(sp_read *r)
{
    free(r->enum_map);
    schema_plan_free(r->item);
}

/* Fills r for reading the non-union writer value ws into f. @returns -1 on OOM. */
static int compile_read(const sf_field *f, avro_schema_t ws, sp_read *r)
{
    memset(r, 0, sizeof *r);
    ws = schema_plan_deref(ws);
    r->ws = ws;
    r->op = SP_MISMATCH;
    avro_type_t t = avro_typeof(ws);
    if (t == AVRO_NULL) {
        r->op = SP_NULL;
        return 0;
    }
    switch (f->type) {
    case SF_STRING:
        if (t == AVRO_STRING || t == AVRO_BYTES)
            r->op = SP_STR;
        break;
    case SF_LONG:
        if (t == AVRO_INT64)
            r->op = SP_LONG;
        else if (t == AVRO_INT32)
            r->op = SP_INT_TO_LONG;
        break;
    case SF_INT:
        if (t == AVRO_INT32)
            r->op = SP_INT;
        break;
    case SF_ENUM:
        if (t == AVRO_ENUM) {
            /* Symbols are matched by name, so a writer may reorder them or add new
             * ones; a record using a symbol we do not know is INVALID_EVENT. */
            int n = avro_schema_enum_number_of_symbols(ws);
            r->enum_map = malloc((size_t)(n > 0 ? n : 1));
            if (!r->enum_map)
                return -1;
            for (int i = 0; i < n; i++)
                r->enum_map[i] =
                    (int8_t)schema_fields_symbol_index(f->sym, avro_schema_enum_get(ws, i));
            r->n_enum = n;
            r->op = SP_ENUM;
        }
        break;
    case SF_ANSWERS:
        if (t == AVRO_ARRAY) {
            avro_schema_t items = schema_plan_deref(avro_schema_array_items(ws));
            if (items && is_avro_record(items)) {
                r->items = items;
                r->item = schema_plan_compile(f->item, items);
                if (!r->item)
                    return -1;
                r->op = SP_ANSWERS;
            }
        }
        break;
    case SF_ATTRS:
        if (t == AVRO_MAP) {
            avro_schema_t v = schema_plan_deref(avro_schema_map_values(ws));
            if (v && is_avro_string(v))
                r->op = SP_ATTRS;
        }
        break;
    }
    return 0;
}

static const sf_field *find_field(const sf_record *rec, const char *name)
{
    for (int i = 0; i < rec->n_fields; i++)
        if (strcmp(rec->fields[i].name, name) == 0)
            return &rec->fields[i];
    return NULL;
}

sp_plan *schema_plan_compile(const sf_record *rec, avro_schema_t writer)
{
    sp_plan *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->rec = rec;
    int n = (int)avro_schema_record_size(writer);
    p->steps = calloc((size_t)(n > 0 ? n : 1), sizeof *p->steps);
    if (!p->steps)
        goto fail;
    p->n_steps = n;
    for (int i = 0; i < n; i++) {
        sp_step *s = &p->steps[i];
        s->ws = schema_plan_deref(avro_schema_record_field_get_by_index(writer, i));
        s->name = avro_schema_record_field_name(writer, i);
        s->f = find_field(rec, s->name);
        if (!s->f)
            continue;
        if (is_avro_union(s->ws)) {
            int nb = (int)avro_schema_union_size(s->ws);
            s->branches = calloc((size_t)(nb > 0 ? nb : 1), sizeof *s->branches);
            if (!s->branches)
                goto fail;
            s->n_branches = nb;
            for (int b = 0; b < nb; b++)
                if (compile_read(s->f, avro_schema_union_branch(s->ws, b), &s->branches[b]))
                    goto fail;
        } else if (compile_read(s->f, s->ws, &s->one)) {
            goto fail;
        }
    }
    /* Every required field of ours must be in the writer's schema; optional ones that
     * are absent simply decode as has_x = false. */
    for (int k = 0; k < rec->n_fields && !p->missing[0]; k++) {
        const sf_field *f = &rec->fields[k];
        if (f->optional)
            continue;
        int found = 0;
        for (int i = 0; i < n && !found; i++)
            found = p->steps[i].f == f;
        if (!found)
            snprintf(p->missing, sizeof p->missing,
                     "Field %s%s is required but missing from the writer schema.",
                     rec == &schema_fields_pulse_answer ? "answers[]." : "", f->name);
    }
    return p;
fail:
    schema_plan_free(p);
    return NULL;
}

void schema_plan_free(sp_plan *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_steps && p->steps; i++) {
        sp_step *s = &p->steps[i];
        read_free(&s->one);
        for (int b = 0; b < s->n_branches; b++)
            read_free(&s->branches[b]);
        free(s->branches);
    }
    free(p->steps);
    free(p);
}
