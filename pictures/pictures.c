/*
 * pictures.c - the set of a program's picture inputs (sky/pictures.h): opens
 * each source, keeps the picture block that the runtime uploads, and on each
 * update copies in what the video and camera threads finished.
 *
 * The threads build the mip levels themselves, into a one-picture block of
 * their own laid out for the same footprint (sky_picture_block_put), so the
 * show's thread only copies the two sampled levels (a 1080p video at
 * disc:360x288: 480 x 270 and 240 x 135 texels, 648 KB) per new frame.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pictures_int.h"

typedef struct pics_source {
    sky_picture_kind kind;
    uint32_t width, height;
    pics_video *video;
    pics_camera *camera;
} pics_source;

struct sky_pictures {
    uint32_t count;
    pics_source src[SKY_MAX_PICTURES];
    double footprint;
    uint32_t *block;
    size_t words;
    bool reported; /* the first update reports the block as new */
    sky_pictures_stats stats;
};

static bool pics_update(sky_pictures *p, double t, bool sync);

void pics_error(char *error, size_t error_len, const char *fmt, ...) {
    if (!error || error_len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, error_len, fmt, ap);
    va_end(ap);
}

uint64_t pics_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *pics_kind_word(sky_picture_kind kind) {
    return kind == SKY_PICTURE_IMAGE ? "image" : kind == SKY_PICTURE_VIDEO ? "video" : "camera";
}

/* base_dir/path for a relative path; malloc'd. */
static char *pics_resolve(const char *base_dir, const char *path) {
    if (path[0] == '/' || !base_dir || !base_dir[0]) return strdup(path);
    size_t n = strlen(base_dir) + strlen(path) + 2;
    char *full = malloc(n);
    if (full) snprintf(full, n, "%s/%s", base_dir, path);
    return full;
}

static sky_status pics_read_file(const char *path, uint8_t **data, size_t *len, char *error,
                                 size_t error_len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        pics_error(error, error_len, "%s", strerror(errno));
        return SKY_ERR_IO;
    }
    uint8_t *buf = NULL;
    size_t used = 0, cap = 0;
    sky_status st = SKY_OK;
    for (;;) {
        if (used == cap) {
            size_t grown = cap ? cap * 2 : 1 << 16;
            if (grown > (size_t)1 << 31) {
                pics_error(error, error_len, "larger than 2 GiB");
                st = SKY_ERR_LIMIT;
                break;
            }
            uint8_t *b = realloc(buf, grown);
            if (!b) {
                pics_error(error, error_len, "out of memory");
                st = SKY_ERR_NOMEM;
                break;
            }
            buf = b;
            cap = grown;
        }
        size_t got = fread(buf + used, 1, cap - used, f);
        used += got;
        if (got == 0) {
            if (ferror(f)) {
                pics_error(error, error_len, "%s", strerror(errno));
                st = SKY_ERR_IO;
            }
            break;
        }
    }
    fclose(f);
    if (st != SKY_OK) {
        free(buf);
        return st;
    }
    *data = buf;
    *len = used;
    return SKY_OK;
}

static sky_status pics_open_image(const char *path, uint8_t **rgb, uint32_t *w, uint32_t *h,
                                  char *error, size_t error_len) {
    uint8_t *data;
    size_t len;
    sky_status st = pics_read_file(path, &data, &len, error, error_len);
    if (st != SKY_OK) return st;
    st = sky_image_decode(data, len, rgb, w, h, error, error_len);
    free(data);
    return st;
}

/* Opens source i; an image's pixels come back in *rgb for the block. */
static sky_status pics_open_source(sky_pictures *p, uint32_t i, const sky_picture_info *info,
                                   const char *path, uint8_t **rgb, char *error, size_t error_len) {
    pics_source *s = &p->src[i];
    s->kind = info->kind;
    switch (info->kind) {
    case SKY_PICTURE_IMAGE:
        return pics_open_image(path, rgb, &s->width, &s->height, error, error_len);
    case SKY_PICTURE_VIDEO:
        return pics_video_open(path, &s->video, &s->width, &s->height, p->footprint, error,
                               error_len);
    case SKY_PICTURE_CAMERA:
        return pics_camera_open(path, &s->camera, &s->width, &s->height, p->footprint, error,
                                error_len);
    }
    pics_error(error, error_len, "unknown picture kind %d", (int)info->kind);
    return SKY_ERR_INVALID_ARG;
}

static sky_status pics_make_block(sky_pictures *p, char *error, size_t error_len) {
    uint32_t w[SKY_MAX_PICTURES], h[SKY_MAX_PICTURES];
    for (uint32_t i = 0; i < p->count; i++) {
        w[i] = p->src[i].width;
        h[i] = p->src[i].height;
    }
    p->words = sky_picture_block_words(p->count, w, h, p->footprint);
    p->block = p->words ? malloc(p->words * sizeof *p->block) : NULL;
    if (!p->block) {
        pics_error(error, error_len, "out of memory for the pictures (%zu words)", p->words);
        return SKY_ERR_NOMEM;
    }
    return sky_picture_block_init(p->block, p->words, p->count, w, h, p->footprint);
}

