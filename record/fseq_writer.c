/*
 * fseq_writer.c - writes FSEQ v2 files (sky/fseq.h, docs/record.md).
 *
 * The file is laid out once at create: header, a block index with room for
 * every block the recording may need (zero entries, which players skip),
 * the variable headers, then the channel data, appended block by block.
 * After each block the writer rewrites that block's index entry and the
 * header's frame count (two small pwrites), so the file on disk is a valid
 * FSEQ after every block: a recorder that is killed leaves a playable file.
 *
 * The index cannot grow (the channel data follows it, and its offset is a
 * u16), so the number of frames per block is planned at create: from
 * frames_expected when known (every length fits), else 10 seconds of frames
 * a block, within 1..16 MiB (sky/fseq.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "fseq_internal.h"

struct sky_fseq_writer {
    int fd;
    char *path;
    uint32_t channels;
    int level;
    uint32_t capacity;    /* index entries reserved; 0 when uncompressed */
    uint32_t used;        /* index entries written */
    uint64_t base_frames; /* frames per block before any doubling */
    uint64_t frames;
    uint64_t end; /* the file's size: where the next block goes */
    uint32_t data_offset;
};

void fseq_error(char *error, size_t error_len, const char *fmt, ...) {
    if (!error || error_len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, error_len, fmt, ap);
    va_end(ap);
}

uint32_t fseq_step_ms(double fps) {
    double ms = round(1000.0 / fps);
    return ms < 1 ? 1 : ms > FSEQ_MAX_STEP_MS ? FSEQ_MAX_STEP_MS : (uint32_t)ms;
}

static sky_status fseq_pwrite_all(sky_fseq_writer *w, const void *buf, size_t len, uint64_t offset,
                                  const char *what, char *error, size_t error_len) {
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(w->fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            fseq_error(error, error_len, "%s: writing the %s at offset %llu: %s", w->path, what,
                       (unsigned long long)offset, n < 0 ? strerror(errno) : "no progress");
            return SKY_ERR_IO;
        }
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return SKY_OK;
}

/* One variable header: u16 length, two-character code, NUL-terminated text. */
static size_t fseq_put_var(uint8_t *p, const char code[2], const char *text) {
    size_t len = FSEQ_VAR_HEADER_BYTES + strlen(text) + 1;
    fseq_put_u16(p, (uint32_t)len);
    p[2] = (uint8_t)code[0];
    p[3] = (uint8_t)code[1];
    memcpy(p + FSEQ_VAR_HEADER_BYTES, text, len - FSEQ_VAR_HEADER_BYTES);
    return len;
}

static sky_status fseq_check_options(const sky_fseq_writer_options *o, char *error,
                                     size_t error_len) {
    const char *path = o->path ? o->path : "(null)";
    if (!o->path || !*o->path) {
        fseq_error(error, error_len, "FSEQ writer: no output path");
        return SKY_ERR_INVALID_ARG;
    }
    if (o->channel_count < 1 || o->channel_count > SKY_FSEQ_MAX_CHANNELS) {
        fseq_error(error, error_len, "%s: %u channels per frame (FSEQ takes 1..%u here)", path,
                   o->channel_count, SKY_FSEQ_MAX_CHANNELS);
        return SKY_ERR_INVALID_ARG;
    }
    /* The step time is a u8 of milliseconds: 1000 / 255 = 3.93 fps at the slowest. */
    if (!(o->fps >= 1000.0 / (FSEQ_MAX_STEP_MS + 0.5) && o->fps <= 1000)) {
        fseq_error(error, error_len,
                   "%s: %g fps cannot be an FSEQ step time (1..255 ms: 3.93..1000 fps)", path,
                   o->fps);
        return SKY_ERR_INVALID_ARG;
    }
    if (o->zstd_level < 0 || o->zstd_level > ZSTD_maxCLevel()) {
        fseq_error(error, error_len, "%s: zstd level %d (0: uncompressed, 1..%d)", path,
                   o->zstd_level, ZSTD_maxCLevel());
        return SKY_ERR_INVALID_ARG;
    }
    if (o->layout && strlen(o->layout) > 48) {
        fseq_error(error, error_len, "%s: the layout `%s` is longer than 48 bytes", path,
                   o->layout);
        return SKY_ERR_INVALID_ARG;
    }
    return SKY_OK;
}

