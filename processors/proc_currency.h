/*
 * proc_currency.h — the ISO 4217 currency codes and their minor-unit exponents.
 *
 * Amounts are integers in minor units, so converting between currencies needs each
 * currency's exponent: a JPY amount counts yen (0 decimals), a EUR amount cents (2), a
 * KWD amount fils (3), a CLF amount 1/10,000 (4). The table is compiled in (no I/O).
 */
#ifndef PROC_CURRENCY_H
#define PROC_CURRENCY_H

/* @returns the number of decimals (0..4) of an ISO 4217 code such as "EUR", or -1 when
 * the code is not a current ISO 4217 code with a minor unit. */
int proc_currency_exponent(const char *code);

/* @returns how many codes the table holds (for tests). */
int proc_currency_count(void);

#endif
