/*
 * test_record_pipeline.c - what `sky record` is built on, in one process:
 * sky_frame_reader_read_frame (a given frame: fetched, not yet, or gone when
 * the writer lapped it, never a torn or wrong frame) and sky_fseq_pipeline
 * (every committed frame reaches the file in order, and a failing disk stops
 * the producer with the writer's message).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "fseq_independent.h"
#include "sky/frame.h"
#include "sky/fseq.h"

static char tmpdir[64];

static int setup(void **state) {
    (void)state;
    strcpy(tmpdir, "/tmp/sky-recpipe-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}
static int teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

#define LEDS 10u

static void fill(uint8_t *dst, uint64_t f) {
    for (uint32_t c = 0; c < LEDS * 3; c++) dst[c] = (uint8_t)(f * 3 + c);
}

static void publish(sky_frame_writer *w) {
    uint64_t f = 0;
    uint8_t *slot = sky_frame_writer_begin(w, &f);
    fill(slot, f);
    assert_int_equal(sky_frame_writer_publish(w), SKY_OK);
}

static void test_read_frame(void **state) {
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/f.frame", tmpdir);
    sky_frame_writer_options wo = {.path = path, .led_count = LEDS, .slot_count = 3};
    sky_frame_writer *w = NULL;
    sky_frame_reader *r = NULL;
    char error[512];
    assert_int_equal(sky_frame_writer_create(&wo, &w, error, sizeof error), SKY_OK);
    assert_int_equal(sky_frame_reader_open(path, &r, error, sizeof error), SKY_OK);
    uint8_t got[LEDS * 3], want[LEDS * 3];
    sky_frame_fetch fetch;
    uint64_t newest = 99;
    assert_int_equal(sky_frame_reader_newest(r, &newest, error, sizeof error), SKY_OK);
    assert_int_equal(newest, 0);
    assert_int_equal(
        sky_frame_reader_read_frame(r, 1, got, sizeof got, &fetch, error, sizeof error), SKY_OK);
    assert_int_equal(fetch, SKY_FRAME_NOT_YET);
    for (int i = 0; i < 5; i++) publish(w); /* frames 1..5 in 3 slots: 3, 4, 5 remain */
    assert_int_equal(sky_frame_reader_newest(r, &newest, error, sizeof error), SKY_OK);
    assert_int_equal(newest, 5);
    for (uint64_t f = 1; f <= 6; f++) {
        memset(got, 0xee, sizeof got);
        assert_int_equal(
            sky_frame_reader_read_frame(r, f, got, sizeof got, &fetch, error, sizeof error),
            SKY_OK);
        sky_frame_fetch expect = f <= 2   ? SKY_FRAME_GONE
                                 : f <= 5 ? SKY_FRAME_FETCHED
                                          : SKY_FRAME_NOT_YET;
        assert_int_equal(fetch, expect);
        if (fetch == SKY_FRAME_FETCHED) {
            fill(want, f);
            assert_memory_equal(got, want, sizeof want);
        }
    }
    /* A frame being written (begun, not published) is not yet readable. */
    uint64_t f = 0;
    sky_frame_writer_begin(w, &f);
    assert_int_equal(f, 6);
    assert_int_equal(
        sky_frame_reader_read_frame(r, 6, got, sizeof got, &fetch, error, sizeof error), SKY_OK);
    assert_int_equal(fetch, SKY_FRAME_NOT_YET);
    /* ... and the frame it overwrites (3, same slot) is gone. */
    assert_int_equal(
        sky_frame_reader_read_frame(r, 3, got, sizeof got, &fetch, error, sizeof error), SKY_OK);
    assert_int_equal(fetch, SKY_FRAME_GONE);
    assert_int_equal(sky_frame_writer_publish(w), SKY_OK);
    assert_int_equal(sky_frame_reader_read_frame(r, 1, got, 5, &fetch, error, sizeof error),
                     SKY_ERR_INVALID_ARG);
    sky_frame_reader_free(r);
    sky_frame_writer_free(w);
}

