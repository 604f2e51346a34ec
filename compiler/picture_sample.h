/*
 * picture_sample.h - pic(u, v): one channel of a picture of the picture block
 * (sky/picture.h), as the CPU evaluator computes it. shaders/sky_picture.glsl
 * (the shader) and shaders/sky_cpu.h (the CPU backend) spell the very same
 * formula, operation for operation, so the three agree to float rounding:
 *
 *   u, v clamped to [0, 1] (NaN: 0); per level of size w x h:
 *     px = u w - 0.5, py = v h - 0.5; x0 = floor(px), y0 = floor(py);
 *     ax = px - x0, ay = py - y0; x0, x0 + 1, y0, y0 + 1 clamped to the level;
 *     top = t00 + (t10 - t00) ax, bottom = t01 + (t11 - t01) ax,
 *     level = (top + (bottom - top) ay) / 255
 *   result = fine + (coarse - fine) weight
 *
 * The level choice and the weight are made once per picture on the host
 * (sky_picture_block_init), so no backend computes a logarithm per LED.
 */
#ifndef SKY_PICTURE_SAMPLE_H
#define SKY_PICTURE_SAMPLE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sky/picture.h"

static inline float picture_clamp01(float u) {
    return u > 0.0f ? (u < 1.0f ? u : 1.0f) : 0.0f; /* NaN fails both tests: 0 */
}

static inline float picture_texel(const uint32_t *block, uint32_t off, uint32_t w, int32_t x,
                                  int32_t y, uint32_t c) {
    return (float)((block[off + (uint32_t)y * w + (uint32_t)x] >> (8u * c)) & 255u);
}

static inline float picture_level(const uint32_t *block, uint32_t off, uint32_t w, uint32_t h,
                                  float u, float v, uint32_t c) {
    float px = u * (float)w - 0.5f, py = v * (float)h - 0.5f;
    float fx = floorf(px), fy = floorf(py);
    float ax = px - fx, ay = py - fy;
    int32_t wl = (int32_t)w - 1, hl = (int32_t)h - 1;
    int32_t x0 = (int32_t)fx, y0 = (int32_t)fy;
    int32_t x1 = x0 + 1 > wl ? wl : x0 + 1, y1 = y0 + 1 > hl ? hl : y0 + 1;
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    float t00 = picture_texel(block, off, w, x0, y0, c),
          t10 = picture_texel(block, off, w, x1, y0, c);
    float t01 = picture_texel(block, off, w, x0, y1, c),
          t11 = picture_texel(block, off, w, x1, y1, c);
    float top = t00 + (t10 - t00) * ax;
    float bottom = t01 + (t11 - t01) * ax;
    return (top + (bottom - top) * ay) / 255.0f;
}

/* Channel c of picture `index` at (u, v); 0 without a block or for an absent picture. */
static inline float picture_sample(const uint32_t *block, uint32_t index, uint32_t c, float u,
                                   float v) {
    if (!block || index >= block[0]) return 0.0f;
    const uint32_t *e = block + SKY_PICTURE_HEADER_WORDS + index * SKY_PICTURE_ENTRY_WORDS;
    if (e[0] == 0) return 0.0f;
    float weight;
    memcpy(&weight, &e[1], sizeof weight);
    u = picture_clamp01(u);
    v = picture_clamp01(v);
    float fine = picture_level(block, e[2], e[3], e[4], u, v, c);
    float coarse = picture_level(block, e[5], e[6], e[7], u, v, c);
    return fine + (coarse - fine) * weight;
}

#endif
