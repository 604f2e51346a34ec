/*
 * test_layout_param.c - the parametric maps of frame/layout_param.c: for each
 * shape the LED and strip counts, the exact points in the file's units (the
 * ends of a line, a ring's first LED and direction, the bottom and top of a
 * spiral, cylinder columns), panel wiring (serpentine, the start corner, by
 * rows or columns), "reverse", strip order across pieces, a whole file
 * through sky_layout_create, and the errors naming the piece and key.
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

#include "layout_internal.h"
#include "sky/layout.h"

#define EPS 1e-9

/* The points of a parametric map given as JSON text. */
static sky_status param(const char *json, layout_points *pts, char *err, size_t err_len) {
    json_object *root;
    memset(pts, 0, sizeof *pts);
    sky_status st = layout_json_parse(json, strlen(json), "t.json", &root, err, err_len);
    if (st == SKY_OK) st = layout_param_points(root, pts, "t.json", err, err_len);
    json_object_put(root);
    return st;
}

static void param_ok(const char *json, layout_points *pts) {
    char err[512] = "";
    if (param(json, pts, err, sizeof err) != SKY_OK) fail_msg("%s: %s", json, err);
}

static void expect_point(const layout_points *pts, size_t i, double x, double y, double z) {
    const double *p = pts->xyz + 3 * i;
    if (fabs(p[0] - x) > EPS || fabs(p[1] - y) > EPS || fabs(p[2] - z) > EPS)
        fail_msg("LED %zu at (%.12g, %.12g, %.12g), expected (%.12g, %.12g, %.12g)", i, p[0], p[1],
                 p[2], x, y, z);
}

static void expect_error(const char *json, const char *expect) {
    layout_points pts;
    char err[512] = "";
    sky_status st = param(json, &pts, err, sizeof err);
    layout_points_free(&pts);
    if (st == SKY_OK || !strstr(err, expect))
        fail_msg("%s: status %d, message \"%s\" (expected \"%s\")", json, st, err, expect);
}

static void test_line(void **state) {
    (void)state;
    layout_points p;
    param_ok("{\"strips\": [{\"shape\": \"line\", \"from\": [0, 0, 0], \"to\": [3, 6, 9], "
             "\"leds\": 4}]}",
             &p);
    assert_int_equal(p.leds, 4);
    assert_int_equal(p.strip_count, 1);
    expect_point(&p, 0, 0, 0, 0); /* both ends carry an LED */
    expect_point(&p, 1, 1, 2, 3);
    expect_point(&p, 3, 3, 6, 9);
    layout_points_free(&p);
    param_ok("{\"strips\": [{\"shape\": \"line\", \"from\": [0, 0], \"to\": [3, 0], \"leds\": 4, "
             "\"reverse\": true}]}",
             &p);
    expect_point(&p, 0, 3, 0, 0); /* wired from the other end */
    expect_point(&p, 3, 0, 0, 0);
    layout_points_free(&p);
}

static void test_ring(void **state) {
    (void)state;
    layout_points p;
    param_ok("{\"strips\": [{\"shape\": \"ring\", \"centre\": [1, 1, 2], \"radius\": 2, \"leds\": "
             "4, \"start\": 90}]}",
             &p);
    assert_int_equal(p.leds, 4);
    expect_point(&p, 0, 1, 3, 2);  /* 90 degrees: straight up */
    expect_point(&p, 1, -1, 1, 2); /* counter-clockwise */
    expect_point(&p, 3, 3, 1, 2);
    layout_points_free(&p);
    param_ok("{\"strips\": [{\"shape\": \"ring\", \"radius\": 1, \"leds\": 4, \"clockwise\": "
             "true}]}",
             &p);
    expect_point(&p, 0, 1, 0, 0);
    expect_point(&p, 1, 0, -1, 0);
    layout_points_free(&p);
}

static void test_spiral(void **state) {
    (void)state;
    layout_points p;
    /* a wrapped tree: 2 turns from radius 2 at the foot to a point at the top */
    param_ok("{\"strips\": [{\"shape\": \"spiral\", \"radius\": 2, \"top_radius\": 0, \"height\": "
             "4, \"turns\": 2, \"leds\": 9}]}",
             &p);
    assert_int_equal(p.leds, 9);
    expect_point(&p, 0, 2, 0, 0);
    expect_point(&p, 2, -1.5, 0, 1); /* half a turn, a quarter of the way up */
    expect_point(&p, 4, 1, 0, 2);
    expect_point(&p, 8, 0, 0, 4);
    layout_points_free(&p);
}

static void test_cylinder(void **state) {
    (void)state;
    layout_points p;
    param_ok("{\"strips\": [{\"shape\": \"cylinder\", \"radius\": 1, \"height\": 2, \"columns\": "
             "4, \"leds\": 3, \"serpentine\": true}]}",
             &p);
    assert_int_equal(p.leds, 12);
    assert_int_equal(p.strip_count, 4);
    for (int s = 0; s < 4; s++) assert_int_equal(p.strips[s], 3);
    expect_point(&p, 0, 1, 0, 0); /* column 0 upwards */
    expect_point(&p, 2, 1, 0, 2);
    expect_point(&p, 3, 0, 1, 2); /* column 1 downwards (serpentine) */
    expect_point(&p, 5, 0, 1, 0);
    expect_point(&p, 6, -1, 0, 0);
    layout_points_free(&p);
}

