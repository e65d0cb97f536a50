#define _POSIX_C_SOURCE 200809L
#include "cons_leave.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cons_kwire.h"

#define RESPONSE_CAP 65536                  /* both responses are a few dozen bytes */
#define ERR_COORDINATOR_NOT_AVAILABLE 15
#define ERR_NOT_COORDINATOR 16
#define ERR_COORDINATOR_LOADING 14
#define ERR_UNKNOWN_MEMBER_ID 25
#define RETRY_MS 100

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `events` on fd until the deadline. @returns 0, or -1 (timed out / error). */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, (int)left);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

/* A non-blocking TCP connection to host:port, made before the deadline. @returns the fd
 * or -1 with err filled. (The name lookup itself is blocking; bootstrap names are local
 * or resolved moments ago by librdkafka, so it is not worth a resolver thread.) */
static int dial(const char *host, const char *port, int64_t deadline, char *err, size_t errcap)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int fd = -1;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errcap, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if ((connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) ||
            wait_fd(fd, POLLOUT, deadline) != 0 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
            snprintf(err, errcap, "cannot connect to %s:%s: %s", host, port,
                     soerr ? strerror(soerr) : "timed out");
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

static int send_all(int fd, const uint8_t *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
        } else if ((k < 0 && errno != EAGAIN && errno != EINTR) || wait_fd(fd, POLLOUT, deadline))
            return -1;
    }
    return 0;
}

static int recv_all(int fd, uint8_t *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        ssize_t k = recv(fd, p, n, 0);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
        } else if (k == 0 || (errno != EAGAIN && errno != EINTR) || wait_fd(fd, POLLIN, deadline))
            return -1;
    }
    return 0;
}

/* Sends one request frame and reads the response into body (cap RESPONSE_CAP).
 * @returns the body's length, or -1. */
static long exchange(int fd, const uint8_t *req, size_t req_len, uint8_t *body, int64_t deadline)
{
    uint8_t size_be[4];
    if (send_all(fd, req, req_len, deadline) || recv_all(fd, size_be, 4, deadline))
        return -1;
    uint32_t size = (uint32_t)size_be[0] << 24 | (uint32_t)size_be[1] << 16 |
                    (uint32_t)size_be[2] << 8 | size_be[3];
    if (size > RESPONSE_CAP || recv_all(fd, body, size, deadline))
        return -1;
    return (long)size;
}

/* Splits one bootstrap entry ("host:port", "[v6]:port", "PLAINTEXT://host:port") into
 * host and port. @returns 0 or -1. */
static int split_hostport(const char *entry, size_t len, char *host, size_t hcap, char *port,
                          size_t pcap)
{
    const char *end = entry + len;
    const char *scheme = strstr(entry, "://");
    if (scheme != NULL && scheme < end)
        entry = scheme + 3;
    const char *colon = NULL;
    for (const char *c = entry; c < end; c++)
        if (*c == ':')
            colon = c;
    if (colon == NULL || colon == entry || end - colon - 1 <= 0)
        return -1;
    const char *h = entry, *he = colon;
    if (*h == '[' && he[-1] == ']') {
        h++;
        he--;
    }
    if ((size_t)(he - h) >= hcap || (size_t)(end - colon - 1) >= pcap)
        return -1;
    memcpy(host, h, (size_t)(he - h));
    host[he - h] = '\0';
    memcpy(port, colon + 1, (size_t)(end - colon - 1));
    port[end - colon - 1] = '\0';
    return 0;
}

/* FindCoordinator through one bootstrap broker. @returns 0 with *co filled, -1 with err. */
static int find_coordinator(const char *host, const char *port, const char *client_id,
                            const char *group_id, int64_t deadline, cons_kwire_coordinator *co,
                            uint8_t *body, char *err, size_t errcap)
{
    uint8_t req[CONS_KWIRE_REQ_CAP];
    size_t n = cons_kwire_find_coordinator(req, sizeof req, 1, client_id, group_id);
    int fd = dial(host, port, deadline, err, errcap);
    int rc = -1;
    if (fd < 0)
        return -1;
    long got = exchange(fd, req, n, body, deadline);
    if (got < 0)
        snprintf(err, errcap, "no FindCoordinator answer from %s:%s", host, port);
    else if (cons_kwire_parse_coordinator(body, (size_t)got, 1, co) != 0)
        snprintf(err, errcap, "malformed FindCoordinator answer from %s:%s", host, port);
    else if (co->error_code != 0)
        snprintf(err, errcap, "FindCoordinator via %s:%s: Kafka error %d", host, port,
                 (int)co->error_code);
    else
        rc = 0;
    close(fd);
    return rc;
}

