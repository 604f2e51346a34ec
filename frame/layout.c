/*
 * layout.c - LED layouts: parses a layout string (include/sky/layout.h) and
 * computes where every LED is, strip after strip.
 *
 *   disc:STRIPSxLEDS[:INNER]  strip s at angle tau*s/STRIPS counter-clockwise
 *                             from +x; LED l at radius INNER + (1 - INNER) *
 *                             (l + 0.5) / LEDS; 0 <= INNER < 1 (default 0).
 *   grid:WxH                  H strips (rows) of W LEDs; row 0 at the top,
 *                             LEDs left to right (not serpentine: wiring order
 *                             is the driver's business). Equal spacing in x
 *                             and y: the longer side spans [-1, 1] exactly,
 *                             the shorter one is centred on 0.
 *   strip:N                   one strip from x = -1 to x = +1 at y = 0.
 *   map:FILE                  positions from a file, normalised into [-1, 1]
 *                             keeping the proportions of x, y and z, centred
 *                             on 0:
 *     JSON (a .json name, or content starting with '['): an array of strips,
 *       each a non-empty array of [x, y] or [x, y, z] points (z = 0 for
 *       [x, y]):
 *         [[[0, 0], [1, 0]], [[0, 1], [1, 1], [2, 1]]]
 *     CSV (otherwise): one LED per line, "strip,x,y" or "strip,x,y,z"; strips are numbered
 *       from 0 and listed in order (a line's strip is the previous line's, or
 *       one more); LEDs of a strip in file order. Blank lines and lines
 *       starting with '#' are skipped; a first line whose first field is not
 *       a number (e.g. "strip,x,y") is a header.
 *   pixelblaze:, wled:, xlights:, csv:FILE  other tools' maps, read by
 *                             layout_import.c and normalised like map:.
 * A single LED (or all LEDs at one point) sits at (0, 0).
 *
 * Errors name the problem and where: the column in the layout string, the
 * line of a CSV file, the line:column of a JSON parse error.
 */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "frame_error.h"
#include "layout_internal.h"
#include "sky/layout.h"

#define LAYOUT_MAX_FILE_BYTES (1u << 30)

/* ------------------------------------------------------------- allocation */

static sky_status layout_alloc(const char *spec, uint64_t led_count, uint64_t strip_count,
                               sky_layout **out, char *error, size_t error_len) {
    if (led_count > SKY_LAYOUT_MAX_LEDS) {
        frame_error(error, error_len, "layout \"%s\": %llu LEDs, more than the limit of %u", spec,
                    (unsigned long long)led_count, SKY_LAYOUT_MAX_LEDS);
        return SKY_ERR_LIMIT;
    }
    sky_layout *l = calloc(1, sizeof *l);
    if (l) {
        l->led_count = (uint32_t)led_count;
        l->strip_count = (uint32_t)strip_count;
        l->strip_sizes = malloc((size_t)strip_count * sizeof *l->strip_sizes);
        l->xy = malloc((size_t)led_count * 2u * sizeof *l->xy);
        l->z = calloc((size_t)led_count ? (size_t)led_count : 1u, sizeof *l->z);
        snprintf(l->name, sizeof l->name, "%s", spec); /* truncated to 32 bytes */
    }
    if (!l || !l->strip_sizes || !l->xy || !l->z) {
        sky_layout_free(l);
        frame_error(error, error_len, "layout \"%s\": out of memory", spec);
        return SKY_ERR_NOMEM;
    }
    *out = l;
    return SKY_OK;
}

void sky_layout_free(sky_layout *layout) {
    if (!layout) return;
    free(layout->strip_sizes);
    free(layout->xy);
    free(layout->z);
    free(layout);
}

/* ---------------------------------------------------- the layout string */

typedef struct layout_cursor {
    const char *spec; /* the whole string, for messages */
    const char *p;
} layout_cursor;

static size_t layout_column(const layout_cursor *c) {
    return (size_t)(c->p - c->spec) + 1;
}

