/*
 * test_pictures.c - picture inputs end to end: images written here (PNG
 * through libpng, JPEG through libjpeg) and a short video made here with
 * ffmpeg's CLI, opened by libskypictures, sampled at the LEDs of real
 * layouts by the CPU evaluator, the Vulkan runtime (lavapipe) and the CPU
 * backend (device "cpu"), which must agree within 2/255; the evaluator is
 * checked against colours known from the pictures themselves. Also: the mip
 * level choice (a checkerboard finer than the LEDs comes out grey), the
 * errors for missing, truncated and junk files, and the language's errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sky/abi.h"
#include "sky/layout.h"
#include "sky/picture.h"
#include "sky/pictures.h"
#include "sky/runtime.h"
#include "sky/sky.h"
#include "test_leds.h"
#include "test_png.h"

#define PICS_TOLERANCE 2     /* bytes per channel between backends: 2/255 */
#define PICS_WAIT_S    300.0 /* safety net for the video thread, never an expected duration */

static char dir[256];

/* ------------------------------------------------------------ helpers */

static char *pics_path(const char *name) {
    static char path[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", dir, name);
    return path[k];
}

static void pics_write_png(const char *name, uint32_t w, uint32_t h, test_png_pixel_fn pixel) {
    assert_true(test_png_write(pics_path(name), w, h, pixel));
}

static sky_program *pics_compile(const char *src) {
    sky_program *p = NULL;
    sky_diagnostics *d = NULL;
    sky_status st = sky_compile("test.sky", src, strlen(src), NULL, &p, &d);
    if (st != SKY_OK) {
        char *text = NULL;
        sky_diagnostics_render(d, false, &text);
        fail_msg("compile failed:\n%s\n%s", src, text ? text : "");
    }
    sky_diagnostics_free(d);
    return p;
}

static void pics_layout_init(test_leds *l, const char *spec) {
    char err[256] = "";
    if (test_leds_create(spec, l, err, sizeof err) != SKY_OK) fail_msg("%s", err);
}

static uint8_t *pics_eval(const sky_program *p, const test_leds *l, const uint32_t *block,
                          double t) {
    uint8_t *bytes = malloc((size_t)l->view.led_count * 3);
    assert_non_null(bytes);
    sky_frame_inputs in = {.t = t, .pictures = block};
    assert_int_equal(sky_program_eval(p, &l->view, l->inputs, &in, NULL, NULL, bytes), SKY_OK);
    return bytes;
}

/*
 * Renders with a runtime (NULL device: Vulkan, "cpu": the CPU backend); compares with `want`.
 * `portable`: the Vulkan shader as `sky compile` emits it (binding 8 as a storage buffer),
 * not the device's choice (binding 9's texels on lavapipe).
 */
static void pics_backend_agrees_as(const char *device, bool portable, const sky_program *p,
                                   const test_leds *l, const uint32_t *block, double t,
                                   const uint8_t *want) {
    sky_runtime_options o;
    sky_runtime_options_init(&o);
    o.device = device;
    o.layout = l->layout;
    o.picture_words = block ? block[1] : 0;
    sky_runtime *rt = NULL;
    char err[512] = "";
    if (sky_runtime_create(&o, &rt, err, sizeof err) != SKY_OK) fail_msg("runtime: %s", err);
    if (portable) {
        uint32_t *words = NULL;
        size_t count = 0;
        char *why = NULL;
        if (sky_program_emit_spirv(p, NULL, &words, &count, &why) != SKY_OK)
            fail_msg("emit: %s", why ? why : "");
        if (sky_runtime_set_program_spirv(rt, p, words, count, err, sizeof err) != SKY_OK)
            fail_msg("program: %s", err);
        sky_free(words);
    } else if (sky_runtime_set_program(rt, p, err, sizeof err) != SKY_OK) {
        fail_msg("program: %s", err);
    }
    assert_int_equal(sky_runtime_set_pictures(rt, block, err, sizeof err), SKY_OK);
    /* Two frames: both parities' buffers must hold the block. */
    for (int f = 0; f < 2; f++) {
        if (sky_runtime_render(rt, t, 0, NULL, err, sizeof err) != SKY_OK)
            fail_msg("render: %s", err);
        size_t len = 0;
        const uint8_t *got = sky_runtime_frame_bytes(rt, &len);
        assert_int_equal(len, (size_t)l->view.led_count * 3);
        for (size_t i = 0; i < len; i++)
            if (abs((int)got[i] - (int)want[i]) > PICS_TOLERANCE)
                fail_msg("%s: LED %zu channel %zu: %u, the evaluator %u",
                         device     ? device
                         : portable ? "vulkan, portable shader"
                                    : "vulkan",
                         i / 3, i % 3, got[i], want[i]);
    }
    assert_int_equal(sky_runtime_validation_messages(rt), 0);
    sky_runtime_free(rt);
}

static void pics_all_backends(const sky_program *p, const test_leds *l, const uint32_t *block,
                              double t, const uint8_t *want) {
    pics_backend_agrees_as(NULL, false, p, l, block, t, want);
    pics_backend_agrees_as(NULL, true, p, l, block, t, want);
    pics_backend_agrees_as("cpu", false, p, l, block, t, want);
}

/* A pattern's pictures opened on a layout: what every end-to-end test starts from. */
typedef struct pics_case {
    sky_program *program;
    test_leds l;
    sky_pictures *pics;
} pics_case;

/* Compiles `src`, makes the layout `spec` and opens the pictures (relative to dir; `show`,
 * the show file's name in messages, may be NULL); fails the test, naming the error. */
static void pics_case_open(pics_case *c, const char *src, const char *spec, const char *show) {
    c->program = pics_compile(src);
    pics_layout_init(&c->l, spec);
    c->pics = NULL;
    char err[512] = "";
    if (sky_pictures_open(c->program, dir, show, &c->l.view, &c->pics, err, sizeof err) != SKY_OK)
        fail_msg("%s", err);
}

static void pics_case_free(pics_case *c) {
    sky_pictures_free(c->pics);
    test_leds_free(&c->l);
    sky_program_free(c->program);
}

/* The current block at time t on every backend, against the evaluator. */
static void pics_case_agree(const pics_case *c, double t) {
    const uint32_t *block = sky_pictures_block(c->pics);
    uint8_t *bytes = pics_eval(c->program, &c->l, block, t);
    pics_all_backends(c->program, &c->l, block, t, bytes);
    free(bytes);
}

static const char *pics_pattern(const char *decl) {
    static char src[1024];
    snprintf(src, sizeof src, "%s\nout pic((x + 1) / 2, (1 - y) / 2)\n", decl);
    return src;
}

/* ------------------------------------------------------------- images */

/* Left half red, right half blue; the top quarter rows green: orientation is checked. */
static uint32_t pixel_quadrants(uint32_t x, uint32_t y, uint32_t w, uint32_t h) {
    if (y < h / 4) return 0x00ff00;
    return x < w / 2 ? 0xff0000 : 0x0000ff;
}

static void test_image_png_all_backends(void **state) {
    (void)state;
    pics_write_png("quadrants.png", 256, 192, pixel_quadrants);
    char decl[600];
    snprintf(decl, sizeof decl, "input pic = image(\"quadrants.png\")");
    pics_case pc;
    pics_case_open(&pc, pics_pattern(decl), "grid:24x18", "test.sky");
    assert_int_equal(sky_program_picture_count(pc.program), 1);
    assert_int_equal(sky_program_picture(pc.program, 0)->kind, SKY_PICTURE_IMAGE);
    assert_true(sky_pictures_update(pc.pics, 0));
    const test_leds *l = &pc.l;
    uint8_t *bytes = pics_eval(pc.program, l, sky_pictures_block(pc.pics), 0);
    /* Known colours away from the edges between regions (the filter blurs a few texels). */
    uint32_t checked = 0;
    for (uint32_t i = 0; i < l->view.led_count; i++) {
        float x = l->inputs[i].x, y = l->inputs[i].y;
        const uint8_t *c = bytes + 3 * (size_t)i;
        if (y > 0.7f) {
            assert_true(c[0] < 8 && c[1] > 247 && c[2] < 8); /* top rows: green */
            checked++;
        } else if (y < 0.2f && x < -0.2f) {
            assert_true(c[0] > 247 && c[1] < 8 && c[2] < 8);
            checked++;
        } else if (y < 0.2f && x > 0.2f) {
            assert_true(c[0] < 8 && c[1] < 8 && c[2] > 247);
            checked++;
        }
    }
    assert_true(checked > l->view.led_count / 2);
    free(bytes);
    pics_case_agree(&pc, 0);
    pics_case_free(&pc);
}

/* A smooth picture sampled off the texel centres: the filters' arithmetic is compared. */
static uint32_t pixel_smooth(uint32_t x, uint32_t y, uint32_t w, uint32_t h) {
    uint32_t r = x * 255 / (w - 1), g = y * 255 / (h - 1), b = (x * 7 + y * 13) % 256;
    return r << 16 | g << 8 | b;
}

static void test_image_smooth_disc(void **state) {
    (void)state;
    pics_write_png("smooth.png", 640, 360, pixel_smooth);
    pics_case c;
    pics_case_open(
        &c,
        "input pic = image(\"smooth.png\")\n"
        "out pic(0.5 + r * cos(theta + t) / 2, 0.5 + r * sin(theta + t) / 2) * 0.8 + 0.1\n",
        "disc:60x24", NULL);
    sky_pictures_update(c.pics, 0);
    const uint32_t *block = sky_pictures_block(c.pics);
    /* The footprint lands between two levels: both are sampled with a weight. */
    float weight;
    memcpy(&weight, &block[SKY_PICTURE_HEADER_WORDS + 1], sizeof weight);
    assert_true(weight > 0.0f && weight < 1.0f);
    for (double t = 0; t < 2; t += 0.7) pics_case_agree(&c, t);
    pics_case_free(&c);
}

/* Single channels at several points: the CPU backend's one-call-per-point sharing (the
 * first live sibling) with red never sampled, and two pictures of one file. */
static void test_single_channels(void **state) {
    (void)state;
    pics_case c;
    pics_case_open(&c,
                   "input a = image(\"smooth.png\")\n"
                   "input b = image(\"quadrants.png\")\n"
                   "let u = (x + 1) / 2\n"
                   "let v = (1 - y) / 2\n"
                   "out vec3(a(u, v).g, a(v, u).b, b(u, v).b * 0.5 + a(u, v).b * 0.5)\n",
                   "grid:20x15", NULL);
    assert_int_equal(sky_program_picture_count(c.program), 2);
    sky_pictures_update(c.pics, 0);
    pics_case_agree(&c, 0);
    pics_case_free(&c);
}

/* One-pixel checkerboard: far finer than the LEDs. */
static uint32_t pixel_checker(uint32_t x, uint32_t y, uint32_t w, uint32_t h) {
    (void)w, (void)h;
    return (x + y) % 2 ? 0xffffff : 0x000000;
}

static void test_mip_level_checkerboard_is_grey(void **state) {
    (void)state;
    pics_write_png("checker.png", 1024, 1024, pixel_checker);
    pics_case c;
    pics_case_open(&c, pics_pattern("input pic = image(\"checker.png\")"), "grid:32x32", NULL);
    sky_pictures_update(c.pics, 0);
    uint8_t *bytes = pics_eval(c.program, &c.l, sky_pictures_block(c.pics), 0);
    /* The box filter makes every level below the first 50% grey: (0 + 255 + 0 + 255 + 2) / 4. */
    for (size_t i = 0; i < (size_t)c.l.view.led_count * 3; i++)
        if (bytes[i] < 126 || bytes[i] > 130) fail_msg("LED %zu: %u, not grey", i / 3, bytes[i]);
    free(bytes);
    pics_case_agree(&c, 0);
    pics_case_free(&c);
}

/* The footprint formula: half the spacing, sqrt(area / n) of the bounding box. */
static void test_footprint(void **state) {
    (void)state;
    test_leds l;
    pics_layout_init(&l, "grid:32x32");
    /* 32 x 32 LEDs over [-1, 1]^2: spacing sqrt(4 / 1024) = 1/16, footprint 1/32. */
    assert_float_equal(sky_picture_footprint(&l.view), 1.0 / 32, 1e-9);
    test_leds_free(&l);
    pics_layout_init(&l, "strip:101");
    /* One line: its length / (n - 1), halved. */
    assert_float_equal(sky_picture_footprint(&l.view), 2.0 / 100 / 2, 1e-6);
    test_leds_free(&l);
}

/* The bound a runtime is sized by holds for every picture size and aspect. */
static void test_block_bound(void **state) {
    (void)state;
    static const double footprints[] = {0.5, 1.0 / 32, 0.0031, 0.001};
    for (size_t k = 0; k < sizeof footprints / sizeof footprints[0]; k++)
        for (uint32_t w = 1; w <= 16384; w = w * 3 + 1)
            for (uint32_t h = 1; h <= 16384; h = h * 5 + 2) {
                size_t need = sky_picture_block_words(1, &w, &h, footprints[k]);
                size_t bound = sky_picture_block_bound(1, footprints[k]);
                if (need > bound)
                    fail_msg("%u x %u at %g: %zu words, bound %zu", w, h, footprints[k], need,
                             bound);
            }
}

/* The block, checked by hand: level choice and a bilinear sample between texels. */
static void test_block_levels_by_hand(void **state) {
    (void)state;
    uint32_t w = 8, h = 4;
    /* footprint * 8 = 2 texels: lod 1 exactly, levels 1 (4 x 2) and 2 (2 x 1), weight 0 */
    size_t words = sky_picture_block_words(1, &w, &h, 0.25);
    assert_int_equal(words, SKY_PICTURE_HEADER_WORDS + SKY_PICTURE_ENTRY_WORDS + 4 * 2 + 2 * 1);
    uint32_t *block = calloc(words, sizeof *block);
    assert_int_equal(sky_picture_block_init(block, words, 1, &w, &h, 0.25), SKY_OK);
    uint8_t rgb[8 * 4 * 3];
    for (uint32_t i = 0; i < 32; i++)
        rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = (uint8_t)(i % 8 * 10);
    assert_int_equal(sky_picture_block_put(block, 0, rgb, 24, w, h), SKY_OK);
    const uint32_t *e = block + SKY_PICTURE_HEADER_WORDS;
    assert_int_equal(e[0], 1);
    assert_int_equal(e[3], 4);
    assert_int_equal(e[4], 2);
    /* level 1 texel x: mean of columns 2x, 2x+1: (20x + 20x + 10 + ...) = 20x + 5 */
    for (uint32_t x = 0; x < 4; x++) assert_int_equal(block[e[2] + x] & 255, 20 * x + 5);
    /* A wrong size is refused. */
    assert_int_equal(sky_picture_block_put(block, 0, rgb, 24, 8, 3), SKY_ERR_INVALID_ARG);
    free(block);
}

/* The box filter as docs/language.md states it, texel by texel, for one channel. */
static uint8_t *ref_halve(const uint8_t *src, uint32_t w, uint32_t h, uint32_t *w2, uint32_t *h2) {
    *w2 = w / 2 ? w / 2 : 1;
    *h2 = h / 2 ? h / 2 : 1;
    uint8_t *dst = malloc((size_t)*w2 * *h2 * 3);
    assert_non_null(dst);
    for (uint32_t y = 0; y < *h2; y++)
        for (uint32_t x = 0; x < *w2; x++)
            for (int c = 0; c < 3; c++) {
                uint32_t xs[2] = {2 * x < w ? 2 * x : w - 1, 2 * x + 1 < w ? 2 * x + 1 : w - 1};
                uint32_t ys[2] = {2 * y < h ? 2 * y : h - 1, 2 * y + 1 < h ? 2 * y + 1 : h - 1};
                uint32_t sum = 0;
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 2; j++) sum += src[((size_t)ys[i] * w + xs[j]) * 3 + c];
                dst[((size_t)y * *w2 + x) * 3 + c] = (uint8_t)((sum + 2) / 4);
            }
    return dst;
}

