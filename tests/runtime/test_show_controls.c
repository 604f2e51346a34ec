/*
 * test_show_controls.c - the runtime's show controls on the real Vulkan device
 * (lavapipe here), checked against the CPU evaluator (sky_program_eval) and
 * against plain renders on the same device.
 *
 * Covers: the master dimmer (0.5 halves every byte within 1, leaves the
 * full-precision colours a `prev` pattern reads exactly as at 1; 0 is black),
 * freeze (sky_runtime_render_hold republishes the same bytes as a new frame
 * number and moves no pattern state), the crossfade (sky_runtime_render_mix:
 * at 0.5 the per-channel average of both patterns within the spec's 2/255, at
 * 0 and 1 exactly each pattern; each pattern its own `prev` and frame counter;
 * set_pipeline of the incoming pattern continues both), the warm-up of
 * sky_runtime_pipeline_build on another thread changing no published frame,
 * and argument errors. Each on the host path and, published into a real frame
 * file read back with the frame reader, on the zero-copy and copy paths.
 * Label "gpu": without a Vulkan device these tests fail, they never skip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "layout_writer.h"
#include "sky/frame.h"
#include "sky/layout.h"
#include "sky/runtime.h"
#include "vk_validation_check.h"
#include "sky/sky.h"

#define SHOW_TOLERANCE 2 /* bytes per channel: the spec's device-vs-CPU promise */

/* Two patterns that read prev and frame, two that read neither. */
static const char *const PREV_A =
    "out mix(prev, rgb(hash(index, frame), x * 0.5 + 0.5, fract(t)), 0.25)\n";
static const char *const PREV_B =
    "out max(prev * 0.9, rgb(0.1, hash(index, frame, 2), y * 0.5 + 0.5) * "
    "step(0.7, hash(index, frame)))\n";
static const char *const PLAIN_A = "out rgb(x * 0.5 + 0.5, 0.25 + 0.5 * sin(t), y * 0.5 + 0.5)\n";
static const char *const PLAIN_B = "out hsv(x + t * 0.1, 1, 0.8)\n";

typedef enum show_path { SHOW_HOST, SHOW_ZERO_COPY, SHOW_COPY } show_path;

/* ------------------------------------------------------------------ helpers */

static sky_program *compile_ok(const char *src) {
    sky_program *program = NULL;
    sky_status st = sky_compile("t.sky", src, strlen(src), NULL, &program, NULL);
    if (st != SKY_OK) fail_msg("compile %s: %s", src, sky_status_str(st));
    return program;
}

static sky_layout *make_layout(const char *spec) {
    sky_layout *layout = NULL;
    char err[256] = "";
    if (sky_layout_create(spec, &layout, err, sizeof err) != SKY_OK)
        fail_msg("layout %s: %s", spec, err);
    return layout;
}

/* A runtime on one output path, with the frame file and a reader where it publishes. */
typedef struct rig {
    sky_layout *layout;
    char path[256];
    sky_frame_writer *writer;
    sky_frame_reader *reader;
    sky_runtime *rt;
    uint8_t *read;       /* the reader's copy of the newest frame */
    uint64_t read_frame; /* ... and its number */
} rig;

static void rig_open(rig *r, const char *spec, show_path path) {
    memset(r, 0, sizeof *r);
    r->layout = make_layout(spec);
    char err[512] = "";
    if (path != SHOW_HOST) {
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(r->path, sizeof r->path, "%s/sky-test-show-%ld-XXXXXX", dir, (long)getpid());
        int fd = mkstemp(r->path);
        assert_true(fd >= 0);
        close(fd);
        unlink(r->path); /* the writer creates it beside and renames */
        if (test_layout_writer(r->layout, r->path, &r->writer, err, sizeof err) != SKY_OK)
            fail_msg("frame writer: %s", err);
        if (sky_frame_reader_open(r->path, &r->reader, err, sizeof err) != SKY_OK)
            fail_msg("reader: %s", err);
        r->read = malloc((size_t)r->layout->led_count * 3);
        assert_non_null(r->read);
    }
    sky_runtime_options o;
    sky_runtime_options_init(&o);
    o.layout = r->layout;
    o.writer = r->writer;
    o.force_copy = path == SHOW_COPY;
    if (sky_runtime_create(&o, &r->rt, err, sizeof err) != SKY_OK)
        fail_msg("sky_runtime_create: %s", err);
    if (path == SHOW_COPY) assert_int_equal(sky_runtime_output_path(r->rt), SKY_OUTPUT_COPY);
}

