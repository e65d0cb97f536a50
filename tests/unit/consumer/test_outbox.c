/*
 * test_outbox.c — the outbox entry codec (consumer/cons_outbox.h), fed bytes without
 * any server: round trips, binary bytes, the exact wire format the Lua side parses,
 * and rejection of every truncation and corruption.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cons_outbox.h"

static const int64_t ENDS3[3] = {10, -1, 42};

static cons_outbox_header hdr(const char *name, const void *value, size_t value_len)
{
    cons_outbox_header h = {name, strlen(name), value, value_len};
    return h;
}

/* The two-record entry of the golden test, built through the API. */
static void build_small(cons_outbox_entry *e)
{
    cons_outbox_header h1 = hdr("h", "1", 1), h2 = hdr("n", NULL, 0);
    assert_int_equal(cons_outbox_entry_add_record(e, 0, "k1", 2, "v\0x", 3, &h1, 1),
                     CONS_OUTBOX_OK);
    assert_int_equal(cons_outbox_entry_add_record(e, 2, NULL, 0, "", 0, &h2, 1),
                     CONS_OUTBOX_OK);
}

/* The format is a contract with cons_ledger.lua: these bytes were computed
 * independently (Python struct + zlib.crc32). */
static void test_golden_bytes(void **state)
{
    (void)state;
    static const char golden[] =
        "PIO1 7 3 10 -1 42 2 44 90d6ef79\x0a\x00\x00\x00\x00\x02k1\x00\x00\x00\x03v\x00x"
        "\x00\x01\x00\x01h\x00\x00\x00\x00\x01" "1\x02\xff\xff\xff\xff\x00\x00\x00\x00\x00"
        "\x01\x00\x01n\x00\xff\xff\xff\xff";
    cons_outbox_entry *e = cons_outbox_entry_new();
    assert_non_null(e);
    build_small(e);
    const uint8_t *data;
    size_t len;
    assert_int_equal(cons_outbox_entry_finish(e, 7, ENDS3, 3, &data, &len), CONS_OUTBOX_OK);
    assert_int_equal(len, sizeof golden - 1);
    assert_memory_equal(data, golden, len);
    cons_outbox_entry_destroy(e);
}