/* A positive decimal count (digits only) for `what`. */
static sky_status layout_count(layout_cursor *c, const char *what, uint32_t *out, char *error,
                               size_t error_len) {
    if (!isdigit((unsigned char)*c->p)) {
        frame_error(error, error_len, "layout \"%s\": expected the %s (a number) at column %zu",
                    c->spec, what, layout_column(c));
        return SKY_ERR_FORMAT;
    }
    const char *start = c->p;
    uint64_t v = 0;
    while (isdigit((unsigned char)*c->p)) {
        v = v * 10u + (uint64_t)(*c->p - '0');
        if (v > SKY_LAYOUT_MAX_LEDS) {
            frame_error(error, error_len,
                        "layout \"%s\": the %s at column %zu is larger than the limit of %u LEDs",
                        c->spec, what, (size_t)(start - c->spec) + 1, SKY_LAYOUT_MAX_LEDS);
            return SKY_ERR_LIMIT;
        }
        c->p++;
    }
    if (v == 0) {
        frame_error(error, error_len,
                    "layout \"%s\": the %s at column %zu is 0, must be at least 1", c->spec, what,
                    (size_t)(start - c->spec) + 1);
        return SKY_ERR_FORMAT;
    }
    *out = (uint32_t)v;
    return SKY_OK;
}

static sky_status layout_expect(layout_cursor *c, char ch, const char *what, char *error,
                                size_t error_len) {
    if (*c->p == ch) {
        c->p++;
        return SKY_OK;
    }
    frame_error(error, error_len, "layout \"%s\": expected '%c' %s at column %zu", c->spec, ch,
                what, layout_column(c));
    return SKY_ERR_FORMAT;
}

static sky_status layout_end(layout_cursor *c, char *error, size_t error_len) {
    if (*c->p == '\0') return SKY_OK;
    frame_error(error, error_len, "layout \"%s\": unexpected \"%s\" at column %zu", c->spec, c->p,
                layout_column(c));
    return SKY_ERR_FORMAT;
}

/* Two counts "AxB". */
static sky_status layout_pair(layout_cursor *c, const char *first, const char *second, uint32_t *a,
                              uint32_t *b, char *error, size_t error_len) {
    sky_status st = layout_count(c, first, a, error, error_len);
    if (st == SKY_OK) st = layout_expect(c, 'x', "between the two sizes", error, error_len);
    if (st == SKY_OK) st = layout_count(c, second, b, error, error_len);
    return st;
}

/* ------------------------------------------------------------- the shapes */

static sky_status layout_disc(layout_cursor *c, sky_layout **out, char *error, size_t error_len) {
    uint32_t strips, leds;
    sky_status st =
        layout_pair(c, "number of strips", "LEDs per strip", &strips, &leds, error, error_len);
    if (st != SKY_OK) return st;
    double inner = 0.0;
    if (*c->p == ':') {
        c->p++;
        const char *start = c->p;
        char *end = NULL;
        errno = 0;
        inner = (*start == '\0' || isspace((unsigned char)*start)) ? NAN : strtod(start, &end);
        if (end == start || end == NULL || errno != 0 || !isfinite(inner) || inner < 0.0 ||
            inner >= 1.0) {
            frame_error(error, error_len,
                        "layout \"%s\": the inner radius at column %zu must be a number in "
                        "[0, 1)",
                        c->spec, layout_column(c));
            return SKY_ERR_FORMAT;
        }
        c->p = end;
    }
    if ((st = layout_end(c, error, error_len)) != SKY_OK) return st;
    sky_layout *l;
    st = layout_alloc(c->spec, (uint64_t)strips * leds, strips, &l, error, error_len);
    if (st != SKY_OK) return st;
    const double tau = 6.283185307179586476925286766559;
    size_t i = 0;
    for (uint32_t s = 0; s < strips; s++) {
        l->strip_sizes[s] = leds;
        double angle = tau * s / strips;
        double ca = cos(angle), sa = sin(angle);
        for (uint32_t k = 0; k < leds; k++, i++) {
            double r = inner + (1.0 - inner) * (k + 0.5) / leds;
            l->xy[2 * i] = (float)(r * ca);
            l->xy[2 * i + 1] = (float)(r * sa);
        }
    }
    *out = l;
    return SKY_OK;
}

