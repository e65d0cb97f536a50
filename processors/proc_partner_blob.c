/*
 * The partner blob and entries: what the worker stores in Redis for one partner.
 *
 * Blob format (version 3, the core): magic 'P', version, then varints (zigzag for signed
 * values) in the order of proc_partner's fields: enrolled, program_id, region, watermark,
 * latest seen, certifications; the periods; the certification hashes; the PULSE
 * statistics. The remembered event ids, counted survey answers and sale records are hash
 * entries of their own (see proc_partner.h), so a batch writes only those it changed.
 *
 * Version 2 (releases before the split) held everything in the blob: after the
 * certifications the periods, the remembered event ids (hash, occurred_at), the
 * certification hashes, the sale records each followed by its payouts (kind, amount,
 * payout_id), the counted survey answers (hash, occurred_at), the PULSE statistics. It is
 * still read, so an existing Redis migrates partner by partner on first sight. Version 1
 * was never deployed and is refused.
 *
 * A sale entry's value: occurred_at, amount, returned, the payout count, then per payout
 * kind, amount and payout_id — the same fields as in a version-2 record.
 *
 * A held payout's value: occurred_at, period key, state, kind, amount, clawed back while
 * pending, payout_id, tier, rule_id.
 */
#include "proc_partner.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc_blob.h"
#include "proc_text.h"

#define BLOB_MAGIC 0x50u      /* 'P' */
#define BLOB_VERSION 3u
#define BLOB_VERSION_WHOLE 2u   /* everything in one blob */

/* Stored tier indexes above this are corrupt (programs have at most 16 tiers; a bit per
 * tier in near_alerted). */
#define MAX_STORED_TIER 32

static void put_period(proc_blob_writer *w, const proc_period_state *p)
{
    proc_blob_put_i64(w, p->key);
    proc_blob_put_i64(w, p->reached_tier);
    proc_blob_put_i64(w, p->held_tier);
    proc_blob_put_u64(w, p->flags);
    proc_blob_put_u64(w, p->near_alerted);
    proc_blob_put_i64(w, p->revenue_minor);
    proc_blob_put_i64(w, p->certifications);
    proc_blob_put_i64(w, p->deals_won);
    proc_blob_put_i64(w, p->cash_minor);
    proc_blob_put_i64(w, p->payouts_minor);
    proc_blob_put_i64(w, p->enps_responses);
    proc_blob_put_i64(w, p->enps_promoters);
    proc_blob_put_i64(w, p->enps_passives);
    proc_blob_put_i64(w, p->enps_detractors);
}

/* A sale record without its hash, then its payouts: a sale entry's value. */
static void put_sale(proc_blob_writer *w, const proc_sale_record *s, const proc_sale_payout *p)
{
    proc_blob_put_i64(w, s->occurred_at);
    proc_blob_put_i64(w, s->amount_minor);
    proc_blob_put_i64(w, s->returned_minor);
    proc_blob_put_u64(w, (uint64_t)s->n_payouts);
    for (int k = 0; k < s->n_payouts; k++, p++) {
        proc_blob_put_u64(w, (uint64_t)p->kind);
        proc_blob_put_i64(w, p->amount_minor);
        proc_blob_put_str(w, p->payout_id);
    }
}

static void put_held(proc_blob_writer *w, const proc_held_payout *h)
{
    proc_blob_put_i64(w, h->occurred_at);
    proc_blob_put_i64(w, h->period_key);
    proc_blob_put_u64(w, (uint64_t)h->state);
    proc_blob_put_u64(w, (uint64_t)h->kind);
    proc_blob_put_i64(w, h->amount_minor);
    proc_blob_put_i64(w, h->clawed_minor);
    proc_blob_put_str(w, h->payout_id);
    proc_blob_put_str(w, h->tier);
    proc_blob_put_str(w, h->rule_id);
}

