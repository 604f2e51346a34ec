/*
 * test_hash_noise.c - hash() and noise() against values worked out by hand
 * from the spec's definitions, independently of the C kernels.
 *
 * The expected values below were computed with hash_noise_reference.py (in
 * this folder), a stand-alone Python 3 script written from the spec text
 * (docs/language.md, "Pattern helpers") and the op semantics (kernels.h),
 * sharing no code with the C kernels: pcg on Python integers masked to 32
 * bits; bits(f) via struct.pack('<f') with +0 for both zeros; every float32
 * operation done in double and rounded to float32 with struct (exact for
 * + - * of float32 operands, so it is IEEE float32 arithmetic); floor,
 * fade f*f*f*(f*(f*6-15)+10), mix a*(1-t)+b*t, the gradient tables in the
 * spec's order, x then y then z, times sqrt(2) for noise2. The script
 * printed the constants as C hex floats, pasted here unchanged.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kernels.h"

static bool same_bits(float x, float y) {
    return memcmp(&x, &y, sizeof x) == 0;
}

static void test_pcg(void **state) {
    (void)state;
    static const uint32_t v[][2] = {
        {0x00000000u, 0x07bb2fe2u}, {0x00000001u, 0xa8beea3cu}, {0x00000002u, 0x7a7ecc88u},
        {0xdeadbeefu, 0x67299972u}, {0xffffffffu, 0xe62a4902u}, {0x075bcd15u, 0xfea791cau},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        assert_int_equal(kernel_pcg(v[i][0]), v[i][1]);
}

static void test_bits(void **state) {
    (void)state;
    assert_int_equal(kernel_bits(0.0f), 0u);
    assert_int_equal(kernel_bits(-0.0f), 0u); /* f + 0.0: both zeros alike */
    assert_int_equal(kernel_bits(1.0f), 0x3f800000u);
    assert_int_equal(kernel_bits(-2.0f), 0xc0000000u);
}

/* {a, integer hash, float hash} */
static void test_hash1(void **state) {
    (void)state;
    static const struct {
        float a;
        uint32_t h;
        float f;
    } v[] = {
        {0x0.0p+0f, 0x07bb2fe2u, 0x1.eecbcp-6f},
        {-0x0.0p+0f, 0x07bb2fe2u, 0x1.eecbcp-6f},
        {0x1p+0f, 0xf1bb4a13u, 0x1.e37694p-1f},
        {0x1p-1f, 0x3daf416du, 0x1.ed7a08p-3f},
        {-0x1.ap+1f, 0xf227eaceu, 0x1.e44fd4p-1f},
        {0x1.e848p+19f, 0xcc540d20u, 0x1.98a81ap-1f},
        {0x1.81cd6cp+13f, 0x71d25225u, 0x1.c74948p-2f},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_int_equal(kernel_pcg(kernel_bits(v[i].a)), v[i].h);
        assert_true(same_bits(kernel_hash1_f(v[i].a), v[i].f));
        assert_true(kernel_hash1_d(v[i].a) == (double)v[i].f);
    }
}

static void test_hash2(void **state) {
    (void)state;
    static const struct {
        float a, b;
        uint32_t h;
        float f;
    } v[] = {
        {0x0.0p+0f, 0x0.0p+0f, 0x30be035eu, 0x1.85f018p-3f},
        {0x1p+0f, 0x1p+1f, 0x467bba2au, 0x1.19eee8p-2f},
        {-0x1.8p+0f, 0x1.dp+2f, 0x7f2e5657u, 0x1.fcb958p-2f},
        {0x1.8p+1f, -0x0.0p+0f, 0x5faaf1b1u, 0x1.7eabc4p-2f},
        {0x1.92p+6f, 0x1.0624dep-10f, 0x27d6091cu, 0x1.3eb048p-3f},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_int_equal(kernel_hash2_u(v[i].a, v[i].b), v[i].h);
        assert_true(same_bits(kernel_hash2_f(v[i].a, v[i].b), v[i].f));
        assert_true(kernel_hash2_d(v[i].a, v[i].b) == (double)v[i].f);
    }
}

static void test_hash3(void **state) {
    (void)state;
    static const struct {
        float a, b, c;
        uint32_t h;
        float f;
    } v[] = {
        {0x0.0p+0f, 0x0.0p+0f, 0x0.0p+0f, 0x7fddb461u, 0x1.ff76dp-2f},
        {0x1p+0f, 0x1p+1f, 0x1.8p+1f, 0x2e5a129du, 0x1.72d09p-3f},
        {-0x1.2p+2f, 0x1p-2f, 0x1.f4p+9f, 0xc7dde86cu, 0x1.8fbbdp-1f},
        {0x1.cp+2f, 0x1.cp+2f, 0x1.cp+2f, 0xd9eeb127u, 0x1.b3dd62p-1f},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_int_equal(kernel_hash3_u(v[i].a, v[i].b, v[i].c), v[i].h);
        assert_true(same_bits(kernel_hash3_f(v[i].a, v[i].b, v[i].c), v[i].f));
        assert_true(kernel_hash3_d(v[i].a, v[i].b, v[i].c) == (double)v[i].f);
    }
}