static sky_status layout_grid(layout_cursor *c, sky_layout **out, char *error, size_t error_len) {
    uint32_t w, h;
    sky_status st = layout_pair(c, "width", "height", &w, &h, error, error_len);
    if (st == SKY_OK) st = layout_end(c, error, error_len);
    if (st != SKY_OK) return st;
    sky_layout *l;
    st = layout_alloc(c->spec, (uint64_t)w * h, h, &l, error, error_len);
    if (st != SKY_OK) return st;
    uint32_t longer = w > h ? w : h;
    double step = longer > 1 ? 2.0 / (longer - 1) : 0.0;
    size_t i = 0;
    for (uint32_t row = 0; row < h; row++) {
        l->strip_sizes[row] = w;
        double y = ((h - 1) / 2.0 - row) * step;
        for (uint32_t col = 0; col < w; col++, i++) {
            l->xy[2 * i] = (float)((col - (w - 1) / 2.0) * step);
            l->xy[2 * i + 1] = (float)y;
        }
    }
    *out = l;
    return SKY_OK;
}

static sky_status layout_strip(layout_cursor *c, sky_layout **out, char *error, size_t error_len) {
    uint32_t n;
    sky_status st = layout_count(c, "number of LEDs", &n, error, error_len);
    if (st == SKY_OK) st = layout_end(c, error, error_len);
    if (st != SKY_OK) return st;
    sky_layout *l;
    st = layout_alloc(c->spec, n, 1, &l, error, error_len);
    if (st != SKY_OK) return st;
    l->strip_sizes[0] = n;
    double step = n > 1 ? 2.0 / (n - 1) : 0.0;
    for (uint32_t k = 0; k < n; k++) {
        l->xy[2 * (size_t)k] = (float)((k - (n - 1) / 2.0) * step);
        l->xy[2 * (size_t)k + 1] = 0.0f;
    }
    *out = l;
    return SKY_OK;
}

/* ------------------------------------------------------------- map files */

/* Points as read from a map file, in double, before normalisation. */
void layout_points_free(layout_points *pts) {
    free(pts->xyz);
    free(pts->strips);
}

sky_status layout_points_add(layout_points *pts, size_t strip, double x, double y, double z,
                             const char *file, char *error, size_t error_len) {
    if (pts->leds >= SKY_LAYOUT_MAX_LEDS) {
        frame_error(error, error_len, "map %s: more than the limit of %u LEDs", file,
                    SKY_LAYOUT_MAX_LEDS);
        return SKY_ERR_LIMIT;
    }
    if (strip > pts->strip_count || (strip + 1 < pts->strip_count)) {
        frame_error(error, error_len, "map %s: strip %zu out of order (internal error)", file,
                    strip);
        return SKY_ERR_INTERNAL;
    }
    if (pts->leds == pts->xy_cap) {
        size_t cap = pts->xy_cap ? pts->xy_cap * 2 : 256;
        double *xyz = realloc(pts->xyz, cap * 3 * sizeof *xyz);
        if (!xyz) goto nomem;
        pts->xyz = xyz;
        pts->xy_cap = cap;
    }
    if (strip >= pts->strip_count) { /* strips arrive in order: strip == strip_count */
        if (pts->strip_count == pts->strip_cap) {
            size_t cap = pts->strip_cap ? pts->strip_cap * 2 : 64;
            uint32_t *s = realloc(pts->strips, cap * sizeof *s);
            if (!s) goto nomem;
            pts->strips = s;
            pts->strip_cap = cap;
        }
        pts->strips[pts->strip_count++] = 0;
    }
    pts->strips[strip]++;
    pts->xyz[3 * pts->leds] = x;
    pts->xyz[3 * pts->leds + 1] = y;
    pts->xyz[3 * pts->leds + 2] = z;
    pts->leds++;
    return SKY_OK;
nomem:
    frame_error(error, error_len, "map %s: out of memory", file);
    return SKY_ERR_NOMEM;
}

