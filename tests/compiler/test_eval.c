/*
 * test_eval.c - the CPU evaluator end to end on small programs with known
 * answers: the LED inputs (r, theta and its wrap), every leaf, params and
 * their clamping, hoisted uniforms, prev and prev(s, l), the final channel
 * rule, layouts longer than one batch, the introspection API, and the
 * errors for bad arguments.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "backend_util.h"

#define TAU 6.28318530717958647692

/* A layout from explicit points, all on one strip unless sizes are given. */
typedef struct pts_layout {
    tb_layout l;
} pts_layout;

static void layout_from(tb_layout *l, const float *xy, uint32_t n, const uint32_t *sizes,
                        uint32_t strips) {
    memset(l, 0, sizeof *l);
    l->sizes = malloc((strips + 1) * sizeof *l->sizes);
    l->xy = malloc((2 * n + 1) * sizeof *l->xy);
    l->inputs = malloc((n + 1) * sizeof *l->inputs);
    assert_non_null(l->sizes);
    assert_non_null(l->xy);
    assert_non_null(l->inputs);
    memcpy(l->xy, xy, 2 * n * sizeof *xy);
    if (sizes)
        memcpy(l->sizes, sizes, strips * sizeof *sizes);
    else
        l->sizes[0] = n;
    l->view = (sky_layout_view){
        .led_count = n, .strip_count = strips, .strip_sizes = l->sizes, .xy = l->xy};
    assert_int_equal(sky_led_inputs_build(&l->view, l->inputs), SKY_OK);
}

/* out x on a 3-LED strip: the channel rule clamps, bytes round half up. */
static void test_out_x(void **state) {
    (void)state;
    static const float xy[] = {-0.5f, 0, 0.25f, 0, 1.0f, 0};
    tb_layout l;
    layout_from(&l, xy, 3, NULL, 1);
    tb t;
    tb_init(&t);
    node_id x = tb_leaf(&t, OP_X, 0);
    sky_program *p = NULL;
    assert_int_equal(tb_build(&t, x, x, x, 1, &p), SKY_OK);
    float rgb[9];
    uint8_t bytes[9];
    sky_frame_inputs in = {.t = 0};
    assert_int_equal(sky_program_eval(p, &l.view, l.inputs, &in, NULL, rgb, bytes), SKY_OK);
    static const float want[] = {0, 0.25f, 1};
    static const uint8_t want_bytes[] = {0, 64, 255}; /* floor(63.75 + 0.5) = 64 */
    for (int i = 0; i < 3; i++)
        for (int c = 0; c < 3; c++) {
            assert_true(rgb[i * 3 + c] == want[i]);
            assert_int_equal(bytes[i * 3 + c], want_bytes[i]);
        }
    assert_int_equal(sky_program_inputs(p), SKY_INPUT_X);
    assert_false(sky_program_uses_prev(p));
    sky_program_free(p);
    tb_free(&t);
    tb_layout_free(&l);
}

static void test_led_inputs(void **state) {
    (void)state;
    static const float xy[] = {3, 4, -1, 0, -1, -0.0f, 1, -0.0f, 0, -1, 1, -1e-30f, 0, 0};
    tb_layout l;
    layout_from(&l, xy, 7, NULL, 1);
    const sky_led_input *in = l.inputs;
    assert_true(in[0].r == 5.0f);
    assert_true(in[0].theta == (float)atan2(4, 3));
    assert_true(in[1].theta == (float)M_PI);
    assert_true(in[2].theta == (float)M_PI); /* atan2(-0, -1) = -pi, wrapped */
    assert_true(in[3].theta == 0.0f && !signbit(in[3].theta));
    assert_true(in[4].theta == (float)(1.5 * M_PI));
    /* just below the positive x axis: in double 2*pi - 1e-30 rounds to 2*pi; kept below tau */
    assert_true(in[5].theta < (float)TAU);
    assert_true(in[5].theta > 6.2831f);
    assert_true(in[6].r == 0.0f && in[6].theta == 0.0f);
    for (uint32_t i = 0; i < 7; i++) {
        assert_int_equal(in[i].strip, 0);
        assert_int_equal(in[i].led, i);
        assert_int_equal(in[i].leds, 7);
        assert_int_equal(in[i].strip_first, 0);
    }
    tb_layout_free(&l);

    /* strips: the ids and first indices */
    tb_layout d;
    assert_true(tb_layout_disc(&d, 5, 3));
    assert_int_equal(d.inputs[7].strip, 2);
    assert_int_equal(d.inputs[7].led, 1);
    assert_int_equal(d.inputs[7].strip_first, 6);
    for (uint32_t i = 0; i < 15; i++)
        assert_true(d.inputs[i].theta >= 0 && d.inputs[i].theta < (float)TAU);
    tb_layout_free(&d);
}

