/*
 * pattern_agreement.c - the cases of pattern_agreement.h: pattern files,
 * layouts, parameter variants and frames for the agreement suites.
 */
#include "pattern_agreement.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "irregular_map.h"
#include "test_audio_values.h"

/* Patterns without prev: times far apart, where float and double phases drift most. */
static const double pa_times[] = {0.0, 0.37, 2.5, 61.3, 1234.5};

bool pa_layout_specs(const char *tag, char *map_path, size_t map_path_len,
                     const char *specs[PA_LAYOUT_COUNT]) {
    static char map_spec[300];
    if (!test_irregular_map_write(map_path, map_path_len, tag, 11, 7)) return false;
    snprintf(map_spec, sizeof map_spec, "map:%s", map_path);
    specs[0] = "disc:12x10";
    specs[1] = "grid:9x7";
    specs[2] = "strip:37";
    specs[3] = map_spec;
    return true;
}

static size_t pa_glob(const char *pattern, char **files, size_t count) {
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0) return count;
    for (size_t i = 0; i < g.gl_pathc && count < PA_MAX_FILES; i++) {
        char *copy = strdup(g.gl_pathv[i]);
        if (!copy) {
            fprintf(stderr, "out of memory listing %s\n", pattern);
            break;
        }
        files[count++] = copy;
    }
    globfree(&g);
    return count;
}

size_t pa_pattern_files(const char *source_dir, char **files, size_t *examples) {
    char pattern[1024];
    snprintf(pattern, sizeof pattern, "%s/examples/*.sky", source_dir);
    *examples = pa_glob(pattern, files, 0);
    snprintf(pattern, sizeof pattern, "%s/tests/compiler/corpus/*.sky", source_dir);
    return pa_glob(pattern, files, *examples);
}

void pa_pattern_files_free(char **files, size_t count) {
    for (size_t i = 0; i < count; i++) free(files[i]);
}

sky_program *pa_compile_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return NULL;
    }
    char *src = malloc(SKY_MAX_SOURCE_BYTES + 1);
    if (!src) {
        fclose(f);
        fprintf(stderr, "%s: out of memory\n", path);
        return NULL;
    }
    size_t len = fread(src, 1, SKY_MAX_SOURCE_BYTES, f);
    fclose(f);
    sky_program *program = NULL;
    sky_diagnostics *diags = NULL;
    sky_status st = sky_compile(path, src, len, NULL, &program, &diags);
    free(src);
    if (st != SKY_OK) {
        char *text = NULL;
        sky_diagnostics_render(diags, false, &text);
        fprintf(stderr, "%s%s does not compile (%s)\n", text ? text : "", path, sky_status_str(st));
        sky_free(text);
        program = NULL;
    }
    sky_diagnostics_free(diags);
    return program;
}

size_t pa_variants(const sky_program *program, pa_variant variants[PA_MAX_VARIANTS]) {
    size_t slots = sky_program_param_slots(program), n = 0;
    bool ranged = false;
    for (size_t i = 0; i < sky_program_param_count(program); i++)
        ranged |= sky_program_param(program, i)->has_range;
    static const char *const names[PA_MAX_VARIANTS] = {"defaults", "params at min",
                                                       "params at max"};
    for (int v = 0; v < (ranged ? 3 : 1); v++) {
        double *params = calloc(slots ? slots : 1, sizeof *params);
        if (!params) {
            pa_variants_free(variants, n);
            return 0;
        }
        sky_program_param_defaults(program, params);
        for (size_t i = 0; i < sky_program_param_count(program) && v > 0; i++) {
            const sky_param_info *p = sky_program_param(program, i);
            if (p->has_range) params[p->slot] = v == 1 ? p->min : p->max;
        }
        variants[n++] = (pa_variant){names[v], params};
    }
    return n;
}

void pa_variants_free(pa_variant *variants, size_t count) {
    for (size_t i = 0; i < count; i++) free(variants[i].params);
}

size_t pa_frame_count(const sky_program *program) {
    return sky_program_uses_prev(program) ? PA_PREV_FRAMES : sizeof pa_times / sizeof pa_times[0];
}

sky_frame_inputs pa_frame(const sky_program *program, size_t f, const double *params,
                          sky_audio_values *audio) {
    *audio = test_audio_values(f); /* audio.* as a show would see it */
    return (sky_frame_inputs){
        .t = sky_program_uses_prev(program) ? 0.5 + (double)f / 60.0 : pa_times[f],
        .dt = f == 0 ? 0.0 : 1.0 / 60.0,
        .frame = f,
        .params = params,
        .audio = audio,
    };
}
