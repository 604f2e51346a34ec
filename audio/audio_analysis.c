/*
 * audio_analysis.c - mono samples -> the values a pattern reads as audio.*.
 *
 * Every AUDIO_HOP (256) samples: the level is the RMS of the last 20 ms; a
 * Hann-windowed FFT (FFTW, single precision) of the last ~43 ms gives the
 * RMS of each of 16 log-spaced bands (40 Hz .. 16 kHz, each a factor
 * 400^(1/16) = 1.454 wide) and of bass (40-250 Hz), mid (250 Hz-4 kHz) and
 * treble (4-16 kHz); aubio's tempo tracker gives the beats and the bpm,
 * and a flywheel keeps the beat pulse and phase running between its reports.
 * Automatic gain: each group (level; bass/mid/treble; the bands) is divided
 * by a peak follower that rises at once to a new peak and falls with a time
 * constant of 4 s, never below -70 dBFS, so a quiet room and a loud party
 * both reach 1 while silence stays 0. Smoothing: a value rises at once (so
 * a click shows within one hop) and falls with a time constant of 100 ms.
 * docs/audio.md has the same numbers for pattern authors.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aubio/aubio.h>
#include <fftw3.h>

#include "audio_int.h"

#define BAND_LO_HZ    40.0
#define BAND_HI_HZ    16000.0
#define BASS_HI_HZ    250.0
#define MID_HI_HZ     4000.0
#define FFT_SECONDS   0.040 /* the FFT is the first power of two >= 40 ms of samples */
#define LEVEL_SECONDS 0.020
#define GAIN_FALL_S   4.0
#define GAIN_FLOOR    3.1622777e-4 /* -70 dBFS RMS */
#define RELEASE_S     0.100
#define BEAT_DECAY_S  0.100
#define BEAT_PULSE_S  0.500 /* the pulse is 0 from this long after a beat (exp(-5) = 0.007) */
#define TEMPO_LOST_S  5.0   /* no beat from aubio this long: bpm, phase and beat read 0 */
#define TEMPO_WINDOW  1024u

/* FFTW's planner is not thread-safe; plans are made and destroyed under this. */
static pthread_mutex_t audio_fftw_lock = PTHREAD_MUTEX_INITIALIZER;

enum { GROUP_LEVEL, GROUP_BMT, GROUP_BANDS, GROUP_COUNT };
enum { F_LEVEL, F_BASS, F_MID, F_TREBLE, F_BAND0, F_COUNT = F_BAND0 + SKY_AUDIO_BANDS };

struct audio_analyser {
    unsigned rate;
    unsigned fft_size, level_size;
    float *history; /* the last fft_size samples, oldest first */
    float *window;  /* Hann */
    float *fft_in;
    fftwf_complex *fft_out;
    fftwf_plan plan;
    double spectrum_norm;                           /* band power sum -> band RMS */
    int band_bin_lo[F_COUNT], band_bin_hi[F_COUNT]; /* bins [lo, hi) per spectral feature */
    double peak[GROUP_COUNT];
    double smooth[F_COUNT];
    double gain_fall, release; /* per-hop factors */
    aubio_tempo_t *tempo;
    fvec_t *tempo_in, *tempo_out;
    uint64_t hops;
    bool have_beat;
    double beat_s; /* stream time of the last beat aubio reported */
};

void audio_error(char *error, size_t error_len, const char *fmt, ...) {
    if (!error || error_len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, error_len, fmt, ap);
    va_end(ap);
}

void audio_band_edges(unsigned k, double *lo_hz, double *hi_hz) {
    double ratio = BAND_HI_HZ / BAND_LO_HZ;
    *lo_hz = BAND_LO_HZ * pow(ratio, (double)k / SKY_AUDIO_BANDS);
    *hi_hz = BAND_LO_HZ * pow(ratio, (double)(k + 1) / SKY_AUDIO_BANDS);
}

/* Bins [lo, hi) with centre frequencies in [lo_hz, hi_hz); a band narrower
 * than a bin takes the bin nearest its centre; one above Nyquist is empty. */
static void assign_bins(const audio_analyser *an, double lo_hz, double hi_hz, int *lo, int *hi) {
    double bin_hz = (double)an->rate / an->fft_size;
    int nyquist_bin = (int)(an->fft_size / 2);
    if (lo_hz >= an->rate / 2.0) {
        *lo = *hi = 0;
        return;
    }
    *lo = (int)ceil(lo_hz / bin_hz);
    *hi = (int)ceil(hi_hz / bin_hz);
    if (*hi > nyquist_bin + 1) *hi = nyquist_bin + 1;
    if (*hi <= *lo) {
        *lo = (int)lround(sqrt(lo_hz * hi_hz) / bin_hz);
        *hi = *lo + 1;
    }
}

