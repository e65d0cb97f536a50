/* CONTRACT §6.17: field checks that need no state. Program-dependent limits (max_sale_minor,
 * a known program id) are checked by the rules once the program is known. */
#include <stdio.h>
#include <string.h>

#include "proc_engine.h"

#define INVALID(...)                          \
    do {                                      \
        snprintf(detail, cap, __VA_ARGS__);   \
        return false;                         \
    } while (0)

static bool validate_sale(const proc_sale *s, char *detail, size_t cap)
{
    if (s->amount_minor <= 0)
        INVALID("amount_minor must be > 0, got %lld", (long long)s->amount_minor);
    if (s->quantity <= 0)
        INVALID("quantity must be > 0, got %d", (int)s->quantity);
    if (strlen(s->currency) != 3)
        INVALID("currency must be a 3-letter ISO 4217 code, got '%s'", s->currency);
    if (s->sku[0] == '\0')
        INVALID("sku must not be empty");
    if (s->kind == PROC_SALE_RETURN && (!s->has_original_event_id || !s->original_event_id[0]))
        INVALID("a RETURN needs original_event_id");
    return true;
}

static bool validate_registration(const proc_registration *r, char *detail, size_t cap)
{
    switch (r->kind) {
    case PROC_REG_PARTNER_ENROLLED:
        if (!r->has_program_id || !r->program_id[0])
            INVALID("PARTNER_ENROLLED needs program_id");
        break;
    case PROC_REG_DEAL_REGISTERED:
    case PROC_REG_DEAL_APPROVED:
    case PROC_REG_DEAL_REJECTED:
        if (!r->has_deal_id || !r->deal_id[0])
            INVALID("deal events need deal_id");
        if (r->has_deal_value_minor && r->deal_value_minor < 0)
            INVALID("deal_value_minor must be >= 0");
        break;
    case PROC_REG_CERTIFICATION_COMPLETED:
        if (!r->has_certification_id || !r->certification_id[0])
            INVALID("CERTIFICATION_COMPLETED needs certification_id");
        break;
    default:
        INVALID("unknown registration kind %d", (int)r->kind);
    }
    return true;
}

static bool validate_survey(const proc_survey *s, char *detail, size_t cap)
{
    if (!s->survey_id[0])
        INVALID("survey_id must not be empty");
    if (!s->respondent_id[0])
        INVALID("respondent_id must not be empty");
    if (s->kind == PROC_SURVEY_ENPS) {
        if (!s->has_score)
            INVALID("an ENPS response needs score");
        if (s->score < 0 || s->score > 10)
            INVALID("ENPS score must be 0-10, got %d", (int)s->score);
        return true;
    }
    if (s->n_answers < 1 || s->n_answers > PROC_PULSE_MAX_ANSWERS)
        INVALID("a PULSE response needs 1 to 10 answers, got %d", (int)s->n_answers);
    for (int i = 0; i < s->n_answers; i++) {
        if (!s->answers[i].question_id[0])
            INVALID("answers[%d].question_id must not be empty", i);
        if (s->answers[i].score < 1 || s->answers[i].score > 5)
            INVALID("answers[%d].score must be 1-5, got %d", i, (int)s->answers[i].score);
    }
    return true;
}

static bool validate_approval(const proc_approval *a, char *detail, size_t cap)
{
    if (!a->payout_id[0])
        INVALID("payout_id must not be empty");
    if (!a->approver_id[0])
        INVALID("approver_id must not be empty");
    if (a->decision != PROC_DECISION_APPROVED && a->decision != PROC_DECISION_REJECTED)
        INVALID("unknown decision %d", (int)a->decision);
    return true;
}

bool proc_validate(const proc_event *ev, char *detail, size_t cap)
{
    if (!ev->event_id[0])
        INVALID("event_id must not be empty");
    if (!ev->partner_id[0])
        INVALID("partner_id must not be empty");
    switch (ev->type) {
    case PROC_EVENT_SALE:
        return validate_sale(&ev->u.sale, detail, cap);
    case PROC_EVENT_REGISTRATION:
        return validate_registration(&ev->u.reg, detail, cap);
    case PROC_EVENT_SURVEY:
        return validate_survey(&ev->u.survey, detail, cap);
    case PROC_EVENT_APPROVAL:
        return validate_approval(&ev->u.approval, detail, cap);
    }
    INVALID("unknown event type %d", (int)ev->type);
}