static void test_led_inputs_errors(void **state) {
    (void)state;
    float xy[4] = {0, 0, 1, 1};
    uint32_t sizes[2] = {1, 2};
    sky_led_input in[2];
    sky_layout_view v = {.led_count = 2, .strip_count = 2, .strip_sizes = sizes, .xy = xy};
    assert_int_equal(sky_led_inputs_build(&v, in), SKY_ERR_INVALID_ARG); /* 1 + 2 != 2 */
    sizes[1] = 1;
    assert_int_equal(sky_led_inputs_build(&v, in), SKY_OK);
    xy[2] = NAN;
    assert_int_equal(sky_led_inputs_build(&v, in), SKY_ERR_INVALID_ARG);
    assert_int_equal(sky_led_inputs_build(NULL, in), SKY_ERR_INVALID_ARG);
    assert_int_equal(sky_led_inputs_build(&v, NULL), SKY_ERR_INVALID_ARG);
    sky_layout_view empty = {0};
    assert_int_equal(sky_led_inputs_build(&empty, NULL), SKY_OK);
}

/* rgb(strip / strips, led / leds, index / count): every per-LED and layout leaf. */
static void test_layout_leaves(void **state) {
    (void)state;
    tb_layout l;
    assert_true(tb_layout_disc(&l, 4, 5));
    tb t;
    tb_init(&t);
    node_id r = tb_2(&t, OP_DIV, tb_leaf(&t, OP_STRIP, 0), tb_leaf(&t, OP_STRIPS, 0));
    node_id g = tb_2(&t, OP_DIV, tb_leaf(&t, OP_LED, 0), tb_leaf(&t, OP_LEDS, 0));
    node_id b = tb_2(&t, OP_DIV, tb_leaf(&t, OP_INDEX, 0), tb_leaf(&t, OP_COUNT, 0));
    sky_program *p = NULL;
    assert_int_equal(tb_build(&t, r, g, b, 1, &p), SKY_OK);
    assert_int_equal(sky_program_uniform_count(p), 2); /* strips and count, hoisted */
    float rgb[60];
    assert_int_equal(tb_eval(p, &l, 0, 0, NULL, NULL, rgb), SKY_OK);
    for (uint32_t i = 0; i < 20; i++) {
        assert_true(rgb[i * 3 + 0] == (float)(i / 5) / 4.0f);
        assert_true(rgb[i * 3 + 1] == (float)(i % 5) / 5.0f);
        assert_true(rgb[i * 3 + 2] == (float)i / 20.0f);
    }
    uint32_t want = SKY_INPUT_STRIP | SKY_INPUT_STRIPS | SKY_INPUT_LED | SKY_INPUT_LEDS |
                    SKY_INPUT_INDEX | SKY_INPUT_COUNT;
    assert_int_equal(sky_program_inputs(p), want);
    sky_program_free(p);
    tb_free(&t);
    tb_layout_free(&l);
}

