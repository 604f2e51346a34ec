// sky_hash.glsl - the spec's hash(): pcg on the IEEE-754 bits of the arguments.
//
// hash(a) = pcg(bits(a)), hash(a, b) = pcg(pcg(bits(a)) + bits(b)),
// hash(a, b, c) = pcg(pcg(pcg(bits(a)) + bits(b)) + bits(c)); as a float the
// top 24 bits times 2^-24, which is exactly representable and so in [0, 1).
// All uint arithmetic wraps modulo 2^32, as in the C kernels.

// The bits of f + 0.0, spelled as a test so fast-math cannot drop the + 0.0:
// both zeros hash alike.
uint sky_bits(float f) {
    return f == 0.0 ? 0u : floatBitsToUint(f);
}

uint sky_pcg(uint v) {
    uint s = v * 747796405u + 2891336453u;
    uint w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
    return (w >> 22u) ^ w;
}

uint sky_hashu1(float a) {
    return sky_pcg(sky_bits(a));
}

uint sky_hashu2(float a, float b) {
    return sky_pcg(sky_pcg(sky_bits(a)) + sky_bits(b));
}

uint sky_hashu3(float a, float b, float c) {
    return sky_pcg(sky_pcg(sky_pcg(sky_bits(a)) + sky_bits(b)) + sky_bits(c));
}

// (h >> 8) * 2^-24: exact, so never 1.0.
precise float sky_unit(uint h) {
    return float(h >> 8u) * 5.9604644775390625e-8;
}

precise float sky_hash1(float a) {
    return sky_unit(sky_hashu1(a));
}

precise float sky_hash2(float a, float b) {
    return sky_unit(sky_hashu2(a, b));
}

precise float sky_hash3(float a, float b, float c) {
    return sky_unit(sky_hashu3(a, b, c));
}
