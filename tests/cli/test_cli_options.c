/*
 * test_cli_options.c - what `sky run` and `sky preview` do with their options
 * before any frame is drawn, and that bad input gets a clear message and the
 * documented exit status (1 pattern errors, 2 usage or system errors):
 * --set clamping (checked in the rendered colours), vector params, unknown
 * params with did-you-mean, malformed --set, bad layouts, compile errors,
 * missing files and usage errors; and `preview --term` output. Needs no
 * Vulkan device: rendering goes through `preview --cpu`, and every `sky run`
 * here fails before the device.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <png.h>

#include "cli_harness.h"

typedef struct fixture {
    char dir[256];
    char pattern[512]; /* level.sky: a ranged float param and a vec3 param */
    char png[512];
    char frame[512];
} fixture;

static const char level_source[] = "# two params\n"
                                   "param level = 0.5 in 0..0.8\n"
                                   "param tint = rgb(1, 1, 1)\n"
                                   "out tint * level\n";

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    cli_tmpdir(f->dir, sizeof f->dir);
    cli_path(f->pattern, sizeof f->pattern, f->dir, "level.sky");
    cli_path(f->png, sizeof f->png, f->dir, "out.png");
    cli_path(f->frame, sizeof f->frame, f->dir, "frame");
    cli_write_file(f->pattern, level_source);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    cli_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

/* The colour at the middle of a one-LED image: the LED's centre. */
static void png_centre(const char *path, uint8_t rgb[3]) {
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&png, path)) fail_msg("%s: %s", path, png.message);
    png.format = PNG_FORMAT_RGB;
    uint8_t *pixels = malloc(PNG_IMAGE_SIZE(png));
    assert_non_null(pixels);
    assert_true(png_image_finish_read(&png, NULL, pixels, 0, NULL));
    size_t centre = (size_t)(png.height / 2) * png.width + png.width / 2;
    memcpy(rgb, pixels + 3 * centre, 3);
    free(pixels);
}

static bool contains(const char *text, const char *needle) {
    if (!strstr(text, needle)) {
        print_error("expected `%s` in:\n%s\n", needle, text);
        return false;
    }
    return true;
}

/* A value past the range is clamped, with a note, and the clamped value is what renders. */
static void test_set_clamps(void **state) {
    fixture *f = *state;
    char *err = NULL;
    int code = cli_run(f->dir,
                       (const char *const[]){"preview", f->pattern, "--cpu", "--layout", "strip:1",
                                             "--set", "level=3", "-o", f->png, NULL},
                       60, &err);
    assert_int_equal(code, 0);
    assert_true(contains(err, "clamped to 0.8"));
    uint8_t rgb[3];
    png_centre(f->png, rgb);
    for (int c = 0; c < 3; c++) assert_int_equal(rgb[c], 204); /* floor(0.8 * 255 + 0.5) */
    free(err);

    code = cli_run(f->dir,
                   (const char *const[]){"preview", f->pattern, "--cpu", "--layout", "strip:1",
                                         "--set=level=-1", "-o", f->png, NULL},
                   60, &err);
    assert_int_equal(code, 0);
    assert_true(contains(err, "clamped to 0"));
    png_centre(f->png, rgb);
    for (int c = 0; c < 3; c++) assert_int_equal(rgb[c], 0);
    free(err);
}

static void test_set_vector(void **state) {
    fixture *f = *state;
    char *err = NULL;
    int code = cli_run(f->dir,
                       (const char *const[]){"preview", f->pattern, "--cpu", "--layout", "strip:1",
                                             "--set", "tint=0,1,0.5", "--set", "level=0.8", "-o",
                                             f->png, NULL},
                       60, &err);
    assert_int_equal(code, 0);
    assert_null(strstr(err, "clamped"));
    uint8_t rgb[3];
    png_centre(f->png, rgb);
    assert_int_equal(rgb[0], 0);
    assert_int_equal(rgb[1], 204);
    assert_int_equal(rgb[2], 102);
    free(err);

    /* Two components for a vec3 param. */
    code = cli_run(f->dir,
                   (const char *const[]){"preview", f->pattern, "--cpu", "--set", "tint=1,2", "-o",
                                         f->png, NULL},
                   60, &err);
    assert_int_equal(code, 2);
    assert_true(contains(err, "tint"));
    assert_true(contains(err, "3 components"));
    free(err);
    /* Not a number. */
    code = cli_run(f->dir,
                   (const char *const[]){"preview", f->pattern, "--cpu", "--set", "level=lots",
                                         "-o", f->png, NULL},
                   60, &err);
    assert_int_equal(code, 2);
    assert_true(contains(err, "not a number"));
    free(err);
}

