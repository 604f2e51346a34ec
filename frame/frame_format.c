/*
 * frame_format.c - the frame file's header: where a writer puts each region,
 * how the header is encoded, and how a reader validates it.
 *
 * A reader must never touch pixel memory described by a header it has not
 * checked: a stale, truncated, foreign or malicious file has to be rejected
 * with a message that names the field, its value and the rule it breaks.
 * All arithmetic on header values is done in u64 with explicit overflow
 * checks, because every field is attacker-controlled.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "frame_internal.h"

uint64_t sky_frame_now_ns(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* round_up(round_up(led_count, 4) * 3, 4096): the shader writes whole groups
 * of four LEDs (docs/shader-abi.md), and a GPU imports whole pages. */
uint64_t sky_frame_slot_stride(uint32_t led_count) {
    uint64_t groups = ((uint64_t)led_count + 3u) / 4u;
    uint64_t bytes = groups * 12u;
    if (bytes == 0) bytes = 1;
    return (bytes + FRAME_PAGE - 1) / FRAME_PAGE * FRAME_PAGE;
}

/* ------------------------------------------------- overflow-free helpers */

static int fmt_add(uint64_t a, uint64_t b, uint64_t *out) {
    return __builtin_add_overflow(a, b, out) ? -1 : 0;
}
static int fmt_mul(uint64_t a, uint64_t b, uint64_t *out) {
    return __builtin_mul_overflow(a, b, out) ? -1 : 0;
}
static uint64_t fmt_round_up(uint64_t v, uint64_t to) {
    return (v + to - 1) / to * to;
}

/* --------------------------------------------------------------- the plan */

sky_status frame_plan(uint32_t led_count, uint32_t strip_count, uint32_t slot_count,
                      sky_frame_info *info, char *error, size_t error_len) {
    memset(info, 0, sizeof *info);
    info->version = SKY_FRAME_VERSION;
    info->header_bytes = SKY_FRAME_HEADER_BYTES;
    info->led_count = led_count;
    info->strip_count = strip_count;
    info->channels = FRAME_CHANNELS;
    info->slot_count = slot_count;
    info->slot_stride = sky_frame_slot_stride(led_count);

    /* Seq words first, one cache line each, right after the header; the
     * inputs are u32 so none of these small products can overflow u64. */
    info->seq_offset = fmt_round_up(SKY_FRAME_HEADER_BYTES, FRAME_SEQ_STRIDE);
    uint64_t end = info->seq_offset + (uint64_t)slot_count * FRAME_SEQ_STRIDE;
    info->strips_offset = end;
    end += (uint64_t)strip_count * 4u;
    info->positions_offset = fmt_round_up(end, 8);
    end = info->positions_offset + (uint64_t)led_count * frame_position_bytes(info->version);
    info->slots_offset = fmt_round_up(end, FRAME_PAGE);

    uint64_t slots_bytes;
    if (fmt_mul(info->slot_stride, slot_count, &slots_bytes) ||
        fmt_add(info->slots_offset, slots_bytes, &info->file_bytes) ||
        info->file_bytes > (uint64_t)SIZE_MAX || info->file_bytes > (uint64_t)INT64_MAX) {
        frame_error(error, error_len,
                    "a frame file for %u LEDs in %u slots does not fit in this address space",
                    led_count, slot_count);
        return SKY_ERR_LIMIT;
    }
    return SKY_OK;
}

