/*
 * layout_import.c - layouts from the files other LED tools already have
 * (docs/layouts.md, "Importing"): `pixelblaze:FILE`, `wled:FILE`,
 * `xlights:FILE` and `csv:FILE`. Each reads the file's points in its own
 * units and wiring order into a layout_points; layout.c normalises them like
 * a map file, and `sky layout import` writes them out as our JSON map
 * (sky_layout_export_json).
 *
 *   pixelblaze  a JSON array of [x, y] or [x, y, z] points (all the same
 *               size), one per pixel in wiring order: one strip.
 *   wled        ledmap.json: {"map": [...], "width": W, "height": H};
 *               map[i] is the physical LED shown at logical position i,
 *               row by row from the top, -1 a gap. Physical LED p is where
 *               p appears: column i % W, row i / W. One strip.
 *   xlights     a custom model: its grid exported as CSV (row by row from the
 *               top, an empty cell or a node number from 1), or the .xmodel
 *               file, whose CustomModel attribute holds the grid with rows
 *               split by ';', cells by ',' and depth layers by '|' (z = the
 *               layer). Node n is LED n - 1. One strip.
 *   csv         one LED per line: x,y or x,y,z, or any columns named in a
 *               header line among x, y, z, strip, index.
 *
 * Every error names the file and the element, cell or line. Wiring must be
 * complete: a repeated LED, node or index is an error naming both places,
 * and so is a missing one, since the frame file has exactly one slot per LED.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "frame_error.h"
#include "layout_internal.h"

/* Where each LED number was first seen, to name both places of a repeat. */
typedef struct import_seen {
    size_t *where; /* per LED: 1 + the place it was seen (element, cell, line); 0: not yet */
    size_t count;
} import_seen;

static sky_status import_seen_init(import_seen *s, size_t count, const char *what, const char *file,
                                   char *error, size_t error_len) {
    if (count > SKY_LAYOUT_MAX_LEDS) {
        frame_error(error, error_len, "%s %s: %zu LEDs, more than the limit of %u", what, file,
                    count, SKY_LAYOUT_MAX_LEDS);
        return SKY_ERR_LIMIT;
    }
    s->count = count;
    s->where = calloc(count ? count : 1, sizeof *s->where);
    if (!s->where) {
        frame_error(error, error_len, "%s %s: out of memory", what, file);
        return SKY_ERR_NOMEM;
    }
    return SKY_OK;
}

/* A JSON integer in [lo, hi]. */
static bool import_json_int(json_object *v, long long lo, long long hi, long long *out) {
    double d;
    if (!layout_json_number(v, &d) || d != floor(d) || d < (double)lo || d > (double)hi)
        return false;
    *out = (long long)d;
    return true;
}

/* ------------------------------------------------------------ pixelblaze */

static sky_status import_pixelblaze(const char *text, size_t len, const char *file,
                                    layout_points *pts, char *error, size_t error_len) {
    const char *first = text;
    while (isspace((unsigned char)*first)) first++;
    if (strncmp(first, "function", 8) == 0) {
        frame_error(error, error_len,
                    "pixelblaze %s: a mapper function, not its result: run it in the Pixelblaze "
                    "mapper and save the JSON array of points it shows",
                    file);
        return SKY_ERR_FORMAT;
    }
    json_object *root;
    sky_status st = layout_json_parse(text, len, file, &root, error, error_len);
    if (st != SKY_OK) return st;
    size_t n = json_object_is_type(root, json_type_array) ? json_object_array_length(root) : 0;
    if (n == 0) {
        frame_error(error, error_len,
                    "pixelblaze %s: expected a non-empty array of [x, y] or [x, y, z] points",
                    file);
        st = SKY_ERR_FORMAT;
    }
    size_t dims = 0;
    for (size_t i = 0; st == SKY_OK && i < n; i++) {
        json_object *pt = json_object_array_get_idx(root, i);
        double xyz[3];
        char shown[96];
        if (!layout_json_xyz(pt, xyz)) {
            frame_error(error, error_len,
                        "pixelblaze %s: element %zu: expected [x, y] or [x, y, z] of finite "
                        "numbers, got %s",
                        file, i, layout_json_text(pt, shown, sizeof shown));
            st = SKY_ERR_FORMAT;
            break;
        }
        size_t d = json_object_array_length(pt);
        if (dims == 0) dims = d;
        if (d != dims) {
            frame_error(error, error_len,
                        "pixelblaze %s: element %zu has %zu coordinates, element 0 has %zu: a map "
                        "is all 2-D or all 3-D",
                        file, i, d, dims);
            st = SKY_ERR_FORMAT;
            break;
        }
        st = layout_points_add(pts, 0, xyz[0], xyz[1], xyz[2], file, error, error_len);
    }
    json_object_put(root);
    return st;
}

