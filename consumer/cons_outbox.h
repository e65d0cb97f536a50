/*
 * cons_outbox.h — encode and decode one outbox entry: the output records of one
 * partition batch, kept in Redis until Kafka has them (CONTRACT §7, README "Delivery protocol").
 *
 * An entry is binary-safe bytes. It starts with one ASCII line that the Lua side
 * (cons_ledger.lua) reads with string.match, then the records:
 *
 *   "PIO1 <seq> <n> <end_0> ... <end_{n-1}> <n_records> <body_len> <crc32>\n" <body>
 *
 *   seq        the ledger's entry count after this entry was appended (1, 2, ...)
 *   n          the number of input topics; end_i is the next offset to consume of input
 *              topic i after the batch (-1: that topic was never consumed)
 *   n_records  records in the body; body_len its length in bytes
 *   crc32      8 lower-case hex digits: CRC-32 (IEEE, as zlib's crc32) of the line up
 *              to and including the space before it, followed by the body
 *
 * All numbers are canonical decimals (no '+', no leading zeros). The body is the
 * records, each (integers big-endian; a length of 0xFFFFFFFF means a NULL key/value):
 *
 *   u8  topic  [i64 timestamp]  u32 key_len  key  u32 value_len  value  u16 n_headers
 *   n_headers × ( u16 name_len  name  u8 0  u32 value_len  value )
 *
 * The topic byte's high bit (CONS_OUTBOX_HAS_TIMESTAMP) says that a record timestamp
 * (epoch ms, ≥ 0) follows: a dead letter keeps its input record's timestamp; outputs
 * have none (the producer stamps them). Entries written before the flag existed never
 * set it, so they read back unchanged.
 *
 * Header names are stored with a terminating NUL (not counted in name_len), so a name
 * read back is also a C string (rd_kafka_header_add(..., name, -1, ...) is fine).
 *
 * The reader validates the whole entry (header, length, CRC, every record) before it
 * hands out the first record, so a republish never stops half-way through an entry.
 *
 * Ownership: a cons_outbox_entry owns its buffer; the bytes returned by _finish() stay
 * valid until the next call on that entry. A cons_outbox_reader owns nothing: the
 * records it yields point into the caller's entry bytes, which must outlive them.
 */
#ifndef CONS_OUTBOX_H
#define CONS_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#define CONS_OUTBOX_MAX_OFFSETS 8        /* input topics per entry */
#define CONS_OUTBOX_MAX_HEADERS 128      /* Kafka headers per record */
#define CONS_OUTBOX_MAX_TOPIC 127        /* output topic index: the topic byte's low bits */
#define CONS_OUTBOX_HAS_TIMESTAMP 0x80   /* topic byte flag: an i64 timestamp follows */
#define CONS_OUTBOX_MAX_NAME 0xFFFEu     /* header name bytes */
#define CONS_OUTBOX_MAX_VALUE 0xFFFFFFFEu /* key / value / header value bytes */
/* The ASCII line is never longer than this (newline included). */
#define CONS_OUTBOX_HEADER_MAX 320

#define CONS_OUTBOX_STATUSES(X)                                                   \
    X(OK, "ok")                                                                   \
    X(ENOMEM, "out of memory")                                                    \
    X(EINVAL, "invalid argument")                                                 \
    X(ECORRUPT, "corrupt or truncated outbox entry")

typedef enum {
#define CONS_OUTBOX_ENUM(name, text) CONS_OUTBOX_##name,
    CONS_OUTBOX_STATUSES(CONS_OUTBOX_ENUM)
#undef CONS_OUTBOX_ENUM
} cons_outbox_status;

/* @returns a constant sentence for s. */
const char *cons_outbox_status_str(cons_outbox_status s);

/* A Kafka record header: name_len bytes of name without any NUL (read back, the name
 * is NUL-terminated as well); value NULL means a header without a value (distinct from
 * an empty one). */
typedef struct {
    const char *name;
    size_t name_len;
    const void *value;
    size_t value_len;
} cons_outbox_header;

