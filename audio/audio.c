/*
 * audio.c - the public sky_audio object: one source (file or capture) and
 * its analyser, stepped to the time the caller asks for.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "audio_int.h"

/* A file source asked for a time more than AUDIO_JUMP_S ahead of what it has
 * analysed starts a fresh analysis AUDIO_SETTLE_S before it: 7.5 time
 * constants of the gain (4 s) and several bars for the tempo tracker, while
 * `sky preview --time 3600` need not analyse an hour of sound (a second of
 * audio costs about 6 ms: docs/performance.md). */
#define AUDIO_JUMP_S   60.0
#define AUDIO_SETTLE_S 30.0
/* 31 years: a stream time whose hop count fits any integer type here. */
#define AUDIO_MAX_T 1e9

struct sky_audio {
    audio_file *file;
    audio_capture *capture;
    audio_analyser *analyser;
    unsigned rate;
    uint64_t hops_skipped; /* a file source's hops jumped over (see step_file) */
    sky_audio_options options;
};

void sky_audio_options_init(sky_audio_options *options) {
    if (options) *options = (sky_audio_options){.loop = true};
}

static sky_status make(const sky_audio_options *options, sky_audio **out, char *error,
                       size_t error_len) {
    *out = calloc(1, sizeof **out);
    if (!*out) {
        audio_error(error, error_len, "out of memory for audio");
        return SKY_ERR_NOMEM;
    }
    sky_audio_options_init(&(*out)->options);
    if (options) (*out)->options = *options;
    return SKY_OK;
}

static sky_status start_analysis(sky_audio *a, char *error, size_t error_len) {
    audio_analyser_free(a->analyser);
    a->analyser = audio_analyser_create(a->rate, error, error_len);
    return a->analyser ? SKY_OK : SKY_ERR_NOMEM;
}

sky_status sky_audio_open_file(const char *path, const sky_audio_options *options,
                               sky_audio **audio, char *error, size_t error_len) {
    if (!path || !audio) return SKY_ERR_INVALID_ARG;
    *audio = NULL;
    sky_audio *a;
    sky_status st = make(options, &a, error, error_len);
    if (st != SKY_OK) return st;
    st = audio_file_open(path, a->options.loop, &a->file, &a->rate, error, error_len);
    if (st == SKY_OK) st = start_analysis(a, error, error_len);
    if (st != SKY_OK) {
        sky_audio_free(a);
        return st;
    }
    *audio = a;
    return SKY_OK;
}

sky_status sky_audio_open_capture(const char *device, const sky_audio_options *options,
                                  sky_audio **audio, char *error, size_t error_len) {
    if (!device || !audio) return SKY_ERR_INVALID_ARG;
    *audio = NULL;
    sky_audio *a;
    sky_status st = make(options, &a, error, error_len);
    if (st != SKY_OK) return st;
    a->rate = AUDIO_CAPTURE_RATE;
    st = start_analysis(a, error, error_len);
    if (st == SKY_OK) st = audio_capture_open(device, &a->capture, error, error_len);
    if (st != SKY_OK) {
        sky_audio_free(a);
        return st;
    }
    *audio = a;
    return SKY_OK;
}

static bool has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

sky_status sky_audio_open(const char *spec, const sky_audio_options *options, sky_audio **audio,
                          char *error, size_t error_len) {
    if (!spec || !audio) return SKY_ERR_INVALID_ARG;
    struct stat st;
    bool file = strcmp(spec, "default") != 0 &&
                (stat(spec, &st) == 0 || strchr(spec, '/') || has_suffix(spec, ".wav") ||
                 has_suffix(spec, ".flac") || has_suffix(spec, ".ogg"));
    return file ? sky_audio_open_file(spec, options, audio, error, error_len)
                : sky_audio_open_capture(spec, options, audio, error, error_len);
}

/* Hops analysed since stream time 0, jumped ones included. */
static uint64_t stream_hops(const sky_audio *a) {
    return a->hops_skipped + audio_analyser_hops(a->analyser);
}

/* Starts a fresh analysis at hop `at` of the stream. */
static sky_status restart_at(sky_audio *a, uint64_t at, char *error, size_t error_len) {
    sky_status st = audio_file_seek(a->file, at * AUDIO_HOP, error, error_len);
    if (st == SKY_OK) st = start_analysis(a, error, error_len);
    a->hops_skipped = at;
    return st;
}

static sky_status step_file(sky_audio *a, double t, char *error, size_t error_len) {
    /* Hops that end at or before sample t * rate. */
    double end_hop = t * a->rate / AUDIO_HOP;
    double jump_hops = AUDIO_JUMP_S * a->rate / AUDIO_HOP;
    sky_status st = SKY_OK;
    if (end_hop < (double)stream_hops(a)) /* backwards (a restarted show): a fresh stream */
        st = restart_at(a, 0, error, error_len);
    else if (end_hop - (double)stream_hops(a) > jump_hops) /* far ahead: the last 30 s only */
        st = restart_at(a, (uint64_t)(end_hop - AUDIO_SETTLE_S * a->rate / AUDIO_HOP), error,
                        error_len);
    if (st != SKY_OK) return st;
    float hop[AUDIO_HOP];
    while ((double)stream_hops(a) + 1 <= end_hop) {
        st = audio_file_read_hop(a->file, hop, error, error_len);
        if (st != SKY_OK) return st;
        audio_analyser_hop(a->analyser, hop);
    }
    return SKY_OK;
}

static sky_status step_capture(sky_audio *a, char *error, size_t error_len) {
    float hop[AUDIO_HOP];
    /* At most a ring's worth per call: a device that delivers faster than real time
     * (ALSA's `null` PCM delivers as fast as it is read) must not keep the frame here. */
    for (size_t n = 0; n < AUDIO_CAPTURE_RING / AUDIO_HOP; n++) {
        if (audio_capture_take(a->capture, hop, AUDIO_HOP) != AUDIO_HOP) break;
        audio_analyser_hop(a->analyser, hop);
    }
    if (!audio_capture_failed(a->capture, error, error_len)) return SKY_OK;
    /* The device is gone: the values decay as for silence. */
    memset(hop, 0, sizeof hop);
    audio_analyser_hop(a->analyser, hop);
    return SKY_ERR_STALE;
}

sky_status sky_audio_update(sky_audio *a, double t, sky_audio_values *values, char *error,
                            size_t error_len) {
    if (!a || !values || !(fabs(t) <= AUDIO_MAX_T)) {
        audio_error(error, error_len, "sky_audio_update: t = %g is not a time (|t| <= %g s)", t,
                    AUDIO_MAX_T);
        return SKY_ERR_INVALID_ARG;
    }
    sky_status st = a->file ? step_file(a, t, error, error_len) : step_capture(a, error, error_len);
    audio_analyser_values(a->analyser, values);
    return st;
}

double sky_audio_time(const sky_audio *a) {
    return a ? (double)stream_hops(a) * AUDIO_HOP / a->rate : 0;
}

unsigned sky_audio_sample_rate(const sky_audio *a) {
    return a ? a->rate : 0;
}

unsigned long long sky_audio_dropped(const sky_audio *a) {
    return a && a->capture ? audio_capture_dropped(a->capture) : 0;
}

void sky_audio_free(sky_audio *a) {
    if (!a) return;
    audio_capture_close(a->capture);
    audio_file_close(a->file);
    audio_analyser_free(a->analyser);
    free(a);
}
