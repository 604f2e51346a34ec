/*
 * eval.c - the CPU reference evaluator.
 *
 * A program runs in two steps, as on the GPU: the frame section once per
 * frame in double precision (sky_program_eval_frame), whose hoisted values
 * become float uniforms, then the LED section for every LED in float
 * (sky_program_eval_leds). The LED section is interpreted one instruction at
 * a time over a batch of EVAL_BATCH LEDs, so the cost of dispatching an
 * instruction is paid once per batch and each kernel runs as a tight loop the
 * C compiler can vectorise. Registers are batch-wide float arrays assigned by
 * a linear scan over the instructions' last uses, so a long program still
 * works in a few cache-resident registers.
 *
 * Every kernel comes from the KERNEL column of ops.def (expanded below with
 * T, A, B, C, F() and K() defined per precision), the same code the constant
 * folder runs through kernel_apply_d, so folding never changes a result.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "audio_leaf.h"
#include "graph.h"
#include "kernels.h"
#include "program.h"
#include "picture_sample.h"
#include "sky/abi.h"

#define EVAL_BATCH 256u
#define EVAL_NONE  UINT32_MAX

/* ---------------------------------------------------- kernels from ops.def */

/* Leaves have no kernel; only the VARY rows expand into cases. */
#define EVAL_LEAF_CONST(op, kernel)
#define EVAL_LEAF_FRAME(op, kernel)
#define EVAL_LEAF_LED(op, kernel)
#define X(id, name, arity, result, leaf, glsl, kernel, cost) EVAL_LEAF_##leaf(OP_##id, kernel)

double kernel_apply_d(sky_op op, double a, double b, double c) {
#define T       double
#define A       a
#define B       b
#define C       c
#define F(fn)   fn
#define K(name) kernel_##name##_d
#define EVAL_LEAF_VARY(op, kernel) \
    case op:                       \
        return kernel;
    switch (op) {
#include "ops.def"
    default:
        break;
    }
    (void)b, (void)c;
    return 0;
#undef T
#undef A
#undef B
#undef C
#undef F
#undef K
#undef EVAL_LEAF_VARY
}

float kernel_apply_f(sky_op op, float a, float b, float c) {
#define T       float
#define A       a
#define B       b
#define C       c
#define F(fn)   fn##f
#define K(name) kernel_##name##_f
#define EVAL_LEAF_VARY(op, kernel) \
    case op:                       \
        return kernel;
    switch (op) {
#include "ops.def"
    default:
        break;
    }
    (void)b, (void)c;
    return 0;
#undef T
#undef A
#undef B
#undef C
#undef F
#undef K
#undef EVAL_LEAF_VARY
}

/*
 * One operation over n LEDs: d[i] = kernel(a[i], b[i], c[i]). Operands past
 * the op's arity are NULL and never read. Returns false for an op that has
 * no kernel (leaves, prev_at), which the caller handles itself.
 */
static bool eval_batch_op(sky_op op, uint32_t n, float *restrict d, const float *restrict a,
                          const float *restrict b, const float *restrict c) {
#define T       float
#define A       a[i]
#define B       b[i]
#define C       c[i]
#define F(fn)   fn##f
#define K(name) kernel_##name##_f
#define EVAL_LEAF_VARY(op, kernel)                      \
    case op:                                            \
        for (uint32_t i = 0; i < n; i++) d[i] = kernel; \
        return true;
    if (op == OP_PREV_AT || op == OP_PIC) return false;
    switch (op) {
#include "ops.def"
    default:
        break;
    }
    (void)b, (void)c;
    return false;
#undef T
#undef A
#undef B
#undef C
#undef F
#undef K
#undef EVAL_LEAF_VARY
}
#undef X

/* ------------------------------------------------------------ LED inputs */

#define EVAL_TAU 6.28318530717958647692

/* theta = atan2(y, x) in [0, tau), in double, rounded once and kept below float(tau). */
static float led_theta(double x, double y) {
    double th = atan2(y, x);
    if (th < 0) th += EVAL_TAU;
    th += 0.0; /* -0 -> +0 */
    float f = (float)th;
    const float tau_f = (float)EVAL_TAU;
    if (f >= tau_f) f = nextafterf(tau_f, 0.0f);
    return f;
}

