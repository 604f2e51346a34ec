/*
 * fseq_independent.h - an FSEQ v2 reader and writer written for the tests
 * from the public description of the format (Cryptkeeper's fseq-file-format
 * notes and Falcon Player's FSEQ_Sequence_File_Format.txt), sharing no code
 * with libskyrecord, so that a bug in our writer's idea of the layout is not
 * mirrored by our reader.
 *
 * The reader decompresses every block with one-shot ZSTD_decompress into a
 * buffer of the block's frames; the writer lays a file out as xLights does
 * (a 10-frame first block, the rest in one, an empty index entry after
 * them, the `sp` variable, data offset rounded up to 4) or uncompressed.
 * Both abort the test on anything unexpected: they are oracles, not
 * production readers.
 */
#ifndef FSEQ_INDEPENDENT_H
#define FSEQ_INDEPENDENT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

__attribute__((unused)) static uint32_t ind_le(const uint8_t *p, int n) {
    uint32_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
__attribute__((unused)) static void ind_put(uint8_t *p, uint32_t v, int n) {
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

#define IND_FAIL(...)                                      \
    do {                                                   \
        fprintf(stderr, "independent FSEQ: " __VA_ARGS__); \
        fputc('\n', stderr);                               \
        abort();                                           \
    } while (0)

typedef struct ind_fseq {
    uint32_t channels, frames, step_ms;
    uint8_t *data; /* frames × channels */
} ind_fseq;

/* Reads a whole file from bytes; every frame decompressed up front. */
__attribute__((unused)) static ind_fseq ind_read(const uint8_t *f, size_t size) {
    ind_fseq s = {0};
    if (size < 32 || memcmp(f, "PSEQ", 4) != 0 || f[7] != 2) IND_FAIL("not an FSEQ v2 file");
    uint32_t data_offset = ind_le(f + 4, 2);
    s.channels = ind_le(f + 10, 4);
    s.frames = ind_le(f + 14, 4);
    s.step_ms = f[18];
    uint32_t type = f[20] & 0xf;
    uint32_t blocks = f[21] | (uint32_t)(f[20] >> 4) << 8;
    if (f[22] != 0) IND_FAIL("sparse ranges");
    s.data = malloc((size_t)s.frames * s.channels + 1);
    if (!s.data) IND_FAIL("out of memory");
    if (type == 0) {
        if ((uint64_t)data_offset + (uint64_t)s.frames * s.channels > size) IND_FAIL("short");
        memcpy(s.data, f + data_offset, (size_t)s.frames * s.channels);
        return s;
    }
    if (type != 1) IND_FAIL("compression %u", type);
    size_t at = data_offset, done = 0;
    for (uint32_t b = 0; b < blocks; b++) {
        uint32_t first = ind_le(f + 32 + 8 * b, 4), len = ind_le(f + 32 + 8 * b + 4, 4);
        if (len == 0) continue;
        if ((size_t)first * s.channels != done) IND_FAIL("block %u starts at frame %u", b, first);
        if (at + len > size) IND_FAIL("block %u past the end", b);
        size_t n =
            ZSTD_decompress(s.data + done, (size_t)s.frames * s.channels - done + 1, f + at, len);
        if (ZSTD_isError(n)) IND_FAIL("block %u: %s", b, ZSTD_getErrorName(n));
        done += n;
        at += len;
    }
    if (done != (size_t)s.frames * s.channels) IND_FAIL("%zu bytes of frames", done);
    return s;
}

/*
 * Writes `frames` frames as xLights lays out a file: zstd (level 1) blocks of
 * 10 frames then the rest, an empty index entry after them, or uncompressed
 * when `zstd` is 0. Returns the bytes (malloc'd), *size set.
 */
__attribute__((unused)) static uint8_t *ind_write(const uint8_t *data, uint32_t channels,
                                                  uint32_t frames, uint32_t step, int zstd,
                                                  size_t *size) {
    uint32_t firsts[2] = {0, 10};
    uint32_t nblocks = !zstd ? 0 : frames > 10 ? 2 : 1;
    uint32_t entries = zstd ? nblocks + 1 : 0;
    const char *sp = "independent test writer";
    uint32_t vars_at = 32 + 8 * entries;
    uint32_t data_offset = (vars_at + 4 + (uint32_t)strlen(sp) + 1 + 3) & ~3u;
    size_t cap = data_offset + ZSTD_compressBound((size_t)frames * channels) * 2 + 64;
    uint8_t *f = calloc(1, cap);
    if (!f) IND_FAIL("out of memory");
    memcpy(f, "PSEQ", 4);
    ind_put(f + 4, data_offset, 2);
    f[6] = 0;
    f[7] = 2;
    ind_put(f + 8, vars_at, 2);
    ind_put(f + 10, channels, 4);
    ind_put(f + 14, frames, 4);
    f[18] = (uint8_t)step;
    f[20] = zstd ? 1 : 0;
    f[21] = (uint8_t)entries;
    ind_put(f + vars_at, 4 + (uint32_t)strlen(sp) + 1, 2);
    memcpy(f + vars_at + 2, "sp", 2);
    memcpy(f + vars_at + 4, sp, strlen(sp) + 1);
    size_t at = data_offset;
    if (!zstd) {
        memcpy(f + at, data, (size_t)frames * channels);
        *size = at + (size_t)frames * channels;
        return f;
    }
    for (uint32_t b = 0; b < nblocks; b++) {
        uint32_t end = b + 1 < nblocks ? firsts[b + 1] : frames;
        size_t n = ZSTD_compress(f + at, cap - at, data + (size_t)firsts[b] * channels,
                                 (size_t)(end - firsts[b]) * channels, 1);
        if (ZSTD_isError(n)) IND_FAIL("zstd: %s", ZSTD_getErrorName(n));
        ind_put(f + 32 + 8 * b, firsts[b], 4);
        ind_put(f + 32 + 8 * b + 4, (uint32_t)n, 4);
        at += n;
    }
    *size = at;
    return f;
}

#endif
