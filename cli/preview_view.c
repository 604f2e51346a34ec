/*
 * preview_view.c - `sky preview --view AZIMUTH,ELEVATION`: a 3-D layout seen
 * from a camera, for the picture code of preview_image.c.
 *
 * The camera looks at the origin from azimuth degrees around the vertical z
 * axis (0: from the front, the -y side; 90: from the +x side) and elevation
 * degrees above the x, y plane (90: from above, the same picture as without
 * --view, +y up). It sits PREVIEW_VIEW_DISTANCE from the origin, twice the
 * width of the normalised layout, and projects with perspective: an LED at
 * depth d towards the camera lands at factor D / (D - d) of its distance from
 * the centre and its dot is that factor larger, so near LEDs are bigger and
 * the shape reads as 3-D without shading. Dots blend as in the flat picture
 * (nothing hides behind anything).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "show.h"

#define PREVIEW_VIEW_DISTANCE 4.0 /* layout units; the layout spans at most [-1, 1]^3 */

bool preview_view_parse(const char *cmd, const char *text, preview_view *view) {
    char *end = NULL;
    double az = strtod(text, &end), el = NAN;
    if (end != text && *end == ',') {
        const char *second = end + 1;
        el = strtod(second, &end);
        if (end == second) el = NAN;
    }
    if (!isfinite(az) || !isfinite(el) || *end != '\0' || el < -90 || el > 90) {
        fprintf(stderr,
                "%s: --view \"%s\": expected AZIMUTH,ELEVATION in degrees (elevation -90 to 90), "
                "such as 30,20\n",
                cmd, text);
        return false;
    }
    view->set = true;
    view->azimuth = az;
    view->elevation = el;
    return true;
}

/* Screen positions and dot sizes of the LEDs from the camera. */
static bool view_project(const sky_layout *l, const preview_view *v, float *xy, float *scale) {
    const double rad = 3.14159265358979323846 / 180.0;
    double a = v->azimuth * rad, e = v->elevation * rad;
    const double d[3] = {sin(a) * cos(e), -cos(a) * cos(e), sin(e)}; /* towards the camera */
    const double r[3] = {cos(a), sin(a), 0.0};                       /* screen right */
    const double u[3] = {d[1] * r[2] - d[2] * r[1], d[2] * r[0] - d[0] * r[2],
                         d[0] * r[1] - d[1] * r[0]}; /* screen up: d x r */
    for (uint32_t i = 0; i < l->led_count; i++) {
        const double p[3] = {l->xy[2 * i], l->xy[2 * i + 1], l->z[i]};
        double depth = p[0] * d[0] + p[1] * d[1] + p[2] * d[2];
        double f = PREVIEW_VIEW_DISTANCE / (PREVIEW_VIEW_DISTANCE - depth); /* depth < 2 */
        xy[2 * i] = (float)(f * (p[0] * r[0] + p[1] * r[1] + p[2] * r[2]));
        xy[2 * i + 1] = (float)(f * (p[0] * u[0] + p[1] * u[1] + p[2] * u[2]));
        scale[i] = (float)f;
    }
    return true;
}

bool preview_geometry_for(const char *cmd, const sky_layout *layout, const preview_view *view,
                          uint32_t size, uint32_t max_size, uint32_t box_w, uint32_t box_h,
                          preview_geometry **geometry) {
    if (!view->set)
        return preview_geometry_create(cmd, layout->xy, layout->led_count, size, max_size, box_w,
                                       box_h, geometry);
    float *xy = malloc((size_t)layout->led_count * 2 * sizeof *xy);
    float *scale = malloc((size_t)layout->led_count * sizeof *scale);
    bool ok = xy && scale;
    if (!ok) fprintf(stderr, "%s: out of memory for the view\n", cmd);
    ok = ok && view_project(layout, view, xy, scale);
    ok = ok && preview_geometry_create(cmd, xy, layout->led_count, size, max_size, box_w, box_h,
                                       geometry);
    if (ok) {
        (*geometry)->dot_scale = scale;
        scale = NULL;
    }
    free(xy);
    free(scale);
    return ok;
}
