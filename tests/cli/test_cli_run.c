/*
 * test_cli_run.c - `sky run` end to end on the Vulkan device (label "gpu":
 * without a device the command exits 2 and these tests fail).
 *
 * The command runs as a child process publishing into a frame file in a
 * scratch directory; the test reads that file with the frame reader, polling
 * fast enough (every millisecond against a 10 fps writer) to see every frame.
 *
 *   watch    --watch hot reload: red -> (editor-style rename) blue, every frame
 *            on the way is wholly red or wholly blue and none is skipped; a
 *            broken edit prints the diagnostic while blue frames keep coming;
 *            SIGTERM then exits 0 with the writer seen as dead.
 *   frames   --frames N renders exactly N frames whose colours are the CPU
 *            evaluator's; --set notes clamping; the frame file stays valid.
 *   sigint   SIGINT stops a run with no limit: exit 0, writer dead, file valid.
 *   duration --duration with --fps never renders more frames than the schedule.
 *   device   --device by index works; a selector matching nothing fails before
 *            the frame file is created.
 *   heavy    a save of a pattern over the build budget is refused with a message
 *            naming what to reduce; the old pattern keeps running.
 *   budget   a build over its time budget is abandoned; the old pattern keeps
 *            running and a later good save still reloads.
 *   sigterm  SIGTERM while the first shader is being built ends the command
 *            within seconds (the promise is 1 s; the bound is generous).
 *   boot     --watch on a file with errors shows black and keeps watching.
 *   busy dir a file beside the pattern written every few ms does not keep a
 *            save of the pattern from reloading.
 *   first    a save during the first (slow) build is not lost.
 *   unlinked the frame file removed under `sky run`: it says so and exits 2.
 *   sighup   SIGHUP reloads the pattern (without --watch) and does not kill.
 *   cost     `sky check` warns (W0501) about a pattern far costlier than the
 *            examples, naming what to reduce; `sky preview` refuses one over
 *            the budget at once.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_harness.h"
#include "sky/frame.h"
#include "sky/abi.h"
#include "sky/layout.h"
#include "sky/sky.h"

#define WRITER_DEAD_TIMEOUT_NS 2000000000ull

/* Opens the frame file once the child has created it. */
static sky_frame_reader *open_reader(cli_proc *proc, const char *path, double timeout_s) {
    double end = cli_now() + timeout_s;
    char error[512] = "";
    for (;;) {
        sky_frame_reader *reader = NULL;
        sky_status st = sky_frame_reader_open(path, &reader, error, sizeof error);
        if (st == SKY_OK) return reader;
        if (!cli_alive(proc)) {
            char *err = cli_slurp(proc->err_path);
            fail_msg("sky run exited with %d before creating %s:\n%s", cli_exit_code(proc), path,
                     err);
        }
        if (cli_now() > end) fail_msg("no frame file at %s after %g s: %s", path, timeout_s, error);
        cli_sleep_ms(10);
    }
}

typedef struct frame_watch {
    sky_frame_reader *reader;
    cli_proc *proc;
    uint8_t *pixels;
    size_t len;
    uint64_t last_frame, frames_seen;
} frame_watch;

/* The uniform colour of the frame in w->pixels, or -1 when the LEDs differ. */
static long uniform_colour(const frame_watch *w) {
    for (size_t i = 3; i < w->len; i += 3)
        if (memcmp(w->pixels, w->pixels + i, 3) != 0) return -1;
    return (long)w->pixels[0] << 16 | (long)w->pixels[1] << 8 | w->pixels[2];
}

/*
 * Reads every new frame until one is `want` (or, with want < 0, for
 * `timeout_s` seconds). Each frame must be uniformly one of `allowed`.
 * Returns the number of frames read.
 */
static uint64_t follow(frame_watch *w, long want, const long *allowed, size_t n_allowed,
                       double timeout_s, const char *what) {
    double end = cli_now() + timeout_s;
    uint64_t read = 0;
    for (;;) {
        uint64_t frame = 0;
        char error[512] = "";
        sky_status st =
            sky_frame_reader_read(w->reader, w->pixels, w->len, &frame, error, sizeof error);
        if (st == SKY_OK) {
            read++;
            w->frames_seen++;
            assert_true(frame > w->last_frame);
            w->last_frame = frame;
            long colour = uniform_colour(w);
            bool ok = false;
            for (size_t i = 0; i < n_allowed; i++) ok = ok || colour == allowed[i];
            if (!ok)
                fail_msg("%s: frame %llu has colour %06lx", what, (unsigned long long)frame,
                         colour);
            if (want >= 0 && colour == want) return read;
        } else if (st != SKY_ERR_AGAIN) {
            fail_msg("%s: reading the frame file: %s", what, error);
        }
        if (!cli_alive(w->proc)) {
            char *err = cli_slurp(w->proc->err_path);
            fail_msg("%s: sky run exited with %d:\n%s", what, cli_exit_code(w->proc), err);
        }
        if (cli_now() > end) {
            if (want < 0) return read;
            fail_msg("%s: colour %06lx not seen within %g s", what, want, timeout_s);
        }
        cli_sleep_ms(1);
    }
}

