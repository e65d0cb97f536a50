/*
 * test_log.c — the worker's log lines: one JSON object each, with topic, partition,
 * offset and partner id as fields of their own, and valid UTF-8 whatever the input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cons_log.h"

static char *json_string(const char *s, size_t len)
{
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    cons_log_json_string(f, s, len);
    fclose(f);
    return out;
}

static void test_utf8_replaced(void **state)
{
    (void)state;
    struct { const char *in; size_t len; const char *out; } cases[] = {
        {"plain", 5, "plain"},
        {"q\"b\\n\n", 6, "q\\\"b\\\\n\\u000a"},
        {"Gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac \xf0\x9f\x98\x80", 16, "Gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"a\xff" "b", 3, "a\xef\xbf\xbd" "b"},                 /* not a lead byte */
        {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"},            /* overlong '/' */
        {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate */
        {"\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > U+10FFFF */
        {"cut \xe2\x82", 6, "cut \xef\xbf\xbd\xef\xbf\xbd"},  /* truncated sequence */
        {"nul\0x", 5, "nul\\u0000x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = json_string(cases[i].in, cases[i].len);
        if (strcmp(got, cases[i].out) != 0)
            fail_msg("case %zu: got %s", i, got);
        free(got);
    }
}

/* Captures what cons_log_at writes to stderr. */
static char *capture(void (*emit)(void))
{
    char path[] = "/tmp/pi-log-XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(fd, 2);
    emit();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fdopen(fd, "r");
    rewind(f);
    char *line = calloc(1, 4096);
    assert_non_null(fgets(line, 4096, f));
    fclose(f);
    unlink(path);
    return line;
}

static void emit_dead_letter(void)
{
    cons_log_set_worker("w-1");
    cons_log_ctx at = {"partner.sales", 3, 1234567890123, "p-\xff"};
    cons_log_at(CONS_LOG_WARN, &at, "dead_letter", "%s: %s", "DECODE_ERROR", "bad \"byte\"");
    cons_log_set_worker(NULL);
}

static void emit_plain(void)
{
    cons_log(CONS_LOG_INFO, "started", "ready");
}

static void test_fields(void **state)
{
    (void)state;
    char *line = capture(emit_dead_letter);
    const char *tail = strchr(line, ',');   /* after the timestamp */
    assert_non_null(tail);
    assert_string_equal(tail, ",\"level\":\"warn\",\"event\":\"dead_letter\","
                              "\"msg\":\"DECODE_ERROR: bad \\\"byte\\\"\",\"topic\":\"partner.sales\","
                              "\"partition\":3,\"offset\":1234567890123,"
                              "\"partner_id\":\"p-\xef\xbf\xbd\",\"worker\":\"w-1\"}\n");
    assert_memory_equal(line, "{\"ts\":\"", 7);
    free(line);
    line = capture(emit_plain);
    assert_non_null(strstr(line, "\"event\":\"started\",\"msg\":\"ready\"}\n"));
    assert_null(strstr(line, "partition"));
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_replaced),
        cmocka_unit_test(test_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
