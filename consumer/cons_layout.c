#include "cons_layout.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc_engine.h"
#include "proc_text.h"

void cons_layout_state_key(char *key, size_t cap, const char *ns, const char *partner_id)
{
    proc_concat(key, cap, ns, ":state:", partner_id, (char *)NULL);
}

/* The writes of a partner's state hash: one HSET of the core and the entries present,
 * one HDEL of those gone. Fields and values live in one arena; the pointer arrays are
 * built once the arena stops moving. */
typedef struct {
    int n_put, n_del, cap;
    proc_change *put, *del;
    uint8_t *arena;
    size_t arena_len, arena_cap;
    size_t *val_off, *val_len;
} entry_writes;

static void entry_writes_free(entry_writes *w)
{
    free(w->put);
    free(w->del);
    free(w->arena);
    free(w->val_off);
    free(w->val_len);
}

/* The journal without repeats, in (set, hash) order: sorting makes the writes of a batch
 * independent of the order its events changed things in. */
static int by_change(const void *a, const void *b)
{
    const proc_change *x = a, *y = b;
    if (x->set != y->set)
        return x->set < y->set ? -1 : 1;
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/* Every entry of a set as a change, for a whole rewrite. */
static int all_entries(const proc_partner *pt, proc_change **out, int *n)
{
    int total = pt->n_seen + pt->n_responses + pt->n_open + pt->n_held, k = 0;
    *out = malloc((size_t)(total ? total : 1) * sizeof **out);
    if (*out == NULL)
        return -1;
    for (int i = 0; i < pt->n_seen; i++)
        (*out)[k++] = (proc_change){pt->seen[i].hash, PROC_SET_SEEN};
    for (int i = 0; i < pt->n_responses; i++)
        (*out)[k++] = (proc_change){pt->responses[i].hash, PROC_SET_RESPONSES};
    for (int i = 0; i < pt->n_open; i++)
        (*out)[k++] = (proc_change){pt->open[i].hash, PROC_SET_SALES};
    for (int i = 0; i < pt->n_held; i++)
        (*out)[k++] = (proc_change){pt->held[i].hash, PROC_SET_HELD};
    *n = k;
    return 0;
}

static bool arena_add(entry_writes *w, const uint8_t *val, size_t len)
{
    if (w->arena_len + len > w->arena_cap) {
        size_t cap = w->arena_cap ? w->arena_cap : 4096;
        while (cap < w->arena_len + len)
            cap *= 2;
        uint8_t *a = realloc(w->arena, cap);
        if (a == NULL)
            return false;
        w->arena = a;
        w->arena_cap = cap;
    }
    memcpy(w->arena + w->arena_len, val, len);
    w->val_off[w->n_put] = w->arena_len;
    w->val_len[w->n_put] = len;
    w->arena_len += len;
    return true;
}

/* Splits the changes into puts (with their values) and deletes; put 0 is the core blob. */
static int classify(const proc_partner *pt, const uint8_t *core, size_t core_len,
                    const proc_change *c, int n, entry_writes *w)
{
    uint8_t val[PROC_ENTRY_MAX];
    w->put = malloc((size_t)(n + 1) * sizeof *w->put);
    w->del = malloc((size_t)(n + 1) * sizeof *w->del);
    w->val_off = malloc((size_t)(n + 1) * sizeof *w->val_off);
    w->val_len = malloc((size_t)(n + 1) * sizeof *w->val_len);
    if (!w->put || !w->del || !w->val_off || !w->val_len || !arena_add(w, core, core_len))
        return -1;
    w->put[w->n_put++] = (proc_change){0, -1};           /* the core */
    for (int i = 0; i < n; i++) {
        if (i > 0 && c[i].set == c[i - 1].set && c[i].hash == c[i - 1].hash)
            continue;
        size_t len = proc_partner_entry(pt, (proc_entry_set)c[i].set, c[i].hash, val, sizeof val);
        if (len == PROC_ENTRY_NOT_LOADED || len == PROC_ENTRY_FAILED)
            return -1;                /* a bug (not loaded) or ENOMEM: never a delete */
        if (len == 0) {
            w->del[w->n_del++] = c[i];
        } else {
            if (!arena_add(w, val, len))
                return -1;
            w->put[w->n_put++] = c[i];
        }
    }
    return 0;
}

/* The field of put or delete `c`: the core's, or the entry's. */
static void field_of(const proc_change *c, char field[PROC_FIELD_CAP])
{
    if (c->set < 0)
        snprintf(field, PROC_FIELD_CAP, "%s", CONS_LAYOUT_CORE_FIELD);
    else
        proc_partner_field((proc_entry_set)c->set, c->hash, field);
}

/* The HSET and HDEL of one key, from classify's lists. */
static int write_entries(cons_ledger_batch *b, const char *key, const entry_writes *w)
{
    int n = w->n_put > w->n_del ? w->n_put : w->n_del, rc = -1;
    char (*fields)[PROC_FIELD_CAP] = malloc((size_t)(n ? n : 1) * sizeof *fields);
    const char **fp = malloc((size_t)(n ? n : 1) * sizeof *fp);
    const void **vp = malloc((size_t)(n ? n : 1) * sizeof *vp);
    if (fields == NULL || fp == NULL || vp == NULL)
        goto done;
    for (int i = 0; i < w->n_put; i++) {
        field_of(&w->put[i], fields[i]);
        fp[i] = fields[i];
        vp[i] = w->arena + w->val_off[i];
    }
    if (w->n_put && cons_ledger_batch_hset_bin(b, key, w->n_put, fp, vp, w->val_len))
        goto done;
    for (int i = 0; i < w->n_del; i++) {
        field_of(&w->del[i], fields[i]);
        fp[i] = fields[i];
    }
    if (w->n_del && cons_ledger_batch_hdel(b, key, w->n_del, fp))
        goto done;
    rc = 0;
done:
    free(fields);
    free(fp);
    free(vp);
    return rc;
}

/* The state writes of a changed partner: its core and its journal's entries, or (rewrite)
 * DEL of the key and the core with every entry, which is how a partner read from a
 * version-2 blob (a string at the same key) moves to the hash within the same atomic
 * commit as its next change. */
static int partner_state(cons_ledger_batch *b, const char *ns, const proc_partner *pt)
{
    char key[CONS_KEY_CAP];
    proc_change *c = NULL;
    entry_writes w = {0};
    uint8_t *core = NULL;
    size_t core_len = 0;
    int n = pt->n_changes, rc = -1;

    cons_layout_state_key(key, sizeof key, ns, pt->partner_id);
    if (proc_partner_encode(pt, &core, &core_len))
        goto done;
    if (pt->rewrite) {
        if (cons_ledger_batch_del(b, key) || all_entries(pt, &c, &n))
            goto done;
    } else {
        c = malloc((size_t)(n ? n : 1) * sizeof *c);
        if (c == NULL)
            goto done;
        if (n)
            memcpy(c, pt->changes, (size_t)n * sizeof *c);
    }
    qsort(c, (size_t)n, sizeof *c, by_change);
    if (classify(pt, core, core_len, c, n, &w) || write_entries(b, key, &w))
        goto done;
    rc = 0;
done:
    free(core);
    free(c);
    entry_writes_free(&w);
    return rc;
}

/* The leaderboard scores of a batch, gathered so that each sorted set gets one ZADD with
 * all its members instead of one per member: (key, score, member) triples, keys in an
 * arena (offsets: the arena moves as it grows), members pointing at partner ids, which
 * do not change while the batch is built. */
typedef struct {
    size_t key_off;
    int64_t score;
    const char *member;
} lb_score;

typedef struct {
    lb_score *v;
    size_t n, cap;
    char *keys;
    size_t keys_len, keys_cap;
} lb_scores;

static bool lb_add(lb_scores *s, const char *key, int64_t score, const char *member)
{
    size_t len = strlen(key) + 1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        lb_score *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            return false;
        s->v = v;
        s->cap = cap;
    }
    if (s->keys_len + len > s->keys_cap) {
        size_t cap = s->keys_cap ? s->keys_cap : 16384;
        while (cap < s->keys_len + len)
            cap *= 2;
        char *k = realloc(s->keys, cap);
        if (k == NULL)
            return false;
        s->keys = k;
        s->keys_cap = cap;
    }
    memcpy(s->keys + s->keys_len, key, len);
    s->v[s->n++] = (lb_score){s->keys_len, score, member};
    s->keys_len += len;
    return true;
}

