/*
 * schema_decode.c — Confluent-framed Avro → proc_* structs, without allocating.
 *
 * Why not avro_value_read(): avro-c mallocs whatever length a message declares before it
 * checks that the bytes exist (a 5-byte value can ask for 2^40 bytes), leaks on
 * truncated input, and mallocs every string of every record. A guard would have to walk
 * the writer schema over the bytes anyway, so this file does that walk once and stores
 * our fields on the way: every declared length is checked against the bytes left before
 * it is used, element counts are budgeted, nesting is bounded, and nothing is allocated.
 * avro-c still parses the schemas (schema_registry.c) and writes our outputs
 * (schema_encode.c); the tests cross-check this reader against avro-c's writer.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "schema_codec.h"
#include "schema_internal.h"

#define SD_MAX_DEPTH 32

typedef struct {
    const uint8_t *p, *end;  /* the unread Avro bytes */
    char *detail;            /* caller's sentence buffer (may be NULL) */
    size_t cap;
    bool failed;             /* DECODE_ERROR: stop at once */
    bool invalid;            /* INVALID_EVENT: keep reading, well-formedness comes first */
    size_t items_left;       /* array/map element budget for the whole message */
    const char *outer;       /* "answers" while inside one of its elements */
    int index;
    char label[96];
} dctx;

/* The field's name for a message, e.g. "sku" or "answers[3].score". Error path only. */
static const char *lbl(dctx *c, const char *name)
{
    if (!c->outer)
        return name;
    snprintf(c->label, sizeof c->label, "%s[%d].%s", c->outer, c->index, name);
    return c->label;
}

__attribute__((format(printf, 2, 3))) static bool fail(dctx *c, const char *fmt, ...)
{
    c->failed = true;
    if (c->detail && c->cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->detail, c->cap, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* Records the first contract violation; decoding goes on. */
__attribute__((format(printf, 2, 3))) static void invalid(dctx *c, const char *fmt, ...)
{
    if (c->invalid)
        return;
    c->invalid = true;
    if (c->detail && c->cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->detail, c->cap, fmt, ap);
        va_end(ap);
    }
}

static size_t left(const dctx *c)
{
    return (size_t)(c->end - c->p);
}

/* Avro long/int: zigzag varint, at most 10 bytes. */
static bool rd_long(dctx *c, const char *what, int64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (c->p >= c->end)
            return fail(c, "Field %s is cut off inside a number.", lbl(c, what));
        uint8_t b = *c->p++;
        if (shift == 63 && b > 1)
            return fail(c, "Field %s holds a number longer than 64 bits.", lbl(c, what));
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return true;
        }
    }
}

static bool rd_int(dctx *c, const char *what, int32_t *out)
{
    int64_t v;
    if (!rd_long(c, what, &v))
        return false;
    if (v < INT32_MIN || v > INT32_MAX)
        return fail(c, "Field %s holds %" PRId64 ", outside the int range.", lbl(c, what), v);
    *out = (int32_t)v;
    return true;
}

/* A string/bytes length: never trusted beyond the bytes actually left. */
static bool rd_len(dctx *c, const char *what, size_t *out)
{
    int64_t n;
    if (!rd_long(c, what, &n))
        return false;
    if (n < 0 || (uint64_t)n > left(c))
        return fail(c, "Field %s declares a length of %" PRId64 " bytes but %zu are left.",
                    lbl(c, what), n, left(c));
    *out = (size_t)n;
    return true;
}

static bool advance(dctx *c, const char *what, int64_t n)
{
    if (n < 0 || (uint64_t)n > left(c))
        return fail(c, "Field %s needs %" PRId64 " bytes but %zu are left.", lbl(c, what), n,
                    left(c));
    c->p += n;
    return true;
}

/* An index into n choices (enum symbol, union branch). */
static bool rd_index(dctx *c, const char *what, int64_t n, int64_t *out)
{
    if (!rd_long(c, what, out))
        return false;
    if (*out < 0 || *out >= n)
        return fail(c, "Field %s holds index %" PRId64 " but its writer schema has %" PRId64
                    " choices.", lbl(c, what), *out, n);
    return true;
}

/* The count of one array/map block. A negative count is followed by the block's byte
 * size (Avro spec), which we check and ignore. Counts draw on a per-message budget so
 * that zero-byte elements (null, empty records) cannot spin for 2^63 iterations. */
