/*
 * kernels.h - the C kernels behind the K() column of ops.def.
 *
 * The CPU evaluator (eval.c) and the constant folder (opt.c, through eval.c)
 * run exactly these functions, and the GLSL helpers in the shaders/ folder
 * implement the same definitions, so the CPU reference, the folder and the
 * GPU agree. Each kernel exists for float (kernel_<name>_f, per-LED values)
 * and double (kernel_<name>_d, per-frame values and folding); the same
 * formula serves both precisions (T = float or double):
 *
 *   mod(x, y)        = x - y * floor(x / y)                     (floored; also `%`)
 *   fract(x)         = x - floor(x)
 *   round(x)         = half away from zero: t = trunc(x); t + (abs(x - t) >= 0.5 ? sign(x) : 0)
 *   sign(x)          = x > 0 ? 1 : (x < 0 ? -1 : 0)   (so NaN gives 0, -0 gives +0)
 *   min(a, b)        = b < a ? b : a          (GLSL's own definition, spelled out)
 *   max(a, b)        = a < b ? b : a
 *   clamp(x, lo, hi) = min(max(x, lo), hi)    (with the min/max above)
 *   step(e, x)       = x < e ? 0 : 1
 *   mix(a, b, t)     = a * (1 - t) + b * t
 *   smoothstep(e0, e1, x) = e0 == e1 ? (x < e0 ? 0 : 1)
 *                    : (u = clamp((x - e0) / (e1 - e0), 0, 1), u * u * (3 - 2 * u))
 *   pow(x, y)        = C's pow semantics: x or y NaN -> NaN; x > 0: pow(x, y);
 *                      x == 0 (either sign): y > 0 -> +0, y == 0 -> 1, y < 0 -> +inf;
 *                      x < 0: y an integer (y == floor(y), infinities count as even
 *                      integers) -> pow(|x|, y), negated when y is odd; otherwise NaN.
 *   atan2(y, x)      = (x == 0 && y == 0) ? 0 : atan(y, x)   (C atan2 otherwise)
 *   inversesqrt(x)   = 1 / sqrt(x)
 *   radians(x) = x * (pi / 180), degrees(x) = x * (180 / pi), the constants
 *                computed in double and rounded to T.
 *   comparisons/logic: bools are 0 or 1; not(a) = a == 0; and/or on != 0;
 *                select(c, a, b) = c != 0 ? a : b.
 *   bits(f)          = the IEEE-754 bits of the float32 f + 0.0, i.e.
 *                      (f == 0 ? 0u : bit pattern of f)
 *   hash and noise ALWAYS work in float32, also in the double (per-frame)
 *   path: the double arguments are first rounded to float, and the float
 *   result is returned as a double.
 *   pcg(v): s = v * 747796405u + 2891336453u; w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
 *           return (w >> 22u) ^ w   (uint32 arithmetic, wrapping)
 *   hash1(a) = pcg(bits(a)); hash2(a,b) = pcg(pcg(bits(a)) + bits(b));
 *   hash3(a,b,c) = pcg(pcg(pcg(bits(a)) + bits(b)) + bits(c));
 *   as a float: (h >> 8) * 2^-24, in [0, 1) exactly.
 *   noise2(x, y) / noise3(x, y, z): the spec's gradient noise, in float32:
 *     i = floor(p), f = p - i, u = f*f*f*(f*(f*6 - 15) + 10) (evaluated left
 *     to right as written); corner c = i + offset (offset components 0 or 1);
 *     h = the integer hash2/hash3 of c's components; gradient G[h % N] in the
 *     spec's order; corner value dot(G, f - offset) = gx*dx + gy*dy (+ gz*dz);
 *     mix(a, b, t) above by u, x first, then y, then z; noise2's result is
 *     multiplied by sqrt(2) (rounded to float), noise3's by 1.
 *     sqrt(0.5) = 0.70710678118654752 rounded to float.
 *   prev_at(s, l, c) (in eval.c, it needs the previous frame): n = strip_count;
 *     si = floor(s); si = si - n * floor(si / n); li = floor(l); if s or l is
 *     not finite, or li < 0, or li >= leds of strip si -> 0; else channel c of
 *     the previous frame's LED strip_first(si) + li.
 *   final channel: NaN -> 0 (tested on the bits), clamp to [0, 1], byte =
 *     floor(c * 255 + 0.5). prev holds the clamped float.
 *
 * The file is header-only (static inline) so the evaluator's per-batch loops
 * can inline the kernels. Compile with floating-point contraction off (ISO C
 * mode does that for GCC), or a fused multiply-add would make the folder and
 * the evaluator differ from the formulas above.
 */
