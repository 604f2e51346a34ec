/*
 * cmd_layout.c - `sky layout import SPEC [-o FILE]` and `sky layout info
 * SPEC`: turn another tool's map (or any layout) into our JSON map format,
 * and say what a layout holds.
 *
 * `import` writes the points of a file-based layout (pixelblaze:, wled:,
 * xlights:, csv:, map:) in the file's own units, so that `--layout
 * map:OUT.json` gives exactly the positions `--layout SPEC` gives, and the
 * file can be edited by hand afterwards (docs/layouts.md). It writes a new
 * file beside OUT and renames it over OUT, so a failed import never leaves
 * half a map. `info` prints the LED and strip counts and the bounding box.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sky/layout.h"

#define LAYOUT_CMD "sky layout"

static void layout_usage(FILE *out) {
    fprintf(out, "usage: sky layout import SPEC [-o FILE]\n"
                 "       sky layout info SPEC\n\n"
                 "import  writes the layout SPEC as a JSON map (an array of strips of [x, y] or\n"
                 "        [x, y, z] points) to FILE, or to stdout without -o. SPEC is any\n"
                 "        --layout: pixelblaze:FILE, wled:FILE (ledmap.json), xlights:FILE (a\n"
                 "        custom model's CSV grid or .xmodel), csv:FILE, map:FILE, or a\n"
                 "        built-in such as disc:36x10. A file's points keep its units.\n"
                 "info    prints the LEDs, strips and bounding box of the layout SPEC\n\n"
                 "options:\n"
                 "  -o, --output FILE   where import writes (replaced whole, never half-written)\n"
                 "  -h, --help          show this help\n\n"
                 "exit status: 0 ok, 2 usage or a bad layout (the message names where)\n");
}

/* Writes to a temporary file beside `path`, then renames it over `path`. */
static int layout_import_to(const char *spec, const char *path) {
    char error[512] = "";
    if (!path || strcmp(path, "-") == 0) {
        if (sky_layout_export_json(spec, stdout, error, sizeof error) != SKY_OK) {
            fprintf(stderr, "%s: %s\n", LAYOUT_CMD, error);
            return 2;
        }
        return fflush(stdout) == 0 ? 0 : 2;
    }
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp) {
        fprintf(stderr, "%s: out of memory\n", LAYOUT_CMD);
        return 2;
    }
    snprintf(tmp, n, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "%s: cannot create a file beside %s: %s\n", LAYOUT_CMD, path,
                strerror(errno));
        if (fd >= 0) close(fd), unlink(tmp);
        free(tmp);
        return 2;
    }
    sky_status st = sky_layout_export_json(spec, f, error, sizeof error);
    if (fclose(f) != 0 && st == SKY_OK) {
        snprintf(error, sizeof error, "cannot write %s: %s", tmp, strerror(errno));
        st = SKY_ERR_IO;
    }
    if (st == SKY_OK && rename(tmp, path) != 0) {
        snprintf(error, sizeof error, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        st = SKY_ERR_IO;
    }
    if (st != SKY_OK) {
        unlink(tmp);
        fprintf(stderr, "%s: %s\n", LAYOUT_CMD, error);
    }
    free(tmp);
    return st == SKY_OK ? 0 : 2;
}

static int layout_info(const char *spec) {
    sky_layout *l;
    char error[512] = "";
    if (sky_layout_create(spec, &l, error, sizeof error) != SKY_OK) {
        fprintf(stderr, "%s: %s\n", LAYOUT_CMD, error);
        return 2;
    }
    float lo[3] = {1, 1, 1}, hi[3] = {-1, -1, -1};
    for (uint32_t i = 0; i < l->led_count; i++) {
        float v[3] = {l->xy[2 * i], l->xy[2 * i + 1], l->z[i]};
        for (int a = 0; a < 3; a++) {
            if (v[a] < lo[a]) lo[a] = v[a];
            if (v[a] > hi[a]) hi[a] = v[a];
        }
    }
    printf("%s: %u LEDs in %u strips, %s\n", spec, l->led_count, l->strip_count,
           lo[2] == 0 && hi[2] == 0 ? "flat" : "3-D");
    printf("x %g .. %g, y %g .. %g, z %g .. %g\n", (double)lo[0], (double)hi[0], (double)lo[1],
           (double)hi[1], (double)lo[2], (double)hi[2]);
    sky_layout_free(l);
    return 0;
}

int cmd_layout(int argc, char **argv) {
    static const struct option longs[] = {{"output", required_argument, NULL, 'o'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *output = NULL;
    optind = 0;
    for (int c; (c = cli_getopt(LAYOUT_CMD, argc, argv, "o:h", longs)) != -1;) {
        if (c == 'o') {
            output = optarg;
        } else if (c == 'h') {
            layout_usage(stdout);
            return 0;
        } else {
            layout_usage(stderr);
            return 2;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "%s: expected `import SPEC` or `info SPEC`\n", LAYOUT_CMD);
        layout_usage(stderr);
        return 2;
    }
    const char *what = argv[optind], *spec = argv[optind + 1];
    if (strcmp(what, "import") == 0) return layout_import_to(spec, output);
    if (strcmp(what, "info") == 0 && !output) return layout_info(spec);
    fprintf(stderr, "%s: unknown action \"%s\"%s (expected import or info)\n", LAYOUT_CMD, what,
            strcmp(what, "info") == 0 ? " with -o" : "");
    return 2;
}
