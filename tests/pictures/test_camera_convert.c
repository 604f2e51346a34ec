/*
 * test_camera_convert.c - a camera's YUYV frames into RGB8 (pictures/convert.c),
 * on buffers generated here (no camera is attached to the test machines):
 * the BT.601 limited-range anchors (black, white, the primaries), the
 * clamping beyond them, the row stride and the pairing of chroma.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pictures_int.h"

/* One 2-pixel YUYV pair of the given Y0, U, Y1, V. */
static void convert_pair(uint8_t y0, uint8_t u, uint8_t y1, uint8_t v, uint8_t out[6]) {
    uint8_t in[4] = {y0, u, y1, v};
    pics_yuyv_to_rgb(in, 4, 2, 1, out);
}

static void expect_near(const uint8_t *got, int r, int g, int b) {
    if (abs(got[0] - r) > 1 || abs(got[1] - g) > 1 || abs(got[2] - b) > 1)
        fail_msg("got %u %u %u, want %d %d %d", got[0], got[1], got[2], r, g, b);
}

static void test_anchors(void **state) {
    (void)state;
    uint8_t out[6];
    convert_pair(16, 128, 235, 128, out); /* video black and white */
    expect_near(out, 0, 0, 0);
    expect_near(out + 3, 255, 255, 255);
    convert_pair(81, 90, 81, 240, out); /* BT.601 red */
    expect_near(out, 255, 0, 0);
    convert_pair(145, 54, 145, 34, out); /* green */
    expect_near(out, 0, 255, 0);
    convert_pair(41, 240, 41, 110, out); /* blue */
    expect_near(out, 0, 0, 255);
    convert_pair(0, 128, 255, 128, out); /* beyond the range: clamped, not wrapped */
    expect_near(out, 0, 0, 0);
    expect_near(out + 3, 255, 255, 255);
}

static void test_stride_and_pairs(void **state) {
    (void)state;
    /* 4 x 2 pixels in rows of 12 bytes (4 of padding): row 1 is white, row 0 grey. */
    uint8_t in[24];
    memset(in, 0xEE, sizeof in); /* padding that must not be read as pixels */
    for (int x = 0; x < 4; x++) {
        in[2 * x] = 126;      /* Y, row 0 */
        in[12 + 2 * x] = 235; /* Y, row 1 */
        in[2 * x + 1] = 128;  /* U or V */
        in[12 + 2 * x + 1] = 128;
    }
    uint8_t out[4 * 2 * 3];
    pics_yuyv_to_rgb(in, 12, 4, 2, out);
    for (int x = 0; x < 4; x++) {
        expect_near(out + 3 * x, 128, 128, 128);
        expect_near(out + 12 + 3 * x, 255, 255, 255);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anchors),
        cmocka_unit_test(test_stride_and_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
