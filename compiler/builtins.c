/*
 * builtins.c - the built-in functions of the .sky language, lowered to graph nodes.
 *
 * One table names every built-in with its arity and, for the direct ones,
 * the ops.def row applied per component (sin, pow, clamp...). The rest are
 * expansions written exactly as the spec defines them, so the CPU evaluator
 * and the GPU see the same formula: length/normalize/distance/dot/cross,
 * the constructors (vec2, vec3, rgb, also concatenating vectors as in GLSL),
 * hsv, palette, wave/triangle/square/saw, time (kept per frame, so it runs
 * on the host in double precision), decay (a per-second fade factor from
 * dt, per frame for a constant half-life), hash, noise, fbm and prev(s, l).
 *
 * Arguments arrive lowered; a bool where a number is expected, vectors of
 * different sizes, or a wrong kind of argument are reported here.
 */
#include <math.h>
#include <string.h>

#include "audio_leaf.h"
#include "check_int.h"
#include "eval.h"

/* How a built-in is expanded (ck_builtin.kind). */
typedef enum builtin_kind {
    B_MAP1, /* B_MAP1..3: ck_builtin.op applied per component */
    B_MAP2,
    B_MAP3,
    B_ATAN,
    B_LENGTH,
    B_NORMALIZE,
    B_DISTANCE,
    B_DOT,
    B_CROSS,
    B_VEC2,
    B_VEC3,
    B_HSV,
    B_PALETTE,
    B_WAVE,
    B_TRIANGLE,
    B_SQUARE,
    B_SAW,
    B_TIME,
    B_DECAY,
    B_HASH,
    B_NOISE,
    B_FBM,
    B_AUDIO_BAND,
} builtin_kind;

