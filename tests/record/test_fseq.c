/*
 * test_fseq.c - libskyrecord's FSEQ v2 writer and reader: round trips
 * checked by an independent reader (fseq_independent.h), files laid out as
 * xLights does read by ours, the block plan, a file valid after every
 * block, and hostile files (truncated at every length, bad fields, corrupt
 * blocks) refused with messages that name the field or block.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fseq_independent.h"
#include "sky/fseq.h"

static char tmpdir[64];

static int setup(void **state) {
    (void)state;
    strcpy(tmpdir, "/tmp/sky-fseq-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}
static int teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", tmpdir, name);
}

/* A deterministic frame: every byte from the frame and channel numbers. */
static void pattern(uint8_t *dst, uint32_t channels, uint32_t frame) {
    for (uint32_t c = 0; c < channels; c++)
        dst[c] = (uint8_t)((frame * 7u + c * 13u + (c / 3u) * frame) ^ (frame >> 3));
}

static uint8_t *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return buf;
}

/* Writes `frames` pattern frames through the block plan; returns nothing, asserts. */
static void write_file(const char *path, uint32_t channels, uint32_t frames, uint64_t expected,
                       int level, double fps) {
    sky_fseq_writer_options o = {.path = path,
                                 .channel_count = channels,
                                 .fps = fps,
                                 .frames_expected = expected,
                                 .zstd_level = level,
                                 .layout = "strip:4"};
    sky_fseq_writer *w = NULL;
    char error[512] = "";
    assert_int_equal(sky_fseq_writer_create(&o, &w, error, sizeof error), SKY_OK);
    uint8_t *buf = malloc((size_t)channels * frames + 1);
    assert_non_null(buf);
    for (uint32_t f = 0; f < frames; f++) pattern(buf + (size_t)f * channels, channels, f);
    for (uint32_t f = 0; f < frames;) {
        uint32_t n = sky_fseq_writer_block_frames(w);
        if (n > frames - f) n = frames - f;
        sky_status st =
            sky_fseq_writer_add_frames(w, buf + (size_t)f * channels, n, error, sizeof error);
        if (st != SKY_OK) fail_msg("%s", error);
        f += n;
    }
    assert_int_equal(sky_fseq_writer_frames(w), frames);
    assert_int_equal(sky_fseq_writer_finish(w, error, sizeof error), SKY_OK);
    sky_fseq_writer_free(w);
    free(buf);
}

/* Our reader and the independent one both see exactly the pattern. */
static void check_file(const char *path, uint32_t channels, uint32_t frames) {
    size_t size = 0;
    uint8_t *bytes = read_all(path, &size);
    ind_fseq s = ind_read(bytes, size);
    assert_int_equal(s.channels, channels);
    assert_int_equal(s.frames, frames);
    uint8_t *want = malloc(channels), *got = malloc(channels);
    sky_fseq_reader *r = NULL;
    char error[512] = "";
    assert_int_equal(sky_fseq_reader_open(path, &r, error, sizeof error), SKY_OK);
    assert_int_equal(sky_fseq_reader_info(r)->frame_count, frames);
    for (uint32_t f = 0; f < frames; f++) {
        pattern(want, channels, f);
        assert_memory_equal(s.data + (size_t)f * channels, want, channels);
        sky_status st = sky_fseq_reader_read(r, f, got, channels, error, sizeof error);
        if (st != SKY_OK) fail_msg("frame %u: %s", f, error);
        assert_memory_equal(got, want, channels);
    }
    /* Going back restarts the block: still exact. */
    if (frames > 3) {
        assert_int_equal(sky_fseq_reader_read(r, 2, got, channels, error, sizeof error), SKY_OK);
        pattern(want, channels, 2);
        assert_memory_equal(got, want, channels);
    }
    sky_fseq_reader_free(r);
    free(s.data);
    free(bytes);
    free(want);
    free(got);
}

