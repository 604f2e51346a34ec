/*
 * test_glsl.c - properties of the GLSL that emit_glsl.c writes.
 *
 * Hand-built programs (glsl_prog_build.h) check what docs/shader-abi.md
 * promises about the text: shared instructions are computed once (a DAG with
 * heavy sharing stays linear in size), long single-use chains do not nest
 * without bound, constants round-trip float32 exactly, non-finite constants
 * are spelled by their bits, each leaf reads what the ABI table says, and
 * helper files are pasted only when the program calls them. Whether the text
 * compiles is test_spirv.c's job.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "glsl_prog_build.h"

/* Emits into the caller's *glsl rather than returning a local of its own: gcc 12 at
 * -O3 cannot rule out that the text points at a local whose address the emitter got,
 * and once that local's scope ends it warns (-Wdangling-pointer) at every use. */
static void emit(test_prog *t, char **glsl) {
    size_t len = 0;
    *glsl = NULL;
    assert_int_equal(sky_program_emit_glsl(&t->p, NULL, glsl, &len), SKY_OK);
    assert_non_null(*glsl);
    assert_int_equal(strlen(*glsl), len);
}

static size_t count_of(const char *text, const char *needle) {
    size_t n = 0;
    for (const char *s = strstr(text, needle); s; s = strstr(s + 1, needle)) n++;
    return n;
}

/* The body of sky_pixel, where the program's own code is. */
static const char *pixel_body(const char *glsl) {
    const char *s = strstr(glsl, "vec3 sky_pixel(uint i) {");
    assert_non_null(s);
    return s;
}

static int max_paren_depth(const char *s, const char *end) {
    int depth = 0, max = 0;
    for (; s < end; s++) {
        if (*s == '(') depth++;
        if (*s == ')') depth--;
        if (depth > max) max = depth;
    }
    return max;
}

/* x(k+1) = x(k) * x(k) + x(k): every level used three times; as a tree, 3^2000 nodes. */
static void test_shared_dag_stays_linear(void **state) {
    (void)state;
    test_prog t;
    test_prog_init(&t);
    uint32_t v = test_leaf(&t, OP_X);
    for (int k = 0; k < 2000; k++) {
        uint32_t sq = test_op2(&t, OP_MUL, v, v);
        v = test_op2(&t, OP_ADD, sq, v);
    }
    uint32_t last = test_op1(&t, OP_SIN, v);
    test_out(&t, last, v, last);
    char *glsl;
    emit(&t, &glsl);
    const char *body = pixel_body(glsl);
    /* every shared value is a temporary defined exactly once */
    for (uint32_t i = 0; i < t.p.led.count; i += 2) {
        char def[32];
        snprintf(def, sizeof def, "float v%u = ", i);
        assert_int_equal(count_of(body, def), 1);
    }
    assert_true(strlen(body) < 64 * (size_t)t.p.led.count);
    /* the single-use products are written inline at their one use */
    /* temporaries are precise: no driver may fuse them into FMAs */
    assert_non_null(strstr(body, "    precise float v2 = ((v0 * v0) + v0); // add"));
    assert_null(strstr(body, "float v1 = "));
    sky_free(glsl);
    test_prog_free(&t);
}

/* A long chain of single-use instructions is cut into temporaries, not nested 3000 deep. */
static void test_long_chain_nesting_is_bounded(void **state) {
    (void)state;
    test_prog t;
    test_prog_init(&t);
    uint32_t x = test_leaf(&t, OP_X);
    uint32_t v = test_const(&t, 0.5);
    for (int k = 0; k < 3000; k++) v = test_op2(&t, OP_ADD, v, test_op1(&t, OP_SIN, x));
    test_out_grey(&t, v);
    char *glsl;
    emit(&t, &glsl);
    const char *body = pixel_body(glsl);
    const char *end = strstr(body, "\nvoid main()");
    assert_non_null(end);
    assert_true(max_paren_depth(body, end) <= 16);
    assert_int_equal(count_of(body, "sin(v0)"), 3000);
    assert_non_null(strstr(body, "); // grey"));
    sky_free(glsl);
    test_prog_free(&t);
}

