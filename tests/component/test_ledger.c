/*
 * test_ledger.c — the Redis ledger (consumer/cons_ledger.h + cons_ledger.lua) against a
 * real redis-server that this binary starts itself (th_redis.h).
 *
 * Every check of what landed in Redis is made with a plain hiredis connection, not
 * through the code under test. "Nothing written" means: the keys the batch would have
 * set are absent and the ledger's offsets did not move.
 */
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "cons_ledger.h"
#include "cons_outbox.h"
#include "th_redis.h"

static const char *const TOPICS[3] = {"sales", "registrations", "surveys"};
static const int64_t NONE3[3] = {-1, -1, -1};

/* ---- fixture ---------------------------------------------------------------------- */

static th_redis g_srv;                   /* shared, no persistence: the most tests */

typedef struct {
    th_redis own;                        /* a per-test server (restart tests), else unused */
    const th_redis *srv;
    cons_ledger *l;
    cons_ledger_batch *b;
    cons_outbox_entry *e;
    redisContext *raw;
    char err[512];
} fx;

static int group_setup(void **state)
{
    char err[512];
    (void)state;
    if (th_redis_start(&g_srv, false, err, sizeof err) != 0) {
        fprintf(stderr, "cannot start redis-server: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    th_redis_stop(&g_srv);
    return 0;
}

static redisReply *raw_cmd(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    return r;
}

static int fx_open(fx *f, const th_redis *srv)
{
    f->srv = srv;
    f->raw = th_redis_connect(srv);
    if (f->raw == NULL)
        return -1;
    freeReplyObject(raw_cmd(f->raw, "FLUSHALL"));
    f->l = cons_ledger_new("127.0.0.1", srv->port, NULL, NULL, NULL, 3, TOPICS, f->err, sizeof f->err);
    if (f->l == NULL) {
        fprintf(stderr, "cons_ledger_new: %s\n", f->err);
        return -1;
    }
    f->b = cons_ledger_batch_new(f->l);
    f->e = cons_outbox_entry_new();
    return f->b != NULL && f->e != NULL ? 0 : -1;
}

static int teardown(void **state);

/* cmocka skips the teardown when a setup fails: clean up here then. */
static int setup_done(void **state, int rc)
{
    if (rc != 0) {
        teardown(state);
        *state = NULL;
    }
    return rc;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    return setup_done(state, fx_open(f, &g_srv));
}

/* A fresh server with appendonly yes + appendfsync always, for the restart tests. */
static int setup_aof(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    if (th_redis_start(&f->own, true, f->err, sizeof f->err) != 0) {
        fprintf(stderr, "cannot start redis-server: %s\n", f->err);
        return setup_done(state, -1);
    }
    return setup_done(state, fx_open(f, &f->own));
}

static int teardown(void **state)
{
    fx *f = *state;
    if (f == NULL)
        return 0;
    cons_outbox_entry_destroy(f->e);
    cons_ledger_batch_destroy(f->b);
    cons_ledger_destroy(f->l);
    if (f->raw != NULL)
        redisFree(f->raw);
    th_redis_stop(&f->own);
    free(f);
    return 0;
}

/* ---- helpers ---------------------------------------------------------------------- */

static bool raw_exists(fx *f, const char *key)
{
    redisReply *r = raw_cmd(f->raw, "EXISTS %s", key);
    bool yes = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return yes;
}

/* HGET key field as an integer; missing → INT64_MIN. */
static int64_t raw_hget_i64(fx *f, const char *key, const char *field)
{
    redisReply *r = raw_cmd(f->raw, "HGET %s %s", key, field);
    int64_t v = INT64_MIN;
    if (r->type == REDIS_REPLY_STRING)
        v = strtoll(r->str, NULL, 10);
    freeReplyObject(r);
    return v;
}

static int64_t raw_llen(fx *f, const char *key)
{
    redisReply *r = raw_cmd(f->raw, "LLEN %s", key);
    int64_t n = r->integer;
    freeReplyObject(r);
    return n;
}

static void assert_offsets(fx *f, int32_t p, const int64_t *want)
{
    char key[64];
    snprintf(key, sizeof key, "inc:ledger:%" PRId32, p);
    for (int i = 0; i < 3; i++) {
        char field[64];
        snprintf(field, sizeof field, "off:%s", TOPICS[i]);
        int64_t v = raw_hget_i64(f, key, field);
        assert_int_equal(v == INT64_MIN ? -1 : v, want[i]);
    }
}

/* Builds an outbox entry with `n` records, tagged with `tag`, into f->e. */
static void make_entry(fx *f, int64_t seq, const int64_t *ends, int n, const char *tag,
                       const uint8_t **data, size_t *len)
{
    cons_outbox_entry_reset(f->e);
    for (int i = 0; i < n; i++) {
        char key[32], val[64];
        int kl = snprintf(key, sizeof key, "%s-%d", tag, i);
        int vl = snprintf(val, sizeof val, "value\x01%s\x02%d", tag, i);
        val[5] = '\0';                   /* a NUL inside the value */
        cons_outbox_header h = {"dlq.reason", 10, "NONE", 4};
        assert_int_equal(cons_outbox_entry_add_record(f->e, i % 3, key, (size_t)kl, val,
                                                      (size_t)vl, &h, 1),
                         CONS_OUTBOX_OK);
    }
    assert_int_equal(cons_outbox_entry_finish(f->e, seq, ends, 3, data, len), CONS_OUTBOX_OK);
}

/* A batch on partition p: SET blob:<tag>, ZADD lb, HINCRBY kpi rev +100, and an outbox
 * entry of 2 records when seq > 0. */
static void build_into(fx *f, cons_ledger_batch *b, int32_t p, int64_t token,
                       const int64_t *expected, const int64_t *next, int64_t seq,
                       const char *tag)
{
    char key[64];
    assert_int_equal(cons_ledger_batch_reset(b, p, token, expected, next), 0);
    snprintf(key, sizeof key, "blob:%s", tag);
    assert_int_equal(cons_ledger_batch_set(b, key, "b\0lob", 5), 0);
    assert_int_equal(cons_ledger_batch_zadd(b, "lb", 1000 + (int64_t)next[0], tag), 0);
    assert_int_equal(cons_ledger_batch_hincrby(b, "kpi", "rev", 100), 0);
    if (seq > 0) {
        const uint8_t *data;
        size_t len;
        make_entry(f, seq, next, 2, tag, &data, &len);
        assert_int_equal(cons_ledger_batch_outbox(b, data, len), 0);
    }
}

static void build_batch(fx *f, int32_t p, int64_t token, const int64_t *expected,
                        const int64_t *next, int64_t seq, const char *tag)
{
    build_into(f, f->b, p, token, expected, next, seq, tag);
}

static int64_t acquire(fx *f, int32_t p, int64_t *offs, int64_t *seq)
{
    int64_t token = 0, o[3], s;
    cons_ledger_status st = cons_ledger_acquire(f->l, p, &token, offs ? offs : o, seq ? seq : &s);
    if (st != CONS_LEDGER_OK)
        fail_msg("acquire: %s", cons_ledger_last_error(f->l));
    return token;
}

static cons_ledger_status commit(fx *f, int64_t *seq)
{
    int64_t s = -7;
    cons_ledger_status st = cons_ledger_commit(f->l, f->b, seq ? seq : &s, f->err, sizeof f->err);
    return st;
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_acquire_increments_token(void **state)
{
    fx *f = *state;
    int64_t offs[3], seq;
    int64_t t1 = acquire(f, 3, offs, &seq);
    assert_true(t1 >= 1);
    assert_int_equal(seq, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(offs[i], -1);
    int64_t t2 = acquire(f, 3, NULL, NULL);
    assert_true(t2 > t1);
    assert_int_equal(raw_hget_i64(f, "inc:ledger:3", "fence"), t2);
    /* Another partition has its own fence. */
    assert_int_equal(acquire(f, 4, NULL, NULL), 1);
}

static void test_commit_applies_everything(void **state)
{
    fx *f = *state;
    int64_t token = acquire(f, 0, NULL, NULL);

    /* Subscribe first to see the PUBLISH. */
    redisContext *sub = th_redis_connect(f->srv);
    assert_non_null(sub);
    freeReplyObject(raw_cmd(sub, "SUBSCRIBE inc:lb-updates:p1"));

    const int64_t next[3] = {17, -1, 4};
    const uint8_t blob[] = {0, 'a', 0, 0xff, '\n', 0};
    const char *fields[2] = {"tier", "region"};
    const char *values[2] = {"gold", "EMEA"};
    const uint8_t *entry;
    size_t entry_len;

    assert_int_equal(cons_ledger_batch_reset(f->b, 0, token, NONE3, next), 0);
    assert_int_equal(cons_ledger_batch_set(f->b, "inc:state:p1", blob, sizeof blob), 0);
    const char *lb = "inc:lb:prog:2026-11:revenue", *kpi = "inc:kpi:prog:2026-11";
    assert_int_equal(cons_ledger_batch_zadd(f->b, lb, 123456789012LL, "p1"), 0);
    assert_int_equal(cons_ledger_batch_zadd(f->b, lb, -5, "p2"), 0);
    assert_int_equal(cons_ledger_batch_hincrby(f->b, kpi, "net_revenue", 2500), 0);
    assert_int_equal(cons_ledger_batch_hincrby(f->b, kpi, "net_revenue", -500), 0);
    assert_int_equal(cons_ledger_batch_hset(f->b, "inc:partner:p1", 2, fields, values), 0);
    assert_int_equal(cons_ledger_batch_del(f->b, "inc:old"), 0);
    assert_int_equal(cons_ledger_batch_publish(f->b, "inc:lb-updates:p1", "changed"), 0);
    make_entry(f, 1, next, 3, "c1", &entry, &entry_len);
    assert_int_equal(cons_ledger_batch_outbox(f->b, entry, entry_len), 0);
    assert_int_equal(cons_ledger_batch_n_ops(f->b), 8);

    int64_t seq = 0;
    assert_int_equal(commit(f, &seq), CONS_LEDGER_OK);
    assert_int_equal(seq, 1);

    redisReply *r = raw_cmd(f->raw, "GET inc:state:p1");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_int_equal(r->len, sizeof blob);
    assert_memory_equal(r->str, blob, sizeof blob);
    freeReplyObject(r);
    r = raw_cmd(f->raw, "ZSCORE inc:lb:prog:2026-11:revenue p1");
    assert_string_equal(r->str, "123456789012");
    freeReplyObject(r);
    assert_int_equal(raw_hget_i64(f, "inc:kpi:prog:2026-11", "net_revenue"), 2000);
    r = raw_cmd(f->raw, "HGET inc:partner:p1 region");
    assert_string_equal(r->str, "EMEA");
    freeReplyObject(r);
    assert_offsets(f, 0, next);
    assert_int_equal(raw_hget_i64(f, "inc:ledger:0", "seq"), 1);

    /* The outbox entry, byte for byte, read raw and through the adapter. */
    r = raw_cmd(f->raw, "LRANGE inc:outbox:0 0 -1");
    assert_int_equal(r->elements, 1);
    assert_int_equal(r->element[0]->len, entry_len);
    assert_memory_equal(r->element[0]->str, entry, entry_len);
    freeReplyObject(r);
    cons_ledger_outbox *ob = NULL;
    assert_int_equal(cons_ledger_outbox_read(f->l, 0, &ob), CONS_LEDGER_OK);
    assert_int_equal(ob->n, 1);
    assert_int_equal(ob->entries[0].seq, 1);
    assert_memory_equal(ob->entries[0].end_offsets, next, sizeof next);
    cons_outbox_reader rd;
    cons_outbox_record rec;
    assert_int_equal(cons_outbox_reader_init(&rd, ob->entries[0].bytes, ob->entries[0].len),
                     CONS_OUTBOX_OK);
    assert_int_equal(rd.seq, 1);
    assert_int_equal(rd.end_offsets[0], 17);
    assert_int_equal(rd.end_offsets[1], -1);
    assert_int_equal(rd.n_records, 3);
    assert_int_equal(cons_outbox_reader_next(&rd, &rec), 1);
    assert_int_equal(rec.key_len, 4);
    assert_memory_equal(rec.key, "c1-0", 4);
    assert_int_equal(rec.value[5], 0);
    cons_ledger_outbox_free(ob);

    /* The PUBLISH went out. */
    void *msg = NULL;
    assert_int_equal(redisGetReply(sub, &msg), REDIS_OK);
    r = msg;
    assert_int_equal(r->elements, 3);
    assert_string_equal(r->element[0]->str, "message");
    assert_string_equal(r->element[2]->str, "changed");
    freeReplyObject(r);
    redisFree(sub);

    /* Next batch: expected = the last next; no records → no entry, seq unchanged. */
    const int64_t next2[3] = {17, 9, 4};
    assert_int_equal(cons_ledger_batch_reset(f->b, 0, token, next, next2), 0);
    assert_int_equal(cons_ledger_batch_hincrby(f->b, "inc:kpi:prog:2026-11", "net_revenue", 1), 0);
    assert_int_equal(commit(f, &seq), CONS_LEDGER_OK);
    assert_int_equal(seq, 1);
    assert_offsets(f, 0, next2);
    assert_int_equal(raw_llen(f, "inc:outbox:0"), 1);

    /* acquire reports the stored state. */
    int64_t offs[3], s;
    acquire(f, 0, offs, &s);
    assert_memory_equal(offs, next2, sizeof next2);
    assert_int_equal(s, 1);
}

static void test_old_token_is_fenced(void **state)
{
    fx *f = *state;
    int64_t old = acquire(f, 1, NULL, NULL);
    int64_t cur = acquire(f, 1, NULL, NULL);
    assert_true(cur > old);
    const int64_t next[3] = {5, -1, -1};
    build_batch(f, 1, old, NONE3, next, 1, "zombie");
    assert_int_equal(commit(f, NULL), CONS_LEDGER_FENCED);
    assert_non_null(strstr(f->err, "FENCED"));
    assert_false(raw_exists(f, "blob:zombie"));
    assert_false(raw_exists(f, "lb"));
    assert_false(raw_exists(f, "kpi"));
    assert_false(raw_exists(f, "inc:outbox:1"));
    assert_offsets(f, 1, NONE3);

    /* Trim is fenced too. */
    int trimmed = -1;
    assert_int_equal(cons_ledger_trim(f->l, 1, old, next, &trimmed), CONS_LEDGER_FENCED);
    assert_non_null(strstr(cons_ledger_last_error(f->l), "FENCED"));
    /* The current owner's identical batch goes through. */
    build_batch(f, 1, cur, NONE3, next, 1, "owner");
    assert_int_equal(commit(f, NULL), CONS_LEDGER_OK);
    assert_true(raw_exists(f, "blob:owner"));
}

static void test_wrong_expected_offsets_conflict(void **state)
{
    fx *f = *state;
    int64_t token = acquire(f, 2, NULL, NULL);
    const int64_t next[3] = {10, -1, -1};
    build_batch(f, 2, token, NONE3, next, 1, "first");
    assert_int_equal(commit(f, NULL), CONS_LEDGER_OK);

    /* Expecting the batch's first offset (9) instead of the stored next offset (10). */
    const int64_t wrong[3] = {9, -1, -1}, next2[3] = {12, -1, -1};
    build_batch(f, 2, token, wrong, next2, 2, "second");
    assert_int_equal(commit(f, NULL), CONS_LEDGER_CONFLICT);
    assert_non_null(strstr(f->err, "CONFLICT"));
    assert_non_null(strstr(f->err, "sales"));
    assert_false(raw_exists(f, "blob:second"));
    assert_int_equal(raw_hget_i64(f, "kpi", "rev"), 100);
    assert_int_equal(raw_llen(f, "inc:outbox:2"), 1);
    assert_offsets(f, 2, next);

    /* A missing stored offset only matches -1. */
    const int64_t wrong2[3] = {10, 0, -1}, next3[3] = {12, 1, -1};
    build_batch(f, 2, token, wrong2, next3, 2, "third");
    assert_int_equal(commit(f, NULL), CONS_LEDGER_CONFLICT);
    assert_non_null(strstr(f->err, "registrations"));
    assert_false(raw_exists(f, "blob:third"));
}

/* EXPECT: a batch computed from shared state (a deal claim other workers write too)
 * commits only while that state is unchanged; otherwise STALE and nothing is written. */
static void test_expect_guards_shared_state(void **state)
{
    fx *f = *state;
    int64_t token = acquire(f, 3, NULL, NULL);
    const int64_t next[3] = {4, -1, -1}, next2[3] = {6, -1, -1};

    /* The claim did not exist when read: "" expects absence, then the batch writes it. */
    build_batch(f, 3, token, NONE3, next, 1, "claim");
    assert_int_equal(cons_ledger_batch_expect(f->b, "deal:d1", "", 0), 0);
    assert_int_equal(cons_ledger_batch_set(f->b, "deal:d1", "v1", 2), 0);
    assert_int_equal(commit(f, NULL), CONS_LEDGER_OK);
    assert_true(raw_exists(f, "deal:d1"));

    /* Another worker changed it meanwhile: the batch expecting "v1" is refused whole. */
    freeReplyObject(raw_cmd(f->raw, "SET deal:d1 v2-other"));
    build_batch(f, 3, token, next, next2, 2, "late");
    assert_int_equal(cons_ledger_batch_expect(f->b, "deal:d1", "v1", 2), 0);
    assert_int_equal(cons_ledger_batch_set(f->b, "deal:d1", "v3", 2), 0);
    assert_int_equal(commit(f, NULL), CONS_LEDGER_STALE);
    assert_non_null(strstr(f->err, "STALE"));
    assert_false(raw_exists(f, "blob:late"));
    assert_int_equal(raw_llen(f, "inc:outbox:3"), 1);
    assert_offsets(f, 3, next);

    /* Redone from the current value, it commits. */
    build_batch(f, 3, token, next, next2, 2, "redo");
    assert_int_equal(cons_ledger_batch_expect(f->b, "deal:d1", "v2-other", 8), 0);
    assert_int_equal(commit(f, NULL), CONS_LEDGER_OK);
    assert_offsets(f, 3, next2);
}

/* Ops outside the whitelist and batches that could fail half-way are refused before
 * the first write. */
static void test_bad_ops_write_nothing(void **state)
{
    fx *f = *state;
    int64_t token = acquire(f, 5, NULL, NULL);
    char tok[24];
    snprintf(tok, sizeof tok, "%" PRId64, token);

    /* Through a raw FCALL: SET then FLUSHALL. */
    const char *argv[] = {"FCALL", "pi_commit", "4", "inc:ledger:5", "inc:outbox:5", "k:set",
                          "k:flush", tok, "3", "sales", "registrations", "surveys", "-1",
                          "-1", "-1", "1", "-1", "-1", "-1", "-1", "-1", "", "2", "SET", "v",
                          "FLUSHALL"};
    redisReply *r = redisCommandArgv(f->raw, (int)(sizeof argv / sizeof *argv), argv, NULL);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_memory_equal(r->str, "BADOP", 5);
    freeReplyObject(r);
    assert_false(raw_exists(f, "k:set"));
    assert_offsets(f, 5, NONE3);

    /* Through the adapter: a SET, then HINCRBY on a sorted set (WRONGTYPE at run time). */
    freeReplyObject(raw_cmd(f->raw, "ZADD a:zset 1 m"));
    const int64_t next[3] = {3, -1, -1};
    assert_int_equal(cons_ledger_batch_reset(f->b, 5, token, NONE3, next), 0);
    assert_int_equal(cons_ledger_batch_set(f->b, "k:set", "v", 1), 0);
    assert_int_equal(cons_ledger_batch_hincrby(f->b, "a:zset", "f", 1), 0);
    assert_int_equal(commit(f, NULL), CONS_LEDGER_ERROR);
    assert_non_null(strstr(f->err, "BADOP"));
    assert_false(raw_exists(f, "k:set"));
    assert_offsets(f, 5, NONE3);

    /* HINCRBY beyond 2^53 - 1. */
    freeReplyObject(raw_cmd(f->raw, "HSET big f 9007199254740990"));
    assert_int_equal(cons_ledger_batch_reset(f->b, 5, token, NONE3, next), 0);
    assert_int_equal(cons_ledger_batch_set(f->b, "k:set", "v", 1), 0);
    assert_int_equal(cons_ledger_batch_hincrby(f->b, "big", "f", 2), 0);
    assert_int_equal(commit(f, NULL), CONS_LEDGER_ERROR);
    assert_non_null(strstr(f->err, "BADOP"));
    assert_false(raw_exists(f, "k:set"));

    /* An outbox entry whose seq or end offsets disagree with the ledger. */
    const uint8_t *entry;
    size_t len;
    build_batch(f, 5, token, NONE3, next, 0, "e");
    make_entry(f, 2, next, 1, "e", &entry, &len); /* seq should be 1 */
    assert_int_equal(cons_ledger_batch_outbox(f->b, entry, len), 0);
    assert_int_equal(commit(f, NULL), CONS_LEDGER_ERROR);
    assert_non_null(strstr(f->err, "seq"));
    const int64_t other[3] = {4, -1, -1};
    build_batch(f, 5, token, NONE3, next, 0, "e");
    make_entry(f, 1, other, 1, "e", &entry, &len);
    assert_int_equal(cons_ledger_batch_outbox(f->b, entry, len), 0);
    assert_int_equal(commit(f, NULL), CONS_LEDGER_ERROR);
    assert_non_null(strstr(f->err, "end offset"));
    assert_false(raw_exists(f, "blob:e"));
    assert_false(raw_exists(f, "inc:outbox:5"));

    /* An op on the ledger key itself; a batch that advances nothing. */
    assert_int_equal(cons_ledger_batch_reset(f->b, 5, token, NONE3, next), 0);
    assert_int_equal(cons_ledger_batch_del(f->b, "inc:ledger:5"), 0);
    assert_int_equal(commit(f, NULL), CONS_LEDGER_ERROR);
    assert_int_equal(cons_ledger_batch_reset(f->b, 5, token, NONE3, NONE3), 0);
    assert_int_equal(cons_ledger_batch_set(f->b, "k:set", "v", 1), 0);
    assert_int_equal(commit(f, NULL), CONS_LEDGER_ERROR);
    assert_non_null(strstr(f->err, "advance"));
    assert_false(raw_exists(f, "k:set"));
    assert_offsets(f, 5, NONE3);
    assert_int_equal(raw_hget_i64(f, "inc:ledger:5", "fence"), token);

    /* A poisoned batch (NULL key) is refused locally. */
    assert_int_equal(cons_ledger_batch_reset(f->b, 5, token, NONE3, next), 0);
    assert_int_equal(cons_ledger_batch_set(f->b, NULL, "v", 1), -1);
    assert_int_equal(commit(f, NULL), CONS_LEDGER_ERROR);

    /* The same partition still commits normally afterwards. */
    build_batch(f, 5, token, NONE3, next, 1, "ok");
    assert_int_equal(commit(f, NULL), CONS_LEDGER_OK);
}

static void test_trim_removes_only_published_entries(void **state)
{
    fx *f = *state;
    int64_t token = acquire(f, 6, NULL, NULL), seq = 0;
    const int64_t n1[3] = {5, -1, -1}, n2[3] = {9, 3, -1}, n3[3] = {12, 3, 7};
    build_batch(f, 6, token, NONE3, n1, 1, "t1");
    assert_int_equal(commit(f, &seq), CONS_LEDGER_OK);
    build_batch(f, 6, token, n1, n2, 2, "t2");
    assert_int_equal(commit(f, &seq), CONS_LEDGER_OK);
    build_batch(f, 6, token, n2, n3, 3, "t3");
    assert_int_equal(commit(f, &seq), CONS_LEDGER_OK);
    assert_int_equal(seq, 3);
    assert_int_equal(raw_llen(f, "inc:outbox:6"), 3);

    int trimmed = -1;
    const int64_t nothing[3] = {-1001, -1001, -1001}; /* librdkafka's "no offset" */
    assert_int_equal(cons_ledger_trim(f->l, 6, token, nothing, &trimmed),
                     CONS_LEDGER_OK);
    assert_int_equal(trimmed, 0);
    const int64_t c_partial[3] = {9, 2, -1}; /* entry 2 needs registrations ≥ 3 */
    assert_int_equal(cons_ledger_trim(f->l, 6, token, c_partial, &trimmed),
                     CONS_LEDGER_OK);
    assert_int_equal(trimmed, 1);
    const int64_t c_two[3] = {100, 3, 6};    /* entry 3 needs surveys ≥ 7 */
    assert_int_equal(cons_ledger_trim(f->l, 6, token, c_two, &trimmed),
                     CONS_LEDGER_OK);
    assert_int_equal(trimmed, 1);

    cons_ledger_outbox *ob = NULL;
    assert_int_equal(cons_ledger_outbox_read(f->l, 6, &ob), CONS_LEDGER_OK);
    assert_int_equal(ob->n, 1);
    assert_int_equal(ob->entries[0].seq, 3);
    assert_memory_equal(ob->entries[0].end_offsets, n3, sizeof n3);
    cons_ledger_outbox_free(ob);

    assert_int_equal(cons_ledger_trim(f->l, 6, token, n3, &trimmed),
                     CONS_LEDGER_OK);
    assert_int_equal(trimmed, 1);
    assert_false(raw_exists(f, "inc:outbox:6"));
    assert_int_equal(cons_ledger_trim(f->l, 6, token, n3, &trimmed),
                     CONS_LEDGER_OK);
    assert_int_equal(trimmed, 0);
    assert_int_equal(cons_ledger_outbox_read(f->l, 6, &ob), CONS_LEDGER_OK);
    assert_int_equal(ob->n, 0);
    cons_ledger_outbox_free(ob);

    /* A corrupt entry is an error, not skipped. */
    freeReplyObject(raw_cmd(f->raw, "RPUSH inc:outbox:6 garbage"));
    assert_int_equal(cons_ledger_outbox_read(f->l, 6, &ob), CONS_LEDGER_ERROR);
    assert_null(ob);
    assert_non_null(strstr(cons_ledger_last_error(f->l), "corrupt"));
    /* seq keeps counting after trims. */
    int64_t s;
    acquire(f, 6, NULL, &s);
    assert_int_equal(s, 3);
}

static void test_get_blobs(void **state)
{
    fx *f = *state;
    enum { N = 1300 };                   /* > 2 MGET chunks */
    static char names[N][16];
    const char *keys[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "g:%d", i);
        keys[i] = names[i];
        if (i % 3 == 0)
            freeReplyObject(raw_cmd(f->raw, "SET %s %b", names[i], "v\0", (size_t)2));
    }
    freeReplyObject(raw_cmd(f->raw, "DEL g:3"));
    freeReplyObject(raw_cmd(f->raw, "HSET g:3 f v")); /* not a string: reads as missing */
    static cons_ledger_blob out[N];
    assert_int_equal(cons_ledger_get_blobs(f->l, N, keys, out), CONS_LEDGER_OK);
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0 && i != 3) {
            assert_non_null(out[i].data);
            assert_int_equal(out[i].len, 2);
            assert_memory_equal(out[i].data, "v\0", 3); /* + the convenience NUL */
        } else {
            assert_null(out[i].data);
        }
        free(out[i].data);
    }
    assert_int_equal(cons_ledger_get_blobs(f->l, 0, NULL, NULL), CONS_LEDGER_OK);
    cons_ledger_blob one;
    const char *k1[1] = {"g:0"};
    assert_int_equal(cons_ledger_get_blobs(f->l, 1, k1, &one), CONS_LEDGER_OK);
    assert_int_equal(one.len, 2);
    free(one.data);
}

/* The entry ops of the split partner state: HSET with binary values and HDEL of many
 * fields (more than one 200-field chunk), in one commit; HDEL of a missing field is fine,
 * a later HINCRBY of a deleted field starts from 0, HDEL on a non-hash is refused before
 * anything is written; HGETALL reads the entries back byte for byte. */
static void test_entry_ops(void **state)
{
    fx *f = *state;
    enum { N = 450 };
    static char names[N][24];
    static uint8_t vals[N][4];
    const char *fields[N];
    const void *values[N];
    size_t lens[N];
    int64_t token = acquire(f, 7, NULL, NULL);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "s%016x", (unsigned)i);
        fields[i] = names[i];
        vals[i][0] = 0;                          /* binary, with a NUL first */
        vals[i][1] = (uint8_t)i;
        vals[i][2] = (uint8_t)(i >> 8);
        vals[i][3] = 0xff;
        values[i] = vals[i];
        lens[i] = 4;
    }
    const int64_t next1[3] = {1, -1, -1}, next1b[3] = {1, 0, -1}, next2[3] = {2, 0, -1},
                  next3[3] = {3, 0, -1};
    assert_int_equal(cons_ledger_batch_reset(f->b, 7, token, NONE3, next1), 0);
    assert_int_equal(cons_ledger_batch_hset_bin(f->b, "inc:sales:p", N, fields, values, lens), 0);
    assert_int_equal(cons_ledger_batch_hincrby(f->b, "inc:sales:p", "n", 5), 0);
    assert_int_equal(commit(f, NULL), CONS_LEDGER_OK);

    cons_ledger_hash h;
    assert_int_equal(cons_ledger_get_hash(f->l, "inc:sales:p", &h), CONS_LEDGER_OK);
    assert_int_equal(h.n, N + 1);
    int found = 0;
    for (int i = 0; i < h.n; i++) {
        unsigned k;
        if (sscanf((const char *)h.fields[i].data, "s%x", &k) == 1 && k < N) {
            assert_int_equal(h.values[i].len, 4);
            assert_memory_equal(h.values[i].data, vals[k], 4);
            found++;
        }
    }
    assert_int_equal(found, N);
    cons_ledger_hash_free(&h);

    /* one ZADD with 450 members (three 200-pair chunks), negative and 2^53 scores */
    static int64_t scores[N];
    for (int i = 0; i < N; i++)
        scores[i] = i % 2 ? -(int64_t)i : (int64_t)i << 40;
    /* HINCRBY after HSET of the same field in one batch sees the HSET value */
    const char *nf[1] = {"n"};
    const void *nv[1] = {"40"};
    const size_t nl[1] = {2};
    assert_int_equal(cons_ledger_batch_reset(f->b, 7, token, next1, next1b), 0);
    assert_int_equal(cons_ledger_batch_zadd_many(f->b, "inc:lb:z", N, scores, fields), 0);
    assert_int_equal(cons_ledger_batch_hset_bin(f->b, "inc:sales:p", 1, nf, nv, nl), 0);
    assert_int_equal(cons_ledger_batch_hincrby(f->b, "inc:sales:p", "n", 2), 0);
    assert_int_equal(commit(f, NULL), CONS_LEDGER_OK);
    assert_int_equal(raw_hget_i64(f, "inc:sales:p", "n"), 42);
    redisReply *z = raw_cmd(f->raw, "ZCARD inc:lb:z");
    assert_int_equal(z->integer, N);
    freeReplyObject(z);
    z = raw_cmd(f->raw, "ZSCORE inc:lb:z %s", fields[N - 1]);
    assert_int_equal(strtoll(z->str, NULL, 10), scores[N - 1]);
    freeReplyObject(z);
    z = raw_cmd(f->raw, "ZSCORE inc:lb:z %s", fields[N - 2]);
    assert_int_equal(strtoll(z->str, NULL, 10), scores[N - 2]);
    freeReplyObject(z);

    /* delete all but the last 10, plus a field that does not exist; then "n" again */
    const char *del[N - 10 + 2];
    for (int i = 0; i < N - 10; i++)
        del[i] = fields[i];
    del[N - 10] = "never-there";
    del[N - 9] = "n";
    assert_int_equal(cons_ledger_batch_reset(f->b, 7, token, next1b, next2), 0);
    assert_int_equal(cons_ledger_batch_hdel(f->b, "inc:sales:p", N - 8, del), 0);
    assert_int_equal(cons_ledger_batch_hincrby(f->b, "inc:sales:p", "n", 2), 0);
    assert_int_equal(commit(f, NULL), CONS_LEDGER_OK);
    redisReply *r = raw_cmd(f->raw, "HLEN inc:sales:p");
    assert_int_equal(r->integer, 11);
    freeReplyObject(r);
    assert_int_equal(raw_hget_i64(f, "inc:sales:p", "n"), 2);   /* from 0, not 5 */

    /* HDEL on a string: refused, and the SET before it is not written */
    freeReplyObject(raw_cmd(f->raw, "SET inc:str x"));
    assert_int_equal(cons_ledger_batch_reset(f->b, 7, token, next2, next3), 0);
    assert_int_equal(cons_ledger_batch_set(f->b, "k:before", "v", 1), 0);
    assert_int_equal(cons_ledger_batch_hdel(f->b, "inc:str", 1, fields), 0);
    assert_int_equal(commit(f, NULL), CONS_LEDGER_ERROR);
    assert_non_null(strstr(f->err, "BADOP HDEL"));
    assert_false(raw_exists(f, "k:before"));
    assert_offsets(f, 7, next2);
    /* a missing hash reads as no entries; a key of another type says so (the worker then
     * reads a version-2 blob there) */
    assert_int_equal(cons_ledger_get_hash(f->l, "inc:none", &h), CONS_LEDGER_OK);
    assert_int_equal(h.n, 0);
    assert_false(h.not_hash);
    assert_int_equal(cons_ledger_get_hash(f->l, "inc:str", &h), CONS_LEDGER_OK);
    assert_int_equal(h.n, 0);
    assert_true(h.not_hash);
    /* bad arguments poison the batch */
    assert_int_equal(cons_ledger_batch_reset(f->b, 7, token, next2, next3), 0);
    assert_int_equal(cons_ledger_batch_hdel(f->b, "inc:sales:p", 0, fields), -1);
    assert_int_equal(commit(f, NULL), CONS_LEDGER_ERROR);
}

