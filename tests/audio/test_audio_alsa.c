/*
 * test_audio_alsa.c - live capture through the real alsa-lib, without a sound
 * card: a test-private ALSA configuration (ALSA_CONFIG_PATH: the system's
 * alsa.conf, then ours) defines PCMs of alsa-lib's `file` plugin whose
 * capture reads raw samples from a FIFO the test writes (`infile`), over the
 * `null` PCM. sky_audio_open_capture("alsa:skytest") then runs the whole
 * capture path (snd_pcm_open, snd_pcm_set_params, snd_pcm_wait/readi on the
 * capture thread, the ring, the analysis) on sound the test chose.
 *
 * Why a FIFO and not a file: the null PCM delivers as fast as it is read, so
 * a file infile would overrun the ring (1.4 s) and drop blocks; through a
 * FIFO the capture thread waits for the test, which keeps at most LEAD hops
 * ahead of the analysis, so nothing is dropped and the captured stream is
 * exactly the generated one. The test then checks it twice: every value the
 * capture source shows equals the file source's at the same hop (bit for
 * bit: the same samples went through), and the sound shows where it should
 * (tones light level and their band, clicks give beats at the clicks).
 *
 * Failure paths: a PCM that does not exist and one whose infile is missing
 * fail at open with the name; a PCM whose output is /dev/full fails on its
 * first write (after one buffer, 20 ms, of capture): the source then reads as
 * silence, says why, and closes without hanging.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sky/audio.h"
#include "wav_gen.h"

#define RATE 48000u
#define HOP  256u /* AUDIO_HOP: samples per analysis step and per capture block */
/* Hops the test writes ahead of the analysis: 8 hops (43 ms, 8 KiB) fit the
 * pipe (64 KiB) and the ring (65,536 samples) many times over. */
#define LEAD 8u
/* A guard against a hang, not a timing: no progress at all for this long fails. */
#define STUCK_S 120.0

static char dir[256];
static int feed_fd = -1;      /* the FIFO's write end */
static sky_audio *capture;    /* closed by teardown after feed_fd (see close_feed) */
static sky_audio *file_audio; /* the same sound from the WAV */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *path_in(const char *name) {
    static char paths[4][320];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sky-alsa-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    if (mkfifo(path_in("in.fifo"), 0600) != 0 || mkfifo(path_in("fail.fifo"), 0600) != 0) return -1;
    FILE *f = fopen(path_in("asound.conf"), "w");
    if (!f) return -1;
    /* skytest: capture reads in.fifo (raw native float, what sky asks for). skyfail: the
     * same, but the plugin's copy of what it captured goes to /dev/full, whose first write
     * fails with ENOSPC. skymissing: an infile that does not exist. */
    fprintf(f,
            "pcm.skytest { type file slave.pcm { type null } file \"/dev/null\" "
            "infile \"%s/in.fifo\" format \"raw\" }\n"
            "pcm.skyfail { type file slave.pcm { type null } file \"/dev/full\" "
            "infile \"%s/fail.fifo\" format \"raw\" }\n"
            "pcm.skymissing { type file slave.pcm { type null } file \"/dev/null\" "
            "infile \"%s/absent.raw\" format \"raw\" }\n",
            dir, dir, dir);
    if (fclose(f) != 0) return -1;
    /* ALSA_CONFIG_PATH replaces the system's top file, so it comes first. */
    char config[700];
    snprintf(config, sizeof config, "/usr/share/alsa/alsa.conf:%s", path_in("asound.conf"));
    if (setenv("ALSA_CONFIG_PATH", config, 1) != 0) return -1;
    /* No sound server: a plain name must fall through to ALSA, at once (no autospawn). */
    char server[400];
    snprintf(server, sizeof server, "unix:%s/no-pulse-server", dir);
    return setenv("PULSE_SERVER", server, 1);
}

static int teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The capture thread may be blocked reading the FIFO: its EOF is what lets it go. */
static void close_feed(void) {
    if (feed_fd >= 0) close(feed_fd);
    feed_fd = -1;
}

static int after_test(void **state) {
    (void)state;
    close_feed();
    sky_audio_free(capture);
    sky_audio_free(file_audio);
    capture = file_audio = NULL;
    return 0;
}

/*
 * Opens `device` (an ALSA PCM of our configuration reading `fifo`) and the FIFO's write end.
 * The plugin opens its infile O_RDONLY, which blocks until a writer exists, so the test
 * holds a read-write end across the open and drops it once its own writer is in place.
 */
