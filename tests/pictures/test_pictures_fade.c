/*
 * test_pictures_fade.c - the two patterns of a crossfade each sample their
 * own pictures. Pattern A reads picture a.png, pattern B the same expression
 * over b.png (the two differ at every LED); a runtime runs A with A's block
 * (sky_runtime_set_pictures) and mixes in B with B's block
 * (sky_runtime_set_incoming_pictures). At mix 0, 1 and 0.5 the frames must be
 * A's picture, B's, and their average, as the CPU evaluator computes them
 * within 2/255, on both frame parities: before the fix the incoming pattern
 * sampled A's picture, so mix 1 showed A. Then: a new incoming block during
 * the fade (a video frame) reaches both parities; ending the fade hands B's
 * block over as the current pictures with no set_pictures call; the outgoing
 * block is let go (A's pictures are freed before the next fade, so ASan
 * catches a read) and a later fade's incoming pattern with no pictures set
 * samples black. On the Vulkan runtime (lavapipe: the device's shader
 * variant and the portable one) and the CPU backend. Label "gpu".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sky/layout.h"
#include "sky/picture.h"
#include "sky/pictures.h"
#include "sky/runtime.h"
#include "sky/sky.h"
#include "test_leds.h"
#include "test_png.h"

#define FADE_TOLERANCE 2 /* bytes per channel against the evaluator: the spec's 2/255 */

static char dir[256];

static char *fade_path(const char *name) {
    static char path[2][512];
    static int k;
    k = (k + 1) % 2;
    snprintf(path[k], sizeof path[k], "%s/%s", dir, name);
    return path[k];
}

/* A: left half red, right half blue. B: top half green, bottom half grey-white. Any LED
 * showing A's picture where B's is due (or the reverse) is off by far more than 2/255. */
static uint32_t pixel_a(uint32_t x, uint32_t y, uint32_t w, uint32_t h) {
    (void)y;
    (void)h;
    return x < w / 2 ? 0xe01008 : 0x0818f0;
}

static uint32_t pixel_b(uint32_t x, uint32_t y, uint32_t w, uint32_t h) {
    (void)x;
    (void)w;
    return y < h / 2 ? 0x10d020 : 0xc8c8c8;
}

static sky_program *fade_compile(const char *file) {
    char src[600];
    snprintf(src, sizeof src, "input pic = image(\"%s\")\nout pic((x + 1) / 2, (1 - y) / 2)\n",
             file);
    sky_program *p = NULL;
    sky_diagnostics *d = NULL;
    if (sky_compile("fade.sky", src, strlen(src), NULL, &p, &d) != SKY_OK) {
        char *text = NULL;
        sky_diagnostics_render(d, false, &text);
        fail_msg("compile failed:\n%s\n%s", src, text ? text : "");
    }
    sky_diagnostics_free(d);
    return p;
}

typedef struct fade_fixture {
    test_leds leds;
    sky_program *prog_a, *prog_b;
    sky_pictures *pics_a, *pics_b;
    const uint32_t *block_a, *block_b;
    uint8_t *want_a, *want_b, *want_black; /* the evaluator's bytes */
} fade_fixture;

static uint8_t *fade_eval(const fade_fixture *f, const sky_program *p, const uint32_t *block) {
    uint8_t *bytes = malloc((size_t)f->leds.view.led_count * 3);
    assert_non_null(bytes);
    sky_frame_inputs in = {.t = 0, .pictures = block};
    assert_int_equal(sky_program_eval(p, &f->leds.view, f->leds.inputs, &in, NULL, NULL, bytes),
                     SKY_OK);
    return bytes;
}

static void fade_open_pictures(fade_fixture *f) {
    char err[512] = "";
    if (sky_pictures_open(f->prog_a, dir, "a.sky", &f->leds.view, &f->pics_a, err, sizeof err) !=
            SKY_OK ||
        sky_pictures_open(f->prog_b, dir, "b.sky", &f->leds.view, &f->pics_b, err, sizeof err) !=
            SKY_OK)
        fail_msg("%s", err);
    assert_true(sky_pictures_update(f->pics_a, 0));
    assert_true(sky_pictures_update(f->pics_b, 0));
    f->block_a = sky_pictures_block(f->pics_a);
    f->block_b = sky_pictures_block(f->pics_b);
    /* Same size images: the blocks have one layout, so a copy of one can carry the other. */
    assert_int_equal(f->block_a[1], f->block_b[1]);
}

static void fade_fixture_init(fade_fixture *f) {
    memset(f, 0, sizeof *f);
    assert_true(test_png_write(fade_path("a.png"), 128, 96, pixel_a));
    assert_true(test_png_write(fade_path("b.png"), 128, 96, pixel_b));
    char err[256] = "";
    if (test_leds_create("grid:24x18", &f->leds, err, sizeof err) != SKY_OK) fail_msg("%s", err);
    f->prog_a = fade_compile("a.png");
    f->prog_b = fade_compile("b.png");
    fade_open_pictures(f);
    f->want_a = fade_eval(f, f->prog_a, f->block_a);
    f->want_b = fade_eval(f, f->prog_b, f->block_b);
    f->want_black = fade_eval(f, f->prog_a, NULL);
    /* The pictures must differ where the test looks, or a mix-up would pass unseen. */
    size_t differ = 0;
    for (size_t i = 0; i < (size_t)f->leds.view.led_count * 3; i++)
        differ += abs((int)f->want_a[i] - (int)f->want_b[i]) > 8 * FADE_TOLERANCE;
    assert_true(differ > (size_t)f->leds.view.led_count);
}

