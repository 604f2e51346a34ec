/*
 * sky_cpu.h - the math of the CPU backend's kernels (sky_program_emit_c),
 * written so that a C compiler vectorises it: straight-line float and uint32
 * arithmetic, `?:` selects, no branches, no libm calls, no tables. So the
 * same kernel runs as AVX2/AVX-512 on x86-64 and NEON on arm64 without
 * depending on a libc's vector library (glibc's libmvec, x86-64 and newer
 * arm64 only; musl has none).
 *
 * libsky embeds this file (compiler/CMakeLists.txt) and pastes it into every
 * emitted unit; tests/compiler/test_cpu_math.c includes it directly and
 * measures the error bounds stated here against libm (double precision),
 * over the ranges named:
 *
 *   sin, cos     |x| <= 16384: within 2^-22 absolute (x - n pi with pi in
 *                four parts, then one odd polynomial, Sleef's sinf_u35).
 *                Beyond that a float's spacing is a visible part of a period
 *                and the result is as good as random on every backend
 *                (docs/language.md); beyond 10^7 it is 0.
 *   tan          sin / cos: within 2^-20 relative on [-100, 100].
 *   asin, acos   within 2^-21 absolute; NaN outside [-1, 1].
 *   atan, atan2  within 2^-21 absolute; atan2(0, 0) = 0 as the language defines.
 *   exp, exp2    within 2^-22 relative, subnormal results included; exp2 of an
 *                integer is exact.
 *   log, log2    within 2^-22 absolute or relative, whichever is larger; log2 of
 *                a power of two is exact.
 *   sinh, cosh, tanh  within 2^-20 relative or 2^-22 absolute.
 *   pow          exp2(y * log2(x)), so within about 2^-22 * (1 + |y log2 x|)
 *                relative; exact for y = 0, 1, 2 and x = 1, and the edge cases
 *                (x <= 0, NaN, infinities) exactly as compiler/kernels.h.
 *   everything else (mod, fract, round, sign, min, max, clamp, step, mix,
 *   smoothstep, hash, noise, radians, degrees) is the very formula of
 *   compiler/kernels.h, operation for operation: bit-identical to the CPU
 *   evaluator when compiled without floating-point contraction.
 *
 * NaN and infinity are tested on the bits, so the definitions also survive
 * -ffinite-math-only, though the backend does not use it.
 */
#ifndef SKY_CPU_H
#define SKY_CPU_H

#include <stdint.h>

/*
 * Every helper is inlined, however many a pattern calls: a call left in the
 * loop stops its vectorisation (GCC's inlining limits did that to clouds.sky,
 * five noise3 calls, before this).
 */
#if defined(__GNUC__)
#define SKY_INLINE static inline __attribute__((always_inline))
#else
#define SKY_INLINE static inline
#endif

/* ------------------------------------------------------------ bits */

SKY_INLINE uint32_t sky_asuint(float f) {
    union {
        float f;
        uint32_t u;
    } v = {f};
    return v.u;
}

SKY_INLINE float sky_asfloat(uint32_t u) {
    union {
        uint32_t u;
        float f;
    } v = {u};
    return v.f;
}

SKY_INLINE int sky_isnan(float x) {
    return (sky_asuint(x) & 0x7fffffffu) > 0x7f800000u;
}

SKY_INLINE int sky_isfinite(float x) {
    return (sky_asuint(x) & 0x7f800000u) != 0x7f800000u;
}

SKY_INLINE float sky_f_fabs(float x) {
    return sky_asfloat(sky_asuint(x) & 0x7fffffffu);
}

/* Compiler built-ins: one instruction on SSE4.1/AVX and NEON, never errno. */
SKY_INLINE float sky_f_floor(float x) {
    return __builtin_floorf(x);
}
SKY_INLINE float sky_f_ceil(float x) {
    return __builtin_ceilf(x);
}
SKY_INLINE float sky_f_trunc(float x) {
    return __builtin_truncf(x);
}
SKY_INLINE float sky_f_sqrt(float x) {
    return __builtin_sqrtf(x);
}

