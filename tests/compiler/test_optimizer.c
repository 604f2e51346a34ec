/*
 * test_optimizer.c - what the optimizer and the flattening do, and that they
 * never change a result.
 *
 *   - folding, each exact identity, and dead-node removal actually happen:
 *     the sections shrink and the IR text shows it;
 *   - rewrites that are not exact in IEEE arithmetic (x + 0, 0 * x, ...) do
 *     not happen;
 *   - hoisting puts t-only work in the frame section, one uniform per frame
 *     value;
 *   - -O0 and -O1 evaluate BIT-IDENTICALLY: on hand-picked traps, on random
 *     graphs, and on every .sky program in examples/ and
 *     tests/compiler/corpus/ (compiled with sky_compile) at several times,
 *     params and prev frames.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "backend_util.h"

/* ------------------------------------------------------------- helpers */

/* (noinline: GCC 12 otherwise takes the result for a pointer to the local `text`) */
__attribute__((noinline)) static char *ir_of(const sky_program *p) {
    char *text = NULL;
    assert_int_equal(sky_program_emit_ir(p, &text), SKY_OK);
    assert_non_null(text);
    return text;
}

/* How many lines of the IR text contain `needle`. */
static int ir_count(const char *ir, const char *needle) {
    int n = 0;
    for (const char *at = ir; (at = strstr(at, needle)) != NULL; at += strlen(needle)) n++;
    return n;
}

/* Builds out = (v, v, v) at both levels. */
static void build_both(tb *t, node_id v, sky_program **p0, sky_program **p1) {
    assert_int_equal(tb_build(t, v, v, v, 0, p0), SKY_OK);
    assert_int_equal(tb_build(t, v, v, v, 1, p1), SKY_OK);
}

static bool same_bits(const float *a, const float *b, size_t n) {
    return memcmp(a, b, n * sizeof *a) == 0;
}

/* Both programs on layout l at a few frames; rgb feeds back as prev. Fails on any bit difference.
 */
static void expect_identical(const sky_program *p0, const sky_program *p1, const tb_layout *l,
                             const double *params, const char *what) {
    size_t n = (size_t)l->view.led_count * 3;
    float *prev0 = calloc(n, sizeof *prev0), *prev1 = calloc(n, sizeof *prev1);
    float *rgb0 = malloc(n * sizeof *rgb0), *rgb1 = malloc(n * sizeof *rgb1);
    assert_true(prev0 && prev1 && rgb0 && rgb1);
    static const double times[] = {0, 0.37, 1.5, 12.25, 86400.125, 3e6 + 0.5};
    for (uint64_t f = 0; f < sizeof times / sizeof times[0]; f++) {
        assert_int_equal(tb_eval(p0, l, times[f], f, params, f ? prev0 : NULL, rgb0), SKY_OK);
        assert_int_equal(tb_eval(p1, l, times[f], f, params, f ? prev1 : NULL, rgb1), SKY_OK);
        if (!same_bits(rgb0, rgb1, n)) {
            size_t i = 0;
            while (i < n && memcmp(&rgb0[i], &rgb1[i], sizeof *rgb0) == 0) i++;
            fail_msg("%s: -O0 and -O1 differ at frame %u, LED %zu channel %zu: %a vs %a", what,
                     (unsigned)f, i / 3, i % 3, (double)rgb0[i], (double)rgb1[i]);
        }
        memcpy(prev0, rgb0, n * sizeof *rgb0);
        memcpy(prev1, rgb1, n * sizeof *rgb1);
    }
    free(prev0);
    free(prev1);
    free(rgb0);
    free(rgb1);
}

/* ------------------------------------------------------------- folding */