static void rig_close(rig *r) {
    sky_runtime_free(r->rt);
    sky_frame_reader_free(r->reader);
    sky_frame_writer_free(r->writer);
    if (r->path[0]) unlink(r->path);
    free(r->read);
    sky_layout_free(r->layout);
}

static size_t rig_bytes_len(const rig *r) {
    return (size_t)r->layout->led_count * 3;
}

/* The newest frame's bytes; where published, also read back through the frame file,
 * which must hold the same bytes under the runtime's frame count. */
static const uint8_t *rig_bytes(rig *r) {
    size_t len = 0;
    const uint8_t *bytes = sky_runtime_frame_bytes(r->rt, &len);
    assert_non_null(bytes);
    assert_int_equal(len, rig_bytes_len(r));
    if (r->reader) {
        if (r->read_frame != sky_runtime_frame_count(r->rt)) {
            char err[256] = "";
            sky_status st =
                sky_frame_reader_read(r->reader, r->read, len, &r->read_frame, err, sizeof err);
            if (st != SKY_OK) fail_msg("read: %s (%s)", err, sky_status_str(st));
            assert_int_equal(r->read_frame, sky_runtime_frame_count(r->rt));
        }
        assert_memory_equal(r->read, bytes, len);
    }
    return bytes;
}

static void set_program_ok(rig *r, const sky_program *program) {
    char err[512] = "";
    if (sky_runtime_set_program(r->rt, program, err, sizeof err) != SKY_OK)
        fail_msg("set_program: %s", err);
}

static void render_ok(rig *r, double t) {
    char err[512] = "";
    if (sky_runtime_render(r->rt, t, 1.0 / 60, NULL, err, sizeof err) != SKY_OK)
        fail_msg("render: %s", err);
}

static sky_runtime_pipeline *build_ok(rig *r, const sky_program *program) {
    sky_emit_options emit;
    sky_runtime_emit_options(r->rt, &emit);
    uint32_t *words = NULL;
    size_t count = 0;
    char *emit_error = NULL;
    if (sky_program_emit_spirv(program, &emit, &words, &count, &emit_error) != SKY_OK)
        fail_msg("emit: %s", emit_error ? emit_error : "?");
    sky_free(emit_error);
    sky_runtime_pipeline *pipeline = NULL;
    char err[512] = "";
    if (sky_runtime_pipeline_build(r->rt, program, words, count, &pipeline, err, sizeof err) !=
        SKY_OK)
        fail_msg("pipeline_build: %s", err);
    sky_free(words);
    return pipeline;
}

static void mix_ok(rig *r, double t, sky_runtime_pipeline *in, double t_in, double amount) {
    char err[512] = "";
    if (sky_runtime_render_mix(r->rt, t, 1.0 / 60, NULL, in, t_in, 1.0 / 60, NULL, amount, err,
                               sizeof err) != SKY_OK)
        fail_msg("render_mix: %s", err);
}

static void brightness_ok(rig *r, double level) {
    char err[256] = "";
    if (sky_runtime_set_brightness(r->rt, level, err, sizeof err) != SKY_OK)
        fail_msg("set_brightness: %s", err);
}

/* The CPU evaluator running one pattern with its own prev and frame counter. */
typedef struct cpu_pattern {
    const sky_program *program;
    sky_layout_view view;
    sky_led_input *inputs;
    float *prev, *rgb;
    uint8_t *bytes;
    uint64_t frame;
    bool started;
} cpu_pattern;

static void cpu_init(cpu_pattern *c, const sky_program *program, const sky_layout *layout) {
    memset(c, 0, sizeof *c);
    c->program = program;
    c->view = (sky_layout_view){layout->led_count, layout->strip_count, layout->strip_sizes,
                                layout->xy, layout->z};
    size_t n = layout->led_count;
    c->inputs = calloc(n, sizeof *c->inputs);
    c->prev = calloc(n * 3, sizeof(float));
    c->rgb = calloc(n * 3, sizeof(float));
    c->bytes = calloc(n * 3, 1);
    assert_true(c->inputs && c->prev && c->rgb && c->bytes);
    assert_int_equal(sky_led_inputs_build(&c->view, c->inputs), SKY_OK);
}

