// sky_math.glsl - built-ins whose GLSL behaviour is undefined or loosely
// defined at the edges, spelled out exactly as the C kernels in
// compiler/kernels.h compute them (the CPU reference evaluator and the
// constant folder run those kernels, so CPU and GPU agree).
//
// Every definition here is written with comparisons and selects, never with
// isnan()/isinf() or GLSL's own min/max/clamp/sign/step, whose NaN behaviour
// drivers differ on.

// A quiet NaN, built from bits so that no constant folder sees 0.0 / 0.0.
precise float sky_nan() {
    return uintBitsToFloat(0x7fc00000u);
}

// sign(x) = x > 0 ? 1 : (x < 0 ? -1 : 0): NaN and -0 give 0. Spelled with the
// bits: drivers recognise the select chain as their own sign and then fold
// 1 / sign(x) to sign(x), wrong for x = 0 (found by tests/gen: lavapipe gave
// black for 1.6 / sign(0), where the CPU gives infinity, so full brightness).
precise float sky_sign(float x) {
    uint m = floatBitsToUint(x) & 0x7fffffffu;
    if (m == 0u || m > 0x7f800000u) return 0.0;
    return floatBitsToUint(x) > 0x7fffffffu ? -1.0 : 1.0;
}

// step(e, x) = x < e ? 0 : 1 (NaN gives 1).
precise float sky_step(float e, float x) {
    return x < e ? 0.0 : 1.0;
}

// min(a, b) = b < a ? b : a; max(a, b) = a < b ? b : a (GLSL's own definition).
precise float sky_min(float a, float b) {
    return b < a ? b : a;
}

precise float sky_max(float a, float b) {
    return a < b ? b : a;
}

// clamp(x, lo, hi) = min(max(x, lo), hi) with the min/max above.
precise float sky_clamp(float x, float lo, float hi) {
    return sky_min(sky_max(x, lo), hi);
}

// mix(a, b, t) = a * (1 - t) + b * t (not a + t * (b - a)).
precise float sky_mix(float a, float b, float t) {
    return a * (1.0 - t) + b * t;
}

// Floored modulo, also the `%` operator: x - y * floor(x / y).
precise float sky_mod(float x, float y) {
    return x - y * floor(x / y);
}

// Round half away from zero: t = trunc(x); t + (|x - t| >= 0.5 ? sign(x) : 0).
precise float sky_round(float x) {
    float t = trunc(x);
    return t + (abs(x - t) >= 0.5 ? sky_sign(x) : 0.0);
}

// smoothstep with equal edges defined as a step at e0 (GLSL: undefined).
precise float sky_smoothstep(float e0, float e1, float x) {
    if (e0 == e1) return x < e0 ? 0.0 : 1.0;
    float u = sky_clamp((x - e0) / (e1 - e0), 0.0, 1.0);
    return u * u * (3.0 - 2.0 * u);
}

// atan(x) that keeps a NaN a NaN, as C's atanf does (lavapipe's atan gives 0).
precise float sky_atan(float x) {
    return sky_isnan(x) ? x : atan(x);
}

// atan2 with atan2(0, 0) = 0 (GLSL: undefined) and NaN in, NaN out.
precise float sky_atan2(float y, float x) {
    if (sky_isnan(y) || sky_isnan(x)) return sky_nan();
    return (x == 0.0 && y == 0.0) ? 0.0 : atan(y, x);
}

// pow(a, y) for a > 0 with C's edge cases that exp2(y * log2(a)) misses:
// pow(a, 0) = 1 and pow(1, y) = 1 even for infinite a or y. The common
// exponents 1 and 2 (x^2 is everywhere in patterns) are exact, as C's powf
// is, rather than the GPU's exp2/log2 approximation (100^1 = 99.99999).
precise float sky_pow_positive(float a, float y) {
    if (y == 0.0 || a == 1.0) return 1.0;
    if (y == 1.0) return a;
    if (y == 2.0) return a * a;
    return pow(a, y);
}

// pow(x, y) with C's semantics, also for the x <= 0 that GLSL leaves undefined
// (users write x^2 with negative x):
//   x or y NaN -> NaN; x > 0: pow(x, y);
//   x == 0 (either sign): y > 0 -> +0, y == 0 -> 1, y < 0 -> +inf;
//   x < 0: y an integer (infinities count as even) -> pow(|x|, y), negated
//   when y is odd; otherwise NaN.
precise float sky_pow(float x, float y) {
    if (sky_isnan(x) || sky_isnan(y)) return sky_nan();
    if (x > 0.0) return sky_pow_positive(x, y);
    if (x == 0.0) return y > 0.0 ? 0.0 : (y == 0.0 ? 1.0 : uintBitsToFloat(0x7f800000u));
    if (y != floor(y)) return sky_nan();
    float m = sky_pow_positive(-x, y);
    // odd: finite with y / 2 not an integer; every float >= 2^24 is even
    bool odd = abs(y) < 16777216.0 && fract(y * 0.5) != 0.0;
    return odd ? -m : m;
}