/* The per-frame (double) path rounds its arguments to float first. */
static void test_hash_double_rounds_to_float(void **state) {
    (void)state;
    double a = 0.1, b = 1e8 + 3; /* neither is a float */
    assert_true(kernel_hash2_d(a, b) == (double)kernel_hash2_f((float)a, (float)b));
    assert_true(kernel_noise3_d(a, b, 2.7) == (double)kernel_noise3_f((float)a, (float)b, 2.7f));
}

/* [0, 1) always: the largest hash maps to 1 - 2^-24, never to 1.0. */
static void test_hash_range(void **state) {
    (void)state;
    assert_true(kernel_unit(0xffffffffu) == 1.0f - 0x1p-24f);
    assert_true(kernel_unit(0xffffffffu) < 1.0f);
    assert_true(kernel_unit(0u) == 0.0f);
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        float h = kernel_hash2_f((float)i, 0.5f);
        assert_true(h >= 0.0f && h < 1.0f);
        sum += h;
    }
    assert_true(fabs(sum / 100000 - 0.5) < 0.01); /* roughly uniform */
}

static void test_noise2(void **state) {
    (void)state;
    static const float v[][3] = {
        {0x0.0p+0f, 0x0.0p+0f, 0x0.0p+0f},
        {0x1p-1f, 0x1p-1f, -0x1.3504f4p-1f},
        {0x1p-2f, 0x1.8p-1f, -0x1.8488ep-2f},
        {0x1.4cccccp+0f, -0x1.59999ap+1f, -0x1.bbefap-5f},
        {-0x1.99999ap-4f, 0x1.ccccccp-1f, 0x1.f3dc64p-4f},
        {0x1.58a3d8p+3f, 0x1.91eb86p+1f, 0x1.8cce88p-3f},
        {0x1.8p+1f, 0x1p+2f, 0x0.0p+0f},
        {-0x1.6p+2f, -0x1.6p+2f, 0x1.6a09e6p-2f},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        float got = kernel_noise2_f(v[i][0], v[i][1]);
        if (!same_bits(got, v[i][2]))
            fail_msg("noise2(%a, %a) = %a, expected %a", (double)v[i][0], (double)v[i][1],
                     (double)got, (double)v[i][2]);
        assert_true(kernel_noise2_d(v[i][0], v[i][1]) == (double)v[i][2]);
    }
}

static void test_noise3(void **state) {
    (void)state;
    static const float v[][4] = {
        {0x0.0p+0f, 0x0.0p+0f, 0x0.0p+0f, 0x0.0p+0f},
        {0x1p-1f, 0x1p-1f, 0x1p-1f, 0x0.0p+0f},
        {0x1p-2f, 0x1.8p-1f, 0x1.99999ap-4f, 0x1.118734p-2f},
        {0x1.4cccccp+0f, -0x1.59999ap+1f, 0x1.333334p-1f, -0x1.5d5346p-3f},
        {-0x1.99999ap-4f, 0x1.ccccccp-1f, -0x1.a66666p+1f, -0x1.e0dddcp-9f},
        {0x1.58a3d8p+3f, 0x1.91eb86p+1f, 0x1.5ae148p+1f, -0x1.4be344p-5f},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        float got = kernel_noise3_f(v[i][0], v[i][1], v[i][2]);
        if (!same_bits(got, v[i][3]))
            fail_msg("noise3(%a, %a, %a) = %a, expected %a", (double)v[i][0], (double)v[i][1],
                     (double)v[i][2], (double)got, (double)v[i][3]);
    }
}

/* Properties of gradient noise: zero on the lattice, bounded, continuous. */
static void test_noise_properties(void **state) {
    (void)state;
    for (int i = -3; i <= 3; i++)
        for (int j = -3; j <= 3; j++) {
            assert_true(kernel_noise2_f((float)i, (float)j) == 0.0f);
            assert_true(kernel_noise3_f((float)i, (float)j, 1.0f) == 0.0f);
        }
    float lo = 0, hi = 0;
    for (int i = 0; i < 200; i++)
        for (int j = 0; j < 200; j++) {
            float x = i * 0.037f - 3.1f, y = j * 0.041f + 0.3f;
            float n2 = kernel_noise2_f(x, y), n3 = kernel_noise3_f(x, y, x * 0.5f);
            assert_true(n2 >= -1.01f && n2 <= 1.01f);
            assert_true(n3 >= -1.01f && n3 <= 1.01f);
            lo = fminf(lo, n2);
            hi = fmaxf(hi, n2);
            /* continuous: a tiny step moves the value a little */
            assert_true(fabsf(kernel_noise2_f(x + 1e-3f, y) - n2) < 0.02f);
        }
    assert_true(lo < -0.4f && hi > 0.4f); /* and it does vary */
    assert_true(isnan(kernel_noise2_f(NAN, 0.5f)));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pcg),        cmocka_unit_test(test_bits),
        cmocka_unit_test(test_hash1),      cmocka_unit_test(test_hash2),
        cmocka_unit_test(test_hash3),      cmocka_unit_test(test_hash_double_rounds_to_float),
        cmocka_unit_test(test_hash_range), cmocka_unit_test(test_noise2),
        cmocka_unit_test(test_noise3),     cmocka_unit_test(test_noise_properties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