static void cpu_step(cpu_pattern *c, double t) {
    sky_frame_inputs in = {.t = t, .dt = 1.0 / 60, .frame = c->frame, .params = NULL};
    assert_int_equal(sky_program_eval(c->program, &c->view, c->inputs, &in,
                                      c->started ? c->prev : NULL, c->rgb, c->bytes),
                     SKY_OK);
    float *swap = c->prev;
    c->prev = c->rgb;
    c->rgb = swap;
    c->frame++;
    c->started = true;
}

static void cpu_free(cpu_pattern *c) {
    free(c->inputs);
    free(c->prev);
    free(c->rgb);
    free(c->bytes);
}

/* Every device byte within SHOW_TOLERANCE of round(255 * mix(a, b, amount)). */
static void assert_mix_of(const uint8_t *bytes, const cpu_pattern *a, const cpu_pattern *b,
                          double amount, size_t len, const char *what) {
    for (size_t i = 0; i < len; i++) {
        /* c->prev holds the colours of the frame just evaluated */
        double want = 255.0 * (a->prev[i] * (1 - amount) + (b ? b->prev[i] * amount : 0));
        if (fabs(want - bytes[i]) > SHOW_TOLERANCE)
            fail_msg("%s: LED %zu channel %zu is %u, the CPU mix %.2f", what, i / 3, i % 3,
                     bytes[i], want);
    }
}

static const char *path_name(show_path path) {
    return path == SHOW_HOST ? "host" : path == SHOW_ZERO_COPY ? "zero-copy" : "copy";
}

/* ---------------------------------------------------------------- brightness */

/* 0.5 halves every byte (within 1) and leaves prev exactly as at 1; 0 is black; back at 1
 * the pattern is exactly where the undimmed one is. */
static void run_brightness(show_path path) {
    rig dim, full;
    rig_open(&dim, "disc:12x10", path);
    rig_open(&full, "disc:12x10", SHOW_HOST);
    sky_program *program = compile_ok(PREV_A);
    set_program_ok(&dim, program);
    set_program_ok(&full, program);
    size_t len = rig_bytes_len(&dim);
    brightness_ok(&dim, 0.5);
    for (int f = 0; f < 8; f++) {
        if (f == 4) brightness_ok(&dim, 0.0);
        if (f == 6) brightness_ok(&dim, 1.0);
        render_ok(&dim, f / 60.0);
        render_ok(&full, f / 60.0);
        const uint8_t *d = rig_bytes(&dim);
        const uint8_t *u = rig_bytes(&full);
        for (size_t i = 0; i < len; i++) {
            int want = f < 4 ? u[i] / 2 : f < 6 ? 0 : u[i];
            if (abs((int)d[i] - want) > (f < 4 ? 1 : 0))
                fail_msg("%s frame %d: byte %zu is %u, expected %d (undimmed %u)", path_name(path),
                         f, i, d[i], want, u[i]);
        }
        size_t n1 = 0, n2 = 0;
        const float *fd = sky_runtime_frame_floats(dim.rt, &n1);
        const float *fu = sky_runtime_frame_floats(full.rt, &n2);
        assert_non_null(fd);
        assert_non_null(fu);
        assert_int_equal(n1, n2);
        assert_memory_equal(fd, fu, n1 * sizeof(float)); /* prev undimmed, the same */
    }
    /* Out of range levels clamp. */
    brightness_ok(&dim, 7.0);
    render_ok(&dim, 8 / 60.0);
    render_ok(&full, 8 / 60.0);
    assert_memory_equal(rig_bytes(&dim), rig_bytes(&full), len);
    brightness_ok(&dim, -3.0);
    render_ok(&dim, 9 / 60.0);
    for (size_t i = 0; i < len; i++) assert_int_equal(rig_bytes(&dim)[i], 0);
    sky_program_free(program);
    rig_close(&dim);
    rig_close(&full);
}

