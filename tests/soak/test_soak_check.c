/*
 * test_soak_check.c - the soak's torn-frame check, on frames built here.
 *
 * The soak can only find torn frames if (1) its .sky patterns really paint
 * what its model says, and (2) the classifier accepts every whole frame the
 * driver may send (exact, held, faded by the driver's own quantizer, black)
 * and rejects mixtures: two frames, two patterns, two fade levels, a
 * universe out of place, one LED off by one. (1) is checked by compiling
 * each pattern with libsky and evaluating it with the CPU reference
 * evaluator on the soak's layout; (2) with frames assembled here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sky/abi.h"
#include "sky/layout.h"
#include "sky/sky.h"
#include "soak_check.h"

static const soak_model model = {36, 100, 3600};
#define BYTES (3600 * 3)

static void paint(uint8_t *rgb, int p, uint32_t f) {
    for (uint32_t i = 0; i < model.led_count; i++)
        for (int c = 0; c < 3; c++) rgb[i * 3 + c] = soak_expected(&model, p, f, i, c);
}

/* What sky-driver sends at fade level s / 65536 with gamma 1, brightness 1 (docs/driver.md). */
static void fade(uint8_t *rgb, size_t bytes, uint32_t s) {
    for (size_t i = 0; i < bytes; i++) {
        uint32_t v = (uint32_t)rgb[i] * 256; /* the 8.8 lookup value: 65280 * c / 255 */
        rgb[i] = s >= 65536 ? (uint8_t)((v + 128) >> 8) : (uint8_t)((v * s) >> 24);
    }
}

static void test_patterns_match_the_model(void **state) {
    (void)state;
    sky_layout *layout = NULL;
    char err[256];
    assert_int_equal(sky_layout_create("disc:36x100", &layout, err, sizeof err), SKY_OK);
    sky_layout_view view = {layout->led_count, layout->strip_count, layout->strip_sizes,
                            layout->xy};
    sky_led_input *inputs = calloc(layout->led_count, sizeof *inputs);
    uint8_t *bytes = malloc(BYTES), *want = malloc(BYTES);
    assert_non_null(inputs);
    assert_non_null(bytes);
    assert_non_null(want);
    assert_int_equal(sky_led_inputs_build(&view, inputs), SKY_OK);
    static const uint64_t frames[] = {0, 1, 2, 255, 256, 257, 1234, 40000, 65535, 65536, 100001};
    for (int p = 0; p < SOAK_PATTERNS; p++) {
        const char *src = soak_pattern_source(p);
        sky_program *prog = NULL;
        assert_int_equal(sky_compile("soak.sky", src, strlen(src), NULL, &prog, NULL), SKY_OK);
        for (size_t k = 0; k < sizeof frames / sizeof frames[0]; k++) {
            sky_frame_inputs fi = {frames[k] / 60.0, 1 / 60.0, frames[k], NULL};
            assert_int_equal(sky_program_eval(prog, &view, inputs, &fi, NULL, NULL, bytes), SKY_OK);
            paint(want, p, (uint32_t)(frames[k] & 0xffff));
            if (memcmp(bytes, want, BYTES) != 0) {
                for (size_t i = 0; i < BYTES; i++)
                    if (bytes[i] != want[i])
                        fail_msg("pattern %d frame %llu: LED %zu channel %zu is %u, model says %u",
                                 p, (unsigned long long)frames[k], i / 3, i % 3, bytes[i], want[i]);
            }
            soak_verdict v = soak_classify(&model, bytes, NULL);
            assert_int_equal(v.kind, SOAK_EXACT);
            assert_int_equal(v.pattern, p);
            assert_int_equal(v.value, frames[k] & 0xffff);
        }
        sky_program_free(prog);
    }
    const char *bad = soak_broken_source();
    sky_program *prog = NULL;
    assert_int_equal(sky_compile("bad.sky", bad, strlen(bad), NULL, &prog, NULL), SKY_ERR_COMPILE);
    free(inputs);
    free(bytes);
    free(want);
    sky_layout_free(layout);
}

static void test_exact_and_black(void **state) {
    (void)state;
    static uint8_t rgb[BYTES];
    paint(rgb, 2, 777);
    soak_verdict v = soak_classify(&model, rgb, NULL);
    assert_int_equal(v.kind, SOAK_EXACT);
    assert_int_equal(v.pattern, 2);
    assert_int_equal(v.value, 777);
    memset(rgb, 0, sizeof rgb);
    assert_int_equal(soak_classify(&model, rgb, NULL).kind, SOAK_BLACK);
}

