/*
 * test_cpu_backend.c - the CPU backend (sky_program_emit_c compiled by cc,
 * run by the worker pool) against the CPU reference evaluator.
 *
 * Every .sky file in examples/ and tests/compiler/corpus/ (found at run time)
 * on four layouts (disc, grid, strip, an irregular map), with default params
 * and, for ranged ones, all at min and all at max; patterns without prev at
 * several times far apart, patterns with prev over 32 frames, each side fed
 * its own prev. Every channel within 2/255, and prev itself within 2/255.
 * Then the language's defined edge cases (NaN and infinity, pow of negatives
 * and zero, round of .5, min/max/clamp/sign/step with NaN) byte for byte,
 * the object cache (a second build loads, a corrupt object is rebuilt) and
 * the error when no C compiler exists; and the sky_runtime API on the CPU
 * backend (device "cpu"): frames, prev, brightness, holds, crossfades and
 * pipeline swaps against the evaluator and the post formula, publishing
 * into a real frame file. Needs `cc` (gcc), never a GPU.
 * The cache lives in a fresh folder per run ($XDG_CACHE_HOME).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pattern_agreement.h"
#include "sky/frame.h"
#include "sky/layout.h"
#include "sky/runtime.h"
#include "sky/sky.h"

#define CPU_TOLERANCE 2 /* bytes, per channel */
#define CPU_THREADS   3 /* more than this machine's cores: the split is exercised */

typedef struct cpu_layout {
    const char *spec;
    sky_layout *layout;
    sky_layout_view view;
    sky_led_input *inputs;
    float *columns;
    const float *column_ptrs[SKY_CPU_INPUT_COUNT];
    uint32_t *strip_first, *strip_size;
} cpu_layout;

static struct {
    char cache[256];
    char map_path[256];
    cpu_layout layouts[PA_LAYOUT_COUNT];
    sky_cpu_pool *pool;
} world;

static void cpu_layout_init(cpu_layout *l, const char *spec) {
    char err[512] = "";
    l->spec = spec;
    if (sky_layout_create(spec, &l->layout, err, sizeof err) != SKY_OK)
        fail_msg("layout %s: %s", spec, err);
    uint32_t n = l->layout->led_count, s = l->layout->strip_count;
    l->view = (sky_layout_view){n, s, l->layout->strip_sizes, l->layout->xy, l->layout->z};
    l->inputs = calloc(n, sizeof *l->inputs);
    l->columns = calloc((size_t)n * SKY_CPU_INPUT_COUNT, sizeof *l->columns);
    l->strip_first = calloc(s + 1, sizeof *l->strip_first);
    l->strip_size = calloc(s + 1, sizeof *l->strip_size);
    assert_true(l->inputs && l->columns && l->strip_first && l->strip_size);
    assert_int_equal(sky_led_inputs_build(&l->view, l->inputs), SKY_OK);
    sky_cpu_columns_build(l->inputs, n, l->columns);
    for (int k = 0; k < SKY_CPU_INPUT_COUNT; k++) l->column_ptrs[k] = l->columns + (size_t)k * n;
    for (uint32_t i = 0, at = 0; i < s; i++) {
        l->strip_first[i] = at;
        l->strip_size[i] = l->layout->strip_sizes[i];
        at += l->strip_size[i];
    }
}

static int cpu_setup(void **state) {
    (void)state;
    snprintf(world.cache, sizeof world.cache, "/tmp/sky-cpu-test-XXXXXX");
    if (!mkdtemp(world.cache)) return -1;
    setenv("XDG_CACHE_HOME", world.cache, 1);
    unsetenv("SKY_CC");
    const char *specs[PA_LAYOUT_COUNT];
    if (!pa_layout_specs("test-cpu", world.map_path, sizeof world.map_path, specs)) return -1;
    for (int i = 0; i < PA_LAYOUT_COUNT; i++) cpu_layout_init(&world.layouts[i], specs[i]);
    char err[256] = "";
    if (sky_cpu_pool_create(CPU_THREADS, &world.pool, err, sizeof err) != SKY_OK) return -1;
    return 0;
}

