/*
 * test_vk_profiles.c - the runtime's device choices follow only what the
 * device reports: lavapipe masked to the Raspberry Pi 4 (v3dv), the Jetson
 * Orin and the Vulkan 1.1 minimum ($SKY_DEVICE_PROFILE, runtime/vk_profile.c).
 *
 * Covers: zero-copy publishing only with VK_EXT_external_memory_host (else the
 * copy path, with the reason), texel positions only where RGBA32F texel
 * buffers exist (else a shader reading them is refused with the reason), the
 * work-group size clamped to maxComputeWorkGroupInvocations/Size, the largest
 * layout maxStorageBufferRange allows with a clear error one LED past it, too
 * few storage buffers per shader stage for the shader ABI, a device reporting
 * nothing usable (an error naming what it lacks, never a
 * crash), the choice among devices of which only a later one is usable, and an
 * unknown profile name. Whether the pictures stay right under each profile is
 * test_gpu_agreement's, run once per profile. Label "gpu".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layout_writer.h"
#include "sky/frame.h"
#include "sky/layout.h"
#include "sky/runtime.h"
#include "vk_internal.h"
#include "vk_test_texels_spv.h"
#include "vk_validation_check.h"

static sky_layout *make_layout(const char *spec) {
    sky_layout *layout = NULL;
    char err[256] = "";
    if (sky_layout_create(spec, &layout, err, sizeof err) != SKY_OK)
        fail_msg("layout %s: %s", spec, err);
    return layout;
}

/* sky_runtime_create under `profile`; the status, with the message in err. */
static sky_status create_as(const char *profile, const sky_layout *layout, sky_frame_writer *writer,
                            uint32_t local_size, sky_runtime **rt, char *err, size_t err_len) {
    setenv(SKY_DEVICE_PROFILE_ENV, profile, 1);
    sky_runtime_options o;
    sky_runtime_options_init(&o);
    o.layout = layout;
    o.writer = writer;
    o.local_size = local_size;
    *rt = NULL;
    sky_status st = sky_runtime_create(&o, rt, err, err_len);
    unsetenv(SKY_DEVICE_PROFILE_ENV);
    return st;
}

static sky_runtime *runtime_as(const char *profile, const sky_layout *layout,
                               sky_frame_writer *writer, uint32_t local_size) {
    sky_runtime *rt = NULL;
    char err[512] = "";
    sky_status st = create_as(profile, layout, writer, local_size, &rt, err, sizeof err);
    if (st != SKY_OK) fail_msg("profile %s: %s (%s)", profile, err, sky_status_str(st));
    return rt;
}

/* The publishing path a runtime with a real frame file takes under `profile`. */
static sky_output_path path_as(const char *profile, char *reason, size_t reason_len) {
    sky_layout *layout = make_layout("disc:8x6");
    char path[256];
    snprintf(path, sizeof path, "%s/sky-test-profiles-%ld-%s",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid(), profile);
    sky_frame_writer *writer = NULL;
    char err[512] = "";
    if (test_layout_writer(layout, path, &writer, err, sizeof err) != SKY_OK)
        fail_msg("frame writer: %s", err);
    sky_runtime *rt = runtime_as(profile, layout, writer, 0);
    sky_output_path out = sky_runtime_output_path(rt);
    snprintf(reason, reason_len, "%s", sky_runtime_output_reason(rt));
    sky_runtime_free(rt);
    sky_frame_writer_free(writer);
    sky_layout_free(layout);
    unlink(path);
    return out;
}

static void test_publishing_path(void **state) {
    (void)state;
    char reason[256];
    assert_int_equal(path_as("rpi4", reason, sizeof reason), SKY_OUTPUT_COPY);
    assert_non_null(strstr(reason, "VK_EXT_external_memory_host"));
    assert_int_equal(path_as("minimal", reason, sizeof reason), SKY_OUTPUT_COPY);
    /* lavapipe and the Orin profile both have the extension */
    assert_int_equal(path_as("orin", reason, sizeof reason), SKY_OUTPUT_ZERO_COPY);
}