/* r and theta reach the program as sky_led_inputs_build computed them. */
static void test_polar_leaves(void **state) {
    (void)state;
    tb_layout l;
    assert_true(tb_layout_disc(&l, 8, 4));
    tb t;
    tb_init(&t);
    node_id r = tb_leaf(&t, OP_R, 0);
    node_id th = tb_2(&t, OP_DIV, tb_leaf(&t, OP_THETA, 0), tb_c(&t, TAU));
    node_id y =
        tb_2(&t, OP_MUL, tb_2(&t, OP_ADD, tb_leaf(&t, OP_Y, 0), tb_c(&t, 1)), tb_c(&t, 0.5));
    sky_program *p = NULL;
    assert_int_equal(tb_build(&t, r, th, y, 1, &p), SKY_OK);
    float rgb[96];
    assert_int_equal(tb_eval(p, &l, 0, 0, NULL, NULL, rgb), SKY_OK);
    for (uint32_t i = 0; i < 32; i++) {
        assert_true(rgb[i * 3] == l.inputs[i].r);
        assert_true(rgb[i * 3 + 1] == l.inputs[i].theta / (float)TAU);
        assert_true(rgb[i * 3 + 2] == (l.inputs[i].y + 1.0f) * 0.5f);
    }
    sky_program_free(p);
    tb_free(&t);
    tb_layout_free(&l);
}

/* fract(t * speed) with speed a ranged param: clamped, hoisted, computed in double. */
static void test_params_and_time(void **state) {
    (void)state;
    tb_layout l;
    assert_true(tb_layout_disc(&l, 1, 3));
    tb t;
    tb_init(&t);
    node_id speed = tb_param(&t, "speed", 1.0, true, 0, 4);
    node_id level = tb_param(&t, "level", 0.5, false, 0, 0);
    node_id v = tb_1(&t, OP_FRACT, tb_2(&t, OP_MUL, tb_leaf(&t, OP_T, 0), speed));
    node_id g = tb_2(&t, OP_MUL, level, tb_leaf(&t, OP_DT, 0));
    node_id b = tb_2(&t, OP_DIV, tb_leaf(&t, OP_FRAME, 0), tb_c(&t, 1000));
    sky_program *p = NULL;
    assert_int_equal(tb_build(&t, v, g, b, 1, &p), SKY_OK);

    assert_int_equal(sky_program_param_count(p), 2);
    assert_int_equal(sky_program_param_slots(p), 2);
    assert_int_equal(sky_program_param_find(p, "level"), 1);
    assert_int_equal(sky_program_param_find(p, "nope"), -1);
    assert_string_equal(sky_program_param(p, 0)->name, "speed");
    assert_true(sky_program_param(p, 0)->has_range && sky_program_param(p, 0)->max == 4);
    assert_null(sky_program_param(p, 2));
    double defaults[2];
    sky_program_param_defaults(p, defaults);
    assert_true(defaults[0] == 1.0 && defaults[1] == 0.5);
    assert_int_equal(sky_program_led_size(p), 3); /* three uniforms, nothing per LED */
    assert_true(sky_program_frame_size(p) >= 9);

    float rgb[9];
    /* t = 1e6 + 0.25: in float32, t itself would lose the .25; the frame section is double */
    double params[2] = {10.0, 2.0}; /* speed clamps to 4 */
    sky_frame_inputs in = {.t = 1e6 + 0.25, .dt = 0.125, .frame = 500, .params = params};
    assert_int_equal(sky_program_eval(p, &l.view, l.inputs, &in, NULL, rgb, NULL), SKY_OK);
    assert_true(rgb[0] == (float)fmod((1e6 + 0.25) * 4, 1.0)); /* 0 */
    assert_true(rgb[1] == 0.25f);
    assert_true(rgb[2] == 0.5f);
    params[0] = 0.1;
    assert_int_equal(sky_program_eval(p, &l.view, l.inputs, &in, NULL, rgb, NULL), SKY_OK);
    double want = (1e6 + 0.25) * 0.1;
    assert_true(rgb[0] == (float)(want - floor(want)));
    params[0] = NAN; /* a NaN for a ranged param keeps its default */
    assert_int_equal(sky_program_eval(p, &l.view, l.inputs, &in, NULL, rgb, NULL), SKY_OK);
    assert_true(rgb[0] == 0.25f);

    float u[3];
    assert_int_equal(sky_program_eval_frame(p, &l.view, &in, u), SKY_OK);
    assert_true(u[0] == 0.25f && u[1] == 0.25f && u[2] == 0.5f);
    sky_program_free(p);
    tb_free(&t);
    tb_layout_free(&l);
}

