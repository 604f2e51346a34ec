/*
 * frame_source.c - the frames of `sky preview` and `sky render`
 * (frame_source.h): one way to render a pattern offline, through the
 * runtime or the CPU evaluator, with its pictures and audio at each t, and
 * one way to get there from the file and options (frame_pattern_open).
 */
#include "frame_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sky/runtime.h"

static bool source_open_runtime(frame_source *s, const live_common *common,
                                const sky_layout *layout) {
    char error[1024] = "";
    sky_runtime_options ro;
    sky_runtime_options_init(&ro);
    ro.device = common->device;
    ro.layout = layout;
    ro.picture_words = sky_pictures_max_words(s->pictures);
    sky_status st = sky_runtime_create(&ro, &s->rt, error, sizeof error);
    if (st == SKY_OK) st = sky_runtime_set_program(s->rt, s->program, error, sizeof error);
    if (st == SKY_OK) return true;
    fprintf(stderr, "%s: %s\n", s->cmd, error[0] ? error : sky_status_str(st));
    if (st == SKY_ERR_NO_DEVICE)
        fprintf(stderr, "%s: --cpu renders with the CPU evaluator instead\n", s->cmd);
    return false;
}

static bool source_open_evaluator(frame_source *s, const sky_layout *layout) {
    size_t n = layout->led_count;
    s->view = live_layout_view(layout);
    s->inputs = malloc(n * sizeof *s->inputs);
    s->prev = calloc(n * 3, sizeof *s->prev);
    s->cur = malloc(n * 3 * sizeof *s->cur);
    s->bytes = malloc(n * 3);
    if (!s->inputs || !s->prev || !s->cur || !s->bytes) {
        fprintf(stderr, "%s: out of memory for %zu LEDs\n", s->cmd, n);
        return false;
    }
    sky_status st = sky_led_inputs_build(&s->view, s->inputs);
    if (st != SKY_OK) {
        fprintf(stderr, "%s: the layout is inconsistent: %s\n", s->cmd, sky_status_str(st));
        return false;
    }
    return true;
}

bool frame_source_open(frame_source *s, const char *cmd, const live_common *common, bool cpu,
                       const char *path, const sky_layout *layout, const sky_program *program,
                       const double *params) {
    memset(s, 0, sizeof *s);
    s->cmd = cmd;
    s->program = program;
    s->params = params;
    char error[1024] = "";
    if (!live_audio_open(&s->audio, cmd, common->audio_spec, program) ||
        !live_pictures_open(cmd, path, program, layout, &s->pictures, error, sizeof error))
        return false;
    return cpu ? source_open_evaluator(s, layout) : source_open_runtime(s, common, layout);
}

static const uint8_t *source_next_runtime(frame_source *s, double t, double dt,
                                          const sky_audio_values *audio, bool new_pictures) {
    char error[1024] = "";
    sky_runtime_set_audio(s->rt, audio);
    sky_status st = new_pictures ? sky_runtime_set_pictures(s->rt, sky_pictures_block(s->pictures),
                                                            error, sizeof error)
                                 : SKY_OK;
    if (st == SKY_OK) st = sky_runtime_render(s->rt, t, dt, s->params, error, sizeof error);
    size_t len = 0;
    const uint8_t *bytes = st == SKY_OK ? sky_runtime_frame_bytes(s->rt, &len) : NULL;
    if (!bytes)
        fprintf(stderr, "%s: rendering failed: %s\n", s->cmd,
                error[0] ? error : sky_status_str(st));
    return bytes;
}

static const uint8_t *source_next_evaluator(frame_source *s, double t, double dt,
                                            const sky_audio_values *audio) {
    sky_frame_inputs fi = {.t = t,
                           .dt = dt,
                           .frame = s->frame,
                           .params = s->params,
                           .audio = audio,
                           .pictures = sky_pictures_block(s->pictures)};
    bool uses_prev = sky_program_uses_prev(s->program);
    sky_status st = sky_program_eval(s->program, &s->view, s->inputs, &fi,
                                     uses_prev ? s->prev : NULL, s->cur, s->bytes);
    if (st != SKY_OK) {
        fprintf(stderr, "%s: the CPU evaluator failed: %s\n", s->cmd, sky_status_str(st));
        return NULL;
    }
    float *swap = s->prev;
    s->prev = s->cur;
    s->cur = swap;
    s->frame++;
    return s->bytes;
}

const uint8_t *frame_source_next(frame_source *s, double t, double dt) {
    const sky_audio_values *audio = live_audio_frame(&s->audio, t);
    bool new_pictures = sky_pictures_update_sync(s->pictures, t);
    return s->rt ? source_next_runtime(s, t, dt, audio, new_pictures)
                 : source_next_evaluator(s, t, dt, audio);
}

void frame_source_close(frame_source *s) {
    sky_runtime_free(s->rt);
    live_audio_close(&s->audio);
    sky_pictures_free(s->pictures);
    free(s->inputs);
    free(s->prev);
    free(s->cur);
    free(s->bytes);
    memset(s, 0, sizeof *s);
}

int frame_pattern_open(frame_pattern *p, const char *cmd, const live_common *common, bool cpu,
                       const char *path) {
    memset(p, 0, sizeof *p);
    int code = live_compile_file(cmd, path, &p->program);
    if (code != 0) return code;
    size_t slots = sky_program_param_slots(p->program);
    if (!(p->params = calloc(slots ? slots : 1, sizeof *p->params))) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        return 2;
    }
    if (!live_params_apply(cmd, p->program, common->sets, common->set_count, true, p->params) ||
        !live_layout_create(cmd, common->layout_spec, &p->layout) ||
        !frame_source_open(&p->source, cmd, common, cpu, path, p->layout, p->program, p->params))
        return 2;
    return 0;
}

void frame_pattern_close(frame_pattern *p) {
    frame_source_close(&p->source);
    free(p->params);
    sky_program_free(p->program);
    sky_layout_free(p->layout);
    memset(p, 0, sizeof *p);
}
