/*
 * fuzz_compile.c - libFuzzer target: .sky source text in, diagnostics or a
 * program out (sky_compile).
 *
 * The input bytes are the source, as `sky run` would read them from a file
 * (any bytes: invalid UTF-8, NULs, CR, a megabyte of parentheses). Beyond
 * "no crash, no leak, no undefined behaviour", the target checks the API's
 * promises, and aborts (a finding) when one is broken:
 *   - the status is SKY_OK (with a program and no errors) or SKY_ERR_COMPILE
 *     (with at least one error and no program); never an internal error;
 *   - no diagnostic is an internal compiler error (E0901);
 *   - every diagnostic span lies inside the source, lines and columns are
 *     1-based, message and code are set; rendering succeeds;
 *   - a compiled program's IR and GLSL emit, and the CPU evaluator runs it
 *     for two frames on a tiny layout, every channel final (in [0, 1]);
 *   - the same source compiled at -O0 evaluates to the same bits.
 * SPIR-V emission (shaderc) is left out: it is slow, and test_spirv covers
 * it on every example and corpus program.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sky/abi.h"
#include "sky/sky.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__asan_default_options(void);

/*
 * ASan's strstr interceptor measures the whole haystack (strlen) on every
 * call, so a scan that calls strstr from each match to the next -- linear
 * in glibc, as emit_glsl.c's helper scan over a 1 MB shader is -- becomes
 * quadratic under ASan: 30 ms in the plain build, over 10 s here (found by
 * this target as a "timeout"). Other string functions stay checked.
 */
const char *__asan_default_options(void) {
    return "intercept_strstr=0";
}

#define FUZZ_FAIL(...)                                 \
    do {                                               \
        fprintf(stderr, "fuzz_compile: " __VA_ARGS__); \
        fputc('\n', stderr);                           \
        abort();                                       \
    } while (0)

static void fuzz_check_diagnostics(const sky_diagnostics *diags, size_t len) {
    size_t n = sky_diagnostics_count(diags);
    for (size_t i = 0; i < n; i++) {
        const sky_diag *d = sky_diagnostics_get(diags, i);
        if (!d || !d->message || !d->filename || (!d->code && d->severity != SKY_SEVERITY_NOTE))
            FUZZ_FAIL("diagnostic %zu lacks a message, code or file name", i);
        if (d->code && strcmp(d->code, "E0901") == 0)
            FUZZ_FAIL("internal compiler error: %s", d->message);
        if (d->start == UINT32_MAX) continue; /* a diagnostic about the whole file */
        if (d->start > d->end || d->end > len)
            FUZZ_FAIL("diagnostic %zu spans %u..%u of a %zu-byte source", i, d->start, d->end, len);
        if (d->line == 0 || d->col == 0 || d->end_line < d->line ||
            (d->end_line == d->line && d->end_col < d->col))
            FUZZ_FAIL("diagnostic %zu at %u:%u..%u:%u", i, d->line, d->col, d->end_line,
                      d->end_col);
    }
    for (int color = 0; color < 2; color++) {
        char *text = NULL;
        if (sky_diagnostics_render(diags, color, &text) != SKY_OK || !text)
            FUZZ_FAIL("rendering %zu diagnostics failed", n);
        sky_free(text);
    }
}

/* Two strips of three LEDs: enough for strip/led/prev(s, l) to mean something. */
#define FUZZ_LEDS   6
#define FUZZ_FRAMES 2

/* Runs FUZZ_FRAMES frames (each frame's colour is the next one's prev) into rgb. */
static void fuzz_eval(const sky_program *program, float rgb[FUZZ_FRAMES][FUZZ_LEDS * 3]) {
    static const uint32_t sizes[2] = {3, 3};
    static const float xy[FUZZ_LEDS * 2] = {0.0f, 0.0f,  0.5f,  0.0f, 1.0f,  0.0f,
                                            0.0f, -0.5f, -0.7f, 0.7f, -1.0f, -1.0f};
    const sky_layout_view layout = {FUZZ_LEDS, 2, sizes, xy};
    sky_led_input inputs[FUZZ_LEDS];
    if (sky_led_inputs_build(&layout, inputs) != SKY_OK) FUZZ_FAIL("sky_led_inputs_build failed");

    size_t slots = sky_program_param_slots(program);
    double *params = calloc(slots ? slots : 1, sizeof *params);
    if (!params) FUZZ_FAIL("out of memory for %zu params", slots);
    sky_program_param_defaults(program, params);
    uint8_t bytes[FUZZ_LEDS * 3];
    for (int f = 0; f < FUZZ_FRAMES; f++) {
        sky_frame_inputs frame = {f * 0.25, f ? 0.25 : 0.0, (uint64_t)f, params};
        sky_status st = sky_program_eval(program, &layout, inputs, &frame, f ? rgb[f - 1] : NULL,
                                         rgb[f], bytes);
        if (st != SKY_OK) FUZZ_FAIL("sky_program_eval: %s", sky_status_str(st));
        for (int i = 0; i < FUZZ_LEDS * 3; i++) {
            if (!(rgb[f][i] >= 0.0f && rgb[f][i] <= 1.0f))
                FUZZ_FAIL("frame %d channel %d is %g, not final (in [0, 1])", f, i,
                          (double)rgb[f][i]);
        }
    }
    free(params);
}

