/*
 * cons_ctl_gen.c — the reproducible event stream of `incentivectl produce --generate`.
 *
 * Everything random comes from splitmix64 streams derived from the seed, and everything
 * numeric is integer arithmetic, so a seed names the same bytes on every machine. Three
 * independent streams keep the parts of the stream from disturbing each other: changing
 * the number of bad records does not change which sales are generated (only their ids).
 */
#include "cons_ctl_gen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS_PER_DAY 86400000LL

/* ---- PRNG -------------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A stream's starting state: the seed and the stream number mixed, so streams of nearby
 * seeds do not overlap. */
static uint64_t stream_state(uint64_t seed, uint64_t stream)
{
    uint64_t s = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    return splitmix64(&s);
}

/* Uniform in [0, n), n > 0. The modulo bias is below 2^-40 for every n used here. */
static uint64_t below(uint64_t *state, uint64_t n)
{
    return splitmix64(state) % n;
}

/* ---- static catalogues ------------------------------------------------------------- */

static const char *const emea_regions[] = {"EMEA-North", "EMEA-South", "DACH"};
static const char *const na_regions[] = {"NA-East", "NA-West", "NA-Central"};
static const char *const apac_regions[] = {"APAC-North", "APAC-South"};

/* Products sold by the (fictional) vendor: firewalls, switches, storage, access points,
 * licences and services. "FW-" / "SW-" / "ST-" match the SPIFFs of the example program
 * file; the others never earn a SPIFF. */
static const char *const base_skus[] = {
    "FW-100", "FW-400", "FW-1800", "SW-24G", "SW-48X", "ST-2U-48T", "ST-4U-96T",
    "AP-6E", "LIC-SEC-1Y", "SVC-CARE-3Y",
};
#define N_BASE_SKUS (sizeof base_skus / sizeof base_skus[0])

static const char *const cert_ids[] = {"cert-sales-foundation", "cert-security-expert"};

/* 10^(k/64) × 10^6 for k = 0..63: amounts are drawn on a log scale in 1/64 decades. */
static const int64_t pow10_64ths[64] = {
    1000000, 1036633, 1074608, 1113974, 1154782, 1197085, 1240938, 1286397,
    1333521, 1382372, 1433013, 1485508, 1539927, 1596339, 1654817, 1715438,
    1778279, 1843423, 1910953, 1980957, 2053525, 2128752, 2206734, 2287573,
    2371374, 2458244, 2548297, 2641648, 2738420, 2838736, 2942727, 3050528,
    3162278, 3278121, 3398208, 3522695, 3651741, 3785515, 3924190, 4067944,
    4216965, 4371445, 4531584, 4697589, 4869675, 5048066, 5232991, 5424691,
    5623413, 5829415, 6042964, 6264335, 6493816, 6731704, 6978306, 7233942,
    7498942, 7773650, 8058422, 8353625, 8659643, 8976871, 9305720, 9646616,
};

/* Amounts: log10(amount_minor) × 64 is centred on 320 (1,000.00) and clamped to
 * [237, 467] (about 50.00 to 200,000.00). */
#define AMOUNT_LOG_CENTRE 320
#define AMOUNT_LOG_MIN 237
#define AMOUNT_LOG_MAX 467
#define FOREIGN_CURRENCY_PCT 15

/* The truncated SaleEvent of DECODE_ERROR records: magic 0, schema id 1 (SaleEvent),
 * then an event_id declared 100 bytes long (zigzag varint 200) of which only "g" follows. */
static const uint8_t truncated_sale[] = {0x00, 0x00, 0x00, 0x00, 0x01, 0xc8, 0x01, 'g'};

/* ---- the generator ----------------------------------------------------------------- */

typedef enum { STAGE_ENROL, STAGE_CERTS, STAGE_SALES, STAGE_DONE } gen_stage;

struct cons_ctl_gen {
    cons_ctl_gen_params p;
    int n_bad;
    int *program_of;          /* partner → index into p.programs */
    uint8_t *region_of;       /* partner → index into its program's region list */
    uint8_t *certs_of;        /* partner → certifications completed (0..2) */
    int *partner_of_rank;     /* Zipf rank → partner (a shuffle of 0..P-1) */
    uint64_t *cum_weight;     /* cum_weight[r] = Σ weight of ranks 0..r */
    char (*skus)[PROC_STR_CAP];
    int n_skus;
    uint64_t n_enrol_records; /* records of the enrolment phase */

