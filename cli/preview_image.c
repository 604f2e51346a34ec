/*
 * preview_image.c - turning one frame of LED colours into a picture: where
 * each LED lands in the image, drawing soft dots, and writing PNG (libpng),
 * animated GIF (giflib) and truecolor terminal output.
 *
 * Geometry. The image keeps the layout's aspect ratio. Its size comes from the
 * LEDs' spacing (the median distance from an LED to its nearest neighbour,
 * found with a bucket grid over a sample of LEDs) so that neighbours sit about
 * 12 pixels apart, within limits; --size sets the longer side instead.
 *
 * Dots. Each LED adds its colour times a gaussian weight centred on its true
 * (sub-pixel) position, sigma a quarter of the spacing (at least 0.6 px), cut
 * at 3 sigma, and scaled so that the weight is exactly 1 at the LED's own
 * centre pixel (the pixel its position falls in). Where the weights under a
 * pixel sum to W, the pixel is
 *     sum(w * colour) / max(W, 1) + background * (1 - min(W, 1))
 * so isolated dots glow additively over the dark background and overlapping
 * dots blend instead of saturating. At an LED's centre pixel W >= 1: no
 * background shows through, and with the neighbours about 4 sigma away
 * (w ~ e^-8) the pixel is the LED's colour to within a rounding step. Where
 * LEDs crowd closer than that (the middle of a disc), the centre pixel is the
 * weighted average of the LEDs around it, which is what the eye sees there too.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <gif_lib.h>
#include <png.h>

#include "show.h"

#define GEOMETRY_SPACING_PX   12.0 /* neighbour distance aimed for when the size is automatic */
#define GEOMETRY_MIN_AUTO     256u
#define GEOMETRY_MAX_SIZE     16384u
#define GEOMETRY_SAMPLE       1024u /* LEDs whose nearest neighbour is measured */
#define GEOMETRY_MAX_CELLS    65536u
#define DOT_SIGMA_PER_SPACING 0.25f
#define DOT_MIN_SIGMA         0.6f

/* ----------------------------------------------------------------- geometry */

typedef struct bounds {
    float min_x, max_x, min_y, max_y;
} bounds;

static bounds geometry_bounds(const float *xy, uint32_t n) {
    bounds b = {xy[0], xy[0], xy[1], xy[1]};
    for (uint32_t i = 1; i < n; i++) {
        float x = xy[2 * i], y = xy[2 * i + 1];
        if (x < b.min_x) b.min_x = x;
        if (x > b.max_x) b.max_x = x;
        if (y < b.min_y) b.min_y = y;
        if (y > b.max_y) b.max_y = y;
    }
    return b;
}

/* A bucket grid over the LEDs (counting sort by cell) for nearest-neighbour queries. */
typedef struct bucket_grid {
    uint32_t gx, gy;
    float cell;
    bounds b;
    uint32_t *start; /* gx * gy + 1 offsets into order */
    uint32_t *order; /* LED indices grouped by cell */
} bucket_grid;

static uint32_t grid_coord(float v, float lo, float cell, uint32_t g) {
    float c = (v - lo) / cell;
    if (!(c >= 0)) return 0;
    return c >= (float)(g - 1) ? g - 1 : (uint32_t)c;
}

static bool grid_build(bucket_grid *grid, const float *xy, uint32_t n, bounds b) {
    float ex = b.max_x - b.min_x, ey = b.max_y - b.min_y;
    float extent = ex > ey ? ex : ey;
    uint32_t side = (uint32_t)ceil(sqrt((double)n));
    if (side > 256) side = 256; /* GEOMETRY_MAX_CELLS */
    if (side < 1) side = 1;
    grid->b = b;
    grid->cell = extent > 0 ? extent / (float)side : 1.0f;
    grid->gx = ex > 0 ? (uint32_t)ceil(ex / grid->cell) : 1;
    grid->gy = ey > 0 ? (uint32_t)ceil(ey / grid->cell) : 1;
    if (grid->gx < 1) grid->gx = 1;
    if (grid->gy < 1) grid->gy = 1;
    if (grid->gx > side) grid->gx = side;
    if (grid->gy > side) grid->gy = side;
    size_t cells = (size_t)grid->gx * grid->gy;
    grid->start = calloc(cells + 1, sizeof *grid->start);
    grid->order = malloc((size_t)n * sizeof *grid->order);
    if (!grid->start || !grid->order) return false;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t cx = grid_coord(xy[2 * i], b.min_x, grid->cell, grid->gx);
        uint32_t cy = grid_coord(xy[2 * i + 1], b.min_y, grid->cell, grid->gy);
        grid->start[(size_t)cy * grid->gx + cx + 1]++;
    }
    for (size_t c = 0; c < cells; c++) grid->start[c + 1] += grid->start[c];
    uint32_t *fill = malloc(cells * sizeof *fill);
    if (!fill) return false;
    memcpy(fill, grid->start, cells * sizeof *fill);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t cx = grid_coord(xy[2 * i], b.min_x, grid->cell, grid->gx);
        uint32_t cy = grid_coord(xy[2 * i + 1], b.min_y, grid->cell, grid->gy);
        grid->order[fill[(size_t)cy * grid->gx + cx]++] = i;
    }
    free(fill);
    return true;
}

