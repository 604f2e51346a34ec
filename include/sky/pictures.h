/*
 * sky/pictures.h - libskypictures: opens and decodes the picture inputs a
 * program declares (sky/picture.h) and keeps the picture block that every
 * backend samples.
 *
 *   image("x.png" | "x.jpg")   decoded once at open (libpng, libjpeg-turbo)
 *   video("x.mp4")             decoded on its own thread (libavformat,
 *                              libavcodec, libswscale), looped, played in
 *                              step with the show's t; frames the show
 *                              cannot use in time are dropped, LED frames
 *                              never wait for it
 *   camera("/dev/video0")      V4L2 mmap capture on its own thread (YUYV or
 *                              MJPEG); unplugged: black, reopened every
 *                              second, the show goes on
 *
 * Opening fails with a message naming the file (and the .sky file's line)
 * when an image or video is missing or unreadable; a camera that cannot be
 * opened at start is an error too, one that goes away later shows black.
 * Not thread-safe: one thread calls update and reads the block.
 */
#ifndef SKY_PICTURES_H
#define SKY_PICTURES_H

#include <stddef.h>
#include <stdint.h>

#include "sky/picture.h"
#include "sky/sky.h"
#include "sky/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sky_pictures sky_pictures;

typedef struct sky_pictures_stats {
    uint64_t video_decoded; /* video frames decoded */
    uint64_t video_dropped; /* decoded frames replaced by a newer one before the show used them,
                               or skipped as already late */
    uint64_t video_shown;   /* video frames put into the block */
    uint64_t camera_frames; /* camera frames captured */
    uint64_t camera_lost;   /* times a camera went away */
    uint64_t camera_damaged; /* camera frames dropped as unreadable (error flag, short, bad MJPEG);
                                the picture keeps the last good one */
    uint64_t updates;       /* new blocks (sky_pictures_update returning true) */
    uint64_t decode_ns;     /* time in decoding (video and camera threads, images at open) */
    uint64_t convert_ns;    /* ... in scaling / colour conversion to RGB8 */
    uint64_t mip_ns;        /* ... in building the mip levels (the threads; images at open) */
    uint64_t copy_ns;       /* ... in copying new levels into the block (the show's thread) */
} sky_pictures_stats;

/*
 * Opens every picture of `program`. A relative path is taken relative to
 * `base_dir` (the .sky file's directory; NULL: the working directory).
 * `source_name` (the .sky file, may be NULL) prefixes errors, as in
 * "show.sky:2:21: cannot open image `logo.png`: No such file or directory".
 * `layout` sets the footprint (sky_picture_footprint). A program without
 * pictures gets an empty set (its block holds no picture).
 */
SKY_API sky_status sky_pictures_open(const sky_program *program, const char *base_dir,
                                     const char *source_name, const sky_layout_view *layout,
                                     sky_pictures **pictures, char *error, size_t error_len);
SKY_API void sky_pictures_free(sky_pictures *pictures);

/*
 * Brings the block up to date for show time t (seconds, the pattern's t):
 * the newest video frame due at t, the newest camera frame. Returns true
 * when the block changed since the last call (then hand it to the runtime
 * again: sky_runtime_set_pictures), false when nothing changed.
 */
SKY_API bool sky_pictures_update(sky_pictures *pictures, double t);
/*
 * sky_pictures_update that first waits until every video has decoded the
 * very frame due at t (not just the newest one ready): for previews and
 * renders, which run faster or slower than real time and must show each
 * frame as it is at t. Cameras are not waited for.
 */
SKY_API bool sky_pictures_update_sync(sky_pictures *pictures, double t);

/* The picture block, valid until the next update or free; its size is block[1] words. */
SKY_API const uint32_t *sky_pictures_block(const sky_pictures *pictures);
/* The most words the block can take (for sky_runtime_options.picture_words). */
SKY_API size_t sky_pictures_max_words(const sky_pictures *pictures);
SKY_API void sky_pictures_get_stats(const sky_pictures *pictures, sky_pictures_stats *stats);

/*
 * Decodes a PNG or JPEG file (told apart by their first bytes) into RGB8:
 * *rgb (malloc'd, width * 3 bytes per row), *width, *height. SKY_ERR_IO
 * when it cannot be read, SKY_ERR_FORMAT for a file that is neither or is
 * damaged (truncated), SKY_ERR_LIMIT for a side above SKY_PICTURE_MAX_SIDE;
 * the message says which. Also the fuzz target's entry point.
 */
SKY_API sky_status sky_image_decode(const uint8_t *data, size_t len, uint8_t **rgb, uint32_t *width,
                                    uint32_t *height, char *error, size_t error_len);

#ifdef __cplusplus
}
#endif

#endif