sky_status sky_pictures_open(const sky_program *program, const char *base_dir,
                             const char *source_name, const sky_layout_view *layout,
                             sky_pictures **out, char *error, size_t error_len) {
    if (!program || !out) {
        pics_error(error, error_len, "sky_pictures_open: NULL argument");
        return SKY_ERR_INVALID_ARG;
    }
    *out = NULL;
    sky_pictures *p = calloc(1, sizeof *p);
    if (!p) {
        pics_error(error, error_len, "out of memory");
        return SKY_ERR_NOMEM;
    }
    p->count = (uint32_t)sky_program_picture_count(program);
    p->footprint = layout ? sky_picture_footprint(layout) : 0.0;
    uint8_t *images[SKY_MAX_PICTURES] = {0};
    sky_status st = SKY_OK;
    for (uint32_t i = 0; i < p->count && st == SKY_OK; i++) {
        const sky_picture_info *info = sky_program_picture(program, i);
        char *path = pics_resolve(base_dir, info->path);
        char why[256] = "out of memory";
        uint64_t t0 = pics_now_ns();
        st = path ? pics_open_source(p, i, info, path, &images[i], why, sizeof why) : SKY_ERR_NOMEM;
        p->stats.decode_ns += pics_now_ns() - t0;
        if (st != SKY_OK)
            pics_error(error, error_len, "%s%s%u:%u: cannot open %s `%s`%s%s%s: %s",
                       source_name ? source_name : "", source_name ? ":" : "", info->line,
                       info->col, pics_kind_word(info->kind), info->path,
                       path && strcmp(path, info->path) ? " (" : "",
                       path && strcmp(path, info->path) ? path : "",
                       path && strcmp(path, info->path) ? ")" : "", why);
        free(path);
    }
    if (st == SKY_OK) st = pics_make_block(p, error, error_len);
    for (uint32_t i = 0; i < p->count && st == SKY_OK; i++) {
        if (!images[i]) continue;
        uint64_t t0 = pics_now_ns();
        st = sky_picture_block_put(p->block, i, images[i], (size_t)p->src[i].width * 3,
                                   p->src[i].width, p->src[i].height);
        p->stats.mip_ns += pics_now_ns() - t0;
        if (st != SKY_OK) pics_error(error, error_len, "building the mip levels failed");
    }
    for (uint32_t i = 0; i < SKY_MAX_PICTURES; i++) free(images[i]);
    if (st != SKY_OK) {
        sky_pictures_free(p);
        return st;
    }
    *out = p;
    return SKY_OK;
}

void sky_pictures_free(sky_pictures *p) {
    if (!p) return;
    for (uint32_t i = 0; i < p->count; i++) {
        pics_video_free(p->src[i].video);
        pics_camera_free(p->src[i].camera);
    }
    free(p->block);
    free(p);
}

bool sky_pictures_update(sky_pictures *p, double t) {
    return pics_update(p, t, false);
}

bool sky_pictures_update_sync(sky_pictures *p, double t) {
    return pics_update(p, t, true);
}

static bool pics_update(sky_pictures *p, double t, bool sync) {
    if (!p) return false;
    bool changed = !p->reported;
    p->reported = true;
    for (uint32_t i = 0; i < p->count; i++) {
        pics_source *s = &p->src[i];
        uint64_t t0 = pics_now_ns();
        if (s->video && pics_video_frame(s->video, t, sync, p->block, i)) {
            changed = true;
            p->stats.video_shown++;
        }
        if (s->camera) {
            int got = pics_camera_frame(s->camera, p->block, i);
            changed |= got != 0;
        }
        p->stats.copy_ns += pics_now_ns() - t0;
    }
    if (changed) p->stats.updates++;
    return changed;
}

const uint32_t *sky_pictures_block(const sky_pictures *p) {
    return p ? p->block : NULL;
}

size_t sky_pictures_max_words(const sky_pictures *p) {
    return p ? p->words : 0;
}

void sky_pictures_get_stats(const sky_pictures *p, sky_pictures_stats *stats) {
    if (!stats) return;
    memset(stats, 0, sizeof *stats);
    if (!p) return;
    *stats = p->stats;
    for (uint32_t i = 0; i < p->count; i++) {
        if (p->src[i].video) pics_video_stats(p->src[i].video, stats);
        if (p->src[i].camera) pics_camera_stats(p->src[i].camera, stats);
    }
}

/* Copies picture 0 of a source thread's one-picture block into entry `index` of `block`. */
void pics_copy_entry(uint32_t *block, uint32_t index, const uint32_t *one) {
    const uint32_t *src = one + SKY_PICTURE_HEADER_WORDS;
    uint32_t *dst = block + SKY_PICTURE_HEADER_WORDS + index * SKY_PICTURE_ENTRY_WORDS;
    if (!src[0]) {
        dst[0] = 0;
        return;
    }
    /* Same sizes and footprint, so the same level sizes: copy both levels' texels. */
    size_t words = (size_t)src[3] * src[4] + (size_t)src[6] * src[7];
    memcpy(block + dst[2], one + src[2], words * sizeof *block);
    dst[0] = 1;
}