/* Squared distance from LED i to its nearest LED at a different position, or INFINITY. */
static float grid_nearest2(const bucket_grid *grid, const float *xy, uint32_t i) {
    float x = xy[2 * i], y = xy[2 * i + 1];
    long cx = grid_coord(x, grid->b.min_x, grid->cell, grid->gx);
    long cy = grid_coord(y, grid->b.min_y, grid->cell, grid->gy);
    long rings = (long)(grid->gx > grid->gy ? grid->gx : grid->gy);
    float best = INFINITY;
    for (long k = 0; k <= rings; k++) {
        for (long yy = cy - k; yy <= cy + k; yy++) {
            if (yy < 0 || yy >= (long)grid->gy) continue;
            for (long xx = cx - k; xx <= cx + k; xx++) {
                if (xx < 0 || xx >= (long)grid->gx) continue;
                if (yy != cy - k && yy != cy + k && xx != cx - k && xx != cx + k) continue;
                size_t c = (size_t)yy * grid->gx + (size_t)xx;
                for (uint32_t j = grid->start[c]; j < grid->start[c + 1]; j++) {
                    uint32_t o = grid->order[j];
                    float dx = xy[2 * o] - x, dy = xy[2 * o + 1] - y;
                    float d2 = dx * dx + dy * dy;
                    if (d2 > 0 && d2 < best) best = d2;
                }
            }
        }
        /* Anything in ring k + 1 is at least k cells away. */
        float reach = (float)k * grid->cell;
        if (best <= reach * reach) break;
    }
    return best;
}

