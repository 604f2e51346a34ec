// sky_noise.glsl - the spec's gradient noise, noise(vec2) and noise(vec3).
//
// i = floor(p), f = p - i, fade u = f*f*f*(f*(f*6 - 15) + 10); at each corner
// c = i + offset the gradient is G[h % N] with h the integer hash of c's
// components (sky_hash.glsl); corner value dot(G, f - offset); mixed by u with
// sky_mix (a * (1 - t) + b * t), x first, then y, then z. Scalar code in the
// same order of operations as the C kernels in compiler/kernels.h.
// Needs sky_hash.glsl and sky_math.glsl (the emitter pastes them first).

precise float sky_fade(float f) {
    return f * f * f * (f * (f * 6.0 - 15.0) + 10.0);
}

// dot(G[h % 8], (dx, dy)) with the gradients, in the spec's order,
// (1,0) (-1,0) (0,1) (0,-1) (s,s) (-s,s) (s,-s) (-s,-s), s = sqrt(1/2).
precise float sky_grad2(uint h, float dx, float dy) {
    uint k = h % 8u;
    float s = 0.707106781; // sqrt(0.5) rounded to float
    float gx, gy;
    if (k < 4u) {
        gx = k == 0u ? 1.0 : (k == 1u ? -1.0 : 0.0);
        gy = k == 2u ? 1.0 : (k == 3u ? -1.0 : 0.0);
    } else {
        gx = (k & 1u) == 0u ? s : -s;
        gy = k < 6u ? s : -s;
    }
    return gx * dx + gy * dy;
}

// dot(G[h % 12], (dx, dy, dz)) with the twelve cube-edge directions in the
// spec's order: (+-1,+-1,0) x4, (+-1,0,+-1) x4, (0,+-1,+-1) x4, the first
// non-zero component alternating fastest.
precise float sky_grad3(uint h, float dx, float dy, float dz) {
    uint k = h % 12u;
    float a = (k & 1u) == 0u ? 1.0 : -1.0;
    float b = (k & 2u) == 0u ? 1.0 : -1.0;
    vec3 g = k < 4u ? vec3(a, b, 0.0) : (k < 8u ? vec3(a, 0.0, b) : vec3(0.0, a, b));
    return g.x * dx + g.y * dy + g.z * dz;
}

precise float sky_corner2(float ix, float iy, float fx, float fy, float ox, float oy) {
    return sky_grad2(sky_hashu2(ix + ox, iy + oy), fx - ox, fy - oy);
}

precise float sky_noise2(float x, float y) {
    float ix = floor(x), iy = floor(y);
    float fx = x - ix, fy = y - iy;
    float ux = sky_fade(fx), uy = sky_fade(fy);
    float a = sky_mix(sky_corner2(ix, iy, fx, fy, 0.0, 0.0),
                       sky_corner2(ix, iy, fx, fy, 1.0, 0.0), ux);
    float b = sky_mix(sky_corner2(ix, iy, fx, fy, 0.0, 1.0),
                       sky_corner2(ix, iy, fx, fy, 1.0, 1.0), ux);
    return sky_mix(a, b, uy) * 1.41421354; // sqrt(2) rounded to float
}

precise float sky_corner3(vec3 i, vec3 f, float ox, float oy, float oz) {
    uint h = sky_hashu3(i.x + ox, i.y + oy, i.z + oz);
    return sky_grad3(h, f.x - ox, f.y - oy, f.z - oz);
}

precise float sky_noise3(float x, float y, float z) {
    vec3 i = vec3(floor(x), floor(y), floor(z));
    vec3 f = vec3(x - i.x, y - i.y, z - i.z);
    float ux = sky_fade(f.x), uy = sky_fade(f.y), uz = sky_fade(f.z);
    // x first: one mix per (y, z) edge of the cell
    float x00 = sky_mix(sky_corner3(i, f, 0.0, 0.0, 0.0), sky_corner3(i, f, 1.0, 0.0, 0.0), ux);
    float x10 = sky_mix(sky_corner3(i, f, 0.0, 1.0, 0.0), sky_corner3(i, f, 1.0, 1.0, 0.0), ux);
    float x01 = sky_mix(sky_corner3(i, f, 0.0, 0.0, 1.0), sky_corner3(i, f, 1.0, 0.0, 1.0), ux);
    float x11 = sky_mix(sky_corner3(i, f, 0.0, 1.0, 1.0), sky_corner3(i, f, 1.0, 1.0, 1.0), ux);
    // then y, then z
    float y0 = sky_mix(x00, x10, uy);
    float y1 = sky_mix(x01, x11, uy);
    return sky_mix(y0, y1, uz);
}