/* True when the strip sizes add up to the LED count, as prev(s, l) relies on. */
static bool layout_consistent(const sky_layout_view *layout) {
    uint64_t total = 0;
    for (uint32_t s = 0; s < layout->strip_count; s++) total += layout->strip_sizes[s];
    return total == layout->led_count;
}

sky_status sky_led_inputs_build(const sky_layout_view *layout, sky_led_input *inputs) {
    if (!layout || (!inputs && layout->led_count) ||
        (layout->strip_count && !layout->strip_sizes) || (layout->led_count && !layout->xy))
        return SKY_ERR_INVALID_ARG;
    if (!layout_consistent(layout)) return SKY_ERR_INVALID_ARG;
    for (uint32_t i = 0; i < layout->led_count; i++)
        if (!isfinite(layout->xy[2 * i]) || !isfinite(layout->xy[2 * i + 1]) ||
            (layout->z && !isfinite(layout->z[i])))
            return SKY_ERR_INVALID_ARG;

    uint32_t i = 0;
    for (uint32_t s = 0; s < layout->strip_count; s++) {
        uint32_t first = i;
        for (uint32_t l = 0; l < layout->strip_sizes[s]; l++, i++) {
            double x = layout->xy[2 * i], y = layout->xy[2 * i + 1];
            inputs[i] = (sky_led_input){
                .x = (float)x,
                .y = (float)y,
                .r = (float)sqrt(x * x + y * y),
                .theta = led_theta(x, y),
                .strip = s,
                .led = l,
                .leds = layout->strip_sizes[s],
                .strip_first = first,
                .z = layout->z ? layout->z[i] : 0.0f,
            };
        }
    }
    return SKY_OK;
}

/* ----------------------------------------------------------- frame section */

/* The params' values for this frame: given or default, ranged ones clamped (NaN -> default). */
static void frame_params(const sky_program *p, const double *given, double *out) {
    sky_program_param_defaults(p, out);
    if (!given) return;
    for (uint32_t k = 0; k < p->param_count; k++) {
        const sky_param_info *info = &p->params[k];
        for (uint32_t c = 0; c < (uint32_t)info->type && c < 3; c++) {
            double v = given[info->slot + c];
            if (info->has_range) {
                if (isnan(v)) continue; /* keep the default */
                v = v < info->min ? info->min : (v > info->max ? info->max : v);
            }
            out[info->slot + c] = v;
        }
    }
}

/* The value of a frame-section leaf. False for a per-LED leaf (a compiler bug). */
static bool frame_leaf(const prog_insn *in, const double *params, uint32_t param_slots,
                       const sky_layout_view *layout, const sky_frame_inputs *frame, double *v) {
    switch ((sky_op)in->op) {
    case OP_CONST:
        *v = in->imm;
        return true;
    case OP_PARAM:
        if (!(in->imm >= 0 && in->imm < param_slots)) return false;
        *v = params[(uint32_t)in->imm];
        return true;
    case OP_T:
        *v = frame->t;
        return true;
    case OP_DT:
        *v = frame->dt;
        return true;
    case OP_FRAME:
        *v = (double)frame->frame;
        return true;
    case OP_STRIPS:
        *v = layout->strip_count;
        return true;
    case OP_COUNT:
        *v = layout->led_count;
        return true;
    case OP_AUDIO:
        *v = audio_leaf_value(frame->audio, (unsigned)in->imm);
        return true;
    default:
        return false;
    }
}