/* @returns 0 and fills *h (hash set), or -1 when the value is not a held payout. */
static int get_held(const uint8_t *val, size_t len, uint64_t hash, proc_held_payout *h)
{
    proc_blob_reader r = {val, val + len, 0};
    memset(h, 0, sizeof *h);
    h->hash = hash;
    h->occurred_at = proc_blob_get_i64(&r);
    h->period_key = (int32_t)proc_blob_get_i64(&r);
    uint64_t state = proc_blob_get_u64(&r), kind = proc_blob_get_u64(&r);
    h->amount_minor = proc_blob_get_i64(&r);
    h->clawed_minor = proc_blob_get_i64(&r);
    proc_blob_get_str(&r, h->payout_id, sizeof h->payout_id);
    proc_blob_get_str(&r, h->tier, sizeof h->tier);
    proc_blob_get_str(&r, h->rule_id, sizeof h->rule_id);
    if (r.failed || r.p != r.end || state > PROC_HELD_REJECTED || kind >= PROC_PAYOUT_KIND_COUNT ||
        proc_hash64(h->payout_id) != hash)
        return -1;
    h->state = (int32_t)state;
    h->kind = (proc_payout_kind)kind;
    return 0;
}

int proc_partner_encode(const proc_partner *pt, uint8_t **out, size_t *out_len)
{
    proc_blob_writer w = {0};
    proc_blob_put_byte(&w, BLOB_MAGIC);
    proc_blob_put_byte(&w, BLOB_VERSION);
    proc_blob_put_u64(&w, pt->enrolled);
    proc_blob_put_str(&w, pt->program_id);
    proc_blob_put_str(&w, pt->region);
    proc_blob_put_i64(&w, pt->watermark_ms);
    proc_blob_put_i64(&w, pt->latest_seen_ms);
    proc_blob_put_i64(&w, pt->certifications_total);
    proc_blob_put_u64(&w, (uint64_t)pt->n_periods);
    for (int i = 0; i < pt->n_periods; i++)
        put_period(&w, &pt->periods[i]);
    proc_blob_put_u64(&w, (uint64_t)pt->n_certs);
    for (int i = 0; i < pt->n_certs; i++)
        proc_blob_put_u64(&w, pt->certs[i]);
    proc_blob_put_u64(&w, (uint64_t)pt->n_pulse);
    for (int i = 0; i < pt->n_pulse; i++) {
        const proc_pulse_stat *s = &pt->pulse[i];
        proc_blob_put_i64(&w, s->period_key);
        proc_blob_put_u64(&w, s->alerted);
        proc_blob_put_u64(&w, s->question);
        proc_blob_put_i64(&w, s->sum);
        proc_blob_put_i64(&w, s->count);
    }
    if (w.failed) {
        free(w.buf);
        return -1;
    }
    *out = w.buf;
    *out_len = w.len;
    return 0;
}

static void get_period(proc_blob_reader *r, proc_period_state *p)
{
    p->key = (int32_t)proc_blob_get_i64(r);
    p->reached_tier = (int32_t)proc_blob_get_i64(r);
    p->held_tier = (int32_t)proc_blob_get_i64(r);
    p->flags = (uint32_t)proc_blob_get_u64(r);
    p->near_alerted = (uint32_t)proc_blob_get_u64(r);
    p->revenue_minor = proc_blob_get_i64(r);
    p->certifications = (int32_t)proc_blob_get_i64(r);
    p->deals_won = (int32_t)proc_blob_get_i64(r);
    p->cash_minor = proc_blob_get_i64(r);
    p->payouts_minor = proc_blob_get_i64(r);
    p->enps_responses = (int32_t)proc_blob_get_i64(r);
    p->enps_promoters = (int32_t)proc_blob_get_i64(r);
    p->enps_passives = (int32_t)proc_blob_get_i64(r);
    p->enps_detractors = (int32_t)proc_blob_get_i64(r);
    r->failed |= p->reached_tier < 0 || p->held_tier < 0 || p->reached_tier >= MAX_STORED_TIER ||
                 p->held_tier >= MAX_STORED_TIER;
}

/* A hash set must come back strictly sorted: the lookups binary-search it. */
static int get_set(proc_blob_reader *r, proc_seen **set, int *cap)
{
    int n = proc_blob_get_count(r, (void **)set, cap, 0, sizeof **set);
    for (int i = 0; i < n && !r->failed; i++) {
        (*set)[i].hash = proc_blob_get_u64(r);
        (*set)[i].occurred_at = proc_blob_get_i64(r);
        r->failed |= i > 0 && (*set)[i].hash <= (*set)[i - 1].hash;
    }
    return r->failed ? 0 : n;
}

