// vk_test.comp - a hand-written shader that follows docs/shader-abi.md, so the
// runtime's tests do not depend on the compiler. test_vk_runtime.c computes
// the same colours on the CPU (ref_pixel) and compares every LED.
//   r = clamp(x * 0.5 + 0.5) * u[0]
//   g = 0.5 * prev(strip + 1, led).r + 0.25 * led / leds     (neighbour strip: strip table)
//   b = 0.5 * prev.b + u[1]                                    (ping-pong of prev)
// Built with -DTEXELS it reads x from the optional texel binding 6 instead.
// Built with -DNO_PREV it is a program that does not use prev:
//   r = u[0], g = clamp(y * 0.5 + 0.5), b = 0.25 * led / leds  (and writes no sky_cur)
#version 450
layout(local_size_x_id = 0) in;

struct SkyLed { vec4 pos; uvec4 ids; vec4 geo; }; // sky_led_input: 48 bytes (geo: z, 0, 0, 0)
layout(std430, set = 0, binding = 0) readonly buffer SkyFrame { uvec4 sky_info; float sky_u[]; };
layout(std430, set = 0, binding = 1) readonly buffer SkyLeds { SkyLed sky_led[]; };
layout(std430, set = 0, binding = 2) readonly buffer SkyStrips { uvec2 sky_strip[]; };
layout(std430, set = 0, binding = 3) readonly buffer SkyPrev { float sky_prev[]; };
layout(std430, set = 0, binding = 4) writeonly buffer SkyCur { float sky_cur[]; };
layout(std430, set = 0, binding = 5) writeonly buffer SkyOut { uint sky_out[]; };
#ifdef TEXELS
// The optional binding 6: binding 1 again as RGBA32F texels (texel 3i = pos of LED i).
layout(set = 0, binding = 6) uniform samplerBuffer sky_led_texels;
#define SKY_LED_X(i) texelFetch(sky_led_texels, int(3u * (i))).x
#else
#define SKY_LED_X(i) sky_led[i].pos.x
#endif

float prev_at(uint s, uint l, uint c) {
    s = s % sky_info.y;
    if (l >= sky_strip[s].y) return 0.0;
    return sky_prev[3u * (sky_strip[s].x + l) + c];
}

vec3 pixel(uint i) {
    SkyLed led = sky_led[i];
#ifdef NO_PREV
    return clamp(vec3(sky_u[0], led.pos.y * 0.5 + 0.5, 0.25 * (float(led.ids.y) / float(led.ids.z))), 0.0, 1.0);
#endif
    float r = clamp(SKY_LED_X(i) * 0.5 + 0.5, 0.0, 1.0) * sky_u[0];
    float g = 0.5 * prev_at(led.ids.x + 1u, led.ids.y, 0u) + 0.25 * (float(led.ids.y) / float(led.ids.z));
    float b = 0.5 * sky_prev[3u * i + 2u] + sky_u[1];
    return clamp(vec3(r, g, b), 0.0, 1.0);
}

void main() {
    uint inv = gl_GlobalInvocationID.x;
    uint n = sky_info.x;
    if (4u * inv >= n) return;
    uint bytes[12];
    for (uint k = 0u; k < 4u; k++) {
        uint i = 4u * inv + k;
        vec3 c = vec3(0.0);
        if (i < n) {
            c = pixel(i);
#ifndef NO_PREV
            sky_cur[3u * i] = c.r;
            sky_cur[3u * i + 1u] = c.g;
            sky_cur[3u * i + 2u] = c.b;
#endif
        }
        for (uint ch = 0u; ch < 3u; ch++)
            bytes[3u * k + ch] = i < n ? uint(floor(c[ch] * 255.0 + 0.5)) : 0u;
    }
    for (uint w = 0u; w < 3u; w++)
        sky_out[3u * inv + w] = bytes[4u * w] | (bytes[4u * w + 1u] << 8) |
                                (bytes[4u * w + 2u] << 16) | (bytes[4u * w + 3u] << 24);
}