const ck_builtin ck_builtins[] = {
    {"sin", B_MAP1, 1, 1, OP_SIN, "sin(x)"},
    {"cos", B_MAP1, 1, 1, OP_COS, "cos(x)"},
    {"tan", B_MAP1, 1, 1, OP_TAN, "tan(x)"},
    {"asin", B_MAP1, 1, 1, OP_ASIN, "asin(x)"},
    {"acos", B_MAP1, 1, 1, OP_ACOS, "acos(x)"},
    {"atan", B_ATAN, 1, 2, OP_ATAN, "atan(x)` or `atan(y, x)"},
    {"sinh", B_MAP1, 1, 1, OP_SINH, "sinh(x)"},
    {"cosh", B_MAP1, 1, 1, OP_COSH, "cosh(x)"},
    {"tanh", B_MAP1, 1, 1, OP_TANH, "tanh(x)"},
    {"exp", B_MAP1, 1, 1, OP_EXP, "exp(x)"},
    {"exp2", B_MAP1, 1, 1, OP_EXP2, "exp2(x)"},
    {"log", B_MAP1, 1, 1, OP_LOG, "log(x)"},
    {"log2", B_MAP1, 1, 1, OP_LOG2, "log2(x)"},
    {"sqrt", B_MAP1, 1, 1, OP_SQRT, "sqrt(x)"},
    {"inversesqrt", B_MAP1, 1, 1, OP_INVERSESQRT, "inversesqrt(x)"},
    {"abs", B_MAP1, 1, 1, OP_ABS, "abs(x)"},
    {"sign", B_MAP1, 1, 1, OP_SIGN, "sign(x)"},
    {"floor", B_MAP1, 1, 1, OP_FLOOR, "floor(x)"},
    {"ceil", B_MAP1, 1, 1, OP_CEIL, "ceil(x)"},
    {"round", B_MAP1, 1, 1, OP_ROUND, "round(x)"},
    {"trunc", B_MAP1, 1, 1, OP_TRUNC, "trunc(x)"},
    {"fract", B_MAP1, 1, 1, OP_FRACT, "fract(x)"},
    {"radians", B_MAP1, 1, 1, OP_RADIANS, "radians(x)"},
    {"degrees", B_MAP1, 1, 1, OP_DEGREES, "degrees(x)"},
    {"pow", B_MAP2, 2, 2, OP_POW, "pow(x, y)"},
    {"mod", B_MAP2, 2, 2, OP_MOD, "mod(x, y)"},
    {"min", B_MAP2, 2, 2, OP_MIN, "min(a, b)"},
    {"max", B_MAP2, 2, 2, OP_MAX, "max(a, b)"},
    {"step", B_MAP2, 2, 2, OP_STEP, "step(edge, x)"},
    {"clamp", B_MAP3, 3, 3, OP_CLAMP, "clamp(x, lo, hi)"},
    {"mix", B_MAP3, 3, 3, OP_MIX, "mix(a, b, t)"},
    {"smoothstep", B_MAP3, 3, 3, OP_SMOOTHSTEP, "smoothstep(e0, e1, x)"},
    {"audio.band", B_AUDIO_BAND, 1, 1, 0, "audio.band(k)"},
    {"length", B_LENGTH, 1, 1, 0, "length(v)"},
    {"normalize", B_NORMALIZE, 1, 1, 0, "normalize(v)"},
    {"distance", B_DISTANCE, 2, 2, 0, "distance(a, b)"},
    {"dot", B_DOT, 2, 2, 0, "dot(a, b)"},
    {"cross", B_CROSS, 2, 2, 0, "cross(a, b)"},
    {"vec2", B_VEC2, 1, 2, 0, "vec2(a, b)` or `vec2(a)"},
    {"vec3", B_VEC3, 1, 3, 0, "vec3(a, b, c)` or `vec3(a)"},
    {"rgb", B_VEC3, 1, 3, 0, "rgb(r, g, b)"},
    {"hsv", B_HSV, 3, 3, 0, "hsv(h, s, v)"},
    {"palette", B_PALETTE, 5, 5, 0, "palette(t, a, b, c, d)"},
    {"wave", B_WAVE, 1, 1, 0, "wave(x)"},
    {"triangle", B_TRIANGLE, 1, 1, 0, "triangle(x)"},
    {"square", B_SQUARE, 2, 2, 0, "square(x, duty)"},
    {"saw", B_SAW, 1, 1, 0, "saw(x)"},
    {"time", B_TIME, 1, 1, 0, "time(period)"},
    {"decay", B_DECAY, 1, 1, 0, "decay(half_life)"},
    {"hash", B_HASH, 1, 3, 0, "hash(a)`, `hash(a, b)`, `hash(a, b, c)` or `hash(p)"},
    {"noise", B_NOISE, 1, 1, 0, "noise(p)"},
    {"fbm", B_FBM, 2, 2, 0, "fbm(p, octaves)"},
};

const size_t ck_builtin_count = sizeof ck_builtins / sizeof ck_builtins[0];

/* prev(s, l): three prev_at nodes, one per channel. */
ck_value ck_prev_at_call(ck_checker *ck, const ck_frame *f, const ast_expr *e,
                         const ck_value *args) {
    if (e->nargs != 2) {
        ck_error(ck, f, E_ARITY, e->start, e->end,
                 "`prev` alone is this LED's previous colour; `prev(s, l)` reads another LED's",
                 "`prev` takes 2 arguments, but %u %s given", e->nargs, ck_was_were(e->nargs));
        return CK_ERR;
    }
    if (!ck_need_float(ck, f, e->args[0], args[0], "the strip of `prev(s, l)`") ||
        !ck_need_float(ck, f, e->args[1], args[1], "the LED of `prev(s, l)`"))
        return CK_ERR;
    ck_value v = {CK_TY_VEC3, {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE}};
    for (int c = 0; c < 3; c++)
        v.n[c] = ck_mk(ck, OP_PREV_AT, args[0].n[0], args[1].n[0], GRAPH_NONE, c);
    return ck_done(ck, v);
}

/* Every argument is a number (bools reported); false otherwise. */
static bool numbers(ck_checker *ck, const ck_frame *f, const ast_expr *e, const ck_value *args) {
    for (uint32_t i = 0; i < e->nargs; i++)
        if (!ck_need_number(ck, f, e->args[i], args[i], NULL)) return false;
    return true;
}

static int args_width(ck_checker *ck, const ck_frame *f, const ast_expr *e, const ck_value *args) {
    if (!numbers(ck, f, e, args)) return 0;
    return ck_common_width(ck, f, e, args, (int)e->nargs, E_VECTOR_SIZES,
                           "in the arguments of `%s`", e->name);
}