/* ------------------------------------------------------------------ WLED */

/* "width"/"height" of a ledmap: absent (0) or an integer 1..limit. */
static sky_status import_wled_size(json_object *root, const char *key, const char *file,
                                   long long *out, char *error, size_t error_len) {
    json_object *v;
    *out = 0;
    if (!json_object_object_get_ex(root, key, &v)) return SKY_OK;
    if (!import_json_int(v, 1, SKY_LAYOUT_MAX_LEDS, out)) {
        char shown[96];
        frame_error(error, error_len, "wled %s: \"%s\" must be an integer from 1 to %u, got %s",
                    file, key, SKY_LAYOUT_MAX_LEDS, layout_json_text(v, shown, sizeof shown));
        return SKY_ERR_FORMAT;
    }
    return SKY_OK;
}

static sky_status import_wled_walk(json_object *root, const char *file, layout_points *pts,
                                   char *error, size_t error_len) {
    json_object *map;
    if (!json_object_is_type(root, json_type_object) ||
        !json_object_object_get_ex(root, "map", &map) ||
        !json_object_is_type(map, json_type_array) || json_object_array_length(map) == 0) {
        frame_error(error, error_len,
                    "wled %s: expected an object with \"map\", a non-empty array of LED numbers",
                    file);
        return SKY_ERR_FORMAT;
    }
    size_t n = json_object_array_length(map);
    long long w, h;
    sky_status st = import_wled_size(root, "width", file, &w, error, error_len);
    if (st == SKY_OK) st = import_wled_size(root, "height", file, &h, error, error_len);
    if (st != SKY_OK) return st;
    if (!w && !h) w = (long long)n, h = 1; /* a 1-D map */
    if (!w || !h || (unsigned long long)w * (unsigned long long)h != n) {
        frame_error(error, error_len,
                    "wled %s: \"map\" has %zu entries, but width x height is %lld x %lld: give "
                    "both, with one entry per cell",
                    file, n, w, h);
        return SKY_ERR_FORMAT;
    }
    import_seen seen;
    if ((st = import_seen_init(&seen, n, "wled", file, error, error_len)) != SKY_OK) return st;
    size_t leds = 0;
    for (size_t i = 0; st == SKY_OK && i < n; i++) {
        long long p;
        json_object *v = json_object_array_get_idx(map, i);
        if (!import_json_int(v, -1, (long long)n - 1, &p)) {
            char shown[96];
            frame_error(error, error_len,
                        "wled %s: map[%zu] must be -1 (a gap) or an LED number from 0 to %zu, "
                        "got %s",
                        file, i, n - 1, layout_json_text(v, shown, sizeof shown));
            st = SKY_ERR_FORMAT;
        } else if (p >= 0 && seen.where[p]) {
            frame_error(error, error_len, "wled %s: map[%zu] = %lld: LED %lld is also at map[%zu]",
                        file, i, p, p, seen.where[p] - 1);
            st = SKY_ERR_FORMAT;
        } else if (p >= 0) {
            seen.where[p] = i + 1;
            leds++;
        }
    }
    /* LEDs 0 .. leds-1 must all be placed: the frame has a slot for each. */
    for (size_t p = 0; st == SKY_OK && p < leds; p++) {
        if (!seen.where[p]) {
            frame_error(error, error_len,
                        "wled %s: LED %zu is not in the map, which places %zu LEDs (numbered 0 to "
                        "%zu)",
                        file, p, leds, leds - 1);
            st = SKY_ERR_FORMAT;
        }
    }
    if (st == SKY_OK && leds == 0) {
        frame_error(error, error_len, "wled %s: every map entry is -1: no LEDs", file);
        st = SKY_ERR_FORMAT;
    }
    for (size_t p = 0; st == SKY_OK && p < leds; p++) {
        size_t i = seen.where[p] - 1;
        st = layout_points_add(pts, 0, (double)(i % (size_t)w), 0.0 - (double)(i / (size_t)w), 0.0,
                               file, error, error_len);
    }
    free(seen.where);
    return st;
}

