/*
 * test_cli_show.c - the live show of `sky run` through the real binary, and
 * `sky params`.
 *
 * The show tests (label "gpu") run `sky run` as a child process publishing
 * into a frame file in a scratch directory and read every frame with the
 * frame reader (polling every millisecond against a 10 fps writer). Colours
 * are checked against the CPU evaluator within 2/255, the language's promise.
 *
 *   sighup_keeps   SIGHUP reloads a new version of the pattern: the --set
 *                  value is kept and `t` runs on (green encodes t: it never
 *                  goes back at the switch); a version where the param became
 *                  a vec2 loads with the param's default.
 *   playlist       two patterns with --each 1: both come on the LEDs, each
 *                  frame is one of them as the CPU evaluates it.
 *   playlist_skip  a playlist with a pattern with errors and one over the
 *                  cost budget: both are skipped with a message, the show
 *                  goes on with the good ones.
 *   crossfade      a SIGHUP reload with --crossfade 4: every frame is a blend
 *                  of the two patterns (CPU evaluator), the amount only grows,
 *                  and a frame near the middle is seen.
 *   brightness     --brightness 0.5 halves every byte.
 *   params_*       (no device) `sky params` as text and JSON, and errors.
 *
 * Waits are on progress (frames, log lines); the time limits are safety nets.
 */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "cli_harness.h"
#include "sky/abi.h"
#include "sky/frame.h"
#include "sky/layout.h"
#include "sky/sky.h"

#define SHOW_LAYOUT "grid:8x4"
#define SAFETY_S    120.0 /* a generous bound on anything a loaded machine does */

/* ------------------------------------------------------------ frame reading */

/* Starts `sky run args...` into dir/frame at 10 fps on SHOW_LAYOUT and opens the frame file. */
static void show_start(cli_show *run, const char *dir, const char *const *args) {
    char frame_path[512];
    cli_path(frame_path, sizeof frame_path, dir, "frame");
    const char *argv[32];
    size_t n = 0;
    argv[n++] = "run";
    while (*args && n < 24) argv[n++] = *args++;
    const char *tail[] = {"--frame", frame_path, "--fps", "10", "--layout", SHOW_LAYOUT, NULL};
    for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++) argv[n++] = tail[i];
    memset(run, 0, sizeof *run);
    cli_spawn(&run->proc, dir, argv);
    cli_show_open_frames(run, frame_path);
}

static bool stderr_has(const cli_proc *proc, const char *needle) {
    char *err = cli_slurp(proc->err_path);
    bool found = strstr(err, needle) != NULL;
    free(err);
    return found;
}

/* ------------------------------------------------------------ CPU reference */

/* The bytes of `source` on SHOW_LAYOUT at t = 0, frame 0, its defaults, black prev. */
static uint8_t *cpu_frame(const char *source, size_t *len) {
    sky_program *program = cli_compile(source);
    sky_layout *layout = NULL;
    char error[512];
    assert_int_equal(sky_layout_create(SHOW_LAYOUT, &layout, error, sizeof error), SKY_OK);
    sky_layout_view view = {layout->led_count, layout->strip_count, layout->strip_sizes,
                            layout->xy};
    sky_led_input *inputs = malloc(layout->led_count * sizeof *inputs);
    uint8_t *bytes = malloc((size_t)layout->led_count * 3);
    assert_non_null(inputs);
    assert_non_null(bytes);
    assert_int_equal(sky_led_inputs_build(&view, inputs), SKY_OK);
    sky_frame_inputs fi = {0, 0, 0, NULL};
    assert_int_equal(sky_program_eval(program, &view, inputs, &fi, NULL, NULL, bytes), SKY_OK);
    *len = (size_t)layout->led_count * 3;
    free(inputs);
    sky_layout_free(layout);
    sky_program_free(program);
    return bytes;
}

static bool bytes_close(const uint8_t *a, const uint8_t *b, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (abs((int)a[i] - (int)b[i]) > 2) return false;
    return true;
}

/* ------------------------------------------------------------------ reloads */