/* One period's scores, from the row the batch's last event of that period left: the period
 * may have been pruned from the state since (closed later in the same batch). */
static bool leaderboard_row(lb_scores *s, const char *ns, const proc_program *prog,
                            const cons_partner_entry *e, const proc_lb_row *r)
{
    char period[PROC_PERIOD_CAP], key[CONS_KEY_CAP];
    const char *id = e->state.partner_id;

    proc_period_name(prog->period, r->period_key, period, sizeof period);
    proc_concat(key, sizeof key, ns, ":lb:", prog->id, ":", period, ":revenue", (char *)NULL);
    if (!lb_add(s, key, r->revenue_minor, id))
        return false;
    proc_concat(key, sizeof key, ns, ":lb:", prog->id, ":", period, ":points", (char *)NULL);
    if (!lb_add(s, key, r->points, id))
        return false;
    if (e->state.region[0]) {
        proc_concat(key, sizeof key, ns, ":lb:", prog->id, ":", period, ":region:",
                    e->state.region, ":revenue", (char *)NULL);
        if (!lb_add(s, key, r->revenue_minor, id))
            return false;
    }
    return true;
}

static const char *lb_sort_keys;            /* qsort has no context argument */

static int by_key_member(const void *a, const void *b)
{
    const lb_score *x = a, *y = b;
    int c = strcmp(lb_sort_keys + x->key_off, lb_sort_keys + y->key_off);
    return c ? c : strcmp(x->member, y->member);
}

