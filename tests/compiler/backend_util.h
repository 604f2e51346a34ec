/*
 * backend_util.h - helpers for the back-end tests: build a graph by hand
 * (as the checker would), turn it into a program, run it on a small layout.
 *
 * Header-only (static inline) so each test binary takes what it uses.
 */
#ifndef SKY_TEST_BACKEND_UTIL_H
#define SKY_TEST_BACKEND_UTIL_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "opt.h"
#include "sky/abi.h"

/* A graph under construction plus its param table. */
typedef struct tb {
    arena a;
    graph *g;
    sky_param_info params[SKY_MAX_PARAMS];
    uint32_t param_count, param_slots;
} tb;

static inline void tb_init(tb *t) {
    memset(t, 0, sizeof *t);
    arena_init(&t->a);
    t->g = graph_create(&t->a, SKY_MAX_NODES);
}

static inline void tb_free(tb *t) {
    arena_free(&t->a);
}

static inline node_id tb_c(tb *t, double v) {
    return graph_const(t->g, v);
}
static inline node_id tb_leaf(tb *t, sky_op op, double imm) {
    return graph_add(t->g, op, GRAPH_NONE, GRAPH_NONE, GRAPH_NONE, imm);
}
static inline node_id tb_1(tb *t, sky_op op, node_id a) {
    return graph_add(t->g, op, a, GRAPH_NONE, GRAPH_NONE, 0);
}
static inline node_id tb_2(tb *t, sky_op op, node_id a, node_id b) {
    return graph_add(t->g, op, a, b, GRAPH_NONE, 0);
}
static inline node_id tb_3(tb *t, sky_op op, node_id a, node_id b, node_id c) {
    return graph_add(t->g, op, a, b, c, 0);
}

/* A float param; returns its PARAM node. */
static inline node_id tb_param(tb *t, const char *name, double value, bool ranged, double lo,
                               double hi) {
    sky_param_info *p = &t->params[t->param_count++];
    p->name = name;
    p->type = SKY_TYPE_FLOAT;
    p->slot = t->param_slots++;
    p->value[0] = value;
    p->has_range = ranged;
    p->min = lo;
    p->max = hi;
    return tb_leaf(t, OP_PARAM, p->slot);
}

/* Builds the program with out = (r, g, b), verifying the graph after every pass. */
static inline sky_status tb_build(tb *t, node_id r, node_id g, node_id b, int opt_level,
                                  sky_program **program) {
    graph_result res = {.g = t->g,
                        .out = {r, g, b},
                        .out_is_grey = r == g && g == b,
                        .params = t->params,
                        .param_count = t->param_count,
                        .param_slots = t->param_slots};
    sky_compile_options opt = {.opt_level = opt_level, .verify_graph = true};
    return backend_build(&t->a, &res, &opt, program);
}

/* A disc of `strips` radial strips of `leds` LEDs each, as the runtime's layouts give. */
typedef struct tb_layout {
    sky_layout_view view;
    uint32_t *sizes;
    float *xy;
    sky_led_input *inputs;
} tb_layout;

static inline bool tb_layout_disc(tb_layout *l, uint32_t strips, uint32_t leds) {
    memset(l, 0, sizeof *l);
    uint32_t n = strips * leds;
    l->sizes = malloc((strips + 1) * sizeof *l->sizes);
    l->xy = malloc((2 * (size_t)n + 1) * sizeof *l->xy);
    l->inputs = malloc(((size_t)n + 1) * sizeof *l->inputs);
    if (!l->sizes || !l->xy || !l->inputs) return false;
    for (uint32_t s = 0; s < strips; s++) {
        l->sizes[s] = leds;
        double angle = 6.283185307179586 * s / strips;
        for (uint32_t k = 0; k < leds; k++) {
            double radius = (k + 0.5) / leds;
            l->xy[2 * (s * leds + k)] = (float)(radius * cos(angle));
            l->xy[2 * (s * leds + k) + 1] = (float)(radius * sin(angle));
        }
    }
    l->view = (sky_layout_view){
        .led_count = n, .strip_count = strips, .strip_sizes = l->sizes, .xy = l->xy};
    return sky_led_inputs_build(&l->view, l->inputs) == SKY_OK;
}

static inline void tb_layout_free(tb_layout *l) {
    free(l->sizes);
    free(l->xy);
    free(l->inputs);
}

/* One frame of `p` on layout `l` into rgb (led_count * 3 floats). */
static inline sky_status tb_eval(const sky_program *p, const tb_layout *l, double t, uint64_t frame,
                                 const double *params, const float *prev, float *rgb) {
    sky_frame_inputs in = {.t = t, .dt = frame ? 1.0 / 60 : 0, .frame = frame, .params = params};
    return sky_program_eval(p, &l->view, l->inputs, &in, prev, rgb, NULL);
}

#endif
