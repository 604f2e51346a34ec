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

#include "cli_harness.h"
#include "control_client.h"
#include "sky/frame.h"
#include "test_png.h"

#define LAYOUT    "grid:8x4"
#define SAFETY_S  120.0 /* a bound on anything a loaded machine does, never an expected time */
#define MIX_SLACK 3     /* the blend of bytes (1/255), and blue's own rounding as the amount */

static const char *device; /* NULL: the default (Vulkan); "cpu" */

/* The pictures' colours (red, green); the patterns put their marker in blue. */
typedef struct colour {
    double r, g, b;
} colour;
static const colour COL_A = {200, 40, 0}, COL_B = {20, 90, 255}, COL_C = {120, 220, 0};

typedef struct show {
    cli_show run;
    char dir[256];
    char a[512], b[512], c[512], bad[512];
    uint16_t http;
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
        /* Blue 77 is never shown: the patterns write their marker instead. */
        assert_true(test_png_write_solid(png, (uint8_t)pics[i].c.r, (uint8_t)pics[i].c.g, 77));
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
    cli_spawn(&s->run.proc, s->dir, argv);
    s->http = control_wait_port(&s->run.proc, "control API on http://127.0.0.1:");
    cli_show_open_frames(&s->run, frame_path);
}

static void show_stop(show *s) {
    cli_show_stop(&s->run);
    cli_tmpdir_remove(s->dir);
}

/* Every LED of the frame within `slack` of mix(from, to, amount). */
static bool frame_is(const show *s, colour from, colour to, double amount, double slack) {
    double want[3] = {from.r + (to.r - from.r) * amount, from.g + (to.g - from.g) * amount,
                      from.b + (to.b - from.b) * amount};
    for (size_t i = 0; i < s->run.len; i++) {
        double off = s->run.pixels[i] - want[i % 3];
        if (off > slack || off < -slack) return false;
    }
    return true;
}

static bool frame_is_only(const show *s, colour c) {
    return frame_is(s, c, c, 0, 1);
}

/* The fade amount between `from` and `to` that the frame's blue marker says. */
static double amount_of(const show *s, colour from, colour to) {
    return (s->run.pixels[2] - from.b) / (to.b - from.b);
}

static void fail_frame(const show *s, const char *what) {
    fail_msg("%s: frame %llu is %u,%u,%u\n%s", what, (unsigned long long)s->run.last_frame,
             s->run.pixels[0], s->run.pixels[1], s->run.pixels[2], cli_slurp(s->run.proc.err_path));
}

static void expect_only(show *s, colour c, int frames, const char *what) {
    for (int k = 0; k < frames; k++) {
        cli_show_next_frame(&s->run, what);
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
        cli_show_next_frame(&s->run, what);
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
        cli_show_next_frame(&s->run, what);
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
        cli_show_next_frame(&s.run, "the cut to A");
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
    cli_show_next_frame(&s.run, "A -> B (an hour)");
    if (!frame_is(&s, COL_A, COL_B, amount_of(&s, COL_A, COL_B), MIX_SLACK))
        fail_frame(&s, "A -> B (an hour)");
    post_pattern(&s, s.c, 200, NULL);
    /* Frames rendered before the switch are A -> B, near A; then B alone. */
    double end = cli_now() + SAFETY_S;
    for (;;) {
        cli_show_next_frame(&s.run, "B after A -> B was cut short");
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
