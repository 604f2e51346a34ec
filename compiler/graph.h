/*
 * graph.h - the hash-consed scalar DAG between the checker and the back end.
 *
 * The checker (check.c, lower.c) lowers a type-checked program into this
 * graph: every `fn` inlined, every reduction unrolled, every vector split
 * into scalar nodes. Nodes are hash-consed at creation (same op, operands
 * and immediate give the same node), so common subexpressions are shared for
 * free. Each node's rate (constant, per-frame, per-LED) is computed at
 * creation as the highest rate of its operands (leaves take theirs from
 * ops.def).
 *
 * Construction never simplifies: the optimizer (opt.c) does that in passes,
 * so that -O0 compiles exactly what was written.
 *
 * The back end takes a graph_result: the graph, the three output roots and
 * the param table. opt.h simplifies it (backend_build), program.h flattens
 * it into the flat sky_program, eval.h evaluates its constant nodes.
 */
#ifndef SKY_GRAPH_H
#define SKY_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "ops.h"
#include "sky/picture.h"
#include "sky/sky.h"

typedef uint32_t node_id;
#define GRAPH_NONE ((node_id)UINT32_MAX) /* "no operand", and the failure result of graph_add */

typedef struct graph_node {
    uint16_t op;  /* sky_op */
    uint8_t rate; /* sky_rate */
    uint8_t pad;
    node_id arg[3]; /* GRAPH_NONE past the op's arity */
    double imm;     /* CONST value, PARAM slot, PREV/PREV_AT channel; 0 otherwise */
} graph_node;

typedef struct graph graph;

/* A graph in arena `a`, holding at most `max_nodes` nodes (SKY_MAX_NODES). NULL on no memory. */
graph *graph_create(arena *a, uint32_t max_nodes);

/*
 * The node (op, a, b, c, imm), created or found. Unused operands are
 * GRAPH_NONE. Returns GRAPH_NONE when the node limit is reached or memory
 * runs out; graph_full() tells which, so the checker can report the limit.
 * CONST nodes are keyed by the bits of imm, so 0.0 and -0.0 stay distinct and
 * every NaN payload is its own constant.
 */
node_id graph_add(graph *g, sky_op op, node_id a, node_id b, node_id c, double imm);
node_id graph_const(graph *g, double value);
bool graph_full(const graph *g);

uint32_t graph_count(const graph *g);
const graph_node *graph_get(const graph *g, node_id id);

/* What the checker hands to the back end. */
typedef struct graph_result {
    graph *g;
    node_id out[3]; /* red, green, blue roots (all three equal for a grey `out`) */
    bool out_is_grey;
    sky_param_info *params; /* in the arena; names in the arena too */
    uint32_t param_count;
    uint32_t param_slots;
    sky_picture_info *pictures; /* in the arena, strings too */
    uint32_t picture_count;
} graph_result;

/* Checks the graph's invariants (operand order, arity, result kinds, rates). False on a bug. */
bool graph_verify(const graph *g, const char **why);

/*
 * True when node `id` always holds 0 or 1 (+0.0, never -0.0): a comparison
 * or logic op, a constant 0 or 1, or a select between two such nodes. The
 * verifier demands it where ops.def's logic ops expect a bool; the optimizer
 * uses it to keep its bool rewrites exact.
 */
bool graph_is_bool(const graph *g, node_id id);

#endif