static void test_fold(void **state) {
    (void)state;
    tb t;
    tb_init(&t);
    /* (2 + 3) * x + sin(pi / 6): constants per frame at -O0, folded away at -O1 */
    node_id two = tb_c(&t, 2);
    node_id three = tb_c(&t, 3);
    node_id five = tb_2(&t, OP_ADD, two, three);
    node_id s = tb_1(&t, OP_SIN, tb_2(&t, OP_DIV, tb_c(&t, M_PI), tb_c(&t, 6)));
    node_id v = tb_2(&t, OP_ADD, tb_2(&t, OP_MUL, five, tb_leaf(&t, OP_X, 0)), s);
    sky_program *p0, *p1;
    build_both(&t, v, &p0, &p1);
    char *ir0 = ir_of(p0), *ir1 = ir_of(p1);
    assert_int_equal(sky_program_frame_size(p0), 7); /* 2 3 add pi 6 div sin */
    assert_int_equal(sky_program_uniform_count(p0), 2);
    assert_int_equal(sky_program_frame_size(p1), 0);
    assert_int_equal(sky_program_uniform_count(p1), 0);
    assert_non_null(strstr(ir0, "const  %2 = add %0, %1"));
    assert_non_null(strstr(ir1, "= const 5\n"));
    assert_int_equal(ir_count(ir1, "sin"), 0);
    assert_int_equal(ir_count(ir1, "div"), 0);
    assert_true(sky_program_led_size(p1) <= sky_program_led_size(p0));
    tb_layout l;
    assert_true(tb_layout_disc(&l, 4, 8));
    expect_identical(p0, p1, &l, NULL, "fold");
    tb_layout_free(&l);
    sky_free(ir0);
    sky_free(ir1);
    sky_program_free(p0);
    sky_program_free(p1);
    tb_free(&t);
}

/* A folded constant reaches the LED section as float(double value), as the unfolded one does. */
static void test_fold_rounds_once(void **state) {
    (void)state;
    tb t;
    tb_init(&t);
    /* 0.1 * 3 in double is 0.30000000000000004; in float 0.1f * 3 would be 0.3f + 1 ulp */
    node_id k = tb_2(&t, OP_MUL, tb_c(&t, 0.1), tb_c(&t, 3));
    node_id v = tb_1(&t, OP_HASH1, tb_2(&t, OP_ADD, tb_leaf(&t, OP_X, 0), k));
    sky_program *p0, *p1;
    build_both(&t, v, &p0, &p1);
    tb_layout l;
    assert_true(tb_layout_disc(&l, 16, 16));
    expect_identical(p0, p1, &l, NULL, "0.1 * 3");
    tb_layout_free(&l);
    sky_program_free(p0);
    sky_program_free(p1);
    tb_free(&t);
}

/* ---------------------------------------------------------- identities */

typedef struct rewrite_case {
    const char *what;
    node_id (*build)(tb *t, node_id x, node_id b);
    bool fires;       /* the rewrite is exact, so -O1 applies it */
    const char *gone; /* an op that -O1 has fewer of when the rule fires, as many when not */
} rewrite_case;

