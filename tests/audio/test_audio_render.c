/*
 * test_audio_render.c - a pattern reading every `audio.*` value, rendered
 * through the sky_runtime API on the Vulkan runtime (lavapipe here) and on
 * the CPU backend (device "cpu"), each frame against the CPU evaluator fed
 * the same values, within 2/255 per channel. The values come from a
 * generated WAV through libskyaudio, and the test checks they matter (a
 * frame with audio differs from one without), so a runtime that dropped
 * them would fail. Also: a program without audio given none reads zeros.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sky/abi.h"
#include "sky/audio.h"
#include "sky/layout.h"
#include "sky/runtime.h"
#include "sky/sky.h"
#include "wav_gen.h"

#define TOLERANCE 2
#define FRAMES    24

/* Every member; band(k) with a per-LED k, a per-frame k and a constant k. */
static const char *const pattern =
    "let k = r * 16\n"
    "let pulse = 0.5 * audio.beat + 0.5 * audio.level\n"
    "out rgb(audio.band(k) * (0.5 + 0.5 * audio.bass),\n"
    "        audio.mid * 0.5 + pulse * 0.5 + audio.band(audio.phase * 16) * 0.1,\n"
    "        fract(audio.phase + audio.bpm / 240 + theta / tau) * audio.treble * 0.8 +\n"
    "            audio.band(3) * 0.2)\n";

static char tmp_dir[256];

static int setup(void **state) {
    (void)state;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/sky-audio-render-XXXXXX");
    return mkdtemp(tmp_dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static sky_audio *music(void) {
    size_t n;
    float *s = wav_buffer(48000, 6.0, &n);
    wav_add_clicks(s, n, 48000, 0.1, 0.5, 0.8);
    wav_add_sine(s, n, 48000, 70, 0.3, 0, 6.0);
    wav_add_sine(s, n, 48000, 900, 0.15, 1.0, 6.0);
    wav_add_sine(s, n, 48000, 7000, 0.1, 2.0, 4.0);
    char path[400];
    snprintf(path, sizeof path, "%s/music.wav", tmp_dir);
    assert_true(wav_write(path, 48000, 2, s, n));
    free(s);
    sky_audio *a = NULL;
    char err[300] = "";
    if (sky_audio_open_file(path, NULL, &a, err, sizeof err) != SKY_OK) fail_msg("%s", err);
    return a;
}

static void render_against_evaluator(const char *device) {
    char err[1024] = "";
    sky_program *program = NULL;
    assert_int_equal(sky_compile("audio.sky", pattern, strlen(pattern), NULL, &program, NULL),
                     SKY_OK);
    assert_true(sky_program_inputs(program) & SKY_INPUT_AUDIO);
    sky_layout *layout = NULL;
    if (sky_layout_create("disc:12x20", &layout, err, sizeof err) != SKY_OK) fail_msg("%s", err);
    sky_layout_view view = {layout->led_count, layout->strip_count, layout->strip_sizes,
                            layout->xy};
    sky_led_input *inputs = calloc(layout->led_count, sizeof *inputs);
    size_t channels = (size_t)layout->led_count * 3;
    uint8_t *want = malloc(channels), *silent = malloc(channels);
    assert_true(inputs && want && silent);
    assert_int_equal(sky_led_inputs_build(&view, inputs), SKY_OK);

    sky_runtime_options o;
    sky_runtime_options_init(&o);
    o.device = device;
    o.layout = layout;
    sky_runtime *rt = NULL;
    if (sky_runtime_create(&o, &rt, err, sizeof err) != SKY_OK) fail_msg("create: %s", err);
    if (sky_runtime_set_program(rt, program, err, sizeof err) != SKY_OK)
        fail_msg("set_program: %s", err);

    sky_audio *audio = music();
    int worst = 0, frames_audio_mattered = 0;
    for (int f = 0; f < FRAMES; f++) {
        double t = 0.2 + f * 0.21;
        sky_audio_values v;
        assert_int_equal(sky_audio_update(audio, t, &v, err, sizeof err), SKY_OK);
        sky_runtime_set_audio(rt, &v);
        if (sky_runtime_render(rt, t, 1.0 / 60, NULL, err, sizeof err) != SKY_OK)
            fail_msg("render: %s", err);
        size_t len = 0;
        const uint8_t *got = sky_runtime_frame_bytes(rt, &len);
        assert_true(got && len >= channels);
        sky_frame_inputs in = {.t = t, .dt = 1.0 / 60, .frame = (uint64_t)f, .audio = &v};
        assert_int_equal(sky_program_eval(program, &view, inputs, &in, NULL, NULL, want), SKY_OK);
        in.audio = NULL;
        assert_int_equal(sky_program_eval(program, &view, inputs, &in, NULL, NULL, silent), SKY_OK);
        if (memcmp(want, silent, channels) != 0) frames_audio_mattered++;
        for (size_t i = 0; i < channels; i++) {
            int d = abs((int)got[i] - (int)want[i]);
            if (d > worst) worst = d;
            if (d > TOLERANCE)
                fail_msg("%s, frame %d (t = %g): LED %zu channel %zu: %u, the evaluator %u",
                         device ? device : "Vulkan", f, t, i / 3, i % 3, got[i], want[i]);
        }
    }
    printf("%s (%s): largest difference %d/255; audio changed %d of %d frames\n",
           device ? device : "Vulkan", sky_runtime_device_name(rt), worst, frames_audio_mattered,
           FRAMES);
    assert_true(frames_audio_mattered >= FRAMES - 2);

    /* Without audio again: every audio.* reads 0, as the evaluator's NULL. */
    sky_runtime_set_audio(rt, NULL);
    assert_int_equal(sky_runtime_render(rt, 1.0, 1.0 / 60, NULL, err, sizeof err), SKY_OK);
    size_t len = 0;
    const uint8_t *got = sky_runtime_frame_bytes(rt, &len);
    sky_frame_inputs in = {.t = 1.0, .dt = 1.0 / 60, .frame = FRAMES};
    assert_int_equal(sky_program_eval(program, &view, inputs, &in, NULL, NULL, want), SKY_OK);
    for (size_t i = 0; i < channels; i++) assert_true(abs((int)got[i] - (int)want[i]) <= TOLERANCE);

    sky_audio_free(audio);
    sky_runtime_free(rt);
    sky_layout_free(layout);
    sky_program_free(program);
    free(inputs);
    free(want);
    free(silent);
}

static void test_vulkan(void **state) {
    (void)state;
    render_against_evaluator(NULL);
}

static void test_cpu_backend(void **state) {
    (void)state;
    char cache[300];
    snprintf(cache, sizeof cache, "%s/cache", tmp_dir);
    setenv("XDG_CACHE_HOME", cache, 1); /* the CPU backend's object cache, ours alone */
    render_against_evaluator(SKY_CPU_DEVICE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vulkan),
        cmocka_unit_test(test_cpu_backend),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
