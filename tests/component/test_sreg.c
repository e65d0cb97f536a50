/*
 * test_sreg.c — the schema registry client (consumer/cons_sreg.h, cons_schemas.h) against
 * a stand-in server (sreg_stub.py, started by this test on a free port): basic auth,
 * TLS verification with a CA of our own, retries of 503 until it clears, the retry
 * deadline against a closed port, 401 given up at once, 404 and non-Avro schemas,
 * subject names escaped, the subject strategies, and no password in any message.
 * (The end-to-end proof against a real registry is tests/e2e/test_registry.sh.)
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cons_config.h"
#include "cons_schemas.h"
#include "cons_sreg.h"

#define PASSWORD "s3cr3t-pw"

typedef struct {
    pid_t pid;
    int port;
} stub;

static char dir[256];

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Starts sreg_stub.py; tls and auth as asked. Waits for its port file (deadline 20 s). */
static void stub_start(stub *s, bool tls, bool auth)
{
    char port_file[300];
    static int n;
    snprintf(port_file, sizeof port_file, "%s/port-%d", dir, n++);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        char cert[300], key[300];
        snprintf(cert, sizeof cert, "%s/cert.pem", dir);
        snprintf(key, sizeof key, "%s/key.pem", dir);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        const char *argv[12] = {"python3", PI_SREG_STUB, port_file};
        int a = 3;
        if (auth) {
            argv[a++] = "--user";
            argv[a++] = "pi";
            argv[a++] = "--password";
            argv[a++] = PASSWORD;
        }
        if (tls) {
            argv[a++] = "--cert";
            argv[a++] = cert;
            argv[a++] = "--key";
            argv[a++] = key;
        }
        execvp("python3", (char **)argv);
        _exit(127);
    }
    int64_t deadline = mono_ms() + 20000;
    FILE *f = NULL;
    while ((f = fopen(port_file, "r")) == NULL) {
        assert_true(mono_ms() < deadline);
        usleep(20000);   /* polling a condition with a deadline */
    }
    assert_int_equal(fscanf(f, "%d", &s->port), 1);
    fclose(f);
}

static void stub_stop(stub *s)
{
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
}

static cons_sreg *client(const char *url, const char *user, const char *pw, const char *ca,
                         bool verify, int deadline_ms)
{
    char err[256];
    cons_sreg_options o = {.url = url, .user = user, .password = pw, .ca_location = ca,
                           .tls_verify = verify, .timeout_ms = 2000,
                           .retry_deadline_ms = deadline_ms};
    cons_sreg *c = cons_sreg_new(&o, err, sizeof err);
    if (c == NULL)
        fail_msg("cons_sreg_new: %s", err);
    return c;
}

/* The stub's request log (GET /__log) as text. */
static char *stub_log(int port, bool tls)
{
    char cmd[512], *buf = calloc(1, 1 << 16);
    snprintf(cmd, sizeof cmd, "curl -sk %s://127.0.0.1:%d/__log", tls ? "https" : "http", port);
    FILE *p = popen(cmd, "r");
    size_t n = fread(buf, 1, (1 << 16) - 1, p);
    pclose(p);
    buf[n] = '\0';
    return buf;
}

