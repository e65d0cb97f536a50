#include "th_redis.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_DEADLINE_MS 20000
#define POLL_MS 10

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

redisContext *th_redis_connect(const th_redis *r)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
    if (c == NULL)
        return NULL;
    if (c->err || redisSetTimeout(c, tv) != REDIS_OK) {
        redisFree(c);
        return NULL;
    }
    return c;
}

static bool answers_ping(const th_redis *r)
{
    redisContext *c = th_redis_connect(r);
    bool ok = false;
    if (c == NULL)
        return false;
    redisReply *rep = redisCommand(c, "PING");
    ok = rep != NULL && rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "PONG") == 0;
    if (rep != NULL)
        freeReplyObject(rep);
    redisFree(c);
    return ok;
}

static int spawn(th_redis *r, char *err, size_t errcap)
{
    char port_s[16], log_path[300];
    snprintf(port_s, sizeof port_s, "%d", r->port);
    snprintf(log_path, sizeof log_path, "%s/redis.log", r->dir);
    const char *bin = getenv("PI_REDIS_SERVER");
    if (bin == NULL || bin[0] == '\0')
        bin = "redis-server";
    const char *argv[] = {bin, "--bind", "127.0.0.1", "--port", port_s, "--dir", r->dir,
                          "--logfile", log_path, "--daemonize", "no", "--save", "",
                          "--appendonly", r->aof ? "yes" : "no", "--appendfsync", "always",
                          "--no-appendfsync-on-rewrite", "no",
                          "--maxmemory-policy", "noeviction", NULL};
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errcap, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* The server must not outlive a crashed test. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDOUT_FILENO);
            dup2(devnull, STDERR_FILENO);
        }
        execvp(bin, (char *const *)argv);
        _exit(127);
    }
    r->pid = pid;

    long long deadline = mono_ms() + READY_DEADLINE_MS;
    for (;;) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            r->pid = 0;
            snprintf(err, errcap, "%s exited during startup (status %d%s); log: %s", bin,
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                     WIFEXITED(status) && WEXITSTATUS(status) == 127 ? ", not on PATH?" : "",
                     log_path);
            return -1;
        }
        if (answers_ping(r))
            return 0;
        if (mono_ms() > deadline) {
            snprintf(err, errcap, "%s on port %d did not answer PING within %d ms; log: %s",
                     bin, r->port, READY_DEADLINE_MS, log_path);
            th_redis_kill(r, SIGKILL);
            return -1;
        }
        pause_ms(POLL_MS);
    }
}

int th_redis_start(th_redis *r, bool aof, char *err, size_t errcap)
{
    memset(r, 0, sizeof *r);
    r->aof = aof;
    const char *tmp = getenv("TMPDIR");
    snprintf(r->dir, sizeof r->dir, "%s/pi-redis-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(r->dir) == NULL) {
        snprintf(err, errcap, "mkdtemp %s: %s", r->dir, strerror(errno));
        r->dir[0] = '\0';
        return -1;
    }
    /* The port is free now; another process could take it before the server binds.
     * Retry a few times with a new port if the server dies at startup. */
    for (int attempt = 0; attempt < 3; attempt++) {
        r->port = free_port();
        if (r->port <= 0) {
            snprintf(err, errcap, "no free port: %s", strerror(errno));
            break;
        }
        if (spawn(r, err, errcap) == 0)
            return 0;
    }
    th_redis_stop(r);                    /* no directory left behind */
    return -1;
}

void th_redis_kill(th_redis *r, int sig)
{
    if (r->pid <= 0)
        return;
    kill(r->pid, sig);
    while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    r->pid = 0;
}

int th_redis_restart(th_redis *r, char *err, size_t errcap)
{
    th_redis_kill(r, SIGKILL);
    return spawn(r, err, errcap);
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d != NULL) {
            struct dirent *de;
            while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                    continue;
                char child[512];
                snprintf(child, sizeof child, "%s/%s", path, de->d_name);
                remove_tree(child);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

void th_redis_stop(th_redis *r)
{
    th_redis_kill(r, SIGKILL);
    if (r->dir[0] != '\0')
        remove_tree(r->dir);
    r->dir[0] = '\0';
}
