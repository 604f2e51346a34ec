/*
 * test_check.c - what the checker builds means what the spec says.
 *
 * Small patterns are compiled and run on the CPU evaluator over a tiny
 * layout, and the colours are compared with the spec's formulas computed
 * here in C (inputs, operators and precedence, hsv, palette, the wave
 * shapes, vector built-ins, time, decay, reductions, swizzles, prev,
 * params), or with the same formula written out in .sky where the built-in
 * is an expansion (fbm, hash of vectors, decay). A trail written with decay
 * fades alike at 25 and 60 fps. Also: generic functions, memoized
 * inlining (a call chain that would be 2^30 inlines compiles at once).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sky/abi.h"
#include "sky/sky.h"

#define LEDS 8
#define TAU  6.28318530717958647692

static const uint32_t strip_sizes[2] = {3, 5};
static const float positions[LEDS * 2] = {0.1f, 0.2f, -0.5f, 0.3f, 0.9f,  -0.4f, -0.2f, -0.7f,
                                          0.0f, 0.0f, 0.6f,  0.6f, -0.9f, 0.1f,  0.3f,  -0.1f};
static const sky_layout_view layout = {LEDS, 2, strip_sizes, positions};

static sky_program *compile_ok(const char *src) {
    sky_program *program = NULL;
    sky_diagnostics *d = NULL;
    sky_status status = sky_compile("t.sky", src, strlen(src), NULL, &program, &d);
    if (status != SKY_OK) {
        char *text = NULL;
        sky_diagnostics_render(d, false, &text);
        fail_msg("`%s` did not compile: %s\n%s", src, sky_status_str(status), text ? text : "");
    }
    sky_diagnostics_free(d);
    return program;
}

/* Runs `src` for one frame at time t (params NULL: the defaults); colours into rgb. */
static void run_params(const char *src, double t, const double *params, const float *prev,
                       float *rgb, sky_led_input *inputs_out) {
    sky_program *program = compile_ok(src);
    sky_led_input inputs[LEDS];
    assert_int_equal(sky_led_inputs_build(&layout, inputs), SKY_OK);
    sky_frame_inputs frame = {.t = t, .dt = 0.125, .frame = 7, .params = params};
    assert_int_equal(sky_program_eval(program, &layout, inputs, &frame, prev, rgb, NULL), SKY_OK);
    if (inputs_out) memcpy(inputs_out, inputs, sizeof inputs);
    sky_program_free(program);
}

static void run(const char *src, double t, float *rgb, sky_led_input *inputs) {
    run_params(src, t, NULL, NULL, rgb, inputs);
}

static void expect_near(const char *what, int led, int c, double got, double want, double tol) {
    if (fabs(got - want) > tol)
        fail_msg("%s: LED %d channel %d: got %.9g, expected %.9g", what, led, c, got, want);
}

/* Every LED shows exactly `want` on each channel (all in [0, 1]). */
static void expect_all(const char *src, double t, const double want[3], double tol) {
    float rgb[LEDS * 3];
    run(src, t, rgb, NULL);
    for (int i = 0; i < LEDS; i++)
        for (int c = 0; c < 3; c++) expect_near(src, i, c, rgb[3 * i + c], want[c], tol);
}

static void expect_grey(const char *src, double t, double want, double tol) {
    const double w[3] = {want, want, want};
    expect_all(src, t, w, tol);
}