/* x with the sign bit of s. */
SKY_INLINE float sky_copysign(float x, float s) {
    return sky_asfloat((sky_asuint(x) & 0x7fffffffu) | (sky_asuint(s) & 0x80000000u));
}

/* ------------------------------------- the kernels.h formulas, as written */

SKY_INLINE float sky_k_sign(float x) {
    return x > 0 ? 1.0f : (x < 0 ? -1.0f : 0.0f);
}
SKY_INLINE float sky_k_mod(float x, float y) {
    return x - y * sky_f_floor(x / y);
}
SKY_INLINE float sky_k_fract(float x) {
    return x - sky_f_floor(x);
}
SKY_INLINE float sky_k_round(float x) {
    float t = sky_f_trunc(x);
    return t + (sky_f_fabs(x - t) >= 0.5f ? sky_k_sign(x) : 0.0f);
}
SKY_INLINE float sky_k_min(float a, float b) {
    return b < a ? b : a;
}
SKY_INLINE float sky_k_max(float a, float b) {
    return a < b ? b : a;
}
SKY_INLINE float sky_k_clamp(float x, float lo, float hi) {
    return sky_k_min(sky_k_max(x, lo), hi);
}
SKY_INLINE float sky_k_step(float e, float x) {
    return x < e ? 0.0f : 1.0f;
}
SKY_INLINE float sky_k_mix(float a, float b, float t) {
    return a * (1.0f - t) + b * t;
}
SKY_INLINE float sky_k_smoothstep(float e0, float e1, float x) {
    float u = sky_k_clamp((x - e0) / (e1 - e0), 0.0f, 1.0f);
    float s = u * u * (3.0f - 2.0f * u);
    return e0 == e1 ? (x < e0 ? 0.0f : 1.0f) : s;
}
SKY_INLINE float sky_k_radians(float x) {
    return x * (float)(3.14159265358979323846 / 180.0);
}
SKY_INLINE float sky_k_degrees(float x) {
    return x * (float)(180.0 / 3.14159265358979323846);
}

/* ------------------------------------------------------ sin, cos, tan */

#define SKY_PI_F      3.14159265358979323846f
#define SKY_HALF_PI_F 1.57079632679489661923f

/*
 * Fused multiply-add inside the helpers' polynomials and reductions, where
 * the hardware has one (x86-64 with FMA, every arm64): one rounding instead
 * of two, so more accurate, and half the instructions. The pattern's own
 * arithmetic is never contracted (it must round as the evaluator does).
 */
#if defined(__FP_FAST_FMAF)
#define SKY_FMA(a, b, c) __builtin_fmaf((a), (b), (c))
#else
#define SKY_FMA(a, b, c) ((a) * (b) + (c))
#endif

/*
 * x - h pi for a whole or half-whole h, with pi in four parts (Sleef's) so
 * that the first products are exact for |h| < 2^15: |result| <= pi/2.
 */
SKY_INLINE float sky_trig_reduce(float x, float h) {
    float r = SKY_FMA(h, -3.140625f, x);
    r = SKY_FMA(h, -0.0009670257568359375f, r);
    r = SKY_FMA(h, -6.2771141529083251953e-07f, r);
    return SKY_FMA(h, -1.2154201256553420762e-10f, r);
}

/* sin(r) for |r| <= pi/2: one odd polynomial (Sleef's sinf_u35 coefficients). */
SKY_INLINE float sky_sin_poly(float r) {
    float z = r * r;
    float u = 2.6083159809786593541503e-06f;
    u = SKY_FMA(u, z, -0.0001981069071916863322258f);
    u = SKY_FMA(u, z, 0.00833307858556509017944336f);
    u = SKY_FMA(u, z, -0.166666597127914428710937f);
    return SKY_FMA(z * u, r, r);
}