/* The reply is lost after Redis applied the batch: the adapter reads the offsets back,
 * sees `next`, and reports OK without applying the batch a second time. */
static void test_lost_reply_is_recognised_as_applied(void **state)
{
    fx *f = *state;
    int64_t token = acquire(f, 7, NULL, NULL), seq = 0;
    const int64_t n1[3] = {5, -1, -1}, n2[3] = {8, -1, -1};
    build_batch(f, 7, token, NONE3, n1, 1, "a");
    cons_ledger_stats st0, st1;
    cons_ledger_get_stats(f->l, &st0);
    cons_ledger_inject_fault(f->l, CONS_LEDGER_FAULT_LOSE_REPLY);
    assert_int_equal(commit(f, &seq), CONS_LEDGER_OK);
    assert_int_equal(seq, 1);
    cons_ledger_get_stats(f->l, &st1);
    assert_int_equal(st1.lost_replies - st0.lost_replies, 1);
    assert_int_equal(st1.resolved_applied - st0.resolved_applied, 1);
    assert_int_equal(st1.resends - st0.resends, 0);
    assert_int_equal(st1.connects - st0.connects, 1);
    assert_int_equal(raw_hget_i64(f, "kpi", "rev"), 100); /* once, not twice */
    assert_int_equal(raw_llen(f, "inc:outbox:7"), 1);
    assert_offsets(f, 7, n1);

    /* The request itself is lost: nothing applied, the adapter sends it again. */
    build_batch(f, 7, token, n1, n2, 2, "b");
    cons_ledger_inject_fault(f->l, CONS_LEDGER_FAULT_LOSE_REQUEST);
    assert_int_equal(commit(f, &seq), CONS_LEDGER_OK);
    assert_int_equal(seq, 2);
    cons_ledger_get_stats(f->l, &st0);
    assert_int_equal(st0.resends - st1.resends, 1);
    assert_int_equal(st0.resolved_applied, st1.resolved_applied);
    assert_int_equal(raw_hget_i64(f, "kpi", "rev"), 200);
    assert_int_equal(raw_llen(f, "inc:outbox:7"), 2);
    assert_offsets(f, 7, n2);

    /* Lost reply, and meanwhile another worker took the partition: FENCED. */
    const int64_t n3[3] = {9, -1, -1};
    build_batch(f, 7, token, n2, n3, 3, "c");
    cons_ledger_inject_fault(f->l, CONS_LEDGER_FAULT_LOSE_REPLY);
    freeReplyObject(raw_cmd(f->raw, "HINCRBY inc:ledger:7 fence 1"));
    assert_int_equal(commit(f, &seq), CONS_LEDGER_FENCED);
    assert_offsets(f, 7, n2);
}

