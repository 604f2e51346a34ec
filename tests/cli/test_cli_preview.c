/*
 * test_cli_preview.c - `sky preview` end to end: run the binary, decode what
 * it wrote (libpng, giflib) and compare the pixels at the LED centres with
 * the colours the CPU reference evaluator computes in-process for the same
 * pattern, layout and time.
 *
 * Run as `test_cli_preview cpu` (the --cpu path) or `test_cli_preview gpu`
 * (the Vulkan runtime; labelled "gpu", and it fails when there is no device,
 * since the command then exits with status 2). Where each LED lands comes
 * from preview_geometry_create, linked from cli/preview_image.c, so the test
 * looks where the command drew.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gif_lib.h>
#include <png.h>

#include "cli_harness.h"
#include "show.h"
#include "sky/abi.h"
#include "sky/layout.h"
#include "sky/sky.h"

static bool use_gpu;

/* Per channel: the device may differ from the evaluator by 2/255 (the spec), plus drawing rounding.
 */
static int tolerance(void) {
    return use_gpu ? 3 : 1;
}

typedef struct image {
    uint32_t width, height;
    uint8_t *rgb;
} image;

static image read_png(const char *path) {
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&png, path)) fail_msg("%s: %s", path, png.message);
    png.format = PNG_FORMAT_RGB;
    image img = {png.width, png.height, malloc(PNG_IMAGE_SIZE(png))};
    assert_non_null(img.rgb);
    if (!png_image_finish_read(&png, NULL, img.rgb, 0, NULL)) fail_msg("%s: %s", path, png.message);
    return img;
}

/* The evaluator's bytes for every LED after rendering frames at times[0..count). */
static uint8_t *expected_colours(const char *source, const sky_layout *layout, const double *params,
                                 const double *times, size_t count) {
    sky_program *program = cli_compile(source);
    sky_layout_view view = {layout->led_count, layout->strip_count, layout->strip_sizes, layout->xy,
                            layout->z};
    size_t n = layout->led_count;
    sky_led_input *inputs = malloc(n * sizeof *inputs);
    float *prev = calloc(n * 3, sizeof *prev), *cur = malloc(n * 3 * sizeof *cur);
    uint8_t *bytes = malloc(n * 3);
    assert_true(inputs && prev && cur && bytes);
    assert_int_equal(sky_led_inputs_build(&view, inputs), SKY_OK);
    for (size_t k = 0; k < count; k++) {
        sky_frame_inputs fi = {times[k], k ? times[k] - times[k - 1] : 0, k, params};
        assert_int_equal(sky_program_eval(program, &view, inputs, &fi, prev, cur, bytes), SKY_OK);
        float *swap = prev;
        prev = cur;
        cur = swap;
    }
    free(inputs);
    free(prev);
    free(cur);
    sky_program_free(program);
    return bytes;
}

static preview_geometry *geometry_for(const sky_layout *layout, uint32_t size, uint32_t max_auto) {
    preview_geometry *g = NULL;
    assert_true(
        preview_geometry_create("test", layout->xy, layout->led_count, size, max_auto, 0, 0, &g));
    return g;
}

static void check_centres(const preview_geometry *g, const uint8_t *rgb, const uint8_t *expected,
                          int tol, const char *what) {
    for (uint32_t i = 0; i < g->led_count; i++) {
        const uint8_t *px = rgb + 3 * ((size_t)g->centre_y[i] * g->width + g->centre_x[i]);
        for (int c = 0; c < 3; c++) {
            int d = abs((int)px[c] - (int)expected[3 * i + c]);
            if (d > tol)
                fail_msg("%s: LED %u at (%u, %u) channel %d: image %d, evaluator %d (tolerance %d)",
                         what, i, g->centre_x[i], g->centre_y[i], c, px[c], expected[3 * i + c],
                         tol);
        }
    }
}

