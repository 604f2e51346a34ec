/*
 * test_gpu_agreement.c - the Vulkan device (lavapipe here) against the CPU
 * reference evaluator, on every LED, for every real pattern.
 *
 * Every .sky file in examples/ and tests/compiler/corpus/ (found at run time, so
 * new patterns are covered without editing this file) is compiled once and
 * rendered on four layouts (disc, grid, strip and an irregular map) with its
 * default parameters and, when it has ranged ones, all at their minimum and
 * all at their maximum. Patterns without prev are compared at several times
 * far apart; patterns with prev over 32 consecutive frames, each compared,
 * the CPU evaluator fed its own prev. Every channel of every LED must agree
 * within 2/255. One test per file, so a failure names the pattern; the
 * message names the layout, parameters, frame, LED and channel.
 *
 * ctest runs it once more per device profile ($SKY_DEVICE_PROFILE: rpi4, orin,
 * minimal), where the runtime takes the fallbacks those devices need (copy
 * publishing, storage-buffer positions, the work-group size clamped: under a
 * profile the runtimes ask for 1024, so the clamped size is what renders).
 *
 * Also: a real pattern published into a real frame file through both the
 * zero-copy and the copy path, read back with the frame reader.
 * Label "gpu": without a Vulkan device this fails, it never skips.
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
#include <unistd.h>

#include "layout_writer.h"
#include "pattern_agreement.h"
#include "sky/frame.h"
#include "sky/layout.h"
#include "sky/runtime.h"
#include "vk_validation_check.h"
#include "sky/sky.h"

#define AGREE_TOLERANCE 2 /* bytes, per channel */

/* ------------------------------------------------------------------ layouts */

typedef struct agree_layout {
    const char *spec;
    sky_layout *layout;
    sky_layout_view view;
    sky_led_input *inputs;
    sky_runtime *rt;
} agree_layout;

typedef struct agree_world {
    char map_path[256];
    agree_layout layouts[PA_LAYOUT_COUNT];
    size_t layout_count;
} agree_world;

static agree_world world;

static int agree_setup(void **state) {
    (void)state;
    const char *specs[PA_LAYOUT_COUNT];
    assert_true(pa_layout_specs("test-agree", world.map_path, sizeof world.map_path, specs));
    for (size_t i = 0; i < PA_LAYOUT_COUNT; i++) {
        agree_layout *l = &world.layouts[i];
        char err[512] = "";
        l->spec = specs[i];
        if (sky_layout_create(specs[i], &l->layout, err, sizeof err) != SKY_OK) {
            fprintf(stderr, "layout %s: %s\n", specs[i], err);
            return -1;
        }
        l->view = (sky_layout_view){l->layout->led_count, l->layout->strip_count,
                                    l->layout->strip_sizes, l->layout->xy, l->layout->z};
        l->inputs = calloc(l->layout->led_count, sizeof *l->inputs);
        if (!l->inputs || sky_led_inputs_build(&l->view, l->inputs) != SKY_OK) return -1;
        sky_runtime_options o;
        sky_runtime_options_init(&o);
        o.layout = l->layout;
        const char *profile = getenv(SKY_DEVICE_PROFILE_ENV);
        if (profile && profile[0]) o.local_size = 1024;
        if (sky_runtime_create(&o, &l->rt, err, sizeof err) != SKY_OK) {
            fprintf(stderr, "no Vulkan runtime (these tests need a device): %s\n", err);
            return -1;
        }
        world.layout_count++;
    }
    return 0;
}

static int agree_teardown(void **state) {
    (void)state;
    for (size_t i = 0; i < PA_LAYOUT_COUNT; i++) {
        sky_runtime_free(world.layouts[i].rt);
        free(world.layouts[i].inputs);
        sky_layout_free(world.layouts[i].layout);
    }
    if (world.map_path[0]) unlink(world.map_path);
    return 0;
}

/* ------------------------------------------------------------------ programs */

static sky_program *agree_compile(const char *path) {
    sky_program *program = pa_compile_file(path);
    if (!program) fail_msg("%s: no program (the reason is above)", path);
    return program;
}

