/*
 * test_url.c - output URL hosts: IPv6 addresses with and without brackets.
 *
 * An IPv6 address must be written in brackets ([::1], [fe80::1]:4048), since
 * its colons would otherwise read as a port separator. Without them the
 * message must say so and show the bracketed form, not complain about a
 * "bad port" made of the address's tail. And query values: a final '%'.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "url.h"

static void expect_error(const char *text, const char *needle) {
    drv_url u;
    char err[512] = "";
    assert_int_not_equal(url_parse(text, &u, err, sizeof err), 0);
    if (!strstr(err, needle)) fail_msg("%s: message `%s` lacks `%s`", text, err, needle);
    url_free(&u);
}

static void test_ipv6_without_brackets_says_to_use_them(void **state) {
    (void)state;
    expect_error("ddp://::1", "[::1]");
    expect_error("ddp://::1", "IPv6");
    expect_error("sacn://fd00::5?universe=2", "[fd00::5]");
    expect_error("opc://fe80::1:7890/1", "brackets");
    /* the message names the URL as given */
    expect_error("artnet://2001:db8::7", "artnet://2001:db8::7");
}

static void test_hosts_that_stay_valid(void **state) {
    (void)state;
    drv_url u;
    char err[512];
    assert_int_equal(url_parse("ddp://[::1]", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, -1);
    url_free(&u);
    assert_int_equal(url_parse("ddp://[fe80::1]:4049", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "fe80::1");
    assert_int_equal(u.port, 4049);
    url_free(&u);
    assert_int_equal(url_parse("ddp://10.0.0.2:4049", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "10.0.0.2");
    assert_int_equal(u.port, 4049);
    url_free(&u);
    /* one colon is still a host and a port, and a bad one is still a bad port */
    expect_error("ddp://10.0.0.2:x", "bad port `x`");
    expect_error("ddp://10.0.0.2:", "bad port");
}

/* A '%' that ends a value cannot start an escape: it is kept (pace=50%). */
static void test_final_percent_is_literal(void **state) {
    (void)state;
    drv_url u;
    char err[512];
    assert_int_equal(url_parse("sacn://h?pace=50%&name=A%20B%25", &u, err, sizeof err), 0);
    assert_string_equal(url_get(&u, "pace"), "50%");
    assert_string_equal(url_get(&u, "name"), "A B%");
    url_free(&u);
    expect_error("sacn://h?pace=50%2", "bad percent escape");
    expect_error("sacn://h?pace=%zz", "bad percent escape");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv6_without_brackets_says_to_use_them),
        cmocka_unit_test(test_hosts_that_stay_valid),
        cmocka_unit_test(test_final_percent_is_literal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