static void test_fades_are_whole(void **state) {
    (void)state;
    static uint8_t rgb[BYTES];
    for (int p = 0; p < SOAK_PATTERNS; p++) {
        /* The driver's fade: level 1 - k/60 over a second, scaled in 16.16. */
        for (int k = 1; k < 60; k += 7) {
            uint32_t s = (uint32_t)((1.0 - k / 60.0) * 65536);
            paint(rgb, p, 300 + (uint32_t)p);
            fade(rgb, sizeof rgb, s);
            soak_verdict hint = {SOAK_EXACT, (uint8_t)p, 300 + (uint32_t)p, 1};
            soak_verdict v = soak_classify(&model, rgb, &hint);
            assert_int_equal(v.kind, SOAK_SCALED);
            assert_int_equal(v.pattern, p);
            assert_int_equal(v.value, 300 + (uint32_t)p);
            assert_true(v.level <= s / 65536.0 + 1e-9);
            assert_true(v.level > s / 65536.0 - 0.01);
            /* Without the hint the search finds a whole frame too. */
            assert_int_equal(soak_classify(&model, rgb, NULL).kind, SOAK_SCALED);
        }
    }
}

static void test_two_frames_are_torn(void **state) {
    (void)state;
    static uint8_t a[BYTES], b[BYTES];
    paint(a, 0, 1000);
    paint(b, 0, 1001);
    memcpy(a + 510 * 7, b + 510 * 7, BYTES - 510 * 7); /* universes 8.. from the next frame */
    soak_verdict hint = {SOAK_EXACT, 0, 1000, 1};
    assert_int_equal(soak_classify(&model, a, &hint).kind, SOAK_TORN);
    char text[512];
    soak_describe_torn(&model, a, 510, text, sizeof text);
    assert_non_null(strstr(text, "LEDs 0-1189: pattern 0 frame 1000"));
    assert_non_null(strstr(text, "LEDs 1190-3599: pattern 0 frame 1001"));
}

static void test_two_patterns_are_torn(void **state) {
    (void)state;
    static uint8_t a[BYTES], b[BYTES];
    paint(a, 0, 50);
    paint(b, 1, 50); /* same frame value, the other pattern */
    memcpy(a + 1440 * 3, b + 1440 * 3, BYTES - 1440 * 3);
    assert_int_equal(soak_classify(&model, a, NULL).kind, SOAK_TORN);
}

static void test_two_fade_levels_are_torn(void **state) {
    (void)state;
    static uint8_t a[BYTES], b[BYTES];
    paint(a, 1, 4321);
    paint(b, 1, 4321);
    fade(a, sizeof a, (uint32_t)(0.50 * 65536));
    fade(b, sizeof b, (uint32_t)((0.50 - 1 / 60.0) * 65536)); /* the next fade step */
    memcpy(a + 510 * 11, b + 510 * 11, BYTES - 510 * 11);
    soak_verdict hint = {SOAK_EXACT, 1, 4321, 1};
    assert_int_equal(soak_classify(&model, a, &hint).kind, SOAK_TORN);
    /* and a live frame half faded */
    paint(a, 1, 4321);
    memcpy(a + 510 * 11, b + 510 * 11, BYTES - 510 * 11);
    assert_int_equal(soak_classify(&model, a, &hint).kind, SOAK_TORN);
}

static void test_misplaced_or_wrong_led_is_torn(void **state) {
    (void)state;
    static uint8_t a[BYTES], tmp[510];
    paint(a, 2, 9);
    memcpy(tmp, a + 510 * 2, 510); /* universes 3 and 4 swapped */
    memcpy(a + 510 * 2, a + 510 * 3, 510);
    memcpy(a + 510 * 3, tmp, 510);
    assert_int_equal(soak_classify(&model, a, NULL).kind, SOAK_TORN);
    paint(a, 2, 9);
    a[3 * 2000 + 2] ^= 1; /* one LED's blue off by one */
    assert_int_equal(soak_classify(&model, a, NULL).kind, SOAK_TORN);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patterns_match_the_model),
        cmocka_unit_test(test_exact_and_black),
        cmocka_unit_test(test_fades_are_whole),
        cmocka_unit_test(test_two_frames_are_torn),
        cmocka_unit_test(test_two_patterns_are_torn),
        cmocka_unit_test(test_two_fade_levels_are_torn),
        cmocka_unit_test(test_misplaced_or_wrong_led_is_torn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