static int float_compare(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Median nearest-neighbour distance over a sample of LEDs; 0 when there is none. */
static bool geometry_spacing(const float *xy, uint32_t n, bounds b, float *spacing) {
    *spacing = 0;
    if (n < 2) return true;
    bucket_grid grid = {0};
    float *found = malloc(GEOMETRY_SAMPLE * sizeof *found);
    bool ok = found && grid_build(&grid, xy, n, b);
    if (ok) {
        uint32_t samples = n < GEOMETRY_SAMPLE ? n : GEOMETRY_SAMPLE, count = 0;
        for (uint32_t s = 0; s < samples; s++) {
            uint32_t i = (uint32_t)(((uint64_t)s * n) / samples);
            float d2 = grid_nearest2(&grid, xy, i);
            if (isfinite(d2)) found[count++] = sqrtf(d2);
        }
        if (count > 0) {
            qsort(found, count, sizeof *found, float_compare);
            *spacing = found[count / 2];
        }
    }
    free(grid.start);
    free(grid.order);
    free(found);
    return ok;
}

static float geometry_sigma(float spacing, double scale) {
    float sigma = (float)(DOT_SIGMA_PER_SPACING * spacing * scale);
    return sigma < DOT_MIN_SIGMA ? DOT_MIN_SIGMA : sigma;
}

static uint32_t geometry_margin(float sigma) {
    return (uint32_t)ceilf(3.0f * sigma) + 1;
}

/* Pixels per layout unit so that the content plus margins fits avail_w x avail_h. */
static double geometry_fit(float ex, float ey, float spacing, double avail_w, double avail_h) {
    double scale = 1.0;
    uint32_t margin = 2;
    for (int round = 0; round < 4; round++) {
        double sw = ex > 0 ? (avail_w - 1 - 2.0 * margin) / ex : INFINITY;
        double sh = ey > 0 ? (avail_h - 1 - 2.0 * margin) / ey : INFINITY;
        scale = sw < sh ? sw : sh;
        if (!isfinite(scale)) /* a single point: a dot a sixteenth of the image wide */
            scale = (avail_w < avail_h ? avail_w : avail_h) / (4.0 * spacing);
        if (scale < 0.01) scale = 0.01;
        margin = geometry_margin(geometry_sigma(spacing, scale));
    }
    return scale;
}

bool preview_geometry_create(const char *cmd, const float *xy, uint32_t led_count, uint32_t size,
                             uint32_t max_size, uint32_t box_w, uint32_t box_h,
                             preview_geometry **geometry) {
    *geometry = NULL;
    if (led_count == 0) {
        fprintf(stderr, "%s: the layout has no LEDs\n", cmd);
        return false;
    }
    bounds b = geometry_bounds(xy, led_count);
    float ex = b.max_x - b.min_x, ey = b.max_y - b.min_y;
    float extent = ex > ey ? ex : ey;
    float spacing = 0;
    if (!geometry_spacing(xy, led_count, b, &spacing)) {
        fprintf(stderr, "%s: out of memory measuring the layout\n", cmd);
        return false;
    }
    if (!(spacing > 0)) spacing = extent > 0 ? extent : 1.0f;

    double avail_w, avail_h;
    if (box_w > 0 && box_h > 0) {
        avail_w = box_w;
        avail_h = box_h;
    } else {
        uint32_t longer = size;
        if (longer == 0) {
            double want = GEOMETRY_SPACING_PX * (extent > 0 ? extent : spacing) / spacing + 24;
            uint32_t low = GEOMETRY_MIN_AUTO < max_size ? GEOMETRY_MIN_AUTO : max_size;
            longer = want < low ? low : want > max_size ? max_size : (uint32_t)want;
        }
        if (longer > GEOMETRY_MAX_SIZE) longer = GEOMETRY_MAX_SIZE;
        if (longer < 8) longer = 8;
        avail_w = avail_h = longer;
    }
    double scale = geometry_fit(ex, ey, spacing, avail_w, avail_h);
    float sigma = geometry_sigma(spacing, scale);
    uint32_t margin = geometry_margin(sigma);

    preview_geometry *g = calloc(1, sizeof *g);
    if (!g) goto nomem;
    g->sigma = sigma;
    g->radius = (int)ceilf(3.0f * sigma) + 1; /* the dot is off the pixel grid by up to 1 */
    g->led_count = led_count;
    uint32_t full_w = (uint32_t)lround(ex * scale) + 2 * margin + 1;
    uint32_t full_h = (uint32_t)lround(ey * scale) + 2 * margin + 1;
    if (box_w > 0 && box_h > 0) {
        g->width = full_w < box_w ? full_w : box_w;
        g->height = full_h < box_h ? full_h : box_h;
        if (g->height & 1) g->height = g->height < box_h ? g->height + 1 : g->height - 1;
        if (g->height < 2) g->height = 2;
    } else if (ex >= ey) { /* the longer side is exactly the size asked for */
        g->width = (uint32_t)avail_w;
        g->height = full_h < avail_h ? full_h : (uint32_t)avail_h;
    } else {
        g->height = (uint32_t)avail_h;
        g->width = full_w < avail_w ? full_w : (uint32_t)avail_w;
    }
    /* Centre the content in the image. */
    double off_x = (g->width - 1 - ex * scale) / 2.0, off_y = (g->height - 1 - ey * scale) / 2.0;
    g->centre_x = malloc((size_t)led_count * sizeof *g->centre_x);
    g->centre_y = malloc((size_t)led_count * sizeof *g->centre_y);
    g->pos = malloc((size_t)led_count * 2 * sizeof *g->pos);
    if (!g->centre_x || !g->centre_y || !g->pos) goto nomem;
    for (uint32_t i = 0; i < led_count; i++) {
        /* Continuous image coordinates: pixel (i, j) covers [i, i + 1) x [j, j + 1). */
        double u = off_x + (xy[2 * i] - b.min_x) * scale + 0.5;
        double v = off_y + (b.max_y - xy[2 * i + 1]) * scale + 0.5; /* y up */
        g->pos[2 * i] = (float)u;
        g->pos[2 * i + 1] = (float)v;
        double px = floor(u), py = floor(v);
        g->centre_x[i] = px < 0 ? 0 : px >= g->width ? g->width - 1 : (uint32_t)px;
        g->centre_y[i] = py < 0 ? 0 : py >= g->height ? g->height - 1 : (uint32_t)py;
    }
    *geometry = g;
    return true;
nomem:
    preview_geometry_free(g);
    fprintf(stderr, "%s: out of memory for the image geometry\n", cmd);
    return false;
}

void preview_geometry_free(preview_geometry *geometry) {
    if (!geometry) return;
    free(geometry->centre_x);
    free(geometry->centre_y);
    free(geometry->pos);
    free(geometry->dot_scale);
    free(geometry);
}

/* -------------------------------------------------------------------- dots */

struct preview_canvas {
    const preview_geometry *g;
    float *acc; /* width * height * 4: r, g, b, weight */
};

bool preview_canvas_create(const char *cmd, const preview_geometry *geometry,
                           preview_canvas **canvas) {
    preview_canvas *c = calloc(1, sizeof *c);
    if (c) {
        c->g = geometry;
        c->acc = malloc((size_t)geometry->width * geometry->height * 4 * sizeof *c->acc);
    }
    if (!c || !c->acc) {
        preview_canvas_free(c);
        fprintf(stderr, "%s: out of memory for a %ux%u image\n", cmd, geometry->width,
                geometry->height);
        *canvas = NULL;
        return false;
    }
    *canvas = c;
    return true;
}

void preview_canvas_free(preview_canvas *canvas) {
    if (!canvas) return;
    free(canvas->acc);
    free(canvas);
}

/*
 * Adds LED i's dot. The gaussian sits at the LED's true (sub-pixel) position,
 * which keeps dense layouts free of the moire that snapping to pixels makes,
 * and is scaled so that its weight at the LED's own centre pixel is exactly 1.
 */
static void canvas_splat(preview_canvas *c, uint32_t i, const uint8_t *rgb) {
    const preview_geometry *g = c->g;
    const float sigma = g->dot_scale ? g->sigma * g->dot_scale[i] : g->sigma;
    const int r = g->dot_scale ? (int)ceilf(3.0f * sigma) + 1 : g->radius;
    const float u = g->pos[2 * i], v = g->pos[2 * i + 1];
    const long cx = g->centre_x[i], cy = g->centre_y[i];
    const float inv = 1.0f / (2.0f * sigma * sigma);
    const float cut = 9.0f * sigma * sigma + 1.0f;
    const float ox = (float)cx + 0.5f - u, oy = (float)cy + 0.5f - v;
    const float d0 = ox * ox + oy * oy;
    const float cr = rgb[0] / 255.0f, cg = rgb[1] / 255.0f, cb = rgb[2] / 255.0f;
    long y0 = cy - r < 0 ? 0 : cy - r,
         y1 = cy + r >= (long)g->height ? (long)g->height - 1 : cy + r;
    long x0 = cx - r < 0 ? 0 : cx - r, x1 = cx + r >= (long)g->width ? (long)g->width - 1 : cx + r;
    for (long y = y0; y <= y1; y++) {
        float dy = (float)y + 0.5f - v;
        float *a = c->acc + ((size_t)y * g->width + (size_t)x0) * 4;
        for (long x = x0; x <= x1; x++, a += 4) {
            float dx = (float)x + 0.5f - u;
            float d2 = dx * dx + dy * dy;
            if (d2 > cut) continue;
            float w = (x == cx && y == cy) ? 1.0f : expf(-(d2 - d0) * inv);
            if (w > 1.0f) w = 1.0f;
            a[0] += w * cr;
            a[1] += w * cg;
            a[2] += w * cb;
            a[3] += w;
        }
    }
}

static uint8_t canvas_byte(float v) {
    v = v * 255.0f + 0.5f;
    return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)v;
}

