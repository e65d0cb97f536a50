/*
 * cons_program.c — the program file loader (CONTRACT §5).
 *
 * libyaml's document API gives a node tree with a start mark per node, so every key's line
 * is known. The keys of each mapping level are rows of a table (program_rows, tier_rows,
 * spiff_rows, ...); one generic walker parses a mapping against its table, and the same
 * tables print the reference documentation (cons_program_describe). While a program is
 * read, the line of every key is recorded by its path ("tiers[2].min_revenue_minor") so
 * that checks made after parsing, including proc_program_check()'s, can point at it.
 */
#include "cons_program.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "proc_currency.h"
#include "proc_money.h"
#include "proc_period.h"

/* ------------------------------------------------------------------------------------ */
/* The key tables                                                                        */
/* ------------------------------------------------------------------------------------ */

typedef enum {
    KT_STRING,   /* non-empty text that fits the field */
    KT_CURRENCY, /* a current ISO 4217 code (proc_currency.h) */
    KT_INT,      /* plain integer within [min, max] */
    KT_MONEY,    /* plain integer, minor units of the program currency */
    KT_BP,       /* plain integer, basis points */
    KT_PCT,      /* plain integer, percent */
    KT_DECIMAL8, /* "2.5" (quoted or plain), at most 8 decimals, stored ×1e8 */
    KT_DATE,     /* YYYY-MM-DD, stored as epoch ms of its UTC midnight */
    KT_ENUM,     /* one of `names`, stored as its index */
    KT_TIER_REF, /* a tier name, stored as the tier's index once all tiers are read */
    KT_MAP,      /* nested mapping whose keys are fields of the same struct */
    KT_LIST,     /* list of mappings, each an element of an array in the struct */
    KT_FX,       /* mapping of currency code → KT_DECIMAL8 rate, into proc_fx[] */
} key_type;

typedef struct key_row key_row;
struct key_row {
    const char *name;         /* NULL ends a table */
    key_type type;
    size_t offset;            /* of the field in the struct the table describes */
    size_t size;              /* field size; KT_LIST: element size */
    size_t count_offset;      /* KT_LIST, KT_FX: offset of the int element count */
    int max_items;            /* KT_LIST, KT_FX */
    bool required;
    int64_t min, max;         /* numeric kinds */
    const char *const *names; /* KT_ENUM, NULL-terminated, index = stored value */
    const key_row *sub;       /* KT_MAP, KT_LIST */
    const char *description;
};

#define FIELD(st, f) .offset = offsetof(st, f), .size = sizeof(((st *)0)->f)

#define ROW_STR(st, key, f, req, desc) \
    { .name = key, .type = KT_STRING, FIELD(st, f), .required = req, .description = desc }
#define ROW_CUR(st, key, f, req, desc) \
    { .name = key, .type = KT_CURRENCY, FIELD(st, f), .required = req, .description = desc }
#define ROW_NUM(st, key, kt, f, lo, hi, req, desc)                                   \
    { .name = key, .type = kt, FIELD(st, f), .required = req, .min = lo, .max = hi, \
      .description = desc }
#define ROW_BP(st, key, f, req, desc) ROW_NUM(st, key, KT_BP, f, 0, PROC_BP_DEN, req, desc)
#define ROW_DATE(st, key, f, req, desc) \
    { .name = key, .type = KT_DATE, FIELD(st, f), .required = req, .description = desc }
#define ROW_ENUM(st, key, f, list, desc) \
    { .name = key, .type = KT_ENUM, FIELD(st, f), .names = list, .description = desc }
#define ROW_MAP(key, rows, desc) \
    { .name = key, .type = KT_MAP, .sub = rows, .description = desc }
#define ROW_LIST(st, key, f, n, rows, req, desc)                                  \
    { .name = key, .type = KT_LIST, .offset = offsetof(st, f),                   \
      .size = sizeof(((st *)0)->f[0]), .count_offset = offsetof(st, n),          \
      .max_items = (int)(sizeof(((st *)0)->f) / sizeof(((st *)0)->f[0])),        \
      .sub = rows, .required = req, .description = desc }

#define DAYS_MAX 3650 /* ten years: a larger window is a typo */

/* Enum values are the index of their name. */
static const char *const period_names[] = {"month", "quarter", NULL};
static const char *const rebate_mode_names[] = {"retroactive", "marginal", NULL};
_Static_assert(PROC_PERIOD_MONTH == 0 && PROC_PERIOD_QUARTER == 1, "period_names order");
_Static_assert(PROC_REBATE_RETROACTIVE == 0 && PROC_REBATE_MARGINAL == 1,
               "rebate_mode_names order");
_Static_assert(sizeof(proc_period_kind) == sizeof(int32_t) &&
                   sizeof(proc_rebate_mode) == sizeof(int32_t),
               "enums are stored as 32-bit integers");

static const key_row tier_rows[] = {
    ROW_STR(proc_tier, "name", name, true,
            "Tier name, as payouts (`tier`) and alerts show it. Unique within the program."),
    ROW_NUM(proc_tier, "min_revenue_minor", KT_MONEY, min_revenue_minor, 0, INT64_MAX, true,
            "Period revenue needed to reach the tier. Tiers ascend strictly; the first "
            "(entry) tier is usually 0."),
    ROW_NUM(proc_tier, "min_certifications", KT_INT, min_certifications, 0, INT32_MAX, false,
            "Certifications completed (ever) also needed to reach the tier; never falls "
            "from one tier to the next."),
    ROW_BP(proc_tier, "rebate_bp", rebate_bp, true,
           "Rebate rate of the tier (retroactive: on all period revenue; marginal: on the "
           "revenue in its band)."),
    {0},
};

