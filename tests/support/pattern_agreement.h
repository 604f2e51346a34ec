/*
 * pattern_agreement.h - what the two suites that render every real pattern
 * against the CPU reference evaluator share (tests/runtime/test_gpu_agreement.c,
 * the Vulkan device; tests/runtime/test_cpu_backend.c, the CPU backend): the
 * pattern files, the four layouts, the parameter variants and the frames each
 * pattern is compared on. One definition, so the two backends are held to the
 * same cases.
 */
#ifndef SKY_TESTS_PATTERN_AGREEMENT_H
#define SKY_TESTS_PATTERN_AGREEMENT_H

#include <stdbool.h>
#include <stddef.h>

#include "sky/sky.h"

#define PA_LAYOUT_COUNT 4   /* disc, grid, strip, the irregular map */
#define PA_PREV_FRAMES  32  /* consecutive frames for patterns that read prev */
#define PA_MAX_FILES    256 /* pattern files taken from examples/ and the corpus */
#define PA_MAX_VARIANTS 3   /* defaults, all ranged params at min, all at max */

/*
 * Writes the irregular map (irregular_map.h, 11 + 7 s LEDs per strip, file
 * name tagged `tag`) into map_path and fills specs with the four layouts:
 * "disc:12x10", "grid:9x7", "strip:37" and "map:" that file (kept in a
 * static buffer: one set of specs per process). False, with errno set, when
 * the map cannot be written; the caller removes map_path.
 */
bool pa_layout_specs(const char *tag, char *map_path, size_t map_path_len,
                     const char *specs[PA_LAYOUT_COUNT]);

/*
 * The pattern files, strdup'ed into files (at most PA_MAX_FILES):
 * the .sky files in SOURCE_DIR/examples/, then those in
 * SOURCE_DIR/tests/compiler/corpus/ (each glob sorted).
 * Returns the count; *examples is how many came from examples/.
 */
size_t pa_pattern_files(const char *source_dir, char **files, size_t *examples);
void pa_pattern_files_free(char **files, size_t count);

/* Compiles the file at `path`; NULL after printing the diagnostics, or why it could
 * not be read, to stderr. */
sky_program *pa_compile_file(const char *path);

typedef struct pa_variant {
    const char *name; /* "defaults", "params at min", "params at max" */
    double *params;   /* sky_program_param_slots values (at least one) */
} pa_variant;

/* The defaults and, when the pattern has ranged params, all at their minimum and all at
 * their maximum; the count, 0 when out of memory. Free with pa_variants_free. */
size_t pa_variants(const sky_program *program, pa_variant variants[PA_MAX_VARIANTS]);
void pa_variants_free(pa_variant *variants, size_t count);

/* How many frames a pattern is compared on: PA_PREV_FRAMES consecutive ones (at 60 fps
 * from t = 0.5) when it reads prev, else five times far apart (0 to 1234.5 s). */
size_t pa_frame_count(const sky_program *program);

/* Frame f's inputs for `params`: t and dt as pa_frame_count says (dt 0 at frame 0,
 * else 1/60), frame number f, and audio values that change from frame to frame
 * (test_audio_values.h), written to *audio, which the result points to. */
sky_frame_inputs pa_frame(const sky_program *program, size_t f, const double *params,
                          sky_audio_values *audio);

#endif
