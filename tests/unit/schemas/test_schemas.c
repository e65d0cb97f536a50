/*
 * test_schemas.c — schemas/: registry, wire framing, decode/encode round trips, limits,
 * schema evolution, determinism, JSON, and a mutation fuzz loop. No servers.
 *
 * Three independent byte producers are cross-checked: our encoder (avro-c generic
 * writer), avro-c used directly with hand-written writer schemas (evolution tests), and
 * a tiny hand encoder below (framing and limit tests, and literal byte vectors).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <avro.h>

#include "proc_event.h"
#include "schema_codec.h"
#include "schema_json.h"
#include "schema_registry.h"

/* ---- helpers ----------------------------------------------------------------------- */

/* A hand encoder: Avro zigzag varints and length-prefixed strings, nothing else. */
typedef struct {
    uint8_t b[70000];
    size_t n;
} wbuf;

static void w_byte(wbuf *w, uint8_t v) { w->b[w->n++] = v; }

static void w_long(wbuf *w, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    while (z >= 0x80) {
        w_byte(w, (uint8_t)(z | 0x80));
        z >>= 7;
    }
    w_byte(w, (uint8_t)z);
}

static void w_strn(wbuf *w, const char *s, size_t n)
{
    w_long(w, (int64_t)n);
    memcpy(w->b + w->n, s, n);
    w->n += n;
}

static void w_str(wbuf *w, const char *s) { w_strn(w, s, strlen(s)); }

static void w_header(wbuf *w, uint32_t id)
{
    w->n = 0;
    w_byte(w, 0);
    w_byte(w, (uint8_t)(id >> 24));
    w_byte(w, (uint8_t)(id >> 16));
    w_byte(w, (uint8_t)(id >> 8));
    w_byte(w, (uint8_t)id);
}

/* SaleEvent v1 (id 1) with the given strings, quantity 2, no deal, no original. */
static void w_sale(wbuf *w, const char *partner_id, const char *currency, const char *sku)
{
    w_header(w, 1);
    w_str(w, "e1");
    w_str(w, partner_id);
    w_long(w, 1793491200000);
    w_long(w, 0);      /* SALE */
    w_long(w, 100000); /* amount_minor */
    w_str(w, currency);
    w_str(w, sku);
    w_long(w, 2); /* quantity */
    w_long(w, 0); /* deal_id: null */
    w_long(w, 0); /* original_event_id: null */
}

/* SurveyEvent (id 3), PULSE, with n answers in one block. */
static void w_survey(wbuf *w, int n)
{
    w_header(w, 3);
    w_str(w, "s1");
    w_str(w, "p1");
    w_long(w, 1793491200000);
    w_long(w, 1); /* PULSE */
    w_str(w, "q4-pulse");
    w_str(w, "r1");
    w_long(w, 0); /* score: null */
    if (n > 0) {
        w_long(w, n);
        for (int i = 0; i < n; i++) {
            char q[16];
            snprintf(q, sizeof q, "q%d", i);
            w_str(w, q);
            w_long(w, 1 + i % 5);
        }
    }
    w_long(w, 0);
}

static proc_event sample_sale(void)
{
    proc_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = PROC_EVENT_SALE;
    strcpy(ev.event_id, "e1");
    strcpy(ev.partner_id, "p1");
    ev.occurred_at = 1793491200000;
    ev.u.sale.kind = PROC_SALE_SALE;
    ev.u.sale.amount_minor = 100000;
    strcpy(ev.u.sale.currency, "EUR");
    strcpy(ev.u.sale.sku, "FW-100");
    ev.u.sale.quantity = 2;
    ev.u.sale.has_deal_id = true;
    strcpy(ev.u.sale.deal_id, "deal-7");
    return ev;
}

static proc_event sample_registration(void)
{
    proc_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = PROC_EVENT_REGISTRATION;
    strcpy(ev.event_id, "r1");
    strcpy(ev.partner_id, "p\xc3\xa9-1"); /* UTF-8 survives */
    ev.occurred_at = -5;                   /* negative zigzag */
    ev.u.reg.kind = PROC_REG_DEAL_REGISTERED;
    ev.u.reg.has_program_id = true;
    strcpy(ev.u.reg.program_id, "emea-resellers");
    ev.u.reg.has_deal_id = true;
    strcpy(ev.u.reg.deal_id, "d1");
    ev.u.reg.has_deal_value_minor = true;
    ev.u.reg.deal_value_minor = INT64_MAX;
    return ev;
}

static proc_event sample_survey(int n)
{
    proc_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = PROC_EVENT_SURVEY;
    strcpy(ev.event_id, "s1");
    strcpy(ev.partner_id, "p1");
    ev.occurred_at = 1793491200000;
    ev.u.survey.kind = n ? PROC_SURVEY_PULSE : PROC_SURVEY_ENPS;
    strcpy(ev.u.survey.survey_id, "q4");
    strcpy(ev.u.survey.respondent_id, "resp-9");
    ev.u.survey.has_score = n == 0;
    ev.u.survey.score = n ? 0 : 3;
    ev.u.survey.n_answers = n;
    for (int i = 0; i < n; i++) {
        snprintf(ev.u.survey.answers[i].question_id, PROC_STR_CAP, "question-%d", i);
        ev.u.survey.answers[i].score = 1 + i % 5;
    }
    return ev;
}

static proc_event sample_approval(void)
{
    proc_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = PROC_EVENT_APPROVAL;
    strcpy(ev.event_id, "a1");
    strcpy(ev.partner_id, "p1");
    ev.occurred_at = 1793491200000;
    strcpy(ev.u.approval.payout_id, "po_0123456789abcdef0123456789abcdef");
    ev.u.approval.decision = PROC_DECISION_REJECTED;
    strcpy(ev.u.approval.approver_id, "cfo-1");
    ev.u.approval.has_reason = true;
    strcpy(ev.u.approval.reason, "claimed twice");
    return ev;
}

static proc_payout sample_payout(void)
{
    proc_payout p;
    memset(&p, 0, sizeof p);
    strcpy(p.payout_id, "po_0123456789abcdef0123456789abcdef");
    strcpy(p.partner_id, "p1");
    strcpy(p.program_id, "emea-resellers");
    p.kind = PROC_PAYOUT_CLAWBACK;
    p.amount_minor = -150;
    strcpy(p.currency, "EUR");
    strcpy(p.period, "2026-Q4");
    strcpy(p.tier, "Gold");
    p.status = PROC_STATUS_PENDING_APPROVAL;
    strcpy(p.rule_id, "po_fedcba9876543210fedcba9876543210");
    strcpy(p.source_event_id, "e2");
    p.occurred_at = 1793491200000;
    return p;
}

static proc_alert sample_alert(void)
{
    proc_alert a;
    memset(&a, 0, sizeof a);
    strcpy(a.alert_id, "al_0123456789abcdef0123456789abcdef");
    strcpy(a.partner_id, "p1");
    strcpy(a.program_id, "emea-resellers");
    a.kind = PROC_ALERT_TIER_ACHIEVED;
    a.severity = PROC_SEVERITY_INFO;
    strcpy(a.period, "2026-Q4");
    strcpy(a.message, "Partner p1 reached tier Gold.");
    /* Deliberately not in sorted or hash order. */
    const char *kv[][2] = {{"to_tier", "Gold"}, {"from_tier", "Silver"}, {"zz_last", "1"},
                           {"aa_first", "2"}, {"payout_id", "po_x"}};
    a.n_attrs = 5;
    for (int i = 0; i < a.n_attrs; i++) {
        strcpy(a.attrs[i].key, kv[i][0]);
        strcpy(a.attrs[i].value, kv[i][1]);
    }
    strcpy(a.source_event_id, "e1");
    a.occurred_at = 1793491200000;
    return a;
}

/* memmem() is a GNU extension; this is all we need of it. */
static const uint8_t *find_bytes(const uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return hay + i;
    return NULL;
}

/* Compares events through their JSON view (every field, absent-vs-present included). */
static void assert_same_event(const proc_event *a, const proc_event *b)
{
    char *ja = schema_event_to_json(a), *jb = schema_event_to_json(b);
    assert_non_null(ja);
    assert_non_null(jb);
    assert_string_equal(ja, jb);
    free(ja);
    free(jb);
}

static int setup(void **state)
{
    char err[256] = "";
    schema_registry *reg = schema_registry_new(err, sizeof err);
    if (!reg)
        fprintf(stderr, "schema_registry_new: %s\n", err);
    *state = reg;
    return reg ? 0 : -1;
}

static int teardown(void **state)
{
    schema_registry_destroy(*state);
    return 0;
}

/* Builds a framed record with avro-c's generic API from a writer schema text. */
typedef void (*fill_fn)(avro_value_t *rec);

static size_t avro_build(const char *schema_json, uint32_t id, fill_fn fill, uint8_t *buf,
                         size_t cap)
{
    avro_schema_t s = NULL;
    assert_int_equal(avro_schema_from_json_length(schema_json, strlen(schema_json), &s), 0);
    avro_value_iface_t *iface = avro_generic_class_from_schema(s);
    assert_non_null(iface);
    avro_value_t rec;
    assert_int_equal(avro_generic_value_new(iface, &rec), 0);
    fill(&rec);
    avro_writer_t w = avro_writer_memory((const char *)buf + 5, (int64_t)cap - 5);
    assert_int_equal(avro_value_write(w, &rec), 0);
    size_t n = 5 + (size_t)avro_writer_tell(w);
    buf[0] = 0;
    buf[1] = (uint8_t)(id >> 24);
    buf[2] = (uint8_t)(id >> 16);
    buf[3] = (uint8_t)(id >> 8);
    buf[4] = (uint8_t)id;
    avro_writer_free(w);
    avro_value_decref(&rec);
    avro_value_iface_decref(iface);
    avro_schema_decref(s);
    return n;
}

