/*
 * test_config.c — worker/ctl settings (consumer/cons_config.c): defaults, the four layers
 * and their precedence, error messages naming their source, kafka.* pass-through and
 * secret masking. Each test passes its own argv and envp; config files are temp files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cons_config.h"

#define ERR_CAP 512
#define NO_ENV ((char *[]){NULL})

/* A config file holding `text`, removed by unlink_temp(). */
static void write_temp(char *path, size_t cap, const char *text)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, cap, "%s/pi-config-XXXXXX", dir != NULL && dir[0] ? dir : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static const char *kafka_value(const cons_config *cfg, const char *name)
{
    for (int i = 0; i < cfg->n_kafka; i++)
        if (strcmp(cfg->kafka[i].name, name) == 0)
            return cfg->kafka[i].value;
    return NULL;
}

static void test_defaults(void **state)
{
    (void)state;
    cons_config cfg;
    char err[ERR_CAP];
    char *argv[] = {"incentive-worker", NULL};

    int rc = cons_config_load(&cfg, 1, argv, NO_ENV, err, sizeof err, NULL);
    if (rc != 0)
        fail_msg("%s", err);
    assert_string_equal(cfg.program_file, "deploy/programs/example.yaml");
    assert_string_equal(cfg.group_id, "partner-incentives");
    assert_true(cfg.worker_id[0] != '\0'); /* the host name */
    assert_string_equal(cfg.topic_sales, "partner.sales");
    assert_string_equal(cfg.topic_registrations, "partner.registrations");
    assert_string_equal(cfg.topic_surveys, "partner.surveys");
    assert_string_equal(cfg.topic_approvals, "partner.approvals");
    assert_string_equal(cfg.topic_payouts, "incentive.payouts");
    assert_string_equal(cfg.topic_alerts, "incentive.alerts");
    assert_string_equal(cfg.topic_dead_letters, "incentive.dead-letters");
    assert_string_equal(cfg.redis_host, "127.0.0.1");
    assert_int_equal(cfg.redis_port, 16379);
    assert_string_equal(cfg.redis_password, "");
    assert_string_equal(cfg.redis_namespace, "inc");
    assert_int_equal(cfg.batch_max_events, 2000);
    assert_int_equal(cfg.batch_max_ms, 20);
    assert_int_equal(cfg.replay_horizon_days, 7);
    assert_true(cfg.check_mispartitioned);
    assert_string_equal(cfg.schema_map, "");
    assert_string_equal(cfg.log_level, "info");
    assert_int_equal(cfg.metrics_port, 0);
    assert_null(cfg.config_file);
    assert_int_equal(cfg.n_kafka, 1);
    assert_string_equal(cfg.kafka[0].name, "bootstrap.servers");
    assert_string_equal(cfg.kafka[0].value, "127.0.0.1:19092");
    cons_config_free(&cfg);
    cons_config_free(&cfg); /* harmless twice */
}

/* ---- precedence: defaults < file < environment < flags ------------------------------ */

typedef struct {
    const char *name;
    bool file;     /* the file sets redis.port = 1111 */
    bool env;      /* PI_REDIS_PORT=2222 */
    bool flag;     /* --redis.port=3333 */
    bool config_last; /* --config comes after the flag on the command line */
    bool config_env;  /* the file is named by PI_CONFIG instead of --config */
    int want;
} layer_case;

static const layer_case layer_cases[] = {
    {"default only", false, false, false, false, false, 16379},
    {"file over default", true, false, false, false, false, 1111},
    {"env over file", true, true, false, false, false, 2222},
    {"flag over env and file", true, true, true, false, false, 3333},
    {"flag over file", true, false, true, false, false, 3333},
    {"flag over env", false, true, true, false, false, 3333},
    {"--config after the flag is still read first", true, false, true, true, false, 3333},
    {"PI_CONFIG names the file", true, false, false, false, true, 1111},
    {"env over a PI_CONFIG file", true, true, false, false, true, 2222},
};

