/*
 * reader.c - attach/hold/fade state machine over libskyframe's reader.
 *
 * Everything that can go wrong with the file is an event here, never a
 * crash: no file yet (waiting, with one status line), an invalid header
 * (reported, retried every 250 ms), the file shrinking under the mapping
 * (libskyframe turns SIGBUS into SKY_ERR_FORMAT: detach and re-attach), a
 * new writer renaming a new file over the path (re-attach at once), and a
 * writer that dies (flock released) or hangs (heartbeat too old): hold the
 * last frame, then fade it to black. Liveness and replacement are checked
 * every 50 and 100 ms, reads on every poll (a read of an unchanged file is
 * one atomic load).
 */
#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output.h"

#define SRC_RETRY_NS     250000000ull
#define SRC_LIVENESS_NS  50000000ull
#define SRC_REPLACED_NS  100000000ull
#define SRC_HEARTBEAT_AT 136 /* frame.md: u64 heartbeat_ns */

void source_init(frame_source *s, const char *path, double hold_s, double fade_s, double stale_s) {
    memset(s, 0, sizeof *s);
    s->path = strdup(path);
    s->hold_ns = (uint64_t)(hold_s * 1e9);
    s->fade_ns = (uint64_t)(fade_s * 1e9);
    s->stale_ns = (uint64_t)(stale_s * 1e9);
    s->heartbeat_fd = -1;
    s->phase = SRC_WAITING;
}