static sky_status open_fed(const char *device, const char *fifo, char *err, size_t err_len) {
    int hold = open(fifo, O_RDWR);
    if (hold < 0) fail_msg("%s: %s", fifo, strerror(errno));
    sky_status st = sky_audio_open_capture(device, NULL, &capture, err, err_len);
    if (st == SKY_OK) {
        feed_fd = open(fifo, O_WRONLY);
        if (feed_fd < 0) fail_msg("%s: %s", fifo, strerror(errno));
    }
    close(hold);
    return st;
}

/* One hop into the FIFO: 1 KiB, under PIPE_BUF, so the capture thread reads it whole. */
static void write_hop(const float *hop) {
    ssize_t put = write(feed_fd, hop, HOP * sizeof *hop);
    if (put != (ssize_t)(HOP * sizeof *hop))
        fail_msg("writing the FIFO: %s", put < 0 ? strerror(errno) : "short write");
}

static uint64_t hops_of(const sky_audio *a) {
    return (uint64_t)llround(sky_audio_time(a) * RATE / HOP);
}

/* The generated sound: tones, then 120 bpm clicks; times in seconds. */
#define LOW_HZ      100.0  /* band 2 (85-123 Hz), bass */
#define HIGH_HZ     6000.0 /* band 13 (5203-7566 Hz), treble */
#define LOW_FROM    0.5
#define LOW_TO      1.5
#define HIGH_FROM   2.0
#define HIGH_TO     3.0
#define CLICK_FROM  3.5 /* on the grid of the high tone's end: aubio hears that as a beat */
#define CLICK_EVERY 0.5
#define SOUND_S     14.0

static bool in(double t, double from, double to) {
    return t >= from && t < to;
}

static float *make_sound(size_t *n) {
    float *s = wav_buffer(RATE, SOUND_S, n);
    assert_non_null(s);
    wav_add_sine(s, *n, RATE, LOW_HZ, 0.5, LOW_FROM, LOW_TO);
    wav_add_sine(s, *n, RATE, HIGH_HZ, 0.5, HIGH_FROM, HIGH_TO);
    wav_add_clicks(s, *n, RATE, CLICK_FROM, CLICK_EVERY, 0.8);
    return s;
}

/* Writes the sound as a 16-bit WAV, opens it as a file source and returns its samples as
 * libsndfile reads them back: what the capture is fed, so both analyses see the same. */
static float *wav_round_trip(const float *s, size_t n) {
    const char *wav = path_in("sound.wav");
    assert_true(wav_write(wav, RATE, 1, s, n));
    SF_INFO info = {0};
    SNDFILE *f = sf_open(wav, SFM_READ, &info);
    assert_non_null(f);
    assert_int_equal(info.frames, (sf_count_t)n);
    float *back = malloc(n * sizeof *back);
    assert_non_null(back);
    assert_int_equal(sf_readf_float(f, back, (sf_count_t)n), (sf_count_t)n);
    sf_close(f);
    sky_audio_options options;
    sky_audio_options_init(&options);
    options.loop = false;
    char err[300] = "";
    if (sky_audio_open_file(wav, &options, &file_audio, err, sizeof err) != SKY_OK)
        fail_msg("%s", err);
    return back;
}

static int loudest_band(const sky_audio_values *v) {
    int best = 0;
    for (int k = 1; k < SKY_AUDIO_BANDS; k++)
        if (v->band[k] > v->band[best]) best = k;
    return best;
}

/* What the run saw, checked as it goes. */
typedef struct {
    unsigned low_seen, high_seen, quiet_seen, pulses, off_click;
    float prev_beat, max_level_silence;
    sky_audio_values last;
} seen_t;

static void check(seen_t *seen, double t, const sky_audio_values *v) {
    /* Past the first 100 ms of a tone (the FFT window fills in 43 ms). */
    if (in(t, LOW_FROM + 0.1, LOW_TO)) {
        if (v->level < 0.5 || v->bass < 0.5 || v->treble > 0.1 || loudest_band(v) != 2)
            fail_msg("at %.3f s in the %g Hz tone: level %.3f bass %.3f treble %.3f band %d", t,
                     LOW_HZ, v->level, v->bass, v->treble, loudest_band(v));
        seen->low_seen++;
    }
    if (in(t, HIGH_FROM + 0.1, HIGH_TO)) {
        if (v->level < 0.5 || v->treble < 0.5 || v->bass > 0.1 || loudest_band(v) != 13)
            fail_msg("at %.3f s in the %g Hz tone: level %.3f bass %.3f treble %.3f band %d", t,
                     HIGH_HZ, v->level, v->bass, v->treble, loudest_band(v));
        seen->high_seen++;
    }
    /* 0.4 s after a tone: 4 release time constants, e^-4 = 0.018. */
    if (in(t, 0.0, LOW_FROM) || in(t, LOW_TO + 0.4, HIGH_FROM) ||
        in(t, HIGH_TO + 0.4, CLICK_FROM)) {
        if (v->level > seen->max_level_silence) seen->max_level_silence = v->level;
        seen->quiet_seen++;
    }
    if (v->beat > seen->prev_beat + 0.3) {
        /* A pulse rises at a click: within 50 ms of it, plus up to LEAD hops (43 ms) between
         * two looks at the values. */
        double off = fmod(t - CLICK_FROM + 10 * CLICK_EVERY, CLICK_EVERY);
        if (t < HIGH_TO || fmin(off, CLICK_EVERY - off) > 0.05 + LEAD * HOP / (double)RATE) {
            printf("a beat at %.3f s, off the clicks\n", t);
            seen->off_click++;
        }
        seen->pulses++;
    }
    seen->prev_beat = v->beat;
    seen->last = *v;
}