/* The trim folded into the next commit: entries covered by the published offsets go,
 * the others stay, and the new entry is appended after them. */
static void test_commit_trims_published(void **state)
{
    fx *f = *state;
    int64_t token = acquire(f, 9, NULL, NULL), seq = 0;
    const int64_t n1[3] = {5, -1, -1}, n2[3] = {9, 3, -1}, n3[3] = {12, 3, 7};
    build_batch(f, 9, token, NONE3, n1, 1, "t1");
    assert_int_equal(commit(f, &seq), CONS_LEDGER_OK);
    /* Kafka has nothing yet: entry 1 stays. */
    build_batch(f, 9, token, n1, n2, 2, "t2");
    assert_int_equal(cons_ledger_batch_published(f->b, NONE3), 0);
    assert_int_equal(commit(f, &seq), CONS_LEDGER_OK);
    assert_int_equal(raw_llen(f, "inc:outbox:9"), 2);
    /* Kafka has entry 1 but not entry 2 (registrations offset 3 is not covered). */
    const int64_t pub[3] = {9, 2, -1};
    build_batch(f, 9, token, n2, n3, 3, "t3");
    assert_int_equal(cons_ledger_batch_published(f->b, pub), 0);
    assert_int_equal(commit(f, &seq), CONS_LEDGER_OK);
    assert_int_equal(seq, 3);
    assert_int_equal(raw_llen(f, "inc:outbox:9"), 2);
    cons_ledger_outbox *ob = NULL;
    assert_int_equal(cons_ledger_outbox_read(f->l, 9, &ob), CONS_LEDGER_OK);
    assert_int_equal(ob->n, 2);
    assert_int_equal(ob->entries[0].seq, 2);
    assert_int_equal(ob->entries[1].seq, 3);
    cons_ledger_outbox_free(ob);
    /* A bad published offset is refused locally. */
    const int64_t bad[3] = {-2, -1, -1};
    build_batch(f, 9, token, n3, n3, 0, "t4");
    assert_int_equal(cons_ledger_batch_published(f->b, bad), -1);
    assert_int_equal(commit(f, NULL), CONS_LEDGER_ERROR);
}