static const key_row spiff_rows[] = {
    ROW_STR(proc_spiff, "id", id, true,
            "SPIFF id, unique within the program; payouts carry it as `rule_id`."),
    ROW_STR(proc_spiff, "sku_prefix", sku_prefix, true,
            "A sale qualifies when its `sku` starts with this text."),
    ROW_NUM(proc_spiff, "per_unit_minor", KT_MONEY, per_unit_minor, 0, INT64_MAX, true,
            "Paid per unit sold (× `quantity`)."),
    ROW_DATE(proc_spiff, "valid_from", valid_from_ms, true,
             "First day of the SPIFF (inclusive, from UTC midnight)."),
    ROW_DATE(proc_spiff, "valid_to", valid_to_ms, true,
             "Day the SPIFF ends (exclusive, at UTC midnight); after `valid_from`."),
    {.name = "min_tier", .type = KT_TIER_REF, FIELD(proc_spiff, min_tier),
     .description = "Lowest effective tier that earns the SPIFF; the name of one of the "
                    "program's tiers."},
    {0},
};

static const key_row deal_rows[] = {
    ROW_BP(proc_program, "bonus_bp", deal_bonus_bp, false,
           "Bonus on a sale that wins a deal the partner registered and had approved."),
    ROW_NUM(proc_program, "validity_days", KT_INT, deal_validity_days, 0, DAYS_MAX, false,
            "Days after approval during which a sale wins the deal, and the claim blocks "
            "other partners."),
    {0},
};

static const key_row points_rows[] = {
    ROW_NUM(proc_program, "revenue_per_point_minor", KT_MONEY, revenue_per_point_minor, 1,
            INT64_MAX, false, "Period revenue per leaderboard point (rounded down)."),
    ROW_NUM(proc_program, "per_certification", KT_INT, points_per_certification, 0, INT32_MAX,
            false, "Points per certification completed in the period."),
    ROW_NUM(proc_program, "per_deal_won", KT_INT, points_per_deal_won, 0, INT32_MAX, false,
            "Points per registered deal won in the period."),
    {0},
};

static const key_row survey_rows[] = {
    ROW_NUM(proc_program, "nps_threshold", KT_INT, nps_threshold, -100, 100, false,
            "`PARTNER_NPS_LOW` when a partner's period NPS falls below this."),
    ROW_NUM(proc_program, "min_responses", KT_INT, survey_min_responses, 1, INT32_MAX, false,
            "Responses needed before an NPS or pulse average raises an alert."),
    ROW_NUM(proc_program, "pulse_threshold", KT_DECIMAL8, pulse_threshold_e8, PROC_RATE_DEN,
            5 * PROC_RATE_DEN, false,
            "`PULSE_LOW` when a question's period average (1–5) falls below this."),
    {0},
};

static const key_row program_rows[] = {
    ROW_STR(proc_program, "id", id, true,
            "Program id; partners enrol with it. Unique within the file."),
    ROW_CUR(proc_program, "currency", currency, true,
            "Currency of all amounts of the program (ISO 4217, e.g. `EUR`)."),
    ROW_ENUM(proc_program, "period", period, period_names,
             "Calendar period (UTC, by the event's `occurred_at`) of tiers, caps and KPIs."),
    ROW_NUM(proc_program, "allowed_lateness_days", KT_INT, allowed_lateness_days, 0, DAYS_MAX,
            false,
            "A period event (sale, return, survey response, certification) whose period "
            "ended more than this many days before the partner's latest event is "
            "`LATE_EVENT`."),
    ROW_ENUM(proc_program, "rebate_mode", rebate_mode, rebate_mode_names,
             "`retroactive`: the whole period earns the reached tier's rate (with true-ups); "
             "`marginal`: each band of revenue earns its own tier's rate."),
    ROW_LIST(proc_program, "tiers", tiers, n_tiers, tier_rows, true,
             "Volume tiers in ascending order; the first is the entry tier."),
    ROW_NUM(proc_program, "near_tier_pct", KT_PCT, near_tier_pct, 1, 100, false,
            "`NEAR_NEXT_TIER` once period revenue reaches this percentage of the next "
            "tier's threshold."),
    {.name = "fx", .type = KT_FX, .offset = offsetof(proc_program, fx),
     .size = sizeof(proc_fx), .count_offset = offsetof(proc_program, n_fx),
     .max_items = PROC_MAX_FX, .min = 1, .max = INT64_MAX,
     .description = "Other currencies the program accepts: code → program-currency units "
                    "per unit, a decimal with at most 8 places (quote it: `\"0.92\"`). A "
                    "sale in a currency not listed is `UNSUPPORTED_CURRENCY`."},
    ROW_LIST(proc_program, "spiffs", spiffs, n_spiffs, spiff_rows, false,
             "Per-unit bonuses on chosen products, in the order the cap takes them."),
    ROW_MAP("deal_registration", deal_rows, "Deal registration bonus."),
    ROW_NUM(proc_program, "certification_bonus_minor", KT_MONEY, certification_bonus_minor, 0,
            INT64_MAX, false, "Paid once per partner and certification id."),
    ROW_BP(proc_program, "mdf_bp", mdf_bp, false,
           "Market-development fund accrued on every sale (fund credit, not cash)."),
    ROW_MAP("points", points_rows, "Leaderboard points."),
    ROW_NUM(proc_program, "cap_per_period_minor", KT_MONEY, cap_per_period_minor, 0,
            INT64_MAX, false, "Most cash a partner is paid per period; absent: no cap."),
    ROW_NUM(proc_program, "approval_threshold_minor", KT_MONEY, approval_threshold_minor, 1,
            INT64_MAX, false,
            "A payout of at least this much is `PENDING_APPROVAL`; absent: none needs "
            "approval."),
    ROW_NUM(proc_program, "return_window_days", KT_INT, return_window_days, 0, DAYS_MAX,
            false, "Days after a sale during which it may be returned."),
    ROW_NUM(proc_program, "max_sale_minor", KT_MONEY, max_sale_minor, 1, INT64_MAX, false,
            "A sale whose `amount_minor` (before conversion) is above this is "
            "`INVALID_EVENT`."),
    ROW_MAP("surveys", survey_rows, "Partner satisfaction surveys."),
    {0},
};