void frame_header_encode(uint8_t *hdr, const sky_frame_info *info) {
    memset(hdr, 0, SKY_FRAME_HEADER_BYTES);
    memcpy(hdr + FRAME_OFF_MAGIC, SKY_FRAME_MAGIC, 8);
    frame_put_u32(hdr + FRAME_OFF_VERSION, info->version);
    frame_put_u32(hdr + FRAME_OFF_HEADER_BYTES, info->header_bytes);
    frame_put_u32(hdr + FRAME_OFF_LED_COUNT, info->led_count);
    frame_put_u32(hdr + FRAME_OFF_STRIP_COUNT, info->strip_count);
    frame_put_u32(hdr + FRAME_OFF_CHANNELS, info->channels);
    frame_put_u32(hdr + FRAME_OFF_SLOT_COUNT, info->slot_count);
    frame_put_u64(hdr + FRAME_OFF_SLOT_STRIDE, info->slot_stride);
    frame_put_u64(hdr + FRAME_OFF_SLOTS_OFFSET, info->slots_offset);
    frame_put_u64(hdr + FRAME_OFF_STRIPS_OFFSET, info->strips_offset);
    frame_put_u64(hdr + FRAME_OFF_POSITIONS_OFFSET, info->positions_offset);
    frame_put_u64(hdr + FRAME_OFF_SEQ_OFFSET, info->seq_offset);
    frame_put_u64(hdr + FRAME_OFF_FILE_BYTES, info->file_bytes);
    frame_put_u64(hdr + FRAME_OFF_WRITER_PID, info->writer_pid);
    frame_put_u32(hdr + FRAME_OFF_FPS_NOMINAL, info->fps_nominal);
    frame_put_u32(hdr + FRAME_OFF_FLAGS, info->flags);
    size_t n = strnlen(info->layout, FRAME_LAYOUT_BYTES);
    memcpy(hdr + FRAME_OFF_LAYOUT, info->layout, n); /* the rest stays NUL */
}

/* ------------------------------------------------------------ validation */

static void fmt_decode(const uint8_t *hdr, sky_frame_info *info) {
    memset(info, 0, sizeof *info);
    info->version = frame_get_u32(hdr + FRAME_OFF_VERSION);
    info->header_bytes = frame_get_u32(hdr + FRAME_OFF_HEADER_BYTES);
    info->led_count = frame_get_u32(hdr + FRAME_OFF_LED_COUNT);
    info->strip_count = frame_get_u32(hdr + FRAME_OFF_STRIP_COUNT);
    info->channels = frame_get_u32(hdr + FRAME_OFF_CHANNELS);
    info->slot_count = frame_get_u32(hdr + FRAME_OFF_SLOT_COUNT);
    info->slot_stride = frame_get_u64(hdr + FRAME_OFF_SLOT_STRIDE);
    info->slots_offset = frame_get_u64(hdr + FRAME_OFF_SLOTS_OFFSET);
    info->strips_offset = frame_get_u64(hdr + FRAME_OFF_STRIPS_OFFSET);
    info->positions_offset = frame_get_u64(hdr + FRAME_OFF_POSITIONS_OFFSET);
    info->seq_offset = frame_get_u64(hdr + FRAME_OFF_SEQ_OFFSET);
    info->file_bytes = frame_get_u64(hdr + FRAME_OFF_FILE_BYTES);
    info->writer_pid = frame_get_u64(hdr + FRAME_OFF_WRITER_PID);
    info->fps_nominal = frame_get_u32(hdr + FRAME_OFF_FPS_NOMINAL);
    info->flags = frame_get_u32(hdr + FRAME_OFF_FLAGS);
    memcpy(info->layout, hdr + FRAME_OFF_LAYOUT, FRAME_LAYOUT_BYTES);
    info->layout[FRAME_LAYOUT_BYTES] = '\0';
}

/* Printable form of the magic for a message ("SKYFRAME" or escaped bytes). */
static void fmt_magic_text(const uint8_t *magic, char *out, size_t out_len) {
    size_t o = 0;
    for (int i = 0; i < 8 && o + 5 < out_len; i++) {
        if (magic[i] >= 0x20 && magic[i] < 0x7f && magic[i] != '\\')
            out[o++] = (char)magic[i];
        else
            o += (size_t)snprintf(out + o, out_len - o, "\\x%02x", magic[i]);
    }
    out[o] = '\0';
}

/* A region of the header page area: `count` entries (named by count_field)
 * of `entry` bytes at `offset`, aligned, after the header, before the slots. */
typedef struct fmt_region {
    const char *field, *count_field;
    uint64_t begin, count, entry, align, end;
} fmt_region;

static sky_status fmt_check_region(const char *path, fmt_region *r, const sky_frame_info *info,
                                   char *error, size_t error_len) {
    if (r->begin % r->align != 0) {
        frame_error(error, error_len, "%s: header field %s = %llu is not a multiple of %llu", path,
                    r->field, (unsigned long long)r->begin, (unsigned long long)r->align);
        return SKY_ERR_FORMAT;
    }
    if (r->begin < info->header_bytes) {
        frame_error(error, error_len, "%s: header field %s = %llu points into the %u-byte header",
                    path, r->field, (unsigned long long)r->begin, info->header_bytes);
        return SKY_ERR_FORMAT;
    }
    /* count is a u32 and entry at most 64: the product cannot overflow. */
    if (fmt_add(r->begin, r->count * r->entry, &r->end) || r->end > info->slots_offset) {
        frame_error(error, error_len,
                    "%s: header field %s = %llu with %s = %llu (%llu bytes) runs past "
                    "slots_offset = %llu",
                    path, r->field, (unsigned long long)r->begin, r->count_field,
                    (unsigned long long)r->count, (unsigned long long)(r->count * r->entry),
                    (unsigned long long)info->slots_offset);
        return SKY_ERR_FORMAT;
    }
    return SKY_OK;
}