/* Unknown params are errors with a did-you-mean hint, in both commands, before any device. */
static void test_set_unknown(void **state) {
    fixture *f = *state;
    char *err = NULL;
    int code = cli_run(
        f->dir,
        (const char *const[]){"run", f->pattern, "--frame", f->frame, "--set", "levle=0.3", NULL},
        60, &err);
    assert_int_equal(code, 2);
    assert_true(contains(err, "no param called `levle`"));
    assert_true(contains(err, "did you mean `level`?"));
    free(err);
    struct stat st;
    assert_int_not_equal(stat(f->frame, &st), 0); /* the frame file was not touched */

    code = cli_run(f->dir,
                   (const char *const[]){"preview", f->pattern, "--cpu", "--set", "speed=2", "-o",
                                         f->png, NULL},
                   60, &err);
    assert_int_equal(code, 2);
    assert_true(contains(err, "no param called `speed`"));
    assert_true(contains(err, "level")); /* lists what there is */
    free(err);

    code =
        cli_run(f->dir, (const char *const[]){"run", f->pattern, "--set", "level", NULL}, 60, &err);
    assert_int_equal(code, 2);
    assert_true(contains(err, "NAME=VALUE"));
    free(err);
}

static void test_bad_layout(void **state) {
    fixture *f = *state;
    const char *bad[] = {"hexagon:3", "disc:0x5", "grid:4", "strip:-2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *err = NULL;
        int code = cli_run(
            f->dir,
            (const char *const[]){"run", f->pattern, "--frame", f->frame, "--layout", bad[i], NULL},
            60, &err);
        assert_int_equal(code, 2);
        char want[64];
        snprintf(want, sizeof want, "--layout `%s`", bad[i]);
        assert_true(contains(err, want));
        free(err);
        code = cli_run(f->dir,
                       (const char *const[]){"preview", f->pattern, "--cpu", "--layout", bad[i],
                                             "-o", f->png, NULL},
                       60, &err);
        assert_int_equal(code, 2);
        assert_true(contains(err, want));
        free(err);
    }
}

/* Compile errors: exit 1 with the diagnostic naming file:line:col, from both commands. */
static void test_compile_error(void **state) {
    fixture *f = *state;
    char bad[512];
    cli_path(bad, sizeof bad, f->dir, "bad.sky");
    cli_write_file(bad, "param speed = 1\nout sin(tt * speed)\n");
    char *err = NULL;
    int code =
        cli_run(f->dir, (const char *const[]){"run", bad, "--frame", f->frame, NULL}, 60, &err);
    assert_int_equal(code, 1);
    assert_true(contains(err, "bad.sky:2:9"));
    assert_true(contains(err, "tt"));
    free(err);
    code = cli_run(f->dir, (const char *const[]){"preview", bad, "--cpu", "-o", f->png, NULL}, 60,
                   &err);
    assert_int_equal(code, 1);
    assert_true(contains(err, "bad.sky:2:9"));
    free(err);
}

/* Warnings: shown with file:line:col, and the pattern still checks, compiles and renders. */
static void test_warnings(void **state) {
    fixture *f = *state;
    char path[512];
    cli_path(path, sizeof path, f->dir, "unused.sky");
    cli_write_file(path, "param speed = 1 in 0..4\nlet _spare = 2\nout hsv(t * 0.1, 1, 1)\n");
    cli_proc proc;
    cli_spawn(&proc, f->dir, (const char *const[]){"check", path, NULL});
    assert_true(cli_wait(&proc, 60));
    char *out = cli_slurp(proc.out_path), *err = cli_slurp(proc.err_path);
    unlink(proc.out_path);
    unlink(proc.err_path);
    assert_int_equal(cli_exit_code(&proc), 0);
    assert_true(contains(out, "unused.sky: ok, 1 warning\n"));
    assert_true(contains(err, "unused.sky:1:7: warning[W0301]: param `speed` is never used"));
    assert_false(contains(err, "_spare"));
    free(out);
    free(err);
    int code = cli_run(f->dir, (const char *const[]){"preview", path, "--cpu", "-o", f->png, NULL},
                       60, &err);
    assert_int_equal(code, 0);
    assert_true(contains(err, "warning[W0301]"));
    free(err);
}

static void expect_usage_error(fixture *f, const char *const *args, const char *needle) {
    char *err = NULL;
    int code = cli_run(f->dir, args, 60, &err);
    if (code != 2) fail_msg("`sky %s ...` exited with %d, not 2:\n%s", args[0], code, err);
    assert_true(contains(err, needle));
    free(err);
}

