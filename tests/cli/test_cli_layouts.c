/*
 * test_cli_layouts.c - the example map files and docs/layouts.md stay true.
 *
 * Every file in examples/maps/ (found at run time, so a new example is
 * covered without editing this test) is loaded by the real `sky` binary as
 * `sky preview --layout map:FILE --cpu`, which must succeed and write its
 * PNG; docs/layouts.md must show each file's full text exactly, and name it.
 * The positions the page states for tree.json and ring.csv are checked
 * against sky_layout_create. There is at least one JSON and one CSV example.
 */
#include <glob.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "cli_harness.h"
#include "sky/layout.h"

#define MAPS_GLOB SKY_SOURCE_DIR "/examples/maps/*"
#define DOC_PATH  SKY_SOURCE_DIR "/docs/layouts.md"

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static bool has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Each example map: `sky preview` loads it; the page shows it verbatim and names it. */
static void test_example_maps_load_and_are_documented(void **state) {
    (void)state;
    glob_t g;
    assert_int_equal(glob(MAPS_GLOB, 0, NULL, &g), 0);
    char *doc = cli_slurp(DOC_PATH);
    if (!doc[0]) fail_msg("%s is missing or empty", DOC_PATH);
    char dir[256], pattern[512], png[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "p.sky");
    cli_path(png, sizeof png, dir, "p.png");
    cli_write_file(pattern, "out hsv(index / count, 1, 1)\n");
    int json = 0, csv = 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *path = g.gl_pathv[i];
        json += has_suffix(path, ".json");
        csv += has_suffix(path, ".csv");
        char spec[1024], named[512];
        snprintf(spec, sizeof spec, "map:%s", path);
        const char *argv[] = {"preview", pattern, "--cpu", "--layout", spec,
                              "-o",      png,     "--size", "64", NULL};
        remove(png);
        char *err = NULL;
        int code = cli_run(dir, argv, 120, &err);
        if (code != 0) fail_msg("sky preview --layout %s exited with %d:\n%s", spec, code, err);
        free(err);
        struct stat st;
        if (stat(png, &st) != 0 || st.st_size == 0) fail_msg("%s: no PNG written", spec);

        char *text = cli_slurp(path);
        if (!strstr(doc, text))
            fail_msg("docs/layouts.md does not show %s exactly as it is", base_name(path));
        free(text);
        snprintf(named, sizeof named, "examples/maps/%s", base_name(path));
        if (!strstr(doc, named)) fail_msg("docs/layouts.md does not name %s", named);
    }
    if (json == 0 || csv == 0)
        fail_msg("examples/maps/ needs a .json and a .csv example (found %d and %d)", json, csv);
    cli_tmpdir_remove(dir);
    free(doc);
    globfree(&g);
}

static void expect_layout(const char *file, const uint32_t *sizes, uint32_t strips,
                          const float *xy, uint32_t leds) {
    char spec[512], error[512] = "";
    snprintf(spec, sizeof spec, "map:%s/examples/maps/%s", SKY_SOURCE_DIR, file);
    sky_layout *l = NULL;
    if (sky_layout_create(spec, &l, error, sizeof error) != SKY_OK) fail_msg("%s", error);
    assert_int_equal(l->strip_count, strips);
    for (uint32_t s = 0; s < strips; s++) assert_int_equal(l->strip_sizes[s], sizes[s]);
    assert_int_equal(l->led_count, leds);
    for (uint32_t i = 0; i < 2 * leds; i++)
        if (fabsf(l->xy[i] - xy[i]) > 1e-3f)
            fail_msg("%s: LED %u %c = %g, the page says %g", file, i / 2, i % 2 ? 'y' : 'x',
                     (double)l->xy[i], (double)xy[i]);
    sky_layout_free(l);
}

/* The normalised positions docs/layouts.md states for the two examples. */
static void test_documented_positions(void **state) {
    (void)state;
    static const uint32_t tree_sizes[] = {5, 3, 1};
    static const float tree[] = {-1, -0.5f, -0.5f, -0.5f, 0, -0.5f, 0.5f, -0.5f, 1, -0.5f,
                                 -0.5f, 0, 0, 0, 0.5f, 0, 0, 0.5f};
    expect_layout("tree.json", tree_sizes, 3, tree, 9);
    static const uint32_t ring_sizes[] = {8, 3};
    static const float ring[] = {1,      0,     0.707f, 0.707f,  0,      1,    -0.707f, 0.707f,
                                 -1,     0,     -0.707f, -0.707f, 0,     -1,   0.707f,  -0.707f,
                                 -0.5f, 0,     0,       0,       0.5f,   0};
    expect_layout("ring.csv", ring_sizes, 2, ring, 11);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_maps_load_and_are_documented),
        cmocka_unit_test(test_documented_positions),
    };
    return cmocka_run_group_tests_name("layout_example_maps", tests, NULL, cli_kill_children);
}