/* prev: this LED's last colour, per channel; black when there is none. */
static void test_prev(void **state) {
    (void)state;
    tb_layout l;
    assert_true(tb_layout_disc(&l, 2, 2));
    tb t;
    tb_init(&t);
    node_id pr = tb_leaf(&t, OP_PREV, 0), pg = tb_leaf(&t, OP_PREV, 1),
            pb = tb_leaf(&t, OP_PREV, 2);
    /* prev.bgr * 0.5 */
    node_id h = tb_c(&t, 0.5);
    sky_program *p = NULL;
    assert_int_equal(tb_build(&t, tb_2(&t, OP_MUL, pb, h), tb_2(&t, OP_MUL, pg, h),
                              tb_2(&t, OP_MUL, pr, h), 1, &p),
                     SKY_OK);
    assert_true(sky_program_uses_prev(p));
    assert_int_equal(sky_program_inputs(p), SKY_INPUT_PREV);
    float prev[12], rgb[12];
    for (int i = 0; i < 12; i++) prev[i] = (float)i / 16;
    assert_int_equal(tb_eval(p, &l, 0, 1, NULL, prev, rgb), SKY_OK);
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < 3; c++) assert_true(rgb[i * 3 + c] == prev[i * 3 + 2 - c] * 0.5f);
    assert_int_equal(tb_eval(p, &l, 0, 0, NULL, NULL, rgb), SKY_OK);
    for (int i = 0; i < 12; i++) assert_true(rgb[i] == 0);
    sky_program_free(p);
    tb_free(&t);
    tb_layout_free(&l);
}

/* The reference for prev(s, l): strips wrap, LEDs outside the strip are black. */
static float prev_at_ref(const tb_layout *l, const float *prev, float s, float led, int c) {
    int n = (int)l->view.strip_count;
    if (!isfinite(s) || !isfinite(led)) return 0;
    int si = (int)floorf(s) % n;
    if (si < 0) si += n;
    int li = (int)floorf(led);
    if (li < 0 || li >= (int)l->sizes[si]) return 0;
    int first = 0;
    for (int k = 0; k < si; k++) first += (int)l->sizes[k];
    return prev[(first + li) * 3 + c];
}

/* prev(strip + off_s, led - 1) on strips of different lengths. */
static void test_prev_at(void **state) {
    (void)state;
    static const uint32_t sizes[] = {3, 5, 2};
    float xy[20] = {0};
    tb_layout l;
    layout_from(&l, xy, 10, sizes, 3);
    float prev[30];
    for (int i = 0; i < 30; i++) prev[i] = (float)(i + 1) / 32;
    const double offsets[] = {0, 1, -1, 2.5, -4, 7, NAN};
    for (size_t k = 0; k < sizeof offsets / sizeof offsets[0]; k++) {
        tb t;
        tb_init(&t);
        node_id s = tb_2(&t, OP_ADD, tb_leaf(&t, OP_STRIP, 0), tb_c(&t, offsets[k]));
        node_id li = tb_2(&t, OP_SUB, tb_leaf(&t, OP_LED, 0), tb_c(&t, 1));
        node_id ch[3];
        for (int c = 0; c < 3; c++) ch[c] = graph_add(t.g, OP_PREV_AT, s, li, GRAPH_NONE, c);
        sky_program *p = NULL;
        assert_int_equal(tb_build(&t, ch[0], ch[1], ch[2], 1, &p), SKY_OK);
        assert_true(sky_program_uses_prev(p));
        assert_true(sky_program_inputs(p) & SKY_INPUT_PREV_AT);
        float rgb[30];
        assert_int_equal(tb_eval(p, &l, 0, 1, NULL, prev, rgb), SKY_OK);
        for (int i = 0; i < 10; i++)
            for (int c = 0; c < 3; c++) {
                float s_v = (float)l.inputs[i].strip + (float)offsets[k];
                float l_v = (float)l.inputs[i].led - 1.0f;
                float want = prev_at_ref(&l, prev, s_v, l_v, c);
                if (rgb[i * 3 + c] != want)
                    fail_msg("prev(strip %+g, led - 1) at LED %d channel %d: %g, want %g",
                             offsets[k], i, c, (double)rgb[i * 3 + c], (double)want);
            }
        /* no previous frame: black */
        assert_int_equal(tb_eval(p, &l, 0, 0, NULL, NULL, rgb), SKY_OK);
        for (int i = 0; i < 30; i++) assert_true(rgb[i] == 0);
        sky_program_free(p);
        tb_free(&t);
    }
    tb_layout_free(&l);
}

