/*
 * test_vk_runtime.c - libskyrt on the real Vulkan device (lavapipe here), with
 * hand-written ABI shaders (shaders/vk_test.comp) so that the runtime is
 * tested on its own: every LED of every frame is compared with the same
 * formulas computed on the CPU.
 *
 * Covers: the host path, both publishing paths into a real frame file (read
 * back with the frame reader), prev ping-pong over many frames, the strip
 * table (prev of the neighbour strip), program swaps (prev kept or cleared,
 * frames in flight), pipelined submits, device listing and selection, the
 * "no device" message (in a child process with a Vulkan loader that finds no
 * driver), a device that never finishes a frame (a timeout, not a hang; in
 * a child process), the first frame of a new shader (which may include its
 * compilation) not counted as hung, and argument errors. Label "gpu": without a Vulkan device these
 * tests fail, they never skip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "layout_writer.h"
#include "sky/frame.h"
#include "sky/layout.h"
#include "sky/runtime.h"
#include "vk_validation_check.h"
#include "vk_internal.h"
#include "vk_test_noprev_spv.h"
#include "vk_test_slow_spv.h"
#include "vk_test_spv.h"
#include "vk_test_texels_spv.h"

/* ---------------------------------------------------------- CPU reference */

typedef struct ref_state {
    const sky_layout *layout;
    sky_led_input *inputs;
    uint32_t *first; /* strip -> first LED */
    float *prev, *cur;
    bool uses_prev;
} ref_state;

static void ref_init(ref_state *ref, const sky_layout *layout) {
    memset(ref, 0, sizeof *ref);
    ref->layout = layout;
    uint32_t n = layout->led_count;
    ref->inputs = calloc(n, sizeof *ref->inputs);
    ref->first = calloc(layout->strip_count, sizeof *ref->first);
    ref->prev = calloc((size_t)n * 3, sizeof(float));
    ref->cur = calloc((size_t)n * 3, sizeof(float));
    assert_non_null(ref->inputs);
    assert_non_null(ref->first);
    assert_non_null(ref->prev);
    assert_non_null(ref->cur);
    sky_layout_view view = {n, layout->strip_count, layout->strip_sizes, layout->xy};
    assert_int_equal(sky_led_inputs_build(&view, ref->inputs), SKY_OK);
    for (uint32_t s = 1; s < layout->strip_count; s++)
        ref->first[s] = ref->first[s - 1] + layout->strip_sizes[s - 1];
}

static void ref_free(ref_state *ref) {
    free(ref->inputs);
    free(ref->first);
    free(ref->prev);
    free(ref->cur);
}

static float ref_clamp(float v) {
    return v < 0 ? 0 : (v > 1 ? 1 : v);
}

static float ref_prev_at(const ref_state *ref, uint32_t s, uint32_t l, uint32_t c) {
    s %= ref->layout->strip_count;
    if (l >= ref->layout->strip_sizes[s]) return 0;
    return ref->prev[3 * (ref->first[s] + l) + c];
}

/* One frame of vk_test.comp (or its NO_PREV variant) with uniforms u. */
static void ref_frame(ref_state *ref, const float *u) {
    uint32_t n = ref->layout->led_count;
    for (uint32_t i = 0; i < n; i++) {
        const sky_led_input *led = &ref->inputs[i];
        float *c = &ref->cur[3 * i];
        float frac = (float)led->led / (float)led->leds;
        if (ref->uses_prev) {
            c[0] = ref_clamp(ref_clamp(led->x * 0.5f + 0.5f) * u[0]);
            c[1] = ref_clamp(0.5f * ref_prev_at(ref, led->strip + 1, led->led, 0) + 0.25f * frac);
            c[2] = ref_clamp(0.5f * ref->prev[3 * i + 2] + u[1]);
        } else {
            c[0] = ref_clamp(u[0]);
            c[1] = ref_clamp(led->y * 0.5f + 0.5f);
            c[2] = ref_clamp(0.25f * frac);
        }
    }
    float *t = ref->prev;
    ref->prev = ref->cur;
    ref->cur = t;
}

/* The device's bytes (and floats when given) match the reference within rounding. */
static void ref_compare(const ref_state *ref, const uint8_t *bytes, const float *floats,
                        const char *what, int frame) {
    uint32_t n = ref->layout->led_count;
    for (uint32_t i = 0; i < 3 * n; i++) {
        int want = (int)floorf(ref->prev[i] * 255.0f + 0.5f);
        if (abs(want - (int)bytes[i]) > 1) {
            fail_msg("%s frame %d: LED %u channel %u: device byte %u, CPU %d", what, frame, i / 3,
                     i % 3, bytes[i], want);
        }
        if (floats && fabsf(floats[i] - ref->prev[i]) > 1e-5f)
            fail_msg("%s frame %d: LED %u channel %u: device %.9g, CPU %.9g", what, frame, i / 3,
                     i % 3, floats[i], ref->prev[i]);
    }
}

/* ------------------------------------------------------- test kernels */