/* ------------------------------------------------------------------------------------ */
/* Parse state                                                                           */
/* ------------------------------------------------------------------------------------ */

#define PATH_CAP 128

typedef struct {
    char path[PATH_CAP]; /* relative to the program: "tiers[2].rebate_bp" */
    int line;
} key_line;

typedef struct {
    char path[PATH_CAP];
    int line;
    const char *name;    /* the tier name, owned by the YAML document */
    int *target;         /* the index to fill, inside the program being read */
} tier_ref;

typedef struct {
    const char *file;
    yaml_document_t *doc;
    char *err;
    size_t errcap;
    char prefix[32];     /* "programs[3]" while a program is read, else "" */
    int program_line;
    key_line *lines;     /* every key of the current program, by path */
    int n_lines, cap_lines;
    tier_ref *refs;      /* min_tier names waiting for the tiers */
    int n_refs, cap_refs;
} parse_ctx;

static int node_line(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

/* Writes `FILE:LINE: PREFIX.KEY: message`. @returns -1, for `return fail(...)`. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int fail(parse_ctx *c, int line, const char *key, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->err == NULL || c->errcap == 0)
        return -1;
    snprintf(c->err, c->errcap, "%s:%d: %s%s%s: %s", c->file, line, c->prefix,
             (c->prefix[0] && key[0]) ? "." : "", key, msg);
    return -1;
}

static void join_key(char *out, const char *parent, const char *name)
{
    if (parent[0])
        snprintf(out, PATH_CAP, "%s.%s", parent, name);
    else
        snprintf(out, PATH_CAP, "%s", name);
}

static int remember_line(parse_ctx *c, const char *path, int line)
{
    if (c->n_lines == c->cap_lines) {
        int cap = c->cap_lines ? c->cap_lines * 2 : 64;
        key_line *grown = realloc(c->lines, (size_t)cap * sizeof(*grown));
        if (grown == NULL)
            return fail(c, line, path, "out of memory");
        c->lines = grown;
        c->cap_lines = cap;
    }
    snprintf(c->lines[c->n_lines].path, PATH_CAP, "%s", path);
    c->lines[c->n_lines].line = line;
    c->n_lines++;
    return 0;
}

/* The line of `path`, or of its nearest recorded ancestor ("tiers[2].x" → "tiers[2]" →
 * "tiers"), or of the program itself. */
static int line_of(const parse_ctx *c, const char *path)
{
    char buf[PATH_CAP];

    snprintf(buf, sizeof buf, "%s", path);
    for (;;) {
        for (int i = 0; i < c->n_lines; i++)
            if (strcmp(c->lines[i].path, buf) == 0)
                return c->lines[i].line;
        char *cut = strrchr(buf, '.');
        char *bracket = strrchr(buf, '[');
        if (bracket != NULL && (cut == NULL || bracket > cut))
            cut = bracket;
        if (cut == NULL)
            return c->program_line;
        *cut = '\0';
    }
}

/* A short description of a value for "got ..." in messages. */
static const char *node_text(const yaml_node_t *n, char *buf, size_t cap)
{
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_SCALAR_NODE:
        if (n->data.scalar.length == 0 && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            return "nothing";
        if (n->data.scalar.length > 60)
            snprintf(buf, cap, "'%.57s...'", (const char *)n->data.scalar.value);
        else
            snprintf(buf, cap, "'%s'", (const char *)n->data.scalar.value);
        return buf;
    default:
        return "nothing";
    }
}

static bool is_plain_null(const yaml_node_t *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
        if (strcmp((const char *)n->data.scalar.value, nulls[i]) == 0)
            return true;
    return false;
}

/* Parses a plain decimal integer (optional '-', no '+', no leading zeros, no '_').
 * @returns 0, -1 when the text is not such an integer, -2 when it overflows int64. */
static int parse_int64(const char *s, int64_t *out)
{
    const char *p = s;
    bool neg = false;
    uint64_t v = 0;

    if (*p == '-') {
        neg = true;
        p++;
    }
    if (!isdigit((unsigned char)*p) || (p[0] == '0' && p[1] != '\0'))
        return -1;
    const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (limit - d) / 10u) {
            while (isdigit((unsigned char)*p))
                p++;
            return *p == '\0' ? -2 : -1;
        }
        v = v * 10u + d;
    }
    if (*p != '\0')
        return -1;
    if (!neg)
        *out = (int64_t)v;
    else if (v == (uint64_t)INT64_MAX + 1u)
        *out = INT64_MIN;
    else
        *out = -(int64_t)v;
    return 0;
}

