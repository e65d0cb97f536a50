#include "proc_money.h"

#include <ctype.h>
#include <stddef.h>

int64_t proc_div_half_even(__int128 num, int64_t den)
{
    /* Work on the magnitude so that ties are broken the same way for refunds (negative
     * amounts) as for payments: -2.5 rounds to -2, like 2.5 rounds to 2. */
    int negative = num < 0;
    unsigned __int128 mag = negative ? (unsigned __int128)(-num) : (unsigned __int128)num;
    unsigned __int128 q = mag / (unsigned __int128)den;
    unsigned __int128 r = mag % (unsigned __int128)den;
    unsigned __int128 twice_r = r * 2;
    if (twice_r > (unsigned __int128)den || (twice_r == (unsigned __int128)den && (q & 1)))
        q++;
    return negative ? -(int64_t)q : (int64_t)q;
}

int64_t proc_apply_bp(int64_t amount_minor, int64_t bp)
{
    return proc_div_half_even((__int128)amount_minor * bp, PROC_BP_DEN);
}

bool proc_parse_decimal_e8(const char *text, int64_t *out_e8)
{
    int64_t whole = 0, frac = 0;
    int frac_digits = 0, whole_digits = 0;
    const char *p = text;

    if (p == NULL || *p == '\0')
        return false;
    for (; isdigit((unsigned char)*p); p++) {
        if (++whole_digits > 10)       /* rates above 10^10 are not exchange rates */
            return false;
        whole = whole * 10 + (*p - '0');
    }
    if (*p == '.') {
        p++;
        for (; isdigit((unsigned char)*p); p++) {
            if (++frac_digits > 8)
                return false;
            frac = frac * 10 + (*p - '0');
        }
        if (frac_digits == 0)
            return false;
    }
    if (*p != '\0' || whole_digits == 0)
        return false;
    for (int i = frac_digits; i < 8; i++)
        frac *= 10;
    *out_e8 = whole * PROC_RATE_DEN + frac;
    return true;
}

int64_t proc_convert_minor(int64_t amount_minor, int64_t rate_e8, int e_src, int e_prog)
{
    __int128 num = (__int128)amount_minor * rate_e8;
    int64_t den = PROC_RATE_DEN;
    for (int d = e_src; d < e_prog; d++)
        num *= 10;
    for (int d = e_prog; d < e_src; d++)
        den *= 10;
    return proc_div_half_even(num, den);
}
