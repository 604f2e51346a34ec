/*
 * fuzz_frame_header.c - libFuzzer target: the frame file's header validator
 * (frame_header_validate, then the strip table and positions checks).
 *
 * Input: the file size as a little-endian u64 (8 bytes), then the first
 * bytes of the file; the file is zero past them, as a sparse file would be.
 * This is what a reader sees: it preads the 256-byte header and knows the
 * size from fstat, and the size need not match the bytes (a truncated file,
 * a header claiming terabytes). Missing header bytes read as zero, as the
 * reader's zeroed buffer does for a file shorter than the header.
 *
 * Checked beyond "no crash": a rejected header has a message that names the
 * file; an accepted header keeps every promise the reader relies on before
 * mapping (regions inside the file, after the header, before the slots, not
 * overlapping), and re-encodes to the same bytes; and the writer's own plan
 * for the header's counts (frame_plan + frame_header_encode) is accepted.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame_internal.h"
#include "sky/layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PATH "fuzz.frame"
#define FUZZ_FAIL(...)                                      \
    do {                                                    \
        fprintf(stderr, "fuzz_frame_header: " __VA_ARGS__); \
        fputc('\n', stderr);                                \
        abort();                                            \
    } while (0)

/* Tables larger than this are not built (the reader would malloc them; here
 * that only costs memory, and the header checks above already ran). */
#define FUZZ_TABLE_MAX (16u << 20)

typedef struct fuzz_file {
    const uint8_t *bytes; /* the file's first `len` bytes; zeros after */
    size_t len;
    uint64_t size; /* what fstat would say */
} fuzz_file;

static void fuzz_pread(const fuzz_file *f, void *out, size_t n, uint64_t offset) {
    memset(out, 0, n);
    if (offset >= f->len) return;
    size_t avail = f->len - (size_t)offset;
    memcpy(out, f->bytes + offset, n < avail ? n : avail);
}

static void fuzz_expect_message(const char *error, const char *what) {
    if (!error[0] || !strstr(error, FUZZ_PATH))
        FUZZ_FAIL("%s without a message naming the file: \"%s\"", what, error);
}

/* What the reader relies on once frame_header_validate said yes. */
static void fuzz_check_accepted(const uint8_t *hdr, const sky_frame_info *info, uint64_t size) {
    uint64_t slots_end = info->slots_offset + (uint64_t)info->slot_count * info->slot_stride;
    if (info->file_bytes != slots_end || info->file_bytes > size)
        FUZZ_FAIL("accepted file_bytes %llu (slots end %llu, file %llu)",
                  (unsigned long long)info->file_bytes, (unsigned long long)slots_end,
                  (unsigned long long)size);
    if (info->slot_stride < (uint64_t)info->led_count * 3u || info->slot_stride % FRAME_PAGE)
        FUZZ_FAIL("accepted slot_stride %llu for %u LEDs", (unsigned long long)info->slot_stride,
                  info->led_count);
    const uint64_t begin[3] = {info->strips_offset, info->positions_offset, info->seq_offset};
    const uint64_t bytes[3] = {(uint64_t)info->strip_count * 4u,
                               (uint64_t)info->led_count * frame_position_bytes(info->version),
                               (uint64_t)info->slot_count * FRAME_SEQ_STRIDE};
    for (int i = 0; i < 3; i++) {
        if (begin[i] < SKY_FRAME_HEADER_BYTES || begin[i] + bytes[i] > info->slots_offset)
            FUZZ_FAIL("accepted region %d at %llu (%llu bytes), slots at %llu", i,
                      (unsigned long long)begin[i], (unsigned long long)bytes[i],
                      (unsigned long long)info->slots_offset);
        for (int j = 0; j < i; j++)
            if (begin[i] < begin[j] + bytes[j] && begin[j] < begin[i] + bytes[i])
                FUZZ_FAIL("accepted overlapping regions %d and %d", j, i);
    }
    /* Re-encoding gives the same bytes, except the atomics frame and heartbeat. */
    uint8_t again[SKY_FRAME_HEADER_BYTES];
    frame_header_encode(again, info);
    memcpy(again + FRAME_OFF_FRAME, hdr + FRAME_OFF_FRAME, 16);
    if (memcmp(again, hdr, sizeof again) != 0)
        FUZZ_FAIL("accepted header does not re-encode to itself");
}