static int cpu_teardown(void **state) {
    (void)state;
    sky_cpu_pool_free(world.pool);
    for (int i = 0; i < PA_LAYOUT_COUNT; i++) {
        cpu_layout *l = &world.layouts[i];
        sky_layout_free(l->layout);
        free(l->inputs);
        free(l->columns);
        free(l->strip_first);
        free(l->strip_size);
    }
    if (world.map_path[0]) unlink(world.map_path);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", world.cache);
    return system(cmd) == 0 ? 0 : -1;
}

static sky_program *cpu_compile_source(const char *name, const char *src, size_t len) {
    sky_program *program = NULL;
    sky_diagnostics *diags = NULL;
    sky_status st = sky_compile(name, src, len, NULL, &program, &diags);
    if (st != SKY_OK) {
        char *text = NULL;
        sky_diagnostics_render(diags, false, &text);
        fprintf(stderr, "%s", text ? text : "");
        sky_free(text);
        sky_diagnostics_free(diags);
        fail_msg("%s does not compile (%s)", name, sky_status_str(st));
    }
    sky_diagnostics_free(diags);
    return program;
}

static sky_program *cpu_compile_file(const char *path) {
    sky_program *program = pa_compile_file(path);
    if (!program) fail_msg("%s: no program (the reason is above)", path);
    return program;
}

static sky_cpu_kernel *cpu_build(const sky_program *program, bool *cached) {
    sky_cpu_kernel *kernel = NULL;
    char err[2048] = "";
    sky_status st = sky_cpu_kernel_build(program, &kernel, cached, err, sizeof err);
    if (st != SKY_OK) fail_msg("kernel build: %s (%s)", err, sky_status_str(st));
    return kernel;
}

/* One frame through the kernel and through the evaluator; the number of channels off. */
typedef struct cpu_frame_bufs {
    float *uniforms, *kprev, *kcur, *eprev, *ecur;
    uint8_t *kbytes, *ebytes;
} cpu_frame_bufs;

static size_t cpu_compare_frame(const sky_program *program, const sky_cpu_kernel *kernel,
                                cpu_layout *l, const sky_frame_inputs *in, cpu_frame_bufs *b,
                                bool prev, int *max_diff, char *first, size_t first_len) {
    size_t channels = (size_t)l->layout->led_count * 3;
    assert_int_equal(sky_program_eval_frame(program, &l->view, in, b->uniforms), SKY_OK);
    sky_cpu_args args = {.columns = l->column_ptrs,
                         .uniforms = b->uniforms,
                         .prev = b->kprev,
                         .cur = b->kcur,
                         .bytes = b->kbytes,
                         .strip_first = l->strip_first,
                         .strip_size = l->strip_size,
                         .strip_count = l->layout->strip_count,
                         .led_count = l->layout->led_count};
    sky_cpu_pool_run(world.pool, kernel, &args);
    assert_int_equal(sky_program_eval_leds(program, &l->view, l->inputs, b->uniforms,
                                           prev ? b->eprev : NULL, b->ecur, b->ebytes),
                     SKY_OK);
    size_t bad = 0;
    for (size_t i = 0; i < channels; i++) {
        int d = abs((int)b->kbytes[i] - (int)b->ebytes[i]);
        if (prev) {
            int dp = (int)lrintf(fabsf(b->kcur[i] - b->ecur[i]) * 255.0f);
            if (dp > d) d = dp;
        }
        if (d > *max_diff) *max_diff = d;
        if (d <= CPU_TOLERANCE) continue;
        if (bad++ == 0)
            snprintf(first, first_len, "LED %zu channel %zu: kernel %u, evaluator %u", i / 3, i % 3,
                     b->kbytes[i], b->ebytes[i]);
    }
    return bad;
}

