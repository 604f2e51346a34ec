/*
 * bench_reload.c - hot reload as a user sees it: save -> first frame of the
 * new pattern in the frame file, and the frames the show missed meanwhile.
 *
 * Drives the real `sky run --watch` binary on a copy of examples/plasma.sky in
 * a scratch directory (disc:360x288, --fps 60, a frame file beside it) and
 * makes N edits (default 20), saved as editors do (a temporary file renamed
 * over the pattern). Each edit changes the picture: the pattern's blue channel
 * becomes a constant unique to that edit, so a frame is the new pattern's when
 * every LED's blue byte is that constant. The frame file carries the frame
 * number and the writer's CLOCK_MONOTONIC time of its newest publish
 * (heartbeat_ns, docs/frame-format.md); polling them every 0.5 ms gives each
 * frame's publish time, so "save -> first new frame" is that frame's publish
 * time minus the time rename() returned, on the same clock.
 *
 * Late frames, counted from the frame file: between two consecutive frames a
 * publish gap of more than 1.5 periods means at least one 60 fps deadline
 * passed with nothing new on the LEDs; each such gap counts the deadlines it
 * missed. The writer's own count (`--stats`: frames finished after the next
 * deadline) is summed over the edits too.
 *
 * Where the time goes: sky's stderr lines are timestamped as they arrive
 * ("changed; compiling", "building the shader", "reloaded") and reported as
 * medians after each save.
 *
 * usage: bench_reload [--edits N] [--in-place] [--warm-cache] [--layout SPEC]
 * (--warm-cache: use the user's Mesa shader cache instead of an empty one;
 * $BENCH_RELOAD_SKY: run that sky binary instead of this tree's)
 * Prints a Markdown table for docs/performance.md. Nothing here is asserted.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sky/frame.h"

#define PLASMA_PATH  SKY_SOURCE_DIR "/examples/plasma.sky"
#define MAX_EDITS    200
#define MAX_FRAMES   (1u << 20)
#define POLL_NS      500000ull      /* 0.5 ms: 33 looks per 60 fps frame */
#define EDIT_WAIT_NS 20000000000ull /* a reload not seen within 20 s is a failure */
#define DWELL_NS     400000000ull   /* the new pattern runs this long before the next save */
#define PERIOD_NS    (1e9 / 60.0)
/* A late frame from a save to this long after the new pattern's first frame is the reload's. */
#define RELOAD_TAIL_NS 100000000ull

extern char **environ;

static void die(const char *what, const char *detail) {
    fprintf(stderr, "bench_reload: %s: %s\n", what, detail);
    exit(2);
}

static uint64_t now_ns(void) {
    return sky_frame_now_ns();
}

/* The blue byte of edit i (0: the pattern at start): distinct, far from 0 and 255. */
static unsigned edit_blue(int i) {
    return 20u + 7u * (unsigned)i;
}

/* plasma.sky with its `out` line made `rgb(c.r, c.g, blue)`. */
static char *edit_source(const char *plasma, int i) {
    const char *out = strstr(plasma, "\nout ");
    if (!out) die(PLASMA_PATH, "has no `out` line at the start of a line");
    const char *expr = out + 5;
    const char *end = strchr(expr, '\n');
    size_t expr_len = end ? (size_t)(end - expr) : strlen(expr);
    char *src = NULL;
    if (asprintf(&src, "%.*s\nlet bench_c = %.*s\nout rgb(bench_c.r, bench_c.g, %u / 255)\n",
                 (int)(out - plasma), plasma, (int)expr_len, expr, edit_blue(i)) < 0)
        die("asprintf", "out of memory");
    return src;
}

static void save(const char *path, const char *text, bool in_place) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp~", path);
    const char *target = in_place ? path : tmp;
    FILE *f = fopen(target, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) die(target, strerror(errno));
    if (!in_place && rename(tmp, path) != 0) die("rename", strerror(errno));
}

/* ------------------------------------------------------------ the child */

typedef struct child {
    pid_t pid;
    int out_fd, err_fd; /* its stdout (--stats) and stderr, non-blocking */
    char out_buf[8192], err_buf[8192];
    size_t out_len, err_len;
} child;

static void spawn_sky(child *c, const char *pattern, const char *frame, const char *layout) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) die("pipe", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
    char *argv[] = {"sky",   "run", (char *)pattern, "--watch",     "--layout", (char *)layout,
                    "--fps", "60",  "--frame",       (char *)frame, "--stats",  "1",
                    NULL};
    /* $BENCH_RELOAD_SKY: another build of sky, to compare with (e.g. the main branch's). */
    const char *bin = getenv("BENCH_RELOAD_SKY") ? getenv("BENCH_RELOAD_SKY") : SKY_CLI_BIN;
    int e = posix_spawn(&c->pid, bin, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e != 0) die(bin, strerror(e));
    close(out[1]);
    close(err[1]);
    c->out_fd = out[0];
    c->err_fd = err[0];
    fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
}

