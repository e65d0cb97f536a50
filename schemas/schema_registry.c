/*
 * schema_registry.c — schema ids → compiled writer schemas; the embedded local map.
 */
#include "schema_registry.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_embedded.h"
#include "schema_internal.h"

#define SR_MAP_NAME "registry.map"
#define SR_MAX_LINE 1024
#define SR_MAX_FILE (1 << 20)   /* an .avsc over 1 MiB is a mistake, not a schema */

void schema_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* hidden: also find the hidden embedded entries (only for the local schemas). */
static const sr_entry *find_entry(const schema_registry *reg, uint32_t id, int hidden)
{
    /* A handful of ids: a linear scan beats hashing here. */
    for (size_t i = 0; i < reg->n; i++)
        if (reg->entries[i].id == id && (hidden || !reg->entries[i].hidden))
            return &reg->entries[i];
    return NULL;
}

const sr_entry *schema_registry_find(const schema_registry *reg, uint32_t id)
{
    return find_entry(reg, id, 0);
}

static const schema_embedded_file *find_embedded(const char *name)
{
    for (size_t i = 0; i < schema_embedded_count; i++)
        if (strcmp(schema_embedded_files[i].name, name) == 0)
            return &schema_embedded_files[i];
    return NULL;
}

const char *schema_record_kind_name(schema_record_kind kind)
{
    return (unsigned)kind < SCHEMA_REC_COUNT ? schema_fields_records[kind].name : "?";
}

const char *schema_embedded_avsc(schema_record_kind kind)
{
    if ((unsigned)kind >= SCHEMA_REC_COUNT)
        return NULL;
    char name[64];
    snprintf(name, sizeof name, "%s.avsc", schema_fields_records[kind].name);
    const schema_embedded_file *f = find_embedded(name);
    return f ? f->text : NULL;
}

int schema_wire_id(const void *buf, size_t len, uint32_t *id)
{
    const uint8_t *b = buf;
    if (!b || len < 5 || b[0] != 0)
        return -1;
    *id = (uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 8 | b[4];
    return 0;
}

/* @returns our record kind for s, or SR_KIND_OTHER; fills fullname for messages. */
static int classify(avro_schema_t s, char *fullname, size_t cap)
{
    if (!is_avro_record(s)) {
        snprintf(fullname, cap, "a bare %s schema", schema_plan_type_name(s));
        return SR_KIND_OTHER;
    }
    const char *ns = avro_schema_namespace(s);
    const char *name = avro_schema_name(s);
    snprintf(fullname, cap, "%s%s%s", ns ? ns : "", ns && *ns ? "." : "", name);
    if (!ns || strcmp(ns, SCHEMA_NAMESPACE) != 0)
        return SR_KIND_OTHER;
    for (int k = 0; k < SCHEMA_REC_COUNT; k++)
        if (strcmp(name, schema_fields_records[k].name) == 0)
            return k;
    return SR_KIND_OTHER;
}

int schema_registry_add(schema_registry *reg, uint32_t id, const char *json_text,
                        char *err, size_t errlen)
{
    int rc = -1;
    avro_schema_t schema = NULL;
    sp_plan *plan = NULL;

    if (!reg || !json_text) {
        schema_errf(err, errlen, "schema id %u: no registry or no schema text.", id);
        goto done;
    }
    if (avro_schema_from_json_length(json_text, strlen(json_text), &schema)) {
        /* avro_strerror() is one process-global buffer: copy it now. */
        schema_errf(err, errlen, "schema id %u: not a valid Avro schema: %s", id,
                    avro_strerror());
        schema = NULL;
        goto done;
    }
    const sr_entry *old = schema_registry_find(reg, id);
    if (old) {
        if (avro_schema_equal(old->schema, schema)) {
            rc = 0; /* the same schema again: Confluent ids are immutable, nothing to do */
        } else {
            schema_errf(err, errlen,
                        "schema id %u is already registered with a different schema.", id);
        }
        goto done;
    }
    sr_entry e = {.id = id};
    e.kind = classify(schema, e.fullname, sizeof e.fullname);
    if (e.kind != SR_KIND_OTHER) {
        plan = schema_plan_compile(&schema_fields_records[e.kind], schema);
        if (!plan) {
            schema_errf(err, errlen, "schema id %u: out of memory.", id);
            goto done;
        }
    }
    if (reg->n == reg->cap) {
        size_t cap = reg->cap ? reg->cap * 2 : 16;
        sr_entry *grown = realloc(reg->entries, cap * sizeof *grown);
        if (!grown) {
            schema_errf(err, errlen, "schema id %u: out of memory.", id);
            goto done;
        }
        reg->entries = grown;
        reg->cap = cap;
    }
    e.schema = schema;
    e.plan = plan;
    reg->entries[reg->n++] = e;
    schema = NULL; /* now owned by the entry */
    plan = NULL;
    rc = 0;
done:
    schema_plan_free(plan);
    if (schema)
        avro_schema_decref(schema);
    return rc;
}

/* Reads a whole (small) file into a malloc'd NUL-terminated buffer. @returns NULL with
 * a sentence in err. */
static char *read_file(const char *path, char *err, size_t errlen)
{
    char *buf = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        schema_errf(err, errlen, "cannot open %s: %s.", path, strerror(errno));
        goto done;
    }
    buf = malloc(SR_MAX_FILE + 1);
    if (!buf) {
        schema_errf(err, errlen, "out of memory reading %s.", path);
        goto done;
    }
    size_t n = fread(buf, 1, SR_MAX_FILE + 1, fp);
    if (ferror(fp) || n > SR_MAX_FILE) {
        schema_errf(err, errlen, "cannot read %s: %s.", path,
                ferror(fp) ? strerror(errno) : "larger than 1 MiB");
        free(buf);
        buf = NULL;
        goto done;
    }
    buf[n] = '\0';
done:
    if (fp)
        fclose(fp);
    return buf;
}