/* Centre the bounding box on 0 and scale its longest side (of x, y, z) to [-1, 1]. */
sky_status layout_from_points(const char *spec, const layout_points *pts, sky_layout **out,
                              char *error, size_t error_len) {
    sky_layout *l;
    sky_status st = layout_alloc(spec, pts->leds, pts->strip_count, &l, error, error_len);
    if (st != SKY_OK) return st;
    memcpy(l->strip_sizes, pts->strips, pts->strip_count * sizeof *pts->strips);
    double lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    for (size_t i = 0; i < pts->leds; i++) {
        for (int a = 0; a < 3; a++) {
            double v = pts->xyz[3 * i + a];
            if (v < lo[a]) lo[a] = v;
            if (v > hi[a]) hi[a] = v;
        }
    }
    double span = fmax(fmax(hi[0] - lo[0], hi[1] - lo[1]), hi[2] - lo[2]);
    double scale = span > 0.0 && isfinite(span) ? 2.0 / span : 0.0;
    for (size_t i = 0; i < pts->leds; i++) {
        for (int a = 0; a < 3; a++) {
            double centre = lo[a] + (hi[a] - lo[a]) / 2.0;
            float v = (float)fmin(1.0, fmax(-1.0, (pts->xyz[3 * i + a] - centre) * scale));
            if (a < 2)
                l->xy[2 * i + a] = v;
            else
                l->z[i] = v;
        }
    }
    *out = l;
    return SKY_OK;
}