static void source_status(frame_source *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void source_status(frame_source *s, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (strcmp(msg, s->status) == 0) return;
    snprintf(s->status, sizeof s->status, "%s", msg);
    drv_log("%s", msg);
}

static void source_go_stale(frame_source *s, uint64_t now, const char *why);

static void source_detach(frame_source *s) {
    if (s->reader) s->dropped_closed += sky_frame_reader_dropped(s->reader);
    sky_frame_reader_free(s->reader);
    s->reader = NULL;
    if (s->heartbeat_fd >= 0) close(s->heartbeat_fd);
    s->heartbeat_fd = -1;
}

void source_free(frame_source *s) {
    source_detach(s);
    free(s->path);
    free(s->strips);
    free(s->frame);
    free(s->scratch);
    memset(s, 0, sizeof *s);
    s->heartbeat_fd = -1;
}

int source_set_path(frame_source *s, const char *path) {
    char *copy = strdup(path);
    if (!copy) return -1;
    source_go_stale(s, drv_now_ns(), "the frame file path changed");
    source_detach(s);
    free(s->path);
    s->path = copy;
    s->next_open_ns = 0;
    return 0;
}

uint64_t source_dropped(const frame_source *s) {
    return s->dropped_closed + (s->reader ? sky_frame_reader_dropped(s->reader) : 0);
}

const char *source_phase_name(src_phase phase) {
    switch (phase) {
    case SRC_WAITING:
        return "waiting";
    case SRC_LIVE:
        return "live";
    case SRC_HOLD:
        return "holding";
    case SRC_FADE:
        return "fading";
    case SRC_BLACK:
        return "black";
    }
    return "?";
}

/* Starts holding the last frame (or stays black when there is none). */
static void source_go_stale(frame_source *s, uint64_t now, const char *why) {
    if (s->phase != SRC_LIVE) return;
    s->phase = SRC_HOLD;
    s->stale_since_ns = now;
    s->status[0] = '\0'; /* the next status line is news again */
    drv_log("%s: %s; holding the last frame %.1f s, then fading to black over %.1f s", s->path, why,
            s->hold_ns / 1e9, s->fade_ns / 1e9);
}

/* Takes the layout of the newly attached file; a change resets the frame. */
static int source_take_layout(frame_source *s) {
    const sky_frame_info *info = sky_frame_reader_info(s->reader);
    const uint32_t *strips = sky_frame_reader_strips(s->reader);
    bool same = s->have_layout && info->led_count == s->led_count &&
                info->strip_count == s->strip_count &&
                memcmp(strips, s->strips, (size_t)info->strip_count * sizeof *strips) == 0;
    s->fps_nominal = info->fps_nominal;
    snprintf(s->layout, sizeof s->layout, "%s", info->layout);
    if (same) return 0;
    size_t bytes = (size_t)info->led_count * 3;
    uint32_t *new_strips = malloc((size_t)info->strip_count * sizeof *new_strips);
    uint8_t *frame = calloc(bytes, 1), *scratch = calloc(bytes, 1);
    if (!new_strips || !frame || !scratch) {
        free(new_strips);
        free(frame);
        free(scratch);
        return -1;
    }
    memcpy(new_strips, strips, (size_t)info->strip_count * sizeof *strips);
    free(s->strips);
    free(s->frame);
    free(s->scratch);
    s->strips = new_strips;
    s->frame = frame;
    s->scratch = scratch;
    s->led_count = info->led_count;
    s->strip_count = info->strip_count;
    s->have_layout = true;
    s->have_frame = false; /* a frame of another shape means nothing now */
    if (s->phase != SRC_WAITING) s->phase = SRC_BLACK;
    s->layout_generation++;
    return 0;
}

/* A slow writer beats only when it publishes: never call it stale within 3 of its frames. */
static uint64_t source_stale_ns(const frame_source *s) {
    uint64_t three_frames = s->fps_nominal ? 3000000000ull / s->fps_nominal : 0;
    return s->stale_ns > three_frames ? s->stale_ns : three_frames;
}

static void source_open_heartbeat(frame_source *s) {
    /* A second descriptor on the same file, for pread of heartbeat_ns: the
     * publish time of the frame just read, for frame-to-wire latency. */
    /* Non-blocking and no links, as the reader opens it: a FIFO swapped in at the
     * path between the two opens must not block the frame loop. */
    int fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    struct stat a, b;
    if (fd < 0) return;
    if (fstat(fd, &a) != 0 || !S_ISREG(a.st_mode) || stat(s->path, &b) != 0 ||
        a.st_ino != b.st_ino ||
        a.st_dev != b.st_dev || sky_frame_reader_replaced(s->reader)) {
        close(fd);
        return;
    }
    s->heartbeat_fd = fd;
}

static uint64_t source_publish_time(frame_source *s, uint64_t now) {
    uint64_t beat = 0;
    if (s->heartbeat_fd < 0 ||
        pread(s->heartbeat_fd, &beat, sizeof beat, SRC_HEARTBEAT_AT) != (ssize_t)sizeof beat)
        return 0;
    return beat <= now ? beat : 0;
}

static void source_attach(frame_source *s, uint64_t now) {
    char err[512];
    sky_status st = sky_frame_reader_open(s->path, &s->reader, err, sizeof err);
    if (st != SKY_OK) {
        s->reader = NULL;
        s->next_open_ns = now + SRC_RETRY_NS;
        if (st == SKY_ERR_IO)
            source_status(s, "waiting for a writer: %s", err);
        else
            source_status(s, "waiting for a valid frame file: %s", err);
        if (st != SKY_ERR_IO) s->errors++;
        return;
    }
    if (source_take_layout(s) != 0) {
        source_detach(s);
        s->next_open_ns = now + SRC_RETRY_NS;
        source_status(s, "%s: out of memory for the frame", s->path);
        return;
    }
    source_open_heartbeat(s);
    s->attaches++;
    s->next_liveness_ns = now;
    s->next_replaced_ns = now + SRC_REPLACED_NS;
    sky_writer_state ws = sky_frame_reader_writer_state(s->reader, source_stale_ns(s));
    if (ws == SKY_WRITER_DEAD) {
        /* A file left by a writer that has exited: its last frame is history,
         * not something to show. Consume it so only new frames count. */
        uint64_t f = 0;
        (void)sky_frame_reader_read(s->reader, s->scratch, (size_t)s->led_count * 3, &f, err,
                                    sizeof err);
        source_status(s, "waiting for a writer: %s (%u LEDs, layout %s) has no live writer",
                      s->path, s->led_count, s->layout[0] ? s->layout : "?");
    } else {
        source_status(s, "attached to %s: %u LEDs in %u strips, layout %s, %u fps", s->path,
                      s->led_count, s->strip_count, s->layout[0] ? s->layout : "?", s->fps_nominal);
    }
}

static void source_read(frame_source *s, uint64_t now, src_frame *out) {
    char err[512];
    uint64_t f = 0;
    sky_status st =
        sky_frame_reader_read(s->reader, s->scratch, (size_t)s->led_count * 3, &f, err, sizeof err);
    if (st == SKY_OK) {
        uint8_t *t = s->frame;
        s->frame = s->scratch;
        s->scratch = t;
        s->have_frame = true;
        s->frame_number = f;
        s->frames_in++;
        if (s->phase != SRC_LIVE)
            source_status(s, "%s: frames arriving (frame %llu), live", s->path,
                          (unsigned long long)f);
        s->phase = SRC_LIVE;
        out->new_frame = true;
        out->publish_ns = source_publish_time(s, now);
        return;
    }
    if (st == SKY_ERR_AGAIN) return;
    s->errors++;
    source_go_stale(s, now, "frame file broke");
    source_status(s, "frame file unusable, re-attaching: %s", err);
    source_detach(s);
    s->next_open_ns = now + SRC_RETRY_NS / 2;
}

static void source_check(frame_source *s, uint64_t now) {
    if (now >= s->next_replaced_ns) {
        s->next_replaced_ns = now + SRC_REPLACED_NS;
        if (sky_frame_reader_replaced(s->reader)) {
            /* The old file's writer is done with it; hold until the new one publishes. */
            source_go_stale(s, now, "the frame file was replaced (a new writer?)");
            source_detach(s);
            s->next_open_ns = now;
            source_attach(s, now);
            if (!s->reader) return;
        }
    }
    if (now >= s->next_liveness_ns) {
        s->next_liveness_ns = now + SRC_LIVENESS_NS;
        sky_writer_state ws = sky_frame_reader_writer_state(s->reader, source_stale_ns(s));
        if (ws == SKY_WRITER_DEAD)
            source_go_stale(s, now, "the writer is gone (lock released)");
        else if (ws == SKY_WRITER_STALE)
            source_go_stale(s, now, "the writer is stale (no heartbeat within the timeout)");
    }
}

/* The level and phase for the time spent stale. */
static void source_level(frame_source *s, uint64_t now, src_frame *out) {
    if (!s->have_frame || s->phase == SRC_WAITING) {
        out->level = 0;
        out->phase = s->phase == SRC_LIVE ? SRC_WAITING : s->phase;
        return;
    }
    if (s->phase == SRC_LIVE) {
        out->level = 1;
        out->phase = SRC_LIVE;
        return;
    }
    uint64_t t = now - s->stale_since_ns;
    src_phase phase;
    if (t < s->hold_ns) {
        phase = SRC_HOLD;
        out->level = 1;
    } else if (t < s->hold_ns + s->fade_ns) {
        phase = SRC_FADE;
        out->level = 1.0 - (double)(t - s->hold_ns) / (double)s->fade_ns;
    } else {
        phase = SRC_BLACK;
        out->level = 0;
    }
    if (phase == SRC_BLACK && s->phase != SRC_BLACK)
        drv_log("%s: faded to black; sending black until a writer returns", s->path);
    s->phase = phase;
    out->phase = phase;
}

void source_poll(frame_source *s, uint64_t now, src_frame *out) {
    memset(out, 0, sizeof *out);
    if (!s->reader && now >= s->next_open_ns) source_attach(s, now);
    if (s->reader) source_check(s, now);
    if (s->reader) source_read(s, now, out);
    source_level(s, now, out);
}
