/*
 * pictures_int.h - what the files of libskypictures share: errors, clocks,
 * the video and camera sources' threads (each hands its newest RGB8 frame
 * over through a mailbox) and the frame conversions.
 */
#ifndef SKY_PICTURES_INT_H
#define SKY_PICTURES_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sky/pictures.h"

void pics_error(char *error, size_t error_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
uint64_t pics_now_ns(void);

/*
 * A source thread's pictures: one-picture blocks laid out for the show's
 * footprint, which the thread fills (mip levels included) and the show copies
 * the two levels out of (pics_copy_entry).
 */
void pics_copy_entry(uint32_t *block, uint32_t index, const uint32_t *one);

/* ---------------------------------------------------------------- video.c */

typedef struct pics_video pics_video;
/* Opens the file and probes its first frame's size; starts the decoding thread. */
sky_status pics_video_open(const char *path, pics_video **out, uint32_t *width, uint32_t *height,
                           double footprint, char *error, size_t error_len);
/*
 * The frame due at show time t (the video looped) into entry `index` of
 * `block`; true when it differs from the one given last time. With `sync`,
 * first waits until the thread has that very frame (previews, recordings).
 */
bool pics_video_frame(pics_video *v, double t, bool sync, uint32_t *block, uint32_t index);
void pics_video_stats(const pics_video *v, sky_pictures_stats *stats);
void pics_video_free(pics_video *v);
/* Decodes the file in memory (the fuzz target): SKY_OK when a first frame came out. */
sky_status pics_video_probe_memory(const uint8_t *data, size_t len, char *error, size_t error_len);

/* --------------------------------------------------------------- camera.c */

typedef struct pics_camera pics_camera;
sky_status pics_camera_open(const char *path, pics_camera **out, uint32_t *width, uint32_t *height,
                            double footprint, char *error, size_t error_len);
/*
 * The newest frame into entry `index` of `block`: 1 for a new frame, -1 when
 * the camera went away since the last call (the entry is then black), 0 otherwise.
 */
int pics_camera_frame(pics_camera *c, uint32_t *block, uint32_t index);
void pics_camera_stats(const pics_camera *c, sky_pictures_stats *stats);
void pics_camera_free(pics_camera *c);

/* -------------------------------------------------------------- convert.c */

/* YUYV 4:2:2 (V4L2_PIX_FMT_YUYV, BT.601 limited range) into RGB8; width even. */
void pics_yuyv_to_rgb(const uint8_t *yuyv, size_t stride, uint32_t width, uint32_t height,
                      uint8_t *rgb);

#endif
