/*
 * test_cli_pictures_fade.c - cross-fades between patterns with pictures
 * through the real `sky` binary: `sky run --crossfade 4 --control
 * 127.0.0.1:0` at 10 fps into a frame file, patterns changed with POST
 * /api/pattern, every frame read with the frame reader.
 *
 * Each pattern shows the colour of its own one-colour picture in red and
 * green, and marks itself in blue (A and C: 0, B: 255), so a frame's blue
 * says how far a fade between A and B (or B and C) is, and its red and green
 * must then be the blend of the two pictures. Before the fix the incoming
 * pattern sampled the running pattern's picture, so mid-fade frames were
 * A's colour with B's blue.
 *
 *   1. A -> B over 4 s: every frame is mix(A, B, blue / 255) within 3/255,
 *      some frame near the middle; after the fade only B, frame after frame.
 *   2. A pattern whose picture is missing is refused (422 naming the file)
 *      and B stays on the LEDs.
 *   3. B -> C over 60 s; 0.1 into it, the cross-fade set to 0 and a cut to
 *      A: the fade ends first, the cut is a cut (only A from then on, never
 *      a fade left running with A under it).
 *   4. (--crossfade 3600) A -> B; during it, C: the first fade ends at once
 *      (B takes over with its own picture, no reopen), and B -> C fades
 *      from there.
 *   5. Frozen: A, then B during that fade; the fade to A rendered no mix
 *      frame, so its pictures were never handed over: A must still show its
 *      own once unfrozen.
 *
 * Run with `--device cpu` and with the default device (lavapipe, label
 * "gpu"). Waits are on frame numbers and replies; time limits are safety
 * nets only.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <png.h>

#include "cli_harness.h"
#include "control_client.h"
#include "sky/frame.h"

#define LAYOUT    "grid:8x4"
#define SAFETY_S  120.0 /* a bound on anything a loaded machine does, never an expected time */
#define MIX_SLACK 3     /* the blend of bytes (1/255), and blue's own rounding as the amount */

static const char *device; /* NULL: the default (Vulkan); "cpu" */

/* The pictures' colours (red, green); the patterns put their marker in blue. */
typedef struct colour {
    double r, g, b;
} colour;
static const colour COL_A = {200, 40, 0}, COL_B = {20, 90, 255}, COL_C = {120, 220, 0};

static void write_solid_png(const char *path, uint8_t r, uint8_t g) {
    uint8_t rgb[8 * 8 * 3];
    for (int i = 0; i < 64; i++) {
        rgb[3 * i] = r;
        rgb[3 * i + 1] = g;
        rgb[3 * i + 2] = 77; /* not shown: the patterns write their marker instead */
    }
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = img.height = 8;
    img.format = PNG_FORMAT_RGB;
    assert_true(png_image_write_to_file(&img, path, 0, rgb, 24, NULL));
}

typedef struct show {
    char dir[256];
    char a[512], b[512], c[512], bad[512];
    cli_proc proc;
    uint16_t http;
    sky_frame_reader *reader;
    uint8_t *pixels;
    size_t len;
    uint64_t last_frame;
} show;

static void write_pattern(show *s, char *path, const char *name, const char *png, int marker) {
    cli_path(path, 512, s->dir, name);
    char text[256];
    snprintf(text, sizeof text,
             "input pic = image(\"%s\")\nlet c = pic(0.5, 0.5)\n"
             "out rgb(c.r, c.g, %d)\n",
             png, marker);
    cli_write_file(path, text);
}

static void show_start(show *s, const char *crossfade) {
    memset(s, 0, sizeof *s);
    cli_tmpdir(s->dir, sizeof s->dir);
    char png[512], frame_path[512];
    const struct {
        const char *name;
        colour c;
    } pics[] = {{"a.png", COL_A}, {"b.png", COL_B}, {"c.png", COL_C}};
    for (size_t i = 0; i < 3; i++) {
        cli_path(png, sizeof png, s->dir, pics[i].name);
        write_solid_png(png, (uint8_t)pics[i].c.r, (uint8_t)pics[i].c.g);
    }
    write_pattern(s, s->a, "a.sky", "a.png", 0);
    write_pattern(s, s->b, "b.sky", "b.png", 1);
    write_pattern(s, s->c, "c.sky", "c.png", 0);
    write_pattern(s, s->bad, "bad.sky", "missing.png", 1);
    cli_path(frame_path, sizeof frame_path, s->dir, "frame");
    const char *argv[] = {"run",
                          s->a,
                          "--frame",
                          frame_path,
                          "--fps",
                          "10",
                          "--layout",
                          LAYOUT,
                          "--control",
                          "127.0.0.1:0",
                          "--crossfade",
                          crossfade,
                          device ? "--device" : NULL,
                          device,
                          NULL};
    cli_spawn(&s->proc, s->dir, argv);
    double end = cli_now() + SAFETY_S;
    char error[512] = "";
    for (;;) {
        char *err = cli_slurp(s->proc.err_path);
        s->http = control_find_port(err, "control API on http://127.0.0.1:");
        free(err);
        if (s->http && sky_frame_reader_open(frame_path, &s->reader, error, sizeof error) == SKY_OK)
            break;
        if (!cli_alive(&s->proc))
            fail_msg("sky run exited with %d:\n%s", cli_exit_code(&s->proc),
                     cli_slurp(s->proc.err_path));
        if (cli_now() > end) fail_msg("sky run did not start in %g s", SAFETY_S);
        cli_sleep_ms(10);
    }
    s->len = (size_t)sky_frame_reader_info(s->reader)->led_count * 3;
    s->pixels = malloc(s->len);
    assert_non_null(s->pixels);
}

