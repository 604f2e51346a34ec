/*
 * emit_c.c - the per-LED section of a sky_program as a C11 translation unit,
 * the CPU backend's kernel (docs/cpu-backend.md).
 *
 * The unit is: the math helpers of shaders/sky_cpu.h (embedded at build
 * time), the sky_cpu_args struct of sky/abi.h, and `sky_kernel(args, begin,
 * end)`, one loop over the LEDs marked `#pragma omp simd` whose body is the
 * section in program order, one `const float` per live instruction. The
 * operations are the KERNEL column of compiler/ops.def itself, stringified,
 * with F(name) and K(name) mapped onto the helpers (sky_f_sin, sky_k_mod):
 * so the CPU evaluator, the folder and this backend expand the same
 * expressions and there is no second operator table. The LED inputs are
 * read from one float column per field (structure of arrays, SKY_CPU_INPUTS),
 * per-frame values are hoisted out of the loop, and the body has no branch
 * (every helper is written with selects), so the C compiler vectorises it.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "program.h"
#include "sky/abi.h"
#include "sky_cpu_helpers.h" /* shaders/sky_cpu.h as a string, generated at build time */
#include "text.h"

/* The KERNEL column of ops.def as text: "(A + B)", "K(mod)(A, B)", "F(sin)(A)". */
static const char *const emit_c_kernels[OP__COUNT] = {
#define X(id, name, arity, result, leaf, glsl, kernel, cost) [OP_##id] = #kernel,
#include "ops.def"
#undef X
};

/* The column of each input leaf (SKY_CPU_INPUTS), -1 for other ops. */
static int emit_c_column(sky_op op) {
    switch (op) {
#define EMIT_C_COLUMN(id, field) \
    case OP_##id:                \
        return SKY_CPU_INPUT_##id;
        SKY_CPU_INPUTS(EMIT_C_COLUMN)
#undef EMIT_C_COLUMN
    default:
        return -1;
    }
}

static const char *const emit_c_column_names[SKY_CPU_INPUT_COUNT] = {
#define EMIT_C_NAME(id, field) #field,
    SKY_CPU_INPUTS(EMIT_C_NAME)
#undef EMIT_C_NAME
};

/* ------------------------------------------------------- program checks */

static bool emit_c_is_channel(double imm) {
    return imm == 0 || imm == 1 || imm == 2;
}

/* Our own back end made the program, so a malformed one is a bug; still checked, not trusted. */
static bool emit_c_program_ok(const sky_program *p) {
    const prog_section *s = &p->led;
    if (s->count == 0 || !s->insns) return false;
    for (uint32_t i = 0; i < s->count; i++) {
        const prog_insn *in = &s->insns[i];
        if (in->op >= OP__COUNT) return false;
        const sky_op_info *info = &sky_op_table[in->op];
        if (info->arity == 0 && in->op != OP_CONST && in->op != OP_INDEX && in->op != OP_PREV &&
            in->op != OP_UNIFORM && emit_c_column((sky_op)in->op) < 0)
            return false;
        for (unsigned a = 0; a < info->arity; a++)
            if (in->arg[a] >= i) return false;
        if (in->op == OP_UNIFORM &&
            !(in->imm >= 0 && in->imm < p->uniform_count && in->imm == floor(in->imm)))
            return false;
        if ((in->op == OP_PREV || in->op == OP_PREV_AT) &&
            (!emit_c_is_channel(in->imm) || !p->uses_prev))
            return false;
        if (in->op == OP_PIC && !(in->imm >= 0 && in->imm < 3.0 * p->picture_count)) return false;
    }
    for (int c = 0; c < 3; c++)
        if (p->out[c] >= s->count) return false;
    return true;
}

/* Instructions the outputs depend on. */
static bool *emit_c_live(const sky_program *p) {
    bool *live = calloc(p->led.count, sizeof *live);
    if (!live) return NULL;
    for (int c = 0; c < 3; c++) live[p->out[c]] = true;
    for (uint32_t i = p->led.count; i-- > 0;) {
        if (!live[i]) continue;
        const prog_insn *in = &p->led.insns[i];
        for (unsigned a = 0; a < sky_op_table[in->op].arity; a++) live[in->arg[a]] = true;
    }
    return live;
}

/* ------------------------------------------------------------ the text */

/* A float32 exactly: a hex literal, or its bits when it is not finite. */
static void emit_c_float(text_buf *t, float v) {
    if (!isfinite(v))
        text_printf(t, "sky_asfloat(0x%08xu)",
                    (unsigned)(isnan(v) ? 0x7fc00000u : (v > 0 ? 0x7f800000u : 0xff800000u)));
    else
        text_printf(t, "%s%af", signbit(v) ? "-" : "", fabs((double)v));
}

