/*
 * schema_fields.c — the field tables (see schema_fields.h). Symbol orders are the .avsc
 * enum orders, which are also the proc_event.h enum orders; the registry checks both
 * against the embedded schemas at start.
 */
#include "schema_fields.h"

#include <string.h>

#include "proc_event.h"

/* Enums are stored through int pointers: make sure the C enums are int-sized. */
_Static_assert(sizeof(proc_sale_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(proc_alert_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(proc_decision) == sizeof(int), "enum size");
_Static_assert(sizeof(proc_payout_status) == sizeof(int), "enum size");
_Static_assert(sizeof(((proc_attr *)0)->key) == SF_ATTR_KEY_CAP, "attr key size");
_Static_assert(sizeof(((proc_attr *)0)->value) == SF_ATTR_VALUE_CAP, "attr value size");

#define SYMS(var, ...)                                                        \
    static const char *const var##_names[] = {__VA_ARGS__};                   \
    static const sf_symbols var = {var##_names,                               \
                                   (int)(sizeof var##_names / sizeof var##_names[0])}

SYMS(sale_kind, "SALE", "RETURN");
SYMS(reg_kind, "PARTNER_ENROLLED", "DEAL_REGISTERED", "DEAL_APPROVED", "DEAL_REJECTED",
     "CERTIFICATION_COMPLETED");
SYMS(survey_kind, "ENPS", "PULSE");
SYMS(payout_kind, "REBATE", "TIER_TRUE_UP", "SPIFF", "DEAL_REGISTRATION_BONUS",
     "CERTIFICATION_BONUS", "MDF_ACCRUAL", "CLAWBACK");
SYMS(decision, "APPROVED", "REJECTED");
SYMS(payout_status, "APPROVED", "PENDING_APPROVAL", "REJECTED");
SYMS(alert_kind, "TIER_ACHIEVED", "TIER_DOWNGRADED", "NEAR_NEXT_TIER", "CAP_REACHED",
     "APPROVAL_REQUIRED", "DEAL_CONFLICT", "DETRACTOR_RESPONSE", "PARTNER_NPS_LOW",
     "PULSE_LOW", "PAYOUT_APPROVED", "PAYOUT_REJECTED");
SYMS(severity, "INFO", "WARNING", "CRITICAL");

_Static_assert(PROC_PAYOUT_KIND_COUNT == 7, "payout kinds changed: update the table");
_Static_assert(PROC_ALERT_KIND_COUNT == 11, "alert kinds changed: update the table");

#define MEMBER_SIZE(T, m) sizeof(((T *)0)->m)

/* Required string / optional string / long / int / enum rows. */
#define STR(T, n, m) {n, SF_STRING, false, offsetof(T, m), 0, 0, MEMBER_SIZE(T, m), NULL, NULL}
#define OSTR(T, n, m, h) \
    {n, SF_STRING, true, offsetof(T, m), offsetof(T, h), 0, MEMBER_SIZE(T, m), NULL, NULL}
#define LONG(T, n, m) {n, SF_LONG, false, offsetof(T, m), 0, 0, 0, NULL, NULL}
#define OLONG(T, n, m, h) {n, SF_LONG, true, offsetof(T, m), offsetof(T, h), 0, 0, NULL, NULL}
#define INT(T, n, m) {n, SF_INT, false, offsetof(T, m), 0, 0, 0, NULL, NULL}
#define OINT(T, n, m, h) {n, SF_INT, true, offsetof(T, m), offsetof(T, h), 0, 0, NULL, NULL}
#define ENUM(T, n, m, s) {n, SF_ENUM, false, offsetof(T, m), 0, 0, 0, &s, NULL}

#define COMMON_EVENT_FIELDS                                \
    STR(proc_event, "event_id", event_id),                 \
    STR(proc_event, "partner_id", partner_id),             \
    LONG(proc_event, "occurred_at", occurred_at)

static const sf_field sale_fields[] = {
    COMMON_EVENT_FIELDS,
    ENUM(proc_event, "kind", u.sale.kind, sale_kind),
    LONG(proc_event, "amount_minor", u.sale.amount_minor),
    STR(proc_event, "currency", u.sale.currency),
    STR(proc_event, "sku", u.sale.sku),
    INT(proc_event, "quantity", u.sale.quantity),
    OSTR(proc_event, "deal_id", u.sale.deal_id, u.sale.has_deal_id),
    OSTR(proc_event, "original_event_id", u.sale.original_event_id,
         u.sale.has_original_event_id),
};

static const sf_field registration_fields[] = {
    COMMON_EVENT_FIELDS,
    ENUM(proc_event, "kind", u.reg.kind, reg_kind),
    OSTR(proc_event, "program_id", u.reg.program_id, u.reg.has_program_id),
    OSTR(proc_event, "region", u.reg.region, u.reg.has_region),
    OSTR(proc_event, "deal_id", u.reg.deal_id, u.reg.has_deal_id),
    OLONG(proc_event, "deal_value_minor", u.reg.deal_value_minor, u.reg.has_deal_value_minor),
    OSTR(proc_event, "certification_id", u.reg.certification_id, u.reg.has_certification_id),
};

static const sf_field pulse_answer_fields[] = {
    STR(proc_pulse_answer, "question_id", question_id),
    INT(proc_pulse_answer, "score", score),
};

const sf_record schema_fields_pulse_answer = {"PulseAnswer", pulse_answer_fields, 2};

static const sf_field survey_fields[] = {
    COMMON_EVENT_FIELDS,
    ENUM(proc_event, "kind", u.survey.kind, survey_kind),
    STR(proc_event, "survey_id", u.survey.survey_id),
    STR(proc_event, "respondent_id", u.survey.respondent_id),
    OINT(proc_event, "score", u.survey.score, u.survey.has_score),
    {"answers", SF_ANSWERS, false, offsetof(proc_event, u.survey.answers), 0,
     offsetof(proc_event, u.survey.n_answers), PROC_PULSE_MAX_ANSWERS, NULL,
     &schema_fields_pulse_answer},
};

static const sf_field approval_fields[] = {
    COMMON_EVENT_FIELDS,
    STR(proc_event, "payout_id", u.approval.payout_id),
    ENUM(proc_event, "decision", u.approval.decision, decision),
    STR(proc_event, "approver_id", u.approval.approver_id),
    OSTR(proc_event, "reason", u.approval.reason, u.approval.has_reason),
};

static const sf_field payout_fields[] = {
    STR(proc_payout, "payout_id", payout_id),
    STR(proc_payout, "partner_id", partner_id),
    STR(proc_payout, "program_id", program_id),
    ENUM(proc_payout, "kind", kind, payout_kind),
    LONG(proc_payout, "amount_minor", amount_minor),
    STR(proc_payout, "currency", currency),
    STR(proc_payout, "period", period),
    STR(proc_payout, "tier", tier),
    ENUM(proc_payout, "status", status, payout_status),
    STR(proc_payout, "rule_id", rule_id),
    STR(proc_payout, "source_event_id", source_event_id),
    LONG(proc_payout, "occurred_at", occurred_at),
    OSTR(proc_payout, "decision_of", decision_of, has_decision_of),
    OSTR(proc_payout, "approver_id", approver_id, has_approver_id),
    OLONG(proc_payout, "basis_minor", explain.basis_minor, explain.has_basis),
    OINT(proc_payout, "rate_bp", explain.rate_bp, explain.has_rate_bp),
    OINT(proc_payout, "old_rate_bp", explain.old_rate_bp, explain.has_old_rate_bp),
    OLONG(proc_payout, "per_unit_minor", explain.per_unit_minor, explain.has_per_unit),
    OINT(proc_payout, "quantity", explain.quantity, explain.has_quantity),
    OLONG(proc_payout, "sale_minor", explain.sale_minor, explain.has_sale),
    OLONG(proc_payout, "returned_before_minor", explain.returned_before_minor,
          explain.has_returned_before),
    OLONG(proc_payout, "returned_after_minor", explain.returned_after_minor,
          explain.has_returned_after),
    OLONG(proc_payout, "cut_minor", explain.cut_minor, explain.has_cut),
};

static const sf_field alert_fields[] = {
    STR(proc_alert, "alert_id", alert_id),
    STR(proc_alert, "partner_id", partner_id),
    STR(proc_alert, "program_id", program_id),
    ENUM(proc_alert, "kind", kind, alert_kind),
    ENUM(proc_alert, "severity", severity, severity),
    STR(proc_alert, "period", period),
    STR(proc_alert, "message", message),
    {"attributes", SF_ATTRS, false, offsetof(proc_alert, attrs), 0,
     offsetof(proc_alert, n_attrs), PROC_ALERT_MAX_ATTRS, NULL, NULL},
    STR(proc_alert, "source_event_id", source_event_id),
    LONG(proc_alert, "occurred_at", occurred_at),
};

#define N(a) ((int)(sizeof a / sizeof a[0]))

const sf_record schema_fields_records[SCHEMA_REC_COUNT] = {
    [SCHEMA_REC_SALE] = {"SaleEvent", sale_fields, N(sale_fields)},
    [SCHEMA_REC_REGISTRATION] = {"RegistrationEvent", registration_fields,
                                 N(registration_fields)},
    [SCHEMA_REC_SURVEY] = {"SurveyEvent", survey_fields, N(survey_fields)},
    [SCHEMA_REC_APPROVAL] = {"ApprovalEvent", approval_fields, N(approval_fields)},
    [SCHEMA_REC_PAYOUT] = {"PayoutEvent", payout_fields, N(payout_fields)},
    [SCHEMA_REC_ALERT] = {"AlertEvent", alert_fields, N(alert_fields)},
};

int schema_fields_symbol_index(const sf_symbols *sym, const char *name)
{
    for (int i = 0; i < sym->n; i++)
        if (strcmp(sym->names[i], name) == 0)
            return i;
    return -1;
}

const char *schema_fields_type_word(schema_record_kind kind)
{
    switch (kind) {
    case SCHEMA_REC_SALE: return "sale";
    case SCHEMA_REC_REGISTRATION: return "registration";
    case SCHEMA_REC_SURVEY: return "survey";
    case SCHEMA_REC_APPROVAL: return "approval";
    default: return NULL;
    }
}

/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF. NUL is
 * refused too, because the strings end up in NUL-terminated buffers where an embedded
 * NUL would silently cut them (two partner ids that differ after a NUL would merge). */
bool schema_valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c >= 0x01 && c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return false; /* NUL, continuation byte, C0/C1, F5..FF */
        }
        if (n - i - 1 < need)
            return false;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= need; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return false;
        i += need + 1;
    }
    return true;
}