/* Runs the frame section into vals[0 .. frame.count). */
static sky_status frame_run(const sky_program *p, const sky_layout_view *layout,
                            const sky_frame_inputs *frame, double *vals) {
    double params[SKY_MAX_PARAMS * 3];
    if (p->param_slots > SKY_MAX_PARAMS * 3) return SKY_ERR_INTERNAL;
    frame_params(p, frame->params, params);
    for (uint32_t j = 0; j < p->frame.count; j++) {
        const prog_insn *in = &p->frame.insns[j];
        if (in->op >= OP__COUNT) return SKY_ERR_INTERNAL;
        if (sky_op_table[in->op].arity == 0) {
            if (!frame_leaf(in, params, p->param_slots, layout, frame, &vals[j]))
                return SKY_ERR_INTERNAL;
            continue;
        }
        if (in->op == OP_PREV_AT || in->op == OP_PIC) return SKY_ERR_INTERNAL;
        int arity = sky_op_table[in->op].arity;
        double a = vals[in->arg[0]];
        double b = arity > 1 ? vals[in->arg[1]] : 0;
        double c = arity > 2 ? vals[in->arg[2]] : 0;
        vals[j] = kernel_apply_d((sky_op)in->op, a, b, c);
    }
    return SKY_OK;
}

sky_status sky_program_eval_frame(const sky_program *program, const sky_layout_view *layout,
                                  const sky_frame_inputs *frame, float *uniforms) {
    if (!program || !layout || !frame || (!uniforms && program->uniform_count))
        return SKY_ERR_INVALID_ARG;
    double *vals = malloc(((size_t)program->frame.count + 1) * sizeof *vals);
    if (!vals) return SKY_ERR_NOMEM;
    sky_status st = frame_run(program, layout, frame, vals);
    if (st == SKY_OK)
        for (uint32_t u = 0; u < program->uniform_count; u++)
            uniforms[u] = (float)vals[program->uniform_src[u]];
    free(vals);
    return st;
}

/* ------------------------------------------------------------- LED section */

/*
 * Where each instruction's values live during a batch: slot[j] is its
 * register. Constants and uniforms are the same for every LED, so they get
 * registers of their own, filled once per call; every other register is
 * reused once the last instruction reading it has run.
 */
typedef struct eval_plan {
    uint32_t *slot;
    uint32_t slot_count;
    bool *fixed; /* per instruction: a constant or uniform, filled once */
} eval_plan;

static bool insn_is_fixed(const prog_insn *in) {
    return in->op == OP_CONST || in->op == OP_UNIFORM;
}

static sky_status plan_build(const sky_program *p, eval_plan *plan) {
    uint32_t n = p->led.count;
    uint32_t *last_use = malloc((size_t)n * sizeof *last_use);
    uint32_t *free_slots = malloc((size_t)n * sizeof *free_slots);
    plan->slot = malloc((size_t)n * sizeof *plan->slot);
    plan->fixed = malloc((size_t)n * sizeof *plan->fixed);
    plan->slot_count = 0;
    sky_status st = SKY_ERR_NOMEM;
    if (!last_use || !free_slots || !plan->slot || !plan->fixed) goto done;

    st = SKY_ERR_INTERNAL;
    for (uint32_t j = 0; j < n; j++) last_use[j] = EVAL_NONE;
    for (uint32_t j = 0; j < n; j++) {
        const prog_insn *in = &p->led.insns[j];
        if (in->op >= OP__COUNT) goto done;
        for (int k = 0; k < sky_op_table[in->op].arity; k++) {
            if (in->arg[k] >= j) goto done;
            last_use[in->arg[k]] = j;
        }
    }
    for (int c = 0; c < 3; c++) {
        if (p->out[c] >= n) goto done;
        last_use[p->out[c]] = UINT32_MAX - 1; /* live to the end */
    }

    uint32_t free_count = 0;
    for (uint32_t j = 0; j < n; j++) {
        const prog_insn *in = &p->led.insns[j];
        plan->fixed[j] = insn_is_fixed(in);
        plan->slot[j] =
            (free_count && !plan->fixed[j]) ? free_slots[--free_count] : plan->slot_count++;
        /* Operands whose last reader is j give their register back, once each. */
        for (int k = 0; k < sky_op_table[in->op].arity; k++) {
            uint32_t a = in->arg[k];
            bool seen = (k > 0 && in->arg[0] == a) || (k > 1 && in->arg[1] == a);
            if (last_use[a] == j && !plan->fixed[a] && !seen)
                free_slots[free_count++] = plan->slot[a];
        }
        if (last_use[j] == EVAL_NONE && !plan->fixed[j]) free_slots[free_count++] = plan->slot[j];
    }
    st = SKY_OK;
done:
    free(last_use);
    free(free_slots);
    return st;
}

