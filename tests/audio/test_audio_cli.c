/*
 * test_audio_cli.c - `--audio` through the `sky` binary: a preview of
 * examples/pulse.sky from a WAV made here is the same every time and differs
 * from one without audio (which prints the note instead), bad files and a
 * missing capture device end the command with an error naming them, and
 * `sky run` plays a file into a frame file; `sky render --audio` hears it
 * too, the same way every time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <signal.h>

#include "cli_harness.h"
#include "control_client.h"
#include "sky/fseq.h"
#include "sky/sky.h"
#include "wav_gen.h"

#define PULSE SKY_SOURCE_DIR "/examples/pulse.sky"
#define BLOOM SKY_SOURCE_DIR "/examples/bloom.sky"

static char dir[256], wav[320];

static int setup(void **state) {
    (void)state;
    cli_tmpdir(dir, sizeof dir);
    cli_path(wav, sizeof wav, dir, "music.wav");
    size_t n;
    float *s = wav_buffer(44100, 4.0, &n);
    wav_add_clicks(s, n, 44100, 0.1, 0.5, 0.8);
    wav_add_sine(s, n, 44100, 60, 0.3, 0, 4.0);
    wav_add_sine(s, n, 44100, 700, 0.1, 0, 4.0);
    wav_add_sine(s, n, 44100, 5000, 0.05, 1.0, 4.0);
    bool ok = wav_write(wav, 44100, 2, s, n);
    free(s);
    return ok ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    cli_tmpdir_remove(dir);
    return 0;
}

static char *preview(const char *pattern, const char *audio, const char *name, const char *time,
                     char **err) {
    char out[320];
    cli_path(out, sizeof out, dir, name);
    const char *with[] = {"preview", pattern, "--cpu", "--layout", "disc:24x16", "--time",
                          time,      "-o",    out,     "--audio",  audio,        NULL};
    if (!audio) with[9] = NULL;
    int code = cli_run(dir, with, 300, err);
    if (code != 0) fail_msg("sky preview exited %d: %s", code, *err);
    return cli_slurp(out);
}

static void test_preview_is_deterministic(void **state) {
    (void)state;
    char *err = NULL;
    char *a = preview(PULSE, wav, "a.png", "2.3", &err);
    free(err);
    char *b = preview(PULSE, wav, "b.png", "2.3", &err);
    free(err);
    char *silent = preview(PULSE, NULL, "c.png", "2.3", &err);
    assert_non_null(strstr(err, "note: the pattern reads audio.*"));
    free(err);
    char pa[320], pb[320], pc[320];
    cli_path(pa, sizeof pa, dir, "a.png");
    cli_path(pb, sizeof pb, dir, "b.png");
    cli_path(pc, sizeof pc, dir, "c.png");
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", pa, pb);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", pa, pc);
    assert_int_not_equal(system(cmd), 0);
    free(a);
    free(b);
    free(silent);
    /* The other example, as an animation: frame k analyses the audio at k / fps. */
    char gif[320];
    cli_path(gif, sizeof gif, dir, "bloom.gif");
    const char *anim[] = {"preview", BLOOM, "--cpu", "--layout", "disc:24x16", "--duration", "1",
                          "--fps",   "20",  "-o",    gif,        "--audio",    wav,          NULL};
    assert_int_equal(cli_run(dir, anim, 300, &err), 0);
    free(err);
    char *g = cli_slurp(gif);
    assert_memory_equal(g, "GIF89a", 6);
    free(g);
}

#define RENDER_FRAMES 40u
#define RENDER_BYTES  (24u * 16u * 3u)

/* `sky render` of pulse.sky (CPU evaluator, 20 fps), with `audio` or none: every frame's bytes. */
static uint8_t *render(const char *audio, const char *name) {
    char out[320];
    cli_path(out, sizeof out, dir, name);
    const char *args[] = {"render", PULSE, "--cpu", "--layout", "disc:24x16", "--frames", "40",
                          "--fps",  "20",  "-o",    out,        "--audio",    audio,      NULL};
    if (!audio) args[11] = NULL;
    char *err = NULL;
    int code = cli_run(dir, args, 300, &err);
    if (code != 0) fail_msg("sky render exited %d: %s", code, err);
    if (!audio) assert_non_null(strstr(err, "note: the pattern reads audio.*"));
    free(err);
    sky_fseq_reader *reader = NULL;
    char error[256];
    assert_int_equal(sky_fseq_reader_open(out, &reader, error, sizeof error), SKY_OK);
    assert_int_equal(sky_fseq_reader_info(reader)->frame_count, RENDER_FRAMES);
    uint8_t *frames = malloc((size_t)RENDER_FRAMES * RENDER_BYTES);
    assert_non_null(frames);
    for (uint32_t k = 0; k < RENDER_FRAMES; k++)
        assert_int_equal(sky_fseq_reader_read(reader, k, frames + (size_t)k * RENDER_BYTES,
                                              RENDER_BYTES, error, sizeof error),
                         SKY_OK);
    sky_fseq_reader_free(reader);
    return frames;
}