/* The reader's next step: strip table and positions, read from the file. */
static void fuzz_check_tables(const fuzz_file *f, const sky_frame_info *info) {
    uint32_t per_led = frame_position_bytes(info->version) / 4u; /* floats: 2 or 3 */
    size_t strips_bytes = (size_t)info->strip_count * 4u,
           pos_bytes = (size_t)info->led_count * per_led * 4u;
    if (strips_bytes + pos_bytes > FUZZ_TABLE_MAX) return;
    uint32_t *strips = malloc(strips_bytes);
    float *positions = malloc(pos_bytes);
    if (strips && positions) {
        char error[512] = "";
        fuzz_pread(f, strips, strips_bytes, info->strips_offset);
        fuzz_pread(f, positions, pos_bytes, info->positions_offset);
        sky_status st = frame_strips_validate(strips, info, FUZZ_PATH, error, sizeof error);
        if (st != SKY_OK) fuzz_expect_message(error, "rejected strip table");
        for (uint32_t i = 0; st == SKY_OK && i < info->led_count; i++) {
            const float *p = positions + (size_t)i * per_led;
            st = frame_positions_validate(p, per_led == 3 ? p + 2 : NULL, i, 1, FUZZ_PATH, error,
                                          sizeof error);
            if (st != SKY_OK) fuzz_expect_message(error, "rejected positions");
        }
    }
    free(strips);
    free(positions);
}

/* The writer's layout for these counts must pass the reader's checks. */
static void fuzz_check_plan(uint32_t led_count, uint32_t strip_count, uint32_t slot_count) {
    if (led_count == 0 || led_count > SKY_LAYOUT_MAX_LEDS) return;
    if (strip_count == 0 || strip_count > led_count) return;
    if (slot_count < SKY_FRAME_MIN_SLOTS || slot_count > SKY_FRAME_MAX_SLOTS) return;
    sky_frame_info info;
    char error[512] = "";
    if (frame_plan(led_count, strip_count, slot_count, &info, error, sizeof error) != SKY_OK)
        FUZZ_FAIL("frame_plan(%u, %u, %u): %s", led_count, strip_count, slot_count, error);
    info.writer_pid = 1;
    uint8_t hdr[SKY_FRAME_HEADER_BYTES];
    frame_header_encode(hdr, &info);
    sky_frame_info back;
    if (frame_header_validate(hdr, info.file_bytes, FUZZ_PATH, &back, error, sizeof error) !=
        SKY_OK)
        FUZZ_FAIL("the writer's plan for %u LEDs, %u strips, %u slots is rejected: %s", led_count,
                  strip_count, slot_count, error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_file f = {data, 0, 0};
    if (size >= 8) {
        f.size = frame_get_u64(data);
        f.bytes = data + 8;
        f.len = size - 8;
    }
    uint8_t hdr[SKY_FRAME_HEADER_BYTES];
    fuzz_pread(&f, hdr, sizeof hdr, 0);

    sky_frame_info info;
    char error[512] = "";
    sky_status st = frame_header_validate(hdr, f.size, FUZZ_PATH, &info, error, sizeof error);
    if (st == SKY_OK) {
        fuzz_check_accepted(hdr, &info, f.size);
        fuzz_check_tables(&f, &info);
    } else if (st != SKY_ERR_FORMAT) {
        FUZZ_FAIL("frame_header_validate returned %s", sky_status_str(st));
    } else {
        fuzz_expect_message(error, "rejected header");
    }
    fuzz_check_plan(frame_get_u32(hdr + FRAME_OFF_LED_COUNT),
                    frame_get_u32(hdr + FRAME_OFF_STRIP_COUNT),
                    frame_get_u32(hdr + FRAME_OFF_SLOT_COUNT));
    return 0;
}