static void test_usage_errors(void **state) {
    fixture *f = *state;
    char missing[512];
    cli_path(missing, sizeof missing, f->dir, "nope.sky");
    expect_usage_error(f, (const char *const[]){"run", NULL}, "which pattern");
    expect_usage_error(f, (const char *const[]){"run", f->pattern, "--bogus", NULL}, "--bogus");
    expect_usage_error(f, (const char *const[]){"run", f->pattern, "--fps", "fast", NULL},
                       "not a number");
    expect_usage_error(f, (const char *const[]){"run", f->pattern, "--fps", "-3", NULL},
                       "out of range");
    expect_usage_error(f, (const char *const[]){"run", f->pattern, "--frames", "0", NULL},
                       "out of range");
    expect_usage_error(f, (const char *const[]){"run", f->pattern, "--frame", NULL},
                       "needs a value");
    expect_usage_error(f, (const char *const[]){"run", f->pattern, "--frame", "", NULL},
                       "--frame needs a path, not an empty string");
    expect_usage_error(f, (const char *const[]){"run", missing, NULL}, "nope.sky");
    expect_usage_error(f, (const char *const[]){"run", "-", "--watch", NULL}, "--watch");
    expect_usage_error(f, (const char *const[]){"preview", f->pattern, NULL}, "-o");
    expect_usage_error(f, (const char *const[]){"preview", f->pattern, "-o", "x.jpg", NULL},
                       ".png, .gif, .mp4 or .webm");
    expect_usage_error(
        f, (const char *const[]){"preview", f->pattern, "--term", "-o", f->png, NULL}, "either");
    expect_usage_error(f, (const char *const[]){"preview", missing, "-o", f->png, NULL},
                       "nope.sky");
    expect_usage_error(
        f, (const char *const[]){"preview", f->pattern, "--size", "3", "-o", f->png, NULL},
        "out of range");
    char unwritable[600];
    snprintf(unwritable, sizeof unwritable, "%s/no/such/dir/x.png", f->dir);
    expect_usage_error(
        f, (const char *const[]){"preview", f->pattern, "--cpu", "-o", unwritable, NULL}, "x.png");
    /* --help is not an error. */
    char *err = NULL;
    assert_int_equal(cli_run(f->dir, (const char *const[]){"run", "--help", NULL}, 60, &err), 0);
    free(err);
    assert_int_equal(cli_run(f->dir, (const char *const[]){"preview", "--help", NULL}, 60, &err),
                     0);
    free(err);
}

/* Runs `sky args...`, which must exit 0 having written f->png. */
static void expect_png(fixture *f, const char *const *args) {
    char *err = NULL;
    remove(f->png);
    int code = cli_run(f->dir, args, 60, &err);
    if (code != 0) fail_msg("`sky %s %s ...` exited with %d:\n%s", args[0], args[1], code, err);
    struct stat st;
    assert_int_equal(stat(f->png, &st), 0);
    free(err);
}

/*
 * Every subcommand parses with getopt_long: `--opt=VALUE`, options after the
 * file, `--` before a file, unique abbreviations, and errors that name the
 * option (unknown, ambiguous, missing value, a value given to a switch),
 * exit status 2. `--rate` is `--fps` (sky-driver's name); `--stats [S]` takes
 * an optional interval and never takes the pattern file for it.
 */
