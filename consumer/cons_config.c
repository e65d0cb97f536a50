/*
 * cons_config.c — the settings table and its four layers (defaults, file, environment,
 * flags). See cons_config.h for the rules a user sees.
 */
#include "cons_config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define KAFKA_PREFIX "kafka."
#define ENV_PREFIX "PI_"
#define ENV_KAFKA_PREFIX "PI_KAFKA_"
#define ENV_CONFIG "PI_CONFIG"
#define DEFAULT_BOOTSTRAP "127.0.0.1:19092"
#define NAME_CAP 128
#define MSG_CAP 256

typedef enum {
    CT_STRING,    /* char *, heap */
    CT_INT,       /* int within [min, max] */
    CT_BOOL,      /* bool: true/false, yes/no, on/off, 1/0 */
    CT_CHOICE     /* char *, heap: one of the row's choices, stored in its spelling */
} conf_type;

typedef struct {
    conf_type type;
    const char *name;
    const char *default_text;  /* parsed like any other value */
    size_t offset;
    const char *description;
    bool secret;
    bool nonempty;             /* CT_STRING: "" is refused */
    int min, max;              /* CT_INT */
    const char *default_doc;   /* shown instead of default_text, when set */
    const char *const *choices; /* CT_CHOICE: the allowed values, NULL-terminated */
} conf_row;

static const char *const log_level_names[] = {"debug", "info", "warn", "error", NULL};
static const char *const subject_strategies[] = {"topic", "record", "topic_record", NULL};

#define ROW(t, key, def, field, desc)                                             \
    .type = t, .name = key, .default_text = def, .offset = offsetof(cons_config, field), \
    .description = desc
#define STR(key, def, field, desc) {ROW(CT_STRING, key, def, field, desc), .nonempty = true}
#define STR_OPT(key, def, field, desc) {ROW(CT_STRING, key, def, field, desc)}
#define INT(key, def, field, lo, hi, desc) \
    {ROW(CT_INT, key, def, field, desc), .min = lo, .max = hi}