/* ---------------------------------------------------------------- comparing */

typedef struct agree_cpu {
    float *uniforms;
    float *rgb[2]; /* ping-pong: the CPU evaluator's own prev */
    uint8_t *bytes;
} agree_cpu;

/* Returns the number of channels off by more than the tolerance; describes the first. */
static int agree_max_diff; /* largest difference seen in the current test, for the log */
static size_t agree_diff_channels;

static size_t agree_compare(const uint8_t *device, const uint8_t *cpu, size_t channels, char *first,
                            size_t first_len) {
    size_t bad = 0;
    for (size_t i = 0; i < channels; i++) {
        int d = abs((int)device[i] - (int)cpu[i]);
        if (d > agree_max_diff) agree_max_diff = d;
        agree_diff_channels += d != 0;
        if (d <= AGREE_TOLERANCE) continue;
        if (bad++ == 0)
            snprintf(first, first_len, "LED %zu channel %zu: device %u, CPU %u", i / 3, i % 3,
                     device[i], cpu[i]);
    }
    return bad;
}

/* Renders one program on one layout for one parameter variant; false after printing. */
static bool agree_run(const char *file, const sky_program *program, agree_layout *l,
                      const pa_variant *variant, agree_cpu *cpu) {
    char err[1024] = "";
    if (sky_runtime_restart(l->rt, err, sizeof err) != SKY_OK) fail_msg("restart: %s", err);
    bool uses_prev = sky_program_uses_prev(program);
    size_t frames = pa_frame_count(program);
    size_t channels = (size_t)l->layout->led_count * 3;
    memset(cpu->rgb[1], 0, channels * sizeof(float));
    for (size_t f = 0; f < frames; f++) {
        sky_audio_values audio;
        sky_frame_inputs in = pa_frame(program, f, variant->params, &audio);
        double t = in.t;
        sky_runtime_set_audio(l->rt, &audio);
        sky_status st = sky_runtime_render(l->rt, t, in.dt, variant->params, err, sizeof err);
        if (st != SKY_OK) fail_msg("%s on %s: render: %s", file, l->spec, err);
        float *cur = cpu->rgb[f % 2];
        const float *prev = uses_prev ? cpu->rgb[(f + 1) % 2] : NULL;
        st = sky_program_eval(program, &l->view, l->inputs, &in, prev, cur, cpu->bytes);
        if (st != SKY_OK) fail_msg("%s: CPU evaluator: %s", file, sky_status_str(st));
        const uint8_t *device = sky_runtime_frame_bytes(l->rt, NULL);
        assert_non_null(device);
        char first[160] = "";
        size_t bad = agree_compare(device, cpu->bytes, channels, first, sizeof first);
        if (bad) {
            fprintf(stderr,
                    "%s: layout %s, %s, frame %zu (t = %g): %zu of %zu channels differ by more "
                    "than %d/255; first: %s\n",
                    file, l->spec, variant->name, f, t, bad, channels, AGREE_TOLERANCE, first);
            return false;
        }
    }
    return true;
}

/*
 * Every program is compared in both shader variants: the portable one
 * (LED inputs from the storage buffer) and, where the device can bind it, the
 * one reading LED positions through binding 6 (sky_emit_options.led_texels),
 * which sky_runtime_set_program picks on lavapipe.
 */
static void agree_one_variant(const char *file, bool texels);

static void test_agreement(void **state) {
    const char *file = *state;
#ifdef SKY_SANITIZE
    /* Under the sanitizers (10x slower), the variant the runtime runs; the plain build checks both.
     */
    agree_one_variant(file, sky_runtime_led_texels(world.layouts[0].rt));
#else
    for (int texels = 0; texels < 2; texels++) {
        if (texels && !sky_runtime_led_texels(world.layouts[0].rt)) break;
        agree_one_variant(file, texels);
    }
#endif
}