/* LeaveGroup at the coordinator. @returns the Kafka error code (0 = removed), or -1 with
 * err filled when no answer came. */
static int leave_at(const cons_kwire_coordinator *co, const char *client_id,
                    const char *group_id, const char *instance_id, int64_t deadline,
                    uint8_t *body, char *err, size_t errcap)
{
    uint8_t req[CONS_KWIRE_REQ_CAP];
    char port[16];
    snprintf(port, sizeof port, "%d", (int)co->port);
    size_t n = cons_kwire_leave_group(req, sizeof req, 2, client_id, group_id, instance_id);
    int fd = dial(co->host, port, deadline, err, errcap);
    int rc = -1;
    int16_t code = 0;
    if (fd < 0)
        return -1;
    long got = exchange(fd, req, n, body, deadline);
    if (got < 0 || cons_kwire_parse_leave(body, (size_t)got, 2, &code) != 0)
        snprintf(err, errcap, "no valid LeaveGroup answer from %s:%s", co->host, port);
    else
        rc = code;
    close(fd);
    return rc;
}

int cons_leave_group(const char *bootstrap, const char *client_id, const char *group_id,
                     const char *instance_id, int timeout_ms, char *err, size_t errcap)
{
    int64_t deadline = now_ms() + timeout_ms;
    uint8_t *body = malloc(RESPONSE_CAP);
    int rc = -1;
    if (body == NULL) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    if (cons_kwire_leave_group(body, CONS_KWIRE_REQ_CAP, 0, client_id, group_id, instance_id) ==
        0) {
        snprintf(err, errcap, "client, group or instance id longer than 255 bytes");
        goto out;
    }
    snprintf(err, errcap, "kafka.bootstrap.servers is empty");
    /* Retried until the deadline: the coordinator may be moving (NOT_COORDINATOR) or
     * loading its state, as after a broker restart. */
    while (rc != 0 && now_ms() < deadline) {
        const char *s = bootstrap;
        bool answered = false;
        while (*s != '\0' && !answered) {
            size_t len = strcspn(s, ",");
            char host[CONS_KWIRE_HOST_CAP], port[16];
            cons_kwire_coordinator co;
            while (len > 0 && *s == ' ') {
                s++;
                len--;
            }
            if (split_hostport(s, len, host, sizeof host, port, sizeof port) != 0)
                snprintf(err, errcap, "bad kafka.bootstrap.servers entry '%.*s'", (int)len, s);
            else if (find_coordinator(host, port, client_id, group_id, deadline, &co, body, err,
                                      errcap) == 0) {
                answered = true;
                int code = leave_at(&co, client_id, group_id, instance_id, deadline, body, err,
                                    errcap);
                if (code == 0 || code == ERR_UNKNOWN_MEMBER_ID)
                    rc = 0;
                else if (code > 0)
                    snprintf(err, errcap, "LeaveGroup at %s:%d: Kafka error %d", co.host,
                             (int)co.port, code);
                if (code > 0 && code != ERR_NOT_COORDINATOR && code != ERR_COORDINATOR_LOADING &&
                    code != ERR_COORDINATOR_NOT_AVAILABLE && code != ERR_UNKNOWN_MEMBER_ID)
                    goto out;                       /* an answer that will not change */
            }
            s += len;
            if (*s == ',')
                s++;
        }
        if (rc != 0) {
            struct timespec pause = {0, RETRY_MS * 1000000L};
            nanosleep(&pause, NULL);                /* retry back-off, not synchronisation */
        }
    }
out:
    free(body);
    return rc;
}