/* How many index entries and frames per block (sky_fseq_writer_block_frames). */
static void fseq_plan_blocks(sky_fseq_writer *w, uint64_t expected, double fps) {
    w->base_frames = SKY_FSEQ_BLOCK_BYTES / w->channels;
    if (w->base_frames < 1) w->base_frames = 1;
    if (w->level == 0) return; /* no index */
    if (expected == 0) {
        uint64_t most = SKY_FSEQ_MAX_BLOCK_BYTES / w->channels;
        uint64_t ten_s = (uint64_t)ceil(fps * SKY_FSEQ_BLOCK_SECONDS);
        if (w->base_frames < ten_s) w->base_frames = ten_s < most ? ten_s : most;
        w->capacity = SKY_FSEQ_MAX_BLOCKS;
        return;
    }
    uint64_t least = (expected + SKY_FSEQ_MAX_BLOCKS - 1) / SKY_FSEQ_MAX_BLOCKS;
    if (w->base_frames < least) w->base_frames = least;
    w->capacity = (uint32_t)((expected + w->base_frames - 1) / w->base_frames);
}

static sky_status fseq_write_layout(sky_fseq_writer *w, const sky_fseq_writer_options *o,
                                    char *error, size_t error_len) {
    uint32_t vars_offset = SKY_FSEQ_HEADER_BYTES + w->capacity * FSEQ_BLOCK_ENTRY_BYTES;
    char sk[96];
    snprintf(sk, sizeof sk, "fps=%.9g;layout=%s", o->fps, o->layout ? o->layout : "");
    uint8_t vars[256];
    size_t vars_len = fseq_put_var(vars, "sp", o->producer ? o->producer : "Skyscreen");
    vars_len += fseq_put_var(vars + vars_len, "sk", sk);
    w->data_offset = (uint32_t)((vars_offset + vars_len + 3) & ~(size_t)3); /* as FPP: 4-aligned */

    uint8_t *head = calloc(1, w->data_offset);
    if (!head) {
        fseq_error(error, error_len, "%s: out of memory", w->path);
        return SKY_ERR_NOMEM;
    }
    memcpy(head + FSEQ_OFF_MAGIC, "PSEQ", 4);
    fseq_put_u16(head + FSEQ_OFF_DATA_OFFSET, w->data_offset);
    head[FSEQ_OFF_MINOR] = w->capacity > 255 ? 1 : 0; /* 1: the 12-bit block count */
    head[FSEQ_OFF_MAJOR] = 2;
    fseq_put_u16(head + FSEQ_OFF_VARS_OFFSET, vars_offset);
    fseq_put_u32(head + FSEQ_OFF_CHANNELS, w->channels);
    fseq_put_u32(head + FSEQ_OFF_FRAMES, 0);
    head[FSEQ_OFF_STEP_MS] = (uint8_t)fseq_step_ms(o->fps);
    head[FSEQ_OFF_COMPRESSION] =
        (uint8_t)((w->level ? SKY_FSEQ_COMPRESS_ZSTD : 0) | ((w->capacity >> 8) & 0xfu) << 4);
    head[FSEQ_OFF_BLOCKS] = (uint8_t)(w->capacity & 0xffu);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    fseq_put_u64(head + FSEQ_OFF_UNIQUE_ID,
                 (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u);
    memcpy(head + vars_offset, vars, vars_len);
    sky_status st = fseq_pwrite_all(w, head, w->data_offset, 0, "header", error, error_len);
    free(head);
    w->end = w->data_offset;
    return st;
}

sky_status sky_fseq_writer_create(const sky_fseq_writer_options *options, sky_fseq_writer **writer,
                                  char *error, size_t error_len) {
    if (!options || !writer) return SKY_ERR_INVALID_ARG;
    *writer = NULL;
    sky_status st = fseq_check_options(options, error, error_len);
    if (st != SKY_OK) return st;
    sky_fseq_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(options->path))) {
        free(w);
        fseq_error(error, error_len, "%s: out of memory", options->path);
        return SKY_ERR_NOMEM;
    }
    w->channels = options->channel_count;
    w->level = options->zstd_level;
    fseq_plan_blocks(w, options->frames_expected, options->fps);
    w->fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        fseq_error(error, error_len, "%s: %s", w->path, strerror(errno));
        free(w->path);
        free(w);
        return SKY_ERR_IO;
    }
    st = fseq_write_layout(w, options, error, error_len);
    if (st != SKY_OK) {
        sky_fseq_writer_free(w);
        return st;
    }
    *writer = w;
    return SKY_OK;
}

