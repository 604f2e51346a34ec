/*
 * test_layout.c - the layouts of libskyframe (include/sky/layout.h): exact
 * positions for small discs, grids and strips, map files in JSON and CSV
 * (written to a temporary directory), normalisation, the default, and the
 * error messages for malformed strings and files.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sky/layout.h"

#define EPS 1e-6f

static sky_layout *make(const char *spec) {
    sky_layout *l = NULL;
    char err[512];
    sky_status st = sky_layout_create(spec, &l, err, sizeof err);
    if (st != SKY_OK) fail_msg("layout \"%s\": %s", spec, err);
    return l;
}

static void expect_xy(const sky_layout *l, uint32_t i, float x, float y) {
    float gx = l->xy[2 * i], gy = l->xy[2 * i + 1];
    if (fabsf(gx - x) > EPS || fabsf(gy - y) > EPS)
        fail_msg("LED %u at (%.9g, %.9g), expected (%.9g, %.9g)", i, (double)gx, (double)gy,
                 (double)x, (double)y);
}

/* Expects `status` and a message containing `expect`. */
static void expect_error(const char *spec, sky_status status, const char *expect) {
    sky_layout *l = (sky_layout *)(uintptr_t)1;
    char err[512] = "";
    sky_status st = sky_layout_create(spec, &l, err, sizeof err);
    if (st != status || !strstr(err, expect))
        fail_msg("layout \"%s\": status %d, message \"%s\" (expected %d, \"%s\")", spec, st, err,
                 status, expect);
    assert_null(l);
}

static void all_in_range(const sky_layout *l) {
    for (uint32_t i = 0; i < l->led_count * 2; i++)
        assert_true(isfinite(l->xy[i]) && fabsf(l->xy[i]) <= 1.0f);
}

/* ------------------------------------------------------------------ disc */

static void test_disc_exact(void **state) {
    (void)state;
    sky_layout *l = make("disc:4x2");
    assert_int_equal(l->led_count, 8);
    assert_int_equal(l->strip_count, 4);
    for (int s = 0; s < 4; s++) assert_int_equal(l->strip_sizes[s], 2);
    assert_string_equal(l->name, "disc:4x2");
    /* strip 0 along +x, strip 1 along +y (counter-clockwise), radii 0.25, 0.75 */
    expect_xy(l, 0, 0.25f, 0.0f);
    expect_xy(l, 1, 0.75f, 0.0f);
    expect_xy(l, 2, 0.0f, 0.25f);
    expect_xy(l, 3, 0.0f, 0.75f);
    expect_xy(l, 4, -0.25f, 0.0f);
    expect_xy(l, 7, 0.0f, -0.75f);
    sky_layout_free(l);

    l = make("disc:3x4:0.2"); /* INNER + (1 - INNER)(l + 0.5)/LEDS */
    assert_int_equal(l->led_count, 12);
    expect_xy(l, 0, 0.3f, 0.0f);
    expect_xy(l, 3, 0.9f, 0.0f);
    float r = 0.2f + 0.8f * 1.5f / 4.0f, a = (float)(2 * M_PI / 3);
    expect_xy(l, 5, r * cosf(a), r * sinf(a));
    sky_layout_free(l);
}

static void test_disc_default(void **state) {
    (void)state;
    sky_layout *l = make(NULL);
    assert_string_equal(l->name, SKY_LAYOUT_DEFAULT);
    assert_int_equal(l->led_count, 360 * 288);
    assert_int_equal(l->strip_count, 360);
    all_in_range(l);
    /* strip 90 points along +y; its last LED at radius 287.5/288 */
    expect_xy(l, 90 * 288 + 287, 0.0f, 287.5f / 288.0f);
    sky_layout_free(l);
    l = make("");
    assert_int_equal(l->led_count, 360 * 288);
    sky_layout_free(l);
}

/* ------------------------------------------------------------ grid, strip */

