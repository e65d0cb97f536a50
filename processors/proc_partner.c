#include "proc_partner.h"

#include "proc_blob.h"
#include "proc_program.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FNV_OFFSET 1469598103934665603ULL
#define FNV_PRIME 1099511628211ULL

static uint64_t fnv_more(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= FNV_PRIME;
    }
    return h;
}

uint64_t proc_hash64(const char *s)
{
    return fnv_more(FNV_OFFSET, s);
}

uint64_t proc_hash64_pair(const char *a, const char *b)
{
    uint64_t h = fnv_more(FNV_OFFSET, a);
    h = (h ^ 0x1f) * FNV_PRIME;
    return fnv_more(h, b);
}

static const char EMPTY[] = "";

int proc_partner_init(proc_partner *pt, const char *partner_id)
{
    memset(pt, 0, sizeof(*pt));
    pt->partner_id = pt->program_id = pt->region = EMPTY;
    return partner_id ? proc_partner_set_strings(pt, partner_id, EMPTY, EMPTY) : 0;
}

static size_t cut_len(const char *s)
{
    size_t n = 0;
    while (n < PROC_STR_MAX && s[n])
        n++;
    return n;
}

int proc_partner_set_strings(proc_partner *pt, const char *partner_id, const char *program_id,
                             const char *region)
{
    size_t a = cut_len(partner_id), b = cut_len(program_id), c = cut_len(region);
    char *blk = malloc(a + b + c + 3);
    if (blk == NULL)
        return -1;
    memcpy(blk, partner_id, a);
    blk[a] = '\0';
    memcpy(blk + a + 1, program_id, b);
    blk[a + 1 + b] = '\0';
    memcpy(blk + a + b + 2, region, c);
    blk[a + b + 2 + c] = '\0';
    free(pt->strs);                          /* after the copies: the inputs may live in it */
    pt->strs = blk;
    pt->partner_id = blk;
    pt->program_id = blk + a + 1;
    pt->region = blk + a + b + 2;
    return 0;
}

/* Frees every array; the strings are left to the caller. */
static void free_arrays(proc_partner *pt)
{
    free(pt->periods);
    free(pt->seen);
    free(pt->certs);
    free(pt->open);
    free(pt->sales);
    free(pt->sale_payouts);
    free(pt->responses);
    free(pt->pulse);
    free(pt->held);
    free(pt->changes);
}

void proc_partner_reset(proc_partner *pt)
{
    char *strs = pt->strs;
    const char *id = pt->partner_id;
    free_arrays(pt);
    proc_partner_init(pt, NULL);
    /* Keep the id: the block holds it first, so program and region become "" in place. */
    pt->strs = strs;
    pt->partner_id = strs ? id : EMPTY;
}

void proc_partner_clear(proc_partner *pt)
{
    free_arrays(pt);
    free(pt->strs);
    proc_partner_init(pt, NULL);
}

/* Copies n items of src into a new array *dst (left NULL when n is 0). */
static int dup_array(void **dst, int *cap, const void *src, int n, size_t size)
{
    *dst = NULL;
    *cap = 0;
    if (n == 0)
        return 0;
    if (proc_reserve(dst, cap, n, size))
        return -1;
    memcpy(*dst, src, (size_t)n * size);
    return 0;
}