/* Red is the param, green is t / 20 s, blue tells the versions apart. */
#define SIGHUP_V1 "param level = 0.5 in 0..1\nout rgb(level, min(t / 20, 1), 0)\n"
#define SIGHUP_V2 \
    "param level = 0.5 in 0..1\nparam extra = 0.5\nout rgb(level, min(t / 20, 1), 1)\n"
/* `level` became a vec2: the --set value no longer fits and the default (0.75) applies. */
#define SIGHUP_V3 "param level = vec2(0.75, 0.25)\nout rgb(level.x, min(t / 20, 1), 0.5)\n"

/* Follows frames until blue is `blue` (the version); every LED alike, green (t) never back. */
static void follow_version(cli_show *run, int blue, uint8_t *green, const char *what) {
    for (double end = cli_now() + SAFETY_S;;) {
        if (cli_now() > end)
            fail_msg("%s: blue %d not seen within %g s:\n%s", what, blue, SAFETY_S,
                     cli_slurp(run->proc.err_path));
        cli_show_next_frame(run, what);
        for (size_t i = 3; i < run->len; i++) /* every LED alike: a frame of one version */
            assert_int_equal(run->pixels[i], run->pixels[i % 3]);
        if (run->pixels[1] < *green)
            fail_msg("%s: t went back at the reload: green %d after %d", what, run->pixels[1],
                     *green);
        *green = run->pixels[1];
        if (run->pixels[2] == blue) return;
    }
}

static void test_show_sighup_keeps_set_and_t(void **state) {
    (void)state;
    char dir[256], pattern[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "live.sky");
    cli_write_file(pattern, SIGHUP_V1);
    cli_show run;
    show_start(&run, dir, (const char *const[]){pattern, "--set", "level=0.25", NULL});
    /* Two seconds of show (green 26 = t 2.04 s), however slowly they come. */
    do cli_show_next_frame(&run, "before the reload");
    while (run.pixels[1] < 26);
    assert_int_equal(run.pixels[0], 64); /* 0.25 * 255 */
    assert_int_equal(run.pixels[2], 0);

    cli_replace_file(pattern, SIGHUP_V2);
    assert_int_equal(kill(run.proc.pid, SIGHUP), 0);
    uint8_t green = run.pixels[1];
    follow_version(&run, 255, &green, "after SIGHUP");
    assert_int_equal(run.pixels[0], 64); /* --set level=0.25 kept */
    assert_true(stderr_has(&run.proc, "SIGHUP"));
    assert_true(stderr_has(&run.proc, "reloaded"));

    cli_replace_file(pattern, SIGHUP_V3);
    assert_int_equal(kill(run.proc.pid, SIGHUP), 0);
    follow_version(&run, 128, &green, "after the second SIGHUP");
    assert_int_equal(run.pixels[0], 191); /* the vec2's default: the float --set does not fit */
    assert_true(stderr_has(&run.proc, "--set level=0.25 does not fit this pattern"));
    cli_show_stop(&run);
    cli_tmpdir_remove(dir);
}

/* ---------------------------------------------------------------- playlists */

#define PLAYLIST_A "out rgb(x * 0.5 + 0.5, 0, 0)\n"
#define PLAYLIST_B "out rgb(0, 0.2, y * 0.5 + 0.5)\n"
/* The pattern: legal, 25,808 per LED, over the build budget. */
#define PLAYLIST_HEAVY "out rgb(sum(i in 0..8, fbm(vec3(x + i, y, t), 8)) / 10, 0, 0)\n"

/*
 * Follows the show until the entries went A, B, A (each frame being one of
 * them as the CPU evaluates it, nothing in between).
 */
static void follow_playlist(cli_show *run, const char *what) {
    size_t len_a = 0, len_b = 0;
    uint8_t *a = cpu_frame(PLAYLIST_A, &len_a);
    uint8_t *b = cpu_frame(PLAYLIST_B, &len_b);
    assert_int_equal(len_a, run->len);
    assert_int_equal(len_b, run->len);
    int seen[3] = {0, 0, 0}; /* which pattern the show went through, in order */
    size_t stage = 0;
    while (stage < 3) {
        cli_show_next_frame(run, what);
        int now = bytes_close(run->pixels, a, run->len)   ? 'A'
                  : bytes_close(run->pixels, b, run->len) ? 'B'
                                                          : 0;
        if (!now)
            fail_msg("%s: frame %llu is neither pattern as the CPU evaluates it (LED 0: %d %d "
                     "%d)",
                     what, (unsigned long long)run->last_frame, run->pixels[0], run->pixels[1],
                     run->pixels[2]);
        if (stage == 0 || seen[stage - 1] != now) seen[stage++] = now;
    }
    assert_int_equal(seen[0], 'A');
    assert_int_equal(seen[1], 'B');
    assert_int_equal(seen[2], 'A');
    free(a);
    free(b);
}

