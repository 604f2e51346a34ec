/*
 * test_cpu_math.c - the CPU backend's math helpers (shaders/sky_cpu.h, the
 * header every emitted kernel pastes) against libm in double precision: the
 * error bounds the header states, over its ranges, and the edge cases the
 * language defines (NaN, infinities, zeros). Compiled with this tree's flags
 * (no -march: the path without fused multiply-adds); the kernels add FMA
 * where the machine has it, which is as accurate or more.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>

#include "sky_cpu.h"

#define POINTS 400000

typedef float (*cpu_fn)(float);
typedef double (*ref_fn)(double);

/* Largest error over POINTS evenly spaced points of [lo, hi]: absolute, or relative. */
static double worst_error(cpu_fn f, ref_fn ref, float lo, float hi, bool relative) {
    double worst = 0;
    for (int i = 0; i <= POINTS; i++) {
        float x = lo + (hi - lo) * (float)i / POINTS;
        double want = ref(x), err = fabs((double)f(x) - want);
        if (relative) err /= fmax(fabs(want), 1e-30);
        if (err > worst) worst = err;
    }
    return worst;
}

static void expect_bound(const char *name, cpu_fn f, ref_fn ref, float lo, float hi, bool relative,
                         double bound) {
    double err = worst_error(f, ref, lo, hi, relative);
    if (err > bound)
        fail_msg("%s on [%g, %g]: %s error %.3g, over the bound %.3g", name, lo, hi,
                 relative ? "relative" : "absolute", err, bound);
}

#define WRAP(name)                   \
    static float w_##name(float x) { \
        return sky_f_##name(x);      \
    }
WRAP(sin)
WRAP(cos)
WRAP(tan)
WRAP(asin)
WRAP(acos)
WRAP(atan)
WRAP(exp)
WRAP(exp2)
WRAP(log)
WRAP(log2)
WRAP(sinh)
WRAP(cosh)
WRAP(tanh)

static void test_bounds(void **state) {
    (void)state;
    expect_bound("sin", w_sin, sin, -16384, 16384, false, 0x1p-22);
    expect_bound("cos", w_cos, cos, -16384, 16384, false, 0x1p-22);
    expect_bound("tan", w_tan, tan, -100, 100, true, 0x1p-20);
    expect_bound("asin", w_asin, asin, -1, 1, false, 0x1p-21);
    expect_bound("acos", w_acos, acos, -1, 1, false, 0x1p-21);
    expect_bound("atan", w_atan, atan, -100, 100, false, 0x1p-21);
    expect_bound("exp", w_exp, exp, -100, 88, true, 0x1p-22);
    expect_bound("exp2", w_exp2, exp2, -140, 127, true, 0x1p-22);
    expect_bound("log", w_log, log, 1e-30f, 1e30f, true, 0x1p-22);
    expect_bound("log near 1", w_log, log, 0.5f, 2.0f, false, 0x1p-22);
    expect_bound("log2", w_log2, log2, 1e-30f, 1e30f, true, 0x1p-22);
    expect_bound("log2 near 1", w_log2, log2, 0.5f, 2.0f, false, 0x1p-22);
    expect_bound("sinh", w_sinh, sinh, -80, 80, true, 0x1p-20);
    expect_bound("cosh", w_cosh, cosh, -80, 80, true, 0x1p-20);
    expect_bound("tanh", w_tanh, tanh, -10, 10, false, 0x1p-22);
    double worst = 0;
    for (int i = -600; i <= 600; i++)
        for (int j = -600; j <= 600; j += 7) {
            float y = (float)i / 60, x = (float)j / 60;
            double e = fabs(sky_k_atan2(y, x) - atan2(y, x));
            if (e > worst) worst = e;
        }
    if (worst > 0x1p-21) fail_msg("atan2: absolute error %.3g, over 2^-21", worst);
    worst = 0;
    for (int i = 1; i <= 500; i++)
        for (int j = -400; j <= 400; j += 3) {
            float x = (float)i / 50, y = (float)j / 50;
            double want = pow(x, y);
            double e = fabs(sky_k_pow(x, y) - want) / want / (1 + fabs(y * log2(x)));
            if (e > worst) worst = e;
        }
    if (worst > 0x1p-22) fail_msg("pow: relative error %.3g x (1 + |y log2 x|), over 2^-22", worst);
}

