/*
 * cons_config.h — settings of incentive-worker and incentivectl (CONTRACT §10).
 *
 * Every setting is a row of one table (cons_config.c) that gives its type, name, default,
 * place in cons_config and description; the same table parses all sources and prints the
 * reference (cons_config_describe). Sources, later ones winning:
 *
 *     built-in defaults < config file < environment < command-line flags
 *
 *  - config file: `key = value` lines, `#` comment lines, blank lines (the librdkafka
 *    properties format). Named by `--config FILE` (or `--config=FILE`) on the command line
 *    or else by the PI_CONFIG environment variable; it is read before the environment and
 *    the flags wherever `--config` appears among the options.
 *  - environment: `PI_` + the key uppercased with '.' → '_' (redis.port → PI_REDIS_PORT).
 *    Other PI_* variables are ignored.
 *  - flags: `--key=value`.
 *
 * Keys starting with `kafka.` are passed to librdkafka without the prefix
 * (`kafka.bootstrap.servers` → `bootstrap.servers`); in the environment they are written
 * PI_KAFKA_ + the property uppercased with '.' → '_' (PI_KAFKA_SASL_MECHANISM →
 * kafka.sasl.mechanism), so properties with '_' in their name can only come from the
 * file or flags. Unknown keys (outside kafka.*) are errors in the file and in flags.
 *
 * Errors name their source: `FILE:LINE: KEY: ...`, `environment: PI_REDIS_PORT: ...`,
 * `command line: --redis.port: ...`.
 */
#ifndef CONS_CONFIG_H
#define CONS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One librdkafka property, name without the "kafka." prefix. */
typedef struct {
    char *name;
    char *value;
} cons_kv;

typedef struct {
    char *program_file;               /* program_file */
    char *group_id;                   /* group.id (Kafka consumer group) */
    char *worker_id;                  /* worker.id; the host name unless set */
    char *topic_sales;                /* topic.sales */
    char *topic_registrations;        /* topic.registrations */
    char *topic_surveys;              /* topic.surveys */
    char *topic_approvals;            /* topic.approvals */
    char *topic_payouts;              /* topic.payouts */
    char *topic_alerts;               /* topic.alerts */
    char *topic_dead_letters;         /* topic.dead_letters */
    char *redis_host;                 /* redis.host */
    int redis_port;                   /* redis.port */
    char *redis_user;                 /* redis.user ("" = the default user) */
    char *redis_password;             /* redis.password ("" = no AUTH); secret */
    char *redis_namespace;            /* redis.namespace (key prefix, CONTRACT §8) */
    int batch_max_events;             /* batch.max_events */
    int batch_max_ms;                 /* batch.max_ms */
    int replay_horizon_days;          /* dedupe.replay_horizon_days */
    bool check_mispartitioned;        /* check.mispartitioned */
    bool consume_timestamp_order;     /* consume.timestamp_order (replays) */
    char *schema_map;                 /* schema.map ("" = the embedded map only) */
    char *sreg_url;                   /* schema.registry.url ("" = embedded local ids) */
    char *sreg_user;                  /* schema.registry.user ("" = no basic auth) */
    char *sreg_password;              /* schema.registry.password; secret */
    char *sreg_subject_strategy;      /* schema.registry.subject_strategy: "topic", "record"
                                         or "topic_record" */
    bool sreg_auto_register;          /* schema.registry.auto_register */
    char *sreg_ca_location;           /* schema.registry.ca_location ("" = system CAs) */
    char *sreg_certificate_location;  /* schema.registry.certificate_location (mTLS) */
    char *sreg_key_location;          /* schema.registry.key_location (mTLS) */
    bool sreg_tls_verify;             /* schema.registry.tls_verify */
    int sreg_timeout_ms;              /* schema.registry.timeout_ms (one request) */
    int sreg_retry_deadline_ms;       /* schema.registry.retry_deadline_ms */
    char *log_level;                  /* log.level: "debug", "info", "warn" or "error" */
    bool leave_group_on_stop;         /* worker.leave_group_on_stop */
    int cache_max_partners;           /* cache.max_partners (0 = unbounded) */
    int metrics_port;                 /* metrics.port (0 = no HTTP endpoint) */
    int fault_exit_after_ledger_commits; /* fault.exit_after_ledger_commits (tests; 0 = off) */
    int fault_stop_before_batch_commit; /* fault.stop_before_batch_commit (tests; 0 = off) */
    char *config_file;                /* the config file read, or NULL */
    int n_kafka;                      /* kafka.* properties, in the order first set */
    cons_kv *kafka;
} cons_config;

/* Fills `cfg` with the built-in defaults (worker.id = the host name).
 * @returns 0, or -1 with a message in err (out of memory). */
int cons_config_init(cons_config *cfg, char *err, size_t errcap);

/* Builds the effective configuration: defaults, then the config file (--config or
 * PI_CONFIG), then `envp` (a NULL-terminated "NAME=value" array such as `environ`; NULL
 * means none), then the flags of argv[1..argc-1].
 *
 * Options end at `--` or at the first argument that does not start with '-' (a lone "-"
 * counts as an argument). With `first_arg_out`, that argument's index (argc when there is
 * none) is stored there, for a subcommand to parse; without it, any argument is an error.
 *
 * @returns 0; or -1 with a message in err, and `cfg` released (cons_config_free is then a
 *          harmless no-op). */
int cons_config_load(cons_config *cfg, int argc, char **argv, char **envp, char *err,
                     size_t errcap, int *first_arg_out);

/* Sets one key ("redis.port", "kafka.acks") from text, as a flag would.
 * @returns 0, or -1 with the bare reason in err ("expected an integer, got 'x'"). */
int cons_config_set(cons_config *cfg, const char *key, const char *value, char *err,
                    size_t errcap);

/* Releases what the config owns and zeroes it. Safe on a zeroed or released config. */
void cons_config_free(cons_config *cfg);

/* @returns true when a key's value must never be printed: redis.password, and kafka.*
 * keys containing "password", "secret", "sasl.oauthbearer.config" or "ssl.key". */
bool cons_config_is_secret(const char *key);

/* Writes the reference of all keys as a markdown table (key, default, environment
 * variable, description). */
void cons_config_describe(FILE *out);

/* Writes the effective settings, one `key = value` line each, secrets as `***`. */
void cons_config_log(const cons_config *cfg, FILE *out);

#endif