static void test_brightness_host(void **state) {
    (void)state;
    run_brightness(SHOW_HOST);
}
static void test_brightness_zero_copy(void **state) {
    (void)state;
    run_brightness(SHOW_ZERO_COPY);
}
static void test_brightness_copy(void **state) {
    (void)state;
    run_brightness(SHOW_COPY);
}

/* Dimmed frames submitted two at a time (both use the one layer buffer): the newest
 * frame is still the undimmed one halved, and prev is the same. */
static void test_brightness_pipelined(void **state) {
    (void)state;
    rig dim, full;
    rig_open(&dim, "disc:12x10", SHOW_HOST);
    rig_open(&full, "disc:12x10", SHOW_HOST);
    sky_program *program = compile_ok(PREV_A);
    set_program_ok(&dim, program);
    set_program_ok(&full, program);
    brightness_ok(&dim, 0.5);
    char err[256] = "";
    for (int f = 0; f < 20; f++) {
        assert_int_equal(sky_runtime_submit(dim.rt, f / 60.0, 1 / 60.0, NULL, err, sizeof err),
                         SKY_OK);
        render_ok(&full, f / 60.0);
    }
    assert_int_equal(sky_runtime_finish(dim.rt, err, sizeof err), SKY_OK);
    const uint8_t *d = rig_bytes(&dim), *u = rig_bytes(&full);
    for (size_t i = 0; i < rig_bytes_len(&dim); i++)
        if (abs((int)d[i] - u[i] / 2) > 1) fail_msg("byte %zu is %u, undimmed %u", i, d[i], u[i]);
    size_t n = 0;
    assert_memory_equal(sky_runtime_frame_floats(dim.rt, &n),
                        sky_runtime_frame_floats(full.rt, NULL), n * sizeof(float));
    sky_program_free(program);
    rig_close(&dim);
    rig_close(&full);
}

/* --------------------------------------------------------------------- hold */

/* A hold republishes the same bytes with the next frame number and moves nothing: the frames
 * after it are exactly those of a runtime that never held. */
static void run_hold(show_path path) {
    rig held, ref;
    rig_open(&held, "grid:9x7", path);
    rig_open(&ref, "grid:9x7", SHOW_HOST);
    sky_program *program = compile_ok(PREV_B);
    set_program_ok(&held, program);
    set_program_ok(&ref, program);
    size_t len = rig_bytes_len(&held);
    uint8_t *before = malloc(len);
    assert_non_null(before);
    char err[256] = "";
    assert_int_equal(sky_runtime_render_hold(held.rt, err, sizeof err), SKY_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "no frame"));
    for (int f = 0; f < 3; f++) {
        render_ok(&held, f / 60.0);
        render_ok(&ref, f / 60.0);
    }
    memcpy(before, rig_bytes(&held), len);
    uint64_t count = sky_runtime_frame_count(held.rt);
    for (int h = 1; h <= 3; h++) {
        assert_int_equal(sky_runtime_render_hold(held.rt, err, sizeof err), SKY_OK);
        assert_int_equal(sky_runtime_frame_count(held.rt), count + (uint64_t)h);
        assert_memory_equal(rig_bytes(&held), before, len);
    }
    /* Dimmed since: the held picture is dimmed; back at 1 it is the same again. */
    brightness_ok(&held, 0.5);
    assert_int_equal(sky_runtime_render_hold(held.rt, err, sizeof err), SKY_OK);
    const uint8_t *dimmed = rig_bytes(&held);
    for (size_t i = 0; i < len; i++)
        if (abs((int)dimmed[i] - before[i] / 2) > 1)
            fail_msg("%s: held byte %zu dimmed to %u from %u", path_name(path), i, dimmed[i],
                     before[i]);
    brightness_ok(&held, 1.0);
    assert_int_equal(sky_runtime_render_hold(held.rt, err, sizeof err), SKY_OK);
    assert_memory_equal(rig_bytes(&held), before, len);
    /* The pattern goes on exactly where it was. */
    for (int f = 3; f < 6; f++) {
        render_ok(&held, f / 60.0);
        render_ok(&ref, f / 60.0);
        assert_memory_equal(rig_bytes(&held), rig_bytes(&ref), len);
    }
    /* A hold of a dimmed frame shows it undimmed once the brightness is back. */
    brightness_ok(&held, 0.5);
    render_ok(&held, 6 / 60.0);
    render_ok(&ref, 6 / 60.0);
    brightness_ok(&held, 1.0);
    assert_int_equal(sky_runtime_render_hold(held.rt, err, sizeof err), SKY_OK);
    assert_memory_equal(rig_bytes(&held), rig_bytes(&ref), len);
    free(before);
    sky_program_free(program);
    rig_close(&held);
    rig_close(&ref);
}

