/*
 * proc_kpi.h — the derived program metrics of CONTRACT §9.
 *
 * Workers only add to counters in Redis ({ns}:kpi:{program}:{period}): no single worker
 * sees a program's totals, so ratios cannot be kept up to date by them. Readers derive
 * the ratios from the counters with these functions, exactly (half-even, integers).
 */
#ifndef PROC_KPI_H
#define PROC_KPI_H

#include <stdbool.h>
#include <stdint.h>

/* (cash payouts + clawbacks) / net revenue in bp; 0 when revenue <= 0. */
int64_t proc_kpi_payout_ratio_bp(int64_t cash_and_clawbacks_minor, int64_t revenue_minor);

/* deals won / deals registered in bp; 0 when none were registered. */
int64_t proc_kpi_conversion_bp(int64_t deals_won, int64_t deals_registered);

/* round_half_even(100 × (promoters − detractors) / responses); false when no responses. */
bool proc_kpi_nps(int64_t promoters, int64_t detractors, int64_t responses, int64_t *nps);

#endif
