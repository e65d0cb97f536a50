#include "cons_deals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cons_deal_entry *cons_deals_find(const cons_deals *d, const char *deal_id)
{
    for (int i = 0; i < d->n; i++)       /* a batch names few deals: a scan is enough */
        if (strcmp(d->e[i]->deal.deal_id, deal_id) == 0)
            return d->e[i];
    return NULL;
}

cons_deal_entry *cons_deals_add(cons_deals *d, const char *deal_id, int32_t partition,
                                uint8_t *base, size_t base_len)
{
    cons_deal_entry *e = NULL;

    if (d->n == d->cap) {
        int n = d->cap ? d->cap * 2 : 16;
        cons_deal_entry **a = realloc(d->e, (size_t)n * sizeof *a);
        if (a == NULL)
            goto fail;
        d->e = a;
        d->cap = n;
    }
    if ((e = calloc(1, sizeof *e)) == NULL)
        goto fail;
    proc_deal_init(&e->deal, deal_id);
    if (base != NULL && proc_deal_decode(&e->deal, base, base_len) != 0)
        goto fail;
    e->partition = partition;
    e->base = base;
    e->base_len = base_len;
    d->e[d->n++] = e;
    return e;
fail:
    free(e);
    free(base);
    return NULL;
}

void cons_deals_drop(cons_deals *d, int32_t partition)
{
    int keep = 0;
    for (int i = 0; i < d->n; i++) {
        if (partition < 0 || d->e[i]->partition == partition) {
            free(d->e[i]->base);
            free(d->e[i]);
        } else {
            d->e[keep++] = d->e[i];
        }
    }
    d->n = keep;
}

void cons_deals_free(cons_deals *d)
{
    cons_deals_drop(d, -1);
    free(d->e);
    memset(d, 0, sizeof *d);
}

int cons_kpis_add(cons_kpis *k, const proc_program *prog, const proc_kpi_delta *delta)
{
    for (int i = 0; i < k->n; i++) {
        cons_kpi_entry *e = &k->e[i];
        if (e->prog == prog && e->period_key == delta->period_key &&
            strcmp(e->field, delta->field) == 0) {
            e->delta += delta->delta;
            return 0;
        }
    }
    if (k->n == k->cap) {
        int n = k->cap ? k->cap * 2 : 32;
        cons_kpi_entry *a = realloc(k->e, (size_t)n * sizeof *a);
        if (a == NULL)
            return -1;
        k->e = a;
        k->cap = n;
    }
    cons_kpi_entry *e = &k->e[k->n++];
    e->prog = prog;
    e->period_key = delta->period_key;
    snprintf(e->field, sizeof e->field, "%s", delta->field);
    e->delta = delta->delta;
    return 0;
}

void cons_kpis_free(cons_kpis *k)
{
    free(k->e);
    memset(k, 0, sizeof *k);
}