static void ref_compare_level(const uint32_t *block, uint32_t off, const uint8_t *level, uint32_t w,
                              uint32_t h, const char *what) {
    for (size_t i = 0; i < (size_t)w * h; i++)
        for (int c = 0; c < 3; c++)
            if (((block[off + i] >> (8 * c)) & 255) != level[3 * i + c])
                fail_msg("%s level texel %zu channel %d: %u, the box filter %u", what, i, c,
                         (block[off + i] >> (8 * c)) & 255, level[3 * i + c]);
}

/* The block's two levels are the documented box-filter chain, for odd sizes and every depth. */
static void test_block_mip_chain(void **state) {
    (void)state;
    static const uint32_t sizes[][2] = {{37, 23}, {64, 1}, {1, 50}, {255, 130}, {640, 361}};
    static const double footprints[] = {0.0, 0.02, 0.05, 0.1, 0.3, 2.0};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        uint32_t w = sizes[s][0], h = sizes[s][1];
        size_t stride = (size_t)w * 3 + 5; /* rows with padding */
        uint8_t *rgb = malloc(stride * h);
        assert_non_null(rgb);
        for (size_t i = 0; i < stride * h; i++) rgb[i] = (uint8_t)(i * 2654435761u >> 13);
        for (size_t k = 0; k < sizeof footprints / sizeof footprints[0]; k++) {
            size_t words = sky_picture_block_words(1, &w, &h, footprints[k]);
            uint32_t *block = calloc(words, sizeof *block);
            assert_non_null(block);
            assert_int_equal(sky_picture_block_init(block, words, 1, &w, &h, footprints[k]),
                             SKY_OK);
            assert_int_equal(sky_picture_block_put(block, 0, rgb, stride, w, h), SKY_OK);
            const uint32_t *e = block + SKY_PICTURE_HEADER_WORDS;
            /* Level 0 without the padding, then halve down to the finer level, then once more. */
            uint8_t *level = malloc((size_t)w * h * 3);
            assert_non_null(level);
            for (uint32_t y = 0; y < h; y++)
                memcpy(level + (size_t)y * w * 3, rgb + y * stride, (size_t)w * 3);
            uint32_t lw = w, lh = h;
            while (lw != e[3] || lh != e[4]) {
                uint32_t nw, nh;
                uint8_t *next = ref_halve(level, lw, lh, &nw, &nh);
                free(level);
                level = next;
                lw = nw;
                lh = nh;
                assert_true(lw >= 1 && lh >= 1 && (lw > 1 || lh > 1 || (e[3] == 1 && e[4] == 1)));
            }
            ref_compare_level(block, e[2], level, lw, lh, "finer");
            uint32_t cw, ch;
            uint8_t *coarse = ref_halve(level, lw, lh, &cw, &ch);
            assert_int_equal(cw, e[6]);
            assert_int_equal(ch, e[7]);
            ref_compare_level(block, e[5], coarse, cw, ch, "coarser");
            free(coarse);
            free(level);
            free(block);
        }
        free(rgb);
    }
}