uint32_t sky_fseq_writer_block_frames(const sky_fseq_writer *w) {
    if (!w) return 1;
    return w->base_frames > UINT32_MAX ? UINT32_MAX : (uint32_t)w->base_frames;
}

uint64_t sky_fseq_writer_frames(const sky_fseq_writer *w) {
    return w ? w->frames : 0;
}
uint64_t sky_fseq_writer_bytes(const sky_fseq_writer *w) {
    return w ? w->end : 0;
}

static sky_status fseq_check_count(sky_fseq_writer *w, uint32_t count, char *error,
                                   size_t error_len) {
    if (w->fd < 0) {
        fseq_error(error, error_len, "%s: the writer is finished", w->path);
        return SKY_ERR_INVALID_ARG;
    }
    if (count == 0) {
        fseq_error(error, error_len, "%s: a block of no frames", w->path);
        return SKY_ERR_INVALID_ARG;
    }
    if (w->frames + count > UINT32_MAX) {
        fseq_error(error, error_len, "%s: FSEQ counts frames in 32 bits: %llu + %u is too many",
                   w->path, (unsigned long long)w->frames, count);
        return SKY_ERR_LIMIT;
    }
    return SKY_OK;
}

/* The header's frame count, after the frames' bytes: the file stays valid. */
static sky_status fseq_commit_frames(sky_fseq_writer *w, uint32_t count, char *error,
                                     size_t error_len) {
    uint8_t le[4];
    fseq_put_u32(le, (uint32_t)(w->frames + count));
    sky_status st = fseq_pwrite_all(w, le, 4, FSEQ_OFF_FRAMES, "frame count", error, error_len);
    if (st == SKY_OK) w->frames += count;
    return st;
}

sky_status sky_fseq_writer_add_compressed(sky_fseq_writer *w, uint32_t count, const void *data,
                                          size_t len, char *error, size_t error_len) {
    if (!w || !data) return SKY_ERR_INVALID_ARG;
    sky_status st = fseq_check_count(w, count, error, error_len);
    if (st != SKY_OK) return st;
    if (w->level == 0) {
        fseq_error(error, error_len, "%s: an uncompressed file takes frames, not blocks", w->path);
        return SKY_ERR_INVALID_ARG;
    }
    if (w->used >= w->capacity) {
        fseq_error(error, error_len,
                   "%s: the block index is full (%u blocks, %llu frames); give the recording's "
                   "length up front to plan larger blocks",
                   w->path, w->capacity, (unsigned long long)w->frames);
        return SKY_ERR_LIMIT;
    }
    if (len > UINT32_MAX) {
        fseq_error(error, error_len, "%s: a compressed block of %zu bytes (FSEQ: < 4 GiB)", w->path,
                   len);
        return SKY_ERR_LIMIT;
    }
    st = fseq_pwrite_all(w, data, len, w->end, "block", error, error_len);
    if (st != SKY_OK) return st;
    uint8_t entry[FSEQ_BLOCK_ENTRY_BYTES];
    fseq_put_u32(entry, (uint32_t)w->frames);
    fseq_put_u32(entry + 4, (uint32_t)len);
    st = fseq_pwrite_all(w, entry, sizeof entry,
                         SKY_FSEQ_HEADER_BYTES + (uint64_t)w->used * FSEQ_BLOCK_ENTRY_BYTES,
                         "block index", error, error_len);
    if (st != SKY_OK) return st;
    w->used++;
    w->end += len;
    return fseq_commit_frames(w, count, error, error_len);
}