static void fade_fixture_free(fade_fixture *f) {
    free(f->want_a);
    free(f->want_b);
    free(f->want_black);
    sky_pictures_free(f->pics_a);
    sky_pictures_free(f->pics_b);
    sky_program_free(f->prog_a);
    sky_program_free(f->prog_b);
    test_leds_free(&f->leds);
}

/* A backend under test: a runtime and whether it runs the portable shader. */
typedef struct fade_rig {
    const char *name;
    sky_runtime *rt;
    bool portable;
} fade_rig;

static uint32_t *fade_spirv(const fade_rig *r, const sky_program *p, size_t *count) {
    sky_emit_options emit;
    sky_runtime_emit_options(r->rt, &emit);
    uint32_t *words = NULL;
    char *why = NULL;
    if (sky_program_emit_spirv(p, r->portable ? NULL : &emit, &words, count, &why) != SKY_OK)
        fail_msg("emit: %s", why ? why : "?");
    sky_free(why);
    return words;
}

static sky_runtime_pipeline *fade_build(const fade_rig *r, const sky_program *p) {
    size_t count = 0;
    uint32_t *words = fade_spirv(r, p, &count);
    sky_runtime_pipeline *pipeline = NULL;
    char err[512] = "";
    if (sky_runtime_pipeline_build(r->rt, p, words, count, &pipeline, err, sizeof err) != SKY_OK)
        fail_msg("%s: pipeline_build: %s", r->name, err);
    sky_free(words);
    return pipeline;
}

/* The frame against mix(a, b, amount) per channel (b NULL: a). */
static void fade_expect(const fade_rig *r, const fade_fixture *f, const uint8_t *a,
                        const uint8_t *b, double amount, const char *what) {
    size_t len = 0;
    const uint8_t *got = sky_runtime_frame_bytes(r->rt, &len);
    assert_non_null(got);
    assert_int_equal(len, (size_t)f->leds.view.led_count * 3);
    for (size_t i = 0; i < len; i++) {
        double want = b ? a[i] + (b[i] - a[i]) * amount : a[i];
        double off = got[i] - want;
        if (off > FADE_TOLERANCE || off < -FADE_TOLERANCE)
            fail_msg("%s, %s: LED %zu channel %zu is %u, want %.1f", r->name, what, i / 3, i % 3,
                     got[i], want);
    }
}

/* Two mix frames (both parities' picture buffers), each checked. */
static void fade_mix2(const fade_rig *r, const fade_fixture *f, sky_runtime_pipeline *in,
                      double amount, const uint8_t *a, const uint8_t *b, const char *what) {
    for (int k = 0; k < 2; k++) {
        char err[512] = "";
        if (sky_runtime_render_mix(r->rt, 0, 0, NULL, in, 0, 0, NULL, amount, err, sizeof err) !=
            SKY_OK)
            fail_msg("%s: render_mix: %s", r->name, err);
        fade_expect(r, f, a, b, amount, what);
    }
}

static void fade_render2(const fade_rig *r, const fade_fixture *f, const uint8_t *want,
                         const char *what) {
    for (int k = 0; k < 2; k++) {
        char err[512] = "";
        if (sky_runtime_render(r->rt, 0, 0, NULL, err, sizeof err) != SKY_OK)
            fail_msg("%s: render: %s", r->name, err);
        fade_expect(r, f, want, NULL, 0, what);
    }
}

