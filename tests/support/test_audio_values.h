/*
 * test_audio_values.h - audio values that change from frame to frame, for
 * the suites that run every example on two backends: every `audio.*` reads
 * something other than 0 (bands and levels across 0..1, a bpm of 90..150),
 * so a pattern using them is compared where its audio paths matter.
 */
#ifndef SKY_TEST_AUDIO_VALUES_H
#define SKY_TEST_AUDIO_VALUES_H

#include <math.h>
#include <stdint.h>

#include "sky/sky.h"

static inline float test_audio_unit(double x) {
    return (float)(x - floor(x));
}

static inline sky_audio_values test_audio_values(uint64_t frame) {
    double f = (double)frame;
    sky_audio_values v = {.level = test_audio_unit(0.37 * f + 0.61),
                          .bass = test_audio_unit(0.23 * f + 0.9),
                          .mid = test_audio_unit(0.41 * f + 0.35),
                          .treble = test_audio_unit(0.17 * f + 0.2),
                          .beat = test_audio_unit(0.53 * f + 0.75),
                          .phase = test_audio_unit(0.29 * f + 0.45),
                          .bpm = (float)(90 + fmod(7 * f + 31, 60))};
    for (int k = 0; k < SKY_AUDIO_BANDS; k++)
        v.band[k] = test_audio_unit(0.13 * k + 0.31 * f + 0.05);
    return v;
}

#endif