static const conf_row rows[] = {
    STR("program_file", "deploy/programs/example.yaml", program_file,
        "The program file (YAML, CONTRACT §5)."),
    STR("group.id", "partner-incentives", group_id,
        "Kafka consumer group of the workers."),
    {ROW(CT_STRING, "worker.id", "", worker_id,
         "Name of this worker in logs and metrics; unique per running worker."),
     .default_doc = "the host name"},
    STR("topic.sales", "partner.sales", topic_sales, "Input topic of `SaleEvent`s."),
    STR("topic.registrations", "partner.registrations", topic_registrations,
        "Input topic of `RegistrationEvent`s."),
    STR("topic.surveys", "partner.surveys", topic_surveys, "Input topic of `SurveyEvent`s."),
    STR("topic.approvals", "partner.approvals", topic_approvals,
        "Input topic of `ApprovalEvent`s: decisions on payouts held for approval."),
    STR("topic.payouts", "incentive.payouts", topic_payouts, "Output topic of `PayoutEvent`s."),
    STR("topic.alerts", "incentive.alerts", topic_alerts, "Output topic of `AlertEvent`s."),
    STR("topic.dead_letters", "incentive.dead-letters", topic_dead_letters,
        "Output topic of rejected input records."),
    STR("redis.host", "127.0.0.1", redis_host, "Redis host name or address (the ledger)."),
    INT("redis.port", "16379", redis_port, 1, 65535, "Redis port."),
    STR_OPT("redis.user", "", redis_user,
            "Redis 6 ACL user name (`AUTH user password`); empty: the default user."),
    {ROW(CT_STRING, "redis.password", "", redis_password,
         "Redis password (AUTH); empty for none. Secret: never logged."),
     .secret = true},
    STR("redis.namespace", "inc", redis_namespace,
        "Prefix of every Redis key (CONTRACT §8); give a test or a what-if run its own."),
    INT("batch.max_events", "2000", batch_max_events, 1, 1000000,
        "Most input events per batch (one Redis call and one Kafka transaction)."),
    INT("batch.max_ms", "20", batch_max_ms, 1, 60000,
        "Longest a batch stays open, in milliseconds: bounds the latency of outputs."),
    INT("dedupe.replay_horizon_days", "7", replay_horizon_days, 1, 3650,
        "How long an applied `event_id` is remembered to ignore its duplicates."),
    {ROW(CT_BOOL, "check.mispartitioned", "true", check_mispartitioned,
         "Dead-letter records whose key does not hash to their partition (`MISPARTITIONED`).")},
    {ROW(CT_BOOL, "consume.timestamp_order", "false", consume_timestamp_order,
         "Apply the records of every owned input topic-partition merged by record "
         "timestamp, each held until none of them can deliver an earlier one (CONTRACT "
         "§7.3): the same order on every run over the same history, as a replay needs. "
         "`false` applies records as they arrive (lowest latency).")},
    STR_OPT("schema.map", "", schema_map,
            "Extra schema id → `.avsc` map file, on top of the embedded one; empty for none. "
            "Not with `schema.registry.url`."),
    STR_OPT("schema.registry.url", "", sreg_url,
            "Base URL of a Confluent-compatible schema registry (e.g. "
            "`http://registry:8080/apis/ccompat/v7`); empty: the embedded local ids 1–8. "
            "With a registry every schema id is the registry's: unknown input ids are fetched "
            "once and cached, and the output schemas are looked up or registered at start."),
    STR_OPT("schema.registry.user", "", sreg_user,
            "User name for HTTP basic authentication at the registry; empty for none."),
    {ROW(CT_STRING, "schema.registry.password", "", sreg_password,
         "Password for basic authentication at the registry. Secret: never logged."),
     .secret = true},
    {ROW(CT_CHOICE, "schema.registry.subject_strategy", "topic", sreg_subject_strategy,
         "Subject an output schema is registered under: `topic` (`<topic>-value`, "
         "Confluent's TopicNameStrategy), `record` (`partner_incentives.v1.PayoutEvent`) "
         "or `topic_record` (`<topic>-partner_incentives.v1.PayoutEvent`)."),
     .choices = subject_strategies},
    {ROW(CT_BOOL, "schema.registry.auto_register", "true", sreg_auto_register,
         "Register the output schemas when their subject lacks them; `false` (production) "
         "only looks them up and refuses to start when one is missing.")},
    STR_OPT("schema.registry.ca_location", "", sreg_ca_location,
            "CA bundle (PEM file) to verify the registry's TLS certificate; empty: the "
            "system's."),
    STR_OPT("schema.registry.certificate_location", "", sreg_certificate_location,
            "Client certificate (PEM file) for mutual TLS; empty for none."),
    STR_OPT("schema.registry.key_location", "", sreg_key_location,
            "Private key (PEM file) of the client certificate; empty for none."),
    {ROW(CT_BOOL, "schema.registry.tls_verify", "true", sreg_tls_verify,
         "Verify the registry's TLS certificate and host name; `false` only for tests.")},
    INT("schema.registry.timeout_ms", "5000", sreg_timeout_ms, 100, 600000,
        "Longest one registry request may take, in milliseconds."),
    INT("schema.registry.retry_deadline_ms", "60000", sreg_retry_deadline_ms, 0, INT32_MAX,
        "How long a failing registry request is retried (connection errors, 5xx, 429), in "
        "milliseconds, at start and when fetching an unknown id; past it the worker stops "
        "with an error rather than guess (ids already cached need no request)."),
    {ROW(CT_CHOICE, "log.level", "info", log_level,
         "Least severe log lines written: `debug`, `info`, `warn` or `error`."),
     .choices = log_level_names},
    {ROW(CT_BOOL, "worker.leave_group_on_stop", "true", leave_group_on_stop,
         "On SIGTERM, remove this static member from the group after closing, so its "
         "partitions move at once (plaintext listeners); `false` keeps them for "
         "`kafka.session.timeout.ms`, for restarts in place.")},
    INT("cache.max_partners", "20000", cache_max_partners, 0, INT32_MAX,
        "Most partners whose state the worker keeps in memory; beyond it the least recently "
        "used ones are dropped after a batch and read from Redis again when they return. "
        "About 0.9 KB each: the default keeps a worker with 100,000 partners under 64 MB; "
        "raise it when more partners are active at once than it holds. 0: no bound."),
    INT("metrics.port", "0", metrics_port, 0, 65535,
        "Port of the HTTP `/metrics`, `/healthz` and `/readyz` endpoints; 0 turns them off."),
    INT("fault.exit_after_ledger_commits", "0", fault_exit_after_ledger_commits, 0, INT32_MAX,
        "Testing only: exit abruptly right after this many ledger commits, before their Kafka "
        "transaction, to prove recovery from the outbox; 0 turns it off."),
    INT("fault.stop_before_batch_commit", "0", fault_stop_before_batch_commit, 0, INT32_MAX,
        "Testing only: SIGSTOP itself right before the ledger calls of this batch (1 = the "
        "first), so a test can resume it as a zombie after another worker took over; 0 = off."),
};

