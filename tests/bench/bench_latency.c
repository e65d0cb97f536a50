/*
 * bench-latency — end-to-end latency of the worker (README "Benchmarks"): from the moment a
 * sale is produced to the moment its REBATE payout is readable by a read_committed
 * consumer.
 *
 *     bench-latency [--key=value ...] [--rate=R] [--duration=D] [--partners=N]
 *                   [--partner-seed=S] [--seed=X] [--timeout=T] [--amount=MINOR]
 *                   [--occurred-at=YYYY-MM-DD] [--id-prefix=lat-] [--sku=SKU]
 *
 * The --key=value options and the PI_* environment are the worker's settings, loaded the
 * same way as incentive-worker and incentivectl do (cons_config.h): topics, bootstrap
 * servers, program_file. The other options are this tool's own.
 *
 * It sends R sales per second for D seconds to the sales topic, keyed by partner id (the
 * producer of cons_kafka forces murmur2 partitioning), with event ids "<prefix><n>", n =
 * 0, 1, ..., and records the monotonic time just before each send. A second thread
 * consumes the payouts topic read_committed from its end (every partition is assigned at
 * its end offset, queried before the first sale is sent) and, for each REBATE payout whose
 * source_event_id is "<prefix><n>", records receive time − send time. After the last sale
 * it waits at most T seconds for the missing payouts, then prints the count and p50, p90,
 * p99, p99.9 and max in milliseconds, and how many payouts were never seen.
 *
 * The partners must already be enrolled: they are those of `incentivectl produce
 * --generate --seed S --partners N --phase enrol`, i.e. ids "g<S>-p<5 digits>", partner i
 * in program i mod (number of programs in program_file) (cons_ctl_gen.h); each sale is in
 * its partner's program currency. Partners are drawn uniformly with splitmix64 from --seed,
 * so a run is reproducible. Pick partners without other sales (a fresh --partner-seed), so
 * no partner is at its payout cap and every sale earns a REBATE.
 *
 * Exit codes: 0 the measurement ran (missing payouts are reported, not an error),
 * 1 failure, 2 bad arguments.
 */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cons_config.h"
#include "cons_kafka.h"
#include "cons_log.h"
#include "cons_program.h"
#include "proc_event.h"
#include "proc_period.h"
#include "schema_codec.h"
#include "schema_registry.h"

extern char **environ;

#define USAGE                                                                              \
    "usage: bench-latency [--key=value ...] [--rate=R] [--duration=D] [--partners=N]\n"    \
    "                     [--partner-seed=S] [--seed=X] [--timeout=T] [--amount=MINOR]\n"  \
    "                     [--occurred-at=YYYY-MM-DD] [--id-prefix=lat-] [--sku=SKU]\n"

#define KAFKA_TIMEOUT_MS 10000
#define POLL_MS 50

typedef struct {
    long long rate;              /* sales per second */
    long long duration_s;
    long long partners;          /* partners g<partner_seed>-p00000 .. p<partners-1> */
    long long partner_seed;
    long long seed;              /* of the partner choice */
    long long timeout_s;         /* wait for payouts after the last sale */
    long long amount_minor;
    int64_t occurred_at_ms;
    const char *id_prefix;
    const char *sku;
} bench_args;

