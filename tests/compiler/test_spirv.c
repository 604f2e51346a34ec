/*
 * test_spirv.c - the emitted shaders compile and are valid Vulkan 1.1 SPIR-V.
 *
 * Every op of ops.def (one hand-built program per op, and all of them in one
 * program), a heavily shared DAG, and every .sky pattern in examples/ and in
 * tests/compiler/corpus/ (found at run time, so new patterns are covered
 * without editing this file) go through sky_program_emit_spirv and
 * then spvValidate (SPIRV-Tools) for SPV_ENV_VULKAN_1_1. The internal compiler
 * error path is driven with GLSL that shaderc must reject.
 */
#include <glob.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <shaderc/shaderc.h>
#include <spirv-tools/libspirv.h>

#include "glsl_prog_build.h"
#include "spirv.h"

#define SPIRV_MAGIC            0x07230203u
#define SPV_OP_DECORATE        71u
#define SPV_DEC_SPEC_ID        1u
#define SPV_OP_ENTRY           15u
#define SPV_DEC_NO_CONTRACTION 42u
#define SPV_MODEL_KERNEL       5u /* GLCompute */

/*
 * The checks report with print_error and return false instead of failing at
 * once, so that a pattern test lists every failing pattern and still frees
 * what it holds (cmocka's failures longjmp out of the test).
 */

/* spvValidate for Vulkan 1.1. */
static bool spirv_valid(const uint32_t *words, size_t count, const char *what) {
    if (count <= 5 || words[0] != SPIRV_MAGIC) {
        print_error("%s: not a SPIR-V module (%zu words)\n", what, count);
        return false;
    }
    spv_context context = spvContextCreate(SPV_ENV_VULKAN_1_1);
    if (!context) {
        print_error("%s: spvContextCreate failed\n", what);
        return false;
    }
    spv_const_binary_t binary = {words, count};
    spv_diagnostic diagnostic = NULL;
    spv_result_t result = spvValidate(context, &binary, &diagnostic);
    if (result != SPV_SUCCESS)
        print_error("%s: invalid SPIR-V (%d): %s\n", what, result,
                    diagnostic ? diagnostic->error : "no message");
    spvDiagnosticDestroy(diagnostic);
    spvContextDestroy(context);
    return result == SPV_SUCCESS;
}

/* How many results carry `decoration` (OpDecorate id decoration). */
static size_t spirv_count_decorations(const uint32_t *words, size_t count, uint32_t decoration) {
    size_t n = 0;
    for (size_t at = 5; at < count;) {
        uint32_t op = words[at] & 0xffffu, len = words[at] >> 16;
        if (len == 0 || at + len > count) break;
        if (op == SPV_OP_DECORATE && len >= 3 && words[at + 2] == decoration) n++;
        at += len;
    }
    return n;
}

/* The ABI's entry point: a GLCompute `main`, work-group size from spec constant 0. */
static bool spirv_abi_entry(const uint32_t *words, size_t count, const char *what) {
    bool entry = false, spec_id = false;
    for (size_t at = 5; at < count;) {
        uint32_t op = words[at] & 0xffffu, len = words[at] >> 16;
        if (len == 0 || at + len > count) break;
        if (op == SPV_OP_ENTRY && len >= 4 && words[at + 1] == SPV_MODEL_KERNEL &&
            memcmp(&words[at + 3], "main", 5) == 0)
            entry = true;
        if (op == SPV_OP_DECORATE && len == 4 && words[at + 2] == SPV_DEC_SPEC_ID &&
            words[at + 3] == 0)
            spec_id = true;
        at += len;
    }
    if (!entry || !spec_id)
        print_error("%s: %s\n", what,
                    entry ? "no SpecId 0 (work-group size)" : "no GLCompute entry point main");
    return entry && spec_id;
}

