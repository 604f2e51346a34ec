// sky_trig.glsl - sin and cos as polynomials, for CPU devices (llvmpipe).
//
// Emitted instead of GLSL's sin/cos when sky_emit_options.poly_trig is set,
// which the runtime does on a CPU Vulkan device: llvmpipe's own sin/cos
// (Cephes-style, with integer quadrant logic) cost about twice these, and
// sine-heavy patterns spend most of their time there. GPUs keep their native
// instructions.
//
// The argument is reduced to r in [-pi, pi] with a two-part 2*pi (6.28125 has
// 8 significant bits, so k * 6.28125 is exact for |k| < 2^16), then odd / even
// minimax polynomials fitted on [-3.3, 3.3] (the reduction may overshoot pi a
// little for large arguments). Measured against double-precision sin/cos on
// float arguments up to |x| = 16384: at most 1.0e-6 (sin) and 6.4e-7 (cos)
// off, within the error bounds docs/language.md allows a device; Vulkan asks
// for 2^-11 on [-pi, pi]. Beyond that a float's own spacing makes any sin a
// guess; the clamp keeps r, and so the result, in range there, and NaN and
// infinity give NaN, as sin does.

precise float sky_trig_reduce(float x) {
    float k = roundEven(x * 0.159154943);
    float r = (x - k * 6.28125) - k * 0.00193530718;
    return sky_clamp(r, -3.3, 3.3);
}

precise float sky_sin_poly(float x) {
    float r = sky_trig_reduce(x);
    float r2 = r * r;
    float p = -1.99325605e-08;
    p = p * r2 + 2.68858730e-06;
    p = p * r2 - 1.97982561e-04;
    p = p * r2 + 8.33198428e-03;
    p = p * r2 - 1.66664854e-01;
    p = p * r2 + 9.99999285e-01;
    return r * p;
}

precise float sky_cos_poly(float x) {
    float r = sky_trig_reduce(x);
    float r2 = r * r;
    float p = 1.69085412e-09;
    p = p * r2 - 2.69831133e-07;
    p = p * r2 + 2.47597109e-05;
    p = p * r2 - 1.38873106e-03;
    p = p * r2 + 4.16663811e-02;
    p = p * r2 - 4.99999821e-01;
    return p * r2 + 1.0;
}