static void test_hold_host(void **state) {
    (void)state;
    run_hold(SHOW_HOST);
}
static void test_hold_zero_copy(void **state) {
    (void)state;
    run_hold(SHOW_ZERO_COPY);
}
static void test_hold_copy(void **state) {
    (void)state;
    run_hold(SHOW_COPY);
}

/* ---------------------------------------------------------------------- mix */

/* Plain patterns: 0.5 is the CPU average within 2/255; 0 and 1 are exactly each pattern as
 * the device renders it alone. */
static void run_mix_plain(show_path path) {
    rig r, alone;
    rig_open(&r, "disc:12x10", path);
    rig_open(&alone, "disc:12x10", SHOW_HOST);
    sky_program *a = compile_ok(PLAIN_A), *b = compile_ok(PLAIN_B);
    set_program_ok(&r, a);
    sky_runtime_pipeline *in = build_ok(&r, b);
    cpu_pattern ca, cb;
    cpu_init(&ca, a, r.layout);
    cpu_init(&cb, b, r.layout);
    size_t len = rig_bytes_len(&r);
    const double t = 0.7, t_in = 0.2;
    mix_ok(&r, t, in, t_in, 0.5);
    cpu_step(&ca, t);
    cpu_step(&cb, t_in);
    assert_mix_of(rig_bytes(&r), &ca, &cb, 0.5, len, "mix 0.5");
    /* Both ends, against each pattern rendered alone on the device. */
    mix_ok(&r, t, in, t_in, 0.0);
    set_program_ok(&alone, a);
    render_ok(&alone, t);
    assert_memory_equal(rig_bytes(&r), rig_bytes(&alone), len);
    mix_ok(&r, t, in, t_in, 1.0);
    set_program_ok(&alone, b);
    render_ok(&alone, t_in);
    assert_memory_equal(rig_bytes(&r), rig_bytes(&alone), len);
    /* Amounts out of range clamp; brightness applies to the blend. */
    mix_ok(&r, t, in, t_in, 5.0);
    assert_memory_equal(rig_bytes(&r), rig_bytes(&alone), len);
    brightness_ok(&r, 0.5);
    mix_ok(&r, t, in, t_in, 0.5);
    for (size_t i = 0; i < len; i++) {
        double want = 0.5 * 255.0 * (ca.prev[i] * 0.5 + cb.prev[i] * 0.5);
        if (fabs(want - rig_bytes(&r)[i]) > SHOW_TOLERANCE)
            fail_msg("dimmed mix: byte %zu is %u, CPU %.2f", i, rig_bytes(&r)[i], want);
    }
    sky_runtime_pipeline_free(r.rt, in);
    cpu_free(&ca);
    cpu_free(&cb);
    sky_program_free(a);
    sky_program_free(b);
    rig_close(&r);
    rig_close(&alone);
}

static void test_mix_plain_host(void **state) {
    (void)state;
    run_mix_plain(SHOW_HOST);
}
static void test_mix_plain_zero_copy(void **state) {
    (void)state;
    run_mix_plain(SHOW_ZERO_COPY);
}
static void test_mix_plain_copy(void **state) {
    (void)state;
    run_mix_plain(SHOW_COPY);
}

/*
 * Two prev patterns: each keeps its own prev and frame counter through a fade
 * (the incoming one from black and frame 0), a hold and a plain frame in the
 * middle do not disturb either, and set_pipeline(incoming) continues it.
 */
