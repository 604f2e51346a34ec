/*
 * ref.c - an independent reference interpreter for generated programs, in
 * double precision, with optional perturbed arithmetic.
 *
 * It walks the generator's syntax tree directly (never the compiler's graph),
 * with the language's semantics written out again here from its contract,
 * docs/language.md, including its exact edge cases: floored mod, round half
 * away from zero, C's pow, atan(0, 0) = 0, NaN-aware min/max/clamp/step/sign,
 * hash and noise in float32 (as the contract says, also for double
 * arguments), prev(s, l) with its wrapping and bounds. fn calls bind their
 * argument values (so fns are generic for free), reductions loop.
 *
 * Modes. Exact: everything in double. Float emulation: every per-LED result
 * is rounded to float32, and per-frame values and constants (computed in
 * double) are rounded when they enter a per-LED operation, as the compiler's
 * two sections do; operations are evaluated in the order the checker lowers
 * them (hsv, mix, length, dot, smoothstep... as the spec writes them), so this
 * mode tracks the CPU evaluator closely without sharing any of its code.
 *
 * Why: the runner compares these with the compiler's float evaluation to
 * decide whether a LED's colour depends on float rounding (see run.c). The
 * same purpose has perturbed arithmetic ("Monte Carlo arithmetic"): with
 * delta > 0, every per-LED operation that a GPU may round differently from
 * the CPU -- division, sqrt, and the transcendental functions, whose GPU
 * versions are approximations -- has its result scaled by (1 + delta * u),
 * u uniform in [-1, 1], and the trigonometric functions also their argument
 * (a GPU's range reduction loses precision on large arguments). Additions,
 * subtractions and multiplications are not perturbed: with NoContraction
 * (docs/shader-abi.md) they are correctly rounded IEEE operations on both
 * sides. Per-frame values (no per-LED input in them) are not perturbed
 * either: the host computes them once for both the CPU and the device.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

#define REF_MAX_STEPS 20000000u

/* A value with its rate: per LED (depends on a per-LED input) or not. */
typedef struct val {
    ref_value x;
    bool led;
    bool inexact; /* depends on an inexact per-LED operation: a GPU may differ in its last bits */
} val;

struct ref_eval {
    const gen_program *p;
    val *lets;          /* by declaration index */
    double *rvars;      /* by reduction node index: the variable's current value */
    const ref_frame *f; /* the frame being evaluated */
    uint32_t led;
    bool float_led;   /* float emulation: per-LED results rounded to float32 */
    double delta;     /* scale of the perturbations (0: none) */
    ref_draw draw;    /* how each perturbation's direction is drawn */
    bool inexact;     /* the node being evaluated ran an inexact per-LED operation */
    bool child_taint; /* an operand of the node being evaluated is inexact */
    gen_rng rng;
    unsigned flags;
    uint64_t steps;
};

ref_eval *ref_eval_create(const gen_program *p) {
    ref_eval *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->p = p;
    e->lets = calloc(p->decl_count ? p->decl_count : 1, sizeof *e->lets);
    e->rvars = calloc(p->node_count ? p->node_count : 1, sizeof *e->rvars);
    if (!e->lets || !e->rvars) {
        ref_eval_free(e);
        return NULL;
    }
    return e;
}

void ref_eval_free(ref_eval *e) {
    if (!e) return;
    free(e->lets);
    free(e->rvars);
    free(e);
}

/* ------------------------------------------------------- float32 helpers */

