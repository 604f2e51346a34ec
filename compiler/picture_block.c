/*
 * picture_block.c - the picture block of sky/picture.h: the layout's LED
 * footprint, the choice of two mip levels per picture, and the box-filtered
 * mip chain. The level choice lives here, on the host, once per picture and
 * layout, so that no backend takes a logarithm per LED and all of them read
 * the same two levels with the same weight (picture_sample.h).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sky/picture.h"

double sky_picture_footprint(const sky_layout_view *layout) {
    if (!layout || !layout->xy || layout->led_count < 2) return 0.0;
    double lo[2] = {DBL_MAX, DBL_MAX}, hi[2] = {-DBL_MAX, -DBL_MAX};
    for (uint32_t i = 0; i < layout->led_count; i++)
        for (int k = 0; k < 2; k++) {
            double c = layout->xy[2 * (size_t)i + (size_t)k];
            if (!isfinite(c)) continue;
            if (c < lo[k]) lo[k] = c;
            if (c > hi[k]) hi[k] = c;
        }
    if (lo[0] > hi[0] || lo[1] > hi[1]) return 0.0;
    double w = hi[0] - lo[0], h = hi[1] - lo[1];
    /* Below a thousandth of the other side the LEDs are one line: spacing along it. */
    double spacing = (w < 1e-3 * h || h < 1e-3 * w) ? fmax(w, h) / (layout->led_count - 1)
                                                    : sqrt(w * h / layout->led_count);
    return spacing / 2.0; /* [-1, 1] spans u in [0, 1]: half the units */
}

/* Mip levels of a w x h picture: down to a side of 1. */
static uint32_t block_levels(uint32_t w, uint32_t h) {
    uint32_t side = w > h ? w : h, levels = 1;
    while (side > 1) {
        side >>= 1;
        levels++;
    }
    return levels;
}

static uint32_t level_side(uint32_t side, uint32_t level) {
    uint32_t s = side >> level;
    return s ? s : 1;
}

/* The finer level sampled, and the coarser one's weight, for this footprint. */
static uint32_t block_choose(uint32_t w, uint32_t h, double footprint, float *weight) {
    uint32_t levels = block_levels(w, h);
    double texels = footprint * (w > h ? w : h);
    double lod = texels > 1.0 ? log2(texels) : 0.0;
    if (lod > levels - 1) lod = levels - 1;
    uint32_t fine = (uint32_t)floor(lod);
    *weight = fine + 1 < levels ? (float)(lod - fine) : 0.0f;
    return fine;
}

static bool block_size_ok(uint32_t w, uint32_t h) {
    return (w == 0 && h == 0) ||
           (w > 0 && h > 0 && w <= SKY_PICTURE_MAX_SIDE && h <= SKY_PICTURE_MAX_SIDE);
}

size_t sky_picture_block_words(uint32_t count, const uint32_t *widths, const uint32_t *heights,
                               double footprint) {
    if (count > SKY_MAX_PICTURES || (count && (!widths || !heights))) return 0;
    size_t words = SKY_PICTURE_HEADER_WORDS + (size_t)count * SKY_PICTURE_ENTRY_WORDS;
    for (uint32_t i = 0; i < count; i++) {
        if (!block_size_ok(widths[i], heights[i])) return 0;
        if (widths[i] == 0) continue;
        float weight;
        uint32_t fine = block_choose(widths[i], heights[i], footprint, &weight);
        for (uint32_t l = fine; l <= fine + 1; l++)
            words += (size_t)level_side(widths[i], l) * level_side(heights[i], l);
    }
    return words;
}

size_t sky_picture_block_bound(uint32_t count, double footprint) {
    double max = SKY_PICTURE_MAX_SIDE;
    double fine = footprint > 0 ? fmin(max, 2.0 / footprint + 1) : max;
    double coarse = footprint > 0 ? fmin(max, 1.0 / footprint + 1) : max;
    double texels = ceil(fine) * ceil(fine) + ceil(coarse) * ceil(coarse);
    return SKY_PICTURE_HEADER_WORDS + (size_t)count * (SKY_PICTURE_ENTRY_WORDS + (size_t)texels);
}

sky_status sky_picture_block_init(uint32_t *block, size_t words, uint32_t count,
                                  const uint32_t *widths, const uint32_t *heights,
                                  double footprint) {
    if (!block || !isfinite(footprint) || footprint < 0) return SKY_ERR_INVALID_ARG;
    size_t need = sky_picture_block_words(count, widths, heights, footprint);
    if (need == 0 || need > words || need > UINT32_MAX) return SKY_ERR_INVALID_ARG;
    memset(block, 0, need * sizeof *block);
    block[0] = count;
    block[1] = (uint32_t)need;
    block[2] = SKY_PICTURE_MAGIC;
    size_t at = SKY_PICTURE_HEADER_WORDS + (size_t)count * SKY_PICTURE_ENTRY_WORDS;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t *e = block + SKY_PICTURE_HEADER_WORDS + i * SKY_PICTURE_ENTRY_WORDS;
        if (widths[i] == 0) continue;
        float weight;
        uint32_t fine = block_choose(widths[i], heights[i], footprint, &weight);
        memcpy(&e[1], &weight, sizeof weight);
        for (uint32_t k = 0; k < 2; k++) {
            uint32_t w = level_side(widths[i], fine + k), h = level_side(heights[i], fine + k);
            e[2 + 3 * k] = (uint32_t)at;
            e[3 + 3 * k] = w;
            e[4 + 3 * k] = h;
            at += (size_t)w * h;
        }
    }
    return SKY_OK;
}

