/*
 * cons_ctl_gen.h — a realistic, reproducible stream of input events for demos, load and
 * end-to-end tests (`incentivectl produce --generate`).
 *
 * The same parameters always give the same records, byte for byte: the generator uses its
 * own PRNG (splitmix64) and integer arithmetic only (no rand(), no clock, no libm), so the
 * output does not depend on the machine or the C library.
 *
 * The stream, in order:
 *   1. enrolment phase (registrations topic): one PARTNER_ENROLLED per partner, partners
 *      spread round-robin over the programs, with a region matching the program's
 *      currency; then, when cert_pct > 0, CERTIFICATION_COMPLETED events for that share
 *      of the partners (a third of them complete a second certification);
 *   2. sales phase (sales topic): n_sales SALEs over `days` days from start_ms, in
 *      occurred_at order; the partner drawn from a Zipf(1) distribution over a shuffled
 *      ranking (a few partners make most of the revenue), log-normal-like amounts between
 *      50.00 and about 200,000.00, mostly in the program currency and sometimes in one of
 *      its fx currencies, SKUs from a small catalogue (plus one SKU per SPIFF prefix the
 *      program file names), quantity 1–20. Spread evenly among them, n_bad bad records,
 *      cycling through cons_ctl_bad kinds.
 *
 * Event ids are "g<seed>-<n>", n counting the records of the whole stream (phase "all")
 * from 0, so producing phase "enrol" then phase "sales" gives exactly the records of phase
 * "all". Partner ids are "g<seed>-p<5 digits>"; never-enrolled ones "g<seed>-ghost<k>".
 *
 * Kafka orders records within a partition, not across topics: a worker may see a sale
 * before the enrolment on the other topic. Produce phase "enrol", wait until the worker
 * consumed it (`incentivectl lag --wait`), then phase "sales", for runs that must agree.
 */
#ifndef CONS_CTL_GEN_H
#define CONS_CTL_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc_event.h"
#include "proc_program.h"

/* Bad records deliberately mixed into the sales phase, each named after the dead-letter
 * reason (or behaviour) it is meant to trigger in the worker. */
typedef enum {
    CONS_CTL_BAD_NONE = 0,
    CONS_CTL_BAD_INVALID_EVENT,        /* a SALE with amount_minor 0 */
    CONS_CTL_BAD_UNSUPPORTED_CURRENCY, /* currency "XXX" */
    CONS_CTL_BAD_NOT_ENROLLED,         /* a sale of a partner that never enrolled */
    CONS_CTL_BAD_DUPLICATE,            /* the previous sale sent again, same event_id */
    CONS_CTL_BAD_DECODE_ERROR,         /* framed as a SaleEvent but truncated Avro */
    CONS_CTL_BAD_COUNT
} cons_ctl_bad;

/* @returns "INVALID_EVENT", "UNSUPPORTED_CURRENCY", "PARTNER_NOT_ENROLLED", "DUPLICATE",
 *          "DECODE_ERROR" or "NONE" (static storage). */
const char *cons_ctl_bad_name(cons_ctl_bad bad);

typedef enum { CONS_CTL_PHASE_ALL = 0, CONS_CTL_PHASE_ENROL, CONS_CTL_PHASE_SALES } cons_ctl_phase;

/* One record to produce. Either `ev` (is_raw false: encode it) or the raw value bytes
 * (is_raw true: send raw[0..raw_len) unchanged). `raw` points into storage owned by
 * whoever filled the record and stays valid until its next call. */
typedef struct {
    proc_event_type topic;      /* the input topic: sales, registrations or surveys */
    bool has_key;
    char key[PROC_STR_CAP];
    int32_t partition;          /* -1: the partitioner picks it from the key */
    bool is_raw;
    proc_event ev;
    const uint8_t *raw;
    size_t raw_len;
    cons_ctl_bad bad;           /* what this record is meant to trigger */
} cons_ctl_record;

typedef struct {
    uint64_t seed;
    int n_partners;             /* 1 .. CONS_CTL_GEN_MAX_PARTNERS */
    int n_sales;                /* 0 .. CONS_CTL_GEN_MAX_SALES */
    int64_t start_ms;           /* first instant of the sales (UTC) */
    int days;                   /* 1 .. 3660: sales are spread over [start, start + days) */
    int cert_pct;               /* 0 .. 100: share of partners with certifications */
    int n_bad;                  /* bad records among the sales; -1 = about 0.5 % */
    cons_ctl_phase phase;
    const proc_program *programs;   /* borrowed; must outlive the generator */
    int n_programs;                 /* >= 1 */
} cons_ctl_gen_params;

#define CONS_CTL_GEN_MAX_PARTNERS 1000000
#define CONS_CTL_GEN_MAX_SALES 10000000    /* × the longest span still fits uint64 */
#define CONS_CTL_GEN_MAX_DAYS 3660

typedef struct cons_ctl_gen cons_ctl_gen;

/* @returns the default number of bad records for n_sales: 0.5 % rounded, at least 5
 *          (one of each kind) once there are 50 sales, none below that. */
int cons_ctl_gen_default_bad(int n_sales);

/* Creates a generator (params are copied; `programs` is borrowed).
 * @returns the generator, which the caller destroys, or NULL with a sentence in err
 *          (parameters out of range, out of memory). */
cons_ctl_gen *cons_ctl_gen_new(const cons_ctl_gen_params *params, char *err, size_t errcap);

/* Fills *out with the next record of the selected phase.
 * @returns 1 when a record was written, 0 at the end of the stream. */
int cons_ctl_gen_next(cons_ctl_gen *g, cons_ctl_record *out);

/* Frees the generator. NULL is a no-op. */
void cons_ctl_gen_destroy(cons_ctl_gen *g);

#endif
