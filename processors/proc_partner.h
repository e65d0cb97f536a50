/*
 * proc_partner.h — everything the rules remember about one partner.
 *
 * One worker owns a partner (co-partitioned inputs), so this state is cached in the
 * worker's memory. In Redis it is one hash, split so that a batch writes what it changed
 * and not the partner's history (README "State layout"): a small core blob
 * (proc_partner_encode: totals, periods, certifications, PULSE statistics) and one entry
 * per remembered event id, counted survey answer and sale still open to returns
 * (proc_partner_field, proc_partner_entry). The journal below lists the entries changed
 * since the worker last wrote them. The rules read and change the state; they never see
 * Redis.
 *
 * Ownership: a proc_partner owns its arrays; release them with proc_partner_clear().
 * All of them are plain arrays of plain values (no pointers inside), so a copy is a
 * memcpy per array and the blob is a straight walk over them.
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

/* An event_id the partner has applied, kept for the replay horizon; also a survey answer
 * (survey_id, respondent_id) the partner has counted. */
typedef struct {
    uint64_t hash;                   /* proc_hash64(event_id) / proc_hash64_pair(...) */
    int64_t occurred_at;
} proc_seen;

/* A SALE kept for as long as a RETURN of it can still be applied (CONTRACT §6.11), with the
 * payouts it emitted: a return claws back a share of what was actually paid, after the
 * cap, not of what the rules would have paid without it. */
typedef struct {
    uint64_t hash;                   /* proc_hash64(event_id) of the sale */
    int64_t occurred_at;
    int64_t amount_minor;            /* converted into the program currency */
    int64_t returned_minor;          /* converted, returned so far; <= amount_minor */
    int32_t n_payouts;               /* its payouts: the next n_payouts of sale_payouts */
} proc_sale_record;

/* At most: the rebate, PROC_MAX_SPIFFS (32) SPIFFs, the deal bonus and the MDF accrual. */
#define PROC_MAX_SALE_PAYOUTS 35

/* One payout a recorded sale emitted: REBATE, SPIFF, DEAL_REGISTRATION_BONUS or
 * MDF_ACCRUAL (a TIER_TRUE_UP is not reversed by a return, §6.11). */
typedef struct {
    proc_payout_kind kind;
    int64_t amount_minor;            /* as emitted (after the cap); never 0 */
    char payout_id[PROC_ID_CAP];     /* the clawback's rule_id */
} proc_sale_payout;

/* Where a payout emitted PENDING_APPROVAL stands (§6.13). */
typedef enum { PROC_HELD_PENDING = 0, PROC_HELD_APPROVED, PROC_HELD_REJECTED } proc_held_state;

/* A payout emitted PENDING_APPROVAL: kept while it waits for its decision, and once
 * decided for as long as a return may still name the sale it came from (a return of a
 * rejected payout's sale claws nothing back). Everything the record of the decision
 * repeats is here, since the payout topic is not read back. Held payouts are the rare
 * large ones, so the strings are plain buffers and every record is in memory. */
typedef struct {
    uint64_t hash;                   /* proc_hash64(payout_id) */
    int64_t occurred_at;             /* the payout's (its source event's) */
    int32_t period_key;
    int32_t state;                   /* proc_held_state */
    proc_payout_kind kind;
    int64_t amount_minor;            /* as emitted, signed */
    int64_t clawed_minor;            /* clawbacks of it emitted while pending, signed */
    char payout_id[PROC_ID_CAP];
    char tier[PROC_STR_CAP];
    char rule_id[PROC_STR_CAP];
} proc_held_payout;

/* The entry sets of a partner that live as hash entries in Redis. */
typedef enum {
    PROC_SET_SEEN,                   /* remembered event ids */
    PROC_SET_RESPONSES,              /* counted survey answers */
    PROC_SET_SALES,                  /* sale records */
    PROC_SET_HELD                    /* payouts held for approval */
} proc_entry_set;

/* One journal line: the entry `hash` of `set` was added, changed or dropped. What to
 * write follows from the state: present → its current value, absent → delete it. */
typedef struct {
    uint64_t hash;
    int32_t set;                     /* proc_entry_set */
} proc_change;