static void format_e8(int64_t v, char *buf, size_t cap)
{
    char frac[16];
    int64_t whole = v / PROC_RATE_DEN, rest = v % PROC_RATE_DEN;

    if (rest < 0)
        rest = -rest;
    snprintf(frac, sizeof frac, "%08lld", (long long)rest);
    for (int i = 7; i >= 0 && frac[i] == '0'; i--)
        frac[i] = '\0';
    if (frac[0] != '\0')
        snprintf(buf, cap, "%lld.%s", (long long)whole, frac);
    else
        snprintf(buf, cap, "%lld", (long long)whole);
}

/* "between 0 and 10000" / "at least 1", for a numeric row's range. */
static void range_text(const key_row *r, char *buf, size_t cap)
{
    char lo[32], hi[32];
    const int64_t top = r->size == sizeof(int32_t) ? INT32_MAX : INT64_MAX;

    if (r->type == KT_DECIMAL8 || r->type == KT_FX) {
        format_e8(r->min, lo, sizeof lo);
        format_e8(r->max, hi, sizeof hi);
    } else {
        snprintf(lo, sizeof lo, "%lld", (long long)r->min);
        snprintf(hi, sizeof hi, "%lld", (long long)r->max);
    }
    if (r->max >= top)
        snprintf(buf, cap, "at least %s", lo);
    else
        snprintf(buf, cap, "between %s and %s", lo, hi);
}

static void store_int(char *field, size_t size, int64_t v)
{
    if (size == sizeof(int32_t)) {
        int32_t v32 = (int32_t)v;
        memcpy(field, &v32, sizeof v32);
    } else {
        memcpy(field, &v, sizeof v);
    }
}

static int64_t load_int(const char *field, size_t size)
{
    if (size == sizeof(int32_t)) {
        int32_t v32;
        memcpy(&v32, field, sizeof v32);
        return v32;
    }
    int64_t v;
    memcpy(&v, field, sizeof v);
    return v;
}

static bool parse_date_ms(const char *s, int64_t *out_ms)
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return false;
    int y = atoi(s);
    unsigned m = (unsigned)atoi(s + 5), d = (unsigned)atoi(s + 8);
    if (m < 1 || m > 12 || d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap ? 1u : 0u))
        return false;
    *out_ms = proc_days_from_civil(y, m, d) * PROC_MS_PER_DAY;
    return true;
}

/* A current ISO 4217 code with a minor unit: amounts are counted in its minor units. */
static bool is_currency_code(const char *s)
{
    return proc_currency_exponent(s) >= 0;
}

/* Levenshtein distance of two short keys, for "did you mean". */
static int edit_distance(const char *a, const char *b)
{
    int row[PATH_CAP + 1];
    size_t la = strlen(a), lb = strlen(b);

    if (la > PATH_CAP || lb > PATH_CAP)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static int unknown_key(parse_ctx *c, const key_row *rows, const char *path, int line,
                       const char *key)
{
    const char *best = NULL;
    int best_d = 3;

    for (const key_row *r = rows; r->name != NULL; r++) {
        size_t klen = strlen(key), rlen = strlen(r->name);
        int d = edit_distance(key, r->name);
        /* "per_deal" for "per_deal_won": a truncated key is also a near miss. */
        if (d > 2 && klen >= 3 && klen < rlen && strncmp(key, r->name, klen) == 0)
            d = 2;
        if (d < best_d) {
            best_d = d;
            best = r->name;
        }
    }
    if (best != NULL)
        return fail(c, line, path, "unknown key '%s' (did you mean '%s'?)", key, best);
    return fail(c, line, path, "unknown key '%s'", key);
}

/* ------------------------------------------------------------------------------------ */
/* The walker                                                                            */
/* ------------------------------------------------------------------------------------ */

static int parse_mapping(parse_ctx *c, const key_row *rows, char *base, yaml_node_t *map,
                         const char *path);

static int parse_scalar_text(parse_ctx *c, yaml_node_t *v, const char *path, int line,
                             const char *expected, const char **text_out)
{
    char shown[80];

    if (v->type != YAML_SCALAR_NODE || is_plain_null(v))
        return fail(c, line, path, "expected %s, got %s", expected,
                    node_text(v, shown, sizeof shown));
    *text_out = (const char *)v->data.scalar.value;
    return 0;
}

static int parse_number(parse_ctx *c, const key_row *r, char *field, yaml_node_t *v,
                        const char *path, int line)
{
    char shown[80], range[80];
    const char *text = NULL;
    int64_t n;

    if (parse_scalar_text(c, v, path, line, "an integer", &text) < 0)
        return -1;
    int rc = v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? parse_int64(text, &n) : -1;
    range_text(r, range, sizeof range);
    if (rc == -1) {
        if (v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
            return fail(c, line, path, "expected an integer, got the quoted string %s",
                        node_text(v, shown, sizeof shown));
        if (text[0] == '0' || (text[0] == '-' && text[1] == '0'))
            return fail(c, line, path,
                        "expected an integer, got %s (leading zeros are not allowed)",
                        node_text(v, shown, sizeof shown));
        return fail(c, line, path, "expected an integer, got %s",
                    node_text(v, shown, sizeof shown));
    }
    if (rc == -2 || n < r->min || n > r->max)
        return fail(c, line, path, "must be %s, got %s", range, text);
    store_int(field, r->size, n);
    return 0;
}

static int parse_decimal(parse_ctx *c, const key_row *r, int64_t *out, yaml_node_t *v,
                         const char *path, int line)
{
    char shown[80], range[80];
    const char *text = NULL;

    if (parse_scalar_text(c, v, path, line, "a decimal number like \"2.5\"", &text) < 0)
        return -1;
    if (!proc_parse_decimal_e8(text, out)) {
        size_t whole = strspn(text, "0123456789");
        size_t places = text[whole] == '.' ? strspn(text + whole + 1, "0123456789") : 0;
        if (whole > 0 && places > 8 && text[whole + 1 + places] == '\0')
            return fail(c, line, path, "at most 8 decimals are allowed, got %s",
                        node_text(v, shown, sizeof shown));
        return fail(c, line, path, "expected a decimal number like \"2.5\", got %s",
                    node_text(v, shown, sizeof shown));
    }
    if (*out < r->min || *out > r->max) {
        range_text(r, range, sizeof range);
        return fail(c, line, path, "must be %s, got %s", range, text);
    }
    return 0;
}

static int parse_fx(parse_ctx *c, const key_row *r, char *base, yaml_node_t *map,
                    const char *path, int line)
{
    char shown[80], key_path[PATH_CAP];
    proc_fx *fx = (proc_fx *)(void *)(base + r->offset);
    int n = 0;

    if (map->type != YAML_MAPPING_NODE)
        return fail(c, line, path, "expected a mapping of currency codes to rates, got %s",
                    node_text(map, shown, sizeof shown));
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);
        int kline = node_line(k);
        if (k->type != YAML_SCALAR_NODE)
            return fail(c, kline, path, "expected a currency code as key, got %s",
                        node_text(k, shown, sizeof shown));
        const char *code = (const char *)k->data.scalar.value;
        join_key(key_path, path, code);
        if (!is_currency_code(code))
            return fail(c, kline, key_path,
                        "expected a current ISO 4217 currency code (e.g. EUR, JPY, KWD), got %s",
                        node_text(k, shown, sizeof shown));
        for (int i = 0; i < n; i++)
            if (strcmp(fx[i].currency, code) == 0)
                return fail(c, kline, key_path, "currency %s is given twice", code);
        if (n == r->max_items)
            return fail(c, kline, key_path, "at most %d fx rates are allowed", r->max_items);
        if (remember_line(c, key_path, kline) < 0)
            return -1;
        snprintf(fx[n].currency, sizeof fx[n].currency, "%s", code);
        if (parse_decimal(c, r, &fx[n].rate_e8, v, key_path, kline) < 0)
            return -1;
        n++;
        store_int(base + r->count_offset, sizeof(int), n);
    }
    return 0;
}

