/*
 * irregular_map.c - writes the irregular map: layout of irregular_map.h.
 */
#include "irregular_map.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

bool test_irregular_map_write(char *path, size_t path_len, const char *tag, int first_leds,
                              int step_leds) {
    snprintf(path, path_len, "/tmp/sky-%s-%ld-XXXXXX", tag, (long)getpid());
    int fd = mkstemp(path);
    if (fd < 0) return false;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return false;
    }
    fprintf(f, "[");
    for (int s = 0; s < 3; s++) {
        int leds = first_leds + step_leds * s;
        fprintf(f, "%s[", s ? "," : "");
        for (int l = 0; l < leds; l++) {
            double a = 0.4 * l + 2.0 * s, r = 0.15 + 0.05 * l;
            double x = s == 2 ? -3.0 + 0.2 * l : r * cos(a), y = s == 2 ? 2.5 : r * sin(a);
            /* 3-D: the spiral rises into a helix, the arc and the line tilt in z */
            double z = s == 0 ? 0.12 * l : s == 1 ? -0.4 + 0.05 * l : 0.8 - 0.1 * l;
            fprintf(f, "%s[%.6f, %.6f, %.6f]", l ? "," : "", x * 7.0 + 3.0, y * 7.0 - 1.0,
                    z * 7.0 + 2.0);
        }
        fprintf(f, "]");
    }
    fprintf(f, "]\n");
    return fclose(f) == 0;
}