static sky_status import_wled(const char *text, size_t len, const char *file, layout_points *pts,
                              char *error, size_t error_len) {
    json_object *root;
    sky_status st = layout_json_parse(text, len, file, &root, error, error_len);
    if (st != SKY_OK) return st;
    st = import_wled_walk(root, file, pts, error, error_len);
    json_object_put(root);
    return st;
}

/* --------------------------------------------------------------- xLights */

/* A grid cell holding node `node` (from 1) at column, row, layer. */
typedef struct import_cell {
    size_t node, col, row, layer;
} import_cell;

/* The numbered cells in file order; memory follows the file's size, never a
 * node number, so a lone "16777216" costs nothing. */
typedef struct import_grid {
    import_cell *cells;
    size_t count, cap, nodes; /* nodes: the highest node number seen */
    const char *file;
    bool xmodel;
} import_grid;

static const char *import_cell_name(const import_grid *g, import_cell c, char *buf, size_t len) {
    if (g->xmodel)
        snprintf(buf, len, "layer %zu, row %zu, column %zu", c.layer + 1, c.row + 1, c.col + 1);
    else
        snprintf(buf, len, "line %zu, column %zu", c.row + 1, c.col + 1);
    return buf;
}

/* One cell's text (trimmed): empty, or a node number. */
static sky_status import_grid_cell(import_grid *g, const char *cell, size_t cell_len,
                                   import_cell at, char *error, size_t error_len) {
    while (cell_len && isspace((unsigned char)*cell)) cell++, cell_len--;
    while (cell_len && isspace((unsigned char)cell[cell_len - 1])) cell_len--;
    if (cell_len == 0) return SKY_OK;
    char where[96];
    unsigned long long node = 0;
    bool ok = cell_len <= 9;
    for (size_t k = 0; ok && k < cell_len; k++) {
        ok = isdigit((unsigned char)cell[k]);
        node = node * 10u + (unsigned long long)(cell[k] - '0');
    }
    if (!ok || node == 0 || node > SKY_LAYOUT_MAX_LEDS) {
        frame_error(error, error_len,
                    "xlights %s: %s: \"%.*s\" is not a node number (1 to %u) or an empty cell",
                    g->file, import_cell_name(g, at, where, sizeof where),
                    (int)(cell_len > 40 ? 40 : cell_len), cell, SKY_LAYOUT_MAX_LEDS);
        return SKY_ERR_FORMAT;
    }
    if (g->count == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 256;
        import_cell *cells = realloc(g->cells, cap * sizeof *cells);
        if (!cells) {
            frame_error(error, error_len, "xlights %s: out of memory", g->file);
            return SKY_ERR_NOMEM;
        }
        g->cells = cells;
        g->cap = cap;
    }
    at.node = (size_t)node;
    g->cells[g->count++] = at;
    if (node > g->nodes) g->nodes = (size_t)node;
    return SKY_OK;
}

/* Cells split by ',', rows by `row_sep`, layers by `layer_sep` (0: none). */
static sky_status import_grid_scan(import_grid *g, const char *s, size_t len, char row_sep,
                                   char layer_sep, char *error, size_t error_len) {
    import_cell at = {0, 0, 0, 0};
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? s[i] : row_sep;
        if (c != ',' && c != row_sep && !(layer_sep && c == layer_sep) && c != '\r') continue;
        sky_status st = import_grid_cell(g, s + start, i - start, at, error, error_len);
        if (st != SKY_OK) return st;
        start = i + 1;
        if (c == ',') {
            at.col++;
        } else if (c == row_sep) {
            at.col = 0;
            at.row++;
        } else if (c == layer_sep) {
            at.col = at.row = 0;
            at.layer++;
        }
    }
    return SKY_OK;
}