/* More LEDs than one batch, with a partial last batch: every LED gets its own value. */
static void test_many_leds(void **state) {
    (void)state;
    tb_layout l;
    assert_true(tb_layout_disc(&l, 7, 151)); /* 1057 LEDs */
    tb t;
    tb_init(&t);
    node_id idx = tb_leaf(&t, OP_INDEX, 0);
    node_id v = tb_1(&t, OP_FRACT, tb_2(&t, OP_MUL, idx, tb_c(&t, 0.001)));
    node_id w = tb_1(&t, OP_SIN, tb_2(&t, OP_ADD, tb_leaf(&t, OP_X, 0), tb_leaf(&t, OP_T, 0)));
    node_id z = tb_3(&t, OP_SELECT, tb_2(&t, OP_LT, idx, tb_c(&t, 500)), tb_c(&t, 0.25), v);
    sky_program *p = NULL;
    assert_int_equal(tb_build(&t, v, w, z, 1, &p), SKY_OK);
    float *rgb = malloc(1057 * 3 * sizeof *rgb);
    uint8_t *bytes = malloc(1057 * 3);
    assert_non_null(rgb);
    assert_non_null(bytes);
    sky_frame_inputs in = {.t = 0.75};
    assert_int_equal(sky_program_eval(p, &l.view, l.inputs, &in, NULL, rgb, bytes), SKY_OK);
    for (uint32_t i = 0; i < 1057; i++) {
        float fv = (float)i * 0.001f;
        fv = fv - floorf(fv);
        assert_true(rgb[i * 3] == fv);
        float sw = sinf(l.inputs[i].x + 0.75f);
        assert_true(rgb[i * 3 + 1] == (sw > 0 ? sw : 0));
        assert_true(rgb[i * 3 + 2] == (i < 500 ? 0.25f : fv));
        assert_int_equal(bytes[i * 3], (uint8_t)floorf(fv * 255.0f + 0.5f));
    }
    /* bytes only, and neither, are fine too */
    assert_int_equal(sky_program_eval(p, &l.view, l.inputs, &in, NULL, NULL, bytes), SKY_OK);
    assert_int_equal(sky_program_eval(p, &l.view, l.inputs, &in, NULL, NULL, NULL), SKY_OK);
    free(rgb);
    free(bytes);
    sky_program_free(p);
    tb_free(&t);
    tb_layout_free(&l);
}