/*
 * t = x / pi + 1.5 * 2^23 rounds x / pi to a whole number n = t - 1.5 * 2^23
 * (two operations, no conversion), and n's parity is t's lowest mantissa bit.
 */
#define SKY_ROUND_MAGIC 12582912.0f
#define SKY_INV_PI      0.318309886183790671538f
/* Beyond this the reduction has no correct bits left: such sines are 0 (NaN for inf and NaN). */
#define SKY_TRIG_MAX 1.0e7f

/* r, or x - x (0, NaN for inf) beyond SKY_TRIG_MAX; NaN stays NaN. */
SKY_INLINE float sky_trig_guard(float x, float r) {
    return sky_f_fabs(x) > SKY_TRIG_MAX ? x - x : r;
}

/* sin(x) = (-1)^n sin(x - n pi), n = round(x / pi). */
SKY_INLINE float sky_f_sin(float x) {
    float t = SKY_FMA(x, SKY_INV_PI, SKY_ROUND_MAGIC);
    float n = t - SKY_ROUND_MAGIC;
    float v = sky_sin_poly(sky_trig_guard(x, sky_trig_reduce(x, n)));
    v = sky_asfloat(sky_asuint(v) ^ (sky_asuint(t) << 31));
    return x == 0 ? x : v; /* sin(-0) = -0, as libm: 1 / sin(x) keeps its sign */
}

/* cos(x) = -(-1)^n sin(x - (n + 1/2) pi), n = round(x / pi - 1/2). */
SKY_INLINE float sky_f_cos(float x) {
    float t = SKY_FMA(x, SKY_INV_PI, -0.5f) + SKY_ROUND_MAGIC; /* magic - 0.5 is no float */
    float n = t - SKY_ROUND_MAGIC;
    float v = sky_sin_poly(sky_trig_guard(x, sky_trig_reduce(x, n + 0.5f)));
    return sky_asfloat(sky_asuint(v) ^ (sky_asuint(t) << 31) ^ 0x80000000u);
}

/* sin / cos: both reductions are accurate near the zeros of cos, so tan's poles are too. */
SKY_INLINE float sky_f_tan(float x) {
    return sky_f_sin(x) / sky_f_cos(x);
}

/* ------------------------------------------------- asin, acos, atan */

/* asin on [0, 0.5] (cephes asinf). */
SKY_INLINE float sky_asin_poly(float a, float z) {
    return ((((4.2163199048e-2f * z + 2.4181311049e-2f) * z + 4.5470025998e-2f) * z +
             7.4953002686e-2f) *
                z +
            1.6666752422e-1f) *
               z * a +
           a;
}

SKY_INLINE float sky_f_asin(float x) {
    float a = sky_f_fabs(x);
    int big = a > 0.5f;
    float z = big ? 0.5f * (1.0f - a) : a * a;
    float s = big ? sky_f_sqrt(z) : a;
    float p = sky_asin_poly(s, z);
    float v = big ? SKY_HALF_PI_F - 2.0f * p : p;
    v = a > 1.0f ? sky_asfloat(0x7fc00000u) : v;
    return sky_isnan(x) ? x : sky_copysign(v, x);
}

SKY_INLINE float sky_f_acos(float x) {
    float a = sky_f_fabs(x);
    int big = a > 0.5f;
    float z = big ? 0.5f * (1.0f - a) : a * a;
    float s = big ? sky_f_sqrt(z) : a;
    float p = sky_asin_poly(s, z); /* asin(s) */
    /* x > 0.5: 2 asin(sqrt((1 - x) / 2)); x < -0.5: pi - that; else pi/2 - asin(x) */
    float v = big ? (x > 0 ? 2.0f * p : SKY_PI_F - 2.0f * p) : SKY_HALF_PI_F - sky_copysign(p, x);
    v = a > 1.0f ? sky_asfloat(0x7fc00000u) : v;
    return sky_isnan(x) ? x : v;
}