static bool stderr_has(const cli_proc *proc, const char *needle) {
    char *err = cli_slurp(proc->err_path);
    bool found = strstr(err, needle) != NULL;
    free(err);
    return found;
}

/* Follows frames (each one of `allowed`) until stderr has `needle`. */
static void follow_until_log(frame_watch *w, const char *needle, const long *allowed,
                             size_t n_allowed, double timeout_s, const char *what) {
    double end = cli_now() + timeout_s;
    while (!stderr_has(w->proc, needle)) {
        if (cli_now() > end) {
            char *err = cli_slurp(w->proc->err_path);
            fail_msg("%s: `%s` not printed within %g s:\n%s", what, needle, timeout_s, err);
        }
        follow(w, -1, allowed, n_allowed, 0.05, what);
    }
}

/* Starts `sky run --watch` on `source` at 10 fps into dir/frame; the reader is ready. */
static void start_watch(frame_watch *w, cli_proc *proc, const char *dir, const char *pattern,
                        const char *source, bool watch) {
    char frame_path[512];
    cli_path(frame_path, sizeof frame_path, dir, "frame");
    cli_write_file(pattern, source);
    cli_spawn(proc, dir,
              (const char *const[]){"run", pattern, "--frame", frame_path, "--fps", "10",
                                    "--layout", "grid:8x4", watch ? "--watch" : NULL, NULL});
    *w = (frame_watch){open_reader(proc, frame_path, 60), proc, NULL, 0, 0, 0};
    w->len = (size_t)sky_frame_reader_info(w->reader)->led_count * 3;
    w->pixels = malloc(w->len);
    assert_non_null(w->pixels);
}

static void stop_watch(frame_watch *w, cli_proc *proc, const char *dir) {
    assert_int_equal(kill(proc->pid, SIGTERM), 0);
    assert_true(cli_wait(proc, 60));
    assert_int_equal(cli_exit_code(proc), 0);
    sky_frame_reader_free(w->reader);
    free(w->pixels);
    cli_tmpdir_remove(dir);
}

/* Reads until `n` more frames came, each uniformly one of `allowed`, however slowly a
 * loaded machine renders them (120 s safety net). */
static void follow_frames(frame_watch *w, uint64_t n, const long *allowed, size_t n_allowed,
                          const char *what) {
    uint64_t got = 0;
    for (double limit = cli_now() + 120; got < n && cli_now() < limit;)
        got += follow(w, -1, allowed, n_allowed, 0.2, what);
    if (got < n) fail_msg("%s: %llu of %llu frames in 120 s", what, (unsigned long long)got,
                          (unsigned long long)n);
}

/* The pattern: legal, 25,808 per LED, and it hung the show. */
#define HEAVY_PATTERN "out rgb(sum(i in 0..8, fbm(vec3(x + i, y, t), 8)) / 10, 0, 0)\n"
/* Under the budget's cost but seconds of shaderc (6,458: 13 s on a busy 2-core machine). */
#define SLOW_PATTERN "out rgb(sum(i in 0..2, fbm(vec3(x + i, y, t), 8)) / 10, 0, 0)\n"
/* Just under SKY_LED_COST_MAX (11,698): its build took 37 s on a busy 2-core machine. */
#define SLOWEST_PATTERN \
    "out rgb(sum(i in 0..3, fbm(vec3(x + i, y, t), 8)) / 10 + fbm(vec3(y, x, t), 5), 0, 0)\n"

static void test_heavy_save_keeps_show(void **state) {
    (void)state;
    char dir[256], pattern[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "live.sky");
    cli_proc proc;
    frame_watch w;
    start_watch(&w, &proc, dir, pattern, "out rgb(1, 0, 0)\n", true);
    const long red = 0xff0000, blue = 0x0000ff, red_or_blue[2] = {red, blue};
    follow(&w, red, &red, 1, 60, "start");
    cli_replace_file(pattern, HEAVY_PATTERN);
    follow_until_log(&w, "over the budget", &red, 1, 60, "heavy save");
    assert_true(stderr_has(&proc, "lower fbm octaves and reduction bounds"));
    follow_until_log(&w, "keeping the running pattern", &red, 1, 60, "heavy save");
    follow_frames(&w, 3, &red, 1, "after the heavy save");
    cli_replace_file(pattern, "out rgb(0, 0, 1)\n");
    follow(&w, blue, red_or_blue, 2, 60, "reload after the heavy save");
    assert_int_equal(sky_frame_reader_dropped(w.reader), 0);
    stop_watch(&w, &proc, dir);
}

