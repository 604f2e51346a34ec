/*
 * fseq_reader.c - reads FSEQ v2 files (sky/fseq.h, docs/record.md), made by
 * us, xLights, Falcon Player or anyone: every field is checked before use.
 *
 * Open reads the 32-byte header, the block index and the variable headers
 * and checks them against the file's size with 64-bit arithmetic; a bad one
 * is an error naming the field and its offset. Nothing is allocated from a
 * header's claims: frames are decompressed one at a time through a zstd
 * stream (a block of 4 G frames costs one frame's memory), and a block's
 * compressed bytes are read in ZSTD_DStreamInSize() pieces. A block that
 * holds more or fewer bytes than its frames is an error when read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "fseq_internal.h"

typedef struct fseq_block {
    uint32_t first;  /* first frame */
    uint32_t frames; /* frames it holds */
    uint64_t offset; /* of its compressed bytes in the file */
    uint32_t len;
    uint32_t entry; /* its index entry, for messages */
} fseq_block;

struct sky_fseq_reader {
    char *name;
    int fd; /* -1 for a memory source */
    const uint8_t *mem;
    uint64_t size;
    sky_fseq_info info;
    fseq_block *blocks;
    /* The zstd stream: positioned in block `cur` before frame `next`. */
    ZSTD_DStream *ds;
    uint32_t cur; /* UINT32_MAX: none */
    uint32_t next;
    uint64_t consumed; /* compressed bytes of the block handed to zstd */
    bool at_frame_end; /* zstd's last call ended a zstd frame (it returned 0) */
    uint8_t *in_buf;
    size_t in_cap;
    ZSTD_inBuffer in;
};

static sky_status fseq_source_read(sky_fseq_reader *r, void *buf, size_t len, uint64_t offset,
                                   const char *what, char *error, size_t error_len) {
    if (offset > r->size || len > r->size - offset) {
        fseq_error(error, error_len,
                   "%s: the file ends (at %llu bytes) inside the %s (offset %llu, %zu bytes): "
                   "truncated?",
                   r->name, (unsigned long long)r->size, what, (unsigned long long)offset, len);
        return SKY_ERR_FORMAT;
    }
    if (r->fd < 0) {
        memcpy(buf, r->mem + offset, len);
        return SKY_OK;
    }
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pread(r->fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            fseq_error(error, error_len, "%s: reading the %s at offset %llu: %s", r->name, what,
                       (unsigned long long)offset, strerror(errno));
            return SKY_ERR_IO;
        }
        if (n == 0) {
            fseq_error(error, error_len, "%s: the file shrank while reading the %s at offset %llu",
                       r->name, what, (unsigned long long)offset);
            return SKY_ERR_FORMAT;
        }
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return SKY_OK;
}

/* --------------------------------------------------------------- the header */

static sky_status fseq_check_ids(sky_fseq_reader *r, const uint8_t *h, char *error,
                                 size_t error_len) {
    if (memcmp(h, "FSEQ", 4) == 0) {
        fseq_error(error, error_len,
                   "%s: offset 0: `FSEQ` marks an FSEQ v1 file; only v2 (`PSEQ`) is read "
                   "(re-export it from xLights as v2)",
                   r->name);
        return SKY_ERR_FORMAT;
    }
    if (memcmp(h, "PSEQ", 4) != 0) {
        fseq_error(error, error_len,
                   "%s: offset 0: the magic is %02x %02x %02x %02x, not `PSEQ`: not an FSEQ file",
                   r->name, h[0], h[1], h[2], h[3]);
        return SKY_ERR_FORMAT;
    }
    if (h[FSEQ_OFF_MAJOR] != 2) {
        fseq_error(error, error_len, "%s: offset 7 (major version): %u; only FSEQ v2 is read",
                   r->name, h[FSEQ_OFF_MAJOR]);
        return SKY_ERR_FORMAT;
    }
    if (h[FSEQ_OFF_MINOR] > 2) {
        fseq_error(error, error_len, "%s: offset 6 (minor version): %u; v2.0 to v2.2 are read",
                   r->name, h[FSEQ_OFF_MINOR]);
        return SKY_ERR_FORMAT;
    }
    return SKY_OK;
}

