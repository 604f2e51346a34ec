/*
 * ops.h - the operator table: every scalar operation of the graph and of
 * programs, with its arity, result kind, leaf rate, GLSL template and cost.
 *
 * The rows come from ops.def (X-macro), so the enum here, the table in
 * ops.c and the kernels in eval.c cannot fall out of step. Rates order the
 * three places a value can be computed: a node's rate is the highest of its
 * operands', leaves take theirs from the table.
 */
#ifndef SKY_OPS_H
#define SKY_OPS_H

#include <stddef.h>
#include <stdint.h>

typedef enum sky_op {
#define X(id, name, arity, result, leaf, glsl, kernel, cost) OP_##id,
#include "ops.def"
#undef X
    OP__COUNT
} sky_op;

typedef enum sky_rate { RATE_CONST = 0, RATE_FRAME = 1, RATE_LED = 2 } sky_rate;
typedef enum sky_result { RESULT_NUM, RESULT_BOOL } sky_result;

/* Static facts about each op, generated from ops.def (ops.c). */
typedef struct sky_op_info {
    const char *name;
    uint8_t arity;
    uint8_t result;   /* sky_result */
    int8_t leaf_rate; /* sky_rate for leaves, -1 for operations */
    const char *glsl; /* template, NULL for leaves */
    uint16_t cost;    /* weight in the per-LED cost */
} sky_op_info;

extern const sky_op_info sky_op_table[OP__COUNT];

#endif
