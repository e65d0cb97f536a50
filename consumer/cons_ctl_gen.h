/*
 * cons_ctl_gen.h — a realistic, reproducible stream of input events for demos, load and
 * end-to-end tests (`incentivectl produce --generate`).
 *
 * The same parameters always give the same records, byte for byte: the generator uses its
 * own PRNG (splitmix64) and integer arithmetic only (no rand(), no clock, no libm, no I/O),
 * so the output does not depend on the machine or the C library.
 *
 * The stream has four phases, in this order (CONTRACT §6 rule numbers in brackets):
 *
 *   1. enrol (registrations topic): one PARTNER_ENROLLED per partner, partners spread
 *      round-robin over the programs, with a region matching the program's currency; then,
 *      when cert_pct > 0, CERTIFICATION_COMPLETED for that share of the partners (a third
 *      of them complete a second certification), dated in the first hour of the sales
 *      [6.8]; then n_deals DEAL_REGISTERED "g<seed>-deal-<k>" (with a value) by partners
 *      drawn like sellers, and their DEAL_APPROVED (most) or DEAL_REJECTED (every sixth),
 *      every sixth left pending, and deal 0 approved so long ago that its validity is over
 *      [6.7]. With scenarios: a repeated certification and a repeated enrolment (no-ops),
 *      a deal registered again by its own holder (no-op), the DEAL_APPROVED of a deal
 *      nobody registered (INVALID_EVENT), and the enrolment of the scripted partners
 *      "g<seed>-s<program>-downgrade" / "-certify".
 *   2. sales (sales topic): n_sales SALEs over `days` days from start_ms, in occurred_at
 *      order; the partner drawn from a Zipf(1) distribution over a shuffled ranking (a few
 *      partners make most of the revenue), log-normal-like amounts between 50.00 and about
 *      200,000.00, mostly in the program currency and sometimes in one of its fx
 *      currencies, SKUs from a small catalogue (plus one SKU per SPIFF prefix the program
 *      file names), quantity 1–20. Spread evenly among them, n_bad bad records cycling
 *      through the first CONS_CTL_BAD_CYCLE cons_ctl_bad kinds. Mixed in at fixed points
 *      (each after the sale it needs, dated like the latest sale):
 *        - one sale per deal by its holder naming it: the approved ones earn the deal
 *          bonus (and win the deal), the expired, rejected and pending ones do not; a
 *          second sale of an approved deal, a sale naming another partner's deal (no
 *          bonus), and a partial return of a bonus sale [6.7, 6.11];
 *        - n_returns RETURNs of recent sales of the same partner, cycling through: full,
 *          partial, a partial returned twice, more than is left (RETURN_INVALID), and a
 *          sale of another partner (RETURN_INVALID) [6.11];
 *        - scenarios: per program, very large sales for its top partners (each one's
 *          rebate is at least approval_threshold_minor [6.13]; one alone reaches
 *          cap_per_period_minor [6.12]) and the full return of one of them; a late sale
 *          accepted into the previous period (when the dates allow: the partner's latest
 *          event at most allowed_lateness_days into its period) and two sales dated in a
 *          period closed for longer (LATE_EVENT) [6.9]; a sale with an unknown schema id
 *          (UNKNOWN_SCHEMA) and one sent to a partition its key does not hash to
 *          (MISPARTITIONED, see CONS_CTL_PARTITION_OTHER); the scripted partners: the
 *          "downgrade" one reaches a tier two periods before start_ms and sells little at
 *          start_ms (TIER_DOWNGRADED) [6.4], the "certify" one sells the revenue of the
 *          first tier that needs certifications, without them.
 *   3. surveys (surveys topic): n_responses ENPS (scores 0–10) and PULSE (1–10 answers
 *      scored 1–5) responses, "g<seed>-enps-<period>" / "g<seed>-pulse-<period>", from
 *      respondents "<partner>-r<k>", dated in the partner's latest period (never late),
 *      from partners drawn like sellers, a sixth of them unhappy. The first responses make
 *      sure that per program one partner crosses min_responses with an NPS below
 *      nps_threshold and one has a question averaging below pulse_threshold. Then a
 *      repeated (survey_id, respondent_id) (DUPLICATE_RESPONSE) and a pulse answer scored
 *      6 (INVALID_EVENT) [6.15].
 *   4. conflicts (registrations topic): DEAL_REGISTERED by another partner for every open
 *      deal (DEAL_CONFLICT; the first approved deal twice), for the first rejected deal
 *      (accepted: a closed claim is registered anew, then approved) and for the expired
 *      deal (accepted); a DEAL_APPROVED by a partner that does not hold the deal
 *      (INVALID_EVENT); with scenarios, the certification of the "certify" partners,
 *      dated at their sale: the tier is reached by the certification itself [6.8].
 *
 * Event ids are "g<seed>-<n>", n counting the records of the whole stream (phase "all")
 * from 0, so producing the four phases one after the other gives exactly the records of
 * phase "all". Partner ids are "g<seed>-p<5 digits>"; never-enrolled ones
 * "g<seed>-ghost<k>".
 *
 * Kafka orders records within a partition, not across topics nor across partitions: a
 * worker may see a sale before the enrolment on the other topic, or one partner's event
 * before another's. Within one phase no record depends on a record of another topic or
 * of another partner (deal claims are shared between partners, so in a phase a deal that
 * changes is named by one partner only). Produce the phases one at a time and wait until
 * the worker consumed each (`incentivectl lag --wait`) for runs that must agree.
 *
 * With n_deals = n_returns = n_responses = 0 and scenarios off, the stream is the plain
 * one of enrolments, certifications and sales (and the surveys and conflicts phases are
 * empty).
 */
