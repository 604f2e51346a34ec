/*
 * test_notify.c - service/notify.c against a real notification socket: a
 * datagram socket bound in a fresh temporary folder stands in for systemd,
 * NOTIFY_SOCKET/WATCHDOG_USEC/WATCHDOG_PID are set as systemd sets them, and
 * the messages service_alive_at() sends are read back.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "notify.h"

typedef struct listener {
    char dir[64];
    char path[96]; /* fits sockaddr_un's 108 bytes */
    int fd;
} listener;

static int listener_setup(void **state) {
    listener *l = calloc(1, sizeof *l);
    assert_non_null(l);
    snprintf(l->dir, sizeof l->dir, "/tmp/sky-notify-XXXXXX");
    assert_non_null(mkdtemp(l->dir));
    snprintf(l->path, sizeof l->path, "%s/notify", l->dir);
    l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(l->fd >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", l->path);
    assert_int_equal(bind(l->fd, (struct sockaddr *)&addr, sizeof addr), 0);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    service_notify_reset();
    *state = l;
    return 0;
}

static int listener_teardown(void **state) {
    listener *l = *state;
    close(l->fd);
    unlink(l->path);
    rmdir(l->dir);
    free(l);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    service_notify_reset();
    return 0;
}

/* The next message, or "" when none is waiting (the sends are synchronous). */
static const char *next_message(listener *l) {
    static char buf[256];
    ssize_t n = recv(l->fd, buf, sizeof buf - 1, 0);
    if (n < 0) {
        assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
        n = 0;
    }
    buf[n] = '\0';
    return buf;
}

static void set_watchdog(listener *l, const char *usec) {
    setenv("NOTIFY_SOCKET", l->path, 1);
    if (usec) {
        char pid[32];
        snprintf(pid, sizeof pid, "%ld", (long)getpid());
        setenv("WATCHDOG_USEC", usec, 1);
        setenv("WATCHDOG_PID", pid, 1);
    }
}

/* Not under systemd: nothing is sent, nothing fails. */
static void test_silent_without_notify_socket(void **state) {
    listener *l = *state;
    for (uint64_t t = 0; t < 10; t++) assert_false(service_alive_at(t * 1000000000u));
    service_alive();
    assert_string_equal(next_message(l), "");
}

/* READY=1 once, first; then WATCHDOG=1 every quarter of WATCHDOG_USEC, never more often. */
static void test_ready_then_watchdog_every_quarter(void **state) {
    listener *l = *state;
    set_watchdog(l, "8000000"); /* WatchdogSec=8: a ping every 2 s */
    const uint64_t s = 1000000000u;
    assert_true(service_alive_at(100 * s));
    assert_string_equal(next_message(l), "READY=1");
    assert_false(service_alive_at(100 * s + 1));
    assert_false(service_alive_at(101 * s + s / 2));
    assert_string_equal(next_message(l), "");
    assert_true(service_alive_at(102 * s));
    assert_string_equal(next_message(l), "WATCHDOG=1");
    assert_false(service_alive_at(103 * s));
    assert_true(service_alive_at(104 * s + 5));
    assert_string_equal(next_message(l), "WATCHDOG=1");
    assert_string_equal(next_message(l), "");
}

/* NOTIFY_SOCKET without a watchdog (Type=notify, no WatchdogSec=): READY=1 only. */
static void test_ready_only_without_watchdog(void **state) {
    listener *l = *state;
    set_watchdog(l, NULL);
    assert_true(service_alive_at(1));
    assert_string_equal(next_message(l), "READY=1");
    for (uint64_t t = 1; t < 100; t++) assert_false(service_alive_at(t * 1000000000u));
    assert_string_equal(next_message(l), "");
}

/* A watchdog meant for another process (WATCHDOG_PID) is not ours to feed. */
static void test_watchdog_of_another_pid_ignored(void **state) {
    listener *l = *state;
    set_watchdog(l, "4000000");
    setenv("WATCHDOG_PID", "1", 1);
    assert_true(service_alive_at(1));
    assert_string_equal(next_message(l), "READY=1");
    assert_false(service_alive_at(60 * 1000000000ull));
    assert_string_equal(next_message(l), "");
}

/* systemd gone (the socket removed): an error once on stderr, no crash, later calls quiet. */
static void test_socket_gone_is_not_fatal(void **state) {
    listener *l = *state;
    set_watchdog(l, "4000000");
    unlink(l->path);
    assert_false(service_alive_at(1));
    assert_false(service_alive_at(2 * 1000000000ull));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_silent_without_notify_socket, listener_setup,
                                        listener_teardown),
        cmocka_unit_test_setup_teardown(test_ready_then_watchdog_every_quarter, listener_setup,
                                        listener_teardown),
        cmocka_unit_test_setup_teardown(test_ready_only_without_watchdog, listener_setup,
                                        listener_teardown),
        cmocka_unit_test_setup_teardown(test_watchdog_of_another_pid_ignored, listener_setup,
                                        listener_teardown),
        cmocka_unit_test_setup_teardown(test_socket_gone_is_not_fatal, listener_setup,
                                        listener_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