void preview_canvas_draw(preview_canvas *canvas, const uint8_t *led_rgb, uint8_t *rgb) {
    const preview_geometry *g = canvas->g;
    size_t pixels = (size_t)g->width * g->height;
    memset(canvas->acc, 0, pixels * 4 * sizeof *canvas->acc);
    for (uint32_t i = 0; i < g->led_count; i++) canvas_splat(canvas, i, led_rgb + 3 * (size_t)i);
    const float bg[3] = {PREVIEW_BACKGROUND_R / 255.0f, PREVIEW_BACKGROUND_G / 255.0f,
                         PREVIEW_BACKGROUND_B / 255.0f};
    for (size_t p = 0; p < pixels; p++) {
        const float *a = canvas->acc + 4 * p;
        float w = a[3];
        float norm = w > 1 ? 1.0f / w : 1.0f, cover = w > 1 ? 1.0f : w;
        for (int ch = 0; ch < 3; ch++)
            rgb[3 * p + ch] = canvas_byte(a[ch] * norm + bg[ch] * (1.0f - cover));
    }
}

/* --------------------------------------------------------------------- PNG */

bool preview_png_write(const char *cmd, const char *path, uint32_t width, uint32_t height,
                       const uint8_t *rgb) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = width;
    image.height = height;
    image.format = PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&image, path, 0, rgb, 0, NULL)) {
        fprintf(stderr, "%s: cannot write %s: %s\n", cmd, path,
                image.message[0] ? image.message : strerror(errno));
        png_image_free(&image);
        return false;
    }
    return true;
}