static void set_str(avro_value_t *rec, const char *name, const char *v)
{
    avro_value_t f;
    assert_int_equal(avro_value_get_by_name(rec, name, &f, NULL), 0);
    assert_int_equal(avro_value_set_string(&f, v), 0);
}

static void set_long(avro_value_t *rec, const char *name, int64_t v)
{
    avro_value_t f;
    assert_int_equal(avro_value_get_by_name(rec, name, &f, NULL), 0);
    assert_int_equal(avro_value_set_long(&f, v), 0);
}

static void set_int(avro_value_t *rec, const char *name, int32_t v)
{
    avro_value_t f;
    assert_int_equal(avro_value_get_by_name(rec, name, &f, NULL), 0);
    assert_int_equal(avro_value_set_int(&f, v), 0);
}

static void set_enum(avro_value_t *rec, const char *name, int v)
{
    avro_value_t f;
    assert_int_equal(avro_value_get_by_name(rec, name, &f, NULL), 0);
    assert_int_equal(avro_value_set_enum(&f, v), 0);
}

/* Sets an optional ["null","string"] field; v == NULL selects null. */
static void set_opt_str(avro_value_t *rec, const char *name, const char *v)
{
    avro_value_t f, br;
    assert_int_equal(avro_value_get_by_name(rec, name, &f, NULL), 0);
    assert_int_equal(avro_value_set_branch(&f, v ? 1 : 0, &br), 0);
    if (v)
        assert_int_equal(avro_value_set_string(&br, v), 0);
    else
        assert_int_equal(avro_value_set_null(&br), 0);
}

/* avro-c, an independent implementation, reads our bytes with the embedded schema and
 * writes them back: it must accept them, consume them all and reproduce them exactly. */
static void assert_avro_c_agrees(const uint8_t *buf, size_t n, schema_record_kind kind)
{
    const char *txt = schema_embedded_avsc(kind);
    avro_schema_t s = NULL;
    assert_int_equal(avro_schema_from_json_length(txt, strlen(txt), &s), 0);
    avro_value_iface_t *iface = avro_generic_class_from_schema(s);
    avro_value_t v;
    assert_int_equal(avro_generic_value_new(iface, &v), 0);
    avro_reader_t r = avro_reader_memory((const char *)buf + 5, (int64_t)n - 5);
    assert_int_equal(avro_value_read(r, &v), 0);
    static uint8_t out[16384];
    avro_writer_t w = avro_writer_memory((const char *)out, sizeof out);
    assert_int_equal(avro_value_write(w, &v), 0);
    assert_int_equal((size_t)avro_writer_tell(w), n - 5);
    assert_memory_equal(out, buf + 5, n - 5);
    avro_writer_free(w);
    avro_reader_free(r);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(s);
}

/* ---- registry ---------------------------------------------------------------------- */

static void test_registry_embedded(void **state)
{
    schema_registry *reg = *state;
    for (uint32_t id = 1; id <= 8; id++)
        assert_true(schema_registry_has(reg, id));
    assert_false(schema_registry_has(reg, 9));
    assert_int_equal(schema_registry_output_id(reg, SCHEMA_REC_SALE), 1);
    assert_int_equal(schema_registry_output_id(reg, SCHEMA_REC_REGISTRATION), 2);
    assert_int_equal(schema_registry_output_id(reg, SCHEMA_REC_SURVEY), 3);
    assert_int_equal(schema_registry_output_id(reg, SCHEMA_REC_APPROVAL), 6);
    /* The newest version of each output is written (4 and 5 are version 1, still read). */
    assert_int_equal(schema_registry_output_id(reg, SCHEMA_REC_PAYOUT), 7);
    assert_int_equal(schema_registry_output_id(reg, SCHEMA_REC_ALERT), 8);
    assert_string_equal(schema_record_kind_name(SCHEMA_REC_SURVEY), "SurveyEvent");
    /* The embedded text is the file as written: logicalType survives. */
    const char *avsc = schema_embedded_avsc(SCHEMA_REC_SALE);
    assert_non_null(avsc);
    assert_non_null(strstr(avsc, "\"logicalType\": \"timestamp-millis\""));
    assert_null(schema_embedded_avsc(SCHEMA_REC_COUNT));

    /* The embedded files equal the files in schemas/ byte for byte. */
    const char *src = getenv("PI_SOURCE_DIR");
    if (src) {
        for (int k = 0; k < SCHEMA_REC_COUNT; k++) {
            char path[1024];
            snprintf(path, sizeof path, "%s/schemas/%s.avsc", src,
                     schema_record_kind_name((schema_record_kind)k));
            FILE *fp = fopen(path, "rb");
            assert_non_null(fp);
            static char text[65536];
            size_t n = fread(text, 1, sizeof text - 1, fp);
            fclose(fp);
            text[n] = '\0';
            assert_string_equal(text, schema_embedded_avsc((schema_record_kind)k));
        }
    }

    uint32_t id = 0;
    const uint8_t framed[] = {0, 0x12, 0x34, 0x56, 0x78};
    assert_int_equal(schema_wire_id(framed, sizeof framed, &id), 0);
    assert_int_equal(id, 0x12345678u);
    assert_int_equal(schema_wire_id(framed, 4, &id), -1);
}

static void test_registry_add_errors(void **state)
{
    schema_registry *reg = *state;
    char err[256] = "";
    assert_int_equal(schema_registry_add(reg, 20, "{not json", err, sizeof err), -1);
    assert_non_null(strstr(err, "schema id 20"));
    /* The same schema again under its id: a no-op. */
    assert_int_equal(schema_registry_add(reg, 1, schema_embedded_avsc(SCHEMA_REC_SALE), err,
                                         sizeof err), 0);
    /* A different schema under a taken id: refused. */
    assert_int_equal(schema_registry_add(reg, 1, schema_embedded_avsc(SCHEMA_REC_ALERT), err,
                                         sizeof err), -1);
    assert_non_null(strstr(err, "already registered"));
    /* A foreign record is accepted but never decodes as ours. */
    assert_int_equal(schema_registry_add(reg, 21,
        "{\"type\":\"record\",\"name\":\"SaleEvent\",\"namespace\":\"other.ns\","
        "\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]}", err, sizeof err), 0);
    assert_int_equal(schema_registry_add(reg, 22, "\"string\"", err, sizeof err), 0);
    wbuf w;
    w_header(&w, 21);
    w_long(&w, 1);
    proc_event ev;
    char detail[256];
    assert_int_equal(schema_decode_event(reg, PROC_EVENT_SALE, w.b, w.n, &ev, detail,
                                         sizeof detail), SCHEMA_UNKNOWN_SCHEMA);
    assert_non_null(strstr(detail, "other.ns.SaleEvent"));
    w_header(&w, 22);
    w_str(&w, "x");
    assert_int_equal(schema_decode_event(reg, PROC_EVENT_SALE, w.b, w.n, &ev, detail,
                                         sizeof detail), SCHEMA_UNKNOWN_SCHEMA);

    /* Output ids: only an id holding the embedded schema of that kind. */
    assert_int_equal(schema_registry_set_output_id(reg, SCHEMA_REC_PAYOUT, 99, err,
                                                   sizeof err), -1);
    assert_int_equal(schema_registry_set_output_id(reg, SCHEMA_REC_PAYOUT, 1, err,
                                                   sizeof err), -1);
    assert_int_equal(schema_registry_add(reg, 104, schema_embedded_avsc(SCHEMA_REC_PAYOUT),
                                         err, sizeof err), 0);
    assert_int_equal(schema_registry_set_output_id(reg, SCHEMA_REC_PAYOUT, 104, err,
                                                   sizeof err), 0);
    proc_payout p = sample_payout(), q;
    uint8_t buf[1024];
    size_t n = 0;
    assert_int_equal(schema_encode_payout(reg, &p, buf, sizeof buf, &n), 0);
    uint32_t id = 0;
    assert_int_equal(schema_wire_id(buf, n, &id), 0);
    assert_int_equal(id, 104);
    assert_int_equal(schema_decode_payout(reg, buf, n, &q, detail, sizeof detail), SCHEMA_OK);
}

/* Ids from a remote registry: the embedded ids are not found any more, nothing is
 * written until an output id is named, and the remote id 4 may be another schema than
 * our local 4. */
