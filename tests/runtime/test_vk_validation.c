/*
 * test_vk_validation.c - the Khronos validation layer sees what the runtime
 * does: a deliberate misuse (runtime/vk_runtime.c's test hook) must be counted,
 * so the zero-message check every GPU suite ends with (vk_validation_check.h)
 * cannot pass because the layer is silently off.
 *
 * Covers: a barrier whose access mask its stage cannot perform (core
 * validation), two unordered writes of one buffer (synchronization validation,
 * which must be on), the count per runtime and per process, the switch
 * (option and $SKY_VULKAN_VALIDATE, "0" meaning off), a runtime without
 * validation counting nothing, and the error when the layer is not installed. Label "gpu": needs lavapipe and Debian's
 * vulkan-validationlayers; fails without them, never skips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sky/layout.h"
#include "sky/runtime.h"
#include "vk_internal.h"

typedef struct val_world {
    sky_layout *layout;
} val_world;

static int val_setup(void **state) {
    static val_world world;
    char err[256] = "";
    if (sky_layout_create("strip:64", &world.layout, err, sizeof err) != SKY_OK) {
        fprintf(stderr, "layout: %s\n", err);
        return -1;
    }
    *state = &world;
    return 0;
}

static int val_teardown(void **state) {
    val_world *world = *state;
    sky_layout_free(world->layout);
    return 0;
}

static sky_runtime *val_runtime(const val_world *world, bool validate) {
    sky_runtime_options o;
    sky_runtime_options_init(&o);
    o.layout = world->layout;
    o.validate = validate;
    sky_runtime *rt = NULL;
    char err[512] = "";
    if (sky_runtime_create(&o, &rt, err, sizeof err) != SKY_OK) fail_msg("runtime: %s", err);
    return rt;
}

/* The misuse `kind` must raise the runtime's and the process's counts. */
static void val_expect_reported(void **state, int kind) {
    unsetenv(SKY_VALIDATE_ENV);
    sky_runtime *rt = val_runtime(*state, true);
    assert_true(sky_runtime_validating(rt));
    assert_int_equal(sky_runtime_validation_messages(rt), 0);
    uint64_t before = sky_vk_validation_messages();
    char err[256] = "";
    fprintf(stderr, "(the validation message below is the test's own misuse)\n");
    assert_int_equal(vkrt_debug_misuse(rt, kind, err, sizeof err), SKY_OK);
    assert_true(sky_runtime_validation_messages(rt) >= 1);
    assert_true(sky_vk_validation_messages() >= before + 1);
    sky_runtime_free(rt);
}

static void test_core_misuse_reported(void **state) {
    val_expect_reported(state, 0);
}

static void test_sync_hazard_reported(void **state) {
    val_expect_reported(state, 1);
}

/* Without the layer the same misuse goes unseen: the count is the layer's, not a guess. */
static void test_off_counts_nothing(void **state) {
    unsetenv(SKY_VALIDATE_ENV);
    sky_runtime *rt = val_runtime(*state, false);
    assert_false(sky_runtime_validating(rt));
    uint64_t before = sky_vk_validation_messages();
    char err[256] = "";
    assert_int_equal(vkrt_debug_misuse(rt, 0, err, sizeof err), SKY_OK);
    assert_int_equal(sky_runtime_validation_messages(rt), 0);
    assert_int_equal(sky_vk_validation_messages(), before);
    sky_runtime_free(rt);
}

static void test_env_switch(void **state) {
    setenv(SKY_VALIDATE_ENV, "1", 1);
    sky_runtime *rt = val_runtime(*state, false);
    assert_true(sky_runtime_validating(rt));
    sky_runtime_free(rt);
    setenv(SKY_VALIDATE_ENV, "0", 1);
    rt = val_runtime(*state, false);
    assert_false(sky_runtime_validating(rt));
    sky_runtime_free(rt);
    unsetenv(SKY_VALIDATE_ENV);
}

/* Asked for without the layer installed (the loader pointed at an empty layer path): a clear
 * error naming the package, not a run without validation. */
static void test_missing_layer_named(void **state) {
    val_world *world = *state;
    unsetenv(SKY_VALIDATE_ENV);
    setenv("VK_LAYER_PATH", "/nonexistent/skyscreen-no-layers", 1);
    sky_runtime_options o;
    sky_runtime_options_init(&o);
    o.layout = world->layout;
    o.validate = true;
    sky_runtime *rt = NULL;
    char err[512] = "";
    sky_status st = sky_runtime_create(&o, &rt, err, sizeof err);
    unsetenv("VK_LAYER_PATH");
    assert_int_equal(st, SKY_ERR_VULKAN);
    assert_null(rt);
    assert_non_null(strstr(err, "VK_LAYER_KHRONOS_validation"));
    assert_non_null(strstr(err, "vulkan-validationlayers"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_misuse_reported),
        cmocka_unit_test(test_sync_hazard_reported),
        cmocka_unit_test(test_off_counts_nothing),
        cmocka_unit_test(test_env_switch),
        cmocka_unit_test(test_missing_layer_named),
    };
    return cmocka_run_group_tests(tests, val_setup, val_teardown);
}
