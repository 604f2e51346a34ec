/*
 * emit_glsl.c - the per-LED section of a sky_program as a GLSL 450 compute
 * shader, per docs/shader-abi.md.
 *
 * The shader is: `#version 450`, the work-group layout (specialization
 * constant 0, default 64), shaders/sky_frame.glsl (the six bindings and the
 * final channel rule), the helper files the program calls (found by scanning
 * the emitted code for sky_* calls, with their own dependencies first), then
 * `vec3 sky_pixel(uint i)` holding the per-LED section, and main(), which
 * computes four LEDs per invocation and packs their 12 bytes into 3 words.
 *
 * The section is a DAG: an instruction used more than once becomes a named
 * temporary, emitted once, so heavy sharing never expands into a tree. A
 * single-use instruction is written inline at its use, unless it calls a
 * helper (kept on its own line for readability) or the inline expression
 * would nest too deep (which would also strain the GLSL parser on long
 * chains such as an unrolled 256-term sum).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "program.h"
#include "sky/abi.h"
#include "sky_shaders.h" /* generated from the shaders/ folder at build time */
#include "spirv.h"
#include "text.h"

/* Deepest expression written inline before a temporary is introduced. */
#define GLSL_MAX_INLINE_DEPTH 4
/* The default work-group size (specialization constant 0). */
#define GLSL_LOCAL_SIZE 64
#define GLSL_FRAME_FILE "sky_frame.glsl"

/* ------------------------------------------------------- program checks */

/* Leaves that may appear in the per-LED section (per-frame leaves arrive as OP_UNIFORM). */
static bool emit_is_led_leaf(sky_op op) {
    switch (op) {
    case OP_CONST:
    case OP_X:
    case OP_Y:
    case OP_R:
    case OP_THETA:
    case OP_Z:
    case OP_STRIP:
    case OP_LED:
    case OP_LEDS:
    case OP_INDEX:
    case OP_PREV:
    case OP_UNIFORM:
        return true;
    default:
        return false;
    }
}

static bool emit_is_channel(double imm) {
    return imm == 0 || imm == 1 || imm == 2;
}

/*
 * The program comes from our own back end, so a malformed one is a bug; it is
 * still checked, since emitting from it would index out of bounds.
 */
static bool emit_program_ok(const sky_program *p) {
    const prog_section *s = &p->led;
    if (s->count == 0 || !s->insns) return false;
    for (uint32_t i = 0; i < s->count; i++) {
        const prog_insn *in = &s->insns[i];
        if (in->op >= OP__COUNT) return false;
        const sky_op_info *info = &sky_op_table[in->op];
        if (info->arity == 0 && !emit_is_led_leaf(in->op)) return false;
        if (info->arity > 0 && in->op != OP_PREV_AT && in->op != OP_PIC && !info->glsl)
            return false;
        if (in->op == OP_PIC && !(in->imm >= 0 && in->imm < 3.0 * p->picture_count)) return false;
        for (unsigned a = 0; a < info->arity; a++)
            if (in->arg[a] >= i) return false;
        if (in->op == OP_UNIFORM &&
            !(in->imm >= 0 && in->imm < p->uniform_count && in->imm == floor(in->imm)))
            return false;
        if ((in->op == OP_PREV || in->op == OP_PREV_AT) &&
            (!emit_is_channel(in->imm) || !p->uses_prev))
            return false;
    }
    for (int c = 0; c < 3; c++)
        if (p->out[c] >= s->count) return false;
    return true;
}

/* ------------------------------------------------------ the DAG as text */

typedef struct emit_ctx {
    const sky_program *p;
    uint32_t *uses; /* uses of each led-section instruction by live instructions and out */
    bool *named;    /* emitted once as a temporary `v<index>` */
    text_buf *text;
    bool led_texels; /* positions through binding 6 (sky_emit_options.led_texels) */
} emit_ctx;