static void test_registry_hide_local_ids(void **state)
{
    schema_registry *reg = *state;
    char err[256] = "", detail[256] = "";
    proc_payout p = sample_payout(), q;
    uint8_t buf[1024];
    size_t n = 0;

    assert_int_equal(schema_encode_payout(reg, &p, buf, sizeof buf, &n), 0);
    assert_int_equal(schema_decode_payout(reg, buf, n, &q, detail, sizeof detail), SCHEMA_OK);
    schema_registry_hide_local_ids(reg);
    assert_int_equal(schema_registry_has(reg, 7), 0);
    assert_int_equal(schema_registry_output_id(reg, SCHEMA_REC_PAYOUT), 0);
    assert_int_equal(schema_decode_payout(reg, buf, n, &q, detail, sizeof detail),
                     SCHEMA_UNKNOWN_SCHEMA);
    assert_int_equal(schema_encode_payout(reg, &p, buf, sizeof buf, &n), -1);
    /* The remote registry's id 7 is the alert schema: accepted beside the hidden local 7. */
    assert_int_equal(schema_registry_add(reg, 7, schema_embedded_avsc(SCHEMA_REC_ALERT), err,
                                         sizeof err), 0);
    assert_int_equal(schema_registry_set_output_id(reg, SCHEMA_REC_PAYOUT, 7, err,
                                                   sizeof err), -1);
    assert_int_equal(schema_registry_add(reg, 12, schema_embedded_avsc(SCHEMA_REC_PAYOUT),
                                         err, sizeof err), 0);
    assert_int_equal(schema_registry_set_output_id(reg, SCHEMA_REC_PAYOUT, 12, err,
                                                   sizeof err), 0);
    assert_int_equal(schema_encode_payout(reg, &p, buf, sizeof buf, &n), 0);
    uint32_t id = 0;
    assert_int_equal(schema_wire_id(buf, n, &id), 0);
    assert_int_equal(id, 12);
    assert_int_equal(schema_decode_payout(reg, buf, n, &q, detail, sizeof detail), SCHEMA_OK);
    assert_string_equal(q.payout_id, p.payout_id);
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static const char SALE_V2[] =
    "{\"type\":\"record\",\"name\":\"SaleEvent\",\"namespace\":\"partner_incentives.v1\","
    "\"fields\":["
    "{\"name\":\"event_id\",\"type\":\"string\"},"
    "{\"name\":\"partner_id\",\"type\":\"string\"},"
    "{\"name\":\"occurred_at\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}},"
    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"SaleKind\",\"symbols\":[\"SALE\",\"RETURN\"]}},"
    "{\"name\":\"amount_minor\",\"type\":\"long\"},"
    "{\"name\":\"currency\",\"type\":\"string\"},"
    "{\"name\":\"channel\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"sku\",\"type\":\"string\"},"
    "{\"name\":\"quantity\",\"type\":\"int\"},"
    "{\"name\":\"deal_id\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"original_event_id\",\"type\":[\"null\",\"string\"],\"default\":null}]}";

static void test_registry_load_map(void **state)
{
    schema_registry *reg = *state;
    char dir[] = "/tmp/pi-schemas-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char map[256], avsc[256], bad[256], err[512] = "";
    snprintf(map, sizeof map, "%s/extra.map", dir);
    snprintf(avsc, sizeof avsc, "%s/SaleEventV2.avsc", dir);
    snprintf(bad, sizeof bad, "%s/bad.map", dir);
    write_text(avsc, SALE_V2);
    write_text(map, "# evolved producers\n\n11 SaleEventV2.avsc\r\n");
    assert_int_equal(schema_registry_load_map(reg, map, err, sizeof err), 0);
    assert_true(schema_registry_has(reg, 11));

    write_text(bad, "12 SaleEventV2.avsc\n13 Missing.avsc\n");
    assert_int_equal(schema_registry_load_map(reg, bad, err, sizeof err), -1);
    char want[1024];
    snprintf(want, sizeof want, "%s:2: cannot open %s/Missing.avsc", bad, dir);
    assert_non_null(strstr(err, want));
    write_text(bad, "x SaleEventV2.avsc\n");
    assert_int_equal(schema_registry_load_map(reg, bad, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:1: expected", bad);
    assert_non_null(strstr(err, want));
    write_text(bad, "\n\n14 bad.map\n");
    assert_int_equal(schema_registry_load_map(reg, bad, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:3: schema id 14: not a valid Avro schema", bad);
    assert_non_null(strstr(err, want));
    snprintf(want, sizeof want, "%s/nope.map", dir);
    assert_int_equal(schema_registry_load_map(reg, want, err, sizeof err), -1);
    assert_non_null(strstr(err, "nope.map"));

    remove(map);
    remove(avsc);
    remove(bad);
    rmdir(dir);
}

/* ---- round trips ------------------------------------------------------------------- */

static void roundtrip_event(schema_registry *reg, const proc_event *ev)
{
    uint8_t buf[8192];
    size_t n = 0;
    char detail[256] = "";
    proc_event out;
    memset(&out, 0xA5, sizeof out); /* garbage must not leak through */
    assert_int_equal(schema_encode_event(reg, ev, buf, sizeof buf, &n), 0);
    assert_avro_c_agrees(buf, n, (schema_record_kind)ev->type);
    assert_int_equal(schema_decode_event(reg, ev->type, buf, n, &out, detail, sizeof detail),
                     SCHEMA_OK);
    assert_string_equal(detail, "");
    assert_int_equal(out.type, ev->type);
    assert_same_event(ev, &out);
}

static void test_roundtrip_sale(void **state)
{
    proc_event ev = sample_sale();
    roundtrip_event(*state, &ev);
    ev.u.sale.kind = PROC_SALE_RETURN;
    ev.u.sale.has_deal_id = false;
    ev.u.sale.has_original_event_id = true;
    strcpy(ev.u.sale.original_event_id, "e0");
    roundtrip_event(*state, &ev);
    /* Field-level checks, not only via JSON. */
    uint8_t buf[2048];
    size_t n;
    proc_event out;
    assert_int_equal(schema_encode_event(*state, &ev, buf, sizeof buf, &n), 0);
    assert_int_equal(schema_decode_event(*state, PROC_EVENT_SALE, buf, n, &out, NULL, 0),
                     SCHEMA_OK);
    assert_int_equal(out.u.sale.kind, PROC_SALE_RETURN);
    assert_int_equal(out.u.sale.amount_minor, 100000);
    assert_int_equal(out.u.sale.quantity, 2);
    assert_false(out.u.sale.has_deal_id);
    assert_true(out.u.sale.has_original_event_id);
    assert_string_equal(out.u.sale.original_event_id, "e0");
    assert_string_equal(out.u.sale.sku, "FW-100");
}

static void test_roundtrip_registration(void **state)
{
    proc_event ev = sample_registration();
    roundtrip_event(*state, &ev);
    for (int k = PROC_REG_PARTNER_ENROLLED; k <= PROC_REG_CERTIFICATION_COMPLETED; k++) {
        ev.u.reg.kind = (proc_reg_kind)k;
        ev.u.reg.has_region = k % 2;
        strcpy(ev.u.reg.region, "DACH");
        ev.u.reg.has_certification_id = k == PROC_REG_CERTIFICATION_COMPLETED;
        strcpy(ev.u.reg.certification_id, "cert-1");
        ev.u.reg.deal_value_minor = INT64_MIN;
        roundtrip_event(*state, &ev);
    }
}

static void test_roundtrip_survey(void **state)
{
    proc_event ev = sample_survey(0); /* ENPS, empty answers */
    roundtrip_event(*state, &ev);
    ev = sample_survey(PROC_PULSE_MAX_ANSWERS);
    roundtrip_event(*state, &ev);
}

static void test_roundtrip_approval(void **state)
{
    proc_event ev = sample_approval();
    roundtrip_event(*state, &ev);
    ev.u.approval.decision = PROC_DECISION_APPROVED;
    ev.u.approval.has_reason = false;
    roundtrip_event(*state, &ev);
    uint8_t buf[2048];
    size_t n;
    proc_event out;
    assert_int_equal(schema_encode_event(*state, &ev, buf, sizeof buf, &n), 0);
    assert_int_equal(buf[4], 6);                    /* ApprovalEvent's local id */
    assert_int_equal(schema_decode_event(*state, PROC_EVENT_APPROVAL, buf, n, &out, NULL, 0),
                     SCHEMA_OK);
    assert_int_equal(out.u.approval.decision, PROC_DECISION_APPROVED);
    assert_string_equal(out.u.approval.payout_id, "po_0123456789abcdef0123456789abcdef");
    assert_string_equal(out.u.approval.approver_id, "cfo-1");
    assert_false(out.u.approval.has_reason);
    /* An approval on the sales topic is another record type. */
    char detail[256] = "";
    assert_int_equal(schema_decode_event(*state, PROC_EVENT_SALE, buf, n, &out, detail,
                                         sizeof detail), SCHEMA_UNKNOWN_SCHEMA);
    assert_non_null(strstr(detail, "ApprovalEvent"));
}

static void test_roundtrip_payout(void **state)
{
    schema_registry *reg = *state;
    proc_payout p = sample_payout(), out;
    uint8_t buf[2048];
    size_t n = 0;
    for (int k = 0; k < PROC_PAYOUT_KIND_COUNT; k++) {
        p.kind = (proc_payout_kind)k;
        p.status = (proc_payout_status)(k % 2);
        assert_int_equal(schema_encode_payout(reg, &p, buf, sizeof buf, &n), 0);
        assert_avro_c_agrees(buf, n, SCHEMA_REC_PAYOUT);
        memset(&out, 0x5A, sizeof out);
        assert_int_equal(schema_decode_payout(reg, buf, n, &out, NULL, 0), SCHEMA_OK);
        char *a = schema_payout_to_json(&p), *b = schema_payout_to_json(&out);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
    assert_int_equal(out.amount_minor, -150);
    /* A payout is not an alert. */
    assert_int_equal(schema_decode_alert(reg, buf, n, &(proc_alert){0}, NULL, 0),
                     SCHEMA_UNKNOWN_SCHEMA);
}

static void test_roundtrip_alert_order(void **state)
{
    schema_registry *reg = *state;
    proc_alert a = sample_alert(), out;
    uint8_t buf[4096];
    size_t n = 0;
    assert_int_equal(schema_encode_alert(reg, &a, buf, sizeof buf, &n), 0);
    memset(&out, 0x5A, sizeof out);
    assert_int_equal(schema_decode_alert(reg, buf, n, &out, NULL, 0), SCHEMA_OK);
    assert_int_equal(out.n_attrs, 5);
    for (int i = 0; i < a.n_attrs; i++) {
        assert_string_equal(out.attrs[i].key, a.attrs[i].key);
        assert_string_equal(out.attrs[i].value, a.attrs[i].value);
    }
    /* The wire bytes hold the keys in insertion order too. */
    const char *prev = NULL;
    for (int i = 0; i < a.n_attrs; i++) {
        const char *at = (const char *)find_bytes(buf, n, a.attrs[i].key);
        assert_non_null(at);
        if (prev)
            assert_true(at > prev);
        prev = at;
    }
    char *j = schema_alert_to_json(&out);
    assert_non_null(j);
    assert_non_null(strstr(j, "\"attributes\":{\"to_tier\":\"Gold\",\"from_tier\":\"Silver\","
                              "\"zz_last\":\"1\",\"aa_first\":\"2\",\"payout_id\":\"po_x\"}"));
    free(j);
    /* Every alert kind and severity, and no attributes at all. */
    for (int k = 0; k < PROC_ALERT_KIND_COUNT; k++) {
        a.kind = (proc_alert_kind)k;
        a.severity = (proc_severity)(k % 3);
        a.n_attrs = k % 2 ? 0 : 5;
        assert_int_equal(schema_encode_alert(reg, &a, buf, sizeof buf, &n), 0);
        assert_avro_c_agrees(buf, n, SCHEMA_REC_ALERT);
        assert_int_equal(schema_decode_alert(reg, buf, n, &out, NULL, 0), SCHEMA_OK);
        char *x = schema_alert_to_json(&a), *y = schema_alert_to_json(&out);
        assert_string_equal(x, y);
        free(x);
        free(y);
    }
    /* Duplicate attribute keys are a bug in the caller: refused. */
    a.n_attrs = 2;
    strcpy(a.attrs[1].key, a.attrs[0].key);
    assert_int_equal(schema_encode_alert(reg, &a, buf, sizeof buf, &n), -1);
}

static void test_determinism(void **state)
{
    schema_registry *reg = *state;
    uint8_t b1[4096], b2[4096], b3[4096];
    size_t n1, n2, n3;
    proc_alert a = sample_alert(), a2;
    assert_int_equal(schema_encode_alert(reg, &a, b1, sizeof b1, &n1), 0);
    /* Encode something else in between: cached values must not carry over. */
    proc_payout p = sample_payout();
    assert_int_equal(schema_encode_payout(reg, &p, b2, sizeof b2, &n2), 0);
    assert_int_equal(schema_encode_alert(reg, &a, b2, sizeof b2, &n2), 0);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    /* Decode → encode gives the same bytes. */
    assert_int_equal(schema_decode_alert(reg, b1, n1, &a2, NULL, 0), SCHEMA_OK);
    assert_int_equal(schema_encode_alert(reg, &a2, b3, sizeof b3, &n3), 0);
    assert_int_equal(n1, n3);
    assert_memory_equal(b1, b3, n1);
    /* Switching optional fields between null and a value and back. */
    proc_event ev = sample_sale(), ev2 = sample_sale();
    ev2.u.sale.has_deal_id = false;
    assert_int_equal(schema_encode_event(reg, &ev, b1, sizeof b1, &n1), 0);
    assert_int_equal(schema_encode_event(reg, &ev2, b3, sizeof b3, &n3), 0);
    assert_int_equal(schema_encode_event(reg, &ev, b2, sizeof b2, &n2), 0);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    assert_true(n3 < n1);
}

static void test_encode_buffer_too_small(void **state)
{
    schema_registry *reg = *state;
    proc_alert a = sample_alert();
    uint8_t buf[4096];
    size_t n = 0, m = 0;
    assert_int_equal(schema_encode_alert(reg, &a, buf, sizeof buf, &n), 0);
    for (size_t cap = 0; cap < n; cap++)
        assert_int_equal(schema_encode_alert(reg, &a, buf, cap, &m), -1);
    assert_int_equal(schema_encode_alert(reg, &a, buf, n, &m), 0);
    assert_int_equal(m, n);
    /* Invalid structs. */
    a.kind = PROC_ALERT_KIND_COUNT;
    assert_int_equal(schema_encode_alert(reg, &a, buf, sizeof buf, &n), -1);
    a = sample_alert();
    a.n_attrs = PROC_ALERT_MAX_ATTRS + 1;
    assert_int_equal(schema_encode_alert(reg, &a, buf, sizeof buf, &n), -1);
    proc_payout p = sample_payout();
    memset(p.currency, 'X', sizeof p.currency); /* unterminated */
    assert_int_equal(schema_encode_payout(reg, &p, buf, sizeof buf, &n), -1);
    proc_event ev = sample_survey(3);
    ev.u.survey.n_answers = PROC_PULSE_MAX_ANSWERS + 1;
    assert_int_equal(schema_encode_event(reg, &ev, buf, sizeof buf, &n), -1);
    ev.type = (proc_event_type)7;
    assert_int_equal(schema_encode_event(reg, &ev, buf, sizeof buf, &n), -1);
}

/* Every string at its longest, every count at its maximum: still fits. */
static void fill_string(char *s, size_t cap)
{
    memset(s, 'x', cap - 1);
    s[cap - 1] = '\0';
}
#define FILL(field) fill_string(field, sizeof field)

static void test_encode_max_size(void **state)
{
    schema_registry *reg = *state;
    static uint8_t buf[SCHEMA_ENCODE_MAX];
    size_t n = 0, biggest = 0;
    proc_alert a = sample_alert();
    FILL(a.alert_id), FILL(a.partner_id), FILL(a.program_id), FILL(a.period);
    FILL(a.message), FILL(a.source_event_id);
    a.n_attrs = PROC_ALERT_MAX_ATTRS;
    for (int i = 0; i < a.n_attrs; i++) {
        FILL(a.attrs[i].key), FILL(a.attrs[i].value);
        a.attrs[i].key[0] = (char)('a' + i);
    }
    a.occurred_at = INT64_MIN;
    assert_int_equal(schema_encode_alert(reg, &a, buf, sizeof buf, &n), 0);
    biggest = n > biggest ? n : biggest;
    proc_payout p = sample_payout();
    FILL(p.payout_id), FILL(p.partner_id), FILL(p.program_id), FILL(p.currency);
    FILL(p.period), FILL(p.tier), FILL(p.rule_id), FILL(p.source_event_id);
    p.amount_minor = INT64_MIN;
    assert_int_equal(schema_encode_payout(reg, &p, buf, sizeof buf, &n), 0);
    biggest = n > biggest ? n : biggest;
    proc_event ev = sample_survey(PROC_PULSE_MAX_ANSWERS);
    FILL(ev.event_id), FILL(ev.partner_id), FILL(ev.u.survey.survey_id);
    FILL(ev.u.survey.respondent_id);
    ev.u.survey.has_score = true;
    ev.u.survey.score = INT32_MIN;
    for (int i = 0; i < PROC_PULSE_MAX_ANSWERS; i++) {
        FILL(ev.u.survey.answers[i].question_id);
        ev.u.survey.answers[i].score = INT32_MIN;
    }
    assert_int_equal(schema_encode_event(reg, &ev, buf, sizeof buf, &n), 0);
    biggest = n > biggest ? n : biggest;
    proc_event sale = sample_sale();
    FILL(sale.event_id), FILL(sale.partner_id), FILL(sale.u.sale.currency);
    FILL(sale.u.sale.sku), FILL(sale.u.sale.deal_id), FILL(sale.u.sale.original_event_id);
    sale.u.sale.has_original_event_id = true;
    assert_int_equal(schema_encode_event(reg, &sale, buf, sizeof buf, &n), 0);
    proc_event out;
    assert_int_equal(schema_decode_event(reg, PROC_EVENT_SALE, buf, n, &out, NULL, 0),
                     SCHEMA_OK);
    assert_same_event(&sale, &out);
    assert_true(biggest <= SCHEMA_ENCODE_MAX);
    assert_true(biggest > SCHEMA_ENCODE_MAX - 600); /* the bound is not wildly loose */
}

/* ---- an independent byte vector ---------------------------------------------------- */

static void test_hand_vector_sale(void **state)
{
    /* Written by hand from the Avro spec: strings are zigzag(len) + bytes, longs are
     * zigzag varints (7 bits per byte, low group first, 0x80 = more), enums and union
     * branches are zigzag indexes. */
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00, 0x01,             /* magic, schema id 1 */
        0x04, 'e', '1',                           /* event_id "e1": zigzag(2) = 4 */
        0x04, 'p', '1',                           /* partner_id "p1" */
        /* occurred_at 1793491200000: zigzag = 3586982400000 =
         * 0x68·128^5 + 0x32·128^4 + 0x46·128^3 + 0x3F·128^2 + 0x20·128 + 0x00 */
        0x80, 0xA0, 0xBF, 0xC6, 0xB2, 0x68,
        0x00,                                     /* kind SALE = index 0 */
        0xC0, 0x9A, 0x0C,                         /* amount_minor 100000: zigzag 200000 =
                                                     12·128^2 + 26·128 + 64 */
        0x06, 'E', 'U', 'R',                      /* currency */
        0x0C, 'F', 'W', '-', '1', '0', '0',       /* sku, 6 bytes */
        0x04,                                     /* quantity 2 */
        0x00,                                     /* deal_id: branch 0 = null */
        0x02, 0x04, 'e', '0',                     /* original_event_id: branch 1, "e0" */
    };
    proc_event ev = sample_sale();
    ev.u.sale.has_deal_id = false;
    ev.u.sale.has_original_event_id = true;
    strcpy(ev.u.sale.original_event_id, "e0");
    uint8_t buf[512];
    size_t n = 0;
    assert_int_equal(schema_encode_event(*state, &ev, buf, sizeof buf, &n), 0);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(buf, want, sizeof want);
    proc_event out;
    assert_int_equal(schema_decode_event(*state, PROC_EVENT_SALE, want, sizeof want, &out,
                                         NULL, 0), SCHEMA_OK);
    assert_same_event(&ev, &out);
}

static void test_hand_vector_payout(void **state)
{
    proc_payout p;
    memset(&p, 0, sizeof p);
    strcpy(p.payout_id, "a");
    strcpy(p.partner_id, "b");
    strcpy(p.program_id, "c");
    p.kind = PROC_PAYOUT_CLAWBACK;   /* index 6 → zigzag 12 */
    p.amount_minor = -150;           /* zigzag 299 = 2·128 + 43 → 0xAB 0x02 */
    strcpy(p.currency, "EUR");
    strcpy(p.period, "2026-Q4");
    strcpy(p.tier, "");
    p.status = PROC_STATUS_PENDING_APPROVAL;
    strcpy(p.rule_id, "r");
    strcpy(p.source_event_id, "e");
    p.occurred_at = -1;              /* zigzag 1 */
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00, 0x07, 0x02, 'a', 0x02, 'b', 0x02, 'c', 0x0C, 0xAB, 0x02,
        0x06, 'E', 'U', 'R', 0x0E, '2', '0', '2', '6', '-', 'Q', '4', 0x00, 0x02,
        0x02, 'r', 0x02, 'e', 0x01,
        0x00, 0x00,                                  /* decision_of, approver_id: null */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,   /* the explanation: null */
    };
    enum { V2_TAIL = 11 };                           /* bytes of the fields version 2 added */
    uint8_t buf[256];
    size_t n = 0;
    assert_int_equal(schema_encode_payout(*state, &p, buf, sizeof buf, &n), 0);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(buf, want, sizeof want);

    /* The record of a decision: status REJECTED (index 2 → 0x04), both unions index 1. */
    p.status = PROC_STATUS_REJECTED;
    p.has_decision_of = true;
    strcpy(p.decision_of, "x");
    p.has_approver_id = true;
    strcpy(p.approver_id, "y");
    p.explain.has_basis = p.explain.has_rate_bp = p.explain.has_cut = true;
    p.explain.basis_minor = 100;
    p.explain.rate_bp = 200;
    p.explain.cut_minor = 5;
    static const uint8_t want2[] = {
        0x00, 0x00, 0x00, 0x00, 0x07, 0x02, 'a', 0x02, 'b', 0x02, 'c', 0x0C, 0xAB, 0x02,
        0x06, 'E', 'U', 'R', 0x0E, '2', '0', '2', '6', '-', 'Q', '4', 0x00, 0x04,
        0x02, 'r', 0x02, 'e', 0x01, 0x02, 0x02, 'x', 0x02, 0x02, 'y',
        0x02, 0xC8, 0x01,                            /* basis_minor 100 */
        0x02, 0x90, 0x03,                            /* rate_bp 200 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x02, 0x0A,                                  /* cut_minor 5 */
    };
    assert_int_equal(schema_encode_payout(*state, &p, buf, sizeof buf, &n), 0);
    assert_int_equal(n, sizeof want2);
    assert_memory_equal(buf, want2, sizeof want2);
    proc_payout back;
    assert_int_equal(schema_decode_payout(*state, want2, sizeof want2, &back, NULL, 0), SCHEMA_OK);
    assert_int_equal(back.status, PROC_STATUS_REJECTED);
    assert_string_equal(back.decision_of, "x");
    assert_string_equal(back.approver_id, "y");
    assert_true(back.explain.has_basis && back.explain.has_rate_bp && back.explain.has_cut);
    assert_false(back.explain.has_old_rate_bp || back.explain.has_per_unit ||
                 back.explain.has_quantity || back.explain.has_sale ||
                 back.explain.has_returned_before || back.explain.has_returned_after);
    assert_int_equal(back.explain.basis_minor, 100);
    assert_int_equal(back.explain.rate_bp, 200);
    assert_int_equal(back.explain.cut_minor, 5);

    /* A version-1 record (id 4: no REJECTED, no decision fields) still decodes. */
    uint8_t v1[sizeof want];
    memcpy(v1, want, sizeof want - V2_TAIL);
    v1[4] = 0x04;
    assert_int_equal(schema_decode_payout(*state, v1, sizeof want - V2_TAIL, &back, NULL, 0),
                     SCHEMA_OK);
    assert_int_equal(back.status, PROC_STATUS_PENDING_APPROVAL);
    assert_false(back.has_decision_of);
    assert_false(back.has_approver_id);
}

/* ---- framing and limits ------------------------------------------------------------ */

static schema_status dec_sale(schema_registry *reg, const void *b, size_t n, char *detail)
{
    proc_event ev;
    return schema_decode_event(reg, PROC_EVENT_SALE, b, n, &ev, detail, 256);
}

static void test_wire_errors(void **state)
{
    schema_registry *reg = *state;
    char d[256];
    static wbuf w;
    w_sale(&w, "p1", "EUR", "FW-100");
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_OK);

    assert_string_equal(schema_status_name(SCHEMA_UNKNOWN_SCHEMA), "UNKNOWN_SCHEMA");
    assert_int_equal(dec_sale(reg, "", 0, d), SCHEMA_DECODE_ERROR);
    assert_int_equal(dec_sale(reg, NULL, 0, d), SCHEMA_DECODE_ERROR);
    assert_int_equal(dec_sale(reg, w.b, 4, d), SCHEMA_DECODE_ERROR);
    assert_non_null(strstr(d, "4 bytes"));

    w.b[0] = 1;
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_DECODE_ERROR);
    assert_non_null(strstr(d, "magic"));
    w.b[0] = 0;

    w.b[4] = 99;
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_UNKNOWN_SCHEMA);
    assert_non_null(strstr(d, "99"));
    w.b[4] = 1;

    /* Every truncation of the body. */
    for (size_t n = 5; n < w.n; n++)
        assert_int_equal(dec_sale(reg, w.b, n, d), SCHEMA_DECODE_ERROR);

    /* Trailing bytes. */
    w.b[w.n] = 0;
    assert_int_equal(dec_sale(reg, w.b, w.n + 1, d), SCHEMA_DECODE_ERROR);
    assert_non_null(strstr(d, "1 bytes are left"));

    /* A string claiming 2^40 bytes: refused before anything is allocated. */
    w_header(&w, 1);
    w_long(&w, (int64_t)1 << 40);
    w_str(&w, "xyz");
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_DECODE_ERROR);
    assert_non_null(strstr(d, "event_id"));
    assert_non_null(strstr(d, "1099511627776"));
    /* Negative length, and a varint longer than 10 bytes. */
    w_header(&w, 1);
    w_long(&w, -3);
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_DECODE_ERROR);
    w_header(&w, 1);
    for (int i = 0; i < 11; i++)
        w_byte(&w, 0xFF);
    w_byte(&w, 0x01);
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_DECODE_ERROR);

    /* Over the size cap. */
    w_sale(&w, "p1", "EUR", "FW-100");
    assert_int_equal(dec_sale(reg, w.b, SCHEMA_MAX_MESSAGE + 1, d), SCHEMA_DECODE_ERROR);

    /* Out-of-range enum index and union branch. */
    w_header(&w, 1);
    w_str(&w, "e1");
    w_str(&w, "p1");
    w_long(&w, 1);
    w_long(&w, 2); /* SaleKind has 2 symbols */
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_DECODE_ERROR);
    assert_non_null(strstr(d, "kind"));
    w_sale(&w, "p1", "EUR", "FW-100");
    w.b[w.n - 1] = 0x04; /* original_event_id branch 2 of 2 */
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_DECODE_ERROR);

    /* quantity outside the int range. */
    w_header(&w, 1);
    w_str(&w, "e1");
    w_str(&w, "p1");
    w_long(&w, 1);
    w_long(&w, 0);
    w_long(&w, 5);
    w_str(&w, "EUR");
    w_str(&w, "x");
    w_long(&w, (int64_t)1 << 33);
    w_long(&w, 0);
    w_long(&w, 0);
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_DECODE_ERROR);
    assert_non_null(strstr(d, "quantity"));
}