static void test_grid_exact(void **state) {
    (void)state;
    sky_layout *l = make("grid:3x2"); /* 2 rows of 3: x spans [-1, 1], spacing 1 */
    assert_int_equal(l->led_count, 6);
    assert_int_equal(l->strip_count, 2);
    assert_int_equal(l->strip_sizes[0], 3);
    expect_xy(l, 0, -1.0f, 0.5f); /* row 0 at the top */
    expect_xy(l, 1, 0.0f, 0.5f);
    expect_xy(l, 2, 1.0f, 0.5f);
    expect_xy(l, 3, -1.0f, -0.5f);
    expect_xy(l, 5, 1.0f, -0.5f);
    sky_layout_free(l);

    l = make("grid:2x5"); /* taller than wide: y spans [+1, -1], spacing 0.5 */
    assert_int_equal(l->strip_count, 5);
    expect_xy(l, 0, -0.25f, 1.0f);
    expect_xy(l, 1, 0.25f, 1.0f);
    expect_xy(l, 4, -0.25f, 0.0f);
    expect_xy(l, 9, 0.25f, -1.0f);
    sky_layout_free(l);

    l = make("grid:1x1");
    expect_xy(l, 0, 0.0f, 0.0f);
    sky_layout_free(l);
}

static void test_strip_exact(void **state) {
    (void)state;
    sky_layout *l = make("strip:5");
    assert_int_equal(l->led_count, 5);
    assert_int_equal(l->strip_count, 1);
    assert_int_equal(l->strip_sizes[0], 5);
    for (int i = 0; i < 5; i++) expect_xy(l, (uint32_t)i, -1.0f + 0.5f * (float)i, 0.0f);
    sky_layout_free(l);
    l = make("strip:1");
    expect_xy(l, 0, 0.0f, 0.0f);
    sky_layout_free(l);
}

static void test_string_errors(void **state) {
    (void)state;
    expect_error("ring:3", SKY_ERR_FORMAT, "unknown kind");
    expect_error("disc:", SKY_ERR_FORMAT, "number of strips");
    expect_error("disc:x288", SKY_ERR_FORMAT, "column 6");
    expect_error("disc:360", SKY_ERR_FORMAT, "expected 'x'");
    expect_error("disc:360x", SKY_ERR_FORMAT, "LEDs per strip");
    expect_error("disc:0x288", SKY_ERR_FORMAT, "is 0");
    expect_error("disc:360x0", SKY_ERR_FORMAT, "column 10 is 0");
    expect_error("disc:-3x4", SKY_ERR_FORMAT, "number of strips");
    expect_error("disc:3x4:1", SKY_ERR_FORMAT, "inner radius");
    expect_error("disc:3x4:-0.1", SKY_ERR_FORMAT, "inner radius");
    expect_error("disc:3x4:abc", SKY_ERR_FORMAT, "inner radius");
    expect_error("disc:3x4:", SKY_ERR_FORMAT, "inner radius");
    expect_error("disc:3x4:nan", SKY_ERR_FORMAT, "inner radius");
    expect_error("disc:3x4:0.5x", SKY_ERR_FORMAT, "unexpected \"x\"");
    expect_error("disc:3x4 ", SKY_ERR_FORMAT, "column 9");
    expect_error("grid:3", SKY_ERR_FORMAT, "expected 'x'");
    expect_error("grid:3x2x1", SKY_ERR_FORMAT, "unexpected \"x1\"");
    expect_error("strip:12a", SKY_ERR_FORMAT, "unexpected \"a\"");
    expect_error("strip:0", SKY_ERR_FORMAT, "is 0");
    /* limits */
    expect_error("strip:16777217", SKY_ERR_LIMIT, "limit");
    expect_error("strip:99999999999999999999", SKY_ERR_LIMIT, "limit");
    expect_error("disc:5000x5000", SKY_ERR_LIMIT, "25000000 LEDs");
    expect_error("grid:4097x4097", SKY_ERR_LIMIT, "limit");
    expect_error("map:", SKY_ERR_FORMAT, "file name");
    sky_layout *l = NULL;
    assert_int_equal(sky_layout_create("strip:3", NULL, NULL, 0), SKY_ERR_INVALID_ARG);
    assert_int_equal(sky_layout_create("ring", &l, NULL, 0), SKY_ERR_FORMAT); /* no buffer: ok */
    sky_layout_free(NULL);
}

/* -------------------------------------------------------------- map files */

typedef struct fixture {
    char dir[64];
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx) return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/skylayout-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    if (system(cmd) != 0) return -1;
    free(fx);
    return 0;
}

/* Writes `text` to DIR/name and returns "map:DIR/name" in spec. */
static void write_map(const fixture *fx, const char *name, const char *text, char *spec,
                      size_t len) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", fx->dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    snprintf(spec, len, "map:%s", path);
}