static void cpu_bufs_alloc(cpu_frame_bufs *b, const sky_program *program, size_t channels) {
    b->uniforms = calloc(sky_program_uniform_count(program) + 1, sizeof(float));
    b->kprev = calloc(channels, sizeof(float));
    b->kcur = calloc(channels, sizeof(float));
    b->eprev = calloc(channels, sizeof(float));
    b->ecur = calloc(channels, sizeof(float));
    b->kbytes = calloc(channels, 1);
    b->ebytes = calloc(channels, 1);
    assert_true(b->uniforms && b->kprev && b->kcur && b->eprev && b->ecur && b->kbytes &&
                b->ebytes);
}

static void cpu_bufs_free(cpu_frame_bufs *b) {
    free(b->uniforms);
    free(b->kprev);
    free(b->kcur);
    free(b->eprev);
    free(b->ecur);
    free(b->kbytes);
    free(b->ebytes);
}

static void test_agreement(void **state) {
    const char *file = *state;
    sky_program *program = cpu_compile_file(file);
    sky_cpu_kernel *kernel = cpu_build(program, NULL);
    bool uses_prev = sky_program_uses_prev(program);
    pa_variant variants[PA_MAX_VARIANTS];
    size_t variant_count = pa_variants(program, variants);
    assert_true(variant_count > 0);
    int max_diff = 0;
    bool failed = false;
    for (size_t v = 0; v < variant_count && !failed; v++) {
        for (int li = 0; li < PA_LAYOUT_COUNT && !failed; li++) {
            cpu_layout *l = &world.layouts[li];
            size_t channels = (size_t)l->layout->led_count * 3;
            cpu_frame_bufs b;
            cpu_bufs_alloc(&b, program, channels);
            size_t frames = pa_frame_count(program);
            for (size_t f = 0; f < frames && !failed; f++) {
                sky_audio_values audio;
                sky_frame_inputs in = pa_frame(program, f, variants[v].params, &audio);
                double t = in.t;
                char first[200] = "";
                size_t bad = cpu_compare_frame(program, kernel, l, &in, &b, uses_prev, &max_diff,
                                               first, sizeof first);
                if (bad) {
                    fprintf(stderr,
                            "%s: layout %s, %s, frame %zu (t = %g): %zu channels "
                            "differ by more than %d/255; first: %s\n",
                            file, l->spec, variants[v].name, f, t, bad, CPU_TOLERANCE, first);
                    failed = true;
                }
                float *swap = b.kprev;
                b.kprev = b.kcur;
                b.kcur = swap;
                swap = b.eprev;
                b.eprev = b.ecur;
                b.ecur = swap;
            }
            cpu_bufs_free(&b);
        }
    }
    pa_variants_free(variants, variant_count);
    fprintf(stderr, "%s: largest difference %d/255\n", file, max_diff);
    sky_cpu_kernel_free(kernel);
    sky_program_free(program);
    assert_false(failed);
}

/*
 * The edge cases docs/language.md defines, on values made per LED so that
 * nothing folds: k = x - x is 0 on every LED (as a run-time value), so
 * 1 / k is +inf and k / k NaN. Each channel must equal the evaluator's byte.
 */
static const char *const cpu_edge_sources[] = {
    "let k = x - x\nout rgb(k / k, 1 / k, -1 / k)\n", /* NaN, inf */
    "let k = x - x\nout rgb(min(k / k, 0.7), max(k / k, 0.3), clamp(k / k, 0.2, 0.8))\n",
    "let k = x - x\nout rgb(min(0.7, k / k), max(0.3, k / k), sign(k / k) + 0.5)\n",
    "let k = x - x\nout rgb(step(k / k, 0.5), step(0.5, k / k), sign(k) + 0.25)\n",
    "let k = x - x\nout rgb(pow(k - 2, 2) / 4, pow(k - 2, 3) / -8, pow(k - 2, 0.5) + 0.5)\n",
    "let k = x - x\nout rgb(pow(k, 0), pow(k, -1), pow(k, 2) + pow(k - 1, 1 / k))\n",
    "let k = x - x\nout rgb(round(k + 0.5), round(k - 0.5) + 1, round(k + 2.5) / 3)\n",
    "let k = x - x\nout rgb(exp(1 / k), exp(-1 / k) + 0.5, log(k) + 2)\n",
    "let k = x - x\nout rgb(sqrt(k - 1) + 0.5, atan(k, k) + 0.5, atan(1 / k, 1 / k) / 2)\n",
    "let k = x - x\nout rgb(sin(1 / k), cos(k / k), (1 / k) * k)\n",
    "let k = x - x\nout rgb(hash(k), hash(-k), noise(vec2(k / k, k)) + 0.5)\n",
    "out rgb(round(x * 8) / 8, fract(y * 3.5), mod(x * 7, -1.5) + 1)\n",
};