static int parse_list(parse_ctx *c, const key_row *r, char *base, yaml_node_t *seq,
                      const char *path, int line)
{
    char shown[80], item_path[PATH_CAP];
    int n = 0;

    if (seq->type != YAML_SEQUENCE_NODE)
        return fail(c, line, path, "expected a list, got %s",
                    node_text(seq, shown, sizeof shown));
    for (yaml_node_item_t *it = seq->data.sequence.items.start;
         it < seq->data.sequence.items.top; it++, n++) {
        yaml_node_t *item = yaml_document_get_node(c->doc, *it);
        snprintf(item_path, sizeof item_path, "%s[%d]", path, n);
        if (n == r->max_items)
            return fail(c, node_line(item), item_path,
                        "at most %d entries are allowed in '%s'", r->max_items, r->name);
        if (remember_line(c, item_path, node_line(item)) < 0)
            return -1;
        if (parse_mapping(c, r->sub, base + r->offset + (size_t)n * r->size, item,
                          item_path) < 0)
            return -1;
        store_int(base + r->count_offset, sizeof(int), n + 1);
    }
    return 0;
}

static int parse_value(parse_ctx *c, const key_row *r, char *base, yaml_node_t *v,
                       const char *path, int line)
{
    char shown[80];
    char *field = base + r->offset;
    const char *text = NULL;

    switch (r->type) {
    case KT_STRING:
        if (parse_scalar_text(c, v, path, line, "a non-empty string", &text) < 0)
            return -1;
        if (text[0] == '\0')
            return fail(c, line, path, "expected a non-empty string");
        if (v->data.scalar.length >= r->size)
            return fail(c, line, path, "is %zu bytes long; at most %zu are allowed",
                        v->data.scalar.length, r->size - 1);
        memcpy(field, text, v->data.scalar.length + 1);
        return 0;
    case KT_CURRENCY:
        if (parse_scalar_text(c, v, path, line, "a currency code", &text) < 0)
            return -1;
        if (!is_currency_code(text))
            return fail(c, line, path,
                        "expected a current ISO 4217 currency code (e.g. EUR, JPY, KWD), got %s",
                        node_text(v, shown, sizeof shown));
        snprintf(field, r->size, "%s", text);
        return 0;
    case KT_INT:
    case KT_MONEY:
    case KT_BP:
    case KT_PCT:
        return parse_number(c, r, field, v, path, line);
    case KT_DECIMAL8: {
        int64_t e8;
        if (parse_decimal(c, r, &e8, v, path, line) < 0)
            return -1;
        store_int(field, r->size, e8);
        return 0;
    }
    case KT_DATE: {
        int64_t ms;
        if (parse_scalar_text(c, v, path, line, "a date YYYY-MM-DD", &text) < 0)
            return -1;
        if (!parse_date_ms(text, &ms))
            return fail(c, line, path, "expected a date YYYY-MM-DD, got %s",
                        node_text(v, shown, sizeof shown));
        store_int(field, r->size, ms);
        return 0;
    }
    case KT_ENUM: {
        char choices[128] = "";
        for (int i = 0; r->names[i] != NULL; i++) {
            if (v->type == YAML_SCALAR_NODE &&
                strcmp((const char *)v->data.scalar.value, r->names[i]) == 0) {
                store_int(field, r->size, i);
                return 0;
            }
            size_t len = strlen(choices);
            snprintf(choices + len, sizeof choices - len, "%s%s",
                     i == 0 ? "" : (r->names[i + 1] == NULL ? " or " : ", "), r->names[i]);
        }
        return fail(c, line, path, "expected %s, got %s", choices,
                    node_text(v, shown, sizeof shown));
    }
    case KT_TIER_REF:
        if (parse_scalar_text(c, v, path, line, "a tier name", &text) < 0)
            return -1;
        if (c->n_refs == c->cap_refs) {
            int cap = c->cap_refs ? c->cap_refs * 2 : 8;
            tier_ref *grown = realloc(c->refs, (size_t)cap * sizeof(*grown));
            if (grown == NULL)
                return fail(c, line, path, "out of memory");
            c->refs = grown;
            c->cap_refs = cap;
        }
        snprintf(c->refs[c->n_refs].path, PATH_CAP, "%s", path);
        c->refs[c->n_refs].line = line;
        c->refs[c->n_refs].name = text;
        c->refs[c->n_refs].target = (int *)(void *)field;
        c->n_refs++;
        return 0;
    case KT_MAP:
        return parse_mapping(c, r->sub, base, v, path);
    case KT_LIST:
        return parse_list(c, r, base, v, path, line);
    case KT_FX:
        return parse_fx(c, r, base, v, path, line);
    }
    return fail(c, line, path, "internal error: unknown key type");
}