/* Timestamps of the reload's log lines, for the current edit. */
typedef struct phases {
    uint64_t changed, building, built, reloaded;
    double spirv_ms, driver_ms; /* what the build child says its steps took */
    uint64_t late;              /* the writer's --stats late count, summed */
} phases;

/* Reads what the child printed; each whole line is looked at once. */
static void drain(int fd, char *buf, size_t *len, size_t cap, phases *ph, bool is_err) {
    for (;;) {
        ssize_t n = read(fd, buf + *len, cap - 1 - *len);
        if (n <= 0) break;
        *len += (size_t)n;
        buf[*len] = '\0';
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = '\0';
            uint64_t t = now_ns();
            if (is_err) {
                if (getenv("BENCH_RELOAD_VERBOSE")) fprintf(stderr, "  sky: %s\n", line);
                if (strstr(line, "changed; compiling") && !ph->changed) ph->changed = t;
                if (strstr(line, "building the shader of") && !ph->building) ph->building = t;
                if (strstr(line, ": reloaded ") && !ph->reloaded) ph->reloaded = t;
                const char *built = strstr(line, "shader built: SPIR-V ");
                if (built && !ph->built) {
                    ph->built = t;
                    if (sscanf(built, "shader built: SPIR-V %lf ms, the driver's compilation %lf",
                               &ph->spirv_ms, &ph->driver_ms) != 2)
                        ph->spirv_ms = ph->driver_ms = NAN;
                }
            } else {
                const char *late = strstr(line, "| late ");
                if (late) ph->late += strtoull(late + 7, NULL, 10);
            }
            line = nl + 1;
        }
        *len = strlen(line);
        memmove(buf, line, *len + 1);
        if (*len >= cap - 1) *len = 0; /* a line longer than the buffer: drop it */
    }
}

/* ------------------------------------------------------- the frame file */

typedef struct frame_rec {
    uint64_t frame, publish_ns;
    int marker; /* the edit whose blue every LED has, -1 for none */
} frame_rec;

typedef struct watcher {
    sky_frame_reader *reader;
    const uint8_t *header; /* a second read-only mapping of the header */
    uint8_t *pixels;
    uint32_t leds;
    uint64_t last_frame, last_hb;
    frame_rec *recs;
    size_t count;
    int edits;
} watcher;

static int frame_marker(const watcher *w) {
    unsigned blue = w->pixels[2];
    for (uint32_t i = 0; i < w->leds; i++) {
        int d = (int)w->pixels[i * 3 + 2] - (int)blue;
        if (d < -1 || d > 1) return -1;
    }
    for (int i = 0; i <= w->edits; i++)
        if ((int)blue - (int)edit_blue(i) >= -1 && (int)blue - (int)edit_blue(i) <= 1) return i;
    return -1;
}

