/*
 * cons_metrics_http.c — the worker's tiny HTTP server for /metrics, /healthz, /readyz
 * (see cons_metrics.h): non-blocking, served from the worker's loop.
 */
#define _GNU_SOURCE   /* accept4, open_memstream */
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
    char *out;                         /* the answer being sent (owned), or NULL */
    size_t out_len, out_off;
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
        if (s->conns[i].fd >= 0) {
            close(s->conns[i].fd);
            free(s->conns[i].out);
        }
    free(s);
}

/* Builds the answer to a complete request line (HTTP/1.0 semantics: then closed) into
 * c->out. @returns 0, or -1 when out of memory (the connection is dropped). */
static int answer(conn *c, bool too_long, const cons_metrics *m, const char *worker_id,
                  const char *version)
{
    char *body = NULL;
    size_t len = 0;
    const char *status = "200 OK", *why;
    FILE *f = open_memstream(&body, &len);

    if (f == NULL)
        return -1;
    if (too_long) {
        status = "400 Bad Request";
        fputs("request line too long\n", f);
    } else if (strncmp(c->req, "GET /metrics", 12) == 0) {
        cons_metrics_write(f, m, worker_id, version);
    } else if (strncmp(c->req, "GET /healthz", 12) == 0) {
        fputs("ok\n", f);
    } else if (strncmp(c->req, "GET /readyz", 11) == 0) {
        if (!cons_metrics_ready(m, &why))
            status = "503 Service Unavailable";
        fprintf(f, "%s\n", why);
    } else {
        status = "404 Not Found";
        fputs("try /metrics, /healthz or /readyz\n", f);
    }
    if (fclose(f) != 0) {
        free(body);
        return -1;
    }
    char *msg = NULL;
    size_t msg_len = 0;
    FILE *g = open_memstream(&msg, &msg_len);
    if (g == NULL) {
        free(body);
        return -1;
    }
    fprintf(g, "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
               "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, len);
    fwrite(body, 1, len, g);
    free(body);
    if (fclose(g) != 0) {
        free(msg);
        return -1;
    }
    c->out = msg;
    c->out_len = msg_len;
    c->out_off = 0;
    return 0;
}

static void drop(conn *c)
{
    close(c->fd);
    c->fd = -1;
    free(c->out);
    c->out = NULL;
}

/* Sends what the socket takes of c's answer; closes c once it is all sent. A client that
 * does not read is dropped by the deadline, never waited on. */
static void flush_out(conn *c, int64_t now)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            c->out_off += (size_t)w;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) &&
            now - c->since_ms <= CONN_DEADLINE_MS)
            return;                    /* the rest next turn */
        break;
    }
    drop(c);
}

/* Reads what has arrived on c; builds the answer once the request line is complete. */
static void advance(conn *c, const cons_metrics *m, const char *worker_id, const char *version,
                    int64_t now)
{
    if (c->out != NULL) {
        flush_out(c, now);
        return;
    }
    for (;;) {
        ssize_t r = recv(c->fd, c->req + c->len, sizeof c->req - 1 - c->len, MSG_DONTWAIT);
        if (r > 0) {
            c->len += (size_t)r;
            c->req[c->len] = '\0';
            bool line = strchr(c->req, '\n') != NULL;
            if (line || c->len == sizeof c->req - 1) {
                if (answer(c, !line, m, worker_id, version) != 0)
                    drop(c);
                else
                    flush_out(c, now);
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

void cons_metrics_serve(cons_metrics_server *s, const cons_metrics *m, const char *worker_id,
                        const char *version)
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
            advance(&s->conns[j], m, worker_id, version, now);
}