static void test_wrong_record_type(void **state)
{
    schema_registry *reg = *state;
    char d[256];
    static wbuf w;
    w_survey(&w, 2);
    proc_event ev;
    assert_int_equal(schema_decode_event(reg, PROC_EVENT_SURVEY, w.b, w.n, &ev, d, sizeof d),
                     SCHEMA_OK);
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_UNKNOWN_SCHEMA);
    assert_non_null(strstr(d, "partner_incentives.v1.SurveyEvent"));
    assert_int_equal(schema_decode_event(reg, PROC_EVENT_REGISTRATION, w.b, w.n, &ev, d,
                                         sizeof d), SCHEMA_UNKNOWN_SCHEMA);
    assert_int_equal(schema_decode_payout(reg, w.b, w.n, &(proc_payout){0}, d, sizeof d),
                     SCHEMA_UNKNOWN_SCHEMA);
}

static void test_string_limits(void **state)
{
    schema_registry *reg = *state;
    char d[256], s[300];
    static wbuf w;
    proc_event ev;
    memset(s, 'a', sizeof s);
    s[256] = '\0';
    w_sale(&w, s, "EUR", "FW-100");
    assert_int_equal(schema_decode_event(reg, PROC_EVENT_SALE, w.b, w.n, &ev, d, sizeof d),
                     SCHEMA_OK);
    assert_int_equal(strlen(ev.partner_id), 256);
    s[256] = 'a';
    s[257] = '\0';
    w_sale(&w, s, "EUR", "FW-100");
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_INVALID_EVENT);
    assert_non_null(strstr(d, "partner_id"));
    assert_non_null(strstr(d, "257"));
    w_sale(&w, "p1", "EUR", s);
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_INVALID_EVENT);
    assert_non_null(strstr(d, "sku"));

    w_sale(&w, "p1", "ABCDEFG", "FW-100");
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_OK);
    w_sale(&w, "p1", "ABCDEFGH", "FW-100");
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_INVALID_EVENT);
    assert_non_null(strstr(d, "currency"));

    /* NUL bytes and invalid UTF-8 cannot reach NUL-terminated buffers. */
    w_header(&w, 1);
    w_strn(&w, "e\0x", 3);
    w.n = 0;
    w_sale(&w, "p\xff", "EUR", "FW-100");
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_INVALID_EVENT);
    assert_non_null(strstr(d, "UTF-8"));
    w_sale(&w, "\xed\xa0\x80", "EUR", "FW-100"); /* a surrogate */
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_INVALID_EVENT);
    w_sale(&w, "\xf0\x9f\x98\x80", "EUR", "FW-100"); /* U+1F600 is fine */
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_OK);
    w_header(&w, 1);
    w_strn(&w, "e\0x", 3);
    w_str(&w, "p1");
    w_long(&w, 1);
    w_long(&w, 0);
    w_long(&w, 5);
    w_str(&w, "EUR");
    w_str(&w, "x");
    w_long(&w, 1);
    w_long(&w, 0);
    w_long(&w, 0);
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_INVALID_EVENT);
    assert_non_null(strstr(d, "event_id"));

    /* Order of checks: well-formedness first. An over-long string followed by
     * garbage is a DECODE_ERROR, not an INVALID_EVENT. */
    w_sale(&w, s, "EUR", "FW-100");
    w.b[w.n++] = 7;
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_DECODE_ERROR);
}

