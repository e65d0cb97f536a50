/*
 * cons_ctl_explain.c — `incentivectl explain PAYOUT_ID`: the calculation of one payout,
 * line by line, from the payout topic alone (CONTRACT §4 "Explanation"), then every later
 * record that names it: the reversals of returns (their rule_id) and the decision on it
 * when it was held (decision_of). For the record of a decision, the held payout it
 * decides is explained first.
 *
 * Every figure is recomputed from the record's explanation fields with the contract's
 * formula and printed next to the formula, so a reader can check each step by hand; a
 * payout whose fields do not give its amount is reported and the command fails.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cons_ctl.h"
#include "proc_money.h"

#define USAGE "explain PAYOUT_ID"

typedef struct {
    const char *id;
    proc_payout target;              /* the payout named on the command line */
    bool found;
    proc_payout *related;            /* records that name it, or that it names; owned */
    int n_related, cap_related;
} explain_scan;

/* Keeps the target, what names it, and every payout a decision could name (a held one is
 * found only once the target is known, so all PENDING_APPROVAL records are kept). */
static int visit(void *arg, const proc_payout *p)
{
    explain_scan *s = arg;
    if (strcmp(p->payout_id, s->id) == 0) {
        s->target = *p;
        s->found = true;
        return 0;
    }
    if (strcmp(p->rule_id, s->id) == 0 || (p->has_decision_of && strcmp(p->decision_of, s->id) == 0) ||
        p->status == PROC_STATUS_PENDING_APPROVAL)
        return cons_ctl_keep_payout(&s->related, &s->n_related, &s->cap_related, p);
    return 0;
}

/* An integer with thousands separators: amounts are printed in minor units, exactly. */
static const char *grouped(int64_t v, char out[32])
{
    char digits[24];
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int nd = snprintf(digits, sizeof digits, "%" PRIu64, mag), g = 0;
    if (v < 0)
        out[g++] = '-';
    for (int k = 0; k < nd; k++) {
        if (k > 0 && (nd - k) % 3 == 0)
            out[g++] = ',';
        out[g++] = digits[k];
    }
    out[g] = '\0';
    return out;
}

static void line(const char *label, int64_t v, const char *how)
{
    char b[32];
    printf("  %-24s %16s%s%s\n", label, grouped(v, b), how[0] ? "  " : "", how);
}