static bool rd_block(dctx *c, const char *what, int64_t *count)
{
    int64_t n, bytes;
    if (!rd_long(c, what, &n))
        return false;
    if (n < 0) {
        if (n == INT64_MIN)
            return fail(c, "Field %s declares an impossible item count.", lbl(c, what));
        n = -n;
        if (!rd_long(c, what, &bytes))
            return false;
        if (bytes < 0 || (uint64_t)bytes > left(c))
            return fail(c, "Field %s declares a block of %" PRId64 " bytes but %zu are left.",
                        lbl(c, what), bytes, left(c));
    }
    if ((uint64_t)n > c->items_left)
        return fail(c, "Field %s declares %" PRId64 " items, more than the value can hold.",
                    lbl(c, what), n);
    c->items_left -= (size_t)n;
    *count = n;
    return true;
}

static bool skip_string(dctx *c, const char *what)
{
    size_t len = 0;
    if (!rd_len(c, what, &len))
        return false;
    c->p += len;
    return true;
}

/* Skips one value of writer schema s (a field that is not ours). */
static bool skip(dctx *c, avro_schema_t s, const char *what, int depth)
{
    int64_t n, k;
    if (depth > SD_MAX_DEPTH)
        return fail(c, "Field %s nests deeper than %d levels.", lbl(c, what), SD_MAX_DEPTH);
    s = schema_plan_deref(s);
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return true;
    case AVRO_BOOLEAN:
        if (!left(c) || *c->p > 1)
            return fail(c, "Field %s is not a boolean byte.", lbl(c, what));
        c->p++;
        return true;
    case AVRO_INT32: {
        int32_t v;
        return rd_int(c, what, &v);
    }
    case AVRO_INT64:
        return rd_long(c, what, &n);
    case AVRO_FLOAT:
        return advance(c, what, 4);
    case AVRO_DOUBLE:
        return advance(c, what, 8);
    case AVRO_STRING:
    case AVRO_BYTES:
        return skip_string(c, what);
    case AVRO_FIXED:
        return advance(c, what, avro_schema_fixed_size(s));
    case AVRO_ENUM:
        return rd_index(c, what, avro_schema_enum_number_of_symbols(s), &n);
    case AVRO_UNION:
        if (!rd_index(c, what, (int64_t)avro_schema_union_size(s), &n))
            return false;
        return skip(c, avro_schema_union_branch(s, (int)n), what, depth + 1);
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(s); i++)
            if (!skip(c, avro_schema_record_field_get_by_index(s, (int)i), what, depth + 1))
                return false;
        return true;
    case AVRO_ARRAY:
    case AVRO_MAP: {
        bool map = is_avro_map(s);
        avro_schema_t items = map ? avro_schema_map_values(s) : avro_schema_array_items(s);
        for (;;) {
            if (!rd_block(c, what, &n))
                return false;
            if (n == 0)
                return true;
            for (k = 0; k < n; k++)
                if ((map && !skip_string(c, what)) ||
                    !skip(c, items, what, depth + 1))
                    return false;
        }
    }
    default:
        return fail(c, "Field %s has a writer type this reader cannot skip.", lbl(c, what));
    }
}

/* Reads a string into dst[cap]; too long, NUL or bad UTF-8 → INVALID_EVENT. */
static bool rd_string(dctx *c, const char *what, char *dst, size_t cap)
{
    size_t n = 0;
    if (!rd_len(c, what, &n))
        return false;
    const uint8_t *s = c->p;
    c->p += n;
    if (n >= cap)
        invalid(c, "Field %s is %zu bytes long; at most %zu are allowed.", lbl(c, what), n,
                cap - 1);
    else if (!schema_valid_utf8(s, n))
        invalid(c, "Field %s is not valid UTF-8 text or holds a NUL byte.", lbl(c, what));
    else {
        memcpy(dst, s, n);
        dst[n] = '\0';
    }
    return true;
}

static bool dec_record(dctx *c, const sp_plan *plan, void *base);