static void test_pulse_answer_limit(void **state)
{
    schema_registry *reg = *state;
    char d[256];
    static wbuf w;
    proc_event ev;
    w_survey(&w, 10);
    assert_int_equal(schema_decode_event(reg, PROC_EVENT_SURVEY, w.b, w.n, &ev, d, sizeof d),
                     SCHEMA_OK);
    assert_int_equal(ev.u.survey.n_answers, 10);
    assert_string_equal(ev.u.survey.answers[9].question_id, "q9");
    assert_int_equal(ev.u.survey.answers[9].score, 5);
    assert_false(ev.u.survey.has_score);
    w_survey(&w, 11);
    assert_int_equal(schema_decode_event(reg, PROC_EVENT_SURVEY, w.b, w.n, &ev, d, sizeof d),
                     SCHEMA_INVALID_EVENT);
    assert_non_null(strstr(d, "answers"));
    assert_non_null(strstr(d, "10"));
    /* Answers split over several blocks, one with a negative count + byte size. */
    w_header(&w, 3);
    w_str(&w, "s1");
    w_str(&w, "p1");
    w_long(&w, 1);
    w_long(&w, 1);
    w_str(&w, "q");
    w_str(&w, "r");
    w_long(&w, 1);
    w_long(&w, 7); /* score: branch 1, 7 */
    w_long(&w, 1);
    w_str(&w, "a");
    w_long(&w, 3);
    w_long(&w, -2);
    w_long(&w, 6); /* 2 items, 6 bytes */
    w_str(&w, "b");
    w_long(&w, 4);
    w_str(&w, "c");
    w_long(&w, 5);
    w_long(&w, 0);
    assert_int_equal(schema_decode_event(reg, PROC_EVENT_SURVEY, w.b, w.n, &ev, d, sizeof d),
                     SCHEMA_OK);
    assert_int_equal(ev.u.survey.n_answers, 3);
    assert_true(ev.u.survey.has_score);
    assert_int_equal(ev.u.survey.score, 7);
    assert_string_equal(ev.u.survey.answers[2].question_id, "c");
    /* An element string too long names its index. */
    char q[300];
    memset(q, 'q', sizeof q);
    q[299] = '\0';
    w_header(&w, 3);
    w_str(&w, "s1");
    w_str(&w, "p1");
    w_long(&w, 1);
    w_long(&w, 1);
    w_str(&w, "q");
    w_str(&w, "r");
    w_long(&w, 0);
    w_long(&w, 2);
    w_str(&w, "ok");
    w_long(&w, 1);
    w_str(&w, q);
    w_long(&w, 1);
    w_long(&w, 0);
    assert_int_equal(schema_decode_event(reg, PROC_EVENT_SURVEY, w.b, w.n, &ev, d, sizeof d),
                     SCHEMA_INVALID_EVENT);
    assert_non_null(strstr(d, "answers[1].question_id"));
    /* A huge declared element count is refused, not looped over. */
    w_header(&w, 3);
    w_str(&w, "s1");
    w_str(&w, "p1");
    w_long(&w, 1);
    w_long(&w, 1);
    w_str(&w, "q");
    w_str(&w, "r");
    w_long(&w, 0);
    w_long(&w, INT64_MAX);
    assert_int_equal(schema_decode_event(reg, PROC_EVENT_SURVEY, w.b, w.n, &ev, d, sizeof d),
                     SCHEMA_DECODE_ERROR);
}

