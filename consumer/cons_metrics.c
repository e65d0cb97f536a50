#define _GNU_SOURCE   /* accept4 */
#include "cons_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Connections being read, never waited on: each turn of the worker's loop reads what has
 * arrived, answers complete request lines and drops the rest by deadline or size. */
#define MAX_CONNS 64                   /* beyond this the oldest pending one is dropped */
#define REQ_CAP 1024                   /* a longer request line is refused (400) */
#define CONN_DEADLINE_MS 2000          /* a client that sends nothing is dropped after this */

typedef struct {
    int fd;                            /* -1: free slot */
    int64_t since_ms;
    size_t len;
    char req[REQ_CAP];
} conn;

struct cons_metrics_server {
    int fd;
    conn conns[MAX_CONNS];
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

cons_metrics_server *cons_metrics_server_new(int port, char *err, size_t errcap)
{
    cons_metrics_server *s = calloc(1, sizeof *s);
    struct sockaddr_in addr = {0};
    int one = 1;

    if (s == NULL) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    for (int i = 0; i < MAX_CONNS; i++)
        s->conns[i].fd = -1;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    if (s->fd < 0 || setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(s->fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(s->fd, 16) != 0) {
        snprintf(err, errcap, "metrics.port %d: %s", port, strerror(errno));
        cons_metrics_server_destroy(s);
        return NULL;
    }
    return s;
}

void cons_metrics_server_destroy(cons_metrics_server *s)
{
    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    for (int i = 0; i < MAX_CONNS; i++)
        if (s->conns[i].fd >= 0)
            close(s->conns[i].fd);
    free(s);
}

size_t cons_metrics_format(const cons_metrics *m, const char *worker_id, char *buf, size_t cap)
{
    int n = snprintf(buf, cap,
        "# HELP pi_events_total Input records handled.\n# TYPE pi_events_total counter\n"
        "pi_events_total{worker=\"%s\"} %" PRIu64 "\n"
        "# HELP pi_dead_letters_total Input records sent to the dead-letter topic.\n"
        "# TYPE pi_dead_letters_total counter\npi_dead_letters_total{worker=\"%s\"} %" PRIu64 "\n"
        "# HELP pi_duplicates_total Input records ignored as already applied.\n"
        "# TYPE pi_duplicates_total counter\npi_duplicates_total{worker=\"%s\"} %" PRIu64 "\n"
        "# HELP pi_payouts_total Payout events produced.\n# TYPE pi_payouts_total counter\n"
        "pi_payouts_total{worker=\"%s\"} %" PRIu64 "\n"
        "# HELP pi_alerts_total Alert events produced.\n# TYPE pi_alerts_total counter\n"
        "pi_alerts_total{worker=\"%s\"} %" PRIu64 "\n"
        "# HELP pi_batches_total Batches committed (ledger + Kafka transaction).\n"
        "# TYPE pi_batches_total counter\npi_batches_total{worker=\"%s\"} %" PRIu64 "\n"
        "# HELP pi_reconciled_entries_total Outbox entries republished after a takeover.\n"
        "# TYPE pi_reconciled_entries_total counter\n"
        "pi_reconciled_entries_total{worker=\"%s\"} %" PRIu64 "\n"
        "# HELP pi_owned_partitions Input partitions this worker owns.\n"
        "# TYPE pi_owned_partitions gauge\npi_owned_partitions{worker=\"%s\"} %d\n"
        "# HELP pi_cached_partners Partners whose state is cached in memory.\n"
        "# TYPE pi_cached_partners gauge\npi_cached_partners{worker=\"%s\"} %zu\n"
        "# HELP pi_evicted_partners_total Partners dropped from the cache (cache.max_partners).\n"
        "# TYPE pi_evicted_partners_total counter\n"
        "pi_evicted_partners_total{worker=\"%s\"} %" PRIu64 "\n"
        "# HELP pi_sales_loaded_total Sale records read from Redis for a return.\n"
        "# TYPE pi_sales_loaded_total counter\n"
        "pi_sales_loaded_total{worker=\"%s\"} %" PRIu64 "\n"
        "# HELP pi_last_batch_commit_ms Ledger call plus Kafka transaction of the last batch.\n"
        "# TYPE pi_last_batch_commit_ms gauge\npi_last_batch_commit_ms{worker=\"%s\"} %.3f\n",
        worker_id, m->events, worker_id, m->dead_letters, worker_id, m->duplicates, worker_id,
        m->payouts, worker_id, m->alerts, worker_id, m->batches, worker_id,
        m->reconciled_entries, worker_id, m->owned_partitions, worker_id, m->cached_partners,
        worker_id, m->evicted_partners, worker_id, m->sales_loaded, worker_id, m->last_batch_ms);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* Writes one response to a complete request line (HTTP/1.0 semantics: then closed). The
 * socket is non-blocking and the response a few KB, which the socket buffer takes whole;
 * a client that does not read loses its response, never the worker's time. */
static void answer(int fd, const char *req, bool too_long, const cons_metrics *m,
                   const char *worker_id)
{
    char body[4096], head[256];
    const char *status = "200 OK";
    size_t len = 0;

    if (too_long) {
        status = "400 Bad Request";
        len = (size_t)snprintf(body, sizeof body, "request line too long\n");
    } else if (strncmp(req, "GET /metrics", 12) == 0) {
        len = cons_metrics_format(m, worker_id, body, sizeof body);
    } else if (strncmp(req, "GET /healthz", 12) == 0) {
        len = (size_t)snprintf(body, sizeof body, "ok\n");
    } else if (strncmp(req, "GET /readyz", 11) == 0) {
        bool ready = m->owned_partitions > 0 && !m->reconcile_pending;
        if (!ready)
            status = "503 Service Unavailable";
        len = (size_t)snprintf(body, sizeof body, ready ? "ready\n" : "not ready: %s\n",
                               m->owned_partitions ? "reconciling" : "no partitions assigned");
    } else {
        status = "404 Not Found";
        len = (size_t)snprintf(body, sizeof body, "try /metrics, /healthz or /readyz\n");
    }
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, len);
    if (send(fd, head, (size_t)hl, MSG_NOSIGNAL) == hl)
        (void)!send(fd, body, len, MSG_NOSIGNAL);
}

static void drop(conn *c)
{
    close(c->fd);
    c->fd = -1;
}

/* Reads what has arrived on c; answers and closes once the request line is complete. */
static void advance(conn *c, const cons_metrics *m, const char *worker_id, int64_t now)
{
    for (;;) {
        ssize_t r = recv(c->fd, c->req + c->len, sizeof c->req - 1 - c->len, MSG_DONTWAIT);
        if (r > 0) {
            c->len += (size_t)r;
            c->req[c->len] = '\0';
            bool line = strchr(c->req, '\n') != NULL;
            if (line || c->len == sizeof c->req - 1) {
                answer(c->fd, c->req, !line, m, worker_id);
                drop(c);
                return;
            }
            continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ||
            now - c->since_ms > CONN_DEADLINE_MS)
            drop(c);                   /* closed, failed, or idle too long */
        return;
    }
}

void cons_metrics_serve(cons_metrics_server *s, const cons_metrics *m, const char *worker_id)
{
    int64_t now = mono_ms();
    for (int i = 0; i < 16; i++) {          /* new connections, a bounded number per turn */
        int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            break;                          /* EAGAIN: nobody waiting */
        int slot = -1, oldest = -1;
        for (int j = 0; j < MAX_CONNS; j++) {
            if (s->conns[j].fd < 0 && slot < 0)
                slot = j;
            if (s->conns[j].fd >= 0 &&
                (oldest < 0 || s->conns[j].since_ms < s->conns[oldest].since_ms))
                oldest = j;
        }
        if (slot < 0) {                     /* full: the longest-waiting client goes */
            drop(&s->conns[oldest]);
            slot = oldest;
        }
        s->conns[slot] = (conn){.fd = fd, .since_ms = now, .len = 0};
    }
    for (int j = 0; j < MAX_CONNS; j++)
        if (s->conns[j].fd >= 0)
            advance(&s->conns[j], m, worker_id, now);
}