/* Nodes 1 .. nodes, each in exactly one cell: with `count` cells, a node
 * above `count` means one at or below it is missing. */
static sky_status import_grid_points(import_grid *g, layout_points *pts, char *error,
                                     size_t error_len) {
    if (g->count == 0) {
        frame_error(error, error_len, "xlights %s: no node numbers in the grid", g->file);
        return SKY_ERR_FORMAT;
    }
    size_t *cell_of = calloc(g->count, sizeof *cell_of); /* per node: 1 + its cell, 0: none */
    if (!cell_of) {
        frame_error(error, error_len, "xlights %s: out of memory", g->file);
        return SKY_ERR_NOMEM;
    }
    sky_status st = SKY_OK;
    for (size_t i = 0; st == SKY_OK && i < g->count; i++) {
        size_t node = g->cells[i].node;
        if (node > g->count) continue;
        if (cell_of[node - 1]) {
            char first[96], again[96];
            frame_error(error, error_len,
                        "xlights %s: node %zu is at %s and at %s: a node in several cells is not "
                        "supported",
                        g->file, node,
                        import_cell_name(g, g->cells[cell_of[node - 1] - 1], first, sizeof first),
                        import_cell_name(g, g->cells[i], again, sizeof again));
            st = SKY_ERR_FORMAT;
        }
        cell_of[node - 1] = i + 1;
    }
    for (size_t n = 0; st == SKY_OK && n < g->count && n < g->nodes; n++) {
        if (!cell_of[n]) {
            frame_error(error, error_len,
                        "xlights %s: node %zu is missing: the grid numbers nodes 1 to %zu", g->file,
                        n + 1, g->nodes);
            st = SKY_ERR_FORMAT;
        }
    }
    for (size_t n = 0; st == SKY_OK && n < g->nodes; n++) {
        import_cell c = g->cells[cell_of[n] - 1];
        st = layout_points_add(pts, 0, (double)c.col, 0.0 - (double)c.row, (double)c.layer, g->file,
                               error, error_len);
    }
    free(cell_of);
    return st;
}

/* The value of attribute `name` in the first element carrying it. */
static const char *import_xml_attr(const char *text, const char *name, size_t *len) {
    size_t n = strlen(name);
    for (const char *p = strstr(text, name); p; p = strstr(p + 1, name)) {
        bool word_start = p == text || isspace((unsigned char)p[-1]);
        const char *q = p + n;
        while (isspace((unsigned char)*q)) q++;
        if (!word_start || *q != '=') continue;
        q++;
        while (isspace((unsigned char)*q)) q++;
        if (*q != '"' && *q != '\'') continue;
        const char *end = strchr(q + 1, *q);
        if (!end) return NULL;
        *len = (size_t)(end - q - 1);
        return q + 1;
    }
    return NULL;
}

static sky_status import_xlights(const char *text, size_t len, const char *file, layout_points *pts,
                                 char *error, size_t error_len) {
    import_grid g = {.file = file};
    sky_status st;
    if (strstr(text, "<custommodel")) {
        size_t n;
        const char *grid = import_xml_attr(text, "CustomModel", &n);
        if (!grid) {
            frame_error(error, error_len,
                        "xlights %s: a <custommodel> without a CustomModel=\"...\" attribute "
                        "(the node grid)",
                        file);
            return SKY_ERR_FORMAT;
        }
        g.xmodel = true;
        st = import_grid_scan(&g, grid, n, ';', '|', error, error_len);
    } else {
        while (len && (text[len - 1] == '\n' || text[len - 1] == '\r')) len--; /* last line end */
        st = import_grid_scan(&g, text, len, '\n', 0, error, error_len);
    }
    if (st == SKY_OK) st = import_grid_points(&g, pts, error, error_len);
    free(g.cells);
    return st;
}

/* ------------------------------------------------------------------- CSV */

enum { CSV_X, CSV_Y, CSV_Z, CSV_STRIP, CSV_INDEX, CSV_COLUMNS };
static const char *const csv_names[CSV_COLUMNS] = {"x", "y", "z", "strip", "index"};
#define CSV_MAX_FIELDS 16

typedef struct csv_row {
    double v[CSV_COLUMNS];
    size_t line;
} csv_row;