/* Parses the mapping `map` against `rows`, whose offsets are relative to `base`. */
static int parse_mapping(parse_ctx *c, const key_row *rows, char *base, yaml_node_t *map,
                         const char *path)
{
    char shown[80], key_path[PATH_CAP];
    int seen_line[32] = {0};
    int n_rows = 0;

    while (rows[n_rows].name != NULL)
        n_rows++;
    if (n_rows > 32)
        return fail(c, node_line(map), path, "internal error: key table too large");
    if (map->type != YAML_MAPPING_NODE)
        return fail(c, node_line(map), path, "expected a mapping of keys to values, got %s",
                    node_text(map, shown, sizeof shown));
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);
        int kline = node_line(k);
        if (k->type != YAML_SCALAR_NODE)
            return fail(c, kline, path, "expected a key, got %s",
                        node_text(k, shown, sizeof shown));
        const char *key = (const char *)k->data.scalar.value;
        join_key(key_path, path, key);
        int i = 0;
        while (i < n_rows && strcmp(rows[i].name, key) != 0)
            i++;
        if (i == n_rows)
            return unknown_key(c, rows, key_path, kline, key);
        if (seen_line[i])
            return fail(c, kline, key_path, "key '%s' is given twice (first on line %d)", key,
                        seen_line[i]);
        seen_line[i] = kline;
        if (remember_line(c, key_path, kline) < 0)
            return -1;
        if (parse_value(c, &rows[i], base, v, key_path, kline) < 0)
            return -1;
    }
    for (int i = 0; i < n_rows; i++) {
        if (rows[i].required && !seen_line[i]) {
            join_key(key_path, path, rows[i].name);
            return fail(c, node_line(map), key_path, "missing required key '%s'",
                        rows[i].name);
        }
    }
    return 0;
}

/* Checks that need the whole program: tier names, currencies, unique ids, then
 * proc_program_check(). `programs[0..index-1]` are already loaded. */
static int check_program(parse_ctx *c, proc_program *programs, int index)
{
    proc_program *p = &programs[index];
    char key[PATH_CAP], msg[256];

    for (int i = 0; i < c->n_refs; i++) {
        const tier_ref *ref = &c->refs[i];
        int t = proc_program_tier_index(p, ref->name);
        if (t < 0) {
            char names[256] = "";
            for (int j = 0; j < p->n_tiers; j++) {
                size_t len = strlen(names);
                snprintf(names + len, sizeof names - len, "%s%s", j ? ", " : "",
                         p->tiers[j].name);
            }
            return fail(c, ref->line, ref->path, "no tier is named '%s' (the tiers are: %s)",
                        ref->name, names);
        }
        *ref->target = t;
    }
    for (int i = 0; i < p->n_fx; i++) {
        if (strcmp(p->fx[i].currency, p->currency) == 0) {
            snprintf(key, sizeof key, "fx.%s", p->fx[i].currency);
            return fail(c, line_of(c, key), key,
                        "%s is the program currency; it takes no fx rate", p->currency);
        }
    }
    for (int i = 0; i < p->n_spiffs; i++) {
        for (int j = 0; j < i; j++) {
            if (strcmp(p->spiffs[i].id, p->spiffs[j].id) == 0) {
                snprintf(key, sizeof key, "spiffs[%d].id", i);
                return fail(c, line_of(c, key), key,
                            "SPIFF id '%s' is already used by spiffs[%d]", p->spiffs[i].id,
                            j);
            }
        }
    }
    for (int j = 0; j < index; j++) {
        if (strcmp(programs[j].id, p->id) == 0)
            return fail(c, line_of(c, "id"), "id",
                        "program id '%s' is already used by programs[%d]", p->id, j);
    }
    if (!proc_program_check(p, key, sizeof key, msg, sizeof msg))
        return fail(c, line_of(c, key), key, "%s", msg);
    return 0;
}

