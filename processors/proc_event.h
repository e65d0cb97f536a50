/*
 * proc_event.h — the decoded input events and the output records the rules produce.
 *
 * These are plain C values with fixed-size buffers: no heap, no I/O. schemas/ fills a
 * proc_event from Avro and turns proc_payout / proc_alert back into Avro; the rules in
 * processors/ only ever see these structs.
 *
 * Strings are NUL-terminated. PROC_STR_MAX is the longest string the contract accepts
 * (CONTRACT §6.17: strings over 256 bytes are INVALID_EVENT); the decoder rejects longer
 * ones before they reach a buffer.
 */
#ifndef PROC_EVENT_H
#define PROC_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROC_STR_MAX 256
#define PROC_STR_CAP (PROC_STR_MAX + 1)
#define PROC_CURRENCY_CAP 8          /* ISO 4217 is 3 letters; room for a bad one to be seen */
#define PROC_PERIOD_CAP 8            /* "2026-11" or "2026-Q4" */
#define PROC_ID_CAP 36               /* "po_" / "al_" + 32 hex digits + NUL */
#define PROC_PULSE_MAX_ANSWERS 10
#define PROC_ALERT_MAX_ATTRS 8
#define PROC_MESSAGE_CAP 512

typedef enum {
    PROC_EVENT_SALE = 0,
    PROC_EVENT_REGISTRATION,
    PROC_EVENT_SURVEY,
    PROC_EVENT_APPROVAL              /* a decision on a payout held for approval (§6.13) */
} proc_event_type;

#define PROC_EVENT_TYPE_COUNT (PROC_EVENT_APPROVAL + 1)

/* Enum orders match the Avro enum symbol orders in the schemas/ .avsc files. */
typedef enum { PROC_SALE_SALE = 0, PROC_SALE_RETURN } proc_sale_kind;

typedef enum {
    PROC_REG_PARTNER_ENROLLED = 0,
    PROC_REG_DEAL_REGISTERED,
    PROC_REG_DEAL_APPROVED,
    PROC_REG_DEAL_REJECTED,
    PROC_REG_CERTIFICATION_COMPLETED
} proc_reg_kind;

typedef enum { PROC_SURVEY_ENPS = 0, PROC_SURVEY_PULSE } proc_survey_kind;

typedef enum { PROC_DECISION_APPROVED = 0, PROC_DECISION_REJECTED } proc_decision;

typedef struct {
    proc_sale_kind kind;
    int64_t amount_minor;
    char currency[PROC_CURRENCY_CAP];
    char sku[PROC_STR_CAP];
    int32_t quantity;
    bool has_deal_id;
    char deal_id[PROC_STR_CAP];
    bool has_original_event_id;
    char original_event_id[PROC_STR_CAP];
} proc_sale;

typedef struct {
    proc_reg_kind kind;
    bool has_program_id;
    char program_id[PROC_STR_CAP];
    bool has_region;
    char region[PROC_STR_CAP];
    bool has_deal_id;
    char deal_id[PROC_STR_CAP];
    bool has_deal_value_minor;
    int64_t deal_value_minor;
    bool has_certification_id;
    char certification_id[PROC_STR_CAP];
} proc_registration;

typedef struct {
    char question_id[PROC_STR_CAP];
    int32_t score;
} proc_pulse_answer;

typedef struct {
    proc_survey_kind kind;
    char survey_id[PROC_STR_CAP];
    char respondent_id[PROC_STR_CAP];
    bool has_score;
    int32_t score;
    /* Number of answers in the record; the decoder rejects more than
     * PROC_PULSE_MAX_ANSWERS, so answers[0..n_answers) are all valid. */
    int32_t n_answers;
    proc_pulse_answer answers[PROC_PULSE_MAX_ANSWERS];
} proc_survey;

typedef struct {
    char payout_id[PROC_STR_CAP];    /* the held payout (a payout_id is shorter; a longer
                                      * string simply names no payout) */
    proc_decision decision;
    char approver_id[PROC_STR_CAP];
    bool has_reason;
    char reason[PROC_STR_CAP];
} proc_approval;

/* One decoded input event. Only the member named by `type` is meaningful. */
typedef struct {
    proc_event_type type;
    char event_id[PROC_STR_CAP];
    char partner_id[PROC_STR_CAP];
    int64_t occurred_at;             /* epoch milliseconds, UTC, business time */
    union {
        proc_sale sale;
        proc_registration reg;
        proc_survey survey;
        proc_approval approval;
    } u;
} proc_event;

/* ---- outputs ---------------------------------------------------------------------- */

typedef enum {
    PROC_PAYOUT_REBATE = 0,
    PROC_PAYOUT_TIER_TRUE_UP,
    PROC_PAYOUT_SPIFF,
    PROC_PAYOUT_DEAL_REGISTRATION_BONUS,
    PROC_PAYOUT_CERTIFICATION_BONUS,
    PROC_PAYOUT_MDF_ACCRUAL,
    PROC_PAYOUT_CLAWBACK,
    PROC_PAYOUT_KIND_COUNT
} proc_payout_kind;

/* PENDING_APPROVAL: held, not payable until a decision; REJECTED only on the record that
 * states a rejection (amount 0). Payment systems pay the APPROVED records (§6.13). */
