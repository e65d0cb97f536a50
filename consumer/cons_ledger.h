/*
 * cons_ledger.h — the Redis ledger: the Redis half of the delivery protocol (CONTRACT §7,
 * README "Delivery protocol"). One hiredis connection (RESP2) plus the Redis 7 Function library
 * `partner_incentives` (cons_ledger.lua, embedded at build time and loaded with
 * FUNCTION LOAD REPLACE).
 *
 * Per input partition p (namespace ns, default "inc"):
 *   <ns>:ledger:<p>  hash: fence, seq, off:<topic> (next offset to consume per input topic)
 *   <ns>:outbox:<p>  list of outbox entries (cons_outbox.h), oldest first
 *
 * The worker's part, per owned partition p:
 *   on assignment   cons_ledger_acquire()      → token, stored next offsets, seq
 *                   cons_ledger_outbox_read()  → republish entries Kafka lacks
 *   per batch       cons_ledger_batch_reset() + ops + cons_ledger_batch_outbox()
 *                   cons_ledger_commit()       → then the Kafka transaction
 *   after the txn   cons_ledger_trim()
 *
 * Offsets: "next offset to consume" everywhere; -1 means none (never consumed). Expected
 * offsets are the last committed next offsets (from acquire or the previous commit),
 * never the first offset of a batch: transactional topics have gaps.
 *
 * Failures: every call reconnects on a connection error (socket error, timeout, Redis
 * restarted) with backoff until the retry deadline (cons_ledger_set_timeouts), reloads
 * the function library when Redis answers "Function not found", and retries commands
 * Redis rejected unexecuted (LOADING, BUSY, TRYAGAIN). A commit whose reply was lost
 * is resolved by reading the ledger back: offsets equal to `next` → it was applied (OK);
 * equal to `expected` → it is sent again; else CONFLICT; another fence → FENCED.
 *
 * Threads: a cons_ledger and its batches belong to one thread at a time.
 * Errors: calls return a status; cons_ledger_last_error() holds one sentence about the
 * last call that did not return OK (commit also copies it into its err buffer).
 * SIGPIPE: hiredis 0.14 writes with write(2), so a write to a socket Redis has reset
 * raises SIGPIPE: the process must ignore it (signal(SIGPIPE, SIG_IGN) in main).
 */
#ifndef CONS_LEDGER_H
#define CONS_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONS_LEDGER_MAX_TOPICS 8        /* input topics (= CONS_OUTBOX_MAX_OFFSETS) */
#define CONS_LEDGER_NS_MAX 64           /* namespace bytes */
#define CONS_LEDGER_TOPIC_MAX 249       /* topic name bytes (Kafka's own limit) */
#define CONS_LEDGER_LIBRARY "partner_incentives"

#define CONS_LEDGER_STATUSES(X)                                                       \
    X(OK, "ok")                                                                       \
    X(FENCED, "fenced: another worker owns the partition")                            \
    X(CONFLICT, "conflict: stored offsets differ from the expected ones")             \
    X(STALE, "stale: shared state the batch read was changed by another worker")      \
    X(ERROR, "error")

typedef enum {
#define CONS_LEDGER_ENUM(name, text) CONS_LEDGER_##name,
    CONS_LEDGER_STATUSES(CONS_LEDGER_ENUM)
#undef CONS_LEDGER_ENUM
} cons_ledger_status;

/* @returns a constant sentence for s. */
const char *cons_ledger_status_str(cons_ledger_status s);

typedef struct cons_ledger cons_ledger;
typedef struct cons_ledger_batch cons_ledger_batch;

/* Connects to host:port (one attempt, connect timeout), AUTHs when password is not NULL
 * (as user, a Redis 6 ACL user, when user is not NULL; else as the default user),
 * and loads the function library (FUNCTION LOAD REPLACE; retried while Redis is still
 * LOADING, up to the retry deadline). ns: key namespace (NULL → "inc"; no ':' needed);
 * topic_names[0..n_topics): the input topics, in the order every offset array below
 * uses (1 ≤ n_topics ≤ CONS_LEDGER_MAX_TOPICS, distinct, 1..CONS_LEDGER_TOPIC_MAX
 * bytes). All strings are copied.
 * @returns the ledger, or NULL with a reason in err. Free with cons_ledger_destroy(). */
cons_ledger *cons_ledger_new(const char *host, int port, const char *user_or_NULL,
                             const char *password_or_NULL, const char *ns, int n_topics,
                             const char *const *topic_names, char *err, size_t errcap);
void cons_ledger_destroy(cons_ledger *l);

/* Timeouts in milliseconds (values ≤ 0 keep the current one). Defaults: connect 2000,
 * command 5000 (a reply slower than this counts as a lost connection), retry deadline
 * 15000 (how long one call keeps reconnecting before it returns ERROR). */
void cons_ledger_set_timeouts(cons_ledger *l, int connect_ms, int command_ms,
                              int retry_deadline_ms);

int cons_ledger_n_topics(const cons_ledger *l);

/* @returns the sentence about the last call that did not return OK ("" if none yet).
 * Valid until the next call on l. */