sky_status layout_read_file(const char *file, char **text, size_t *len, char *error,
                            size_t error_len) {
    FILE *f = fopen(file, "rb");
    if (!f) {
        frame_error(error, error_len, "map %s: %s", file, strerror(errno));
        return SKY_ERR_IO;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    sky_status st = buf ? SKY_OK : SKY_ERR_NOMEM;
    while (st == SKY_OK) {
        if (n == cap) {
            if (cap >= LAYOUT_MAX_FILE_BYTES) {
                frame_error(error, error_len, "map %s: larger than %u bytes", file,
                            LAYOUT_MAX_FILE_BYTES);
                st = SKY_ERR_LIMIT;
                break;
            }
            char *grown = realloc(buf, cap * 2 + 1);
            if (!grown) {
                st = SKY_ERR_NOMEM;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                frame_error(error, error_len, "map %s: %s", file, strerror(errno));
                st = SKY_ERR_IO;
            }
            break;
        }
    }
    fclose(f);
    if (st == SKY_ERR_NOMEM) frame_error(error, error_len, "map %s: out of memory", file);
    if (st != SKY_OK) {
        free(buf);
        return st;
    }
    buf[n] = '\0';
    if (strlen(buf) != n) {
        frame_error(error, error_len, "map %s: contains a NUL byte (a binary file?)", file);
        free(buf);
        return SKY_ERR_FORMAT;
    }
    *text = buf;
    *len = n;
    return SKY_OK;
}

void layout_line_col(const char *text, size_t offset, size_t *line, size_t *col) {
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < offset && text[i]; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* ---- JSON */

bool layout_json_number(json_object *v, double *out) {
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return false;
    double d = json_object_get_double(v);
    if (!isfinite(d)) return false;
    *out = d;
    return true;
}

bool layout_json_xyz(json_object *pt, double xyz[3]) {
    if (!json_object_is_type(pt, json_type_array)) return false;
    size_t n = json_object_array_length(pt);
    if (n != 2 && n != 3) return false;
    xyz[2] = 0.0;
    for (size_t a = 0; a < n; a++)
        if (!layout_json_number(json_object_array_get_idx(pt, a), &xyz[a])) return false;
    return true;
}

const char *layout_json_text(json_object *v, char *buf, size_t len) {
    const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    if (!s) s = "?";
    if (strlen(s) < len) return s;
    snprintf(buf, len, "%.*s...", (int)(len - 4), s); /* an element can be a whole array */
    return buf;
}

static sky_status layout_json_walk(json_object *root, layout_points *pts, const char *file,
                                   char *error, size_t error_len) {
    if (!json_object_is_type(root, json_type_array) || json_object_array_length(root) == 0) {
        frame_error(error, error_len,
                    "map %s: expected a non-empty array of strips, each an array of [x, y] or "
                    "[x, y, z] points",
                    file);
        return SKY_ERR_FORMAT;
    }
    size_t strips = json_object_array_length(root);
    for (size_t s = 0; s < strips; s++) {
        json_object *strip = json_object_array_get_idx(root, s);
        if (!json_object_is_type(strip, json_type_array) || json_object_array_length(strip) == 0) {
            frame_error(error, error_len,
                        "map %s: strip %zu: expected a non-empty array of [x, y] or [x, y, z] "
                        "points",
                        file, s);
            return SKY_ERR_FORMAT;
        }
        size_t leds = json_object_array_length(strip);
        for (size_t k = 0; k < leds; k++) {
            json_object *pt = json_object_array_get_idx(strip, k);
            double xyz[3];
            char shown[96];
            if (!layout_json_xyz(pt, xyz)) {
                frame_error(error, error_len,
                            "map %s: strip %zu, LED %zu: expected an [x, y] or [x, y, z] point of "
                            "finite numbers, got %s",
                            file, s, k, layout_json_text(pt, shown, sizeof shown));
                return SKY_ERR_FORMAT;
            }
            sky_status st =
                layout_points_add(pts, s, xyz[0], xyz[1], xyz[2], file, error, error_len);
            if (st != SKY_OK) return st;
        }
    }
    return SKY_OK;
}

sky_status layout_json_parse(const char *text, size_t len, const char *file, json_object **root,
                             char *error, size_t error_len) {
    *root = NULL;
    if (len > (size_t)INT32_MAX) {
        frame_error(error, error_len, "map %s: too large for the JSON parser", file);
        return SKY_ERR_LIMIT;
    }
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        frame_error(error, error_len, "map %s: out of memory", file);
        return SKY_ERR_NOMEM;
    }
    json_object *value = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    size_t line, col;
    if (jerr != json_tokener_success || !value) {
        json_object_put(value);
        layout_line_col(text, end, &line, &col);
        frame_error(error, error_len, "map %s:%zu:%zu: JSON parse error: %s", file, line, col,
                    jerr == json_tokener_continue ? "unexpected end of file"
                                                  : json_tokener_error_desc(jerr));
        return SKY_ERR_FORMAT;
    }
    while (end < len && isspace((unsigned char)text[end])) end++;
    if (end < len) {
        json_object_put(value);
        layout_line_col(text, end, &line, &col);
        frame_error(error, error_len, "map %s:%zu:%zu: unexpected data after the JSON value", file,
                    line, col);
        return SKY_ERR_FORMAT;
    }
    *root = value;
    return SKY_OK;
}

/* Our JSON map: an array of strips of points, or an object of parametric strips. */
static sky_status layout_json(const char *text, size_t len, layout_points *pts, const char *file,
                              char *error, size_t error_len) {
    json_object *root;
    sky_status st = layout_json_parse(text, len, file, &root, error, error_len);
    if (st == SKY_OK && json_object_is_type(root, json_type_object))
        st = layout_param_points(root, pts, file, error, error_len);
    else if (st == SKY_OK)
        st = layout_json_walk(root, pts, file, error, error_len);
    json_object_put(root);
    return st;
}

/* ---- CSV */

size_t layout_csv_fields(char *line, char **fields, size_t max) {
    size_t n = 0;
    char *p = line;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        while (isspace((unsigned char)*p)) p++;
        char *e = p + strlen(p);
        while (e > p && isspace((unsigned char)e[-1])) *--e = '\0';
        if (n < max) fields[n] = p;
        n++;
        if (!comma) return n;
        p = comma + 1;
    }
}

bool layout_csv_number(const char *field, double *out) {
    if (*field == '\0') return false;
    char *end;
    errno = 0;
    double v = strtod(field, &end);
    if (*end != '\0' || errno == ERANGE || !isfinite(v)) return false;
    *out = v;
    return true;
}

sky_status layout_csv_lines(char *text, void *ctx,
                            sky_status (*line_fn)(void *ctx, char *line, size_t lineno, char *error,
                                                  size_t error_len),
                            char *error, size_t error_len) {
    size_t lineno = 0;
    for (char *line = text; line;) {
        lineno++;
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\r') line[len - 1] = '\0';
        const char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (*p != '\0' && *p != '#') {
            sky_status st = line_fn(ctx, line, lineno, error, error_len);
            if (st != SKY_OK) return st;
        }
        line = nl ? nl + 1 : NULL;
    }
    return SKY_OK;
}