static void test_roundtrip_zstd(void **state) {
    (void)state;
    char path[128];
    path_of(path, sizeof path, "a.fseq");
    /* 300 LEDs: 900-byte frames, 1165 frames a block, so 3000 frames take 3 blocks. */
    write_file(path, 900, 3000, 0, 3, 60);
    check_file(path, 900, 3000);
    sky_fseq_reader *r = NULL;
    char error[512];
    assert_int_equal(sky_fseq_reader_open(path, &r, error, sizeof error), SKY_OK);
    const sky_fseq_info *in = sky_fseq_reader_info(r);
    assert_int_equal(in->step_ms, 17);
    assert_true(in->fps == 60.0); /* the exact rate, from `sk` */
    assert_string_equal(in->layout, "strip:4");
    assert_string_equal(in->producer, "Skyscreen");
    assert_int_equal(in->block_count, 3);
    assert_int_equal(in->compression, SKY_FSEQ_COMPRESS_ZSTD);
    sky_fseq_reader_free(r);
}

static void test_roundtrip_planned_and_uncompressed(void **state) {
    (void)state;
    char path[128];
    path_of(path, sizeof path, "b.fseq");
    write_file(path, 12, 1000, 1000, 1, 40);
    check_file(path, 12, 1000);
    path_of(path, sizeof path, "c.fseq");
    write_file(path, 30, 257, 0, 0, 25);
    check_file(path, 30, 257);
}

/* Files from the independent writer (xLights' layout, and uncompressed) read exactly. */
static void test_reads_others_files(void **state) {
    (void)state;
    for (int zstd = 0; zstd <= 1; zstd++) {
        uint32_t channels = 15, frames = 37;
        uint8_t *data = malloc((size_t)channels * frames);
        for (uint32_t f = 0; f < frames; f++) pattern(data + (size_t)f * channels, channels, f);
        size_t size = 0;
        uint8_t *file = ind_write(data, channels, frames, 25, zstd, &size);
        sky_fseq_reader *r = NULL;
        char error[512] = "";
        sky_status st = sky_fseq_reader_open_memory(file, size, "xl.fseq", &r, error, sizeof error);
        if (st != SKY_OK) fail_msg("%s", error);
        const sky_fseq_info *in = sky_fseq_reader_info(r);
        assert_int_equal(in->frame_count, frames);
        assert_true(in->fps == 40.0);
        assert_string_equal(in->producer, "independent test writer");
        assert_int_equal(in->block_count, zstd ? 2 : 0);
        uint8_t got[15];
        for (uint32_t f = 0; f < frames; f++) {
            st = sky_fseq_reader_read(r, f, got, sizeof got, error, sizeof error);
            if (st != SKY_OK) fail_msg("frame %u: %s", f, error);
            assert_memory_equal(got, data + (size_t)f * channels, channels);
        }
        sky_fseq_reader_free(r);
        free(file);
        free(data);
    }
}