/* A long chain reuses registers and still gets every value right. */
static void test_long_chain(void **state) {
    (void)state;
    tb_layout l;
    assert_true(tb_layout_disc(&l, 3, 100));
    tb t;
    tb_init(&t);
    node_id x = tb_leaf(&t, OP_X, 0), acc = x;
    node_id keep = tb_2(&t, OP_MUL, x, tb_c(&t, 0.5)); /* live across the whole chain */
    for (int i = 0; i < 400; i++)
        acc = tb_2(&t, OP_ADD, tb_2(&t, OP_MUL, acc, tb_c(&t, 0.5)), tb_c(&t, 0.25 + i * 1e-4));
    node_id out = tb_2(&t, OP_ADD, acc, keep);
    sky_program *p = NULL;
    assert_int_equal(tb_build(&t, out, keep, acc, 1, &p), SKY_OK);
    float *rgb = malloc(300 * 3 * sizeof *rgb);
    assert_non_null(rgb);
    assert_int_equal(tb_eval(p, &l, 0, 0, NULL, NULL, rgb), SKY_OK);
    for (uint32_t i = 0; i < 300; i++) {
        float xv = l.inputs[i].x, a = xv;
        for (int k = 0; k < 400; k++) a = a * 0.5f + (float)(0.25 + k * 1e-4);
        float o = a + xv * 0.5f;
        assert_true(rgb[i * 3] == (o > 0 ? (o < 1 ? o : 1) : 0));
        float kp = xv * 0.5f;
        assert_true(rgb[i * 3 + 1] == (kp > 0 ? kp : 0));
    }
    free(rgb);
    sky_program_free(p);
    tb_free(&t);
    tb_layout_free(&l);
}

/* NaN and infinities at the output follow the channel rule. */
static void test_channel_rule_end_to_end(void **state) {
    (void)state;
    tb_layout l;
    assert_true(tb_layout_disc(&l, 1, 2));
    tb t;
    tb_init(&t);
    node_id x = tb_leaf(&t, OP_X, 0);
    node_id nan = tb_1(&t, OP_SQRT, tb_2(&t, OP_SUB, tb_c(&t, -1), tb_1(&t, OP_ABS, x)));
    node_id inf = tb_2(&t, OP_DIV, tb_c(&t, 1), tb_2(&t, OP_MUL, x, tb_c(&t, 0)));
    node_id ninf = tb_1(&t, OP_NEG, inf);
    sky_program *p = NULL;
    assert_int_equal(tb_build(&t, nan, inf, ninf, 1, &p), SKY_OK);
    float rgb[6];
    uint8_t bytes[6];
    sky_frame_inputs in = {.t = 0};
    assert_int_equal(sky_program_eval(p, &l.view, l.inputs, &in, NULL, rgb, bytes), SKY_OK);
    for (int i = 0; i < 2; i++) {
        assert_true(rgb[i * 3] == 0 && bytes[i * 3] == 0);
        assert_true(rgb[i * 3 + 1] == 1 && bytes[i * 3 + 1] == 255);
        assert_true(rgb[i * 3 + 2] == 0 && bytes[i * 3 + 2] == 0);
    }
    sky_program_free(p);
    tb_free(&t);
    tb_layout_free(&l);
}

static void test_bad_arguments(void **state) {
    (void)state;
    tb_layout l;
    assert_true(tb_layout_disc(&l, 1, 2));
    tb t;
    tb_init(&t);
    node_id v = tb_2(&t, OP_ADD, tb_leaf(&t, OP_X, 0), tb_1(&t, OP_SIN, tb_leaf(&t, OP_T, 0)));
    sky_program *p = NULL;
    assert_int_equal(tb_build(&t, v, v, v, 1, &p), SKY_OK);
    float rgb[6], u[4];
    sky_frame_inputs in = {.t = 0};
    assert_int_equal(sky_program_eval(NULL, &l.view, l.inputs, &in, NULL, rgb, NULL),
                     SKY_ERR_INVALID_ARG);
    assert_int_equal(sky_program_eval(p, NULL, l.inputs, &in, NULL, rgb, NULL),
                     SKY_ERR_INVALID_ARG);
    assert_int_equal(sky_program_eval(p, &l.view, NULL, &in, NULL, rgb, NULL), SKY_ERR_INVALID_ARG);
    assert_int_equal(sky_program_eval(p, &l.view, l.inputs, NULL, NULL, rgb, NULL),
                     SKY_ERR_INVALID_ARG);
    assert_int_equal(sky_program_eval_frame(p, &l.view, &in, NULL), SKY_ERR_INVALID_ARG);
    assert_int_equal(sky_program_eval_leds(p, &l.view, l.inputs, NULL, NULL, rgb, NULL),
                     SKY_ERR_INVALID_ARG);
    assert_int_equal(sky_program_eval_frame(p, &l.view, &in, u), SKY_OK);
    assert_int_equal(sky_program_eval_leds(p, &l.view, l.inputs, u, NULL, rgb, NULL), SKY_OK);
    /* strip sizes that do not add up to the LED count */
    uint32_t bad_sizes[1] = {5};
    sky_layout_view bad = l.view;
    bad.strip_sizes = bad_sizes;
    assert_int_equal(sky_program_eval_leds(p, &bad, l.inputs, u, NULL, rgb, NULL),
                     SKY_ERR_INVALID_ARG);
    /* an empty layout has nothing to do */
    sky_layout_view empty = {0};
    assert_int_equal(sky_program_eval_leds(p, &empty, NULL, u, NULL, NULL, NULL), SKY_OK);
    /* NULL programs answer the introspection calls with nothing */
    assert_int_equal(sky_program_param_count(NULL), 0);
    assert_null(sky_program_param(NULL, 0));
    assert_int_equal(sky_program_param_find(NULL, "x"), -1);
    assert_int_equal(sky_program_uniform_count(NULL), 0);
    assert_int_equal(sky_program_inputs(NULL), 0);
    assert_false(sky_program_uses_prev(NULL));
    char *text = NULL;
    assert_int_equal(sky_program_emit_ir(NULL, &text), SKY_ERR_INVALID_ARG);
    sky_program_free(NULL);
    sky_program_free(p);
    tb_free(&t);
    tb_layout_free(&l);
}