static void test_panel(void **state) {
    (void)state;
    layout_points p;
    /* 3 x 2, serpentine by rows from the top left: row 0 left to right, row 1 back */
    param_ok("{\"strips\": [{\"shape\": \"panel\", \"columns\": 3, \"rows\": 2}]}", &p);
    assert_int_equal(p.leds, 6);
    assert_int_equal(p.strip_count, 2);
    expect_point(&p, 0, -1, 0.5, 0);
    expect_point(&p, 2, 1, 0.5, 0);
    expect_point(&p, 3, 1, -0.5, 0);
    expect_point(&p, 5, -1, -0.5, 0);
    layout_points_free(&p);
    /* from the bottom right, by columns, not serpentine: every column upwards */
    param_ok("{\"strips\": [{\"shape\": \"panel\", \"columns\": 3, \"rows\": 2, \"spacing\": 2, "
             "\"start\": \"bottom-right\", \"by\": \"columns\", \"serpentine\": false}]}",
             &p);
    assert_int_equal(p.strip_count, 3);
    expect_point(&p, 0, 2, -1, 0);
    expect_point(&p, 1, 2, 1, 0);
    expect_point(&p, 2, 0, -1, 0);
    expect_point(&p, 5, -2, 1, 0);
    layout_points_free(&p);
}

static void test_disc_and_order(void **state) {
    (void)state;
    layout_points p;
    /* strips follow the pieces: a disc's spokes first, then a line */
    param_ok("{\"comment\": \"c\", \"strips\": [{\"shape\": \"disc\", \"strips\": 4, \"leds\": 2, "
             "\"radius\": 4}, {\"shape\": \"points\", \"points\": [[9, 9], [9, 8, 7]]}]}",
             &p);
    assert_int_equal(p.strip_count, 5);
    assert_int_equal(p.leds, 10);
    expect_point(&p, 0, 1, 0, 0); /* radius 4 * 0.25 */
    expect_point(&p, 1, 3, 0, 0);
    expect_point(&p, 2, 0, 1, 0);
    expect_point(&p, 8, 9, 9, 0);
    expect_point(&p, 9, 9, 8, 7);
    layout_points_free(&p);
}

/* A file through sky_layout_create: parametric maps are map: files. */
static void test_through_layout(void **state) {
    (void)state;
    char path[] = "/tmp/skyparam-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *json = "{\"strips\": [{\"shape\": \"line\", \"from\": [0, 0, 0], \"to\": [0, 0, "
                       "8], \"leds\": 3}, {\"shape\": \"ring\", \"radius\": 2, \"leds\": 8}]}";
    assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    char spec[64], err[512] = "";
    snprintf(spec, sizeof spec, "map:%s", path);
    sky_layout *l = NULL;
    sky_status st = sky_layout_create(spec, &l, err, sizeof err);
    unlink(path);
    if (st != SKY_OK) fail_msg("%s", err);
    assert_int_equal(l->led_count, 11);
    assert_int_equal(l->strip_count, 2);
    /* z spans 0..8, the longest side: scale 1/4, centred at z = 4 */
    assert_true(fabsf(l->z[0] + 1) < 1e-6f && fabsf(l->z[2] - 1) < 1e-6f);
    assert_true(fabsf(l->xy[2 * 3] - 0.5f) < 1e-6f); /* the ring at radius 2 / 4 */
    sky_layout_free(l);
}

static void test_errors(void **state) {
    (void)state;
    expect_error("{\"strips\": []}", "expected {\"strips\": [...]}");
    expect_error("{\"strip\": []}", "unknown key \"strip\"");
    expect_error("{\"strips\": [{\"shape\": \"star\"}]}", "strips[0]: expected an object with");
    expect_error("{\"strips\": [7]}", "strips[0]: expected an object with");
    expect_error("{\"strips\": [{\"shape\": \"line\", \"from\": [0, 0], \"leds\": 3}]}",
                 "strips[0] (line): \"to\" is missing");
    expect_error("{\"strips\": [{\"shape\": \"line\", \"from\": [0, 0], \"to\": [1], \"leds\": "
                 "3}]}",
                 "\"to\" must be [x, y] or [x, y, z]");
    expect_error("{\"strips\": [{\"shape\": \"ring\", \"radius\": 0, \"leds\": 3}]}",
                 "\"radius\" must be a finite number > 0");
    expect_error("{\"strips\": [{\"shape\": \"ring\", \"radius\": 1, \"leds\": 2.5}]}",
                 "\"leds\" must be a whole number from 1");
    expect_error("{\"strips\": [{\"shape\": \"ring\", \"radius\": 1, \"leds\": 3, \"radus\": 2}]}",
                 "\"radus\" is not a key of this shape");
    expect_error("{\"strips\": [{\"shape\": \"ring\", \"radius\": 1, \"leds\": 3}, {\"shape\": "
                 "\"panel\", \"columns\": 2, \"rows\": 2, \"start\": \"middle\"}]}",
                 "strips[1] (panel): \"start\" must be one of \"top-left\"");
    expect_error("{\"strips\": [{\"shape\": \"panel\", \"columns\": 65536, \"rows\": 65536}]}",
                 "more than the limit");
    expect_error("{\"strips\": [{\"shape\": \"disc\", \"strips\": 2, \"leds\": 2, \"inner\": 1}]}",
                 "\"inner\" must be below 1");
    expect_error("{\"strips\": [{\"shape\": \"line\", \"from\": [0, 0], \"to\": [1, 1], \"leds\": "
                 "2, \"reverse\": 1}]}",
                 "\"reverse\" must be true or false");
    expect_error("{\"strips\": [{\"shape\": \"points\", \"points\": [[0, 0], [1, NaN]]}]}",
                 "\"points\" element 1");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line),           cmocka_unit_test(test_ring),
        cmocka_unit_test(test_spiral),         cmocka_unit_test(test_cylinder),
        cmocka_unit_test(test_panel),          cmocka_unit_test(test_disc_and_order),
        cmocka_unit_test(test_through_layout), cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
