/*
 * program.c - flattening the graph into the two-section program, and the
 * program's public introspection (sky.h) and IR text.
 *
 * Flattening is where rate hoisting happens (SQLite's "run just once"
 * constant factoring, Halide's LICM, Pixelblaze's beforeRender): every node
 * the outputs need is placed by its rate.
 *   - constant and per-frame nodes go to the frame section, run once per
 *     frame in double precision;
 *   - per-LED nodes go to the LED section, run per LED in float;
 *   - where a per-LED node reads a per-frame value, that value crosses the
 *     boundary exactly once, rounded to float: as an OP_UNIFORM (one per
 *     distinct frame node, however many readers), or, for a constant leaf,
 *     as an OP_CONST of the LED section holding the float-rounded value (one
 *     per distinct float).
 * Crossing in exactly one place is what keeps -O0 and -O1 bit-identical: a
 * constant the optimizer folded reaches the LED section as the same float
 * that the unfolded expression, computed per frame in double, would.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio_leaf.h"
#include "graph.h"
#include "pictures.h"
#include "program.h"
#include "text.h"

#define FLAT_NONE UINT32_MAX

/* What flattening decides per graph node. */
enum {
    FLAT_NEEDED = 1u << 0,  /* the outputs depend on it */
    FLAT_FRAME = 1u << 1,   /* computed in the frame section */
    FLAT_UNIFORM = 1u << 2, /* a frame value the LED section reads */
    FLAT_LEDCONST = 1u << 3 /* a constant leaf the LED section reads */
};

typedef struct flat_ctx {
    const graph *g;
    uint32_t n;
    uint8_t *flags;
    uint32_t *fmap; /* node -> frame-section index */
    uint32_t *lmap; /* node -> LED-section index */
    sky_program *p;
} flat_ctx;

static bool node_is_const_leaf(const graph_node *n) {
    return n->op == OP_CONST;
}

/* A per-frame value that a per-LED reader (or an output) needs. */
static void flat_mark_crossing(flat_ctx *f, node_id id) {
    const graph_node *n = graph_get(f->g, id);
    f->flags[id] |= FLAT_NEEDED;
    if (n->rate == RATE_LED) return;
    f->flags[id] |= node_is_const_leaf(n) ? FLAT_LEDCONST : (FLAT_FRAME | FLAT_UNIFORM);
}

/*
 * One sweep from the last node down: every reader of a node has a larger id,
 * so when the sweep reaches a node all its readers have marked it.
 */
static void flat_mark(flat_ctx *f, const node_id out[3]) {
    for (int c = 0; c < 3; c++) flat_mark_crossing(f, out[c]);
    for (node_id id = f->n; id-- > 0;) {
        if (!(f->flags[id] & FLAT_NEEDED)) continue;
        const graph_node *n = graph_get(f->g, id);
        int arity = sky_op_table[n->op].arity;
        for (int k = 0; k < arity; k++) {
            node_id a = n->arg[k];
            if (n->rate == RATE_LED) {
                flat_mark_crossing(f, a);
            } else if (f->flags[id] & FLAT_FRAME) {
                f->flags[a] |= FLAT_NEEDED | FLAT_FRAME;
            }
        }
    }
}

static bool section_alloc(prog_section *s, uint32_t cap) {
    s->insns = calloc(cap ? cap : 1, sizeof *s->insns);
    s->count = 0;
    return s->insns != NULL;
}

static uint32_t section_push(prog_section *s, sky_op op, const uint32_t arg[3], double imm) {
    prog_insn *in = &s->insns[s->count];
    in->op = (uint16_t)op;
    for (int k = 0; k < 3; k++) in->arg[k] = arg ? arg[k] : 0;
    in->imm = imm;
    return s->count++;
}

/* Leaf immediates must be what the evaluator and the emitter expect. */
static bool leaf_imm_valid(const graph_node *n, uint32_t param_slots) {
    if (n->op == OP_PARAM) return n->imm >= 0 && n->imm < param_slots && n->imm == floor(n->imm);
    if (n->op == OP_PREV || n->op == OP_PREV_AT) return n->imm == 0 || n->imm == 1 || n->imm == 2;
    if (n->op == OP_AUDIO) return n->imm >= 0 && n->imm < AUDIO_LEAF_COUNT && n->imm == floor(n->imm);
    return true;
}