/* ---- cons_ledger_commit_many: the calls of one batch in one pipelined round trip ---- */

#define MANY 3

typedef struct {
    cons_ledger_batch *b[MANY];
    cons_ledger_status st[MANY];
    int64_t seq[MANY], token[MANY];
} many;

/* Partitions 20, 21, 22, each acquired, each with its first batch (tag "m<p>"). */
static void many_build(fx *f, many *m)
{
    static const int64_t next[3] = {4, -1, -1};
    char tag[8];
    for (int i = 0; i < MANY; i++) {
        if (m->b[i] == NULL)
            m->b[i] = cons_ledger_batch_new(f->l);
        assert_non_null(m->b[i]);
        m->token[i] = acquire(f, 20 + i, NULL, NULL);
        snprintf(tag, sizeof tag, "m%d", 20 + i);
        build_into(f, m->b[i], 20 + i, m->token[i], NONE3, next, 1, tag);
    }
}

static void many_free(many *m)
{
    for (int i = 0; i < MANY; i++)
        cons_ledger_batch_destroy(m->b[i]);
}

static cons_ledger_status many_commit(fx *f, many *m)
{
    return cons_ledger_commit_many(f->l, MANY, m->b, m->st, m->seq, f->err, sizeof f->err);
}

/* Every batch applied exactly once, as three single commits would have. */
static void assert_many_applied(fx *f, const many *m)
{
    static const int64_t next[3] = {4, -1, -1};
    char key[64];
    for (int i = 0; i < MANY; i++) {
        assert_int_equal(m->st[i], CONS_LEDGER_OK);
        assert_int_equal(m->seq[i], 1);
        snprintf(key, sizeof key, "inc:outbox:%d", 20 + i);
        assert_int_equal(raw_llen(f, key), 1);
        snprintf(key, sizeof key, "blob:m%d", 20 + i);
        assert_true(raw_exists(f, key));
        assert_offsets(f, 20 + i, next);
    }
    assert_int_equal(raw_hget_i64(f, "kpi", "rev"), 100 * MANY);   /* once each */
}