/*
 * The writer's limits (docs/frame-format.md, "Limits"), checked before
 * anything is read or allocated for the file: a header claiming 100 M LEDs
 * in a sparse file would otherwise cost gigabytes of copies and seconds of
 * validation before the reader could answer anything.
 */
static sky_status fmt_check_limits(const char *path, const sky_frame_info *info, char *error,
                                   size_t error_len) {
    if (info->led_count > SKY_FRAME_MAX_LEDS) {
        frame_error(error, error_len, "%s: header field led_count = %u, at most %u are allowed",
                    path, info->led_count, SKY_FRAME_MAX_LEDS);
        return SKY_ERR_FORMAT;
    }
    if (info->strip_count > info->led_count) {
        frame_error(error, error_len,
                    "%s: header field strip_count = %u, at most led_count = %u are allowed", path,
                    info->strip_count, info->led_count);
        return SKY_ERR_FORMAT;
    }
    uint64_t stride_max = sky_frame_slot_stride(info->led_count);
    if (info->slot_stride > stride_max) {
        frame_error(error, error_len,
                    "%s: header field slot_stride = %llu, at most %llu for led_count = %u", path,
                    (unsigned long long)info->slot_stride, (unsigned long long)stride_max,
                    info->led_count);
        return SKY_ERR_FORMAT;
    }
    /* Every factor is at most 2^24 here: no overflow. */
    uint64_t tables = SKY_FRAME_HEADER_BYTES + (uint64_t)info->slot_count * FRAME_SEQ_STRIDE +
                      (uint64_t)info->strip_count * 4u +
                      (uint64_t)info->led_count * frame_position_bytes(info->version) +
                      FRAME_ALIGN_SLACK;
    uint64_t slots_max = fmt_round_up(tables, FRAME_PAGE);
    if (info->slots_offset > slots_max) {
        frame_error(error, error_len,
                    "%s: header field slots_offset = %llu, at most %llu for these tables (the "
                    "header, %u seq words, %u strips, %u positions and %u bytes of alignment)",
                    path, (unsigned long long)info->slots_offset, (unsigned long long)slots_max,
                    info->slot_count, info->strip_count, info->led_count, FRAME_ALIGN_SLACK);
        return SKY_ERR_FORMAT;
    }
    return SKY_OK;
}

static sky_status fmt_check_counts(const char *path, const sky_frame_info *info, char *error,
                                   size_t error_len) {
    if (info->version < SKY_FRAME_VERSION_OLDEST || info->version > SKY_FRAME_VERSION) {
        frame_error(error, error_len,
                    "%s: header field version = %u, this reader reads versions %u to %u", path,
                    info->version, SKY_FRAME_VERSION_OLDEST, SKY_FRAME_VERSION);
        return SKY_ERR_FORMAT;
    }
    if (info->header_bytes != SKY_FRAME_HEADER_BYTES) {
        frame_error(error, error_len, "%s: header field header_bytes = %u, must be %u", path,
                    info->header_bytes, SKY_FRAME_HEADER_BYTES);
        return SKY_ERR_FORMAT;
    }
    if (info->led_count == 0) {
        frame_error(error, error_len, "%s: header field led_count = 0, a frame needs an LED", path);
        return SKY_ERR_FORMAT;
    }
    if (info->strip_count == 0) {
        frame_error(error, error_len, "%s: header field strip_count = 0, must be at least 1", path);
        return SKY_ERR_FORMAT;
    }
    if (info->channels != FRAME_CHANNELS) {
        frame_error(error, error_len, "%s: header field channels = %u, must be %u (R, G, B)", path,
                    info->channels, FRAME_CHANNELS);
        return SKY_ERR_FORMAT;
    }
    if (info->slot_count < SKY_FRAME_MIN_SLOTS || info->slot_count > SKY_FRAME_MAX_SLOTS) {
        frame_error(error, error_len, "%s: header field slot_count = %u, must be in %u..%u", path,
                    info->slot_count, SKY_FRAME_MIN_SLOTS, SKY_FRAME_MAX_SLOTS);
        return SKY_ERR_FORMAT;
    }
    return fmt_check_limits(path, info, error, error_len);
}

