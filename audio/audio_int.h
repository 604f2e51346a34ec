/*
 * audio_int.h - what the files of libskyaudio share: the analyser (FFT bands,
 * automatic gain, smoothing, aubio's tempo), the sources and the error helper.
 * Every name here starts with audio_.
 */
#ifndef SKY_AUDIO_INT_H
#define SKY_AUDIO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sky/audio.h"

/* Samples per analysis step; aubio's tempo tracker steps by the same hop. */
#define AUDIO_HOP 256u

typedef struct audio_analyser audio_analyser;

/* An analyser for mono samples at `rate` Hz; NULL (and a message) on failure. */
audio_analyser *audio_analyser_create(unsigned rate, char *error, size_t error_len);
void audio_analyser_free(audio_analyser *an);
/* Analyses one hop of AUDIO_HOP mono samples; stream time advances by one hop. */
void audio_analyser_hop(audio_analyser *an, const float *hop);
/* The values at the current stream time. */
void audio_analyser_values(const audio_analyser *an, sky_audio_values *values);
/* Stream time in seconds: hops analysed * AUDIO_HOP / rate. */
double audio_analyser_time(const audio_analyser *an);
uint64_t audio_analyser_hops(const audio_analyser *an);

/* The edges of band k (0..SKY_AUDIO_BANDS - 1) in Hz, for docs and tests. */
void audio_band_edges(unsigned k, double *lo_hz, double *hi_hz);

/* printf into error[0 .. error_len) (nothing when error_len is 0). */
void audio_error(char *error, size_t error_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A source: what sky_audio dispatches to. */
typedef struct audio_file audio_file;
sky_status audio_file_open(const char *path, bool loop, audio_file **file, unsigned *rate,
                           char *error, size_t error_len);
/* Mono samples into hop[0 .. AUDIO_HOP): the next hop of the file (zeros past its end without
 * loop). */
sky_status audio_file_read_hop(audio_file *file, float *hop, char *error, size_t error_len);
/* Back to the first sample. */
sky_status audio_file_rewind(audio_file *file, char *error, size_t error_len);
/* To the sample `frame` of the stream (modulo the length when looping; past the end: silence). */
sky_status audio_file_seek(audio_file *file, uint64_t frame, char *error, size_t error_len);
void audio_file_close(audio_file *file);

typedef struct audio_capture audio_capture;
#define AUDIO_CAPTURE_RATE 48000u
#define AUDIO_CAPTURE_RING 65536u /* samples (1.4 s), a power of two */
sky_status audio_capture_open(const char *device, audio_capture **capture, char *error,
                              size_t error_len);
/* Up to max_samples captured samples not yet taken; never blocks. */
size_t audio_capture_take(audio_capture *capture, float *out, size_t max_samples);
/* True once the device failed; its message goes to error. */
bool audio_capture_failed(audio_capture *capture, char *error, size_t error_len);
unsigned long long audio_capture_dropped(const audio_capture *capture);
void audio_capture_close(audio_capture *capture);

#endif