int proc_partner_copy(proc_partner *dst, const proc_partner *src)
{
    proc_partner tmp = *src;
    int rc = -1;

    /* Every array pointer is replaced before the first allocation can fail, so the
     * cleanup below never frees src's arrays. */
    tmp.periods = NULL;
    tmp.seen = NULL;
    tmp.certs = NULL;
    tmp.open = NULL;
    tmp.sales = NULL;
    tmp.sale_payouts = NULL;
    tmp.responses = NULL;
    tmp.pulse = NULL;
    tmp.held = NULL;
    tmp.changes = NULL;
    tmp.strs = NULL;
    tmp.partner_id = tmp.program_id = tmp.region = EMPTY;
    if (proc_partner_set_strings(&tmp, src->partner_id, src->program_id, src->region) ||
        dup_array((void **)&tmp.periods, &tmp.cap_periods, src->periods, src->n_periods,
                  sizeof *tmp.periods) ||
        dup_array((void **)&tmp.seen, &tmp.cap_seen, src->seen, src->n_seen, sizeof *tmp.seen) ||
        dup_array((void **)&tmp.certs, &tmp.cap_certs, src->certs, src->n_certs,
                  sizeof *tmp.certs) ||
        dup_array((void **)&tmp.open, &tmp.cap_open, src->open, src->n_open,
                  sizeof *tmp.open) ||
        dup_array((void **)&tmp.sales, &tmp.cap_sales, src->sales, src->n_sales,
                  sizeof *tmp.sales) ||
        dup_array((void **)&tmp.sale_payouts, &tmp.cap_sale_payouts, src->sale_payouts,
                  src->n_sale_payouts, sizeof *tmp.sale_payouts) ||
        dup_array((void **)&tmp.responses, &tmp.cap_responses, src->responses,
                  src->n_responses, sizeof *tmp.responses) ||
        dup_array((void **)&tmp.pulse, &tmp.cap_pulse, src->pulse, src->n_pulse,
                  sizeof *tmp.pulse) ||
        dup_array((void **)&tmp.held, &tmp.cap_held, src->held, src->n_held,
                  sizeof *tmp.held) ||
        dup_array((void **)&tmp.changes, &tmp.cap_changes, src->changes, src->n_changes,
                  sizeof *tmp.changes))
        goto done;
    proc_partner_clear(dst);
    *dst = tmp;
    proc_partner_init(&tmp, NULL);           /* dst owns the arrays now */
    rc = 0;
done:
    proc_partner_clear(&tmp);
    return rc;
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
    if (proc_reserve((void **)&pt->periods, &pt->cap_periods, pt->n_periods + 1,
                     sizeof *pt->periods))
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

/* ---- the journal ------------------------------------------------------------------ */

/* Notes a changed entry (not needed while the whole partner is to be rewritten).
 * @returns 0 or -1 (ENOMEM: the caller fails, and the worker drops the partner). */
static int journal(proc_partner *pt, proc_entry_set set, uint64_t hash)
{
    if (pt->rewrite)
        return 0;
    if (proc_reserve((void **)&pt->changes, &pt->cap_changes, pt->n_changes + 1,
                     sizeof *pt->changes))
        return -1;
    pt->changes[pt->n_changes++] = (proc_change){hash, (int32_t)set};
    return 0;
}

int proc_partner_sale_changed(proc_partner *pt, uint64_t hash)
{
    return journal(pt, PROC_SET_SALES, hash);
}

void proc_partner_journal_reset(proc_partner *pt)
{
    /* Freed, not kept for the next batch: most cached partners are idle, and an idle
     * partner should cost only what it remembers. */
    free(pt->changes);
    pt->changes = NULL;
    pt->n_changes = pt->cap_changes = 0;
    pt->rewrite = false;
}

/* ---- hash sets (event ids, survey answers, open sales) ----------------------------- */

/* A set is a sorted prefix [0, sorted) and an unsorted tail [sorted, n) of at most
 * TAIL_MAX items. An insert appends to the tail; a full tail is sorted and merged into
 * the prefix. So an insert into a busy partner's set of n ids moves n / TAIL_MAX items
 * on average instead of n / 2, and a lookup is a binary search plus a short scan. */
#define TAIL_MAX 64

static int by_seen_hash(const void *a, const void *b)
{
    uint64_t x = ((const proc_seen *)a)->hash, y = ((const proc_seen *)b)->hash;
    return x < y ? -1 : x > y;
}

/* @returns the index of h in the set, or -1. */
static int set_find(const proc_seen *set, int n, int sorted, uint64_t h)
{
    int lo = 0, hi = sorted;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (set[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < sorted && set[lo].hash == h)
        return lo;
    for (int i = sorted; i < n; i++)
        if (set[i].hash == h)
            return i;
    return -1;
}

/* Sorts the tail and merges it into the prefix, from the back, in place. */
static void set_merge(proc_seen *set, int n, int *sorted)
{
    proc_seen tail[TAIL_MAX];
    int t = n - *sorted, i = *sorted - 1, j = t - 1, k = n - 1;
    if (t <= 0)
        return;
    memcpy(tail, &set[*sorted], (size_t)t * sizeof *tail);
    qsort(tail, (size_t)t, sizeof *tail, by_seen_hash);
    while (j >= 0) {
        if (i >= 0 && set[i].hash > tail[j].hash)
            set[k--] = set[i--];
        else
            set[k--] = tail[j--];
    }
    *sorted = n;
}

/* @returns 1 when h was added, 0 when it was there, -1 on ENOMEM. */
static int set_add(proc_seen **set, int *n, int *cap, int *sorted, uint64_t h,
                   int64_t occurred_at)
{
    if (set_find(*set, *n, *sorted, h) >= 0)
        return 0;
    if (proc_reserve((void **)set, cap, *n + 1, sizeof **set))
        return -1;
    (*set)[(*n)++] = (proc_seen){h, occurred_at};
    if (*n - *sorted >= TAIL_MAX)
        set_merge(*set, *n, sorted);
    return 1;
}

/* Keeps the items for which keep(item) is true, in order: the prefix stays sorted. */
#define SET_FILTER(set, n, sorted, item, keep_expr, on_drop) \
    do {                                                     \
        int kept_ = 0, kept_sorted_ = 0;                     \
        for (int i_ = 0; i_ < (n); i_++) {                   \
            const proc_seen item = (set)[i_];                \
            if (keep_expr) {                                 \
                (set)[kept_++] = item;                       \
                kept_sorted_ += i_ < (sorted);               \
            } else {                                         \
                on_drop;                                     \
            }                                                \
        }                                                    \
        (n) = kept_;                                         \
        (sorted) = kept_sorted_;                             \
    } while (0)

const proc_seen *proc_partner_find(const proc_partner *pt, proc_entry_set set, uint64_t hash)
{
    int i;
    switch (set) {
    case PROC_SET_SEEN:
        i = set_find(pt->seen, pt->n_seen, pt->sorted_seen, hash);
        return i < 0 ? NULL : &pt->seen[i];
    case PROC_SET_RESPONSES:
        i = set_find(pt->responses, pt->n_responses, pt->sorted_responses, hash);
        return i < 0 ? NULL : &pt->responses[i];
    default:
        i = set_find(pt->open, pt->n_open, pt->sorted_open, hash);
        return i < 0 ? NULL : &pt->open[i];
    }
}

void proc_partner_settle(proc_partner *pt)
{
    set_merge(pt->seen, pt->n_seen, &pt->sorted_seen);
    set_merge(pt->responses, pt->n_responses, &pt->sorted_responses);
    set_merge(pt->open, pt->n_open, &pt->sorted_open);
}

bool proc_partner_seen(const proc_partner *pt, uint64_t hash)
{
    return proc_partner_find(pt, PROC_SET_SEEN, hash) != NULL;
}

int proc_partner_remember(proc_partner *pt, uint64_t hash, int64_t occurred_at)
{
    int r = set_add(&pt->seen, &pt->n_seen, &pt->cap_seen, &pt->sorted_seen, hash, occurred_at);
    return r < 0 ? -1 : r ? journal(pt, PROC_SET_SEEN, hash) : 0;
}

bool proc_partner_responded(const proc_partner *pt, uint64_t hash)
{
    return proc_partner_find(pt, PROC_SET_RESPONSES, hash) != NULL;
}

int proc_partner_add_response(proc_partner *pt, uint64_t hash, int64_t occurred_at)
{
    int r = set_add(&pt->responses, &pt->n_responses, &pt->cap_responses, &pt->sorted_responses,
                    hash, occurred_at);
    return r < 0 ? -1 : r ? journal(pt, PROC_SET_RESPONSES, hash) : 0;
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
    if (proc_reserve((void **)&pt->certs, &pt->cap_certs, pt->n_certs + 1, sizeof *pt->certs))
        return -1;
    pt->certs[pt->n_certs++] = hash;
    return 0;
}

/* ---- sale records ------------------------------------------------------------------ */

proc_sale_record *proc_partner_sale(const proc_partner *pt, uint64_t hash,
                                    proc_sale_payout **payouts)
{
    /* From the newest: recent sales are returned most. Returns are rare next to sales,
     * so a scan here keeps appending a sale O(1). */
    int end = pt->n_sale_payouts;
    for (int i = pt->n_sales - 1; i >= 0; i--) {
        end -= pt->sales[i].n_payouts;
        if (pt->sales[i].hash == hash) {
            *payouts = &pt->sale_payouts[end];
            return &pt->sales[i];
        }
    }
    *payouts = NULL;
    return NULL;
}

bool proc_partner_sale_open(const proc_partner *pt, uint64_t hash)
{
    return proc_partner_find(pt, PROC_SET_SALES, hash) != NULL;
}

int proc_partner_add_sale(proc_partner *pt, const proc_sale_record *rec,
                          const proc_sale_payout *payouts)
{
    if (set_add(&pt->open, &pt->n_open, &pt->cap_open, &pt->sorted_open, rec->hash,
                rec->occurred_at) < 0 ||
        proc_reserve((void **)&pt->sales, &pt->cap_sales, pt->n_sales + 1, sizeof *pt->sales) ||
        proc_reserve((void **)&pt->sale_payouts, &pt->cap_sale_payouts,
                     pt->n_sale_payouts + rec->n_payouts, sizeof *pt->sale_payouts))
        return -1;
    if (rec->n_payouts)
        memcpy(&pt->sale_payouts[pt->n_sale_payouts], payouts,
               (size_t)rec->n_payouts * sizeof *payouts);
    pt->n_sale_payouts += rec->n_payouts;
    pt->sales[pt->n_sales++] = *rec;
    return journal(pt, PROC_SET_SALES, rec->hash);
}

/* ---- payouts held for approval ----------------------------------------------------- */

proc_held_payout *proc_partner_held(const proc_partner *pt, uint64_t hash)
{
    for (int i = pt->n_held - 1; i >= 0; i--)
        if (pt->held[i].hash == hash)
            return &pt->held[i];
    return NULL;
}

int proc_partner_add_held(proc_partner *pt, const proc_held_payout *h)
{
    if (proc_reserve((void **)&pt->held, &pt->cap_held, pt->n_held + 1, sizeof *pt->held))
        return -1;
    pt->held[pt->n_held++] = *h;
    return journal(pt, PROC_SET_HELD, h->hash);
}

int proc_partner_held_changed(proc_partner *pt, uint64_t hash)
{
    return journal(pt, PROC_SET_HELD, hash);
}

/* ---- PULSE statistics -------------------------------------------------------------- */

proc_pulse_stat *proc_partner_pulse(const proc_partner *pt, int32_t period_key, uint64_t question)
{
    for (int i = 0; i < pt->n_pulse; i++)
        if (pt->pulse[i].period_key == period_key && pt->pulse[i].question == question)
            return &pt->pulse[i];
    return NULL;
}

proc_pulse_stat *proc_partner_add_pulse(proc_partner *pt, int32_t period_key, uint64_t question)
{
    if (proc_reserve((void **)&pt->pulse, &pt->cap_pulse, pt->n_pulse + 1, sizeof *pt->pulse))
        return NULL;
    proc_pulse_stat *s = &pt->pulse[pt->n_pulse++];
    memset(s, 0, sizeof *s);
    s->period_key = period_key;
    s->question = question;
    return s;
}

/* ---- pruning ----------------------------------------------------------------------- */

/* True when an event at `at` would now be LATE_EVENT: its period ended more than the
 * allowed lateness before the watermark (CONTRACT §6.9). */
static bool closed_at(const proc_partner *pt, const proc_program *prog, int64_t period_end)
{
    return period_end + (int64_t)prog->allowed_lateness_days * PROC_MS_PER_DAY < pt->watermark_ms;
}

/* The first instant of the oldest period still open to late events: periods are
 * contiguous, so an instant is in a closed period exactly when it is before this. One
 * calendar computation per prune instead of one per remembered id. */
static int64_t open_from_ms(const proc_partner *pt, const proc_program *prog)
{
    int64_t lateness = (int64_t)prog->allowed_lateness_days * PROC_MS_PER_DAY;
    int32_t key = proc_period_key(prog->period, pt->watermark_ms - lateness);
    while (!closed_at(pt, prog, proc_period_end_ms(prog->period, key - 1)))
        key--;                                  /* at most once: the edge is inclusive */
    return proc_period_start_ms(prog->period, key);
}

static int prune_set(proc_partner *pt, proc_entry_set which, proc_seen *set, int *n,
                     int *sorted, int64_t horizon_ms, int64_t open_from)
{
    int rc = 0;
    int64_t recent = pt->latest_seen_ms - horizon_ms;
    SET_FILTER(set, *n, *sorted, it, it.occurred_at >= recent || it.occurred_at >= open_from,
               rc |= journal(pt, which, it.hash));
    return rc;
}

static int prune_sales(proc_partner *pt, const proc_program *prog, int64_t open_from)
{
    int64_t window = (int64_t)prog->return_window_days * PROC_MS_PER_DAY;
    int keep = 0, from = 0, to = 0, rc = 0;
    SET_FILTER(pt->open, pt->n_open, pt->sorted_open, it, it.occurred_at + window >= open_from,
               rc |= journal(pt, PROC_SET_SALES, it.hash));
    for (int i = 0; i < pt->n_sales; i++) {
        proc_sale_record rec = pt->sales[i];
        if (rec.occurred_at + window >= open_from) {
            memmove(&pt->sale_payouts[to], &pt->sale_payouts[from],
                    (size_t)rec.n_payouts * sizeof *pt->sale_payouts);
            to += rec.n_payouts;
            pt->sales[keep++] = rec;
        }
        from += rec.n_payouts;
    }
    pt->n_sales = keep;
    pt->n_sale_payouts = to;
    return rc;
}

/* A decided held payout goes when a sale of its instant would (prune_sales): no return
 * can name the sale it came from any more. A pending one waits for its decision. */
static int prune_held(proc_partner *pt, const proc_program *prog, int64_t open_from)
{
    int64_t window = (int64_t)prog->return_window_days * PROC_MS_PER_DAY;
    int keep = 0, rc = 0;
    for (int i = 0; i < pt->n_held; i++) {
        const proc_held_payout *h = &pt->held[i];
        if (h->state == PROC_HELD_PENDING || h->occurred_at + window >= open_from) {
            if (keep != i)
                pt->held[keep] = *h;
            keep++;
        } else {
            rc |= journal(pt, PROC_SET_HELD, h->hash);
        }
    }
    pt->n_held = keep;
    return rc;
}

void proc_partner_forget_sales(proc_partner *pt)
{
    /* Freed, not just emptied: a busy batch may have loaded many. */
    free(pt->sales);
    free(pt->sale_payouts);
    pt->sales = NULL;
    pt->sale_payouts = NULL;
    pt->n_sales = pt->cap_sales = 0;
    pt->n_sale_payouts = pt->cap_sale_payouts = 0;
}

int proc_partner_prune(proc_partner *pt, int64_t horizon_ms, const proc_program *prog)
{
    int64_t open_from = open_from_ms(pt, prog);
    int rc = prune_set(pt, PROC_SET_SEEN, pt->seen, &pt->n_seen, &pt->sorted_seen, horizon_ms,
                       open_from) |
             prune_set(pt, PROC_SET_RESPONSES, pt->responses, &pt->n_responses,
                       &pt->sorted_responses, horizon_ms, open_from) |
             prune_sales(pt, prog, open_from) | prune_held(pt, prog, open_from);

    int drop = 0;
    while (drop < pt->n_periods - 1 &&
           closed_at(pt, prog, proc_period_end_ms(prog->period, pt->periods[drop].key + 1)))
        drop++;
    if (drop) {
        memmove(pt->periods, &pt->periods[drop],
                (size_t)(pt->n_periods - drop) * sizeof *pt->periods);
        pt->n_periods -= drop;
    }

    int keep = 0;
    for (int i = 0; i < pt->n_pulse; i++)
        if (proc_partner_period(pt, pt->pulse[i].period_key) != NULL)
            pt->pulse[keep++] = pt->pulse[i];
    pt->n_pulse = keep;
    return rc;
}