/* The kernel text of ops.def with the operands' names for A, B, C. */
static void emit_c_kernel(text_buf *t, const prog_insn *in) {
    const char *s = emit_c_kernels[in->op];
    while (*s) {
        bool ident_before =
            s != emit_c_kernels[in->op] && (isalnum((unsigned char)s[-1]) || s[-1] == '_');
        bool ident_after = isalnum((unsigned char)s[1]) || s[1] == '_';
        if (*s >= 'A' && *s <= 'C' && !ident_before && !ident_after) {
            text_printf(t, "v%u", (unsigned)in->arg[*s - 'A']);
        } else {
            text_append(t, s, 1);
        }
        s++;
    }
}

/*
 * The first live instruction sampling the same picture at the same point as
 * instruction i (OP_PIC, any channel): the one that emits the sky_pic_rgb
 * call the others read.
 */
static uint32_t emit_c_pic_first(const sky_program *p, const bool *live, uint32_t i) {
    const prog_insn *in = &p->led.insns[i];
    for (uint32_t j = 0; j < i; j++) {
        const prog_insn *o = &p->led.insns[j];
        if (live[j] && o->op == OP_PIC && (uint32_t)o->imm / 3u == (uint32_t)in->imm / 3u &&
            o->arg[0] == in->arg[0] && o->arg[1] == in->arg[1])
            return j;
    }
    return i;
}

static void emit_c_insn(text_buf *t, const sky_program *p, const bool *live, uint32_t i) {
    const prog_insn *in = &p->led.insns[i];
    if (in->op == OP_PIC && emit_c_pic_first(p, live, i) == i) {
        char name[64];
        snprintf(name, sizeof name, "pic%u_%u_%u_%u", (unsigned)in->imm / 3u, (unsigned)in->arg[0],
                 (unsigned)in->arg[1], (unsigned)i);
        /* three scalars, not an array: GCC keeps an array in memory and the loop scalar */
        text_printf(t,
                    "        float %s_0, %s_1, %s_2;\n"
                    "        sky_pic_rgb(pics, %uu, v%u, v%u, &%s_0, &%s_1, &%s_2);\n",
                    name, name, name, (unsigned)in->imm / 3u, (unsigned)in->arg[0],
                    (unsigned)in->arg[1], name, name, name);
    }
    int column = emit_c_column((sky_op)in->op);
    text_printf(t, "        const float v%u = ", (unsigned)i);
    if (column >= 0) {
        text_printf(t, "in_%s[i]", emit_c_column_names[column]);
    } else if (in->op == OP_CONST) {
        emit_c_float(t, (float)in->imm);
    } else if (in->op == OP_UNIFORM) {
        text_printf(t, "u%u", (unsigned)in->imm);
    } else if (in->op == OP_INDEX) {
        text_puts(t, "(float)(int32_t)i");
    } else if (in->op == OP_PREV) {
        text_printf(t, "prev[3 * i + %u]", (unsigned)in->imm);
    } else if (in->op == OP_PREV_AT) {
        text_printf(t,
                    "sky_prev_at(prev, a->strip_first, a->strip_size, a->strip_count, v%u, v%u, "
                    "%uu)",
                    (unsigned)in->arg[0], (unsigned)in->arg[1], (unsigned)in->imm);
    } else if (in->op == OP_PIC) {
        /* the channels of one picture at one point come from one sky_pic_rgb call */
        text_printf(t, "pic%u_%u_%u_%u_%u", (unsigned)in->imm / 3u, (unsigned)in->arg[0],
                    (unsigned)in->arg[1], emit_c_pic_first(p, live, i), (unsigned)in->imm % 3u);
    } else {
        emit_c_kernel(t, in);
    }
    text_printf(t, "; /* %s */\n", sky_op_table[in->op].name);
}

/* What the loop reads before it starts: columns, uniforms, buffers. */
static void emit_c_prologue(text_buf *t, const sky_program *p, const bool *live) {
    bool column_used[SKY_CPU_INPUT_COUNT] = {0};
    bool *uniform_used = calloc((size_t)p->uniform_count + 1, sizeof *uniform_used);
    if (!uniform_used) {
        t->failed = true;
        return;
    }
    for (uint32_t i = 0; i < p->led.count; i++) {
        if (!live[i]) continue;
        const prog_insn *in = &p->led.insns[i];
        int column = emit_c_column((sky_op)in->op);
        if (column >= 0) column_used[column] = true;
        if (in->op == OP_UNIFORM) uniform_used[(uint32_t)in->imm] = true;
    }
    for (int k = 0; k < SKY_CPU_INPUT_COUNT; k++)
        if (column_used[k])
            text_printf(t, "    const float *restrict in_%s = a->columns[%d];\n",
                        emit_c_column_names[k], k);
    for (uint32_t u = 0; u < p->uniform_count; u++)
        if (uniform_used[u]) text_printf(t, "    const float u%u = a->uniforms[%u];\n", u, u);
    free(uniform_used);
    if (p->uses_prev)
        text_puts(t, "    const float *restrict prev = a->prev;\n"
                     "    float *restrict cur = a->cur;\n");
    /* NULL pictures (an embedder's own args): every picture black, as in the evaluator. */
    if (p->picture_count)
        text_puts(
            t,
            "    const uint32_t *restrict pics = a->pictures ? a->pictures : sky_no_pictures;\n");
    text_puts(t, "    uint8_t *restrict out = a->bytes;\n");
}

