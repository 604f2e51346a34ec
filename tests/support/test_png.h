/*
 * test_png.h - PNG files written by the picture tests (libpng's simplified
 * API): a generated picture, or a small one of one colour. One writer, so
 * the suites that make pictures for the pattern side (test_pictures,
 * test_pictures_fade, cli_pictures, cli_pictures_fade) write them alike.
 */
#ifndef SKY_TESTS_TEST_PNG_H
#define SKY_TESTS_TEST_PNG_H

#include <stdbool.h>
#include <stdint.h>

/* The colour of pixel (x, y) of a w x h picture, as 0xRRGGBB. */
typedef uint32_t (*test_png_pixel_fn)(uint32_t x, uint32_t y, uint32_t w, uint32_t h);

/* Writes a w x h RGB PNG at `path`; false when memory or the file fails. */
bool test_png_write(const char *path, uint32_t w, uint32_t h, test_png_pixel_fn pixel);
/* An 8 x 8 PNG of one colour. */
bool test_png_write_solid(const char *path, uint8_t r, uint8_t g, uint8_t b);

#endif
