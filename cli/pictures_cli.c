/*
 * pictures_cli.c - the picture inputs of a pattern, for sky run and sky
 * preview: opened with paths relative to the .sky file's directory, errors
 * printed as "cmd: file.sky:L:C: cannot open image `x.png` (...): why".
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "show.h"

bool live_pictures_open(const char *cmd, const char *path, const sky_program *program,
                        const sky_layout *layout, sky_pictures **pictures, char *message,
                        size_t message_len) {
    *pictures = NULL;
    if (sky_program_picture_count(program) == 0) return true;
    char *copy = strdup(path ? path : ".");
    if (!copy) {
        snprintf(message, message_len, "out of memory");
        return false;
    }
    /* "-" (stdin) has no directory: relative paths are the working directory's. */
    const char *dir = path && strcmp(path, "-") != 0 ? dirname(copy) : NULL;
    sky_layout_view view = {0};
    if (layout) view = live_layout_view(layout);
    char error[1024] = "";
    sky_status st =
        sky_pictures_open(program, dir, path, layout ? &view : NULL, pictures, error, sizeof error);
    free(copy);
    if (st != SKY_OK) {
        snprintf(message, message_len, "%s", error[0] ? error : sky_status_str(st));
        if (cmd) fprintf(stderr, "%s: %s\n", cmd, message);
        return false;
    }
    return true;
}

size_t live_pictures_capacity(const sky_program *program, const sky_layout *layout) {
    sky_layout_view view = live_layout_view(layout);
    size_t count = sky_program_picture_count(program);
    /* Room for two pictures at least, so a reload that adds one still fits. */
    return sky_picture_block_bound((uint32_t)(count > 2 ? count : 2), sky_picture_footprint(&view));
}