int cons_layout_leaderboards(cons_ledger_batch *b, const char *ns, const proc_catalog *cat,
                             cons_partner_entry *const *entries, int n)
{
    lb_scores s = {0};
    int64_t *scores = NULL;
    const char **members = NULL;
    int rc = -1;

    for (int i = 0; i < n; i++) {
        const cons_partner_entry *e = entries[i];
        const proc_program *prog = e->state.enrolled ? proc_catalog_find(cat, e->state.program_id)
                                                     : NULL;
        for (int r = 0; prog != NULL && r < e->n_rows; r++)
            if (!leaderboard_row(&s, ns, prog, e, &e->rows[r]))
                goto done;
    }
    if (s.n == 0) {
        rc = 0;
        goto done;
    }
    lb_sort_keys = s.keys;
    qsort(s.v, s.n, sizeof *s.v, by_key_member);
    scores = malloc(s.n * sizeof *scores);
    members = malloc(s.n * sizeof *members);
    if (scores == NULL || members == NULL)
        goto done;
    for (size_t i = 0, j; i < s.n; i = j) {
        const char *key = s.keys + s.v[i].key_off;
        for (j = i; j < s.n && strcmp(s.keys + s.v[j].key_off, key) == 0; j++) {
            scores[j - i] = s.v[j].score;
            members[j - i] = s.v[j].member;
        }
        if (cons_ledger_batch_zadd_many(b, key, (int)(j - i), scores, members))
            goto done;
    }
    rc = 0;
done:
    free(s.v);
    free(s.keys);
    free(scores);
    free(members);
    return rc;
}

