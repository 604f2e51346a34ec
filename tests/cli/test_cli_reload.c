/*
 * test_cli_reload.c - `sky run --watch` reloading again and again, through
 * the real binary (label "gpu": it renders on the Vulkan device).
 *
 * The command runs as a child process at --fps 60 into a frame file in a
 * scratch directory; the test reads every frame it can with the frame reader.
 * Nothing here measures time: the tests wait on progress (frames, log lines)
 * with generous safety nets, so a loaded machine makes them slow, never
 * wrong. How fast a reload is goes in bench/bench_reload.c.
 *
 *   twenty   20 saves (by rename and in place, some broken): every frame is
 *            wholly the old or the new pattern, frame numbers only grow and
 *            the show renders after each save (it never freezes and is never
 *            lost), every good save lands, every broken one keeps the show.
 *   half     a save still being written (the file open, half its text in it)
 *            is not read: only its close reloads, with the whole text.
 *   child    the build child, killed while it waits for work, is replaced:
 *            the next save still reloads.
 */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_harness.h"
#include "sky/frame.h"

/* Safety nets, not expectations: a reload takes well under a second on an idle machine. */
#define START_TIMEOUT_S  120.0
#define RELOAD_TIMEOUT_S 120.0

typedef struct show {
    cli_proc proc;
    char dir[256], pattern[512];
    sky_frame_reader *reader;
    uint8_t *pixels;
    size_t len;
    uint64_t last_frame;
} show;

/* A pattern whose every LED is (0, 0, blue): blue is its own mark. */
static void blue_source(char *out, size_t len, unsigned blue) {
    snprintf(out, len, "out rgb(0, 0, %u / 255)\n", blue);
}

/* The frame's colour when every LED has it, else -1. */
static long uniform_colour(const show *s) {
    for (size_t i = 3; i < s->len; i += 3)
        if (memcmp(s->pixels, s->pixels + i, 3) != 0) return -1;
    return (long)s->pixels[0] << 16 | (long)s->pixels[1] << 8 | s->pixels[2];
}

static void fail_with_log(const show *s, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char *err = cli_slurp(s->proc.err_path);
    fail_msg("%s\nsky run's stderr:\n%s", what, err);
}

/*
 * Reads the next new frame (waiting for it: the show must keep rendering) and
 * returns its colour, which must be `old` or `new_colour`. Frame numbers only
 * grow, the file is never replaced and the writer stays alive.
 */
static long next_frame(show *s, long old, long new_colour, const char *what) {
    double end = cli_now() + RELOAD_TIMEOUT_S;
    for (;;) {
        uint64_t frame = 0;
        char error[512] = "";
        sky_status st =
            sky_frame_reader_read(s->reader, s->pixels, s->len, &frame, error, sizeof error);
        if (st == SKY_OK) {
            if (frame <= s->last_frame)
                fail_with_log(s, "%s: frame %llu after frame %llu", what, (unsigned long long)frame,
                              (unsigned long long)s->last_frame);
            s->last_frame = frame;
            long colour = uniform_colour(s);
            if (colour != old && colour != new_colour)
                fail_with_log(s, "%s: frame %llu is %06lx, neither %06lx nor %06lx", what,
                              (unsigned long long)frame, colour, old, new_colour);
            return colour;
        }
        if (st != SKY_ERR_AGAIN) fail_with_log(s, "%s: reading the frame file: %s", what, error);
        if (sky_frame_reader_replaced(s->reader)) fail_with_log(s, "%s: frame file replaced", what);
        if (!cli_alive(&s->proc))
            fail_with_log(s, "%s: sky run exited with %d", what, cli_exit_code(&s->proc));
        if (cli_now() > end)
            fail_with_log(s, "%s: no new frame in %g s: the show froze", what, RELOAD_TIMEOUT_S);
        cli_sleep_ms(1);
    }
}

/* Frames until one is `want` (each `old` or `want`); then `more` further frames of `want`. */
static void follow_to(show *s, long old, long want, int more, const char *what) {
    double end = cli_now() + RELOAD_TIMEOUT_S;
    while (next_frame(s, old, want, what) != want)
        if (cli_now() > end)
            fail_with_log(s, "%s: the show is still %06lx after %g s", what, old, RELOAD_TIMEOUT_S);
    for (int i = 0; i < more; i++)
        if (next_frame(s, want, want, what) != want)
            fail_with_log(s, "%s: the show went back to %06lx", what, old);
}

static void show_start(show *s, unsigned blue) {
    memset(s, 0, sizeof *s);
    cli_tmpdir(s->dir, sizeof s->dir);
    cli_path(s->pattern, sizeof s->pattern, s->dir, "live.sky");
    char frame_path[512], source[128];
    cli_path(frame_path, sizeof frame_path, s->dir, "frame");
    blue_source(source, sizeof source, blue);
    cli_write_file(s->pattern, source);
    cli_spawn(&s->proc, s->dir,
              (const char *const[]){"run", s->pattern, "--watch", "--fps", "60", "--layout",
                                    "grid:16x8", "--frame", frame_path, NULL});
    double end = cli_now() + START_TIMEOUT_S;
    char error[512] = "";
    while (sky_frame_reader_open(frame_path, &s->reader, error, sizeof error) != SKY_OK) {
        if (!cli_alive(&s->proc)) fail_with_log(s, "sky run exited before the frame file");
        if (cli_now() > end) fail_with_log(s, "no frame file: %s", error);
        cli_sleep_ms(10);
    }
    s->len = (size_t)sky_frame_reader_info(s->reader)->led_count * 3;
    s->pixels = malloc(s->len);
    assert_non_null(s->pixels);
    follow_to(s, (long)blue, (long)blue, 3, "start");
}

