#version 450
// sky_post.comp - the runtime's post pass (docs/shader-abi.md, "After the
// pattern"): the master dimmer and the crossfade, on the device.
//
// Runs after the pattern shader(s) of a frame when the brightness is below 1
// or two patterns are mixed. Each invocation takes one 32-bit word (4 bytes) of
// each layer: byte = floor((a * (1 - amount) + b * amount) * level + 0.5).
// At amount 0 and level 1 this is exactly `a`. vk_post.c computes the same
// formula on the host for held frames, so both are `precise` (no FMA).
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly restrict buffer SkyPostParams {
    uint words;   // 32-bit words per frame: ceil(led_count / 4) * 3
    float amount; // 0: layer a only, 1: layer b only
    float level;  // the brightness, in [0, 1]
    uint unused;
};
layout(std430, set = 0, binding = 1) readonly restrict buffer SkyLayerA { uint sky_a[]; };
layout(std430, set = 0, binding = 2) readonly restrict buffer SkyLayerB { uint sky_b[]; };
layout(std430, set = 0, binding = 3) writeonly restrict buffer SkyPostOut { uint sky_out[]; };

precise vec4 sky_unpack(uint w) {
    return vec4((uvec4(w) >> uvec4(0u, 8u, 16u, 24u)) & 0xffu);
}

void main() {
    uint g = gl_GlobalInvocationID.x;
    if (g >= words) return;
    precise vec4 m = sky_unpack(sky_a[g]);
    if (amount > 0.0) m = m * (1.0 - amount) + sky_unpack(sky_b[g]) * amount;
    precise vec4 v = min(floor(m * level + 0.5), vec4(255.0));
    uvec4 b = uvec4(v);
    sky_out[g] = b.x | (b.y << 8u) | (b.z << 16u) | (b.w << 24u);
}