static void test_edge_cases(void **state) {
    (void)state;
    cpu_layout *l = &world.layouts[1];
    size_t channels = (size_t)l->layout->led_count * 3;
    for (size_t s = 0; s < sizeof cpu_edge_sources / sizeof *cpu_edge_sources; s++) {
        const char *src = cpu_edge_sources[s];
        sky_program *program = cpu_compile_source("edge.sky", src, strlen(src));
        sky_cpu_kernel *kernel = cpu_build(program, NULL);
        cpu_frame_bufs b;
        cpu_bufs_alloc(&b, program, channels);
        sky_frame_inputs in = {.t = 1.0, .dt = 0.0, .frame = 0, .params = NULL};
        int max_diff = 0;
        char first[200] = "";
        cpu_compare_frame(program, kernel, l, &in, &b, false, &max_diff, first, sizeof first);
        if (max_diff != 0)
            fail_msg("edge case %zu (%s): kernel and evaluator differ by %d/255 (%s)", s, src,
                     max_diff, first[0] ? first : "within tolerance");
        cpu_bufs_free(&b);
        sky_cpu_kernel_free(kernel);
        sky_program_free(program);
    }
}

static void test_cache(void **state) {
    (void)state;
    const char *src = "param speed = 1.5 in 0..4\nout hsv(x * 0.31 + t * speed, 1, 1)\n";
    sky_program *program = cpu_compile_source("cache.sky", src, strlen(src));
    bool cached = true;
    sky_cpu_kernel *first = cpu_build(program, &cached);
    assert_false(cached);
    sky_cpu_kernel *second = cpu_build(program, &cached);
    assert_true(cached);
    sky_cpu_kernel_free(second);
    sky_cpu_kernel_free(first);

    /* A truncated object (a crash mid-copy by some other tool) is rebuilt, not trusted. */
    char pattern[400];
    snprintf(pattern, sizeof pattern, "%s/skyscreen/kernel-*.so", world.cache);
    glob_t g;
    assert_int_equal(glob(pattern, 0, NULL, &g), 0);
    for (size_t i = 0; i < g.gl_pathc; i++) assert_int_equal(truncate(g.gl_pathv[i], 100), 0);
    globfree(&g);
    sky_cpu_kernel *third = cpu_build(program, &cached);
    assert_false(cached);
    sky_cpu_kernel_free(third);
    sky_program_free(program);
}

static void test_no_compiler(void **state) {
    (void)state;
    const char *src = "out rgb(x, y, 0.5)\n";
    sky_program *program = cpu_compile_source("nocc.sky", src, strlen(src));
    setenv("SKY_CC", "/nonexistent/sky-test-cc", 1);
    sky_cpu_kernel *kernel = NULL;
    char err[512] = "";
    sky_status st = sky_cpu_kernel_build(program, &kernel, NULL, err, sizeof err);
    unsetenv("SKY_CC");
    assert_int_equal(st, SKY_ERR_NO_DEVICE);
    assert_null(kernel);
    assert_non_null(strstr(err, "C compiler"));
    assert_non_null(strstr(err, "/nonexistent/sky-test-cc"));
    sky_program_free(program);
}

/*
 * The point of the backend: GCC vectorises every example's loop. Checked with
 * -fopt-info-vec-optimized on the kernel's loop; skipped (with a note)
 * when cc is not GCC, whose report this reads. clouds.sky and fire.sky stayed
 * scalar before the helpers were always_inline and prev(s, l) read without
 * `&&`.
 */
