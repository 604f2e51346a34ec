/*
 * frame_test_util.h - helpers shared by the frame file tests: a private
 * temporary directory per test, the pixel pattern every test writer uses
 * (every byte derived from the frame number, so a torn frame -- bytes of two
 * frames mixed -- fails the check), and a writer with a simple layout.
 */
#ifndef SKY_FRAME_TEST_UTIL_H
#define SKY_FRAME_TEST_UTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sky/frame.h"

/* A fresh directory under /dev/shm (tmpfs, like production) or /tmp. */
static inline void ft_tempdir(char *dir, size_t len) {
    const char *bases[] = {"/dev/shm", "/tmp"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(dir, len, "%s/skyframe-test-XXXXXX", bases[i]);
        if (mkdtemp(dir)) return;
    }
    perror("mkdtemp");
    abort();
}

/* Removes the flat directory made by ft_tempdir and everything in it. */
static inline void ft_rmtree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0) rmdir(path);
    }
    closedir(d);
    rmdir(dir);
}

/* splitmix64: a frame number becomes 8 unrelated bytes. */
static inline uint64_t ft_mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static inline uint8_t ft_pixel(uint64_t mix, size_t j) {
    return (uint8_t)((mix >> (8 * (j & 7))) ^ (j * 31u));
}

/* The (j * 31) bytes as little-endian words, cached: the pattern of a frame
 * is then one XOR per 8 bytes, fast enough for flat-out writers even in a
 * sanitizer build. Byte j of word j / 8 is ft_pixel(mix, j) ^ mix's byte. */
static inline const uint64_t *ft_base_words(size_t n) {
    static uint64_t *base;
    static size_t base_bytes;
    if (n > base_bytes) {
        size_t bytes = (n + 7) / 8 * 8;
        free(base);
        base = calloc(bytes / 8, 8);
        if (!base) abort();
        for (size_t j = 0; j < bytes; j++)
            base[j / 8] |= (uint64_t)(uint8_t)(j * 31u) << (8 * (j & 7));
        base_bytes = bytes;
    }
    return base;
}

static inline void ft_fill(uint8_t *p, size_t n, uint64_t frame) {
    uint64_t mix = ft_mix(frame);
    const uint64_t *base = ft_base_words(n);
    size_t words = n / 8;
    for (size_t w = 0; w < words; w++) {
        uint64_t v = mix ^ base[w];
        memcpy(p + 8 * w, &v, 8);
    }
    for (size_t j = words * 8; j < n; j++) p[j] = ft_pixel(mix, j);
}

/* Index of the first byte that is not frame `frame`'s, or -1. */
static inline long ft_check(const uint8_t *p, size_t n, uint64_t frame) {
    uint64_t mix = ft_mix(frame);
    const uint64_t *base = ft_base_words(n);
    size_t words = n / 8;
    for (size_t w = 0; w < words; w++) {
        uint64_t v;
        memcpy(&v, p + 8 * w, 8);
        if (v != (mix ^ base[w])) {
            for (size_t j = 8 * w;; j++)
                if (p[j] != ft_pixel(mix, j)) return (long)j;
        }
    }
    for (size_t j = words * 8; j < n; j++)
        if (p[j] != ft_pixel(mix, j)) return (long)j;
    return -1;
}

/* A writer for `leds` LEDs in `strips` equal strips on one line (positions
 * spread over [-1, 1], y and z cycling through -0.5, 0, 0.5 and 0.5, 0, -0.5).
 * Returns the status; the message goes to stderr. */
static inline sky_status ft_writer(const char *path, uint32_t leds, uint32_t strips, uint32_t slots,
                                   sky_frame_writer **w) {
    uint32_t *sizes = calloc(strips, sizeof *sizes);
    float *xy = calloc((size_t)leds * 2, sizeof *xy), *z = calloc(leds, sizeof *z);
    if (!sizes || !xy || !z) abort();
    for (uint32_t s = 0; s < strips; s++) sizes[s] = leds / strips + (s < leds % strips);
    for (uint32_t i = 0; i < leds; i++) {
        xy[2 * i] = leds > 1 ? -1.0f + 2.0f * (float)i / (float)(leds - 1) : 0.0f;
        xy[2 * i + 1] = (float)(i % 3) * 0.5f - 0.5f;
        z[i] = 0.5f - (float)(i % 3) * 0.5f;
    }
    sky_frame_writer_options o = {.path = path,
                                  .led_count = leds,
                                  .strip_count = strips,
                                  .strip_sizes = sizes,
                                  .positions = xy,
                                  .positions_z = z,
                                  .slot_count = slots,
                                  .fps_nominal = 60,
                                  .layout = "strip:test"};
    char err[512];
    sky_status st = sky_frame_writer_create(&o, w, err, sizeof err);
    if (st != SKY_OK) fprintf(stderr, "ft_writer: %s\n", err);
    free(sizes);
    free(xy);
    free(z);
    return st;
}

/* Publishes the next frame with the test pattern; returns its number. */
static inline uint64_t ft_publish(sky_frame_writer *w) {
    uint64_t f = 0;
    uint8_t *slot = sky_frame_writer_begin(w, &f);
    ft_fill(slot, (size_t)sky_frame_writer_info(w)->led_count * 3, f);
    sky_frame_writer_publish(w);
    return f;
}

static inline void ft_sleep_ms(unsigned ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#endif