static sky_status fseq_check_fields(sky_fseq_reader *r, const uint8_t *h, uint32_t *index_entries,
                                    uint32_t *vars_offset, char *error, size_t error_len) {
    sky_fseq_info *in = &r->info;
    in->minor_version = h[FSEQ_OFF_MINOR];
    in->data_offset = fseq_get_u16(h + FSEQ_OFF_DATA_OFFSET);
    *vars_offset = fseq_get_u16(h + FSEQ_OFF_VARS_OFFSET);
    in->channel_count = fseq_get_u32(h + FSEQ_OFF_CHANNELS);
    in->frame_count = fseq_get_u32(h + FSEQ_OFF_FRAMES);
    in->step_ms = h[FSEQ_OFF_STEP_MS];
    in->compression = h[FSEQ_OFF_COMPRESSION] & 0xfu;
    in->unique_id = fseq_get_u64(h + FSEQ_OFF_UNIQUE_ID);
    uint32_t sparse = h[FSEQ_OFF_SPARSE];
    *index_entries = h[FSEQ_OFF_BLOCKS] | (uint32_t)(h[FSEQ_OFF_COMPRESSION] >> 4) << 8;
    if (in->channel_count < 1 || in->channel_count > SKY_FSEQ_MAX_CHANNELS) {
        fseq_error(error, error_len, "%s: offset 10 (channel count): %u; 1..%u are read", r->name,
                   in->channel_count, SKY_FSEQ_MAX_CHANNELS);
        return SKY_ERR_FORMAT;
    }
    if (in->step_ms < 1) {
        fseq_error(error, error_len, "%s: offset 18 (step time): 0 ms", r->name);
        return SKY_ERR_FORMAT;
    }
    if (in->compression > SKY_FSEQ_COMPRESS_ZSTD) {
        fseq_error(error, error_len,
                   "%s: offset 20 (compression type): %u (%s); 0 (none) and 1 "
                   "(zstd) are read",
                   r->name, in->compression, in->compression == 2 ? "zlib" : "unknown");
        return SKY_ERR_FORMAT;
    }
    if (in->compression == SKY_FSEQ_COMPRESS_NONE) *index_entries = 0;
    if (sparse != 0) {
        fseq_error(error, error_len,
                   "%s: offset 22 (sparse range count): %u; files with sparse ranges are not "
                   "played (export every channel)",
                   r->name, sparse);
        return SKY_ERR_FORMAT;
    }
    uint32_t tables = SKY_FSEQ_HEADER_BYTES + *index_entries * FSEQ_BLOCK_ENTRY_BYTES;
    if (*vars_offset < tables) {
        fseq_error(error, error_len,
                   "%s: offset 8 (header length): %u, but the header and its %u-entry block index "
                   "take %u bytes",
                   r->name, *vars_offset, *index_entries, tables);
        return SKY_ERR_FORMAT;
    }
    if (in->data_offset < *vars_offset) {
        fseq_error(error, error_len,
                   "%s: offset 4 (channel data offset): %u, before the variable headers at %u",
                   r->name, in->data_offset, *vars_offset);
        return SKY_ERR_FORMAT;
    }
    if (in->data_offset > r->size) {
        fseq_error(error, error_len,
                   "%s: offset 4 (channel data offset): %u, past the end of the %llu-byte file "
                   "(truncated?)",
                   r->name, in->data_offset, (unsigned long long)r->size);
        return SKY_ERR_FORMAT;
    }
    in->fps = 1000.0 / in->step_ms;
    return SKY_OK;
}

/* A variable's text: up to its NUL or end, printable ASCII only, bounded. */
static void fseq_var_text(char *dst, size_t cap, const uint8_t *src, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len && src[i] && n + 1 < cap; i++)
        dst[n++] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
    dst[n] = '\0';
}

