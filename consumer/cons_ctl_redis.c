/*
 * cons_ctl_redis.c — the read-only views of the public Redis layout (CONTRACT §8):
 * `leaderboard`, `partner` and `kpi`.
 *
 * These commands only read (SCAN, ZREVRANGE, ZCARD, HMGET, HGETALL), so they are safe to
 * run against the live ledger at any time. Amounts are shown in major units of the
 * program currency when the program file can be read, else in minor units.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cons_ctl.h"
#include "cons_program.h"
#include "proc_kpi.h"

#define LB_USAGE                                                                           \
    "leaderboard --program ID [--period 2026-Q4] [--metric revenue|points] [--region R] "  \
    "[--top N] [--format table|json]"
#define PARTNER_USAGE "partner [--format table|json] ID [ID...]"
#define KPI_USAGE "kpi --program ID [--period 2026-Q4] [--format table|json]"

#define CONNECT_TIMEOUT_S 5
#define COMMAND_TIMEOUT_S 30
#define KEY_CAP 1024
#define MAX_TOP 100000

redisContext *cons_ctl_redis_connect(const cons_config *cfg, char *err, size_t errcap)
{
    struct timeval connect_timeout = {CONNECT_TIMEOUT_S, 0}, timeout = {COMMAND_TIMEOUT_S, 0};
    redisContext *c = redisConnectWithTimeout(cfg->redis_host, cfg->redis_port,
                                              connect_timeout);
    redisReply *r = NULL;

    if (c == NULL || c->err) {
        snprintf(err, errcap, "cannot connect to Redis at %s:%d: %s", cfg->redis_host,
                 cfg->redis_port, c ? c->errstr : "out of memory");
        goto fail;
    }
    redisSetTimeout(c, timeout);
    if (cfg->redis_password != NULL && cfg->redis_password[0] != '\0') {
        r = cfg->redis_user[0] ? redisCommand(c, "AUTH %s %s", cfg->redis_user, cfg->redis_password)
                               : redisCommand(c, "AUTH %s", cfg->redis_password);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            /* Redis's message never contains the password; ours must not either. */
            snprintf(err, errcap, "Redis AUTH failed: %s",
                     r ? r->str : c->errstr);
            goto fail;
        }
        freeReplyObject(r);
    }
    return c;
fail:
    if (r != NULL)
        freeReplyObject(r);
    if (c != NULL)
        redisFree(c);
    return NULL;
}

/* ---- helpers ----------------------------------------------------------------------- */

/* Copies s into out with the glob characters of SCAN MATCH escaped. */
static void glob_escape(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 2 < cap; s++) {
        if (strchr("*?[]\\", *s))
            out[n++] = '\\';
        out[n++] = *s;
    }
    out[n] = '\0';
}