/* PULSE answers to one question in one period (CONTRACT §6.15). */
typedef struct {
    int32_t period_key;
    bool alerted;                    /* PULSE_LOW already sent for this question and period */
    uint64_t question;               /* proc_hash64(question_id) */
    int64_t sum;                     /* of the scores (1-5) */
    int64_t count;                   /* answers */
} proc_pulse_stat;

typedef struct {
    bool enrolled;
    /* NUL-terminated, at most PROC_STR_MAX bytes, stored at their real length in `strs`
     * (one malloc'd block, owned) or pointing at a static "" while unset: a cache of many
     * partners must not spend 3 x 257 bytes each on ids of a few dozen. Change them with
     * proc_partner_set_strings only. */
    const char *partner_id;
    const char *program_id;
    const char *region;
    char *strs;
    int64_t watermark_ms;            /* highest occurred_at of applied period events */
    int64_t latest_seen_ms;          /* highest occurred_at of any applied event */
    int32_t certifications_total;

    int n_periods;                   /* sorted by key, ascending */
    int cap_periods;
    proc_period_state *periods;

    /* The three hash sets (seen, responses, open) are a prefix sorted by hash (sorted_*
     * items) and a short unsorted tail; look them up with the functions below. */
    int n_seen;
    int cap_seen;
    int sorted_seen;
    proc_seen *seen;

    int n_certs;                     /* hashes of completed certification ids */
    int cap_certs;
    uint64_t *certs;

    /* Sales open to returns (CONTRACT §6.11): every one is in `open` (hash, occurred_at;
     * sorted by hash), which is all that pruning needs. Their records (amount, returned
     * share, payouts) are in `sales` only while needed: a sale recorded since the last
     * write, one a return is about to name (the worker fetches it from Redis first,
     * proc_partner_load_sale), or all of them after a version-2 blob. The worker forgets
     * them after each write (proc_partner_forget_sales), so memory holds 16 bytes per open
     * sale, not its payouts. The payouts are one flat array in record order (record i
     * owns the n_payouts entries after those of records 0..i-1), so the state stays a set
     * of plain arrays: copied, pruned and encoded without per-record allocations. */
    int n_open;
    int cap_open;
    int sorted_open;
    proc_seen *open;
    int n_sales;
    int cap_sales;
    proc_sale_record *sales;
    int n_sale_payouts;
    int cap_sale_payouts;
    proc_sale_payout *sale_payouts;

    int n_responses;                 /* counted survey answers */
    int cap_responses;
    int sorted_responses;
    proc_seen *responses;

    /* Payouts held for approval, in no particular order (few: a scan finds one). */
    int n_held;
    int cap_held;
    proc_held_payout *held;

    /* PULSE statistics per (period, question). They belong to a period but live here
     * rather than in proc_period_state, which stays a plain value (copied with memcpy,
     * moved with memmove); they are pruned with their period. */
    int n_pulse;
    int cap_pulse;
    proc_pulse_stat *pulse;

    /* Not stored: the entries changed since proc_partner_journal_reset, in no particular
     * order and possibly repeated (a journal that cannot grow fails the call that changed
     * the entry). When the stored entries are not known to match (a version-2 blob was
     * read), `rewrite` is set: the worker then replaces the whole hash. */
    int n_changes;
    int cap_changes;
    proc_change *changes;
    bool rewrite;
} proc_partner;

/* Initialises an empty, not-enrolled partner (partner_id NULL: ""). @returns 0, or -1 on
 * ENOMEM (then the partner is empty with partner_id "", and may be cleared). */
int proc_partner_init(proc_partner *pt, const char *partner_id);

/* Frees everything; the partner is left empty with partner_id "" (init it again to
 * reuse it with an id). */
void proc_partner_clear(proc_partner *pt);

/* Frees the arrays and leaves an empty, not-enrolled partner with the same id (no
 * allocation). */
void proc_partner_reset(proc_partner *pt);

/* Sets the three strings (each cut at PROC_STR_MAX bytes; they may point into the
 * partner's own strings). @returns 0, or -1 on ENOMEM with the strings unchanged. */
