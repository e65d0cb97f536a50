/*
 * cons_ctl_gen.c — the reproducible event stream of `incentivectl produce --generate`.
 *
 * Everything random comes from splitmix64 streams derived from the seed, and everything
 * numeric is integer arithmetic, so a seed names the same bytes on every machine.
 * Independent streams keep the parts of the stream from disturbing each other: changing
 * the number of bad records, deals, returns or responses does not change which sales are
 * generated (only their ids).
 *
 * The generator always walks the whole stream (so event ids and what it knows about each
 * partner — the latest date of its period events, its recent sales — are the same whatever
 * phase is selected) and hands out only the records of the selected phase.
 */
#include "cons_ctl_gen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS_PER_DAY 86400000LL
#define MS_PER_HOUR 3600000LL

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

/* The streams. 1-3 are those of the plain stream and keep their numbers. */
enum {
    RNG_SETUP = 1,      /* programs, regions, certifications, the Zipf ranking */
    RNG_SALES = 2,      /* the regular sales */
    RNG_BAD = 3,        /* the n_bad records */
    RNG_DEALS = 4,      /* holders, rivals, values */
    RNG_SCRIPT = 5,     /* scripted sales-phase records: deal sales, returns, whales, ... */
    RNG_SURVEYS = 6,
    RNG_MOOD = 7        /* which partners are unhappy (per partner, not a sequence) */
};

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
#define SKU_SERVICES 9                  /* "SVC-CARE-3Y": what scripted partners sell */

static const char *const cert_ids[] = {"cert-sales-foundation", "cert-security-expert"};
#define N_CERT_IDS 2

/* Pulse survey questions; unhappy partners score LOW_QUESTION lowest. */
static const char *const pulse_questions[] = {
    "q-workload", "q-tools", "q-support", "q-pricing", "q-training",
    "q-leads", "q-portal", "q-payments", "q-marketing", "q-recognition",
};
#define N_QUESTIONS 10
#define LOW_QUESTION 2

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

/* Deal values: 20,000.00 × 10^(k/64) for k in [0, 90): 20,000.00 to about 500,000.00. */
#define DEAL_VALUE_BASE 2000000
#define DEAL_VALUE_LOG_SPAN 90

/* The truncated SaleEvent of DECODE_ERROR records: magic 0, schema id 1 (SaleEvent),
 * then an event_id declared 100 bytes long (zigzag varint 200) of which only "g" follows. */
static const uint8_t truncated_sale[] = {0x00, 0x00, 0x00, 0x00, 0x01, 0xc8, 0x01, 'g'};

/* The UNKNOWN_SCHEMA record: magic 0, schema id 31337 (registered nowhere), a few bytes. */
static const uint8_t unknown_schema_sale[] = {0x00, 0x00, 0x00, 0x7a, 0x69, 0x02, 'g'};

/* ---- the plan ---------------------------------------------------------------------- */

typedef enum { FATE_APPROVED, FATE_REJECTED, FATE_PENDING, FATE_EXPIRED } deal_fate;

typedef struct {
    int holder, rival, rival2;        /* partner indexes; rivals -1 with one partner */
    int64_t value;                    /* in the holder's program currency */
    int64_t registered_at, decided_at;
    deal_fate fate;
    bool sold;                        /* its deal sale was generated: */
    uint64_t sale_n;                  /*   event number, */
    int64_t sale_amount, sale_t;      /*   amount and occurred_at */
} gen_deal;

/* The scripted records of the sales phase, each due after a given regular sale. */
typedef enum {
    IT_DOWNGRADE,       /* a = scripted partner: a tier two periods back, then a small sale */
    IT_CERTIFY_SALE,    /* a = scripted partner: the revenue of a tier needing certifications */
    IT_DEAL_SALE,       /* a = deal: a sale by its holder naming it */
    IT_DEAL_SECOND,     /* a = deal: a second one */
    IT_DEAL_FOREIGN,    /* a = deal: a sale by its rival naming it (no bonus) */
    IT_DEAL_RETURN,     /* a = deal: half of its deal sale returned */
    IT_WHALE,           /* a = program, b = top partner 0..2 (approval) or 3 (the cap) */
    IT_WHALE_RETURN,    /* a = program: the full return of its first whale */
    IT_RETURN,          /* a = return number */
    IT_UNKNOWN_SCHEMA,
    IT_MISPARTITIONED,
    IT_LATE,            /* a = program; waits until a partner of it can send one */
    IT_ACCEPT_LATE      /* a = program; waits likewise */
} item_kind;

typedef struct {
    int after;          /* regular sale index it follows (-1: before the first) */
    int seq;            /* creation order, to sort stably */
    item_kind kind;
    int a, b;
} gen_item;

/* One of the last RING regular sales, for returns. */
typedef struct {
    int partner;
    uint64_t n;
    int64_t amount, t;
    int32_t quantity;
    int sku;
    char currency[PROC_CURRENCY_CAP];
    bool used;
} ring_entry;
#define RING 64

/* Per program: scripted partners, top partners, and the whale to be returned. */
typedef struct {
    int top[3];                 /* its best-ranked partners, -1 when it has fewer */
    int downgrade, certify;     /* scripted partner indexes, or -1 */
    int down_tier, cert_tier;   /* the tier each of them is about */
    int64_t approval_amount;    /* a sale whose rebate reaches the threshold, or 0 */
    int64_t cap_amount;         /* a sale whose rebate alone reaches the cap, or 0 */
    bool whale_sold;
    uint64_t whale_n;
    int64_t whale_amount, whale_t;
} gen_prog;

typedef enum {
    STAGE_ENROL, STAGE_SALES, STAGE_SURVEYS, STAGE_CONFLICTS, STAGE_DONE
} gen_stage;

struct cons_ctl_gen {
    cons_ctl_gen_params p;
    int n_bad, n_deals, n_returns, n_responses;
    int n_all;                /* regular + scripted partners */
    int *program_of;          /* partner → index into p.programs */
    uint8_t *region_of;       /* partner → index into its program's region list */
    uint8_t *certs_of;        /* partner → certifications of the enrol phase (0..2) */
    int *partner_of_rank;     /* Zipf rank → partner (a shuffle of 0..P-1) */
    uint64_t *cum_weight;     /* cum_weight[r] = Σ weight of ranks 0..r */
    int64_t *watermark;       /* partner → latest occurred_at of its applied period events */
    int *respondents;         /* partner → respondents so far */
    char (*skus)[PROC_STR_CAP];
    int n_skus;
    gen_prog *progs;
    gen_deal *deals;
    int first_approved, first_rejected;    /* deal indexes, or -1 */
    gen_item *items;
    int n_items;
    int *waiting;             /* deferred items (LATE, ACCEPT_LATE), by index */
    int n_waiting;
    int64_t min_validity_ms, max_validity_days;

    gen_stage stage;
    int sub, idx, k;          /* position inside the stage */
    int sale;                 /* regular sales generated */
    int bad_next;             /* next bad record */
    int item_next, item_step; /* next scripted item, and the record within it */
    int cert_repeats;         /* repeated certifications so far */
    ring_entry twice;         /* the sale of a "partial twice" return between its steps */
    bool waiting_checked;     /* deferred items checked since the last regular sale */
    int64_t last_t;           /* occurred_at of the latest regular sale */
    int last_partner;         /* its partner (-1 before the first) */
    uint64_t n;               /* number of the next event id */
    uint64_t rng_sales, rng_bad, rng_script, rng_surveys;
    proc_event last_sale;     /* resent by CONS_CTL_BAD_DUPLICATE */
    ring_entry ring[RING];
    int ring_len, ring_head;
    int responses;            /* responses generated */
    bool has_first_response;
    proc_event first_response;/* repeated by CONS_CTL_BAD_DUPLICATE_RESPONSE */
};

