/*
 * control_studio.c - the layout, the examples gallery and the embedded
 * static files that the control API serves to the studio
 * (control_studio.h). No show, no socket: the HTTP server calls these on
 * its worker threads, and the unit tests call them directly.
 */
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "control_studio.h"
#include "sky/frame.h"

/* ------------------------------------------------------------------ text */

/* A growing text buffer; `failed` once an allocation failed (the result is then NULL). */
typedef struct text_buf {
    char *data;
    size_t len, cap;
    bool failed;
} text_buf;

static void text_printf(text_buf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_printf(text_buf *t, const char *fmt, ...) {
    if (t->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->data ? t->data + t->len : NULL, t->data ? t->cap - t->len : 0, fmt,
                          ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if (t->data && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap * 2 : 4096;
        while (cap < t->len + (size_t)n + 1) cap *= 2;
        char *grown = realloc(t->data, cap);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->data = grown;
        t->cap = cap;
    }
}

static char *text_take(text_buf *t) {
    if (t->failed) {
        free(t->data);
        return NULL;
    }
    return t->data;
}

/* ---------------------------------------------------------------- spacing */

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct point_grid {
    float minx, miny, cell;
    size_t nx, ny;
    size_t *start; /* nx * ny + 1: cell c holds order[start[c] .. start[c + 1]) */
    size_t *order;
} point_grid;

static size_t grid_clamp(double v, size_t n) {
    if (!(v > 0)) return 0;
    return v >= (double)(n - 1) ? n - 1 : (size_t)v;
}

static bool grid_build(point_grid *g, const float *xy, size_t count) {
    float maxx = -FLT_MAX, maxy = -FLT_MAX;
    g->minx = FLT_MAX, g->miny = FLT_MAX;
    for (size_t i = 0; i < count; i++) {
        g->minx = fminf(g->minx, xy[2 * i]), maxx = fmaxf(maxx, xy[2 * i]);
        g->miny = fminf(g->miny, xy[2 * i + 1]), maxy = fmaxf(maxy, xy[2 * i + 1]);
    }
    float extent = fmaxf(maxx - g->minx, maxy - g->miny);
    /* About one point per cell on average: side sqrt(count) cells over the longer extent. */
    size_t side = (size_t)ceil(sqrt((double)count));
    g->cell = extent > 0 ? extent / (float)side : 1;
    g->nx = grid_clamp((maxx - g->minx) / g->cell, side + 1) + 1;
    g->ny = grid_clamp((maxy - g->miny) / g->cell, side + 1) + 1;
    g->start = calloc(g->nx * g->ny + 1, sizeof *g->start);
    g->order = malloc(count * sizeof *g->order);
    if (!g->start || !g->order) return false;
    for (size_t i = 0; i < count; i++) {
        size_t cx = grid_clamp((xy[2 * i] - g->minx) / g->cell, g->nx);
        size_t cy = grid_clamp((xy[2 * i + 1] - g->miny) / g->cell, g->ny);
        g->start[cy * g->nx + cx + 1]++;
    }
    for (size_t c = 0; c < g->nx * g->ny; c++) g->start[c + 1] += g->start[c];
    size_t *fill = malloc((g->nx * g->ny) * sizeof *fill);
    if (!fill) return false;
    memcpy(fill, g->start, (g->nx * g->ny) * sizeof *fill);
    for (size_t i = 0; i < count; i++) {
        size_t cx = grid_clamp((xy[2 * i] - g->minx) / g->cell, g->nx);
        size_t cy = grid_clamp((xy[2 * i + 1] - g->miny) / g->cell, g->ny);
        g->order[fill[cy * g->nx + cx]++] = i;
    }
    free(fill);
    return true;
}

/* The squared distance from point i to the nearest point of cell (cx, cy) closer than best. */
static double grid_cell_nearest(const point_grid *g, const float *xy, size_t i, long cx, long cy,
                                double best) {
    if (cx < 0 || cy < 0 || (size_t)cx >= g->nx || (size_t)cy >= g->ny) return best;
    size_t c = (size_t)cy * g->nx + (size_t)cx;
    for (size_t k = g->start[c]; k < g->start[c + 1]; k++) {
        size_t j = g->order[k];
        if (j == i) continue;
        double dx = xy[2 * i] - xy[2 * j], dy = xy[2 * i + 1] - xy[2 * j + 1];
        double d = dx * dx + dy * dy;
        if (d < best) best = d;
    }
    return best;
}

/* Rings of cells around point i's cell until no farther ring can hold a nearer point. */
static double grid_nearest(const point_grid *g, const float *xy, size_t i) {
    long cx = (long)grid_clamp((xy[2 * i] - g->minx) / g->cell, g->nx);
    long cy = (long)grid_clamp((xy[2 * i + 1] - g->miny) / g->cell, g->ny);
    long rings = (long)(g->nx > g->ny ? g->nx : g->ny);
    double best = INFINITY;
    for (long r = 0; r <= rings; r++) {
        for (long dx = -r; dx <= r; dx++) {
            best = grid_cell_nearest(g, xy, i, cx + dx, cy - r, best);
            if (r) best = grid_cell_nearest(g, xy, i, cx + dx, cy + r, best);
        }
        for (long dy = -r + 1; dy <= r - 1; dy++) {
            best = grid_cell_nearest(g, xy, i, cx - r, cy + dy, best);
            best = grid_cell_nearest(g, xy, i, cx + r, cy + dy, best);
        }
        /* Every point outside rings 0..r is at least r cells away. */
        double reach = (double)r * g->cell;
        if (best <= reach * reach) break;
    }
    return sqrt(best);
}

double control_layout_spacing(const float *xy, size_t count) {
    if (count < 2) return 0;
    point_grid g = {0};
    double *nearest = malloc(count * sizeof *nearest);
    double median = 0;
    if (nearest && grid_build(&g, xy, count)) {
        for (size_t i = 0; i < count; i++) nearest[i] = grid_nearest(&g, xy, i);
        qsort(nearest, count, sizeof *nearest, compare_double);
        median = count % 2 ? nearest[count / 2]
                           : (nearest[count / 2 - 1] + nearest[count / 2]) / 2;
    }
    free(g.start);
    free(g.order);
    free(nearest);
    return median;
}

/* ----------------------------------------------------------------- layout */

/* A JSON string of a header field: printable ASCII, quotes and backslashes escaped. */
static void text_json_string(text_buf *t, const char *s) {
    text_printf(t, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') text_printf(t, "\\%c", c);
        else if (c < ' ' || c > '~') text_printf(t, "\\u%04x", c);
        else text_printf(t, "%c", c);
    }
    text_printf(t, "\"");
}

char *control_layout_json(const char *frame_path, char *message, size_t message_len) {
    sky_frame_reader *reader = NULL;
    char error[512] = "";
    if (!frame_path ||
        sky_frame_reader_open(frame_path, &reader, error, sizeof error) != SKY_OK) {
        snprintf(message, message_len, "the frame file is not ready: %s",
                 frame_path ? error : "no frame file");
        return NULL;
    }
    const sky_frame_info *info = sky_frame_reader_info(reader);
    const uint32_t *strips = sky_frame_reader_strips(reader);
    const float *xy = sky_frame_reader_positions(reader);
    const float *z = sky_frame_reader_positions_z(reader);
    size_t leds = info->led_count;
    int dims = 2; /* 3 (x, y, z) when some LED is off the x, y plane */
    for (size_t i = 0; i < leds && dims == 2; i++)
        if (z && z[i] != 0.0f) dims = 3;
    float minx = 0, miny = 0, maxx = 0, maxy = 0;
    for (size_t i = 0; i < leds; i++) {
        float x = xy[2 * i], y = xy[2 * i + 1];
        if (i == 0 || x < minx) minx = x;
        if (i == 0 || y < miny) miny = y;
        if (i == 0 || x > maxx) maxx = x;
        if (i == 0 || y > maxy) maxy = y;
    }
    text_buf t = {0};
    text_printf(&t, "{\"layout\":");
    text_json_string(&t, info->layout);
    text_printf(&t, ",\"leds\":%zu,\"dims\":%d,\"strips\":[", leds, dims);
    for (uint32_t s = 0; s < info->strip_count; s++)
        text_printf(&t, "%s%u", s ? "," : "", strips ? strips[s] : (uint32_t)leds);
    text_printf(&t, "],\"spacing\":%.5g,\"bounds\":[%.5g,%.5g,%.5g,%.5g],\"positions\":[",
                control_layout_spacing(xy, leds), minx, miny, maxx, maxy);
    for (size_t i = 0; i < leds; i++) {
        text_printf(&t, "%s%.5g,%.5g", i ? "," : "", xy[2 * i], xy[2 * i + 1]);
        if (dims == 3) text_printf(&t, ",%.5g", z[i]);
    }
    text_printf(&t, "]}");
    sky_frame_reader_free(reader);
    char *out = text_take(&t);
    if (!out) snprintf(message, message_len, "out of memory");
    return out;
}

/* --------------------------------------------------------------- examples */

static int compare_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_example_name(const char *name) {
    size_t n = strlen(name);
    return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".sky") == 0;
}

/* The file's text when it is a regular file of at most CONTROL_EXAMPLE_MAX bytes; else NULL. */
static char *example_read(const char *dir, const char *name, size_t *len) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct stat st;
    char *text = NULL;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= CONTROL_EXAMPLE_MAX &&
        (text = malloc((size_t)st.st_size + 1))) {
        *len = fread(text, 1, (size_t)st.st_size, f);
        text[*len] = '\0';
    }
    fclose(f);
    return text;
}

