/*
 * compile.c - sky_compile, the pipeline, and the public diagnostics API.
 *
 *   size check -> lex -> parse -> check (lower to the scalar graph)
 *              -> backend_build (optimize, flatten into a sky_program)
 *
 * Every phase allocates in one arena that is freed before returning; only
 * the program and the diagnostics are copied out with malloc. The front end
 * keeps going after an error where it can (the parser recovers at the next
 * declaration, the checker passes error values on silently), so one run
 * reports several independent errors; the back end runs only on a program
 * without errors.
 */
#include <stdlib.h>

#include "ast.h"
#include "check.h"
#include "diag.h"
#include "graph.h"
#include "lex.h"
#include "opt.h"

void sky_compile_options_init(sky_compile_options *options) {
    if (!options) return;
    options->opt_level = 1;
#ifdef SKY_GRAPH_VERIFY
    options->verify_graph = true;
#else
    options->verify_graph = false;
#endif
}

/* examples/clouds.sky, the costliest example (sky_program_led_cost), for the warning's ratio. */
#define COMPILE_COSTLIEST_EXAMPLE 2036.0

/* The cost is known only after optimization: a reduction whose terms fold away costs nothing. */
static void compile_warn_cost(diag_list *d, const sky_program *program) {
    uint64_t cost = sky_program_led_cost(program);
    if (cost <= SKY_LED_COST_WARN) return;
    diag_warning(d, W_COSTLY, DIAG_NO_POS, DIAG_NO_POS,
                 "every noise call costs about 400, an fbm octave one noise call, and a "
                 "reduction repeats its body once per step: lower fbm octaves and reduction "
                 "bounds",
                 "this pattern costs about %llu operations per LED, %.0fx the costliest example "
                 "(clouds.sky); above %u `sky run` refuses it",
                 (unsigned long long)cost, (double)cost / COMPILE_COSTLIEST_EXAMPLE,
                 SKY_LED_COST_MAX);
}

static sky_status run_pipeline(arena *a, diag_list *d, const char *source, size_t len,
                               const sky_compile_options *options, sky_program **program) {
    if (len > SKY_MAX_SOURCE_BYTES) {
        diag_error(d, E_LIMIT_SOURCE, DIAG_NO_POS, DIAG_NO_POS,
                   "a pattern is a short program; generate large tables outside it",
                   "source is %zu bytes; the limit is %u bytes (1 MiB)", len,
                   (unsigned)SKY_MAX_SOURCE_BYTES);
        return SKY_ERR_COMPILE;
    }
    token_list tokens;
    if (!lex_source(a, d, source, len, &tokens)) return SKY_ERR_NOMEM;
    ast_program prog;
    if (!parse_program(a, d, source, &tokens, &prog)) return SKY_ERR_NOMEM;
    graph_result result;
    sky_status status = check_program(a, d, &prog, &result);
    if (status != SKY_OK) return status;
    status = backend_build(a, &result, options, program);
    if (status == SKY_OK) compile_warn_cost(d, *program);
    if (status != SKY_OK) {
        *program = NULL;
        diag_error(d, E_INTERNAL, DIAG_NO_POS, DIAG_NO_POS,
                   "please report this with the pattern that triggered it",
                   "internal compiler error in the back end: %s", sky_status_str(status));
    }
    return status;
}

sky_status sky_compile(const char *filename, const char *source, size_t len,
                       const sky_compile_options *options, sky_program **program,
                       sky_diagnostics **diagnostics) {
    if (diagnostics) *diagnostics = NULL;
    if (!program || (!source && len > 0)) return SKY_ERR_INVALID_ARG;
    *program = NULL;
    sky_compile_options defaults;
    if (!options) {
        sky_compile_options_init(&defaults);
        options = &defaults;
    }
    arena a;
    arena_init(&a);
    diag_list d;
    diag_init(&d, &a, filename, source ? source : "", len);
    sky_status status = run_pipeline(&a, &d, source ? source : "", len, options, program);
    if (d.nomem) status = SKY_ERR_NOMEM;
    if (status == SKY_ERR_NOMEM && *program) {
        sky_program_free(*program);
        *program = NULL;
    }
    if (diagnostics) {
        if (diag_export(&d, diagnostics) != SKY_OK) {
            /* Keep at least the fact that it failed, if a small allocation still works. */
            *diagnostics = diag_export_plain(filename, E_INTERNAL, "out of memory");
            sky_program_free(*program);
            *program = NULL;
            status = SKY_ERR_NOMEM;
        }
    }
    arena_free(&a);
    return status;
}

/* ------------------------------------------------------------ diagnostics */

size_t sky_diagnostics_count(const sky_diagnostics *diagnostics) {
    return diagnostics ? diagnostics->count : 0;
}

size_t sky_diagnostics_error_count(const sky_diagnostics *diagnostics) {
    return diagnostics ? diagnostics->errors : 0;
}

const sky_diag *sky_diagnostics_get(const sky_diagnostics *diagnostics, size_t i) {
    return diagnostics && i < diagnostics->count ? &diagnostics->items[i].pub : NULL;
}

sky_status sky_diagnostics_render(const sky_diagnostics *diagnostics, bool color, char **text) {
    if (!text) return SKY_ERR_INVALID_ARG;
    *text = NULL;
    return diag_render(diagnostics, color, text);
}

void sky_diagnostics_free(sky_diagnostics *diagnostics) {
    diag_export_free(diagnostics);
}

void sky_free(void *memory) {
    free(memory);
}