static sky_status fmt_check_slots(const char *path, const sky_frame_info *info, uint64_t file_size,
                                  char *error, size_t error_len) {
    uint64_t frame_bytes = (uint64_t)info->led_count * FRAME_CHANNELS;
    if (info->slot_stride == 0 || info->slot_stride % FRAME_PAGE != 0 ||
        info->slot_stride < frame_bytes) {
        frame_error(error, error_len,
                    "%s: header field slot_stride = %llu, must be a non-zero multiple of %u and "
                    "at least led_count * 3 = %llu",
                    path, (unsigned long long)info->slot_stride, FRAME_PAGE,
                    (unsigned long long)frame_bytes);
        return SKY_ERR_FORMAT;
    }
    if (info->slots_offset == 0 || info->slots_offset % FRAME_PAGE != 0) {
        frame_error(error, error_len,
                    "%s: header field slots_offset = %llu, must be a non-zero multiple of %u", path,
                    (unsigned long long)info->slots_offset, FRAME_PAGE);
        return SKY_ERR_FORMAT;
    }
    uint64_t slots_bytes, end;
    if (fmt_mul(info->slot_stride, info->slot_count, &slots_bytes) ||
        fmt_add(info->slots_offset, slots_bytes, &end)) {
        frame_error(error, error_len,
                    "%s: header fields slots_offset = %llu + slot_count = %u * slot_stride = %llu "
                    "overflow 64 bits",
                    path, (unsigned long long)info->slots_offset, info->slot_count,
                    (unsigned long long)info->slot_stride);
        return SKY_ERR_FORMAT;
    }
    if (info->file_bytes != end) {
        frame_error(error, error_len,
                    "%s: header field file_bytes = %llu, but slots_offset + slot_count * "
                    "slot_stride = %llu",
                    path, (unsigned long long)info->file_bytes, (unsigned long long)end);
        return SKY_ERR_FORMAT;
    }
    if (info->file_bytes > file_size) {
        frame_error(error, error_len,
                    "%s: header field file_bytes = %llu, but the file has only %llu bytes "
                    "(truncated?)",
                    path, (unsigned long long)info->file_bytes, (unsigned long long)file_size);
        return SKY_ERR_FORMAT;
    }
    if (info->file_bytes > (uint64_t)SIZE_MAX) {
        frame_error(error, error_len, "%s: header field file_bytes = %llu does not fit in memory",
                    path, (unsigned long long)info->file_bytes);
        return SKY_ERR_FORMAT;
    }
    return SKY_OK;
}

static sky_status fmt_check_tables(const char *path, const sky_frame_info *info, char *error,
                                   size_t error_len) {
    fmt_region r[3] = {
        {"strips_offset", "strip_count", info->strips_offset, info->strip_count, 4, 4, 0},
        {"positions_offset", "led_count", info->positions_offset, info->led_count,
         frame_position_bytes(info->version), 4, 0},
        {"seq_offset", "slot_count", info->seq_offset, info->slot_count, FRAME_SEQ_STRIDE, 8, 0},
    };
    for (int i = 0; i < 3; i++) {
        sky_status st = fmt_check_region(path, &r[i], info, error, error_len);
        if (st != SKY_OK) return st;
    }
    for (int i = 0; i < 3; i++) {
        for (int j = i + 1; j < 3; j++) {
            if (r[i].begin < r[j].end && r[j].begin < r[i].end) {
                frame_error(error, error_len,
                            "%s: header field %s: bytes %llu..%llu overlap %s bytes %llu..%llu",
                            path, r[j].field, (unsigned long long)r[j].begin,
                            (unsigned long long)r[j].end, r[i].field,
                            (unsigned long long)r[i].begin, (unsigned long long)r[i].end);
                return SKY_ERR_FORMAT;
            }
        }
    }
    return SKY_OK;
}

