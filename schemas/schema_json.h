/*
 * schema_json.h — JSON views of the records, for tools and golden test files.
 *
 * Objects are compact, keys in the .avsc field order, enums as their symbols, absent
 * optional fields as null, alert attributes as an object in insertion order. Events carry
 * an extra leading "type": "sale" | "registration" | "survey", e.g.
 *   {"type":"sale","event_id":"e1","partner_id":"p1","occurred_at":1793491200000,
 *    "kind":"SALE","amount_minor":100000,"currency":"EUR","sku":"FW-100","quantity":2,
 *    "deal_id":null,"original_event_id":null}
 *
 * Output strings are allocated with malloc(); the caller frees them with free().
 * Parsing is strict: unknown keys, wrong JSON types, over-long strings and missing
 * required fields are errors (a missing or null optional field means "absent").
 */
#ifndef SCHEMA_JSON_H
#define SCHEMA_JSON_H

#include <stddef.h>

#include "proc_event.h"

/* @returns a malloc'd NUL-terminated string (caller frees), or NULL if the struct is
 *          invalid (bad enum, unterminated or non-UTF-8 string) or memory ran out. */
char *schema_event_to_json(const proc_event *ev);
char *schema_payout_to_json(const proc_payout *p);
char *schema_alert_to_json(const proc_alert *a);

/* Parses one JSON object into *out (fully overwritten).
 * @returns 0, or -1 with one sentence in err naming the key. */
int schema_event_from_json(const char *json, proc_event *out, char *err, size_t errcap);
int schema_payout_from_json(const char *json, proc_payout *out, char *err, size_t errcap);
int schema_alert_from_json(const char *json, proc_alert *out, char *err, size_t errcap);

#endif
