/*
 * cons_deals.h — the deal claims one batch has read, and the KPI increments it collects.
 *
 * Deal claims are shared by every worker (one deal id, many partners), so unlike partner
 * state they are never cached across batches: each batch reads the claims it needs, keeps
 * the stored bytes it read, and its ledger call EXPECTs those bytes unchanged before
 * writing the new claim (optimistic concurrency; a STALE batch is redone). A claim is
 * read by one input partition per batch; another partition needing it first commits the
 * batch (see cons_worker.c, deal_for).
 *
 * Ownership: the set owns its entries and their base bytes.
 */
#ifndef CONS_DEALS_H
#define CONS_DEALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc_deal.h"
#include "proc_outputs.h"
#include "proc_program.h"

typedef struct {
    proc_deal deal;
    int32_t partition;               /* the input partition whose batch read it */
    bool dirty;                      /* changed by the batch: write it back */
    uint8_t *base;                   /* the stored blob as read; NULL when absent */
    size_t base_len;
} cons_deal_entry;

typedef struct {
    int n, cap;
    cons_deal_entry **e;
} cons_deals;

/* @returns the entry for deal_id, or NULL. */
cons_deal_entry *cons_deals_find(const cons_deals *d, const char *deal_id);

/* Adds an entry; takes ownership of `base` (malloc'd, or NULL for "not stored") and
 * decodes it (a corrupt blob @returns NULL, as does ENOMEM; base is freed either way). */
cons_deal_entry *cons_deals_add(cons_deals *d, const char *deal_id, int32_t partition,
                                uint8_t *base, size_t base_len);

/* Forgets the entries of one partition (its batch was discarded), or all (p < 0). */
void cons_deals_drop(cons_deals *d, int32_t partition);
void cons_deals_free(cons_deals *d);

/* KPI increments of one partition batch, merged per (program, period, field). */
typedef struct {
    const proc_program *prog;
    int32_t period_key;
    char field[PROC_KPI_FIELD_CAP];
    int64_t delta;
} cons_kpi_entry;

typedef struct {
    int n, cap;
    cons_kpi_entry *e;
} cons_kpis;

/* @returns 0 or -1 (ENOMEM). */
int cons_kpis_add(cons_kpis *k, const proc_program *prog, const proc_kpi_delta *delta);
void cons_kpis_free(cons_kpis *k);

#endif