/*
 * A float32 as a GLSL float literal: %.9g round-trips every float32; ".0" is
 * added where the digits alone would read as an int. Negative values are
 * parenthesized so that `a - -1.0` never appears. Non-finite values have no
 * literal and are spelled by their bits. Zero is `sky_zero()`, read from the
 * frame buffer at run time: a driver that does not preserve Inf/NaN (Vulkan's
 * default) folds x * 0.0 and 0.0 / x to 0 when it sees a literal zero, where
 * IEEE arithmetic, and the CPU evaluator, give NaN for an infinite or NaN x
 * (lavapipe gave 0.5 for `exp(x * 1000) * 0 + 0.5`, the CPU 0).
 */
static void emit_float_literal(char *out, size_t size, float v) {
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    if (v == 0) {
        snprintf(out, size, "%s", bits ? "(-sky_zero())" : "sky_zero()");
        return;
    }
    if ((bits & 0x7f800000u) == 0x7f800000u) {
        snprintf(out, size, "uintBitsToFloat(0x%08xu)", (unsigned)bits);
        return;
    }
    char digits[32];
    snprintf(digits, sizeof digits, "%.9g", (double)v);
    const char *dot = strpbrk(digits, ".e") ? "" : ".0";
    if (digits[0] == '-')
        snprintf(out, size, "(%s%s)", digits, dot);
    else
        snprintf(out, size, "%s%s", digits, dot);
}

/*
 * Per-frame values are read from binding 7, binding 0's buffer as a uniform
 * buffer (std140 vec4s: byte for byte the same as binding 0's floats), when
 * they fit in the 16 KiB every device's uniform buffers allow. llvmpipe turns
 * each storage-buffer load into a per-lane loop but a uniform-buffer load into
 * one scalar load; examples/ripples.sky, with 20 per-frame values, ran several
 * times faster that way. Larger programs read binding 0.
 */
#define EMIT_UNIFORM_BLOCK_MAX 4092u /* (16384 - 16) / 4 */

static bool emit_uniform_block(const sky_program *p) {
    return p->uniform_count <= EMIT_UNIFORM_BLOCK_MAX;
}

static void emit_leaf(emit_ctx *cx, const prog_insn *in) {
    text_buf *t = cx->text;
    char lit[48];
    switch ((sky_op)in->op) {
    case OP_CONST:
        emit_float_literal(lit, sizeof lit, (float)in->imm);
        text_puts(t, lit);
        break;
    case OP_X:
        text_puts(t, cx->led_texels ? "sky_led_pos(i).x" : "sky_led[i].pos.x");
        break;
    case OP_Y:
        text_puts(t, cx->led_texels ? "sky_led_pos(i).y" : "sky_led[i].pos.y");
        break;
    case OP_R:
        text_puts(t, cx->led_texels ? "sky_led_pos(i).z" : "sky_led[i].pos.z");
        break;
    case OP_THETA:
        text_puts(t, cx->led_texels ? "sky_led_pos(i).w" : "sky_led[i].pos.w");
        break;
    case OP_Z:
        text_puts(t, cx->led_texels ? "sky_led_z(i)" : "sky_led[i].geo.x");
        break;
    case OP_STRIP:
        text_puts(t, "float(sky_led[i].ids.x)");
        break;
    case OP_LED:
        text_puts(t, "float(sky_led[i].ids.y)");
        break;
    case OP_LEDS:
        text_puts(t, "float(sky_led[i].ids.z)");
        break;
    case OP_INDEX:
        text_puts(t, "float(i)");
        break;
    case OP_PREV:
        text_printf(t, "sky_prev[3u * i + %uu]", (unsigned)in->imm);
        break;
    case OP_UNIFORM:
        if (emit_uniform_block(cx->p))
            text_printf(t, "sky_uv[%u].%c", (unsigned)in->imm / 4u,
                             "xyzw"[(unsigned)in->imm % 4u]);
        else
            text_printf(t, "sky_u[%u]", (unsigned)in->imm);
        break;
    default:
        t->failed = true;
        break; /* excluded by emit_program_ok */
    }
}

static void emit_value(emit_ctx *cx, uint32_t i);