#define N_ROWS ((int)(sizeof rows / sizeof rows[0]))


#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

PRINTF_LIKE(3, 4)
static int failf(char *err, size_t errcap, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errcap == 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
    return -1;
}

static const conf_row *find_row(const char *key)
{
    for (int i = 0; i < N_ROWS; i++)
        if (strcmp(rows[i].name, key) == 0)
            return &rows[i];
    return NULL;
}

/* "redis.port" → "PI_REDIS_PORT". */
static void env_name(const char *key, char *out, size_t cap)
{
    size_t n = snprintf(out, cap, "%s", ENV_PREFIX);
    for (const char *p = key; *p != '\0' && n + 1 < cap; p++)
        out[n++] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
    out[n < cap ? n : cap - 1] = '\0';
}

static int replace_string(char **slot, const char *value, char *err, size_t errcap)
{
    char *copy = strdup(value);
    if (copy == NULL)
        return failf(err, errcap, "out of memory");
    free(*slot);
    *slot = copy;
    return 0;
}

static bool parse_int(const char *text, int min, int max, int *out)
{
    char *end;
    long v;

    if (!isdigit((unsigned char)text[0]) && !(text[0] == '-' && isdigit((unsigned char)text[1])))
        return false;
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = (int)v;
    return true;
}

static bool parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static int set_row(cons_config *cfg, const conf_row *r, const char *value, char *err,
                   size_t errcap)
{
    char *field = (char *)cfg + r->offset;

    switch (r->type) {
    case CT_STRING:
        if (r->nonempty && value[0] == '\0')
            return failf(err, errcap, "must not be empty");
        return replace_string((char **)(void *)field, value, err, errcap);
    case CT_INT: {
        int v;
        bool numeric = isdigit((unsigned char)value[0]) ||
                       (value[0] == '-' && isdigit((unsigned char)value[1]));
        if (!parse_int(value, r->min, r->max, &v)) {
            if (!numeric || strspn(value + 1, "0123456789") != strlen(value + 1))
                return failf(err, errcap, "expected an integer, got '%s'", value);
            return failf(err, errcap, "expected an integer between %d and %d, got '%s'",
                         r->min, r->max, value);
        }
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case CT_BOOL: {
        bool v;
        if (!parse_bool(value, &v))
            return failf(err, errcap, "expected true or false, got '%s'", value);
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case CT_CHOICE: { /* stored in the table's spelling (lowercase), whatever the case */
        char list[MSG_CAP] = "";
        size_t n = 0;
        for (const char *const *c = r->choices; *c != NULL; c++) {
            if (strcasecmp(value, *c) == 0)
                return replace_string((char **)(void *)field, *c, err, errcap);
            n += (size_t)snprintf(list + n, n < sizeof list ? sizeof list - n : 0, "%s%s",
                                  c == r->choices ? "" : (c[1] == NULL ? " or " : ", "), *c);
        }
        return failf(err, errcap, "expected %s, got '%s'", list, value);
    }
    }
    return failf(err, errcap, "internal error: unknown setting type");
}

/* Sets librdkafka property `name` (without "kafka."): replaces its value where it was
 * first set, or appends it. */
static int set_kafka(cons_config *cfg, const char *name, const char *value, char *err,
                     size_t errcap)
{
    if (name[0] == '\0')
        return failf(err, errcap, "a kafka.* key needs a librdkafka property name");
    for (int i = 0; i < cfg->n_kafka; i++)
        if (strcmp(cfg->kafka[i].name, name) == 0)
            return replace_string(&cfg->kafka[i].value, value, err, errcap);
    cons_kv *grown = realloc(cfg->kafka, (size_t)(cfg->n_kafka + 1) * sizeof(*grown));
    if (grown == NULL)
        return failf(err, errcap, "out of memory");
    cfg->kafka = grown;
    cons_kv kv = {strdup(name), strdup(value)};
    if (kv.name == NULL || kv.value == NULL) {
        free(kv.name);
        free(kv.value);
        return failf(err, errcap, "out of memory");
    }
    cfg->kafka[cfg->n_kafka++] = kv;
    return 0;
}

int cons_config_set(cons_config *cfg, const char *key, const char *value, char *err,
                    size_t errcap)
{
    if (strncmp(key, KAFKA_PREFIX, strlen(KAFKA_PREFIX)) == 0)
        return set_kafka(cfg, key + strlen(KAFKA_PREFIX), value, err, errcap);
    const conf_row *r = find_row(key);
    if (r == NULL)
        return failf(err, errcap, "unknown key");
    return set_row(cfg, r, value, err, errcap);
}

void cons_config_free(cons_config *cfg)
{
    if (cfg == NULL)
        return;
    for (int i = 0; i < N_ROWS; i++) {
        if (rows[i].type == CT_STRING || rows[i].type == CT_CHOICE) {
            char **slot = (char **)(void *)((char *)cfg + rows[i].offset);
            free(*slot);
        }
    }
    for (int i = 0; i < cfg->n_kafka; i++) {
        free(cfg->kafka[i].name);
        free(cfg->kafka[i].value);
    }
    free(cfg->kafka);
    free(cfg->config_file);
    memset(cfg, 0, sizeof(*cfg));
}

int cons_config_init(cons_config *cfg, char *err, size_t errcap)
{
    char msg[MSG_CAP];

    memset(cfg, 0, sizeof(*cfg));
    for (int i = 0; i < N_ROWS; i++) {
        if (set_row(cfg, &rows[i], rows[i].default_text, msg, sizeof msg) < 0) {
            failf(err, errcap, "default: %s: %s", rows[i].name, msg);
            goto fail;
        }
    }
    if (set_kafka(cfg, "bootstrap.servers", DEFAULT_BOOTSTRAP, msg, sizeof msg) < 0) {
        failf(err, errcap, "default: kafka.bootstrap.servers: %s", msg);
        goto fail;
    }
    return 0;
fail:
    cons_config_free(cfg);
    return -1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int load_file(cons_config *cfg, const char *path, char *err, size_t errcap)
{
    char msg[MSG_CAP];
    char *line = NULL;
    size_t line_cap = 0;
    int lineno = 0, rc = -1;

    FILE *f = fopen(path, "r");
    if (f == NULL) {
        failf(err, errcap, "%s: cannot open the config file: %s", path, strerror(errno));
        goto done;
    }
    while (getline(&line, &line_cap, f) != -1) {
        lineno++;
        char *text = trim(line);
        if (text[0] == '\0' || text[0] == '#')
            continue;
        char *eq = strchr(text, '=');
        if (eq == NULL) {
            failf(err, errcap, "%s:%d: %s: expected 'key = value'", path, lineno, text);
            goto done;
        }
        *eq = '\0';
        char *key = trim(text), *value = trim(eq + 1);
        if (key[0] == '\0') {
            failf(err, errcap, "%s:%d: =%s: expected 'key = value'", path, lineno, value);
            goto done;
        }
        if (cons_config_set(cfg, key, value, msg, sizeof msg) < 0) {
            failf(err, errcap, "%s:%d: %s: %s", path, lineno, key, msg);
            goto done;
        }
    }
    if (ferror(f)) {
        failf(err, errcap, "%s: error reading the config file: %s", path, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    free(line);
    if (f != NULL)
        fclose(f);
    return rc;
}

static const char *env_lookup(char **envp, const char *name)
{
    size_t n = strlen(name);
    for (char **e = envp; e != NULL && *e != NULL; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

/* The setting an environment variable names: a table key, or a kafka.* property in key
 * (NAME_CAP). @returns the key, or NULL for a variable that is none of ours. */
static const char *env_target(const char *var, char *key)
{
    char want[NAME_CAP];

    if (strncmp(var, ENV_KAFKA_PREFIX, strlen(ENV_KAFKA_PREFIX)) == 0) {
        size_t n = (size_t)snprintf(key, NAME_CAP, "%s", KAFKA_PREFIX);
        for (const char *p = var + strlen(ENV_KAFKA_PREFIX); *p && n + 1 < NAME_CAP; p++)
            key[n++] = *p == '_' ? '.' : (char)tolower((unsigned char)*p);
        key[n] = '\0';
        return key;
    }
    for (int i = 0; i < N_ROWS; i++) {
        env_name(rows[i].name, want, sizeof want);
        if (strcmp(want, var) == 0)
            return rows[i].name;
    }
    return NULL;
}

/* The contents of a secret file (PI_*_FILE): at most 64 KiB, no NUL byte, one trailing
 * newline dropped (as `echo` and editors leave it). @returns a malloc'd string or NULL
 * with a sentence in msg. */
static char *read_secret_file(const char *path, char *msg, size_t cap)
{
    enum { MAX = 64 * 1024 };
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(msg, cap, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    if ((buf = malloc(MAX + 1)) == NULL) {
        snprintf(msg, cap, "out of memory");
        goto done;
    }
    size_t n = fread(buf, 1, MAX + 1, f);
    if (ferror(f) || n > MAX || memchr(buf, '\0', n) != NULL) {
        snprintf(msg, cap, "%s: %s", path, ferror(f) ? strerror(errno) : n > MAX ?
                 "larger than 64 KiB" : "holds a NUL byte");
        free(buf);
        buf = NULL;
        goto done;
    }
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
done:
    fclose(f);
    return buf;
}

static int load_env(cons_config *cfg, char **envp, char *err, size_t errcap)
{
    char msg[MSG_CAP], var[NAME_CAP], key[NAME_CAP];

    for (char **e = envp; e != NULL && *e != NULL; e++) {
        const char *eq = strchr(*e, '=');
        if (eq == NULL || strncmp(*e, ENV_PREFIX, strlen(ENV_PREFIX)) != 0)
            continue;
        size_t name_len = (size_t)(eq - *e);
        if (name_len >= sizeof var)
            continue;
        memcpy(var, *e, name_len);
        var[name_len] = '\0';
        const char *value = eq + 1;
        bool kafka = strncmp(var, ENV_KAFKA_PREFIX, strlen(ENV_KAFKA_PREFIX)) == 0;
        bool file = name_len > 5 && strcmp(var + name_len - 5, "_FILE") == 0;
        const char *target = kafka && file ? NULL : env_target(var, key);
        char *secret = NULL;

        /* PI_<KEY>_FILE: the value is the contents of that file (mounted secrets, e.g.
         * /run/secrets/redis-password), unless PI_<KEY>_FILE is itself a setting's name
         * (program_file). No librdkafka property ends in ".file". */
        if (target == NULL && file) {
            var[name_len - 5] = '\0';
            target = env_target(var, key);
            if (target != NULL && env_lookup(envp, var) != NULL)
                return failf(err, errcap, "environment: both %s and %s_FILE are set: keep one",
                             var, var);
            var[name_len - 5] = '_';
            if (target != NULL && (value = secret = read_secret_file(value, msg, sizeof msg)) == NULL)
                return failf(err, errcap, "environment: %s: %s", var, msg);
        }
        if (target == NULL)
            continue; /* PI_CONFIG and variables of other tools */
        int rc = cons_config_set(cfg, target, value, msg, sizeof msg);
        free(secret);
        if (rc < 0)
            return failf(err, errcap, "environment: %s: %s", var, msg);
    }
    return 0;
}

/* The value of `--config` (or NULL) among the options of argv, or -1 on a bad one. */
static int find_config_flag(int argc, char **argv, const char **path_out, char *err,
                            size_t errcap)
{
    *path_out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0 || a[0] != '-' || a[1] == '\0')
            break;
        if (strcmp(a, "--config") == 0) {
            if (i + 1 >= argc)
                return failf(err, errcap, "command line: --config: expected a file name");
            *path_out = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            *path_out = a + 9;
        }
    }
    if (*path_out != NULL && (*path_out)[0] == '\0')
        return failf(err, errcap, "command line: --config: expected a file name");
    return 0;
}

static int load_flags(cons_config *cfg, int argc, char **argv, int *first_arg_out, char *err,
                      size_t errcap)
{
    char msg[MSG_CAP], key[NAME_CAP];
    int i = 1;

    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0')
            break;
        if (strcmp(a, "--config") == 0) {
            i++; /* read already */
            continue;
        }
        if (strncmp(a, "--config=", 9) == 0)
            continue;
        if (a[1] != '-')
            return failf(err, errcap, "command line: %s: unknown option (settings are "
                                      "written --key=value)", a);
        const char *eq = strchr(a, '=');
        if (eq == NULL)
            return failf(err, errcap, "command line: %s: expected %s=VALUE", a, a);
        size_t key_len = (size_t)(eq - (a + 2));
        if (key_len >= sizeof key)
            return failf(err, errcap, "command line: %.*s: unknown key", (int)(eq - a), a);
        memcpy(key, a + 2, key_len);
        key[key_len] = '\0';
        if (cons_config_set(cfg, key, eq + 1, msg, sizeof msg) < 0)
            return failf(err, errcap, "command line: --%s: %s", key, msg);
    }
    if (first_arg_out != NULL)
        *first_arg_out = i;
    else if (i < argc)
        return failf(err, errcap, "command line: %s: unexpected argument", argv[i]);
    return 0;
}

int cons_config_load(cons_config *cfg, int argc, char **argv, char **envp, char *err,
                     size_t errcap, int *first_arg_out)
{
    const char *file = NULL;

    if (err != NULL && errcap > 0)
        err[0] = '\0';
    if (cons_config_init(cfg, err, errcap) < 0)
        return -1;
    if (find_config_flag(argc, argv, &file, err, errcap) < 0)
        goto fail;
    if (file == NULL) {
        file = env_lookup(envp, ENV_CONFIG);
        if (file != NULL && file[0] == '\0')
            file = NULL;
    }
    if (file != NULL) {
        if (load_file(cfg, file, err, errcap) < 0)
            goto fail;
        if (replace_string(&cfg->config_file, file, err, errcap) < 0)
            goto fail;
    }
    if (load_env(cfg, envp, err, errcap) < 0)
        goto fail;
    if (load_flags(cfg, argc, argv, first_arg_out, err, errcap) < 0)
        goto fail;
    /* A map's ids are local ones; with a registry every id is the registry's. */
    if (cfg->sreg_url[0] != '\0' && cfg->schema_map[0] != '\0') {
        failf(err, errcap, "schema.map and schema.registry.url exclude each other: with a "
                           "registry every schema id is the registry's (unset one of them)");
        goto fail;
    }
    if (cfg->worker_id[0] == '\0') {
        char host[256];
        if (gethostname(host, sizeof host) != 0 || host[0] == '\0')
            snprintf(host, sizeof host, "worker");
        host[sizeof host - 1] = '\0';
        if (replace_string(&cfg->worker_id, host, err, errcap) < 0)
            goto fail;
    }
    return 0;
fail:
    cons_config_free(cfg);
    return -1;
}

bool cons_config_is_secret(const char *key)
{
    static const char *const marks[] = {"password", "secret", "sasl.oauthbearer.config",
                                        "ssl.key"};
    const conf_row *r = find_row(key);

    if (r != NULL)
        return r->secret;
    if (strncmp(key, KAFKA_PREFIX, strlen(KAFKA_PREFIX)) != 0)
        return false;
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (strstr(key + strlen(KAFKA_PREFIX), marks[i]) != NULL)
            return true;
    return false;
}

static void print_value(FILE *out, const char *key, const char *value)
{
    if (cons_config_is_secret(key))
        fprintf(out, "%s = %s\n", key, value[0] ? "***" : "");
    else
        fprintf(out, "%s = %s\n", key, value);
}

void cons_config_log(const cons_config *cfg, FILE *out)
{
    char key[NAME_CAP];

    fprintf(out, "# effective configuration (config file: %s)\n",
            cfg->config_file ? cfg->config_file : "none");
    for (int i = 0; i < N_ROWS; i++) {
        const conf_row *r = &rows[i];
        const char *field = (const char *)cfg + r->offset;
        switch (r->type) {
        case CT_STRING:
        case CT_CHOICE: {
            const char *s;
            memcpy(&s, field, sizeof s);
            print_value(out, r->name, s ? s : "");
            break;
        }
        case CT_INT: {
            int v;
            memcpy(&v, field, sizeof v);
            fprintf(out, "%s = %d\n", r->name, v);
            break;
        }
        case CT_BOOL: {
            bool v;
            memcpy(&v, field, sizeof v);
            fprintf(out, "%s = %s\n", r->name, v ? "true" : "false");
            break;
        }
        }
    }
    for (int i = 0; i < cfg->n_kafka; i++) {
        snprintf(key, sizeof key, "%s%s", KAFKA_PREFIX, cfg->kafka[i].name);
        print_value(out, key, cfg->kafka[i].value);
    }
}

void cons_config_describe(FILE *out)
{
    char env[NAME_CAP];

    fprintf(out,
            "Sources, later ones winning: built-in defaults < config file (`--config FILE`, "
            "else `$%s`) < environment < flags (`--key=value`).\n\n",
            ENV_CONFIG);
    fprintf(out, "| key | default | environment | description |\n|---|---|---|---|\n");
    for (int i = 0; i < N_ROWS; i++) {
        const conf_row *r = &rows[i];
        env_name(r->name, env, sizeof env);
        if (r->default_doc != NULL)
            fprintf(out, "| `%s` | (%s) | `%s` | %s |\n", r->name, r->default_doc, env,
                    r->description);
        else if (r->default_text[0] == '\0')
            fprintf(out, "| `%s` | (empty) | `%s` | %s |\n", r->name, env, r->description);
        else
            fprintf(out, "| `%s` | `%s` | `%s` | %s |\n", r->name, r->default_text, env,
                    r->description);
    }
    fprintf(out,
            "| `kafka.<property>` | `kafka.bootstrap.servers=%s` | `%s<PROPERTY>` | Any "
            "librdkafka property, passed on without the `kafka.` prefix (SASL/SSL "
            "included). In the environment, `.` is written `_`: `PI_KAFKA_SASL_MECHANISM` "
            "sets `kafka.sasl.mechanism`. Properties containing `password`, `secret`, "
            "`sasl.oauthbearer.config` or `ssl.key` are secret: never logged. |\n",
            DEFAULT_BOOTSTRAP, ENV_KAFKA_PREFIX);
}