static void test_layers(void **state)
{
    const layer_case *c = *state;
    char path[256], config_env[300], err[ERR_CAP];
    char *argv[6] = {"incentive-worker"}, *envp[4] = {NULL};
    int argc = 1, envc = 0;
    cons_config cfg;

    write_temp(path, sizeof path, "# layered\nredis.host = file-host\nredis.port = 1111\n");
    if (c->file && !c->config_env && !c->config_last) {
        argv[argc++] = "--config";
        argv[argc++] = path;
    }
    if (c->flag)
        argv[argc++] = "--redis.port=3333";
    if (c->file && !c->config_env && c->config_last) {
        argv[argc++] = "--config";
        argv[argc++] = path;
    }
    envp[envc++] = "PI_SOURCE_DIR=/elsewhere"; /* not a setting: ignored */
    if (c->env)
        envp[envc++] = "PI_REDIS_PORT=2222";
    if (c->file && c->config_env) {
        snprintf(config_env, sizeof config_env, "PI_CONFIG=%s", path);
        envp[envc++] = config_env;
    }

    int rc = cons_config_load(&cfg, argc, argv, envp, err, sizeof err, NULL);
    unlink(path);
    if (rc != 0)
        fail_msg("%s", err);
    assert_int_equal(cfg.redis_port, c->want);
    assert_string_equal(cfg.redis_host, c->file ? "file-host" : "127.0.0.1");
    if (c->file)
        assert_string_equal(cfg.config_file, path);
    cons_config_free(&cfg);
}

/* ---- errors name their source -------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *file_text;  /* NULL: no config file */
    const char *env;        /* one "NAME=value" or NULL */
    const char *flag;       /* one argument or NULL */
    const char *expected;   /* "@" stands for the config file's path */
} error_case;

static const error_case error_cases[] = {
    {"unknown key in file", "# settings\n\nredis.port = 6380\nredis.prot = 6381\n", NULL,
     NULL, "@:4: redis.prot: unknown key"},
    {"bad integer in file", "batch.max_ms = soon\n", NULL, NULL,
     "@:1: batch.max_ms: expected an integer, got 'soon'"},
    {"integer out of range in file", "\n  metrics.port=70000  \n", NULL, NULL,
     "@:2: metrics.port: expected an integer between 0 and 65535, got '70000'"},
    {"line without =", "redis.port = 1\nredis.port 2\n", NULL, NULL,
     "@:2: redis.port 2: expected 'key = value'"},
    {"empty kafka property in file", "kafka. = x\n", NULL, NULL,
     "@:1: kafka.: a kafka.* key needs a librdkafka property name"},
    {"bad integer in env", NULL, "PI_REDIS_PORT=x", NULL,
     "environment: PI_REDIS_PORT: expected an integer, got 'x'"},
    {"bad bool in env", NULL, "PI_CHECK_MISPARTITIONED=maybe", NULL,
     "environment: PI_CHECK_MISPARTITIONED: expected true or false, got 'maybe'"},
    {"bad log level in env", NULL, "PI_LOG_LEVEL=loud", NULL,
     "environment: PI_LOG_LEVEL: expected debug, info, warn or error, got 'loud'"},
    {"bad subject strategy in file", "schema.registry.subject_strategy = RecordName\n", NULL,
     NULL, "@:1: schema.registry.subject_strategy: expected topic, record or topic_record, "
           "got 'RecordName'"},
    {"schema map beside a registry", "schema.map = /etc/pi/extra.map\n",
     "PI_SCHEMA_REGISTRY_URL=http://registry:8081", NULL,
     "schema.map and schema.registry.url exclude each other: with a registry every schema id "
     "is the registry's (unset one of them)"},
    {"bad integer flag", NULL, NULL, "--batch.max_events=0",
     "command line: --batch.max_events: expected an integer between 1 and 1000000, got '0'"},
    {"unknown flag", NULL, NULL, "--redis.hots=x", "command line: --redis.hots: unknown key"},
    {"flag without value", NULL, NULL, "--redis.port",
     "command line: --redis.port: expected --redis.port=VALUE"},
    {"single-dash option", NULL, NULL, "-v",
     "command line: -v: unknown option (settings are written --key=value)"},
    {"empty topic", NULL, NULL, "--topic.sales=", "command line: --topic.sales: must not be empty"},
    {"stray argument", NULL, NULL, "validate", "command line: validate: unexpected argument"},
    {"missing config file", NULL, "PI_CONFIG=/nonexistent/worker.conf", NULL,
     "/nonexistent/worker.conf: cannot open the config file: No such file or directory"},
};