/* Uniforms of the test shaders: u0 a slow ramp in t, u1 = 0.25 (prev.b converges to 0.5). */
static sky_status test_eval(void *context, const sky_layout_view *layout,
                            const sky_frame_inputs *frame, float *uniforms) {
    (void)context;
    (void)layout;
    uniforms[0] = (float)fmod(frame->t * 0.37, 1.0);
    uniforms[1] = 0.25f;
    return SKY_OK;
}

static void test_uniforms(double t, float *u) {
    sky_frame_inputs f = {.t = t};
    test_eval(NULL, NULL, &f, u);
}

static void set_test_kernel_spirv(sky_runtime *rt, bool uses_prev, const uint32_t *words,
                                  size_t word_count) {
    vkrt_kernel_source src = {
        .spirv = words,
        .word_count = word_count,
        .uniform_count = 2,
        .uses_prev = uses_prev,
        .eval = test_eval,
    };
    char err[512] = "";
    sky_status st = vkrt_runtime_set_kernel(rt, &src, err, sizeof err);
    if (st != SKY_OK) fail_msg("set_kernel: %s", err);
}

static void set_test_kernel(sky_runtime *rt, bool uses_prev) {
    if (uses_prev)
        set_test_kernel_spirv(rt, true, vk_test_spv, sizeof vk_test_spv / 4);
    else
        set_test_kernel_spirv(rt, false, vk_test_noprev_spv, sizeof vk_test_noprev_spv / 4);
}

static sky_layout *make_layout(const char *spec) {
    sky_layout *layout = NULL;
    char err[256] = "";
    if (sky_layout_create(spec, &layout, err, sizeof err) != SKY_OK)
        fail_msg("layout %s: %s", spec, err);
    return layout;
}

static sky_runtime *make_runtime(const sky_layout *layout, sky_frame_writer *writer,
                                 bool force_copy, uint32_t local_size) {
    sky_runtime_options o;
    sky_runtime_options_init(&o);
    o.layout = layout;
    o.writer = writer;
    o.force_copy = force_copy;
    o.local_size = local_size;
    sky_runtime *rt = NULL;
    char err[512] = "";
    sky_status st = sky_runtime_create(&o, &rt, err, sizeof err);
    if (st != SKY_OK) fail_msg("sky_runtime_create: %s (%s)", err, sky_status_str(st));
    return rt;
}

static void render_ok(sky_runtime *rt, double t) {
    char err[512] = "";
    sky_status st = sky_runtime_render(rt, t, 1.0 / 60, NULL, err, sizeof err);
    if (st != SKY_OK) fail_msg("render: %s", err);
}

/* -------------------------------------------------------------- tests */

/* Host path: every frame, bytes and full-precision floats, on a layout with a partial
 * group of four, several work-group sizes (one that leaves most of a group idle). */
static void test_host_path_prev_ping_pong(void **state) {
    (void)state;
    sky_layout *layout = make_layout("grid:7x5");
    const uint32_t sizes[] = {1, 7, 64};
    for (size_t s = 0; s < 3; s++) {
        sky_runtime *rt = make_runtime(layout, NULL, false, sizes[s]);
        assert_int_equal(sky_runtime_output_path(rt), SKY_OUTPUT_HOST);
        assert_int_equal(sky_runtime_local_size(rt), sizes[s]);
        assert_null(sky_runtime_frame_bytes(rt, NULL));
        set_test_kernel(rt, true);
        ref_state ref;
        ref_init(&ref, layout);
        ref.uses_prev = true;
        for (int f = 0; f < 12; f++) {
            double t = 0.1 * f;
            render_ok(rt, t);
            float u[2];
            test_uniforms(t, u);
            ref_frame(&ref, u);
            size_t len = 0, count = 0;
            const uint8_t *bytes = sky_runtime_frame_bytes(rt, &len);
            const float *floats = sky_runtime_frame_floats(rt, &count);
            assert_non_null(bytes);
            assert_non_null(floats); /* lavapipe's memory is host-visible */
            assert_int_equal(len, layout->led_count * 3);
            assert_int_equal(count, layout->led_count * 3);
            ref_compare(&ref, bytes, floats, "host", f);
        }
        assert_int_equal(sky_runtime_frame_count(rt), 12);
        sky_runtime_stats stats;
        sky_runtime_get_stats(rt, &stats);
        assert_int_equal(stats.frames, 12);
        assert_true(stats.latency.total_ns >= stats.wait.total_ns);
        ref_free(&ref);
        sky_runtime_free(rt);
    }
    sky_layout_free(layout);
}

/* The optional texel binding 6 (LED inputs as RGBA32F texels) gives the same inputs. */
static void test_led_texels(void **state) {
    (void)state;
    sky_layout *layout = make_layout("disc:9x11");
    sky_runtime *rt = make_runtime(layout, NULL, false, 0);
    set_test_kernel_spirv(rt, true, vk_test_texels_spv, sizeof vk_test_texels_spv / 4);
    ref_state ref;
    ref_init(&ref, layout);
    ref.uses_prev = true;
    for (int f = 0; f < 6; f++) {
        render_ok(rt, 0.3 * f);
        float u[2];
        test_uniforms(0.3 * f, u);
        ref_frame(&ref, u);
        ref_compare(&ref, sky_runtime_frame_bytes(rt, NULL), sky_runtime_frame_floats(rt, NULL),
                    "texels", f);
    }
    ref_free(&ref);
    sky_runtime_free(rt);
    sky_layout_free(layout);
}

