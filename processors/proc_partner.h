/*
 * proc_partner.h — everything the rules remember about one partner.
 *
 * One worker owns a partner (co-partitioned inputs), so this state is cached in the
 * worker's memory and written to Redis as one opaque blob per batch (proc_partner_encode).
 * The rules read and change it; they never see Redis.
 *
 * Ownership: a proc_partner owns its arrays; release them with proc_partner_clear().
 */
#ifndef PROC_PARTNER_H
#define PROC_PARTNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc_event.h"

/* Bits of proc_period_state.flags. */
#define PROC_PERIOD_HAS_SALE      0x01u  /* counts as an active partner in KPIs */
#define PROC_PERIOD_CAP_ALERTED   0x02u
#define PROC_PERIOD_NPS_ALERTED   0x04u

/* A partner's running totals in one period. */
typedef struct {
    int32_t key;                     /* proc_period_key() */
    int32_t reached_tier;            /* never falls within the period */
    int32_t held_tier;               /* reached tier of key-1 when this period opened */
    uint32_t flags;
    uint32_t near_alerted;           /* bit t: NEAR_NEXT_TIER for tier t already sent */
    int64_t revenue_minor;           /* converted sales - converted returns */
    int32_t certifications;          /* completed in this period */
    int32_t deals_won;
    int64_t cash_minor;              /* cash payouts, for the cap (clawbacks excluded) */
    int64_t payouts_minor;           /* all payouts, signed (partner hash) */
    int32_t enps_responses;
    int32_t enps_promoters;
    int32_t enps_passives;
    int32_t enps_detractors;
} proc_period_state;

/* An event_id the partner has applied, kept for the replay horizon. */
typedef struct {
    uint64_t hash;                   /* proc_hash64(event_id) */
    int64_t occurred_at;
} proc_seen;

typedef struct {
    bool enrolled;
    char partner_id[PROC_STR_CAP];
    char program_id[PROC_STR_CAP];
    char region[PROC_STR_CAP];
    int64_t watermark_ms;            /* highest occurred_at of applied period events */
    int64_t latest_seen_ms;          /* highest occurred_at of any applied event */
    int32_t certifications_total;

    int n_periods;                   /* sorted by key, ascending */
    int cap_periods;
    proc_period_state *periods;

    int n_seen;                      /* sorted by hash, for binary search */
    int cap_seen;
    proc_seen *seen;

    int n_certs;                     /* hashes of completed certification ids */
    int cap_certs;
    uint64_t *certs;
} proc_partner;

/* Initialises an empty, not-enrolled partner. */
void proc_partner_init(proc_partner *pt, const char *partner_id);

/* Frees the arrays and leaves an empty partner with the same id. */
void proc_partner_clear(proc_partner *pt);

/* Deep copy; dst must be initialised (its old arrays are freed). @returns 0 or -1 (ENOMEM). */
int proc_partner_copy(proc_partner *dst, const proc_partner *src);

/* @returns the period state for `key`, or NULL when the partner has none. */
proc_period_state *proc_partner_period(const proc_partner *pt, int32_t key);

/* @returns the state of the latest period with events, or NULL. */
const proc_period_state *proc_partner_latest(const proc_partner *pt);

/* Inserts a zeroed period state for `key` (which must not exist) and @returns it, or NULL
 * on ENOMEM. Pointers returned earlier may move. */
proc_period_state *proc_partner_add_period(proc_partner *pt, int32_t key);

bool proc_partner_seen(const proc_partner *pt, uint64_t hash);
int proc_partner_remember(proc_partner *pt, uint64_t hash, int64_t occurred_at);
bool proc_partner_has_cert(const proc_partner *pt, uint64_t hash);
int proc_partner_add_cert(proc_partner *pt, uint64_t hash);

/* Drops what no future event can need, deterministically (by event time, never by the
 * clock):
 *  - a remembered event id once it is older than latest_seen_ms - horizon_ms AND its
 *    period is closed to late events: a redelivery then dead-letters as LATE_EVENT
 *    instead of being applied again, so pruning can never pay an event twice;
 *  - a period whose successor is closed to late events (the successor's first event
 *    needed this period's reached tier; it can no longer come). The latest period stays. */
struct proc_program;
void proc_partner_prune(proc_partner *pt, int64_t horizon_ms, const struct proc_program *prog);

/* Serialises the partner into a newly malloc'd buffer (*out, *out_len); the caller frees
 * it. The format is versioned; @returns 0 or -1 (ENOMEM). */
int proc_partner_encode(const proc_partner *pt, uint8_t **out, size_t *out_len);

/* Parses what proc_partner_encode wrote into an initialised partner.
 * @returns 0, or -1 when the bytes are not a partner blob of a known version. */
int proc_partner_decode(proc_partner *pt, const uint8_t *buf, size_t len);

/* 64-bit FNV-1a over a string; stable across builds and machines. */
uint64_t proc_hash64(const char *s);

#endif