static void test_build_time_budget(void **state) {
    (void)state;
    char dir[256], pattern[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "live.sky");
    cli_proc proc;
    frame_watch w;
    /* Room for the first, trivial build on a machine loaded three times over (over 4 s
     * beside two busy loops and a CI run), yet well under the slowest pattern's 37 s. */
    assert_int_equal(setenv("SKY_BUILD_TIME_BUDGET", "15", 1), 0);
    start_watch(&w, &proc, dir, pattern, "out rgb(1, 0, 0)\n", true);
    assert_int_equal(unsetenv("SKY_BUILD_TIME_BUDGET"), 0);
    const long red = 0xff0000, blue = 0x0000ff, red_or_blue[2] = {red, blue};
    follow(&w, red, &red, 1, 60, "start");
    cli_replace_file(pattern, SLOWEST_PATTERN);
    follow_until_log(&w, "longer than its budget of 15 s", &red, 1, 300, "slow save");
    follow_until_log(&w, "keeping the running pattern", &red, 1, 60, "slow save");
    follow_frames(&w, 3, &red, 1, "after the slow save");
    cli_replace_file(pattern, "out rgb(0, 0, 1)\n");
    follow(&w, blue, red_or_blue, 2, 60, "reload after the slow save");
    stop_watch(&w, &proc, dir);
}

/* SIGTERM while the first shader builds: the command ends within seconds, not after the build. */
static void test_sigterm_during_build(void **state) {
    (void)state;
    char dir[256], pattern[512], frame_path[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "slow.sky");
    cli_path(frame_path, sizeof frame_path, dir, "frame");
    cli_write_file(pattern, SLOW_PATTERN);
    cli_proc proc;
    cli_spawn(
        &proc, dir,
        (const char *const[]){"run", pattern, "--frame", frame_path, "--layout", "grid:8x4", NULL});
    double end = cli_now() + 120;
    while (!stderr_has(&proc, "building the shader of")) {
        assert_true(cli_alive(&proc));
        if (cli_now() > end) fail_msg("sky run never said it was building the shader");
        cli_sleep_ms(5);
    }
    double sent = cli_now();
    assert_int_equal(kill(proc.pid, SIGTERM), 0);
    assert_true(cli_wait(&proc, 120));
    double took = cli_now() - sent;
    /* Measured 0.05 s; 5 s leaves room for a loaded machine, while the build takes 13 s. */
    if (took > 5.0) fail_msg("sky run took %.1f s to stop after SIGTERM", took);
    assert_int_equal(cli_exit_code(&proc), 0);
    assert_true(stderr_has(&proc, "stopped by SIGTERM"));
    cli_tmpdir_remove(dir);
}

static void test_boot_with_errors_shows_black(void **state) {
    (void)state;
    char dir[256], pattern[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "live.sky");
    cli_proc proc;
    frame_watch w;
    start_watch(&w, &proc, dir, pattern, "out rgb(1, 0, 0\n", true);
    const long black = 0, red = 0xff0000, black_or_red[2] = {black, red};
    follow(&w, black, &black, 1, 60, "black at boot");
    assert_true(stderr_has(&proc, "live.sky:1:"));
    assert_true(stderr_has(&proc, "showing black"));
    cli_replace_file(pattern, "out rgb(1, 0, 0)\n");
    follow(&w, red, black_or_red, 2, 60, "the fixed file");
    stop_watch(&w, &proc, dir);
}

typedef struct busy_writer {
    const char *path;
    atomic_bool stop;
} busy_writer;

/* Writes `path` about every millisecond until told to stop. */
static void *busy_write(void *arg) {
    busy_writer *b = arg;
    while (!atomic_load(&b->stop)) {
        FILE *f = fopen(b->path, "w");
        if (f) {
            fputs("busy\n", f);
            fclose(f);
        }
        cli_sleep_ms(1);
    }
    return NULL;
}

static void test_watch_busy_directory(void **state) {
    (void)state;
    char dir[256], pattern[512], other[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "live.sky");
    cli_path(other, sizeof other, dir, "other.log");
    cli_proc proc;
    frame_watch w;
    start_watch(&w, &proc, dir, pattern, "out rgb(1, 0, 0)\n", true);
    const long red = 0xff0000, blue = 0x0000ff, red_or_blue[2] = {red, blue};
    follow(&w, red, &red, 1, 60, "start");
    /* Another file written about every millisecond, far more often than the 60 ms quiet
     * period, from before the save until the reload is seen. */
    busy_writer busy = {.path = other};
    atomic_init(&busy.stop, false);
    pthread_t writer;
    assert_int_equal(pthread_create(&writer, NULL, busy_write, &busy), 0);
    cli_sleep_ms(100);
    cli_replace_file(pattern, "out rgb(0, 0, 1)\n");
    double end = cli_now() + 60;
    bool reloaded = false;
    while (!reloaded && cli_now() < end)
        reloaded = follow(&w, -1, red_or_blue, 2, 0.05, "busy directory") > 0 &&
                   uniform_colour(&w) == blue;
    atomic_store(&busy.stop, true);
    pthread_join(writer, NULL);
    if (!reloaded) fail_msg("no reload within 60 s while another file was busy");
    stop_watch(&w, &proc, dir);
}

