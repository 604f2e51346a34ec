/*
 * layout_param.c - parametric layouts: a JSON map whose root is an object
 * {"strips": [PIECE, ...]} describes a build by its shapes instead of a
 * point per LED (docs/layouts.md, "Parametric maps"). Each piece is an object
 * with "shape" and that shape's numbers:
 *
 *   line      "from", "to", "leds": LEDs evenly from one end to the other
 *   ring      "centre", "radius", "leds", "start", "clockwise": a circle in
 *             the x, y plane, LED 0 at angle "start" (degrees from +x)
 *   spiral    "centre", "radius", "top_radius", "height", "turns", "leds",
 *             "start", "clockwise": a helix up the z axis (a wrapped tree when
 *             top_radius is 0), its radius going linearly from bottom to top
 *   cylinder  "centre", "radius", "height", "columns", "leds", "start",
 *             "clockwise", "serpentine": vertical strips around the z axis
 *   panel     "centre", "columns", "rows", "spacing", "start", "by",
 *             "serpentine": a flat matrix; "start" is the corner of LED 0,
 *             "by" "rows" or "columns" the way the wire runs
 *   disc      "centre", "radius", "strips", "leds", "inner", "start",
 *             "clockwise": the Skyscreen's radial strips
 *   points    "points": [x, y] or [x, y, z] points as they are
 *
 * Every piece may say "reverse": true (its strips are wired from the other
 * end) and carry a "comment". Strips are numbered in the order the pieces
 * come, and within a piece as described; the frame (and so the driver's
 * strips= ranges) follows that order. A piece makes one strip, except
 * cylinder (one per column), panel (one per row or column) and disc (one per
 * spoke). An unknown key is an error, naming it, so a typo never passes as a
 * default.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame_error.h"
#include "layout_internal.h"

#define PARAM_TAU 6.283185307179586476925286766559

typedef struct param_ctx {
    layout_points *pts;
    const char *file;
    size_t piece; /* index in "strips", for messages */
    const char *shape;
    json_object *obj;
    char *error;
    size_t error_len;
} param_ctx;

static sky_status param_fail(param_ctx *c, const char *key, const char *what) {
    frame_error(c->error, c->error_len, "map %s: strips[%zu] (%s): \"%s\" %s", c->file, c->piece,
                c->shape, key, what);
    return SKY_ERR_FORMAT;
}

/* A number; absent: `def` (NAN: required). Checks lo <= v (or lo < v when open). */
static sky_status param_number(param_ctx *c, const char *key, double def, double lo, bool open,
                               double *out) {
    json_object *v;
    if (!json_object_object_get_ex(c->obj, key, &v)) {
        if (isnan(def)) return param_fail(c, key, "is missing");
        *out = def;
        return SKY_OK;
    }
    double d;
    if (!layout_json_number(v, &d) || (open ? !(d > lo) : !(d >= lo))) {
        char what[96];
        snprintf(what, sizeof what, "must be a finite number %s %g", open ? ">" : ">=", lo);
        return param_fail(c, key, what);
    }
    *out = d;
    return SKY_OK;
}

/* A count 1..SKY_LAYOUT_MAX_LEDS. */
static sky_status param_count(param_ctx *c, const char *key, uint32_t *out) {
    json_object *v;
    double d;
    if (!json_object_object_get_ex(c->obj, key, &v)) return param_fail(c, key, "is missing");
    if (!layout_json_number(v, &d) || d != floor(d) || d < 1 || d > SKY_LAYOUT_MAX_LEDS) {
        char what[96];
        snprintf(what, sizeof what, "must be a whole number from 1 to %u", SKY_LAYOUT_MAX_LEDS);
        return param_fail(c, key, what);
    }
    *out = (uint32_t)d;
    return SKY_OK;
}

static sky_status param_bool(param_ctx *c, const char *key, bool def, bool *out) {
    json_object *v;
    *out = def;
    if (!json_object_object_get_ex(c->obj, key, &v)) return SKY_OK;
    if (!json_object_is_type(v, json_type_boolean))
        return param_fail(c, key, "must be true or false");
    *out = json_object_get_boolean(v);
    return SKY_OK;
}