static void wrong_type(ck_checker *ck, const ck_frame *f, const ast_expr *arg, const char *expected,
                       ck_value v) {
    ck_error(ck, f, E_ARGUMENT_TYPE, arg->start, arg->end, NULL, "expected %s, found `%s`",
             expected, ck_type_name(v.type));
}

/* sqrt(x*x + y*y (+ z*z)), or abs(x) for a float (GLSL's length of a float). */
static node_id length_of(ck_checker *ck, ck_value v) {
    int w = ck_width(v.type);
    if (w == 1) return ck_mk1(ck, OP_ABS, v.n[0]);
    node_id sum = ck_mk2(ck, OP_MUL, v.n[0], v.n[0]);
    for (int i = 1; i < w; i++) sum = ck_mk2(ck, OP_ADD, sum, ck_mk2(ck, OP_MUL, v.n[i], v.n[i]));
    return ck_mk1(ck, OP_SQRT, sum);
}

/* vec2(...), vec3(...), rgb(...): components of the arguments in order, or one float broadcast. */
static ck_value construct(ck_checker *ck, const ck_frame *f, const ast_expr *e,
                          const ck_value *args, int n) {
    if (!numbers(ck, f, e, args)) return CK_ERR;
    if (e->nargs == 1 && args[0].type == CK_TY_FLOAT) return ck_splat(args[0], n);
    ck_value out = {ck_vec_type(n), {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE}};
    int total = 0;
    for (uint32_t i = 0; i < e->nargs; i++)
        for (int c = 0; c < ck_width(args[i].type); c++, total++)
            if (total < 3) out.n[total] = args[i].n[c];
    if (total != n) {
        ck_error(ck, f, E_ARITY, e->start, e->end,
                 diag_fmt(ck->d, "write `%s`", e->sym ? ((const ck_sym *)e->sym)->fn->usage : ""),
                 "`%s` needs %d components, but its arguments have %d", e->name, n, total);
        return CK_ERR;
    }
    return out;
}

/* v * mix(1, clamp(abs(fract(h + o) * 6 - 3) - 1, 0, 1), s), with s and v clamped to [0, 1]. */
static ck_value hsv(ck_checker *ck, const ck_frame *f, const ast_expr *e, const ck_value *args) {
    static const char *const what[] = {"the hue of `hsv`", "the saturation of `hsv`",
                                       "the value of `hsv`"};
    for (int i = 0; i < 3; i++)
        if (!ck_need_float(ck, f, e->args[i], args[i], what[i])) return CK_ERR;
    node_id zero = ck_const(ck, 0), one = ck_const(ck, 1);
    node_id s = ck_mk3(ck, OP_CLAMP, args[1].n[0], zero, one);
    node_id v = ck_mk3(ck, OP_CLAMP, args[2].n[0], zero, one);
    const double offset[3] = {1.0, 2.0 / 3.0, 1.0 / 3.0};
    ck_value out = {CK_TY_VEC3, {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE}};
    for (int c = 0; c < 3; c++) {
        node_id h = ck_mk1(ck, OP_FRACT, ck_mk2(ck, OP_ADD, args[0].n[0], ck_const(ck, offset[c])));
        node_id k = ck_mk2(
            ck, OP_SUB,
            ck_mk1(ck, OP_ABS,
                   ck_mk2(ck, OP_SUB, ck_mk2(ck, OP_MUL, h, ck_const(ck, 6)), ck_const(ck, 3))),
            one);
        k = ck_mk3(ck, OP_CLAMP, k, zero, one);
        out.n[c] = ck_mk2(ck, OP_MUL, v, ck_mk3(ck, OP_MIX, one, k, s));
    }
    return ck_done(ck, out);
}