/* Registers one "ID FILE" line. dir == NULL means FILE is an embedded file. */
static int map_line(schema_registry *reg, char *line, const char *dir, char *err,
                    size_t errlen)
{
    int rc = -1;
    char *text = NULL;
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0' || *p == '#')
        return 0;
    char *end = p;
    unsigned long long id = strtoull(p, &end, 10);
    if (end == p || (*end != ' ' && *end != '\t') || id == 0 || id > UINT32_MAX ||
        *p == '-' || *p == '+') {
        schema_errf(err, errlen, "expected \"ID FILE\" with ID a schema id from 1 to %u.",
                UINT32_MAX);
        goto done;
    }
    char *file = end;
    while (*file == ' ' || *file == '\t')
        file++;
    size_t flen = strlen(file);
    while (flen && (file[flen - 1] == ' ' || file[flen - 1] == '\t'))
        file[--flen] = '\0';
    if (flen == 0) {
        schema_errf(err, errlen, "expected \"ID FILE\": the file name is missing.");
        goto done;
    }
    const char *json;
    if (!dir) {
        const schema_embedded_file *ef = find_embedded(file);
        if (!ef) {
            schema_errf(err, errlen, "%s is not among the embedded schema files.", file);
            goto done;
        }
        json = ef->text;
    } else {
        char path[4096];
        int w = file[0] == '/' ? snprintf(path, sizeof path, "%s", file)
                               : snprintf(path, sizeof path, "%s/%s", dir, file);
        if (w < 0 || (size_t)w >= sizeof path) {
            schema_errf(err, errlen, "the path of %s is too long.", file);
            goto done;
        }
        text = read_file(path, err, errlen);
        if (!text)
            goto done;
        json = text;
    }
    rc = schema_registry_add(reg, (uint32_t)id, json, err, errlen);
done:
    free(text);
    return rc;
}