/* Pipelined submits: frames stay correct with two in flight (compared at the end, and the
 * accessors hand out nothing while frames are in flight). */
static void test_pipelined_submits(void **state) {
    (void)state;
    sky_layout *layout = make_layout("disc:12x9");
    sky_runtime *rt = make_runtime(layout, NULL, false, 0);
    set_test_kernel(rt, true);
    ref_state ref;
    ref_init(&ref, layout);
    ref.uses_prev = true;
    char err[512] = "";
    for (int f = 0; f < 40; f++) {
        double t = 0.05 * f;
        assert_int_equal(sky_runtime_submit(rt, t, 0.05, NULL, err, sizeof err), SKY_OK);
        assert_null(sky_runtime_frame_bytes(rt, NULL));
        assert_null(sky_runtime_frame_floats(rt, NULL));
        float u[2];
        test_uniforms(t, u);
        ref_frame(&ref, u);
    }
    assert_int_equal(sky_runtime_finish(rt, err, sizeof err), SKY_OK);
    assert_int_equal(sky_runtime_frame_count(rt), 40);
    ref_compare(&ref, sky_runtime_frame_bytes(rt, NULL), sky_runtime_frame_floats(rt, NULL),
                "pipelined", 39);
    ref_free(&ref);
    sky_runtime_free(rt);
    sky_layout_free(layout);
}

static char *temp_frame_path(void) {
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    char *path = malloc(256);
    assert_non_null(path);
    snprintf(path, 256, "%s/sky-test-vk-%ld-XXXXXX", dir, (long)getpid());
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path); /* the writer creates it beside and renames */
    return path;
}

static sky_frame_writer *make_writer(const sky_layout *layout, const char *path) {
    sky_frame_writer *writer = NULL;
    char err[512] = "";
    if (test_layout_writer(layout, path, &writer, err, sizeof err) != SKY_OK)
        fail_msg("frame writer: %s", err);
    return writer;
}

static bool chosen_device_imports(void) {
    sky_vk_device_info *devices = NULL;
    size_t count = 0;
    char err[512] = "";
    assert_int_equal(sky_vk_list_devices(NULL, &devices, &count, err, sizeof err), SKY_OK);
    bool imports = false;
    for (size_t i = 0; i < count; i++)
        if (devices[i].chosen) imports = devices[i].has_external_memory_host;
    sky_free(devices);
    return imports;
}

/* Publishing into a real frame file; a reader sees every frame, numbered from 1. */
static void run_publish(bool force_copy) {
    sky_layout *layout = make_layout("disc:10x13");
    char *path = temp_frame_path();
    sky_frame_writer *writer = make_writer(layout, path);
    sky_runtime *rt = make_runtime(layout, writer, force_copy, 0);
    sky_output_path want =
        force_copy || !chosen_device_imports() ? SKY_OUTPUT_COPY : SKY_OUTPUT_ZERO_COPY;
    if (sky_runtime_output_path(rt) != want)
        fail_msg("output path %s, expected %s (%s)",
                 sky_output_path_str(sky_runtime_output_path(rt)), sky_output_path_str(want),
                 sky_runtime_output_reason(rt));
    set_test_kernel(rt, true);
    sky_frame_reader *reader = NULL;
    char err[512] = "";
    if (sky_frame_reader_open(path, &reader, err, sizeof err) != SKY_OK)
        fail_msg("reader: %s", err);
    ref_state ref;
    ref_init(&ref, layout);
    ref.uses_prev = true;
    uint8_t *read = malloc(layout->led_count * 3);
    assert_non_null(read);
    uint64_t frame = 0;
    assert_int_equal(
        sky_frame_reader_read(reader, read, layout->led_count * 3, &frame, err, sizeof err),
        SKY_ERR_AGAIN);
    for (int f = 0; f < 10; f++) {
        double t = 0.25 * f;
        render_ok(rt, t);
        float u[2];
        test_uniforms(t, u);
        ref_frame(&ref, u);
        sky_status st =
            sky_frame_reader_read(reader, read, layout->led_count * 3, &frame, err, sizeof err);
        if (st != SKY_OK) fail_msg("read frame %d: %s (%s)", f, err, sky_status_str(st));
        assert_int_equal(frame, (uint64_t)f + 1);
        ref_compare(&ref, read, NULL, force_copy ? "copy" : "zero-copy", f);
        /* the runtime's own view of the frame is the slot's bytes */
        assert_memory_equal(sky_runtime_frame_bytes(rt, NULL), read, layout->led_count * 3);
    }
    assert_int_equal(sky_frame_reader_dropped(reader), 0);
    sky_runtime_stats stats;
    sky_runtime_get_stats(rt, &stats);
    assert_int_equal(stats.path, want);
    assert_int_equal(stats.frames, 10);
    free(read);
    ref_free(&ref);
    sky_frame_reader_free(reader);
    sky_runtime_free(rt);
    sky_frame_writer_free(writer);
    unlink(path);
    free(path);
    sky_layout_free(layout);
}

