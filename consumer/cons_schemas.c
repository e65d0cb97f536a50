/*
 * cons_schemas.c — local or registry schema ids (see cons_schemas.h).
 */
#include "cons_schemas.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cons_log.h"
#include "cons_sreg.h"

#define MISSING_MAX 1024   /* ids the registry lacks, remembered; beyond it asked again */

struct cons_schemas {
    schema_registry *reg;
    cons_sreg *remote;          /* NULL without schema.registry.url */
    uint32_t missing[MISSING_MAX];
    size_t n_missing;
    uint64_t fetched;
};

static bool is_missing(const cons_schemas *s, uint32_t id)
{
    for (size_t i = 0; i < s->n_missing; i++)
        if (s->missing[i] == id)
            return true;
    return false;
}

/* The subject of `kind` written to `topic` under the configured strategy. */
static void subject_of(const cons_config *cfg, schema_record_kind kind, const char *topic,
                       char *out, size_t cap)
{
    const char *rec = schema_record_kind_name(kind);
    if (strcmp(cfg->sreg_subject_strategy, "record") == 0)
        snprintf(out, cap, "%s.%s", SCHEMA_NAMESPACE, rec);
    else if (strcmp(cfg->sreg_subject_strategy, "topic_record") == 0)
        snprintf(out, cap, "%s-%s.%s", topic, SCHEMA_NAMESPACE, rec);
    else
        snprintf(out, cap, "%s-value", topic);
}

/* Settles the id written for one output kind. */
static int settle_output(cons_schemas *s, const cons_config *cfg, const cons_schemas_output *o,
                         char *err, size_t errcap)
{
    char subject[512], why[512];
    const char *avsc = schema_embedded_avsc(o->kind);
    uint32_t id = 0;
    cons_sreg_status st;

    subject_of(cfg, o->kind, o->topic, subject, sizeof subject);
    if (cfg->sreg_auto_register)
        st = cons_sreg_register(s->remote, subject, avsc, &id, why, sizeof why);
    else
        st = cons_sreg_lookup(s->remote, subject, avsc, &id, why, sizeof why);
    if (st == CONS_SREG_NOT_FOUND && !cfg->sreg_auto_register) {
        snprintf(err, errcap, "schema registry %s: subject %s has no version equal to the "
                 "embedded %s schema (%s); register schemas/%s.avsc under it, or set "
                 "schema.registry.auto_register=true", cons_sreg_display_url(s->remote),
                 subject, schema_record_kind_name(o->kind), why,
                 schema_record_kind_name(o->kind));
        return -1;
    }
    if (st != CONS_SREG_OK) {
        snprintf(err, errcap, "schema registry: %s %s for subject %s: %s",
                 cfg->sreg_auto_register ? "registering" : "looking up",
                 schema_record_kind_name(o->kind), subject, why);
        return -1;
    }
    /* The embedded text itself under the registry's id: the encoder writes exactly it. */
    if (schema_registry_add(s->reg, id, avsc, why, sizeof why) != 0 ||
        schema_registry_set_output_id(s->reg, o->kind, id, why, sizeof why) != 0) {
        snprintf(err, errcap, "schema registry %s: subject %s: %s",
                 cons_sreg_display_url(s->remote), subject, why);
        return -1;
    }
    cons_log(CONS_LOG_INFO, "schema_id", "%s is written with schema id %" PRIu32
             " (subject %s)", schema_record_kind_name(o->kind), id, subject);
    return 0;
}

cons_schemas *cons_schemas_open(const cons_config *cfg, const cons_schemas_output *outputs,
                                size_t n_outputs, const volatile sig_atomic_t *stop,
                                char *err, size_t errcap)
{
    cons_schemas *s = calloc(1, sizeof *s);

    if (s == NULL) {
        snprintf(err, errcap, "out of memory");
        goto fail;
    }
    if ((s->reg = schema_registry_new(err, errcap)) == NULL)
        goto fail;
    if (cfg->sreg_url == NULL || cfg->sreg_url[0] == '\0') {
        if (cfg->schema_map != NULL && cfg->schema_map[0] != '\0' &&
            schema_registry_load_map(s->reg, cfg->schema_map, err, errcap) != 0)
            goto fail;
        return s;
    }
    cons_sreg_options o = {
        .url = cfg->sreg_url,
        .user = cfg->sreg_user,
        .password = cfg->sreg_password,
        .ca_location = cfg->sreg_ca_location,
        .certificate_location = cfg->sreg_certificate_location,
        .key_location = cfg->sreg_key_location,
        .tls_verify = cfg->sreg_tls_verify,
        .timeout_ms = cfg->sreg_timeout_ms,
        .retry_deadline_ms = cfg->sreg_retry_deadline_ms,
        .stop = stop,
    };
    if ((s->remote = cons_sreg_new(&o, err, errcap)) == NULL)
        goto fail;
    schema_registry_hide_local_ids(s->reg);
    for (size_t i = 0; i < n_outputs; i++)
        if (settle_output(s, cfg, &outputs[i], err, errcap) != 0)
            goto fail;
    return s;
fail:
    cons_schemas_destroy(s);
    return NULL;
}

void cons_schemas_destroy(cons_schemas *s)
{
    if (s == NULL)
        return;
    schema_registry_destroy(s->reg);
    cons_sreg_destroy(s->remote);
    free(s);
}

schema_registry *cons_schemas_registry(const cons_schemas *s)
{
    return s->reg;
}

uint64_t cons_schemas_fetched(const cons_schemas *s)
{
    return s->fetched;
}

int cons_schemas_prepare(cons_schemas *s, const void *value, size_t len, char *err,
                         size_t errcap)
{
    uint32_t id;
    char why[512];
    char *text = NULL;
    int rc = 0;

    if (s->remote == NULL || schema_wire_id(value, len, &id) != 0 ||
        schema_registry_has(s->reg, id) || is_missing(s, id))
        return 0;
    cons_sreg_status st = cons_sreg_schema_by_id(s->remote, id, &text, why, sizeof why);
    switch (st) {
    case CONS_SREG_OK:
        if (schema_registry_add(s->reg, id, text, why, sizeof why) != 0) {
            /* Not an Avro schema avro-c takes: the record cannot be read, like a miss. */
            cons_log(CONS_LOG_WARN, "schema_unusable", "schema id %" PRIu32 ": %s", id, why);
            if (s->n_missing < MISSING_MAX)
                s->missing[s->n_missing++] = id;
        } else {
            s->fetched++;
            cons_log(CONS_LOG_INFO, "schema_fetched", "schema id %" PRIu32 " fetched from %s",
                     id, cons_sreg_display_url(s->remote));
        }
        break;
    case CONS_SREG_NOT_FOUND:
    case CONS_SREG_REFUSED:
        cons_log(CONS_LOG_WARN, "schema_missing", "schema id %" PRIu32 ": %s", id, why);
        if (s->n_missing < MISSING_MAX)
            s->missing[s->n_missing++] = id;
        break;
    case CONS_SREG_UNAVAILABLE:
        snprintf(err, errcap, "cannot fetch schema id %" PRIu32 ": %s", id, why);
        rc = -1;
        break;
    }
    free(text);
    return rc;
}