sky_status sky_fseq_writer_add_frames(sky_fseq_writer *w, const uint8_t *frames, uint32_t count,
                                      char *error, size_t error_len) {
    if (!w || !frames) return SKY_ERR_INVALID_ARG;
    sky_status st = fseq_check_count(w, count, error, error_len);
    if (st != SKY_OK) return st;
    size_t bytes = (size_t)count * w->channels;
    if (w->level == 0) {
        st = fseq_pwrite_all(w, frames, bytes, w->end, "frames", error, error_len);
        if (st != SKY_OK) return st;
        w->end += bytes;
        return fseq_commit_frames(w, count, error, error_len);
    }
    void *packed = NULL;
    size_t packed_len = 0;
    st = sky_fseq_compress(frames, bytes, w->level, &packed, &packed_len, error, error_len);
    if (st == SKY_OK)
        st = sky_fseq_writer_add_compressed(w, count, packed, packed_len, error, error_len);
    free(packed);
    return st;
}

sky_status sky_fseq_writer_finish(sky_fseq_writer *w, char *error, size_t error_len) {
    if (!w) return SKY_ERR_INVALID_ARG;
    if (w->fd < 0) return SKY_OK;
    int rc;
    do rc = fdatasync(w->fd);
    while (rc != 0 && errno == EINTR);
    int sync_errno = rc != 0 ? errno : 0;
    rc = close(w->fd);
    w->fd = -1;
    if (sync_errno != 0 || rc != 0) {
        fseq_error(error, error_len, "%s: flushing the file: %s", w->path,
                   strerror(sync_errno ? sync_errno : errno));
        return SKY_ERR_IO;
    }
    return SKY_OK;
}

void sky_fseq_writer_free(sky_fseq_writer *w) {
    if (!w) return;
    if (w->fd >= 0) close(w->fd);
    free(w->path);
    free(w);
}

sky_status sky_fseq_compress(const uint8_t *src, size_t len, int level, void **out, size_t *out_len,
                             char *error, size_t error_len) {
    if (!src || !out || !out_len) return SKY_ERR_INVALID_ARG;
    *out = NULL;
    *out_len = 0;
    size_t bound = ZSTD_compressBound(len);
    void *dst = malloc(bound ? bound : 1);
    if (!dst) {
        fseq_error(error, error_len, "FSEQ: out of memory for a %zu-byte block", len);
        return SKY_ERR_NOMEM;
    }
    /* A checksum in every block (4 bytes): a flipped bit on disk is an error when read,
     * not a wrong colour on the LEDs. */
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    size_t n = cctx ? ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level) : 0;
    if (cctx && !ZSTD_isError(n)) n = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    if (cctx && !ZSTD_isError(n)) n = ZSTD_compress2(cctx, dst, bound, src, len);
    ZSTD_freeCCtx(cctx);
    if (!cctx) {
        free(dst);
        fseq_error(error, error_len, "FSEQ: out of memory for a zstd context");
        return SKY_ERR_NOMEM;
    }
    if (ZSTD_isError(n)) {
        fseq_error(error, error_len, "FSEQ: zstd: %s", ZSTD_getErrorName(n));
        free(dst);
        return SKY_ERR_INTERNAL;
    }
    *out = dst;
    *out_len = n;
    return SKY_OK;
}

uint64_t fseq_writer_max_block_frames(const sky_fseq_writer *w) {
    return w->base_frames;
}
uint32_t fseq_writer_channels(const sky_fseq_writer *w) {
    return w->channels;
}
int fseq_writer_level(const sky_fseq_writer *w) {
    return w->level;
}