#ifndef SKY_KERNELS_H
#define SKY_KERNELS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define KERNEL_PI 3.14159265358979323846

/* ------------------------------------------------ float and double kernels */

/*
 * KERNEL_FAMILY(T, S, FN) defines every precision-generic kernel for type T
 * with suffix S; FN(name) names the libm function for T (sinf or sin). One
 * template for both precisions keeps the two from drifting apart.
 */
#define KERNEL_FN_f(name) name##f
#define KERNEL_FN_d(name) name

#define KERNEL_FAMILY(T, S)                                                            \
    static inline T kernel_sign_##S(T x) {                                             \
        return x > 0 ? (T)1 : (x < 0 ? (T)-1 : (T)0);                                  \
    }                                                                                  \
    static inline T kernel_mod_##S(T x, T y) {                                         \
        return x - y * KERNEL_FN_##S(floor)(x / y);                                    \
    }                                                                                  \
    static inline T kernel_fract_##S(T x) {                                            \
        return x - KERNEL_FN_##S(floor)(x);                                            \
    }                                                                                  \
    static inline T kernel_round_##S(T x) {                                            \
        T t = KERNEL_FN_##S(trunc)(x);                                                 \
        return t + (KERNEL_FN_##S(fabs)(x - t) >= (T)0.5 ? kernel_sign_##S(x) : (T)0); \
    }                                                                                  \
    static inline T kernel_min_##S(T a, T b) {                                         \
        return b < a ? b : a;                                                          \
    }                                                                                  \
    static inline T kernel_max_##S(T a, T b) {                                         \
        return a < b ? b : a;                                                          \
    }                                                                                  \
    static inline T kernel_clamp_##S(T x, T lo, T hi) {                                \
        return kernel_min_##S(kernel_max_##S(x, lo), hi);                              \
    }                                                                                  \
    static inline T kernel_step_##S(T e, T x) {                                        \
        return x < e ? (T)0 : (T)1;                                                    \
    }                                                                                  \
    static inline T kernel_mix_##S(T a, T b, T t) {                                    \
        return a * ((T)1 - t) + b * t;                                                 \
    }                                                                                  \
    static inline T kernel_smoothstep_##S(T e0, T e1, T x) {                           \
        if (e0 == e1) return x < e0 ? (T)0 : (T)1;                                     \
        T u = kernel_clamp_##S((x - e0) / (e1 - e0), (T)0, (T)1);                      \
        return u * u * ((T)3 - (T)2 * u);                                              \
    }                                                                                  \
    /* An odd integer: finite (infinities count as even) with remainder 1 mod 2. */    \
    static inline int kernel_is_odd_##S(T y) {                                         \
        return isfinite(y) && KERNEL_FN_##S(fmod)(y, (T)2) != 0;                       \
    }                                                                                  \
    static inline T kernel_pow_##S(T x, T y) {                                         \
        if (isnan(x) || isnan(y)) return x + y;                                        \
        if (x > 0) return KERNEL_FN_##S(pow)(x, y);                                    \
        if (x == 0) return y > 0 ? (T)0 : (y == 0 ? (T)1 : (T)INFINITY);               \
        if (y != KERNEL_FN_##S(floor)(y)) return (T)NAN;                               \
        T m = KERNEL_FN_##S(pow)(-x, y);                                               \
        return kernel_is_odd_##S(y) ? -m : m;                                          \
    }                                                                                  \
    static inline T kernel_atan2_##S(T y, T x) {                                       \
        return (x == 0 && y == 0) ? (T)0 : KERNEL_FN_##S(atan2)(y, x);                 \
    }                                                                                  \
    static inline T kernel_radians_##S(T x) {                                          \
        return x * (T)(KERNEL_PI / 180.0);                                             \
    }                                                                                  \
    static inline T kernel_degrees_##S(T x) {                                          \
        return x * (T)(180.0 / KERNEL_PI);                                             \
    }

