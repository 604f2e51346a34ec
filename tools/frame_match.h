/*
 * frame_match.h - is a frame received from the driver one that the writer
 * published? sky-receive keeps a history of the frames it reads from the
 * frame file (their numbers and 64-bit FNV-1a hashes) and looks each received
 * frame up in it.
 *
 * The driver sends the newest frame it read, so a received frame is one of
 * the writer's frames numbered from the last one matched up to the newest
 * one. The receiver reads the file at its own pace and may miss frames (when
 * it is not scheduled for longer than a frame), so a frame found nowhere in
 * the history is a MISMATCH only when the history holds every frame of that
 * span; otherwise it is UNVERIFIABLE (counted, never a failure). An all-zero
 * frame that matches nothing is BLACK: what the driver sends while it waits
 * for a writer.
 */
#ifndef SKY_FRAME_MATCH_H
#define SKY_FRAME_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 4096 frames: over a minute at 60 fps, 64 KiB. */
#define FMATCH_HISTORY 4096

typedef enum fmatch_verdict {
    FMATCH_MATCH,
    FMATCH_MISMATCH,
    FMATCH_UNVERIFIABLE,
    FMATCH_BLACK,
} fmatch_verdict;

typedef struct fmatch_entry {
    uint64_t number, hash;
} fmatch_entry;

typedef struct fmatch {
    fmatch_entry ring[FMATCH_HISTORY];
    size_t count, head;      /* entries held; index of the oldest */
    uint64_t newest;         /* number of the newest frame added, 0 before any */
    uint64_t first_complete; /* every frame from this number to the newest is held */
    uint64_t last_matched;   /* number of the last frame a received one matched, 0 before any */
} fmatch;

uint64_t fmatch_hash(const uint8_t *bytes, size_t len);

/* Empties the history (at start, and when a new writer numbers its frames from 1 again). */
void fmatch_reset(fmatch *m);
/* Records frame `number` of the file, read with its content. Numbers must increase. */
void fmatch_add(fmatch *m, uint64_t number, const uint8_t *frame, size_t len);
/* Looks up a received frame; on a match, *number is the frame it equals. */
fmatch_verdict fmatch_check(fmatch *m, const uint8_t *received, size_t len, uint64_t *number);

#endif