static void run_mix_prev(show_path path) {
    rig r;
    rig_open(&r, "disc:12x10", path);
    sky_program *a = compile_ok(PREV_A), *b = compile_ok(PREV_B);
    set_program_ok(&r, a);
    cpu_pattern ca, cb;
    cpu_init(&ca, a, r.layout);
    cpu_init(&cb, b, r.layout);
    size_t len = rig_bytes_len(&r);
    int f = 0;
    for (; f < 3; f++) { /* A alone for a while */
        render_ok(&r, f / 60.0);
        cpu_step(&ca, f / 60.0);
        assert_mix_of(rig_bytes(&r), &ca, NULL, 0.0, len, "A alone");
    }
    sky_runtime_pipeline *in = build_ok(&r, b);
    char err[256] = "";
    for (int k = 0; k < 6; k++, f++) {
        double amount = (k + 1) / 7.0;
        if (k == 3) { /* a hold and a plain frame of A in the middle of the fade */
            assert_int_equal(sky_runtime_render_hold(r.rt, err, sizeof err), SKY_OK);
            render_ok(&r, f / 60.0);
            cpu_step(&ca, f / 60.0);
            f++;
        }
        mix_ok(&r, f / 60.0, in, k / 60.0, amount);
        cpu_step(&ca, f / 60.0);
        cpu_step(&cb, k / 60.0);
        char what[64];
        snprintf(what, sizeof what, "%s fade frame %d", path_name(path), k);
        assert_mix_of(rig_bytes(&r), &ca, &cb, amount, len, what);
    }
    /* The fade ends: B continues with its prev and its frame counter (6 next). */
    assert_int_equal(sky_runtime_set_pipeline(r.rt, in, err, sizeof err), SKY_OK);
    for (int k = 6; k < 9; k++) {
        render_ok(&r, k / 60.0);
        cpu_step(&cb, k / 60.0);
        assert_mix_of(rig_bytes(&r), &cb, NULL, 0.0, len, "B after the fade");
        size_t n = 0;
        const float *floats = sky_runtime_frame_floats(r.rt, &n);
        assert_non_null(floats);
        for (size_t i = 0; i < n; i++)
            if (fabsf(floats[i] - cb.prev[i]) > 2.0f / 255)
                fail_msg("B's prev after the fade: %zu is %g, CPU %g", i, floats[i], cb.prev[i]);
    }
    /* And a second fade back to A (a new pipeline): A starts from black and frame 0. */
    sky_runtime_pipeline *back = build_ok(&r, a);
    cpu_free(&ca);
    cpu_init(&ca, a, r.layout);
    for (int k = 0; k < 3; k++) {
        mix_ok(&r, (9 + k) / 60.0, back, k / 60.0, 0.5);
        cpu_step(&cb, (9 + k) / 60.0);
        cpu_step(&ca, k / 60.0);
        assert_mix_of(rig_bytes(&r), &cb, &ca, 0.5, len, "fade back");
    }
    sky_runtime_pipeline_free(r.rt, back);
    cpu_free(&ca);
    cpu_free(&cb);
    sky_program_free(a);
    sky_program_free(b);
    rig_close(&r);
}

static void test_mix_prev_host(void **state) {
    (void)state;
    run_mix_prev(SHOW_HOST);
}
static void test_mix_prev_zero_copy(void **state) {
    (void)state;
    run_mix_prev(SHOW_ZERO_COPY);
}
static void test_mix_prev_copy(void **state) {
    (void)state;
    run_mix_prev(SHOW_COPY);
}

/* ------------------------------------------------------------------ warm-up */

typedef struct builder {
    sky_runtime *rt;
    const sky_program *program;
    uint32_t *words;
    size_t word_count;
    int builds;
    sky_status status;
    char error[512];
    atomic_int done;
} builder;

static void *build_many(void *arg) {
    builder *b = arg;
    b->status = SKY_OK;
    for (int i = 0; i < b->builds && b->status == SKY_OK; i++) {
        sky_runtime_pipeline *p = NULL;
        b->status = sky_runtime_pipeline_build(b->rt, b->program, b->words, b->word_count, &p,
                                               b->error, sizeof b->error);
        sky_runtime_pipeline_free(b->rt, p);
        atomic_fetch_add(&b->done, 1);
    }
    atomic_fetch_add(&b->done, 1000); /* finished */
    return NULL;
}

