/*
 * wav_gen.h - sound files for the audio tests, written with libsndfile:
 * tones, click trains and silence at known times and levels, so that every
 * expectation (which band, which bpm, when a click lands) is known exactly.
 */
#ifndef SKY_TEST_WAV_GEN_H
#define SKY_TEST_WAV_GEN_H

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include <sndfile.h>

/* Mono float samples of `seconds` at `rate`, zeroed; free() it. */
static inline float *wav_buffer(unsigned rate, double seconds, size_t *n) {
    *n = (size_t)(rate * seconds);
    return calloc(*n ? *n : 1, sizeof(float));
}

/* Adds a sine of `hz` at peak amplitude `amp` over [from_s, to_s). */
static inline void wav_add_sine(float *s, size_t n, unsigned rate, double hz, double amp,
                                double from_s, double to_s) {
    for (size_t i = (size_t)(from_s * rate); i < n && i < (size_t)(to_s * rate); i++)
        s[i] += (float)(amp * sin(2 * M_PI * hz * (double)i / rate));
}

/* Adds a 2 ms decaying 1 kHz click of peak `amp` at each of `start_s + k * period_s`. */
static inline void wav_add_clicks(float *s, size_t n, unsigned rate, double start_s,
                                  double period_s, double amp) {
    size_t len = rate / 500;
    for (double at = start_s; at * rate < n; at += period_s) {
        size_t first = (size_t)llround(at * rate);
        for (size_t j = 0; j < len && first + j < n; j++)
            s[first + j] += (float)(amp * exp(-(double)j / (len / 4.0)) *
                                    sin(2 * M_PI * 1000.0 * (double)j / rate));
    }
}

/* Writes a 16-bit PCM WAV (channels copies of the mono signal); true on success. */
static inline bool wav_write(const char *path, unsigned rate, int channels, const float *s,
                             size_t n) {
    SF_INFO info = {
        .samplerate = (int)rate, .channels = channels, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f) return false;
    float *frames = malloc(sizeof(float) * n * (size_t)channels);
    bool ok = frames != NULL;
    for (size_t i = 0; ok && i < n; i++)
        for (int c = 0; c < channels; c++) frames[i * channels + c] = s[i];
    ok = ok && sf_writef_float(f, frames, (sf_count_t)n) == (sf_count_t)n;
    free(frames);
    return sf_close(f) == 0 && ok;
}

#endif
