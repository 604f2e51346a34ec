// sky_prev.glsl - prev(s, l): random access to the previous frame.
//
// Channel c of LED floor(l) of strip floor(s), the strip wrapped modulo
// strip_count (floored, so strip -1 is the last one); 0 where s or l is not
// finite or the LED is outside [0, LED count of that strip). Reads binding 3
// (sky_prev) and binding 2 (sky_strip) declared in sky_frame.glsl, and
// writes binding 4 (sky_cur) for the next frame through sky_store_prev.

// The floored modulo si - n * floor(si / n) of an integer-valued si. Computed
// on integers while |si| < 2^24 (every such float is exact and the float
// formula is exact there too), so a GPU's approximate division cannot turn
// strip n into n instead of 0; beyond that the float formula, as on the CPU.
precise float sky_strip_wrap(float si, uint n) {
    if (abs(si) < 16777216.0) {
        uint m = uint(abs(si)) % n;
        return float(si < 0.0 && m != 0u ? n - m : m);
    }
    float fn = float(n);
    return si - fn * floor(si / fn);
}

precise float sky_prev_at(float s, float l, uint c) {
    uint n = sky_info.y;
    if (n == 0u || !sky_isfinite(s) || !sky_isfinite(l)) return 0.0;
    float si = sky_strip_wrap(floor(s), n);
    float li = floor(l);
    // si outside [0, n) only when rounding of huge values defeats the modulo
    if (si < 0.0 || si >= float(n) || li < 0.0) return 0.0;
    uvec2 strip = sky_strip[uint(si)];
    if (li >= float(strip.y)) return 0.0;
    return sky_prev[3u * (strip.x + uint(li)) + c];
}

// LED i's final colour at full precision, for the next frame's prev (binding 4).
void sky_store_prev(uint i, vec3 c) {
    sky_cur[3u * i] = c.r;
    sky_cur[3u * i + 1u] = c.g;
    sky_cur[3u * i + 2u] = c.b;
}
