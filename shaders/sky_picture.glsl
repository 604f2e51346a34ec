// sky_picture.glsl - pic(u, v): one channel of a picture input, read from the
// picture block (binding 8, sky/picture.h, docs/shader-abi.md).
//
// The very formula of compiler/picture_sample.h, operation for operation:
// u, v clamped to [0, 1] (NaN: 0); in each of the picture's two levels a
// bilinear filter with the edge texels repeated; the two mixed with the
// weight the host chose from the LEDs' footprint. Everything is `precise`,
// so no driver fuses a * b + c where the C rounds twice.

// binding 8: the picture block, one uint per word
layout(std430, set = 0, binding = 8) readonly restrict buffer SkyPictures {
    uint sky_pic[];
};

precise float sky_pic_clamp01(float u) {
    if (sky_isnan(u)) return 0.0;
    return u > 0.0 ? (u < 1.0 ? u : 1.0) : 0.0;
}

precise float sky_pic_texel(uint off, uint w, int x, int y, uint c) {
    return float((sky_pic[off + uint(y) * w + uint(x)] >> (8u * c)) & 255u);
}

precise float sky_pic_level(uint off, uint w, uint h, float u, float v, uint c) {
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
    precise float t00 = sky_pic_texel(off, w, x0, y0, c);
    precise float t10 = sky_pic_texel(off, w, x1, y0, c);
    precise float t01 = sky_pic_texel(off, w, x0, y1, c);
    precise float t11 = sky_pic_texel(off, w, x1, y1, c);
    precise float top = t00 + (t10 - t00) * ax;
    precise float bottom = t01 + (t11 - t01) * ax;
    return (top + (bottom - top) * ay) / 255.0;
}

// Channel c of picture p at (u, v); 0 for a picture the block does not hold.
precise float sky_pic_sample(uint p, uint c, float u, float v) {
    if (p >= sky_pic[0]) return 0.0;
    uint e = 4u + 8u * p;
    if (sky_pic[e] == 0u) return 0.0;
    precise float weight = uintBitsToFloat(sky_pic[e + 1u]);
    precise float cu = sky_pic_clamp01(u);
    precise float cv = sky_pic_clamp01(v);
    precise float fine = sky_pic_level(sky_pic[e + 2u], sky_pic[e + 3u], sky_pic[e + 4u], cu, cv, c);
    precise float coarse =
        sky_pic_level(sky_pic[e + 5u], sky_pic[e + 6u], sky_pic[e + 7u], cu, cv, c);
    return fine + (coarse - fine) * weight;
}