int proc_partner_set_strings(proc_partner *pt, const char *partner_id, const char *program_id,
                             const char *region);

/* Deep copy; dst must be initialised (its old arrays are freed). @returns 0 or -1 (ENOMEM). */
int proc_partner_copy(proc_partner *dst, const proc_partner *src);

/* @returns the period state for `key`, or NULL when the partner has none. */
proc_period_state *proc_partner_period(const proc_partner *pt, int32_t key);

/* @returns the state of the latest period with events, or NULL. */
const proc_period_state *proc_partner_latest(const proc_partner *pt);

/* Inserts a zeroed period state for `key` (which must not exist) and @returns it, or NULL
 * on ENOMEM. Pointers returned earlier may move. */
proc_period_state *proc_partner_add_period(proc_partner *pt, int32_t key);

/* @returns the item of a hash set (remembered ids, answers, open sales), or NULL. */
const proc_seen *proc_partner_find(const proc_partner *pt, proc_entry_set set, uint64_t hash);
/* Sorts every hash set whole (their order is otherwise unspecified; tests compare them). */
void proc_partner_settle(proc_partner *pt);

bool proc_partner_seen(const proc_partner *pt, uint64_t hash);
int proc_partner_remember(proc_partner *pt, uint64_t hash, int64_t occurred_at);
bool proc_partner_has_cert(const proc_partner *pt, uint64_t hash);
int proc_partner_add_cert(proc_partner *pt, uint64_t hash);

/* @returns the loaded record of the sale with this event id hash and sets *payouts to its
 * first payout, or NULL when it is not loaded (see proc_partner_sale_open). The pointers
 * stay valid until the next change of the sales. */
proc_sale_record *proc_partner_sale(const proc_partner *pt, uint64_t hash,
                                    proc_sale_payout **payouts);

/* True when the sale is open to returns (recorded, not pruned), loaded or not. */
bool proc_partner_sale_open(const proc_partner *pt, uint64_t hash);

/* Appends a sale record (rec->n_payouts payouts copied from `payouts`), opens it and
 * journals it. @returns 0 or -1 (ENOMEM). */
int proc_partner_add_sale(proc_partner *pt, const proc_sale_record *rec,
                          const proc_sale_payout *payouts);

/* Journals that the sale record `hash` changed (a return updated returned_minor).
 * @returns 0 or -1 (ENOMEM). */
int proc_partner_sale_changed(proc_partner *pt, uint64_t hash);

/* Forgets the journal (the changes are written; its array is freed) and clears `rewrite`. */
void proc_partner_journal_reset(proc_partner *pt);

/* @returns the held payout with this payout_id hash, or NULL. Valid until the next
 * change of the held payouts. */
proc_held_payout *proc_partner_held(const proc_partner *pt, uint64_t hash);
/* Appends a held payout (copied) and journals it. @returns 0 or -1 (ENOMEM). */
int proc_partner_add_held(proc_partner *pt, const proc_held_payout *h);
/* Journals that held payout `hash` changed (decided, or clawed back). @returns 0 or -1. */
int proc_partner_held_changed(proc_partner *pt, uint64_t hash);

/* Survey answers already counted, by proc_hash64_pair(survey_id, respondent_id). */
bool proc_partner_responded(const proc_partner *pt, uint64_t hash);
int proc_partner_add_response(proc_partner *pt, uint64_t hash, int64_t occurred_at);

/* @returns the PULSE statistics of a question in a period, or NULL. */
proc_pulse_stat *proc_partner_pulse(const proc_partner *pt, int32_t period_key, uint64_t question);
/* Appends zeroed statistics for (period, question), which must not exist, and @returns
 * them, or NULL on ENOMEM. Pointers returned earlier may move. */
proc_pulse_stat *proc_partner_add_pulse(proc_partner *pt, int32_t period_key, uint64_t question);