/* Skyscreen's `sk` variable: `fps=N;layout=SPEC` (unknown keys are ignored). */
static sky_status fseq_parse_sk(sky_fseq_reader *r, const char *text, uint32_t offset, char *error,
                                size_t error_len) {
    const char *p = text;
    while (*p) {
        size_t len = strcspn(p, ";");
        if (strncmp(p, "fps=", 4) == 0) {
            char num[32];
            size_t n = len - 4 < sizeof num - 1 ? len - 4 : sizeof num - 1;
            memcpy(num, p + 4, n);
            num[n] = '\0';
            char *end = NULL;
            double fps = strtod(num, &end);
            if (n == 0 || *end != '\0' || !(fps > 0 && fps <= 1000)) {
                fseq_error(error, error_len,
                           "%s: variable `sk` at offset %u: fps `%s` is not a rate in (0, 1000]",
                           r->name, offset, num);
                return SKY_ERR_FORMAT;
            }
            r->info.fps = fps;
        } else if (strncmp(p, "layout=", 7) == 0) {
            size_t n = len - 7 < sizeof r->info.layout - 1 ? len - 7 : sizeof r->info.layout - 1;
            memcpy(r->info.layout, p + 7, n);
            r->info.layout[n] = '\0';
        }
        p += len;
        if (*p == ';') p++;
    }
    return SKY_OK;
}

static sky_status fseq_read_vars(sky_fseq_reader *r, uint32_t from, char *error, size_t error_len) {
    uint32_t to = r->info.data_offset;
    uint32_t len = to - from;
    uint8_t *vars = malloc(len ? len : 1); /* at most 64 KiB: the offsets are u16 */
    if (!vars) {
        fseq_error(error, error_len, "%s: out of memory", r->name);
        return SKY_ERR_NOMEM;
    }
    sky_status st = fseq_source_read(r, vars, len, from, "variable headers", error, error_len);
    for (uint32_t pos = 0; st == SKY_OK && pos + FSEQ_VAR_HEADER_BYTES <= len;) {
        uint32_t var_len = fseq_get_u16(vars + pos);
        if (var_len < FSEQ_VAR_HEADER_BYTES) break; /* padding up to the channel data */
        if (var_len > len - pos) {
            fseq_error(error, error_len,
                       "%s: variable header at offset %u: length %u runs past the channel data at "
                       "%u",
                       r->name, from + pos, var_len, to);
            st = SKY_ERR_FORMAT;
            break;
        }
        const uint8_t *code = vars + pos + 2, *text = vars + pos + FSEQ_VAR_HEADER_BYTES;
        size_t text_len = var_len - FSEQ_VAR_HEADER_BYTES;
        if (code[0] == 's' && code[1] == 'p') {
            fseq_var_text(r->info.producer, sizeof r->info.producer, text, text_len);
        } else if (code[0] == 's' && code[1] == 'k') {
            char sk[128];
            fseq_var_text(sk, sizeof sk, text, text_len);
            st = fseq_parse_sk(r, sk, from + pos, error, error_len);
        }
        pos += var_len;
    }
    free(vars);
    return st;
}

/* The block index: non-empty entries, first frames from 0 and increasing, bytes inside the file. */
static sky_status fseq_read_index(sky_fseq_reader *r, uint32_t entries, char *error,
                                  size_t error_len) {
    uint8_t *raw = malloc(entries ? (size_t)entries * FSEQ_BLOCK_ENTRY_BYTES : 1);
    r->blocks = calloc(entries ? entries : 1, sizeof *r->blocks);
    if (!raw || !r->blocks) {
        free(raw);
        fseq_error(error, error_len, "%s: out of memory", r->name);
        return SKY_ERR_NOMEM;
    }
    sky_status st = fseq_source_read(r, raw, (size_t)entries * FSEQ_BLOCK_ENTRY_BYTES,
                                     SKY_FSEQ_HEADER_BYTES, "block index", error, error_len);
    uint64_t offset = r->info.data_offset;
    uint32_t n = 0;
    for (uint32_t i = 0; st == SKY_OK && i < entries; i++) {
        uint32_t at = SKY_FSEQ_HEADER_BYTES + i * FSEQ_BLOCK_ENTRY_BYTES;
        uint32_t first = fseq_get_u32(raw + i * FSEQ_BLOCK_ENTRY_BYTES);
        uint32_t len = fseq_get_u32(raw + i * FSEQ_BLOCK_ENTRY_BYTES + 4);
        if (len == 0) continue; /* players skip empty entries (room left for more blocks) */
        const char *bad = NULL;
        if (n == 0 && first != 0)
            bad = "the first block must start at frame 0";
        else if (n > 0 && first <= r->blocks[n - 1].first)
            bad = "frames must increase";
        else if (first >= r->info.frame_count)
            bad = "past the frame count";
        else if (len > r->size - offset)
            bad = "its bytes run past the end of the file";
        if (bad) {
            fseq_error(error, error_len,
                       "%s: block index entry %u at offset %u: first frame %u, %u bytes: %s "
                       "(%u frames, %llu-byte file)",
                       r->name, i, at, first, len, bad, r->info.frame_count,
                       (unsigned long long)r->size);
            st = SKY_ERR_FORMAT;
            break;
        }
        r->blocks[n] = (fseq_block){first, 0, offset, len, i};
        if (n > 0) r->blocks[n - 1].frames = first - r->blocks[n - 1].first;
        offset += len;
        n++;
    }
    free(raw);
    if (st != SKY_OK) return st;
    if (n > 0) r->blocks[n - 1].frames = r->info.frame_count - r->blocks[n - 1].first;
    if (n == 0 && r->info.frame_count > 0) {
        fseq_error(error, error_len,
                   "%s: offset 14 (frame count): %u frames, but the block index (offset 32, %u "
                   "entries) holds no block",
                   r->name, r->info.frame_count, entries);
        return SKY_ERR_FORMAT;
    }
    r->info.block_count = n;
    return SKY_OK;
}

