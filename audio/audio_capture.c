/*
 * audio_capture.c - live sound from PulseAudio/PipeWire or ALSA, read on a
 * thread of its own into a lock-free single-producer, single-consumer ring,
 * so the show never waits for the device.
 *
 * PulseAudio runs on a pa_mainloop that the capture thread iterates, not
 * pa_simple: pa_simple_read waits without end for data, so a server that
 * stops sending kept close from joining the thread for ever
 * (test_audio_pulse: test_server_stalls freezes one with SIGSTOP);
 * pa_mainloop_wakeup ends the wait at once.
 *
 * The device is asked for 48 kHz mono float in blocks of AUDIO_HOP samples
 * (5.3 ms). The ring holds 2^16 samples (1.4 s): when the analysis falls
 * further behind, whole blocks are dropped and counted rather than blocking
 * the capture thread. When the device fails mid-show the thread stops and
 * records why; the source then reads as silence (sky_audio_update says so).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <alsa/asoundlib.h>
#include <pulse/error.h>
#include <pulse/mainloop.h>
#include <pulse/context.h>
#include <pulse/stream.h>

#include "audio_int.h"

#define RING_SIZE       AUDIO_CAPTURE_RING
#define ALSA_LATENCY_US 20000u
#define ALSA_WAIT_MS    100

struct audio_capture {
    pa_mainloop *pulse; /* with its context and record stream; NULL for ALSA */
    pa_context *context;
    pa_stream *stream;
    float block[AUDIO_HOP]; /* PulseAudio: samples gathered towards the next block */
    size_t block_fill;
    snd_pcm_t *alsa;
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    atomic_bool failed;
    char failure[400]; /* written by the thread before `failed` is set */
    float ring[RING_SIZE];
    atomic_size_t head, tail; /* samples written / taken, ever (wrapping) */
    atomic_ullong dropped;
    char device[128];
};

static void ring_push(audio_capture *c, const float *block, size_t n) {
    size_t head = atomic_load_explicit(&c->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&c->tail, memory_order_acquire);
    if (RING_SIZE - (head - tail) < n) {
        atomic_fetch_add(&c->dropped, 1);
        return;
    }
    for (size_t i = 0; i < n; i++) c->ring[(head + i) & (RING_SIZE - 1)] = block[i];
    atomic_store_explicit(&c->head, head + n, memory_order_release);
}

size_t audio_capture_take(audio_capture *c, float *out, size_t max_samples) {
    size_t tail = atomic_load_explicit(&c->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&c->head, memory_order_acquire);
    size_t n = head - tail < max_samples ? head - tail : max_samples;
    for (size_t i = 0; i < n; i++) out[i] = c->ring[(tail + i) & (RING_SIZE - 1)];
    atomic_store_explicit(&c->tail, tail + n, memory_order_release);
    return n;
}

static void fail(audio_capture *c, const char *system, const char *why) {
    if (atomic_load(&c->failed)) return; /* the first reason stands */
    audio_error(c->failure, sizeof c->failure, "audio capture `%s` stopped: %s: %s", c->device,
                system, why);
    atomic_store(&c->failed, true);
}

/*
 * alsa-lib prints its errors to stderr by default. On a thread that is
 * opening a PCM or capturing from one, its first message since the last
 * reset (what failed inside it: "Unknown PCM x", "/dev/full write failed
 * ...: No space left on device") is kept instead and goes into our message;
 * elsewhere it is printed as alsa-lib would. The handler is one for the
 * whole process, installed once and never swapped, so opens on several
 * threads do not race on it.
 */
static _Thread_local bool alsa_keeping;
static _Thread_local char alsa_said[160];
static pthread_once_t alsa_handler_once = PTHREAD_ONCE_INIT;

