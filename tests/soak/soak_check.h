/*
 * soak_check.h - the soak's self-verifying patterns and the torn-frame check.
 *
 * Every pattern the soak runs paints each LED with a colour that is a known
 * function of (pattern, frame value, LED): red and green carry the pattern's
 * `frame` input (low and high byte), blue a ramp over the LEDs that differs
 * per pattern. A frame a receiver reassembles is therefore *whole* when one
 * (pattern, frame value) explains every LED, and *torn* when none does.
 *
 * Frames during a writer fault are the last frame held, then faded: the
 * driver scales the whole frame by one level L and floors (with gamma 1 and
 * brightness 1 its 8.8 lookup value is exactly 256 c, and (256 c * s) >> 24
 * = floor(c * s / 65536)). A faded frame is whole when one (pattern, frame
 * value) and one L in [0, 1] give out = floor(c * L) on every channel of
 * every LED; L is tracked as an exact rational interval, so a frame mixing
 * two fade levels (or two frames) is caught whenever the intervals of its
 * parts do not meet.
 */
#ifndef SOAK_CHECK_H
#define SOAK_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SOAK_PATTERNS 3

/* The frame's geometry: disc:STRIPSxPER layouts (LEDs stored strip after strip). */
typedef struct soak_model {
    uint32_t strips, per_strip, led_count;
} soak_model;

typedef enum soak_kind {
    SOAK_EXACT,  /* one (pattern, frame) exactly: live or held */
    SOAK_SCALED, /* one (pattern, frame) scaled by one level < 1: a fade */
    SOAK_BLACK,  /* every byte 0 */
    SOAK_TORN,   /* no (pattern, frame, level) explains it */
} soak_kind;

typedef struct soak_verdict {
    soak_kind kind;
    uint8_t pattern;
    uint32_t value; /* the pattern's `frame` input, modulo 65536 */
    double level;   /* SOAK_SCALED: the smallest level consistent */
} soak_verdict;

/* The .sky source of pattern p (0..SOAK_PATTERNS-1), and one with an error. */
const char *soak_pattern_source(int p);
const char *soak_broken_source(void);

/* The colour byte pattern p gives LED `index`, channel c (0 R, 1 G, 2 B), at frame value f. */
uint8_t soak_expected(const soak_model *m, int p, uint32_t f, uint32_t index, int c);

/*
 * Classifies a frame of m->led_count RGB triples. `hint` (may be NULL) is a
 * (pattern, value) to try first for scaled frames: the last exact frame seen.
 */
soak_verdict soak_classify(const soak_model *m, const uint8_t *rgb, const soak_verdict *hint);

/*
 * For a torn frame: describes which parts match which (pattern, value),
 * chunk by chunk of `chunk_bytes` (a universe, a DDP packet), into buf.
 */
void soak_describe_torn(const soak_model *m, const uint8_t *rgb, size_t chunk_bytes, char *buf,
                        size_t len);

#endif