static sky_status fseq_check_uncompressed(sky_fseq_reader *r, char *error, size_t error_len) {
    uint64_t need = (uint64_t)r->info.frame_count * r->info.channel_count;
    if (need > r->size - r->info.data_offset) {
        fseq_error(error, error_len,
                   "%s: offset 14 (frame count): %u frames of %u channels need %llu bytes after "
                   "offset %u, the file has %llu (truncated?)",
                   r->name, r->info.frame_count, r->info.channel_count, (unsigned long long)need,
                   r->info.data_offset, (unsigned long long)(r->size - r->info.data_offset));
        return SKY_ERR_FORMAT;
    }
    return SKY_OK;
}

static sky_status fseq_open(sky_fseq_reader *r, char *error, size_t error_len) {
    uint8_t h[SKY_FSEQ_HEADER_BYTES];
    if (r->size < sizeof h) {
        fseq_error(error, error_len,
                   "%s: %llu bytes, shorter than the 32-byte FSEQ header (truncated or not FSEQ)",
                   r->name, (unsigned long long)r->size);
        return SKY_ERR_FORMAT;
    }
    sky_status st = fseq_source_read(r, h, sizeof h, 0, "header", error, error_len);
    uint32_t entries = 0, vars_offset = 0;
    if (st == SKY_OK) st = fseq_check_ids(r, h, error, error_len);
    if (st == SKY_OK) st = fseq_check_fields(r, h, &entries, &vars_offset, error, error_len);
    if (st == SKY_OK) st = fseq_read_vars(r, vars_offset, error, error_len);
    if (st != SKY_OK) return st;
    if (r->info.compression == SKY_FSEQ_COMPRESS_NONE)
        return fseq_check_uncompressed(r, error, error_len);
    st = fseq_read_index(r, entries, error, error_len);
    if (st != SKY_OK) return st;
    r->ds = ZSTD_createDStream();
    r->in_cap = ZSTD_DStreamInSize();
    r->in_buf = malloc(r->in_cap);
    if (!r->ds || !r->in_buf) {
        fseq_error(error, error_len, "%s: out of memory for the zstd stream", r->name);
        return SKY_ERR_NOMEM;
    }
    return SKY_OK;
}

static sky_fseq_reader *fseq_reader_new(const char *name) {
    sky_fseq_reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->fd = -1;
    r->cur = UINT32_MAX;
    if (!(r->name = strdup(name ? name : "(memory)"))) {
        free(r);
        return NULL;
    }
    return r;
}

static sky_status fseq_finish_open(sky_fseq_reader *r, sky_fseq_reader **reader, char *error,
                                   size_t error_len) {
    sky_status st = fseq_open(r, error, error_len);
    if (st != SKY_OK) {
        sky_fseq_reader_free(r);
        return st;
    }
    *reader = r;
    return SKY_OK;
}

