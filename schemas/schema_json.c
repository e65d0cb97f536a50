/*
 * schema_json.c — proc_* structs ⇄ JSON (jansson), driven by the field tables so the
 * keys are exactly the Avro field names in .avsc order.
 */
#include "schema_json.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_fields.h"

/* ---- to JSON ----------------------------------------------------------------------- */

static json_t *record_to_json(const sf_record *rec, const void *base, const char *type_word);

/* @returns a new JSON string of a NUL-terminated buffer of cap bytes, or NULL if it is
 *          unterminated or not UTF-8 (jansson refuses those). */
static json_t *string_to_json(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    return n == cap ? NULL : json_stringn(s, n);
}

static json_t *value_to_json(const sf_field *f, const void *base)
{
    switch (f->type) {
    case SF_STRING:
        return string_to_json(SF_CAT(base, f->off, char), f->cap);
    case SF_LONG:
        return json_integer(*SF_CAT(base, f->off, int64_t));
    case SF_INT:
        return json_integer(*SF_CAT(base, f->off, int32_t));
    case SF_ENUM: {
        int e = *SF_CAT(base, f->off, int);
        return e >= 0 && e < f->sym->n ? json_string(f->sym->names[e]) : NULL;
    }
    case SF_ANSWERS: {
        int32_t n = *SF_CAT(base, f->count_off, int32_t);
        const proc_pulse_answer *a = SF_CAT(base, f->off, proc_pulse_answer);
        json_t *arr = n >= 0 && (size_t)n <= f->cap ? json_array() : NULL;
        for (int32_t i = 0; arr && i < n; i++)
            if (json_array_append_new(arr, record_to_json(f->item, &a[i], NULL))) {
                json_decref(arr);
                arr = NULL;
            }
        return arr;
    }
    case SF_ATTRS: {
        int n = *SF_CAT(base, f->count_off, int);
        const proc_attr *a = SF_CAT(base, f->off, proc_attr);
        json_t *obj = n >= 0 && (size_t)n <= f->cap ? json_object() : NULL;
        for (int i = 0; obj && i < n; i++) {
            /* jansson keeps insertion order, so the attributes keep theirs. */
            if (strnlen(a[i].key, SF_ATTR_KEY_CAP) == SF_ATTR_KEY_CAP ||
                json_object_get(obj, a[i].key) ||
                json_object_set_new(obj, a[i].key,
                                    string_to_json(a[i].value, SF_ATTR_VALUE_CAP))) {
                json_decref(obj);
                obj = NULL;
            }
        }
        return obj;
    }
    }
    return NULL;
}