/* Runs `sky preview FILE args... [--cpu]` and expects success. */
static void preview(const char *dir, const char *file, const char *const *args) {
    const char *argv[32] = {"preview", file};
    size_t n = 2;
    for (size_t i = 0; args[i]; i++) argv[n++] = args[i];
    if (!use_gpu) argv[n++] = "--cpu";
    argv[n] = NULL;
    char *err = NULL;
    int code = cli_run(dir, argv, 120, &err);
    if (code != 0) fail_msg("sky preview exited with %d:\n%s", code, err);
    free(err);
}

static sky_layout *layout_of(const char *spec) {
    sky_layout *layout = NULL;
    char error[256];
    if (sky_layout_create(spec, &layout, error, sizeof error) != SKY_OK) fail_msg("%s", error);
    return layout;
}

static void test_png_matches_evaluator(void **state) {
    (void)state;
    static const char source[] = "out rgb(fract(x * 0.5 + 0.5 + t * 0.25), y * 0.5 + 0.5, "
                                 "hash(index))\n";
    char dir[256], file[512], out[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(file, sizeof file, dir, "p.sky");
    cli_path(out, sizeof out, dir, "p.png");
    cli_write_file(file, source);
    preview(dir, file,
            (const char *const[]){"-o", out, "--layout", "grid:12x8", "--time", "0.6", NULL});

    sky_layout *layout = layout_of("grid:12x8");
    const double t[1] = {0.6};
    uint8_t *expected = expected_colours(source, layout, NULL, t, 1);
    preview_geometry *g = geometry_for(layout, 0, 1024);
    image img = read_png(out);
    assert_int_equal(img.width, g->width);
    assert_int_equal(img.height, g->height);
    assert_true(img.width >= 256 && img.width <= 1024);
    /* Keeps the 12:8 aspect ratio of the grid, within the margins. */
    assert_true(img.width > img.height);
    check_centres(g, img.rgb, expected, tolerance(), "png");
    /* The corner is background: no dot reaches into the margin. */
    assert_int_equal(img.rgb[0], PREVIEW_BACKGROUND_R);
    assert_int_equal(img.rgb[1], PREVIEW_BACKGROUND_G);
    assert_int_equal(img.rgb[2], PREVIEW_BACKGROUND_B);

    free(img.rgb);
    preview_geometry_free(g);
    free(expected);
    sky_layout_free(layout);
    cli_tmpdir_remove(dir);
}

/* A prev pattern is rendered frame by frame from t = 0: six frames at 10 fps up to t = 0.5. */
static void test_png_prev_history(void **state) {
    (void)state;
    static const char source[] = "out prev + rgb(0.05, 0.1, 0.02) * (1 + 0.5 * x)\n";
    char dir[256], file[512], out[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(file, sizeof file, dir, "trail.sky");
    cli_path(out, sizeof out, dir, "trail.png");
    cli_write_file(file, source);
    preview(dir, file,
            (const char *const[]){"-o", out, "--layout", "disc:16x6:0.3", "--fps", "10", "--time",
                                  "0.5", NULL});

    sky_layout *layout = layout_of("disc:16x6:0.3");
    const double t[6] = {0, 0.1, 0.2, 0.3, 0.4, 0.5};
    uint8_t *expected = expected_colours(source, layout, NULL, t, 6);
    /* After six frames red is about 0.3: far from both a single frame and a full one. */
    assert_true(expected[0] > 40 && expected[0] < 140);
    preview_geometry *g = geometry_for(layout, 0, 1024);
    image img = read_png(out);
    assert_int_equal(img.width, g->width);
    assert_int_equal(img.height, g->height);
    assert_int_equal(img.width, img.height); /* a disc is round */
    check_centres(g, img.rgb, expected, tolerance() + 1, "prev png");
    free(img.rgb);
    preview_geometry_free(g);
    free(expected);
    sky_layout_free(layout);
    cli_tmpdir_remove(dir);
}

/* Without --fps, history is computed at the show's 60 fps: 31 frames up to t = 0.5, not 13. */
static void test_png_default_show_rate(void **state) {
    (void)state;
    static const char source[] = "out prev + rgb(0.01, 0.02, 0.005) * (1 + 0.5 * y)\n";
    char dir[256], file[512], out[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(file, sizeof file, dir, "rate.sky");
    cli_path(out, sizeof out, dir, "rate.png");
    cli_write_file(file, source);
    preview(dir, file,
            (const char *const[]){"-o", out, "--layout", "grid:6x6", "--time", "0.5", NULL});

    sky_layout *layout = layout_of("grid:6x6");
    double t[31];
    for (int k = 0; k < 31; k++) t[k] = k / 60.0;
    uint8_t *expected = expected_colours(source, layout, NULL, t, 31);
    preview_geometry *g = geometry_for(layout, 0, 1024);
    image img = read_png(out);
    assert_int_equal(img.width, g->width);
    check_centres(g, img.rgb, expected, tolerance() + 1, "png at the show's rate");
    free(img.rgb);
    preview_geometry_free(g);
    free(expected);
    sky_layout_free(layout);
    cli_tmpdir_remove(dir);
}

/* --size sets the longer side; a strip is a wide, low image. */
static void test_png_size(void **state) {
    (void)state;
    char dir[256], file[512], out[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(file, sizeof file, dir, "s.sky");
    cli_path(out, sizeof out, dir, "s.png");
    cli_write_file(file, "out hsv(x, 1, 1)\n");
    preview(dir, file,
            (const char *const[]){"-o", out, "--layout", "strip:30", "--size", "300", NULL});
    sky_layout *layout = layout_of("strip:30");
    preview_geometry *g = geometry_for(layout, 300, 1024);
    image img = read_png(out);
    assert_int_equal(img.width, 300);
    assert_int_equal(img.height, g->height);
    assert_true(img.height < 60);
    const double t[1] = {1.0}; /* the default --time */
    uint8_t *expected = expected_colours("out hsv(x, 1, 1)\n", layout, NULL, t, 1);
    check_centres(g, img.rgb, expected, tolerance(), "strip png");
    free(expected);
    free(img.rgb);
    preview_geometry_free(g);
    sky_layout_free(layout);
    cli_tmpdir_remove(dir);
}

/* --view: a 3-D layout from a camera. A column along z and one LED off to the
 * side: from the front (0,0) the column stands up in the picture, each dot
 * the evaluator's colour for its z; from above (0,90) the top of the column
 * is nearer, so its dot is bigger than the bottom's. */
static void test_png_view(void **state) {
    (void)state;
    static const char source[] = "out rgb(z * 0.5 + 0.5, 0.2, 1 - (z * 0.5 + 0.5))\n";
    char dir[256], file[512], out[512], map[512], spec[600];
    cli_tmpdir(dir, sizeof dir);
    cli_path(file, sizeof file, dir, "v.sky");
    cli_path(out, sizeof out, dir, "v.png");
    cli_path(map, sizeof map, dir, "column.json");
    cli_write_file(file, source);
    cli_write_file(map, "[[0, 0, 0], [0, 0, 2], [0, 0, 4], [0, 0, 6], [2, 0, 3]]");
    snprintf(spec, sizeof spec, "pixelblaze:%s", map);
    preview(dir, file, (const char *const[]){"-o", out, "--layout", spec, "--view", "0,0", NULL});
    sky_layout *layout = layout_of(spec);
    preview_view front = {true, 0, 0}, above = {true, 0, 90};
    preview_geometry *g = NULL;
    assert_true(preview_geometry_for("test", layout, &front, 0, 1024, 0, 0, &g));
    image img = read_png(out);
    assert_int_equal(img.width, g->width);
    assert_int_equal(img.height, g->height);
    assert_true(img.height > img.width);          /* the column stands up */
    assert_true(g->centre_y[0] > g->centre_y[3]); /* z = -1 below z = 1 */
    const double t[1] = {1.0};
    uint8_t *expected = expected_colours(source, layout, NULL, t, 1);
    check_centres(g, img.rgb, expected, tolerance(), "view png");
    preview_geometry_free(g);
    assert_true(preview_geometry_for("test", layout, &above, 0, 1024, 0, 0, &g));
    assert_non_null(g->dot_scale);
    assert_true(g->dot_scale[3] > g->dot_scale[0]); /* the top is nearer the camera above */
    preview_geometry_free(g);
    free(expected);
    free(img.rgb);
    sky_layout_free(layout);
    char *err = NULL;
    const char *bad[] = {"preview", file, "-o", out, "--view", "30", NULL};
    assert_int_equal(cli_run(dir, bad, 120, &err), 2);
    assert_non_null(strstr(err, "AZIMUTH,ELEVATION"));
    free(err);
    cli_tmpdir_remove(dir);
}

/* Colour of pixel (x, y) of frame k of a decoded GIF. */
static const GifColorType *gif_pixel(const GifFileType *gif, int k, uint32_t x, uint32_t y) {
    const SavedImage *frame = &gif->SavedImages[k];
    const ColorMapObject *map =
        frame->ImageDesc.ColorMap ? frame->ImageDesc.ColorMap : gif->SColorMap;
    assert_non_null(map);
    uint8_t index = frame->RasterBits[(size_t)y * (size_t)gif->SWidth + x];
    assert_true(index < map->ColorCount);
    return &map->Colors[index];
}

static void test_gif_frames(void **state) {
    (void)state;
    static const char source[] = "out t < 0.45 ? rgb(1, 0, 0) : rgb(0, 0.5, 1) * (0.5 + 0.5 * y)\n";
    char dir[256], file[512], out[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(file, sizeof file, dir, "g.sky");
    cli_path(out, sizeof out, dir, "g.gif");
    cli_write_file(file, source);
    preview(dir, file,
            (const char *const[]){"-o", out, "--layout", "grid:10x10", "--duration", "1", "--fps",
                                  "15", NULL});

    int error = 0;
    GifFileType *gif = DGifOpenFileName(out, &error);
    if (!gif) fail_msg("%s: %s", out, GifErrorString(error));
    assert_int_equal(DGifSlurp(gif), GIF_OK);
    sky_layout *layout = layout_of("grid:10x10");
    preview_geometry *g = geometry_for(layout, 0, 512);
    assert_int_equal(gif->ImageCount, 15);
    assert_int_equal(gif->SWidth, (int)g->width);
    assert_int_equal(gif->SHeight, (int)g->height);
    /* Whole-centisecond delays that add up to the duration exactly. */
    int total = 0;
    for (int k = 0; k < gif->ImageCount; k++) {
        GraphicsControlBlock gcb;
        assert_int_equal(DGifSavedExtensionToGCB(gif, k, &gcb), GIF_OK);
        assert_true(gcb.DelayTime == 6 || gcb.DelayTime == 7);
        total += gcb.DelayTime;
        assert_int_equal(gif->SavedImages[k].ImageDesc.Width, (int)g->width);
    }
    assert_int_equal(total, 100);
    /* Frame k is t = k / 15: frames 0..6 red, 7..14 the gradient, each within palette error. */
    for (int k = 0; k < gif->ImageCount; k += 7) {
        double times[15];
        for (int j = 0; j <= k; j++) times[j] = j / 15.0;
        uint8_t *expected = expected_colours(source, layout, NULL, times, (size_t)k + 1);
        for (uint32_t i = 0; i < g->led_count; i++) {
            const GifColorType *c = gif_pixel(gif, k, g->centre_x[i], g->centre_y[i]);
            const uint8_t *e = expected + 3 * i;
            int d = abs(c->Red - e[0]) + abs(c->Green - e[1]) + abs(c->Blue - e[2]);
            if (d > 24)
                fail_msg("gif frame %d LED %u: (%d,%d,%d) vs evaluator (%d,%d,%d)", k, i, c->Red,
                         c->Green, c->Blue, e[0], e[1], e[2]);
        }
        free(expected);
    }
    DGifCloseFile(gif, &error);
    preview_geometry_free(g);
    sky_layout_free(layout);
    cli_tmpdir_remove(dir);
}

/*
 * Without --fps a GIF is computed at 60 fps and keeps every 2nd frame: 30 frames at 30 fps
 * (delays 3 and 4 cs), GIF frame j being computed frame 2j of a prev trail.
 */
static void test_gif_show_rate(void **state) {
    (void)state;
    static const char source[] = "out prev + rgb(0.012, 0.006, 0.003) * (1 + 0.5 * x)\n";
    char dir[256], file[512], out[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(file, sizeof file, dir, "trail.sky");
    cli_path(out, sizeof out, dir, "trail.gif");
    cli_write_file(file, source);
    preview(dir, file,
            (const char *const[]){"-o", out, "--layout", "grid:6x6", "--duration", "1", NULL});

    int error = 0;
    GifFileType *gif = DGifOpenFileName(out, &error);
    if (!gif) fail_msg("%s: %s", out, GifErrorString(error));
    assert_int_equal(DGifSlurp(gif), GIF_OK);
    assert_int_equal(gif->ImageCount, 30);
    int total = 0;
    for (int k = 0; k < gif->ImageCount; k++) {
        GraphicsControlBlock gcb;
        assert_int_equal(DGifSavedExtensionToGCB(gif, k, &gcb), GIF_OK);
        assert_true(gcb.DelayTime == 3 || gcb.DelayTime == 4);
        total += gcb.DelayTime;
    }
    assert_int_equal(total, 100);
    sky_layout *layout = layout_of("grid:6x6");
    preview_geometry *g = geometry_for(layout, 0, 512);
    static const int checked[] = {0, 10, 29};
    for (size_t n = 0; n < sizeof checked / sizeof checked[0]; n++) {
        int j = checked[n];
        double times[59];
        for (int k = 0; k <= 2 * j; k++) times[k] = k / 60.0;
        uint8_t *expected = expected_colours(source, layout, NULL, times, (size_t)(2 * j + 1));
        for (uint32_t i = 0; i < g->led_count; i++) {
            const GifColorType *c = gif_pixel(gif, j, g->centre_x[i], g->centre_y[i]);
            const uint8_t *e = expected + 3 * i;
            int d = abs(c->Red - e[0]) + abs(c->Green - e[1]) + abs(c->Blue - e[2]);
            if (d > 24)
                fail_msg("gif frame %d LED %u: (%d,%d,%d) vs evaluator frame %d (%d,%d,%d)", j, i,
                         c->Red, c->Green, c->Blue, 2 * j, e[0], e[1], e[2]);
        }
        free(expected);
    }
    DGifCloseFile(gif, &error);
    preview_geometry_free(g);
    sky_layout_free(layout);
    cli_tmpdir_remove(dir);
}

int main(int argc, char **argv) {
    if (argc != 2 || (strcmp(argv[1], "cpu") != 0 && strcmp(argv[1], "gpu") != 0)) {
        fprintf(stderr, "usage: %s cpu|gpu\n", argv[0]);
        return 2;
    }
    use_gpu = strcmp(argv[1], "gpu") == 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_matches_evaluator),
        cmocka_unit_test(test_png_prev_history),
        cmocka_unit_test(test_png_default_show_rate),
        cmocka_unit_test(test_png_size),
        cmocka_unit_test(test_png_view),
        cmocka_unit_test(test_gif_frames),
        cmocka_unit_test(test_gif_show_rate),
    };
    return cmocka_run_group_tests_name(use_gpu ? "cli_preview_gpu" : "cli_preview_cpu", tests, NULL,
                                       cli_kill_children);
}
