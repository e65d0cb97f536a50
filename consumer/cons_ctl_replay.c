/*
 * cons_ctl_replay.c — `incentivectl replay`: what a candidate program file would have
 * paid over the retained input history (CONTRACT §10.1), and `replay --cleanup NAME`.
 *
 * A replay never touches live state or live topics. It
 *   1. copies the live input records (all retained, or those with record timestamps in
 *      [--from, --to)) into its own input topics "NAME.<input topic>", same partition,
 *      key, value, headers and timestamp;
 *   2. runs two real workers over the copy, each in its own namespace, output topics and
 *      consumer group: "NAME.live" with the live program file, "NAME.candidate" with the
 *      candidate; both with consume.timestamp_order=true, so both apply the same records
 *      in the same order (CONTRACT §7.3);
 *   3. waits until both have committed every copied record and stops them (SIGTERM).
 * Copying first bounds the history (the live topics keep growing) and gives both runs
 * the very same records. Everything it made is named NAME… and goes with --cleanup NAME.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cons_ctl.h"
#include "cons_kafka.h"

#define REPLAY_USAGE                                                                       \
    "replay --program-file CANDIDATE.yaml [--from YYYY-MM-DD] [--to YYYY-MM-DD] "          \
    "[--name NAME] [--top N] [--format table|json] [--timeout S] | replay --cleanup NAME"
#define N_IN 4
#define N_OUT 3
#define REQUEST_TIMEOUT_MS 30000
#define NAME_CAP 200
#define WORKER_STOP_TIMEOUT_S 60

typedef struct {
    const char *candidate;
    const char *name;
    const char *cleanup;
    int64_t from_ms, to_ms;     /* -1: open */
    long long timeout_s;
    long long top;              /* partners in the report */
    bool json;
} replay_args;

/* "2026-10-01" → milliseconds since the epoch at 00:00 UTC. @returns 0 or -1. */
static int parse_date(const char *s, int64_t *out)
{
    int y, m, d;
    char tail;
    if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 ||
        d > 31 || y < 1970)
        return -1;
    /* Days from the civil date (Howard Hinnant's algorithm): no timegm, no TZ. */
    y -= m <= 2;
    int64_t era = y / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    *out = (era * 146097 + doe - 719468) * 86400000LL;
    return 0;
}