/* Drops what no future event can need, deterministically (by event time, never by the
 * clock):
 *  - a remembered event id or survey answer once it is older than latest_seen_ms -
 *    horizon_ms AND its period is closed to late events: a redelivery then dead-letters
 *    as LATE_EVENT instead of being applied again, so pruning can never pay an event twice;
 *  - a period whose successor is closed to late events (the successor's first event
 *    needed this period's reached tier; it can no longer come). The latest period stays.
 *    PULSE statistics go with their period;
 *  - a sale record once the period of the last instant a return may name it
 *    (occurred_at + return_window_days) is closed to late events: every return that
 *    could still use it would be LATE_EVENT. (Dropping it as soon as the watermark passes
 *    occurred_at + return_window_days would refuse a late return the window allows.)
 *  - a decided held payout under the same rule as a sale record, so the sale it came
 *    from is gone first; a pending one is kept until it is decided. */
struct proc_program;
int proc_partner_prune(proc_partner *pt, int64_t horizon_ms, const struct proc_program *prog);

/* Drops the loaded sale records (they are in Redis): call after the partner was written. */
void proc_partner_forget_sales(proc_partner *pt);

/* Serialises the partner's core (everything but the entry sets) into a newly malloc'd
 * buffer (*out, *out_len); the caller frees it. The format is versioned (version 3);
 * @returns 0 or -1 (ENOMEM). */
int proc_partner_encode(const proc_partner *pt, uint8_t **out, size_t *out_len);

/* Parses a stored blob into an initialised partner: version 3 (the core; the entries are
 * added with proc_partner_load_entry), or version 2 (the whole partner in one blob, as
 * releases before the split wrote it: the entries come with it and `rewrite` is set, so
 * the next write migrates the partner to the split layout).
 * @returns 0, or -1 when the bytes are not a partner blob of a known version. */
int proc_partner_decode(proc_partner *pt, const uint8_t *buf, size_t len);

/* Hash entries. A field is a set letter ('e' event id, 'r' survey answer, 's' sale, 'a'
 * payout held for approval) and
 * the entry's hash as 16 lowercase hex digits; PROC_FIELD_CAP holds it with its NUL. An
 * id or answer's value is its occurred_at in decimal; a sale's or held payout's is a
 * varint record. */
#define PROC_FIELD_CAP 18
void proc_partner_field(proc_entry_set set, uint64_t hash, char field[PROC_FIELD_CAP]);

/* The value of entry `hash` of `set` as it is now, into buf (cap >= PROC_ENTRY_MAX)
 * @returns its length, 0 when the partner has no such entry (delete it),
 * PROC_ENTRY_NOT_LOADED for an open sale whose record is not loaded (a journaled sale
 * always is: it was just recorded or returned), or PROC_ENTRY_FAILED (ENOMEM, or cap
 * too small). Both are errors for the caller, never a delete. */
#define PROC_ENTRY_MAX (64 + PROC_MAX_SALE_PAYOUTS * (12 + PROC_ID_CAP))
#define PROC_ENTRY_NOT_LOADED ((size_t)-1)
#define PROC_ENTRY_FAILED ((size_t)-2)
size_t proc_partner_entry(const proc_partner *pt, proc_entry_set set, uint64_t hash,
                          uint8_t *buf, size_t cap);

/* Adds one stored entry to a partner decoded from a version-3 blob: an id, answer or held
 * payout, or a sale to `open` (its record is checked, not kept). Entries come in any order; call
 * proc_partner_load_done after the last. @returns 0, or -1 when the field or value is
 * malformed or ENOMEM. */
int proc_partner_load_entry(proc_partner *pt, const char *field, size_t field_len,
                            const uint8_t *val, size_t val_len);
/* Sorts the sets and checks them. @returns 0, or -1 on duplicate entries. */
int proc_partner_load_done(proc_partner *pt);

/* Loads the record of an open sale (the value of its entry) so a return can use it; a
 * record already loaded is kept as it is. @returns 0, or -1 when the sale is not open,
 * the value is malformed, or ENOMEM. */
int proc_partner_load_sale(proc_partner *pt, uint64_t hash, const uint8_t *val, size_t len);

/* 64-bit FNV-1a over a string; stable across builds and machines. */
uint64_t proc_hash64(const char *s);
/* The same hash over a, a unit separator byte (0x1f) and b, so that ("ab", "c") and
 * ("a", "bc") differ (the parts are joined the way proc_make_id joins its parts). */
uint64_t proc_hash64_pair(const char *a, const char *b);

#endif