/* An operation's template from ops.def with %0 %1 %2 replaced by its operands. */
static void emit_operation(emit_ctx *cx, const prog_insn *in) {
    const char *tpl = sky_op_table[in->op].glsl;
    if (in->op == OP_PREV_AT) {
        text_puts(cx->text, "sky_prev_at(");
        emit_value(cx, in->arg[0]);
        text_puts(cx->text, ", ");
        emit_value(cx, in->arg[1]);
        text_printf(cx->text, ", %uu)", (unsigned)in->imm);
        return;
    }
    if (in->op == OP_PIC) {
        /* The same call for the three channels, so the driver computes it once. */
        text_printf(cx->text, "sky_pic_rgb(%uu, ", (unsigned)in->imm / 3u);
        emit_value(cx, in->arg[0]);
        text_puts(cx->text, ", ");
        emit_value(cx, in->arg[1]);
        text_printf(cx->text, ").%c", "xyz"[(unsigned)in->imm % 3u]);
        return;
    }
    for (const char *s = tpl; *s;) {
        if (s[0] == '%' && s[1] >= '0' && s[1] <= '2') {
            emit_value(cx, in->arg[s[1] - '0']);
            s += 2;
            continue;
        }
        size_t run = strcspn(s + 1, "%") + 1;
        text_append(cx->text, s, run);
        s += run;
    }
}

/* Instruction i where it is used: its temporary's name, or the expression itself. */
static void emit_value(emit_ctx *cx, uint32_t i) {
    const prog_insn *in = &cx->p->led.insns[i];
    if (cx->named[i])
        text_printf(cx->text, "v%u", (unsigned)i);
    else if (sky_op_table[in->op].arity == 0)
        emit_leaf(cx, in);
    else
        emit_operation(cx, in);
}

/* Helper calls and prev(s, l) get a line of their own even when used once. */
static bool emit_is_call(const prog_insn *in) {
    const char *tpl = sky_op_table[in->op].glsl;
    return in->op == OP_PREV_AT || in->op == OP_PIC || (tpl && strncmp(tpl, "sky_", 4) == 0);
}

/*
 * Marks live instructions (reachable from the outputs), counts their uses and
 * decides which become temporaries. `depth` is each inline expression's
 * nesting, reset to 0 by a temporary.
 */
static bool emit_plan(emit_ctx *cx) {
    const prog_section *s = &cx->p->led;
    uint8_t *depth = calloc(s->count, 1);
    bool *live = calloc(s->count, sizeof *live);
    if (!depth || !live) {
        free(depth);
        free(live);
        return false;
    }
    for (int c = 0; c < 3; c++) {
        if (c > 0 && cx->p->out_is_grey) break;
        live[cx->p->out[c]] = true;
        cx->uses[cx->p->out[c]]++;
    }
    for (uint32_t i = s->count; i-- > 0;) {
        if (!live[i]) continue;
        const prog_insn *in = &s->insns[i];
        for (unsigned a = 0; a < sky_op_table[in->op].arity; a++) {
            live[in->arg[a]] = true;
            cx->uses[in->arg[a]]++;
        }
    }
    for (uint32_t i = 0; i < s->count; i++) {
        const prog_insn *in = &s->insns[i];
        if (!live[i] || in->op == OP_CONST) continue;
        unsigned d = 0;
        for (unsigned a = 0; a < sky_op_table[in->op].arity; a++)
            if (!cx->named[in->arg[a]] && depth[in->arg[a]] + 1u > d) d = depth[in->arg[a]] + 1u;
        cx->named[i] = cx->uses[i] > 1 || emit_is_call(in) || d > GLSL_MAX_INLINE_DEPTH;
        depth[i] = cx->named[i] ? 0 : (uint8_t)d;
    }
    free(depth);
    free(live);
    return true;
}

static const char *emit_output_names[3] = {"red", "green", "blue"};