static int parse_programs(parse_ctx *c, proc_program **programs_out, int *n_out)
{
    char shown[80];
    proc_program *programs = NULL;
    yaml_node_t *seq = NULL;
    int n = 0, rc = -1;

    yaml_node_t *root = yaml_document_get_root_node(c->doc);
    if (root == NULL) {
        fail(c, 1, "programs", "the file is empty; it must define 'programs:'");
        goto done;
    }
    if (root->type != YAML_MAPPING_NODE) {
        fail(c, node_line(root), "programs",
             "expected a mapping with the key 'programs' at the top, got %s",
             node_text(root, shown, sizeof shown));
        goto done;
    }
    int seq_line = 0;
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
         pair < root->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
        const char *key = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
        if (strcmp(key, "programs") != 0) {
            static const key_row root_rows[] = {{.name = "programs"}, {0}};
            unknown_key(c, root_rows, key, node_line(k), key);
            goto done;
        }
        if (seq != NULL) {
            fail(c, node_line(k), "programs", "key 'programs' is given twice (first on line %d)",
                 seq_line);
            goto done;
        }
        seq = yaml_document_get_node(c->doc, pair->value);
        seq_line = node_line(k);
    }
    if (seq == NULL) {
        fail(c, node_line(root), "programs", "missing required key 'programs'");
        goto done;
    }
    if (seq->type != YAML_SEQUENCE_NODE) {
        fail(c, seq_line, "programs", "expected a list of programs, got %s",
             node_text(seq, shown, sizeof shown));
        goto done;
    }
    int count = (int)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (count == 0) {
        fail(c, seq_line, "programs", "the file defines no programs");
        goto done;
    }
    programs = calloc((size_t)count, sizeof(*programs));
    if (programs == NULL) {
        fail(c, seq_line, "programs", "out of memory");
        goto done;
    }
    for (n = 0; n < count; n++) {
        yaml_node_t *item = yaml_document_get_node(c->doc, seq->data.sequence.items.start[n]);
        snprintf(c->prefix, sizeof c->prefix, "programs[%d]", n);
        c->program_line = node_line(item);
        c->n_lines = 0;
        c->n_refs = 0;
        proc_program_defaults(&programs[n]);
        if (parse_mapping(c, program_rows, (char *)&programs[n], item, "") < 0)
            goto done;
        if (check_program(c, programs, n) < 0)
            goto done;
    }
    *programs_out = programs;
    *n_out = n;
    programs = NULL; /* now owned by the caller */
    rc = 0;
done:
    free(programs);
    return rc;
}

static void syntax_error(parse_ctx *c, const yaml_parser_t *parser)
{
    int line = (int)parser->problem_mark.line + 1;
    const char *problem = parser->problem ? parser->problem : "unreadable YAML";

    c->prefix[0] = '\0';
    if (parser->error == YAML_READER_ERROR)
        fail(c, line, "syntax", "%s (at byte %zu)", problem, parser->problem_offset);
    else if (parser->context != NULL)
        fail(c, line, "syntax", "%s %s (line %d)", problem, parser->context,
             (int)parser->context_mark.line + 1);
    else
        fail(c, line, "syntax", "%s", problem);
}

/* Loads one YAML document from an initialised parser and converts it. */
static int load_from_parser(const char *file, yaml_parser_t *parser,
                            proc_program **programs_out, int *n_out, char *err, size_t errcap)
{
    parse_ctx c = {.file = file, .err = err, .errcap = errcap};
    yaml_document_t doc, extra;
    bool have_doc = false, have_extra = false;
    int rc = -1;

    *programs_out = NULL;
    *n_out = 0;
    if (err != NULL && errcap > 0)
        err[0] = '\0';
    if (!yaml_parser_load(parser, &doc)) {
        syntax_error(&c, parser);
        goto done;
    }
    have_doc = true;
    if (!yaml_parser_load(parser, &extra)) {
        syntax_error(&c, parser);
        goto done;
    }
    have_extra = true;
    yaml_node_t *extra_root = yaml_document_get_root_node(&extra);
    if (extra_root != NULL) {
        fail(&c, node_line(extra_root), "programs",
             "the file holds more than one YAML document; put all programs in one list");
        goto done;
    }
    c.doc = &doc;
    rc = parse_programs(&c, programs_out, n_out);
done:
    if (have_extra)
        yaml_document_delete(&extra);
    if (have_doc)
        yaml_document_delete(&doc);
    free(c.lines);
    free(c.refs);
    return rc;
}

int cons_program_load_string(const char *name_for_errors, const char *text,
                             proc_program **programs_out, int *n_out, char *err, size_t errcap)
{
    yaml_parser_t parser;
    int rc;

    if (!yaml_parser_initialize(&parser)) {
        *programs_out = NULL;
        *n_out = 0;
        snprintf(err, errcap, "%s: out of memory", name_for_errors);
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    rc = load_from_parser(name_for_errors, &parser, programs_out, n_out, err, errcap);
    yaml_parser_delete(&parser);
    return rc;
}

int cons_program_load(const char *path, proc_program **programs_out, int *n_out, char *err,
                      size_t errcap)
{
    yaml_parser_t parser;
    bool have_parser = false;
    int rc = -1;

    *programs_out = NULL;
    *n_out = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errcap, "%s: cannot open the program file: %s", path, strerror(errno));
        goto done;
    }
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errcap, "%s: out of memory", path);
        goto done;
    }
    have_parser = true;
    yaml_parser_set_input_file(&parser, f);
    rc = load_from_parser(path, &parser, programs_out, n_out, err, errcap);
    if (rc == 0 && ferror(f)) {
        snprintf(err, errcap, "%s: error reading the program file", path);
        cons_program_free(*programs_out);
        *programs_out = NULL;
        *n_out = 0;
        rc = -1;
    }