const char *cons_ctl_bad_name(cons_ctl_bad bad)
{
    switch (bad) {
    case CONS_CTL_BAD_INVALID_EVENT: return "INVALID_EVENT";
    case CONS_CTL_BAD_UNSUPPORTED_CURRENCY: return "UNSUPPORTED_CURRENCY";
    case CONS_CTL_BAD_NOT_ENROLLED: return "PARTNER_NOT_ENROLLED";
    case CONS_CTL_BAD_DUPLICATE: return "DUPLICATE";
    case CONS_CTL_BAD_DECODE_ERROR: return "DECODE_ERROR";
    case CONS_CTL_BAD_UNKNOWN_SCHEMA: return "UNKNOWN_SCHEMA";
    case CONS_CTL_BAD_MISPARTITIONED: return "MISPARTITIONED";
    case CONS_CTL_BAD_LATE_EVENT: return "LATE_EVENT";
    case CONS_CTL_BAD_OVER_RETURN: return "OVER_RETURN";
    case CONS_CTL_BAD_FOREIGN_RETURN: return "FOREIGN_RETURN";
    case CONS_CTL_BAD_UNKNOWN_DEAL: return "UNKNOWN_DEAL";
    case CONS_CTL_BAD_DEAL_NOT_HELD: return "DEAL_NOT_HELD";
    case CONS_CTL_BAD_DUPLICATE_RESPONSE: return "DUPLICATE_RESPONSE";
    case CONS_CTL_BAD_INVALID_SURVEY: return "INVALID_SURVEY";
    default: return "NONE";
    }
}

const char *cons_ctl_bad_reason(cons_ctl_bad bad)
{
    switch (bad) {
    case CONS_CTL_BAD_INVALID_EVENT:
    case CONS_CTL_BAD_UNKNOWN_DEAL:
    case CONS_CTL_BAD_DEAL_NOT_HELD:
    case CONS_CTL_BAD_INVALID_SURVEY: return "INVALID_EVENT";
    case CONS_CTL_BAD_UNSUPPORTED_CURRENCY: return "UNSUPPORTED_CURRENCY";
    case CONS_CTL_BAD_NOT_ENROLLED: return "PARTNER_NOT_ENROLLED";
    case CONS_CTL_BAD_DECODE_ERROR: return "DECODE_ERROR";
    case CONS_CTL_BAD_UNKNOWN_SCHEMA: return "UNKNOWN_SCHEMA";
    case CONS_CTL_BAD_MISPARTITIONED: return "MISPARTITIONED";
    case CONS_CTL_BAD_LATE_EVENT: return "LATE_EVENT";
    case CONS_CTL_BAD_OVER_RETURN:
    case CONS_CTL_BAD_FOREIGN_RETURN: return "RETURN_INVALID";
    case CONS_CTL_BAD_DUPLICATE_RESPONSE: return "DUPLICATE_RESPONSE";
    default: return NULL;
    }
}

const char *cons_ctl_phase_name(cons_ctl_phase phase)
{
    switch (phase) {
    case CONS_CTL_PHASE_ENROL: return "enrol";
    case CONS_CTL_PHASE_SALES: return "sales";
    case CONS_CTL_PHASE_SURVEYS: return "surveys";
    case CONS_CTL_PHASE_CONFLICTS: return "conflicts";
    default: return "all";
    }
}

int cons_ctl_gen_default_bad(int n_sales)
{
    int n = (n_sales + 100) / 200;
    if (n_sales < 50)
        return 0;
    return n < CONS_CTL_BAD_CYCLE ? CONS_CTL_BAD_CYCLE : n;
}

int cons_ctl_gen_default_deals(int n_partners)
{
    int n = n_partners / 10;
    return n < 6 ? 6 : n > 1000 ? 1000 : n;
}

int cons_ctl_gen_default_returns(int n_sales)
{
    if (n_sales < 50)
        return 0;
    return n_sales / 100 < 10 ? 10 : n_sales / 100;
}

int cons_ctl_gen_default_responses(int n_partners)
{
    long long n = 3LL * n_partners;
    return n < 50 ? 50 : n > 100000 ? 100000 : (int)n;
}

/* ---- helpers ------------------------------------------------------------------------ */

static const proc_program *prog_of(const cons_ctl_gen *g, int partner)
{
    return &g->p.programs[g->program_of[partner]];
}

static int64_t span_end(const cons_ctl_gen *g)
{
    return g->p.start_ms + (int64_t)g->p.days * MS_PER_DAY;
}

static int64_t period_start_of(const proc_program *prog, int64_t t)
{
    return proc_period_start_ms(prog->period, proc_period_key(prog->period, t));
}

static void raise_watermark(cons_ctl_gen *g, int partner, int64_t t)
{
    if (g->watermark[partner] == 0 || t > g->watermark[partner])
        g->watermark[partner] = t;
}

/* base × 10^(log64 / 64), log64 >= 0, integer only. */
static int64_t log_scaled(int64_t base, int log64)
{
    int64_t v = base * pow10_64ths[log64 % 64] / 1000000;
    for (int d = log64 / 64; d > 0; d--)
        v *= 10;
    return v;
}

