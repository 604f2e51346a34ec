/*
 * sky/audio.h - libskyaudio: sound as an input of a pattern.
 *
 * A sky_audio is one source (a WAV/FLAC file, or a live capture device
 * through PulseAudio/PipeWire or ALSA) and the analysis that turns it into
 * the per-frame values a pattern reads as `audio.*` (sky_audio_values in
 * sky/sky.h): level, bass/mid/treble, 16 log-spaced bands, a beat pulse, the
 * beat phase and the tempo. docs/audio.md gives the band edges, the smoothing
 * and the automatic gain with their numbers.
 *
 * Time: the analysis runs on the caller's thread, in stream time (samples
 * analysed / sample rate). A file source is stepped to the time the caller
 * asks for, so frame k of a preview at `fps` sees exactly the audio up to
 * k / fps, whatever the wall clock does: deterministic. A capture source
 * reads the device on a thread of its own into a lock-free ring; each
 * sky_audio_update analyses what has arrived since the last call and never
 * waits for the device.
 *
 * Thread safety: no global state except FFTW's planner, which this library
 * serialises itself. One sky_audio belongs to one thread at a time (its
 * capture thread is internal); different sky_audio objects may be used from
 * different threads at once. Every function returns a status and writes a
 * message naming the source into `error` (error_len bytes, may be 0); none
 * exits or asserts on input. Freeing NULL is a no-op.
 */
#ifndef SKY_AUDIO_H
#define SKY_AUDIO_H

#include <stdbool.h>
#include <stddef.h>

#include "sky/export.h"
#include "sky/sky.h"
#include "sky/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sky_audio sky_audio;

typedef struct sky_audio_options {
    bool loop; /* file: start again at the end (default true); false: silence after the end */
} sky_audio_options;

/* Fills *options with the defaults. */
SKY_API void sky_audio_options_init(sky_audio_options *options);

/*
 * Opens a WAV, FLAC or any other file libsndfile reads (mixed down to mono).
 * SKY_ERR_IO when it cannot be opened (missing, a directory), SKY_ERR_FORMAT
 * when it is not audio or is truncated before its first sample; the message
 * names the file. `options` may be NULL.
 */
SKY_API sky_status sky_audio_open_file(const char *path, const sky_audio_options *options,
                                       sky_audio **audio, char *error, size_t error_len);

/*
 * Opens live capture: `device` "default" (the default source of the
 * PulseAudio or PipeWire server, else ALSA's "default"), a PulseAudio source
 * name, or an ALSA PCM ("hw:1,0", "plughw:1", or any name after "alsa:").
 * Captures 48 kHz mono float on a thread of its own. SKY_ERR_NO_DEVICE, with
 * what each system said, when neither a server nor the device exists.
 */
SKY_API sky_status sky_audio_open_capture(const char *device, const sky_audio_options *options,
                                          sky_audio **audio, char *error, size_t error_len);

/*
 * What `sky run --audio SPEC` opens: "default" or a name that is no existing
 * file and does not end in .wav/.flac/.ogg is a capture device; anything else
 * is a file.
 */
SKY_API sky_status sky_audio_open(const char *spec, const sky_audio_options *options,
                                  sky_audio **audio, char *error, size_t error_len);

/*
 * Analyses the source and writes the values at stream time `t` (seconds):
 * a file source consumes its samples up to t (t earlier than the last call
 * starts again from the beginning; t more than 60 s ahead of the last call
 * starts a fresh analysis 30 s before t, so that a far moment costs 30 s of
 * analysis, not all of it; |t| must be at most 1e9 s, and finite); a capture source analyses what
 * the device delivered since the last call, and `t` is unused. Returns SKY_OK, or SKY_ERR_STALE
 * (values of silence, message in `error`) once a capture device has failed; SKY_ERR_IO when reading
 * a file fails.
 */
SKY_API sky_status sky_audio_update(sky_audio *audio, double t, sky_audio_values *values,
                                    char *error, size_t error_len);

/* Stream time analysed so far, in seconds. */
SKY_API double sky_audio_time(const sky_audio *audio);
/* The sample rate the analysis runs at (the file's, or 48000 for capture). */
SKY_API unsigned sky_audio_sample_rate(const sky_audio *audio);
/* Capture: blocks of samples dropped because the analysis did not keep up (0 for a file). */
SKY_API unsigned long long sky_audio_dropped(const sky_audio *audio);

SKY_API void sky_audio_free(sky_audio *audio);

#ifdef __cplusplus
}
#endif

#endif