static sky_status flat_frame_section(flat_ctx *f, uint32_t param_slots) {
    for (node_id id = 0; id < f->n; id++) {
        if (!(f->flags[id] & FLAT_FRAME)) continue;
        const graph_node *n = graph_get(f->g, id);
        if (n->rate == RATE_LED || !leaf_imm_valid(n, param_slots)) return SKY_ERR_INTERNAL;
        uint32_t arg[3] = {0, 0, 0};
        for (int k = 0; k < sky_op_table[n->op].arity; k++) {
            arg[k] = f->fmap[n->arg[k]];
            if (arg[k] == FLAT_NONE) return SKY_ERR_INTERNAL;
        }
        f->fmap[id] = section_push(&f->p->frame, (sky_op)n->op, arg, n->imm);
    }
    return SKY_OK;
}

static bool same_float_bits(float a, float b) {
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Uniform and constant loads open the LED section, then the per-LED nodes follow. */
static sky_status flat_led_section(flat_ctx *f, uint32_t param_slots) {
    sky_program *p = f->p;
    for (node_id id = 0; id < f->n; id++) {
        if (!(f->flags[id] & FLAT_UNIFORM)) continue;
        uint32_t u = p->uniform_count++;
        p->uniform_src[u] = f->fmap[id];
        f->lmap[id] = section_push(&p->led, OP_UNIFORM, NULL, (double)u);
    }
    uint32_t first_const = p->led.count;
    for (node_id id = 0; id < f->n; id++) {
        if (!(f->flags[id] & FLAT_LEDCONST)) continue;
        float v = (float)graph_get(f->g, id)->imm;
        /* Constants that round to the same float share one instruction. */
        for (uint32_t j = first_const; j < p->led.count && f->lmap[id] == FLAT_NONE; j++)
            if (same_float_bits((float)p->led.insns[j].imm, v)) f->lmap[id] = j;
        if (f->lmap[id] == FLAT_NONE) f->lmap[id] = section_push(&p->led, OP_CONST, NULL, v);
    }
    for (node_id id = 0; id < f->n; id++) {
        const graph_node *n = graph_get(f->g, id);
        if (!(f->flags[id] & FLAT_NEEDED) || n->rate != RATE_LED) continue;
        if (!leaf_imm_valid(n, param_slots)) return SKY_ERR_INTERNAL;
        uint32_t arg[3] = {0, 0, 0};
        for (int k = 0; k < sky_op_table[n->op].arity; k++) {
            arg[k] = f->lmap[n->arg[k]];
            if (arg[k] == FLAT_NONE) return SKY_ERR_INTERNAL;
        }
        f->lmap[id] = section_push(&p->led, (sky_op)n->op, arg, n->imm);
    }
    return SKY_OK;
}

/* Copies the param table and its names out of the compile arena. */
static sky_status flat_params(sky_program *p, const graph_result *in) {
    p->param_count = in->param_count;
    p->param_slots = in->param_slots;
    if (in->param_count == 0) return SKY_OK;
    if (!in->params || in->param_count > SKY_MAX_PARAMS || in->param_slots > SKY_MAX_PARAMS * 3)
        return SKY_ERR_INTERNAL;
    size_t pool = 0;
    for (uint32_t k = 0; k < in->param_count; k++)
        pool += strlen(in->params[k].name ? in->params[k].name : "") + 1;
    p->params = calloc(in->param_count, sizeof *p->params);
    p->name_pool = malloc(pool);
    if (!p->params || !p->name_pool) return SKY_ERR_NOMEM;
    char *at = p->name_pool;
    for (uint32_t k = 0; k < in->param_count; k++) {
        const sky_param_info *src = &in->params[k];
        if (src->type < SKY_TYPE_FLOAT || src->type > SKY_TYPE_VEC3 ||
            src->slot + (uint32_t)src->type > in->param_slots)
            return SKY_ERR_INTERNAL;
        p->params[k] = *src;
        size_t len = strlen(src->name ? src->name : "");
        memcpy(at, src->name ? src->name : "", len + 1);
        p->params[k].name = at;
        at += len + 1;
    }
    return SKY_OK;
}

/* The SKY_INPUT_* bit of a leaf, 0 for others. */
static uint32_t op_input_bit(sky_op op) {
    switch (op) {
    case OP_X:
        return SKY_INPUT_X;
    case OP_Y:
        return SKY_INPUT_Y;
    case OP_R:
        return SKY_INPUT_R;
    case OP_THETA:
        return SKY_INPUT_THETA;
    case OP_Z:
        return SKY_INPUT_Z;
    case OP_STRIP:
        return SKY_INPUT_STRIP;
    case OP_LED:
        return SKY_INPUT_LED;
    case OP_LEDS:
        return SKY_INPUT_LEDS;
    case OP_INDEX:
        return SKY_INPUT_INDEX;
    case OP_PREV:
        return SKY_INPUT_PREV;
    case OP_PREV_AT:
        return SKY_INPUT_PREV_AT;
    case OP_T:
        return SKY_INPUT_T;
    case OP_DT:
        return SKY_INPUT_DT;
    case OP_FRAME:
        return SKY_INPUT_FRAME;
    case OP_STRIPS:
        return SKY_INPUT_STRIPS;
    case OP_COUNT:
        return SKY_INPUT_COUNT;
    case OP_AUDIO:
        return SKY_INPUT_AUDIO;
    default:
        return 0;
    }
}

static void program_scan_inputs(sky_program *p) {
    const prog_section *secs[2] = {&p->frame, &p->led};
    for (int s = 0; s < 2; s++)
        for (uint32_t j = 0; j < secs[s]->count; j++)
            p->inputs |= op_input_bit((sky_op)secs[s]->insns[j].op);
    p->uses_prev = (p->inputs & (SKY_INPUT_PREV | SKY_INPUT_PREV_AT)) != 0;
}

static sky_status flat_run(flat_ctx *f, const graph_result *in) {
    sky_program *p = f->p;
    sky_status st = flat_params(p, in);
    if (st == SKY_OK) st = pictures_copy(p, in);
    if (st != SKY_OK) return st;
    flat_mark(f, in->out);
    uint32_t frame_n = 0, uniform_n = 0, ledconst_n = 0, led_n = 0;
    for (node_id id = 0; id < f->n; id++) {
        frame_n += (f->flags[id] & FLAT_FRAME) != 0;
        uniform_n += (f->flags[id] & FLAT_UNIFORM) != 0;
        ledconst_n += (f->flags[id] & FLAT_LEDCONST) != 0;
        led_n += (f->flags[id] & FLAT_NEEDED) && graph_get(f->g, id)->rate == RATE_LED;
    }
    p->uniform_src = malloc((uniform_n ? uniform_n : 1) * sizeof *p->uniform_src);
    if (!p->uniform_src || !section_alloc(&p->frame, frame_n) ||
        !section_alloc(&p->led, uniform_n + ledconst_n + led_n))
        return SKY_ERR_NOMEM;
    st = flat_frame_section(f, in->param_slots);
    if (st == SKY_OK) st = flat_led_section(f, in->param_slots);
    if (st != SKY_OK) return st;
    for (int c = 0; c < 3; c++) p->out[c] = f->lmap[in->out[c]];
    p->out_is_grey = in->out_is_grey;
    program_scan_inputs(p);
    return SKY_OK;
}

sky_status program_flatten(const graph_result *in, sky_program **program) {
    if (!in || !in->g || !program) return SKY_ERR_INVALID_ARG;
    *program = NULL;
    flat_ctx f = {.g = in->g, .n = graph_count(in->g)};
    for (int c = 0; c < 3; c++)
        if (in->out[c] >= f.n) return SKY_ERR_INTERNAL;
    f.p = calloc(1, sizeof *f.p);
    f.flags = calloc(f.n, sizeof *f.flags);
    f.fmap = malloc((size_t)f.n * sizeof *f.fmap);
    f.lmap = malloc((size_t)f.n * sizeof *f.lmap);
    sky_status st = SKY_ERR_NOMEM;
    if (f.p && f.flags && f.fmap && f.lmap) {
        memset(f.fmap, 0xff, (size_t)f.n * sizeof *f.fmap);
        memset(f.lmap, 0xff, (size_t)f.n * sizeof *f.lmap);
        st = flat_run(&f, in);
    }
    free(f.flags);
    free(f.fmap);
    free(f.lmap);
    if (st != SKY_OK) {
        sky_program_free(f.p);
        return st;
    }
    *program = f.p;
    return SKY_OK;
}

void sky_program_free(sky_program *program) {
    if (!program) return;
    free(program->frame.insns);
    free(program->led.insns);
    free(program->uniform_src);
    free(program->params);
    free(program->name_pool);
    pictures_free(program);
    free(program);
}

/* ---------------------------------------------------------- introspection */

size_t sky_program_param_count(const sky_program *program) {
    return program ? program->param_count : 0;
}

const sky_param_info *sky_program_param(const sky_program *program, size_t i) {
    return program && i < program->param_count ? &program->params[i] : NULL;
}

long sky_program_param_find(const sky_program *program, const char *name) {
    if (!program || !name) return -1;
    for (uint32_t k = 0; k < program->param_count; k++)
        if (strcmp(program->params[k].name, name) == 0) return (long)k;
    return -1;
}

size_t sky_program_param_slots(const sky_program *program) {
    return program ? program->param_slots : 0;
}

void sky_program_param_defaults(const sky_program *program, double *params) {
    if (!program || !params) return;
    for (uint32_t s = 0; s < program->param_slots; s++) params[s] = 0.0;
    for (uint32_t k = 0; k < program->param_count; k++) {
        const sky_param_info *info = &program->params[k];
        for (uint32_t c = 0; c < (uint32_t)info->type && c < 3; c++)
            params[info->slot + c] = info->value[c];
    }
}

uint32_t sky_program_inputs(const sky_program *program) {
    return program ? program->inputs : 0;
}

bool sky_program_uses_prev(const sky_program *program) {
    return program && program->uses_prev;
}

size_t sky_program_uniform_count(const sky_program *program) {
    return program ? program->uniform_count : 0;
}

size_t sky_program_frame_size(const sky_program *program) {
    return program ? program->frame.count : 0;
}

size_t sky_program_led_size(const sky_program *program) {
    return program ? program->led.count : 0;
}

/*
 * The per-LED cost: each instruction of the led section weighted by its COST in
 * ops.def, roughly how many scalar machine operations its GLSL becomes once the
 * helpers of shaders/ are inlined. The numbers only need to be right within a
 * factor of two: the cost ranks patterns and bounds the shader the driver must
 * compile, which grows with it.
 */
uint64_t sky_program_led_cost(const sky_program *program) {
    if (!program) return 0;
    uint64_t cost = 0;
    for (uint32_t i = 0; i < program->led.count; i++)
        cost += sky_op_table[program->led.insns[i].op].cost;
    return cost;
}

/* ---------------------------------------------------------------- IR text */

/* The shortest decimal that reads back as v (as a float when `as_float`). */
static void ir_number(char *out, size_t size, double v, bool as_float) {
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(out, size, "%.*g", digits, v);
        double back = strtod(out, NULL);
        if (as_float ? same_float_bits((float)back, (float)v) : back == v || isnan(v)) {
            if (back == 0 && signbit(back) != signbit(v)) continue;
            return;
        }
    }
}

