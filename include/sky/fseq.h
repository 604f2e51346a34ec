/*
 * sky/fseq.h - FSEQ v2 recordings (the xLights / Falcon Player sequence
 * format): a writer that appends zstd-compressed blocks of frames, and a
 * reader that checks every header field of a file it did not write.
 *
 * Layout (little-endian; docs/record.md has the full table): a 32-byte
 * header (`PSEQ`, channel data offset, version 2.x, channel count, frame
 * count, step time in ms, compression), the compression-block index (8 bytes
 * a block: first frame, compressed length), the variable headers (`sp`, the
 * producer; `sk`, Skyscreen's exact frame rate and layout), then the channel
 * data. A frame is channel_count bytes: LEDs × 3 (R, G, B), in the frame
 * file's LED order. Sparse ranges are never written and refused on read.
 *
 * The writer keeps the file valid after every block (it rewrites the frame
 * count and the block's index entry after the block's bytes), so a recorder
 * killed mid-show leaves a file that plays up to its last whole block.
 *
 * Thread safety: a writer or reader belongs to one thread at a time;
 * sky_fseq_compress may run on any number of threads at once.
 */
#ifndef SKY_FSEQ_H
#define SKY_FSEQ_H

#include <stddef.h>
#include <stdint.h>

#include "sky/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SKY_FSEQ_HEADER_BYTES 32u
#define SKY_FSEQ_MAX_BLOCKS   4095u /* 12 bits: the v2.1 extended block count */
/* A frame file's largest frame: 2^24 LEDs × 3 channels. */
#define SKY_FSEQ_MAX_CHANNELS (3u << 24)
/* Uncompressed bytes the writer aims a block at: small enough for a Pi to
 * hold one block while it plays, large enough for zstd to find the
 * repetition between frames. */
#define SKY_FSEQ_BLOCK_BYTES (1u << 20)
/* A recording of unknown length gets blocks of this many seconds of frames,
 * within SKY_FSEQ_BLOCK_BYTES..SKY_FSEQ_MAX_BLOCK_BYTES: the index then holds
 * 4095 blocks = 11 hours of 10 s blocks, and at 103,680 LEDs (311,040-byte
 * frames, 53 to a 16 MiB block) 60 minutes at 60 fps. */
#define SKY_FSEQ_BLOCK_SECONDS   10.0
#define SKY_FSEQ_MAX_BLOCK_BYTES (16u << 20)
#define SKY_FSEQ_COMPRESS_NONE   0u
#define SKY_FSEQ_COMPRESS_ZSTD   1u

typedef struct sky_fseq_info {
    uint32_t channel_count;
    uint32_t frame_count;
    uint32_t step_ms;       /* the header's step time, 1..255 */
    double fps;             /* the `sk` variable's exact rate, else 1000 / step_ms */
    uint32_t compression;   /* SKY_FSEQ_COMPRESS_* */
    uint32_t block_count;   /* blocks holding data (empty index entries skipped) */
    uint32_t minor_version; /* 0..2 */
    uint32_t data_offset;   /* where the channel data starts */
    uint64_t unique_id;     /* creation time in microseconds, by convention */
    char layout[64];        /* from `sk`, "" when absent */
    char producer[64];      /* from `sp`, "" when absent */
} sky_fseq_info;

/* ------------------------------------------------------------------ writer */

typedef struct sky_fseq_writer sky_fseq_writer;

typedef struct sky_fseq_writer_options {
    const char *path;         /* created or truncated */
    uint32_t channel_count;   /* 1..SKY_FSEQ_MAX_CHANNELS */
    double fps;               /* 3.93..1000: the step time is round(1000 / fps) ms, 1..255 */
    uint64_t frames_expected; /* 0: unknown (the index reserves SKY_FSEQ_MAX_BLOCKS) */
    int zstd_level;           /* 0: uncompressed (type 0), else a zstd level 1..19 */
    const char *layout;       /* stored in `sk` for `sky play`; NULL: none */
    const char *producer;     /* stored in `sp`; NULL: "Skyscreen" */
} sky_fseq_writer_options;

sky_status sky_fseq_writer_create(const sky_fseq_writer_options *options, sky_fseq_writer **writer,
                                  char *error, size_t error_len);
/*
 * Frames each block should hold (the last one may hold fewer), planned at
 * create: SKY_FSEQ_BLOCK_BYTES worth (at least 1); with frames_expected, at
 * least enough that they fit the index; without, SKY_FSEQ_BLOCK_SECONDS of
 * frames within SKY_FSEQ_BLOCK_BYTES..SKY_FSEQ_MAX_BLOCK_BYTES. Uncompressed
 * files take any number of frames at once.
 */
uint32_t sky_fseq_writer_block_frames(const sky_fseq_writer *writer);
/* Frames written so far. */
uint64_t sky_fseq_writer_frames(const sky_fseq_writer *writer);
/* Bytes written so far (the file's size). */
uint64_t sky_fseq_writer_bytes(const sky_fseq_writer *writer);