static bool make_fft(audio_analyser *an) {
    an->fft_in = fftwf_malloc(sizeof(float) * an->fft_size);
    an->fft_out = fftwf_malloc(sizeof(fftwf_complex) * (an->fft_size / 2 + 1));
    if (!an->fft_in || !an->fft_out) return false;
    pthread_mutex_lock(&audio_fftw_lock);
    an->plan = fftwf_plan_dft_r2c_1d((int)an->fft_size, an->fft_in, an->fft_out, FFTW_ESTIMATE);
    pthread_mutex_unlock(&audio_fftw_lock);
    return an->plan != NULL;
}

static void setup_features(audio_analyser *an) {
    double sum_w2 = 0;
    for (unsigned i = 0; i < an->fft_size; i++) {
        an->window[i] = (float)(0.5 - 0.5 * cos(2 * M_PI * i / an->fft_size));
        sum_w2 += (double)an->window[i] * an->window[i];
    }
    /* Parseval: the positive bins hold half the windowed signal's energy. */
    an->spectrum_norm = 2.0 / (an->fft_size * sum_w2);
    assign_bins(an, BAND_LO_HZ, BASS_HI_HZ, &an->band_bin_lo[F_BASS], &an->band_bin_hi[F_BASS]);
    assign_bins(an, BASS_HI_HZ, MID_HI_HZ, &an->band_bin_lo[F_MID], &an->band_bin_hi[F_MID]);
    assign_bins(an, MID_HI_HZ, BAND_HI_HZ, &an->band_bin_lo[F_TREBLE], &an->band_bin_hi[F_TREBLE]);
    for (unsigned k = 0; k < SKY_AUDIO_BANDS; k++) {
        double lo, hi;
        audio_band_edges(k, &lo, &hi);
        assign_bins(an, lo, hi, &an->band_bin_lo[F_BAND0 + k], &an->band_bin_hi[F_BAND0 + k]);
    }
    double hop_s = (double)AUDIO_HOP / an->rate;
    an->gain_fall = exp(-hop_s / GAIN_FALL_S);
    an->release = 1.0 - exp(-hop_s / RELEASE_S);
    for (int g = 0; g < GROUP_COUNT; g++) an->peak[g] = GAIN_FLOOR;
}

audio_analyser *audio_analyser_create(unsigned rate, char *error, size_t error_len) {
    if (rate < 4000 || rate > 768000) {
        audio_error(error, error_len, "unsupported sample rate %u Hz (4000 to 768000)", rate);
        return NULL;
    }
    audio_analyser *an = calloc(1, sizeof *an);
    if (!an) goto nomem;
    an->rate = rate;
    an->fft_size = 512;
    while (an->fft_size < rate * FFT_SECONDS) an->fft_size *= 2;
    an->level_size = (unsigned)lround(rate * LEVEL_SECONDS);
    an->history = calloc(an->fft_size, sizeof *an->history);
    an->window = calloc(an->fft_size, sizeof *an->window);
    if (!an->history || !an->window || !make_fft(an)) goto nomem;
    setup_features(an);
    an->tempo = new_aubio_tempo("default", TEMPO_WINDOW, AUDIO_HOP, rate);
    an->tempo_in = new_fvec(AUDIO_HOP);
    an->tempo_out = new_fvec(1);
    if (!an->tempo || !an->tempo_in || !an->tempo_out) {
        audio_error(error, error_len, "aubio could not create a tempo tracker at %u Hz", rate);
        audio_analyser_free(an);
        return NULL;
    }
    return an;
nomem:
    audio_error(error, error_len, "out of memory for the audio analysis");
    audio_analyser_free(an);
    return NULL;
}

void audio_analyser_free(audio_analyser *an) {
    if (!an) return;
    if (an->tempo) del_aubio_tempo(an->tempo);
    if (an->tempo_in) del_fvec(an->tempo_in);
    if (an->tempo_out) del_fvec(an->tempo_out);
    pthread_mutex_lock(&audio_fftw_lock);
    if (an->plan) fftwf_destroy_plan(an->plan);
    pthread_mutex_unlock(&audio_fftw_lock);
    fftwf_free(an->fft_in);
    fftwf_free(an->fft_out);
    free(an->history);
    free(an->window);
    free(an);
}

