/*
 * test_builtins.c - every operation of ops.def, in float and in double,
 * against known values, with the edge cases the op semantics define
 * (pow of negatives, floored mod, round half away from zero, smoothstep with
 * e0 == e1, min/max with NaN, signed zeros).
 *
 * Each case runs four ways: the scalar kernels (kernel_apply_d/_f, what the
 * folder runs), the frame section (operands are params: double precision),
 * the LED section's batch interpreter (operands made per-LED: float), and
 * folded at -O1 (operands are constants). The programs compare the result
 * with the expected value themselves and output 1 when it matches, so the
 * check needs no access to the evaluator's registers.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include <cmocka.h>

#include "backend_util.h"
#include "eval.h"
#include "kernels.h"

enum { EXACT = 0, APPROX = 1, ISNAN = 2 };

typedef struct op_case {
    sky_op op;
    double a, b, c;
    double expect; /* for EXACT, compared bit for bit in the scalar kernels */
    int kind;
} op_case;

#define PI   3.14159265358979323846
#define NZ   (-0.0)
#define INF  INFINITY
#define QNAN NAN
#define S3   (0x1.6a09e6p-1) /* sqrt(0.5) as a float */

static const op_case cases[] = {
    {OP_NEG, 3, 0, 0, -3, EXACT},
    {OP_NEG, 0, 0, 0, NZ, EXACT},
    {OP_NEG, NZ, 0, 0, 0, EXACT},
    {OP_ADD, 1.5, 2.25, 0, 3.75, EXACT},
    {OP_ADD, NZ, 0, 0, 0, EXACT}, /* -0 + 0 is +0 */
    {OP_ADD, NZ, NZ, 0, NZ, EXACT},
    {OP_ADD, INF, -INF, 0, 0, ISNAN},
    {OP_SUB, 5, 7, 0, -2, EXACT},
    {OP_SUB, INF, INF, 0, 0, ISNAN},
    {OP_MUL, 3, -4, 0, -12, EXACT},
    {OP_MUL, NZ, 5, 0, NZ, EXACT},
    {OP_MUL, 0, INF, 0, 0, ISNAN},
    {OP_DIV, 1, 4, 0, 0.25, EXACT},
    {OP_DIV, 1, 0, 0, INF, EXACT},
    {OP_DIV, 1, NZ, 0, -INF, EXACT},
    {OP_DIV, 0, 0, 0, 0, ISNAN},
    /* mod is floored: the result takes the sign of y */
    {OP_MOD, 7, 3, 0, 1, EXACT},
    {OP_MOD, -7, 3, 0, 2, EXACT},
    {OP_MOD, 7, -3, 0, -2, EXACT},
    {OP_MOD, -7, -3, 0, -1, EXACT},
    {OP_MOD, 5.5, 2, 0, 1.5, EXACT},
    {OP_MOD, -0.25, 1, 0, 0.75, EXACT},
    {OP_MOD, 1, 0, 0, 0, ISNAN},
    /* pow: C semantics for negative bases, defined zeros */
    {OP_POW, 2, 10, 0, 1024, EXACT},
    {OP_POW, 4, 0.5, 0, 2, EXACT},
    {OP_POW, -2, 3, 0, -8, EXACT},
    {OP_POW, -2, 2, 0, 4, EXACT},
    {OP_POW, -2, -1, 0, -0.5, EXACT},
    {OP_POW, -2, -2, 0, 0.25, EXACT},
    {OP_POW, -8, 1.0 / 3.0, 0, 0, ISNAN},
    {OP_POW, -0.5, 2.5, 0, 0, ISNAN},
    {OP_POW, 0, 0, 0, 1, EXACT},
    {OP_POW, 0, 2, 0, 0, EXACT},
    {OP_POW, NZ, 3, 0, 0, EXACT}, /* +0, not C's -0 */
    {OP_POW, 0, -1, 0, INF, EXACT},
    {OP_POW, NZ, -1, 0, INF, EXACT}, /* +inf, not C's -inf */
    {OP_POW, NZ, 0, 0, 1, EXACT},
    {OP_POW, -1, INF, 0, 1, EXACT},
    {OP_POW, -2, INF, 0, INF, EXACT}, /* infinities are even */
    {OP_POW, -0.5, INF, 0, 0, EXACT},
    {OP_POW, -INF, 3, 0, -INF, EXACT},
    {OP_POW, -INF, 2, 0, INF, EXACT},
    {OP_POW, -INF, -3, 0, NZ, EXACT},
    {OP_POW, 2, QNAN, 0, 0, ISNAN},
    {OP_POW, QNAN, 0, 0, 0, ISNAN},
    {OP_POW, 1, QNAN, 0, 0, ISNAN},
    /* comparisons: NaN compares false except != */
    {OP_LT, 1, 2, 0, 1, EXACT},
    {OP_LT, 2, 2, 0, 0, EXACT},
    {OP_LT, QNAN, 1, 0, 0, EXACT},
    {OP_LE, 2, 2, 0, 1, EXACT},
    {OP_LE, 3, 2, 0, 0, EXACT},
    {OP_GT, 3, 2, 0, 1, EXACT},
    {OP_GT, 1, QNAN, 0, 0, EXACT},
    {OP_GE, 2, 2, 0, 1, EXACT},
    {OP_GE, 1, 2, 0, 0, EXACT},
    {OP_EQ, NZ, 0, 0, 1, EXACT},
    {OP_EQ, QNAN, QNAN, 0, 0, EXACT},
    {OP_NE, QNAN, QNAN, 0, 1, EXACT},
    {OP_NE, 1, 1, 0, 0, EXACT},
    /* logic on 0/1 */
    {OP_NOT, 0, 0, 0, 1, EXACT},
    {OP_NOT, 1, 0, 0, 0, EXACT},
    {OP_AND, 1, 1, 0, 1, EXACT},
    {OP_AND, 1, 0, 0, 0, EXACT},
    {OP_AND, 0, 0, 0, 0, EXACT},
    {OP_OR, 0, 0, 0, 0, EXACT},
    {OP_OR, 0, 1, 0, 1, EXACT},
    {OP_OR, 1, 1, 0, 1, EXACT},
    {OP_SELECT, 1, 5, 7, 5, EXACT},
    {OP_SELECT, 0, 5, 7, 7, EXACT},
    {OP_SELECT, 1, NZ, 7, NZ, EXACT},
    /* one-argument built-ins */
    {OP_SIN, 0.5, 0, 0, 0.479425538604203, APPROX},
    {OP_SIN, -2, 0, 0, -0.9092974268256817, APPROX},
    {OP_COS, 0.5, 0, 0, 0.8775825618903728, APPROX},
    {OP_COS, 3, 0, 0, -0.9899924966004454, APPROX},
    {OP_TAN, 0.5, 0, 0, 0.5463024898437905, APPROX},
    {OP_ASIN, 0.5, 0, 0, 0.5235987755982989, APPROX},
    {OP_ASIN, 2, 0, 0, 0, ISNAN},
    {OP_ACOS, 0.5, 0, 0, 1.0471975511965979, APPROX},
    {OP_ACOS, 1, 0, 0, 0, EXACT},
    {OP_ATAN, 1, 0, 0, 0.7853981633974483, APPROX},
    {OP_SINH, 1, 0, 0, 1.1752011936438014, APPROX},
    {OP_COSH, 1, 0, 0, 1.5430806348152437, APPROX},
    {OP_TANH, 0.5, 0, 0, 0.46211715726000974, APPROX},
    {OP_EXP, 1, 0, 0, 2.718281828459045, APPROX},
    {OP_EXP, -1, 0, 0, 0.36787944117144233, APPROX},
    {OP_EXP, 0, 0, 0, 1, EXACT},
    {OP_EXP2, 10, 0, 0, 1024, EXACT},
    {OP_EXP2, -1, 0, 0, 0.5, EXACT},
    {OP_LOG, 2, 0, 0, 0.6931471805599453, APPROX},
    {OP_LOG, 10, 0, 0, 2.302585092994046, APPROX},
    {OP_LOG, 0, 0, 0, -INF, EXACT},
    {OP_LOG, -1, 0, 0, 0, ISNAN},
    {OP_LOG2, 8, 0, 0, 3, EXACT},
    {OP_LOG2, 10, 0, 0, 3.321928094887362, APPROX},
    {OP_SQRT, 2, 0, 0, 1.4142135623730951, APPROX},
    {OP_SQRT, 16, 0, 0, 4, EXACT},
    {OP_SQRT, -1, 0, 0, 0, ISNAN},
    {OP_INVERSESQRT, 4, 0, 0, 0.5, EXACT},
    {OP_INVERSESQRT, 0, 0, 0, INF, EXACT},
    {OP_ABS, -3, 0, 0, 3, EXACT},
    {OP_ABS, NZ, 0, 0, 0, EXACT},
    {OP_SIGN, -2, 0, 0, -1, EXACT},
    {OP_SIGN, 3, 0, 0, 1, EXACT},
    {OP_SIGN, 0, 0, 0, 0, EXACT},
    {OP_SIGN, NZ, 0, 0, 0, EXACT}, /* +0 */
    {OP_SIGN, QNAN, 0, 0, 0, EXACT},
    {OP_FLOOR, -1.5, 0, 0, -2, EXACT},
    {OP_FLOOR, 2.75, 0, 0, 2, EXACT},
    {OP_CEIL, -1.5, 0, 0, -1, EXACT},
    {OP_CEIL, -0.5, 0, 0, NZ, EXACT},
    {OP_CEIL, 2.25, 0, 0, 3, EXACT},
    /* round: half away from zero, and a zero result is +0 */
    {OP_ROUND, 2.5, 0, 0, 3, EXACT},
    {OP_ROUND, -2.5, 0, 0, -3, EXACT},
    {OP_ROUND, 1.5, 0, 0, 2, EXACT},
    {OP_ROUND, 0.5, 0, 0, 1, EXACT},
    {OP_ROUND, -0.5, 0, 0, -1, EXACT},
    {OP_ROUND, 2.4, 0, 0, 2, EXACT},
    {OP_ROUND, -0.4, 0, 0, 0, EXACT},
    {OP_ROUND, 0.49999997, 0, 0, 0, EXACT},
    {OP_TRUNC, -1.7, 0, 0, -1, EXACT},
    {OP_TRUNC, 1.7, 0, 0, 1, EXACT},
    {OP_FRACT, -1.25, 0, 0, 0.75, EXACT},
    {OP_FRACT, 3.5, 0, 0, 0.5, EXACT},
    {OP_FRACT, NZ, 0, 0, 0, EXACT},
    {OP_FRACT, INF, 0, 0, 0, ISNAN},
    {OP_RADIANS, 180, 0, 0, PI, APPROX},
    {OP_RADIANS, 90, 0, 0, PI / 2, APPROX},
    {OP_DEGREES, PI, 0, 0, 180, APPROX},
    {OP_DEGREES, 1, 0, 0, 57.29577951308232, APPROX},
    /* two- and three-argument built-ins */
    {OP_ATAN2, 1, 1, 0, PI / 4, APPROX},
    {OP_ATAN2, 1, 0, 0, PI / 2, APPROX},
    {OP_ATAN2, 0, -1, 0, PI, APPROX},
    {OP_ATAN2, -1, -1, 0, -2.356194490192345, APPROX},
    {OP_ATAN2, 0, 0, 0, 0, EXACT},
    {OP_ATAN2, NZ, NZ, 0, 0, EXACT}, /* C gives -pi */
    {OP_ATAN2, 0, NZ, 0, 0, EXACT},  /* C gives pi */
    {OP_MIN, 1, 2, 0, 1, EXACT},
    {OP_MIN, 2, 1, 0, 1, EXACT},
    {OP_MIN, QNAN, 1, 0, 0, ISNAN}, /* b < a false: a */
    {OP_MIN, 1, QNAN, 0, 1, EXACT},
    {OP_MIN, NZ, 0, 0, NZ, EXACT},
    {OP_MIN, 0, NZ, 0, 0, EXACT},
    {OP_MAX, 1, 2, 0, 2, EXACT},
    {OP_MAX, QNAN, 1, 0, 0, ISNAN},
    {OP_MAX, 1, QNAN, 0, 1, EXACT},
    {OP_STEP, 0.5, 0.4, 0, 0, EXACT},
    {OP_STEP, 0.5, 0.5, 0, 1, EXACT},
    {OP_STEP, 0.5, QNAN, 0, 1, EXACT},
    {OP_CLAMP, 5, 0, 1, 1, EXACT},
    {OP_CLAMP, -1, 0, 1, 0, EXACT},
    {OP_CLAMP, 0.25, 0, 1, 0.25, EXACT},
    {OP_CLAMP, QNAN, 0, 1, 0, ISNAN},
    {OP_CLAMP, 0.5, 1, 0, 0, EXACT}, /* lo > hi: hi wins */
    {OP_CLAMP, 0.5, QNAN, 1, 0.5, EXACT},
    {OP_MIX, 2, 4, 0.25, 2.5, EXACT},
    {OP_MIX, 1, 3, 2, 5, EXACT},
    {OP_MIX, 0, INF, 0, 0, ISNAN},
    {OP_SMOOTHSTEP, 0, 1, 0.5, 0.5, EXACT},
    {OP_SMOOTHSTEP, 0, 1, 0.25, 0.15625, EXACT},
    {OP_SMOOTHSTEP, 0, 1, 2, 1, EXACT},
    {OP_SMOOTHSTEP, 0, 1, -1, 0, EXACT},
    {OP_SMOOTHSTEP, 1, 0, 0.25, 0.84375, EXACT}, /* reversed edges */
    {OP_SMOOTHSTEP, 1, 1, 0.5, 0, EXACT},        /* e0 == e1: a step */
    {OP_SMOOTHSTEP, 1, 1, 1, 1, EXACT},
    {OP_SMOOTHSTEP, 2, 4, QNAN, 0, ISNAN},
    /* hash and noise: values from the float32 reference in test_hash_noise.c */
    {OP_HASH1, 1, 0, 0, 0x1.e37694p-1, EXACT},
    {OP_HASH1, NZ, 0, 0, 0x1.eecbcp-6, EXACT},
    {OP_HASH2, 1, 2, 0, 0x1.19eee8p-2, EXACT},
    {OP_HASH3, 1, 2, 3, 0x1.72d09p-3, EXACT},
    {OP_NOISE2, 0.5, 0.5, 0, -0x1.3504f4p-1, EXACT},
    {OP_NOISE2, 3, 4, 0, 0, EXACT},
    {OP_NOISE3, 0.25, 0.75, 0x1.99999ap-4, 0x1.118734p-2, EXACT},
    {OP_NOISE3, 0, 0, 0, 0, EXACT},
};