/* The rates of the frame section's instructions: const unless fed by a frame leaf. */
static uint8_t *ir_frame_rates(const sky_program *p) {
    uint8_t *rate = calloc(p->frame.count ? p->frame.count : 1, 1);
    if (!rate) return NULL;
    for (uint32_t j = 0; j < p->frame.count; j++) {
        const prog_insn *in = &p->frame.insns[j];
        const sky_op_info *info = &sky_op_table[in->op];
        rate[j] = info->leaf_rate >= 0 ? (uint8_t)info->leaf_rate : RATE_CONST;
        for (int k = 0; k < info->arity; k++)
            if (rate[in->arg[k]] > rate[j]) rate[j] = rate[in->arg[k]];
    }
    return rate;
}

static void ir_insn(text_buf *b, const sky_program *p, const prog_insn *in, uint32_t j,
                    const char *rate, bool led) {
    const sky_op_info *info = &sky_op_table[in->op];
    text_printf(b, "%-6s %%%" PRIu32 " = %s", rate, j, info->name);
    for (int k = 0; k < info->arity; k++) text_printf(b, "%s %%%" PRIu32, k ? "," : "", in->arg[k]);
    char num[40];
    switch ((sky_op)in->op) {
    case OP_CONST:
        ir_number(num, sizeof num, in->imm, led);
        text_printf(b, " %s", num);
        break;
    case OP_PARAM: {
        uint32_t slot = (uint32_t)in->imm;
        text_printf(b, " %" PRIu32, slot);
        for (uint32_t k = 0; k < p->param_count; k++) {
            const sky_param_info *pi = &p->params[k];
            if (slot < pi->slot || slot >= pi->slot + (uint32_t)pi->type) continue;
            if (pi->type == SKY_TYPE_FLOAT)
                text_printf(b, "  ; %s", pi->name);
            else
                text_printf(b, "  ; %s.%c", pi->name, "xyz"[slot - pi->slot]);
        }
        break;
    }
    case OP_PREV:
    case OP_PREV_AT:
        text_printf(b, " [%c]", "rgb"[(int)in->imm % 3]);
        break;
    case OP_AUDIO: {
        static const char *const names[] = AUDIO_LEAF_NAMES;
        uint32_t leaf = (uint32_t)in->imm;
        if (leaf < AUDIO_LEAF_BAND0)
            text_printf(b, " %s", names[leaf]);
        else
            text_printf(b, " band %" PRIu32, leaf - AUDIO_LEAF_BAND0);
        break;
    }
    case OP_PIC:
        if ((uint32_t)in->imm / 3 < p->picture_count)
            text_printf(b, " [%c]  ; %s", "rgb"[(int)in->imm % 3],
                        p->pictures[(uint32_t)in->imm / 3].name);
        break;
    case OP_UNIFORM:
        text_printf(b, " u%" PRIu32 "  ; frame %%%" PRIu32, (uint32_t)in->imm,
                  p->uniform_src[(uint32_t)in->imm]);
        break;
    default:
        break;
    }
    text_printf(b, "\n");
}