/* Frames committed through the pipeline come out of the file in order, exactly. */
static void test_pipeline_order(void **state) {
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/p.fseq", tmpdir);
    sky_fseq_writer_options o = {
        .path = path, .channel_count = LEDS * 3, .fps = 50, .zstd_level = 1};
    sky_fseq_writer *w = NULL;
    sky_fseq_pipeline *p = NULL;
    char error[512] = "";
    assert_int_equal(sky_fseq_writer_create(&o, &w, error, sizeof error), SKY_OK);
    assert_int_equal(sky_fseq_pipeline_create(w, 0, 3, &p, error, sizeof error), SKY_OK);
    uint32_t capacity = 0;
    assert_int_equal(sky_fseq_pipeline_queued(p, &capacity), 0);
    /* The ring holds (workers + 1) blocks of 1 MiB. */
    assert_int_equal(capacity, (SKY_FSEQ_BLOCK_BYTES / (LEDS * 3)) * 4);
    uint32_t total = 100000;
    for (uint32_t f = 0; f < total; f++) {
        uint8_t *slot = sky_fseq_pipeline_slot_wait(p);
        assert_non_null(slot);
        fill(slot, f);
        sky_fseq_pipeline_commit(p);
        assert_memory_equal(sky_fseq_pipeline_last(p), slot, LEDS * 3);
    }
    assert_int_equal(sky_fseq_pipeline_finish(p, error, sizeof error), SKY_OK);
    assert_int_equal(sky_fseq_writer_finish(w, error, sizeof error), SKY_OK);
    sky_fseq_pipeline_free(p);
    sky_fseq_writer_free(w);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    size_t size = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *bytes = malloc(size);
    assert_int_equal(fread(bytes, 1, size, fp), size);
    fclose(fp);
    ind_fseq s = ind_read(bytes, size);
    assert_int_equal(s.frames, total);
    uint8_t want[LEDS * 3];
    for (uint32_t f = 0; f < total; f++) {
        fill(want, f);
        assert_memory_equal(s.data + (size_t)f * LEDS * 3, want, sizeof want);
    }
    free(s.data);
    free(bytes);
}

/* A disk that fails (a file-size limit here) stops the pipeline with the writer's message:
 * the producer sees no slot, and finish reports it. */
static void test_pipeline_write_failure(void **state) {
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/full.fseq", tmpdir);
    sky_fseq_writer_options o = {
        .path = "/dev/full", .channel_count = 1u << 20, .fps = 50, .zstd_level = 1};
    sky_fseq_writer *w = NULL;
    sky_fseq_pipeline *p = NULL;
    char error[512] = "";
    /* /dev/full refuses the header at once: the error names the path and ENOSPC. */
    assert_int_equal(sky_fseq_writer_create(&o, &w, error, sizeof error), SKY_ERR_IO);
    assert_non_null(strstr(error, "/dev/full"));
    assert_non_null(strstr(error, "No space left on device"));
    o.path = path;
    assert_int_equal(sky_fseq_writer_create(&o, &w, error, sizeof error), SKY_OK);
    assert_int_equal(sky_fseq_pipeline_create(w, 0, 2, &p, error, sizeof error), SKY_OK);
    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 256u << 10; /* the header fits; the first 1 MiB block does not */
    signal(SIGXFSZ, SIG_IGN);    /* EFBIG instead of the signal */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    uint64_t x = 88172645463325252ull;
    uint32_t committed = 0;
    for (; committed < 64; committed++) {
        uint8_t *slot = sky_fseq_pipeline_slot_wait(p);
        if (!slot) break;
        for (uint32_t i = 0; i < (1u << 20); i++) { /* incompressible: xorshift */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            slot[i] = (uint8_t)x;
        }
        sky_fseq_pipeline_commit(p);
    }
    sky_status st = sky_fseq_pipeline_finish(p, error, sizeof error);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(st, SKY_ERR_IO);
    assert_non_null(strstr(error, path));
    assert_non_null(strstr(error, "File too large"));
    assert_null(sky_fseq_pipeline_slot(p));
    assert_true(committed < 64); /* the producer was told, and stopped */
    sky_fseq_pipeline_free(p);
    sky_fseq_writer_free(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_frame),
        cmocka_unit_test(test_pipeline_order),
        cmocka_unit_test(test_pipeline_write_failure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