static node_id mul_one(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_2(t, OP_MUL, x, tb_c(t, 1));
}
static node_id one_mul(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_2(t, OP_MUL, tb_c(t, 1), x);
}
static node_id div_one(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_2(t, OP_DIV, x, tb_c(t, 1));
}
static node_id sub_zero(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_2(t, OP_SUB, x, tb_c(t, 0));
}
static node_id add_negzero(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_2(t, OP_ADD, x, tb_c(t, -0.0));
}
static node_id negzero_add(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_2(t, OP_ADD, tb_c(t, -0.0), x);
}
static node_id neg_neg(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_1(t, OP_NEG, tb_1(t, OP_NEG, x));
}
static node_id abs_abs(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_1(t, OP_SIN, tb_1(t, OP_ABS, tb_1(t, OP_ABS, x)));
}
static node_id abs_neg(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_1(t, OP_ABS, tb_1(t, OP_NEG, x));
}
static node_id floor_floor(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_1(t, OP_FLOOR, tb_1(t, OP_CEIL, tb_2(t, OP_MUL, x, tb_c(t, 7))));
}
static node_id not_not(tb *t, node_id x, node_id b) {
    return tb_3(t, OP_SELECT, tb_1(t, OP_NOT, tb_1(t, OP_NOT, b)), x, tb_c(t, 0.5));
}
static node_id select_const(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_3(t, OP_SELECT, tb_c(t, 1), x, tb_2(t, OP_MUL, x, x));
}
static node_id select_same(tb *t, node_id x, node_id b) {
    return tb_3(t, OP_SELECT, b, tb_1(t, OP_COS, x), tb_1(t, OP_COS, x));
}
static node_id select_not(tb *t, node_id x, node_id b) {
    return tb_3(t, OP_SELECT, tb_1(t, OP_NOT, b), x, tb_c(t, 0.5));
}
static node_id select_bool(tb *t, node_id x, node_id b) {
    return tb_2(t, OP_MUL, x, tb_3(t, OP_SELECT, b, tb_c(t, 1), tb_c(t, 0)));
}
static node_id and_self(tb *t, node_id x, node_id b) {
    return tb_3(t, OP_SELECT, tb_2(t, OP_AND, b, b), x, tb_c(t, 0.5));
}
static node_id and_true(tb *t, node_id x, node_id b) {
    return tb_3(t, OP_SELECT, tb_2(t, OP_AND, tb_c(t, 1), b), x, tb_c(t, 0.5));
}
static node_id or_false(tb *t, node_id x, node_id b) {
    return tb_3(t, OP_SELECT, tb_2(t, OP_OR, b, tb_c(t, 0)), x, tb_c(t, 0.5));
}
static node_id min_self(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_2(t, OP_MIN, x, x);
}
static node_id max_self(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_2(t, OP_MAX, x, x);
}
static node_id clamp_self(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_3(t, OP_CLAMP, x, x, x);
}
static node_id clamp_lo_self(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_3(t, OP_CLAMP, x, x, tb_c(t, 0.5)); /* -> min(x, 0.5) */
}
static node_id clamp_hi_self(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_3(t, OP_CLAMP, x, tb_c(t, 0.25), x);
}
/* not exact: must stay */
static node_id add_zero(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_2(t, OP_ADD, x, tb_c(t, 0)); /* -0 + 0 = +0 */
}
static node_id zero_mul(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_2(t, OP_MUL, tb_c(t, 0), x); /* 0 * inf = NaN */
}
static node_id sub_self(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_2(t, OP_SUB, x, x); /* inf - inf = NaN */
}
static node_id pow_one(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_2(t, OP_POW, x, tb_c(t, 1)); /* pow(-0, 1) = +0 */
}
static node_id mul_negone(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_2(t, OP_MUL, x, tb_c(t, -1)); /* NaN sign */
}
static node_id round_floor(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_1(t, OP_ROUND, tb_1(t, OP_FLOOR, x)); /* round(-0) = +0 */
}
static node_id clamp_lo_hi(tb *t, node_id x, node_id b) {
    (void)b;
    node_id lo = tb_2(t, OP_MUL, tb_leaf(t, OP_Y, 0), tb_c(t, 0.5));
    return tb_3(t, OP_CLAMP, x, lo, lo); /* clamp(NaN, lo, lo) is NaN */
}
static node_id mul_two(tb *t, node_id x, node_id b) {
    (void)b;
    return tb_2(t, OP_MUL, x, tb_c(t, 0.5000001));
}

static const rewrite_case rewrite_cases[] = {
    {"x * 1", mul_one, true, "mul"},
    {"1 * x", one_mul, true, "mul"},
    {"x / 1", div_one, true, "div"},
    {"x - 0", sub_zero, true, "sub"},
    {"x + -0", add_negzero, true, "add"},
    {"-0 + x", negzero_add, true, "add"},
    {"-(-x)", neg_neg, true, "neg"},
    {"abs(abs(x))", abs_abs, true, "abs"},
    {"abs(-x)", abs_neg, true, "neg"},
    {"floor(ceil(x))", floor_floor, true, "floor"},
    {"not(not(b))", not_not, true, "not"},
    {"select(1, a, b)", select_const, true, "select"},
    {"select(c, a, a)", select_same, true, "select"},
    {"select(not c, a, b)", select_not, true, "not"},
    {"select(b, 1, 0)", select_bool, true, "select"},
    {"and(b, b)", and_self, true, "and"},
    {"and(1, b)", and_true, true, "and"},
    {"or(b, 0)", or_false, true, "or"},
    {"min(x, x)", min_self, true, "min"},
    {"max(x, x)", max_self, true, "max"},
    {"clamp(x, x, x)", clamp_self, true, "clamp"},
    {"clamp(x, x, hi)", clamp_lo_self, true, "clamp"},
    {"clamp(x, lo, x)", clamp_hi_self, true, "clamp"},
    {"x + 0", add_zero, false, "add"},
    {"0 * x", zero_mul, false, "mul"},
    {"x - x", sub_self, false, "sub"},
    {"pow(x, 1)", pow_one, false, "pow"},
    {"x * -1", mul_negone, false, "mul"},
    {"round(floor(x))", round_floor, false, "round"},
    {"clamp(x, lo, lo)", clamp_lo_hi, false, "clamp"},
    {"x * 0.5000001", mul_two, false, "mul"},
};

