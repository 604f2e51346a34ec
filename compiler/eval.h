/*
 * eval.h - the CPU evaluator's internal entry points (eval.c).
 *
 * The public evaluator (sky_program_eval*, sky.h) runs whole programs; these
 * run one operation or one constant node with the same kernels, so that the
 * constant folder, the checker's param defaults and the tests compute
 * exactly what the host computes per frame.
 */
#ifndef SKY_EVAL_H
#define SKY_EVAL_H

#include <stdbool.h>

#include "graph.h"
#include "ops.h"

/*
 * One operation of ops.def on scalars, through the same KERNEL column as the
 * batch evaluator: the constant folder and eval_graph_const use the double
 * one (the per-frame precision), tests use both. Leaves and prev_at have no
 * kernel and give 0.
 */
double kernel_apply_d(sky_op op, double a, double b, double c);
float kernel_apply_f(sky_op op, float a, float b, float c);

/*
 * Evaluates a node of rate RATE_CONST in double precision with the
 * evaluator's own kernels. The checker uses it for param defaults.
 * False when the node is not constant.
 */
bool eval_graph_const(const graph *g, node_id id, double *value);

#endif