static void test_error(void **state)
{
    const error_case *c = *state;
    char path[256] = "", want[ERR_CAP], err[ERR_CAP];
    char *argv[4] = {"incentive-worker"}, *envp[2] = {NULL};
    int argc = 1;
    cons_config cfg;

    if (c->file_text != NULL) {
        write_temp(path, sizeof path, c->file_text);
        argv[argc++] = "--config";
        argv[argc++] = path;
    }
    if (c->flag != NULL)
        argv[argc++] = (char *)c->flag;
    if (c->env != NULL)
        envp[0] = (char *)c->env;

    int rc = cons_config_load(&cfg, argc, argv, envp, err, sizeof err, NULL);
    if (path[0])
        unlink(path);
    assert_int_equal(rc, -1);
    const char *at = strchr(c->expected, '@');
    if (at != NULL)
        snprintf(want, sizeof want, "%.*s%s%s", (int)(at - c->expected), c->expected, path,
                 at + 1);
    else
        snprintf(want, sizeof want, "%s", c->expected);
    assert_string_equal(err, want);
    cons_config_free(&cfg); /* released already: a no-op */
}

/* ---- kafka.* pass-through ------------------------------------------------------------- */

static void test_kafka_pass_through_order(void **state)
{
    (void)state;
    char path[256], err[ERR_CAP];
    cons_config cfg;

    write_temp(path, sizeof path,
               "kafka.security.protocol = SASL_SSL\n"
               "kafka.sasl.mechanism = PLAIN\n");
    char *argv[] = {"incentive-worker", "--kafka.acks=all", "--config", path,
                    "--kafka.sasl.mechanism=SCRAM-SHA-512", NULL};
    char *envp[] = {"HOME=/root", "PI_KAFKA_SASL_USERNAME=alice",
                    "PI_KAFKA_BOOTSTRAP_SERVERS=broker-1:9092,broker-2:9092", NULL};

    int rc = cons_config_load(&cfg, 5, argv, envp, err, sizeof err, NULL);
    unlink(path);
    if (rc != 0)
        fail_msg("%s", err);
    /* Each property stays where it was first set (the default first); later layers only
     * replace its value. */
    static const char *const want[][2] = {
        {"bootstrap.servers", "broker-1:9092,broker-2:9092"},
        {"security.protocol", "SASL_SSL"},
        {"sasl.mechanism", "SCRAM-SHA-512"},
        {"sasl.username", "alice"},
        {"acks", "all"},
    };
    assert_int_equal(cfg.n_kafka, 5);
    for (int i = 0; i < 5; i++) {
        assert_string_equal(cfg.kafka[i].name, want[i][0]);
        assert_string_equal(cfg.kafka[i].value, want[i][1]);
    }
    cons_config_free(&cfg);
}

/* ---- secrets ------------------------------------------------------------------------ */