static void show_stop(show *s) {
    assert_int_equal(kill(s->proc.pid, SIGTERM), 0);
    assert_true(cli_wait(&s->proc, 60));
    assert_int_equal(cli_exit_code(&s->proc), 0);
    sky_frame_reader_free(s->reader);
    free(s->pixels);
    cli_tmpdir_remove(s->dir);
}

static size_t count_lines_with(const char *text, const char *needle) {
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* Waits (following frames of `colour`) until stderr has `needle` `count` times. */
static void follow_until_logged(show *s, long colour, const char *needle, size_t count) {
    double end = cli_now() + RELOAD_TIMEOUT_S;
    for (;;) {
        if (cli_now() > end) fail_with_log(s, "`%s` not printed %zu times", needle, count);
        char *err = cli_slurp(s->proc.err_path);
        size_t n = count_lines_with(err, needle);
        free(err);
        if (n >= count) return;
        next_frame(s, colour, colour, needle);
    }
}

static void test_twenty_reloads(void **state) {
    (void)state;
    show s;
    unsigned blue = 10;
    show_start(&s, blue);
    size_t good = 0, broken = 0;
    for (int i = 1; i <= 20; i++) {
        char what[64], source[128];
        snprintf(what, sizeof what, "save %d", i);
        if (i % 5 == 0) { /* a broken save: the show keeps the running pattern */
            cli_replace_file(s.pattern, "out rgb(0, 0,\n");
            broken++;
            follow_until_logged(&s, (long)blue, "keeping the running pattern", broken);
            continue;
        }
        unsigned next = 10 + 10u * (unsigned)i;
        blue_source(source, sizeof source, next);
        if (i % 2)
            cli_replace_file(s.pattern, source); /* as vim and VS Code save */
        else
            cli_write_file(s.pattern, source); /* in place, as nano saves */
        follow_to(&s, (long)blue, (long)next, 3, what);
        blue = next;
        good++;
    }
    char *err = cli_slurp(s.proc.err_path);
    assert_int_equal(count_lines_with(err, ": reloaded "), good);
    assert_int_equal(count_lines_with(err, "keeping the running pattern"), broken);
    assert_null(strstr(err, "building the shader failed"));
    free(err);
    show_stop(&s);
}

static void test_half_written_save_waits_for_close(void **state) {
    (void)state;
    show s;
    show_start(&s, 10);
    FILE *f = fopen(s.pattern, "w");
    assert_non_null(f);
    const char *whole = "out rgb(0, 0, 200 / 255)\n";
    size_t half = strlen(whole) / 2;
    assert_int_equal(fwrite(whole, 1, half, f), half);
    assert_int_equal(fflush(f), 0); /* in the file, as a slow writer leaves it */
    /* 60 frames: long enough for any quiet period to pass; the old pattern keeps running. */
    for (int i = 0; i < 60; i++) next_frame(&s, 10, 10, "file open");
    char *err = cli_slurp(s.proc.err_path);
    if (strstr(err, "changed; compiling")) fail_msg("a half-written file was read:\n%s", err);
    free(err);
    assert_int_equal(fputs(whole + half, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    follow_to(&s, 10, 200, 3, "after the close");
    err = cli_slurp(s.proc.err_path);
    assert_null(strstr(err, "error"));
    free(err);
    show_stop(&s);
}

/* The pid of sky run's build child (a child of `parent` running --build-child), or -1. */
static pid_t find_build_child(pid_t parent) {
    DIR *proc = opendir("/proc");
    assert_non_null(proc);
    pid_t found = -1;
    struct dirent *d;
    while (found < 0 && (d = readdir(proc))) {
        char path[300], buf[4096];
        snprintf(path, sizeof path, "/proc/%s/stat", d->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *close_paren = strrchr(buf, ')'); /* the name may hold spaces */
        int ppid = 0;
        if (!close_paren || sscanf(close_paren + 1, " %*c %d", &ppid) != 1 || ppid != parent)
            continue;
        snprintf(path, sizeof path, "/proc/%s/cmdline", d->d_name);
        f = fopen(path, "r");
        if (!f) continue;
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++)
            if (buf[i] == '\0') buf[i] = ' ';
        buf[n] = '\0';
        if (strstr(buf, "--build-child")) found = (pid_t)atoi(d->d_name);
    }
    closedir(proc);
    return found;
}

static void test_killed_build_child_is_replaced(void **state) {
    (void)state;
    show s;
    show_start(&s, 10);
    /* The child that built the first pattern waits for the next save. */
    pid_t child = find_build_child(s.proc.pid);
    if (child < 0) fail_with_log(&s, "no build child waiting for work");
    assert_int_equal(kill(child, SIGKILL), 0);
    next_frame(&s, 10, 10, "after the kill"); /* the show does not notice */
    char source[128];
    blue_source(source, sizeof source, 120);
    cli_replace_file(s.pattern, source);
    follow_to(&s, 10, 120, 3, "save after the kill");
    blue_source(source, sizeof source, 130);
    cli_replace_file(s.pattern, source);
    follow_to(&s, 120, 130, 3, "second save after the kill");
    show_stop(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_twenty_reloads, cli_kill_children),
        cmocka_unit_test_teardown(test_half_written_save_waits_for_close, cli_kill_children),
        cmocka_unit_test_teardown(test_killed_build_child_is_replaced, cli_kill_children),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
