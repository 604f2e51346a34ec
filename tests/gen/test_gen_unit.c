/*
 * test_gen_unit.c - the generator's own tests (no device): what gen_run relies on.
 *
 *  - the same seed gives the same program text, different seeds different ones;
 *  - generated programs are valid: they compile (front end and back end);
 *  - the printer counts nesting exactly as the parser does: a random program
 *    wrapped to 256 levels compiles, at 257 it gives the nesting error;
 *  - the reference interpreter gives the spec's values on its edge cases
 *    (floored %, round half away from zero, C's pow, atan(0, 0), hash(-0),
 *    a falling smoothstep, sign of NaN), and agrees with the compiler's CPU
 *    evaluator on them;
 *  - the shrinker keeps the failure it is given and makes the program small;
 *  - coverage counts what was generated;
 *  - the runner's verdicts: one unexplained CPU-vs-reference channel fails,
 *    and skipped shares over their caps fail a run of 100 programs or more.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

static gen_program *generate(uint64_t seed) {
    gen_options o;
    gen_options_for_seed(seed, &o);
    gen_program *p = gen_program_generate(seed, &o);
    assert_non_null(p);
    return p;
}

/* Compiles the program's text; returns the status and the first error's code in code. */
static sky_status compile_quiet(const gen_program *p, int level, sky_program **out, char *code,
                                size_t code_len, bool quiet) {
    sky_compile_options co;
    sky_compile_options_init(&co);
    co.opt_level = level;
    sky_diagnostics *d = NULL;
    sky_program *prog = NULL;
    sky_status st = sky_compile("unit.sky", p->source, p->source_len, &co, &prog, &d);
    const sky_diag *first = d ? sky_diagnostics_get(d, 0) : NULL;
    if (code) snprintf(code, code_len, "%s", first && first->code ? first->code : "");
    if (st != SKY_OK && !quiet) {
        char *text = NULL;
        sky_diagnostics_render(d, false, &text);
        print_message("%s\n%s", p->source, text ? text : "");
        sky_free(text);
    }
    sky_diagnostics_free(d);
    if (out)
        *out = prog;
    else
        sky_program_free(prog);
    return st;
}

static sky_status compile(const gen_program *p, int level, sky_program **out, char *code,
                          size_t code_len) {
    return compile_quiet(p, level, out, code, code_len, false);
}

static void test_same_seed_same_program(void **state) {
    (void)state;
    char *first[40];
    for (uint64_t i = 0; i < 40; i++) {
        gen_program *a = generate(gen_seed_for(77, i)), *b = generate(gen_seed_for(77, i));
        assert_string_equal(a->source, b->source);
        first[i] = strdup(a->source + strcspn(a->source, "\n")); /* without the seed line */
        assert_non_null(first[i]);
        gen_program_free(a);
        gen_program_free(b);
    }
    int same = 0;
    for (int i = 0; i < 40; i++)
        for (int j = i + 1; j < 40; j++) same += strcmp(first[i], first[j]) == 0;
    assert_true(same <= 1); /* tiny programs may coincide, but not many */
    for (int i = 0; i < 40; i++) free(first[i]);
}

static void test_programs_compile(void **state) {
    (void)state;
    for (uint64_t i = 0; i < 150; i++) {
        gen_program *p = generate(gen_seed_for(12, i));
        char code[16];
        for (int level = 0; level < 2; level++)
            if (compile(p, level, NULL, code, sizeof code) != SKY_OK)
                fail_msg("program %llu does not compile at -O%d (%s)", (unsigned long long)i, level,
                         code);
        assert_true(p->depth <= SKY_MAX_NESTING);
        gen_program_free(p);
    }
}

/* Redundant parentheses around `out` push its nesting to exactly `levels`. */
static void set_out_depth(gen_program *p, int levels) {
    gen_decl *out = NULL;
    for (uint32_t i = 0; i < p->decl_count; i++)
        if (p->decls[i].kind == GD_OUT) out = &p->decls[i];
    assert_non_null(out);
    gen_node *root = &p->nodes[out->body];
    root->paren = 0;
    assert_true(gen_program_print(p));
    /* each pair adds one level to the out; other declarations stay far below `levels` */
    while (p->depth < levels) {
        root->paren = (uint16_t)(root->paren + (levels - p->depth));
        assert_true(gen_program_print(p));
    }
    assert_int_equal(p->depth, levels);
}

static void test_printer_counts_nesting_like_the_parser(void **state) {
    (void)state;
    int checked = 0;
    for (uint64_t i = 0; checked < 12 && i < 200; i++) {
        gen_program *p = generate(gen_seed_for(5, i));
        /* the out must hold the deepest point, which parentheses around it guarantee */
        set_out_depth(p, SKY_MAX_NESTING);
        char code[16];
        if (compile(p, 1, NULL, code, sizeof code) != SKY_OK)
            fail_msg("program %llu at %d levels does not compile (%s)", (unsigned long long)i,
                     SKY_MAX_NESTING, code);
        set_out_depth(p, SKY_MAX_NESTING + 1);
        assert_int_equal(compile_quiet(p, 1, NULL, code, sizeof code, true), SKY_ERR_COMPILE);
        assert_string_equal(code, "E0502");
        gen_program_free(p);
        checked++;
    }
    assert_int_equal(checked, 12);
}