done:
    if (have_parser)
        yaml_parser_delete(&parser);
    if (f != NULL)
        fclose(f);
    return rc;
}

void cons_program_free(proc_program *programs)
{
    free(programs);
}

/* ------------------------------------------------------------------------------------ */
/* Documentation                                                                         */
/* ------------------------------------------------------------------------------------ */

static void type_text(const key_row *r, char *buf, size_t cap)
{
    char range[80];

    switch (r->type) {
    case KT_STRING:
        snprintf(buf, cap, "text (≤ %zu bytes)", r->size - 1);
        return;
    case KT_CURRENCY:
        snprintf(buf, cap, "currency code");
        return;
    case KT_INT:
        range_text(r, range, sizeof range);
        snprintf(buf, cap, "integer, %s", range);
        return;
    case KT_MONEY:
        range_text(r, range, sizeof range);
        snprintf(buf, cap, "minor units, %s", range);
        return;
    case KT_BP:
        snprintf(buf, cap, "bp, 0–10000");
        return;
    case KT_PCT:
        snprintf(buf, cap, "percent, 1–100");
        return;
    case KT_DECIMAL8:
        range_text(r, range, sizeof range);
        snprintf(buf, cap, "decimal (≤ 8 places), %s", range);
        return;
    case KT_DATE:
        snprintf(buf, cap, "date `YYYY-MM-DD`");
        return;
    case KT_ENUM: {
        buf[0] = '\0';
        for (int i = 0; r->names[i] != NULL; i++) {
            size_t len = strlen(buf);
            snprintf(buf + len, cap - len, "%s`%s`", i ? " \\| " : "", r->names[i]);
        }
        return;
    }
    case KT_TIER_REF:
        snprintf(buf, cap, "tier name");
        return;
    case KT_MAP:
        snprintf(buf, cap, "mapping");
        return;
    case KT_LIST:
        snprintf(buf, cap, "list (≤ %d)", r->max_items);
        return;
    case KT_FX:
        snprintf(buf, cap, "mapping (≤ %d)", r->max_items);
        return;
    }
    snprintf(buf, cap, "?");
}

static void default_text(const key_row *r, const char *base, char *buf, size_t cap)
{
    const char *field = base + r->offset;

    if (r->required) {
        snprintf(buf, cap, "required");
        return;
    }
    switch (r->type) {
    case KT_STRING:
    case KT_CURRENCY:
        snprintf(buf, cap, field[0] ? "`%s`" : "—", field);
        return;
    case KT_INT:
    case KT_MONEY:
    case KT_BP:
    case KT_PCT: {
        int64_t v = load_int(field, r->size);
        if (v == INT64_MAX)
            snprintf(buf, cap, "none");
        else
            snprintf(buf, cap, "%lld", (long long)v);
        return;
    }
    case KT_DECIMAL8: {
        char num[40];
        format_e8(load_int(field, r->size), num, sizeof num);
        snprintf(buf, cap, "%s", num);
        return;
    }
    case KT_ENUM:
        snprintf(buf, cap, "`%s`", r->names[load_int(field, r->size)]);
        return;
    case KT_TIER_REF:
        snprintf(buf, cap, "the first tier");
        return;
    case KT_DATE:
    case KT_MAP:
        snprintf(buf, cap, "—");
        return;
    case KT_LIST:
    case KT_FX:
        snprintf(buf, cap, "none");
        return;
    }
    snprintf(buf, cap, "?");
}

static void describe_rows(FILE *out, const key_row *rows, const char *base, const char *path)
{
    char key_path[PATH_CAP], type[160], def[80];

    for (const key_row *r = rows; r->name != NULL; r++) {
        join_key(key_path, path, r->name);
        type_text(r, type, sizeof type);
        default_text(r, base, def, sizeof def);
        fprintf(out, "| `%s` | %s | %s | %s |\n", key_path, type, def, r->description);
        if (r->type == KT_MAP) {
            describe_rows(out, r->sub, base, key_path);
        } else if (r->type == KT_LIST) {
            char item_path[PATH_CAP];
            snprintf(item_path, sizeof item_path, "%s[]", key_path);
            describe_rows(out, r->sub, base + r->offset, item_path);
        } else if (r->type == KT_FX) {
            fprintf(out,
                    "| `%s.<CUR>` | decimal (≤ 8 places), above 0 | — | Rate of currency "
                    "`<CUR>` (3 uppercase letters, not the program's own). |\n",
                    key_path);
        }
    }
}

void cons_program_describe(FILE *out)
{
    proc_program defaults;

    proc_program_defaults(&defaults);
    fprintf(out, "Each entry of `programs:` takes these keys (`tiers[]` marks the keys of each "
                 "list entry). Any other key is an error.\n\n");
    fprintf(out, "| key | type | default | description |\n|---|---|---|---|\n");
    describe_rows(out, program_rows, (const char *)&defaults, "");
}