static void test_show_playlist_each(void **state) {
    (void)state;
    char dir[256], a[512], b[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(a, sizeof a, dir, "a.sky");
    cli_path(b, sizeof b, dir, "b.sky");
    cli_write_file(a, PLAYLIST_A);
    cli_write_file(b, PLAYLIST_B);
    cli_show run;
    show_start(&run, dir, (const char *const[]){a, b, "--each", "1", NULL});
    follow_playlist(&run, "playlist");
    assert_true(stderr_has(&run.proc, "playlist: "));
    cli_show_stop(&run);
    cli_tmpdir_remove(dir);
}

static void test_show_playlist_skips_failures(void **state) {
    (void)state;
    char dir[256], a[512], broken[512], heavy[512], b[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(a, sizeof a, dir, "a.sky");
    cli_path(broken, sizeof broken, dir, "broken.sky");
    cli_path(heavy, sizeof heavy, dir, "heavy.sky");
    cli_path(b, sizeof b, dir, "b.sky");
    cli_write_file(a, PLAYLIST_A);
    cli_write_file(broken, "out rgb(nope, 0, 0)\n");
    cli_write_file(heavy, PLAYLIST_HEAVY);
    cli_write_file(b, PLAYLIST_B);
    cli_show run;
    show_start(&run, dir, (const char *const[]){a, broken, b, heavy, "--each", "1", NULL});
    follow_playlist(&run, "playlist with failures");
    char *err = cli_slurp(run.proc.err_path);
    if (!strstr(err, "broken.sky:1:") || !strstr(err, "skipping") || !strstr(err, "heavy.sky") ||
        !strstr(err, "over the budget"))
        fail_msg("the failed entries were not reported:\n%s", err);
    free(err);
    cli_show_stop(&run);
    cli_tmpdir_remove(dir);
}

/* ----------------------------------------------------- crossfade, brightness */

/*
 * A reload with --crossfade 4: every frame is mix(A, B, a) of the two
 * patterns as the CPU evaluates them (a read from green, 0 in A and 1 in B),
 * a grows from 0 to 1, and some frame is near the middle.
 */
#define FADE_A "out rgb(x * 0.5 + 0.5, 0, 0.25)\n"
#define FADE_B "out rgb(0.1, 1, y * 0.5 + 0.5)\n"

static void test_show_crossfade_midpoint(void **state) {
    (void)state;
    char dir[256], pattern[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "live.sky");
    cli_write_file(pattern, FADE_A);
    size_t len = 0;
    uint8_t *a = cpu_frame(FADE_A, &len);
    uint8_t *b = cpu_frame(FADE_B, &len);
    cli_show run;
    show_start(&run, dir, (const char *const[]){pattern, "--crossfade", "4", NULL});
    assert_int_equal(run.len, len);
    do cli_show_next_frame(&run, "before the reload");
    while (!bytes_close(run.pixels, a, len));
    cli_replace_file(pattern, FADE_B);
    assert_int_equal(kill(run.proc.pid, SIGHUP), 0);
    double last_amount = 0;
    bool middle = false;
    for (;;) {
        cli_show_next_frame(&run, "cross-fade");
        double amount = run.pixels[1] / 255.0;
        for (size_t i = 0; i < len; i++) {
            double want = a[i] + (b[i] - a[i]) * amount;
            if (fabs(run.pixels[i] - want) > 3)
                fail_msg("frame %llu, byte %zu: %d, but mix(%d, %d, %.3f) is %.1f",
                         (unsigned long long)run.last_frame, i, run.pixels[i], a[i], b[i], amount,
                         want);
        }
        if (amount + 1.5 / 255 < last_amount)
            fail_msg("the fade went back from %.3f to %.3f", last_amount, amount);
        last_amount = amount;
        middle = middle || (amount >= 0.3 && amount <= 0.7);
        if (run.pixels[1] == 255 && bytes_close(run.pixels, b, len)) break;
    }
    if (!middle) fail_msg("no frame near the middle of a 4 s fade at 10 fps");
    assert_true(stderr_has(&run.proc, "cross-fading over 4 s"));
    cli_show_stop(&run);
    free(a);
    free(b);
    cli_tmpdir_remove(dir);
}

static void test_show_brightness(void **state) {
    (void)state;
    char dir[256], pattern[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "p.sky");
    cli_write_file(pattern, FADE_B);
    size_t len = 0;
    uint8_t *full = cpu_frame(FADE_B, &len);
    cli_show run;
    show_start(&run, dir, (const char *const[]){pattern, "--brightness", "0.5", NULL});
    for (int frames = 0; frames < 3; frames++) {
        cli_show_next_frame(&run, "dimmed");
        for (size_t i = 0; i < len; i++)
            if (fabs(run.pixels[i] - full[i] * 0.5) > 2)
                fail_msg("byte %zu: %d at brightness 0.5, %d at full", i, run.pixels[i], full[i]);
    }
    cli_show_stop(&run);
    free(full);
    cli_tmpdir_remove(dir);
}

/* ------------------------------------------------------------- sky params */

#define PARAMS_SOURCE                                             \
    "# demo.sky - the file's header comment, not a param's doc\n" \
    "param speed = 1.5 in 0..4   # how fast it moves\n"           \
    "# the ring's width,\n"                                       \
    "# in layout units\n"                                         \
    "param width = 0.03 in 0.001..0.2\n"                          \
    "param tint = rgb(1, 0.5, 0) color\n"                         \
    "out rgb(x * speed, width, 0) * tint\n"

/* Runs `sky params args...`; returns the exit code, stdout and stderr in *out and *err. */
static int run_params(const char *dir, const char *const *args, char **out, char **err) {
    const char *argv[8] = {"params"};
    size_t n = 1;
    while (*args && n < 7) argv[n++] = *args++;
    argv[n] = NULL;
    cli_proc proc;
    cli_spawn(&proc, dir, argv);
    assert_true(cli_wait(&proc, SAFETY_S));
    *out = cli_slurp(proc.out_path);
    *err = cli_slurp(proc.err_path);
    return cli_exit_code(&proc);
}

static void test_params_text(void **state) {
    (void)state;
    char dir[256], path[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(path, sizeof path, dir, "demo.sky");
    cli_write_file(path, PARAMS_SOURCE);
    char *out = NULL, *err = NULL;
    int code = run_params(dir, (const char *const[]){path, NULL}, &out, &err);
    if (code != 0) fail_msg("sky params exited with %d:\n%s", code, err);
    const char *want = "name   type   default  range       doc\n"
                       "speed  float  1.5      0..4        how fast it moves\n"
                       "width  float  0.03     0.001..0.2  the ring's width, in layout units\n"
                       "tint   vec3   1,0.5,0  color       \n";
    if (strcmp(out, want) != 0) fail_msg("sky params printed:\n%s\nwanted:\n%s", out, want);
    free(out);
    free(err);
    cli_tmpdir_remove(dir);
}

static void test_params_json(void **state) {
    (void)state;
    char dir[256], path[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(path, sizeof path, dir, "demo.sky");
    cli_write_file(path, PARAMS_SOURCE);
    char *out = NULL, *err = NULL;
    int code = run_params(dir, (const char *const[]){path, "--json", NULL}, &out, &err);
    if (code != 0) fail_msg("sky params --json exited with %d:\n%s", code, err);
    json_object *root = json_tokener_parse(out);
    if (!root) fail_msg("not JSON:\n%s", out);
    json_object *params = NULL, *file = NULL;
    assert_true(json_object_object_get_ex(root, "params", &params));
    assert_true(json_object_object_get_ex(root, "file", &file));
    assert_string_equal(json_object_get_string(file), path);
    assert_int_equal(json_object_array_length(params), 3);

    json_object *speed = json_object_array_get_idx(params, 0), *v = NULL;
    assert_true(json_object_object_get_ex(speed, "name", &v));
    assert_string_equal(json_object_get_string(v), "speed");
    assert_true(json_object_object_get_ex(speed, "type", &v));
    assert_string_equal(json_object_get_string(v), "float");
    assert_true(json_object_object_get_ex(speed, "default", &v));
    assert_true(json_object_get_double(v) == 1.5);
    assert_true(json_object_object_get_ex(speed, "min", &v));
    assert_true(json_object_get_double(v) == 0);
    assert_true(json_object_object_get_ex(speed, "max", &v));
    assert_true(json_object_get_double(v) == 4);
    assert_true(json_object_object_get_ex(speed, "doc", &v));
    assert_string_equal(json_object_get_string(v), "how fast it moves");

    json_object *width = json_object_array_get_idx(params, 1);
    assert_true(json_object_object_get_ex(width, "doc", &v));
    assert_string_equal(json_object_get_string(v), "the ring's width, in layout units");
    assert_non_null(strstr(out, "0.03,")); /* as written, not 0.029999999999999999 */

    json_object *tint = json_object_array_get_idx(params, 2);
    assert_true(json_object_object_get_ex(tint, "type", &v));
    assert_string_equal(json_object_get_string(v), "vec3");
    assert_true(json_object_object_get_ex(tint, "default", &v));
    assert_int_equal(json_object_array_length(v), 3);
    assert_true(json_object_get_double(json_object_array_get_idx(v, 1)) == 0.5);
    assert_true(json_object_object_get_ex(tint, "min", &v));
    assert_null(v); /* JSON null: no range */
    assert_true(json_object_object_get_ex(tint, "doc", &v));
    assert_string_equal(json_object_get_string(v), "");
    assert_true(json_object_object_get_ex(tint, "color", &v));
    assert_true(json_object_get_boolean(v)); /* declared `color` */
    assert_true(json_object_object_get_ex(speed, "color", &v));
    assert_false(json_object_get_boolean(v));
    json_object_put(root);
    free(out);
    free(err);
    cli_tmpdir_remove(dir);
}

static void test_params_errors(void **state) {
    (void)state;
    char dir[256], path[512], missing[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(path, sizeof path, dir, "broken.sky");
    cli_path(missing, sizeof missing, dir, "missing.sky");
    cli_write_file(path, "param speed = 1\nout rgb(sped, 0, 0)\n");
    char *out = NULL, *err = NULL;
    int code = run_params(dir, (const char *const[]){path, "--json", NULL}, &out, &err);
    if (code != 1 || !strstr(err, "broken.sky:2:") || !strstr(err, "did you mean `speed`?"))
        fail_msg("sky params on a file with errors exited with %d:\n%s", code, err);
    assert_string_equal(out, ""); /* no half JSON */
    free(out);
    free(err);
    code = run_params(dir, (const char *const[]){missing, NULL}, &out, &err);
    if (code != 2 || !strstr(err, "missing.sky"))
        fail_msg("sky params on a missing file exited with %d:\n%s", code, err);
    free(out);
    free(err);
    cli_write_file(path, "out x\n");
    code = run_params(dir, (const char *const[]){path, NULL}, &out, &err);
    assert_int_equal(code, 0);
    assert_non_null(strstr(out, "has no params"));
    free(out);
    free(err);
    cli_tmpdir_remove(dir);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_show_sighup_keeps_set_and_t, cli_kill_children),
        cmocka_unit_test_teardown(test_show_playlist_each, cli_kill_children),
        cmocka_unit_test_teardown(test_show_playlist_skips_failures, cli_kill_children),
        cmocka_unit_test_teardown(test_show_crossfade_midpoint, cli_kill_children),
        cmocka_unit_test_teardown(test_show_brightness, cli_kill_children),
        cmocka_unit_test_teardown(test_params_text, cli_kill_children),
        cmocka_unit_test_teardown(test_params_json, cli_kill_children),
        cmocka_unit_test_teardown(test_params_errors, cli_kill_children),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]); /* test_show_* (gpu) or test_params_* */
    return cmocka_run_group_tests_name("cli_show", tests, NULL, NULL);
}