/*
 * Pipelines built (and warmed: dispatched into scratch) on another thread while
 * this one renders a prev pattern into a frame file: every frame stays exactly
 * what the CPU evaluator gives, and none is lost. Also exercises the queue lock
 * (two threads submitting) under the sanitizers.
 */
static void test_warm_up_changes_no_frame(void **state) {
    (void)state;
    rig r;
    rig_open(&r, "disc:12x10", SHOW_ZERO_COPY);
    sky_program *a = compile_ok(PREV_A);
    /* A shader of its own, so each build compiles anew, writing as much as A does. */
    sky_program *other = compile_ok("out rgb(1, 1, 1) - prev * 0.5\n");
    set_program_ok(&r, a);
    cpu_pattern ca;
    cpu_init(&ca, a, r.layout);
    builder b = {.rt = r.rt, .program = other, .builds = 4};
    atomic_init(&b.done, 0);
    sky_emit_options emit;
    sky_runtime_emit_options(r.rt, &emit);
    char *emit_error = NULL;
    assert_int_equal(
        sky_program_emit_spirv(other, &emit, &b.words, &b.word_count, &emit_error), SKY_OK);
    sky_free(emit_error);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, build_many, &b), 0);
    int f = 0;
    /* Render until every build is done, and at least a few frames during the first. */
    while (atomic_load(&b.done) < 1000 || f < 5) {
        render_ok(&r, f / 60.0);
        cpu_step(&ca, f / 60.0);
        assert_mix_of(rig_bytes(&r), &ca, NULL, 0.0, rig_bytes_len(&r), "during builds");
        f++;
    }
    pthread_join(thread, NULL);
    if (b.status != SKY_OK) fail_msg("pipeline_build: %s", b.error);
    assert_int_equal(sky_frame_reader_dropped(r.reader), 0);
    sky_free(b.words);
    cpu_free(&ca);
    sky_program_free(a);
    sky_program_free(other);
    rig_close(&r);
}

/*
 * A warm-up whose compile takes longer than the runtime's wait limit must not
 * end the show: lavapipe has one queue, so the show's frames queued behind the
 * warm-up wait for the compile too. Here the limit is 100 ms and the new
 * shader (fbm, a constant of its own so no shader cache has it) takes about
 * 0.3 s to compile on this machine; before the show's frames were given the
 * warm-up's allowance, a frame rendered meanwhile failed with "the device did
 * not finish frame N within 100 ms".
 */
static void test_warm_up_does_not_time_out_the_show(void **state) {
    (void)state;
    sky_layout *layout = make_layout("grid:16x16");
    sky_runtime_options o;
    sky_runtime_options_init(&o);
    o.layout = layout;
    o.wait_timeout_ms = 100;
    sky_runtime *rt = NULL;
    char err[512] = "";
    assert_int_equal(sky_runtime_create(&o, &rt, err, sizeof err), SKY_OK);
    sky_program *a = compile_ok(PLAIN_A);
    assert_int_equal(sky_runtime_set_program(rt, a, err, sizeof err), SKY_OK);
    assert_int_equal(sky_runtime_render(rt, 0, 0, NULL, err, sizeof err), SKY_OK);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long unique = ((long)getpid() * 7919L + ts.tv_nsec / 1000) % 100000L;
    char src[512];
    snprintf(src, sizeof src,
             "let k = %.9f\n"
             "out vec3(fbm(vec3(x * 3, y * 3 * k, t), 2), fbm(vec2(x, y) * 5 * k, 2),\n"
             "         fbm(vec3(y, x * k, t * 2), 2))\n",
             1.0 + (double)unique * 0x1p-20);
    sky_program *heavy = compile_ok(src);
    builder b = {.rt = rt, .program = heavy, .builds = 1};
    atomic_init(&b.done, 0);
    sky_emit_options emit;
    sky_runtime_emit_options(rt, &emit);
    char *emit_error = NULL;
    assert_int_equal(
        sky_program_emit_spirv(heavy, &emit, &b.words, &b.word_count, &emit_error), SKY_OK);
    sky_free(emit_error);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, build_many, &b), 0);
    int frames = 0;
    while (atomic_load(&b.done) < 1000) {
        sky_status st = sky_runtime_render(rt, frames / 60.0, 1 / 60.0, NULL, err, sizeof err);
        if (st != SKY_OK) {
            pthread_join(thread, NULL);
            fail_msg("frame %d during the warm-up: %s (%s)", frames, err, sky_status_str(st));
        }
        frames++;
    }
    pthread_join(thread, NULL);
    if (b.status != SKY_OK) fail_msg("pipeline_build: %s", b.error);
    assert_int_equal(sky_runtime_render(rt, 1, 0, NULL, err, sizeof err), SKY_OK);
    sky_free(b.words);
    sky_runtime_free(rt);
    sky_program_free(a);
    sky_program_free(heavy);
    sky_layout_free(layout);
}