static json_t *record_to_json(const sf_record *rec, const void *base, const char *type_word)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (type_word && json_object_set_new(o, "type", json_string(type_word)))
        goto fail;
    for (int i = 0; i < rec->n_fields; i++) {
        const sf_field *f = &rec->fields[i];
        bool absent = f->optional && !*SF_CAT(base, f->has_off, bool);
        /* json_object_set_new() takes the value and fails on NULL. */
        if (json_object_set_new(o, f->name, absent ? json_null() : value_to_json(f, base)))
            goto fail;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

/* Serialises root compactly into a malloc'd string and releases root. */
static char *dump(json_t *root)
{
    char *out = NULL;
    if (!root)
        return NULL;
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER;
    size_t n = json_dumpb(root, NULL, 0, flags);
    if (n == 0)
        goto done;
    out = malloc(n + 1);
    if (!out)
        goto done;
    json_dumpb(root, out, n, flags);
    out[n] = '\0';
done:
    json_decref(root);
    return out;
}

char *schema_event_to_json(const proc_event *ev)
{
    if (!ev || (unsigned)ev->type > PROC_EVENT_APPROVAL)
        return NULL;
    schema_record_kind k = (schema_record_kind)ev->type;
    return dump(record_to_json(&schema_fields_records[k], ev, schema_fields_type_word(k)));
}

char *schema_payout_to_json(const proc_payout *p)
{
    return p ? dump(record_to_json(&schema_fields_records[SCHEMA_REC_PAYOUT], p, NULL)) : NULL;
}

char *schema_alert_to_json(const proc_alert *a)
{
    return a ? dump(record_to_json(&schema_fields_records[SCHEMA_REC_ALERT], a, NULL)) : NULL;
}

/* ---- from JSON --------------------------------------------------------------------- */

typedef struct {
    char *err;
    size_t cap;
    const char *outer; /* "answers" inside an element */
    int index;
} jctx;

__attribute__((format(printf, 3, 4))) static int jfail(jctx *c, const char *key,
                                                        const char *fmt, ...)
{
    if (!c->err || !c->cap)
        return -1;
    int w = c->outer ? snprintf(c->err, c->cap, "Key %s[%d].%s ", c->outer, c->index, key)
                     : snprintf(c->err, c->cap, "Key %s ", key);
    if (w > 0 && (size_t)w < c->cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + w, c->cap - (size_t)w, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int string_from_json(jctx *c, const char *key, json_t *v, char *dst, size_t cap)
{
    if (!json_is_string(v))
        return jfail(c, key, "must be a string.");
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n >= cap)
        return jfail(c, key, "is %zu bytes long; at most %zu are allowed.", n, cap - 1);
    if (memchr(s, '\0', n))
        return jfail(c, key, "holds a NUL character.");
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

static int record_from_json(jctx *c, const sf_record *rec, json_t *obj, void *base,
                            bool allow_type);

static int value_from_json(jctx *c, const sf_field *f, json_t *v, void *base)
{
    switch (f->type) {
    case SF_STRING:
        return string_from_json(c, f->name, v, SF_AT(base, f->off, char), f->cap);
    case SF_LONG:
        if (!json_is_integer(v))
            return jfail(c, f->name, "must be an integer.");
        *SF_AT(base, f->off, int64_t) = json_integer_value(v);
        return 0;
    case SF_INT:
        if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN ||
            json_integer_value(v) > INT32_MAX)
            return jfail(c, f->name, "must be an integer in the 32-bit range.");
        *SF_AT(base, f->off, int32_t) = (int32_t)json_integer_value(v);
        return 0;
    case SF_ENUM: {
        int e = json_is_string(v)
                    ? schema_fields_symbol_index(f->sym, json_string_value(v))
                    : -1;
        if (e < 0)
            return jfail(c, f->name, "must be one of the %d symbols of its enum, e.g. \"%s\".",
                         f->sym->n, f->sym->names[0]);
        *SF_AT(base, f->off, int) = e;
        return 0;
    }
    case SF_ANSWERS: {
        if (!json_is_array(v) || json_array_size(v) > f->cap)
            return jfail(c, f->name, "must be an array of at most %zu answers.", f->cap);
        proc_pulse_answer *a = SF_AT(base, f->off, proc_pulse_answer);
        for (size_t i = 0; i < json_array_size(v); i++) {
            c->outer = f->name;
            c->index = (int)i;
            int rc = record_from_json(c, f->item, json_array_get(v, i), &a[i], false);
            c->outer = NULL;
            if (rc)
                return -1;
        }
        *SF_AT(base, f->count_off, int32_t) = (int32_t)json_array_size(v);
        return 0;
    }
    case SF_ATTRS: {
        if (!json_is_object(v) || json_object_size(v) > f->cap)
            return jfail(c, f->name, "must be an object of at most %zu strings.", f->cap);
        proc_attr *a = SF_AT(base, f->off, proc_attr);
        int n = 0;
        const char *k;
        json_t *val;
        json_object_foreach(v, k, val) { /* document order */
            if (strlen(k) >= SF_ATTR_KEY_CAP)
                return jfail(c, f->name, "has a key longer than %d bytes.",
                             SF_ATTR_KEY_CAP - 1);
            strcpy(a[n].key, k);
            if (string_from_json(c, f->name, val, a[n].value, SF_ATTR_VALUE_CAP))
                return -1;
            n++;
        }
        *SF_AT(base, f->count_off, int) = n;
        return 0;
    }
    }
    return -1;
}

static const sf_field *find_field(const sf_record *rec, const char *name)
{
    for (int i = 0; i < rec->n_fields; i++)
        if (strcmp(rec->fields[i].name, name) == 0)
            return &rec->fields[i];
    return NULL;
}

static int record_from_json(jctx *c, const sf_record *rec, json_t *obj, void *base,
                            bool allow_type)
{
    if (!json_is_object(obj))
        return jfail(c, rec->name, "must be a JSON object.");
    const char *key;
    json_t *v;
    /* Unknown keys are errors: a typo must not silently become a missing field. */
    json_object_foreach(obj, key, v) {
        if (!(allow_type && strcmp(key, "type") == 0) && !find_field(rec, key))
            return jfail(c, key, "is not a field of %s.", rec->name);
    }
    for (int i = 0; i < rec->n_fields; i++) {
        const sf_field *f = &rec->fields[i];
        v = json_object_get(obj, f->name);
        if (!v || json_is_null(v)) {
            if (!f->optional)
                return jfail(c, f->name, "is required.");
            *SF_AT(base, f->has_off, bool) = false;
            continue;
        }
        if (value_from_json(c, f, v, base))
            return -1;
        if (f->optional)
            *SF_AT(base, f->has_off, bool) = true;
    }
    return 0;
}

/* Parses json; kind < 0 means an event whose kind comes from its "type" key. */
static int from_json(const char *json, int kind, void *out, size_t out_size, char *err,
                     size_t errcap)
{
    int rc = -1;
    jctx c = {.err = err, .cap = errcap};
    json_error_t jerr;
    json_t *root = json ? json_loads(json, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!root) {
        if (err && errcap)
            snprintf(err, errcap, "Line %d column %d: %s.", json ? jerr.line : 0,
                     json ? jerr.column : 0, json ? jerr.text : "no JSON text");
        goto done;
    }
    memset(out, 0, out_size);
    if (kind < 0) {
        const char *word = json_string_value(json_object_get(root, "type"));
        for (int k = 0; word && k <= SCHEMA_REC_LAST_INPUT && kind < 0; k++)
            if (strcmp(word, schema_fields_type_word((schema_record_kind)k)) == 0)
                kind = k;
        if (kind < 0) {
            jfail(&c, "type", "must be \"sale\", \"registration\", \"survey\" or \"approval\".");
            goto done;
        }
        ((proc_event *)out)->type = (proc_event_type)kind;
    }
    rc = record_from_json(&c, &schema_fields_records[kind], root, out,
                          kind <= SCHEMA_REC_LAST_INPUT);
done:
    json_decref(root);
    return rc;
}

int schema_event_from_json(const char *json, proc_event *out, char *err, size_t errcap)
{
    return out ? from_json(json, -1, out, sizeof *out, err, errcap) : -1;
}

int schema_payout_from_json(const char *json, proc_payout *out, char *err, size_t errcap)
{
    return out ? from_json(json, SCHEMA_REC_PAYOUT, out, sizeof *out, err, errcap) : -1;
}

int schema_alert_from_json(const char *json, proc_alert *out, char *err, size_t errcap)
{
    return out ? from_json(json, SCHEMA_REC_ALERT, out, sizeof *out, err, errcap) : -1;
}
