/*
 * th_redis.h — a private redis-server for one component test binary.
 *
 * th_redis_start() picks a free port (bind port 0, read it, close), makes a fresh
 * directory (mkdtemp under $TMPDIR or /tmp), forks and execs `redis-server` (from PATH,
 * or $PI_REDIS_SERVER) on 127.0.0.1 with its data and log in that directory, and waits
 * until PING answers (polling with a deadline, no fixed sleep). The server dies with the
 * test process (PR_SET_PDEATHSIG) if the test crashes.
 *
 * Call th_redis_start/_restart/_kill/_stop from one thread: the one that started it.
 */
#ifndef TH_REDIS_H
#define TH_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

typedef struct {
    pid_t pid;                       /* 0 when not running */
    int port;
    bool aof;                        /* appendonly yes + appendfsync always */
    char dir[256];
} th_redis;

/* Starts a new server. aof: appendonly yes with appendfsync always (a restart keeps
 * every acknowledged write), else no persistence at all. @returns 0, or -1 with err. */
int th_redis_start(th_redis *r, bool aof, char *err, size_t errcap);

/* Kills the server with sig (SIGKILL: a crash) and reaps it. The directory stays. */
void th_redis_kill(th_redis *r, int sig);

/* Starts the server again on the same port and directory. @returns 0 or -1 (err). */
int th_redis_restart(th_redis *r, char *err, size_t errcap);

/* Kills the server and removes its directory. Safe on a stopped or zeroed th_redis. */
void th_redis_stop(th_redis *r);

/* A plain hiredis connection for checks (1 s timeouts), or NULL. Caller redisFree()s. */
redisContext *th_redis_connect(const th_redis *r);

#endif