typedef struct csv_ctx {
    const char *file;
    int column[CSV_COLUMNS]; /* field of each column, -1: absent */
    size_t fields;           /* fields per line; 0 until the first line */
    csv_row *rows;
    size_t count, cap;
} csv_ctx;

static sky_status csv_header(csv_ctx *c, char **f, size_t n, size_t lineno, char *error,
                             size_t error_len) {
    for (size_t k = 0; k < n; k++) {
        int col = -1;
        for (int j = 0; j < CSV_COLUMNS; j++)
            if (strcasecmp(f[k], csv_names[j]) == 0) col = j;
        if (col < 0 || c->column[col] >= 0) {
            frame_error(error, error_len,
                        "csv %s:%zu: column %zu \"%s\" is %s (columns: x, y and optional z, strip, "
                        "index)",
                        c->file, lineno, k + 1, f[k], col < 0 ? "unknown" : "named twice");
            return SKY_ERR_FORMAT;
        }
        c->column[col] = (int)k;
    }
    if (c->column[CSV_X] < 0 || c->column[CSV_Y] < 0) {
        frame_error(error, error_len, "csv %s:%zu: the header names no %s column", c->file, lineno,
                    c->column[CSV_X] < 0 ? "x" : "y");
        return SKY_ERR_FORMAT;
    }
    return SKY_OK;
}

static sky_status csv_line(void *ctx, char *line, size_t lineno, char *error, size_t error_len) {
    csv_ctx *c = ctx;
    char *f[CSV_MAX_FIELDS];
    size_t n = layout_csv_fields(line, f, CSV_MAX_FIELDS);
    if (n > CSV_MAX_FIELDS) {
        frame_error(error, error_len, "csv %s:%zu: %zu fields, at most %d", c->file, lineno, n,
                    CSV_MAX_FIELDS);
        return SKY_ERR_FORMAT;
    }
    double v;
    if (c->fields == 0) {
        c->fields = n;
        if (!layout_csv_number(f[0], &v)) return csv_header(c, f, n, lineno, error, error_len);
        if (n != 2 && n != 3) {
            frame_error(error, error_len,
                        "csv %s:%zu: %zu fields without a header: expected x,y or x,y,z (name "
                        "other columns in a header line)",
                        c->file, lineno, n);
            return SKY_ERR_FORMAT;
        }
        for (size_t k = 0; k < n; k++) c->column[k] = (int)k;
    }
    if (n != c->fields) {
        frame_error(error, error_len, "csv %s:%zu: %zu fields, the first line has %zu", c->file,
                    lineno, n, c->fields);
        return SKY_ERR_FORMAT;
    }
    if (c->count >= SKY_LAYOUT_MAX_LEDS) {
        frame_error(error, error_len, "csv %s:%zu: more than the limit of %u LEDs", c->file, lineno,
                    SKY_LAYOUT_MAX_LEDS);
        return SKY_ERR_LIMIT;
    }
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        csv_row *rows = realloc(c->rows, cap * sizeof *rows);
        if (!rows) {
            frame_error(error, error_len, "csv %s: out of memory", c->file);
            return SKY_ERR_NOMEM;
        }
        c->rows = rows;
        c->cap = cap;
    }
    csv_row *r = &c->rows[c->count];
    memset(r, 0, sizeof *r);
    r->line = lineno;
    for (int j = 0; j < CSV_COLUMNS; j++) {
        if (c->column[j] < 0) continue;
        const char *field = f[c->column[j]];
        bool ok = layout_csv_number(field, &r->v[j]);
        if (ok && j >= CSV_STRIP)
            ok = r->v[j] == floor(r->v[j]) && r->v[j] >= 0 && r->v[j] < SKY_LAYOUT_MAX_LEDS;
        if (!ok) {
            frame_error(error, error_len, "csv %s:%zu: %s \"%s\" must be %s", c->file, lineno,
                        csv_names[j], field,
                        j >= CSV_STRIP ? "a whole number from 0" : "a finite number");
            return SKY_ERR_FORMAT;
        }
    }
    if (c->column[CSV_INDEX] < 0) r->v[CSV_INDEX] = (double)c->count; /* file order */
    c->count++;
    return SKY_OK;
}

