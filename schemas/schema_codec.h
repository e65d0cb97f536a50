/*
 * schema_codec.h — Confluent-framed Avro ⇄ proc_event / proc_payout / proc_alert.
 *
 * Wire format (CONTRACT §2): byte 0 = 0x00, bytes 1–4 = schema id (big-endian), then one
 * Avro binary record written with that id's schema.
 *
 * Decoding never allocates: it walks the bytes once with the writer schema's compiled
 * plan (see schema_registry.h), checks every declared length against the bytes left
 * BEFORE using it (so a length claiming 2^40 bytes is a DECODE_ERROR, not an allocation),
 * and copies strings into the fixed buffers of the output struct. Only the fields of the
 * output struct are written; members of other event types are left as they were.
 *
 * Encoding writes the embedded schemas' binary form straight from the struct (no
 * allocation, no shared state); the same struct always gives the same bytes (map
 * entries in insertion order, arrays as one block, no clocks, no randomness).
 */
#ifndef SCHEMA_CODEC_H
#define SCHEMA_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "proc_event.h"
#include "schema_registry.h"

/* A value larger than this is a DECODE_ERROR before anything is parsed. */
#define SCHEMA_MAX_MESSAGE 65536
/* Magic byte + 4-byte schema id. */
#define SCHEMA_WIRE_HEADER 5
/* Every valid struct encodes into this many bytes (the largest, a survey with ten
 * 256-byte answers or an alert with eight full attributes, needs about 3.7 KB). */
#define SCHEMA_ENCODE_MAX 4096

/* Outcome of a decode, in the order of CONTRACT §6.0; the names are the dead-letter reasons. */
typedef enum {
    SCHEMA_OK = 0,
    SCHEMA_DECODE_ERROR,    /* not a well-formed framed Avro record of its schema */
    SCHEMA_UNKNOWN_SCHEMA,  /* id not registered, or a record other than the expected */
    SCHEMA_INVALID_EVENT    /* well-formed, but a field breaks the contract (§6.17) */
} schema_status;

/* @returns "OK", "DECODE_ERROR", "UNKNOWN_SCHEMA" or "INVALID_EVENT" (static storage). */
const char *schema_status_name(schema_status st);

/*
 * Decodes one framed input event that must be of type `expected` into *out.
 * INVALID_EVENT: a string over PROC_STR_MAX bytes (currency over 7), a string with a NUL
 * byte or invalid UTF-8, more than PROC_PULSE_MAX_ANSWERS answers, a required field null
 * or absent from the writer schema, an enum symbol we do not know, or a field of a type
 * that cannot be read as ours. Range checks (amount > 0 …) are left to processors/.
 * @param detail  receives one sentence naming the field on any status but SCHEMA_OK
 *                (may be NULL when detail_cap is 0).
 * @returns the status; *out is complete only on SCHEMA_OK.
 */
schema_status schema_decode_event(const schema_registry *reg, proc_event_type expected,
                                  const void *buf, size_t len, proc_event *out,
                                  char *detail, size_t detail_cap);

/* The same for the output records (for the dump tool and tests). */
schema_status schema_decode_payout(const schema_registry *reg, const void *buf, size_t len,
                                   proc_payout *out, char *detail, size_t detail_cap);
schema_status schema_decode_alert(const schema_registry *reg, const void *buf, size_t len,
                                  proc_alert *out, char *detail, size_t detail_cap);

/*
 * Encodes a framed record into buf[0..cap) with the output id of its kind (default
 * 4 payout, 5 alert, 1/2/3 sale/registration/survey; see schema_registry_set_output_id).
 * Strings must be NUL-terminated within their buffers; enums, n_answers and n_attrs in
 * range; attribute keys unique.
 * @returns 0 and *len_out, or -1 (buffer too small or invalid struct).
 * @remark Reads the registry only (for the output id): safe from several threads.
 */
int schema_encode_payout(const schema_registry *reg, const proc_payout *p, uint8_t *buf,
                         size_t cap, size_t *len_out);
int schema_encode_alert(const schema_registry *reg, const proc_alert *a, uint8_t *buf,
                        size_t cap, size_t *len_out);
int schema_encode_event(const schema_registry *reg, const proc_event *ev, uint8_t *buf,
                        size_t cap, size_t *len_out);

#endif
