/*
 * check.h - names, types, fn inlining and reduction unrolling -> scalar graph.
 *
 * The checker walks the declarations in order. It resolves every name (each
 * declaration sees only what comes before it), checks types, and lowers the
 * program into the hash-consed scalar graph of graph.h: vectors become one to
 * three node ids, functions are inlined at each call with their argument
 * types, reductions are unrolled, and built-ins are expanded into ops.def
 * rows. The result is what backend_build takes.
 */
#ifndef SKY_CHECK_H
#define SKY_CHECK_H

#include "arena.h"
#include "ast.h"
#include "diag.h"
#include "graph.h"

/*
 * Checks and lowers `prog`. Errors go to `d`. Returns SKY_OK with *out filled
 * (graph and params in the arena), SKY_ERR_COMPILE when the program has
 * errors, SKY_ERR_NOMEM when memory ran out.
 */
sky_status check_program(arena *a, diag_list *d, const ast_program *prog, graph_result *out);

#endif
