/*
 * ops.c - the static facts about every operator, generated from ops.def.
 *
 * The graph builder (arity, leaf rates), the verifier (result kinds), the IR
 * printer (names) and the GLSL emitter (templates) read this table; the
 * kernels come from the same X-macro rows in eval.c, so there is no second
 * list of operators to keep in step.
 */
#include "ops.h"

#define OPS_RESULT_NUM  RESULT_NUM
#define OPS_RESULT_BOOL RESULT_BOOL
#define OPS_LEAF_CONST  RATE_CONST
#define OPS_LEAF_FRAME  RATE_FRAME
#define OPS_LEAF_LED    RATE_LED
#define OPS_LEAF_VARY   (-1)

const sky_op_info sky_op_table[OP__COUNT] = {
#define X(id, name, arity, result, leaf, glsl, kernel, cost) \
    [OP_##id] = {name, arity, OPS_RESULT_##result, OPS_LEAF_##leaf, glsl, cost},
#include "ops.def"
#undef X
};