/*
 * The sound through alsa:skytest, fed LEAD hops ahead: each time the analysis has moved, its
 * values equal the file source's at the same hop, and they show the tones and the clicks.
 */
static void test_capture_hears_the_sound(void **state) {
    (void)state;
    size_t n;
    float *sound = make_sound(&n);
    float *samples = wav_round_trip(sound, n);
    free(sound);
    char err[400] = "";
    if (open_fed("alsa:skytest", path_in("in.fifo"), err, sizeof err) != SKY_OK)
        fail_msg("alsa:skytest: %s", err);
    assert_int_equal(sky_audio_sample_rate(capture), RATE);
    uint64_t total = n / HOP, written = 0, analysed = 0, updates = 0;
    seen_t seen = {0};
    double last_progress = now_s();
    while (analysed < total) {
        if (written < total && written - analysed < LEAD) {
            write_hop(samples + written++ * HOP);
            continue;
        }
        sky_audio_values v, want;
        sky_status st = sky_audio_update(capture, 0, &v, err, sizeof err);
        if (st != SKY_OK) fail_msg("update after %llu hops: %s", (unsigned long long)analysed, err);
        uint64_t h = hops_of(capture);
        if (h == analysed) {
            if (now_s() - last_progress > STUCK_S) fail_msg("no capture progress in %g s", STUCK_S);
            usleep(200);
            continue;
        }
        if (h > written)
            fail_msg("analysed %llu hops of %llu written", (unsigned long long)h,
                     (unsigned long long)written);
        analysed = h;
        updates++;
        last_progress = now_s();
        assert_int_equal(
            sky_audio_update(file_audio, (h + 0.5) * HOP / RATE, &want, err, sizeof err), SKY_OK);
        assert_int_equal(hops_of(file_audio), h);
        if (memcmp(&v, &want, sizeof v) != 0)
            fail_msg("hop %llu: capture level %.6f bass %.6f beat %.6f, file %.6f %.6f %.6f",
                     (unsigned long long)h, v.level, v.bass, v.beat, want.level, want.bass,
                     want.beat);
        check(&seen, (double)h * HOP / RATE, &v);
    }
    printf("%llu hops in %llu looks; %u/%u/%u looks in the low tone/high tone/silence (level "
           "there at most %.3f); %u beat pulses, %u off the clicks; bpm %.2f; %llu dropped\n",
           (unsigned long long)analysed, (unsigned long long)updates, seen.low_seen, seen.high_seen,
           seen.quiet_seen, seen.max_level_silence, seen.pulses, seen.off_click, seen.last.bpm,
           sky_audio_dropped(capture));
    assert_int_equal(sky_audio_dropped(capture), 0);
    assert_true(seen.low_seen > 0 && seen.high_seen > 0 && seen.quiet_seen > 0);
    assert_true(seen.max_level_silence < 0.05);
    /* 21 clicks in 10.5 s; aubio locks after a few seconds (test_audio: 25 of 39). */
    assert_true(seen.pulses >= 8);
    assert_int_equal(seen.off_click, 0);
    assert_true(fabs(seen.last.bpm - 120.0) <= 2.0);
    free(samples);
}

/* A PCM whose capture fails mid-stream: the tone shows until then, the failure is reported
 * with the device's name, the values fall to silence, and closing does not hang. */