static void fuzz_program(const sky_program *program, float rgb[FUZZ_FRAMES][FUZZ_LEDS * 3]) {
    char *text = NULL;
    sky_status st = sky_program_emit_ir(program, &text);
    if (st != SKY_OK) FUZZ_FAIL("sky_program_emit_ir: %s", sky_status_str(st));
    sky_free(text);
    size_t len = 0;
    st = sky_program_emit_glsl(program, NULL, &text, &len);
    if (st != SKY_OK || strlen(text) != len)
        FUZZ_FAIL("sky_program_emit_glsl: %s", sky_status_str(st));
    sky_free(text);
    for (size_t i = 0; i < sky_program_param_count(program); i++) {
        const sky_param_info *p = sky_program_param(program, i);
        if (!p || sky_program_param_find(program, p->name) != (long)i)
            FUZZ_FAIL("param %zu cannot be found by its name", i);
    }
    fuzz_eval(program, rgb);
}

/*
 * The optimizer must not change what a program computes: -O0 (no
 * simplification) evaluates bit-identically to -O1 on the CPU (the contract
 * test_optimizer checks on the examples; here on whatever compiles).
 */
static void fuzz_compare_o0(const uint8_t *data, size_t size, const sky_program *o1,
                            float rgb1[FUZZ_FRAMES][FUZZ_LEDS * 3]) {
    sky_compile_options options;
    sky_compile_options_init(&options);
    options.opt_level = 0;
    sky_program *o0 = NULL;
    sky_status st = sky_compile("fuzz.sky", (const char *)data, size, &options, &o0, NULL);
    if (st == SKY_ERR_NOMEM) return;
    if (st != SKY_OK) FUZZ_FAIL("compiles at -O1 but not at -O0: %s", sky_status_str(st));
    if (sky_program_param_slots(o0) != sky_program_param_slots(o1) ||
        sky_program_uses_prev(o0) != sky_program_uses_prev(o1))
        FUZZ_FAIL("-O0 and -O1 disagree on params or prev");
    float rgb0[FUZZ_FRAMES][FUZZ_LEDS * 3];
    fuzz_eval(o0, rgb0);
    sky_program_free(o0);
    for (int f = 0; f < FUZZ_FRAMES; f++) {
        for (int i = 0; i < FUZZ_LEDS * 3; i++) {
            if (memcmp(&rgb0[f][i], &rgb1[f][i], sizeof(float)) != 0)
                FUZZ_FAIL("frame %d LED %d channel %d: -O0 gives %a, -O1 gives %a", f, i / 3, i % 3,
                          (double)rgb0[f][i], (double)rgb1[f][i]);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sky_compile_options options;
    sky_compile_options_init(&options);
    options.verify_graph = true; /* an optimizer pass that breaks the graph is a finding */
    sky_program *program = NULL;
    sky_diagnostics *diags = NULL;
    sky_status st = sky_compile("fuzz.sky", (const char *)data, size, &options, &program, &diags);
    if (st == SKY_ERR_NOMEM) { /* only under libFuzzer's -malloc_limit_mb: not a bug */
        sky_diagnostics_free(diags);
        return 0;
    }
    if (st != SKY_OK && st != SKY_ERR_COMPILE) FUZZ_FAIL("status %s", sky_status_str(st));
    if (!diags) FUZZ_FAIL("no diagnostics object");
    size_t errors = sky_diagnostics_error_count(diags);
    if (st == SKY_OK && (!program || errors != 0))
        FUZZ_FAIL("SKY_OK with %s program and %zu errors", program ? "a" : "no", errors);
    if (st == SKY_ERR_COMPILE && (program || errors == 0))
        FUZZ_FAIL("SKY_ERR_COMPILE with %s program and %zu errors", program ? "a" : "no", errors);
    fuzz_check_diagnostics(diags, size);
    if (program) {
        float rgb[FUZZ_FRAMES][FUZZ_LEDS * 3];
        fuzz_program(program, rgb);
        fuzz_compare_o0(data, size, program, rgb);
    }
    sky_program_free(program);
    sky_diagnostics_free(diags);
    return 0;
}