static void test_commit_many_applies_each_once(void **state)
{
    fx *f = *state;
    many m = {0};
    many_build(f, &m);
    cons_ledger_stats s0, s1;
    cons_ledger_get_stats(f->l, &s0);
    assert_int_equal(many_commit(f, &m), CONS_LEDGER_OK);
    cons_ledger_get_stats(f->l, &s1);
    assert_many_applied(f, &m);
    assert_int_equal(s1.connects, s0.connects);
    assert_int_equal(s1.lost_replies, s0.lost_replies);
    many_free(&m);
}

/* A fenced batch in the middle: refused alone, the others applied. */
static void test_commit_many_fenced_one(void **state)
{
    fx *f = *state;
    many m = {0};
    many_build(f, &m);
    freeReplyObject(raw_cmd(f->raw, "HINCRBY inc:ledger:21 fence 1"));
    assert_int_equal(many_commit(f, &m), CONS_LEDGER_FENCED);
    assert_int_equal(m.st[0], CONS_LEDGER_OK);
    assert_int_equal(m.st[1], CONS_LEDGER_FENCED);
    assert_int_equal(m.st[2], CONS_LEDGER_OK);
    assert_non_null(strstr(f->err, "FENCED"));
    assert_false(raw_exists(f, "blob:m21"));
    assert_false(raw_exists(f, "inc:outbox:21"));
    assert_offsets(f, 21, NONE3);
    assert_true(raw_exists(f, "blob:m22"));
    assert_int_equal(raw_hget_i64(f, "kpi", "rev"), 200);
    many_free(&m);
}

