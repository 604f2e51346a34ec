/*
 * opt.h - the optimizer (opt.c) and the back end's entry point.
 *
 * backend_build is the whole back end as the pipeline sees it: simplify the
 * checker's graph, then flatten it (program_flatten), so that compile.c and
 * the tests build programs from graphs through one call.
 */
#ifndef SKY_OPT_H
#define SKY_OPT_H

#include "arena.h"
#include "graph.h"
#include "program.h"

/*
 * Optimizes (opt_level >= 1: simplification passes to a fixpoint, verified
 * after each when options->verify_graph) and flattens into a malloc'd
 * sky_program.
 */
sky_status backend_build(arena *a, const graph_result *in, const sky_compile_options *options,
                         sky_program **program);

#endif
