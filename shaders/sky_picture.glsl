// sky_picture.glsl - pic(u, v): a picture input's colour, read from the
// picture block (binding 8, sky/picture.h, docs/shader-abi.md).
//
// The very formula of compiler/picture_sample.h, operation for operation,
// on the three channels at once: u, v clamped to [0, 1] (NaN: 0); in each of
// the picture's two levels a bilinear filter with the edge texels repeated;
// the two mixed with the weight the host chose from the LEDs' footprint.
// Everything is `precise`, so no driver fuses a * b + c where the C rounds
// twice. The emitter spells each channel as sky_pic_rgb(p, u, v).x (.y, .z):
// straight-line code with the same loads, which the driver's compiler merges
// into one call (llvmpipe turns every storage-buffer load into a loop over
// the SIMD lanes; three separate fetches per texel cost three times that).

// binding 8: the picture block, one uint per word. Every read goes through
// SKY_PIC_WORD(i), which the emitter defines: sky_pic[i], or with texels
// (sky_emit_options.led_texels) a fetch from binding 9, the same buffer as
// R32_UINT texels, which llvmpipe turns into one vector gather where a
// storage-buffer load is a loop over the SIMD lanes.
layout(std430, set = 0, binding = 8) readonly restrict buffer SkyPictures {
    uint sky_pic[];
};

precise float sky_pic_clamp01(float u) {
    float c = u > 0.0 ? (u < 1.0 ? u : 1.0) : 0.0;
    return sky_isnan(u) ? 0.0 : c;
}

vec3 sky_pic_texel(uint off, uint w, int x, int y) {
    uint t = SKY_PIC_WORD(off + uint(y) * w + uint(x));
    return vec3(float(t & 255u), float((t >> 8u) & 255u), float((t >> 16u) & 255u));
}

precise vec3 sky_pic_level(uint off, uint w, uint h, float u, float v) {
    precise float px = u * float(w) - 0.5;
    precise float py = v * float(h) - 0.5;
    precise float fx = floor(px);
    precise float fy = floor(py);
    precise float ax = px - fx;
    precise float ay = py - fy;
    int wl = int(w) - 1, hl = int(h) - 1;
    int x0 = int(fx), y0 = int(fy);
    int x1 = min(x0 + 1, wl), y1 = min(y0 + 1, hl);
    x0 = max(x0, 0);
    y0 = max(y0, 0);
    precise vec3 t00 = sky_pic_texel(off, w, x0, y0);
    precise vec3 t10 = sky_pic_texel(off, w, x1, y0);
    precise vec3 t01 = sky_pic_texel(off, w, x0, y1);
    precise vec3 t11 = sky_pic_texel(off, w, x1, y1);
    precise vec3 top = t00 + (t10 - t00) * ax;
    precise vec3 bottom = t01 + (t11 - t01) * ax;
    return (top + (bottom - top) * ay) / 255.0;
}

// Picture p's colour at (u, v); black for a picture the block does not hold.
// Branch-free: an absent picture reads word 0 as a 1 x 1 level (the runtime's
// buffers hold every entry, SKY_MAX_PICTURES of them, at least).
precise vec3 sky_pic_rgb(uint p, float u, float v) {
    bool has = p < SKY_PIC_WORD(0u);
    uint e = 4u + 8u * (has ? p : 0u);
    bool present = has && SKY_PIC_WORD(e) != 0u;
    precise float weight = present ? uintBitsToFloat(SKY_PIC_WORD(e + 1u)) : 0.0;
    precise float cu = sky_pic_clamp01(u);
    precise float cv = sky_pic_clamp01(v);
    precise vec3 fine = sky_pic_level(present ? SKY_PIC_WORD(e + 2u) : 0u,
                                      present ? SKY_PIC_WORD(e + 3u) : 1u,
                                      present ? SKY_PIC_WORD(e + 4u) : 1u, cu, cv);
    precise vec3 coarse = sky_pic_level(present ? SKY_PIC_WORD(e + 5u) : 0u,
                                        present ? SKY_PIC_WORD(e + 6u) : 1u,
                                        present ? SKY_PIC_WORD(e + 7u) : 1u, cu, cv);
    precise vec3 c = fine + (coarse - fine) * weight;
    return present ? c : vec3(0.0);
}
