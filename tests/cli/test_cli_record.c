/*
 * test_cli_record.c - `sky record` against a live `sky run` (label "gpu":
 * it renders through Vulkan, lavapipe here).
 *
 * The pattern's colours are exact bytes computed from `frame` and `index`
 * (record.sky below), so every recorded frame can be checked against the
 * frame number the recorder says it started at: a skipped, repeated or torn
 * frame fails. Recordings are read by the independent FSEQ reader of
 * tests/record/fseq_independent.h, not by libskyrecord.
 *
 *   record_10000 (label "slow"): 10,000 frames at 60 fps (about three
 *     minutes) while two busy loops (`yes`) compete for the CPUs: every frame
 *     in the file, exact, exit 0.
 *   starved: the recorder is stopped (SIGSTOP) until the writer has lapped
 *     it in a 3-slot frame file: the losses are reported, each lost frame
 *     holds the one before, and the exit status is 1.
 *
 * `sky render` (--cpu, and through the device: label "gpu"): the frames are
 * the pattern's at t = k / fps, frame k, exactly.
 *
 * `sky play` (no device needed): files made by the independent writer (laid
 * out as xLights does, and uncompressed) and a recording made by `sky
 * record` are played while `sky record` records them again; what comes back
 * is byte-identical. A recording whose channel count is not the layout's
 * LEDs x 3, and a corrupt one, are refused with messages that say so.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_harness.h"
#include "fseq_independent.h"
#include "sky/frame.h"

extern char **environ;

#define LEDS 64u
/* frame counts from 0 while the frame file numbers from 1 (docs/language.md, frame-format.md). */
static const char *pattern_source =
    "# exact bytes from the frame number and the LED's index\n"
    "out vec3(frame % 256 / 255, index % 256 / 255, (frame + index * 3) % 256 / 255)\n";

static void expected_frame(uint8_t *dst, uint64_t file_frame) {
    uint64_t k = file_frame - 1; /* the pattern's `frame` */
    for (uint32_t j = 0; j < LEDS; j++) {
        dst[3 * j] = (uint8_t)(k % 256);
        dst[3 * j + 1] = (uint8_t)(j % 256);
        dst[3 * j + 2] = (uint8_t)((k + 3 * j) % 256);
    }
}

static pid_t busy[2];