/* Appends `count` frames (count × channel_count bytes): one block, compressed here. */
sky_status sky_fseq_writer_add_frames(sky_fseq_writer *writer, const uint8_t *frames,
                                      uint32_t count, char *error, size_t error_len);
/* Appends one block that sky_fseq_compress made of `count` frames (zstd files only).
 * SKY_ERR_LIMIT when the index is full or the frame count would pass 2^32 - 1. */
sky_status sky_fseq_writer_add_compressed(sky_fseq_writer *writer, uint32_t count, const void *data,
                                          size_t len, char *error, size_t error_len);
/* Flushes the header and closes the file; the writer is still to be freed. */
sky_status sky_fseq_writer_finish(sky_fseq_writer *writer, char *error, size_t error_len);
/* Closes without finishing: the file holds every block added so far. */
void sky_fseq_writer_free(sky_fseq_writer *writer);

/*
 * Compresses `len` bytes into a malloc'd zstd frame (*out, *out_len; free()
 * it) at `level`. Thread-safe: workers compress blocks in parallel and a
 * single thread appends them in order.
 */
sky_status sky_fseq_compress(const uint8_t *src, size_t len, int level, void **out, size_t *out_len,
                             char *error, size_t error_len);

/* ---------------------------------------------------------------- pipeline */

/*
 * A ring of frame buffers in memory between one producer (a thread that must
 * not wait: the recorder copying frames out of the frame file) and worker
 * threads that compress blocks and append them to a writer in order. The
 * ring holds at least (workers + 1) of the writer's blocks, and at least
 * `ring_frames`.
 */
typedef struct sky_fseq_pipeline sky_fseq_pipeline;

/* The writer stays the caller's (free it after sky_fseq_pipeline_free); zstd files only. */
sky_status sky_fseq_pipeline_create(sky_fseq_writer *writer, uint32_t ring_frames, unsigned workers,
                                    sky_fseq_pipeline **pipeline, char *error, size_t error_len);
/* The buffer for the next frame (channel_count bytes), or NULL while the ring is full. */
uint8_t *sky_fseq_pipeline_slot(sky_fseq_pipeline *pipeline);
/* The same, waiting for room (an offline renderer); NULL only after a failure. */
uint8_t *sky_fseq_pipeline_slot_wait(sky_fseq_pipeline *pipeline);
/* The buffer of the last frame committed (NULL before the first): valid until the next commit. */
const uint8_t *sky_fseq_pipeline_last(const sky_fseq_pipeline *pipeline);
/* Hands the frame written into the slot to the workers. */
void sky_fseq_pipeline_commit(sky_fseq_pipeline *pipeline);
/* Frames the ring holds now, and its capacity. */
uint32_t sky_fseq_pipeline_queued(sky_fseq_pipeline *pipeline, uint32_t *capacity);
/* SKY_OK, or the first failure of a worker (a full disk) with its message. */
sky_status sky_fseq_pipeline_status(sky_fseq_pipeline *pipeline, char *error, size_t error_len);
/* Compresses and writes what is left (the last, shorter block), stops the workers. */
sky_status sky_fseq_pipeline_finish(sky_fseq_pipeline *pipeline, char *error, size_t error_len);
void sky_fseq_pipeline_free(sky_fseq_pipeline *pipeline);

/* ------------------------------------------------------------------ reader */

typedef struct sky_fseq_reader sky_fseq_reader;

/*
 * Opens and checks a file: every header field, the block index and the
 * variable headers against the file's size, before any frame is read; a bad
 * one is SKY_ERR_FORMAT with a message naming the field and its offset. The
 * blocks' contents are checked as they are read.
 */
sky_status sky_fseq_reader_open(const char *path, sky_fseq_reader **reader, char *error,
                                size_t error_len);
/* The same over bytes in memory (kept by the caller until free); `name` labels messages. */
sky_status sky_fseq_reader_open_memory(const uint8_t *data, size_t size, const char *name,
                                       sky_fseq_reader **reader, char *error, size_t error_len);
const sky_fseq_info *sky_fseq_reader_info(const sky_fseq_reader *reader);
/*
 * Copies frame `index` (0-based, < frame_count) into dst (channel_count
 * bytes). Reading in order costs one frame's decompression; going back
 * restarts the frame's block. SKY_ERR_FORMAT when the block is corrupt or
 * holds more or fewer bytes than its frames (the message names the block
 * and its offset).
 */
sky_status sky_fseq_reader_read(sky_fseq_reader *reader, uint32_t index, uint8_t *dst,
                                size_t dst_len, char *error, size_t error_len);
void sky_fseq_reader_free(sky_fseq_reader *reader);

#ifdef __cplusplus
}
#endif

#endif