/* A point [x, y] or [x, y, z]; absent: the origin (or required). */
static sky_status param_point(param_ctx *c, const char *key, bool required, double xyz[3]) {
    json_object *v;
    xyz[0] = xyz[1] = xyz[2] = 0.0;
    if (!json_object_object_get_ex(c->obj, key, &v))
        return required ? param_fail(c, key, "is missing") : SKY_OK;
    if (!layout_json_xyz(v, xyz)) return param_fail(c, key, "must be [x, y] or [x, y, z]");
    return SKY_OK;
}

/* One of `names` (NULL-terminated); absent: 0. */
static sky_status param_choice(param_ctx *c, const char *key, const char *const *names, int *out) {
    json_object *v;
    *out = 0;
    if (!json_object_object_get_ex(c->obj, key, &v)) return SKY_OK;
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    for (int i = 0; names[i]; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return SKY_OK;
        }
    }
    char what[160];
    size_t n = (size_t)snprintf(what, sizeof what, "must be one of");
    for (int i = 0; names[i] && n < sizeof what; i++)
        n += (size_t)snprintf(what + n, sizeof what - n, "%s \"%s\"", i ? "," : "", names[i]);
    return param_fail(c, key, what);
}

/* Refuses keys the shape does not know. */
static sky_status param_known_keys(param_ctx *c, const char *const *keys) {
    json_object_object_foreach(c->obj, key, val) {
        (void)val;
        bool known =
            strcmp(key, "shape") == 0 || strcmp(key, "reverse") == 0 || strcmp(key, "comment") == 0;
        for (int i = 0; !known && keys[i]; i++) known = strcmp(key, keys[i]) == 0;
        if (!known) return param_fail(c, key, "is not a key of this shape");
    }
    return SKY_OK;
}

/* ------------------------------------------------------- strip building */

/* LEDs of one strip before they go into the points, so "reverse" can flip them. */
typedef struct param_strip {
    double *xyz;
    uint32_t count, cap;
} param_strip;

static sky_status param_put(param_ctx *c, param_strip *s, double x, double y, double z) {
    if (s->count == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 64;
        double *xyz = realloc(s->xyz, (size_t)cap * 3 * sizeof *xyz);
        if (!xyz) {
            frame_error(c->error, c->error_len, "map %s: out of memory", c->file);
            return SKY_ERR_NOMEM;
        }
        s->xyz = xyz;
        s->cap = cap;
    }
    s->xyz[3 * s->count] = x + 0.0; /* -0 -> +0, so an export prints 0 */
    s->xyz[3 * s->count + 1] = y + 0.0;
    s->xyz[3 * s->count + 2] = z + 0.0;
    s->count++;
    return SKY_OK;
}

/* Appends the strip to the points as a new strip (reversed on request). */
static sky_status param_flush(param_ctx *c, param_strip *s, bool reverse) {
    size_t strip = c->pts->strip_count;
    sky_status st = SKY_OK;
    for (uint32_t k = 0; st == SKY_OK && k < s->count; k++) {
        const double *p = s->xyz + 3 * (size_t)(reverse ? s->count - 1 - k : k);
        st = layout_points_add(c->pts, strip, p[0], p[1], p[2], c->file, c->error, c->error_len);
    }
    s->count = 0;
    return st;
}

/* LED k of n at fraction k / (n - 1) of the way (the middle when n is 1). */
static double param_along(uint32_t k, uint32_t n) {
    return n > 1 ? (double)k / (n - 1) : 0.5;
}

/* The angle (radians) of step f of a turn from `start` degrees. */
static double param_angle(double start_deg, bool clockwise, double turns) {
    return start_deg * PARAM_TAU / 360.0 + (clockwise ? -1.0 : 1.0) * turns * PARAM_TAU;
}

/* --------------------------------------------------------------- shapes */

static sky_status param_line(param_ctx *c, bool reverse, param_strip *s) {
    static const char *const keys[] = {"from", "to", "leds", NULL};
    double a[3], b[3];
    uint32_t n = 0;
    sky_status st = param_known_keys(c, keys);
    if (st == SKY_OK) st = param_point(c, "from", true, a);
    if (st == SKY_OK) st = param_point(c, "to", true, b);
    if (st == SKY_OK) st = param_count(c, "leds", &n);
    for (uint32_t k = 0; st == SKY_OK && k < n; k++) {
        double f = param_along(k, n);
        st = param_put(c, s, a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f,
                       a[2] + (b[2] - a[2]) * f);
    }
    return st == SKY_OK ? param_flush(c, s, reverse) : st;
}

