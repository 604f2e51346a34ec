/*
 * frame_source.h - the frames of the offline commands, `sky preview` and
 * `sky render`: the runtime (a Vulkan device or the CPU backend) rendering
 * into host memory, or the CPU reference evaluator (--cpu). Each frame gets
 * the pattern's picture inputs as due at its t (the video frame of that
 * moment, however long rendering takes) and, with --audio, the sound
 * analysed up to t, so both commands give the same frames for the same t.
 * frame_pattern_open is the setup both do before the first frame (compile,
 * --set, --layout, the source), so that they cannot drift apart.
 */
#ifndef SKY_CLI_FRAME_SOURCE_H
#define SKY_CLI_FRAME_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "live_audio.h"
#include "show.h"

typedef struct frame_source {
    const char *cmd; /* for messages */
    const sky_program *program;
    const double *params;
    sky_runtime *rt; /* NULL with --cpu */
    /* --cpu: the evaluator's inputs and its prev/cur ping-pong */
    sky_layout_view view;
    sky_led_input *inputs;
    float *prev, *cur;
    uint8_t *bytes;
    uint64_t frame;
    live_audio audio;       /* --audio: stepped to each frame's t */
    sky_pictures *pictures; /* the pattern's picture inputs, NULL without */
} frame_source;

/*
 * Opens the source for `program` (from the .sky file `path`, against which
 * picture paths are relative) on `layout`: `common` gives the device and
 * --audio, `cpu` picks the evaluator. False after printing why. Close it
 * whatever the result (a zeroed source closes too).
 */
bool frame_source_open(frame_source *s, const char *cmd, const live_common *common, bool cpu,
                       const char *path, const sky_layout *layout, const sky_program *program,
                       const double *params);
/* The frame at t (dt since the previous, 0 at the first): led_count * 3 bytes valid until
 * the next call, or NULL after printing why. */
const uint8_t *frame_source_next(frame_source *s, double t, double dt);
void frame_source_close(frame_source *s);

/*
 * What both commands do after parsing: compile the .sky file `path`, apply
 * --set to its params (strict: an unknown name is an error), build the
 * layout (--layout) and open the frame source over them. The pattern owns
 * all four; the source points into it.
 */
typedef struct frame_pattern {
    sky_program *program;
    double *params; /* sky_program_param_slots values */
    sky_layout *layout;
    frame_source source;
} frame_pattern;

/* 0 when ready, 1 when the pattern has errors, 2 on other failures (printed). Close it
 * whatever the result. */
int frame_pattern_open(frame_pattern *p, const char *cmd, const live_common *common, bool cpu,
                       const char *path);
void frame_pattern_close(frame_pattern *p);

#endif