/* sky_program_emit_spirv, then the validator and the ABI checks. */
static bool spirv_check_variant(const sky_program *p, const char *what, bool texels) {
    uint32_t *words = NULL;
    size_t count = 0;
    char *error = NULL;
    sky_emit_options emit;
    sky_emit_options_init(&emit);
    emit.led_texels = texels;
    sky_status st = sky_program_emit_spirv(p, &emit, &words, &count, &error);
    bool ok = st == SKY_OK && !error;
    if (!ok) print_error("%s: %s\n%s\n", what, sky_status_str(st), error ? error : "");
    ok = ok && spirv_valid(words, count, what) && spirv_abi_entry(words, count, what);
    sky_free(words);
    sky_free(error);
    return ok;
}

/* Both shader variants: portable, and LED positions through binding 6. */
static bool spirv_check_program(const sky_program *p, const char *what) {
    bool portable = spirv_check_variant(p, what, false);
    return spirv_check_variant(p, what, true) && portable;
}

static void emit_and_validate(const sky_program *p, const char *what) {
    assert_true(spirv_check_program(p, what));
}

static bool is_frame_leaf(sky_op op) {
    return sky_op_table[op].arity == 0 && sky_op_table[op].leaf_rate == RATE_FRAME;
}

/* Each op on its own: its template or leaf spelling, and the helpers it pulls in, compile. */
static void test_every_op(void **state) {
    (void)state;
    for (int op = 0; op < OP__COUNT; op++) {
        if (is_frame_leaf((sky_op)op)) continue; /* never in the LED section (test_glsl.c) */
        test_prog t;
        test_prog_one_op(&t, (sky_op)op);
        emit_and_validate(&t.p, sky_op_table[op].name);
        test_prog_free(&t);
    }
}

/* Every op in one program, each feeding the next, with both prev forms. */
static void test_all_ops_in_one_program(void **state) {
    (void)state;
    test_prog t;
    test_prog_init(&t);
    uint32_t x = test_leaf(&t, OP_X), y = test_leaf(&t, OP_Y);
    uint32_t acc = test_const(&t, 0.5);
    for (int op = 0; op < OP__COUNT; op++) {
        if (is_frame_leaf((sky_op)op)) continue;
        uint32_t v;
        if (sky_op_table[op].arity == 0)
            v = test_insn(&t, (sky_op)op, 0, 0, 0, op == OP_CONST ? -2.5 : (op == OP_PREV ? 2 : 0));
        else
            v = test_insn(&t, (sky_op)op, acc, x, y, 0);
        acc = test_op2(&t, OP_ADD, acc, v);
    }
    test_out(&t, acc, test_op1(&t, OP_FRACT, acc), test_op2(&t, OP_MUL, acc, acc));
    emit_and_validate(&t.p, "all ops");
    test_out_grey(&t, acc);
    emit_and_validate(&t.p, "all ops, grey");
    test_prog_free(&t);
}

/* x(k+1) = x(k) * x(k) + sin(x(k)): a DAG whose tree would have 3^500 nodes. */
static void test_shared_dag(void **state) {
    (void)state;
    test_prog t;
    test_prog_init(&t);
    uint32_t v = test_leaf(&t, OP_R);
    for (int k = 0; k < 500; k++)
        v = test_op2(&t, OP_ADD, test_op2(&t, OP_MUL, v, v), test_op1(&t, OP_SIN, v));
    test_out_grey(&t, v);
    emit_and_validate(&t.p, "shared DAG");
    test_prog_free(&t);
}

/* `precise` survives shaderc's optimizer: a * b + c stays two roundings (NoContraction). */
static void test_no_contraction(void **state) {
    (void)state;
    test_prog t;
    test_prog_init(&t);
    uint32_t x = test_leaf(&t, OP_X), y = test_leaf(&t, OP_Y), r = test_leaf(&t, OP_R);
    uint32_t fma = test_op2(&t, OP_ADD, test_op2(&t, OP_MUL, x, y), r);
    uint32_t m = test_op2(&t, OP_MOD, fma, y); /* and inside a helper */
    test_out(&t, fma, m, x);
    uint32_t *words = NULL;
    size_t count = 0;
    assert_int_equal(sky_program_emit_spirv(&t.p, NULL, &words, &count, NULL), SKY_OK);
    /* at least the pixel's mul and add, sky_mod's div, mul and sub, and the byte packing */
    assert_true(spirv_count_decorations(words, count, SPV_DEC_NO_CONTRACTION) >= 6);
    sky_free(words);
    test_prog_free(&t);
}