static void test_device_fails_mid_stream(void **state) {
    (void)state;
    char err[400] = "";
    if (open_fed("alsa:skyfail", path_in("fail.fifo"), err, sizeof err) != SKY_OK)
        fail_msg("alsa:skyfail: %s", err);
    size_t n;
    float *tone = wav_buffer(RATE, 1.0, &n);
    assert_non_null(tone);
    wav_add_sine(tone, n, RATE, 440, 0.5, 0, 1.0);
    sky_audio_values v;
    sky_status st = SKY_OK;
    float loudest = 0;
    uint64_t written = 0;
    double last_progress = now_s();
    /* One hop at a time, each analysed before the next: the thread stops reading the FIFO
     * when it fails, so nothing is left blocking in write(). */
    while (st == SKY_OK) {
        if (written == n / HOP) fail_msg("alsa:skyfail never failed");
        write_hop(tone + written++ * HOP);
        while ((st = sky_audio_update(capture, 0, &v, err, sizeof err)) == SKY_OK &&
               hops_of(capture) < written) {
            if (now_s() - last_progress > STUCK_S) fail_msg("no capture progress in %g s", STUCK_S);
            usleep(200);
        }
        last_progress = now_s();
        if (v.level > loudest) loudest = v.level;
    }
    printf("after %llu hops written, %.3f s analysed: %s\n", (unsigned long long)written,
           sky_audio_time(capture), err);
    assert_int_equal(st, SKY_ERR_STALE);
    assert_non_null(strstr(err, "alsa:skyfail"));
    /* What alsa-lib said on the capture thread is in the message, not on stderr. */
    assert_non_null(strstr(err, "ALSA: Input/output error (/dev/full write failed"));
    assert_non_null(strstr(err, "No space left on device"));
    /* The plugin's buffer is 20 ms (ALSA_LATENCY_US): it writes, and fails, after 3-4 hops. */
    assert_true(written >= 2);
    assert_true(loudest > 0.5);
    /* Each update of a failed source analyses one hop of silence: 0.1 s time constant. */
    for (int i = 0; i < 400; i++) {
        err[0] = '\0';
        assert_int_equal(sky_audio_update(capture, 0, &v, err, sizeof err), SKY_ERR_STALE);
        assert_non_null(strstr(err, "alsa:skyfail"));
    }
    printf("after 400 updates: level %g\n", v.level);
    assert_true(v.level < 0.01);
    free(tone);
    /* after_test closes it: the thread has ended, the join returns at once. */
}

/* PCMs that cannot be opened: the error names what was asked for and what ALSA said. */
static void test_open_failures(void **state) {
    (void)state;
    struct {
        const char *device, *words;
    } cases[] = {
        {"alsa:skynosuch", "Unknown PCM skynosuch"},
        {"alsa:skymissing", "absent.raw for reading failed: No such file or directory"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sky_audio *a = (sky_audio *)1;
        char err[500] = "";
        sky_status st = sky_audio_open_capture(cases[i].device, NULL, &a, err, sizeof err);
        printf("%s\n", err);
        assert_int_equal(st, SKY_ERR_NO_DEVICE);
        assert_null(a);
        assert_non_null(strstr(err, cases[i].device));
        assert_non_null(strstr(err, cases[i].words));
        assert_non_null(strstr(err, "ALSA"));
    }
}

/* A plain name with no sound server answering falls through to the ALSA PCM of that name,
 * as sky_audio_open (what --audio calls) does for a name that is no file. */
static void test_plain_name_falls_back_to_alsa(void **state) {
    (void)state;
    char err[400] = "";
    int hold = open(path_in("in.fifo"), O_RDWR);
    assert_true(hold >= 0);
    sky_status st = sky_audio_open("skytest", NULL, &capture, err, sizeof err);
    if (st == SKY_OK) feed_fd = open(path_in("in.fifo"), O_WRONLY);
    close(hold);
    if (st != SKY_OK) fail_msg("skytest: %s", err);
    assert_true(feed_fd >= 0);
    float hop[HOP];
    for (unsigned i = 0; i < HOP; i++) hop[i] = 0.5f * (float)sin(2 * M_PI * 1000.0 * i / RATE);
    for (int i = 0; i < 4; i++) write_hop(hop);
    sky_audio_values v;
    double start = now_s();
    while (hops_of(capture) < 4) {
        assert_int_equal(sky_audio_update(capture, 0, &v, err, sizeof err), SKY_OK);
        if (now_s() - start > STUCK_S) fail_msg("no capture progress in %g s", STUCK_S);
        usleep(200);
    }
    assert_true(v.level > 0.5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_capture_hears_the_sound, after_test),
        cmocka_unit_test_teardown(test_device_fails_mid_stream, after_test),
        cmocka_unit_test_teardown(test_open_failures, after_test),
        cmocka_unit_test_teardown(test_plain_name_falls_back_to_alsa, after_test),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
