/*
 * test_pipeline.c - gamma LUT, colour order, power limiter, quantizing and
 * temporal dithering, with known inputs and hand-computed outputs.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pipeline.h"

static void test_lut_gamma_and_brightness(void **state) {
    (void)state;
    uint16_t lut[256];
    pipe_build_lut(lut, 1.0, 1.0); /* linear: v -> v.0 in 8.8 */
    for (int i = 0; i < 256; i++) assert_int_equal(lut[i], 256 * i);
    pipe_build_lut(lut, 2.2, 1.0);
    assert_int_equal(lut[0], 0);
    assert_int_equal(lut[255], 65280);
    /* 65280 * (128/255)^2.2 = 14329.9 -> 14330; (1/255)^2.2 * 65280 = 0.0033 -> 0 */
    assert_int_equal(lut[128], 14330);
    assert_int_equal(lut[1], 0);
    assert_int_equal(lut[64], (int)lround(65280.0 * pow(64 / 255.0, 2.2)));
    for (int i = 1; i < 256; i++) assert_true(lut[i] >= lut[i - 1]);
    pipe_build_lut(lut, 1.0, 0.5);
    assert_int_equal(lut[255], 32640);
    assert_int_equal(lut[100], 12800);
    pipe_build_lut(lut, 2.8, 0.0);
    for (int i = 0; i < 256; i++) assert_int_equal(lut[i], 0);
}

static void test_colour_order(void **state) {
    (void)state;
    uint8_t perm[3];
    pipe_order_perm("RGB", perm);
    assert_int_equal(perm[0], 0);
    assert_int_equal(perm[1], 1);
    assert_int_equal(perm[2], 2);
    pipe_order_perm("GRB", perm);
    assert_int_equal(perm[0], 1);
    assert_int_equal(perm[1], 0);
    assert_int_equal(perm[2], 2);
    pipe_order_perm("BGR", perm);
    assert_int_equal(perm[0], 2);
    assert_int_equal(perm[1], 1);
    assert_int_equal(perm[2], 0);

    uint16_t lut[256], out[6];
    uint64_t sums[3] = {0, 0, 0};
    pipe_build_lut(lut, 1.0, 1.0);
    const uint8_t rgb[6] = {10, 20, 30, 1, 2, 3};
    pipe_order_perm("BRG", perm);
    pipe_apply_lut(rgb, 2, lut, perm, out, sums);
    const uint16_t expect[6] = {30 * 256, 10 * 256, 20 * 256, 3 * 256, 1 * 256, 2 * 256};
    assert_memory_equal(out, expect, sizeof expect);
    /* Sums are per frame channel (R, G, B), whatever the wire order. */
    assert_int_equal(sums[0], 11 * 256);
    assert_int_equal(sums[1], 22 * 256);
    assert_int_equal(sums[2], 33 * 256);
}

static void test_power_limiter(void **state) {
    (void)state;
    pipe_power_model model = {{20, 20, 20}, 1};
    /* 10 LEDs at full white: 10 x 60 mA dynamic + 10 mA idle = 610 mA. */
    uint8_t rgb[30];
    memset(rgb, 255, sizeof rgb);
    uint16_t lut[256], v[30];
    uint8_t perm[3] = {0, 1, 2}, out[30];
    uint64_t sums[3] = {0, 0, 0};
    pipe_build_lut(lut, 2.2, 1.0);
    pipe_apply_lut(rgb, 10, lut, perm, v, sums);
    double dyn = pipe_power_dynamic(&model, sums);
    assert_true(fabs(dyn - 600.0) < 1e-9);
    assert_true(pipe_power_factor(10, dyn, 0) == 1.0);   /* no budget */
    assert_true(pipe_power_factor(10, dyn, 700) == 1.0); /* within */
    assert_true(pipe_power_factor(10, dyn, 5) == 0.0);   /* not even idle fits */
    double f = pipe_power_factor(10, dyn, 310);
    assert_true(fabs(f - 0.5) < 1e-12); /* (310 - 10) / 600 */
    uint32_t scale = pipe_scale_q16(f);
    assert_int_equal(scale, 32768);
    pipe_quantize(v, 30, scale, out);
    for (int i = 0; i < 30; i++) assert_int_equal(out[i], 127); /* floor(255 * 0.5) */
    /* The estimate of what actually goes out stays within the budget. */
    double sent = 10;
    for (int i = 0; i < 30; i++) sent += 20.0 * out[i] / 255.0;
    assert_true(sent <= 310.0);

    /* A channel-weighted model (FastLED's 16/11/15 mA): pure green is cheap. */
    pipe_power_model ws = {{16, 11, 15}, 1};
    uint64_t green[3] = {0, 65280ull * 100, 0}; /* 100 LEDs of full green */
    assert_true(fabs(pipe_power_dynamic(&ws, green) - 1100.0) < 1e-9);
    double g = pipe_power_factor(100, 1100, 650); /* (650 - 100) / 1100 */
    assert_true(fabs(g - 0.5) < 1e-12);
}