/* --------------------------------------------------------------------- GIF */

#define GIF_SAMPLE_PIXELS (1u << 20) /* pixels over all frames that choose the palette */
#define GIF_LUT_BITS      6

struct preview_gif {
    const char *cmd;
    uint32_t width, height, frame_count;
    /* Palette sampling. */
    uint8_t *sample[3];
    size_t sample_count, sample_cap, sample_step;
    /* Encoding. */
    GifColorType palette[256];
    int palette_size;
    int16_t *lut; /* (2^GIF_LUT_BITS)^3 nearest palette entries, -1 until computed */
    uint8_t *indices;
    GifFileType *file;
    const char *path;
    double fps;
    uint32_t written;
};

bool preview_gif_create(const char *cmd, uint32_t width, uint32_t height, uint32_t frame_count,
                        preview_gif **gif) {
    preview_gif *g = calloc(1, sizeof *g);
    size_t pixels = (size_t)width * height;
    if (g) {
        g->cmd = cmd;
        g->width = width;
        g->height = height;
        g->frame_count = frame_count ? frame_count : 1;
        size_t per_frame = GIF_SAMPLE_PIXELS / g->frame_count;
        if (per_frame < 1) per_frame = 1;
        g->sample_step = pixels / per_frame > 1 ? pixels / per_frame : 1;
        g->sample_cap = ((pixels + g->sample_step - 1) / g->sample_step) * g->frame_count;
        for (int c = 0; c < 3; c++) g->sample[c] = malloc(g->sample_cap);
        g->lut = malloc(sizeof *g->lut << (3 * GIF_LUT_BITS));
        g->indices = malloc(pixels);
    }
    if (!g || !g->sample[0] || !g->sample[1] || !g->sample[2] || !g->lut || !g->indices) {
        preview_gif_free(g);
        fprintf(stderr, "%s: out of memory for a %ux%u GIF\n", cmd, width, height);
        *gif = NULL;
        return false;
    }
    memset(g->lut, 0xff, sizeof *g->lut << (3 * GIF_LUT_BITS));
    *gif = g;
    return true;
}

bool preview_gif_sample(preview_gif *gif, const uint8_t *rgb) {
    size_t pixels = (size_t)gif->width * gif->height;
    for (size_t p = 0; p < pixels && gif->sample_count < gif->sample_cap; p += gif->sample_step) {
        for (int c = 0; c < 3; c++) gif->sample[c][gif->sample_count] = rgb[3 * p + c];
        gif->sample_count++;
    }
    return true;
}

/* Median cut over the sampled pixels (giflib's GifQuantizeBuffer, 5 bits per channel). */
static bool gif_build_palette(preview_gif *gif) {
    uint8_t *scratch = malloc(gif->sample_count ? gif->sample_count : 1);
    if (!scratch) {
        fprintf(stderr, "%s: out of memory building the GIF palette\n", gif->cmd);
        return false;
    }
    int size = 256;
    memset(gif->palette, 0, sizeof gif->palette);
    int ok = gif->sample_count == 0 ||
             GifQuantizeBuffer((unsigned)gif->sample_count, 1, &size, gif->sample[0],
                               gif->sample[1], gif->sample[2], scratch, gif->palette) == GIF_OK;
    free(scratch);
    if (!ok) {
        fprintf(stderr, "%s: giflib could not build a palette\n", gif->cmd);
        return false;
    }
    gif->palette_size = gif->sample_count == 0 ? 1 : size < 1 ? 1 : size > 256 ? 256 : size;
    for (int c = 0; c < 3; c++) {
        free(gif->sample[c]);
        gif->sample[c] = NULL;
    }
    return true;
}

