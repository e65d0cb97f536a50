#include "proc_period.h"

#include <stdio.h>

/* Howard Hinnant's civil calendar algorithms: exact for every day, no libc time zone. */
int64_t proc_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int32_t proc_period_key(proc_period_kind kind, int64_t epoch_ms)
{
    int64_t y;
    unsigned m;
    civil_from_days(floor_div(epoch_ms, PROC_MS_PER_DAY), &y, &m);
    if (kind == PROC_PERIOD_MONTH)
        return (int32_t)(y * 12 + (m - 1));
    return (int32_t)(y * 4 + (m - 1) / 3);
}

int64_t proc_period_start_ms(proc_period_kind kind, int32_t key)
{
    int64_t y;
    unsigned m;
    if (kind == PROC_PERIOD_MONTH) {
        y = floor_div(key, 12);
        m = (unsigned)(key - y * 12) + 1;
    } else {
        y = floor_div(key, 4);
        m = (unsigned)(key - y * 4) * 3 + 1;
    }
    return proc_days_from_civil(y, m, 1) * PROC_MS_PER_DAY;
}

int64_t proc_period_end_ms(proc_period_kind kind, int32_t key)
{
    return proc_period_start_ms(kind, key + 1);
}

void proc_period_name(proc_period_kind kind, int32_t key, char *out, size_t cap)
{
    int64_t y = floor_div(key, kind == PROC_PERIOD_MONTH ? 12 : 4);
    int n = (int)(key - y * (kind == PROC_PERIOD_MONTH ? 12 : 4)) + 1;
    /* Every sale names its period: written by hand for the years of real data, as
     * snprintf costs more than the rest of the period maths. */
    if (y >= 0 && y <= 9999 && cap >= 8) {
        out[0] = (char)('0' + y / 1000);
        out[1] = (char)('0' + y / 100 % 10);
        out[2] = (char)('0' + y / 10 % 10);
        out[3] = (char)('0' + y % 10);
        out[4] = '-';
        if (kind == PROC_PERIOD_MONTH) {
            out[5] = (char)('0' + n / 10);
            out[6] = (char)('0' + n % 10);
        } else {
            out[5] = 'Q';
            out[6] = (char)('0' + n);
        }
        out[7] = '\0';
        return;
    }
    if (kind == PROC_PERIOD_MONTH)
        snprintf(out, cap, "%04lld-%02d", (long long)y, n);
    else
        snprintf(out, cap, "%04lld-Q%d", (long long)y, n);
}