/*
 * Many helper calls: spirv-opt inlines them all and its time and memory then
 * grow far faster than the code (found by tests/gen: 1,358 hash calls, 4,076
 * LED instructions, ran out of memory after minutes), so a large shader is
 * handed to the driver unoptimized. It must still be valid SPIR-V for the ABI,
 * and still carry NoContraction on every precise operation.
 */
static void test_many_helper_calls(void **state) {
    (void)state;
    test_prog t;
    test_prog_init(&t);
    uint32_t x = test_leaf(&t, OP_X), y = test_leaf(&t, OP_Y);
    uint32_t acc = test_insn(&t, OP_HASH3, x, y, test_const(&t, 0.5), 0);
    for (int k = 1; k < 1500; k++)
        acc = test_op2(&t, OP_ADD, acc, test_insn(&t, OP_HASH3, x, y, test_const(&t, k + 0.5), 0));
    test_out_grey(&t, test_op1(&t, OP_FRACT, acc));
    emit_and_validate(&t.p, "1,500 hash calls");
    uint32_t *words = NULL;
    size_t count = 0;
    assert_int_equal(sky_program_emit_spirv(&t.p, NULL, &words, &count, NULL), SKY_OK);
    assert_true(spirv_count_decorations(words, count, SPV_DEC_NO_CONTRACTION) >= 1499);
    sky_free(words);
    test_prog_free(&t);
}

typedef struct emit_job {
    const sky_program *p;
    uint32_t *words;
    size_t count;
    sky_status st;
} emit_job;

static void *emit_thread(void *arg) {
    emit_job *job = arg;
    job->st = sky_program_emit_spirv(job->p, NULL, &job->words, &job->count, NULL);
    return NULL;
}

/* sky.h: any number of threads may emit from one program at once, with the same result. */
static void test_concurrent_emits_agree(void **state) {
    (void)state;
    test_prog t;
    test_prog_one_op(&t, OP_NOISE3);
    enum { THREADS = 4 };
    emit_job jobs[THREADS] = {0};
    pthread_t threads[THREADS];
    for (int k = 0; k < THREADS; k++) {
        jobs[k].p = &t.p;
        assert_int_equal(pthread_create(&threads[k], NULL, emit_thread, &jobs[k]), 0);
    }
    for (int k = 0; k < THREADS; k++) assert_int_equal(pthread_join(threads[k], NULL), 0);
    for (int k = 0; k < THREADS; k++) {
        assert_int_equal(jobs[k].st, SKY_OK);
        assert_int_equal(jobs[k].count, jobs[0].count);
        assert_memory_equal(jobs[k].words, jobs[0].words, jobs[0].count * sizeof(uint32_t));
    }
    assert_true(spirv_valid(jobs[0].words, jobs[0].count, "noise3, threaded"));
    for (int k = 0; k < THREADS; k++) sky_free(jobs[k].words);
    test_prog_free(&t);
}

/*
 * sky/abi.h: a held sky_spirv_compiler emits exactly what a per-call one does,
 * again and again (a live show emits through one compiler on every save), with
 * and without emit options.
 */
