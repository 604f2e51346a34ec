/*
 * preview_video.h - `sky preview -o clip.mp4|clip.webm`: RGB images to a
 * video file through libavcodec/libavformat (H.264 in MP4, VP9 in WebM).
 * Functions that fail print a message prefixed with the command's name and
 * return false.
 */
#ifndef SKY_CLI_PREVIEW_VIDEO_H
#define SKY_CLI_PREVIEW_VIDEO_H

#include <stdbool.h>
#include <stdint.h>

typedef struct preview_video preview_video;

/* True when `path` ends in a video extension this writer handles (.mp4, .webm). */
bool preview_video_path(const char *path);
/*
 * Opens `path` for width x height RGB images at `fps` frames per second. The
 * video's size is rounded up to even numbers (4:2:0 chroma needs them), the
 * extra column or row black.
 */
bool preview_video_open(const char *cmd, const char *path, uint32_t width, uint32_t height,
                        double fps, preview_video **video);
/* Encodes one image (width x height x 3 bytes). */
bool preview_video_add(preview_video *video, const uint8_t *rgb);
/* Flushes the encoder and writes the trailer; the video is still to be freed. */
bool preview_video_close(preview_video *video);
void preview_video_free(preview_video *video);

#endif