#ifndef CONS_CTL_GEN_H
#define CONS_CTL_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc_event.h"
#include "proc_program.h"

/* Bad records deliberately mixed into the stream, each named after the dead-letter
 * reason (or behaviour) it is meant to trigger in the worker. The first CONS_CTL_BAD_CYCLE
 * kinds are the `n_bad` records of the sales phase; the others are single scripted
 * records (see cons_ctl_bad_reason for what each should become). */
typedef enum {
    CONS_CTL_BAD_NONE = 0,
    CONS_CTL_BAD_INVALID_EVENT,        /* a SALE with amount_minor 0 */
    CONS_CTL_BAD_UNSUPPORTED_CURRENCY, /* currency "XXX" */
    CONS_CTL_BAD_NOT_ENROLLED,         /* a sale of a partner that never enrolled */
    CONS_CTL_BAD_DUPLICATE,            /* the previous sale sent again, same event_id */
    CONS_CTL_BAD_DECODE_ERROR,         /* framed as a SaleEvent but truncated Avro */
    /* scripted (sales phase) */
    CONS_CTL_BAD_UNKNOWN_SCHEMA,       /* Confluent framing with a schema id nobody has */
    CONS_CTL_BAD_MISPARTITIONED,       /* a valid sale, partition CONS_CTL_PARTITION_OTHER */
    CONS_CTL_BAD_LATE_EVENT,           /* a sale dated in a period closed for too long */
    CONS_CTL_BAD_OVER_RETURN,          /* a RETURN of more than is left of its sale */
    CONS_CTL_BAD_FOREIGN_RETURN,       /* a RETURN of another partner's sale */
    /* scripted (enrol phase) */
    CONS_CTL_BAD_UNKNOWN_DEAL,         /* DEAL_APPROVED of a deal nobody registered */
    /* scripted (conflicts phase) */
    CONS_CTL_BAD_DEAL_NOT_HELD,        /* DEAL_APPROVED by a partner that does not hold it */
    /* scripted (surveys phase) */
    CONS_CTL_BAD_DUPLICATE_RESPONSE,   /* a second response of one respondent to a survey */
    CONS_CTL_BAD_INVALID_SURVEY,       /* a PULSE answer scored 6 */
    CONS_CTL_BAD_COUNT
} cons_ctl_bad;

#define CONS_CTL_BAD_CYCLE 5           /* kinds 1..5 are the n_bad records */

/* @returns "INVALID_EVENT", "UNSUPPORTED_CURRENCY", "PARTNER_NOT_ENROLLED", "DUPLICATE",
 *          "DECODE_ERROR", "UNKNOWN_SCHEMA", "MISPARTITIONED", "LATE_EVENT",
 *          "OVER_RETURN", "FOREIGN_RETURN", "UNKNOWN_DEAL", "DEAL_NOT_HELD",
 *          "DUPLICATE_RESPONSE", "INVALID_SURVEY" or "NONE" (static storage). */
const char *cons_ctl_bad_name(cons_ctl_bad bad);

/* @returns the dead-letter reason (dlq.reason) the record should get, e.g.
 *          "RETURN_INVALID" for OVER_RETURN, or NULL for NONE and DUPLICATE (a repeated
 *          event_id is ignored, not dead-lettered). */
