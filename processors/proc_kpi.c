#include "proc_kpi.h"

#include "proc_money.h"

int64_t proc_kpi_payout_ratio_bp(int64_t cash_and_clawbacks_minor, int64_t revenue_minor)
{
    if (revenue_minor <= 0)
        return 0;
    return proc_div_half_even((__int128)cash_and_clawbacks_minor * PROC_BP_DEN, revenue_minor);
}

int64_t proc_kpi_conversion_bp(int64_t deals_won, int64_t deals_registered)
{
    if (deals_registered <= 0)
        return 0;
    return proc_div_half_even((__int128)deals_won * PROC_BP_DEN, deals_registered);
}

bool proc_kpi_nps(int64_t promoters, int64_t detractors, int64_t responses, int64_t *nps)
{
    if (responses <= 0)
        return false;
    *nps = proc_div_half_even((__int128)100 * (promoters - detractors), responses);
    return true;
}