/* Red, but as slow to build as SLOW_PATTERN: step(-100, ...) of sums of fbm in [-3, 3]. */
#define SLOW_RED_PATTERN \
    "out rgb(step(-100, sum(i in 0..2, fbm(vec3(x + i, y, t), 8))), 0, 0)\n"

/* A save while the first pattern is still being built (seconds) is not lost: the
 * watcher starts after that build, and compares the file once when it does. */
static void test_save_during_first_build(void **state) {
    (void)state;
    char dir[256], pattern[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "live.sky");
    cli_proc proc;
    frame_watch w;
    start_watch(&w, &proc, dir, pattern, SLOW_RED_PATTERN, true);
    for (double limit = cli_now() + 300; !stderr_has(&proc, "building the shader");) {
        assert_true(cli_alive(&proc));
        if (cli_now() > limit) fail_msg("no build started within 300 s");
        cli_sleep_ms(5);
    }
    cli_replace_file(pattern, "out rgb(0, 0, 1)\n");
    /* Black too: instrumented on a loaded machine, the first pattern may be refused
     * over the frame-time budget, and the show is black until the save. */
    const long blue = 0x0000ff, shown[3] = {0xff0000, blue, 0x000000};
    follow(&w, blue, shown, 3, 300, "the save made during the first build");
    stop_watch(&w, &proc, dir);
}

static void test_sighup_reloads(void **state) {
    (void)state;
    char dir[256], pattern[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "live.sky");
    cli_proc proc;
    frame_watch w;
    start_watch(&w, &proc, dir, pattern, "out rgb(1, 0, 0)\n", false);
    const long red = 0xff0000, blue = 0x0000ff, red_or_blue[2] = {red, blue};
    follow(&w, red, &red, 1, 60, "start");
    cli_replace_file(pattern, "out rgb(0, 0, 1)\n"); /* not watched: nothing happens yet */
    assert_int_equal(kill(proc.pid, SIGHUP), 0);
    follow(&w, blue, red_or_blue, 2, 60, "SIGHUP");
    assert_true(stderr_has(&proc, "SIGHUP"));
    stop_watch(&w, &proc, dir);
}

/* sky preview refuses the pattern at once, naming the budget, instead of hanging. */
static void test_preview_heavy_refused(void **state) {
    (void)state;
    char dir[256], pattern[512], png[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "heavy.sky");
    cli_path(png, sizeof png, dir, "heavy.png");
    cli_write_file(pattern, HEAVY_PATTERN);
    char *err = NULL;
    int code = cli_run(dir, (const char *const[]){"preview", pattern, "-o", png, NULL}, 600, &err);
    if (code != 2 || !strstr(err, "over the budget") || !strstr(err, "fbm octaves"))
        fail_msg("sky preview exited with %d:\n%s", code, err);
    free(err);
    cli_tmpdir_remove(dir);
}

static void test_check_cost_warning(void **state) {
    (void)state;
    char dir[256], pattern[512], example[1024];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "heavy.sky");
    cli_write_file(pattern, HEAVY_PATTERN);
    char *err = NULL;
    assert_int_equal(cli_run(dir, (const char *const[]){"check", pattern, NULL}, 120, &err), 0);
    if (!strstr(err, "warning[W0501]") || !strstr(err, "fbm octaves"))
        fail_msg("no cost warning:\n%s", err);
    free(err);
    /* The costliest example stays below the warning. */
    snprintf(example, sizeof example, "%s/examples/clouds.sky", SKY_SOURCE_DIR);
    assert_int_equal(cli_run(dir, (const char *const[]){"check", example, NULL}, 120, &err), 0);
    assert_null(strstr(err, "W0501"));
    free(err);
    cli_tmpdir_remove(dir);
}