/* ----------------------------------------------------- reference values */

static int32_t num(gen_program *p, double v) {
    int32_t n = gen_node_num(p, fabs(v));
    if (v >= 0 && !signbit(v)) return n;
    gen_node neg = {.kind = GN_NEG, .type = GT_FLOAT, .nargs = 1};
    neg.a[0] = n;
    return gen_node_add(p, &neg);
}

static int32_t call(gen_program *p, gen_builtin f, int32_t a, int32_t b, int32_t c) {
    int32_t args[3] = {a, b, c};
    return gen_node_call(p, f, GT_FLOAT, gen_builtins[f].nargs, args);
}

/* out (value - lo) / (hi - lo): maps an expected value into the visible range. */
static gen_program *program_of(int32_t (*build)(gen_program *), double lo, double hi) {
    gen_program *p = gen_program_new(1);
    assert_non_null(p);
    int32_t v = build(p);
    int32_t e = gen_node_bin(p, GB_DIV, gen_node_bin(p, GB_SUB, v, num(p, lo), GT_FLOAT),
                             num(p, hi - lo), GT_FLOAT);
    assert_non_null(gen_decl_add(p, GD_OUT, "", e, GT_FLOAT));
    assert_true(gen_program_print(p));
    return p;
}

static int32_t b_mod(gen_program *p) { /* -1 % 3 = 2 */
    return gen_node_bin(p, GB_MOD, num(p, -1), num(p, 3), GT_FLOAT);
}
static int32_t b_round(gen_program *p) { /* round(-2.5) = -3 */
    return call(p, GF_ROUND, num(p, -2.5), -1, -1);
}
static int32_t b_pow(gen_program *p) { /* (-2)^3 = -8 */
    return gen_node_bin(p, GB_POW, num(p, -2), num(p, 3), GT_FLOAT);
}
static int32_t b_pow00(gen_program *p) { /* pow(0, 0) = 1 */
    return call(p, GF_POW, num(p, 0), num(p, 0), -1);
}
static int32_t b_atan00(gen_program *p) { /* atan(0, 0) = 0 */
    return call(p, GF_ATAN2, num(p, 0), num(p, 0), -1);
}
static int32_t b_hash0(gen_program *p) { /* hash(-0) - hash(0) = 0 */
    return gen_node_bin(p, GB_SUB, call(p, GF_HASH1, num(p, -0.0), -1, -1),
                        call(p, GF_HASH1, num(p, 0), -1, -1), GT_FLOAT);
}
static int32_t b_smooth(gen_program *p) { /* smoothstep(1, 0, 0.25) = 0.84375 */
    return call(p, GF_SMOOTHSTEP, num(p, 1), num(p, 0), num(p, 0.25));
}
static int32_t b_sign_nan(gen_program *p) { /* sign(sqrt(-1)) = 0 */
    return call(p, GF_SIGN, call(p, GF_SQRT, num(p, -1), -1, -1), -1, -1);
}

static void test_reference_edge_cases(void **state) {
    (void)state;
    struct {
        int32_t (*build)(gen_program *);
        double value, lo, hi;
    } cases[] = {
        {b_mod, 2, 0, 4},          {b_round, -3, -4, 0},   {b_pow, -8, -10, 10},
        {b_pow00, 1, 0, 2},        {b_atan00, 0, -1, 1},   {b_hash0, 0, -1, 1},
        {b_smooth, 0.84375, 0, 1}, {b_sign_nan, 0, -1, 1},
    };
    sky_layout_view view = {1, 1, (const uint32_t[]){1}, (const float[]){0.25f, 0.5f}};
    sky_led_input in;
    assert_int_equal(sky_led_inputs_build(&view, &in), SKY_OK);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        gen_program *p = program_of(cases[k].build, cases[k].lo, cases[k].hi);
        double expected = (cases[k].value - cases[k].lo) / (cases[k].hi - cases[k].lo);
        ref_eval *ev = ref_eval_create(p);
        assert_non_null(ev);
        ref_frame f = {
            .leds = &in, .led_count = 1, .strip_count = 1, .strip_sizes = view.strip_sizes};
        for (int mode = 0; mode < 2; mode++) {
            ref_mode m = {.float_led = mode == 1};
            double rgb[3];
            unsigned flags;
            ref_eval_led(ev, &f, 0, &m, rgb, &flags);
            if (fabs(rgb[0] - expected) > 1e-6)
                fail_msg("%s: reference %.9g, expected %.9g", p->source, rgb[0], expected);
        }
        /* and the compiler's CPU evaluator agrees */
        sky_program *prog = NULL;
        assert_int_equal(compile(p, 1, &prog, NULL, 0), SKY_OK);
        float rgb[3];
        sky_frame_inputs fi = {0};
        assert_int_equal(sky_program_eval(prog, &view, &in, &fi, NULL, rgb, NULL), SKY_OK);
        if (fabs(rgb[0] - expected) > 1e-6)
            fail_msg("%s: CPU evaluator %.9g, expected %.9g", p->source, rgb[0], expected);
        sky_program_free(prog);
        ref_eval_free(ev);
        gen_program_free(p);
    }
}