/* A deal claim changed under the second batch: STALE for it alone. */
static void test_commit_many_stale_one(void **state)
{
    fx *f = *state;
    many m = {0};
    many_build(f, &m);
    freeReplyObject(raw_cmd(f->raw, "SET claim now"));
    assert_int_equal(cons_ledger_batch_expect(m.b[1], "claim", "before", 6), 0);
    assert_int_equal(many_commit(f, &m), CONS_LEDGER_STALE);
    assert_int_equal(m.st[0], CONS_LEDGER_OK);
    assert_int_equal(m.st[1], CONS_LEDGER_STALE);
    assert_int_equal(m.st[2], CONS_LEDGER_OK);
    assert_false(raw_exists(f, "blob:m21"));
    assert_offsets(f, 21, NONE3);
    many_free(&m);
}

/* The pipeline's replies are lost after Redis ran every call: each batch is read back
 * and found applied; none is applied twice. */
static void test_commit_many_lost_replies(void **state)
{
    fx *f = *state;
    many m = {0};
    many_build(f, &m);
    cons_ledger_stats s0, s1;
    cons_ledger_get_stats(f->l, &s0);
    cons_ledger_inject_fault(f->l, CONS_LEDGER_FAULT_LOSE_REPLY);
    assert_int_equal(many_commit(f, &m), CONS_LEDGER_OK);
    cons_ledger_get_stats(f->l, &s1);
    assert_many_applied(f, &m);
    assert_int_equal(s1.lost_replies - s0.lost_replies, MANY);
    assert_int_equal(s1.resolved_applied - s0.resolved_applied, MANY);
    assert_int_equal(s1.resends - s0.resends, 0);
    many_free(&m);
}