/* ---- schema evolution -------------------------------------------------------------- */

static void fill_sale_v2(avro_value_t *rec)
{
    set_str(rec, "event_id", "e-evo");
    set_str(rec, "partner_id", "p-evo");
    set_long(rec, "occurred_at", 1793491200123);
    set_enum(rec, "kind", 1);
    set_long(rec, "amount_minor", 4242);
    set_str(rec, "currency", "USD");
    set_opt_str(rec, "channel", "web-shop");
    set_str(rec, "sku", "SW-9");
    set_int(rec, "quantity", 3);
    set_opt_str(rec, "deal_id", NULL);
    set_opt_str(rec, "original_event_id", "e-orig");
}

static void test_evolution_added_field(void **state)
{
    schema_registry *reg = *state;
    char err[256], d[256] = "";
    assert_int_equal(schema_registry_add(reg, 11, SALE_V2, err, sizeof err), 0);
    uint8_t buf[1024];
    size_t n = avro_build(SALE_V2, 11, fill_sale_v2, buf, sizeof buf);
    proc_event ev;
    assert_int_equal(schema_decode_event(reg, PROC_EVENT_SALE, buf, n, &ev, d, sizeof d),
                     SCHEMA_OK);
    assert_string_equal(ev.event_id, "e-evo");
    assert_string_equal(ev.partner_id, "p-evo");
    assert_int_equal(ev.occurred_at, 1793491200123);
    assert_int_equal(ev.u.sale.kind, PROC_SALE_RETURN);
    assert_int_equal(ev.u.sale.amount_minor, 4242);
    assert_string_equal(ev.u.sale.currency, "USD");
    assert_string_equal(ev.u.sale.sku, "SW-9");
    assert_int_equal(ev.u.sale.quantity, 3);
    assert_false(ev.u.sale.has_deal_id);
    assert_true(ev.u.sale.has_original_event_id);
    assert_string_equal(ev.u.sale.original_event_id, "e-orig");
    /* Still a sale only. */
    assert_int_equal(schema_decode_event(reg, PROC_EVENT_SURVEY, buf, n, &ev, d, sizeof d),
                     SCHEMA_UNKNOWN_SCHEMA);
}

static const char SALE_NO_DEAL[] =
    "{\"type\":\"record\",\"name\":\"SaleEvent\",\"namespace\":\"partner_incentives.v1\","
    "\"fields\":["
    "{\"name\":\"original_event_id\",\"type\":[\"string\",\"null\"]},"
    "{\"name\":\"event_id\",\"type\":\"string\"},"
    "{\"name\":\"partner_id\",\"type\":\"bytes\"},"
    "{\"name\":\"occurred_at\",\"type\":\"int\"},"
    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"SaleKind\","
    "\"symbols\":[\"EXCHANGE\",\"RETURN\",\"SALE\"]}},"
    "{\"name\":\"extra\",\"type\":{\"type\":\"map\",\"values\":{\"type\":\"array\",\"items\":"
    "[\"null\",\"double\",{\"type\":\"fixed\",\"name\":\"F3\",\"size\":3}]}}},"
    "{\"name\":\"amount_minor\",\"type\":\"int\"},"
    "{\"name\":\"currency\",\"type\":\"string\"},"
    "{\"name\":\"sku\",\"type\":\"string\"},"
    "{\"name\":\"quantity\",\"type\":\"int\"}]}";

static int no_deal_kind = 2;

