/*
 * pipeline.h - the colour pipeline every output runs its LEDs through.
 *
 *   frame RGB8 --lut--> 8.8 fixed point, wire order --scale, quantize/dither--> wire bytes
 *                 ^ gamma and brightness        ^ fade level x power limit
 *
 * Stage one (pipe_apply_lut) runs in the frame loop, because the power
 * limiter needs every output's estimate before it can share a total budget.
 * Stage two (pipe_quantize / pipe_dither) runs in each output's thread, so an
 * SPI output refreshed at 400 Hz dithers every refresh, not every frame.
 *
 * Values between the stages are 8.8 fixed point: 0..65280 (= 255 * 256), so
 * the top byte is the 8-bit value and the low byte the fraction dithering
 * spreads over time.
 */
#ifndef DRV_PIPELINE_H
#define DRV_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PIPE_FULL      65280u /* 255.0 in 8.8 fixed point */
#define PIPE_SCALE_ONE 65536u

/* lut[i] = round(PIPE_FULL * brightness * (i / 255)^gamma). */
void pipe_build_lut(uint16_t lut[256], double gamma, double brightness);

/* perm[k] = the frame channel (0 R, 1 G, 2 B) sent in wire position k, from "GRB" etc. */
void pipe_order_perm(const char order[4], uint8_t perm[3]);

/*
 * Stage one: `leds` RGB8 LEDs -> 8.8 values in wire order through the LUT.
 * Adds the sum of each frame channel's output (R, G, B) into sums[3].
 */
void pipe_apply_lut(const uint8_t *rgb, uint32_t leds, const uint16_t lut[256],
                    const uint8_t perm[3], uint16_t *out, uint64_t sums[3]);

/* The power model: current at full value per channel (R, G, B) and of a dark LED, per LED. */
typedef struct pipe_power_model {
    double ma_channel[3];
    double ma_idle;
} pipe_power_model;

/* Current of the dynamic part (everything but idle) for the sums of stage one, in mA. */
double pipe_power_dynamic(const pipe_power_model *model, const uint64_t sums[3]);

/*
 * The factor (0..1) that keeps idle + factor * dynamic within budget_ma
 * (budget 0 = unlimited -> 1). When the budget cannot even cover the idle
 * current the factor is 0.
 */
double pipe_power_factor(double idle_ma, double dynamic_ma, double budget_ma);

/* level (0..1) -> a Q16 scale for stage two, rounded down so an estimate never grows. */
uint32_t pipe_scale_q16(double level);

/*
 * Stage two without dithering: out = round(in * scale / 2^16 / 256); when
 * scale < 1 it rounds down instead, so a power-limited frame never exceeds
 * the estimate it was scaled by.
 */
void pipe_quantize(const uint16_t *in, size_t count, uint32_t scale_q16, uint8_t *out);

/*
 * Stage two with temporal dithering (first-order sigma-delta): each value's
 * fraction is carried in residual[] (one byte per value, zeroed to start) so
 * that the average of the output over refreshes equals in * scale exactly.
 */
void pipe_dither(const uint16_t *in, size_t count, uint32_t scale_q16, uint8_t *residual,
                 uint8_t *out);

#endif