static sky_status param_ring(param_ctx *c, bool reverse, param_strip *s) {
    static const char *const keys[] = {"centre", "radius", "leds", "start", "clockwise", NULL};
    double o[3], radius = 1, start = 0;
    uint32_t n = 0;
    bool cw = false;
    sky_status st = param_known_keys(c, keys);
    if (st == SKY_OK) st = param_point(c, "centre", false, o);
    if (st == SKY_OK) st = param_number(c, "radius", NAN, 0, true, &radius);
    if (st == SKY_OK) st = param_count(c, "leds", &n);
    if (st == SKY_OK) st = param_number(c, "start", 0, -INFINITY, false, &start);
    if (st == SKY_OK) st = param_bool(c, "clockwise", false, &cw);
    for (uint32_t k = 0; st == SKY_OK && k < n; k++) {
        double a = param_angle(start, cw, (double)k / n);
        st = param_put(c, s, o[0] + radius * cos(a), o[1] + radius * sin(a), o[2]);
    }
    return st == SKY_OK ? param_flush(c, s, reverse) : st;
}

static sky_status param_spiral(param_ctx *c, bool reverse, param_strip *s) {
    static const char *const keys[] = {"centre", "radius", "top_radius", "height", "turns",
                                       "leds",   "start",  "clockwise",  NULL};
    double o[3], radius = 1, top = 0, height = 0, turns = 1, start = 0;
    uint32_t n = 0;
    bool cw = false;
    sky_status st = param_known_keys(c, keys);
    if (st == SKY_OK) st = param_point(c, "centre", false, o);
    if (st == SKY_OK) st = param_number(c, "radius", NAN, 0, true, &radius);
    if (st == SKY_OK) st = param_number(c, "top_radius", radius, 0, false, &top);
    if (st == SKY_OK) st = param_number(c, "height", NAN, 0, false, &height);
    if (st == SKY_OK) st = param_number(c, "turns", NAN, 0, true, &turns);
    if (st == SKY_OK) st = param_count(c, "leds", &n);
    if (st == SKY_OK) st = param_number(c, "start", 0, -INFINITY, false, &start);
    if (st == SKY_OK) st = param_bool(c, "clockwise", false, &cw);
    for (uint32_t k = 0; st == SKY_OK && k < n; k++) {
        double f = n > 1 ? (double)k / (n - 1) : 0.0; /* bottom to top */
        double a = param_angle(start, cw, turns * f), r = radius + (top - radius) * f;
        st = param_put(c, s, o[0] + r * cos(a), o[1] + r * sin(a), o[2] + height * f);
    }
    return st == SKY_OK ? param_flush(c, s, reverse) : st;
}

static sky_status param_cylinder(param_ctx *c, bool reverse, param_strip *s) {
    static const char *const keys[] = {"centre", "radius",    "height",     "columns", "leds",
                                       "start",  "clockwise", "serpentine", NULL};
    double o[3], radius = 1, height = 0, start = 0;
    uint32_t cols = 0, n = 0;
    bool cw = false, serp = false;
    sky_status st = param_known_keys(c, keys);
    if (st == SKY_OK) st = param_point(c, "centre", false, o);
    if (st == SKY_OK) st = param_number(c, "radius", NAN, 0, true, &radius);
    if (st == SKY_OK) st = param_number(c, "height", NAN, 0, false, &height);
    if (st == SKY_OK) st = param_count(c, "columns", &cols);
    if (st == SKY_OK) st = param_count(c, "leds", &n);
    if (st == SKY_OK) st = param_number(c, "start", 0, -INFINITY, false, &start);
    if (st == SKY_OK) st = param_bool(c, "clockwise", false, &cw);
    if (st == SKY_OK) st = param_bool(c, "serpentine", false, &serp);
    if (st == SKY_OK && (uint64_t)cols * n > SKY_LAYOUT_MAX_LEDS)
        return param_fail(c, "columns", "times \"leds\" is more than the limit of 16777216 LEDs");
    for (uint32_t col = 0; st == SKY_OK && col < cols; col++) {
        double a = param_angle(start, cw, (double)col / cols);
        bool down = serp && (col % 2 == 1);
        for (uint32_t k = 0; st == SKY_OK && k < n; k++) {
            double f = param_along(down ? n - 1 - k : k, n);
            st = param_put(c, s, o[0] + radius * cos(a), o[1] + radius * sin(a), o[2] + height * f);
        }
        if (st == SKY_OK) st = param_flush(c, s, reverse);
    }
    return st;
}