/* ceil(x × 10000 / bp), at most `max`; 0 when there is no such amount. */
static int64_t amount_for_bp(int64_t x, int32_t bp, int64_t max)
{
    if (bp <= 0 || x <= 0 || x == INT64_MAX)
        return 0;
    __int128 a = ((__int128)x * 10000 + bp - 1) / bp;
    return a > max ? max : (int64_t)a;
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

/* ---- building the plan -------------------------------------------------------------- */

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

/* The scripted partners of the scenarios, per program: "downgrade" needs a tier above
 * the entry tier that needs no certification, "certify" the first tier that needs one or
 * two (the generator knows two certification ids). */
static int count_scripted(cons_ctl_gen *g)
{
    int n = 0;
    for (int j = 0; j < g->p.n_programs; j++) {
        const proc_program *prog = &g->p.programs[j];
        gen_prog *gp = &g->progs[j];
        gp->downgrade = gp->certify = gp->down_tier = gp->cert_tier = -1;
        if (!g->p.scenarios)
            continue;
        for (int t = 1; t < prog->n_tiers && gp->down_tier < 0; t++)
            if (prog->tiers[t].min_certifications == 0 && prog->tiers[t].min_revenue_minor > 1 &&
                prog->tiers[t].min_revenue_minor <= prog->max_sale_minor)
                gp->down_tier = t;
        for (int t = 1; t < prog->n_tiers && gp->cert_tier < 0; t++)
            if (prog->tiers[t].min_certifications >= 1) {
                if (prog->tiers[t].min_certifications <= N_CERT_IDS &&
                    prog->tiers[t].min_revenue_minor <= prog->max_sale_minor)
                    gp->cert_tier = t;
                else
                    break;
            }
        if (gp->down_tier > 0)
            gp->downgrade = g->p.n_partners + n++;
        if (gp->cert_tier > 0)
            gp->certify = g->p.n_partners + n++;
    }
    return n;
}

/* Partners: program round-robin, region and certifications from the setup stream, and a
 * shuffled Zipf ranking (weight of rank r = 2^40 / (r + 1)) for choosing who sells. */
static int build_partners(cons_ctl_gen *g)
{
    size_t n = (size_t)g->p.n_partners, all;
    uint64_t rng = stream_state(g->p.seed, RNG_SETUP);

    unsigned n_programs = (unsigned)g->p.n_programs;      /* >= 1: checked */
    g->progs = calloc(n_programs, sizeof *g->progs);
    if (g->progs == NULL)
        return -1;
    g->n_all = g->p.n_partners + count_scripted(g);
    all = (size_t)g->n_all;
    g->program_of = calloc(all, sizeof *g->program_of);
    g->region_of = calloc(all, sizeof *g->region_of);
    g->certs_of = calloc(all, sizeof *g->certs_of);
    g->watermark = calloc(all, sizeof *g->watermark);
    g->respondents = calloc(all, sizeof *g->respondents);
    g->partner_of_rank = calloc(n, sizeof *g->partner_of_rank);
    g->cum_weight = calloc(n, sizeof *g->cum_weight);
    if (!g->program_of || !g->region_of || !g->certs_of || !g->watermark || !g->respondents ||
        !g->partner_of_rank || !g->cum_weight)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int n_regions;
        g->program_of[i] = (int)(i % (size_t)g->p.n_programs);
        regions_of(&g->p.programs[g->program_of[i]], &n_regions);
        g->region_of[i] = (uint8_t)below(&rng, (uint64_t)n_regions);
        /* Both draws always happen, so cert_pct changes nothing but the certifications. */
        uint64_t certified = below(&rng, 100), second = below(&rng, 3);
        if (certified < (uint64_t)g->p.cert_pct)
            g->certs_of[i] = second == 0 ? 2 : 1;
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

    for (int j = 0; j < g->p.n_programs; j++) {
        gen_prog *gp = &g->progs[j];
        const proc_program *prog = &g->p.programs[j];
        int32_t bp_min = INT32_MAX;
        for (int t = 0; t < prog->n_tiers; t++)
            if (prog->tiers[t].rebate_bp < bp_min)
                bp_min = prog->tiers[t].rebate_bp;
        gp->top[0] = gp->top[1] = gp->top[2] = -1;
        if (g->p.scenarios) {
            gp->approval_amount = amount_for_bp(prog->approval_threshold_minor, bp_min,
                                                prog->max_sale_minor);
            gp->cap_amount = amount_for_bp(prog->cap_per_period_minor, bp_min,
                                           prog->max_sale_minor);
        }
        if (gp->downgrade >= 0)
            g->program_of[gp->downgrade] = j;
        if (gp->certify >= 0) {
            g->program_of[gp->certify] = j;
            g->certs_of[gp->certify] =
                (uint8_t)(prog->tiers[gp->cert_tier].min_certifications - 1);
        }
    }
    for (size_t r = 0; r < n; r++) {
        int partner = g->partner_of_rank[r];
        gen_prog *gp = &g->progs[g->program_of[partner]];
        for (int m = 0; m < 3; m++)
            if (gp->top[m] < 0) {
                gp->top[m] = partner;
                break;
            }
    }
    return 0;
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

/* Another regular partner than `partner` (needs two). */
static int other_partner(const cons_ctl_gen *g, uint64_t *rng, int partner, int also_not)
{
    int n = g->p.n_partners;
    for (int tries = 0; tries < 8; tries++) {
        int o = (int)((partner + 1 + (int)below(rng, (uint64_t)(n - 1))) % n);
        if (o != also_not || n < 3)
            return o;
    }
    for (int o = 0; o < n; o++)
        if (o != partner && o != also_not)
            return o;
    return (partner + 1) % n;
}

/* Deals: holders drawn like sellers, so the big partners register most of them. */
static int build_deals(cons_ctl_gen *g)
{
    uint64_t rng = stream_state(g->p.seed, RNG_DEALS);
    const int64_t start = g->p.start_ms;

    g->first_approved = g->first_rejected = -1;
    g->min_validity_ms = INT64_MAX;
    g->max_validity_days = 0;
    for (int j = 0; j < g->p.n_programs; j++) {
        int64_t v = g->p.programs[j].deal_validity_days;
        if (v * MS_PER_DAY < g->min_validity_ms)
            g->min_validity_ms = v * MS_PER_DAY;
        if (v > g->max_validity_days)
            g->max_validity_days = v;
    }
    if (g->n_deals == 0)
        return 0;
    if ((g->deals = calloc((size_t)g->n_deals, sizeof *g->deals)) == NULL)
        return -1;
    for (int k = 0; k < g->n_deals; k++) {
        gen_deal *d = &g->deals[k];
        d->holder = pick_partner(g, &rng);
        d->value = log_scaled(DEAL_VALUE_BASE, (int)below(&rng, DEAL_VALUE_LOG_SPAN));
        d->value += d->value * (int64_t)below(&rng, 366) / 10000;   /* between the steps */
        d->rival = d->rival2 = -1;
        if (g->p.n_partners >= 2) {
            d->rival = other_partner(g, &rng, d->holder, -1);
            d->rival2 = other_partner(g, &rng, d->holder, d->rival);
        }
        d->fate = k == 0 ? FATE_EXPIRED : k % 6 == 4 ? FATE_REJECTED
                : k % 6 == 5 ? FATE_PENDING : FATE_APPROVED;
        if (d->fate == FATE_EXPIRED) {
            /* Approved so long ago that no program's validity reaches the sales. */
            d->registered_at = start - (g->max_validity_days + 30) * MS_PER_DAY;
            d->decided_at = start - (g->max_validity_days + 20) * MS_PER_DAY;
        } else {
            /* In the first hours of the sales, so that the program metrics count them in
             * the period their sales win them; they are no period events (they move no
             * watermark), so their dates make nothing late. */
            d->registered_at = start + (int64_t)k * 60000;
            d->decided_at = start + MS_PER_HOUR + (int64_t)k * 60000;
        }
        if (d->fate == FATE_APPROVED && g->first_approved < 0)
            g->first_approved = k;
        if (d->fate == FATE_REJECTED && g->first_rejected < 0)
            g->first_rejected = k;
    }
    return 0;
}

static int cmp_item(const void *a, const void *b)
{
    const gen_item *x = a, *y = b;
    if (x->after != y->after)
        return x->after < y->after ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* The regular sale after which something at `permille` of the sales phase goes. */
static int position(const cons_ctl_gen *g, int permille)
{
    int64_t pos = (int64_t)g->p.n_sales * permille / 1000;
    return pos >= g->p.n_sales ? g->p.n_sales - 1 : (int)pos;
}

static void add_item(cons_ctl_gen *g, int after, item_kind kind, int a, int b)
{
    gen_item *it = &g->items[g->n_items];
    it->after = after;
    it->seq = g->n_items++;
    it->kind = kind;
    it->a = a;
    it->b = b;
}

static int build_items(cons_ctl_gen *g)
{
    int cap = 8 + 4 * g->n_deals + g->n_returns + 12 * g->p.n_programs;

    if (g->p.n_sales == 0)
        return 0;
    g->items = calloc((size_t)cap, sizeof *g->items);
    g->waiting = calloc((size_t)cap, sizeof *g->waiting);
    if (g->items == NULL || g->waiting == NULL)
        return -1;
    for (int j = 0; j < g->p.n_programs; j++) {
        const gen_prog *gp = &g->progs[j];
        if (gp->downgrade >= 0)
            add_item(g, -1, IT_DOWNGRADE, gp->downgrade, 0);
        if (gp->certify >= 0)
            add_item(g, -1, IT_CERTIFY_SALE, gp->certify, 0);
    }
    for (int k = 0; k < g->n_deals; k++)
        add_item(g, position(g, 20 + 180 * k / g->n_deals), IT_DEAL_SALE, k, 0);
    if (g->first_approved >= 0) {
        add_item(g, position(g, 210), IT_DEAL_SECOND, g->first_approved, 0);
        add_item(g, position(g, 215), IT_DEAL_FOREIGN, g->first_approved, 0);
        add_item(g, position(g, 230), IT_DEAL_RETURN, g->first_approved, 0);
    }
    for (int r = 0; r < g->n_returns; r++)
        add_item(g, (int)(((uint64_t)2 * (uint64_t)r + 1) * (uint64_t)g->p.n_sales /
                          ((uint64_t)2 * (uint64_t)g->n_returns)),
                 IT_RETURN, r, 0);
    if (g->p.scenarios) {
        for (int j = 0; j < g->p.n_programs; j++) {
            const gen_prog *gp = &g->progs[j];
            add_item(g, 0, IT_ACCEPT_LATE, j, 0);
            add_item(g, position(g, 500), IT_LATE, j, 0);
            add_item(g, position(g, 800), IT_LATE, j, 0);
            if (gp->approval_amount > 0)
                for (int m = 0; m < 3; m++)
                    if (gp->top[m] >= 0)
                        add_item(g, position(g, 250 + 200 * m + 10 * j), IT_WHALE, j, m);
            if (gp->approval_amount > 0 && gp->top[0] >= 0)
                add_item(g, position(g, 350 + 10 * j), IT_WHALE_RETURN, j, 0);
            if (gp->cap_amount > 0 && gp->top[0] >= 0)
                add_item(g, position(g, 550 + 10 * j), IT_WHALE, j, 3);
        }
        add_item(g, position(g, 400), IT_UNKNOWN_SCHEMA, 0, 0);
        add_item(g, position(g, 420), IT_MISPARTITIONED, 0, 0);
    }
    qsort(g->items, (size_t)g->n_items, sizeof *g->items, cmp_item);
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
    if (p->n_deals < -1 || p->n_deals > CONS_CTL_GEN_MAX_DEALS) {
        snprintf(err, errcap, "deals must be between 0 and %d", CONS_CTL_GEN_MAX_DEALS);
        return NULL;
    }
    if (p->n_returns < -1 || p->n_returns > CONS_CTL_GEN_MAX_SALES ||
        p->n_responses < -1 || p->n_responses > CONS_CTL_GEN_MAX_RESPONSES) {
        snprintf(err, errcap, "returns must be between 0 and %d, responses between 0 and %d",
                 CONS_CTL_GEN_MAX_SALES, CONS_CTL_GEN_MAX_RESPONSES);
        return NULL;
    }
    if (p->cert_pct < 0 || p->cert_pct > 100 || p->n_bad < -1 || p->n_programs < 1 ||
        p->programs == NULL || p->phase < CONS_CTL_PHASE_ALL ||
        p->phase > CONS_CTL_PHASE_CONFLICTS) {
        snprintf(err, errcap, "invalid generator parameters");
        return NULL;
    }
    if ((g = calloc(1, sizeof *g)) == NULL)
        goto oom;
    g->p = *p;
    g->n_bad = p->n_bad < 0 ? cons_ctl_gen_default_bad(p->n_sales) : p->n_bad;
    if (g->n_bad > p->n_sales)      /* each bad record follows a sale it may resend */
        g->n_bad = p->n_sales;
    g->n_deals = p->n_deals < 0 ? cons_ctl_gen_default_deals(p->n_partners) : p->n_deals;
    g->n_returns = p->n_returns < 0 ? cons_ctl_gen_default_returns(p->n_sales) : p->n_returns;
    if (g->n_returns > p->n_sales)  /* each return follows a sale */
        g->n_returns = p->n_sales;
    g->n_responses = p->n_responses < 0 ? cons_ctl_gen_default_responses(p->n_partners)
                                        : p->n_responses;
    if (build_catalogue(g) || build_partners(g) || build_deals(g) || build_items(g))
        goto oom;
    g->rng_sales = stream_state(p->seed, RNG_SALES);
    g->rng_bad = stream_state(p->seed, RNG_BAD);
    g->rng_script = stream_state(p->seed, RNG_SCRIPT);
    g->rng_surveys = stream_state(p->seed, RNG_SURVEYS);
    g->last_t = p->start_ms;
    g->last_partner = -1;
    g->stage = STAGE_ENROL;
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
    free(g->watermark);
    free(g->respondents);
    free(g->partner_of_rank);
    free(g->cum_weight);
    free(g->skus);
    free(g->progs);
    free(g->deals);
    free(g->items);
    free(g->waiting);
    free(g);
}

/* ---- records ----------------------------------------------------------------------- */

static void partner_id(const cons_ctl_gen *g, int partner, char *out, size_t cap)
{
    if (partner < g->p.n_partners) {
        snprintf(out, cap, "g%" PRIu64 "-p%05d", g->p.seed, partner);
        return;
    }
    for (int j = 0; j < g->p.n_programs; j++) {
        if (g->progs[j].downgrade == partner)
            snprintf(out, cap, "g%" PRIu64 "-s%d-downgrade", g->p.seed, j);
        else if (g->progs[j].certify == partner)
            snprintf(out, cap, "g%" PRIu64 "-s%d-certify", g->p.seed, j);
    }
}

static void deal_id(const cons_ctl_gen *g, int k, char *out, size_t cap)
{
    snprintf(out, cap, "g%" PRIu64 "-deal-%d", g->p.seed, k);
}

static void event_id(const cons_ctl_gen *g, uint64_t n, char *out, size_t cap)
{
    snprintf(out, cap, "g%" PRIu64 "-%" PRIu64, g->p.seed, n);
}

/* Clears the record; the phase is the stage's. */
static void blank(cons_ctl_gen *g, cons_ctl_record *out, proc_event_type topic)
{
    static const cons_ctl_phase phase_of_stage[] = {
        CONS_CTL_PHASE_ENROL, CONS_CTL_PHASE_SALES, CONS_CTL_PHASE_SURVEYS,
        CONS_CTL_PHASE_CONFLICTS, CONS_CTL_PHASE_CONFLICTS,
    };
    memset(out, 0, sizeof *out);
    out->topic = topic;
    out->partition = CONS_CTL_PARTITION_KEY;
    out->phase = phase_of_stage[g->stage];
}

/* A new event of `partner` with the next event id, keyed by the partner. */
static void begin(cons_ctl_gen *g, cons_ctl_record *out, proc_event_type type, int partner)
{
    blank(g, out, type);
    out->ev.type = type;
    event_id(g, g->n++, out->ev.event_id, sizeof out->ev.event_id);
    partner_id(g, partner, out->ev.partner_id, sizeof out->ev.partner_id);
    out->has_key = true;
    snprintf(out->key, sizeof out->key, "%s", out->ev.partner_id);
}

static void enrolment(cons_ctl_gen *g, int partner, cons_ctl_record *out)
{
    const proc_program *prog = prog_of(g, partner);
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

/* CERTIFICATION_COMPLETED of cert_ids[k]; a period event, so it raises the watermark
 * unless it repeats one the partner has. */
static void certification(cons_ctl_gen *g, int partner, int k, int64_t t, bool repeat,
                          cons_ctl_record *out)
{
    proc_registration *r = &out->ev.u.reg;

    begin(g, out, PROC_EVENT_REGISTRATION, partner);
    out->ev.occurred_at = t;
    r->kind = PROC_REG_CERTIFICATION_COMPLETED;
    r->has_certification_id = true;
    snprintf(r->certification_id, sizeof r->certification_id, "%s", cert_ids[k]);
    if (!repeat)
        raise_watermark(g, partner, t);
}

/* In the first hour of the sales: a period event of the first period. */
static int64_t certification_time(const cons_ctl_gen *g, int partner, int k)
{
    return g->p.start_ms + (int64_t)(partner % 3600) * 1000 + k;
}

static void deal_event(cons_ctl_gen *g, int partner, proc_reg_kind kind, int k, int64_t t,
                       cons_ctl_record *out)
{
    proc_registration *r = &out->ev.u.reg;

    begin(g, out, PROC_EVENT_REGISTRATION, partner);
    out->ev.occurred_at = t;
    r->kind = kind;
    r->has_deal_id = true;
    if (k >= 0)
        deal_id(g, k, r->deal_id, sizeof r->deal_id);
    else
        snprintf(r->deal_id, sizeof r->deal_id, "g%" PRIu64 "-deal-unknown", g->p.seed);
    if (kind == PROC_REG_DEAL_REGISTERED && k >= 0) {
        r->has_deal_value_minor = true;
        r->deal_value_minor = g->deals[k].value;
    }
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

/* A plausible SALE at time t drawn from rng. @returns the partner; *sku_out = its SKU. */
static int sale(cons_ctl_gen *g, uint64_t *rng, int64_t t, cons_ctl_record *out, int *sku_out)
{
    int partner = pick_partner(g, rng);
    const proc_program *prog = prog_of(g, partner);
    proc_sale *s = &out->ev.u.sale;
    uint64_t q1, q2;
    int sku;

    begin(g, out, PROC_EVENT_SALE, partner);
    out->ev.occurred_at = t;
    s->kind = PROC_SALE_SALE;
    s->amount_minor = pick_amount(rng);
    if (prog->n_fx > 0 && below(rng, 100) < FOREIGN_CURRENCY_PCT)
        snprintf(s->currency, sizeof s->currency, "%s",
                 prog->fx[below(rng, (uint64_t)prog->n_fx)].currency);
    else
        snprintf(s->currency, sizeof s->currency, "%s", prog->currency);
    sku = (int)below(rng, (uint64_t)g->n_skus);
    snprintf(s->sku, sizeof s->sku, "%s", g->skus[sku]);
    q1 = below(rng, 20);             /* the smaller of two draws: small orders dominate */
    q2 = below(rng, 20);
    s->quantity = (int32_t)(1 + (q1 < q2 ? q1 : q2));
    if (sku_out)
        *sku_out = sku;
    return partner;
}

/* A SALE (or RETURN) with every field chosen by the caller, in the partner's program
 * currency unless `currency` is given. */
static void scripted_sale(cons_ctl_gen *g, int partner, int64_t t, int64_t amount,
                          const char *currency, int sku, int32_t quantity, cons_ctl_record *out)
{
    proc_sale *s = &out->ev.u.sale;

    begin(g, out, PROC_EVENT_SALE, partner);
    out->ev.occurred_at = t;
    s->kind = PROC_SALE_SALE;
    s->amount_minor = amount;
    snprintf(s->currency, sizeof s->currency, "%s",
             currency ? currency : prog_of(g, partner)->currency);
    snprintf(s->sku, sizeof s->sku, "%s", g->skus[sku]);
    s->quantity = quantity;
}

static void make_return(cons_ctl_gen *g, int partner, uint64_t original, int64_t amount,
                        const char *currency, int sku, int32_t quantity, cons_ctl_record *out)
{
    scripted_sale(g, partner, g->last_t, amount, currency, sku, quantity, out);
    out->ev.u.sale.kind = PROC_SALE_RETURN;
    out->ev.u.sale.has_original_event_id = true;
    event_id(g, original, out->ev.u.sale.original_event_id,
             sizeof out->ev.u.sale.original_event_id);
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
    cons_ctl_bad kind = (cons_ctl_bad)(1 + k % CONS_CTL_BAD_CYCLE);

    switch (kind) {
    case CONS_CTL_BAD_DUPLICATE:
        blank(g, out, PROC_EVENT_SALE);
        out->ev = g->last_sale;
        out->has_key = true;
        snprintf(out->key, sizeof out->key, "%s", out->ev.partner_id);
        break;
    case CONS_CTL_BAD_DECODE_ERROR: {
        int partner = pick_partner(g, &g->rng_bad);
        blank(g, out, PROC_EVENT_SALE);
        out->has_key = true;
        partner_id(g, partner, out->key, sizeof out->key);
        out->is_raw = true;
        out->raw = truncated_sale;
        out->raw_len = sizeof truncated_sale;
        break;
    }
    default:
        sale(g, &g->rng_bad, g->last_t, out, NULL);
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

/* ---- the enrol phase ---------------------------------------------------------------- */

/* Certified partners whose first certification is sent twice (scenarios). */
#define CERT_REPEATS 3

static int next_enrol(cons_ctl_gen *g, cons_ctl_record *out)
{
    const int P = g->p.n_partners;
    for (;;) {
        switch (g->sub) {
        case 0:                                  /* every partner enrols */
            if (g->idx < g->n_all) {
                enrolment(g, g->idx++, out);
                return 1;
            }
            break;
        case 1:                                  /* enrolling again: a no-op */
            if (g->p.scenarios && g->idx++ == 0) {
                enrolment(g, 0, out);
                return 1;
            }
            break;
        case 2:                                  /* certifications (+ a few repeats) */
            while (g->idx < g->n_all) {
                int partner = g->idx, n = g->certs_of[partner];
                if (g->k < n) {
                    certification(g, partner, g->k, certification_time(g, partner, g->k),
                                  false, out);
                    g->k++;
                    return 1;
                }
                if (g->k == n && n > 0 && g->p.scenarios && partner < P &&
                    g->cert_repeats < CERT_REPEATS) {
                    g->cert_repeats++;
                    g->k++;
                    certification(g, partner, 0, certification_time(g, partner, 0) + 60000,
                                  true, out);
                    return 1;
                }
                g->idx++;
                g->k = 0;
            }
            break;
        case 3:                                  /* deals registered */
            if (g->idx < g->n_deals) {
                const gen_deal *d = &g->deals[g->idx];
                deal_event(g, d->holder, PROC_REG_DEAL_REGISTERED, g->idx, d->registered_at,
                           out);
                g->idx++;
                return 1;
            }
            break;
        case 4:                                  /* one registered again by its holder */
            if (g->first_approved >= 0 && g->idx++ == 0) {
                const gen_deal *d = &g->deals[g->first_approved];
                deal_event(g, d->holder, PROC_REG_DEAL_REGISTERED, g->first_approved,
                           d->registered_at + MS_PER_HOUR / 2, out);
                return 1;
            }
            break;
        case 5:                                  /* approved, rejected, or left pending */
            while (g->idx < g->n_deals) {
                const gen_deal *d = &g->deals[g->idx];
                int k = g->idx++;
                if (d->fate == FATE_PENDING)
                    continue;
                deal_event(g, d->holder, d->fate == FATE_REJECTED ? PROC_REG_DEAL_REJECTED
                                                                  : PROC_REG_DEAL_APPROVED,
                           k, d->decided_at, out);
                return 1;
            }
            break;
        case 6:                                  /* approving a deal nobody registered */
            if (g->n_deals > 0 && g->idx++ == 0) {
                deal_event(g, g->deals[0].holder, PROC_REG_DEAL_APPROVED, -1,
                           g->p.start_ms + 2 * MS_PER_HOUR, out);
                out->bad = CONS_CTL_BAD_UNKNOWN_DEAL;
                return 1;
            }
            break;
        default:
            return 0;
        }
        g->sub++;
        g->idx = 0;
        g->k = 0;
    }
}

/* ---- the sales phase ---------------------------------------------------------------- */

static void remember_sale(cons_ctl_gen *g, int partner, const cons_ctl_record *rec, int sku)
{
    ring_entry *e = &g->ring[g->ring_head];
    const proc_sale *s = &rec->ev.u.sale;
    e->partner = partner;
    e->n = g->n - 1;
    e->amount = s->amount_minor;
    e->t = rec->ev.occurred_at;
    e->quantity = s->quantity;
    e->sku = sku;
    snprintf(e->currency, sizeof e->currency, "%s", s->currency);
    e->used = false;
    g->ring_head = (g->ring_head + 1) % RING;
    if (g->ring_len < RING)
        g->ring_len++;
}

/* A recent regular sale that can still be returned now (unused, within the window), or
 * NULL. */
static ring_entry *returnable(cons_ctl_gen *g, bool unused)
{
    if (g->ring_len == 0)
        return NULL;
    int o = (int)below(&g->rng_script, (uint64_t)g->ring_len);
    for (int i = 0; i < g->ring_len; i++) {
        ring_entry *e = &g->ring[(o + i) % g->ring_len];
        int64_t window = (int64_t)prog_of(g, e->partner)->return_window_days * MS_PER_DAY;
        if ((unused && e->used) || g->last_t - e->t > window || g->last_t < e->t)
            continue;
        return e;
    }
    return NULL;
}

/* RETURN number r: partial, full, partial twice, too much, another partner's sale.
 * @returns 1 with a record (*more: step + 1 follows), 0 when none can be made now. */
static int return_item(cons_ctl_gen *g, int r, int step, cons_ctl_record *out, bool *more)
{
    /* Of ten: three partial, three full, two partial twice, one too much, one foreign. */
    static const int kinds[10] = {1, 0, 2, 1, 0, 3, 1, 0, 2, 4};
    int kind = kinds[r % 10];
    ring_entry *e;

    if (kind == 4 && g->p.n_partners < 2)
        kind = 3;
    if (kind == 2 && step == 1) {
        e = &g->twice;
    } else if ((e = returnable(g, kind <= 2)) == NULL) {
        return 0;
    }
    switch (kind) {
    case 0:                                      /* the whole sale */
        make_return(g, e->partner, e->n, e->amount, e->currency, e->sku, e->quantity, out);
        break;
    case 1:                                      /* a third of it */
        make_return(g, e->partner, e->n, e->amount / 3 > 0 ? e->amount / 3 : 1, e->currency,
                    e->sku, 1, out);
        break;
    case 2:                                      /* a quarter, twice */
        if (step == 0) {
            g->twice = *e;
            *more = true;
        }
        make_return(g, e->partner, e->n, e->amount / 4 > 0 ? e->amount / 4 : 1, e->currency,
                    e->sku, 1, out);
        break;
    case 3:                                      /* more than is left of it */
        make_return(g, e->partner, e->n, 2 * e->amount + 100, e->currency, e->sku, 1, out);
        out->bad = CONS_CTL_BAD_OVER_RETURN;
        return 1;
    default: {                                   /* a sale of another partner */
        int other = other_partner(g, &g->rng_script, e->partner, -1);
        make_return(g, other, e->n, e->amount, NULL, e->sku, 1, out);
        out->bad = CONS_CTL_BAD_FOREIGN_RETURN;
        return 1;
    }
    }
    e->used = true;
    raise_watermark(g, e->partner, g->last_t);
    return 1;
}

/* True when a deferred item can be sent now, after the latest regular sale. */
static bool item_ready(const cons_ctl_gen *g, const gen_item *it)
{
    if (g->last_partner < 0 || g->program_of[g->last_partner] != it->a)
        return false;
    const proc_program *prog = &g->p.programs[it->a];
    int64_t lateness = (int64_t)prog->allowed_lateness_days * MS_PER_DAY;
    int64_t b = period_start_of(prog, g->last_t);
    if (it->kind == IT_LATE)         /* its period ended more than the lateness ago */
        return g->last_t > b + lateness;
    return g->watermark[g->last_partner] <= b + lateness;   /* IT_ACCEPT_LATE */
}

/* A sale of the latest seller dated half a day before its current period. */
static void late_sale(cons_ctl_gen *g, cons_ctl_record *out)
{
    int partner = g->last_partner;
    int64_t t = period_start_of(prog_of(g, partner), g->last_t) - MS_PER_DAY / 2;
    scripted_sale(g, partner, t, pick_amount(&g->rng_script), NULL,
                  (int)below(&g->rng_script, (uint64_t)g->n_skus), 1, out);
}

/* The record `step` of a scripted item. @returns 1 with a record (*more: another step
 * follows), 0 when the item has nothing to send (any more). */
static int item_record(cons_ctl_gen *g, const gen_item *it, int step, cons_ctl_record *out,
                       bool *more)
{
    *more = false;
    switch (it->kind) {
    case IT_DOWNGRADE: {
        const proc_program *prog = prog_of(g, it->a);
        const gen_prog *gp = &g->progs[g->program_of[it->a]];
        int64_t tier_min = prog->tiers[gp->down_tier].min_revenue_minor;
        if (step == 0) {             /* reaches the tier two periods before the start */
            int32_t key = proc_period_key(prog->period, g->p.start_ms) - 2;
            int64_t t = proc_period_start_ms(prog->period, key) + MS_PER_DAY;
            scripted_sale(g, it->a, t, tier_min, NULL, SKU_SERVICES, 1, out);
            *more = true;
        } else {                     /* and opens the start's period with little */
            scripted_sale(g, it->a, g->p.start_ms, tier_min - 1 < 10000 ? tier_min - 1 : 10000,
                          NULL, SKU_SERVICES, 1, out);
        }
        raise_watermark(g, it->a, out->ev.occurred_at);
        return 1;
    }
    case IT_CERTIFY_SALE: {
        const proc_program *prog = prog_of(g, it->a);
        int64_t amount = prog->tiers[g->progs[g->program_of[it->a]].cert_tier].min_revenue_minor;
        scripted_sale(g, it->a, g->p.start_ms + MS_PER_DAY / 2, amount > 0 ? amount : 1000000,
                      NULL, SKU_SERVICES, 1, out);
        raise_watermark(g, it->a, out->ev.occurred_at);
        return 1;
    }
    case IT_DEAL_SALE:
    case IT_DEAL_SECOND:
    case IT_DEAL_FOREIGN: {
        gen_deal *d = &g->deals[it->a];
        int partner = it->kind == IT_DEAL_FOREIGN ? d->rival : d->holder;
        int64_t amount = it->kind == IT_DEAL_SALE ? d->value
                       : it->kind == IT_DEAL_SECOND ? d->value / 4 : pick_amount(&g->rng_script);
        if (partner < 0)
            return 0;
        scripted_sale(g, partner, g->last_t, amount, NULL,
                      (int)below(&g->rng_script, (uint64_t)g->n_skus),
                      (int32_t)(1 + below(&g->rng_script, 5)), out);
        out->ev.u.sale.has_deal_id = true;
        deal_id(g, it->a, out->ev.u.sale.deal_id, sizeof out->ev.u.sale.deal_id);
        raise_watermark(g, partner, g->last_t);
        if (it->kind == IT_DEAL_SALE) {
            d->sold = true;
            d->sale_n = g->n - 1;
            d->sale_amount = amount;
            d->sale_t = g->last_t;
        }
        return 1;
    }
    case IT_DEAL_RETURN: {
        const gen_deal *d = &g->deals[it->a];
        int64_t window = (int64_t)prog_of(g, d->holder)->return_window_days * MS_PER_DAY;
        if (!d->sold || g->last_t - d->sale_t > window)
            return 0;
        make_return(g, d->holder, d->sale_n, d->sale_amount / 2, NULL, SKU_SERVICES, 1, out);
        raise_watermark(g, d->holder, g->last_t);
        return 1;
    }
    case IT_WHALE: {
        gen_prog *gp = &g->progs[it->a];
        int partner = gp->top[it->b == 3 ? 0 : it->b];
        int64_t amount = it->b == 3 ? gp->cap_amount : gp->approval_amount;
        int64_t max = g->p.programs[it->a].max_sale_minor;
        /* Approval whales 0-60 % above the least amount, so they do not all look alike;
         * the cap whale just reaches the cap. */
        __int128 extra = (__int128)amount * (__int128)below(&g->rng_script, 61) / 100;
        if (it->b != 3)
            amount = (__int128)amount + extra > max ? max : amount + (int64_t)extra;
        scripted_sale(g, partner, g->last_t, amount, NULL,
                      (int)below(&g->rng_script, (uint64_t)g->n_skus), 1, out);
        raise_watermark(g, partner, g->last_t);
        if (it->b == 0) {
            gp->whale_sold = true;
            gp->whale_n = g->n - 1;
            gp->whale_amount = amount;
            gp->whale_t = g->last_t;
        }
        return 1;
    }
    case IT_WHALE_RETURN: {
        const gen_prog *gp = &g->progs[it->a];
        int64_t window = (int64_t)g->p.programs[it->a].return_window_days * MS_PER_DAY;
        if (!gp->whale_sold || g->last_t - gp->whale_t > window)
            return 0;
        make_return(g, gp->top[0], gp->whale_n, gp->whale_amount, NULL, SKU_SERVICES, 1, out);
        raise_watermark(g, gp->top[0], g->last_t);
        return 1;
    }
    case IT_RETURN:
        return return_item(g, it->a, step, out, more);
    case IT_UNKNOWN_SCHEMA:
        blank(g, out, PROC_EVENT_SALE);
        out->has_key = true;
        partner_id(g, g->last_partner, out->key, sizeof out->key);
        out->is_raw = true;
        out->raw = unknown_schema_sale;
        out->raw_len = sizeof unknown_schema_sale;
        out->bad = CONS_CTL_BAD_UNKNOWN_SCHEMA;
        return 1;
    case IT_MISPARTITIONED:          /* a good sale, on the wrong partition */
        scripted_sale(g, g->last_partner, g->last_t, pick_amount(&g->rng_script), NULL,
                      (int)below(&g->rng_script, (uint64_t)g->n_skus), 1, out);
        out->partition = CONS_CTL_PARTITION_OTHER;
        out->bad = CONS_CTL_BAD_MISPARTITIONED;
        return 1;
    case IT_LATE:
        late_sale(g, out);
        out->bad = CONS_CTL_BAD_LATE_EVENT;
        return 1;
    case IT_ACCEPT_LATE:             /* older than the watermark: it stays */
        late_sale(g, out);
        return 1;
    }
    return 0;
}

static int next_sales(cons_ctl_gen *g, cons_ctl_record *out)
{
    bool more;
    for (;;) {
        /* The next record of a multi-record item. */
        if (g->item_step > 0) {
            const gen_item *it = &g->items[g->item_next];
            if (item_record(g, it, g->item_step, out, &more)) {
                g->item_step = more ? g->item_step + 1 : 0;
                if (!more)
                    g->item_next++;
                return 1;
            }
            g->item_step = 0;
            g->item_next++;
            continue;
        }
        /* A bad record due after the previous sale comes first. */
        if (g->bad_next < g->n_bad && g->sale > 0 &&
            bad_position(g, g->bad_next) == g->sale - 1) {
            bad_record(g, g->bad_next++, out);
            return 1;
        }
        /* Then the scripted items due there. */
        if (g->item_next < g->n_items && g->items[g->item_next].after == g->sale - 1) {
            const gen_item *it = &g->items[g->item_next];
            if ((it->kind == IT_LATE || it->kind == IT_ACCEPT_LATE) && !item_ready(g, it)) {
                g->waiting[g->n_waiting++] = g->item_next++;
                continue;
            }
            if (item_record(g, it, 0, out, &more)) {
                if (more)
                    g->item_step = 1;
                else
                    g->item_next++;
                return 1;
            }
            g->item_next++;
            continue;
        }
        /* Then deferred items that can go now. */
        if (!g->waiting_checked && g->sale > 0) {
            for (int i = 0; i < g->n_waiting; i++) {
                const gen_item *it = &g->items[g->waiting[i]];
                if (item_ready(g, it)) {
                    memmove(&g->waiting[i], &g->waiting[i + 1],
                            (size_t)(g->n_waiting - i - 1) * sizeof *g->waiting);
                    g->n_waiting--;
                    item_record(g, it, 0, out, &more);
                    return 1;
                }
            }
            g->waiting_checked = true;
        }
        if (g->sale < g->p.n_sales) {
            int sku, partner;
            g->last_t = sale_time(g, g->sale++);
            partner = sale(g, &g->rng_sales, g->last_t, out, &sku);
            g->last_sale = out->ev;
            g->last_partner = partner;
            g->waiting_checked = false;
            raise_watermark(g, partner, g->last_t);
            remember_sale(g, partner, out, sku);
            return 1;
        }
        return 0;
    }
}

/* ---- the surveys phase -------------------------------------------------------------- */

static bool unhappy(const cons_ctl_gen *g, int partner)
{
    uint64_t s = stream_state(g->p.seed, RNG_MOOD) ^ ((uint64_t)partner * 0x9e3779b97f4a7c15ULL);
    return splitmix64(&s) % 6 == 0;
}

/* A date in the partner's latest period, at or before its watermark: never late. */
static int64_t response_time(cons_ctl_gen *g, int partner)
{
    const proc_program *prog = prog_of(g, partner);
    int64_t hi = g->watermark[partner] ? g->watermark[partner] : span_end(g) - 1;
    int64_t lo = period_start_of(prog, hi);
    if (lo < g->p.start_ms)
        lo = g->p.start_ms;
    if (lo > hi)
        lo = hi;
    int64_t t = lo + (int64_t)below(&g->rng_surveys, (uint64_t)(hi - lo + 1));
    raise_watermark(g, partner, t);
    return t;
}

static int32_t enps_score(cons_ctl_gen *g, bool sad)
{
    uint64_t r = below(&g->rng_surveys, 100);
    if (r < (sad ? 60u : 15u))
        return (int32_t)below(&g->rng_surveys, 7);
    if (r < (sad ? 85u : 50u))
        return (int32_t)(7 + below(&g->rng_surveys, 2));
    return (int32_t)(9 + below(&g->rng_surveys, 2));
}

/* A response of `partner`. force_low: an ENPS detractor-heavy one, or a PULSE that always
 * scores LOW_QUESTION 1 or 2. */
static void response(cons_ctl_gen *g, int partner, proc_survey_kind kind, bool force_low,
                     cons_ctl_record *out)
{
    const proc_program *prog = prog_of(g, partner);
    proc_survey *s = &out->ev.u.survey;
    bool sad = force_low || unhappy(g, partner);
    char period[PROC_PERIOD_CAP];

    begin(g, out, PROC_EVENT_SURVEY, partner);
    out->ev.occurred_at = response_time(g, partner);
    proc_period_name(prog->period, proc_period_key(prog->period, out->ev.occurred_at), period,
                     sizeof period);
    s->kind = kind;
    snprintf(s->survey_id, sizeof s->survey_id, "g%" PRIu64 "-%s-%s", g->p.seed,
             kind == PROC_SURVEY_ENPS ? "enps" : "pulse", period);
    snprintf(s->respondent_id, sizeof s->respondent_id, "%s-r%d", out->ev.partner_id,
             ++g->respondents[partner]);
    if (kind == PROC_SURVEY_ENPS) {
        s->has_score = true;
        /* force_low: three detractors in four, whatever the mood */
        s->score = force_low ? (g->respondents[partner] % 4 == 2 ? 9
                                : (int32_t)below(&g->rng_surveys, 7))
                             : enps_score(g, sad);
        return;
    }
    int n = 1 + (int)below(&g->rng_surveys, N_QUESTIONS);
    int o = (int)below(&g->rng_surveys, N_QUESTIONS);
    if (force_low)
        o = LOW_QUESTION;                        /* the low question is always answered */
    s->n_answers = n;
    for (int i = 0; i < n; i++) {
        int q = (o + i) % N_QUESTIONS;
        snprintf(s->answers[i].question_id, sizeof s->answers[i].question_id, "%s",
                 pulse_questions[q]);
        if (force_low && q == LOW_QUESTION)
            s->answers[i].score = (int32_t)(1 + below(&g->rng_surveys, 2));
        else
            s->answers[i].score = (int32_t)(sad ? 1 + below(&g->rng_surveys, 3)
                                                : 2 + below(&g->rng_surveys, 4));
    }
}

static int guaranteed_responses(const cons_ctl_gen *g, int j)
{
    int m = g->p.programs[j].survey_min_responses;
    return (m > 5 ? m : 5) + 1;
}

/* A partner of the guaranteed low responses: the m-th top partner, or the first. */
static int low_partner(const cons_ctl_gen *g, int j, int m)
{
    const gen_prog *gp = &g->progs[j];
    return gp->top[m] >= 0 ? gp->top[m] : gp->top[0];
}

static int next_surveys(cons_ctl_gen *g, cons_ctl_record *out)
{
    for (;;) {
        bool room = g->responses < g->n_responses;
        switch (g->sub) {
        case 0:                                  /* per program, a partner with a low NPS */
        case 1:                                  /* and one with a low pulse question */
            while (room && g->idx < g->p.n_programs) {
                int partner = low_partner(g, g->idx, g->sub == 0 ? 1 : 2);
                if (partner >= 0 && g->k < guaranteed_responses(g, g->idx)) {
                    g->k++;
                    response(g, partner, g->sub == 0 ? PROC_SURVEY_ENPS : PROC_SURVEY_PULSE,
                             true, out);
                    goto emitted;
                }
                g->idx++;
                g->k = 0;
            }
            break;
        case 2:                                  /* everyone else, drawn like sellers */
            if (room) {
                int partner = pick_partner(g, &g->rng_surveys);
                bool enps = below(&g->rng_surveys, 100) < 60;
                response(g, partner, enps ? PROC_SURVEY_ENPS : PROC_SURVEY_PULSE, false, out);
                goto emitted;
            }
            break;
        case 3:                                  /* the first response, answered again */
            if (g->has_first_response && g->idx++ == 0) {
                begin(g, out, PROC_EVENT_SURVEY, 0);
                char id[PROC_STR_CAP];
                snprintf(id, sizeof id, "%s", out->ev.event_id);
                out->ev = g->first_response;
                snprintf(out->ev.event_id, sizeof out->ev.event_id, "%s", id);
                snprintf(out->key, sizeof out->key, "%s", out->ev.partner_id);
                if (out->ev.u.survey.kind == PROC_SURVEY_ENPS)
                    out->ev.u.survey.score = (out->ev.u.survey.score + 5) % 11;
                out->bad = CONS_CTL_BAD_DUPLICATE_RESPONSE;
                return 1;
            }
            break;
        case 4:                                  /* a pulse answer out of range */
            if (g->has_first_response && g->idx++ == 0) {
                int partner = low_partner(g, 0, 1);
                response(g, partner, PROC_SURVEY_PULSE, false, out);
                out->ev.u.survey.n_answers = 1;
                snprintf(out->ev.u.survey.answers[0].question_id,
                         sizeof out->ev.u.survey.answers[0].question_id, "%s",
                         pulse_questions[LOW_QUESTION]);
                out->ev.u.survey.answers[0].score = 6;
                memset(&out->ev.u.survey.answers[1], 0,
                       sizeof out->ev.u.survey.answers - sizeof out->ev.u.survey.answers[0]);
                out->bad = CONS_CTL_BAD_INVALID_SURVEY;
                return 1;
            }
            break;
        default:
            return 0;
        }
        g->sub++;
        g->idx = 0;
        g->k = 0;
        continue;
emitted:
        g->responses++;
        if (!g->has_first_response) {
            g->has_first_response = true;
            g->first_response = out->ev;
        }
        return 1;
    }
}

/* ---- the conflicts phase ------------------------------------------------------------ */

/* When a rival registers an open deal: right after the approval (within every program's
 * validity), or a day after a registration still pending. */
static int64_t conflict_time(const cons_ctl_gen *g, const gen_deal *d)
{
    if (d->fate == FATE_PENDING)
        return d->registered_at + MS_PER_DAY;
    int64_t after = g->min_validity_ms / 2 < MS_PER_DAY ? g->min_validity_ms / 2 : MS_PER_DAY;
    return d->decided_at + after;
}

static int next_conflicts(cons_ctl_gen *g, cons_ctl_record *out)
{
    const int64_t late_in_span = span_end(g) - MS_PER_DAY / 2;
    for (;;) {
        switch (g->sub) {
        case 0:                                  /* open deals: DEAL_CONFLICT */
            while (g->idx < g->n_deals) {
                const gen_deal *d = &g->deals[g->idx];
                bool open = d->fate == FATE_APPROVED || d->fate == FATE_PENDING;
                int rival = g->k == 0 ? d->rival : d->rival2;
                int rivals = g->idx == g->first_approved ? 2 : 1;
                if (open && rival >= 0 && g->k < rivals) {
                    g->k++;
                    deal_event(g, rival, PROC_REG_DEAL_REGISTERED, g->idx,
                               conflict_time(g, d) + g->k, out);
                    return 1;
                }
                g->idx++;
                g->k = 0;
            }
            break;
        case 1:                                  /* a rejected deal, registered anew */
            if (g->first_rejected >= 0 && g->deals[g->first_rejected].rival >= 0 &&
                g->idx < 2) {
                const gen_deal *d = &g->deals[g->first_rejected];
                deal_event(g, d->rival, g->idx == 0 ? PROC_REG_DEAL_REGISTERED
                                                    : PROC_REG_DEAL_APPROVED,
                           g->first_rejected, late_in_span + g->idx * MS_PER_HOUR, out);
                g->idx++;
                return 1;
            }
            break;
        case 2:                                  /* the expired deal, registered anew */
            if (g->n_deals > 0 && g->deals[0].rival >= 0 && g->idx++ == 0) {
                deal_event(g, g->deals[0].rival, PROC_REG_DEAL_REGISTERED, 0,
                           late_in_span + 60000, out);
                return 1;
            }
            break;
        case 3:                                  /* approving someone else's deal */
            if (g->first_approved >= 0 && g->deals[g->first_approved].rival >= 0 &&
                g->idx++ == 0) {
                const gen_deal *d = &g->deals[g->first_approved];
                deal_event(g, d->rival, PROC_REG_DEAL_APPROVED, g->first_approved,
                           conflict_time(g, d) + MS_PER_HOUR, out);
                out->bad = CONS_CTL_BAD_DEAL_NOT_HELD;
                return 1;
            }
            break;
        case 4:                                  /* the certification that reaches a tier */
            while (g->idx < g->p.n_programs) {
                int partner = g->progs[g->idx++].certify;
                if (partner < 0)
                    continue;
                int64_t t = g->watermark[partner] ? g->watermark[partner] : g->p.start_ms;
                certification(g, partner, g->certs_of[partner], t, false, out);
                return 1;
            }
            break;
        default:
            return 0;
        }
        g->sub++;
        g->idx = 0;
        g->k = 0;
    }
}

/* ---- the stream --------------------------------------------------------------------- */

/* The next record of the whole stream. @returns 1, or 0 at its end. */
static int next_any(cons_ctl_gen *g, cons_ctl_record *out)
{
    for (;;) {
        int r;
        switch (g->stage) {
        case STAGE_ENROL: r = next_enrol(g, out); break;
        case STAGE_SALES: r = next_sales(g, out); break;
        case STAGE_SURVEYS: r = next_surveys(g, out); break;
        case STAGE_CONFLICTS: r = next_conflicts(g, out); break;
        default: return 0;
        }
        if (r)
            return 1;
        g->stage++;
        g->sub = g->idx = g->k = 0;
    }
}

int cons_ctl_gen_next(cons_ctl_gen *g, cons_ctl_record *out)
{
    while (next_any(g, out)) {
        if (g->p.phase == CONS_CTL_PHASE_ALL || out->phase == g->p.phase)
            return 1;
        if (out->phase > g->p.phase) {       /* past the selected phase: done */
            g->stage = STAGE_DONE;
            break;
        }
    }
    return 0;
}