    gen_stage stage;
    int idx;                  /* partner being enrolled or certified */
    int cert_k;               /* next certification of partner idx */
    int sale;                 /* next sale */
    int bad_next;             /* next bad record */
    int64_t last_t;           /* occurred_at of the latest sale */
    uint64_t n;               /* number of the next event id */
    uint64_t rng_sales, rng_bad;
    proc_event last_sale;     /* resent by CONS_CTL_BAD_DUPLICATE */
};

const char *cons_ctl_bad_name(cons_ctl_bad bad)
{
    switch (bad) {
    case CONS_CTL_BAD_INVALID_EVENT: return "INVALID_EVENT";
    case CONS_CTL_BAD_UNSUPPORTED_CURRENCY: return "UNSUPPORTED_CURRENCY";
    case CONS_CTL_BAD_NOT_ENROLLED: return "PARTNER_NOT_ENROLLED";
    case CONS_CTL_BAD_DUPLICATE: return "DUPLICATE";
    case CONS_CTL_BAD_DECODE_ERROR: return "DECODE_ERROR";
    default: return "NONE";
    }
}

int cons_ctl_gen_default_bad(int n_sales)
{
    int n = (n_sales + 100) / 200;
    if (n_sales < 50)
        return 0;
    return n < CONS_CTL_BAD_COUNT - 1 ? CONS_CTL_BAD_COUNT - 1 : n;
}

/* The regions a partner of program p may have, by the program currency's continent. */
static const char *const *regions_of(const proc_program *p, int *n)
{
    static const char *const emea_currencies[] = {"EUR", "GBP", "CHF", "SEK", "NOK",
                                                  "DKK", "PLN", NULL};
    if (strcmp(p->currency, "USD") == 0 || strcmp(p->currency, "CAD") == 0) {
        *n = 3;
        return na_regions;
    }
    for (int i = 0; emea_currencies[i]; i++)
        if (strcmp(p->currency, emea_currencies[i]) == 0) {
            *n = 3;
            return emea_regions;
        }
    *n = 2;
    return apac_regions;
}

/* The catalogue: the base SKUs plus "<prefix>X1" for each SPIFF prefix of the program
 * file that no base SKU starts with, so every SPIFF can fire. */
static int build_catalogue(cons_ctl_gen *g)
{
    int cap = (int)N_BASE_SKUS;
    for (int i = 0; i < g->p.n_programs; i++)
        cap += g->p.programs[i].n_spiffs;
    g->skus = calloc((size_t)cap, sizeof *g->skus);
    if (g->skus == NULL)
        return -1;
    for (size_t i = 0; i < N_BASE_SKUS; i++)
        snprintf(g->skus[g->n_skus++], PROC_STR_CAP, "%s", base_skus[i]);
    for (int i = 0; i < g->p.n_programs; i++)
        for (int j = 0; j < g->p.programs[i].n_spiffs; j++) {
            const char *prefix = g->p.programs[i].spiffs[j].sku_prefix;
            bool covered = false;
            for (int k = 0; k < g->n_skus && !covered; k++)
                covered = strncmp(g->skus[k], prefix, strlen(prefix)) == 0;
            if (!covered && strlen(prefix) + 2 < PROC_STR_CAP)
                snprintf(g->skus[g->n_skus++], PROC_STR_CAP, "%sX1", prefix);
        }
    return 0;
}

/* Partners: program round-robin, region and certifications from the setup stream, and a
 * shuffled Zipf ranking (weight of rank r = 2^40 / (r + 1)) for choosing who sells. */