static void test_watch(void **state) {
    (void)state;
    char dir[256], pattern[512], frame_path[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "live.sky");
    cli_path(frame_path, sizeof frame_path, dir, "frame");
    cli_write_file(pattern, "# red\nout rgb(1, 0, 0)\n");
    cli_proc proc;
    cli_spawn(&proc, dir,
              (const char *const[]){"run", pattern, "--watch", "--frame", frame_path, "--fps", "10",
                                    "--layout", "grid:8x4", "--stats", NULL});
    frame_watch w = {open_reader(&proc, frame_path, 60), &proc, NULL, 0, 0, 0};
    const sky_frame_info *info = sky_frame_reader_info(w.reader);
    assert_int_equal(info->led_count, 32);
    assert_int_equal(info->fps_nominal, 10);
    w.len = (size_t)info->led_count * 3;
    w.pixels = malloc(w.len);
    assert_non_null(w.pixels);
    const long red = 0xff0000, blue = 0x0000ff;

    follow(&w, red, &red, 1, 60, "start");
    /* An editor's save: write beside, rename over. */
    cli_replace_file(pattern, "# blue\nout rgb(0, 0, 1)\n");
    const long red_or_blue[2] = {red, blue};
    follow(&w, blue, red_or_blue, 2, 60, "reload");
    /* Frame numbers were contiguous from the first frame read to the swap and past it. */
    follow(&w, -1, &blue, 1, 0.5, "after reload");
    assert_int_equal(sky_frame_reader_dropped(w.reader), 0);
    assert_true(stderr_has(&proc, "reloaded"));

    /* A broken edit: the diagnostic is printed, the blue pattern keeps running. */
    cli_write_file(pattern, "# broken\nout rgb(0, 1, 0\n");
    double end = cli_now() + 30;
    while (!stderr_has(&proc, "keeping the running pattern")) {
        if (cli_now() > end) {
            char *err = cli_slurp(proc.err_path);
            fail_msg("no diagnostic for the broken edit:\n%s", err);
        }
        follow(&w, -1, &blue, 1, 0.05, "broken edit");
    }
    assert_true(stderr_has(&proc, "live.sky:2:"));
    assert_true(stderr_has(&proc, "error"));
    /* Still publishing: 3 more frames, however slowly a loaded machine renders them. */
    follow_frames(&w, 3, &blue, 1, "after the broken edit");
    assert_int_equal(sky_frame_reader_dropped(w.reader), 0);

    /* SIGTERM: a clean exit, the writer seen as gone, the file still valid. */
    assert_int_equal(kill(proc.pid, SIGTERM), 0);
    assert_true(cli_wait(&proc, 30));
    if (cli_exit_code(&proc) != 0) {
        char *err = cli_slurp(proc.err_path);
        fail_msg("sky run exited with %d after SIGTERM:\n%s", cli_exit_code(&proc), err);
    }
    assert_int_equal(sky_frame_reader_writer_state(w.reader, WRITER_DEAD_TIMEOUT_NS),
                     SKY_WRITER_DEAD);
    char *out = cli_slurp(proc.out_path);
    assert_non_null(strstr(out, "fps")); /* --stats printed at least the final line */
    assert_non_null(strstr(out, "dropped"));
    free(out);
    sky_frame_reader_free(w.reader);
    sky_frame_reader *again = open_reader(&proc, frame_path, 1);
    sky_frame_reader_free(again);
    free(w.pixels);
    cli_tmpdir_remove(dir);
}

static void test_frames_match_evaluator(void **state) {
    (void)state;
    static const char source[] = "param gain = 1 in 0..2\n"
                                 "out rgb(x * 0.5 + 0.5, hash(index), 0.25 + 0.1 * frame) * gain\n";
    char dir[256], pattern[512], frame_path[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "p.sky");
    cli_path(frame_path, sizeof frame_path, dir, "frame");
    cli_write_file(pattern, source);
    char *err = NULL;
    int code = cli_run(dir,
                       (const char *const[]){"run", pattern, "--frame", frame_path, "--layout",
                                             "disc:12x9", "--fps", "0", "--frames", "4", "--set",
                                             "gain=0.5", NULL},
                       120, &err);
    if (code != 0) fail_msg("sky run exited with %d:\n%s", code, err);
    free(err);

    sky_frame_reader *reader = NULL;
    char error[512];
    assert_int_equal(sky_frame_reader_open(frame_path, &reader, error, sizeof error), SKY_OK);
    const sky_frame_info *info = sky_frame_reader_info(reader);
    assert_int_equal(info->led_count, 108);
    size_t n = info->led_count;
    uint8_t *got = malloc(n * 3);
    uint64_t frame = 0;
    assert_int_equal(sky_frame_reader_read(reader, got, n * 3, &frame, error, sizeof error),
                     SKY_OK);
    assert_int_equal(frame, 4);
    assert_int_equal(sky_frame_reader_writer_state(reader, WRITER_DEAD_TIMEOUT_NS),
                     SKY_WRITER_DEAD);

    /* The fourth frame (frame = 3 in the pattern) on the CPU, gain 0.5. */
    sky_program *program = cli_compile(source);
    sky_layout *layout = NULL;
    assert_int_equal(sky_layout_create("disc:12x9", &layout, error, sizeof error), SKY_OK);
    sky_layout_view view = {layout->led_count, layout->strip_count, layout->strip_sizes,
                            layout->xy};
    sky_led_input *inputs = malloc(n * sizeof *inputs);
    uint8_t *want = malloc(n * 3);
    assert_int_equal(sky_led_inputs_build(&view, inputs), SKY_OK);
    const double params[1] = {0.5};
    sky_frame_inputs fi = {0.05, 0.01, 3, params};
    assert_int_equal(sky_program_eval(program, &view, inputs, &fi, NULL, NULL, want), SKY_OK);
    for (size_t i = 0; i < n * 3; i++)
        if (abs((int)got[i] - (int)want[i]) > 2)
            fail_msg("byte %zu: frame file %d, evaluator %d", i, got[i], want[i]);
    free(inputs);
    free(want);
    free(got);
    sky_program_free(program);
    sky_layout_free(layout);
    sky_frame_reader_free(reader);
    cli_tmpdir_remove(dir);
}

