/*
 * test_kwire.c — the FindCoordinator v1 / LeaveGroup v3 codec (consumer/cons_kwire.h)
 * byte for byte against frames written out by hand from the Kafka protocol guide, every
 * truncation of a response refused, and cons_leave_group's failure paths (a bad
 * bootstrap entry, nothing listening) returning an error within its deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cons_kwire.h"
#include "cons_leave.h"

static const uint8_t find_request[] = {
    0, 0, 0, 16,            /* size: 16 bytes follow */
    0, 10, 0, 1,            /* api key 10 (FindCoordinator), version 1 */
    0, 0, 0, 7,             /* correlation id */
    0, 2, 'c', 'l',         /* client id "cl" */
    0, 1, 'g',              /* key "g" */
    0,                      /* key type: group */
};

static const uint8_t leave_request[] = {
    0, 0, 0, 25,
    0, 13, 0, 3,            /* api key 13 (LeaveGroup), version 3 */
    0, 0, 0, 9,
    0, 2, 'c', 'l',
    0, 1, 'g',              /* group id */
    0, 0, 0, 1,             /* one member */
    0, 0,                   /* member id "" */
    0, 2, 'w', '1',         /* group instance id "w1" */
};

static const uint8_t coordinator_response[] = {
    0, 0, 0, 7,             /* correlation id */
    0, 0, 0, 0,             /* throttle */
    0, 0,                   /* error code */
    0xff, 0xff,             /* error message: null */
    0, 0, 0, 1,             /* node id */
    0, 9, '1', '2', '7', '.', '0', '.', '0', '.', '1',
    0, 0, 0x71, 0xa4,       /* port 29092 */
};

static const uint8_t leave_response[] = {
    0, 0, 0, 9,
    0, 0, 0, 0,             /* throttle */
    0, 0,                   /* top-level error */
    0, 0, 0, 1,             /* one member */
    0, 4, 'm', '-', 'i', 'd',
    0, 2, 'w', '1',
    0, 25,                  /* UNKNOWN_MEMBER_ID */
};

static void encodes_find_coordinator(void **state)
{
    (void)state;
    uint8_t buf[CONS_KWIRE_REQ_CAP];
    size_t n = cons_kwire_find_coordinator(buf, sizeof buf, 7, "cl", "g");
    assert_int_equal(n, sizeof find_request);
    assert_memory_equal(buf, find_request, n);
    assert_int_equal(cons_kwire_find_coordinator(buf, n - 1, 7, "cl", "g"), 0);
}

static void encodes_leave_group(void **state)
{
    (void)state;
    uint8_t buf[CONS_KWIRE_REQ_CAP];
    size_t n = cons_kwire_leave_group(buf, sizeof buf, 9, "cl", "g", "w1");
    assert_int_equal(n, sizeof leave_request);
    assert_memory_equal(buf, leave_request, n);
    char long_id[300];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_int_equal(cons_kwire_leave_group(buf, sizeof buf, 9, "cl", "g", long_id), 0);
}

static void parses_coordinator(void **state)
{
    (void)state;
    cons_kwire_coordinator co;
    assert_int_equal(cons_kwire_parse_coordinator(coordinator_response,
                                                  sizeof coordinator_response, 7, &co), 0);
    assert_int_equal(co.error_code, 0);
    assert_int_equal(co.node_id, 1);
    assert_string_equal(co.host, "127.0.0.1");
    assert_int_equal(co.port, 29092);
    assert_int_equal(cons_kwire_parse_coordinator(coordinator_response,
                                                  sizeof coordinator_response, 8, &co), -1);
    for (size_t cut = 0; cut < sizeof coordinator_response; cut++)
        assert_int_equal(cons_kwire_parse_coordinator(coordinator_response, cut, 7, &co), -1);
}

static void parses_leave_member_error(void **state)
{
    (void)state;
    int16_t code = -1;
    assert_int_equal(cons_kwire_parse_leave(leave_response, sizeof leave_response, 9, &code), 0);
    assert_int_equal(code, 25);
    for (size_t cut = 0; cut < sizeof leave_response; cut++)
        assert_int_equal(cons_kwire_parse_leave(leave_response, cut, 9, &code), -1);
    uint8_t negative[sizeof leave_response];
    memcpy(negative, leave_response, sizeof negative);
    negative[10] = 0xff;                      /* member count -1 */
    assert_int_equal(cons_kwire_parse_leave(negative, sizeof negative, 9, &code), -1);
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void leave_fails_within_its_deadline(void **state)
{
    (void)state;
    char err[256];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(cons_leave_group("no-port-here", "c", "g", "w1", 300, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad kafka.bootstrap.servers entry 'no-port-here'"));
    /* Port 1 on loopback: nothing listens, the connect is refused; retried to the end. */
    assert_int_equal(cons_leave_group("PLAINTEXT://127.0.0.1:1", "c", "g", "w1", 300, err,
                                      sizeof err), -1);
    assert_non_null(strstr(err, "cannot connect to 127.0.0.1:1"));
    assert_true(elapsed_ms(&t0) < 5000);       /* both deadlines held, with a wide margin */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encodes_find_coordinator),
        cmocka_unit_test(encodes_leave_group),
        cmocka_unit_test(parses_coordinator),
        cmocka_unit_test(parses_leave_member_error),
        cmocka_unit_test(leave_fails_within_its_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