/* The block plan; a full index is an error, not a lost block. */
static void test_block_plan(void **state) {
    (void)state;
    char path[128];
    path_of(path, sizeof path, "plan.fseq");
    sky_fseq_writer_options o = {
        .path = path, .channel_count = SKY_FSEQ_BLOCK_BYTES, .fps = 60, .zstd_level = 1};
    sky_fseq_writer *w = NULL;
    char error[512] = "";
    /* Unknown length, 1 MiB frames: 10 s of frames would be 600 MiB; 16 MiB caps it. */
    assert_int_equal(sky_fseq_writer_create(&o, &w, error, sizeof error), SKY_OK);
    assert_int_equal(sky_fseq_writer_block_frames(w), 16);
    sky_fseq_writer_free(w);
    /* A planned recording of 10,000 one-MiB frames: 3 frames a block fill at most 4095 entries. */
    o.frames_expected = 10000;
    assert_int_equal(sky_fseq_writer_create(&o, &w, error, sizeof error), SKY_OK);
    assert_int_equal(sky_fseq_writer_block_frames(w), 3);
    sky_fseq_writer_free(w);
    /* The Skyscreen's 311,040-byte frames at 60 fps, unknown length: 53 frames (16 MiB). */
    o.channel_count = 311040;
    o.frames_expected = 0;
    assert_int_equal(sky_fseq_writer_create(&o, &w, error, sizeof error), SKY_OK);
    assert_int_equal(sky_fseq_writer_block_frames(w), 53);
    sky_fseq_writer_free(w);
    /* 64 LEDs at 60 fps: 1 MiB (5461 frames, 91 s) beats 10 s (600 frames). */
    o.channel_count = 192;
    assert_int_equal(sky_fseq_writer_create(&o, &w, error, sizeof error), SKY_OK);
    assert_int_equal(sky_fseq_writer_block_frames(w), SKY_FSEQ_BLOCK_BYTES / 192);
    sky_fseq_writer_free(w);
    /* 30 KB frames: 10 s (600 frames, 18 MB)... capped at 16 MiB: 559 frames. */
    o.channel_count = 30000;
    assert_int_equal(sky_fseq_writer_create(&o, &w, error, sizeof error), SKY_OK);
    assert_int_equal(sky_fseq_writer_block_frames(w), SKY_FSEQ_MAX_BLOCK_BYTES / 30000);
    sky_fseq_writer_free(w);
    /* The index holds 4095 blocks; the 4096th is refused with a message. */
    o.channel_count = 3;
    assert_int_equal(sky_fseq_writer_create(&o, &w, error, sizeof error), SKY_OK);
    uint8_t tiny[3] = {1, 2, 3};
    void *packed = NULL;
    size_t packed_len = 0;
    assert_int_equal(sky_fseq_compress(tiny, 3, 1, &packed, &packed_len, error, sizeof error),
                     SKY_OK);
    for (uint32_t i = 0; i < SKY_FSEQ_MAX_BLOCKS; i++)
        assert_int_equal(
            sky_fseq_writer_add_compressed(w, 1, packed, packed_len, error, sizeof error), SKY_OK);
    assert_int_equal(sky_fseq_writer_add_compressed(w, 1, packed, packed_len, error, sizeof error),
                     SKY_ERR_LIMIT);
    assert_non_null(strstr(error, "block index is full"));
    sky_fseq_writer_free(w);
    free(packed);
    /* The 4095-block file reads back (the extended 12-bit block count). */
    sky_fseq_reader *r = NULL;
    sky_status st = sky_fseq_reader_open(path, &r, error, sizeof error);
    if (st != SKY_OK) fail_msg("%s", error);
    assert_int_equal(sky_fseq_reader_info(r)->block_count, SKY_FSEQ_MAX_BLOCKS);
    assert_int_equal(sky_fseq_reader_info(r)->minor_version, 1);
    uint8_t got[3];
    assert_int_equal(sky_fseq_reader_read(r, 4094, got, 3, error, sizeof error), SKY_OK);
    assert_memory_equal(got, tiny, 3);
    sky_fseq_reader_free(r);
}

/* Not finished (a killed recorder): the file holds every block added. */
static void test_valid_after_every_block(void **state) {
    (void)state;
    char path[128];
    path_of(path, sizeof path, "killed.fseq");
    sky_fseq_writer_options o = {.path = path, .channel_count = 6, .fps = 30, .zstd_level = 3};
    sky_fseq_writer *w = NULL;
    char error[512] = "";
    assert_int_equal(sky_fseq_writer_create(&o, &w, error, sizeof error), SKY_OK);
    uint8_t frames[6 * 5];
    for (uint32_t f = 0; f < 5; f++) pattern(frames + 6 * f, 6, f);
    for (uint32_t b = 0; b < 3; b++) {
        assert_int_equal(sky_fseq_writer_add_frames(w, frames, 5, error, sizeof error), SKY_OK);
        sky_fseq_reader *r = NULL;
        sky_status st = sky_fseq_reader_open(path, &r, error, sizeof error);
        if (st != SKY_OK) fail_msg("%s", error);
        assert_int_equal(sky_fseq_reader_info(r)->frame_count, 5 * (b + 1));
        uint8_t got[6];
        assert_int_equal(sky_fseq_reader_read(r, 5 * b + 4, got, 6, error, sizeof error), SKY_OK);
        assert_memory_equal(got, frames + 24, 6);
        sky_fseq_reader_free(r);
    }
    sky_fseq_writer_free(w); /* never finished */
}

/* ------------------------------------------------------------- hostile files */

static uint8_t *good_file(size_t *size) {
    char path[128];
    path_of(path, sizeof path, "good.fseq");
    write_file(path, 9, 40, 40, 3, 20);
    return read_all(path, size);
}