/* atan of a >= 0 (infinity included), cephes atanf's three ranges. */
SKY_INLINE float sky_atan_pos(float a) {
    int hi = a > 2.414213562373095f, mid = a > 0.4142135623730950f;
    float t = hi ? -1.0f / a : (mid ? (a - 1.0f) / (a + 1.0f) : a);
    float base = hi ? SKY_HALF_PI_F : (mid ? 0.25f * SKY_PI_F : 0.0f);
    float z = t * t;
    float p = (((8.05374449538e-2f * z - 1.38776856032e-1f) * z + 1.99777106478e-1f) * z -
               3.33329491539e-1f) *
                  z * t +
              t;
    return base + p;
}

SKY_INLINE float sky_f_atan(float x) {
    return sky_isnan(x) ? x : sky_copysign(sky_atan_pos(sky_f_fabs(x)), x);
}

SKY_INLINE float sky_k_atan2(float y, float x) {
    float ax = sky_f_fabs(x), ay = sky_f_fabs(y);
    int swap = ay > ax;
    float num = swap ? ax : ay, den = swap ? ay : ax;
    float t = (!sky_isfinite(ax) && !sky_isfinite(ay)) ? 1.0f : num / den; /* both infinite: pi/4 */
    float a = sky_atan_pos(t);
    a = swap ? SKY_HALF_PI_F - a : a;
    a = (sky_asuint(x) >> 31) ? SKY_PI_F - a : a; /* x < 0, or -0 (then y != 0 here) */
    a = sky_copysign(a, y);
    a = (x == 0 && y == 0) ? 0.0f : a;
    return (sky_isnan(x) || sky_isnan(y)) ? x + y : a;
}

/* ------------------------------------------------------------ exp, log */

/* 2^k for an integer k in [-150, 128], as two normal factors (subnormal results, infinity). */
SKY_INLINE float sky_scale(float p, int32_t k) {
    int32_t k1 = k >> 1, k2 = k - k1;
    float s1 = sky_asfloat((uint32_t)(k1 + 127) << 23);
    float s2 = sky_asfloat((uint32_t)(k2 + 127) << 23);
    return p * s1 * s2;
}

/* exp(r) for |r| <= ln2 / 2 (cephes expf). */
SKY_INLINE float sky_exp_poly(float r) {
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    return p * r * r + r + 1.0f;
}

/* The result for inputs beyond the polynomial's range: NaN, overflow to inf, underflow to 0. */
SKY_INLINE float sky_exp_edges(float x, float v, float over, float under) {
    v = x > over ? sky_asfloat(0x7f800000u) : v;
    v = x < under ? 0.0f : v;
    return sky_isnan(x) ? x : v;
}

SKY_INLINE float sky_f_exp(float x) {
    float c = sky_k_min(sky_k_max(x, -104.0f), 89.0f); /* NaN -> -104: a defined conversion */
    float k = sky_f_floor(c * 1.44269504088896341f + 0.5f);
    float r = (c - k * 0.693359375f) - k * -2.12194440e-4f;
    return sky_exp_edges(x, sky_scale(sky_exp_poly(r), (int32_t)k), 88.72283905206835f,
                         -103.972077f);
}

SKY_INLINE float sky_f_exp2(float x) {
    float c = sky_k_min(sky_k_max(x, -151.0f), 129.0f);
    float k = sky_f_floor(c + 0.5f);
    float r = (c - k) * 0.693147180559945309f; /* c - k is exact */
    return sky_exp_edges(x, sky_scale(sky_exp_poly(r), (int32_t)k), 128.0f, -150.0f);
}

/*
 * x = 2^e * m with m in [sqrt(1/2), sqrt(2)); returns f = m - 1 and e, with
 * subnormal x scaled into the normal range first. Only for finite x > 0.
 */
