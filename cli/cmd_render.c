/*
 * cmd_render.c - `sky render FILE -o show.fseq`: render a pattern offline,
 * as fast as the device can, into an FSEQ recording (docs/record.md), for
 * patterns too heavy for the show machine: render on a big GPU, then
 * `sky play` on the Pi.
 *
 * Frame k is rendered at t = k / fps with dt = 1 / fps (0 for the first),
 * exactly the frames `sky run --fps N` would show if it never ran late, so
 * `prev` trails and `frame` counters come out as in the show. Rendering runs
 * through the Vulkan runtime into host memory (as `sky preview`), or the CPU
 * reference evaluator with --cpu; each frame is copied into the ring of
 * sky_fseq_pipeline, whose worker threads compress and write blocks while
 * the next frames render. The ring waits for room here: nothing is lost
 * offline.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "frame_source.h"
#include "show.h"
#include "sky/frame.h"
#include "sky/fseq.h"
#include "sky/runtime.h"

#define RENDER_CMD "sky render"

typedef struct render_options {
    live_common common;
    const char *file, *out;
    double duration, fps;
    uint64_t frames, level, threads;
    bool cpu;
} render_options;

static void render_usage(FILE *out) {
    fprintf(out,
            "usage: sky render FILE -o OUT.fseq (--duration S | --frames N) [options]\n"
            "Renders FILE offline, as fast as the device can, into an FSEQ v2 recording\n"
            "for `sky play` (or xLights / Falcon Player).\n\n"
            "  -o, --output OUT  the recording (.fseq), created or replaced\n"
            "  --duration S      seconds of show to render\n"
            "  --frames N        frames to render (instead of --duration)\n"
            "  --fps N           the show's frame rate (default 60): frame k at t = k / N\n"
            "  --layout SPEC     LED layout (default %s)\n"
            "  --set NAME=VALUE  set a param (repeatable; vectors as a,b,c)\n"
            "  --device N|NAME   Vulkan device by index or name, or `cpu` for the CPU backend\n"
            "                    (see `sky devices`)\n"
            "  --audio FILE      what audio.* hears: a WAV/FLAC file; frame k analyses it up to\n"
            "                    t = k / fps (docs/audio.md)\n"
            "  --cpu             render with the CPU reference evaluator instead of Vulkan\n"
            "  --level N         zstd level 1..19 (default 3)\n"
            "  --threads N       compression threads (default: one per CPU)\n\n"
            "Exit status: 0 ok, 1 the pattern has errors, 2 usage or system error.\n",
            SKY_LAYOUT_DEFAULT);
}

enum {
    RENDER_OPT_DURATION = LIVE_OPT_NEXT,
    RENDER_OPT_FRAMES,
    RENDER_OPT_FPS,
    RENDER_OPT_CPU,
    RENDER_OPT_LEVEL,
    RENDER_OPT_THREADS,
};

static const struct option render_long_options[] = {
    LIVE_COMMON_OPTIONS,
    {"output", required_argument, NULL, 'o'},
    {"duration", required_argument, NULL, RENDER_OPT_DURATION},
    {"frames", required_argument, NULL, RENDER_OPT_FRAMES},
    {"fps", required_argument, NULL, RENDER_OPT_FPS},
    {"rate", required_argument, NULL, RENDER_OPT_FPS},
    {"cpu", no_argument, NULL, RENDER_OPT_CPU},
    {"level", required_argument, NULL, RENDER_OPT_LEVEL},
    {"threads", required_argument, NULL, RENDER_OPT_THREADS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

static bool render_take_option(render_options *o, int opt) {
    int got = live_common_option(&o->common, opt, optarg);
    if (got != 0) return got > 0;
    switch (opt) {
    case 'o':
        o->out = optarg;
        return true;
    case RENDER_OPT_DURATION:
        return live_parse_double(RENDER_CMD, "--duration", optarg, 0.001, 1e7, &o->duration);
    case RENDER_OPT_FRAMES:
        return live_parse_u64(RENDER_CMD, "--frames", optarg, 1, UINT32_MAX, &o->frames);
    case RENDER_OPT_FPS:
        return live_parse_double(RENDER_CMD, "--fps", optarg, 4, 1000, &o->fps);
    case RENDER_OPT_CPU:
        o->cpu = true;
        return true;
    case RENDER_OPT_LEVEL:
        return live_parse_u64(RENDER_CMD, "--level", optarg, 1, 19, &o->level);
    case RENDER_OPT_THREADS:
        return live_parse_u64(RENDER_CMD, "--threads", optarg, 1, 64, &o->threads);
    default:
        return false;
    }
}

static int render_parse(render_options *o, int argc, char **argv) {
    live_common_init(&o->common, RENDER_CMD);
    o->fps = 60;
    o->level = 3;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN); /* offline: every CPU may compress */
    o->threads = cpus > 0 ? (uint64_t)(cpus < 64 ? cpus : 64) : 2;
    optind = 0;
    int opt;
    while ((opt = cli_getopt(RENDER_CMD, argc, argv, "ho:", render_long_options)) != -1) {
        if (opt == 'h') {
            render_usage(stdout);
            return 0;
        }
        if (!render_take_option(o, opt)) return 2;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "%s: %s (usage: sky render FILE -o OUT.fseq --duration S)\n", RENDER_CMD,
                optind >= argc ? "which pattern?" : "one pattern at a time");
        return 2;
    }
    o->file = argv[optind];
    if (!o->out) {
        fprintf(stderr, "%s: where to? (-o OUT.fseq)\n", RENDER_CMD);
        return 2;
    }
    if ((o->duration > 0) == (o->frames > 0)) {
        fprintf(stderr, "%s: give the length as --duration S or --frames N (one of them)\n",
                RENDER_CMD);
        return 2;
    }
    if (o->duration > 0) {
        double n = llround(o->duration * o->fps);
        if (n > UINT32_MAX) {
            fprintf(stderr, "%s: %g s at %g fps is more frames than FSEQ counts (2^32 - 1)\n",
                    RENDER_CMD, o->duration, o->fps);
            return 2;
        }
        o->frames = n < 1 ? 1 : (uint64_t)n;
    }
    return -1;
}