static uint32_t bits_of(float f) {
    if (f == 0) return 0u;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static uint32_t pcg(uint32_t v) {
    uint32_t s = v * 747796405u + 2891336453u;
    uint32_t w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
    return (w >> 22u) ^ w;
}

static double unit_of(uint32_t h) {
    return (double)(h >> 8) * 0x1p-24;
}

static float mixf(float a, float b, float t) {
    return a * (1.0f - t) + b * t;
}

static float fadef(float f) {
    return f * f * f * (f * (f * 6.0f - 15.0f) + 10.0f);
}

/* The spec's gradient noise, in float32, evaluated in the spec's order. */
static double noise2f(float x, float y) {
    static const float h = 0.70710678118654752f;
    static const float g[8][2] = {{1, 0}, {-1, 0}, {0, 1},  {0, -1},
                                  {h, h}, {-h, h}, {h, -h}, {-h, -h}};
    float ix = floorf(x), iy = floorf(y), fx = x - ix, fy = y - iy;
    float v[2][2];
    for (int oy = 0; oy < 2; oy++)
        for (int ox = 0; ox < 2; ox++) {
            uint32_t k = pcg(pcg(bits_of(ix + (float)ox)) + bits_of(iy + (float)oy)) % 8u;
            v[oy][ox] = g[k][0] * (fx - (float)ox) + g[k][1] * (fy - (float)oy);
        }
    float ux = fadef(fx), uy = fadef(fy);
    return mixf(mixf(v[0][0], v[0][1], ux), mixf(v[1][0], v[1][1], ux), uy) * 1.41421356237309505f;
}

static double noise3f(float x, float y, float z) {
    static const float g[12][3] = {
        {1, 1, 0},  {-1, 1, 0},  {1, -1, 0}, {-1, -1, 0}, {1, 0, 1},  {-1, 0, 1},
        {1, 0, -1}, {-1, 0, -1}, {0, 1, 1},  {0, -1, 1},  {0, 1, -1}, {0, -1, -1},
    };
    float i[3] = {floorf(x), floorf(y), floorf(z)};
    float f[3] = {x - i[0], y - i[1], z - i[2]};
    float v[2][2][2];
    for (int oz = 0; oz < 2; oz++)
        for (int oy = 0; oy < 2; oy++)
            for (int ox = 0; ox < 2; ox++) {
                uint32_t hh = pcg(bits_of(i[0] + (float)ox)) + bits_of(i[1] + (float)oy);
                uint32_t k = pcg(pcg(hh) + bits_of(i[2] + (float)oz)) % 12u;
                v[oz][oy][ox] = g[k][0] * (f[0] - (float)ox) + g[k][1] * (f[1] - (float)oy) +
                                g[k][2] * (f[2] - (float)oz);
            }
    float ux = fadef(f[0]), uy = fadef(f[1]), uz = fadef(f[2]);
    float y0 = mixf(mixf(v[0][0][0], v[0][0][1], ux), mixf(v[0][1][0], v[0][1][1], ux), uy);
    float y1 = mixf(mixf(v[1][0][0], v[1][0][1], ux), mixf(v[1][1][0], v[1][1][1], ux), uy);
    return mixf(y0, y1, uz);
}

/* ------------------------------------------------------------ arithmetic */

static void note(ref_eval *e, double v) {
    if (v != 0 && fabs(v) < FLT_MIN) e->flags |= REF_SUBNORMAL;
}

/* In float emulation, a per-LED result rounded to float32 as the evaluator's float section does. */
static double rd(ref_eval *e, bool led, double x) {
    if (!e->float_led || !led) return x;
    float f = (float)x;
    note(e, f);
    return f;
}

/* A constant of the per-LED section: computed in double, used as a float there. */
static double cst(ref_eval *e, bool led, double x) {
    return e->float_led && led ? (double)(float)x : x;
}

/*
 * How far a GPU's result of an operation may be from the correctly rounded
 * one: a relative and an absolute bound. From the precision the Vulkan spec
 * requires (division 2.5 ulp, exp (3 + 2|x|) ulp, log 3 ulp or 2^-21, atan
 * 4096 ulp, asin and acos through atan2) and from measuring lavapipe against
 * the CPU (asin and acos are off by up to 4e-4, tan by 1e-4 of its value; sin
 * and cos, division and sqrt by about an ulp); sin and cos get a bound far
 * below Vulkan's 2^-11 absolute, which would make nearly every pattern with a
 * sine "untame", and which no device we know needs.
 */
typedef struct err_bound {
    double rel, abs;
} err_bound;

static const err_bound ERR_DIV = {0x1p-21, 0};       /* division, sqrt, inversesqrt */
static const err_bound ERR_SIN = {0x1p-20, 0x1p-20}; /* sin, cos (argument: ERR_ARG) */
static const err_bound ERR_ARG = {0x1p-22, 0};       /* range reduction of trig arguments */
static const err_bound ERR_TAN = {0x1p-13, 0x1p-20};
static const err_bound ERR_ASIN = {0x1p-10, 0x1p-10}; /* asin, acos */
static const err_bound ERR_ATAN = {0x1p-14, 0x1p-16}; /* atan, atan(y, x) */
static const err_bound ERR_HYP = {0x1p-16, 0x1p-20};  /* sinh, cosh, tanh */
static const err_bound ERR_EXP = {0x1p-20, 0};        /* exp, exp2; pow scales it */
static const err_bound ERR_LOG = {0x1p-20, 0x1p-20};  /* log, log2 */

/* x off by up to the bound (times the mode's delta), for per-LED values only. */
static double pert(ref_eval *e, bool led, double x, const err_bound *b) {
    if (e->delta <= 0 || !led || !isfinite(x)) return x;
    double u;
    switch (e->draw) {
    case REF_DRAW_UP:
        u = 1;
        break;
    case REF_DRAW_DOWN:
        u = -1;
        break;
    case REF_DRAW_SIGNS:
        u = gen_rng_next(&e->rng) >> 63 ? 1 : -1;
        break;
    default:
        u = gen_rng_unit(&e->rng) * 2 - 1;
        break;
    }
    return x + e->delta * u * (b->rel * fabs(x) + b->abs);
}

/* An inexact per-LED operation's result: perturbed, then rounded; and marked inexact. */
static double inexact(ref_eval *e, bool led, double x, const err_bound *b) {
    if (led) e->inexact = true;
    return rd(e, led, pert(e, led, x, b));
}

static double sign_d(double x) {
    return x > 0 ? 1 : (x < 0 ? -1 : 0);
}
static double min_d(double a, double b) {
    return b < a ? b : a;
}
static double max_d(double a, double b) {
    return a < b ? b : a;
}
static double clamp_d(double x, double lo, double hi) {
    return min_d(max_d(x, lo), hi);
}
/*
 * The fraction of an inexact value beyond FRACT_CHAOS: a float's spacing there
 * is 1/8 or more, so a GPU's last bit changes the fraction by that much (hsv's
 * hue, saw, mod): as good as random (REF_CHAOTIC). The operands' inexactness
 * is the node's (child_taint); mod's quotient is always inexact (a division).
 */
#define FRACT_CHAOS 0x1p20

static double fract_d(ref_eval *e, bool led, double x) {
    if (led && e->child_taint && fabs(x) > FRACT_CHAOS) e->flags |= REF_CHAOTIC;
    return rd(e, led, x - floor(x));
}

static double round_d(ref_eval *e, bool led, double x) {
    double t = trunc(x);
    return rd(e, led, t + (fabs(rd(e, led, x - t)) >= 0.5 ? sign_d(x) : 0));
}

static double mod_d(ref_eval *e, bool led, double a, double b) {
    if (led && fabs(a / b) > FRACT_CHAOS) e->flags |= REF_CHAOTIC;
    double q = floor(inexact(e, led, a / b, &ERR_DIV));
    return rd(e, led, a - rd(e, led, b * q));
}

static double pow_d(ref_eval *e, bool led, double x, double y) {
    if (isnan(x) || isnan(y)) return x + y;
    if (x == 0) return y > 0 ? 0 : (y == 0 ? 1 : INFINITY);
    if (x < 0 && y != floor(y)) return NAN;
    double m = pow(fabs(x), y);
    /* A GPU's pow is exp2(y * log2(x)): its error grows with |y * log2(x)|. */
    err_bound b = {ERR_EXP.rel * (1 + fabs(y * log2(fabs(x)))), 0};
    if (led) e->inexact = true;
    m = pert(e, led, m, &b);
    if (x < 0 && isfinite(y) && fmod(y, 2) != 0) m = -m;
    return rd(e, led, m);
}

/*
 * sin, cos, tan: the argument is perturbed too (range reduction on a GPU).
 * Beyond TRIG_CHAOS a float's last bit moves the argument by a noticeable part
 * of a period and GPUs reduce it with too little precision (Vulkan promises
 * accuracy only in [-pi, pi]): the result is as good as random, REF_CHAOTIC.
 */
#define TRIG_CHAOS 16384.0

static double trig(ref_eval *e, bool led, double (*fn)(double), double a, const err_bound *b) {
    if (led && fabs(a) > TRIG_CHAOS) e->flags |= REF_CHAOTIC;
    return inexact(e, led, fn(pert(e, led, a, &ERR_ARG)), b);
}

/* One component of a one-argument built-in. */
static double map1(ref_eval *e, gen_builtin f, bool led, double a) {
    switch (f) {
    case GF_SIN:
        return trig(e, led, sin, a, &ERR_SIN);
    case GF_COS:
        return trig(e, led, cos, a, &ERR_SIN);
    case GF_TAN:
        return trig(e, led, tan, a, &ERR_TAN);
    case GF_ASIN:
        return inexact(e, led, asin(a), &ERR_ASIN);
    case GF_ACOS:
        return inexact(e, led, acos(a), &ERR_ASIN);
    case GF_ATAN:
        return inexact(e, led, atan(a), &ERR_ATAN);
    case GF_SINH:
        return inexact(e, led, sinh(a), &ERR_HYP);
    case GF_COSH:
        return inexact(e, led, cosh(a), &ERR_HYP);
    case GF_TANH:
        return inexact(e, led, tanh(a), &ERR_HYP);
    case GF_EXP:
        return inexact(e, led, exp(a), &ERR_EXP);
    case GF_EXP2:
        return inexact(e, led, exp2(a), &ERR_EXP);
    case GF_LOG:
        return inexact(e, led, log(a), &ERR_LOG);
    case GF_LOG2:
        return inexact(e, led, log2(a), &ERR_LOG);
    case GF_SQRT:
        return inexact(e, led, sqrt(a), &ERR_DIV);
    case GF_INVERSESQRT:
        return inexact(e, led, 1 / inexact(e, led, sqrt(a), &ERR_DIV), &ERR_DIV);
    case GF_ABS:
        return fabs(a);
    case GF_SIGN:
        return sign_d(a);
    case GF_FLOOR:
        return floor(a);
    case GF_CEIL:
        return ceil(a);
    case GF_ROUND:
        return round_d(e, led, a);
    case GF_TRUNC:
        return trunc(a);
    case GF_FRACT:
        return fract_d(e, led, a);
    case GF_RADIANS:
        return rd(e, led, a * cst(e, led, M_PI / 180.0));
    case GF_DEGREES:
        return rd(e, led, a * cst(e, led, 180.0 / M_PI));
    default:
        return NAN;
    }
}

static double mix_d(ref_eval *e, bool led, double a, double b, double t) {
    return rd(e, led, rd(e, led, a * rd(e, led, 1 - t)) + rd(e, led, b * t));
}

static double smoothstep_d(ref_eval *e, bool led, double e0, double e1, double x) {
    if (e0 == e1) return x < e0 ? 0 : 1;
    double u = clamp_d(inexact(e, led, rd(e, led, x - e0) / rd(e, led, e1 - e0), &ERR_DIV), 0, 1);
    return rd(e, led, rd(e, led, u * u) * rd(e, led, 3 - rd(e, led, 2 * u)));
}

static double map2(ref_eval *e, gen_builtin f, bool led, double a, double b) {
    switch (f) {
    case GF_ATAN2:
        return (a == 0 && b == 0) ? 0 : inexact(e, led, atan2(a, b), &ERR_ATAN);
    case GF_POW:
        return pow_d(e, led, a, b);
    case GF_MOD:
        return mod_d(e, led, a, b);
    case GF_MIN:
        return min_d(a, b);
    case GF_MAX:
        return max_d(a, b);
    case GF_STEP:
        return b < a ? 0 : 1;
    default:
        return NAN;
    }
}

static double map3(ref_eval *e, gen_builtin f, bool led, double a, double b, double c) {
    switch (f) {
    case GF_CLAMP:
        return clamp_d(a, b, c);
    case GF_MIX:
        return mix_d(e, led, a, b, c);
    case GF_SMOOTHSTEP:
        return smoothstep_d(e, led, a, b, c);
    default:
        return NAN;
    }
}

/* Component i of v, a float broadcasting. */
static double comp(const ref_value *v, int i) {
    return v->v[v->width == 1 ? 0 : i];
}

static int widest(const val *a, int n) {
    int w = 1;
    for (int i = 0; i < n; i++)
        if (a[i].x.width > w) w = a[i].x.width;
    return w;
}

/*
 * Whether any operand is per LED; in float emulation the others (per-frame
 * values and constants, computed in double) are then rounded to float, as the
 * compiler hands them to the per-LED section.
 */
static bool led_operands(ref_eval *e, val *a, int n) {
    bool led = false;
    for (int i = 0; i < n; i++) led |= a[i].led;
    if (led && e->float_led)
        for (int i = 0; i < n; i++)
            if (!a[i].led)
                for (int c = 0; c < a[i].x.width; c++) a[i].x.v[c] = rd(e, true, a[i].x.v[c]);
    return led;
}

static val make(int width, bool led) {
    val r;
    memset(&r, 0, sizeof r);
    r.x.width = (uint8_t)width;
    r.led = led;
    return r;
}

static val scalar(double v, bool led) {
    val r = make(1, led);
    r.x.v[0] = v;
    return r;
}

/* sqrt(x*x + y*y (+ z*z)), summed left to right as the checker lowers it. */
static double length_of(ref_eval *e, const val *v) {
    bool led = v->led;
    double s = rd(e, led, v->x.v[0] * v->x.v[0]);
    for (int i = 1; i < v->x.width; i++) s = rd(e, led, s + rd(e, led, v->x.v[i] * v->x.v[i]));
    return inexact(e, led, sqrt(s), &ERR_DIV);
}

/* ------------------------------------------------------------ evaluation */

static val eval(ref_eval *e, int32_t id, const val *args);

static double binop(ref_eval *e, int op, bool led, double a, double b) {
    switch (op) {
    case GB_ADD:
        return rd(e, led, a + b);
    case GB_SUB:
        return rd(e, led, a - b);
    case GB_MUL:
        return rd(e, led, a * b);
    case GB_DIV:
        return inexact(e, led, a / b, &ERR_DIV);
    case GB_MOD:
        return mod_d(e, led, a, b);
    case GB_POW:
        return pow_d(e, led, a, b);
    case GB_LT:
        return a < b;
    case GB_LE:
        return a <= b;
    case GB_GT:
        return a > b;
    case GB_GE:
        return a >= b;
    case GB_EQ:
        return a == b;
    case GB_NE:
        return a != b;
    case GB_AND:
        return a != 0 && b != 0;
    default:
        return a != 0 || b != 0;
    }
}

static val eval_binop(ref_eval *e, const gen_node *n, const val *args) {
    val ab[2] = {eval(e, n->a[0], args), eval(e, n->a[1], args)};
    bool led = led_operands(e, ab, 2);
    int w = widest(ab, 2);
    val r = make(w, led);
    for (int i = 0; i < w; i++) {
        r.x.v[i] = binop(e, n->op, led, comp(&ab[0].x, i), comp(&ab[1].x, i));
        note(e, r.x.v[i]);
    }
    return r;
}

/* v * mix(1, clamp(abs(fract(h + o) * 6 - 3) - 1, 0, 1), s), s and v clamped first. */
static val eval_hsv(ref_eval *e, bool led, const val *a) {
    double h = a[0].x.v[0], s = clamp_d(a[1].x.v[0], 0, 1), v = clamp_d(a[2].x.v[0], 0, 1);
    static const double offset[3] = {1.0, 2.0 / 3.0, 1.0 / 3.0};
    val r = make(3, led);
    for (int c = 0; c < 3; c++) {
        double hc = fract_d(e, led, rd(e, led, h + cst(e, led, offset[c])));
        double k = rd(e, led, fabs(rd(e, led, rd(e, led, hc * 6) - 3)) - 1);
        r.x.v[c] = rd(e, led, v * mix_d(e, led, 1, clamp_d(k, 0, 1), s));
    }
    return r;
}

static val eval_prev_at(ref_eval *e, const val *a) {
    val r = make(3, true);
    const ref_frame *f = e->f;
    double s = a[0].x.v[0], l = a[1].x.v[0];
    if (!f->prev || !isfinite(s) || !isfinite(l)) return r;
    double n = f->strip_count, si = floor(s);
    si = si - n * floor(si / n);
    double li = floor(l);
    if (si < 0 || si >= n) return r; /* cannot happen for finite s, kept for safety */
    uint32_t strip = (uint32_t)si;
    if (li < 0 || li >= f->strip_sizes[strip]) return r;
    uint32_t first = 0;
    for (uint32_t i = 0; i < strip; i++) first += f->strip_sizes[i];
    size_t led = first + (size_t)li;
    for (int c = 0; c < 3; c++) r.x.v[c] = f->prev[led * 3 + (size_t)c];
    return r;
}

static double noise_of(const ref_value *p, double scale) {
    if (p->width == 2) return noise2f((float)(p->v[0] * scale), (float)(p->v[1] * scale));
    return noise3f((float)(p->v[0] * scale), (float)(p->v[1] * scale), (float)(p->v[2] * scale));
}

/*
 * Noise at an inexact point beyond NOISE_CHAOS: a float's last bit there moves
 * the point by a good part of a lattice cell, whose corners hash the bits
 * of floor(p); the value is as good as random (REF_CHAOTIC).
 */
#define NOISE_CHAOS 0x1p20

static void noise_chaos(ref_eval *e, const val *p, double scale) {
    if (!p->led || !p->inexact) return;
    for (int i = 0; i < p->x.width; i++)
        if (fabs(p->x.v[i] * scale) > NOISE_CHAOS) e->flags |= REF_CHAOTIC;
}

static uint32_t hash_bits(const val *v, int i) {
    return bits_of((float)v->x.v[i]);
}

static val eval_shape(ref_eval *e, gen_builtin f, bool led, const val *a, int w) {
    val r = make(w, led);
    double tau = cst(e, led, 2 * M_PI);
    for (int i = 0; i < w; i++) {
        double x = comp(&a[0].x, i);
        if (f == GF_WAVE)
            r.x.v[i] = rd(e, led,
                          0.5 + rd(e, led, 0.5 * trig(e, led, sin, rd(e, led, tau * x), &ERR_SIN)));
        else if (f == GF_TRIANGLE)
            r.x.v[i] = rd(e, led, 1 - fabs(rd(e, led, rd(e, led, 2 * fract_d(e, led, x)) - 1)));
        else if (f == GF_SAW)
            r.x.v[i] = fract_d(e, led, x);
        else /* square */
            r.x.v[i] = fract_d(e, led, x) < comp(&a[1].x, i) ? 1 : 0;
    }
    return r;
}

static val eval_vector(ref_eval *e, gen_builtin f, bool led, const val *a, int w) {
    val r = make(w, led);
    switch (f) {
    case GF_LENGTH:
        return scalar(length_of(e, &a[0]), led);
    case GF_DISTANCE: {
        val d = make(w, led);
        for (int i = 0; i < w; i++) d.x.v[i] = rd(e, led, comp(&a[0].x, i) - comp(&a[1].x, i));
        return scalar(length_of(e, &d), led);
    }
    case GF_DOT: {
        double s = rd(e, led, comp(&a[0].x, 0) * comp(&a[1].x, 0));
        for (int i = 1; i < w; i++)
            s = rd(e, led, s + rd(e, led, comp(&a[0].x, i) * comp(&a[1].x, i)));
        return scalar(s, led);
    }
    case GF_NORMALIZE: {
        double len = length_of(e, &a[0]);
        for (int i = 0; i < w; i++) r.x.v[i] = inexact(e, led, a[0].x.v[i] / len, &ERR_DIV);
        return r;
    }
    default: /* cross */
        for (int i = 0; i < 3; i++) {
            int j = (i + 1) % 3, k = (i + 2) % 3;
            r.x.v[i] =
                rd(e, led,
                   rd(e, led, a[0].x.v[j] * a[1].x.v[k]) - rd(e, led, a[0].x.v[k] * a[1].x.v[j]));
        }
        return r;
    }
}

static val eval_builtin(ref_eval *e, const gen_node *n, const val *args) {
    val a[GEN_MAX_ARGS];
    for (int i = 0; i < n->nargs; i++) a[i] = eval(e, n->a[i], args);
    gen_builtin f = (gen_builtin)n->op;
    bool led = led_operands(e, a, n->nargs);
    int w = widest(a, n->nargs);
    val r = make(w, led);
    switch (f) {
    case GF_ATAN2:
    case GF_POW:
    case GF_MOD:
    case GF_MIN:
    case GF_MAX:
    case GF_STEP:
        for (int i = 0; i < w; i++) r.x.v[i] = map2(e, f, led, comp(&a[0].x, i), comp(&a[1].x, i));
        break;
    case GF_CLAMP:
    case GF_MIX:
    case GF_SMOOTHSTEP:
        for (int i = 0; i < w; i++)
            r.x.v[i] = map3(e, f, led, comp(&a[0].x, i), comp(&a[1].x, i), comp(&a[2].x, i));
        break;
    case GF_LENGTH:
    case GF_DISTANCE:
    case GF_DOT:
    case GF_NORMALIZE:
    case GF_CROSS:
        r = eval_vector(e, f, led, a, w);
        break;
    case GF_VEC2:
    case GF_VEC3:
    case GF_RGB:
        r = make(n->nargs, led);
        for (int i = 0; i < n->nargs; i++) r.x.v[i] = a[i].x.v[0];
        break;
    case GF_VEC3_SPLAT:
        r = make(3, led);
        for (int i = 0; i < 3; i++) r.x.v[i] = a[0].x.v[0];
        break;
    case GF_HSV:
        r = eval_hsv(e, led, a);
        break;
    case GF_PALETTE:
        r = make(3, led);
        for (int c = 0; c < 3; c++) {
            double ph =
                rd(e, led, rd(e, led, comp(&a[3].x, c) * comp(&a[0].x, c)) + comp(&a[4].x, c));
            double cs = trig(e, led, cos, rd(e, led, cst(e, led, 2 * M_PI) * ph), &ERR_SIN);
            r.x.v[c] = rd(e, led, comp(&a[1].x, c) + rd(e, led, comp(&a[2].x, c) * cs));
        }
        break;
    case GF_WAVE:
    case GF_TRIANGLE:
    case GF_SAW:
    case GF_SQUARE:
        r = eval_shape(e, f, led, a, w);
        break;
    case GF_TIME: /* per frame, on the host in double: never perturbed nor rounded */
        r = scalar(e->f->t / a[0].x.v[0], false);
        r.x.v[0] -= floor(r.x.v[0]);
        break;
    case GF_HASH1:
    case GF_HASH2:
    case GF_HASH3: {
        uint32_t h = pcg(hash_bits(&a[0], 0));
        for (int i = 1; i < n->nargs; i++) h = pcg(h + hash_bits(&a[i], 0));
        r = scalar(unit_of(h), led);
        break;
    }
    case GF_HASHV: {
        uint32_t h = pcg(hash_bits(&a[0], 0));
        for (int i = 1; i < a[0].x.width; i++) h = pcg(h + hash_bits(&a[0], i));
        r = scalar(unit_of(h), led);
        break;
    }
    case GF_NOISE:
        noise_chaos(e, &a[0], 1);
        r = scalar(noise_of(&a[0].x, 1), led);
        break;
    case GF_FBM: { /* sum_k 0.5^k noise(2^k p) / sum_k 0.5^k, summed in order */
        int octaves = (int)a[1].x.v[0];
        noise_chaos(e, &a[0], ldexp(1.0, octaves - 1));
        double sum = 0, norm = 0;
        for (int k = 0; k < octaves; k++) {
            double weight = ldexp(1.0, -k);
            double term = rd(e, led, weight * noise_of(&a[0].x, ldexp(1.0, k)));
            sum = k ? rd(e, led, sum + term) : term;
            norm += weight;
        }
        r = scalar(inexact(e, led, sum / cst(e, led, norm), &ERR_DIV), led);
        break;
    }
    case GF_PREV_AT:
        r = eval_prev_at(e, a);
        break;
    default: /* one-argument component-wise */
        for (int i = 0; i < w; i++) r.x.v[i] = map1(e, f, led, a[0].x.v[i]);
        break;
    }
    for (int i = 0; i < r.x.width; i++) note(e, r.x.v[i]);
    return r;
}

static val eval_input(ref_eval *e, gen_input in) {
    const ref_frame *f = e->f;
    const sky_led_input *l = &f->leds[e->led];
    switch (in) {
    case GI_X:
        return scalar(l->x, true);
    case GI_Y:
        return scalar(l->y, true);
    case GI_R:
        return scalar(l->r, true);
    case GI_THETA:
        return scalar(l->theta, true);
    case GI_STRIP:
        return scalar(l->strip, true);
    case GI_LED:
        return scalar(l->led, true);
    case GI_LEDS:
        return scalar(l->leds, true);
    case GI_INDEX:
        return scalar(e->led, true);
    case GI_T:
        return scalar(f->t, false);
    case GI_DT:
        return scalar(f->dt, false);
    case GI_FRAME:
        return scalar(f->frame, false);
    case GI_STRIPS:
        return scalar(f->strip_count, false);
    case GI_COUNT:
        return scalar(f->led_count, false);
    case GI_PI:
        return scalar(M_PI, false);
    case GI_TAU:
        return scalar(2 * M_PI, false);
    default:
        return scalar(M_E, false);
    }
}

static val eval_reduce(ref_eval *e, const gen_node *n, int32_t id, const val *args) {
    val acc = make(1, false);
    for (double k = n->lo; k < n->hi; k++) {
        e->rvars[id] = k;
        val v = eval(e, n->a[0], args);
        if (k == n->lo) {
            acc = v;
            continue;
        }
        val both[2] = {acc, v};
        bool led = led_operands(e, both, 2);
        acc = both[0];
        acc.led = led;
        for (int i = 0; i < v.x.width; i++) {
            double a = acc.x.v[i], b = both[1].x.v[i];
            switch (n->op) {
            case GR_SUM:
                acc.x.v[i] = rd(e, led, a + b);
                break;
            case GR_PRODUCT:
                acc.x.v[i] = rd(e, led, a * b);
                break;
            case GR_MIN:
                acc.x.v[i] = min_d(a, b);
                break;
            default:
                acc.x.v[i] = max_d(a, b);
                break;
            }
            note(e, acc.x.v[i]);
        }
    }
    return acc;
}

static val eval_cond(ref_eval *e, const gen_node *n, const val *args) {
    val abc[3] = {eval(e, n->a[0], args), eval(e, n->a[1], args), eval(e, n->a[2], args)};
    bool led = led_operands(e, abc, 3);
    int w = widest(&abc[1], 2);
    val r = make(w, led);
    for (int i = 0; i < w; i++)
        r.x.v[i] = abc[0].x.v[0] != 0 ? comp(&abc[1].x, i) : comp(&abc[2].x, i);
    return r;
}

/* Whether a node's result carries its operands' inexactness (see eval). */
static bool propagates(const gen_node *n) {
    switch (n->kind) {
    case GN_NOT:
        return false;
    case GN_BIN:
        return n->op < GB_LT; /* comparisons and logic give exact 0 or 1 */
    case GN_BUILTIN:
        switch (n->op) {
        case GF_SIGN:
        case GF_FLOOR:
        case GF_CEIL:
        case GF_ROUND:
        case GF_TRUNC:
        case GF_STEP:
        case GF_SQUARE:
        case GF_HASH1:
        case GF_HASH2:
        case GF_HASH3:
        case GF_HASHV:
        case GF_PREV_AT:
            return false;
        default:
            return true;
        }
    default:
        return true;
    }
}

static val eval_node(ref_eval *e, const gen_node *n, int32_t id, const val *args);

/*
 * Evaluates node id, and tracks inexactness: a result is inexact when the node
 * ran an inexact per-LED operation, or when an operand is inexact and the
 * node passes that on (an integer-valued or boolean result does not: it
 * changes only where an operand crosses a step, which the perturbed members
 * see). A hash of an inexact value flags the evaluation (REF_HASH_ROUNDING):
 * its last bits pick a different random number.
 */
static val eval(ref_eval *e, int32_t id, const val *args) {
    const gen_node *n = &e->p->nodes[id];
    if (++e->steps > REF_MAX_STEPS) {
        e->flags |= REF_TOO_LARGE;
        return scalar(0, true);
    }
    bool outer_inexact = e->inexact, outer_taint = e->child_taint;
    e->inexact = false;
    e->child_taint = false;
    val r = eval_node(e, n, id, args);
    if (n->kind != GN_LET && n->kind != GN_ARG && n->kind != GN_CALL)
        r.inexact = e->inexact || (propagates(n) && e->child_taint);
    if (r.led)
        for (int i = 0; i < r.x.width; i++)
            if (!isfinite(r.x.v[i])) e->flags |= REF_NONFINITE;
    if (n->kind == GN_BUILTIN && n->op >= GF_HASH1 && n->op <= GF_HASHV && e->child_taint)
        e->flags |= REF_HASH_ROUNDING;
    e->inexact = outer_inexact;
    e->child_taint = outer_taint || r.inexact;
    return r;
}

static val eval_node(ref_eval *e, const gen_node *n, int32_t id, const val *args) {
    switch (n->kind) {
    case GN_NUM:
        return scalar(n->num, false);
    case GN_INPUT:
        return eval_input(e, (gen_input)n->op);
    case GN_PREV: {
        val r = make(3, true);
        if (e->f->prev)
            for (int c = 0; c < 3; c++) r.x.v[c] = e->f->prev[(size_t)e->led * 3 + (size_t)c];
        return r;
    }
    case GN_PARAM: {
        val r = make(1, false);
        r.x = e->f->params[n->ref];
        return r;
    }
    case GN_LET:
        return e->lets[n->ref];
    case GN_ARG:
        return args[n->ref];
    case GN_RVAR:
        return scalar(e->rvars[n->ref], false);
    case GN_NEG: {
        val r = eval(e, n->a[0], args);
        for (int i = 0; i < r.x.width; i++) r.x.v[i] = -r.x.v[i];
        return r;
    }
    case GN_NOT: {
        val r = eval(e, n->a[0], args);
        r.x.v[0] = r.x.v[0] == 0;
        return r;
    }
    case GN_BIN:
        return eval_binop(e, n, args);
    case GN_COND:
        return eval_cond(e, n, args);
    case GN_SWIZZLE: {
        val v = eval(e, n->a[0], args);
        int len = (int)strlen(n->text);
        val r = make(len, v.led);
        for (int i = 0; i < len; i++) {
            const char *at = strchr("xyz", n->text[i]);
            int k = at ? (int)(at - "xyz") : (int)(strchr("rgb", n->text[i]) - "rgb");
            r.x.v[i] = v.x.v[k];
        }
        return r;
    }
    case GN_BUILTIN:
        return eval_builtin(e, n, args);
    case GN_CALL: {
        val bound[GEN_MAX_FN_ARGS];
        for (int i = 0; i < n->nargs; i++) bound[i] = eval(e, n->a[i], args);
        return eval(e, e->p->decls[n->ref].body, bound);
    }
    case GN_REDUCE:
        return eval_reduce(e, n, id, args);
    }
    return scalar(NAN, true);
}

/* ------------------------------------------------------------------ API */

void ref_param_defaults(const gen_program *p, ref_value *values) {
    ref_eval e = {.p = p};
    ref_frame f = {0};
    sky_led_input dummy = {0};
    f.leds = &dummy;
    f.led_count = 1;
    e.f = &f;
    f.params = values;
    for (uint32_t i = 0; i < p->decl_count; i++) {
        if (p->decls[i].kind != GD_PARAM) continue;
        val v = eval(&e, p->decls[i].body, NULL);
        values[i] = v.x;
    }
}

static double final_channel(double c) {
    if (isnan(c)) return 0;
    return c > 0 ? (c < 1 ? c : 1) : 0;
}

void ref_eval_led(ref_eval *e, const ref_frame *f, uint32_t led, const ref_mode *mode,
                  double rgb[3], unsigned *flags) {
    const gen_program *p = e->p;
    e->f = f;
    e->led = led;
    e->float_led = mode->float_led;
    e->delta = mode->delta;
    e->draw = mode->draw;
    e->rng.state = gen_seed_for(mode->seed, led);
    e->flags = 0;
    e->steps = 0;
    val out = scalar(0, true);
    for (uint32_t i = 0; i < p->decl_count; i++) {
        const gen_decl *d = &p->decls[i];
        if (d->kind == GD_LET)
            e->lets[i] = eval(e, d->body, NULL);
        else if (d->kind == GD_OUT)
            out = eval(e, d->body, NULL);
    }
    for (int c = 0; c < 3; c++) {
        double v = out.x.v[out.x.width == 1 ? 0 : c];
        if (e->float_led) v = (float)v; /* the colour is a float, per LED or a uniform */
        rgb[c] = final_channel(v);
    }
    *flags = e->flags;
}