SKY_INLINE float sky_log_split(float x, float *e) {
    int sub = x < 1.17549435e-38f;
    float xs = sub ? x * 8388608.0f : x; /* 2^23 */
    uint32_t u = sky_asuint(xs);
    int32_t ex = (int32_t)(u >> 23) - 127 - (sub ? 23 : 0);
    float m = sky_asfloat((u & 0x007fffffu) | 0x3f800000u); /* in [1, 2) */
    int shift = m > 1.41421356237309505f;
    m = shift ? 0.5f * m : m;
    *e = (float)(ex + shift);
    return m - 1.0f;
}

/* log(1 + f) - f for |f| <= 0.42 (cephes logf), without the final sum. */
SKY_INLINE float sky_log_poly(float f) {
    float z = f * f;
    float y = 7.0376836292e-2f;
    y = y * f - 1.1514610310e-1f;
    y = y * f + 1.1676998740e-1f;
    y = y * f - 1.2420140846e-1f;
    y = y * f + 1.4249322787e-1f;
    y = y * f - 1.6668057665e-1f;
    y = y * f + 2.0000714765e-1f;
    y = y * f - 2.4999993993e-1f;
    y = y * f + 3.3333331174e-1f;
    return f * z * y - 0.5f * z;
}

/* log's edges: x < 0 or NaN -> NaN, 0 -> -inf, inf -> inf. */
SKY_INLINE float sky_log_edges(float x, float v) {
    v = x == 0 ? sky_asfloat(0xff800000u) : v;
    v = x == sky_asfloat(0x7f800000u) ? x : v;
    v = x < 0 ? sky_asfloat(0x7fc00000u) : v;
    return sky_isnan(x) ? x : v;
}

SKY_INLINE float sky_f_log(float x) {
    float e;
    float f = sky_log_split(sky_isfinite(x) && x > 0 ? x : 1.0f, &e);
    float y = sky_log_poly(f) + e * -2.12194440e-4f;
    return sky_log_edges(x, (f + y) + e * 0.693359375f);
}

SKY_INLINE float sky_f_log2(float x) {
    float e;
    float f = sky_log_split(sky_isfinite(x) && x > 0 ? x : 1.0f, &e);
    float l = (f + sky_log_poly(f)) * 1.44269504088896341f; /* log2(m), 0 when m = 1 */
    return sky_log_edges(x, e + l);
}

/* ---------------------------------------------------- sinh, cosh, tanh */

/* sinh near 0 by its Taylor series (no cancellation): |x| <= 0.5, error < 2^-26 relative. */
SKY_INLINE float sky_sinh_small(float x) {
    float z = x * x;
    return x + x * z * (1.0f / 6.0f + z * (1.0f / 120.0f + z * (1.0f / 5040.0f)));
}

SKY_INLINE float sky_f_sinh(float x) {
    float e = sky_f_exp(sky_f_fabs(x));
    float big = 0.5f * e - 0.5f / e;
    float v = sky_f_fabs(x) < 0.5f ? sky_sinh_small(x) : sky_copysign(big, x);
    return sky_isnan(x) ? x : v;
}

SKY_INLINE float sky_f_cosh(float x) {
    float e = sky_f_exp(sky_f_fabs(x));
    return 0.5f * e + 0.5f / e;
}

SKY_INLINE float sky_f_tanh(float x) {
    float a = sky_f_fabs(x);
    float e = sky_f_exp(sky_k_min(a, 10.0f));
    float s = a < 0.5f ? sky_sinh_small(a) : 0.5f * e - 0.5f / e;
    float v = a > 9.0f ? 1.0f : s / (0.5f * e + 0.5f / e);
    return sky_isnan(x) ? x : sky_copysign(v, x);
}

/* ----------------------------------------------------------------- pow */

/* pow for a > 0 (infinity included): exact for y = 0, 1, 2 and a = 1, as C's powf. */
SKY_INLINE float sky_pow_positive(float a, float y) {
    float v = sky_f_exp2(y * sky_f_log2(a));
    v = y == 2.0f ? a * a : v;
    v = y == 1.0f ? a : v;
    return (y == 0.0f || a == 1.0f) ? 1.0f : v;
}

