/*
 * spirv.c - GLSL -> SPIR-V through shaderc, for a Vulkan 1.1 device.
 *
 * The GLSL always comes from emit_glsl.c, so shaderc rejecting it is a bug in
 * Skyscreen, never in the user's pattern: it is reported as an internal
 * compiler error (SKY_ERR_INTERNAL) whose message carries shaderc's own
 * message and the whole generated shader with line numbers, which is what a
 * bug report needs.
 *
 * A shaderc compiler object is created per call of sky_program_emit_spirv,
 * which keeps this file free of global state. That is not free: glslang
 * builds its built-in symbol tables when the process's first compiler starts
 * and drops them with its last, so a process without a live compiler pays
 * them on every call (plasma.sky: 170-210 ms per emit on an x86-64 core,
 * 25 ms of it the compilation itself). A caller that emits again and again
 * (`sky run --watch`) holds a sky_spirv_compiler instead.
 *
 * Optimization: the GLSL is compiled without optimization first, and again
 * with shaderc's performance level only when that unoptimized SPIR-V is at
 * most SPIRV_OPTIMIZE_MAX_WORDS words. spirv-opt inlines every helper call
 * into main() and its time and memory then grow much faster than the code
 * (340 hash calls took 24 s and 1.7 GB; 1,358 of them, 4,076 LED
 * instructions, ran out of memory, where the unoptimized module takes 0.2 s). Drivers optimize the SPIR-V they get anyway; on lavapipe the
 * unoptimized 340-hash shader even ran faster (11 vs 17 ms per frame on the
 * 103,680-LED disc), and every example stays below the limit (the largest,
 * clouds.sky, is 5,677 words unoptimized), keeping the optimized shaders
 * their timings were measured with.
 */
#include <shaderc/shaderc.h>
#include <stdlib.h>
#include <string.h>

#include "program.h"
#include "sky/abi.h"
#include "spirv.h"
#include "text.h"

static const char *spirv_status_name(shaderc_compilation_status status) {
    switch (status) {
    case shaderc_compilation_status_success:
        return "success";
    case shaderc_compilation_status_invalid_stage:
        return "invalid stage";
    case shaderc_compilation_status_compilation_error:
        return "compilation error";
    case shaderc_compilation_status_internal_error:
        return "shaderc internal error";
    case shaderc_compilation_status_null_result_object:
        return "no result object";
    case shaderc_compilation_status_invalid_assembly:
        return "invalid assembly";
    case shaderc_compilation_status_validation_error:
        return "validation error";
    case shaderc_compilation_status_transformation_error:
        return "transformation error";
    case shaderc_compilation_status_configuration_error:
        return "configuration error";
    }
    return "unknown status";
}

/* "internal compiler error: ...", shaderc's message, then the GLSL as "  12 | text". */
static char *spirv_error_message(const char *what, const char *detail, const char *glsl,
                                 size_t len) {
    text_buf t = {0};
    text_printf(&t,
                     "internal compiler error: %s\n"
                     "This is a bug in Skyscreen, not in the pattern: please report it with the "
                     "pattern and this message.\n",
                     what);
    if (detail && *detail) {
        text_puts(&t, detail);
        if (detail[strlen(detail) - 1] != '\n') text_puts(&t, "\n");
    }
    text_puts(&t, "The generated GLSL:\n");
    unsigned line = 1;
    for (size_t at = 0; at < len; line++) {
        const char *end = memchr(glsl + at, '\n', len - at);
        size_t n = end ? (size_t)(end - (glsl + at)) : len - at;
        text_printf(&t, "%5u | ", line);
        text_append(&t, glsl + at, n);
        text_puts(&t, "\n");
        at += n + (end ? 1 : 0);
    }
    return text_take(&t, NULL);
}

/* Sets *error (when wanted) and returns SKY_ERR_INTERNAL, or SKY_ERR_NOMEM if even that fails. */
static sky_status spirv_fail(char **error, const char *what, const char *detail, const char *glsl,
                             size_t len) {
    if (!error) return SKY_ERR_INTERNAL;
    *error = spirv_error_message(what, detail, glsl, len);
    return *error ? SKY_ERR_INTERNAL : SKY_ERR_NOMEM;
}

/* Unoptimized SPIR-V above this many words is not handed to spirv-opt (see the top). */
#define SPIRV_OPTIMIZE_MAX_WORDS 8192u

static shaderc_compile_options_t spirv_options(shaderc_optimization_level level) {
    shaderc_compile_options_t options = shaderc_compile_options_initialize();
    if (!options) return NULL;
    shaderc_compile_options_set_source_language(options, shaderc_source_language_glsl);
    shaderc_compile_options_set_target_env(options, shaderc_target_env_vulkan,
                                           shaderc_env_version_vulkan_1_1);
    shaderc_compile_options_set_optimization_level(options, level);
    return options;
}

/* Compiles at `level`; NULL only without memory. */
static shaderc_compilation_result_t spirv_run(shaderc_compiler_t compiler, const char *glsl,
                                              size_t len, const char *name,
                                              shaderc_optimization_level level) {
    shaderc_compile_options_t options = spirv_options(level);
    if (!options) return NULL;
    shaderc_compilation_result_t result =
        shaderc_compile_into_spv(compiler, glsl, len, shaderc_glsl_compute_shader,
                                 name ? name : "sky.comp", "main", options);
    shaderc_compile_options_release(options);
    return result;
}