/* A 3-D map through `sky run` (CPU backend): the frame file carries every
 * LED's z, and the colours of a pattern of z and pos are the evaluator's. */
static void test_run_3d_layout(void **state) {
    (void)state;
    static const char source[] = "out vec3(z * 0.5 + 0.5, length(pos) / 2, 0.25)\n";
    char dir[256], pattern[512], frame_path[512], map[512], spec[600];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "p.sky");
    cli_path(frame_path, sizeof frame_path, dir, "frame");
    cli_path(map, sizeof map, dir, "cube.csv");
    cli_write_file(pattern, source);
    cli_write_file(map, "x,y,z\n0,0,0\n1,0,0\n0,1,0\n0,0,1\n1,1,1\n0.5,0.5,0.25\n");
    snprintf(spec, sizeof spec, "csv:%s", map);
    setenv("XDG_CACHE_HOME", dir, 1);
    char *err = NULL;
    int code = cli_run(dir,
                       (const char *const[]){"run", pattern, "--frame", frame_path, "--layout",
                                             spec, "--device", "cpu", "--frames", "1", NULL},
                       300, &err);
    if (code != 0) fail_msg("sky run exited with %d:\n%s", code, err);
    free(err);
    sky_layout *layout = NULL;
    char error[512];
    assert_int_equal(sky_layout_create(spec, &layout, error, sizeof error), SKY_OK);
    sky_frame_reader *reader = NULL;
    assert_int_equal(sky_frame_reader_open(frame_path, &reader, error, sizeof error), SKY_OK);
    size_t n = layout->led_count;
    assert_int_equal(sky_frame_reader_info(reader)->led_count, n);
    assert_memory_equal(sky_frame_reader_positions_z(reader), layout->z, n * sizeof *layout->z);
    assert_true(layout->z[3] == 1.0f && layout->z[0] == -1.0f);
    uint8_t got[18], want[18];
    uint64_t frame = 0;
    assert_int_equal(sky_frame_reader_read(reader, got, sizeof got, &frame, error, sizeof error),
                     SKY_OK);
    sky_program *program = cli_compile(source);
    sky_layout_view view = {layout->led_count, layout->strip_count, layout->strip_sizes, layout->xy,
                            layout->z};
    sky_led_input inputs[6];
    assert_int_equal(sky_led_inputs_build(&view, inputs), SKY_OK);
    sky_frame_inputs fi = {0, 0, 0, NULL};
    assert_int_equal(sky_program_eval(program, &view, inputs, &fi, NULL, NULL, want), SKY_OK);
    for (size_t i = 0; i < n * 3; i++)
        if (abs((int)got[i] - (int)want[i]) > 2)
            fail_msg("byte %zu: frame file %d, evaluator %d", i, got[i], want[i]);
    sky_program_free(program);
    sky_layout_free(layout);
    sky_frame_reader_free(reader);
    cli_tmpdir_remove(dir);
}

static void test_sigint(void **state) {
    (void)state;
    char dir[256], pattern[512], frame_path[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "p.sky");
    cli_path(frame_path, sizeof frame_path, dir, "frame");
    cli_write_file(pattern, "param speed = 1 in 0..4\nout wave(x + t * speed)\n");
    cli_proc proc;
    cli_spawn(&proc, dir,
              (const char *const[]){"run", pattern, "--frame", frame_path, "--layout", "strip:50",
                                    "--fps", "30", "--set", "speed=7", NULL});
    frame_watch w = {open_reader(&proc, frame_path, 60), &proc, NULL, 0, 0, 0};
    w.len = (size_t)sky_frame_reader_info(w.reader)->led_count * 3;
    w.pixels = malloc(w.len);
    double end = cli_now() + 60;
    while (w.frames_seen < 3) {
        uint64_t frame;
        char error[256];
        sky_status st =
            sky_frame_reader_read(w.reader, w.pixels, w.len, &frame, error, sizeof error);
        if (st == SKY_OK) w.frames_seen++;
        assert_true(st == SKY_OK || st == SKY_ERR_AGAIN);
        assert_true(cli_alive(&proc));
        assert_true(cli_now() < end);
        cli_sleep_ms(5);
    }
    assert_int_equal(sky_frame_reader_writer_state(w.reader, WRITER_DEAD_TIMEOUT_NS),
                     SKY_WRITER_ALIVE);
    assert_int_equal(kill(proc.pid, SIGINT), 0);
    assert_true(cli_wait(&proc, 30));
    assert_int_equal(cli_exit_code(&proc), 0);
    assert_true(stderr_has(&proc, "clamped to 4"));
    assert_true(stderr_has(&proc, "stopped by SIGINT"));
    assert_int_equal(sky_frame_reader_writer_state(w.reader, WRITER_DEAD_TIMEOUT_NS),
                     SKY_WRITER_DEAD);
    sky_frame_reader_free(w.reader);
    sky_frame_reader *again = open_reader(&proc, frame_path, 1);
    sky_frame_reader_free(again);
    free(w.pixels);
    cli_tmpdir_remove(dir);
}