static sky_status param_panel(param_ctx *c, bool reverse, param_strip *s) {
    static const char *const keys[] = {"centre", "columns", "rows",       "spacing",
                                       "start",  "by",      "serpentine", NULL};
    static const char *const corners[] = {"top-left", "top-right", "bottom-left", "bottom-right",
                                          NULL};
    static const char *const ways[] = {"rows", "columns", NULL};
    double o[3], spacing = 1;
    uint32_t cols = 0, rows = 0;
    int corner = 0, by = 0;
    bool serp = false;
    sky_status st = param_known_keys(c, keys);
    if (st == SKY_OK) st = param_point(c, "centre", false, o);
    if (st == SKY_OK) st = param_count(c, "columns", &cols);
    if (st == SKY_OK) st = param_count(c, "rows", &rows);
    if (st == SKY_OK) st = param_number(c, "spacing", 1, 0, true, &spacing);
    if (st == SKY_OK) st = param_choice(c, "start", corners, &corner);
    if (st == SKY_OK) st = param_choice(c, "by", ways, &by);
    if (st == SKY_OK) st = param_bool(c, "serpentine", true, &serp);
    if (st == SKY_OK && (uint64_t)cols * rows > SKY_LAYOUT_MAX_LEDS)
        return param_fail(c, "columns", "times \"rows\" is more than the limit of 16777216 LEDs");
    bool from_right = corner == 1 || corner == 3, from_bottom = corner >= 2;
    uint32_t lines = by == 0 ? rows : cols, along = by == 0 ? cols : rows;
    for (uint32_t line = 0; st == SKY_OK && line < lines; line++) {
        bool back = serp && (line % 2 == 1);
        for (uint32_t k = 0; st == SKY_OK && k < along; k++) {
            uint32_t step = back ? along - 1 - k : k;
            uint32_t col = by == 0 ? step : line, row = by == 0 ? line : step;
            if (from_right) col = cols - 1 - col;
            if (from_bottom) row = rows - 1 - row;
            st = param_put(c, s, o[0] + spacing * (col - (cols - 1) / 2.0),
                           o[1] + spacing * ((rows - 1) / 2.0 - row), o[2]);
        }
        if (st == SKY_OK) st = param_flush(c, s, reverse);
    }
    return st;
}

static sky_status param_disc(param_ctx *c, bool reverse, param_strip *s) {
    static const char *const keys[] = {"centre", "radius", "strips",    "leds",
                                       "inner",  "start",  "clockwise", NULL};
    double o[3], radius = 1, inner = 0, start = 0;
    uint32_t strips = 0, n = 0;
    bool cw = false;
    sky_status st = param_known_keys(c, keys);
    if (st == SKY_OK) st = param_point(c, "centre", false, o);
    if (st == SKY_OK) st = param_number(c, "radius", 1, 0, true, &radius);
    if (st == SKY_OK) st = param_count(c, "strips", &strips);
    if (st == SKY_OK) st = param_count(c, "leds", &n);
    if (st == SKY_OK) st = param_number(c, "inner", 0, 0, false, &inner);
    if (st == SKY_OK) st = param_number(c, "start", 0, -INFINITY, false, &start);
    if (st == SKY_OK) st = param_bool(c, "clockwise", false, &cw);
    if (st == SKY_OK && inner >= 1) return param_fail(c, "inner", "must be below 1");
    if (st == SKY_OK && (uint64_t)strips * n > SKY_LAYOUT_MAX_LEDS)
        return param_fail(c, "strips", "times \"leds\" is more than the limit of 16777216 LEDs");
    for (uint32_t sp = 0; st == SKY_OK && sp < strips; sp++) {
        double a = param_angle(start, cw, (double)sp / strips);
        for (uint32_t k = 0; st == SKY_OK && k < n; k++) {
            double r = radius * (inner + (1.0 - inner) * (k + 0.5) / n); /* as disc: */
            st = param_put(c, s, o[0] + r * cos(a), o[1] + r * sin(a), o[2]);
        }
        if (st == SKY_OK) st = param_flush(c, s, reverse);
    }
    return st;
}

