/*
 * layout_writer.h - a frame writer for a layout, as the runtime suites that
 * publish into a real frame file make it (test_gpu_agreement, test_vk_runtime,
 * test_vk_profiles, test_show_controls): one place for the options, so each
 * file a runtime writes carries its layout's strips, positions and name.
 */
#ifndef SKY_TESTS_LAYOUT_WRITER_H
#define SKY_TESTS_LAYOUT_WRITER_H

#include <stddef.h>

#include "sky/frame.h"
#include "sky/layout.h"

/* sky_frame_writer_create at `path` for `layout`'s LEDs, strips, positions and name:
 * its status, and its message in error. */
sky_status test_layout_writer(const sky_layout *layout, const char *path, sky_frame_writer **writer,
                              char *error, size_t error_len);

#endif
