/*
 * test_deal_blob.c — the deal claim blob (proc_deal_encode / proc_deal_decode) the caller
 * stores per deal id: round trips, the exact wire bytes (the format is persisted), and
 * rejection of corrupt or truncated blobs without leaks or crashes.
 */
#include "test_fixtures.h"

typedef struct {
    uint8_t *buf;
    size_t len;
} blob;

static blob encode(const proc_deal *d)
{
    blob b = {NULL, 0};
    assert_int_equal(proc_deal_encode(d, &b.buf, &b.len), 0);
    return b;
}

static void expect_same(const proc_deal *a, const proc_deal *b)
{
    assert_string_equal(a->deal_id, b->deal_id);
    assert_int_equal(a->status, b->status);
    assert_string_equal(a->partner_id, b->partner_id);
    assert_i64(a->registered_at, b->registered_at);
    assert_i64(a->approved_at, b->approved_at);
    assert_int_equal(a->has_value, b->has_value);
    assert_i64(a->deal_value_minor, b->deal_value_minor);
    assert_int_equal(a->won, b->won);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const proc_deal_status statuses[] = {PROC_DEAL_NONE, PROC_DEAL_REGISTERED,
                                                PROC_DEAL_APPROVED, PROC_DEAL_REJECTED};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        proc_deal d, back;
        proc_deal_init(&d, "deal-42");
        d.status = statuses[i];
        if (d.status != PROC_DEAL_NONE) {
            memset(d.partner_id, 'p', PROC_STR_MAX);        /* the longest id */
            d.partner_id[PROC_STR_MAX] = '\0';
        }
        d.registered_at = INT64_MIN;
        d.approved_at = INT64_MAX;
        d.has_value = i & 1;
        d.deal_value_minor = i & 1 ? INT64_MAX : 0;
        d.won = i >= 2;
        blob a = encode(&d);
        proc_deal_init(&back, "deal-42");
        int rc = proc_deal_decode(&back, a.buf, a.len);
        blob b = encode(&back);
        bool same = a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0;
        free(a.buf);
        free(b.buf);
        assert_int_equal(rc, 0);
        expect_same(&d, &back);
        assert_true(same);
    }
}

/* 'D', version 1, status, partner_id, registered_at, approved_at, has_value, value, won. */
static void test_wire_bytes(void **state)
{
    (void)state;
    proc_deal d;
    proc_deal_init(&d, "d-1");
    static const uint8_t none[] = {0x44, 0x01, 0, 0, 0, 0, 0, 0, 0};
    blob e = encode(&d);
    bool none_ok = e.len == sizeof none && memcmp(e.buf, none, sizeof none) == 0;
    free(e.buf);
    assert_true(none_ok);

    d.status = PROC_DEAL_APPROVED;
    snprintf(d.partner_id, sizeof d.partner_id, "p");
    d.registered_at = 1;                  /* zigzag 2 */
    d.approved_at = -1;                   /* zigzag 1 */
    d.has_value = true;
    d.deal_value_minor = 64;              /* zigzag 128 = 0x80 0x01 */
    d.won = true;
    static const uint8_t small[] = {0x44, 0x01, 0x02, 0x01, 'p', 0x02, 0x01, 0x01, 0x80, 0x01, 0x01};
    blob s = encode(&d);
    bool small_ok = s.len == sizeof small && memcmp(s.buf, small, sizeof small) == 0;
    free(s.buf);
    assert_true(small_ok);

    proc_deal back;
    proc_deal_init(&back, "d-1");
    assert_int_equal(proc_deal_decode(&back, small, sizeof small), 0);
    expect_same(&d, &back);
}

typedef struct {
    const char *what;
    uint8_t bytes[16];
    size_t len;
} bad_row;

static const bad_row bad_rows[] = {
    {"wrong magic", {0x50, 0x01, 0, 0, 0, 0, 0, 0, 0}, 9},
    {"version 0", {0x44, 0x00, 0, 0, 0, 0, 0, 0, 0}, 9},
    {"version 2", {0x44, 0x02, 0, 0, 0, 0, 0, 0, 0}, 9},
    {"a trailing byte", {0x44, 0x01, 0, 0, 0, 0, 0, 0, 0, 0}, 10},
    {"status 4", {0x44, 0x01, 4, 0x01, 'p', 0, 0, 0, 0, 0}, 10},
    {"has_value 2", {0x44, 0x01, 1, 0x01, 'p', 0, 0, 2, 0, 0}, 10},
    {"won 2", {0x44, 0x01, 1, 0x01, 'p', 0, 0, 0, 0, 2}, 10},
    {"a claim without a holder", {0x44, 0x01, 1, 0, 0, 0, 0, 0, 0}, 9},
    {"partner_id longer than the blob", {0x44, 0x01, 1, 0x7F, 'p'}, 5},
    {"one byte", {0x44}, 1},
    {"nothing", {0}, 0},
};

static void test_bad_blobs_rejected(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_rows / sizeof bad_rows[0]; i++) {
        const bad_row *r = &bad_rows[i];
        proc_deal d;
        proc_deal_init(&d, "d-1");
        d.status = PROC_DEAL_APPROVED;      /* whatever it held is replaced */
        d.won = true;
        if (proc_deal_decode(&d, r->bytes, r->len) != -1)
            fail_msg("%s: accepted", r->what);
        assert_int_equal(d.status, PROC_DEAL_NONE);
        assert_false(d.won);
        assert_string_equal(d.deal_id, "d-1");
        assert_string_equal(d.partner_id, "");
    }
}

/* Every prefix of a real blob is refused (each copy exactly that long, for valgrind). */
static void test_truncated_rejected(void **state)
{
    (void)state;
    proc_deal d;
    proc_deal_init(&d, "d-1");
    d.status = PROC_DEAL_REGISTERED;
    snprintf(d.partner_id, sizeof d.partner_id, "partner-7");
    d.registered_at = 1790812800000LL;
    blob a = encode(&d);
    for (size_t len = 0; len < a.len; len++) {
        uint8_t *cut = malloc(len ? len : 1);
        assert_non_null(cut);
        memcpy(cut, a.buf, len);
        proc_deal back;
        proc_deal_init(&back, "d-1");
        int rc = proc_deal_decode(&back, cut, len);
        free(cut);
        if (rc != -1) {
            free(a.buf);
            fail_msg("a blob cut to %zu of %zu bytes was accepted", len, a.len);
        }
    }
    free(a.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_wire_bytes),
        cmocka_unit_test(test_bad_blobs_rejected),
        cmocka_unit_test(test_truncated_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