static void alsa_handler(const char *file, int line, const char *function, int err, const char *fmt,
                         ...) {
    va_list ap;
    va_start(ap, fmt);
    if (!alsa_keeping) {
        fprintf(stderr, "ALSA lib %s:%i:(%s) ", file, line, function);
        vfprintf(stderr, fmt, ap);
        if (err) fprintf(stderr, ": %s", snd_strerror(err));
        fputc('\n', stderr);
    } else if (!alsa_said[0]) {
        vsnprintf(alsa_said, sizeof alsa_said, fmt, ap);
        if (err) {
            size_t used = strlen(alsa_said);
            snprintf(alsa_said + used, sizeof alsa_said - used, ": %s", snd_strerror(err));
        }
    }
    va_end(ap);
}

static void install_alsa_handler(void) {
    snd_lib_error_set_handler(alsa_handler);
}

/* " (what alsa-lib said)", or "" when it said nothing. */
static const char *alsa_detail(char *buf, size_t len) {
    snprintf(buf, len, "%s%s%s", alsa_said[0] ? " (" : "", alsa_said, alsa_said[0] ? ")" : "");
    return buf;
}

static void fail_alsa(audio_capture *c, int err) {
    char why[240], detail[170];
    snprintf(why, sizeof why, "%s%s", snd_strerror(err), alsa_detail(detail, sizeof detail));
    fail(c, "ALSA", why);
}

/* Samples from ALSA into block: how many (up to AUDIO_HOP; 0 when none came within
 * ALSA_WAIT_MS), -1 after a failure. */
static int read_alsa_block(audio_capture *c, float *block) {
    alsa_said[0] = '\0'; /* what alsa-lib says now is about this read */
    /* Waiting first bounds how long a stalled device can keep close from joining. */
    int ready = snd_pcm_wait(c->alsa, ALSA_WAIT_MS);
    if (ready == 0) return 0;
    if (ready < 0 && snd_pcm_recover(c->alsa, ready, 1) < 0) {
        fail_alsa(c, ready);
        return -1;
    }
    /* Zeroed first: ALSA's `null` PCM "reads" without writing the buffer. */
    memset(block, 0, AUDIO_HOP * sizeof *block);
    snd_pcm_sframes_t got = snd_pcm_readi(c->alsa, block, AUDIO_HOP);
    if (got < 0) got = snd_pcm_recover(c->alsa, (int)got, 1); /* an overrun: restart the stream */
    if (got < 0) {
        fail_alsa(c, (int)got);
        return -1;
    }
    /* A short read (the stream stopped part way: an overrun) passes on what came, no padding:
     * zeros here would be silence the room never made. */
    return (int)got;
}

/* PulseAudio: whatever fragments arrived, cut into blocks of AUDIO_HOP samples. */
static void pulse_read(pa_stream *stream, size_t nbytes, void *userdata) {
    (void)nbytes;
    audio_capture *c = userdata;
    const void *data;
    size_t len;
    while (pa_stream_readable_size(stream) > 0) {
        if (pa_stream_peek(stream, &data, &len) < 0) {
            fail(c, "PulseAudio", pa_strerror(pa_context_errno(c->context)));
            return;
        }
        if (len == 0) return;
        /* data NULL: a hole in the stream (len bytes lost); the next samples go on. */
        const float *samples = data;
        for (size_t i = 0; data && i < len / sizeof(float); i++) {
            c->block[c->block_fill++] = samples[i];
            if (c->block_fill == AUDIO_HOP) {
                ring_push(c, c->block, AUDIO_HOP);
                c->block_fill = 0;
            }
        }
        pa_stream_drop(stream);
    }
}

/* The server went away, or the source did: reported once, the thread ends. */
static void pulse_state(pa_stream *stream, void *userdata) {
    audio_capture *c = userdata;
    pa_stream_state_t state = pa_stream_get_state(stream);
    if (state != PA_STREAM_FAILED && state != PA_STREAM_TERMINATED) return;
    int err = pa_context_errno(c->context);
    /* PA_ERR_KILLED: the server ended the stream because its source was removed (a USB
     * microphone unplugged) and there was no other to move it to. */
    char why[160];
    snprintf(why, sizeof why, "%s%s%s", err == PA_ERR_KILLED ? "the source went away (" : "",
             pa_strerror(err), err == PA_ERR_KILLED ? ")" : "");
    fail(c, "PulseAudio", why);
}

