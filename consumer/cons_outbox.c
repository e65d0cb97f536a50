#include "cons_outbox.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define NULL_LEN 0xFFFFFFFFu

const char *cons_outbox_status_str(cons_outbox_status s)
{
    switch (s) {
#define CONS_OUTBOX_CASE(name, text) \
    case CONS_OUTBOX_##name:         \
        return text;
        CONS_OUTBOX_STATUSES(CONS_OUTBOX_CASE)
#undef CONS_OUTBOX_CASE
    }
    return "unknown status";
}

/* ---- CRC-32 (IEEE 802.3, zlib's) ----------------------------------------------------- */

/* Continues crc (0 to start) over p[0..n). zlib's table-driven crc32 is ~25x faster than
 * a nibble table; entries are checksummed when built and again before they are produced. */
static uint32_t crc32_ieee(uint32_t crc, const uint8_t *p, size_t n)
{
    while (n > 0) {                        /* zlib takes uInt lengths */
        uInt chunk = n > 0x40000000u ? 0x40000000u : (uInt)n;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc;
}

/* ---- builder ---------------------------------------------------------------------- */

/* The buffer keeps CONS_OUTBOX_HEADER_MAX bytes free in front of the body, so _finish
 * writes the header line right before the records without moving them. */
struct cons_outbox_entry {
    uint8_t *buf;
    size_t len;                      /* bytes used, the reserved prefix included */
    size_t cap;
    int n_records;
    bool finished;                   /* buf[start..len) is a finished entry */
    size_t start;
};

cons_outbox_entry *cons_outbox_entry_new(void)
{
    cons_outbox_entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->len = CONS_OUTBOX_HEADER_MAX;
    return e;
}

void cons_outbox_entry_destroy(cons_outbox_entry *e)
{
    if (e == NULL)
        return;
    free(e->buf);
    free(e);
}

void cons_outbox_entry_reset(cons_outbox_entry *e)
{
    e->len = CONS_OUTBOX_HEADER_MAX;
    e->n_records = 0;
    e->finished = false;
}

int cons_outbox_entry_count(const cons_outbox_entry *e)
{
    return e->n_records;
}

static bool reserve(cons_outbox_entry *e, size_t more)
{
    if (more > SIZE_MAX / 2 - e->len)
        return false;
    size_t need = e->len + more;
    if (need <= e->cap)
        return true;
    size_t cap = e->cap ? e->cap : 4096;
    while (cap < need)
        cap *= 2;
    uint8_t *b = realloc(e->buf, cap);
    if (b == NULL)
        return false;
    e->buf = b;
    e->cap = cap;
    return true;
}

/* Callers reserve first: these never grow the buffer. */
static void put_u8(cons_outbox_entry *e, unsigned v)
{
    e->buf[e->len++] = (uint8_t)v;
}

static void put_u16(cons_outbox_entry *e, uint32_t v)
{
    e->buf[e->len++] = (uint8_t)(v >> 8);
    e->buf[e->len++] = (uint8_t)v;
}

static void put_u32(cons_outbox_entry *e, uint32_t v)
{
    e->buf[e->len++] = (uint8_t)(v >> 24);
    e->buf[e->len++] = (uint8_t)(v >> 16);
    e->buf[e->len++] = (uint8_t)(v >> 8);
    e->buf[e->len++] = (uint8_t)v;
}

static void put_bytes32(cons_outbox_entry *e, const void *p, size_t n)
{
    if (p == NULL) {
        put_u32(e, NULL_LEN);
        return;
    }
    put_u32(e, (uint32_t)n);
    if (n > 0)
        memcpy(e->buf + e->len, p, n);
    e->len += n;
}

cons_outbox_status cons_outbox_entry_add_record(cons_outbox_entry *e, int topic,
                                                const void *key, size_t key_len,
                                                const void *value, size_t value_len,
                                                const cons_outbox_header *headers,
                                                int n_headers)
{
    return cons_outbox_entry_add_record_ts(e, topic, -1, key, key_len, value, value_len,
                                           headers, n_headers);
}

cons_outbox_status cons_outbox_entry_add_record_ts(cons_outbox_entry *e, int topic,
                                                   int64_t timestamp, const void *key,
                                                   size_t key_len, const void *value,
                                                   size_t value_len,
                                                   const cons_outbox_header *headers,
                                                   int n_headers)
{
    if (topic < 0 || topic > CONS_OUTBOX_MAX_TOPIC || timestamp < -1 || n_headers < 0 ||
        n_headers > CONS_OUTBOX_MAX_HEADERS || (n_headers > 0 && headers == NULL) ||
        e->n_records == INT32_MAX)
        return CONS_OUTBOX_EINVAL;
    if ((key != NULL && key_len > CONS_OUTBOX_MAX_VALUE) ||
        (value != NULL && value_len > CONS_OUTBOX_MAX_VALUE))
        return CONS_OUTBOX_EINVAL;

    /* Sizes are bounded by the checks above, so the sum cannot overflow 64 bits. */
    size_t need = 1 + (timestamp >= 0 ? 8 : 0) + 4 + (key ? key_len : 0) + 4 +
                  (value ? value_len : 0) + 2;
    for (int i = 0; i < n_headers; i++) {
        const cons_outbox_header *h = &headers[i];
        if (h->name == NULL || h->name_len > CONS_OUTBOX_MAX_NAME ||
            memchr(h->name, '\0', h->name_len) != NULL ||
            (h->value != NULL && h->value_len > CONS_OUTBOX_MAX_VALUE))
            return CONS_OUTBOX_EINVAL;
        need += 2 + h->name_len + 1 + 4 + (h->value ? h->value_len : 0);
    }
    if (!reserve(e, need))
        return CONS_OUTBOX_ENOMEM;

    put_u8(e, (unsigned)topic | (timestamp >= 0 ? CONS_OUTBOX_HAS_TIMESTAMP : 0u));
    if (timestamp >= 0) {
        put_u32(e, (uint32_t)((uint64_t)timestamp >> 32));
        put_u32(e, (uint32_t)timestamp);
    }
    put_bytes32(e, key, key_len);
    put_bytes32(e, value, value_len);
    put_u16(e, (uint32_t)n_headers);
    for (int i = 0; i < n_headers; i++) {
        const cons_outbox_header *h = &headers[i];
        put_u16(e, (uint32_t)h->name_len);
        if (h->name_len > 0)
            memcpy(e->buf + e->len, h->name, h->name_len);
        e->len += h->name_len;
        put_u8(e, 0);
        put_bytes32(e, h->value, h->value_len);
    }
    e->n_records++;
    e->finished = false;
    return CONS_OUTBOX_OK;
}

cons_outbox_status cons_outbox_entry_finish(cons_outbox_entry *e, int64_t seq,
                                            const int64_t *end_offsets, int n,
                                            const uint8_t **data, size_t *len)
{
    if (seq < 1 || n < 1 || n > CONS_OUTBOX_MAX_OFFSETS || end_offsets == NULL)
        return CONS_OUTBOX_EINVAL;
    for (int i = 0; i < n; i++)
        if (end_offsets[i] < -1)
            return CONS_OUTBOX_EINVAL;
    /* An entry without records still needs its reserved prefix in memory. */
    if (!reserve(e, 0))
        return CONS_OUTBOX_ENOMEM;

    const uint8_t *body = e->buf + CONS_OUTBOX_HEADER_MAX;
    size_t body_len = e->len - CONS_OUTBOX_HEADER_MAX;
    char line[CONS_OUTBOX_HEADER_MAX + 1];
    int w = snprintf(line, sizeof line, "PIO1 %" PRId64 " %d", seq, n);
    for (int i = 0; i < n; i++)
        w += snprintf(line + w, sizeof line - (size_t)w, " %" PRId64, end_offsets[i]);
    w += snprintf(line + w, sizeof line - (size_t)w, " %d %zu ", e->n_records, body_len);
    uint32_t crc = crc32_ieee(crc32_ieee(0, (const uint8_t *)line, (size_t)w), body, body_len);
    w += snprintf(line + w, sizeof line - (size_t)w, "%08" PRIx32 "\n", crc);
    /* The widest line (19-digit numbers everywhere) is ~230 bytes: it always fits. */
    e->start = CONS_OUTBOX_HEADER_MAX - (size_t)w;
    memcpy(e->buf + e->start, line, (size_t)w);
    e->finished = true;
    *data = e->buf + e->start;
    *len = e->len - e->start;
    return CONS_OUTBOX_OK;
}

cons_outbox_status cons_outbox_entry_bytes(const cons_outbox_entry *e, const uint8_t **data,
                                           size_t *len)
{
    if (!e->finished)
        return CONS_OUTBOX_EINVAL;
    *data = e->buf + e->start;
    *len = e->len - e->start;
    return CONS_OUTBOX_OK;
}

/* ---- reader ----------------------------------------------------------------------- */

/* Parses a canonical decimal at *p (no sign or leading zero; "-1" when allow_neg1)
 * followed by `stop`, and advances *p past the stop character. */
static bool parse_num(const char **p, const char *end, char stop, bool allow_neg1,
                      int64_t *out)
{
    const char *s = *p;
    if (allow_neg1 && end - s >= 3 && s[0] == '-' && s[1] == '1' && s[2] == stop) {
        *out = -1;
        *p = s + 3;
        return true;
    }
    if (s >= end || s[0] < '0' || s[0] > '9' || (s[0] == '0' && s + 1 < end && s[1] != stop))
        return false;
    int64_t v = 0;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        int d = *s - '0';
        if (v > (INT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (s >= end || *s != stop)
        return false;
    *out = v;
    *p = s + 1;
    return true;
}

static bool parse_crc(const char **p, const char *end, uint32_t *out)
{
    const char *s = *p;
    uint32_t v = 0;
    if (end - s < 9 || s[8] != '\n')
        return false;
    for (int i = 0; i < 8; i++) {
        char c = s[i];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0)
            return false;
        v = (v << 4) | (uint32_t)d;
    }
    *out = v;
    *p = s + 9;
    return true;
}

static bool get_u32(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
    if (end - *p < 4)
        return false;
    const uint8_t *s = *p;
    *v = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
    *p += 4;
    return true;
}

static bool get_u16(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
    if (end - *p < 2)
        return false;
    *v = (uint32_t)(*p)[0] << 8 | (*p)[1];
    *p += 2;
    return true;
}

/* A u32 length then that many bytes; NULL_LEN yields *data = NULL. */
static bool get_bytes32(const uint8_t **p, const uint8_t *end, const uint8_t **data,
                        size_t *len)
{
    uint32_t n;
    if (!get_u32(p, end, &n))
        return false;
    if (n == NULL_LEN) {
        *data = NULL;
        *len = 0;
        return true;
    }
    if ((size_t)(end - *p) < n)
        return false;
    *data = *p;
    *len = n;
    *p += n;
    return true;
}

/* Decodes one record at *p. @returns false when it is malformed or runs past end. */
static bool read_record(const uint8_t **p, const uint8_t *end, cons_outbox_record *rec)
{
    uint32_t nh;
    if (*p >= end)
        return false;
    unsigned topic = *(*p)++;
    rec->topic = (int)(topic & ~(unsigned)CONS_OUTBOX_HAS_TIMESTAMP);
    rec->timestamp = -1;
    if (topic & CONS_OUTBOX_HAS_TIMESTAMP) {
        uint32_t hi, lo;
        /* As written: a timestamp ≥ 0 (so the entry encodes back to the same bytes). */
        if (!get_u32(p, end, &hi) || !get_u32(p, end, &lo) || (hi & 0x80000000u))
            return false;
        rec->timestamp = (int64_t)((uint64_t)hi << 32 | lo);
    }
    if (!get_bytes32(p, end, &rec->key, &rec->key_len) ||
        !get_bytes32(p, end, &rec->value, &rec->value_len) || !get_u16(p, end, &nh) ||
        nh > CONS_OUTBOX_MAX_HEADERS)
        return false;
    rec->n_headers = (int)nh;
    for (uint32_t i = 0; i < nh; i++) {
        cons_outbox_header *h = &rec->headers[i];
        uint32_t name_len;
        const uint8_t *value;
        if (!get_u16(p, end, &name_len) || (size_t)(end - *p) <= name_len ||
            memchr(*p, '\0', name_len) != NULL || (*p)[name_len] != 0)
            return false;
        h->name = (const char *)*p;
        h->name_len = name_len;
        *p += name_len + 1;
        if (!get_bytes32(p, end, &value, &h->value_len))
            return false;
        h->value = value;
    }
    return true;
}

cons_outbox_status cons_outbox_reader_init(cons_outbox_reader *r, const void *data,
                                           size_t len)
{
    memset(r, 0, sizeof *r);
    if (data == NULL)
        return CONS_OUTBOX_ECORRUPT;
    const char *s = data;
    size_t scan = len < CONS_OUTBOX_HEADER_MAX ? len : CONS_OUTBOX_HEADER_MAX;
    const char *nl = memchr(s, '\n', scan);
    if (nl == NULL || scan < 5 || memcmp(s, "PIO1 ", 5) != 0)
        return CONS_OUTBOX_ECORRUPT;
    const char *p = s + 5, *line_end = nl + 1, *crc_at;
    int64_t seq, n, n_records, body_len;
    uint32_t crc;
    if (!parse_num(&p, line_end, ' ', false, &seq) || seq < 1 ||
        !parse_num(&p, line_end, ' ', false, &n) || n < 1 || n > CONS_OUTBOX_MAX_OFFSETS)
        return CONS_OUTBOX_ECORRUPT;
    for (int i = 0; i < n; i++)
        if (!parse_num(&p, line_end, ' ', true, &r->end_offsets[i]))
            return CONS_OUTBOX_ECORRUPT;
    if (!parse_num(&p, line_end, ' ', false, &n_records) || n_records > INT32_MAX ||
        !parse_num(&p, line_end, ' ', false, &body_len))
        return CONS_OUTBOX_ECORRUPT;
    crc_at = p;
    if (!parse_crc(&p, line_end, &crc) || p != line_end)
        return CONS_OUTBOX_ECORRUPT;

    const uint8_t *body = (const uint8_t *)line_end, *end = (const uint8_t *)s + len;
    if ((uint64_t)body_len != (uint64_t)(end - body) ||
        crc32_ieee(crc32_ieee(0, data, (size_t)(crc_at - s)), body, (size_t)body_len) != crc)
        return CONS_OUTBOX_ECORRUPT;

    /* Walk every record now, so _next() cannot fail half-way through an entry. */
    const uint8_t *q = body;
    cons_outbox_record scratch;
    for (int64_t i = 0; i < n_records; i++)
        if (!read_record(&q, end, &scratch))
            return CONS_OUTBOX_ECORRUPT;
    if (q != end)
        return CONS_OUTBOX_ECORRUPT;

    r->seq = seq;
    r->n_offsets = (int)n;
    r->n_records = (int)n_records;
    r->pos = body;
    r->end = end;
    r->next_index = 0;
    return CONS_OUTBOX_OK;
}

int cons_outbox_reader_next(cons_outbox_reader *r, cons_outbox_record *rec)
{
    if (r->next_index >= r->n_records)
        return 0;
    /* Validated by _init: this cannot fail. */
    if (!read_record(&r->pos, r->end, rec))
        return 0;
    r->next_index++;
    return 1;
}
