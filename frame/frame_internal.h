/*
 * frame_internal.h - what the frame writer and reader share: the byte layout
 * of the 256-byte header (docs/frame-format.md), the geometry plan a writer
 * lays out, the validation a reader runs before it maps pixel memory, and the
 * cross-process atomics on the mapped header.
 *
 * Everything here is private to libskyframe (prefix frame_). The encode and
 * validate functions work on plain byte buffers so that a reader can check a
 * header it read with pread() before it maps anything.
 */
#ifndef SKY_FRAME_INTERNAL_H
#define SKY_FRAME_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "frame_error.h"
#include "sky/frame.h"

/* The atomics live in a file shared by processes: they must be lock-free (an
 * address-free instruction, not a lock in one process's memory), and the
 * spec's little-endian u64 must be the CPU's own u64. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(sizeof(unsigned long long) == 8, "u64 atomics");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the frame file's atomic words are little-endian: big-endian hosts are not supported"
#endif

/* Byte offsets of the header fields (frame.md, "Header"). */
enum {
    FRAME_OFF_MAGIC = 0,
    FRAME_OFF_VERSION = 8,
    FRAME_OFF_HEADER_BYTES = 12,
    FRAME_OFF_LED_COUNT = 16,
    FRAME_OFF_STRIP_COUNT = 20,
    FRAME_OFF_CHANNELS = 24,
    FRAME_OFF_SLOT_COUNT = 28,
    FRAME_OFF_SLOT_STRIDE = 32,
    FRAME_OFF_SLOTS_OFFSET = 40,
    FRAME_OFF_STRIPS_OFFSET = 48,
    FRAME_OFF_POSITIONS_OFFSET = 56,
    FRAME_OFF_SEQ_OFFSET = 64,
    FRAME_OFF_FILE_BYTES = 72,
    FRAME_OFF_WRITER_PID = 80,
    FRAME_OFF_FPS_NOMINAL = 88,
    FRAME_OFF_FLAGS = 92,
    FRAME_OFF_LAYOUT = 96,
    FRAME_OFF_FRAME = 128,
    FRAME_OFF_HEARTBEAT = 136,
    FRAME_OFF_RESERVED = 144,
};

#define FRAME_LAYOUT_BYTES 32u
#define FRAME_CHANNELS     3u
#define FRAME_PAGE         4096u
#define FRAME_SEQ_STRIDE   64u /* one sequence word per cache line */
/* Padding a writer may put between the tables (frame-format.md, "Limits"). */
#define FRAME_ALIGN_SLACK 128u

/* ------------------------------------------------------------ the layout */

/*
 * Fills the geometry of a new file into *info: the seq words right after the
 * header, then the strip table, then the positions, then the page-aligned
 * slots. Counts must already be in range (the writer checks them); returns
 * SKY_ERR_LIMIT if the file would not fit in 64-bit sizes or size_t.
 */
sky_status frame_plan(uint32_t led_count, uint32_t strip_count, uint32_t slot_count,
                      sky_frame_info *info, char *error, size_t error_len);

/* Writes every non-atomic field of `info` into hdr (256 bytes, zeroed first). */
void frame_header_encode(uint8_t *hdr, const sky_frame_info *info);

/*
 * Decodes and checks a 256-byte header against the file's size, with
 * overflow-free arithmetic; the message names the field and its value.
 * `path` only labels messages.
 */
sky_status frame_header_validate(const uint8_t *hdr, uint64_t file_size, const char *path,
                                 sky_frame_info *info, char *error, size_t error_len);

/* Checks the strip table (LE u32s) sums to led_count. */
sky_status frame_strips_validate(const uint32_t *strips, const sky_frame_info *info,
                                 const char *path, char *error, size_t error_len);
/* Checks every coordinate of LEDs first .. first + count (xy pairs and z
 * values, z NULL: all 0) is a finite number in [-1, 1]. */
sky_status frame_positions_validate(const float *xy, const float *z, uint32_t first,
                                    uint32_t count, const char *path, char *error,
                                    size_t error_len);

/* Bytes per LED in the positions table: x, y in version 1; x, y, z since 2. */
static inline uint32_t frame_position_bytes(uint32_t version) {
    return version >= 2 ? 12u : 8u;
}

/* ----------------------------------------------- atomics in the mapping */

static inline _Atomic uint64_t *frame_atomic_at(uint8_t *base, uint64_t offset) {
    return (_Atomic uint64_t *)(void *)(base + offset);
}
static inline _Atomic uint64_t *frame_seq_word(uint8_t *base, const sky_frame_info *info,
                                               uint64_t slot) {
    return frame_atomic_at(base, info->seq_offset + slot * FRAME_SEQ_STRIDE);
}

/* Little-endian stores/loads for the plain header fields. */
static inline void frame_put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void frame_put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t frame_get_u32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static inline uint64_t frame_get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

#endif