static void test_round_trip(void **state)
{
    (void)state;
    cons_outbox_entry *e = cons_outbox_entry_new();
    assert_non_null(e);
    const uint8_t key_bin[] = {0, 1, 0, 255, 10, 0};
    uint8_t value_bin[300];
    for (size_t i = 0; i < sizeof value_bin; i++)
        value_bin[i] = (uint8_t)(i * 7);
    cons_outbox_header hs[3] = {hdr("dlq.reason", "LATE_EVENT", 10), hdr("empty", "", 0),
                                hdr("bin", "\0\n\0", 3)};
    /* A dead letter keeps its input's timestamp (the flag bit of the topic byte). */
    assert_int_equal(cons_outbox_entry_add_record_ts(e, 1, 1791633600123, key_bin,
                                                     sizeof key_bin, value_bin,
                                                     sizeof value_bin, hs, 3),
                     CONS_OUTBOX_OK);
    assert_int_equal(cons_outbox_entry_add_record(e, 0, "", 0, NULL, 0, NULL, 0), CONS_OUTBOX_OK);
    assert_int_equal(cons_outbox_entry_add_record_ts(e, 127, 0, "p-1", 3, "x", 1, NULL, 0),
                     CONS_OUTBOX_OK);
    assert_int_equal(cons_outbox_entry_count(e), 3);

    const int64_t ends[3] = {INT64_MAX, 0, 123456789012345};
    const uint8_t *data;
    size_t len;
    assert_int_equal(cons_outbox_entry_finish(e, 9007199254740993LL, ends, 3, &data, &len),
                     CONS_OUTBOX_OK);

    cons_outbox_reader r;
    assert_int_equal(cons_outbox_reader_init(&r, data, len), CONS_OUTBOX_OK);
    assert_int_equal(r.seq, 9007199254740993LL);
    assert_int_equal(r.n_offsets, 3);
    assert_int_equal(r.end_offsets[0], INT64_MAX);
    assert_int_equal(r.end_offsets[1], 0);
    assert_int_equal(r.end_offsets[2], 123456789012345);
    assert_int_equal(r.n_records, 3);

    cons_outbox_record rec;
    assert_int_equal(cons_outbox_reader_next(&r, &rec), 1);
    assert_int_equal(rec.topic, 1);
    assert_int_equal(rec.timestamp, 1791633600123);
    assert_int_equal(rec.key_len, sizeof key_bin);
    assert_memory_equal(rec.key, key_bin, sizeof key_bin);
    assert_int_equal(rec.value_len, sizeof value_bin);
    assert_memory_equal(rec.value, value_bin, sizeof value_bin);
    assert_int_equal(rec.n_headers, 3);
    assert_int_equal(rec.headers[0].name_len, 10);
    assert_string_equal(rec.headers[0].name, "dlq.reason"); /* also a C string */
    assert_int_equal(rec.headers[0].value_len, 10);
    assert_memory_equal(rec.headers[0].value, "LATE_EVENT", 10);
    assert_non_null(rec.headers[1].value); /* empty, not NULL */
    assert_int_equal(rec.headers[1].value_len, 0);
    assert_int_equal(rec.headers[2].value_len, 3);
    assert_memory_equal(rec.headers[2].value, "\0\n\0", 3);
    /* Pointers point into the entry: nothing was copied. */
    assert_true(rec.key >= data && rec.key < data + len);

    assert_int_equal(cons_outbox_reader_next(&r, &rec), 1);
    assert_int_equal(rec.topic, 0);
    assert_int_equal(rec.timestamp, -1);   /* none: the producer stamps it */
    assert_non_null(rec.key); /* empty key, not a NULL key */
    assert_int_equal(rec.key_len, 0);
    assert_null(rec.value);
    assert_int_equal(rec.n_headers, 0);

    assert_int_equal(cons_outbox_reader_next(&r, &rec), 1);
    assert_int_equal(rec.topic, 127);
    assert_int_equal(rec.timestamp, 0);
    assert_memory_equal(rec.key, "p-1", 3);

    assert_int_equal(cons_outbox_reader_next(&r, &rec), 0);
    assert_int_equal(cons_outbox_reader_next(&r, &rec), 0);
    cons_outbox_entry_destroy(e);
}

static void test_zero_records(void **state)
{
    (void)state;
    cons_outbox_entry *e = cons_outbox_entry_new();
    assert_non_null(e);
    const int64_t ends[1] = {-1};
    const uint8_t *data;
    size_t len;
    assert_int_equal(cons_outbox_entry_finish(e, 1, ends, 1, &data, &len), CONS_OUTBOX_OK);
    assert_int_equal(len, strlen("PIO1 1 1 -1 0 0 xxxxxxxx\n"));
    assert_memory_equal(data, "PIO1 1 1 -1 0 0 ", 16);
    cons_outbox_reader r;
    cons_outbox_record rec;
    assert_int_equal(cons_outbox_reader_init(&r, data, len), CONS_OUTBOX_OK);
    assert_int_equal(r.n_records, 0);
    assert_int_equal(r.end_offsets[0], -1);
    assert_int_equal(cons_outbox_reader_next(&r, &rec), 0);
    cons_outbox_entry_destroy(e);
}

/* Every strict prefix, one byte more, and every single-byte change are rejected. */
static void test_truncated_and_corrupt(void **state)
{
    (void)state;
    cons_outbox_entry *e = cons_outbox_entry_new();
    assert_non_null(e);
    build_small(e);
    const uint8_t *data;
    size_t len;
    assert_int_equal(cons_outbox_entry_finish(e, 7, ENDS3, 3, &data, &len), CONS_OUTBOX_OK);
    cons_outbox_reader r;

    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut + 1); /* exact size: valgrind sees any overread */
        assert_non_null(copy);
        memcpy(copy, data, cut);
        assert_int_equal(cons_outbox_reader_init(&r, copy, cut), CONS_OUTBOX_ECORRUPT);
        free(copy);
    }

    uint8_t *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, data, len);
    longer[len] = 0;
    assert_int_equal(cons_outbox_reader_init(&r, longer, len + 1), CONS_OUTBOX_ECORRUPT);
    free(longer);

    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    for (size_t i = 0; i < len; i++) {
        for (unsigned x = 1; x < 256; x <<= 1) {
            memcpy(copy, data, len);
            copy[i] ^= (uint8_t)x;
            assert_int_equal(cons_outbox_reader_init(&r, copy, len), CONS_OUTBOX_ECORRUPT);
        }
    }
    free(copy);
    assert_int_equal(cons_outbox_reader_init(&r, NULL, 0), CONS_OUTBOX_ECORRUPT);
    cons_outbox_entry_destroy(e);
}