static void header(const proc_payout *p)
{
    char at[32];
    time_t t = (time_t)(p->occurred_at / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("payout %s\n", p->payout_id);
    printf("  %s to partner %s, program %s, period %s, tier %s\n",
           proc_payout_kind_name(p->kind), p->partner_id, p->program_id, p->period, p->tier);
    printf("  from event %s at %s, rule %s, status %s\n", p->source_event_id, at, p->rule_id,
           proc_payout_status_name(p->status));
}

/* Prints the calculation. @returns the amount it gives before the cap, and sets *known
 * false when the record states none (the amount is then taken as given). */
static int64_t calculation(const proc_payout *p, bool *known)
{
    const proc_explain *e = &p->explain;
    char a[32], how[160];
    *known = true;
    if (e->has_returned_after && e->has_returned_before && e->has_basis && e->has_sale &&
        e->sale_minor > 0) {
        int64_t now = proc_div_half_even((__int128)e->basis_minor * e->returned_after_minor,
                                         e->sale_minor);
        int64_t before = proc_div_half_even((__int128)e->basis_minor * e->returned_before_minor,
                                            e->sale_minor);
        line("reversed payout", e->basis_minor, "the payout of the returned sale");
        line("sale", e->sale_minor, "converted");
        line("returned before", e->returned_before_minor, "of the sale, by earlier returns");
        line("returned after", e->returned_after_minor, "with this return");
        snprintf(how, sizeof how, "round(%s x returned / sale)", grouped(e->basis_minor, a));
        line("share returned now", now, how);
        line("share returned before", before, "the same with returned before");
        return -(now - before);
    }
    if (e->has_per_unit && e->has_quantity) {
        line("per unit", e->per_unit_minor, "the SPIFF's");
        printf("  %-24s %16d\n", "quantity", (int)e->quantity);
        __int128 v = (__int128)e->per_unit_minor * e->quantity;
        int64_t computed = v > INT64_MAX ? INT64_MAX : (int64_t)v;   /* as the rule holds it */
        line("computed", computed, "per unit x quantity");
        return computed;
    }
    if (e->has_basis && e->has_rate_bp) {
        int64_t bp = e->rate_bp - (e->has_old_rate_bp ? e->old_rate_bp : 0);
        line("basis", e->basis_minor,
             p->kind == PROC_PAYOUT_TIER_TRUE_UP ? "the period's revenue before the event"
                                                 : "the converted sale");
        printf("  %-24s %13d bp\n", "rate", (int)e->rate_bp);
        if (e->has_old_rate_bp)
            printf("  %-24s %13d bp  the tier's before\n", "old rate", (int)e->old_rate_bp);
        snprintf(how, sizeof how, "round(%s x %d / 10,000)", grouped(e->basis_minor, a), (int)bp);
        int64_t v = proc_div_half_even((__int128)e->basis_minor * bp, PROC_BP_DEN);
        line("computed", v, how);
        return v;
    }
    if (e->has_basis)
        line("basis", e->basis_minor, "the converted sale (marginal mode: the bands of "
                                      "CONTRACT §6.5 give the amount)");
    *known = false;
    return p->amount_minor + (e->has_cut ? e->cut_minor : 0);
}

/* @returns 0 when the record's amount follows from its fields, else -1. */
static int explain_one(const proc_payout *p)
{
    bool known;
    header(p);
    if (p->has_decision_of) {
        printf("  the decision on %s: %s by %s\n", p->decision_of,
               p->status == PROC_STATUS_REJECTED ? "REJECTED" : "APPROVED",
               p->has_approver_id ? p->approver_id : "?");
        line("amount", p->amount_minor,
             p->status == PROC_STATUS_REJECTED ? "nothing is paid"
                                               : "released: the held amount net of the "
                                                 "clawbacks held with it");
        return 0;
    }
    int64_t computed = calculation(p, &known);
    if (p->explain.has_cut)
        line("cut by the cap", -p->explain.cut_minor, "CONTRACT §6.12");
    char unit[32];
    snprintf(unit, sizeof unit, "%s minor units", p->currency);
    line("amount", p->amount_minor, unit);
    if (known && computed - (p->explain.has_cut ? p->explain.cut_minor : 0) != p->amount_minor) {
        printf("  (the fields give %" PRId64 ", not the amount)\n",
               computed - (p->explain.has_cut ? p->explain.cut_minor : 0));
        return -1;
    }
    return 0;
}

static void later_records(const explain_scan *s, const char *id)
{
    int n = 0;
    for (int i = 0; i < s->n_related; i++) {
        const proc_payout *r = &s->related[i];
        bool names = strcmp(r->rule_id, id) == 0 ||
                     (r->has_decision_of && strcmp(r->decision_of, id) == 0);
        if (!names)
            continue;
        if (n++ == 0)
            printf("later records naming it:\n");
        char b[32];
        printf("  %s  %-14s %14s  %-16s event %s%s%s\n", r->payout_id,
               proc_payout_kind_name(r->kind), grouped(r->amount_minor, b),
               proc_payout_status_name(r->status), r->source_event_id,
               r->has_decision_of ? "  decision by " : "",
               r->has_decision_of && r->has_approver_id ? r->approver_id : "");
    }
    if (n == 0)
        printf("no later record names it\n");
}

int cons_ctl_explain(const cons_config *cfg, int argc, char **argv)
{
    explain_scan s;
    char err[1024];
    int rc = CONS_CTL_FAILED;

    if (argc != 2 || argv[1][0] == '-')
        return cons_ctl_usage(USAGE);
    memset(&s, 0, sizeof s);
    s.id = argv[1];
    if (cons_ctl_scan_payouts(cfg, visit, &s, err, sizeof err) != 0) {
        fprintf(stderr, "incentivectl explain: %s\n", err);
        goto done;
    }
    if (!s.found) {
        fprintf(stderr, "incentivectl explain: no payout %s on %s\n", s.id, cfg->topic_payouts);
        goto done;
    }
    int bad = 0;
    if (s.target.has_decision_of) {
        for (int i = 0; i < s.n_related; i++)
            if (strcmp(s.related[i].payout_id, s.target.decision_of) == 0) {
                bad |= explain_one(&s.related[i]);
                later_records(&s, s.target.decision_of);   /* the clawbacks held with it */
                printf("\n");
            }
    }
    bad |= explain_one(&s.target);
    later_records(&s, s.id);
    rc = bad ? CONS_CTL_FAILED : CONS_CTL_OK;
done:
    free(s.related);
    return rc;
}