#define CASE_COUNT (sizeof cases / sizeof cases[0])

static bool same_bits_d(double x, double y) {
    return memcmp(&x, &y, sizeof x) == 0;
}
static bool same_bits_f(float x, float y) {
    return memcmp(&x, &y, sizeof x) == 0;
}

/* Tolerances for the libm-backed ops: a few ulps of the result. */
static double tol_d(double e) {
    return 8 * DBL_EPSILON * fmax(1, fabs(e));
}
static double tol_f(double e) {
    return 8 * FLT_EPSILON * fmax(1, fabs(e));
}

static void describe(const op_case *k, char *buf, size_t size) {
    snprintf(buf, size, "%s(%g, %g, %g) expecting %g", sky_op_table[k->op].name, k->a, k->b, k->c,
             k->expect);
}

static void check_scalar(const op_case *k) {
    char what[128];
    describe(k, what, sizeof what);
    double d = kernel_apply_d(k->op, k->a, k->b, k->c);
    float f = kernel_apply_f(k->op, (float)k->a, (float)k->b, (float)k->c);
    bool ok_d, ok_f;
    switch (k->kind) {
    case ISNAN:
        ok_d = isnan(d);
        ok_f = isnan(f);
        break;
    case APPROX:
        ok_d = fabs(d - k->expect) <= tol_d(k->expect);
        ok_f = fabs((double)f - k->expect) <= tol_f(k->expect);
        break;
    default:
        ok_d = same_bits_d(d, k->expect);
        ok_f = same_bits_f(f, (float)k->expect);
        break;
    }
    if (!ok_d) fail_msg("double %s: got %.17g", what, d);
    if (!ok_f) fail_msg("float %s: got %.9g", what, (double)f);
}

