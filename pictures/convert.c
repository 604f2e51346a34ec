/*
 * convert.c - camera frames into RGB8. YUYV 4:2:2 (what nearly every USB
 * camera offers uncompressed) with the BT.601 limited-range matrix, in
 * integers (8 fractional bits), the result clamped to 0..255:
 *   c = y - 16, d = u - 128, e = v - 128
 *   r = (298 c + 409 e + 128) >> 8
 *   g = (298 c - 100 d - 208 e + 128) >> 8
 *   b = (298 c + 516 d + 128) >> 8
 * MJPEG frames go through sky_image_decode (image.c).
 */
#include "pictures_int.h"

static uint8_t convert_clamp(int v) {
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void convert_pixel(int y, int d, int e, uint8_t *out) {
    int c = y - 16;
    out[0] = convert_clamp((298 * c + 409 * e + 128) >> 8);
    out[1] = convert_clamp((298 * c - 100 * d - 208 * e + 128) >> 8);
    out[2] = convert_clamp((298 * c + 516 * d + 128) >> 8);
}

void pics_yuyv_to_rgb(const uint8_t *yuyv, size_t stride, uint32_t width, uint32_t height,
                      uint8_t *rgb) {
    for (uint32_t y = 0; y < height; y++) {
        const uint8_t *in = yuyv + (size_t)y * stride;
        uint8_t *out = rgb + (size_t)y * width * 3;
        for (uint32_t x = 0; x + 1 < width; x += 2, in += 4, out += 6) {
            int d = in[1] - 128, e = in[3] - 128;
            convert_pixel(in[0], d, e, out);
            convert_pixel(in[2], d, e, out + 3);
        }
    }
}