/* Raw (before gain) values of one hop: level and the spectral features. */
static void measure(audio_analyser *an, double *raw) {
    const float *recent = an->history + an->fft_size - an->level_size;
    double energy = 0;
    for (unsigned i = 0; i < an->level_size; i++) energy += (double)recent[i] * recent[i];
    raw[F_LEVEL] = sqrt(energy / an->level_size);
    for (unsigned i = 0; i < an->fft_size; i++) an->fft_in[i] = an->history[i] * an->window[i];
    fftwf_execute(an->plan);
    for (int f = F_BASS; f < F_COUNT; f++) {
        double power = 0;
        for (int j = an->band_bin_lo[f]; j < an->band_bin_hi[f]; j++) {
            double re = an->fft_out[j][0], im = an->fft_out[j][1];
            power += re * re + im * im;
        }
        raw[f] = sqrt(power * an->spectrum_norm);
    }
}

static int group_of(int f) {
    return f == F_LEVEL ? GROUP_LEVEL : f < F_BAND0 ? GROUP_BMT : GROUP_BANDS;
}

/* Automatic gain, then the attack/release smoothing, into an->smooth. */
static void normalise(audio_analyser *an, const double *raw) {
    double loudest[GROUP_COUNT] = {0};
    for (int f = 0; f < F_COUNT; f++)
        if (raw[f] > loudest[group_of(f)]) loudest[group_of(f)] = raw[f];
    for (int g = 0; g < GROUP_COUNT; g++) {
        double fallen = an->peak[g] * an->gain_fall;
        an->peak[g] = fmax(loudest[g], fmax(fallen, GAIN_FLOOR));
    }
    for (int f = 0; f < F_COUNT; f++) {
        double x = fmin(raw[f] / an->peak[group_of(f)], 1.0);
        double *y = &an->smooth[f];
        *y = x > *y ? x : *y + (x - *y) * an->release;
    }
}

static void track_tempo(audio_analyser *an, const float *hop) {
    memcpy(an->tempo_in->data, hop, AUDIO_HOP * sizeof *hop);
    aubio_tempo_do(an->tempo, an->tempo_in, an->tempo_out);
    if (an->tempo_out->data[0] != 0) {
        an->have_beat = true;
        an->beat_s = aubio_tempo_get_last_s(an->tempo);
    }
}

void audio_analyser_hop(audio_analyser *an, const float *hop) {
    memmove(an->history, an->history + AUDIO_HOP, (an->fft_size - AUDIO_HOP) * sizeof *hop);
    memcpy(an->history + an->fft_size - AUDIO_HOP, hop, AUDIO_HOP * sizeof *hop);
    an->hops++;
    double raw[F_COUNT];
    measure(an, raw);
    normalise(an, raw);
    track_tempo(an, hop);
}

double audio_analyser_time(const audio_analyser *an) {
    return (double)an->hops * AUDIO_HOP / an->rate;
}

uint64_t audio_analyser_hops(const audio_analyser *an) {
    return an->hops;
}

/*
 * The beat runs as a flywheel: aubio's tracker reports some beats (on a
 * click train at 120 bpm about one in three) and the tempo; the phase counts
 * periods from the last reported beat, and the pulse fires each time the
 * phase starts a new cycle, so it keeps time between the reports.
 */
static void beat_values(const audio_analyser *an, sky_audio_values *v) {
    v->beat = v->phase = v->bpm = 0;
    if (!an->have_beat) return;
    double now = audio_analyser_time(an);
    double bpm = aubio_tempo_get_bpm(an->tempo);
    double since_beat = fmax(now - an->beat_s, 0.0);
    if (!(bpm > 0) || since_beat > TEMPO_LOST_S) return;
    double period = 60.0 / bpm, cycles = since_beat / period;
    double phase = cycles - floor(cycles), since_cycle = phase * period;
    if (since_cycle < BEAT_PULSE_S) v->beat = (float)exp(-since_cycle / BEAT_DECAY_S);
    v->phase = (float)phase;
    v->bpm = (float)bpm;
}

void audio_analyser_values(const audio_analyser *an, sky_audio_values *v) {
    v->level = (float)an->smooth[F_LEVEL];
    v->bass = (float)an->smooth[F_BASS];
    v->mid = (float)an->smooth[F_MID];
    v->treble = (float)an->smooth[F_TREBLE];
    for (unsigned k = 0; k < SKY_AUDIO_BANDS; k++) v->band[k] = (float)an->smooth[F_BAND0 + k];
    beat_values(an, v);
}
