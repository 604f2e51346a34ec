/*
 * plasma_simd.c - examples/plasma.sky written by hand as the best plain C
 * loop we know: structure of arrays, `#pragma omp simd`, and built with
 * -O3 -march=native -ffast-math -fopenmp-simd (bench/CMakeLists.txt), so
 * that GCC calls glibc's vector sinf (libmvec) for 8 or 16 LEDs at a time.
 * One thread. bench_runtime quotes the CPU backend against it: the backend
 * must earn its keep against code a careful programmer would write.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

void plasma_simd(const float *x, const float *y, const float *r, uint32_t n, float t, uint8_t *out);

void plasma_simd(const float *restrict x, const float *restrict y, const float *restrict r,
                 uint32_t n, float t, uint8_t *restrict out) {
    const float scale = 4.0f, pi = 3.14159265f, tt = t; /* speed 1 */
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float v = sinf(x[i] * scale + tt) + sinf(y[i] * scale - tt * 1.3f) +
                  sinf((x[i] + y[i]) * scale * 0.7f + tt * 0.7f) +
                  sinf(r[i] * scale * 2.0f - tt * 2.0f);
        float h = v / 8.0f + tt * 0.05f;
        float value = fminf(fmaxf(0.6f + 0.4f * sinf(v * pi), 0.0f), 1.0f);
        float q0 = h + 1.0f, q1 = h + 2.0f / 3.0f, q2 = h + 1.0f / 3.0f;
        q0 -= floorf(q0);
        q1 -= floorf(q1);
        q2 -= floorf(q2);
        float c0 = fminf(fmaxf(fabsf(q0 * 6.0f - 3.0f) - 1.0f, 0.0f), 1.0f) * value;
        float c1 = fminf(fmaxf(fabsf(q1 * 6.0f - 3.0f) - 1.0f, 0.0f), 1.0f) * value;
        float c2 = fminf(fmaxf(fabsf(q2 * 6.0f - 3.0f) - 1.0f, 0.0f), 1.0f) * value;
        out[3 * i] = (uint8_t)(int32_t)(c0 * 255.0f + 0.5f);
        out[3 * i + 1] = (uint8_t)(int32_t)(c1 * 255.0f + 0.5f);
        out[3 * i + 2] = (uint8_t)(int32_t)(c2 * 255.0f + 0.5f);
    }
}