static void fill_sale_no_deal(avro_value_t *rec)
{
    avro_value_t f, br, m, arr, el;
    assert_int_equal(avro_value_get_by_name(rec, "original_event_id", &f, NULL), 0);
    assert_int_equal(avro_value_set_branch(&f, 0, &br), 0);
    assert_int_equal(avro_value_set_string(&br, "e-0"), 0);
    set_str(rec, "event_id", "e-nd");
    assert_int_equal(avro_value_get_by_name(rec, "partner_id", &f, NULL), 0);
    assert_int_equal(avro_value_set_bytes(&f, "p-nd", 4), 0);
    assert_int_equal(avro_value_get_by_name(rec, "occurred_at", &f, NULL), 0);
    assert_int_equal(avro_value_set_int(&f, -7), 0);
    set_enum(rec, "kind", no_deal_kind);
    /* An extra field of nested types the reader has to skip. */
    assert_int_equal(avro_value_get_by_name(rec, "extra", &m, NULL), 0);
    assert_int_equal(avro_value_add(&m, "k1", &arr, NULL, NULL), 0);
    assert_int_equal(avro_value_append(&arr, &el, NULL), 0);
    assert_int_equal(avro_value_set_branch(&el, 1, &br), 0);
    assert_int_equal(avro_value_set_double(&br, 2.5), 0);
    assert_int_equal(avro_value_append(&arr, &el, NULL), 0);
    assert_int_equal(avro_value_set_branch(&el, 2, &br), 0);
    assert_int_equal(avro_value_set_fixed(&br, "abc", 3), 0);
    assert_int_equal(avro_value_append(&arr, &el, NULL), 0);
    assert_int_equal(avro_value_set_branch(&el, 0, &br), 0);
    assert_int_equal(avro_value_set_null(&br), 0);
    assert_int_equal(avro_value_add(&m, "k2", &arr, NULL, NULL), 0);
    assert_int_equal(avro_value_get_by_name(rec, "amount_minor", &f, NULL), 0);
    assert_int_equal(avro_value_set_int(&f, 99), 0);
    set_str(rec, "currency", "EUR");
    set_str(rec, "sku", "FW-1");
    set_int(rec, "quantity", 1);
}

static void test_evolution_missing_optional(void **state)
{
    /* No deal_id at all, fields reordered, int promoted to long, string as bytes, a
     * reordered enum with an extra symbol, a nested extra field, a ["string","null"]
     * union: everything is matched by name. */
    schema_registry *reg = *state;
    char err[256], d[256] = "";
    assert_int_equal(schema_registry_add(reg, 12, SALE_NO_DEAL, err, sizeof err), 0);
    uint8_t buf[1024];
    proc_event ev;
    memset(&ev, 0x33, sizeof ev);
    size_t n = avro_build(SALE_NO_DEAL, 12, fill_sale_no_deal, buf, sizeof buf);
    assert_int_equal(schema_decode_event(reg, PROC_EVENT_SALE, buf, n, &ev, d, sizeof d),
                     SCHEMA_OK);
    assert_false(ev.u.sale.has_deal_id);
    assert_string_equal(ev.u.sale.deal_id, "");
    assert_true(ev.u.sale.has_original_event_id);
    assert_string_equal(ev.u.sale.original_event_id, "e-0");
    assert_string_equal(ev.partner_id, "p-nd");
    assert_int_equal(ev.occurred_at, -7);
    assert_int_equal(ev.u.sale.kind, PROC_SALE_SALE);
    assert_int_equal(ev.u.sale.amount_minor, 99);
    assert_int_equal(ev.u.sale.quantity, 1);
    /* The symbol we do not know. */
    no_deal_kind = 0;
    n = avro_build(SALE_NO_DEAL, 12, fill_sale_no_deal, buf, sizeof buf);
    no_deal_kind = 2;
    assert_int_equal(schema_decode_event(reg, PROC_EVENT_SALE, buf, n, &ev, d, sizeof d),
                     SCHEMA_INVALID_EVENT);
    assert_non_null(strstr(d, "EXCHANGE"));
}

static void test_evolution_missing_required(void **state)
{
    schema_registry *reg = *state;
    char err[256], d[256];
    /* A SaleEvent writer without sku; and one whose quantity is a string. */
    static const char no_sku[] =
        "{\"type\":\"record\",\"name\":\"SaleEvent\",\"namespace\":\"partner_incentives.v1\","
        "\"fields\":[{\"name\":\"event_id\",\"type\":\"string\"},"
        "{\"name\":\"partner_id\",\"type\":\"string\"},{\"name\":\"occurred_at\",\"type\":\"long\"},"
        "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"SaleKind\",\"symbols\":[\"SALE\"]}},"
        "{\"name\":\"amount_minor\",\"type\":\"long\"},{\"name\":\"currency\",\"type\":\"string\"},"
        "{\"name\":\"quantity\",\"type\":[\"null\",\"string\"]}]}";
    assert_int_equal(schema_registry_add(reg, 13, no_sku, err, sizeof err), 0);
    static wbuf w;
    w_header(&w, 13);
    w_str(&w, "e1");
    w_str(&w, "p1");
    w_long(&w, 1);
    w_long(&w, 0);
    w_long(&w, 5);
    w_str(&w, "EUR");
    w_long(&w, 1);
    w_str(&w, "two");
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_INVALID_EVENT);
    assert_non_null(strstr(d, "sku"));
    /* Well-formedness still comes first. */
    assert_int_equal(dec_sale(reg, w.b, w.n - 1, d), SCHEMA_DECODE_ERROR);
    /* A required field sent as null. */
    w_sale(&w, "p1", "EUR", "FW-100");
    static const char null_sku[] =
        "{\"type\":\"record\",\"name\":\"SaleEvent\",\"namespace\":\"partner_incentives.v1\","
        "\"fields\":[{\"name\":\"event_id\",\"type\":\"string\"},"
        "{\"name\":\"partner_id\",\"type\":\"string\"},{\"name\":\"occurred_at\",\"type\":\"long\"},"
        "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"SaleKind\",\"symbols\":[\"SALE\"]}},"
        "{\"name\":\"amount_minor\",\"type\":\"long\"},{\"name\":\"currency\",\"type\":\"string\"},"
        "{\"name\":\"sku\",\"type\":[\"null\",\"string\"]},{\"name\":\"quantity\",\"type\":\"int\"}]}";
    assert_int_equal(schema_registry_add(reg, 14, null_sku, err, sizeof err), 0);
    w_header(&w, 14);
    w_str(&w, "e1");
    w_str(&w, "p1");
    w_long(&w, 1);
    w_long(&w, 0);
    w_long(&w, 5);
    w_str(&w, "EUR");
    w_long(&w, 0);
    w_long(&w, 1);
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_INVALID_EVENT);
    assert_non_null(strstr(d, "sku is null"));
}

static void test_evolution_recursive_extra(void **state)
{
    /* An extra field of a recursive type is skipped; absurd nesting is refused rather
     * than followed down the stack. */
    schema_registry *reg = *state;
    static const char chain[] =
        "{\"type\":\"record\",\"name\":\"SaleEvent\",\"namespace\":\"partner_incentives.v1\","
        "\"fields\":[{\"name\":\"event_id\",\"type\":\"string\"},"
        "{\"name\":\"chain\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"Link\","
        "\"fields\":[{\"name\":\"v\",\"type\":\"boolean\"},"
        "{\"name\":\"next\",\"type\":[\"null\",\"Link\"]}]}]},"
        "{\"name\":\"partner_id\",\"type\":\"string\"},{\"name\":\"occurred_at\",\"type\":\"long\"},"
        "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"SaleKind\",\"symbols\":[\"SALE\"]}},"
        "{\"name\":\"amount_minor\",\"type\":\"long\"},{\"name\":\"currency\",\"type\":\"string\"},"
        "{\"name\":\"sku\",\"type\":\"string\"},{\"name\":\"quantity\",\"type\":\"int\"}]}";
    char err[256], d[256];
    assert_int_equal(schema_registry_add(reg, 15, chain, err, sizeof err), 0);
    static wbuf w;
    for (int depth = 1; depth <= 40; depth += 39) {
        w_header(&w, 15);
        w_str(&w, "e1");
        for (int i = 0; i < depth; i++) {
            w_long(&w, 1); /* a Link */
            w_byte(&w, 1); /* v = true */
        }
        w_long(&w, 0); /* next = null */
        w_str(&w, "p1");
        w_long(&w, 1);
        w_long(&w, 0);
        w_long(&w, 5);
        w_str(&w, "EUR");
        w_str(&w, "x");
        w_long(&w, 1);
        assert_int_equal(dec_sale(reg, w.b, w.n, d),
                         depth == 1 ? SCHEMA_OK : SCHEMA_DECODE_ERROR);
    }
    assert_non_null(strstr(d, "chain"));
    /* A boolean byte other than 0/1 is malformed. */
    w_header(&w, 15);
    w_str(&w, "e1");
    w_long(&w, 1);
    w_byte(&w, 2);
    assert_int_equal(dec_sale(reg, w.b, w.n, d), SCHEMA_DECODE_ERROR);
}

/* ---- JSON -------------------------------------------------------------------------- */