sky_status sky_fseq_reader_open(const char *path, sky_fseq_reader **reader, char *error,
                                size_t error_len) {
    if (!path || !reader) return SKY_ERR_INVALID_ARG;
    *reader = NULL;
    sky_fseq_reader *r = fseq_reader_new(path);
    if (!r) {
        fseq_error(error, error_len, "%s: out of memory", path);
        return SKY_ERR_NOMEM;
    }
    /* O_NONBLOCK: a FIFO at the path must not hang the open; it is refused below. */
    r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    if (r->fd < 0 || fstat(r->fd, &st) != 0) {
        fseq_error(error, error_len, "%s: %s", path, strerror(errno));
        sky_fseq_reader_free(r);
        return SKY_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        fseq_error(error, error_len, "%s: not a regular file", path);
        sky_fseq_reader_free(r);
        return SKY_ERR_FORMAT;
    }
    r->size = (uint64_t)st.st_size;
    return fseq_finish_open(r, reader, error, error_len);
}

sky_status sky_fseq_reader_open_memory(const uint8_t *data, size_t size, const char *name,
                                       sky_fseq_reader **reader, char *error, size_t error_len) {
    if (!reader || (!data && size)) return SKY_ERR_INVALID_ARG;
    *reader = NULL;
    sky_fseq_reader *r = fseq_reader_new(name);
    if (!r) {
        fseq_error(error, error_len, "FSEQ: out of memory");
        return SKY_ERR_NOMEM;
    }
    static const uint8_t empty[1];
    r->mem = data ? data : empty;
    r->size = size;
    return fseq_finish_open(r, reader, error, error_len);
}

const sky_fseq_info *sky_fseq_reader_info(const sky_fseq_reader *r) {
    return r ? &r->info : NULL;
}

void sky_fseq_reader_free(sky_fseq_reader *r) {
    if (!r) return;
    if (r->fd >= 0) close(r->fd);
    ZSTD_freeDStream(r->ds);
    free(r->in_buf);
    free(r->blocks);
    free(r->name);
    free(r);
}

/* ------------------------------------------------------------- the frames */

static sky_status fseq_block_error(sky_fseq_reader *r, const fseq_block *b, const char *what,
                                   char *error, size_t error_len) {
    fseq_error(error, error_len,
               "%s: block %u (index entry %u, %u bytes at offset %llu, frames %u..%llu of %u "
               "channels): %s",
               r->name, (unsigned)(b - r->blocks), b->entry, b->len, (unsigned long long)b->offset,
               b->first, (unsigned long long)b->first + b->frames - 1, r->info.channel_count, what);
    return SKY_ERR_FORMAT;
}

/* Hands zstd the block's next compressed bytes once it used the previous ones. */
static sky_status fseq_refill(sky_fseq_reader *r, const fseq_block *b, char *error,
                              size_t error_len) {
    if (r->in.pos < r->in.size || r->consumed == b->len) return SKY_OK;
    size_t n = b->len - r->consumed < r->in_cap ? (size_t)(b->len - r->consumed) : r->in_cap;
    sky_status st =
        fseq_source_read(r, r->in_buf, n, b->offset + r->consumed, "block", error, error_len);
    if (st != SKY_OK) return st;
    r->in = (ZSTD_inBuffer){r->in_buf, n, 0};
    r->consumed += n;
    return SKY_OK;
}

/* Decompresses exactly `len` bytes of the block into dst. */
static sky_status fseq_inflate(sky_fseq_reader *r, const fseq_block *b, uint8_t *dst, size_t len,
                               char *error, size_t error_len) {
    ZSTD_outBuffer out = {dst, len, 0};
    while (out.pos < out.size) {
        sky_status st = fseq_refill(r, b, error, error_len);
        if (st != SKY_OK) return st;
        size_t before_in = r->in.pos, before_out = out.pos;
        bool was_at_end = r->at_frame_end;
        size_t ret = ZSTD_decompressStream(r->ds, &out, &r->in);
        if (ZSTD_isError(ret)) {
            char what[160];
            snprintf(what, sizeof what, "zstd: %s", ZSTD_getErrorName(ret));
            return fseq_block_error(r, b, what, error, error_len);
        }
        r->at_frame_end = ret == 0;
        bool drained = r->in.pos == r->in.size && r->consumed == b->len;
        if (drained && out.pos < out.size && out.pos == before_out && r->in.pos == before_in)
            return fseq_block_error(r, b,
                                    was_at_end || ret == 0 ? "it holds fewer bytes than its frames"
                                                           : "its compressed data is cut short",
                                    error, error_len);
    }
    return SKY_OK;
}

