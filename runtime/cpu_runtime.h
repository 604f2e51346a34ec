/*
 * cpu_runtime.h - the CPU backend behind the sky_runtime API (internal to
 * libskyrt). A sky_runtime created for the device "cpu" holds one of these,
 * and every sky_runtime_* function hands over to its cpurt_* twin, with the
 * same contract (sky/runtime.h): so `sky run`, the live show, previews and
 * benchmarks run on it without knowing. docs/cpu-backend.md.
 */
#ifndef SKY_CPU_RUNTIME_H
#define SKY_CPU_RUNTIME_H

#include "sky/runtime.h"

typedef struct cpurt cpurt;
typedef struct cpurt_pipeline cpurt_pipeline;

/* True when `device` (else $SKY_DEVICE) names the CPU backend. */
bool cpurt_selected(const char *device);

sky_status cpurt_create(const sky_runtime_options *options, cpurt **out, char *error,
                        size_t error_len);
void cpurt_free(cpurt *c);

/* Compiles (or loads from the cache) the kernel: the slow half, any thread. */
sky_status cpurt_pipeline_build(cpurt *c, const sky_program *program, cpurt_pipeline **out,
                                char *error, size_t error_len);
/* Swaps it in (takes it, whatever the result). */
sky_status cpurt_set_pipeline(cpurt *c, cpurt_pipeline *pipeline, char *error, size_t error_len);
void cpurt_pipeline_free(cpurt_pipeline *pipeline);

sky_status cpurt_render(cpurt *c, double t, double dt, const double *params, char *error,
                        size_t error_len);
sky_status cpurt_render_mix(cpurt *c, double t, double dt, const double *params,
                            cpurt_pipeline *incoming, double t_in, double dt_in,
                            const double *params_in, double amount, char *error, size_t error_len);
sky_status cpurt_render_hold(cpurt *c, char *error, size_t error_len);
sky_status cpurt_set_brightness(cpurt *c, double level, char *error, size_t error_len);
sky_status cpurt_restart(cpurt *c, char *error, size_t error_len);
/* sky_runtime_set_audio: copied; NULL reads zeros. */
void cpurt_set_audio(cpurt *c, const sky_audio_values *values);
/* The current pattern's pictures, or (incoming) the incoming pattern's of a crossfade. */
sky_status cpurt_set_pictures(cpurt *c, bool incoming, const uint32_t *block, char *error,
                              size_t error_len);

const uint8_t *cpurt_frame_bytes(const cpurt *c, size_t *len);
const float *cpurt_frame_floats(const cpurt *c, size_t *count);
uint64_t cpurt_frame_count(const cpurt *c);
void cpurt_get_stats(const cpurt *c, sky_runtime_stats *stats);
void cpurt_reset_stats(cpurt *c);
sky_output_path cpurt_output_path(const cpurt *c);
const char *cpurt_output_reason(const cpurt *c);
const char *cpurt_device_name(const cpurt *c);

#endif