static uint8_t gif_nearest(preview_gif *gif, const uint8_t *rgb) {
    const int shift = 8 - GIF_LUT_BITS;
    size_t key = ((size_t)(rgb[0] >> shift) << (2 * GIF_LUT_BITS)) |
                 ((size_t)(rgb[1] >> shift) << GIF_LUT_BITS) | (size_t)(rgb[2] >> shift);
    if (gif->lut[key] >= 0) return (uint8_t)gif->lut[key];
    /* The cell's centre stands for every colour in it. */
    int half = 1 << (shift - 1);
    int r = ((rgb[0] >> shift) << shift) + half, g = ((rgb[1] >> shift) << shift) + half;
    int b = ((rgb[2] >> shift) << shift) + half;
    long best_d = -1;
    int best = 0;
    for (int i = 0; i < gif->palette_size; i++) {
        long dr = r - gif->palette[i].Red, dg = g - gif->palette[i].Green;
        long db = b - gif->palette[i].Blue;
        long d = 2 * dr * dr + 4 * dg * dg + 3 * db * db; /* roughly perceptual weights */
        if (best_d < 0 || d < best_d) {
            best_d = d;
            best = i;
        }
    }
    gif->lut[key] = (int16_t)best;
    return (uint8_t)best;
}

static bool gif_fail(preview_gif *gif, const char *what, int error) {
    fprintf(stderr, "%s: cannot write %s: %s: %s\n", gif->cmd, gif->path, what,
            GifErrorString(error) ? GifErrorString(error) : "giflib error");
    return false;
}

bool preview_gif_open(preview_gif *gif, const char *path, double fps) {
    gif->path = path;
    gif->fps = fps;
    if (!gif_build_palette(gif)) return false;
    int error = 0;
    /* Opened here rather than by giflib, which would create the file with mode 0600. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        fprintf(stderr, "%s: cannot create %s: %s\n", gif->cmd, path, strerror(errno));
        return false;
    }
    gif->file = EGifOpenFileHandle(fd, &error);
    if (!gif->file) {
        close(fd); /* giflib fails here only before taking the descriptor over */
        fprintf(stderr, "%s: cannot write %s: %s\n", gif->cmd, path, GifErrorString(error));
        return false;
    }
    EGifSetGifVersion(gif->file, true);
    ColorMapObject *map = GifMakeMapObject(256, gif->palette);
    if (!map) {
        fprintf(stderr, "%s: out of memory for the GIF palette\n", gif->cmd);
        return false;
    }
    int status = EGifPutScreenDesc(gif->file, (int)gif->width, (int)gif->height, 8, 0, map);
    GifFreeMapObject(map);
    if (status != GIF_OK) return gif_fail(gif, "screen descriptor", gif->file->Error);
    /* Loop forever: the NETSCAPE2.0 application extension. */
    static const unsigned char app[11] = "NETSCAPE2.0";
    static const unsigned char loop[3] = {1, 0, 0};
    if (EGifPutExtensionLeader(gif->file, APPLICATION_EXT_FUNC_CODE) != GIF_OK ||
        EGifPutExtensionBlock(gif->file, sizeof app, app) != GIF_OK ||
        EGifPutExtensionBlock(gif->file, sizeof loop, loop) != GIF_OK ||
        EGifPutExtensionTrailer(gif->file) != GIF_OK)
        return gif_fail(gif, "loop extension", gif->file->Error);
    return true;
}

