#include "proc_outputs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc_text.h"

void proc_outputs_reset(proc_outputs *o)
{
    o->reason = PROC_DLQ_NONE;
    o->detail[0] = '\0';
    o->duplicate = false;
    o->changed = false;
    o->deal_changed = false;
    o->n_payouts = 0;
    o->n_alerts = 0;
    o->n_rows = 0;
    o->n_kpi = 0;
}

void proc_outputs_free(proc_outputs *o)
{
    free(o->payouts);
    free(o->alerts);
    free(o->kpi);
    free(o->rows);
    memset(o, 0, sizeof(*o));
}

static void *grow(void *arr, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return arr;
    int n = *cap ? *cap * 2 : 8;
    void *p = realloc(arr, (size_t)n * size);
    if (p != NULL)
        *cap = n;
    return p;
}

proc_payout *proc_outputs_add_payout(proc_outputs *o)
{
    proc_payout *p = grow(o->payouts, &o->cap_payouts, o->n_payouts + 1, sizeof *p);
    if (p == NULL)
        return NULL;
    o->payouts = p;
    p = &o->payouts[o->n_payouts++];
    memset(p, 0, sizeof *p);
    return p;
}

proc_alert *proc_outputs_add_alert(proc_outputs *o)
{
    proc_alert *a = grow(o->alerts, &o->cap_alerts, o->n_alerts + 1, sizeof *a);
    if (a == NULL)
        return NULL;
    o->alerts = a;
    a = &o->alerts[o->n_alerts++];
    memset(a, 0, sizeof *a);
    return a;
}

int proc_outputs_touch(proc_outputs *o, int32_t period_key)
{
    for (int i = 0; i < o->n_rows; i++)
        if (o->rows[i].period_key == period_key)
            return 0;
    proc_lb_row *r = grow(o->rows, &o->cap_rows, o->n_rows + 1, sizeof *r);
    if (r == NULL)
        return -1;
    o->rows = r;
    r = &o->rows[o->n_rows++];
    memset(r, 0, sizeof *r);
    r->period_key = period_key;
    return 0;
}

int proc_outputs_kpi(proc_outputs *o, int32_t period_key, const char *field, int64_t delta)
{
    if (delta == 0)
        return 0;
    for (int i = 0; i < o->n_kpi; i++)
        if (o->kpi[i].period_key == period_key && strcmp(o->kpi[i].field, field) == 0) {
            o->kpi[i].delta += delta;
            return 0;
        }
    proc_kpi_delta *k = grow(o->kpi, &o->cap_kpi, o->n_kpi + 1, sizeof *k);
    if (k == NULL)
        return -1;
    o->kpi = k;
    k = &o->kpi[o->n_kpi++];
    k->period_key = period_key;
    proc_copy(k->field, sizeof k->field, field);
    k->delta = delta;
    return 0;
}

/* Two independent 64-bit FNV-1a streams, each finished with a splitmix64 avalanche:
 * 128 bits keep ids unique across billions of payouts without any state. */
static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void proc_make_id(char out[PROC_ID_CAP], const char *prefix, const char *const *parts, int n)
{
    uint64_t a = 1469598103934665603ULL, b = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < n; i++) {
        for (const unsigned char *s = (const unsigned char *)parts[i]; *s; s++) {
            a = (a ^ *s) * 1099511628211ULL;
            b = (b ^ *s) * 0x100000001b3ULL + 0x632be59bd9b4e019ULL;
        }
        a = (a ^ 0x1f) * 1099511628211ULL;   /* unit separator: parts cannot run together */
        b = (b ^ 0x1f) * 0x100000001b3ULL + 0x632be59bd9b4e019ULL;
    }
    out[0] = prefix[0];
    out[1] = prefix[0] ? prefix[1] : '\0';
    size_t at = strnlen(out, 2);             /* as "%.2s": the prefix cut at 2 bytes */
    out[at] = '_';
    proc_fmt_hex16(out + at + 1, mix(a));
    proc_fmt_hex16(out + at + 17, mix(b ^ a));
    out[at + 33] = '\0';
}

void proc_alert_attr(proc_alert *a, const char *key, const char *value)
{
    if (a->n_attrs >= PROC_ALERT_MAX_ATTRS)
        return;
    proc_attr *at = &a->attrs[a->n_attrs++];
    proc_copy(at->key, sizeof at->key, key);
    proc_copy(at->value, sizeof at->value, value);
}

void proc_alert_attr_i64(proc_alert *a, const char *key, int64_t value)
{
    char buf[PROC_I64_CAP];
    proc_fmt_i64(buf, value);
    proc_alert_attr(a, key, buf);
}
