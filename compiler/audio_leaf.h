/*
 * audio_leaf.h - the `audio.*` values of the language as graph leaves.
 *
 * Every audio value is one OP_AUDIO leaf (a per-frame rate, so whatever
 * depends only on it is hoisted into the per-frame section) whose imm says
 * which value: the members below in this order, then the 16 bands. The
 * checker (names.c, builtins.c) makes the leaves, the evaluator (eval.c)
 * reads sky_frame_inputs.audio through audio_leaf_value; the emitters never
 * see them, since per-frame values reach the per-LED section as uniforms.
 */
#ifndef SKY_AUDIO_LEAF_H
#define SKY_AUDIO_LEAF_H

#include "sky/sky.h"

typedef enum audio_leaf {
    AUDIO_LEAF_LEVEL,
    AUDIO_LEAF_BASS,
    AUDIO_LEAF_MID,
    AUDIO_LEAF_TREBLE,
    AUDIO_LEAF_BEAT,
    AUDIO_LEAF_PHASE,
    AUDIO_LEAF_BPM,
    AUDIO_LEAF_BAND0, /* band k is AUDIO_LEAF_BAND0 + k */
    AUDIO_LEAF_COUNT = AUDIO_LEAF_BAND0 + SKY_AUDIO_BANDS
} audio_leaf;

/* The members that are values, by leaf, and the one function (`band`). */
#define AUDIO_LEAF_NAMES \
    { "level", "bass", "mid", "treble", "beat", "phase", "bpm" }
#define AUDIO_MEMBERS_HELP                                                                     \
    "the members of `audio` are `level`, `bass`, `mid`, `treble`, `beat`, `phase`, `bpm` and " \
    "`band(k)`"

/* Value `leaf` of `values`; 0 without audio (NULL) or for an unknown leaf. */
static inline double audio_leaf_value(const sky_audio_values *values, unsigned leaf) {
    if (!values) return 0;
    switch (leaf) {
    case AUDIO_LEAF_LEVEL:
        return values->level;
    case AUDIO_LEAF_BASS:
        return values->bass;
    case AUDIO_LEAF_MID:
        return values->mid;
    case AUDIO_LEAF_TREBLE:
        return values->treble;
    case AUDIO_LEAF_BEAT:
        return values->beat;
    case AUDIO_LEAF_PHASE:
        return values->phase;
    case AUDIO_LEAF_BPM:
        return values->bpm;
    default:
        return leaf >= AUDIO_LEAF_BAND0 && leaf < AUDIO_LEAF_COUNT
                   ? values->band[leaf - AUDIO_LEAF_BAND0]
                   : 0;
    }
}

#endif