static int csv_row_order(const void *a, const void *b) {
    const csv_row *x = a, *y = b;
    for (int j = CSV_STRIP; j <= CSV_INDEX; j++)
        if (x->v[j] != y->v[j]) return x->v[j] < y->v[j] ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* After sorting by (strip, index): strips 0, 1, ... and indices 0, 1, ... in each. */
static sky_status csv_points(csv_ctx *c, layout_points *pts, char *error, size_t error_len) {
    if (c->count == 0) {
        frame_error(error, error_len, "csv %s: no LEDs (expected lines x,y[,z])", c->file);
        return SKY_ERR_FORMAT;
    }
    qsort(c->rows, c->count, sizeof *c->rows, csv_row_order);
    size_t strip = 0, index = 0;
    for (size_t i = 0; i < c->count; i++) {
        const csv_row *r = &c->rows[i];
        size_t s = (size_t)r->v[CSV_STRIP], k = (size_t)r->v[CSV_INDEX];
        if (s != strip) {
            if (s != strip + 1) {
                frame_error(error, error_len,
                            "csv %s: no LED on strip %zu (strips are numbered from 0 without gaps; "
                            "line %zu has strip %zu)",
                            c->file, strip + 1, r->line, s);
                return SKY_ERR_FORMAT;
            }
            strip = s;
            index = 0;
        }
        if (c->column[CSV_INDEX] >= 0 && k != index) {
            if (k < index)
                frame_error(error, error_len,
                            "csv %s:%zu: strip %zu, index %zu again (also on line %zu)", c->file,
                            r->line, s, k, c->rows[i - 1].line);
            else
                frame_error(error, error_len,
                            "csv %s: strip %zu has no LED with index %zu (line %zu has index %zu)",
                            c->file, s, index, r->line, k);
            return SKY_ERR_FORMAT;
        }
        index++;
        sky_status st = layout_points_add(pts, s, r->v[CSV_X], r->v[CSV_Y], r->v[CSV_Z], c->file,
                                          error, error_len);
        if (st != SKY_OK) return st;
    }
    return SKY_OK;
}

static sky_status import_csv(char *text, const char *file, layout_points *pts, char *error,
                             size_t error_len) {
    csv_ctx c = {.file = file};
    for (int j = 0; j < CSV_COLUMNS; j++) c.column[j] = -1;
    sky_status st = layout_csv_lines(text, &c, csv_line, error, error_len);
    if (st == SKY_OK) st = csv_points(&c, pts, error, error_len);
    free(c.rows);
    return st;
}

/* ------------------------------------------------------------------ entry */

static const char *const import_formats[] = {"pixelblaze:", "wled:", "xlights:", "csv:"};

bool layout_import_kind(const char *spec) {
    for (size_t i = 0; i < sizeof import_formats / sizeof import_formats[0]; i++)
        if (strncmp(spec, import_formats[i], strlen(import_formats[i])) == 0) return true;
    return false;
}

sky_status layout_import_points(const char *spec, layout_points *pts, char *error,
                                size_t error_len) {
    const char *colon = strchr(spec, ':');
    if (!colon || !layout_import_kind(spec)) {
        frame_error(error, error_len,
                    "layout \"%s\": not an import (pixelblaze:, wled:, xlights:, csv:)", spec);
        return SKY_ERR_FORMAT;
    }
    const char *file = colon + 1;
    if (*file == '\0') {
        frame_error(error, error_len, "layout \"%s\": expected a file name after \"%.*s\"", spec,
                    (int)(colon - spec + 1), spec);
        return SKY_ERR_FORMAT;
    }
    char *text;
    size_t len;
    sky_status st = layout_read_file(file, &text, &len, error, error_len);
    if (st != SKY_OK) return st;
    switch (spec[0]) {
    case 'p':
        st = import_pixelblaze(text, len, file, pts, error, error_len);
        break;
    case 'w':
        st = import_wled(text, len, file, pts, error, error_len);
        break;
    case 'x':
        st = import_xlights(text, len, file, pts, error, error_len);
        break;
    default:
        st = import_csv(text, file, pts, error, error_len);
        break;
    }
    free(text);
    return st;
}
