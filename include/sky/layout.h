/*
 * sky/layout.h - LED layouts: where each LED of an installation is.
 *
 * A layout string names the installation's shape:
 *   disc:STRIPSxLEDS[:INNER]  radial strips; strip s at angle tau*s/STRIPS
 *                             counter-clockwise from +x, LED l at radius
 *                             INNER + (1 - INNER)(l + 0.5)/LEDS (INNER default 0)
 *   grid:WxH                  H rows (strips) of W LEDs, row 0 at the top
 *   strip:N                   one strip of N LEDs along x
 *   map:FILE                  a JSON or CSV list of strips of (x, y) or (x, y, z)
 *                             positions, normalised into [-1, 1] keeping the
 *                             proportions
 *   pixelblaze:FILE, wled:FILE, xlights:FILE, csv:FILE
 *                             other tools' maps (frame/layout_import.c)
 * The default is disc:360x288, the Skyscreen. Part of libskyframe (no Vulkan).
 *
 * Thread safety: a sky_layout is immutable after creation.
 * Lifetime: the caller's from sky_layout_create to sky_layout_free; a
 * runtime or writer given one reads it while they live (runtime.h).
 */
#ifndef SKY_LAYOUT_H
#define SKY_LAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sky/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SKY_LAYOUT_DEFAULT  "disc:360x288"
#define SKY_LAYOUT_MAX_LEDS (1u << 24)

typedef struct sky_layout {
    uint32_t led_count;
    uint32_t strip_count;
    uint32_t *strip_sizes; /* strip_count entries */
    float *xy;             /* led_count (x, y) pairs in [-1, 1] */
    float *z;              /* led_count z values in [-1, 1]; all 0 on a flat layout */
    char name[33];         /* the layout string as stored in the frame header (truncated) */
} sky_layout;

/*
 * Parses `spec` (NULL or "": SKY_LAYOUT_DEFAULT) and builds the layout. On a
 * malformed string or file returns SKY_ERR_FORMAT (SKY_ERR_IO when a map file
 * cannot be read, SKY_ERR_LIMIT above SKY_LAYOUT_MAX_LEDS) with a message
 * naming the problem and where: the column of the string, the line of a CSV
 * map, the line:column of a JSON parse error. The file formats are described
 * at the top of frame/layout.c.
 */
sky_status sky_layout_create(const char *spec, sky_layout **layout, char *error, size_t error_len);
void sky_layout_free(sky_layout *layout);

/*
 * Writes the layout `spec` names to `out` as our JSON map (an array of strips
 * of [x, y] points, or [x, y, z] when some z is not 0): a layout read from a
 * file (map:, pixelblaze:, wled:, xlights:, csv:) with the file's points in
 * its own units, before normalisation; a built-in kind with its positions.
 * `sky layout import` is this. Errors as sky_layout_create, SKY_ERR_IO when
 * `out` fails.
 */
sky_status sky_layout_export_json(const char *spec, FILE *out, char *error, size_t error_len);

#ifdef __cplusplus
}
#endif

#endif