/* The partner hash: what a dashboard shows for one partner, about its latest period. */
static int partner_hash(cons_ledger_batch *b, const char *ns, const proc_program *prog,
                        cons_partner_entry *e)
{
    enum { N = CONS_PARTNER_HASH_FIELDS };
    const proc_partner *pt = &e->state;
    char key[CONS_KEY_CAP];
    char period[PROC_PERIOD_CAP] = "", revenue[24] = "0", points[24] = "0", distance[24] = "";
    char certs[24], payouts[24] = "0", nps[16] = "";
    const char *next_tier = "";
    const proc_period_state *latest = proc_partner_latest(pt);
    int tier = proc_current_tier(pt);

    if (latest) {
        proc_period_name(prog->period, latest->key, period, sizeof period);
        proc_fmt_i64(revenue, latest->revenue_minor);
        proc_fmt_i64(points, proc_period_points(prog, latest));
        proc_fmt_i64(payouts, latest->payouts_minor);
        int32_t v = proc_period_nps(latest);
        if (v != INT32_MIN)
            snprintf(nps, sizeof nps, "%d", (int)v);
    }
    if (tier + 1 < prog->n_tiers) {
        int64_t rev = latest ? latest->revenue_minor : 0;
        int64_t d = prog->tiers[tier + 1].min_revenue_minor - rev;
        next_tier = prog->tiers[tier + 1].name;
        proc_fmt_i64(distance, d > 0 ? d : 0);
    }
    proc_fmt_i64(certs, pt->certifications_total);

    const char *fields[N] = {"program", "region", "tier", "period", "revenue_minor", "points",
                             "next_tier", "distance_to_next_tier_minor", "certifications",
                             "period_payouts_minor", "nps"};
    const char *values[N] = {prog->id, pt->region, prog->tiers[tier].name, period, revenue,
                             points, next_tier, distance, certs, payouts, nps};
    const char *put_f[N], *put_v[N];
    int n = 0;
    for (int i = 0; i < N; i++) {
        uint64_t fp = proc_hash64(values[i]);
        if (!e->hash_known || fp != e->hash_fp[i]) {
            put_f[n] = fields[i];
            put_v[n++] = values[i];
        }
        e->hash_fp[i] = fp;
    }
    e->hash_known = true;
    if (n == 0)
        return 0;
    proc_concat(key, sizeof key, ns, ":partner:", pt->partner_id, (char *)NULL);
    return cons_ledger_batch_hset(b, key, n, put_f, put_v);
}

int cons_layout_partner(cons_ledger_batch *b, const char *ns, const proc_program *prog,
                        cons_partner_entry *e)
{
    if (partner_state(b, ns, &e->state))
        return -1;
    if (prog != NULL && partner_hash(b, ns, prog, e))
        return -1;
    return 0;
}

int cons_layout_notice(cons_ledger_batch *b, const char *ns, const char *program_id,
                       int n_partners)
{
    char channel[CONS_KEY_CAP], msg[512];
    snprintf(channel, sizeof channel, "%s:lb-updates:%s", ns, program_id);
    snprintf(msg, sizeof msg, "{\"program\":\"%s\",\"partners\":%d}", program_id, n_partners);
    return cons_ledger_batch_publish(b, channel, msg);
}

void cons_layout_deal_key(char *key, size_t cap, const char *ns, const char *deal_id)
{
    snprintf(key, cap, "%s:deal:%s", ns, deal_id);
}

int cons_layout_deal(cons_ledger_batch *b, const char *ns, const cons_deal_entry *e)
{
    char key[CONS_KEY_CAP];
    uint8_t *blob = NULL;
    size_t len = 0;
    int rc = -1;

    cons_layout_deal_key(key, sizeof key, ns, e->deal.deal_id);
    if (cons_ledger_batch_expect(b, key, e->base ? (const void *)e->base : "", e->base_len))
        goto done;
    if (e->dirty && (proc_deal_encode(&e->deal, &blob, &len) ||
                     cons_ledger_batch_set(b, key, blob, len)))
        goto done;
    rc = 0;
done:
    free(blob);
    return rc;
}

int cons_layout_kpis(cons_ledger_batch *b, const char *ns, const cons_kpis *k)
{
    char key[CONS_KEY_CAP], period[PROC_PERIOD_CAP];
    for (int i = 0; i < k->n; i++) {
        /* A delta that summed to 0 within the batch (a partner moved into a tier and out
         * again) is still written: a field exists once any event touched it, so the
         * hash does not depend on where batches happened to break. */
        const cons_kpi_entry *e = &k->e[i];
        proc_period_name(e->prog->period, e->period_key, period, sizeof period);
        snprintf(key, sizeof key, "%s:kpi:%s:%s", ns, e->prog->id, period);
        if (cons_ledger_batch_hincrby(b, key, e->field, e->delta))
            return -1;
    }
    return 0;
}