/* Reads a sale entry's value (put_sale) and appends the record with this hash. */
static void get_sale(proc_blob_reader *r, proc_partner *pt, uint64_t hash)
{
    if (proc_reserve((void **)&pt->sales, &pt->cap_sales, pt->n_sales + 1, sizeof *pt->sales)) {
        r->failed = 1;
        return;
    }
    proc_sale_record *s = &pt->sales[pt->n_sales];
    s->hash = hash;
    s->occurred_at = proc_blob_get_i64(r);
    s->amount_minor = proc_blob_get_i64(r);
    s->returned_minor = proc_blob_get_i64(r);
    s->n_payouts = proc_blob_get_count(r, (void **)&pt->sale_payouts, &pt->cap_sale_payouts,
                                       pt->n_sale_payouts, sizeof *pt->sale_payouts);
    /* A return divides by the amount and may claw back at most what is left. */
    r->failed |= s->amount_minor <= 0 || s->returned_minor < 0 ||
                 s->returned_minor > s->amount_minor || s->n_payouts > PROC_MAX_SALE_PAYOUTS;
    for (int k = 0; k < s->n_payouts && !r->failed; k++) {
        proc_sale_payout *p = &pt->sale_payouts[pt->n_sale_payouts + k];
        uint64_t kind = proc_blob_get_u64(r);
        p->kind = kind < PROC_PAYOUT_KIND_COUNT ? (proc_payout_kind)kind : PROC_PAYOUT_REBATE;
        p->amount_minor = proc_blob_get_i64(r);
        proc_blob_get_str(r, p->payout_id, sizeof p->payout_id);
        r->failed |= kind >= PROC_PAYOUT_KIND_COUNT;
    }
    if (!r->failed) {
        pt->n_sale_payouts += s->n_payouts;
        pt->n_sales++;
    }
}

static int sort_set(proc_seen *set, int n);

/* Version 2's sale records: all loaded, and all open. */
static void get_sales(proc_blob_reader *r, proc_partner *pt)
{
    uint64_t n = proc_blob_get_u64(r);
    r->failed |= n > (uint64_t)(r->end - r->p);      /* every record takes bytes */
    for (uint64_t i = 0; i < n && !r->failed; i++)
        get_sale(r, pt, proc_blob_get_u64(r));
    if (r->failed || pt->n_sales == 0)
        return;
    if (proc_reserve((void **)&pt->open, &pt->cap_open, pt->n_sales, sizeof *pt->open)) {
        r->failed = 1;
        return;
    }
    for (int i = 0; i < pt->n_sales; i++)
        pt->open[i] = (proc_seen){pt->sales[i].hash, pt->sales[i].occurred_at};
    pt->n_open = pt->n_sales;
    r->failed |= sort_set(pt->open, pt->n_open);
    pt->sorted_open = pt->n_open;
}

static void get_pulse(proc_blob_reader *r, proc_partner *pt)
{
    int n = proc_blob_get_count(r, (void **)&pt->pulse, &pt->cap_pulse, 0, sizeof *pt->pulse);
    for (int i = 0; i < n && !r->failed; i++) {
        proc_pulse_stat *s = &pt->pulse[i];
        s->period_key = (int32_t)proc_blob_get_i64(r);
        s->alerted = proc_blob_get_u64(r) != 0;
        s->question = proc_blob_get_u64(r);
        s->sum = proc_blob_get_i64(r);
        s->count = proc_blob_get_i64(r);
        r->failed |= s->count < 0 || s->sum < 0;
        pt->n_pulse = i + 1;
    }
}

