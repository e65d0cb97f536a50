/*
 * The partner blob: what the worker stores in Redis for one partner.
 *
 * Format (version 2): magic 'P', version, then varints (zigzag for signed values) in the
 * order of proc_partner's fields: enrolled, program_id, region, watermark, latest seen,
 * certifications; the periods; the remembered event ids (hash, occurred_at); the
 * certification hashes; the sale records, each followed by its payouts (kind, amount,
 * payout_id); the counted survey answers (hash, occurred_at); the PULSE statistics.
 * Version 1 had no sales, answers or PULSE statistics; no version-1 data was ever
 * deployed, so the decoder refuses it rather than carrying a migration.
 */
#include "proc_partner.h"

#include <stdlib.h>

#include "proc_blob.h"

#define BLOB_MAGIC 0x50u      /* 'P' */
#define BLOB_VERSION 2u

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

static void put_set(proc_blob_writer *w, const proc_seen *set, int n)
{
    proc_blob_put_u64(w, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        proc_blob_put_u64(w, set[i].hash);
        proc_blob_put_i64(w, set[i].occurred_at);
    }
}

static void put_sales(proc_blob_writer *w, const proc_partner *pt)
{
    const proc_sale_payout *p = pt->sale_payouts;
    proc_blob_put_u64(w, (uint64_t)pt->n_sales);
    for (int i = 0; i < pt->n_sales; i++) {
        const proc_sale_record *s = &pt->sales[i];
        proc_blob_put_u64(w, s->hash);
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
    put_set(&w, pt->seen, pt->n_seen);
    proc_blob_put_u64(&w, (uint64_t)pt->n_certs);
    for (int i = 0; i < pt->n_certs; i++)
        proc_blob_put_u64(&w, pt->certs[i]);
    put_sales(&w, pt);
    put_set(&w, pt->responses, pt->n_responses);
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

static void get_sales(proc_blob_reader *r, proc_partner *pt)
{
    int n = proc_blob_get_count(r, (void **)&pt->sales, &pt->cap_sales, 0, sizeof *pt->sales);
    for (int i = 0; i < n && !r->failed; i++) {
        proc_sale_record *s = &pt->sales[i];
        s->hash = proc_blob_get_u64(r);
        s->occurred_at = proc_blob_get_i64(r);
        s->amount_minor = proc_blob_get_i64(r);
        s->returned_minor = proc_blob_get_i64(r);
        s->n_payouts = proc_blob_get_count(r, (void **)&pt->sale_payouts, &pt->cap_sale_payouts,
                                           pt->n_sale_payouts, sizeof *pt->sale_payouts);
        /* A return divides by the amount and may claw back at most what is left. */
        r->failed |= s->amount_minor <= 0 || s->returned_minor < 0 ||
                     s->returned_minor > s->amount_minor;
        for (int k = 0; k < s->n_payouts && !r->failed; k++) {
            proc_sale_payout *p = &pt->sale_payouts[pt->n_sale_payouts++];
            uint64_t kind = proc_blob_get_u64(r);
            p->kind = kind < PROC_PAYOUT_KIND_COUNT ? (proc_payout_kind)kind : PROC_PAYOUT_REBATE;
            p->amount_minor = proc_blob_get_i64(r);
            proc_blob_get_str(r, p->payout_id, sizeof p->payout_id);
            r->failed |= kind >= PROC_PAYOUT_KIND_COUNT;
        }
        pt->n_sales = i + 1;
    }
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
    proc_partner_clear(pt);
    if (len < 2 || buf[0] != BLOB_MAGIC || buf[1] != BLOB_VERSION)
        return -1;
    r.p += 2;
    pt->enrolled = proc_blob_get_u64(&r) != 0;
    proc_blob_get_str(&r, pt->program_id, sizeof pt->program_id);
    proc_blob_get_str(&r, pt->region, sizeof pt->region);
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
    pt->n_seen = get_set(&r, &pt->seen, &pt->cap_seen);
    pt->n_certs = proc_blob_get_count(&r, (void **)&pt->certs, &pt->cap_certs, 0, sizeof *pt->certs);
    for (int i = 0; i < pt->n_certs && !r.failed; i++)
        pt->certs[i] = proc_blob_get_u64(&r);
    get_sales(&r, pt);
    pt->n_responses = get_set(&r, &pt->responses, &pt->cap_responses);
    get_pulse(&r, pt);

    if (r.failed || r.p != r.end) {
        proc_partner_clear(pt);
        return -1;
    }
    return 0;
}
