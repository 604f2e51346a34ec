/*
 * control_studio.h - what the control API serves to the studio beside the
 * show's own state: the layout (from the frame file, as a browser draws
 * it), the examples gallery (from a directory), and the studio's static
 * files, embedded in the binary at build time (no file is read from disk to
 * serve them, so no request path can reach the file system).
 */
#ifndef SKY_CLI_CONTROL_STUDIO_H
#define SKY_CLI_CONTROL_STUDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An example bigger than this is left out of the gallery (the largest is under 4 KiB). */
#define CONTROL_EXAMPLE_MAX (256u * 1024u)
/* At most this many examples are listed (sorted by name, the first ones kept). */
#define CONTROL_EXAMPLES_MAX 256

/*
 * GET /api/layout: {"layout", "leds", "dims", "strips": [sizes],
 * "spacing", "bounds": [minx, miny, maxx, maxy], "positions": [x0, y0, ...]}
 * with dims 2, or dims 3 and positions [x0, y0, z0, ...] when some LED has
 * z != 0 (spacing and bounds stay those of the x, y projection)
 * from the frame file at `frame_path` (its header, strip table and
 * positions). Malloc'd JSON text, or NULL with a message (the file is not
 * there yet, or is not a frame file).
 */
char *control_layout_json(const char *frame_path, char *message, size_t message_len);

/*
 * The median distance from each of `count` points (x, y pairs) to its
 * nearest other point, found through a uniform grid of about one point per
 * cell, so that 100k LEDs take milliseconds rather than the 10^10 steps of
 * comparing every pair. 0 with fewer than two points.
 */
double control_layout_spacing(const float *xy, size_t count);

/*
 * GET /api/examples: [{"name": "plasma.sky", "source": TEXT}, ...], the
 * regular *.sky files of `dir` sorted by name (NULL or unreadable: []).
 * Malloc'd JSON text; NULL only when out of memory.
 */
char *control_examples_json(const char *dir);

/* One file of the studio, embedded at build time (cmake/studio_embed.cmake writes the table). */
typedef struct control_static_file {
    const char *name; /* "index.html", "studio.js", ...: the path after '/' */
    const char *type; /* its Content-Type */
    const unsigned char *data;
    size_t size;
    const char *etag; /* a quoted hash of the contents */
} control_static_file;

extern const control_static_file control_static_files[];
extern const size_t control_static_file_count;

/*
 * The embedded file a GET of `uri` asks for: "/" is index.html, "/NAME" the
 * file named NAME exactly; NULL for anything else (only names in the table
 * can match, so "..", "//" or "%2e" reach nothing).
 */
const control_static_file *control_static_find(const char *uri);

#endif