/* `vec3 sky_pixel(uint i)`: the temporaries in program order, then the colour. */
static void emit_pixel_function(emit_ctx *cx) {
    const sky_program *p = cx->p;
    text_buf *t = cx->text;
    uint32_t temps = 0;
    for (uint32_t i = 0; i < p->led.count; i++) temps += cx->named[i];
    text_printf(t,
                     "// The per-LED section: %u instructions, %u of them temporaries (each\n"
                     "// computed once); sky_u[] holds the %u hoisted per-frame values.\n"
                     "vec3 sky_pixel(uint i) {\n",
                     (unsigned)p->led.count, (unsigned)temps, (unsigned)p->uniform_count);
    for (uint32_t i = 0; i < p->led.count; i++) {
        if (!cx->named[i]) continue;
        text_printf(t, "    precise float v%u = ", (unsigned)i);
        const prog_insn *in = &p->led.insns[i];
        if (sky_op_table[in->op].arity == 0)
            emit_leaf(cx, in);
        else
            emit_operation(cx, in);
        text_printf(t, "; // %s\n", sky_op_table[in->op].name);
    }
    if (p->out_is_grey) {
        text_puts(t, "    precise vec3 rgb = vec3(");
        emit_value(cx, p->out[0]);
        text_puts(t, "); // grey\n    return rgb;\n}\n");
        return;
    }
    text_puts(t, "    precise vec3 rgb = vec3(");
    for (int c = 0; c < 3; c++) {
        if (c) text_puts(t, ",\n                            ");
        emit_value(cx, p->out[c]);
        text_printf(t, " /* %s */", emit_output_names[c]);
    }
    text_puts(t, ");\n    return rgb;\n}\n");
}

/*
 * main(): four LEDs per invocation, the final channel rule, 12 bytes in 3
 * words. The four colours are four named variables, written out rather than
 * an array filled in a loop: llvmpipe keeps such an array in memory, and the
 * unrolled form was 1.75x faster there (bench_runtime), with the same bytes.
 */
static void emit_main(text_buf *t, bool uses_prev, bool uniform_block) {
    text_puts(t, "\n"
                      "// Invocation g computes LEDs 4g .. 4g+3 and writes their 12 bytes as\n"
                      "// sky_out[3g .. 3g+2]; LEDs past led_count write zero bytes.\n"
                      "void main() {\n"
                      "    uint g = gl_GlobalInvocationID.x;\n");
    text_puts(t, uniform_block ? "    uint n = sky_info_uniform.x;\n"
                                    : "    uint n = sky_info.x;\n");
    text_puts(t, "    if (g >= n / 4u + uint(n % 4u != 0u)) return;\n"
                      "    uint i = 4u * g; // < n: g is in range\n"
                      "    vec3 c0 = sky_final(sky_pixel(i));\n"
                      "    vec3 c1 = vec3(0.0), c2 = vec3(0.0), c3 = vec3(0.0);\n"
                      "    if (i + 1u < n) c1 = sky_final(sky_pixel(i + 1u));\n"
                      "    if (i + 2u < n) c2 = sky_final(sky_pixel(i + 2u));\n"
                      "    if (i + 3u < n) c3 = sky_final(sky_pixel(i + 3u));\n");
    if (uses_prev)
        text_puts(t, "    // full precision for the next frame's prev\n"
                          "    sky_store_prev(i, c0);\n"
                          "    if (i + 1u < n) sky_store_prev(i + 1u, c1);\n"
                          "    if (i + 2u < n) sky_store_prev(i + 2u, c2);\n"
                          "    if (i + 3u < n) sky_store_prev(i + 3u, c3);\n");
    text_puts(
        t, "    uvec3 b0 = sky_bytes(c0), b1 = sky_bytes(c1), b2 = sky_bytes(c2), b3 = "
           "sky_bytes(c3);\n"
           "    // byte j of the frame is bits 8 (j % 4) .. 8 (j % 4) + 7 of word j / 4\n"
           "    sky_out[3u * g] = b0.r | (b0.g << 8u) | (b0.b << 16u) | (b1.r << 24u);\n"
           "    sky_out[3u * g + 1u] = b1.g | (b1.b << 8u) | (b2.r << 16u) | (b2.g << 24u);\n"
           "    sky_out[3u * g + 2u] = b2.b | (b3.r << 8u) | (b3.g << 16u) | (b3.b << 24u);\n"
           "}\n");
}

/* ------------------------------------------------------- helper files */

enum { HELPER_OUT = 0, HELPER_BUSY = 1, HELPER_IN = 2 };

/* Functions already looked up, so a big section's thousands of calls scan the helpers once. */
#define HELPER_CACHE 64

