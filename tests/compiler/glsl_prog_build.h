/*
 * glsl_prog_build.h - hand-built sky_programs for the GLSL and SPIR-V tests.
 *
 * The shader back end's input is the flat program of compiler/program.h; these
 * helpers build one directly, instruction by instruction, so the emitter can
 * be tested on shapes the front end may never produce (heavy sharing, long
 * chains, every op, malformed programs) and without depending on it.
 */
#ifndef GLSL_PROG_BUILD_H
#define GLSL_PROG_BUILD_H

#include <stdlib.h>
#include <string.h>

#include "program.h"
#include "sky/abi.h"

typedef struct test_prog {
    sky_program p;
    uint32_t cap;
} test_prog;

static inline void test_prog_init(test_prog *t) {
    memset(t, 0, sizeof *t);
}

static inline void test_prog_free(test_prog *t) {
    free(t->p.led.insns);
    memset(t, 0, sizeof *t);
}

/* Appends an instruction and returns its index; aborts the test binary on no memory. */
static inline uint32_t test_insn(test_prog *t, sky_op op, uint32_t a, uint32_t b, uint32_t c,
                                 double imm) {
    prog_section *s = &t->p.led;
    if (s->count == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        s->insns = realloc(s->insns, t->cap * sizeof *s->insns);
        if (!s->insns) abort();
    }
    prog_insn *in = &s->insns[s->count];
    memset(in, 0, sizeof *in);
    in->op = (uint16_t)op;
    in->arg[0] = a;
    in->arg[1] = b;
    in->arg[2] = c;
    in->imm = imm;
    if (op == OP_UNIFORM && imm + 1 > t->p.uniform_count) t->p.uniform_count = (uint32_t)imm + 1;
    if (op == OP_PREV || op == OP_PREV_AT) t->p.uses_prev = true;
    if (op == OP_PIC && t->p.picture_count == 0) t->p.picture_count = 1; /* picture 0 */
    return s->count++;
}

static inline uint32_t test_leaf(test_prog *t, sky_op op) {
    return test_insn(t, op, 0, 0, 0, 0);
}
static inline uint32_t test_const(test_prog *t, double v) {
    return test_insn(t, OP_CONST, 0, 0, 0, v);
}
static inline uint32_t test_op1(test_prog *t, sky_op op, uint32_t a) {
    return test_insn(t, op, a, 0, 0, 0);
}
static inline uint32_t test_op2(test_prog *t, sky_op op, uint32_t a, uint32_t b) {
    return test_insn(t, op, a, b, 0, 0);
}

static inline void test_out(test_prog *t, uint32_t r, uint32_t g, uint32_t b) {
    t->p.out[0] = r;
    t->p.out[1] = g;
    t->p.out[2] = b;
    t->p.out_is_grey = false;
}

static inline void test_out_grey(test_prog *t, uint32_t v) {
    test_out(t, v, v, v);
    t->p.out_is_grey = true;
}

/* A program applying `op` to leaves: x, y and r (by arity), its result as red. */
static inline void test_prog_one_op(test_prog *t, sky_op op) {
    test_prog_init(t);
    uint32_t x = test_leaf(t, OP_X), y = test_leaf(t, OP_Y), r = test_leaf(t, OP_R);
    uint32_t v;
    const sky_op_info *info = &sky_op_table[op];
    if (info->arity == 0) {
        double imm = op == OP_CONST ? 0.25 : 0; /* channel 0, uniform 0 */
        v = test_insn(t, op, 0, 0, 0, imm);
    } else {
        v = test_insn(t, op, x, y, r, op == OP_PREV_AT ? 1 : 0);
    }
    test_out(t, v, x, y);
}

#endif