static void test_publish_zero_copy(void **state) {
    (void)state;
    run_publish(false);
}

static void test_publish_copy(void **state) {
    (void)state;
    run_publish(true);
}

/* Swaps: prev kept between prev programs, cleared when a prev program follows one without. */
static void test_program_swap(void **state) {
    (void)state;
    sky_layout *layout = make_layout("strip:30");
    sky_runtime *rt = make_runtime(layout, NULL, false, 0);
    char err[512] = "";
    assert_int_equal(sky_runtime_render(rt, 0, 0, NULL, err, sizeof err), SKY_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "set_program"));
    ref_state ref;
    ref_init(&ref, layout);
    int f = 0;
    float u[2];
    /* prev program, 5 frames */
    set_test_kernel(rt, true);
    ref.uses_prev = true;
    for (; f < 5; f++) {
        render_ok(rt, f * 0.1);
        test_uniforms(f * 0.1, u);
        ref_frame(&ref, u);
        ref_compare(&ref, sky_runtime_frame_bytes(rt, NULL), sky_runtime_frame_floats(rt, NULL),
                    "swap A", f);
    }
    /* swap to the same kind of program with a frame in flight: prev continues */
    assert_int_equal(sky_runtime_submit(rt, f * 0.1, 0.1, NULL, err, sizeof err), SKY_OK);
    test_uniforms(f * 0.1, u);
    ref_frame(&ref, u);
    f++;
    set_test_kernel(rt, true);
    assert_int_equal(sky_runtime_finish(rt, err, sizeof err), SKY_OK);
    ref_compare(&ref, sky_runtime_frame_bytes(rt, NULL), NULL, "in flight", f);
    for (int k = 0; k < 3; k++, f++) {
        render_ok(rt, f * 0.1);
        test_uniforms(f * 0.1, u);
        ref_frame(&ref, u);
        ref_compare(&ref, sky_runtime_frame_bytes(rt, NULL), sky_runtime_frame_floats(rt, NULL),
                    "swap A'", f);
    }
    /* a program without prev: no floats */
    set_test_kernel(rt, false);
    ref.uses_prev = false;
    for (int k = 0; k < 2; k++, f++) {
        render_ok(rt, f * 0.1);
        test_uniforms(f * 0.1, u);
        ref_frame(&ref, u);
        ref_compare(&ref, sky_runtime_frame_bytes(rt, NULL), NULL, "swap B", f);
        assert_null(sky_runtime_frame_floats(rt, NULL));
    }
    /* back to prev: it starts from black again */
    set_test_kernel(rt, true);
    ref.uses_prev = true;
    memset(ref.prev, 0, layout->led_count * 3 * sizeof(float));
    for (int k = 0; k < 4; k++, f++) {
        render_ok(rt, f * 0.1);
        test_uniforms(f * 0.1, u);
        ref_frame(&ref, u);
        ref_compare(&ref, sky_runtime_frame_bytes(rt, NULL), sky_runtime_frame_floats(rt, NULL),
                    "swap A''", f);
    }
    /* a broken shader is refused and the running program stays */
    uint32_t junk[8] = {0xdeadbeef, 1, 2, 3, 4, 5, 6, 7};
    vkrt_kernel_source bad = {.spirv = junk, .word_count = 8, .eval = test_eval};
    assert_int_equal(vkrt_runtime_set_kernel(rt, &bad, err, sizeof err), SKY_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "SPIR-V"));
    render_ok(rt, f * 0.1);
    test_uniforms(f * 0.1, u);
    ref_frame(&ref, u);
    ref_compare(&ref, sky_runtime_frame_bytes(rt, NULL), NULL, "after refusal", f);
    ref_free(&ref);
    sky_runtime_free(rt);
    sky_layout_free(layout);
}

