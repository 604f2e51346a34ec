/*
 * test_cli_pictures.c - patterns with picture inputs through the `sky` binary:
 * sky run publishes a solid-colour image's colour at every LED (the path
 * relative to the .sky file, run from another directory), and a missing
 * image stops sky run, sky preview and sky render with exit status 2 and a
 * message naming the .sky file, the line and column and the image.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_harness.h"
#include "sky/frame.h"
#include "test_png.h"

#define PICS_CLI_TIMEOUT_S 300.0 /* safety net on a busy machine, never an expected time */

static void test_run_shows_the_image(void **state) {
    (void)state;
    char dir[256], sub[512], sky[600], png[600], frames[600];
    cli_tmpdir(dir, sizeof dir);
    cli_path(sub, sizeof sub, dir, "show");
    char cmd[700];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", sub);
    assert_int_equal(system(cmd), 0);
    cli_path(sky, sizeof sky, sub, "solid.sky");
    cli_path(png, sizeof png, sub, "solid.png");
    cli_path(frames, sizeof frames, dir, "frames");
    assert_true(test_png_write_solid(png, 200, 100, 50));
    cli_write_file(sky, "input pic = image(\"solid.png\")\nout pic((x + 1) / 2, (1 - y) / 2)\n");
    /* Run from `dir`, not from the pattern's directory: the path is the .sky file's. */
    const char *args[] = {"run",      sky,   "--layout",   "grid:6x4", "--frame", frames,
                          "--device", "cpu", "--duration", "120",      NULL};
    cli_proc proc;
    cli_spawn(&proc, dir, args);
    double end = cli_now() + PICS_CLI_TIMEOUT_S;
    sky_frame_reader *reader = NULL;
    char error[512] = "";
    while (sky_frame_reader_open(frames, &reader, error, sizeof error) != SKY_OK) {
        if (!cli_alive(&proc)) fail_msg("sky run exited:\n%s", cli_slurp(proc.err_path));
        if (cli_now() > end) fail_msg("no frame file: %s", error);
        cli_sleep_ms(10);
    }
    uint8_t bytes[24 * 3];
    uint64_t frame = 0;
    sky_status st;
    while ((st = sky_frame_reader_read(reader, bytes, sizeof bytes, &frame, error, sizeof error)) !=
           SKY_OK) {
        if (st != SKY_ERR_AGAIN) fail_msg("reading a frame: %s", error);
        if (cli_now() > end) fail_msg("no frame published");
        cli_sleep_ms(10);
    }
    for (int i = 0; i < 24; i++)
        if (bytes[3 * i] != 200 || bytes[3 * i + 1] != 100 || bytes[3 * i + 2] != 50)
            fail_msg("LED %d: %u %u %u, want 200 100 50", i, bytes[3 * i], bytes[3 * i + 1],
                     bytes[3 * i + 2]);
    sky_frame_reader_free(reader);
    cli_tmpdir_remove(dir);
}

static void expect_missing(const char *dir, const char *const *args) {
    char *err = NULL;
    int code = cli_run(dir, args, PICS_CLI_TIMEOUT_S, &err);
    if (code != 2 || !strstr(err, "gone.sky:1:19: cannot open image `nowhere.png`") ||
        !strstr(err, "No such file or directory"))
        fail_msg("%s %s: exit %d, stderr:\n%s", args[0], args[1], code, err);
    free(err);
}

static void test_missing_image_stops(void **state) {
    (void)state;
    char dir[256], sky[600], frames[600], out[600];
    cli_tmpdir(dir, sizeof dir);
    cli_path(sky, sizeof sky, dir, "gone.sky");
    cli_path(frames, sizeof frames, dir, "frames");
    cli_path(out, sizeof out, dir, "out.png");
    cli_write_file(sky, "input pic = image(\"nowhere.png\")\nout pic(0.5, 0.5)\n");
    const char *run[] = {"run",      sky,   "--layout",   "grid:4x4", "--frame", frames,
                         "--device", "cpu", "--duration", "60",       NULL};
    expect_missing(dir, run);
    const char *preview[] = {"preview", sky, "--layout", "grid:4x4", "--cpu", "-o", out, NULL};
    expect_missing(dir, preview);
    cli_path(out, sizeof out, dir, "out.fseq");
    const char *render[] = {"render",   sky, "--layout", "grid:4x4", "--cpu",
                            "--frames", "2", "-o",       out,        NULL};
    expect_missing(dir, render);
    cli_tmpdir_remove(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_run_shows_the_image, cli_kill_children),
        cmocka_unit_test_teardown(test_missing_image_stops, cli_kill_children),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