sky_status sky_program_emit_ir(const sky_program *program, char **text) {
    if (!program || !text) return SKY_ERR_INVALID_ARG;
    *text = NULL;
    uint8_t *rates = ir_frame_rates(program);
    if (!rates) return SKY_ERR_NOMEM;
    static const char *rate_names[] = {"const", "frame", "led"};
    text_buf b = {0};
    text_printf(&b, "; frame section: %" PRIu32 " instructions, once per frame, double precision\n",
              program->frame.count);
    for (uint32_t j = 0; j < program->frame.count; j++)
        ir_insn(&b, program, &program->frame.insns[j], j, rate_names[rates[j]], false);
    text_printf(&b, "; led section: %" PRIu32 " instructions, once per LED, float precision\n",
              program->led.count);
    for (uint32_t j = 0; j < program->led.count; j++)
        ir_insn(&b, program, &program->led.insns[j], j, "led", true);
    text_printf(&b, "; uniforms: %" PRIu32 "\n", program->uniform_count);
    for (uint32_t u = 0; u < program->uniform_count; u++)
        text_printf(&b, "uniform u%" PRIu32 " = frame %%%" PRIu32 "\n", u, program->uniform_src[u]);
    if (program->out_is_grey)
        text_printf(&b, "out grey led %%%" PRIu32 "\n", program->out[0]);
    else
        text_printf(&b, "out rgb led %%%" PRIu32 ", %%%" PRIu32 ", %%%" PRIu32 "\n", program->out[0],
                  program->out[1], program->out[2]);
    free(rates);
    *text = text_take(&b, NULL);
    return *text ? SKY_OK : SKY_ERR_NOMEM;
}