/* The frame file removed under a running writer: `sky run` notices within about a
 * second, says so and exits 2 (a supervisor then starts a writer afresh). */
static void test_unlinked_frame_file(void **state) {
    (void)state;
    char dir[256], pattern[512], frame_path[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "p.sky");
    cli_path(frame_path, sizeof frame_path, dir, "frame");
    cli_write_file(pattern, "out wave(x + t)\n");
    cli_proc proc;
    cli_spawn(&proc, dir,
              (const char *const[]){"run", pattern, "--frame", frame_path, "--layout", "strip:50",
                                    "--fps", "30", NULL});
    sky_frame_reader *reader = open_reader(&proc, frame_path, 60);
    sky_frame_reader_free(reader); /* the file exists and has a writer: remove it */
    assert_int_equal(unlink(frame_path), 0);
    assert_true(cli_wait(&proc, 120));
    assert_int_equal(cli_exit_code(&proc), 2);
    assert_true(stderr_has(&proc, "was removed under this writer"));
    cli_tmpdir_remove(dir);
}

static void test_duration(void **state) {
    (void)state;
    char dir[256], pattern[512], frame_path[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "p.sky");
    cli_path(frame_path, sizeof frame_path, dir, "frame");
    cli_write_file(pattern, "out hsv(theta / tau + t, 1, 1)\n");
    char *err = NULL;
    int code =
        cli_run(dir,
                (const char *const[]){"run", pattern, "--frame", frame_path, "--layout",
                                      "disc:24x10", "--fps", "20", "--duration", "0.5", NULL},
                120, &err);
    if (code != 0) fail_msg("sky run exited with %d:\n%s", code, err);
    free(err);
    sky_frame_reader *reader = NULL;
    char error[256];
    assert_int_equal(sky_frame_reader_open(frame_path, &reader, error, sizeof error), SKY_OK);
    uint8_t *pixels = malloc(240 * 3);
    uint64_t frame = 0;
    assert_int_equal(sky_frame_reader_read(reader, pixels, 240 * 3, &frame, error, sizeof error),
                     SKY_OK);
    /* Frames at t = 0, 0.05, ... 0.45: ten at most, fewer only if deadlines were missed. */
    assert_true(frame >= 1 && frame <= 10);
    free(pixels);
    sky_frame_reader_free(reader);
    cli_tmpdir_remove(dir);
}

/* --device picks a device by index or name; one matching nothing is an error before the file. */
static void test_device(void **state) {
    (void)state;
    char dir[256], pattern[512], frame_path[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "p.sky");
    cli_path(frame_path, sizeof frame_path, dir, "frame");
    cli_write_file(pattern, "out rgb(0.2, 0.4, 0.6)\n");
    char *err = NULL;
    int code =
        cli_run(dir,
                (const char *const[]){"run", pattern, "--frame", frame_path, "--layout", "strip:8",
                                      "--device", "no-such-gpu", "--frames", "1", NULL},
                120, &err);
    assert_int_equal(code, 2);
    if (!strstr(err, "no-such-gpu")) fail_msg("no mention of the selector:\n%s", err);
    free(err);
    sky_frame_reader *reader = NULL;
    char error[256];
    assert_int_equal(sky_frame_reader_open(frame_path, &reader, error, sizeof error), SKY_ERR_IO);

    code = cli_run(dir,
                   (const char *const[]){"run", pattern, "--frame", frame_path, "--layout",
                                         "strip:8", "--device", "0", "--frames", "2", NULL},
                   120, &err);
    if (code != 0) fail_msg("sky run --device 0 exited with %d:\n%s", code, err);
    free(err);
    assert_int_equal(sky_frame_reader_open(frame_path, &reader, error, sizeof error), SKY_OK);
    uint8_t pixels[24];
    uint64_t frame = 0;
    assert_int_equal(
        sky_frame_reader_read(reader, pixels, sizeof pixels, &frame, error, sizeof error), SKY_OK);
    assert_int_equal(frame, 2);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(pixels[3 * i], 51);
        assert_int_equal(pixels[3 * i + 1], 102);
        assert_int_equal(pixels[3 * i + 2], 153);
    }
    sky_frame_reader_free(reader);
    cli_tmpdir_remove(dir);
}