/* ---------------------------------------------------------- the shrinker */

/* A call of cos (not acos, not cosh). */
static bool calls_cos(const char *source) {
    for (const char *s = strstr(source, "cos("); s; s = strstr(s + 1, "cos("))
        if (s == source || !((s[-1] >= 'a' && s[-1] <= 'z') || s[-1] == '_')) return true;
    return false;
}

static bool has_cos(const gen_program *p, void *context) {
    int *calls = context;
    (*calls)++;
    return calls_cos(p->source) &&
           compile(p, 0, NULL, NULL, 0) == SKY_OK; /* and still a valid program */
}

static void test_shrink_keeps_the_failure(void **state) {
    (void)state;
    gen_program *big = NULL;
    for (uint64_t i = 0; !big && i < 500; i++) {
        gen_program *p = generate(gen_seed_for(31, i));
        if (p->source_len > 600 && calls_cos(p->source))
            big = p;
        else
            gen_program_free(p);
    }
    assert_non_null(big);
    int calls = 0, tries = 0;
    gen_program *small = gen_shrink(big, has_cos, &calls, 2000, &tries);
    assert_non_null(small);
    assert_int_equal(calls, tries);
    assert_true(calls_cos(small->source));
    const char *body = strchr(small->source, '\n'); /* after the seed line */
    print_message("shrunk %zu bytes to %zu in %d tries:%s", big->source_len, small->source_len,
                  tries, body);
    assert_true(small->source_len < 200);
    gen_program_free(small);
    gen_program_free(big);
}

static void test_coverage_counts(void **state) {
    (void)state;
    gen_coverage cov;
    memset(&cov, 0, sizeof cov);
    for (uint64_t i = 0; i < 3; i++) {
        gen_program *p = generate(gen_seed_for(3, i));
        gen_coverage_add(&cov, p);
        gen_program_free(p);
    }
    assert_int_equal(cov.programs, 3);
    assert_true(cov.nodes > 0);
    FILE *null = fopen("/dev/null", "w");
    assert_non_null(null);
    assert_true(gen_coverage_report(&cov, null, true) > 0); /* 3 programs cannot have it all */
    fclose(null);
}

static void test_one_unexplained_channel_fails(void **state) {
    (void)state;
    assert_false(gen_unexplained_fails(0, 3000));
    /* one channel of a 1,000-LED frame: far below 3 channels and 5 % */
    assert_true(gen_unexplained_fails(1, 3000));
    assert_true(gen_unexplained_fails(2, 3000000));
    assert_true(gen_unexplained_fails(3000, 3000));
}

static void test_skip_shares_are_capped(void **state) {
    (void)state;
    char msg[512] = "";
    /* the CI run's measured shares pass */
    assert_true(gen_skip_shares_ok(2000, 111, 1995876, 184699, msg, sizeof msg));
    /* just over each cap fails, naming the share */
    assert_false(gen_skip_shares_ok(2000, 0, 1000000,
                                    (uint64_t)(GEN_CAP_SKIPPED_CHANNELS * 1000000) + 1, msg,
                                    sizeof msg));
    assert_non_null(strstr(msg, "of channels"));
    msg[0] = 0;
    assert_false(gen_skip_shares_ok(2000, (uint64_t)(GEN_CAP_ALL_SKIPPED_PROGRAMS * 2000) + 1,
                                    1000000, 0, msg, sizeof msg));
    assert_non_null(strstr(msg, "every channel skipped"));
    /* a run too small for shares to mean anything, and an empty one, pass */
    assert_true(gen_skip_shares_ok(GEN_CAP_MIN_PROGRAMS - 1, GEN_CAP_MIN_PROGRAMS - 1, 100, 100,
                                   msg, sizeof msg));
    assert_true(gen_skip_shares_ok(2000, 0, 0, 0, msg, sizeof msg));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_program),
        cmocka_unit_test(test_programs_compile),
        cmocka_unit_test(test_printer_counts_nesting_like_the_parser),
        cmocka_unit_test(test_reference_edge_cases),
        cmocka_unit_test(test_shrink_keeps_the_failure),
        cmocka_unit_test(test_coverage_counts),
        cmocka_unit_test(test_one_unexplained_channel_fails),
        cmocka_unit_test(test_skip_shares_are_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