static void plan_free(eval_plan *plan) {
    free(plan->slot);
    free(plan->fixed);
}

/* Everything one evaluation needs besides the registers. */
typedef struct eval_ctx {
    const sky_program *p;
    const sky_layout_view *layout;
    const sky_led_input *inputs;
    const float *prev;
    const uint32_t *strip_first; /* per strip, for prev_at */
    const uint32_t *pictures;    /* the picture block (sky/picture.h), or NULL */
    float *regs;                 /* slot_count registers of EVAL_BATCH floats */
    const eval_plan *plan;
} eval_ctx;

static float *reg(const eval_ctx *e, uint32_t insn) {
    return e->regs + (size_t)e->plan->slot[insn] * EVAL_BATCH;
}

/* prev(s, l) channel c as kernels.h defines it. */
static float eval_prev_at(const eval_ctx *e, float s, float l, uint32_t c) {
    uint32_t n = e->layout->strip_count;
    if (!e->prev || n == 0 || !isfinite(s) || !isfinite(l)) return 0.0f;
    float nf = (float)n;
    float si = floorf(s);
    si = si - nf * floorf(si / nf);
    /* Rounding in si / nf can leave si one period off for huge s: bring it back. */
    if (si < 0) si += nf;
    if (si >= nf) si -= nf;
    float li = floorf(l);
    if (!(si >= 0 && si < nf) || li < 0) return 0.0f;
    uint32_t strip = (uint32_t)si;
    if (li >= (float)e->layout->strip_sizes[strip]) return 0.0f;
    uint64_t led = (uint64_t)e->strip_first[strip] + (uint64_t)li;
    return e->prev[led * 3 + c];
}

/* A per-LED leaf over LEDs base .. base + n. */
static void eval_leaf(const eval_ctx *e, const prog_insn *in, uint32_t base, uint32_t n,
                      float *restrict d) {
    const sky_led_input *li = e->inputs + base;
    switch ((sky_op)in->op) {
    case OP_X:
        for (uint32_t i = 0; i < n; i++) d[i] = li[i].x;
        break;
    case OP_Y:
        for (uint32_t i = 0; i < n; i++) d[i] = li[i].y;
        break;
    case OP_R:
        for (uint32_t i = 0; i < n; i++) d[i] = li[i].r;
        break;
    case OP_THETA:
        for (uint32_t i = 0; i < n; i++) d[i] = li[i].theta;
        break;
    case OP_Z:
        for (uint32_t i = 0; i < n; i++) d[i] = li[i].z;
        break;
    case OP_STRIP:
        for (uint32_t i = 0; i < n; i++) d[i] = (float)li[i].strip;
        break;
    case OP_LED:
        for (uint32_t i = 0; i < n; i++) d[i] = (float)li[i].led;
        break;
    case OP_LEDS:
        for (uint32_t i = 0; i < n; i++) d[i] = (float)li[i].leds;
        break;
    case OP_INDEX:
        for (uint32_t i = 0; i < n; i++) d[i] = (float)(base + i);
        break;
    case OP_PREV: {
        uint32_t c = (uint32_t)in->imm;
        if (!e->prev) {
            memset(d, 0, n * sizeof *d);
            break;
        }
        for (uint32_t i = 0; i < n; i++) d[i] = e->prev[(size_t)(base + i) * 3 + c];
        break;
    }
    default:
        memset(d, 0, n * sizeof *d);
        break; /* constants and uniforms are filled once */
    }
}

