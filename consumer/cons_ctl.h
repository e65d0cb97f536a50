/*
 * cons_ctl.h — the subcommands of incentivectl (CONTRACT §10) and the small helpers they share.
 *
 * Each subcommand is a function `int cons_ctl_NAME(const cons_config *cfg, int argc,
 * char **argv)`: argv[0] is the subcommand's name and argv[1..argc) its own arguments
 * (the global `--config FILE` / `--key=value` options have already been read into cfg).
 * It writes its result to stdout, diagnostics to stderr, and returns the process exit
 * code below. Nothing here calls exit().
 */
#ifndef CONS_CTL_H
#define CONS_CTL_H

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cons_config.h"
#include "proc_event.h"
#include "cons_schemas.h"
#include "schema_registry.h"

/* Exit codes shared by every subcommand. */
enum {
    CONS_CTL_OK = 0,
    CONS_CTL_FAILED = 1,     /* the command ran and failed (I/O, bad file, delivery) */
    CONS_CTL_USAGE = 2,      /* bad arguments: a usage line was printed */
    CONS_CTL_TIMEOUT = 3     /* `lag --wait` gave up before the lag reached 0 */
};

int cons_ctl_validate(const cons_config *cfg, int argc, char **argv);
int cons_ctl_produce(const cons_config *cfg, int argc, char **argv);
int cons_ctl_leaderboard(const cons_config *cfg, int argc, char **argv);
int cons_ctl_partner(const cons_config *cfg, int argc, char **argv);
int cons_ctl_kpi(const cons_config *cfg, int argc, char **argv);
int cons_ctl_dump(const cons_config *cfg, int argc, char **argv);
int cons_ctl_explain(const cons_config *cfg, int argc, char **argv);
int cons_ctl_statement(const cons_config *cfg, int argc, char **argv);
int cons_ctl_lag(const cons_config *cfg, int argc, char **argv);
int cons_ctl_stats(const cons_config *cfg, int argc, char **argv);
int cons_ctl_top(const cons_config *cfg, int argc, char **argv);
int cons_ctl_replay(const cons_config *cfg, int argc, char **argv);
int cons_ctl_dead_letters(const cons_config *cfg, int argc, char **argv);

/* ---- argument helpers (cons_ctl_args.c) -------------------------------------------- */

/* Matches argv[*i] against the option `name` ("--top") that takes a value, written
 * "--top 5" or "--top=5". On a match *value points into argv and *i is advanced past a
 * separate value.
 * @returns 1 on a match, 0 when argv[*i] is something else, -1 when the value is
 *          missing (the caller prints its usage). */
int cons_ctl_opt(int argc, char **argv, int *i, const char *name, const char **value);

/* Parses a whole decimal integer in [min, max].
 * @returns 0, or -1 when text is not such a number. */
int cons_ctl_parse_int(const char *text, long long min, long long max, long long *out);

/* Milliseconds on the monotonic clock, for deadlines (cons_ctl_args.c). */
int64_t cons_ctl_now_ms(void);

/* Visits every key matching the glob pattern (SCAN … MATCH, 1,000 per round trip); a key
 * may be visited twice if the keyspace is resized meanwhile, as SCAN promises. visit
 * returning non-zero stops the scan. @returns 0, or -1 with a sentence in err (a Redis
 * error, or visit's stop) (cons_ctl_redis.c). */
int cons_ctl_scan_keys(redisContext *c, const char *pattern,
                       int (*visit)(void *arg, const redisReply *key), void *arg, char *err,
                       size_t errcap);

/* Prints "usage: incentivectl [global options] LINE" to stderr.
 * @returns CONS_CTL_USAGE, so callers can `return cons_ctl_usage(...)`. */
int cons_ctl_usage(const char *line);

/* Writes minor units as major units with 2 decimals and thousands separators,
 * e.g. -123456789 → "-1,234,567.89". cap of 32 always suffices. */
void cons_ctl_format_minor(int64_t minor, char *out, size_t cap);

/* @returns a new registry with the embedded schemas plus cfg's schema.map when set, or
 *          NULL with a sentence in err. The caller destroys it. */
cons_schemas *cons_ctl_schemas_open(const cons_config *cfg, const cons_schemas_output *writes,
                                    size_t n_writes, char *err, size_t errcap);

/* @returns data as a new NUL-terminated lowercase hex string (2 × len + 1 bytes) that the
 *          caller frees, or NULL when memory ran out. */
char *cons_ctl_hex(const void *data, size_t len);

/* ---- Kafka (cons_ctl_kafka.c) ------------------------------------------------------ */

/* A read_committed consumer built by cons_kafka_consumer_new from cfg, but in consumer
 * group `group_id` (NULL: cfg's group.id) and, when partition_eof is true, reporting the
 * end of each partition (enable.partition.eof). The handle never subscribes: callers
 * assign partitions or only query offsets, so it never joins, and never disturbs, the
 * group. @returns the handle (caller closes and destroys it) or NULL with err set. */
