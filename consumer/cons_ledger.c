#include "cons_ledger.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "cons_outbox.h"
#include "proc_text.h"

/* cons_ledger.lua as bytes, generated at build time (see consumer/CMakeLists.txt). */
extern const unsigned char cons_ledger_lua[];
extern const size_t cons_ledger_lua_len;

#define KEY_CAP (CONS_LEDGER_NS_MAX + 32)
#define NUM_CAP 24                       /* an int64 in decimal, sign and NUL included */
#define MGET_CHUNK 512                   /* keys per MGET in cons_ledger_get_blobs */
#define BACKOFF_FIRST_MS 10
#define BACKOFF_MAX_MS 500

struct cons_ledger {
    redisContext *c;                     /* NULL while disconnected */
    char *host;
    int port;
    char *user;                          /* NULL: AUTH password (the default user) */
    char *password;                      /* NULL: no AUTH */
    char ns[CONS_LEDGER_NS_MAX + 1];
    int n_topics;
    char *topics[CONS_LEDGER_MAX_TOPICS];
    int connect_ms, command_ms, deadline_ms;
    cons_ledger_fault fault;             /* one-shot, tests only */
    cons_ledger_stats stats;
    char io_err[128];                    /* why the last connection attempt or send failed */
    char last_err[512];                  /* cons_ledger_last_error() */
    char *resp;                          /* append_argv's buffer, kept: a batch's command is */
    size_t resp_cap;                     /* 100 KB and more, built once per batch */
};

/* A byte range in a batch's arena: offsets, because the arena moves when it grows. */
typedef struct {
    size_t off, len;
} span;

struct cons_ledger_batch {
    const cons_ledger *l;
    bool ready;                          /* reset() succeeded */
    bool poisoned;                       /* an op failed: refuse to commit */
    int32_t p;
    int64_t token;
    int64_t expected[CONS_LEDGER_MAX_TOPICS];
    int64_t next[CONS_LEDGER_MAX_TOPICS];
    int64_t published[CONS_LEDGER_MAX_TOPICS];
    char ledger_key[KEY_CAP];
    char outbox_key[KEY_CAP];

    char *arena;                         /* copies of every key and argument */
    size_t arena_len, arena_cap;
    span *keys;                          /* one per keyed op → FCALL KEYS[3..] */
    int n_keys, cap_keys;
    span *args;                          /* op names and arguments → the ARGV tail */
    int n_args, cap_args;
    int n_ops;
    bool has_entry;
    span entry;

    const char **argv;                   /* the FCALL command, rebuilt by each commit */
    size_t *argvlen;
    int cap_argv;
    int argc;
    char nums[3 * CONS_LEDGER_MAX_TOPICS + 4][NUM_CAP];   /* argv's numbers */
    int fate;                            /* cons_ledger_commit_many's scratch */
};

/* ---- small helpers ---------------------------------------------------------------- */

const char *cons_ledger_status_str(cons_ledger_status s)
{
    switch (s) {
#define CONS_LEDGER_CASE(name, text) \
    case CONS_LEDGER_##name:         \
        return text;
        CONS_LEDGER_STATUSES(CONS_LEDGER_CASE)
#undef CONS_LEDGER_CASE
    }
    return "unknown status";
}

