/*
 * proc_deal.h — the claim on one registered deal (CONTRACT §6.7).
 *
 * Unlike everything in proc_partner, a deal is shared: one deal id, many partners that
 * may try to register it. So its claim is a record of its own, stored by the caller under
 * the deal id and handed to proc_apply for the events that name the deal; the rules
 * change it and set proc_outputs.deal_changed, and the caller writes it back.
 *
 * A proc_deal is a plain value (no heap); the encoded blob is malloc'd.
 */
#ifndef PROC_DEAL_H
#define PROC_DEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc_event.h"

typedef enum {
    PROC_DEAL_NONE = 0,              /* no claim stored for this deal */
    PROC_DEAL_REGISTERED,
    PROC_DEAL_APPROVED,
    PROC_DEAL_REJECTED
} proc_deal_status;

typedef struct {
    char deal_id[PROC_STR_CAP];
    proc_deal_status status;         /* NONE: no claim stored for this deal */
    char partner_id[PROC_STR_CAP];   /* holder of the current claim */
    int64_t registered_at;           /* occurred_at of the DEAL_REGISTERED */
    int64_t approved_at;             /* occurred_at of the DEAL_APPROVED (0 if not approved) */
    bool has_value;
    int64_t deal_value_minor;        /* as registered (informational: no rule uses it) */
    bool won;                        /* a matching sale already won it (counted once) */
} proc_deal;

/* Initialises the record of a deal nobody has claimed (status NONE). */
void proc_deal_init(proc_deal *d, const char *deal_id);

/* Serialises the claim into a newly malloc'd buffer (*out, *len); the caller frees it.
 * The deal id is not in the blob (it is the key the blob is stored under), like the
 * partner id is not in the partner blob. Versioned: magic 'D', version, varints.
 * @returns 0 or -1 (ENOMEM). */
int proc_deal_encode(const proc_deal *d, uint8_t **out, size_t *len);

/* Parses what proc_deal_encode wrote into `d`, which must have been initialised with
 * proc_deal_init (its deal_id is kept). @returns 0, or -1 when the bytes are not a deal
 * blob of a known version: `d` is then back to status NONE. */
int proc_deal_decode(proc_deal *d, const uint8_t *buf, size_t len);

#endif