/* x holds awkward values across the layout: -0, inf, NaN, tiny, ordinary. */
static node_id awkward_x(tb *t) {
    node_id idx = tb_leaf(t, OP_INDEX, 0);
    node_id k = tb_2(t, OP_MOD, idx, tb_c(t, 6));
    node_id ordinary = tb_2(t, OP_SUB, tb_leaf(t, OP_X, 0), tb_c(t, 0.1));
    node_id v = ordinary;
    const double special[] = {-0.0, INFINITY, -INFINITY, NAN, 1e-42};
    for (int i = 0; i < 5; i++)
        v = tb_3(t, OP_SELECT, tb_2(t, OP_EQ, k, tb_c(t, i)), tb_c(t, special[i]), v);
    return v;
}

static void test_rewrites(void **state) {
    (void)state;
    tb_layout l;
    assert_true(tb_layout_disc(&l, 6, 20));
    for (size_t i = 0; i < sizeof rewrite_cases / sizeof rewrite_cases[0]; i++) {
        const rewrite_case *rc = &rewrite_cases[i];
        tb t;
        tb_init(&t);
        node_id x = awkward_x(&t);
        node_id b = tb_2(&t, OP_LT, tb_leaf(&t, OP_Y, 0), tb_c(&t, 0.1));
        /* hash() of the result exposes every bit of it, signs of zero and NaNs included */
        node_id v = rc->build(&t, x, b);
        node_id r = tb_1(&t, OP_HASH1, v), g = tb_1(&t, OP_HASH1, tb_2(&t, OP_DIV, tb_c(&t, 1), v));
        sky_program *p0 = NULL, *p1 = NULL;
        assert_int_equal(tb_build(&t, r, g, v, 0, &p0), SKY_OK);
        assert_int_equal(tb_build(&t, r, g, v, 1, &p1), SKY_OK);
        char *ir0 = ir_of(p0), *ir1 = ir_of(p1);
        size_t n0 = sky_program_led_size(p0), n1 = sky_program_led_size(p1);
        if (rc->fires && n1 > n0)
            fail_msg("%s: not simplified (%zu -> %zu instructions)\n%s", rc->what, n0, n1, ir1);
        if (!rc->fires && n1 != n0)
            fail_msg("%s: rewritten although not exact (%zu -> %zu)\n%s", rc->what, n0, n1, ir1);
        {
            char needle[32];
            snprintf(needle, sizeof needle, "= %s ", rc->gone);
            int c0 = ir_count(ir0, needle), c1 = ir_count(ir1, needle);
            if (rc->fires ? c1 >= c0 : c1 != c0)
                fail_msg("%s: `%s` count %d at -O0, %d at -O1", rc->what, rc->gone, c0, c1);
        }
        expect_identical(p0, p1, &l, NULL, rc->what);
        sky_free(ir0);
        sky_free(ir1);
        sky_program_free(p0);
        sky_program_free(p1);
        tb_free(&t);
    }
    tb_layout_free(&l);
}

/* select(true, t, x) is t, but per frame in double: its readers would change precision. */
static void test_no_rate_change(void **state) {
    (void)state;
    tb t;
    tb_init(&t);
    node_id s = tb_3(&t, OP_SELECT, tb_c(&t, 1),
                     tb_2(&t, OP_MUL, tb_leaf(&t, OP_T, 0), tb_c(&t, 0.1)), tb_leaf(&t, OP_X, 0));
    /* hash(s * 1000.7) shows whether s * 1000.7 was computed in float or in double */
    node_id v = tb_1(&t, OP_HASH1, tb_1(&t, OP_SIN, tb_2(&t, OP_MUL, s, tb_c(&t, 1000.7))));
    sky_program *p0, *p1;
    build_both(&t, v, &p0, &p1);
    tb_layout l;
    assert_true(tb_layout_disc(&l, 3, 3));
    expect_identical(p0, p1, &l, NULL, "select(true, t, x)");
    tb_layout_free(&l);
    char *ir1 = ir_of(p1);
    const char *led = strstr(ir1, "; led section");
    assert_non_null(led);
    assert_non_null(strstr(led, "= sin")); /* sin stays per LED, in float */
    assert_int_equal(ir_count(ir1, "= select"), 1);
    sky_free(ir1);
    sky_program_free(p0);
    sky_program_free(p1);
    tb_free(&t);
}