int cons_ctl_scan_keys(redisContext *c, const char *pattern,
                       int (*visit)(void *arg, const redisReply *key), void *arg, char *err,
                       size_t errcap)
{
    char cursor[32] = "0";
    do {
        redisReply *r = redisCommand(c, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            snprintf(err, errcap, "Redis SCAN failed: %s",
                     r == NULL ? c->errstr : r->type == REDIS_REPLY_ERROR ? r->str
                                                                          : "unexpected reply");
            if (r != NULL)
                freeReplyObject(r);
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t k = 0; k < r->element[1]->elements; k++) {
            const redisReply *e = r->element[1]->element[k];
            if (e->type == REDIS_REPLY_STRING && visit(arg, e) != 0) {
                snprintf(err, errcap, "stopped while scanning %s", pattern);
                freeReplyObject(r);
                return -1;
            }
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

typedef struct {
    size_t np, ns;       /* lengths of the key prefix and suffix */
    char *out;
    size_t cap;
    int found;
} period_search;

/* The period is what lies between prefix and suffix, without ':' (region leaderboards
 * "...:P:region:R:revenue" match the pattern too); the greatest one wins. */
static int keep_greatest_period(void *arg, const redisReply *e)
{
    period_search *ps = arg;
    char period[KEY_CAP];
    if (e->len <= ps->np + ps->ns)
        return 0;
    size_t plen = e->len - ps->np - ps->ns;
    if (memchr(e->str + ps->np, ':', plen) != NULL || plen >= ps->cap || plen >= sizeof period)
        return 0;
    memcpy(period, e->str + ps->np, plen);
    period[plen] = '\0';
    if (!ps->found || strcmp(period, ps->out) > 0) {
        memcpy(ps->out, period, plen + 1);
        ps->found = 1;
    }
    return 0;
}

/* Finds the greatest period P for which the key prefix + P + suffix exists (periods of
 * one program compare as strings: "2026-Q4" < "2027-Q1", "2026-09" < "2026-10").
 * @returns 1 with out set, 0 when there is none, -1 with err set on a Redis error. */
static int discover_period(redisContext *c, const char *prefix, const char *suffix, char *out,
                           size_t cap, char *err, size_t errcap)
{
    char pattern[2 * KEY_CAP], esc_prefix[2 * KEY_CAP], esc_suffix[KEY_CAP];
    period_search ps = {strlen(prefix), strlen(suffix), out, cap, 0};

    glob_escape(prefix, esc_prefix, sizeof esc_prefix);
    glob_escape(suffix, esc_suffix, sizeof esc_suffix);
    snprintf(pattern, sizeof pattern, "%s*%s", esc_prefix, esc_suffix);
    out[0] = '\0';
    if (cons_ctl_scan_keys(c, pattern, keep_greatest_period, &ps, err, errcap) != 0)
        return -1;
    return ps.found;
}

/* A sorted-set score or hash value that holds an integer (Redis prints integral doubles
 * without a fraction). @returns 0 or -1. */
static int parse_amount(const char *s, int64_t *out)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (end != s && *end == '\0') {
        *out = v;
        return 0;
    }
    double d = strtod(s, &end);
    if (end == s || *end != '\0' || d != d || d > 9.2e18 || d < -9.2e18)
        return -1;
    *out = (int64_t)(d < 0 ? d - 0.5 : d + 0.5);
    return 0;
}

/* Loads the program file to learn currencies; a failure only means amounts stay in minor
 * units, so it is a note, not an error. */
static proc_program *load_programs_quietly(const cons_config *cfg, int *n)
{
    proc_program *programs = NULL;
    char err[1024];

    *n = 0;
    if (cons_program_load(cfg->program_file, &programs, n, err, sizeof err) != 0) {
        fprintf(stderr, "note: amounts in minor units (program file not read: %s)\n", err);
        return NULL;
    }
    return programs;
}

static const proc_program *find_program(const proc_program *programs, int n, const char *id)
{
    for (int i = 0; i < n; i++)
        if (strcmp(programs[i].id, id) == 0)
            return &programs[i];
    return NULL;
}

/* "1,234.56 EUR" when the currency is known, else the minor units. */
static void format_amount(int64_t minor, const char *currency, char *out, size_t cap)
{
    char major[40];
    if (currency == NULL) {
        snprintf(out, cap, "%" PRId64, minor);
        return;
    }
    cons_ctl_format_minor(minor, major, sizeof major);
    snprintf(out, cap, "%s %s", major, currency);
}

/* --format: 1 json, 0 table, -1 anything else. */
static int parse_format(const char *v)
{
    return strcmp(v, "json") == 0 ? 1 : strcmp(v, "table") == 0 ? 0 : -1;
}

/* Prints a JSON value as one compact line and frees it. @returns 0, or -1 (ENOMEM). */
static int print_json(json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(v);
    if (text == NULL)
        return -1;
    printf("%s\n", text);
    free(text);
    return 0;
}

static const char *reply_str(const redisReply *r);

/* A hash reply as a JSON object; values that are integers become numbers when `numbers`. */
static json_t *hash_json(const redisReply *h, bool numbers)
{
    json_t *o = json_object();
    for (size_t k = 0; o != NULL && k + 1 < h->elements; k += 2) {
        const char *v = reply_str(h->element[k + 1]);
        int64_t n;
        json_t *jv = numbers && parse_amount(v, &n) == 0 ? json_integer(n) : json_string(v);
        if (jv == NULL || json_object_set_new(o, reply_str(h->element[k]), jv)) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static const char *reply_str(const redisReply *r)
{
    return r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
               ? r->str
               : "";
}

/* ---- leaderboard ------------------------------------------------------------------- */

typedef struct {
    cons_ctl_board_query q;
    int json;
} lb_args;

static int lb_parse(int argc, char **argv, lb_args *a)
{
    a->q.metric = "revenue";
    a->q.top = 10;
    for (int i = 1; i < argc; i++) {
        const char *val = NULL;
        int m;
        if ((m = cons_ctl_board_opt(argc, argv, &i, &a->q)) != 0)
            ;
        else if ((m = cons_ctl_opt(argc, argv, &i, "--format", &val)) != 0) {
            if (m > 0 && (a->json = parse_format(val)) < 0)
                m = -1;
        }
        else if ((m = cons_ctl_opt(argc, argv, &i, "--top", &val)) != 0) {
            if (m > 0 && cons_ctl_parse_int(val, 1, MAX_TOP, &a->q.top))
                m = -1;
        } else
            m = -1;
        if (m < 0)
            return -1;
    }
    return cons_ctl_board_check(&a->q);
}

int cons_ctl_board_opt(int argc, char **argv, int *i, cons_ctl_board_query *q)
{
    const char *val = NULL;
    int m;
    if ((m = cons_ctl_opt(argc, argv, i, "--program", &val)) > 0)
        q->program = val;
    else if (m == 0 && (m = cons_ctl_opt(argc, argv, i, "--period", &val)) > 0)
        q->period = val;
    else if (m == 0 && (m = cons_ctl_opt(argc, argv, i, "--metric", &val)) > 0)
        q->metric = val;
    else if (m == 0 && (m = cons_ctl_opt(argc, argv, i, "--region", &val)) > 0)
        q->region = val;
    return m;
}

int cons_ctl_board_check(const cons_ctl_board_query *q)
{
    if (q->program == NULL || q->program[0] == '\0' || strchr(q->program, ':') ||
        (strcmp(q->metric, "revenue") != 0 && strcmp(q->metric, "points") != 0) ||
        (q->region != NULL && strcmp(q->metric, "revenue") != 0) ||
        (q->region != NULL && (q->region[0] == '\0' || strchr(q->region, ':'))) ||
        (q->period != NULL && (q->period[0] == '\0' || strchr(q->period, ':'))))
        return -1;
    return 0;
}

void cons_ctl_board_free(cons_ctl_board *b)
{
    for (size_t k = 0; k < b->n_rows; k++) {
        free(b->rows[k].partner_id);
        free(b->rows[k].tier);
        free(b->rows[k].region);
    }
    free(b->rows);
    memset(b, 0, sizeof *b);
}

/* A copy of a string reply, NULL for nil or for anything that is not a string. Sets *oom
 * when the copy could not be made. */
static char *dup_string_reply(const redisReply *r, bool *oom)
{
    char *s;
    if (r == NULL || r->type != REDIS_REPLY_STRING)
        return NULL;
    if ((s = strdup(r->str)) == NULL)
        *oom = true;
    return s;
}

int cons_ctl_board_read(redisContext *c, const char *ns, const cons_ctl_board_query *q,
                        cons_ctl_board *out, char *err, size_t errcap)
{
    redisReply *range = NULL, *card = NULL, **partners = NULL;
    char key[KEY_CAP], prefix[KEY_CAP];
    size_t rows = 0;
    bool oom = false;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (q->period != NULL) {
        snprintf(out->period, sizeof out->period, "%s", q->period);
    } else {
        snprintf(prefix, sizeof prefix, "%s:lb:%s:", ns, q->program);
        int found = discover_period(c, prefix, ":revenue", out->period, sizeof out->period,
                                    err, errcap);
        if (found <= 0) {
            if (found == 0)
                snprintf(err, errcap, "no leaderboard of program %s in namespace %s",
                         q->program, ns);
            rc = found == 0 ? 1 : -1;
            goto done;
        }
    }
    if (q->region != NULL)
        snprintf(key, sizeof key, "%s:lb:%s:%s:region:%s:revenue", ns, q->program,
                 out->period, q->region);
    else
        snprintf(key, sizeof key, "%s:lb:%s:%s:%s", ns, q->program, out->period, q->metric);

    /* One round trip for the board, then one pipelined round for the partners' tiers. */
    redisAppendCommand(c, "ZREVRANGE %s 0 %lld WITHSCORES", key, q->top - 1);
    redisAppendCommand(c, "ZCARD %s", key);
    if (redisGetReply(c, (void **)&range) != REDIS_OK ||
        redisGetReply(c, (void **)&card) != REDIS_OK) {
        snprintf(err, errcap, "Redis: %s", c->errstr);
        goto done;
    }
    if (range->type != REDIS_REPLY_ARRAY || card->type != REDIS_REPLY_INTEGER) {
        snprintf(err, errcap, "Redis: %s: %s", key,
                 range->type == REDIS_REPLY_ERROR ? range->str : "not a sorted set");
        goto done;
    }
    rows = range->elements / 2;
    if (rows > 0 && ((partners = calloc(rows, sizeof *partners)) == NULL ||
                     (out->rows = calloc(rows, sizeof *out->rows)) == NULL)) {
        snprintf(err, errcap, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < rows; k++)
        redisAppendCommand(c, "HMGET %s:partner:%s tier region", ns,
                           reply_str(range->element[2 * k]));
    for (size_t k = 0; k < rows; k++)
        if (redisGetReply(c, (void **)&partners[k]) != REDIS_OK) {
            snprintf(err, errcap, "Redis: %s", c->errstr);
            goto done;
        }
    for (size_t k = 0; k < rows; k++) {
        cons_ctl_board_row *row = &out->rows[k];
        const redisReply *h = partners[k];
        bool ok = h->type == REDIS_REPLY_ARRAY && h->elements == 2;
        out->n_rows = k + 1;
        if (parse_amount(reply_str(range->element[2 * k + 1]), &row->score) != 0) {
            snprintf(err, errcap, "Redis: %s: score of %s is not a number", key,
                     reply_str(range->element[2 * k]));
            goto done;
        }
        row->partner_id = strdup(reply_str(range->element[2 * k]));
        row->tier = ok ? dup_string_reply(h->element[0], &oom) : NULL;
        row->region = ok ? dup_string_reply(h->element[1], &oom) : NULL;
        if (row->partner_id == NULL || oom) {
            snprintf(err, errcap, "out of memory");
            goto done;
        }
    }
    out->members = card->integer;
    rc = 0;
done:
    if (rc != 0)
        cons_ctl_board_free(out);
    for (size_t k = 0; partners != NULL && k < rows; k++)
        if (partners[k] != NULL)
            freeReplyObject(partners[k]);
    free(partners);
    if (range != NULL)
        freeReplyObject(range);
    if (card != NULL)
        freeReplyObject(card);
    return rc;
}

int cons_ctl_leaderboard(const cons_config *cfg, int argc, char **argv)
{
    lb_args a;
    cons_ctl_board b;
    redisContext *c = NULL;
    proc_program *programs = NULL;
    const proc_program *prog = NULL;
    char err[1024], score_head[48];
    char (*scores)[48] = NULL;        /* the formatted score of each row */
    int n_programs = 0, rc = CONS_CTL_FAILED;
    int w_partner = (int)strlen("PARTNER"), w_score, w_tier = (int)strlen("TIER");

    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    if (lb_parse(argc, argv, &a) != 0)
        return cons_ctl_usage(LB_USAGE " (--region needs --metric revenue)");
    if ((c = cons_ctl_redis_connect(cfg, err, sizeof err)) == NULL)
        goto fail;
    if (cons_ctl_board_read(c, cfg->redis_namespace, &a.q, &b, err, sizeof err) != 0)
        goto fail;

    if (a.json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:I, s:[]}", "program", a.q.program,
                              "period", b.period, "metric", a.q.metric, "region",
                              a.q.region ? json_string(a.q.region) : json_null(), "members",
                              (json_int_t)b.members, "rows");
        json_t *arr = o ? json_object_get(o, "rows") : NULL;
        for (size_t k = 0; arr != NULL && k < b.n_rows; k++) {
            const cons_ctl_board_row *row = &b.rows[k];
            json_t *r = json_pack("{s:I, s:s, s:I, s:s?, s:s?}", "rank", (json_int_t)(k + 1),
                                  "partner_id", row->partner_id, "score",
                                  (json_int_t)row->score, "tier", row->tier, "region",
                                  row->region);
            if (r == NULL || json_array_append_new(arr, r))
                arr = NULL;
        }
        if (arr == NULL)
            json_decref(o);
        if (arr == NULL || print_json(o)) {
            snprintf(err, sizeof err, "out of memory");
            goto fail;
        }
        rc = CONS_CTL_OK;
        goto done;
    }
    if (b.n_rows > 0 && (scores = calloc(b.n_rows, sizeof *scores)) == NULL) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    if (strcmp(a.q.metric, "revenue") == 0) {
        programs = load_programs_quietly(cfg, &n_programs);
        prog = find_program(programs, n_programs, a.q.program);
    }
    cons_ctl_board_score_head(a.q.metric, prog ? prog->currency : NULL, score_head,
                              sizeof score_head);
    /* Column widths from the content, so the table stays aligned for any ids. */
    w_score = (int)strlen(score_head);
    for (size_t k = 0; k < b.n_rows; k++) {
        const cons_ctl_board_row *row = &b.rows[k];
        cons_ctl_board_score(a.q.metric, prog ? prog->currency : NULL, row->score, scores[k],
                             sizeof scores[k]);
        if ((int)strlen(row->partner_id) > w_partner)
            w_partner = (int)strlen(row->partner_id);
        if ((int)strlen(scores[k]) > w_score)
            w_score = (int)strlen(scores[k]);
        if (row->tier != NULL && (int)strlen(row->tier) > w_tier)
            w_tier = (int)strlen(row->tier);
    }
    printf("%s %s %s%s%s: top %zu of %lld\n", a.q.program, b.period, a.q.metric,
           a.q.region ? " in " : "", a.q.region ? a.q.region : "", b.n_rows, b.members);
    printf("%4s  %-*s  %*s  %-*s  %s\n", "RANK", w_partner, "PARTNER", w_score, score_head,
           w_tier, "TIER", "REGION");
    for (size_t k = 0; k < b.n_rows; k++) {
        const cons_ctl_board_row *row = &b.rows[k];
        printf("%4zu  %-*s  %*s  %-*s  %s\n", k + 1, w_partner, row->partner_id, w_score,
               scores[k], w_tier, row->tier ? row->tier : "-",
               row->region ? row->region : "-");
    }
    rc = CONS_CTL_OK;
    goto done;
fail:
    fprintf(stderr, "incentivectl leaderboard: %s\n", err);
done:
    cons_ctl_board_free(&b);
    free(scores);
    if (c != NULL)
        redisFree(c);
    cons_program_free(programs);
    return rc;
}

void cons_ctl_board_score_head(const char *metric, const char *currency, char *out, size_t cap)
{
    if (strcmp(metric, "revenue") != 0)
        snprintf(out, cap, "POINTS");
    else if (currency != NULL)
        snprintf(out, cap, "REVENUE (%s)", currency);
    else
        snprintf(out, cap, "REVENUE (minor units)");
}

void cons_ctl_board_score(const char *metric, const char *currency, int64_t score, char *out,
                          size_t cap)
{
    if (strcmp(metric, "revenue") == 0 && currency != NULL)
        cons_ctl_format_minor(score, out, cap);
    else
        snprintf(out, cap, "%" PRId64, score);
}

/* ---- partner ----------------------------------------------------------------------- */

/* The fields cons_layout writes, in the order a person reads them. */
static const char *const partner_fields[] = {
    "program", "region", "tier", "period", "revenue_minor", "points", "next_tier",
    "distance_to_next_tier_minor", "certifications", "period_payouts_minor", "nps", NULL};

static bool is_money_field(const char *field)
{
    size_t n = strlen(field);
    return n > 6 && strcmp(field + n - 6, "_minor") == 0;
}

/* Prints "  field  value", with "(1,234.56 EUR)" after money when the currency is known. */
static void print_field(const char *field, const char *value, const char *currency)
{
    int64_t v;
    char amount[64];

    if (currency != NULL && is_money_field(field) && parse_amount(value, &v) == 0) {
        format_amount(v, currency, amount, sizeof amount);
        printf("  %-28s %s  (%s)\n", field, value, amount);
    } else {
        printf("  %-28s %s\n", field, value[0] ? value : "-");
    }
}

static const char *hash_get(const redisReply *h, const char *field)
{
    for (size_t k = 0; k + 1 < h->elements; k += 2)
        if (strcmp(reply_str(h->element[k]), field) == 0)
            return reply_str(h->element[k + 1]);
    return NULL;
}

static void print_hash(const redisReply *h, const char *const *order, const char *currency)
{
    for (int f = 0; order && order[f]; f++) {
        const char *v = hash_get(h, order[f]);
        if (v != NULL)
            print_field(order[f], v, currency);
    }
    /* Fields not in `order` (per payout kind, per tier, added later) by name: the hash
     * stores them in the order batches first touched them, which means nothing. */
    const char *last = "";
    for (;;) {
        const char *next = NULL, *value = NULL;
        for (size_t k = 0; k + 1 < h->elements; k += 2) {
            const char *name = reply_str(h->element[k]);
            bool known = false;
            for (int f = 0; order && order[f] && !known; f++)
                known = strcmp(order[f], name) == 0;
            if (!known && strcmp(name, last) > 0 && (next == NULL || strcmp(name, next) < 0)) {
                next = name;
                value = reply_str(h->element[k + 1]);
            }
        }
        if (next == NULL)
            return;
        print_field(next, value, currency);
        last = next;
    }
}

int cons_ctl_partner(const cons_config *cfg, int argc, char **argv)
{
    redisContext *c = NULL;
    redisReply **replies = NULL;
    proc_program *programs = NULL;
    int n_programs = 0, n_ids, rc = CONS_CTL_FAILED, missing = 0, json = 0;
    char err[1024];
    json_t *all = NULL;

    if (argc >= 3 && strcmp(argv[1], "--format") == 0) {
        if ((json = parse_format(argv[2])) < 0)
            return cons_ctl_usage(PARTNER_USAGE);
        argc -= 2;
        argv += 2;
    }
    n_ids = argc - 1;
    if (n_ids < 1)
        return cons_ctl_usage(PARTNER_USAGE);
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' || argv[i][0] == '\0')
            return cons_ctl_usage(PARTNER_USAGE);
    if (json && (all = json_array()) == NULL) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    if ((c = cons_ctl_redis_connect(cfg, err, sizeof err)) == NULL)
        goto fail;
    if ((replies = calloc((size_t)n_ids, sizeof *replies)) == NULL) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    for (int i = 0; i < n_ids; i++)
        redisAppendCommand(c, "HGETALL %s:partner:%s", cfg->redis_namespace, argv[i + 1]);
    for (int i = 0; i < n_ids; i++)
        if (redisGetReply(c, (void **)&replies[i]) != REDIS_OK) {
            snprintf(err, sizeof err, "Redis: %s", c->errstr);
            goto fail;
        }
    programs = load_programs_quietly(cfg, &n_programs);
    for (int i = 0; i < n_ids; i++) {
        const redisReply *h = replies[i];
        if (h->type != REDIS_REPLY_ARRAY || h->elements == 0) {
            fprintf(stderr, "incentivectl partner: %s: %s\n", argv[i + 1],
                    h->type == REDIS_REPLY_ERROR ? h->str : "not found");
            missing++;
            continue;
        }
        if (json) {
            json_t *o = hash_json(h, false);
            if (o == NULL || json_object_set_new(o, "partner_id", json_string(argv[i + 1])) ||
                json_array_append_new(all, o)) {
                snprintf(err, sizeof err, "out of memory");
                goto fail;
            }
            continue;
        }
        const char *program = hash_get(h, "program");
        const proc_program *prog = program ? find_program(programs, n_programs, program) : NULL;
        printf("%spartner %s\n", i ? "\n" : "", argv[i + 1]);
        print_hash(h, partner_fields, prog ? prog->currency : NULL);
    }
    if (json) {
        int failed = print_json(all);
        all = NULL;
        if (failed) {
            snprintf(err, sizeof err, "out of memory");
            goto fail;
        }
    }
    rc = missing ? CONS_CTL_FAILED : CONS_CTL_OK;
    goto done;
fail:
    fprintf(stderr, "incentivectl partner: %s\n", err);
done:
    for (int i = 0; replies != NULL && i < n_ids; i++)
        if (replies[i] != NULL)
            freeReplyObject(replies[i]);
    free(replies);
    json_decref(all);
    if (c != NULL)
        redisFree(c);
    cons_program_free(programs);
    return rc;
}

/* ---- kpi --------------------------------------------------------------------------- */

/* Counters first in a reading order; fields not listed follow as stored. */
static const char *const kpi_fields[] = {
    "revenue_minor", "payouts_total_minor", "cash_and_clawbacks_minor", "active_partners",
    "deals_registered", "deals_approved", "deals_won", "certifications", "responses",
    "promoters", "passives", "detractors", NULL};

static int64_t hash_i64(const redisReply *h, const char *field)
{
    const char *v = hash_get(h, field);
    return v ? strtoll(v, NULL, 10) : 0;
}

/* The ratios of CONTRACT §9, derived from the counters (workers only add to counters). */
static void print_derived(const redisReply *h)
{
    int64_t nps;
    int64_t ratio = proc_kpi_payout_ratio_bp(hash_i64(h, "cash_and_clawbacks_minor"),
                                             hash_i64(h, "revenue_minor"));
    int64_t conv = proc_kpi_conversion_bp(hash_i64(h, "deals_won"), hash_i64(h, "deals_registered"));
    printf("  %-28s %" PRId64 " bp (%" PRId64 ".%02" PRId64 " %%)\n", "payout_to_revenue", ratio,
           ratio / 100, (ratio < 0 ? -ratio : ratio) % 100);
    printf("  %-28s %" PRId64 " bp\n", "deal_conversion", conv);
    if (proc_kpi_nps(hash_i64(h, "promoters"), hash_i64(h, "detractors"),
                     hash_i64(h, "responses"), &nps))
        printf("  %-28s %" PRId64 "\n", "nps", nps);
    else
        printf("  %-28s -\n", "nps");
}

int cons_ctl_kpi(const cons_config *cfg, int argc, char **argv)
{
    const char *program = NULL, *period_arg = NULL;
    redisContext *c = NULL;
    redisReply *h = NULL;
    proc_program *programs = NULL;
    const proc_program *prog = NULL;
    int n_programs = 0, rc = CONS_CTL_FAILED, json = 0;
    char err[1024], key[KEY_CAP], prefix[KEY_CAP], period[64];

    for (int i = 1; i < argc; i++) {
        const char *val = NULL;
        int m;
        if ((m = cons_ctl_opt(argc, argv, &i, "--program", &val)) != 0)
            program = val;
        else if ((m = cons_ctl_opt(argc, argv, &i, "--period", &val)) != 0)
            period_arg = val;
        else if ((m = cons_ctl_opt(argc, argv, &i, "--format", &val)) != 0) {
            if (m > 0 && (json = parse_format(val)) < 0)
                m = -1;
        } else
            m = -1;
        if (m < 0)
            return cons_ctl_usage(KPI_USAGE);
    }
    if (program == NULL || program[0] == '\0' || strchr(program, ':') ||
        (period_arg != NULL && (period_arg[0] == '\0' || strchr(period_arg, ':'))))
        return cons_ctl_usage(KPI_USAGE);
    if ((c = cons_ctl_redis_connect(cfg, err, sizeof err)) == NULL)
        goto fail;
    if (period_arg != NULL) {
        snprintf(period, sizeof period, "%s", period_arg);
    } else {
        snprintf(prefix, sizeof prefix, "%s:kpi:%s:", cfg->redis_namespace, program);
        int found = discover_period(c, prefix, "", period, sizeof period, err, sizeof err);
        if (found < 0)
            goto fail;
        if (found == 0) {
            snprintf(err, sizeof err, "no metrics of program %s in namespace %s", program,
                     cfg->redis_namespace);
            goto fail;
        }
    }
    snprintf(key, sizeof key, "%s:kpi:%s:%s", cfg->redis_namespace, program, period);
    h = redisCommand(c, "HGETALL %s", key);
    if (h == NULL || h->type != REDIS_REPLY_ARRAY) {
        snprintf(err, sizeof err, "Redis: %s: %s", key,
                 h == NULL ? c->errstr : h->type == REDIS_REPLY_ERROR ? h->str : "not a hash");
        goto fail;
    }
    if (h->elements == 0) {
        snprintf(err, sizeof err, "%s: no metrics", key);
        goto fail;
    }
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:o}", "program", program, "period", period,
                              "metrics", hash_json(h, true));
        if (o == NULL || json_object_get(o, "metrics") == NULL || print_json(o)) {
            snprintf(err, sizeof err, "out of memory");
            goto fail;
        }
        rc = CONS_CTL_OK;
        goto done;
    }
    programs = load_programs_quietly(cfg, &n_programs);
    prog = find_program(programs, n_programs, program);
    printf("metrics of %s in %s\n", program, period);
    print_hash(h, kpi_fields, prog ? prog->currency : NULL);
    print_derived(h);
    rc = CONS_CTL_OK;
    goto done;
fail:
    fprintf(stderr, "incentivectl kpi: %s\n", err);
done:
    if (h != NULL)
        freeReplyObject(h);
    if (c != NULL)
        redisFree(c);
    cons_program_free(programs);
    return rc;
}