/* Operand k of op expects a bool: the graph must say so (x != 0 is x for 0/1). */
static bool wants_bool(sky_op op, int k) {
    return op == OP_NOT || op == OP_AND || op == OP_OR || (op == OP_SELECT && k == 0);
}

enum route { ROUTE_FRAME, ROUTE_LED, ROUTE_FOLD };

/* The node that is 1 when v matches the case, per the precision of `route`. */
static node_id check_node(tb *t, const op_case *k, node_id v, enum route route) {
    if (k->kind == ISNAN) return tb_2(t, OP_NE, v, v);
    if (k->kind == EXACT) return tb_2(t, OP_EQ, v, tb_c(t, k->expect));
    double tol = route == ROUTE_LED ? tol_f(k->expect) : tol_d(k->expect);
    node_id diff = tb_1(t, OP_ABS, tb_2(t, OP_SUB, v, tb_c(t, k->expect)));
    return tb_2(t, OP_LE, diff, tb_c(t, tol));
}

/* Runs the case through a whole program: operands as params, per-LED values or constants. */
static void check_program(const op_case *k, enum route route) {
    static const char *route_names[] = {"frame (double)", "led (float)", "folded (double)"};
    tb t;
    tb_init(&t);
    const double v[3] = {k->a, k->b, k->c};
    node_id arg[3] = {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE};
    int arity = sky_op_table[k->op].arity;
    node_id per_led = tb_2(&t, OP_GE, tb_leaf(&t, OP_X, 0), tb_c(&t, -5)); /* true on every LED */
    for (int i = 0; i < arity; i++) {
        static const char *names[] = {"a", "b", "c"};
        if (route == ROUTE_FOLD) {
            arg[i] = tb_c(&t, v[i]);
        } else {
            arg[i] = tb_param(&t, names[i], v[i], false, 0, 0);
            if (route == ROUTE_LED)
                arg[i] = tb_3(&t, OP_SELECT, per_led, arg[i], tb_leaf(&t, OP_X, 0));
        }
        if (wants_bool(k->op, i)) arg[i] = tb_2(&t, OP_NE, arg[i], tb_c(&t, 0));
    }
    node_id value = graph_add(t.g, k->op, arg[0], arg[1], arg[2], 0);
    node_id ok = check_node(&t, k, value, route);
    sky_program *p = NULL;
    assert_int_equal(tb_build(&t, ok, ok, ok, route == ROUTE_FOLD ? 1 : 0, &p), SKY_OK);
    if (route == ROUTE_FOLD) assert_int_equal(sky_program_frame_size(p), 0);
    if (route == ROUTE_LED) assert_true(sky_program_led_size(p) > 2);

    tb_layout l;
    assert_true(tb_layout_disc(&l, 1, 2));
    float rgb[6];
    assert_int_equal(tb_eval(p, &l, 0, 0, NULL, NULL, rgb), SKY_OK);
    if (rgb[0] != 1.0f) {
        char what[128];
        describe(k, what, sizeof what);
        fail_msg("%s %s: the program's result does not match", route_names[route], what);
    }
    tb_layout_free(&l);
    sky_program_free(p);
    tb_free(&t);
}