/* One record as read back: every pointer points into the entry bytes. key / value NULL
 * means a NULL key / value (Kafka distinguishes it from an empty one). */
typedef struct {
    int topic;
    int64_t timestamp;                   /* epoch ms, or -1: none (the producer's clock) */
    const uint8_t *key;
    size_t key_len;
    const uint8_t *value;
    size_t value_len;
    int n_headers;
    cons_outbox_header headers[CONS_OUTBOX_MAX_HEADERS];
} cons_outbox_record;

/* ---- building ------------------------------------------------------------------- */

typedef struct cons_outbox_entry cons_outbox_entry;

/* @returns an empty entry, or NULL on ENOMEM. Free with cons_outbox_entry_destroy(). */
cons_outbox_entry *cons_outbox_entry_new(void);
void cons_outbox_entry_destroy(cons_outbox_entry *e);

/* Drops the records, keeps the buffer (reuse one entry for every batch). */
void cons_outbox_entry_reset(cons_outbox_entry *e);

/* Appends a record; the bytes are copied. topic in [0, CONS_OUTBOX_MAX_TOPIC];
 * key / value NULL for a NULL key / value; at most CONS_OUTBOX_MAX_HEADERS headers.
 * @returns CONS_OUTBOX_OK, _EINVAL (nothing appended) or _ENOMEM (nothing appended). */
cons_outbox_status cons_outbox_entry_add_record(cons_outbox_entry *e, int topic,
                                                const void *key, size_t key_len,
                                                const void *value, size_t value_len,
                                                const cons_outbox_header *headers,
                                                int n_headers);

/* The same with a record timestamp (epoch ms ≥ 0, kept for the producer; -1: none, as
 * cons_outbox_entry_add_record). */
cons_outbox_status cons_outbox_entry_add_record_ts(cons_outbox_entry *e, int topic,
                                                   int64_t timestamp, const void *key,
                                                   size_t key_len, const void *value,
                                                   size_t value_len,
                                                   const cons_outbox_header *headers,
                                                   int n_headers);

int cons_outbox_entry_count(const cons_outbox_entry *e);

/* Writes the header line in front of the records and points *data / *len at the whole
 * entry. seq ≥ 1 (the ledger checks it is its entry count + 1); end_offsets[0..n) ≥ -1,
 * 1 ≤ n ≤ CONS_OUTBOX_MAX_OFFSETS. *data stays valid until the next call on e; records
 * may still be added afterwards (call _finish again).
 * @returns CONS_OUTBOX_OK or _EINVAL. */
cons_outbox_status cons_outbox_entry_finish(cons_outbox_entry *e, int64_t seq,
                                            const int64_t *end_offsets, int n,
                                            const uint8_t **data, size_t *len);

/* The bytes of the last _finish again (e.g. to produce them after the ledger commit).
 * @returns CONS_OUTBOX_OK, or _EINVAL when records were added or the entry was reset
 * since (or it was never finished). */
cons_outbox_status cons_outbox_entry_bytes(const cons_outbox_entry *e, const uint8_t **data,
                                           size_t *len);

/* ---- reading -------------------------------------------------------------------- */

typedef struct {
    int64_t seq;
    int n_offsets;
    int64_t end_offsets[CONS_OUTBOX_MAX_OFFSETS];
    int n_records;
    /* private */
    const uint8_t *pos, *end;
    int next_index;
} cons_outbox_reader;

/* Parses and fully validates the entry (header, body length, CRC, every record).
 * @returns CONS_OUTBOX_OK (then seq, n_offsets, end_offsets, n_records are set) or
 * _ECORRUPT. Nothing is allocated; `data` must outlive the reader and its records. */
cons_outbox_status cons_outbox_reader_init(cons_outbox_reader *r, const void *data,
                                           size_t len);

/* Yields the next record. @returns 1 with *rec set, 0 after the last one. */
int cons_outbox_reader_next(cons_outbox_reader *r, cons_outbox_record *rec);

#endif