typedef struct layout_csv_ctx {
    layout_points *pts;
    const char *file;
    bool header_allowed;
} layout_csv_ctx;

static sky_status layout_csv_line(void *ctx, char *line, size_t lineno, char *error,
                                  size_t error_len) {
    layout_csv_ctx *c = ctx;
    layout_points *pts = c->pts;
    const char *file = c->file;
    char *f[4];
    size_t n = layout_csv_fields(line, f, 4);
    double strip, xyz[3] = {0.0, 0.0, 0.0};
    bool first_numeric = n >= 1 && layout_csv_number(f[0], &strip);
    if (!first_numeric && c->header_allowed) { /* a header such as "strip,x,y" */
        c->header_allowed = false;
        return SKY_OK;
    }
    c->header_allowed = false;
    if (n != 3 && n != 4) {
        frame_error(error, error_len,
                    "map %s:%zu: expected 3 fields \"strip,x,y\" or 4 \"strip,x,y,z\", found %zu",
                    file, lineno, n);
        return SKY_ERR_FORMAT;
    }
    size_t expected_max = pts->strip_count; /* same strip, or the next one */
    if (!first_numeric || strip != floor(strip) || strip < 0 || strip > (double)expected_max ||
        (pts->strip_count > 0 && strip < (double)(pts->strip_count - 1))) {
        if (pts->strip_count == 0)
            frame_error(error, error_len,
                        "map %s:%zu: strip \"%s\" must be 0 (strips are numbered from 0, in "
                        "order)",
                        file, lineno, f[0]);
        else
            frame_error(error, error_len,
                        "map %s:%zu: strip \"%s\" must be %zu (this strip) or %zu (the next): "
                        "strips are numbered from 0, in order",
                        file, lineno, f[0], expected_max - 1, expected_max);
        return SKY_ERR_FORMAT;
    }
    for (size_t a = 0; a + 1 < n; a++) {
        if (!layout_csv_number(f[a + 1], &xyz[a])) {
            frame_error(error, error_len, "map %s:%zu: %c \"%s\" must be a finite number", file,
                        lineno, "xyz"[a], f[a + 1]);
            return SKY_ERR_FORMAT;
        }
    }
    return layout_points_add(pts, (size_t)strip, xyz[0], xyz[1], xyz[2], file, error, error_len);
}

static sky_status layout_csv(char *text, layout_points *pts, const char *file, char *error,
                             size_t error_len) {
    layout_csv_ctx ctx = {pts, file, true};
    sky_status st = layout_csv_lines(text, &ctx, layout_csv_line, error, error_len);
    if (st != SKY_OK) return st;
    if (pts->leds == 0) {
        frame_error(error, error_len, "map %s: no LEDs (expected lines \"strip,x,y[,z]\")", file);
        return SKY_ERR_FORMAT;
    }
    return SKY_OK;
}

static bool layout_has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static sky_status layout_map_points(const char *spec, const char *file, layout_points *pts,
                                    char *error, size_t error_len) {
    if (*file == '\0') {
        frame_error(error, error_len, "layout \"%s\": expected a file name after \"map:\"", spec);
        return SKY_ERR_FORMAT;
    }
    char *text;
    size_t len;
    sky_status st = layout_read_file(file, &text, &len, error, error_len);
    if (st != SKY_OK) return st;
    const char *first = text;
    while (isspace((unsigned char)*first)) first++;
    bool json = layout_has_suffix(file, ".json") ||
                (!layout_has_suffix(file, ".csv") && (*first == '[' || *first == '{'));
    st = json ? layout_json(text, len, pts, file, error, error_len)
              : layout_csv(text, pts, file, error, error_len);
    free(text);
    return st;
}

/* The points of a layout read from a file (map: or an import), in its units. */
static bool layout_has_points(const char *spec) {
    return strncmp(spec, "map:", 4) == 0 || layout_import_kind(spec);
}