static sky_status texel_eval(void *context, const sky_layout_view *layout,
                             const sky_frame_inputs *frame, float *uniforms) {
    (void)context;
    (void)layout;
    uniforms[0] = (float)frame->t;
    uniforms[1] = 0.25f;
    return SKY_OK;
}

static void test_texel_positions(void **state) {
    (void)state;
    sky_layout *layout = make_layout("grid:9x7");
    vkrt_kernel_source src = {
        .spirv = vk_test_texels_spv,
        .word_count = sizeof vk_test_texels_spv / 4,
        .uniform_count = 2,
        .uses_prev = true,
        .eval = texel_eval,
    };
    char err[512] = "";
    /* v3dv has RGBA32F uniform texel buffers: the texel variant runs */
    sky_runtime *rt = runtime_as("rpi4", layout, NULL, 0);
    assert_true(sky_runtime_led_texels(rt));
    sky_emit_options emit;
    sky_runtime_emit_options(rt, &emit);
    assert_true(emit.led_texels);
    assert_int_equal(vkrt_runtime_set_kernel(rt, &src, err, sizeof err), SKY_OK);
    assert_int_equal(sky_runtime_render(rt, 0.5, 0.1, NULL, err, sizeof err), SKY_OK);
    sky_runtime_free(rt);
    /* without them: the portable variant is what set_program emits, the texel one is refused */
    rt = runtime_as("minimal", layout, NULL, 0);
    assert_false(sky_runtime_led_texels(rt));
    sky_runtime_emit_options(rt, &emit);
    assert_false(emit.led_texels);
    assert_int_equal(vkrt_runtime_set_kernel(rt, &src, err, sizeof err), SKY_ERR_LIMIT);
    assert_non_null(strstr(err, "texel"));
    sky_runtime_free(rt);
    sky_layout_free(layout);
}

static void test_workgroup_clamped(void **state) {
    (void)state;
    sky_layout *layout = make_layout("strip:300");
    struct {
        const char *profile;
        uint32_t asked, expected;
    } cases[] = {
        {"rpi4", 0, 64},       {"rpi4", 256, 256},  {"rpi4", 1024, 256},
        {"minimal", 256, 128}, {"minimal", 64, 64}, {"orin", 1024, 1024},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sky_runtime *rt = runtime_as(cases[i].profile, layout, NULL, cases[i].asked);
        if (sky_runtime_local_size(rt) != cases[i].expected)
            fail_msg("%s, local size %u asked: %u, expected %u", cases[i].profile, cases[i].asked,
                     sky_runtime_local_size(rt), cases[i].expected);
        sky_runtime_free(rt);
    }
    sky_layout_free(layout);
}

/* minimal (and rpi4): maxStorageBufferRange 2^27 holds the inputs (48 bytes an
 * LED) of 2,796,202 LEDs. */
static void test_largest_layout(void **state) {
    (void)state;
    sky_layout *layout = make_layout("strip:2796203");
    sky_runtime *rt = NULL;
    char err[512] = "";
    assert_int_equal(create_as("minimal", layout, NULL, 0, &rt, err, sizeof err), SKY_ERR_LIMIT);
    assert_null(rt);
    assert_non_null(strstr(err, "2796203 LEDs"));
    assert_non_null(strstr(err, "at most 2796202"));
    assert_non_null(strstr(err, "maxStorageBufferRange"));
    sky_layout_free(layout);
}

