/*
 * sky/status.h - the status codes every Skyscreen library returns.
 *
 * Shared by the compiler (libsky), the frame file library (libskyframe), the
 * Vulkan runtime (libskyrt) and the driver, so a caller handles one enum.
 */
#ifndef SKY_STATUS_H
#define SKY_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sky_status {
    SKY_OK = 0,
    SKY_ERR_COMPILE,     /* the source has errors: see the diagnostics */
    SKY_ERR_NOMEM,       /* an allocation failed */
    SKY_ERR_INVALID_ARG, /* a NULL or out-of-range argument */
    SKY_ERR_LIMIT,       /* a documented limit was exceeded */
    SKY_ERR_IO,          /* a system call failed: see errno / the message */
    SKY_ERR_FORMAT,      /* a file or header is malformed */
    SKY_ERR_INTERNAL,    /* a bug in Skyscreen (e.g. shaderc rejected generated GLSL) */
    SKY_ERR_VULKAN,      /* a Vulkan call failed */
    SKY_ERR_NO_DEVICE,   /* no usable Vulkan device */
    SKY_ERR_DEVICE_LOST, /* the device was lost; the runtime must be recreated */
    SKY_ERR_AGAIN,       /* nothing new yet (e.g. no frame published since the last read) */
    SKY_ERR_STALE,       /* the other side is gone (writer dead or heartbeat too old) */
} sky_status;

/* A short, static, lower-case description ("out of memory"). Never NULL.
 * Inline so that every library (and the driver, which links no compiler) has it. */
static inline const char *sky_status_str(sky_status status) {
    switch (status) {
    case SKY_OK:
        return "ok";
    case SKY_ERR_COMPILE:
        return "the pattern has errors";
    case SKY_ERR_NOMEM:
        return "out of memory";
    case SKY_ERR_INVALID_ARG:
        return "invalid argument";
    case SKY_ERR_LIMIT:
        return "limit exceeded";
    case SKY_ERR_IO:
        return "input/output error";
    case SKY_ERR_FORMAT:
        return "malformed file";
    case SKY_ERR_INTERNAL:
        return "internal error";
    case SKY_ERR_VULKAN:
        return "vulkan error";
    case SKY_ERR_NO_DEVICE:
        return "no vulkan device";
    case SKY_ERR_DEVICE_LOST:
        return "vulkan device lost";
    case SKY_ERR_AGAIN:
        return "nothing new yet";
    case SKY_ERR_STALE:
        return "writer is gone";
    }
    return "unknown status";
}

#ifdef __cplusplus
}
#endif

#endif