/* a + b * cos(tau * (c * t + d)), component-wise over vec3 (floats broadcast). */
static ck_value palette(ck_checker *ck, const ck_frame *f, const ast_expr *e,
                        const ck_value *args) {
    if (!numbers(ck, f, e, args)) return CK_ERR;
    for (int i = 0; i < 5; i++) {
        if (args[i].type == CK_TY_VEC2) {
            wrong_type(ck, f, e->args[i], "a `float` or a `vec3`", args[i]);
            return CK_ERR;
        }
    }
    node_id tau = ck_const(ck, 2 * CK_PI);
    ck_value out = {CK_TY_VEC3, {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE}};
    for (int c = 0; c < 3; c++) {
        node_id phase =
            ck_mk2(ck, OP_ADD, ck_mk2(ck, OP_MUL, ck_comp(args[3], c), ck_comp(args[0], c)),
                   ck_comp(args[4], c));
        node_id wave = ck_mk1(ck, OP_COS, ck_mk2(ck, OP_MUL, tau, phase));
        out.n[c] =
            ck_mk2(ck, OP_ADD, ck_comp(args[1], c), ck_mk2(ck, OP_MUL, ck_comp(args[2], c), wave));
    }
    return ck_done(ck, out);
}

/* wave, triangle, saw: expanded per component. */
static ck_value shape(ck_checker *ck, int kind, ck_value x) {
    ck_value out = x;
    for (int i = 0; i < ck_width(x.type); i++) {
        node_id n = x.n[i];
        if (kind == B_WAVE) {
            node_id s = ck_mk1(ck, OP_SIN, ck_mk2(ck, OP_MUL, ck_const(ck, 2 * CK_PI), n));
            out.n[i] =
                ck_mk2(ck, OP_ADD, ck_const(ck, 0.5), ck_mk2(ck, OP_MUL, ck_const(ck, 0.5), s));
        } else if (kind == B_TRIANGLE) {
            node_id u =
                ck_mk2(ck, OP_SUB, ck_mk2(ck, OP_MUL, ck_const(ck, 2), ck_mk1(ck, OP_FRACT, n)),
                       ck_const(ck, 1));
            out.n[i] = ck_mk2(ck, OP_SUB, ck_const(ck, 1), ck_mk1(ck, OP_ABS, u));
        } else {
            out.n[i] = ck_mk1(ck, OP_FRACT, n);
        }
    }
    return ck_done(ck, out);
}

/* fract(t / period), with a period that is constant or per frame (so it runs on the host). */
static ck_value time_call(ck_checker *ck, const ck_frame *f, const ast_expr *e,
                          const ck_value *args) {
    if (!ck_need_float(ck, f, e->args[0], args[0], "the period of `time`")) return CK_ERR;
    node_id which = args[0].n[0];
    if (ck_value_rate(ck, args[0], &which) == RATE_LED) {
        ck_error(ck, f, E_TIME_PER_LED, e->args[0]->start, e->args[0]->end,
                 "`time` is computed once per frame on the host; write `fract(t / period)` for "
                 "a period that changes from LED to LED",
                 "the period of `time` must not depend on per-LED inputs, but it depends on %s",
                 ck_dependency_name(ck, which, RATE_LED));
        return CK_ERR;
    }
    node_id t = ck_mk(ck, OP_T, GRAPH_NONE, GRAPH_NONE, GRAPH_NONE, 0);
    return ck_scalar(ck, CK_TY_FLOAT, ck_mk1(ck, OP_FRACT, ck_mk2(ck, OP_DIV, t, args[0].n[0])));
}

/*
 * h > 0 ? 0.5^(dt / h) : 0, per component: the factor that halves a value
 * every h seconds whatever the frame rate (prev * decay(h) after n frames is
 * 0.5^(n dt / h)). A constant or per-frame h keeps the whole expression per
 * frame, so it runs once on the host; h <= 0 keeps nothing (dt / 0 would be
 * NaN in the first frame, where dt is 0).
 */
static ck_value decay_call(ck_checker *ck, ck_value half_life) {
    node_id dt = ck_mk(ck, OP_DT, GRAPH_NONE, GRAPH_NONE, GRAPH_NONE, 0);
    ck_value out = half_life;
    for (int i = 0; i < ck_width(half_life.type); i++) {
        node_id h = half_life.n[i];
        node_id factor = ck_mk2(ck, OP_POW, ck_const(ck, 0.5), ck_mk2(ck, OP_DIV, dt, h));
        out.n[i] =
            ck_mk3(ck, OP_SELECT, ck_mk2(ck, OP_GT, h, ck_const(ck, 0)), factor, ck_const(ck, 0));
    }
    return ck_done(ck, out);
}

