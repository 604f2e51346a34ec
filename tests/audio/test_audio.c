/*
 * test_audio.c - libskyaudio against generated sound files: tones land in
 * their band, a 120 bpm click train gives 120 bpm and beats, silence gives
 * zeros, loud and quiet give the same values once the gain settles, a click
 * shows within 30 ms + one frame of stream time, stepping is deterministic,
 * bad files and missing capture devices give errors that name them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sky/audio.h"
#include "wav_gen.h"

#define RATE 48000u

static char tmp_dir[256];

static int make_dir(void **state) {
    (void)state;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/sky-audio-XXXXXX");
    return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_dir(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *tmp_path(const char *name) {
    static char path[4][320];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", tmp_dir, name);
    return p;
}

static sky_audio *open_wav(const char *name, const float *s, size_t n, int channels) {
    const char *path = tmp_path(name);
    assert_true(wav_write(path, RATE, channels, s, n));
    sky_audio *a = NULL;
    char err[300] = "";
    sky_status st = sky_audio_open_file(path, NULL, &a, err, sizeof err);
    if (st != SKY_OK) fail_msg("%s", err);
    return a;
}

static sky_audio_values at(sky_audio *a, double t) {
    sky_audio_values v;
    char err[300] = "";
    sky_status st = sky_audio_update(a, t, &v, err, sizeof err);
    if (st != SKY_OK) fail_msg("update at %g: %s", t, err);
    return v;
}

static int loudest_band(const sky_audio_values *v) {
    int best = 0;
    for (int k = 1; k < SKY_AUDIO_BANDS; k++)
        if (v->band[k] > v->band[best]) best = k;
    return best;
}

/* A tone at the geometric centre of band k lights band k most, and the right one of
 * bass/mid/treble. */
static void test_tone_lands_in_its_band(void **state) {
    (void)state;
    for (int k = 0; k < SKY_AUDIO_BANDS; k++) {
        double hz = 40.0 * pow(400.0, (k + 0.5) / SKY_AUDIO_BANDS);
        size_t n;
        float *s = wav_buffer(RATE, 1.0, &n);
        wav_add_sine(s, n, RATE, hz, 0.5, 0, 1.0);
        sky_audio *a = open_wav("tone.wav", s, n, 2);
        sky_audio_values v = at(a, 0.9);
        if (loudest_band(&v) != k)
            fail_msg("%.1f Hz: band %d is loudest (%.3f), band %d has %.3f", hz, loudest_band(&v),
                     v.band[loudest_band(&v)], k, v.band[k]);
        assert_true(v.band[k] > 0.99);
        float bmt[3] = {v.bass, v.mid, v.treble};
        int expect = hz < 250 ? 0 : hz < 4000 ? 1 : 2;
        for (int g = 0; g < 3; g++)
            if (g != expect && !(bmt[g] < bmt[expect] * 0.1))
                fail_msg("%.1f Hz: bass/mid/treble %.3f %.3f %.3f", hz, v.bass, v.mid, v.treble);
        sky_audio_free(a);
        free(s);
    }
}

static void test_silence_is_zero(void **state) {
    (void)state;
    size_t n;
    float *s = wav_buffer(RATE, 3.0, &n);
    sky_audio *a = open_wav("silence.wav", s, n, 1);
    for (double t = 0; t <= 3.0; t += 0.25) {
        sky_audio_values v = at(a, t);
        assert_true(v.level == 0 && v.bass == 0 && v.mid == 0 && v.treble == 0);
        assert_true(v.beat == 0 && v.phase == 0 && v.bpm == 0);
        for (int k = 0; k < SKY_AUDIO_BANDS; k++) assert_true(v.band[k] == 0);
    }
    sky_audio_free(a);
    free(s);
}

