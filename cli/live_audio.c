/*
 * live_audio.c - the `--audio` option of `sky run` and `sky preview`
 * (live_audio.h). A file is stepped to each frame's t, so `sky run` plays it
 * in real time (looped) and `sky preview` frame k hears exactly the audio up
 * to k / fps. A capture device that fails mid-show is noted once and reads
 * as silence: the show goes on.
 */
#include <stdio.h>
#include <string.h>

#include "live_audio.h"

bool live_audio_open(live_audio *la, const char *cmd, const char *spec,
                     const sky_program *program) {
    memset(la, 0, sizeof *la);
    la->cmd = cmd;
    la->spec = spec;
    if (!spec) {
        if (program && (sky_program_inputs(program) & SKY_INPUT_AUDIO))
            fprintf(stderr,
                    "%s: note: the pattern reads audio.* but no --audio source is given; "
                    "they read 0\n",
                    cmd);
        return true;
    }
    char error[512] = "";
    sky_status st = sky_audio_open(spec, NULL, &la->audio, error, sizeof error);
    if (st != SKY_OK) {
        fprintf(stderr, "%s: --audio: %s\n", cmd, error[0] ? error : sky_status_str(st));
        return false;
    }
    return true;
}

const sky_audio_values *live_audio_frame(live_audio *la, double t) {
    if (!la->audio) return NULL;
    char error[512] = "";
    sky_status st = sky_audio_update(la->audio, t, &la->values, error, sizeof error);
    if (st != SKY_OK && !la->noted_stale) {
        fprintf(stderr, "%s: note: %s; audio.* fall to 0 and the show goes on\n", la->cmd,
                error[0] ? error : sky_status_str(st));
        la->noted_stale = true;
    }
    return &la->values;
}

void live_audio_close(live_audio *la) {
    sky_audio_free(la->audio);
    la->audio = NULL;
}