static void test_map_json(void **state) {
    fixture *fx = *state;
    char spec[300];
    /* two strips; bounding box x 0..4, y 0..2: centre (2, 1), scale 2/4 */
    write_map(fx, "m.json", " [ [[0, 0], [4, 0]],\n  [[0, 2], [2.0, 1], [4, 2]] ]\n", spec,
              sizeof spec);
    sky_layout *l = make(spec);
    assert_int_equal(l->led_count, 5);
    assert_int_equal(l->strip_count, 2);
    assert_int_equal(l->strip_sizes[0], 2);
    assert_int_equal(l->strip_sizes[1], 3);
    expect_xy(l, 0, -1.0f, -0.5f);
    expect_xy(l, 1, 1.0f, -0.5f);
    expect_xy(l, 2, -1.0f, 0.5f);
    expect_xy(l, 3, 0.0f, 0.0f);
    expect_xy(l, 4, 1.0f, 0.5f);
    sky_layout_free(l);

    /* a single point sits at the centre; a tall shape keeps its aspect ratio */
    write_map(fx, "one.json", "[[[5, 7]]]", spec, sizeof spec);
    l = make(spec);
    expect_xy(l, 0, 0.0f, 0.0f);
    sky_layout_free(l);
    write_map(fx, "tall.json", "[[[10, -10], [11, 10]]]", spec, sizeof spec);
    l = make(spec);
    expect_xy(l, 0, -0.05f, -1.0f);
    expect_xy(l, 1, 0.05f, 1.0f);
    sky_layout_free(l);
    /* content starting with '[' is JSON whatever the name */
    write_map(fx, "noext", "[[[0,0],[1,1]]]", spec, sizeof spec);
    l = make(spec);
    assert_int_equal(l->led_count, 2);
    sky_layout_free(l);
}

static void test_map_json_errors(void **state) {
    fixture *fx = *state;
    char spec[300];
    struct {
        const char *text, *expect;
    } cases[] = {
        {"[[[0, 0], [1, 1]],\n [[2, 2] [3, 3]]]", ":2:"},          /* missing comma, line 2 */
        {"[[[0, 0], [1, 1]]", "unexpected end of file"},           /* unterminated */
        {"[[[0, 0]]] x", "1:12: unexpected data"},                 /* trailing data */
        {"{\"strips\": 1}", "expected {\"strips\": [...]}"},       /* not an array */
        {"\"strips\"", "non-empty array of strips"},               /* a string */
        {"[]", "non-empty array of strips"},                       /* empty */
        {"[[[0, 0]], []]", "strip 1: expected a non-empty array"}, /* empty strip */
        {"[[[0, 0]], 7]", "strip 1: expected a non-empty array"},  /* strip not an array */
        {"[[[0, 0], [1]]]", "strip 0, LED 1: expected an [x, y]"}, /* one coordinate */
        {"[[[0, 0], [1, 2, 3, 4]]]", "strip 0, LED 1"},            /* four */
        {"[[[0, \"a\"]]]", "strip 0, LED 0"},                      /* a string */
        {"[[[0, 0]], [[1, 1], [1e999, 0]]]", "strip 1, LED 1"},    /* infinite */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_map(fx, "bad.json", cases[i].text, spec, sizeof spec);
        expect_error(spec, SKY_ERR_FORMAT, cases[i].expect);
    }
    /* the file name is in the message */
    write_map(fx, "named.json", "[", spec, sizeof spec);
    expect_error(spec, SKY_ERR_FORMAT, "named.json:1:2: JSON parse error");
    char missing[300];
    snprintf(missing, sizeof missing, "map:%s/missing.json", fx->dir);
    expect_error(missing, SKY_ERR_IO, "missing.json: No such file");
}

static void expect_xyz(const sky_layout *l, uint32_t i, float x, float y, float z) {
    expect_xy(l, i, x, y);
    if (fabsf(l->z[i] - z) > EPS)
        fail_msg("LED %u at z = %.9g, expected %.9g", i, (double)l->z[i], (double)z);
}

/* x, y and z scale together: the longest axis (here z, 0..8) spans [-1, 1],
 * the others keep their proportions around the centre of the bounding box. */
