/*
 * fseq_internal.h - what the FSEQ writer and reader share: the byte offsets
 * of the 32-byte v2 header (docs/record.md), little-endian helpers and the
 * error formatter. Private to libskyrecord (prefix fseq_).
 */
#ifndef SKY_FSEQ_INTERNAL_H
#define SKY_FSEQ_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sky/fseq.h"

enum {
    FSEQ_OFF_MAGIC = 0,        /* "PSEQ" */
    FSEQ_OFF_DATA_OFFSET = 4,  /* u16: where the channel data starts */
    FSEQ_OFF_MINOR = 6,        /* u8 */
    FSEQ_OFF_MAJOR = 7,        /* u8: 2 */
    FSEQ_OFF_VARS_OFFSET = 8,  /* u16: where the variable headers start */
    FSEQ_OFF_CHANNELS = 10,    /* u32 */
    FSEQ_OFF_FRAMES = 14,      /* u32 */
    FSEQ_OFF_STEP_MS = 18,     /* u8 */
    FSEQ_OFF_FLAGS = 19,       /* u8, 0 */
    FSEQ_OFF_COMPRESSION = 20, /* u8: low 4 bits the type, high 4 bits block count bits 8..11 */
    FSEQ_OFF_BLOCKS = 21,      /* u8: block count bits 0..7 */
    FSEQ_OFF_SPARSE = 22,      /* u8: sparse ranges */
    FSEQ_OFF_RESERVED = 23,    /* u8 */
    FSEQ_OFF_UNIQUE_ID = 24,   /* u64 */
};
#define FSEQ_BLOCK_ENTRY_BYTES  8u      /* u32 first frame, u32 compressed length */
#define FSEQ_SPARSE_ENTRY_BYTES 6u      /* u24 first channel, u24 channel count */
#define FSEQ_VAR_HEADER_BYTES   4u      /* u16 length (with these 4 bytes), 2-character code */
#define FSEQ_MAX_OFFSET         0xffffu /* the u16 offsets of the header */
#define FSEQ_MAX_STEP_MS        255u

static inline void fseq_put_u16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void fseq_put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void fseq_put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t fseq_get_u16(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}
static inline uint32_t fseq_get_u24(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}
static inline uint32_t fseq_get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t fseq_get_u64(const uint8_t *p) {
    return (uint64_t)fseq_get_u32(p) | (uint64_t)fseq_get_u32(p + 4) << 32;
}

/* snprintf into the caller's (error, error_len); error may be NULL. */
void fseq_error(char *error, size_t error_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The step time for a frame rate: round(1000 / fps) ms, clamped to 1..255. */
uint32_t fseq_step_ms(double fps);

/* For the pipeline: the frames of a block, the frame size and the zstd level. */
uint64_t fseq_writer_max_block_frames(const sky_fseq_writer *writer);
uint32_t fseq_writer_channels(const sky_fseq_writer *writer);
int fseq_writer_level(const sky_fseq_writer *writer);

#endif