/* An independent bitwise CRC-32 (IEEE, as zlib's crc32) to craft entries by hand. */
static uint32_t crc32_bitwise(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* prefix (the header line up to the CRC) + a correct CRC + body, in a malloc'd buffer
 * of exactly *len bytes. */
static uint8_t *craft(const char *prefix, const void *body, size_t body_len, size_t *len)
{
    size_t pl = strlen(prefix);
    uint32_t crc = crc32_bitwise(crc32_bitwise(0, (const uint8_t *)prefix, pl), body, body_len);
    char crc_s[10];
    snprintf(crc_s, sizeof crc_s, "%08x\n", (unsigned)crc);
    *len = pl + 9 + body_len;
    uint8_t *out = malloc(*len);
    assert_non_null(out);
    memcpy(out, prefix, pl);
    memcpy(out + pl, crc_s, 9);
    if (body_len > 0)
        memcpy(out + pl + 9, body, body_len);
    return out;
}

static void expect_craft(const char *prefix, const void *body, size_t body_len,
                         cons_outbox_status want)
{
    size_t len;
    uint8_t *entry = craft(prefix, body, body_len, &len);
    cons_outbox_reader r;
    assert_int_equal(cons_outbox_reader_init(&r, entry, len), want);
    free(entry);
}

/* With a correct CRC the structure is still checked: counts, lengths, canonical
 * numbers, limits. */
static void test_bad_structure_with_valid_crc(void **state)
{
    (void)state;
    /* one record: topic 1, key "k", value NULL, no headers (12 bytes) */
    static const uint8_t rec[] = {1, 0, 0, 0, 1, 'k', 0xff, 0xff, 0xff, 0xff, 0, 0};
    size_t n = sizeof rec;
    expect_craft("PIO1 1 1 5 1 12 ", rec, n, CONS_OUTBOX_OK);   /* the control */
    expect_craft("PIO1 1 1 5 2 12 ", rec, n, CONS_OUTBOX_ECORRUPT); /* 2 records claimed */
    expect_craft("PIO1 1 1 5 0 12 ", rec, n, CONS_OUTBOX_ECORRUPT); /* trailing bytes */
    expect_craft("PIO1 1 1 5 1 13 ", rec, n, CONS_OUTBOX_ECORRUPT); /* body length */
    expect_craft("PIO1 01 1 5 1 12 ", rec, n, CONS_OUTBOX_ECORRUPT); /* leading zero */
    expect_craft("PIO1 0 1 5 1 12 ", rec, n, CONS_OUTBOX_ECORRUPT);  /* seq 0 */
    expect_craft("PIO1 1 1 -2 1 12 ", rec, n, CONS_OUTBOX_ECORRUPT); /* offset -2 */
    expect_craft("PIO1 1 1 +5 1 12 ", rec, n, CONS_OUTBOX_ECORRUPT);
    expect_craft("PIO1 1 2 5 1 12 ", rec, n, CONS_OUTBOX_ECORRUPT);  /* n offsets */
    expect_craft("PIO1 1 9 1 2 3 4 5 6 7 8 9 1 12 ", rec, n, CONS_OUTBOX_ECORRUPT);
    expect_craft("PIO1 1 1 5  1 12 ", rec, n, CONS_OUTBOX_ECORRUPT);  /* two spaces */
    expect_craft("PIO1 1 1 99999999999999999999 1 12 ", rec, n, CONS_OUTBOX_ECORRUPT);
    expect_craft("PIO2 1 1 5 1 12 ", rec, n, CONS_OUTBOX_ECORRUPT);

    /* a key length running past the end */
    static const uint8_t overrun[] = {1, 0, 0, 1, 0, 'k'};
    expect_craft("PIO1 1 1 5 1 6 ", overrun, sizeof overrun, CONS_OUTBOX_ECORRUPT);
    /* 17 headers declared */
    static const uint8_t too_many[] = {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 17};
    expect_craft("PIO1 1 1 5 1 11 ", too_many, sizeof too_many, CONS_OUTBOX_ECORRUPT);
    /* a header name running past the end; one without its NUL; one with a NUL inside */
    static const uint8_t name_overrun[] = {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                           0, 1, 0, 9, 'a'};
    expect_craft("PIO1 1 1 5 1 14 ", name_overrun, sizeof name_overrun, CONS_OUTBOX_ECORRUPT);
    static const uint8_t named[] = {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0, 1, 0, 1, 'a', 0, 0xff, 0xff, 0xff, 0xff};
    expect_craft("PIO1 1 1 5 1 19 ", named, sizeof named, CONS_OUTBOX_OK); /* the control */
    static const uint8_t unterminated[] = {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                           0, 1, 0, 1, 'a', 'b', 0xff, 0xff, 0xff, 0xff};
    expect_craft("PIO1 1 1 5 1 19 ", unterminated, sizeof unterminated, CONS_OUTBOX_ECORRUPT);
    static const uint8_t nul_inside[] = {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                         0, 1, 0, 2, 0, 'a', 0, 0xff, 0xff, 0xff, 0xff};
    expect_craft("PIO1 1 1 5 1 20 ", nul_inside, sizeof nul_inside, CONS_OUTBOX_ECORRUPT);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    cons_outbox_entry *e = cons_outbox_entry_new();
    assert_non_null(e);
    cons_outbox_header many[CONS_OUTBOX_MAX_HEADERS + 1];
    for (int i = 0; i <= CONS_OUTBOX_MAX_HEADERS; i++)
        many[i] = hdr("h", "v", 1);
    assert_int_equal(cons_outbox_entry_add_record(e, -1, "k", 1, "v", 1, NULL, 0),
                     CONS_OUTBOX_EINVAL);
    assert_int_equal(cons_outbox_entry_add_record(e, 128, "k", 1, "v", 1, NULL, 0),
                     CONS_OUTBOX_EINVAL);  /* the high bit is the timestamp flag */
    assert_int_equal(cons_outbox_entry_add_record_ts(e, 0, -2, "k", 1, "v", 1, NULL, 0),
                     CONS_OUTBOX_EINVAL);
    assert_int_equal(cons_outbox_entry_add_record(e, 0, "k", 1, "v", 1, many,
                                                  CONS_OUTBOX_MAX_HEADERS + 1),
                     CONS_OUTBOX_EINVAL);
    assert_int_equal(cons_outbox_entry_add_record(e, 0, "k", 1, "v", 1, NULL, 1),
                     CONS_OUTBOX_EINVAL);
    cons_outbox_header noname = {NULL, 0, "v", 1};
    assert_int_equal(cons_outbox_entry_add_record(e, 0, "k", 1, "v", 1, &noname, 1),
                     CONS_OUTBOX_EINVAL);
    cons_outbox_header nul_in_name = {"a\0b", 3, "v", 1};
    assert_int_equal(cons_outbox_entry_add_record(e, 0, "k", 1, "v", 1, &nul_in_name, 1),
                     CONS_OUTBOX_EINVAL);
    assert_int_equal(cons_outbox_entry_count(e), 0); /* nothing appended */
    assert_int_equal(cons_outbox_entry_add_record(e, 0, "k", 1, "v", 1, many,
                                                  CONS_OUTBOX_MAX_HEADERS),
                     CONS_OUTBOX_OK);

    const uint8_t *data;
    size_t len;
    const int64_t ok[1] = {0}, bad[1] = {-2};
    int64_t nine[CONS_OUTBOX_MAX_OFFSETS + 1] = {0};
    assert_int_equal(cons_outbox_entry_finish(e, 0, ok, 1, &data, &len), CONS_OUTBOX_EINVAL);
    assert_int_equal(cons_outbox_entry_finish(e, 1, ok, 0, &data, &len), CONS_OUTBOX_EINVAL);
    assert_int_equal(cons_outbox_entry_finish(e, 1, bad, 1, &data, &len), CONS_OUTBOX_EINVAL);
    assert_int_equal(cons_outbox_entry_finish(e, 1, nine, CONS_OUTBOX_MAX_OFFSETS + 1, &data, &len),
                     CONS_OUTBOX_EINVAL);
    assert_int_equal(cons_outbox_entry_finish(e, 1, NULL, 1, &data, &len), CONS_OUTBOX_EINVAL);
    assert_int_equal(cons_outbox_entry_finish(e, 1, nine, CONS_OUTBOX_MAX_OFFSETS, &data, &len),
                     CONS_OUTBOX_OK);
    cons_outbox_reader r;
    cons_outbox_record rec;
    assert_int_equal(cons_outbox_reader_init(&r, data, len), CONS_OUTBOX_OK);
    assert_int_equal(cons_outbox_reader_next(&r, &rec), 1);
    assert_int_equal(rec.n_headers, CONS_OUTBOX_MAX_HEADERS);
    assert_string_equal(cons_outbox_status_str(CONS_OUTBOX_ECORRUPT),
                        "corrupt or truncated outbox entry");
    cons_outbox_entry_destroy(e);
}

/* reset() keeps the buffer; finish() may be repeated and records added after it. */
static void test_reuse_and_growth(void **state)
{
    (void)state;
    cons_outbox_entry *e = cons_outbox_entry_new();
    assert_non_null(e);
    size_t big_len = 1u << 20;
    uint8_t *big = malloc(big_len);
    assert_non_null(big);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (uint8_t)(i ^ (i >> 8));

    for (int round = 0; round < 3; round++) {
        cons_outbox_entry_reset(e);
        for (int i = 0; i < 50; i++)
            assert_int_equal(cons_outbox_entry_add_record(e, i % 3, &i, sizeof i, "v", 1, NULL, 0),
                             CONS_OUTBOX_OK);
        const uint8_t *d1, *d2;
        size_t l1, l2;
        assert_int_equal(cons_outbox_entry_bytes(e, &d1, &l1), CONS_OUTBOX_EINVAL);
        assert_int_equal(cons_outbox_entry_finish(e, 5, ENDS3, 3, &d1, &l1), CONS_OUTBOX_OK);
        assert_int_equal(cons_outbox_entry_bytes(e, &d2, &l2), CONS_OUTBOX_OK);
        assert_ptr_equal(d1, d2);
        assert_int_equal(l1, l2);
        uint8_t *snap = malloc(l1);
        assert_non_null(snap);
        memcpy(snap, d1, l1);
        assert_int_equal(cons_outbox_entry_finish(e, 5, ENDS3, 3, &d2, &l2), CONS_OUTBOX_OK);
        assert_int_equal(l1, l2);
        assert_memory_equal(snap, d2, l2);
        free(snap);

        assert_int_equal(cons_outbox_entry_add_record(e, 1, "big", 3, big, big_len, NULL, 0),
                         CONS_OUTBOX_OK);
        assert_int_equal(cons_outbox_entry_bytes(e, &d2, &l2), CONS_OUTBOX_EINVAL);
        assert_int_equal(cons_outbox_entry_finish(e, 6, ENDS3, 3, &d2, &l2), CONS_OUTBOX_OK);
        cons_outbox_reader r;
        cons_outbox_record rec;
        assert_int_equal(cons_outbox_reader_init(&r, d2, l2), CONS_OUTBOX_OK);
        assert_int_equal(r.n_records, 51);
        assert_int_equal(r.seq, 6);
        for (int i = 0; i < 50; i++) {
            assert_int_equal(cons_outbox_reader_next(&r, &rec), 1);
            int k;
            assert_int_equal(rec.key_len, sizeof k);
            memcpy(&k, rec.key, sizeof k);
            assert_int_equal(k, i);
            assert_int_equal(rec.topic, i % 3);
        }
        assert_int_equal(cons_outbox_reader_next(&r, &rec), 1);
        assert_int_equal(rec.value_len, big_len);
        assert_memory_equal(rec.value, big, big_len);
    }
    free(big);
    cons_outbox_entry_destroy(e);
    cons_outbox_entry_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_bytes),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_zero_records),
        cmocka_unit_test(test_truncated_and_corrupt),
        cmocka_unit_test(test_bad_structure_with_valid_crc),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_reuse_and_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
