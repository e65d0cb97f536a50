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
#include <unistd.h>

struct cons_metrics_server {
    int fd;
};

cons_metrics_server *cons_metrics_server_new(int port, char *err, size_t errcap)
{
    cons_metrics_server *s = calloc(1, sizeof *s);
    struct sockaddr_in addr = {0};
    int one = 1;

    if (s == NULL) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
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
        "# HELP pi_last_batch_commit_ms Ledger call plus Kafka transaction of the last batch.\n"
        "# TYPE pi_last_batch_commit_ms gauge\npi_last_batch_commit_ms{worker=\"%s\"} %.3f\n",
        worker_id, m->events, worker_id, m->dead_letters, worker_id, m->duplicates, worker_id,
        m->payouts, worker_id, m->alerts, worker_id, m->batches, worker_id,
        m->reconciled_entries, worker_id, m->owned_partitions, worker_id, m->cached_partners,
        worker_id, m->last_batch_ms);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* Reads the request line, writes one response and closes: HTTP/1.0 semantics. */
static void answer(int fd, const cons_metrics *m, const char *worker_id)
{
    char req[1024], body[4096], head[256];
    const char *status = "200 OK";
    size_t len = 0;
    struct pollfd pfd = {fd, POLLIN, 0};

    /* The client sent its request already in practice; wait a moment at most. */
    if (poll(&pfd, 1, 1000) <= 0)
        return;
    ssize_t r = read(fd, req, sizeof req - 1);
    if (r <= 0)
        return;
    req[r] = '\0';
    if (strncmp(req, "GET /metrics", 12) == 0) {
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
    if (write(fd, head, (size_t)hl) == hl)
        (void)!write(fd, body, len);
}

void cons_metrics_serve(cons_metrics_server *s, const cons_metrics *m, const char *worker_id)
{
    for (int i = 0; i < 8; i++) {           /* a few per turn: scrapes are rare */
        int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            return;                         /* EAGAIN: nobody waiting */
        answer(fd, m, worker_id);
        close(fd);
    }
}