char *control_examples_json(const char *dir) {
    json_object *list = json_object_new_array();
    if (!list) return NULL;
    char *names[CONTROL_EXAMPLES_MAX];
    size_t count = 0;
    DIR *d = dir ? opendir(dir) : NULL;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!is_example_name(e->d_name)) continue;
        char *name = strdup(e->d_name);
        if (!name) continue;
        if (count < CONTROL_EXAMPLES_MAX) {
            names[count++] = name;
            continue;
        }
        /* Full: keep the first names in order, so that the list does not depend on readdir's. */
        qsort(names, count, sizeof *names, compare_name);
        if (strcmp(name, names[count - 1]) < 0) {
            free(names[count - 1]);
            names[count - 1] = name;
        } else {
            free(name);
        }
    }
    if (d) closedir(d);
    qsort(names, count, sizeof *names, compare_name);
    for (size_t i = 0; i < count; i++) {
        size_t len = 0;
        char *text = example_read(dir, names[i], &len);
        json_object *o = text ? json_object_new_object() : NULL;
        if (o) {
            json_object_object_add(o, "name", json_object_new_string(names[i]));
            json_object_object_add(o, "source", json_object_new_string_len(text, (int)len));
            json_object_array_add(list, o);
        }
        free(text);
        free(names[i]);
    }
    const char *json =
        json_object_to_json_string_ext(list, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *out = json ? strdup(json) : NULL;
    json_object_put(list);
    return out;
}

/* ----------------------------------------------------------- static files */

const control_static_file *control_static_find(const char *uri) {
    if (!uri || uri[0] != '/') return NULL;
    const char *name = uri[1] ? uri + 1 : "index.html";
    for (size_t i = 0; i < control_static_file_count; i++)
        if (strcmp(control_static_files[i].name, name) == 0) return &control_static_files[i];
    return NULL;
}