/* ---------------------------------------------------------- argument errors */

static void test_argument_errors(void **state) {
    (void)state;
    rig r, other;
    rig_open(&r, "grid:4x4", SHOW_HOST);
    rig_open(&other, "grid:4x4", SHOW_HOST);
    sky_program *a = compile_ok(PLAIN_A);
    char err[256] = "";
    assert_int_equal(sky_runtime_set_brightness(NULL, 0.5, err, sizeof err), SKY_ERR_INVALID_ARG);
    assert_int_equal(sky_runtime_set_brightness(r.rt, NAN, err, sizeof err), SKY_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "NaN"));
    assert_int_equal(sky_runtime_render_hold(NULL, err, sizeof err), SKY_ERR_INVALID_ARG);
    sky_runtime_pipeline *mine = build_ok(&r, a);
    sky_runtime_pipeline *theirs = build_ok(&other, a);
    /* No current pattern yet. */
    assert_int_equal(
        sky_runtime_render_mix(r.rt, 0, 0, NULL, mine, 0, 0, NULL, 0.5, err, sizeof err),
        SKY_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "no pattern"));
    set_program_ok(&r, a);
    assert_int_equal(
        sky_runtime_render_mix(NULL, 0, 0, NULL, mine, 0, 0, NULL, 0.5, err, sizeof err),
        SKY_ERR_INVALID_ARG);
    assert_int_equal(
        sky_runtime_render_mix(r.rt, 0, 0, NULL, NULL, 0, 0, NULL, 0.5, err, sizeof err),
        SKY_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "incoming is NULL"));
    assert_int_equal(
        sky_runtime_render_mix(r.rt, 0, 0, NULL, mine, 0, 0, NULL, NAN, err, sizeof err),
        SKY_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "NaN"));
    assert_int_equal(
        sky_runtime_render_mix(r.rt, 0, 0, NULL, theirs, 0, 0, NULL, 0.5, err, sizeof err),
        SKY_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "another runtime"));
    /* set_pipeline takes even a pipeline it refuses (no leak under the sanitizers). */
    assert_int_equal(sky_runtime_set_pipeline(r.rt, theirs, err, sizeof err), SKY_ERR_INVALID_ARG);
    /* Nothing broke: the runtime still renders and mixes. */
    render_ok(&r, 0);
    mix_ok(&r, 0, mine, 0, 1.0);
    sky_runtime_pipeline_free(r.rt, mine);
    sky_program_free(a);
    rig_close(&r);
    rig_close(&other);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brightness_host),
        cmocka_unit_test(test_brightness_zero_copy),
        cmocka_unit_test(test_brightness_copy),
        cmocka_unit_test(test_brightness_pipelined),
        cmocka_unit_test(test_hold_host),
        cmocka_unit_test(test_hold_zero_copy),
        cmocka_unit_test(test_hold_copy),
        cmocka_unit_test(test_mix_plain_host),
        cmocka_unit_test(test_mix_plain_zero_copy),
        cmocka_unit_test(test_mix_plain_copy),
        cmocka_unit_test(test_mix_prev_host),
        cmocka_unit_test(test_mix_prev_zero_copy),
        cmocka_unit_test(test_mix_prev_copy),
        cmocka_unit_test(test_warm_up_changes_no_frame),
        cmocka_unit_test(test_warm_up_does_not_time_out_the_show),
        cmocka_unit_test(test_argument_errors),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    return failed + vk_validation_check("test_show_controls");
}