static void test_held_compiler_agrees(void **state) {
    (void)state;
    sky_spirv_compiler *compiler = NULL;
    assert_int_equal(sky_spirv_compiler_create(&compiler), SKY_OK);
    assert_non_null(compiler);
    static const sky_op ops[] = {OP_NOISE3, OP_SIN, OP_NOISE2, OP_NOISE3};
    sky_emit_options texels;
    sky_emit_options_init(&texels);
    texels.led_texels = true;
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        test_prog t;
        test_prog_one_op(&t, ops[i]);
        const sky_emit_options *options = i % 2 ? &texels : NULL;
        uint32_t *fresh = NULL, *held = NULL;
        size_t fresh_count = 0, held_count = 0;
        assert_int_equal(sky_program_emit_spirv(&t.p, options, &fresh, &fresh_count, NULL),
                         SKY_OK);
        char *error = NULL;
        assert_int_equal(
            sky_spirv_compiler_emit(compiler, &t.p, options, &held, &held_count, &error), SKY_OK);
        assert_null(error);
        assert_int_equal(held_count, fresh_count);
        assert_memory_equal(held, fresh, fresh_count * sizeof(uint32_t));
        assert_true(spirv_valid(held, held_count, "held compiler"));
        sky_free(fresh);
        sky_free(held);
        test_prog_free(&t);
    }
    uint32_t *words = NULL;
    size_t count = 0;
    assert_int_equal(sky_spirv_compiler_emit(compiler, NULL, NULL, &words, &count, NULL),
                     SKY_ERR_INVALID_ARG);
    assert_int_equal(sky_spirv_compiler_create(NULL), SKY_ERR_INVALID_ARG);
    sky_spirv_compiler_free(compiler);
    sky_spirv_compiler_free(NULL);
}

/* The GLSL -> SPIR-V step on its own, with a shader that is not from the emitter. */
static void test_arbitrary_glsl(void **state) {
    (void)state;
    static const char glsl[] =
        "#version 450\n"
        "layout(local_size_x = 8) in;\n"
        "layout(std430, binding = 0) buffer B { uint b[]; };\n"
        "void main() { b[gl_GlobalInvocationID.x] = gl_GlobalInvocationID.x * 3u; }\n";
    uint32_t *words = NULL;
    size_t count = 0;
    char *error = NULL;
    assert_int_equal(
        spirv_compile_glsl(glsl, sizeof glsl - 1, "plain.comp", &words, &count, &error), SKY_OK);
    assert_null(error);
    assert_true(spirv_valid(words, count, "plain.comp"));
    sky_free(words);
}

/* shaderc rejecting the GLSL is an internal compiler error that shows the GLSL. */
static void test_internal_compiler_error(void **state) {
    (void)state;
    static const char glsl[] = "#version 450\n"
                               "layout(local_size_x = 64) in;\n"
                               "void main() {\n"
                               "    float v = undefined_value_42 * 2.0;\n"
                               "}\n";
    uint32_t *words = (uint32_t *)&words;
    size_t count = 7;
    char *error = NULL;
    assert_int_equal(
        spirv_compile_glsl(glsl, sizeof glsl - 1, "broken.comp", &words, &count, &error),
        SKY_ERR_INTERNAL);
    assert_null(words);
    assert_int_equal(count, 0);
    assert_non_null(error);
    assert_non_null(strstr(error, "internal compiler error"));
    assert_non_null(strstr(error, "bug in Skyscreen"));
    /* shaderc's own message, naming the line */
    assert_non_null(strstr(error, "broken.comp:4"));
    assert_non_null(strstr(error, "undefined_value_42"));
    /* the whole GLSL, numbered */
    assert_non_null(strstr(error, "    1 | #version 450\n"));
    assert_non_null(strstr(error, "    4 |     float v = undefined_value_42 * 2.0;\n"));
    assert_non_null(strstr(error, "    5 | }\n"));
    sky_free(error);

    /* without an error pointer the status alone */
    assert_int_equal(spirv_compile_glsl(glsl, sizeof glsl - 1, NULL, &words, &count, NULL),
                     SKY_ERR_INTERNAL);
    assert_int_equal(spirv_compile_glsl(NULL, 0, NULL, &words, &count, NULL), SKY_ERR_INVALID_ARG);
}