static void test_log_masks_secrets(void **state)
{
    (void)state;
    char err[ERR_CAP];
    char *log = NULL;
    size_t log_len = 0;
    cons_config cfg;
    char *argv[] = {"incentive-worker",
                    "--redis.password=hunter2",
                    "--kafka.sasl.password=pw-sasl",
                    "--kafka.ssl.key.password=pw-key",
                    "--kafka.ssl.key.pem=PEM-BODY",
                    "--kafka.sasl.oauthbearer.config=principal=admin",
                    "--kafka.sasl.oauthbearer.client.secret=oauth-secret",
                    "--kafka.sasl.username=alice",
                    NULL};

    int rc = cons_config_load(&cfg, 8, argv, NO_ENV, err, sizeof err, NULL);
    if (rc != 0)
        fail_msg("%s", err);
    assert_string_equal(cfg.redis_password, "hunter2");
    assert_string_equal(kafka_value(&cfg, "sasl.password"), "pw-sasl");
    FILE *out = open_memstream(&log, &log_len);
    assert_non_null(out);
    cons_config_log(&cfg, out);
    fclose(out);

    static const char *const hidden[] = {"hunter2", "pw-sasl", "pw-key", "PEM-BODY",
                                         "admin", "oauth-secret"};
    for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++)
        if (strstr(log, hidden[i]) != NULL)
            fail_msg("'%s' appears in the log:\n%s", hidden[i], log);
    assert_non_null(strstr(log, "\nredis.password = ***\n"));
    assert_non_null(strstr(log, "\nkafka.sasl.password = ***\n"));
    assert_non_null(strstr(log, "\nkafka.ssl.key.pem = ***\n"));
    assert_non_null(strstr(log, "\nkafka.sasl.oauthbearer.config = ***\n"));
    assert_non_null(strstr(log, "\nkafka.sasl.username = alice\n"));
    assert_non_null(strstr(log, "\nredis.port = 16379\n"));
    assert_non_null(strstr(log, "\ncheck.mispartitioned = true\n"));
    assert_non_null(strstr(log, "\nlog.level = info\n"));
    free(log);
    cons_config_free(&cfg);

    assert_true(cons_config_is_secret("redis.password"));
    assert_true(cons_config_is_secret("kafka.ssl.keystore.password"));
    assert_false(cons_config_is_secret("redis.host"));
    assert_false(cons_config_is_secret("kafka.sasl.mechanism"));
}

/* ---- the rest of the command line ------------------------------------------------------ */

static void test_subcommand_arguments(void **state)
{
    (void)state;
    char err[ERR_CAP];
    cons_config cfg;
    int first = -1;

    char *argv[] = {"incentivectl", "--redis.namespace=whatif", "--check.mispartitioned=off",
                    "--log.level=DEBUG", "validate", "--redis.port=1", "programs.yaml", NULL};
    int rc = cons_config_load(&cfg, 7, argv, NO_ENV, err, sizeof err, &first);
    if (rc != 0)
        fail_msg("%s", err);
    assert_int_equal(first, 4); /* "validate"; what follows is the subcommand's */
    assert_string_equal(cfg.redis_namespace, "whatif");
    assert_false(cfg.check_mispartitioned);
    assert_string_equal(cfg.log_level, "debug"); /* normalised */
    assert_int_equal(cfg.redis_port, 16379);
    cons_config_free(&cfg);

    char *argv2[] = {"incentivectl", "--batch.max_ms=5", "--", "--not-an-option", NULL};
    rc = cons_config_load(&cfg, 4, argv2, NO_ENV, err, sizeof err, &first);
    if (rc != 0)
        fail_msg("%s", err);
    assert_int_equal(first, 3);
    assert_int_equal(cfg.batch_max_ms, 5);
    cons_config_free(&cfg);

    char *argv3[] = {"incentive-worker", "--worker.id=w-7", NULL};
    rc = cons_config_load(&cfg, 2, argv3, NO_ENV, err, sizeof err, &first);
    if (rc != 0)
        fail_msg("%s", err);
    assert_int_equal(first, 2); /* none: argc */
    assert_string_equal(cfg.worker_id, "w-7");
    cons_config_free(&cfg);
}

static void test_set_and_describe(void **state)
{
    (void)state;
    char err[ERR_CAP];
    char *doc = NULL;
    size_t doc_len = 0;
    cons_config cfg;

    assert_int_equal(cons_config_init(&cfg, err, sizeof err), 0);
    assert_int_equal(cons_config_set(&cfg, "topic.payouts", "whatif.payouts", err, sizeof err),
                     0);
    assert_string_equal(cfg.topic_payouts, "whatif.payouts");
    assert_int_equal(cons_config_set(&cfg, "redis.port", "65536", err, sizeof err), -1);
    assert_string_equal(err, "expected an integer between 1 and 65535, got '65536'");
    assert_int_equal(cons_config_set(&cfg, "redis.port", "+5", err, sizeof err), -1);
    assert_string_equal(err, "expected an integer, got '+5'");
    cons_config_free(&cfg);

    FILE *out = open_memstream(&doc, &doc_len);
    assert_non_null(out);
    cons_config_describe(out);
    fclose(out);
    assert_non_null(strstr(doc, "| key | default | environment | description |"));
    assert_non_null(strstr(doc, "| `redis.port` | `16379` | `PI_REDIS_PORT` |"));
    assert_non_null(strstr(doc, "| `batch.max_ms` | `20` | `PI_BATCH_MAX_MS` |"));
    assert_non_null(strstr(doc, "| `dedupe.replay_horizon_days` | `7` | "
                                "`PI_DEDUPE_REPLAY_HORIZON_DAYS` |"));
    assert_non_null(strstr(doc, "| `worker.id` | (the host name) | `PI_WORKER_ID` |"));
    assert_non_null(strstr(doc, "| `kafka.<property>` |"));
    free(doc);
}

