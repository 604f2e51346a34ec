// sky_frame.glsl - the shader ABI (docs/shader-abi.md) and the final channel rule.
//
// Pasted into every shader, right after `#version 450` and the work-group
// layout. It declares all six storage buffers of descriptor set 0, so one
// pipeline layout serves every program, and the functions main() uses to make
// a colour final and pack it into bytes.
//
// Robust against fast-math: NaN and infinity tests look at the bits
// (floatBitsToUint), never isnan()/isinf(), which a driver may fold to false.
// Every helper that computes floats is `precise` (SPIR-V NoContraction), as
// is every temporary of sky_pixel: SPIR-V lets a driver fuse a * b + c into
// one FMA, which rounds once where the C kernels round twice. lavapipe does
// fuse, and a pattern's fract(radians(degrees(theta) + 45) / tau) then gave
// 0.99999994 instead of 0 on a whole strip.

// binding 0: (led_count, strip_count, 0, 0) and the hoisted per-frame values
layout(std430, set = 0, binding = 0) readonly restrict buffer SkyFrame {
    uvec4 sky_info;
    float sky_u[];
};

// binding 1: per LED, exactly sky_led_input of sky/abi.h (48 bytes)
struct SkyLed {
    vec4 pos;  // x, y, r, theta
    uvec4 ids; // strip, led, leds (LED count of the strip), strip_first
    vec4 geo;  // z, then three zeros (reserved)
};
layout(std430, set = 0, binding = 1) readonly restrict buffer SkyLeds {
    SkyLed sky_led[];
};

// binding 2: per strip, (index of its first LED, LED count)
layout(std430, set = 0, binding = 2) readonly restrict buffer SkyStrips {
    uvec2 sky_strip[];
};

// binding 3: the previous frame, full precision, LED i channel c at 3i + c
layout(std430, set = 0, binding = 3) readonly restrict buffer SkyPrev {
    float sky_prev[];
};

// binding 4: this frame, same layout; the next frame's binding 3 (ping-pong)
layout(std430, set = 0, binding = 4) writeonly restrict buffer SkyCur {
    float sky_cur[];
};

// binding 5: RGB8 bytes, LED after LED, little-endian in 32-bit words
layout(std430, set = 0, binding = 5) writeonly restrict buffer SkyOut {
    uint sky_out[];
};

// True when x is a NaN: exponent all ones and a non-zero mantissa.
bool sky_isnan(float x) {
    return (floatBitsToUint(x) & 0x7fffffffu) > 0x7f800000u;
}

// True when x is neither infinite nor NaN.
bool sky_isfinite(float x) {
    return (floatBitsToUint(x) & 0x7f800000u) != 0x7f800000u;
}

// The final channel rule: NaN -> 0, then clamp to [0, 1] (-0 becomes +0).
precise float sky_channel(float c) {
    if (sky_isnan(c)) return 0.0;
    return c > 0.0 ? (c < 1.0 ? c : 1.0) : 0.0;
}

precise vec3 sky_final(vec3 c) {
    return vec3(sky_channel(c.r), sky_channel(c.g), sky_channel(c.b));
}

// A final channel in [0, 1] as a byte: floor(c * 255 + 0.5).
precise uvec3 sky_bytes(vec3 c) {
    return uvec3(floor(c * 255.0 + 0.5));
}