static void pulse_context_state(pa_context *context, void *userdata) {
    audio_capture *c = userdata;
    pa_context_state_t state = pa_context_get_state(context);
    if (state == PA_CONTEXT_FAILED || state == PA_CONTEXT_TERMINATED)
        fail(c, "PulseAudio", pa_strerror(pa_context_errno(context)));
}

static void *capture_main(void *arg) {
    audio_capture *c = arg;
    if (c->pulse) {
        /* Blocks in poll until the server sends or close wakes it (pa_mainloop_wakeup). */
        while (!atomic_load(&c->stop) && !atomic_load(&c->failed))
            if (pa_mainloop_iterate(c->pulse, 1, NULL) < 0)
                fail(c, "PulseAudio", "its main loop stopped");
        return NULL;
    }
    float block[AUDIO_HOP];
    alsa_keeping = true;
    while (!atomic_load(&c->stop)) {
        int got = read_alsa_block(c, block);
        if (got < 0) break;
        if (got > 0) ring_push(c, block, (size_t)got);
    }
    return NULL;
}

static void close_pulse(audio_capture *c) {
    if (c->stream) {
        pa_stream_set_read_callback(c->stream, NULL, NULL);
        pa_stream_set_state_callback(c->stream, NULL, NULL);
        pa_stream_disconnect(c->stream);
        pa_stream_unref(c->stream);
    }
    if (c->context) {
        pa_context_set_state_callback(c->context, NULL, NULL);
        pa_context_disconnect(c->context);
        pa_context_unref(c->context);
    }
    if (c->pulse) pa_mainloop_free(c->pulse);
    c->stream = NULL;
    c->context = NULL;
    c->pulse = NULL;
}

/* Runs the main loop on this thread until the context or stream is ready or has failed
 * (libpulse gives up on a server that does not answer after its 30 s request timeout). */
static bool pulse_wait_context(audio_capture *c) {
    for (;;) {
        pa_context_state_t state = pa_context_get_state(c->context);
        if (state == PA_CONTEXT_READY) return true;
        if (!PA_CONTEXT_IS_GOOD(state) || pa_mainloop_iterate(c->pulse, 1, NULL) < 0) return false;
    }
}

static bool pulse_wait_stream(audio_capture *c) {
    for (;;) {
        pa_stream_state_t state = pa_stream_get_state(c->stream);
        if (state == PA_STREAM_READY) return true;
        if (!PA_STREAM_IS_GOOD(state) || pa_mainloop_iterate(c->pulse, 1, NULL) < 0) return false;
    }
}

static bool open_pulse(audio_capture *c, const char *device, char *why, size_t why_len) {
    const pa_sample_spec spec = {
        .format = PA_SAMPLE_FLOAT32NE, .rate = AUDIO_CAPTURE_RATE, .channels = 1};
    /* fragsize: the server hands over a block every hop, not every 2 s (its default). */
    const pa_buffer_attr attr = {.maxlength = (uint32_t)-1,
                                 .fragsize = AUDIO_HOP * sizeof(float),
                                 .tlength = (uint32_t)-1,
                                 .prebuf = (uint32_t)-1,
                                 .minreq = (uint32_t)-1};
    c->pulse = pa_mainloop_new();
    if (c->pulse) c->context = pa_context_new(pa_mainloop_get_api(c->pulse), "sky");
    if (!c->context) {
        audio_error(why, why_len, "PulseAudio: out of memory");
        close_pulse(c);
        return false;
    }
    /* The server from $PULSE_SERVER, client.conf or the session, as pa_simple would. */
    bool ok = pa_context_connect(c->context, NULL, PA_CONTEXT_NOFLAGS, NULL) >= 0 &&
              pulse_wait_context(c);
    if (ok) {
        c->stream = pa_stream_new(c->context, "pattern audio input", &spec, NULL);
        ok = c->stream &&
             pa_stream_connect_record(c->stream, strcmp(device, "default") == 0 ? NULL : device,
                                      &attr, PA_STREAM_ADJUST_LATENCY) >= 0 &&
             pulse_wait_stream(c);
    }
    if (!ok) {
        audio_error(why, why_len, "PulseAudio: %s", pa_strerror(pa_context_errno(c->context)));
        close_pulse(c);
        return false;
    }
    pa_stream_set_read_callback(c->stream, pulse_read, c);
    pa_stream_set_state_callback(c->stream, pulse_state, c);
    pa_context_set_state_callback(c->context, pulse_context_state, c);
    return true;
}

