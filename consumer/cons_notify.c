/*
 * cons_notify.c — the sd_notify protocol, spoken directly (see cons_notify.h).
 *
 * Why not libsystemd: linking it loads five more shared objects (gcrypt, lz4, zstd, ...)
 * into every worker, systemd or not, for a datagram of a few bytes. The protocol is
 * stable and documented in sd_notify(3): newline-separated assignments sent to the
 * AF_UNIX datagram socket named by $NOTIFY_SOCKET (a path, or '@' for the abstract
 * namespace); the kernel attaches our credentials, which NotifyAccess= checks.
 */
#include "cons_notify.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MSG_CAP 512

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Sends msg to $NOTIFY_SOCKET; nothing when it is unset or not a socket we can name.
 * Best effort, as sd_notify: the service manager's absence is not the worker's error. */
static void notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (path == NULL || (path[0] != '/' && path[0] != '@'))
        return;
    size_t len = strlen(path);
    if (len < 2 || len > sizeof addr.sun_path)
        return;
    memcpy(addr.sun_path, path, len);
    if (addr.sun_path[0] == '@')
        addr.sun_path[0] = '\0';                       /* the abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    (void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (const struct sockaddr *)&addr,
                 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    close(fd);
}

/* "<head><status>" into a message, the status cut to fit. */
static void notify_with_status(const char *head, const char *status)
{
    char msg[MSG_CAP];
    size_t h = strlen(head), n = strlen(status);
    if (h + n >= sizeof msg)
        n = sizeof msg - 1 - h;
    memcpy(msg, head, h);
    memcpy(msg + h, status, n);
    msg[h + n] = '\0';
    notify(msg);
}

void cons_notify_ready(const char *status)
{
    notify_with_status("READY=1\nSTATUS=", status);
}

void cons_notify_status(const char *status)
{
    notify_with_status("STATUS=", status);
}

void cons_notify_stopping(void)
{
    notify("STOPPING=1\nSTATUS=stopping: finishing the batch, leaving the group");
}

/* The watchdog interval in microseconds, as sd_watchdog_enabled reads it: WATCHDOG_USEC,
 * for this process only when WATCHDOG_PID names another one. 0: off. */
static uint64_t watchdog_usec(void)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    char *end;
    if (usec == NULL || usec[0] < '1' || usec[0] > '9')
        return 0;
    unsigned long long v = strtoull(usec, &end, 10);
    if (*end != '\0')
        return 0;
    if (pid != NULL) {
        long long p = strtoll(pid, &end, 10);
        if (*end != '\0' || p != (long long)getpid())
            return 0;
    }
    return (uint64_t)v;
}

void cons_notify_watchdog(void)
{
    /* -1: not asked yet; 0: off; else the interval in microseconds. */
    static int64_t interval = -1;
    static uint64_t last;
    if (interval < 0)
        interval = (int64_t)watchdog_usec();
    if (interval == 0)
        return;
    uint64_t now = mono_us();
    if (now - last >= (uint64_t)interval / 2) {
        notify("WATCHDOG=1");
        last = now;
    }
}