static ck_value hash_call(ck_checker *ck, const ck_frame *f, const ast_expr *e,
                          const ck_value *args) {
    if (!numbers(ck, f, e, args)) return CK_ERR;
    node_id n[3] = {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE};
    int count = 0;
    if (e->nargs == 1) {
        count = ck_width(args[0].type);
        for (int i = 0; i < count; i++) n[i] = args[0].n[i];
    } else {
        for (uint32_t i = 0; i < e->nargs; i++) {
            if (args[i].type != CK_TY_FLOAT) {
                wrong_type(ck, f, e->args[i],
                           "a `float` (with several arguments, each is one number)", args[i]);
                return CK_ERR;
            }
            n[count++] = args[i].n[0];
        }
    }
    static const sky_op ops[] = {OP_HASH1, OP_HASH2, OP_HASH3};
    return ck_scalar(ck, CK_TY_FLOAT, ck_mk(ck, ops[count - 1], n[0], n[1], n[2], 0));
}

static node_id noise_of(ck_checker *ck, ck_value p) {
    return p.type == CK_TY_VEC2 ? ck_mk2(ck, OP_NOISE2, p.n[0], p.n[1])
                                : ck_mk3(ck, OP_NOISE3, p.n[0], p.n[1], p.n[2]);
}

static bool need_point(ck_checker *ck, const ck_frame *f, const ast_expr *arg, ck_value v,
                       const char *name) {
    if (v.type == CK_TY_VEC2 || v.type == CK_TY_VEC3) return true;
    if (v.type == CK_TY_BOOL) return ck_need_number(ck, f, arg, v, NULL);
    ck_error(ck, f, E_ARGUMENT_TYPE, arg->start, arg->end,
             diag_fmt(ck->d, "make a point, as in `%s(vec2(x, y)%s)`", name,
                      strcmp(name, "fbm") == 0 ? ", 4" : ""),
             "`%s` takes a `vec2` or a `vec3`, found `%s`", name, ck_type_name(v.type));
    return false;
}

/* sum_{k<n} 0.5^k noise(2^k p) / sum_{k<n} 0.5^k, with n a constant integer 1..8. */
static ck_value fbm_call(ck_checker *ck, const ck_frame *f, const ast_expr *e,
                         const ck_value *args) {
    if (!need_point(ck, f, e->args[0], args[0], "fbm") ||
        !ck_need_float(ck, f, e->args[1], args[1], "the octave count of `fbm`"))
        return CK_ERR;
    node_id which = args[1].n[0];
    double octaves;
    const ast_expr *narg = e->args[1];
    if (ck_value_rate(ck, args[1], &which) != RATE_CONST ||
        !eval_graph_const(ck->g, args[1].n[0], &octaves)) {
        ck_error(ck, f, E_FBM_OCTAVES, narg->start, narg->end, "write a number such as `5`",
                 "the octave count of `fbm` must be a constant, but it depends on %s",
                 ck_dependency_name(ck, which, RATE_FRAME));
        return CK_ERR;
    }
    if (!(octaves >= 1 && octaves <= 8 && floor(octaves) == octaves)) {
        ck_error(ck, f, E_FBM_OCTAVES, narg->start, narg->end, NULL,
                 "the octave count of `fbm` must be an integer from 1 to 8, found `%g`", octaves);
        return CK_ERR;
    }
    node_id sum = GRAPH_NONE;
    double norm = 0;
    for (int k = 0; k < (int)octaves; k++) {
        double scale = ldexp(1.0, k), weight = ldexp(1.0, -k);
        ck_value p = args[0];
        if (k > 0)
            for (int i = 0; i < ck_width(p.type); i++)
                p.n[i] = ck_mk2(ck, OP_MUL, ck_const(ck, scale), p.n[i]);
        node_id term = noise_of(ck, p);
        if (k > 0) term = ck_mk2(ck, OP_MUL, ck_const(ck, weight), term);
        sum = k == 0 ? term : ck_mk2(ck, OP_ADD, sum, term);
        norm += weight;
    }
    return ck_scalar(ck, CK_TY_FLOAT, ck_mk2(ck, OP_DIV, sum, ck_const(ck, norm)));
}