static int setup_group(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/pi-sreg-XXXXXX", t && *t ? t : "/tmp");
    if (mkdtemp(dir) == NULL)
        return -1;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout %s/key.pem -out %s/cert.pem "
             ">/dev/null 2>&1", dir, dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown_group(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* HTTPS with our CA and basic auth: the schema comes back; the request carried the
 * credentials and the Confluent media types. */
static void test_tls_and_auth(void **state)
{
    (void)state;
    stub s;
    char url[128], ca[300], err[512] = "";
    char *schema = NULL;
    stub_start(&s, true, true);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/", s.port);
    snprintf(ca, sizeof ca, "%s/cert.pem", dir);
    cons_sreg *c = client(url, "pi", PASSWORD, ca, true, 2000);
    assert_int_equal(cons_sreg_schema_by_id(c, 7, &schema, err, sizeof err), CONS_SREG_OK);
    assert_non_null(strstr(schema, "SaleEvent"));
    free(schema);
    char *log = stub_log(s.port, true);
    assert_non_null(strstr(log, "\"auth\": \"Basic cGk6czNjcjN0LXB3\""));   /* pi:s3cr3t-pw */
    assert_non_null(strstr(log, "application/vnd.schemaregistry.v1+json"));
    free(log);
    cons_sreg_destroy(c);

    /* Without our CA the certificate is not trusted: unavailable, not a guess. */
    c = client(url, "pi", PASSWORD, NULL, true, 300);
    assert_int_equal(cons_sreg_schema_by_id(c, 7, &schema, err, sizeof err), CONS_SREG_UNAVAILABLE);
    assert_non_null(strstr(err, "unavailable after"));
    assert_null(strstr(err, PASSWORD));
    cons_sreg_destroy(c);
    /* tls_verify=false (tests only) accepts it. */
    c = client(url, "pi", PASSWORD, NULL, false, 300);
    assert_int_equal(cons_sreg_schema_by_id(c, 7, &schema, err, sizeof err), CONS_SREG_OK);
    free(schema);
    cons_sreg_destroy(c);
    stub_stop(&s);
}

/* A wrong password: 401 is given up at once (no retries to the deadline), named, and
 * the password is in no message. User info in the URL is not shown either. */
static void test_wrong_password(void **state)
{
    (void)state;
    stub s;
    char url[160], err[512] = "";
    char *schema = NULL;
    stub_start(&s, false, true);
    snprintf(url, sizeof url, "http://pi:" PASSWORD "@127.0.0.1:%d", s.port);
    cons_sreg *c = client(url, "pi", "not-" PASSWORD, NULL, true, 10000);
    assert_null(strstr(cons_sreg_display_url(c), PASSWORD));
    int64_t t0 = mono_ms();
    assert_int_equal(cons_sreg_schema_by_id(c, 7, &schema, err, sizeof err), CONS_SREG_UNAVAILABLE);
    assert_true(mono_ms() - t0 < 5000);
    assert_non_null(strstr(err, "HTTP 401"));
    assert_non_null(strstr(err, "check schema.registry.user and .password"));
    assert_null(strstr(err, PASSWORD));
    cons_sreg_destroy(c);
    stub_stop(&s);
}

/* 503 twice, then the schema: retried with backoff within the deadline. 404 and a
 * Protobuf schema are final answers. */
static void test_retries_and_final_answers(void **state)
{
    (void)state;
    stub s;
    char url[128], err[512] = "";
    char *schema = NULL;
    stub_start(&s, false, false);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
    cons_sreg *c = client(url, NULL, NULL, NULL, true, 5000);
    assert_int_equal(cons_sreg_schema_by_id(c, 503, &schema, err, sizeof err), CONS_SREG_OK);
    free(schema);
    char *log = stub_log(s.port, false);
    int attempts = 0;
    for (const char *p = log; (p = strstr(p, "/schemas/ids/503")) != NULL; p++)
        attempts++;
    assert_int_equal(attempts, 3);
    free(log);
    assert_int_equal(cons_sreg_schema_by_id(c, 404, &schema, err, sizeof err), CONS_SREG_NOT_FOUND);
    assert_non_null(strstr(err, "Schema not found"));
    assert_int_equal(cons_sreg_schema_by_id(c, 8, &schema, err, sizeof err), CONS_SREG_REFUSED);
    assert_non_null(strstr(err, "PROTOBUF, not AVRO"));
    /* Register and look up, with a subject name that needs escaping. */
    uint32_t id = 0, again = 0;
    assert_int_equal(cons_sreg_lookup(c, "odd subject/x", "\"string\"", &id, err, sizeof err),
                     CONS_SREG_NOT_FOUND);
    assert_int_equal(cons_sreg_register(c, "odd subject/x", "\"string\"", &id, err, sizeof err),
                     CONS_SREG_OK);
    assert_int_equal(cons_sreg_lookup(c, "odd subject/x", "\"string\"", &again, err, sizeof err),
                     CONS_SREG_OK);
    assert_int_equal(again, id);
    log = stub_log(s.port, false);
    assert_non_null(strstr(log, "/subjects/odd%20subject%2Fx/versions"));
    free(log);
    cons_sreg_destroy(c);
    stub_stop(&s);
}

/* Nobody listens: retried until the deadline, then UNAVAILABLE with the attempts. */
static void test_deadline(void **state)
{
    (void)state;
    stub s;
    char url[128], err[512] = "";
    char *schema = NULL;
    stub_start(&s, false, false);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
    stub_stop(&s);                       /* the port is now closed */
    cons_sreg *c = client(url, NULL, NULL, NULL, true, 1200);
    int64_t t0 = mono_ms();
    assert_int_equal(cons_sreg_schema_by_id(c, 7, &schema, err, sizeof err), CONS_SREG_UNAVAILABLE);
    int64_t took = mono_ms() - t0;
    assert_true(took >= 1000 && took < 6000);
    assert_non_null(strstr(err, "registry unavailable after"));
    cons_sreg_destroy(c);
}

/* cons_schemas: the output subject follows schema.registry.subject_strategy; with
 * auto_register=false a missing subject refuses, naming it; an unknown input id is
 * fetched once, a missing one remembered (one request). */
static void test_schemas_strategies(void **state)
{
    (void)state;
    stub s;
    char url[128], err[1024] = "", cerr[256];
    stub_start(&s, false, false);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
    const cons_schemas_output outs[] = {{SCHEMA_REC_PAYOUT, "incentive.payouts"}};
    const char *strategies[] = {"topic", "record", "topic_record"};
    const char *subjects[] = {"/subjects/incentive.payouts-value/versions",
                              "/subjects/partner_incentives.v1.PayoutEvent/versions",
                              "/subjects/incentive.payouts-partner_incentives.v1.PayoutEvent/versions"};
    for (int i = 0; i < 3; i++) {
        cons_config cfg;
        assert_int_equal(cons_config_init(&cfg, cerr, sizeof cerr), 0);
        assert_int_equal(cons_config_set(&cfg, "schema.registry.url", url, cerr, sizeof cerr), 0);
        assert_int_equal(cons_config_set(&cfg, "schema.registry.subject_strategy", strategies[i],
                                         cerr, sizeof cerr), 0);
        cons_schemas *sc = cons_schemas_open(&cfg, outs, 1, NULL, err, sizeof err);
        if (sc == NULL)
            fail_msg("%s: %s", strategies[i], err);
        assert_true(schema_registry_output_id(cons_schemas_registry(sc), SCHEMA_REC_PAYOUT) >= 20);
        if (i == 0) {
            uint8_t rec7[6] = {0, 0, 0, 0, 7, 2}, rec404[6] = {0, 0, 0, 1, 148, 2};
            assert_int_equal(cons_schemas_prepare(sc, rec7, sizeof rec7, err, sizeof err), 0);
            assert_int_equal(cons_schemas_prepare(sc, rec7, sizeof rec7, err, sizeof err), 0);
            assert_int_equal(cons_schemas_prepare(sc, rec404, sizeof rec404, err, sizeof err), 0);
            assert_int_equal(cons_schemas_prepare(sc, rec404, sizeof rec404, err, sizeof err), 0);
            assert_int_equal(cons_schemas_fetched(sc), 1);
            assert_true(schema_registry_has(cons_schemas_registry(sc), 7));
        }
        cons_schemas_destroy(sc);
        cons_config_free(&cfg);
    }
    char *log = stub_log(s.port, false);
    for (int i = 0; i < 3; i++)
        assert_non_null(strstr(log, subjects[i]));
    int fetches = 0;
    for (const char *p = log; (p = strstr(p, "/schemas/ids/")) != NULL; p++)
        fetches++;
    assert_int_equal(fetches, 2);        /* 7 once, 404 once: both remembered */
    free(log);

    cons_config cfg;
    assert_int_equal(cons_config_init(&cfg, cerr, sizeof cerr), 0);
    cons_config_set(&cfg, "schema.registry.url", url, cerr, sizeof cerr);
    cons_config_set(&cfg, "schema.registry.auto_register", "false", cerr, sizeof cerr);
    const cons_schemas_output alerts[] = {{SCHEMA_REC_ALERT, "incentive.alerts"}};
    assert_null(cons_schemas_open(&cfg, alerts, 1, NULL, err, sizeof err));
    assert_non_null(strstr(err, "subject incentive.alerts-value has no version equal to the "
                                "embedded AlertEvent schema"));
    cons_config_free(&cfg);
    stub_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_and_auth),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_retries_and_final_answers),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_schemas_strategies),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