static void busy_start(void) {
    posix_spawn_file_actions_t actions;
    assert_int_equal(posix_spawn_file_actions_init(&actions), 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    char *argv[] = {"yes", NULL};
    for (int i = 0; i < 2; i++)
        assert_int_equal(posix_spawnp(&busy[i], "yes", &actions, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&actions);
}

static int busy_stop(void **state) {
    for (int i = 0; i < 2; i++)
        if (busy[i] > 0) {
            kill(busy[i], SIGKILL);
            waitpid(busy[i], NULL, 0);
            busy[i] = 0;
        }
    return cli_kill_children(state);
}

/* Waits until the process's stderr contains `needle` (or it exits): false on exit. */
static bool wait_for_text(cli_proc *p, const char *needle, double timeout_s) {
    double end = cli_now() + timeout_s;
    while (cli_now() < end) {
        char *text = cli_slurp(p->err_path);
        bool found = strstr(text, needle) != NULL;
        free(text);
        if (found) return true;
        if (!cli_alive(p)) return false;
        cli_sleep_ms(20);
    }
    fail_msg("no `%s` from pid %d in %g s", needle, (int)p->pid, timeout_s);
    return false;
}

/* The frame file's number of the first recorded frame, from the recorder's start line. */
static uint64_t first_recorded(const char *err_text) {
    const char *at = strstr(err_text, "recording from frame ");
    assert_non_null(at);
    return strtoull(at + strlen("recording from frame "), NULL, 10);
}

static uint8_t *slurp_bytes(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return buf;
}

typedef struct setup_paths {
    char dir[256], pattern[512], frame[512], out[512];
} setup_paths;

static void paths_make(setup_paths *s) {
    cli_tmpdir(s->dir, sizeof s->dir);
    cli_path(s->pattern, sizeof s->pattern, s->dir, "record.sky");
    cli_path(s->frame, sizeof s->frame, s->dir, "show.frame");
    cli_path(s->out, sizeof s->out, s->dir, "show.fseq");
    cli_write_file(s->pattern, pattern_source);
}

static void start_show(cli_proc *run, const setup_paths *s, const char *slots) {
    const char *args[] = {"run",     s->pattern, "--layout", "strip:64", "--fps", "60",
                          "--slots", slots,      "--frame",  s->frame,   NULL};
    cli_spawn(run, s->dir, args);
}

static void stop_show(cli_proc *run) {
    kill(run->pid, SIGTERM);
    assert_true(cli_wait(run, 120));
}

static void test_record_10000(void **state) {
    (void)state;
    setup_paths s;
    paths_make(&s);
    busy_start();
    cli_proc run, rec;
    start_show(&run, &s, "32");
    const char *args[] = {"record", "-o", s.out, "--frame", s.frame, "--frames", "10000", NULL};
    cli_spawn(&rec, s.dir, args);
    /* 10,000 frames at 60 fps take 167 s; the limit is a safety net for a loaded machine. */
    assert_true(cli_wait(&rec, 1800));
    char *err = cli_slurp(rec.err_path);
    if (cli_exit_code(&rec) != 0) fail_msg("sky record exited %d:\n%s", cli_exit_code(&rec), err);
    assert_non_null(strstr(err, "lost 0 "));
    uint64_t first = first_recorded(err);
    stop_show(&run);
    size_t size = 0;
    uint8_t *bytes = slurp_bytes(s.out, &size);
    ind_fseq f = ind_read(bytes, size);
    assert_int_equal(f.frames, 10000);
    assert_int_equal(f.channels, LEDS * 3);
    assert_int_equal(f.step_ms, 17);
    uint8_t want[LEDS * 3];
    for (uint32_t i = 0; i < f.frames; i++) {
        expected_frame(want, first + i);
        if (memcmp(f.data + (size_t)i * LEDS * 3, want, sizeof want) != 0)
            fail_msg("recorded frame %u (frame file %llu) differs from the pattern", i,
                     (unsigned long long)(first + i));
    }
    free(f.data);
    free(bytes);
    free(err);
    cli_tmpdir_remove(s.dir);
}

static uint64_t newest_frame(sky_frame_reader *r) {
    uint64_t n = 0;
    char error[256];
    assert_int_equal(sky_frame_reader_newest(r, &n, error, sizeof error), SKY_OK);
    return n;
}

static void test_starved(void **state) {
    (void)state;
    setup_paths s;
    paths_make(&s);
    cli_proc run, rec;
    start_show(&run, &s, "3");
    const char *args[] = {"record", "-o", s.out, "--frame", s.frame, "--frames", "600", NULL};
    cli_spawn(&rec, s.dir, args);
    assert_true(wait_for_text(&rec, "recording from frame", 300));
    sky_frame_reader *reader = NULL;
    char error[256];
    assert_int_equal(sky_frame_reader_open(s.frame, &reader, error, sizeof error), SKY_OK);
    /* Stopped while the writer publishes 20 frames: lapped in a 3-slot ring, whatever the load. */
    assert_int_equal(kill(rec.pid, SIGSTOP), 0);
    uint64_t at_stop = newest_frame(reader);
    double end = cli_now() + 300;
    while (newest_frame(reader) < at_stop + 20 && cli_now() < end) cli_sleep_ms(10);
    assert_true(newest_frame(reader) >= at_stop + 20);
    assert_int_equal(kill(rec.pid, SIGCONT), 0);
    assert_true(cli_wait(&rec, 600));
    sky_frame_reader_free(reader);
    stop_show(&run);
    char *err = cli_slurp(rec.err_path);
    assert_int_equal(cli_exit_code(&rec), 1);
    assert_non_null(strstr(err, "LOST "));
    assert_non_null(strstr(err, "lapped them in the frame file"));
    assert_non_null(strstr(err, "the recording is incomplete"));
    const char *lost_at = strstr(err, "; lost ");
    assert_non_null(lost_at);
    uint64_t lost = strtoull(lost_at + strlen("; lost "), NULL, 10);
    assert_true(lost >= 17); /* at least the 20 published while stopped, less the 3 slots */
    /* Every frame is the pattern's, or (lost) a copy of the frame before: as many as reported. */
    uint64_t first = first_recorded(err);
    size_t size = 0;
    uint8_t *bytes = slurp_bytes(s.out, &size);
    ind_fseq f = ind_read(bytes, size);
    assert_int_equal(f.frames, 600);
    uint8_t want[LEDS * 3];
    uint64_t held = 0;
    for (uint32_t i = 0; i < f.frames; i++) {
        const uint8_t *got = f.data + (size_t)i * LEDS * 3;
        expected_frame(want, first + i);
        if (memcmp(got, want, sizeof want) == 0) continue;
        if (i == 0 || memcmp(got, got - LEDS * 3, sizeof want) != 0)
            fail_msg("frame %u is neither the pattern's nor a held copy", i);
        held++;
    }
    assert_int_equal(held, lost);
    free(f.data);
    free(bytes);
    free(err);
    cli_tmpdir_remove(s.dir);
}

/* ---------------------------------------------------------------- sky play */

#define PLAY_LEDS   50u
#define PLAY_FRAMES 150u

static void play_pattern(uint8_t *dst, uint32_t frame) {
    for (uint32_t c = 0; c < PLAY_LEDS * 3; c++)
        dst[c] = (uint8_t)(frame * 5u + c * 11u + (frame >> 8) * 3u);
}

static void write_bytes(const char *path, const uint8_t *bytes, size_t size) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
}

/*
 * Plays `file` (extra args after it) while recording it into `out`; returns
 * the recording read by the independent reader, and the index in `file` of
 * its first frame (the recorder attaches while the player runs).
 */
static ind_fseq play_and_record(const char *dir, const char *file, const char *layout,
                                const char *out, uint32_t *first_index) {
    char frame[512];
    cli_path(frame, sizeof frame, dir, "play.frame");
    unlink(frame);
    cli_proc rec, play;
    const char *rec_args[] = {"record", "-o", out, "--frame", frame, NULL};
    cli_spawn(&rec, dir, rec_args);
    assert_true(wait_for_text(&rec, "waiting for", 120));
    const char *play_args[] = {
        "play", file, "--frame", frame, "--slots", "64", layout ? "--layout" : NULL, layout, NULL};
    cli_spawn(&play, dir, play_args);
    assert_true(cli_wait(&play, 600));
    char *play_err = cli_slurp(play.err_path);
    if (cli_exit_code(&play) != 0)
        fail_msg("sky play exited %d:\n%s", cli_exit_code(&play), play_err);
    /* The recorder ends by itself once the player's lock is gone. */
    assert_true(cli_wait(&rec, 600));
    char *err = cli_slurp(rec.err_path);
    if (cli_exit_code(&rec) != 0) fail_msg("sky record exited %d:\n%s", cli_exit_code(&rec), err);
    assert_non_null(strstr(err, "writer exited"));
    *first_index = (uint32_t)(first_recorded(err) - 1); /* frame file numbers from 1 */
    free(err);
    free(play_err);
    size_t size = 0;
    uint8_t *bytes = slurp_bytes(out, &size);
    ind_fseq f = ind_read(bytes, size);
    free(bytes);
    return f;
}

static void expect_same_frames(const ind_fseq *got, uint32_t first, const uint8_t *source,
                               uint32_t source_frames, uint32_t channels) {
    assert_int_equal(got->channels, channels);
    assert_int_equal(got->frames, source_frames - first);
    for (uint32_t i = 0; i < got->frames; i++)
        if (memcmp(got->data + (size_t)i * channels, source + (size_t)(first + i) * channels,
                   channels) != 0)
            fail_msg("played frame %u differs from the file's frame %u", i, first + i);
}

static void test_play_byte_identical(void **state) {
    (void)state;
    char dir[256], a[512], b[512], c[512], u[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(a, sizeof a, dir, "xlights.fseq");
    cli_path(b, sizeof b, dir, "recorded.fseq");
    cli_path(c, sizeof c, dir, "again.fseq");
    cli_path(u, sizeof u, dir, "plain.fseq");
    uint32_t channels = PLAY_LEDS * 3;
    uint8_t *frames = malloc((size_t)PLAY_FRAMES * channels);
    for (uint32_t f = 0; f < PLAY_FRAMES; f++) play_pattern(frames + (size_t)f * channels, f);
    size_t size = 0;
    uint8_t *file = ind_write(frames, channels, PLAY_FRAMES, 20, 1, &size);
    write_bytes(a, file, size);
    free(file);
    file = ind_write(frames, channels, PLAY_FRAMES, 20, 0, &size);
    write_bytes(u, file, size);
    free(file);

    /* Made by others (xLights' layout), zstd: the layout from the command line. */
    uint32_t first = 0;
    ind_fseq got = play_and_record(dir, a, "strip:50", b, &first);
    expect_same_frames(&got, first, frames, PLAY_FRAMES, channels);
    assert_int_equal(got.step_ms, 20);
    /* Made by sky record: its layout comes from the file; played back, the same bytes. */
    uint32_t first2 = 0;
    ind_fseq again = play_and_record(dir, b, NULL, c, &first2);
    expect_same_frames(&again, first2, got.data, got.frames, channels);
    free(again.data);
    free(got.data);
    /* Uncompressed v2. */
    got = play_and_record(dir, u, "strip:50", c, &first);
    expect_same_frames(&got, first, frames, PLAY_FRAMES, channels);
    free(got.data);
    free(frames);
    cli_tmpdir_remove(dir);
}

/* A frame file whose writer exited is not recorded: the recorder waits for the next writer. */
static void test_play_record_waits_for_live_writer(void **state) {
    (void)state;
    char dir[256], a[512], out[512], frame[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(a, sizeof a, dir, "show.fseq");
    cli_path(out, sizeof out, dir, "rec.fseq");
    cli_path(frame, sizeof frame, dir, "play.frame");
    uint32_t channels = PLAY_LEDS * 3;
    uint8_t *frames = malloc((size_t)PLAY_FRAMES * channels);
    for (uint32_t f = 0; f < PLAY_FRAMES; f++) play_pattern(frames + (size_t)f * channels, f);
    size_t size = 0;
    uint8_t *file = ind_write(frames, channels, PLAY_FRAMES, 20, 1, &size);
    write_bytes(a, file, size);
    free(file);
    const char *play_args[] = {"play", a, "--frame", frame, "--layout", "strip:50", NULL};
    char *err = NULL;
    assert_int_equal(cli_run(dir, play_args, 600, &err), 0); /* leaves its frame file */
    free(err);
    cli_proc rec, play;
    const char *rec_args[] = {"record", "-o", out, "--frame", frame, "--frames", "40", NULL};
    cli_spawn(&rec, dir, rec_args);
    assert_true(wait_for_text(&rec, "its writer is gone; waiting for a new one", 120));
    const char *slow_args[] = {"play",     a,         "--frame", frame,    "--layout",
                               "strip:50", "--slots", "64",      "--loop", NULL};
    cli_spawn(&play, dir, slow_args);
    assert_true(cli_wait(&rec, 600));
    kill(play.pid, SIGTERM);
    assert_true(cli_wait(&play, 120));
    err = cli_slurp(rec.err_path);
    if (cli_exit_code(&rec) != 0) fail_msg("sky record exited %d:\n%s", cli_exit_code(&rec), err);
    /* Frames of the second player only: frame file numbers restart at 1 with it. */
    uint64_t first = first_recorded(err);
    size = 0;
    uint8_t *bytes = slurp_bytes(out, &size);
    ind_fseq got = ind_read(bytes, size);
    assert_int_equal(got.frames, 40);
    for (uint32_t i = 0; i < got.frames; i++) {
        uint32_t index = (uint32_t)((first - 1 + i) % PLAY_FRAMES);
        if (memcmp(got.data + (size_t)i * channels, frames + (size_t)index * channels, channels) !=
            0)
            fail_msg("recorded frame %u is not the new player's frame %u", i, index);
    }
    free(got.data);
    free(bytes);
    free(err);
    free(frames);
    cli_tmpdir_remove(dir);
}

static void test_play_refuses(void **state) {
    (void)state;
    char dir[256], a[512], frame[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(a, sizeof a, dir, "show.fseq");
    cli_path(frame, sizeof frame, dir, "never.frame");
    uint8_t frames[PLAY_LEDS * 3 * 4] = {0};
    size_t size = 0;
    uint8_t *file = ind_write(frames, PLAY_LEDS * 3, 4, 25, 1, &size);
    write_bytes(a, file, size);
    char *err = NULL;
    const char *wrong[] = {"play", a, "--layout", "strip:60", "--frame", frame, NULL};
    assert_int_equal(cli_run(dir, wrong, 120, &err), 2);
    assert_non_null(strstr(err, "has 150 channels per frame, but the layout strip:60 has 60 LEDs"));
    free(err);
    file[7] = 1; /* major version */
    write_bytes(a, file, size);
    const char *bad[] = {"play", a, "--layout", "strip:50", "--frame", frame, NULL};
    assert_int_equal(cli_run(dir, bad, 120, &err), 2);
    assert_non_null(strstr(err, "offset 7 (major version): 1"));
    free(err);
    assert_int_equal(access(frame, F_OK), -1); /* refused before the frame file is touched */
    free(file);
    cli_tmpdir_remove(dir);
}

/* ---------------------------------------------------------------- sky render */

static void render_and_check(const char *device_arg) {
    setup_paths s;
    paths_make(&s);
    const char *args[] = {"render",   s.pattern, "-o",    s.out, "--layout", "strip:64",
                          "--frames", "700",     "--fps", "40",  device_arg, NULL};
    char *err = NULL;
    int code = cli_run(s.dir, args, 600, &err);
    if (code != 0) fail_msg("sky render exited %d:\n%s", code, err);
    assert_non_null(strstr(err, "700 frames (17.5 s at 40 fps)"));
    size_t size = 0;
    uint8_t *bytes = slurp_bytes(s.out, &size);
    ind_fseq f = ind_read(bytes, size);
    assert_int_equal(f.frames, 700);
    assert_int_equal(f.step_ms, 25);
    uint8_t want[LEDS * 3];
    for (uint32_t k = 0; k < f.frames; k++) {
        expected_frame(want, k + 1);
        if (memcmp(f.data + (size_t)k * LEDS * 3, want, sizeof want) != 0)
            fail_msg("rendered frame %u differs from the pattern", k);
    }
    free(f.data);
    free(bytes);
    free(err);
    cli_tmpdir_remove(s.dir);
}

static void test_render_cpu(void **state) {
    (void)state;
    render_and_check("--cpu");
}

static void test_render_gpu(void **state) {
    (void)state;
    render_and_check(NULL);
}

int main(int argc, char **argv) {
    const struct CMUnitTest all[] = {
        cmocka_unit_test_teardown(test_starved, busy_stop),
        cmocka_unit_test_teardown(test_record_10000, busy_stop),
        cmocka_unit_test_teardown(test_play_byte_identical, busy_stop),
        cmocka_unit_test_teardown(test_play_refuses, busy_stop),
        cmocka_unit_test_teardown(test_play_record_waits_for_live_writer, busy_stop),
        cmocka_unit_test_teardown(test_render_cpu, busy_stop),
        cmocka_unit_test_teardown(test_render_gpu, busy_stop),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(all, NULL, NULL);
}