/* ------------------------------------------------------------- errors */

static void pics_open_fails(const char *decl, const char *want1, const char *want2) {
    sky_program *p = pics_compile(pics_pattern(decl));
    test_leds l;
    pics_layout_init(&l, "grid:8x8");
    sky_pictures *pics = NULL;
    char err[512] = "";
    assert_int_not_equal(sky_pictures_open(p, dir, "show.sky", &l.view, &pics, err, sizeof err),
                         SKY_OK);
    assert_null(pics);
    if (!strstr(err, want1) || !strstr(err, want2))
        fail_msg("error \"%s\" lacks \"%s\" or \"%s\"", err, want1, want2);
    test_leds_free(&l);
    sky_program_free(p);
}

static void pics_write_bytes(const char *name, const void *data, size_t len) {
    FILE *f = fopen(pics_path(name), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void test_missing_truncated_junk(void **state) {
    (void)state;
    pics_open_fails("input pic = image(\"nowhere.png\")",
                    "show.sky:1:19: cannot open image "
                    "`nowhere.png`",
                    "No such file");
    /* A PNG cut in half. */
    pics_write_png("whole.png", 64, 64, pixel_smooth);
    FILE *f = fopen(pics_path("whole.png"), "rb");
    assert_non_null(f);
    uint8_t buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    pics_write_bytes("half.png", buf, n / 2);
    pics_open_fails("input pic = image(\"half.png\")", "`half.png`", "damaged PNG");
    pics_write_bytes("junk.png", "hello, not a picture", 20);
    pics_open_fails("input pic = image(\"junk.png\")", "`junk.png`", "neither a PNG nor a JPEG");
    uint8_t junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 7919 >> 3);
    pics_write_bytes("junk.mp4", junk, sizeof junk);
    pics_open_fails("input pic = video(\"junk.mp4\")", "cannot open video `junk.mp4`", ": ");
    pics_open_fails("input pic = video(\"none.mp4\")", "cannot open video `none.mp4`",
                    "No such file");
    pics_open_fails("input pic = camera(\"/dev/no-such-video\")",
                    "cannot open camera `/dev/no-such-video`", "No such file");
    /* A device that is no camera (VIDIOC_QUERYCAP fails): named, not a hang. */
    pics_open_fails("input pic = camera(\"/dev/null\")", "cannot open camera `/dev/null`",
                    "not a V4L2 device");
}

static void pics_compile_fails(const char *src, const char *code, const char *message) {
    sky_program *p = NULL;
    sky_diagnostics *d = NULL;
    assert_int_equal(sky_compile("t.sky", src, strlen(src), NULL, &p, &d), SKY_ERR_COMPILE);
    bool found = false;
    for (size_t i = 0; i < sky_diagnostics_count(d); i++) {
        const sky_diag *g = sky_diagnostics_get(d, i);
        if (g->code && strcmp(g->code, code) == 0 && strstr(g->message, message)) found = true;
    }
    if (!found) {
        char *text = NULL;
        sky_diagnostics_render(d, false, &text);
        fail_msg("expected %s \"%s\" for:\n%s\ngot:\n%s", code, message, src, text);
    }
    sky_diagnostics_free(d);
}

static void test_language_errors(void **state) {
    (void)state;
    pics_compile_fails("input pic = imag(\"a.png\")\nout 1", "E0415", "unknown input kind `imag`");
    pics_compile_fails("input pic = image(\"a.png\")\nout pic", "E0307",
                       "`pic` is a picture input, not a value");
    pics_compile_fails("input pic = image(\"a.png\")\nout pic(x)", "E0404",
                       "picture `pic` takes 2 arguments");
    pics_compile_fails("input pic = image(\"a.png\")\nout pic(vec2(x, y), 1)", "E0405", "");
    pics_compile_fails("input pic = image(a.png)\nout 1", "E0201", "expected a file name");
    pics_compile_fails("input pic = image(\"a.png)\nout 1", "E0105", "unterminated string");
    pics_compile_fails("let pic = 1\nout pic(x, y)", "E0307", "not a function");
}

/* -------------------------------------------------------------- video */

/* Two seconds at 10 fps: red for one second, then blue, 64 x 48, MPEG-4 part 2. */
static bool pics_make_video(const char *name) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -loglevel error -y -f lavfi -i color=c=0xff0000:s=64x48:r=10:d=1 "
             "-f lavfi -i color=c=0x0000ff:s=64x48:r=10:d=1 "
             "-filter_complex '[0:v][1:v]concat=n=2:v=1:a=0' -c:v mpeg4 -q:v 2 "
             "-pix_fmt yuv420p '%s'",
             pics_path(name));
    return system(cmd) == 0;
}