/* The pipeline never left the process: every batch is sent again, applied once. */
static void test_commit_many_lost_request(void **state)
{
    fx *f = *state;
    many m = {0};
    many_build(f, &m);
    cons_ledger_stats s0, s1;
    cons_ledger_get_stats(f->l, &s0);
    cons_ledger_inject_fault(f->l, CONS_LEDGER_FAULT_LOSE_REQUEST);
    assert_int_equal(many_commit(f, &m), CONS_LEDGER_OK);
    cons_ledger_get_stats(f->l, &s1);
    assert_many_applied(f, &m);
    assert_int_equal(s1.connects - s0.connects, 1);
    assert_int_equal(s1.resolved_applied, s0.resolved_applied);
    many_free(&m);
}

/* The library vanished (FUNCTION FLUSH): every call is refused, the first resend loads
 * it once, the others go through. */
static void test_commit_many_reloads_function(void **state)
{
    fx *f = *state;
    many m = {0};
    many_build(f, &m);
    freeReplyObject(raw_cmd(f->raw, "FUNCTION FLUSH"));
    cons_ledger_stats s0, s1;
    cons_ledger_get_stats(f->l, &s0);
    assert_int_equal(many_commit(f, &m), CONS_LEDGER_OK);
    cons_ledger_get_stats(f->l, &s1);
    assert_many_applied(f, &m);
    assert_int_equal(s1.reloads - s0.reloads, 1);
    many_free(&m);
}

/* FUNCTION DELETE / FLUSH (or a restart without persistence) → reloaded on demand. */
static void test_function_reloaded_when_missing(void **state)
{
    fx *f = *state;
    freeReplyObject(raw_cmd(f->raw, "FUNCTION DELETE partner_incentives"));
    int64_t token = acquire(f, 8, NULL, NULL);
    assert_int_equal(token, 1);
    freeReplyObject(raw_cmd(f->raw, "FUNCTION FLUSH"));
    const int64_t n1[3] = {1, -1, -1};
    build_batch(f, 8, token, NONE3, n1, 1, "r");
    assert_int_equal(commit(f, NULL), CONS_LEDGER_OK);
    freeReplyObject(raw_cmd(f->raw, "FUNCTION FLUSH"));
    int trimmed;
    assert_int_equal(cons_ledger_trim(f->l, 8, token, n1, &trimmed),
                     CONS_LEDGER_OK);
    assert_int_equal(trimmed, 1);
    cons_ledger_stats st;
    cons_ledger_get_stats(f->l, &st);
    assert_int_equal(st.reloads, 3);
}

static void test_auth(void **state)
{
    fx *f = *state;
    freeReplyObject(raw_cmd(f->raw, "CONFIG SET requirepass s3cret"));
    char err[256];
    cons_ledger *l = cons_ledger_new("127.0.0.1", f->srv->port, NULL, "s3cret", "inc", 3, TOPICS,
                                     err, sizeof err);
    cons_ledger *bad = cons_ledger_new("127.0.0.1", f->srv->port, NULL, "wrong", "inc", 3, TOPICS,
                                       err, sizeof err);
    char bad_err[256];
    snprintf(bad_err, sizeof bad_err, "%s", err);
    cons_ledger *none = cons_ledger_new("127.0.0.1", f->srv->port, NULL, NULL, "inc", 3, TOPICS,
                                        err, sizeof err);
    /* Undo before asserting, so a failure does not break the other tests. */
    freeReplyObject(raw_cmd(f->raw, "AUTH s3cret"));
    freeReplyObject(raw_cmd(f->raw, "CONFIG SET requirepass %s", ""));
    bool ok = l != NULL;
    cons_ledger_destroy(l);
    cons_ledger_destroy(bad);
    cons_ledger_destroy(none);
    assert_true(ok);
    assert_null(bad);
    assert_non_null(strstr(bad_err, "AUTH"));
    assert_null(none);
}

/* A Redis 6 ACL user: AUTH user password; the wrong user with the right password fails. */
static void test_auth_acl_user(void **state)
{
    fx *f = *state;
    freeReplyObject(raw_cmd(f->raw, "ACL SETUSER pi-worker on >w0rker ~* &* +@all"));
    char err[256], bad_err[256];
    cons_ledger *l = cons_ledger_new("127.0.0.1", f->srv->port, "pi-worker", "w0rker", "inc", 3,
                                     TOPICS, err, sizeof err);
    cons_ledger *bad = cons_ledger_new("127.0.0.1", f->srv->port, "nobody", "w0rker", "inc", 3,
                                       TOPICS, bad_err, sizeof bad_err);
    freeReplyObject(raw_cmd(f->raw, "ACL DELUSER pi-worker"));
    bool ok = l != NULL;
    cons_ledger_destroy(l);
    cons_ledger_destroy(bad);
    assert_true(ok);
    assert_null(bad);
    assert_non_null(strstr(bad_err, "AUTH"));
    assert_null(strstr(bad_err, "w0rker"));          /* the password is never in a message */
}

static void test_bad_arguments(void **state)
{
    fx *f = *state;
    char err[256];
    const char *dup[2] = {"a", "a"};
    assert_null(cons_ledger_new("127.0.0.1", f->srv->port, NULL, NULL, NULL, 2, dup, err, sizeof err));
    assert_null(cons_ledger_new("127.0.0.1", f->srv->port, NULL, NULL, NULL, 0, TOPICS, err, sizeof err));
    /* Nothing listens on port 1. */
    assert_null(cons_ledger_new("127.0.0.1", 1, NULL, NULL, NULL, 3, TOPICS, err, sizeof err));
    assert_non_null(strstr(err, "127.0.0.1:1"));
    const int64_t bad[3] = {-2, -1, -1};
    assert_int_equal(cons_ledger_batch_reset(f->b, 0, 1, bad, NONE3), -1);
    assert_int_equal(cons_ledger_batch_set(f->b, "k", "v", 1), -1); /* not reset */
    assert_int_equal(commit(f, NULL), CONS_LEDGER_ERROR);
    assert_string_equal(cons_ledger_status_str(CONS_LEDGER_FENCED),
                        "fenced: another worker owns the partition");
}