const char *cons_ctl_bad_reason(cons_ctl_bad bad);

typedef enum {
    CONS_CTL_PHASE_ALL = 0,
    CONS_CTL_PHASE_ENROL,
    CONS_CTL_PHASE_SALES,
    CONS_CTL_PHASE_SURVEYS,
    CONS_CTL_PHASE_CONFLICTS
} cons_ctl_phase;

/* @returns "all", "enrol", "sales", "surveys" or "conflicts". */
const char *cons_ctl_phase_name(cons_ctl_phase phase);

/* cons_ctl_record.partition: the partitioner picks it from the key. */
#define CONS_CTL_PARTITION_KEY (-1)
/* cons_ctl_record.partition: any partition but the one the key hashes to (the producer,
 * which knows the partition count, picks the next one; with one partition it cannot). */
#define CONS_CTL_PARTITION_OTHER (-2)

/* One record to produce. Either `ev` (is_raw false: encode it) or the raw value bytes
 * (is_raw true: send raw[0..raw_len) unchanged). `raw` points into storage owned by
 * whoever filled the record and stays valid until its next call. */
typedef struct {
    proc_event_type topic;      /* the input topic: sales, registrations or surveys */
    bool has_key;
    char key[PROC_STR_CAP];
    int32_t partition;          /* >= 0, CONS_CTL_PARTITION_KEY or CONS_CTL_PARTITION_OTHER */
    bool is_raw;
    proc_event ev;
    const uint8_t *raw;
    size_t raw_len;
    cons_ctl_bad bad;           /* what this record is meant to trigger */
    cons_ctl_phase phase;       /* the phase it belongs to (never ALL) */
} cons_ctl_record;

typedef struct {
    uint64_t seed;
    int n_partners;             /* 1 .. CONS_CTL_GEN_MAX_PARTNERS */
    int n_sales;                /* 0 .. CONS_CTL_GEN_MAX_SALES */
    int64_t start_ms;           /* first instant of the sales (UTC) */
    int days;                   /* 1 .. 3660: sales are spread over [start, start + days) */
    int cert_pct;               /* 0 .. 100: share of partners with certifications */
    int n_bad;                  /* bad records among the sales; -1 = about 0.5 % */
    int n_deals;                /* 0 .. CONS_CTL_GEN_MAX_DEALS deals; -1 = auto */
    int n_returns;              /* 0 .. CONS_CTL_GEN_MAX_SALES returns; -1 = auto */
    int n_responses;            /* 0 .. CONS_CTL_GEN_MAX_RESPONSES responses; -1 = auto */
    bool scenarios;             /* the scripted cases named "scenarios" above */
    cons_ctl_phase phase;
    const proc_program *programs;   /* borrowed; must outlive the generator */
    int n_programs;                 /* >= 1 */
} cons_ctl_gen_params;

#define CONS_CTL_GEN_MAX_PARTNERS 1000000
#define CONS_CTL_GEN_MAX_SALES 10000000    /* × the longest span still fits uint64 */
#define CONS_CTL_GEN_MAX_DAYS 3660
#define CONS_CTL_GEN_MAX_DEALS 100000
#define CONS_CTL_GEN_MAX_RESPONSES 10000000

typedef struct cons_ctl_gen cons_ctl_gen;

/* @returns the default number of bad records for n_sales: 0.5 % rounded, at least 5
 *          (one of each kind) once there are 50 sales, none below that. */
int cons_ctl_gen_default_bad(int n_sales);

/* The "auto" (-1) values: a tenth of the partners (6 .. 1000) deals; 1 % of the sales
 * (at least 10) returns once there are 50 sales, none below that; three responses per
 * partner (50 .. 100000). */
int cons_ctl_gen_default_deals(int n_partners);
int cons_ctl_gen_default_returns(int n_sales);
int cons_ctl_gen_default_responses(int n_partners);

/* Creates a generator (params are copied; `programs` is borrowed).
 * @returns the generator, which the caller destroys, or NULL with a sentence in err
 *          (parameters out of range, out of memory). */
cons_ctl_gen *cons_ctl_gen_new(const cons_ctl_gen_params *params, char *err, size_t errcap);

/* Fills *out with the next record of the selected phase (all phases for ALL).
 * @returns 1 when a record was written, 0 at the end of the stream. */
int cons_ctl_gen_next(cons_ctl_gen *g, cons_ctl_record *out);

/* Frees the generator. NULL is a no-op. */
void cons_ctl_gen_destroy(cons_ctl_gen *g);

#endif