static bool rd_answers(dctx *c, const sf_field *f, const sp_read *r, void *base)
{
    proc_pulse_answer *a = SF_AT(base, f->off, proc_pulse_answer);
    int32_t n = 0;
    int64_t k;
    for (;;) {
        if (!rd_block(c, f->name, &k))
            return false;
        if (k == 0)
            break;
        for (; k > 0; k--, n++) {
            if ((size_t)n < f->cap) {
                c->outer = f->name;
                c->index = n;
                bool ok = dec_record(c, r->item, &a[n]);
                c->outer = NULL;
                if (!ok)
                    return false;
                continue;
            }
            if ((size_t)n == f->cap)
                invalid(c, "Field %s has more than %zu items.", f->name, f->cap);
            if (!skip(c, r->items, f->name, 1))
                return false;
        }
    }
    *SF_AT(base, f->count_off, int32_t) = (size_t)n > f->cap ? (int32_t)f->cap : n;
    return true;
}

static bool rd_attrs(dctx *c, const sf_field *f, void *base)
{
    proc_attr *a = SF_AT(base, f->off, proc_attr);
    int n = 0;
    int64_t k;
    for (;;) {
        if (!rd_block(c, f->name, &k))
            return false;
        if (k == 0)
            break;
        for (; k > 0; k--, n++) {
            if ((size_t)n < f->cap) {
                if (!rd_string(c, f->name, a[n].key, SF_ATTR_KEY_CAP) ||
                    !rd_string(c, f->name, a[n].value, SF_ATTR_VALUE_CAP))
                    return false;
                continue;
            }
            if ((size_t)n == f->cap)
                invalid(c, "Field %s has more than %zu entries.", f->name, f->cap);
            if (!skip_string(c, f->name) || !skip_string(c, f->name))
                return false;
        }
    }
    *SF_AT(base, f->count_off, int) = (size_t)n > f->cap ? (int)f->cap : n;
    return true;
}

/* Reads one non-union writer value into our field f. */
static bool dec_read(dctx *c, const sf_field *f, const sp_read *r, void *base)
{
    switch (r->op) {
    case SP_NULL:
        if (!f->optional)
            invalid(c, "Field %s is null but required.", lbl(c, f->name));
        return true; /* has_x stays false */
    case SP_STR:
        if (!rd_string(c, f->name, SF_AT(base, f->off, char), f->cap))
            return false;
        break;
    case SP_LONG:
        if (!rd_long(c, f->name, SF_AT(base, f->off, int64_t)))
            return false;
        break;
    case SP_INT_TO_LONG: {
        int32_t v = 0; /* gcc -O3 cannot see that rd_int sets it whenever it returns true */
        if (!rd_int(c, f->name, &v))
            return false;
        *SF_AT(base, f->off, int64_t) = v;
        break;
    }
    case SP_INT:
        if (!rd_int(c, f->name, SF_AT(base, f->off, int32_t)))
            return false;
        break;
    case SP_ENUM: {
        int64_t i;
        if (!rd_index(c, f->name, r->n_enum, &i))
            return false;
        if (r->enum_map[i] < 0)
            invalid(c, "Field %s holds %s, a symbol this worker does not know.",
                    lbl(c, f->name), avro_schema_enum_get(r->ws, (int)i));
        else
            *SF_AT(base, f->off, int) = r->enum_map[i];
        break;
    }
    case SP_ANSWERS:
        if (!rd_answers(c, f, r, base))
            return false;
        break;
    case SP_ATTRS:
        if (!rd_attrs(c, f, base))
            return false;
        break;
    case SP_MISMATCH:
        invalid(c, "Field %s has writer type %s, which cannot be read as ours.",
                lbl(c, f->name), schema_plan_type_name(r->ws));
        return skip(c, r->ws, f->name, 1);
    }
    if (f->optional)
        *SF_AT(base, f->has_off, bool) = true;
    return true;
}

/* Empties every field of ours so that fields absent from the writer read as absent. */
static void clear_fields(const sf_record *rec, void *base)
{
    for (int i = 0; i < rec->n_fields; i++) {
        const sf_field *f = &rec->fields[i];
        if (f->optional)
            *SF_AT(base, f->has_off, bool) = false;
        if (f->type == SF_STRING)
            *SF_AT(base, f->off, char) = '\0';
        else if (f->type == SF_ANSWERS)
            *SF_AT(base, f->count_off, int32_t) = 0;
        else if (f->type == SF_ATTRS)
            *SF_AT(base, f->count_off, int) = 0;
    }
}