static bool valid_name(const char *s)
{
    if (s == NULL || s[0] == '\0' || strlen(s) > 100)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

static int replay_parse(int argc, char **argv, replay_args *a, char *name_buf, size_t cap)
{
    a->from_ms = a->to_ms = -1;
    a->timeout_s = 600;
    a->top = 10;
    for (int i = 1; i < argc; i++) {
        const char *val = NULL;
        int m;
        if ((m = cons_ctl_opt(argc, argv, &i, "--program-file", &val)) > 0)
            a->candidate = val;
        else if (m == 0 && (m = cons_ctl_opt(argc, argv, &i, "--name", &val)) > 0)
            a->name = val;
        else if (m == 0 && (m = cons_ctl_opt(argc, argv, &i, "--cleanup", &val)) > 0)
            a->cleanup = val;
        else if (m == 0 && (m = cons_ctl_opt(argc, argv, &i, "--from", &val)) > 0)
            m = parse_date(val, &a->from_ms) ? -1 : 1;
        else if (m == 0 && (m = cons_ctl_opt(argc, argv, &i, "--to", &val)) > 0)
            m = parse_date(val, &a->to_ms) ? -1 : 1;
        else if (m == 0 && (m = cons_ctl_opt(argc, argv, &i, "--timeout", &val)) > 0)
            m = cons_ctl_parse_int(val, 1, 86400, &a->timeout_s) ? -1 : 1;
        else if (m == 0 && (m = cons_ctl_opt(argc, argv, &i, "--top", &val)) > 0)
            m = cons_ctl_parse_int(val, 1, 100000, &a->top) ? -1 : 1;
        else if (m == 0 && (m = cons_ctl_opt(argc, argv, &i, "--format", &val)) > 0) {
            a->json = strcmp(val, "json") == 0;
            m = a->json || strcmp(val, "table") == 0 ? 1 : -1;
        }
        if (m <= 0)
            return -1;
    }
    if (a->cleanup != NULL)
        return a->candidate == NULL && a->name == NULL && valid_name(a->cleanup) ? 0 : -1;
    if (a->candidate == NULL || (a->name != NULL && !valid_name(a->name)) ||
        (a->from_ms >= 0 && a->to_ms >= 0 && a->to_ms <= a->from_ms))
        return -1;
    if (a->name == NULL) {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(name_buf, cap, "replay-%Y%m%d-%H%M%S", &tm);
        a->name = name_buf;
    }
    return 0;
}

/* ---- the names of one replay ----------------------------------------------------- */

typedef struct {
    char in[N_IN][NAME_CAP];           /* NAME.<live input topic> */
    char out[2][N_OUT][NAME_CAP];      /* NAME.{live,candidate}.<live output topic> */
    char ns[2][NAME_CAP];              /* NAME.live, NAME.candidate: namespace and group */
} replay_names;

static const char *const run_label[2] = {"live", "candidate"};

static void make_names(const cons_config *cfg, const char *name, replay_names *n)
{
    const char *in[N_IN] = {cfg->topic_sales, cfg->topic_registrations, cfg->topic_surveys,
                            cfg->topic_approvals};
    const char *out[N_OUT] = {cfg->topic_payouts, cfg->topic_alerts, cfg->topic_dead_letters};
    for (int t = 0; t < N_IN; t++)
        snprintf(n->in[t], NAME_CAP, "%s.%s", name, in[t]);
    for (int r = 0; r < 2; r++) {
        snprintf(n->ns[r], NAME_CAP, "%s.%s", name, run_label[r]);
        for (int t = 0; t < N_OUT; t++)
            snprintf(n->out[r][t], NAME_CAP, "%s.%s.%s", name, run_label[r], out[t]);
    }
}

/* ---- topics ---------------------------------------------------------------------- */

/* Creates the topics (partitions each, replication as the live sales topic has).
 * @returns 0, or -1 with err set; an existing topic is an error (a replay name is used
 *          once: --cleanup it first). */
static int create_topics(rd_kafka_t *rk, const char *const *names, int n, int32_t partitions,
                         int replication, char *err, size_t errcap)
{
    rd_kafka_NewTopic_t *nt[N_IN + 2 * N_OUT] = {0};
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_event_t *ev = NULL;
    char why[256];
    int rc = -1;

    for (int i = 0; i < n; i++)
        if ((nt[i] = rd_kafka_NewTopic_new(names[i], partitions, replication, why,
                                           sizeof why)) == NULL) {
            snprintf(err, errcap, "topic %s: %s", names[i], why);
            goto done;
        }
    rd_kafka_CreateTopics(rk, nt, (size_t)n, NULL, q);
    if ((ev = rd_kafka_queue_poll(q, REQUEST_TIMEOUT_MS + 5000)) == NULL) {
        snprintf(err, errcap, "creating topics: no answer from Kafka");
        goto done;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(err, errcap, "creating topics: %s", rd_kafka_event_error_string(ev));
        goto done;
    }
    size_t cnt = 0;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    for (size_t i = 0; i < cnt; i++)
        if (rd_kafka_topic_result_error(res[i])) {
            snprintf(err, errcap, "topic %s: %s%s", rd_kafka_topic_result_name(res[i]),
                     rd_kafka_topic_result_error_string(res[i]),
                     rd_kafka_topic_result_error(res[i]) == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS
                         ? " (a replay name is used once; incentivectl replay --cleanup NAME)"
                         : "");
            goto done;
        }
    rc = 0;
done:
    if (ev != NULL)
        rd_kafka_event_destroy(ev);
    for (int i = 0; i < n; i++)
        if (nt[i] != NULL)
            rd_kafka_NewTopic_destroy(nt[i]);
    rd_kafka_queue_destroy(q);
    return rc;
}

/* Partition count and replication factor of topic. @returns 0 or -1 with err set. */
static int topic_shape(rd_kafka_t *rk, const char *topic, int32_t *partitions,
                       int *replication, char *err, size_t errcap)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, REQUEST_TIMEOUT_MS);
    int rc = -1;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 || md->topics[0].err ||
        md->topics[0].partition_cnt < 1) {
        snprintf(err, errcap, "topic %s: %s", topic,
                 e ? rd_kafka_err2str(e) : md->topic_cnt == 1 && md->topics[0].err
                                               ? rd_kafka_err2str(md->topics[0].err)
                                               : "not found");
    } else {
        *partitions = md->topics[0].partition_cnt;
        *replication = md->topics[0].partitions[0].replica_cnt;
        rc = 0;
    }
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    return rc;
}

