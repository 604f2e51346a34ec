/*
 * frame_error.c - formats an error message into a caller's buffer, for every
 * call of libskyframe and libskyrt that reports one (frame_error.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "frame_error.h"

void frame_error(char *error, size_t error_len, const char *fmt, ...) {
    if (!error || error_len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, error_len, fmt, ap);
    va_end(ap);
}