static sky_status fmt_check_rest(const uint8_t *hdr, const char *path, const sky_frame_info *info,
                                 char *error, size_t error_len) {
    if (info->writer_pid == 0 || info->writer_pid > (uint64_t)INT32_MAX) {
        frame_error(error, error_len, "%s: header field writer_pid = %llu is not a process id",
                    path, (unsigned long long)info->writer_pid);
        return SKY_ERR_FORMAT;
    }
    if (info->flags != 0) {
        frame_error(error, error_len, "%s: header field flags = 0x%x, must be 0 in version %u",
                    path, info->flags, info->version);
        return SKY_ERR_FORMAT;
    }
    const uint8_t *layout = hdr + FRAME_OFF_LAYOUT;
    size_t n = strnlen((const char *)layout, FRAME_LAYOUT_BYTES);
    for (size_t i = n; i < FRAME_LAYOUT_BYTES; i++) {
        if (layout[i] != 0) {
            frame_error(error, error_len,
                        "%s: header field layout is not NUL-padded: byte %zu after its end is "
                        "0x%02x",
                        path, i, layout[i]);
            return SKY_ERR_FORMAT;
        }
    }
    for (unsigned i = FRAME_OFF_RESERVED; i < SKY_FRAME_HEADER_BYTES; i++) {
        if (hdr[i] != 0) {
            frame_error(error, error_len,
                        "%s: header field reserved: byte %u is 0x%02x, bytes 144..255 must be 0",
                        path, i, hdr[i]);
            return SKY_ERR_FORMAT;
        }
    }
    return SKY_OK;
}

sky_status frame_header_validate(const uint8_t *hdr, uint64_t file_size, const char *path,
                                 sky_frame_info *info, char *error, size_t error_len) {
    if (file_size < SKY_FRAME_HEADER_BYTES) {
        frame_error(error, error_len,
                    "%s: the file has %llu bytes, less than the %u-byte header (not a frame file, "
                    "or truncated)",
                    path, (unsigned long long)file_size, SKY_FRAME_HEADER_BYTES);
        return SKY_ERR_FORMAT;
    }
    if (memcmp(hdr + FRAME_OFF_MAGIC, SKY_FRAME_MAGIC, 8) != 0) {
        char text[40];
        fmt_magic_text(hdr + FRAME_OFF_MAGIC, text, sizeof text);
        frame_error(error, error_len, "%s: header field magic is \"%s\", not \"%s\"", path, text,
                    SKY_FRAME_MAGIC);
        return SKY_ERR_FORMAT;
    }
    fmt_decode(hdr, info);
    sky_status st = fmt_check_counts(path, info, error, error_len);
    if (st == SKY_OK) st = fmt_check_slots(path, info, file_size, error, error_len);
    if (st == SKY_OK) st = fmt_check_tables(path, info, error, error_len);
    if (st == SKY_OK) st = fmt_check_rest(hdr, path, info, error, error_len);
    return st;
}

sky_status frame_strips_validate(const uint32_t *strips, const sky_frame_info *info,
                                 const char *path, char *error, size_t error_len) {
    uint64_t sum = 0;
    for (uint32_t i = 0; i < info->strip_count; i++) sum += strips[i];
    if (sum != info->led_count) {
        frame_error(error, error_len,
                    "%s: the strip table (strips_offset = %llu, %u strips) sums to %llu LEDs, but "
                    "led_count = %u",
                    path, (unsigned long long)info->strips_offset, info->strip_count,
                    (unsigned long long)sum, info->led_count);
        return SKY_ERR_FORMAT;
    }
    return SKY_OK;
}

sky_status frame_positions_validate(const float *xy, const float *z, uint32_t first,
                                    uint32_t count, const char *path, char *error,
                                    size_t error_len) {
    for (uint32_t k = 0; k < count; k++) {
        float x = xy[2 * (size_t)k], y = xy[2 * (size_t)k + 1], zk = z ? z[k] : 0.0f;
        if (!isfinite(x) || !isfinite(y) || !isfinite(zk) || fabsf(x) > 1.0f || fabsf(y) > 1.0f ||
            fabsf(zk) > 1.0f) {
            frame_error(error, error_len,
                        "%s: positions (positions_offset): LED %u is at (%g, %g, %g), outside "
                        "[-1, 1]",
                        path, first + k, (double)x, (double)y, (double)zk);
            return SKY_ERR_FORMAT;
        }
    }
    return SKY_OK;
}