static void test_devices_and_selection(void **state) {
    (void)state;
    sky_vk_device_info *devices = NULL;
    size_t count = 0;
    char err[512] = "";
    sky_status st = sky_vk_list_devices(NULL, &devices, &count, err, sizeof err);
    if (st != SKY_OK) fail_msg("no Vulkan device (these tests need one): %s", err);
    assert_true(count >= 1);
    int chosen = 0;
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(devices[i].index, i);
        assert_true(devices[i].name[0] != '\0');
        chosen += devices[i].chosen;
    }
    assert_int_equal(chosen, 1);
    /* choose by index and by (case-changed) name substring */
    sky_layout *layout = make_layout("strip:8");
    for (size_t i = 0; i < count; i++) {
        if (!devices[i].has_compute) continue;
        char index[32];
        snprintf(index, sizeof index, "%zu", i);
        sky_runtime_options o;
        sky_runtime_options_init(&o);
        o.layout = layout;
        o.device = index;
        sky_runtime *rt = NULL;
        assert_int_equal(sky_runtime_create(&o, &rt, err, sizeof err), SKY_OK);
        assert_string_equal(sky_runtime_device_name(rt), devices[i].name);
        assert_int_equal(sky_runtime_device_type(rt), devices[i].type);
        sky_runtime_free(rt);
        char upper[8] = "";
        for (size_t k = 0; k < 3 && devices[i].name[k]; k++)
            upper[k] = (char)(devices[i].name[k] >= 'a' && devices[i].name[k] <= 'z'
                                  ? devices[i].name[k] - 32
                                  : devices[i].name[k]);
        o.device = upper;
        assert_int_equal(sky_runtime_create(&o, &rt, err, sizeof err), SKY_OK);
        sky_runtime_free(rt);
    }
    /* selectors matching nothing */
    sky_runtime_options o;
    sky_runtime_options_init(&o);
    o.layout = layout;
    o.device = "no-such-gpu-anywhere";
    sky_runtime *rt = NULL;
    assert_int_equal(sky_runtime_create(&o, &rt, err, sizeof err), SKY_ERR_NO_DEVICE);
    assert_null(rt);
    assert_non_null(strstr(err, "no-such-gpu-anywhere"));
    o.device = "999";
    assert_int_equal(sky_runtime_create(&o, &rt, err, sizeof err), SKY_ERR_NO_DEVICE);
    assert_non_null(strstr(err, "999"));
    /* the environment picks when the option is unset */
    setenv(SKY_DEVICE_ENV, "no-such-gpu-from-env", 1);
    o.device = NULL;
    assert_int_equal(sky_runtime_create(&o, &rt, err, sizeof err), SKY_ERR_NO_DEVICE);
    assert_non_null(strstr(err, "SKY_DEVICE"));
    unsetenv(SKY_DEVICE_ENV);
    sky_free(devices);
    sky_layout_free(layout);
}

static void test_argument_errors(void **state) {
    (void)state;
    char err[512] = "";
    sky_runtime *rt = NULL;
    assert_int_equal(sky_runtime_create(NULL, &rt, err, sizeof err), SKY_ERR_INVALID_ARG);
    sky_runtime_options o;
    sky_runtime_options_init(&o);
    assert_int_equal(sky_runtime_create(&o, &rt, err, sizeof err), SKY_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "layout"));
    sky_layout *small = make_layout("strip:8");
    sky_layout *big = make_layout("strip:9");
    o.layout = small;
    o.frames_in_flight = 3;
    assert_int_equal(sky_runtime_create(&o, &rt, err, sizeof err), SKY_ERR_INVALID_ARG);
    o.frames_in_flight = 0;
    /* a frame file of another size */
    char *path = temp_frame_path();
    sky_frame_writer *writer = make_writer(big, path);
    o.writer = writer;
    assert_int_equal(sky_runtime_create(&o, &rt, err, sizeof err), SKY_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "9 LEDs"));
    assert_null(rt);
    sky_frame_writer_free(writer);
    unlink(path);
    free(path);
    /* NULL is harmless */
    sky_runtime_free(NULL);
    assert_null(sky_runtime_frame_bytes(NULL, NULL));
    assert_int_equal(sky_runtime_render(NULL, 0, 0, NULL, err, sizeof err), SKY_ERR_INVALID_ARG);
    assert_int_equal(sky_runtime_set_program(NULL, NULL, err, sizeof err), SKY_ERR_INVALID_ARG);
    sky_layout_free(small);
    sky_layout_free(big);
}

/*
 * The "no device" message: a child process whose Vulkan loader is pointed at a
 * driver manifest that does not exist (so it finds no driver at all).
 */
static int child_no_device(void) {
    sky_layout *layout = NULL;
    char err[512] = "";
    if (sky_layout_create("strip:4", &layout, err, sizeof err) != SKY_OK) return 10;
    sky_runtime_options o;
    sky_runtime_options_init(&o);
    o.layout = layout;
    sky_runtime *rt = NULL;
    sky_status st = sky_runtime_create(&o, &rt, err, sizeof err);
    printf("%s\n", err);
    sky_layout_free(layout);
    if (st != SKY_ERR_NO_DEVICE || rt) return 11;
    if (strncmp(err, SKY_NO_DEVICE_MESSAGE, strlen(SKY_NO_DEVICE_MESSAGE)) != 0) return 12;
    sky_vk_device_info *devices = NULL;
    size_t count = 5;
    st = sky_vk_list_devices(NULL, &devices, &count, err, sizeof err);
    if (st != SKY_ERR_NO_DEVICE || devices || count != 0) return 13;
    if (strncmp(err, SKY_NO_DEVICE_MESSAGE, strlen(SKY_NO_DEVICE_MESSAGE)) != 0) return 14;
    return 0;
}

/*
 * A frame that never finishes: the wait times out and every call reports the
 * runtime unusable, quickly, and freeing does not wait either. Runs in a child
 * that _exits (the driver's thread is still busy with the shader and the
 * abandoned Vulkan objects are leaked on purpose; process exit ends both).
 *
 * "Never finishes" must hold on any device, a fast GPU as much as lavapipe:
 * the slow shader's work per invocation is set per frame (uniforms 2 and 3),
 * measured first on this device (grown until one frame takes HANG_CALIBRATE_S),
 * then the hanging frame asks for HANG_FACTOR times the runtime's timeout.
 */