/* Shared by the producing (main) thread and the consuming thread. */
typedef struct {
    rd_kafka_t *consumer;
    const schema_registry *reg;
    const char *prefix;
    size_t prefix_len;
    int64_t n_total;
    _Atomic int64_t *sent_ns;    /* send time of sale n; 0 = not sent (yet) */
    int64_t *lat_ns;             /* latency of sale n; -1 = no payout seen (consumer only) */
    _Atomic int64_t deadline_ns; /* 0 = none yet; set by main after the last send */
    _Atomic int64_t n_sent;      /* sales sent, set by main after the last send */
    int64_t n_seen, n_dup, n_early, n_other, n_undecodable, n_errors;
} rx_state;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until_ns(int64_t t)
{
    struct timespec ts = {.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ---- arguments -------------------------------------------------------------------- */

static int parse_ll(const char *text, long long min, long long max, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* "--name=value" of one of our own options: @returns the value, or NULL. */
static const char *own_opt(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

/* Takes our options out of argv (the rest is left for cons_config_load).
 * @returns 0, or -1 after printing what is wrong. */
static int parse_own_args(int *argc, char **argv, bench_args *a)
{
    int out = 1;
    long long y, m, d;

    a->rate = 1000;
    a->duration_s = 20;
    a->partners = 1000;
    a->partner_seed = 2;
    a->seed = 42;
    a->timeout_s = 10;
    a->amount_minor = 1000;           /* 10.00: far below every cap and approval threshold */
    a->occurred_at_ms = proc_days_from_civil(2026, 10, 15) * PROC_MS_PER_DAY;
    a->id_prefix = "lat-";
    a->sku = "SVC-CARE-3Y";           /* no SPIFF matches it: one REBATE + one MDF per sale */
    for (int i = 1; i < *argc; i++) {
        const char *arg = argv[i], *v;
        int bad = 0;
        if ((v = own_opt(arg, "--rate")))
            bad = parse_ll(v, 1, 10000000, &a->rate);
        else if ((v = own_opt(arg, "--duration")))
            bad = parse_ll(v, 1, 3600, &a->duration_s);
        else if ((v = own_opt(arg, "--partners")))
            bad = parse_ll(v, 1, 1000000, &a->partners);
        else if ((v = own_opt(arg, "--partner-seed")))
            bad = parse_ll(v, 0, INT64_MAX, &a->partner_seed);
        else if ((v = own_opt(arg, "--seed")))
            bad = parse_ll(v, 0, INT64_MAX, &a->seed);
        else if ((v = own_opt(arg, "--timeout")))
            bad = parse_ll(v, 0, 3600, &a->timeout_s);
        else if ((v = own_opt(arg, "--amount")))
            bad = parse_ll(v, 1, 1000000000000LL, &a->amount_minor);
        else if ((v = own_opt(arg, "--id-prefix")))
            a->id_prefix = v, bad = v[0] == '\0' || strlen(v) > 64;
        else if ((v = own_opt(arg, "--sku")))
            a->sku = v, bad = v[0] == '\0' || strlen(v) > PROC_STR_MAX;
        else if ((v = own_opt(arg, "--occurred-at"))) {
            char tail;
            bad = sscanf(v, "%4lld-%2lld-%2lld%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 ||
                  d < 1 || d > 31;
            if (!bad)
                a->occurred_at_ms = proc_days_from_civil(y, (unsigned)m, (unsigned)d) *
                                    PROC_MS_PER_DAY;
        } else {
            argv[out++] = argv[i];    /* a worker setting */
            continue;
        }
        if (bad) {
            fprintf(stderr, "bench-latency: bad value in %s\n%s", arg, USAGE);
            return -1;
        }
    }
    *argc = out;
    argv[out] = NULL;
    if (a->rate * a->duration_s > 50000000) {
        fprintf(stderr, "bench-latency: rate × duration is over 50 million sales\n");
        return -1;
    }
    return 0;
}

/* ---- the payouts consumer --------------------------------------------------------- */

/* Assigns every partition of `topic` at its current end offset (queried now, so that
 * every payout of a sale sent after this returns is read). @returns 0 or -1. */
static int assign_at_end(rd_kafka_t *rk, const char *topic, char *err, size_t errcap)
{
    int32_t n = 0;
    if (cons_kafka_partition_counts(rk, 1, &topic, &n, KAFKA_TIMEOUT_MS, err, errcap))
        return -1;
    if (n < 1) {
        snprintf(err, errcap, "topic %s does not exist", topic);
        return -1;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    for (int32_t p = 0; p < n; p++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, KAFKA_TIMEOUT_MS);
        if (e) {
            snprintf(err, errcap, "end offset of %s[%d]: %s", topic, (int)p, rd_kafka_err2str(e));
            rd_kafka_topic_partition_list_destroy(l);
            return -1;
        }
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = hi;
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        snprintf(err, errcap, "assign %s: %s", topic, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

/* "<prefix><n>" with n a decimal below n_total: @returns n, or -1. */
static int64_t sale_number(const rx_state *rx, const char *event_id)
{
    if (strncmp(event_id, rx->prefix, rx->prefix_len) != 0)
        return -1;
    const char *s = event_id + rx->prefix_len;
    int64_t n = 0;
    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || n > rx->n_total)
            return -1;
        n = n * 10 + (*s - '0');
    }
    return n < rx->n_total ? n : -1;
}

static void *consume_payouts(void *arg)
{
    rx_state *rx = arg;
    proc_payout po;

    for (;;) {
        int64_t deadline = atomic_load(&rx->deadline_ns);
        if (deadline != 0 && (rx->n_seen >= atomic_load(&rx->n_sent) || now_ns() >= deadline))
            break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rx->consumer, POLL_MS);
        if (m == NULL)
            continue;
        int64_t t = now_ns();
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                rx->n_errors++;
                cons_log(CONS_LOG_WARN, "consume_error", "%s", rd_kafka_message_errstr(m));
            }
        } else if (schema_decode_payout(rx->reg, m->payload, m->len, &po, NULL, 0) != SCHEMA_OK) {
            rx->n_undecodable++;
        } else {
            int64_t n = po.kind == PROC_PAYOUT_REBATE ? sale_number(rx, po.source_event_id) : -1;
            int64_t sent = n >= 0 ? atomic_load_explicit(&rx->sent_ns[n], memory_order_acquire) : 0;
            if (n < 0)
                rx->n_other++;           /* MDF accruals, true-ups, other runs' payouts */
            else if (sent == 0)
                rx->n_early++;           /* a payout of a sale not sent by this run */
            else if (rx->lat_ns[n] >= 0)
                rx->n_dup++;             /* read_committed saw it twice: exactly-once broken */
            else {
                rx->lat_ns[n] = t - sent;
                rx->n_seen++;
            }
        }
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

/* ---- results ---------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n), n > 0, in ms. */
static double pct_ms(const int64_t *v, int64_t n, double p)
{
    int64_t k = (int64_t)((p / 100.0) * (double)n + 0.999999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)v[k - 1] / 1e6;
}

/* ---- main ------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    bench_args a;
    cons_config cfg;
    proc_program *programs = NULL;
    int n_programs = 0, rc = 1;
    schema_registry *reg = NULL;
    rd_kafka_t *producer = NULL, *consumer = NULL;
    rx_state rx;
    pthread_t rx_thread;
    bool rx_started = false;
    char err[1024], group[160];
    uint8_t buf[SCHEMA_ENCODE_MAX];

    memset(&rx, 0, sizeof rx);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(USAGE, stdout);
            return 0;
        }
    if (parse_own_args(&argc, argv, &a))
        return 2;
    if (cons_config_load(&cfg, argc, argv, environ, err, sizeof err, NULL) != 0) {
        fprintf(stderr, "bench-latency: %s\n%s", err, USAGE);
        return 2;
    }
    if (cons_log_set_level_name(cfg.log_level) != 0) {
        fprintf(stderr, "bench-latency: log.level: expected debug|info|warn|error\n");
        goto done;
    }
    if (cons_program_load(cfg.program_file, &programs, &n_programs, err, sizeof err) != 0)
        goto fail;
    if ((reg = schema_registry_new(err, sizeof err)) == NULL)
        goto fail;
    if (cfg.schema_map[0] && schema_registry_load_map(reg, cfg.schema_map, err, sizeof err))
        goto fail;
    /* Never the workers' group: this consumer only assigns, but keep it apart anyway. */
    snprintf(group, sizeof group, "%s-bench-latency", cfg.group_id);
    if (cons_config_set(&cfg, "group.id", group, err, sizeof err))
        goto fail;

    rx.n_total = a.rate * a.duration_s;
    rx.prefix = a.id_prefix;
    rx.prefix_len = strlen(a.id_prefix);
    rx.reg = reg;
    rx.sent_ns = calloc((size_t)rx.n_total, sizeof *rx.sent_ns);
    rx.lat_ns = malloc((size_t)rx.n_total * sizeof *rx.lat_ns);
    if (rx.sent_ns == NULL || rx.lat_ns == NULL) {
        snprintf(err, sizeof err, "out of memory for %" PRId64 " sales", rx.n_total);
        goto fail;
    }
    for (int64_t n = 0; n < rx.n_total; n++) {
        atomic_init(&rx.sent_ns[n], 0);
        rx.lat_ns[n] = -1;
    }
    atomic_init(&rx.deadline_ns, 0);
    atomic_init(&rx.n_sent, 0);

    if ((consumer = cons_kafka_consumer_new(&cfg, NULL, NULL, err, sizeof err)) == NULL ||
        assign_at_end(consumer, cfg.topic_payouts, err, sizeof err))
        goto fail;
    rx.consumer = consumer;
    if ((producer = cons_kafka_producer_new(&cfg, NULL, err, sizeof err)) == NULL)
        goto fail;
    /* Connect the producer before the clock starts: the first sales must not pay for it. */
    {
        int32_t n = 0;
        const char *t = cfg.topic_sales;
        if (cons_kafka_partition_counts(producer, 1, &t, &n, KAFKA_TIMEOUT_MS, err, sizeof err))
            goto fail;
        if (n < 1) {
            snprintf(err, sizeof err, "topic %s does not exist", t);
            goto fail;
        }
    }
    if (pthread_create(&rx_thread, NULL, consume_payouts, &rx) != 0) {
        snprintf(err, sizeof err, "cannot start the consumer thread");
        goto fail;
    }
    rx_started = true;

    /* ---- produce at a fixed rate ---- */
    proc_event *ev = calloc(1, sizeof *ev);
    if (ev == NULL) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    uint64_t rng = (uint64_t)a.seed;
    int64_t max_behind_ns = 0, n_sent = 0, n_queue_full = 0;
    const int64_t period_ns_num = 1000000000;     /* due(n) = t0 + n × 1e9 / rate */
    int64_t t0 = now_ns();
    for (int64_t n = 0; n < rx.n_total; n++) {
        int64_t due = t0 + (int64_t)((__int128)n * period_ns_num / a.rate);
        if (now_ns() < due)
            sleep_until_ns(due);
        int64_t idx = (int64_t)(splitmix64(&rng) % (uint64_t)a.partners);
        const proc_program *prog = &programs[idx % n_programs];
        memset(ev, 0, sizeof *ev);
        ev->type = PROC_EVENT_SALE;
        snprintf(ev->event_id, sizeof ev->event_id, "%s%" PRId64, a.id_prefix, n);
        snprintf(ev->partner_id, sizeof ev->partner_id, "g%lld-p%05" PRId64, a.partner_seed, idx);
        ev->occurred_at = a.occurred_at_ms + n;    /* within one period: never late */
        ev->u.sale.kind = PROC_SALE_SALE;
        ev->u.sale.amount_minor = a.amount_minor;
        snprintf(ev->u.sale.currency, sizeof ev->u.sale.currency, "%s", prog->currency);
        snprintf(ev->u.sale.sku, sizeof ev->u.sale.sku, "%s", a.sku);
        ev->u.sale.quantity = 1;
        size_t len = 0;
        if (schema_encode_event(reg, ev, buf, sizeof buf, &len)) {
            free(ev);
            snprintf(err, sizeof err, "cannot encode sale %" PRId64, n);
            goto fail;
        }
        for (;;) {
            int64_t t = now_ns();
            atomic_store_explicit(&rx.sent_ns[n], t, memory_order_release);
            rd_kafka_resp_err_t e = rd_kafka_producev(
                producer, RD_KAFKA_V_TOPIC(cfg.topic_sales), RD_KAFKA_V_KEY(ev->partner_id, strlen(ev->partner_id)),
                RD_KAFKA_V_VALUE(buf, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
                if (t - due > max_behind_ns)
                    max_behind_ns = t - due;
                break;
            }
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                free(ev);
                snprintf(err, sizeof err, "produce: %s", rd_kafka_err2str(e));
                goto fail;
            }
            n_queue_full++;
            rd_kafka_poll(producer, 1);
        }
        n_sent++;
        if (n % 256 == 0)
            rd_kafka_poll(producer, 0);
    }
    int64_t t_end = now_ns();
    free(ev);
    rd_kafka_resp_err_t fe = rd_kafka_flush(producer, KAFKA_TIMEOUT_MS);
    int outq = rd_kafka_outq_len(producer);
    atomic_store(&rx.n_sent, n_sent);
    atomic_store(&rx.deadline_ns, now_ns() + a.timeout_s * 1000000000);
    pthread_join(rx_thread, NULL);
    rx_started = false;

    /* ---- report ---- */
    int64_t *lat = malloc((size_t)(rx.n_seen > 0 ? rx.n_seen : 1) * sizeof *lat);
    if (lat == NULL) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    int64_t k = 0;
    for (int64_t n = 0; n < rx.n_total; n++)
        if (rx.lat_ns[n] >= 0)
            lat[k++] = rx.lat_ns[n];
    qsort(lat, (size_t)k, sizeof *lat, cmp_i64);
    double secs = (double)(t_end - t0) / 1e9;
    printf("bench-latency: %" PRId64 " sales to %s at %lld/s for %lld s (achieved %.0f/s, "
           "producer at most %.1f ms behind schedule, %" PRId64 " queue-full retries), "
           "partners g%lld-p00000..p%05lld, seed %lld\n",
           n_sent, cfg.topic_sales, a.rate, a.duration_s, secs > 0 ? (double)n_sent / secs : 0.0,
           (double)max_behind_ns / 1e6, n_queue_full, a.partner_seed, a.partners - 1, a.seed);
    if (fe || outq > 0)
        printf("bench-latency: WARNING: producer flush: %s, %d records undelivered\n",
               rd_kafka_err2str(fe), outq);
    printf("bench-latency: REBATE payouts seen %" PRId64 ", never seen %" PRId64
           " (waited up to %lld s after the last sale), duplicates %" PRId64
           ", other payouts %" PRId64 ", undecodable %" PRId64 ", consume errors %" PRId64 "\n",
           k, n_sent - k, a.timeout_s, rx.n_dup, rx.n_other, rx.n_undecodable, rx.n_errors);
    if (k > 0) {
        printf("bench-latency: latency sale produced -> payout readable (read_committed), ms: "
               "p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
               pct_ms(lat, k, 50), pct_ms(lat, k, 90), pct_ms(lat, k, 99), pct_ms(lat, k, 99.9),
               (double)lat[k - 1] / 1e6);
        /* One line for scripts. */
        printf("RESULT rate=%lld sent=%" PRId64 " seen=%" PRId64 " missing=%" PRId64
               " dup=%" PRId64 " p50=%.1f p90=%.1f p99=%.1f p999=%.1f max=%.1f\n",
               a.rate, n_sent, k, n_sent - k, rx.n_dup, pct_ms(lat, k, 50), pct_ms(lat, k, 90),
               pct_ms(lat, k, 99), pct_ms(lat, k, 99.9), (double)lat[k - 1] / 1e6);
    } else {
        printf("RESULT rate=%lld sent=%" PRId64 " seen=0 missing=%" PRId64 " dup=%" PRId64
               " p50=- p90=- p99=- p999=- max=-\n", a.rate, n_sent, n_sent, rx.n_dup);
    }
    free(lat);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "bench-latency: %s\n", err);
done:
    if (rx_started) {                 /* failed while producing: stop the consumer thread */
        atomic_store(&rx.n_sent, 0);
        atomic_store(&rx.deadline_ns, 1);
        pthread_join(rx_thread, NULL);
    }
    if (consumer) {
        rd_kafka_consumer_close(consumer);
        rd_kafka_destroy(consumer);
    }
    if (producer)
        rd_kafka_destroy(producer);
    free(rx.sent_ns);
    free(rx.lat_ns);
    schema_registry_destroy(reg);
    cons_program_free(programs);
    cons_config_free(&cfg);
    return rc;
}