typedef enum {
    PROC_STATUS_APPROVED = 0,
    PROC_STATUS_PENDING_APPROVAL,
    PROC_STATUS_REJECTED
} proc_payout_status;

/* How a payout was computed, so a partner or a payment team can check it line by line
 * (CONTRACT §4). Each value is optional; a kind carries these:
 *   REBATE                   basis (the converted sale), rate_bp (retroactive mode: the
 *                            effective tier's; marginal mode has none: the bands decide)
 *   TIER_TRUE_UP             basis (the period's revenue before the sale), rate_bp (the
 *                            new tier's), old_rate_bp: amount = basis x (rate - old rate)
 *   SPIFF                    per_unit, quantity
 *   DEAL_REGISTRATION_BONUS  basis, rate_bp        MDF_ACCRUAL  basis, rate_bp
 *   CLAWBACK, and a negative MDF_ACCRUAL: basis (the reversed payout), sale (the converted
 *                            sale), returned_before / returned_after (its returned amount
 *                            before and after this return): the running share, §6.11
 *   any cash kind the cap cut: cut (what the cap took off the computed amount). */
typedef struct {
    bool has_basis, has_rate_bp, has_old_rate_bp, has_per_unit, has_quantity, has_sale,
        has_returned_before, has_returned_after, has_cut;
    int64_t basis_minor;
    int32_t rate_bp;
    int32_t old_rate_bp;
    int64_t per_unit_minor;
    int32_t quantity;
    int64_t sale_minor;
    int64_t returned_before_minor;
    int64_t returned_after_minor;
    int64_t cut_minor;
} proc_explain;

typedef struct {
    char payout_id[PROC_ID_CAP];
    char partner_id[PROC_STR_CAP];
    char program_id[PROC_STR_CAP];
    proc_payout_kind kind;
    int64_t amount_minor;
    char currency[PROC_CURRENCY_CAP];
    char period[PROC_PERIOD_CAP];
    char tier[PROC_STR_CAP];
    proc_payout_status status;
    char rule_id[PROC_STR_CAP];
    char source_event_id[PROC_STR_CAP];
    int64_t occurred_at;
    /* Only on the record of a decision: the held payout it decides, and who decided. */
    bool has_decision_of;
    char decision_of[PROC_ID_CAP];
    bool has_approver_id;
    char approver_id[PROC_STR_CAP];
    proc_explain explain;
} proc_payout;

typedef enum {
    PROC_ALERT_TIER_ACHIEVED = 0,
    PROC_ALERT_TIER_DOWNGRADED,
    PROC_ALERT_NEAR_NEXT_TIER,
    PROC_ALERT_CAP_REACHED,
    PROC_ALERT_APPROVAL_REQUIRED,
    PROC_ALERT_DEAL_CONFLICT,
    PROC_ALERT_DETRACTOR_RESPONSE,
    PROC_ALERT_PARTNER_NPS_LOW,
    PROC_ALERT_PULSE_LOW,
    PROC_ALERT_PAYOUT_APPROVED,
    PROC_ALERT_PAYOUT_REJECTED,
    PROC_ALERT_KIND_COUNT
} proc_alert_kind;

typedef enum { PROC_SEVERITY_INFO = 0, PROC_SEVERITY_WARNING, PROC_SEVERITY_CRITICAL } proc_severity;

typedef struct {
    char key[32];
    char value[PROC_STR_CAP];
} proc_attr;

/* Attributes are kept in insertion order; the encoder writes them in that order so the
 * output bytes are deterministic. */
typedef struct {
    char alert_id[PROC_ID_CAP];
    char partner_id[PROC_STR_CAP];
    char program_id[PROC_STR_CAP];
    proc_alert_kind kind;
    proc_severity severity;
    char period[PROC_PERIOD_CAP];
    char message[PROC_MESSAGE_CAP];
    int n_attrs;
    proc_attr attrs[PROC_ALERT_MAX_ATTRS];
    char source_event_id[PROC_STR_CAP];
    int64_t occurred_at;
} proc_alert;

/* Dead-letter reasons (CONTRACT §6 order of checks). X-macro: yields the enum and names. */
#define PROC_DLQ_REASONS(X) \
    X(NONE)                 \
    X(DECODE_ERROR)         \
    X(UNKNOWN_SCHEMA)       \
    X(INVALID_EVENT)        \
    X(PARTNER_NOT_ENROLLED) \
    X(UNSUPPORTED_CURRENCY) \
    X(LATE_EVENT)           \
    X(RETURN_INVALID)       \
    X(DUPLICATE_RESPONSE)   \
    X(MISPARTITIONED)       \
    X(APPROVAL_UNKNOWN_PAYOUT) \
    X(APPROVAL_ALREADY_DECIDED)

typedef enum {
#define PROC_DLQ_ENUM(name) PROC_DLQ_##name,
    PROC_DLQ_REASONS(PROC_DLQ_ENUM)
#undef PROC_DLQ_ENUM
    PROC_DLQ_REASON_COUNT
} proc_dlq_reason;

/* @returns the reason code as written in the dlq.reason header, e.g. "LATE_EVENT". */
const char *proc_dlq_reason_name(proc_dlq_reason r);
const char *proc_payout_kind_name(proc_payout_kind k);
const char *proc_payout_status_name(proc_payout_status s);
const char *proc_alert_kind_name(proc_alert_kind k);
const char *proc_severity_name(proc_severity s);

#endif
