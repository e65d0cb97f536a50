/*
 * cons_notify.h — the service manager protocol (systemd's sd_notify): readiness,
 * stopping, status lines and the watchdog, for a worker run as a Type=notify unit
 * (deploy/systemd/incentive-worker.service).
 *
 * Without $NOTIFY_SOCKET (not started by systemd, or by a supervisor that does not speak
 * the protocol) every call is a no-op costing one getenv, so the worker needs no setting.
 * The watchdog: when the unit sets WatchdogSec=, cons_notify_watchdog, called every turn
 * of the worker's loop, pings at half that interval, so a loop that hangs (a stuck call
 * past every timeout) gets the worker restarted.
 */
#ifndef CONS_NOTIFY_H
#define CONS_NOTIFY_H

/* READY=1 with a status line: the worker is connected and subscribed. */
void cons_notify_ready(const char *status);

/* STATUS=<status>: shown by `systemctl status`. */
void cons_notify_status(const char *status);

/* STOPPING=1: a clean stop has begun (the batch in progress is finished first). */
void cons_notify_stopping(void);

/* WATCHDOG=1 when the watchdog is on and half its interval has passed since the last
 * ping. Cheap enough for every loop turn. */
void cons_notify_watchdog(void);

#endif