static void test_nothing_usable(void **state) {
    (void)state;
    sky_layout *layout = make_layout("strip:8");
    sky_runtime *rt = NULL;
    char err[512] = "";
    assert_int_equal(create_as("unusable", layout, NULL, 0, &rt, err, sizeof err),
                     SKY_ERR_NO_DEVICE);
    assert_null(rt);
    assert_non_null(strstr(err, "lacks Vulkan 1.1"));
    /* the listing still works and marks nothing chosen */
    setenv(SKY_DEVICE_PROFILE_ENV, "unusable", 1);
    sky_vk_device_info *devices = NULL;
    size_t count = 0;
    assert_int_equal(sky_vk_list_devices(NULL, &devices, &count, err, sizeof err), SKY_OK);
    unsetenv(SKY_DEVICE_PROFILE_ENV);
    for (size_t i = 0; i < count; i++) {
        assert_false(devices[i].chosen);
        assert_false(devices[i].has_compute);
    }
    sky_free(devices);
    sky_layout_free(layout);
}

/* The shaders bind 6 storage buffers: a device with the specification's minimum of 4 per
 * stage is refused by name, before any layout is created (which would be invalid use). */
static void test_too_few_storage_buffers(void **state) {
    (void)state;
    sky_layout *layout = make_layout("strip:8");
    sky_runtime *rt = NULL;
    char err[512] = "";
    assert_int_equal(create_as("few-buffers", layout, NULL, 0, &rt, err, sizeof err),
                     SKY_ERR_NO_DEVICE);
    assert_null(rt);
    assert_non_null(strstr(err, "lacks 6 storage buffers per shader stage"));
    assert_non_null(strstr(err, "maxPerStageDescriptorStorageBuffers is 4"));
    sky_layout_free(layout);
}

static void test_unknown_profile(void **state) {
    (void)state;
    sky_layout *layout = make_layout("strip:8");
    sky_runtime *rt = NULL;
    char err[512] = "";
    assert_int_equal(create_as("pi5", layout, NULL, 0, &rt, err, sizeof err), SKY_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "`pi5`"));
    assert_non_null(strstr(err, "rpi4"));
    sky_layout_free(layout);
}

/* The choice among devices: what the chosen one lacks, and the first one that has it. */
static void test_choice_names_missing_feature(void **state) {
    (void)state;
    sky_vk_device_info infos[3] = {
        {.index = 0, .name = "Old GPU", .api_version = VK_API_VERSION_1_0, .has_compute = true},
        {.index = 1, .name = "Video Engine", .api_version = VK_API_VERSION_1_2},
        {.index = 2, .name = "Good GPU", .api_version = VK_API_VERSION_1_2, .has_compute = true},
    };
    char err[512] = "";
    assert_int_equal(vkrt_device_choose(infos, 3, NULL, err, sizeof err), 2);
    assert_int_equal(vkrt_device_choose(infos, 3, "0", err, sizeof err), -1);
    assert_non_null(strstr(err, "Old GPU"));
    assert_non_null(strstr(err, "lacks Vulkan 1.1"));
    assert_non_null(strstr(err, "device 2 (Good GPU) has it"));
    assert_int_equal(vkrt_device_choose(infos, 3, "video", err, sizeof err), -1);
    assert_non_null(strstr(err, "lacks a queue with compute"));
    assert_non_null(strstr(err, "device 2 (Good GPU) has it"));
    /* none usable: names the first device and what it lacks */
    assert_int_equal(vkrt_device_choose(infos, 2, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, SKY_NO_DEVICE_MESSAGE));
    assert_non_null(strstr(err, "Old GPU"));
    assert_non_null(strstr(err, "lacks Vulkan 1.1"));
}

int main(void) {
    unsetenv(SKY_DEVICE_PROFILE_ENV);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publishing_path),
        cmocka_unit_test(test_texel_positions),
        cmocka_unit_test(test_workgroup_clamped),
        cmocka_unit_test(test_largest_layout),
        cmocka_unit_test(test_nothing_usable),
        cmocka_unit_test(test_too_few_storage_buffers),
        cmocka_unit_test(test_unknown_profile),
        cmocka_unit_test(test_choice_names_missing_feature),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    return failed + vk_validation_check("test_vk_profiles");
}