static void agree_one_variant(const char *file, bool texels) {
    sky_program *program = agree_compile(file);
    uint32_t *words = NULL;
    size_t word_count = 0;
    char *emit_error = NULL;
    sky_emit_options emit;
    sky_emit_options_init(&emit);
    emit.led_texels = texels;
    if (sky_program_emit_spirv(program, &emit, &words, &word_count, &emit_error) != SKY_OK)
        fail_msg("%s: SPIR-V: %s", file, emit_error ? emit_error : "?");
    pa_variant variants[PA_MAX_VARIANTS];
    size_t variant_count = pa_variants(program, variants);
    assert_true(variant_count > 0);
    bool ok = true;
    agree_max_diff = 0;
    agree_diff_channels = 0;
    size_t compared = 0;
    for (size_t i = 0; i < world.layout_count; i++) {
        agree_layout *l = &world.layouts[i];
        char err[1024] = "";
        if (sky_runtime_set_program_spirv(l->rt, program, words, word_count, err, sizeof err) !=
            SKY_OK)
            fail_msg("%s on %s: %s", file, l->spec, err);
        size_t channels = (size_t)l->layout->led_count * 3;
        size_t uniforms = sky_program_uniform_count(program);
        agree_cpu cpu = {
            .uniforms = calloc(uniforms ? uniforms : 1, sizeof(float)),
            .rgb = {calloc(channels, sizeof(float)), calloc(channels, sizeof(float))},
            .bytes = calloc(channels, 1),
        };
        assert_true(cpu.uniforms && cpu.rgb[0] && cpu.rgb[1] && cpu.bytes);
        for (size_t v = 0; v < variant_count; v++) {
            ok &= agree_run(file, program, l, &variants[v], &cpu);
            compared += channels * pa_frame_count(program);
        }
        free(cpu.uniforms);
        free(cpu.rgb[0]);
        free(cpu.rgb[1]);
        free(cpu.bytes);
    }
    const char *base = strrchr(file, '/');
    fprintf(stderr, "%s (%s): %zu channels compared, %zu differ, largest difference %d/255\n",
            base ? base + 1 : file, texels ? "texel positions" : "portable", compared,
            agree_diff_channels, agree_max_diff);
    pa_variants_free(variants, variant_count);
    sky_free(words);
    sky_free(emit_error);
    sky_program_free(program);
    if (!ok) fail_msg("%s: the device and the CPU evaluator disagree (details above)", file);
}

/* ----------------------------------------------------------- frame file */

/* Whether the chosen device reports VK_EXT_external_memory_host (after $SKY_DEVICE_PROFILE):
 * without it, zero-copy publishing is impossible and the copy path must be taken. */
static bool agree_device_imports(void) {
    sky_vk_device_info *devices = NULL;
    size_t count = 0;
    char err[512] = "";
    if (sky_vk_list_devices(NULL, &devices, &count, err, sizeof err) != SKY_OK)
        fail_msg("listing devices: %s", err);
    bool imports = false;
    for (size_t i = 0; i < count; i++)
        if (devices[i].chosen) imports = devices[i].has_external_memory_host;
    sky_free(devices);
    return imports;
}

