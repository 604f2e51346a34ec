/*
 * cmd_run.c - `sky run FILE`: render a pattern live into the shared frame file.
 *
 * The loop renders frame k at the absolute deadline start + k / fps on
 * CLOCK_MONOTONIC (clock_nanosleep with TIMER_ABSTIME), so that sleeping,
 * rendering and scheduling jitter never accumulate into drift. A frame that
 * finishes after the next deadline is late; deadlines that passed entirely are
 * skipped (counted as dropped) and the loop rejoins the grid of deadlines
 * rather than rushing to catch up. `t` is the scheduled time of the frame
 * since the show started (so the animation is smooth whatever the jitter),
 * `dt` the time since the previous frame rendered, 0 at the first.
 *
 * The show itself lives in show.c (a live_show): the running pattern, its
 * param values, the playlist, brightness, blackout and freeze. Everything
 * that changes the show (a save seen by --watch, SIGHUP, the playlist, the
 * control API of control.h) goes through it, and the loop takes the changes
 * at each frame boundary in live_show_render. A new pattern is compiled,
 * refused when its per-LED cost is over SKY_LED_COST_MAX, built in a child
 * process under a time and memory budget (build.c) and its pipeline built,
 * all off the render thread; the loop only swaps it in, so any failure keeps
 * the old pattern and no frame number is skipped in the frame file. `t` runs
 * on: a new pattern does not restart it (the runtime restarts the pattern's
 * `frame`; `prev` carries over when both patterns use it). Errors are printed
 * and the old pattern keeps running. Started with --watch on a file that does
 * not compile or build, the show starts black and waits for a good save, so
 * that a boot never ends in a restart loop.
 *
 * Several files make a playlist: the first runs first; --each S moves on
 * every S seconds, skipping (with a message) an entry that fails to build.
 * --crossfade S blends every switch (playlist, reload, control API) over S
 * seconds on the device; --brightness is the master dimmer.
 *
 * Signals are taken on a thread of their own (signals.c): SIGINT and SIGTERM
 * wake the loop's sleep and the build's wait, so the program exits within a
 * frame, after the runtime has published its last frame and the frame writer
 * has released its lock; when the main thread is stuck in the driver, the
 * signal thread ends the process after 0.5 s.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "control.h"
#include "control_parse.h"
#include "notify.h"
#include "live_audio.h"
#include "show.h"
#include "sky/frame.h"
#include "sky/runtime.h"

#define RUN_CMD             "sky run"
#define RUN_MAX_FPS         10000.0
#define RUN_STATS_DEFAULT_S 1.0 /* `--stats` without a value */

static const char *run_default_examples(void);

typedef struct run_options {
    live_common common;
    const char *file;   /* the first pattern */
    const char **files; /* every pattern file given: several make a playlist */
    size_t file_count;
    double each_s;      /* seconds per playlist entry; 0: stays until told */
    double crossfade_s; /* seconds of cross-fade at every switch; 0: a cut */
    double brightness;  /* the master dimmer at start */
    const char *frame_path;
    double fps;      /* 0: unpaced */
    double duration; /* seconds; < 0: no limit */
    uint64_t frames; /* 0: no limit */
    double stats_s;  /* seconds between stats lines; 0: none */
    uint64_t slots;  /* frame file slots; 0: the default */
    bool watch;
    uint32_t threads;        /* --threads: the CPU backend's; 0: every core */
    control_options control; /* --control, --control-token, --osc */
} run_options;