static ck_value vector_call(ck_checker *ck, const ck_frame *f, const ast_expr *e,
                            const ck_builtin *b, ck_value *args) {
    int w = args_width(ck, f, e, args);
    if (!w) return CK_ERR;
    if (b->kind == B_LENGTH) return ck_scalar(ck, CK_TY_FLOAT, length_of(ck, args[0]));
    if (b->kind == B_NORMALIZE) {
        node_id len = length_of(ck, args[0]);
        ck_value out = args[0];
        for (int i = 0; i < w; i++) out.n[i] = ck_mk2(ck, OP_DIV, args[0].n[i], len);
        return ck_done(ck, out);
    }
    if (b->kind == B_DISTANCE)
        return ck_scalar(ck, CK_TY_FLOAT, length_of(ck, ck_map2(ck, OP_SUB, args[0], args[1], w)));
    /* dot */
    node_id sum = ck_mk2(ck, OP_MUL, ck_comp(args[0], 0), ck_comp(args[1], 0));
    for (int i = 1; i < w; i++)
        sum = ck_mk2(ck, OP_ADD, sum, ck_mk2(ck, OP_MUL, ck_comp(args[0], i), ck_comp(args[1], i)));
    return ck_scalar(ck, CK_TY_FLOAT, sum);
}

static ck_value cross_call(ck_checker *ck, const ck_frame *f, const ast_expr *e,
                           const ck_value *args) {
    for (int i = 0; i < 2; i++) {
        if (args[i].type != CK_TY_VEC3) {
            ck_error(ck, f, E_ARGUMENT_TYPE, e->args[i]->start, e->args[i]->end, NULL,
                     "`cross` takes two `vec3`, found `%s`", ck_type_name(args[i].type));
            return CK_ERR;
        }
    }
    const node_id *a = args[0].n, *b = args[1].n;
    ck_value out = {CK_TY_VEC3, {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE}};
    for (int i = 0; i < 3; i++) {
        int j = (i + 1) % 3, k = (i + 2) % 3;
        out.n[i] =
            ck_mk2(ck, OP_SUB, ck_mk2(ck, OP_MUL, a[j], b[k]), ck_mk2(ck, OP_MUL, a[k], b[j]));
    }
    return ck_done(ck, out);
}

static bool check_arity(ck_checker *ck, const ck_frame *f, const ast_expr *e, const ck_builtin *b) {
    if (e->nargs >= b->min_args && e->nargs <= b->max_args) return true;
    const char *help = diag_fmt(ck->d, "write `%s`", b->usage);
    if (b->min_args == b->max_args)
        ck_error(ck, f, E_ARITY, e->start, e->end, help, "`%s` takes %u %s, but %u %s given",
                 b->name, b->min_args, ck_arguments_word(b->min_args), e->nargs,
                 ck_was_were(e->nargs));
    else
        ck_error(ck, f, E_ARITY, e->start, e->end, help,
                 "`%s` takes %u to %u arguments, but %u %s given", b->name, b->min_args,
                 b->max_args, e->nargs, ck_was_were(e->nargs));
    return false;
}

/*
 * audio.band(k): band floor(k) clamped to 0..15; a NaN k reads band 0. A
 * constant k is one leaf; any other k selects among the 16 leaves, so it
 * works at whatever rate k has (per frame: hoisted with it; per LED: 15
 * comparisons and selects).
 */
