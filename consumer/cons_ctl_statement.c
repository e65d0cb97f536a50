/*
 * cons_ctl_statement.c — `incentivectl statement --partner P --period Q
 * [--format table|json|csv]`: a partner's period statement from the payout topic
 * (read_committed): every payout in the order the worker wrote it, held ones marked with
 * what became of them, the decisions, the totals a payment team pays by kind, what is
 * still held, and the partner's tier over the period (the tier of each payout as earned).
 *
 * What is payable is the sum of the APPROVED records (CONTRACT §4): a held record is not,
 * its decision is. A held record is "undecided" while no decision names it and, for a
 * clawback held with its payout, none names that payout.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cons_ctl.h"

#define USAGE "statement --partner ID --period PERIOD [--format table|json|csv]"

typedef enum { FMT_TABLE, FMT_JSON, FMT_CSV } statement_format;

typedef struct {
    const char *partner, *period;
    proc_payout *rows;               /* owned, in topic order */
    int n, cap;
} statement;

static int visit(void *arg, const proc_payout *p)
{
    statement *s = arg;
    if (strcmp(p->partner_id, s->partner) != 0 || strcmp(p->period, s->period) != 0)
        return 0;
    return cons_ctl_keep_payout(&s->rows, &s->n, &s->cap, p);
}

/* The decision naming payout `id`, or NULL. */
static const proc_payout *decision_of(const statement *s, const char *id)
{
    for (int i = 0; i < s->n; i++)
        if (s->rows[i].has_decision_of && strcmp(s->rows[i].decision_of, id) == 0)
            return &s->rows[i];
    return NULL;
}

/* What became of a held record: its decision, or its reversed payout's (a clawback held
 * with it). NULL while undecided. */
static const proc_payout *settled_by(const statement *s, const proc_payout *p)
{
    const proc_payout *d = decision_of(s, p->payout_id);
    return d ? d : decision_of(s, p->rule_id);
}

/* A one-word account of a record: payable, held, held → APPROVED / REJECTED, decision. */
static const char *note_of(const statement *s, const proc_payout *p, char *buf, size_t cap)
{
    if (p->has_decision_of) {
        snprintf(buf, cap, "decision on %s by %s", p->decision_of,
                 p->has_approver_id ? p->approver_id : "?");
    } else if (p->status == PROC_STATUS_PENDING_APPROVAL) {
        const proc_payout *d = settled_by(s, p);
        if (d == NULL)
            snprintf(buf, cap, "held, undecided");
        else
            snprintf(buf, cap, "held, then %s (%s)", proc_payout_status_name(d->status),
                     d->payout_id);
    } else {
        snprintf(buf, cap, "payable");
    }
    return buf;
}

static void date_of(int64_t ms, char out[16])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

typedef struct {
    int64_t payable[PROC_PAYOUT_KIND_COUNT];
    int64_t payable_total, held_undecided;
    int n_held, n_undecided, n_rejected;
} totals;

static totals sum_up(const statement *s)
{
    totals t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i < s->n; i++) {
        const proc_payout *p = &s->rows[i];
        if (p->status == PROC_STATUS_APPROVED) {
            t.payable[p->kind] += p->amount_minor;
            t.payable_total += p->amount_minor;
        } else if (p->status == PROC_STATUS_REJECTED) {
            t.n_rejected++;
        } else {
            t.n_held++;
            if (settled_by(s, p) == NULL) {
                t.n_undecided++;
                t.held_undecided += p->amount_minor;
            }
        }
    }
    return t;
}

static void print_table(const statement *s, const totals *t)
{
    char when[16], note[512];
    const char *currency = s->rows[0].currency;
    printf("statement of partner %s, period %s (%s minor units)\n", s->partner, s->period,
           currency);
    printf("%-10s  %-23s  %14s  %-16s  %-20s  %s\n", "date", "kind", "amount", "status",
           "source", "note");
    for (int i = 0; i < s->n; i++) {
        const proc_payout *p = &s->rows[i];
        date_of(p->occurred_at, when);
        printf("%-10s  %-23s  %14" PRId64 "  %-16s  %-20s  %s  %s\n", when,
               proc_payout_kind_name(p->kind), p->amount_minor,
               proc_payout_status_name(p->status), p->source_event_id,
               note_of(s, p, note, sizeof note), p->payout_id);
    }
    printf("payable by kind (APPROVED records):\n");
    for (int k = 0; k < PROC_PAYOUT_KIND_COUNT; k++)
        if (t->payable[k] != 0)
            printf("  %-23s  %14" PRId64 "\n", proc_payout_kind_name((proc_payout_kind)k),
                   t->payable[k]);
    printf("  %-23s  %14" PRId64 "\n", "total payable", t->payable_total);
    printf("held for approval: %d records, %d undecided (%" PRId64 "); rejected: %d\n",
           t->n_held, t->n_undecided, t->held_undecided, t->n_rejected);
    printf("tiers (as its payouts were earned):");
    const char *last = NULL;
    for (int i = 0; i < s->n; i++)
        if (!s->rows[i].has_decision_of && (last == NULL || strcmp(last, s->rows[i].tier) != 0)) {
            last = s->rows[i].tier;
            date_of(s->rows[i].occurred_at, when);
            printf("%s %s from %s", i ? " →" : "", last, when);
        }
    printf("\n");
}