#define HANG_TIMEOUT_MS  100
#define HANG_FACTOR      1000.0 /* the hanging frame: 1000 x 100 ms = 100 s of device time */
#define HANG_CALIBRATE_S 0.2    /* long enough that a frame's fixed costs do not matter */
#define HANG_MAX_STEPS   65000.0 /* per loop: llvmpipe stops loops after 65535 iterations */
#define HANG_MAX_ROUNDS  16777216.0 /* 2^24: exact as a float uniform */

static double slow_rounds = 1, slow_steps = 1; /* the next frame's work per invocation */

static sky_status slow_eval(void *context, const sky_layout_view *layout,
                            const sky_frame_inputs *frame, float *uniforms) {
    test_eval(context, layout, frame, uniforms);
    uniforms[2] = (float)slow_rounds;
    uniforms[3] = (float)slow_steps;
    return SKY_OK;
}

static double seconds_since(const struct timespec *a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) * 1e-9;
}

static sky_runtime *slow_runtime(sky_layout *layout, uint32_t timeout_ms) {
    sky_runtime_options o;
    sky_runtime_options_init(&o);
    o.layout = layout;
    o.wait_timeout_ms = timeout_ms;
    sky_runtime *rt = NULL;
    char err[512] = "";
    if (sky_runtime_create(&o, &rt, err, sizeof err) != SKY_OK) {
        printf("hang: %s\n", err);
        return NULL;
    }
    vkrt_kernel_source src = {
        .spirv = vk_test_slow_spv,
        .word_count = sizeof vk_test_slow_spv / 4,
        .uniform_count = 4,
        .eval = slow_eval,
    };
    if (vkrt_runtime_set_kernel(rt, &src, err, sizeof err) != SKY_OK) {
        printf("hang: %s\n", err);
        sky_runtime_free(rt);
        return NULL;
    }
    return rt;
}

/* Seconds of one whole frame (submitted, waited for) with the current work; < 0 on error. */
static double slow_frame_seconds(sky_runtime *rt) {
    char err[512] = "";
    struct timespec a;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (sky_runtime_submit(rt, 0, 0, NULL, err, sizeof err) != SKY_OK ||
        sky_runtime_finish(rt, err, sizeof err) != SKY_OK) {
        printf("hang: calibration frame: %s\n", err);
        return -1;
    }
    return seconds_since(&a);
}

/* Iterations per invocation per second on this device (0 on error): the work grows
 * 4x at a time until one frame takes HANG_CALIBRATE_S. A minute per frame is the
 * safety net of the calibration runtime's own timeout. */
static double slow_device_rate(sky_layout *layout) {
    sky_runtime *rt = slow_runtime(layout, 60000);
    if (!rt) return 0;
    slow_rounds = slow_steps = 1;
    double rate = 0, seconds = slow_frame_seconds(rt); /* compiles the shader */
    for (double work = 64; seconds >= 0; work *= 4) {
        slow_steps = work < HANG_MAX_STEPS ? work : HANG_MAX_STEPS;
        slow_rounds = ceil(work / slow_steps);
        seconds = slow_frame_seconds(rt);
        if (seconds >= HANG_CALIBRATE_S || slow_rounds >= HANG_MAX_ROUNDS) {
            rate = seconds > 0 ? slow_rounds * slow_steps / seconds : 0;
            printf("hang: calibration: %.0f iterations per invocation in %.3f s\n",
                   slow_rounds * slow_steps, seconds);
            break;
        }
    }
    sky_runtime_free(rt);
    return rate;
}

static int child_hang(void) {
    sky_layout *layout = NULL;
    char err[512] = "";
    if (sky_layout_create("grid:1000x1000", &layout, err, sizeof err) != SKY_OK) return 10;
    double rate = slow_device_rate(layout);
    if (rate <= 0) return 18;
    double work = HANG_FACTOR * HANG_TIMEOUT_MS / 1000.0 * rate;
    slow_steps = HANG_MAX_STEPS;
    slow_rounds = ceil(work / HANG_MAX_STEPS);
    if (slow_rounds > HANG_MAX_ROUNDS) return 19; /* a device 10^5 x faster than a GPU */
    double hang_s = slow_rounds * slow_steps / rate; /* what the frame would take */
    printf("hang: the hanging frame: %.0f iterations per invocation, about %.0f s\n",
           slow_rounds * slow_steps, hang_s);
    sky_runtime *rt = slow_runtime(layout, HANG_TIMEOUT_MS);
    if (!rt) return 11;
    /* Returning at all long before the frame could have finished shows the timeout
     * worked; a tenth of the frame's own time is that bound, not a guessed duration. */
    struct timespec a;
    clock_gettime(CLOCK_MONOTONIC, &a);
    sky_status st = sky_runtime_render(rt, 0, 0, NULL, err, sizeof err);
    double seconds = seconds_since(&a);
    printf("hang: %s after %.2f s: %s\n", sky_status_str(st), seconds, err);
    if (st != SKY_ERR_DEVICE_LOST || !strstr(err, "did not finish")) return 13;
    if (seconds > hang_s / 10) return 14;
    st = sky_runtime_render(rt, 0.1, 0.1, NULL, err, sizeof err);
    printf("hang, next call: %s: %s\n", sky_status_str(st), err);
    if (st != SKY_ERR_DEVICE_LOST || !strstr(err, "unusable")) return 15;
    if (sky_runtime_set_program(rt, NULL, err, sizeof err) != SKY_ERR_DEVICE_LOST) return 16;
    /* Freeing does not wait for the busy device either (its objects are abandoned). */
    clock_gettime(CLOCK_MONOTONIC, &a);
    sky_runtime_free(rt);
    seconds = seconds_since(&a);
    printf("hang: freed in %.2f s\n", seconds);
    if (seconds > hang_s / 10) return 17;
    sky_layout_free(layout);
    fflush(stdout);
    _exit(0);
}