static void show_stop(show *s) {
    assert_int_equal(kill(s->proc.pid, SIGTERM), 0);
    assert_true(cli_wait(&s->proc, SAFETY_S));
    if (cli_exit_code(&s->proc) != 0)
        fail_msg("sky run after SIGTERM: exit %d:\n%s", cli_exit_code(&s->proc),
                 cli_slurp(s->proc.err_path));
    sky_frame_reader_free(s->reader);
    free(s->pixels);
    cli_tmpdir_remove(s->dir);
}

/* The next new frame into s->pixels. */
static void next_frame(show *s, const char *what) {
    double end = cli_now() + SAFETY_S;
    for (;;) {
        uint64_t frame = 0;
        char error[512] = "";
        sky_status st =
            sky_frame_reader_read(s->reader, s->pixels, s->len, &frame, error, sizeof error);
        if (st == SKY_OK) {
            assert_true(frame > s->last_frame);
            s->last_frame = frame;
            return;
        }
        if (st != SKY_ERR_AGAIN) fail_msg("%s: reading the frame file: %s", what, error);
        if (!cli_alive(&s->proc))
            fail_msg("%s: sky run exited with %d:\n%s", what, cli_exit_code(&s->proc),
                     cli_slurp(s->proc.err_path));
        if (cli_now() > end) fail_msg("%s: no new frame within %g s", what, SAFETY_S);
        cli_sleep_ms(1);
    }
}

/* Every LED of the frame within `slack` of mix(from, to, amount). */
static bool frame_is(const show *s, colour from, colour to, double amount, double slack) {
    double want[3] = {from.r + (to.r - from.r) * amount, from.g + (to.g - from.g) * amount,
                      from.b + (to.b - from.b) * amount};
    for (size_t i = 0; i < s->len; i++) {
        double off = s->pixels[i] - want[i % 3];
        if (off > slack || off < -slack) return false;
    }
    return true;
}

static bool frame_is_only(const show *s, colour c) {
    return frame_is(s, c, c, 0, 1);
}

/* The fade amount between `from` and `to` that the frame's blue marker says. */
static double amount_of(const show *s, colour from, colour to) {
    return (s->pixels[2] - from.b) / (to.b - from.b);
}

static void fail_frame(const show *s, const char *what) {
    fail_msg("%s: frame %llu is %u,%u,%u\n%s", what, (unsigned long long)s->last_frame,
             s->pixels[0], s->pixels[1], s->pixels[2], cli_slurp(s->proc.err_path));
}

static void expect_only(show *s, colour c, int frames, const char *what) {
    for (int k = 0; k < frames; k++) {
        next_frame(s, what);
        if (!frame_is_only(s, c)) fail_frame(s, what);
    }
}

/* For loops that wait for a frame to become something while frames keep coming. */
static void check_deadline(const show *s, double end, const char *what) {
    if (cli_now() > end) fail_frame(s, what);
}

static void wait_only(show *s, colour c, const char *what) {
    double end = cli_now() + SAFETY_S;
    do {
        next_frame(s, what);
        check_deadline(s, end, what);
    } while (!frame_is_only(s, c));
}

static void post_pattern(show *s, const char *path, int want_status, const char *want_text) {
    char body[700];
    snprintf(body, sizeof body, "{\"path\": \"%s\"}", path);
    control_reply r = control_client_request(s->http, NULL, "POST", "/api/pattern", body);
    if (r.status != want_status || (want_text && !strstr(r.body, want_text)))
        fail_msg("POST %s: %d %s (want %d with \"%s\")", path, r.status, r.body, want_status,
                 want_text ? want_text : "");
    control_reply_free(&r);
}

static void put_flag(show *s, const char *path, const char *value) {
    control_reply r = control_client_request(s->http, NULL, "PUT", path, value);
    if (r.status != 200) fail_msg("PUT %s %s: %d %s", path, value, r.status, r.body);
    control_reply_free(&r);
}

static void put_crossfade(show *s, const char *seconds) {
    control_reply r = control_client_request(s->http, NULL, "PUT", "/api/crossfade", seconds);
    if (r.status != 200) fail_msg("PUT /api/crossfade %s: %d %s", seconds, r.status, r.body);
    control_reply_free(&r);
}