/* kill -9 between two commits (appendonly yes, appendfsync always): the state survives,
 * the function library survives (FUNCTION LOAD is persisted), the next commit
 * reconnects, and a lost reply right after the restart is still recognised. */
static void test_redis_restart_between_commits(void **state)
{
    fx *f = *state;
    int64_t token = acquire(f, 0, NULL, NULL), seq = 0;
    const int64_t n1[3] = {5, -1, -1}, n2[3] = {6, 1, -1}, n3[3] = {7, 1, 2};
    build_batch(f, 0, token, NONE3, n1, 1, "before");
    assert_int_equal(commit(f, &seq), CONS_LEDGER_OK);

    redisFree(f->raw);
    f->raw = NULL;
    th_redis_kill(&f->own, SIGKILL);
    assert_int_equal(th_redis_restart(&f->own, f->err, sizeof f->err), 0);
    f->raw = th_redis_connect(&f->own);
    assert_non_null(f->raw);
    redisReply *r = raw_cmd(f->raw, "FUNCTION LIST LIBRARYNAME partner_incentives");
    assert_int_equal(r->elements, 1);
    freeReplyObject(r);
    assert_true(raw_exists(f, "blob:before"));
    assert_offsets(f, 0, n1);

    build_batch(f, 0, token, n1, n2, 2, "after");
    assert_int_equal(commit(f, &seq), CONS_LEDGER_OK);
    assert_int_equal(seq, 2);
    cons_ledger_stats st;
    cons_ledger_get_stats(f->l, &st);
    assert_int_equal(st.connects, 2);      /* it did reconnect */
    assert_int_equal(st.reloads, 0);       /* the library survived the crash */
    assert_int_equal(raw_hget_i64(f, "kpi", "rev"), 200);
    assert_offsets(f, 0, n2);

    /* The first send after the crash went to the dead socket: its outcome was unknown,
     * the ledger was read back (offsets = expected) and the batch sent again. */
    assert_int_equal(st.lost_replies, 1);
    assert_int_equal(st.resends, 1);

    /* Restart again; now the reply of a commit that Redis applied is lost as well. */
    th_redis_kill(&f->own, SIGKILL);
    assert_int_equal(th_redis_restart(&f->own, f->err, sizeof f->err), 0);
    redisFree(f->raw);
    f->raw = th_redis_connect(&f->own);
    assert_non_null(f->raw);
    int64_t offs[3], s;
    token = acquire(f, 0, offs, &s);       /* reconnects; a new token, as on assignment */
    assert_memory_equal(offs, n2, sizeof n2);
    assert_int_equal(s, 2);
    build_batch(f, 0, token, n2, n3, 3, "lost");
    cons_ledger_inject_fault(f->l, CONS_LEDGER_FAULT_LOSE_REPLY);
    assert_int_equal(commit(f, &seq), CONS_LEDGER_OK);
    assert_int_equal(seq, 3);
    cons_ledger_get_stats(f->l, &st);
    assert_int_equal(st.connects, 4);
    assert_int_equal(st.resolved_applied, 1);
    assert_int_equal(raw_hget_i64(f, "kpi", "rev"), 300);
    assert_int_equal(raw_llen(f, "inc:outbox:0"), 3);
    assert_offsets(f, 0, n3);
}

typedef struct {
    fx *f;
    cons_ledger_status st;
    int64_t seq;
    char err[512];
} commit_job;

static void *commit_thread(void *arg)
{
    commit_job *j = arg;
    j->st = cons_ledger_commit(j->f->l, j->f->b, &j->seq, j->err, sizeof j->err);
    return NULL;
}

/* Redis is down when the commit starts and comes back before the retry deadline. */
static void test_commit_waits_for_redis_to_return(void **state)
{
    fx *f = *state;
    int64_t token = acquire(f, 1, NULL, NULL);
    const int64_t n1[3] = {5, -1, -1};
    build_batch(f, 1, token, NONE3, n1, 1, "late");
    redisFree(f->raw);
    f->raw = NULL;
    th_redis_kill(&f->own, SIGKILL);

    commit_job job = {f, CONS_LEDGER_ERROR, 0, ""};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, commit_thread, &job), 0);
    /* The server is started from this thread (th_redis_* stay on one thread). */
    int rc = th_redis_restart(&f->own, f->err, sizeof f->err);
    pthread_join(t, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(job.st, CONS_LEDGER_OK);
    assert_int_equal(job.seq, 1);
    cons_ledger_stats st;
    cons_ledger_get_stats(f->l, &st);
    assert_int_equal(st.connects, 2);
    assert_true(st.lost_replies >= 1);
    f->raw = th_redis_connect(&f->own);
    assert_non_null(f->raw);
    assert_int_equal(raw_hget_i64(f, "kpi", "rev"), 100);
    assert_offsets(f, 1, n1);
}

/* Redis stays down: the commit gives up at the deadline with ERROR; the same batch
 * commits once Redis is back. */
static void test_commit_gives_up_at_deadline(void **state)
{
    fx *f = *state;
    int64_t token = acquire(f, 2, NULL, NULL), seq = 0;
    const int64_t n1[3] = {5, -1, -1};
    build_batch(f, 2, token, NONE3, n1, 1, "down");
    redisFree(f->raw);
    f->raw = NULL;
    th_redis_kill(&f->own, SIGKILL);
    cons_ledger_set_timeouts(f->l, 200, 1000, 300);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(commit(f, &seq), CONS_LEDGER_ERROR);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms < 5000);
    assert_non_null(strstr(f->err, "unavailable"));

    assert_int_equal(th_redis_restart(&f->own, f->err, sizeof f->err), 0);
    f->raw = th_redis_connect(&f->own);
    assert_non_null(f->raw);
    assert_int_equal(commit(f, &seq), CONS_LEDGER_OK);
    assert_int_equal(seq, 1);
    assert_int_equal(raw_hget_i64(f, "kpi", "rev"), 100);
}

int main(void)
{
    /* hiredis 0.14 writes with write(2): a write to a socket Redis reset raises SIGPIPE.
     * The worker ignores it the same way. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_acquire_increments_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_applies_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_token_is_fenced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_expected_offsets_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expect_guards_shared_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_ops_write_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trim_removes_only_published_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_blobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_reply_is_recognised_as_applied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_function_reloaded_when_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_trims_published, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_many_applies_each_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_many_fenced_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_many_stale_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_many_lost_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_many_lost_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_many_reloads_function, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_acl_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_restart_between_commits, setup_aof, teardown),
        cmocka_unit_test_setup_teardown(test_commit_waits_for_redis_to_return, setup_aof, teardown),
        cmocka_unit_test_setup_teardown(test_commit_gives_up_at_deadline, setup_aof, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
