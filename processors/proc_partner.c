#include "proc_partner.h"

#include "proc_program.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOB_MAGIC 0x50u      /* 'P' */
#define BLOB_VERSION 1u

uint64_t proc_hash64(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void proc_partner_init(proc_partner *pt, const char *partner_id)
{
    memset(pt, 0, sizeof(*pt));
    if (partner_id)
        snprintf(pt->partner_id, sizeof pt->partner_id, "%s", partner_id);
}

void proc_partner_clear(proc_partner *pt)
{
    char id[PROC_STR_CAP];
    memcpy(id, pt->partner_id, sizeof id);
    free(pt->periods);
    free(pt->seen);
    free(pt->certs);
    proc_partner_init(pt, id);
}

/* Grows *arr to hold at least `need` items of `size` bytes. */
static int reserve(void **arr, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return 0;
    int n = *cap ? *cap * 2 : 4;
    while (n < need)
        n *= 2;
    void *p = realloc(*arr, (size_t)n * size);
    if (p == NULL)
        return -1;
    *arr = p;
    *cap = n;
    return 0;
}

int proc_partner_copy(proc_partner *dst, const proc_partner *src)
{
    proc_partner tmp = *src;
    tmp.periods = NULL;
    tmp.seen = NULL;
    tmp.certs = NULL;
    tmp.cap_periods = tmp.cap_seen = tmp.cap_certs = 0;
    if (reserve((void **)&tmp.periods, &tmp.cap_periods, src->n_periods, sizeof *tmp.periods) ||
        reserve((void **)&tmp.seen, &tmp.cap_seen, src->n_seen, sizeof *tmp.seen) ||
        reserve((void **)&tmp.certs, &tmp.cap_certs, src->n_certs, sizeof *tmp.certs)) {
        free(tmp.periods);
        free(tmp.seen);
        free(tmp.certs);
        return -1;
    }
    if (src->n_periods)
        memcpy(tmp.periods, src->periods, (size_t)src->n_periods * sizeof *tmp.periods);
    if (src->n_seen)
        memcpy(tmp.seen, src->seen, (size_t)src->n_seen * sizeof *tmp.seen);
    if (src->n_certs)
        memcpy(tmp.certs, src->certs, (size_t)src->n_certs * sizeof *tmp.certs);
    proc_partner_clear(dst);
    *dst = tmp;
    return 0;
}

proc_period_state *proc_partner_period(const proc_partner *pt, int32_t key)
{
    for (int i = pt->n_periods - 1; i >= 0; i--)   /* recent periods are the common case */
        if (pt->periods[i].key == key)
            return &pt->periods[i];
    return NULL;
}

const proc_period_state *proc_partner_latest(const proc_partner *pt)
{
    return pt->n_periods ? &pt->periods[pt->n_periods - 1] : NULL;
}

proc_period_state *proc_partner_add_period(proc_partner *pt, int32_t key)
{
    if (reserve((void **)&pt->periods, &pt->cap_periods, pt->n_periods + 1, sizeof *pt->periods))
        return NULL;
    int at = pt->n_periods;
    while (at > 0 && pt->periods[at - 1].key > key)
        at--;
    memmove(&pt->periods[at + 1], &pt->periods[at],
            (size_t)(pt->n_periods - at) * sizeof *pt->periods);
    pt->n_periods++;
    memset(&pt->periods[at], 0, sizeof pt->periods[at]);
    pt->periods[at].key = key;
    return &pt->periods[at];
}

/* @returns the index of the first element with hash >= h. */
static int seen_lower_bound(const proc_partner *pt, uint64_t h)
{
    int lo = 0, hi = pt->n_seen;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (pt->seen[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool proc_partner_seen(const proc_partner *pt, uint64_t hash)
{
    int i = seen_lower_bound(pt, hash);
    return i < pt->n_seen && pt->seen[i].hash == hash;
}

int proc_partner_remember(proc_partner *pt, uint64_t hash, int64_t occurred_at)
{
    int i = seen_lower_bound(pt, hash);
    if (i < pt->n_seen && pt->seen[i].hash == hash)
        return 0;
    if (reserve((void **)&pt->seen, &pt->cap_seen, pt->n_seen + 1, sizeof *pt->seen))
        return -1;
    memmove(&pt->seen[i + 1], &pt->seen[i], (size_t)(pt->n_seen - i) * sizeof *pt->seen);
    pt->seen[i].hash = hash;
    pt->seen[i].occurred_at = occurred_at;
    pt->n_seen++;
    return 0;
}

bool proc_partner_has_cert(const proc_partner *pt, uint64_t hash)
{
    for (int i = 0; i < pt->n_certs; i++)
        if (pt->certs[i] == hash)
            return true;
    return false;
}

int proc_partner_add_cert(proc_partner *pt, uint64_t hash)
{
    if (reserve((void **)&pt->certs, &pt->cap_certs, pt->n_certs + 1, sizeof *pt->certs))
        return -1;
    pt->certs[pt->n_certs++] = hash;
    return 0;
}

/* True when an event at `at` would now be LATE_EVENT: its period ended more than the
 * allowed lateness before the watermark (SPEC §6.9). */
static bool closed_at(const proc_partner *pt, const proc_program *prog, int64_t period_end)
{
    return period_end + (int64_t)prog->allowed_lateness_days * PROC_MS_PER_DAY < pt->watermark_ms;
}

void proc_partner_prune(proc_partner *pt, int64_t horizon_ms, const proc_program *prog)
{
    int keep = 0;
    for (int i = 0; i < pt->n_seen; i++) {
        const proc_seen *s = &pt->seen[i];
        int32_t key = proc_period_key(prog->period, s->occurred_at);
        if (s->occurred_at >= pt->latest_seen_ms - horizon_ms ||
            !closed_at(pt, prog, proc_period_end_ms(prog->period, key)))
            pt->seen[keep++] = *s;
    }
    pt->n_seen = keep;

    int drop = 0;
    while (drop < pt->n_periods - 1 &&
           closed_at(pt, prog, proc_period_end_ms(prog->period, pt->periods[drop].key + 1)))
        drop++;
    if (drop) {
        memmove(pt->periods, &pt->periods[drop],
                (size_t)(pt->n_periods - drop) * sizeof *pt->periods);
        pt->n_periods -= drop;
    }
}

/* ---- blob encoding: varints, zigzag for signed values ------------------------------ */

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    int failed;
} writer;

static void put_byte(writer *w, uint8_t b)
{
    if (w->failed)
        return;
    if (w->len == w->cap) {
        size_t n = w->cap ? w->cap * 2 : 256;
        uint8_t *p = realloc(w->buf, n);
        if (p == NULL) {
            w->failed = 1;
            return;
        }
        w->buf = p;
        w->cap = n;
    }
    w->buf[w->len++] = b;
}

static void put_u64(writer *w, uint64_t v)
{
    while (v >= 0x80) {
        put_byte(w, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    put_byte(w, (uint8_t)v);
}

static void put_i64(writer *w, int64_t v)
{
    put_u64(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void put_str(writer *w, const char *s)
{
    size_t n = strlen(s);
    put_u64(w, n);
    for (size_t i = 0; i < n; i++)
        put_byte(w, (uint8_t)s[i]);
}

static void put_period(writer *w, const proc_period_state *p)
{
    put_i64(w, p->key);
    put_i64(w, p->reached_tier);
    put_i64(w, p->held_tier);
    put_u64(w, p->flags);
    put_u64(w, p->near_alerted);
    put_i64(w, p->revenue_minor);
    put_i64(w, p->certifications);
    put_i64(w, p->deals_won);
    put_i64(w, p->cash_minor);
    put_i64(w, p->payouts_minor);
    put_i64(w, p->enps_responses);
    put_i64(w, p->enps_promoters);
    put_i64(w, p->enps_passives);
    put_i64(w, p->enps_detractors);
}

int proc_partner_encode(const proc_partner *pt, uint8_t **out, size_t *out_len)
{
    writer w = {0};
    put_byte(&w, BLOB_MAGIC);
    put_byte(&w, BLOB_VERSION);
    put_u64(&w, pt->enrolled);
    put_str(&w, pt->program_id);
    put_str(&w, pt->region);
    put_i64(&w, pt->watermark_ms);
    put_i64(&w, pt->latest_seen_ms);
    put_i64(&w, pt->certifications_total);
    put_u64(&w, (uint64_t)pt->n_periods);
    for (int i = 0; i < pt->n_periods; i++)
        put_period(&w, &pt->periods[i]);
    put_u64(&w, (uint64_t)pt->n_seen);
    for (int i = 0; i < pt->n_seen; i++) {
        put_u64(&w, pt->seen[i].hash);
        put_i64(&w, pt->seen[i].occurred_at);
    }
    put_u64(&w, (uint64_t)pt->n_certs);
    for (int i = 0; i < pt->n_certs; i++)
        put_u64(&w, pt->certs[i]);
    if (w.failed) {
        free(w.buf);
        return -1;
    }
    *out = w.buf;
    *out_len = w.len;
    return 0;
}

typedef struct {
    const uint8_t *p, *end;
    int failed;
} reader;

static uint64_t get_u64(reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->failed = 1;
            return 0;
        }
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->failed = 1;
    return 0;
}

static int64_t get_i64(reader *r)
{
    uint64_t u = get_u64(r);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static void get_str(reader *r, char *dst, size_t cap)
{
    uint64_t n = get_u64(r);
    if (r->failed || n >= cap || n > (uint64_t)(r->end - r->p)) {
        r->failed = 1;
        dst[0] = '\0';
        return;
    }
    memcpy(dst, r->p, n);
    dst[n] = '\0';
    r->p += n;
}

/* Reads a count and makes room for it; fails on counts larger than the input could hold. */
static int get_count(reader *r, void **arr, int *cap, size_t size)
{
    uint64_t n = get_u64(r);
    if (r->failed || n > (uint64_t)(r->end - r->p) || n > INT32_MAX ||
        reserve(arr, cap, (int)n, size)) {
        r->failed = 1;
        return 0;
    }
    return (int)n;
}

int proc_partner_decode(proc_partner *pt, const uint8_t *buf, size_t len)
{
    reader r = {buf, buf + len, 0};
    proc_partner_clear(pt);
    if (len < 2 || buf[0] != BLOB_MAGIC || buf[1] != BLOB_VERSION)
        return -1;
    r.p += 2;
    pt->enrolled = get_u64(&r) != 0;
    get_str(&r, pt->program_id, sizeof pt->program_id);
    get_str(&r, pt->region, sizeof pt->region);
    pt->watermark_ms = get_i64(&r);
    pt->latest_seen_ms = get_i64(&r);
    pt->certifications_total = (int32_t)get_i64(&r);
    pt->n_periods = get_count(&r, (void **)&pt->periods, &pt->cap_periods, sizeof *pt->periods);
    for (int i = 0; i < pt->n_periods && !r.failed; i++) {
        proc_period_state *p = &pt->periods[i];
        p->key = (int32_t)get_i64(&r);
        p->reached_tier = (int32_t)get_i64(&r);
        p->held_tier = (int32_t)get_i64(&r);
        p->flags = (uint32_t)get_u64(&r);
        p->near_alerted = (uint32_t)get_u64(&r);
        p->revenue_minor = get_i64(&r);
        p->certifications = (int32_t)get_i64(&r);
        p->deals_won = (int32_t)get_i64(&r);
        p->cash_minor = get_i64(&r);
        p->payouts_minor = get_i64(&r);
        p->enps_responses = (int32_t)get_i64(&r);
        p->enps_promoters = (int32_t)get_i64(&r);
        p->enps_passives = (int32_t)get_i64(&r);
        p->enps_detractors = (int32_t)get_i64(&r);
    }
    if (!r.failed)
        pt->n_seen = get_count(&r, (void **)&pt->seen, &pt->cap_seen, sizeof *pt->seen);
    for (int i = 0; i < pt->n_seen && !r.failed; i++) {
        pt->seen[i].hash = get_u64(&r);
        pt->seen[i].occurred_at = get_i64(&r);
    }
    if (!r.failed)
        pt->n_certs = get_count(&r, (void **)&pt->certs, &pt->cap_certs, sizeof *pt->certs);
    for (int i = 0; i < pt->n_certs && !r.failed; i++)
        pt->certs[i] = get_u64(&r);
    /* The lookups rely on sorted arrays and the rules index tier tables with these. */
    for (int i = 0; i < pt->n_periods && !r.failed; i++)
        r.failed = pt->periods[i].reached_tier < 0 || pt->periods[i].held_tier < 0 ||
                   pt->periods[i].reached_tier >= 32 || pt->periods[i].held_tier >= 32 ||
                   (i > 0 && pt->periods[i].key <= pt->periods[i - 1].key);
    for (int i = 1; i < pt->n_seen && !r.failed; i++)
        r.failed = pt->seen[i].hash <= pt->seen[i - 1].hash;
    if (r.failed || r.p != r.end) {
        proc_partner_clear(pt);
        return -1;
    }
    return 0;
}
