/* Names of the enums as they appear in Avro symbols and dead-letter headers. */
#include "proc_event.h"

static const char *const dlq_names[] = {
#define PROC_DLQ_NAME(name) #name,
    PROC_DLQ_REASONS(PROC_DLQ_NAME)
#undef PROC_DLQ_NAME
};

static const char *const payout_kind_names[] = {
    "REBATE", "TIER_TRUE_UP", "SPIFF", "DEAL_REGISTRATION_BONUS",
    "CERTIFICATION_BONUS", "MDF_ACCRUAL", "CLAWBACK",
};

static const char *const alert_kind_names[] = {
    "TIER_ACHIEVED", "TIER_DOWNGRADED", "NEAR_NEXT_TIER", "CAP_REACHED",
    "APPROVAL_REQUIRED", "DEAL_CONFLICT", "DETRACTOR_RESPONSE", "PARTNER_NPS_LOW",
    "PULSE_LOW", "PAYOUT_APPROVED", "PAYOUT_REJECTED",
};

static const char *const severity_names[] = {"INFO", "WARNING", "CRITICAL"};
static const char *const status_names[] = {"APPROVED", "PENDING_APPROVAL", "REJECTED"};

#define NAME_OF(table, i) \
    ((unsigned)(i) < sizeof(table) / sizeof(table[0]) ? table[(unsigned)(i)] : "?")

const char *proc_dlq_reason_name(proc_dlq_reason r) { return NAME_OF(dlq_names, r); }
const char *proc_payout_kind_name(proc_payout_kind k) { return NAME_OF(payout_kind_names, k); }
const char *proc_payout_status_name(proc_payout_status s) { return NAME_OF(status_names, s); }
const char *proc_alert_kind_name(proc_alert_kind k) { return NAME_OF(alert_kind_names, k); }
const char *proc_severity_name(proc_severity s) { return NAME_OF(severity_names, s); }