static void run_usage(FILE *out) {
    fprintf(out,
            "usage: sky run FILE... [options]\n"
            "Renders FILE live into the shared frame file until stopped (Ctrl-C).\n"
            "Several files make a playlist: the first runs first.\n\n"
            "  --layout SPEC     LED layout: disc:STRIPSxLEDS[:INNER], grid:WxH, strip:N,\n"
            "                    map:FILE (default %s)\n"
            "  --frame PATH      frame file to publish into (default %s)\n"
            "  --slots N         frame slots in the file, 3..256 (default 4): a reader that\n"
            "                    wants every frame (sky record) may fall N - 1 frames behind\n"
            "  --fps N           frames per second, paced on absolute deadlines (default 60;\n"
            "                    0 renders as fast as the device can); --rate N is the same\n"
            "  --set NAME=VALUE  set a param (repeatable; vectors as a,b,c); clamped to its range\n"
            "  --audio SRC       what audio.* hears: `default` (the sound server's or ALSA's\n"
            "                    capture), a PulseAudio source or ALSA PCM name, or a\n"
            "                    WAV/FLAC file played in real time, looped (docs/audio.md)\n"
            "  --device N|NAME   Vulkan device by index or name, or `cpu` for the CPU\n"
            "                    backend (see `sky devices`; default: a GPU when there is\n"
            "                    one, else the CPU backend when cc is installed)\n"
            "  --threads N       the CPU backend's threads (default: every core)\n"
            "  --duration S      stop after S seconds\n"
            "  --frames N        stop after N frames\n"
            "  --watch           reload FILE when it changes; on errors keep the old pattern\n"
            "                    (SIGHUP reloads too)\n"
            "  --each S          with several files, show each for S seconds, then the next;\n"
            "                    a file that fails to build is skipped\n"
            "  --crossfade S     cross-fade over S seconds at every switch: playlist, reload,\n"
            "                    control API (both patterns render, blended on the device)\n"
            "  --brightness L    master dimmer from 0 (black) to 1 (default 1)\n"
            "  --stats [S]       print frame rate, time per stage and late/dropped frames\n"
            "                    every S seconds (default 1; 0 = off), and at the end\n"
            "  --control HOST:PORT  serve the control API (HTTP, JSON, WebSockets; see\n"
            "                    docs/control.md) and the studio at / (docs/studio.md); port 0\n"
            "                    picks a free one, printed at start; FILE is watched as with --watch\n"
            "  --control-token T clients must send `Authorization: Bearer T`; required for a\n"
            "                    HOST other than loopback\n"
            "  --osc [HOST:]PORT take OSC messages over UDP (/sky/param/NAME, /sky/brightness,\n"
            "                    /sky/next...); on 127.0.0.1 unless HOST is given\n"
            "  --examples DIR    the *.sky files the studio's gallery offers (with --control;\n"
            "                    default: the installed examples, else the source tree's)\n"
            "  --validate        run under the Vulkan validation layer (vulkan-validationlayers;\n"
            "                    slow), printing what it reports; as $" SKY_VALIDATE_ENV "=1\n"
            "Values go as `--fps 30` or `--fps=30`; options may follow FILE; `-` is stdin.\n\n"
            "Shaders are built in a child process under a budget: $SKY_BUILD_TIME_BUDGET\n"
            "seconds (default 180) and $SKY_BUILD_MEMORY_BUDGET MiB (default 2048); a frame\n"
            "must take at most $SKY_BUILD_FRAME_BUDGET ms (default 1000).\n"
            "SIGHUP reloads the pattern on the LEDs; SIGINT and SIGTERM stop within a second.\n"
            "A reload keeps the values of --set params that still exist, and t runs on.\n\n"
            "Exit status: 0 ok, 1 the pattern has errors, 2 usage or system error (with\n"
            "--validate, also when the validation layer reported anything).\n",
            SKY_LAYOUT_DEFAULT, SKY_FRAME_DEFAULT_PATH);
}

enum {
    RUN_OPT_FRAME = LIVE_OPT_NEXT,
    RUN_OPT_FPS,
    RUN_OPT_DURATION,
    RUN_OPT_FRAMES,
    RUN_OPT_WATCH,
    RUN_OPT_STATS,
    RUN_OPT_EACH,
    RUN_OPT_CROSSFADE,
    RUN_OPT_BRIGHTNESS,
    RUN_OPT_CONTROL,
    RUN_OPT_CONTROL_TOKEN,
    RUN_OPT_OSC,
    RUN_OPT_EXAMPLES,
    RUN_OPT_THREADS,
    RUN_OPT_SLOTS,
    RUN_OPT_VALIDATE,
};

