/*
 * live_audio.h - `--audio` for `sky run` and `sky preview`: opens the source
 * (sky/audio.h), analyses it at each frame's t and hands the values to the
 * runtime (or to the evaluator's frame inputs), and notes once on stderr
 * when a pattern reads `audio.*` with no source (they read 0).
 */
#ifndef SKY_CLI_LIVE_AUDIO_H
#define SKY_CLI_LIVE_AUDIO_H

#include <stdbool.h>

#include "sky/audio.h"
#include "sky/runtime.h"
#include "sky/sky.h"

typedef struct live_audio {
    const char *cmd;
    const char *spec; /* --audio, NULL: none */
    sky_audio *audio;
    sky_audio_values values; /* the last frame's */
    bool noted_stale;
} live_audio;

/*
 * Opens `spec` (NULL: no source). With no source and a `program` that reads
 * audio, prints the note. False after printing why the source cannot open.
 */
bool live_audio_open(live_audio *la, const char *cmd, const char *spec, const sky_program *program);
/* Analyses up to stream time t; the values for this frame, or NULL without a source. */
const sky_audio_values *live_audio_frame(live_audio *la, double t);
void live_audio_close(live_audio *la);

#endif