/* ---- the copy -------------------------------------------------------------------- */

/* Start offsets (from --from) and end offsets (from --to, else the high watermark now)
 * of every input partition: list order topic-major. @returns 0 or -1. */
static int copy_bounds(rd_kafka_t *c, const char *const *topics, int32_t np,
                       const replay_args *a, rd_kafka_topic_partition_list_t *start,
                       int64_t *end, char *err, size_t errcap)
{
    rd_kafka_topic_partition_list_t *at_to = rd_kafka_topic_partition_list_new(N_IN * np);
    int rc = -1;
    for (int t = 0; t < N_IN; t++)
        for (int32_t p = 0; p < np; p++) {
            int64_t lo = 0, hi = 0;
            rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(c, topics[t], p, &lo, &hi,
                                                                     REQUEST_TIMEOUT_MS);
            if (e) {
                snprintf(err, errcap, "watermarks of %s [%d]: %s", topics[t], (int)p,
                         rd_kafka_err2str(e));
                goto done;
            }
            rd_kafka_topic_partition_list_add(start, topics[t], p)->offset =
                a->from_ms >= 0 ? a->from_ms : lo;
            rd_kafka_topic_partition_list_add(at_to, topics[t], p)->offset =
                a->to_ms >= 0 ? a->to_ms : hi;
            end[t * np + p] = hi;
        }
    /* offsets_for_times: the first offset whose timestamp is >= the time, or -1 (end). */
    if (a->from_ms >= 0 && rd_kafka_offsets_for_times(c, start, REQUEST_TIMEOUT_MS)) {
        snprintf(err, errcap, "offsets for --from: request failed");
        goto done;
    }
    if (a->to_ms >= 0 && rd_kafka_offsets_for_times(c, at_to, REQUEST_TIMEOUT_MS)) {
        snprintf(err, errcap, "offsets for --to: request failed");
        goto done;
    }
    for (int i = 0; i < start->cnt; i++) {
        if (start->elems[i].offset < 0)
            start->elems[i].offset = end[i];          /* nothing at or after --from */
        if (a->to_ms >= 0 && at_to->elems[i].offset >= 0 && at_to->elems[i].offset < end[i])
            end[i] = at_to->elems[i].offset;
    }
    rc = 0;
done:
    rd_kafka_topic_partition_list_destroy(at_to);
    return rc;
}

/* Copies [start, end) of every input partition into the replay's input topics, same
 * partition, key, value, headers and timestamp. @returns records copied, or -1. */
