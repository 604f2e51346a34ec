// vk_test_slow.comp - follows docs/shader-abi.md with an amount of work the
// test chooses per frame: every invocation runs sky_u[2] rounds of sky_u[3]
// dependent iterations. test_vk_runtime measures how fast the device runs it,
// then asks for a frame that takes far longer than the runtime's timeout on
// that device, to check that a hung device becomes SKY_ERR_DEVICE_LOST
// instead of a hang.
#version 450
layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer SkyFrame { uvec4 sky_info; float sky_u[]; };
layout(std430, set = 0, binding = 5) writeonly buffer SkyOut { uint sky_out[]; };

void main() {
    uint inv = gl_GlobalInvocationID.x;
    if (4u * inv >= sky_info.x) return;
    uint acc = floatBitsToUint(sky_u[0]);
    // llvmpipe stops any loop after 65535 iterations: the test keeps sky_u[3]
    // at 65000 or less, and the rounds make up the rest.
    uint rounds = uint(sky_u[2]), steps = uint(sky_u[3]);
    for (uint j = 0u; j < rounds; j++)
        for (uint k = 0u; k < steps; k++)
            acc = acc * 1664525u + floatBitsToUint(sky_u[(acc >> 7u) & 1u]) + k + j;
    sky_out[3u * inv] = acc;
    sky_out[3u * inv + 1u] = acc;
    sky_out[3u * inv + 2u] = acc;
}