/* kernels.h's pow: C's semantics, also for x <= 0. */
SKY_INLINE float sky_k_pow(float x, float y) {
    float m = sky_pow_positive(sky_f_fabs(x), y);
    float at0 = y > 0 ? 0.0f : (y == 0 ? 1.0f : sky_asfloat(0x7f800000u));
    /* odd: finite with remainder 1 mod 2; every float >= 2^24 is even */
    int odd = sky_f_fabs(y) < 16777216.0f && sky_k_fract(y * 0.5f) != 0.0f;
    float neg = y != sky_f_floor(y) ? sky_asfloat(0x7fc00000u) : (odd ? -m : m);
    float v = x > 0 ? m : (x == 0 ? at0 : neg);
    return (sky_isnan(x) || sky_isnan(y)) ? x + y : v;
}

/* --------------------------------------------------------- hash, noise */

SKY_INLINE uint32_t sky_bits(float f) {
    return f == 0 ? 0u : sky_asuint(f);
}

SKY_INLINE uint32_t sky_pcg(uint32_t v) {
    uint32_t s = v * 747796405u + 2891336453u;
    uint32_t w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
    return (w >> 22u) ^ w;
}

SKY_INLINE uint32_t sky_hash2_u(float a, float b) {
    return sky_pcg(sky_pcg(sky_bits(a)) + sky_bits(b));
}

SKY_INLINE uint32_t sky_hash3_u(float a, float b, float c) {
    return sky_pcg(sky_pcg(sky_pcg(sky_bits(a)) + sky_bits(b)) + sky_bits(c));
}

SKY_INLINE float sky_unit(uint32_t h) {
    return (float)(int32_t)(h >> 8) * 0x1p-24f; /* < 2^24: exact either way */
}

SKY_INLINE float sky_k_hash1(float a) {
    return sky_unit(sky_pcg(sky_bits(a)));
}
SKY_INLINE float sky_k_hash2(float a, float b) {
    return sky_unit(sky_hash2_u(a, b));
}
SKY_INLINE float sky_k_hash3(float a, float b, float c) {
    return sky_unit(sky_hash3_u(a, b, c));
}

SKY_INLINE float sky_fade(float f) {
    return f * f * f * (f * (f * 6.0f - 15.0f) + 10.0f);
}

/* dot(G[h % 8], (dx, dy)), the spec's eight gradients in order, by selects. */
SKY_INLINE float sky_grad2(uint32_t h, float dx, float dy) {
    uint32_t k = h & 7u;
    float s = 0.70710678118654752f;
    float gx = k < 4u ? (k == 0u ? 1.0f : (k == 1u ? -1.0f : 0.0f)) : ((k & 1u) ? -s : s);
    float gy = k < 4u ? (k == 2u ? 1.0f : (k == 3u ? -1.0f : 0.0f)) : (k < 6u ? s : -s);
    return gx * dx + gy * dy;
}

/* dot(G[h % 12], (dx, dy, dz)), the twelve cube-edge gradients in order. */
SKY_INLINE float sky_grad3(uint32_t h, float dx, float dy, float dz) {
    uint32_t k = h % 12u;
    float a = (k & 1u) ? -1.0f : 1.0f;
    float b = (k & 2u) ? -1.0f : 1.0f;
    float gx = k < 8u ? a : 0.0f;
    float gy = k < 4u ? b : (k < 8u ? 0.0f : a);
    float gz = k < 4u ? 0.0f : b;
    return gx * dx + gy * dy + gz * dz;
}

SKY_INLINE float sky_corner2(float ix, float iy, float fx, float fy, float ox, float oy) {
    return sky_grad2(sky_hash2_u(ix + ox, iy + oy), fx - ox, fy - oy);
}