/*
 * --device cpu: the CPU backend renders the same bytes into the frame file;
 * `sky devices` lists it; without a C compiler the run fails before the
 * frame file is touched, naming the compiler. The kernel cache goes to the
 * test's folder ($XDG_CACHE_HOME).
 */
static void test_device_cpu(void **state) {
    (void)state;
    char dir[256], pattern[512], frame_path[512];
    cli_tmpdir(dir, sizeof dir);
    cli_path(pattern, sizeof pattern, dir, "p.sky");
    cli_path(frame_path, sizeof frame_path, dir, "frame");
    cli_write_file(pattern, "out rgb(0.2, 0.4, 0.6)\n");
    setenv("XDG_CACHE_HOME", dir, 1);
    setenv("SKY_CC", "/nonexistent/sky-test-cc", 1);
    char *err = NULL;
    int code = cli_run(dir,
                       (const char *const[]){"run", pattern, "--frame", frame_path, "--layout",
                                             "strip:8", "--device", "cpu", "--frames", "1", NULL},
                       120, &err);
    unsetenv("SKY_CC");
    assert_int_equal(code, 2);
    if (!strstr(err, "/nonexistent/sky-test-cc")) fail_msg("no mention of the compiler:\n%s", err);
    free(err);
    sky_frame_reader *reader = NULL;
    char error[256];
    assert_int_equal(sky_frame_reader_open(frame_path, &reader, error, sizeof error), SKY_ERR_IO);

    code =
        cli_run(dir,
                (const char *const[]){"run", pattern, "--frame", frame_path, "--layout", "strip:8",
                                      "--device", "cpu", "--threads", "2", "--frames", "2", NULL},
                300, &err);
    if (code != 0) fail_msg("sky run --device cpu exited with %d:\n%s", code, err);
    if (!strstr(err, "CPU backend")) fail_msg("the banner does not name the CPU backend:\n%s", err);
    free(err);
    assert_int_equal(sky_frame_reader_open(frame_path, &reader, error, sizeof error), SKY_OK);
    uint8_t pixels[24];
    uint64_t frame = 0;
    assert_int_equal(
        sky_frame_reader_read(reader, pixels, sizeof pixels, &frame, error, sizeof error), SKY_OK);
    assert_int_equal(frame, 2);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(pixels[3 * i], 51);
        assert_int_equal(pixels[3 * i + 1], 102);
        assert_int_equal(pixels[3 * i + 2], 153);
    }
    sky_frame_reader_free(reader);

    char *out = NULL;
    code = cli_run(dir, (const char *const[]){"devices", "--device", "cpu", NULL}, 120, &out);
    free(out);
    assert_int_equal(code, 0);
    unsetenv("XDG_CACHE_HOME");
    char cache[512];
    cli_path(cache, sizeof cache, dir, "skyscreen");
    cli_tmpdir_remove(cache); /* the kernels, then the test's folder */
    cli_tmpdir_remove(dir);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_watch, cli_kill_children),
        cmocka_unit_test_teardown(test_frames_match_evaluator, cli_kill_children),
        cmocka_unit_test_teardown(test_run_3d_layout, cli_kill_children),
        cmocka_unit_test_teardown(test_sigint, cli_kill_children),
        cmocka_unit_test_teardown(test_duration, cli_kill_children),
        cmocka_unit_test_teardown(test_device, cli_kill_children),
        cmocka_unit_test_teardown(test_device_cpu, cli_kill_children),
        cmocka_unit_test_teardown(test_heavy_save_keeps_show, cli_kill_children),
        cmocka_unit_test_teardown(test_build_time_budget, cli_kill_children),
        cmocka_unit_test_teardown(test_sigterm_during_build, cli_kill_children),
        cmocka_unit_test_teardown(test_boot_with_errors_shows_black, cli_kill_children),
        cmocka_unit_test_teardown(test_watch_busy_directory, cli_kill_children),
        cmocka_unit_test_teardown(test_sighup_reloads, cli_kill_children),
        cmocka_unit_test_teardown(test_check_cost_warning, cli_kill_children),
        cmocka_unit_test_teardown(test_preview_heavy_refused, cli_kill_children),
        cmocka_unit_test_teardown(test_unlinked_frame_file, cli_kill_children),
        cmocka_unit_test_teardown(test_save_during_first_build, cli_kill_children),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]); /* e.g. test_sighup_reloads, or a glob */
    return cmocka_run_group_tests_name("cli_run", tests, NULL, NULL);
}