/* vec3 params take three slots; defaults and slots come back per component. */
static void test_vector_param(void **state) {
    (void)state;
    tb t;
    tb_init(&t);
    node_id a = tb_param(&t, "gain", 2.0, true, 0, 3);
    sky_param_info *col = &t.params[t.param_count++];
    *col = (sky_param_info){
        .name = "tint", .type = SKY_TYPE_VEC3, .slot = 1, .value = {0.25, 0.5, 0.75}};
    t.param_slots = 4;
    node_id c[3];
    for (int k = 0; k < 3; k++)
        c[k] = tb_2(&t, OP_MUL, tb_leaf(&t, OP_PARAM, 1 + k), tb_2(&t, OP_MUL, a, tb_c(&t, 0.5)));
    sky_program *p = NULL;
    assert_int_equal(tb_build(&t, c[0], c[1], c[2], 1, &p), SKY_OK);
    assert_int_equal(sky_program_param_slots(p), 4);
    assert_int_equal(sky_program_param(p, 1)->type, SKY_TYPE_VEC3);
    double d[4];
    sky_program_param_defaults(p, d);
    assert_true(d[0] == 2 && d[1] == 0.25 && d[2] == 0.5 && d[3] == 0.75);
    tb_layout l;
    assert_true(tb_layout_disc(&l, 1, 1));
    float rgb[3];
    double given[4] = {1, 0.5, 0.25, 3};
    assert_int_equal(tb_eval(p, &l, 0, 0, given, NULL, rgb), SKY_OK);
    assert_true(rgb[0] == 0.25f && rgb[1] == 0.125f && rgb[2] == 1.0f);
    char *ir = NULL;
    assert_int_equal(sky_program_emit_ir(p, &ir), SKY_OK);
    assert_non_null(strstr(ir, "tint.y"));
    assert_non_null(strstr(ir, "; gain"));
    sky_free(ir);
    tb_layout_free(&l);
    sky_program_free(p);
    tb_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_x),
        cmocka_unit_test(test_led_inputs),
        cmocka_unit_test(test_led_inputs_errors),
        cmocka_unit_test(test_layout_leaves),
        cmocka_unit_test(test_polar_leaves),
        cmocka_unit_test(test_params_and_time),
        cmocka_unit_test(test_prev),
        cmocka_unit_test(test_prev_at),
        cmocka_unit_test(test_many_leds),
        cmocka_unit_test(test_long_chain),
        cmocka_unit_test(test_channel_rule_end_to_end),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_vector_param),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
