/*
 * test_audio_lang.c - `audio.*` in the language: every member reads its
 * value of sky_frame_inputs.audio in the evaluator, band(k) clamps and
 * floors k (constant, per frame and per LED; NaN reads band 0), a missing
 * source reads zeros, everything that depends only on audio is hoisted into
 * the per-frame section, and `audio` followed by `.` is never a swizzle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sky/abi.h"
#include "sky/sky.h"

static sky_program *compile(const char *src) {
    sky_program *p = NULL;
    sky_diagnostics *d = NULL;
    sky_status st = sky_compile("audio.sky", src, strlen(src), NULL, &p, &d);
    if (st != SKY_OK) {
        char *text = NULL;
        sky_diagnostics_render(d, false, &text);
        fail_msg("%s", text ? text : "compile failed");
    }
    sky_diagnostics_free(d);
    return p;
}

static sky_audio_values sample_values(void) {
    sky_audio_values v = {.level = 0.11f,
                          .bass = 0.22f,
                          .mid = 0.33f,
                          .treble = 0.44f,
                          .beat = 0.55f,
                          .phase = 0.66f,
                          .bpm = 128.0f};
    for (int k = 0; k < SKY_AUDIO_BANDS; k++) v.band[k] = (float)(k + 1) / 32.0f;
    return v;
}

/* rgb of LED 0 (x = -0.5, y = 0.25) of a one-LED layout; prev black. */
static void eval_one(const sky_program *p, const sky_audio_values *audio, float rgb[3]) {
    float xy[2] = {-0.5f, 0.25f};
    uint32_t sizes[1] = {1};
    sky_layout_view view = {1, 1, sizes, xy};
    sky_led_input inputs[1];
    assert_int_equal(sky_led_inputs_build(&view, inputs), SKY_OK);
    sky_frame_inputs in = {.t = 1.5, .dt = 0.1, .frame = 3, .audio = audio};
    assert_int_equal(sky_program_eval(p, &view, inputs, &in, NULL, rgb, NULL), SKY_OK);
}

static void expect_rgb(const char *src, const sky_audio_values *audio, double r, double g,
                       double b) {
    sky_program *p = compile(src);
    float rgb[3];
    eval_one(p, audio, rgb);
    double want[3] = {r, g, b};
    for (int c = 0; c < 3; c++)
        if (fabs(rgb[c] - want[c]) > 1e-6)
            fail_msg("%s: channel %d is %.7f, expected %.7f", src, c, rgb[c], want[c]);
    sky_program_free(p);
}

static void test_members_read_their_values(void **state) {
    (void)state;
    sky_audio_values v = sample_values();
    expect_rgb("out rgb(audio.level, audio.bass, audio.mid)", &v, 0.11f, 0.22f, 0.33f);
    expect_rgb("out rgb(audio.treble, audio.beat, audio.phase)", &v, 0.44f, 0.55f, 0.66f);
    expect_rgb("out rgb(audio.bpm / 256, audio.band(0), audio.band(15))", &v, 0.5, 1 / 32.0,
               16 / 32.0f);
}

static void test_without_audio_reads_zeros(void **state) {
    (void)state;
    expect_rgb("out rgb(audio.level + 0.25, audio.bpm + audio.beat + 0.5, audio.band(x) + 0.75)",
               NULL, 0.25, 0.5, 0.75);
}

static void test_band_index(void **state) {
    (void)state;
    sky_audio_values v = sample_values();
    /* constants: floor, clamped to 0..15 */
    expect_rgb("out rgb(audio.band(2.7), audio.band(-3), audio.band(99))", &v, 3 / 32.0f, 1 / 32.0f,
               16 / 32.0f);
    /* per LED (x = -0.5): floor(x * 10 + 12) = 7; below 0 and above 15; NaN reads band 0 */
    expect_rgb("out rgb(audio.band(x * 10 + 12), audio.band(x * 100), audio.band(-x * 100))", &v,
               8 / 32.0f, 1 / 32.0f, 16 / 32.0f);
    expect_rgb("let k = x - x\nout rgb(audio.band(k / k), audio.band(x + 15.5), 0)", &v, 1 / 32.0f,
               16 / 32.0f, 0);
    /* per frame: phase 0.66 * 16 = 10.56 -> band 10 */
    expect_rgb("out rgb(audio.band(audio.phase * 16), audio.band(t * 2), 0)", &v, 11 / 32.0f,
               4 / 32.0f, 0);
}

/* What depends only on audio (and t, params) runs per frame: the LED section just reads uniforms.
 */
static void test_hoisted(void **state) {
    (void)state;
    sky_program *p = compile("let pulse = sin(audio.phase * tau) * audio.beat + audio.level\n"
                             "out rgb(pulse, audio.band(audio.bpm / 10), mix(audio.bass, "
                             "audio.treble, 0.5))\n");
    assert_true(sky_program_inputs(p) & SKY_INPUT_AUDIO);
    char *ir = NULL;
    assert_int_equal(sky_program_emit_ir(p, &ir), SKY_OK);
    const char *led = strstr(ir, "; led section");
    assert_non_null(led);
    assert_non_null(strstr(ir, "audio phase"));
    assert_null(strstr(led, "audio"));
    assert_null(strstr(led, "sin"));
    assert_null(strstr(led, "select"));
    assert_int_equal(sky_program_uniform_count(p), 3);
    sky_free(ir);
    sky_program_free(p);
    sky_program *plain = compile("out rgb(x, y, t)");
    assert_false(sky_program_inputs(plain) & SKY_INPUT_AUDIO);
    sky_program_free(plain);
}

/* `audio` is a namespace: `audio.x` after `let audio` is still a member, and an error. */
static void test_audio_is_a_namespace(void **state) {
    (void)state;
    const char *src = "let audio = vec3(1, 2, 3)\nout rgb(audio.x, 0, 0)\n";
    sky_program *p = NULL;
    sky_diagnostics *d = NULL;
    assert_int_equal(sky_compile("ns.sky", src, strlen(src), NULL, &p, &d), SKY_ERR_COMPILE);
    bool found = false;
    for (size_t i = 0; i < sky_diagnostics_count(d); i++) {
        const sky_diag *g = sky_diagnostics_get(d, i);
        if (strcmp(g->message, "`audio` has no member `x`") == 0) {
            found = true;
            assert_string_equal(g->code, "E0301");
            assert_int_equal(g->line, 2);
            assert_int_equal(g->col, 15);
            assert_non_null(strstr(g->help, "`band(k)`"));
        }
    }
    assert_true(found);
    sky_diagnostics_free(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members_read_their_values),
        cmocka_unit_test(test_without_audio_reads_zeros),
        cmocka_unit_test(test_band_index),
        cmocka_unit_test(test_hoisted),
        cmocka_unit_test(test_audio_is_a_namespace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