/* 120 bpm clicks over 20 s: the tempo is 120 +- 2, beats pulse, the phase runs. */
static void test_click_train_tempo(void **state) {
    (void)state;
    size_t n;
    float *s = wav_buffer(RATE, 20.0, &n);
    wav_add_clicks(s, n, RATE, 0.25, 0.5, 0.8);
    sky_audio *a = open_wav("clicks.wav", s, n, 1);
    int pulses = 0, phase_steps = 0;
    float prev_beat = 0, prev_phase = 0;
    sky_audio_values v = {0};
    for (int f = 0; f < 20 * 60; f++) {
        v = at(a, f / 60.0);
        if (v.beat > prev_beat + 0.3) {
            /* A pulse falls on a click (0.25 s + k * 0.5 s), within 3 frames. */
            double off = fmod(f / 60.0 - 0.25 + 1.0, 0.5);
            if (fmin(off, 0.5 - off) > 0.05)
                fail_msg("a beat at %.3f s, between the clicks", f / 60.0);
            pulses++;
        }
        if (getenv("SKY_AUDIO_TRACE"))
            printf("%d beat %.3f phase %.3f bpm %.2f\n", f, v.beat, v.phase, v.bpm);
        assert_true(v.phase >= 0 && v.phase < 1);
        if (f / 60.0 > 10 && v.phase > prev_phase) phase_steps++;
        prev_beat = v.beat;
        prev_phase = v.phase;
    }
    printf("bpm %.2f, %d pulses, phase rose on %d frames of the last 600\n", v.bpm, pulses,
           phase_steps);
    assert_true(fabs(v.bpm - 120.0) <= 2.0);
    assert_true(pulses >= 25); /* 39 clicks; the tracker needs a few seconds to lock */
    /* Between beats the phase climbs: at 60 fps and 2 beats/s, 29 of every 30 frames. */
    assert_true(phase_steps > 500);
    sky_audio_free(a);
    free(s);
}

/* The same music 40 dB apart reads the same once the gain has settled. */
static void test_gain_loud_and_quiet(void **state) {
    (void)state;
    sky_audio_values v[2];
    double amp[2] = {0.5, 0.005};
    for (int i = 0; i < 2; i++) {
        size_t n;
        float *s = wav_buffer(RATE, 8.0, &n);
        wav_add_sine(s, n, RATE, 110, amp[i], 0, 8.0);
        wav_add_sine(s, n, RATE, 880, amp[i] * 0.5, 0, 8.0);
        wav_add_clicks(s, n, RATE, 0.1, 0.4, amp[i] * 1.5);
        sky_audio *a = open_wav(i ? "quiet.wav" : "loud.wav", s, n, 1);
        v[i] = at(a, 7.3);
        sky_audio_free(a);
        free(s);
    }
    printf("level %.3f/%.3f bass %.3f/%.3f mid %.3f/%.3f\n", v[0].level, v[1].level, v[0].bass,
           v[1].bass, v[0].mid, v[1].mid);
    assert_true(v[0].level > 0.2);
    assert_true(fabs(v[0].level - v[1].level) < 0.05);
    assert_true(fabs(v[0].bass - v[1].bass) < 0.05);
    assert_true(fabs(v[0].mid - v[1].mid) < 0.05);
    for (int k = 0; k < SKY_AUDIO_BANDS; k++) assert_true(fabs(v[0].band[k] - v[1].band[k]) < 0.05);
}

/* Latency in stream time: a click after silence shows at the first frame at most 30 ms + 1 frame
 * later. */
static void test_click_latency(void **state) {
    (void)state;
    const double click_s = 1.0 + 7.0 / RATE; /* off the frame and hop grid */
    for (int fps = 30; fps <= 120; fps *= 2) {
        size_t n;
        float *s = wav_buffer(RATE, 2.0, &n);
        wav_add_clicks(s, n, RATE, click_s, 10.0, 0.8);
        sky_audio *a = open_wav("click.wav", s, n, 1);
        int shown = -1;
        for (int f = 0; f < 2 * fps && shown < 0; f++) {
            sky_audio_values v = at(a, (double)f / fps);
            if (v.level > 0.5) shown = f;
        }
        assert_true(shown >= 0);
        double latency = (double)shown / fps - click_s;
        printf("%d fps: the click shows at frame %d, %.1f ms after it\n", fps, shown,
               latency * 1000);
        assert_true(latency >= 0);
        assert_true(latency <= 0.030 + 1.0 / fps);
        sky_audio_free(a);
        free(s);
    }
}

