/*
 * fuzz_pictures.c - libFuzzer target: the picture inputs' openers, on bad
 * files. Input: one selector byte (even: an image, odd: a video), then the
 * file. An image goes through sky_image_decode (PNG by libpng, JPEG by
 * libjpeg-turbo), a video through the demuxer and decoder as video("...")
 * opens it (pics_video_probe_memory: libavformat from memory, its first
 * frame). Checked beyond "no crash": a failure has a message; a decoded
 * image has a size within the limits and every pixel is read (so ASan sees
 * a short buffer), and it goes through the picture block (mip levels) and
 * the evaluator's sampler at its corners and centre, which must give
 * channels in [0, 1].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "picture_sample.h"
#include "pictures_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FAIL(...)                                  \
    do {                                                \
        fprintf(stderr, "fuzz_pictures: " __VA_ARGS__); \
        fputc('\n', stderr);                            \
        abort();                                        \
    } while (0)

/* A decoded image: its block at a footprint from the selector, sampled. */
static void fuzz_image_block(const uint8_t *rgb, uint32_t w, uint32_t h, uint8_t selector) {
    double footprint = (selector >> 1) / 128.0; /* 0 .. ~1: every level choice */
    size_t words = sky_picture_block_words(1, &w, &h, footprint);
    if (words == 0) FUZZ_FAIL("a %u x %u image has no block", w, h);
    uint32_t *block = malloc(words * sizeof *block);
    if (!block) return;
    if (sky_picture_block_init(block, words, 1, &w, &h, footprint) != SKY_OK ||
        sky_picture_block_put(block, 0, rgb, (size_t)w * 3, w, h) != SKY_OK)
        FUZZ_FAIL("a %u x %u image did not fit its own block", w, h);
    static const float at[][2] = {{0, 0}, {1, 1}, {0.5f, 0.5f}, {-3, 7}, {1, 0}};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++)
        for (uint32_t c = 0; c < 3; c++) {
            float v = picture_sample(block, 0, c, at[k][0], at[k][1]);
            if (!(v >= 0.0f && v <= 1.0f)) FUZZ_FAIL("sample %g out of [0, 1]", (double)v);
        }
    free(block);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t selector = data[0];
    data++;
    size--;
    char error[256] = "";
    if (selector % 2 == 0) {
        uint8_t *rgb = NULL;
        uint32_t w = 0, h = 0;
        sky_status st = sky_image_decode(data, size, &rgb, &w, &h, error, sizeof error);
        if (st != SKY_OK) {
            if (!error[0]) FUZZ_FAIL("image refused without a message (%s)", sky_status_str(st));
            if (rgb) FUZZ_FAIL("a refused image left pixels");
            return 0;
        }
        if (!rgb || w == 0 || h == 0 || w > SKY_PICTURE_MAX_SIDE || h > SKY_PICTURE_MAX_SIDE)
            FUZZ_FAIL("decoded %u x %u", w, h);
        unsigned sum = 0;
        for (size_t i = 0; i < (size_t)w * h * 3; i++) sum += rgb[i];
        (void)sum;
        fuzz_image_block(rgb, w, h, selector);
        free(rgb);
        return 0;
    }
    sky_status st = pics_video_probe_memory(data, size, error, sizeof error);
    if (st != SKY_OK && !error[0])
        FUZZ_FAIL("video refused without a message (%s)", sky_status_str(st));
    return 0;
}