__attribute__((format(printf, 3, 4)))
static void seterr(char *err, size_t cap, const char *fmt, ...)
{
    if (err == NULL || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static struct timeval tv_ms(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

/* Strict decimal int64 of exactly len bytes. */
static bool parse_i64(const char *s, size_t len, int64_t *out)
{
    char buf[NUM_CAP];
    if (s == NULL || len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno != 0 || end != buf + len)
        return false;
    *out = (int64_t)v;
    return true;
}

static bool reply_is_error(const redisReply *r, const char *prefix)
{
    size_t n = strlen(prefix);
    return r->type == REDIS_REPLY_ERROR && r->len >= n && memcmp(r->str, prefix, n) == 0 &&
           (r->len == n || r->str[n] == ' ');
}

/* Errors for commands Redis refused without executing them: worth a retry. */
static bool reply_is_transient(const redisReply *r)
{
    return reply_is_error(r, "LOADING") || reply_is_error(r, "BUSY") ||
           reply_is_error(r, "TRYAGAIN") || reply_is_error(r, "MASTERDOWN");
}

static bool reply_is_function_missing(const redisReply *r)
{
    static const char msg[] = "ERR Function not found";
    return r->type == REDIS_REPLY_ERROR && r->len >= sizeof msg - 1 &&
           memcmp(r->str, msg, sizeof msg - 1) == 0;
}

static void format_key(char out[KEY_CAP], const char *ns, const char *what, int32_t p)
{
    snprintf(out, KEY_CAP, "%s:%s:%" PRId32, ns, what, p);
}

/* ---- connection ------------------------------------------------------------------- */

static void ledger_disconnect(cons_ledger *l)
{
    if (l->c != NULL)
        redisFree(l->c);
    l->c = NULL;
}

/* One connection attempt. @returns 0; -1 on a network error (retry later, reason in
 * l->io_err); -2 when Redis refused the password (do not retry; reason in err). */
static int ledger_connect(cons_ledger *l, char *err, size_t cap)
{
    redisReply *r = NULL;
    int rc = -1;
    ledger_disconnect(l);
    l->c = redisConnectWithTimeout(l->host, l->port, tv_ms(l->connect_ms));
    if (l->c == NULL) {
        snprintf(l->io_err, sizeof l->io_err, "out of memory");
        goto done;
    }
    if (l->c->err) {
        snprintf(l->io_err, sizeof l->io_err, "connect: %s", l->c->errstr);
        goto done;
    }
    if (redisSetTimeout(l->c, tv_ms(l->command_ms)) != REDIS_OK ||
        redisEnableKeepAlive(l->c) != REDIS_OK) {
        snprintf(l->io_err, sizeof l->io_err, "socket options: %s", l->c->errstr);
        goto done;
    }
    if (l->password != NULL) {
        /* Redis 6 ACL: AUTH user password; without a user, the default user. */
        const char *argv[3] = {"AUTH", l->user ? l->user : l->password, l->password};
        r = redisCommandArgv(l->c, l->user ? 3 : 2, argv, NULL);
        if (r == NULL) {
            snprintf(l->io_err, sizeof l->io_err, "AUTH: %s", l->c->errstr);
            goto done;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            seterr(err, cap, "redis %s:%d refused AUTH: %s", l->host, l->port, r->str);
            rc = -2;
            goto done;
        }
    }
    rc = 0;
    l->stats.connects++;
done:
    if (r != NULL)
        freeReplyObject(r);
    if (rc != 0)
        ledger_disconnect(l);
    return rc;
}

/* Writes "<type><n>\r\n" at p. @returns the end. */
static char *resp_header(char *p, char type, size_t n)
{
    char digits[20];
    int k = 0;
    *p++ = type;
    do
        digits[k++] = (char)('0' + n % 10);
    while ((n /= 10) > 0);
    while (k > 0)
        *p++ = digits[--k];
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

/* Queues one command in hiredis's output buffer, as redisAppendCommandArgv does, but
 * formatted in one pass into a buffer kept between calls: hiredis grows an sds per
 * argument with sdscatfmt, 5 % of the worker's CPU for a pi_commit of 20,000 arguments.
 * lens may be NULL (strlen). @returns 0, or -1 out of memory. */
static int append_argv(cons_ledger *l, int argc, const char **argv, const size_t *lens)
{
    size_t need = 3 + 20;
    for (int i = 0; i < argc; i++)
        need += 5 + 20 + (lens ? lens[i] : strlen(argv[i]));
    if (need > l->resp_cap) {
        size_t cap = l->resp_cap ? l->resp_cap : 65536;
        while (cap < need)
            cap *= 2;
        char *buf = realloc(l->resp, cap);
        if (buf == NULL)
            return -1;
        l->resp = buf;
        l->resp_cap = cap;
    }
    char *p = resp_header(l->resp, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        size_t len = lens ? lens[i] : strlen(argv[i]);
        p = resp_header(p, '$', len);
        memcpy(p, argv[i], len);
        p += len;
        *p++ = '\r';
        *p++ = '\n';
    }
    return redisAppendFormattedCommand(l->c, l->resp, (size_t)(p - l->resp)) == REDIS_OK ? 0 : -1;
}

/* Sends one command on the live connection and waits for its reply. @returns the
 * reply (caller frees), or NULL after a connection error (the connection is then
 * dropped; reason in l->io_err). Applies the one-shot test fault. */
static redisReply *ledger_send(cons_ledger *l, int argc, const char **argv,
                               const size_t *lens)
{
    cons_ledger_fault f = l->fault;
    l->fault = CONS_LEDGER_FAULT_NONE;
    if (f == CONS_LEDGER_FAULT_LOSE_REQUEST) {
        snprintf(l->io_err, sizeof l->io_err, "injected fault: request lost");
        ledger_disconnect(l);
        return NULL;
    }
    redisReply *r = NULL;
    if (append_argv(l, argc, argv, lens) != 0) {
        snprintf(l->io_err, sizeof l->io_err, "out of memory");
        ledger_disconnect(l);
        return NULL;
    }
    if (redisGetReply(l->c, (void **)&r) != REDIS_OK)
        r = NULL;
    if (r == NULL) {
        snprintf(l->io_err, sizeof l->io_err, "%s", l->c->err ? l->c->errstr : "no reply");
        ledger_disconnect(l);
        l->stats.lost_replies++;
        return NULL;
    }
    if (f == CONS_LEDGER_FAULT_LOSE_REPLY) {
        l->stats.lost_replies++;
        freeReplyObject(r);
        snprintf(l->io_err, sizeof l->io_err, "injected fault: reply lost");
        ledger_disconnect(l);
        return NULL;
    }
    return r;
}

/* FUNCTION LOAD REPLACE on the live connection. @returns 1 loaded, 0 retry later
 * (connection lost or Redis LOADING/BUSY; reason in l->io_err), -1 refused (err). */
static int ledger_load(cons_ledger *l, char *err, size_t cap)
{
    const char *argv[4] = {"FUNCTION", "LOAD", "REPLACE", (const char *)cons_ledger_lua};
    size_t lens[4] = {8, 4, 7, cons_ledger_lua_len};
    redisReply *r = ledger_send(l, 4, argv, lens);
    int rc;
    if (r == NULL) {
        rc = 0;
    } else if (reply_is_transient(r)) {
        snprintf(l->io_err, sizeof l->io_err, "%s", r->str);
        rc = 0;
    } else if (r->type == REDIS_REPLY_ERROR) {
        seterr(err, cap, "FUNCTION LOAD of %s refused: %s", CONS_LEDGER_LIBRARY, r->str);
        rc = -1;
    } else {
        rc = 1;
        l->stats.reloads++;
    }
    if (r != NULL)
        freeReplyObject(r);
    return rc;
}

/* Retry pacing for one call: backoff until the deadline. */
typedef struct {
    int64_t deadline;
    int backoff;
} pacing;

static pacing pacing_start(const cons_ledger *l)
{
    pacing pc = {now_ms() + l->deadline_ms, BACKOFF_FIRST_MS};
    return pc;
}

/* Waits before the next attempt. @returns false when the deadline has passed. */
static bool pacing_wait(pacing *pc)
{
    int64_t left = pc->deadline - now_ms();
    if (left <= 0)
        return false;
    sleep_ms(pc->backoff < left ? pc->backoff : (int)left);
    pc->backoff = pc->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : pc->backoff * 2;
    return true;
}

/* Makes sure a connection is up (one attempt). @returns 0, -1 retry, -2 give up. */
static int ledger_ensure(cons_ledger *l, char *err, size_t cap)
{
    return l->c != NULL ? 0 : ledger_connect(l, err, cap);
}

/* Runs one command that is safe to repeat (reads, acquire, trim) with reconnects,
 * retries of refused commands and one library reload on "Function not found".
 * @returns the reply, possibly an error reply for the caller to judge (caller frees),
 * or NULL with err set when Redis stayed unreachable until the deadline. */
static redisReply *ledger_call(cons_ledger *l, int argc, const char **argv,
                               const size_t *lens, char *err, size_t cap)
{
    pacing pc = pacing_start(l);
    bool reloaded = false;
    for (;;) {
        int rc = ledger_ensure(l, err, cap);
        if (rc == -2)
            return NULL;
        if (rc == 0) {
            redisReply *r = ledger_send(l, argc, argv, lens);
            if (r != NULL && reply_is_function_missing(r) && !reloaded) {
                freeReplyObject(r);
                reloaded = true;
                int lr = ledger_load(l, err, cap);
                if (lr < 0)
                    return NULL;
                if (lr > 0)
                    continue;            /* loaded: resend at once */
                r = NULL;
            } else if (r != NULL && reply_is_transient(r)) {
                snprintf(l->io_err, sizeof l->io_err, "%s", r->str);
                freeReplyObject(r);
                r = NULL;
            }
            if (r != NULL)
                return r;
        }
        if (!pacing_wait(&pc)) {
            seterr(err, cap, "redis %s:%d unavailable for %d ms: %s", l->host, l->port,
                   l->deadline_ms, l->io_err);
            return NULL;
        }
    }
}

/* ---- lifecycle -------------------------------------------------------------------- */

cons_ledger *cons_ledger_new(const char *host, int port, const char *user_or_NULL,
                             const char *password_or_NULL, const char *ns, int n_topics,
                             const char *const *topic_names, char *err, size_t errcap)
{
    cons_ledger *l = NULL;
    redisReply *r = NULL;
    bool ok = false;

    if (ns == NULL)
        ns = "inc";
    if (host == NULL || port <= 0 || port > 65535 || ns[0] == '\0' ||
        strlen(ns) > CONS_LEDGER_NS_MAX || n_topics < 1 ||
        n_topics > CONS_LEDGER_MAX_TOPICS || topic_names == NULL) {
        seterr(err, errcap, "cons_ledger_new: bad host, port, namespace or topic count");
        goto done;
    }
    for (int i = 0; i < n_topics; i++) {
        if (topic_names[i] == NULL || topic_names[i][0] == '\0' ||
            strlen(topic_names[i]) > CONS_LEDGER_TOPIC_MAX) {
            seterr(err, errcap, "cons_ledger_new: topic %d has no name or a name over %d bytes",
                   i, CONS_LEDGER_TOPIC_MAX);
            goto done;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(topic_names[i], topic_names[j]) == 0) {
                seterr(err, errcap, "cons_ledger_new: topic %s given twice", topic_names[i]);
                goto done;
            }
    }

    l = calloc(1, sizeof *l);
    if (l == NULL || (l->host = strdup(host)) == NULL ||
        (user_or_NULL != NULL && (l->user = strdup(user_or_NULL)) == NULL) ||
        (password_or_NULL != NULL && (l->password = strdup(password_or_NULL)) == NULL)) {
        seterr(err, errcap, "cons_ledger_new: out of memory");
        goto done;
    }
    l->port = port;
    snprintf(l->ns, sizeof l->ns, "%s", ns);
    l->n_topics = n_topics;
    for (int i = 0; i < n_topics; i++)
        if ((l->topics[i] = strdup(topic_names[i])) == NULL) {
            seterr(err, errcap, "cons_ledger_new: out of memory");
            goto done;
        }
    l->connect_ms = 2000;
    l->command_ms = 5000;
    l->deadline_ms = 15000;

    int rc = ledger_connect(l, err, errcap);
    if (rc == -1)
        seterr(err, errcap, "redis %s:%d: %s", host, port, l->io_err);
    if (rc != 0)
        goto done;

    const char *argv[4] = {"FUNCTION", "LOAD", "REPLACE", (const char *)cons_ledger_lua};
    size_t lens[4] = {8, 4, 7, cons_ledger_lua_len};
    r = ledger_call(l, 4, argv, lens, err, errcap);
    if (r == NULL)
        goto done;
    if (r->type == REDIS_REPLY_ERROR) {
        seterr(err, errcap, "FUNCTION LOAD of %s refused: %s", CONS_LEDGER_LIBRARY, r->str);
        goto done;
    }
    ok = true;
done:
    if (r != NULL)
        freeReplyObject(r);
    if (!ok) {
        cons_ledger_destroy(l);
        l = NULL;
    }
    return l;
}

void cons_ledger_destroy(cons_ledger *l)
{
    if (l == NULL)
        return;
    ledger_disconnect(l);
    free(l->host);
    free(l->user);
    free(l->password);
    for (int i = 0; i < l->n_topics; i++)
        free(l->topics[i]);
    free(l->resp);
    free(l);
}

void cons_ledger_set_timeouts(cons_ledger *l, int connect_ms, int command_ms,
                              int retry_deadline_ms)
{
    if (connect_ms > 0)
        l->connect_ms = connect_ms;
    if (command_ms > 0) {
        l->command_ms = command_ms;
        if (l->c != NULL)
            redisSetTimeout(l->c, tv_ms(command_ms));
    }
    if (retry_deadline_ms > 0)
        l->deadline_ms = retry_deadline_ms;
}

int cons_ledger_n_topics(const cons_ledger *l)
{
    return l->n_topics;
}

const char *cons_ledger_last_error(const cons_ledger *l)
{
    return l->last_err;
}

void cons_ledger_get_stats(const cons_ledger *l, cons_ledger_stats *out)
{
    *out = l->stats;
}

void cons_ledger_inject_fault(cons_ledger *l, cons_ledger_fault f)
{
    l->fault = f;
}

/* ---- reads ------------------------------------------------------------------------ */

void cons_ledger_outbox_free(cons_ledger_outbox *ob)
{
    free(ob);
}

/* Copies LRANGE's entries into one allocation (header, entries, bytes) and validates each
 * one. @returns NULL with l->last_err set on ENOMEM or a bad entry. */
static cons_ledger_outbox *outbox_copy(cons_ledger *l, int32_t p, const redisReply *r)
{
    size_t bytes = 0;
    for (size_t i = 0; i < r->elements; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING) {
            seterr(l->last_err, sizeof l->last_err, "outbox of partition %" PRId32
                   ": element %zu is not a string", p, i);
            return NULL;
        }
        bytes += r->element[i]->len;
    }
    if (r->elements > INT32_MAX) {
        seterr(l->last_err, sizeof l->last_err, "outbox of partition %" PRId32 " too long", p);
        return NULL;
    }
    cons_ledger_outbox *ob =
        malloc(sizeof *ob + r->elements * sizeof(cons_ledger_outbox_entry) + bytes);
    if (ob == NULL) {
        seterr(l->last_err, sizeof l->last_err, "outbox of partition %" PRId32
               ": out of memory", p);
        return NULL;
    }
    ob->n = (int)r->elements;
    ob->entries = (cons_ledger_outbox_entry *)(ob + 1);
    uint8_t *data = (uint8_t *)(ob->entries + r->elements);
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        cons_ledger_outbox_entry *en = &ob->entries[i];
        cons_outbox_reader rd;
        memcpy(data, e->str, e->len);
        en->bytes = data;
        en->len = e->len;
        data += e->len;
        if (cons_outbox_reader_init(&rd, en->bytes, en->len) != CONS_OUTBOX_OK ||
            rd.n_offsets != l->n_topics) {
            seterr(l->last_err, sizeof l->last_err, "outbox entry %zu of partition %" PRId32
                   " is corrupt or has %d offsets for %d topics", i, p, rd.n_offsets,
                   l->n_topics);
            free(ob);
            return NULL;
        }
        en->seq = rd.seq;
        memset(en->end_offsets, 0, sizeof en->end_offsets);
        memcpy(en->end_offsets, rd.end_offsets, (size_t)l->n_topics * sizeof *en->end_offsets);
    }
    return ob;
}

cons_ledger_status cons_ledger_outbox_read(cons_ledger *l, int32_t p, cons_ledger_outbox **out)
{
    cons_ledger_status st = CONS_LEDGER_ERROR;
    char key[KEY_CAP];
    redisReply *r = NULL;
    *out = NULL;
    if (p < 0) {
        seterr(l->last_err, sizeof l->last_err, "outbox_read: bad partition %" PRId32, p);
        goto done;
    }
    format_key(key, l->ns, "outbox", p);
    const char *argv[4] = {"LRANGE", key, "0", "-1"};
    r = ledger_call(l, 4, argv, NULL, l->last_err, sizeof l->last_err);
    if (r == NULL)
        goto done;
    if (r->type != REDIS_REPLY_ARRAY) {
        seterr(l->last_err, sizeof l->last_err, "LRANGE %s: %s", key,
               r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto done;
    }
    *out = outbox_copy(l, p, r);
    if (*out == NULL)
        goto done;
    st = CONS_LEDGER_OK;
done:
    if (r != NULL)
        freeReplyObject(r);
    return st;
}

/* One pipelined attempt: every chunk's MGET, then every reply. @returns 1 with
 * replies[0..n_chunks) set, 0 on a connection error or refused command (retry),
 * -1 on an error reply (l->last_err). */
static int mget_attempt(cons_ledger *l, int n, const char *const *keys, redisReply **replies,
                        int n_chunks, const char **argv)
{
    for (int c = 0; c < n_chunks; c++) {
        int first = c * MGET_CHUNK, count = n - first < MGET_CHUNK ? n - first : MGET_CHUNK;
        argv[0] = "MGET";
        for (int i = 0; i < count; i++)
            argv[1 + i] = keys[first + i];
        if (redisAppendCommandArgv(l->c, 1 + count, argv, NULL) != REDIS_OK)
            goto io_error;
    }
    for (int c = 0; c < n_chunks; c++) {
        void *r = NULL;
        if (redisGetReply(l->c, &r) != REDIS_OK || r == NULL)
            goto io_error;
        replies[c] = r;
    }
    for (int c = 0; c < n_chunks; c++) {
        int count = n - c * MGET_CHUNK < MGET_CHUNK ? n - c * MGET_CHUNK : MGET_CHUNK;
        if (reply_is_transient(replies[c])) {
            snprintf(l->io_err, sizeof l->io_err, "%s", replies[c]->str);
            return 0;
        }
        if (replies[c]->type != REDIS_REPLY_ARRAY || replies[c]->elements != (size_t)count) {
            seterr(l->last_err, sizeof l->last_err, "MGET: %s",
                   replies[c]->type == REDIS_REPLY_ERROR ? replies[c]->str : "unexpected reply");
            return -1;
        }
    }
    return 1;
io_error:
    snprintf(l->io_err, sizeof l->io_err, "%s", l->c->err ? l->c->errstr : "no reply");
    ledger_disconnect(l);
    l->stats.lost_replies++;
    return 0;
}

cons_ledger_status cons_ledger_get_blobs(cons_ledger *l, int n, const char *const *keys,
                                         cons_ledger_blob *out)
{
    cons_ledger_status st = CONS_LEDGER_ERROR;
    int n_chunks = n > 0 ? (n + MGET_CHUNK - 1) / MGET_CHUNK : 0;
    redisReply **replies = NULL;
    const char **argv = NULL;

    for (int i = 0; i < n; i++)
        out[i] = (cons_ledger_blob){NULL, 0};
    if (n < 0 || (n > 0 && keys == NULL)) {
        seterr(l->last_err, sizeof l->last_err, "get_blobs: bad arguments");
        goto done;
    }
    for (int i = 0; i < n; i++)
        if (keys[i] == NULL) {
            seterr(l->last_err, sizeof l->last_err, "get_blobs: key %d is NULL", i);
            goto done;
        }
    if (n == 0) {
        st = CONS_LEDGER_OK;
        goto done;
    }
    replies = calloc((size_t)n_chunks, sizeof *replies);
    argv = malloc((MGET_CHUNK + 1) * sizeof *argv);
    if (replies == NULL || argv == NULL) {
        seterr(l->last_err, sizeof l->last_err, "get_blobs: out of memory");
        goto done;
    }
    pacing pc = pacing_start(l);
    for (;;) {
        int rc = ledger_ensure(l, l->last_err, sizeof l->last_err);
        if (rc == -2)
            goto done;
        if (rc == 0) {
            rc = mget_attempt(l, n, keys, replies, n_chunks, argv);
            if (rc == 1)
                break;
            if (rc < 0)
                goto done;
            for (int c = 0; c < n_chunks; c++) {
                if (replies[c] != NULL)
                    freeReplyObject(replies[c]);
                replies[c] = NULL;
            }
        }
        if (!pacing_wait(&pc)) {
            seterr(l->last_err, sizeof l->last_err, "redis %s:%d unavailable for %d ms: %s",
                   l->host, l->port, l->deadline_ms, l->io_err);
            goto done;
        }
    }
    for (int i = 0; i < n; i++) {
        const redisReply *e = replies[i / MGET_CHUNK]->element[i % MGET_CHUNK];
        if (e->type != REDIS_REPLY_STRING)
            continue;
        out[i].data = malloc(e->len + 1);
        if (out[i].data == NULL) {
            seterr(l->last_err, sizeof l->last_err, "get_blobs: out of memory");
            for (int j = 0; j <= i; j++) {
                free(out[j].data);
                out[j] = (cons_ledger_blob){NULL, 0};
            }
            goto done;
        }
        memcpy(out[i].data, e->str, e->len);
        out[i].data[e->len] = '\0';
        out[i].len = e->len;
    }
    st = CONS_LEDGER_OK;
done:
    if (replies != NULL)
        for (int c = 0; c < n_chunks; c++)
            if (replies[c] != NULL)
                freeReplyObject(replies[c]);
    free(replies);
    free(argv);
    return st;
}

static bool blob_copy(cons_ledger_blob *dst, const redisReply *e)
{
    dst->data = malloc(e->len + 1);
    if (dst->data == NULL)
        return false;
    memcpy(dst->data, e->str, e->len);
    dst->data[e->len] = '\0';
    dst->len = e->len;
    return true;
}

void cons_ledger_hash_free(cons_ledger_hash *h)
{
    for (int i = 0; i < h->n; i++) {
        free(h->fields[i].data);
        free(h->values[i].data);
    }
    free(h->fields);
    free(h->values);
    *h = (cons_ledger_hash){0, NULL, NULL, false};
}

cons_ledger_status cons_ledger_get_hash(cons_ledger *l, const char *key, cons_ledger_hash *out)
{
    cons_ledger_status st = CONS_LEDGER_ERROR;
    const char *argv[2] = {"HGETALL", key};
    redisReply *r = NULL;

    *out = (cons_ledger_hash){0, NULL, NULL, false};
    if (key == NULL) {
        seterr(l->last_err, sizeof l->last_err, "get_hash: key is NULL");
        goto done;
    }
    r = ledger_call(l, 2, argv, NULL, l->last_err, sizeof l->last_err);
    if (r == NULL)
        goto done;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "WRONGTYPE", 9) == 0) {
        out->not_hash = true;
        st = CONS_LEDGER_OK;
        goto done;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0) {
        seterr(l->last_err, sizeof l->last_err, "HGETALL %s: %s", key,
               r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto done;
    }
    size_t n = r->elements / 2;
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type != REDIS_REPLY_STRING) {
            seterr(l->last_err, sizeof l->last_err, "HGETALL %s: unexpected element", key);
            goto done;
        }
    if (n > 0) {
        out->fields = calloc(n, sizeof *out->fields);
        out->values = calloc(n, sizeof *out->values);
        if (out->fields == NULL || out->values == NULL)
            goto oom;
        for (size_t i = 0; i < n; i++) {
            out->n = (int)i + 1;             /* what cons_ledger_hash_free must free */
            if (!blob_copy(&out->fields[i], r->element[2 * i]) ||
                !blob_copy(&out->values[i], r->element[2 * i + 1]))
                goto oom;
        }
    }
    st = CONS_LEDGER_OK;
    goto done;
oom:
    seterr(l->last_err, sizeof l->last_err, "get_hash: out of memory");
done:
    if (st != CONS_LEDGER_OK)
        cons_ledger_hash_free(out);          /* the arrays are calloc'd: partial is fine */
    if (r != NULL)
        freeReplyObject(r);
    return st;
}

cons_ledger_status cons_ledger_get_field(cons_ledger *l, const char *key, const char *field,
                                         cons_ledger_blob *out)
{
    cons_ledger_status st = CONS_LEDGER_ERROR;
    const char *argv[3] = {"HGET", key, field};
    redisReply *r = NULL;

    *out = (cons_ledger_blob){NULL, 0};
    if (key == NULL || field == NULL) {
        seterr(l->last_err, sizeof l->last_err, "get_field: key or field is NULL");
        goto done;
    }
    r = ledger_call(l, 3, argv, NULL, l->last_err, sizeof l->last_err);
    if (r == NULL)
        goto done;
    if (r->type == REDIS_REPLY_STRING) {
        if (!blob_copy(out, r)) {
            seterr(l->last_err, sizeof l->last_err, "get_field: out of memory");
            goto done;
        }
    } else if (r->type != REDIS_REPLY_NIL) {
        seterr(l->last_err, sizeof l->last_err, "HGET %s %s: %s", key, field,
               r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto done;
    }
    st = CONS_LEDGER_OK;
done:
    if (r != NULL)
        freeReplyObject(r);
    return st;
}

/* ---- acquire and trim ------------------------------------------------------------- */

cons_ledger_status cons_ledger_acquire(cons_ledger *l, int32_t p, int64_t *token,
                                       int64_t *next_offsets, int64_t *seq)
{
    cons_ledger_status st = CONS_LEDGER_ERROR;
    char key[KEY_CAP], n_s[NUM_CAP];
    const char *argv[4 + 1 + CONS_LEDGER_MAX_TOPICS];
    redisReply *r = NULL;
    int argc = 0;

    if (p < 0) {
        seterr(l->last_err, sizeof l->last_err, "acquire: bad partition %" PRId32, p);
        goto done;
    }
    format_key(key, l->ns, "ledger", p);
    snprintf(n_s, sizeof n_s, "%d", l->n_topics);
    argv[argc++] = "FCALL";
    argv[argc++] = "pi_acquire";
    argv[argc++] = "1";
    argv[argc++] = key;
    argv[argc++] = n_s;
    for (int i = 0; i < l->n_topics; i++)
        argv[argc++] = l->topics[i];
    r = ledger_call(l, argc, argv, NULL, l->last_err, sizeof l->last_err);
    if (r == NULL)
        goto done;
    if (r->type == REDIS_REPLY_ERROR) {
        seterr(l->last_err, sizeof l->last_err, "pi_acquire %s: %s", key, r->str);
        goto done;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)(2 + l->n_topics) ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_STRING ||
        !parse_i64(r->element[1]->str, r->element[1]->len, seq)) {
        seterr(l->last_err, sizeof l->last_err, "pi_acquire %s: unexpected reply", key);
        goto done;
    }
    *token = r->element[0]->integer;
    for (int i = 0; i < l->n_topics; i++) {
        const redisReply *e = r->element[2 + i];
        if (e->type != REDIS_REPLY_STRING || !parse_i64(e->str, e->len, &next_offsets[i])) {
            seterr(l->last_err, sizeof l->last_err, "pi_acquire %s: bad offset for %s", key,
                   l->topics[i]);
            goto done;
        }
    }
    st = CONS_LEDGER_OK;
done:
    if (r != NULL)
        freeReplyObject(r);
    return st;
}

cons_ledger_status cons_ledger_trim(cons_ledger *l, int32_t p, int64_t token,
                                    const int64_t *committed, int *trimmed)
{
    cons_ledger_status st = CONS_LEDGER_ERROR;
    char lkey[KEY_CAP], okey[KEY_CAP];
    char nums[2 + CONS_LEDGER_MAX_TOPICS][NUM_CAP];
    const char *argv[5 + 2 + CONS_LEDGER_MAX_TOPICS];
    redisReply *r = NULL;
    int argc = 0;

    *trimmed = 0;
    if (p < 0) {
        seterr(l->last_err, sizeof l->last_err, "trim: bad partition %" PRId32, p);
        goto done;
    }
    format_key(lkey, l->ns, "ledger", p);
    format_key(okey, l->ns, "outbox", p);
    snprintf(nums[0], NUM_CAP, "%" PRId64, token);
    snprintf(nums[1], NUM_CAP, "%d", l->n_topics);
    argv[argc++] = "FCALL";
    argv[argc++] = "pi_trim";
    argv[argc++] = "2";
    argv[argc++] = lkey;
    argv[argc++] = okey;
    argv[argc++] = nums[0];
    argv[argc++] = nums[1];
    for (int i = 0; i < l->n_topics; i++) {
        snprintf(nums[2 + i], NUM_CAP, "%" PRId64, committed[i] < -1 ? -1 : committed[i]);
        argv[argc++] = nums[2 + i];
    }
    r = ledger_call(l, argc, argv, NULL, l->last_err, sizeof l->last_err);
    if (r == NULL)
        goto done;
    if (reply_is_error(r, "FENCED")) {
        seterr(l->last_err, sizeof l->last_err, "pi_trim %s: %s", lkey, r->str);
        st = CONS_LEDGER_FENCED;
        goto done;
    }
    if (r->type != REDIS_REPLY_INTEGER) {
        seterr(l->last_err, sizeof l->last_err, "pi_trim %s: %s", lkey,
               r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto done;
    }
    *trimmed = (int)r->integer;
    st = CONS_LEDGER_OK;
done:
    if (r != NULL)
        freeReplyObject(r);
    return st;
}

/* ---- batches ---------------------------------------------------------------------- */

cons_ledger_batch *cons_ledger_batch_new(const cons_ledger *l)
{
    cons_ledger_batch *b = calloc(1, sizeof *b);
    if (b != NULL)
        b->l = l;
    return b;
}

void cons_ledger_batch_destroy(cons_ledger_batch *b)
{
    if (b == NULL)
        return;
    free(b->arena);
    free(b->keys);
    free(b->args);
    free(b->argv);
    free(b->argvlen);
    free(b);
}

int cons_ledger_batch_reset(cons_ledger_batch *b, int32_t p, int64_t token,
                            const int64_t *expected, const int64_t *next)
{
    b->arena_len = 0;
    b->n_keys = b->n_args = b->n_ops = 0;
    b->has_entry = false;
    b->poisoned = false;
    b->ready = false;
    if (p < 0 || token < 1 || expected == NULL || next == NULL)
        return -1;
    for (int i = 0; i < b->l->n_topics; i++)
        if (expected[i] < -1 || next[i] < -1)
            return -1;
    b->p = p;
    b->token = token;
    memcpy(b->expected, expected, (size_t)b->l->n_topics * sizeof *expected);
    memcpy(b->next, next, (size_t)b->l->n_topics * sizeof *next);
    for (int i = 0; i < b->l->n_topics; i++)
        b->published[i] = -1;
    format_key(b->ledger_key, b->l->ns, "ledger", p);
    format_key(b->outbox_key, b->l->ns, "outbox", p);
    b->ready = true;
    return 0;
}

int cons_ledger_batch_published(cons_ledger_batch *b, const int64_t *published)
{
    bool ok = b->ready && published != NULL;
    for (int i = 0; ok && i < b->l->n_topics; i++)
        ok = published[i] >= -1;
    if (!ok) {
        b->poisoned = true;
        return -1;
    }
    memcpy(b->published, published, (size_t)b->l->n_topics * sizeof *published);
    return 0;
}

int cons_ledger_batch_n_ops(const cons_ledger_batch *b)
{
    return b->n_ops;
}

/* Copies len bytes into the arena. @returns false on ENOMEM. */
static bool arena_put(cons_ledger_batch *b, const void *p, size_t len, span *out)
{
    if (len > SIZE_MAX / 4 - b->arena_len)
        return false;
    if (b->arena_len + len > b->arena_cap) {
        size_t cap = b->arena_cap ? b->arena_cap : 4096;
        while (cap < b->arena_len + len)
            cap *= 2;
        char *a = realloc(b->arena, cap);
        if (a == NULL)
            return false;
        b->arena = a;
        b->arena_cap = cap;
    }
    if (len > 0)
        memcpy(b->arena + b->arena_len, p, len);
    out->off = b->arena_len;
    out->len = len;
    b->arena_len += len;
    return true;
}

static bool span_push(span **arr, int *n, int *cap, span s)
{
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : 64;
        span *a = realloc(*arr, (size_t)c * sizeof *a);
        if (a == NULL)
            return false;
        *arr = a;
        *cap = c;
    }
    (*arr)[(*n)++] = s;
    return true;
}

static bool push_key(cons_ledger_batch *b, const char *key)
{
    span s;
    return key != NULL && arena_put(b, key, strlen(key), &s) &&
           span_push(&b->keys, &b->n_keys, &b->cap_keys, s);
}

static bool push_arg(cons_ledger_batch *b, const void *p, size_t len)
{
    span s;
    return (p != NULL || len == 0) && arena_put(b, p, len, &s) &&
           span_push(&b->args, &b->n_args, &b->cap_args, s);
}

static bool push_str(cons_ledger_batch *b, const char *s)
{
    return s != NULL && push_arg(b, s, strlen(s));
}

static bool push_i64(cons_ledger_batch *b, int64_t v)
{
    char num[PROC_I64_CAP];
    return push_arg(b, num, proc_fmt_i64(num, v));
}

/* Ends an op call: counts it, or poisons the batch. */
static int op_done(cons_ledger_batch *b, bool ok)
{
    if (!ok || !b->ready || b->poisoned) {
        b->poisoned = true;
        return -1;
    }
    b->n_ops++;
    return 0;
}

int cons_ledger_batch_set(cons_ledger_batch *b, const char *key, const void *val, size_t len)
{
    return op_done(b, push_key(b, key) && push_str(b, "SET") && push_arg(b, val, len));
}

int cons_ledger_batch_zadd(cons_ledger_batch *b, const char *key, int64_t score,
                           const char *member)
{
    return cons_ledger_batch_zadd_many(b, key, 1, &score, &member);
}

int cons_ledger_batch_zadd_many(cons_ledger_batch *b, const char *key, int n,
                                const int64_t *scores, const char *const *members)
{
    bool ok = n >= 1 && scores != NULL && members != NULL && push_key(b, key) &&
              push_str(b, "ZADD") && push_i64(b, n);
    for (int i = 0; ok && i < n; i++)
        ok = push_i64(b, scores[i]) && push_str(b, members[i]);
    return op_done(b, ok);
}

int cons_ledger_batch_hset(cons_ledger_batch *b, const char *key, int n,
                           const char *const *fields, const char *const *values)
{
    bool ok = n >= 1 && fields != NULL && values != NULL && push_key(b, key) &&
              push_str(b, "HSET") && push_i64(b, n);
    for (int i = 0; ok && i < n; i++)
        ok = push_str(b, fields[i]) && push_str(b, values[i]);
    return op_done(b, ok);
}

int cons_ledger_batch_hset_bin(cons_ledger_batch *b, const char *key, int n,
                               const char *const *fields, const void *const *values,
                               const size_t *lens)
{
    bool ok = n >= 1 && fields != NULL && values != NULL && lens != NULL && push_key(b, key) &&
              push_str(b, "HSET") && push_i64(b, n);
    for (int i = 0; ok && i < n; i++)
        ok = push_str(b, fields[i]) && push_arg(b, values[i], lens[i]);
    return op_done(b, ok);
}

int cons_ledger_batch_hdel(cons_ledger_batch *b, const char *key, int n,
                           const char *const *fields)
{
    bool ok = n >= 1 && fields != NULL && push_key(b, key) && push_str(b, "HDEL") &&
              push_i64(b, n);
    for (int i = 0; ok && i < n; i++)
        ok = push_str(b, fields[i]);
    return op_done(b, ok);
}

int cons_ledger_batch_hincrby(cons_ledger_batch *b, const char *key, const char *field,
                              int64_t by)
{
    return op_done(b, push_key(b, key) && push_str(b, "HINCRBY") && push_str(b, field) &&
                          push_i64(b, by));
}

int cons_ledger_batch_expect(cons_ledger_batch *b, const char *key, const void *val,
                             size_t len)
{
    return op_done(b, push_key(b, key) && push_str(b, "EXPECT") && push_arg(b, val, len));
}

int cons_ledger_batch_del(cons_ledger_batch *b, const char *key)
{
    return op_done(b, push_key(b, key) && push_str(b, "DEL"));
}

int cons_ledger_batch_publish(cons_ledger_batch *b, const char *channel, const char *msg)
{
    return op_done(b, push_str(b, "PUBLISH") && push_str(b, channel) && push_str(b, msg));
}

int cons_ledger_batch_outbox(cons_ledger_batch *b, const void *entry, size_t len)
{
    bool ok = b->ready && !b->poisoned && entry != NULL && len > 0 &&
              arena_put(b, entry, len, &b->entry);
    if (!ok) {
        b->poisoned = true;
        return -1;
    }
    b->has_entry = true;
    return 0;
}

/* Formats the whole FCALL pi_commit command into b->argv / b->argvlen (the numbers into
 * b->nums). @returns argc, or -1 on ENOMEM. */
static int batch_argv(cons_ledger_batch *b)
{
    char (*nums)[NUM_CAP] = b->nums;
    const cons_ledger *l = b->l;
    int n = l->n_topics;
    int argc = 3 + 2 + b->n_keys + 2 + 4 * n + 2 + b->n_args;
    if (argc > b->cap_argv) {
        const char **a = realloc(b->argv, (size_t)argc * sizeof *a);
        if (a == NULL)
            return -1;
        b->argv = a;
        size_t *al = realloc(b->argvlen, (size_t)argc * sizeof *al);
        if (al == NULL)
            return -1;
        b->argvlen = al;
        b->cap_argv = argc;
    }
    int k = 0, m = 0;
#define ARG(ptr, len) (b->argv[k] = (ptr), b->argvlen[k] = (len), k++)
#define NUM(fmt, v) (snprintf(nums[m], NUM_CAP, fmt, v), ARG(nums[m], strlen(nums[m])), m++)
    ARG("FCALL", 5);
    ARG("pi_commit", 9);
    NUM("%d", 2 + b->n_keys);
    ARG(b->ledger_key, strlen(b->ledger_key));
    ARG(b->outbox_key, strlen(b->outbox_key));
    for (int i = 0; i < b->n_keys; i++)
        ARG(b->arena + b->keys[i].off, b->keys[i].len);
    NUM("%" PRId64, b->token);
    NUM("%d", n);
    for (int i = 0; i < n; i++)
        ARG(l->topics[i], strlen(l->topics[i]));
    for (int i = 0; i < n; i++)
        NUM("%" PRId64, b->expected[i]);
    for (int i = 0; i < n; i++)
        NUM("%" PRId64, b->next[i]);
    for (int i = 0; i < n; i++)
        NUM("%" PRId64, b->published[i]);
    if (b->has_entry)
        ARG(b->arena + b->entry.off, b->entry.len);
    else
        ARG("", 0);
    NUM("%d", b->n_ops);
    for (int i = 0; i < b->n_args; i++)
        ARG(b->arena + b->args[i].off, b->args[i].len);
#undef NUM
#undef ARG
    return k;
}

typedef enum {
    CHECK_APPLIED,                       /* offsets are `next`: the batch is in */
    CHECK_NOT_APPLIED,                   /* offsets are `expected`: send it (again) */
    CHECK_FENCED,
    CHECK_CONFLICT,
    CHECK_ERROR,                         /* the ledger is unreadable */
    CHECK_RETRY                          /* connection lost again */
} check_result;

/* After a lost reply: reads the ledger to learn whether the batch was applied. */
static check_result commit_check(cons_ledger *l, const cons_ledger_batch *b, int64_t *seq_out,
                                 char *err, size_t errcap)
{
    char fields[CONS_LEDGER_MAX_TOPICS][CONS_LEDGER_TOPIC_MAX + 8];
    const char *argv[4 + CONS_LEDGER_MAX_TOPICS];
    int n = l->n_topics, argc = 0;
    check_result res = CHECK_RETRY;
    redisReply *r = NULL;
    int64_t fence = 0, seq = 0, off;
    bool is_next = true, is_expected = true;

    argv[argc++] = "HMGET";
    argv[argc++] = b->ledger_key;
    argv[argc++] = "fence";
    argv[argc++] = "seq";
    for (int i = 0; i < n; i++) {
        snprintf(fields[i], sizeof fields[i], "off:%s", l->topics[i]);
        argv[argc++] = fields[i];
    }
    r = ledger_send(l, argc, argv, NULL);
    if (r == NULL)
        goto done;
    if (reply_is_transient(r)) {
        snprintf(l->io_err, sizeof l->io_err, "%s", r->str);
        goto done;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)argc - 2) {
        seterr(err, errcap, "HMGET %s: %s", b->ledger_key,
               r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        res = CHECK_ERROR;
        goto done;
    }
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        off = -1;
        if (e->type == REDIS_REPLY_STRING && !parse_i64(e->str, e->len, &off)) {
            seterr(err, errcap, "HMGET %s: field %zu is not an integer", b->ledger_key, i);
            res = CHECK_ERROR;
            goto done;
        }
        if (i == 0)
            fence = off;
        else if (i == 1)
            seq = off < 0 ? 0 : off;
        else {
            is_next = is_next && off == b->next[i - 2];
            is_expected = is_expected && off == b->expected[i - 2];
        }
    }
    if (fence != b->token) {
        seterr(err, errcap, "FENCED token %" PRId64 " is not the current one (%" PRId64
               ") after a lost reply", b->token, fence);
        res = CHECK_FENCED;
    } else if (is_next) {
        *seq_out = seq;
        res = CHECK_APPLIED;
    } else if (is_expected) {
        res = CHECK_NOT_APPLIED;
    } else {
        seterr(err, errcap, "CONFLICT %s holds offsets that are neither the expected nor the "
               "next ones after a lost reply", b->ledger_key);
        res = CHECK_CONFLICT;
    }
done:
    if (r != NULL)
        freeReplyObject(r);
    return res;
}

