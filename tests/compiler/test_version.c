/*
 * test_version.c - sky_version and sky_version_number report CMake's project
 * version (SKY_PROJECT_VERSION, passed by tests/compiler/CMakeLists.txt), the
 * same as the header's SKY_VERSION_* macros.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "sky/sky.h"

static void test_version_string(void **state) {
    (void)state;
    assert_non_null(sky_version());
    assert_string_equal(sky_version(), SKY_PROJECT_VERSION);
    assert_string_equal(sky_version(), SKY_VERSION_STRING);
}

static void test_version_number(void **state) {
    (void)state;
    unsigned major, minor, patch;
    assert_int_equal(sscanf(SKY_PROJECT_VERSION, "%u.%u.%u", &major, &minor, &patch), 3);
    assert_int_equal(sky_version_number(), (int)(major * 10000 + minor * 100 + patch));
    assert_int_equal(sky_version_number(), SKY_VERSION_NUMBER);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_string),
        cmocka_unit_test(test_version_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
