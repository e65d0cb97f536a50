/*
 * cons_ctl_replay_report.c — the comparison report at the end of `incentivectl replay`
 * (CONTRACT §10.1): the live program against the candidate over the same copied inputs.
 *
 * Per program and period, from each run's metric hashes ({ns}:kpi:{program}:{period},
 * CONTRACT §9): revenue, payouts by kind, all payouts, cash (+ clawbacks), what is still
 * held for approval, active partners, partners per tier, and the payout-to-revenue ratio
 * derived as `incentivectl kpi` derives it. Per partner, from each run's payout topic:
 * what is payable (the APPROVED records, as in a statement, CONTRACT §10) and the
 * partners whose payable amount changes most. The report is built once as JSON; the
 * table is printed from that JSON, so both always say the same.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cons_ctl.h"
#include "proc_kpi.h"

#define KEY_CAP 512

static int64_t reply_i64(const redisReply *r)
{
    return r != NULL && r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
}

typedef struct {
    json_t *set;
    size_t prefix;      /* length of "{ns}:kpi:" */
} period_set;

static int add_period(void *arg, const redisReply *key)
{
    period_set *ps = arg;
    if (key->len > ps->prefix &&
        json_object_set_new(ps->set, key->str + ps->prefix, json_true()) != 0)
        return -1;
    return 0;
}

/* Adds "program:period" of every {ns}:kpi:… key to the set (a JSON object used as one).
 * @returns 0 or -1 with err set. */
static int collect_periods(redisContext *c, const char *ns, json_t *set, char *err,
                           size_t errcap)
{
    char pattern[KEY_CAP];
    period_set ps = {set, strlen(ns) + strlen(":kpi:")};
    snprintf(pattern, sizeof pattern, "%s:kpi:*", ns);
    return cons_ctl_scan_keys(c, pattern, add_period, &ps, err, errcap);
}

/* The metric hash of one run as a JSON object of integers (empty when missing). */
static json_t *read_kpis(redisContext *c, const char *ns, const char *program_period)
{
    json_t *o = json_object();
    redisReply *h = redisCommand(c, "HGETALL %s:kpi:%s", ns, program_period);
    for (size_t k = 0; o != NULL && h != NULL && h->type == REDIS_REPLY_ARRAY &&
                       k + 1 < h->elements; k += 2)
        json_object_set_new(o, h->element[k]->str, json_integer(reply_i64(h->element[k + 1])));
    if (h != NULL)
        freeReplyObject(h);
    return o;
}

static int64_t get_i64(const json_t *o, const char *field)
{
    return json_integer_value(json_object_get(o, field));
}