int proc_partner_decode(proc_partner *pt, const uint8_t *buf, size_t len)
{
    proc_blob_reader r = {buf, buf + len, 0};
    proc_partner_reset(pt);
    if (len < 2 || buf[0] != BLOB_MAGIC || (buf[1] != BLOB_VERSION && buf[1] != BLOB_VERSION_WHOLE))
        return -1;
    bool whole = buf[1] == BLOB_VERSION_WHOLE;
    r.p += 2;
    char program_id[PROC_STR_CAP] = "", region[PROC_STR_CAP] = "";
    pt->enrolled = proc_blob_get_u64(&r) != 0;
    proc_blob_get_str(&r, program_id, sizeof program_id);
    proc_blob_get_str(&r, region, sizeof region);
    pt->watermark_ms = proc_blob_get_i64(&r);
    pt->latest_seen_ms = proc_blob_get_i64(&r);
    pt->certifications_total = (int32_t)proc_blob_get_i64(&r);

    pt->n_periods = proc_blob_get_count(&r, (void **)&pt->periods, &pt->cap_periods, 0,
                                        sizeof *pt->periods);
    for (int i = 0; i < pt->n_periods && !r.failed; i++) {
        get_period(&r, &pt->periods[i]);
        /* the lookups rely on sorted periods */
        r.failed |= i > 0 && pt->periods[i].key <= pt->periods[i - 1].key;
    }
    if (whole)
        pt->n_seen = pt->sorted_seen = get_set(&r, &pt->seen, &pt->cap_seen);
    pt->n_certs = proc_blob_get_count(&r, (void **)&pt->certs, &pt->cap_certs, 0, sizeof *pt->certs);
    for (int i = 0; i < pt->n_certs && !r.failed; i++)
        pt->certs[i] = proc_blob_get_u64(&r);
    if (whole) {
        get_sales(&r, pt);
        pt->n_responses = pt->sorted_responses = get_set(&r, &pt->responses, &pt->cap_responses);
    }
    get_pulse(&r, pt);

    if (r.failed || r.p != r.end ||
        proc_partner_set_strings(pt, pt->partner_id, program_id, region)) {
        proc_partner_reset(pt);
        return -1;
    }
    pt->rewrite = whole;       /* the entries are not in Redis yet: the next write adds them */
    return 0;
}

/* ---- entries ----------------------------------------------------------------------- */

static const char SET_LETTER[] = {'e', 'r', 's', 'a'};   /* by proc_entry_set */

void proc_partner_field(proc_entry_set set, uint64_t hash, char field[PROC_FIELD_CAP])
{
    field[0] = SET_LETTER[set];
    proc_fmt_hex16(field + 1, hash);
    field[17] = '\0';
}

/* The record and first payout of sale `hash`, or NULL. */
static const proc_sale_record *find_sale(const proc_partner *pt, uint64_t hash,
                                         const proc_sale_payout **payouts)
{
    proc_sale_payout *p;
    const proc_sale_record *s = proc_partner_sale(pt, hash, &p);
    *payouts = p;
    return s;
}

/* The bytes of a writer as an entry value: never 0, which would read as "delete". */
static size_t take_value(proc_blob_writer *w, uint8_t *buf, size_t cap)
{
    size_t n = w->failed || w->len > cap ? PROC_ENTRY_FAILED : w->len;
    if (n != PROC_ENTRY_FAILED)
        memcpy(buf, w->buf, n);
    free(w->buf);
    return n;
}