/* Copies the result's bytes into malloc'd words. */
static sky_status spirv_copy_words(shaderc_compilation_result_t result, uint32_t **words,
                                   size_t *word_count) {
    size_t bytes = shaderc_result_get_length(result);
    if (bytes == 0 || bytes % 4 != 0) return SKY_ERR_INTERNAL;
    uint32_t *copy = malloc(bytes);
    if (!copy) return SKY_ERR_NOMEM;
    memcpy(copy, shaderc_result_get_bytes(result), bytes);
    *words = copy;
    *word_count = bytes / 4;
    return SKY_OK;
}

/* spirv_compile_glsl with a compiler the caller holds. */
static sky_status spirv_compile_with(shaderc_compiler_t compiler, const char *glsl, size_t len,
                                     const char *name, uint32_t **words, size_t *word_count,
                                     char **error) {
    shaderc_compilation_result_t result =
        spirv_run(compiler, glsl, len, name, shaderc_optimization_level_zero);
    sky_status st;
    shaderc_compilation_status status = result ? shaderc_result_get_compilation_status(result)
                                               : shaderc_compilation_status_null_result_object;
    if (status == shaderc_compilation_status_success &&
        shaderc_result_get_length(result) / 4 <= SPIRV_OPTIMIZE_MAX_WORDS) {
        shaderc_result_release(result);
        result = spirv_run(compiler, glsl, len, name, shaderc_optimization_level_performance);
        status = result ? shaderc_result_get_compilation_status(result)
                        : shaderc_compilation_status_null_result_object;
    }
    if (status != shaderc_compilation_status_success) {
        text_buf what = {0};
        text_printf(&what, "shaderc rejected the generated GLSL (%s)",
                         spirv_status_name(status));
        char *w = text_take(&what, NULL);
        st = spirv_fail(error, w ? w : "shaderc rejected the generated GLSL",
                        result ? shaderc_result_get_error_message(result) : NULL, glsl, len);
        free(w);
    } else {
        st = spirv_copy_words(result, words, word_count);
        if (st == SKY_ERR_INTERNAL)
            st = spirv_fail(error, "shaderc returned SPIR-V that is not whole 32-bit words", NULL,
                            glsl, len);
    }
    if (result) shaderc_result_release(result);
    return st;
}

sky_status spirv_compile_glsl(const char *glsl, size_t len, const char *name, uint32_t **words,
                              size_t *word_count, char **error) {
    if (error) *error = NULL;
    if (!glsl || !words || !word_count) return SKY_ERR_INVALID_ARG;
    *words = NULL;
    *word_count = 0;
    shaderc_compiler_t compiler = shaderc_compiler_initialize();
    if (!compiler) return spirv_fail(error, "shaderc could not be initialized", NULL, glsl, len);
    sky_status st = spirv_compile_with(compiler, glsl, len, name, words, word_count, error);
    shaderc_compiler_release(compiler);
    return st;
}

struct sky_spirv_compiler {
    shaderc_compiler_t shaderc;
};

sky_status sky_spirv_compiler_create(sky_spirv_compiler **compiler) {
    if (!compiler) return SKY_ERR_INVALID_ARG;
    *compiler = NULL;
    sky_spirv_compiler *c = malloc(sizeof *c);
    if (!c) return SKY_ERR_NOMEM;
    c->shaderc = shaderc_compiler_initialize();
    if (!c->shaderc) {
        free(c);
        return SKY_ERR_NOMEM; /* shaderc fails to start only without memory */
    }
    *compiler = c;
    return SKY_OK;
}

void sky_spirv_compiler_free(sky_spirv_compiler *compiler) {
    if (!compiler) return;
    shaderc_compiler_release(compiler->shaderc);
    free(compiler);
}

sky_status sky_program_emit_spirv(const sky_program *program, const sky_emit_options *options,
                                  uint32_t **words, size_t *word_count, char **error) {
    return sky_spirv_compiler_emit(NULL, program, options, words, word_count, error);
}

sky_status sky_spirv_compiler_emit(sky_spirv_compiler *compiler, const sky_program *program,
                                   const sky_emit_options *options, uint32_t **words,
                                   size_t *word_count, char **error) {
    if (error) *error = NULL;
    if (!program || !words || !word_count) return SKY_ERR_INVALID_ARG;
    *words = NULL;
    *word_count = 0;
    char *glsl = NULL;
    size_t len = 0;
    sky_status st = sky_program_emit_glsl(program, options, &glsl, &len);
    if (st == SKY_ERR_INTERNAL && error) {
        static const char what[] = "internal compiler error: the compiled program is malformed "
                                   "(this is a bug in Skyscreen, not in the pattern)\n";
        *error = malloc(sizeof what);
        if (*error) memcpy(*error, what, sizeof what);
    }
    if (st != SKY_OK) return st;
    if (compiler)
        st = spirv_compile_with(compiler->shaderc, glsl, len, "sky.comp", words, word_count, error);
    else
        st = spirv_compile_glsl(glsl, len, "sky.comp", words, word_count, error);
    free(glsl);
    return st;
}
