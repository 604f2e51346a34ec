/*
 * test_png.c - the picture tests' PNG writer (test_png.h).
 */
#include "test_png.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>

static bool png_write_rgb(const char *path, uint32_t w, uint32_t h, const uint8_t *rgb) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = w;
    img.height = h;
    img.format = PNG_FORMAT_RGB;
    return png_image_write_to_file(&img, path, 0, rgb, (png_int_32)(w * 3), NULL) != 0;
}

bool test_png_write(const char *path, uint32_t w, uint32_t h, test_png_pixel_fn pixel) {
    uint8_t *rgb = malloc((size_t)w * h * 3);
    if (!rgb) return false;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint32_t c = pixel(x, y, w, h);
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(c >> 16);
            p[1] = (uint8_t)(c >> 8);
            p[2] = (uint8_t)c;
        }
    bool ok = png_write_rgb(path, w, h, rgb);
    free(rgb);
    return ok;
}

bool test_png_write_solid(const char *path, uint8_t r, uint8_t g, uint8_t b) {
    uint8_t rgb[8 * 8 * 3];
    for (int i = 0; i < 64; i++) {
        rgb[3 * i] = r;
        rgb[3 * i + 1] = g;
        rgb[3 * i + 2] = b;
    }
    return png_write_rgb(path, 8, 8, rgb);
}