bool preview_gif_add(preview_gif *gif, const uint8_t *rgb) {
    size_t pixels = (size_t)gif->width * gif->height;
    for (size_t p = 0; p < pixels; p++) gif->indices[p] = gif_nearest(gif, rgb + 3 * p);
    /* Delays in centiseconds, rounded so that their running sum tracks k / fps exactly. */
    uint32_t k = gif->written;
    long delay = lround(100.0 * (k + 1) / gif->fps) - lround(100.0 * k / gif->fps);
    GraphicsControlBlock gcb = {DISPOSE_DO_NOT, false, (int)(delay < 1 ? 1 : delay),
                                NO_TRANSPARENT_COLOR};
    GifByteType ext[4];
    size_t ext_len = EGifGCBToExtension(&gcb, ext);
    if (EGifPutExtension(gif->file, GRAPHICS_EXT_FUNC_CODE, (int)ext_len, ext) != GIF_OK)
        return gif_fail(gif, "frame delay", gif->file->Error);
    if (EGifPutImageDesc(gif->file, 0, 0, (int)gif->width, (int)gif->height, false, NULL) != GIF_OK)
        return gif_fail(gif, "image descriptor", gif->file->Error);
    for (uint32_t y = 0; y < gif->height; y++)
        if (EGifPutLine(gif->file, gif->indices + (size_t)y * gif->width, (int)gif->width) !=
            GIF_OK)
            return gif_fail(gif, "pixels", gif->file->Error);
    gif->written++;
    return true;
}

bool preview_gif_close(preview_gif *gif) {
    if (!gif->file) return false;
    int error = 0;
    int status = EGifCloseFile(gif->file, &error);
    gif->file = NULL;
    if (status != GIF_OK) return gif_fail(gif, "closing", error);
    return true;
}

void preview_gif_free(preview_gif *gif) {
    if (!gif) return;
    if (gif->file) {
        int error = 0;
        EGifCloseFile(gif->file, &error);
    }
    for (int c = 0; c < 3; c++) free(gif->sample[c]);
    free(gif->lut);
    free(gif->indices);
    free(gif);
}

/* ---------------------------------------------------------------- terminal */

void preview_term_size(uint32_t *cols, uint32_t *rows) {
    struct winsize ws;
    *cols = 80;
    *rows = 24;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
        *cols = ws.ws_col;
        *rows = ws.ws_row;
    }
    *rows = *rows > 2 ? *rows - 1 : 1; /* a line for the status and the cursor */
}

/* Appends an SGR colour sequence: 38 (foreground) or 48 (background). */
static char *term_colour(char *p, int layer, const uint8_t *c) {
    return p + sprintf(p, "\x1b[%d;2;%u;%u;%um", layer, c[0], c[1], c[2]);
}

bool preview_term_draw(const char *cmd, FILE *out, uint32_t width, uint32_t height,
                       const uint8_t *rgb, bool first) {
    /* Per cell at most two colour sequences (19 bytes each) and a 3-byte half block. */
    size_t cap = (size_t)(height / 2 + 1) * ((size_t)width * 41 + 16) + 32;
    char *buf = malloc(cap);
    if (!buf) {
        fprintf(stderr, "%s: out of memory drawing to the terminal\n", cmd);
        return false;
    }
    char *p = buf;
    p += sprintf(p, first ? "\x1b[?25l\x1b[2J\x1b[H" : "\x1b[H");
    for (uint32_t y = 0; y < height; y += 2) {
        const uint8_t *last_top = NULL, *last_bottom = NULL;
        for (uint32_t x = 0; x < width; x++) {
            const uint8_t *top = rgb + 3 * ((size_t)y * width + x);
            const uint8_t *bottom = y + 1 < height ? top + 3 * (size_t)width : NULL;
            static const uint8_t black[3] = {0, 0, 0};
            if (!bottom) bottom = black;
            if (!last_top || memcmp(top, last_top, 3) != 0) p = term_colour(p, 38, top);
            if (!last_bottom || memcmp(bottom, last_bottom, 3) != 0) p = term_colour(p, 48, bottom);
            last_top = top;
            last_bottom = bottom;
            memcpy(p, "\xe2\x96\x80", 3); /* U+2580 upper half block */
            p += 3;
        }
        p += sprintf(p, "\x1b[0m\n");
    }
    size_t len = (size_t)(p - buf);
    bool ok = fwrite(buf, 1, len, out) == len && fflush(out) == 0;
    free(buf);
    if (!ok) fprintf(stderr, "%s: cannot write to the terminal: %s\n", cmd, strerror(errno));
    return ok;
}

void preview_term_finish(FILE *out, uint32_t height) {
    (void)height;
    fputs("\x1b[0m\x1b[?25h", out);
    fflush(out);
}