/* Stepping is a function of t: two passes agree exactly, also after going back. */
static void test_deterministic(void **state) {
    (void)state;
    size_t n;
    float *s = wav_buffer(RATE, 3.0, &n);
    wav_add_clicks(s, n, RATE, 0.2, 0.45, 0.7);
    wav_add_sine(s, n, RATE, 300, 0.2, 0.5, 3.0);
    sky_audio *a = open_wav("det.wav", s, n, 1);
    sky_audio_values first[90], again;
    for (int f = 0; f < 90; f++) first[f] = at(a, f / 30.0);
    for (int f = 0; f < 90; f++) {
        again = at(a, f / 30.0); /* f = 0 goes back: a fresh analysis */
        assert_memory_equal(&first[f], &again, sizeof again);
    }
    sky_audio_free(a);
    free(s);
}

/* Far ahead (preview --time 3600): only the last 30 s are analysed, and they settle the same. */
static void test_far_jump(void **state) {
    (void)state;
    size_t n;
    float *s = wav_buffer(RATE, 2.0, &n);
    wav_add_sine(s, n, RATE, 440, 0.3, 0, 2.0);
    wav_add_sine(s, n, RATE, 90, 0.2, 0, 2.0);
    sky_audio *stepped = open_wav("loop.wav", s, n, 1), *jumped = open_wav("loop.wav", s, n, 1);
    sky_audio_values a = {0}, b;
    for (double t = 0; t <= 100.0; t += 1.0) a = at(stepped, t); /* in steps under the jump */
    b = at(jumped, 100.0);
    assert_true(fabs(sky_audio_time(jumped) - 100.0) < 256.0 / RATE);
    assert_true(fabs(sky_audio_time(stepped) - sky_audio_time(jumped)) < 1e-9);
    assert_true(fabs(a.level - b.level) < 0.02);
    for (int k = 0; k < SKY_AUDIO_BANDS; k++) assert_true(fabs(a.band[k] - b.band[k]) < 0.02);
    char err[200] = "";
    assert_int_equal(sky_audio_update(jumped, INFINITY, &b, err, sizeof err), SKY_ERR_INVALID_ARG);
    assert_int_equal(sky_audio_update(jumped, NAN, &b, err, sizeof err), SKY_ERR_INVALID_ARG);
    assert_int_equal(sky_audio_update(jumped, 1e300, &b, err, sizeof err), SKY_ERR_INVALID_ARG);
    b = at(jumped, 1e6);
    assert_true(b.level > 0.5 && b.level <= 1);
    assert_true(fabs(sky_audio_time(jumped) - 1e6) < 256.0 / RATE);
    sky_audio_free(stepped);
    sky_audio_free(jumped);
    free(s);
}

static void expect_file_error(const char *path, sky_status want, const char *words) {
    sky_audio *a = (sky_audio *)1;
    char err[400] = "";
    sky_status st = sky_audio_open_file(path, NULL, &a, err, sizeof err);
    printf("%s\n", err);
    assert_int_equal(st, want);
    assert_null(a);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, words));
}

static void test_bad_files(void **state) {
    (void)state;
    expect_file_error(tmp_path("missing.wav"), SKY_ERR_IO, "No such file");
    expect_file_error(tmp_dir, SKY_ERR_IO, "directory");
    const char *text = tmp_path("notes.wav");
    FILE *f = fopen(text, "w");
    assert_non_null(f);
    fputs("these are not the samples you are looking for\n", f);
    fclose(f);
    expect_file_error(text, SKY_ERR_FORMAT, "not a readable audio file");
    /* A WAV cut off inside its header, and one cut right after it (no samples). */
    size_t n;
    float *s = wav_buffer(RATE, 0.5, &n);
    wav_add_sine(s, n, RATE, 440, 0.5, 0, 0.5);
    const char *whole = tmp_path("whole.wav");
    assert_true(wav_write(whole, RATE, 1, s, n));
    free(s);
    const char *cut = tmp_path("cut.wav");
    char cmd[800];
    snprintf(cmd, sizeof cmd, "head -c 30 '%s' > '%s'", whole, cut);
    assert_int_equal(system(cmd), 0);
    expect_file_error(cut, SKY_ERR_FORMAT, "");
    snprintf(cmd, sizeof cmd, "head -c 44 '%s' > '%s'", whole, cut);
    assert_int_equal(system(cmd), 0);
    expect_file_error(cut, SKY_ERR_FORMAT, "");
    /* Cut in the middle of the samples: opens, plays what is there, then silence or the loop. */
    snprintf(cmd, sizeof cmd, "head -c 20000 '%s' > '%s'", whole, cut);
    assert_int_equal(system(cmd), 0);
    sky_audio *a = NULL;
    char err[300];
    assert_int_equal(sky_audio_open_file(cut, NULL, &a, err, sizeof err), SKY_OK);
    sky_audio_values v = at(a, 3.0);
    assert_true(v.level >= 0 && v.level <= 1);
    sky_audio_free(a);
}