/* Dead nodes, and nodes a rewrite made dead, are not in the program. */
static void test_dead_nodes(void **state) {
    (void)state;
    tb t;
    tb_init(&t);
    node_id x = tb_leaf(&t, OP_X, 0);
    for (int i = 0; i < 20; i++) (void)tb_1(&t, OP_COS, tb_2(&t, OP_MUL, x, tb_c(&t, i + 0.5)));
    node_id dead_after = tb_1(&t, OP_EXP, x);
    node_id v = tb_3(&t, OP_SELECT, tb_c(&t, 0), dead_after, tb_1(&t, OP_SIN, x));
    sky_program *p0, *p1;
    build_both(&t, v, &p0, &p1);
    char *ir0 = ir_of(p0), *ir1 = ir_of(p1);
    assert_int_equal(ir_count(ir0, "= cos"), 0); /* never needed: not even at -O0 */
    assert_int_equal(ir_count(ir0, "= exp"), 1);
    assert_int_equal(ir_count(ir1, "= exp"), 0);   /* dead once the select folded */
    assert_int_equal(sky_program_led_size(p1), 2); /* x, sin */
    sky_free(ir0);
    sky_free(ir1);
    sky_program_free(p0);
    sky_program_free(p1);
    tb_free(&t);
}

/* ------------------------------------------------------------- hoisting */

static void test_hoisting(void **state) {
    (void)state;
    tb t;
    tb_init(&t);
    node_id speed = tb_param(&t, "speed", 1, true, 0, 4);
    node_id tt = tb_2(&t, OP_MUL, tb_leaf(&t, OP_T, 0), speed);
    node_id wave = tb_1(&t, OP_SIN, tt);                                  /* per frame */
    node_id ring = tb_1(&t, OP_FRACT, tb_2(&t, OP_DIV, tt, tb_c(&t, 3))); /* per frame */
    node_id d = tb_1(&t, OP_ABS, tb_2(&t, OP_SUB, tb_leaf(&t, OP_R, 0), ring));
    node_id g = tb_2(&t, OP_MUL, wave, tb_leaf(&t, OP_X, 0));
    node_id b = tb_2(&t, OP_ADD, wave, tb_leaf(&t, OP_Y, 0)); /* wave read twice: one uniform */
    sky_program *p = NULL;
    assert_int_equal(tb_build(&t, d, g, b, 1, &p), SKY_OK);
    char *ir = ir_of(p);
    assert_int_equal(sky_program_uniform_count(p), 2); /* wave, ring */
    assert_non_null(strstr(ir, "= sin"));
    assert_non_null(strstr(ir, "= fract"));
    /* sin and fract are frame instructions; the LED section has none */
    const char *led = strstr(ir, "; led section");
    assert_non_null(led);
    assert_null(strstr(led, "= sin"));
    assert_null(strstr(led, "= fract"));
    assert_null(strstr(led, "= t\n"));
    assert_true(strstr(ir, "frame  %") < led);
    assert_int_equal(ir_count(led, "= uniform u"), 2);
    assert_non_null(strstr(ir, "uniform u0 = frame %"));
    assert_non_null(strstr(ir, "out rgb led %"));
    assert_int_equal(sky_program_inputs(p), SKY_INPUT_T | SKY_INPUT_R | SKY_INPUT_X | SKY_INPUT_Y);

    /* and the hoisted program computes what a per-LED double evaluation would round to */
    tb_layout l;
    assert_true(tb_layout_disc(&l, 2, 3));
    float rgb[18];
    double params[1] = {2.0};
    assert_int_equal(tb_eval(p, &l, 1.25, 3, params, NULL, rgb), SKY_OK);
    float wave_f = (float)sin(2.5), ring_f = (float)(2.5 / 3 - floor(2.5 / 3));
    for (int i = 0; i < 6; i++) {
        float dv = fabsf(l.inputs[i].r - ring_f);
        assert_true(rgb[i * 3] == fminf(fmaxf(dv, 0), 1));
        float gv = wave_f * l.inputs[i].x;
        assert_true(rgb[i * 3 + 1] == (gv > 0 ? fminf(gv, 1) : 0));
    }
    tb_layout_free(&l);
    sky_free(ir);
    sky_program_free(p);
    tb_free(&t);
}

