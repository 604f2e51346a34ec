/*
 * frame_error.h - the one formatter of the error messages that libskyframe
 * (frame file, layouts) and libskyrt (the Vulkan runtime) write into a
 * caller's buffer (the `char *error, size_t error_len` of their public calls).
 *
 * Internal: not under include/sky, so no program can call it. It lives in
 * libskyframe because libskyrt links libskyframe, and the frame library must
 * never link anything of the runtime's (the driver links it without Vulkan).
 */
#ifndef SKY_FRAME_ERROR_H
#define SKY_FRAME_ERROR_H

#include <stddef.h>

/* snprintf into the caller's (error, error_len) buffer; error may be NULL and
 * error_len 0, and a message longer than the buffer is truncated. */
void frame_error(char *error, size_t error_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
