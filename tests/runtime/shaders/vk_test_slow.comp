// vk_test_slow.comp - follows docs/shader-abi.md but takes far longer than any
// timeout (65,000 dependent iterations per invocation), so
// test_vk_runtime can check that a hung device becomes SKY_ERR_DEVICE_LOST
// instead of a hang.
#version 450
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer SkyFrame { uvec4 sky_info; float sky_u[]; };
layout(std430, set = 0, binding = 5) writeonly buffer SkyOut { uint sky_out[]; };

void main() {
    uint inv = gl_GlobalInvocationID.x;
    if (4u * inv >= sky_info.x) return;
    uint acc = floatBitsToUint(sky_u[0]);
    // llvmpipe stops any loop after 65535 iterations, so the length comes from
    // many invocations (the test uses a million LEDs) each running that long.
    uint steps = 65000u - sky_info.w; // sky_info.w is 0: the compiler cannot know
    for (uint k = 0u; k < steps; k++)
        acc = acc * 1664525u + floatBitsToUint(sky_u[(acc >> 7u) & 1u]) + k;
    sky_out[3u * inv] = acc;
    sky_out[3u * inv + 1u] = acc;
    sky_out[3u * inv + 2u] = acc;
}