KERNEL_FAMILY(float, f)
KERNEL_FAMILY(double, d)

/* --------------------------------------------------------- hash and noise */

/* The IEEE-754 bits of f + 0.0: both zeros hash alike. */
static inline uint32_t kernel_bits(float f) {
    if (f == 0) return 0u;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline uint32_t kernel_pcg(uint32_t v) {
    uint32_t s = v * 747796405u + 2891336453u;
    uint32_t w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
    return (w >> 22u) ^ w;
}

static inline uint32_t kernel_hash2_u(float a, float b) {
    return kernel_pcg(kernel_pcg(kernel_bits(a)) + kernel_bits(b));
}

static inline uint32_t kernel_hash3_u(float a, float b, float c) {
    return kernel_pcg(kernel_pcg(kernel_pcg(kernel_bits(a)) + kernel_bits(b)) + kernel_bits(c));
}

/* The top 24 bits as a float in [0, 1): exact, so never rounds up to 1. */
static inline float kernel_unit(uint32_t h) {
    return (float)(h >> 8) * 0x1p-24f;
}

static inline float kernel_hash1_f(float a) {
    return kernel_unit(kernel_pcg(kernel_bits(a)));
}
static inline float kernel_hash2_f(float a, float b) {
    return kernel_unit(kernel_hash2_u(a, b));
}
static inline float kernel_hash3_f(float a, float b, float c) {
    return kernel_unit(kernel_hash3_u(a, b, c));
}

#define KERNEL_SQRT_HALF 0.70710678118654752f
#define KERNEL_SQRT_TWO  1.41421356237309505f

/* The fade curve u = f^3 (f (6 f - 15) + 10), evaluated as written. */
static inline float kernel_fade(float f) {
    return f * f * f * (f * (f * 6.0f - 15.0f) + 10.0f);
}

/* dot(G[h % 8], (dx, dy)) with the spec's eight 2-D gradients, in order. */
static inline float kernel_grad2(uint32_t h, float dx, float dy) {
    static const float g[8][2] = {
        {1, 0},
        {-1, 0},
        {0, 1},
        {0, -1},
        {KERNEL_SQRT_HALF, KERNEL_SQRT_HALF},
        {-KERNEL_SQRT_HALF, KERNEL_SQRT_HALF},
        {KERNEL_SQRT_HALF, -KERNEL_SQRT_HALF},
        {-KERNEL_SQRT_HALF, -KERNEL_SQRT_HALF},
    };
    const float *v = g[h % 8u];
    return v[0] * dx + v[1] * dy;
}

/* dot(G[h % 12], (dx, dy, dz)) with the spec's twelve cube-edge gradients, in order. */
static inline float kernel_grad3(uint32_t h, float dx, float dy, float dz) {
    static const float g[12][3] = {
        {1, 1, 0},  {-1, 1, 0},  {1, -1, 0}, {-1, -1, 0}, {1, 0, 1},  {-1, 0, 1},
        {1, 0, -1}, {-1, 0, -1}, {0, 1, 1},  {0, -1, 1},  {0, 1, -1}, {0, -1, -1},
    };
    const float *v = g[h % 12u];
    return v[0] * dx + v[1] * dy + v[2] * dz;
}

/* The corner value at integer offset (ox, oy) of the cell at (ix, iy). */
static inline float kernel_corner2(float ix, float iy, float fx, float fy, int ox, int oy) {
    uint32_t h = kernel_hash2_u(ix + (float)ox, iy + (float)oy);
    return kernel_grad2(h, fx - (float)ox, fy - (float)oy);
}

static inline float kernel_noise2_f(float x, float y) {
    float ix = floorf(x), iy = floorf(y);
    float fx = x - ix, fy = y - iy;
    float ux = kernel_fade(fx), uy = kernel_fade(fy);
    float v00 = kernel_corner2(ix, iy, fx, fy, 0, 0);
    float v10 = kernel_corner2(ix, iy, fx, fy, 1, 0);
    float v01 = kernel_corner2(ix, iy, fx, fy, 0, 1);
    float v11 = kernel_corner2(ix, iy, fx, fy, 1, 1);
    float a = kernel_mix_f(v00, v10, ux);
    float b = kernel_mix_f(v01, v11, ux);
    return kernel_mix_f(a, b, uy) * KERNEL_SQRT_TWO;
}

/* The corner value at offset (ox, oy, oz) of the cell at i, with f = p - i. */
static inline float kernel_corner3(const float i[3], const float f[3], int ox, int oy, int oz) {
    uint32_t h = kernel_hash3_u(i[0] + (float)ox, i[1] + (float)oy, i[2] + (float)oz);
    return kernel_grad3(h, f[0] - (float)ox, f[1] - (float)oy, f[2] - (float)oz);
}

static inline float kernel_noise3_f(float x, float y, float z) {
    float i[3] = {floorf(x), floorf(y), floorf(z)};
    float f[3] = {x - i[0], y - i[1], z - i[2]};
    float ux = kernel_fade(f[0]), uy = kernel_fade(f[1]), uz = kernel_fade(f[2]);
    /* x first: one mix per (y, z) edge of the cell */
    float x00 = kernel_mix_f(kernel_corner3(i, f, 0, 0, 0), kernel_corner3(i, f, 1, 0, 0), ux);
    float x10 = kernel_mix_f(kernel_corner3(i, f, 0, 1, 0), kernel_corner3(i, f, 1, 1, 0), ux);
    float x01 = kernel_mix_f(kernel_corner3(i, f, 0, 0, 1), kernel_corner3(i, f, 1, 0, 1), ux);
    float x11 = kernel_mix_f(kernel_corner3(i, f, 0, 1, 1), kernel_corner3(i, f, 1, 1, 1), ux);
    /* then y, then z */
    float y0 = kernel_mix_f(x00, x10, uy);
    float y1 = kernel_mix_f(x01, x11, uy);
    return kernel_mix_f(y0, y1, uz);
}

/* The per-frame path rounds its arguments to float and computes in float. */
static inline double kernel_hash1_d(double a) {
    return kernel_hash1_f((float)a);
}
static inline double kernel_hash2_d(double a, double b) {
    return kernel_hash2_f((float)a, (float)b);
}
static inline double kernel_hash3_d(double a, double b, double c) {
    return kernel_hash3_f((float)a, (float)b, (float)c);
}
static inline double kernel_noise2_d(double x, double y) {
    return kernel_noise2_f((float)x, (float)y);
}
static inline double kernel_noise3_d(double x, double y, double z) {
    return kernel_noise3_f((float)x, (float)y, (float)z);
}

/* ------------------------------------------------- the final channel rule */

/* NaN -> 0 (tested on the bits, immune to fast-math), then clamp to [0, 1]. */
static inline float kernel_channel(float c) {
    uint32_t u;
    memcpy(&u, &c, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return 0.0f;
    return c > 0.0f ? (c < 1.0f ? c : 1.0f) : 0.0f; /* -0 becomes +0 too */
}

static inline uint8_t kernel_channel_byte(float clamped) {
    return (uint8_t)floorf(clamped * 255.0f + 0.5f);
}

#endif