/* ---------------------------------------------------------------- rendering */

static int render_frames(const render_options *o, const sky_layout *layout, frame_source *src) {
    size_t frame_bytes = (size_t)layout->led_count * 3;
    sky_fseq_writer_options wo = {.path = o->out,
                                  .channel_count = (uint32_t)frame_bytes,
                                  .fps = o->fps,
                                  .frames_expected = o->frames,
                                  .zstd_level = (int)o->level,
                                  .layout = layout->name,
                                  .producer = "Skyscreen sky render"};
    sky_fseq_writer *writer = NULL;
    sky_fseq_pipeline *pipeline = NULL;
    char error[1024] = "";
    int code = 2;
    sky_status st = sky_fseq_writer_create(&wo, &writer, error, sizeof error);
    if (st == SKY_OK)
        st = sky_fseq_pipeline_create(writer, 2, (unsigned)o->threads, &pipeline, error,
                                      sizeof error);
    if (st != SKY_OK) {
        fprintf(stderr, "%s: %s\n", RENDER_CMD, error);
        goto done;
    }
    uint64_t start = sky_frame_now_ns();
    for (uint64_t k = 0; k < o->frames; k++) {
        if (live_signals_stopped()) goto done;
        const uint8_t *bytes = frame_source_next(src, (double)k / o->fps, k ? 1.0 / o->fps : 0);
        uint8_t *slot = bytes ? sky_fseq_pipeline_slot_wait(pipeline) : NULL;
        if (!slot) break;
        memcpy(slot, bytes, frame_bytes);
        sky_fseq_pipeline_commit(pipeline);
    }
    if (sky_fseq_pipeline_finish(pipeline, error, sizeof error) != SKY_OK ||
        sky_fseq_writer_finish(writer, error, sizeof error) != SKY_OK) {
        fprintf(stderr, "%s: writing %s failed: %s\n", RENDER_CMD, o->out, error);
        goto done;
    }
    uint64_t written = sky_fseq_writer_frames(writer);
    if (written != o->frames) goto done; /* a rendering error, printed */
    double seconds = (double)(sky_frame_now_ns() - start) / 1e9;
    fprintf(stderr, "%s: %llu frames (%g s at %g fps) into %s, %.1f MB, in %.2f s: %.1f frames/s\n",
            RENDER_CMD, (unsigned long long)written, (double)written / o->fps, o->fps, o->out,
            (double)sky_fseq_writer_bytes(writer) / 1e6, seconds,
            seconds > 0 ? (double)written / seconds : 0.0);
    code = 0;
done:
    sky_fseq_pipeline_free(pipeline);
    sky_fseq_writer_free(writer);
    return code;
}

int cmd_render(int argc, char **argv) {
    render_options o;
    memset(&o, 0, sizeof o);
    int code = render_parse(&o, argc, argv);
    if (code >= 0) {
        live_common_free(&o.common);
        return code;
    }
    if (!live_signals_start(RENDER_CMD, false)) {
        live_common_free(&o.common);
        return 2;
    }
    frame_pattern p;
    code = frame_pattern_open(&p, RENDER_CMD, &o.common, o.cpu, o.file);
    if (code == 0) code = render_frames(&o, p.layout, &p.source);
    frame_pattern_close(&p);
    live_common_free(&o.common);
    if (live_signals_stopped()) code = 128 + live_signals_stopped();
    live_signals_finish();
    return code;
}