typedef struct helper_set {
    uint8_t state[SKY_SHADER_FILE_COUNT];
    int order[SKY_SHADER_FILE_COUNT]; /* files in the order they are pasted */
    int count;
    int scanning; /* the file being scanned, -1 for the emitted code */
    bool cycle;
    struct {
        const char *name;
        size_t len;
        int file; /* -1: no helper file defines it */
    } seen[HELPER_CACHE];
    int seen_count;
} helper_set;

static bool is_ident_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/*
 * True when `text` defines function `name` (length n): a line of lower-case
 * words (qualifiers and the return type, "precise float") and then "name(".
 */
static bool helper_defines(const char *text, const char *name, size_t n) {
    const char *line = text;
    while (line) {
        const char *s = line;
        for (int words = 0; words < 3 && *s >= 'a' && *s <= 'z'; words++) {
            while ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')) s++;
            if (*s++ != ' ') break;
            if (strncmp(s, name, n) == 0 && s[n] == '(') return true;
        }
        line = strchr(line, '\n');
        if (line) line++;
    }
    return false;
}

static int helper_defining(const char *name, size_t n) {
    for (int f = 0; f < SKY_SHADER_FILE_COUNT; f++)
        if (helper_defines(sky_shader_files[f].text, name, n)) return f;
    return -1;
}

/* helper_defining, remembered per name. */
static int helper_lookup(helper_set *set, const char *name, size_t n) {
    for (int k = 0; k < set->seen_count; k++)
        if (set->seen[k].len == n && memcmp(set->seen[k].name, name, n) == 0)
            return set->seen[k].file;
    int f = helper_defining(name, n);
    if (set->seen_count < HELPER_CACHE) {
        set->seen[set->seen_count].name = name;
        set->seen[set->seen_count].len = n;
        set->seen[set->seen_count].file = f;
        set->seen_count++;
    }
    return f;
}

static void helper_require(helper_set *set, int f);

/* Every sky_*( call in `text` pulls in the file that defines that function. */
static void helper_scan(helper_set *set, const char *text) {
    for (const char *s = strstr(text, "sky_"); s; s = strstr(s, "sky_")) {
        if (s > text && is_ident_char(s[-1])) {
            s += 4;
            continue;
        }
        size_t n = 0;
        while (is_ident_char(s[n])) n++;
        if (s[n] == '(') {
            int f = helper_lookup(set, s, n);
            if (f >= 0) helper_require(set, f);
        }
        s += n;
    }
}

/* Adds file f after the files it calls into (depth first: dependencies come first). */
static void helper_require(helper_set *set, int f) {
    if (set->state[f] == HELPER_IN) return;
    if (set->state[f] == HELPER_BUSY) {
        /* a file calling its own functions is fine; a cycle between files is not */
        if (f != set->scanning) set->cycle = true;
        return;
    }
    int caller = set->scanning;
    set->state[f] = HELPER_BUSY;
    set->scanning = f;
    helper_scan(set, sky_shader_files[f].text);
    set->scanning = caller;
    set->state[f] = HELPER_IN;
    set->order[set->count++] = f;
}

static int helper_find(const char *name) {
    for (int f = 0; f < SKY_SHADER_FILE_COUNT; f++)
        if (strcmp(sky_shader_files[f].name, name) == 0) return f;
    return -1;
}

/* ------------------------------------------------------------- the shader */