static int build_partners(cons_ctl_gen *g)
{
    size_t n = (size_t)g->p.n_partners;
    uint64_t rng = stream_state(g->p.seed, 1);

    g->program_of = calloc(n, sizeof *g->program_of);
    g->region_of = calloc(n, sizeof *g->region_of);
    g->certs_of = calloc(n, sizeof *g->certs_of);
    g->partner_of_rank = calloc(n, sizeof *g->partner_of_rank);
    g->cum_weight = calloc(n, sizeof *g->cum_weight);
    if (!g->program_of || !g->region_of || !g->certs_of || !g->partner_of_rank ||
        !g->cum_weight)
        return -1;
    g->n_enrol_records = n;
    for (size_t i = 0; i < n; i++) {
        int n_regions;
        g->program_of[i] = (int)(i % (size_t)g->p.n_programs);
        regions_of(&g->p.programs[g->program_of[i]], &n_regions);
        g->region_of[i] = (uint8_t)below(&rng, (uint64_t)n_regions);
        /* Both draws always happen, so cert_pct changes nothing but the certifications. */
        uint64_t certified = below(&rng, 100), second = below(&rng, 3);
        if (certified < (uint64_t)g->p.cert_pct)
            g->certs_of[i] = second == 0 ? 2 : 1;
        g->n_enrol_records += g->certs_of[i];
        g->partner_of_rank[i] = (int)i;
    }
    for (size_t i = n - 1; i > 0; i--) {     /* Fisher–Yates */
        size_t j = (size_t)below(&rng, i + 1);
        int t = g->partner_of_rank[i];
        g->partner_of_rank[i] = g->partner_of_rank[j];
        g->partner_of_rank[j] = t;
    }
    for (size_t r = 0; r < n; r++)
        g->cum_weight[r] = (r ? g->cum_weight[r - 1] : 0) + (UINT64_C(1) << 40) / (r + 1);
    return 0;
}

cons_ctl_gen *cons_ctl_gen_new(const cons_ctl_gen_params *params, char *err, size_t errcap)
{
    cons_ctl_gen *g = NULL;
    const cons_ctl_gen_params *p = params;

    if (p->n_partners < 1 || p->n_partners > CONS_CTL_GEN_MAX_PARTNERS) {
        snprintf(err, errcap, "partners must be between 1 and %d", CONS_CTL_GEN_MAX_PARTNERS);
        return NULL;
    }
    if (p->n_sales < 0 || p->n_sales > CONS_CTL_GEN_MAX_SALES) {
        snprintf(err, errcap, "sales must be between 0 and %d", CONS_CTL_GEN_MAX_SALES);
        return NULL;
    }
    if (p->days < 1 || p->days > CONS_CTL_GEN_MAX_DAYS) {
        snprintf(err, errcap, "days must be between 1 and %d", CONS_CTL_GEN_MAX_DAYS);
        return NULL;
    }
    if (p->cert_pct < 0 || p->cert_pct > 100 || p->n_bad < -1 || p->n_programs < 1 ||
        p->programs == NULL) {
        snprintf(err, errcap, "invalid generator parameters");
        return NULL;
    }
    if ((g = calloc(1, sizeof *g)) == NULL)
        goto oom;
    g->p = *p;
    g->n_bad = p->n_bad < 0 ? cons_ctl_gen_default_bad(p->n_sales) : p->n_bad;
    if (g->n_bad > p->n_sales)      /* each bad record follows a sale it may resend */
        g->n_bad = p->n_sales;
    if (build_catalogue(g) || build_partners(g))
        goto oom;
    g->rng_sales = stream_state(p->seed, 2);
    g->rng_bad = stream_state(p->seed, 3);
    g->last_t = p->start_ms;
    if (p->phase == CONS_CTL_PHASE_SALES) {
        g->stage = STAGE_SALES;
        g->n = g->n_enrol_records;
    } else {
        g->stage = STAGE_ENROL;
    }
    return g;
oom:
    snprintf(err, errcap, "out of memory for %d partners", p->n_partners);
    cons_ctl_gen_destroy(g);
    return NULL;
}

void cons_ctl_gen_destroy(cons_ctl_gen *g)
{
    if (g == NULL)
        return;
    free(g->program_of);
    free(g->region_of);
    free(g->certs_of);
    free(g->partner_of_rank);
    free(g->cum_weight);
    free(g->skus);
    free(g);
}

/* ---- records ----------------------------------------------------------------------- */

static void partner_id(const cons_ctl_gen *g, int partner, char *out, size_t cap)
{
    snprintf(out, cap, "g%" PRIu64 "-p%05d", g->p.seed, partner);
}

static void begin(cons_ctl_gen *g, cons_ctl_record *out, proc_event_type type, int partner)
{
    memset(out, 0, sizeof *out);
    out->topic = type;
    out->partition = -1;
    out->ev.type = type;
    snprintf(out->ev.event_id, sizeof out->ev.event_id, "g%" PRIu64 "-%" PRIu64, g->p.seed,
             g->n++);
    partner_id(g, partner, out->ev.partner_id, sizeof out->ev.partner_id);
    out->has_key = true;
    snprintf(out->key, sizeof out->key, "%s", out->ev.partner_id);
}