/* One look: records a frame published since the last look. */
static void look(watcher *w) {
    const _Atomic uint64_t *frame_p = (const _Atomic uint64_t *)(w->header + 128);
    const _Atomic uint64_t *hb_p = (const _Atomic uint64_t *)(w->header + 136);
    uint64_t f1 = atomic_load(frame_p);
    uint64_t hb = atomic_load(hb_p);
    uint64_t f2 = atomic_load(frame_p);
    /* The writer stores the frame number, then the heartbeat: until the heartbeat moves,
     * it is still the previous frame's. Look again in 0.5 ms. */
    if (f1 != f2 || f1 == w->last_frame || hb == w->last_hb) return;
    uint64_t got = 0;
    char error[256];
    sky_status st =
        sky_frame_reader_read(w->reader, w->pixels, (size_t)w->leds * 3, &got, error, sizeof error);
    if (st != SKY_OK && st != SKY_ERR_AGAIN) die("reading the frame file", error);
    if (st != SKY_OK || got != f1) return; /* overtaken: take the next one */
    if (w->count == MAX_FRAMES) die("frames", "too many");
    w->recs[w->count++] = (frame_rec){f1, hb, frame_marker(w)};
    w->last_frame = f1;
    w->last_hb = hb;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double median_ms(uint64_t *v, int n) {
    if (n == 0) return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    return n % 2 ? (double)v[n / 2] / 1e6 : (double)(v[n / 2 - 1] + v[n / 2]) / 2e6;
}

static void sleep_ns(uint64_t ns) {
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Polls the frame file and the child's output until `until` or the edit's first frame. */
static bool follow(watcher *w, child *c, phases *ph, uint64_t until, int want_marker,
                   size_t *first_rec) {
    while (now_ns() < until) {
        look(w);
        drain(c->out_fd, c->out_buf, &c->out_len, sizeof c->out_buf, ph, false);
        drain(c->err_fd, c->err_buf, &c->err_len, sizeof c->err_buf, ph, true);
        if (want_marker >= 0 && w->count && w->recs[w->count - 1].marker == want_marker) {
            *first_rec = w->count - 1;
            return true;
        }
        int status;
        if (waitpid(c->pid, &status, WNOHANG) == c->pid) die("sky run", "exited early");
        sleep_ns(POLL_NS);
    }
    return want_marker < 0;
}

int main(int argc, char **argv) {
    int edits = 20;
    bool in_place = false, warm_cache = false;
    const char *layout = "disc:360x288";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--edits") == 0 && i + 1 < argc)
            edits = atoi(argv[++i]);
        else if (strcmp(argv[i], "--in-place") == 0)
            in_place = true;
        else if (strcmp(argv[i], "--warm-cache") == 0)
            warm_cache = true;
        else if (strcmp(argv[i], "--layout") == 0 && i + 1 < argc)
            layout = argv[++i];
        else
            die("usage", "bench_reload [--edits N] [--in-place] [--warm-cache] [--layout SPEC]");
    }
    if (edits < 1 || edits > MAX_EDITS) die("--edits", "1..200");
    FILE *f = fopen(PLASMA_PATH, "rb");
    if (!f) die(PLASMA_PATH, strerror(errno));
    static char plasma[1 << 16];
    plasma[fread(plasma, 1, sizeof plasma - 1, f)] = '\0';
    fclose(f);

    char dir[] = "/tmp/bench_reload.XXXXXX", pattern[64], frame[64];
    if (!mkdtemp(dir)) die("mkdtemp", strerror(errno));
    snprintf(pattern, sizeof pattern, "%s/plasma.sky", dir);
    snprintf(frame, sizeof frame, "%s/frame", dir);
    /* Every edit is new code for the driver, as a user's edits are: an empty shader cache,
     * so that no run finds the shaders of an earlier one (unless asked to keep it). */
    char cache[64];
    snprintf(cache, sizeof cache, "%s/mesa_shader_cache", dir);
    if (!warm_cache && setenv("MESA_SHADER_CACHE_DIR", cache, 1) != 0) die("setenv", "failed");
    char *src = edit_source(plasma, 0);
    save(pattern, src, false);
    free(src);

    child c = {0};
    spawn_sky(&c, pattern, frame, layout);
    watcher w = {0};
    w.edits = edits;
    w.recs = malloc(MAX_FRAMES * sizeof *w.recs);
    uint64_t give_up = now_ns() + 120000000000ull;
    char error[256];
    phases ph = {0};
    while (!w.reader) {
        sky_status st = sky_frame_reader_open(frame, &w.reader, error, sizeof error);
        if (st != SKY_OK && (st != SKY_ERR_IO || now_ns() > give_up)) die(frame, error);
        drain(c.err_fd, c.err_buf, &c.err_len, sizeof c.err_buf, &ph, true);
        if (!w.reader) sleep_ns(10000000);
    }
    w.leds = sky_frame_reader_info(w.reader)->led_count;
    w.pixels = malloc((size_t)w.leds * 3);
    int hfd = open(frame, O_RDONLY | O_CLOEXEC);
    w.header = hfd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ, MAP_SHARED, hfd, 0);
    if (!w.recs || !w.pixels || w.header == MAP_FAILED) die("setup", strerror(errno));
    size_t first = 0;
    if (!follow(&w, &c, &ph, give_up, 0, &first)) die("start", "no frame of the first pattern");
    follow(&w, &c, &ph, now_ns() + 1000000000ull, -1, &first); /* settle */

    uint64_t latency[MAX_EDITS], to_changed[MAX_EDITS], to_building[MAX_EDITS], to_built[MAX_EDITS],
        to_reloaded[MAX_EDITS], spirv[MAX_EDITS], driver[MAX_EDITS];
    uint64_t window_from[MAX_EDITS], window_to[MAX_EDITS];
    int n_changed = 0, n_building = 0, n_built = 0, n_reloaded = 0;
    size_t from_rec = w.count;
    uint64_t writer_late = 0;
    ph.late = 0; /* the writer's count from the first save on */
    for (int i = 1; i <= edits; i++) {
        src = edit_source(plasma, i);
        uint64_t late_before = ph.late;
        ph = (phases){.late = late_before};
        save(pattern, src, in_place);
        uint64_t saved = now_ns();
        free(src);
        if (!follow(&w, &c, &ph, saved + EDIT_WAIT_NS, i, &first)) {
            fprintf(stderr, "bench_reload: edit %d never reached the frame file\n", i);
            kill(c.pid, SIGTERM);
            return 2;
        }
        latency[i - 1] = w.recs[first].publish_ns - saved;
        follow(&w, &c, &ph, now_ns() + DWELL_NS, -1, &first);
        if (ph.changed) to_changed[n_changed++] = ph.changed - saved;
        if (ph.building) to_building[n_building++] = ph.building - saved;
        if (ph.reloaded) to_reloaded[n_reloaded++] = ph.reloaded - saved;
        if (ph.built) {
            spirv[n_built] = (uint64_t)(ph.spirv_ms * 1e6);
            driver[n_built] = (uint64_t)(ph.driver_ms * 1e6);
            to_built[n_built++] = ph.built - saved;
        }
        window_from[i - 1] = saved;
        window_to[i - 1] = w.recs[first].publish_ns + RELOAD_TAIL_NS;
        writer_late = ph.late;
        fprintf(stderr, "edit %2d: %.1f ms\n", i, (double)latency[i - 1] / 1e6);
    }
    /* Missed deadlines from the frame file, from the first save to the end: during a reload
     * (from a save to RELOAD_TAIL_NS after its first frame), or between reloads (what else
     * runs on the machine). */
    uint64_t late_in = 0, late_out = 0, missed = 0, worst_gap = 0;
    for (size_t k = from_rec + 1; k < w.count; k++) {
        uint64_t gap = w.recs[k].publish_ns - w.recs[k - 1].publish_ns;
        uint64_t frames = w.recs[k].frame - w.recs[k - 1].frame;
        double slots = (double)gap / PERIOD_NS;
        if (slots > (double)frames + 0.5) {
            bool in_reload = false;
            for (int e = 0; e < edits; e++)
                in_reload |= w.recs[k].publish_ns >= window_from[e] &&
                             w.recs[k - 1].publish_ns <= window_to[e];
            *(in_reload ? &late_in : &late_out) += 1;
            missed += (uint64_t)llround(slots) - frames;
        }
        if (gap / frames > worst_gap) worst_gap = gap / frames;
    }
    uint64_t frames_seen = w.count - from_rec;
    kill(c.pid, SIGTERM);
    int status;
    waitpid(c.pid, &status, 0);
    drain(c.out_fd, c.out_buf, &c.out_len, sizeof c.out_buf, &ph, false);
    writer_late = ph.late;

    uint64_t sorted[MAX_EDITS];
    memcpy(sorted, latency, (size_t)edits * sizeof *latency);
    double med = median_ms(sorted, edits);
    double max = (double)sorted[edits - 1] / 1e6;
    printf("| %s, %d edits (%s), --fps 60 | median | max |\n|---|---|---|\n", layout, edits,
           in_place ? "written in place" : "saved by rename");
    printf("| save -> first new frame in the frame file | %.0f ms | %.0f ms |\n", med, max);
    printf("| save -> \"changed; compiling\" (watcher) | %.0f ms | |\n",
           median_ms(to_changed, n_changed));
    printf("| save -> \"building the shader\" (parsed, cost checked) | %.0f ms | |\n",
           median_ms(to_building, n_building));
    printf("| save -> \"shader built\" (the build child answered) | %.0f ms | |\n",
           median_ms(to_built, n_built));
    printf("| &nbsp; of which SPIR-V (sky_compile + shaderc, in the child) | %.0f ms | |\n",
           median_ms(spirv, n_built));
    printf("| &nbsp; of which the driver's compilation (pipeline + first dispatch, in the child) "
           "| %.0f ms | |\n",
           median_ms(driver, n_built));
    printf("| save -> \"reloaded\" (pipeline built, swapped, first frame rendered) | %.0f ms | "
           "|\n",
           median_ms(to_reloaded, n_reloaded));
    printf("\nframes late (frame file: publish gaps over 1.5 periods): %llu during reloads, %llu "
           "between them; %llu deadlines missed in %llu frames; longest gap %.1f ms\n",
           (unsigned long long)late_in, (unsigned long long)late_out, (unsigned long long)missed,
           (unsigned long long)frames_seen, (double)worst_gap / 1e6);
    printf("frames late (sky run --stats, finished after the next deadline): %llu\n",
           (unsigned long long)writer_late);
    sky_frame_reader_free(w.reader);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench_reload: could not remove %s\n", dir);
    return 0;
}