SKY_INLINE float sky_k_noise2(float x, float y) {
    float ix = sky_f_floor(x), iy = sky_f_floor(y);
    float fx = x - ix, fy = y - iy;
    float ux = sky_fade(fx), uy = sky_fade(fy);
    float a = sky_k_mix(sky_corner2(ix, iy, fx, fy, 0.0f, 0.0f),
                        sky_corner2(ix, iy, fx, fy, 1.0f, 0.0f), ux);
    float b = sky_k_mix(sky_corner2(ix, iy, fx, fy, 0.0f, 1.0f),
                        sky_corner2(ix, iy, fx, fy, 1.0f, 1.0f), ux);
    return sky_k_mix(a, b, uy) * 1.41421356237309505f;
}

SKY_INLINE float sky_corner3(float ix, float iy, float iz, float fx, float fy, float fz, float ox,
                             float oy, float oz) {
    uint32_t h = sky_hash3_u(ix + ox, iy + oy, iz + oz);
    return sky_grad3(h, fx - ox, fy - oy, fz - oz);
}

SKY_INLINE float sky_k_noise3(float x, float y, float z) {
    float ix = sky_f_floor(x), iy = sky_f_floor(y), iz = sky_f_floor(z);
    float fx = x - ix, fy = y - iy, fz = z - iz;
    float ux = sky_fade(fx), uy = sky_fade(fy), uz = sky_fade(fz);
#define SKY_C3(ox, oy, oz) sky_corner3(ix, iy, iz, fx, fy, fz, ox, oy, oz)
    float x00 = sky_k_mix(SKY_C3(0.0f, 0.0f, 0.0f), SKY_C3(1.0f, 0.0f, 0.0f), ux);
    float x10 = sky_k_mix(SKY_C3(0.0f, 1.0f, 0.0f), SKY_C3(1.0f, 1.0f, 0.0f), ux);
    float x01 = sky_k_mix(SKY_C3(0.0f, 0.0f, 1.0f), SKY_C3(1.0f, 0.0f, 1.0f), ux);
    float x11 = sky_k_mix(SKY_C3(0.0f, 1.0f, 1.0f), SKY_C3(1.0f, 1.0f, 1.0f), ux);
#undef SKY_C3
    float y0 = sky_k_mix(x00, x10, uy);
    float y1 = sky_k_mix(x01, x11, uy);
    return sky_k_mix(y0, y1, uz);
}

/* ------------------------------------------------------ prev(s, l) */

/*
 * eval.c's prev(s, l), with selects. The reads are unconditional (gathers),
 * from strip 0 and LED 0 where the answer is 0 anyway, so every index is in
 * range; `&` rather than `&&` and int32 indices, or GCC leaves the loop
 * scalar.
 */
SKY_INLINE float sky_prev_at(const float *prev, const uint32_t *strip_first,
                             const uint32_t *strip_size, uint32_t strip_count, float s, float l,
                             uint32_t c) {
    float nf = (float)strip_count;
    float si = sky_f_floor(s);
    si = si - nf * sky_f_floor(si / nf);
    si = si < 0 ? si + nf : si;
    si = si >= nf ? si - nf : si;
    float li = sky_f_floor(l);
    int ok =
        (strip_count != 0) & sky_isfinite(s) & sky_isfinite(l) & (si >= 0) & (si < nf) & (li >= 0);
    int32_t strip = ok ? (int32_t)si : 0;
    ok = ok & (li < (float)strip_size[strip]);
    int32_t led = ok ? (int32_t)strip_first[strip] + (int32_t)li : 0;
    float v = prev[3 * led + (int32_t)c];
    return ok ? v : 0.0f;
}

/* ------------------------------------------------- the final channel */

SKY_INLINE float sky_channel(float c) {
    float v = c > 0.0f ? (c < 1.0f ? c : 1.0f) : 0.0f;
    return sky_isnan(c) ? 0.0f : v;
}

/* floor(c * 255 + 0.5) of a final channel: the sum is in [0.5, 255.5], so truncation floors. */
SKY_INLINE uint8_t sky_byte(float c) {
    return (uint8_t)(int32_t)(c * 255.0f + 0.5f);
}