static void test_scalar_kernels(void **state) {
    (void)state;
    for (size_t i = 0; i < CASE_COUNT; i++) check_scalar(&cases[i]);
}

static void test_frame_section(void **state) {
    (void)state;
    for (size_t i = 0; i < CASE_COUNT; i++) check_program(&cases[i], ROUTE_FRAME);
}

static void test_led_section(void **state) {
    (void)state;
    for (size_t i = 0; i < CASE_COUNT; i++) check_program(&cases[i], ROUTE_LED);
}

static void test_folded(void **state) {
    (void)state;
    for (size_t i = 0; i < CASE_COUNT; i++) check_program(&cases[i], ROUTE_FOLD);
}

/* Every operation in ops.def that has a kernel is covered by at least one case. */
static void test_every_op_covered(void **state) {
    (void)state;
    for (int op = 0; op < OP__COUNT; op++) {
        /* prev_at and pic read frames and pictures: tests/compiler/test_eval.c, test_pictures */
        if (sky_op_table[op].leaf_rate >= 0 || op == OP_PREV_AT || op == OP_PIC) continue;
        bool found = false;
        for (size_t i = 0; i < CASE_COUNT && !found; i++) found = cases[i].op == (sky_op)op;
        if (!found) fail_msg("op `%s` has no test case", sky_op_table[op].name);
    }
}

