/*
 * out_file.c - file://PATH (raw frames, for recording) and null:// (benchmarks).
 *
 * file:// appends each frame as it would go on the wire: led_count x 3 bytes
 * after the colour pipeline, in the output's colour order, no header, so
 * `ffmpeg -f rawvideo -pix_fmt rgb24 -s 288x360 -i rec.raw` or numpy can
 * read it back. The file is truncated at start unless append=1. null://
 * runs the whole pipeline and throws the result away, to measure the driver
 * without a network.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"

typedef struct file_out {
    int fd;
    char path[256];
} file_out;

static int file_open(output *o, drv_url *url, const output_env *env, char *err, size_t err_len) {
    (void)env;
    file_out *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    f->fd = -1;
    o->impl = f;
    bool append = false;
    if (url_get_bool(url, "append", &append, err, err_len)) return -1;
    if (!*url->path) {
        snprintf(err, err_len, "`%s`: no path (file:///tmp/recording.raw)", url->text);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s", url->path);
    f->fd = open(f->path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
    if (f->fd < 0) {
        snprintf(err, err_len, "%s: %s", f->path, strerror(errno));
        return -1;
    }
    return 0;
}

static int file_prepare(output *o, uint32_t leds, char *err, size_t err_len) {
    (void)o;
    (void)leds;
    (void)err;
    (void)err_len;
    return 0;
}

static void file_send(output *o, const uint8_t *wire, uint32_t leds) {
    file_out *f = o->impl;
    size_t len = (size_t)leds * 3, done = 0;
    while (done < len) {
        ssize_t n = write(f->fd, wire + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            output_error(o, "%s: %s", f->path, n < 0 ? strerror(errno) : "short write");
            return;
        }
        done += (size_t)n;
    }
    atomic_fetch_add_explicit(&o->stats.packets, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&o->stats.bytes, len, memory_order_relaxed);
    output_recovered(o, "writing again");
}

static void file_close(output *o) {
    file_out *f = o->impl;
    if (!f) return;
    if (f->fd >= 0) close(f->fd);
    free(f);
    o->impl = NULL;
}

const output_ops out_file_ops = {
    .scheme = "file",
    .open = file_open,
    .prepare = file_prepare,
    .send = file_send,
    .goodbye = NULL,
    .close = file_close,
};

/* ------------------------------------------------------------ null:// */

static int null_open(output *o, drv_url *url, const output_env *env, char *err, size_t err_len) {
    (void)env;
    o->impl = NULL;
    if (*url->host || (*url->path && strcmp(url->path, "/") != 0)) {
        snprintf(err, err_len, "`%s`: null:// takes no host or path", url->text);
        return -1;
    }
    return 0;
}

static void null_send(output *o, const uint8_t *wire, uint32_t leds) {
    (void)wire;
    atomic_fetch_add_explicit(&o->stats.packets, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&o->stats.bytes, (uint64_t)leds * 3, memory_order_relaxed);
}

static void null_close(output *o) {
    o->impl = NULL;
}

const output_ops out_null_ops = {
    .scheme = "null",
    .open = null_open,
    .prepare = file_prepare,
    .send = null_send,
    .goodbye = NULL,
    .close = null_close,
};