/* Appends {"name", "live", "candidate", "change"} to rows. */
static void add_row(json_t *rows, const char *name, int64_t live, int64_t cand)
{
    json_array_append_new(rows, json_pack("{s:s, s:I, s:I, s:I}", "name", name, "live",
                                          (json_int_t)live, "candidate", (json_int_t)cand,
                                          "change", (json_int_t)(cand - live)));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The rows of one program period: fixed fields first, then each kind and tier that
 * either run has, in name order. */
static json_t *period_rows(const json_t *live, const json_t *cand)
{
    static const char *const fixed[] = {"revenue_minor", "payouts_total_minor",
                                        "cash_and_clawbacks_minor", "approval_pending_minor",
                                        "active_partners"};
    static const char *const grouped[] = {"payouts_minor:", "tier:"};
    json_t *rows = json_array();
    const char *names[512];
    size_t n;

    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        add_row(rows, fixed[i], get_i64(live, fixed[i]), get_i64(cand, fixed[i]));
    add_row(rows, "payout_to_revenue_bp",
            proc_kpi_payout_ratio_bp(get_i64(live, "cash_and_clawbacks_minor"),
                                     get_i64(live, "revenue_minor")),
            proc_kpi_payout_ratio_bp(get_i64(cand, "cash_and_clawbacks_minor"),
                                     get_i64(cand, "revenue_minor")));
    for (size_t g = 0; g < 2; g++) {
        json_t *seen = json_object();
        const json_t *runs[2] = {live, cand};
        for (int r = 0; r < 2; r++) {
            const char *key;
            json_t *v;
            json_object_foreach((json_t *)runs[r], key, v)
                if (strncmp(key, grouped[g], strlen(grouped[g])) == 0)
                    json_object_set_new(seen, key, json_true());
        }
        const char *key;
        json_t *v;
        n = 0;
        json_object_foreach(seen, key, v)
            if (n < sizeof names / sizeof names[0])
                names[n++] = key;
        qsort(names, n, sizeof *names, cmp_str);
        for (size_t i = 0; i < n; i++)
            add_row(rows, names[i], get_i64(live, names[i]), get_i64(cand, names[i]));
        json_decref(seen);
    }
    return rows;
}

/* ---- payable per partner, from the payout topics ---------------------------------- */

typedef struct {
    json_t *sums;       /* partner → {"live": n, "candidate": n} */
    const char *run;
} partner_acc;

static int add_payable(void *arg, const proc_payout *p)
{
    partner_acc *acc = arg;
    if (p->status != PROC_STATUS_APPROVED)
        return 0;       /* held, or rejected: not payable (CONTRACT §6.17) */
    json_t *row = json_object_get(acc->sums, p->partner_id);
    if (row == NULL) {
        row = json_pack("{s:I, s:I}", "live", (json_int_t)0, "candidate", (json_int_t)0);
        if (row == NULL || json_object_set_new(acc->sums, p->partner_id, row))
            return -1;
    }
    json_object_set_new(row, acc->run,
                        json_integer(json_integer_value(json_object_get(row, acc->run)) +
                                     p->amount_minor));
    return 0;
}

typedef struct {
    const char *partner;
    int64_t live, cand;
} partner_change;

/* Largest change first, ties by partner id: the order is the same on every run. */
static int cmp_change(const void *a, const void *b)
{
    const partner_change *x = a, *y = b;
    int64_t dx = llabs(x->cand - x->live), dy = llabs(y->cand - y->live);
    if (dx != dy)
        return dx > dy ? -1 : 1;
    return strcmp(x->partner, y->partner);
}

/* ---- the report ------------------------------------------------------------------ */

static void print_table(const json_t *rep)
{
    size_t i, j;
    json_t *per, *row;
    printf("replay %s: %s (live) against %s (candidate)\n",
           json_string_value(json_object_get(rep, "replay")),
           json_string_value(json_object_get(rep, "live_program_file")),
           json_string_value(json_object_get(rep, "candidate_program_file")));
    json_array_foreach(json_object_get(rep, "periods"), i, per) {
        printf("\n%s %s%*s%18s %18s %18s\n", json_string_value(json_object_get(per, "program")),
               json_string_value(json_object_get(per, "period")),
               (int)(34 - strlen(json_string_value(json_object_get(per, "program"))) -
                     strlen(json_string_value(json_object_get(per, "period")))), "", "LIVE",
               "CANDIDATE", "CHANGE");
        json_array_foreach(json_object_get(per, "rows"), j, row)
            printf("  %-34s%18" JSON_INTEGER_FORMAT " %18" JSON_INTEGER_FORMAT
                   " %+18" JSON_INTEGER_FORMAT "\n",
                   json_string_value(json_object_get(row, "name")),
                   json_integer_value(json_object_get(row, "live")),
                   json_integer_value(json_object_get(row, "candidate")),
                   json_integer_value(json_object_get(row, "change")));
    }
    json_t *parts = json_object_get(rep, "partners");
    printf("\npartners whose payable amount changes most (minor units, top %zu)\n",
           json_array_size(parts));
    printf("  %-34s%18s %18s %18s\n", "PARTNER", "LIVE", "CANDIDATE", "CHANGE");
    json_array_foreach(parts, i, row)
        printf("  %-34s%18" JSON_INTEGER_FORMAT " %18" JSON_INTEGER_FORMAT
               " %+18" JSON_INTEGER_FORMAT "\n",
               json_string_value(json_object_get(row, "partner_id")),
               json_integer_value(json_object_get(row, "live_payable_minor")),
               json_integer_value(json_object_get(row, "candidate_payable_minor")),
               json_integer_value(json_object_get(row, "change_minor")));
}

int cons_ctl_replay_report(const cons_config *live, const cons_config *cand, const char *name,
                           const char *candidate_file, int top_n, bool json, char *err,
                           size_t errcap)
{
    redisContext *c = NULL;
    json_t *set = json_object(), *rep = NULL, *periods = json_array(), *sums = json_object();
    partner_change *changes = NULL;
    const char **keys = NULL;
    int rc = -1;

    if (set == NULL || periods == NULL || sums == NULL) {
        snprintf(err, errcap, "out of memory");
        goto done;
    }
    if ((c = cons_ctl_redis_connect(live, err, errcap)) == NULL ||
        collect_periods(c, live->redis_namespace, set, err, errcap) ||
        collect_periods(c, cand->redis_namespace, set, err, errcap))
        goto done;
    size_t n_keys = json_object_size(set), k = 0;
    const char *key;
    json_t *v;
    if ((keys = calloc(n_keys + 1, sizeof *keys)) == NULL)
        goto oom;
    json_object_foreach(set, key, v)
        keys[k++] = key;
    qsort(keys, n_keys, sizeof *keys, cmp_str);
    for (k = 0; k < n_keys; k++) {
        json_t *l = read_kpis(c, live->redis_namespace, keys[k]);
        json_t *d = read_kpis(c, cand->redis_namespace, keys[k]);
        const char *colon = strchr(keys[k], ':');
        json_t *per = json_pack("{s:s%, s:s, s:o}", "program", keys[k],
                                (size_t)(colon ? colon - keys[k] : 0), "period",
                                colon ? colon + 1 : "", "rows", period_rows(l, d));
        json_decref(l);
        json_decref(d);
        if (per == NULL || json_array_append_new(periods, per))
            goto oom;
    }
    partner_acc acc = {sums, "live"};
    if (cons_ctl_scan_payouts(live, add_payable, &acc, err, errcap))
        goto done;
    acc.run = "candidate";
    if (cons_ctl_scan_payouts(cand, add_payable, &acc, err, errcap))
        goto done;
    size_t n_parts = json_object_size(sums), n = 0;
    if ((changes = calloc(n_parts + 1, sizeof *changes)) == NULL)
        goto oom;
    json_object_foreach(sums, key, v) {
        int64_t a = get_i64(v, "live"), b = get_i64(v, "candidate");
        if (a != b)
            changes[n++] = (partner_change){key, a, b};
    }
    qsort(changes, n, sizeof *changes, cmp_change);
    json_t *parts = json_array();
    for (size_t i = 0; parts != NULL && i < n && i < (size_t)top_n; i++)
        json_array_append_new(parts, json_pack("{s:s, s:I, s:I, s:I}", "partner_id",
                                               changes[i].partner, "live_payable_minor",
                                               (json_int_t)changes[i].live,
                                               "candidate_payable_minor",
                                               (json_int_t)changes[i].cand, "change_minor",
                                               (json_int_t)(changes[i].cand - changes[i].live)));
    rep = json_pack("{s:s, s:s, s:s, s:O, s:o, s:I}", "replay", name, "live_program_file",
                    live->program_file, "candidate_program_file", candidate_file, "periods",
                    periods, "partners", parts ? parts : json_array(), "partners_changed",
                    (json_int_t)n);
    if (rep == NULL)
        goto oom;
    if (json) {
        char *text = json_dumps(rep, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (text == NULL)
            goto oom;
        printf("%s\n", text);
        free(text);
    } else
        print_table(rep);
    rc = 0;
    goto done;
oom:
    snprintf(err, errcap, "out of memory");
done:
    free(changes);
    free(keys);
    json_decref(rep);
    json_decref(periods);
    json_decref(sums);
    json_decref(set);
    if (c != NULL)
        redisFree(c);
    return rc;
}