static void enrolment(cons_ctl_gen *g, int partner, cons_ctl_record *out)
{
    const proc_program *prog = &g->p.programs[g->program_of[partner]];
    proc_registration *r = &out->ev.u.reg;
    int n_regions;
    const char *const *regions = regions_of(prog, &n_regions);

    begin(g, out, PROC_EVENT_REGISTRATION, partner);
    /* The day before the first sale, one millisecond apart: enrolments precede sales. */
    out->ev.occurred_at = g->p.start_ms - MS_PER_DAY + partner;
    r->kind = PROC_REG_PARTNER_ENROLLED;
    r->has_program_id = true;
    snprintf(r->program_id, sizeof r->program_id, "%s", prog->id);
    r->has_region = true;
    snprintf(r->region, sizeof r->region, "%s", regions[g->region_of[partner]]);
}

static void certification(cons_ctl_gen *g, int partner, int k, cons_ctl_record *out)
{
    proc_registration *r = &out->ev.u.reg;

    begin(g, out, PROC_EVENT_REGISTRATION, partner);
    /* In the first hour of the sales: a period event of the first period. */
    out->ev.occurred_at = g->p.start_ms + (int64_t)(partner % 3600) * 1000 + k;
    r->kind = PROC_REG_CERTIFICATION_COMPLETED;
    r->has_certification_id = true;
    snprintf(r->certification_id, sizeof r->certification_id, "%s", cert_ids[k]);
}