static sky_status layout_spec_points(const char *spec, layout_points *pts, char *error,
                                     size_t error_len) {
    if (strncmp(spec, "map:", 4) == 0)
        return layout_map_points(spec, spec + 4, pts, error, error_len);
    return layout_import_points(spec, pts, error, error_len);
}

/* ---------------------------------------------------------------- export */

/* %.9g keeps every float and the file's decimals as written (up to 9 digits). */
static bool layout_export_points(FILE *out, const double *xyz, const uint32_t *strips,
                                 size_t strip_count, bool three_d) {
    size_t i = 0;
    fputs("[\n", out);
    for (size_t s = 0; s < strip_count; s++) {
        fputs("  [", out);
        for (uint32_t k = 0; k < strips[s]; k++, i++) {
            fprintf(out, "%s[%.9g, %.9g", k ? ", " : "", xyz[3 * i], xyz[3 * i + 1]);
            if (three_d) fprintf(out, ", %.9g", xyz[3 * i + 2]);
            fputc(']', out);
        }
        fprintf(out, "]%s\n", s + 1 < strip_count ? "," : "");
    }
    fputs("]\n", out);
    return !ferror(out);
}

sky_status sky_layout_export_json(const char *spec, FILE *out, char *error, size_t error_len) {
    if (!out) return SKY_ERR_INVALID_ARG;
    if (!spec || !*spec) spec = SKY_LAYOUT_DEFAULT;
    layout_points pts = {0};
    sky_status st;
    if (layout_has_points(spec)) {
        st = layout_spec_points(spec, &pts, error, error_len);
    } else { /* a built-in kind: its normalised positions */
        sky_layout *l = NULL;
        st = sky_layout_create(spec, &l, error, error_len);
        for (uint32_t s = 0, i = 0; st == SKY_OK && s < l->strip_count; s++)
            for (uint32_t k = 0; st == SKY_OK && k < l->strip_sizes[s]; k++, i++)
                st = layout_points_add(&pts, s, l->xy[2 * i], l->xy[2 * i + 1], l->z[i], spec,
                                       error, error_len);
        sky_layout_free(l);
    }
    bool three_d = false;
    for (size_t i = 0; st == SKY_OK && i < pts.leds; i++) three_d |= pts.xyz[3 * i + 2] != 0.0;
    if (st == SKY_OK && !layout_export_points(out, pts.xyz, pts.strips, pts.strip_count, three_d)) {
        frame_error(error, error_len, "layout \"%s\": cannot write the map: %s", spec,
                    strerror(errno));
        st = SKY_ERR_IO;
    }
    layout_points_free(&pts);
    return st;
}

/* ------------------------------------------------------------------ entry */

sky_status sky_layout_create(const char *spec, sky_layout **layout, char *error, size_t error_len) {
    if (!layout) return SKY_ERR_INVALID_ARG;
    *layout = NULL;
    if (!spec || !*spec) spec = SKY_LAYOUT_DEFAULT;
    static const struct {
        const char *prefix;
        sky_status (*build)(layout_cursor *c, sky_layout **out, char *error, size_t error_len);
    } kinds[] = {{"disc:", layout_disc}, {"grid:", layout_grid}, {"strip:", layout_strip}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t n = strlen(kinds[i].prefix);
        if (strncmp(spec, kinds[i].prefix, n) == 0) {
            layout_cursor c = {spec, spec + n};
            return kinds[i].build(&c, layout, error, error_len);
        }
    }
    if (layout_has_points(spec)) {
        layout_points pts = {0};
        sky_status st = layout_spec_points(spec, &pts, error, error_len);
        if (st == SKY_OK) st = layout_from_points(spec, &pts, layout, error, error_len);
        layout_points_free(&pts);
        return st;
    }
    frame_error(error, error_len,
                "layout \"%s\": unknown kind (expected disc:STRIPSxLEDS[:INNER], grid:WxH, "
                "strip:N, map:FILE, or an import: pixelblaze:, wled:, xlights:, csv:FILE)",
                spec);
    return SKY_ERR_FORMAT;
}