static void fade_on(const char *name, const char *device, bool portable) {
    fade_fixture f;
    fade_fixture_init(&f);
    sky_runtime_options o;
    sky_runtime_options_init(&o);
    o.device = device;
    o.layout = f.leds.layout;
    o.picture_words = f.block_a[1];
    fade_rig r = {name, NULL, portable};
    char err[512] = "";
    if (sky_runtime_create(&o, &r.rt, err, sizeof err) != SKY_OK) fail_msg("runtime: %s", err);
    size_t count = 0;
    uint32_t *words = fade_spirv(&r, f.prog_a, &count);
    if (sky_runtime_set_program_spirv(r.rt, f.prog_a, words, count, err, sizeof err) != SKY_OK)
        fail_msg("%s: program: %s", name, err);
    sky_free(words);
    assert_int_equal(sky_runtime_set_pictures(r.rt, f.block_a, err, sizeof err), SKY_OK);
    fade_render2(&r, &f, f.want_a, "A alone");

    sky_runtime_pipeline *in = fade_build(&r, f.prog_b);
    assert_int_equal(sky_runtime_set_incoming_pictures(r.rt, f.block_b, err, sizeof err), SKY_OK);
    fade_mix2(&r, &f, in, 0.0, f.want_a, f.want_b, "mix 0");
    fade_mix2(&r, &f, in, 1.0, f.want_a, f.want_b, "mix 1 (B's own picture)");
    fade_mix2(&r, &f, in, 0.5, f.want_a, f.want_b, "mix 0.5");
    /* A plain frame between mix frames shows A with A's picture. */
    fade_render2(&r, &f, f.want_a, "plain frame during the fade");

    /* A new incoming block during the fade (as a video frame would be): both parities. */
    size_t bytes = (size_t)f.block_b[1] * 4u;
    uint32_t *moving = malloc(bytes);
    assert_non_null(moving);
    memcpy(moving, f.block_a, bytes);
    assert_int_equal(sky_runtime_set_incoming_pictures(r.rt, moving, err, sizeof err), SKY_OK);
    fade_mix2(&r, &f, in, 1.0, f.want_a, f.want_a, "incoming updated to A's texels");
    memcpy(moving, f.block_b, bytes);
    assert_int_equal(sky_runtime_set_incoming_pictures(r.rt, moving, err, sizeof err), SKY_OK);
    fade_mix2(&r, &f, in, 0.5, f.want_a, f.want_b, "incoming updated back to B's texels");

    /* The end of the fade: B keeps its pictures with no set_pictures call. */
    if (sky_runtime_set_pipeline(r.rt, in, err, sizeof err) != SKY_OK)
        fail_msg("%s: set_pipeline: %s", name, err);
    fade_render2(&r, &f, f.want_b, "B after the fade");
    /* The current pictures now follow set_pictures: back to the fixture's block of B. */
    assert_int_equal(sky_runtime_set_pictures(r.rt, f.block_b, err, sizeof err), SKY_OK);
    free(moving); /* no longer the runtime's after set_pictures */
    fade_render2(&r, &f, f.want_b, "B with its block set again");

    /* The outgoing block was let go: A's pictures are freed, and a fade to A with no
     * incoming pictures set samples black, never the freed block. */
    sky_pictures_free(f.pics_a);
    f.pics_a = NULL;
    f.block_a = NULL;
    sky_runtime_pipeline *back = fade_build(&r, f.prog_a);
    fade_mix2(&r, &f, back, 1.0, f.want_black, NULL, "a new fade without incoming pictures");
    fade_mix2(&r, &f, back, 0.0, f.want_b, NULL, "... whose current pattern is B");
    /* Aborting it leaves B as it was. */
    sky_runtime_pipeline_free(r.rt, back);
    fade_render2(&r, &f, f.want_b, "B after an aborted fade");

    assert_int_equal(sky_runtime_validation_messages(r.rt), 0);
    sky_runtime_free(r.rt);
    fade_fixture_free(&f);
}

static void test_fade_vulkan(void **state) {
    (void)state;
    fade_on("vulkan", NULL, false);
}

static void test_fade_vulkan_portable(void **state) {
    (void)state;
    fade_on("vulkan, portable shader", NULL, true);
}

static void test_fade_cpu(void **state) {
    (void)state;
    fade_on("cpu", "cpu", false);
}

/* The incoming pictures are checked as the current ones are. */
static void test_incoming_errors(void **state) {
    (void)state;
    fade_fixture f;
    fade_fixture_init(&f);
    const char *devices[2] = {NULL, "cpu"};
    for (int d = 0; d < 2; d++) {
        sky_runtime_options o;
        sky_runtime_options_init(&o);
        o.device = devices[d];
        o.layout = f.leds.layout;
        o.picture_words = 64; /* far smaller than the blocks: SKY_ERR_LIMIT on Vulkan */
        sky_runtime *rt = NULL;
        char err[512] = "";
        if (sky_runtime_create(&o, &rt, err, sizeof err) != SKY_OK) fail_msg("runtime: %s", err);
        uint32_t junk[SKY_PICTURE_HEADER_WORDS] = {0, SKY_PICTURE_HEADER_WORDS, 0x1234, 0};
        assert_int_equal(sky_runtime_set_incoming_pictures(rt, junk, err, sizeof err),
                         SKY_ERR_INVALID_ARG);
        assert_non_null(strstr(err, "sky_runtime_set_incoming_pictures: not a picture block"));
        if (!devices[d]) {
            assert_int_equal(sky_runtime_set_incoming_pictures(rt, f.block_b, err, sizeof err),
                             SKY_ERR_LIMIT);
            assert_non_null(strstr(err, "sky_runtime_set_incoming_pictures: the pictures need"));
        }
        assert_int_equal(sky_runtime_set_incoming_pictures(rt, NULL, err, sizeof err), SKY_OK);
        sky_runtime_free(rt);
    }
    assert_int_equal(sky_runtime_set_incoming_pictures(NULL, NULL, NULL, 0), SKY_ERR_INVALID_ARG);
    fade_fixture_free(&f);
}

static int fade_setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sky-pictures-fade-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int fade_teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fade_vulkan),
        cmocka_unit_test(test_fade_vulkan_portable),
        cmocka_unit_test(test_fade_cpu),
        cmocka_unit_test(test_incoming_errors),
    };
    return cmocka_run_group_tests(tests, fade_setup, fade_teardown);
}