/* Parses a map text line by line; errors become "LABEL:LINE: sentence". */
static int load_map_text(schema_registry *reg, const char *label, const char *text,
                         size_t len, const char *dir, char *err, size_t errlen)
{
    const char *p = text, *end = text + len;
    for (int lineno = 1; p < end; lineno++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        char line[SR_MAX_LINE];
        char why[512] = "";
        if (n >= sizeof line) {
            schema_errf(err, errlen, "%s:%d: the line is longer than %d bytes.", label, lineno,
                    SR_MAX_LINE - 1);
            return -1;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        if (n && line[n - 1] == '\r')
            line[n - 1] = '\0';
        if (map_line(reg, line, dir, why, sizeof why)) {
            schema_errf(err, errlen, "%s:%d: %s", label, lineno, why);
            return -1;
        }
        p += n + (nl ? 1 : 0);
    }
    return 0;
}

int schema_registry_load_map(schema_registry *reg, const char *path, char *err,
                             size_t errlen)
{
    int rc = -1;
    char *text = NULL;
    char dir[4096];
    char why[512] = "";

    if (!reg || !path) {
        schema_errf(err, errlen, "no registry or no map path.");
        goto done;
    }
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else if ((size_t)(slash - path) >= sizeof dir) {
        schema_errf(err, errlen, "%s: the path is too long.", path);
        goto done;
    } else {
        /* "/x.map" lives in "/", "a/b.map" in "a". */
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    text = read_file(path, why, sizeof why);
    if (!text) {
        schema_errf(err, errlen, "%s: %s", path, why);
        goto done;
    }
    rc = load_map_text(reg, path, text, strlen(text), dir, err, errlen);
done:
    free(text);
    return rc;
}

schema_registry *schema_registry_new(char *err, size_t errlen)
{
    schema_registry *reg = calloc(1, sizeof *reg);
    if (!reg) {
        schema_errf(err, errlen, "out of memory creating the schema registry.");
        goto fail;
    }
    const schema_embedded_file *map = find_embedded(SR_MAP_NAME);
    if (!map) {
        schema_errf(err, errlen, "the build embedded no %s.", SR_MAP_NAME);
        goto fail;
    }
    if (load_map_text(reg, SR_MAP_NAME " (embedded)", map->text, map->len, NULL, err, errlen))
        goto fail;
    /* Each kind's output id is the last embedded id of that kind: registry.map lists a
     * record's versions oldest first, and the newest is the one the tables describe. */
    for (int k = 0; k < SCHEMA_REC_COUNT; k++) {
        const sr_entry *e = NULL;
        for (size_t i = 0; i < reg->n; i++)
            if (reg->entries[i].kind == k)
                e = &reg->entries[i];
        if (!e) {
            schema_errf(err, errlen, "the embedded %s maps no id to %s.", SR_MAP_NAME,
                    schema_fields_records[k].name);
            goto fail;
        }
        reg->local_id[k] = reg->out_id[k] = e->id;
        if (schema_verify_embedded((schema_record_kind)k, e->schema, err, errlen))
            goto fail;
    }
    return reg;
fail:
    schema_registry_destroy(reg);
    return NULL;
}

void schema_registry_destroy(schema_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n; i++) {
        schema_plan_free(reg->entries[i].plan);
        avro_schema_decref(reg->entries[i].schema);
    }
    free(reg->entries);
    free(reg);
}

int schema_registry_has(const schema_registry *reg, uint32_t id)
{
    return reg && schema_registry_find(reg, id) != NULL;
}

int schema_registry_set_output_id(schema_registry *reg, schema_record_kind kind,
                                  uint32_t id, char *err, size_t errlen)
{
    if (!reg || (unsigned)kind >= SCHEMA_REC_COUNT) {
        schema_errf(err, errlen, "no registry or an invalid record kind.");
        return -1;
    }
    const sr_entry *e = schema_registry_find(reg, id);
    const sr_entry *local = find_entry(reg, reg->local_id[kind], 1);
    if (!e) {
        schema_errf(err, errlen, "schema id %u is not registered.", id);
        return -1;
    }
    /* The encoder always writes the embedded schema, so the label must name it. */
    if (e->kind != (int)kind || !avro_schema_equal(e->schema, local->schema)) {
        schema_errf(err, errlen, "schema id %u is not the embedded %s schema.", id,
                schema_fields_records[kind].name);
        return -1;
    }
    reg->out_id[kind] = id;
    return 0;
}

void schema_registry_hide_local_ids(schema_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n; i++)
        reg->entries[i].hidden = 1;
    for (int k = 0; k < SCHEMA_REC_COUNT; k++)
        reg->out_id[k] = 0;
}

uint32_t schema_registry_output_id(const schema_registry *reg, schema_record_kind kind)
{
    return reg && (unsigned)kind < SCHEMA_REC_COUNT ? reg->out_id[kind] : 0;
}