static long long copy_inputs(const cons_config *cfg, const replay_names *n, int32_t np,
                             const replay_args *a, char *err, size_t errcap)
{
    const char *live[N_IN] = {cfg->topic_sales, cfg->topic_registrations, cfg->topic_surveys,
                              cfg->topic_approvals};
    char group[128];
    rd_kafka_t *c = NULL, *pr = NULL;
    rd_kafka_topic_partition_list_t *start = rd_kafka_topic_partition_list_new(N_IN * np);
    int64_t *end = calloc((size_t)(N_IN * np), sizeof *end);
    bool *done = calloc((size_t)(N_IN * np), sizeof *done);
    long long copied = -1, count = 0;
    int open_parts = 0;
    int64_t deadline = cons_ctl_now_ms() + a->timeout_s * 1000;

    cons_ctl_throwaway_group("replay-copy", group, sizeof group);
    if (end == NULL || done == NULL) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    if ((c = cons_ctl_consumer_new(cfg, group, true, err, errcap)) == NULL ||
        (pr = cons_kafka_producer_new(cfg, NULL, err, errcap)) == NULL ||
        copy_bounds(c, live, np, a, start, end, err, errcap))
        goto out;
    for (int i = 0; i < start->cnt; i++)
        if (!(done[i] = start->elems[i].offset >= end[i]))
            open_parts++;
    if (open_parts > 0 && rd_kafka_assign(c, start)) {
        snprintf(err, errcap, "cannot assign the input partitions");
        goto out;
    }
    while (open_parts > 0) {
        if (cons_ctl_now_ms() > deadline) {
            snprintf(err, errcap, "copy not finished after %lld s", a->timeout_s);
            goto out;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        rd_kafka_poll(pr, 0);
        if (m == NULL)
            continue;
        int t = 0;
        while (t < N_IN && strcmp(rd_kafka_topic_name(m->rkt), live[t]) != 0)
            t++;
        int i = t * np + m->partition;
        if (t == N_IN || m->partition < 0 || m->partition >= np || done[i]) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* Everything committed is read. end was the high watermark (or --to), so
             * what lies between is only what an open transaction holds: not part of
             * the history yet, and not copied. */
            done[i] = true;
            open_parts--;
        } else if (m->err) {
            snprintf(err, errcap, "reading %s [%d]: %s", live[t], (int)m->partition,
                     rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            goto out;
        } else if (m->offset >= end[i]) {
            done[i] = true;
            open_parts--;
        } else {
            rd_kafka_headers_t *h = NULL, *hcopy = NULL;
            if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR)
                hcopy = rd_kafka_headers_copy(h);
            rd_kafka_resp_err_t e;
            do {
                e = rd_kafka_producev(pr, RD_KAFKA_V_TOPIC(n->in[t]),
                                      RD_KAFKA_V_PARTITION(m->partition),
                                      RD_KAFKA_V_KEY(m->key, m->key_len),
                                      RD_KAFKA_V_VALUE(m->payload, m->len),
                                      RD_KAFKA_V_TIMESTAMP(rd_kafka_message_timestamp(m, NULL)),
                                      RD_KAFKA_V_HEADERS(hcopy),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                    rd_kafka_poll(pr, 50);
            } while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
            if (e) {
                if (hcopy != NULL)
                    rd_kafka_headers_destroy(hcopy);   /* kept by producev only on success */
                snprintf(err, errcap, "copying to %s: %s", n->in[t], rd_kafka_err2str(e));
                rd_kafka_message_destroy(m);
                goto out;
            }
            count++;
            if (m->offset >= end[i] - 1) {
                done[i] = true;
                open_parts--;
            }
        }
        rd_kafka_message_destroy(m);
    }
    if (rd_kafka_flush(pr, REQUEST_TIMEOUT_MS) || rd_kafka_outq_len(pr) > 0) {
        snprintf(err, errcap, "the copy was not acknowledged by Kafka in time");
        goto out;
    }
    copied = count;
out:
    rd_kafka_topic_partition_list_destroy(start);
    free(end);
    free(done);
    if (c != NULL) {
        rd_kafka_consumer_close(c);
        rd_kafka_destroy(c);
    }
    if (pr != NULL)
        rd_kafka_destroy(pr);
    return copied;
}

/* ---- the two workers ------------------------------------------------------------- */

/* The worker binary beside this incentivectl (both are built and installed together). */
static int worker_path(char *out, size_t cap)
{
    ssize_t len = readlink("/proc/self/exe", out, cap - 1);
    if (len <= 0)
        return -1;
    out[len] = '\0';
    char *slash = strrchr(out, '/');
    if (slash == NULL || (size_t)(slash - out) + sizeof "/incentive-worker" > cap)
        return -1;
    strcpy(slash, "/incentive-worker");
    return access(out, X_OK);
}

/* Starts run r's worker: the global settings of this incentivectl (its config file, the
 * environment it passes on), with the replay's topics, namespace, group and program.
 * @returns the child's pid, or -1 with err set. */
static pid_t start_worker(const cons_config *cfg, const replay_names *n, int r,
                          const char *program_file, const char *log_path, char *err,
                          size_t errcap)
{
    char bin[4096], flags[16][NAME_CAP + 64];
    char *argv[24];
    int k = 0, f = 0;

    if (worker_path(bin, sizeof bin) != 0) {
        snprintf(err, errcap, "incentive-worker not found beside incentivectl");
        return -1;
    }
    argv[k++] = bin;
    if (cfg->config_file != NULL) {
        argv[k++] = "--config";
        argv[k++] = cfg->config_file;
    }
    const char *in_keys[N_IN] = {"topic.sales", "topic.registrations", "topic.surveys",
                                 "topic.approvals"};
    const char *out_keys[N_OUT] = {"topic.payouts", "topic.alerts", "topic.dead_letters"};
    for (int t = 0; t < N_IN; t++)
        snprintf(flags[f++], sizeof flags[0], "--%s=%s", in_keys[t], n->in[t]);
    for (int t = 0; t < N_OUT; t++)
        snprintf(flags[f++], sizeof flags[0], "--%s=%s", out_keys[t], n->out[r][t]);
    snprintf(flags[f++], sizeof flags[0], "--redis.namespace=%s", n->ns[r]);
    snprintf(flags[f++], sizeof flags[0], "--group.id=%s", n->ns[r]);
    snprintf(flags[f++], sizeof flags[0], "--worker.id=%s-1", n->ns[r]);
    snprintf(flags[f++], sizeof flags[0], "--consume.timestamp_order=true");
    snprintf(flags[f++], sizeof flags[0], "--metrics.port=0");
    for (int i = 0; i < f; i++)
        argv[k++] = flags[i];
    char program_flag[4200];
    snprintf(program_flag, sizeof program_flag, "--program_file=%s", program_file);
    argv[k++] = program_flag;
    argv[k] = NULL;

    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errcap, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        FILE *log = freopen(log_path, "a", stderr);
        if (log == NULL || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
            _exit(127);
        execv(bin, argv);
        _exit(127);
    }
    return pid;
}

/* SIGTERM, then waits up to WORKER_STOP_TIMEOUT_S for a clean exit (0). */
static int stop_worker(pid_t pid)
{
    int status = 0;
    int64_t deadline = cons_ctl_now_ms() + WORKER_STOP_TIMEOUT_S * 1000;
    kill(pid, SIGTERM);
    for (;;) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
        if (got < 0 || cons_ctl_now_ms() > deadline)
            break;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* A copy of cfg pointed at run r of the replay (for the lag wait and the reports). The
 * strings stay owned by cfg and n. */
static cons_config run_config(const cons_config *cfg, const replay_names *n, int r)
{
    cons_config c = *cfg;
    c.topic_sales = (char *)n->in[0];
    c.topic_registrations = (char *)n->in[1];
    c.topic_surveys = (char *)n->in[2];
    c.topic_approvals = (char *)n->in[3];
    c.topic_payouts = (char *)n->out[r][0];
    c.topic_alerts = (char *)n->out[r][1];
    c.topic_dead_letters = (char *)n->out[r][2];
    c.redis_namespace = (char *)n->ns[r];
    c.group_id = (char *)n->ns[r];
    return c;
}

/* ---- the command ----------------------------------------------------------------- */

static int run_replay(const cons_config *cfg, const replay_args *a)
{
    replay_names n;
    const char *topics[N_IN + 2 * N_OUT];
    char err[1024], log_path[2][4200];
    rd_kafka_t *admin = NULL;
    pid_t pids[2] = {-1, -1};
    int32_t np = 0;
    int replication = 1, rc = CONS_CTL_FAILED;
    long long copied;

    make_names(cfg, a->name, &n);
    for (int t = 0; t < N_IN; t++)
        topics[t] = n.in[t];
    for (int r = 0; r < 2; r++)
        for (int t = 0; t < N_OUT; t++)
            topics[N_IN + r * N_OUT + t] = n.out[r][t];
    if ((admin = cons_kafka_producer_new(cfg, NULL, err, sizeof err)) == NULL ||
        topic_shape(admin, cfg->topic_sales, &np, &replication, err, sizeof err) ||
        create_topics(admin, topics, N_IN + 2 * N_OUT, np, replication, err, sizeof err))
        goto fail;
    if ((copied = copy_inputs(cfg, &n, np, a, err, sizeof err)) < 0)
        goto fail;
    fprintf(stderr, "replay %s: copied %lld input records into %s.*\n", a->name, copied,
            a->name);
    for (int r = 0; r < 2; r++) {
        snprintf(log_path[r], sizeof log_path[r], "%s/%s.%s.log",
                 getenv("PI_STATE_DIR") ? getenv("PI_STATE_DIR") : "/tmp", a->name,
                 run_label[r]);
        if ((pids[r] = start_worker(cfg, &n, r, r == 0 ? cfg->program_file : a->candidate,
                                    log_path[r], err, sizeof err)) < 0)
            goto fail;
    }
    for (int r = 0; r < 2; r++) {
        cons_config rc_cfg = run_config(cfg, &n, r);
        if (cons_ctl_wait_caught_up(&rc_cfg, a->timeout_s, err, sizeof err) != 0)
            goto fail;
    }
    for (int r = 0; r < 2; r++) {
        int stopped = stop_worker(pids[r]);
        pids[r] = -1;
        if (stopped != 0) {
            snprintf(err, sizeof err, "the %s worker did not stop cleanly (log: %s)",
                     run_label[r], log_path[r]);
            goto fail;
        }
    }
    for (int r = 0; r < 2; r++)
        fprintf(stderr, "replay %s: %s run: redis.namespace=%s topic.payouts=%s "
                "topic.alerts=%s topic.dead_letters=%s\n", a->name, run_label[r], n.ns[r],
                n.out[r][0], n.out[r][1], n.out[r][2]);
    cons_config live_cfg = run_config(cfg, &n, 0), cand_cfg = run_config(cfg, &n, 1);
    if (cons_ctl_replay_report(&live_cfg, &cand_cfg, a->name, a->candidate, (int)a->top,
                               a->json, err, sizeof err) != 0)
        goto fail;
    fprintf(stderr, "replay %s: remove it with: incentivectl replay --cleanup %s\n", a->name,
            a->name);
    rc = CONS_CTL_OK;
    goto done;
fail:
    fprintf(stderr, "incentivectl replay: %s\n", err);
done:
    for (int r = 0; r < 2; r++)
        if (pids[r] > 0)
            stop_worker(pids[r]);
    if (admin != NULL)
        rd_kafka_destroy(admin);
    return rc;
}

typedef struct {
    redisContext *c;
    size_t removed;
} unlink_ctx;

/* UNLINKs one key a scan found. (A second connection is not needed: SCAN's cursor is
 * kept by us, not by the connection.) */
static int unlink_key(void *arg, const redisReply *key)
{
    unlink_ctx *u = arg;
    redisReply *r = redisCommand(u->c, "UNLINK %b", key->str, key->len);
    if (r != NULL && r->type == REDIS_REPLY_INTEGER)
        u->removed += (size_t)r->integer;
    if (r != NULL)
        freeReplyObject(r);
    return 0;
}

/* Deletes the replay's topics (every topic named NAME.…), its consumer groups and its
 * Redis keys (NAME.live:…, NAME.candidate:…). */
static int run_cleanup(const cons_config *cfg, const char *name)
{
    char err[1024], prefix[NAME_CAP];
    rd_kafka_t *admin = NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_DeleteTopic_t **del = NULL;
    rd_kafka_DeleteGroup_t *groups[2] = {NULL, NULL};
    rd_kafka_queue_t *q = NULL;
    redisContext *c = NULL;
    size_t n_del = 0, n_keys = 0;
    int rc = CONS_CTL_FAILED;

    snprintf(prefix, sizeof prefix, "%s.", name);
    if ((admin = cons_kafka_producer_new(cfg, NULL, err, sizeof err)) == NULL)
        goto fail;
    if (rd_kafka_metadata(admin, 1, NULL, &md, REQUEST_TIMEOUT_MS)) {
        snprintf(err, sizeof err, "cannot list topics");
        goto fail;
    }
    if ((del = calloc((size_t)md->topic_cnt + 1, sizeof *del)) == NULL) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    for (int i = 0; i < md->topic_cnt; i++)
        if (strncmp(md->topics[i].topic, prefix, strlen(prefix)) == 0)
            del[n_del++] = rd_kafka_DeleteTopic_new(md->topics[i].topic);
    q = rd_kafka_queue_new(admin);
    if (n_del > 0) {
        rd_kafka_DeleteTopics(admin, del, n_del, NULL, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, REQUEST_TIMEOUT_MS + 5000);
        int bad = ev == NULL || rd_kafka_event_error(ev);
        if (bad)
            snprintf(err, sizeof err, "deleting topics: %s",
                     ev ? rd_kafka_event_error_string(ev) : "no answer from Kafka");
        if (ev != NULL)
            rd_kafka_event_destroy(ev);
        if (bad)
            goto fail;
    }
    for (int r = 0; r < 2; r++) {
        char g[NAME_CAP];
        snprintf(g, sizeof g, "%s.%s", name, run_label[r]);
        groups[r] = rd_kafka_DeleteGroup_new(g);
    }
    rd_kafka_DeleteGroups(admin, groups, 2, NULL, q);
    rd_kafka_event_t *gev = rd_kafka_queue_poll(q, REQUEST_TIMEOUT_MS + 5000);
    if (gev != NULL)
        rd_kafka_event_destroy(gev);    /* a group that never committed is not an error */
    if ((c = cons_ctl_redis_connect(cfg, err, sizeof err)) == NULL)
        goto fail;
    for (int r = 0; r < 2; r++) {
        char pattern[NAME_CAP + 8];
        unlink_ctx u = {c, 0};
        snprintf(pattern, sizeof pattern, "%s.%s:*", name, run_label[r]);
        if (cons_ctl_scan_keys(c, pattern, unlink_key, &u, err, sizeof err) != 0)
            goto fail;
        n_keys += u.removed;
    }
    printf("replay %s removed: %zu topics, %zu Redis keys, its consumer groups\n", name,
           n_del, n_keys);
    rc = CONS_CTL_OK;
    goto done;
fail:
    fprintf(stderr, "incentivectl replay --cleanup: %s\n", err);
done:
    for (size_t i = 0; i < n_del; i++)
        rd_kafka_DeleteTopic_destroy(del[i]);
    free(del);
    for (int r = 0; r < 2; r++)
        if (groups[r] != NULL)
            rd_kafka_DeleteGroup_destroy(groups[r]);
    if (q != NULL)
        rd_kafka_queue_destroy(q);
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    if (admin != NULL)
        rd_kafka_destroy(admin);
    if (c != NULL)
        redisFree(c);
    return rc;
}

int cons_ctl_replay(const cons_config *cfg, int argc, char **argv)
{
    replay_args a;
    char name[64];
    memset(&a, 0, sizeof a);
    if (replay_parse(argc, argv, &a, name, sizeof name) != 0)
        return cons_ctl_usage(REPLAY_USAGE);
    return a.cleanup != NULL ? run_cleanup(cfg, a.cleanup) : run_replay(cfg, &a);
}
