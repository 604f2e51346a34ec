/*
 * program.h - the compiled result: a flat, index-based, immutable program.
 *
 * The optimizer's graph (a hash-consed DAG in the compile arena) is flattened
 * into two sections of SSA instructions, each instruction producing one
 * scalar value at its own index:
 *
 *   frame section  every constant and per-frame node, run once per frame on
 *                  the host in double precision (t, dt, frame, params, strips,
 *                  count, and everything computed only from them);
 *   led section    every per-LED node, run for each LED in float precision on
 *                  the GPU (emitted GLSL) or on the CPU (the evaluator).
 *
 * The led section reads per-frame values through OP_UNIFORM instructions
 * (imm = index u into uniforms[]); uniforms[u] is frame value uniform_src[u]
 * rounded to float. Constants that only the led section uses are OP_CONST
 * instructions of the led section (imm rounded to float there). Operands
 * always refer to earlier instructions of the same section, so each section
 * can be run front to back. This file is internal to compiler/; the public
 * view of a program is sky/sky.h.
 */
#ifndef SKY_PROGRAM_H
#define SKY_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops.h"
#include "sky/picture.h"
#include "sky/sky.h"

typedef struct prog_insn {
    uint16_t op; /* sky_op */
    uint16_t pad;
    uint32_t arg[3]; /* operand instruction indices in the same section */
    double imm;      /* CONST value, PARAM slot, PREV/PREV_AT channel, UNIFORM index */
} prog_insn;

typedef struct prog_section {
    prog_insn *insns;
    uint32_t count;
} prog_section;

struct sky_program {
    prog_section frame;    /* double precision, once per frame */
    prog_section led;      /* float precision, once per LED */
    uint32_t *uniform_src; /* uniform u = frame value uniform_src[u] */
    uint32_t uniform_count;
    uint32_t out[3]; /* led-section indices of the final r, g, b (equal for grey) */
    bool out_is_grey;
    sky_param_info *params;
    uint32_t param_count;
    uint32_t param_slots;
    uint32_t inputs; /* SKY_INPUT_* bits */
    bool uses_prev;
    char *name_pool; /* storage for param names */
    sky_picture_info *pictures; /* declared picture inputs (sky/picture.h), with their strings */
    uint32_t picture_count;
};

/* Flattens an (optimized) graph of graph.h into the two-section program. */
struct graph_result;
sky_status program_flatten(const struct graph_result *in, sky_program **program);

#endif