/* The op table generated from ops.def agrees with its rows. */
static void test_op_table(void **state) {
    (void)state;
    assert_string_equal(sky_op_table[OP_ADD].name, "add");
    assert_int_equal(sky_op_table[OP_ADD].arity, 2);
    assert_int_equal(sky_op_table[OP_ADD].leaf_rate, -1);
    assert_int_equal(sky_op_table[OP_LT].result, RESULT_BOOL);
    assert_int_equal(sky_op_table[OP_T].leaf_rate, RATE_FRAME);
    assert_int_equal(sky_op_table[OP_X].leaf_rate, RATE_LED);
    assert_int_equal(sky_op_table[OP_CONST].leaf_rate, RATE_CONST);
    assert_null(sky_op_table[OP_CONST].glsl);
    assert_string_equal(sky_op_table[OP_CLAMP].glsl, "sky_clamp(%0, %1, %2)");
    for (int op = 0; op < OP__COUNT; op++) {
        assert_non_null(sky_op_table[op].name);
        assert_true(sky_op_table[op].arity <= 3);
        assert_true((sky_op_table[op].arity == 0) == (sky_op_table[op].leaf_rate >= 0));
    }
}

/* The final channel rule: NaN -> 0, clamp, byte = floor(c * 255 + 0.5). */
static void test_channel_rule(void **state) {
    (void)state;
    assert_true(kernel_channel(NAN) == 0.0f);
    assert_true(kernel_channel(-NAN) == 0.0f);
    assert_true(kernel_channel(INFINITY) == 1.0f);
    assert_true(kernel_channel(-INFINITY) == 0.0f);
    assert_true(kernel_channel(1.5f) == 1.0f);
    assert_true(kernel_channel(-0.25f) == 0.0f);
    assert_false(signbit(kernel_channel(-0.0f)));
    assert_true(kernel_channel(0.25f) == 0.25f);
    assert_int_equal(kernel_channel_byte(0.0f), 0);
    assert_int_equal(kernel_channel_byte(1.0f), 255);
    assert_int_equal(kernel_channel_byte(0.5f), 128); /* 127.5 + 0.5 */
    assert_int_equal(kernel_channel_byte(1.0f / 255.0f), 1);
    assert_int_equal(kernel_channel_byte(0.4980392f), 127); /* 126.99 + 0.5 */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_op_table),       cmocka_unit_test(test_every_op_covered),
        cmocka_unit_test(test_scalar_kernels), cmocka_unit_test(test_frame_section),
        cmocka_unit_test(test_led_section),    cmocka_unit_test(test_folded),
        cmocka_unit_test(test_channel_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