static sky_status param_points(param_ctx *c, bool reverse, param_strip *s) {
    static const char *const keys[] = {"points", NULL};
    json_object *list;
    sky_status st = param_known_keys(c, keys);
    if (st != SKY_OK) return st;
    if (!json_object_object_get_ex(c->obj, "points", &list) ||
        !json_object_is_type(list, json_type_array) || json_object_array_length(list) == 0)
        return param_fail(c, "points", "must be a non-empty array of [x, y] or [x, y, z]");
    size_t n = json_object_array_length(list);
    for (size_t k = 0; st == SKY_OK && k < n; k++) {
        double p[3];
        if (!layout_json_xyz(json_object_array_get_idx(list, k), p)) {
            char what[96];
            snprintf(what, sizeof what, "element %zu must be [x, y] or [x, y, z]", k);
            return param_fail(c, "points", what);
        }
        st = param_put(c, s, p[0], p[1], p[2]);
    }
    return st == SKY_OK ? param_flush(c, s, reverse) : st;
}

/* ---------------------------------------------------------------- entry */

sky_status layout_param_points(json_object *root, layout_points *pts, const char *file, char *error,
                               size_t error_len) {
    static const struct {
        const char *name;
        sky_status (*build)(param_ctx *c, bool reverse, param_strip *s);
    } shapes[] = {{"line", param_line},         {"ring", param_ring},   {"spiral", param_spiral},
                  {"cylinder", param_cylinder}, {"panel", param_panel}, {"disc", param_disc},
                  {"points", param_points}};
    json_object *list = NULL;
    json_object_object_foreach(root, key, val) {
        (void)val;
        if (strcmp(key, "strips") != 0 && strcmp(key, "comment") != 0) {
            frame_error(error, error_len,
                        "map %s: unknown key \"%s\" (a parametric map has \"strips\" and an "
                        "optional \"comment\")",
                        file, key);
            return SKY_ERR_FORMAT;
        }
    }
    if (!json_object_object_get_ex(root, "strips", &list) ||
        !json_object_is_type(list, json_type_array) || json_object_array_length(list) == 0) {
        frame_error(error, error_len,
                    "map %s: expected {\"strips\": [...]}, a non-empty array of shapes", file);
        return SKY_ERR_FORMAT;
    }
    param_strip strip = {0};
    sky_status st = SKY_OK;
    size_t n = json_object_array_length(list);
    for (size_t i = 0; st == SKY_OK && i < n; i++) {
        param_ctx c = {pts, file, i, "?", json_object_array_get_idx(list, i), error, error_len};
        json_object *shape;
        const char *name = NULL;
        if (json_object_is_type(c.obj, json_type_object) &&
            json_object_object_get_ex(c.obj, "shape", &shape) &&
            json_object_is_type(shape, json_type_string))
            name = json_object_get_string(shape);
        size_t k = 0;
        while (name && k < sizeof shapes / sizeof shapes[0] && strcmp(name, shapes[k].name) != 0)
            k++;
        if (!name || k == sizeof shapes / sizeof shapes[0]) {
            frame_error(error, error_len,
                        "map %s: strips[%zu]: expected an object with \"shape\": one of line, "
                        "ring, spiral, cylinder, panel, disc, points",
                        file, i);
            st = SKY_ERR_FORMAT;
            break;
        }
        c.shape = shapes[k].name;
        bool reverse;
        st = param_bool(&c, "reverse", false, &reverse);
        if (st == SKY_OK) st = shapes[k].build(&c, reverse, &strip);
    }
    free(strip.xyz);
    return st;
}