static double pics_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Updates at show time t until the evaluator shows `red` or blue everywhere (the thread
 * delivers when it gets to it: waited on, with a safety net). */
static uint8_t *pics_wait_colour(sky_pictures *pics, const sky_program *p, const test_leds *l,
                                 double t, bool red) {
    double start = pics_seconds();
    for (;;) {
        sky_pictures_update(pics, t);
        uint8_t *bytes = pics_eval(p, l, sky_pictures_block(pics), t);
        bool all = true;
        for (uint32_t i = 0; i < l->view.led_count && all; i++) {
            const uint8_t *c = bytes + 3 * (size_t)i;
            all = red ? c[0] > 230 && c[2] < 25 : c[2] > 230 && c[0] < 25;
        }
        if (all) return bytes;
        free(bytes);
        if (pics_seconds() - start > PICS_WAIT_S)
            fail_msg("no %s frame at t = %g", red ? "red" : "blue", t);
        usleep(2000);
    }
}

static void test_video_loops_in_step_with_t(void **state) {
    (void)state;
    assert_true(pics_make_video("clip.mp4"));
    pics_case c;
    pics_case_open(&c, pics_pattern("input pic = video(\"clip.mp4\")"), "grid:16x12", NULL);
    assert_int_equal(sky_program_picture(c.program, 0)->kind, SKY_PICTURE_VIDEO);
    free(pics_wait_colour(c.pics, c.program, &c.l, 0.25, true));
    pics_case_agree(&c, 0.25);
    free(pics_wait_colour(c.pics, c.program, &c.l, 1.55, false));
    pics_case_agree(&c, 1.55);
    /* Looped: the third second is the first again. */
    free(pics_wait_colour(c.pics, c.program, &c.l, 2.35, true));
    free(pics_wait_colour(c.pics, c.program, &c.l, 3.55, false));
    sky_pictures_stats s;
    sky_pictures_get_stats(c.pics, &s);
    /* Jumping from 0.25 to 1.55 skips frames: they are counted, not shown. */
    assert_true(s.video_dropped > 0);
    assert_true(s.video_shown >= 4);
    assert_true(s.video_decoded >= s.video_shown);
    pics_case_free(&c);
}