/* Constants used per LED: one instruction per distinct float, even from distinct doubles. */
static void test_led_constants(void **state) {
    (void)state;
    tb t;
    tb_init(&t);
    node_id x = tb_leaf(&t, OP_X, 0);
    node_id a = tb_2(&t, OP_ADD, x, tb_c(&t, 0.1));
    node_id b = tb_2(&t, OP_MUL, a, tb_c(&t, 0.1000000000000001)); /* the same float as 0.1 */
    node_id c = tb_2(&t, OP_SUB, b, tb_c(&t, 0.1));
    sky_program *p = NULL;
    assert_int_equal(tb_build(&t, c, c, c, 1, &p), SKY_OK);
    char *ir = ir_of(p);
    assert_int_equal(ir_count(ir, "= const"), 1);
    assert_non_null(strstr(ir, "= const 0.1\n"));
    sky_free(ir);
    sky_program_free(p);
    tb_free(&t);
}

/* ------------------------------------------- -O0 == -O1 on random graphs */

typedef struct rng {
    uint64_t s;
} rng;

static uint32_t rng_next(rng *r) {
    r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(r->s >> 33);
}

static node_id random_leaf(tb *t, rng *r, node_id param) {
    static const double consts[] = {
        0,    -0.0,  1,   -1,       0.5,   2,     0.1, 3,
        1e30, 1e-42, NAN, INFINITY, 255.5, -7.25, 1e8, 0.3333333333333333};
    switch (rng_next(r) % 8) {
    case 0:
        return tb_leaf(t, OP_X, 0);
    case 1:
        return tb_leaf(t, OP_THETA, 0);
    case 2:
        return tb_leaf(t, OP_T, 0);
    case 3:
        return param;
    case 4:
        return tb_leaf(t, OP_PREV, rng_next(r) % 3);
    case 5:
        return tb_leaf(t, OP_INDEX, 0);
    default:
        return tb_c(t, consts[rng_next(r) % (sizeof consts / sizeof consts[0])]);
    }
}

/* A random node over earlier nodes pool[0..n); bool operands get a comparison. */
static node_id random_node(tb *t, rng *r, const node_id *pool, uint32_t n) {
    sky_op op;
    do op = (sky_op)(rng_next(r) % OP__COUNT);
    while (sky_op_table[op].arity == 0 || op == OP_PIC); /* pic needs a declared picture */
    node_id arg[3] = {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE};
    for (int k = 0; k < sky_op_table[op].arity; k++) {
        arg[k] = pool[rng_next(r) % n];
        bool wants_bool =
            op == OP_NOT || op == OP_AND || op == OP_OR || (op == OP_SELECT && k == 0);
        if (wants_bool && !graph_is_bool(t->g, arg[k]))
            arg[k] = tb_2(t, rng_next(r) % 2 ? OP_LT : OP_NE, arg[k], pool[rng_next(r) % n]);
    }
    return graph_add(t->g, op, arg[0], arg[1], arg[2], op == OP_PREV_AT ? rng_next(r) % 3 : 0);
}