static void run_child(const char *arg, const char *env_name, const char *env_value);

static void test_no_device_message(void **state) {
    (void)state;
    run_child("--child-no-device", "VK_ICD_FILENAMES", "/nonexistent/skyscreen-no-driver.json");
}

static void test_hung_device_times_out(void **state) {
    (void)state;
    run_child("--child-hang", NULL, NULL);
}

static void run_child(const char *arg, const char *env_name, const char *env_value) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (env_name) {
            setenv(env_name, env_value, 1);
            setenv("VK_DRIVER_FILES", env_value, 1);
        }
        char *args[] = {"test_vk_runtime", (char *)arg, NULL};
        execv("/proc/self/exe", args);
        _exit(127);
    }
    int status = 0;
    for (int waited_ms = 0;; waited_ms += 20) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        assert_true(got >= 0);
        if (got == pid) break;
        if (waited_ms > 300000) { /* a safety net: the child waits on nothing external */
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("child %s hung", arg);
        }
        struct timespec pause = {0, 20 * 1000000L};
        nanosleep(&pause, NULL);
    }
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        fail_msg("child %s failed with code %d", arg, WEXITSTATUS(status));
}


/*
 * lavapipe compiles a shader at its first dispatch, so the first frame after a
 * program swap may take far longer than the wait limit meant for hung devices
 * (found by tests/gen: a valid 1,355-instruction pattern failed `sky run` with
 * "device hung" after 2 s; its first dispatch took about 10 s). The first frame of a new
 * shader gets extra time for its size; here a 100 ms limit, which the first
 * frame of this noise pattern (about 0.3 s to compile, a new constant each
 * run so no shader cache has it) exceeds, must not end the runtime.
 */