static void test_vectorised(void **state) {
    const char *file = *state;
    /* GCC's --version says "Free Software Foundation" (Debian's first line says only "cc") */
    char version[256];
    bool gcc = false;
    FILE *v = popen("cc --version 2>/dev/null", "r");
    if (v) {
        while (fgets(version, sizeof version, v))
            gcc |= strstr(version, "Free Software Foundation") != NULL;
        pclose(v);
    }
    if (!gcc) {
        fprintf(stderr, "cc is not GCC: vectorisation report not checked\n");
        return;
    }
    sky_program *program = cpu_compile_file(file);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(sky_program_emit_c(program, &text, &len), SKY_OK);
    unsigned line = 1;
    const char *loop = strstr(text, "for (size_t i = begin");
    assert_non_null(loop);
    for (const char *c = text; c < loop; c++) line += *c == '\n';
    char src[400], cmd[1400];
    snprintf(src, sizeof src, "%s/vec-%d.c", world.cache, (int)getpid());
    FILE *f = fopen(src, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    sky_free(text);
    snprintf(cmd, sizeof cmd, "cc %s -fopt-info-vec-optimized -c -o /dev/null '%s' 2>&1",
             sky_cpu_compiler_flags(), src);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    /* GCC names a statement of the loop: any loop vectorised at or after the `for` line (the
     * helpers above it have no loops) */
    char out[512];
    bool vectorised = false;
    while (fgets(out, sizeof out, p)) {
        const char *at = strstr(out, ".c:");
        unsigned reported = at ? (unsigned)strtoul(at + 3, NULL, 10) : 0;
        vectorised |= reported >= line && strstr(out, "loop vectorized") != NULL;
    }
    pclose(p);
    unlink(src);
    sky_program_free(program);
    if (!vectorised) fail_msg("%s: GCC did not vectorise the kernel's loop (line %u)", file, line);
}

/*
 * A pool's first run right after it is created: a worker that read the run
 * counter only once it was scheduled took the first run for one it had done
 * and slept, and the caller waited for it forever (seen in the runtime test,
 * which renders at once). Each new pool runs a frame at once; ctest's timeout
 * fails a hang.
 */
static void test_pool_first_run(void **state) {
    (void)state;
    cpu_layout *l = &world.layouts[0];
    size_t n = (size_t)l->layout->led_count * 3;
    const char *src = "out rgb(x, y, 0.5)\n";
    sky_program *program = cpu_compile_source("pool.sky", src, strlen(src));
    sky_cpu_kernel *kernel = cpu_build(program, NULL);
    cpu_frame_bufs b;
    cpu_bufs_alloc(&b, program, n);
    sky_frame_inputs in = {.t = 0, .dt = 0, .frame = 0, .params = NULL};
    assert_int_equal(sky_program_eval_frame(program, &l->view, &in, b.uniforms), SKY_OK);
    sky_cpu_args args = {.columns = l->column_ptrs,
                         .uniforms = b.uniforms,
                         .prev = b.kprev,
                         .cur = b.kcur,
                         .bytes = b.kbytes,
                         .strip_first = l->strip_first,
                         .strip_size = l->strip_size,
                         .strip_count = l->layout->strip_count,
                         .led_count = l->layout->led_count};
    for (int k = 0; k < 200; k++) {
        sky_cpu_pool *pool = NULL;
        char err[256] = "";
        assert_int_equal(sky_cpu_pool_create(4, &pool, err, sizeof err), SKY_OK);
        memset(b.kbytes, 0, n);
        sky_cpu_pool_run(pool, kernel, &args);
        assert_int_equal(b.kbytes[n - 1], 128); /* the last LED, written by the last thread */
        sky_cpu_pool_free(pool);
    }
    cpu_bufs_free(&b);
    sky_cpu_kernel_free(kernel);
    sky_program_free(program);
}

/* ------------------------------------------------- the runtime on "cpu" */

static sky_runtime *cpu_runtime(cpu_layout *l, sky_frame_writer *writer) {
    sky_runtime_options o;
    sky_runtime_options_init(&o);
    o.device = SKY_CPU_DEVICE;
    o.layout = l->layout;
    o.writer = writer;
    o.cpu_threads = CPU_THREADS;
    sky_runtime *rt = NULL;
    char err[1024] = "";
    if (sky_runtime_create(&o, &rt, err, sizeof err) != SKY_OK) fail_msg("create: %s", err);
    assert_int_equal(sky_runtime_device_type(rt), SKY_DEVICE_CPU);
    return rt;
}

/* The evaluator's bytes for `program` at t (no prev). */
static uint8_t *cpu_expected(const sky_program *program, cpu_layout *l, double t) {
    uint8_t *bytes = malloc((size_t)l->layout->led_count * 3);
    assert_non_null(bytes);
    sky_frame_inputs in = {.t = t, .dt = 1.0 / 60.0, .frame = 0, .params = NULL};
    assert_int_equal(sky_program_eval(program, &l->view, l->inputs, &in, NULL, NULL, bytes),
                     SKY_OK);
    return bytes;
}

static void cpu_assert_close(const uint8_t *got, const uint8_t *want, size_t n, int tolerance,
                             const char *what) {
    for (size_t i = 0; i < n; i++)
        if (abs((int)got[i] - (int)want[i]) > tolerance)
            fail_msg("%s: channel %zu: %u, expected %u", what, i, got[i], want[i]);
}

static void test_runtime_show_controls(void **state) {
    (void)state;
    cpu_layout *l = &world.layouts[0];
    size_t n = (size_t)l->layout->led_count * 3;
    const char *a_src = "out hsv(x * 0.4 + t * 0.1, 1, 0.9)\n";
    const char *b_src = "out rgb(0.2 + 0.5 * y, 0.8, fract(r + t))\n";
    sky_program *a = cpu_compile_source("a.sky", a_src, strlen(a_src));
    sky_program *b = cpu_compile_source("b.sky", b_src, strlen(b_src));
    sky_runtime *rt = cpu_runtime(l, NULL);
    char err[1024] = "";
    assert_int_equal(sky_runtime_set_program(rt, a, err, sizeof err), SKY_OK);
    assert_int_equal(sky_runtime_render(rt, 0.5, 1.0 / 60.0, NULL, err, sizeof err), SKY_OK);
    uint8_t *want_a = cpu_expected(a, l, 0.5);
    size_t len = 0;
    const uint8_t *got = sky_runtime_frame_bytes(rt, &len);
    assert_int_equal(len, n);
    cpu_assert_close(got, want_a, n, CPU_TOLERANCE, "plain frame");

    /* brightness 0.5: floor(b * 0.5 + 0.5) of the undimmed byte, within 1 */
    assert_int_equal(sky_runtime_set_brightness(rt, 0.5, err, sizeof err), SKY_OK);
    assert_int_equal(sky_runtime_render(rt, 0.5, 1.0 / 60.0, NULL, err, sizeof err), SKY_OK);
    uint8_t *dim = malloc(n);
    assert_non_null(dim);
    for (size_t i = 0; i < n; i++) dim[i] = (uint8_t)floor(want_a[i] * 0.5 + 0.5);
    cpu_assert_close(sky_runtime_frame_bytes(rt, NULL), dim, n, CPU_TOLERANCE, "dimmed frame");

    /* a hold at full brightness shows the undimmed picture again, as a new frame */
    uint64_t frames = sky_runtime_frame_count(rt);
    assert_int_equal(sky_runtime_set_brightness(rt, 1.0, err, sizeof err), SKY_OK);
    assert_int_equal(sky_runtime_render_hold(rt, err, sizeof err), SKY_OK);
    assert_int_equal(sky_runtime_frame_count(rt), frames + 1);
    cpu_assert_close(sky_runtime_frame_bytes(rt, NULL), want_a, n, CPU_TOLERANCE, "held frame");

    /* a crossfade at 0.25: the post formula on the two patterns' bytes */
    sky_runtime_pipeline *incoming = NULL;
    assert_int_equal(
        sky_runtime_pipeline_build(rt, b, (const uint32_t[]){0}, 1, &incoming, err, sizeof err),
        SKY_OK);
    assert_int_equal(sky_runtime_render_mix(rt, 0.5, 1.0 / 60.0, NULL, incoming, 0.5, 1.0 / 60.0,
                                            NULL, 0.25, err, sizeof err),
                     SKY_OK);
    uint8_t *want_b = cpu_expected(b, l, 0.5);
    uint8_t *mix = malloc(n);
    assert_non_null(mix);
    for (size_t i = 0; i < n; i++) {
        double v = floor(want_a[i] * 0.75 + want_b[i] * 0.25 + 0.5);
        mix[i] = (uint8_t)(v > 255 ? 255 : v);
    }
    cpu_assert_close(sky_runtime_frame_bytes(rt, NULL), mix, n, CPU_TOLERANCE, "crossfade");

    /* the end of the fade: the incoming pattern alone */
    assert_int_equal(sky_runtime_set_pipeline(rt, incoming, err, sizeof err), SKY_OK);
    assert_int_equal(sky_runtime_render(rt, 0.5, 1.0 / 60.0, NULL, err, sizeof err), SKY_OK);
    cpu_assert_close(sky_runtime_frame_bytes(rt, NULL), want_b, n, CPU_TOLERANCE, "after fade");

    sky_runtime_free(rt);
    free(want_a);
    free(want_b);
    free(dim);
    free(mix);
    sky_program_free(a);
    sky_program_free(b);
}

/*
 * As on Vulkan, a replaced program may already be freed once its frames are
 * complete: set_program must not read the old one (tests/gen frees each
 * program before the next; ASan caught the CPU runtime reading its `prev` flag).
 */
static void test_runtime_old_program_freed(void **state) {
    (void)state;
    cpu_layout *l = &world.layouts[2];
    const char *a_src = "out mix(prev, vec3(x, 0.5, 0.5), 0.5)\n";
    const char *b_src = "out mix(prev, vec3(0.5, y, 0.5), 0.5)\n";
    sky_program *a = cpu_compile_source("a.sky", a_src, strlen(a_src));
    sky_program *b = cpu_compile_source("b.sky", b_src, strlen(b_src));
    sky_runtime *rt = cpu_runtime(l, NULL);
    char err[1024] = "";
    assert_int_equal(sky_runtime_set_program(rt, a, err, sizeof err), SKY_OK);
    assert_int_equal(sky_runtime_render(rt, 0.1, 0.0, NULL, err, sizeof err), SKY_OK);
    sky_program_free(a); /* its frames are complete */
    assert_int_equal(sky_runtime_set_program(rt, b, err, sizeof err), SKY_OK);
    assert_int_equal(sky_runtime_render(rt, 0.2, 0.1, NULL, err, sizeof err), SKY_OK);
    assert_non_null(sky_runtime_frame_floats(rt, NULL)); /* prev kept: both read it */
    sky_runtime_free(rt);
    sky_program_free(b);
}

/* prev over frames, through a real frame file (zero copy), against the evaluator's own chain. */
static void test_runtime_prev_frame_file(void **state) {
    (void)state;
    cpu_layout *l = &world.layouts[3];
    size_t n = (size_t)l->layout->led_count * 3;
    const char *src = "out mix(prev, vec3(hash(x + t), y, 0.5), 0.3)\n";
    sky_program *program = cpu_compile_source("trail.sky", src, strlen(src));
    char path[512];
    snprintf(path, sizeof path, "%s/frame", world.cache);
    sky_frame_writer_options wo;
    memset(&wo, 0, sizeof wo);
    wo.path = path;
    wo.led_count = l->layout->led_count;
    wo.strip_count = l->layout->strip_count;
    wo.strip_sizes = l->layout->strip_sizes;
    wo.positions = l->layout->xy;
    wo.fps_nominal = 60;
    sky_frame_writer *writer = NULL;
    char err[1024] = "";
    if (sky_frame_writer_create(&wo, &writer, err, sizeof err) != SKY_OK)
        fail_msg("frame file: %s", err);
    sky_runtime *rt = cpu_runtime(l, writer);
    assert_int_equal(sky_runtime_output_path(rt), SKY_OUTPUT_ZERO_COPY);
    assert_int_equal(sky_runtime_set_program(rt, program, err, sizeof err), SKY_OK);
    float *rgb[2] = {calloc(n, sizeof(float)), calloc(n, sizeof(float))};
    uint8_t *bytes = malloc(n);
    assert_true(rgb[0] && rgb[1] && bytes);
    for (int f = 0; f < 6; f++) {
        double t = 0.25 + f / 60.0;
        assert_int_equal(sky_runtime_render(rt, t, 1.0 / 60.0, NULL, err, sizeof err), SKY_OK);
        sky_frame_inputs in = {.t = t, .dt = 1.0 / 60.0, .frame = (uint64_t)f, .params = NULL};
        assert_int_equal(sky_program_eval(program, &l->view, l->inputs, &in,
                                          f ? rgb[(f + 1) % 2] : NULL, rgb[f % 2], bytes),
                         SKY_OK);
        cpu_assert_close(sky_runtime_frame_bytes(rt, NULL), bytes, n, CPU_TOLERANCE, "prev frame");
        size_t count = 0;
        const float *floats = sky_runtime_frame_floats(rt, &count);
        assert_non_null(floats);
        assert_int_equal(count, n);
        for (size_t i = 0; i < n; i++)
            if (fabsf(floats[i] - rgb[f % 2][i]) > 2.0f / 255.0f)
                fail_msg("frame %d: prev float %zu: %g, evaluator %g", f, i, floats[i],
                         rgb[f % 2][i]);
    }
    assert_int_equal(sky_runtime_frame_count(rt), 6);
    sky_runtime_free(rt);
    sky_frame_writer_free(writer);
    unlink(path);
    free(rgb[0]);
    free(rgb[1]);
    free(bytes);
    sky_program_free(program);
}

int main(void) {
    static char *files[PA_MAX_FILES];
    size_t examples = 0;
    size_t count = pa_pattern_files(SKY_SOURCE_DIR, files, &examples);
    if (examples == 0) {
        fprintf(stderr, "no examples/*.sky found under %s\n", SKY_SOURCE_DIR);
        return 1;
    }
    struct CMUnitTest *tests = calloc(2 * count + 7, sizeof *tests);
    if (!tests) return 1;
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        const char *base = strrchr(files[i], '/');
        tests[n++] = (struct CMUnitTest){.name = base ? base + 1 : files[i],
                                         .test_func = test_agreement,
                                         .initial_state = files[i]};
    }
    for (size_t i = 0; i < examples; i++)
        tests[n++] = (struct CMUnitTest){
            .name = "vectorised", .test_func = test_vectorised, .initial_state = files[i]};
    tests[n++] = (struct CMUnitTest){.name = "edge_cases", .test_func = test_edge_cases};
    tests[n++] = (struct CMUnitTest){.name = "cache", .test_func = test_cache};
    tests[n++] = (struct CMUnitTest){.name = "no_compiler", .test_func = test_no_compiler};
    tests[n++] = (struct CMUnitTest){.name = "pool_first_run", .test_func = test_pool_first_run};
    tests[n++] = (struct CMUnitTest){.name = "runtime_show_controls",
                                     .test_func = test_runtime_show_controls};
    tests[n++] = (struct CMUnitTest){.name = "runtime_old_program_freed",
                                     .test_func = test_runtime_old_program_freed};
    tests[n++] = (struct CMUnitTest){.name = "runtime_prev_frame_file",
                                     .test_func = test_runtime_prev_frame_file};
    int failed = _cmocka_run_group_tests("cpu_backend", tests, n, cpu_setup, cpu_teardown);
    pa_pattern_files_free(files, count);
    free(tests);
    return failed;
}
