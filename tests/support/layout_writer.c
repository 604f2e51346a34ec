/*
 * layout_writer.c - the frame writer of layout_writer.h.
 */
#include "layout_writer.h"

sky_status test_layout_writer(const sky_layout *layout, const char *path, sky_frame_writer **writer,
                              char *error, size_t error_len) {
    sky_frame_writer_options o = {
        .path = path,
        .led_count = layout->led_count,
        .strip_count = layout->strip_count,
        .strip_sizes = layout->strip_sizes,
        .positions = layout->xy,
        .layout = layout->name,
    };
    return sky_frame_writer_create(&o, writer, error, error_len);
}