/* A real pattern through a real frame file, both publishing paths, read back by a reader. */
static void run_frame_file(bool force_copy) {
    char path[256];
    snprintf(path, sizeof path, "%s/sky-test-agree-frame-%ld-%d",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid(), force_copy);
    const char *pattern = SKY_SOURCE_DIR "/examples/plasma.sky";
    if (access(pattern, R_OK) != 0)
        pattern = SKY_SOURCE_DIR "/tests/compiler/corpus/prev_trail.sky";
    sky_program *program = agree_compile(pattern);
    agree_layout *l = &world.layouts[0];
    sky_frame_writer *writer = NULL;
    char err[1024] = "";
    if (test_layout_writer(l->layout, path, &writer, err, sizeof err) != SKY_OK)
        fail_msg("frame writer: %s", err);
    sky_runtime_options o;
    sky_runtime_options_init(&o);
    o.layout = l->layout;
    o.writer = writer;
    o.force_copy = force_copy;
    sky_runtime *rt = NULL;
    if (sky_runtime_create(&o, &rt, err, sizeof err) != SKY_OK) fail_msg("runtime: %s", err);
    if (force_copy || !agree_device_imports())
        assert_int_equal(sky_runtime_output_path(rt), SKY_OUTPUT_COPY);
    fprintf(stderr, "frame file: %s path (%s)\n", sky_output_path_str(sky_runtime_output_path(rt)),
            sky_runtime_output_reason(rt));
    if (sky_runtime_set_program(rt, program, err, sizeof err) != SKY_OK)
        fail_msg("set_program: %s", err);
    sky_frame_reader *reader = NULL;
    if (sky_frame_reader_open(path, &reader, err, sizeof err) != SKY_OK)
        fail_msg("reader: %s", err);
    size_t channels = (size_t)l->layout->led_count * 3;
    uint8_t *read = malloc(channels), *bytes = malloc(channels);
    float *rgb[2] = {calloc(channels, sizeof(float)), calloc(channels, sizeof(float))};
    assert_true(read && bytes && rgb[0] && rgb[1]);
    bool uses_prev = sky_program_uses_prev(program);
    for (uint64_t f = 0; f < 8; f++) {
        double t = 0.3 * (double)f, dt = f ? 0.3 : 0;
        if (sky_runtime_render(rt, t, dt, NULL, err, sizeof err) != SKY_OK)
            fail_msg("render: %s", err);
        uint64_t frame = 0;
        if (sky_frame_reader_read(reader, read, channels, &frame, err, sizeof err) != SKY_OK)
            fail_msg("read: %s", err);
        assert_int_equal(frame, f + 1);
        sky_frame_inputs in = {.t = t, .dt = dt, .frame = f};
        assert_int_equal(sky_program_eval(program, &l->view, l->inputs, &in,
                                          uses_prev ? rgb[(f + 1) % 2] : NULL, rgb[f % 2], bytes),
                         SKY_OK);
        char first[160] = "";
        if (agree_compare(read, bytes, channels, first, sizeof first))
            fail_msg("frame %llu read from the frame file: %s", (unsigned long long)f + 1, first);
    }
    free(read);
    free(bytes);
    free(rgb[0]);
    free(rgb[1]);
    sky_frame_reader_free(reader);
    sky_runtime_free(rt);
    sky_frame_writer_free(writer);
    sky_program_free(program);
    unlink(path);
}

static void test_frame_file_zero_copy(void **state) {
    (void)state;
    run_frame_file(false);
}

static void test_frame_file_copy(void **state) {
    (void)state;
    run_frame_file(true);
}

/* ---------------------------------------------------------------------- main */

int main(void) {
    static char *files[PA_MAX_FILES];
    size_t examples = 0;
    size_t count = pa_pattern_files(SKY_SOURCE_DIR, files, &examples);
    const char *profile = getenv(SKY_DEVICE_PROFILE_ENV);
    fprintf(stderr, "agreement: %zu examples, %zu corpus patterns%s%s\n", examples,
            count - examples, profile && profile[0] ? ", device profile " : "",
            profile && profile[0] ? profile : "");
    struct CMUnitTest *tests = calloc(count + 3, sizeof *tests);
    if (!tests) return 1;
    size_t n = 0;
    /* Without patterns there is nothing to agree on: that is a failure, not a pass. */
    if (examples == 0) {
        fprintf(stderr, "no examples/*.sky found under %s\n", SKY_SOURCE_DIR);
        return 1;
    }
    for (size_t i = 0; i < count; i++) {
        const char *base = strrchr(files[i], '/');
        tests[n++] = (struct CMUnitTest){.name = base ? base + 1 : files[i],
                                         .test_func = test_agreement,
                                         .initial_state = files[i]};
    }
    tests[n++] =
        (struct CMUnitTest){.name = "frame_file_zero_copy", .test_func = test_frame_file_zero_copy};
    tests[n++] = (struct CMUnitTest){.name = "frame_file_copy", .test_func = test_frame_file_copy};
    int failed = _cmocka_run_group_tests("gpu_agreement", tests, n, agree_setup, agree_teardown);
    pa_pattern_files_free(files, count);
    free(tests);
    return failed + vk_validation_check("test_gpu_agreement");
}
