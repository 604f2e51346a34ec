/*
 * reader.h - the driver's view of the frame file: attach, newest frame,
 * liveness, and what to show when the writer goes away.
 *
 *   WAITING --frame from a live writer--> LIVE --writer stale or dead--> HOLD
 *   HOLD --hold_s--> FADE --fade_s--> BLACK;  any new frame --> LIVE at once
 *
 * A file that does not exist yet, is invalid, shrinks (SIGBUS, caught by
 * libskyframe) or is replaced by a new writer (a new inode at the path) is
 * reported once per change and re-attached; the last good frame is kept
 * across all of it, so the hold/fade timing continues smoothly.
 */
#ifndef DRV_READER_H
#define DRV_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sky/frame.h"

typedef enum src_phase { SRC_WAITING, SRC_LIVE, SRC_HOLD, SRC_FADE, SRC_BLACK } src_phase;

typedef struct frame_source {
    char *path;
    uint64_t hold_ns, fade_ns, stale_ns;

    sky_frame_reader *reader;
    int heartbeat_fd; /* the same file, for the publish time of a frame (latency) */
    uint64_t next_open_ns, next_liveness_ns, next_replaced_ns;

    /* the layout of the last attach */
    bool have_layout;
    uint64_t layout_generation; /* bumps when led_count or the strip table change */
    uint32_t led_count, strip_count, fps_nominal;
    uint32_t *strips;
    char layout[33];

    uint8_t *frame, *scratch; /* the last good frame, and the read target */
    bool have_frame;
    uint64_t frame_number;
    src_phase phase;
    uint64_t stale_since_ns;

    /* statistics */
    uint64_t frames_in, dropped_closed, attaches, errors;
    char status[512]; /* last status line, logged only when it changes */
} frame_source;

typedef struct src_frame {
    bool new_frame;      /* a frame published since the last poll */
    uint64_t publish_ns; /* its publish time (CLOCK_MONOTONIC), 0 if unknown */
    double level;        /* 1 live or holding, fading, 0 black */
    src_phase phase;
} src_frame;

void source_init(frame_source *s, const char *path, double hold_s, double fade_s, double stale_s);
void source_free(frame_source *s);
/* Changes the path (config reload): detaches, keeps the last frame. */
int source_set_path(frame_source *s, const char *path);

/* One look at the file: attaches when needed, reads the newest frame, checks liveness. */
void source_poll(frame_source *s, uint64_t now_ns, src_frame *out);
/* Frames the writer published that this source never read, over all attaches. */
uint64_t source_dropped(const frame_source *s);
const char *source_phase_name(src_phase phase);

#endif