/* Parses the literal at s (as emit_glsl.c spells it) into float bits. */
static uint32_t parse_literal(const char *s) {
    uint32_t bits;
    if (strncmp(s, "uintBitsToFloat(0x", 18) == 0) return (uint32_t)strtoul(s + 18, NULL, 16);
    if (strncmp(s, "sky_zero()", 10) == 0) return 0u;
    if (strncmp(s, "(-sky_zero())", 13) == 0) return 0x80000000u;
    const char *digits = s[0] == '(' ? s + 1 : s;
    size_t n = strcspn(digits, ")");
    char buf[64];
    assert_true(n < sizeof buf);
    memcpy(buf, digits, n);
    buf[n] = '\0';
    /* a GLSL float literal: digits alone would be an int */
    assert_non_null(strpbrk(buf, ".e"));
    char *end;
    float f = strtof(buf, &end);
    assert_true(*end == '\0');
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

static float from_bits(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Every constant, as the emitter prints it, reads back as the same float32 bits. */
static void test_constants_round_trip(void **state) {
    (void)state;
    uint32_t values[400];
    size_t n = 0;
    const float fixed[] = {0.0f,     -0.0f,       1.0f,        -1.0f,          0.1f,
                           1e10f,    1e-10f,      16777217.0f, 3.40282347e38f, 1.17549435e-38f,
                           1.4e-45f, 3.14159265f, 1.0f / 3.0f};
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++) memcpy(&values[n++], &fixed[k], 4);
    const uint32_t special[] = {0x7f800000u, 0xff800000u, 0x7fc00000u, 0xffc00001u, 0x7f800001u};
    for (size_t k = 0; k < sizeof special / sizeof special[0]; k++) values[n++] = special[k];
    uint32_t seed = 12345u;
    while (n < sizeof values / sizeof values[0]) {
        seed = seed * 1664525u + 1013904223u;
        values[n++] = seed;
    }
    /* the program holds doubles: what must round-trip is the float they round to
     * (a signalling NaN comes back quiet from that trip, before the emitter sees it) */
    for (size_t k = 0; k < n; k++) {
        volatile double d = (double)from_bits(values[k]); /* no folding of the trip */
        float f = (float)d;
        memcpy(&values[k], &f, sizeof f);
    }
    test_prog t;
    test_prog_init(&t);
    uint32_t x = test_leaf(&t, OP_X);
    uint32_t acc = test_op2(&t, OP_MUL, x, x); /* makes x a shared temporary, v0 */
    for (size_t k = 0; k < n; k++) {
        uint32_t c = test_const(&t, (double)from_bits(values[k]));
        acc = test_op2(&t, OP_MUL, acc, test_op2(&t, OP_ADD, x, c));
    }
    test_out_grey(&t, acc);
    char *glsl;
    emit(&t, &glsl);
    const char *s = pixel_body(glsl);
    for (size_t k = 0; k < n; k++) {
        s = strstr(s, "(v0 + ");
        assert_non_null(s);
        s += 6;
        uint32_t got = parse_literal(s);
        if (got != values[k])
            fail_msg("constant %zu: 0x%08x printed as '%.30s', reads back 0x%08x", k,
                     (unsigned)values[k], s, (unsigned)got);
    }
    assert_null(strstr(s, "(v0 + "));
    sky_free(glsl);
    test_prog_free(&t);
}

static void test_nonfinite_constants_use_bits(void **state) {
    (void)state;
    test_prog t;
    test_prog_init(&t);
    uint32_t x = test_leaf(&t, OP_X);
    uint32_t inf = test_const(&t, (double)from_bits(0x7f800000u));
    uint32_t ninf = test_const(&t, (double)from_bits(0xff800000u));
    uint32_t nan = test_const(&t, (double)from_bits(0x7fc00000u));
    test_out(&t, test_op2(&t, OP_MIN, x, inf), test_op2(&t, OP_MAX, x, ninf),
             test_op2(&t, OP_ADD, x, nan));
    char *glsl;
    emit(&t, &glsl);
    char *body = (char *)pixel_body(glsl);
    char *end = strstr(body, "\nvoid main()");
    assert_non_null(end);
    *end = '\0';
    assert_non_null(strstr(body, "uintBitsToFloat(0x7f800000u)"));
    assert_non_null(strstr(body, "uintBitsToFloat(0xff800000u)"));
    assert_non_null(strstr(body, "uintBitsToFloat(0x7fc00000u)"));
    assert_null(strstr(body, "inf"));
    assert_null(strstr(body, "nan"));
    sky_free(glsl);
    test_prog_free(&t);
}

/* Each leaf reads what docs/shader-abi.md's table says. */
static void test_leaves_follow_the_abi(void **state) {
    (void)state;
    static const struct {
        sky_op op;
        double imm;
        const char *glsl;
    } leaves[] = {
        {OP_X, 0, "sky_led[i].pos.x"},
        {OP_Y, 0, "sky_led[i].pos.y"},
        {OP_R, 0, "sky_led[i].pos.z"},
        {OP_THETA, 0, "sky_led[i].pos.w"},
        {OP_STRIP, 0, "float(sky_led[i].ids.x)"},
        {OP_LED, 0, "float(sky_led[i].ids.y)"},
        {OP_LEDS, 0, "float(sky_led[i].ids.z)"},
        {OP_INDEX, 0, "float(i)"},
        {OP_PREV, 2, "sky_prev[3u * i + 2u]"},
        {OP_UNIFORM, 7, "sky_uv[1].w"}, /* binding 7: uniform 7 is vec4 1, component w */
    };
    for (size_t k = 0; k < sizeof leaves / sizeof leaves[0]; k++) {
        test_prog t;
        test_prog_init(&t);
        uint32_t v = test_insn(&t, leaves[k].op, 0, 0, 0, leaves[k].imm);
        test_out_grey(&t, test_op1(&t, OP_SIN, v));
        char *glsl;
        emit(&t, &glsl);
        char want[96];
        snprintf(want, sizeof want, "precise vec3 rgb = vec3(sin(%s));", leaves[k].glsl);
        if (!strstr(pixel_body(glsl), want)) fail_msg("leaf %zu: no '%s'", k, want);
        sky_free(glsl);
        test_prog_free(&t);
    }
}

/* With sky_emit_options.led_texels the positions come from binding 6; ids stay in binding 1. */
static void test_led_texels_variant(void **state) {
    (void)state;
    test_prog t;
    test_prog_init(&t);
    uint32_t x = test_insn(&t, OP_X, 0, 0, 0, 0), th = test_insn(&t, OP_THETA, 0, 0, 0, 0);
    uint32_t s = test_insn(&t, OP_STRIP, 0, 0, 0, 0);
    test_out(&t, x, th, s);
    sky_emit_options options;
    sky_emit_options_init(&options);
    assert_false(options.led_texels); /* portable by default */
    options.led_texels = true;
    char *glsl = NULL;
    assert_int_equal(sky_program_emit_glsl(&t.p, &options, &glsl, NULL), SKY_OK);
    assert_int_equal(count_of(glsl, "set = 0, binding = 6) uniform samplerBuffer sky_led_texels;"),
                     1);
    assert_non_null(strstr(pixel_body(glsl), "sky_led_pos(i).x"));
    assert_non_null(strstr(pixel_body(glsl), "sky_led_pos(i).w"));
    assert_non_null(strstr(pixel_body(glsl), "float(sky_led[i].ids.x)"));
    assert_null(strstr(pixel_body(glsl), "sky_led[i].pos"));
    sky_free(glsl);
    char *plain;
    emit(&t, &plain);
    assert_null(strstr(plain, "binding = 6"));
    sky_free(plain);
    test_prog_free(&t);
}

/* Per-frame values come from binding 7 while they fit in 16 KiB, else from binding 0. */
static void test_uniform_block_or_storage(void **state) {
    (void)state;
    for (int big = 0; big < 2; big++) {
        test_prog t;
        test_prog_init(&t);
        uint32_t u = test_insn(&t, OP_UNIFORM, 0, 0, 0, 4091);
        test_out_grey(&t, u);
        t.p.uniform_count = big ? 4093 : 4092;
        char *glsl;
        emit(&t, &glsl);
        if (big) {
            assert_null(strstr(glsl, "binding = 7"));
            assert_non_null(strstr(pixel_body(glsl), "sky_u[4091]"));
        } else {
            assert_int_equal(count_of(glsl, "set = 0, binding = 7) uniform SkyFrameUniforms"), 1);
            assert_non_null(strstr(glsl, "vec4 sky_uv[1023];"));
            assert_non_null(strstr(pixel_body(glsl), "sky_uv[1022].w"));
        }
        sky_free(glsl);
        test_prog_free(&t);
    }
}

/* prev(s, l) is a helper call with the channel as a uint literal. */
static void test_prev_at_call(void **state) {
    (void)state;
    test_prog t;
    test_prog_init(&t);
    uint32_t s = test_leaf(&t, OP_STRIP), l = test_leaf(&t, OP_LED);
    uint32_t p = test_insn(&t, OP_PREV_AT, s, l, 0, 1);
    test_out(&t, p, s, l);
    char *glsl;
    emit(&t, &glsl);
    assert_non_null(strstr(pixel_body(glsl), "sky_prev_at(v0, v1, 1u)"));
    assert_non_null(strstr(glsl, "float sky_prev_at(float s, float l, uint c)"));
    assert_non_null(strstr(glsl, "sky_store_prev(i, c0);"));
    sky_free(glsl);
    test_prog_free(&t);
}

static bool has_file(const char *glsl, const char *name) {
    char header[64];
    snprintf(header, sizeof header, "\n// %s - ", name);
    return strstr(glsl, header) != NULL;
}

static const char *file_at(const char *glsl, const char *name) {
    char header[64];
    snprintf(header, sizeof header, "\n// %s - ", name);
    return strstr(glsl, header);
}

/* Helper files are pasted only when called, each once, dependencies first. */
static void test_helpers_only_when_needed(void **state) {
    (void)state;
    static const struct {
        sky_op op;
        bool math, hash, noise, prev;
    } cases[] = {
        {OP_ADD, false, false, false, false},    {OP_SIN, false, false, false, false},
        {OP_MOD, true, false, false, false},     {OP_POW, true, false, false, false},
        {OP_SIGN, true, false, false, false},    {OP_HASH2, false, true, false, false},
        {OP_NOISE2, true, true, true, false},    {OP_NOISE3, true, true, true, false},
        {OP_PREV_AT, false, false, false, true},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        test_prog t;
        test_prog_one_op(&t, cases[k].op);
        char *glsl;
        emit(&t, &glsl);
        assert_int_equal(count_of(glsl, "// sky_frame.glsl - "), 1);
        assert_int_equal(has_file(glsl, "sky_math.glsl"), cases[k].math);
        assert_int_equal(has_file(glsl, "sky_hash.glsl"), cases[k].hash);
        assert_int_equal(has_file(glsl, "sky_noise.glsl"), cases[k].noise);
        assert_int_equal(has_file(glsl, "sky_prev.glsl"), cases[k].prev);
        assert_int_equal(count_of(glsl, "uint sky_pcg(uint v)"), cases[k].hash);
        if (cases[k].noise) {
            assert_true(file_at(glsl, "sky_hash.glsl") < file_at(glsl, "sky_noise.glsl"));
            assert_true(file_at(glsl, "sky_math.glsl") < file_at(glsl, "sky_noise.glsl"));
        }
        /* the ABI comes first, the program's code last */
        assert_true(file_at(glsl, "sky_frame.glsl") < pixel_body(glsl));
        sky_free(glsl);
        test_prog_free(&t);
    }
}

/* The ABI's fixed parts: version, work-group size as spec constant 0, six bindings, packing. */
static void test_abi_frame(void **state) {
    (void)state;
    test_prog t;
    test_prog_one_op(&t, OP_ADD);
    char *glsl;
    emit(&t, &glsl);
    assert_memory_equal(glsl, "#version 450\n", 13);
    assert_non_null(strstr(glsl, "layout(local_size_x = 64, local_size_x_id = 0) in;"));
    for (int b = 0; b < 6; b++) {
        char binding[40];
        snprintf(binding, sizeof binding, "set = 0, binding = %d)", b);
        assert_int_equal(count_of(glsl, binding), 1);
    }
    assert_non_null(strstr(glsl, "vec3 c0 = sky_final(sky_pixel(i));"));
    assert_non_null(strstr(glsl, "if (i + 3u < n) c3 = sky_final(sky_pixel(i + 3u));"));
    assert_non_null(
        strstr(glsl, "sky_out[3u * g] = b0.r | (b0.g << 8u) | (b0.b << 16u) | (b1.r << 24u);"));
    /* no prev: the shader neither reads binding 3 nor writes binding 4 */
    assert_false(t.p.uses_prev);
    assert_null(strstr(glsl, "sky_cur[3u"));
    assert_null(strstr(pixel_body(glsl), "sky_prev"));
    sky_free(glsl);
    test_prog_free(&t);
}

/*
 * Zero constants are read at run time (sky_zero()), never written as 0.0: a
 * driver that does not preserve Inf/NaN folds x * 0.0 and 0.0 / x to 0, where
 * the CPU evaluator gives NaN for an infinite x (found by tests/gen: lavapipe
 * gave x for `x % 0` and 0.5 for `exp(x * 1000) * 0 + 0.5`).
 */
static void test_zero_constants_are_opaque(void **state) {
    (void)state;
    test_prog t;
    test_prog_init(&t);
    uint32_t x = test_leaf(&t, OP_X);
    uint32_t zero = test_const(&t, 0.0), nzero = test_const(&t, -0.0);
    test_out(&t, test_op2(&t, OP_MUL, x, zero), test_op2(&t, OP_DIV, zero, x),
             test_op2(&t, OP_MOD, x, nzero));
    char *glsl;
    emit(&t, &glsl);
    char *body = (char *)pixel_body(glsl);
    char *end = strstr(body, "\nvoid main()");
    assert_non_null(end);
    *end = '\0';
    assert_non_null(strstr(body, "* sky_zero())"));
    assert_non_null(strstr(body, "(sky_zero() / "));
    assert_non_null(strstr(body, "(-sky_zero()))"));
    assert_null(strstr(body, "0.0)"));
    assert_non_null(strstr(glsl, "float sky_zero() {\n    return uintBitsToFloat(sky_info"));
    assert_true(strstr(glsl, "float sky_zero()") < body);
    sky_free(glsl);
    test_prog_free(&t);
    /* without a zero constant, no definition */
    test_prog_init(&t);
    test_out_grey(&t, test_op1(&t, OP_SIN, test_leaf(&t, OP_X)));
    emit(&t, &glsl);
    assert_null(strstr(glsl, "sky_zero"));
    sky_free(glsl);
    test_prog_free(&t);
}

/* Templates come from ops.def: %0 %1 %2 become the operands in order. */
static void test_templates_substitute_operands(void **state) {
    (void)state;
    test_prog t;
    test_prog_one_op(&t, OP_CLAMP);
    char *glsl;
    emit(&t, &glsl);
    /* x, y are shared (outputs too), r is single use and inlined */
    assert_non_null(strstr(pixel_body(glsl), "sky_clamp(v0, v1, sky_led[i].pos.z)"));
    sky_free(glsl);
    test_prog_free(&t);
    test_prog_one_op(&t, OP_SELECT);
    emit(&t, &glsl);
    assert_non_null(strstr(pixel_body(glsl), "(v0 != 0.0 ? v1 : sky_led[i].pos.z)"));
    sky_free(glsl);
    test_prog_free(&t);
}

/* Dead instructions (not reachable from the outputs) are not emitted. */
static void test_dead_code_not_emitted(void **state) {
    (void)state;
    test_prog t;
    test_prog_init(&t);
    uint32_t x = test_leaf(&t, OP_X);
    test_op2(&t, OP_NOISE2, x, x); /* read by nothing */
    test_out_grey(&t, test_op1(&t, OP_COS, x));
    char *glsl;
    emit(&t, &glsl);
    assert_null(strstr(glsl, "sky_noise2("));
    assert_false(has_file(glsl, "sky_noise.glsl"));
    sky_free(glsl);
    test_prog_free(&t);
}

/* A malformed program is a bug in the compiler: SKY_ERR_INTERNAL, never a crash. */
static void test_malformed_programs(void **state) {
    (void)state;
    char *glsl = (char *)"untouched";
    assert_int_equal(sky_program_emit_glsl(NULL, NULL, &glsl, NULL), SKY_ERR_INVALID_ARG);
    test_prog t;
    test_prog_one_op(&t, OP_ADD);
    assert_int_equal(sky_program_emit_glsl(&t.p, NULL, NULL, NULL), SKY_ERR_INVALID_ARG);

    t.p.led.insns[3].arg[1] = 3; /* operand not earlier than its user */
    assert_int_equal(sky_program_emit_glsl(&t.p, NULL, &glsl, NULL), SKY_ERR_INTERNAL);
    assert_null(glsl);
    t.p.led.insns[3].arg[1] = 1;
    t.p.out[2] = 99; /* output out of range */
    assert_int_equal(sky_program_emit_glsl(&t.p, NULL, &glsl, NULL), SKY_ERR_INTERNAL);
    t.p.out[2] = 1;
    t.p.led.insns[3].op = OP__COUNT; /* no such op */
    assert_int_equal(sky_program_emit_glsl(&t.p, NULL, &glsl, NULL), SKY_ERR_INTERNAL);
    test_prog_free(&t);

    /* per-frame leaves never reach the LED section: they arrive as uniforms */
    static const sky_op frame_leaves[] = {OP_PARAM, OP_T, OP_DT, OP_FRAME, OP_STRIPS, OP_COUNT};
    for (size_t k = 0; k < sizeof frame_leaves / sizeof frame_leaves[0]; k++) {
        test_prog_one_op(&t, frame_leaves[k]);
        assert_int_equal(sky_program_emit_glsl(&t.p, NULL, &glsl, NULL), SKY_ERR_INTERNAL);
        test_prog_free(&t);
    }
    test_prog_one_op(&t, OP_UNIFORM);
    t.p.led.insns[3].imm = 1; /* only one uniform */
    assert_int_equal(sky_program_emit_glsl(&t.p, NULL, &glsl, NULL), SKY_ERR_INTERNAL);
    test_prog_free(&t);
    test_prog_one_op(&t, OP_PREV);
    t.p.uses_prev = false; /* reads prev, but the runtime would not keep it */
    assert_int_equal(sky_program_emit_glsl(&t.p, NULL, &glsl, NULL), SKY_ERR_INTERNAL);
    t.p.uses_prev = true;
    t.p.led.insns[3].imm = 3; /* no channel 3 */
    assert_int_equal(sky_program_emit_glsl(&t.p, NULL, &glsl, NULL), SKY_ERR_INTERNAL);
    test_prog_free(&t);
    sky_program empty = {0};
    assert_int_equal(sky_program_emit_glsl(&empty, NULL, &glsl, NULL), SKY_ERR_INTERNAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_dag_stays_linear),
        cmocka_unit_test(test_long_chain_nesting_is_bounded),
        cmocka_unit_test(test_constants_round_trip),
        cmocka_unit_test(test_nonfinite_constants_use_bits),
        cmocka_unit_test(test_leaves_follow_the_abi),
        cmocka_unit_test(test_prev_at_call),
        cmocka_unit_test(test_led_texels_variant),
        cmocka_unit_test(test_uniform_block_or_storage),
        cmocka_unit_test(test_helpers_only_when_needed),
        cmocka_unit_test(test_abi_frame),
        cmocka_unit_test(test_templates_substitute_operands),
        cmocka_unit_test(test_zero_constants_are_opaque),
        cmocka_unit_test(test_dead_code_not_emitted),
        cmocka_unit_test(test_malformed_programs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