static const struct option run_long_options[] = {
    LIVE_COMMON_OPTIONS,
    {"frame", required_argument, NULL, RUN_OPT_FRAME},
    {"fps", required_argument, NULL, RUN_OPT_FPS},
    {"rate", required_argument, NULL, RUN_OPT_FPS}, /* sky-driver's name for the same */
    {"duration", required_argument, NULL, RUN_OPT_DURATION},
    {"frames", required_argument, NULL, RUN_OPT_FRAMES},
    {"watch", no_argument, NULL, RUN_OPT_WATCH},
    {"stats", optional_argument, NULL, RUN_OPT_STATS},
    {"each", required_argument, NULL, RUN_OPT_EACH},
    {"crossfade", required_argument, NULL, RUN_OPT_CROSSFADE},
    {"brightness", required_argument, NULL, RUN_OPT_BRIGHTNESS},
    {"control", required_argument, NULL, RUN_OPT_CONTROL},
    {"control-token", required_argument, NULL, RUN_OPT_CONTROL_TOKEN},
    {"osc", required_argument, NULL, RUN_OPT_OSC},
    {"examples", required_argument, NULL, RUN_OPT_EXAMPLES},
    {"threads", required_argument, NULL, RUN_OPT_THREADS},
    {"slots", required_argument, NULL, RUN_OPT_SLOTS},
    {"validate", no_argument, NULL, RUN_OPT_VALIDATE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

/* One option's value into o: false after printing why it is wrong. */
static bool run_take_option(run_options *o, int opt, int argc, char **argv) {
    int got = live_common_option(&o->common, opt, optarg);
    if (got != 0) return got > 0;
    switch (opt) {
    case RUN_OPT_FRAME:
        if (!*optarg) { /* never the production default by accident */
            fprintf(stderr, "%s: --frame needs a path, not an empty string\n", RUN_CMD);
            return false;
        }
        o->frame_path = optarg;
        return true;
    case RUN_OPT_FPS:
        return live_parse_double(RUN_CMD, "--fps", optarg, 0, RUN_MAX_FPS, &o->fps);
    case RUN_OPT_DURATION:
        return live_parse_double(RUN_CMD, "--duration", optarg, 0, 1e9, &o->duration);
    case RUN_OPT_FRAMES:
        return live_parse_u64(RUN_CMD, "--frames", optarg, 1, UINT64_MAX, &o->frames);
    case RUN_OPT_WATCH:
        o->watch = true;
        return true;
    case RUN_OPT_EACH:
        return live_parse_double(RUN_CMD, "--each", optarg, 0.001, 1e9, &o->each_s);
    case RUN_OPT_CROSSFADE:
        return live_parse_double(RUN_CMD, "--crossfade", optarg, 0, 3600, &o->crossfade_s);
    case RUN_OPT_BRIGHTNESS:
        return live_parse_double(RUN_CMD, "--brightness", optarg, 0, 1, &o->brightness);
    case RUN_OPT_CONTROL:
        o->control.listen = optarg;
        return true;
    case RUN_OPT_CONTROL_TOKEN:
        o->control.token = optarg;
        return true;
    case RUN_OPT_OSC:
        o->control.osc_port = optarg;
        return true;
    case RUN_OPT_EXAMPLES:
        o->control.examples = optarg;
        return true;
    case RUN_OPT_THREADS: {
        uint64_t n = 0;
        if (!live_parse_u64(RUN_CMD, "--threads", optarg, 1, 256, &n)) return false;
        o->threads = (uint32_t)n;
        return true;
    }
    case RUN_OPT_SLOTS:
        return live_parse_u64(RUN_CMD, "--slots", optarg, SKY_FRAME_MIN_SLOTS, SKY_FRAME_MAX_SLOTS,
                              &o->slots);
    case RUN_OPT_VALIDATE:
        return cli_validation_enable(RUN_CMD);
    case RUN_OPT_STATS: {
        const char *value = cli_optional_number(argc, argv);
        o->stats_s = RUN_STATS_DEFAULT_S;
        return !value || live_parse_double(RUN_CMD, "--stats", value, 0, 1e6, &o->stats_s);
    }
    default:
        return false; /* cli_getopt printed the error */
    }
}

/* Returns -1 to continue, else the exit code. */
static int run_parse(run_options *o, int argc, char **argv) {
    live_common_init(&o->common, RUN_CMD);
    o->frame_path = SKY_FRAME_DEFAULT_PATH;
    o->fps = 60;
    o->duration = -1;
    o->brightness = 1;
    optind = 0;
    int opt;
    while ((opt = cli_getopt(RUN_CMD, argc, argv, "h", run_long_options)) != -1) {
        if (opt == 'h') {
            run_usage(stdout);
            return 0;
        }
        if (!run_take_option(o, opt, argc, argv)) return 2;
    }
    o->files = (const char **)(argv + optind);
    o->file_count = (size_t)(argc - optind);
    o->file = o->file_count ? o->files[0] : NULL;
    if (!o->file) {
        fprintf(stderr, "%s: which pattern? (usage: sky run FILE [options])\n", RUN_CMD);
        return 2;
    }
    for (size_t i = 0; o->file_count > 1 && i < o->file_count; i++)
        if (strcmp(o->files[i], "-") == 0) {
            fprintf(stderr, "%s: a playlist takes files, not standard input\n", RUN_CMD);
            return 2;
        }
    if (o->watch && o->file_count > 1) {
        fprintf(stderr, "%s: --watch follows one file, not a playlist of %zu\n", RUN_CMD,
                o->file_count);
        return 2;
    }
    if (o->each_s > 0 && o->file_count < 2) {
        fprintf(stderr, "%s: --each needs several files (a playlist)\n", RUN_CMD);
        return 2;
    }
    if (o->control.token && !o->control.listen) {
        fprintf(stderr, "%s: --control-token needs --control HOST:PORT\n", RUN_CMD);
        return 2;
    }
    o->control.frame_path = o->frame_path;
    if (o->control.examples && !o->control.listen) {
        fprintf(stderr, "%s: --examples needs --control HOST:PORT (the studio lists them)\n",
                RUN_CMD);
        return 2;
    }
    if (!o->control.examples) o->control.examples = run_default_examples();
    if (!control_options_valid(RUN_CMD, &o->control)) return 2;
    if (o->watch && strcmp(o->file, "-") == 0) {
        fprintf(stderr, "%s: --watch needs a file, not standard input\n", RUN_CMD);
        return 2;
    }
    return -1;
}

/*
 * The studio's gallery when --examples is not given: the installed examples,
 * else the source tree's (a build run from its tree); NULL when neither exists.
 */
static const char *run_default_examples(void) {
    static const char *const dirs[] = {SKY_EXAMPLES_INSTALLED, SKY_EXAMPLES_SOURCE};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (access(dirs[i], R_OK | X_OK) == 0) return dirs[i];
    return NULL;
}

/* ------------------------------------------------------------------- reload */

/* The first pattern's values: an unknown --set name is an error at start (strict). */
static double *run_params_for(const run_options *o, const sky_program *program) {
    size_t slots = sky_program_param_slots(program);
    double *params = calloc(slots ? slots : 1, sizeof *params);
    if (!params) {
        fprintf(stderr, "%s: out of memory\n", RUN_CMD);
        return NULL;
    }
    if (!live_params_apply(RUN_CMD, program, o->common.sets, o->common.set_count, true, params)) {
        free(params);
        return NULL;
    }
    return params;
}

/* The watcher thread's callback: the show compiles and builds off the render thread. */
typedef struct run_watch_context {
    live_show *show;
    const char *file;
} run_watch_context;

static void run_on_change(void *context, const char *source, size_t len, int cancel_fd) {
    const run_watch_context *w = context;
    live_show_on_save(w->show, w->file, source, len, cancel_fd);
}

/* SIGHUP, on the signal thread: the watcher (one file) or the playlist thread does the work. */
static void run_on_hup(void *context) {
    fprintf(stderr, "%s: SIGHUP: reloading the pattern\n", RUN_CMD);
    live_watch_reload_now(context);
}

static void run_on_hup_playlist(void *context) {
    fprintf(stderr, "%s: SIGHUP: reloading the pattern\n", RUN_CMD);
    live_show_reload_entry(context);
}

/* -------------------------------------------------------------------- stats */

typedef struct run_counters {
    uint64_t late;    /* frames finished after the next frame's deadline */
    uint64_t dropped; /* deadlines skipped because a frame ran past them */
} run_counters;

typedef struct run_stats_state {
    uint64_t last_ns;
    sky_runtime_stats last;
    run_counters last_counters;
} run_stats_state;

static double stage_ms(const sky_runtime_stage *now, const sky_runtime_stage *before,
                       uint64_t frames) {
    return frames ? (double)(now->total_ns - before->total_ns) / (double)frames / 1e6 : 0.0;
}

/* The picture inputs' line under --stats: video frames decoded, shown and dropped (the LED
 * frames' late and dropped are on the line above), camera frames, and the mean host time
 * per decoded frame of each stage (on the decoding threads, and the show's copy). */
static void run_stats_pictures(live_show *show) {
    sky_pictures_stats p;
    if (!show || !live_show_picture_stats(show, &p)) return;
    uint64_t frames = p.video_decoded + p.camera_frames;
    if (frames == 0) return; /* images only: decoded once, at the start */
    double per = 1e6 * (double)frames;
    printf("%s:   pictures | video decoded %llu shown %llu dropped %llu | camera frames %llu "
           "lost %llu damaged %llu | ms/picture decode %.3f convert %.3f mip %.3f copy %.3f\n",
           RUN_CMD, (unsigned long long)p.video_decoded, (unsigned long long)p.video_shown,
           (unsigned long long)p.video_dropped, (unsigned long long)p.camera_frames,
           (unsigned long long)p.camera_lost, (unsigned long long)p.camera_damaged,
           (double)p.decode_ns / per, (double)p.convert_ns / per,
           (double)p.mip_ns / per,
           p.video_shown + p.camera_frames
               ? (double)p.copy_ns / 1e6 / (double)(p.video_shown + p.camera_frames)
               : 0.0);
}

static void run_stats_print(run_stats_state *s, const sky_runtime *rt, const run_counters *c,
                            uint64_t now_ns, live_show *show) {
    sky_runtime_stats st;
    sky_runtime_get_stats(rt, &st);
    uint64_t frames = st.frames - s->last.frames;
    double seconds = (double)(now_ns - s->last_ns) / 1e9;
    printf("%s: %6.1f fps | ms/frame eval %.3f submit %.3f wait %.3f publish %.3f "
           "latency %.3f (max %.3f) | late %llu dropped %llu | frame %llu\n",
           RUN_CMD, seconds > 0 ? (double)frames / seconds : 0.0,
           stage_ms(&st.eval, &s->last.eval, frames), stage_ms(&st.submit, &s->last.submit, frames),
           stage_ms(&st.wait, &s->last.wait, frames),
           stage_ms(&st.publish, &s->last.publish, frames),
           stage_ms(&st.latency, &s->last.latency, frames), (double)st.latency.max_ns / 1e6,
           (unsigned long long)(c->late - s->last_counters.late),
           (unsigned long long)(c->dropped - s->last_counters.dropped),
           (unsigned long long)sky_runtime_frame_count(rt));
    run_stats_pictures(show);
    fflush(stdout);
    s->last = st;
    s->last_ns = now_ns;
    s->last_counters = *c;
}

/* ----------------------------------------------------------------- the loop */

typedef struct run_state {
    const run_options *o;
    sky_runtime *rt;
    sky_frame_writer *writer; /* checked every frame: its path may be removed under it */
    live_show *show;
    run_counters counters;
    live_audio audio; /* --audio */
} run_state;

static int run_loop(run_state *s) {
    const run_options *o = s->o;
    const double period_ns = o->fps > 0 ? 1e9 / o->fps : 0;
    uint64_t start_ns = sky_frame_now_ns(); /* t = 0 of the show */
    uint64_t grid_ns = start_ns;            /* origin of the deadline grid */
    uint64_t k = 0;                         /* deadline index on the grid */
    uint64_t rendered = 0;
    double last_t = -1; /* the previous frame's t, < 0 before the first */
    run_stats_state stats = {start_ns, {0}, {0, 0}};
    sky_runtime_get_stats(s->rt, &stats.last);

    while (!live_signals_stopped()) {
        uint64_t frame_start =
            period_ns > 0 ? grid_ns + (uint64_t)llround((double)k * period_ns) : sky_frame_now_ns();
        double t = (double)(frame_start - start_ns) / 1e9;
        if (o->duration >= 0 && t >= o->duration) break;
        double dt = last_t < 0 ? 0.0 : t - last_t;
        char error[1024] = "";
        if (s->audio.audio) {
            const sky_audio_values *audio = live_audio_frame(&s->audio, t);
            sky_runtime_set_audio(s->rt, audio);
            live_show_set_audio(s->show, audio);
        }
        sky_status st = live_show_render(s->show, t, dt, error, sizeof error);
        if (st != SKY_OK) {
            fprintf(stderr, "%s: rendering failed: %s\n", RUN_CMD,
                    error[0] ? error : sky_status_str(st));
            return 2;
        }
        /* One stat() a second at most: a removed or replaced file reaches no reader, and
         * staying would light nothing; exit so the supervisor starts a writer afresh. */
        if (sky_frame_writer_check(s->writer, error, sizeof error) != SKY_OK) {
            fprintf(stderr, "%s: %s; stopping\n", RUN_CMD, error);
            return 2;
        }
        last_t = t;
        rendered++;
        uint64_t now = sky_frame_now_ns();
        live_show_frame_done(s->show, sky_runtime_frame_count(s->rt), now, s->counters.late,
                             s->counters.dropped);
        service_alive(); /* systemd's READY=1, then its watchdog (service/notify.h) */
        if (o->stats_s > 0 && (double)(now - stats.last_ns) >= o->stats_s * 1e9)
            run_stats_print(&stats, s->rt, &s->counters, now, s->show);
        if (o->frames && rendered >= o->frames) break;
        if (period_ns <= 0) continue;
        /* Next deadline on the grid; skip the ones already past. */
        uint64_t next = k + 1;
        uint64_t next_ns = grid_ns + (uint64_t)llround((double)next * period_ns);
        if (now > next_ns) {
            s->counters.late++;
            uint64_t behind = (uint64_t)((double)(now - grid_ns) / period_ns); /* past deadlines */
            if (behind >= next) {
                s->counters.dropped += behind - next + 1;
                next = behind + 1;
            }
            next_ns = grid_ns + (uint64_t)llround((double)next * period_ns);
        }
        k = next;
        if (!live_signals_sleep_until(next_ns)) break;
    }
    if (o->stats_s > 0) run_stats_print(&stats, s->rt, &s->counters, sky_frame_now_ns(), s->show);
    return 0;
}

/* --------------------------------------------------------------- the command */

/*
 * Makes sure a device matches --device (or $SKY_DEVICE) before the frame file
 * is replaced, so that a typo leaves a running setup's file alone.
 */
static bool run_check_device(const run_options *o) {
    const char *selector = o->common.device ? o->common.device : getenv(SKY_DEVICE_ENV);
    if (selector && strcasecmp(selector, SKY_CPU_DEVICE) == 0) {
        if (sky_cpu_compiler_available()) return true;
        fprintf(stderr,
                "%s: the CPU backend needs a C compiler and `%s` does not run: install gcc "
                "(apt install gcc) or name one in $SKY_CC\n",
                RUN_CMD, sky_cpu_compiler());
        return false;
    }
    sky_vk_device_info *devices = NULL;
    size_t count = 0;
    char error[1024] = "";
    sky_status st = sky_vk_list_devices(o->common.device, &devices, &count, error, sizeof error);
    if (st != SKY_OK) {
        fprintf(stderr, "%s: %s\n", RUN_CMD, error[0] ? error : sky_status_str(st));
        sky_free(devices);
        return false;
    }
    bool chosen = false;
    for (size_t i = 0; i < count; i++) chosen = chosen || devices[i].chosen;
    if (!chosen) {
        if (error[0]) /* the runtime's own explanation, when it gives one */
            fprintf(stderr, "%s: %s:\n", RUN_CMD, error);
        else if (selector && selector[0])
            fprintf(stderr, "%s: no usable Vulkan device matches `%s`%s; the devices are:\n",
                    RUN_CMD, selector, o->common.device ? " (--device)" : " ($" SKY_DEVICE_ENV ")");
        else
            fprintf(stderr, "%s: no usable Vulkan device (none has a compute queue):\n", RUN_CMD);
        for (size_t i = 0; i < count; i++)
            fprintf(stderr, "  %u: %s (%s)%s\n", devices[i].index, devices[i].name,
                    sky_device_type_str(devices[i].type),
                    devices[i].has_compute ? "" : ", no compute queue");
    }
    sky_free(devices);
    return chosen;
}

static sky_runtime *run_open_runtime(const run_options *o, const sky_layout *layout,
                                     sky_frame_writer *writer, size_t picture_words) {
    sky_runtime_options ro;
    sky_runtime_options_init(&ro);
    ro.picture_words = picture_words;
    ro.device = o->common.device;
    ro.cpu_threads = o->threads;
    ro.layout = layout;
    ro.writer = writer;
    sky_runtime *rt = NULL;
    char error[1024] = "";
    sky_status st = sky_runtime_create(&ro, &rt, error, sizeof error);
    if (st != SKY_OK) {
        fprintf(stderr, "%s: %s\n", RUN_CMD, error[0] ? error : sky_status_str(st));
        sky_runtime_free(rt);
        return NULL;
    }
    return rt;
}

static void run_banner(const run_options *o, const sky_layout *layout, const sky_runtime *rt) {
    fprintf(stderr, "%s: %s on %s (%s), %s (%u LEDs), %s into %s, ", RUN_CMD, o->file,
            sky_runtime_device_name(rt), sky_device_type_str(sky_runtime_device_type(rt)),
            layout->name, layout->led_count, sky_output_path_str(sky_runtime_output_path(rt)),
            o->frame_path);
    if (o->fps > 0)
        fprintf(stderr, "%g fps", o->fps);
    else
        fprintf(stderr, "unpaced");
    fprintf(stderr, "%s\n", o->watch ? ", watching for changes" : "");
}

/*
 * The watcher follows the file with --watch, and with --control (the studio
 * saves through it and shows external edits); a playlist is not watched.
 */
static bool run_follows_file(const run_options *o) {
    return o->file_count == 1 && strcmp(o->file, "-") != 0 && (o->watch || o->control.listen);
}

static bool run_show_create(const run_options *o, sky_runtime *rt, live_builder *builder,
                            const sky_layout *layout, size_t picture_words, live_show **show) {
    live_show_config config = {
        .cmd = RUN_CMD,
        .runtime = rt,
        .builder = builder,
        .sets = o->common.sets,
        .set_count = o->common.set_count,
        .playlist = o->files,
        .playlist_count = o->file_count,
        .fps_target = o->fps,
        .each_s = o->each_s,
        .crossfade_s = o->crossfade_s,
        .brightness = o->brightness,
        .file_watched = run_follows_file(o),
        .layout = layout,
        .picture_words = picture_words,
    };
    return live_show_create(&config, show);
}

int cmd_run(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "--build-child") == 0)
        return live_build_child_main(RUN_CMD, argc - 2, argv + 2);
    run_options o;
    memset(&o, 0, sizeof o);
    int code = run_parse(&o, argc, argv);
    if (code >= 0) {
        live_common_free(&o.common);
        return code;
    }
    if (!live_signals_start(RUN_CMD, true)) {
        live_common_free(&o.common);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* a build child that died: write() reports EPIPE instead */
    run_state s = {.o = &o};
    sky_layout *layout = NULL;
    sky_frame_writer *writer = NULL;
    live_builder *builder = NULL;
    live_watch *watch = NULL;
    control_server *control = NULL;
    run_watch_context watch_context = {NULL, o.file};
    char *source = NULL;
    size_t source_len = 0;
    sky_program *program = NULL;
    double *params = NULL;
    json_object *diagnostics = NULL; /* the first compile's, for the show's state */
    code = 2;

    char error[512];
    source = cli_read_file(o.file, &source_len, error, sizeof error);
    if (!source) {
        fprintf(stderr, "%s: %s\n", RUN_CMD, error);
        goto done;
    }
    /* Errors in the first file end the command before the frame file is touched, unless
     * --watch (or a playlist) is to wait for a good pattern. */
    bool black_on_failure = o.watch || o.file_count > 1;
    int compiled =
        live_compile_json(RUN_CMD, o.file, source, source_len, &program, &diagnostics, NULL);
    code = compiled;
    if (compiled == 2 || (compiled == 1 && !black_on_failure)) goto done;
    code = 2;
    if (compiled == 0 && !(params = run_params_for(&o, program))) goto done;
    if (!live_audio_open(&s.audio, RUN_CMD, o.common.audio_spec, program)) goto done;
    if (!live_layout_create(RUN_CMD, o.common.layout_spec, &layout)) goto done;
    if (!o.common.device && !(getenv(SKY_DEVICE_ENV) && *getenv(SKY_DEVICE_ENV)))
        o.common.device = sky_runtime_default_device(); /* the documented rule: GPU, else cpu */
    if (!run_check_device(&o)) goto done;
    if (!live_frame_writer_create(RUN_CMD, layout, o.frame_path, o.fps, o.slots, &writer))
        goto done;
    s.writer = writer;
    /* The first pattern's pictures, and room for two, at this layout's footprint. */
    size_t picture_words = live_pictures_capacity(program, layout);
    if (!(s.rt = run_open_runtime(&o, layout, writer, picture_words))) goto done;
    sky_emit_options emit;
    sky_runtime_emit_options(s.rt, &emit);
    if (!live_builder_create(RUN_CMD, o.common.device, &emit, layout->led_count, &builder))
        goto done;
    if (!run_show_create(&o, s.rt, builder, layout, picture_words, &s.show)) goto done;
    code = live_show_first(s.show, o.file, source, source_len, program, params, diagnostics,
                           black_on_failure);
    program = NULL; /* the show's now */
    params = NULL;
    diagnostics = NULL;
    if (code != 0) goto done;
    if (live_signals_stopped()) goto stopped;
    code = 2;
    if (o.file_count > 1) {
        if (!live_show_start_playlist(s.show)) goto done;
        live_signals_on_hup(run_on_hup_playlist, s.show);
    } else if (strcmp(o.file, "-") != 0) {
        /* Without --watch the watcher only serves SIGHUP; standard input cannot be read again. */
        watch_context.show = s.show;
        if (!live_watch_start(RUN_CMD, o.file, source, source_len, run_follows_file(&o), run_on_change,
                              &watch_context, &watch))
            goto done;
        live_signals_on_hup(run_on_hup, watch);
    }
    /* After the show is up (requests need it), before the loop (a load waits for it). */
    if (!control_server_start(RUN_CMD, &o.control, s.show, &control)) goto done;
    run_banner(&o, layout, s.rt);
    code = run_loop(&s);
stopped:
    if (live_signals_stopped())
        fprintf(stderr, "%s: stopped by %s after %llu frames\n", RUN_CMD,
                live_signals_name(live_signals_stopped()),
                (unsigned long long)sky_runtime_frame_count(s.rt));

done:
    live_signals_on_hup(NULL, NULL);
    live_show_stop(s.show); /* cancels builds in flight, so that the watcher stops at once */
    control_server_stop(control); /* after the stop: requests waiting on the show return */
    live_watch_stop(watch);
    live_show_free(s.show); /* a pipeline not taken goes before its runtime */
    live_builder_free(builder);
    sky_runtime_free(s.rt); /* publishes frames in flight before the writer closes */
    live_audio_close(&s.audio);
    sky_frame_writer_free(writer);
    sky_program_free(program);
    free(params);
    json_object_put(diagnostics);
    free(source);
    sky_layout_free(layout);
    live_common_free(&o.common);
    live_signals_finish();
    if (cli_validation_summary(RUN_CMD) && code == 0) code = 2;
    return code;
}
