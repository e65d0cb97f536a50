#include "cons_layout.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc_engine.h"

void cons_layout_state_key(char *key, size_t cap, const char *ns, const char *partner_id)
{
    snprintf(key, cap, "%s:state:%s", ns, partner_id);
}

/* One period's scores, from the row the batch's last event of that period left: the period
 * may have been pruned from the state since (closed later in the same batch). */
static int leaderboard_row(cons_ledger_batch *b, const char *ns, const proc_program *prog,
                           const cons_partner_entry *e, const proc_lb_row *r)
{
    char period[PROC_PERIOD_CAP], key[CONS_KEY_CAP];
    const char *id = e->state.partner_id;

    proc_period_name(prog->period, r->period_key, period, sizeof period);
    snprintf(key, sizeof key, "%s:lb:%s:%s:revenue", ns, prog->id, period);
    if (cons_ledger_batch_zadd(b, key, r->revenue_minor, id))
        return -1;
    snprintf(key, sizeof key, "%s:lb:%s:%s:points", ns, prog->id, period);
    if (cons_ledger_batch_zadd(b, key, r->points, id))
        return -1;
    if (e->state.region[0]) {
        snprintf(key, sizeof key, "%s:lb:%s:%s:region:%s:revenue", ns, prog->id, period,
                 e->state.region);
        if (cons_ledger_batch_zadd(b, key, r->revenue_minor, id))
            return -1;
    }
    return 0;
}

/* The partner hash: what a dashboard shows for one partner, about its latest period. */
static int partner_hash(cons_ledger_batch *b, const char *ns, const proc_program *prog,
                        const proc_partner *pt)
{
    enum { N = 11 };
    char key[CONS_KEY_CAP];
    char period[PROC_PERIOD_CAP] = "", revenue[24] = "0", points[24] = "0", distance[24] = "";
    char certs[24], payouts[24] = "0", nps[16] = "";
    const char *next_tier = "";
    const proc_period_state *latest = proc_partner_latest(pt);
    int tier = proc_current_tier(pt);

    if (latest) {
        proc_period_name(prog->period, latest->key, period, sizeof period);
        snprintf(revenue, sizeof revenue, "%" PRId64, latest->revenue_minor);
        snprintf(points, sizeof points, "%" PRId64, proc_period_points(prog, latest));
        snprintf(payouts, sizeof payouts, "%" PRId64, latest->payouts_minor);
        int32_t v = proc_period_nps(latest);
        if (v != INT32_MIN)
            snprintf(nps, sizeof nps, "%d", (int)v);
    }
    if (tier + 1 < prog->n_tiers) {
        int64_t rev = latest ? latest->revenue_minor : 0;
        int64_t d = prog->tiers[tier + 1].min_revenue_minor - rev;
        next_tier = prog->tiers[tier + 1].name;
        snprintf(distance, sizeof distance, "%" PRId64, d > 0 ? d : 0);
    }
    snprintf(certs, sizeof certs, "%d", (int)pt->certifications_total);

    const char *fields[N] = {"program", "region", "tier", "period", "revenue_minor", "points",
                             "next_tier", "distance_to_next_tier_minor", "certifications",
                             "period_payouts_minor", "nps"};
    const char *values[N] = {prog->id, pt->region, prog->tiers[tier].name, period, revenue,
                             points, next_tier, distance, certs, payouts, nps};
    snprintf(key, sizeof key, "%s:partner:%s", ns, pt->partner_id);
    return cons_ledger_batch_hset(b, key, N, fields, values);
}

int cons_layout_partner(cons_ledger_batch *b, const char *ns, const proc_program *prog,
                        const cons_partner_entry *e)
{
    char key[CONS_KEY_CAP];
    uint8_t *blob = NULL;
    size_t len = 0;
    int rc = -1;

    if (proc_partner_encode(&e->state, &blob, &len))
        goto done;
    cons_layout_state_key(key, sizeof key, ns, e->state.partner_id);
    if (cons_ledger_batch_set(b, key, blob, len))
        goto done;
    if (prog != NULL) {
        if (partner_hash(b, ns, prog, &e->state))
            goto done;
        for (int i = 0; i < e->n_rows; i++)
            if (leaderboard_row(b, ns, prog, e, &e->rows[i]))
                goto done;
    }
    rc = 0;
done:
    free(blob);
    return rc;
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
