/*
 * test_layout_import.c - the importers of frame/layout_import.c on small
 * hand-made files: pixelblaze:, wled:, xlights: (CSV grid and .xmodel) and
 * csv:, their positions after normalisation and in wiring order, the JSON map
 * that sky_layout_export_json writes for them (which must load back to the
 * same positions), and the errors for bad files (wrong shapes, NaN,
 * repeated and missing LEDs, huge counts), each naming the element, cell or
 * line.
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

typedef struct fixture {
    char dir[64];
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx) return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/skyimport-XXXXXX");
    if (!mkdtemp(fx->dir)) return -1;
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

/* Writes `text` to DIR/name; spec = "FORMAT:DIR/name". */
static void write_file(const fixture *fx, const char *format, const char *name, const char *text,
                       char *spec, size_t len) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", fx->dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    snprintf(spec, len, "%s:%s", format, path);
}

static sky_layout *make(const char *spec) {
    sky_layout *l = NULL;
    char err[512] = "";
    if (sky_layout_create(spec, &l, err, sizeof err) != SKY_OK)
        fail_msg("layout \"%s\": %s", spec, err);
    return l;
}

static void expect_xyz(const sky_layout *l, uint32_t i, float x, float y, float z) {
    if (fabsf(l->xy[2 * i] - x) > EPS || fabsf(l->xy[2 * i + 1] - y) > EPS ||
        fabsf(l->z[i] - z) > EPS)
        fail_msg("LED %u at (%.9g, %.9g, %.9g), expected (%.9g, %.9g, %.9g)", i,
                 (double)l->xy[2 * i], (double)l->xy[2 * i + 1], (double)l->z[i], (double)x,
                 (double)y, (double)z);
}

/* `text` as FORMAT must fail with `status` and a message containing `expect`. */
static void expect_error(const fixture *fx, const char *format, const char *text, sky_status status,
                         const char *expect) {
    char spec[300], err[512] = "";
    write_file(fx, format, "bad", text, spec, sizeof spec);
    sky_layout *l = (sky_layout *)(uintptr_t)1;
    sky_status st = sky_layout_create(spec, &l, err, sizeof err);
    if (st != status || !strstr(err, expect) || !strstr(err, "/bad"))
        fail_msg("%s \"%s\": status %d, message \"%s\" (expected %d, \"%s\" naming the file)",
                 format, text, st, err, status, expect);
    assert_null(l);
}

/* A file that must not load: its text, and what the message must contain. */
typedef struct bad_file {
    const char *text;
    const char *expect;
} bad_file;

/* Every row of `bad` as FORMAT fails with SKY_ERR_FORMAT and its message, naming the file. */
static void expect_errors(const fixture *fx, const char *format, const bad_file *bad,
                          size_t count) {
    for (size_t i = 0; i < count; i++)
        expect_error(fx, format, bad[i].text, SKY_ERR_FORMAT, bad[i].expect);
}

#define EXPECT_ERRORS(fx, format, table) \
    expect_errors(fx, format, table, sizeof table / sizeof table[0])