/* Runs the LED section for LEDs base .. base + n into the registers. */
static void eval_batch(const eval_ctx *e, uint32_t base, uint32_t n) {
    const prog_section *sec = &e->p->led;
    for (uint32_t j = 0; j < sec->count; j++) {
        const prog_insn *in = &sec->insns[j];
        if (e->plan->fixed[j]) continue;
        float *d = reg(e, j);
        int arity = sky_op_table[in->op].arity;
        if (arity == 0) {
            eval_leaf(e, in, base, n, d);
            continue;
        }
        const float *a = reg(e, in->arg[0]);
        const float *b = arity > 1 ? reg(e, in->arg[1]) : NULL;
        const float *c = arity > 2 ? reg(e, in->arg[2]) : NULL;
        if (in->op == OP_PREV_AT) {
            uint32_t ch = (uint32_t)in->imm;
            for (uint32_t i = 0; i < n; i++) d[i] = eval_prev_at(e, a[i], b[i], ch);
            continue;
        }
        if (in->op == OP_PIC) {
            uint32_t pic = (uint32_t)in->imm / 3, ch = (uint32_t)in->imm % 3;
            for (uint32_t i = 0; i < n; i++)
                d[i] = picture_sample(e->pictures, pic, ch, a[i], b[i]);
            continue;
        }
        eval_batch_op((sky_op)in->op, n, d, a, b, c);
    }
}

/* Makes the batch's output channels final into rgb and bytes. */
static void eval_finish(const eval_ctx *e, uint32_t base, uint32_t n, float *rgb, uint8_t *bytes) {
    for (int c = 0; c < 3; c++) {
        const float *v = reg(e, e->p->out[c]);
        for (uint32_t i = 0; i < n; i++) {
            float f = kernel_channel(v[i]);
            size_t at = (size_t)(base + i) * 3 + (size_t)c;
            if (rgb) rgb[at] = f;
            if (bytes) bytes[at] = kernel_channel_byte(f);
        }
    }
}

/* Fills the registers of constants and uniforms, which hold for every LED. */
static sky_status eval_fill_fixed(const eval_ctx *e, const float *uniforms) {
    const prog_section *sec = &e->p->led;
    for (uint32_t j = 0; j < sec->count; j++) {
        if (!e->plan->fixed[j]) continue;
        const prog_insn *in = &sec->insns[j];
        float v;
        if (in->op == OP_CONST) {
            v = (float)in->imm;
        } else {
            if (!(in->imm >= 0 && in->imm < e->p->uniform_count)) return SKY_ERR_INTERNAL;
            v = uniforms[(uint32_t)in->imm];
        }
        float *d = reg(e, j);
        for (uint32_t i = 0; i < EVAL_BATCH; i++) d[i] = v;
    }
    return SKY_OK;
}

/* Checks what the batch loop relies on: channels in range, no frame-only leaves. */
static bool led_section_valid(const sky_program *p) {
    for (uint32_t j = 0; j < p->led.count; j++) {
        const prog_insn *in = &p->led.insns[j];
        const sky_op_info *info = &sky_op_table[in->op];
        if (info->leaf_rate == RATE_FRAME) return false;
        if ((in->op == OP_PREV || in->op == OP_PREV_AT) && !(in->imm >= 0 && in->imm < 3))
            return false;
        if (in->op == OP_PIC && !(in->imm >= 0 && in->imm < 3.0 * p->picture_count)) return false;
    }
    return true;
}

static uint32_t *strip_firsts(const sky_layout_view *layout) {
    uint32_t *first = malloc(((size_t)layout->strip_count + 1) * sizeof *first);
    if (!first) return NULL;
    uint32_t at = 0;
    for (uint32_t s = 0; s < layout->strip_count; s++) {
        first[s] = at;
        at += layout->strip_sizes[s];
    }
    return first;
}

sky_status sky_program_eval_leds(const sky_program *program, const sky_layout_view *layout,
                                 const sky_led_input *inputs, const float *uniforms,
                                 const float *prev, float *rgb, uint8_t *bytes) {
    return sky_program_eval_leds_pictures(program, layout, inputs, uniforms, NULL, prev, rgb,
                                          bytes);
}