static void test_json_event(void **state)
{
    (void)state;
    const char *in = "{\"type\":\"sale\",\"event_id\":\"e1\",\"partner_id\":\"p1\","
                     "\"occurred_at\":1793491200000,\"kind\":\"SALE\",\"amount_minor\":100000,"
                     "\"currency\":\"EUR\",\"sku\":\"FW-100\",\"quantity\":2,\"deal_id\":null}";
    char err[256] = "";
    proc_event ev;
    assert_int_equal(schema_event_from_json(in, &ev, err, sizeof err), 0);
    assert_int_equal(ev.type, PROC_EVENT_SALE);
    assert_false(ev.u.sale.has_deal_id);
    assert_false(ev.u.sale.has_original_event_id);
    char *out = schema_event_to_json(&ev);
    assert_string_equal(out,
        "{\"type\":\"sale\",\"event_id\":\"e1\",\"partner_id\":\"p1\","
        "\"occurred_at\":1793491200000,\"kind\":\"SALE\",\"amount_minor\":100000,"
        "\"currency\":\"EUR\",\"sku\":\"FW-100\",\"quantity\":2,\"deal_id\":null,"
        "\"original_event_id\":null}");
    free(out);

    proc_event evs[4] = {sample_registration(), sample_survey(4), sample_survey(0),
                         sample_approval()};
    for (int i = 0; i < 4; i++) {
        proc_event back;
        char *j = schema_event_to_json(&evs[i]);
        assert_non_null(j);
        assert_int_equal(schema_event_from_json(j, &back, err, sizeof err), 0);
        assert_same_event(&evs[i], &back);
        free(j);
    }

    assert_int_equal(schema_event_from_json("{\"type\":\"sale\",\"event_id\":\"e1\"}", &ev, err,
                                            sizeof err), -1);
    assert_non_null(strstr(err, "partner_id"));
    assert_int_equal(schema_event_from_json("{\"type\":\"refund\"}", &ev, err, sizeof err), -1);
    assert_non_null(strstr(err, "type"));
    assert_int_equal(schema_event_from_json("{\"type\":\"survey\",\"amount\":1}", &ev, err,
                                            sizeof err), -1);
    assert_non_null(strstr(err, "amount"));
    assert_int_equal(schema_event_from_json("[1", &ev, err, sizeof err), -1);
    assert_non_null(strstr(err, "Line 1"));
    char *bad = schema_event_to_json(&evs[0]);
    char *k = strstr(bad, "DEAL_REGISTERED");
    memcpy(k, "DEAL_REGISTEREX", 15);
    assert_int_equal(schema_event_from_json(bad, &ev, err, sizeof err), -1);
    assert_non_null(strstr(err, "kind"));
    free(bad);
    assert_int_equal(schema_event_from_json(
        "{\"type\":\"survey\",\"event_id\":\"s\",\"partner_id\":\"p\",\"occurred_at\":1,"
        "\"kind\":\"PULSE\",\"survey_id\":\"q\",\"respondent_id\":\"r\",\"score\":null,"
        "\"answers\":[{\"question_id\":\"a\",\"score\":\"5\"}]}", &ev, err, sizeof err), -1);
    assert_non_null(strstr(err, "answers[0].score"));
}

static void test_json_outputs(void **state)
{
    (void)state;
    proc_payout p = sample_payout(), p2;
    char *j = schema_payout_to_json(&p);
    assert_string_equal(j,
        "{\"payout_id\":\"po_0123456789abcdef0123456789abcdef\",\"partner_id\":\"p1\","
        "\"program_id\":\"emea-resellers\",\"kind\":\"CLAWBACK\",\"amount_minor\":-150,"
        "\"currency\":\"EUR\",\"period\":\"2026-Q4\",\"tier\":\"Gold\","
        "\"status\":\"PENDING_APPROVAL\",\"rule_id\":\"po_fedcba9876543210fedcba9876543210\","
        "\"source_event_id\":\"e2\",\"occurred_at\":1793491200000,"
        "\"decision_of\":null,\"approver_id\":null,\"basis_minor\":null,\"rate_bp\":null,"
        "\"old_rate_bp\":null,\"per_unit_minor\":null,\"quantity\":null,\"sale_minor\":null,"
        "\"returned_before_minor\":null,\"returned_after_minor\":null,\"cut_minor\":null}");
    char err[256];
    assert_int_equal(schema_payout_from_json(j, &p2, err, sizeof err), 0);
    char *j2 = schema_payout_to_json(&p2);
    assert_string_equal(j, j2);
    free(j);
    free(j2);

    proc_alert a = sample_alert(), a2;
    j = schema_alert_to_json(&a);
    assert_int_equal(schema_alert_from_json(j, &a2, err, sizeof err), 0);
    assert_int_equal(a2.n_attrs, 5);
    assert_string_equal(a2.attrs[0].key, "to_tier");
    assert_string_equal(a2.attrs[4].key, "payout_id");
    j2 = schema_alert_to_json(&a2);
    assert_string_equal(j, j2);
    free(j);
    free(j2);

    p.kind = (proc_payout_kind)42;
    assert_null(schema_payout_to_json(&p));
}

/* ---- fuzz -------------------------------------------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Mutates valid records of every type (byte flips, varint bombs, truncation, splices)
 * and decodes them with every decoder. It must never crash, read out of bounds (run
 * under valgrind/ASan), or accept a record it cannot re-encode identically. */
static void test_fuzz_mutations(void **state)
{
    schema_registry *reg = *state;
    char err[256];
    assert_int_equal(schema_registry_add(reg, 12, SALE_NO_DEAL, err, sizeof err), 0);
    static uint8_t seeds[8][2048];
    size_t seed_len[8];
    int n_seeds = 0;
    proc_event evs[5] = {sample_sale(), sample_registration(), sample_survey(3),
                         sample_survey(0), sample_approval()};
    for (int i = 0; i < 5; i++, n_seeds++)
        assert_int_equal(schema_encode_event(reg, &evs[i], seeds[n_seeds], 2048,
                                             &seed_len[n_seeds]), 0);
    proc_payout p = sample_payout();
    proc_alert a = sample_alert();
    assert_int_equal(schema_encode_payout(reg, &p, seeds[n_seeds], 2048, &seed_len[n_seeds]), 0);
    n_seeds++;
    assert_int_equal(schema_encode_alert(reg, &a, seeds[n_seeds], 2048, &seed_len[n_seeds]), 0);
    n_seeds++;
    seed_len[n_seeds] = avro_build(SALE_NO_DEAL, 12, fill_sale_no_deal, seeds[n_seeds], 2048);
    n_seeds++;

    const char *env = getenv("PI_FUZZ_ITERS");
    long iters = env ? atol(env) : 30000;
    static uint8_t m[4096], re[8192];
    proc_event ev, ev2;
    proc_payout po;
    proc_alert al;
    long ok = 0;
    for (long it = 0; it < iters; it++) {
        int s = (int)(next_rand() % (uint64_t)n_seeds);
        size_t n = seed_len[s];
        memcpy(m, seeds[s], n);
        int edits = 1 + (int)(next_rand() % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = 5 + next_rand() % (n - 5);
            switch (next_rand() % 6) {
            case 0: m[at] = (uint8_t)next_rand(); break;
            case 1: m[at] ^= (uint8_t)(1u << (next_rand() % 8)); break;
            case 2: /* a varint bomb: a huge or negative length */
                for (size_t k = at; k < n && k < at + 9; k++)
                    m[k] = 0xFF;
                if (at + 9 < n)
                    m[at + 9] = (uint8_t)(next_rand() & 0x7F);
                break;
            case 3: n = 5 + next_rand() % (n - 4); break;
            case 4: if (n + 1 < sizeof m) m[n++] = (uint8_t)next_rand(); break;
            default: /* splice bytes from another seed */
            {
                int o = (int)(next_rand() % (uint64_t)n_seeds);
                size_t from = next_rand() % seed_len[o];
                size_t len = 1 + next_rand() % 16;
                for (size_t k = 0; k < len && at + k < n && from + k < seed_len[o]; k++)
                    m[at + k] = seeds[o][from + k];
            }
            }
            if (n <= 5)
                break;
        }
        char d[256];
        for (int t = 0; t <= PROC_EVENT_APPROVAL; t++) {
            schema_status st = schema_decode_event(reg, (proc_event_type)t, m, n, &ev, d,
                                                   sizeof d);
            assert_true(st <= SCHEMA_INVALID_EVENT);
            if (st != SCHEMA_OK)
                continue;
            ok++;
            /* Accepted records survive re-encoding with our schema. */
            size_t rn;
            assert_int_equal(schema_encode_event(reg, &ev, re, sizeof re, &rn), 0);
            assert_avro_c_agrees(re, rn, (schema_record_kind)t);
            assert_int_equal(schema_decode_event(reg, (proc_event_type)t, re, rn, &ev2, d,
                                                 sizeof d), SCHEMA_OK);
            assert_same_event(&ev, &ev2);
        }
        schema_decode_payout(reg, m, n, &po, d, sizeof d);
        schema_decode_alert(reg, m, n, &al, d, sizeof d);
    }
    /* Some mutations (e.g. of string bytes) stay valid: the loop did reach the end. */
    if (iters >= 1000)
        assert_true(ok > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_registry_embedded),
        T(test_registry_add_errors),
        T(test_registry_load_map),
        T(test_registry_hide_local_ids),
        T(test_roundtrip_sale),
        T(test_roundtrip_registration),
        T(test_roundtrip_survey),
        T(test_roundtrip_approval),
        T(test_roundtrip_payout),
        T(test_roundtrip_alert_order),
        T(test_determinism),
        T(test_encode_buffer_too_small),
        T(test_encode_max_size),
        T(test_hand_vector_sale),
        T(test_hand_vector_payout),
        T(test_wire_errors),
        T(test_wrong_record_type),
        T(test_string_limits),
        T(test_pulse_answer_limit),
        T(test_evolution_added_field),
        T(test_evolution_missing_optional),
        T(test_evolution_missing_required),
        T(test_evolution_recursive_extra),
        T(test_json_event),
        T(test_json_outputs),
        T(test_fuzz_mutations),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