static void test_getopt_forms(void **state) {
    fixture *f = *state;
    char missing[512];
    cli_path(missing, sizeof missing, f->dir, "nope.sky");
    expect_usage_error(f, (const char *const[]){"run", f->pattern, "--watch=1", NULL},
                       "option `--watch` takes no value");
    expect_usage_error(f, (const char *const[]){"run", f->pattern, "--fra", "x", NULL},
                       "option `--fra` is ambiguous");
    expect_usage_error(f, (const char *const[]){"run", f->pattern, "--bogus=3", NULL},
                       "unknown option `--bogus` (see `sky run --help`)");
    expect_usage_error(f, (const char *const[]){"run", f->pattern, "-x", NULL},
                       "unknown option `-x`");
    expect_usage_error(f, (const char *const[]){"run", f->pattern, "--set", NULL},
                       "option `--set` needs a value");
    expect_usage_error(f, (const char *const[]){"run", f->pattern, "--rate", "-3", NULL},
                       "--fps: -3 is out of range");
    expect_usage_error(f, (const char *const[]){"run", f->pattern, "--dur=soon", NULL},
                       "--duration: `soon` is not a number");
    expect_usage_error(f, (const char *const[]){"run", f->pattern, "--stats=x", NULL},
                       "--stats: `x` is not a number");
    /* The number after --stats is its value; a file name after it is the pattern. */
    expect_usage_error(f, (const char *const[]){"run", "--stats", "5", missing, NULL}, "nope.sky");
    expect_usage_error(f, (const char *const[]){"run", "--stats", missing, NULL}, "nope.sky");
    expect_usage_error(f, (const char *const[]){"run", "--", missing, NULL}, "nope.sky");
    expect_usage_error(f, (const char *const[]){"preview", f->pattern, "-o", NULL},
                       "option `-o` needs a value");
    expect_usage_error(f, (const char *const[]){"preview", f->pattern, "--term=1", NULL},
                       "option `--term` takes no value");
    expect_usage_error(f, (const char *const[]){"check", f->pattern, "-O2", NULL}, "`-O2`");
    expect_usage_error(f, (const char *const[]){"check", f->pattern, "--color=1", NULL},
                       "option `--color` takes no value");
    expect_usage_error(f, (const char *const[]){"compile", f->pattern, "--bogus", NULL},
                       "unknown option `--bogus` (see `sky compile --help`)");
    expect_usage_error(f, (const char *const[]){"compile", f->pattern, "--emit", NULL},
                       "option `--emit` needs a value");
    expect_usage_error(f, (const char *const[]){"bench", f->pattern, "--frames", NULL},
                       "option `--frames` needs a value");
    expect_usage_error(f, (const char *const[]){"devices", "--device", NULL},
                       "option `--device` needs a value");
    expect_usage_error(f, (const char *const[]){"devices", "extra", NULL},
                       "unexpected argument `extra`");

    /* Accepted forms: --output=, `--` before the file, -oFILE, --rate for --fps, abbreviations. */
    char output_eq[600], output_cluster[600];
    snprintf(output_eq, sizeof output_eq, "--output=%s", f->png);
    snprintf(output_cluster, sizeof output_cluster, "-o%s", f->png);
    expect_png(f, (const char *const[]){"preview", f->pattern, "--cpu", output_eq, NULL});
    expect_png(f, (const char *const[]){"preview", "--cpu", "-o", f->png, "--", f->pattern, NULL});
    expect_png(f, (const char *const[]){"preview", f->pattern, "--cpu", output_cluster, "--rate",
                                        "10", "--lay=strip:3", NULL});
    char *err = NULL;
    /* `-` is a file name (stdin, empty here): a pattern error, not a usage error. */
    assert_int_equal(cli_run(f->dir, (const char *const[]){"check", "-", NULL}, 60, &err), 1);
    free(err);
}

/* --term: truecolor half blocks, one redraw per frame (t = 0 and 0.1 before 0.2 s), cursor back. */
static void test_term(void **state) {
    fixture *f = *state;
    cli_proc proc;
    cli_spawn(&proc, f->dir,
              (const char *const[]){"preview", f->pattern, "--cpu", "--term", "--layout",
                                    "grid:30x10", "--set", "tint=1,0.5,0.25", "--duration", "0.2",
                                    "--fps", "10", NULL});
    assert_true(cli_wait(&proc, 60));
    assert_int_equal(cli_exit_code(&proc), 0);
    char *out = cli_slurp(proc.out_path);
    size_t homes = 0;
    for (const char *p = out; (p = strstr(p, "\x1b[H")) != NULL; p++) homes++;
    assert_int_equal(homes, 2);
    assert_non_null(strstr(out, "\x1b[?25l"));            /* cursor hidden while drawing */
    assert_non_null(strstr(out, "\xe2\x96\x80"));         /* upper half blocks */
    assert_non_null(strstr(out, "\x1b[38;2;128;64;32m")); /* an LED centre: 0.5 * tint */
    assert_non_null(strstr(out, "\x1b[48;2;10;10;14m"));  /* the background */
    size_t len = strlen(out);
    assert_true(len > 8 && strcmp(out + len - 6, "\x1b[?25h") == 0); /* cursor shown at the end */
    /* At most 80 columns (the fallback size when stdout is not a terminal). */
    const char *line = strstr(out, "\x1b[H") + 3;
    size_t cells = 0;
    for (const char *p = line; *p && *p != '\n'; p++)
        if ((unsigned char)p[0] == 0xe2 && (unsigned char)p[1] == 0x96) cells++;
    assert_true(cells > 10 && cells <= 80);
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_set_clamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compile_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_warnings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_getopt_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_term, setup, teardown),
    };
    return cmocka_run_group_tests_name("cli_options", tests, NULL, cli_kill_children);
}