/* ------------------------------------------------ pic(u, v) */

/*
 * compiler/picture_sample.h's formula with selects (the picture block of
 * sky/picture.h). The runtime hands the kernel a block with an entry for
 * every picture the program samples (cpu_runtime.c), so the entry reads are
 * in range; an absent picture reads word 0 as a 1 x 1 level and returns 0.
 * Texel indices are int32 (GCC gathers with them; with unsigned ones, or a
 * loop over the channels, the kernel's loop stayed scalar).
 */

/* One level's bilinear filter, the three channels at once. */
SKY_INLINE void sky_pic_level3(const uint32_t *b, int32_t off, int32_t w, int32_t h, float u,
                               float v, float *r, float *g, float *bl) {
    float px = u * (float)w - 0.5f, py = v * (float)h - 0.5f;
    float fx = sky_f_floor(px), fy = sky_f_floor(py);
    float ax = px - fx, ay = py - fy;
    int32_t x0 = (int32_t)fx, y0 = (int32_t)fy;
    int32_t x1 = x0 + 1 > w - 1 ? w - 1 : x0 + 1, y1 = y0 + 1 > h - 1 ? h - 1 : y0 + 1;
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    uint32_t t00 = b[off + y0 * w + x0], t10 = b[off + y0 * w + x1];
    uint32_t t01 = b[off + y1 * w + x0], t11 = b[off + y1 * w + x1];
#define SKY_PIC_CH(t, k) ((float)(int32_t)(((t) >> (k)) & 255u))
#define SKY_PIC_MIX(k)                                                          \
    (((SKY_PIC_CH(t00, k) + (SKY_PIC_CH(t10, k) - SKY_PIC_CH(t00, k)) * ax) +   \
      ((SKY_PIC_CH(t01, k) + (SKY_PIC_CH(t11, k) - SKY_PIC_CH(t01, k)) * ax) -  \
       (SKY_PIC_CH(t00, k) + (SKY_PIC_CH(t10, k) - SKY_PIC_CH(t00, k)) * ax)) * \
          ay) /                                                                 \
     255.0f)
    *r = SKY_PIC_MIX(0);
    *g = SKY_PIC_MIX(8);
    *bl = SKY_PIC_MIX(16);
#undef SKY_PIC_MIX
#undef SKY_PIC_CH
}

/* The three channels at once (the emitter calls this once per picture and point). */
SKY_INLINE void sky_pic_rgb(const uint32_t *b, uint32_t p, float u, float v, float *r, float *g,
                            float *bl) {
    /* The entry's words are read unconditionally, then selected: a load under a
     * condition keeps GCC from if-converting (and so vectorising) the loop. */
    const uint32_t *e = b + 4u + 8u * p;
    uint32_t e0 = e[0], e1 = e[1], e2 = e[2], e3 = e[3], e4 = e[4], e5 = e[5], e6 = e[6], e7 = e[7];
    int ok = e0 != 0;
    float weight = ok ? sky_asfloat(e1) : 0.0f;
    u = sky_isnan(u) ? 0.0f : (u > 0.0f ? (u < 1.0f ? u : 1.0f) : 0.0f);
    v = sky_isnan(v) ? 0.0f : (v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f);
    float fr, fg, fb, cr, cg, cb;
    sky_pic_level3(b, ok ? (int32_t)e2 : 0, ok ? (int32_t)e3 : 1, ok ? (int32_t)e4 : 1, u, v, &fr,
                   &fg, &fb);
    sky_pic_level3(b, ok ? (int32_t)e5 : 0, ok ? (int32_t)e6 : 1, ok ? (int32_t)e7 : 1, u, v, &cr,
                   &cg, &cb);
    float xr = fr + (cr - fr) * weight, xg = fg + (cg - fg) * weight, xb = fb + (cb - fb) * weight;
    *r = ok ? xr : 0.0f;
    *g = ok ? xg : 0.0f;
    *bl = ok ? xb : 0.0f;
}

#endif