static ck_value audio_band_call(ck_checker *ck, const ck_frame *f, const ast_expr *e,
                                const ck_value *args) {
    if (!ck_need_float(ck, f, e->args[0], args[0], "the band index of `audio.band`"))
        return CK_ERR;
    node_id k = args[0].n[0];
    const graph_node *kn = graph_get(ck->g, k);
    if (kn && kn->op == OP_CONST) {
        double band = kn->imm >= SKY_AUDIO_BANDS - 1 ? SKY_AUDIO_BANDS - 1
                      : kn->imm >= 0                 ? floor(kn->imm)
                                                     : 0;
        return ck_scalar(ck, CK_TY_FLOAT,
                         ck_mk(ck, OP_AUDIO, GRAPH_NONE, GRAPH_NONE, GRAPH_NONE,
                               AUDIO_LEAF_BAND0 + band));
    }
    node_id v = ck_mk(ck, OP_AUDIO, GRAPH_NONE, GRAPH_NONE, GRAPH_NONE, AUDIO_LEAF_BAND0);
    for (int band = 1; band < SKY_AUDIO_BANDS; band++) {
        node_id leaf = ck_mk(ck, OP_AUDIO, GRAPH_NONE, GRAPH_NONE, GRAPH_NONE,
                             AUDIO_LEAF_BAND0 + band);
        v = ck_mk3(ck, OP_SELECT, ck_mk2(ck, OP_GE, k, ck_const(ck, band)), leaf, v);
    }
    return ck_scalar(ck, CK_TY_FLOAT, v);
}

ck_value ck_builtin_call(ck_checker *ck, const ck_frame *f, const ast_expr *e, const ck_builtin *b,
                         ck_value *args) {
    if (!check_arity(ck, f, e, b)) return CK_ERR;
    int w;
    switch ((builtin_kind)b->kind) {
    case B_MAP1:
        return ck_need_number(ck, f, e->args[0], args[0], NULL) ? ck_map1(ck, b->op, args[0])
                                                                : CK_ERR;
    case B_ATAN:
        if (e->nargs == 1)
            return ck_need_number(ck, f, e->args[0], args[0], NULL) ? ck_map1(ck, OP_ATAN, args[0])
                                                                    : CK_ERR;
        w = args_width(ck, f, e, args);
        return w ? ck_map2(ck, OP_ATAN2, args[0], args[1], w) : CK_ERR;
    case B_MAP2:
    case B_MAP3:
        w = args_width(ck, f, e, args);
        return w ? ck_map_op(ck, b->op, w, args, (int)e->nargs, ck_vec_type(w)) : CK_ERR;
    case B_LENGTH:
    case B_NORMALIZE:
    case B_DISTANCE:
    case B_DOT:
        return vector_call(ck, f, e, b, args);
    case B_CROSS:
        return cross_call(ck, f, e, args);
    case B_VEC2:
        return construct(ck, f, e, args, 2);
    case B_VEC3:
        return construct(ck, f, e, args, 3);
    case B_HSV:
        return hsv(ck, f, e, args);
    case B_PALETTE:
        return palette(ck, f, e, args);
    case B_WAVE:
    case B_TRIANGLE:
    case B_SAW:
        return ck_need_number(ck, f, e->args[0], args[0], NULL) ? shape(ck, b->kind, args[0])
                                                                : CK_ERR;
    case B_SQUARE: {
        w = args_width(ck, f, e, args);
        if (!w) return CK_ERR;
        ck_value out = {ck_vec_type(w), {GRAPH_NONE, GRAPH_NONE, GRAPH_NONE}};
        for (int i = 0; i < w; i++) {
            node_id below =
                ck_mk2(ck, OP_LT, ck_mk1(ck, OP_FRACT, ck_comp(args[0], i)), ck_comp(args[1], i));
            out.n[i] = ck_mk3(ck, OP_SELECT, below, ck_const(ck, 1), ck_const(ck, 0));
        }
        return ck_done(ck, out);
    }
    case B_TIME:
        return time_call(ck, f, e, args);
    case B_DECAY:
        return ck_need_number(ck, f, e->args[0], args[0], NULL) ? decay_call(ck, args[0]) : CK_ERR;
    case B_HASH:
        return hash_call(ck, f, e, args);
    case B_NOISE:
        return need_point(ck, f, e->args[0], args[0], "noise")
                   ? ck_scalar(ck, CK_TY_FLOAT, noise_of(ck, args[0]))
                   : CK_ERR;
    case B_FBM:
        return fbm_call(ck, f, e, args);
    case B_AUDIO_BAND:
        return audio_band_call(ck, f, e, args);
    }
    return CK_ERR;
}