/* A malformed program through the public SPIR-V entry point: an ICE with a message. */
static void test_malformed_program_is_internal_error(void **state) {
    (void)state;
    test_prog t;
    test_prog_one_op(&t, OP_ADD);
    t.p.out[0] = 1000;
    uint32_t *words = NULL;
    size_t count = 0;
    char *error = NULL;
    assert_int_equal(sky_program_emit_spirv(&t.p, NULL, &words, &count, &error), SKY_ERR_INTERNAL);
    assert_null(words);
    assert_non_null(error);
    assert_non_null(strstr(error, "internal compiler error"));
    sky_free(error);
    test_prog_free(&t);
    assert_int_equal(sky_program_emit_spirv(NULL, NULL, &words, &count, NULL), SKY_ERR_INVALID_ARG);
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *data = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)size + 1))) {
            *len = fread(data, 1, (size_t)size, f);
            data[*len] = '\0';
        }
    }
    fclose(f);
    return data;
}

/* Compiles one .sky file all the way to validated SPIR-V. */
static bool compile_pattern(const char *path) {
    size_t len = 0;
    char *source = read_file(path, &len);
    if (!source) {
        print_error("%s: cannot read\n", path);
        return false;
    }
    sky_program *program = NULL;
    sky_diagnostics *diagnostics = NULL;
    sky_status st = sky_compile(path, source, len, NULL, &program, &diagnostics);
    bool ok = st == SKY_OK;
    if (!ok) {
        char *text = NULL;
        sky_diagnostics_render(diagnostics, false, &text);
        print_error("%s: %s\n%s\n", path, sky_status_str(st), text ? text : "");
        sky_free(text);
    }
    ok = ok && spirv_check_program(program, path);
    sky_program_free(program);
    sky_diagnostics_free(diagnostics);
    free(source);
    return ok;
}

/* Every file matching `pattern` compiles to valid SPIR-V; returns how many there were. */
static size_t compile_patterns(const char *pattern) {
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    if (rc == GLOB_NOMATCH) return 0;
    if (rc != 0) fail_msg("glob %s failed", pattern);
    size_t failed = 0, n = g.gl_pathc;
    for (size_t k = 0; k < n; k++) failed += !compile_pattern(g.gl_pathv[k]);
    globfree(&g);
    if (failed) fail_msg("%zu of %zu patterns (%s) failed", failed, n, pattern);
    return n;
}

static void test_examples(void **state) {
    (void)state;
    size_t n = compile_patterns(SKY_SOURCE_DIR "/examples/*.sky");
    assert_true(n > 0); /* the examples folder is part of the project */
}

static void test_corpus(void **state) {
    (void)state;
    compile_patterns(SKY_SOURCE_DIR "/tests/compiler/corpus/*.sky");
}

/*
 * glslang builds its built-in symbol tables whenever the first shaderc
 * compiler of the process is created and drops them when the last is
 * released, about 0.1 s each time. Holding one compiler for the whole group
 * makes the library's per-call compilers cheap (the library itself keeps no
 * global state); it changes nothing about the results.
 */
static int hold_glslang(void **state) {
    *state = shaderc_compiler_initialize();
    return *state ? 0 : -1;
}

static int release_glslang(void **state) {
    shaderc_compiler_release(*state);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op),
        cmocka_unit_test(test_all_ops_in_one_program),
        cmocka_unit_test(test_shared_dag),
        cmocka_unit_test(test_no_contraction),
        cmocka_unit_test(test_many_helper_calls),
        cmocka_unit_test(test_concurrent_emits_agree),
        cmocka_unit_test(test_held_compiler_agrees),
        cmocka_unit_test(test_arbitrary_glsl),
        cmocka_unit_test(test_internal_compiler_error),
        cmocka_unit_test(test_malformed_program_is_internal_error),
        cmocka_unit_test(test_examples),
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, hold_glslang, release_glslang);
}
