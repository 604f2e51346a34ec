/*
 * fuzz_fseq.c - libFuzzer target: the FSEQ v2 reader (sky/fseq.h) over
 * arbitrary bytes, as a file from anyone would be.
 *
 * Opens the input with sky_fseq_reader_open_memory and reads its frames in
 * order, then one backwards (the block restart path), up to a budget of
 * bytes so that a header claiming 4 G frames does not make one input run
 * for hours. Checked beyond "no crash": a refusal has a message naming the
 * input; an accepted file's info keeps the promises the players rely on
 * (channels in range, step time 1..255, a rate > 0, NUL-terminated strings).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sky/fseq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NAME       "fuzz.fseq"
#define FUZZ_READ_BYTES (8u << 20) /* frame bytes read per input at most */
#define FUZZ_FAIL(...)                              \
    do {                                            \
        fprintf(stderr, "fuzz_fseq: " __VA_ARGS__); \
        fputc('\n', stderr);                        \
        abort();                                    \
    } while (0)

static void fuzz_check_info(const sky_fseq_info *in) {
    if (in->channel_count < 1 || in->channel_count > SKY_FSEQ_MAX_CHANNELS)
        FUZZ_FAIL("accepted %u channels", in->channel_count);
    if (in->step_ms < 1 || in->step_ms > 255) FUZZ_FAIL("accepted step %u", in->step_ms);
    if (!(in->fps > 0 && in->fps <= 1000)) FUZZ_FAIL("accepted fps %g", in->fps);
    if (!memchr(in->layout, 0, sizeof in->layout) || !memchr(in->producer, 0, sizeof in->producer))
        FUZZ_FAIL("unterminated string");
    if (in->compression == SKY_FSEQ_COMPRESS_ZSTD && in->frame_count > 0 && in->block_count == 0)
        FUZZ_FAIL("frames without blocks");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sky_fseq_reader *r = NULL;
    char error[512] = "";
    sky_status st = sky_fseq_reader_open_memory(data, size, FUZZ_NAME, &r, error, sizeof error);
    if (st != SKY_OK) {
        if (!strstr(error, FUZZ_NAME)) FUZZ_FAIL("refused without naming the file: `%s`", error);
        return 0;
    }
    const sky_fseq_info *in = sky_fseq_reader_info(r);
    fuzz_check_info(in);
    uint8_t *frame = malloc(in->channel_count);
    if (!frame) FUZZ_FAIL("out of memory");
    uint64_t budget = FUZZ_READ_BYTES / in->channel_count;
    uint32_t frames = in->frame_count < budget ? in->frame_count : (uint32_t)budget;
    for (uint32_t f = 0; f < frames; f++) {
        error[0] = '\0';
        st = sky_fseq_reader_read(r, f, frame, in->channel_count, error, sizeof error);
        if (st != SKY_OK) {
            if (st != SKY_ERR_FORMAT || !strstr(error, FUZZ_NAME))
                FUZZ_FAIL("frame %u: status %d, `%s`", f, st, error);
            break;
        }
    }
    if (frames > 1) (void)sky_fseq_reader_read(r, 0, frame, in->channel_count, error, sizeof error);
    free(frame);
    sky_fseq_reader_free(r);
    return 0;
}