static void csv_field(const char *v)
{
    putchar('"');
    for (; *v; v++) {
        if (*v == '"')
            putchar('"');
        putchar(*v);
    }
    putchar('"');
}

static void print_csv(const statement *s)
{
    char when[16], note[512];
    printf("payout_id,date,kind,amount_minor,currency,status,tier,rule_id,source_event_id,note\n");
    for (int i = 0; i < s->n; i++) {
        const proc_payout *p = &s->rows[i];
        date_of(p->occurred_at, when);
        printf("%s,%s,%s,%" PRId64 ",%s,%s,", p->payout_id, when,
               proc_payout_kind_name(p->kind), p->amount_minor, p->currency,
               proc_payout_status_name(p->status));
        csv_field(p->tier);
        putchar(',');
        csv_field(p->rule_id);
        putchar(',');
        csv_field(p->source_event_id);
        putchar(',');
        csv_field(note_of(s, p, note, sizeof note));
        putchar('\n');
    }
}

/* @returns 0, or -1 when memory ran out. */
static int print_json(const statement *s, const totals *t)
{
    char when[16], note[512];
    json_t *o = json_object(), *rows = json_array(), *by_kind = json_object();
    int rc = -1;
    if (o == NULL || rows == NULL || by_kind == NULL)
        goto done;
    for (int i = 0; i < s->n; i++) {
        const proc_payout *p = &s->rows[i];
        date_of(p->occurred_at, when);
        json_t *r = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s}", "payout_id",
                              p->payout_id, "date", when, "kind", proc_payout_kind_name(p->kind),
                              "amount_minor", (json_int_t)p->amount_minor, "status",
                              proc_payout_status_name(p->status), "tier", p->tier, "rule_id",
                              p->rule_id, "source_event_id", p->source_event_id, "note",
                              note_of(s, p, note, sizeof note));
        if (r == NULL || json_array_append_new(rows, r))
            goto done;
    }
    for (int k = 0; k < PROC_PAYOUT_KIND_COUNT; k++)
        if (t->payable[k] != 0 &&
            json_object_set_new(by_kind, proc_payout_kind_name((proc_payout_kind)k),
                                json_integer(t->payable[k])))
            goto done;
    if (json_object_set_new(o, "partner_id", json_string(s->partner)) ||
        json_object_set_new(o, "period", json_string(s->period)) ||
        json_object_set_new(o, "currency", json_string(s->rows[0].currency)) ||
        json_object_set(o, "payouts", rows) || json_object_set(o, "payable_by_kind", by_kind) ||
        json_object_set_new(o, "payable_minor", json_integer(t->payable_total)) ||
        json_object_set_new(o, "held_undecided_minor", json_integer(t->held_undecided)) ||
        json_object_set_new(o, "held_records", json_integer(t->n_held)) ||
        json_object_set_new(o, "rejected_records", json_integer(t->n_rejected)))
        goto done;
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text == NULL)
        goto done;
    printf("%s\n", text);
    free(text);
    rc = 0;
done:
    json_decref(o);
    json_decref(rows);
    json_decref(by_kind);
    return rc;
}

int cons_ctl_statement(const cons_config *cfg, int argc, char **argv)
{
    statement s;
    statement_format fmt = FMT_TABLE;
    char err[1024];
    int rc = CONS_CTL_FAILED;

    memset(&s, 0, sizeof s);
    for (int i = 1; i < argc; i++) {
        const char *val = NULL;
        if (cons_ctl_opt(argc, argv, &i, "--partner", &val) > 0) {
            s.partner = val;
        } else if (cons_ctl_opt(argc, argv, &i, "--period", &val) > 0) {
            s.period = val;
        } else if (cons_ctl_opt(argc, argv, &i, "--format", &val) > 0) {
            if (strcmp(val, "table") == 0)
                fmt = FMT_TABLE;
            else if (strcmp(val, "json") == 0)
                fmt = FMT_JSON;
            else if (strcmp(val, "csv") == 0)
                fmt = FMT_CSV;
            else
                return cons_ctl_usage(USAGE);
        } else {
            return cons_ctl_usage(USAGE);
        }
    }
    if (s.partner == NULL || s.period == NULL)
        return cons_ctl_usage(USAGE);
    if (cons_ctl_scan_payouts(cfg, visit, &s, err, sizeof err) != 0) {
        fprintf(stderr, "incentivectl statement: %s\n", err);
        goto done;
    }
    if (s.n == 0) {
        fprintf(stderr, "incentivectl statement: no payouts of partner %s in %s on %s\n",
                s.partner, s.period, cfg->topic_payouts);
        goto done;
    }
    totals t = sum_up(&s);
    if (fmt == FMT_TABLE)
        print_table(&s, &t);
    else if (fmt == FMT_CSV)
        print_csv(&s);
    else if (print_json(&s, &t) != 0)
        goto done;
    rc = CONS_CTL_OK;
done:
    free(s.rows);
    return rc;
}