/* A partner drawn from the Zipf ranking. */
static int pick_partner(const cons_ctl_gen *g, uint64_t *rng)
{
    size_t n = (size_t)g->p.n_partners, lo = 0, hi = n - 1;
    uint64_t u = below(rng, g->cum_weight[n - 1]);

    while (lo < hi) {                /* the first rank whose cumulative weight exceeds u */
        size_t mid = lo + (hi - lo) / 2;
        if (g->cum_weight[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return g->partner_of_rank[lo];
}

/* Log-normal-like: the sum of three uniforms (Irwin–Hall) on a log10 scale. */
static int64_t pick_amount(uint64_t *rng)
{
    int64_t sum = 0, log64, amount;

    for (int k = 0; k < 3; k++)
        sum += (int64_t)below(rng, 65536);
    log64 = AMOUNT_LOG_CENTRE + (sum - 3 * 32768) * 96 / 65536;
    if (log64 < AMOUNT_LOG_MIN)
        log64 = AMOUNT_LOG_MIN;
    if (log64 > AMOUNT_LOG_MAX)
        log64 = AMOUNT_LOG_MAX;
    amount = pow10_64ths[log64 % 64];
    for (int64_t d = log64 / 64; d > 0; d--)
        amount *= 10;
    amount /= 1000000;
    /* Fill the gap to the next 1/64 decade (3.7 %) so amounts do not cluster. */
    return amount + amount * (int64_t)below(rng, 366) / 10000;
}

/* A plausible SALE at time t drawn from rng (not yet numbered: the caller calls begin). */
static void sale(cons_ctl_gen *g, uint64_t *rng, int64_t t, cons_ctl_record *out)
{
    int partner = pick_partner(g, rng);
    const proc_program *prog = &g->p.programs[g->program_of[partner]];
    proc_sale *s = &out->ev.u.sale;
    uint64_t q1, q2;

    begin(g, out, PROC_EVENT_SALE, partner);
    out->ev.occurred_at = t;
    s->kind = PROC_SALE_SALE;
    s->amount_minor = pick_amount(rng);
    if (prog->n_fx > 0 && below(rng, 100) < FOREIGN_CURRENCY_PCT)
        snprintf(s->currency, sizeof s->currency, "%s",
                 prog->fx[below(rng, (uint64_t)prog->n_fx)].currency);
    else
        snprintf(s->currency, sizeof s->currency, "%s", prog->currency);
    snprintf(s->sku, sizeof s->sku, "%s", g->skus[below(rng, (uint64_t)g->n_skus)]);
    q1 = below(rng, 20);             /* the smaller of two draws: small orders dominate */
    q2 = below(rng, 20);
    s->quantity = (int32_t)(1 + (q1 < q2 ? q1 : q2));
}

/* occurred_at of sale i: sale i falls in the i-th of n_sales equal slots of the span, so
 * the sales come out in time order without sorting. */
static int64_t sale_time(cons_ctl_gen *g, int i)
{
    uint64_t span = (uint64_t)g->p.days * MS_PER_DAY, n = (uint64_t)g->p.n_sales;
    uint64_t lo = (uint64_t)i * span / n, hi = ((uint64_t)i + 1) * span / n;
    return g->p.start_ms + (int64_t)(lo + (hi > lo ? below(&g->rng_sales, hi - lo) : 0));
}

/* @returns the sale after which bad record k goes: bad records sit in the middle of
 * n_bad equal runs of sales. */
static int bad_position(const cons_ctl_gen *g, int k)
{
    return (int)(((uint64_t)2 * (uint64_t)k + 1) * (uint64_t)g->p.n_sales /
                 ((uint64_t)2 * (uint64_t)g->n_bad));
}

static void bad_record(cons_ctl_gen *g, int k, cons_ctl_record *out)
{
    cons_ctl_bad kind = (cons_ctl_bad)(1 + k % (CONS_CTL_BAD_COUNT - 1));

    switch (kind) {
    case CONS_CTL_BAD_DUPLICATE:
        memset(out, 0, sizeof *out);
        out->topic = PROC_EVENT_SALE;
        out->partition = -1;
        out->ev = g->last_sale;
        out->has_key = true;
        snprintf(out->key, sizeof out->key, "%s", out->ev.partner_id);
        break;
    case CONS_CTL_BAD_DECODE_ERROR: {
        int partner = pick_partner(g, &g->rng_bad);
        memset(out, 0, sizeof *out);
        out->topic = PROC_EVENT_SALE;
        out->partition = -1;
        out->has_key = true;
        partner_id(g, partner, out->key, sizeof out->key);
        out->is_raw = true;
        out->raw = truncated_sale;
        out->raw_len = sizeof truncated_sale;
        break;
    }
    default:
        sale(g, &g->rng_bad, g->last_t, out);
        if (kind == CONS_CTL_BAD_INVALID_EVENT) {
            out->ev.u.sale.amount_minor = 0;
        } else if (kind == CONS_CTL_BAD_UNSUPPORTED_CURRENCY) {
            snprintf(out->ev.u.sale.currency, sizeof out->ev.u.sale.currency, "XXX");
        } else {                     /* CONS_CTL_BAD_NOT_ENROLLED */
            snprintf(out->ev.partner_id, sizeof out->ev.partner_id,
                     "g%" PRIu64 "-ghost%d", g->p.seed, k);
            snprintf(out->key, sizeof out->key, "%s", out->ev.partner_id);
        }
        break;
    }
    out->bad = kind;
}

int cons_ctl_gen_next(cons_ctl_gen *g, cons_ctl_record *out)
{
    for (;;) {
        switch (g->stage) {
        case STAGE_ENROL:
            if (g->idx < g->p.n_partners) {
                enrolment(g, g->idx++, out);
                return 1;
            }
            g->stage = STAGE_CERTS;
            g->idx = 0;
            g->cert_k = 0;
            break;
        case STAGE_CERTS:
            while (g->idx < g->p.n_partners && g->cert_k >= g->certs_of[g->idx]) {
                g->idx++;
                g->cert_k = 0;
            }
            if (g->idx < g->p.n_partners) {
                certification(g, g->idx, g->cert_k++, out);
                return 1;
            }
            g->stage = g->p.phase == CONS_CTL_PHASE_ENROL ? STAGE_DONE : STAGE_SALES;
            break;
        case STAGE_SALES:
            /* A bad record due after the previous sale comes first. */
            if (g->bad_next < g->n_bad && g->sale > 0 &&
                bad_position(g, g->bad_next) == g->sale - 1) {
                bad_record(g, g->bad_next++, out);
                return 1;
            }
            if (g->sale < g->p.n_sales) {
                g->last_t = sale_time(g, g->sale++);
                sale(g, &g->rng_sales, g->last_t, out);
                g->last_sale = out->ev;
                return 1;
            }
            g->stage = STAGE_DONE;
            break;
        case STAGE_DONE:
            return 0;
        }
    }
}