/* Refuses a batch that cannot be sent; else formats its command. @returns 0 or -1
 * (l->last_err says why). */
static int commit_prepare(cons_ledger *l, cons_ledger_batch *b)
{
    if (b->l != l || !b->ready || b->poisoned) {
        seterr(l->last_err, sizeof l->last_err, "cons_ledger_commit: %s",
               !b->ready     ? "batch not reset"
               : b->poisoned ? "an op failed (bad argument or out of memory)"
                             : "batch of another ledger");
        return -1;
    }
    if ((b->argc = batch_argv(b)) < 0) {
        seterr(l->last_err, sizeof l->last_err, "cons_ledger_commit: out of memory");
        return -1;
    }
    return 0;
}

/* One prepared batch, with reconnects and retries. sent_before: the command may already
 * have been executed (sent in a pipeline whose reply was lost), so the ledger is read
 * back before anything is sent. */
static cons_ledger_status commit_one(cons_ledger *l, cons_ledger_batch *b, int64_t *seq_out,
                                     bool sent_before)
{
    cons_ledger_status st = CONS_LEDGER_ERROR;
    redisReply *r = NULL;
    bool lost = sent_before;             /* an earlier send may have been applied */
    bool check = sent_before;            /* read the ledger before (re)sending */
    bool rechecked = false, reloaded = false;
    int argc = b->argc;

    pacing pc = pacing_start(l);
    for (;;) {
        int rc = ledger_ensure(l, l->last_err, sizeof l->last_err);
        if (rc == -2)
            goto done;
        if (rc == -1)
            goto again;
        if (check) {
            check_result cr = commit_check(l, b, seq_out, l->last_err, sizeof l->last_err);
            if (cr == CHECK_RETRY)
                goto again;
            if (cr == CHECK_APPLIED) {
                l->stats.resolved_applied++;
                st = CONS_LEDGER_OK;
                goto done;
            }
            if (cr == CHECK_FENCED || cr == CHECK_CONFLICT || cr == CHECK_ERROR) {
                st = cr == CHECK_FENCED     ? CONS_LEDGER_FENCED
                     : cr == CHECK_CONFLICT ? CONS_LEDGER_CONFLICT
                                            : CONS_LEDGER_ERROR;
                goto done;
            }
            check = false;
            l->stats.resends++;
        }
        r = ledger_send(l, argc, b->argv, b->argvlen);
        if (r == NULL) {
            lost = check = true;
            goto again;
        }
        if (r->type == REDIS_REPLY_INTEGER) {
            *seq_out = r->integer;
            st = CONS_LEDGER_OK;
            goto done;
        }
        if (reply_is_error(r, "FENCED")) {
            seterr(l->last_err, sizeof l->last_err, "pi_commit %s: %s", b->ledger_key, r->str);
            st = CONS_LEDGER_FENCED;
            goto done;
        }
        if (reply_is_error(r, "STALE")) {
            seterr(l->last_err, sizeof l->last_err, "pi_commit %s: %s", b->ledger_key, r->str);
            st = CONS_LEDGER_STALE;
            goto done;
        }
        if (reply_is_error(r, "CONFLICT")) {
            /* An earlier send whose reply was lost may have landed after our check. */
            if (lost && !rechecked) {
                rechecked = check = true;
                freeReplyObject(r);
                r = NULL;
                continue;
            }
            seterr(l->last_err, sizeof l->last_err, "pi_commit %s: %s", b->ledger_key, r->str);
            st = CONS_LEDGER_CONFLICT;
            goto done;
        }
        if (reply_is_function_missing(r) && !reloaded) {
            freeReplyObject(r);
            r = NULL;
            reloaded = true;
            int lr = ledger_load(l, l->last_err, sizeof l->last_err);
            if (lr < 0)
                goto done;
            if (lr > 0)
                continue;
            goto again;
        }
        if (reply_is_transient(r)) {
            snprintf(l->io_err, sizeof l->io_err, "%s", r->str);
            freeReplyObject(r);
            r = NULL;
            goto again;
        }
        seterr(l->last_err, sizeof l->last_err, "pi_commit %s: %s", b->ledger_key,
               r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        goto done;
    again:
        if (!pacing_wait(&pc)) {
            seterr(l->last_err, sizeof l->last_err, "redis %s:%d unavailable for %d ms%s: %s",
                   l->host, l->port, l->deadline_ms, lost ? " (commit outcome unknown)" : "",
                   l->io_err);
            goto done;
        }
    }
done:
    if (r != NULL)
        freeReplyObject(r);
    return st;
}

cons_ledger_status cons_ledger_commit(cons_ledger *l, cons_ledger_batch *b, int64_t *seq_out,
                                      char *err, size_t errcap)
{
    cons_ledger_status st = CONS_LEDGER_ERROR;
    if (commit_prepare(l, b) == 0)
        st = commit_one(l, b, seq_out, false);
    if (st != CONS_LEDGER_OK)
        seterr(err, errcap, "%s", l->last_err);
    return st;
}

/* What became of a batch in a pipeline. */
enum { FATE_UNSENT, FATE_DONE, FATE_LOST, FATE_RESEND };

/* The reply of a pipelined pi_commit: OK, FENCED, STALE and CONFLICT are final (the
 * command ran); anything else (function missing, LOADING, BUSY, a refusal) wrote nothing
 * and is sent again on its own by commit_one, which knows how to handle it. */
static void pipelined_reply(cons_ledger *l, cons_ledger_batch *b, const redisReply *r,
                            cons_ledger_status *st, int64_t *seq)
{
    static const struct {
        const char *word;
        cons_ledger_status st;
    } final[] = {{"FENCED", CONS_LEDGER_FENCED}, {"STALE", CONS_LEDGER_STALE},
                 {"CONFLICT", CONS_LEDGER_CONFLICT}};
    b->fate = FATE_RESEND;
    if (r->type == REDIS_REPLY_INTEGER) {
        *seq = r->integer;
        *st = CONS_LEDGER_OK;
        b->fate = FATE_DONE;
        return;
    }
    for (size_t i = 0; i < sizeof final / sizeof final[0]; i++)
        if (reply_is_error(r, final[i].word)) {
            seterr(l->last_err, sizeof l->last_err, "pi_commit %s: %s", b->ledger_key, r->str);
            *st = final[i].st;
            b->fate = FATE_DONE;
            return;
        }
}

cons_ledger_status cons_ledger_commit_many(cons_ledger *l, int n, cons_ledger_batch *const *b,
                                           cons_ledger_status *st, int64_t *seq, char *err,
                                           size_t errcap)
{
    int n_ready = 0;
    for (int i = 0; i < n; i++) {
        st[i] = CONS_LEDGER_ERROR;
        seq[i] = 0;
        b[i]->fate = commit_prepare(l, b[i]) == 0 ? FATE_UNSENT : FATE_DONE;
        n_ready += b[i]->fate == FATE_UNSENT;
    }
    /* One batch, or no connection now: the single path reconnects and retries. */
    if (n_ready > 1 && ledger_ensure(l, l->io_err, sizeof l->io_err) == 0) {
        cons_ledger_fault f = l->fault;
        l->fault = CONS_LEDGER_FAULT_NONE;
        bool appended = f != CONS_LEDGER_FAULT_LOSE_REQUEST;
        for (int i = 0; appended && i < n; i++)
            if (b[i]->fate == FATE_UNSENT)
                appended = append_argv(l, b[i]->argc, b[i]->argv, b[i]->argvlen) == 0;
        if (!appended) {
            /* Nothing has left the process: the output buffer is written by the first
             * redisGetReply. Drop it with the connection. */
            snprintf(l->io_err, sizeof l->io_err, "%s",
                     f == CONS_LEDGER_FAULT_LOSE_REQUEST ? "injected fault: request lost"
                                                         : "out of memory");
            ledger_disconnect(l);
        } else {
            bool lost = false;
            for (int i = 0; i < n; i++) {
                if (b[i]->fate != FATE_UNSENT)
                    continue;
                redisReply *r = NULL;
                if (!lost && redisGetReply(l->c, (void **)&r) != REDIS_OK) {
                    snprintf(l->io_err, sizeof l->io_err, "%s",
                             l->c->err ? l->c->errstr : "no reply");
                    lost = true;
                } else if (!lost && f == CONS_LEDGER_FAULT_LOSE_REPLY) {
                    snprintf(l->io_err, sizeof l->io_err, "injected fault: reply lost");
                    freeReplyObject(r);
                    r = NULL;
                    lost = true;
                }
                if (lost) {
                    b[i]->fate = FATE_LOST;  /* this one and every later one may have run */
                    l->stats.lost_replies++;
                    continue;
                }
                pipelined_reply(l, b[i], r, &st[i], &seq[i]);
                freeReplyObject(r);
            }
            if (lost)
                ledger_disconnect(l);
        }
    }
    for (int i = 0; i < n; i++)
        if (b[i]->fate != FATE_DONE)
            st[i] = commit_one(l, b[i], &seq[i], b[i]->fate == FATE_LOST);
    cons_ledger_status worst = CONS_LEDGER_OK;
    for (int i = 0; i < n && worst == CONS_LEDGER_OK; i++)
        worst = st[i];
    if (worst != CONS_LEDGER_OK)
        seterr(err, errcap, "%s", l->last_err);
    return worst;
}