static void test_map_3d(void **state) {
    fixture *fx = *state;
    char spec[300];
    write_map(fx, "cube.json", "[[[0, 0, 0], [2, 4, 8]], [[1, 2]]]", spec, sizeof spec);
    sky_layout *l = make(spec);
    assert_int_equal(l->led_count, 3);
    expect_xyz(l, 0, -0.25f, -0.5f, -1.0f);
    expect_xyz(l, 1, 0.25f, 0.5f, 1.0f);
    expect_xyz(l, 2, 0.0f, 0.0f, -1.0f); /* [x, y] has z = 0 */
    sky_layout_free(l);
    write_map(fx, "cube.csv", "strip,x,y,z\n0,0,0,0\n0,2,4,8\n1,1,2,0\n", spec, sizeof spec);
    l = make(spec);
    expect_xyz(l, 0, -0.25f, -0.5f, -1.0f);
    expect_xyz(l, 1, 0.25f, 0.5f, 1.0f);
    expect_xyz(l, 2, 0.0f, 0.0f, -1.0f);
    sky_layout_free(l);
    /* flat kinds and flat maps have z = 0 everywhere */
    const char *flat[] = {"disc:5x3", "grid:3x2", "strip:4"};
    for (size_t k = 0; k < 3; k++) {
        l = make(flat[k]);
        for (uint32_t i = 0; i < l->led_count; i++) assert_true(l->z[i] == 0.0f);
        sky_layout_free(l);
    }
}

static void test_map_csv(void **state) {
    fixture *fx = *state;
    char spec[300];
    write_map(fx, "m.csv",
              "# a comment\n"
              "strip,x,y\n"
              "0, 0, 0\n"
              "0, 4, 0\r\n"
              "\n"
              "1,0,2\n"
              "  # an indented comment\n"
              "1,2,1\n"
              "1,4,2",
              spec, sizeof spec);
    sky_layout *l = make(spec);
    assert_int_equal(l->led_count, 5);
    assert_int_equal(l->strip_count, 2);
    assert_int_equal(l->strip_sizes[0], 2);
    assert_int_equal(l->strip_sizes[1], 3);
    expect_xy(l, 0, -1.0f, -0.5f);
    expect_xy(l, 3, 0.0f, 0.0f);
    expect_xy(l, 4, 1.0f, 0.5f);
    assert_true(strncmp(l->name, "map:", 4) == 0 && strlen(l->name) <= 32);
    sky_layout_free(l);
    /* no header, negative and fractional coordinates */
    write_map(fx, "n.csv", "0,-1.5,0.25\n0,1.5,-0.25\n", spec, sizeof spec);
    l = make(spec);
    expect_xy(l, 0, -1.0f, 1.0f / 6.0f);
    expect_xy(l, 1, 1.0f, -1.0f / 6.0f);
    sky_layout_free(l);
}

static void test_map_csv_errors(void **state) {
    fixture *fx = *state;
    char spec[300];
    struct {
        const char *text, *expect;
    } cases[] = {
        {"strip,x,y\n0,1,2\n0,1\n", "bad.csv:3: expected 3 fields"},
        {"0,1,2\n0,1,2,3,4\n",
         "bad.csv:2: expected 3 fields \"strip,x,y\" or 4 \"strip,x,y,z\", found 5"},
        {"1,0,0\n", "bad.csv:1: strip \"1\" must be 0"},
        {"0,0,0\n2,0,0\n", "bad.csv:2: strip \"2\" must be 0 (this strip) or 1"},
        {"0,0,0\n1,0,0\n0,1,1\n", "bad.csv:3: strip \"0\" must be 1"},
        {"0,0,0\n0.5,0,0\n", "bad.csv:2: strip \"0.5\""},
        {"0,0,0\nzero,0,0\n", "bad.csv:2: strip \"zero\""},
        {"0,a,0\n", "bad.csv:1: x \"a\" must be a finite number"},
        {"0,1,\n", "bad.csv:1: y \"\" must be a finite number"},
        {"0,1,2,nan\n", "bad.csv:1: z \"nan\" must be a finite number"},
        {"0,1,inf\n", "bad.csv:1"},
        {"# only a comment\n\n", "no LEDs"},
        {"strip,x,y\n", "no LEDs"},
        {"", "no LEDs"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_map(fx, "bad.csv", cases[i].text, spec, sizeof spec);
        expect_error(spec, SKY_ERR_FORMAT, cases[i].expect);
    }
    /* a NUL byte: not a text file */
    char path[256];
    snprintf(path, sizeof path, "%s/bin.csv", fx->dir);
    FILE *f = fopen(path, "wb");
    fwrite("0,0,0\n\0\n", 1, 8, f);
    fclose(f);
    snprintf(spec, sizeof spec, "map:%s", path);
    expect_error(spec, SKY_ERR_FORMAT, "NUL byte");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disc_exact),
        cmocka_unit_test(test_disc_default),
        cmocka_unit_test(test_grid_exact),
        cmocka_unit_test(test_strip_exact),
        cmocka_unit_test(test_string_errors),
        cmocka_unit_test_setup_teardown(test_map_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_json_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_3d, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_csv_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
