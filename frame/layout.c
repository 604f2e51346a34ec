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
 *                             keeping the aspect ratio, centred on 0:
 *     JSON (a .json name, or content starting with '['): an array of strips,
 *       each a non-empty array of [x, y] number pairs:
 *         [[[0, 0], [1, 0]], [[0, 1], [1, 1], [2, 1]]]
 *     CSV (otherwise): one LED per line, "strip,x,y"; strips are numbered
 *       from 0 and listed in order (a line's strip is the previous line's, or
 *       one more); LEDs of a strip in file order. Blank lines and lines
 *       starting with '#' are skipped; a first line whose first field is not
 *       a number (e.g. "strip,x,y") is a header.
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
        snprintf(l->name, sizeof l->name, "%s", spec); /* truncated to 32 bytes */
    }
    if (!l || !l->strip_sizes || !l->xy) {
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
typedef struct layout_points {
    double *xy;
    uint32_t *strips;
    size_t leds, strip_count, xy_cap, strip_cap;
} layout_points;

static void layout_points_free(layout_points *pts) {
    free(pts->xy);
    free(pts->strips);
}

static sky_status layout_points_add(layout_points *pts, size_t strip, double x, double y,
                                    const char *file, char *error, size_t error_len) {
    if (pts->leds >= SKY_LAYOUT_MAX_LEDS) {
        frame_error(error, error_len, "map %s: more than the limit of %u LEDs", file,
                    SKY_LAYOUT_MAX_LEDS);
        return SKY_ERR_LIMIT;
    }
    if (pts->leds == pts->xy_cap) {
        size_t cap = pts->xy_cap ? pts->xy_cap * 2 : 256;
        double *xy = realloc(pts->xy, cap * 2 * sizeof *xy);
        if (!xy) goto nomem;
        pts->xy = xy;
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
    pts->xy[2 * pts->leds] = x;
    pts->xy[2 * pts->leds + 1] = y;
    pts->leds++;
    return SKY_OK;
nomem:
    frame_error(error, error_len, "map %s: out of memory", file);
    return SKY_ERR_NOMEM;
}

/* Centre the bounding box on 0 and scale its longer side to [-1, 1]. */
static sky_status layout_from_points(const char *spec, const layout_points *pts, sky_layout **out,
                                     char *error, size_t error_len) {
    sky_layout *l;
    sky_status st = layout_alloc(spec, pts->leds, pts->strip_count, &l, error, error_len);
    if (st != SKY_OK) return st;
    memcpy(l->strip_sizes, pts->strips, pts->strip_count * sizeof *pts->strips);
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (size_t i = 0; i < pts->leds; i++) {
        for (int a = 0; a < 2; a++) {
            double v = pts->xy[2 * i + a];
            if (v < lo[a]) lo[a] = v;
            if (v > hi[a]) hi[a] = v;
        }
    }
    double span = fmax(hi[0] - lo[0], hi[1] - lo[1]);
    double scale = span > 0.0 && isfinite(span) ? 2.0 / span : 0.0;
    for (size_t i = 0; i < pts->leds; i++) {
        for (int a = 0; a < 2; a++) {
            double centre = lo[a] + (hi[a] - lo[a]) / 2.0;
            double v = (pts->xy[2 * i + a] - centre) * scale;
            l->xy[2 * i + a] = (float)fmin(1.0, fmax(-1.0, v));
        }
    }
    *out = l;
    return SKY_OK;
}

static sky_status layout_read_file(const char *file, char **text, size_t *len, char *error,
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
    *text = buf;
    *len = n;
    return SKY_OK;
}

static void layout_line_col(const char *text, size_t offset, size_t *line, size_t *col) {
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

static sky_status layout_json_point(json_object *pt, size_t s, size_t k, double *x, double *y,
                                    const char *file, char *error, size_t error_len) {
    bool ok = json_object_is_type(pt, json_type_array) && json_object_array_length(pt) == 2;
    for (size_t a = 0; ok && a < 2; a++) {
        json_object *v = json_object_array_get_idx(pt, a);
        ok = json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int);
        double d = ok ? json_object_get_double(v) : 0.0;
        ok = ok && isfinite(d);
        *(a == 0 ? x : y) = d;
    }
    if (!ok) {
        frame_error(error, error_len,
                    "map %s: strip %zu, LED %zu: expected an [x, y] pair of finite numbers, got "
                    "%s",
                    file, s, k, json_object_to_json_string_ext(pt, JSON_C_TO_STRING_PLAIN));
        return SKY_ERR_FORMAT;
    }
    return SKY_OK;
}

static sky_status layout_json_walk(json_object *root, layout_points *pts, const char *file,
                                   char *error, size_t error_len) {
    if (!json_object_is_type(root, json_type_array) || json_object_array_length(root) == 0) {
        frame_error(error, error_len,
                    "map %s: expected a non-empty array of strips, each an array of [x, y] "
                    "pairs",
                    file);
        return SKY_ERR_FORMAT;
    }
    size_t strips = json_object_array_length(root);
    for (size_t s = 0; s < strips; s++) {
        json_object *strip = json_object_array_get_idx(root, s);
        if (!json_object_is_type(strip, json_type_array) || json_object_array_length(strip) == 0) {
            frame_error(error, error_len,
                        "map %s: strip %zu: expected a non-empty array of [x, y] pairs", file, s);
            return SKY_ERR_FORMAT;
        }
        size_t leds = json_object_array_length(strip);
        for (size_t k = 0; k < leds; k++) {
            double x, y;
            sky_status st = layout_json_point(json_object_array_get_idx(strip, k), s, k, &x, &y,
                                              file, error, error_len);
            if (st == SKY_OK) st = layout_points_add(pts, s, x, y, file, error, error_len);
            if (st != SKY_OK) return st;
        }
    }
    return SKY_OK;
}

static sky_status layout_json(const char *text, size_t len, layout_points *pts, const char *file,
                              char *error, size_t error_len) {
    if (len > (size_t)INT32_MAX) {
        frame_error(error, error_len, "map %s: too large for the JSON parser", file);
        return SKY_ERR_LIMIT;
    }
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        frame_error(error, error_len, "map %s: out of memory", file);
        return SKY_ERR_NOMEM;
    }
    json_object *root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    sky_status st = SKY_OK;
    size_t line, col;
    if (jerr != json_tokener_success || !root) {
        layout_line_col(text, end, &line, &col);
        frame_error(error, error_len, "map %s:%zu:%zu: JSON parse error: %s", file, line, col,
                    jerr == json_tokener_continue ? "unexpected end of file"
                                                  : json_tokener_error_desc(jerr));
        st = SKY_ERR_FORMAT;
    } else {
        while (end < len && isspace((unsigned char)text[end])) end++;
        if (end < len) {
            layout_line_col(text, end, &line, &col);
            frame_error(error, error_len, "map %s:%zu:%zu: unexpected data after the JSON array",
                        file, line, col);
            st = SKY_ERR_FORMAT;
        }
    }
    if (st == SKY_OK) st = layout_json_walk(root, pts, file, error, error_len);
    json_object_put(root);
    return st;
}

/* ---- CSV */

/* Splits a line at commas into at most `max` trimmed fields; returns the count. */
static size_t layout_csv_fields(char *line, char **fields, size_t max) {
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

static bool layout_csv_number(const char *field, double *out) {
    if (*field == '\0') return false;
    char *end;
    errno = 0;
    double v = strtod(field, &end);
    if (*end != '\0' || errno == ERANGE || !isfinite(v)) return false;
    *out = v;
    return true;
}

static sky_status layout_csv_line(char *line, size_t lineno, bool *header_allowed,
                                  layout_points *pts, const char *file, char *error,
                                  size_t error_len) {
    char *f[3];
    size_t n = layout_csv_fields(line, f, 3);
    double strip, x, y;
    bool first_numeric = n >= 1 && layout_csv_number(f[0], &strip);
    if (!first_numeric && *header_allowed) { /* a header such as "strip,x,y" */
        *header_allowed = false;
        return SKY_OK;
    }
    *header_allowed = false;
    if (n != 3) {
        frame_error(error, error_len, "map %s:%zu: expected 3 fields \"strip,x,y\", found %zu",
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
    if (!layout_csv_number(f[1], &x) || !layout_csv_number(f[2], &y)) {
        frame_error(error, error_len, "map %s:%zu: x \"%s\" and y \"%s\" must be finite numbers",
                    file, lineno, f[1], f[2]);
        return SKY_ERR_FORMAT;
    }
    return layout_points_add(pts, (size_t)strip, x, y, file, error, error_len);
}

static sky_status layout_csv(char *text, layout_points *pts, const char *file, char *error,
                             size_t error_len) {
    bool header_allowed = true;
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
            sky_status st =
                layout_csv_line(line, lineno, &header_allowed, pts, file, error, error_len);
            if (st != SKY_OK) return st;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (pts->leds == 0) {
        frame_error(error, error_len, "map %s: no LEDs (expected lines \"strip,x,y\")", file);
        return SKY_ERR_FORMAT;
    }
    return SKY_OK;
}

static bool layout_has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static sky_status layout_map(const char *spec, const char *file, sky_layout **out, char *error,
                             size_t error_len) {
    if (*file == '\0') {
        frame_error(error, error_len, "layout \"%s\": expected a file name after \"map:\"", spec);
        return SKY_ERR_FORMAT;
    }
    char *text;
    size_t len;
    sky_status st = layout_read_file(file, &text, &len, error, error_len);
    if (st != SKY_OK) return st;
    if (strlen(text) != len) {
        frame_error(error, error_len, "map %s: contains a NUL byte (a binary file?)", file);
        free(text);
        return SKY_ERR_FORMAT;
    }
    const char *first = text;
    while (isspace((unsigned char)*first)) first++;
    bool json =
        layout_has_suffix(file, ".json") || (!layout_has_suffix(file, ".csv") && *first == '[');
    layout_points pts = {0};
    st = json ? layout_json(text, len, &pts, file, error, error_len)
              : layout_csv(text, &pts, file, error, error_len);
    free(text);
    if (st == SKY_OK) st = layout_from_points(spec, &pts, out, error, error_len);
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
    if (strncmp(spec, "map:", 4) == 0) return layout_map(spec, spec + 4, layout, error, error_len);
    frame_error(error, error_len,
                "layout \"%s\": unknown kind (expected disc:STRIPSxLEDS[:INNER], grid:WxH, "
                "strip:N or map:FILE)",
                spec);
    return SKY_ERR_FORMAT;
}