static sky_status emit_shader(const sky_program *p, const sky_emit_options *o, text_buf *out) {
    uint32_t n = p->led.count;
    emit_ctx cx = {p, calloc(n, sizeof(uint32_t)), calloc(n, sizeof(bool)), NULL, o->led_texels};
    text_buf body = {0};
    sky_status st = SKY_ERR_NOMEM;
    if (!cx.uses || !cx.named || !emit_plan(&cx)) goto done;
    cx.text = &body;
    emit_pixel_function(&cx);
    emit_main(&body, p->uses_prev, emit_uniform_block(p));
    if (body.failed) goto done;

    helper_set set = {.scanning = -1};
    int frame = helper_find(GLSL_FRAME_FILE);
    st = SKY_ERR_INTERNAL;
    if (frame < 0) goto done;
    helper_require(&set, frame);
    helper_scan(&set, body.data);
    if (set.cycle || set.order[0] != frame) goto done;

    text_printf(out,
                     "#version 450\n"
                     "// Generated by the Skyscreen .sky compiler %s: one .sky pattern as a\n"
                     "// compute shader. The contract with the runtime is docs/shader-abi.md.\n"
                     "\n"
                     "// specialization constant 0: the work-group size\n"
                     "layout(local_size_x = %d, local_size_x_id = 0) in;\n",
                     SKY_VERSION_STRING, GLSL_LOCAL_SIZE);
    if (p->picture_count && cx.led_texels)
        text_puts(out, "\n"
                       "// binding 9 (with binding 6, sky_emit_options.led_texels): binding 8's\n"
                       "// buffer as R32_UINT texels, read by sky_picture.glsl\n"
                       "layout(set = 0, binding = 9) uniform usamplerBuffer sky_pic_texels;\n"
                       "#define SKY_PIC_WORD(i) texelFetch(sky_pic_texels, int(i)).x\n");
    else if (p->picture_count)
        text_puts(out, "\n#define SKY_PIC_WORD(i) sky_pic[i]\n");
    for (int k = 0; k < set.count; k++) {
        text_puts(out, "\n");
        text_puts(out, sky_shader_files[set.order[k]].text);
    }
    if (emit_uniform_block(p))
        text_printf(
            out,
            "\n"
            "// binding 7: binding 0's buffer as a uniform buffer; sky_uv[k / 4][k %% 4]\n"
            "// is sky_u[k], the hoisted per-frame value k\n"
            "layout(std140, set = 0, binding = 7) uniform SkyFrameUniforms {\n"
            "    uvec4 sky_info_uniform;\n"
            "    vec4 sky_uv[%u];\n"
            "};\n",
            (unsigned)((p->uniform_count + 3) / 4 ? (p->uniform_count + 3) / 4 : 1));
    if (cx.led_texels)
        text_puts(out,
                       "\n"
                       "// binding 6 (optional, sky_emit_options.led_texels): binding 1's buffer\n"
                       "// as RGBA32F texels; texel 3i is LED i's (x, y, r, theta), texel\n"
                       "// 3i + 2 its (z, 0, 0, 0)\n"
                       "layout(set = 0, binding = 6) uniform samplerBuffer sky_led_texels;\n"
                       "vec4 sky_led_pos(uint i) {\n"
                       "    return texelFetch(sky_led_texels, int(3u * i));\n"
                       "}\n"
                       "float sky_led_z(uint i) {\n"
                       "    return texelFetch(sky_led_texels, int(3u * i + 2u)).x;\n"
                       "}\n");
    if (strstr(body.data, "sky_zero()"))
        text_printf(out,
                         "\n"
                         "// 0.0 that no compiler can fold away (sky_info.z is 0): see the\n"
                         "// constants of docs/shader-abi.md\n"
                         "float sky_zero() {\n"
                         "    return uintBitsToFloat(%s.z);\n"
                         "}\n",
                         emit_uniform_block(p) ? "sky_info_uniform" : "sky_info");
    text_puts(out, "\n");
    text_append(out, body.data, body.len);
    st = out->failed ? SKY_ERR_NOMEM : SKY_OK;
done:
    text_free(&body);
    free(cx.uses);
    free(cx.named);
    return st;
}

void sky_emit_options_init(sky_emit_options *options) {
    if (options) *options = (sky_emit_options){.led_texels = false};
}

sky_status sky_program_emit_glsl(const sky_program *program, const sky_emit_options *options,
                                 char **glsl, size_t *len) {
    sky_emit_options defaults;
    sky_emit_options_init(&defaults);
    if (!options) options = &defaults;
    if (!program || !glsl) return SKY_ERR_INVALID_ARG;
    *glsl = NULL;
    if (len) *len = 0;
    if (!emit_program_ok(program)) return SKY_ERR_INTERNAL;
    text_buf out = {0};
    sky_status st = emit_shader(program, options, &out);
    if (st != SKY_OK) {
        text_free(&out);
        return st;
    }
    *glsl = text_take(&out, len);
    return *glsl ? SKY_OK : SKY_ERR_NOMEM;
}