/* The exported JSON map loads back to the same positions. */
static void expect_round_trip(const fixture *fx, const char *spec) {
    char path[256], err[512] = "", map_spec[300];
    snprintf(path, sizeof path, "%s/export.json", fx->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    if (sky_layout_export_json(spec, f, err, sizeof err) != SKY_OK)
        fail_msg("export %s: %s", spec, err);
    assert_int_equal(fclose(f), 0);
    snprintf(map_spec, sizeof map_spec, "map:%s", path);
    sky_layout *a = make(spec), *b = make(map_spec);
    assert_int_equal(a->led_count, b->led_count);
    assert_int_equal(a->strip_count, b->strip_count);
    assert_memory_equal(a->strip_sizes, b->strip_sizes, a->strip_count * sizeof *a->strip_sizes);
    for (uint32_t i = 0; i < a->led_count; i++)
        expect_xyz(b, i, a->xy[2 * i], a->xy[2 * i + 1], a->z[i]);
    sky_layout_free(a);
    sky_layout_free(b);
}

/* ----------------------------------------------------------- pixelblaze */

static void test_pixelblaze(void **state) {
    fixture *fx = *state;
    char spec[300];
    write_file(fx, "pixelblaze", "square.json", "[[0, 0], [4, 0], [4, 2], [0, 2]]", spec,
               sizeof spec);
    sky_layout *l = make(spec);
    assert_int_equal(l->led_count, 4);
    assert_int_equal(l->strip_count, 1);
    expect_xyz(l, 0, -1, -0.5f, 0);
    expect_xyz(l, 2, 1, 0.5f, 0);
    sky_layout_free(l);
    expect_round_trip(fx, spec);
    write_file(fx, "pixelblaze", "cube.json", "[[0, 0, 0], [1, 1, 1], [0, 0, 2]]", spec,
               sizeof spec);
    l = make(spec);
    expect_xyz(l, 0, -0.5f, -0.5f, -1);
    expect_xyz(l, 1, 0.5f, 0.5f, 0);
    expect_xyz(l, 2, -0.5f, -0.5f, 1);
    sky_layout_free(l);
    expect_round_trip(fx, spec);
}

static const bad_file pixelblaze_bad[] = {
    {"[]", "non-empty array"},
    {"{\"a\": 1}", "non-empty array"},
    {"[[0, 0], [1, 0, 2]]", "element 1 has 3 coordinates, element 0 has 2"},
    {"[[0, 0], [1]]", "element 1: expected"},
    {"[[0, 0], [1, NaN]]", "element 1"},
    {"[[0, 0], [1, 1e999]]", "element 1"},
    {"[[0, 0],\n [1, 1]", "unexpected end"},
    {"function (pixelCount) { return [] }", "mapper function"},
};

static void test_pixelblaze_errors(void **state) {
    EXPECT_ERRORS(*state, "pixelblaze", pixelblaze_bad);
}

/* ----------------------------------------------------------------- WLED */

static void test_wled(void **state) {
    fixture *fx = *state;
    char spec[300];
    /* a 3 x 3 serpentine panel with a gap: LED 3 at row 1 column 2, LED 6 at row 2 column 1 */
    write_file(fx, "wled", "ledmap.json",
               "{\"n\": \"panel\", \"map\": [0, 1, 2, 5, 4, 3, -1, 6, 7], \"width\": 3, "
               "\"height\": 3}",
               spec, sizeof spec);
    sky_layout *l = make(spec);
    assert_int_equal(l->led_count, 8);
    expect_xyz(l, 0, -1, 1, 0);
    expect_xyz(l, 2, 1, 1, 0);
    expect_xyz(l, 3, 1, 0, 0);
    expect_xyz(l, 5, -1, 0, 0);
    expect_xyz(l, 6, 0, -1, 0);
    expect_xyz(l, 7, 1, -1, 0);
    sky_layout_free(l);
    expect_round_trip(fx, spec);
    /* without width and height: one row */
    write_file(fx, "wled", "row.json", "{\"map\": [2, 1, 0]}", spec, sizeof spec);
    l = make(spec);
    expect_xyz(l, 0, 1, 0, 0);
    expect_xyz(l, 2, -1, 0, 0);
    sky_layout_free(l);
}

static const bad_file wled_bad[] = {
    {"[0, 1]", "an object with \"map\""},
    {"{\"map\": []}", "an object with \"map\""},
    {"{\"map\": [0, 1, 2], \"width\": 2, \"height\": 2}",
     "\"map\" has 3 entries, but width x height is 2 x 2"},
    {"{\"map\": [0, 1], \"width\": 2}", "2 x 0"},
    {"{\"map\": [0, 1, 1, 2]}", "map[2] = 1: LED 1 is also at map[1]"},
    {"{\"map\": [0, 2, -1]}", "LED 1 is not in the map"},
    {"{\"map\": [0, 1.5]}", "map[1] must be -1"},
    {"{\"map\": [0, -2]}", "map[1] must be -1"},
    {"{\"map\": [0, \"1\"]}", "map[1] must be -1"},
    {"{\"map\": [-1, -1]}", "no LEDs"},
    {"{\"map\": [0], \"width\": 99999999, \"height\": 1}",
     "\"width\" must be an integer from 1 to 16777216"},
};

static void test_wled_errors(void **state) {
    EXPECT_ERRORS(*state, "wled", wled_bad);
}

/* -------------------------------------------------------------- xLights */

static void test_xlights(void **state) {
    fixture *fx = *state;
    char spec[300];
    /* 3 x 3 grid (rows from the top), nodes 1..5 */
    write_file(fx, "xlights", "model.csv", "1,,2\r\n,3,\r\n5,,4\r\n", spec, sizeof spec);
    sky_layout *l = make(spec);
    assert_int_equal(l->led_count, 5);
    expect_xyz(l, 0, -1, 1, 0);
    expect_xyz(l, 1, 1, 1, 0);
    expect_xyz(l, 2, 0, 0, 0);
    expect_xyz(l, 3, 1, -1, 0);
    expect_xyz(l, 4, -1, -1, 0);
    sky_layout_free(l);
    expect_round_trip(fx, spec);
    /* an .xmodel with two layers: layer k at z = k */
    write_file(fx, "xlights", "cube.xmodel",
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<custommodel name=\"Cube\" "
               "parm1=\"2\" parm2=\"2\" Depth=\"2\" CustomModel=\"1,2;,3|4,;6,5\" "
               "SourceVersion=\"2023.1\"/>\n",
               spec, sizeof spec);
    l = make(spec);
    assert_int_equal(l->led_count, 6);
    expect_xyz(l, 0, -1, 1, -1);
    expect_xyz(l, 2, 1, -1, -1);
    expect_xyz(l, 3, -1, 1, 1);
    expect_xyz(l, 4, 1, -1, 1);
    expect_xyz(l, 5, -1, -1, 1);
    sky_layout_free(l);
    expect_round_trip(fx, spec);
}

static const bad_file xlights_bad[] = {
    {"1,,2\n,3,\n5,,5\n", "node 5 is at line 3, column 1 and at line 3, column 3"},
    {"1,,2\n,4,\n", "node 3 is missing: the grid numbers nodes 1 to 4"},
    {"1,x\n", "line 1, column 2: \"x\" is not a node number"},
    {"1,0\n", "line 1, column 2: \"0\""},
    {"1,-3\n", "line 1, column 2"},
    {"1,99999999999\n", "line 1, column 2"},
    {"1\n,,999999\n", "node 2 is missing"},
    {",,\n\n", "no node numbers"},
    {"16777216\n", "node 1 is missing: the grid numbers nodes 1 to 16777216"},
    {"<custommodel name=\"a\"/>", "without a CustomModel"},
    {"<custommodel CustomModel=\"1,2|2\"/>",
     "node 2 is at layer 1, row 1, column 2 and at layer 2, row 1, column 1"},
};

static void test_xlights_errors(void **state) {
    EXPECT_ERRORS(*state, "xlights", xlights_bad);
}

/* ------------------------------------------------------------------ CSV */

static void test_csv(void **state) {
    fixture *fx = *state;
    char spec[300];
    write_file(fx, "csv", "plain.csv", "# x, y, z in cm\n0,0,0\n10,0,0\n\n0,0,20\n", spec,
               sizeof spec);
    sky_layout *l = make(spec);
    assert_int_equal(l->led_count, 3);
    assert_int_equal(l->strip_count, 1);
    expect_xyz(l, 0, -0.5f, 0, -1);
    expect_xyz(l, 1, 0.5f, 0, -1);
    expect_xyz(l, 2, -0.5f, 0, 1);
    sky_layout_free(l);
    /* a header in any order; strips and indices out of file order */
    write_file(fx, "csv", "wired.csv",
               "Index,Strip,X,Y\n1,1,3,0\n0,1,2,0\n0,0,0,0\n2,1,4,0\n1,0,1,0\n", spec, sizeof spec);
    l = make(spec);
    assert_int_equal(l->strip_count, 2);
    assert_int_equal(l->strip_sizes[0], 2);
    assert_int_equal(l->strip_sizes[1], 3);
    for (uint32_t i = 0; i < 5; i++) expect_xyz(l, i, -1 + 0.5f * (float)i, 0, 0);
    sky_layout_free(l);
    expect_round_trip(fx, spec);
    /* strip without index: file order within each strip */
    write_file(fx, "csv", "strips.csv", "strip,x,y\n1,5,0\n0,1,0\n1,3,0\n", spec, sizeof spec);
    l = make(spec);
    assert_int_equal(l->strip_sizes[0], 1);
    expect_xyz(l, 0, -1, 0, 0);
    expect_xyz(l, 1, 1, 0, 0);
    expect_xyz(l, 2, 0, 0, 0);
    sky_layout_free(l);
}

static const bad_file csv_bad[] = {
    {"", "no LEDs"},
    {"0,0\n1,nan\n", ":2: y \"nan\" must be a finite"},
    {"0,0\n1,2,3\n", ":2: 3 fields, the first line has 2"},
    {"0,0,0,0\n", ":1: 4 fields without a header"},
    {"x,y,colour\n0,0,red\n", ":1: column 3 \"colour\" is unknown"},
    {"x,x,y\n", "column 2 \"x\" is named twice"},
    {"x,z\n0,0\n", "names no y column"},
    {"x,y,index\n0,0,0\n1,1,0\n", ":3: strip 0, index 0 again (also on line 2)"},
    {"x,y,index\n0,0,0\n1,1,2\n", "strip 0 has no LED with index 1 (line 3 has index 2)"},
    {"x,y,strip\n0,0,0\n1,1,2\n", "no LED on strip 1"},
    {"x,y,strip\n0,0,0.5\n", ":2: strip \"0.5\" must be a whole number"},
    {"x,y,index\n0,0,-1\n", ":2: index \"-1\""},
};

static void test_csv_errors(void **state) {
    EXPECT_ERRORS(*state, "csv", csv_bad);
}

/* ----------------------------------------------------- shared behaviour */

static void test_import_errors(void **state) {
    fixture *fx = *state;
    char err[512] = "";
    sky_layout *l = NULL;
    assert_int_equal(sky_layout_create("wled:", &l, err, sizeof err), SKY_ERR_FORMAT);
    assert_non_null(strstr(err, "expected a file name after \"wled:\""));
    assert_int_equal(sky_layout_create("csv:/nonexistent/x.csv", &l, err, sizeof err), SKY_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/x.csv"));
    /* a NUL byte: a binary file, not a map */
    char spec[300], path[256];
    snprintf(path, sizeof path, "%s/nul.csv", fx->dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite("0,0\n\0,1\n", 1, 8, f), 8);
    assert_int_equal(fclose(f), 0);
    snprintf(spec, sizeof spec, "csv:%s", path);
    assert_int_equal(sky_layout_create(spec, &l, err, sizeof err), SKY_ERR_FORMAT);
    assert_non_null(strstr(err, "NUL byte"));
    assert_null(l);
}

/* The built-in kinds export their positions: a grid reaches +-1 and so loads
 * back unchanged (a disc's outermost LEDs sit inside the unit circle, and a
 * map of them is scaled out to reach it). */
static void test_export_builtin(void **state) {
    fixture *fx = *state;
    expect_round_trip(fx, "grid:4x3");
    expect_round_trip(fx, "strip:7");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pixelblaze, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pixelblaze_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wled_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xlights, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xlights_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_builtin, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
