/*
 * test_notify.c — cons_notify speaks the sd_notify protocol itself (no libsystemd): the
 * datagrams reach an abstract-namespace socket as sd_notify would send them, a long
 * status is cut rather than dropped, and a watchdog meant for another process stays off.
 * The path socket and the pings are covered end to end by tests/e2e/test_systemd.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cons_notify.h"

static int sock = -1;

static int setup(void **state)
{
    (void)state;
    char name[64];
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(name, sizeof name, "@pi-test-notify-%ld", (long)getpid());
    size_t len = strlen(name);
    memcpy(addr.sun_path, name, len);
    addr.sun_path[0] = '\0';
    sock = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (sock < 0 || bind(sock, (struct sockaddr *)&addr,
                         (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) != 0)
        return -1;
    return setenv("NOTIFY_SOCKET", name, 1);
}

static int teardown(void **state)
{
    (void)state;
    close(sock);
    return 0;
}

/* The next datagram, waiting at most ms; "" when none came. */
static const char *next_message(int ms)
{
    static char buf[1024];
    struct pollfd p = {.fd = sock, .events = POLLIN};
    buf[0] = '\0';
    if (poll(&p, 1, ms) == 1) {
        ssize_t n = recv(sock, buf, sizeof buf - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
    }
    return buf;
}

static void test_messages(void **state)
{
    (void)state;
    cons_notify_ready("owns partitions 0-5");
    assert_string_equal(next_message(5000), "READY=1\nSTATUS=owns partitions 0-5");
    cons_notify_status("idle by design");
    assert_string_equal(next_message(5000), "STATUS=idle by design");
    cons_notify_stopping();
    assert_string_equal(next_message(5000),
                        "STOPPING=1\nSTATUS=stopping: finishing the batch, leaving the group");
}

static void test_long_status_is_cut(void **state)
{
    (void)state;
    char status[2000];
    memset(status, 'x', sizeof status - 1);
    status[sizeof status - 1] = '\0';
    cons_notify_status(status);
    const char *got = next_message(5000);
    assert_int_equal(strlen(got), 511);
    assert_memory_equal(got, "STATUS=xxx", 10);
}

static void test_watchdog_of_another_process_is_off(void **state)
{
    (void)state;
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid() + 1);
    setenv("WATCHDOG_USEC", "1", 1);           /* would ping on every call */
    setenv("WATCHDOG_PID", pid, 1);
    cons_notify_watchdog();
    cons_notify_watchdog();
    /* A marker sent after them must be the first datagram: no ping came before it. */
    cons_notify_status("marker");
    assert_string_equal(next_message(5000), "STATUS=marker");
}

static void test_no_socket_is_a_no_op(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    cons_notify_ready("nobody listens");
    setenv("NOTIFY_SOCKET", "relative/path", 1);       /* neither '/' nor '@': ignored */
    cons_notify_ready("nobody listens");
    assert_string_equal(next_message(0), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_long_status_is_cut),
        cmocka_unit_test(test_watchdog_of_another_process_is_off),
        cmocka_unit_test(test_no_socket_is_a_no_op),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