/* In step (previews): exactly the frame due at t, around the red -> blue cut at t = 1. */
static void test_video_sync_exact_frame(void **state) {
    (void)state;
    pics_case c;
    pics_case_open(&c, pics_pattern("input pic = video(\"clip.mp4\")"), "grid:4x3", NULL);
    static const struct {
        double t;
        bool red;
    } steps[] = {{0, true},    {0.95, true}, {1.0, false}, {1.95, false},
                 {2.05, true}, {3.5, false}, {0.5, true},  {1.2, false}};
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        sky_pictures_update_sync(c.pics, steps[k].t);
        uint8_t *bytes = pics_eval(c.program, &c.l, sky_pictures_block(c.pics), steps[k].t);
        bool red = bytes[0] > 230 && bytes[2]<25, blue = bytes[2]> 230 && bytes[0] < 25;
        if (steps[k].red ? !red : !blue)
            fail_msg("t = %g: %u %u %u, want %s", steps[k].t, bytes[0], bytes[1], bytes[2],
                     steps[k].red ? "red" : "blue");
        free(bytes);
    }
    pics_case_free(&c);
}

/* -------------------------------------------------------------- main */

static int pics_setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sky-pictures-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int pics_teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_footprint),
        cmocka_unit_test(test_block_bound),
        cmocka_unit_test(test_block_levels_by_hand),
        cmocka_unit_test(test_block_mip_chain),
        cmocka_unit_test(test_language_errors),
        cmocka_unit_test(test_image_png_all_backends),
        cmocka_unit_test(test_image_smooth_disc),
        cmocka_unit_test(test_single_channels),
        cmocka_unit_test(test_mip_level_checkerboard_is_grey),
        cmocka_unit_test(test_missing_truncated_junk),
        cmocka_unit_test(test_video_loops_in_step_with_t),
        cmocka_unit_test(test_video_sync_exact_frame),
    };
    return cmocka_run_group_tests(tests, pics_setup, pics_teardown);
}