/* A block with every entry absent (sky/picture.h): 8 pictures, magic "PIC1". */
static const char *const no_pictures =
    "/* no picture block given: every picture black */\n"
    "static const uint32_t sky_no_pictures[4 + 8 * 8] = {8u, 4u + 8u * 8u, 0x31434950u};\n\n";

static sky_status emit_c_unit(const sky_program *p, text_buf *t) {
    bool *live = emit_c_live(p);
    if (!live) return SKY_ERR_NOMEM;
    uint32_t live_count = 0;
    for (uint32_t i = 0; i < p->led.count; i++) live_count += live[i];
    text_printf(t,
                "/* Generated by libsky (sky_program_emit_c): the per-LED section, %u live\n"
                " * instructions, over LEDs begin .. end - 1; docs/cpu-backend.md. */\n"
                "#include <stddef.h>\n#include <stdint.h>\n\n"
                "/* ops.def's kernel column, on the helpers below */\n"
                "#define T float\n#define F(name) sky_f_##name\n#define K(name) sky_k_##name\n\n",
                (unsigned)live_count);
    for (int f = 0; f < SKY_SHADER_FILE_COUNT; f++) text_puts(t, sky_shader_files[f].text);
    text_printf(t,
                "\n/* sky_cpu_args of sky/abi.h */\n"
                "typedef struct sky_cpu_args {\n"
                "    const float *const *columns;\n"
                "    const float *uniforms;\n"
                "    const float *prev;\n"
                "    float *cur;\n"
                "    uint8_t *bytes;\n"
                "    const uint32_t *strip_first;\n"
                "    const uint32_t *strip_size;\n"
                "    uint32_t strip_count;\n"
                "    uint32_t led_count;\n"
                "    const uint32_t *pictures;\n"
                "} sky_cpu_args;\n\n"
                "%s"
                "const uint32_t sky_kernel_abi = %uu;\n"
                "const uint32_t sky_kernel_args_size = (uint32_t)sizeof(sky_cpu_args);\n\n"
                "void sky_kernel(const sky_cpu_args *a, uint32_t begin, uint32_t end);\n"
                "void sky_kernel(const sky_cpu_args *a, uint32_t begin, uint32_t end) {\n",
                p->picture_count ? no_pictures : "", SKY_CPU_ABI_VERSION);
    emit_c_prologue(t, p, live);
    text_puts(t, "#pragma omp simd\n"
                 "    for (size_t i = begin; i < end; i++) { /* size_t: 3 * i is affine */\n");
    for (uint32_t i = 0; i < p->led.count; i++)
        if (live[i]) emit_c_insn(t, p, live, i);
    text_printf(t,
                "        const float c0 = sky_channel(v%u), c1 = sky_channel(v%u), "
                "c2 = sky_channel(v%u);\n",
                (unsigned)p->out[0], (unsigned)p->out[1], (unsigned)p->out[2]);
    if (p->uses_prev)
        text_puts(t, "        cur[3 * i] = c0;\n"
                     "        cur[3 * i + 1] = c1;\n"
                     "        cur[3 * i + 2] = c2;\n");
    text_puts(t, "        out[3 * i] = sky_byte(c0);\n"
                 "        out[3 * i + 1] = sky_byte(c1);\n"
                 "        out[3 * i + 2] = sky_byte(c2);\n"
                 "    }\n"
                 "}\n");
    free(live);
    return t->failed ? SKY_ERR_NOMEM : SKY_OK;
}

sky_status sky_program_emit_c(const sky_program *program, char **text, size_t *len) {
    if (!program || !text) return SKY_ERR_INVALID_ARG;
    *text = NULL;
    if (len) *len = 0;
    if (!emit_c_program_ok(program)) return SKY_ERR_INTERNAL;
    text_buf out = {0};
    sky_status st = emit_c_unit(program, &out);
    if (st != SKY_OK) {
        text_free(&out);
        return st;
    }
    *text = text_take(&out, len);
    return *text ? SKY_OK : SKY_ERR_NOMEM;
}

void sky_cpu_columns_build(const sky_led_input *inputs, size_t led_count, float *columns) {
    if (!inputs || !columns) return;
    float *column = columns;
#define EMIT_C_FILL(id, field)                                                 \
    for (size_t i = 0; i < led_count; i++) column[i] = (float)inputs[i].field; \
    column += led_count;
    SKY_CPU_INPUTS(EMIT_C_FILL)
#undef EMIT_C_FILL
}