/* After a block's last frame: nothing more may come out of it. */
static sky_status fseq_check_block_end(sky_fseq_reader *r, const fseq_block *b, char *error,
                                       size_t error_len) {
    for (;;) {
        sky_status st = fseq_refill(r, b, error, error_len);
        if (st != SKY_OK) return st;
        bool drained = r->in.pos == r->in.size && r->consumed == b->len;
        if (drained && r->at_frame_end) return SKY_OK;
        uint8_t extra;
        ZSTD_outBuffer out = {&extra, 1, 0};
        size_t before_in = r->in.pos;
        size_t ret = ZSTD_decompressStream(r->ds, &out, &r->in);
        if (ZSTD_isError(ret)) {
            char what[160];
            snprintf(what, sizeof what, "zstd: %s", ZSTD_getErrorName(ret));
            return fseq_block_error(r, b, what, error, error_len);
        }
        if (out.pos > 0)
            return fseq_block_error(r, b, "it holds more bytes than its frames", error, error_len);
        r->at_frame_end = ret == 0;
        drained = r->in.pos == r->in.size && r->consumed == b->len;
        if (drained && ret == 0) return SKY_OK;
        if (drained && r->in.pos == before_in)
            return fseq_block_error(r, b, "its compressed data is cut short", error, error_len);
    }
}

static uint32_t fseq_find_block(const sky_fseq_reader *r, uint32_t index) {
    uint32_t lo = 0, hi = r->info.block_count; /* the last block with first <= index */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r->blocks[mid].first <= index)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static sky_status fseq_read_zstd(sky_fseq_reader *r, uint32_t index, uint8_t *dst, char *error,
                                 size_t error_len) {
    uint32_t bi = fseq_find_block(r, index);
    const fseq_block *b = &r->blocks[bi];
    if (bi != r->cur || index < r->next) { /* (re)start the block */
        ZSTD_DCtx_reset(r->ds, ZSTD_reset_session_only);
        r->cur = bi;
        r->next = b->first;
        r->consumed = 0;
        r->at_frame_end = false;
        r->in = (ZSTD_inBuffer){r->in_buf, 0, 0};
    }
    size_t cc = r->info.channel_count;
    sky_status st = SKY_OK;
    while (st == SKY_OK && r->next <= index) {
        st = fseq_inflate(r, b, dst, cc, error, error_len);
        if (st == SKY_OK) r->next++;
    }
    if (st == SKY_OK && r->next == b->first + b->frames)
        st = fseq_check_block_end(r, b, error, error_len);
    if (st != SKY_OK) r->cur = UINT32_MAX; /* a broken stream is restarted next time */
    return st;
}

sky_status sky_fseq_reader_read(sky_fseq_reader *r, uint32_t index, uint8_t *dst, size_t dst_len,
                                char *error, size_t error_len) {
    if (!r || !dst) return SKY_ERR_INVALID_ARG;
    if (index >= r->info.frame_count) {
        fseq_error(error, error_len, "%s: frame %u of %u", r->name, index, r->info.frame_count);
        return SKY_ERR_INVALID_ARG;
    }
    if (dst_len < r->info.channel_count) {
        fseq_error(error, error_len, "%s: a frame of %u channels does not fit %zu bytes", r->name,
                   r->info.channel_count, dst_len);
        return SKY_ERR_INVALID_ARG;
    }
    if (r->info.compression == SKY_FSEQ_COMPRESS_NONE)
        return fseq_source_read(r, dst, r->info.channel_count,
                                r->info.data_offset + (uint64_t)index * r->info.channel_count,
                                "frame", error, error_len);
    return fseq_read_zstd(r, index, dst, error, error_len);
}
