#include "proc_program.h"

#include <stdio.h>
#include <string.h>

#include "proc_money.h"

void proc_program_defaults(proc_program *p)
{
    memset(p, 0, sizeof(*p));
    p->period = PROC_PERIOD_QUARTER;
    p->allowed_lateness_days = 7;
    p->rebate_mode = PROC_REBATE_RETROACTIVE;
    p->near_tier_pct = 90;
    p->deal_validity_days = 90;
    p->revenue_per_point_minor = 10000;
    p->cap_per_period_minor = INT64_MAX;
    p->approval_threshold_minor = INT64_MAX;
    p->return_window_days = 90;
    p->max_sale_minor = 1000000000000LL;
    p->nps_threshold = 0;
    p->survey_min_responses = 5;
    p->pulse_threshold_e8 = 250000000LL;
}

const proc_program *proc_catalog_find(const proc_catalog *c, const char *program_id)
{
    for (int i = 0; i < c->n_programs; i++)
        if (strcmp(c->programs[i].id, program_id) == 0)
            return &c->programs[i];
    return NULL;
}

int64_t proc_program_fx_e8(const proc_program *p, const char *currency)
{
    if (strcmp(p->currency, currency) == 0)
        return PROC_RATE_DEN;
    for (int i = 0; i < p->n_fx; i++)
        if (strcmp(p->fx[i].currency, currency) == 0)
            return p->fx[i].rate_e8;
    return 0;
}

int proc_program_tier_index(const proc_program *p, const char *name)
{
    for (int i = 0; i < p->n_tiers; i++)
        if (strcmp(p->tiers[i].name, name) == 0)
            return i;
    return -1;
}

#define FAIL(...)                                   \
    do {                                            \
        snprintf(key, key_cap, "%s", key_buf);      \
        snprintf(msg, msg_cap, __VA_ARGS__);        \
        return false;                               \
    } while (0)

bool proc_program_check(const proc_program *p, char *key, size_t key_cap, char *msg,
                        size_t msg_cap)
{
    char key_buf[96];

    snprintf(key_buf, sizeof key_buf, "id");
    if (p->id[0] == '\0')
        FAIL("every program needs an id");
    snprintf(key_buf, sizeof key_buf, "currency");
    if (strlen(p->currency) != 3)
        FAIL("currency must be a 3-letter ISO 4217 code");
    snprintf(key_buf, sizeof key_buf, "tiers");
    if (p->n_tiers < 1)
        FAIL("a program needs at least one tier");
    for (int i = 0; i < p->n_tiers; i++) {
        const proc_tier *t = &p->tiers[i];
        snprintf(key_buf, sizeof key_buf, "tiers[%d].name", i);
        if (t->name[0] == '\0')
            FAIL("every tier needs a name");
        if (proc_program_tier_index(p, t->name) != i)
            FAIL("tier name '%s' is used twice", t->name);
        snprintf(key_buf, sizeof key_buf, "tiers[%d].min_revenue_minor", i);
        if (t->min_revenue_minor < 0)
            FAIL("min_revenue_minor must be >= 0");
        if (i > 0 && t->min_revenue_minor <= p->tiers[i - 1].min_revenue_minor)
            FAIL("tiers must ascend: %lld is not above the previous tier's %lld",
                 (long long)t->min_revenue_minor, (long long)p->tiers[i - 1].min_revenue_minor);
        snprintf(key_buf, sizeof key_buf, "tiers[%d].min_certifications", i);
        if (t->min_certifications < 0 ||
            (i > 0 && t->min_certifications < p->tiers[i - 1].min_certifications))
            FAIL("min_certifications must be >= 0 and never fall from one tier to the next");
        snprintf(key_buf, sizeof key_buf, "tiers[%d].rebate_bp", i);
        if (t->rebate_bp < 0 || t->rebate_bp > PROC_BP_DEN)
            FAIL("rebate_bp must be between 0 and 10000");
        /* A higher tier paying less would make a true-up negative (CONTRACT §4 allows negative
         * amounts only for clawbacks). */
        if (i > 0 && t->rebate_bp < p->tiers[i - 1].rebate_bp)
            FAIL("rebate_bp must not fall from one tier to the next: %d is below %d",
                 (int)t->rebate_bp, (int)p->tiers[i - 1].rebate_bp);
    }
    snprintf(key_buf, sizeof key_buf, "near_tier_pct");
    if (p->near_tier_pct < 1 || p->near_tier_pct > 100)
        FAIL("near_tier_pct must be between 1 and 100");
    snprintf(key_buf, sizeof key_buf, "allowed_lateness_days");
    if (p->allowed_lateness_days < 0)
        FAIL("allowed_lateness_days must be >= 0");
    for (int i = 0; i < p->n_fx; i++) {
        snprintf(key_buf, sizeof key_buf, "fx.%s", p->fx[i].currency);
        if (p->fx[i].rate_e8 <= 0)
            FAIL("an fx rate must be above 0");
    }
    for (int i = 0; i < p->n_spiffs; i++) {
        const proc_spiff *s = &p->spiffs[i];
        snprintf(key_buf, sizeof key_buf, "spiffs[%d].valid_to", i);
        if (s->valid_to_ms <= s->valid_from_ms)
            FAIL("valid_to must be after valid_from");
        snprintf(key_buf, sizeof key_buf, "spiffs[%d].per_unit_minor", i);
        if (s->per_unit_minor < 0)
            FAIL("per_unit_minor must be >= 0");
    }
    snprintf(key_buf, sizeof key_buf, "deal_registration.bonus_bp");
    if (p->deal_bonus_bp < 0 || p->deal_bonus_bp > PROC_BP_DEN)
        FAIL("bonus_bp must be between 0 and 10000");
    snprintf(key_buf, sizeof key_buf, "mdf_bp");
    if (p->mdf_bp < 0 || p->mdf_bp > PROC_BP_DEN)
        FAIL("mdf_bp must be between 0 and 10000");
    snprintf(key_buf, sizeof key_buf, "points.revenue_per_point_minor");
    if (p->revenue_per_point_minor <= 0)
        FAIL("revenue_per_point_minor must be above 0");
    snprintf(key_buf, sizeof key_buf, "cap_per_period_minor");
    if (p->cap_per_period_minor < 0)
        FAIL("cap_per_period_minor must be >= 0");
    snprintf(key_buf, sizeof key_buf, "approval_threshold_minor");
    if (p->approval_threshold_minor <= 0)
        FAIL("approval_threshold_minor must be above 0");
    snprintf(key_buf, sizeof key_buf, "max_sale_minor");
    if (p->max_sale_minor <= 0)
        FAIL("max_sale_minor must be above 0");
    snprintf(key_buf, sizeof key_buf, "surveys.min_responses");
    if (p->survey_min_responses < 1)
        FAIL("min_responses must be at least 1");
    snprintf(key_buf, sizeof key_buf, "surveys.nps_threshold");
    if (p->nps_threshold < -100 || p->nps_threshold > 100)
        FAIL("nps_threshold must be between -100 and 100");
    return true;
}