const char *cons_ledger_last_error(const cons_ledger *l);

/* Takes a new fencing token for partition p (the previous owner's calls now fail with
 * FENCED) and reads, in the same atomic call, the stored next offsets
 * (next_offsets[0..n_topics), -1 where none) and seq (entries ever appended, 0 if none).
 * A retried acquire may skip a token value; the returned one is the current one. */
cons_ledger_status cons_ledger_acquire(cons_ledger *l, int32_t p, int64_t *token,
                                       int64_t *next_offsets, int64_t *seq);

/* One outbox entry as read back: the whole entry (for cons_outbox_reader_init) and its
 * header, already validated (CRC and structure) by cons_outbox_reader_init. */
typedef struct {
    const uint8_t *bytes;
    size_t len;
    int64_t seq;
    int64_t end_offsets[CONS_LEDGER_MAX_TOPICS];   /* [0..n_topics) */
} cons_ledger_outbox_entry;

typedef struct {
    int n;
    cons_ledger_outbox_entry *entries;             /* oldest first */
} cons_ledger_outbox;

/* Reads partition p's whole outbox (LRANGE 0 -1) into *out, one allocation owned by the
 * caller: free it with cons_ledger_outbox_free(). An entry that is corrupt or whose
 * offset count is not n_topics makes the call fail (ERROR): nothing is skipped. To
 * reconcile, republish the entries with any end_offsets[t] > Kafka's committed offset
 * of topic t, in order. */
cons_ledger_status cons_ledger_outbox_read(cons_ledger *l, int32_t p, cons_ledger_outbox **out);
void cons_ledger_outbox_free(cons_ledger_outbox *ob);

/* Removes p's head entries whose end offsets are all ≤ committed[0..n_topics) (Kafka's
 * committed next offsets; any value < 0 means none); *trimmed = entries removed. Stops at
 * the first entry that is not covered. Fenced: FENCED if token is not current. */
cons_ledger_status cons_ledger_trim(cons_ledger *l, int32_t p, int64_t token,
                                    const int64_t *committed, int *trimmed);

/* A value read by cons_ledger_get_blobs: data is malloc'd (len bytes plus a NUL that is
 * not counted) and the caller free()s it; data NULL when the key is missing (or holds no
 * string). */
typedef struct {
    uint8_t *data;
    size_t len;
} cons_ledger_blob;

/* Reads n string keys in one pipelined round trip (MGETs of up to 512 keys each) into
 * out[0..n). On OK the caller owns every out[i].data; on failure every out[i] is
 * {NULL, 0} and there is nothing to free. */
cons_ledger_status cons_ledger_get_blobs(cons_ledger *l, int n, const char *const *keys,
                                         cons_ledger_blob *out);

/* A hash read by cons_ledger_get_hash: n field/value pairs, each malloc'd like a blob
 * (NUL-terminated, the NUL not counted). Free with cons_ledger_hash_free. */
typedef struct {
    int n;
    cons_ledger_blob *fields;
    cons_ledger_blob *values;
    bool not_hash;                   /* the key holds another type (n is 0) */
} cons_ledger_hash;

/* HGETALL key into *out (n 0 when the key is missing or not a hash: see not_hash). On OK
 * the caller owns *out; on failure *out is empty and there is nothing to free. */
cons_ledger_status cons_ledger_get_hash(cons_ledger *l, const char *key, cons_ledger_hash *out);
void cons_ledger_hash_free(cons_ledger_hash *h);

/* HGET key field into *out (data NULL when the field or key is missing). On OK the caller
 * owns out->data. */
cons_ledger_status cons_ledger_get_field(cons_ledger *l, const char *key, const char *field,
                                         cons_ledger_blob *out);

/* ---- batches -------------------------------------------------------------------- */

/* A reusable argument list for one pi_commit call. All bytes passed in are copied, so
 * the caller's buffers may be reused at once. Buffers grow and are kept across resets.
 * The batch refers to l (topic count and names, namespace) and must not outlive it;
 * create it after the ledger. Op calls
 * @return 0, or -1 on a bad argument or ENOMEM, after which the batch is poisoned and
 * cons_ledger_commit() returns ERROR until the next reset. */
cons_ledger_batch *cons_ledger_batch_new(const cons_ledger *l);
void cons_ledger_batch_destroy(cons_ledger_batch *b);

/* Starts a batch for partition p with the token from acquire. expected[i]: the stored
 * next offset of topic i the worker knows (-1 if none); next[i]: the next offset after
 * this batch (= expected[i] for a topic without records). At least one must advance. */
int cons_ledger_batch_reset(cons_ledger_batch *b, int32_t p, int64_t token,
                            const int64_t *expected, const int64_t *next);

/* Offsets the caller has seen committed in Kafka for this partition (-1: none, the
 * default after reset): the commit first trims the outbox entries they cover, as
 * cons_ledger_trim would, so the last batch's trim needs no round trip of its own. */
int cons_ledger_batch_published(cons_ledger_batch *b, const int64_t *published);

/* Write ops, applied in call order. Keys, fields, members, channels and messages are C
 * strings; SET values are binary (len bytes). Ops may not target the ledger or outbox
 * keys. Redis refuses argument lists of more than ~1M arguments: keep a batch to a few
 * hundred thousand ops. */