static void test_first_frame_may_compile(void **state) {
    (void)state;
    sky_layout *layout = NULL;
    char err[512] = "";
    assert_int_equal(sky_layout_create("grid:16x16", &layout, err, sizeof err), SKY_OK);
    sky_runtime_options o;
    sky_runtime_options_init(&o);
    o.layout = layout;
    o.wait_timeout_ms = 100;
    sky_runtime *rt = NULL;
    assert_int_equal(sky_runtime_create(&o, &rt, err, sizeof err), SKY_OK);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* a float constant of its own (1 + n * 2^-20), so no shader cache has this shader */
    long unique = ((long)getpid() * 7919L + ts.tv_nsec / 1000) % 100000L;
    char src[512];
    int len = snprintf(src, sizeof src,
                       "let k = %.9f\n"
                       "out vec3(fbm(vec3(x * 3, y * 3 * k, t), 1), fbm(vec2(x, y) * 5 * k, 1),\n"
                       "         fbm(vec3(y, x * k, t * 2), 1))\n",
                       1.0 + (double)unique * 0x1p-20);
    sky_program *program = NULL;
    assert_int_equal(sky_compile("first.sky", src, (size_t)len, NULL, &program, NULL), SKY_OK);
    assert_int_equal(sky_runtime_set_program(rt, program, err, sizeof err), SKY_OK);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    sky_status st = sky_runtime_render(rt, 0, 0, NULL, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("first frame of a new shader: %s after %.3f s %s\n", sky_status_str(st),
           (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9, err);
    assert_int_equal(st, SKY_OK);
    assert_non_null(sky_runtime_frame_bytes(rt, NULL));
    sky_runtime_free(rt);
    sky_program_free(program);
    sky_layout_free(layout);
}

/* A pattern over the build budget is refused before anything is built; the runtime stays usable. */
static void test_over_budget_refused(void **state) {
    (void)state;
    sky_layout *layout = make_layout("grid:8x8");
    sky_runtime *rt = make_runtime(layout, NULL, false, 0);
    const char *heavy = "out rgb(sum(i in 0..8, fbm(vec3(x + i, y, t), 8)) / 10, 0, 0)\n";
    sky_program *program = NULL;
    assert_int_equal(sky_compile("heavy.sky", heavy, strlen(heavy), NULL, &program, NULL), SKY_OK);
    assert_true(sky_program_led_cost(program) > SKY_LED_COST_MAX);
    char err[512] = "";
    assert_int_equal(sky_runtime_set_program(rt, program, err, sizeof err), SKY_ERR_LIMIT);
    if (!strstr(err, "budget") || !strstr(err, "fbm octaves")) fail_msg("message: %s", err);
    uint32_t word = 0x07230203u;
    assert_int_equal(sky_runtime_set_program_spirv(rt, program, &word, 1, err, sizeof err),
                     SKY_ERR_LIMIT);
    sky_program *light = NULL;
    assert_int_equal(sky_compile("light.sky", "out rgb(1, 0, 0)\n", 17, NULL, &light, NULL),
                     SKY_OK);
    assert_int_equal(sky_runtime_set_program(rt, light, err, sizeof err), SKY_OK);
    render_ok(rt, 0);
    sky_runtime_free(rt);
    sky_program_free(light);
    sky_program_free(program);
    sky_layout_free(layout);
}

typedef struct build_job {
    sky_runtime *rt;
    const sky_program *program;
    const uint32_t *words;
    size_t word_count;
    sky_runtime_pipeline *pipeline;
    sky_status status;
    char error[512];
    atomic_bool done;
} build_job;

static void *build_on_thread(void *arg) {
    build_job *job = arg;
    job->status = sky_runtime_pipeline_build(job->rt, job->program, job->words, job->word_count,
                                             &job->pipeline, job->error, sizeof job->error);
    atomic_store(&job->done, true);
    return NULL;
}

static sky_program *compile_ok(const char *src) {
    sky_program *program = NULL;
    assert_int_equal(sky_compile("t.sky", src, strlen(src), NULL, &program, NULL), SKY_OK);
    return program;
}

static void assert_uniform(sky_runtime *rt, uint8_t r, uint8_t g, uint8_t b) {
    size_t len = 0;
    const uint8_t *bytes = sky_runtime_frame_bytes(rt, &len);
    assert_non_null(bytes);
    for (size_t i = 0; i < len; i += 3)
        if (bytes[i] != r || bytes[i + 1] != g || bytes[i + 2] != b)
            fail_msg("LED %zu is %u,%u,%u, not %u,%u,%u", i / 3, bytes[i], bytes[i + 1],
                     bytes[i + 2], r, g, b);
}

/* A pipeline built on another thread while this one renders, then swapped in between frames. */
static void test_pipeline_built_off_thread(void **state) {
    (void)state;
    sky_layout *layout = make_layout("grid:16x16");
    sky_runtime *rt = make_runtime(layout, NULL, false, 0);
    sky_program *red = compile_ok("out rgb(1, 0, 0)\n");
    sky_program *blue = compile_ok("out rgb(0, 0, 1) * (1 + 0 * fbm(vec3(x, y, t), 4))\n");
    char err[512] = "";
    assert_int_equal(sky_runtime_set_program(rt, red, err, sizeof err), SKY_OK);
    render_ok(rt, 0);
    sky_emit_options emit;
    sky_runtime_emit_options(rt, &emit);
    build_job job = {.rt = rt, .program = blue};
    atomic_init(&job.done, false);
    char *emit_error = NULL;
    uint32_t *words = NULL;
    assert_int_equal(sky_program_emit_spirv(blue, &emit, &words, &job.word_count, &emit_error),
                     SKY_OK);
    job.words = words;
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, build_on_thread, &job), 0);
    unsigned frames = 0;
    while (!atomic_load(&job.done) || frames < 3) {
        render_ok(rt, frames++ / 60.0);
        assert_uniform(rt, 255, 0, 0); /* the running program, untouched by the build */
    }
    pthread_join(thread, NULL);
    if (job.status != SKY_OK) fail_msg("pipeline build: %s", job.error);
    /* Dispatched once by the build (off this thread), so that a driver that compiles at
     * the first dispatch does not do it at the show's next frame. */
    assert_true(vkrt_pipeline_warmed(job.pipeline));
    assert_int_equal(sky_runtime_set_pipeline(rt, job.pipeline, err, sizeof err), SKY_OK);
    render_ok(rt, 0);
    assert_uniform(rt, 0, 0, 255);
    /* A pipeline built and never used is freed on its own. */
    sky_runtime_pipeline *unused = NULL;
    assert_int_equal(
        sky_runtime_pipeline_build(rt, blue, words, job.word_count, &unused, err, sizeof err),
        SKY_OK);
    sky_runtime_pipeline_free(rt, unused);
    render_ok(rt, 1);
    assert_uniform(rt, 0, 0, 255);
    sky_free(words);
    sky_free(emit_error);
    sky_runtime_free(rt);
    sky_program_free(red);
    sky_program_free(blue);
    sky_layout_free(layout);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--child-no-device") == 0) return child_no_device();
    if (argc > 1 && strcmp(argv[1], "--child-hang") == 0) return child_hang();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_devices_and_selection),
        cmocka_unit_test(test_host_path_prev_ping_pong),
        cmocka_unit_test(test_pipelined_submits),
        cmocka_unit_test(test_led_texels),
        cmocka_unit_test(test_publish_zero_copy),
        cmocka_unit_test(test_publish_copy),
        cmocka_unit_test(test_program_swap),
        cmocka_unit_test(test_argument_errors),
        cmocka_unit_test(test_no_device_message),
        cmocka_unit_test(test_hung_device_times_out),
        cmocka_unit_test(test_first_frame_may_compile),
        cmocka_unit_test(test_over_budget_refused),
        cmocka_unit_test(test_pipeline_built_off_thread),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    return failed + vk_validation_check("test_vk_runtime");
}