/* Frames of a fade from -> to until one is at least `until` along; each must be the blend. */
static void follow_fade(show *s, colour from, colour to, double until, bool *middle,
                        const char *what) {
    double end = cli_now() + SAFETY_S;
    for (;;) {
        next_frame(s, what);
        check_deadline(s, end, what);
        double amount = amount_of(s, from, to);
        if (!frame_is(s, from, to, amount, MIX_SLACK)) fail_frame(s, what);
        if (middle) *middle = *middle || (amount >= 0.3 && amount <= 0.7);
        if (amount >= until) return;
    }
}

static void test_fade_between_pictures(void **state) {
    (void)state;
    show s;
    show_start(&s, "4");
    wait_only(&s, COL_A, "A at the start");

    /* 1. A -> B: the blend of both pictures, then B alone. The reply comes when the fade
     * starts; frames rendered before it are A alone (amount 0), which passes as a blend. */
    post_pattern(&s, s.b, 200, NULL);
    bool middle = false;
    follow_fade(&s, COL_A, COL_B, 1.0, &middle, "A -> B");
    if (!middle) fail_msg("no frame near the middle of a 4 s fade at 10 fps");
    expect_only(&s, COL_B, 10, "B after the fade");

    /* 2. A missing picture refuses the pattern; B goes on. */
    post_pattern(&s, s.bad, 422, "missing.png");
    expect_only(&s, COL_B, 5, "B after a refused pattern");

    /* 3. A cut during a fade ends the fade first: from then on only A. */
    put_crossfade(&s, "60");
    post_pattern(&s, s.c, 200, NULL);
    /* 0.1 along: a fade left running under A would be 8/255 off A in red, 18 in green. */
    follow_fade(&s, COL_B, COL_C, 0.1, NULL, "B -> C (60 s)");
    put_crossfade(&s, "0");
    post_pattern(&s, s.a, 200, NULL);
    /* Frames rendered before the cut are the B -> C fade still. */
    double end = cli_now() + SAFETY_S;
    for (;;) {
        next_frame(&s, "the cut to A");
        check_deadline(&s, end, "the cut to A");
        if (frame_is_only(&s, COL_A)) break;
        if (!frame_is(&s, COL_B, COL_C, amount_of(&s, COL_B, COL_C), MIX_SLACK))
            fail_frame(&s, "before the cut to A");
    }
    expect_only(&s, COL_A, 10, "A after a cut during a fade");

    show_stop(&s);
}

/*
 * 4. With --crossfade 3600 (so no fade ends by itself while the test runs,
 * however slow the machine): A -> B, then C during that fade. The first fade
 * ends at once and B takes over with its own picture, no reopen; B -> C
 * then starts from B (an hour long: B alone to within a byte for minutes).
 */
static void test_fade_during_fade(void **state) {
    (void)state;
    show s;
    show_start(&s, "3600");
    wait_only(&s, COL_A, "A at the start");
    post_pattern(&s, s.b, 200, NULL);
    next_frame(&s, "A -> B (an hour)");
    if (!frame_is(&s, COL_A, COL_B, amount_of(&s, COL_A, COL_B), MIX_SLACK))
        fail_frame(&s, "A -> B (an hour)");
    post_pattern(&s, s.c, 200, NULL);
    /* Frames rendered before the switch are A -> B, near A; then B alone. */
    double end = cli_now() + SAFETY_S;
    for (;;) {
        next_frame(&s, "B after A -> B was cut short");
        check_deadline(&s, end, "B after A -> B was cut short");
        if (frame_is_only(&s, COL_B)) break;
        if (!frame_is(&s, COL_A, COL_B, amount_of(&s, COL_A, COL_B), MIX_SLACK))
            fail_frame(&s, "before B took over");
    }
    expect_only(&s, COL_B, 10, "B fading to C over an hour");

    /* 5. Frozen, B -> C ends (C takes over), and a fade C -> A that renders no mix frame
     * ends too (A takes over with no hand-over from a mix: its pictures are set anew),
     * then B fades in. Held frames are B; unfrozen, A (an hour from B): not C's picture. */
    put_flag(&s, "/api/freeze", "true");
    expect_only(&s, COL_B, 3, "held while frozen");
    post_pattern(&s, s.a, 200, NULL);
    post_pattern(&s, s.b, 200, NULL);
    expect_only(&s, COL_B, 3, "held while frozen, after two switches");
    put_flag(&s, "/api/freeze", "false");
    wait_only(&s, COL_A, "A once unfrozen");
    expect_only(&s, COL_A, 10, "A fading to B over an hour");
    show_stop(&s);
}

int main(int argc, char **argv) {
    device = argc > 1 && strcmp(argv[1], "cpu") == 0 ? "cpu" : NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_fade_between_pictures, cli_kill_children),
        cmocka_unit_test_teardown(test_fade_during_fade, cli_kill_children),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