/* sky render takes --audio as sky preview does: frame k hears the file up to k / fps. */
static void test_render_hears_audio(void **state) {
    (void)state;
    uint8_t *a = render(wav, "a.fseq");
    uint8_t *b = render(wav, "b.fseq");
    uint8_t *silent = render(NULL, "c.fseq");
    size_t size = (size_t)RENDER_FRAMES * RENDER_BYTES;
    assert_memory_equal(a, b, size);
    assert_memory_not_equal(a, silent, size);
    free(a);
    free(b);
    free(silent);
}

static void expect_failure(const char *const *args, const char *words) {
    char *err = NULL;
    int code = cli_run(dir, args, 300, &err);
    printf("%s", err);
    assert_int_equal(code, 2);
    assert_non_null(strstr(err, words));
    free(err);
}

static void test_bad_sources(void **state) {
    (void)state;
    char missing[320], out[320], frame[320];
    cli_path(missing, sizeof missing, dir, "missing.flac");
    cli_path(out, sizeof out, dir, "x.png");
    cli_path(frame, sizeof frame, dir, "leds.frame");
    const char *file_args[] = {"preview", PULSE, "--cpu", "-o", out, "--audio", missing, NULL};
    expect_failure(file_args, missing);
    const char *dir_args[] = {"preview", PULSE, "--cpu", "-o", out, "--audio", dir, NULL};
    expect_failure(dir_args, "is a directory");
    char server[400];
    snprintf(server, sizeof server, "unix:%s/no-pulse-server", dir);
    setenv("PULSE_SERVER", server, 1); /* the child inherits it: no server, at once */
    const char *run_args[] = {"run", PULSE,     "--device", "cpu",     "--frames",
                              "3",   "--frame", frame,      "--audio", "sky-test-no-such-source",
                              NULL};
    expect_failure(run_args, "cannot open audio capture `sky-test-no-such-source`");
    unsetenv("PULSE_SERVER");
}

static void test_run_plays_a_file(void **state) {
    (void)state;
    char frame[320];
    cli_path(frame, sizeof frame, dir, "leds.frame");
    const char *args[] = {"run",        PULSE,      "--device", "cpu",     "--layout",
                          "disc:24x16", "--frames", "30",       "--frame", frame,
                          "--audio",    wav,        NULL};
    char *err = NULL;
    int code = cli_run(dir, args, 300, &err);
    if (code != 0) fail_msg("sky run exited %d: %s", code, err);
    assert_null(strstr(err, "note:"));
    free(err);
}

/* GET /api/state of a run without --audio: "audio" is null; the state as JSON. */
static json_object *state_of(uint16_t port) {
    control_reply reply = control_client_request(port, NULL, "GET", "/api/state", NULL);
    assert_int_equal(reply.status, 200);
    json_object *state = json_tokener_parse(reply.body);
    assert_non_null(state);
    control_reply_free(&reply);
    return state;
}

static void audio_state(const char *audio_arg, bool expect_audio) {
    char frame[320];
    cli_path(frame, sizeof frame, dir, "state.frame");
    const char *args[] = {"run",        PULSE,         "--device", "cpu",     "--layout",
                          "disc:24x16", "--fps",       "30",       "--frame", frame,
                          "--control",  "127.0.0.1:0", "--audio",  audio_arg, NULL};
    if (!expect_audio) args[12] = NULL;
    cli_proc proc;
    cli_spawn(&proc, dir, args);
    uint16_t port = control_wait_port(&proc, "control API on http://127.0.0.1:");
    double end = cli_now() + 120;
    /* Progress, not a guessed delay: poll until the state shows frames (and sound). */
    for (;;) {
        json_object *state = state_of(port), *audio = NULL, *frame_no = NULL;
        assert_true(json_object_object_get_ex(state, "audio", &audio));
        assert_true(json_object_object_get_ex(state, "frame", &frame_no));
        bool done = false;
        if (!expect_audio) {
            assert_null(audio);
            done = json_object_get_int64(frame_no) > 2;
        } else if (audio) {
            json_object *level = NULL, *bands = NULL;
            assert_true(json_object_object_get_ex(audio, "level", &level));
            assert_true(json_object_object_get_ex(audio, "bands", &bands));
            assert_int_equal(json_object_array_length(bands), SKY_AUDIO_BANDS);
            done = json_object_get_double(level) > 0;
        }
        json_object_put(state);
        if (done) break;
        if (cli_now() > end) fail_msg("the state never showed the expected audio");
        cli_sleep_ms(20);
    }
    assert_int_equal(kill(proc.pid, SIGTERM), 0);
    assert_true(cli_wait(&proc, 120));
    assert_int_equal(cli_exit_code(&proc), 0);
}

static void test_state_has_the_levels(void **state) {
    (void)state;
    audio_state(wav, true);
    audio_state(NULL, false);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_preview_is_deterministic),
        cmocka_unit_test(test_render_hears_audio),
        cmocka_unit_test(test_bad_sources),
        cmocka_unit_test(test_run_plays_a_file),
        cmocka_unit_test(test_state_has_the_levels),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