static void test_random_graphs(void **state) {
    (void)state;
    tb_layout l;
    assert_true(tb_layout_disc(&l, 5, 13));
    rng r = {42};
    for (int round = 0; round < 300; round++) {
        tb t;
        tb_init(&t);
        node_id pool[64];
        node_id param = tb_param(&t, "p", 0.75, true, -2, 2);
        uint32_t n = 0;
        for (; n < 12; n++) pool[n] = random_leaf(&t, &r, param);
        for (; n < 64; n++) {
            pool[n] = random_node(&t, &r, pool, n);
            assert_int_not_equal(pool[n], GRAPH_NONE);
        }
        /* hash() exposes all bits of the last values */
        node_id out[3];
        for (int c = 0; c < 3; c++)
            out[c] = c == 0 ? tb_1(&t, OP_HASH1, pool[63 - c]) : pool[63 - c];
        sky_program *p0 = NULL, *p1 = NULL;
        assert_int_equal(tb_build(&t, out[0], out[1], out[2], 0, &p0), SKY_OK);
        assert_int_equal(tb_build(&t, out[0], out[1], out[2], 1, &p1), SKY_OK);
        char what[32];
        snprintf(what, sizeof what, "random graph %d", round);
        double params[1] = {round % 2 ? 1.25 : -0.0};
        expect_identical(p0, p1, &l, params, what);
        sky_program_free(p0);
        sky_program_free(p1);
        tb_free(&t);
    }
    tb_layout_free(&l);
}

/* --------------------------- -O0 == -O1 on every .sky program we have */

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *grown = realloc(buf, cap);
            if (!grown) break;
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    bool ok = !ferror(f) && buf;
    fclose(f);
    if (!ok) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static sky_program *compile_file(const char *path, const char *src, size_t len, int level) {
    sky_compile_options opt = {.opt_level = level, .verify_graph = true};
    sky_program *p = NULL;
    sky_diagnostics *diags = NULL;
    sky_status st = sky_compile(path, src, len, &opt, &p, &diags);
    if (st != SKY_OK) {
        char *text = NULL;
        if (sky_diagnostics_render(diags, false, &text) != SKY_OK) text = NULL;
        fail_msg("%s does not compile at -O%d (%s):\n%s", path, level, sky_status_str(st),
                 text ? text : "");
    }
    sky_diagnostics_free(diags);
    return p;
}

/* Compiles path at both levels and compares them with default and with moved params. */
static void check_source_file(const char *path, const tb_layout *l) {
    size_t len = 0;
    char *src = read_file(path, &len);
    if (!src) fail_msg("cannot read %s", path);
    sky_program *p0 = compile_file(path, src, len, 0);
    sky_program *p1 = compile_file(path, src, len, 1);
    if (sky_program_led_size(p1) > sky_program_led_size(p0))
        fail_msg("%s: -O1 has more per-LED instructions (%zu) than -O0 (%zu)", path,
                 sky_program_led_size(p1), sky_program_led_size(p0));
    expect_identical(p0, p1, l, NULL, path);
    size_t slots = sky_program_param_slots(p0);
    double *params = calloc(slots + 1, sizeof *params);
    assert_non_null(params);
    sky_program_param_defaults(p0, params);
    for (size_t s = 0; s < slots; s++) params[s] = params[s] * 1.7 + 0.3; /* clamped where ranged */
    expect_identical(p0, p1, l, params, path);
    free(params);
    sky_program_free(p0);
    sky_program_free(p1);
    free(src);
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.sky in dir, in name order; returns how many were checked. */
static size_t check_source_dir(const char *dir, const tb_layout *l) {
    DIR *d = opendir(dir);
    if (!d) fail_msg("cannot open %s", dir);
    char *names[512];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 512) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".sky") == 0) names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], compare_names);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        check_source_file(path, l);
        free(names[i]);
    }
    return n;
}

static void test_sources_bit_identical(void **state) {
    (void)state;
    tb_layout l;
    assert_true(tb_layout_disc(&l, 24, 32));
    size_t examples = check_source_dir(SKY_SOURCE_DIR "/examples", &l);
    size_t corpus = check_source_dir(SKY_SOURCE_DIR "/tests/compiler/corpus", &l);
    assert_true(examples >= 1);
    assert_true(corpus >= 15);
    tb_layout_free(&l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_fold_rounds_once),
        cmocka_unit_test(test_rewrites),
        cmocka_unit_test(test_no_rate_change),
        cmocka_unit_test(test_dead_nodes),
        cmocka_unit_test(test_hoisting),
        cmocka_unit_test(test_led_constants),
        cmocka_unit_test(test_random_graphs),
        cmocka_unit_test(test_sources_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