static bool open_alsa(audio_capture *c, const char *device, char *why, size_t why_len) {
    pthread_once(&alsa_handler_once, install_alsa_handler);
    bool was_keeping = alsa_keeping;
    alsa_keeping = true;
    alsa_said[0] = '\0';
    int err = snd_pcm_open(&c->alsa, device, SND_PCM_STREAM_CAPTURE, 0);
    if (err >= 0)
        err = snd_pcm_set_params(c->alsa, SND_PCM_FORMAT_FLOAT, SND_PCM_ACCESS_RW_INTERLEAVED, 1,
                                 AUDIO_CAPTURE_RATE, 1, ALSA_LATENCY_US);
    alsa_keeping = was_keeping;
    if (err < 0) {
        char detail[170];
        audio_error(why, why_len, "ALSA PCM `%s`: %s%s", device, snd_strerror(err),
                    alsa_detail(detail, sizeof detail));
        if (c->alsa) snd_pcm_close(c->alsa);
        c->alsa = NULL;
        return false;
    }
    return true;
}

static bool is_alsa_name(const char *device) {
    return strncmp(device, "hw:", 3) == 0 || strncmp(device, "plughw:", 7) == 0 ||
           strncmp(device, "alsa:", 5) == 0;
}

sky_status audio_capture_open(const char *device, audio_capture **out, char *error,
                              size_t error_len) {
    *out = NULL;
    audio_capture *c = calloc(1, sizeof *c);
    if (!c) {
        audio_error(error, error_len, "out of memory for audio capture");
        return SKY_ERR_NOMEM;
    }
    snprintf(c->device, sizeof c->device, "%s", device);
    char pulse_why[200] = "PulseAudio: not tried for an ALSA name", alsa_why[320] = "";
    bool alsa_only = is_alsa_name(device);
    const char *alsa_device = strncmp(device, "alsa:", 5) == 0 ? device + 5 : device;
    bool opened = (!alsa_only && open_pulse(c, device, pulse_why, sizeof pulse_why)) ||
                  open_alsa(c, alsa_device, alsa_why, sizeof alsa_why);
    if (!opened) {
        audio_error(error, error_len,
                    "cannot open audio capture `%s`: %s; %s (is a sound server running and the "
                    "device present?)",
                    device, pulse_why, alsa_why);
        free(c);
        return SKY_ERR_NO_DEVICE;
    }
    if (pthread_create(&c->thread, NULL, capture_main, c) != 0) {
        audio_error(error, error_len, "audio capture `%s`: cannot start its thread", device);
        audio_capture_close(c);
        return SKY_ERR_NOMEM;
    }
    c->thread_started = true;
    *out = c;
    return SKY_OK;
}

bool audio_capture_failed(audio_capture *c, char *error, size_t error_len) {
    if (!atomic_load(&c->failed)) return false;
    audio_error(error, error_len, "%s", c->failure);
    return true;
}

unsigned long long audio_capture_dropped(const audio_capture *c) {
    return atomic_load(&((audio_capture *)c)->dropped);
}

void audio_capture_close(audio_capture *c) {
    if (!c) return;
    atomic_store(&c->stop, true);
    /* The thread sees `stop` at once in PulseAudio's poll (woken here), or after its current
     * block from ALSA: at most ALSA_WAIT_MS from a stalled device. */
    if (c->pulse) pa_mainloop_wakeup(c->pulse);
    if (c->thread_started) pthread_join(c->thread, NULL);
    close_pulse(c);
    if (c->alsa) snd_pcm_close(c->alsa);
    free(c);
}