static void test_quantize_rounding(void **state) {
    (void)state;
    const uint16_t in[6] = {0, 127, 128, 383, 65280, 32768};
    uint8_t out[6];
    pipe_quantize(in, 6, PIPE_SCALE_ONE, out);
    const uint8_t expect[6] = {0, 0, 1, 1, 255, 128};
    assert_memory_equal(out, expect, 6);
    /* Scaled: rounds down (a limited frame never exceeds its estimate). */
    pipe_quantize(in, 6, 49152, out); /* 0.75 */
    const uint8_t scaled[6] = {0, 0, 0, 1, 191, 96};
    assert_memory_equal(out, scaled, 6);
    pipe_quantize(in, 6, 0, out);
    for (int i = 0; i < 6; i++) assert_int_equal(out[i], 0);
    assert_int_equal(pipe_scale_q16(1.5), PIPE_SCALE_ONE);
    assert_int_equal(pipe_scale_q16(-1), 0);
    assert_int_equal(pipe_scale_q16(0.25), 16384);
}

static void test_dithering(void **state) {
    (void)state;
    /* 1.25 in 8.8 (0x0140): the sigma-delta gives 1, 1, 1, 2 and repeats. */
    uint16_t in[1] = {0x0140};
    uint8_t residual[1] = {0}, out[1];
    const uint8_t expect[8] = {1, 1, 1, 2, 1, 1, 1, 2};
    for (int k = 0; k < 8; k++) {
        pipe_dither(in, 1, PIPE_SCALE_ONE, residual, out);
        assert_int_equal(out[0], expect[k]);
    }
    /* Over 256 refreshes every value averages exactly to its 8.8 input. */
    enum { N = 7 };
    uint16_t values[N] = {0, 1, 255, 256 + 37, 12345, 65024, 65280};
    uint8_t res[N] = {0};
    uint32_t total[N] = {0};
    for (int k = 0; k < 256; k++) {
        uint8_t o[N];
        pipe_dither(values, N, PIPE_SCALE_ONE, res, o);
        for (int i = 0; i < N; i++) total[i] += o[i];
    }
    for (int i = 0; i < N; i++) assert_int_equal(total[i], values[i]);
    /* With a scale, the average is the scaled value: 65280 * 0.5 = 32640 = 127.5. */
    uint16_t full[1] = {65280};
    uint8_t r2[1] = {0};
    uint32_t sum = 0;
    for (int k = 0; k < 256; k++) {
        uint8_t o;
        pipe_dither(full, 1, 32768, r2, &o);
        assert_true(o == 127 || o == 128);
        sum += o;
    }
    assert_int_equal(sum, 32640);
}

/* An optional argument runs only the tests matching it (cmocka's filter). */
int main(int argc, char **argv) {
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lut_gamma_and_brightness),
        cmocka_unit_test(test_colour_order),
        cmocka_unit_test(test_power_limiter),
        cmocka_unit_test(test_quantize_rounding),
        cmocka_unit_test(test_dithering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
