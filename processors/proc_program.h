/*
 * proc_program.h — one incentive program as the rules see it (CONTRACT §5), already parsed
 * and validated. The YAML program file is read by consumer/ (cons_program_*), which
 * fills these structs; nothing here does I/O.
 *
 * Money is in minor units of the program currency; rates are basis points; fx rates and
 * the pulse threshold are fixed-point with 8 decimals (PROC_RATE_DEN).
 */
#ifndef PROC_PROGRAM_H
#define PROC_PROGRAM_H

#include <stdbool.h>
#include <stdint.h>

#include "proc_event.h"
#include "proc_period.h"

#define PROC_MAX_TIERS 16
#define PROC_MAX_FX 32
#define PROC_MAX_SPIFFS 32
#define PROC_NAME_CAP 64

typedef enum { PROC_REBATE_RETROACTIVE = 0, PROC_REBATE_MARGINAL } proc_rebate_mode;

typedef struct {
    char name[PROC_NAME_CAP];
    int64_t min_revenue_minor;
    int32_t min_certifications;
    int32_t rebate_bp;
} proc_tier;

typedef struct {
    char currency[PROC_CURRENCY_CAP];
    int64_t rate_e8;                 /* program-currency units per unit × 1e8 */
} proc_fx;

typedef struct {
    char id[PROC_NAME_CAP];
    char sku_prefix[PROC_STR_CAP];
    int64_t per_unit_minor;
    int64_t valid_from_ms;           /* inclusive, UTC midnight */
    int64_t valid_to_ms;             /* exclusive, UTC midnight */
    int min_tier;                    /* index into tiers */
} proc_spiff;

typedef struct proc_program {
    char id[PROC_STR_CAP];
    char currency[PROC_CURRENCY_CAP];
    proc_period_kind period;
    int32_t allowed_lateness_days;
    proc_rebate_mode rebate_mode;
    int n_tiers;                     /* >= 1; tiers[0] is the entry tier */
    proc_tier tiers[PROC_MAX_TIERS];
    int32_t near_tier_pct;
    int n_fx;
    proc_fx fx[PROC_MAX_FX];
    int n_spiffs;
    proc_spiff spiffs[PROC_MAX_SPIFFS];  /* file order: the cap takes SPIFFs in this order */
    int32_t deal_bonus_bp;
    int32_t deal_validity_days;
    int64_t certification_bonus_minor;
    int32_t mdf_bp;
    int64_t revenue_per_point_minor;     /* > 0 */
    int32_t points_per_certification;
    int32_t points_per_deal_won;
    int64_t cap_per_period_minor;        /* INT64_MAX when the file sets none */
    int64_t approval_threshold_minor;    /* INT64_MAX when the file sets none */
    int32_t return_window_days;
    int64_t max_sale_minor;
    int32_t nps_threshold;
    int32_t survey_min_responses;
    int64_t pulse_threshold_e8;
} proc_program;

/* All programs of one program file plus the settings the rules need beyond them. The
 * catalog owns nothing on the heap; `programs` points at caller-owned storage. */
typedef struct {
    int n_programs;
    const proc_program *programs;
    int64_t replay_horizon_ms;           /* duplicate event_ids are remembered this long */
} proc_catalog;

/* Fills `p` with the defaults a program gets for keys the file leaves out. */
void proc_program_defaults(proc_program *p);

/* @returns the program with this id, or NULL. */
const proc_program *proc_catalog_find(const proc_catalog *c, const char *program_id);

/* @returns the fx rate ×1e8 to convert `currency` into the program currency: 1e8 for the
 * program's own currency, 0 when the currency is not convertible. */
int64_t proc_program_fx_e8(const proc_program *p, const char *currency);

/* @returns the tier index for a tier name, or -1. */
int proc_program_tier_index(const proc_program *p, const char *name);

/* Checks the cross-field rules of CONTRACT §5 (tiers ascending, rates in range, SPIFF windows
 * in order...). On failure writes the offending key (e.g. "tiers[2].min_revenue_minor")
 * and a sentence into key/msg and @returns false. */
bool proc_program_check(const proc_program *p, char *key, size_t key_cap, char *msg,
                        size_t msg_cap);

#endif