static bool dec_record(dctx *c, const sp_plan *plan, void *base)
{
    clear_fields(plan->rec, base);
    if (plan->missing[0])
        invalid(c, "%s", plan->missing);
    for (int i = 0; i < plan->n_steps; i++) {
        const sp_step *s = &plan->steps[i];
        if (!s->f) {
            if (!skip(c, s->ws, s->name, 1))
                return false;
            continue;
        }
        const sp_read *r = &s->one;
        if (s->n_branches) {
            int64_t b;
            if (!rd_index(c, s->f->name, s->n_branches, &b))
                return false;
            r = &s->branches[b];
        }
        if (!dec_read(c, s->f, r, base))
            return false;
    }
    return true;
}

static schema_status decode(const schema_registry *reg, schema_record_kind kind,
                            const void *buf, size_t len, void *out, char *detail, size_t cap)
{
    const uint8_t *b = buf;
    dctx c = {.detail = detail, .cap = cap, .items_left = SCHEMA_MAX_MESSAGE};
    if (detail && cap)
        detail[0] = '\0';
    if (!reg || !out || (!b && len)) {
        fail(&c, "The decoder was called without a registry, a value or an output.");
        return SCHEMA_DECODE_ERROR;
    }
    if (len < SCHEMA_WIRE_HEADER) {
        fail(&c, "The value is %zu bytes long; the Confluent wire format needs at least %d.",
             len, SCHEMA_WIRE_HEADER);
        return SCHEMA_DECODE_ERROR;
    }
    if (len > SCHEMA_MAX_MESSAGE) {
        fail(&c, "The value is %zu bytes long, over the limit of %d.", len,
             SCHEMA_MAX_MESSAGE);
        return SCHEMA_DECODE_ERROR;
    }
    if (b[0] != 0) {
        fail(&c, "The value starts with byte 0x%02x, not the Confluent magic byte 0x00.",
             b[0]);
        return SCHEMA_DECODE_ERROR;
    }
    uint32_t id = (uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 8 | b[4];
    const sr_entry *e = schema_registry_find(reg, id);
    if (!e) {
        fail(&c, "Schema id %" PRIu32 " is not registered.", id);
        return SCHEMA_UNKNOWN_SCHEMA;
    }
    if (e->kind != (int)kind) {
        fail(&c, "Schema id %" PRIu32 " is %s, not a %s.", id, e->fullname,
             schema_fields_records[kind].name);
        return SCHEMA_UNKNOWN_SCHEMA;
    }
    c.p = b + SCHEMA_WIRE_HEADER;
    c.end = b + len;
    if (dec_record(&c, e->plan, out) && c.p != c.end)
        fail(&c, "%zu bytes are left after the end of the %s record.", left(&c),
             schema_fields_records[kind].name);
    if (c.failed)
        return SCHEMA_DECODE_ERROR;
    return c.invalid ? SCHEMA_INVALID_EVENT : SCHEMA_OK;
}

schema_status schema_decode_event(const schema_registry *reg, proc_event_type expected,
                                  const void *buf, size_t len, proc_event *out,
                                  char *detail, size_t detail_cap)
{
    if ((unsigned)expected > PROC_EVENT_APPROVAL) {
        if (detail && detail_cap)
            snprintf(detail, detail_cap, "The expected event type %d is not an input event.",
                     (int)expected);
        return SCHEMA_UNKNOWN_SCHEMA;
    }
    if (out)
        out->type = expected;
    return decode(reg, (schema_record_kind)expected, buf, len, out, detail, detail_cap);
}

schema_status schema_decode_payout(const schema_registry *reg, const void *buf, size_t len,
                                   proc_payout *out, char *detail, size_t detail_cap)
{
    return decode(reg, SCHEMA_REC_PAYOUT, buf, len, out, detail, detail_cap);
}

schema_status schema_decode_alert(const schema_registry *reg, const void *buf, size_t len,
                                  proc_alert *out, char *detail, size_t detail_cap)
{
    return decode(reg, SCHEMA_REC_ALERT, buf, len, out, detail, detail_cap);
}

const char *schema_status_name(schema_status st)
{
    switch (st) {
    case SCHEMA_OK: return "OK";
    case SCHEMA_DECODE_ERROR: return "DECODE_ERROR";
    case SCHEMA_UNKNOWN_SCHEMA: return "UNKNOWN_SCHEMA";
    case SCHEMA_INVALID_EVENT: return "INVALID_EVENT";
    }
    return "?";
}