/* Opens the bytes and reads every frame: the first error's message, "" when all is well. */
static sky_status open_and_read(const uint8_t *bytes, size_t size, char *error, size_t error_len) {
    sky_fseq_reader *r = NULL;
    error[0] = '\0';
    sky_status st = sky_fseq_reader_open_memory(bytes, size, "bad.fseq", &r, error, error_len);
    if (st != SKY_OK) return st;
    const sky_fseq_info *in = sky_fseq_reader_info(r);
    uint8_t *frame = malloc(in->channel_count);
    for (uint32_t f = 0; st == SKY_OK && f < in->frame_count && f < 1000; f++)
        st = sky_fseq_reader_read(r, f, frame, in->channel_count, error, error_len);
    free(frame);
    sky_fseq_reader_free(r);
    return st;
}

static void expect_error(const uint8_t *bytes, size_t size, const char *needle) {
    char error[512];
    sky_status st = open_and_read(bytes, size, error, sizeof error);
    if (st != SKY_ERR_FORMAT || !strstr(error, needle) || !strstr(error, "bad.fseq"))
        fail_msg("expected a format error with `%s`, got %d: %s", needle, st, error);
}

static void test_truncated_at_every_length(void **state) {
    (void)state;
    size_t size = 0;
    uint8_t *good = good_file(&size);
    char error[512];
    assert_int_equal(open_and_read(good, size, error, sizeof error), SKY_OK);
    for (size_t n = 0; n < size; n++) {
        uint8_t *cut = malloc(n + 1); /* its own allocation: ASan sees any over-read */
        memcpy(cut, good, n);
        sky_status st = open_and_read(cut, n, error, sizeof error);
        if (st == SKY_OK) fail_msg("a file cut to %zu of %zu bytes was accepted", n, size);
        assert_true(strlen(error) > 0);
        free(cut);
    }
    free(good);
}

static void test_bad_fields(void **state) {
    (void)state;
    size_t size = 0;
    uint8_t *good = good_file(&size);
    uint8_t *b = malloc(size);
#define MUTATE(stmt, needle)           \
    do {                               \
        memcpy(b, good, size);         \
        stmt;                          \
        expect_error(b, size, needle); \
    } while (0)
    MUTATE(memcpy(b, "FSEQ", 4), "FSEQ v1");
    MUTATE(memcpy(b, "RIFF", 4), "not an FSEQ file");
    MUTATE(b[7] = 1, "offset 7 (major version)");
    MUTATE(b[6] = 9, "offset 6 (minor version)");
    MUTATE(ind_put(b + 10, 0, 4), "offset 10 (channel count)");
    MUTATE(ind_put(b + 10, 0xffffffffu, 4), "offset 10 (channel count)");
    MUTATE(b[18] = 0, "offset 18 (step time)");
    MUTATE(b[20] = 2, "zlib");
    MUTATE(b[22] = 1, "offset 22 (sparse range count)");
    MUTATE(ind_put(b + 4, 0xfff0, 2), "offset 4 (channel data offset)");
    MUTATE(ind_put(b + 8, 16, 2), "offset 8 (header length)");
    MUTATE(ind_put(b + 32 + 4, 0x7fffffff, 4), "block index entry 0 at offset 32");
    MUTATE(ind_put(b + 32, 5, 4), "the first block must start at frame 0");
    /* More frames than the blocks hold; fewer (the last block has bytes to spare). */
    MUTATE(ind_put(b + 14, 41, 4), "fewer bytes than its frames");
    MUTATE(ind_put(b + 14, 39, 4), "more bytes than its frames");
    MUTATE(ind_put(b + 14, 0xffffffffu, 4), "fewer bytes than its frames");
    /* A flipped byte inside the compressed block. */
    MUTATE(b[size - 5] ^= 0x5a, "block 0 (index entry 0");
    free(b);
    free(good);
}

/* Uncompressed: the frame count must fit the file. */
static void test_uncompressed_too_short(void **state) {
    (void)state;
    uint8_t data[4 * 6] = {0};
    size_t size = 0;
    uint8_t *file = ind_write(data, 6, 4, 25, 0, &size);
    ind_put(file + 14, 5, 4);
    expect_error(file, size, "offset 14 (frame count): 5 frames of 6 channels");
    free(file);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_zstd),
        cmocka_unit_test(test_roundtrip_planned_and_uncompressed),
        cmocka_unit_test(test_reads_others_files),
        cmocka_unit_test(test_block_plan),
        cmocka_unit_test(test_valid_after_every_block),
        cmocka_unit_test(test_truncated_at_every_length),
        cmocka_unit_test(test_bad_fields),
        cmocka_unit_test(test_uncompressed_too_short),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