/* One level down: each texel the rounded mean of 2 x 2, the last row/column repeated. */
static void block_halve(const uint32_t *src, uint32_t w, uint32_t h, uint32_t *dst) {
    uint32_t w2 = level_side(w, 1), h2 = level_side(h, 1);
    for (uint32_t y = 0; y < h2; y++) {
        uint32_t y0 = 2 * y < h ? 2 * y : h - 1, y1 = 2 * y + 1 < h ? 2 * y + 1 : h - 1;
        for (uint32_t x = 0; x < w2; x++) {
            uint32_t x0 = 2 * x < w ? 2 * x : w - 1, x1 = 2 * x + 1 < w ? 2 * x + 1 : w - 1;
            uint32_t a = src[(size_t)y0 * w + x0], b = src[(size_t)y0 * w + x1];
            uint32_t c = src[(size_t)y1 * w + x0], d = src[(size_t)y1 * w + x1];
            uint32_t out = 0;
            for (uint32_t k = 0; k < 24; k += 8) {
                uint32_t sum =
                    ((a >> k) & 255) + ((b >> k) & 255) + ((c >> k) & 255) + ((d >> k) & 255);
                out |= ((sum + 2) / 4) << k;
            }
            dst[(size_t)y * w2 + x] = out;
        }
    }
}

/* block_halve straight from RGB8 rows (level 0 is never packed when it is not sampled). */
static void block_halve_rgb(const uint8_t *rgb, size_t stride, uint32_t w, uint32_t h,
                            uint32_t *dst) {
    uint32_t w2 = level_side(w, 1), h2 = level_side(h, 1);
    for (uint32_t y = 0; y < h2; y++) {
        const uint8_t *r0 = rgb + (size_t)(2 * y < h ? 2 * y : h - 1) * stride;
        const uint8_t *r1 = rgb + (size_t)(2 * y + 1 < h ? 2 * y + 1 : h - 1) * stride;
        for (uint32_t x = 0; x < w2; x++) {
            size_t x0 = 3 * (size_t)(2 * x < w ? 2 * x : w - 1);
            size_t x1 = 3 * (size_t)(2 * x + 1 < w ? 2 * x + 1 : w - 1);
            uint32_t out = 0;
            for (uint32_t k = 0; k < 3; k++) {
                uint32_t sum = (uint32_t)r0[x0 + k] + r0[x1 + k] + r1[x0 + k] + r1[x1 + k];
                out |= ((sum + 2) / 4) << (8 * k);
            }
            dst[(size_t)y * w2 + x] = out;
        }
    }
}

static void block_pack(const uint8_t *rgb, size_t stride, uint32_t w, uint32_t h, uint32_t *dst) {
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *row = rgb + (size_t)y * stride;
        for (uint32_t x = 0; x < w; x++)
            dst[(size_t)y * w + x] = (uint32_t)row[3 * x] | (uint32_t)row[3 * x + 1] << 8 |
                                     (uint32_t)row[3 * x + 2] << 16;
    }
}

sky_status sky_picture_block_put(uint32_t *block, uint32_t index, const uint8_t *rgb, size_t stride,
                                 uint32_t width, uint32_t height) {
    if (!block || !rgb || block[2] != SKY_PICTURE_MAGIC || index >= block[0])
        return SKY_ERR_INVALID_ARG;
    uint32_t *e = block + SKY_PICTURE_HEADER_WORDS + index * SKY_PICTURE_ENTRY_WORDS;
    uint32_t fine_w = e[3], fine_h = e[4];
    if (fine_w == 0 || width == 0 || height == 0 || stride < (size_t)width * 3)
        return SKY_ERR_INVALID_ARG;
    /* The level the entry was laid out for must be where this size lands. */
    uint32_t fine = 0;
    while (fine < 32 && (level_side(width, fine) != fine_w || level_side(height, fine) != fine_h))
        fine++;
    if (fine == 32 || level_side(width, fine + 1) != e[6] || level_side(height, fine + 1) != e[7])
        return SKY_ERR_INVALID_ARG;
    if (fine == 0) { /* level 0 itself is sampled */
        block_pack(rgb, stride, width, height, block + e[2]);
        block_halve(block + e[2], width, height, block + e[5]);
        e[0] = 1;
        return SKY_OK;
    }
    /* Levels 1 .. fine - 1 in scratch (the last of them into the block), two buffers. */
    size_t half = (size_t)level_side(width, 1) * level_side(height, 1);
    uint32_t *a = fine > 1 ? malloc(half * sizeof *a) : NULL;
    size_t quarter =
        (size_t)level_side(width, 2) * level_side(height, 2); /* level 2, b's largest */
    uint32_t *b = fine > 2 ? malloc(quarter * sizeof *b) : NULL;
    if ((fine > 1 && !a) || (fine > 2 && !b)) {
        free(a);
        free(b);
        return SKY_ERR_NOMEM;
    }
    uint32_t *level = fine == 1 ? block + e[2] : a;
    block_halve_rgb(rgb, stride, width, height, level);
    uint32_t w = level_side(width, 1), h = level_side(height, 1);
    for (uint32_t l = 1; l < fine; l++) {
        uint32_t *next = l + 1 == fine ? block + e[2] : (level == a ? b : a);
        block_halve(level, w, h, next);
        w = level_side(w, 1);
        h = level_side(h, 1);
        level = next;
    }
    block_halve(level, w, h, block + e[5]);
    free(a);
    free(b);
    e[0] = 1;
    return SKY_OK;
}

void sky_picture_block_clear(uint32_t *block, uint32_t index) {
    if (!block || block[2] != SKY_PICTURE_MAGIC || index >= block[0]) return;
    block[SKY_PICTURE_HEADER_WORDS + index * SKY_PICTURE_ENTRY_WORDS] = 0;
}
