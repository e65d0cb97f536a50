/*
 * cons_notify.c — sd_notify from libsystemd (see cons_notify.h).
 */
#include "cons_notify.h"

#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <time.h>

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void cons_notify_ready(const char *status)
{
    sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void cons_notify_status(const char *status)
{
    sd_notifyf(0, "STATUS=%s", status);
}

void cons_notify_stopping(void)
{
    sd_notify(0, "STOPPING=1\nSTATUS=stopping: finishing the batch, leaving the group");
}

void cons_notify_watchdog(void)
{
    /* -1: not asked yet; 0: off; else the interval in microseconds. */
    static int64_t interval = -1;
    static uint64_t last;
    if (interval < 0) {
        uint64_t usec = 0;
        interval = sd_watchdog_enabled(0, &usec) > 0 ? (int64_t)usec : 0;
    }
    if (interval == 0)
        return;
    uint64_t now = mono_us();
    if (now - last >= (uint64_t)interval / 2) {
        sd_notify(0, "WATCHDOG=1");
        last = now;
    }
}
