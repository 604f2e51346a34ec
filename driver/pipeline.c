/*
 * pipeline.c - gamma/brightness LUT, colour order, power estimate and the
 * quantizers (plain and temporally dithered). See pipeline.h for the flow.
 *
 * The loops are written so the compiler can vectorise them: the 103,680-LED
 * Skyscreen runs both stages on every frame, 60 times a second.
 */
#include "pipeline.h"

#include <math.h>

void pipe_build_lut(uint16_t lut[256], double gamma, double brightness) {
    if (brightness < 0) brightness = 0;
    if (brightness > 1) brightness = 1;
    for (int i = 0; i < 256; i++) {
        double v = PIPE_FULL * brightness * pow(i / 255.0, gamma);
        long r = lround(v);
        if (r < 0) r = 0;
        if (r > (long)PIPE_FULL) r = PIPE_FULL;
        lut[i] = (uint16_t)r;
    }
}

void pipe_order_perm(const char order[4], uint8_t perm[3]) {
    perm[0] = 0;
    perm[1] = 1;
    perm[2] = 2;
    for (int k = 0; k < 3; k++) {
        switch (order[k]) {
        case 'R':
            perm[k] = 0;
            break;
        case 'G':
            perm[k] = 1;
            break;
        case 'B':
            perm[k] = 2;
            break;
        default:
            break;
        }
    }
}

void pipe_apply_lut(const uint8_t *rgb, uint32_t leds, const uint16_t lut[256],
                    const uint8_t perm[3], uint16_t *out, uint64_t sums[3]) {
    uint64_t s0 = 0, s1 = 0, s2 = 0; /* wire positions */
    const unsigned p0 = perm[0], p1 = perm[1], p2 = perm[2];
    for (uint32_t i = 0; i < leds; i++) {
        const uint8_t *px = rgb + (size_t)i * 3;
        uint16_t a = lut[px[p0]], b = lut[px[p1]], c = lut[px[p2]];
        out[(size_t)i * 3] = a;
        out[(size_t)i * 3 + 1] = b;
        out[(size_t)i * 3 + 2] = c;
        s0 += a;
        s1 += b;
        s2 += c;
    }
    sums[p0] += s0;
    sums[p1] += s1;
    sums[p2] += s2;
}

double pipe_power_dynamic(const pipe_power_model *model, const uint64_t sums[3]) {
    double ma = 0;
    for (int c = 0; c < 3; c++) ma += (double)sums[c] * model->ma_channel[c] / PIPE_FULL;
    return ma;
}

double pipe_power_factor(double idle_ma, double dynamic_ma, double budget_ma) {
    if (budget_ma <= 0 || idle_ma + dynamic_ma <= budget_ma) return 1.0;
    if (budget_ma <= idle_ma || dynamic_ma <= 0) return 0.0;
    double f = (budget_ma - idle_ma) / dynamic_ma;
    return f < 0 ? 0 : f > 1 ? 1 : f;
}

uint32_t pipe_scale_q16(double level) {
    if (!(level > 0)) return 0;
    if (level >= 1) return PIPE_SCALE_ONE;
    return (uint32_t)floor(level * PIPE_SCALE_ONE);
}

void pipe_quantize(const uint16_t *in, size_t count, uint32_t scale_q16, uint8_t *out) {
    if (scale_q16 >= PIPE_SCALE_ONE) {
        for (size_t i = 0; i < count; i++) out[i] = (uint8_t)(((uint32_t)in[i] + 128u) >> 8);
        return;
    }
    for (size_t i = 0; i < count; i++) out[i] = (uint8_t)(((uint32_t)in[i] * scale_q16) >> 24);
}

void pipe_dither(const uint16_t *in, size_t count, uint32_t scale_q16, uint8_t *residual,
                 uint8_t *out) {
    if (scale_q16 > PIPE_SCALE_ONE) scale_q16 = PIPE_SCALE_ONE;
    for (size_t i = 0; i < count; i++) {
        uint32_t v = ((uint32_t)in[i] * scale_q16) >> 16; /* <= 65280 */
        uint32_t acc = v + residual[i];                   /* <= 65535 */
        out[i] = (uint8_t)(acc >> 8);
        residual[i] = (uint8_t)acc;
    }
}
