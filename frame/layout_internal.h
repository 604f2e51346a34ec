/*
 * layout_internal.h - what the layout parsers of libskyframe share: a growing
 * list of points read from a file (in the file's units, before
 * normalisation), file reading, JSON parsing with line:column errors, and the
 * normalisation into a sky_layout. layout.c has the built-in kinds and our map
 * format, layout_import.c the other tools' formats, layout_param.c the
 * parametric shapes.
 */
#ifndef SKY_LAYOUT_INTERNAL_H
#define SKY_LAYOUT_INTERNAL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sky/layout.h"

/* Points as read from a file, in double, before normalisation. */
typedef struct layout_points {
    double *xyz;      /* 3 per LED */
    uint32_t *strips; /* LED count per strip */
    size_t leds, strip_count, xy_cap, strip_cap;
} layout_points;

void layout_points_free(layout_points *pts);
/* Appends an LED to `strip`, which is the last strip or the next one (strip_count). */
sky_status layout_points_add(layout_points *pts, size_t strip, double x, double y, double z,
                             const char *file, char *error, size_t error_len);
/* Centres the bounding box on 0 and scales its longest side (of x, y, z) to [-1, 1]. */
sky_status layout_from_points(const char *spec, const layout_points *pts, sky_layout **out,
                              char *error, size_t error_len);

/* Reads a whole file (at most 1 GiB) NUL-terminated; refuses NUL bytes inside. */
sky_status layout_read_file(const char *file, char **text, size_t *len, char *error,
                            size_t error_len);
void layout_line_col(const char *text, size_t offset, size_t *line, size_t *col);
/* Parses one JSON value filling the whole text; errors name file:line:column. */
sky_status layout_json_parse(const char *text, size_t len, const char *file, json_object **root,
                             char *error, size_t error_len);
/* A JSON number (integer or decimal) that is finite. */
bool layout_json_number(json_object *v, double *out);
/* A JSON array of 2 or 3 finite numbers: (x, y) with z = 0, or (x, y, z). */
bool layout_json_xyz(json_object *pt, double xyz[3]);
/* A JSON value for a message, cut to fit (`buf` of at least 64 bytes). */
const char *layout_json_text(json_object *v, char *buf, size_t len);

/* Splits a line at commas into at most `max` trimmed fields; returns the count. */
size_t layout_csv_fields(char *line, char **fields, size_t max);
bool layout_csv_number(const char *field, double *out);
/* Calls `line_fn` for each line that is not blank or a '#' comment, with its
 * 1-based number; stops at the first error. Handles "\r\n". */
sky_status layout_csv_lines(char *text, void *ctx,
                            sky_status (*line_fn)(void *ctx, char *line, size_t lineno,
                                                  char *error, size_t error_len),
                            char *error, size_t error_len);

/* The points of a parametric map, {"strips": [shapes]} (layout_param.c). */
sky_status layout_param_points(json_object *root, layout_points *pts, const char *file,
                               char *error, size_t error_len);

/* True when spec starts with an importer's `FORMAT:` (layout_import.c). */
bool layout_import_kind(const char *spec);
/* The points of an imported `FORMAT:FILE`, before normalisation. */
sky_status layout_import_points(const char *spec, layout_points *pts, char *error,
                                size_t error_len);

#endif
