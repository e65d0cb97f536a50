/*
 * proc_money.h — exact integer money arithmetic.
 *
 * Every computed amount is rounded half-to-even once, at its final division, from exact
 * integer arithmetic (CONTRACT §6.2). Products are formed in 128 bits so that an amount up to
 * max_sale_minor times a rate with 8 decimals cannot overflow before the division.
 */
#ifndef PROC_MONEY_H
#define PROC_MONEY_H

#include <stdbool.h>
#include <stdint.h>

#define PROC_BP_DEN 10000          /* basis points */
#define PROC_RATE_DEN 100000000LL  /* fx rates carry at most 8 decimals */

/* round_half_even(num / den) for any sign of num; den must be > 0. */
int64_t proc_div_half_even(__int128 num, int64_t den);

/* round_half_even(amount × bp / 10000). */
int64_t proc_apply_bp(int64_t amount_minor, int64_t bp);

/* Converts amount_minor, in minor units of a currency with e_src decimals, at rate_e8
 * (program-currency units per unit of the source currency, in 1e-8) into minor units of
 * the program currency, which has e_prog decimals (issue #6, ISO 4217 exponents):
 *     round_half_even(amount_minor × rate × 10^(e_prog − e_src))
 * from exact 128-bit arithmetic: JPY 1,000 (0 decimals) at 0.0062 into EUR is 620 cents.
 * e_src and e_prog are 0..4. */
int64_t proc_convert_minor(int64_t amount_minor, int64_t rate_e8, int e_src, int e_prog);

/* Parses a non-negative decimal like "0.92" or "1.17" (at most 8 decimals, no sign, no
 * exponent) into units of 1e-8. @returns false on any other text. */
bool proc_parse_decimal_e8(const char *text, int64_t *out_e8);

#endif