/* PI_<KEY>_FILE reads the value from a file (mounted secrets): one trailing newline is
 * dropped; a kafka.* property works too; PI_PROGRAM_FILE stays the program_file setting;
 * both PI_X and PI_X_FILE, or an unreadable file, stop the load naming the variable. */
static void test_env_file_secrets(void **state)
{
    (void)state;
    char pw[256], sasl[256], e1[300], e2[300], err[ERR_CAP];
    char *argv[1] = {"incentive-worker"};
    cons_config cfg;

    write_temp(pw, sizeof pw, "s3cret with spaces\n");
    write_temp(sasl, sizeof sasl, "kafka-pw");
    snprintf(e1, sizeof e1, "PI_REDIS_PASSWORD_FILE=%s", pw);
    snprintf(e2, sizeof e2, "PI_KAFKA_SASL_PASSWORD_FILE=%s", sasl);
    char *envp[] = {e1, e2, "PI_PROGRAM_FILE=/etc/pi/program.yaml", "PI_REDIS_USER=worker",
                    NULL};
    if (cons_config_load(&cfg, 1, argv, envp, err, sizeof err, NULL) != 0)
        fail_msg("%s", err);
    assert_string_equal(cfg.redis_password, "s3cret with spaces");
    assert_string_equal(cfg.redis_user, "worker");
    assert_string_equal(kafka_value(&cfg, "sasl.password"), "kafka-pw");
    assert_string_equal(cfg.program_file, "/etc/pi/program.yaml");
    cons_config_free(&cfg);

    char *both[] = {e1, "PI_REDIS_PASSWORD=other", NULL};
    assert_int_equal(cons_config_load(&cfg, 1, argv, both, err, sizeof err, NULL), -1);
    assert_string_equal(err, "environment: both PI_REDIS_PASSWORD and PI_REDIS_PASSWORD_FILE "
                             "are set: keep one");
    char *missing[] = {"PI_REDIS_PASSWORD_FILE=/nonexistent/secret", NULL};
    assert_int_equal(cons_config_load(&cfg, 1, argv, missing, err, sizeof err, NULL), -1);
    assert_string_equal(err, "environment: PI_REDIS_PASSWORD_FILE: cannot read "
                             "/nonexistent/secret: No such file or directory");
    unlink(pw);
    unlink(sasl);
}

#define N_LAYERS (sizeof layer_cases / sizeof layer_cases[0])
#define N_ERRORS (sizeof error_cases / sizeof error_cases[0])

int main(void)
{
    struct CMUnitTest tests[6 + N_LAYERS + N_ERRORS] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_kafka_pass_through_order),
        cmocka_unit_test(test_log_masks_secrets),
        cmocka_unit_test(test_subcommand_arguments),
        cmocka_unit_test(test_set_and_describe),
        cmocka_unit_test(test_env_file_secrets),
    };
    size_t n = 6;

    for (size_t i = 0; i < N_LAYERS; i++)
        tests[n++] = (struct CMUnitTest){layer_cases[i].name, test_layers, NULL, NULL,
                                         (void *)&layer_cases[i]};
    for (size_t i = 0; i < N_ERRORS; i++)
        tests[n++] = (struct CMUnitTest){error_cases[i].name, test_error, NULL, NULL,
                                         (void *)&error_cases[i]};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