size_t proc_partner_entry(const proc_partner *pt, proc_entry_set set, uint64_t hash,
                          uint8_t *buf, size_t cap)
{
    if (set == PROC_SET_HELD) {
        const proc_held_payout *h = proc_partner_held(pt, hash);
        if (h == NULL)
            return 0;
        proc_blob_writer w = {0};
        put_held(&w, h);
        return take_value(&w, buf, cap);
    }
    if (set == PROC_SET_SALES) {
        const proc_sale_payout *p;
        const proc_sale_record *s = find_sale(pt, hash, &p);
        if (!proc_partner_sale_open(pt, hash))
            return 0;
        if (s == NULL)
            return PROC_ENTRY_NOT_LOADED;
        proc_blob_writer w = {0};
        put_sale(&w, s, p);
        return take_value(&w, buf, cap);
    }
    const proc_seen *item = proc_partner_find(pt, set, hash);
    if (item == NULL)
        return 0;
    if (cap < PROC_I64_CAP)
        return PROC_ENTRY_FAILED;
    return proc_fmt_i64((char *)buf, item->occurred_at);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* A decimal int64 as "%" PRId64 writes it: an optional '-', 1-19 digits, in range. */
static bool parse_time(const uint8_t *v, size_t len, int64_t *out)
{
    bool neg = len > 0 && v[0] == '-';
    size_t i = neg ? 1 : 0;
    uint64_t x = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (len == i || len - i > 19)
        return false;
    for (; i < len; i++) {
        if (v[i] < '0' || v[i] > '9' || x > (limit - (uint64_t)(v[i] - '0')) / 10)
            return false;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = neg ? (int64_t)(0 - x) : (int64_t)x;
    return true;
}

int proc_partner_load_entry(proc_partner *pt, const char *field, size_t field_len,
                            const uint8_t *val, size_t val_len)
{
    uint64_t hash = 0;
    if (field_len != PROC_FIELD_CAP - 1)
        return -1;
    for (int i = 1; i < 17; i++) {
        int d = hex_digit(field[i]);
        if (d < 0)
            return -1;
        hash = hash << 4 | (uint64_t)d;
    }
    if (field[0] == 'a') {
        proc_held_payout h;
        if (get_held(val, val_len, hash, &h) || proc_partner_held(pt, hash) != NULL ||
            proc_reserve((void **)&pt->held, &pt->cap_held, pt->n_held + 1, sizeof *pt->held))
            return -1;
        pt->held[pt->n_held++] = h;
        return 0;
    }
    if (field[0] == 's') {
        /* The record is parsed to check it, then only (hash, occurred_at) is kept. */
        proc_blob_reader r = {val, val + val_len, 0};
        int n = pt->n_sales;
        get_sale(&r, pt, hash);
        if (pt->n_sales == n)
            return -1;
        proc_sale_record rec = pt->sales[--pt->n_sales];
        pt->n_sale_payouts -= rec.n_payouts;
        if (r.p != r.end ||
            proc_reserve((void **)&pt->open, &pt->cap_open, pt->n_open + 1, sizeof *pt->open))
            return -1;
        pt->open[pt->n_open++] = (proc_seen){hash, rec.occurred_at};
        return 0;
    }
    proc_seen **set = field[0] == 'e' ? &pt->seen : field[0] == 'r' ? &pt->responses : NULL;
    int *n = field[0] == 'e' ? &pt->n_seen : &pt->n_responses;
    int *cap = field[0] == 'e' ? &pt->cap_seen : &pt->cap_responses;
    int64_t at;
    if (set == NULL || !parse_time(val, val_len, &at) ||
        proc_reserve((void **)set, cap, *n + 1, sizeof **set))
        return -1;
    (*set)[(*n)++] = (proc_seen){hash, at};
    return 0;
}

static int by_hash(const void *a, const void *b)
{
    uint64_t x = ((const proc_seen *)a)->hash, y = ((const proc_seen *)b)->hash;
    return x < y ? -1 : x > y;
}

/* Sorts a loaded set; @returns -1 when a hash repeats (the field names are unique, so
 * only a corrupt store can do that). */
static int sort_set(proc_seen *set, int n)
{
    if (n > 1)
        qsort(set, (size_t)n, sizeof *set, by_hash);
    for (int i = 1; i < n; i++)
        if (set[i].hash == set[i - 1].hash)
            return -1;
    return 0;
}

int proc_partner_load_done(proc_partner *pt)
{
    if (pt->n_sales == 0)
        proc_partner_forget_sales(pt);      /* checking the sale entries left capacity */
    pt->sorted_seen = pt->n_seen;
    pt->sorted_responses = pt->n_responses;
    pt->sorted_open = pt->n_open;
    return sort_set(pt->seen, pt->n_seen) || sort_set(pt->responses, pt->n_responses) ||
                   sort_set(pt->open, pt->n_open)
               ? -1
               : 0;
}

int proc_partner_load_sale(proc_partner *pt, uint64_t hash, const uint8_t *val, size_t len)
{
    proc_sale_payout *p;
    if (!proc_partner_sale_open(pt, hash))
        return -1;
    if (proc_partner_sale(pt, hash, &p) != NULL)
        return 0;
    proc_blob_reader r = {val, val + len, 0};
    int n = pt->n_sales;
    get_sale(&r, pt, hash);
    if (pt->n_sales == n)
        return -1;
    /* The record must be the one the index knows (same instant), or it is not ours. */
    const proc_seen *open = proc_partner_find(pt, PROC_SET_SALES, hash);
    if (r.p != r.end || pt->sales[n].occurred_at != open->occurred_at) {
        pt->n_sale_payouts -= pt->sales[n].n_payouts;
        pt->n_sales = n;
        return -1;
    }
    return 0;
}