/* Exact values the kernels of compiler/kernels.h define, and C's edge cases. */
static void test_edges(void **state) {
    (void)state;
    const float inf = INFINITY, nan_ = NAN;
    assert_true(isnan(sky_f_sin(inf)) && isnan(sky_f_cos(-inf)) && isnan(sky_f_sin(nan_)));
    assert_true(sky_f_sin(0.0f) == 0.0f && signbit(sky_f_sin(-0.0f)));
    assert_true(sky_f_cos(0.0f) == 1.0f);
    assert_true(fabsf(sky_f_sin(1e30f)) <= 1.0f && fabsf(sky_f_cos(-3e9f)) <= 1.0f);
    assert_true(sky_f_exp(inf) == inf && sky_f_exp(-inf) == 0.0f && isnan(sky_f_exp(nan_)));
    assert_true(sky_f_exp(0.0f) == 1.0f && sky_f_exp2(10.0f) == 1024.0f);
    assert_true(sky_f_exp2(-149.0f) == 0x1p-149f && sky_f_exp2(128.0f) == inf);
    assert_true(sky_f_log(0.0f) == -inf && isnan(sky_f_log(-1.0f)) && sky_f_log(inf) == inf);
    assert_true(sky_f_log2(8.0f) == 3.0f && sky_f_log2(0x1p-140f) == -140.0f);
    assert_true(isnan(sky_f_asin(1.5f)) && isnan(sky_f_acos(-1.5f)));
    assert_true(sky_f_atan(inf) == (float)(M_PI / 2) && isnan(sky_f_atan(nan_)));
    assert_true(sky_k_atan2(0.0f, 0.0f) == 0.0f && sky_k_atan2(0.0f, -0.0f) == 0.0f);
    assert_true(sky_k_atan2(inf, inf) == (float)(M_PI / 4));
    assert_true(sky_k_atan2(-0.0f, -1.0f) == (float)-M_PI && isnan(sky_k_atan2(nan_, 1.0f)));
    assert_true(sky_f_tanh(inf) == 1.0f && sky_f_tanh(-20.0f) == -1.0f);
    /* pow: the language's definition (docs/language.md) */
    assert_true(sky_k_pow(-2.0f, 3.0f) == -8.0f && sky_k_pow(-2.0f, 2.0f) == 4.0f);
    assert_true(isnan(sky_k_pow(-2.0f, 0.5f)) && sky_k_pow(0.0f, 0.0f) == 1.0f);
    assert_true(sky_k_pow(0.0f, -1.0f) == inf && sky_k_pow(-0.0f, 2.0f) == 0.0f);
    assert_true(sky_k_pow(5.0f, 1.0f) == 5.0f && sky_k_pow(3.0f, 2.0f) == 9.0f);
    assert_true(sky_k_pow(1.0f, nan_) != sky_k_pow(1.0f, nan_)); /* NaN in, NaN out */
    assert_true(sky_k_pow(inf, 0.0f) == 1.0f && sky_k_pow(-inf, 3.0f) == -inf);
    /* round, min, max, sign, step with NaN: as kernels.h */
    assert_true(sky_k_round(0.5f) == 1.0f && sky_k_round(-2.5f) == -3.0f);
    /* min(a, b) = b < a ? b : a: a NaN first stays, a NaN second is dropped */
    assert_true(isnan(sky_k_min(nan_, 1.0f)) && sky_k_min(1.0f, nan_) == 1.0f);
    assert_true(isnan(sky_k_max(nan_, 1.0f)) && sky_k_max(1.0f, nan_) == 1.0f);
    assert_true(sky_k_sign(nan_) == 0.0f && sky_k_step(nan_, 1.0f) == 1.0f);
    assert_true(sky_k_smoothstep(1.0f, 1.0f, 0.5f) == 0.0f);
    assert_true(sky_channel(nan_) == 0.0f && sky_byte(sky_channel(2.0f)) == 255);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