sky_status sky_program_eval_leds_pictures(const sky_program *program, const sky_layout_view *layout,
                                          const sky_led_input *inputs, const float *uniforms,
                                          const uint32_t *pictures, const float *prev, float *rgb,
                                          uint8_t *bytes) {
    if (!program || !layout || (!inputs && layout->led_count) ||
        (!uniforms && program->uniform_count) || (layout->strip_count && !layout->strip_sizes))
        return SKY_ERR_INVALID_ARG;
    if (!layout_consistent(layout)) return SKY_ERR_INVALID_ARG;
    if (layout->led_count == 0) return SKY_OK;
    if (program->led.count == 0) return SKY_ERR_INTERNAL;

    eval_plan plan = {0};
    eval_ctx e = {.p = program,
                  .layout = layout,
                  .inputs = inputs,
                  .prev = prev,
                  .pictures = pictures,
                  .plan = &plan};
    uint32_t *first = NULL;
    sky_status st = plan_build(program, &plan);
    if (st != SKY_OK) goto done;
    st = SKY_ERR_INTERNAL;
    if (!led_section_valid(program)) goto done;
    st = SKY_ERR_NOMEM;
    first = strip_firsts(layout);
    e.regs = malloc((size_t)plan.slot_count * EVAL_BATCH * sizeof *e.regs);
    if (!first || !e.regs) goto done;
    e.strip_first = first;
    st = eval_fill_fixed(&e, uniforms);
    if (st != SKY_OK) goto done;

    for (uint32_t base = 0; base < layout->led_count; base += EVAL_BATCH) {
        uint32_t n = layout->led_count - base < EVAL_BATCH ? layout->led_count - base : EVAL_BATCH;
        eval_batch(&e, base, n);
        eval_finish(&e, base, n, rgb, bytes);
    }
done:
    free(e.regs);
    free(first);
    plan_free(&plan);
    return st;
}

sky_status sky_program_eval(const sky_program *program, const sky_layout_view *layout,
                            const sky_led_input *inputs, const sky_frame_inputs *frame,
                            const float *prev, float *rgb, uint8_t *bytes) {
    if (!program) return SKY_ERR_INVALID_ARG;
    float *uniforms = malloc(((size_t)program->uniform_count + 1) * sizeof *uniforms);
    if (!uniforms) return SKY_ERR_NOMEM;
    sky_status st = sky_program_eval_frame(program, layout, frame, uniforms);
    if (st == SKY_OK)
        st = sky_program_eval_leds_pictures(program, layout, inputs, uniforms,
                                            frame ? frame->pictures : NULL, prev, rgb, bytes);
    free(uniforms);
    return st;
}

/* ------------------------------------------------------- constant nodes */

bool eval_graph_const(const graph *g, node_id id, double *value) {
    const graph_node *root = graph_get(g, id);
    if (!root || root->rate != RATE_CONST || !value) return false;
    /* Mark what the node needs (operands have smaller ids), then evaluate upwards. */
    bool *need = calloc((size_t)id + 1, sizeof *need);
    double *vals = malloc(((size_t)id + 1) * sizeof *vals);
    bool ok = need && vals;
    if (ok) {
        need[id] = true;
        for (node_id k = id + 1; k-- > 0;) {
            const graph_node *n = graph_get(g, k);
            if (!need[k]) continue;
            for (int a = 0; a < sky_op_table[n->op].arity; a++) need[n->arg[a]] = true;
        }
        for (node_id k = 0; k <= id && ok; k++) {
            if (!need[k]) continue;
            const graph_node *n = graph_get(g, k);
            if (n->op == OP_CONST) {
                vals[k] = n->imm;
            } else if (sky_op_table[n->op].arity == 0 || n->rate != RATE_CONST) {
                ok = false;
            } else {
                int arity = sky_op_table[n->op].arity;
                vals[k] =
                    kernel_apply_d((sky_op)n->op, vals[n->arg[0]], arity > 1 ? vals[n->arg[1]] : 0,
                                   arity > 2 ? vals[n->arg[2]] : 0);
            }
        }
        if (ok) *value = vals[id];
    }
    free(need);
    free(vals);
    return ok;
}