/* No sound server and no such ALSA device here: a clear error naming the device, at once. */
static void test_capture_without_device(void **state) {
    (void)state;
    char server[400];
    snprintf(server, sizeof server, "unix:%s/no-pulse-server", tmp_dir);
    setenv("PULSE_SERVER", server, 1);
    const char *names[] = {"sky-test-no-such-source", "alsa:sky_test_no_such_pcm", "hw:97,0"};
    for (size_t i = 0; i < 3; i++) {
        sky_audio *a = (sky_audio *)1;
        char err[500] = "";
        sky_status st = sky_audio_open_capture(names[i], NULL, &a, err, sizeof err);
        printf("%s\n", err);
        assert_int_equal(st, SKY_ERR_NO_DEVICE);
        assert_null(a);
        assert_non_null(strstr(err, names[i]));
        assert_non_null(strstr(err, "ALSA"));
    }
    /* sky_audio_open sends a plain name to capture and a path to the file reader. */
    sky_audio *a = NULL;
    char err[500] = "";
    assert_int_equal(sky_audio_open("sky-test-no-such-source", NULL, &a, err, sizeof err),
                     SKY_ERR_NO_DEVICE);
    assert_int_equal(sky_audio_open(tmp_path("absent.flac"), NULL, &a, err, sizeof err),
                     SKY_ERR_IO);
    unsetenv("PULSE_SERVER");
}

/*
 * The capture path end to end without a sound card: ALSA's `null` PCM (in
 * every alsa-lib configuration) delivers silence, faster than real time.
 * Open, the capture thread, the ring, the analysis, close.
 */
static void test_capture_null_device(void **state) {
    (void)state;
    sky_audio *a = NULL;
    char err[400] = "";
    sky_status st = sky_audio_open_capture("alsa:null", NULL, &a, err, sizeof err);
    if (st != SKY_OK) fail_msg("alsa:null: %s", err);
    assert_int_equal(sky_audio_sample_rate(a), 48000);
    /* Progress, not a guessed delay: wait until some sound has been analysed. */
    sky_audio_values v;
    for (int polls = 0; sky_audio_time(a) < 0.2; polls++) {
        assert_int_equal(sky_audio_update(a, 0, &v, err, sizeof err), SKY_OK);
        if (polls > 120000) fail_msg("no sound from alsa:null in 2 minutes");
        usleep(1000);
    }
    printf("alsa:null: level %g bass %g band 5 %g bpm %g\n", v.level, v.bass, v.band[5], v.bpm);
    bool silent = v.level == 0 && v.bass == 0 && v.band[5] == 0 && v.bpm == 0;
    printf("alsa:null: %.2f s analysed, %llu blocks dropped\n", sky_audio_time(a),
           sky_audio_dropped(a));
    sky_audio_free(a);
    assert_true(silent);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tone_lands_in_its_band),
        cmocka_unit_test(test_silence_is_zero),
        cmocka_unit_test(test_click_train_tempo),
        cmocka_unit_test(test_gain_loud_and_quiet),
        cmocka_unit_test(test_click_latency),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_far_jump),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_capture_without_device),
        cmocka_unit_test(test_capture_null_device),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