int cons_ledger_batch_set(cons_ledger_batch *b, const char *key, const void *val, size_t len);
int cons_ledger_batch_zadd(cons_ledger_batch *b, const char *key, int64_t score,
                           const char *member);
/* ZADD key scores[0] members[0] ... (n ≥ 1 pairs) in one op. */
int cons_ledger_batch_zadd_many(cons_ledger_batch *b, const char *key, int n,
                                const int64_t *scores, const char *const *members);
/* HSET key fields[0] values[0] ... (n ≥ 1 pairs). */
int cons_ledger_batch_hset(cons_ledger_batch *b, const char *key, int n,
                           const char *const *fields, const char *const *values);
/* The same with binary values (lens[i] bytes each). */
int cons_ledger_batch_hset_bin(cons_ledger_batch *b, const char *key, int n,
                               const char *const *fields, const void *const *values,
                               const size_t *lens);
/* HDEL key fields[0] ... (n ≥ 1); deleting a missing field is no error. */
int cons_ledger_batch_hdel(cons_ledger_batch *b, const char *key, int n,
                           const char *const *fields);
/* |by| and the resulting field value must stay within ±(2^53 - 1) (Lua doubles): the
 * commit is rejected as a whole (ERROR, "BADOP ...") otherwise. */
int cons_ledger_batch_hincrby(cons_ledger_batch *b, const char *key, const char *field,
                              int64_t by);
int cons_ledger_batch_del(cons_ledger_batch *b, const char *key);
/* An optimistic check, not a write: the commit fails with CONS_LEDGER_STALE (writing
 * nothing) unless the string `key` holds exactly val[0..len) — len 0 means the key must
 * not exist. For state other workers write too (deal claims): the caller redoes the
 * batch from the ledger's offsets after reloading it. */
int cons_ledger_batch_expect(cons_ledger_batch *b, const char *key, const void *val,
                             size_t len);
int cons_ledger_batch_publish(cons_ledger_batch *b, const char *channel, const char *msg);

/* The batch's outbox entry (cons_outbox_entry_finish() bytes), appended to p's outbox
 * as one list element. Its seq must be the ledger's seq + 1 and its end offsets must
 * equal `next`. Leave it out when the batch produced no records. */
int cons_ledger_batch_outbox(cons_ledger_batch *b, const void *entry, size_t len);

int cons_ledger_batch_n_ops(const cons_ledger_batch *b);

/* Applies the batch in one atomic FCALL pi_commit (one round trip): fence check, offset
 * check, ops, outbox append, new offsets. *seq_out = the ledger's seq afterwards.
 * @returns OK; FENCED (another owner: drop the partition); CONFLICT (stored offsets are
 * not `expected`: re-acquire); ERROR (bad batch — "BADOP ..." in err, nothing written —
 * or Redis unreachable past the retry deadline: outcome unknown, re-acquire). The batch
 * is unchanged and may be committed again. */
cons_ledger_status cons_ledger_commit(cons_ledger *l, cons_ledger_batch *b, int64_t *seq_out,
                                      char *err, size_t errcap);

/* Commits n batches (of distinct partitions) in one pipelined round trip: the FCALLs are
 * written together and their replies read in order, so Redis applies them in array
 * order exactly as n cons_ledger_commit calls would. st[i] and seq[i] are what
 * cons_ledger_commit would have returned for b[i]. A batch whose reply was lost (the
 * connection broke in the pipeline) is resolved as after any lost reply, by reading its
 * ledger back before sending it again; one that got a reply that wrote nothing (function
 * missing, LOADING) is sent again on its own. err: the message of the last failure.
 * @returns OK when every st[i] is OK, else the first status that is not. */
cons_ledger_status cons_ledger_commit_many(cons_ledger *l, int n, cons_ledger_batch *const *b,
                                           cons_ledger_status *st, int64_t *seq, char *err,
                                           size_t errcap);

/* Counters since cons_ledger_new (for metrics and tests). */
typedef struct {
    uint64_t connects;               /* successful connections, the first one included */
    uint64_t reloads;                /* FUNCTION LOADs after "Function not found" */
    uint64_t lost_replies;           /* commands sent whose reply never came */
    uint64_t resolved_applied;       /* lost commit replies found applied by reading back */
    uint64_t resends;                /* commits sent again after a lost reply */
} cons_ledger_stats;

void cons_ledger_get_stats(const cons_ledger *l, cons_ledger_stats *out);

/* ---- testing hooks -------------------------------------------------------------- */

typedef enum {
    CONS_LEDGER_FAULT_NONE = 0,
    /* The next command is not sent; the connection is dropped as if it failed. */
    CONS_LEDGER_FAULT_LOSE_REQUEST,
    /* The next command is executed, its reply discarded and the connection dropped. */
    CONS_LEDGER_FAULT_LOSE_REPLY
} cons_ledger_fault;

/* Arms a one-shot fault for the next command sent (tests only). */
void cons_ledger_inject_fault(cons_ledger *l, cons_ledger_fault f);

#endif