rd_kafka_t *cons_ctl_consumer_new(const cons_config *cfg, const char *group_id,
                                  bool partition_eof, char *err, size_t errcap);

/* Waits until cfg's group has committed every record of cfg's four input topics (lag 0),
 * or timeout_s passes. @returns 0, or -1 with a sentence in err (cons_ctl_lag.c). */
int cons_ctl_wait_caught_up(const cons_config *cfg, long long timeout_s, char *err,
                            size_t errcap);

/* Prints the comparison of a replay's two runs (live: the live program file, cand: the
 * candidate), each given as cfg pointed at its namespace and topics: per program period
 * the metric hashes side by side, then the top_n partners whose payable amount changes
 * most; as a table, or as one JSON line. @returns 0, or -1 with a sentence in err
 * (cons_ctl_replay_report.c). */
int cons_ctl_replay_report(const cons_config *live, const cons_config *cand, const char *name,
                           const char *candidate_file, int top_n, bool json, char *err,
                           size_t errcap);

/* Writes a consumer group id no one else uses ("incentivectl-NAME-<pid>-<ns clock>"),
 * for readers that must never share offsets. */
void cons_ctl_throwaway_group(const char *name, char *out, size_t cap);

/* Reads every committed PayoutEvent of cfg's payout topic, from the beginning to the
 * current end (partition, then offset order; read_committed, a throwaway group), and
 * hands each to visit (the payout is valid during the call only). visit returning
 * non-zero (out of memory) stops the scan. @returns 0, or -1 with a sentence in err
 * (cons_ctl_dump.c). */
/* Appends a copy of p to the growing array *arr (n items, room for cap; caller frees).
 * @returns 0, or -1 when memory ran out (the array is unchanged). */
int cons_ctl_keep_payout(proc_payout **arr, int *n, int *cap, const proc_payout *p);
int cons_ctl_scan_payouts(const cons_config *cfg, int (*visit)(void *arg, const proc_payout *p),
                          void *arg, char *err, size_t errcap);

/* ---- Redis (cons_ctl_redis.c) ---------------------------------------------------- */

/* Connects to cfg's Redis (5 s timeout) and authenticates when redis.password is set.
 * @returns the context (caller frees it with redisFree) or NULL with a sentence in err. */
redisContext *cons_ctl_redis_connect(const cons_config *cfg, char *err, size_t errcap);

/* ---- leaderboards (cons_ctl_redis.c), shared by `leaderboard` and `top` ------------ */

/* Which board to read; the strings are borrowed (usually from argv). */
typedef struct {
    const char *program;
    const char *period;     /* NULL: the greatest period that has a revenue board */
    const char *metric;     /* "revenue" or "points" */
    const char *region;     /* NULL, or a region (revenue only) */
    long long top;          /* rows to read, >= 1 */
} cons_ctl_board_query;

typedef struct {
    char *partner_id;       /* owned */
    int64_t score;          /* minor units of the program currency, or points */
    char *tier;             /* owned; NULL when the partner hash has none */
    char *region;           /* owned; NULL when the partner hash has none */
} cons_ctl_board_row;

/* One leaderboard as read, best first. Owns everything; cons_ctl_board_free releases. */
typedef struct {
    char period[64];
    long long members;      /* ZCARD: partners on the board, also those not read */
    cons_ctl_board_row *rows;
    size_t n_rows;
} cons_ctl_board;

/* Matches the board options --program, --period, --metric, --region at argv[*i], as
 * cons_ctl_opt does. @returns 1 on a match, 0 when not one of them, -1 value missing. */
int cons_ctl_board_opt(int argc, char **argv, int *i, cons_ctl_board_query *q);

/* @returns 0 when q names a board (program set, no ':' in names, region only with the
 *          revenue metric), else -1. */
int cons_ctl_board_check(const cons_ctl_board_query *q);

/* Reads the board q names in namespace ns: the top rows with each partner's tier and
 * region (two round trips). @returns 0 with *out filled, 1 when q->period is NULL and the
 * program has no board yet, -1 on a Redis error; both with a sentence in err and *out
 * empty. */
int cons_ctl_board_read(redisContext *c, const char *ns, const cons_ctl_board_query *q,
                        cons_ctl_board *out, char *err, size_t errcap);

void cons_ctl_board_free(cons_ctl_board *b);

/* The score column's heading ("REVENUE (EUR)", "POINTS") and a score as shown: major
 * units with separators when the currency is known, else the integer. */
void cons_ctl_board_score_head(const char *metric, const char *currency, char *out,
                               size_t cap);
void cons_ctl_board_score(const char *metric, const char *currency, int64_t score, char *out,
                          size_t cap);

#endif