static double fract_d(double v) {
    return v - floor(v);
}
static double clamp_d(double v, double lo, double hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

/* ----------------------------------------------------------------- tests */

/* z and pos on a 3-D view; a pattern's own `z` (written before the input
 * existed) hides the input instead of failing to compile. */
static void test_inputs_3d(void **state) {
    (void)state;
    static const float z[LEDS] = {-1.0f, -0.5f, 0.0f, 0.25f, 0.5f, 0.75f, 1.0f, -0.125f};
    const sky_layout_view view3 = {LEDS, 2, strip_sizes, positions, z};
    sky_led_input in[LEDS];
    assert_int_equal(sky_led_inputs_build(&view3, in), SKY_OK);
    const char *srcs[] = {"out pos * 0.5 + 0.5", "out vec3(x, y, z) * 0.5 + 0.5",
                          "let z = 0.25\nout vec3(z)", "fn f(z) = z * 2\nout vec3(f(0.25))"};
    for (int k = 0; k < 4; k++) {
        sky_program *program = compile_ok(srcs[k]);
        if (k < 2) assert_int_equal(sky_program_inputs(program) & SKY_INPUT_Z, SKY_INPUT_Z);
        float rgb[LEDS * 3];
        sky_frame_inputs frame = {.t = 0};
        assert_int_equal(sky_program_eval(program, &view3, in, &frame, NULL, rgb, NULL), SKY_OK);
        for (int i = 0; i < LEDS; i++) {
            double want[3] = {positions[2 * i] * 0.5 + 0.5, positions[2 * i + 1] * 0.5 + 0.5,
                              z[i] * 0.5 + 0.5};
            for (int c = 0; c < 3; c++)
                expect_near(srcs[k], i, c, rgb[3 * i + c], k < 2 ? want[c] : k == 2 ? 0.25 : 0.5,
                            1e-6);
        }
        sky_program_free(program);
    }
    /* r and theta stay in the x, y plane */
    for (int i = 0; i < LEDS; i++)
        expect_near("r", i, 0, in[i].r, hypot(positions[2 * i], positions[2 * i + 1]), 1e-6);
    /* a flat view (z NULL) reads z = 0 */
    assert_int_equal(sky_led_inputs_build(&layout, in), SKY_OK);
    for (int i = 0; i < LEDS; i++) assert_true(in[i].z == 0.0f);
}

static void test_inputs(void **state) {
    (void)state;
    float rgb[LEDS * 3];
    sky_led_input in[LEDS];
    run("out rgb(x * 0.5 + 0.5, y * 0.5 + 0.5, r / 2)", 0, rgb, in);
    for (int i = 0; i < LEDS; i++) {
        expect_near("x", i, 0, rgb[3 * i], in[i].x * 0.5 + 0.5, 1e-6);
        expect_near("y", i, 1, rgb[3 * i + 1], in[i].y * 0.5 + 0.5, 1e-6);
        expect_near("r", i, 2, rgb[3 * i + 2], in[i].r / 2, 1e-6);
    }
    run("out rgb(theta / tau, (strip + 1) / 4, led / 8)", 0, rgb, in);
    for (int i = 0; i < LEDS; i++) {
        expect_near("theta", i, 0, rgb[3 * i], in[i].theta / TAU, 1e-6);
        expect_near("strip", i, 1, rgb[3 * i + 1], (in[i].strip + 1) / 4.0, 1e-7);
        expect_near("led", i, 2, rgb[3 * i + 2], in[i].led / 8.0, 1e-7);
    }
    run("out rgb(leds / 8, index / count, strips / 4)", 0, rgb, in);
    for (int i = 0; i < LEDS; i++) {
        expect_near("leds", i, 0, rgb[3 * i], in[i].leds / 8.0, 1e-7);
        expect_near("index", i, 1, rgb[3 * i + 1], i / 8.0, 1e-7);
        expect_near("strips", i, 2, rgb[3 * i + 2], 0.5, 1e-7);
    }
    const double frame_inputs[3] = {0.25, 0.125, 0.7};
    expect_all("out rgb(t / 10, dt, frame / 10)", 2.5, frame_inputs, 1e-7);
    const double consts[3] = {3.14159265 / 4, 6.2831853 / 8, 2.718281828 / 4};
    expect_all("out rgb(pi / 4, tau / 8, e / 4)", 0, consts, 1e-7);
}

static void test_operators_and_precedence(void **state) {
    (void)state;
    expect_grey("out -2^2 + 4.5", 0, 0.5, 0);          /* -(2^2) */
    expect_grey("out 2^-1", 0, 0.5, 0);                /* 2^(-1) */
    expect_grey("out 2^3^2 / 1024", 0, 0.5, 0);        /* 2^9 */
    expect_grey("out (-1 % 3) / 3", 0, 2.0 / 3, 1e-7); /* floored */
    expect_grey("out mod(-1, 3) / 3", 0, 2.0 / 3, 1e-7);
    expect_grey("out 1 - 0.25 - 0.25", 0, 0.5, 0); /* left-associative */
    expect_grey("out 8 / 4 / 4", 0, 0.5, 0);
    expect_grey("out 1 < 2 ? 0.25 : 0.75", 0, 0.25, 0);
    expect_grey("out 1 > 2 ? 0.25 : 2 > 3 ? 0.5 : 0.75", 0, 0.75, 0);
    expect_grey("out !(1 > 2) && (2 >= 2 || 1 == 0) ? 1 : 0", 0, 1, 0);
    expect_grey("out 1 != 1 ? 1 : 0.5", 0, 0.5, 0);
}

static void test_bool_branches(void **state) {
    (void)state;
    float rgb[LEDS * 3];
    sky_led_input in[LEDS];
    run("out (x > 0 ? y > 0 : y < 0) ? 1 : 0", 0, rgb, in);
    for (int i = 0; i < LEDS; i++) {
        bool want = in[i].x > 0 ? in[i].y > 0 : in[i].y < 0;
        expect_near("bool select", i, 0, rgb[3 * i], want ? 1 : 0, 0);
    }
}

static void ref_hsv(double h, double s, double v, double out[3]) {
    const double offset[3] = {1, 2.0 / 3, 1.0 / 3};
    s = clamp_d(s, 0, 1);
    v = clamp_d(v, 0, 1);
    for (int c = 0; c < 3; c++) {
        double k = clamp_d(fabs(fract_d(h + offset[c]) * 6 - 3) - 1, 0, 1);
        out[c] = v * (1 * (1 - s) + k * s);
    }
}

static void test_hsv(void **state) {
    (void)state;
    float rgb[LEDS * 3];
    sky_led_input in[LEDS];
    run("out hsv(x + t, y * 0.5 + 0.5, r)", 0.3, rgb, in);
    for (int i = 0; i < LEDS; i++) {
        double want[3];
        ref_hsv(in[i].x + 0.3, in[i].y * 0.5 + 0.5, in[i].r, want);
        for (int c = 0; c < 3; c++) expect_near("hsv", i, c, rgb[3 * i + c], want[c], 2e-6);
    }
    const double red[3] = {1, 0, 0}, green[3] = {0, 1, 0};
    expect_all("out hsv(0, 1, 1)", 0, red, 1e-6);
    expect_all("out hsv(1.25 + 1 / 12, 1, 1)", 0, green, 1e-6); /* wraps: 1/3 */
    /* s and v are clamped to [0, 1]. */
    double want[3];
    ref_hsv(0.3, 1, 1, want);
    expect_all("out hsv(0.3, 2, 1.5)", 0, want, 1e-6);
    const double black[3] = {0, 0, 0};
    expect_all("out hsv(0.3, 1, -1)", 0, black, 0);
}

static void test_palette_and_shapes(void **state) {
    (void)state;
    float rgb[LEDS * 3];
    sky_led_input in[LEDS];
    run("out palette(r, vec3(0.5), vec3(0.5), vec3(1, 0.5, 2), vec3(0, 0.33, 0.67))", 0, rgb, in);
    const double c[3] = {1, 0.5, 2}, d[3] = {0, 0.33, 0.67};
    for (int i = 0; i < LEDS; i++)
        for (int k = 0; k < 3; k++)
            expect_near("palette", i, k, rgb[3 * i + k],
                        0.5 + 0.5 * cos(TAU * (c[k] * in[i].r + d[k])), 2e-6);
    run("out rgb(wave(x), triangle(y * 1.7), saw(r * 3))", 0, rgb, in);
    for (int i = 0; i < LEDS; i++) {
        expect_near("wave", i, 0, rgb[3 * i], 0.5 + 0.5 * sin(TAU * in[i].x), 2e-6);
        expect_near("triangle", i, 1, rgb[3 * i + 1], 1 - fabs(2 * fract_d(in[i].y * 1.7f) - 1),
                    2e-6);
        expect_near("saw", i, 2, rgb[3 * i + 2], fract_d(in[i].r * 3.0f), 2e-6);
    }
    run("out square(x, 0.3)", 0, rgb, in);
    for (int i = 0; i < LEDS; i++)
        expect_near("square", i, 0, rgb[3 * i], fract_d(in[i].x) < 0.3f ? 1 : 0, 0);
    /* Component-wise on vectors, with the duty broadcast. */
    run("out square(vec3(x, y, r), 0.5)", 0, rgb, in);
    for (int i = 0; i < LEDS; i++)
        expect_near("square vec", i, 1, rgb[3 * i + 1], fract_d(in[i].y) < 0.5 ? 1 : 0, 0);
}

static void test_vector_builtins(void **state) {
    (void)state;
    float rgb[LEDS * 3];
    sky_led_input in[LEDS];
    run("let p = vec2(x, y)\nout rgb(length(p), distance(p, vec2(0.5, 0.25)) / 2, "
        "dot(p, vec2(0.25, 0.5)) + 0.5)",
        0, rgb, in);
    for (int i = 0; i < LEDS; i++) {
        double x = in[i].x, y = in[i].y;
        expect_near("length", i, 0, rgb[3 * i], sqrt(x * x + y * y), 2e-6);
        expect_near("distance", i, 1, rgb[3 * i + 1],
                    sqrt((x - 0.5) * (x - 0.5) + (y - 0.25) * (y - 0.25)) / 2, 2e-6);
        expect_near("dot", i, 2, rgb[3 * i + 2], x * 0.25 + y * 0.5 + 0.5, 2e-6);
    }
    const double n[3] = {0.6, 0.8, 0};
    expect_all("out normalize(vec3(3, 4, 0))", 0, n, 1e-7);
    /* cross((1,0,0), (0,1,0)) = (0,0,1), then a general case for every component. */
    const double z[3] = {0, 0, 1};
    expect_all("out cross(vec3(1, 0, 0), vec3(0, 1, 0))", 0, z, 0);
    float got[LEDS * 3];
    run("out cross(vec3(0.5, 0.1, 0.3), vec3(0.2, 0.4, 0.1)) + 0.5", 0, got, NULL);
    const double a[3] = {0.5, 0.1, 0.3}, b[3] = {0.2, 0.4, 0.1};
    double want[3] = {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                      a[0] * b[1] - a[1] * b[0]};
    for (int k = 0; k < 3; k++) expect_near("cross", 0, k, got[k], want[k] + 0.5, 1e-6);
}

/* The built-in equals the spec's formula written out in .sky, bit for bit. */
static void expect_same(const char *a, const char *b) {
    char src[1024];
    snprintf(src, sizeof src,
             "let p = vec2(x * 3 + t, y * 3)\nlet q = vec3(p, r * 2)\n"
             "out rgb(abs((%s) - (%s)) * 1e6, 0, 0)",
             a, b);
    float rgb[LEDS * 3];
    run(src, 1.25, rgb, NULL);
    for (int i = 0; i < LEDS; i++)
        if (rgb[3 * i] != 0) fail_msg("`%s` and `%s` differ at LED %d", a, b, i);
}

static void test_expansions(void **state) {
    (void)state;
    expect_same("fbm(p, 1)", "noise(p)");
    expect_same("fbm(p, 3)", "(noise(p) + 0.5 * noise(2 * p) + 0.25 * noise(4 * p)) / 1.75");
    expect_same("fbm(q, 2)", "(noise(q) + 0.5 * noise(2 * q)) / 1.5");
    expect_same("hash(p)", "hash(p.x, p.y)");
    expect_same("hash(q)", "hash(q.x, q.y, q.z)");
    expect_same("time(2)", "fract(t / 2)");
    expect_same("wave(p.x)", "0.5 + 0.5 * sin(tau * p.x)");
    expect_same("length(q)", "sqrt(q.x * q.x + q.y * q.y + q.z * q.z)");
    expect_same("atan(p.y, p.x)", "atan(p.y, p.x)");
    expect_same("min(p, 0.5).x", "min(p.x, 0.5)");
    expect_same("clamp(q, 0.2, vec3(0.5, 0.6, 0.7)).z", "clamp(q.z, 0.2, 0.7)");
}

static void test_time_is_per_frame(void **state) {
    (void)state;
    expect_grey("out time(2)", 3.5, 0.75, 1e-7);
    expect_grey("param period = 4 in 1..10\nout time(period)", 9, 0.25, 1e-7);
    /* Hoisted to the host: the IR has fract in the frame section. */
    sky_program *program = compile_ok("out time(2) * x");
    char *ir = NULL;
    assert_int_equal(sky_program_emit_ir(program, &ir), SKY_OK);
    assert_non_null(strstr(ir, "frame "));
    const char *led_section = strstr(ir, "; led section");
    assert_non_null(led_section);
    assert_null(strstr(led_section, "fract"));
    sky_free(ir);
    sky_program_free(program);
}

/* decay(h) = h > 0 ? 0.5^(dt / h) : 0, component-wise; run_params has dt = 0.125. */
static void test_decay(void **state) {
    (void)state;
    expect_grey("out decay(0.125)", 0, 0.5, 1e-7);
    expect_grey("out decay(0.25)", 0, sqrt(0.5), 1e-7);
    expect_grey("out decay(0)", 0, 0, 0);   /* no memory: clears at once */
    expect_grey("out decay(-1)", 0, 0, 0);
    const double per_channel[3] = {0.5, 0.25, 1.0 / 16};
    expect_all("out decay(vec3(0.125, 0.0625, 0.03125))", 0, per_channel, 1e-7);
    expect_same("decay(p.x + 0.5)", "p.x + 0.5 > 0 ? pow(0.5, dt / (p.x + 0.5)) : 0");
    expect_same("decay(q).y", "decay(q.y)");
    /* With a half-life that is constant or per frame it runs on the host: no pow per LED. */
    sky_program *program = compile_ok("param h = 0.2 in 0.01..2\nout prev * decay(h)");
    char *ir = NULL;
    assert_int_equal(sky_program_emit_ir(program, &ir), SKY_OK);
    const char *led_section = strstr(ir, "; led section");
    assert_non_null(led_section);
    assert_non_null(strstr(ir, "pow"));
    assert_null(strstr(led_section, "pow"));
    sky_free(ir);
    sky_program_free(program);
}

/* The brightness of a trail after `seconds`, run frame by frame at `fps` from a full-white start. */
static double trail_after(const char *src, double fps, double seconds) {
    sky_program *program = compile_ok(src);
    sky_led_input inputs[LEDS];
    assert_int_equal(sky_led_inputs_build(&layout, inputs), SKY_OK);
    float a[LEDS * 3], b[LEDS * 3], *prev = a, *cur = b;
    uint64_t frames = (uint64_t)llround(seconds * fps);
    for (uint64_t k = 0; k <= frames; k++) {
        sky_frame_inputs frame = {.t = (double)k / fps, .dt = k ? 1.0 / fps : 0, .frame = k};
        assert_int_equal(sky_program_eval(program, &layout, inputs, &frame, k ? prev : NULL, cur,
                                          NULL),
                         SKY_OK);
        float *swap = prev;
        prev = cur;
        cur = swap;
    }
    sky_program_free(program);
    return prev[0];
}

/* A trail written with decay fades by the same amount per second at 25 and at 60 fps. */
static void test_decay_trail_is_rate_independent(void **state) {
    (void)state;
    static const char src[] = "out frame == 0 ? vec3(1) : prev * decay(0.2)";
    double at25 = trail_after(src, 25, 1.0), at60 = trail_after(src, 60, 1.0);
    /* five half-lives: 1/32, at either rate, to float rounding over 25 / 60 products */
    expect_near("decay trail at 25 fps", 0, 0, at25, 1.0 / 32, 1e-5);
    expect_near("decay trail at 60 fps", 0, 0, at60, 1.0 / 32, 1e-5);
    /* the per-frame factor it replaces does depend on the rate: 0.9^25 vs 0.9^60 */
    static const char fixed[] = "out frame == 0 ? vec3(1) : prev * 0.9";
    assert_true(trail_after(fixed, 25, 1.0) > 10 * trail_after(fixed, 60, 1.0));
}

static void test_generic_functions(void **state) {
    (void)state;
    const double want[3] = {0.3, 0.5, 0.7};
    expect_all("fn twice(a) = a * 2\nout twice(rgb(0.1, 0.2, 0.3)) + twice(0.05)", 0, want, 1e-7);
    /* A parameter shadows an input; a body sees earlier lets and params. */
    expect_grey("let k = 0.25\nfn f(x) = x + k\nout f(0.25)", 0, 0.5, 0);
    expect_grey("param gain = 0.5\nfn f(v) = v * gain\nout f(1)", 0, 0.5, 0);
    /* Functions calling functions. */
    expect_grey("fn sq(v) = v * v\nfn quad(v) = sq(sq(v))\nout quad(0.5) * 8", 0, 0.5, 0);
    expect_grey("fn zero() = 0.5\nout zero()", 0, 0.5, 0);
}

/* f_i(v) = f_{i-1}(v) + f_{i-1}(v): 2^30 inlines without memoization, 30 with it. */
static void test_memoized_inlining(void **state) {
    (void)state;
    char *src = malloc(64 * 40);
    assert_non_null(src);
    size_t n = (size_t)sprintf(src, "fn f0(v) = v\n");
    for (int i = 1; i <= 30; i++)
        n += (size_t)sprintf(src + n, "fn f%d(v) = f%d(v) + f%d(v)\n", i, i - 1, i - 1);
    sprintf(src + n, "out f30(0.25) / 1073741824\n");
    expect_grey(src, 0, 0.25, 0);
    free(src);
}

static void test_reductions(void **state) {
    (void)state;
    const double want[3] = {0.6, 0.6, 0.9};
    expect_all("out rgb(sum(k in 0..4, k) / 10, product(k in 1..7, k) / 1200, "
               "max(k in -3..2, k * k) / 10)",
               0, want, 1e-7);
    expect_grey("out min(k in 2..5, k) / 4", 0, 0.5, 0);
    /* The variable shadows and is local; nested reductions see both variables. */
    expect_grey("let k = 9\nout sum(k in 0..3, k) / 6", 0, 0.5, 0);
    expect_grey("out sum(i in 0..3, sum(j in 0..2, i * 10 + j)) / 100", 0, 0.63, 1e-7);
    /* Vectors reduce component-wise. */
    const double v[3] = {0.3, 0.6, 0.9};
    expect_all("out sum(k in 0..3, rgb(0.1, 0.2, 0.3))", 0, v, 1e-7);
}

static void test_swizzles_and_constructors(void **state) {
    (void)state;
    const double bgr[3] = {0.3, 0.2, 0.1};
    expect_all("out rgb(0.1, 0.2, 0.3).bgr", 0, bgr, 1e-7);
    expect_all("out vec3(0.1, 0.2, 0.3).zyx", 0, bgr, 1e-7);
    const double xyy[3] = {0.1, 0.2, 0.2};
    expect_all("out vec2(0.1, 0.2).xyy", 0, xyy, 1e-7);
    const double concat[3] = {0.1, 0.2, 0.3};
    expect_all("out vec3(vec2(0.1, 0.2), 0.3)", 0, concat, 1e-7);
    expect_all("out vec3(0.1, vec2(0.2, 0.3))", 0, concat, 1e-7);
    expect_grey("out vec3(0.4)", 0, 0.4, 1e-7);
    expect_grey("out rgb(0.4).g", 0, 0.4, 1e-7);
    expect_grey("out vec2(0.4).y", 0, 0.4, 1e-7);
}

static void test_prev(void **state) {
    (void)state;
    float prev[LEDS * 3], rgb[LEDS * 3];
    for (int i = 0; i < LEDS * 3; i++) prev[i] = (float)(i + 1) / 32.0f;
    run_params("out prev.bgr", 0, NULL, prev, rgb, NULL);
    for (int i = 0; i < LEDS; i++)
        for (int c = 0; c < 3; c++)
            expect_near("prev", i, c, rgb[3 * i + c], prev[3 * i + 2 - c], 0);
    /* prev(s, l): the same LED index on the next strip (wrapping), black past its end. */
    run_params("out prev(strip + 1, led)", 0, NULL, prev, rgb, NULL);
    for (int i = 0; i < LEDS; i++) {
        int strip = i < 3 ? 0 : 1, led = i < 3 ? i : i - 3;
        int other = (strip + 1) % 2, first = other == 0 ? 0 : 3, size = other == 0 ? 3 : 5;
        for (int c = 0; c < 3; c++) {
            double want = led < size ? prev[3 * (first + led) + c] : 0;
            expect_near("prev(s, l)", i, c, rgb[3 * i + c], want, 0);
        }
    }
    sky_program *program = compile_ok("out prev(0, 0) * 0.5 + prev * 0.5");
    assert_true(sky_program_uses_prev(program));
    uint32_t inputs = sky_program_inputs(program);
    assert_true(inputs & SKY_INPUT_PREV);
    assert_true(inputs & SKY_INPUT_PREV_AT);
    sky_program_free(program);
}

static void test_params(void **state) {
    (void)state;
    const char *src = "param speed = 1.5 in 0..4\n"
                      "param tint = rgb(1, 0.5, 0)\n"
                      "param offset = vec2(-0.25, 2 * pi) / 2\n"
                      "out tint * speed / 4 + offset.x * 0";
    sky_program *program = compile_ok(src);
    assert_int_equal(sky_program_param_count(program), 3);
    assert_int_equal(sky_program_param_slots(program), 6);
    const sky_param_info *speed = sky_program_param(program, 0);
    assert_string_equal(speed->name, "speed");
    assert_int_equal(speed->type, SKY_TYPE_FLOAT);
    assert_int_equal(speed->slot, 0);
    assert_true(speed->has_range && speed->min == 0 && speed->max == 4);
    assert_true(speed->value[0] == 1.5);
    const sky_param_info *tint = sky_program_param(program, 1);
    assert_int_equal(tint->type, SKY_TYPE_VEC3);
    assert_int_equal(tint->slot, 1);
    assert_false(tint->has_range);
    assert_true(tint->value[0] == 1 && tint->value[1] == 0.5 && tint->value[2] == 0);
    const sky_param_info *offset = sky_program_param(program, 2);
    assert_int_equal(offset->type, SKY_TYPE_VEC2);
    assert_int_equal(offset->slot, 4);
    assert_true(offset->value[0] == -0.125 && offset->value[1] == 3.14159265358979323846);
    assert_int_equal(sky_program_param_find(program, "tint"), 1);
    assert_int_equal(sky_program_param_find(program, "nope"), -1);
    double defaults[6];
    sky_program_param_defaults(program, defaults);
    assert_true(defaults[0] == 1.5 && defaults[2] == 0.5 && defaults[4] == -0.125);
    sky_program_free(program);

    float rgb[LEDS * 3];
    run_params(src, 0, NULL, NULL, rgb, NULL);
    expect_near("default", 0, 0, rgb[0], 0.375, 1e-7);
    double params[6] = {2, 1, 0.5, 0.25, 0, 0};
    run_params(src, 0, params, NULL, rgb, NULL);
    expect_near("set", 0, 0, rgb[0], 0.5, 1e-7);
    expect_near("set", 0, 1, rgb[1], 0.25, 1e-7);
    expect_near("set", 0, 2, rgb[2], 0.125, 1e-7);
    params[0] = 10; /* clamped to the range 0..4 */
    run_params(src, 0, params, NULL, rgb, NULL);
    expect_near("clamped", 0, 0, rgb[0], 1, 1e-7);
}

/* `color` after a vec3 param's value marks it; it stays an ordinary name everywhere else. */
static void test_param_color(void **state) {
    (void)state;
    sky_program *program = compile_ok("param tint = rgb(1, 0.5, 0) color\n"
                                      "param plain = vec3(0.1, 0.2, 0.3)\n"
                                      "param speed = 1 in 0..2\n"
                                      "let color = tint * speed\n"
                                      "fn shade(color) = color * 0.5\n"
                                      "out shade(color) + plain");
    assert_int_equal(sky_program_param_count(program), 3);
    const sky_param_info *tint = sky_program_param(program, 0);
    assert_true(tint->color);
    assert_int_equal(tint->type, SKY_TYPE_VEC3);
    assert_true(tint->value[0] == 1 && tint->value[1] == 0.5 && tint->value[2] == 0);
    assert_false(sky_program_param(program, 1)->color);
    assert_false(sky_program_param(program, 2)->color);
    sky_program_free(program);
}

static void test_param_defaults_fold_constants(void **state) {
    (void)state;
    sky_program *program =
        compile_ok("let k = 3\nfn half(v) = v / 2\nparam p = half(k) + sin(0) in 0..2\nout p");
    assert_true(sky_program_param(program, 0)->value[0] == 1.5);
    sky_program_free(program);
}

static void test_grey_and_colour_out(void **state) {
    (void)state;
    float rgb[LEDS * 3];
    sky_led_input in[LEDS];
    run("out r", 0, rgb, in);
    for (int i = 0; i < LEDS; i++)
        for (int c = 0; c < 3; c++) expect_near("grey", i, c, rgb[3 * i + c], in[i].r, 1e-6);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inputs),
        cmocka_unit_test(test_operators_and_precedence),
        cmocka_unit_test(test_bool_branches),
        cmocka_unit_test(test_hsv),
        cmocka_unit_test(test_palette_and_shapes),
        cmocka_unit_test(test_vector_builtins),
        cmocka_unit_test(test_expansions),
        cmocka_unit_test(test_time_is_per_frame),
        cmocka_unit_test(test_decay),
        cmocka_unit_test(test_decay_trail_is_rate_independent),
        cmocka_unit_test(test_generic_functions),
        cmocka_unit_test(test_memoized_inlining),
        cmocka_unit_test(test_reductions),
        cmocka_unit_test(test_swizzles_and_constructors),
        cmocka_unit_test(test_prev),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_param_defaults_fold_constants),
        cmocka_unit_test(test_param_color),
        cmocka_unit_test(test_grey_and_colour_out),
        cmocka_unit_test(test_inputs_3d),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
