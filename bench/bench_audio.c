/*
 * bench_audio.c - host CPU per frame of libskyaudio's analysis at 60 fps.
 *
 * Writes 60 s of synthetic music (a 120 bpm kick and click, a bass line, a
 * chord, hiss) at 48 kHz stereo as a 16-bit WAV into a temporary folder,
 * then steps a file source frame by frame at t = k / 60, as `sky preview
 * --audio` and `sky run --audio` do, timing each sky_audio_update with the
 * thread's CPU clock (decoding the file included: the capture source does
 * no decoding, so it costs at most this). Prints mean, median, 99th
 * percentile and worst per frame, and the share of one core at 60 fps.
 * Nothing asserted: figures go into docs/performance.md.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sndfile.h>

#include "sky/audio.h"

#define RATE    48000
#define SECONDS 60
#define FPS     60

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float music(size_t i) {
    double t = (double)i / RATE, beat = fmod(t, 0.5);
    double kick =
        beat < 0.15 ? sin(2 * M_PI * (50 + 80 * exp(-beat * 30)) * beat) * exp(-beat * 20) : 0;
    double bass = 0.25 * sin(2 * M_PI * (t < 30 ? 55 : 65.4) * t);
    double chord =
        0.08 * (sin(2 * M_PI * 440 * t) + sin(2 * M_PI * 554.4 * t) + sin(2 * M_PI * 659.3 * t));
    double hiss = 0.03 * ((double)rand() / RAND_MAX - 0.5);
    return (float)(0.5 * kick + bass + chord + hiss);
}

int main(void) {
    char dir[] = "/tmp/sky-bench-audio-XXXXXX";
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    char path[64];
    snprintf(path, sizeof path, "%s/music.wav", dir);
    SF_INFO info = {.samplerate = RATE, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f) return fprintf(stderr, "%s: %s\n", path, sf_strerror(NULL)), 1;
    for (size_t i = 0; i < (size_t)RATE * SECONDS; i++) {
        float s = music(i), frame[2] = {s, s};
        sf_writef_float(f, frame, 1);
    }
    sf_close(f);

    char err[512] = "";
    sky_audio *a = NULL;
    if (sky_audio_open_file(path, NULL, &a, err, sizeof err) != SKY_OK)
        return fprintf(stderr, "%s\n", err), 1;
    size_t frames = (size_t)SECONDS * FPS;
    double *cost = malloc(frames * sizeof *cost);
    if (!cost) return 1;
    sky_audio_values v;
    double sum = 0;
    float bpm = 0;
    for (size_t k = 0; k < frames; k++) {
        double t0 = cpu_now();
        if (sky_audio_update(a, (double)k / FPS, &v, err, sizeof err) != SKY_OK)
            return fprintf(stderr, "%s\n", err), 1;
        cost[k] = cpu_now() - t0;
        sum += cost[k];
        bpm = v.bpm;
    }
    qsort(cost, frames, sizeof *cost, compare);
    double mean = sum / frames;
    printf("audio analysis, %d s of 48 kHz stereo WAV at %d fps (%zu frames), CPU per frame:\n",
           SECONDS, FPS, frames);
    printf("  mean %.1f us, median %.1f us, p99 %.1f us, worst %.1f us; %.2f %% of one core\n",
           mean * 1e6, cost[frames / 2] * 1e6, cost[frames * 99 / 100] * 1e6,
           cost[frames - 1] * 1e6, mean * FPS * 100);
    printf("  (tempo found: %.1f bpm; the music is 120)\n", bpm);
    sky_audio_free(a);
    free(cost);
    unlink(path);
    rmdir(dir);
    return 0;
}
